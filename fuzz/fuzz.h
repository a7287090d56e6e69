/*
** fuzz.h: what the libFuzzer harnesses in fuzz/ share (fuzz_common.c):
** a NUL-terminated copy of the input, a scratch directory, and a host
** whose Lua state is bounded (memory, run time) and cannot touch the
** machine (no os.execute, io.open, os.remove, ...), so that the loader
** harnesses fuzz lmigrate, not the shell.
*/
#ifndef LM_FUZZ_H
#define LM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

struct lm_host;

/* A malloc'd copy of d[0..n) with a NUL appended (embedded NULs kept);
** aborts when out of memory. Caller frees. */
char *fz_cstr(const uint8_t *d, size_t n);

/* The process's scratch directory (created once, under TMPDIR). */
const char *fz_tmpdir(void);

/* Write d[0..n) to the file path (truncated); aborts on failure. */
void fz_write(const char *path, const uint8_t *d, size_t n);

/* A new host whose Lua state allocates at most 64 MiB and whose global
** table has no process, file or module functions left (os.exit is kept:
** the host replaces it in the scripts' environments). Aborts on OOM. */
struct lm_host *fz_host(void);

/* Arm a one-shot 100 ms CPU-time timer that raises the interrupt flag
** (as Ctrl-C would), so an endless script ends; fz_disarm stops it and
** clears the flag. */
void fz_arm(void);
void fz_disarm(void);

#endif
