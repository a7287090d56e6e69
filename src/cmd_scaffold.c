/*
** cmd_scaffold.c: the commands that write files rather than touch a
** database: `init` (a config file and a version location from an embedded
** scaffold), `revision` and `merge` (a new revision script from the
** revision template). Nothing here connects; files are created with
** O_EXCL so an existing file is never overwritten.
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "graph.h"
#include "host.h"
#include "log.h"
#include "revision.h"
#include "sqlbuf.h"
#include "templates.h"

#define SLUG_MAX 40
#define REV_TEMPLATE "revision.lua.tmpl"

/* ---------------------------------------------------------------- files */

/* dir/name in a malloc'd string (caller frees); "." as dir gives name
** alone so messages read "lmigrate.lua", not "./lmigrate.lua". NULL on
** OOM. */
static char *path_join(const char *dir, const char *name)
{
  size_t dl, nl = strlen(name);
  char *p;
  if (dir == NULL || strcmp(dir, ".") == 0 || *dir == '\0')
    return strdup(name);
  dl = strlen(dir);
  while (dl > 1 && dir[dl - 1] == '/')
    dl--;
  p = malloc(dl + nl + 2);
  if (p == NULL)
    return NULL;
  memcpy(p, dir, dl);
  p[dl] = '/';
  memcpy(p + dl + 1, name, nl + 1);
  return p;
}

/* mkdir -p: create path and its missing parents (mode 0777 & ~umask).
** Returns 0, or -1 with errno set; an existing non-directory is ENOTDIR. */
static int mkdir_p(const char *path)
{
  char *tmp, *s;
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return 0;
    errno = ENOTDIR;
    return -1;
  }
  tmp = strdup(path);
  if (tmp == NULL)
    return -1;
  for (s = tmp + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
      free(tmp);
      return -1;
    }
    *s = '/';
  }
  free(tmp);
  if (mkdir(path, 0777) != 0 && errno != EEXIST)
    return -1;
  return 0;
}

/* Create path (which must not exist) holding len bytes of data. Returns
** 0, or -1 with errno set (EEXIST when the file is already there); a
** partly written file is removed. */
static int write_new_file(const char *path, const char *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  int saved;
  if (fd < 0)
    return -1;
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      goto fail;
    }
    data += n;
    len -= (size_t)n;
  }
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  return 0;
fail:
  saved = errno;
  if (fd >= 0)
    close(fd);
  unlink(path);
  errno = saved;
  return -1;
}

/* The whole file at path in sb. Returns 0, or -1 with errno set. */
static int read_whole_file(const char *path, struct lm_sqlbuf *sb)
{
  char chunk[4096];
  size_t n;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -1;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    lm_sb_addn(sb, chunk, n);
  if (ferror(f)) {
    int saved = errno;
    fclose(f);
    errno = saved ? saved : EIO;
    return -1;
  }
  fclose(f);
  if (!lm_sb_ok(sb)) {
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

/* ----------------------------------------------------------------- init */

/* 1 when some embedded file lives under "name/". */
static int scaffold_exists(const char *name)
{
  size_t nl = strlen(name);
  int i;
  for (i = 0; i < lm_ntemplates; i++)
    if (strncmp(lm_templates[i].path, name, nl) == 0
        && lm_templates[i].path[nl] == '/')
      return 1;
  return 0;
}

/* The scaffold names ("generic, postgresql") appended to sb. */
static void scaffold_list(struct lm_sqlbuf *sb)
{
  int i, first = 1;
  const char *prev = NULL;
  size_t prevlen = 0;
  for (i = 0; i < lm_ntemplates; i++) {
    const char *p = lm_templates[i].path;
    const char *slash = strchr(p, '/');
    if (slash == NULL)
      continue;
    if (prev && (size_t)(slash - p) == prevlen && strncmp(p, prev, prevlen) == 0)
      continue;
    if (!first)
      lm_sb_add(sb, ", ");
    lm_sb_addn(sb, p, (size_t)(slash - p));
    prev = p;
    prevlen = (size_t)(slash - p);
    first = 0;
  }
}

static const char init_usage[] =
  "usage: lmigrate init [DIR] [--template NAME]\n"
  "  Write DIR/lmigrate.lua and DIR/versions/ (DIR defaults to \".\").\n"
  "  --template NAME   scaffold to use: generic (default) or postgresql\n";

/*
** init [DIR] [--template NAME]: write the scaffold's files under DIR
** (created if needed) and the version directory DIR/versions. Refuses to
** overwrite any file; nothing is written when lmigrate.lua exists.
*/
int cmd_init(int argc, char **argv, struct lm_host *h)
{
  static const struct option longopts[] = {
    { "template", required_argument, NULL, 't' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  const char *tmpl = "generic", *dir = ".";
  char *cfgpath = NULL, *verdir = NULL, *dest = NULL;
  struct stat st;
  size_t tl;
  int c, i, rc = 1;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
    switch (c) {
    case 't': tmpl = optarg; break;
    case 'h': fputs(init_usage, stdout); return 0;
    default:
      fputs(init_usage, stderr);
      return lm_usage_error("init: unknown or incomplete option '%s'",
                            argv[optind - 1]);
    }
  }
  if (optind < argc)
    dir = argv[optind++];
  if (optind < argc) {
    fputs(init_usage, stderr);
    return lm_usage_error("init: unexpected argument '%s'", argv[optind]);
  }
  if (!scaffold_exists(tmpl)) {
    struct lm_sqlbuf sb;
    lm_sb_init(&sb);
    scaffold_list(&sb);
    rc = lm_usage_error("unknown template '%s'; available templates: %s",
                        tmpl, lm_sb_str(&sb));
    lm_sb_free(&sb);
    return rc;
  }

  cfgpath = path_join(dir, "lmigrate.lua");
  verdir = path_join(dir, "versions");
  if (cfgpath == NULL || verdir == NULL) {
    rc = lm_error("out of memory");
    goto done;
  }
  if (stat(cfgpath, &st) == 0) {
    rc = lm_error("lmigrate.lua already exists in %s; remove it or choose "
                  "another directory", dir);
    goto done;
  }
  /* Check every file first so a refusal writes nothing. */
  tl = strlen(tmpl);
  for (i = 0; i < lm_ntemplates; i++) {
    const char *p = lm_templates[i].path;
    if (strncmp(p, tmpl, tl) != 0 || p[tl] != '/')
      continue;
    free(dest);
    if ((dest = path_join(dir, p + tl + 1)) == NULL) {
      rc = lm_error("out of memory");
      goto done;
    }
    if (stat(dest, &st) == 0) {
      rc = lm_error("%s already exists; remove it or choose another "
                    "directory", dest);
      goto done;
    }
  }
  if (strcmp(dir, ".") != 0 && stat(dir, &st) != 0) {
    if (mkdir_p(dir) != 0) {
      rc = lm_error("cannot create directory %s: %s", dir, strerror(errno));
      goto done;
    }
    lm_info(h, "Creating directory %s ... done", dir);
  }
  for (i = 0; i < lm_ntemplates; i++) {
    const struct lm_template *t = &lm_templates[i];
    char *slash;
    if (strncmp(t->path, tmpl, tl) != 0 || t->path[tl] != '/')
      continue;
    free(dest);
    if ((dest = path_join(dir, t->path + tl + 1)) == NULL) {
      rc = lm_error("out of memory");
      goto done;
    }
    slash = strrchr(dest, '/');
    if (slash && slash != dest) {   /* a scaffold file in a subdirectory */
      *slash = '\0';
      if (mkdir_p(dest) != 0) {
        rc = lm_error("cannot create directory %s: %s", dest, strerror(errno));
        goto done;
      }
      *slash = '/';
    }
    if (write_new_file(dest, t->data, t->len) != 0) {
      rc = lm_error("cannot write %s: %s", dest, strerror(errno));
      goto done;
    }
    lm_info(h, "Generating %s ... done", dest);
  }
  if (stat(verdir, &st) != 0) {
    if (mkdir_p(verdir) != 0) {
      rc = lm_error("cannot create directory %s: %s", verdir, strerror(errno));
      goto done;
    }
    lm_info(h, "Creating directory %s ... done", verdir);
  } else if (!S_ISDIR(st.st_mode)) {
    rc = lm_error("%s exists and is not a directory", verdir);
    goto done;
  }
  lm_info(h, "Edit %s to set the database URL, then run "
          "`lmigrate revision -m \"first revision\"`%s%s.", cfgpath,
          strcmp(dir, ".") ? " in " : "", strcmp(dir, ".") ? dir : "");
  rc = 0;
done:
  free(cfgpath);
  free(verdir);
  free(dest);
  return rc;
}

/* ------------------------------------------------------ revision values */

/* Append s as a Lua double-quoted string literal: quotes, backslashes and
** control characters escaped (decimal escapes, as %q would, but "\n" for
** a newline so the literal stays on one line). */
static void lua_quote(struct lm_sqlbuf *sb, const char *s)
{
  lm_sb_addc(sb, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      lm_sb_addc(sb, '\\');
      lm_sb_addc(sb, (char)c);
    } else if (c == '\n') {
      lm_sb_add(sb, "\\n");
    } else if (c == '\r') {
      lm_sb_add(sb, "\\r");
    } else if (c == '\t') {
      lm_sb_add(sb, "\\t");
    } else if (c < 32 || c == 127) {
      lm_sb_printf(sb, "\\%03u", (unsigned)c);
    } else {
      lm_sb_addc(sb, (char)c);
    }
  }
  lm_sb_addc(sb, '"');
}

/* Append a Lua value for a list of ids: nil (n == 0), "a" (n == 1 and
** !always_list), or { "a", "b" }. */
static void lua_list(struct lm_sqlbuf *sb, char *const *v, int n,
                     int always_list)
{
  int i;
  if (n == 0) {
    lm_sb_add(sb, "nil");
    return;
  }
  if (n == 1 && !always_list) {
    lua_quote(sb, v[0]);
    return;
  }
  lm_sb_add(sb, "{ ");
  for (i = 0; i < n; i++) {
    if (i)
      lm_sb_add(sb, ", ");
    lua_quote(sb, v[i]);
  }
  lm_sb_add(sb, " }");
}

/* Fill out (13 bytes) with 12 random lowercase hex characters from the
** kernel's CSPRNG. Returns 0, or -1 with errno set. */
static int random_rev_id(char *out)
{
  unsigned char b[6];
  size_t got = 0;
  int i;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    got += (size_t)n;
  }
  if (got < sizeof b) {   /* old kernel: fall back to the device */
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL)
      return -1;
    got = fread(b, 1, sizeof b, f);
    fclose(f);
    if (got != sizeof b) {
      errno = EIO;
      return -1;
    }
  }
  for (i = 0; i < 6; i++)
    snprintf(out + 2 * i, 3, "%02x", b[i]);
  return 0;
}

/* The file-name slug of msg: lowercased, runs of non-alphanumerics become
** one "_", trimmed of "_" at both ends, at most SLUG_MAX characters.
** out must hold SLUG_MAX + 1 bytes; may be "" (empty message). */
static void slugify(const char *msg, char *out)
{
  size_t n = 0;
  int gap = 0;
  for (; *msg; msg++) {
    unsigned char c = (unsigned char)*msg;
    if (!(isascii(c) && isalnum(c))) {
      gap = n > 0;              /* no leading "_" */
      continue;
    }
    if (gap) {
      if (n + 2 > SLUG_MAX)     /* "_" plus one more character */
        break;
      out[n++] = '_';
      gap = 0;
    }
    if (n + 1 > SLUG_MAX)
      break;
    out[n++] = (char)tolower(c);
  }
  out[n] = '\0';
}

/* Substitute ${name} placeholders in tmpl (len bytes) with the values in
** keys/vals (nkeys pairs) into out. An unknown placeholder is copied
** verbatim, so project templates may contain other ${...} text. */
static void render(struct lm_sqlbuf *out, const char *tmpl, size_t len,
                   const char *const *keys, const char *const *vals,
                   int nkeys)
{
  size_t i = 0;
  while (i < len) {
    if (tmpl[i] == '$' && i + 1 < len && tmpl[i + 1] == '{') {
      const char *end = memchr(tmpl + i + 2, '}', len - i - 2);
      if (end) {
        size_t kl = (size_t)(end - (tmpl + i + 2));
        int k;
        for (k = 0; k < nkeys; k++)
          if (strlen(keys[k]) == kl && memcmp(keys[k], tmpl + i + 2, kl) == 0)
            break;
        if (k < nkeys) {
          lm_sb_add(out, vals[k]);
          i = (size_t)(end - tmpl) + 1;
          continue;
        }
      }
    }
    lm_sb_addc(out, tmpl[i++]);
  }
}

/* ---------------------------------------------------- writing revisions */

/* What revision and merge hand to write_revision. Strings are borrowed. */
struct newrev {
  const char *message;
  const char *rev_id;          /* --rev-id or NULL (random) */
  char **down;                 /* full parent ids; owned by the caller */
  int ndown;
  char **labels;
  int nlabels;
  char **depends;              /* full ids */
  int ndepends;
  const char *version_path;    /* --version-path or NULL (first location) */
};

/* The version location to write to: version_path when it names one of
** the configured locations (trailing slashes ignored), else the first.
** NULL after printing an error listing the locations. */
static const char *pick_location(const struct lm_host *h, const char *vp)
{
  int i;
  struct lm_sqlbuf sb;
  if (h->cfg.nlocations < 1) {
    lm_error("no version location configured (set script_location in "
             "lmigrate.lua)");
    return NULL;
  }
  if (vp == NULL)
    return h->cfg.locations[0];
  for (i = 0; i < h->cfg.nlocations; i++) {
    const char *l = h->cfg.locations[i];
    size_t a = strlen(l), b = strlen(vp);
    while (a > 1 && l[a - 1] == '/') a--;
    while (b > 1 && vp[b - 1] == '/') b--;
    if (a == b && strncmp(l, vp, a) == 0)
      return l;
  }
  lm_sb_init(&sb);
  for (i = 0; i < h->cfg.nlocations; i++) {
    if (i)
      lm_sb_add(&sb, ", ");
    lm_sb_add(&sb, h->cfg.locations[i]);
  }
  lm_error("--version-path %s is not a configured version location; "
           "configured: %s", vp, lm_sb_str(&sb));
  lm_sb_free(&sb);
  return NULL;
}

/* A --rev-id must be a valid id not used by any loaded revision. Prints
** the error; returns the exit status (0 ok, 1 taken, 2 malformed). */
static int check_rev_id(const struct lm_host *h, const char *id)
{
  char bad = 0;
  int idx;
  if (!lm_revision_id_ok(id, &bad)) {
    if (strlen(id) > 64 || bad == '\0')
      return lm_usage_error("invalid --rev-id '%s': use 1 to 64 characters "
                            "of A-Z a-z 0-9 _", id);
    return lm_usage_error("invalid --rev-id '%s': character '%c' is not "
                          "allowed (use A-Z a-z 0-9 _)", id, bad);
  }
  if (h->graph && (idx = lm_graph_index(h->graph, id)) >= 0) {
    const struct lm_revision *r = lm_graph_rev(h->graph, idx);
    return lm_error("revision %s already exists (%s)", id,
                    r->path ? r->path : "?");
  }
  return 0;
}

/* Check id (given or generated) and write the file; prints progress and
** errors. Returns the exit status. */
static int write_revision(struct lm_host *h, const struct newrev *nr)
{
  static const char *const keys[] = {
    "revision", "down_revision", "branch_labels", "depends_on",
    "message", "create_date", "comment"
  };
  struct lm_sqlbuf v[7], tbuf, out;
  const char *vals[7];
  const char *loc, *tdata;
  size_t tlen;
  char id[13], slug[SLUG_MAX + 1], date[32], *fname = NULL, *path = NULL;
  const char *rid;
  time_t now = time(NULL);
  struct tm tm;
  int i, rc = 1;

  for (i = 0; i < 7; i++)
    lm_sb_init(&v[i]);
  lm_sb_init(&tbuf);
  lm_sb_init(&out);

  if (nr->rev_id) {
    if ((rc = check_rev_id(h, nr->rev_id)) != 0)
      goto done;
    rc = 1;
    rid = nr->rev_id;
  } else {
    do {
      if (random_rev_id(id) != 0) {
        rc = lm_error("cannot generate a revision id: %s", strerror(errno));
        goto done;
      }
    } while (h->graph && lm_graph_index(h->graph, id) >= 0);
    rid = id;
  }

  if ((loc = pick_location(h, nr->version_path)) == NULL)
    goto done;
  if (mkdir_p(loc) != 0) {
    rc = lm_error("cannot create version location %s: %s", loc,
                  strerror(errno));
    goto done;
  }

  /* Template: the project's own, or the embedded one. */
  if (h->cfg.revision_template) {
    if (read_whole_file(h->cfg.revision_template, &tbuf) != 0) {
      rc = lm_error("cannot read revision template %s: %s",
                    h->cfg.revision_template, strerror(errno));
      goto done;
    }
    tdata = lm_sb_str(&tbuf);
    tlen = tbuf.len;
  } else {
    const struct lm_template *t = lm_template_find(REV_TEMPLATE);
    if (t == NULL) {
      rc = lm_error("internal error: embedded %s missing", REV_TEMPLATE);
      goto done;
    }
    tdata = t->data;
    tlen = t->len;
  }

  localtime_r(&now, &tm);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  lua_quote(&v[0], rid);
  lua_list(&v[1], nr->down, nr->ndown, 0);
  lua_list(&v[2], nr->labels, nr->nlabels, 1);
  lua_list(&v[3], nr->depends, nr->ndepends, 1);
  lua_quote(&v[4], nr->message);
  lua_quote(&v[5], date);
  {   /* the leading comment: the message on one line */
    const char *s;
    for (s = nr->message; *s; s++)
      lm_sb_addc(&v[6], (*s == '\n' || *s == '\r') ? ' ' : *s);
  }
  for (i = 0; i < 7; i++)
    vals[i] = lm_sb_str(&v[i]);
  render(&out, tdata, tlen, keys, vals, 7);

  slugify(nr->message, slug);
  fname = malloc(strlen(rid) + strlen(slug) + 6);
  if (fname == NULL)
    goto oom;
  sprintf(fname, "%s%s%s.lua", rid, *slug ? "_" : "", slug);
  if ((path = path_join(loc, fname)) == NULL)
    goto oom;
  for (i = 0; i < 7; i++)
    if (!lm_sb_ok(&v[i]))
      goto oom;
  if (!lm_sb_ok(&out))
    goto oom;
  if (write_new_file(path, lm_sb_str(&out), out.len) != 0) {
    if (errno == EEXIST)
      rc = lm_error("%s already exists; not overwriting it", path);
    else
      rc = lm_error("cannot write %s: %s", path, strerror(errno));
    goto done;
  }
  lm_info(h, "Generating %s ... done", path);
  rc = 0;
  goto done;
oom:
  rc = lm_error("out of memory");
done:
  for (i = 0; i < 7; i++)
    lm_sb_free(&v[i]);
  lm_sb_free(&tbuf);
  lm_sb_free(&out);
  free(fname);
  free(path);
  return rc;
}

/* Resolve a user's revision argument to one index: an id or unambiguous
** prefix, else any target lm_graph_resolve understands that names exactly
** one revision (label@head). Prints the error; returns 0 or 1. */
static int resolve_one(const struct lm_graph *g, const char *arg, int *idx)
{
  struct lm_err err, err2;
  struct lm_idset s;
  int ok;
  lm_err_clear(&err);
  if (lm_graph_find(g, arg, idx, &err) == 0)
    return 0;
  lm_idset_init(&s);
  lm_err_clear(&err2);
  ok = strchr(arg, '@') && lm_graph_resolve(g, arg, &s, &err2) == 0
       && s.n == 1;
  if (ok)
    *idx = s.v[0];
  lm_idset_free(&s);
  if (ok)
    return 0;
  lm_error("%s", err.msg[0] ? err.msg : "unknown revision");
  return 1;
}

/* The ids of set as a ", "-separated list in sb. */
static void list_ids(const struct lm_graph *g, const struct lm_idset *set,
                     struct lm_sqlbuf *sb)
{
  int i;
  for (i = 0; i < set->n; i++) {
    const struct lm_revision *r = lm_graph_rev(g, set->v[i]);
    if (i)
      lm_sb_add(sb, ", ");
    lm_sb_add(sb, r->id);
    if (r->nlabels > 0)
      lm_sb_printf(sb, " (%s)", r->labels[0]);
  }
}

/* Split a --branch-label value on commas and append each label to *v.
** Labels must be non-empty ids (no '@' or spaces) and unused in g.
** Returns the exit status. */
static int add_labels(const struct lm_graph *g, const char *arg, char ***v,
                      int *n)
{
  const char *p = arg;
  while (1) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *lab, **nv, bad = 0;
    int i, j;
    if ((lab = strndup(p, len)) == NULL)
      return lm_error("out of memory");
    if (!lm_revision_id_ok(lab, &bad)) {
      int rc = lm_usage_error("invalid branch label '%s' (use letters, "
                              "digits and _)", lab);
      free(lab);
      return rc;
    }
    for (i = 0; g && i < lm_graph_count(g); i++) {
      const struct lm_revision *r = lm_graph_rev(g, i);
      for (j = 0; j < r->nlabels; j++)
        if (strcmp(r->labels[j], lab) == 0) {
          int rc = lm_error("branch label '%s' is already used by revision "
                            "%s (%s)", lab, r->id, r->path ? r->path : "?");
          free(lab);
          return rc;
        }
    }
    if ((nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv)) == NULL) {
      free(lab);
      return lm_error("out of memory");
    }
    *v = nv;
    nv[(*n)++] = lab;
    if (e == NULL)
      break;
    p = e + 1;
  }
  return 0;
}

static void free_strv(char **v, int n)
{
  int i;
  for (i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Append a strdup of s to *v. Returns 0 or 1 (OOM, message printed). */
static int push_str(char ***v, int *n, const char *s)
{
  char **nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);
  if (nv == NULL)
    return lm_error("out of memory");
  *v = nv;
  if ((nv[*n] = strdup(s)) == NULL)
    return lm_error("out of memory");
  (*n)++;
  return 0;
}

/* ------------------------------------------------------------- revision */

static const char revision_usage[] =
  "usage: lmigrate revision -m MSG [--rev-id ID] [--head REV] "
  "[--branch-label L]\n"
  "                         [--depends-on REV]... [--version-path DIR] "
  "[--splice]\n"
  "  -m, --message MSG    what the revision does (also its file name)\n"
  "  --rev-id ID          use ID instead of 12 random hex characters\n"
  "  --head REV           parent: a head, `base` (new root), label@head;\n"
  "                       needed when the graph has several heads\n"
  "  --splice             allow --head to name a revision that is not a head\n"
  "  --branch-label L     give the new revision a branch label\n"
  "  --depends-on REV     a revision (on another branch) applied first\n"
  "  --version-path DIR   write into this configured version location\n";

/*
** revision -m MSG ...: write a new revision file whose parent is the
** single head (or --head), from the project's or the embedded template.
*/
int cmd_revision(int argc, char **argv, struct lm_host *h)
{
  enum { OPT_REVID = 256, OPT_HEAD, OPT_LABEL, OPT_DEPENDS, OPT_VPATH, OPT_SPLICE,
         OPT_AUTOGEN };
  static const struct option longopts[] = {
    { "message", required_argument, NULL, 'm' },
    { "rev-id", required_argument, NULL, OPT_REVID },
    { "head", required_argument, NULL, OPT_HEAD },
    { "branch-label", required_argument, NULL, OPT_LABEL },
    { "depends-on", required_argument, NULL, OPT_DEPENDS },
    { "version-path", required_argument, NULL, OPT_VPATH },
    { "splice", no_argument, NULL, OPT_SPLICE },
    { "autogenerate", no_argument, NULL, OPT_AUTOGEN },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct newrev nr;
  const struct lm_graph *g = h->graph;
  const char *head = NULL;
  const char **deps = NULL;
  int ndeps_arg = 0, splice = 0, c, i, rc = 1;
  struct lm_idset heads;

  memset(&nr, 0, sizeof nr);
  lm_idset_init(&heads);
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'm': nr.message = optarg; break;
    case OPT_REVID: nr.rev_id = optarg; break;
    case OPT_HEAD: head = optarg; break;
    case OPT_LABEL:
      if ((rc = add_labels(g, optarg, &nr.labels, &nr.nlabels)) != 0)
        goto done;
      rc = 1;
      break;
    case OPT_DEPENDS: {
      const char **nd = realloc(deps, (size_t)(ndeps_arg + 1) * sizeof *nd);
      if (nd == NULL) {
        rc = lm_error("out of memory");
        goto done;
      }
      deps = nd;
      deps[ndeps_arg++] = optarg;
      break;
    }
    case OPT_VPATH: nr.version_path = optarg; break;
    case OPT_SPLICE: splice = 1; break;
    case OPT_AUTOGEN:
      rc = lm_error("--autogenerate is not yet available; write the "
                    "upgrade and downgrade functions by hand");
      goto done;
    case 'h':
      fputs(revision_usage, stdout);
      rc = 0;
      goto done;
    default:
      fputs(revision_usage, stderr);
      rc = lm_usage_error("revision: unknown or incomplete option '%s'",
                          argv[optind - 1]);
      goto done;
    }
  }
  if (optind < argc) {
    fputs(revision_usage, stderr);
    rc = lm_usage_error("revision: unexpected argument '%s' (quote the "
                        "message: -m \"...\")", argv[optind]);
    goto done;
  }
  if (nr.message == NULL) {
    fputs(revision_usage, stderr);
    rc = lm_usage_error("revision: -m MSG is required");
    goto done;
  }
  if (g == NULL) {
    rc = lm_error("internal error: revision scripts not loaded");
    goto done;
  }
  if (nr.rev_id && (rc = check_rev_id(h, nr.rev_id)) != 0)
    goto done;
  rc = 1;
  if (splice && head == NULL) {
    rc = lm_usage_error("--splice needs --head REV");
    goto done;
  }

  /* The parent. */
  if (head && strcmp(head, "base") == 0) {
    /* a new root: no down_revision */
  } else if (head) {
    int idx, nch;
    if (strcmp(head, "head") == 0 || strcmp(head, "heads") == 0) {
      lm_graph_heads(g, &heads);
      if (heads.n == 1) {
        idx = heads.v[0];
      } else if (heads.n == 0) {
        idx = -1;
      } else {
        struct lm_sqlbuf sb;
        lm_sb_init(&sb);
        list_ids(g, &heads, &sb);
        rc = lm_error("--head %s is ambiguous: there are %d heads (%s); name "
                      "one of them", head, heads.n, lm_sb_str(&sb));
        lm_sb_free(&sb);
        goto done;
      }
    } else if (resolve_one(g, head, &idx) != 0) {
      goto done;
    }
    if (idx >= 0) {
      lm_graph_children(g, idx, &nch);
      if (nch > 0 && !splice) {
        rc = lm_error("revision %s is not a head; pass --splice to branch "
                      "from it anyway", lm_graph_rev(g, idx)->id);
        goto done;
      }
      if (push_str(&nr.down, &nr.ndown, lm_graph_rev(g, idx)->id) != 0)
        goto done;
    }
  } else {
    lm_graph_heads(g, &heads);
    if (heads.n > 1) {
      struct lm_sqlbuf sb;
      lm_sb_init(&sb);
      list_ids(g, &heads, &sb);
      rc = lm_error("the revision graph has %d heads (%s); pass --head REV "
                    "to choose the parent, or join them first with "
                    "`lmigrate merge -m MSG heads`", heads.n,
                    lm_sb_str(&sb));
      lm_sb_free(&sb);
      goto done;
    }
    if (heads.n == 1
        && push_str(&nr.down, &nr.ndown, lm_graph_rev(g, heads.v[0])->id))
      goto done;
  }

  /* Dependencies, as full ids, without duplicates. */
  for (i = 0; i < ndeps_arg; i++) {
    int idx, j, dup = 0;
    const char *id;
    if (resolve_one(g, deps[i], &idx) != 0)
      goto done;
    id = lm_graph_rev(g, idx)->id;
    for (j = 0; j < nr.ndepends; j++)
      dup |= strcmp(nr.depends[j], id) == 0;
    if (!dup && push_str(&nr.depends, &nr.ndepends, id) != 0)
      goto done;
  }

  rc = write_revision(h, &nr);
done:
  lm_idset_free(&heads);
  free(deps);
  free_strv(nr.down, nr.ndown);
  free_strv(nr.labels, nr.nlabels);
  free_strv(nr.depends, nr.ndepends);
  return rc;
}

/* ---------------------------------------------------------------- merge */

static const char merge_usage[] =
  "usage: lmigrate merge -m MSG [--rev-id ID] [--branch-label L] "
  "(heads | REV REV...)\n"
  "  Write a revision whose parents are the given revisions; `heads`\n"
  "  means every current head of the graph.\n";

/*
** merge -m MSG (heads | REV REV...): write a merge revision whose
** down_revision lists the given revisions, which must be distinct and
** none an ancestor of another.
*/
int cmd_merge(int argc, char **argv, struct lm_host *h)
{
  enum { OPT_REVID = 256, OPT_LABEL };
  static const struct option longopts[] = {
    { "message", required_argument, NULL, 'm' },
    { "rev-id", required_argument, NULL, OPT_REVID },
    { "branch-label", required_argument, NULL, OPT_LABEL },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct newrev nr;
  const struct lm_graph *g = h->graph;
  struct lm_idset sel, one;
  unsigned char *mark = NULL;
  int c, i, j, rc = 1;

  memset(&nr, 0, sizeof nr);
  lm_idset_init(&sel);
  lm_idset_init(&one);
  optind = 0;
  opterr = 0;
  /* No leading '+': options may follow the revisions. */
  while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'm': nr.message = optarg; break;
    case OPT_REVID: nr.rev_id = optarg; break;
    case OPT_LABEL:
      if ((rc = add_labels(g, optarg, &nr.labels, &nr.nlabels)) != 0)
        goto done;
      rc = 1;
      break;
    case 'h':
      fputs(merge_usage, stdout);
      rc = 0;
      goto done;
    default:
      fputs(merge_usage, stderr);
      rc = lm_usage_error("merge: unknown or incomplete option '%s'",
                          argv[optind - 1]);
      goto done;
    }
  }
  if (nr.message == NULL) {
    fputs(merge_usage, stderr);
    rc = lm_usage_error("merge: -m MSG is required");
    goto done;
  }
  if (optind >= argc) {
    fputs(merge_usage, stderr);
    rc = lm_usage_error("merge: name the revisions to merge, or `heads`");
    goto done;
  }
  if (g == NULL) {
    rc = lm_error("internal error: revision scripts not loaded");
    goto done;
  }

  if (nr.rev_id && (rc = check_rev_id(h, nr.rev_id)) != 0)
    goto done;
  rc = 1;
  for (i = optind; i < argc; i++) {
    if (strcmp(argv[i], "heads") == 0) {
      struct lm_idset hs;
      lm_idset_init(&hs);
      lm_graph_heads(g, &hs);
      for (j = 0; j < hs.n; j++)
        if (!lm_idset_has(&sel, hs.v[j]) && lm_idset_push(&sel, hs.v[j])) {
          lm_idset_free(&hs);
          rc = lm_error("out of memory");
          goto done;
        }
      lm_idset_free(&hs);
    } else {
      int idx;
      if (resolve_one(g, argv[i], &idx) != 0)
        goto done;
      if (lm_idset_has(&sel, idx)) {
        rc = lm_usage_error("revision %s is named twice",
                            lm_graph_rev(g, idx)->id);
        goto done;
      }
      if (lm_idset_push(&sel, idx)) {
        rc = lm_error("out of memory");
        goto done;
      }
    }
  }
  if (sel.n < 2) {
    if (sel.n == 0)
      rc = lm_error("nothing to merge: the graph has no revisions");
    else
      rc = lm_error("nothing to merge: only one revision (%s); a merge "
                    "joins two heads or more", lm_graph_rev(g, sel.v[0])->id);
    goto done;
  }

  /* No revision may be an ancestor of another one. */
  if ((mark = malloc((size_t)lm_graph_count(g))) == NULL) {
    rc = lm_error("out of memory");
    goto done;
  }
  for (i = 0; i < sel.n; i++) {
    one.n = 0;
    if (lm_idset_push(&one, sel.v[i])) {
      rc = lm_error("out of memory");
      goto done;
    }
    lm_graph_applied(g, &one, mark);
    for (j = 0; j < sel.n; j++)
      if (j != i && mark[sel.v[j]]) {
        rc = lm_error("revision %s is an ancestor of %s; merge only "
                      "revisions on different branches",
                      lm_graph_rev(g, sel.v[j])->id,
                      lm_graph_rev(g, sel.v[i])->id);
        goto done;
      }
  }

  for (i = 0; i < sel.n; i++)
    if (push_str(&nr.down, &nr.ndown, lm_graph_rev(g, sel.v[i])->id) != 0)
      goto done;
  rc = write_revision(h, &nr);
done:
  free(mark);
  lm_idset_free(&sel);
  lm_idset_free(&one);
  free_strv(nr.down, nr.ndown);
  free_strv(nr.labels, nr.nlabels);
  return rc;
}
