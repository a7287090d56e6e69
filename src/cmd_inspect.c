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

/* Alembic's one-line form: "a1 -> b2 (head) (mergepoint), message". */
static void print_line(const struct lm_graph *g, int idx,
                       const unsigned char *current) {
  const struct lm_revision *r = lm_graph_rev(g, idx);
  const char *const *labels;
  int i, nl = 0;
  if (r->ndown == 0) fputs("<base>", stdout);
  else if (r->ndown == 1) fputs(r->down[0], stdout);
  else {
    putchar('(');
    for (i = 0; i < r->ndown; i++) printf("%s%s", i ? ", " : "", r->down[i]);
    putchar(')');
  }
  printf(" -> %s", r->id);
  labels = lm_graph_branch_labels(g, idx, &nl);
  if (nl) {
    fputs(" (", stdout);
    for (i = 0; i < nl; i++) printf("%s%s", i ? ", " : "", labels[i]);
    putchar(')');
  }
  if (nchildren(g, idx) == 0) fputs(" (head)", stdout);
  if (nchildren(g, idx) > 1) fputs(" (branchpoint)", stdout);
  if (r->ndown > 1) fputs(" (mergepoint)", stdout);
  if (current && current[idx]) fputs(" (current)", stdout);
  printf(", %s\n", r->message ? r->message : "");
}

/* The multi-line form used by -v and show. */
static void print_block(const struct lm_graph *g, int idx,
                        const unsigned char *current) {
  const struct lm_revision *r = lm_graph_rev(g, idx);
  const int *kids;
  int i, n = 0;
  printf("Rev: %s%s%s%s\n", r->id, nchildren(g, idx) == 0 ? " (head)" : "",
         r->ndown > 1 ? " (mergepoint)" : "",
         current && current[idx] ? " (current)" : "");
  printf("Parent:");
  if (r->ndown == 0) printf(" <base>");
  for (i = 0; i < r->ndown; i++) printf("%s %s", i ? "," : "", r->down[i]);
  putchar('\n');
  kids = lm_graph_children(g, idx, &n);
  if (n > 1) {
    printf("Branches into:");
    for (i = 0; i < n; i++)
      printf("%s %s", i ? "," : "", lm_graph_rev(g, kids[i])->id);
    putchar('\n');
  }
  if (r->nlabels) {
    printf("Branch names:");
    for (i = 0; i < r->nlabels; i++) printf(" %s", r->labels[i]);
    putchar('\n');
  }
  if (r->ndepends) {
    printf("Depends on:");
    for (i = 0; i < r->ndepends; i++) printf(" %s", r->depends[i]);
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
  struct lm_idset heads;
  int rc = parse(argc, argv, "vJ", &o), i;
  if (rc) return rc;
  if (o.npos) return lm_usage_error("current takes no arguments");
  if ((rc = lm_host_connect(h, 0))) return rc;
  lm_idset_init(&heads);
  rc = lm_runner_read_heads(h, &heads, 0, NULL);
  if (rc == 0) {
    if (o.json) {
      rc = lm_json_print_current(h, &heads);
    } else {
      for (i = 0; i < heads.n; i++) {
        const struct lm_revision *r = lm_graph_rev(h->graph, heads.v[i]);
        if (o.verbose) print_block(h->graph, heads.v[i], NULL);
        else
          printf("%s%s\n", r->id,
                 nchildren(h->graph, heads.v[i]) == 0 ? " (head)" : "");
      }
      if (heads.n == 0) lm_debug(h, "no revision applied (base)");
      rc = lm_runner_check_failure(h, 0);
    }
  }
  lm_idset_free(&heads);
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
  int rc = parse(argc, argv, "vJ", &o);
  if (rc) return rc;
  if (o.npos) return lm_usage_error("heads takes no arguments");
  lm_idset_init(&out);
  if (lm_graph_heads(h->graph, &out)) rc = lm_error("out of memory");
  else print_list(h->graph, &out, &o, NULL);
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
    if (o.verbose) print_block(h->graph, out.v[i], NULL);
    else print_line(h->graph, out.v[i], NULL);
    for (j = 0; j < n; j++) {
      const struct lm_revision *k = lm_graph_rev(h->graph, kids[j]);
      printf("    -> %s%s, %s\n", k->id,
             nchildren(h->graph, kids[j]) == 0 ? " (head)" : "",
             k->message ? k->message : "");
    }
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
  if ((rc = lm_graph_resolve(h->graph, o.pos[0], &out, &err)))
    rc = rc == LM_GRAPH_USAGE ? lm_usage_error("%s", err.msg)
                              : lm_error("%s", err.msg);
  else if (o.json)
    print_list(h->graph, &out, &o, NULL);
  else if (out.n == 0)
    printf("<base>\n");
  else
    for (i = 0; i < out.n; i++) print_block(h->graph, out.v[i], NULL);
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
    return lm_error("%d applied revision(s) do not match their files; "
                    "restore the files, or re-stamp deliberately", problems);
  lm_info(h, "OK: every applied revision matches its file");
  return 0;
}
