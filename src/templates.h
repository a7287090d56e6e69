/*
** templates.h: the files under templates/ compiled into the binary by
** tools/embed.lua (build/templates.c): the `init` scaffolds (NAME/...)
** and revision.lua.tmpl. Read-only data; nothing here allocates.
*/
#ifndef LM_TEMPLATES_H
#define LM_TEMPLATES_H

#include <stddef.h>

struct lm_template {
  const char *path;   /* relative to templates/: "generic/lmigrate.lua" */
  const char *data;   /* the file's bytes (NUL-terminated as well) */
  size_t len;
};

/* lm_ntemplates entries sorted by path, then a { NULL, NULL, 0 } sentinel. */
extern const struct lm_template lm_templates[];
extern const int lm_ntemplates;

/* The embedded file at path, or NULL. */
const struct lm_template *lm_template_find(const char *path);

#endif
