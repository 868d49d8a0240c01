/* SM4 (GB/T 32907): ECB, CBC (PKCS#7) and CTR on OpenSSL's EVP, and SM4-GCM (RFC 8998 /
 * NIST SP 800-38D) built here from SM4-CTR plus GHASH, because OpenSSL 3.0 ships no SM4-GCM.
 *
 * GHASH has two paths chosen at run time: PCLMULQDQ, and a portable constant-time one that does
 * carry-less multiplication with integer multiplies on masked, spread-out bits (no tables indexed
 * by secret data). set_portable(True) forces the latter so the tests run both. */
#include "rs.h"

#include <openssl/evp.h>
#include <pythread.h>
#include <string.h>

#include <immintrin.h>

#define SM4_KEY_SIZE 16
#define SM4_BLOCK_SIZE 16
#define GCM_TAG_SIZE 16
#define GCM_MAX_NONCE 1024
/* SP 800-38D: plaintext at most 2^39 - 256 bits. */
#define GCM_MAX_DATA ((((uint64_t)1) << 36) - 32)

static EVP_CIPHER *c_ecb, *c_cbc, *c_ctr;

/* ---- GHASH -------------------------------------------------------------------------------- */

static inline uint64_t load64be(const uint8_t *p)
{
    return ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
           ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
           ((uint64_t)p[6] << 8) | (uint64_t)p[7];
}

static inline void store64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* Low 64 bits of the carry-less product x*y, using integer multiplies on bits spaced four apart
 * so carries fall into holes that are masked away. Constant time. */
static inline uint64_t clmul_lo(uint64_t x, uint64_t y)
{
    const uint64_t m0 = 0x1111111111111111ULL, m1 = m0 << 1, m2 = m0 << 2, m3 = m0 << 3;
    uint64_t x0 = x & m0, x1 = x & m1, x2 = x & m2, x3 = x & m3;
    uint64_t y0 = y & m0, y1 = y & m1, y2 = y & m2, y3 = y & m3;
    uint64_t z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
    uint64_t z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
    uint64_t z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
    uint64_t z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
    return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3);
}

static inline uint64_t rev64(uint64_t x)
{
    x = ((x & 0x5555555555555555ULL) << 1) | ((x >> 1) & 0x5555555555555555ULL);
    x = ((x & 0x3333333333333333ULL) << 2) | ((x >> 2) & 0x3333333333333333ULL);
    x = ((x & 0x0F0F0F0F0F0F0F0FULL) << 4) | ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL);
    return __builtin_bswap64(x);
}

/* GHASH in GCM's reflected bit order: words hold the block big-endian, so the coefficient of x^0
 * is the top bit of the high word. Multiplying bit-reversed words gives the product's other half
 * (the usual trick), Karatsuba saves one of four multiplications per half. */
static void ghash_portable(uint8_t y[16], const uint8_t h[16], const uint8_t *data, size_t nblocks)
{
    uint64_t y1 = load64be(y), y0 = load64be(y + 8);
    uint64_t h1 = load64be(h), h0 = load64be(h + 8);
    uint64_t h0r = rev64(h0), h1r = rev64(h1), h2 = h0 ^ h1, h2r = h0r ^ h1r;
    for (size_t i = 0; i < nblocks; i++, data += 16) {
        y1 ^= load64be(data);
        y0 ^= load64be(data + 8);
        uint64_t y0r = rev64(y0), y1r = rev64(y1), y2 = y0 ^ y1, y2r = y0r ^ y1r;
        uint64_t z0 = clmul_lo(y0, h0), z1 = clmul_lo(y1, h1), z2 = clmul_lo(y2, h2);
        uint64_t z0h = clmul_lo(y0r, h0r), z1h = clmul_lo(y1r, h1r), z2h = clmul_lo(y2r, h2r);
        z2 ^= z0 ^ z1;
        z2h ^= z0h ^ z1h;
        z0h = rev64(z0h) >> 1;
        z1h = rev64(z1h) >> 1;
        z2h = rev64(z2h) >> 1;
        /* 256-bit product v3:v2:v1:v0 (bit-reflected), shifted left by one for the reflection. */
        uint64_t v0 = z0, v1 = z0h ^ z2, v2 = z1 ^ z2h, v3 = z1h;
        v3 = (v3 << 1) | (v2 >> 63);
        v2 = (v2 << 1) | (v1 >> 63);
        v1 = (v1 << 1) | (v0 >> 63);
        v0 = v0 << 1;
        /* Reduce modulo x^128 + x^7 + x^2 + x + 1 (reflected). */
        v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
        v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
        v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
        v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
        y0 = v2;
        y1 = v3;
    }
    store64be(y, y1);
    store64be(y + 8, y0);
}

/* Carry-less 128x128 product of byte-reflected blocks, unreduced: hi:lo (Intel's carry-less
 * multiplication white paper, algorithm 5, split so that several products can share one
 * reduction). */
__attribute__((target("pclmul,sse4.1,ssse3"))) static inline void clmul_wide(__m128i a, __m128i b, __m128i *lo,
                                                                             __m128i *hi)
{
    __m128i t3 = _mm_clmulepi64_si128(a, b, 0x00);
    __m128i t4 = _mm_clmulepi64_si128(a, b, 0x10);
    __m128i t5 = _mm_clmulepi64_si128(a, b, 0x01);
    __m128i t6 = _mm_clmulepi64_si128(a, b, 0x11);
    t4 = _mm_xor_si128(t4, t5);
    *lo = _mm_xor_si128(t3, _mm_slli_si128(t4, 8));
    *hi = _mm_xor_si128(t6, _mm_srli_si128(t4, 8));
}

/* Shift the 256-bit hi:lo left by one (bit reflection) and reduce modulo the GCM polynomial. */
__attribute__((target("pclmul,sse4.1,ssse3"))) static inline __m128i clmul_reduce(__m128i t3, __m128i t6)
{
    __m128i t7 = _mm_srli_epi32(t3, 31);
    __m128i t8 = _mm_srli_epi32(t6, 31);
    t3 = _mm_slli_epi32(t3, 1);
    t6 = _mm_slli_epi32(t6, 1);
    __m128i t9 = _mm_srli_si128(t7, 12);
    t8 = _mm_slli_si128(t8, 4);
    t7 = _mm_slli_si128(t7, 4);
    t3 = _mm_or_si128(t3, t7);
    t6 = _mm_or_si128(t6, t8);
    t6 = _mm_or_si128(t6, t9);
    t7 = _mm_slli_epi32(t3, 31);
    t8 = _mm_slli_epi32(t3, 30);
    t9 = _mm_slli_epi32(t3, 25);
    t7 = _mm_xor_si128(t7, t8);
    t7 = _mm_xor_si128(t7, t9);
    t8 = _mm_srli_si128(t7, 4);
    t7 = _mm_slli_si128(t7, 12);
    t3 = _mm_xor_si128(t3, t7);
    __m128i t2 = _mm_srli_epi32(t3, 1);
    __m128i t4 = _mm_srli_epi32(t3, 2);
    __m128i t5 = _mm_srli_epi32(t3, 7);
    t2 = _mm_xor_si128(t2, t4);
    t2 = _mm_xor_si128(t2, t5);
    t2 = _mm_xor_si128(t2, t8);
    t3 = _mm_xor_si128(t3, t2);
    return _mm_xor_si128(t6, t3);
}

__attribute__((target("pclmul,sse4.1,ssse3"))) static inline __m128i gfmul_clmul(__m128i a, __m128i b)
{
    __m128i lo, hi;
    clmul_wide(a, b, &lo, &hi);
    return clmul_reduce(lo, hi);
}

/* Four blocks per reduction: Y' = (Y^X1)H^4 ^ X2 H^3 ^ X3 H^2 ^ X4 H. */
__attribute__((target("pclmul,sse4.1,ssse3"))) static void ghash_clmul(uint8_t y[16], const uint8_t h[16],
                                                                        const uint8_t *data, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i H = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)h), bswap);
    __m128i Y = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)y), bswap);
    size_t i = 0;
    if (nblocks >= 4) {
        __m128i H2 = gfmul_clmul(H, H), H3 = gfmul_clmul(H2, H), H4 = gfmul_clmul(H3, H);
        for (; i + 4 <= nblocks; i += 4, data += 64) {
            __m128i x1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)data), bswap);
            __m128i x2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), bswap);
            __m128i x3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), bswap);
            __m128i x4 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), bswap);
            __m128i lo, hi, l, h_;
            clmul_wide(_mm_xor_si128(Y, x1), H4, &lo, &hi);
            clmul_wide(x2, H3, &l, &h_);
            lo = _mm_xor_si128(lo, l);
            hi = _mm_xor_si128(hi, h_);
            clmul_wide(x3, H2, &l, &h_);
            lo = _mm_xor_si128(lo, l);
            hi = _mm_xor_si128(hi, h_);
            clmul_wide(x4, H, &l, &h_);
            lo = _mm_xor_si128(lo, l);
            hi = _mm_xor_si128(hi, h_);
            Y = clmul_reduce(lo, hi);
        }
    }
    for (; i < nblocks; i++, data += 16) {
        __m128i X = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)data), bswap);
        Y = gfmul_clmul(_mm_xor_si128(Y, X), H);
    }
    _mm_storeu_si128((__m128i *)y, _mm_shuffle_epi8(Y, bswap));
}

static void ghash_blocks(uint8_t y[16], const uint8_t h[16], const uint8_t *data, size_t nblocks)
{
    if (rs_cpu.pclmul && rs_cpu.sse41)
        ghash_clmul(y, h, data, nblocks);
    else
        ghash_portable(y, h, data, nblocks);
}

/* GHASH over data, zero-padding the last partial block. */
static void ghash_padded(uint8_t y[16], const uint8_t h[16], const uint8_t *data, size_t len)
{
    size_t full = len / 16;
    ghash_blocks(y, h, data, full);
    if (len % 16) {
        uint8_t last[16] = {0};
        memcpy(last, data + full * 16, len % 16);
        ghash_blocks(y, h, last, 1);
    }
}

/* ---- SM4-GCM context ---------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    EVP_CIPHER_CTX *ecb; /* for H and E(J0) */
    EVP_CIPHER_CTX *ctr;
    uint8_t h[16];
    PyThread_type_lock lock;
} GCMObject;

static PyTypeObject GCMType;

static int ecb_block(EVP_CIPHER_CTX *ecb, const uint8_t in[16], uint8_t out[16])
{
    int n = 0;
    return EVP_EncryptUpdate(ecb, out, &n, in, 16) == 1 && n == 16;
}

static void gcm_dealloc(GCMObject *o)
{
    rs_secure_zero(o->h, sizeof o->h);
    if (o->ecb)
        EVP_CIPHER_CTX_free(o->ecb);
    if (o->ctr)
        EVP_CIPHER_CTX_free(o->ctr);
    if (o->lock)
        PyThread_free_lock(o->lock);
    PyObject_Free(o);
}

static PyObject *gcm_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)type;
    static char *kwlist[] = {"key", NULL};
    Py_buffer key;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*:SM4GCMContext", kwlist, &key))
        return NULL;
    if (key.len != SM4_KEY_SIZE) {
        PyBuffer_Release(&key);
        return rs_raise(RS_ERR_VALUE, "SM4 key must be 16 bytes");
    }
    GCMObject *o = PyObject_New(GCMObject, &GCMType);
    if (o == NULL) {
        PyBuffer_Release(&key);
        return NULL;
    }
    o->ecb = EVP_CIPHER_CTX_new();
    o->ctr = EVP_CIPHER_CTX_new();
    o->lock = PyThread_allocate_lock();
    static const uint8_t zero[16] = {0};
    int ok = o->ecb && o->ctr && o->lock &&
             EVP_EncryptInit_ex2(o->ecb, c_ecb, key.buf, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(o->ecb, 0) == 1 &&
             EVP_EncryptInit_ex2(o->ctr, c_ctr, key.buf, NULL, NULL) == 1 && ecb_block(o->ecb, zero, o->h);
    PyBuffer_Release(&key);
    if (!ok) {
        Py_DECREF(o);
        return rs_raise_openssl("SM4-GCM key setup");
    }
    return (PyObject *)o;
}

/* Counter-mode over len bytes from counter block j (GCM's inc32: only the low 32 bits count,
 * so a run that would carry into the upper 96 bits is split). */
static int gcm_ctr(GCMObject *o, const uint8_t j[16], const uint8_t *in, uint8_t *out, size_t len)
{
    uint8_t cb[16];
    memcpy(cb, j, 16);
    while (len > 0) {
        uint32_t c = ((uint32_t)cb[12] << 24) | ((uint32_t)cb[13] << 16) | ((uint32_t)cb[14] << 8) | cb[15];
        uint64_t until_wrap = ((uint64_t)1 << 32) - c; /* blocks before the low word wraps */
        size_t chunk = len;
        if ((uint64_t)chunk > until_wrap * 16)
            chunk = (size_t)(until_wrap * 16);
        int n = 0;
        if (EVP_EncryptInit_ex2(o->ctr, NULL, NULL, cb, NULL) != 1)
            return 0;
        /* EVP_EncryptUpdate takes an int length. */
        size_t done = 0;
        while (done < chunk) {
            size_t step = chunk - done;
            if (step > (1u << 30))
                step = 1u << 30;
            if (EVP_EncryptUpdate(o->ctr, out + done, &n, in + done, (int)step) != 1 || (size_t)n != step)
                return 0;
            done += step;
        }
        in += chunk;
        out += chunk;
        len -= chunk;
        cb[12] = cb[13] = cb[14] = cb[15] = 0; /* wrapped */
    }
    return 1;
}

static void gcm_j0(GCMObject *o, const uint8_t *nonce, size_t nlen, uint8_t j0[16])
{
    if (nlen == 12) {
        memcpy(j0, nonce, 12);
        j0[12] = j0[13] = j0[14] = 0;
        j0[15] = 1;
    } else {
        uint8_t lens[16] = {0};
        memset(j0, 0, 16);
        ghash_padded(j0, o->h, nonce, nlen);
        store64be(lens + 8, (uint64_t)nlen * 8);
        ghash_blocks(j0, o->h, lens, 1);
    }
}

static void inc32(uint8_t b[16])
{
    for (int i = 15; i >= 12; i--)
        if (++b[i] != 0)
            break;
}

/* Finish the tag: lengths block, then E(J0) xor S. */
static int gcm_finish(GCMObject *o, uint8_t s[16], const uint8_t j0[16], size_t alen, size_t clen, uint8_t tag[16])
{
    uint8_t lens[16], ej0[16];
    store64be(lens, (uint64_t)alen * 8);
    store64be(lens + 8, (uint64_t)clen * 8);
    ghash_blocks(s, o->h, lens, 1);
    int ok = ecb_block(o->ecb, j0, ej0);
    for (int i = 0; i < 16; i++)
        tag[i] = s[i] ^ ej0[i];
    rs_secure_zero(ej0, sizeof ej0);
    return ok;
}

static void gcm_tag(GCMObject *o, const uint8_t j0[16], const uint8_t *aad, size_t alen, const uint8_t *ct,
                    size_t clen, uint8_t tag[16], int *ok)
{
    uint8_t s[16] = {0};
    ghash_padded(s, o->h, aad, alen);
    ghash_padded(s, o->h, ct, clen);
    *ok = gcm_finish(o, s, j0, alen, clen, tag) && *ok;
}

/* Add n to the low 32 bits of a counter block (GCM's inc32 arithmetic). */
static void ctr_add(uint8_t cb[16], uint64_t n)
{
    uint32_t c = ((uint32_t)cb[12] << 24) | ((uint32_t)cb[13] << 16) | ((uint32_t)cb[14] << 8) | cb[15];
    c += (uint32_t)n;
    cb[12] = (uint8_t)(c >> 24);
    cb[13] = (uint8_t)(c >> 16);
    cb[14] = (uint8_t)(c >> 8);
    cb[15] = (uint8_t)c;
}

/* Encrypt and authenticate in cache-sized chunks so GHASH reads ciphertext still in L1/L2. */
#define GCM_CHUNK (16 * 1024)
static int gcm_seal(GCMObject *o, const uint8_t *nonce, size_t nlen, const uint8_t *aad, size_t alen,
                    const uint8_t *pt, size_t len, uint8_t *ct)
{
    uint8_t j0[16], cb[16], s[16] = {0};
    gcm_j0(o, nonce, nlen, j0);
    memcpy(cb, j0, 16);
    inc32(cb);
    ghash_padded(s, o->h, aad, alen);
    for (size_t off = 0; off < len; off += GCM_CHUNK) {
        size_t n = len - off < GCM_CHUNK ? len - off : GCM_CHUNK;
        if (!gcm_ctr(o, cb, pt + off, ct + off, n))
            return 0;
        ghash_padded(s, o->h, ct + off, n); /* pads only the final chunk: others are whole blocks */
        ctr_add(cb, GCM_CHUNK / 16);
    }
    return gcm_finish(o, s, j0, alen, len, ct + len);
}

static int parse_gcm_args(PyObject *args, Py_buffer *nonce, Py_buffer *data, Py_buffer *aad, const char *fmt)
{
    PyObject *aad_obj = Py_None;
    if (!PyArg_ParseTuple(args, fmt, nonce, data, &aad_obj))
        return 0;
    if (aad_obj == Py_None) {
        memset(aad, 0, sizeof *aad);
        aad->buf = (void *)"";
        aad->len = 0;
        aad->obj = NULL;
    } else if (PyObject_GetBuffer(aad_obj, aad, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(nonce);
        PyBuffer_Release(data);
        return 0;
    }
    if (nonce->len < 1 || nonce->len > GCM_MAX_NONCE) {
        rs_raise(RS_ERR_VALUE, "SM4-GCM nonce must be between 1 and 1024 bytes (12 recommended)");
        goto bad;
    }
    if ((uint64_t)data->len > GCM_MAX_DATA + GCM_TAG_SIZE) {
        rs_raise(RS_ERR_OVERFLOW, "SM4-GCM data must be at most 2^36 - 32 bytes");
        goto bad;
    }
    return 1;
bad:
    PyBuffer_Release(nonce);
    PyBuffer_Release(data);
    if (aad->obj)
        PyBuffer_Release(aad);
    return 0;
}

static void release3(Py_buffer *a, Py_buffer *b, Py_buffer *c)
{
    PyBuffer_Release(a);
    PyBuffer_Release(b);
    if (c->obj)
        PyBuffer_Release(c);
}

#define LOCK_OBJ(o)                                  \
    do {                                             \
        if (!PyThread_acquire_lock((o)->lock, 0)) {  \
            Py_BEGIN_ALLOW_THREADS                   \
            PyThread_acquire_lock((o)->lock, 1);     \
            Py_END_ALLOW_THREADS                     \
        }                                            \
    } while (0)

static PyObject *gcm_encrypt(GCMObject *o, PyObject *args)
{
    Py_buffer nonce, data, aad;
    if (!parse_gcm_args(args, &nonce, &data, &aad, "y*y*O:encrypt"))
        return NULL;
    if ((uint64_t)data.len > GCM_MAX_DATA) {
        release3(&nonce, &data, &aad);
        return rs_raise(RS_ERR_OVERFLOW, "SM4-GCM plaintext must be at most 2^36 - 32 bytes");
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, data.len + GCM_TAG_SIZE);
    if (out == NULL) {
        release3(&nonce, &data, &aad);
        return NULL;
    }
    uint8_t *ct = (uint8_t *)PyBytes_AS_STRING(out);
    int ok = 1;
    size_t len = (size_t)data.len;
    LOCK_OBJ(o);
    if (len >= RS_GIL_THRESHOLD) {
        Py_BEGIN_ALLOW_THREADS
        ok = gcm_seal(o, nonce.buf, (size_t)nonce.len, aad.buf, (size_t)aad.len, data.buf, len, ct);
        Py_END_ALLOW_THREADS
    } else {
        ok = gcm_seal(o, nonce.buf, (size_t)nonce.len, aad.buf, (size_t)aad.len, data.buf, len, ct);
    }
    PyThread_release_lock(o->lock);
    release3(&nonce, &data, &aad);
    if (!ok) {
        Py_DECREF(out);
        return rs_raise_openssl("SM4-GCM encrypt");
    }
    return out;
}

static PyObject *gcm_decrypt(GCMObject *o, PyObject *args)
{
    Py_buffer nonce, data, aad;
    uint8_t j0[16], j1[16], tag[16];
    if (!parse_gcm_args(args, &nonce, &data, &aad, "y*y*O:decrypt"))
        return NULL;
    if (data.len < GCM_TAG_SIZE) {
        release3(&nonce, &data, &aad);
        return rs_raise(RS_ERR_TAG, "SM4-GCM ciphertext is shorter than its tag");
    }
    size_t len = (size_t)data.len - GCM_TAG_SIZE;
    const uint8_t *ct = data.buf;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
    if (out == NULL) {
        release3(&nonce, &data, &aad);
        return NULL;
    }
    uint8_t *pt = (uint8_t *)PyBytes_AS_STRING(out);
    int ok = 1, good = 0;
    LOCK_OBJ(o);
    Py_BEGIN_ALLOW_THREADS
    gcm_j0(o, nonce.buf, (size_t)nonce.len, j0);
    gcm_tag(o, j0, aad.buf, (size_t)aad.len, ct, len, tag, &ok);
    good = ok && rs_ct_memeq(tag, ct + len, GCM_TAG_SIZE);
    if (good) {
        memcpy(j1, j0, 16);
        inc32(j1);
        ok = gcm_ctr(o, j1, ct, pt, len);
    }
    Py_END_ALLOW_THREADS
    PyThread_release_lock(o->lock);
    release3(&nonce, &data, &aad);
    if (!ok) {
        Py_DECREF(out);
        return rs_raise_openssl("SM4-GCM decrypt");
    }
    if (!good) {
        Py_DECREF(out);
        return rs_raise(RS_ERR_TAG, "SM4-GCM authentication failed");
    }
    return out;
}

static PyMethodDef gcm_methods[] = {
    {"encrypt", (PyCFunction)gcm_encrypt, METH_VARARGS, "encrypt(nonce, data, aad) -> ciphertext || tag"},
    {"decrypt", (PyCFunction)gcm_decrypt, METH_VARARGS, "decrypt(nonce, ciphertext || tag, aad) -> plaintext"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject GCMType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mpc._native.SM4GCMContext",
    .tp_basicsize = sizeof(GCMObject),
    .tp_dealloc = (destructor)gcm_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "SM4-GCM with a fixed key (wrapped by mpc.sm4.SM4GCM).",
    .tp_methods = gcm_methods,
    .tp_new = gcm_new,
};

/* ---- raw modes (hazmat) ------------------------------------------------------------------- */

/* One-shot EVP cipher: mode 0 = ECB (no padding), 1 = CBC with PKCS#7, 2 = CTR. */
static PyObject *evp_oneshot(const EVP_CIPHER *cipher, int enc, int pad, PyObject *args, const char *fmt,
                             int has_iv)
{
    Py_buffer key, iv, data;
    memset(&iv, 0, sizeof iv);
    int ok;
    if (has_iv) {
        if (!PyArg_ParseTuple(args, fmt, &key, &iv, &data))
            return NULL;
    } else if (!PyArg_ParseTuple(args, fmt, &key, &data)) {
        return NULL;
    }
    PyObject *out = NULL;
    const char *err = NULL;
    if (key.len != SM4_KEY_SIZE)
        err = "SM4 key must be 16 bytes";
    else if (has_iv && iv.len != SM4_BLOCK_SIZE)
        err = "SM4 IV / initial counter block must be 16 bytes";
    else if (!pad && cipher != c_ctr && data.len % SM4_BLOCK_SIZE != 0)
        err = "SM4-ECB data must be a multiple of 16 bytes";
    else if (pad && !enc && (data.len == 0 || data.len % SM4_BLOCK_SIZE != 0))
        err = "SM4-CBC ciphertext must be a non-empty multiple of 16 bytes";
    else if (data.len > (Py_ssize_t)1 << 30)
        err = "SM4 one-shot data must be at most 1 GiB";
    if (err) {
        rs_raise(RS_ERR_VALUE, err);
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, data.len + SM4_BLOCK_SIZE);
    if (out == NULL)
        goto done;
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    int n1 = 0, n2 = 0, padbad = 0;
    Py_BEGIN_ALLOW_THREADS
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    ok = ctx != NULL && EVP_CipherInit_ex2(ctx, cipher, key.buf, has_iv ? iv.buf : NULL, enc, NULL) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx, pad) == 1 &&
         EVP_CipherUpdate(ctx, o, &n1, data.buf, (int)data.len) == 1;
    if (ok && EVP_CipherFinal_ex(ctx, o + n1, &n2) != 1) {
        ok = 0;
        padbad = pad && !enc;
    }
    EVP_CIPHER_CTX_free(ctx);
    Py_END_ALLOW_THREADS
    if (!ok) {
        Py_CLEAR(out);
        if (padbad)
            rs_raise(RS_ERR_DECRYPT, "SM4-CBC padding is invalid");
        else
            rs_raise_openssl("SM4");
        goto done;
    }
    _PyBytes_Resize(&out, n1 + n2);
done:
    PyBuffer_Release(&key);
    if (has_iv)
        PyBuffer_Release(&iv);
    PyBuffer_Release(&data);
    return out;
}

static PyObject *py_ecb_encrypt(PyObject *s, PyObject *a) { (void)s; return evp_oneshot(c_ecb, 1, 0, a, "y*y*:sm4_ecb_encrypt", 0); }
static PyObject *py_ecb_decrypt(PyObject *s, PyObject *a) { (void)s; return evp_oneshot(c_ecb, 0, 0, a, "y*y*:sm4_ecb_decrypt", 0); }
static PyObject *py_cbc_encrypt(PyObject *s, PyObject *a) { (void)s; return evp_oneshot(c_cbc, 1, 1, a, "y*y*y*:sm4_cbc_encrypt", 1); }
static PyObject *py_cbc_decrypt(PyObject *s, PyObject *a) { (void)s; return evp_oneshot(c_cbc, 0, 1, a, "y*y*y*:sm4_cbc_decrypt", 1); }
static PyObject *py_ctr(PyObject *s, PyObject *a) { (void)s; return evp_oneshot(c_ctr, 1, 0, a, "y*y*y*:sm4_ctr", 1); }

static PyObject *py_ghash(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer h, data;
    if (!PyArg_ParseTuple(args, "y*y*:ghash", &h, &data))
        return NULL;
    if (h.len != 16) {
        PyBuffer_Release(&h);
        PyBuffer_Release(&data);
        return rs_raise(RS_ERR_VALUE, "GHASH key must be 16 bytes");
    }
    uint8_t y[16] = {0};
    ghash_padded(y, h.buf, data.buf, (size_t)data.len);
    PyBuffer_Release(&h);
    PyBuffer_Release(&data);
    return PyBytes_FromStringAndSize((const char *)y, 16);
}

PyMethodDef rs_sm4_methods[] = {
    {"sm4_ecb_encrypt", py_ecb_encrypt, METH_VARARGS, "SM4-ECB encrypt(key, data), no padding."},
    {"sm4_ecb_decrypt", py_ecb_decrypt, METH_VARARGS, "SM4-ECB decrypt(key, data), no padding."},
    {"sm4_cbc_encrypt", py_cbc_encrypt, METH_VARARGS, "SM4-CBC encrypt(key, iv, data) with PKCS#7."},
    {"sm4_cbc_decrypt", py_cbc_decrypt, METH_VARARGS, "SM4-CBC decrypt(key, iv, data) with PKCS#7."},
    {"sm4_ctr", py_ctr, METH_VARARGS, "SM4-CTR(key, counter block, data), 128-bit counter."},
    {"ghash", py_ghash, METH_VARARGS, "GHASH(H, data) with zero padding (for tests)."},
    {NULL, NULL, 0, NULL}};

int rs_sm4_init(PyObject *m)
{
    c_ecb = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
    c_cbc = EVP_CIPHER_fetch(NULL, "SM4-CBC", NULL);
    c_ctr = EVP_CIPHER_fetch(NULL, "SM4-CTR", NULL);
    if (!c_ecb || !c_cbc || !c_ctr) {
        rs_raise_openssl("loading SM4 from libcrypto");
        return -1;
    }
    if (PyType_Ready(&GCMType) < 0)
        return -1;
    Py_INCREF(&GCMType);
    if (PyModule_AddObject(m, "SM4GCMContext", (PyObject *)&GCMType) < 0)
        return -1;
    if (PyModule_AddIntConstant(m, "SM4_KEY_SIZE", SM4_KEY_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "SM4_BLOCK_SIZE", SM4_BLOCK_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "SM4_GCM_TAG_SIZE", GCM_TAG_SIZE) < 0)
        return -1;
    return 0;
}
