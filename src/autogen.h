/*
** autogen.h: what the autogenerate commands (`check`, `check --stairway`,
** `schema dump`, `revision --autogenerate`) share: the calls into the Lua
** module lmigrate.autogen (lua/lmigrate/autogen.lua, API fixed by the
** issue 11 contract), reflection of the connected database (reflect.h),
** the declared schema file, and the "database is at head" check. Every
** call into Lua goes through lm_host_pcall.
**
** Functions returning int print their own error and return the exit
** status (0 ok, 1 failure). Values they produce are left on the Lua stack
** at the indexes recorded in struct lm_ag; lm_ag_end pops everything.
*/
#ifndef LM_AUTOGEN_H
#define LM_AUTOGEN_H

struct lm_host;

struct lm_ag {
  struct lm_host *h;            /* borrowed */
  int base;                     /* stack top before lm_ag_begin */
  int mod;                      /* stack index: the lmigrate.autogen table */
  int reflected;                /* stack index: the reflected model, or 0 */
  int declared;                 /* stack index: the declared model, or 0 */
  int changes;                  /* stack index: compare's result, or 0 */
};

/* Load lmigrate.autogen (the caller connects). */
int lm_ag_begin(struct lm_host *h, struct lm_ag *a);
/* Pop what the lm_ag_* calls left on the stack. */
void lm_ag_end(struct lm_ag *a);

/* Refuse (exit 1, naming where the database is and how to fix it) when
** the database's heads are not the revision graph's heads. what names
** the command in the message. */
int lm_ag_require_head(struct lm_ag *a, const char *what);

/* Reflect the connected database into a->reflected. */
int lm_ag_reflect(struct lm_ag *a);
/* Push the model of the database connected as h->conn (no lm_ag). */
int lm_ag_push_reflection(struct lm_host *h);
/* Refuse (exit 1, saying how to make one) when the declared schema file
** cannot be read: checked before connecting. */
int lm_ag_schema_readable(struct lm_host *h);
/* Load the declared schema file (cfg.schema) for the reflected model's
** dialect into a->declared; a missing file or an error in it names the
** file (and line). */
int lm_ag_declared(struct lm_ag *a);
/* autogen.compare(declared, reflected, { renames, include }) into
** a->changes. */
int lm_ag_compare(struct lm_ag *a, int renames);
/* 1 when a->changes holds a difference (notes do not count), 0 when
** not, -1 after printing an error. */
int lm_ag_has_differences(struct lm_ag *a);
/* Call autogen[fn] with the nargs values on top of the stack; leaves one
** result. */
int lm_ag_call(struct lm_ag *a, const char *fn, int nargs);
/* Print autogen.describe(changes at idx) to stdout, one line each after
** prefix. */
int lm_ag_print_changes(struct lm_ag *a, int idx, const char *prefix);

#endif
