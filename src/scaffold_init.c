/*
** scaffold_init.c: what `init` writes: the embedded scaffolds (the files
** under templates/NAME/, see templates.h) copied into a directory, and
** the version directory next to them. Every destination is checked before
** the first file is written, so a refusal writes nothing, and files are
** created with O_EXCL, so nothing existing is ever overwritten.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "scaffold_int.h"
#include "sqlbuf.h"
#include "templates.h"

/* 1 when "name/lmigrate.lua" is embedded: a scaffold (other directories
** of templates/, such as completion/, are not). */
static int scaffold_exists(const char *name)
{
  size_t nl = strlen(name);
  int i;
  for (i = 0; i < lm_ntemplates; i++)
    if (strncmp(lm_templates[i].path, name, nl) == 0
        && strcmp(lm_templates[i].path + nl, "/lmigrate.lua") == 0)
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
    if (slash == NULL || strcmp(slash, "/lmigrate.lua") != 0)
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

/*
** init's work once its options are parsed: write the scaffold tmpl under
** dir (created if needed) and the version directory dir/versions. Refuses
** to overwrite any file; nothing is written when lmigrate.lua exists. An
** unknown tmpl is a usage error (2) listing the scaffolds.
*/
int lm_scaffold_init(const struct lm_host *h, const char *dir,
                     const char *tmpl)
{
  char *cfgpath = NULL, *verdir = NULL, *dest = NULL;
  struct stat st;
  size_t tl;
  int i, rc = 1;

  if (!scaffold_exists(tmpl)) {
    struct lm_sqlbuf sb;
    lm_sb_init(&sb);
    scaffold_list(&sb);
    rc = lm_usage_error("unknown template '%s'; available templates: %s",
                        tmpl, lm_sb_str(&sb));
    lm_sb_free(&sb);
    return rc;
  }

  cfgpath = lm_scaffold_path_join(dir, "lmigrate.lua");
  verdir = lm_scaffold_path_join(dir, "versions");
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
    if ((dest = lm_scaffold_path_join(dir, p + tl + 1)) == NULL) {
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
    if (lm_scaffold_mkdir_p(dir) != 0) {
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
    if ((dest = lm_scaffold_path_join(dir, t->path + tl + 1)) == NULL) {
      rc = lm_error("out of memory");
      goto done;
    }
    slash = strrchr(dest, '/');
    if (slash && slash != dest) {   /* a scaffold file in a subdirectory */
      *slash = '\0';
      if (lm_scaffold_mkdir_p(dest) != 0) {
        rc = lm_error("cannot create directory %s: %s", dest, strerror(errno));
        goto done;
      }
      *slash = '/';
    }
    if (lm_scaffold_write_new(dest, t->data, t->len) != 0) {
      rc = lm_error("cannot write %s: %s", dest, strerror(errno));
      goto done;
    }
    lm_info(h, "Generating %s ... done", dest);
  }
  if (stat(verdir, &st) != 0) {
    if (lm_scaffold_mkdir_p(verdir) != 0) {
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
