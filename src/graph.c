/*
** graph.c: the revision graph: storage, id lookup, linking, topological
** order, branch labels, and the version-table algebra helpers.
** Invariants after lm_graph_build: parents/deps/children/dependents are
** CSR arrays of indices; topo[] lists every revision with parents and
** dependencies before it and pos[] is its inverse. Walks use per-graph
** generation-counted mark arrays (g->s), so no walk costs O(n) to reset.
** Target parsing and planning live in graph_plan.c (graph_int.h).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_int.h"
#include "suggest.h"

/* "path:LINE" of the line assigning field in r's file (error paths). */
#define LOCATE(r, field, buf) \
  lm_revision_locate((r), (field), (buf), sizeof (buf))

/* ---- idset ---- */

void lm_idset_init(struct lm_idset *s) {
  s->v = NULL;
  s->n = 0;
  s->cap = 0;
}

void lm_idset_free(struct lm_idset *s) {
  if (s == NULL) return;
  free(s->v);
  lm_idset_init(s);
}

int lm_idset_push(struct lm_idset *s, int x) {
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 8;
    int *v = realloc(s->v, (size_t)cap * sizeof *v);
    if (v == NULL) return 1;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = x;
  return 0;
}

int lm_idset_has(const struct lm_idset *s, int x) {
  int i;
  for (i = 0; i < s->n; i++)
    if (s->v[i] == x) return 1;
  return 0;
}

/* ---- string -> index hash table (open addressing, FNV-1a) ---- */

static unsigned hash_str(const char *s) {
  unsigned h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

static int htab_get(const struct lm_htab *t, const char *key) {
  unsigned i;
  if (t->cap == 0) return -1;
  for (i = hash_str(key) & (t->cap - 1); t->keys[i] != NULL;
       i = (i + 1) & (t->cap - 1))
    if (strcmp(t->keys[i], key) == 0) return t->vals[i];
  return -1;
}

/* Insert key (borrowed; must outlive the table) -> val. Key must be absent.
** 0 ok, 1 OOM. */
static int htab_put(struct lm_htab *t, const char *key, int val) {
  unsigned i;
  if ((t->n + 1) * 2 > t->cap) {
    struct lm_htab nt;
    unsigned j;
    nt.cap = t->cap ? t->cap * 2 : 64;
    nt.n = 0;
    nt.keys = calloc(nt.cap, sizeof *nt.keys);
    nt.vals = malloc(nt.cap * sizeof *nt.vals);
    if (nt.keys == NULL || nt.vals == NULL) {
      free(nt.keys);
      free(nt.vals);
      return 1;
    }
    for (j = 0; j < t->cap; j++)
      if (t->keys[j] != NULL) htab_put(&nt, t->keys[j], t->vals[j]);
    free(t->keys);
    free(t->vals);
    *t = nt;
  }
  for (i = hash_str(key) & (t->cap - 1); t->keys[i] != NULL;
       i = (i + 1) & (t->cap - 1))
    ;
  t->keys[i] = key;
  t->vals[i] = val;
  t->n++;
  return 0;
}

static void htab_free(struct lm_htab *t) {
  free(t->keys);
  free(t->vals);
}

/* ---- marks and walks ---- */

unsigned lm_g_begin(const struct lm_graph *g, int m) {
  struct lm_scratch *s = g->s;
  if (++s->gen[m] == 0) {
    memset(s->mark[m], 0, (size_t)g->n * sizeof *s->mark[m]);
    s->gen[m] = 1;
  }
  return s->gen[m];
}

int lm_g_marked(const struct lm_graph *g, int m, int i) {
  return g->s->mark[m][i] == g->s->gen[m];
}

void lm_g_mark(const struct lm_graph *g, int m, int i) {
  g->s->mark[m][i] = g->s->gen[m];
}

/* Mark (in array m, which the caller began) every revision reachable from
** seeds along the edge kinds in `edges`, seeds included. Nodes marked in
** array `stop` (when stop >= 0) are neither entered nor marked; nodes that
** are not marked in `only` (when only >= 0) are neither. Walks never
** expand a node whose topo position is below minpos. Appends the newly
** marked nodes to out when out is non-NULL. Returns 0, or 1 on OOM. */
int lm_g_walk(const struct lm_graph *g, int m, const int *seeds, int k,
              int edges, int stop, int only, int minpos,
              struct lm_idset *out) {
  int *stack = g->s->stack, sp = 0, i;
  for (i = 0; i < k; i++) {
    int x = seeds[i];
    if (lm_g_marked(g, m, x)) continue;
    if (stop >= 0 && lm_g_marked(g, stop, x)) continue;
    if (only >= 0 && !lm_g_marked(g, only, x)) continue;
    lm_g_mark(g, m, x);
    stack[sp++] = x;
  }
  while (sp > 0) {
    int x = stack[--sp], e;
    if (out != NULL && lm_idset_push(out, x)) return 1;
    if (g->pos[x] < minpos) continue;
    for (e = 0; e < 4; e++) {
      const int *off, *v;
      int j;
      if (!(edges & (1 << e))) continue;
      off = e == 0 ? g->par_off : e == 1 ? g->dep_off
          : e == 2 ? g->ch_off : g->dd_off;
      v = e == 0 ? g->par : e == 1 ? g->dep : e == 2 ? g->ch : g->dd;
      for (j = off[x]; j < off[x + 1]; j++) {
        int y = v[j];
        if (lm_g_marked(g, m, y)) continue;
        if (stop >= 0 && lm_g_marked(g, stop, y)) continue;
        if (only >= 0 && !lm_g_marked(g, only, y)) continue;
        lm_g_mark(g, m, y);
        stack[sp++] = y;
      }
    }
  }
  return 0;
}

/* ---- lifetime and adding ---- */

struct lm_graph *lm_graph_new(void) {
  struct lm_graph *g = calloc(1, sizeof *g);
  if (g == NULL) return NULL;
  g->s = calloc(1, sizeof *g->s);
  if (g->s == NULL) {
    free(g);
    return NULL;
  }
  return g;
}

void lm_graph_free(struct lm_graph *g) {
  int i;
  if (g == NULL) return;
  for (i = 0; i < g->n; i++) lm_revision_free(g->revs[i]);
  free(g->revs);
  htab_free(&g->ids);
  htab_free(&g->labels);
  free(g->par_off); free(g->par);
  free(g->dep_off); free(g->dep);
  free(g->ch_off); free(g->ch);
  free(g->dd_off); free(g->dd);
  free(g->topo); free(g->pos); free(g->s->sorted);
  free(g->lab_off); free(g->lab);
  for (i = 0; i < LM_NMARKS; i++) free(g->s->mark[i]);
  free(g->s->stack);
  free(g->s);
  free(g);
}

int lm_graph_add(struct lm_graph *g, struct lm_revision *r, int *idx,
                 struct lm_err *err) {
  char why[200];
  int old;
  if (g->built) {
    lm_revision_free(r);
    return lm_err_set(err, "graph already built");
  }
  if (r->id == NULL) {
    lm_err_set(err, "%s: revision has no id", r->path ? r->path : "?");
    lm_revision_free(r);
    return 1;
  }
  if (lm_revision_name_problem("revision id", r->id, why, sizeof why)) {
    char at[600];
    lm_err_set(err, "%s: %s", LOCATE(r, "revision", at), why);
    lm_revision_free(r);
    return 1;
  }
  old = htab_get(&g->ids, r->id);
  if (old >= 0) {
    char at[600], at2[600];
    lm_err_set(err, "duplicate revision id '%s' in %s and %s", r->id,
               LOCATE(g->revs[old], "revision", at2),
               LOCATE(r, "revision", at));
    lm_revision_free(r);
    return 1;
  }
  if (g->n == g->cap) {
    int cap = g->cap ? g->cap * 2 : 64;
    struct lm_revision **v = realloc(g->revs, (size_t)cap * sizeof *v);
    if (v == NULL) goto oom;
    g->revs = v;
    g->cap = cap;
  }
  if (htab_put(&g->ids, r->id, g->n)) goto oom;
  g->revs[g->n] = r;
  if (idx != NULL) *idx = g->n;
  g->n++;
  return 0;
oom:
  lm_revision_free(r);
  return lm_err_set(err, "out of memory");
}

/* ---- build ---- */

/* Check (lm_revision_name_problem) and index every branch label. */
static int build_labels(struct lm_graph *g, struct lm_err *err) {
  int i, j;
  for (i = 0; i < g->n; i++) {
    const struct lm_revision *r = g->revs[i];
    for (j = 0; j < r->nlabels; j++) {
      const char *l = r->labels[j];
      int other;
      char at[600], at2[600], why[200];
      if (lm_revision_name_problem("branch label", l, why, sizeof why))
        return lm_err_set(err, "%s: %s", LOCATE(r, "branch_labels", at), why);
      if (htab_get(&g->ids, l) >= 0)
        return lm_err_set(err, "%s: branch label '%s' of revision '%s' is "
                          "also a revision id",
                          LOCATE(r, "branch_labels", at), l, r->id);
      other = htab_get(&g->labels, l);
      if (other >= 0)
        return lm_err_set(err, "duplicate branch label '%s' in %s and %s",
                          l, LOCATE(g->revs[other], "branch_labels", at2),
                          LOCATE(r, "branch_labels", at));
      if (htab_put(&g->labels, l, i)) return lm_err_set(err, "out of memory");
    }
  }
  return 0;
}

/* Resolve one edge list (names -> indices) into CSR arrays. kind is
** "down_revision" or "depends_on"; labels only resolve for depends_on. */
static int build_edges(struct lm_graph *g, int deps, int **off_out,
                       int **v_out, struct lm_err *err) {
  int i, j, k, total = 0;
  int *off = malloc(((size_t)g->n + 1) * sizeof *off), *v;
  const char *kind = deps ? "depends_on" : "down_revision";
  if (off == NULL) return lm_err_set(err, "out of memory");
  for (i = 0; i < g->n; i++)
    total += deps ? g->revs[i]->ndepends : g->revs[i]->ndown;
  v = malloc(((size_t)total + 1) * sizeof *v);
  *off_out = off;
  *v_out = v;
  if (v == NULL) return lm_err_set(err, "out of memory");
  total = 0;
  for (i = 0; i < g->n; i++) {
    const struct lm_revision *r = g->revs[i];
    int cnt = deps ? r->ndepends : r->ndown;
    char **names = deps ? r->depends : r->down;
    off[i] = total;
    for (j = 0; j < cnt; j++) {
      int x = names[j] ? htab_get(&g->ids, names[j]) : -1;
      if (x < 0 && deps && names[j]) x = htab_get(&g->labels, names[j]);
      char at[600];
      if (x < 0)
        return lm_err_set(err, "%s: %s '%s' of revision '%s' is not a known "
                          "revision%s", LOCATE(r, kind, at), kind,
                          names[j] ? names[j] : "", r->id,
                          deps ? " or branch label" : "");
      if (x == i)
        return lm_err_set(err, "%s: revision '%s' lists itself in %s",
                          LOCATE(r, kind, at), r->id, kind);
      for (k = off[i]; k < total; k++)
        if (v[k] == x)
          return lm_err_set(err, "%s: revision '%s' lists '%s' twice in %s",
                            LOCATE(r, kind, at), r->id, g->revs[x]->id,
                            kind);
      v[total++] = x;
    }
  }
  off[g->n] = total;
  return 0;
}

/* Reverse CSR: for each edge i -> v, an edge v -> i. */
static int reverse_edges(int n, const int *off, const int *v, int **roff_out,
                         int **rv_out) {
  int i, j, *roff = calloc((size_t)n + 1, sizeof *roff), *rv, *fill;
  *roff_out = roff;
  *rv_out = rv = malloc(((size_t)off[n] + 1) * sizeof *rv);
  fill = malloc(((size_t)n + 1) * sizeof *fill);
  if (roff == NULL || rv == NULL || fill == NULL) {
    free(fill);
    return 1;
  }
  for (j = 0; j < off[n]; j++) roff[v[j] + 1]++;
  for (i = 0; i < n; i++) roff[i + 1] += roff[i];
  memcpy(fill, roff, (size_t)n * sizeof *fill);
  for (i = 0; i < n; i++)
    for (j = off[i]; j < off[i + 1]; j++) rv[fill[v[j]]++] = i;
  free(fill);
  return 0;
}

/* Name the revisions on a cycle among the unplaced ones (indeg > 0). */
static int report_cycle(struct lm_graph *g, const int *indeg,
                        struct lm_err *err) {
  int start = 0, x, len = 0, i;
  int *seen = calloc((size_t)g->n, sizeof *seen);
  char buf[LM_ERRMSG_MAX - 100];
  if (seen == NULL) return lm_err_set(err, "out of memory");
  while (indeg[start] == 0) start++;
  x = start;
  /* follow unplaced parents/deps until a revisit: that node is on a cycle */
  for (i = 1; seen[x] == 0; i++) {
    int j, next = -1;
    seen[x] = i;
    for (j = g->par_off[x]; j < g->par_off[x + 1] && next < 0; j++)
      if (indeg[g->par[j]] > 0) next = g->par[j];
    for (j = g->dep_off[x]; j < g->dep_off[x + 1] && next < 0; j++)
      if (indeg[g->dep[j]] > 0) next = g->dep[j];
    x = next;
  }
  start = x;
  buf[0] = '\0';
  do {
    int j, next = -1;
    size_t used = strlen(buf);
    if (used + 80 < sizeof buf)
      snprintf(buf + used, sizeof buf - used, "%s -> ", g->revs[x]->id);
    for (j = g->par_off[x]; j < g->par_off[x + 1] && next < 0; j++)
      if (indeg[g->par[j]] > 0) next = g->par[j];
    for (j = g->dep_off[x]; j < g->dep_off[x + 1] && next < 0; j++)
      if (indeg[g->dep[j]] > 0) next = g->dep[j];
    x = next;
    len++;
  } while (x != start && len < g->n);
  free(seen);
  {
    char at[600];
    return lm_err_set(err, "%s: cycle in revision graph: %s%s",
                      LOCATE(g->revs[start], "down_revision", at), buf,
                      g->revs[start]->id);
  }
}

/* Kahn's algorithm over parents + dependencies, FIFO in add order. */
static int build_topo(struct lm_graph *g, struct lm_err *err) {
  int n = g->n, i, j, head = 0, tail = 0;
  int *indeg = malloc(((size_t)n + 1) * sizeof *indeg);
  g->topo = malloc(((size_t)n + 1) * sizeof *g->topo);
  g->pos = malloc(((size_t)n + 1) * sizeof *g->pos);
  if (indeg == NULL || g->topo == NULL || g->pos == NULL) {
    free(indeg);
    return lm_err_set(err, "out of memory");
  }
  for (i = 0; i < n; i++) {
    indeg[i] = (g->par_off[i + 1] - g->par_off[i]) +
               (g->dep_off[i + 1] - g->dep_off[i]);
    if (indeg[i] == 0) g->topo[tail++] = i;
  }
  while (head < tail) {
    int x = g->topo[head++];
    g->pos[x] = head - 1;
    for (j = g->ch_off[x]; j < g->ch_off[x + 1]; j++)
      if (--indeg[g->ch[j]] == 0) g->topo[tail++] = g->ch[j];
    for (j = g->dd_off[x]; j < g->dd_off[x + 1]; j++)
      if (--indeg[g->dd[j]] == 0) g->topo[tail++] = g->dd[j];
  }
  if (tail < n) {
    int rc = report_cycle(g, indeg, err);
    free(indeg);
    return rc;
  }
  free(indeg);
  return 0;
}

struct idkey {
  const char *id;
  int idx;
};

static int cmp_idkey(const void *a, const void *b) {
  return strcmp(((const struct idkey *)a)->id, ((const struct idkey *)b)->id);
}

/* The id-sorted index for prefix lookups, built once on demand (most
** runs name revisions by full id or not at all). NULL on OOM. */
static const int *sorted_ids(const struct lm_graph *g) {
  int i;
  struct idkey *k;
  int *sorted;
  if (g->s->sorted != NULL) return g->s->sorted;
  k = malloc(((size_t)g->n + 1) * sizeof *k);
  sorted = malloc(((size_t)g->n + 1) * sizeof *sorted);
  if (k == NULL || sorted == NULL) {
    free(k);
    free(sorted);
    return NULL;
  }
  for (i = 0; i < g->n; i++) {
    k[i].id = g->revs[i]->id;
    k[i].idx = i;
  }
  qsort(k, (size_t)g->n, sizeof *k, cmp_idkey);
  for (i = 0; i < g->n; i++) sorted[i] = k[i].idx;
  free(k);
  g->s->sorted = sorted;
  return sorted;
}

/* Next revision on a label's chain above x, or -1 (branch point, head, or
** a merge point above). */
static int chain_next(const struct lm_graph *g, int x) {
  int c;
  if (g->ch_off[x + 1] - g->ch_off[x] != 1) return -1;
  c = g->ch[g->ch_off[x]];
  if (g->par_off[c + 1] - g->par_off[c] != 1) return -1;
  return c;
}

/* Per-revision label lists (CSR of borrowed strings), two passes. */
static int build_label_lists(struct lm_graph *g) {
  int i, j, x, pass;
  int *fill = NULL;
  g->lab_off = calloc((size_t)g->n + 1, sizeof *g->lab_off);
  if (g->lab_off == NULL) return 1;
  for (pass = 0; pass < 2; pass++) {
    for (i = 0; i < g->n; i++) {
      const struct lm_revision *r = g->revs[i];
      for (j = 0; j < r->nlabels; j++)
        for (x = i; x >= 0; x = chain_next(g, x)) {
          if (pass == 0) g->lab_off[x + 1]++;
          else g->lab[fill[x]++] = r->labels[j];
        }
    }
    if (pass == 0) {
      for (i = 0; i < g->n; i++) g->lab_off[i + 1] += g->lab_off[i];
      g->lab = malloc(((size_t)g->lab_off[g->n] + 1) * sizeof *g->lab);
      fill = malloc(((size_t)g->n + 1) * sizeof *fill);
      if (g->lab == NULL || fill == NULL) {
        free(fill);
        return 1;
      }
      memcpy(fill, g->lab_off, (size_t)g->n * sizeof *fill);
    }
  }
  free(fill);
  return 0;
}

int lm_graph_build(struct lm_graph *g, struct lm_err *err) {
  int i;
  if (g->built) return lm_err_set(err, "graph already built");
  if (build_labels(g, err)) return 1;
  if (build_edges(g, 0, &g->par_off, &g->par, err)) return 1;
  if (build_edges(g, 1, &g->dep_off, &g->dep, err)) return 1;
  if (reverse_edges(g->n, g->par_off, g->par, &g->ch_off, &g->ch) ||
      reverse_edges(g->n, g->dep_off, g->dep, &g->dd_off, &g->dd))
    return lm_err_set(err, "out of memory");
  for (i = 0; i < LM_NMARKS; i++) {
    g->s->mark[i] = calloc((size_t)g->n + 1, sizeof *g->s->mark[i]);
    if (g->s->mark[i] == NULL) return lm_err_set(err, "out of memory");
  }
  g->s->stack = malloc(((size_t)g->n + 1) * sizeof *g->s->stack);
  if (g->s->stack == NULL) return lm_err_set(err, "out of memory");
  if (build_topo(g, err)) return 1;
  if (build_label_lists(g))
    return lm_err_set(err, "out of memory");
  g->built = 1;
  return 0;
}

/* ---- accessors ---- */

int lm_graph_count(const struct lm_graph *g) { return g->n; }

const struct lm_revision *lm_graph_rev(const struct lm_graph *g, int idx) {
  return idx >= 0 && idx < g->n ? g->revs[idx] : NULL;
}

int lm_graph_index(const struct lm_graph *g, const char *id) {
  return htab_get(&g->ids, id);
}

int lm_graph_label_owner(const struct lm_graph *g, const char *label) {
  return htab_get(&g->labels, label);
}

const int *lm_graph_parents(const struct lm_graph *g, int idx, int *n) {
  *n = g->par_off[idx + 1] - g->par_off[idx];
  return g->par + g->par_off[idx];
}

const int *lm_graph_children(const struct lm_graph *g, int idx, int *n) {
  *n = g->ch_off[idx + 1] - g->ch_off[idx];
  return g->ch + g->ch_off[idx];
}

const int *lm_graph_deps(const struct lm_graph *g, int idx, int *n) {
  *n = g->dep_off[idx + 1] - g->dep_off[idx];
  return g->dep + g->dep_off[idx];
}

int lm_graph_topo_pos(const struct lm_graph *g, int idx) {
  return g->pos[idx];
}

const char *const *lm_graph_branch_labels(const struct lm_graph *g, int idx,
                                          int *n) {
  *n = g->lab_off[idx + 1] - g->lab_off[idx];
  return g->lab + g->lab_off[idx];
}

/* Append, in topological order, each revision whose counted edge list
** (CSR off) has a length satisfying the test. */
static int select_topo(const struct lm_graph *g, const int *off, int lo,
                       int hi, struct lm_idset *out) {
  int i;
  for (i = 0; i < g->n; i++) {
    int x = g->topo[i], k = off[x + 1] - off[x];
    if (k >= lo && k <= hi && lm_idset_push(out, x)) return 1;
  }
  return 0;
}

int lm_graph_heads(const struct lm_graph *g, struct lm_idset *out) {
  return select_topo(g, g->ch_off, 0, 0, out);
}

int lm_graph_bases(const struct lm_graph *g, struct lm_idset *out) {
  return select_topo(g, g->par_off, 0, 0, out);
}

int lm_graph_branchpoints(const struct lm_graph *g, struct lm_idset *out) {
  return select_topo(g, g->ch_off, 2, g->n, out);
}

int lm_graph_mergepoints(const struct lm_graph *g, struct lm_idset *out) {
  return select_topo(g, g->par_off, 2, g->n, out);
}

const char *lm_g_suggest(const struct lm_graph *g, const char *word,
                         int words) {
  static const char *const kw[] = { "head", "heads", "base" };
  const char **cand = malloc((g->labels.n + 4) * sizeof *cand);
  const char *near;
  unsigned i, k = 0;
  if (cand == NULL) return NULL;     /* no suggestion: still an answer */
  for (i = 0; words && i < 3; i++) cand[k++] = kw[i];
  for (i = 0; i < g->labels.cap; i++)
    if (g->labels.keys[i] != NULL) cand[k++] = g->labels.keys[i];
  cand[k] = NULL;
  near = lm_suggest(word, cand);
  free(cand);
  return near;
}

/* "unknown revision 'id'" and a hint: the nearest target word or branch
** label when one is near, else where to look. Returns 1. */
static int unknown_revision(const struct lm_graph *g, const char *id,
                            struct lm_err *err) {
  const char *near = lm_g_suggest(g, id, 1);
  if (near != NULL)
    lm_err_set(err, "unknown revision '%s' (did you mean '%s'?)", id, near);
  else
    lm_err_set(err, "unknown revision '%s'; see `lmigrate history` or "
               "`lmigrate heads`", id);
  return 1;
}

/* Every revision whose id starts with prefix (exact ids included), in
** id order, appended to out. 0 ok, 1 OOM. */
int lm_g_prefix(const struct lm_graph *g, const char *prefix,
                struct lm_idset *out) {
  int lo = 0, hi = g->n, i;
  size_t len = strlen(prefix);
  const int *sorted;
  if (len == 0 || !g->built) return 0;
  if ((sorted = sorted_ids(g)) == NULL) return 1;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (strcmp(g->revs[sorted[mid]]->id, prefix) < 0) lo = mid + 1;
    else hi = mid;
  }
  for (i = lo; i < g->n && strncmp(g->revs[sorted[i]]->id, prefix, len) == 0;
       i++)
    if (lm_idset_push(out, sorted[i])) return 1;
  return 0;
}

int lm_graph_find(const struct lm_graph *g, const char *id, int *idx,
                  struct lm_err *err) {
  int lo = 0, hi = g->n, first, i, cnt = 0;
  size_t len = strlen(id);
  char list[600];
  const int *sorted;
  if ((*idx = htab_get(&g->ids, id)) >= 0) return 0;
  if (len == 0 || !g->built) return unknown_revision(g, id, err);
  if ((sorted = sorted_ids(g)) == NULL)
    return lm_err_set(err, "out of memory");
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (strcmp(g->revs[sorted[mid]]->id, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  first = lo;
  for (i = first; i < g->n && strncmp(g->revs[sorted[i]]->id, id, len) == 0;
       i++)
    cnt++;
  if (cnt == 1) {
    *idx = sorted[first];
    return 0;
  }
  if (cnt == 0) return unknown_revision(g, id, err);
  list[0] = '\0';
  for (i = first; i < first + cnt; i++) {
    size_t used = strlen(list);
    if (used + 80 > sizeof list) {
      snprintf(list + used, sizeof list - used, ", ...");
      break;
    }
    snprintf(list + used, sizeof list - used, "%s%s", i > first ? ", " : "",
             g->revs[sorted[i]]->id);
  }
  *idx = -1;
  return lm_err_set(err, "ambiguous revision prefix '%s' matches %s", id, list);
}

/* ---- version-table algebra ---- */

void lm_graph_applied(const struct lm_graph *g, const struct lm_idset *h,
                      unsigned char *mark) {
  int i;
  lm_g_begin(g, 0);
  lm_g_walk(g, 0, h->v, h->n, LM_E_PAR | LM_E_DEP, -1, -1, 0, NULL);
  for (i = 0; i < g->n; i++) mark[i] = (unsigned char)lm_g_marked(g, 0, i);
}

int lm_graph_current(const struct lm_graph *g, const struct lm_idset *h,
                     struct lm_idset *out) {
  int i, j;
  lm_g_begin(g, 0);
  if (lm_g_walk(g, 0, h->v, h->n, LM_E_PAR | LM_E_DEP, -1, -1, 0, NULL))
    return 1;
  for (i = 0; i < g->n; i++) {
    int x = g->topo[i], tip = lm_g_marked(g, 0, x);
    for (j = g->ch_off[x]; tip && j < g->ch_off[x + 1]; j++)
      if (lm_g_marked(g, 0, g->ch[j])) tip = 0;
    if (tip && lm_idset_push(out, x)) return 1;
  }
  return 0;
}

static void idset_remove(struct lm_idset *s, int x) {
  int i;
  for (i = 0; i < s->n; i++)
    if (s->v[i] == x) {
      s->v[i] = s->v[--s->n];
      return;
    }
}

/* 1 when p is reachable from the heads in h through parents and
** dependencies. Only nodes at or above p's topo position can reach it. */
static int covered(const struct lm_graph *g, const struct lm_idset *h, int p) {
  int i, *stack = g->s->stack, sp = 0, minpos = g->pos[p];
  lm_g_begin(g, 0);
  for (i = 0; i < h->n; i++)
    if (g->pos[h->v[i]] >= minpos && !lm_g_marked(g, 0, h->v[i])) {
      lm_g_mark(g, 0, h->v[i]);
      stack[sp++] = h->v[i];
    }
  while (sp > 0) {
    int x = stack[--sp], j;
    if (x == p) return 1;
    for (j = g->par_off[x]; j < g->par_off[x + 1]; j++) {
      int y = g->par[j];
      if (g->pos[y] >= minpos && !lm_g_marked(g, 0, y)) {
        lm_g_mark(g, 0, y);
        stack[sp++] = y;
      }
    }
    for (j = g->dep_off[x]; j < g->dep_off[x + 1]; j++) {
      int y = g->dep[j];
      if (g->pos[y] >= minpos && !lm_g_marked(g, 0, y)) {
        lm_g_mark(g, 0, y);
        stack[sp++] = y;
      }
    }
  }
  return 0;
}

int lm_graph_step_heads(const struct lm_graph *g, struct lm_idset *h, int idx,
                        enum lm_direction dir) {
  int j, e, was_head, first;
  if (dir == LM_UP) {
    /* idx implies its parents and dependencies: none of them stays a row
    ** (Alembic merges a dependency head into the new revision) */
    for (j = g->par_off[idx]; j < g->par_off[idx + 1]; j++)
      idset_remove(h, g->par[j]);
    for (j = g->dep_off[idx]; j < g->dep_off[idx + 1]; j++)
      idset_remove(h, g->dep[j]);
    if (!lm_idset_has(h, idx) && lm_idset_push(h, idx)) return 1;
    return 0;
  }
  was_head = lm_idset_has(h, idx);
  idset_remove(h, idx);
  /* parents, then dependencies: re-add whatever no remaining head covers,
  ** so that A(h) loses exactly idx. When idx was a head (so no other head
  ** reaches it), a revision whose only child-or-dependent is idx cannot be
  ** covered: that keeps a chain O(1) per step. */
  first = h->n;
  for (e = 0; e < 2; e++) {
    const int *off = e == 0 ? g->par_off : g->dep_off;
    const int *v = e == 0 ? g->par : g->dep;
    for (j = off[idx]; j < off[idx + 1]; j++) {
      int p = v[j];
      int up = (g->ch_off[p + 1] - g->ch_off[p]) +
               (g->dd_off[p + 1] - g->dd_off[p]);
      if (lm_idset_has(h, p)) continue;
      if (h->n > 0 && !(was_head && up == 1) && covered(g, h, p)) continue;
      if (lm_idset_push(h, p)) return 1;
    }
  }
  /* a re-added parent that another re-added one implies (a merge of a
  ** revision and its own dependency) is no row of its own */
  if (h->n - first > 1) return lm_graph_normalize_heads(g, h) < 0;
  return 0;
}

int lm_graph_normalize_heads(const struct lm_graph *g, struct lm_idset *h) {
  struct lm_idset others;
  int i, j, removed = 0;
  lm_idset_init(&others);
  for (i = 0; i < h->n; i++) {
    others.n = 0;
    for (j = 0; j < h->n; j++)
      if (j != i && lm_idset_push(&others, h->v[j])) {
        lm_idset_free(&others);
        return -1;
      }
    if (others.n > 0 && covered(g, &others, h->v[i])) {
      memmove(h->v + i, h->v + i + 1, (size_t)(h->n - i - 1) * sizeof *h->v);
      h->n--;
      i--;
      removed++;
    }
  }
  lm_idset_free(&others);
  return removed;
}
