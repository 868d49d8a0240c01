/* Area 'ec': multiplication modulo the P-256 prime p = 2^256 - 2^224 + 2^192 + 2^96 - 1 in the
 * Montgomery form of ec_field.c (R = 2^256), inlined into the hot loops of ec.c (batch point
 * decompression, the affine-bucket multi-scalar multiplication).
 *
 * -p^-1 = 1 mod 2^64, so each reduction word q is the low word itself, and q * p =
 * q * p3 * 2^192 + q * 2^96 - q (p3 = 2^64 - 2^32 + 1, the top limb) costs one multiplication
 * instead of four. Straight-line code with a masked final subtraction: constant time, though its
 * callers in ec.c only pass public values. Results are identical to ec_fe_mul's with ec_mont of p
 * (tests compare the batch decoder and the MSM with the generic field and with OpenSSL). */
#ifndef RS_EC_P256_H
#define RS_EC_P256_H

#include "ec_field.h"

typedef unsigned __int128 p256_u128;

#define P256_P3 0xffffffff00000001ULL

#define P256_MAC(lo, carry, x, y, add)                            \
    do {                                                          \
        const p256_u128 s_ = (p256_u128)(x) * (y) + (add) + (carry); \
        lo = (uint64_t)s_;                                        \
        carry = (uint64_t)(s_ >> 64);                             \
    } while (0)

/* CIOS: per word of b, t += a b_i, then t = (t + q p) / 2^64 with q = t0 (the p0 word cancels
 * t0 exactly, p2 = 0, p1 = 2^32 - 1 enters as shifts). t < 2p throughout. */
static inline void p256_mul(ec_fe *r, const ec_fe *a, const ec_fe *b)
{
    const uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5;
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        const uint64_t bi = b->v[i];
        uint64_t carry = 0;
        P256_MAC(t0, carry, a0, bi, t0);
        P256_MAC(t1, carry, a1, bi, t1);
        P256_MAC(t2, carry, a2, bi, t2);
        P256_MAC(t3, carry, a3, bi, t3);
        p256_u128 s = (p256_u128)t4 + carry;
        t4 = (uint64_t)s;
        t5 = (uint64_t)(s >> 64);
        /* (t + q p) / 2^64, q = t0: q p = q p3 2^192 + q 2^96 - q */
        const uint64_t q = t0;
        const p256_u128 qp = (p256_u128)q * P256_P3;
        s = (p256_u128)t1 + (q << 32);
        t0 = (uint64_t)s;
        s = (p256_u128)t2 + (q >> 32) + (uint64_t)(s >> 64);
        t1 = (uint64_t)s;
        s = (p256_u128)t3 + (uint64_t)qp + (uint64_t)(s >> 64);
        t2 = (uint64_t)s;
        s = (p256_u128)t4 + (uint64_t)(qp >> 64) + (uint64_t)(s >> 64);
        t3 = (uint64_t)s;
        t4 = t5 + (uint64_t)(s >> 64);
    }
    /* t < 2p: subtract p when t >= p */
    uint64_t d0, d1, d2, d3, borrow;
    p256_u128 x = (p256_u128)t0 - 0xffffffffffffffffULL;
    d0 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    x = (p256_u128)t1 - 0x00000000ffffffffULL - borrow;
    d1 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    x = (p256_u128)t2 - borrow;
    d2 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    x = (p256_u128)t3 - P256_P3 - borrow;
    d3 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    const uint64_t mask = (uint64_t)0 - (t4 | (borrow ^ 1));
    r->v[0] = (d0 & mask) | (t0 & ~mask);
    r->v[1] = (d1 & mask) | (t1 & ~mask);
    r->v[2] = (d2 & mask) | (t2 & ~mask);
    r->v[3] = (d3 & mask) | (t3 & ~mask);
}

/* One reduction word of a 512-bit value held in locals: (t + q p) / 2^64 with q = t0; the carry
 * out of the top word enters the next round's top word (hi). */
#define P256_REDC_ROUND(t0, t1, t2, t3, t4, hi)                                   \
    do {                                                                          \
        const uint64_t q_ = (t0);                                                 \
        const p256_u128 qp_ = (p256_u128)q_ * P256_P3;                            \
        p256_u128 s_ = (p256_u128)(t1) + (q_ << 32);                              \
        (t1) = (uint64_t)s_;                                                      \
        s_ = (p256_u128)(t2) + (q_ >> 32) + (uint64_t)(s_ >> 64);                 \
        (t2) = (uint64_t)s_;                                                      \
        s_ = (p256_u128)(t3) + (uint64_t)qp_ + (uint64_t)(s_ >> 64);              \
        (t3) = (uint64_t)s_;                                                      \
        s_ = (p256_u128)(t4) + (uint64_t)(qp_ >> 64) + (uint64_t)(s_ >> 64) + hi; \
        (t4) = (uint64_t)s_;                                                      \
        hi = (uint64_t)(s_ >> 64);                                                \
    } while (0)

/* Squaring: 6 cross products doubled plus 4 squares (10 multiplications against 16), then four
 * reduction words. */
static inline void p256_sqr(ec_fe *r, const ec_fe *a)
{
    const uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];
    uint64_t t0, t1, t2, t3, t4, t5, t6, t7, c;
    p256_u128 s;
    s = (p256_u128)a0 * a1;
    t1 = (uint64_t)s;
    c = (uint64_t)(s >> 64);
    s = (p256_u128)a0 * a2 + c;
    t2 = (uint64_t)s;
    c = (uint64_t)(s >> 64);
    s = (p256_u128)a0 * a3 + c;
    t3 = (uint64_t)s;
    t4 = (uint64_t)(s >> 64);
    s = (p256_u128)a1 * a2 + t3;
    t3 = (uint64_t)s;
    c = (uint64_t)(s >> 64);
    s = (p256_u128)a1 * a3 + t4 + c;
    t4 = (uint64_t)s;
    t5 = (uint64_t)(s >> 64);
    s = (p256_u128)a2 * a3 + t5;
    t5 = (uint64_t)s;
    t6 = (uint64_t)(s >> 64);
    t7 = t6 >> 63;
    t6 = (t6 << 1) | (t5 >> 63);
    t5 = (t5 << 1) | (t4 >> 63);
    t4 = (t4 << 1) | (t3 >> 63);
    t3 = (t3 << 1) | (t2 >> 63);
    t2 = (t2 << 1) | (t1 >> 63);
    t1 <<= 1;
    s = (p256_u128)a0 * a0;
    t0 = (uint64_t)s;
    s = (p256_u128)t1 + (uint64_t)(s >> 64);
    t1 = (uint64_t)s;
    c = (uint64_t)(s >> 64);
    const p256_u128 q1 = (p256_u128)a1 * a1, q2 = (p256_u128)a2 * a2, q3 = (p256_u128)a3 * a3;
    s = (p256_u128)t2 + (uint64_t)q1 + c;
    t2 = (uint64_t)s;
    s = (p256_u128)t3 + (uint64_t)(q1 >> 64) + (uint64_t)(s >> 64);
    t3 = (uint64_t)s;
    s = (p256_u128)t4 + (uint64_t)q2 + (uint64_t)(s >> 64);
    t4 = (uint64_t)s;
    s = (p256_u128)t5 + (uint64_t)(q2 >> 64) + (uint64_t)(s >> 64);
    t5 = (uint64_t)s;
    s = (p256_u128)t6 + (uint64_t)q3 + (uint64_t)(s >> 64);
    t6 = (uint64_t)s;
    t7 = t7 + (uint64_t)(q3 >> 64) + (uint64_t)(s >> 64); /* a^2 < 2^512: no carry out */
    uint64_t hi = 0;
    P256_REDC_ROUND(t0, t1, t2, t3, t4, hi);
    P256_REDC_ROUND(t1, t2, t3, t4, t5, hi);
    P256_REDC_ROUND(t2, t3, t4, t5, t6, hi);
    P256_REDC_ROUND(t3, t4, t5, t6, t7, hi);
    /* v = hi 2^256 + (t7 t6 t5 t4) < 2p: subtract p when v >= p */
    uint64_t d0, d1, d2, d3, borrow;
    p256_u128 x = (p256_u128)t4 - 0xffffffffffffffffULL;
    d0 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    x = (p256_u128)t5 - 0x00000000ffffffffULL - borrow;
    d1 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    x = (p256_u128)t6 - borrow;
    d2 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    x = (p256_u128)t7 - P256_P3 - borrow;
    d3 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    const uint64_t mask = (uint64_t)0 - (hi | (borrow ^ 1));
    r->v[0] = (d0 & mask) | (t4 & ~mask);
    r->v[1] = (d1 & mask) | (t5 & ~mask);
    r->v[2] = (d2 & mask) | (t6 & ~mask);
    r->v[3] = (d3 & mask) | (t7 & ~mask);
}

#endif
