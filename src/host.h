/*
** host.h: struct lm_host, the value main() creates and passes down: the
** Lua state, the configuration, the loaded revision graph and the
** connection. There is no other global state.
*/
#ifndef LM_HOST_H
#define LM_HOST_H

#include <lua.h>

#include "backend.h"
#include "graph.h"
#include "url.h"

struct lm_config {
  char *path;                 /* owned; config file read, or NULL (defaults) */
  char *url;                  /* owned; the URL after precedence, or NULL */
  char **locations;           /* owned; version locations (>= 1) */
  int nlocations;
  char *version_table;        /* owned; default "lmigrate_version" */
  char *version_table_schema; /* owned; NULL = default schema */
  char *history_table;        /* owned; version_table .. "_history" */
  int transaction_per_migration;  /* default 1 */
  int lock_timeout_ms;        /* wait for another runner; default 60000;
                              ** --lock-timeout / lock_timeout */
  int ddl_lock_timeout_ms;    /* per revision statement lock wait; default
                              ** 5000; --ddl-lock-timeout / ddl_lock_timeout */
  int statement_timeout_ms;   /* per revision statement run time; default
                              ** -1 (the server's setting); 0 = no limit;
                              ** --statement-timeout / statement_timeout */
  int lock_retries;           /* retries of a step after a lock timeout;
                              ** default 3; lock_retries */
  int max_lock_hold_ms;       /* PostgreSQL: how long a transactional
                              ** revision may hold a strong lock on an
                              ** existing table; default 5000, 0 = no
                              ** guard; --max-lock-hold / max_lock_hold */
  int max_replica_lag_ms;     /* PostgreSQL: op.backfill / op.each_batch
                              ** pause between batches while a streaming
                              ** replica lags more; default 10000, 0 = off;
                              ** --max-replica-lag / max_replica_lag */
  char **replica_urls;        /* owned; replica_urls (postgresql:// URLs of
                              ** replicas polled directly), or NULL */
  int nreplica_urls;
  char *revision_template;    /* owned; project template path or NULL */
  int hooks_ref;              /* registry ref to the hooks table, or
                              ** LUA_NOREF */
  char *schema;               /* owned; the declared schema file (key
                              ** `schema`, resolved relative to the config
                              ** file; default schema.lua next to it) */
  int autogen_include_ref;    /* registry ref to autogenerate.include, or
                              ** LUA_NOREF */
  int lint_ref;               /* registry ref to the `lint` value (a mode
                              ** string or a table, checked by
                              ** lua/lmigrate/lint.lua), or LUA_NOREF */
};

struct lm_json;

struct lm_host {
  lua_State *L;               /* owned; lua_close */
  int verbosity;              /* -1 quiet (-q), 0 normal, 1 verbose (-v) */
  int json;                   /* --json on read commands */
  const char *config_opt;     /* borrowed from argv: -c FILE */
  const char *url_opt;        /* borrowed from argv: -u URL */
  int lock_timeout_opt;       /* --lock-timeout in ms, -1 when not given */
  int ddl_lock_timeout_opt;   /* --ddl-lock-timeout in ms, or -1 */
  int statement_timeout_opt;  /* --statement-timeout in ms, or -1 */
  int max_lock_hold_opt;      /* --max-lock-hold in ms, or -1 */
  int max_replica_lag_opt;    /* --max-replica-lag in ms, or -1 */
  int db_must_exist;          /* the command only reads (no LM_WRITES):
                              ** lm_host_connect does not create a missing
                              ** SQLite file */
  int xref;                   /* registry ref to the -x table */
  struct lm_config cfg;
  struct lm_graph *graph;     /* owned; NULL until lm_host_load_scripts */
  int revs_ref;               /* registry ref: revision tables, by graph index + 1 */
  struct lm_url url;          /* parsed cfg.url once connected */
  struct lm_conn *conn;       /* owned; NULL until lm_host_connect */
  int no_config_file;         /* Lua API without `config`: do not read
                              ** ./lmigrate.lua */
  struct lm_json *events;     /* borrowed: the Lua API's writer for
                              ** upgrade/downgrade events, or NULL (events
                              ** go to stdout when json is set) */
};

/* Create the host: a fresh Lua state with the standard libraries, the -x
** table and the op metatables. NULL on OOM. */
struct lm_host *lm_host_new(void);
void lm_host_free(struct lm_host *h);     /* NULL-safe: closes conn, Lua, graph */

/* Put the searcher for the modules embedded from lua/ right after
** package.preload's, so require("lmigrate.schema") loads the built-in copy,
** and preload lmigrate.core from the binary. Called by lm_host_new;
** host_require.c. */
void lm_host_open_embedded(lua_State *L);

/* Call the function below nargs arguments on the stack through the one
** protected boundary: a message handler adds the traceback and the first
** Lua frame's file:line. On error returns non-zero and leaves the message
** (a string) on the stack; with -v the traceback is printed too. */
int lm_host_pcall(struct lm_host *h, int nargs, int nresults);

/* msg from loading the chunk `path` (a syntax error) with Lua's "..."
** shortening of a long chunk name undone: pushes and returns the message
** with the whole path, or returns msg unchanged (nothing pushed). */
const char *lm_host_unshorten(lua_State *L, const char *msg,
                              const char *path);

/* Add KEY=VALUE from -x to the -x table; 2 (usage) when malformed. */
int lm_host_add_x(struct lm_host *h, const char *kv);

/* Load the config file (cfg.path from -c or ./lmigrate.lua when present)
** and apply URL precedence. Prints its own error; returns the exit status
** (0 ok). */
int lm_host_load_config(struct lm_host *h);

/* Load every revision script in the version locations and build the graph.
** Prints its own error naming the file and line; returns the exit status. */
int lm_host_load_scripts(struct lm_host *h);

/* Connect to cfg.url (offline: the --sql backend printing to stdout); with
** db_must_exist set a missing SQLite file is an error instead of being
** created. Prints its own error; returns the exit status. */
int lm_host_connect(struct lm_host *h, int offline);

/* The URL to show users (password masked); never NULL. */
const char *lm_host_url_display(const struct lm_host *h);

#endif
