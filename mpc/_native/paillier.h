/* Internal declarations shared by the files of the 'paillier' area. */
#ifndef RS_PAILLIER_H
#define RS_PAILLIER_H

#include "rs.h"

#include <gmp.h>
#include <openssl/bn.h>

#define PAI_MIN_BITS 512
#define PAI_MAX_BITS 8192
#define PAI_MAX_WORKERS 8
#define PAI_WINDOW 6
#define PAI_VERSION 1

extern PyTypeObject pai_PubType, pai_PrivType;

/* Helpers shared by the area's files (paillier.c). */
void pai_mpz_from_be(mpz_t r, const uint8_t *b, size_t blen);
void pai_mpz_to_be(uint8_t *b, size_t blen, const mpz_t x);
int pai_limbs_lt(const mp_limb_t *a, const mp_limb_t *b, size_t L, mp_limb_t *t);
int pai_check_items(Py_buffer *b, size_t item, size_t *count, const char *what);
int pai_run_jobs(void *(*fn)(void *), void *jobs, size_t job_size, size_t n);
size_t pai_clamp_workers(long workers, size_t count);

/* Montgomery context over 64-bit limbs, R = 2^(64 L). `ifma` holds the radix-2^52 form. */
typedef struct {
    size_t L;
    mp_limb_t *N, *R2, *one, ninv;
    void *ifma;
} pai_mont_t;

int pai_mont_init(pai_mont_t *M, const mpz_t N);
void pai_mont_free(pai_mont_t *M);
void pai_mont_mul(mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b, const pai_mont_t *M, mp_limb_t *t);
void pai_be_to_limbs(mp_limb_t *r, size_t L, const uint8_t *b, size_t blen);
void pai_limbs_to_be(uint8_t *b, size_t blen, const mp_limb_t *r, size_t L);

/* One CRT half of decryption: m_p = L_p(c^(p-1) mod p^2) * h_p mod p. */
typedef struct {
    BIGNUM *p, *p2, *pm1, *hp;
    BN_MONT_CTX *mont_p2;
    void *ifma; /* radix-2^52 Montgomery context of p^2 and the exponent, or NULL */
} pai_half_t;

int pai_half_init(pai_half_t *h, const BIGNUM *p, const BIGNUM *q, BN_CTX *ctx);
void pai_half_free(pai_half_t *h);
/* Returns RS_OK, RS_ERR_DECRYPT (c not invertible mod p) or RS_ERR_INTERNAL. */
int pai_half_decrypt(const pai_half_t *h, BIGNUM *res, const BIGNUM *c, BN_CTX *ctx);
/* Both halves on the calling thread: res0 = m mod p (h0), res1 = m mod q (h1). */
int pai_both_decrypt(const pai_half_t *h0, const pai_half_t *h1, BIGNUM *res0, BIGNUM *res1, const BIGNUM *c,
                     BN_CTX *ctx);

/* AVX-512 IFMA path (paillier_ifma.c); each returns 0 / does nothing when not available. */
int pai_ifma_active(void);
void pai_ifma_mont_init(pai_mont_t *M);
void pai_ifma_mont_free(pai_mont_t *M);
/* r = a b mod N (a, b < N, L limbs) with IFMA; 0 when not active. */
int pai_ifma_mulmod(const pai_mont_t *M, mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b);
/* r = a^e mod N for a public e (big-endian), a < N, variable time; 0 when not active. */
int pai_ifma_powmod_public(const pai_mont_t *M, mp_limb_t *r, const mp_limb_t *a, const uint8_t *e, size_t elen);
/* Table of base^(j 2^(w i)) mod N for the fixed-base exponentiation; 0 on failure. */
int pai_ifma_table_build(const mpz_t base, size_t positions, size_t W, const pai_mont_t *M, void **out);
void pai_ifma_table_free(void **t);
/* r = base^a mod N, fully reduced, L limbs; a big-endian of alen bytes; 0 when not active. */
int pai_ifma_fixed_base(const void *t, mp_limb_t *r, size_t L, const uint8_t *a, size_t alen, size_t w);
/* r = b^e mod m in constant time (e secret, public length ebits); 0 when not handled here. */
void *pai_ifma_exp_ctx_new(const BIGNUM *m);
void pai_ifma_exp_ctx_free(void *c);
int pai_ifma_exp(const void *c, BIGNUM *r, const BIGNUM *b, const BIGNUM *e, BN_CTX *ctx);
/* Both CRT halves at once on one core (interleaved); 0 when not handled here. */
int pai_ifma_exp2(const void *c1, const void *c2, BIGNUM *r1, BIGNUM *r2, const BIGNUM *b1, const BIGNUM *b2,
                  const BIGNUM *e1, const BIGNUM *e2);

#endif
