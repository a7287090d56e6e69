/*
** json.c: the streaming JSON writer (json.h). Output is compact, one
** document per line; strings are UTF-8 with every control character and
** every byte that is not part of a valid UTF-8 sequence escaped, so the
** output always parses.
*/
#include <math.h>
#include <string.h>

#include <lua.h>

#include "json.h"

void lm_json_init(struct lm_json *j, FILE *f) {
  memset(j, 0, sizeof *j);
  j->f = f;
}

void lm_json_init_lua(struct lm_json *j, lua_State *L, int collect) {
  memset(j, 0, sizeof *j);
  j->L = L;
  j->collect = collect;
}

/* Lua mode: the value on top of the stack is complete; store it in its
** container (after its key, for an object), or in the collect list. */
static void lua_attach(struct lm_json *j) {
  lua_State *L = j->L;
  int level = j->depth - 1;
  j->after_key = 0;
  if (j->depth == 0) {
    if (j->collect) lua_rawseti(L, j->collect, ++j->ncollected);
    return;
  }
  if (level >= LM_JSON_MAXDEPTH) {
    lua_pop(L, 1);
  } else if (j->is_object[level]) {
    lua_rawset(L, -3);      /* table, key, value */
  } else {
    lua_rawseti(L, -2, ++j->count[level]);
  }
}

/* The separator before a value: a comma after an earlier element of the
** same container, nothing after a key. */
static void sep(struct lm_json *j) {
  if (j->after_key) {
    j->after_key = 0;
    return;
  }
  if (j->depth > 0 && j->depth <= LM_JSON_MAXDEPTH) {
    if (j->nonempty[j->depth - 1]) fputc(',', j->f);
    j->nonempty[j->depth - 1] = 1;
  }
}

static void open_container(struct lm_json *j, int is_object) {
  if (j->L) {
    j->after_key = 0;
    lua_newtable(j->L);
    if (j->depth < LM_JSON_MAXDEPTH) {
      j->count[j->depth] = 0;
      j->is_object[j->depth] = (unsigned char)is_object;
    }
    j->depth++;
    return;
  }
  sep(j);
  fputc(is_object ? '{' : '[', j->f);
  if (j->depth < LM_JSON_MAXDEPTH) {
    j->nonempty[j->depth] = 0;
    j->is_object[j->depth] = (unsigned char)is_object;
  }
  j->depth++;
}

void lm_json_object(struct lm_json *j) { open_container(j, 1); }
void lm_json_array(struct lm_json *j) { open_container(j, 0); }

void lm_json_end(struct lm_json *j) {
  int obj;
  if (j->depth == 0) return;
  j->depth--;
  if (j->L) {
    lua_attach(j);
    return;
  }
  obj = j->depth < LM_JSON_MAXDEPTH ? j->is_object[j->depth] : 1;
  fputc(obj ? '}' : ']', j->f);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len, i;
  unsigned cp;
  if (s[0] < 0xC2) return 0;            /* continuation or overlong lead */
  if (s[0] < 0xE0) { len = 2; cp = s[0] & 0x1F; }
  else if (s[0] < 0xF0) { len = 3; cp = s[0] & 0x0F; }
  else if (s[0] < 0xF5) { len = 4; cp = s[0] & 0x07; }
  else return 0;
  if (len > n) return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 ||
      cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

static void put_string(FILE *f, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  fputc('"', f);
  while (i < n) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
      i++;
    } else if (c == '\n') {
      fputs("\\n", f);
      i++;
    } else if (c == '\t') {
      fputs("\\t", f);
      i++;
    } else if (c < 0x20 || c == 0x7F) {
      fprintf(f, "\\u%04x", c);
      i++;
    } else if (c < 0x80) {
      fputc(c, f);
      i++;
    } else {
      size_t len = utf8_len(s + i, n - i);
      if (len == 0) {
        fputs("\\ufffd", f);
        i++;
      } else {
        fwrite(s + i, 1, len, f);
        i += len;
      }
    }
  }
  fputc('"', f);
}

void lm_json_key(struct lm_json *j, const char *k) {
  if (j->L) {
    lua_pushstring(j->L, k);
    j->after_key = 1;
    return;
  }
  sep(j);
  put_string(j->f, k, strlen(k));
  fputc(':', j->f);
  j->after_key = 1;
}

void lm_json_strn(struct lm_json *j, const char *s, size_t n) {
  if (j->L) {
    lua_pushlstring(j->L, s, n);
    lua_attach(j);
    return;
  }
  sep(j);
  put_string(j->f, s, n);
}

void lm_json_str(struct lm_json *j, const char *s) {
  if (s == NULL) lm_json_null(j);
  else lm_json_strn(j, s, strlen(s));
}

void lm_json_int(struct lm_json *j, long long v) {
  if (j->L) {
    lua_pushinteger(j->L, (lua_Integer)v);
    lua_attach(j);
    return;
  }
  sep(j);
  fprintf(j->f, "%lld", v);
}

void lm_json_num(struct lm_json *j, double v) {
  if (j->L) {
    if (isfinite(v)) lua_pushnumber(j->L, v);
    else lua_pushnil(j->L);
    lua_attach(j);
    return;
  }
  sep(j);
  if (isfinite(v)) fprintf(j->f, "%.17g", v);
  else fputs("null", j->f);
}

void lm_json_bool(struct lm_json *j, int v) {
  if (j->L) {
    lua_pushboolean(j->L, v);
    lua_attach(j);
    return;
  }
  sep(j);
  fputs(v ? "true" : "false", j->f);
}

void lm_json_null(struct lm_json *j) {
  if (j->L) {
    lua_pushnil(j->L);
    lua_attach(j);
    return;
  }
  sep(j);
  fputs("null", j->f);
}

void lm_json_kstr(struct lm_json *j, const char *k, const char *s) {
  lm_json_key(j, k);
  lm_json_str(j, s);
}

void lm_json_kint(struct lm_json *j, const char *k, long long v) {
  lm_json_key(j, k);
  lm_json_int(j, v);
}

void lm_json_knum(struct lm_json *j, const char *k, double v) {
  lm_json_key(j, k);
  lm_json_num(j, v);
}

void lm_json_kbool(struct lm_json *j, const char *k, int v) {
  lm_json_key(j, k);
  lm_json_bool(j, v);
}

void lm_json_done(struct lm_json *j) {
  if (j->L) return;
  fputc('\n', j->f);
  fflush(j->f);
}
