/*
** cmd_stairway.c: `check --stairway`, the "stairway test" the migration
** guides recommend, as a command: on a scratch database, apply the
** revisions one at a time; after each one, reflect the schema, downgrade
** that revision, check the schema is the one before it, upgrade again and
** check the schema is the one after it. Each failure is reported with the
** differences (autogen.describe). The scratch database is --scratch-url
** (which must be empty), else a temporary SQLite file, or a temporary
** database created (and dropped afterwards) on the configured PostgreSQL
** server. The configured database itself is never touched.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <lua.h>

#include "autogen.h"
#include "cmd.h"
#include "graph.h"
#include "host.h"
#include "log.h"
#include "runner.h"
#include "sqlbuf.h"

/* Close the host's connection and point it at url (copied). */
static int switch_to(struct lm_host *h, const char *url) {
  char *copy = strdup(url);
  if (copy == NULL) return lm_error("out of memory");
  if (h->conn) h->conn->be->close(h->conn);
  h->conn = NULL;
  lm_url_free(&h->url);
  memset(&h->url, 0, sizeof h->url);
  free(h->cfg.url);
  h->cfg.url = copy;
  return lm_host_connect(h, 0);
}

/* url with its database name replaced by db, into sb (postgresql://
** authority / db ? params). */
static void with_database(const char *url, const char *db,
                          struct lm_sqlbuf *sb) {
  const char *auth = strstr(url, "://");
  const char *slash, *q;
  auth = auth ? auth + 3 : url;
  slash = strchr(auth, '/');
  q = strchr(auth, '?');
  if (slash && q && q < slash) slash = NULL;
  if (slash) lm_sb_addn(sb, url, (size_t)(slash - url));
  else if (q) lm_sb_addn(sb, url, (size_t)(q - url));
  else lm_sb_add(sb, url);
  lm_sb_printf(sb, "/%s", db);
  if (q) lm_sb_add(sb, q);
}

/* Run `direction target` on the scratch database, quietly unless -v. */
static int migrate(struct lm_host *h, enum lm_direction dir,
                   const char *target) {
  struct lm_migrate_opts o;
  int v = h->verbosity, rc;
  memset(&o, 0, sizeof o);
  o.dir = dir;
  o.target = target;
  if (v <= 0) h->verbosity = -1;
  rc = lm_runner_migrate(h, &o);
  h->verbosity = v;
  return rc;
}

/* Compare the reflections at stack indexes want and got; print each
** difference after the headline. Returns 1 when they differ, 0 when not,
** -1 after an error. */
static int differs(struct lm_ag *a, int want, int got, const char *headline) {
  lua_State *L = a->h->L;
  int top = lua_gettop(L), d;
  lua_pushvalue(L, want);
  lua_pushvalue(L, got);
  lua_createtable(L, 0, 1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "renames");
  if (lm_ag_call(a, "compare", 3)) return -1;
  a->changes = lua_gettop(L);
  d = lm_ag_has_differences(a);
  if (d == 1) {
    printf("%s\n", headline);
    if (lm_ag_print_changes(a, a->changes, "    ")) d = -1;
  }
  lua_settop(L, top);
  return d;
}

/* The stairway over every revision, on the connected scratch database. */
static int walk(struct lm_host *h, struct lm_ag *a) {
  const struct lm_graph *g = h->graph;
  lua_State *L = h->L;
  struct lm_idset cur, steps;
  struct lm_err err;
  struct lm_sqlbuf line;
  int i, rc = 0, bad = 0, d;
  lm_idset_init(&cur);
  lm_idset_init(&steps);
  lm_sb_init(&line);
  lm_err_clear(&err);
  if ((rc = lm_runner_read_heads(h, &cur, 0, NULL))) goto done;
  if (cur.n > 0) {
    rc = lm_error("check --stairway: the scratch database %s is not empty "
                  "(it is at %s); give --scratch-url an empty database",
                  lm_host_url_display(h), lm_graph_rev(g, cur.v[0])->id);
    goto done;
  }
  if (lm_graph_plan(g, &cur, "heads", LM_UP, &steps, &err)) {
    rc = lm_error("check --stairway: %s", err.msg);
    goto done;
  }
  for (i = 0; i < steps.n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, steps.v[i]);
    const int *par;
    int np, before, after, top = lua_gettop(L);
    const char *down;
    par = lm_graph_parents(g, steps.v[i], &np);
    down = np == 0 ? "base" : np == 1 ? lm_graph_rev(g, par[0])->id : "-1";
    if ((rc = lm_ag_push_reflection(h))) goto done;
    before = lua_gettop(L);
    if ((rc = migrate(h, LM_UP, r->id))) goto stopped;
    if ((rc = lm_ag_push_reflection(h))) goto done;
    after = lua_gettop(L);
    if ((rc = migrate(h, LM_DOWN, down))) goto stopped;
    if ((rc = lm_ag_push_reflection(h))) goto done;
    lm_sb_reset(&line);
    lm_sb_printf(&line, "FAIL %s (%s): its downgrade does not restore the "
                 "schema before it:", r->id, r->message ? r->message : "");
    if ((d = differs(a, before, lua_gettop(L), lm_sb_str(&line))) < 0) {
      rc = 1;
      goto done;
    }
    if (d) {             /* the database is not where the next steps expect */
      rc = lm_error("check --stairway: %s's downgrade does not restore the "
                    "schema before it; stopped there (%d of %d revisions "
                    "tested)", r->id, i + 1, steps.n);
      goto done;
    }
    if ((rc = migrate(h, LM_UP, r->id))) goto stopped;
    if ((rc = lm_ag_push_reflection(h))) goto done;
    lm_sb_reset(&line);
    lm_sb_printf(&line, "FAIL %s (%s): upgrading again after its downgrade "
                 "gives another schema:", r->id, r->message ? r->message : "");
    if ((d = differs(a, after, lua_gettop(L), lm_sb_str(&line))) < 0) {
      rc = 1;
      goto done;
    }
    bad += d;
    lua_settop(L, top);
    lm_info(h, "ok   %s %s", r->id, r->message ? r->message : "");
  }
  if (bad) {
    rc = lm_error("check --stairway: %d problem%s in %d revision%s", bad,
                  bad == 1 ? "" : "s", steps.n, steps.n == 1 ? "" : "s");
  } else {
    lm_info(h, "Stairway: %d revision%s, each downgrade restores the schema "
            "before it", steps.n, steps.n == 1 ? "" : "s");
    rc = 0;
  }
  goto done;
stopped:
  lm_error("check --stairway stopped at %s: the step above failed",
           lm_graph_rev(g, steps.v[i])->id);
  rc = 1;
done:
  lm_idset_free(&cur);
  lm_idset_free(&steps);
  lm_sb_free(&line);
  return rc;
}

int lm_stairway(struct lm_host *h, const char *scratch_url) {
  struct lm_ag a;
  struct lm_sqlbuf url, sql;
  struct lm_err err;
  char *orig = NULL, tmpfile[64] = "", dbname[64] = "";
  int rc;
  lm_sb_init(&url);
  lm_sb_init(&sql);
  lm_err_clear(&err);
  h->db_must_exist = 0;                /* the scratch database is written */
  if ((rc = lm_ag_begin(h, &a))) goto done;
  if (h->cfg.url && (orig = strdup(h->cfg.url)) == NULL) {
    rc = lm_error("out of memory");
    goto done;
  }
  if (scratch_url) {
    lm_sb_add(&url, scratch_url);
  } else if (h->cfg.url == NULL || strncmp(h->cfg.url, "postgres", 8) != 0) {
    if (h->cfg.url == NULL) {          /* says how to set one */
      rc = lm_host_connect(h, 0);
      goto done;
    }
    int fd;
    snprintf(tmpfile, sizeof tmpfile, "/tmp/lmigrate-stairway-XXXXXX");
    if ((fd = mkstemp(tmpfile)) < 0) {
      rc = lm_error("check --stairway: cannot create a temporary file");
      tmpfile[0] = '\0';
      goto done;
    }
    close(fd);
    lm_sb_printf(&url, "sqlite:%s", tmpfile);
  } else {
    unsigned char b[6];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) memset(b, 7, sizeof b);
    snprintf(dbname, sizeof dbname, "lmigrate_stairway_%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5]);
    if ((rc = lm_host_connect(h, 0))) {
      dbname[0] = '\0';
      goto done;
    }
    lm_sb_printf(&sql, "CREATE DATABASE \"%s\"", dbname);
    if (h->conn->be->exec(h->conn, lm_sb_str(&sql), 0, NULL, NULL, &err)) {
      dbname[0] = '\0';
      rc = lm_error("check --stairway: cannot create a scratch database on "
                    "%s: %s; give --scratch-url an empty database",
                    lm_host_url_display(h), err.msg);
      goto done;
    }
    with_database(h->cfg.url, dbname, &url);
  }
  if (!lm_sb_ok(&url)) {
    rc = lm_error("out of memory");
    goto done;
  }
  if ((rc = switch_to(h, lm_sb_str(&url))) == 0) {
    lm_info(h, "Stairway on %s", scratch_url ? lm_host_url_display(h)
            : "a temporary database");
    rc = walk(h, &a);
  }
done:
  lm_ag_end(&a);
  if (tmpfile[0]) unlink(tmpfile);
  if (dbname[0] && orig && switch_to(h, orig) == 0) {
    lm_sb_reset(&sql);
    lm_sb_printf(&sql, "DROP DATABASE IF EXISTS \"%s\"", dbname);
    if (h->conn->be->exec(h->conn, lm_sb_str(&sql), 0, NULL, NULL, &err))
      lm_warn("could not drop the scratch database %s: %s", dbname, err.msg);
  }
  free(orig);
  lm_sb_free(&url);
  lm_sb_free(&sql);
  return rc;
}
