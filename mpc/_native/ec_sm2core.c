/* Area 'ec': the SM2 curve's group backend on the constant-time core of area `sm2core`.
 *
 * Compiled in only when that core's API header (sm2core.h) is in the tree; ec.c then switches the
 * SM2 curve to it at import (ec_set_backend can switch back to OpenSSL for cross-checks). The
 * core speaks 65-byte uncompressed points (04 || x || y); this file converts from and to the
 * x || y form of ec_curve.h. */
#include "rs.h"
#include "ec_curve.h"

#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include("sm2core.h")
#define RS_EC_HAVE_SM2CORE 1
#include "sm2core.h"
#endif
#endif

#ifdef RS_EC_HAVE_SM2CORE

static int map_err(int e)
{
    switch (e) {
    case RS_SM2C_OK:
        return RS_OK;
    case RS_SM2C_ERR_SCALAR:
        return RS_ERR_VALUE;
    case RS_SM2C_ERR_POINT:
    case RS_SM2C_ERR_INFINITY:
        return RS_ERR_POINT;
    case RS_SM2C_ERR_NOMEM:
        return RS_ERR_NOMEM;
    default:
        return RS_ERR_INTERNAL;
    }
}

static uint8_t *to65(const uint8_t *xy, size_t n)
{
    uint8_t *p = malloc(65 * (n ? n : 1));
    if (p == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        p[65 * i] = 4;
        memcpy(p + 65 * i + 1, xy + 64 * i, 64);
    }
    return p;
}

static void from65(uint8_t *xy, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy(xy + 64 * i, p + 65 * i + 1, 64);
}

static int core_mul_batch(const rs_ec_curve *c, const uint8_t k[32], size_t n, const uint8_t *in, uint8_t *out)
{
    (void)c;
    uint8_t *a = to65(in, n), *b = malloc(65 * (n ? n : 1));
    int status = RS_ERR_NOMEM;
    if (a != NULL && b != NULL) {
        status = map_err(rs_sm2c_scalar_mult_batch(b, k, a, n, NULL));
        if (status == RS_OK)
            from65(out, b, n);
    }
    free(a);
    if (b != NULL) {
        rs_secure_zero(b, 65 * (n ? n : 1));
        free(b);
    }
    return status;
}

static int core_mul_each(const rs_ec_curve *c, const uint8_t *k, size_t n, const uint8_t *in, uint8_t *out)
{
    (void)c;
    uint8_t *a = to65(in, n), r[65];
    int status = a == NULL ? RS_ERR_NOMEM : RS_OK;
    for (size_t i = 0; i < n && status == RS_OK; i++) {
        status = map_err(rs_sm2c_scalar_mult(r, k + 32 * i, a + 65 * i));
        if (status == RS_OK)
            memcpy(out + 64 * i, r + 1, 64);
    }
    rs_secure_zero(r, sizeof r);
    free(a);
    return status;
}

static int core_mul_base(const rs_ec_curve *c, const uint8_t k[32], uint8_t out[64])
{
    (void)c;
    uint8_t r[65];
    int status = map_err(rs_sm2c_scalar_base_mult(r, k));
    if (status == RS_OK)
        memcpy(out, r + 1, 64);
    rs_secure_zero(r, sizeof r);
    return status;
}

static int core_msm(const rs_ec_curve *c, const uint8_t *g, size_t n, const uint8_t *k, const uint8_t *in,
                    uint8_t out[64])
{
    (void)c;
    size_t total = n + (g != NULL);
    uint8_t *pts = malloc(65 * (total ? total : 1)), *ks = malloc(32 * (total ? total : 1)), r[65];
    int status = RS_ERR_NOMEM;
    if (pts == NULL || ks == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        pts[65 * i] = 4;
        memcpy(pts + 65 * i + 1, in + 64 * i, 64);
    }
    memcpy(ks, k, 32 * n);
    if (g != NULL) {
        static const uint8_t one[32] = {[31] = 1};
        status = map_err(rs_sm2c_scalar_base_mult(pts + 65 * n, one));
        if (status != RS_OK)
            goto done;
        memcpy(ks + 32 * n, g, 32);
    }
    status = map_err(rs_sm2c_multi_mult_vartime(r, ks, pts, total));
    if (status == RS_OK)
        memcpy(out, r + 1, 64);
done:
    free(pts);
    free(ks);
    return status;
}

static int core_decode(const rs_ec_curve *c, const uint8_t *in, size_t n, uint8_t *xy)
{
    (void)c;
    uint8_t r[65];
    for (size_t i = 0; i < n; i++) {
        if (in[33 * i] != 2 && in[33 * i] != 3)
            return RS_ERR_POINT; /* only the 33-byte compressed form is an element encoding */
        if (rs_sm2c_point_decode(r, in + 33 * i, 33) != RS_SM2C_OK)
            return RS_ERR_POINT;
        memcpy(xy + 64 * i, r + 1, 64);
    }
    return RS_OK;
}

/* Fixed-base tables: the core's constant-time odd comb of K (151 KB, built once per key epoch). */
static void *core_fixed_new(const rs_ec_curve *c, const uint8_t xy[64])
{
    (void)c;
    uint8_t p[65];
    rs_sm2c_fixed *f = NULL;
    p[0] = 4;
    memcpy(p + 1, xy, 64);
    return rs_sm2c_fixed_new(&f, p) == RS_SM2C_OK ? f : NULL;
}

static int fixed_batch(const rs_sm2c_fixed *f, const uint8_t *k, size_t n, uint8_t *out)
{
    uint8_t *b = malloc(65 * (n ? n : 1));
    if (b == NULL)
        return RS_ERR_NOMEM;
    int status = map_err(rs_sm2c_fixed_mult(f, b, k, n));
    if (status == RS_OK)
        from65(out, b, n);
    rs_secure_zero(b, 65 * (n ? n : 1));
    free(b);
    return status;
}

static int core_fixed_mul(const rs_ec_curve *c, void *table, const uint8_t *k, size_t n, uint8_t *out)
{
    (void)c;
    return fixed_batch(table, k, n, out);
}

static void core_fixed_free(void *table)
{
    rs_sm2c_fixed_free(table);
}

static int core_mul_base_batch(const rs_ec_curve *c, const uint8_t *k, size_t n, uint8_t *out)
{
    (void)c;
    return fixed_batch(NULL, k, n, out);
}

static const rs_ec_backend sm2core_backend = {
    core_mul_batch, core_mul_each,  core_mul_base,   core_msm, core_fixed_new, core_fixed_mul, core_fixed_free,
    core_decode,    core_mul_base_batch,
};

const rs_ec_backend *rs_ec_sm2core_backend = &sm2core_backend;

int rs_ec_sm2core_init(void)
{
    return rs_sm2c_init() == RS_SM2C_OK;
}

#else

const rs_ec_backend *rs_ec_sm2core_backend = NULL;

int rs_ec_sm2core_init(void)
{
    return 1;
}

#endif
