/*
** op_progress.c: a walk's progress report on stderr (op_walk.h): a bar
** redrawn in place with \r on a terminal (w->bar_dirty says one is showing,
** so errors start on a new line), a line every 5 s otherwise, and a
** summary line with rows/s and the longest batch at the end. Off with -q.
*/
#include <stdio.h>

#include "op_walk.h"

/* s seconds as m:ss, or h:mm:ss from an hour on. */
static void fmt_secs(char *out, size_t n, double s) {
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60,
                          t % 60);
  else snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

/* Report progress on stderr: a bar redrawn with \r on a terminal, a line
** every 5 s otherwise; final = 1 prints the summary. */
void lm_walk_progress(struct walk *w, int final) {
  double t = lm_now_ms(), secs = (t - w->t0) / 1000.0, rate;
  char line[256], eta[32];
  size_t len;
  if (!w->progress) return;
  if (!final && t - w->last_print < (w->progress == 2 ? 200 : 5000)) return;
  w->last_print = t;
  rate = secs > 0.001 ? (double)w->rows_run / secs : 0;
  if (final) {
    snprintf(line, sizeof line, "%s %s: done, %lld rows in %.1f s (%.0f "
             "rows/s, longest batch %.0f ms)", w->fname, w->table,
             w->rows_run, secs, rate, w->max_batch_ms);
  } else {
    len = (size_t)snprintf(line, sizeof line, "%s %s: %lld", w->fname,
                           w->table, w->rows_done);
    if (w->total > 0) {
      double pct = 100.0 * (double)w->rows_done / (double)w->total;
      len += (size_t)snprintf(line + len, sizeof line - len, "/~%lld rows "
                              "(%.0f%%)", w->total, pct > 100 ? 100 : pct);
    } else {
      len += (size_t)snprintf(line + len, sizeof line - len, " rows");
    }
    len += (size_t)snprintf(line + len, sizeof line - len, ", %.0f rows/s",
                            rate);
    if (w->total > w->rows_done && rate > 0) {
      fmt_secs(eta, sizeof eta, (double)(w->total - w->rows_done) / rate);
      snprintf(line + len, sizeof line - len, ", ETA %s", eta);
    }
  }
  if (w->progress == 2) {
    fprintf(stderr, "\r%-79s%s", line, final ? "\n" : "");
    w->bar_dirty = !final;
  } else {
    fprintf(stderr, "lmigrate: %s\n", line);
  }
  fflush(stderr);
}
