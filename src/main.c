/*
** main.c: lmigrate's entry point: global options, the command table, the
** setup each command's flags ask for, and a checked exit (git's run_builtin).
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "host.h"
#include "interrupt.h"
#include "log.h"
#include "suggest.h"

#define LM_VERSION "0.1.0"

static const struct lm_command lm_commands[] = {
  {"init", cmd_init, 0, "init [DIR] [--template NAME]",
   "scaffold lmigrate.lua and a version directory", lm_init_usage},
  {"revision", cmd_revision, LM_NEED_CONFIG | LM_NEED_SCRIPTS,
   "revision -m MSG [--rev-id ID] [--head REV] [--branch-label L] "
   "[--depends-on REV]... [--version-path DIR] [--splice]",
   "write a new revision file from the template", lm_revision_usage},
  {"merge", cmd_merge, LM_NEED_CONFIG | LM_NEED_SCRIPTS,
   "merge -m MSG [--rev-id ID] [--branch-label L] (heads | REV REV...)",
   "write a revision that joins several heads", lm_merge_usage},
  {"upgrade", cmd_upgrade,
   LM_NEED_CONFIG | LM_NEED_SCRIPTS | LM_NEED_DB | LM_WRITES,
   "upgrade TARGET [--sql|--json]  (TARGET: head, heads, REV, +N, REV+N, "
   "label@head, label@+N; with --sql also FROM:TO)",
   "apply revisions up to TARGET", NULL},
  {"downgrade", cmd_downgrade,
   LM_NEED_CONFIG | LM_NEED_SCRIPTS | LM_NEED_DB | LM_WRITES,
   "downgrade TARGET [--sql|--json]  (TARGET: base, REV, -N, REV-N, label@-N; "
   "--sql needs FROM:TO)",
   "revert revisions down to TARGET", NULL},
  {"current", cmd_current, LM_NEED_CONFIG | LM_NEED_SCRIPTS | LM_NEED_DB,
   "current [-v|--verbose] [--json]", "show the revisions the database is at",
   NULL},
  {"history", cmd_history, LM_NEED_CONFIG | LM_NEED_SCRIPTS,
   "history [-r RANGE] [-v|--verbose] [-i|--indicate-current] [--json]",
   "list revisions, newest first", NULL},
  {"heads", cmd_heads, LM_NEED_CONFIG | LM_NEED_SCRIPTS,
   "heads [-v|--verbose] [--json]", "show the heads of the revision graph",
   NULL},
  {"branches", cmd_branches, LM_NEED_CONFIG | LM_NEED_SCRIPTS,
   "branches [-v|--verbose] [--json]", "show branch points", NULL},
  {"show", cmd_show, LM_NEED_CONFIG | LM_NEED_SCRIPTS,
   "show [--json] REV|current",
   "show one revision", NULL},
  {"stamp", cmd_stamp,
   LM_NEED_CONFIG | LM_NEED_SCRIPTS | LM_NEED_DB | LM_WRITES,
   "stamp TARGET... [--purge] [--sql [FROM:]TO]",
   "set the version table without running revisions", NULL},
  {"lint", cmd_lint, LM_NEED_CONFIG | LM_NEED_SCRIPTS,
   "lint [RANGE] [--online] [--json]",
   "report revision operations unsafe on a live database", lm_lint_usage},
  {"validate", cmd_validate, LM_NEED_CONFIG | LM_NEED_SCRIPTS | LM_NEED_DB,
   "validate [--json]",
   "check applied revisions' checksums against their files", NULL},
  {"check", cmd_check, LM_NEED_CONFIG | LM_NEED_SCRIPTS | LM_NEED_DB,
   "check [--json] [--no-renames] | check --stairway [--scratch-url URL]",
   "compare the database with the declared schema; or test every downgrade",
   lm_check_usage},
  {"schema", cmd_schema, LM_NEED_CONFIG | LM_NEED_DB,
   "schema dump [--output FILE]",
   "write the database's schema as a schema file", lm_schema_usage},
  {"status", cmd_status, LM_NEED_CONFIG | LM_NEED_SCRIPTS | LM_NEED_DB,
   "status [--json]  (exit 0 up to date, 3 pending, 4 blocked)",
   "where the database stands: current, pending, blocked, edited", NULL},
  {"log", cmd_log, LM_NEED_CONFIG | LM_NEED_SCRIPTS | LM_NEED_DB,
   "log [-n N] [--json]", "the history table, newest first", NULL},
  {"graph", cmd_graph, LM_NEED_CONFIG | LM_NEED_SCRIPTS,
   "graph [--format dot|mermaid] [--no-db] [RANGE]",
   "draw the revision graph (Graphviz DOT or Mermaid)", lm_graph_usage},
  {"completion", cmd_completion, 0, "completion bash|zsh|fish",
   "print a shell completion script", NULL},
};

#define NCOMMANDS ((int)(sizeof lm_commands / sizeof lm_commands[0]))

static void usage(FILE *f) {
  int i;
  fprintf(f,
          "usage: lmigrate [-c FILE] [-u URL] [-x KEY=VALUE]... [-q|-v]\n"
          "                [--lock-timeout S] [--ddl-lock-timeout S]\n"
          "                [--statement-timeout S] [--max-lock-hold S]\n"
          "                [--max-replica-lag S] COMMAND [ARGS]\n\n"
          "Database schema migrations with Lua revision scripts.\n\n"
          "options:\n"
          "  -c, --config FILE        config file (default ./lmigrate.lua)\n"
          "  -u, --url URL            database URL (overrides LMIGRATE_URL,\n"
          "                           DATABASE_URL and the config's url)\n"
          "  -x KEY=VALUE             pass a value to scripts as op.x.KEY\n"
          "  -q, --quiet              print errors only\n"
          "  -v, --verbose            more detail; tracebacks on errors\n"
          "      --lock-timeout SECS  how long to wait for another runner\n"
          "                           (default 60)\n"
          "      --ddl-lock-timeout SECS  PostgreSQL: how long one statement\n"
          "                           of a revision may wait for a table\n"
          "                           lock before the step is retried\n"
          "                           (default 5)\n"
          "      --statement-timeout SECS  PostgreSQL: longest a statement\n"
          "                           may run (default: the server's;\n"
          "                           0: no limit)\n"
          "      --max-lock-hold SECS  PostgreSQL: longest a transactional\n"
          "                           revision may hold ACCESS EXCLUSIVE or\n"
          "                           SHARE ROW EXCLUSIVE on an existing\n"
          "                           table (default 5; 0: no guard)\n"
          "      --max-replica-lag SECS  PostgreSQL: op.backfill and\n"
          "                           op.each_batch pause between batches\n"
          "                           while a streaming replica lags more\n"
          "                           (default 10; 0: never pause)\n"
          "  -h, --help               this help; `lmigrate help COMMAND` (or\n"
          "                           COMMAND -h) for a command, with examples\n"
          "  -V, --version            print the version\n\ncommands:\n");
  for (i = 0; i < NCOMMANDS; i++)
    fprintf(f, "  %-10s %s\n", lm_commands[i].name, lm_commands[i].summary);
  fprintf(f, "  %-10s %s\n", "help", "help COMMAND: a command's usage and "
             "examples");
  fprintf(f, "\nURLs: sqlite:PATH, sqlite:///rel.db, sqlite:////abs.db, "
             "sqlite::memory:,\n      postgresql://user:pass@host:port/db "
             "(any libpq URI; PG* variables, .pgpass)\n"
             "Exit status: 0 ok, 1 failure, 2 usage error, 3/4 status: "
             "pending/blocked,\n130/143 interrupted. Docs: `man lmigrate`, "
             "docs/cli.md and docs/json.md\n(installed in "
             "PREFIX/share/doc/lmigrate/).\n");
}

static const struct lm_command *find_command(const char *name) {
  int i;
  for (i = 0; i < NCOMMANDS; i++)
    if (strcmp(lm_commands[i].name, name) == 0) return &lm_commands[i];
  return NULL;
}

static int unknown_command(const char *name) {
  const char *names[NCOMMANDS + 1];
  const char *s;
  int i;
  for (i = 0; i < NCOMMANDS; i++) names[i] = lm_commands[i].name;
  names[NCOMMANDS] = NULL;
  s = lm_suggest(name, names);
  if (s)
    return lm_usage_error("unknown command '%s' (did you mean '%s'?); see "
                          "lmigrate --help", name, s);
  return lm_usage_error("unknown command '%s'; see lmigrate --help", name);
}

static int wants_help(int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) return 0;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
      return 1;
  }
  return 0;
}

/* "--opt SECONDS" into *ms; 0 ok, else prints a usage error. Only plain
** decimals (digits with an optional fraction) reach strtod: no sign,
** space, exponent, hex, inf or nan. */
static int parse_seconds(const char *opt, const char *arg, int *ms) {
  size_t ndigits = strspn(arg, "0123456789");
  const char *p = arg + ndigits;
  double s = 0;
  if (*p == '.') {
    size_t nfrac = strspn(p + 1, "0123456789");
    ndigits += nfrac;
    p += 1 + nfrac;
  }
  if (ndigits > 0 && *p == '\0') s = strtod(arg, NULL);
  if (ndigits == 0 || *p != '\0' || s > 86400)
    return lm_usage_error("%s expects seconds (0 to 86400), got '%s'", opt,
                          arg);
  *ms = (int)(s * 1000);
  return 0;
}

/* getopt values of the options that have no short form: above every
** char, so that getopt's optopt tells a long option from a short one. */
enum { OPT_LOCK_TIMEOUT = 256, OPT_DDL_LOCK_TIMEOUT, OPT_STATEMENT_TIMEOUT,
       OPT_MAX_LOCK_HOLD, OPT_MAX_REPLICA_LAG };

/* "--name" of the long option whose value is c, in buf; NULL when c has
** no long form. */
static const char *long_name(const struct option *opts, int c, char *buf,
                             size_t n) {
  for (; opts->name; opts++)
    if (opts->val == c) {
      snprintf(buf, n, "--%s", opts->name);
      return buf;
    }
  return NULL;
}

/* "unknown option '--urll'" with a "did you mean '--url'?" when one of
** opts is close; returns the usage exit status. */
static int unknown_long_option(const struct option *opts, const char *arg) {
  const char *names[16];
  char word[64];
  const char *s;
  int n = 0;
  snprintf(word, sizeof word, "%s", arg + strspn(arg, "-"));
  word[strcspn(word, "=")] = '\0';
  for (; opts->name && n < 15; opts++) names[n++] = opts->name;
  names[n] = NULL;
  if ((s = lm_suggest(word, names)) != NULL)
    return lm_usage_error("unknown option '%s' (did you mean '--%s'?); see "
                          "lmigrate --help", arg, s);
  return lm_usage_error("unknown option '%s'; see lmigrate --help", arg);
}

/* Parse the global options into h; returns -1 to go on, else an exit
** status. *cmd_at gets the index of the command word. */
static int parse_globals(int argc, char **argv, struct lm_host *h,
                         int *cmd_at) {
  static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"url", required_argument, NULL, 'u'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
    {"ddl-lock-timeout", required_argument, NULL, OPT_DDL_LOCK_TIMEOUT},
    {"statement-timeout", required_argument, NULL, OPT_STATEMENT_TIMEOUT},
    {"max-lock-hold", required_argument, NULL, OPT_MAX_LOCK_HOLD},
    {"max-replica-lag", required_argument, NULL, OPT_MAX_REPLICA_LAG},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0}
  };
  char name[40];
  const char *lname;
  int c, quiet = 0, verbose = 0;
  opterr = 0;
  /* '+': stop at the command word; ':': a missing value returns ':' */
  while ((c = getopt_long(argc, argv, "+:c:u:x:qvhV", opts, NULL)) != -1) {
    switch (c) {
      case 'c': h->config_opt = optarg; break;
      case 'u': h->url_opt = optarg; break;
      case 'x':
        if (lm_host_add_x(h, optarg)) return 2;
        break;
      case 'q': quiet = 1; break;
      case 'v': verbose = 1; break;
      case OPT_LOCK_TIMEOUT:
        if (parse_seconds("--lock-timeout", optarg, &h->lock_timeout_opt))
          return 2;
        break;
      case OPT_DDL_LOCK_TIMEOUT:
        if (parse_seconds("--ddl-lock-timeout", optarg,
                          &h->ddl_lock_timeout_opt))
          return 2;
        break;
      case OPT_STATEMENT_TIMEOUT:
        if (parse_seconds("--statement-timeout", optarg,
                          &h->statement_timeout_opt))
          return 2;
        break;
      case OPT_MAX_LOCK_HOLD:
        if (parse_seconds("--max-lock-hold", optarg, &h->max_lock_hold_opt))
          return 2;
        break;
      case OPT_MAX_REPLICA_LAG:
        if (parse_seconds("--max-replica-lag", optarg,
                          &h->max_replica_lag_opt))
          return 2;
        break;
      case 'h': usage(stdout); return 0;
      case 'V': printf("lmigrate %s\n", LM_VERSION); return 0;
      case ':':   /* optopt: the option's value (its char, or OPT_*) */
        lname = long_name(opts, optopt, name, sizeof name);
        if (lname == NULL) {
          snprintf(name, sizeof name, "-%c", optopt);
          lname = name;
        }
        return lm_usage_error("option '%s' needs a value; see lmigrate "
                              "--help", lname);
      default:
        /* optopt: 0 for an unknown long option, the char of an unknown
        ** short one, or the value of a long option given a value it does
        ** not take (--quiet=1) */
        if ((lname = long_name(opts, optopt, name, sizeof name)) != NULL)
          return lm_usage_error("option '%s' takes no value; see lmigrate "
                                "--help", lname);
        if (optopt)
          return lm_usage_error("unknown option '-%c'; see lmigrate --help",
                                optopt);
        return unknown_long_option(opts, argv[optind - 1]);
    }
  }
  if (quiet && verbose)
    return lm_usage_error("-q and -v cannot be used together");
  if (quiet || verbose) h->verbosity = verbose - quiet;
  *cmd_at = optind;
  if (optind >= argc) {
    usage(stderr);
    return 2;
  }
  return -1;
}

/* Global options written after the command word (`lmigrate upgrade head
** -u URL`): moved out of argv (compacting it, *argc updated) and parsed
** into h. -v stays with the commands that have their own --verbose; the
** value of a command option that takes one is never taken for a global
** option. Stops at "--". Returns -1 to go on, else an exit status. */
static int lift_globals(int *argc, char **argv, const struct lm_command *cmd,
                        struct lm_host *h) {
  static const char *const with_value[] = { "-u", "--url", "-c", "--config",
    "-x", "--lock-timeout", "--ddl-lock-timeout", "--statement-timeout",
    NULL };
  static const char *const flags[] = { "-q", "--quiet", "-v", "--verbose",
    NULL };
  static const char *const cmd_valued[] = { "-m", "--message", "-r",
    "--rev-range", "--rev-id", "--head", "--branch-label", "--depends-on",
    "--version-path", "--template", "-n", "--format", NULL };
  char *mini[32];
  int i, k, out = 1, nmini = 1, own_v = strstr(cmd->usage, "--verbose") != NULL;
  mini[0] = argv[0];
  for (i = 1; i < *argc; i++) {
    const char *a = argv[i];
    int global = 0, valued = 0;
    if (strcmp(a, "--") == 0) {
      for (; i < *argc; i++) argv[out++] = argv[i];
      break;
    }
    for (k = 0; with_value[k]; k++) {
      size_t n = strlen(with_value[k]);
      if (strcmp(a, with_value[k]) == 0) global = valued = 1;
      else if (strncmp(a, with_value[k], n) == 0 && a[n] == '=' &&
               a[1] == '-')
        global = 1;
    }
    for (k = 0; flags[k]; k++) {
      int is_v = strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0;
      if (strcmp(a, flags[k]) == 0 && !(own_v && is_v)) global = 1;
    }
    if (global && nmini + 2 < 31) {
      mini[nmini++] = argv[i];
      if (valued && i + 1 < *argc) mini[nmini++] = argv[++i];
      continue;
    }
    argv[out++] = argv[i];
    for (k = 0; cmd_valued[k]; k++)
      if (strcmp(a, cmd_valued[k]) == 0 && i + 1 < *argc) {
        argv[out++] = argv[++i];
        break;
      }
  }
  *argc = out;
  argv[out] = NULL;
  if (nmini == 1) return -1;
  mini[nmini++] = argv[0];                /* a command word for getopt */
  mini[nmini] = NULL;
  optind = 0;
  i = 0;
  return parse_globals(nmini, mini, h, &i);
}

/* `lmigrate help [CMD]` and `lmigrate CMD -h`: usage, text, examples. */
static int print_help(const struct lm_command *cmd) {
  const char *ex = lm_command_examples(cmd->name);
  if (cmd->help != NULL)
    fputs(cmd->help, stdout);
  else
    printf("usage: lmigrate %s\n\n%s\n", cmd->usage, cmd->summary);
  if (ex && (cmd->help == NULL || strstr(cmd->help, "examples:") == NULL))
    printf("\nexamples:\n%s", ex);
  printf("\nGlobal options (-c, -u, -x, -q, -v, --lock-timeout, ...) may "
         "come before or after\nthe command; see lmigrate --help and "
         "docs/cli.md.\n");
  return 0;
}

static int run(int argc, char **argv, struct lm_host *h) {
  const struct lm_command *cmd;
  int at = 0, rc;
  rc = parse_globals(argc, argv, h, &at);
  if (rc >= 0) return rc;
  if (strcmp(argv[at], "help") == 0) {
    if (at + 1 >= argc) {
      usage(stdout);
      return 0;
    }
    cmd = find_command(argv[at + 1]);
    if (cmd == NULL) return unknown_command(argv[at + 1]);
    return print_help(cmd);
  }
  cmd = find_command(argv[at]);
  if (cmd == NULL) return unknown_command(argv[at]);
  argc -= at;
  argv += at;
  if (wants_help(argc, argv)) return print_help(cmd);
  if ((rc = lift_globals(&argc, argv, cmd, h)) >= 0) return rc;
  if ((cmd->flags & LM_NEED_CONFIG) && (rc = lm_host_load_config(h)))
    return rc;
  if ((cmd->flags & LM_NEED_SCRIPTS) && (rc = lm_host_load_scripts(h)))
    return rc;
  /* a command that only reads must not create a database at a mistyped
  ** path */
  h->db_must_exist = !(cmd->flags & LM_WRITES);
  optind = 0;
  return cmd->fn(argc, argv, h);
}

int main(int argc, char **argv) {
  struct lm_host *h = lm_host_new();
  int rc;
  /* Line-buffered even when piped (CI logs, | tee, docker logs): each
  ** progress line leaves at once, and stderr (unbuffered, written after a
  ** flush of stdout) stays in order with it. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (h == NULL) return lm_error("out of memory");
  lm_interrupt_install();
  rc = run(argc, argv, h);
  lm_host_free(h);
  if (lm_interrupted && rc != 0) {
    /* the runner has already said what state the database is in; outside
    ** the runner no revision was running */
    fprintf(stderr, "lmigrate: interrupted\n");
    rc = 128 + (int)lm_interrupted;
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "lmigrate: error: write failure on standard output\n");
    return 1;
  }
  return rc;
}
