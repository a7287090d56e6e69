/*
** graph_plan.c: target resolution and planning over the revision graph:
** lm_graph_resolve, lm_graph_plan, lm_graph_range (Alembic's target
** language: head, heads, base, ID/prefix, +N, -N, ID+N, ID-N, label@...).
** Mark array 0 holds the applied set during a plan; helpers here use
** arrays 1 and 2 only, so they may run after it is computed.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_int.h"

#define LABEL_MAX 256

/* "a, b, c" (or "a, b, ...") for the n indices in v, into buf. */
static const char *fmt_ids(const struct lm_graph *g, const int *v, int n,
                           char *buf, size_t sz) {
  int i;
  size_t used = 0;
  buf[0] = '\0';
  for (i = 0; i < n; i++) {
    if (used + 80 > sz) {
      snprintf(buf + used, sz - used, ", ...");
      break;
    }
    snprintf(buf + used, sz - used, "%s%s", i ? ", " : "", g->revs[v[i]]->id);
    used = strlen(buf);
  }
  return buf;
}

/* A positive decimal count; 0 and *n, or 1 when s is not one. */
static int parse_count(const char *s, int *n) {
  long v = 0;
  if (*s == '\0') return 1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return 1;
    v = v * 10 + (*s - '0');
    if (v > 1000000000L) return 1;
  }
  if (v == 0) return 1;
  *n = (int)v;
  return 0;
}

static int nparents(const struct lm_graph *g, int x) {
  return g->par_off[x + 1] - g->par_off[x];
}

static int nchildren(const struct lm_graph *g, int x) {
  return g->ch_off[x + 1] - g->ch_off[x];
}

/* 1 when a is x or an ancestor of x through parents (uses mark m). */
static int anc_or_self(const struct lm_graph *g, int m, int a, int x) {
  lm_g_begin(g, m);
  if (lm_g_walk(g, m, &x, 1, LM_E_PAR, -1, -1, g->pos[a], NULL)) return 0;
  return lm_g_marked(g, m, a);
}

static int single_head(const struct lm_graph *g, int *x, struct lm_err *err) {
  struct lm_idset h;
  char buf[600];
  int rc = 0;
  lm_idset_init(&h);
  if (lm_graph_heads(g, &h)) return lm_err_set(err, "out of memory");
  if (h.n == 1) *x = h.v[0];
  else if (h.n == 0) rc = lm_err_set(err, "no revisions");
  else
    rc = lm_err_set(err, "multiple heads (%s); use 'heads' or 'label@head'",
                    fmt_ids(g, h.v, h.n, buf, sizeof buf));
  lm_idset_free(&h);
  return rc;
}

static int single_base(const struct lm_graph *g, const char *spec, int *x,
                       struct lm_err *err) {
  struct lm_idset b;
  char buf[600];
  int rc = 0;
  lm_idset_init(&b);
  if (lm_graph_bases(g, &b)) return lm_err_set(err, "out of memory");
  if (b.n == 1) *x = b.v[0];
  else if (b.n == 0) rc = lm_err_set(err, "no revisions");
  else
    rc = lm_err_set(err, "relative target %s is ambiguous: several bases (%s);"
                    " name a revision or use 'label@base+N'", spec,
                    fmt_ids(g, b.v, b.n, buf, sizeof buf));
  lm_idset_free(&b);
  return rc;
}

/* The single head above label owner L (via children). */
static int label_head(const struct lm_graph *g, const char *label, int L,
                      int *x, struct lm_err *err) {
  struct lm_idset seen, heads;
  char buf[600];
  int i, rc = 0;
  lm_idset_init(&seen);
  lm_idset_init(&heads);
  lm_g_begin(g, 1);
  if (lm_g_walk(g, 1, &L, 1, LM_E_CH, -1, -1, 0, &seen)) {
    lm_idset_free(&seen);
    return lm_err_set(err, "out of memory");
  }
  for (i = 0; i < seen.n; i++)
    if (nchildren(g, seen.v[i]) == 0 && lm_idset_push(&heads, seen.v[i])) {
      rc = lm_err_set(err, "out of memory");
      goto done;
    }
  if (heads.n == 1) *x = heads.v[0];
  else
    rc = lm_err_set(err, "branch '%s' has several heads (%s); name one", label,
                    fmt_ids(g, heads.v, heads.n, buf, sizeof buf));
done:
  lm_idset_free(&seen);
  lm_idset_free(&heads);
  return rc;
}

/* The lowest revision of L's branch: down single parents while the parent
** is not a branch point. */
static int branch_base(const struct lm_graph *g, int L) {
  int x = L;
  while (nparents(g, x) == 1) {
    int p = g->par[g->par_off[x]];
    if (nchildren(g, p) != 1) break;
    x = p;
  }
  return x;
}

/* Walk n steps up through children from start (-1: from nothing, whose
** first step is `first`). Errors name spec. */
static int walk_up(const struct lm_graph *g, int start, int first, int n,
                   const char *spec, int *out, struct lm_err *err) {
  int x = start, i;
  char buf[600];
  for (i = 0; i < n; i++) {
    int k;
    if (x < 0) {
      x = first;
      continue;
    }
    k = nchildren(g, x);
    if (k == 0)
      return lm_err_set(err, "relative upgrade %s goes past head %s (only %d "
                        "revision%s above %s)", spec, g->revs[x]->id, i,
                        i == 1 ? "" : "s",
                        start < 0 ? "base" : g->revs[start]->id);
    if (k > 1)
      return lm_err_set(err, "relative upgrade %s is ambiguous at branch point"
                        " %s (children %s); name a revision explicitly", spec,
                        g->revs[x]->id, fmt_ids(g, g->ch + g->ch_off[x], k,
                                                buf, sizeof buf));
    x = g->ch[g->ch_off[x]];
  }
  *out = x;
  return 0;
}

/* n single-parent steps down from x. */
static int walk_down(const struct lm_graph *g, int x, int n, const char *spec,
                     int *out, struct lm_err *err) {
  int i;
  for (i = 0; i < n; i++) {
    int k = nparents(g, x);
    if (k == 0)
      return lm_err_set(err, "relative target %s goes past base (only %d "
                        "revision%s below)", spec, i, i == 1 ? "" : "s");
    if (k > 1)
      return lm_err_set(err, "relative target %s passes merge point %s; name "
                        "a revision", spec, g->revs[x]->id);
    x = g->par[g->par_off[x]];
  }
  *out = x;
  return 0;
}

/* Id, exact label (its owner), or unambiguous prefix. */
static int find_ref(const struct lm_graph *g, const char *s, int *x,
                    struct lm_err *err) {
  if ((*x = lm_graph_index(g, s)) >= 0) return 0;
  if ((*x = lm_graph_label_owner(g, s)) >= 0) return 0;
  return lm_graph_find(g, s, x, err);
}

/* REF, REF+N, REF-N where REF is head, base (+N only) or find_ref's. */
static int resolve_ref(const struct lm_graph *g, const char *t, int *x,
                       struct lm_err *err) {
  char ref[LABEL_MAX];
  const char *op = strpbrk(t, "+-");
  int n = 0, b;
  size_t len = op ? (size_t)(op - t) : strlen(t);
  if (len == 0 || len >= sizeof ref)
    return lm_err_set(err, "invalid revision '%s'", t);
  memcpy(ref, t, len);
  ref[len] = '\0';
  if (op != NULL && parse_count(op + 1, &n))
    return lm_err_set(err, "invalid relative step in '%s'", t);
  if (strcmp(ref, "base") == 0) {
    if (op == NULL || *op != '+')
      return lm_err_set(err, "'%s' does not name a revision", t);
    if (single_base(g, t, &b, err)) return 1;
    return walk_up(g, -1, b, n, t, x, err);
  }
  if (strcmp(ref, "head") == 0) {
    if (single_head(g, x, err)) return 1;
  } else if (find_ref(g, ref, x, err)) {
    return 1;
  }
  if (op == NULL) return 0;
  if (*op == '+') return walk_up(g, *x, -1, n, t, x, err);
  return walk_down(g, *x, n, t, x, err);
}

/* Split "label@rest": label owner into *L, rest pointer into *rest. */
static int split_label(const struct lm_graph *g, const char *t, int *L,
                       const char **rest, char *label, struct lm_err *err) {
  const char *at = strchr(t, '@');
  size_t len = (size_t)(at - t);
  if (len == 0 || len >= LABEL_MAX)
    return lm_err_set(err, "invalid target '%s'", t);
  memcpy(label, t, len);
  label[len] = '\0';
  *L = lm_graph_label_owner(g, label);
  if (*L < 0) return lm_err_set(err, "unknown branch label '%s'", label);
  *rest = at + 1;
  return 0;
}

/* Resolve one target to a single revision (or -1 for base). */
static int resolve_one(const struct lm_graph *g, const char *t, int *x,
                       struct lm_err *err) {
  const char *rest;
  char label[LABEL_MAX];
  int L, n;
  if (strchr(t, '@') == NULL) return resolve_ref(g, t, x, err);
  if (split_label(g, t, &L, &rest, label, err)) return 1;
  if (strcmp(rest, "head") == 0) return label_head(g, label, L, x, err);
  if (strcmp(rest, "base") == 0) {
    *x = branch_base(g, L);
    return 0;
  }
  if (strncmp(rest, "base+", 5) == 0) {
    if (parse_count(rest + 5, &n))
      return lm_err_set(err, "invalid relative step in '%s'", t);
    return walk_up(g, -1, branch_base(g, L), n, t, x, err);
  }
  if (rest[0] == '+' || rest[0] == '-')
    return lm_err_set(err, "relative target '%s' needs the current heads; use"
                      " it with upgrade or downgrade", t);
  if (resolve_ref(g, rest, x, err)) return 1;
  if (!anc_or_self(g, 1, L, *x) && !anc_or_self(g, 1, *x, L))
    return lm_err_set(err, "revision %s is not on branch '%s'",
                      g->revs[*x]->id, label);
  return 0;
}

int lm_graph_resolve(const struct lm_graph *g, const char *target,
                     struct lm_idset *out, struct lm_err *err) {
  int x;
  if (strcmp(target, "base") == 0) return 0;
  if (strcmp(target, "heads") == 0) {
    if (lm_graph_heads(g, out)) return lm_err_set(err, "out of memory");
    return 0;
  }
  if (resolve_one(g, target, &x, err)) return 1;
  if (x >= 0 && lm_idset_push(out, x)) return lm_err_set(err, "out of memory");
  return 0;
}

/* The current heads on L's branch: those with the branch base as an
** ancestor-or-self (through parents). Appended to out. */
static int branch_cur(const struct lm_graph *g, const struct lm_idset *cur,
                      int bb, struct lm_idset *out) {
  int i;
  for (i = 0; i < cur->n; i++)
    if (anc_or_self(g, 1, bb, cur->v[i]) && lm_idset_push(out, cur->v[i]))
      return 1;
  return 0;
}

/* The one current head a relative target starts from: *h = -1 when no head
** applies (upgrade only). label is NULL for a plain +N/-N. */
static int rel_start(const struct lm_graph *g, const struct lm_idset *cur,
                     const char *label, int bb, const char *spec,
                     enum lm_direction dir, int *h, struct lm_err *err) {
  struct lm_idset on;
  const struct lm_idset *use = cur;
  char buf[600];
  int rc = 0;
  const char *what = dir == LM_UP ? "upgrade" : "downgrade";
  lm_idset_init(&on);
  if (label != NULL) {
    if (branch_cur(g, cur, bb, &on)) return lm_err_set(err, "out of memory");
    use = &on;
  }
  if (use->n == 1) {
    *h = use->v[0];
  } else if (use->n == 0) {
    *h = -1;
    if (dir == LM_DOWN) {
      if (label != NULL)
        rc = lm_err_set(err, "relative downgrade %s: no revision of branch "
                        "'%s' is applied", spec, label);
      else
        rc = lm_err_set(err, "relative downgrade %s: no revision is applied",
                        spec);
    }
  } else if (label != NULL) {
    rc = lm_err_set(err, "relative %s %s is ambiguous: branch '%s' has several"
                    " current heads (%s); name a revision", what, spec, label,
                    fmt_ids(g, use->v, use->n, buf, sizeof buf));
  } else {
    rc = lm_err_set(err, "relative %s %s is ambiguous with several current "
                    "heads (%s); use 'label@%s' or a revision", what, spec,
                    fmt_ids(g, use->v, use->n, buf, sizeof buf), spec);
  }
  lm_idset_free(&on);
  return rc;
}

/* Relative downgrade of n revisions from head h: *x = c(n-1). */
static int rel_down(const struct lm_graph *g, int h, int n, const char *spec,
                    int *x, struct lm_err *err) {
  int i, c = h;
  for (i = 0; i < n - 1; i++) {
    int k = nparents(g, c);
    if (k == 0)
      return lm_err_set(err, "relative downgrade %s goes past base (only %d "
                        "applied); use 'base'", spec, i + 1);
    if (k > 1)
      return lm_err_set(err, "relative downgrade %s passes merge point %s; "
                        "name a revision", spec, g->revs[c]->id);
    c = g->par[g->par_off[c]];
  }
  *x = c;
  return 0;
}

/* Steps: nodes marked in array m, in topo order (dir up) or reverse. */
static int collect(const struct lm_graph *g, int m, enum lm_direction dir,
                   struct lm_idset *steps, struct lm_err *err) {
  int i;
  for (i = 0; i < g->n; i++) {
    int x = g->topo[dir == LM_UP ? i : g->n - 1 - i];
    if (lm_g_marked(g, m, x) && lm_idset_push(steps, x))
      return lm_err_set(err, "out of memory");
  }
  return 0;
}

static int plan_up(const struct lm_graph *g, const struct lm_idset *cur,
                   const char *t, struct lm_idset *steps,
                   struct lm_err *err) {
  struct lm_idset T;
  int x, n, rc = 0;
  const char *at = strchr(t, '@');
  lm_idset_init(&T);
  if (strcmp(t, "base") == 0) return 0;
  if (t[0] == '-' || (at != NULL && at[1] == '-'))
    return lm_err_set(err, "'%s' is a downgrade target; use downgrade", t);
  if (t[0] == '+' || (at != NULL && at[1] == '+')) {
    char label[LABEL_MAX];
    const char *rest = t;
    int L = -1, bb = -1, h, first;
    if (at != NULL && split_label(g, t, &L, &rest, label, err)) return 1;
    if (parse_count(rest + 1, &n))
      return lm_err_set(err, "invalid relative step in '%s'", t);
    if (L >= 0) bb = branch_base(g, L);
    if (rel_start(g, cur, L >= 0 ? label : NULL, bb, t, LM_UP, &h, err))
      return 1;
    if (h < 0 && L < 0 && single_base(g, t, &bb, err)) return 1;
    first = bb;
    if (h < 0 && L >= 0) {
      /* nothing of the branch applied: start from its highest applied
      ** revision below L on the branch chain, else from nothing */
      int y = L;
      while (!lm_g_marked(g, 0, y) && y != bb) y = g->par[g->par_off[y]];
      if (lm_g_marked(g, 0, y)) h = y;
    }
    if (walk_up(g, h, first, n, t, &x, err)) return 1;
    if (lm_idset_push(&T, x)) return lm_err_set(err, "out of memory");
  } else if (lm_graph_resolve(g, t, &T, err)) {
    lm_idset_free(&T);
    return 1;
  }
  lm_g_begin(g, 1);
  if (lm_g_walk(g, 1, T.v, T.n, LM_E_PAR | LM_E_DEP, 0, -1, 0, NULL))
    rc = lm_err_set(err, "out of memory");
  lm_idset_free(&T);
  return rc ? rc : collect(g, 1, LM_UP, steps, err);
}

static int plan_down(const struct lm_graph *g, const struct lm_idset *cur,
                     const char *t, struct lm_idset *steps,
                     struct lm_err *err) {
  struct lm_idset T;
  char buf[600];
  int x, n, i;
  const char *at = strchr(t, '@');
  if (strcmp(t, "base") == 0) return collect(g, 0, LM_DOWN, steps, err);
  if (t[0] == '+' || (at != NULL && (at[1] == '+' ||
                                     strncmp(at + 1, "base+", 5) == 0)))
    return lm_err_set(err, "'%s' is an upgrade target; use upgrade", t);
  if (t[0] == '-' || (at != NULL && at[1] == '-') ||
      (at != NULL && strcmp(at + 1, "base") == 0)) {
    char label[LABEL_MAX];
    const char *rest = t;
    int L = -1, bb = -1, h;
    if (at != NULL && split_label(g, t, &L, &rest, label, err)) return 1;
    if (L >= 0) bb = branch_base(g, L);
    if (strcmp(rest, "base") == 0) {
      if (!lm_g_marked(g, 0, bb)) return 0;
      x = bb;
    } else {
      if (parse_count(rest + 1, &n))
        return lm_err_set(err, "invalid relative step in '%s'", t);
      if (rel_start(g, cur, L >= 0 ? label : NULL, bb, t, LM_DOWN, &h, err))
        return 1;
      if (rel_down(g, h, n, t, &x, err)) return 1;
    }
    lm_g_begin(g, 1);
    if (lm_g_walk(g, 1, &x, 1, LM_E_CH | LM_E_DD, -1, 0, 0, NULL))
      return lm_err_set(err, "out of memory");
    return collect(g, 1, LM_DOWN, steps, err);
  }
  lm_idset_init(&T);
  if (lm_graph_resolve(g, t, &T, err)) goto fail;
  for (i = 0; i < T.n; i++)
    if (!lm_g_marked(g, 0, T.v[i])) {
      lm_err_set(err, "cannot downgrade to %s: it is not applied "
                      "(current heads: %s)", g->revs[T.v[i]]->id,
                      cur->n ? fmt_ids(g, cur->v, cur->n, buf, sizeof buf)
                             : "none");
      goto fail;
    }
  /* remove: applied descendants of T that are not ancestors-or-self of T */
  lm_g_begin(g, 2);
  lm_g_begin(g, 1);
  if (lm_g_walk(g, 2, T.v, T.n, LM_E_PAR | LM_E_DEP, -1, -1, 0, NULL) ||
      lm_g_walk(g, 1, T.v, T.n, LM_E_CH | LM_E_DD, -1, 0, 0, NULL)) {
    lm_err_set(err, "out of memory");
    goto fail;
  }
  for (i = 0; i < g->n; i++) {
    int y = g->topo[g->n - 1 - i];
    if (lm_g_marked(g, 1, y) && !lm_g_marked(g, 2, y) &&
        lm_idset_push(steps, y)) {
      lm_err_set(err, "out of memory");
      goto fail;
    }
  }
  lm_idset_free(&T);
  return 0;
fail:
  lm_idset_free(&T);
  return 1;
}

int lm_graph_plan(const struct lm_graph *g, const struct lm_idset *cur,
                  const char *target, enum lm_direction dir,
                  struct lm_idset *steps, struct lm_err *err) {
  if (target == NULL || target[0] == '\0')
    return lm_err_set(err, "empty target");
  lm_g_begin(g, 0);
  if (lm_g_walk(g, 0, cur->v, cur->n, LM_E_PAR | LM_E_DEP, -1, -1, 0, NULL))
    return lm_err_set(err, "out of memory");
  if (dir == LM_UP) return plan_up(g, cur, target, steps, err);
  return plan_down(g, cur, target, steps, err);
}

/* The upper end of a range into mark array 0; *all = 1 when it does not
** constrain (empty or heads). */
static int range_upper(const struct lm_graph *g, const struct lm_idset *cur,
                       const char *s, int *all, struct lm_err *err) {
  struct lm_idset T;
  const struct lm_idset *use = &T;
  int rc = 0;
  *all = s[0] == '\0' || strcmp(s, "heads") == 0;
  if (*all) return 0;
  lm_idset_init(&T);
  if (strcmp(s, "current") == 0) use = cur;
  else if (lm_graph_resolve(g, s, &T, err)) {
    lm_idset_free(&T);
    return 1;
  }
  lm_g_begin(g, 0);
  if (lm_g_walk(g, 0, use->v, use->n, LM_E_PAR | LM_E_DEP, -1, -1, 0, NULL))
    rc = lm_err_set(err, "out of memory");
  lm_idset_free(&T);
  return rc;
}

int lm_graph_range(const struct lm_graph *g, const struct lm_idset *cur,
                   const char *range, struct lm_idset *out,
                   struct lm_err *err) {
  char lo[LABEL_MAX * 2];
  const char *colon = strchr(range, ':');
  size_t len;
  int alllo, allhi, i;
  if (colon == NULL || strchr(colon + 1, ':') != NULL)
    return lm_err_set(err, "invalid range '%s'; expected [start]:[end]",
                      range);
  len = (size_t)(colon - range);
  if (len >= sizeof lo) return lm_err_set(err, "invalid range '%s'", range);
  memcpy(lo, range, len);
  lo[len] = '\0';
  /* resolve both ends before marking: resolve uses arrays 1 and 2 */
  if (range_upper(g, cur, colon + 1, &allhi, err)) return 1;
  {
    /* the lower end: descendants-or-self, in array 2 (resolve uses 1) */
    struct lm_idset T;
    const struct lm_idset *use = &T;
    lm_idset_init(&T);
    alllo = lo[0] == '\0' || strcmp(lo, "base") == 0 ||
            (strcmp(lo, "current") == 0 && cur->n == 0);
    if (!alllo && strcmp(lo, "current") == 0) use = cur;
    else if (!alllo && lm_graph_resolve(g, lo, &T, err)) {
      lm_idset_free(&T);
      return 1;
    }
    if (!alllo) {
      lm_g_begin(g, 2);
      if (lm_g_walk(g, 2, use->v, use->n, LM_E_CH | LM_E_DD, -1, -1, 0,
                    NULL)) {
        lm_idset_free(&T);
        return lm_err_set(err, "out of memory");
      }
    }
    lm_idset_free(&T);
  }
  for (i = g->n - 1; i >= 0; i--) {
    int x = g->topo[i];
    if ((allhi || lm_g_marked(g, 0, x)) && (alllo || lm_g_marked(g, 2, x)) &&
        lm_idset_push(out, x))
      return lm_err_set(err, "out of memory");
  }
  return 0;
}
