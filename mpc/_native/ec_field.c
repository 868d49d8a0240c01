/* Area 'ec': constant-time Montgomery arithmetic modulo a 256-bit modulus (see ec_field.h). */
#include "rs.h"
#include "ec_field.h"

#include <string.h>

typedef unsigned __int128 u128;

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | p[i];
    return x;
}

static void store_be64(uint8_t *p, uint64_t x)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)x;
        x >>= 8;
    }
}

static void load_be256(uint64_t v[4], const uint8_t in[32])
{
    for (int i = 0; i < 4; i++)
        v[3 - i] = load_be64(in + 8 * i);
}

/* (borrow, r) = a - b over 4 limbs; returns the borrow (0/1). */
static uint64_t sub4(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        u128 d = (u128)a[i] - b[i] - borrow;
        r[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    return borrow;
}

static void sel4(uint64_t r[4], const uint64_t a[4], const uint64_t b[4], uint64_t mask)
{
    /* r = mask ? a : b */
    for (int i = 0; i < 4; i++)
        r[i] = (a[i] & mask) | (b[i] & ~mask);
}

/* Reduce x < 2^256 (< 2m) once. */
static void reduce_once(const ec_mont *c, uint64_t x[4])
{
    uint64_t t[4];
    uint64_t borrow = sub4(t, x, c->m);
    sel4(x, x, t, (uint64_t)0 - borrow);
}

/* One CIOS round: t += a * bi, then t = (t + q * m) / 2^64 with q = t0 * m0inv. Unrolled with
 * the operands in locals: the compiler cannot keep them in registers through the pointers. */
#define MAC(lo, carry, x, y, add)                      \
    do {                                               \
        u128 s_ = (u128)(x) * (y) + (add) + (carry);   \
        lo = (uint64_t)s_;                             \
        carry = (uint64_t)(s_ >> 64);                  \
    } while (0)

#if defined(__x86_64__)
/* The same CIOS multiplication with mulx and the two carry chains of adcx / adox (BMI2 + ADX),
 * chosen at run time from rs_cpu. Straight-line code: the only branch-free selection is the final
 * cmovae. The six accumulator registers rotate by one per round instead of being shifted; the
 * register that falls off the bottom is zero after the reduction and becomes the new top. */
static void mul_adx(const ec_mont *c, ec_fe *r, const ec_fe *a, const ec_fe *b)
{
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, lo, hi, zero;
    __asm__ volatile(
        "xorl %k[zero], %k[zero]\n\t"
        "movq 0(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t0]\n\t"
        "adoxq %[hi], %[t1]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t1]\n\t"
        "adoxq %[hi], %[t2]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t2]\n\t"
        "adoxq %[hi], %[t3]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "adcxq %[zero], %[t4]\n\t"
        "adoxq %[zero], %[t5]\n\t"
        "adcxq %[zero], %[t5]\n\t"
        "movq %[t0], %%rdx\n\t"
        "imulq %[minv], %%rdx\n\t"
        "xorl %k[zero], %k[zero]\n\t"
        "mulxq 0(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t0]\n\t"
        "adoxq %[hi], %[t1]\n\t"
        "mulxq 8(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t1]\n\t"
        "adoxq %[hi], %[t2]\n\t"
        "mulxq 16(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t2]\n\t"
        "adoxq %[hi], %[t3]\n\t"
        "mulxq 24(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "adcxq %[zero], %[t4]\n\t"
        "adoxq %[zero], %[t5]\n\t"
        "adcxq %[zero], %[t5]\n\t"
        "xorl %k[zero], %k[zero]\n\t"
        "movq 8(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t1]\n\t"
        "adoxq %[hi], %[t2]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t2]\n\t"
        "adoxq %[hi], %[t3]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t4]\n\t"
        "adoxq %[hi], %[t5]\n\t"
        "adcxq %[zero], %[t5]\n\t"
        "adoxq %[zero], %[t0]\n\t"
        "adcxq %[zero], %[t0]\n\t"
        "movq %[t1], %%rdx\n\t"
        "imulq %[minv], %%rdx\n\t"
        "xorl %k[zero], %k[zero]\n\t"
        "mulxq 0(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t1]\n\t"
        "adoxq %[hi], %[t2]\n\t"
        "mulxq 8(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t2]\n\t"
        "adoxq %[hi], %[t3]\n\t"
        "mulxq 16(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "mulxq 24(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t4]\n\t"
        "adoxq %[hi], %[t5]\n\t"
        "adcxq %[zero], %[t5]\n\t"
        "adoxq %[zero], %[t0]\n\t"
        "adcxq %[zero], %[t0]\n\t"
        "xorl %k[zero], %k[zero]\n\t"
        "movq 16(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t2]\n\t"
        "adoxq %[hi], %[t3]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t4]\n\t"
        "adoxq %[hi], %[t5]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t5]\n\t"
        "adoxq %[hi], %[t0]\n\t"
        "adcxq %[zero], %[t0]\n\t"
        "adoxq %[zero], %[t1]\n\t"
        "adcxq %[zero], %[t1]\n\t"
        "movq %[t2], %%rdx\n\t"
        "imulq %[minv], %%rdx\n\t"
        "xorl %k[zero], %k[zero]\n\t"
        "mulxq 0(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t2]\n\t"
        "adoxq %[hi], %[t3]\n\t"
        "mulxq 8(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "mulxq 16(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t4]\n\t"
        "adoxq %[hi], %[t5]\n\t"
        "mulxq 24(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t5]\n\t"
        "adoxq %[hi], %[t0]\n\t"
        "adcxq %[zero], %[t0]\n\t"
        "adoxq %[zero], %[t1]\n\t"
        "adcxq %[zero], %[t1]\n\t"
        "xorl %k[zero], %k[zero]\n\t"
        "movq 24(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t4]\n\t"
        "adoxq %[hi], %[t5]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t5]\n\t"
        "adoxq %[hi], %[t0]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t0]\n\t"
        "adoxq %[hi], %[t1]\n\t"
        "adcxq %[zero], %[t1]\n\t"
        "adoxq %[zero], %[t2]\n\t"
        "adcxq %[zero], %[t2]\n\t"
        "movq %[t3], %%rdx\n\t"
        "imulq %[minv], %%rdx\n\t"
        "xorl %k[zero], %k[zero]\n\t"
        "mulxq 0(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "mulxq 8(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t4]\n\t"
        "adoxq %[hi], %[t5]\n\t"
        "mulxq 16(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t5]\n\t"
        "adoxq %[hi], %[t0]\n\t"
        "mulxq 24(%[m]), %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t0]\n\t"
        "adoxq %[hi], %[t1]\n\t"
        "adcxq %[zero], %[t1]\n\t"
        "adoxq %[zero], %[t2]\n\t"
        "adcxq %[zero], %[t2]\n\t"
        "movq %[t4], %[lo]\n\t"
        "movq %[t5], %[hi]\n\t"
        "movq %[t0], %%rdx\n\t"
        "movq %[t1], %[t3]\n\t"
        "subq 0(%[m]), %[lo]\n\t"
        "sbbq 8(%[m]), %[hi]\n\t"
        "sbbq 16(%[m]), %%rdx\n\t"
        "sbbq 24(%[m]), %[t3]\n\t"
        "sbbq $0, %[t2]\n\t"
        "cmovaeq %[lo], %[t4]\n\t"
        "cmovaeq %[hi], %[t5]\n\t"
        "cmovaeq %%rdx, %[t0]\n\t"
        "cmovaeq %[t3], %[t1]\n\t"
        "movq %[t4], 0(%[r])\n\t"
        "movq %[t5], 8(%[r])\n\t"
        "movq %[t0], 16(%[r])\n\t"
        "movq %[t1], 24(%[r])\n\t"
        : [t0] "+&r"(t0), [t1] "+&r"(t1), [t2] "+&r"(t2), [t3] "+&r"(t3), [t4] "+&r"(t4), [t5] "+&r"(t5),
          [lo] "=&r"(lo), [hi] "=&r"(hi), [zero] "=&r"(zero)
        : [a] "r"(a->v), [b] "r"(b->v), [m] "r"(c->m), [r] "r"(r->v), [minv] "rm"(c->m0inv)
        : "rdx", "cc", "memory");
}
#define RS_EC_HAVE_ADX 1
#endif

void ec_fe_mul(const ec_mont *c, ec_fe *r, const ec_fe *a, const ec_fe *b)
{
#ifdef RS_EC_HAVE_ADX
    if (rs_cpu.bmi2 & rs_cpu.adx) {
        mul_adx(c, r, a, b);
        return;
    }
#endif
    const uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];
    const uint64_t m0 = c->m[0], m1 = c->m[1], m2 = c->m[2], m3 = c->m[3], minv = c->m0inv;
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5;
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        const uint64_t bi = b->v[i];
        uint64_t carry = 0;
        MAC(t0, carry, a0, bi, t0);
        MAC(t1, carry, a1, bi, t1);
        MAC(t2, carry, a2, bi, t2);
        MAC(t3, carry, a3, bi, t3);
        u128 s = (u128)t4 + carry;
        t4 = (uint64_t)s;
        t5 = (uint64_t)(s >> 64);
        const uint64_t q = t0 * minv;
        uint64_t lo;
        carry = 0;
        MAC(lo, carry, q, m0, t0);
        (void)lo;
        MAC(t0, carry, q, m1, t1);
        MAC(t1, carry, q, m2, t2);
        MAC(t2, carry, q, m3, t3);
        s = (u128)t4 + carry;
        t3 = (uint64_t)s;
        t4 = t5 + (uint64_t)(s >> 64);
    }
    /* t < 2m: subtract m when t >= m. */
    uint64_t d0, d1, d2, d3, borrow;
    u128 x = (u128)t0 - m0;
    d0 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    x = (u128)t1 - m1 - borrow;
    d1 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    x = (u128)t2 - m2 - borrow;
    d2 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    x = (u128)t3 - m3 - borrow;
    d3 = (uint64_t)x;
    borrow = (uint64_t)(x >> 64) & 1;
    const uint64_t mask = (uint64_t)0 - (t4 | (borrow ^ 1));
    r->v[0] = (d0 & mask) | (t0 & ~mask);
    r->v[1] = (d1 & mask) | (t1 & ~mask);
    r->v[2] = (d2 & mask) | (t2 & ~mask);
    r->v[3] = (d3 & mask) | (t3 & ~mask);
}

void ec_fe_sqr(const ec_mont *c, ec_fe *r, const ec_fe *a)
{
    ec_fe_mul(c, r, a, a);
}

static int exp_bit(const uint64_t e[4], int i)
{
    return (int)((e[i / 64] >> (i % 64)) & 1);
}

void ec_fe_pow(const ec_mont *c, ec_fe *r, const ec_fe *a, const uint64_t e[4])
{
    /* The exponent is public (p - 2, (p - 3) / 4, (p + 1) / 4, n - 2): it may steer branches and
     * table indices. Runs of ones, which these exponents are made of, are appended in chunks of
     * 2^j bits: acc = acc^(2^(2^j)) * x[j] with x[j] = a^(2^(2^j) - 1), so a run costs its own
     * squarings plus one multiplication per chunk (~260 operations for P-256's square root,
     * against 334 with fixed 4-bit windows). */
    int top = 255;
    while (top >= 0 && !exp_bit(e, top))
        top--;
    if (top < 0) {
        *r = c->one;
        return;
    }
    int maxrun = 0;
    for (int i = top; i >= 0;) {
        int len = 0;
        while (i >= 0 && exp_bit(e, i)) {
            len++;
            i--;
        }
        if (len > maxrun)
            maxrun = len;
        while (i >= 0 && !exp_bit(e, i))
            i--;
    }
    int jmax = 0;
    while (jmax < 5 && (2 << jmax) <= maxrun)
        jmax++;
    ec_fe x[6];
    x[0] = *a;
    for (int j = 1; j <= jmax; j++) {
        ec_fe t = x[j - 1];
        for (int k = 0; k < (1 << (j - 1)); k++)
            ec_fe_sqr(c, &t, &t);
        ec_fe_mul(c, &x[j], &t, &x[j - 1]);
    }
    ec_fe acc = c->one;
    int started = 0;
    for (int i = top; i >= 0;) {
        if (!exp_bit(e, i)) {
            if (started)
                ec_fe_sqr(c, &acc, &acc);
            i--;
            continue;
        }
        int len = 0;
        while (i - len >= 0 && exp_bit(e, i - len))
            len++;
        i -= len;
        while (len > 0) {
            int j = jmax;
            while ((1 << j) > len)
                j--;
            if (started) {
                for (int k = 0; k < (1 << j); k++)
                    ec_fe_sqr(c, &acc, &acc);
                ec_fe_mul(c, &acc, &acc, &x[j]);
            } else {
                acc = x[j];
                started = 1;
            }
            len -= 1 << j;
        }
    }
    *r = acc;
}

void ec_fe_inv(const ec_mont *c, ec_fe *r, const ec_fe *a)
{
    ec_fe_pow(c, r, a, c->mm2);
}

void ec_fe_set_u64(const ec_mont *c, ec_fe *r, uint64_t x)
{
    ec_fe t = {{x, 0, 0, 0}};
    ec_fe_mul(c, r, &t, &c->r2);
}

uint64_t ec_fe_from_bytes(const ec_mont *c, ec_fe *r, const uint8_t in[32])
{
    ec_fe x;
    uint64_t t[4];
    load_be256(x.v, in);
    uint64_t borrow = sub4(t, x.v, c->m);
    uint64_t canonical = (uint64_t)0 - borrow;
    sel4(x.v, x.v, t, canonical);
    ec_fe_mul(c, r, &x, &c->r2);
    return canonical;
}

void ec_fe_from_wide48(const ec_mont *c, ec_fe *r, const uint8_t in[48])
{
    /* value = hi * 2^256 + lo with hi < 2^128; in Montgomery form:
     * lo * R + hi * R^2 = mont(lo, R^2) + mont(hi, R^3). */
    ec_fe lo, hi, a, b;
    load_be256(lo.v, in + 16);
    reduce_once(c, lo.v);
    hi.v[3] = 0;
    hi.v[2] = 0;
    hi.v[1] = load_be64(in);
    hi.v[0] = load_be64(in + 8);
    ec_fe_mul(c, &a, &lo, &c->r2);
    ec_fe_mul(c, &b, &hi, &c->r3);
    ec_fe_add(c, r, &a, &b);
}

void ec_fe_to_bytes(const ec_mont *c, uint8_t out[32], const ec_fe *a)
{
    ec_fe one = {{1, 0, 0, 0}}, t;
    ec_fe_mul(c, &t, a, &one);
    for (int i = 0; i < 4; i++)
        store_be64(out + 8 * i, t.v[3 - i]);
}

uint64_t ec_fe_sgn0(const ec_mont *c, const ec_fe *a)
{
    ec_fe one = {{1, 0, 0, 0}}, t;
    ec_fe_mul(c, &t, a, &one);
    return t.v[0] & 1;
}

int ec_mont_init(ec_mont *c, const uint8_t m_be[32])
{
    load_be256(c->m, m_be);
    if (!(c->m[3] >> 63) || !(c->m[0] & 1))
        return 0;
    uint64_t inv = 1;
    for (int i = 0; i < 7; i++)
        inv *= 2 - c->m[0] * inv;
    c->m0inv = (uint64_t)0 - inv;
    /* R mod m = 2^256 - m (since m > 2^255) */
    uint64_t zero[4] = {0, 0, 0, 0};
    sub4(c->one.v, zero, c->m);
    /* R^2: double R 256 times with reduction (plain modular doubling, setup only). */
    ec_fe x = c->one;
    for (int i = 0; i < 256; i++)
        ec_fe_add(c, &x, &x, &x);
    c->r2 = x;
    ec_fe_mul(c, &c->r3, &c->r2, &c->r2); /* R^2 * R^2 / R = R^3 */
    uint64_t two[4] = {2, 0, 0, 0};
    sub4(c->mm2, c->m, two);
    return 1;
}
