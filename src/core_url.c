/*
** core_url.c: the url_parse, url_redact and url_mask functions of lmigrate.core,
** thin Lua wrappers over url.c for the unit specs.
** C-owned results live in a userdata box with __gc, so a Lua error (even
** out of memory while building the result) never leaks them.
*/
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "core.h"
#include "url.h"

#define URLBOX "lmigrate.urlbox"

struct urlbox {
  struct lm_url url;   /* owned; lm_url_free */
  char *text;          /* owned; free */
};

static int urlbox_gc(lua_State *L) {
  struct urlbox *b = luaL_checkudata(L, 1, URLBOX);
  lm_url_free(&b->url);
  free(b->text);
  b->text = NULL;
  return 0;
}

/* Push a new, empty box (its metatable frees whatever it later holds). */
static struct urlbox *newbox(lua_State *L) {
  struct urlbox *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(&b->url, 0, sizeof b->url);
  b->text = NULL;
  if (luaL_newmetatable(L, URLBOX)) {
    lua_pushcfunction(L, urlbox_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

/* url_parse(s) -> {kind=, path=, raw=, redacted=}; raises on a bad URL. */
static int core_url_parse(lua_State *L) {
  const char *s = lm_core_checkstring(L, 1);
  struct urlbox *b = newbox(L);
  struct lm_err err;

  lm_err_clear(&err);
  if (lm_url_parse(s, &b->url, &err) != 0)
    return luaL_error(L, "%s", err.msg);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, b->url.kind == LM_URL_SQLITE ? "sqlite" : "postgresql");
  lua_setfield(L, -2, "kind");
  if (b->url.path != NULL) {
    lua_pushstring(L, b->url.path);
    lua_setfield(L, -2, "path");
  }
  lua_pushstring(L, b->url.raw);
  lua_setfield(L, -2, "raw");
  lua_pushstring(L, b->url.redacted);
  lua_setfield(L, -2, "redacted");
  if (b->url.driver) {
    lua_pushstring(L, b->url.driver);
    lua_setfield(L, -2, "driver");
  }
  return 1;
}

/* url_redact(s) -> s with any password shown as ***. */
static int core_url_redact(lua_State *L) {
  const char *s = lm_core_checkstring(L, 1);
  struct urlbox *b = newbox(L);

  b->text = lm_url_redact(s);
  if (b->text == NULL) return luaL_error(L, "out of memory");
  lua_pushstring(L, b->text);
  return 1;
}

/* url_mask(url, text) -> text with the parsed url's raw form and its
** passwords masked (lm_url_mask); raises on a bad URL. */
static int core_url_mask(lua_State *L) {
  const char *s = lm_core_checkstring(L, 1), *text = lm_core_checkstring(L, 2);
  struct urlbox *b = newbox(L);
  struct lm_err err;
  lm_err_clear(&err);
  if (lm_url_parse(s, &b->url, &err) != 0)
    return luaL_error(L, "%s", err.msg);
  b->text = lm_url_mask(&b->url, text);
  if (b->text == NULL) return luaL_error(L, "out of memory");
  lua_pushstring(L, b->text);
  return 1;
}

static const luaL_Reg url_funcs[] = {
  {"url_mask", core_url_mask},
  {"url_parse", core_url_parse},
  {"url_redact", core_url_redact},
  {NULL, NULL}
};

void lm_core_url(lua_State *L) {
  luaL_setfuncs(L, url_funcs, 0);
}
