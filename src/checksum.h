/*
** checksum.h: SHA-256 of revision files (libcrypto EVP), as lowercase hex.
*/
#ifndef LM_CHECKSUM_H
#define LM_CHECKSUM_H

#include <stddef.h>

/* Write the hex SHA-256 of data[0..n) into hex (65 bytes incl. NUL).
** Returns 0, or 1 if libcrypto fails. */
int lm_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
