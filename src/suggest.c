/*
** suggest.c: closest-match suggestions by Levenshtein distance.
*/
#include <string.h>

#include "suggest.h"

/* Edit distance between a and b, capped at cap+1 (short strings only:
** both are option or command names). */
static size_t distance(const char *a, const char *b, size_t cap) {
  size_t la = strlen(a), lb = strlen(b), i, j;
  size_t row[65];
  if (la > 64 || lb > 64) return cap + 1;
  for (j = 0; j <= lb; j++) row[j] = j;
  for (i = 1; i <= la; i++) {
    size_t diag = row[0], best;
    row[0] = i;
    best = row[0];
    for (j = 1; j <= lb; j++) {
      size_t up = row[j], v;
      v = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < v) v = up + 1;
      if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
      row[j] = v;
      diag = up;
      if (v < best) best = v;
    }
    if (best > cap) return cap + 1;
  }
  return row[lb];
}

const char *lm_suggest(const char *word, const char *const *candidates) {
  size_t cap = strlen(word) / 3, bestd;
  const char *best = NULL;
  if (cap < 2) cap = 2;
  bestd = cap + 1;
  for (; *candidates; candidates++) {
    size_t d = distance(word, *candidates, cap);
    if (d < bestd) {
      bestd = d;
      best = *candidates;
    }
  }
  return best;
}
