/*
** cmd_inspect.c: the read-only commands: current, history, heads,
** branches, show, validate. None of them creates anything in the
** database; --json gives machine output where it makes sense.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "host.h"
#include "inspect_json.h"
#include "log.h"
#include "runner.h"

struct iopts {
  int verbose;
  int json;
  int indicate;
  const char *range;
  int npos;
  char **pos;
};

/* Common option parsing; `allowed` lists the short options accepted. */
static int parse(int argc, char **argv, const char *allowed,
                 struct iopts *o) {
  static const struct option opts[] = {
    {"verbose", no_argument, NULL, 'v'},
    {"json", no_argument, NULL, 'J'},
    {"indicate-current", no_argument, NULL, 'i'},
    {"rev-range", required_argument, NULL, 'r'},
    {NULL, 0, NULL, 0}
  };
  int c;
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+vir:", opts, NULL)) != -1) {
    if (c == '?' || strchr(allowed, c) == NULL)
      return lm_usage_error("%s: unknown option '%s'; see lmigrate %s -h",
                            argv[0], argv[optind - 1], argv[0]);
    if (c == 'v') o->verbose = 1;
    else if (c == 'J') o->json = 1;
    else if (c == 'i') o->indicate = 1;
    else if (c == 'r') o->range = optarg;
  }
  o->npos = argc - optind;
  o->pos = argv + optind;
  return 0;
}

static int nchildren(const struct lm_graph *g, int idx) {
  int n = 0;
  lm_graph_children(g, idx, &n);
  return n;
}

/* Alembic's _format_down_revision: "<base>", "a1" or "a1, b2". */
static void print_down(const struct lm_revision *r) {
  int i;
  if (r->ndown == 0) fputs("<base>", stdout);
  for (i = 0; i < r->ndown; i++) printf("%s%s", i ? ", " : "", r->down[i]);
}

/* " (l1, l2)": the branch labels that apply to idx (Alembic's
** branch_labels, inherited along the chain), or nothing. */
static void print_labels(const struct lm_graph *g, int idx) {
  const char *const *labels;
  int i, nl = 0;
  labels = lm_graph_branch_labels(g, idx, &nl);
  if (nl == 0) return;
  fputs(" (", stdout);
  for (i = 0; i < nl; i++) printf("%s%s", i ? ", " : "", labels[i]);
  putchar(')');
}

/* Alembic's _head_only: "id (labels) (head) (current)" and, with tree,
** " (branchpoint) (mergepoint)"; the revision id always comes first, so a
** script can take the first field. */
static void print_head_only(const struct lm_graph *g, int idx,
                            const unsigned char *current, int tree) {
  const struct lm_revision *r = lm_graph_rev(g, idx);
  fputs(r->id, stdout);
  print_labels(g, idx);
  if (nchildren(g, idx) == 0) fputs(" (head)", stdout);
  if (current && current[idx]) fputs(" (current)", stdout);
  if (tree && nchildren(g, idx) > 1) fputs(" (branchpoint)", stdout);
  if (tree && r->ndown > 1) fputs(" (mergepoint)", stdout);
}

/* Alembic's history line: "a1 -> b2 (label) (head), message", a merge as
** "x, y -> m", dependencies in parentheses: "a1 (lib1) -> b2". */
static void print_line(const struct lm_graph *g, int idx,
                       const unsigned char *current) {
  const struct lm_revision *r = lm_graph_rev(g, idx);
  int i;
  print_down(r);
  if (r->ndepends) {
    fputs(" (", stdout);
    for (i = 0; i < r->ndepends; i++)
      printf("%s%s", i ? ", " : "", r->depends[i]);
    putchar(')');
  }
  fputs(" -> ", stdout);
  print_head_only(g, idx, current, 1);
  printf(", %s\n", r->message ? r->message : "");
}

/* The multi-line form used by -v and show (Alembic's log_entry). */
static void print_block(const struct lm_graph *g, int idx,
                        const unsigned char *current) {
  const struct lm_revision *r = lm_graph_rev(g, idx);
  const char *const *labels;
  const int *kids;
  int i, n = 0, nl = 0;
  kids = lm_graph_children(g, idx, &n);
  printf("Rev: %s%s%s%s%s\n", r->id, n == 0 ? " (head)" : "",
         n > 1 ? " (branchpoint)" : "", r->ndown > 1 ? " (mergepoint)" : "",
         current && current[idx] ? " (current)" : "");
  fputs(r->ndown > 1 ? "Merges: " : "Parent: ", stdout);
  print_down(r);
  putchar('\n');
  if (r->ndepends) {
    printf("Also depends on:");
    for (i = 0; i < r->ndepends; i++)
      printf("%s %s", i ? "," : "", r->depends[i]);
    putchar('\n');
  }
  if (n > 1) {
    printf("Branches into:");
    for (i = 0; i < n; i++)
      printf("%s %s", i ? "," : "", lm_graph_rev(g, kids[i])->id);
    putchar('\n');
  }
  labels = lm_graph_branch_labels(g, idx, &nl);
  if (nl) {
    printf("Branch names:");
    for (i = 0; i < nl; i++) printf("%s %s", i ? "," : "", labels[i]);
    putchar('\n');
  }
  printf("Path: %s\n", r->path);
  if (!r->transactional) printf("Transactional: no\n");
  printf("\n    %s\n\n", r->message ? r->message : "");
  if (r->create_date) printf("    Create Date: %s\n\n", r->create_date);
}

static void print_list(const struct lm_graph *g, const struct lm_idset *s,
                       const struct iopts *o, const unsigned char *current) {
  int i;
  if (o->json) {
    lm_json_print_revs(g, s, current);
    return;
  }
  for (i = 0; i < s->n; i++) {
    if (o->verbose) print_block(g, s->v[i], current);
    else print_line(g, s->v[i], current);
  }
}

int cmd_current(int argc, char **argv, struct lm_host *h) {
  struct iopts o;
  struct lm_idset heads, tips;
  int rc = parse(argc, argv, "vJ", &o), i;
  if (rc) return rc;
  if (o.npos) return lm_usage_error("current takes no arguments");
  if ((rc = lm_host_connect(h, 0))) return rc;
  lm_idset_init(&heads);
  lm_idset_init(&tips);
  rc = lm_runner_read_heads(h, &heads, 0, NULL);
  /* Alembic's get_all_current: what the heads imply, one line per applied
  ** revision with no applied child (a dependency-only branch included) */
  if (rc == 0 && lm_graph_current(h->graph, &heads, &tips))
    rc = lm_error("out of memory");
  if (rc == 0) {
    struct lm_idset t = heads;
    heads = tips;
    tips = t;
    if (o.json) {
      rc = lm_json_print_current(h, &heads);
    } else {
      for (i = 0; i < heads.n; i++) {
        const struct lm_revision *r = lm_graph_rev(h->graph, heads.v[i]);
        if (o.verbose) print_block(h->graph, heads.v[i], NULL);
        else
          printf("%s%s%s%s\n", r->id,
                 nchildren(h->graph, heads.v[i]) == 0 ? " (head)" : "",
                 nchildren(h->graph, heads.v[i]) > 1 ? " (branchpoint)" : "",
                 r->ndown > 1 ? " (mergepoint)" : "");
      }
      if (heads.n == 0) lm_debug(h, "no revision applied (base)");
      rc = lm_runner_check_failure(h, 0);
    }
  }
  lm_idset_free(&heads);
  lm_idset_free(&tips);
  return rc;
}

int cmd_history(int argc, char **argv, struct lm_host *h) {
  struct iopts o;
  struct lm_idset cur, out;
  struct lm_err err;
  unsigned char *current = NULL;
  int rc = parse(argc, argv, "vJir", &o), i;
  if (rc) return rc;
  if (o.npos) return lm_usage_error("history: unexpected argument '%s'",
                                    o.pos[0]);
  lm_idset_init(&cur);
  lm_idset_init(&out);
  lm_err_clear(&err);
  if (o.indicate || (o.range && strstr(o.range, "current"))) {
    if ((rc = lm_host_connect(h, 0)) ||
        (rc = lm_runner_read_heads(h, &cur, 0, NULL)))
      goto done;
    current = calloc((size_t)lm_graph_count(h->graph) + 1, 1);
    if (current == NULL) {
      rc = lm_error("out of memory");
      goto done;
    }
    for (i = 0; i < cur.n; i++) current[cur.v[i]] = 1;   /* heads, as Alembic */
  }
  if ((rc = lm_graph_range(h->graph, &cur, o.range ? o.range : ":", &out,
                           &err))) {
    rc = rc == LM_GRAPH_USAGE
         ? lm_usage_error("history -r %s: %s", o.range, err.msg)
         : lm_error("history -r %s: %s", o.range, err.msg);
    goto done;
  }
  print_list(h->graph, &out, &o, o.indicate ? current : NULL);
done:
  free(current);
  lm_idset_free(&cur);
  lm_idset_free(&out);
  return rc;
}

int cmd_heads(int argc, char **argv, struct lm_host *h) {
  struct iopts o;
  struct lm_idset out;
  int rc = parse(argc, argv, "vJ", &o), i;
  if (rc) return rc;
  if (o.npos) return lm_usage_error("heads takes no arguments");
  lm_idset_init(&out);
  if (lm_graph_heads(h->graph, &out)) rc = lm_error("out of memory");
  else if (o.json || o.verbose) print_list(h->graph, &out, &o, NULL);
  else
    for (i = 0; i < out.n; i++) {
      print_head_only(h->graph, out.v[i], NULL, 0);
      putchar('\n');
    }
  lm_idset_free(&out);
  return rc;
}

int cmd_branches(int argc, char **argv, struct lm_host *h) {
  struct iopts o;
  struct lm_idset out;
  int rc = parse(argc, argv, "vJ", &o), i, j;
  if (rc) return rc;
  if (o.npos) return lm_usage_error("branches takes no arguments");
  lm_idset_init(&out);
  if (lm_graph_branchpoints(h->graph, &out)) rc = lm_error("out of memory");
  else if (o.json) {
    lm_json_print_branches(h->graph, &out);
    out.n = 0;
  }
  for (i = 0; rc == 0 && i < out.n; i++) {
    int n = 0;
    const int *kids = lm_graph_children(h->graph, out.v[i], &n);
    const char *id = lm_graph_rev(h->graph, out.v[i])->id;
    if (o.verbose) print_block(h->graph, out.v[i], NULL);
    else {
      print_head_only(h->graph, out.v[i], NULL, 1);
      putchar('\n');
    }
    for (j = 0; j < n; j++) {
      const struct lm_revision *k = lm_graph_rev(h->graph, kids[j]);
      printf("%*s -> ", (int)strlen(id), "");
      print_head_only(h->graph, kids[j], NULL, 1);
      if (o.verbose) printf(", %s", k->message ? k->message : "");
      putchar('\n');
    }
    putchar('\n');
  }
  lm_idset_free(&out);
  return rc;
}

int cmd_show(int argc, char **argv, struct lm_host *h) {
  struct iopts o;
  struct lm_idset out;
  struct lm_err err;
  int rc = parse(argc, argv, "J", &o), i;
  if (rc) return rc;
  if (o.npos != 1) return lm_usage_error("usage: lmigrate show REV");
  lm_idset_init(&out);
  lm_err_clear(&err);
  if (strcmp(o.pos[0], "current") == 0) {
    /* the revisions the version table names (Alembic's `show current`) */
    if ((rc = lm_host_connect(h, 0)) ||
        (rc = lm_runner_read_heads(h, &out, 0, NULL)))
      goto done;
    if (lm_graph_normalize_heads(h->graph, &out) < 0) {
      rc = lm_error("out of memory");
      goto done;
    }
  } else if ((rc = lm_graph_resolve(h->graph, o.pos[0], &out, &err))) {
    rc = rc == LM_GRAPH_USAGE ? lm_usage_error("%s", err.msg)
                              : lm_error("%s", err.msg);
    goto done;
  }
  if (o.json)
    print_list(h->graph, &out, &o, NULL);
  else if (out.n == 0)
    printf("<base>\n");
  else
    for (i = 0; i < out.n; i++) print_block(h->graph, out.v[i], NULL);
done:
  lm_idset_free(&out);
  return rc;
}

int cmd_validate(int argc, char **argv, struct lm_host *h) {
  struct iopts o;
  int rc = parse(argc, argv, "J", &o), problems;
  if (rc) return rc;
  if (o.npos) return lm_usage_error("validate takes no arguments");
  if ((rc = lm_host_connect(h, 0))) return rc;
  if (o.json) return lm_json_print_validate(h);
  problems = lm_runner_validate(h, 0);
  if (problems < 0) return 1;
  if (problems > 0)
    return lm_error("validate found %d problem(s), above: restore changed "
                    "files or re-stamp deliberately; resolve a FAILED "
                    "revision as it says", problems);
  lm_info(h, "OK: every applied revision matches its file");
  return 0;
}
