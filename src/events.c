/*
** events.c: the --json event stream of the commands that change the
** database (events.h). Each event is one compact JSON object on its own
** line, flushed at once so a deploy tool can follow a run live.
*/
#include <stdio.h>
#include <time.h>

#include "events.h"
#include "host.h"
#include "json.h"

/* Start an event object, {"event":name,"time":"...Z", in the Lua API's
** writer (h->events) or in *local on stdout; returns the writer. */
static struct lm_json *begin(struct lm_host *h, struct lm_json *local,
                             const char *name) {
  struct lm_json *j = h->events ? h->events : local;
  struct timespec ts;
  struct tm tm;
  char day[32], when[48];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when, sizeof when, "%.24s.%03dZ", day,
           (int)(ts.tv_nsec / 1000000));
  if (j == local) lm_json_init(j, stdout);
  lm_json_object(j);
  lm_json_kstr(j, "event", name);
  lm_json_kstr(j, "time", when);
  return j;
}

/* Events are wanted: --json on the command line, or the Lua API. */
static int wanted(const struct lm_host *h) {
  return h->json || h->events != NULL;
}

static void finish(struct lm_json *j) {
  lm_json_end(j);
  lm_json_done(j);
}

static void revision(struct lm_json *j, const struct lm_host *h, int idx) {
  const struct lm_revision *r =
    idx >= 0 && h->graph ? lm_graph_rev(h->graph, idx) : NULL;
  lm_json_kstr(j, "revision", r ? r->id : NULL);
  if (r) lm_json_kstr(j, "path", r->path);
}

void lm_event_step(struct lm_host *h, const char *event, int idx,
                   const char *direction, double ms, long long rows) {
  struct lm_json local, *j;
  if (!wanted(h)) return;
  j = begin(h, &local, event);
  revision(j, h, idx);
  lm_json_kstr(j, "direction", direction);
  lm_json_kstr(j, "message", lm_graph_rev(h->graph, idx)->message);
  if (ms >= 0) lm_json_kint(j, "duration_ms", (long long)(ms + 0.5));
  if (rows >= 0) lm_json_kint(j, "rows", rows);
  finish(j);
}

void lm_event_error(struct lm_host *h, int idx, const char *direction,
                    const char *phase, double ms, const char *message) {
  struct lm_json local, *j;
  if (!wanted(h)) return;
  j = begin(h, &local, "error");
  revision(j, h, idx);
  lm_json_kstr(j, "direction", direction);
  lm_json_kstr(j, "phase", phase);
  if (ms >= 0) lm_json_kint(j, "duration_ms", (long long)(ms + 0.5));
  lm_json_kstr(j, "message", message);
  finish(j);
}

void lm_event_warning(struct lm_host *h, int idx, const char *message) {
  struct lm_json local, *j;
  if (!wanted(h)) return;
  j = begin(h, &local, "warning");
  revision(j, h, idx);
  lm_json_kstr(j, "message", message);
  finish(j);
}

void lm_event_end(struct lm_host *h, const char *command, int status) {
  struct lm_json local, *j;
  if (!wanted(h)) return;
  j = begin(h, &local, "end");
  lm_json_kstr(j, "command", command);
  lm_json_kint(j, "exit", status);
  finish(j);
}
