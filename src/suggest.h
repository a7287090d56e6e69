/*
** suggest.h: "did you mean ...?" for misspelt keys, options and commands.
*/
#ifndef LM_SUGGEST_H
#define LM_SUGGEST_H

#include <stddef.h>

/* The candidate closest to word by edit distance when that distance is at
** most 2 (or a third of word's length, whichever is larger), else NULL.
** candidates is NULL-terminated; the result is borrowed from it. */
const char *lm_suggest(const char *word, const char *const *candidates);

#endif
