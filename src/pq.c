/*
** pq.c: load libpq with dlopen and resolve the functions backend_pg.c uses
** into a struct lm_pq (pq.h). Table-driven: each symbol is a name and the
** offset of its member. Invariant: a table lm_pq_open returns has every
** member non-NULL.
*/
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pq.h"

/* The members are stored from dlsym's void * (POSIX: same size). */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "function pointers must fit a void *");

/* SYM(f): libpq's "PQ" #f into member f. */
#define SYM(f) { "PQ" #f, offsetof(struct lm_pq, f) }

static const struct {
  const char *name;
  size_t off;
} syms[] = {
  SYM(connectdbParams), SYM(status), SYM(errorMessage), SYM(serverVersion),
  SYM(transactionStatus), SYM(finish), SYM(exec), SYM(execParams),
  SYM(getResult), SYM(putCopyEnd), SYM(getCopyData), SYM(resultStatus),
  SYM(sendQuery),
  SYM(sendQueryParams),
  SYM(socket),
  SYM(consumeInput),
  SYM(isBusy),
  SYM(resultErrorField), SYM(resultErrorMessage), SYM(clear), SYM(ntuples),
  SYM(nfields), SYM(fname), SYM(ftype), SYM(getvalue), SYM(getlength),
  SYM(getisnull), SYM(cmdTuples), SYM(cmdStatus), SYM(unescapeBytea),
  SYM(freemem), SYM(getCancel), SYM(cancel), SYM(freeCancel),
  SYM(backendPID),
};

#undef SYM

#define INSTALL_HINT "apt-get install libpq5"

/* RTLD_NODELETE: dlclose never unmaps libpq, so a later connection does
** not reload it and its dependencies (OpenSSL, Kerberos, LDAP), which do
** not all survive being unloaded and loaded again. */
int lm_pq_open(struct lm_pq **out, struct lm_err *err) {
  struct lm_pq *pq;
  const char *why;
  size_t i;

  *out = NULL;
  pq = calloc(1, sizeof *pq);
  if (pq == NULL) return lm_err_set(err, "out of memory");
  pq->refs = 1;
  dlerror();
  pq->dl = dlopen(LM_PQ_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (pq->dl == NULL) {
    why = dlerror();
    free(pq);
    return lm_err_set(err, "PostgreSQL support needs libpq (%s): %s (%s)",
                      LM_PQ_SONAME, INSTALL_HINT, why ? why : "not found");
  }
  for (i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    void *sym = dlsym(pq->dl, syms[i].name);
    if (sym == NULL) {
      why = dlerror();
      lm_err_set(err, "PostgreSQL support needs libpq (%s) with %s, which "
                 "the installed one lacks: %s (%s)", LM_PQ_SONAME,
                 syms[i].name, INSTALL_HINT, why ? why : "symbol not found");
      dlclose(pq->dl);
      free(pq);
      return 1;
    }
    memcpy((char *)pq + syms[i].off, &sym, sizeof sym);
  }
  *out = pq;
  return 0;
}

struct lm_pq *lm_pq_ref(struct lm_pq *pq) {
  pq->refs++;
  return pq;
}

void lm_pq_close(struct lm_pq *pq) {
  if (pq == NULL || --pq->refs > 0) return;
  dlclose(pq->dl);
  free(pq);
}
