/*
** graph_plan.c: target syntax, resolution and planning over the revision
** graph: lm_graph_check_target, lm_graph_resolve, lm_graph_plan,
** (Alembic's target language: head, heads, base, ID/prefix, +N, -N,
** ID+N, ID-N, L@...). Ranges (lm_graph_range) are in graph_range.c.
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
const char *lm_gp_fmt_ids(const struct lm_graph *g, const int *v, int n,
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
int lm_gp_parse_count(const char *s, int *n) {
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
  "base, REV, REV-N, -N, LABEL@-N, LABEL@base, LABEL@base+N, "
  "LABEL@head-N or LABEL@REV",
  "head, heads, base, REV, REV+N, REV-N, LABEL@head, LABEL@heads, "
  "LABEL@base, LABEL@base+N or LABEL@REV",
  "head, heads, REV, REV+N, REV-N, +N, LABEL@head, LABEL@heads, "
  "LABEL@head-N, LABEL@+N, LABEL@base+N or LABEL@REV"
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
  }
  if (body[0] == '+' || body[0] == '-') {
    if (lm_gp_parse_count(body + 1, &count))
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
  if (lm_gp_parse_count(op + 1, &count))
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
                    lm_gp_fmt_ids(g, h.v, h.n, buf, sizeof buf));
  lm_idset_free(&h);
  return rc;
}

/* Mark L's lineage: array 1 gets L and its descendants, array 2 L and its
** ancestors (through parents only, as Alembic's filter_for_lineage).
** 0, or 1 when out of memory. */
int lm_gp_lineage_marks(const struct lm_graph *g, int L) {
  lm_g_begin(g, 1);
  lm_g_begin(g, 2);
  return lm_g_walk(g, 1, &L, 1, LM_E_CH, -1, -1, 0, NULL) ||
         lm_g_walk(g, 2, &L, 1, LM_E_PAR, -1, -1, 0, NULL);
}

/* 1 when x is on the lineage lineage_marks marked. */
int lm_gp_in_lineage(const struct lm_graph *g, int x) {
  return lm_g_marked(g, 1, x) || lm_g_marked(g, 2, x);
}

/* The heads on L's lineage (descendants-or-self of L that are heads),
** appended to out in topological order. */
static int lineage_heads(const struct lm_graph *g, int L,
                         struct lm_idset *out) {
  int i;
  if (lm_gp_lineage_marks(g, L)) return 1;
  for (i = 0; i < g->n; i++) {
    int x = g->topo[i];
    if (lm_g_marked(g, 1, x) && nchildren(g, x) == 0 &&
        lm_idset_push(out, x))
      return 1;
  }
  return 0;
}

/* The single head on L's lineage; `label` names L in messages. */
static int label_head(const struct lm_graph *g, const char *label, int L,
                      int *x, struct lm_err *err) {
  struct lm_idset heads;
  char buf[600];
  int rc = 0;
  lm_idset_init(&heads);
  if (lineage_heads(g, L, &heads)) {
    lm_idset_free(&heads);
    return lm_err_set(err, "out of memory");
  }
  if (heads.n == 1) *x = heads.v[0];
  else
    rc = lm_err_set(err, "branch '%s' has several heads (%s); name one",
                    label,
                    lm_gp_fmt_ids(g, heads.v, heads.n, buf, sizeof buf));
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

/* Walk n steps up through children from start (-1: from base, whose
** children are the bases), keeping to L's lineage when L >= 0 (Alembic's
** _walk with a branch label). Errors name spec. */
int lm_gp_walk_up(const struct lm_graph *g, int start, int L, int n,
                  const char *spec, int *out, struct lm_err *err) {
  struct lm_idset cand;
  char buf[600];
  int x = start, i, j, rc = 0;
  lm_idset_init(&cand);
  if (L >= 0 && lm_gp_lineage_marks(g, L)) return lm_err_set(err, "out of memory");
  for (i = 0; rc == 0 && i < n; i++) {
    int k = 0;
    cand.n = 0;
    if (x < 0) {
      if (lm_graph_bases(g, &cand)) rc = lm_err_set(err, "out of memory");
    } else {
      for (j = g->ch_off[x]; j < g->ch_off[x + 1]; j++)
        if (lm_idset_push(&cand, g->ch[j]))
          rc = lm_err_set(err, "out of memory");
    }
    for (j = 0; rc == 0 && j < cand.n; j++)
      if (L < 0 || lm_gp_in_lineage(g, cand.v[j])) cand.v[k++] = cand.v[j];
    cand.n = k;
    if (rc) break;
    if (cand.n == 0 && x < 0)
      rc = lm_err_set(err, "relative target %s: no revisions", spec);
    else if (cand.n == 0)
      rc = lm_err_set(err, "relative upgrade %s goes past head %s (only %d "
                      "revision%s above %s)", spec, g->revs[x]->id, i,
                      i == 1 ? "" : "s",
                      start < 0 ? "base" : g->revs[start]->id);
    else if (cand.n > 1 && x < 0)
      rc = lm_err_set(err, "relative target %s is ambiguous: several bases "
                      "(%s); name a revision or use 'LABEL@base+N'", spec,
                      lm_gp_fmt_ids(g, cand.v, cand.n, buf, sizeof buf));
    else if (cand.n > 1)
      rc = lm_err_set(err, "relative upgrade %s is ambiguous at branch point"
                      " %s (children %s); name a revision explicitly", spec,
                      g->revs[x]->id, lm_gp_fmt_ids(g, cand.v, cand.n, buf,
                                              sizeof buf));
    else
      x = cand.v[0];
  }
  lm_idset_free(&cand);
  if (rc == 0) *out = x;
  return rc;
}

/* n single-parent steps down from x. Stepping from a base to base itself
** is allowed as the last step (*out = -1), as in Alembic: `a-1` on a
** base a is base. */
int lm_gp_walk_down(const struct lm_graph *g, int x, int n, const char *spec,
                    int *out, struct lm_err *err) {
  int i, start = x;
  for (i = 0; i < n; i++) {
    int k = nparents(g, x);
    if (k == 0) {
      if (i == n - 1) {
        *out = -1;
        return 0;
      }
      return lm_err_set(err, "relative target %s goes past base (%s-%d is "
                        "already base)", spec, g->revs[start]->id, i + 1);
    }
    if (k > 1)
      return lm_err_set(err, "relative target %s passes merge point %s; name "
                        "a revision", spec, g->revs[x]->id);
    x = g->par[g->par_off[x]];
  }
  *out = x;
  return 0;
}

/* Id, exact label (its owner), or unambiguous prefix. With L >= 0 (the
** target was `label@s`), a prefix is looked for on L's lineage first, as
** Alembic does; `label` names L in messages. */
static int find_ref(const struct lm_graph *g, const char *s, int L,
                    const char *label, int *x, struct lm_err *err) {
  struct lm_idset m;
  char buf[600];
  int i, k = 0, rc = 0;
  if ((*x = lm_graph_index(g, s)) >= 0) return 0;
  if ((*x = lm_graph_label_owner(g, s)) >= 0) return 0;
  if (L < 0) return lm_graph_find(g, s, x, err);
  lm_idset_init(&m);
  if (lm_g_prefix(g, s, &m) || lm_gp_lineage_marks(g, L)) {
    lm_idset_free(&m);
    return lm_err_set(err, "out of memory");
  }
  for (i = 0; i < m.n; i++)
    if (lm_gp_in_lineage(g, m.v[i])) k++;
  if (m.n == 0) {
    rc = lm_graph_find(g, s, x, err);
  } else if (k == 0) {
    rc = lm_err_set(err, "revision prefix '%s' matches %s, not on branch "
                    "'%s'", s, lm_gp_fmt_ids(g, m.v, m.n, buf, sizeof buf),
                    label);
  } else {
    for (i = 0, k = 0; i < m.n; i++)
      if (lm_gp_in_lineage(g, m.v[i])) m.v[k++] = m.v[i];
    if (k == 1) *x = m.v[0];
    else
      rc = lm_err_set(err, "ambiguous revision prefix '%s' matches %s on "
                      "branch '%s'", s,
                      lm_gp_fmt_ids(g, m.v, k, buf, sizeof buf), label);
  }
  lm_idset_free(&m);
  return rc;
}

/* REF, REF+N, REF-N where REF is head, base (+N only) or find_ref's; with
** L >= 0 (the part after `label@`), head is L's head, base+N walks L's
** lineage and prefixes are looked for on it. *x = -1 for base (base
** itself, or REF-N one step below a base). When REF-N lands on base,
** *lin (when not NULL) gets REF, so a downgrade keeps to REF's lineage. */
static int resolve_ref(const struct lm_graph *g, const char *t, int L,
                       const char *label, int *x, int *lin,
                       struct lm_err *err) {
  char ref[LABEL_MAX];
  const char *op = strpbrk(t, "+-");
  int n = 0, start;
  size_t len = op ? (size_t)(op - t) : strlen(t);
  if (len == 0 || len >= sizeof ref)
    return lm_err_set(err, "invalid revision '%s'", t);
  memcpy(ref, t, len);
  ref[len] = '\0';
  if (op != NULL && lm_gp_parse_count(op + 1, &n))
    return lm_err_set(err, "invalid relative step in '%s'", t);
  if (strcmp(ref, "base") == 0) {
    *x = -1;
    if (op == NULL) return 0;
    if (*op != '+') return lm_err_set(err, "'%s' does not name a revision", t);
    return lm_gp_walk_up(g, -1, L, n, t, x, err);
  }
  if (strcmp(ref, "head") == 0 || strcmp(ref, "heads") == 0) {
    if (L >= 0 ? label_head(g, label, L, x, err) : single_head(g, x, err))
      return 1;
  } else if (find_ref(g, ref, L, label, x, err)) {
    return 1;
  }
  if (op == NULL) return 0;
  if (*op == '+') return lm_gp_walk_up(g, *x, L, n, t, x, err);
  start = *x;
  if (lm_gp_walk_down(g, start, n, t, x, err)) return 1;
  if (*x < 0 && lin != NULL) *lin = start;
  return 0;
}

/* Split "label@rest": into *L the revision the part before '@' names (the
** revision declaring that branch label, else the revision with that id
** or unique prefix, as Alembic allows), into *rest the part after. */
static int split_label(const struct lm_graph *g, const char *t, int *L,
                       const char **rest, char *label, struct lm_err *err) {
  const char *at = strchr(t, '@');
  size_t len = (size_t)(at - t);
  struct lm_err ferr;
  if (len == 0 || len >= LABEL_MAX)
    return lm_err_set(err, "invalid target '%s'", t);
  memcpy(label, t, len);
  label[len] = '\0';
  *L = lm_graph_label_owner(g, label);
  if (*L < 0) {
    lm_err_clear(&ferr);
    if (lm_graph_find(g, label, L, &ferr) == 0) {
      *rest = at + 1;
      return 0;
    }
    if (strncmp(ferr.msg, "ambiguous", 9) == 0)
      return lm_err_set(err, "%s (before '@' in '%s')", ferr.msg, t);
    {
      const char *near = lm_g_suggest(g, label, 0);
      if (near != NULL)
        return lm_err_set(err, "unknown branch label '%s' (did you mean "
                          "'%s'?)", label, near);
    }
    return lm_err_set(err, "unknown branch label '%s': no branch label or "
                      "revision is named so", label);
  }
  *rest = at + 1;
  return 0;
}

/* Resolve one target to a single revision (*x, -1 for base) and, for
** `L@...` targets, the revision L whose lineage it keeps to (*lin, else
** -1; also REF for a REF-N that lands on base). */
static int resolve_one(const struct lm_graph *g, const char *t, int *x,
                       int *lin, struct lm_err *err) {
  const char *rest;
  char label[LABEL_MAX];
  int L;
  *lin = -1;
  if (strchr(t, '@') == NULL) return resolve_ref(g, t, -1, NULL, x, lin, err);
  if (split_label(g, t, &L, &rest, label, err)) return 1;
  *lin = L;
  if (rest[0] == '+' || rest[0] == '-')
    return lm_err_set(err, "relative target '%s' needs the current heads; use"
                      " it with upgrade or downgrade", t);
  if (resolve_ref(g, rest, L, label, x, NULL, err)) return 1;
  if (*x >= 0 && !anc_or_self(g, 1, L, *x) && !anc_or_self(g, 1, *x, L))
    return lm_err_set(err, "revision %s is not on branch '%s'",
                      g->revs[*x]->id, label);
  return 0;
}

/* lm_graph_resolve for a target whose syntax was checked; *lin (when not
** NULL) as resolve_one's. */
int lm_gp_resolve_set(const struct lm_graph *g, const char *target,
                      struct lm_idset *out, int *lin, struct lm_err *err) {
  const char *at = strchr(target, '@');
  int x, L = -1;
  if (lin != NULL) *lin = -1;
  if (strcmp(target, "base") == 0) return 0;
  if (strcmp(target, "heads") == 0) {
    if (lm_graph_heads(g, out)) return lm_err_set(err, "out of memory");
    return 0;
  }
  if (at != NULL && strcmp(at + 1, "heads") == 0) {
    char label[LABEL_MAX];
    const char *rest;
    if (split_label(g, target, &L, &rest, label, err)) return 1;
    if (lin != NULL) *lin = L;
    if (lineage_heads(g, L, out)) return lm_err_set(err, "out of memory");
    return 0;
  }
  if (resolve_one(g, target, &x, &L, err)) return 1;
  if (lin != NULL) *lin = L;
  if (x >= 0 && lm_idset_push(out, x)) return lm_err_set(err, "out of memory");
  return 0;
}

int lm_graph_resolve(const struct lm_graph *g, const char *target,
                     struct lm_idset *out, struct lm_err *err) {
  int rc = lm_graph_check_target(target, 0, err);
  return rc ? rc : lm_gp_resolve_set(g, target, out, NULL, err);
}

int lm_graph_resolve_lineage(const struct lm_graph *g, const char *target,
                             struct lm_idset *out, int *lin,
                             struct lm_err *err) {
  int rc = lm_graph_check_target(target, 0, err);
  return rc ? rc : lm_gp_resolve_set(g, target, out, lin, err);
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
                    lm_gp_fmt_ids(g, use->v, use->n, buf, sizeof buf));
  } else {
    rc = lm_err_set(err, "relative %s %s is ambiguous with several current "
                    "heads (%s); use 'label@%s' or a revision", what, spec,
                    lm_gp_fmt_ids(g, use->v, use->n, buf, sizeof buf), spec);
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

/* The applied revisions on L's lineage that no applied revision on it
** builds on (Alembic's tips of active_on_branch), when none of the current
** heads is on L's branch: where `L@+N` starts. *h = -1 when none is
** applied; an error when several are. */
static int lineage_tip(const struct lm_graph *g, int L, const char *spec,
                       int *h, struct lm_err *err) {
  struct lm_idset tips;
  char buf[600];
  int i, j, rc = 0;
  lm_idset_init(&tips);
  if (lm_gp_lineage_marks(g, L)) return lm_err_set(err, "out of memory");
  for (i = 0; rc == 0 && i < g->n; i++) {
    int x = g->topo[i], tip;
    if (!lm_g_marked(g, 0, x) || !lm_gp_in_lineage(g, x)) continue;
    tip = 1;
    for (j = g->ch_off[x]; tip && j < g->ch_off[x + 1]; j++)
      if (lm_g_marked(g, 0, g->ch[j]) && lm_gp_in_lineage(g, g->ch[j])) tip = 0;
    if (tip && lm_idset_push(&tips, x)) rc = lm_err_set(err, "out of memory");
  }
  if (rc == 0 && tips.n > 1)
    rc = lm_err_set(err, "relative upgrade %s is ambiguous: several applied "
                    "revisions on its branch (%s); name a revision", spec,
                    lm_gp_fmt_ids(g, tips.v, tips.n, buf, sizeof buf));
  if (rc == 0) *h = tips.n ? tips.v[0] : -1;
  lm_idset_free(&tips);
  return rc;
}

static int plan_up(const struct lm_graph *g, const struct lm_idset *cur,
                   const char *t, struct lm_idset *steps,
                   struct lm_err *err) {
  struct lm_idset T;
  int x, n, rc = 0;
  const char *at = strchr(t, '@');
  lm_idset_init(&T);
  if (strcmp(t, "base") == 0) return 0;
  /* no revision files at all: head and heads are base, nothing to do */
  if (g->n == 0 && (strcmp(t, "head") == 0 || strcmp(t, "heads") == 0))
    return 0;
  if (t[0] == '+' || (at != NULL && at[1] == '+')) {
    char label[LABEL_MAX];
    const char *rest = t;
    int L = -1, bb = -1, h;
    if (at != NULL && split_label(g, t, &L, &rest, label, err)) return 1;
    if (lm_gp_parse_count(rest + 1, &n))
      return lm_err_set(err, "invalid relative step in '%s'", t);
    if (L >= 0) bb = branch_base(g, L);
    if (rel_start(g, cur, L >= 0 ? label : NULL, bb, t, LM_UP, &h, err))
      return 1;
    if (h < 0 && L >= 0 && lineage_tip(g, L, t, &h, err)) return 1;
    if (lm_gp_walk_up(g, h, L, n, t, &x, err)) return 1;
    if (lm_idset_push(&T, x)) return lm_err_set(err, "out of memory");
  } else if (lm_gp_resolve_set(g, t, &T, NULL, err)) {
    lm_idset_free(&T);
    return 1;
  }
  lm_g_begin(g, 1);
  if (lm_g_walk(g, 1, T.v, T.n, LM_E_PAR | LM_E_DEP, 0, -1, 0, NULL))
    rc = lm_err_set(err, "out of memory");
  lm_idset_free(&T);
  return rc ? rc : collect(g, 1, LM_UP, steps, err);
}

/* Steps of a downgrade: every applied revision that builds on a root
** (through children and dependents), newest first. */
static int drop_above(const struct lm_graph *g, const struct lm_idset *roots,
                      struct lm_idset *steps, struct lm_err *err) {
  lm_g_begin(g, 1);
  if (lm_g_walk(g, 1, roots->v, roots->n, LM_E_CH | LM_E_DD, -1, 0, 0, NULL))
    return lm_err_set(err, "out of memory");
  return collect(g, 1, LM_DOWN, steps, err);
}

/* A downgrade to an absolute target, as Alembic's
** _collect_downgrade_revisions: the roots to drop are the children of the
** target (through parents only: a revision that merely depends on the
** target stays), or every base for base; with `L@...`, only those roots
** that lead to L when there are several; then everything applied that
** builds on a root, through children and dependents. */
static int plan_down_to(const struct lm_graph *g, const struct lm_idset *cur,
                        const char *t, struct lm_idset *steps,
                        struct lm_err *err) {
  struct lm_idset roots;
  char buf[600];
  int X, L, i, k, rc = 0;
  if (strcmp(t, "heads") == 0) {
    struct lm_idset h;
    lm_idset_init(&h);
    if (lm_graph_heads(g, &h)) return lm_err_set(err, "out of memory");
    for (i = 0; rc == 0 && i < h.n; i++)
      if (!lm_g_marked(g, 0, h.v[i]))
        rc = lm_err_set(err, "cannot downgrade to heads: head %s is not "
                        "applied", g->revs[h.v[i]]->id);
    lm_idset_free(&h);
    return rc;
  }
  if (resolve_one(g, t, &X, &L, err)) return 1;
  if (X >= 0 && !lm_g_marked(g, 0, X))
    return lm_err_set(err, "cannot downgrade to %s: it is not applied "
                      "(current heads: %s)", g->revs[X]->id,
                      cur->n
                      ? lm_gp_fmt_ids(g, cur->v, cur->n, buf, sizeof buf)
                      : "none");
  lm_idset_init(&roots);
  if (X < 0) {
    if (lm_graph_bases(g, &roots)) rc = 1;
  } else {
    for (i = g->ch_off[X]; rc == 0 && i < g->ch_off[X + 1]; i++)
      rc = lm_idset_push(&roots, g->ch[i]);
  }
  if (rc) {
    lm_idset_free(&roots);
    return lm_err_set(err, "out of memory");
  }
  if (L >= 0 && roots.n > 1) {
    lm_g_begin(g, 2);
    if (lm_g_walk(g, 2, &L, 1, LM_E_PAR, -1, -1, 0, NULL)) {
      lm_idset_free(&roots);
      return lm_err_set(err, "out of memory");
    }
    for (i = 0, k = 0; i < roots.n; i++)
      if (lm_g_marked(g, 2, roots.v[i])) roots.v[k++] = roots.v[i];
    if (k == 0)
      rc = lm_err_set(err, "cannot downgrade to '%s': %s has several "
                      "children and none of them leads to %s; name the "
                      "branch to take down", t, g->revs[X]->id,
                      g->revs[L]->id);
    roots.n = k;
  }
  if (rc == 0) rc = drop_above(g, &roots, steps, err);
  lm_idset_free(&roots);
  return rc;
}

static int plan_down(const struct lm_graph *g, const struct lm_idset *cur,
                     const char *t, struct lm_idset *steps,
                     struct lm_err *err) {
  struct lm_idset one;
  char label[LABEL_MAX];
  const char *at = strchr(t, '@'), *rest = t;
  int x = -1, n, L = -1, bb = -1, h, rc;
  if (strcmp(t, "base") == 0) return collect(g, 0, LM_DOWN, steps, err);
  if (!(t[0] == '-' || (at != NULL && at[1] == '-')))
    return plan_down_to(g, cur, t, steps, err);
  /* -N, L@-N: take down the last N revisions below the one current head
  ** (on L's branch): the revision N-1 below it and what builds on it */
  if (at != NULL && split_label(g, t, &L, &rest, label, err)) return 1;
  if (L >= 0) bb = branch_base(g, L);
  if (lm_gp_parse_count(rest + 1, &n))
    return lm_err_set(err, "invalid relative step in '%s'", t);
  if (rel_start(g, cur, L >= 0 ? label : NULL, bb, t, LM_DOWN, &h, err))
    return 1;
  if (rel_down(g, h, n, t, &x, err)) return 1;
  lm_idset_init(&one);
  if (lm_idset_push(&one, x)) return lm_err_set(err, "out of memory");
  rc = drop_above(g, &one, steps, err);
  lm_idset_free(&one);
  return rc;
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

