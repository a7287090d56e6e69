/*
** fuzz_sqlite_ddl.c: libFuzzer harness for the SQLite CREATE TABLE parser
** behind the table rebuild (src/sqlite_ddl_parse.c): tokenize, parse,
** query every column, edit (drop a clause, add one, add a constraint)
** and render, as sqlite_rebuild.c does.
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sqlite_ddl_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  char *sql = fz_cstr(d, n);
  struct lm_ddl_table t;
  struct lm_tok *toks = NULL;
  struct lm_sqlbuf sb;
  struct lm_err err;
  int ntok = 0, i;
  lm_err_clear(&err);
  if (lm_sql_tokenize(sql, &toks, &ntok, &err) == 0) {
    for (i = 0; i < ntok; i++) {
      if (toks[i].off + toks[i].len > strlen(sql)) abort();
      if (toks[i].type != LM_TK_PUNCT && toks[i].type != LM_TK_NUMBER)
        free(lm_sql_unquote(sql, &toks[i]));
    }
  }
  free(toks);
  lm_sql_mentions(sql, 0, "a");
  lm_sql_mentions(sql, strlen(sql) / 2, "id");
  lm_err_clear(&err);
  if (lm_ddl_parse_table(sql, &t, &err) == 0) {
    lm_ddl_table_without_rowid(&t);
    for (i = 0; i < t.ncols; i++) {
      lm_ddl_col_is_rowid_alias(&t, i);
      lm_ddl_col_generated(&t.cols[i]);
    }
    lm_sb_init(&sb);
    lm_ddl_table_render(&t, "t_new", &sb);
    lm_sb_free(&sb);
    if (t.ncols > 0) {
      struct lm_ddl_col *c = &t.cols[0];
      if (c->ncl > 0) lm_ddl_col_remove_clause(c, 0);
      lm_ddl_col_add_clause(c, LM_CL_NOTNULL, "NOT NULL");
      lm_ddl_table_add_tcons(&t, LM_TC_CHECK, "ck", "CHECK (1)");
      if (t.ntc > 0) t.tc[0].dropped = 1;
      lm_sb_init(&sb);
      lm_ddl_table_render(&t, "t", &sb);
      lm_sb_free(&sb);
    }
    lm_ddl_table_free(&t);
  }
  free(sql);
  return 0;
}
