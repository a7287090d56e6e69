/*
** interrupt.c: the SIGINT/SIGTERM flag (see interrupt.h).
*/
#include <string.h>

#include "interrupt.h"

volatile sig_atomic_t lm_interrupted = 0;

static void on_signal(int sig) {
  lm_interrupted = sig;
}

void lm_interrupt_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}
