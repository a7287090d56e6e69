/*
** cmd_scaffold.c: the commands that write files rather than touch a
** database: `init` (a config file and a version location from an embedded
** scaffold), `revision` and `merge` (a new revision script from the
** revision template). This file parses their options and chooses a new
** revision's parents; the work is in scaffold_*.c (see scaffold_int.h).
** Nothing here connects; files are created with O_EXCL so an existing
** file is never overwritten.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "graph.h"
#include "host.h"
#include "log.h"
#include "revision.h"
#include "scaffold_int.h"
#include "sqlbuf.h"

/* ----------------------------------------------------------------- init */

/* Nothing but white space. */
static int blank(const char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
  return *s == '\0';
}

const char lm_init_usage[] =
  "usage: lmigrate init [DIR] [--template NAME]\n"
  "  Write DIR/lmigrate.lua and DIR/versions/ (DIR defaults to \".\").\n"
  "  --template NAME   scaffold to use: generic (default) or postgresql\n";

/*
** init [DIR] [--template NAME]: write the scaffold's files under DIR
** (created if needed) and the version directory DIR/versions. Refuses to
** overwrite any file; nothing is written when lmigrate.lua exists.
*/
int cmd_init(int argc, char **argv, struct lm_host *h)
{
  static const struct option longopts[] = {
    { "template", required_argument, NULL, 't' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  const char *tmpl = "generic", *dir = ".";
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
    switch (c) {
    case 't': tmpl = optarg; break;
    case 'h': fputs(lm_init_usage, stdout); return 0;
    default:
      fputs(lm_init_usage, stderr);
      return lm_usage_error("init: unknown or incomplete option '%s'",
                            argv[optind - 1]);
    }
  }
  if (optind < argc)
    dir = argv[optind++];
  if (optind < argc) {
    fputs(lm_init_usage, stderr);
    return lm_usage_error("init: unexpected argument '%s'", argv[optind]);
  }
  return lm_scaffold_init(h, dir, tmpl);
}

/* ------------------------------------------------------------- revision */

const char lm_revision_usage[] =
  "usage: lmigrate revision -m MSG [--rev-id ID] [--head REV] "
  "[--branch-label L]\n"
  "                         [--depends-on REV]... [--version-path DIR] "
  "[--splice]\n"
  "                         [--autogenerate [--allow-empty] "
  "[--no-renames]]\n"
  "  -m, --message MSG    what the revision does (also its file name)\n"
  "  --rev-id ID          use ID instead of 12 random hex characters\n"
  "  --head REV           parent: a head, `base` (new root), label@head;\n"
  "                       needed when the graph has several heads\n"
  "  --splice             allow --head to name a revision that is not a head\n"
  "  --branch-label L     give the new revision a branch label\n"
  "  --depends-on REV     a revision (on another branch) applied first\n"
  "  --version-path DIR   write into this configured version location\n"
  "  --autogenerate       fill in upgrade and downgrade from the differences\n"
  "                       between the database (at head) and the declared\n"
  "                       schema file; prints what it detected\n"
  "  --allow-empty        with --autogenerate: write a revision even when\n"
  "                       nothing changed\n"
  "  --no-renames         with --autogenerate: never infer a rename (drop\n"
  "                       and add instead)\n";

/*
** revision -m MSG ...: write a new revision file whose parent is the
** single head (or --head), from the project's or the embedded template.
*/
int cmd_revision(int argc, char **argv, struct lm_host *h)
{
  enum { OPT_REVID = 256, OPT_HEAD, OPT_LABEL, OPT_DEPENDS, OPT_VPATH, OPT_SPLICE,
         OPT_AUTOGEN, OPT_ALLOW_EMPTY, OPT_NORENAMES };
  static const struct option longopts[] = {
    { "message", required_argument, NULL, 'm' },
    { "rev-id", required_argument, NULL, OPT_REVID },
    { "head", required_argument, NULL, OPT_HEAD },
    { "branch-label", required_argument, NULL, OPT_LABEL },
    { "depends-on", required_argument, NULL, OPT_DEPENDS },
    { "version-path", required_argument, NULL, OPT_VPATH },
    { "splice", no_argument, NULL, OPT_SPLICE },
    { "autogenerate", no_argument, NULL, OPT_AUTOGEN },
    { "allow-empty", no_argument, NULL, OPT_ALLOW_EMPTY },
    { "no-renames", no_argument, NULL, OPT_NORENAMES },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct lm_newrev nr;
  const struct lm_graph *g = h->graph;
  const char *head = NULL;
  const char **deps = NULL;
  int ndeps_arg = 0, splice = 0, c, i, rc = 1;
  int autogen = 0, allow_empty = 0, renames = 1;
  struct lm_idset heads;

  memset(&nr, 0, sizeof nr);
  lm_idset_init(&heads);
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'm': nr.message = optarg; break;
    case OPT_REVID: nr.rev_id = optarg; break;
    case OPT_HEAD: head = optarg; break;
    case OPT_LABEL:
      rc = lm_scaffold_add_labels(g, optarg, &nr.labels, &nr.nlabels);
      if (rc != 0)
        goto done;
      rc = 1;
      break;
    case OPT_DEPENDS: {
      const char **nd = realloc(deps, (size_t)(ndeps_arg + 1) * sizeof *nd);
      if (nd == NULL) {
        rc = lm_error("out of memory");
        goto done;
      }
      deps = nd;
      deps[ndeps_arg++] = optarg;
      break;
    }
    case OPT_VPATH: nr.version_path = optarg; break;
    case OPT_SPLICE: splice = 1; break;
    case OPT_AUTOGEN: autogen = 1; break;
    case OPT_ALLOW_EMPTY: allow_empty = 1; break;
    case OPT_NORENAMES: renames = 0; break;
    case 'h':
      fputs(lm_revision_usage, stdout);
      rc = 0;
      goto done;
    default:
      fputs(lm_revision_usage, stderr);
      rc = lm_usage_error("revision: unknown or incomplete option '%s'",
                          argv[optind - 1]);
      goto done;
    }
  }
  if (optind < argc) {
    fputs(lm_revision_usage, stderr);
    rc = lm_usage_error("revision: unexpected argument '%s' (quote the "
                        "message: -m \"...\")", argv[optind]);
    goto done;
  }
  if (nr.message == NULL) {
    fputs(lm_revision_usage, stderr);
    rc = lm_usage_error("revision: -m MSG is required");
    goto done;
  }
  if (blank(nr.message)) {
    rc = lm_usage_error("revision: -m MSG must say what the revision does; "
                        "it is empty");
    goto done;
  }
  if (g == NULL) {
    rc = lm_error("internal error: revision scripts not loaded");
    goto done;
  }
  if (nr.rev_id && (rc = lm_scaffold_check_rev_id(h, nr.rev_id)) != 0)
    goto done;
  rc = 1;
  if ((allow_empty || !renames) && !autogen) {
    rc = lm_usage_error("--%s goes with --autogenerate",
                        allow_empty ? "allow-empty" : "no-renames");
    goto done;
  }
  if (splice && head == NULL) {
    rc = lm_usage_error("--splice needs --head REV");
    goto done;
  }

  /* The parent. */
  if (head && strcmp(head, "base") == 0) {
    /* a new root: no down_revision */
  } else if (head) {
    int idx, nch;
    if (strcmp(head, "head") == 0 || strcmp(head, "heads") == 0) {
      lm_graph_heads(g, &heads);
      if (heads.n == 1) {
        idx = heads.v[0];
      } else if (heads.n == 0) {
        idx = -1;
      } else {
        struct lm_sqlbuf sb;
        lm_sb_init(&sb);
        lm_scaffold_list_ids(g, &heads, &sb);
        rc = lm_error("--head %s is ambiguous: there are %d heads (%s); name "
                      "one of them", head, heads.n, lm_sb_str(&sb));
        lm_sb_free(&sb);
        goto done;
      }
    } else if (lm_scaffold_resolve_one(g, head, &idx) != 0) {
      goto done;
    }
    if (idx >= 0) {
      lm_graph_children(g, idx, &nch);
      if (nch > 0 && !splice) {
        rc = lm_error("revision %s is not a head; pass --splice to branch "
                      "from it anyway", lm_graph_rev(g, idx)->id);
        goto done;
      }
      if (lm_scaffold_push_str(&nr.down, &nr.ndown,
                               lm_graph_rev(g, idx)->id) != 0)
        goto done;
    }
  } else {
    lm_graph_heads(g, &heads);
    if (heads.n > 1) {
      struct lm_sqlbuf sb;
      lm_sb_init(&sb);
      lm_scaffold_list_ids(g, &heads, &sb);
      rc = lm_error("the revision graph has %d heads (%s); pass --head REV "
                    "to choose the parent, or join them first with "
                    "`lmigrate merge -m MSG heads`", heads.n,
                    lm_sb_str(&sb));
      lm_sb_free(&sb);
      goto done;
    }
    if (heads.n == 1
        && lm_scaffold_push_str(&nr.down, &nr.ndown,
                                lm_graph_rev(g, heads.v[0])->id))
      goto done;
  }

  /* Dependencies, as full ids, without duplicates. */
  for (i = 0; i < ndeps_arg; i++) {
    int idx, j, dup = 0;
    const char *id;
    if (lm_scaffold_resolve_one(g, deps[i], &idx) != 0)
      goto done;
    id = lm_graph_rev(g, idx)->id;
    for (j = 0; j < nr.ndepends; j++)
      dup |= strcmp(nr.depends[j], id) == 0;
    if (!dup && lm_scaffold_push_str(&nr.depends, &nr.ndepends, id) != 0)
      goto done;
  }

  rc = autogen ? lm_scaffold_autogen(h, &nr, allow_empty, renames)
               : lm_scaffold_write_revision(h, &nr);
done:
  lm_idset_free(&heads);
  free(deps);
  lm_scaffold_free_strv(nr.down, nr.ndown);
  lm_scaffold_free_strv(nr.labels, nr.nlabels);
  lm_scaffold_free_strv(nr.depends, nr.ndepends);
  return rc;
}

/* ---------------------------------------------------------------- merge */

const char lm_merge_usage[] =
  "usage: lmigrate merge -m MSG [--rev-id ID] [--branch-label L] "
  "(heads | REV REV...)\n"
  "  Write a revision whose parents are the given revisions; `heads`\n"
  "  means every current head of the graph.\n";

/*
** merge -m MSG (heads | REV REV...): write a merge revision whose
** down_revision lists the given revisions, which must be distinct and
** none an ancestor of another.
*/
int cmd_merge(int argc, char **argv, struct lm_host *h)
{
  enum { OPT_REVID = 256, OPT_LABEL };
  static const struct option longopts[] = {
    { "message", required_argument, NULL, 'm' },
    { "rev-id", required_argument, NULL, OPT_REVID },
    { "branch-label", required_argument, NULL, OPT_LABEL },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct lm_newrev nr;
  const struct lm_graph *g = h->graph;
  struct lm_idset sel, one;
  unsigned char *mark = NULL;
  int c, i, j, rc = 1;

  memset(&nr, 0, sizeof nr);
  lm_idset_init(&sel);
  lm_idset_init(&one);
  optind = 0;
  opterr = 0;
  /* No leading '+': options may follow the revisions. */
  while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'm': nr.message = optarg; break;
    case OPT_REVID: nr.rev_id = optarg; break;
    case OPT_LABEL:
      rc = lm_scaffold_add_labels(g, optarg, &nr.labels, &nr.nlabels);
      if (rc != 0)
        goto done;
      rc = 1;
      break;
    case 'h':
      fputs(lm_merge_usage, stdout);
      rc = 0;
      goto done;
    default:
      fputs(lm_merge_usage, stderr);
      rc = lm_usage_error("merge: unknown or incomplete option '%s'",
                          argv[optind - 1]);
      goto done;
    }
  }
  if (nr.message == NULL) {
    fputs(lm_merge_usage, stderr);
    rc = lm_usage_error("merge: -m MSG is required");
    goto done;
  }
  if (blank(nr.message)) {
    rc = lm_usage_error("merge: -m MSG must say what the revision does; "
                        "it is empty");
    goto done;
  }
  if (optind >= argc) {
    fputs(lm_merge_usage, stderr);
    rc = lm_usage_error("merge: name the revisions to merge, or `heads`");
    goto done;
  }
  if (g == NULL) {
    rc = lm_error("internal error: revision scripts not loaded");
    goto done;
  }

  if (nr.rev_id && (rc = lm_scaffold_check_rev_id(h, nr.rev_id)) != 0)
    goto done;
  rc = 1;
  for (i = optind; i < argc; i++) {
    if (strcmp(argv[i], "heads") == 0) {
      struct lm_idset hs;
      lm_idset_init(&hs);
      lm_graph_heads(g, &hs);
      for (j = 0; j < hs.n; j++)
        if (!lm_idset_has(&sel, hs.v[j]) && lm_idset_push(&sel, hs.v[j])) {
          lm_idset_free(&hs);
          rc = lm_error("out of memory");
          goto done;
        }
      lm_idset_free(&hs);
    } else {
      int idx;
      if (lm_scaffold_resolve_one(g, argv[i], &idx) != 0)
        goto done;
      if (lm_idset_has(&sel, idx)) {
        rc = lm_usage_error("revision %s is named twice",
                            lm_graph_rev(g, idx)->id);
        goto done;
      }
      if (lm_idset_push(&sel, idx)) {
        rc = lm_error("out of memory");
        goto done;
      }
    }
  }
  if (sel.n < 2) {
    if (sel.n == 0)
      rc = lm_error("nothing to merge: the graph has no revisions");
    else
      rc = lm_error("nothing to merge: only one revision (%s); a merge "
                    "joins two heads or more", lm_graph_rev(g, sel.v[0])->id);
    goto done;
  }

  /* No revision may be an ancestor of another one. */
  if ((mark = malloc((size_t)lm_graph_count(g))) == NULL) {
    rc = lm_error("out of memory");
    goto done;
  }
  for (i = 0; i < sel.n; i++) {
    one.n = 0;
    if (lm_idset_push(&one, sel.v[i])) {
      rc = lm_error("out of memory");
      goto done;
    }
    lm_graph_applied(g, &one, mark);
    for (j = 0; j < sel.n; j++)
      if (j != i && mark[sel.v[j]]) {
        rc = lm_error("revision %s is an ancestor of %s; merge only "
                      "revisions on different branches",
                      lm_graph_rev(g, sel.v[j])->id,
                      lm_graph_rev(g, sel.v[i])->id);
        goto done;
      }
  }

  for (i = 0; i < sel.n; i++)
    if (lm_scaffold_push_str(&nr.down, &nr.ndown,
                             lm_graph_rev(g, sel.v[i])->id) != 0)
      goto done;
  rc = lm_scaffold_write_revision(h, &nr);
done:
  free(mark);
  lm_idset_free(&sel);
  lm_idset_free(&one);
  lm_scaffold_free_strv(nr.down, nr.ndown);
  lm_scaffold_free_strv(nr.labels, nr.nlabels);
  return rc;
}
