/* Area 'ec': constant-time arithmetic modulo a 256-bit odd modulus (4 x 64-bit limbs, Montgomery
 * form), used for the field of P-256 and of the SM2 curve (hash-to-curve, point decompression)
 * and for their group orders (secret scalar arithmetic).
 *
 * Every function here runs in time independent of the values of its field-element arguments:
 * no branch and no memory index depends on them. Exponents given to ec_fe_pow are public
 * constants (p - 2, (p - 3) / 4, ...) and may steer branches.
 * The moduli must satisfy 2^255 < m < 2^256 (true of both primes and both group orders). */
#ifndef RS_EC_FIELD_H
#define RS_EC_FIELD_H

#include <stdint.h>
#include <stddef.h>

typedef struct {
    uint64_t v[4]; /* little-endian limbs */
} ec_fe;

typedef struct {
    uint64_t m[4];
    uint64_t m0inv; /* -m^-1 mod 2^64 */
    ec_fe one;      /* R mod m, R = 2^256 */
    ec_fe r2;       /* R^2 mod m */
    ec_fe r3;       /* R^3 mod m */
    uint64_t mm2[4]; /* m - 2 (inversion exponent) */
} ec_mont;

/* Set up from the big-endian modulus; returns 0 if it is out of the supported range. */
int ec_mont_init(ec_mont *c, const uint8_t m_be[32]);

void ec_fe_mul(const ec_mont *c, ec_fe *r, const ec_fe *a, const ec_fe *b);
void ec_fe_sqr(const ec_mont *c, ec_fe *r, const ec_fe *a);
/* r = a^e for a public exponent e (little-endian limbs). */
void ec_fe_pow(const ec_mont *c, ec_fe *r, const ec_fe *a, const uint64_t e[4]);
/* r = a^-1 (0 maps to 0). */
void ec_fe_inv(const ec_mont *c, ec_fe *r, const ec_fe *a);
/* Parity of the canonical value (RFC 9380 sgn0 for m = 1 fields). */
uint64_t ec_fe_sgn0(const ec_mont *c, const ec_fe *a);

/* Big-endian 32 bytes -> Montgomery form. Returns an all-ones mask if the input was < m
 * (canonical); the value is reduced mod m either way. */
uint64_t ec_fe_from_bytes(const ec_mont *c, ec_fe *r, const uint8_t in[32]);
/* Big-endian 48 bytes (hash_to_field's L = 48) -> Montgomery form of the value mod m. */
void ec_fe_from_wide48(const ec_mont *c, ec_fe *r, const uint8_t in[48]);
/* Montgomery form -> canonical big-endian 32 bytes. */
void ec_fe_to_bytes(const ec_mont *c, uint8_t out[32], const ec_fe *a);
void ec_fe_set_u64(const ec_mont *c, ec_fe *r, uint64_t x);

/* ---- inline helpers (constant time; inlined so that the point formulas keep operands in
 * registers) ---- */

static inline void ec_fe_add(const ec_mont *c, ec_fe *r, const ec_fe *a, const ec_fe *b)
{
    unsigned __int128 s;
    uint64_t t[4], d[4], carry = 0, borrow = 0;
    for (int i = 0; i < 4; i++) {
        s = (unsigned __int128)a->v[i] + b->v[i] + carry;
        t[i] = (uint64_t)s;
        carry = (uint64_t)(s >> 64);
    }
    for (int i = 0; i < 4; i++) {
        s = (unsigned __int128)t[i] - c->m[i] - borrow;
        d[i] = (uint64_t)s;
        borrow = (uint64_t)(s >> 64) & 1;
    }
    /* a + b >= m iff the sum carried or the subtraction did not borrow */
    const uint64_t mask = (uint64_t)0 - (carry | (borrow ^ 1));
    for (int i = 0; i < 4; i++)
        r->v[i] = (d[i] & mask) | (t[i] & ~mask);
}

static inline void ec_fe_sub(const ec_mont *c, ec_fe *r, const ec_fe *a, const ec_fe *b)
{
    unsigned __int128 s;
    uint64_t d[4], borrow = 0, carry = 0;
    for (int i = 0; i < 4; i++) {
        s = (unsigned __int128)a->v[i] - b->v[i] - borrow;
        d[i] = (uint64_t)s;
        borrow = (uint64_t)(s >> 64) & 1;
    }
    const uint64_t mask = (uint64_t)0 - borrow; /* add m back after a borrow */
    for (int i = 0; i < 4; i++) {
        s = (unsigned __int128)d[i] + (c->m[i] & mask) + carry;
        r->v[i] = (uint64_t)s;
        carry = (uint64_t)(s >> 64);
    }
}

static inline void ec_fe_neg(const ec_mont *c, ec_fe *r, const ec_fe *a)
{
    const ec_fe zero = {{0, 0, 0, 0}};
    ec_fe_sub(c, r, &zero, a);
}

/* All-ones mask if a == 0 / a == b, else 0. */
static inline uint64_t ec_fe_is_zero(const ec_fe *a)
{
    const uint64_t x = a->v[0] | a->v[1] | a->v[2] | a->v[3];
    return ((x | ((uint64_t)0 - x)) >> 63) - 1;
}

static inline uint64_t ec_fe_eq(const ec_fe *a, const ec_fe *b)
{
    const ec_fe d = {{a->v[0] ^ b->v[0], a->v[1] ^ b->v[1], a->v[2] ^ b->v[2], a->v[3] ^ b->v[3]}};
    return ec_fe_is_zero(&d);
}

/* r = mask ? a : r. */
static inline void ec_fe_cmov(ec_fe *r, const ec_fe *a, uint64_t mask)
{
    for (int i = 0; i < 4; i++)
        r->v[i] = (a->v[i] & mask) | (r->v[i] & ~mask);
}

#endif
