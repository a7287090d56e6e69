/*
** graph_plan.c: target syntax, resolution and planning over the revision
** graph: lm_graph_check_target, lm_graph_resolve, lm_graph_plan,
** lm_graph_range (Alembic's target language: head, heads, base, ID/prefix,
** +N, -N, ID+N, ID-N, label@...).
** Every entry point checks the target's syntax first, so a malformed one
** (LM_GRAPH_USAGE) is told apart from one that names no revision (1).
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

/* {====== target syntax: no graph needed */

/* The valid forms and the noun, per direction (index dir + 1). */
static const char *const target_forms[3] = {
  "base, REV, REV-N, -N, LABEL@-N, LABEL@base or LABEL@REV",
  "head, heads, base, REV, REV+N, REV-N, LABEL@head, LABEL@base, "
  "LABEL@base+N or LABEL@REV",
  "head, heads, REV, REV+N, +N, LABEL@head, LABEL@+N, LABEL@base+N or "
  "LABEL@REV"
};
static const char *const target_noun[3] = {
  "downgrade target", "target", "upgrade target"
};

/* 1 when s[0..n) can name a revision: an id, a prefix or a branch label
** (1 to LM_REVISION_ID_MAX of A-Z a-z 0-9 _), or the word head. */
static int is_ref(const char *s, size_t n) {
  size_t i;
  if (n == 0 || n > LM_REVISION_ID_MAX) return 0;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return 1;
}

static int is_word(const char *s, size_t n, const char *word) {
  return strlen(word) == n && strncmp(s, word, n) == 0;
}

/* A malformed target t: what is wrong (why), then the valid forms. */
static int malformed(const char *t, int dir, const char *why,
                     struct lm_err *err) {
  lm_err_set(err, "invalid %s '%s': %s; %ss are %s", target_noun[dir + 1],
             t, why, target_noun[dir + 1], target_forms[dir + 1]);
  return LM_GRAPH_USAGE;
}

int lm_graph_check_target(const char *t, int dir, struct lm_err *err) {
  const char *at, *body, *op;
  size_t n;
  int count;
  if (dir != LM_UP && dir != LM_DOWN) dir = 0;
  if (t == NULL || t[0] == '\0') {
    lm_err_set(err, "empty %s; %ss are %s", target_noun[dir + 1],
               target_noun[dir + 1], target_forms[dir + 1]);
    return LM_GRAPH_USAGE;
  }
  if (strcmp(t, "heads") == 0) return 0;
  body = t;
  if ((at = strchr(t, '@')) != NULL) {
    if (at == t) return malformed(t, dir, "no branch label before '@'", err);
    if (!is_ref(t, (size_t)(at - t)))
      return malformed(t, dir, "a branch label is 1 to 64 of A-Z a-z 0-9 _",
                       err);
    body = at + 1;
    if (strchr(body, '@') != NULL)
      return malformed(t, dir, "more than one '@'", err);
    if (body[0] == '\0')
      return malformed(t, dir, "nothing after '@'", err);
    if (strcmp(body, "heads") == 0)
      return malformed(t, dir, "use LABEL@head (a branch has one head)", err);
  }
  if (body[0] == '+' || body[0] == '-') {
    if (parse_count(body + 1, &count))
      return malformed(t, dir, body[0] == '+'
                       ? "N in +N must be a whole number, 1 or more"
                       : "N in -N must be a whole number, 1 or more", err);
    if (dir == 0) {
      lm_err_set(err, "relative target '%s' needs the current heads; use it "
                 "with upgrade or downgrade", t);
      return LM_GRAPH_USAGE;
    }
    if (body[0] == '+' && dir == LM_DOWN) {
      lm_err_set(err, "'%s' is an upgrade target: use `lmigrate upgrade %s`;"
                 " downgrade targets are %s", t, t, target_forms[0]);
      return LM_GRAPH_USAGE;
    }
    if (body[0] == '-' && dir == LM_UP) {
      lm_err_set(err, "'%s' is a downgrade target: use `lmigrate downgrade "
                 "%s`; upgrade targets are %s", t, t, target_forms[2]);
      return LM_GRAPH_USAGE;
    }
    return 0;
  }
  op = strpbrk(body, "+-");
  n = op ? (size_t)(op - body) : strlen(body);
  if (!is_ref(body, n))
    return malformed(t, dir, "a revision id, prefix or branch label is 1 to "
                     "64 of A-Z a-z 0-9 _", err);
  if (op == NULL) return 0;
  if (is_word(body, n, "heads"))
    return malformed(t, dir, "heads takes no +N or -N (use head+N or LABEL@+N)",
                     err);
  if (is_word(body, n, "base") && *op == '-')
    return malformed(t, dir, "nothing is below base (use base+N)", err);
  if (parse_count(op + 1, &count))
    return malformed(t, dir, *op == '+'
                     ? "N in +N must be a whole number, 1 or more"
                     : "N in -N must be a whole number, 1 or more", err);
  return 0;
}

/* }====== */

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
  if (*L < 0) {
    const char *near = lm_g_suggest(g, label, 0);
    if (near != NULL)
      return lm_err_set(err, "unknown branch label '%s' (did you mean "
                        "'%s'?)", label, near);
    return lm_err_set(err, "unknown branch label '%s'", label);
  }
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

/* lm_graph_resolve for a target whose syntax was checked. */
static int resolve_set(const struct lm_graph *g, const char *target,
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

int lm_graph_resolve(const struct lm_graph *g, const char *target,
                     struct lm_idset *out, struct lm_err *err) {
  int rc = lm_graph_check_target(target, 0, err);
  return rc ? rc : resolve_set(g, target, out, err);
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
  } else if (resolve_set(g, t, &T, err)) {
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
  if (resolve_set(g, t, &T, err)) goto fail;
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
  int rc = lm_graph_check_target(target, dir, err);
  if (rc) return rc;
  lm_g_begin(g, 0);
  if (lm_g_walk(g, 0, cur->v, cur->n, LM_E_PAR | LM_E_DEP, -1, -1, 0, NULL))
    return lm_err_set(err, "out of memory");
  if (dir == LM_UP) return plan_up(g, cur, target, steps, err);
  return plan_down(g, cur, target, steps, err);
}

/* A range's start must lead to its end: every revision of LO must be an
** ancestor-or-self of the end HI (0 or 1 revisions; none is base), whose
** ancestors-or-self mark array 0 holds. LM_GRAPH_USAGE naming the first
** that is not, with a hint: reversed, or on another branch. */
static int check_order(const struct lm_graph *g, const struct lm_idset *LO,
                       const struct lm_idset *HI, struct lm_err *err) {
  int i, x, reversed;
  for (i = 0; i < LO->n && lm_g_marked(g, 0, LO->v[i]); i++)
    ;
  if (i == LO->n) return 0;
  x = LO->v[i];
  reversed = HI->n == 0;
  if (!reversed) {             /* is the end below the start? */
    lm_g_begin(g, 1);
    if (lm_g_walk(g, 1, &x, 1, LM_E_PAR | LM_E_DEP, -1, -1,
                  g->pos[HI->v[0]], NULL))
      return lm_err_set(err, "out of memory");
    reversed = lm_g_marked(g, 1, HI->v[0]);
  }
  lm_err_set(err, "%s is not an ancestor of %s (%s)", g->revs[x]->id,
             HI->n ? g->revs[HI->v[0]]->id : "base",
             reversed ? "write the older revision first"
                      : "they are on different branches");
  return LM_GRAPH_USAGE;
}

int lm_graph_range(const struct lm_graph *g, const struct lm_idset *cur,
                   const char *range, struct lm_idset *out,
                   struct lm_err *err) {
  char lo[LABEL_MAX];
  const char *colon = strchr(range, ':'), *hi;
  struct lm_idset LO, HI;
  const struct lm_idset *ulo = &LO, *uhi = &HI;
  size_t len;
  int alllo, allhi, curlo, curhi, i, rc;
  if (colon == NULL || strchr(colon + 1, ':') != NULL) {
    lm_err_set(err, "expected START:END, START: or :END");
    return LM_GRAPH_USAGE;
  }
  len = (size_t)(colon - range);
  if (len >= sizeof lo) {
    lm_err_set(err, "'%.20s...' is too long to name a revision", range);
    return LM_GRAPH_USAGE;
  }
  memcpy(lo, range, len);
  lo[len] = '\0';
  hi = colon + 1;
  curlo = strcmp(lo, "current") == 0;
  curhi = strcmp(hi, "current") == 0;
  alllo = lo[0] == '\0' || strcmp(lo, "base") == 0 || (curlo && cur->n == 0);
  allhi = hi[0] == '\0' || strcmp(hi, "heads") == 0;
  /* syntax first: a malformed end is wrong whatever the graph holds */
  if ((!alllo && !curlo && (rc = lm_graph_check_target(lo, 0, err))) ||
      (!allhi && !curhi && (rc = lm_graph_check_target(hi, 0, err))))
    return rc;
  lm_idset_init(&LO);
  lm_idset_init(&HI);
  if (curlo) ulo = cur;
  if (curhi) uhi = cur;
  /* resolve both ends before marking: resolving uses arrays 1 and 2 */
  rc = (!alllo && !curlo && resolve_set(g, lo, &LO, err)) ||
       (!allhi && !curhi && resolve_set(g, hi, &HI, err));
  if (rc) goto done;
  /* array 0: ancestors-or-self of the end; 2: descendants-or-self of the
  ** start */
  lm_g_begin(g, 0);
  lm_g_begin(g, 2);
  if ((!allhi && lm_g_walk(g, 0, uhi->v, uhi->n, LM_E_PAR | LM_E_DEP, -1, -1,
                           0, NULL)) ||
      (!alllo && lm_g_walk(g, 2, ulo->v, ulo->n, LM_E_CH | LM_E_DD, -1, -1,
                           0, NULL))) {
    rc = lm_err_set(err, "out of memory");
    goto done;
  }
  /* both ends named revisions: the start must lead to the end (`current`
  ** depends on the database, so it only narrows the listing) */
  if (!alllo && !allhi && !curlo && !curhi &&
      (rc = check_order(g, &LO, &HI, err)))
    goto done;
  for (i = g->n - 1; i >= 0; i--) {
    int x = g->topo[i];
    if ((allhi || lm_g_marked(g, 0, x)) && (alllo || lm_g_marked(g, 2, x)) &&
        lm_idset_push(out, x)) {
      rc = lm_err_set(err, "out of memory");
      goto done;
    }
  }
done:
  lm_idset_free(&LO);
  lm_idset_free(&HI);
  return rc;
}
