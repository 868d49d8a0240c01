/* Area 'ec': a streaming SM3 (GB/T 32905) for expand_message_xmd on the SM2 suite, without the
 * per-call overhead of EVP (three digests per hash_to_field element) and with the hash state
 * after the constant 64-byte Z_pad block of RFC 9380 precomputed. Constant time in the data (no
 * data-dependent branch or index: the OPRF input hashed to the curve is secret); checked by
 * tests/ct/ec_ct.c under valgrind. */
#ifndef RS_EC_SM3_H
#define RS_EC_SM3_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t v[8];
    uint8_t buf[64];
    size_t fill;
    uint64_t total; /* bytes absorbed */
} ec_sm3;

void ec_sm3_init(ec_sm3 *s);
/* The state after absorbing 64 zero bytes (expand_message_xmd's Z_pad for SM3). */
void ec_sm3_init_zpad(ec_sm3 *s);
void ec_sm3_update(ec_sm3 *s, const uint8_t *data, size_t len);
void ec_sm3_final(ec_sm3 *s, uint8_t out[32]);

#endif
