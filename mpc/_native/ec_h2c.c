/* Area 'ec': RFC 9380 hash-to-curve (expand_message_xmd, hash_to_field, simplified SWU, complete
 * addition) and curve set-up on the constant-time field code of ec_field.c. See ec_h2c.h. */
#include "rs.h"
#include "ec_h2c.h"
#include "ec_sm3.h"

#include <openssl/obj_mac.h>

#include <openssl/bn.h>
#include <string.h>

#define H2F_L 48 /* hash_to_field's L for both suites: ceil((256 + 128) / 8) */

/* ---- expand_message_xmd and hash_to_field (RFC 9380, 5.3.1 and 5.2) ------------------------- */

static int md_hash(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *a, size_t alen, const uint8_t *b,
                   size_t blen, const uint8_t *c, size_t clen, const uint8_t *d, size_t dlen, uint8_t out[32])
{
    unsigned int olen = 0;
    return EVP_DigestInit_ex(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, a, alen) == 1 &&
           EVP_DigestUpdate(ctx, b, blen) == 1 && EVP_DigestUpdate(ctx, c, clen) == 1 &&
           EVP_DigestUpdate(ctx, d, dlen) == 1 && EVP_DigestFinal_ex(ctx, out, &olen) == 1 && olen == 32;
}

/* SM3 on ec_sm3.c (no EVP call overhead; the Z_pad block precomputed when `zpad` is set). */
static void sm3_hash(int zpad, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, const uint8_t *c,
                     size_t clen, const uint8_t *d, size_t dlen, uint8_t out[32])
{
    ec_sm3 s;
    if (zpad)
        ec_sm3_init_zpad(&s);
    else
        ec_sm3_init(&s);
    ec_sm3_update(&s, a, alen);
    ec_sm3_update(&s, b, blen);
    ec_sm3_update(&s, c, clen);
    ec_sm3_update(&s, d, dlen);
    ec_sm3_final(&s, out);
    rs_secure_zero(&s, sizeof s);
}

static int xmd_sm3(const uint8_t *msg, size_t msglen, const uint8_t *dst, size_t dstlen, uint8_t *out, size_t len)
{
    static const char oversize[] = "H2C-OVERSIZE-DST-";
    uint8_t dsth[32], dst_prime[256], b0[32], bi[32], tmp[32];
    size_t ell = (len + 31) / 32;
    if (len == 0 || len > 65535 || ell > 255)
        return 0;
    if (dstlen > 255) {
        sm3_hash(0, (const uint8_t *)oversize, sizeof oversize - 1, dst, dstlen, NULL, 0, NULL, 0, dsth);
        dst = dsth;
        dstlen = 32;
    }
    memcpy(dst_prime, dst, dstlen);
    dst_prime[dstlen] = (uint8_t)dstlen;
    size_t dplen = dstlen + 1;
    uint8_t lib[3] = {(uint8_t)(len >> 8), (uint8_t)len, 0};
    sm3_hash(1, msg, msglen, lib, 3, dst_prime, dplen, NULL, 0, b0);
    uint8_t idx = 1;
    sm3_hash(0, b0, 32, &idx, 1, dst_prime, dplen, NULL, 0, bi);
    for (size_t i = 1;; i++) {
        size_t take = len - 32 * (i - 1) < 32 ? len - 32 * (i - 1) : 32;
        memcpy(out + 32 * (i - 1), bi, take);
        if (i == ell)
            break;
        for (int j = 0; j < 32; j++)
            tmp[j] = b0[j] ^ bi[j];
        idx = (uint8_t)(i + 1);
        sm3_hash(0, tmp, 32, &idx, 1, dst_prime, dplen, NULL, 0, bi);
    }
    rs_secure_zero(b0, sizeof b0);
    rs_secure_zero(bi, sizeof bi);
    rs_secure_zero(tmp, sizeof tmp);
    return 1;
}

/* Both suites' hashes have b_in_bytes = 32 and s_in_bytes = 64. */
int rs_ec_expand_xmd(const EVP_MD *md, EVP_MD_CTX *ctx, const uint8_t *msg, size_t msglen, const uint8_t *dst,
                      size_t dstlen, uint8_t *out, size_t len)
{
    if (EVP_MD_get_type(md) == NID_sm3)
        return xmd_sm3(msg, msglen, dst, dstlen, out, len);
    static const uint8_t zpad[64] = {0};
    static const char oversize[] = "H2C-OVERSIZE-DST-";
    uint8_t dsth[32], dst_prime[256], b0[32], bi[32], tmp[32];
    size_t ell = (len + 31) / 32;
    if (len == 0 || len > 65535 || ell > 255)
        return 0;
    if (dstlen > 255) {
        if (!md_hash(ctx, md, (const uint8_t *)oversize, sizeof oversize - 1, dst, dstlen, NULL, 0, NULL, 0,
                     dsth))
            return 0;
        dst = dsth;
        dstlen = 32;
    }
    memcpy(dst_prime, dst, dstlen);
    dst_prime[dstlen] = (uint8_t)dstlen;
    size_t dplen = dstlen + 1;
    uint8_t lib[3] = {(uint8_t)(len >> 8), (uint8_t)len, 0};
    if (!md_hash(ctx, md, zpad, 64, msg, msglen, lib, 3, dst_prime, dplen, b0))
        return 0;
    uint8_t idx = 1;
    if (!md_hash(ctx, md, b0, 32, &idx, 1, dst_prime, dplen, NULL, 0, bi))
        return 0;
    for (size_t i = 1;; i++) {
        size_t take = len - 32 * (i - 1) < 32 ? len - 32 * (i - 1) : 32;
        memcpy(out + 32 * (i - 1), bi, take);
        if (i == ell)
            break;
        for (int j = 0; j < 32; j++)
            tmp[j] = b0[j] ^ bi[j];
        idx = (uint8_t)(i + 1);
        if (!md_hash(ctx, md, tmp, 32, &idx, 1, dst_prime, dplen, NULL, 0, bi))
            return 0;
    }
    rs_secure_zero(b0, sizeof b0);
    rs_secure_zero(bi, sizeof bi);
    rs_secure_zero(tmp, sizeof tmp);
    return 1;
}

/* count elements of GF(m) (m = p or n) into u. */
int rs_ec_hash_to_field(const rs_ec_curve *c, EVP_MD_CTX *ctx, const ec_mont *m, const uint8_t *msg,
                         size_t msglen, const uint8_t *dst, size_t dstlen, size_t count, ec_fe *u)
{
    uint8_t buf[H2F_L * 2];
    if (count > 2 || !rs_ec_expand_xmd(c->md, ctx, msg, msglen, dst, dstlen, buf, H2F_L * count))
        return 0;
    for (size_t i = 0; i < count; i++)
        ec_fe_from_wide48(m, &u[i], buf + H2F_L * i);
    rs_secure_zero(buf, sizeof buf);
    return 1;
}

/* ---- simplified SWU (RFC 9380, 6.6.2 with the straight-line code of F.2 and F.2.1.2) --------- */

/* (is_square mask, y): y = sqrt(u / v) if u / v is square, else sqrt(Z * u / v). */
static uint64_t sqrt_ratio(const rs_ec_curve *c, ec_fe *y, const ec_fe *u, const ec_fe *v)
{
    const ec_mont *f = &c->fp;
    ec_fe tv1, tv2, tv3, y1, y2;
    ec_fe_sqr(f, &tv1, v);
    ec_fe_mul(f, &tv2, u, v);
    ec_fe_mul(f, &tv1, &tv1, &tv2);
    ec_fe_pow(f, &y1, &tv1, c->c1);
    ec_fe_mul(f, &y1, &y1, &tv2);
    ec_fe_mul(f, &y2, &y1, &c->c2);
    ec_fe_sqr(f, &tv3, &y1);
    ec_fe_mul(f, &tv3, &tv3, v);
    uint64_t is_qr = ec_fe_eq(&tv3, u);
    *y = y2;
    ec_fe_cmov(y, &y1, is_qr);
    return is_qr;
}

void rs_ec_map_to_curve(const rs_ec_curve *c, ec_proj *out, const ec_fe *u)
{
    const ec_mont *f = &c->fp;
    ec_fe tv1, tv2, tv3, tv4, tv5, tv6, x, y, y1, t;
    ec_fe_sqr(f, &tv1, u);
    ec_fe_mul(f, &tv1, &c->z, &tv1);
    ec_fe_sqr(f, &tv2, &tv1);
    ec_fe_add(f, &tv2, &tv2, &tv1);
    ec_fe_add(f, &tv3, &tv2, &f->one);
    ec_fe_mul(f, &tv3, &c->b, &tv3);
    ec_fe_neg(f, &t, &tv2);
    tv4 = c->z;
    ec_fe_cmov(&tv4, &t, ~ec_fe_is_zero(&tv2));
    ec_fe_mul(f, &tv4, &c->a, &tv4);
    ec_fe_sqr(f, &tv2, &tv3);
    ec_fe_sqr(f, &tv6, &tv4);
    ec_fe_mul(f, &tv5, &c->a, &tv6);
    ec_fe_add(f, &tv2, &tv2, &tv5);
    ec_fe_mul(f, &tv2, &tv2, &tv3);
    ec_fe_mul(f, &tv6, &tv6, &tv4);
    ec_fe_mul(f, &tv5, &c->b, &tv6);
    ec_fe_add(f, &tv2, &tv2, &tv5);
    ec_fe_mul(f, &x, &tv1, &tv3);
    uint64_t is_gx1_square = sqrt_ratio(c, &y1, &tv2, &tv6);
    ec_fe_mul(f, &y, &tv1, u);
    ec_fe_mul(f, &y, &y, &y1);
    ec_fe_cmov(&x, &tv3, is_gx1_square);
    ec_fe_cmov(&y, &y1, is_gx1_square);
    uint64_t flip = ec_fe_sgn0(f, u) ^ ec_fe_sgn0(f, &y);
    ec_fe_neg(f, &t, &y);
    ec_fe_cmov(&y, &t, (uint64_t)0 - flip);
    /* x = x / tv4 stays a fraction: (x : y * tv4 : tv4) */
    out->x = x;
    ec_fe_mul(f, &out->y, &y, &tv4);
    out->z = tv4;
}

/* Complete addition for a = -3 (Renes, Costello, Batina 2016, Algorithm 4): no exceptional
 * cases, so no branch on the points. */
void rs_ec_proj_add(const rs_ec_curve *c, ec_proj *r, const ec_proj *p, const ec_proj *q)
{
    const ec_mont *f = &c->fp;
    const ec_fe *b = &c->b;
    ec_fe t0, t1, t2, t3, t4, X3, Y3, Z3;
    ec_fe_mul(f, &t0, &p->x, &q->x);
    ec_fe_mul(f, &t1, &p->y, &q->y);
    ec_fe_mul(f, &t2, &p->z, &q->z);
    ec_fe_add(f, &t3, &p->x, &p->y);
    ec_fe_add(f, &t4, &q->x, &q->y);
    ec_fe_mul(f, &t3, &t3, &t4);
    ec_fe_add(f, &t4, &t0, &t1);
    ec_fe_sub(f, &t3, &t3, &t4);
    ec_fe_add(f, &t4, &p->y, &p->z);
    ec_fe_add(f, &X3, &q->y, &q->z);
    ec_fe_mul(f, &t4, &t4, &X3);
    ec_fe_add(f, &X3, &t1, &t2);
    ec_fe_sub(f, &t4, &t4, &X3);
    ec_fe_add(f, &X3, &p->x, &p->z);
    ec_fe_add(f, &Y3, &q->x, &q->z);
    ec_fe_mul(f, &X3, &X3, &Y3);
    ec_fe_add(f, &Y3, &t0, &t2);
    ec_fe_sub(f, &Y3, &X3, &Y3);
    ec_fe_mul(f, &Z3, b, &t2);
    ec_fe_sub(f, &X3, &Y3, &Z3);
    ec_fe_add(f, &Z3, &X3, &X3);
    ec_fe_add(f, &X3, &X3, &Z3);
    ec_fe_sub(f, &Z3, &t1, &X3);
    ec_fe_add(f, &X3, &t1, &X3);
    ec_fe_mul(f, &Y3, b, &Y3);
    ec_fe_add(f, &t1, &t2, &t2);
    ec_fe_add(f, &t2, &t1, &t2);
    ec_fe_sub(f, &Y3, &Y3, &t2);
    ec_fe_sub(f, &Y3, &Y3, &t0);
    ec_fe_add(f, &t1, &Y3, &Y3);
    ec_fe_add(f, &Y3, &t1, &Y3);
    ec_fe_add(f, &t1, &t0, &t0);
    ec_fe_add(f, &t0, &t1, &t0);
    ec_fe_sub(f, &t0, &t0, &t2);
    ec_fe_mul(f, &t1, &t4, &Y3);
    ec_fe_mul(f, &t2, &t0, &Y3);
    ec_fe_mul(f, &Y3, &X3, &Z3);
    ec_fe_add(f, &Y3, &Y3, &t2);
    ec_fe_mul(f, &X3, &X3, &t3);
    ec_fe_sub(f, &X3, &X3, &t1);
    ec_fe_mul(f, &Z3, &Z3, &t4);
    ec_fe_mul(f, &t1, &t3, &t0);
    ec_fe_add(f, &Z3, &Z3, &t1);
    r->x = X3;
    r->y = Y3;
    r->z = Z3;
}

/* Affine x || y of a projective point; returns an all-ones mask unless it is at infinity. */
uint64_t rs_ec_proj_to_xy(const rs_ec_curve *c, uint8_t xy[64], const ec_proj *p)
{
    const ec_mont *f = &c->fp;
    ec_fe zi, x, y;
    uint64_t finite = ~ec_fe_is_zero(&p->z);
    ec_fe_inv(f, &zi, &p->z);
    ec_fe_mul(f, &x, &p->x, &zi);
    ec_fe_mul(f, &y, &p->y, &zi);
    ec_fe_to_bytes(f, xy, &x);
    ec_fe_to_bytes(f, xy + 32, &y);
    return finite;
}

/* Affine x || y of n projective points with one inversion (Montgomery's trick); constant time.
 * Returns an all-ones mask unless one of them is the point at infinity. `tmp` holds n elements. */
uint64_t rs_ec_batch_to_xy(const rs_ec_curve *c, uint8_t *xy, const ec_proj *p, size_t n, ec_fe *tmp)
{
    const ec_mont *f = &c->fp;
    uint64_t finite = ~(uint64_t)0;
    ec_fe acc = f->one, inv, zi, t;
    for (size_t i = 0; i < n; i++) {
        ec_fe z = p[i].z;
        uint64_t zero = ec_fe_is_zero(&z);
        finite &= ~zero;
        ec_fe_cmov(&z, &f->one, zero);
        tmp[i] = acc; /* product of z_0 .. z_{i-1} */
        ec_fe_mul(f, &acc, &acc, &z);
    }
    ec_fe_inv(f, &inv, &acc);
    for (size_t i = n; i-- > 0;) {
        ec_fe z = p[i].z;
        ec_fe_cmov(&z, &f->one, ec_fe_is_zero(&z));
        ec_fe_mul(f, &zi, &inv, &tmp[i]);
        ec_fe_mul(f, &inv, &inv, &z);
        ec_fe_mul(f, &t, &p[i].x, &zi);
        ec_fe_to_bytes(f, xy + 64 * i, &t);
        ec_fe_mul(f, &t, &p[i].y, &zi);
        ec_fe_to_bytes(f, xy + 64 * i + 32, &t);
    }
    return finite;
}

/* hash_to_curve (RO) of msg as a projective point (cofactor 1: clear_cofactor is the identity). */
int rs_ec_hash_to_curve(const rs_ec_curve *c, EVP_MD_CTX *ctx, const uint8_t *msg, size_t msglen,
                         const uint8_t *dst, size_t dstlen, ec_proj *r)
{
    ec_fe u[2];
    ec_proj q0, q1;
    if (!rs_ec_hash_to_field(c, ctx, &c->fp, msg, msglen, dst, dstlen, 2, u))
        return RS_ERR_INTERNAL;
    rs_ec_map_to_curve(c, &q0, &u[0]);
    rs_ec_map_to_curve(c, &q1, &u[1]);
    rs_ec_proj_add(c, r, &q0, &q1);
    rs_secure_zero(u, sizeof u);
    return RS_OK;
}

void rs_ec_rhs(const rs_ec_curve *c, ec_fe *r, const ec_fe *x)
{
    const ec_mont *f = &c->fp;
    ec_fe t;
    ec_fe_sqr(f, &t, x);
    ec_fe_add(f, &t, &t, &c->a);
    ec_fe_mul(f, &t, &t, x);
    ec_fe_add(f, r, &t, &c->b);
}

/* ---- set-up ----------------------------------------------------------------------------------- */

int rs_ec_curve_setup(rs_ec_curve *c, int id, const char *name, int nid, const EVP_MD *md, uint64_t minus_z)
{
    uint8_t buf[32];
    int ok = 0;
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new();
    c->id = id;
    c->name = name;
    c->md = md;
    c->backend = &rs_ec_openssl_backend;
    c->group = EC_GROUP_new_by_curve_name(nid);
    if (c->group == NULL || p == NULL || a == NULL || b == NULL || md == NULL)
        goto done;
    if (EC_GROUP_get_curve(c->group, p, a, b, NULL) != 1)
        goto done;
    if (BN_bn2binpad(p, buf, 32) != 32 || !ec_mont_init(&c->fp, buf))
        goto done;
    if (BN_bn2binpad(EC_GROUP_get0_order(c->group), buf, 32) != 32 || !ec_mont_init(&c->fn, buf))
        goto done;
    if ((c->fp.m[0] & 3) != 3)
        goto done; /* sqrt and sqrt_ratio below need p = 3 mod 4 */
    if (BN_bn2binpad(a, buf, 32) != 32)
        goto done;
    ec_fe_from_bytes(&c->fp, &c->a, buf);
    if (BN_bn2binpad(b, buf, 32) != 32)
        goto done;
    ec_fe_from_bytes(&c->fp, &c->b, buf);
    ec_fe three, t, sq;
    ec_fe_set_u64(&c->fp, &three, 3);
    ec_fe_neg(&c->fp, &t, &three);
    if (!ec_fe_eq(&t, &c->a))
        goto done; /* A = -3 for both curves: the complete addition formula assumes it */
    /* c1 = (p - 3) / 4 = p >> 2 and (p + 1) / 4 = c1 + 1 */
    for (int i = 0; i < 4; i++)
        c->c1[i] = (c->fp.m[i] >> 2) | (i < 3 ? c->fp.m[i + 1] << 62 : 0);
    memcpy(c->sqrt_e, c->c1, sizeof c->c1);
    for (int i = 0; i < 4 && ++c->sqrt_e[i] == 0; i++) {
    }
    ec_fe_set_u64(&c->fp, &t, minus_z);
    ec_fe_neg(&c->fp, &c->z, &t);
    ec_fe_pow(&c->fp, &c->c2, &t, c->sqrt_e); /* c2 = sqrt(-Z) */
    ec_fe_sqr(&c->fp, &sq, &c->c2);
    if (!ec_fe_eq(&sq, &t))
        goto done;
    ok = 1;
done:
    BN_free(p);
    BN_free(a);
    BN_free(b);
    return ok;
}

