/* Area 'ec': RFC 9380 hash-to-curve and curve set-up on the constant-time field code, kept free
 * of Python so that the constant-time test driver (tests/ct/ec_ct.c) links it directly.
 * Secrets (the message, u, the map's intermediate values, the output point) steer no branch and
 * no memory index in these functions; the returned masks are the caller's to declassify. */
#ifndef RS_EC_H2C_H
#define RS_EC_H2C_H

#include "ec_curve.h"

typedef struct {
    ec_fe x, y, z; /* homogeneous projective: (X / Z, Y / Z) */
} ec_proj;

int rs_ec_curve_setup(rs_ec_curve *c, int id, const char *name, int nid, const EVP_MD *md, uint64_t minus_z);
/* RFC 9380 5.3.1 with b_in_bytes = 32, s_in_bytes = 64 (SHA-256, SM3); 1 on success. */
int rs_ec_expand_xmd(const EVP_MD *md, EVP_MD_CTX *ctx, const uint8_t *msg, size_t msglen, const uint8_t *dst,
                     size_t dstlen, uint8_t *out, size_t len);
/* RFC 9380 5.2, L = 48, count <= 2 elements of GF(m), m = the curve's p or n. 1 on success. */
int rs_ec_hash_to_field(const rs_ec_curve *c, EVP_MD_CTX *ctx, const ec_mont *m, const uint8_t *msg,
                        size_t msglen, const uint8_t *dst, size_t dstlen, size_t count, ec_fe *u);
/* Simplified SWU (RFC 9380 6.6.2 / F.2) as a projective point. */
void rs_ec_map_to_curve(const rs_ec_curve *c, ec_proj *out, const ec_fe *u);
/* Complete addition for a = -3 (Renes-Costello-Batina, Algorithm 4). */
void rs_ec_proj_add(const rs_ec_curve *c, ec_proj *r, const ec_proj *p, const ec_proj *q);
/* Affine x || y; the all-ones mask unless the point is at infinity. */
uint64_t rs_ec_proj_to_xy(const rs_ec_curve *c, uint8_t xy[64], const ec_proj *p);
/* The same for n points with one inversion; tmp holds n field elements. */
uint64_t rs_ec_batch_to_xy(const rs_ec_curve *c, uint8_t *xy, const ec_proj *p, size_t n, ec_fe *tmp);
/* hash_to_curve (random-oracle suite) of msg; RS_OK or RS_ERR_INTERNAL (hash failure). */
int rs_ec_hash_to_curve(const rs_ec_curve *c, EVP_MD_CTX *ctx, const uint8_t *msg, size_t msglen,
                        const uint8_t *dst, size_t dstlen, ec_proj *r);
/* x^3 + a x + b */
void rs_ec_rhs(const rs_ec_curve *c, ec_fe *r, const ec_fe *x);

#endif
