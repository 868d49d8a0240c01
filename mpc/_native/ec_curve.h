/* Area 'ec': curves for the OPRF and hash-to-curve, and the group backend interface.
 *
 * Points cross the backend interface as affine coordinates x || y (2 x 32 bytes, big-endian),
 * validated by the caller, never the point at infinity. The OpenSSL backend (ec_ossl.c) serves
 * both curves today; the SM2 curve can switch to the constant-time core of area `sm2core` by
 * pointing its `backend` at an implementation of these four functions (point addition runs on
 * the constant-time field code of ec_field.c). */
#ifndef RS_EC_CURVE_H
#define RS_EC_CURVE_H

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "ec_field.h"

#define EC_CURVE_P256 0
#define EC_CURVE_SM2 1
#define EC_CURVE_COUNT 2

#define EC_FE_BYTES 32
#define EC_XY_BYTES 64
#define EC_POINT_BYTES 33 /* compressed SEC1, the RFC 9497 element encoding */

#define EC_MSM_BACKEND 0 /* the backend's msm */
#define EC_MSM_GENERIC 1 /* Pippenger with Jacobian buckets on ec_field.c */
#define EC_MSM_AFFINE 2  /* Pippenger with affine buckets on ec_field.c for large MSMs */

typedef struct rs_ec_curve rs_ec_curve;

/* Every function returns RS_OK or an rs_status; secret scalars are 32 big-endian bytes in [1, n). */
typedef struct {
    /* out[i] = k * in[i]: one secret scalar, many points (OPRF server). */
    int (*mul_batch)(const rs_ec_curve *c, const uint8_t k[32], size_t n, const uint8_t *in, uint8_t *out);
    /* out[i] = k[i] * in[i] (client blind / unblind). */
    int (*mul_each)(const rs_ec_curve *c, const uint8_t *k, size_t n, const uint8_t *in, uint8_t *out);
    /* out = k * G */
    int (*mul_base)(const rs_ec_curve *c, const uint8_t k[32], uint8_t out[64]);
    /* out = g * G + sum k[i] * in[i] for public scalars (g may be NULL); RS_ERR_POINT if the
     * result is the point at infinity. Variable time: every input is public. */
    int (*msm)(const rs_ec_curve *c, const uint8_t *g, size_t n, const uint8_t *k, const uint8_t *in,
               uint8_t out[64]);
    /* Optional (NULL when absent): a precomputed table for a fixed point K (the client's
     * additive unblinding, r * K), used as out[i] = k[i] * K. */
    void *(*fixed_new)(const rs_ec_curve *c, const uint8_t xy[64]);
    int (*fixed_mul)(const rs_ec_curve *c, void *table, const uint8_t *k, size_t n, uint8_t *out);
    void (*fixed_free)(void *table);
    /* Optional: decode n compressed points to x || y with full validation (RS_ERR_POINT). */
    int (*decode)(const rs_ec_curve *c, const uint8_t *in, size_t n, uint8_t *xy);
    /* Optional: out[i] = k[i] * G for n secret scalars (one inversion for the batch). */
    int (*mul_base_batch)(const rs_ec_curve *c, const uint8_t *k, size_t n, uint8_t *out);
} rs_ec_backend;

struct rs_ec_curve {
    int id;
    const char *name;
    EC_GROUP *group;
    const EVP_MD *md; /* hash of the suite: SHA-256 for P-256, SM3 for the SM2 curve */
    ec_mont fp, fn;
    ec_fe a, b, z, c2; /* Montgomery form: A = -3, B, SSWU Z, sqrt(-Z) */
    uint64_t c1[4];    /* (p - 3) / 4 */
    uint64_t sqrt_e[4]; /* (p + 1) / 4 */
    const rs_ec_backend *backend;
    int generic_msm; /* EC_MSM_*: public-input MSMs on ec_field.c (Pippenger) or the backend's */
    int generic_composite; /* P-256: composite scalars through EVP instead of ec_xmd256.c (tests) */
};

extern const rs_ec_backend rs_ec_openssl_backend;
/* The SM2 core of area `sm2core` (ec_sm2core.c): NULL unless that core is in the tree. */
extern const rs_ec_backend *rs_ec_sm2core_backend;
int rs_ec_sm2core_init(void);

/* ec_xmd256.c: RFC 9497's composite scalars d[i] for P256-SHA256 (public inputs). */
int rs_ec_composite_sha256(const ec_mont *fn, const uint8_t *seed, size_t seedlen, const uint8_t *cs,
                           const uint8_t *ds, size_t n, const uint8_t *dst, size_t dstlen, uint8_t *d);

#endif
