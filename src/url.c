/*
** url.c: database URLs. Decides the kind (SQLite or PostgreSQL), extracts
** the SQLite file path, and masks passwords for printing.
** Invariant: no message built here ever contains an unredacted password;
** every error names the URL through lm_url_redact().
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "url.h"

#define ACCEPTED_FORMS \
  "sqlite:PATH, sqlite:///relative.db, sqlite:////absolute/path.db, " \
  "sqlite::memory:, postgresql://user:pass@host:port/dbname " \
  "(or postgres://...)"

static char *dupn(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p == NULL) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* Length of the URL scheme at s ("postgresql" in "postgresql://"), or 0
** when s does not start with `scheme://`. */
static size_t scheme_len(const char *s) {
  size_t i = 0;
  if (!isalpha((unsigned char)s[0])) return 0;
  while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
         s[i] == '.')
    i++;
  return strncmp(s + i, "://", 3) == 0 ? i : 0;
}

/* Append n bytes of s to the buffer at *o (enough room is guaranteed by
** the caller's sizing). */
static void put(char **o, const char *s, size_t n) {
  memcpy(*o, s, n);
  *o += n;
}

/* 1 when the text at p starts a `password=` key (case-insensitive) at a
** parameter boundary: start of text, after '?', '&' or whitespace. */
static int at_password_key(const char *start, const char *p) {
  if (p != start && p[-1] != '?' && p[-1] != '&' &&
      !isspace((unsigned char)p[-1]))
    return 0;
  return strncasecmp(p, "password=", 9) == 0;
}

/* See url.h. The result is never longer than s plus a few "***" markers:
** each masked run is replaced by 3 bytes, and an empty run is never
** masked, so len(result) <= len(s) + 2 * (number of masked runs). */
char *lm_url_redact(const char *s) {
  size_t len, slen, cap;
  const char *p, *auth, *auth_end, *at = NULL, *colon = NULL;
  char *out, *o;

  if (s == NULL) return NULL;
  len = strlen(s);
  cap = len + 3 * (len / 2 + 2) + 1;
  out = malloc(cap);
  if (out == NULL) return NULL;
  o = out;
  p = s;

  /* scheme://user:PASSWORD@host: mask the password. SQLite URLs carry no
  ** credentials, so their "authority" (a path) is left alone. The userinfo
  ** ends at the last '@' before any query or fragment, so a password
  ** containing a raw '@' or '/' is masked whole. */
  slen = scheme_len(s);
  if (slen > 0 && !(slen == 6 && strncasecmp(s, "sqlite", 6) == 0)) {
    auth = s + slen + 3;
    auth_end = auth + strcspn(auth, "?#");
    for (const char *q = auth; q < auth_end; q++)
      if (*q == '@') at = q;
    if (at != NULL) colon = memchr(auth, ':', (size_t)(at - auth));
    if (colon != NULL && colon + 1 < at) {
      put(&o, s, (size_t)(colon + 1 - s));
      put(&o, "***", 3);
      p = at;
    }
  }

  /* password=VALUE anywhere (query parameter or key=value text). */
  while (*p) {
    if (at_password_key(s, p)) {
      size_t vlen;
      put(&o, p, 9);
      p += 9;
      vlen = strcspn(p, "&# \t\r\n");
      if (vlen > 0) {
        put(&o, "***", 3);
        p += vlen;
      }
      continue;
    }
    *o++ = *p++;
  }
  *o = '\0';
  return out;
}

void lm_url_free(struct lm_url *u) {
  if (u == NULL) return;
  free(u->raw);
  free(u->redacted);
  free(u->path);
  u->raw = u->redacted = u->path = NULL;
}

/* Fill err with "<what> 'redacted-url'; expected <forms>". Returns 1. */
static int url_error(struct lm_err *err, const char *what, const char *s) {
  char *red = lm_url_redact(s);
  lm_err_set(err, "%s '%s'; expected %s", what,
             red != NULL ? red : "(out of memory)", ACCEPTED_FORMS);
  free(red);
  return 1;
}

/* The SQLite path named by the text after "sqlite:", as a malloc'd string
** (caller frees), "" for an empty path (an error for the caller to
** report), or NULL on allocation failure. *bad is set for a form that is
** not accepted (sqlite://host/...). */
static char *sqlite_path(const char *rest, int *bad) {
  *bad = 0;
  if (strcmp(rest, ":memory:") == 0 || strcmp(rest, "//") == 0)
    return dupn(":memory:", 8);
  if (strncmp(rest, "//", 2) == 0) {
    /* SQLAlchemy: sqlite:/// + relative path, sqlite://// + absolute. */
    if (rest[2] != '/') {
      *bad = 1;
      return dupn("", 0);
    }
    rest += 3;
  }
  /* The system SQLite interprets "file:..." names as URIs even without
  ** SQLITE_OPEN_URI; "./" keeps a relative name a plain file name. */
  if (strncmp(rest, "file:", 5) == 0) {
    char *p = malloc(strlen(rest) + 3);
    if (p == NULL) return NULL;
    memcpy(p, "./", 2);
    strcpy(p + 2, rest);
    return p;
  }
  return dupn(rest, strlen(rest));
}

/* See url.h. On error *out is left zeroed (nothing to free). */
int lm_url_parse(const char *s, struct lm_url *out, struct lm_err *err) {
  memset(out, 0, sizeof *out);
  if (s == NULL || *s == '\0')
    return lm_err_set(err, "no database URL given; expected %s",
                      ACCEPTED_FORMS);

  if (strncasecmp(s, "sqlite:", 7) == 0) {
    int bad;
    out->kind = LM_URL_SQLITE;
    out->path = sqlite_path(s + 7, &bad);
    if (out->path == NULL) goto oom;
    if (bad) {
      lm_url_free(out);
      return url_error(err, "unsupported SQLite URL (sqlite:// takes no host)", s);
    }
    if (out->path[0] == '\0') {
      lm_url_free(out);
      return url_error(err, "empty SQLite path in database URL", s);
    }
    out->raw = dupn(s, strlen(s));
  } else if (strncasecmp(s, "postgresql://", 13) == 0 ||
             strncasecmp(s, "postgres://", 11) == 0) {
    const char *rest = s + (s[8] == ':' ? 11 : 13);
    size_t n = strlen(rest);
    out->kind = LM_URL_POSTGRES;
    out->raw = malloc(13 + n + 1);
    if (out->raw != NULL) {
      memcpy(out->raw, "postgresql://", 13);
      memcpy(out->raw + 13, rest, n + 1);
    }
  } else {
    return url_error(err, "unsupported database URL", s);
  }
  if (out->raw == NULL) goto oom;
  out->redacted = lm_url_redact(out->raw);
  if (out->redacted == NULL) goto oom;
  return 0;

oom:
  lm_url_free(out);
  return lm_err_set(err, "out of memory parsing the database URL");
}
