/*
** scaffold_template.c: the text of a new revision file: the revision
** template (the project's revision_template, else the embedded
** revision.lua.tmpl) with its ${name} placeholders replaced by the new
** revision's fields. Placeholders it does not know are copied verbatim,
** so a project template may hold other ${...} text. Values are Lua
** literals (strings quoted and escaped so that Lua reads them back
** unchanged), except ${comment}: the message with its line breaks turned
** into spaces, for a one-line `--` comment, and the parts
** `revision --autogenerate` fills in (lines of Lua; empty, or the
** examples, otherwise): ${notes} (comment lines), ${transactional},
** ${upgrades}, ${data} (a whole `data` function) and ${downgrades}.
*/
#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "scaffold_int.h"
#include "sqlbuf.h"
#include "templates.h"

#define REV_TEMPLATE "revision.lua.tmpl"
#define NKEYS 12
/* The bodies of a revision written by hand: an example to replace. */
#define UPGRADE_EXAMPLE \
  "    -- op.add_column(\"users\", { \"phone\", \"string(20)\", " \
  "nullable = true })\n"
#define DOWNGRADE_EXAMPLE "    -- op.drop_column(\"users\", \"phone\")\n"

/* 1 when the template text (len bytes) contains key. */
static int has_key(const char *t, size_t len, const char *key)
{
  size_t k = strlen(key), i;
  for (i = 0; i + k <= len; i++)
    if (memcmp(t + i, key, k) == 0)
      return 1;
  return 0;
}
#define MERGE_TEMPLATE "merge.lua.tmpl"   /* several parents: empty bodies */

/* Append s as a Lua double-quoted string literal: quotes, backslashes and
** control characters escaped (decimal escapes, as %q would, but "\n" for
** a newline so the literal stays on one line). */
static void lua_quote(struct lm_sqlbuf *sb, const char *s)
{
  lm_sb_addc(sb, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      lm_sb_addc(sb, '\\');
      lm_sb_addc(sb, (char)c);
    } else if (c == '\n') {
      lm_sb_add(sb, "\\n");
    } else if (c == '\r') {
      lm_sb_add(sb, "\\r");
    } else if (c == '\t') {
      lm_sb_add(sb, "\\t");
    } else if (c < 32 || c == 127) {
      lm_sb_printf(sb, "\\%03u", (unsigned)c);
    } else {
      lm_sb_addc(sb, (char)c);
    }
  }
  lm_sb_addc(sb, '"');
}

/* Append a Lua value for a list of ids: nil (n == 0), "a" (n == 1 and
** !always_list), or { "a", "b" }. */
static void lua_list(struct lm_sqlbuf *sb, char *const *v, int n,
                     int always_list)
{
  int i;
  if (n == 0) {
    lm_sb_add(sb, "nil");
    return;
  }
  if (n == 1 && !always_list) {
    lua_quote(sb, v[0]);
    return;
  }
  lm_sb_add(sb, "{ ");
  for (i = 0; i < n; i++) {
    if (i)
      lm_sb_add(sb, ", ");
    lua_quote(sb, v[i]);
  }
  lm_sb_add(sb, " }");
}

/* Substitute ${name} placeholders in tmpl (len bytes) with the values in
** keys/vals (nkeys pairs) into out. An unknown placeholder is copied
** verbatim, so project templates may contain other ${...} text. */
static void render(struct lm_sqlbuf *out, const char *tmpl, size_t len,
                   const char *const *keys, const char *const *vals,
                   int nkeys)
{
  size_t i = 0;
  while (i < len) {
    if (tmpl[i] == '$' && i + 1 < len && tmpl[i + 1] == '{') {
      const char *end = memchr(tmpl + i + 2, '}', len - i - 2);
      if (end) {
        size_t kl = (size_t)(end - (tmpl + i + 2));
        int k;
        for (k = 0; k < nkeys; k++)
          if (strlen(keys[k]) == kl && memcmp(keys[k], tmpl + i + 2, kl) == 0)
            break;
        if (k < nkeys) {
          lm_sb_add(out, vals[k]);
          i = (size_t)(end - tmpl) + 1;
          continue;
        }
      }
    }
    lm_sb_addc(out, tmpl[i++]);
  }
}

/* The new revision's text in out: the template at tmpl_path (NULL: the
** embedded one, merge.lua.tmpl for a revision with several parents)
** rendered with nr, rid and the current local time as
** create_date. Prints any error; returns the exit status. */
int lm_scaffold_render_revision(const char *tmpl_path,
                                const struct lm_newrev *nr, const char *rid,
                                struct lm_sqlbuf *out)
{
  static const char *const keys[] = {
    "revision", "down_revision", "branch_labels", "depends_on",
    "message", "create_date", "comment", "notes", "transactional",
    "upgrades", "data", "downgrades"
  };
  struct lm_sqlbuf v[NKEYS], tbuf;
  const char *vals[NKEYS];
  const char *tdata;
  size_t tlen;
  char date[32];
  time_t now = time(NULL);
  struct tm tm;
  int i, rc = 1;

  for (i = 0; i < NKEYS; i++)
    lm_sb_init(&v[i]);
  lm_sb_init(&tbuf);

  /* Template: the project's own, or the embedded one. */
  if (tmpl_path) {
    if (lm_scaffold_read_file(tmpl_path, &tbuf) != 0) {
      rc = lm_error("cannot read revision template %s: %s",
                    tmpl_path, strerror(errno));
      goto done;
    }
    tdata = lm_sb_str(&tbuf);
    tlen = tbuf.len;
  } else {
    const char *name = nr->ndown > 1 ? MERGE_TEMPLATE : REV_TEMPLATE;
    const struct lm_template *t = lm_template_find(name);
    if (t == NULL) {
      rc = lm_error("internal error: embedded %s missing", name);
      goto done;
    }
    tdata = t->data;
    tlen = t->len;
  }
  if (nr->upgrades && (!has_key(tdata, tlen, "${upgrades}") ||
                       !has_key(tdata, tlen, "${downgrades}"))) {
    rc = lm_error("revision template %s has no ${upgrades} or no "
                  "${downgrades} placeholder, so --autogenerate cannot fill "
                  "in the functions; put them where the bodies of upgrade "
                  "and downgrade go (see docs/autogenerate.md)",
                  tmpl_path ? tmpl_path : REV_TEMPLATE);
    goto done;
  }

  localtime_r(&now, &tm);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  lua_quote(&v[0], rid);
  lua_list(&v[1], nr->down, nr->ndown, 0);
  lua_list(&v[2], nr->labels, nr->nlabels, 1);
  lua_list(&v[3], nr->depends, nr->ndepends, 1);
  lua_quote(&v[4], nr->message);
  lua_quote(&v[5], date);
  {   /* the leading comment: the message on one line */
    const char *s;
    for (s = nr->message; *s; s++)
      lm_sb_addc(&v[6], (*s == '\n' || *s == '\r') ? ' ' : *s);
  }
  if (nr->notes) lm_sb_add(&v[7], nr->notes);
  if (nr->non_transactional) lm_sb_add(&v[8], "  transactional = false,\n");
  lm_sb_add(&v[9], nr->upgrades ? nr->upgrades : UPGRADE_EXAMPLE);
  if (nr->data)
    lm_sb_printf(&v[10], "\n  data = function(op)\n%s  end,\n", nr->data);
  lm_sb_add(&v[11], nr->downgrades ? nr->downgrades : DOWNGRADE_EXAMPLE);
  for (i = 0; i < NKEYS; i++)
    vals[i] = lm_sb_str(&v[i]);
  render(out, tdata, tlen, keys, vals, NKEYS);
  for (i = 0; i < NKEYS; i++)
    if (!lm_sb_ok(&v[i]))
      goto oom;
  if (!lm_sb_ok(out))
    goto oom;
  rc = 0;
  goto done;
oom:
  rc = lm_error("out of memory");
done:
  for (i = 0; i < NKEYS; i++)
    lm_sb_free(&v[i]);
  lm_sb_free(&tbuf);
  return rc;
}
