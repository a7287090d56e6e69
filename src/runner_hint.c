/*
** runner_hint.c: the hint after a base revision fails on a database that
** already has tables but no revision recorded (a schema created by hand,
** by another tool, or restored from a dump): `lmigrate stamp` records the
** revision the schema matches instead of running it. Read-only.
*/
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "dialect.h"
#include "host.h"
#include "log.h"
#include "op.h"
#include "runner_int.h"

/* The first table of the database that lmigrate did not create, into
** name (empty when none or on any error: this is only a hint). */
static void foreign_table(struct run *r, char *name, size_t n) {
  const struct lm_config *cfg = &r->h->cfg;
  struct lm_cursor *cur = NULL;
  struct lm_value p[3], v;
  struct lm_err err;
  const char *sql;
  int i;
  const char *skip[3];
  name[0] = '\0';
  skip[0] = cfg->version_table;
  skip[1] = cfg->history_table;
  skip[2] = LM_CHECKPOINT_TABLE;
  for (i = 0; i < 3; i++) {
    memset(&p[i], 0, sizeof p[i]);
    p[i].type = LM_VTEXT;
    p[i].s = skip[i];
    p[i].n = strlen(skip[i]);
  }
  if (strcmp(r->c->dialect->name, "postgresql") == 0)
    sql = "SELECT table_schema || '.' || table_name FROM "
          "information_schema.tables WHERE table_schema NOT IN "
          "('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' "
          "AND table_name::text NOT IN ($1, $2, $3) ORDER BY 1 LIMIT 1";
  else
    sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND "
          "name NOT LIKE 'sqlite!_%' ESCAPE '!' AND name NOT IN ($1, $2, $3) "
          "ORDER BY 1 LIMIT 1";
  lm_err_clear(&err);
  if (r->be->query(r->c, sql, 3, p, &cur, &err) == 0 &&
      r->be->cursor_step(cur, &err) == 1) {
    r->be->cursor_value(cur, 0, &v);
    if (v.type == LM_VTEXT) snprintf(name, n, "%.*s", (int)v.n, v.s);
  }
  r->be->cursor_close(cur);
}

void lm_run_stamp_hint(struct run *r, int idx) {
  const struct lm_revision *rev = lm_graph_rev(r->g, idx);
  char table[200];
  if (r->offline || r->dir != LM_UP || rev->ndown != 0) return;
  foreign_table(r, table, sizeof table);
  if (table[0] == '\0') return;
  fprintf(stderr, "lmigrate: hint: the database already has tables (\"%s\", "
          "...) but no revision is recorded in %s. If its schema was made "
          "another way (by hand, another tool, a restored dump), record the "
          "revision it matches without running it: `lmigrate stamp REV`, "
          "then `lmigrate upgrade head`\n", table, r->h->cfg.version_table);
}
