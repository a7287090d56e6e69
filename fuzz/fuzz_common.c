/*
** fuzz_common.c: helpers shared by the harnesses (see fuzz.h).
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "fuzz.h"
#include "host.h"
#include "interrupt.h"

#define FZ_LUA_LIMIT ((size_t)64 << 20)

char *fz_cstr(const uint8_t *d, size_t n) {
  char *s = malloc(n + 1);
  if (s == NULL) abort();
  if (n) memcpy(s, d, n);
  s[n] = '\0';
  return s;
}

const char *fz_tmpdir(void) {
  static char dir[256];
  if (dir[0] == '\0') {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/lmfuzz.XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(dir) == NULL) abort();
  }
  return dir;
}

void fz_write(const char *path, const uint8_t *d, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) abort();
  if (n && fwrite(d, 1, n, f) != n) abort();
  if (fclose(f) != 0) abort();
}

/* A lua_Alloc that refuses to hold more than FZ_LUA_LIMIT bytes (ud: the
** running total), so a script asking for gigabytes gets "not enough
** memory" instead of tripping libFuzzer's malloc limit. */
static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  size_t *total = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    *total -= old < *total ? old : *total;
    return NULL;
  }
  if (nsize > old && *total + (nsize - old) > FZ_LUA_LIMIT) return NULL;
  ptr = realloc(ptr, nsize);
  if (ptr != NULL) *total = *total - (old < *total ? old : *total) + nsize;
  return ptr;
}

static const char *const removed[][2] = {
  {"os", "execute"}, {"os", "remove"}, {"os", "rename"}, {"os", "tmpname"},
  {"os", "getenv"}, {"io", "open"}, {"io", "popen"}, {"io", "lines"},
  {"io", "input"}, {"io", "output"}, {"io", "read"}, {"io", "write"},
  {NULL, "dofile"}, {NULL, "loadfile"}, {NULL, "require"},
  {NULL, "print"}, {NULL, "collectgarbage"}, {NULL, NULL}
};

struct lm_host *fz_host(void) {
  static size_t total;
  struct lm_host *h = lm_host_new();
  lua_State *L;
  int i;
  if (h == NULL) abort();
  L = h->L;
  lua_gc(L, LUA_GCCOLLECT);
  total = 0;
  lua_setallocf(L, limited_alloc, &total);
  for (i = 0; removed[i][1]; i++) {
    if (removed[i][0]) {
      lua_getglobal(L, removed[i][0]);
      lua_pushnil(L);
      lua_setfield(L, -2, removed[i][1]);
      lua_pop(L, 1);
    } else {
      lua_pushnil(L);
      lua_setglobal(L, removed[i][1]);
    }
  }
  lua_pushnil(L);
  lua_setglobal(L, "package");
  return h;
}

static void on_alarm(int sig) {
  (void)sig;
  lm_interrupted = SIGINT;
}

void fz_arm(void) {
  struct itimerval it;
  static int installed;
  if (!installed) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGVTALRM, &sa, NULL);
    installed = 1;
  }
  lm_interrupted = 0;
  memset(&it, 0, sizeof it);
  it.it_value.tv_usec = 100000;
  setitimer(ITIMER_VIRTUAL, &it, NULL);
}

void fz_disarm(void) {
  struct itimerval it;
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_VIRTUAL, &it, NULL);
  lm_interrupted = 0;
}
