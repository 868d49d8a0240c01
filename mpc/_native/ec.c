/* Area 'ec': P-256 and the SM2 curve for protocols: RFC 9380 hash-to-curve (simplified SWU,
 * constant time, on ec_field.c), compressed point encoding with on-curve checks, batched scalar
 * multiplication through the group backend (ec_curve.h; OpenSSL today), multi-scalar
 * multiplication, complete point addition, constant-time scalar arithmetic mod n, and the fused
 * batch steps of RFC 9497's server and client.
 *
 * P-256's public-input work runs on the special-form field code of ec_p256.h: batch point
 * decompression (an addition chain for the square root, four points in flight), the affine-
 * bucket Pippenger that computes the VOPRF composite of a large batch, and (ec_xmd256.c) the
 * composite scalars on low-level SHA-256. None of these touch a secret.
 *
 * Conventions: points cross into Python as 33-byte compressed SEC1 encodings, concatenated for
 * batches; scalars as 32 big-endian bytes. Every batch crosses into C once and runs without the
 * GIL. Secrets (scalars, hash-to-curve inputs, blinded points) never steer a branch or a memory
 * index in this file, ec_h2c.c or ec_field.c, except validity checks whose outcome is public (a
 * scalar out of range, a point off the curve); tests/ct/ec_ct.c checks the hash-to-curve and
 * scalar paths under valgrind. OpenSSL's single-point k*P and k*G are constant time (nistz256's
 * windowed code, the ladder of its generic code). */
#include "rs.h"
#include "ec_curve.h"
#include "ec_h2c.h"
#include "ec_p256.h"

#include <openssl/bn.h>
#include <openssl/obj_mac.h>
#include <string.h>

static rs_ec_curve curves[EC_CURVE_COUNT];
static int curves_ready;

#define EC_MAX_BATCH (1u << 22)

/* ---- small helpers ------------------------------------------------------------------------- */

static const rs_ec_curve *get_curve(int id)
{
    if (!curves_ready || id < 0 || id >= EC_CURVE_COUNT) {
        rs_raise(RS_ERR_VALUE, "unknown curve id");
        return NULL;
    }
    return &curves[id];
}

static PyObject *raise_status(int status)
{
    switch (status) {
    case RS_ERR_POINT:
        return rs_raise(RS_ERR_POINT, "point is malformed, not on the curve, or the point at infinity");
    case RS_ERR_VALUE:
        return rs_raise(RS_ERR_VALUE, "scalar must be in [1, n)");
    case RS_ERR_NOMEM:
        return PyErr_NoMemory();
    default:
        return rs_raise_openssl("EC operation");
    }
}

static int batch_count(Py_ssize_t len, size_t unit, size_t *n)
{
    if (len < 0 || (size_t)len % unit != 0 || (size_t)len / unit > EC_MAX_BATCH) {
        rs_raise(RS_ERR_VALUE, "batch length is not a multiple of the element size");
        return 0;
    }
    *n = (size_t)len / unit;
    return 1;
}

/* All-ones if the big-endian scalar is in [1, n). Constant time. */
static uint64_t scalar_ok(const rs_ec_curve *c, const uint8_t k[32])
{
    ec_fe t;
    uint64_t canonical = ec_fe_from_bytes(&c->fn, &t, k);
    return canonical & ~ec_fe_is_zero(&t);
}

static int scalars_ok(const rs_ec_curve *c, const uint8_t *k, size_t n)
{
    uint64_t ok = ~(uint64_t)0;
    for (size_t i = 0; i < n; i++)
        ok &= scalar_ok(c, k + 32 * i);
    return ok != 0;
}

/* ---- point encoding --------------------------------------------------------------------------- */

/* Compressed SEC1 -> x || y; RS_ERR_POINT unless it is a canonical encoding of a curve point. */
static int decode_point(const rs_ec_curve *c, const uint8_t in[33], uint8_t xy[64])
{
    const ec_mont *f = &c->fp;
    ec_fe x, y, y2, t;
    if (in[0] != 2 && in[0] != 3)
        return RS_ERR_POINT;
    if (!ec_fe_from_bytes(f, &x, in + 1))
        return RS_ERR_POINT;
    rs_ec_rhs(c, &y2, &x);
    ec_fe_pow(f, &y, &y2, c->sqrt_e);
    ec_fe_sqr(f, &t, &y);
    if (!ec_fe_eq(&t, &y2))
        return RS_ERR_POINT;
    if (ec_fe_sgn0(f, &y) != (uint64_t)(in[0] & 1)) {
        ec_fe_neg(f, &y, &y);
        if (ec_fe_sgn0(f, &y) != (uint64_t)(in[0] & 1)) /* y = 0 with tag 3 */
            return RS_ERR_POINT;
    }
    memcpy(xy, in + 1, 32);
    ec_fe_to_bytes(f, xy + 32, &y);
    return RS_OK;
}

/* P-256 decompression for batches: the square root r^((p+1)/4) by an addition chain on
 * (p+1)/4 = 2^94 (((2^32 - 1) 2^32 + 1) 2^96 + 1) (253 squarings, 7 multiplications), run on
 * DEC_LANES points at a time: the lanes' squarings are independent, so the processor overlaps
 * them instead of waiting on one chain's latency. Public inputs (blinded elements). */
#define DEC_LANES 4

static void sqrn_lanes(ec_fe *t, size_t lanes, int k)
{
    for (int s = 0; s < k; s++)
        for (size_t l = 0; l < lanes; l++)
            p256_sqr(&t[l], &t[l]);
}

static void mul_lanes(ec_fe *r, const ec_fe *a, const ec_fe *b, size_t lanes)
{
    for (size_t l = 0; l < lanes; l++)
        p256_mul(&r[l], &a[l], &b[l]);
}

static int decode_points_p256(const rs_ec_curve *c, const uint8_t *in, size_t n, uint8_t *xy)
{
    const ec_mont *f = &c->fp;
    for (size_t i0 = 0; i0 < n; i0 += DEC_LANES) {
        const size_t lanes = n - i0 < DEC_LANES ? n - i0 : DEC_LANES;
        ec_fe x[DEC_LANES], r[DEC_LANES], t[DEC_LANES], a2[DEC_LANES], acc[DEC_LANES];
        for (size_t l = 0; l < lanes; l++) {
            const uint8_t *p = in + 33 * (i0 + l);
            if (p[0] != 2 && p[0] != 3)
                return RS_ERR_POINT;
            if (!ec_fe_from_bytes(f, &x[l], p + 1))
                return RS_ERR_POINT;
            rs_ec_rhs(c, &r[l], &x[l]);
        }
        memcpy(t, r, lanes * sizeof(ec_fe));
        sqrn_lanes(t, lanes, 1);
        mul_lanes(a2, t, r, lanes); /* r^(2^2 - 1) */
        memcpy(acc, a2, lanes * sizeof(ec_fe));
        for (int k = 2; k <= 16; k *= 2) { /* r^(2^(2k) - 1) */
            memcpy(t, acc, lanes * sizeof(ec_fe));
            sqrn_lanes(t, lanes, k);
            mul_lanes(acc, t, acc, lanes);
        }
        sqrn_lanes(acc, lanes, 32);
        mul_lanes(acc, acc, r, lanes);
        sqrn_lanes(acc, lanes, 96);
        mul_lanes(acc, acc, r, lanes);
        sqrn_lanes(acc, lanes, 94);
        for (size_t l = 0; l < lanes; l++) {
            const uint8_t *p = in + 33 * (i0 + l);
            ec_fe y = acc[l], y2;
            ec_fe_sqr(f, &y2, &y);
            if (!ec_fe_eq(&y2, &r[l]))
                return RS_ERR_POINT;
            if (ec_fe_sgn0(f, &y) != (uint64_t)(p[0] & 1)) {
                ec_fe_neg(f, &y, &y);
                if (ec_fe_sgn0(f, &y) != (uint64_t)(p[0] & 1)) /* y = 0 with tag 3 */
                    return RS_ERR_POINT;
            }
            memcpy(xy + 64 * (i0 + l), p + 1, 32);
            ec_fe_to_bytes(f, xy + 64 * (i0 + l) + 32, &y);
        }
    }
    return RS_OK;
}

static int decode_points(const rs_ec_curve *c, const uint8_t *in, size_t n, uint8_t *xy)
{
    if (c->backend->decode != NULL)
        return c->backend->decode(c, in, n, xy);
    if (c->id == EC_CURVE_P256)
        return decode_points_p256(c, in, n, xy);
    for (size_t i = 0; i < n; i++)
        if (decode_point(c, in + 33 * i, xy + 64 * i) != RS_OK)
            return RS_ERR_POINT;
    return RS_OK;
}

static void encode_point(const uint8_t xy[64], uint8_t out[33])
{
    out[0] = (uint8_t)(2 | (xy[63] & 1));
    memcpy(out + 1, xy, 32);
}

static void encode_points(const uint8_t *xy, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        encode_point(xy + 64 * i, out + 33 * i);
}

/* Affine x || y -> projective, checking the curve equation. */
static int xy_to_proj(const rs_ec_curve *c, ec_proj *p, const uint8_t xy[64])
{
    ec_fe y2, r;
    uint64_t ok = ec_fe_from_bytes(&c->fp, &p->x, xy) & ec_fe_from_bytes(&c->fp, &p->y, xy + 32);
    rs_ec_rhs(c, &r, &p->x);
    ec_fe_sqr(&c->fp, &y2, &p->y);
    ok &= ec_fe_eq(&y2, &r);
    p->z = c->fp.one;
    return ok ? RS_OK : RS_ERR_POINT;
}

/* out[i] = a[i] + sign * b[i] on affine points, constant time; RS_ERR_POINT at infinity. */
static int add_points(const rs_ec_curve *c, size_t n, const uint8_t *a, const uint8_t *b, int sign, uint8_t *out)
{
    ec_proj *r = malloc(sizeof(ec_proj) * (n ? n : 1));
    ec_fe *tmp = malloc(sizeof(ec_fe) * (n ? n : 1));
    int status = RS_ERR_NOMEM;
    if (r == NULL || tmp == NULL)
        goto done;
    status = RS_ERR_POINT;
    for (size_t i = 0; i < n; i++) {
        ec_proj p, q;
        if (xy_to_proj(c, &p, a + 64 * i) != RS_OK || xy_to_proj(c, &q, b + 64 * i) != RS_OK)
            goto done;
        if (sign < 0)
            ec_fe_neg(&c->fp, &q.y, &q.y);
        rs_ec_proj_add(c, &r[i], &p, &q);
    }
    status = rs_ec_batch_to_xy(c, out, r, n, tmp) ? RS_OK : RS_ERR_POINT;
done:
    if (r != NULL) {
        rs_secure_zero(r, sizeof(ec_proj) * (n ? n : 1));
        free(r);
    }
    free(tmp);
    return status;
}

/* ---- multi-scalar multiplication for public inputs (Pippenger, signed digits) ----------------
 * Variable time by design: every input is public (composite scalars, proof values, public keys).
 * Jacobian coordinates (x = X / Z^2, y = Y / Z^3), a = -3; z == 0 marks the point at infinity. */

/* Field multiplication for the public-input point arithmetic below: the P-256 special form
 * inlined (ec_p256.h), the generic Montgomery code for the SM2 curve. */
static inline void pt_fmul(const rs_ec_curve *c, ec_fe *r, const ec_fe *a, const ec_fe *b)
{
    if (c->id == EC_CURVE_P256)
        p256_mul(r, a, b);
    else
        ec_fe_mul(&c->fp, r, a, b);
}

static inline void pt_fsqr(const rs_ec_curve *c, ec_fe *r, const ec_fe *a)
{
    if (c->id == EC_CURVE_P256)
        p256_sqr(r, a);
    else
        ec_fe_sqr(&c->fp, r, a);
}

typedef struct {
    ec_fe x, y, z;
} ec_jac;

static int jac_is_inf(const ec_jac *p)
{
    return ec_fe_is_zero(&p->z) != 0;
}

static void jac_dbl(const rs_ec_curve *c, ec_jac *r, const ec_jac *p)
{
    const ec_mont *f = &c->fp;
    ec_fe delta, gamma, beta, alpha, t, u;
    if (jac_is_inf(p)) {
        *r = *p;
        return;
    }
    pt_fsqr(c, &delta, &p->z);
    pt_fsqr(c, &gamma, &p->y);
    pt_fmul(c, &beta, &p->x, &gamma);
    ec_fe_sub(f, &t, &p->x, &delta);
    ec_fe_add(f, &u, &p->x, &delta);
    pt_fmul(c, &alpha, &t, &u);
    ec_fe_add(f, &t, &alpha, &alpha);
    ec_fe_add(f, &alpha, &alpha, &t); /* alpha = 3 (X - delta)(X + delta) */
    ec_fe_add(f, &t, &p->y, &p->z);
    pt_fsqr(c, &t, &t);
    ec_fe_sub(f, &t, &t, &gamma);
    ec_fe_sub(f, &r->z, &t, &delta);
    ec_fe_add(f, &beta, &beta, &beta);
    ec_fe_add(f, &beta, &beta, &beta); /* 4 beta */
    pt_fsqr(c, &t, &alpha);
    ec_fe_add(f, &u, &beta, &beta);
    ec_fe_sub(f, &r->x, &t, &u);
    ec_fe_sub(f, &t, &beta, &r->x);
    pt_fmul(c, &t, &alpha, &t);
    pt_fsqr(c, &gamma, &gamma);
    ec_fe_add(f, &gamma, &gamma, &gamma);
    ec_fe_add(f, &gamma, &gamma, &gamma);
    ec_fe_add(f, &gamma, &gamma, &gamma); /* 8 gamma^2 */
    ec_fe_sub(f, &r->y, &t, &gamma);
}

/* r = p + (x2, y2) (affine). */
static void jac_madd(const rs_ec_curve *c, ec_jac *r, const ec_jac *p, const ec_fe *x2, const ec_fe *y2)
{
    const ec_mont *f = &c->fp;
    ec_fe z1z1, u2, s2, h, hh, i, j, rr, v, t;
    if (jac_is_inf(p)) {
        r->x = *x2;
        r->y = *y2;
        r->z = f->one;
        return;
    }
    pt_fsqr(c, &z1z1, &p->z);
    pt_fmul(c, &u2, x2, &z1z1);
    pt_fmul(c, &s2, y2, &p->z);
    pt_fmul(c, &s2, &s2, &z1z1);
    ec_fe_sub(f, &h, &u2, &p->x);
    ec_fe_sub(f, &rr, &s2, &p->y);
    if (ec_fe_is_zero(&h)) {
        if (ec_fe_is_zero(&rr)) {
            jac_dbl(c, r, p);
        } else {
            memset(r, 0, sizeof *r);
        }
        return;
    }
    ec_fe_add(f, &rr, &rr, &rr);
    pt_fsqr(c, &hh, &h);
    ec_fe_add(f, &i, &hh, &hh);
    ec_fe_add(f, &i, &i, &i);
    pt_fmul(c, &j, &h, &i);
    pt_fmul(c, &v, &p->x, &i);
    ec_fe_add(f, &t, &p->z, &h);
    pt_fsqr(c, &t, &t);
    ec_fe_sub(f, &t, &t, &z1z1);
    ec_fe_sub(f, &r->z, &t, &hh);
    ec_fe y1j;
    pt_fmul(c, &y1j, &p->y, &j);
    pt_fsqr(c, &t, &rr);
    ec_fe_sub(f, &t, &t, &j);
    ec_fe_sub(f, &t, &t, &v);
    ec_fe_sub(f, &r->x, &t, &v);
    ec_fe_sub(f, &t, &v, &r->x);
    pt_fmul(c, &t, &rr, &t);
    ec_fe_add(f, &y1j, &y1j, &y1j);
    ec_fe_sub(f, &r->y, &t, &y1j);
}

static void jac_add(const rs_ec_curve *c, ec_jac *r, const ec_jac *p, const ec_jac *q)
{
    const ec_mont *f = &c->fp;
    ec_fe z1z1, z2z2, u1, u2, s1, s2, h, i, j, rr, v, t;
    if (jac_is_inf(p)) {
        *r = *q;
        return;
    }
    if (jac_is_inf(q)) {
        *r = *p;
        return;
    }
    pt_fsqr(c, &z1z1, &p->z);
    pt_fsqr(c, &z2z2, &q->z);
    pt_fmul(c, &u1, &p->x, &z2z2);
    pt_fmul(c, &u2, &q->x, &z1z1);
    pt_fmul(c, &s1, &p->y, &q->z);
    pt_fmul(c, &s1, &s1, &z2z2);
    pt_fmul(c, &s2, &q->y, &p->z);
    pt_fmul(c, &s2, &s2, &z1z1);
    ec_fe_sub(f, &h, &u2, &u1);
    ec_fe_sub(f, &rr, &s2, &s1);
    if (ec_fe_is_zero(&h)) {
        if (ec_fe_is_zero(&rr)) {
            jac_dbl(c, r, p);
        } else {
            memset(r, 0, sizeof *r);
        }
        return;
    }
    ec_fe_add(f, &rr, &rr, &rr);
    ec_fe_add(f, &i, &h, &h);
    pt_fsqr(c, &i, &i);
    pt_fmul(c, &j, &h, &i);
    pt_fmul(c, &v, &u1, &i);
    ec_fe_add(f, &t, &p->z, &q->z);
    pt_fsqr(c, &t, &t);
    ec_fe_sub(f, &t, &t, &z1z1);
    ec_fe_sub(f, &t, &t, &z2z2);
    pt_fmul(c, &r->z, &t, &h);
    ec_fe s1j;
    pt_fmul(c, &s1j, &s1, &j);
    pt_fsqr(c, &t, &rr);
    ec_fe_sub(f, &t, &t, &j);
    ec_fe_sub(f, &t, &t, &v);
    ec_fe_sub(f, &r->x, &t, &v);
    ec_fe_sub(f, &t, &v, &r->x);
    pt_fmul(c, &t, &rr, &t);
    ec_fe_add(f, &s1j, &s1j, &s1j);
    ec_fe_sub(f, &r->y, &t, &s1j);
}

/* Signed base-2^w digits of a 256-bit big-endian scalar, least significant first. */
static void recode(const uint8_t k[32], int w, int nwin, int16_t *digits)
{
    uint64_t limb[5] = {0, 0, 0, 0, 0};
    for (int i = 0; i < 32; i++)
        limb[(31 - i) / 8] |= (uint64_t)k[i] << (8 * ((31 - i) % 8));
    int carry = 0;
    const int half = 1 << (w - 1), full = 1 << w;
    for (int j = 0; j < nwin; j++) {
        int bit = j * w;
        uint64_t word = limb[bit / 64] >> (bit % 64);
        if (bit % 64 + w > 64 && bit / 64 + 1 < 5)
            word |= limb[bit / 64 + 1] << (64 - bit % 64);
        int d = (int)(word & (uint64_t)(full - 1)) + carry;
        carry = d >= half;
        digits[j] = (int16_t)(d - (carry ? full : 0));
    }
}

/* out = g * G + sum k[i] * in[i] (affine x || y inputs, already validated). */
static int generic_msm(const rs_ec_curve *c, const uint8_t *g, size_t n, const uint8_t *k, const uint8_t *in,
                       uint8_t out[64])
{
    const ec_mont *f = &c->fp;
    size_t total = n + (g != NULL);
    int w = total < 4 ? 3 : total < 32 ? 4 : total < 128 ? 5 : total < 512 ? 6 : total < 2048 ? 7 : 8;
    int nwin = (256 + w) / w + 1;
    size_t nb = (size_t)1 << (w - 1);
    ec_fe *px = malloc(sizeof(ec_fe) * 2 * (total ? total : 1));
    int16_t *digits = malloc(sizeof(int16_t) * (size_t)nwin * (total ? total : 1));
    ec_jac *buckets = malloc(sizeof(ec_jac) * nb);
    int status = RS_ERR_NOMEM;
    if (px == NULL || digits == NULL || buckets == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        ec_fe_from_bytes(f, &px[2 * i], in + 64 * i);
        ec_fe_from_bytes(f, &px[2 * i + 1], in + 64 * i + 32);
        recode(k + 32 * i, w, nwin, digits + (size_t)nwin * i);
    }
    if (g != NULL) {
        uint8_t gxy[32];
        const EC_POINT *gen = EC_GROUP_get0_generator(c->group);
        BIGNUM *gx = BN_new(), *gy = BN_new();
        int ok = gx && gy && EC_POINT_get_affine_coordinates(c->group, gen, gx, gy, NULL) == 1 &&
                 BN_bn2binpad(gx, gxy, 32) == 32;
        if (ok)
            ec_fe_from_bytes(f, &px[2 * n], gxy);
        ok = ok && BN_bn2binpad(gy, gxy, 32) == 32;
        if (ok)
            ec_fe_from_bytes(f, &px[2 * n + 1], gxy);
        BN_free(gx);
        BN_free(gy);
        if (!ok) {
            status = RS_ERR_INTERNAL;
            goto done;
        }
        recode(g, w, nwin, digits + (size_t)nwin * n);
    }
    ec_jac acc;
    memset(&acc, 0, sizeof acc);
    for (int j = nwin - 1; j >= 0; j--) {
        for (int d = 0; d < w; d++)
            jac_dbl(c, &acc, &acc);
        memset(buckets, 0, sizeof(ec_jac) * nb);
        for (size_t i = 0; i < total; i++) {
            int d = digits[(size_t)nwin * i + (size_t)j];
            if (d > 0) {
                jac_madd(c, &buckets[d - 1], &buckets[d - 1], &px[2 * i], &px[2 * i + 1]);
            } else if (d < 0) {
                ec_fe ny;
                ec_fe_neg(f, &ny, &px[2 * i + 1]);
                jac_madd(c, &buckets[-d - 1], &buckets[-d - 1], &px[2 * i], &ny);
            }
        }
        ec_jac run, sum;
        memset(&run, 0, sizeof run);
        memset(&sum, 0, sizeof sum);
        for (size_t b = nb; b-- > 0;) {
            jac_add(c, &run, &run, &buckets[b]);
            jac_add(c, &sum, &sum, &run);
        }
        jac_add(c, &acc, &acc, &sum);
    }
    if (jac_is_inf(&acc)) {
        status = RS_ERR_POINT;
        goto done;
    }
    ec_fe zi, zi2, x, y;
    ec_fe_inv(f, &zi, &acc.z);
    pt_fsqr(c, &zi2, &zi);
    pt_fmul(c, &x, &acc.x, &zi2);
    pt_fmul(c, &zi2, &zi2, &zi);
    pt_fmul(c, &y, &acc.y, &zi2);
    ec_fe_to_bytes(f, out, &x);
    ec_fe_to_bytes(f, out + 32, &y);
    status = RS_OK;
done:
    free(px);
    free(digits);
    free(buckets);
    return status;
}

/* Pippenger with affine buckets for large public MSMs (P-256's composites and verification):
 * every window's digits are sorted into (window, bucket) segments of affine points, then each
 * segment is summed pairwise in rounds; all additions of a round, across every window, share one
 * inversion (Montgomery's trick), so an addition costs about 6 multiplications against 11 for a
 * mixed Jacobian one. The buckets are then combined per window in Jacobian coordinates. Variable
 * time by design: every input is public. */
#define AFF_W 7
#define AFF_MIN 128 /* below this the Jacobian buckets (or the backend) are as fast */

typedef struct {
    ec_fe x, y;
} ec_aff;

static int affine_msm(const rs_ec_curve *c, const uint8_t *g, size_t n, const uint8_t *k, const uint8_t *in,
                      uint8_t out[64])
{
    const ec_mont *f = &c->fp;
    const int w = AFF_W, nwin = (256 + AFF_W) / AFF_W + 1;
    const size_t nb = (size_t)1 << (AFF_W - 1), nseg = nb * (size_t)nwin;
    size_t total = n + (g != NULL);
    ec_aff *px = malloc(sizeof(ec_aff) * total);
    int16_t *digits = malloc(sizeof(int16_t) * (size_t)nwin * total);
    size_t *start = calloc(nseg + 1, sizeof(size_t)), *len = calloc(nseg, sizeof(size_t));
    ec_aff *e = malloc(sizeof(ec_aff) * (size_t)nwin * total);
    ec_fe *den = malloc(sizeof(ec_fe) * ((size_t)nwin * total / 2 + 1));
    ec_fe *pre = malloc(sizeof(ec_fe) * ((size_t)nwin * total / 2 + 1));
    int status = RS_ERR_NOMEM;
    if (px == NULL || digits == NULL || start == NULL || len == NULL || e == NULL || den == NULL || pre == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        ec_fe_from_bytes(f, &px[i].x, in + 64 * i);
        ec_fe_from_bytes(f, &px[i].y, in + 64 * i + 32);
        recode(k + 32 * i, w, nwin, digits + (size_t)nwin * i);
    }
    if (g != NULL) {
        uint8_t gxy[32];
        const EC_POINT *gen = EC_GROUP_get0_generator(c->group);
        BIGNUM *gx = BN_new(), *gy = BN_new();
        int ok = gx && gy && EC_POINT_get_affine_coordinates(c->group, gen, gx, gy, NULL) == 1 &&
                 BN_bn2binpad(gx, gxy, 32) == 32;
        if (ok)
            ec_fe_from_bytes(f, &px[n].x, gxy);
        ok = ok && BN_bn2binpad(gy, gxy, 32) == 32;
        if (ok)
            ec_fe_from_bytes(f, &px[n].y, gxy);
        BN_free(gx);
        BN_free(gy);
        if (!ok) {
            status = RS_ERR_INTERNAL;
            goto done;
        }
        recode(g, w, nwin, digits + (size_t)nwin * n);
    }
    /* counting sort of the nonzero digits into segments (window j, bucket |d| - 1) */
    for (size_t i = 0; i < total; i++)
        for (int j = 0; j < nwin; j++) {
            int d = digits[(size_t)nwin * i + (size_t)j];
            if (d != 0)
                start[(size_t)j * nb + (size_t)(d < 0 ? -d : d) - 1 + 1]++;
        }
    for (size_t s = 0; s < nseg; s++)
        start[s + 1] += start[s];
    for (size_t i = 0; i < total; i++)
        for (int j = 0; j < nwin; j++) {
            int d = digits[(size_t)nwin * i + (size_t)j];
            if (d == 0)
                continue;
            size_t s = (size_t)j * nb + (size_t)(d < 0 ? -d : d) - 1;
            ec_aff *dst = &e[start[s] + len[s]++];
            dst->x = px[i].x;
            if (d > 0)
                dst->y = px[i].y;
            else
                ec_fe_neg(f, &dst->y, &px[i].y);
        }
    /* pairwise rounds */
    for (;;) {
        size_t m = 0;
        ec_fe acc = f->one;
        for (size_t s = 0; s < nseg; s++) {
            const ec_aff *seg = e + start[s];
            for (size_t j = 0; j + 1 < len[s]; j += 2) {
                const ec_aff *a = &seg[j], *b = &seg[j + 1];
                ec_fe d;
                if (!ec_fe_eq(&a->x, &b->x))
                    ec_fe_sub(f, &d, &b->x, &a->x);
                else if (ec_fe_eq(&a->y, &b->y))
                    ec_fe_add(f, &d, &a->y, &a->y); /* doubling (y != 0: the order is odd) */
                else
                    d = f->one; /* a = -b: the pair vanishes */
                den[m] = d;
                pre[m] = acc;
                pt_fmul(c, &acc, &acc, &d);
                m++;
            }
        }
        if (m == 0)
            break;
        ec_fe inv;
        ec_fe_inv(f, &inv, &acc);
        for (size_t i = m; i-- > 0;) {
            ec_fe t;
            pt_fmul(c, &t, &inv, &pre[i]);
            pt_fmul(c, &inv, &inv, &den[i]);
            den[i] = t;
        }
        m = 0;
        for (size_t s = 0; s < nseg; s++) {
            ec_aff *seg = e + start[s];
            size_t out_len = 0, l = len[s];
            for (size_t j = 0; j + 1 < l; j += 2) {
                const ec_aff a = seg[j], b = seg[j + 1];
                const ec_fe *di = &den[m++];
                ec_fe lam, t, x3;
                if (!ec_fe_eq(&a.x, &b.x)) {
                    ec_fe_sub(f, &t, &b.y, &a.y);
                } else if (ec_fe_eq(&a.y, &b.y)) {
                    pt_fsqr(c, &t, &a.x); /* 3 x^2 + a with a = -3 */
                    ec_fe_sub(f, &t, &t, &f->one);
                    ec_fe_add(f, &lam, &t, &t);
                    ec_fe_add(f, &t, &lam, &t);
                } else {
                    continue;
                }
                pt_fmul(c, &lam, &t, di);
                pt_fsqr(c, &x3, &lam);
                ec_fe_sub(f, &x3, &x3, &a.x);
                ec_fe_sub(f, &x3, &x3, &b.x);
                ec_fe_sub(f, &t, &a.x, &x3);
                pt_fmul(c, &t, &lam, &t);
                ec_fe_sub(f, &seg[out_len].y, &t, &a.y);
                seg[out_len].x = x3;
                out_len++;
            }
            if (l & 1)
                seg[out_len++] = seg[l - 1];
            len[s] = out_len;
        }
    }
    /* combine: per window sum_b b * B_b, from the top window down */
    ec_jac total_acc;
    memset(&total_acc, 0, sizeof total_acc);
    for (int j = nwin - 1; j >= 0; j--) {
        for (int d = 0; d < w; d++)
            jac_dbl(c, &total_acc, &total_acc);
        ec_jac run, sum;
        memset(&run, 0, sizeof run);
        memset(&sum, 0, sizeof sum);
        for (size_t b = nb; b-- > 0;) {
            size_t s = (size_t)j * nb + b;
            if (len[s])
                jac_madd(c, &run, &run, &e[start[s]].x, &e[start[s]].y);
            jac_add(c, &sum, &sum, &run);
        }
        jac_add(c, &total_acc, &total_acc, &sum);
    }
    if (jac_is_inf(&total_acc)) {
        status = RS_ERR_POINT;
        goto done;
    }
    ec_fe zi, zi2, x, y;
    ec_fe_inv(f, &zi, &total_acc.z);
    pt_fsqr(c, &zi2, &zi);
    pt_fmul(c, &x, &total_acc.x, &zi2);
    pt_fmul(c, &zi2, &zi2, &zi);
    pt_fmul(c, &y, &total_acc.y, &zi2);
    ec_fe_to_bytes(f, out, &x);
    ec_fe_to_bytes(f, out + 32, &y);
    status = RS_OK;
done:
    free(px);
    free(digits);
    free(start);
    free(len);
    free(e);
    free(den);
    free(pre);
    return status;
}

static int curve_msm(const rs_ec_curve *c, const uint8_t *g, size_t n, const uint8_t *k, const uint8_t *in,
                     uint8_t out[64])
{
    if (c->generic_msm == EC_MSM_GENERIC)
        return generic_msm(c, g, n, k, in, out);
    if (c->generic_msm == EC_MSM_AFFINE)
        return n + (g != NULL) >= AFF_MIN ? affine_msm(c, g, n, k, in, out) : c->backend->msm(c, g, n, k, in, out);
    return c->backend->msm(c, g, n, k, in, out);
}

/* ---- composites of RFC 9497, 2.2.1 ------------------------------------------------------------ */

/* d[i] = HashToScalar(I2OSP(len(seed), 2) || seed || I2OSP(i, 2) || I2OSP(Ne, 2) || C[i] ||
 *                     I2OSP(Ne, 2) || D[i] || "Composite") */
static int composite_scalars(const rs_ec_curve *c, EVP_MD_CTX *ctx, const uint8_t *seed, size_t seedlen,
                             const uint8_t *cs, const uint8_t *ds, size_t n, const uint8_t *dst, size_t dstlen,
                             uint8_t *d)
{
    uint8_t buf[2 + 64 + 2 + 2 + 33 + 2 + 33 + 9];
    if (seedlen > 64 || n > 65536) /* the transcript carries i as I2OSP(i, 2) */
        return RS_ERR_VALUE;
    if (c->id == EC_CURVE_P256 && dstlen <= 255 && !c->generic_composite)
        return rs_ec_composite_sha256(&c->fn, seed, seedlen, cs, ds, n, dst, dstlen, d);
    size_t off = 0;
    buf[off++] = 0;
    buf[off++] = (uint8_t)seedlen;
    memcpy(buf + off, seed, seedlen);
    off += seedlen;
    size_t ioff = off;
    for (size_t i = 0; i < n; i++) {
        size_t o = ioff;
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
        ec_fe s;
        if (!rs_ec_hash_to_field(c, ctx, &c->fn, buf, o, dst, dstlen, 1, &s))
            return RS_ERR_INTERNAL;
        ec_fe_to_bytes(&c->fn, d + 32 * i, &s);
    }
    return RS_OK;
}

/* ---- Python methods --------------------------------------------------------------------------- */

static PyObject *py_ec_curve_params(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    if (!PyArg_ParseTuple(args, "i:ec_curve_params", &id))
        return NULL;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL)
        return NULL;
    uint8_t buf[4][32];
    BIGNUM *p = BN_new();
    const BIGNUM *n = EC_GROUP_get0_order(c->group);
    const EC_POINT *g = EC_GROUP_get0_generator(c->group);
    BIGNUM *gx = BN_new(), *gy = BN_new();
    int ok = p && gx && gy && EC_GROUP_get_curve(c->group, p, NULL, NULL, NULL) == 1 &&
             EC_POINT_get_affine_coordinates(c->group, g, gx, gy, NULL) == 1 && BN_bn2binpad(p, buf[0], 32) == 32 &&
             BN_bn2binpad(n, buf[1], 32) == 32 && BN_bn2binpad(gx, buf[2], 32) == 32 &&
             BN_bn2binpad(gy, buf[3], 32) == 32;
    BN_free(p);
    BN_free(gx);
    BN_free(gy);
    if (!ok)
        return rs_raise_openssl("curve parameters");
    uint8_t z[32], bb[32];
    ec_fe_to_bytes(&c->fp, z, &c->z);
    ec_fe_to_bytes(&c->fp, bb, &c->b);
    return Py_BuildValue("{s:s,s:y#,s:y#,s:y#,s:y#,s:y#,s:y#}", "name", c->name, "p", buf[0], (Py_ssize_t)32, "n",
                         buf[1], (Py_ssize_t)32, "gx", buf[2], (Py_ssize_t)32, "gy", buf[3], (Py_ssize_t)32, "b", bb,
                         (Py_ssize_t)32, "z", z, (Py_ssize_t)32);
}

static PyObject *py_ec_expand_xmd(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer msg, dst;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "iy*y*n:ec_expand_xmd", &id, &msg, &dst, &len))
        return NULL;
    PyObject *res = NULL;
    const rs_ec_curve *c = get_curve(id);
    EVP_MD_CTX *ctx = NULL;
    if (c == NULL)
        goto done;
    if (len <= 0 || len > 255 * 32) {
        rs_raise(RS_ERR_VALUE, "expand_message_xmd length must be in [1, 8160]");
        goto done;
    }
    res = PyBytes_FromStringAndSize(NULL, len);
    ctx = EVP_MD_CTX_new();
    if (res == NULL || ctx == NULL)
        goto done;
    if (!rs_ec_expand_xmd(c->md, ctx, msg.buf, (size_t)msg.len, dst.buf, (size_t)dst.len, (uint8_t *)PyBytes_AS_STRING(res),
                    (size_t)len)) {
        Py_CLEAR(res);
        rs_raise_openssl("expand_message_xmd");
    }
done:
    EVP_MD_CTX_free(ctx);
    PyBuffer_Release(&msg);
    PyBuffer_Release(&dst);
    return res;
}

static PyObject *py_ec_hash_to_field(PyObject *self, PyObject *args)
{
    (void)self;
    int id, count, to_scalar;
    Py_buffer msg, dst;
    if (!PyArg_ParseTuple(args, "iy*y*ip:ec_hash_to_field", &id, &msg, &dst, &count, &to_scalar))
        return NULL;
    PyObject *res = NULL;
    const rs_ec_curve *c = get_curve(id);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ec_fe u[2];
    if (c == NULL)
        goto done;
    if (ctx == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (count < 1 || count > 2) {
        rs_raise(RS_ERR_VALUE, "count must be 1 or 2");
        goto done;
    }
    const ec_mont *m = to_scalar ? &c->fn : &c->fp;
    if (!rs_ec_hash_to_field(c, ctx, m, msg.buf, (size_t)msg.len, dst.buf, (size_t)dst.len, (size_t)count, u)) {
        rs_raise_openssl("hash_to_field");
        goto done;
    }
    uint8_t out[64];
    for (int i = 0; i < count; i++)
        ec_fe_to_bytes(m, out + 32 * i, &u[i]);
    res = PyBytes_FromStringAndSize((const char *)out, 32 * count);
    rs_secure_zero(out, sizeof out);
done:
    rs_secure_zero(u, sizeof u);
    EVP_MD_CTX_free(ctx);
    PyBuffer_Release(&msg);
    PyBuffer_Release(&dst);
    return res;
}

static PyObject *py_ec_map_to_curve(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer ub;
    if (!PyArg_ParseTuple(args, "iy*:ec_map_to_curve", &id, &ub))
        return NULL;
    PyObject *res = NULL;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL)
        goto done;
    if (ub.len != 32) {
        rs_raise(RS_ERR_VALUE, "field element must be 32 bytes");
        goto done;
    }
    ec_fe u;
    ec_proj q;
    uint8_t xy[64];
    if (!ec_fe_from_bytes(&c->fp, &u, ub.buf)) {
        rs_raise(RS_ERR_VALUE, "field element out of range");
        goto done;
    }
    rs_ec_map_to_curve(c, &q, &u);
    if (!rs_ec_proj_to_xy(c, xy, &q)) {
        rs_raise(RS_ERR_POINT, "map_to_curve reached the point at infinity");
        goto done;
    }
    res = PyBytes_FromStringAndSize((const char *)xy, 64);
done:
    PyBuffer_Release(&ub);
    return res;
}

/* ec_hash_to_curve(curve, msgs, dst, scalars | None, mode) -> concatenated compressed points:
 * mode 0: r[i] * H(msg[i]) (H(msg[i]) when scalars is None); mode 1: H(msg[i]) + r[i] * G. */
static PyObject *py_ec_hash_to_curve(PyObject *self, PyObject *args)
{
    (void)self;
    int id, mode;
    PyObject *seq_in, *scal_obj;
    Py_buffer dst, sc = {0};
    if (!PyArg_ParseTuple(args, "iOy*Oi:ec_hash_to_curve", &id, &seq_in, &dst, &scal_obj, &mode))
        return NULL;
    PyObject *res = NULL, *seq = NULL;
    PyObject **items = NULL;
    uint8_t *xy = NULL, *xy2 = NULL;
    ec_proj *proj = NULL;
    ec_fe *tmp = NULL;
    EVP_MD_CTX *ctx = NULL;
    size_t n = 0;
    int have_sc = 0, status = RS_OK, h2c_infinity = 0;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL)
        goto done;
    seq = PySequence_Fast(seq_in, "messages must be a sequence of bytes");
    if (seq == NULL)
        goto done;
    n = (size_t)PySequence_Fast_GET_SIZE(seq);
    if (n > EC_MAX_BATCH) {
        rs_raise(RS_ERR_VALUE, "batch too large");
        goto done;
    }
    if (scal_obj != Py_None) {
        if (PyObject_GetBuffer(scal_obj, &sc, PyBUF_SIMPLE) < 0)
            goto done;
        have_sc = 1;
        if ((size_t)sc.len != 32 * n) {
            rs_raise(RS_ERR_VALUE, "need one 32-byte scalar per message");
            goto done;
        }
        if (!scalars_ok(c, sc.buf, n)) {
            raise_status(RS_ERR_VALUE);
            goto done;
        }
    }
    if (mode != 0 && mode != 1) {
        rs_raise(RS_ERR_VALUE, "mode must be 0 or 1");
        goto done;
    }
    items = calloc(n ? n : 1, sizeof *items);
    xy = malloc(64 * (n ? n : 1));
    xy2 = malloc(64 * (n ? n : 1));
    proj = malloc(sizeof(ec_proj) * (n ? n : 1));
    tmp = malloc(sizeof(ec_fe) * (n ? n : 1));
    ctx = EVP_MD_CTX_new();
    if (items == NULL || xy == NULL || xy2 == NULL || proj == NULL || tmp == NULL || ctx == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        PyObject *it = PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i);
        if (!PyBytes_Check(it)) {
            rs_raise(RS_ERR_TYPE, "messages must be bytes");
            goto done;
        }
        Py_INCREF(it);
        items[i] = it;
    }
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(33 * n));
    if (res == NULL)
        goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(res);
    const uint8_t *scal = have_sc ? sc.buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < n && status == RS_OK; i++)
        status = rs_ec_hash_to_curve(c, ctx, (const uint8_t *)PyBytes_AS_STRING(items[i]), (size_t)PyBytes_GET_SIZE(items[i]),
                               dst.buf, (size_t)dst.len, &proj[i]);
    if (status == RS_OK && !rs_ec_batch_to_xy(c, xy, proj, n, tmp)) {
        status = RS_ERR_VALUE; /* hash_to_curve hit the point at infinity (probability ~2^-256) */
        h2c_infinity = 1;
    }
    if (status == RS_OK && scal != NULL) {
        if (mode == 0) {
            status = c->backend->mul_each(c, scal, n, xy, xy2);
        } else {
            if (c->backend->mul_base_batch != NULL)
                status = c->backend->mul_base_batch(c, scal, n, xy2);
            else
                for (size_t i = 0; i < n && status == RS_OK; i++)
                    status = c->backend->mul_base(c, scal + 32 * i, xy2 + 64 * i);
            if (status == RS_OK)
                status = add_points(c, n, xy, xy2, +1, xy2);
        }
        if (status == RS_OK)
            encode_points(xy2, n, out);
    } else if (status == RS_OK) {
        encode_points(xy, n, out);
    }
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        Py_CLEAR(res);
        if (h2c_infinity)
            rs_raise(RS_ERR_VALUE, "InvalidInputError: an input hashes to the identity element");
        else
            raise_status(status);
    }
done:
    if (items != NULL) {
        for (size_t i = 0; i < n; i++)
            Py_XDECREF(items[i]);
        free(items);
    }
    if (xy != NULL) {
        rs_secure_zero(xy, 64 * (n ? n : 1));
        free(xy);
    }
    if (xy2 != NULL) {
        rs_secure_zero(xy2, 64 * (n ? n : 1));
        free(xy2);
    }
    if (proj != NULL) {
        rs_secure_zero(proj, sizeof(ec_proj) * (n ? n : 1));
        free(proj);
    }
    if (tmp != NULL) {
        rs_secure_zero(tmp, sizeof(ec_fe) * (n ? n : 1));
        free(tmp);
    }
    EVP_MD_CTX_free(ctx);
    Py_XDECREF(seq);
    if (have_sc)
        PyBuffer_Release(&sc);
    PyBuffer_Release(&dst);
    return res;
}

/* ec_decode(curve, points) -> concatenated x || y (64 bytes each), after full validation. */
static PyObject *py_ec_decode(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer pb;
    if (!PyArg_ParseTuple(args, "iy*:ec_decode", &id, &pb))
        return NULL;
    PyObject *res = NULL;
    size_t n;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(pb.len, 33, &n))
        goto done;
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(64 * n));
    if (res == NULL)
        goto done;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = decode_points(c, pb.buf, n, (uint8_t *)PyBytes_AS_STRING(res));
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        Py_CLEAR(res);
        raise_status(status);
    }
done:
    PyBuffer_Release(&pb);
    return res;
}

/* ec_encode(curve, xy) -> compressed points, checking that each x || y is on the curve. */
static PyObject *py_ec_encode(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer pb;
    if (!PyArg_ParseTuple(args, "iy*:ec_encode", &id, &pb))
        return NULL;
    PyObject *res = NULL;
    size_t n;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(pb.len, 64, &n))
        goto done;
    for (size_t i = 0; i < n; i++) {
        ec_proj p;
        if (xy_to_proj(c, &p, (const uint8_t *)pb.buf + 64 * i) != RS_OK) {
            raise_status(RS_ERR_POINT);
            goto done;
        }
    }
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(33 * n));
    if (res != NULL)
        encode_points(pb.buf, n, (uint8_t *)PyBytes_AS_STRING(res));
done:
    PyBuffer_Release(&pb);
    return res;
}

/* ec_mul(curve, k, points) -> k * points[i]: one secret scalar, many points. */
static PyObject *py_ec_mul(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer kb, pb;
    if (!PyArg_ParseTuple(args, "iy*y*:ec_mul", &id, &kb, &pb))
        return NULL;
    PyObject *res = NULL;
    uint8_t *xy = NULL;
    size_t n = 0;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(pb.len, 33, &n))
        goto done;
    if (kb.len != 32 || !scalar_ok(c, kb.buf)) {
        raise_status(RS_ERR_VALUE);
        goto done;
    }
    xy = malloc(64 * (n ? n : 1));
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(33 * n));
    if (xy == NULL || res == NULL) {
        Py_CLEAR(res);
        PyErr_NoMemory();
        goto done;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = decode_points(c, pb.buf, n, xy);
    if (status == RS_OK && n)
        status = c->backend->mul_batch(c, kb.buf, n, xy, xy);
    if (status == RS_OK)
        encode_points(xy, n, (uint8_t *)PyBytes_AS_STRING(res));
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        Py_CLEAR(res);
        raise_status(status);
    }
done:
    free(xy);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&pb);
    return res;
}

/* ec_mul_each(curve, scalars, points, invert) -> k[i] * points[i] (k[i]^-1 if invert). */
static PyObject *py_ec_mul_each(PyObject *self, PyObject *args)
{
    (void)self;
    int id, invert;
    Py_buffer kb, pb;
    if (!PyArg_ParseTuple(args, "iy*y*p:ec_mul_each", &id, &kb, &pb, &invert))
        return NULL;
    PyObject *res = NULL;
    uint8_t *xy = NULL, *ks = NULL;
    size_t n = 0;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(pb.len, 33, &n))
        goto done;
    if ((size_t)kb.len != 32 * n || !scalars_ok(c, kb.buf, n)) {
        raise_status(RS_ERR_VALUE);
        goto done;
    }
    xy = malloc(64 * (n ? n : 1));
    ks = malloc(32 * (n ? n : 1));
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(33 * n));
    if (xy == NULL || ks == NULL || res == NULL) {
        Py_CLEAR(res);
        PyErr_NoMemory();
        goto done;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < n; i++) {
        ec_fe t;
        ec_fe_from_bytes(&c->fn, &t, (const uint8_t *)kb.buf + 32 * i);
        if (invert)
            ec_fe_inv(&c->fn, &t, &t);
        ec_fe_to_bytes(&c->fn, ks + 32 * i, &t);
        rs_secure_zero(&t, sizeof t);
    }
    status = decode_points(c, pb.buf, n, xy);
    if (status == RS_OK && n)
        status = c->backend->mul_each(c, ks, n, xy, xy);
    if (status == RS_OK)
        encode_points(xy, n, (uint8_t *)PyBytes_AS_STRING(res));
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        Py_CLEAR(res);
        raise_status(status);
    }
done:
    free(xy);
    if (ks != NULL) {
        rs_secure_zero(ks, 32 * (n ? n : 1));
        free(ks);
    }
    PyBuffer_Release(&kb);
    PyBuffer_Release(&pb);
    return res;
}

static PyObject *py_ec_mul_base(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer kb;
    if (!PyArg_ParseTuple(args, "iy*:ec_mul_base", &id, &kb))
        return NULL;
    PyObject *res = NULL;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL)
        goto done;
    if (kb.len != 32 || !scalar_ok(c, kb.buf)) {
        raise_status(RS_ERR_VALUE);
        goto done;
    }
    uint8_t xy[64], out[33];
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = c->backend->mul_base(c, kb.buf, xy);
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        raise_status(status);
        goto done;
    }
    encode_point(xy, out);
    res = PyBytes_FromStringAndSize((const char *)out, 33);
done:
    PyBuffer_Release(&kb);
    return res;
}

/* ec_msm(curve, g | None, scalars, points) -> g * G + sum scalars[i] * points[i]; public
 * scalars only (variable time). InvalidPoint if the sum is the point at infinity. */
static PyObject *py_ec_msm(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    PyObject *gobj;
    Py_buffer kb, pb, gb = {0};
    if (!PyArg_ParseTuple(args, "iOy*y*:ec_msm", &id, &gobj, &kb, &pb))
        return NULL;
    PyObject *res = NULL;
    uint8_t *xy = NULL;
    int have_g = 0;
    size_t n = 0;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(pb.len, 33, &n))
        goto done;
    if (gobj != Py_None) {
        if (PyObject_GetBuffer(gobj, &gb, PyBUF_SIMPLE) < 0)
            goto done;
        have_g = 1;
        if (gb.len != 32) {
            rs_raise(RS_ERR_VALUE, "scalar must be 32 bytes");
            goto done;
        }
    }
    if ((size_t)kb.len != 32 * n) {
        rs_raise(RS_ERR_VALUE, "need one 32-byte scalar per point");
        goto done;
    }
    xy = malloc(64 * (n ? n : 1));
    if (xy == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    uint8_t r[64], out[33];
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = decode_points(c, pb.buf, n, xy);
    if (status == RS_OK)
        status = curve_msm(c, have_g ? gb.buf : NULL, n, kb.buf, xy, r);
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        raise_status(status);
        goto done;
    }
    encode_point(r, out);
    res = PyBytes_FromStringAndSize((const char *)out, 33);
done:
    free(xy);
    if (have_g)
        PyBuffer_Release(&gb);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&pb);
    return res;
}

/* ec_add(curve, a, b, subtract) -> a[i] + b[i] (or a[i] - b[i]); InvalidPoint at infinity. */
static PyObject *py_ec_add(PyObject *self, PyObject *args)
{
    (void)self;
    int id, sub;
    Py_buffer ab, bb;
    if (!PyArg_ParseTuple(args, "iy*y*p:ec_add", &id, &ab, &bb, &sub))
        return NULL;
    PyObject *res = NULL;
    uint8_t *xa = NULL, *xb = NULL;
    size_t n = 0, m = 0;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(ab.len, 33, &n) || !batch_count(bb.len, 33, &m))
        goto done;
    if (n != m) {
        rs_raise(RS_ERR_VALUE, "point batches differ in length");
        goto done;
    }
    xa = malloc(64 * (n ? n : 1));
    xb = malloc(64 * (n ? n : 1));
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(33 * n));
    if (xa == NULL || xb == NULL || res == NULL) {
        Py_CLEAR(res);
        PyErr_NoMemory();
        goto done;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = decode_points(c, ab.buf, n, xa);
    if (status == RS_OK)
        status = decode_points(c, bb.buf, n, xb);
    if (status == RS_OK)
        status = add_points(c, n, xa, xb, sub ? -1 : +1, xa);
    if (status == RS_OK)
        encode_points(xa, n, (uint8_t *)PyBytes_AS_STRING(res));
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        Py_CLEAR(res);
        raise_status(status);
    }
done:
    free(xa);
    free(xb);
    PyBuffer_Release(&ab);
    PyBuffer_Release(&bb);
    return res;
}

/* ec_server_eval(curve, k, blinded, seed | None, dst) -> (Z batch, M | None, k*M | None):
 * the VOPRF server's batch: Z[i] = k * B[i], and for the proof the composite M = sum d[i] * B[i]
 * (d[i] from the composite transcript of (B[i], Z[i])) and k * M (ComputeCompositesFast). */
static PyObject *py_ec_server_eval(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    PyObject *seed_obj;
    Py_buffer kb, pb, dst, sb = {0};
    if (!PyArg_ParseTuple(args, "iy*y*Oy*:ec_server_eval", &id, &kb, &pb, &seed_obj, &dst))
        return NULL;
    PyObject *res = NULL, *zs = NULL;
    uint8_t *xy = NULL, *zxy = NULL, *d = NULL;
    EVP_MD_CTX *ctx = NULL;
    int have_seed = 0;
    size_t n = 0;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(pb.len, 33, &n))
        goto done;
    if (seed_obj != Py_None) {
        if (PyObject_GetBuffer(seed_obj, &sb, PyBUF_SIMPLE) < 0)
            goto done;
        have_seed = 1;
        if (sb.len > 64) {
            rs_raise(RS_ERR_VALUE, "seed too long");
            goto done;
        }
    }
    if (n == 0) {
        rs_raise(RS_ERR_VALUE, "empty batch");
        goto done;
    }
    if (kb.len != 32 || !scalar_ok(c, kb.buf)) {
        raise_status(RS_ERR_VALUE);
        goto done;
    }
    xy = malloc(64 * n);
    zxy = malloc(64 * n);
    d = malloc(32 * n);
    ctx = EVP_MD_CTX_new();
    zs = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(33 * n));
    if (xy == NULL || zxy == NULL || d == NULL || ctx == NULL || zs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    uint8_t *zout = (uint8_t *)PyBytes_AS_STRING(zs);
    uint8_t mxy[64], kmxy[64], menc[33], kmenc[33];
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = decode_points(c, pb.buf, n, xy);
    if (status == RS_OK)
        status = c->backend->mul_batch(c, kb.buf, n, xy, zxy);
    if (status == RS_OK)
        encode_points(zxy, n, zout);
    if (status == RS_OK && have_seed) {
        status = composite_scalars(c, ctx, sb.buf, (size_t)sb.len, pb.buf, zout, n, dst.buf, (size_t)dst.len, d);
        if (status == RS_OK)
            status = curve_msm(c, NULL, n, d, xy, mxy);
        if (status == RS_OK)
            status = c->backend->mul_batch(c, kb.buf, 1, mxy, kmxy);
        if (status == RS_OK) {
            encode_point(mxy, menc);
            encode_point(kmxy, kmenc);
        }
    }
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        raise_status(status);
        goto done;
    }
    if (have_seed)
        res = Py_BuildValue("(Oy#y#)", zs, menc, (Py_ssize_t)33, kmenc, (Py_ssize_t)33);
    else
        res = Py_BuildValue("(OOO)", zs, Py_None, Py_None);
done:
    Py_XDECREF(zs);
    free(xy);
    free(zxy);
    free(d);
    EVP_MD_CTX_free(ctx);
    if (have_seed)
        PyBuffer_Release(&sb);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&pb);
    PyBuffer_Release(&dst);
    return res;
}

/* ec_composites(curve, seed, C, D, dst) -> (M, Z): ComputeComposites of RFC 9497 (the verifier's
 * side, public inputs). */
static PyObject *py_ec_composites(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer sb, cb, db, dst;
    if (!PyArg_ParseTuple(args, "iy*y*y*y*:ec_composites", &id, &sb, &cb, &db, &dst))
        return NULL;
    PyObject *res = NULL;
    uint8_t *cxy = NULL, *dxy = NULL, *d = NULL;
    EVP_MD_CTX *ctx = NULL;
    size_t n = 0, m = 0;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(cb.len, 33, &n) || !batch_count(db.len, 33, &m))
        goto done;
    if (n != m || n == 0 || sb.len > 64) {
        rs_raise(RS_ERR_VALUE, "composite inputs differ in length, are empty, or the seed is too long");
        goto done;
    }
    cxy = malloc(64 * n);
    dxy = malloc(64 * n);
    d = malloc(32 * n);
    ctx = EVP_MD_CTX_new();
    if (cxy == NULL || dxy == NULL || d == NULL || ctx == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    uint8_t mxy[64], zxy[64], menc[33], zenc[33];
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = decode_points(c, cb.buf, n, cxy);
    if (status == RS_OK)
        status = decode_points(c, db.buf, n, dxy);
    if (status == RS_OK)
        status = composite_scalars(c, ctx, sb.buf, (size_t)sb.len, cb.buf, db.buf, n, dst.buf, (size_t)dst.len, d);
    if (status == RS_OK)
        status = curve_msm(c, NULL, n, d, cxy, mxy);
    if (status == RS_OK)
        status = curve_msm(c, NULL, n, d, dxy, zxy);
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        raise_status(status);
        goto done;
    }
    encode_point(mxy, menc);
    encode_point(zxy, zenc);
    res = Py_BuildValue("(y#y#)", menc, (Py_ssize_t)33, zenc, (Py_ssize_t)33);
done:
    free(cxy);
    free(dxy);
    free(d);
    EVP_MD_CTX_free(ctx);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&db);
    PyBuffer_Release(&dst);
    return res;
}

/* ec_client_unblind(curve, z1, z2 | None, r, K | None) -> N batch:
 * multiplicative blinding: N[i] = r[i]^-1 * (Z1[i] + Z2[i]);
 * additive blinding (K given): N[i] = Z1[i] + Z2[i] - r[i] * K. */
static PyObject *py_ec_client_unblind(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    PyObject *z2obj, *kobj;
    Py_buffer z1b, rb, z2b = {0}, kb = {0};
    if (!PyArg_ParseTuple(args, "iy*Oy*O:ec_client_unblind", &id, &z1b, &z2obj, &rb, &kobj))
        return NULL;
    PyObject *res = NULL;
    uint8_t *s = NULL, *t = NULL, *ks = NULL;
    int have_z2 = 0, have_k = 0;
    size_t n = 0, m = 0;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(z1b.len, 33, &n))
        goto done;
    if (z2obj != Py_None) {
        if (PyObject_GetBuffer(z2obj, &z2b, PyBUF_SIMPLE) < 0)
            goto done;
        have_z2 = 1;
        if (!batch_count(z2b.len, 33, &m))
            goto done;
        if (m != n) {
            rs_raise(RS_ERR_VALUE, "the two servers' batches differ in length");
            goto done;
        }
    }
    if (kobj != Py_None) {
        if (PyObject_GetBuffer(kobj, &kb, PyBUF_SIMPLE) < 0)
            goto done;
        have_k = 1;
        if (kb.len != 33) {
            rs_raise(RS_ERR_POINT, "public key must be a 33-byte point");
            goto done;
        }
    }
    if ((size_t)rb.len != 32 * n || !scalars_ok(c, rb.buf, n)) {
        raise_status(RS_ERR_VALUE);
        goto done;
    }
    s = malloc(64 * (n ? n : 1));
    t = malloc(64 * (n ? n : 1));
    ks = malloc(32 * (n ? n : 1));
    res = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(33 * n));
    if (s == NULL || t == NULL || ks == NULL || res == NULL) {
        Py_CLEAR(res);
        PyErr_NoMemory();
        goto done;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = decode_points(c, z1b.buf, n, s);
    if (status == RS_OK && have_z2) {
        status = decode_points(c, z2b.buf, n, t);
        if (status == RS_OK)
            status = add_points(c, n, s, t, +1, s);
    }
    if (status == RS_OK && n) {
        if (have_k) {
            status = decode_point(c, kb.buf, t);
            for (size_t i = 1; i < n && status == RS_OK; i++)
                memcpy(t + 64 * i, t, 64);
            if (status == RS_OK)
                status = c->backend->mul_each(c, rb.buf, n, t, t);
            if (status == RS_OK)
                status = add_points(c, n, s, t, -1, s);
        } else {
            for (size_t i = 0; i < n; i++) {
                ec_fe x;
                ec_fe_from_bytes(&c->fn, &x, (const uint8_t *)rb.buf + 32 * i);
                ec_fe_inv(&c->fn, &x, &x);
                ec_fe_to_bytes(&c->fn, ks + 32 * i, &x);
                rs_secure_zero(&x, sizeof x);
            }
            status = c->backend->mul_each(c, ks, n, s, s);
        }
    }
    if (status == RS_OK)
        encode_points(s, n, (uint8_t *)PyBytes_AS_STRING(res));
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        Py_CLEAR(res);
        raise_status(status);
    }
done:
    if (s != NULL) {
        rs_secure_zero(s, 64 * (n ? n : 1));
        free(s);
    }
    if (t != NULL) {
        rs_secure_zero(t, 64 * (n ? n : 1));
        free(t);
    }
    if (ks != NULL) {
        rs_secure_zero(ks, 32 * (n ? n : 1));
        free(ks);
    }
    if (have_z2)
        PyBuffer_Release(&z2b);
    if (have_k)
        PyBuffer_Release(&kb);
    PyBuffer_Release(&z1b);
    PyBuffer_Release(&rb);
    return res;
}

/* ---- fixed-base tables (additive blinding: r * K) ------------------------------------------- */

#define FIXED_CAPSULE "mpc._native.ec_fixed_base"

typedef struct {
    const rs_ec_curve *curve;
    const rs_ec_backend *backend; /* the backend that built the table (ec_set_backend may switch) */
    void *table;
} ec_fixed;

static void fixed_destroy(PyObject *cap)
{
    ec_fixed *f = PyCapsule_GetPointer(cap, FIXED_CAPSULE);
    if (f != NULL) {
        if (f->table != NULL && f->backend->fixed_free != NULL)
            f->backend->fixed_free(f->table);
        free(f);
    }
}

/* ec_fixed_base(curve, K) -> a table object for K, or None when the backend has no tables. */
static PyObject *py_ec_fixed_base(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer pb;
    if (!PyArg_ParseTuple(args, "iy*:ec_fixed_base", &id, &pb))
        return NULL;
    PyObject *res = NULL;
    const rs_ec_curve *c = get_curve(id);
    uint8_t xy[64];
    if (c == NULL)
        goto done;
    if (pb.len != 33 || decode_point(c, pb.buf, xy) != RS_OK) {
        raise_status(RS_ERR_POINT);
        goto done;
    }
    const rs_ec_backend *be = c->backend;
    if (be->fixed_new == NULL) {
        res = Py_NewRef(Py_None);
        goto done;
    }
    void *table;
    Py_BEGIN_ALLOW_THREADS
    table = be->fixed_new(c, xy);
    Py_END_ALLOW_THREADS
    if (table == NULL) {
        res = Py_NewRef(Py_None);
        goto done;
    }
    ec_fixed *f = malloc(sizeof *f);
    if (f == NULL) {
        be->fixed_free(table);
        PyErr_NoMemory();
        goto done;
    }
    f->curve = c;
    f->backend = be;
    f->table = table;
    res = PyCapsule_New(f, FIXED_CAPSULE, fixed_destroy);
    if (res == NULL) {
        be->fixed_free(table);
        free(f);
    }
done:
    PyBuffer_Release(&pb);
    return res;
}

/* ec_client_finalize2(curve, C, Z1, Z2, seed1, seed2, dst, r, K | None) -> (M1, Zc1, M2, Zc2, N):
 * the two-server client's finalize in one pass over the batch, each element decoded once: the
 * composites of both servers' proofs (C = blinded, D = Z_i) and the unblinded elements
 * N[i] = r[i]^-1 (Z1[i] + Z2[i]), or Z1[i] + Z2[i] - r[i] * K with additive blinding. The caller
 * releases N only after both proofs verify. */
static PyObject *py_ec_client_finalize2(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    PyObject *kobj;
    Py_buffer cb, z1b, z2b, s1b, s2b, dst, rb, kb = {0};
    PyObject *tobj = Py_None;
    if (!PyArg_ParseTuple(args, "iy*y*y*y*y*y*y*O|O:ec_client_finalize2", &id, &cb, &z1b, &z2b, &s1b, &s2b, &dst, &rb,
                          &kobj, &tobj))
        return NULL;
    ec_fixed *fixed = NULL;
    PyObject *res = NULL, *nout = NULL;
    uint8_t *cxy = NULL, *z1 = NULL, *z2 = NULL, *d = NULL, *t = NULL, *ks = NULL;
    EVP_MD_CTX *ctx = NULL;
    int have_k = 0;
    size_t n = 0, n1 = 0, n2 = 0;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL || !batch_count(cb.len, 33, &n) || !batch_count(z1b.len, 33, &n1) || !batch_count(z2b.len, 33, &n2))
        goto done;
    if (n == 0 || n1 != n || n2 != n || s1b.len > 64 || s2b.len > 64) {
        rs_raise(RS_ERR_VALUE, "batches differ in length, are empty, or a seed is too long");
        goto done;
    }
    if (kobj != Py_None) {
        if (PyObject_GetBuffer(kobj, &kb, PyBUF_SIMPLE) < 0)
            goto done;
        have_k = 1;
        if (kb.len != 33) {
            rs_raise(RS_ERR_POINT, "public key must be a 33-byte point");
            goto done;
        }
    }
    if (tobj != Py_None) {
        fixed = PyCapsule_GetPointer(tobj, FIXED_CAPSULE);
        if (fixed == NULL)
            goto done;
        if (fixed->curve != c || !have_k) {
            rs_raise(RS_ERR_VALUE, "fixed-base table belongs to another curve or is given without K");
            goto done;
        }
    }
    if ((size_t)rb.len != 32 * n || !scalars_ok(c, rb.buf, n)) {
        raise_status(RS_ERR_VALUE);
        goto done;
    }
    cxy = malloc(64 * n);
    z1 = malloc(64 * n);
    z2 = malloc(64 * n);
    t = malloc(64 * n);
    d = malloc(32 * n);
    ks = malloc(32 * n);
    ctx = EVP_MD_CTX_new();
    nout = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(33 * n));
    if (cxy == NULL || z1 == NULL || z2 == NULL || t == NULL || d == NULL || ks == NULL || ctx == NULL || nout == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    uint8_t outs[4][64], enc[4][33];
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = decode_points(c, cb.buf, n, cxy);
    if (status == RS_OK)
        status = decode_points(c, z1b.buf, n, z1);
    if (status == RS_OK)
        status = decode_points(c, z2b.buf, n, z2);
    const Py_buffer *seeds[2] = {&s1b, &s2b};
    const Py_buffer *zs[2] = {&z1b, &z2b};
    uint8_t *zxy[2] = {z1, z2};
    for (int j = 0; j < 2 && status == RS_OK; j++) {
        status = composite_scalars(c, ctx, seeds[j]->buf, (size_t)seeds[j]->len, cb.buf, zs[j]->buf, n, dst.buf,
                                   (size_t)dst.len, d);
        if (status == RS_OK)
            status = curve_msm(c, NULL, n, d, cxy, outs[2 * j]);
        if (status == RS_OK)
            status = curve_msm(c, NULL, n, d, zxy[j], outs[2 * j + 1]);
    }
    if (status == RS_OK)
        status = add_points(c, n, z1, z2, +1, z1);
    if (status == RS_OK) {
        if (have_k && fixed != NULL && fixed->backend == c->backend) {
            /* the table was built from K by ec_fixed_base; the caller passes the same K */
            status = c->backend->fixed_mul(c, fixed->table, rb.buf, n, t);
            if (status == RS_OK)
                status = add_points(c, n, z1, t, -1, z1);
        } else if (have_k) {
            status = decode_point(c, kb.buf, t);
            for (size_t i = 1; i < n && status == RS_OK; i++)
                memcpy(t + 64 * i, t, 64);
            if (status == RS_OK)
                status = c->backend->mul_each(c, rb.buf, n, t, t);
            if (status == RS_OK)
                status = add_points(c, n, z1, t, -1, z1);
        } else {
            for (size_t i = 0; i < n; i++) {
                ec_fe x;
                ec_fe_from_bytes(&c->fn, &x, (const uint8_t *)rb.buf + 32 * i);
                ec_fe_inv(&c->fn, &x, &x);
                ec_fe_to_bytes(&c->fn, ks + 32 * i, &x);
                rs_secure_zero(&x, sizeof x);
            }
            status = c->backend->mul_each(c, ks, n, z1, z1);
        }
    }
    if (status == RS_OK) {
        encode_points(z1, n, (uint8_t *)PyBytes_AS_STRING(nout));
        for (int j = 0; j < 4; j++)
            encode_point(outs[j], enc[j]);
    }
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        raise_status(status);
        goto done;
    }
    res = Py_BuildValue("(y#y#y#y#O)", enc[0], (Py_ssize_t)33, enc[1], (Py_ssize_t)33, enc[2], (Py_ssize_t)33, enc[3],
                        (Py_ssize_t)33, nout);
done:
    Py_XDECREF(nout);
    free(cxy);
    if (z1 != NULL) {
        rs_secure_zero(z1, 64 * n);
        free(z1);
    }
    free(z2);
    if (t != NULL) {
        rs_secure_zero(t, 64 * n);
        free(t);
    }
    free(d);
    if (ks != NULL) {
        rs_secure_zero(ks, 32 * n);
        free(ks);
    }
    EVP_MD_CTX_free(ctx);
    if (have_k)
        PyBuffer_Release(&kb);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&z1b);
    PyBuffer_Release(&z2b);
    PyBuffer_Release(&s1b);
    PyBuffer_Release(&s2b);
    PyBuffer_Release(&dst);
    PyBuffer_Release(&rb);
    return res;
}

/* ec_scalar(curve, op, a, b, c): constant-time arithmetic mod n on canonical 32-byte scalars.
 * op 0: a * b + c; op 1: a^-1 (a != 0); op 2: -a. */
static PyObject *py_ec_scalar(PyObject *self, PyObject *args)
{
    (void)self;
    int id, op;
    Py_buffer ab, bb, cb;
    if (!PyArg_ParseTuple(args, "iiy*y*y*:ec_scalar", &id, &op, &ab, &bb, &cb))
        return NULL;
    PyObject *res = NULL;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL)
        goto done;
    if (ab.len != 32 || bb.len != 32 || cb.len != 32) {
        rs_raise(RS_ERR_VALUE, "scalars must be 32 bytes");
        goto done;
    }
    ec_fe a, b, s;
    uint64_t ok = ec_fe_from_bytes(&c->fn, &a, ab.buf) & ec_fe_from_bytes(&c->fn, &b, bb.buf) &
                  ec_fe_from_bytes(&c->fn, &s, cb.buf);
    if (op == 0) {
        ec_fe_mul(&c->fn, &a, &a, &b);
        ec_fe_add(&c->fn, &a, &a, &s);
    } else if (op == 1) {
        ok &= ~ec_fe_is_zero(&a);
        ec_fe_inv(&c->fn, &a, &a);
    } else if (op == 2) {
        ec_fe_neg(&c->fn, &a, &a);
    } else {
        rs_raise(RS_ERR_VALUE, "unknown scalar operation");
        goto done;
    }
    if (!ok) {
        rs_raise(RS_ERR_VALUE, "scalar out of range (or zero where a nonzero scalar is needed)");
        goto done;
    }
    uint8_t out[32];
    ec_fe_to_bytes(&c->fn, out, &a);
    res = PyBytes_FromStringAndSize((const char *)out, 32);
    rs_secure_zero(out, sizeof out);
    rs_secure_zero(&a, sizeof a);
    rs_secure_zero(&b, sizeof b);
    rs_secure_zero(&s, sizeof s);
done:
    PyBuffer_Release(&ab);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&cb);
    return res;
}

/* ec_bench_mul(curve, k, point, iterations): the bare k*P reference for the benchmark, a C loop
 * over EC_POINT_mul on an already decoded point (no encoding, no Python per operation). */
static PyObject *py_ec_bench_mul(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer kb, pb;
    Py_ssize_t iters;
    if (!PyArg_ParseTuple(args, "iy*y*n:ec_bench_mul", &id, &kb, &pb, &iters))
        return NULL;
    PyObject *res = NULL;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL)
        goto done;
    if (kb.len != 32 || pb.len != 33 || iters < 0) {
        rs_raise(RS_ERR_VALUE, "bad benchmark arguments");
        goto done;
    }
    uint8_t xy[64];
    if (decode_point(c, pb.buf, xy) != RS_OK) {
        raise_status(RS_ERR_POINT);
        goto done;
    }
    int ok = 0;
    Py_BEGIN_ALLOW_THREADS
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *p = EC_POINT_new(c->group), *r = EC_POINT_new(c->group);
    BIGNUM *x = BN_bin2bn(xy, 32, NULL), *y = BN_bin2bn(xy + 32, 32, NULL), *k = BN_bin2bn(kb.buf, 32, NULL);
    if (ctx && p && r && x && y && k && EC_POINT_set_affine_coordinates(c->group, p, x, y, ctx) == 1) {
        BN_set_flags(k, BN_FLG_CONSTTIME);
        ok = 1;
        for (Py_ssize_t i = 0; i < iters && ok; i++)
            ok = EC_POINT_mul(c->group, r, NULL, p, k, ctx) == 1;
    }
    BN_free(x);
    BN_free(y);
    BN_clear_free(k);
    EC_POINT_free(p);
    EC_POINT_free(r);
    BN_CTX_free(ctx);
    Py_END_ALLOW_THREADS
    if (!ok) {
        rs_raise_openssl("EC_POINT_mul");
        goto done;
    }
    res = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&kb);
    PyBuffer_Release(&pb);
    return res;
}

/* ec_backend(curve) -> "openssl" | "sm2core"; ec_set_backend(curve, name) switches (tests and the
 * benchmark cross-check the two). */
static PyObject *py_ec_backend(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    if (!PyArg_ParseTuple(args, "i:ec_backend", &id))
        return NULL;
    const rs_ec_curve *c = get_curve(id);
    if (c == NULL)
        return NULL;
    return PyUnicode_FromString(c->backend == &rs_ec_openssl_backend ? "openssl" : "sm2core");
}

static PyObject *py_ec_set_backend(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    const char *name;
    if (!PyArg_ParseTuple(args, "is:ec_set_backend", &id, &name))
        return NULL;
    if (get_curve(id) == NULL)
        return NULL;
    if (strcmp(name, "openssl") == 0) {
        curves[id].backend = &rs_ec_openssl_backend;
        curves[id].generic_msm = id == EC_CURVE_SM2 ? EC_MSM_GENERIC : EC_MSM_AFFINE;
    } else if (strcmp(name, "sm2core") == 0 && id == EC_CURVE_SM2 && rs_ec_sm2core_backend != NULL) {
        curves[id].backend = rs_ec_sm2core_backend;
        curves[id].generic_msm = EC_MSM_BACKEND;
    } else {
        return rs_raise(RS_ERR_VALUE, "backend not available for this curve");
    }
    Py_RETURN_NONE;
}

/* ec_bench_backend_mul(curve, k, point, iterations): k*P through the curve's backend in a C loop
 * (the bare rate of whichever core serves the curve). */
static PyObject *py_ec_bench_backend_mul(PyObject *self, PyObject *args)
{
    (void)self;
    int id;
    Py_buffer kb, pb;
    Py_ssize_t iters;
    if (!PyArg_ParseTuple(args, "iy*y*n:ec_bench_backend_mul", &id, &kb, &pb, &iters))
        return NULL;
    PyObject *res = NULL;
    const rs_ec_curve *c = get_curve(id);
    uint8_t xy[64], out[64];
    if (c == NULL)
        goto done;
    if (kb.len != 32 || pb.len != 33 || iters < 0 || !scalar_ok(c, kb.buf)) {
        rs_raise(RS_ERR_VALUE, "bad benchmark arguments");
        goto done;
    }
    if (decode_point(c, pb.buf, xy) != RS_OK) {
        raise_status(RS_ERR_POINT);
        goto done;
    }
    int status = RS_OK;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < iters && status == RS_OK; i++)
        status = c->backend->mul_each(c, kb.buf, 1, xy, out);
    Py_END_ALLOW_THREADS
    if (status != RS_OK) {
        raise_status(status);
        goto done;
    }
    res = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&kb);
    PyBuffer_Release(&pb);
    return res;
}

/* ec_set_generic_msm(curve, mode) -> previous mode: the MSM used for public inputs (tests and
 * benchmark): 0 the backend's, 1 Pippenger with Jacobian buckets on ec_field.c, 2 Pippenger with
 * affine buckets from AFF_MIN terms on (the backend's below). */
static PyObject *py_ec_set_generic_msm(PyObject *self, PyObject *args)
{
    (void)self;
    int id, mode;
    if (!PyArg_ParseTuple(args, "ii:ec_set_generic_msm", &id, &mode))
        return NULL;
    if (get_curve(id) == NULL)
        return NULL;
    if (mode < EC_MSM_BACKEND || mode > EC_MSM_AFFINE)
        return rs_raise(RS_ERR_VALUE, "unknown MSM mode");
    int prev = curves[id].generic_msm;
    curves[id].generic_msm = mode;
    return PyLong_FromLong(prev);
}

/* ec_set_generic_composite(curve, on) -> previous: P-256's composite scalars through EVP (the
 * expand_message_xmd of ec_h2c.c) instead of ec_xmd256.c (tests cross-check the two). */
static PyObject *py_ec_set_generic_composite(PyObject *self, PyObject *args)
{
    (void)self;
    int id, on;
    if (!PyArg_ParseTuple(args, "ip:ec_set_generic_composite", &id, &on))
        return NULL;
    if (get_curve(id) == NULL)
        return NULL;
    int prev = curves[id].generic_composite;
    curves[id].generic_composite = on;
    return PyBool_FromLong(prev);
}

PyMethodDef rs_ec_methods[] = {
    {"ec_set_generic_composite", py_ec_set_generic_composite, METH_VARARGS, NULL},
    {"ec_set_generic_msm", py_ec_set_generic_msm, METH_VARARGS, NULL},
    {"ec_backend", py_ec_backend, METH_VARARGS, NULL},
    {"ec_set_backend", py_ec_set_backend, METH_VARARGS, NULL},
    {"ec_bench_backend_mul", py_ec_bench_backend_mul, METH_VARARGS, NULL},
    {"ec_curve_params", py_ec_curve_params, METH_VARARGS, NULL},
    {"ec_expand_xmd", py_ec_expand_xmd, METH_VARARGS, NULL},
    {"ec_hash_to_field", py_ec_hash_to_field, METH_VARARGS, NULL},
    {"ec_map_to_curve", py_ec_map_to_curve, METH_VARARGS, NULL},
    {"ec_hash_to_curve", py_ec_hash_to_curve, METH_VARARGS, NULL},
    {"ec_decode", py_ec_decode, METH_VARARGS, NULL},
    {"ec_encode", py_ec_encode, METH_VARARGS, NULL},
    {"ec_mul", py_ec_mul, METH_VARARGS, NULL},
    {"ec_mul_each", py_ec_mul_each, METH_VARARGS, NULL},
    {"ec_mul_base", py_ec_mul_base, METH_VARARGS, NULL},
    {"ec_msm", py_ec_msm, METH_VARARGS, NULL},
    {"ec_add", py_ec_add, METH_VARARGS, NULL},
    {"ec_server_eval", py_ec_server_eval, METH_VARARGS, NULL},
    {"ec_composites", py_ec_composites, METH_VARARGS, NULL},
    {"ec_client_unblind", py_ec_client_unblind, METH_VARARGS, NULL},
    {"ec_client_finalize2", py_ec_client_finalize2, METH_VARARGS, NULL},
    {"ec_fixed_base", py_ec_fixed_base, METH_VARARGS, NULL},
    {"ec_scalar", py_ec_scalar, METH_VARARGS, NULL},
    {"ec_bench_mul", py_ec_bench_mul, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

int rs_ec_init(PyObject *module)
{
    /* Z: RFC 9380 8.2 gives Z = -10 for P-256; for the SM2 curve Z = -9 comes from the procedure
     * of RFC 9380 Appendix H.2 (find_z_sswu), see tests/h2c_reference.py. */
    if (!rs_ec_curve_setup(&curves[EC_CURVE_P256], EC_CURVE_P256, "P-256", NID_X9_62_prime256v1, EVP_sha256(), 10) ||
        !rs_ec_curve_setup(&curves[EC_CURVE_SM2], EC_CURVE_SM2, "SM2", NID_sm2, EVP_sm3(), 9)) {
        PyErr_SetString(PyExc_ImportError, "riskshare: EC curve set-up failed");
        return -1;
    }
    /* OpenSSL's generic EC_POINTs_mul (wNAF on BIGNUMs) is several times slower than the
     * Pippenger MSM on ec_field.c; nistz256's windowed one is on par for P-256 (benchmark). */
    curves[EC_CURVE_SM2].generic_msm = EC_MSM_GENERIC;
    /* P-256: nistz256's EC_POINTs_mul for small MSMs (proof verification), affine buckets for
     * the composites of large batches (about 2.5x faster than EC_POINTs_mul at 1,000 terms) */
    curves[EC_CURVE_P256].generic_msm = EC_MSM_AFFINE;
    /* the constant-time SM2 core replaces OpenSSL for the SM2 curve when it is in the tree; its
     * own multi-scalar multiplication (Straus on its faster field code) then beats ours at client
     * batch sizes and ties at 1,000 (measured on a build with the ec branch) */
    if (rs_ec_sm2core_backend != NULL && rs_ec_sm2core_init()) {
        curves[EC_CURVE_SM2].backend = rs_ec_sm2core_backend;
        curves[EC_CURVE_SM2].generic_msm = EC_MSM_BACKEND;
    }
    curves_ready = 1;
    if (PyModule_AddIntConstant(module, "EC_CURVE_P256", EC_CURVE_P256) < 0 ||
        PyModule_AddIntConstant(module, "EC_CURVE_SM2", EC_CURVE_SM2) < 0 ||
        PyModule_AddIntConstant(module, "EC_ELEMENT_SIZE", EC_POINT_BYTES) < 0 ||
        PyModule_AddIntConstant(module, "EC_SCALAR_SIZE", 32) < 0)
        return -1;
    return 0;
}
