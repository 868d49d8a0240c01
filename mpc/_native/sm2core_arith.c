/* SM2 arithmetic core: field mod p, scalars mod n, points, scalar multiplication, SM2 signature
 * math. No Python here (the driver tests/ct/sm2core_ct.c compiles this file on its own); the
 * binding is sm2core.c, the API sm2core.h.
 *
 * Field elements are 4 x 64-bit little-endian limbs in Montgomery form (R = 2^256), always fully
 * reduced (< p), so equality and zero tests are exact. Since p = -1 mod 2^64, the Montgomery
 * factor of every reduction step is the low limb itself, and m*p is made of shifts and
 * subtractions (p's limbs are 2^64-1, 2^64-2^32, 2^64-1, 2^64-2^32-1).
 *
 * Two field implementations: portable C with unsigned __int128, and mulx/adcx/adox inline
 * assembly (BMI2 + ADX), chosen per call from rs_cpu. The group layer (sm2core_group.h) is
 * compiled once per implementation so the inner loops make direct calls.
 */
/* The build's -O2 leaves the small limb loops around the assembly (masked moves, halving,
 * negation, the portable field code) partly rolled; -O3 is about 3% faster here. */
#pragma GCC optimize("O3")

#include "rs.h"
#include "sm2core.h"

#include <gmp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef RS_SM2C_CTGRIND
#include <valgrind/memcheck.h>
/* A value derived from secrets that the protocol makes public (r, s, a validity flag). */
#define DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
/* Fresh secrets drawn inside the core (nonces) are marked secret for the checker. */
#define CLASSIFY(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#else
#define DECLASSIFY(p, n) ((void)0)
#define CLASSIFY(p, n) ((void)0)
#endif

typedef uint64_t u64;
typedef unsigned __int128 u128;

typedef struct {
    u64 X[4], Y[4], Z[4];
} jac;
typedef struct {
    u64 x[4], y[4];
} aff;

/* ---- constants ------------------------------------------------------------------------- */
static const u64 P_[4] = {0xffffffffffffffffULL, 0xffffffff00000000ULL, 0xffffffffffffffffULL,
                          0xfffffffeffffffffULL};
static const u64 N_[4] = {0x53bbf40939d54123ULL, 0x7203df6b21c6052bULL, 0xffffffffffffffffULL,
                          0xfffffffeffffffffULL};
static const u64 R2P[4] = {0x0000000200000003ULL, 0x00000002ffffffffULL, 0x0000000100000001ULL,
                           0x0000000400000002ULL};
static const u64 R2N[4] = {0x901192af7c114f20ULL, 0x3464504ade6fa2faULL, 0x620fc84c3affe0d4ULL,
                           0x1eb5e412a22b3d3bULL};
static const u64 FE_ONE[4] = {0x0000000000000001ULL, 0x00000000ffffffffULL, 0x0000000000000000ULL,
                              0x0000000100000000ULL}; /* R mod p */
static const u64 FE_B[4] = {0x90d230632bc0dd42ULL, 0x71cf379ae9b537abULL, 0x527981505ea51c3cULL,
                            0x240fe188ba20e2c8ULL};
static const u64 G_X[4] = {0x61328990f418029eULL, 0x3e7981eddca6c050ULL, 0xd6a1ed99ac24c3c3ULL,
                           0x91167a5ee1c13b05ULL};
static const u64 G_Y[4] = {0xc1354e593c2d0dddULL, 0xc1f5e5788d3295faULL, 0x8d4cfb066e2a48f8ULL,
                           0x63cd65d481d735bdULL};
static const u64 N0INV = 0x327f9e8872350975ULL; /* -n^-1 mod 2^64 */
static const u64 R3P[4] = {0x0000001200000016ULL, 0x0000000efffffff8ULL, 0x0000000a0000000cULL,
                           0x0000001b00000009ULL}; /* R^3 mod p */
static const u64 R3N[4] = {0x6ff874c70eaa0b85ULL, 0x87d0c315aabe8d32ULL, 0x4c4fbbb397185afcULL,
                           0xc813249cd574ea14ULL}; /* R^3 mod n */
static const uint8_t N_MINUS_2[32] = {
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x21};
/* a, b, xG, yG big-endian for Z_A */
static const uint8_t CURVE_ABG[128] = {
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc,
    0x28, 0xe9, 0xfa, 0x9e, 0x9d, 0x9f, 0x5e, 0x34, 0x4d, 0x5a, 0x9e, 0x4b, 0xcf, 0x65, 0x09, 0xa7,
    0xf3, 0x97, 0x89, 0xf5, 0x15, 0xab, 0x8f, 0x92, 0xdd, 0xbc, 0xbd, 0x41, 0x4d, 0x94, 0x0e, 0x93,
    0x32, 0xc4, 0xae, 0x2c, 0x1f, 0x19, 0x81, 0x19, 0x5f, 0x99, 0x04, 0x46, 0x6a, 0x39, 0xc9, 0x94,
    0x8f, 0xe3, 0x0b, 0xbf, 0xf2, 0x66, 0x0b, 0xe1, 0x71, 0x5a, 0x45, 0x89, 0x33, 0x4c, 0x74, 0xc7,
    0xbc, 0x37, 0x36, 0xa2, 0xf4, 0xf6, 0x77, 0x9c, 0x59, 0xbd, 0xce, 0xe3, 0x6b, 0x69, 0x21, 0x53,
    0xd0, 0xa9, 0x87, 0x7c, 0xc6, 0x2a, 0x47, 0x40, 0x02, 0xdf, 0x32, 0xe5, 0x21, 0x39, 0xf0, 0xa0};

/* Window parameters. */
#define VAR_W 5
#define VAR_TABLE 16   /* 2^(VAR_W-1) */
#define VAR_WINDOWS 52 /* ceil(257 / 5): 5*51 + 4 >= 256 */
#define G_W 7
#define G_TABLE 64     /* 2^(G_W-1) */
#define G_WINDOWS 37   /* 7*36 + 6 >= 256 */
#define K_W 6          /* per-public-key comb of the verification cache */
#define K_TABLE 32
#define K_WINDOWS 43   /* 6*42 + 5 >= 256 */
#define WNAF_W 5
#define WNAF_TABLE 8   /* odd multiples 1..15 */
#define NAF_LEN 258
#define CACHE_SLOTS 16

static aff *g_table;  /* G_WINDOWS * G_TABLE odd multiples: [i][j] = (2j + 1) 2^(G_W i) G */
#define G_ODD 64       /* G, 3G, ..., 127G for the width-8 wNAF of verification */
static aff *g_odd;

/* ---- constant-time helpers ------------------------------------------------------------- */
static inline u64 ct_nonzero_mask(u64 x) /* all ones if x != 0 */
{
    return 0 - ((x | (0 - x)) >> 63);
}
static inline u64 ct_eq_mask(u64 a, u64 b)
{
    return ~ct_nonzero_mask(a ^ b);
}
static inline u64 fe_zero_mask(const u64 a[4])
{
    return ~ct_nonzero_mask(a[0] | a[1] | a[2] | a[3]);
}
static inline int fe_is_zero(const u64 a[4]) /* variable time */
{
    return (a[0] | a[1] | a[2] | a[3]) == 0;
}
static inline int fe_equal(const u64 a[4], const u64 b[4]) /* variable time */
{
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}
static inline void fe_cmov(u64 r[4], const u64 a[4], u64 mask) /* r = mask ? a : r */
{
    for (int i = 0; i < 4; i++)
        r[i] ^= (r[i] ^ a[i]) & mask;
}
static inline void fe_select(u64 r[4], const u64 a[4], const u64 b[4], u64 mask) /* mask ? b : a */
{
    for (int i = 0; i < 4; i++)
        r[i] = a[i] ^ ((a[i] ^ b[i]) & mask);
}
static inline void jac_cmov(jac *r, const jac *a, u64 mask)
{
    fe_cmov(r->X, a->X, mask);
    fe_cmov(r->Y, a->Y, mask);
    fe_cmov(r->Z, a->Z, mask);
}
#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX2_SELECT 1
/* The same scans with 256-bit masks (vpcmpeqq) and byte blends (vpblendvb: one operation per
 * half entry instead of an and and an or): every entry is still read, two chains of
 * accumulators (even and odd entries) keep the blends' dependency chains short. */
__attribute__((target("avx2"))) static void aff_select_avx2(u64 x[4], u64 y[4], const aff *table,
                                                           size_t n, u64 idx)
{
    __m256i ax0 = _mm256_setzero_si256(), ay0 = _mm256_setzero_si256();
    __m256i ax1 = _mm256_setzero_si256(), ay1 = _mm256_setzero_si256();
    const __m256i vidx = _mm256_set1_epi64x((long long)idx), two = _mm256_set1_epi64x(2);
    __m256i c0 = _mm256_set1_epi64x(1), c1 = _mm256_set1_epi64x(2);
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        __m256i m0 = _mm256_cmpeq_epi64(c0, vidx), m1 = _mm256_cmpeq_epi64(c1, vidx);
        ax0 = _mm256_blendv_epi8(ax0, _mm256_loadu_si256((const __m256i *)table[i].x), m0);
        ay0 = _mm256_blendv_epi8(ay0, _mm256_loadu_si256((const __m256i *)table[i].y), m0);
        ax1 = _mm256_blendv_epi8(ax1, _mm256_loadu_si256((const __m256i *)table[i + 1].x), m1);
        ay1 = _mm256_blendv_epi8(ay1, _mm256_loadu_si256((const __m256i *)table[i + 1].y), m1);
        c0 = _mm256_add_epi64(c0, two);
        c1 = _mm256_add_epi64(c1, two);
    }
    if (i < n) {
        __m256i m0 = _mm256_cmpeq_epi64(c0, vidx);
        ax0 = _mm256_blendv_epi8(ax0, _mm256_loadu_si256((const __m256i *)table[i].x), m0);
        ay0 = _mm256_blendv_epi8(ay0, _mm256_loadu_si256((const __m256i *)table[i].y), m0);
    }
    _mm256_storeu_si256((__m256i *)x, _mm256_or_si256(ax0, ax1));
    _mm256_storeu_si256((__m256i *)y, _mm256_or_si256(ay0, ay1));
}

#endif

/* x, y = table[idx - 1], or all zero (infinity) when idx = 0; reads every entry. */
static void aff_select(u64 x[4], u64 y[4], const aff *table, size_t n, u64 idx)
{
#ifdef HAVE_AVX2_SELECT
    if (rs_cpu.avx2) {
        aff_select_avx2(x, y, table, n, idx);
        return;
    }
#endif
    u64 acc[8] = {0};
    for (size_t i = 0; i < n; i++) {
        u64 m = ct_eq_mask(i + 1, idx);
        const u64 *e = (const u64 *)&table[i];
        for (int j = 0; j < 8; j++)
            acc[j] |= e[j] & m;
    }
    memcpy(x, acc, 32);
    memcpy(y, acc + 4, 32);
}

static inline void load_be(u64 r[4], const uint8_t in[32])
{
    for (int i = 0; i < 4; i++) {
        u64 v = 0;
        for (int j = 0; j < 8; j++)
            v = (v << 8) | in[(3 - i) * 8 + j];
        r[i] = v;
    }
}
static inline void store_be(uint8_t out[32], const u64 a[4])
{
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            out[(3 - i) * 8 + j] = (uint8_t)(a[i] >> (56 - 8 * j));
}
/* a < m as a mask, constant time. */
static inline u64 lt_mask(const u64 a[4], const u64 m[4])
{
    u64 borrow = 0;
    for (int i = 0; i < 4; i++) {
        u128 d = (u128)a[i] - m[i] - borrow;
        borrow = (u64)(d >> 64) & 1;
    }
    return 0 - borrow;
}

/* ---- field mod p: add/sub (shared by both implementations) ----------------------------- */
static inline void fe_add(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 t[4], s[4], c = 0, bb = 0;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)a[i] + b[i] + c;
        t[i] = (u64)v;
        c = (u64)(v >> 64);
    }
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)t[i] - P_[i] - bb;
        s[i] = (u64)v;
        bb = (u64)(v >> 64) & 1;
    }
    u64 keep = 0 - ((c ^ 1) & bb); /* a + b < p: keep t */
    for (int i = 0; i < 4; i++)
        r[i] = s[i] ^ ((s[i] ^ t[i]) & keep);
}
static inline void fe_sub(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 t[4], bb = 0, c = 0;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)a[i] - b[i] - bb;
        t[i] = (u64)v;
        bb = (u64)(v >> 64) & 1;
    }
    u64 m = 0 - bb;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)t[i] + (P_[i] & m) + c;
        r[i] = (u64)v;
        c = (u64)(v >> 64);
    }
}
/* a / 2 mod p: add p when a is odd (by mask), shift right by one. */
static inline void fe_half(u64 r[4], const u64 a[4])
{
    u64 m = 0 - (a[0] & 1), t[4], c = 0;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)a[i] + (P_[i] & m) + c;
        t[i] = (u64)v;
        c = (u64)(v >> 64);
    }
    r[0] = (t[0] >> 1) | (t[1] << 63);
    r[1] = (t[1] >> 1) | (t[2] << 63);
    r[2] = (t[2] >> 1) | (t[3] << 63);
    r[3] = (t[3] >> 1) | (c << 63);
}

static inline void fe_neg(u64 r[4], const u64 a[4])
{
    static const u64 zero[4] = {0, 0, 0, 0};
    fe_sub(r, zero, a);
}

/* y = -y when mask is all ones, for y != 0 (table entries: no point has y = 0): p - y by one
 * borrow chain, selected by mask. Constant time. */
static inline void fe_cneg_nz(u64 y[4], u64 mask)
{
    u64 n[4], bb = 0;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)P_[i] - y[i] - bb;
        n[i] = (u64)v;
        bb = (u64)(v >> 64) & 1;
    }
    for (int i = 0; i < 4; i++)
        y[i] ^= (y[i] ^ n[i]) & mask;
}

/* ---- field mod p: portable Montgomery multiplication ------------------------------------ */
/* t (5 limbs, < 2p) minus p if >= p, into r. */
static inline void fe_final_sub(u64 r[4], u64 t0, u64 t1, u64 t2, u64 t3, u64 t4)
{
    u64 s[4], bb = 0, t[4] = {t0, t1, t2, t3};
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)t[i] - P_[i] - bb;
        s[i] = (u64)v;
        bb = (u64)(v >> 64) & 1;
    }
    u64 keep = 0 - ((t4 ^ 1) & bb);
    for (int i = 0; i < 4; i++)
        r[i] = s[i] ^ ((s[i] ^ t[i]) & keep);
}

static void fe_mul_port(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5;
    u128 c;
    for (int i = 0; i < 4; i++) {
        u64 bi = b[i];
        c = (u128)a[0] * bi + t0;
        t0 = (u64)c;
        c = (u128)a[1] * bi + t1 + (u64)(c >> 64);
        t1 = (u64)c;
        c = (u128)a[2] * bi + t2 + (u64)(c >> 64);
        t2 = (u64)c;
        c = (u128)a[3] * bi + t3 + (u64)(c >> 64);
        t3 = (u64)c;
        c = (u128)t4 + (u64)(c >> 64);
        t4 = (u64)c;
        t5 = (u64)(c >> 64);
        /* m = t0; t += m*p; t >>= 64. t0 + m*(2^64-1) = m*2^64: the carry is m. */
        u64 m = t0;
        u128 mh = (u128)m << 64, m32 = (u128)m << 32;
        c = (u128)t1 + m + mh - m32; /* + m*(2^64 - 2^32) */
        t0 = (u64)c;
        c = (u128)t2 + (u64)(c >> 64) + mh - m; /* + m*(2^64 - 1) */
        t1 = (u64)c;
        c = (u128)t3 + (u64)(c >> 64) + mh - m32 - m; /* + m*(2^64 - 2^32 - 1) */
        t2 = (u64)c;
        c = (u128)t4 + (u64)(c >> 64);
        t3 = (u64)c;
        t4 = t5 + (u64)(c >> 64);
    }
    fe_final_sub(r, t0, t1, t2, t3, t4);
}

/* Squaring: gcc's code for a dedicated __int128 squaring came out slower than the multiplication
 * (89 against 74 cycles), so the portable path squares by multiplying. */
static inline void fe_sqr_port(u64 r[4], const u64 a[4])
{
    fe_mul_port(r, a, a);
}

/* ---- field mod p: mulx / adcx / adox ---------------------------------------------------- */
#if defined(__x86_64__)
#define HAVE_ADX_PATH 1
/* Montgomery multiplication: 4x4 product with mulx and two carry chains per row (adcx on CF,
 * adox on OF), then four reduction steps on the low half specialised to p (m = t0, and
 * (t + m p) / 2^64 = t/2^64 + [m, 0, 0, m] - [m<<32, m>>32, m<<32, m>>32], exact mod 2^256
 * since the result is < 2^256), then the high half added and p subtracted by cmov. The four
 * steps rotate the roles of the four registers, so no moves are needed between them. */
#define SM2_MONT_REDUCE_AND_FINISH                                                             \
    /* step 1: m = t0 -> window [t1 t2 t3 t0] */                                              \
    "movq %[t0], %%rax\n\t"                                                                    \
    "movq %[t0], %%rcx\n\t"                                                                    \
    "shlq $32, %%rax\n\t"                                                                      \
    "shrq $32, %%rcx\n\t"                                                                      \
    "addq %[t0], %[t1]\n\t"                                                                    \
    "adcq $0, %[t2]\n\t"                                                                       \
    "adcq $0, %[t3]\n\t"                                                                       \
    "adcq $0, %[t0]\n\t"                                                                       \
    "subq %%rax, %[t1]\n\t"                                                                    \
    "sbbq %%rcx, %[t2]\n\t"                                                                    \
    "sbbq %%rax, %[t3]\n\t"                                                                    \
    "sbbq %%rcx, %[t0]\n\t"                                                                    \
    /* step 2: m = t1 -> [t2 t3 t0 t1] */                                                     \
    "movq %[t1], %%rax\n\t"                                                                    \
    "movq %[t1], %%rcx\n\t"                                                                    \
    "shlq $32, %%rax\n\t"                                                                      \
    "shrq $32, %%rcx\n\t"                                                                      \
    "addq %[t1], %[t2]\n\t"                                                                    \
    "adcq $0, %[t3]\n\t"                                                                       \
    "adcq $0, %[t0]\n\t"                                                                       \
    "adcq $0, %[t1]\n\t"                                                                       \
    "subq %%rax, %[t2]\n\t"                                                                    \
    "sbbq %%rcx, %[t3]\n\t"                                                                    \
    "sbbq %%rax, %[t0]\n\t"                                                                    \
    "sbbq %%rcx, %[t1]\n\t"                                                                    \
    /* step 3: m = t2 -> [t3 t0 t1 t2] */                                                     \
    "movq %[t2], %%rax\n\t"                                                                    \
    "movq %[t2], %%rcx\n\t"                                                                    \
    "shlq $32, %%rax\n\t"                                                                      \
    "shrq $32, %%rcx\n\t"                                                                      \
    "addq %[t2], %[t3]\n\t"                                                                    \
    "adcq $0, %[t0]\n\t"                                                                       \
    "adcq $0, %[t1]\n\t"                                                                       \
    "adcq $0, %[t2]\n\t"                                                                       \
    "subq %%rax, %[t3]\n\t"                                                                    \
    "sbbq %%rcx, %[t0]\n\t"                                                                    \
    "sbbq %%rax, %[t1]\n\t"                                                                    \
    "sbbq %%rcx, %[t2]\n\t"                                                                    \
    /* step 4: m = t3 -> [t0 t1 t2 t3] */                                                     \
    "movq %[t3], %%rax\n\t"                                                                    \
    "movq %[t3], %%rcx\n\t"                                                                    \
    "shlq $32, %%rax\n\t"                                                                      \
    "shrq $32, %%rcx\n\t"                                                                      \
    "addq %[t3], %[t0]\n\t"                                                                    \
    "adcq $0, %[t1]\n\t"                                                                       \
    "adcq $0, %[t2]\n\t"                                                                       \
    "adcq $0, %[t3]\n\t"                                                                       \
    "subq %%rax, %[t0]\n\t"                                                                    \
    "sbbq %%rcx, %[t1]\n\t"                                                                    \
    "sbbq %%rax, %[t2]\n\t"                                                                    \
    "sbbq %%rcx, %[t3]\n\t"                                                                    \
    /* + high half, carry in r8 */                                                            \
    "movl $0, %%r8d\n\t"                                                                       \
    "addq %[t4], %[t0]\n\t"                                                                    \
    "adcq %[t5], %[t1]\n\t"                                                                    \
    "adcq %[t6], %[t2]\n\t"                                                                    \
    "adcq %[t7], %[t3]\n\t"                                                                    \
    "adcq $0, %%r8\n\t"                                                                        \
    /* s = t - p; keep t if that borrows */                                                   \
    "movq %[t0], %[t4]\n\t"                                                                    \
    "movq %[t1], %[t5]\n\t"                                                                    \
    "movq %[t2], %[t6]\n\t"                                                                    \
    "movq %[t3], %[t7]\n\t"                                                                    \
    "movabsq $0xffffffff00000000, %%rax\n\t"                                                   \
    "movabsq $0xfffffffeffffffff, %%rcx\n\t"                                                   \
    "subq $-1, %[t4]\n\t"                                                                      \
    "sbbq %%rax, %[t5]\n\t"                                                                    \
    "sbbq $-1, %[t6]\n\t"                                                                      \
    "sbbq %%rcx, %[t7]\n\t"                                                                    \
    "sbbq $0, %%r8\n\t"                                                                        \
    "cmovncq %[t4], %[t0]\n\t"                                                                 \
    "cmovncq %[t5], %[t1]\n\t"                                                                 \
    "cmovncq %[t6], %[t2]\n\t"                                                                 \
    "cmovncq %[t7], %[t3]\n\t"

/* 4x4 schoolbook product of a and b into t0..t7: mulx, adcx (CF) and adox (OF) chains. */
#define SM2_PRODUCT_4X4 \
    /* row 0: b0 * a */ \
    "movq 0(%[b]), %%rdx\n\t" \
    "xorl %%r8d, %%r8d\n\t" \
    "mulx 0(%[a]), %[t0], %[t1]\n\t" \
    "mulx 8(%[a]), %%rax, %[t2]\n\t" \
    "adcx %%rax, %[t1]\n\t" \
    "mulx 16(%[a]), %%rax, %[t3]\n\t" \
    "adcx %%rax, %[t2]\n\t" \
    "mulx 24(%[a]), %%rax, %[t4]\n\t" \
    "adcx %%rax, %[t3]\n\t" \
    "adcx %%r8, %[t4]\n\t" \
    /* row 1 */ \
    "movq 8(%[b]), %%rdx\n\t" \
    "xorl %%r8d, %%r8d\n\t" \
    "mulx 0(%[a]), %%rax, %%rcx\n\t" \
    "adcx %%rax, %[t1]\n\t" \
    "adox %%rcx, %[t2]\n\t" \
    "mulx 8(%[a]), %%rax, %%rcx\n\t" \
    "adcx %%rax, %[t2]\n\t" \
    "adox %%rcx, %[t3]\n\t" \
    "mulx 16(%[a]), %%rax, %%rcx\n\t" \
    "adcx %%rax, %[t3]\n\t" \
    "adox %%rcx, %[t4]\n\t" \
    "mulx 24(%[a]), %%rax, %[t5]\n\t" \
    "adcx %%rax, %[t4]\n\t" \
    "adox %%r8, %[t5]\n\t" \
    "adcx %%r8, %[t5]\n\t" \
    /* row 2 */ \
    "movq 16(%[b]), %%rdx\n\t" \
    "xorl %%r8d, %%r8d\n\t" \
    "mulx 0(%[a]), %%rax, %%rcx\n\t" \
    "adcx %%rax, %[t2]\n\t" \
    "adox %%rcx, %[t3]\n\t" \
    "mulx 8(%[a]), %%rax, %%rcx\n\t" \
    "adcx %%rax, %[t3]\n\t" \
    "adox %%rcx, %[t4]\n\t" \
    "mulx 16(%[a]), %%rax, %%rcx\n\t" \
    "adcx %%rax, %[t4]\n\t" \
    "adox %%rcx, %[t5]\n\t" \
    "mulx 24(%[a]), %%rax, %[t6]\n\t" \
    "adcx %%rax, %[t5]\n\t" \
    "adox %%r8, %[t6]\n\t" \
    "adcx %%r8, %[t6]\n\t" \
    /* row 3 */ \
    "movq 24(%[b]), %%rdx\n\t" \
    "xorl %%r8d, %%r8d\n\t" \
    "mulx 0(%[a]), %%rax, %%rcx\n\t" \
    "adcx %%rax, %[t3]\n\t" \
    "adox %%rcx, %[t4]\n\t" \
    "mulx 8(%[a]), %%rax, %%rcx\n\t" \
    "adcx %%rax, %[t4]\n\t" \
    "adox %%rcx, %[t5]\n\t" \
    "mulx 16(%[a]), %%rax, %%rcx\n\t" \
    "adcx %%rax, %[t5]\n\t" \
    "adox %%rcx, %[t6]\n\t" \
    "mulx 24(%[a]), %%rax, %[t7]\n\t" \
    "adcx %%rax, %[t6]\n\t" \
    "adox %%r8, %[t7]\n\t" \
    "adcx %%r8, %[t7]\n\t" \


__attribute__((target("bmi2,adx"), always_inline)) static inline void fe_mul_adx(u64 r[4], const u64 a[4],
                                                           const u64 b[4])
{
    u64 t0, t1, t2, t3, t4, t5, t6, t7;
    __asm__(
        SM2_PRODUCT_4X4
        SM2_MONT_REDUCE_AND_FINISH
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
          [t5] "=&r"(t5), [t6] "=&r"(t6), [t7] "=&r"(t7)
        : [a] "r"(a), [b] "r"(b), "m"(*(const u64(*)[4])a), "m"(*(const u64(*)[4])b)
        : "rax", "rcx", "rdx", "r8", "cc");
    r[0] = t0;
    r[1] = t1;
    r[2] = t2;
    r[3] = t3;
}

/* Montgomery squaring: the six cross products once (mulx), doubled, plus the squares. */
__attribute__((target("bmi2,adx"), always_inline)) static inline void fe_sqr_adx(u64 r[4], const u64 a[4])
{
    u64 t0, t1, t2, t3, t4, t5, t6, t7;
    __asm__(
        /* cross products: t1..t6 = sum a_i a_j (i < j) */
        "movq 0(%[a]), %%rdx\n\t"
        "xorl %%r8d, %%r8d\n\t"
        "mulx 8(%[a]), %[t1], %[t2]\n\t"
        "mulx 16(%[a]), %%rax, %[t3]\n\t"
        "adcx %%rax, %[t2]\n\t"
        "mulx 24(%[a]), %%rax, %[t4]\n\t"
        "adcx %%rax, %[t3]\n\t"
        "movq 8(%[a]), %%rdx\n\t"
        "mulx 24(%[a]), %%rax, %[t5]\n\t"
        "adcx %%rax, %[t4]\n\t"
        "movq 16(%[a]), %%rdx\n\t"
        "mulx 24(%[a]), %%rax, %[t6]\n\t"
        "adcx %%rax, %[t5]\n\t"
        "adcx %%r8, %[t6]\n\t" /* CF = 0 now */
        "movq 8(%[a]), %%rdx\n\t"
        "mulx 16(%[a]), %%rax, %%rcx\n\t"
        "adcx %%rax, %[t3]\n\t"
        "adcx %%rcx, %[t4]\n\t"
        "adcx %%r8, %[t5]\n\t"
        "adcx %%r8, %[t6]\n\t"
        /* double (t7 = top bit) and add the squares a_i^2 */
        "xorl %k[t7], %k[t7]\n\t"
        "adcx %[t1], %[t1]\n\t"
        "adcx %[t2], %[t2]\n\t"
        "adcx %[t3], %[t3]\n\t"
        "adcx %[t4], %[t4]\n\t"
        "adcx %[t5], %[t5]\n\t"
        "adcx %[t6], %[t6]\n\t"
        "adcx %[t7], %[t7]\n\t"
        "movq 0(%[a]), %%rdx\n\t"
        "mulx %%rdx, %[t0], %%rcx\n\t"
        "addq %%rcx, %[t1]\n\t"
        "movq 8(%[a]), %%rdx\n\t"
        "mulx %%rdx, %%rax, %%rcx\n\t"
        "adcq %%rax, %[t2]\n\t"
        "adcq %%rcx, %[t3]\n\t"
        "movq 16(%[a]), %%rdx\n\t"
        "mulx %%rdx, %%rax, %%rcx\n\t"
        "adcq %%rax, %[t4]\n\t"
        "adcq %%rcx, %[t5]\n\t"
        "movq 24(%[a]), %%rdx\n\t"
        "mulx %%rdx, %%rax, %%rcx\n\t"
        "adcq %%rax, %[t6]\n\t"
        "adcq %%rcx, %[t7]\n\t"
        SM2_MONT_REDUCE_AND_FINISH
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
          [t5] "=&r"(t5), [t6] "=&r"(t6), [t7] "=&r"(t7)
        : [a] "r"(a), "m"(*(const u64(*)[4])a)
        : "rax", "rcx", "rdx", "r8", "cc");
    r[0] = t0;
    r[1] = t1;
    r[2] = t2;
    r[3] = t3;
}

/* Modular addition / subtraction with carry chains and cmov (no secret-dependent branch). */
static inline void fe_add_asm(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 t0, t1, t2, t3, s0, s1, s2, s3, c;
    __asm__("movq 0(%[a]), %[t0]\n\t"
            "movq 8(%[a]), %[t1]\n\t"
            "movq 16(%[a]), %[t2]\n\t"
            "movq 24(%[a]), %[t3]\n\t"
            "xorl %k[c], %k[c]\n\t"
            "addq 0(%[b]), %[t0]\n\t"
            "adcq 8(%[b]), %[t1]\n\t"
            "adcq 16(%[b]), %[t2]\n\t"
            "adcq 24(%[b]), %[t3]\n\t"
            "adcq $0, %[c]\n\t"
            "movq %[t0], %[s0]\n\t"
            "movq %[t1], %[s1]\n\t"
            "movq %[t2], %[s2]\n\t"
            "movq %[t3], %[s3]\n\t"
            "subq $-1, %[s0]\n\t"
            "sbbq %[p1], %[s1]\n\t"
            "sbbq $-1, %[s2]\n\t"
            "sbbq %[p3], %[s3]\n\t"
            "sbbq $0, %[c]\n\t"
            "cmovcq %[t0], %[s0]\n\t"
            "cmovcq %[t1], %[s1]\n\t"
            "cmovcq %[t2], %[s2]\n\t"
            "cmovcq %[t3], %[s3]\n\t"
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [s0] "=&r"(s0),
              [s1] "=&r"(s1), [s2] "=&r"(s2), [s3] "=&r"(s3), [c] "=&r"(c)
            : [a] "r"(a), [b] "r"(b), [p1] "r"(0xffffffff00000000ULL),
              [p3] "r"(0xfffffffeffffffffULL), "m"(*(const u64(*)[4])a),
              "m"(*(const u64(*)[4])b)
            : "cc");
    r[0] = s0;
    r[1] = s1;
    r[2] = s2;
    r[3] = s3;
}

/* r = 3a: the two additions of fe_add_asm with the intermediate 2a kept in registers. */
static inline void fe_triple_asm(u64 r[4], const u64 a[4])
{
    u64 t0, t1, t2, t3, s0, s1, s2, s3, c;
    __asm__("movq 0(%[a]), %[t0]\n\t"
            "movq 8(%[a]), %[t1]\n\t"
            "movq 16(%[a]), %[t2]\n\t"
            "movq 24(%[a]), %[t3]\n\t"
            /* t = t + a mod p, twice */
            "xorl %k[c], %k[c]\n\t"
            "addq 0(%[a]), %[t0]\n\t"
            "adcq 8(%[a]), %[t1]\n\t"
            "adcq 16(%[a]), %[t2]\n\t"
            "adcq 24(%[a]), %[t3]\n\t"
            "adcq $0, %[c]\n\t"
            "movq %[t0], %[s0]\n\t"
            "movq %[t1], %[s1]\n\t"
            "movq %[t2], %[s2]\n\t"
            "movq %[t3], %[s3]\n\t"
            "subq $-1, %[s0]\n\t"
            "sbbq %[p1], %[s1]\n\t"
            "sbbq $-1, %[s2]\n\t"
            "sbbq %[p3], %[s3]\n\t"
            "sbbq $0, %[c]\n\t"
            "cmovncq %[s0], %[t0]\n\t"
            "cmovncq %[s1], %[t1]\n\t"
            "cmovncq %[s2], %[t2]\n\t"
            "cmovncq %[s3], %[t3]\n\t"
            "xorl %k[c], %k[c]\n\t"
            "addq 0(%[a]), %[t0]\n\t"
            "adcq 8(%[a]), %[t1]\n\t"
            "adcq 16(%[a]), %[t2]\n\t"
            "adcq 24(%[a]), %[t3]\n\t"
            "adcq $0, %[c]\n\t"
            "movq %[t0], %[s0]\n\t"
            "movq %[t1], %[s1]\n\t"
            "movq %[t2], %[s2]\n\t"
            "movq %[t3], %[s3]\n\t"
            "subq $-1, %[s0]\n\t"
            "sbbq %[p1], %[s1]\n\t"
            "sbbq $-1, %[s2]\n\t"
            "sbbq %[p3], %[s3]\n\t"
            "sbbq $0, %[c]\n\t"
            "cmovncq %[s0], %[t0]\n\t"
            "cmovncq %[s1], %[t1]\n\t"
            "cmovncq %[s2], %[t2]\n\t"
            "cmovncq %[s3], %[t3]\n\t"
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [s0] "=&r"(s0),
              [s1] "=&r"(s1), [s2] "=&r"(s2), [s3] "=&r"(s3), [c] "=&r"(c)
            : [a] "r"(a), [p1] "r"(0xffffffff00000000ULL), [p3] "r"(0xfffffffeffffffffULL),
              "m"(*(const u64(*)[4])a)
            : "cc");
    r[0] = t0;
    r[1] = t1;
    r[2] = t2;
    r[3] = t3;
}

/* r = a - b/2: b halved (p added when b is odd, one shift right through the carry) and
 * subtracted in registers; masks only. */
static inline void fe_sub_half_asm(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 h0, h1, h2, h3, c, m, m1, m3;
    __asm__("movq 0(%[b]), %[h0]\n\t"
            "movq 8(%[b]), %[h1]\n\t"
            "movq 16(%[b]), %[h2]\n\t"
            "movq 24(%[b]), %[h3]\n\t"
            "movq %[h0], %[m]\n\t"
            "andq $1, %[m]\n\t"
            "negq %[m]\n\t" /* all ones when b is odd */
            "movabsq $0xffffffff00000000, %[m1]\n\t"
            "movabsq $0xfffffffeffffffff, %[m3]\n\t"
            "andq %[m], %[m1]\n\t"
            "andq %[m], %[m3]\n\t"
            "xorl %k[c], %k[c]\n\t"
            "addq %[m], %[h0]\n\t"
            "adcq %[m1], %[h1]\n\t"
            "adcq %[m], %[h2]\n\t"
            "adcq %[m3], %[h3]\n\t"
            "adcq $0, %[c]\n\t"
            "shrdq $1, %[h1], %[h0]\n\t"
            "shrdq $1, %[h2], %[h1]\n\t"
            "shrdq $1, %[h3], %[h2]\n\t"
            "shrdq $1, %[c], %[h3]\n\t"
            /* r = a - h: a loaded into (m1 ... ) registers reused below */
            "movq 0(%[a]), %[c]\n\t"
            "movq 8(%[a]), %[m1]\n\t"
            "movq 16(%[a]), %[m3]\n\t"
            "movq 24(%[a]), %[m]\n\t"
            "subq %[h0], %[c]\n\t"
            "sbbq %[h1], %[m1]\n\t"
            "sbbq %[h2], %[m3]\n\t"
            "sbbq %[h3], %[m]\n\t"
            "sbbq %[h0], %[h0]\n\t" /* h0 = borrow mask */
            "movabsq $0xffffffff00000000, %[h1]\n\t"
            "movabsq $0xfffffffeffffffff, %[h3]\n\t"
            "andq %[h0], %[h1]\n\t"
            "andq %[h0], %[h3]\n\t"
            "addq %[h0], %[c]\n\t"
            "adcq %[h1], %[m1]\n\t"
            "adcq %[h0], %[m3]\n\t"
            "adcq %[h3], %[m]\n\t"
            : [h0] "=&r"(h0), [h1] "=&r"(h1), [h2] "=&r"(h2), [h3] "=&r"(h3), [c] "=&r"(c),
              [m] "=&r"(m), [m1] "=&r"(m1), [m3] "=&r"(m3)
            : [a] "r"(a), [b] "r"(b), "m"(*(const u64(*)[4])a), "m"(*(const u64(*)[4])b)
            : "cc");
    r[0] = c;
    r[1] = m1;
    r[2] = m3;
    r[3] = m;
}

/* r = a - 2b: the two subtractions of fe_sub_asm with a - b kept in registers. */
static inline void fe_sub2_asm(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 t0, t1, t2, t3, m, m1, m3;
    __asm__("movq 0(%[a]), %[t0]\n\t"
            "movq 8(%[a]), %[t1]\n\t"
            "movq 16(%[a]), %[t2]\n\t"
            "movq 24(%[a]), %[t3]\n\t"
            "subq 0(%[b]), %[t0]\n\t"
            "sbbq 8(%[b]), %[t1]\n\t"
            "sbbq 16(%[b]), %[t2]\n\t"
            "sbbq 24(%[b]), %[t3]\n\t"
            "sbbq %[m], %[m]\n\t"
            "movabsq $0xffffffff00000000, %[m1]\n\t"
            "movabsq $0xfffffffeffffffff, %[m3]\n\t"
            "andq %[m], %[m1]\n\t"
            "andq %[m], %[m3]\n\t"
            "addq %[m], %[t0]\n\t"
            "adcq %[m1], %[t1]\n\t"
            "adcq %[m], %[t2]\n\t"
            "adcq %[m3], %[t3]\n\t"
            "subq 0(%[b]), %[t0]\n\t"
            "sbbq 8(%[b]), %[t1]\n\t"
            "sbbq 16(%[b]), %[t2]\n\t"
            "sbbq 24(%[b]), %[t3]\n\t"
            "sbbq %[m], %[m]\n\t"
            "movabsq $0xffffffff00000000, %[m1]\n\t"
            "movabsq $0xfffffffeffffffff, %[m3]\n\t"
            "andq %[m], %[m1]\n\t"
            "andq %[m], %[m3]\n\t"
            "addq %[m], %[t0]\n\t"
            "adcq %[m1], %[t1]\n\t"
            "adcq %[m], %[t2]\n\t"
            "adcq %[m3], %[t3]\n\t"
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [m] "=&r"(m),
              [m1] "=&r"(m1), [m3] "=&r"(m3)
            : [a] "r"(a), [b] "r"(b), "m"(*(const u64(*)[4])a), "m"(*(const u64(*)[4])b)
            : "cc");
    r[0] = t0;
    r[1] = t1;
    r[2] = t2;
    r[3] = t3;
}

static inline void fe_sub_asm(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 t0, t1, t2, t3, m, m1, m3;
    __asm__("movq 0(%[a]), %[t0]\n\t"
            "movq 8(%[a]), %[t1]\n\t"
            "movq 16(%[a]), %[t2]\n\t"
            "movq 24(%[a]), %[t3]\n\t"
            "subq 0(%[b]), %[t0]\n\t"
            "sbbq 8(%[b]), %[t1]\n\t"
            "sbbq 16(%[b]), %[t2]\n\t"
            "sbbq 24(%[b]), %[t3]\n\t"
            "sbbq %[m], %[m]\n\t"
            "movabsq $0xffffffff00000000, %[m1]\n\t"
            "movabsq $0xfffffffeffffffff, %[m3]\n\t"
            "andq %[m], %[m1]\n\t"
            "andq %[m], %[m3]\n\t"
            "addq %[m], %[t0]\n\t"
            "adcq %[m1], %[t1]\n\t"
            "adcq %[m], %[t2]\n\t"
            "adcq %[m3], %[t3]\n\t"
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [m] "=&r"(m),
              [m1] "=&r"(m1), [m3] "=&r"(m3)
            : [a] "r"(a), [b] "r"(b), "m"(*(const u64(*)[4])a), "m"(*(const u64(*)[4])b)
            : "cc");
    r[0] = t0;
    r[1] = t1;
    r[2] = t2;
    r[3] = t3;
}
#endif

/* ---- blinded inversion ------------------------------------------------------------------- */
/* a^-1 = b (a b)^-1 for a fresh uniform b: a b is uniform and independent of a, so it may be
 * published (DECLASSIFY) and inverted in variable time by GMP: about 1.6k cycles against 13k
 * for Fermat's exponentiation mod n and 5.7k for the addition chain mod p. Fermat stays the
 * fallback when the random generator fails. */

/* Blinding bytes come from a per-thread pool refilled 1 KiB at a time by RAND_bytes (one
 * RAND_bytes call per blinding costs about as much as the inversion saves). Each byte is used
 * once and wiped; a forked child starts with an empty pool (pthread_atfork). */
#define RAND_POOL_SIZE 1024
static __thread uint8_t rand_pool[RAND_POOL_SIZE];
static __thread size_t rand_pos = RAND_POOL_SIZE;

static void rand_pool_child(void)
{
    rs_secure_zero(rand_pool, sizeof rand_pool);
    rand_pos = RAND_POOL_SIZE;
}

static int pool_bytes(uint8_t *out, size_t n)
{
    if (rand_pos + n > RAND_POOL_SIZE) {
        if (RAND_bytes(rand_pool, RAND_POOL_SIZE) != 1)
            return 0;
        rand_pos = 0;
    }
    memcpy(out, rand_pool + rand_pos, n);
    rs_secure_zero(rand_pool + rand_pos, n);
    rand_pos += n;
    return 1;
}

/* A fresh random value in [1, m-1] (m > 2^255), secret. 0 if RAND_bytes fails. */
static int random_below(u64 b[4], const u64 m[4])
{
    uint8_t buf[32];
    for (int attempt = 0; attempt < 8; attempt++) {
        if (!pool_bytes(buf, sizeof buf))
            return 0;
        load_be(b, buf);
        u64 s[4], bb = 0;
        for (int i = 0; i < 4; i++) {
            u128 v = (u128)b[i] - m[i] - bb;
            s[i] = (u64)v;
            bb = (u64)(v >> 64) & 1;
        }
        u64 keep = 0 - bb;
        for (int i = 0; i < 4; i++)
            b[i] = s[i] ^ ((s[i] ^ b[i]) & keep);
        rs_secure_zero(buf, sizeof buf);
        if (!fe_is_zero(b)) { /* fresh randomness, independent of every secret */
            CLASSIFY(b, 32);
            return 1;
        }
    }
    return 0;
}

/* r = a^-1 mod m for a public (blinded) a, variable time; 0 when a is not invertible. */
static int inv_vartime(u64 r[4], const u64 a[4], const u64 m[4])
{
#if GMP_LIMB_BITS == 64
    if (a[3] != 0 && m[3] != 0) {
        /* mpn_gcdext on full-size operands (no mpz allocation): g = a s + m t, a^-1 = s mod m
         * when g = 1. Both inputs are destroyed, so they are copied. */
        mp_limb_t u[5], v[5], g[5], sc[5];
        mp_size_t sn = 0;
        for (int i = 0; i < 4; i++) {
            u[i] = (mp_limb_t)a[i];
            v[i] = (mp_limb_t)m[i];
        }
        u[4] = v[4] = 0;
        mp_size_t gn = mpn_gcdext(g, sc, &sn, u, 4, v, 4);
        if (gn != 1 || g[0] != 1)
            return 0;
        u64 sv[4] = {0, 0, 0, 0};
        mp_size_t an = sn < 0 ? -sn : sn;
        for (mp_size_t i = 0; i < an && i < 4; i++)
            sv[i] = (u64)sc[i];
        if (sn < 0) { /* s = m - |s| */
            u64 bb = 0;
            for (int i = 0; i < 4; i++) {
                u128 d = (u128)m[i] - sv[i] - bb;
                sv[i] = (u64)d;
                bb = (u64)(d >> 64) & 1;
            }
        }
        memcpy(r, sv, 32);
        return 1;
    }
    mpz_t x, mod, out;
    mp_size_t xs = 4;
    while (xs > 0 && a[xs - 1] == 0)
        xs--;
    if (xs == 0)
        return 0;
    mpz_roinit_n(x, (const mp_limb_t *)a, xs);
    mpz_roinit_n(mod, (const mp_limb_t *)m, 4);
    mpz_init2(out, 320);
    int ok = mpz_invert(out, x, mod) != 0;
    if (ok) {
        size_t n = mpz_size(out);
        const mp_limb_t *l = mpz_limbs_read(out);
        for (size_t i = 0; i < 4; i++)
            r[i] = i < n ? (u64)l[i] : 0;
    }
    mpz_clear(out);
    return ok;
#else
    (void)r;
    (void)a;
    (void)m;
    return -1; /* not available: use Fermat */
#endif
}

/* ---- group layer, instantiated per field implementation -------------------------------- */
static inline void fe_triple(u64 r[4], const u64 a[4])
{
    u64 t[4];
    fe_add(t, a, a);
    fe_add(r, t, a);
}
static inline void fe_sub2(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 t[4];
    fe_sub(t, a, b);
    fe_sub(r, t, b);
}
static inline void fe_sub_half(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 t[4];
    fe_half(t, b);
    fe_sub(r, a, t);
}

#define FE_MUL fe_mul_port
#define FE_SQR fe_sqr_port
#define FE_ADD fe_add
#define FE_SUB fe_sub
#define FE_TRIPLE fe_triple
#define FE_SUB2 fe_sub2
#define FE_SUB_HALF fe_sub_half
#define SFX(name) name##_port
#define ATTR
#include "sm2core_group.h"
#undef FE_MUL
#undef FE_SQR
#undef FE_ADD
#undef FE_SUB
#undef FE_TRIPLE
#undef FE_SUB2
#undef FE_SUB_HALF
#undef SFX
#undef ATTR

#ifdef HAVE_ADX_PATH
#define FE_MUL fe_mul_adx
#define FE_SQR fe_sqr_adx
#define FE_ADD fe_add_asm
#define FE_SUB fe_sub_asm
#define FE_TRIPLE fe_triple_asm
#define FE_SUB2 fe_sub2_asm
#define FE_SUB_HALF fe_sub_half_asm
#define SFX(name) name##_adx
#define ATTR __attribute__((target("bmi2,adx")))
#include "sm2core_group.h"
#undef FE_MUL
#undef FE_SQR
#undef FE_ADD
#undef FE_SUB
#undef FE_TRIPLE
#undef FE_SUB2
#undef FE_SUB_HALF
#undef SFX
#undef ATTR
#endif

#ifdef HAVE_ADX_PATH
static inline int use_adx(void)
{
    return rs_cpu.bmi2 && rs_cpu.adx;
}
#define DISPATCH(fn, ...) (use_adx() ? fn##_adx(__VA_ARGS__) : fn##_port(__VA_ARGS__))
#else
static inline int use_adx(void)
{
    return 0;
}
#define DISPATCH(fn, ...) fn##_port(__VA_ARGS__)
#endif

int rs_sm2c_have_adx(void)
{
    return use_adx();
}

#ifdef HAVE_ADX_PATH
__attribute__((target("bmi2,adx"))) static void fe_mul_adx_fn(u64 r[4], const u64 a[4],
                                                             const u64 b[4])
{
    fe_mul_adx(r, a, b);
}
#endif

static void fe_mul_any(u64 r[4], const u64 a[4], const u64 b[4])
{
#ifdef HAVE_ADX_PATH
    if (use_adx()) {
        fe_mul_adx_fn(r, a, b);
        return;
    }
#endif
    fe_mul_port(r, a, b);
}

/* ---- scalars mod n (Montgomery form where noted) ---------------------------------------- */
static inline void mod_add(u64 r[4], const u64 a[4], const u64 b[4], const u64 m[4])
{
    u64 t[4], s[4], c = 0, bb = 0;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)a[i] + b[i] + c;
        t[i] = (u64)v;
        c = (u64)(v >> 64);
    }
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)t[i] - m[i] - bb;
        s[i] = (u64)v;
        bb = (u64)(v >> 64) & 1;
    }
    u64 keep = 0 - ((c ^ 1) & bb);
    for (int i = 0; i < 4; i++)
        r[i] = s[i] ^ ((s[i] ^ t[i]) & keep);
}
static inline void mod_sub(u64 r[4], const u64 a[4], const u64 b[4], const u64 m[4])
{
    u64 t[4], bb = 0, c = 0;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)a[i] - b[i] - bb;
        t[i] = (u64)v;
        bb = (u64)(v >> 64) & 1;
    }
    u64 msk = 0 - bb;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)t[i] + (m[i] & msk) + c;
        r[i] = (u64)v;
        c = (u64)(v >> 64);
    }
}
/* a (< 2^256) mod n, constant time. */
static inline void sc_reduce(u64 r[4], const u64 a[4])
{
    u64 s[4], bb = 0;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)a[i] - N_[i] - bb;
        s[i] = (u64)v;
        bb = (u64)(v >> 64) & 1;
    }
    u64 keep = 0 - bb;
    for (int i = 0; i < 4; i++)
        r[i] = s[i] ^ ((s[i] ^ a[i]) & keep);
}

static void sc_mul_port(u64 r[4], const u64 a[4], const u64 b[4])
{
    u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5;
    u128 c;
    for (int i = 0; i < 4; i++) {
        u64 bi = b[i];
        c = (u128)a[0] * bi + t0;
        t0 = (u64)c;
        c = (u128)a[1] * bi + t1 + (u64)(c >> 64);
        t1 = (u64)c;
        c = (u128)a[2] * bi + t2 + (u64)(c >> 64);
        t2 = (u64)c;
        c = (u128)a[3] * bi + t3 + (u64)(c >> 64);
        t3 = (u64)c;
        c = (u128)t4 + (u64)(c >> 64);
        t4 = (u64)c;
        t5 = (u64)(c >> 64);
        u64 m = t0 * N0INV;
        c = (u128)m * N_[0] + t0;
        c = (u128)m * N_[1] + t1 + (u64)(c >> 64);
        t0 = (u64)c;
        c = (u128)m * N_[2] + t2 + (u64)(c >> 64);
        t1 = (u64)c;
        c = (u128)m * N_[3] + t3 + (u64)(c >> 64);
        t2 = (u64)c;
        c = (u128)t4 + (u64)(c >> 64);
        t3 = (u64)c;
        t4 = t5 + (u64)(c >> 64);
    }
    u64 s[4], bb = 0, t[4] = {t0, t1, t2, t3};
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)t[i] - N_[i] - bb;
        s[i] = (u64)v;
        bb = (u64)(v >> 64) & 1;
    }
    u64 keep = 0 - ((t4 ^ 1) & bb);
    for (int i = 0; i < 4; i++)
        r[i] = s[i] ^ ((s[i] ^ t[i]) & keep);
}
#ifdef HAVE_ADX_PATH
/* One Montgomery step mod n on the window (A B C D): m = A * (-n^-1), (A..D) += m n, the window
 * becomes (B C D A). */
#define SC_STEP(A, B, C, D)                                                                   \
    "movq %[" #A "], %%rdx\n\t"                                                                \
    "imulq %[ninv], %%rdx\n\t"                                                                 \
    "xorl %%r8d, %%r8d\n\t"                                                                    \
    "mulx %[n0], %%rax, %%rcx\n\t"                                                             \
    "adcx %%rax, %[" #A "]\n\t"                                                                \
    "adox %%rcx, %[" #B "]\n\t"                                                                \
    "mulx %[n1], %%rax, %%rcx\n\t"                                                             \
    "adcx %%rax, %[" #B "]\n\t"                                                                \
    "adox %%rcx, %[" #C "]\n\t"                                                                \
    "mulx %[n2], %%rax, %%rcx\n\t"                                                             \
    "adcx %%rax, %[" #C "]\n\t"                                                                \
    "adox %%rcx, %[" #D "]\n\t"                                                                \
    "mulx %[n3], %%rax, %%rcx\n\t"                                                             \
    "adcx %%rax, %[" #D "]\n\t"                                                                \
    "adox %%rcx, %[" #A "]\n\t"                                                                \
    "adcx %%r8, %[" #A "]\n\t"

/* Montgomery multiplication mod n with mulx/adcx/adox (same product as fe_mul_adx). */
__attribute__((target("bmi2,adx"))) static void sc_mul_adx(u64 r[4], const u64 a[4],
                                                          const u64 b[4])
{
    u64 t0, t1, t2, t3, t4, t5, t6, t7;
    __asm__(SM2_PRODUCT_4X4
            SC_STEP(t0, t1, t2, t3)
            SC_STEP(t1, t2, t3, t0)
            SC_STEP(t2, t3, t0, t1)
            SC_STEP(t3, t0, t1, t2)
            "movl $0, %%r8d\n\t"
            "addq %[t4], %[t0]\n\t"
            "adcq %[t5], %[t1]\n\t"
            "adcq %[t6], %[t2]\n\t"
            "adcq %[t7], %[t3]\n\t"
            "adcq $0, %%r8\n\t"
            "movq %[t0], %[t4]\n\t"
            "movq %[t1], %[t5]\n\t"
            "movq %[t2], %[t6]\n\t"
            "movq %[t3], %[t7]\n\t"
            "subq %[n0], %[t4]\n\t"
            "sbbq %[n1], %[t5]\n\t"
            "sbbq %[n2], %[t6]\n\t"
            "sbbq %[n3], %[t7]\n\t"
            "sbbq $0, %%r8\n\t"
            "cmovncq %[t4], %[t0]\n\t"
            "cmovncq %[t5], %[t1]\n\t"
            "cmovncq %[t6], %[t2]\n\t"
            "cmovncq %[t7], %[t3]\n\t"
            : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
              [t5] "=&r"(t5), [t6] "=&r"(t6), [t7] "=&r"(t7)
            : [a] "r"(a), [b] "r"(b), "m"(*(const u64(*)[4])a), "m"(*(const u64(*)[4])b),
              [n0] "m"(N_[0]), [n1] "m"(N_[1]), [n2] "m"(N_[2]), [n3] "m"(N_[3]), [ninv] "m"(N0INV)
            : "rax", "rcx", "rdx", "r8", "cc");
    r[0] = t0;
    r[1] = t1;
    r[2] = t2;
    r[3] = t3;
}
#endif

static void sc_mul(u64 r[4], const u64 a[4], const u64 b[4])
{
#ifdef HAVE_ADX_PATH
    if (use_adx()) {
        sc_mul_adx(r, a, b);
        return;
    }
#endif
    sc_mul_port(r, a, b);
}

static inline void sc_to_mont(u64 r[4], const u64 a[4])
{
    sc_mul(r, a, R2N);
}
static inline void sc_from_mont(u64 r[4], const u64 a[4])
{
    static const u64 one[4] = {1, 0, 0, 0};
    sc_mul(r, a, one);
}
/* r = a^(n-2) in Montgomery form (Fermat), fixed 4-bit windows over the public exponent. */
static void sc_inv(u64 r[4], const u64 a[4])
{
    u64 tab[16][4], t[4];
    static const u64 one[4] = {1, 0, 0, 0};
    void (*mul)(u64 *, const u64 *, const u64 *) = sc_mul_port;
#ifdef HAVE_ADX_PATH
    if (use_adx())
        mul = sc_mul_adx;
#endif
    sc_to_mont(tab[0], one);
    memcpy(tab[1], a, 32);
    for (int i = 2; i < 16; i++)
        mul(tab[i], tab[i - 1], a);
    memcpy(t, tab[0], 32);
    for (int i = 0; i < 64; i++) { /* the exponent n - 2 is public: so is the table index */
        unsigned nib = (N_MINUS_2[i / 2] >> ((i & 1) ? 0 : 4)) & 15;
        for (int j = 0; j < 4; j++)
            mul(t, t, t);
        mul(t, t, tab[nib]);
    }
    memcpy(r, t, 32);
    rs_secure_zero(tab, sizeof tab);
}

/* a^-1 (Montgomery form mod n), blinded as above; constant time in a. */
static void sc_inv_fast(u64 r[4], const u64 a[4])
{
    u64 b[4], t[4];
    if (!random_below(b, N_)) {
        sc_inv(r, a);
        return;
    }
    sc_mul(t, a, b);
    DECLASSIFY(t, sizeof t);
    int ok = inv_vartime(t, t, N_);
    if (ok < 0) {
        sc_inv(r, a);
    } else if (ok == 0) {
        memset(r, 0, 32); /* a = 0 */
    } else {
        sc_mul(t, t, R3N);
        sc_mul(r, t, b);
    }
    rs_secure_zero(b, sizeof b);
}

/* ---- scalar recoding ------------------------------------------------------------------- */
/* Signed fixed windows (Booth): digit i from bits [w*i - 1, w*i + w - 1], value in
 * [-2^(w-1), 2^(w-1)], stored as |d| << 1 | sign. Constant time: shifts at public positions,
 * the sign and magnitude by masks. */
static void recode(uint8_t *dig, const u64 k[4], int w, int windows)
{
    u64 kk[5] = {k[0], k[1], k[2], k[3], 0};
    u64 mask = ((u64)1 << (w + 1)) - 1;
    for (int i = 0; i < windows; i++) {
        int pos = w * i - 1;
        u64 v;
        if (pos < 0) {
            v = kk[0] << 1;
        } else {
            int limb = pos >> 6, off = pos & 63;
            v = kk[limb] >> off;
            if (off + w + 1 > 64 && limb < 4)
                v |= kk[limb + 1] << (64 - off);
        }
        v &= mask;
        u64 s = ~((v >> w) - 1);
        u64 d = ((u64)1 << (w + 1)) - v - 1;
        d = (d & s) | (v & ~s);
        d = (d >> 1) + (d & 1);
        dig[i] = (uint8_t)((d << 1) | (s & 1));
    }
    rs_secure_zero(kk, sizeof kk);
}

/* Odd-digit recoding: an odd k < 2^(w windows) is sum d_i 2^(w i) with every d_i odd in
 * [-(2^w - 1), 2^w - 1], d_i = 2 v_i - (2^w - 1) where v_i = bits [w i + 1, w i + w] of
 * k + 2^(w windows) (the added top bit makes the top digit positive). Stored as j << 1 | sign
 * with |d_i| = 2j + 1; `flip` (0 or 1, possibly secret) inverts every sign, i.e. recodes -k.
 * No digit is zero, so no table entry is ever the point at infinity. Constant time. */
static void recode_odd(uint8_t *dig, const u64 k[4], int w, int windows, u64 flip)
{
    u64 kk[5] = {k[0], k[1], k[2], k[3], 0};
    int top = w * windows;
    kk[top >> 6] |= (u64)1 << (top & 63);
    u64 mask = ((u64)1 << w) - 1, low = ((u64)1 << (w - 1)) - 1;
    for (int i = 0; i < windows; i++) {
        int pos = w * i + 1, limb = pos >> 6, off = pos & 63;
        u64 v = kk[limb] >> off;
        if (off + w > 64 && limb < 4)
            v |= kk[limb + 1] << (64 - off);
        v &= mask;
        u64 neg = ((v >> (w - 1)) & 1) ^ 1;
        u64 j = (v & low) ^ ((0 - neg) & low);
        dig[i] = (uint8_t)((j << 1) | (neg ^ flip));
    }
    rs_secure_zero(kk, sizeof kk);
}

/* k' = k when k is odd, else n - k (odd, since n is odd); *flip = 1 in the second case, so that
 * k P = -(k' P). k in [1, n-1], secret: masks only. */
static void make_odd(u64 out[4], u64 *flip, const u64 k[4])
{
    u64 nk[4];
    mod_sub(nk, N_, k, N_);
    u64 even = (k[0] & 1) ^ 1;
    fe_select(out, k, nk, 0 - even);
    *flip = even;
    rs_secure_zero(nk, sizeof nk);
}

/* Width-w NAF of a public scalar; returns the index of the top digit, -1 for zero. */
static int wnaf(int8_t naf[NAF_LEN], const u64 k[4], int w)
{
    u64 kk[5] = {k[0], k[1], k[2], k[3], 0};
    int i = 0, top = -1;
    memset(naf, 0, NAF_LEN);
    while ((kk[0] | kk[1] | kk[2] | kk[3] | kk[4]) != 0) {
        int d = 0;
        if (kk[0] & 1) {
            d = (int)(kk[0] & (((u64)1 << w) - 1));
            if (d >= (1 << (w - 1)))
                d -= 1 << w;
            if (d > 0) {
                u128 c = (u128)kk[0] - (u64)d;
                kk[0] = (u64)c; /* kk[0] >= d: no borrow */
            } else {
                u64 c = (u64)(-d);
                for (int j = 0; j < 5 && c; j++) {
                    u128 v = (u128)kk[j] + c;
                    kk[j] = (u64)v;
                    c = (u64)(v >> 64);
                }
            }
            top = i;
        }
        naf[i++] = (int8_t)d;
        for (int j = 0; j < 4; j++)
            kk[j] = (kk[j] >> 1) | (kk[j + 1] << 63);
        kk[4] >>= 1;
    }
    return top;
}

/* ---- encodings ------------------------------------------------------------------------- */
static void fe_from_mont(u64 r[4], const u64 a[4])
{
    static const u64 one[4] = {1, 0, 0, 0};
    fe_mul_any(r, a, one);
}

/* x^3 - 3x + b for Montgomery x. */
static void curve_rhs(u64 r[4], const u64 x[4])
{
    u64 t[4], x3[4];
    fe_mul_any(t, x, x);
    fe_mul_any(t, t, x);
    fe_add(x3, x, x);
    fe_add(x3, x3, x); /* 3x */
    fe_sub(t, t, x3);
    fe_add(r, t, FE_B);
}

static int decode_point(aff *pt, const uint8_t *in, size_t len)
{
    u64 x[4], y[4], rhs[4], t[4];
    if (len == 1 && in[0] == 0)
        return RS_SM2C_ERR_INFINITY;
    if (len == 65) {
        if (in[0] != 4)
            return RS_SM2C_ERR_POINT;
        load_be(x, in + 1);
        load_be(y, in + 33);
        if (!lt_mask(x, P_) || !lt_mask(y, P_))
            return RS_SM2C_ERR_POINT;
        fe_mul_any(x, x, R2P);
        fe_mul_any(y, y, R2P);
        curve_rhs(rhs, x);
        fe_mul_any(t, y, y);
        if (!fe_equal(t, rhs))
            return RS_SM2C_ERR_POINT;
    } else if (len == 33) {
        if (in[0] != 2 && in[0] != 3)
            return RS_SM2C_ERR_POINT;
        load_be(x, in + 1);
        if (!lt_mask(x, P_))
            return RS_SM2C_ERR_POINT;
        fe_mul_any(x, x, R2P);
        curve_rhs(rhs, x);
        DISPATCH(fe_sqrt_cand, y, rhs);
        fe_mul_any(t, y, y);
        if (!fe_equal(t, rhs))
            return RS_SM2C_ERR_POINT;
        fe_from_mont(t, y);
        if ((t[0] & 1) != (u64)(in[0] & 1))
            fe_neg(y, y);
    } else {
        return RS_SM2C_ERR_LENGTH;
    }
    memcpy(pt->x, x, 32);
    memcpy(pt->y, y, 32);
    return RS_SM2C_OK;
}

static void encode_point(uint8_t out[65], const u64 x[4], const u64 y[4])
{
    u64 t[4];
    out[0] = 4;
    fe_from_mont(t, x);
    store_be(out + 1, t);
    fe_from_mont(t, y);
    store_be(out + 33, t);
}

static inline void aff_to_jac(jac *r, const aff *a)
{
    memcpy(r->X, a->x, 32);
    memcpy(r->Y, a->y, 32);
    memcpy(r->Z, FE_ONE, 32);
}

/* Secret scalar in [1, n-1] (or [1, n-2] when max_n2): the validity is published, nothing else. */
static int load_secret_scalar(u64 k[4], const uint8_t in[32], int max_n2)
{
    static const u64 N_MINUS_1[4] = {0x53bbf40939d54122ULL, 0x7203df6b21c6052bULL,
                                     0xffffffffffffffffULL, 0xfffffffeffffffffULL};
    load_be(k, in);
    u64 ok = lt_mask(k, max_n2 ? N_MINUS_1 : N_) & ~fe_zero_mask(k);
    DECLASSIFY(&ok, sizeof ok);
    return ok ? RS_SM2C_OK : RS_SM2C_ERR_SCALAR;
}

/* ---- init ------------------------------------------------------------------------------ */
int rs_sm2c_init(void)
{
    if (g_table != NULL)
        return RS_SM2C_OK;
    if (pthread_atfork(NULL, NULL, rand_pool_child) != 0)
        return RS_SM2C_ERR_NOMEM;
    /* 64-byte aligned: one entry per cache line, so the scans never split a load */
    aff *t = aligned_alloc(64, (size_t)G_WINDOWS * G_TABLE * sizeof(aff));
    if (t == NULL)
        return RS_SM2C_ERR_NOMEM;
    jac g;
    memcpy(g.X, G_X, 32);
    memcpy(g.Y, G_Y, 32);
    memcpy(g.Z, FE_ONE, 32);
    aff *o = malloc(G_ODD * sizeof(aff));
    jac *oj = malloc(G_ODD * sizeof(jac));
    u64(*scratch)[4] = malloc(G_ODD * 32);
    if (o == NULL || oj == NULL || scratch == NULL || build_comb_odd_port(t, &g, G_W, G_WINDOWS) != 0) {
        free(t);
        free(o);
        free(oj);
        free(scratch);
        return RS_SM2C_ERR_NOMEM;
    }
    jac g2;
    pt_dbl_port(&g2, &g);
    oj[0] = g;
    for (int i = 1; i < G_ODD; i++)
        pt_add_vartime_port(&oj[i], &oj[i - 1], &g2);
    batch_to_affine_port(o, oj, G_ODD, scratch, 0);
    free(oj);
    free(scratch);
    g_odd = o;
    g_table = t;
    return RS_SM2C_OK;
}

/* ---- points ---------------------------------------------------------------------------- */
int rs_sm2c_point_decode(uint8_t out[65], const uint8_t *in, size_t len)
{
    aff p;
    int st = decode_point(&p, in, len);
    if (st == RS_SM2C_OK)
        encode_point(out, p.x, p.y);
    return st;
}

int rs_sm2c_point_compress(uint8_t out[33], const uint8_t in[65])
{
    aff p;
    int st = decode_point(&p, in, 65);
    if (st != RS_SM2C_OK)
        return st;
    out[0] = (uint8_t)(2 | (in[64] & 1));
    memcpy(out + 1, in + 1, 32);
    return RS_SM2C_OK;
}

/* Encode r; `secret`: r derives from a secret scalar (blinded inversion). */
static int finish_point(uint8_t out[65], const jac *r, int secret)
{
    u64 x[4], y[4];
    u64 inf = fe_zero_mask(r->Z);
    DECLASSIFY(&inf, sizeof inf);
    if (inf)
        return RS_SM2C_ERR_INFINITY;
    DISPATCH(pt_to_affine, x, y, r, secret);
    encode_point(out, x, y);
    return RS_SM2C_OK;
}

int rs_sm2c_point_add(uint8_t out[65], const uint8_t a[65], const uint8_t b[65])
{
    aff pa, pb;
    jac ja, jb, r;
    int st = decode_point(&pa, a, 65);
    if (st == RS_SM2C_OK)
        st = decode_point(&pb, b, 65);
    if (st != RS_SM2C_OK)
        return st;
    aff_to_jac(&ja, &pa);
    aff_to_jac(&jb, &pb);
    DISPATCH(pt_add_vartime, &r, &ja, &jb);
    return finish_point(out, &r, 0);
}

int rs_sm2c_point_negate(uint8_t out[65], const uint8_t a[65])
{
    aff p;
    int st = decode_point(&p, a, 65);
    if (st != RS_SM2C_OK)
        return st;
    fe_neg(p.y, p.y);
    encode_point(out, p.x, p.y);
    return RS_SM2C_OK;
}

/* ---- scalar multiplication ------------------------------------------------------------- */
/* k*P: the odd multiples P, 3P, ..., 31P of the public P (co-Z) go affine with one
 * variable-time inversion (P is public), then the constant-time odd-digit window loop. */
static void scalar_mult_jac(jac *r, const uint8_t dig[VAR_WINDOWS], const aff *p)
{
    jac T[VAR_TABLE];
    aff ta[VAR_TABLE] __attribute__((aligned(64))); /* one entry per cache line */
    u64 zr[VAR_TABLE][4], zinv[4];
    DISPATCH(odd_table_coz, T, zr, p);
    DISPATCH(fe_inv_public, zinv, T[VAR_TABLE - 1].Z);
    DISPATCH(odd_table_affine, ta, T, zr, zinv);
    DISPATCH(scalar_mult_odd_ct, r, dig, ta);
}

/* Odd digits of a secret k in [1, n-1] for the variable-base window. */
static void recode_var(uint8_t dig[VAR_WINDOWS], const u64 k[4])
{
    u64 ko[4], flip;
    make_odd(ko, &flip, k);
    recode_odd(dig, ko, VAR_W, VAR_WINDOWS, flip);
    rs_secure_zero(ko, sizeof ko);
    rs_secure_zero(&flip, sizeof flip);
}

int rs_sm2c_scalar_mult(uint8_t out[65], const uint8_t k[32], const uint8_t in[65])
{
    aff p;
    u64 kk[4];
    uint8_t dig[VAR_WINDOWS];
    jac r;
    int st = decode_point(&p, in, 65);
    if (st != RS_SM2C_OK)
        return st;
    st = load_secret_scalar(kk, k, 0);
    if (st != RS_SM2C_OK)
        return st;
    recode_var(dig, kk);
    scalar_mult_jac(&r, dig, &p);
    st = finish_point(out, &r, 1);
    rs_secure_zero(kk, sizeof kk);
    rs_secure_zero(dig, sizeof dig);
    return st;
}

static void base_mult_jac(jac *r, const u64 k[4])
{
    uint8_t dig[G_WINDOWS];
    u64 ko[4], flip;
    make_odd(ko, &flip, k);
    recode_odd(dig, ko, G_W, G_WINDOWS, flip);
    DISPATCH(comb_odd_ct, r, g_table, dig);
    rs_secure_zero(dig, sizeof dig);
    rs_secure_zero(ko, sizeof ko);
    rs_secure_zero(&flip, sizeof flip);
}

int rs_sm2c_scalar_base_mult(uint8_t out[65], const uint8_t k[32])
{
    u64 kk[4];
    jac r;
    int st = load_secret_scalar(kk, k, 0);
    if (st != RS_SM2C_OK)
        return st;
    base_mult_jac(&r, kk);
    rs_secure_zero(kk, sizeof kk);
    return finish_point(out, &r, 1);
}

int rs_sm2c_public_key(uint8_t pub[65], const uint8_t d[32])
{
    u64 kk[4];
    jac r;
    int st = load_secret_scalar(kk, d, 1);
    if (st != RS_SM2C_OK)
        return st;
    base_mult_jac(&r, kk);
    rs_secure_zero(kk, sizeof kk);
    return finish_point(pub, &r, 1);
}

/* Points per chunk of a batch: their tables (16 points each) go affine with one inversion. */
#define BATCH_CHUNK 32

int rs_sm2c_scalar_mult_batch(uint8_t *out, const uint8_t k[32], const uint8_t *in, size_t count,
                              size_t *bad_index)
{
    u64 kk[4];
    uint8_t dig[VAR_WINDOWS];
    int st = load_secret_scalar(kk, k, 0);
    if (st != RS_SM2C_OK)
        return st;
    if (count == 0)
        return RS_SM2C_OK;
    if (count > SIZE_MAX / sizeof(jac))
        return RS_SM2C_ERR_NOMEM;
    aff *pts = malloc(count * sizeof(aff));
    jac *res = malloc(count * sizeof(jac));
    jac *tj = malloc(BATCH_CHUNK * VAR_TABLE * sizeof(jac));
    aff *ta = aligned_alloc(64, BATCH_CHUNK * VAR_TABLE * sizeof(aff));
    u64(*zr)[4] = malloc(BATCH_CHUNK * VAR_TABLE * 32);
    size_t nscratch = count > BATCH_CHUNK * VAR_TABLE ? count : BATCH_CHUNK * VAR_TABLE;
    u64(*scratch)[4] = malloc(nscratch * 32);
    if (pts == NULL || res == NULL || tj == NULL || ta == NULL || zr == NULL || scratch == NULL) {
        st = RS_SM2C_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        st = decode_point(&pts[i], in + 65 * i, 65);
        if (st != RS_SM2C_OK) {
            if (bad_index != NULL)
                *bad_index = i;
            goto done;
        }
    }
    recode_var(dig, kk);
    for (size_t base = 0; base < count; base += BATCH_CHUNK) {
        size_t m = count - base < BATCH_CHUNK ? count - base : BATCH_CHUNK;
        u64 zinv[4], t[4];
        for (size_t i = 0; i < m; i++) { /* tables, and the prefix products of their last Z */
            DISPATCH(odd_table_coz, tj + i * VAR_TABLE, zr + i * VAR_TABLE, &pts[base + i]);
            const u64 *z = tj[i * VAR_TABLE + VAR_TABLE - 1].Z;
            if (i == 0)
                memcpy(scratch[0], z, 32);
            else
                fe_mul_any(scratch[i], scratch[i - 1], z);
        }
        DISPATCH(fe_inv_public, zinv, scratch[m - 1]); /* public multiples */
        for (size_t i = m; i-- > 0;) {
            const u64 *z = tj[i * VAR_TABLE + VAR_TABLE - 1].Z;
            if (i > 0) {
                fe_mul_any(t, zinv, scratch[i - 1]);
                fe_mul_any(zinv, zinv, z);
            } else {
                memcpy(t, zinv, 32);
            }
            DISPATCH(odd_table_affine, ta + i * VAR_TABLE, tj + i * VAR_TABLE, zr + i * VAR_TABLE, t);
        }
        for (size_t i = 0; i < m; i++)
            DISPATCH(scalar_mult_odd_ct, &res[base + i], dig, ta + i * VAR_TABLE);
    }
    DISPATCH(batch_to_affine, pts, res, count, scratch, 1);
    for (size_t i = 0; i < count; i++)
        encode_point(out + 65 * i, pts[i].x, pts[i].y);
done:
    rs_secure_zero(kk, sizeof kk);
    rs_secure_zero(dig, sizeof dig);
    free(pts);
    free(res);
    free(tj);
    free(ta);
    free(zr);
    free(scratch);
    return st;
}

/* Public scalar in [0, n-1]. */
static int load_public_scalar(u64 k[4], const uint8_t in[32])
{
    load_be(k, in);
    return lt_mask(k, N_) ? RS_SM2C_OK : RS_SM2C_ERR_SCALAR;
}

/* Signed base-2^w digits of a public scalar < 2^256, least significant first, each in
 * [-2^(w-1), 2^(w-1)]; nwin = 256 / w + 1 digits. */
static void recode_signed(int16_t *dig, const u64 k[4], int w, int nwin)
{
    u64 kk[5] = {k[0], k[1], k[2], k[3], 0};
    int carry = 0;
    u64 mask = ((u64)1 << w) - 1;
    for (int i = 0; i < nwin; i++) {
        int pos = w * i, limb = pos >> 6, off = pos & 63;
        u64 v = limb < 5 ? kk[limb] >> off : 0;
        if (off + w > 64 && limb < 4)
            v |= kk[limb + 1] << (64 - off);
        int d = (int)(v & mask) + carry;
        carry = d > (1 << (w - 1));
        dig[i] = (int16_t)(carry ? d - (1 << w) : d);
    }
}

/* Pippenger with affine buckets for large public multi-scalar multiplications (the OPRF
 * composites): no per-point table, about 256/w affine additions (5M + 1S each) per point. */
static int multi_mult_pippenger(jac *acc, const uint8_t *scalars, const uint8_t *points, size_t count)
{
    int w = count < 700 ? 6 : count < 2500 ? 7 : count < 8000 ? 8 : 9;
    int nwin = 256 / w + 1, st = RS_SM2C_OK;
    size_t nb = (size_t)1 << (w - 1), half = count / 2 + 1;
    if (count > SIZE_MAX / ((size_t)nwin * sizeof(int16_t)) || count > SIZE_MAX / (2 * sizeof(aff)))
        return RS_SM2C_ERR_NOMEM;
    aff *pts = malloc(count * sizeof(aff)), *work = malloc(count * sizeof(aff));
    int16_t *dig = malloc(count * (size_t)nwin * sizeof(int16_t));
    u64(*num)[4] = malloc(half * 32), (*den)[4] = malloc(half * 32), (*pre)[4] = malloc(half * 32);
    size_t *cnt = malloc((nb + 1) * sizeof(size_t)), *len = malloc(nb * sizeof(size_t));
    if (pts == NULL || work == NULL || dig == NULL || num == NULL || den == NULL || pre == NULL ||
        cnt == NULL || len == NULL) {
        st = RS_SM2C_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        u64 k[4];
        st = load_public_scalar(k, scalars + 32 * i);
        if (st == RS_SM2C_OK)
            st = decode_point(&pts[i], points + 65 * i, 65);
        if (st != RS_SM2C_OK)
            goto done;
        recode_signed(dig + (size_t)nwin * i, k, w, nwin);
    }
    DISPATCH(pippenger_affine, acc, pts, dig, count, w, nwin, work, num, den, pre, cnt, len);
done:
    free(pts);
    free(work);
    free(dig);
    free(num);
    free(den);
    free(pre);
    free(cnt);
    free(len);
    return st;
}

int rs_sm2c_multi_mult_vartime(uint8_t out[65], const uint8_t *scalars, const uint8_t *points,
                               size_t count)
{
    int st = RS_SM2C_OK, top = -1;
    jac acc;
    aff p;
    jac *tj = NULL;
    aff *ta = NULL;
    int8_t *naf = NULL;
    u64(*scratch)[4] = NULL;
    if (count == 0)
        return RS_SM2C_ERR_INFINITY;
    if (count >= 256) {
        st = multi_mult_pippenger(&acc, scalars, points, count);
        return st == RS_SM2C_OK ? finish_point(out, &acc, 0) : st;
    }
    if (count > SIZE_MAX / (WNAF_TABLE * sizeof(jac)) || count > SIZE_MAX / NAF_LEN)
        return RS_SM2C_ERR_NOMEM;
    tj = malloc(count * WNAF_TABLE * sizeof(jac));
    ta = malloc(count * WNAF_TABLE * sizeof(aff));
    naf = malloc(count * NAF_LEN);
    scratch = malloc(count * WNAF_TABLE * 32);
    if (tj == NULL || ta == NULL || naf == NULL || scratch == NULL) {
        st = RS_SM2C_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        u64 k[4];
        jac pj;
        st = load_public_scalar(k, scalars + 32 * i);
        if (st == RS_SM2C_OK)
            st = decode_point(&p, points + 65 * i, 65);
        if (st != RS_SM2C_OK)
            goto done;
        int t = wnaf(naf + i * NAF_LEN, k, WNAF_W);
        if (t > top)
            top = t;
        aff_to_jac(&pj, &p);
        DISPATCH(odd_multiples, tj + i * WNAF_TABLE, &pj);
    }
    DISPATCH(batch_to_affine, ta, tj, count * WNAF_TABLE, scratch, 0);
    DISPATCH(straus_vartime, &acc, ta, naf, count, top);
    st = finish_point(out, &acc, 0);
done:
    free(tj);
    free(ta);
    free(naf);
    free(scratch);
    return st;
}

/* acc = u1*G + u2*P (public): both combs when P's table is cached, else one wNAF chain. */
static void double_mult(jac *acc, const u64 u1[4], const u64 u2[4], const aff *p,
                        const aff *ptable)
{
    if (ptable != NULL) {
        uint8_t dg[G_WINDOWS], dk[K_WINDOWS];
        recode(dk, u2, K_W, K_WINDOWS);
        memset(acc, 0, sizeof *acc);
        DISPATCH(comb_vartime, acc, ptable, K_W, K_WINDOWS, dk);
        if (!fe_is_zero(u1)) { /* odd digits of u1, or of n - u1 with the signs flipped */
            u64 uo[4], flip;
            make_odd(uo, &flip, u1);
            recode_odd(dg, uo, G_W, G_WINDOWS, flip);
            DISPATCH(comb_odd_vartime, acc, dg);
        }
    } else {
        int8_t nafg[NAF_LEN], nafp[NAF_LEN];
        jac pj;
        int topg = wnaf(nafg, u1, 8), topp = wnaf(nafp, u2, WNAF_W);
        aff_to_jac(&pj, p);
        DISPATCH(double_wnaf_vartime, acc, g_odd, nafg, topg, &pj, nafp, topp);
    }
}

int rs_sm2c_double_mult_vartime(uint8_t out[65], const uint8_t u1[32], const uint8_t u2[32],
                                const uint8_t p[65])
{
    u64 a[4], b[4];
    aff pt;
    jac acc;
    int st = load_public_scalar(a, u1);
    if (st == RS_SM2C_OK)
        st = load_public_scalar(b, u2);
    if (st == RS_SM2C_OK)
        st = decode_point(&pt, p, 65);
    if (st != RS_SM2C_OK)
        return st;
    double_mult(&acc, a, b, &pt, NULL);
    return finish_point(out, &acc, 0);
}

/* ---- scalar arithmetic API ---------------------------------------------------------------- */
/* Inputs below n: the check is on (possibly secret) values, so only the verdict is published. */
static int load_two(u64 x[4], u64 y[4], const uint8_t a[32], const uint8_t b[32])
{
    load_be(x, a);
    load_be(y, b);
    u64 ok = lt_mask(x, N_) & lt_mask(y, N_);
    DECLASSIFY(&ok, sizeof ok);
    return ok ? RS_SM2C_OK : RS_SM2C_ERR_SCALAR;
}

int rs_sm2c_scalar_add(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    u64 x[4], y[4];
    int st = load_two(x, y, a, b);
    if (st == RS_SM2C_OK) {
        mod_add(x, x, y, N_);
        store_be(out, x);
    }
    rs_secure_zero(x, sizeof x);
    rs_secure_zero(y, sizeof y);
    return st;
}

int rs_sm2c_scalar_sub(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    u64 x[4], y[4];
    int st = load_two(x, y, a, b);
    if (st == RS_SM2C_OK) {
        mod_sub(x, x, y, N_);
        store_be(out, x);
    }
    rs_secure_zero(x, sizeof x);
    rs_secure_zero(y, sizeof y);
    return st;
}

int rs_sm2c_scalar_mul(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    u64 x[4], y[4];
    int st = load_two(x, y, a, b);
    if (st == RS_SM2C_OK) {
        sc_to_mont(x, x);
        sc_mul(x, x, y); /* x R * y / R */
        store_be(out, x);
    }
    rs_secure_zero(x, sizeof x);
    rs_secure_zero(y, sizeof y);
    return st;
}

int rs_sm2c_scalar_inv(uint8_t out[32], const uint8_t a[32])
{
    u64 x[4];
    int st = load_secret_scalar(x, a, 0);
    if (st == RS_SM2C_OK) {
        sc_to_mont(x, x);
        sc_inv(x, x); /* Fermat here (no randomness needed); signing uses the blinded one */
        sc_from_mont(x, x);
        store_be(out, x);
    }
    rs_secure_zero(x, sizeof x);
    return st;
}

int rs_sm2c_scalar_reduce(uint8_t out[32], const uint8_t *in, size_t len)
{
    uint8_t buf[64] = {0};
    u64 hi[4], lo[4];
    if (len > 64)
        return RS_SM2C_ERR_LENGTH;
    memcpy(buf + 64 - len, in, len);
    load_be(hi, buf);
    load_be(lo, buf + 32);
    sc_reduce(hi, hi);
    sc_reduce(lo, lo);
    sc_mul(hi, hi, R2N); /* hi * 2^256 mod n */
    mod_add(lo, lo, hi, N_);
    store_be(out, lo);
    rs_secure_zero(buf, sizeof buf);
    rs_secure_zero(hi, sizeof hi);
    rs_secure_zero(lo, sizeof lo);
    return RS_SM2C_OK;
}

/* ---- fixed-base combs for other points (the OPRF client's r * K) ------------------------- */
struct rs_sm2c_fixed {
    aff *table; /* G_WINDOWS * G_TABLE odd multiples, 64-byte aligned */
};

int rs_sm2c_fixed_new(rs_sm2c_fixed **out, const uint8_t p[65])
{
    aff pt;
    jac pj;
    *out = NULL;
    int st = decode_point(&pt, p, 65);
    if (st != RS_SM2C_OK)
        return st;
    rs_sm2c_fixed *f = malloc(sizeof *f);
    aff *table = aligned_alloc(64, (size_t)G_WINDOWS * G_TABLE * sizeof(aff));
    aff_to_jac(&pj, &pt);
    if (f == NULL || table == NULL || DISPATCH(build_comb_odd, table, &pj, G_W, G_WINDOWS) != 0) {
        free(f);
        free(table);
        return RS_SM2C_ERR_NOMEM;
    }
    f->table = table;
    *out = f;
    return RS_SM2C_OK;
}

void rs_sm2c_fixed_free(rs_sm2c_fixed *f)
{
    if (f != NULL) {
        free(f->table);
        free(f);
    }
}

int rs_sm2c_fixed_mult(const rs_sm2c_fixed *f, uint8_t *out, const uint8_t *k, size_t count)
{
    const aff *table = f != NULL ? f->table : g_table;
    int st = RS_SM2C_OK;
    if (count == 0)
        return RS_SM2C_OK;
    if (count > SIZE_MAX / sizeof(jac))
        return RS_SM2C_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) { /* validity of each secret scalar (published) */
        u64 kk[4];
        st = load_secret_scalar(kk, k + 32 * i, 0);
        rs_secure_zero(kk, sizeof kk);
        if (st != RS_SM2C_OK)
            return st;
    }
    jac *res = malloc(count * sizeof(jac));
    aff *aout = malloc(count * sizeof(aff));
    u64(*scratch)[4] = malloc(count * 32);
    if (res == NULL || aout == NULL || scratch == NULL) {
        st = RS_SM2C_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        u64 kk[4], ko[4], flip;
        uint8_t dig[G_WINDOWS];
        load_be(kk, k + 32 * i);
        make_odd(ko, &flip, kk);
        recode_odd(dig, ko, G_W, G_WINDOWS, flip);
        DISPATCH(comb_odd_ct, &res[i], table, dig);
        rs_secure_zero(kk, sizeof kk);
        rs_secure_zero(ko, sizeof ko);
        rs_secure_zero(dig, sizeof dig);
    }
    DISPATCH(batch_to_affine, aout, res, count, scratch, 1);
    for (size_t i = 0; i < count; i++)
        encode_point(out + 65 * i, aout[i].x, aout[i].y);
done:
    if (res != NULL) {
        rs_secure_zero(res, count * sizeof(jac));
        free(res);
    }
    if (aout != NULL) {
        rs_secure_zero(aout, count * sizeof(aff));
        free(aout);
    }
    if (scratch != NULL) {
        rs_secure_zero(scratch, count * 32);
        free(scratch);
    }
    return st;
}

/* ---- per-public-key comb cache ---------------------------------------------------------- */
typedef struct {
    uint8_t key[64];
    aff *table;
    int refs; /* the cache's own reference + users */
    u64 stamp;
} kentry;

static kentry *cache_slot[CACHE_SLOTS];
static uint8_t cache_seen[CACHE_SLOTS][64];
static int cache_seen_valid[CACHE_SLOTS];
static int cache_seen_next;
static u64 cache_clock;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

static void kentry_release_locked(kentry *e)
{
    if (--e->refs == 0) {
        free(e->table);
        free(e);
    }
}

static void kentry_release(kentry *e)
{
    pthread_mutex_lock(&cache_mu);
    kentry_release_locked(e);
    pthread_mutex_unlock(&cache_mu);
}

/* The cached entry of this key (a reference the caller releases), building its table the
 * second time the key is seen; NULL if not (yet) cached. */
static kentry *cache_get(const uint8_t key[64], const aff *p)
{
    kentry *e = NULL;
    int build = 0;
    pthread_mutex_lock(&cache_mu);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache_slot[i] != NULL && memcmp(cache_slot[i]->key, key, 64) == 0) {
            e = cache_slot[i];
            e->refs++;
            e->stamp = ++cache_clock;
            break;
        }
    if (e == NULL) {
        for (int i = 0; i < CACHE_SLOTS; i++)
            if (cache_seen_valid[i] && memcmp(cache_seen[i], key, 64) == 0) {
                build = 1;
                cache_seen_valid[i] = 0;
                break;
            }
        if (!build) {
            memcpy(cache_seen[cache_seen_next], key, 64);
            cache_seen_valid[cache_seen_next] = 1;
            cache_seen_next = (cache_seen_next + 1) % CACHE_SLOTS;
        }
    }
    pthread_mutex_unlock(&cache_mu);
    if (!build)
        return e;

    kentry *n = malloc(sizeof *n);
    aff *table = malloc((size_t)K_WINDOWS * K_TABLE * sizeof(aff));
    jac pj;
    aff_to_jac(&pj, p);
    if (n == NULL || table == NULL || DISPATCH(build_comb, table, &pj, K_W, K_WINDOWS) != 0) {
        free(n);
        free(table);
        return NULL;
    }
    memcpy(n->key, key, 64);
    n->table = table;
    n->refs = 2;
    pthread_mutex_lock(&cache_mu);
    n->stamp = ++cache_clock;
    int victim = -1;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (cache_slot[i] != NULL && memcmp(cache_slot[i]->key, key, 64) == 0) {
            victim = -2; /* another thread built it meanwhile: keep theirs */
            break;
        }
        if (cache_slot[i] == NULL) {
            if (victim < 0 || cache_slot[victim] != NULL)
                victim = i;
        } else if (victim < 0 ||
                   (cache_slot[victim] != NULL && cache_slot[i]->stamp < cache_slot[victim]->stamp)) {
            victim = i;
        }
    }
    if (victim >= 0) {
        if (cache_slot[victim] != NULL)
            kentry_release_locked(cache_slot[victim]);
        cache_slot[victim] = n;
    } else {
        n->refs = 1; /* not cached: only the caller holds it */
    }
    pthread_mutex_unlock(&cache_mu);
    return n;
}

void rs_sm2c_cache_clear(void)
{
    pthread_mutex_lock(&cache_mu);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (cache_slot[i] != NULL)
            kentry_release_locked(cache_slot[i]);
        cache_slot[i] = NULL;
        cache_seen_valid[i] = 0;
    }
    pthread_mutex_unlock(&cache_mu);
}

/* ---- SM2 signatures -------------------------------------------------------------------- */
int rs_sm2c_za(uint8_t za[32], const uint8_t pub[65], const uint8_t *uid, size_t uid_len)
{
    aff p;
    if (uid_len > RS_SM2C_MAX_UID_SIZE)
        return RS_SM2C_ERR_LENGTH;
    int st = decode_point(&p, pub, 65);
    if (st != RS_SM2C_OK)
        return st;
    uint8_t buf[2 + RS_SM2C_MAX_UID_SIZE + 192];
    size_t bits = uid_len * 8, off = 0;
    buf[off++] = (uint8_t)(bits >> 8);
    buf[off++] = (uint8_t)bits;
    if (uid_len)
        memcpy(buf + off, uid, uid_len);
    off += uid_len;
    memcpy(buf + off, CURVE_ABG, 128);
    off += 128;
    memcpy(buf + off, pub + 1, 64);
    off += 64;
    return rs_sm3_digest(buf, off, za) ? RS_SM2C_OK : RS_SM2C_ERR_HASH;
}

static int digest_msg(uint8_t e[32], const uint8_t za[32], const uint8_t *msg, size_t msg_len)
{
    uint8_t small[32 + 1024];
    uint8_t *buf = msg_len <= 1024 ? small : malloc(32 + msg_len);
    if (buf == NULL)
        return RS_SM2C_ERR_NOMEM;
    memcpy(buf, za, 32);
    if (msg_len)
        memcpy(buf + 32, msg, msg_len);
    int ok = rs_sm3_digest(buf, 32 + msg_len, e);
    if (buf != small)
        free(buf);
    return ok ? RS_SM2C_OK : RS_SM2C_ERR_HASH;
}

/* r = (e + x1) mod n, s = (1 + d)^-1 (k - r d) mod n with (x1, y1) = k G. d in [1, n-2], k in
 * [1, n-1], both secret; r and s are published (declassified) before they are tested. */
static int sign_core(uint8_t sig[64], const u64 d[4], const u64 e[4], const u64 k[4])
{
    jac R;
    u64 x[4], y[4], r[4], s[4], t[4], dm[4], km[4], rm[4], inv[4];
    static const u64 one[4] = {1, 0, 0, 0};
    int st = RS_SM2C_OK;
    base_mult_jac(&R, k);
    DISPATCH(pt_to_affine, x, y, &R, 1);
    fe_from_mont(t, x);
    sc_reduce(t, t);
    mod_add(r, e, t, N_);
    DECLASSIFY(r, sizeof r);
    mod_add(t, r, k, N_);
    u64 bad = fe_zero_mask(r) | fe_zero_mask(t);
    DECLASSIFY(&bad, sizeof bad);
    if (bad) {
        st = RS_SM2C_ERR_NONCE;
        goto done;
    }
    mod_add(t, d, one, N_);
    sc_to_mont(t, t);
    sc_inv_fast(inv, t);
    sc_to_mont(dm, d);
    sc_to_mont(km, k);
    sc_to_mont(rm, r);
    sc_mul(t, rm, dm);
    mod_sub(t, km, t, N_);
    sc_mul(s, inv, t);
    sc_from_mont(s, s);
    DECLASSIFY(s, sizeof s);
    if (fe_is_zero(s)) {
        st = RS_SM2C_ERR_NONCE;
        goto done;
    }
    store_be(sig, r);
    store_be(sig + 32, s);
done:
    rs_secure_zero(&R, sizeof R);
    rs_secure_zero(x, sizeof x);
    rs_secure_zero(y, sizeof y);
    rs_secure_zero(t, sizeof t);
    rs_secure_zero(dm, sizeof dm);
    rs_secure_zero(km, sizeof km);
    rs_secure_zero(inv, sizeof inv);
    return st;
}

int rs_sm2c_sign_digest_with_k(uint8_t sig[64], const uint8_t d[32], const uint8_t e[32],
                               const uint8_t k[32])
{
    u64 dd[4], kk[4], ee[4];
    int st = load_secret_scalar(dd, d, 1);
    if (st == RS_SM2C_OK)
        st = load_secret_scalar(kk, k, 0);
    if (st == RS_SM2C_OK) {
        load_be(ee, e);
        sc_reduce(ee, ee);
        st = sign_core(sig, dd, ee, kk);
    }
    rs_secure_zero(dd, sizeof dd);
    rs_secure_zero(kk, sizeof kk);
    return st;
}

int rs_sm2c_sign_digest(uint8_t sig[64], const uint8_t d[32], const uint8_t e[32])
{
    u64 dd[4], kk[4], ee[4];
    uint8_t kb[32];
    int st = load_secret_scalar(dd, d, 1);
    if (st != RS_SM2C_OK)
        return st;
    load_be(ee, e);
    sc_reduce(ee, ee);
    st = RS_SM2C_ERR_RANDOM;
    for (int attempt = 0; attempt < 64; attempt++) {
        if (RAND_priv_bytes(kb, 32) != 1) {
            st = RS_SM2C_ERR_RANDOM;
            break;
        }
        CLASSIFY(kb, sizeof kb);
        if (load_secret_scalar(kk, kb, 0) != RS_SM2C_OK)
            continue;
        st = sign_core(sig, dd, ee, kk);
        if (st != RS_SM2C_ERR_NONCE)
            break;
    }
    rs_secure_zero(dd, sizeof dd);
    rs_secure_zero(kk, sizeof kk);
    rs_secure_zero(kb, sizeof kb);
    return st;
}

int rs_sm2c_sign(uint8_t sig[64], const uint8_t d[32], const uint8_t *pub, const uint8_t *msg,
                 size_t msg_len, const uint8_t *uid, size_t uid_len)
{
    uint8_t own[65], za[32], e[32];
    int st = RS_SM2C_OK;
    if (pub == NULL) {
        st = rs_sm2c_public_key(own, d);
        pub = own;
    }
    if (st == RS_SM2C_OK)
        st = rs_sm2c_za(za, pub, uid, uid_len);
    if (st == RS_SM2C_OK)
        st = digest_msg(e, za, msg, msg_len);
    if (st == RS_SM2C_OK)
        st = rs_sm2c_sign_digest(sig, d, e);
    return st;
}

/* Verification: (x1, y1) = s G + (r + s) P; accept iff (e + x1) mod n = r. x1 is compared in
 * Jacobian form (x1 Z^2 = X) against the (at most two) field values congruent to r - e mod n,
 * so no inversion is needed. */
static int verify_point(const aff *p, const uint8_t key[64], const uint8_t e[32],
                        const uint8_t sig[64], int use_cache)
{
    u64 r[4], s[4], ee[4], t[4], c[4], cm[4], z2[4];
    jac acc;
    load_be(r, sig);
    load_be(s, sig + 32);
    if (fe_is_zero(r) || fe_is_zero(s) || !lt_mask(r, N_) || !lt_mask(s, N_))
        return RS_SM2C_ERR_SIGNATURE;
    load_be(ee, e);
    sc_reduce(ee, ee);
    mod_add(t, r, s, N_);
    if (fe_is_zero(t))
        return RS_SM2C_ERR_SIGNATURE;
    kentry *ke = use_cache ? cache_get(key, p) : NULL;
    double_mult(&acc, s, t, p, ke != NULL ? ke->table : NULL);
    if (ke != NULL)
        kentry_release(ke);
    if (fe_is_zero(acc.Z))
        return RS_SM2C_ERR_SIGNATURE;
    mod_sub(c, r, ee, N_);
    fe_mul_any(z2, acc.Z, acc.Z);
    fe_mul_any(cm, c, R2P);
    fe_mul_any(cm, cm, z2);
    if (fe_equal(cm, acc.X))
        return RS_SM2C_OK;
    /* c + n, if still below p */
    u64 cc = 0;
    for (int i = 0; i < 4; i++) {
        u128 v = (u128)c[i] + N_[i] + cc;
        c[i] = (u64)v;
        cc = (u64)(v >> 64);
    }
    if (cc || !lt_mask(c, P_))
        return RS_SM2C_ERR_SIGNATURE;
    fe_mul_any(cm, c, R2P);
    fe_mul_any(cm, cm, z2);
    return fe_equal(cm, acc.X) ? RS_SM2C_OK : RS_SM2C_ERR_SIGNATURE;
}

int rs_sm2c_verify_digest(const uint8_t pub[65], const uint8_t e[32], const uint8_t sig[64],
                          int use_cache)
{
    aff p;
    int st = decode_point(&p, pub, 65);
    if (st != RS_SM2C_OK)
        return st;
    return verify_point(&p, pub + 1, e, sig, use_cache);
}

int rs_sm2c_verify(const uint8_t pub[65], const uint8_t *msg, size_t msg_len, const uint8_t *uid,
                   size_t uid_len, const uint8_t sig[64], int use_cache)
{
    uint8_t za[32], e[32];
    int st = rs_sm2c_za(za, pub, uid, uid_len);
    if (st == RS_SM2C_OK)
        st = digest_msg(e, za, msg, msg_len);
    if (st == RS_SM2C_OK)
        st = rs_sm2c_verify_digest(pub, e, sig, use_cache);
    return st;
}

int rs_sm2c_verify_digest_batch(uint8_t *ok, const uint8_t *pubs, const uint8_t *es,
                                const uint8_t *sigs, size_t count, int use_cache)
{
    for (size_t i = 0; i < count; i++)
        ok[i] = rs_sm2c_verify_digest(pubs + 65 * i, es + 32 * i, sigs + 64 * i, use_cache) ==
                RS_SM2C_OK;
    return RS_SM2C_OK;
}

int rs_sm2c_static_agree(uint8_t x[32], const uint8_t d[32], const uint8_t p[65])
{
    uint8_t out[65];
    int st = rs_sm2c_scalar_mult(out, d, p);
    if (st == RS_SM2C_OK)
        memcpy(x, out + 1, 32);
    rs_secure_zero(out, sizeof out);
    return st;
}
