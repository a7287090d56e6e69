/*
** url.h: database URLs: which backend, the SQLite path, and a printable
** form with the password replaced by "***". Pure C.
*/
#ifndef LM_URL_H
#define LM_URL_H

#include "err.h"

enum lm_url_kind { LM_URL_SQLITE, LM_URL_POSTGRES };

struct lm_url {
  enum lm_url_kind kind;
  char *raw;        /* owned; the URL as given (postgres:// normalised to postgresql://) */
  char *redacted;   /* owned; raw with the password shown as *** */
  char *path;       /* owned; SQLite file path or ":memory:"; NULL for PostgreSQL */
  char *driver;     /* owned; the SQLAlchemy driver dropped from
                    ** scheme+driver:// (psycopg2, asyncpg, pysqlite), or NULL */
};

/* Parse s into *out (zeroed first). Accepts sqlite:PATH, sqlite:///rel,
** sqlite:////abs, sqlite::memory:, sqlite:// (memory), postgresql://...,
** postgres://..., and SQLAlchemy's scheme+driver spellings
** (postgresql+psycopg2://, postgresql+asyncpg://, sqlite+pysqlite:///...),
** whose driver is dropped (kept in out->driver). Errors name the URL
** (redacted) and the accepted forms. */
int lm_url_parse(const char *s, struct lm_url *out, struct lm_err *err);
void lm_url_free(struct lm_url *u);     /* NULL-safe; frees members only */
/* A malloc'd copy of s with any password masked; caller frees; NULL on
** OOM. Works on arbitrary text that is not a valid URL: any `user:pw@`
** shape is masked (from the first ':' after `scheme://` or the start of
** the text to the LAST '@'), as is every `password=` value; text without
** either is returned unchanged. SQLite URLs are paths and kept whole. */
char *lm_url_redact(const char *s);
/* A malloc'd copy of text (a message from libpq, say) in which every
** occurrence of u->raw is replaced by u->redacted, then every remaining
** occurrence of one of u->raw's passwords, as written or percent-decoded,
** by "***"; caller frees; NULL on OOM. */
char *lm_url_mask(const struct lm_url *u, const char *text);

#endif
