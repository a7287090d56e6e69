/*
** clock.h: monotonic time in milliseconds, for durations (history rows,
** hooks' elapsed_ms, backfill progress, lock waits). Never wall time.
*/
#ifndef LM_CLOCK_H
#define LM_CLOCK_H

#include <time.h>

static inline double lm_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
