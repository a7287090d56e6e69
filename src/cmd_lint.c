/*
** cmd_lint.c: `lmigrate lint [RANGE] [--online] [--json]`: which revisions
** to lint (the database's pending ones by default; every one when no
** database is reachable; a history-style RANGE such as base:heads), then
** lint_run.c does the work. Exit status 1 when a finding is an error.
*/
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "host.h"
#include "lint.h"
#include "log.h"
#include "runner.h"
#include "url.h"

const char lm_lint_usage[] =
  "usage: lmigrate lint [RANGE] [--online] [--json]\n\n"
  "Check revisions for operations that lock or rewrite a live PostgreSQL\n"
  "table, or break the running application (docs/online-safety.md).\n\n"
  "  RANGE     revisions to lint, as in history -r: base:heads (all),\n"
  "            REV:heads, a single REV. Default: the revisions the\n"
  "            database has not applied; every revision when no database\n"
  "            is reachable\n"
  "  --online  use the live database's table sizes (pg_class): a rewrite\n"
  "            of a small table (under 10,000 rows and 10 MB) is a warning,\n"
  "            not an error\n"
  "  --json    machine output\n\n"
  "Prints file:line: rule: severity: message and a fix line per finding.\n"
  "Exit status: 0 no error findings, 1 an error finding, 2 usage.\n";

/* Connect without creating anything; quietly 1 when the database cannot
** be reached (the caller says what it does instead). */
static int try_connect(struct lm_host *h, struct lm_err *err) {
  struct lm_connect_opts opts;
  const struct lm_backend *be;
  lm_err_clear(err);
  if (h->cfg.url == NULL) return lm_err_set(err, "no database URL");
  if (h->url.raw == NULL && lm_url_parse(h->cfg.url, &h->url, err)) return 1;
  be = lm_backend_for_url(&h->url, 0, err);
  if (be == NULL) return 1;
  memset(&opts, 0, sizeof opts);
  opts.lock_timeout_ms = h->cfg.lock_timeout_ms;
  opts.out = stdout;
  opts.must_exist = 1;
  if (be->connect(&h->url, &opts, &h->conn, err)) {
    h->conn = NULL;
    return 1;
  }
  return 0;
}

/* The revisions of RANGE, in run order. 0, or the exit status. */
static int range_targets(struct lm_host *h, const char *range,
                         struct lm_idset *out) {
  struct lm_idset cur, rev;
  struct lm_err err;
  int i, rc = 0;
  lm_idset_init(&cur);
  lm_idset_init(&rev);
  lm_err_clear(&err);
  if (strchr(range, ':') == NULL) {
    if (lm_graph_resolve(h->graph, range, out, &err))
      rc = lm_usage_error("lint: RANGE '%s': %s", range, err.msg);
  } else if (lm_graph_range(h->graph, &cur, range, &rev, &err)) {
    rc = lm_usage_error("lint: RANGE '%s': %s", range, err.msg);
  } else {
    for (i = rev.n - 1; i >= 0 && rc == 0; i--)
      if (lm_idset_push(out, rev.v[i])) rc = lm_error("out of memory");
  }
  lm_idset_free(&cur);
  lm_idset_free(&rev);
  return rc;
}

int cmd_lint(int argc, char **argv, struct lm_host *h) {
  static const struct option opts[] = {
    {"json", no_argument, NULL, 'J'},
    {"online", no_argument, NULL, 'O'},
    {NULL, 0, NULL, 0}
  };
  struct lm_lint_opts o;
  struct lm_idset heads, steps;
  struct lm_err err;
  const char *range = NULL;
  int c, rc = 1, nerrors = 0, connected;
  memset(&o, 0, sizeof o);
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
    if (c == 'J') o.json = 1;
    else if (c == 'O') o.online = 1;
    else
      return lm_usage_error("lint: unknown option '%s'; see lmigrate lint -h",
                            argv[optind - 1]);
  }
  if (argc - optind > 1)
    return lm_usage_error("lint takes at most one RANGE, got '%s' and '%s'",
                          argv[optind], argv[optind + 1]);
  if (optind < argc) range = argv[optind];
  lm_idset_init(&heads);
  lm_idset_init(&steps);
  lm_err_clear(&err);
  connected = (range == NULL || o.online) && try_connect(h, &err) == 0;
  if (o.online && !connected) {
    rc = lm_error("lint --online: cannot reach the database: %s", err.msg);
    goto done;
  }
  o.ancestors = 1;
  if (range) {
    if ((rc = range_targets(h, range, &steps)) != 0) goto done;
  } else if (connected) {
    if (lm_runner_read_heads(h, &heads, 0, NULL)) goto done;
    if (lm_graph_plan(h->graph, &heads, "heads", LM_UP, &steps, &err)) {
      rc = lm_error("%s", err.msg);
      goto done;
    }
    /* what is applied is in the live catalog (the PostgreSQL rules read
    ** it; the SQLite ones need no schema) */
    o.pending = 1;
    o.online = 1;
    o.ancestors = 0;
  } else {
    struct lm_idset none;
    lm_idset_init(&none);
    if (h->verbosity >= 0)
      fprintf(stderr, "lmigrate: lint: no database reachable (%s); linting "
              "every revision\n", err.msg);
    if (lm_graph_plan(h->graph, &none, "heads", LM_UP, &steps, &err)) {
      rc = lm_error("%s", err.msg);
      goto done;
    }
  }
  o.targets = &steps;
  o.purpose = "lint";
  o.out = stdout;
  if (lm_lint_run(h, &o, &nerrors)) goto done;
  rc = nerrors > 0;
done:
  lm_idset_free(&heads);
  lm_idset_free(&steps);
  return rc;
}
