/*
** interrupt.h: Ctrl-C / SIGTERM. The signal handler only sets a flag (the
** project's one piece of global mutable state, as lua.c's laction); the
** Lua count hook and the SQLite progress handler poll it, so a running
** script or statement stops and its transaction rolls back.
*/
#ifndef LM_INTERRUPT_H
#define LM_INTERRUPT_H

#include <signal.h>

extern volatile sig_atomic_t lm_interrupted;

/* Install the SIGINT/SIGTERM handlers (without SA_RESTART). */
void lm_interrupt_install(void);

#endif
