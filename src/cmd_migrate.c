/*
** cmd_migrate.c: upgrade, downgrade and stamp. Thin: parse the arguments,
** check the target's syntax (a malformed target is a usage error, exit 2,
** before anything connects), then hand a plan request to the runner.
** Options are scanned by hand rather than with getopt_long because the
** targets themselves look like options ("-1", "-2"): getopt would take
** "downgrade -1" for an unknown option '-1'.
*/
#include <ctype.h>
#include <string.h>

#include "cmd.h"
#include "events.h"
#include "host.h"
#include "log.h"
#include "runner.h"

#define MAX_TARGETS 32

struct margs {
  const char *target;           /* the first target */
  const char *targets[MAX_TARGETS];
  int ntargets;
  int sql;
  int purge;
  int json;
};

/* 1 when s is "-N" (a relative target, not an option). */
static int is_relative(const char *s) {
  if (s[0] != '-' || s[1] == '\0') return 0;
  for (s++; *s; s++)
    if (!isdigit((unsigned char)*s)) return 0;
  return 1;
}

/* Options and targets; stamp (allow_purge) takes several targets. */
static int parse(int argc, char **argv, int allow_purge, struct margs *a) {
  int i, dashdash = 0;
  memset(a, 0, sizeof *a);
  for (i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (!dashdash && strcmp(s, "--") == 0) {
      dashdash = 1;
    } else if (!dashdash && strcmp(s, "--sql") == 0) {
      a->sql = 1;
    } else if (!dashdash && !allow_purge && strcmp(s, "--json") == 0) {
      a->json = 1;
    } else if (!dashdash && allow_purge && strcmp(s, "--purge") == 0) {
      a->purge = 1;
    } else if (!dashdash && s[0] == '-' && !is_relative(s)) {
      return lm_usage_error("%s: unknown option '%s'; usage: lmigrate %s "
                            "TARGET [--sql]%s", argv[0], s, argv[0],
                            allow_purge ? " [--purge]" : "");
    } else if (a->target && !allow_purge) {
      return lm_usage_error("%s: one TARGET expected, got '%s' and '%s'",
                            argv[0], a->target, s);
    } else if (a->ntargets == MAX_TARGETS) {
      return lm_usage_error("%s: at most %d targets", argv[0], MAX_TARGETS);
    } else {
      if (a->target == NULL) a->target = s;
      a->targets[a->ntargets++] = s;
    }
  }
  if (a->json && a->sql)
    return lm_usage_error("%s: --json and --sql cannot be used together "
                          "(with --sql, stdout is the script)", argv[0]);
  if (a->target == NULL || a->target[0] == '\0')
    return lm_usage_error("%s: missing TARGET (e.g. `lmigrate %s %s`)",
                          argv[0], argv[0],
                          strcmp(argv[0], "downgrade") == 0 ? "-1" : "head");
  return 0;
}

/* 0 when target is well-formed for dir (LM_UP, LM_DOWN, or 0 for stamp
** and --sql FROM); else print why and return 2. Whether it names a
** revision is the runner's question (exit 1). */
static int check_target(const char *target, int dir) {
  struct lm_err err;
  lm_err_clear(&err);
  if (lm_graph_check_target(target, dir, &err))
    return lm_usage_error("%s", err.msg);
  return 0;
}

static int migrate(int argc, char **argv, struct lm_host *h,
                   enum lm_direction dir) {
  struct lm_migrate_opts o;
  struct margs a;
  char from[128];
  const char *colon;
  int rc = parse(argc, argv, 0, &a);
  if (rc) return rc;
  memset(&o, 0, sizeof o);
  o.dir = dir;
  o.offline = a.sql;
  o.target = a.target;
  colon = strchr(a.target, ':');
  if (colon) {
    if (!a.sql)
      return lm_usage_error("%s: FROM:TO ranges are for --sql (offline) "
                            "mode; online, give one TARGET", argv[0]);
    if ((size_t)(colon - a.target) >= sizeof from)
      return lm_usage_error("%s: FROM in '%s' is too long", argv[0],
                            a.target);
    memcpy(from, a.target, (size_t)(colon - a.target));
    from[colon - a.target] = '\0';
    o.from = from[0] ? from : NULL;
    o.target = colon + 1;
    if (o.target[0] == '\0')
      return lm_usage_error("%s: missing TO in '%s'", argv[0], a.target);
  } else if (a.sql && dir == LM_DOWN) {
    return lm_usage_error("downgrade --sql needs FROM:TO (e.g. `lmigrate "
                          "downgrade --sql head:base`): offline there is no "
                          "database to read the current revision from");
  }
  if ((o.from && (rc = check_target(o.from, 0))) ||
      (rc = check_target(o.target, dir)))
    return rc;
  h->json = a.json;
  rc = lm_runner_migrate(h, &o);
  lm_event_end(h, argv[0], rc);
  return rc;
}

int cmd_upgrade(int argc, char **argv, struct lm_host *h) {
  return migrate(argc, argv, h, LM_UP);
}

int cmd_downgrade(int argc, char **argv, struct lm_host *h) {
  return migrate(argc, argv, h, LM_DOWN);
}

int cmd_stamp(int argc, char **argv, struct lm_host *h) {
  struct lm_stamp_opts o;
  struct margs a;
  char from[128];
  int rc = parse(argc, argv, 1, &a), i;
  const char *colon;
  if (rc) return rc;
  memset(&o, 0, sizeof o);
  o.targets = a.targets;
  o.ntargets = a.ntargets;
  o.purge = a.purge;
  o.offline = a.sql;
  for (i = 0; i < a.ntargets; i++) {
    if ((colon = strchr(a.targets[i], ':')) == NULL) continue;
    if (!a.sql)
      return lm_usage_error("stamp: FROM:TO ranges are for --sql (offline) "
                            "mode, where FROM stands for the rows the "
                            "database holds; online, give the TARGETs");
    if (a.ntargets > 1)
      return lm_usage_error("stamp --sql FROM:TO takes one range, got %d "
                            "targets", a.ntargets);
    if ((size_t)(colon - a.targets[i]) >= sizeof from)
      return lm_usage_error("stamp: FROM in '%s' is too long", a.targets[i]);
    memcpy(from, a.targets[i], (size_t)(colon - a.targets[i]));
    from[colon - a.targets[i]] = '\0';
    o.from = from[0] ? from : NULL;
    a.targets[i] = colon + 1;
    if (a.targets[i][0] == '\0')
      return lm_usage_error("stamp: missing TO in '%s'", a.target);
    if (o.from && (rc = check_target(o.from, 0))) return rc;
  }
  for (i = 0; i < a.ntargets; i++)
    if ((rc = check_target(a.targets[i], 0))) return rc;
  return lm_runner_stamp(h, &o);
}
