/*
** cmd.h: the command table (git's builtin.h style).
**
** Adding a command: write `int cmd_foo(int argc, char **argv, struct
** lm_host *h)` in a cmd_*.c file (argv[0] is the command name; parse its
** options with getopt_long), declare it here, add one row to lm_commands[]
** in main.c with the setup flags it needs, then add specs, docs/cli.md and
** its usage text. The return value is the exit status: 0 success, 1
** failure, 2 usage error.
*/
#ifndef LM_CMD_H
#define LM_CMD_H

struct lm_host;

enum {
  LM_NEED_CONFIG = 1 << 0,    /* load lmigrate.lua before the command */
  LM_NEED_SCRIPTS = 1 << 1,   /* load the version locations into h->graph */
  LM_NEED_DB = 1 << 2,        /* the command connects (lm_host_connect) */
  LM_WRITES = 1 << 3          /* the command changes the database */
};

struct lm_command {
  const char *name;
  int (*fn)(int argc, char **argv, struct lm_host *h);
  unsigned flags;
  const char *usage;          /* one line: "upgrade TARGET [--sql]" */
  const char *summary;        /* one line for `lmigrate --help` */
  const char *help;           /* full `COMMAND -h` text, or NULL: usage */
};

/* The full usage texts of the scaffold commands (cmd_scaffold.c). */
extern const char lm_init_usage[];
extern const char lm_revision_usage[];
extern const char lm_merge_usage[];
/* `lint -h` (cmd_lint.c). */
extern const char lm_lint_usage[];
/* The full help of `graph` (cmd_graph.c). */
extern const char lm_graph_usage[];

int cmd_init(int argc, char **argv, struct lm_host *h);
int cmd_revision(int argc, char **argv, struct lm_host *h);
int cmd_merge(int argc, char **argv, struct lm_host *h);
int cmd_upgrade(int argc, char **argv, struct lm_host *h);
int cmd_downgrade(int argc, char **argv, struct lm_host *h);
int cmd_stamp(int argc, char **argv, struct lm_host *h);
int cmd_current(int argc, char **argv, struct lm_host *h);
int cmd_history(int argc, char **argv, struct lm_host *h);
int cmd_heads(int argc, char **argv, struct lm_host *h);
int cmd_branches(int argc, char **argv, struct lm_host *h);
int cmd_show(int argc, char **argv, struct lm_host *h);
int cmd_validate(int argc, char **argv, struct lm_host *h);
int cmd_lint(int argc, char **argv, struct lm_host *h);

/* Autogenerate (cmd_autogen.c, cmd_stairway.c). */
extern const char lm_check_usage[];
extern const char lm_schema_usage[];
int cmd_check(int argc, char **argv, struct lm_host *h);
int cmd_schema(int argc, char **argv, struct lm_host *h);
/* check --stairway: on the scratch database at scratch_url (NULL: a
** temporary one); returns the exit status. */
int lm_stairway(struct lm_host *h, const char *scratch_url);
int cmd_status(int argc, char **argv, struct lm_host *h);
int cmd_log(int argc, char **argv, struct lm_host *h);
int cmd_graph(int argc, char **argv, struct lm_host *h);
int cmd_completion(int argc, char **argv, struct lm_host *h);
/* Example lines for `help CMD` (cmd_help.c), or NULL. */
const char *lm_command_examples(const char *name);

#endif
