/* Area 'paillier': Montgomery arithmetic in radix 2^52 with AVX-512 IFMA (vpmadd52luq/huq).
 *
 * Numbers are NL = 8K limbs of 52 bits held in K zmm registers. amm() is the word-serial
 * "almost Montgomery multiplication" (Gueron and Krasnov's layout): for each limb b_i of b it
 * adds the low halves of a*b_i and m*y (y chosen to clear the lowest limb), shifts the
 * accumulator down one limb, then adds the high halves, which belong one limb up. Lanes collect
 * at most 4 * NL products of 52 bits before the final carry pass, far below 2^64. With
 * R = 2^(52 NL) > 4m, inputs below 2m give outputs below 2m, so values stay "almost reduced"
 * through an exponentiation and are reduced once at the end (constant-time subtraction).
 *
 * Everything here is constant time: no branch or address depends on operand values; table
 * entries are chosen by scanning the whole row with masked blends. The portable path
 * (paillier.c, paillier_exp.c) is used when the CPU lacks IFMA or set_portable(True) is on. */
#include "paillier.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define MASK52 ((UINT64_C(1) << 52) - 1)
#define IFMA_MAXK 40 /* 40 * 8 * 52 = 16640 bits: n^2 for an 8192-bit n */
#define IFMA_TARGET __attribute__((target("avx512f,avx512ifma,avx512vl,avx512dq,avx512bw")))
#define EXP_WINDOW 5

typedef struct {
    int K, NL;
    uint64_t k0;               /* -m^-1 mod 2^52 */
    uint64_t *m, *rr, *one;    /* m, R^2 mod m, R mod m (radix 2^52, 64-byte aligned) */
} ifma_mont;

typedef struct {
    ifma_mont M;
    size_t positions, W;
    uint64_t *table; /* positions * W entries of NL limbs */
} ifma_table;

int pai_ifma_active(void)
{
    return rs_cpu.avx512ifma && rs_cpu.avx512f;
}

static void *aligned_zalloc(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0)
        return NULL;
    memset(p, 0, n ? n : 64);
    return p;
}

static void to52(uint64_t *r, int NL, const uint64_t *x, size_t L)
{
    for (int i = 0; i < NL; i++) {
        size_t bit = (size_t)52 * (size_t)i, w = bit / 64, s = bit % 64;
        uint64_t v = w < L ? x[w] >> s : 0;
        if (s > 12 && w + 1 < L)
            v |= x[w + 1] << (64 - s);
        r[i] = v & MASK52;
    }
}

static void from52(uint64_t *x, size_t L, const uint64_t *r, int NL)
{
    memset(x, 0, L * sizeof *x);
    for (int i = 0; i < NL; i++) {
        size_t bit = (size_t)52 * (size_t)i, w = bit / 64, s = bit % 64;
        if (w < L)
            x[w] |= r[i] << s;
        if (s > 12 && w + 1 < L)
            x[w + 1] |= r[i] >> (64 - s);
    }
}

static void mpz_to52(uint64_t *r, int NL, const mpz_t x)
{
    size_t L = mpz_size(x);
    uint64_t *t = calloc(L ? L : 1, sizeof *t);
    if (!t)
        return;
    mpz_export(t, NULL, -1, sizeof *t, 0, 0, x);
    to52(r, NL, t, L);
    free(t);
}

static int mont_setup(ifma_mont *M, const mpz_t m)
{
    size_t bits = mpz_sizeinbase(m, 2);
    M->K = (int)((bits + 2 + 415) / 416);
    if (M->K > IFMA_MAXK)
        return 0;
    M->NL = 8 * M->K;
    size_t bytes = (size_t)M->NL * sizeof(uint64_t);
    M->m = aligned_zalloc(bytes);
    M->rr = aligned_zalloc(bytes);
    M->one = aligned_zalloc(bytes);
    if (!M->m || !M->rr || !M->one)
        return 0;
    mpz_to52(M->m, M->NL, m);
    uint64_t m0 = M->m[0], x = m0;
    for (int i = 0; i < 6; i++)
        x *= 2 - m0 * x;
    M->k0 = (0 - x) & MASK52;
    mpz_t t;
    mpz_init(t);
    mpz_setbit(t, (mp_bitcnt_t)52 * (mp_bitcnt_t)M->NL);
    mpz_mod(t, t, m);
    mpz_to52(M->one, M->NL, t);
    mpz_set_ui(t, 0);
    mpz_setbit(t, (mp_bitcnt_t)104 * (mp_bitcnt_t)M->NL);
    mpz_mod(t, t, m);
    mpz_to52(M->rr, M->NL, t);
    mpz_clear(t);
    return 1;
}

static void mont_clear(ifma_mont *M)
{
    free(M->m);
    free(M->rr);
    free(M->one);
    memset(M, 0, sizeof *M);
}

/* r = a * b / R mod m, almost reduced (< 2m for a, b < 2m). r may alias a or b. */
static inline __attribute__((always_inline)) IFMA_TARGET void amm_k(uint64_t *r, const uint64_t *a,
                                                                    const uint64_t *b, const ifma_mont *M,
                                                                    const int K)
{
    __m512i acc[IFMA_MAXK], av[IFMA_MAXK];
    const __m512i zero = _mm512_setzero_si512();
    const uint64_t *mp = M->m;
    const uint64_t k0 = M->k0;
    const int NL = 8 * K;
#pragma GCC unroll 16
    for (int j = 0; j < K; j++) {
        acc[j] = zero;
        av[j] = _mm512_loadu_si512((const void *)(a + 8 * j));
    }
    for (int i = 0; i < NL; i++) {
        __m512i bi = _mm512_set1_epi64((long long)b[i]);
#pragma GCC unroll 16
        for (int j = 0; j < K; j++)
            acc[j] = _mm512_madd52lo_epu64(acc[j], av[j], bi);
        uint64_t t0 = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(acc[0]));
        __m512i yv = _mm512_set1_epi64((long long)((t0 * k0) & MASK52));
#pragma GCC unroll 16
        for (int j = 0; j < K; j++)
            acc[j] = _mm512_madd52lo_epu64(acc[j], _mm512_load_si512((const void *)(mp + 8 * j)), yv);
        uint64_t c = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(acc[0])) >> 52;
#pragma GCC unroll 16
        for (int j = 0; j < K - 1; j++)
            acc[j] = _mm512_alignr_epi64(acc[j + 1], acc[j], 1);
        acc[K - 1] = _mm512_alignr_epi64(zero, acc[K - 1], 1);
        acc[0] = _mm512_add_epi64(acc[0], _mm512_maskz_set1_epi64((__mmask8)1, (long long)c));
#pragma GCC unroll 16
        for (int j = 0; j < K; j++) {
            acc[j] = _mm512_madd52hi_epu64(acc[j], av[j], bi);
            acc[j] = _mm512_madd52hi_epu64(acc[j], _mm512_load_si512((const void *)(mp + 8 * j)), yv);
        }
    }
    uint64_t tmp[8 * IFMA_MAXK] __attribute__((aligned(64)));
#pragma GCC unroll 16
    for (int j = 0; j < K; j++)
        _mm512_store_si512((void *)(tmp + 8 * j), acc[j]);
    uint64_t c = 0;
    for (int i = 0; i < NL; i++) {
        uint64_t v = tmp[i] + c;
        r[i] = v & MASK52;
        c = v >> 52;
    }
}

/* Two independent products of the same size in one pass, so that one chain's latency hides the
 * other's (used for the two CRT halves of a decryption on one core). */
static inline __attribute__((always_inline)) IFMA_TARGET void amm2_k(uint64_t *r1, const uint64_t *a1,
                                                                     const uint64_t *b1, const ifma_mont *M1,
                                                                     uint64_t *r2, const uint64_t *a2,
                                                                     const uint64_t *b2, const ifma_mont *M2,
                                                                     const int K)
{
    __m512i acc1[IFMA_MAXK], av1[IFMA_MAXK], acc2[IFMA_MAXK], av2[IFMA_MAXK];
    const __m512i zero = _mm512_setzero_si512();
    const uint64_t *mp1 = M1->m, *mp2 = M2->m;
    const int NL = 8 * K;
#pragma GCC unroll 16
    for (int j = 0; j < K; j++) {
        acc1[j] = acc2[j] = zero;
        av1[j] = _mm512_loadu_si512((const void *)(a1 + 8 * j));
        av2[j] = _mm512_loadu_si512((const void *)(a2 + 8 * j));
    }
    for (int i = 0; i < NL; i++) {
        __m512i bi1 = _mm512_set1_epi64((long long)b1[i]), bi2 = _mm512_set1_epi64((long long)b2[i]);
#pragma GCC unroll 16
        for (int j = 0; j < K; j++) {
            acc1[j] = _mm512_madd52lo_epu64(acc1[j], av1[j], bi1);
            acc2[j] = _mm512_madd52lo_epu64(acc2[j], av2[j], bi2);
        }
        uint64_t t1 = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(acc1[0]));
        uint64_t t2 = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(acc2[0]));
        __m512i yv1 = _mm512_set1_epi64((long long)((t1 * M1->k0) & MASK52));
        __m512i yv2 = _mm512_set1_epi64((long long)((t2 * M2->k0) & MASK52));
#pragma GCC unroll 16
        for (int j = 0; j < K; j++) {
            acc1[j] = _mm512_madd52lo_epu64(acc1[j], _mm512_load_si512((const void *)(mp1 + 8 * j)), yv1);
            acc2[j] = _mm512_madd52lo_epu64(acc2[j], _mm512_load_si512((const void *)(mp2 + 8 * j)), yv2);
        }
        uint64_t c1 = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(acc1[0])) >> 52;
        uint64_t c2 = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(acc2[0])) >> 52;
#pragma GCC unroll 16
        for (int j = 0; j < K - 1; j++) {
            acc1[j] = _mm512_alignr_epi64(acc1[j + 1], acc1[j], 1);
            acc2[j] = _mm512_alignr_epi64(acc2[j + 1], acc2[j], 1);
        }
        acc1[K - 1] = _mm512_alignr_epi64(zero, acc1[K - 1], 1);
        acc2[K - 1] = _mm512_alignr_epi64(zero, acc2[K - 1], 1);
        acc1[0] = _mm512_add_epi64(acc1[0], _mm512_maskz_set1_epi64((__mmask8)1, (long long)c1));
        acc2[0] = _mm512_add_epi64(acc2[0], _mm512_maskz_set1_epi64((__mmask8)1, (long long)c2));
#pragma GCC unroll 16
        for (int j = 0; j < K; j++) {
            acc1[j] = _mm512_madd52hi_epu64(acc1[j], av1[j], bi1);
            acc2[j] = _mm512_madd52hi_epu64(acc2[j], av2[j], bi2);
            acc1[j] = _mm512_madd52hi_epu64(acc1[j], _mm512_load_si512((const void *)(mp1 + 8 * j)), yv1);
            acc2[j] = _mm512_madd52hi_epu64(acc2[j], _mm512_load_si512((const void *)(mp2 + 8 * j)), yv2);
        }
    }
    uint64_t tmp[16 * IFMA_MAXK] __attribute__((aligned(64)));
#pragma GCC unroll 16
    for (int j = 0; j < K; j++) {
        _mm512_store_si512((void *)(tmp + 8 * j), acc1[j]);
        _mm512_store_si512((void *)(tmp + NL + 8 * j), acc2[j]);
    }
    uint64_t c1 = 0, c2 = 0;
    for (int i = 0; i < NL; i++) {
        uint64_t v1 = tmp[i] + c1, v2 = tmp[NL + i] + c2;
        r1[i] = v1 & MASK52;
        r2[i] = v2 & MASK52;
        c1 = v1 >> 52;
        c2 = v2 >> 52;
    }
}

IFMA_TARGET static void amm2_5(uint64_t *r1, const uint64_t *a1, const uint64_t *b1, const ifma_mont *M1,
                               uint64_t *r2, const uint64_t *a2, const uint64_t *b2, const ifma_mont *M2)
{
    amm2_k(r1, a1, b1, M1, r2, a2, b2, M2, 5);
}
IFMA_TARGET static void amm2_8(uint64_t *r1, const uint64_t *a1, const uint64_t *b1, const ifma_mont *M1,
                               uint64_t *r2, const uint64_t *a2, const uint64_t *b2, const ifma_mont *M2)
{
    amm2_k(r1, a1, b1, M1, r2, a2, b2, M2, 8);
}
IFMA_TARGET static void amm2_10(uint64_t *r1, const uint64_t *a1, const uint64_t *b1, const ifma_mont *M1,
                                uint64_t *r2, const uint64_t *a2, const uint64_t *b2, const ifma_mont *M2)
{
    amm2_k(r1, a1, b1, M1, r2, a2, b2, M2, 10);
}
IFMA_TARGET static void amm2_15(uint64_t *r1, const uint64_t *a1, const uint64_t *b1, const ifma_mont *M1,
                                uint64_t *r2, const uint64_t *a2, const uint64_t *b2, const ifma_mont *M2)
{
    amm2_k(r1, a1, b1, M1, r2, a2, b2, M2, 15);
}

IFMA_TARGET static void amm_3(uint64_t *r, const uint64_t *a, const uint64_t *b, const ifma_mont *M) { amm_k(r, a, b, M, 3); }
IFMA_TARGET static void amm_5(uint64_t *r, const uint64_t *a, const uint64_t *b, const ifma_mont *M) { amm_k(r, a, b, M, 5); }
IFMA_TARGET static void amm_8(uint64_t *r, const uint64_t *a, const uint64_t *b, const ifma_mont *M) { amm_k(r, a, b, M, 8); }
IFMA_TARGET static void amm_10(uint64_t *r, const uint64_t *a, const uint64_t *b, const ifma_mont *M) { amm_k(r, a, b, M, 10); }
IFMA_TARGET static void amm_15(uint64_t *r, const uint64_t *a, const uint64_t *b, const ifma_mont *M) { amm_k(r, a, b, M, 15); }
IFMA_TARGET static void amm_any(uint64_t *r, const uint64_t *a, const uint64_t *b, const ifma_mont *M) { amm_k(r, a, b, M, M->K); }

static void amm(uint64_t *r, const uint64_t *a, const uint64_t *b, const ifma_mont *M)
{
    switch (M->K) {
    case 3: amm_3(r, a, b, M); break;
    case 5: amm_5(r, a, b, M); break;
    case 8: amm_8(r, a, b, M); break;
    case 10: amm_10(r, a, b, M); break;
    case 15: amm_15(r, a, b, M); break;
    default: amm_any(r, a, b, M); break;
    }
}

static void amm2(uint64_t *r1, const uint64_t *a1, const uint64_t *b1, const ifma_mont *M1, uint64_t *r2,
                 const uint64_t *a2, const uint64_t *b2, const ifma_mont *M2)
{
    if (M1->K == 5)
        amm2_5(r1, a1, b1, M1, r2, a2, b2, M2);
    else if (M1->K == 8)
        amm2_8(r1, a1, b1, M1, r2, a2, b2, M2);
    else if (M1->K == 10)
        amm2_10(r1, a1, b1, M1, r2, a2, b2, M2);
    else if (M1->K == 15)
        amm2_15(r1, a1, b1, M1, r2, a2, b2, M2);
    else {
        amm(r1, a1, b1, M1);
        amm(r2, a2, b2, M2);
    }
}

/* r = x mod m for x < 2m, constant time. */
static void reduce_once(uint64_t *r, const uint64_t *x, const ifma_mont *M)
{
    uint64_t d[8 * IFMA_MAXK], borrow = 0;
    for (int i = 0; i < M->NL; i++) {
        uint64_t v = x[i] - M->m[i] - borrow;
        borrow = v >> 63;
        d[i] = v & MASK52;
    }
    uint64_t keep = 0 - borrow; /* all ones if x < m */
    for (int i = 0; i < M->NL; i++)
        r[i] = (x[i] & keep) | (d[i] & ~keep);
}

/* out = table[idx] for a secret idx, reading every entry. */
IFMA_TARGET static void ct_select(uint64_t *out, const uint64_t *table, size_t entries, size_t idx, int K)
{
    const __m512i want = _mm512_set1_epi64((long long)idx);
    __m512i sel[IFMA_MAXK];
    for (int k = 0; k < K; k++)
        sel[k] = _mm512_setzero_si512();
    for (size_t j = 0; j < entries; j++) {
        __mmask8 hit = _mm512_cmpeq_epi64_mask(_mm512_set1_epi64((long long)j), want);
        const uint64_t *e = table + j * (size_t)K * 8;
        for (int k = 0; k < K; k++)
            sel[k] = _mm512_mask_mov_epi64(sel[k], hit, _mm512_load_si512((const void *)(e + 8 * k)));
    }
    for (int k = 0; k < K; k++)
        _mm512_store_si512((void *)(out + 8 * k), sel[k]);
}

/* ---- Montgomery context of n^2 (products of public values) ------------------------------- */

void pai_ifma_mont_init(pai_mont_t *M)
{
    M->ifma = NULL;
    ifma_mont *im = calloc(1, sizeof *im);
    if (!im)
        return;
    mpz_t n;
    mpz_init(n);
    mpz_import(n, M->L, -1, sizeof(mp_limb_t), 0, 0, M->N);
    if (mont_setup(im, n))
        M->ifma = im;
    else {
        mont_clear(im);
        free(im);
    }
    mpz_clear(n);
}

void pai_ifma_mont_free(pai_mont_t *M)
{
    if (M->ifma) {
        mont_clear(M->ifma);
        free(M->ifma);
    }
    M->ifma = NULL;
}

int pai_ifma_mulmod(const pai_mont_t *M, mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b)
{
    const ifma_mont *im = M->ifma;
    if (!im || !pai_ifma_active())
        return 0;
    uint64_t x[8 * IFMA_MAXK] __attribute__((aligned(64)));
    uint64_t y[8 * IFMA_MAXK] __attribute__((aligned(64)));
    to52(x, im->NL, a, M->L);
    to52(y, im->NL, b, M->L);
    amm(x, x, y, im);        /* a b / R */
    amm(x, x, im->rr, im);   /* a b */
    reduce_once(x, x, im);
    from52(r, M->L, x, im->NL);
    return 1;
}

/* r = a^e mod N for a public exponent e (big-endian bytes), a < N: 4-bit windows, table of 16. */
int pai_ifma_powmod_public(const pai_mont_t *M, mp_limb_t *r, const mp_limb_t *a, const uint8_t *e, size_t elen)
{
    const ifma_mont *im = M->ifma;
    if (!im || !pai_ifma_active())
        return 0;
    size_t NL = (size_t)im->NL;
    uint64_t *table = aligned_zalloc(16 * NL * sizeof(uint64_t));
    uint64_t acc[8 * IFMA_MAXK] __attribute__((aligned(64)));
    if (!table)
        return 0;
    to52(acc, im->NL, a, M->L);
    memcpy(table, im->one, NL * sizeof(uint64_t));
    amm(table + NL, acc, im->rr, im);
    for (size_t j = 2; j < 16; j++)
        amm(table + j * NL, table + (j - 1) * NL, table + NL, im);
    memcpy(acc, im->one, NL * sizeof(uint64_t));
    int started = 0;
    for (size_t i = 0; i < 2 * elen; i++) {
        unsigned d = (i % 2 == 0) ? e[i / 2] >> 4 : e[i / 2] & 15;
        if (started)
            for (int s = 0; s < 4; s++)
                amm(acc, acc, acc, im);
        if (d) {
            amm(acc, acc, table + d * NL, im);
            started = 1;
        }
    }
    uint64_t one[8 * IFMA_MAXK] __attribute__((aligned(64))) = {0};
    one[0] = 1;
    amm(acc, acc, one, im);
    reduce_once(acc, acc, im);
    from52(r, M->L, acc, im->NL);
    free(table);
    return 1;
}

/* ---- fixed-base table of h_s ------------------------------------------------------------------ */

int pai_ifma_table_build(const mpz_t base, size_t positions, size_t W, const pai_mont_t *M, void **out)
{
    *out = NULL;
    if (!M->ifma)
        return 0;
    ifma_table *t = calloc(1, sizeof *t);
    if (!t)
        return 0;
    mpz_t n;
    mpz_init(n);
    mpz_import(n, M->L, -1, sizeof(mp_limb_t), 0, 0, M->N);
    int ok = mont_setup(&t->M, n);
    mpz_clear(n);
    size_t NL = ok ? (size_t)t->M.NL : 0;
    t->positions = positions;
    t->W = W;
    t->table = ok ? aligned_zalloc(positions * W * NL * sizeof(uint64_t)) : NULL;
    uint64_t *b = aligned_zalloc(NL * sizeof(uint64_t) + 64);
    if (!t->table || !b) {
        free(b);
        pai_ifma_table_free((void **)&t);
        return 0;
    }
    mpz_to52(b, (int)NL, base);
    amm(b, b, t->M.rr, &t->M);
    for (size_t i = 0; i < positions; i++) {
        uint64_t *row = t->table + i * W * NL;
        memcpy(row, t->M.one, NL * sizeof *row);
        memcpy(row + NL, b, NL * sizeof *row);
        for (size_t j = 2; j < W; j++)
            amm(row + j * NL, row + (j - 1) * NL, b, &t->M);
        amm(b, row + (W - 1) * NL, b, &t->M);
    }
    free(b);
    *out = t;
    return 1;
}

void pai_ifma_table_free(void **tp)
{
    ifma_table *t = *tp;
    if (t) {
        free(t->table);
        mont_clear(&t->M);
        free(t);
    }
    *tp = NULL;
}

/* The base-2^w digit of a (big-endian, alen bytes) at position i. */
static size_t digit_at(const uint8_t *a, size_t alen, size_t i, size_t w)
{
    size_t d = 0, bit = i * w;
    for (size_t k = 0; k < w; k++, bit++)
        if (bit / 8 < alen)
            d |= (size_t)((a[alen - 1 - bit / 8] >> (bit % 8)) & 1) << k;
    return d;
}

/* r = h_s^a mod n^2 (plain, fully reduced) from the table; a is big-endian. The product of the
 * selected entries runs as two independent chains (even and odd positions) through amm2. */
int pai_ifma_fixed_base(const void *tp, mp_limb_t *r, size_t L, const uint8_t *a, size_t alen, size_t w)
{
    const ifma_table *t = tp;
    if (!t || !pai_ifma_active())
        return 0;
    const ifma_mont *M = &t->M;
    size_t NL = (size_t)M->NL, P = t->positions;
    uint64_t acc[2][8 * IFMA_MAXK] __attribute__((aligned(64)));
    uint64_t sel[2][8 * IFMA_MAXK] __attribute__((aligned(64)));
    for (int k = 0; k < 2; k++)
        memcpy(acc[k], M->one, NL * sizeof(uint64_t));
    for (size_t i = 0; i < P; i += 2) {
        ct_select(sel[0], t->table + i * t->W * NL, t->W, digit_at(a, alen, i, w), M->K);
        if (i + 1 < P) {
            ct_select(sel[1], t->table + (i + 1) * t->W * NL, t->W, digit_at(a, alen, i + 1, w), M->K);
            amm2(acc[0], acc[0], sel[0], M, acc[1], acc[1], sel[1], M);
        } else {
            amm(acc[0], acc[0], sel[0], M);
        }
    }
    amm(acc[0], acc[0], acc[1], M); /* (x R)(y R) / R = x y R */
    memset(sel[0], 0, sizeof sel[0]);
    sel[0][0] = 1;
    amm(acc[0], acc[0], sel[0], M); /* leave the Montgomery domain: < m + 1, so one subtraction */
    reduce_once(acc[0], acc[0], M);
    from52(r, L, acc[0], M->NL);
    rs_secure_zero(acc, sizeof acc);
    rs_secure_zero(sel, sizeof sel);
    return 1;
}

/* ---- constant-time exponentiation for decryption ---------------------------------------------- */

void *pai_ifma_exp_ctx_new(const BIGNUM *m)
{
    ifma_mont *im = calloc(1, sizeof *im);
    if (!im)
        return NULL;
    int len = BN_num_bytes(m);
    uint8_t *buf = malloc((size_t)len);
    mpz_t z;
    mpz_init(z);
    int ok = buf && BN_bn2bin(m, buf) == len;
    if (ok) {
        mpz_import(z, (size_t)len, 1, 1, 1, 0, buf);
        ok = mont_setup(im, z);
    }
    free(buf);
    mpz_clear(z);
    if (!ok) {
        mont_clear(im);
        free(im);
        return NULL;
    }
    return im;
}

void pai_ifma_exp_ctx_free(void *c)
{
    if (c) {
        mont_clear(c);
        free(c);
    }
}

/* r[k] = b[k]^e[k] mod m[k] for k < n (n = 1 or 2, equal K), fixed 5-bit windows, masked
 * table reads. Exponent lengths are public (the bit length of p - 1). */
static int exp_lanes(const ifma_mont *const *M, BIGNUM *const *r, const BIGNUM *const *b,
                     const BIGNUM *const *e, int n)
{
    size_t NL = (size_t)M[0]->NL, W = (size_t)1 << EXP_WINDOW;
    size_t L64 = (NL * 52 + 63) / 64;
    int ebits = 0;
    for (int k = 0; k < n; k++)
        if (BN_num_bits(e[k]) > ebits)
            ebits = BN_num_bits(e[k]);
    int elen = (ebits + 7) / 8 + 1;
    uint64_t *table[2] = {NULL, NULL}, *x64 = calloc(L64, sizeof(uint64_t));
    uint8_t *eb[2] = {NULL, NULL};
    uint64_t acc[2][8 * IFMA_MAXK] __attribute__((aligned(64)));
    uint64_t sel[2][8 * IFMA_MAXK] __attribute__((aligned(64)));
    int ok = x64 != NULL;
    for (int k = 0; k < n && ok; k++) {
        table[k] = aligned_zalloc(W * NL * sizeof(uint64_t));
        eb[k] = calloc((size_t)elen, 1);
        ok = table[k] && eb[k] && BN_num_bytes(b[k]) <= (int)(L64 * 8) &&
             BN_bn2lebinpad(b[k], (unsigned char *)x64, (int)(L64 * 8)) >= 0 &&
             BN_bn2lebinpad(e[k], eb[k], elen) >= 0;
        if (ok) {
            to52(acc[k], (int)NL, x64, L64);
            memcpy(table[k], M[k]->one, NL * sizeof(uint64_t));
            amm(table[k] + NL, acc[k], M[k]->rr, M[k]);
        }
    }
    if (!ok)
        goto done;
    for (size_t j = 2; j < W; j++) {
        if (n == 2)
            amm2(table[0] + j * NL, table[0] + (j - 1) * NL, table[0] + NL, M[0], table[1] + j * NL,
                 table[1] + (j - 1) * NL, table[1] + NL, M[1]);
        else
            amm(table[0] + j * NL, table[0] + (j - 1) * NL, table[0] + NL, M[0]);
    }
    size_t nwin = ((size_t)ebits + EXP_WINDOW - 1) / EXP_WINDOW;
    for (size_t i = nwin; i-- > 0;) {
        size_t d[2] = {0, 0}, bit0 = i * EXP_WINDOW;
        for (int k = 0; k < n; k++) {
            size_t bit = bit0;
            for (size_t t = 0; t < EXP_WINDOW; t++, bit++)
                d[k] |= (size_t)((eb[k][bit / 8] >> (bit % 8)) & 1) << t;
        }
        if (i == nwin - 1) {
            for (int k = 0; k < n; k++)
                ct_select(acc[k], table[k], W, d[k], M[k]->K);
            continue;
        }
        for (int s = 0; s < EXP_WINDOW; s++) {
            if (n == 2)
                amm2(acc[0], acc[0], acc[0], M[0], acc[1], acc[1], acc[1], M[1]);
            else
                amm(acc[0], acc[0], acc[0], M[0]);
        }
        for (int k = 0; k < n; k++)
            ct_select(sel[k], table[k], W, d[k], M[k]->K);
        if (n == 2)
            amm2(acc[0], acc[0], sel[0], M[0], acc[1], acc[1], sel[1], M[1]);
        else
            amm(acc[0], acc[0], sel[0], M[0]);
    }
    for (int k = 0; k < n && ok; k++) {
        memset(sel[k], 0, sizeof sel[k]);
        sel[k][0] = 1;
        amm(acc[k], acc[k], sel[k], M[k]);
        reduce_once(acc[k], acc[k], M[k]);
        from52(x64, L64, acc[k], (int)NL);
        ok = BN_lebin2bn((const unsigned char *)x64, (int)(L64 * 8), r[k]) != NULL;
    }
done:
    for (int k = 0; k < 2; k++) {
        if (table[k]) {
            rs_secure_zero(table[k], W * NL * sizeof(uint64_t));
            free(table[k]);
        }
        if (eb[k]) {
            rs_secure_zero(eb[k], (size_t)elen);
            free(eb[k]);
        }
    }
    if (x64) {
        rs_secure_zero(x64, L64 * sizeof(uint64_t));
        free(x64);
    }
    rs_secure_zero(acc, sizeof acc);
    rs_secure_zero(sel, sizeof sel);
    return ok;
}

int pai_ifma_exp(const void *c, BIGNUM *r, const BIGNUM *b, const BIGNUM *e, BN_CTX *ctx)
{
    (void)ctx;
    const ifma_mont *M = c;
    if (!M || !pai_ifma_active())
        return 0;
    return exp_lanes(&M, &r, &b, &e, 1);
}

int pai_ifma_exp2(const void *c1, const void *c2, BIGNUM *r1, BIGNUM *r2, const BIGNUM *b1, const BIGNUM *b2,
                  const BIGNUM *e1, const BIGNUM *e2)
{
    const ifma_mont *M[2] = {c1, c2};
    if (!c1 || !c2 || !pai_ifma_active() || M[0]->K != M[1]->K)
        return 0;
    BIGNUM *r[2] = {r1, r2};
    const BIGNUM *b[2] = {b1, b2}, *e[2] = {e1, e2};
    return exp_lanes(M, r, b, e, 2);
}
