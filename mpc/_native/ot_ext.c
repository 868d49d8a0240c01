/* Area 'ot', extension kernels: bit-matrix transposition, the IKNP/KKRT matrix steps (PRG by
 * AES-128-CTR, or SM4-CTR for the national-suite variant), the tweakable correlation-robust hash
 * of Guo–Katz–Wang–Yu (S&P 2020) from fixed-key AES (or SM4), the KOS consistency check's
 * random linear combination (carry-less products, PCLMULQDQ or portable), the KKRT pseudo-random
 * code and OPRF evaluation, and cuckoo hashing for the PSI receiver.
 *
 * Bit order everywhere: bit k of a row is (row[k / 8] >> (k % 8)) & 1 (numpy's bitorder="little").
 * Matrices are row-major; transposing an R × C bit matrix gives a C × R one. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co: far cheaper per call than EVP in 3.0 */
#include "ot.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

#include <immintrin.h>

#define KKRT_W 512
#define KKRT_ROW (KKRT_W / 8)
#define KKRT_CODE_KEYS 5
#define CHUNK 1024 /* items per batch inside the fused kernels */

enum { CIPHER_AES = 0, CIPHER_SM4 = 1 };

static EVP_CIPHER *c_ctr[2], *c_ecb[2];

static int parse_cipher(int id)
{
    if (id != CIPHER_AES && id != CIPHER_SM4) {
        rs_raise(RS_ERR_VALUE, "cipher must be 0 (AES-128) or 1 (SM4)");
        return 0;
    }
    return 1;
}

static void be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* In-place keystream XOR over buf[0:len] from counter block `block`. */
static int ctr_xor(EVP_CIPHER_CTX *ctx, int cipher, const uint8_t key[16], uint64_t block, uint8_t *buf,
                   size_t len)
{
    uint8_t iv[16] = {0};
    int outl;
    be64(iv + 8, block);
    if (!EVP_EncryptInit_ex(ctx, c_ctr[cipher], NULL, key, iv))
        return 0;
    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
        if (!EVP_EncryptUpdate(ctx, buf, &outl, buf, chunk))
            return 0;
        buf += chunk;
        len -= (size_t)chunk;
    }
    return 1;
}

/* ECB over whole blocks with an initialised context (key set by the caller). */
static int ecb(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t nblocks)
{
    int outl;
    while (nblocks > 0) {
        size_t n = nblocks > (1u << 24) ? (1u << 24) : nblocks;
        if (!EVP_EncryptUpdate(ctx, out, &outl, in, (int)(n * 16)))
            return 0;
        out += n * 16;
        in += n * 16;
        nblocks -= n;
    }
    return 1;
}

static int ecb_init(EVP_CIPHER_CTX *ctx, int cipher, const uint8_t key[16])
{
    return EVP_EncryptInit_ex(ctx, c_ecb[cipher], NULL, key, NULL) && EVP_CIPHER_CTX_set_padding(ctx, 0);
}

/* ---- bit-matrix transposition ---------------------------------------------------------------- */

/* Transpose an 8 × 8 bit block held as bytes b[k] = row k (bit order LSB first). */
static inline uint64_t t8x8(uint64_t x)
{
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
    x = x ^ t ^ (t << 28);
    return x;
}

static void transpose_portable(uint8_t *out, const uint8_t *in, size_t nrows, size_t ncols)
{
    size_t rb = ncols / 8, ob = nrows / 8;
    for (size_t r = 0; r < nrows; r += 8)
        for (size_t cb = 0; cb < rb; cb++) {
            uint64_t x = 0;
            for (int k = 0; k < 8; k++)
                x |= (uint64_t)in[(r + k) * rb + cb] << (8 * k);
            x = t8x8(x);
            for (int b = 0; b < 8; b++)
                out[(cb * 8 + b) * ob + r / 8] = (uint8_t)(x >> (8 * b));
        }
}

/* movemask trick: with one byte from each of 16 rows in a vector, _mm_movemask_epi8 reads their
 * top bits (16 output bits of one column); shift left and repeat for the other 7 columns. The
 * bytes are brought together by a 16 × 16 byte transpose (4 unpack stages) of 16-byte loads from
 * 16 rows, so each row is read sequentially; a tail of < 16 byte columns is gathered bytewise. */
#define TILE_W 512 /* bytes per row copied into the tile */
#define RS_T16(V, P)                                                  \
    do {                                                                                              \
        __typeof__(V[0]) t_[16];                                                                      \
        for (int i_ = 0; i_ < 8; i_++) {                                                              \
            t_[i_] = P##_unpacklo_epi8(V[2 * i_], V[2 * i_ + 1]);                                               \
            t_[8 + i_] = P##_unpackhi_epi8(V[2 * i_], V[2 * i_ + 1]);                                           \
        }                                                                                             \
        /* t_[i] (i<8): pair i, cols 0..7 as 16-bit units; t_[8+i]: cols 8..15 */                     \
        for (int h_ = 0; h_ < 2; h_++)                                                                \
            for (int i_ = 0; i_ < 4; i_++) {                                                          \
                V[h_ * 8 + i_] = P##_unpacklo_epi16(t_[h_ * 8 + 2 * i_], t_[h_ * 8 + 2 * i_ + 1]);              \
                V[h_ * 8 + 4 + i_] = P##_unpackhi_epi16(t_[h_ * 8 + 2 * i_], t_[h_ * 8 + 2 * i_ + 1]);          \
            }                                                                                         \
        /* V[g*4 + i] (g = col group of 4, i = row group of 4) */                                     \
        for (int g_ = 0; g_ < 4; g_++)                                                                \
            for (int i_ = 0; i_ < 2; i_++) {                                                          \
                t_[g_ * 4 + i_] = P##_unpacklo_epi32(V[g_ * 4 + 2 * i_], V[g_ * 4 + 2 * i_ + 1]);               \
                t_[g_ * 4 + 2 + i_] = P##_unpackhi_epi32(V[g_ * 4 + 2 * i_], V[g_ * 4 + 2 * i_ + 1]);           \
            }                                                                                         \
        /* t_[d*2 + i] (d = col group of 2, i = row group of 8) */                                    \
        for (int d_ = 0; d_ < 8; d_++) {                                                              \
            V[2 * d_] = P##_unpacklo_epi64(t_[2 * d_], t_[2 * d_ + 1]);                                         \
            V[2 * d_ + 1] = P##_unpackhi_epi64(t_[2 * d_], t_[2 * d_ + 1]);                                     \
        }                                                                                             \
    } while (0)

__attribute__((target("sse2"))) static void transpose_sse2(uint8_t *out, const uint8_t *in, size_t nrows,
                                                          size_t ncols)
{
    size_t rb = ncols / 8, ob = nrows / 8, full = rb / 16 * 16;
    uint8_t tile[16 * TILE_W];
    for (size_t r = 0; r < nrows; r += 16) {
        for (size_t cb = 0; cb < full; cb += 16) {
            size_t tc = cb % TILE_W;
            if (tc == 0) /* copy whole cache lines of 16 rows once: rows 2^k apart share cache sets */
                for (int k = 0; k < 16; k++)
                    memcpy(tile + k * TILE_W, in + (r + (size_t)k) * rb + cb, full - cb < TILE_W ? full - cb : TILE_W);
            __m128i v[16];
            for (int k = 0; k < 16; k++)
                v[k] = _mm_loadu_si128((const __m128i *)(tile + k * TILE_W + tc));
            RS_T16(v, _mm);
            for (int j = 0; j < 16; j++) {
                __m128i x = v[j];
                uint8_t *o = out + (cb + (size_t)j) * 8 * ob + r / 8;
                for (int i = 7; i >= 0; i--) {
                    uint16_t m = (uint16_t)_mm_movemask_epi8(x);
                    memcpy(o + (size_t)i * ob, &m, 2);
                    x = _mm_slli_epi64(x, 1);
                }
            }
        }
        for (size_t cb = full; cb < rb; cb++) {
            const uint8_t *p = in + r * rb + cb;
            uint8_t g[16];
            for (int k = 0; k < 16; k++)
                g[k] = p[(size_t)k * rb];
            __m128i x = _mm_loadu_si128((const __m128i *)g);
            uint8_t *o = out + cb * 8 * ob + r / 8;
            for (int i = 7; i >= 0; i--) {
                uint16_t m = (uint16_t)_mm_movemask_epi8(x);
                memcpy(o + (size_t)i * ob, &m, 2);
                x = _mm_slli_epi64(x, 1);
            }
        }
    }
}

/* AVX2: the two 128-bit lanes carry rows r..r+15 and r+16..r+31, so one movemask gives 32 bits. */
__attribute__((target("avx2"))) static void transpose_avx2(uint8_t *out, const uint8_t *in, size_t nrows,
                                                          size_t ncols)
{
    size_t rb = ncols / 8, ob = nrows / 8, full = rb / 16 * 16;
    uint8_t tile[32 * TILE_W];
    for (size_t r = 0; r < nrows; r += 32) {
        for (size_t cb = 0; cb < full; cb += 16) {
            size_t tc = cb % TILE_W;
            if (tc == 0)
                for (int k = 0; k < 32; k++)
                    memcpy(tile + k * TILE_W, in + (r + (size_t)k) * rb + cb, full - cb < TILE_W ? full - cb : TILE_W);
            __m256i v[16];
            for (int k = 0; k < 16; k++) {
                __m128i lo = _mm_loadu_si128((const __m128i *)(tile + k * TILE_W + tc));
                __m128i hi = _mm_loadu_si128((const __m128i *)(tile + (16 + k) * TILE_W + tc));
                v[k] = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
            }
            RS_T16(v, _mm256);
            for (int j = 0; j < 16; j++) {
                __m256i x = v[j];
                uint8_t *o = out + (cb + (size_t)j) * 8 * ob + r / 8;
                for (int i = 7; i >= 0; i--) {
                    uint32_t m = (uint32_t)_mm256_movemask_epi8(x);
                    memcpy(o + (size_t)i * ob, &m, 4);
                    x = _mm256_slli_epi64(x, 1);
                }
            }
        }
        for (size_t cb = full; cb < rb; cb++) {
            const uint8_t *p = in + r * rb + cb;
            uint8_t g[32];
            for (int k = 0; k < 32; k++)
                g[k] = p[(size_t)k * rb];
            __m256i x = _mm256_loadu_si256((const __m256i *)g);
            uint8_t *o = out + cb * 8 * ob + r / 8;
            for (int i = 7; i >= 0; i--) {
                uint32_t m = (uint32_t)_mm256_movemask_epi8(x);
                memcpy(o + (size_t)i * ob, &m, 4);
                x = _mm256_slli_epi64(x, 1);
            }
        }
    }
}

/* nrows a multiple of 32, ncols a multiple of 8. */
static void transpose(uint8_t *out, const uint8_t *in, size_t nrows, size_t ncols)
{
    if (rs_cpu.avx2)
        transpose_avx2(out, in, nrows, ncols);
    else if (rs_cpu.sse41)
        transpose_sse2(out, in, nrows, ncols);
    else
        transpose_portable(out, in, nrows, ncols);
}

/* (data, nrows, ncols[, path]) with path 0 = dispatch on rs_cpu, 1 = portable, 2 = SSE2, 3 = AVX2
 * (tests pin each path; a path the CPU lacks raises ValueError). */
static PyObject *py_transpose(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer in;
    Py_ssize_t nrows, ncols;
    int path = 0;
    if (!PyArg_ParseTuple(args, "y*nn|i:ot_transpose", &in, &nrows, &ncols, &path))
        return NULL;
    PyObject *out = NULL;
    if (nrows <= 0 || ncols <= 0 || nrows % 32 != 0 || ncols % 8 != 0 || in.len != nrows / 8 * ncols) {
        rs_raise(RS_ERR_VALUE, "transpose: rows must be a multiple of 32, columns of 8, data rows*cols/8");
        goto done;
    }
    if (path < 0 || path > 3 || (path == 2 && !rs_cpu.sse41) || (path == 3 && !rs_cpu.avx2)) {
        rs_raise(RS_ERR_VALUE, "transpose: unknown path or not available on this CPU");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, in.len);
    if (out) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
        Py_BEGIN_ALLOW_THREADS
        if (path == 1)
            transpose_portable(o, in.buf, (size_t)nrows, (size_t)ncols);
        else if (path == 2)
            transpose_sse2(o, in.buf, (size_t)nrows, (size_t)ncols);
        else if (path == 3)
            transpose_avx2(o, in.buf, (size_t)nrows, (size_t)ncols);
        else
            transpose(o, in.buf, (size_t)nrows, (size_t)ncols);
        Py_END_ALLOW_THREADS
    }
done:
    PyBuffer_Release(&in);
    return out;
}

/* ---- IKNP / KKRT matrix steps ---------------------------------------------------------------- */

/* Receiver: column i of T0 = G(k0_i), u_i = G(k0_i) ^ G(k1_i) ^ corr_i, where corr is either one
 * m-bit vector for every column (IKNP: the choice bits) or a w × m matrix (KKRT: codewords). Returns
 * (u as w rows of m bits, T0 transposed: m rows of w bits). */
static PyObject *py_ext_recv(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher;
    Py_buffer k0, k1, corr;
    unsigned long long boff;
    Py_ssize_t m;
    PyObject *u = NULL, *t = NULL, *res = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*Ky*n:ot_ext_recv", &cipher, &k0, &k1, &boff, &corr, &m))
        return NULL;
    Py_ssize_t w = k0.len / 16, mb = m / 8;
    if (!parse_cipher(cipher))
        goto done;
    if (w <= 0 || w % 128 != 0 || k0.len != w * 16 || k1.len != k0.len || m <= 0 || m % 128 != 0 ||
        (corr.len != mb && corr.len != w * mb)) {
        rs_raise(RS_ERR_VALUE, "ext_recv: w and m must be multiples of 128 and corr m/8 or w*m/8 bytes");
        goto done;
    }
    u = PyBytes_FromStringAndSize(NULL, w * mb);
    t = PyBytes_FromStringAndSize(NULL, w * mb);
    uint8_t *cols = PyMem_RawMalloc((size_t)(w * mb));
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = u && t && cols && ctx;
    if (ok) {
        uint8_t *uo = (uint8_t *)PyBytes_AS_STRING(u), *to = (uint8_t *)PyBytes_AS_STRING(t);
        const uint8_t *c = corr.buf, *ka = k0.buf, *kb = k1.buf;
        int vec = corr.len == mb;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; ok && i < w; i++) {
            uint8_t *g0 = cols + i * mb, *ui = uo + i * mb;
            const uint8_t *ci = vec ? c : c + i * mb;
            memset(g0, 0, (size_t)mb);
            memcpy(ui, ci, (size_t)mb);
            ok = ctr_xor(ctx, cipher, ka + i * 16, boff, g0, (size_t)mb) &&
                 ctr_xor(ctx, cipher, kb + i * 16, boff, ui, (size_t)mb);
            for (Py_ssize_t b = 0; b < mb; b++)
                ui[b] ^= g0[b];
        }
        if (ok)
            transpose(to, cols, (size_t)w, (size_t)m);
        Py_END_ALLOW_THREADS
    }
    if (cols) {
        rs_secure_zero(cols, (size_t)(w * mb));
        PyMem_RawFree(cols);
    }
    EVP_CIPHER_CTX_free(ctx);
    if (ok)
        res = PyTuple_Pack(2, u, t);
    else if (!PyErr_Occurred())
        rs_raise_openssl("OT extension (receiver)");
done:
    Py_XDECREF(u);
    Py_XDECREF(t);
    PyBuffer_Release(&k0);
    PyBuffer_Release(&k1);
    PyBuffer_Release(&corr);
    return res;
}

/* Sender: column i of Q = G(k_{s_i}) ^ (s_i ? u_i : 0) (masked, no branch on s); returns Q
 * transposed (m rows of w bits): row j = t_j ^ (corr_j & s). */
static PyObject *py_ext_send(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher;
    Py_buffer ks, sb, ub;
    unsigned long long boff;
    PyObject *q = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*Ky*:ot_ext_send", &cipher, &ks, &sb, &boff, &ub))
        return NULL;
    Py_ssize_t w = ks.len / 16;
    if (!parse_cipher(cipher))
        goto done;
    if (w <= 0 || w % 128 != 0 || ks.len != w * 16 || sb.len != w / 8 || ub.len % w != 0 ||
        (ub.len / w) % 16 != 0 || ub.len == 0) {
        rs_raise(RS_ERR_VALUE, "ext_send: keys, s and u do not match");
        goto done;
    }
    Py_ssize_t mb = ub.len / w, m = mb * 8;
    q = PyBytes_FromStringAndSize(NULL, w * mb);
    uint8_t *cols = PyMem_RawMalloc((size_t)(w * mb));
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = q && cols && ctx;
    if (ok) {
        uint8_t *qo = (uint8_t *)PyBytes_AS_STRING(q);
        const uint8_t *k = ks.buf, *s = sb.buf, *u = ub.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; ok && i < w; i++) {
            uint8_t *g = cols + i * mb, mask = (uint8_t)(0u - ((s[i / 8] >> (i % 8)) & 1u));
            const uint8_t *ui = u + i * mb;
            for (Py_ssize_t b = 0; b < mb; b++)
                g[b] = ui[b] & mask;
            ok = ctr_xor(ctx, cipher, k + i * 16, boff, g, (size_t)mb);
        }
        if (ok)
            transpose(qo, cols, (size_t)w, (size_t)m);
        Py_END_ALLOW_THREADS
    }
    if (cols) {
        rs_secure_zero(cols, (size_t)(w * mb));
        PyMem_RawFree(cols);
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        Py_CLEAR(q);
        if (!PyErr_Occurred())
            rs_raise_openssl("OT extension (sender)");
    }
done:
    PyBuffer_Release(&ks);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&ub);
    return q;
}

/* ---- tweakable correlation-robust hash (GKWY20): H(j, x) = π(π(x) ^ j) ^ π(x), π fixed-key ---- */

static PyObject *py_tccr(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher;
    Py_buffer key, rows, delta;
    unsigned long long off;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*Ky*:ot_tccr", &cipher, &key, &rows, &off, &delta))
        return NULL;
    if (!parse_cipher(cipher))
        goto done;
    if (key.len != 16 || delta.len != 16 || rows.len % 16 != 0) {
        rs_raise(RS_ERR_VALUE, "tccr: key and delta must be 16 bytes, rows whole blocks");
        goto done;
    }
    size_t n = (size_t)rows.len / 16;
    out = PyBytes_FromStringAndSize(NULL, rows.len);
    uint8_t *tmp = PyMem_RawMalloc(2 * CHUNK * 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = out && tmp && ctx && ecb_init(ctx, cipher, key.buf);
    if (ok) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out), *x = tmp, *y = tmp + CHUNK * 16;
        const uint8_t *in = rows.buf, *d = delta.buf;
        Py_BEGIN_ALLOW_THREADS
        for (size_t c0 = 0; ok && c0 < n; c0 += CHUNK) {
            size_t cn = n - c0 < CHUNK ? n - c0 : CHUNK;
            uint64_t d0, d1;
            memcpy(&d0, d, 8);
            memcpy(&d1, d + 8, 8);
            for (size_t j = 0; j < cn; j++) {
                uint64_t a, b;
                memcpy(&a, in + (c0 + j) * 16, 8);
                memcpy(&b, in + (c0 + j) * 16 + 8, 8);
                a ^= d0;
                b ^= d1;
                memcpy(x + j * 16, &a, 8);
                memcpy(x + j * 16 + 8, &b, 8);
            }
            ok = ecb(ctx, x, x, cn); /* x = π(row ^ delta) */
            for (size_t j = 0; j < cn; j++) {
                uint64_t a, idx = (uint64_t)off + c0 + j;
                memcpy(&a, x + j * 16, 8);
                a ^= idx;
                memcpy(y + j * 16, &a, 8);
                memcpy(y + j * 16 + 8, x + j * 16 + 8, 8);
            }
            ok = ok && ecb(ctx, y, y, cn);
            uint8_t *oc = o + c0 * 16;
            for (size_t j = 0; j < cn * 16; j++)
                oc[j] = x[j] ^ y[j];
        }
        Py_END_ALLOW_THREADS
    }
    if (tmp) {
        rs_secure_zero(tmp, 2 * CHUNK * 16);
        PyMem_RawFree(tmp);
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        Py_CLEAR(out);
        if (!PyErr_Occurred())
            rs_raise_openssl("correlation-robust hash");
    }
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&delta);
    return out;
}

/* ---- fused IKNP steps (w = 128): PRG, U, transposition and hash per chunk, in cache -------- */

#define ICH 16384 /* OTs per chunk: 128 columns × 2 KiB */

/* rows[j] -> out[j] = π(π(rows[j] ^ delta) ^ (off + j)) ^ π(rows[j] ^ delta), x/y scratch n blocks */
static int tccr_rows(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *rows, size_t n, uint64_t off,
                     const uint8_t delta[16], uint8_t *x, uint8_t *y)
{
    uint64_t d0, d1;
    memcpy(&d0, delta, 8);
    memcpy(&d1, delta + 8, 8);
    for (size_t j = 0; j < n; j++) {
        uint64_t a, b;
        memcpy(&a, rows + j * 16, 8);
        memcpy(&b, rows + j * 16 + 8, 8);
        a ^= d0;
        b ^= d1;
        memcpy(x + j * 16, &a, 8);
        memcpy(x + j * 16 + 8, &b, 8);
    }
    if (!ecb(ctx, x, x, n))
        return 0;
    for (size_t j = 0; j < n; j++) {
        uint64_t a;
        memcpy(&a, x + j * 16, 8);
        a ^= off + j;
        memcpy(y + j * 16, &a, 8);
        memcpy(y + j * 16 + 8, x + j * 16 + 8, 8);
    }
    if (!ecb(ctx, y, y, n))
        return 0;
    for (size_t j = 0; j < n * 16; j += 8) {
        uint64_t a, b;
        memcpy(&a, x + j, 8);
        memcpy(&b, y + j, 8);
        a ^= b;
        memcpy(out + j, &a, 8);
    }
    return 1;
}

static void xor_into(uint8_t *dst, const uint8_t *a, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, dst + i, 8);
        memcpy(&y, a + i, 8);
        x ^= y;
        memcpy(dst + i, &x, 8);
    }
    for (; i < n; i++)
        dst[i] ^= a[i];
}

typedef struct {
    EVP_CIPHER_CTX *c[256];
    EVP_CIPHER_CTX *h;
    int n;
} iknp_ctx;

static void iknp_free(iknp_ctx *k)
{
    for (int i = 0; i < k->n; i++)
        EVP_CIPHER_CTX_free(k->c[i]);
    EVP_CIPHER_CTX_free(k->h);
}

/* Contexts for nkeys CTR streams starting at block boff, and the hash permutation. */
static int iknp_init(iknp_ctx *k, int cipher, const uint8_t *keys, int nkeys, uint64_t boff, const uint8_t hkey[16])
{
    uint8_t iv[16] = {0};
    memset(k, 0, sizeof *k);
    be64(iv + 8, boff);
    for (int i = 0; i < nkeys; i++) {
        k->c[i] = EVP_CIPHER_CTX_new();
        k->n = i + 1;
        if (!k->c[i] || !EVP_EncryptInit_ex(k->c[i], c_ctr[cipher], NULL, keys + 16 * i, iv))
            return 0;
    }
    return (k->h = EVP_CIPHER_CTX_new()) != NULL && ecb_init(k->h, cipher, hkey);
}

static int stream(EVP_CIPHER_CTX *c, uint8_t *buf, size_t len)
{
    int outl;
    return EVP_EncryptUpdate(c, buf, &outl, buf, (int)len);
}

/* (cipher, k0s, k1s, block offset, r bits (m'/8), hash key, index offset, m_out, keep_t)
 *   -> (u: 128 rows of m' bits, outputs m_out × 16, t rows m' × 16 or b"") */
static PyObject *py_iknp_recv(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher, keep;
    Py_buffer k0, k1, rb, hk;
    unsigned long long boff, ioff;
    Py_ssize_t mout;
    PyObject *u = NULL, *out = NULL, *t = NULL, *res = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*Ky*y*Knp:ot_iknp_recv", &cipher, &k0, &k1, &boff, &rb, &hk, &ioff, &mout,
                          &keep))
        return NULL;
    Py_ssize_t m = rb.len * 8, mb = rb.len;
    if (!parse_cipher(cipher))
        goto done;
    if (k0.len != 128 * 16 || k1.len != k0.len || hk.len != 16 || m <= 0 || m % 128 != 0 || mout < 0 ||
        mout > m) {
        rs_raise(RS_ERR_VALUE, "iknp_recv: 128 key pairs, choice bits a multiple of 128, m_out <= m");
        goto done;
    }
    u = PyBytes_FromStringAndSize(NULL, 128 * mb);
    out = PyBytes_FromStringAndSize(NULL, mout * 16);
    t = PyBytes_FromStringAndSize(NULL, keep ? m * 16 : 0);
    uint8_t *scratch = PyMem_RawMalloc(2 * 128 * (ICH / 8) + 3 * ICH * 16);
    iknp_ctx kc;
    memset(&kc, 0, sizeof kc);
    int ok = u && out && t && scratch;
    if (ok) {
        uint8_t keys[256 * 16];
        memcpy(keys, k0.buf, 128 * 16);
        memcpy(keys + 128 * 16, k1.buf, 128 * 16);
        ok = iknp_init(&kc, cipher, keys, 256, boff, hk.buf);
        rs_secure_zero(keys, sizeof keys);
    }
    if (ok) {
        uint8_t *uo = (uint8_t *)PyBytes_AS_STRING(u), *oo = (uint8_t *)PyBytes_AS_STRING(out);
        uint8_t *to = keep ? (uint8_t *)PyBytes_AS_STRING(t) : NULL;
        uint8_t *g0 = scratch, *g1 = g0 + 128 * (ICH / 8), *rows = g1 + 128 * (ICH / 8);
        uint8_t *x = rows + ICH * 16, *y = x + ICH * 16;
        const uint8_t *r = rb.buf;
        static const uint8_t zero[16] = {0};
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t c0 = 0; ok && c0 < m; c0 += ICH) {
            size_t cn = (size_t)(m - c0 < ICH ? m - c0 : ICH), cb = cn / 8;
            for (int i = 0; ok && i < 128; i++) {
                uint8_t *a = g0 + (size_t)i * cb, *b = g1 + (size_t)i * cb;
                memset(a, 0, cb);
                memcpy(b, r + c0 / 8, cb);
                ok = stream(kc.c[i], a, cb) && stream(kc.c[128 + i], b, cb);
                xor_into(b, a, cb);
                memcpy(uo + (size_t)i * (size_t)mb + (size_t)c0 / 8, b, cb);
            }
            if (!ok)
                break;
            transpose(rows, g0, 128, cn);
            if (to)
                memcpy(to + (size_t)c0 * 16, rows, cn * 16);
            if (c0 < mout) {
                size_t hn = (size_t)(mout - c0) < cn ? (size_t)(mout - c0) : cn;
                ok = tccr_rows(kc.h, oo + (size_t)c0 * 16, rows, hn, ioff + (uint64_t)c0, zero, x, y);
            }
        }
        rs_secure_zero(scratch, 2 * 128 * (ICH / 8) + 3 * ICH * 16);
        Py_END_ALLOW_THREADS
    }
    iknp_free(&kc);
    PyMem_RawFree(scratch);
    if (ok)
        res = PyTuple_Pack(3, u, out, t);
    else if (!PyErr_Occurred())
        rs_raise_openssl("IKNP receiver");
done:
    Py_XDECREF(u);
    Py_XDECREF(out);
    Py_XDECREF(t);
    PyBuffer_Release(&k0);
    PyBuffer_Release(&k1);
    PyBuffer_Release(&rb);
    PyBuffer_Release(&hk);
    return res;
}

/* (cipher, ks, s (16 bytes), block offset, u, hash key, index offset, m_out, keep_q)
 *   -> (x0 m_out × 16, x1 m_out × 16, q rows m' × 16 or b"") */
static PyObject *py_iknp_send(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher, keep;
    Py_buffer ks, sb, ub, hk;
    unsigned long long boff, ioff;
    Py_ssize_t mout;
    PyObject *x0 = NULL, *x1 = NULL, *q = NULL, *res = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*Ky*y*Knp:ot_iknp_send", &cipher, &ks, &sb, &boff, &ub, &hk, &ioff, &mout,
                          &keep))
        return NULL;
    Py_ssize_t mb = ub.len / 128, m = mb * 8;
    if (!parse_cipher(cipher))
        goto done;
    if (ks.len != 128 * 16 || sb.len != 16 || hk.len != 16 || ub.len % 128 != 0 || m <= 0 || m % 128 != 0 ||
        mout < 0 || mout > m) {
        rs_raise(RS_ERR_VALUE, "iknp_send: 128 keys, 16-byte s, U of 128 rows of a multiple of 128 bits");
        goto done;
    }
    x0 = PyBytes_FromStringAndSize(NULL, mout * 16);
    x1 = PyBytes_FromStringAndSize(NULL, mout * 16);
    q = PyBytes_FromStringAndSize(NULL, keep ? m * 16 : 0);
    uint8_t *scratch = PyMem_RawMalloc(128 * (ICH / 8) + 3 * ICH * 16);
    iknp_ctx kc;
    memset(&kc, 0, sizeof kc);
    int ok = x0 && x1 && q && scratch && iknp_init(&kc, cipher, ks.buf, 128, boff, hk.buf);
    if (ok) {
        uint8_t *o0 = (uint8_t *)PyBytes_AS_STRING(x0), *o1 = (uint8_t *)PyBytes_AS_STRING(x1);
        uint8_t *qo = keep ? (uint8_t *)PyBytes_AS_STRING(q) : NULL;
        uint8_t *g = scratch, *rows = g + 128 * (ICH / 8), *x = rows + ICH * 16, *y = x + ICH * 16;
        const uint8_t *s = sb.buf, *u = ub.buf;
        static const uint8_t zero[16] = {0};
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t c0 = 0; ok && c0 < m; c0 += ICH) {
            size_t cn = (size_t)(m - c0 < ICH ? m - c0 : ICH), cb = cn / 8;
            for (int i = 0; ok && i < 128; i++) {
                uint8_t *a = g + (size_t)i * cb, mask = (uint8_t)(0u - ((s[i / 8] >> (i % 8)) & 1u));
                const uint8_t *ui = u + (size_t)i * (size_t)mb + (size_t)c0 / 8;
                uint64_t m64 = 0 - (uint64_t)(mask & 1);
                size_t b = 0;
                for (; b + 8 <= cb; b += 8) {
                    uint64_t v;
                    memcpy(&v, ui + b, 8);
                    v &= m64;
                    memcpy(a + b, &v, 8);
                }
                for (; b < cb; b++)
                    a[b] = ui[b] & mask;
                ok = stream(kc.c[i], a, cb);
            }
            if (!ok)
                break;
            transpose(rows, g, 128, cn);
            if (qo)
                memcpy(qo + (size_t)c0 * 16, rows, cn * 16);
            if (c0 < mout) {
                size_t hn = (size_t)(mout - c0) < cn ? (size_t)(mout - c0) : cn;
                ok = tccr_rows(kc.h, o0 + (size_t)c0 * 16, rows, hn, ioff + (uint64_t)c0, zero, x, y) &&
                     tccr_rows(kc.h, o1 + (size_t)c0 * 16, rows, hn, ioff + (uint64_t)c0, s, x, y);
            }
        }
        rs_secure_zero(scratch, 128 * (ICH / 8) + 3 * ICH * 16);
        Py_END_ALLOW_THREADS
    }
    iknp_free(&kc);
    PyMem_RawFree(scratch);
    if (ok)
        res = PyTuple_Pack(3, x0, x1, q);
    else if (!PyErr_Occurred())
        rs_raise_openssl("IKNP sender");
done:
    Py_XDECREF(x0);
    Py_XDECREF(x1);
    Py_XDECREF(q);
    PyBuffer_Release(&ks);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&ub);
    PyBuffer_Release(&hk);
    return res;
}

/* ---- KOS check: carry-less products, accumulated unreduced (256 bits) ------------------------ */

typedef struct {
    uint64_t w[4]; /* little-endian 64-bit words of a 256-bit polynomial */
} poly256;

static void clmul64_portable(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
    uint64_t l = 0, h = 0;
    for (int i = 0; i < 64; i++) {
        uint64_t m = 0 - ((b >> i) & 1);
        l ^= (a << i) & m;
        if (i)
            h ^= (a >> (64 - i)) & m;
    }
    *lo = l;
    *hi = h;
}

static void clmul128_portable(const uint8_t a[16], const uint8_t b[16], poly256 *acc)
{
    uint64_t a0, a1, b0, b1, l, h;
    memcpy(&a0, a, 8);
    memcpy(&a1, a + 8, 8);
    memcpy(&b0, b, 8);
    memcpy(&b1, b + 8, 8);
    clmul64_portable(a0, b0, &l, &h);
    acc->w[0] ^= l;
    acc->w[1] ^= h;
    clmul64_portable(a1, b1, &l, &h);
    acc->w[2] ^= l;
    acc->w[3] ^= h;
    clmul64_portable(a0, b1, &l, &h);
    acc->w[1] ^= l;
    acc->w[2] ^= h;
    clmul64_portable(a1, b0, &l, &h);
    acc->w[1] ^= l;
    acc->w[2] ^= h;
}

__attribute__((target("pclmul,sse2"))) static void clmul_sum_pclmul(const uint8_t *chi, const uint8_t *rows,
                                                                  size_t n, poly256 *acc)
{
    __m128i lo = _mm_setzero_si128(), mid = _mm_setzero_si128(), hi = _mm_setzero_si128();
    for (size_t j = 0; j < n; j++) {
        __m128i a = _mm_loadu_si128((const __m128i *)(chi + j * 16));
        __m128i b = _mm_loadu_si128((const __m128i *)(rows + j * 16));
        lo = _mm_xor_si128(lo, _mm_clmulepi64_si128(a, b, 0x00));
        hi = _mm_xor_si128(hi, _mm_clmulepi64_si128(a, b, 0x11));
        mid = _mm_xor_si128(mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10)));
    }
    uint64_t l[2], m[2], h[2];
    _mm_storeu_si128((__m128i *)l, lo);
    _mm_storeu_si128((__m128i *)m, mid);
    _mm_storeu_si128((__m128i *)h, hi);
    acc->w[0] ^= l[0];
    acc->w[1] ^= l[1] ^ m[0];
    acc->w[2] ^= h[0] ^ m[1];
    acc->w[3] ^= h[1];
}

static void clmul_sum(const uint8_t *chi, const uint8_t *rows, size_t n, poly256 *acc)
{
    if (rs_cpu.pclmul)
        clmul_sum_pclmul(chi, rows, n, acc);
    else
        for (size_t j = 0; j < n; j++)
            clmul128_portable(chi + j * 16, rows + j * 16, acc);
}

/* (cipher, seed, rows m × 16, bits (m/8 bytes, or empty)) -> (Σ χ_j·row_j as 32 bytes,
 * Σ_{bit_j = 1} χ_j as 16 bytes), χ_j = E_seed(CTR block j). */
static PyObject *py_kos_combine(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher;
    Py_buffer seed, rows, bits;
    PyObject *res = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*y*:ot_kos_combine", &cipher, &seed, &rows, &bits))
        return NULL;
    if (!parse_cipher(cipher))
        goto done;
    size_t n = (size_t)rows.len / 16;
    if (seed.len != 16 || rows.len % 128 != 0 || (bits.len != 0 && (size_t)bits.len != n / 8)) {
        rs_raise(RS_ERR_VALUE, "kos_combine: seed 16 bytes, rows a multiple of 8 blocks, bits m/8 bytes");
        goto done;
    }
    uint8_t *chi = PyMem_RawMalloc(CHUNK * 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = chi && ctx;
    poly256 acc = {{0, 0, 0, 0}};
    uint64_t x0 = 0, x1 = 0;
    if (ok) {
        const uint8_t *r = rows.buf, *b = bits.buf;
        int havebits = bits.len != 0;
        Py_BEGIN_ALLOW_THREADS
        for (size_t c0 = 0; ok && c0 < n; c0 += CHUNK) {
            size_t cn = n - c0 < CHUNK ? n - c0 : CHUNK;
            memset(chi, 0, cn * 16);
            ok = ctr_xor(ctx, cipher, seed.buf, c0, chi, cn * 16);
            clmul_sum(chi, r + c0 * 16, cn, &acc);
            if (havebits)
                for (size_t j = 0; j < cn; j++) {
                    size_t g = c0 + j;
                    uint64_t m = 0 - (uint64_t)((b[g / 8] >> (g % 8)) & 1), a, c;
                    memcpy(&a, chi + j * 16, 8);
                    memcpy(&c, chi + j * 16 + 8, 8);
                    x0 ^= a & m;
                    x1 ^= c & m;
                }
        }
        Py_END_ALLOW_THREADS
    }
    if (chi)
        PyMem_RawFree(chi);
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        if (!PyErr_Occurred())
            rs_raise_openssl("KOS combination");
        goto done;
    }
    uint8_t a32[32], x16[16];
    memcpy(a32, acc.w, 32);
    memcpy(x16, &x0, 8);
    memcpy(x16 + 8, &x1, 8);
    res = Py_BuildValue("(y#y#)", a32, (Py_ssize_t)32, x16, (Py_ssize_t)16);
done:
    PyBuffer_Release(&seed);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&bits);
    return res;
}

static PyObject *py_clmul128(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer a, b;
    PyObject *res = NULL;
    if (!PyArg_ParseTuple(args, "y*y*:ot_clmul128", &a, &b))
        return NULL;
    if (a.len != 16 || b.len != 16) {
        rs_raise(RS_ERR_VALUE, "clmul128 takes two 16-byte values");
    } else {
        poly256 acc = {{0, 0, 0, 0}};
        clmul_sum(a.buf, b.buf, 1, &acc);
        res = PyBytes_FromStringAndSize((const char *)acc.w, 32);
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    return res;
}

/* ---- KKRT: pseudo-random code, bins, OPRF evaluation ------------------------------------------ */

typedef struct {
    EVP_CIPHER_CTX *k[KKRT_CODE_KEYS];
    EVP_CIPHER_CTX *h;
} kkrt_ctx;

static void kkrt_free(kkrt_ctx *c)
{
    for (int i = 0; i < KKRT_CODE_KEYS; i++)
        EVP_CIPHER_CTX_free(c->k[i]);
    EVP_CIPHER_CTX_free(c->h);
}

static int kkrt_init(kkrt_ctx *c, int cipher, const uint8_t *keys, const uint8_t *hkey)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < KKRT_CODE_KEYS; i++)
        if (!(c->k[i] = EVP_CIPHER_CTX_new()) || !ecb_init(c->k[i], cipher, keys + 16 * i))
            return 0;
    if (hkey && (!(c->h = EVP_CIPHER_CTX_new()) || !ecb_init(c->h, cipher, hkey)))
        return 0;
    return 1;
}

/* y = E_k0(x) ^ x (MMO digest of the item); codes use y with byte 15 replaced by the tag. */
static int kkrt_digest(kkrt_ctx *c, uint8_t *y, const uint8_t *items, size_t n)
{
    if (!ecb(c->k[0], y, items, n))
        return 0;
    for (size_t j = 0; j < n * 16; j++)
        y[j] ^= items[j];
    return 1;
}

/* codes[j] = E_k1(y'_j) || E_k2(y'_j) || E_k3(y'_j) || E_k4(y'_j), y' = y with tag; tmp: 4·n blocks */
static int kkrt_codes(kkrt_ctx *c, uint8_t *codes, const uint8_t *y, uint8_t tag, uint8_t *tmp, size_t n)
{
    uint8_t *yt = tmp + 4 * n * 16;
    memcpy(yt, y, n * 16);
    for (size_t j = 0; j < n; j++)
        yt[j * 16 + 15] = tag;
    for (int i = 0; i < 4; i++)
        if (!ecb(c->k[1 + i], tmp + (size_t)i * n * 16, yt, n))
            return 0;
    for (size_t j = 0; j < n; j++)
        for (int i = 0; i < 4; i++)
            memcpy(codes + j * KKRT_ROW + i * 16, tmp + ((size_t)i * n + j) * 16, 16);
    return 1;
}

/* Three bins per item from E_h(x): multiply-shift reduction of three 32-bit words. */
static int kkrt_bins(kkrt_ctx *c, uint32_t *bins, const uint8_t *items, size_t n, uint32_t nbins, uint8_t *tmp)
{
    if (!ecb(c->h, tmp, items, n))
        return 0;
    for (size_t j = 0; j < n; j++)
        for (int i = 0; i < 3; i++) {
            uint32_t wv;
            memcpy(&wv, tmp + j * 16 + 4 * i, 4);
            bins[j * 3 + i] = (uint32_t)(((uint64_t)wv * nbins) >> 32);
        }
    return 1;
}

static const char KKRT_DOMAIN[16] = "riskshare/kkrt1";

/* H(b, row) = SHA-256(domain || b || row)[0:outlen] */
static void kkrt_hash(uint8_t *out, size_t outlen, uint32_t b, const uint8_t row[KKRT_ROW])
{
    SHA256_CTX c;
    uint8_t d[32], bb[4] = {(uint8_t)(b >> 24), (uint8_t)(b >> 16), (uint8_t)(b >> 8), (uint8_t)b};
    SHA256_Init(&c);
    SHA256_Update(&c, KKRT_DOMAIN, 16);
    SHA256_Update(&c, bb, 4);
    SHA256_Update(&c, row, KKRT_ROW);
    SHA256_Final(d, &c);
    memcpy(out, d, outlen);
}

/* (cipher, code keys 5×16, items n × 16, tag) -> n × 64 codewords */
static PyObject *py_kkrt_code(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher, tag;
    Py_buffer keys, items;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*i:ot_kkrt_code", &cipher, &keys, &items, &tag))
        return NULL;
    if (!parse_cipher(cipher))
        goto done;
    if (keys.len != KKRT_CODE_KEYS * 16 || items.len % 16 != 0 || tag < 0 || tag > 255) {
        rs_raise(RS_ERR_VALUE, "kkrt_code: 5 keys of 16 bytes, 16-byte items, tag 0..255");
        goto done;
    }
    size_t n = (size_t)items.len / 16;
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * KKRT_ROW));
    uint8_t *tmp = PyMem_RawMalloc(6 * CHUNK * 16);
    kkrt_ctx kc;
    int ok = out && tmp && kkrt_init(&kc, cipher, keys.buf, NULL);
    if (ok) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out), *y = tmp + 5 * CHUNK * 16;
        const uint8_t *in = items.buf;
        Py_BEGIN_ALLOW_THREADS
        for (size_t c0 = 0; ok && c0 < n; c0 += CHUNK) {
            size_t cn = n - c0 < CHUNK ? n - c0 : CHUNK;
            ok = kkrt_digest(&kc, y, in + c0 * 16, cn) &&
                 kkrt_codes(&kc, o + c0 * KKRT_ROW, y, (uint8_t)tag, tmp, cn);
        }
        Py_END_ALLOW_THREADS
    }
    kkrt_free(&kc);
    PyMem_RawFree(tmp);
    if (!ok) {
        Py_CLEAR(out);
        if (!PyErr_Occurred())
            rs_raise_openssl("KKRT code");
    }
done:
    PyBuffer_Release(&keys);
    PyBuffer_Release(&items);
    return out;
}

/* (cipher, hkey, items n × 16, nbins) -> n × 3 little-endian uint32 bins */
static PyObject *py_kkrt_bins(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher;
    Py_buffer hkey, items;
    unsigned int nbins;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*I:ot_kkrt_bins", &cipher, &hkey, &items, &nbins))
        return NULL;
    if (!parse_cipher(cipher))
        goto done;
    if (hkey.len != 16 || items.len % 16 != 0 || nbins == 0) {
        rs_raise(RS_ERR_VALUE, "kkrt_bins: 16-byte key and items, nbins > 0");
        goto done;
    }
    size_t n = (size_t)items.len / 16;
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 12));
    uint8_t *tmp = PyMem_RawMalloc(CHUNK * 16);
    EVP_CIPHER_CTX *h = EVP_CIPHER_CTX_new();
    int ok = out && tmp && h && ecb_init(h, cipher, hkey.buf);
    if (ok) {
        kkrt_ctx kc;
        memset(&kc, 0, sizeof kc);
        kc.h = h;
        uint32_t *o = (uint32_t *)PyBytes_AS_STRING(out);
        const uint8_t *in = items.buf;
        Py_BEGIN_ALLOW_THREADS
        for (size_t c0 = 0; ok && c0 < n; c0 += CHUNK) {
            size_t cn = n - c0 < CHUNK ? n - c0 : CHUNK;
            ok = kkrt_bins(&kc, o + c0 * 3, in + c0 * 16, cn, nbins, tmp);
        }
        Py_END_ALLOW_THREADS
    }
    EVP_CIPHER_CTX_free(h);
    PyMem_RawFree(tmp);
    if (!ok) {
        Py_CLEAR(out);
        if (!PyErr_Occurred())
            rs_raise_openssl("KKRT bins");
    }
done:
    PyBuffer_Release(&hkey);
    PyBuffer_Release(&items);
    return out;
}

/* Sender's OPRF values for its whole set: for each item x, hash index i < 3 and stash slot k,
 * H(b, q_b ^ (C(x, i) & s)) with b = h_i(x), then b = nbins + k with C(x, 3).
 * (cipher, code keys, hkey, nbins, nstash, q rows, s (64 bytes), items, outlen)
 *   -> (3 + nstash) blocks of n × outlen. */
static PyObject *py_kkrt_eval(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher;
    Py_buffer keys, hkey, qr, sb, items;
    unsigned int nbins, nstash;
    Py_ssize_t outlen;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*IIy*y*y*n:ot_kkrt_eval", &cipher, &keys, &hkey, &nbins, &nstash, &qr,
                          &sb, &items, &outlen))
        return NULL;
    if (!parse_cipher(cipher))
        goto done;
    size_t n = (size_t)items.len / 16, nrows = (size_t)qr.len / KKRT_ROW;
    if (keys.len != KKRT_CODE_KEYS * 16 || hkey.len != 16 || sb.len != KKRT_ROW || items.len % 16 != 0 ||
        qr.len % KKRT_ROW != 0 || nbins == 0 || (size_t)nbins + nstash > nrows || outlen < 1 ||
        outlen > 32 || nstash > 64) {
        rs_raise(RS_ERR_VALUE, "kkrt_eval: arguments do not match");
        goto done;
    }
    size_t blocks = 3 + nstash;
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(blocks * n * (size_t)outlen));
    uint8_t *tmp = PyMem_RawMalloc(6 * CHUNK * 16 + CHUNK * KKRT_ROW + CHUNK * 12);
    kkrt_ctx kc;
    int ok = out && tmp && kkrt_init(&kc, cipher, keys.buf, hkey.buf);
    if (ok && n > 0) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out), *y = tmp + 5 * CHUNK * 16;
        uint8_t *codes = tmp + 6 * CHUNK * 16;
        uint32_t *bins = (uint32_t *)(codes + CHUNK * KKRT_ROW);
        const uint8_t *in = items.buf, *q = qr.buf, *s = sb.buf;
        size_t ol = (size_t)outlen;
        Py_BEGIN_ALLOW_THREADS
        uint8_t row[KKRT_ROW];
        for (size_t c0 = 0; ok && c0 < n; c0 += CHUNK) {
            size_t cn = n - c0 < CHUNK ? n - c0 : CHUNK;
            ok = kkrt_digest(&kc, y, in + c0 * 16, cn) && kkrt_bins(&kc, bins, in + c0 * 16, cn, nbins, tmp);
            for (size_t i = 0; ok && i < blocks; i++) {
                ok = kkrt_codes(&kc, codes, y, (uint8_t)(i < 3 ? i : 3), tmp, cn);
                for (size_t j = 0; ok && j < cn; j++) {
                    uint32_t b = i < 3 ? bins[j * 3 + i] : nbins + (uint32_t)(i - 3);
                    const uint8_t *qb = q + (size_t)b * KKRT_ROW, *cj = codes + j * KKRT_ROW;
                    for (int t = 0; t < KKRT_ROW; t++)
                        row[t] = qb[t] ^ (cj[t] & s[t]);
                    kkrt_hash(o + (i * n + c0 + j) * ol, ol, b, row);
                }
            }
        }
        Py_END_ALLOW_THREADS
    }
    kkrt_free(&kc);
    PyMem_RawFree(tmp);
    if (!ok) {
        Py_CLEAR(out);
        if (!PyErr_Occurred())
            rs_raise_openssl("KKRT evaluation");
    }
done:
    PyBuffer_Release(&keys);
    PyBuffer_Release(&hkey);
    PyBuffer_Release(&qr);
    PyBuffer_Release(&sb);
    PyBuffer_Release(&items);
    return out;
}

/* (t rows B × 64, outlen) -> B × outlen, row b hashed as H(b, t_b). */
static PyObject *py_kkrt_hash_rows(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer rows;
    Py_ssize_t outlen;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "y*n:ot_kkrt_hash_rows", &rows, &outlen))
        return NULL;
    if (rows.len % KKRT_ROW != 0 || outlen < 1 || outlen > 32) {
        rs_raise(RS_ERR_VALUE, "kkrt_hash_rows: rows of 64 bytes, outlen 1..32");
        goto done;
    }
    size_t n = (size_t)rows.len / KKRT_ROW;
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * (size_t)outlen));
    if (out) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
        const uint8_t *r = rows.buf;
        Py_BEGIN_ALLOW_THREADS
        for (size_t b = 0; b < n; b++)
            kkrt_hash(o + b * (size_t)outlen, (size_t)outlen, (uint32_t)b, r + b * KKRT_ROW);
        Py_END_ALLOW_THREADS
    }
done:
    PyBuffer_Release(&rows);
    return out;
}

/* (rows k × 64, positions k × uint32, outlen) -> k × outlen, row i hashed as H(pos_i, row_i). */
static PyObject *py_kkrt_hash_at(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer rows, pos;
    Py_ssize_t outlen;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*n:ot_kkrt_hash_at", &rows, &pos, &outlen))
        return NULL;
    if (rows.len % KKRT_ROW != 0 || pos.len != rows.len / KKRT_ROW * 4 || outlen < 1 || outlen > 32) {
        rs_raise(RS_ERR_VALUE, "kkrt_hash_at: rows of 64 bytes, one uint32 position each, outlen 1..32");
        goto done;
    }
    size_t n = (size_t)rows.len / KKRT_ROW;
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * (size_t)outlen));
    if (out) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
        const uint8_t *r = rows.buf, *p = pos.buf;
        Py_BEGIN_ALLOW_THREADS
        for (size_t i = 0; i < n; i++) {
            uint32_t b;
            memcpy(&b, p + 4 * i, 4);
            kkrt_hash(o + i * (size_t)outlen, (size_t)outlen, b, r + i * KKRT_ROW);
        }
        Py_END_ALLOW_THREADS
    }
done:
    PyBuffer_Release(&rows);
    PyBuffer_Release(&pos);
    return out;
}

/* ---- cuckoo hashing (receiver) --------------------------------------------------------------- */

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* (cipher, hkey, items n × 16, nbins, max stash, seed) -> (bin item index int32 × nbins (-1 empty),
 * hash index uint8 × nbins, stash item indices int32). ValueError when the stash overflows. */
static PyObject *py_cuckoo(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher;
    Py_buffer hkey, items;
    unsigned int nbins, maxstash;
    unsigned long long seed;
    PyObject *res = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*IIK:ot_cuckoo", &cipher, &hkey, &items, &nbins, &maxstash, &seed))
        return NULL;
    if (!parse_cipher(cipher))
        goto done;
    size_t n = (size_t)items.len / 16;
    if (hkey.len != 16 || items.len % 16 != 0 || nbins == 0 || n > 0x7fffffff || maxstash > 1024) {
        rs_raise(RS_ERR_VALUE, "cuckoo: 16-byte key and items, nbins > 0");
        goto done;
    }
    uint32_t *bins = PyMem_RawMalloc(n * 12 + 16);
    int32_t *table = PyMem_RawMalloc((size_t)nbins * 4);
    uint8_t *hidx = PyMem_RawCalloc(nbins, 1); /* empty bins report hash index 0 */
    int32_t *stash = PyMem_RawMalloc((size_t)maxstash * 4 + 4);
    uint8_t *tmp = PyMem_RawMalloc(CHUNK * 16);
    EVP_CIPHER_CTX *h = EVP_CIPHER_CTX_new();
    int ok = bins && table && hidx && stash && tmp && h && ecb_init(h, cipher, hkey.buf), overflow = 0;
    unsigned int nst = 0;
    if (ok) {
        kkrt_ctx kc;
        memset(&kc, 0, sizeof kc);
        kc.h = h;
        const uint8_t *in = items.buf;
        uint64_t rng = seed | 1;
        Py_BEGIN_ALLOW_THREADS
        for (size_t c0 = 0; ok && c0 < n; c0 += CHUNK) {
            size_t cn = n - c0 < CHUNK ? n - c0 : CHUNK;
            ok = kkrt_bins(&kc, bins + c0 * 3, in + c0 * 16, cn, nbins, tmp);
        }
        for (uint32_t b = 0; b < nbins; b++)
            table[b] = -1;
        /* Random-walk insertion: place the item at a free candidate bin, else evict a random one. */
        for (size_t j = 0; ok && !overflow && j < n; j++) {
            int32_t cur = (int32_t)j;
            int last = -1;
            for (int iter = 0;; iter++) {
                const uint32_t *cb = bins + (size_t)cur * 3;
                int placed = 0;
                for (int i = 0; i < 3; i++)
                    if (table[cb[i]] < 0) {
                        table[cb[i]] = cur;
                        hidx[cb[i]] = (uint8_t)i;
                        placed = 1;
                        break;
                    }
                if (placed)
                    break;
                if (iter >= 500) {
                    if (nst < maxstash)
                        stash[nst++] = cur;
                    else
                        overflow = 1;
                    break;
                }
                int i;
                do
                    i = (int)(xorshift(&rng) % 3);
                while (i == last);
                uint32_t b = cb[i];
                int32_t victim = table[b];
                table[b] = cur;
                hidx[b] = (uint8_t)i;
                cur = victim;
                /* the victim must not go straight back to the bin it was evicted from */
                const uint32_t *vb = bins + (size_t)cur * 3;
                last = vb[0] == b ? 0 : vb[1] == b ? 1 : 2;
            }
        }
        Py_END_ALLOW_THREADS
    }
    if (ok && !overflow)
        res = Py_BuildValue("(y#y#y#)", (const char *)table, (Py_ssize_t)nbins * 4, (const char *)hidx,
                            (Py_ssize_t)nbins, (const char *)stash, (Py_ssize_t)nst * 4);
    else if (overflow)
        rs_raise(RS_ERR_VALUE, "cuckoo hashing failed: stash full (use more bins or a larger stash)");
    else
        rs_raise_openssl("cuckoo hashing");
    EVP_CIPHER_CTX_free(h);
    PyMem_RawFree(bins);
    PyMem_RawFree(table);
    PyMem_RawFree(hidx);
    PyMem_RawFree(stash);
    PyMem_RawFree(tmp);
done:
    PyBuffer_Release(&hkey);
    PyBuffer_Release(&items);
    return res;
}

/* (table n × len, queries k × len, len[, want_index]) -> k bytes, 1 where the query is in the table,
 * or with want_index k int32 table positions (-1 for none). The values are pseudorandom, so their
 * first 8 bytes index an open-addressing table directly. */
static PyObject *py_match(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer tb, qb;
    Py_ssize_t len;
    int want = 0;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*n|p:ot_match", &tb, &qb, &len, &want))
        return NULL;
    if (len < 8 || len > 64 || tb.len % len != 0 || qb.len % len != 0 || tb.len / len > 0x7ffffffe) {
        rs_raise(RS_ERR_VALUE, "match: values of 8..64 bytes, whole rows");
        goto done;
    }
    size_t n = (size_t)(tb.len / len), k = (size_t)(qb.len / len), cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(want ? 4 * k : k));
    uint32_t *slots = PyMem_RawCalloc(cap, 4);
    if (!out || !slots) {
        Py_CLEAR(out);
        PyMem_RawFree(slots);
        if (!PyErr_Occurred())
            rs_raise(RS_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    const uint8_t *t = tb.buf, *q = qb.buf;
    size_t l = (size_t)len;
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < n; i++) {
        uint64_t h;
        memcpy(&h, t + i * l, 8);
        size_t p = (size_t)h & (cap - 1);
        while (slots[p])
            p = (p + 1) & (cap - 1);
        slots[p] = (uint32_t)(i + 1);
    }
    for (size_t j = 0; j < k; j++) {
        uint64_t h;
        memcpy(&h, q + j * l, 8);
        size_t p = (size_t)h & (cap - 1);
        int32_t hit = -1;
        while (slots[p]) {
            if (memcmp(t + (size_t)(slots[p] - 1) * l, q + j * l, l) == 0) {
                hit = (int32_t)(slots[p] - 1);
                break;
            }
            p = (p + 1) & (cap - 1);
        }
        if (want)
            memcpy(o + 4 * j, &hit, 4);
        else
            o[j] = hit >= 0;
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(slots);
done:
    PyBuffer_Release(&tb);
    PyBuffer_Release(&qb);
    return out;
}

/* (items n × 16) -> int32 indices of each distinct item's first occurrence, ascending. */
static PyObject *py_unique16(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer ib;
    if (PyObject_GetBuffer(arg, &ib, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out = NULL;
    if (ib.len % 16 != 0 || ib.len / 16 > 0x7ffffffe) {
        rs_raise(RS_ERR_VALUE, "unique16: whole 16-byte items");
        goto done;
    }
    size_t n = (size_t)ib.len / 16, cap = 16, cnt = 0;
    while (cap < 2 * n)
        cap <<= 1;
    uint32_t *slots = PyMem_RawCalloc(cap, 4);
    int32_t *idx = PyMem_RawMalloc(n * 4 + 4);
    if (!slots || !idx) {
        PyMem_RawFree(slots);
        PyMem_RawFree(idx);
        rs_raise(RS_ERR_NOMEM, "out of memory");
        goto done;
    }
    const uint8_t *it = ib.buf;
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < n; i++) {
        uint64_t a, b;
        memcpy(&a, it + i * 16, 8);
        memcpy(&b, it + i * 16 + 8, 8);
        uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ULL)) * 0xC2B2AE3D27D4EB4FULL;
        size_t p = (size_t)(h >> 17) & (cap - 1);
        int dup = 0;
        while (slots[p]) {
            if (memcmp(it + (size_t)(slots[p] - 1) * 16, it + i * 16, 16) == 0) {
                dup = 1;
                break;
            }
            p = (p + 1) & (cap - 1);
        }
        if (!dup) {
            slots[p] = (uint32_t)(i + 1);
            idx[cnt++] = (int32_t)i;
        }
    }
    Py_END_ALLOW_THREADS
    out = PyBytes_FromStringAndSize((const char *)idx, (Py_ssize_t)(cnt * 4));
    PyMem_RawFree(slots);
    PyMem_RawFree(idx);
done:
    PyBuffer_Release(&ib);
    return out;
}

/* (cipher, keys k × 16, data k × L) -> k × L, row i XORed with the CTR keystream of key i. */
static PyObject *py_label_xor(PyObject *self, PyObject *args)
{
    (void)self;
    int cipher;
    Py_buffer kb, db;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "iy*y*:ot_label_xor", &cipher, &kb, &db))
        return NULL;
    if (!parse_cipher(cipher))
        goto done;
    size_t k = (size_t)kb.len / 16;
    if (kb.len % 16 != 0 || (k == 0 && db.len != 0) || (k && (size_t)db.len % k != 0)) {
        rs_raise(RS_ERR_VALUE, "label_xor: one 16-byte key per equal-sized row");
        goto done;
    }
    size_t L = k ? (size_t)db.len / k : 0;
    /* A fresh object, never one of CPython's shared 0- or 1-byte bytes: it is written in place. */
    out = PyBytes_FromStringAndSize(NULL, db.len);
    if (out)
        memcpy(PyBytes_AS_STRING(out), db.buf, (size_t)db.len);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = out && ctx;
    if (ok) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
        const uint8_t *keys = kb.buf;
        Py_BEGIN_ALLOW_THREADS
        for (size_t i = 0; ok && i < k; i++)
            ok = ctr_xor(ctx, cipher, keys + 16 * i, 0, o + i * L, L);
        Py_END_ALLOW_THREADS
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        Py_CLEAR(out);
        if (!PyErr_Occurred())
            rs_raise_openssl("label encryption");
    }
done:
    PyBuffer_Release(&kb);
    PyBuffer_Release(&db);
    return out;
}

PyMethodDef rs_ot_ext_methods[] = {
    {"ot_label_xor", py_label_xor, METH_VARARGS, "XOR rows with per-row CTR keystreams."},
    {"ot_unique16", py_unique16, METH_O, "First occurrences of distinct 16-byte items."},
    {"ot_match", py_match, METH_VARARGS, "Set membership of pseudorandom values (hash table)."},
    {"ot_transpose", py_transpose, METH_VARARGS, "Transpose a rows x cols bit matrix (LSB-first)."},
    {"ot_ext_recv", py_ext_recv, METH_VARARGS, "IKNP/KKRT receiver matrix step -> (u, t rows)."},
    {"ot_ext_send", py_ext_send, METH_VARARGS, "IKNP/KKRT sender matrix step -> q rows."},
    {"ot_iknp_recv", py_iknp_recv, METH_VARARGS, "Fused IKNP receiver batch -> (u, outputs, t)."},
    {"ot_iknp_send", py_iknp_send, METH_VARARGS, "Fused IKNP sender batch -> (x0, x1, q)."},
    {"ot_tccr", py_tccr, METH_VARARGS, "Tweakable correlation-robust hash of 16-byte rows."},
    {"ot_kos_combine", py_kos_combine, METH_VARARGS, "KOS check: (sum chi*row, sum of chi over bits)."},
    {"ot_clmul128", py_clmul128, METH_VARARGS, "Carry-less 128 x 128 -> 256-bit product."},
    {"ot_kkrt_code", py_kkrt_code, METH_VARARGS, "KKRT pseudo-random codewords (512 bits)."},
    {"ot_kkrt_bins", py_kkrt_bins, METH_VARARGS, "Three cuckoo bins per item."},
    {"ot_kkrt_eval", py_kkrt_eval, METH_VARARGS, "KKRT sender: OPRF values of its whole set."},
    {"ot_kkrt_hash_rows", py_kkrt_hash_rows, METH_VARARGS, "KKRT receiver: H(b, t_b) per row."},
    {"ot_kkrt_hash_at", py_kkrt_hash_at, METH_VARARGS, "KKRT: H(position, row) per row."},
    {"ot_cuckoo", py_cuckoo, METH_VARARGS, "Cuckoo hashing with 3 hash functions and a stash."},
    {NULL, NULL, 0, NULL}};

int rs_ot_ext_init(PyObject *m)
{
    c_ctr[CIPHER_AES] = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
    c_ecb[CIPHER_AES] = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
    c_ctr[CIPHER_SM4] = EVP_CIPHER_fetch(NULL, "SM4-CTR", NULL);
    c_ecb[CIPHER_SM4] = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
    if (!c_ctr[0] || !c_ecb[0] || !c_ctr[1] || !c_ecb[1]) {
        rs_raise_openssl("OT extension initialisation");
        return -1;
    }
    if (PyModule_AddIntConstant(m, "OT_CIPHER_AES", CIPHER_AES) < 0 ||
        PyModule_AddIntConstant(m, "OT_CIPHER_SM4", CIPHER_SM4) < 0 ||
        PyModule_AddIntConstant(m, "OT_KKRT_WIDTH", KKRT_W) < 0)
        return -1;
    return 0;
}
