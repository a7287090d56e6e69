/*
** op_pgarray.h: PostgreSQL array literals ('{...}' text) built from
** struct lm_value elements, so a whole column of a batch binds as one
** parameter ($1::bigint[]) instead of one parameter per row. Pure C: no
** Lua, no connection. Used by op_backfill_fn.c.
*/
#ifndef LM_OP_PGARRAY_H
#define LM_OP_PGARRAY_H

#include "backend.h"
#include "sqlbuf.h"

/* Append v as one element of an array literal whose elements are
** separated by ',' (the caller writes '{', the commas and '}'):
**   LM_VNULL            NULL (bare: the only unquoted NULL)
**   LM_VINT, LM_VFLOAT  the number, bare (%lld, %.17g as backend_pg.c)
**   LM_VBOOL            true / false, bare
**   LM_VTEXT            double-quoted, '"' and '\' escaped by '\'; every
**                       other byte (braces, commas, newlines, spaces,
**                       UTF-8) verbatim, so "NULL" and "" stay strings
**   LM_VBLOB            "\\x<hex>", read by bytea's hex input format
** Returns 0, or 1 when v is text holding a NUL byte, which PostgreSQL
** text cannot hold (nothing appended). Out of memory shows in
** lm_sb_ok(sb). */
int lm_pgarray_add(struct lm_sqlbuf *sb, const struct lm_value *v);

#endif
