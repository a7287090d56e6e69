/*
** inspect_json.h: the --json forms of the read commands (current,
** history, heads, branches, show, validate, status, log), written with
** the one JSON writer (json.h). The schemas are in docs/json.md; every
** function prints one document (one line) on stdout.
*/
#ifndef LM_INSPECT_JSON_H
#define LM_INSPECT_JSON_H

#include "graph.h"

struct lm_host;
struct lm_json;
struct lm_status;
struct lm_log_row;

/* One revision object; current: 1/0 adds "current", -1 leaves it out. */
void lm_json_revision(struct lm_json *j, const struct lm_graph *g, int idx,
                      int current);
/* An array of revision objects (heads, history, show); current may be
** NULL (no "current" field) or a mark per graph index. */
void lm_json_print_revs(const struct lm_graph *g, const struct lm_idset *s,
                        const unsigned char *current);
/* current --json: the heads with "state":"applied", then a FAILED
** non-transactional revision ("failed") or one in its data phase
** ("data"). Reads the history table; returns the exit status. */
int lm_json_print_current(struct lm_host *h, const struct lm_idset *heads);
/* branches --json: branch points with their children. */
void lm_json_print_branches(const struct lm_graph *g,
                            const struct lm_idset *points);
/* validate --json: {"ok":..., "edited":[...]}; returns the exit status
** (1 when an applied revision changed). The host must be connected. */
int lm_json_print_validate(struct lm_host *h);
/* status --json from a gathered status. */
void lm_json_print_status(struct lm_host *h, const struct lm_status *st);
/* log --json: the history rows, newest first. */
void lm_json_print_log(const struct lm_log_row *rows, int n);

/* The same documents written into any writer (a Lua one for the Lua API,
** core_host.c), without the final newline. */
void lm_json_emit_revs(struct lm_json *j, const struct lm_graph *g,
                       const struct lm_idset *s,
                       const unsigned char *current);
int lm_json_emit_current(struct lm_json *j, struct lm_host *h,
                         const struct lm_idset *heads);
void lm_json_emit_status(struct lm_json *j, struct lm_host *h,
                         const struct lm_status *st);
void lm_json_emit_log(struct lm_json *j, const struct lm_log_row *rows,
                      int n);

#endif
