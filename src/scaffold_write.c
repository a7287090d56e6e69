/*
** scaffold_write.c: writing a new revision file for `revision` and
** `merge`: its id (--rev-id checked, else 12 random hex characters no
** loaded revision uses), the version location it goes to, and the file
** "<id>_<slug>.lua" there, whose text scaffold_template.c renders. The
** file is created with O_EXCL: an existing file is never overwritten.
*/
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "graph.h"
#include "host.h"
#include "log.h"
#include "revision.h"
#include "scaffold_int.h"
#include "sqlbuf.h"

#define SLUG_MAX 40

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
int lm_scaffold_check_rev_id(const struct lm_host *h, const char *id)
{
  char why[256];
  int idx;
  if (lm_revision_name_problem("revision id", id, why, sizeof why))
    return lm_usage_error("invalid --rev-id: %s", why);
  if (h->graph && (idx = lm_graph_index(h->graph, id)) >= 0) {
    const struct lm_revision *r = lm_graph_rev(h->graph, idx);
    return lm_error("revision %s already exists (%s)", id,
                    r->path ? r->path : "?");
  }
  return 0;
}

/* Check id (given or generated) and write the file; prints progress and
** errors. Returns the exit status. */
int lm_scaffold_write_revision(const struct lm_host *h,
                               const struct lm_newrev *nr)
{
  struct lm_sqlbuf out;
  const char *loc;
  char id[13], slug[SLUG_MAX + 1], *fname = NULL, *path = NULL;
  const char *rid;
  int rc = 1;

  lm_sb_init(&out);

  if (nr->rev_id) {
    if ((rc = lm_scaffold_check_rev_id(h, nr->rev_id)) != 0)
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
  if (lm_scaffold_mkdir_p(loc) != 0) {
    rc = lm_error("cannot create version location %s: %s", loc,
                  strerror(errno));
    goto done;
  }

  if ((rc = lm_scaffold_render_revision(h->cfg.revision_template, nr, rid,
                                        &out)) != 0)
    goto done;
  rc = 1;

  slugify(nr->message, slug);
  fname = malloc(strlen(rid) + strlen(slug) + 6);
  if (fname == NULL)
    goto oom;
  sprintf(fname, "%s%s%s.lua", rid, *slug ? "_" : "", slug);
  if ((path = lm_scaffold_path_join(loc, fname)) == NULL)
    goto oom;
  if (lm_scaffold_write_new(path, lm_sb_str(&out), out.len) != 0) {
    if (errno == EEXIST)
      rc = lm_error("%s already exists; not overwriting it", path);
    else
      rc = lm_error("cannot write %s: %s", path, strerror(errno));
    goto done;
  }
  lm_info(h, "Generating %s ... done", path);
  if (nr->id_out)
    snprintf(nr->id_out, LM_REVID_BUF, "%s", rid);
  rc = 0;
  goto done;
oom:
  rc = lm_error("out of memory");
done:
  lm_sb_free(&out);
  free(fname);
  free(path);
  return rc;
}
