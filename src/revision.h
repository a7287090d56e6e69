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

/* The longest revision id or branch label (the version table's
** version_num is VARCHAR(64)). */
#define LM_REVISION_ID_MAX 64

/* 1 when id is a valid revision id: 1..64 chars of [A-Za-z0-9_]; else 0
** and, when bad is non-NULL, *bad gets the first offending character, or
** '\0' when id is empty or longer than LM_REVISION_ID_MAX. */
int lm_revision_id_ok(const char *id, char *bad);

/* 1 when name is one of the target words head, heads, base (compared
** case-sensitively, as targets are), which no revision id or branch label
** may be. */
int lm_revision_reserved(const char *name);

/* Why name cannot be a revision id (kind "revision id") or a branch label
** (kind "branch label"): empty, too long, an illegal character, or a
** reserved word. NULL when it can; else a one-line message without a
** location, e.g. "revision id 'aaaaaaaaaaaaaaaaaaaa...' is 80 characters
** long; the limit is 64", written into buf (n bytes) and returned. */
const char *lm_revision_name_problem(const char *kind, const char *name,
                                     char *buf, size_t n);

/* "path:LINE" of the line in r's file that assigns field (e.g.
** "down_revision"), for error messages; just the path when the file or the
** line cannot be found. Written into buf (n bytes), which is returned.
** Reads the file: for error paths only. */
const char *lm_revision_locate(const struct lm_revision *r, const char *field,
                               char *buf, size_t n);

#endif
