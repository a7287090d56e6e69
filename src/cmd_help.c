/*
** cmd_help.c: the examples `lmigrate help CMD` and `lmigrate CMD -h`
** print after a command's usage.
*/
#include <string.h>

#include "cmd.h"

struct example {
  const char *command;
  const char *text;           /* lines, each "  lmigrate ...\n" */
};

static const struct example examples[] = {
  {"init", "  lmigrate init\n  lmigrate init db --template postgresql\n"},
  {"revision", "  lmigrate revision -m \"add users.email\"\n"
               "  lmigrate revision -m \"audit log\" --head base "
               "--branch-label audit\n"},
  {"merge", "  lmigrate merge -m \"merge audit\" heads\n"},
  {"upgrade", "  lmigrate upgrade head\n  lmigrate upgrade +1\n"
              "  lmigrate upgrade audit@head\n"
              "  lmigrate upgrade head --sql > migrate.sql\n"
              "  lmigrate upgrade head --json | jq -c 'select(.event == "
              "\"done\")'\n"},
  {"downgrade", "  lmigrate downgrade -1\n  lmigrate downgrade base\n"
                "  lmigrate downgrade --sql head:base > rollback.sql\n"},
  {"current", "  lmigrate current\n  lmigrate current --json\n"},
  {"history", "  lmigrate history -i\n  lmigrate history -r current:\n"},
  {"heads", "  lmigrate heads -v\n"},
  {"branches", "  lmigrate branches\n"},
  {"show", "  lmigrate show head\n  lmigrate show --json 3f2a\n"},
  {"stamp", "  lmigrate stamp head\n  lmigrate stamp --purge base\n"},
  {"validate", "  lmigrate validate\n"},
  {"status", "  lmigrate status || echo \"exit $?: 3 pending, 4 blocked\"\n"
             "  lmigrate status --json | jq .state\n"},
  {"log", "  lmigrate log -n 20\n  lmigrate log --json\n"},
  {"graph", "  lmigrate graph | dot -Tsvg > revisions.svg\n"},
  {"completion", "  lmigrate completion bash > "
                 "~/.local/share/bash-completion/completions/lmigrate\n"},
};

const char *lm_command_examples(const char *name) {
  size_t i;
  for (i = 0; i < sizeof examples / sizeof examples[0]; i++)
    if (strcmp(examples[i].command, name) == 0) return examples[i].text;
  return NULL;
}
