/*
** graph.h: the revision graph (a DAG), pure C.
** Nodes are revisions; edges go from a revision to its down_revisions
** (parents) and to its depends_on revisions (dependencies). Everything is
** linear in the number of revisions: ids are hashed, walks use visit marks.
**
** Version-table algebra (Alembic's): the database holds a set of heads H;
** the applied set A is every revision reachable from H through parents and
** dependencies (H included).
*/
#ifndef LM_GRAPH_H
#define LM_GRAPH_H

#include "err.h"
#include "revision.h"

struct lm_graph;

/* A growable set/list of revision indices. */
struct lm_idset {
  int *v;     /* owned; free via lm_idset_free */
  int n;
  int cap;
};

void lm_idset_init(struct lm_idset *s);
void lm_idset_free(struct lm_idset *s);
int lm_idset_push(struct lm_idset *s, int x);        /* 0 ok, 1 OOM */
int lm_idset_has(const struct lm_idset *s, int x);   /* linear; for small sets */

enum lm_direction { LM_UP = 1, LM_DOWN = -1 };

/* What lm_graph_check_target, lm_graph_plan, lm_graph_resolve and
** lm_graph_range return when the target or range itself is wrong, whatever
** the graph holds: malformed (`+abc`, `@head`, `a:b:c`), for the other
** direction (`downgrade +1`), or a range whose start does not lead to its
** end. Commands report it as a usage error (exit status 2). Every other
** failure (an unknown or ambiguous revision, a step past head) returns 1. */
#define LM_GRAPH_USAGE 2

struct lm_graph *lm_graph_new(void);
void lm_graph_free(struct lm_graph *g);              /* NULL-safe; frees revisions */

/* Add r, taking ownership (also on failure). A duplicate id, or one that
** lm_revision_name_problem refuses (a reserved word such as head), is an
** error naming the file. Returns the new index through *idx (may be
** NULL). */
int lm_graph_add(struct lm_graph *g, struct lm_revision *r, int *idx,
                 struct lm_err *err);

/* Link the graph after all adds: resolve parents and dependencies (unknown
** parent/dependency, self-loop, cycle, duplicate or invalid branch label
** (lm_revision_name_problem) are errors naming the file), compute children
** and a topological order. Call once. */
int lm_graph_build(struct lm_graph *g, struct lm_err *err);

int lm_graph_count(const struct lm_graph *g);
const struct lm_revision *lm_graph_rev(const struct lm_graph *g, int idx);
/* Exact id lookup: index or -1. */
int lm_graph_index(const struct lm_graph *g, const char *id);
/* Id or unambiguous prefix: 0 and *idx, or an error: ambiguous, listing
** the candidates; unknown, suggesting a near target word (head, heads,
** base) or branch label, else pointing to `lmigrate history`. */
int lm_graph_find(const struct lm_graph *g, const char *id_or_prefix, int *idx,
                  struct lm_err *err);

/* Parents (down_revisions), children, dependencies as indices; borrowed. */
const int *lm_graph_parents(const struct lm_graph *g, int idx, int *n);
const int *lm_graph_children(const struct lm_graph *g, int idx, int *n);
const int *lm_graph_deps(const struct lm_graph *g, int idx, int *n);
/* Position in the topological order (parents and dependencies first). */
int lm_graph_topo_pos(const struct lm_graph *g, int idx);

/* heads: no children; bases: no parents (children via parents only).
** Appended to out in topological order; 0 ok, 1 OOM. */
int lm_graph_heads(const struct lm_graph *g, struct lm_idset *out);
int lm_graph_bases(const struct lm_graph *g, struct lm_idset *out);
/* Branch points (>1 children) and merge points (>1 parents), appended to
** out in topological order. */
int lm_graph_branchpoints(const struct lm_graph *g, struct lm_idset *out);
int lm_graph_mergepoints(const struct lm_graph *g, struct lm_idset *out);

/* The branch labels that apply to idx (borrowed strings, *n of them): a
** label on revision L applies to L and to its descendants along the chain
** above L, up to (not past) a branch point and not into a merge point. */
const char *const *lm_graph_branch_labels(const struct lm_graph *g, int idx,
                                          int *n);
/* The revision that declares branch label `label`, or -1. */
int lm_graph_label_owner(const struct lm_graph *g, const char *label);

/* Revisions for `history -r A:B`: every revision that is an ancestor-or-self
** of B and a descendant-or-self of A (through parents and dependencies),
** newest first (reverse topological order). Each end may be empty, `base`,
** `head`/`heads`, `current` (= cur), or anything lm_graph_resolve takes;
** `A:` is A..heads, `:B` is base..B. LM_GRAPH_USAGE for a malformed range
** or end, and when A and B both name revisions (not `current`) and A is
** not an ancestor-or-self of B (a reversed range). Messages do not repeat
** the range: the caller says which argument it was. */
int lm_graph_range(const struct lm_graph *g, const struct lm_idset *cur,
                   const char *range, struct lm_idset *out,
                   struct lm_err *err);

/* Check target's syntax, without looking at any graph, for dir: LM_UP,
** LM_DOWN, or 0 for a target that names revisions without the current
** heads (stamp, show, --sql FROM). 0 when it is well-formed; else
** LM_GRAPH_USAGE, with a message that says what is wrong and lists the
** valid forms. A well-formed target may still name no revision. */
int lm_graph_check_target(const char *target, int dir, struct lm_err *err);

/* Plan the steps that move the database from heads `cur` to `target`.
** Upgrade targets: head, heads, base, ID/prefix, +N, ID+N, label@head,
** label@+N, label@base+N, label@ID. Downgrade targets: base, ID/prefix, -N,
** ID-N, label@-N, label@base, label@base+N. A target that fails
** lm_graph_check_target returns LM_GRAPH_USAGE.
** steps gets revision indices in run order (upgrade: topological; downgrade:
** reverse topological). An empty plan is success (nothing to do).
** Errors: several heads for `head` (suggests heads / label@head), several
** current heads for a relative target (lists them), unknown/ambiguous
** revision, a relative step past base or head, a downgrade target that is
** not applied. */
int lm_graph_plan(const struct lm_graph *g, const struct lm_idset *cur,
                  const char *target, enum lm_direction dir,
                  struct lm_idset *steps, struct lm_err *err);

/* Resolve a target to a set of revisions without planning (used by stamp,
** show, history ranges): head, heads, base (empty set), ID/prefix, ID+N,
** ID-N (one step below a base is base), L@head, L@heads (every head on
** L's lineage), L@base (base), L@base+N (counted from base along L's
** lineage, as Alembic), L@ID, L@head-N, a bare label (its owner); L is a
** branch label or a revision id/prefix. Appended in topological order.
** LM_GRAPH_USAGE when lm_graph_check_target(target, 0) refuses it. */
int lm_graph_resolve(const struct lm_graph *g, const char *target,
                     struct lm_idset *out, struct lm_err *err);

/* lm_graph_resolve, and into *lin the revision whose lineage the target
** keeps to, or -1: L for `L@...` (a branch label's revision, or the
** revision named before '@'), REV for a REV-N that lands on base. stamp
** uses it to know which current heads `L@base` replaces. */
int lm_graph_resolve_lineage(const struct lm_graph *g, const char *target,
                             struct lm_idset *out, int *lin,
                             struct lm_err *err);

/* The heads after applying step idx in direction dir to heads h (in place):
** up: remove idx's parents and dependencies from h, add idx (as Alembic's
** merge of a dependency head); down: remove idx, add each parent and
** dependency of idx that no remaining head covers and no other of them
** implies, so A(h) loses exactly idx and h stays heads only. O(1) per
** step on a chain. 0 ok, 1 OOM.
** Walks share per-graph scratch: a graph is not safe to use from several
** threads at once, even through const pointers. */
int lm_graph_step_heads(const struct lm_graph *g, struct lm_idset *h, int idx,
                        enum lm_direction dir);

/* Drop from h every revision that another revision of h implies (reaches
** through parents and dependencies): the version table holds heads only,
** as Alembic's does, and a table written by an older lmigrate may name a
** dependency as a row of its own. A(h) is unchanged. Returns how many
** were dropped, or -1 when out of memory. */
int lm_graph_normalize_heads(const struct lm_graph *g, struct lm_idset *h);

/* What `current` shows for heads h (Alembic's get_all_current): every
** applied revision none of whose children (through parents, not
** dependencies) is applied, so a revision applied only because a head
** depends on it is listed too. Appended to out in topological order.
** 0 ok, 1 OOM. */
int lm_graph_current(const struct lm_graph *g, const struct lm_idset *h,
                     struct lm_idset *out);

/* The applied set A for heads h: mark[i] = 1 for every revision reachable
** from h via parents and dependencies. mark has lm_graph_count entries. */
void lm_graph_applied(const struct lm_graph *g, const struct lm_idset *h,
                      unsigned char *mark);

#endif
