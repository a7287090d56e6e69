/*
** pq.h: libpq loaded at run time. lm_pq_open() dlopen()s libpq.so.5 and
** fills a table with one pointer per libpq function backend_pg.c calls, so
** the binary does not link libpq: SQLite runs neither pay for loading it
** nor need it installed. <libpq-fe.h> is still needed to build (types,
** constants). No global state: each PostgreSQL connection owns its table.
*/
#ifndef LM_PQ_H
#define LM_PQ_H

#include <libpq-fe.h>

#include "err.h"

/* The soname lm_pq_open loads; -DLM_PQ_SONAME="..." overrides it. */
#ifndef LM_PQ_SONAME
#define LM_PQ_SONAME "libpq.so.5"
#endif

/* One entry per libpq function used: the member is the function's name
** without "PQ" (pq->exec is PQexec), declared with the exact type
** <libpq-fe.h> gives it. Adding a function: a member here plus a line in
** pq.c's symbol table. */
struct lm_pq {
  void *dl;              /* owned; the dlopen handle */
  int refs;              /* owners: lm_pq_open's caller + each lm_pq_ref */

  __typeof__(PQconnectdbParams) *connectdbParams;
  __typeof__(PQstatus) *status;
  __typeof__(PQerrorMessage) *errorMessage;
  __typeof__(PQserverVersion) *serverVersion;
  __typeof__(PQtransactionStatus) *transactionStatus;
  __typeof__(PQfinish) *finish;
  __typeof__(PQexec) *exec;
  __typeof__(PQexecParams) *execParams;
  __typeof__(PQgetResult) *getResult;
  __typeof__(PQsendQuery) *sendQuery;
  __typeof__(PQsendQueryParams) *sendQueryParams;
  __typeof__(PQsocket) *socket;
  __typeof__(PQconsumeInput) *consumeInput;
  __typeof__(PQisBusy) *isBusy;
  __typeof__(PQputCopyEnd) *putCopyEnd;
  __typeof__(PQgetCopyData) *getCopyData;
  __typeof__(PQresultStatus) *resultStatus;
  __typeof__(PQresultErrorField) *resultErrorField;
  __typeof__(PQresultErrorMessage) *resultErrorMessage;
  __typeof__(PQclear) *clear;
  __typeof__(PQntuples) *ntuples;
  __typeof__(PQnfields) *nfields;
  __typeof__(PQfname) *fname;
  __typeof__(PQftype) *ftype;
  __typeof__(PQgetvalue) *getvalue;
  __typeof__(PQgetlength) *getlength;
  __typeof__(PQgetisnull) *getisnull;
  __typeof__(PQcmdTuples) *cmdTuples;
  __typeof__(PQcmdStatus) *cmdStatus;
  __typeof__(PQunescapeBytea) *unescapeBytea;
  __typeof__(PQfreemem) *freemem;
  __typeof__(PQgetCancel) *getCancel;
  __typeof__(PQcancel) *cancel;
  __typeof__(PQfreeCancel) *freeCancel;
  __typeof__(PQbackendPID) *backendPID;
};

/* Load libpq and resolve every member. On success *out is owned by the
** caller (refs = 1; release with lm_pq_close). On failure *out = NULL,
** err says what is missing and how to install it, returns 1. */
int lm_pq_open(struct lm_pq **out, struct lm_err *err);

/* Take one more reference on pq (for an object that may outlive the
** owner, e.g. a cursor after its connection); returns pq. */
struct lm_pq *lm_pq_ref(struct lm_pq *pq);

/* Drop one reference; the last one dlclose()s and frees the table.
** lm_pq_close(NULL) is a no-op. No libpq object may be used through pq
** by the caller afterwards. */
void lm_pq_close(struct lm_pq *pq);

#endif
