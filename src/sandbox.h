/*
** sandbox.h: loading revision scripts and calling their functions. Each
** revision chunk gets a fresh _ENV that reads the shared globals but
** refuses new globals and unknown names. Implements lm_host_load_scripts.
*/
#ifndef LM_SANDBOX_H
#define LM_SANDBOX_H

struct lm_host;

/* Make sure revision idx's file is compiled: a revision whose metadata
** came from the revision cache is compiled now, in the same fresh
** environment and with the same validation as at load, after checking
** that the file's SHA-256 still equals the checksum the graph holds
** ("<path> changed while lmigrate was running; run the command again"
** otherwise). 0 ok (also when already compiled), 1 after printing the
** error. Call it for every planned revision before the first database
** write, so that a file that fails to load stops the command first. */
int lm_sandbox_compile(struct lm_host *h, int idx);

/* Push revision idx's field `name` (e.g. "upgrade") from the loaded
** revision tables, compiling the file first if needed; returns its Lua
** type. When the file cannot be compiled it prints the error, pushes nil
** and returns LUA_TNONE (-1). */
int lm_sandbox_push_field(struct lm_host *h, int idx, const char *name);

#endif
