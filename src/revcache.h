/*
** revcache.h: the revision metadata cache, pure C. It remembers, per
** revision file, the file's stat identity (size, inode, mtime, ctime) and
** the metadata the loader read from it, so that an unchanged file need not
** be compiled by Lua just to learn its id and parents. One cache file per
** set of version locations, under ${XDG_CACHE_HOME:-$HOME/.cache}/lmigrate/;
** never inside the project; writing one prunes the directory (files
** unused for 30 days, then the oldest past 64 MiB). Every failure to read
** or write it is silent:
** the caller then simply compiles the file, as without a cache.
*/
#ifndef LM_REVCACHE_H
#define LM_REVCACHE_H

#include <sys/stat.h>

#include "revision.h"

struct lm_revcache;

/* What identifies a file's contents without reading it. */
struct lm_revcache_stat {
  long long size, ino;
  long long mtime_s, mtime_ns;
  long long ctime_s, ctime_ns;
};

/* Fill *out from st. */
void lm_revcache_stat_from(struct lm_revcache_stat *out, const struct stat *st);

/* Open the cache for these version locations (as configured; they are
** made absolute with realpath for the key) and read its file when there is
** one. `salt` names whatever else the cached metadata depends on (the Lua
** release, the loader's field list): a different salt is a different
** cache. Takes the current coarse clock as the time the caller's stats are
** taken: call it before stat'ing any revision file. Returns NULL when the
** cache is disabled (LMIGRATE_NO_CACHE set to anything but "" or "0"), no
** cache directory can be named (no XDG_CACHE_HOME/HOME), a location has no
** realpath, or memory runs out. Free with lm_revcache_free. */
struct lm_revcache *lm_revcache_open(char *const *locations, int nlocations,
                                     const char *salt);
void lm_revcache_free(struct lm_revcache *c);          /* NULL-safe */

/* The cached revision for file `name` in location `loc` if the cache has
** one whose stat identity equals *st: a new revision (caller owns it; free
** with lm_revision_free or hand it to lm_graph_add) with path = `path`
** copied. NULL when there is no such entry (or on OOM). Files must be asked
** for in (loc, strcmp name) order, as the loader lists them; each entry
** matches at most once. */
struct lm_revision *lm_revcache_lookup(struct lm_revcache *c, int loc,
                                       const char *name, const char *path,
                                       const struct lm_revcache_stat *st);

/* Remember revision r (borrowed: it and `name` must stay alive until
** lm_revcache_save) as the metadata of file `name` in location `loc` with
** stat identity *st. `hit` is 1 when r came from lm_revcache_lookup.
** Files must be kept in the same order as they are looked up. A file whose
** ctime is too close to the open time (it may change again within the same
** timestamp tick) is not kept, so it is compiled again next time. 0 ok,
** 1 OOM (the cache is then simply not written). */
int lm_revcache_keep(struct lm_revcache *c, int loc, const char *name,
                     const struct lm_revcache_stat *st,
                     const struct lm_revision *r, int hit);

/* Number of lookups that hit. */
int lm_revcache_hits(const struct lm_revcache *c);

/* Write the kept entries as the new cache file (temp file + rename) when
** they differ from what was read: a file compiled anew, or a cached entry
** that matched no file. 0 written or nothing to write, 1 not written
** (silently: the caller may lm_debug it). */
int lm_revcache_save(struct lm_revcache *c);

/* Remove the cache file of these locations and salt (its metadata proved
** stale), so that the next run compiles every file. Silent. */
void lm_revcache_forget(char *const *locations, int nlocations,
                        const char *salt);

#endif
