/*
** cmd_autogen.c: `check` (does the database match the declared schema?
** exit 0 / 1 with one line per difference, or --json; --stairway hands
** over to cmd_stairway.c) and `schema dump` (the live database as a
** schema file). The Lua side (compare, describe, dump) is
** lmigrate.autogen, reached through autogen.c.
*/
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>

#include "autogen.h"
#include "cmd.h"
#include "host.h"
#include "log.h"

const char lm_check_usage[] =
  "usage: lmigrate check [--json] [--no-renames]\n"
  "       lmigrate check --stairway [--scratch-url URL]\n"
  "  Compare the database (which must be at head) with the declared schema\n"
  "  file (config key `schema`, default schema.lua next to lmigrate.lua).\n"
  "  Exit 0 when they match; exit 1 with one line per difference.\n"
  "  --json              the differences as JSON on stdout\n"
  "  --no-renames        report a possible rename as a drop and an add\n"
  "  --stairway          upgrade a scratch database one revision at a time;\n"
  "                      after each, downgrade and upgrade again, and report\n"
  "                      a downgrade that does not restore the schema before\n"
  "                      it (or an upgrade that does not repeat)\n"
  "  --scratch-url URL   the empty database --stairway uses (default: a\n"
  "                      temporary SQLite file, or a temporary database\n"
  "                      created on the configured PostgreSQL server)\n";

const char lm_schema_usage[] =
  "usage: lmigrate schema dump [--output FILE]\n"
  "  Write the database's schema as a schema file (the form `check` and\n"
  "  `revision --autogenerate` read) to stdout, or to FILE (which must not\n"
  "  exist). lmigrate's own tables are left out.\n";

/* check [--json] [--no-renames] | check --stairway [--scratch-url URL] */
int cmd_check(int argc, char **argv, struct lm_host *h) {
  enum { OPT_JSON = 256, OPT_NORENAMES, OPT_STAIRWAY, OPT_SCRATCH };
  static const struct option longopts[] = {
    { "json", no_argument, NULL, OPT_JSON },
    { "no-renames", no_argument, NULL, OPT_NORENAMES },
    { "stairway", no_argument, NULL, OPT_STAIRWAY },
    { "scratch-url", required_argument, NULL, OPT_SCRATCH },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct lm_ag a;
  const char *scratch = NULL;
  int c, json = 0, renames = 1, stairway = 0, rc, diff;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_JSON: json = 1; break;
    case OPT_NORENAMES: renames = 0; break;
    case OPT_STAIRWAY: stairway = 1; break;
    case OPT_SCRATCH: scratch = optarg; break;
    case 'h': fputs(lm_check_usage, stdout); return 0;
    default:
      fputs(lm_check_usage, stderr);
      return lm_usage_error("check: unknown or incomplete option '%s'",
                            argv[optind - 1]);
    }
  }
  if (optind < argc) {
    fputs(lm_check_usage, stderr);
    return lm_usage_error("check: unexpected argument '%s'", argv[optind]);
  }
  if (scratch && !stairway)
    return lm_usage_error("check: --scratch-url goes with --stairway");
  if (stairway) {
    if (json || !renames)
      return lm_usage_error("check --stairway takes no --json or "
                            "--no-renames");
    return lm_stairway(h, scratch);
  }
  if ((rc = lm_ag_begin(h, &a)) || (rc = lm_ag_schema_readable(h)) ||
      (rc = lm_host_connect(h, 0)) ||
      (rc = lm_ag_require_head(&a, "check")) ||
      (rc = lm_ag_reflect(&a)) || (rc = lm_ag_declared(&a)) ||
      (rc = lm_ag_compare(&a, renames)))
    goto done;
  if ((diff = lm_ag_has_differences(&a)) < 0) {
    rc = 1;
    goto done;
  }
  if (json) {
    lua_pushvalue(h->L, a.changes);
    if ((rc = lm_ag_call(&a, "to_json", 1))) goto done;
    printf("%s\n", lua_tostring(h->L, -1));
  } else {
    if ((rc = lm_ag_print_changes(&a, a.changes, ""))) goto done;
    if (!diff)
      lm_info(h, "No differences: the database matches %s", h->cfg.schema);
  }
  rc = diff ? 1 : 0;
done:
  lm_ag_end(&a);
  return rc;
}

/* Write len bytes of text to path, which must not exist. */
static int write_new(const char *path, const char *text, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
  size_t off = 0;
  if (fd < 0) {
    if (errno == EEXIST)
      return lm_error("%s already exists; not overwriting it (remove it or "
                      "choose another --output)", path);
    return lm_error("cannot write %s: %s", path, strerror(errno));
  }
  while (off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      unlink(path);
      return lm_error("cannot write %s: %s", path, strerror(e));
    }
    off += (size_t)n;
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(path);
    return lm_error("cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

/* schema dump [--output FILE] */
int cmd_schema(int argc, char **argv, struct lm_host *h) {
  static const struct option longopts[] = {
    { "output", required_argument, NULL, 'o' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct lm_ag a;
  const char *out = NULL, *text;
  size_t len;
  int c, rc;
  optind = 0;
  opterr = 0;
  /* argv[1] is the subcommand; options follow it */
  if (argc < 2 || argv[1][0] == '-') {
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "--help") == 0)) {
      fputs(lm_schema_usage, stdout);
      return 0;
    }
    fputs(lm_schema_usage, stderr);
    return lm_usage_error("schema: name a subcommand (dump)");
  }
  if (strcmp(argv[1], "dump") != 0) {
    fputs(lm_schema_usage, stderr);
    return lm_usage_error("schema: unknown subcommand '%s' (subcommands: "
                          "dump)", argv[1]);
  }
  argc--;
  argv++;
  while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'o': out = optarg; break;
    case 'h': fputs(lm_schema_usage, stdout); return 0;
    default:
      fputs(lm_schema_usage, stderr);
      return lm_usage_error("schema dump: unknown or incomplete option '%s'",
                            argv[optind - 1]);
    }
  }
  if (optind < argc) {
    fputs(lm_schema_usage, stderr);
    return lm_usage_error("schema dump: unexpected argument '%s'",
                          argv[optind]);
  }
  if (out && access(out, F_OK) == 0)
    return lm_error("%s already exists; not overwriting it (remove it or "
                    "choose another --output)", out);
  if ((rc = lm_ag_begin(h, &a)) || (rc = lm_host_connect(h, 0)) ||
      (rc = lm_ag_reflect(&a)))
    goto done;
  lua_pushvalue(h->L, a.reflected);
  if ((rc = lm_ag_call(&a, "dump", 1))) goto done;
  if ((text = lua_tolstring(h->L, -1, &len)) == NULL) {
    rc = lm_error("internal error: lmigrate.autogen.dump returned no text");
    goto done;
  }
  if (out) {
    if ((rc = write_new(out, text, len)) == 0)
      lm_info(h, "Wrote %s", out);
  } else {
    fwrite(text, 1, len, stdout);
  }
done:
  lm_ag_end(&a);
  return rc;
}
