/*
** revcache.c: the revision metadata cache file (see revcache.h): naming it,
** reading it as a stream matched against the loader's sorted file list,
** and writing it atomically. Native-endian binary, machine-local:
**
**   "lmigrate-revcache\n" u32 format u32 0x01020304 u32 nentries
**   nentries x { u32 loc, str name, i64 size ino mtime_s mtime_ns ctime_s
**                ctime_ns, str id, u32 n + n str (down, depends, labels),
**                ostr message, ostr create_date, u8 transactional
**                has_downgrade has_data (bits), 64 bytes checksum }
**   "end\n" u32 nentries
**
** str is u32 length, the bytes, a NUL; ostr uses length 0xffffffff for
** NULL. Invariant: a malformed or truncated file only causes misses.
**
** The cache directory is pruned whenever a cache file is written: files
** unused for PRUNE_AGE (a cache file's mtime is its last use: a run that
** reads it unchanged touches it once a day) go, then the oldest until the
** directory holds at most PRUNE_CAP bytes.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "revcache.h"

#define FORMAT 2u
#define MAGIC "lmigrate-revcache\n"
#define TRAILER "end\n"
#define NOSTR 0xffffffffu
#define MAX_FILE (256L * 1024 * 1024)
#define DAY (24L * 3600)
#define PRUNE_AGE (30 * DAY)                /* unused this long: deleted */
#define PRUNE_CAP (64LL * 1024 * 1024)      /* bytes kept in the directory */

struct kept {
  int loc;
  const char *name;                  /* borrowed (the revision's path) */
  struct lm_revcache_stat st;
  const struct lm_revision *r;       /* borrowed from the graph */
};

/* One parsed entry; strings point into the read buffer. */
struct entry {
  int loc;
  const char *name;
  struct lm_revcache_stat st;
  const char *meta;                  /* the metadata, at the id */
};

struct lm_revcache {
  char *path;                        /* owned; the cache file */
  char *dir;                         /* owned; its directory */
  long long t0;                      /* coarse clock at open, ns */
  char *buf;                         /* owned; the file read, or NULL */
  const char *rd, *end;              /* stream position in buf */
  uint32_t nold, seen;               /* entries in the file; parsed so far */
  int bad;                           /* malformed: stop matching */
  int have;                          /* cur holds a parsed entry */
  struct entry cur;
  int hits;
  struct kept *kept;                 /* owned array */
  int nkept, capkept, kept_hits, kept_new, oom;
};

void lm_revcache_stat_from(struct lm_revcache_stat *out,
                           const struct stat *st) {
  out->size = (long long)st->st_size;
  out->ino = (long long)st->st_ino;
  out->mtime_s = (long long)st->st_mtim.tv_sec;
  out->mtime_ns = (long long)st->st_mtim.tv_nsec;
  out->ctime_s = (long long)st->st_ctim.tv_sec;
  out->ctime_ns = (long long)st->st_ctim.tv_nsec;
}

static int same_stat(const struct lm_revcache_stat *a,
                     const struct lm_revcache_stat *b) {
  return a->size == b->size && a->ino == b->ino &&
         a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns &&
         a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

/* ---- naming ------------------------------------------------------------ */

static char *cat3(const char *a, const char *b, const char *c) {
  size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
  char *s = malloc(na + nb + nc + 1);
  if (s == NULL) return NULL;
  memcpy(s, a, na);
  memcpy(s + na, b, nb);
  memcpy(s + na + nb, c, nc + 1);
  return s;
}

static int disabled(void) {
  const char *v = getenv("LMIGRATE_NO_CACHE");
  return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* The cache directory and file for these locations; 0 ok, 1 none. */
static int name_cache(char *const *locations, int n, const char *salt,
                      char **dir, char **path) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char *key = NULL, hex[65], fmt[32];
  size_t len, cap;
  int i;
  *dir = *path = NULL;
  if (disabled()) return 1;
  if (xdg != NULL && xdg[0] == '/') *dir = cat3(xdg, "/lmigrate", "");
  else if (home != NULL && home[0] == '/')
    *dir = cat3(home, "/.cache/lmigrate", "");
  else return 1;
  if (*dir == NULL) return 1;
  snprintf(fmt, sizeof fmt, "%u", FORMAT);
  key = cat3(MAGIC, fmt, "\n");
  if (key == NULL) goto fail;
  len = strlen(key);
  cap = len + strlen(salt) + 1;
  {
    char *k = realloc(key, cap);
    if (k == NULL) goto fail;
    key = k;
  }
  memcpy(key + len, salt, strlen(salt) + 1);
  len += strlen(salt) + 1;                       /* keep the NUL */
  for (i = 0; i < n; i++) {
    char *real = realpath(locations[i], NULL), *k;
    size_t rl;
    if (real == NULL) goto fail;
    rl = strlen(real) + 1;
    k = realloc(key, len + rl);
    if (k == NULL) {
      free(real);
      goto fail;
    }
    key = k;
    memcpy(key + len, real, rl);
    len += rl;
    free(real);
  }
  if (lm_sha256_hex(key, len, hex)) goto fail;
  free(key);
  key = NULL;
  *path = cat3(*dir, "/", hex);
  if (*path != NULL) {
    char *p = cat3(*path, ".cache", "");
    free(*path);
    *path = p;
  }
  if (*path != NULL) return 0;
fail:
  free(key);
  free(*dir);
  *dir = NULL;
  return 1;
}

/* ---- reading ----------------------------------------------------------- */

/* The whole cache file when it is ours and sane; NULL otherwise. */
static char *read_file(const char *path, size_t *n) {
  struct stat st;
  char *buf = NULL;
  size_t len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_uid != geteuid() || st.st_size > MAX_FILE)
    goto fail;
  buf = malloc((size_t)st.st_size + 1);
  if (buf == NULL) goto fail;
  while (len < (size_t)st.st_size) {
    ssize_t got = read(fd, buf + len, (size_t)st.st_size - len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) goto fail;
    len += (size_t)got;
  }
  close(fd);
  *n = len;
  return buf;
fail:
  free(buf);
  close(fd);
  return NULL;
}

static uint32_t get_u32(struct lm_revcache *c) {
  uint32_t v = 0;
  if (c->bad || (size_t)(c->end - c->rd) < sizeof v) {
    c->bad = 1;
    return 0;
  }
  memcpy(&v, c->rd, sizeof v);
  c->rd += sizeof v;
  return v;
}

static long long get_i64(struct lm_revcache *c) {
  int64_t v = 0;
  if (c->bad || (size_t)(c->end - c->rd) < sizeof v) {
    c->bad = 1;
    return 0;
  }
  memcpy(&v, c->rd, sizeof v);
  c->rd += sizeof v;
  return (long long)v;
}

/* A string (NUL-terminated in the buffer), NULL for an absent ostr or on
** a malformed file (then c->bad). */
static const char *get_str(struct lm_revcache *c, int optional) {
  uint32_t n = get_u32(c);
  const char *s;
  if (c->bad) return NULL;
  if (n == NOSTR && optional) return NULL;
  if (n == NOSTR || (size_t)(c->end - c->rd) <= n || c->rd[n] != '\0') {
    c->bad = 1;
    return NULL;
  }
  s = c->rd;
  c->rd += n + 1;
  return s;
}

static void skip(struct lm_revcache *c, size_t n) {
  if (c->bad || (size_t)(c->end - c->rd) < n) c->bad = 1;
  else c->rd += n;
}

/* Skip the metadata of one entry (from the id on). */
static void skip_meta(struct lm_revcache *c) {
  uint32_t i, k, n;
  get_str(c, 0);
  for (k = 0; k < 3; k++) {
    n = get_u32(c);
    for (i = 0; i < n && !c->bad; i++) get_str(c, 0);
  }
  get_str(c, 1);
  get_str(c, 1);
  skip(c, 3 + 64);
}

/* Parse the next entry into c->cur; 0 ok, 1 none left or malformed. */
static int next_entry(struct lm_revcache *c) {
  c->have = 0;
  if (c->bad || c->seen >= c->nold) return 1;
  c->cur.loc = (int)get_u32(c);
  c->cur.name = get_str(c, 0);
  c->cur.st.size = get_i64(c);
  c->cur.st.ino = get_i64(c);
  c->cur.st.mtime_s = get_i64(c);
  c->cur.st.mtime_ns = get_i64(c);
  c->cur.st.ctime_s = get_i64(c);
  c->cur.st.ctime_ns = get_i64(c);
  c->cur.meta = c->rd;
  skip_meta(c);
  if (c->bad) return 1;
  c->seen++;
  c->have = 1;
  return 0;
}

static long long coarse_now(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0 &&
      clock_gettime(CLOCK_REALTIME, &ts) != 0)
    return 0;
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct lm_revcache *lm_revcache_open(char *const *locations, int nlocations,
                                     const char *salt) {
  struct lm_revcache *c = calloc(1, sizeof *c);
  size_t n = 0, ml = sizeof MAGIC - 1, tl = sizeof TRAILER - 1;
  if (c == NULL) return NULL;
  if (name_cache(locations, nlocations, salt, &c->dir, &c->path)) {
    free(c);
    return NULL;
  }
  c->t0 = coarse_now();
  c->buf = read_file(c->path, &n);
  if (c->buf == NULL) return c;
  c->rd = c->buf;
  c->end = c->buf + n;
  if (n < ml + 12 + tl + 4 || memcmp(c->buf, MAGIC, ml) != 0 ||
      memcmp(c->end - tl - 4, TRAILER, tl) != 0) {
    c->bad = 1;
    return c;
  }
  c->rd += ml;
  if (get_u32(c) != FORMAT || get_u32(c) != 0x01020304u) {
    c->bad = 1;
    return c;
  }
  c->nold = get_u32(c);
  c->end -= tl + 4;                    /* entries end at the trailer */
  {
    uint32_t again;
    memcpy(&again, c->end + tl, sizeof again);
    if (again != c->nold) c->bad = 1;
  }
  return c;
}

void lm_revcache_free(struct lm_revcache *c) {
  if (c == NULL) return;
  free(c->path);
  free(c->dir);
  free(c->buf);
  free(c->kept);
  free(c);
}

/* A list of n strings read at c->rd into *out (owned); 0 ok, 1 OOM. */
static int build_list(struct lm_revcache *c, char ***out, int *n) {
  uint32_t i, k = get_u32(c);
  *out = NULL;
  *n = 0;
  if (k == 0 || c->bad) return 0;
  if ((*out = calloc(k, sizeof **out)) == NULL) return 1;
  for (i = 0; i < k; i++) {
    const char *s = get_str(c, 0);
    if (s == NULL || ((*out)[i] = strdup(s)) == NULL) return 1;
    *n = (int)i + 1;
  }
  return 0;
}

static int dup_opt(const char *s, char **out) {
  *out = NULL;
  return s != NULL && (*out = strdup(s)) == NULL;
}

/* The revision described by the metadata at meta; NULL on OOM or a
** malformed entry. */
static struct lm_revision *build(struct lm_revcache *c, const char *meta,
                                 const char *path) {
  struct lm_revcache r = *c;    /* a private read cursor on the same buffer */
  struct lm_revision *rev = lm_revision_new();
  const char *id, *msg, *date;
  if (rev == NULL) return NULL;
  r.rd = meta;
  r.bad = 0;
  id = get_str(&r, 0);
  if (id == NULL || (rev->id = strdup(id)) == NULL ||
      build_list(&r, &rev->down, &rev->ndown) ||
      build_list(&r, &rev->depends, &rev->ndepends) ||
      build_list(&r, &rev->labels, &rev->nlabels))
    goto fail;
  msg = get_str(&r, 1);
  date = get_str(&r, 1);
  if (dup_opt(msg, &rev->message) || dup_opt(date, &rev->create_date) ||
      r.bad || (size_t)(r.end - r.rd) < 3 + 64)
    goto fail;
  rev->transactional = r.rd[0] != 0;
  rev->has_downgrade = r.rd[1] != 0;
  rev->has_data = r.rd[2];
  memcpy(rev->checksum, r.rd + 3, 64);
  rev->checksum[64] = '\0';
  if ((rev->path = strdup(path)) == NULL) goto fail;
  return rev;
fail:
  lm_revision_free(rev);
  return NULL;
}

/* Order of (loc, name) keys: <0, 0, >0. */
static int keycmp(int la, const char *na, int lb, const char *nb) {
  if (la != lb) return la < lb ? -1 : 1;
  return strcmp(na, nb);
}

struct lm_revision *lm_revcache_lookup(struct lm_revcache *c, int loc,
                                       const char *name, const char *path,
                                       const struct lm_revcache_stat *st) {
  struct lm_revision *r;
  int cmp;
  if (c == NULL || c->buf == NULL) return NULL;
  for (;;) {
    if (!c->have && next_entry(c)) return NULL;
    cmp = keycmp(c->cur.loc, c->cur.name, loc, name);
    if (cmp > 0) return NULL;          /* no entry for this file */
    c->have = 0;                        /* consumed either way */
    if (cmp == 0) break;
  }
  if (!same_stat(&c->cur.st, st)) return NULL;
  r = build(c, c->cur.meta, path);
  if (r != NULL) c->hits++;
  return r;
}

int lm_revcache_keep(struct lm_revcache *c, int loc, const char *name,
                     const struct lm_revcache_stat *st,
                     const struct lm_revision *r, int hit) {
  long long ct, slack;
  if (c == NULL) return 0;
  /* Racy files (git's term): a file changed after our stat but within the
  ** same timestamp tick would keep its size and times. Only keep files
  ** whose ctime is safely before the stats were taken. Coarse file
  ** systems (whole seconds, FAT's 2 s) get a 2 s margin. */
  ct = st->ctime_s * 1000000000LL + st->ctime_ns;
  slack = st->ctime_ns % 1000000 == 0 ? 2000000000LL : 10000000LL;
  if (ct + slack > c->t0) return 0;
  if (c->nkept == c->capkept) {
    int cap = c->capkept ? c->capkept * 2 : 256;
    struct kept *k = realloc(c->kept, sizeof *k * (size_t)cap);
    if (k == NULL) {
      c->oom = 1;
      return 1;
    }
    c->kept = k;
    c->capkept = cap;
  }
  c->kept[c->nkept].loc = loc;
  c->kept[c->nkept].name = name;
  c->kept[c->nkept].st = *st;
  c->kept[c->nkept].r = r;
  c->nkept++;
  if (hit) c->kept_hits++;
  else c->kept_new++;
  return 0;
}

int lm_revcache_hits(const struct lm_revcache *c) {
  return c ? c->hits : 0;
}

/* ---- writing ----------------------------------------------------------- */

struct wbuf {
  char *p;
  size_t n, cap;
  int oom;
};

static void put(struct wbuf *b, const void *data, size_t n) {
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 65536;
    char *p;
    while (cap < b->n + n) cap *= 2;
    if ((p = realloc(b->p, cap)) == NULL) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, n);
  b->n += n;
}

static void put_u32(struct wbuf *b, uint32_t v) { put(b, &v, sizeof v); }
static void put_i64(struct wbuf *b, long long v) {
  int64_t x = (int64_t)v;
  put(b, &x, sizeof x);
}

static void put_str(struct wbuf *b, const char *s) {
  size_t n;
  if (s == NULL) {
    put_u32(b, NOSTR);
    return;
  }
  n = strlen(s);
  if (n >= NOSTR) {
    b->oom = 1;
    return;
  }
  put_u32(b, (uint32_t)n);
  put(b, s, n + 1);
}

static void put_list(struct wbuf *b, char **v, int n) {
  int i;
  put_u32(b, (uint32_t)n);
  for (i = 0; i < n; i++) put_str(b, v[i]);
}

static void put_entry(struct wbuf *b, const struct kept *k) {
  const struct lm_revision *r = k->r;
  unsigned char flags[3];
  put_u32(b, (uint32_t)k->loc);
  put_str(b, k->name);
  put_i64(b, k->st.size);
  put_i64(b, k->st.ino);
  put_i64(b, k->st.mtime_s);
  put_i64(b, k->st.mtime_ns);
  put_i64(b, k->st.ctime_s);
  put_i64(b, k->st.ctime_ns);
  put_str(b, r->id);
  put_list(b, r->down, r->ndown);
  put_list(b, r->depends, r->ndepends);
  put_list(b, r->labels, r->nlabels);
  put_str(b, r->message);
  put_str(b, r->create_date);
  flags[0] = r->transactional != 0;
  flags[1] = r->has_downgrade != 0;
  flags[2] = (unsigned char)r->has_data;
  put(b, flags, 3);
  put(b, r->checksum, 64);
}

/* mkdir -p for the cache directory (mode 0700, as XDG asks). */
static int make_dir(char *dir) {
  char *s;
  if (mkdir(dir, 0700) == 0 || errno == EEXIST) return 0;
  if (errno != ENOENT) return 1;
  for (s = dir + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
      *s = '/';
      return 1;
    }
    *s = '/';
  }
  return mkdir(dir, 0700) != 0 && errno != EEXIST;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* 1 when name is one of our files: 64 hex digits + ".cache", optionally
** followed by a mkstemp suffix (".XXXXXX", a write that died). */
static int cache_name(const char *name, int *tmp) {
  size_t i, n = strlen(name);
  for (i = 0; i < 64; i++)
    if (!((name[i] >= '0' && name[i] <= '9') ||
          (name[i] >= 'a' && name[i] <= 'f')))
      return 0;
  if (strncmp(name + 64, ".cache", 6) != 0) return 0;
  *tmp = n != 70;
  return n == 70 || (n == 77 && name[70] == '.');
}

struct aged {
  char *name;                        /* owned */
  long long mtime, size;
};

static int older_first(const void *a, const void *b) {
  const struct aged *x = a, *y = b;
  return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Delete, in the cache directory, our files unused for PRUNE_AGE (a
** leftover temp file after a day), then the least recently used until at
** most PRUNE_CAP bytes remain; `keep` (a file name in dir) always stays.
** Other files are never touched. Failures are ignored. */
static void prune(const char *dir, const char *keep) {
  DIR *d = opendir(dir);
  struct dirent *e;
  struct aged *v = NULL;
  long long now = (long long)time(NULL), total = 0;
  int n = 0, cap = 0, i, dfd;
  if (d == NULL) return;
  dfd = dirfd(d);
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    int tmp;
    if (!cache_name(e->d_name, &tmp) || strcmp(e->d_name, keep) == 0 ||
        fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) || st.st_uid != geteuid())
      continue;
    if ((long long)st.st_mtime < now - (tmp ? DAY : PRUNE_AGE)) {
      unlinkat(dfd, e->d_name, 0);
      continue;
    }
    total += (long long)st.st_size;
    if (n == cap) {
      struct aged *p = realloc(v, sizeof *p * (size_t)(cap ? cap * 2 : 16));
      if (p == NULL) break;
      v = p;
      cap = cap ? cap * 2 : 16;
    }
    if ((v[n].name = strdup(e->d_name)) == NULL) break;
    v[n].mtime = (long long)st.st_mtime;
    v[n].size = (long long)st.st_size;
    n++;
  }
  {
    struct stat st;
    if (fstatat(dfd, keep, &st, 0) == 0) total += (long long)st.st_size;
  }
  if (n > 0) qsort(v, (size_t)n, sizeof *v, older_first);
  for (i = 0; i < n && total > PRUNE_CAP; i++)
    if (unlinkat(dfd, v[i].name, 0) == 0) total -= v[i].size;
  for (i = 0; i < n; i++) free(v[i].name);
  free(v);
  closedir(d);
}

/* Mark the cache file as used (its mtime is its last use) when that was
** more than a day ago, so pruning keeps caches that are read but no
** longer rewritten. */
static void touch_used(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && (long long)st.st_mtime < (long long)time(NULL) - DAY)
    utimensat(AT_FDCWD, path, NULL, 0);
}

int lm_revcache_save(struct lm_revcache *c) {
  struct wbuf b = {NULL, 0, 0, 0};
  char *tmp;
  uint32_t endian = 0x01020304u;
  int i, fd, rc = 1;
  if (c == NULL) return 0;
  if (c->oom) return 1;
  if (c->buf != NULL && !c->bad && c->kept_new == 0 &&
      (uint32_t)c->kept_hits == c->nold) {
    touch_used(c->path);
    return 0;                          /* the file already says this */
  }
  put(&b, MAGIC, sizeof MAGIC - 1);
  put_u32(&b, FORMAT);
  put(&b, &endian, sizeof endian);
  put_u32(&b, (uint32_t)c->nkept);
  for (i = 0; i < c->nkept; i++) put_entry(&b, &c->kept[i]);
  put(&b, TRAILER, sizeof TRAILER - 1);
  put_u32(&b, (uint32_t)c->nkept);
  if (b.oom || make_dir(c->dir) ||
      (tmp = cat3(c->path, ".XXXXXX", "")) == NULL) {
    free(b.p);
    return 1;
  }
  fd = mkstemp(tmp);
  if (fd >= 0) {
    int bad = write_all(fd, b.p, b.n);
    if (close(fd) != 0) bad = 1;
    if (!bad && rename(tmp, c->path) == 0) rc = 0;
    else unlink(tmp);
  }
  if (rc == 0) prune(c->dir, c->path + strlen(c->dir) + 1);
  free(tmp);
  free(b.p);
  return rc;
}

void lm_revcache_forget(char *const *locations, int nlocations,
                        const char *salt) {
  char *dir, *path;
  if (name_cache(locations, nlocations, salt, &dir, &path)) return;
  unlink(path);
  free(dir);
  free(path);
}
