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

/* A secret in a URL: the bytes [b, e) of it. */
struct span {
  size_t b, e;
};

/*
** The user:PASSWORD@ password of s as [sp->b, sp->e); 0 when there is
** none. The rule is deliberately conservative, because s may be a
** malformed URL that libpq or a reader splits differently: the userinfo
** starts after `scheme://` (or at the start of the text: `u:pw@h/db`,
** `postgresql//u:pw@h`) and ends at the LAST '@' of the text, so a password
** holding a raw '@', '/', '?' or '#' is masked whole; the password starts
** after the first ':' of the userinfo that is not followed by '/' (so the
** colon of `postgresql:/u:pw@h` is skipped), else after its first ':'.
** SQLite URLs carry no credentials: their "userinfo" is a path, left alone.
*/
static int userinfo_password(const char *s, struct span *sp) {
  size_t start = 0;
  const char *at, *colon = NULL, *q;
  if (strncasecmp(s, "sqlite:", 7) == 0) return 0;
  if (scheme_len(s) > 0) start = scheme_len(s) + 3;
  at = strrchr(s + start, '@');
  if (at == NULL) return 0;
  for (q = s + start; q < at && colon == NULL; q++)
    if (*q == ':' && q[1] != '/') colon = q;
  if (colon == NULL) colon = memchr(s + start, ':', (size_t)(at - s - start));
  if (colon == NULL || colon + 1 >= at) return 0;
  sp->b = (size_t)(colon + 1 - s);
  sp->e = (size_t)(at - s);
  return 1;
}

static int span_cmp(const void *a, const void *b) {
  const struct span *x = a, *y = b;
  return x->b < y->b ? -1 : x->b > y->b;
}

/* Every secret of s: its userinfo password and each non-empty
** `password=VALUE` (VALUE ends at '&', '#' or whitespace), sorted, with
** overlapping or touching spans merged. A malloc'd array (caller frees;
** may be non-NULL with *n == 0); NULL on allocation failure. */
static struct span *secrets(const char *s, size_t *n) {
  size_t len = strlen(s), k = 0, i;
  struct span *sp = malloc(sizeof *sp * (len / 9 + 2)), u;
  const char *p;
  *n = 0;
  if (sp == NULL) return NULL;
  for (p = s; *p; ) {
    if (!at_password_key(s, p)) {
      p++;
      continue;
    }
    sp[k].b = (size_t)(p + 9 - s);
    sp[k].e = sp[k].b + strcspn(p + 9, "&# \t\r\n");
    p = s + sp[k].e;
    if (sp[k].e > sp[k].b) k++;
  }
  if (userinfo_password(s, &u)) sp[k++] = u;
  qsort(sp, k, sizeof *sp, span_cmp);
  for (i = 0; i < k; i++) {
    if (*n > 0 && sp[i].b <= sp[*n - 1].e) {
      if (sp[i].e > sp[*n - 1].e) sp[*n - 1].e = sp[i].e;
    } else {
      sp[(*n)++] = sp[i];
    }
  }
  return sp;
}

/* See url.h. Each secret (a non-empty run) becomes 3 bytes, so the result
** is at most 2 bytes per secret longer than s. */
char *lm_url_redact(const char *s) {
  struct span *sp;
  size_t n, i, from = 0;
  char *out, *o;

  if (s == NULL) return NULL;
  sp = secrets(s, &n);
  if (sp == NULL) return NULL;
  out = malloc(strlen(s) + 2 * n + 1);
  if (out != NULL) {
    o = out;
    for (i = 0; i < n; i++) {
      put(&o, s + from, sp[i].b - from);
      put(&o, "***", 3);
      from = sp[i].e;
    }
    strcpy(o, s + from);
  }
  free(sp);
  return out;
}

/* A malloc'd copy of text with every occurrence of needle (nlen > 0
** bytes) replaced by with; NULL on allocation failure. Linear in the
** length of text. */
static char *replace_all(const char *text, const char *needle, size_t nlen,
                         const char *with) {
  size_t count = 0, wlen = strlen(with), tlen = strlen(text);
  const char *p, *q, *end = text + tlen;
  char *out, *o;
  for (p = text; (q = memmem(p, (size_t)(end - p), needle, nlen)) != NULL;
       p = q + nlen)
    count++;
  out = malloc(tlen + count * wlen + 1);
  if (out == NULL) return NULL;
  o = out;
  for (p = text; (q = memmem(p, (size_t)(end - p), needle, nlen)) != NULL;
       p = q + nlen) {
    put(&o, p, (size_t)(q - p));
    put(&o, with, wlen);
  }
  strcpy(o, p);
  return out;
}

/* A malloc'd copy of text in which every occurrence of one of the nw
** words (sorted longest first, empty ones skipped) is replaced by "***",
** in one left-to-right pass: what was put in is never scanned again, so
** a password such as "*" cannot make the text grow with every word (it
** did, exponentially: found by fuzz/fuzz_url.c). NULL on OOM. */
static char *mask_words(const char *text, char *const *words, size_t nw) {
  size_t tlen = strlen(text), i, k;
  char *out = malloc(3 * tlen + 1), *o = out;
  if (out == NULL) return NULL;
  for (i = 0; i < tlen;) {
    size_t hit = 0;
    for (k = 0; k < nw && hit == 0; k++) {
      size_t wl = strlen(words[k]);
      if (wl > 0 && wl <= tlen - i && memcmp(text + i, words[k], wl) == 0)
        hit = wl;
    }
    if (hit) {
      put(&o, "***", 3);
      i += hit;
    } else {
      *o++ = text[i++];
    }
  }
  *o = '\0';
  return out;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The n bytes at s with %XX escapes decoded (as libpq decodes a URI), as a
** malloc'd string; NULL on allocation failure. */
static char *percent_decode(const char *s, size_t n) {
  char *out = malloc(n + 1), *o = out;
  size_t i;
  if (out == NULL) return NULL;
  for (i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
        hexval((unsigned char)s[i + 2]) >= 0) {
      *o++ = (char)(hexval((unsigned char)s[i + 1]) * 16 +
                    hexval((unsigned char)s[i + 2]));
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

static int longer_first(const void *a, const void *b) {
  size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);
  return x > y ? -1 : x < y;
}

/* See url.h. The secrets are masked longest first, so that a short one
** cannot split a longer one and leave the rest of it readable. */
char *lm_url_mask(const struct lm_url *u, const char *text) {
  struct span *sp = NULL;
  char **words = NULL, *out, *next;
  size_t n = 0, nw = 0, i;

  if (text == NULL) return NULL;
  if (u == NULL || u->raw == NULL || u->raw[0] == '\0' || u->redacted == NULL)
    return strdup(text);
  out = replace_all(text, u->raw, strlen(u->raw), u->redacted);
  if (out == NULL || (sp = secrets(u->raw, &n)) == NULL ||
      (words = calloc(2 * n + 1, sizeof *words)) == NULL)
    goto oom;
  for (i = 0; i < n; i++) {
    size_t len = sp[i].e - sp[i].b;
    if ((words[nw] = strndup(u->raw + sp[i].b, len)) == NULL) goto oom;
    nw++;
    if ((words[nw] = percent_decode(u->raw + sp[i].b, len)) == NULL)
      goto oom;
    nw++;
  }
  qsort(words, nw, sizeof *words, longer_first);
  next = mask_words(out, words, nw);
  if (next == NULL) goto oom;
  free(out);
  out = next;
  goto done;
oom:
  free(out);
  out = NULL;
done:
  for (i = 0; i < nw; i++) free(words[i]);
  free(words);
  free(sp);
  return out;
}

void lm_url_free(struct lm_url *u) {
  if (u == NULL) return;
  free(u->raw);
  free(u->redacted);
  free(u->path);
  free(u->driver);
  u->raw = u->redacted = u->path = u->driver = NULL;
}

/* SQLAlchemy's "sqlite+pysqlite:" / "postgresql+psycopg2://": the length
** of the scheme before '+' when s starts with one of ours followed by
** "+driver:", else 0; *dlen gets the driver's length. */
static size_t driver_split(const char *s, size_t *dlen) {
  static const char *const schemes[] = { "postgresql", "postgres", "sqlite" };
  size_t i, n, d;
  for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
    n = strlen(schemes[i]);
    if (strncasecmp(s, schemes[i], n) != 0 || s[n] != '+') continue;
    d = strspn(s + n + 1, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    if (d == 0 || s[n + 1 + d] != ':') return 0;
    *dlen = d;
    return n;
  }
  return 0;
}

/* Fill err with "<what> 'redacted-url'; expected <forms>". Returns 1. */
static int url_error(struct lm_err *err, const char *what, const char *s) {
  char *red = lm_url_redact(s);
  lm_err_set(err, "%s '%s'; expected %s", what,
             red != NULL ? red : "(out of memory)", ACCEPTED_FORMS);
  free(red);
  return 1;
}

/* Fill err with "database URL 'redacted-url' <what>". Returns 1. */
static int url_fail(struct lm_err *err, const char *what, const char *s) {
  char *red = lm_url_redact(s);
  lm_err_set(err, "database URL '%s' %s",
             red != NULL ? red : "(out of memory)", what);
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

/* libpq's reading of the postgresql:// URL s (whose text after "://" is
** rest): the userinfo ends at the FIRST '@', and only when no '/' comes
** before it; the password follows its first ':'. 0 when libpq's password
** is exactly the one lm_url_redact() masks, else fills err with how to
** percent-encode the URL and returns 1: otherwise part of the password
** would reach libpq as a host, port or database name, and its error
** messages would print that part. */
static int pg_userinfo_check(const char *s, const char *rest,
                             struct lm_err *err) {
  struct span ours;
  size_t userinfo = strcspn(rest, "@/");
  const char *colon, *at = rest + userinfo;
  if (!userinfo_password(s, &ours)) return 0;
  if (*at == '@') {
    colon = memchr(rest, ':', userinfo);
    if (colon != NULL && (size_t)(colon + 1 - s) == ours.b &&
        (size_t)(at - s) == ours.e)
      return 0;
  }
  if (strchr(rest, '@') != strrchr(rest, '@'))
    return url_fail(err, "has more than one '@'; percent-encode an '@' in "
                    "the password as %40", s);
  return url_fail(err, "has a '/' before its '@'; percent-encode a '/' in "
                  "the password as %2F (and an '@' elsewhere as %40)", s);
}

/* See url.h. On error *out is left zeroed (nothing to free). */
int lm_url_parse(const char *s, struct lm_url *out, struct lm_err *err) {
  size_t slen, dlen = 0;
  memset(out, 0, sizeof *out);
  if (s == NULL || *s == '\0')
    return lm_err_set(err, "no database URL given; expected %s",
                      ACCEPTED_FORMS);
  if ((slen = driver_split(s, &dlen)) > 0) {
    /* the same URL without "+driver", parsed as usual */
    size_t n = strlen(s);
    char *plain = malloc(n + 1), *driver = dupn(s + slen + 1, dlen);
    int rc;
    if (plain == NULL || driver == NULL) {
      free(plain);
      free(driver);
      return lm_err_set(err, "out of memory parsing the database URL");
    }
    memcpy(plain, s, slen);
    memcpy(plain + slen, s + slen + 1 + dlen, n - slen - dlen);
    rc = lm_url_parse(plain, out, err);
    free(plain);
    if (rc) free(driver);
    else out->driver = driver;
    return rc;
  }

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
    if (pg_userinfo_check(s, rest, err)) return 1;
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
