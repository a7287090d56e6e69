/*
** op_checkpoint.c: a walk's checkpoint row in lmigrate_backfill
** (op_walk.h), one per (revision, walk name): the last committed key,
** rows done, and whether the walk finished. The key is stored as text,
** <tag><len>:<payload> per key column (tags i f t b B; blobs in hex), so
** any key type round-trips exactly. The row is written inside each
** batch's transaction, so it always matches the committed work.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

#include "op_int.h"
#include "op_walk.h"

#define CP_TABLE LM_CHECKPOINT_TABLE

/* Append the key at stack slot (LAST/NEXT) with types t, encoded as
** <tag><len>:<payload> per value (tags i f t b B; blobs in hex). */
static void encode_key(lua_State *L, struct walk *w, int slot,
                       const enum lm_vtype *t, struct lm_sqlbuf *sb) {
  int i;
  for (i = 0; i < w->nkeys; i++) {
    size_t n, j;
    const char *s;
    lua_rawgeti(L, slot, i + 1);
    if (t[i] == LM_VBOOL) {
      lm_sb_printf(sb, "B1:%d", lua_toboolean(L, -1));
    } else if (t[i] == LM_VINT) {
      char num[32];
      snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -1));
      lm_sb_printf(sb, "i%zu:%s", strlen(num), num);
    } else if (t[i] == LM_VFLOAT) {
      char num[40];
      snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, -1));
      lm_sb_printf(sb, "f%zu:%s", strlen(num), num);
    } else {
      s = lua_tolstring(L, -1, &n);
      if (s == NULL) {
        s = "";
        n = 0;
      }
      if (t[i] == LM_VBLOB) {
        lm_sb_printf(sb, "b%zu:", 2 * n);
        for (j = 0; j < n; j++) lm_sb_printf(sb, "%02x", (unsigned char)s[j]);
      } else {
        lm_sb_printf(sb, "t%zu:", n);
        lm_sb_addn(sb, s, n);
      }
    }
    lua_pop(L, 1);
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decode s (length n) into S_LAST / w->ltype. 0, or 1 when malformed. */
static int decode_key(lua_State *L, struct walk *w, const char *s, size_t n) {
  const char *p = s, *end = s + n;
  int i;
  for (i = 0; i < w->nkeys; i++) {
    char tag, *e;
    unsigned long long len;
    if (p >= end) return 1;
    tag = *p++;
    len = strtoull(p, &e, 10);
    if (e == p || e >= end || *e != ':' || len > (size_t)(end - e - 1))
      return 1;
    p = e + 1;
    switch (tag) {
    case 'i':
    case 'B':
    case 'f': {
      char num[48];
      if (len >= sizeof num) return 1;
      memcpy(num, p, len);
      num[len] = '\0';
      if (tag == 'i') lua_pushinteger(L, (lua_Integer)strtoll(num, NULL, 10));
      else if (tag == 'f') lua_pushnumber(L, strtod(num, NULL));
      else lua_pushboolean(L, num[0] == '1');
      w->ltype[i] = tag == 'i' ? LM_VINT : tag == 'f' ? LM_VFLOAT : LM_VBOOL;
      break;
    }
    case 't':
      lua_pushlstring(L, p, len);
      w->ltype[i] = LM_VTEXT;
      break;
    case 'b': {
      luaL_Buffer b;
      size_t j;
      if (len % 2) return 1;
      luaL_buffinit(L, &b);
      for (j = 0; j < len; j += 2) {
        int hi = hexval(p[j]), lo = hexval(p[j + 1]);
        if (hi < 0 || lo < 0) return 1;
        luaL_addchar(&b, (char)(hi * 16 + lo));
      }
      luaL_pushresult(&b);
      w->ltype[i] = LM_VBLOB;
      break;
    }
    default:
      return 1;
    }
    lua_rawseti(L, S_LAST, i + 1);
    p += len;
  }
  return p == end ? 0 : 1;
}

/* Create the checkpoint table if missing, then read this walk's row (or
** insert a fresh one). Returns 1 when the walk finished in an earlier run. */
int lm_walk_load_checkpoint(lua_State *L, struct walk *w) {
  struct lm_sqlbuf *sb = lm_op_newsb(L);
  struct lm_value p[3], v[3];
  struct lm_err err;
  struct wcur *wc;
  int st, done = 0, found = 0;
  lm_dialect_sqlf(w->d, sb, "CREATE TABLE IF NOT EXISTS %I (%I VARCHAR(64) "
                  "NOT NULL, %I VARCHAR(255) NOT NULL, %I TEXT, %I BIGINT NOT "
                  "NULL DEFAULT 0, %I INTEGER NOT NULL DEFAULT 0, %I "
                  "VARCHAR(32), PRIMARY KEY (%I, %I))", CP_TABLE, "revision",
                  "name", "last_key", "rows_done", "done", "updated_at",
                  "revision", "name");
  lm_err_clear(&err);
  if (w->be->exec(w->c, lm_sb_str(sb), 0, NULL, NULL, &err))
    lm_walk_db_failed(L, w, &err, 0);
  lm_sb_reset(sb);
  lm_dialect_sqlf(w->d, sb, "SELECT %I, %I, %I FROM %I WHERE %I = $1 AND "
                  "%I = $2", "last_key", "rows_done", "done", CP_TABLE,
                  "revision", "name");
  lm_walk_text(&p[0], w->revision);
  lm_walk_text(&p[1], w->name);
  if (lm_walk_query(L, w, lm_sb_str(sb), 2, p, &wc, &err))
    lm_walk_db_failed(L, w, &err, 0);
  st = w->be->cursor_step(wc->cur, &err);
  if (st < 0) {
    lm_walk_closecur(wc);
    lm_walk_db_failed(L, w, &err, 0);
  }
  if (st == 1) {
    int i;
    found = 1;
    for (i = 0; i < 3; i++) w->be->cursor_value(wc->cur, i, &v[i]);
    w->rows_done = v[1].type == LM_VINT ? v[1].i : 0;
    done = v[2].type == LM_VINT && v[2].i != 0;
    if (!done && v[0].type == LM_VTEXT) {
      if (decode_key(L, w, v[0].s, v[0].n)) {
        lm_walk_closecur(wc);
        lm_walk_error(L, w, "its checkpoint row in " CP_TABLE " has an "
                      "unreadable last_key; delete that row to start over");
      }
      w->has_last = 1;
    }
  }
  lm_walk_closecur(wc);
  lua_pop(L, 1);
  if (!found) {
    lm_sb_reset(sb);
    lm_dialect_sqlf(w->d, sb, "INSERT INTO %I (%I, %I) VALUES ($1, $2)",
                    CP_TABLE, "revision", "name");
    lm_err_clear(&err);
    if (w->be->exec(w->c, lm_sb_str(sb), 2, p, NULL, &err))
      lm_walk_db_failed(L, w, &err, 0);
  }
  lua_pop(L, 1);
  return done;
}

/* Write the checkpoint inside the open batch: the key at S_NEXT (or NULL
** and done = 1 when finished). */
int lm_walk_save_checkpoint(lua_State *L, struct walk *w, long long rows,
                            int finished, struct lm_err *err) {
  struct lm_sqlbuf *sb = lm_op_newsb(L), *key = lm_op_newsb(L);
  struct lm_value p[5];
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  int rc;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  lm_dialect_sqlf(w->d, sb, "UPDATE %I SET %I = $3, %I = $4, %I = %d, %I = $5 "
                  "WHERE %I = $1 AND %I = $2", CP_TABLE, "last_key",
                  "rows_done", "done", finished, "updated_at", "revision",
                  "name");
  if (!finished) encode_key(L, w, S_NEXT, w->ntype, key);
  lm_walk_text(&p[0], w->revision);
  lm_walk_text(&p[1], w->name);
  lm_walk_text(&p[2], finished ? NULL : lm_sb_str(key));
  lm_walk_int(&p[3], rows);
  lm_walk_text(&p[4], stamp);
  lm_err_clear(err);
  rc = w->be->exec(w->c, lm_sb_str(sb), 5, p, NULL, err);
  lua_pop(L, 2);
  return rc;
}
