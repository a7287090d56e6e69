/*
** cmd_completion.c: `lmigrate completion bash|zsh|fish` prints the shell
** completion script (embedded from templates/completion/); `lmigrate
** completion --ids` prints what the scripts offer as revisions: the
** targets head, heads, base, every revision id, every branch label and
** label@head, one per line (loads the config and the revisions, never
** the database).
*/
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "host.h"
#include "log.h"
#include "templates.h"

static int print_ids(struct lm_host *h) {
  int i, k, rc, n;
  if ((rc = lm_host_load_config(h)) || (rc = lm_host_load_scripts(h)))
    return rc;
  printf("head\nheads\nbase\n");
  n = lm_graph_count(h->graph);
  for (i = 0; i < n; i++) printf("%s\n", lm_graph_rev(h->graph, i)->id);
  for (i = 0; i < n; i++) {
    const struct lm_revision *r = lm_graph_rev(h->graph, i);
    for (k = 0; k < r->nlabels; k++)
      printf("%s\n%s@head\n", r->labels[k], r->labels[k]);
  }
  return 0;
}

int cmd_completion(int argc, char **argv, struct lm_host *h) {
  static const char *const shells[][2] = {
    { "bash", "completion/lmigrate.bash" },
    { "zsh", "completion/_lmigrate" },
    { "fish", "completion/lmigrate.fish" },
  };
  const struct lm_template *t;
  size_t i;
  if (argc != 2)
    return lm_usage_error("usage: lmigrate completion bash|zsh|fish");
  if (strcmp(argv[1], "--ids") == 0) return print_ids(h);
  for (i = 0; i < sizeof shells / sizeof shells[0]; i++) {
    if (strcmp(argv[1], shells[i][0]) != 0) continue;
    if ((t = lm_template_find(shells[i][1])) == NULL)
      return lm_error("internal error: embedded %s missing", shells[i][1]);
    fwrite(t->data, 1, t->len, stdout);
    return 0;
  }
  return lm_usage_error("completion: unknown shell '%s' (expected bash, zsh "
                        "or fish)", argv[1]);
}
