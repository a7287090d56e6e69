/*
** checksum.c: SHA-256 through libcrypto's EVP interface (libpq already
** links libcrypto, so this adds no new dependency).
*/
#include <openssl/evp.h>

#include "checksum.h"

int lm_sha256_hex(const void *data, size_t n, char hex[65]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0, i;
  if (!EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
    hex[0] = '\0';
    return 1;
  }
  for (i = 0; i < mdlen; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 15];
  }
  hex[64] = '\0';
  return 0;
}
