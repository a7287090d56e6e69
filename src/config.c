/*
** config.c: the config file, a Lua chunk returning a table (Alembic's
** env.py and alembic.ini in one). It receives the -x table as its first
** argument (`local x = ...`). Unknown keys are errors with a suggestion.
** URL precedence: --url, LMIGRATE_URL, DATABASE_URL, then the file's url.
** The returned table is data: every field is read raw (lua_rawget), so a
** metatable on it (or on hooks) is never consulted and cannot raise an
** error outside the protected call.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "config.h"
#include "host.h"
#include "log.h"
#include "suggest.h"
#include "url.h"

static const char *const config_keys[] = {
  "url", "script_location", "version_locations", "version_table",
  "version_table_schema", "transaction_per_migration", "hooks",
  "lock_timeout", "ddl_lock_timeout", "statement_timeout", "lock_retries",
  "revision_template", "schema", "autogenerate", "max_lock_hold", "lint",
  "max_replica_lag", "replica_urls", NULL
};

static char *xstrdup(const char *s) {
  char *p = s ? strdup(s) : NULL;
  if (s && p == NULL) {
    fprintf(stderr, "lmigrate: error: out of memory\n");
    exit(1);
  }
  return p;
}

/* Push t[key] for the table t at -1, without metamethods; its type. */
static int rawfield(lua_State *L, const char *key) {
  lua_pushstring(L, key);
  return lua_rawget(L, -2);
}

/* Read the string field key of the table at -1 into *out (owned); 0 ok,
** 1 wrong type (error printed). Absent keys leave *out unchanged. */
static int get_string(lua_State *L, const char *path, const char *key,
                      char **out) {
  int t = rawfield(L, key);
  if (t == LUA_TSTRING && strlen(lua_tostring(L, -1)) != lua_rawlen(L, -1)) {
    lua_pop(L, 1);
    return lm_error("%s: '%s' must not contain a NUL byte", path, key);
  }
  if (t == LUA_TSTRING) {
    free(*out);
    *out = xstrdup(lua_tostring(L, -1));
  } else if (t != LUA_TNIL) {
    lua_pop(L, 1);
    return lm_error("%s: '%s' must be a string (got %s)", path, key,
                    lua_typename(L, t));
  }
  lua_pop(L, 1);
  return 0;
}

/* Add a version location. A relative dir is relative to the config
** file's directory (Alembic's %(here)s), so `lmigrate -c proj/lmigrate.lua`
** works from anywhere; with the config in the current directory (or none)
** the path stays as written. */
static int add_location(struct lm_config *c, const char *dir) {
  char **p = realloc(c->locations, sizeof *p * (size_t)(c->nlocations + 1));
  const char *slash = c->path ? strrchr(c->path, '/') : NULL;
  if (p == NULL) return lm_error("out of memory");
  c->locations = p;
  if (slash && dir[0] != '/' &&
      !(slash == c->path + 1 && c->path[0] == '.')) {
    int n = (int)(slash - c->path);     /* 0 for "/lmigrate.lua" */
    size_t len = (size_t)n + strlen(dir) + 2;
    char *joined = malloc(len);
    if (joined == NULL) return lm_error("out of memory");
    snprintf(joined, len, "%.*s/%s", n, c->path, dir);
    c->locations[c->nlocations++] = joined;
    return 0;
  }
  c->locations[c->nlocations++] = xstrdup(dir);
  return 0;
}

static const char *const hook_names[] = {
  "before_upgrade", "after_upgrade", "before_revision", "after_revision",
  "on_error", NULL
};

/* A table name (version_table, version_table_schema) into *out (owned):
** a string of 1 to max bytes without NUL. Absent keys leave *out
** unchanged. 0 ok, 1 after printing an error naming the key and why. */
static int get_name(lua_State *L, const char *path, const char *key,
                    size_t max, const char *why, char **out) {
  size_t n;
  const char *v;
  int t = rawfield(L, key);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (t != LUA_TSTRING) {
    lua_pop(L, 1);
    return lm_error("%s: '%s' must be a string (got %s)", path, key,
                    lua_typename(L, t));
  }
  v = lua_tolstring(L, -1, &n);
  if (n == 0 || n > max) {
    lua_pop(L, 1);
    return lm_error("%s: '%s' must be 1 to %zu bytes long (got %zu): %s",
                    path, key, max, n, why);
  }
  if (strlen(v) != n) {
    lua_pop(L, 1);
    return lm_error("%s: '%s' must not contain a NUL byte", path, key);
  }
  free(*out);
  *out = xstrdup(v);
  lua_pop(L, 1);
  return 0;
}

/* The hooks table at -1: known names only, each a function. Replaces it
** by a plain copy (no metatable), which is what the runner reads; on
** error pops it and returns 1 after printing the error. */
static int check_hooks(lua_State *L, const char *path) {
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, -3)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    int i, known = 0;
    if (lua_type(L, -2) == LUA_TSTRING && strlen(k) != lua_rawlen(L, -2)) {
      lua_pop(L, 4);
      return lm_error("%s: hook name '%s' contains a NUL byte", path, k);
    }
    for (i = 0; hook_names[i]; i++)
      if (strcmp(k, hook_names[i]) == 0) known = 1;
    if (!known) {
      const char *s = lm_suggest(k, hook_names);
      lua_pop(L, 4);
      if (s)
        return lm_error("%s: unknown hook '%s' (did you mean '%s'?)", path, k,
                        s);
      return lm_error("%s: unknown hook '%s' (hooks: before_upgrade, "
                      "after_upgrade, before_revision, after_revision, "
                      "on_error)", path, k);
    }
    if (lua_type(L, -1) != LUA_TFUNCTION) {
      lua_pop(L, 4);
      return lm_error("%s: hook '%s' must be a function", path, k);
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);                  /* copy[k] = hook */
  }
  lua_replace(L, -2);
  return 0;
}

/* A number of seconds (>= 0, may be fractional) into *ms; absent keys
** leave *ms unchanged. 0 ok, 1 after printing an error. */
static int get_seconds(lua_State *L, const char *path, const char *key,
                       int *ms) {
  int t = rawfield(L, key);
  if (t == LUA_TNUMBER && lua_tonumber(L, -1) >= 0 &&
      lua_tonumber(L, -1) <= 86400) {
    *ms = (int)(lua_tonumber(L, -1) * 1000);
  } else if (t != LUA_TNIL) {
    lua_pop(L, 1);
    return lm_error("%s: '%s' must be a number of seconds from 0 to 86400",
                    path, key);
  }
  lua_pop(L, 1);
  return 0;
}

/* replica_urls = { "postgresql://...", ... }: streaming replicas that
** op.backfill / op.each_batch poll directly (op_lag.c). Only the shape is
** checked here; connecting is the walk's job. 0 ok, 1 after an error. */
static int get_replica_urls(lua_State *L, struct lm_config *c) {
  lua_Integer i, n;
  int t = rawfield(L, "replica_urls");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  n = t == LUA_TTABLE ? (lua_Integer)lua_rawlen(L, -1) : 0;
  if (t != LUA_TTABLE || n > LM_MAX_REPLICA_URLS) {
    lua_pop(L, 1);
    return lm_error("%s: 'replica_urls' must be a list of at most %d "
                    "postgresql:// URLs of streaming replicas", c->path,
                    LM_MAX_REPLICA_URLS);
  }
  c->replica_urls = calloc((size_t)n + 1, sizeof *c->replica_urls);
  if (c->replica_urls == NULL) return lm_error("out of memory");
  for (i = 1; i <= n; i++) {
    const char *s = NULL;
    int et = lua_rawgeti(L, -1, i);
    if (et == LUA_TSTRING) s = lua_tostring(L, -1);
    if (s == NULL || strlen(s) != lua_rawlen(L, -1) ||
        (strncmp(s, "postgresql://", 13) != 0 &&
         strncmp(s, "postgres://", 11) != 0)) {
      char *shown = s ? lm_url_redact(s) : NULL;
      int rc = lm_error("%s: replica_urls[%lld] must be a postgresql:// URL "
                        "of a streaming replica (got %s%s%s)", c->path,
                        (long long)i, shown ? "'" : lua_typename(L, et),
                        shown ? shown : "", shown ? "'" : "");
      free(shown);
      lua_pop(L, 2);
      return rc;
    }
    c->replica_urls[c->nreplica_urls++] = xstrdup(s);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}

/* script_location (string) or version_locations (array of strings). */
static int get_locations(lua_State *L, struct lm_config *c) {
  int t = rawfield(L, "version_locations");
  if (t == LUA_TTABLE) {
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      if (lua_rawgeti(L, -1, i) != LUA_TSTRING) {
        lua_pop(L, 2);
        return lm_error("%s: version_locations[%lld] must be a string",
                        c->path, (long long)i);
      }
      if (strlen(lua_tostring(L, -1)) != lua_rawlen(L, -1)) {
        lua_pop(L, 2);
        return lm_error("%s: version_locations[%lld] must not contain a NUL "
                        "byte", c->path, (long long)i);
      }
      if (add_location(c, lua_tostring(L, -1))) return 1;
      lua_pop(L, 1);
    }
    if (n == 0) {
      lua_pop(L, 1);
      return lm_error("%s: version_locations is empty", c->path);
    }
  } else if (t != LUA_TNIL) {
    lua_pop(L, 1);
    return lm_error("%s: 'version_locations' must be a list of directories",
                    c->path);
  }
  lua_pop(L, 1);
  if (c->nlocations == 0) {
    char *loc = NULL;
    if (get_string(L, c->path, "script_location", &loc)) return 1;
    if (loc) {
      int rc = add_location(c, loc);
      free(loc);
      if (rc) return 1;
    }
  } else {
    if (rawfield(L, "script_location") != LUA_TNIL) {
      lua_pop(L, 1);
      return lm_error("%s: set either script_location or version_locations,"
                      " not both", c->path);
    }
    lua_pop(L, 1);
  }
  return 0;
}

/* autogenerate = { include = function(kind, name, parent) ... end }: the
** include hook into c->autogen_include_ref. 0 ok, 1 after an error. */
static int read_autogenerate(lua_State *L, struct lm_config *c) {
  int t = rawfield(L, "autogenerate");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (t != LUA_TTABLE) {
    lua_pop(L, 1);
    return lm_error("%s: 'autogenerate' must be a table such as { include = "
                    "function(kind, name, parent) ... end }", c->path);
  }
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING ||
        strcmp(lua_tostring(L, -1), "include") != 0) {
      int rc = lm_error("%s: unknown key '%s' in 'autogenerate' (keys: "
                        "include)", c->path, luaL_tolstring(L, -1, NULL));
      lua_pop(L, 3);
      return rc;
    }
  }
  t = rawfield(L, "include");
  if (t == LUA_TFUNCTION) {
    c->autogen_include_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
    if (t != LUA_TNIL) {
      lua_pop(L, 1);
      return lm_error("%s: 'autogenerate.include' must be a function(kind, "
                      "name, parent) returning false to skip an object",
                      c->path);
    }
  }
  lua_pop(L, 1);
  return 0;
}

/* c->schema resolved against the config file's directory (an absolute
** path stays); schema.lua there when unset. 0 ok, 1 out of memory. */
static int resolve_schema(struct lm_config *c) {
  const char *name = c->schema ? c->schema : "schema.lua";
  const char *slash = c->path ? strrchr(c->path, '/') : NULL;
  size_t dlen = slash ? (size_t)(slash - c->path) + 1 : 0;
  char *p;
  if (name[0] == '/') dlen = 0;
  p = malloc(dlen + strlen(name) + 1);
  if (p == NULL) return lm_error("out of memory");
  memcpy(p, c->path ? c->path : "", dlen);
  strcpy(p + dlen, name);
  free(c->schema);
  c->schema = p;
  return 0;
}

/* Check the keys of the table at -1, then read them into h->cfg. */
static int read_table(struct lm_host *h) {
  lua_State *L = h->L;
  struct lm_config *c = &h->cfg;
  int t;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    const char *k;
    int i, known = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      return lm_error("%s: the returned table must have string keys only",
                      c->path);
    }
    k = lua_tostring(L, -1);
    if (strlen(k) != lua_rawlen(L, -1)) {
      int rc = lm_error("%s: key '%s' contains a NUL byte", c->path, k);
      lua_pop(L, 1);
      return rc;
    }
    for (i = 0; config_keys[i]; i++)
      if (strcmp(k, config_keys[i]) == 0) known = 1;
    if (!known) {
      const char *s = lm_suggest(k, config_keys);
      int rc = s ? lm_error("%s: unknown key '%s' (did you mean '%s'?)",
                            c->path, k, s)
                 : lm_error("%s: unknown key '%s'", c->path, k);
      lua_pop(L, 1);
      return rc;
    }
  }
  if (get_string(L, c->path, "url", &c->url)) return 1;
  if (get_locations(L, c)) return 1;
  if (get_name(L, c->path, "version_table", LM_MAX_VERSION_TABLE,
               "lmigrate adds '_history' for the history table, and "
               "PostgreSQL cuts names at 63 bytes", &c->version_table) ||
      get_name(L, c->path, "version_table_schema", LM_MAX_NAME,
               "PostgreSQL's limit on names", &c->version_table_schema))
    return 1;
  if (get_string(L, c->path, "revision_template", &c->revision_template))
    return 1;
  t = rawfield(L, "transaction_per_migration");
  if (t == LUA_TBOOLEAN) c->transaction_per_migration = lua_toboolean(L, -1);
  else if (t != LUA_TNIL) {
    lua_pop(L, 1);
    return lm_error("%s: 'transaction_per_migration' must be true or false",
                    c->path);
  }
  lua_pop(L, 1);
  if (get_seconds(L, c->path, "lock_timeout", &c->lock_timeout_ms) ||
      get_seconds(L, c->path, "ddl_lock_timeout", &c->ddl_lock_timeout_ms) ||
      get_seconds(L, c->path, "statement_timeout",
                  &c->statement_timeout_ms) ||
      get_seconds(L, c->path, "max_lock_hold", &c->max_lock_hold_ms) ||
      get_seconds(L, c->path, "max_replica_lag", &c->max_replica_lag_ms) ||
      get_replica_urls(L, c))
    return 1;
  t = rawfield(L, "lock_retries");
  if (t == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
      lua_tointeger(L, -1) <= 100)
    c->lock_retries = (int)lua_tointeger(L, -1);
  else if (t != LUA_TNIL) {
    lua_pop(L, 1);
    return lm_error("%s: 'lock_retries' must be an integer from 0 to 100",
                    c->path);
  }
  lua_pop(L, 1);
  if (get_string(L, c->path, "schema", &c->schema) ||
      read_autogenerate(L, c))
    return 1;
  /* lint: "warn" | "error" | "off" or { mode =, disable =, rules_path = };
  ** its contents are checked by the lint engine (lua/lmigrate/lint.lua) */
  t = rawfield(L, "lint");
  if (t == LUA_TSTRING || t == LUA_TTABLE) {
    c->lint_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
    if (t != LUA_TNIL)
      return lm_error("%s: 'lint' must be \"warn\", \"error\", \"off\" or "
                      "a table { mode =, disable =, rules_path = }", c->path);
  }
  t = rawfield(L, "hooks");
  if (t == LUA_TTABLE) {
    if (check_hooks(L, c->path)) return 1;
    c->hooks_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
    if (t != LUA_TNIL)
      return lm_error("%s: 'hooks' must be a table of functions", c->path);
  }
  return 0;
}

/* An error when two version locations name the same directory (compared
** by realpath; a location that cannot be resolved is reported when it is
** read). */
static int check_locations(const struct lm_config *c) {
  char (*real)[PATH_MAX];
  int i, j, rc = 0;
  if (c->nlocations < 2) return 0;
  real = calloc((size_t)c->nlocations, sizeof *real);
  if (real == NULL) return lm_error("out of memory");
  for (i = 0; i < c->nlocations && rc == 0; i++) {
    if (realpath(c->locations[i], real[i]) == NULL) real[i][0] = '\0';
    for (j = 0; j < i && rc == 0; j++) {
      if (real[i][0] == '\0' || strcmp(real[i], real[j]) != 0) continue;
      if (strcmp(c->locations[i], c->locations[j]) == 0)
        rc = lm_error("%s: version_locations lists '%s' twice",
                      c->path ? c->path : "lmigrate.lua", c->locations[j]);
      else
        rc = lm_error("%s: version_locations lists '%s' twice (also as "
                      "'%s')", c->path ? c->path : "lmigrate.lua",
                      c->locations[j], c->locations[i]);
    }
  }
  free(real);
  return rc;
}

/* Run the config chunk at path; leaves the returned table on the stack. */
static int run_chunk(struct lm_host *h, const char *path) {
  lua_State *L = h->L;
  if (luaL_loadfilex(L, path, "t") != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    int rc = lm_load_error(path, msg, strstr(msg, "binary chunk") != NULL);
    lua_pop(L, 1);
    return rc;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->xref);
  if (lm_host_pcall(h, 1, 1)) {
    int rc = lm_error("%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return rc;
  }
  if (!lua_istable(L, -1)) {
    int rc = lm_error("%s must return a table (got %s)", path,
                      luaL_typename(L, -1));
    lua_pop(L, 1);
    return rc;
  }
  return 0;
}

int lm_host_load_config(struct lm_host *h) {
  struct lm_config *c = &h->cfg;
  const char *env;
  int rc = 0;
  c->transaction_per_migration = 1;
  c->hooks_ref = LUA_NOREF;
  c->autogen_include_ref = LUA_NOREF;
  c->lint_ref = LUA_NOREF;
  c->lock_timeout_ms = LM_DEFAULT_LOCK_TIMEOUT_MS;
  c->ddl_lock_timeout_ms = LM_DEFAULT_DDL_LOCK_TIMEOUT_MS;
  c->statement_timeout_ms = LM_DEFAULT_STATEMENT_TIMEOUT_MS;
  c->lock_retries = LM_DEFAULT_LOCK_RETRIES;
  c->max_lock_hold_ms = LM_DEFAULT_MAX_LOCK_HOLD_MS;
  c->max_replica_lag_ms = LM_DEFAULT_MAX_REPLICA_LAG_MS;
  if (h->config_opt) {
    if (access(h->config_opt, R_OK) != 0)
      return lm_error("config file '%s' not found (-c)", h->config_opt);
    c->path = xstrdup(h->config_opt);
  } else if (!h->no_config_file && access("lmigrate.lua", F_OK) == 0) {
    c->path = xstrdup("lmigrate.lua");
  }
  if (c->path) {
    if (run_chunk(h, c->path)) return 1;
    rc = read_table(h);
    lua_pop(h->L, 1);
    if (rc) return rc;
  }
  if (c->nlocations == 0 && add_location(c, "versions")) return 1;
  if (resolve_schema(c)) return 1;
  if (check_locations(c)) return 1;
  if (c->version_table == NULL)
    c->version_table = xstrdup(LM_DEFAULT_VERSION_TABLE);
  c->history_table = malloc(strlen(c->version_table) + 9);
  if (c->history_table == NULL) return lm_error("out of memory");
  strcpy(c->history_table, c->version_table);
  strcat(c->history_table, "_history");
  if (h->lock_timeout_opt >= 0) c->lock_timeout_ms = h->lock_timeout_opt;
  if (h->ddl_lock_timeout_opt >= 0)
    c->ddl_lock_timeout_ms = h->ddl_lock_timeout_opt;
  if (h->statement_timeout_opt >= 0)
    c->statement_timeout_ms = h->statement_timeout_opt;
  if (h->max_lock_hold_opt >= 0) c->max_lock_hold_ms = h->max_lock_hold_opt;
  if (h->max_replica_lag_opt >= 0)
    c->max_replica_lag_ms = h->max_replica_lag_opt;
  if (h->url_opt) env = h->url_opt;
  else if ((env = getenv("LMIGRATE_URL")) && *env) ;
  else if ((env = getenv("DATABASE_URL")) && *env) ;
  else env = NULL;
  if (env) {
    free(c->url);
    c->url = xstrdup(env);
  }
  return 0;
}
