/*
** cmd_graph.c: `lmigrate graph [--format dot|mermaid] [--no-db] [RANGE]`:
** the revision graph as Graphviz DOT or a Mermaid flowchart. Parent ->
** child edges, depends_on edges dashed, branch labels in the node label,
** merge points with a double border (DOT) or as hexagons (Mermaid), heads
** in bold, and the database's current revisions filled green when the
** configured database can be reached (silently skipped when it cannot;
** -v says why). Reads only.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cmd.h"
#include "host.h"
#include "log.h"
#include "runner.h"
#include "url.h"

const char lm_graph_usage[] =
  "usage: lmigrate graph [--format dot|mermaid] [--no-db] [RANGE]\n"
  "\n"
  "Print the revision graph: one node per revision (id, message, branch\n"
  "labels), an edge from each parent, depends_on edges dashed, merge\n"
  "points with a double border, heads in bold. When the database can be\n"
  "reached, its current revisions are filled green (--no-db: do not try).\n"
  "RANGE limits the revisions as `history -r` does (A:B, :B, A:).\n"
  "\n"
  "  --format dot       Graphviz DOT (default)\n"
  "  --format mermaid   a Mermaid flowchart (GitHub renders it in\n"
  "                     ```mermaid blocks)\n"
  "  --no-db            do not connect; nothing is marked current\n"
  "\n"
  "examples:\n"
  "  lmigrate graph | dot -Tsvg > revisions.svg\n"
  "  lmigrate graph --format mermaid > revisions.mmd\n"
  "  lmigrate graph --no-db 1f0c2a:heads | dot -Tpng > recent.png\n";

enum fmt { FMT_DOT, FMT_MERMAID };

struct gopts {
  enum fmt fmt;
  int no_db;
  const char *range;
};

static int parse(int argc, char **argv, struct gopts *o) {
  static const struct option opts[] = {
    {"format", required_argument, NULL, 'f'},
    {"no-db", no_argument, NULL, 'N'},
    {NULL, 0, NULL, 0}
  };
  int c;
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":f:", opts, NULL)) != -1) {
    if (c == 'f') {
      if (strcmp(optarg, "dot") == 0) o->fmt = FMT_DOT;
      else if (strcmp(optarg, "mermaid") == 0) o->fmt = FMT_MERMAID;
      else
        return lm_usage_error("graph --format: expected dot or mermaid, "
                              "got '%s'", optarg);
    } else if (c == 'N') {
      o->no_db = 1;
    } else if (c == ':') {
      return lm_usage_error("graph: option '%s' needs a value",
                            argv[optind - 1]);
    } else {
      return lm_usage_error("graph: unknown option '%s'; see lmigrate graph "
                            "-h", argv[optind - 1]);
    }
  }
  if (argc - optind > 1)
    return lm_usage_error("graph: one RANGE expected, got '%s' and '%s'",
                          argv[optind], argv[optind + 1]);
  if (optind < argc) o->range = argv[optind];
  return 0;
}

/* Connect without printing errors: the picture does not need the
** database. 0 when connected. */
static int try_connect(struct lm_host *h) {
  struct lm_connect_opts opts;
  const struct lm_backend *be;
  struct lm_err err;
  lm_err_clear(&err);
  if (h->cfg.url == NULL) {
    lm_debug(h, "graph: no database URL; current revisions not marked");
    return 1;
  }
  if (h->url.raw == NULL && lm_url_parse(h->cfg.url, &h->url, &err)) {
    lm_debug(h, "graph: %s; current revisions not marked", err.msg);
    return 1;
  }
  if ((be = lm_backend_for_url(&h->url, 0, &err)) == NULL) {
    lm_debug(h, "graph: %s; current revisions not marked", err.msg);
    return 1;
  }
  memset(&opts, 0, sizeof opts);
  opts.lock_timeout_ms = h->cfg.lock_timeout_ms;
  opts.out = stdout;
  opts.must_exist = 1;
  if (be->connect(&h->url, &opts, &h->conn, &err)) {
    h->conn = NULL;
    lm_debug(h, "graph: %s; current revisions not marked", err.msg);
    return 1;
  }
  return 0;
}

/* s as a DOT or Mermaid quoted string body: DOT escapes " and \, and
** writes newlines as \n; Mermaid has no escapes inside "...", so " becomes
** #quot; and newlines <br/>. */
static void put_text(FILE *f, enum fmt fmt, const char *s) {
  for (; s && *s; s++) {
    if (fmt == FMT_DOT && (*s == '"' || *s == '\\')) fprintf(f, "\\%c", *s);
    else if (fmt == FMT_DOT && *s == '\n') fputs("\\n", f);
    else if (fmt == FMT_MERMAID && *s == '"') fputs("#quot;", f);
    else if (fmt == FMT_MERMAID && *s == '\n') fputs("<br/>", f);
    else if (fmt == FMT_MERMAID && (*s == '<' || *s == '>'))
      fputs(*s == '<' ? "#lt;" : "#gt;", f);
    else if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
  }
}

static int nchildren(const struct lm_graph *g, int idx) {
  int n = 0;
  lm_graph_children(g, idx, &n);
  return n;
}

/* The node's label: id, message, (labels). */
static void put_label(FILE *f, enum fmt fmt, const struct lm_graph *g,
                      int idx) {
  const struct lm_revision *r = lm_graph_rev(g, idx);
  const char *const *labels;
  const char *nl = fmt == FMT_DOT ? "\\n" : "<br/>";
  int i, n = 0;
  put_text(f, fmt, r->id);
  if (r->message && r->message[0]) {
    fputs(nl, f);
    put_text(f, fmt, r->message);
  }
  labels = lm_graph_branch_labels(g, idx, &n);
  if (n) {
    fputs(nl, f);
    fputc('(', f);
    for (i = 0; i < n; i++) {
      if (i) fputs(", ", f);
      put_text(f, fmt, labels[i]);
    }
    fputc(')', f);
  }
}

static void dot(const struct lm_graph *g, const unsigned char *in,
                const unsigned char *cur) {
  int i, k, n = lm_graph_count(g);
  printf("digraph lmigrate {\n"
         "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
  for (i = 0; i < n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, i);
    if (!in[i]) continue;
    printf("  \"");
    put_text(stdout, FMT_DOT, r->id);
    printf("\" [label=\"");
    put_label(stdout, FMT_DOT, g, i);
    printf("\"");
    if (r->ndown > 1) printf(", peripheries=2");
    if (cur && cur[i])
      printf(", style=\"rounded,filled%s\", fillcolor=\"#b7e4b0\"",
             nchildren(g, i) == 0 ? ",bold" : "");
    else if (nchildren(g, i) == 0)
      printf(", style=\"rounded,bold\"");
    printf("];\n");
  }
  for (i = 0; i < n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, i);
    int np = 0, nd = 0;
    const int *par = lm_graph_parents(g, i, &np);
    const int *dep = lm_graph_deps(g, i, &nd);
    if (!in[i]) continue;
    for (k = 0; k < np; k++) {
      if (!in[par[k]]) continue;
      printf("  \"%s\" -> \"%s\";\n", lm_graph_rev(g, par[k])->id, r->id);
    }
    for (k = 0; k < nd; k++) {
      if (!in[dep[k]]) continue;
      printf("  \"%s\" -> \"%s\" [style=dashed, label=\"depends_on\", "
             "fontsize=10];\n", lm_graph_rev(g, dep[k])->id, r->id);
    }
  }
  printf("}\n");
}

static void mermaid(const struct lm_graph *g, const unsigned char *in,
                    const unsigned char *cur) {
  int i, k, n = lm_graph_count(g);
  printf("flowchart TD\n");
  for (i = 0; i < n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, i);
    if (!in[i]) continue;
    printf("  r_%s%s\"", r->id, r->ndown > 1 ? "{{" : "(");
    put_label(stdout, FMT_MERMAID, g, i);
    printf("\"%s\n", r->ndown > 1 ? "}}" : ")");
  }
  for (i = 0; i < n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, i);
    int np = 0, nd = 0;
    const int *par = lm_graph_parents(g, i, &np);
    const int *dep = lm_graph_deps(g, i, &nd);
    if (!in[i]) continue;
    for (k = 0; k < np; k++)
      if (in[par[k]])
        printf("  r_%s --> r_%s\n", lm_graph_rev(g, par[k])->id, r->id);
    for (k = 0; k < nd; k++)
      if (in[dep[k]])
        printf("  r_%s -.->|depends_on| r_%s\n", lm_graph_rev(g, dep[k])->id,
               r->id);
  }
  printf("  classDef head stroke-width:3px\n"
         "  classDef current fill:#b7e4b0\n");
  for (i = 0; i < n; i++)
    if (in[i] && nchildren(g, i) == 0)
      printf("  class r_%s head\n", lm_graph_rev(g, i)->id);
  for (i = 0; cur && i < n; i++)
    if (in[i] && cur[i])
      printf("  class r_%s current\n", lm_graph_rev(g, i)->id);
}

int cmd_graph(int argc, char **argv, struct lm_host *h) {
  struct gopts o;
  struct lm_idset heads, out;
  struct lm_err err;
  unsigned char *in = NULL, *cur = NULL;
  int i, n, rc = parse(argc, argv, &o), have_db = 0;
  if (rc) return rc;
  n = lm_graph_count(h->graph);
  lm_idset_init(&heads);
  lm_idset_init(&out);
  lm_err_clear(&err);
  h->db_must_exist = 1;
  if (!o.no_db && try_connect(h) == 0) {
    if ((rc = lm_runner_read_heads(h, &heads, 1, NULL))) goto done;
    have_db = 1;
  } else if (o.range && strstr(o.range, "current")) {
    rc = lm_error("graph %s: 'current' needs the database, which could not "
                  "be reached (run with -v to see why)", o.range);
    goto done;
  }
  in = calloc((size_t)n + 1, 1);
  cur = calloc((size_t)n + 1, 1);
  if (in == NULL || cur == NULL) {
    rc = lm_error("out of memory");
    goto done;
  }
  if ((rc = lm_graph_range(h->graph, &heads, o.range ? o.range : ":", &out,
                           &err))) {
    rc = rc == LM_GRAPH_USAGE
         ? lm_usage_error("graph %s: %s", o.range, err.msg)
         : lm_error("graph %s: %s", o.range, err.msg);
    goto done;
  }
  for (i = 0; i < out.n; i++) in[out.v[i]] = 1;
  for (i = 0; i < heads.n; i++) cur[heads.v[i]] = 1;
  if (o.fmt == FMT_DOT) dot(h->graph, in, have_db ? cur : NULL);
  else mermaid(h->graph, in, have_db ? cur : NULL);
done:
  free(in);
  free(cur);
  lm_idset_free(&heads);
  lm_idset_free(&out);
  return rc;
}
