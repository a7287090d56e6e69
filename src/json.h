/*
** json.h: one small streaming JSON writer for every --json output
** (docs/json.md). The writer tracks nesting and commas, escapes strings
** (control characters as \uXXXX, invalid UTF-8 bytes as U+FFFD) and never
** allocates: callers emit values in order and never build JSON text by
** hand.
*/
#ifndef LM_JSON_H
#define LM_JSON_H

#include <stddef.h>
#include <stdio.h>

#define LM_JSON_MAXDEPTH 32

struct lm_json {
  FILE *f;                    /* borrowed: where the text goes */
  int depth;                  /* open objects/arrays */
  unsigned char nonempty[LM_JSON_MAXDEPTH];  /* per level: has elements */
  unsigned char is_object[LM_JSON_MAXDEPTH]; /* per level: { not [ */
  int after_key;              /* a key was written, its value comes next */
};

void lm_json_init(struct lm_json *j, FILE *f);
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
