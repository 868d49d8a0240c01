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

/* r = h_s^a mod n^2 (plain, fully reduced) from the table; a is big-endian. */
int pai_ifma_fixed_base(const void *tp, mp_limb_t *r, size_t L, const uint8_t *a, size_t alen, size_t w)
{
    const ifma_table *t = tp;
    if (!t || !pai_ifma_active())
        return 0;
    const ifma_mont *M = &t->M;
    size_t NL = (size_t)M->NL;
    uint64_t acc[8 * IFMA_MAXK] __attribute__((aligned(64)));
    uint64_t sel[8 * IFMA_MAXK] __attribute__((aligned(64)));
    for (size_t i = 0; i < t->positions; i++) {
        size_t bit = i * w, d = 0;
        for (size_t k = 0; k < w; k++, bit++) {
            size_t byte = bit / 8;
            if (byte < alen)
                d |= (size_t)((a[alen - 1 - byte] >> (bit % 8)) & 1) << k;
        }
        ct_select(i == 0 ? acc : sel, t->table + i * t->W * NL, t->W, d, M->K);
        if (i > 0)
            amm(acc, acc, sel, M);
    }
    memset(sel, 0, sizeof sel);
    sel[0] = 1;
    amm(acc, acc, sel, M); /* leave the Montgomery domain: < m + 1, so one subtraction */
    reduce_once(acc, acc, M);
    from52(r, L, acc, M->NL);
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

int pai_ifma_exp(const void *c, BIGNUM *r, const BIGNUM *b, const BIGNUM *e, BN_CTX *ctx)
{
    (void)ctx;
    const ifma_mont *M = c;
    if (!M || !pai_ifma_active())
        return 0;
    size_t NL = (size_t)M->NL, W = (size_t)1 << EXP_WINDOW;
    size_t L64 = (NL * 52 + 63) / 64;
    int ebits = BN_num_bits(e), elen = (ebits + 7) / 8;
    uint64_t *table = aligned_zalloc(W * NL * sizeof(uint64_t));
    uint64_t *x64 = calloc(L64, sizeof(uint64_t));
    uint8_t *eb = malloc((size_t)elen + 1);
    uint64_t acc[8 * IFMA_MAXK] __attribute__((aligned(64)));
    uint64_t sel[8 * IFMA_MAXK] __attribute__((aligned(64)));
    int ok = 0;
    if (!table || !x64 || !eb || BN_num_bytes(b) > (int)(L64 * 8))
        goto done;
    if (BN_bn2lebinpad(b, (unsigned char *)x64, (int)(L64 * 8)) < 0 || BN_bn2lebinpad(e, eb, elen) < 0)
        goto done;
    to52(acc, (int)NL, x64, L64);
    memcpy(table, M->one, NL * sizeof *table);
    amm(table + NL, acc, M->rr, M);
    for (size_t j = 2; j < W; j++)
        amm(table + j * NL, table + (j - 1) * NL, table + NL, M);
    size_t nwin = ((size_t)ebits + EXP_WINDOW - 1) / EXP_WINDOW;
    for (size_t i = nwin; i-- > 0;) {
        size_t d = 0, bit = i * EXP_WINDOW;
        for (size_t k = 0; k < EXP_WINDOW; k++, bit++)
            if (bit / 8 < (size_t)elen)
                d |= (size_t)((eb[bit / 8] >> (bit % 8)) & 1) << k;
        if (i == nwin - 1) {
            ct_select(acc, table, W, d, M->K);
            continue;
        }
        for (int s = 0; s < EXP_WINDOW; s++)
            amm(acc, acc, acc, M);
        ct_select(sel, table, W, d, M->K);
        amm(acc, acc, sel, M);
    }
    memset(sel, 0, sizeof sel);
    sel[0] = 1;
    amm(acc, acc, sel, M);
    reduce_once(acc, acc, M);
    from52(x64, L64, acc, (int)NL);
    ok = BN_lebin2bn((const unsigned char *)x64, (int)(L64 * 8), r) != NULL;
done:
    if (table) {
        rs_secure_zero(table, W * NL * sizeof(uint64_t));
        free(table);
    }
    if (x64) {
        rs_secure_zero(x64, L64 * sizeof(uint64_t));
        free(x64);
    }
    if (eb) {
        rs_secure_zero(eb, (size_t)elen + 1);
        free(eb);
    }
    rs_secure_zero(acc, sizeof acc);
    rs_secure_zero(sel, sizeof sel);
    return ok;
}
