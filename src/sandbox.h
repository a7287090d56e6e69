/*
** sandbox.h: loading revision scripts and calling their functions. Each
** revision chunk gets a fresh _ENV that reads the shared globals but
** refuses new globals and unknown names. Implements lm_host_load_scripts.
*/
#ifndef LM_SANDBOX_H
#define LM_SANDBOX_H

struct lm_host;

/* Push revision idx's field `name` (e.g. "upgrade") from the loaded
** revision tables; returns its Lua type. */
int lm_sandbox_push_field(struct lm_host *h, int idx, const char *name);

#endif
