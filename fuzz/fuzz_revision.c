/*
** fuzz_revision.c: libFuzzer harness for the revision-file loader
** (src/sandbox.c): the input is one file's bytes, written as the only
** file of a version location and loaded the way every command loads its
** revisions (lm_host_load_scripts, the cache off), then compiled again
** (lm_sandbox_compile) and each function field pushed. Scripts run in a
** bounded state (fuzz.h): 64 MiB, 100 ms of CPU, no process or file
** functions.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lua.h>

#include "fuzz.h"
#include "graph.h"
#include "host.h"
#include "sandbox.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  setenv("LMIGRATE_NO_CACHE", "1", 1);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  char path[512];
  struct lm_host *h = fz_host();
  snprintf(path, sizeof path, "%s/0001_fuzz.lua", fz_tmpdir());
  fz_write(path, d, n);
  h->cfg.locations = malloc(sizeof *h->cfg.locations);
  if (h->cfg.locations == NULL ||
      (h->cfg.locations[0] = strdup(fz_tmpdir())) == NULL)
    abort();
  h->cfg.nlocations = 1;
  fz_arm();
  if (lm_host_load_scripts(h) == 0 && lm_graph_count(h->graph) == 1) {
    lm_sandbox_compile(h, 0);
    lua_settop(h->L, 0);
    lm_sandbox_push_field(h, 0, "upgrade");
    lm_sandbox_push_field(h, 0, "downgrade");
    lm_sandbox_push_field(h, 0, "data");
    lua_settop(h->L, 0);
  }
  fz_disarm();
  lm_host_free(h);
  unlink(path);
  return 0;
}
