/*
** graph_int.h: the revision graph's private layout, shared by graph.c
** (storage, build, walks) and graph_plan.c (targets, plans, ranges).
** Not for other modules: use graph.h.
*/
#ifndef LM_GRAPH_INT_H
#define LM_GRAPH_INT_H

#include <stddef.h>

#include "graph.h"

#define LM_NMARKS 3

/* Edge kinds for lm_g_walk. */
#define LM_E_PAR 1   /* to parents (down_revision) */
#define LM_E_DEP 2   /* to dependencies (depends_on) */
#define LM_E_CH  4   /* to children */
#define LM_E_DD  8   /* to dependents */

struct lm_htab {
  const char **keys;   /* owned array; keys borrowed from revisions */
  int *vals;           /* owned */
  unsigned cap;        /* 0 or a power of two */
  unsigned n;
};

/* Mutable scratch reachable from a const graph: walks are not reentrant. */
struct lm_scratch {
  unsigned *mark[LM_NMARKS];  /* owned; n entries each */
  unsigned gen[LM_NMARKS];    /* mark[m][i] == gen[m] means marked */
  int *stack;                 /* owned; n entries */
  int *sorted;                /* owned: indices sorted by id, built on the
                              ** first prefix lookup; NULL until then */
};

struct lm_graph {
  struct lm_revision **revs;  /* owned, each owned */
  int n, cap;
  int built;
  struct lm_htab ids;         /* id -> index */
  struct lm_htab labels;      /* branch label -> declaring revision */
  int *par_off, *par;         /* owned CSR: parents */
  int *dep_off, *dep;         /* owned CSR: dependencies */
  int *ch_off, *ch;           /* owned CSR: children */
  int *dd_off, *dd;           /* owned CSR: dependents */
  int *topo;                  /* owned: topological order */
  int *pos;                   /* owned: index -> position in topo */
  int *lab_off;               /* owned CSR: labels applying to each revision */
  const char **lab;           /* owned array; strings borrowed */
  struct lm_scratch *s;       /* owned */
};

unsigned lm_g_begin(const struct lm_graph *g, int m);
int lm_g_marked(const struct lm_graph *g, int m, int i);
void lm_g_mark(const struct lm_graph *g, int m, int i);
int lm_g_walk(const struct lm_graph *g, int m, const int *seeds, int k,
              int edges, int stop, int only, int minpos,
              struct lm_idset *out);
/* Every revision whose id starts with prefix (an exact id included),
** appended to out in id order. 0 ok, 1 OOM. */
int lm_g_prefix(const struct lm_graph *g, const char *prefix,
                struct lm_idset *out);
/* graph_plan.c's helpers that graph_range.c shares. */
/* "a, b, c" (or "a, b, ...") for the n indices in v, into buf. */
const char *lm_gp_fmt_ids(const struct lm_graph *g, const int *v, int n,
                          char *buf, size_t sz);
/* A positive decimal count; 0 and *n, or 1 when s is not one. */
int lm_gp_parse_count(const char *s, int *n);
/* n steps up through children from start (-1: base), keeping to L's
** lineage when L >= 0; errors name spec. */
int lm_gp_walk_up(const struct lm_graph *g, int start, int L, int n,
                  const char *spec, int *out, struct lm_err *err);
/* n single-parent steps down from x; one step below a base is base
** (*out = -1). */
int lm_gp_walk_down(const struct lm_graph *g, int x, int n,
                    const char *spec, int *out, struct lm_err *err);
/* lm_graph_resolve for a target whose syntax was checked; *lin (may be
** NULL) gets the revision whose lineage it keeps to, or -1. */
int lm_gp_resolve_set(const struct lm_graph *g, const char *target,
                      struct lm_idset *out, int *lin, struct lm_err *err);

/* Mark L's lineage (array 1: L and its descendants, array 2: L and its
** ancestors, through parents); 0, or 1 when out of memory. Then
** lm_gp_in_lineage(g, x) is 1 when x is on it. */
int lm_gp_lineage_marks(const struct lm_graph *g, int L);
int lm_gp_in_lineage(const struct lm_graph *g, int x);

/* The branch label, or with words also the target word (head, heads,
** base), nearest to word by edit distance (suggest.c), or NULL when none
** is near. Borrowed from the graph or static storage. */
const char *lm_g_suggest(const struct lm_graph *g, const char *word,
                         int words);

#endif
