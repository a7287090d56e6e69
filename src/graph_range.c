/*
** graph_range.c: `history -r START:END` ranges over the revision graph
** (lm_graph_range): either end any target, START also -N (below the
** heads) and END +N (above START), `current` on either side (current:END
** lists what is pending); a START of L@... keeps to L's lineage. Target resolution is graph_plan.c's.
** Mark arrays: 0 holds the ancestors of the end, 2 the descendants of the
** start, 1 the applied set for a current start; ends are resolved first,
** since resolving uses arrays 1 and 2.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_int.h"

#define LABEL_MAX 256

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

/* 1 when s is "<c>N" (c '+' or '-'): a relative range end. */
static int is_rel(const char *s, char c) {
  int n;
  return s[0] == c && lm_gp_parse_count(s + 1, &n) == 0;
}

/* START -N of a range: N below each head of the graph (Alembic's
** get_revisions("-N")), into LO; *base = 1 when a walk lands on base. */
static int range_rel_lo(const struct lm_graph *g, const char *lo,
                        struct lm_idset *LO, int *base, struct lm_err *err) {
  struct lm_idset h;
  int i, n = 0, x, rc = 0;
  lm_idset_init(&h);
  lm_gp_parse_count(lo + 1, &n);
  if (lm_graph_heads(g, &h)) return lm_err_set(err, "out of memory");
  for (i = 0; rc == 0 && i < h.n; i++) {
    rc = lm_gp_walk_down(g, h.v[i], n, lo, &x, err);
    if (rc == 0 && x < 0) *base = 1;
    else if (rc == 0 && !lm_idset_has(LO, x) && lm_idset_push(LO, x))
      rc = lm_err_set(err, "out of memory");
  }
  lm_idset_free(&h);
  return rc;
}

/* END +N of a range: N above its one start (base when lo is NULL). */
static int range_rel_hi(const struct lm_graph *g, const struct lm_idset *lo,
                        const char *hi, struct lm_idset *HI,
                        struct lm_err *err) {
  int n = 0, x;
  lm_gp_parse_count(hi + 1, &n);
  if (lo != NULL && lo->n > 1) {
    lm_err_set(err, "END %s counts from START, which names several "
               "revisions; name one", hi);
    return LM_GRAPH_USAGE;
  }
  if (lm_gp_walk_up(g, lo != NULL && lo->n ? lo->v[0] : -1, -1, n, hi, &x,
                    err))
    return 1;
  if (lm_idset_push(HI, x)) return lm_err_set(err, "out of memory");
  return 0;
}

int lm_graph_range(const struct lm_graph *g, const struct lm_idset *cur,
                   const char *range, struct lm_idset *out,
                   struct lm_err *err) {
  char lo[LABEL_MAX];
  const char *colon = strchr(range, ':'), *hi;
  struct lm_idset LO, HI;
  const struct lm_idset *ulo = &LO, *uhi = &HI;
  size_t len;
  int alllo, allhi, curlo, curhi, rello, relhi, i, rc, lin = -1;
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
  rello = is_rel(lo, '-');
  relhi = is_rel(hi, '+');
  if (is_rel(lo, '+') || is_rel(hi, '-')) {
    lm_err_set(err, "a relative START is -N (N below the heads) and a "
               "relative END is +N (N above START)");
    return LM_GRAPH_USAGE;
  }
  alllo = lo[0] == '\0' || strcmp(lo, "base") == 0 || (curlo && cur->n == 0);
  allhi = hi[0] == '\0' || strcmp(hi, "heads") == 0;
  /* syntax first: a malformed end is wrong whatever the graph holds */
  if ((!alllo && !curlo && !rello &&
       (rc = lm_graph_check_target(lo, 0, err))) ||
      (!allhi && !curhi && !relhi &&
       (rc = lm_graph_check_target(hi, 0, err))))
    return rc;
  lm_idset_init(&LO);
  lm_idset_init(&HI);
  if (curlo) ulo = cur;
  if (curhi) uhi = cur;
  /* resolve both ends before marking: resolving uses arrays 1 and 2 */
  if (rello) rc = range_rel_lo(g, lo, &LO, &alllo, err);
  else rc = !alllo && !curlo && lm_gp_resolve_set(g, lo, &LO, &lin, err);
  if (rc) goto done;
  if (!curlo && LO.n == 0) alllo = 1;          /* LABEL@base, REV-N: base */
  if (relhi) rc = range_rel_hi(g, alllo ? NULL : ulo, hi, &HI, err);
  else rc = !allhi && !curhi && lm_gp_resolve_set(g, hi, &HI, NULL, err);
  if (rc) goto done;
  /* a START of L@... with an open end lists up to the heads on L's
  ** lineage only (Alembic's named base); a named end off the lineage is
  ** check_order's error */
  if (lin >= 0 && allhi) {
    int k = 0;
    if (lm_graph_heads(g, &HI)) {
      rc = lm_err_set(err, "out of memory");
      goto done;
    }
    allhi = 0;
    if (lm_gp_lineage_marks(g, lin)) {
      rc = lm_err_set(err, "out of memory");
      goto done;
    }
    for (i = 0; i < HI.n; i++)
      if (lm_gp_in_lineage(g, HI.v[i])) HI.v[k++] = HI.v[i];
    HI.n = k;
  }
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
  /* current:END lists what is pending: not what is applied already */
  lm_g_begin(g, 1);
  if (curlo && lm_g_walk(g, 1, cur->v, cur->n, LM_E_PAR | LM_E_DEP, -1, -1,
                         0, NULL)) {
    rc = lm_err_set(err, "out of memory");
    goto done;
  }
  for (i = g->n - 1; i >= 0; i--) {
    int x = g->topo[i];
    if ((allhi || lm_g_marked(g, 0, x)) && (alllo || lm_g_marked(g, 2, x)) &&
        !lm_g_marked(g, 1, x) && lm_idset_push(out, x)) {
      rc = lm_err_set(err, "out of memory");
      goto done;
    }
  }
done:
  lm_idset_free(&LO);
  lm_idset_free(&HI);
  return rc;
}
