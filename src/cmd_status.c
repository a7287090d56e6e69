/*
** cmd_status.c: `lmigrate status` (where the database stands: current
** revisions and their state, pending revisions, applied files edited
** since; exit 0 / 3 pending / 4 blocked) and `lmigrate log` (the history
** table, newest first). Both read only; --json prints docs/json.md's
** schemas through inspect_json.c.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "host.h"
#include "inspect_json.h"
#include "log.h"
#include "runner_log.h"
#include "status.h"

/* --json and, for log, -n N; 0 ok, else the usage exit status. */
static int parse(int argc, char **argv, int with_n, int *json,
                 long long *limit) {
  static const struct option opts[] = {
    {"json", no_argument, NULL, 'J'},
    {"limit", required_argument, NULL, 'n'},
    {NULL, 0, NULL, 0}
  };
  int c;
  *json = 0;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, with_n ? "+:n:" : "+", opts, NULL))
         != -1) {
    if (c == 'J') {
      *json = 1;
    } else if (c == 'n' && with_n) {
      char *end;
      *limit = strtoll(optarg, &end, 10);
      if (*optarg == '\0' || *end != '\0' || *limit < 1)
        return lm_usage_error("%s -n expects a positive number of rows, "
                              "got '%s'", argv[0], optarg);
    } else if (c == ':') {
      return lm_usage_error("%s: option '-n' needs a value", argv[0]);
    } else {
      return lm_usage_error("%s: unknown option '%s'; see lmigrate %s -h",
                            argv[0], argv[optind - 1], argv[0]);
    }
  }
  if (optind < argc)
    return lm_usage_error("%s: unexpected argument '%s'", argv[0],
                          argv[optind]);
  return 0;
}

/* word in bold red on a terminal that takes colours. */
static const char *red(char *buf, size_t n, const char *word) {
  if (!lm_color(1)) return word;
  snprintf(buf, n, "\033[1;31m%s\033[0m", word);
  return buf;
}

static void print_status(struct lm_host *h, const struct lm_status *st) {
  const struct lm_graph *g = h->graph;
  char c[64];
  int i;
  printf("Database: %s\n", lm_host_url_display(h));
  if (st->heads.n == 0 && st->failed < 0 && st->data_phase < 0)
    printf("Current:  <base> (nothing applied)\n");
  for (i = 0; i < st->heads.n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, st->heads.v[i]);
    printf("%s %s applied, %s\n", i ? "         " : "Current: ", r->id,
           r->message ? r->message : "");
  }
  if (st->failed >= 0)
    printf("          %s %s at %s (non-transactional, may be partly "
           "applied; see `lmigrate current`)\n",
           lm_graph_rev(g, st->failed)->id, red(c, sizeof c, "FAILED"),
           st->failed_at);
  if (st->data_phase >= 0)
    printf("          %s in data phase (`lmigrate upgrade` resumes it)\n",
           lm_graph_rev(g, st->data_phase)->id);
  if (st->pending.n) printf("Pending:  %d revision(s)\n", st->pending.n);
  for (i = 0; i < st->pending.n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, st->pending.v[i]);
    printf("          %s %s\n", r->id, r->message ? r->message : "");
  }
  if (st->edited.n)
    printf("Edited:   %d applied revision(s) changed since they were "
           "applied (`lmigrate validate`)\n", st->edited.n);
  for (i = 0; i < st->edited.n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, st->edited.v[i]);
    printf("          %s %s\n", r->id, r->path);
  }
  switch (lm_status_code(st)) {
    case LM_STATUS_BLOCKED:
      printf("Status:   %s\n", red(c, sizeof c, "BLOCKED"));
      break;
    case LM_STATUS_PENDING:
      printf("Status:   %d pending; `lmigrate upgrade heads` applies them\n",
             st->pending.n);
      break;
    default:
      printf("Status:   up to date\n");
  }
}

int cmd_status(int argc, char **argv, struct lm_host *h) {
  struct lm_status st;
  long long unused = 0;
  int json, rc = parse(argc, argv, 0, &json, &unused);
  if (rc) return rc;
  if ((rc = lm_host_connect(h, 0))) return rc;
  if (lm_status_read(h, &st)) return 1;
  if (json) lm_json_print_status(h, &st);
  else print_status(h, &st);
  rc = lm_status_code(&st);
  lm_status_free(&st);
  return rc;
}

/* "1.2 s" / "350 ms" / "-" into buf. */
static const char *duration(long long ms, char *buf, size_t n) {
  if (ms < 0) snprintf(buf, n, "-");
  else if (ms < 10000) snprintf(buf, n, "%lld ms", ms);
  else snprintf(buf, n, "%.1f s", (double)ms / 1000);
  return buf;
}

#define S(x) ((x) ? (x) : "")

static void print_log(const struct lm_log_row *rows, int n) {
  int i, w_rev = 8, w_by = 6, w_out = 7;
  char d[32];
  for (i = 0; i < n; i++) {
    int l;
    if ((l = (int)strlen(S(rows[i].revision))) > w_rev) w_rev = l;
    if ((l = (int)strlen(S(rows[i].run_by))) > w_by) w_by = l;
    if ((l = (int)strlen(S(rows[i].outcome))) > w_out) w_out = l;
  }
  printf("%-24s  %-*s  %-4s  %-*s  %9s  %-*s  %s\n", "STARTED (UTC)", w_rev,
         "REVISION", "DIR", w_out, "OUTCOME", "DURATION", w_by, "RUN BY",
         "MESSAGE");
  for (i = 0; i < n; i++) {
    const struct lm_log_row *r = &rows[i];
    printf("%-24s  %-*s  %-4s  %-*s  %9s  %-*s  %s\n", S(r->started_at),
           w_rev, S(r->revision), S(r->direction), w_out, S(r->outcome),
           duration(r->duration_ms, d, sizeof d), w_by, S(r->run_by),
           S(r->message));
  }
}

int cmd_log(int argc, char **argv, struct lm_host *h) {
  struct lm_log_row *rows = NULL;
  long long limit = 0;
  int json, n = 0, rc = parse(argc, argv, 1, &json, &limit);
  if (rc) return rc;
  if ((rc = lm_host_connect(h, 0))) return rc;
  if (lm_runner_read_log(h, limit, &rows, &n)) return 1;
  if (json) lm_json_print_log(rows, n);
  else if (n == 0) lm_info(h, "no history: nothing has been applied yet");
  else print_log(rows, n);
  lm_log_rows_free(rows, n);
  return 0;
}
