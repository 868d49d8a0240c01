/* Area 'ec': the composite scalars of RFC 9497 (2.2.1) for the P256-SHA256 suite on libcrypto's
 * low-level SHA-256 (the same SHA-NI / AVX2 block code as EVP, without its per-call dispatch):
 * d[i] = HashToScalar(I2OSP(len(seed), 2) || seed || I2OSP(i, 2) || I2OSP(Ne, 2) || C[i] ||
 *                     I2OSP(Ne, 2) || D[i] || "Composite")
 * with expand_message_xmd (RFC 9380, 5.3.1), the Z_pad block and the seed absorbed once per batch.
 * Public inputs only (blinded and evaluated elements, the public-key seed). The SHA256_* calls
 * are deprecated in OpenSSL 3.0 but present throughout 3.x. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "rs.h"
#include "ec_curve.h"

#include <openssl/sha.h>
#include <string.h>

int rs_ec_composite_sha256(const ec_mont *fn, const uint8_t *seed, size_t seedlen, const uint8_t *cs,
                           const uint8_t *ds, size_t n, const uint8_t *dst, size_t dstlen, uint8_t *d)
{
    static const uint8_t zpad[64] = {0};
    uint8_t dst_prime[256], pre[2 + 64], buf[2 + 2 + 33 + 2 + 33 + 9 + 3], b0[32], b1[32], b2[32], uni[48];
    if (seedlen > 64 || dstlen > 255 || n > 65536)
        return RS_ERR_VALUE;
    memcpy(dst_prime, dst, dstlen);
    dst_prime[dstlen] = (uint8_t)dstlen;
    const size_t dplen = dstlen + 1;
    SHA256_CTX base, s;
    pre[0] = 0;
    pre[1] = (uint8_t)seedlen;
    memcpy(pre + 2, seed, seedlen);
    if (SHA256_Init(&base) != 1 || SHA256_Update(&base, zpad, sizeof zpad) != 1 ||
        SHA256_Update(&base, pre, 2 + seedlen) != 1)
        return RS_ERR_INTERNAL;
    for (size_t i = 0; i < n; i++) {
        size_t o = 0;
        buf[o++] = (uint8_t)(i >> 8);
        buf[o++] = (uint8_t)i;
        buf[o++] = 0;
        buf[o++] = 33;
        memcpy(buf + o, cs + 33 * i, 33);
        o += 33;
        buf[o++] = 0;
        buf[o++] = 33;
        memcpy(buf + o, ds + 33 * i, 33);
        o += 33;
        memcpy(buf + o, "Composite", 9);
        o += 9;
        buf[o++] = 0; /* l_i_b_str = I2OSP(48, 2) || I2OSP(0, 1) */
        buf[o++] = 48;
        buf[o++] = 0;
        s = base;
        const uint8_t one = 1, two = 2;
        int ok = SHA256_Update(&s, buf, o) == 1 && SHA256_Update(&s, dst_prime, dplen) == 1 &&
                 SHA256_Final(b0, &s) == 1;
        ok = ok && SHA256_Init(&s) == 1 && SHA256_Update(&s, b0, 32) == 1 && SHA256_Update(&s, &one, 1) == 1 &&
             SHA256_Update(&s, dst_prime, dplen) == 1 && SHA256_Final(b1, &s) == 1;
        for (int j = 0; j < 32; j++)
            b2[j] = b0[j] ^ b1[j];
        ok = ok && SHA256_Init(&s) == 1 && SHA256_Update(&s, b2, 32) == 1 && SHA256_Update(&s, &two, 1) == 1 &&
             SHA256_Update(&s, dst_prime, dplen) == 1 && SHA256_Final(b2, &s) == 1;
        if (!ok)
            return RS_ERR_INTERNAL;
        memcpy(uni, b1, 32);
        memcpy(uni + 32, b2, 16);
        ec_fe sc;
        ec_fe_from_wide48(fn, &sc, uni);
        ec_fe_to_bytes(fn, d + 32 * i, &sc);
    }
    return RS_OK;
}
