/* Constant-time SM2 arithmetic core (area `sm2core`): the C API other areas call.
 *
 * Curve: the SM2 recommended curve of GB/T 32918.5 (y^2 = x^3 - 3x + b over p = 2^256 - 2^224 -
 * 2^96 + 2^64 - 1, prime order n, cofactor 1).
 *
 * Encodings (all big-endian):
 *   scalar         32 bytes; secret scalars must be in [1, n-1] (SM2 private keys in [1, n-2]);
 *   point          65 bytes 04 || x || y (uncompressed); rs_sm2c_point_decode also accepts the
 *                  33-byte compressed form 02/03 || x and normalises it; infinity is never valid;
 *   signature      64 bytes r || s.
 *
 * Every function is thread-safe, needs no Python and no GIL (the per-key verification cache has
 * its own mutex). rs_sm2c_init() must have run once (rs_sm2core_init does it at import).
 *
 * Secrets (private keys, nonces, scalars of scalar_mult*, scalar_* operands) are handled in
 * constant time: no branch and no memory index depends on them (checked under valgrind by
 * tests/ct/sm2core_ct.c on the portable and the BMI2/ADX + AVX2 paths). Only what SM2 makes
 * public is declassified: r and s, the validity of a scalar, and blinded products a*b (b fresh,
 * uniform, secret) that GMP inverts in variable time: (1 + d) in signing and the Z coordinate
 * of secret-derived points before their affine conversion (a^-1 = b (a b)^-1). Fermat's
 * constant-time exponentiation is the fallback when no randomness is available. Functions named
 * *_vartime, point decoding, point_add and verification take public inputs only.
 *
 * Methods: Montgomery field arithmetic specialised to p; secret scalars recoded into odd
 * digits (k, or n - k with every sign flipped when k is even), so no digit is zero and no
 * table entry is infinity: only the last addition needs the complete formula. k*P with 5-bit
 * odd windows over P, 3P, ..., 31P (co-Z chain, made affine through its Z ratios with one
 * inversion), every entry scanned with masks (AVX2 byte blends) per window; k*G with a 7-bit
 * odd comb of 37 x 64 affine points built at init (the same comb for any other point through
 * rs_sm2c_fixed_*); verification as s*G + t*P in one width-8 / width-5 wNAF chain (or both
 * combs once the key's own 6-bit comb is cached), compared in Jacobian form without an
 * inversion; batches convert their tables and results with one inversion each; large public
 * multi-scalar multiplications by Pippenger with affine buckets (one inversion per round).
 *
 * Return value: RS_SM2C_OK (0) or one of the negative RS_SM2C_ERR_* codes below; outputs are
 * undefined on error.
 */
#ifndef RS_SM2CORE_H
#define RS_SM2CORE_H

#include <stddef.h>
#include <stdint.h>

#define RS_SM2C_SCALAR_SIZE 32
#define RS_SM2C_FIELD_SIZE 32
#define RS_SM2C_POINT_SIZE 65
#define RS_SM2C_COMPRESSED_SIZE 33
#define RS_SM2C_SIG_SIZE 64
#define RS_SM2C_DIGEST_SIZE 32
#define RS_SM2C_MAX_UID_SIZE 8191 /* ENTL is a 16-bit bit length */

enum rs_sm2c_status {
    RS_SM2C_OK = 0,
    RS_SM2C_ERR_SCALAR = -1,    /* scalar zero or >= n (private key: > n-2) */
    RS_SM2C_ERR_POINT = -2,     /* bad point encoding or not on the curve */
    RS_SM2C_ERR_INFINITY = -3,  /* encoding of, or a result at, the point at infinity */
    RS_SM2C_ERR_SIGNATURE = -4, /* signature does not verify (or r, s out of range) */
    RS_SM2C_ERR_RANDOM = -5,    /* RAND_priv_bytes failed */
    RS_SM2C_ERR_NOMEM = -6,
    RS_SM2C_ERR_LENGTH = -7,    /* bad length (e.g. user id longer than 8191 bytes) */
    RS_SM2C_ERR_HASH = -8,      /* SM3 failed */
    RS_SM2C_ERR_NONCE = -9      /* *_with_k: this k gives r = 0, r + k = n or s = 0 */
};

/* Build the generator's comb table; idempotent, not thread-safe against itself (call at import). */
int rs_sm2c_init(void);

/* Dispatch follows rs_cpu at every call: field arithmetic on mulx/adcx/adox when
 * rs_cpu.bmi2 && rs_cpu.adx, table scans on AVX2 when rs_cpu.avx2, portable C otherwise
 * (set_portable(True) clears rs_cpu). 1 when the BMI2/ADX path would be used now. */
int rs_sm2c_have_adx(void);

/* ---- points (public data) ---- */
/* Decode 65-byte uncompressed or 33-byte compressed `in` (len bytes), check it is on the curve,
 * write the uncompressed form. */
int rs_sm2c_point_decode(uint8_t out[65], const uint8_t *in, size_t len);
int rs_sm2c_point_compress(uint8_t out[33], const uint8_t in[65]);
/* out = a + b; RS_SM2C_ERR_INFINITY when a = -b. Variable time (public points). */
int rs_sm2c_point_add(uint8_t out[65], const uint8_t a[65], const uint8_t b[65]);
/* out = -a. */
int rs_sm2c_point_negate(uint8_t out[65], const uint8_t a[65]);

/* ---- scalar multiplication ---- */
/* out = k * in, k secret in [1, n-1]: fixed 5-bit odd-digit window, masked table scans. */
int rs_sm2c_scalar_mult(uint8_t out[65], const uint8_t k[32], const uint8_t in[65]);
/* out = k * G, k secret in [1, n-1]: precomputed comb, masked table scans. */
int rs_sm2c_scalar_base_mult(uint8_t out[65], const uint8_t k[32]);
/* out[i] = k * in[i] for i < count; points are concatenated 65-byte encodings, out likewise.
 * One secret k; one field inversion for the whole batch. On a bad point nothing is written
 * and *bad_index (if not NULL) names the first bad point. */
int rs_sm2c_scalar_mult_batch(uint8_t *out, const uint8_t k[32], const uint8_t *in, size_t count,
                              size_t *bad_index);
/* out = sum scalars[i] * points[i] (public scalars in [0, n-1], 32 bytes each, concatenated;
 * points 65 bytes each): Straus interleaving below 256 terms, Pippenger with affine buckets
 * from 256 on; variable time. RS_SM2C_ERR_INFINITY if the sum is infinity. */
int rs_sm2c_multi_mult_vartime(uint8_t out[65], const uint8_t *scalars, const uint8_t *points,
                               size_t count);
/* out = u1*G + u2*P, public u1, u2 in [0, n-1], variable time. */
int rs_sm2c_double_mult_vartime(uint8_t out[65], const uint8_t u1[32], const uint8_t u2[32],
                                const uint8_t p[65]);

/* ---- fixed-base combs for points other than G (public point, secret scalars) ---- */
typedef struct rs_sm2c_fixed rs_sm2c_fixed;
/* Build the odd comb of P (37 x 64 affine multiples, 151 KB; about a millisecond). */
int rs_sm2c_fixed_new(rs_sm2c_fixed **out, const uint8_t p[65]);
void rs_sm2c_fixed_free(rs_sm2c_fixed *f);
/* out[i] = k[i] * P for count secret scalars in [1, n-1] (32 bytes each, concatenated; out 65
 * bytes each), constant time, one blinded inversion for the batch; f = NULL means P = G. */
int rs_sm2c_fixed_mult(const rs_sm2c_fixed *f, uint8_t *out, const uint8_t *k, size_t count);

/* ---- scalars mod n (constant time: safe for secrets) ---- */
/* out = a + b, a - b, a * b mod n for a, b < n (RS_SM2C_ERR_SCALAR when an input is >= n). */
int rs_sm2c_scalar_add(uint8_t out[32], const uint8_t a[32], const uint8_t b[32]);
int rs_sm2c_scalar_sub(uint8_t out[32], const uint8_t a[32], const uint8_t b[32]);
int rs_sm2c_scalar_mul(uint8_t out[32], const uint8_t a[32], const uint8_t b[32]);
/* out = a^-1 mod n for a in [1, n-1] (Fermat, constant time). */
int rs_sm2c_scalar_inv(uint8_t out[32], const uint8_t a[32]);
/* out = (big-endian integer of len <= 64 bytes) mod n, e.g. RFC 9380 hash_to_field output. */
int rs_sm2c_scalar_reduce(uint8_t out[32], const uint8_t *in, size_t len);

/* ---- SM2 (GB/T 32918.2) ---- */
/* pub = d * G for a private key d in [1, n-2]. */
int rs_sm2c_public_key(uint8_t pub[65], const uint8_t d[32]);
/* Z_A = SM3(ENTL || uid || a || b || xG || yG || xA || yA). */
int rs_sm2c_za(uint8_t za[32], const uint8_t pub[65], const uint8_t *uid, size_t uid_len);
/* Sign the digest e = SM3(Z_A || M) with a fresh nonce from RAND_priv_bytes. */
int rs_sm2c_sign_digest(uint8_t sig[64], const uint8_t d[32], const uint8_t e[32]);
/* Known-answer seam: sign with the caller's nonce k in [1, n-1] (RS_SM2C_ERR_NONCE if unusable). */
int rs_sm2c_sign_digest_with_k(uint8_t sig[64], const uint8_t d[32], const uint8_t e[32],
                               const uint8_t k[32]);
/* One shot: Z_A from pub (computed from d when pub is NULL), e = SM3(Z_A || msg), sign. */
int rs_sm2c_sign(uint8_t sig[64], const uint8_t d[32], const uint8_t *pub /* 65 or NULL */,
                 const uint8_t *msg, size_t msg_len, const uint8_t *uid, size_t uid_len);
/* Verify (r, s) over digest e. use_cache: look pub up in the per-key table cache (a key gets a
 * table the second time it is seen; 16 keys, least recently used evicted). */
int rs_sm2c_verify_digest(const uint8_t pub[65], const uint8_t e[32], const uint8_t sig[64],
                          int use_cache);
int rs_sm2c_verify(const uint8_t pub[65], const uint8_t *msg, size_t msg_len, const uint8_t *uid,
                   size_t uid_len, const uint8_t sig[64], int use_cache);
/* ok[i] = 1 if signature i verifies over digest es[i] under pubs[i], else 0 (pubs 65 bytes,
 * es 32 bytes, sigs 64 bytes each, concatenated). Returns RS_SM2C_OK unless out of memory. */
int rs_sm2c_verify_digest_batch(uint8_t *ok, const uint8_t *pubs, const uint8_t *es,
                                const uint8_t *sigs, size_t count, int use_cache);
/* Static agreement: x(d * P), 32 bytes (d secret in [1, n-1]). */
int rs_sm2c_static_agree(uint8_t x[32], const uint8_t d[32], const uint8_t p[65]);
/* Drop every cached per-key table (tests). */
void rs_sm2c_cache_clear(void);

#endif
