/*
** scaffold_int.h: what the files of the scaffolding commands (init,
** revision, merge) share and nobody else uses: cmd_scaffold.c (the
** commands and their options), scaffold_init.c (init's scaffolds),
** scaffold_args.c (revision arguments resolved against the graph),
** scaffold_write.c (ids, locations, new revision files),
** scaffold_template.c (the revision template) and scaffold_file.c (file
** helpers). Not for other modules: use cmd.h.
**
** Functions returning an exit status print their own message (log.h):
** 0 success, 1 failure, 2 usage error.
*/
#ifndef LM_SCAFFOLD_INT_H
#define LM_SCAFFOLD_INT_H

#include <stddef.h>

#include "sqlbuf.h"

struct lm_graph;
struct lm_host;
struct lm_idset;

/* What revision and merge hand to lm_scaffold_write_revision. Strings are
** borrowed. */
struct lm_newrev {
  const char *message;
  const char *rev_id;          /* --rev-id or NULL (random) */
  char **down;                 /* full parent ids; owned by the caller */
  int ndown;
  char **labels;
  int nlabels;
  char **depends;              /* full ids */
  int ndepends;
  const char *version_path;    /* --version-path or NULL (first location) */
  /* revision --autogenerate (all NULL otherwise: the template's examples).
  ** Bodies are Lua lines indented 4 spaces, each ending in a newline. */
  const char *upgrades;        /* ${upgrades}: upgrade's body */
  const char *downgrades;      /* ${downgrades}: downgrade's body */
  const char *data;            /* a `data` function's body, or NULL */
  const char *notes;           /* "-- ..." lines after the first, or NULL */
  int non_transactional;       /* 1: `transactional = false` */
  char *id_out;                /* when not NULL, receives the id written
                               ** (LM_REVID_BUF bytes) */
};

#define LM_REVID_BUF 256

/* ---- scaffold_file.c: files, no host, errno on failure ---------------- */

/* dir/name in a malloc'd string (caller frees); "." as dir gives name
** alone so messages read "lmigrate.lua", not "./lmigrate.lua". NULL on
** OOM. */
char *lm_scaffold_path_join(const char *dir, const char *name);
/* mkdir -p: create path and its missing parents (mode 0777 & ~umask).
** Returns 0, or -1 with errno set; an existing non-directory is ENOTDIR. */
int lm_scaffold_mkdir_p(const char *path);
/* Create path (which must not exist) holding len bytes of data. Returns
** 0, or -1 with errno set (EEXIST when the file is already there); a
** partly written file is removed. */
int lm_scaffold_write_new(const char *path, const char *data, size_t len);
/* The whole file at path appended to sb. Returns 0, or -1 with errno set. */
int lm_scaffold_read_file(const char *path, struct lm_sqlbuf *sb);

/* ---- scaffold_init.c -------------------------------------------------- */

/* Write the embedded scaffold tmpl under dir (created if needed) and the
** version directory dir/versions. Refuses to overwrite any file; nothing
** is written when lmigrate.lua exists. An unknown scaffold name is a usage
** error listing the available ones. Returns the exit status. */
int lm_scaffold_init(const struct lm_host *h, const char *dir,
                     const char *tmpl);

/* ---- scaffold_args.c -------------------------------------------------- */

/* Resolve a user's revision argument to one index: an id or unambiguous
** prefix, else any target lm_graph_resolve understands that names exactly
** one revision (label@head). Prints the error; returns 0 or 1. */
int lm_scaffold_resolve_one(const struct lm_graph *g, const char *arg,
                            int *idx);
/* The ids of set as a ", "-separated list appended to sb. */
void lm_scaffold_list_ids(const struct lm_graph *g,
                          const struct lm_idset *set, struct lm_sqlbuf *sb);
/* Split a --branch-label value on commas and append each label to *v.
** Labels must be non-empty ids (no '@' or spaces) and unused in g.
** Returns the exit status. */
int lm_scaffold_add_labels(const struct lm_graph *g, const char *arg,
                           char ***v, int *n);
/* Append a strdup of s to *v. Returns 0 or 1 (OOM, message printed). */
int lm_scaffold_push_str(char ***v, int *n, const char *s);
/* Free v[0..n) and v; NULL-safe. */
void lm_scaffold_free_strv(char **v, int n);

/* ---- scaffold_write.c ------------------------------------------------- */

/* A --rev-id must be a valid id not used by any loaded revision. Prints
** the error; returns the exit status (0 ok, 1 taken, 2 malformed). */
int lm_scaffold_check_rev_id(const struct lm_host *h, const char *id);
/* Check id (given or generated) and write the file; prints progress and
** errors. Returns the exit status. */
int lm_scaffold_write_revision(const struct lm_host *h,
                               const struct lm_newrev *nr);

/* ---- scaffold_autogen.c ----------------------------------------------- */

/* revision --autogenerate: compare the database (at head) with the
** declared schema, print the changes, and write the revision(s) that make
** them, the first one with nr's parents, labels and dependencies (which
** this may replace: the caller still frees them). No change: nothing is
** written unless allow_empty. Returns the exit status. */
int lm_scaffold_autogen(struct lm_host *h, struct lm_newrev *nr,
                        int allow_empty, int renames);

/* ---- scaffold_template.c ---------------------------------------------- */

/* The text of a new revision file in out: the template at tmpl_path (the
** project's revision_template), or the embedded revision.lua.tmpl when
** tmpl_path is NULL, with its ${...} placeholders filled from nr, the
** revision id rid and the current local time. An autogenerated revision
** (nr->upgrades set) needs a template with ${upgrades} and
** ${downgrades}. Returns the exit status. */
int lm_scaffold_render_revision(const char *tmpl_path,
                                const struct lm_newrev *nr, const char *rid,
                                struct lm_sqlbuf *out);

#endif
