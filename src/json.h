/*
** json.h: one small streaming JSON writer for every --json output
** (docs/json.md). The writer tracks nesting and commas, escapes strings
** (control characters as \uXXXX, invalid UTF-8 bytes as U+FFFD) and never
** allocates: callers emit values in order and never build JSON text by
** hand. The same calls can build Lua tables instead of text
** (lm_json_init_lua), so the Lua API (lua/lmigrate/init.lua) returns
** exactly the fields of the JSON output.
*/
#ifndef LM_JSON_H
#define LM_JSON_H

#include <stddef.h>
#include <stdio.h>

#define LM_JSON_MAXDEPTH 32

struct lua_State;

struct lm_json {
  FILE *f;                    /* borrowed: where the text goes, or NULL */
  struct lua_State *L;        /* borrowed: or build Lua values on its stack */
  int collect;                /* Lua: stack index of a list that receives
                              ** every finished top-level value, or 0 to
                              ** leave the value on the stack */
  int ncollected;             /* Lua: values appended to collect so far */
  int count[LM_JSON_MAXDEPTH];  /* Lua: per array level, elements so far */
  int depth;                  /* open objects/arrays */
  unsigned char nonempty[LM_JSON_MAXDEPTH];  /* per level: has elements */
  unsigned char is_object[LM_JSON_MAXDEPTH]; /* per level: { not [ */
  int after_key;              /* a key was written, its value comes next */
};

void lm_json_init(struct lm_json *j, FILE *f);
/* Build Lua values on L's stack instead: objects and arrays become
** tables, null becomes nil (a null field is absent). A finished top-level
** value is left on the stack, or appended to the list at stack index
** collect (absolute) when collect != 0. Deeper than LM_JSON_MAXDEPTH is
** not supported in this mode. */
void lm_json_init_lua(struct lm_json *j, struct lua_State *L, int collect);
void lm_json_object(struct lm_json *j);          /* { */
void lm_json_array(struct lm_json *j);           /* [ */
void lm_json_end(struct lm_json *j);             /* the matching } or ] */
/* An object key; the next call writes its value. */
void lm_json_key(struct lm_json *j, const char *k);
void lm_json_str(struct lm_json *j, const char *s);    /* NULL: null */
void lm_json_strn(struct lm_json *j, const char *s, size_t n);
void lm_json_int(struct lm_json *j, long long v);
void lm_json_num(struct lm_json *j, double v);   /* not finite: null */
void lm_json_bool(struct lm_json *j, int v);
void lm_json_null(struct lm_json *j);
/* key + value shorthands */
void lm_json_kstr(struct lm_json *j, const char *k, const char *s);
void lm_json_kint(struct lm_json *j, const char *k, long long v);
void lm_json_knum(struct lm_json *j, const char *k, double v);
void lm_json_kbool(struct lm_json *j, const char *k, int v);
/* End a top-level value: a newline, then flush (one line per document or
** event, so readers can stream). */
void lm_json_done(struct lm_json *j);

#endif
