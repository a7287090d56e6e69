/*
** config.h: reading lmigrate.lua (implemented in config.c; the entry point
** lm_host_load_config is declared in host.h).
*/
#ifndef LM_CONFIG_H
#define LM_CONFIG_H

#define LM_DEFAULT_VERSION_TABLE "lmigrate_version"
#define LM_DEFAULT_LOCK_TIMEOUT_MS 60000
#define LM_DEFAULT_DDL_LOCK_TIMEOUT_MS 5000
#define LM_DEFAULT_STATEMENT_TIMEOUT_MS (-1)   /* the server's setting */
#define LM_DEFAULT_MAX_LOCK_HOLD_MS 5000       /* lock-hold budget */
#define LM_DEFAULT_LOCK_RETRIES 3
#define LM_DEFAULT_MAX_REPLICA_LAG_MS 10000    /* backfill pause threshold */
#define LM_MAX_REPLICA_URLS 16
/* PostgreSQL cuts identifiers at 63 bytes (NAMEDATALEN - 1); the version
** table's name leaves room for the "_history" (8 bytes) of its history
** table, so the two can never be cut to the same name. */
#define LM_MAX_NAME 63
#define LM_MAX_VERSION_TABLE (LM_MAX_NAME - 8)

#endif
