/*
** lint.h: the online-safety lint (`lmigrate lint`, and the pass `upgrade`
** makes over what it is about to apply). The C half (lint_run.c) runs
** every revision's upgrade and data functions against the offline (--sql)
** backend with each op call recorded; the Lua half (lua/lmigrate/lint.lua
** and its rules in lua/lmigrate/lint/) judges the records.
*/
#ifndef LM_LINT_H
#define LM_LINT_H

#include <stdio.h>

#include "graph.h"

struct lm_host;

struct lm_lint_opts {
  const struct lm_idset *targets;  /* revisions to report on (graph
                                   ** indices, run order); borrowed */
  int pending;          /* the targets are one run's pending revisions: a
                        ** table one of them creates is new for the later
                        ** ones too */
  int json;             /* --json output */
  int online;           /* table sizes, column types, constraints and
                        ** indexes from the live connection h->conn
                        ** (PostgreSQL) */
  int ancestors;        /* also render every revision before the targets,
                        ** to know the schema they leave (without a live
                        ** catalog); 0: the targets only */
  const char *purpose;  /* "lint" (the command) or "upgrade"; static */
  FILE *out;            /* where the report goes; borrowed */
};

/* Lint o->targets. With o->ancestors every revision from base up to the
** targets is recorded (the earlier ones only to know the schema they
** leave behind). Prints
** the report to o->out; *nerrors gets the number of error findings.
** Returns 0, or 1 after printing an error (a broken config `lint` value,
** a rule that failed to load). */
int lm_lint_run(struct lm_host *h, const struct lm_lint_opts *o,
                int *nerrors);

/* The lint pass of `upgrade` over its planned steps, as config `lint`
** says: "off" does nothing, "warn" (the default) prints the findings to
** stderr and goes on, "error" refuses (returns 1, after saying why) when
** a finding is an error. Returns 0 to go on, 1 to stop. */
int lm_lint_before_upgrade(struct lm_host *h, const struct lm_idset *steps);

#endif
