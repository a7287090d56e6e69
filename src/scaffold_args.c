/*
** scaffold_args.c: the revision arguments of `revision` and `merge`
** checked against the loaded graph: a REV argument resolved to exactly
** one revision, --branch-label values split and checked for reuse, and
** the malloc'd string lists (parents, labels, dependencies) a struct
** lm_newrev is built from. Reads the graph only; errors are printed here
** and returned as the exit status.
*/
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "graph.h"
#include "log.h"
#include "revision.h"
#include "scaffold_int.h"
#include "sqlbuf.h"

/* Resolve a user's revision argument to one index: an id or unambiguous
** prefix, else any target lm_graph_resolve understands that names exactly
** one revision (label@head). Prints the error; returns 0 or 1. */
int lm_scaffold_resolve_one(const struct lm_graph *g, const char *arg,
                            int *idx)
{
  struct lm_err err, err2;
  struct lm_idset s;
  int ok;
  lm_err_clear(&err);
  if (lm_graph_find(g, arg, idx, &err) == 0)
    return 0;
  lm_idset_init(&s);
  lm_err_clear(&err2);
  ok = strchr(arg, '@') && lm_graph_resolve(g, arg, &s, &err2) == 0
       && s.n == 1;
  if (ok)
    *idx = s.v[0];
  lm_idset_free(&s);
  if (ok)
    return 0;
  lm_error("%s", err.msg[0] ? err.msg : "unknown revision");
  return 1;
}

/* The ids of set as a ", "-separated list in sb. */
void lm_scaffold_list_ids(const struct lm_graph *g,
                          const struct lm_idset *set, struct lm_sqlbuf *sb)
{
  int i;
  for (i = 0; i < set->n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, set->v[i]);
    if (i)
      lm_sb_add(sb, ", ");
    lm_sb_add(sb, r->id);
    if (r->nlabels > 0)
      lm_sb_printf(sb, " (%s)", r->labels[0]);
  }
}

/* Split a --branch-label value on commas and append each label to *v.
** Labels must be non-empty ids (no '@' or spaces) and unused in g.
** Returns the exit status. */
int lm_scaffold_add_labels(const struct lm_graph *g, const char *arg,
                           char ***v, int *n)
{
  const char *p = arg;
  while (1) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *lab, **nv, why[256];
    int i, j;
    if ((lab = strndup(p, len)) == NULL)
      return lm_error("out of memory");
    if (lm_revision_name_problem("branch label", lab, why, sizeof why)) {
      int rc = lm_usage_error("invalid --branch-label: %s", why);
      free(lab);
      return rc;
    }
    for (i = 0; g && i < lm_graph_count(g); i++) {
      const struct lm_revision *r = lm_graph_rev(g, i);
      for (j = 0; j < r->nlabels; j++)
        if (strcmp(r->labels[j], lab) == 0) {
          int rc = lm_error("branch label '%s' is already used by revision "
                            "%s (%s)", lab, r->id, r->path ? r->path : "?");
          free(lab);
          return rc;
        }
    }
    if ((nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv)) == NULL) {
      free(lab);
      return lm_error("out of memory");
    }
    *v = nv;
    nv[(*n)++] = lab;
    if (e == NULL)
      break;
    p = e + 1;
  }
  return 0;
}

/* Free v[0..n) and v; NULL-safe. */
void lm_scaffold_free_strv(char **v, int n)
{
  int i;
  for (i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Append a strdup of s to *v. Returns 0 or 1 (OOM, message printed). */
int lm_scaffold_push_str(char ***v, int *n, const char *s)
{
  char **nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);
  if (nv == NULL)
    return lm_error("out of memory");
  *v = nv;
  if ((nv[*n] = strdup(s)) == NULL)
    return lm_error("out of memory");
  (*n)++;
  return 0;
}
