/*
** events.h: `upgrade --json` / `downgrade --json` / `stamp --json`: one
** JSON object per line on stdout as things happen (docs/json.md, "Events").
** Every function is a no-op unless h->json is set; offline (--sql) runs
** never emit events (stdout is the script).
*/
#ifndef LM_EVENTS_H
#define LM_EVENTS_H

struct lm_host;

/* {"event":"start"|"done", revision, direction, message, path} and, for
** done, duration_ms and rows (rows written by op.backfill/each_batch). */
void lm_event_step(struct lm_host *h, const char *event, int idx,
                   const char *direction, double ms, long long rows);
/* {"event":"error", revision (null when idx < 0), direction, phase,
** duration_ms, message}: a step failed and was rolled back or recorded. */
void lm_event_error(struct lm_host *h, int idx, const char *direction,
                    const char *phase, double ms, const char *message);
/* {"event":"warning", revision, message}. */
void lm_event_warning(struct lm_host *h, int idx, const char *message);
/* {"event":"end", command, exit}: the last line of every run. */
void lm_event_end(struct lm_host *h, const char *command, int status);

#endif
