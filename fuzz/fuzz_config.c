/*
** fuzz_config.c: libFuzzer harness for the config loader (src/config.c):
** the input is lmigrate.lua's bytes, run with a -x table the way every
** command reads its configuration (lm_host_load_config). The script runs
** in a bounded state (fuzz.h): 64 MiB, 100 ms of CPU, no process or file
** functions.
*/
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "host.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  unsetenv("LMIGRATE_URL");
  unsetenv("DATABASE_URL");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  static char path[512];
  struct lm_host *h = fz_host();
  snprintf(path, sizeof path, "%s/lmigrate.lua", fz_tmpdir());
  fz_write(path, d, n);
  h->config_opt = path;
  lm_host_add_x(h, "env=test");
  lm_host_add_x(h, "db=sqlite:x.db");
  fz_arm();
  lm_host_load_config(h);
  fz_disarm();
  lm_host_free(h);
  unlink(path);
  return 0;
}
