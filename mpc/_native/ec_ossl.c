/* Area 'ec': the group backend on OpenSSL's EC (ec_curve.h).
 *
 * P-256 runs on libcrypto's nistz256 code (constant-time windowed k*P, precomputed k*G table);
 * the SM2 curve on OpenSSL's generic prime-field code, whose single-point k*P and k*G use a
 * constant-time Montgomery ladder. Multi-scalar multiplications with public scalars use
 * EC_POINTs_mul. Called without the GIL: every call makes its own BN_CTX. */
/* EC_POINTs_mul (the only multi-scalar multiplication libcrypto has), the Jacobian coordinate
 * accessors and EC_GROUP_precompute_mult are deprecated in OpenSSL 3.0 but present throughout 3.x. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "rs.h"
#include "ec_curve.h"

#include <openssl/bn.h>

/* x || y (validated by the caller: every point reaching the backend was decoded with the curve
 * check of ec.c) -> EC_POINT, as Jacobian (x, y, 1) without OpenSSL's second curve check. */
static int xy_to_point(const rs_ec_curve *c, EC_POINT *p, const uint8_t xy[64], BN_CTX *ctx)
{
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx);
    int ok = y != NULL && BN_bin2bn(xy, 32, x) && BN_bin2bn(xy + 32, 32, y) &&
             EC_POINT_set_Jprojective_coordinates_GFp(c->group, p, x, y, BN_value_one(), ctx) == 1;
    BN_CTX_end(ctx);
    return ok;
}

static int point_to_xy(const rs_ec_curve *c, const EC_GROUP *g, const EC_POINT *p, uint8_t xy[64], BN_CTX *ctx)
{
    (void)c;
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx);
    int ok = y != NULL && EC_POINT_get_affine_coordinates(g, p, x, y, ctx) == 1 &&
             BN_bn2binpad(x, xy, 32) == 32 && BN_bn2binpad(y, xy + 32, 32) == 32;
    BN_CTX_end(ctx);
    return ok;
}

static BIGNUM *secret_bn(const uint8_t k[32])
{
    BIGNUM *b = BN_secure_new();
    if (b == NULL)
        b = BN_new();
    if (b == NULL)
        return NULL;
    BN_set_flags(b, BN_FLG_CONSTTIME);
    if (!BN_bin2bn(k, 32, b)) {
        BN_clear_free(b);
        return NULL;
    }
    return b;
}

static void free_points(EC_POINT **pts, size_t n)
{
    if (pts == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        EC_POINT_clear_free(pts[i]);
    free(pts);
}

static EC_POINT **new_points(const rs_ec_curve *c, size_t n)
{
    EC_POINT **pts = calloc(n ? n : 1, sizeof *pts);
    if (pts == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        pts[i] = EC_POINT_new(c->group);
        if (pts[i] == NULL) {
            free_points(pts, n);
            return NULL;
        }
    }
    return pts;
}

/* Write the results out as affine x || y: their Jacobian coordinates from OpenSSL, then one
 * batched inversion on ec_field.c (OpenSSL's nistz256 inverts once per point in
 * EC_POINT_get_affine_coordinates, even after EC_POINTs_make_affine). Results are never at
 * infinity here (callers check). */
static int points_out(const rs_ec_curve *c, const EC_GROUP *g, EC_POINT **pts, size_t n, uint8_t *out, BN_CTX *ctx)
{
    const ec_mont *f = &c->fp;
    if (n < 4) {
        /* a batch of a few: one inversion each in libcrypto (nistz256's is assembly) is cheaper */
        for (size_t i = 0; i < n; i++)
            if (!point_to_xy(c, g, pts[i], out + 64 * i, ctx))
                return 0;
        return 1;
    }
    ec_fe *v = malloc(sizeof(ec_fe) * 4 * (n ? n : 1));
    uint8_t buf[32];
    int ok = v != NULL;
    BN_CTX_start(ctx);
    BIGNUM *X = BN_CTX_get(ctx), *Y = BN_CTX_get(ctx), *Z = BN_CTX_get(ctx);
    ok = ok && Z != NULL;
    /* v[4i] = X, v[4i+1] = Y, v[4i+2] = Z, v[4i+3] = prefix product */
    ec_fe acc = f->one;
    for (size_t i = 0; i < n && ok; i++) {
        ok = EC_POINT_get_Jprojective_coordinates_GFp(g, pts[i], X, Y, Z, ctx) == 1 &&
             BN_bn2binpad(X, buf, 32) == 32;
        if (ok)
            ec_fe_from_bytes(f, &v[4 * i], buf);
        ok = ok && BN_bn2binpad(Y, buf, 32) == 32;
        if (ok)
            ec_fe_from_bytes(f, &v[4 * i + 1], buf);
        ok = ok && BN_bn2binpad(Z, buf, 32) == 32;
        if (ok) {
            ec_fe_from_bytes(f, &v[4 * i + 2], buf);
            ok = !ec_fe_is_zero(&v[4 * i + 2]);
            v[4 * i + 3] = acc;
            ec_fe_mul(f, &acc, &acc, &v[4 * i + 2]);
        }
    }
    BN_CTX_end(ctx);
    if (ok) {
        ec_fe inv, zi, zi2, t;
        ec_fe_inv(f, &inv, &acc);
        for (size_t i = n; i-- > 0;) {
            ec_fe_mul(f, &zi, &inv, &v[4 * i + 3]);
            ec_fe_mul(f, &inv, &inv, &v[4 * i + 2]);
            ec_fe_sqr(f, &zi2, &zi);
            ec_fe_mul(f, &t, &v[4 * i], &zi2);
            ec_fe_to_bytes(f, out + 64 * i, &t);
            ec_fe_mul(f, &zi2, &zi2, &zi);
            ec_fe_mul(f, &t, &v[4 * i + 1], &zi2);
            ec_fe_to_bytes(f, out + 64 * i + 32, &t);
        }
    }
    if (v != NULL) {
        rs_secure_zero(v, sizeof(ec_fe) * 4 * (n ? n : 1));
        free(v);
    }
    return ok;
}

static int mul_common(const rs_ec_curve *c, const uint8_t *k, size_t kstride, size_t n, const uint8_t *in,
                      uint8_t *out)
{
    int status = RS_ERR_INTERNAL;
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT **pts = new_points(c, n);
    EC_POINT *p = EC_POINT_new(c->group);
    BIGNUM *kb = NULL;
    if (ctx == NULL || pts == NULL || p == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || kstride) {
            BN_clear_free(kb);
            kb = secret_bn(k + kstride * i);
            if (kb == NULL)
                goto done;
        }
        if (!xy_to_point(c, p, in + 64 * i, ctx)) {
            status = RS_ERR_POINT;
            goto done;
        }
        if (EC_POINT_mul(c->group, pts[i], NULL, p, kb, ctx) != 1)
            goto done;
        if (EC_POINT_is_at_infinity(c->group, pts[i])) {
            status = RS_ERR_VALUE; /* only a zero or multiple-of-n scalar gets here */
            goto done;
        }
    }
    status = points_out(c, c->group, pts, n, out, ctx) ? RS_OK : RS_ERR_INTERNAL;
done:
    BN_clear_free(kb);
    EC_POINT_free(p);
    free_points(pts, n);
    BN_CTX_free(ctx);
    return status;
}

static int ossl_mul_batch(const rs_ec_curve *c, const uint8_t k[32], size_t n, const uint8_t *in, uint8_t *out)
{
    return mul_common(c, k, 0, n, in, out);
}

static int ossl_mul_each(const rs_ec_curve *c, const uint8_t *k, size_t n, const uint8_t *in, uint8_t *out)
{
    return mul_common(c, k, 32, n, in, out);
}

static int ossl_mul_base(const rs_ec_curve *c, const uint8_t k[32], uint8_t out[64])
{
    int status = RS_ERR_INTERNAL;
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *r = EC_POINT_new(c->group);
    BIGNUM *kb = secret_bn(k);
    if (ctx == NULL || r == NULL || kb == NULL)
        goto done;
    if (EC_POINT_mul(c->group, r, kb, NULL, NULL, ctx) != 1)
        goto done;
    if (EC_POINT_is_at_infinity(c->group, r)) {
        status = RS_ERR_VALUE;
        goto done;
    }
    status = point_to_xy(c, c->group, r, out, ctx) ? RS_OK : RS_ERR_INTERNAL;
done:
    BN_clear_free(kb);
    EC_POINT_free(r);
    BN_CTX_free(ctx);
    return status;
}

static int ossl_msm(const rs_ec_curve *c, const uint8_t *g, size_t n, const uint8_t *k, const uint8_t *in,
                    uint8_t out[64])
{
    int status = RS_ERR_INTERNAL;
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT **pts = new_points(c, n);
    BIGNUM **ks = calloc(n ? n : 1, sizeof *ks);
    BIGNUM *gb = NULL;
    EC_POINT *r = EC_POINT_new(c->group);
    if (ctx == NULL || pts == NULL || ks == NULL || r == NULL)
        goto done;
    if (g != NULL && (gb = BN_bin2bn(g, 32, NULL)) == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if ((ks[i] = BN_bin2bn(k + 32 * i, 32, NULL)) == NULL)
            goto done;
        if (!xy_to_point(c, pts[i], in + 64 * i, ctx)) {
            status = RS_ERR_POINT;
            goto done;
        }
    }
    if (EC_POINTs_mul(c->group, r, gb, n, (const EC_POINT **)pts, (const BIGNUM **)ks, ctx) != 1)
        goto done;
    if (EC_POINT_is_at_infinity(c->group, r)) {
        status = RS_ERR_POINT;
        goto done;
    }
    status = point_to_xy(c, c->group, r, out, ctx) ? RS_OK : RS_ERR_INTERNAL;
done:
    if (ks != NULL) {
        for (size_t i = 0; i < n; i++)
            BN_free(ks[i]);
        free(ks);
    }
    BN_free(gb);
    EC_POINT_free(r);
    free_points(pts, n);
    BN_CTX_free(ctx);
    return status;
}

/* A fixed-base table for K: a copy of the group with K as its generator and OpenSSL's
 * precomputation. Only nistz256 (P-256) uses such a table for k * G with a constant-time lookup;
 * OpenSSL's generic code runs its ladder regardless, so the SM2 curve gets no table. */
static void *ossl_fixed_new(const rs_ec_curve *c, const uint8_t xy[64])
{
    if (c->id != EC_CURVE_P256)
        return NULL;
    BN_CTX *ctx = BN_CTX_new();
    EC_GROUP *g = EC_GROUP_dup(c->group);
    EC_POINT *k = g ? EC_POINT_new(g) : NULL;
    int ok = ctx && k && xy_to_point(c, k, xy, ctx) &&
             EC_GROUP_set_generator(g, k, EC_GROUP_get0_order(c->group), EC_GROUP_get0_cofactor(c->group)) == 1 &&
             EC_GROUP_precompute_mult(g, ctx) == 1;
    EC_POINT_free(k);
    BN_CTX_free(ctx);
    if (!ok) {
        EC_GROUP_free(g);
        return NULL;
    }
    return g;
}

static int ossl_fixed_mul(const rs_ec_curve *c, void *table, const uint8_t *k, size_t n, uint8_t *out)
{
    const EC_GROUP *g = table;
    int status = RS_ERR_INTERNAL;
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT **pts = calloc(n ? n : 1, sizeof *pts);
    BIGNUM *kb = NULL;
    if (ctx == NULL || pts == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        BN_clear_free(kb);
        kb = secret_bn(k + 32 * i);
        if (kb == NULL || (pts[i] = EC_POINT_new(g)) == NULL)
            goto done;
        if (EC_POINT_mul(g, pts[i], kb, NULL, NULL, ctx) != 1)
            goto done;
        if (EC_POINT_is_at_infinity(g, pts[i])) {
            status = RS_ERR_VALUE;
            goto done;
        }
    }
    status = points_out(c, g, pts, n, out, ctx) ? RS_OK : RS_ERR_INTERNAL;
done:
    BN_clear_free(kb);
    if (pts != NULL) {
        for (size_t i = 0; i < n; i++)
            EC_POINT_clear_free(pts[i]);
        free(pts);
    }
    BN_CTX_free(ctx);
    return status;
}

static void ossl_fixed_free(void *table)
{
    EC_GROUP_free(table);
}

const rs_ec_backend rs_ec_openssl_backend = {
    ossl_mul_batch, ossl_mul_each, ossl_mul_base, ossl_msm, ossl_fixed_new, ossl_fixed_mul, ossl_fixed_free, NULL, NULL,
};
