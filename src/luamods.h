/*
** luamods.h: the Lua modules under lua/ compiled into the binary by
** tools/embed.lua (build/luamods.c), so `require("lmigrate.x")` works in a
** binary installed without them. Read-only data; nothing here allocates.
*/
#ifndef LM_LUAMODS_H
#define LM_LUAMODS_H

#include "templates.h"

/* lm_nluamods entries sorted by path ("lmigrate/schema.lua", relative to
** lua/), then a { NULL, NULL, 0 } sentinel. */
extern const struct lm_template lm_luamods[];
extern const int lm_nluamods;

/* The embedded file at path (relative to lua/), or NULL. */
const struct lm_template *lm_luamod_find(const char *path);

#endif
