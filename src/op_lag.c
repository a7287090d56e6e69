/*
** op_lag.c: the replica-lag pause of op.backfill and op.each_batch
** (op_walk.h). Between batches the walk asks how far the streaming
** replicas are behind and, while one lags more than max_replica_lag,
** waits (500 ms doubling to 5 s between checks), saying so on stderr.
** A replica's lag is the larger of two measures:
**  - the server's own pg_stat_replication.replay_lag (read on the
**    primary), counted only while that replica's replay_lsn is behind
**    the primary's WAL position: once it has caught up the column keeps
**    showing an old value for a while, then NULL;
**  - the walk's WAL clock: at every check the walk notes (time, the
**    primary's pg_current_wal_lsn()); a replica whose replay position is
**    still before the position noted at time t lags at least now - t.
**    This sees a lag from the first batch on (replay_lag stays NULL until
**    the replica replays something), and is the only measure for the
**    replicas of replica_urls, whose own pg_last_wal_replay_lsn() is
**    read on a connection the walk owns.
** Invariant: the box holding those connections sits in a to-be-closed
** slot above S_TOP, so every way out of the walk closes them.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

#include "config.h"
#include "interrupt.h"
#include "log.h"
#include "op_walk.h"
#include "url.h"

#define LAG_MT "lmigrate.walklag"
#define MAXREP LM_MAX_REPLICA_URLS  /* replica_urls entries */
#define MAXSEEN 64                /* pg_stat_replication rows per check */
#define NSAMPLES 64               /* WAL clock samples kept */
#define CHECK_EVERY_MS 100        /* at most one check per this (ms) */
#define FIRST_WAIT_MS 500
#define LONGEST_WAIT_MS 5000
#define REPORT_EVERY_MS 5000      /* "still paused" lines */

struct lm_lag {
  double max_s;                   /* max_replica_lag in seconds (> 0) */
  struct lm_conn *rep[MAXREP];    /* owned; be->close; NULL while down */
  char repname[MAXREP][160];      /* the replica_urls entry, redacted */
  const char *repurl[MAXREP];     /* borrowed from the config */
  int nrep;
  int warned[MAXREP];             /* replica i's failure was reported */
  int warned_hidden;              /* pg_stat_replication rows unreadable */
  struct { double t; long long lsn; } s[NSAMPLES];   /* WAL clock */
  int ns;
  double last_check;
};

/* __gc / __close of the box: close the replica connections. Idempotent. */
static int lag_close(lua_State *L) {
  struct lm_lag *g = luaL_checkudata(L, 1, LAG_MT);
  int i;
  for (i = 0; i < g->nrep; i++) {
    if (g->rep[i] != NULL) g->rep[i]->be->close(g->rep[i]);
    g->rep[i] = NULL;
  }
  return 0;
}

/* Sleep ms in slices; returns early once an interrupt arrived. */
static void lag_nap(double ms) {
  while (ms > 0 && !lm_interrupted) {
    double step = ms > 100 ? 100 : ms;
    struct timespec ts;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(step * 1e6);
    nanosleep(&ts, NULL);
    ms -= step;
  }
}

/* Note (now, lsn) on the WAL clock. Samples a replica has passed are
** dropped (keeping the newest of them); when the clock is full every
** other sample goes, so the oldest ones, which set the lag, stay. */
static void clock_note(struct lm_lag *g, double now, long long lsn,
                       long long min_replayed) {
  int i, j;
  if (lsn < 0 || (g->ns > 0 && g->s[g->ns - 1].lsn >= lsn)) return;
  for (i = 0; i + 1 < g->ns && g->s[i + 1].lsn <= min_replayed; i++) ;
  if (i > 0) {
    memmove(g->s, g->s + i, sizeof g->s[0] * (size_t)(g->ns - i));
    g->ns -= i;
  }
  if (g->ns == NSAMPLES) {
    for (i = 1, j = 1; i < g->ns; i += 2) g->s[j++] = g->s[i];
    g->ns = j;
  }
  g->s[g->ns].t = now;
  g->s[g->ns].lsn = lsn;
  g->ns++;
}

/* Seconds a replica that replayed up to `replayed` is behind by the WAL
** clock: now - the time of the oldest sample past it (0: none). */
static double clock_lag(const struct lm_lag *g, double now,
                        long long replayed) {
  int i;
  if (replayed < 0) return 0;
  for (i = 0; i < g->ns; i++)
    if (g->s[i].lsn > replayed) return (now - g->s[i].t) / 1000.0;
  return 0;
}

/* Connect replica i of replica_urls; 0, or non-zero with err filled. */
static int rep_connect(struct lm_lag *g, int i, struct lm_err *err) {
  struct lm_url url;
  struct lm_connect_opts opts;
  const struct lm_backend *be;
  int rc = 1;
  memset(&opts, 0, sizeof opts);
  if (lm_url_parse(g->repurl[i], &url, err)) return 1;
  if ((be = lm_backend_for_url(&url, 0, err)) != NULL &&
      be->replicas != NULL)
    rc = be->connect(&url, &opts, &g->rep[i], err);
  else if (be != NULL)
    lm_err_set(err, "%s is not a PostgreSQL URL", url.redacted);
  lm_url_free(&url);
  return rc;
}

/* The worst replica lag now, in *lag (seconds) and who has it in who;
** also notes the primary's WAL position on the clock. Raises when the
** primary cannot answer; a replica of replica_urls that cannot is
** reported once and skipped (reconnected at the next check). */
static void measure(lua_State *L, struct walk *w, double *lag, char *who,
                    size_t n) {
  struct lm_lag *g = w->lag;
  struct lm_replica r[MAXSEEN];
  long long wal, recv, min_replayed = -1;
  double now = lm_now_ms(), l;
  int i, nr = 0, hidden = 0, got;
  struct lm_err err;
  lm_err_clear(&err);
  if (w->be->replicas(w->c, 0, &wal, r, MAXSEEN, &nr, &err))
    lm_walk_db_failed(L, w, &err, 0);
  *lag = 0;
  snprintf(who, n, "none");
  for (i = 0; i < nr; i++) {
    if (r[i].replay_lsn < 0) {
      hidden++;
      continue;
    }
    l = clock_lag(g, now, r[i].replay_lsn);
    if (r[i].replay_lsn < wal && r[i].replay_lag_s > l) l = r[i].replay_lag_s;
    if (l >= *lag) {
      *lag = l;
      snprintf(who, n, "%.95s", r[i].name);
    }
    if (min_replayed < 0 || r[i].replay_lsn < min_replayed)
      min_replayed = r[i].replay_lsn;
  }
  if (hidden && !g->warned_hidden && w->progress) {
    g->warned_hidden = 1;
    lm_warn("op.%s \"%s\": cannot read the replay position of %d replica%s "
            "in pg_stat_replication (the user needs the pg_monitor or "
            "pg_read_all_stats role); %s not checked", w->fname, w->table,
            hidden, hidden == 1 ? "" : "s", hidden == 1 ? "its lag is" :
            "their lag is");
  }
  for (i = 0; i < g->nrep; i++) {
    struct lm_replica one;
    lm_err_clear(&err);
    if (lm_interrupted) lm_walk_interrupted(L, w);
    if (g->rep[i] == NULL && rep_connect(g, i, &err)) goto failed;
    if (g->rep[i]->be->replicas(g->rep[i], 1, &recv, &one, 1, &got, &err))
      goto failed;
    g->warned[i] = 0;
    l = clock_lag(g, now, one.replay_lsn);
    if (l >= *lag) {
      *lag = l;
      snprintf(who, n, "%.150s", g->repname[i]);
    }
    if (min_replayed < 0 || one.replay_lsn < min_replayed)
      min_replayed = one.replay_lsn;
    continue;
  failed:
    if (lm_interrupted) lm_walk_interrupted(L, w);
    if (!g->warned[i] && w->progress)
      lm_warn("op.%s \"%s\": cannot check replica %s: %s; its lag is not "
              "checked until it answers", w->fname, w->table, g->repname[i],
              err.msg);
    g->warned[i] = 1;
    if (g->rep[i] != NULL) g->rep[i]->be->close(g->rep[i]);
    g->rep[i] = NULL;
    min_replayed = 0;     /* keep the clock: it may come back behind */
  }
  clock_note(g, now, wal, min_replayed < 0 ? wal : min_replayed);
  g->last_check = now;
}

/* Print one line of the pause (not with -q). */
static void say(struct walk *w, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
static void say(struct walk *w, const char *fmt, ...) {
  va_list ap;
  if (!w->progress) return;
  if (w->bar_dirty) {
    fputc('\n', stderr);
    w->bar_dirty = 0;
  }
  fprintf(stderr, "lmigrate: %s %s: ", w->fname, w->table);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}

void lm_lag_setup(lua_State *L, struct walk *w) {
  struct lm_lag *g;
  double max_s = w->ctx->max_replica_lag_ms / 1000.0, lag;
  char who[160];
  int i, t;
  t = lua_getfield(L, S_OPTS, "max_replica_lag");
  if (t != LUA_TNIL) {
    if (t != LUA_TNUMBER || lua_tonumber(L, -1) < 0 ||
        lua_tonumber(L, -1) > 86400)
      luaL_error(L, "op.%s: option 'max_replica_lag' must be a number of "
                 "seconds from 0 to 86400 (0: never pause)", w->fname);
    max_s = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  w->lag = NULL;
  if (max_s <= 0 || w->be->replicas == NULL) return;
  g = lua_newuserdatauv(L, sizeof *g, 0);
  memset(g, 0, sizeof *g);
  if (luaL_newmetatable(L, LAG_MT)) {
    lua_pushcfunction(L, lag_close);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__close");
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_toclose(L, -1);
  g->max_s = max_s;
  for (i = 0; i < w->ctx->nreplica_urls && i < MAXREP; i++) {
    struct lm_replica one;
    struct lm_err err;
    long long recv;
    int got;
    char *shown = lm_url_redact(w->ctx->replica_urls[i]);
    g->repurl[i] = w->ctx->replica_urls[i];
    snprintf(g->repname[i], sizeof g->repname[i], "%s",
             shown ? shown : "(out of memory)");
    free(shown);
    g->nrep = i + 1;
    lm_err_clear(&err);
    if (rep_connect(g, i, &err) ||
        g->rep[i]->be->replicas(g->rep[i], 1, &recv, &one, 1, &got, &err)) {
      if (lm_interrupted) lm_walk_interrupted(L, w);
      lm_walk_error(L, w, lua_pushfstring(L, "replica_urls[%d] (%s): %s; "
                                          "fix or remove the entry (the "
                                          "walk has not started)", i + 1,
                                          g->repname[i], err.msg));
    }
  }
  w->lag = g;
  measure(L, w, &lag, who, sizeof who);     /* the clock's first sample */
}

void lm_lag_wait(lua_State *L, struct walk *w) {
  struct lm_lag *g = w->lag;
  double lag, t0, wait = FIRST_WAIT_MS, reported;
  char who[160];
  if (g == NULL || lm_now_ms() - g->last_check < CHECK_EVERY_MS) return;
  measure(L, w, &lag, who, sizeof who);
  if (lag <= g->max_s) return;
  t0 = reported = lm_now_ms();
  say(w, "paused, replica lag %.1f s > max_replica_lag %g s (replica %s)",
      lag, g->max_s, who);
  while (lag > g->max_s) {
    lag_nap(wait);
    if (lm_interrupted) lm_walk_interrupted(L, w);
    measure(L, w, &lag, who, sizeof who);
    if (lag > g->max_s && lm_now_ms() - reported >= REPORT_EVERY_MS) {
      reported = lm_now_ms();
      say(w, "still paused after %.0f s, replica lag %.1f s > "
          "max_replica_lag %g s (replica %s)", (reported - t0) / 1000.0, lag,
          g->max_s, who);
    }
    wait = wait * 2 > LONGEST_WAIT_MS ? LONGEST_WAIT_MS : wait * 2;
  }
  say(w, "resumed after %.1f s paused, replica lag %.1f s",
      (lm_now_ms() - t0) / 1000.0, lag);
}
