/*
** revision.h: one revision script's metadata, as read from its file.
** Pure C; the Lua functions (upgrade/downgrade/data) stay in the Lua state,
** indexed by the revision's graph index.
*/
#ifndef LM_REVISION_H
#define LM_REVISION_H

#include <stddef.h>

struct lm_revision {
  char *id;            /* owned */
  char **down;         /* owned array of owned strings (down_revision) */
  int ndown;
  char **depends;      /* owned; depends_on */
  int ndepends;
  char **labels;       /* owned; branch_labels */
  int nlabels;
  char *message;       /* owned; may be NULL */
  char *create_date;   /* owned; may be NULL */
  char *path;          /* owned; file path as shown to users */
  int transactional;   /* 1 unless `transactional = false` */
  int has_downgrade;   /* 1 when the file defines downgrade */
  int has_data;        /* LM_HAS_DATA | LM_HAS_DATA_DOWNGRADE: the file
                       ** defines data / data_downgrade */
  char checksum[65];   /* hex SHA-256 of the file's bytes, NUL-terminated */
};

#define LM_HAS_DATA 1
#define LM_HAS_DATA_DOWNGRADE 2

/* A zeroed revision with transactional = 1; NULL on OOM. Caller frees
** with lm_revision_free (or hands ownership to lm_graph_add). */
struct lm_revision *lm_revision_new(void);
void lm_revision_free(struct lm_revision *r);   /* NULL-safe */

/* 1 when id is a valid revision id: 1..64 chars of [A-Za-z0-9_]; else 0
** and, when bad is non-NULL, *bad gets the first offending character. */
int lm_revision_id_ok(const char *id, char *bad);

/* "path:LINE" of the line in r's file that assigns field (e.g.
** "down_revision"), for error messages; just the path when the file or the
** line cannot be found. Written into buf (n bytes), which is returned.
** Reads the file: for error paths only. */
const char *lm_revision_locate(const struct lm_revision *r, const char *field,
                               char *buf, size_t n);

#endif
