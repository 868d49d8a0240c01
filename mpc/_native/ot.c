/* Area 'ot': base oblivious transfer (Naor–Pinkas, random-oracle variant, over P-256) and the
 * symmetric parts of chosen-message 1-of-2 and 1-of-N OT (Naor–Pinkas 1999: log N base OTs plus
 * a PRF). The extension kernels (IKNP/KOS/KKRT) live in ot_ext.c.
 *
 * Naor–Pinkas 1-of-2 (Naor and Pinkas, "Efficient oblivious transfer protocols", SODA 2001,
 * section 3.1), batched as the paper allows: the sender publishes C = c·G and g^r = r·G once per
 * batch; for OT j the receiver with choice s draws k, sets PK_s = k·G, PK_{1-s} = C - PK_s and
 * sends PK_0; the sender derives K_b = H(sid, j, b, r·PK_b), using r·PK_1 = r·C - r·PK_0; the
 * receiver derives K_s = H(sid, j, s, k·g^r). Sender privacy rests on CDH in the random-oracle
 * model (against a malicious receiver too); receiver privacy is perfect (PK_0 is uniform).
 *
 * Group operations go through the small otg_* interface below (OpenSSL's P-256, whose
 * EC_POINT_mul runs the constant-time nistz256 code on x86-64) so that they can move to the
 * shared EC core later. Points travel uncompressed (65 bytes) to spare a square root on decode. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co: far cheaper per call than EVP in 3.0 */
#include "ot.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

#define OT_POINT_SIZE 65
#define OT_MAX_SLOTS (1u << 16)
#define OT_MAX_SLOT_SIZE (1u << 16)
#define OT_MAX_BATCH (1u << 24)

static EVP_CIPHER *ot_aes_ctr;

/* ---- group interface (P-256 through OpenSSL) ------------------------------------------------ */

static EC_GROUP *otg_group;

typedef struct {
    BN_CTX *bn;
    BIGNUM *k;
    EC_POINT *p, *q, *x;
} otg_t;

static void otg_free(otg_t *g)
{
    BN_clear_free(g->k);
    EC_POINT_free(g->p);
    EC_POINT_free(g->q);
    EC_POINT_free(g->x);
    BN_CTX_free(g->bn);
    memset(g, 0, sizeof *g);
}

static int otg_new(otg_t *g)
{
    memset(g, 0, sizeof *g);
    g->bn = BN_CTX_new();
    g->k = BN_secure_new();
    g->p = EC_POINT_new(otg_group);
    g->q = EC_POINT_new(otg_group);
    g->x = EC_POINT_new(otg_group);
    if (!g->bn || !g->k || !g->p || !g->q || !g->x) {
        otg_free(g);
        return 0;
    }
    BN_set_flags(g->k, BN_FLG_CONSTTIME);
    return 1;
}

/* Uniform scalar in [1, n). */
static int otg_random_scalar(otg_t *g, BIGNUM *k)
{
    (void)g;
    do {
        if (!BN_priv_rand_range(k, EC_GROUP_get0_order(otg_group)))
            return 0;
    } while (BN_is_zero(k));
    BN_set_flags(k, BN_FLG_CONSTTIME);
    return 1;
}

/* Uncompressed encoding only; rejects points off the curve and the point at infinity. */
static int otg_decode(otg_t *g, EC_POINT *p, const uint8_t in[OT_POINT_SIZE])
{
    if (in[0] != 0x04)
        return 0;
    if (!EC_POINT_oct2point(otg_group, p, in, OT_POINT_SIZE, g->bn)) {
        ERR_clear_error();
        return 0;
    }
    return !EC_POINT_is_at_infinity(otg_group, p);
}

static int otg_encode(otg_t *g, const EC_POINT *p, uint8_t out[OT_POINT_SIZE])
{
    if (EC_POINT_is_at_infinity(otg_group, p))
        return 0;
    return EC_POINT_point2oct(otg_group, p, POINT_CONVERSION_UNCOMPRESSED, out, OT_POINT_SIZE, g->bn) ==
           OT_POINT_SIZE;
}

static int otg_mul_base(otg_t *g, EC_POINT *r, const BIGNUM *k)
{
    return EC_POINT_mul(otg_group, r, k, NULL, NULL, g->bn);
}

static int otg_mul(otg_t *g, EC_POINT *r, const EC_POINT *p, const BIGNUM *k)
{
    return EC_POINT_mul(otg_group, r, NULL, p, k, g->bn);
}

/* r = a - b */
static int otg_sub(otg_t *g, EC_POINT *r, const EC_POINT *a, const EC_POINT *b)
{
    if (r != b && !EC_POINT_copy(r, b))
        return 0;
    return EC_POINT_invert(otg_group, r, g->bn) && EC_POINT_add(otg_group, r, a, r, g->bn);
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static void be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static const char NP_DOMAIN[] = "riskshare/ot/naor-pinkas/v1";
static const char TAG_DOMAIN[] = "riskshare/ot/slot-tag/v1";

/* K = SHA-256(domain || sid || j || b || X)[0:16]: the random oracle of the base OT. */
static void np_key(uint8_t out[OT_KEY_SIZE], const uint8_t sid[OT_SID_SIZE], uint64_t j, uint8_t b,
                   const uint8_t x[OT_POINT_SIZE])
{
    SHA256_CTX c;
    uint8_t jb[8], d[SHA256_DIGEST_LENGTH];
    be64(jb, j);
    SHA256_Init(&c);
    SHA256_Update(&c, NP_DOMAIN, sizeof NP_DOMAIN - 1);
    SHA256_Update(&c, sid, OT_SID_SIZE);
    SHA256_Update(&c, jb, 8);
    SHA256_Update(&c, &b, 1);
    SHA256_Update(&c, x, OT_POINT_SIZE);
    SHA256_Final(d, &c);
    memcpy(out, d, OT_KEY_SIZE);
    rs_secure_zero(d, sizeof d);
    rs_secure_zero(&c, sizeof c);
}

/* Slot tag: SHA-256(domain || mac key || sid || i || ciphertext)[0:16]; fixed lengths per run. */
static void slot_tag(uint8_t out[OT_TAG_SIZE], const uint8_t mk[16], const uint8_t sid[OT_SID_SIZE],
                     uint64_t i, const uint8_t *ct, size_t len)
{
    SHA256_CTX c;
    uint8_t ib[8], d[SHA256_DIGEST_LENGTH];
    be64(ib, i);
    SHA256_Init(&c);
    SHA256_Update(&c, TAG_DOMAIN, sizeof TAG_DOMAIN - 1);
    SHA256_Update(&c, mk, 16);
    SHA256_Update(&c, sid, OT_SID_SIZE);
    SHA256_Update(&c, ib, 8);
    SHA256_Update(&c, ct, len);
    SHA256_Final(d, &c);
    memcpy(out, d, OT_TAG_SIZE);
    rs_secure_zero(&c, sizeof c);
}

/* XOR the AES-128-CTR keystream of `key`, starting at counter block `block`, into buf[0:len]. */
static int ctr_xor(EVP_CIPHER_CTX *ctx, const uint8_t key[16], uint64_t block, uint8_t *buf, size_t len)
{
    uint8_t iv[16] = {0};
    int outl;
    be64(iv + 8, block);
    if (!EVP_EncryptInit_ex(ctx, ot_aes_ctr, NULL, key, iv))
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

static int check_sid(const Py_buffer *sid)
{
    if (sid->len != OT_SID_SIZE) {
        rs_raise(RS_ERR_VALUE, "OT session id must be 16 bytes");
        return 0;
    }
    return 1;
}

static int check_offset(long long offset, Py_ssize_t n)
{
    if (offset < 0 || (unsigned long long)offset > (1ULL << 62) || n < 0) {
        rs_raise(RS_ERR_VALUE, "OT index offset out of range");
        return 0;
    }
    return 1;
}

/* ---- Naor–Pinkas base OT ------------------------------------------------------------------- */

/* () -> (public C || g^r, secret r || r·C) */
static PyObject *py_np_sender_setup(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    otg_t g;
    uint8_t pub[2 * OT_POINT_SIZE], sec[32 + OT_POINT_SIZE];
    BIGNUM *r = BN_secure_new();
    int ok = r && otg_new(&g);
    if (!ok) {
        BN_free(r);
        return rs_raise(RS_ERR_NOMEM, "out of memory");
    }
    ok = otg_random_scalar(&g, g.k) && otg_random_scalar(&g, r) && otg_mul_base(&g, g.p, g.k) &&
         otg_mul_base(&g, g.q, r) && otg_mul(&g, g.x, g.p, r) && otg_encode(&g, g.p, pub) &&
         otg_encode(&g, g.q, pub + OT_POINT_SIZE) && BN_bn2binpad(r, sec, 32) == 32 &&
         otg_encode(&g, g.x, sec + 32);
    BN_clear_free(r);
    otg_free(&g);
    if (!ok) {
        rs_secure_zero(sec, sizeof sec);
        return rs_raise_openssl("Naor-Pinkas sender setup");
    }
    PyObject *res = Py_BuildValue("(y#y#)", pub, (Py_ssize_t)sizeof pub, sec, (Py_ssize_t)sizeof sec);
    rs_secure_zero(sec, sizeof sec);
    return res;
}

/* (sid, secret, pk0s, offset) -> n × (K_0 || K_1) */
static PyObject *py_np_sender_keys(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer sid, sec, pk;
    long long offset;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*L:ot_np_sender_keys", &sid, &sec, &pk, &offset))
        return NULL;
    Py_ssize_t n = pk.len / OT_POINT_SIZE;
    if (!check_sid(&sid) || !check_offset(offset, n))
        goto done;
    if (sec.len != 32 + OT_POINT_SIZE) {
        rs_raise(RS_ERR_VALUE, "Naor-Pinkas sender secret has the wrong length");
        goto done;
    }
    if (pk.len % OT_POINT_SIZE != 0 || n == 0 || n > OT_MAX_BATCH) {
        rs_raise(RS_ERR_VALUE, "receiver message must hold 1..2^24 points of 65 bytes");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, n * 2 * OT_KEY_SIZE);
    if (!out)
        goto done;
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    const uint8_t *s = sec.buf, *p = pk.buf;
    otg_t g;
    EC_POINT *cr = NULL;
    int st = RS_OK;
    if (!otg_new(&g) || !(cr = EC_POINT_new(otg_group))) {
        otg_free(&g);
        Py_CLEAR(out);
        rs_raise(RS_ERR_NOMEM, "out of memory");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    uint8_t x[2][OT_POINT_SIZE];
    if (!BN_bin2bn(s, 32, g.k) || !otg_decode(&g, cr, s + 32))
        st = RS_ERR_INTERNAL;
    for (Py_ssize_t j = 0; st == RS_OK && j < n; j++) {
        if (!otg_decode(&g, g.p, p + j * OT_POINT_SIZE)) {
            st = RS_ERR_PROTOCOL;
            break;
        }
        if (!otg_mul(&g, g.x, g.p, g.k) || !otg_sub(&g, g.q, cr, g.x) || !otg_encode(&g, g.x, x[0])) {
            st = RS_ERR_INTERNAL;
            break;
        }
        if (!otg_encode(&g, g.q, x[1])) { /* PK_0 = C: PK_1 would be the identity */
            st = RS_ERR_PROTOCOL;
            break;
        }
        np_key(o + j * 2 * OT_KEY_SIZE, sid.buf, (uint64_t)offset + (uint64_t)j, 0, x[0]);
        np_key(o + j * 2 * OT_KEY_SIZE + OT_KEY_SIZE, sid.buf, (uint64_t)offset + (uint64_t)j, 1, x[1]);
    }
    rs_secure_zero(x, sizeof x);
    Py_END_ALLOW_THREADS
    EC_POINT_free(cr);
    otg_free(&g);
    ERR_clear_error();
    if (st != RS_OK) {
        rs_secure_zero(PyBytes_AS_STRING(out), n * 2 * OT_KEY_SIZE);
        Py_CLEAR(out);
        rs_raise(st, st == RS_ERR_PROTOCOL ? "OT receiver sent an invalid point"
                                           : "Naor-Pinkas sender: EC arithmetic failed");
    }
done:
    PyBuffer_Release(&sid);
    PyBuffer_Release(&sec);
    PyBuffer_Release(&pk);
    return out;
}

/* (sid, C || g^r, choices (one byte 0/1 each), offset[, scalars n × 32]) -> (pk0s, n × K_choice).
 * Scalars are drawn here unless given: a receiver that may have to show its OT randomness to an
 * auditor (a bad slot in the oblivious lookup) draws and keeps them itself. */
static PyObject *py_np_receiver_choose(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer sid, pub, ch, sc = {0};
    long long offset;
    PyObject *pk = NULL, *keys = NULL, *res = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*L|y*:ot_np_receiver_choose", &sid, &pub, &ch, &offset, &sc))
        return NULL;
    Py_ssize_t n = ch.len;
    if (sc.buf != NULL && sc.len != n * 32) {
        rs_raise(RS_ERR_VALUE, "receiver scalars must be 32 bytes per OT");
        goto done;
    }
    if (!check_sid(&sid) || !check_offset(offset, n))
        goto done;
    if (pub.len != 2 * OT_POINT_SIZE) {
        rs_raise(RS_ERR_VALUE, "Naor-Pinkas sender message must hold two 65-byte points");
        goto done;
    }
    if (n == 0 || n > OT_MAX_BATCH) {
        rs_raise(RS_ERR_VALUE, "choices must hold 1..2^24 bits");
        goto done;
    }
    const uint8_t *c = ch.buf;
    for (Py_ssize_t j = 0; j < n; j++)
        if (c[j] > 1) {
            rs_raise(RS_ERR_VALUE, "choice bits must be 0 or 1");
            goto done;
        }
    pk = PyBytes_FromStringAndSize(NULL, n * OT_POINT_SIZE);
    keys = PyBytes_FromStringAndSize(NULL, n * OT_KEY_SIZE);
    if (!pk || !keys)
        goto done;
    uint8_t *po = (uint8_t *)PyBytes_AS_STRING(pk), *ko = (uint8_t *)PyBytes_AS_STRING(keys);
    const uint8_t *pb = pub.buf;
    otg_t g;
    EC_POINT *cp = NULL, *gr = NULL;
    int st = RS_OK;
    if (!otg_new(&g) || !(cp = EC_POINT_new(otg_group)) || !(gr = EC_POINT_new(otg_group))) {
        EC_POINT_free(cp);
        otg_free(&g);
        rs_raise(RS_ERR_NOMEM, "out of memory");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    uint8_t e[2][OT_POINT_SIZE], x[OT_POINT_SIZE];
    if (!otg_decode(&g, cp, pb) || !otg_decode(&g, gr, pb + OT_POINT_SIZE))
        st = RS_ERR_PROTOCOL;
    for (Py_ssize_t j = 0; st == RS_OK && j < n; j++) {
        if (sc.buf != NULL) {
            if (!BN_bin2bn((const uint8_t *)sc.buf + j * 32, 32, g.k) || BN_is_zero(g.k) ||
                BN_cmp(g.k, EC_GROUP_get0_order(otg_group)) >= 0) {
                st = RS_ERR_VALUE;
                break;
            }
        } else if (!otg_random_scalar(&g, g.k)) {
            st = RS_ERR_INTERNAL;
            break;
        }
        if (!otg_mul_base(&g, g.p, g.k) || !otg_sub(&g, g.q, cp, g.p) ||
            !otg_encode(&g, g.p, e[0]) || !otg_encode(&g, g.q, e[1]) || !otg_mul(&g, g.x, gr, g.k) ||
            !otg_encode(&g, g.x, x)) {
            st = RS_ERR_INTERNAL;
            break;
        }
        /* PK_0 = choice ? C - k·G : k·G, selected without a branch on the choice. */
        uint8_t mask = (uint8_t)(0u - (unsigned)c[j]);
        uint8_t *dst = po + j * OT_POINT_SIZE;
        for (int i = 0; i < OT_POINT_SIZE; i++)
            dst[i] = (uint8_t)(e[0][i] ^ ((e[0][i] ^ e[1][i]) & mask));
        np_key(ko + j * OT_KEY_SIZE, sid.buf, (uint64_t)offset + (uint64_t)j, c[j], x);
    }
    rs_secure_zero(e, sizeof e);
    rs_secure_zero(x, sizeof x);
    Py_END_ALLOW_THREADS
    EC_POINT_free(cp);
    EC_POINT_free(gr);
    otg_free(&g);
    ERR_clear_error();
    if (st != RS_OK) {
        rs_raise(st, st == RS_ERR_PROTOCOL ? "OT sender sent an invalid point"
                     : st == RS_ERR_VALUE  ? "receiver scalar out of range [1, n)"
                                           : "Naor-Pinkas receiver: EC arithmetic failed");
        goto done;
    }
    res = PyTuple_Pack(2, pk, keys);
done:
    if (!res && keys)
        rs_secure_zero(PyBytes_AS_STRING(keys), PyBytes_GET_SIZE(keys));
    Py_XDECREF(pk);
    Py_XDECREF(keys);
    PyBuffer_Release(&sid);
    PyBuffer_Release(&pub);
    PyBuffer_Release(&ch);
    if (sc.buf != NULL)
        PyBuffer_Release(&sc);
    return res;
}

/* ---- chosen-message layer: one-time pads from the OT keys, with a tag per message ---------- */

static size_t pad_blocks(size_t len)
{
    return (len + 16 + 15) / 16; /* message bytes, then 16 bytes of MAC key */
}

/* (sid, keys n × (K_0 || K_1), m0s n × L, m1s n × L, offset) -> n × 2 × (L + 16) */
static PyObject *py_pair_encrypt(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer sid, kb, m0, m1;
    long long offset;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*L:ot_pair_encrypt", &sid, &kb, &m0, &m1, &offset))
        return NULL;
    Py_ssize_t n = kb.len / (2 * OT_KEY_SIZE);
    if (!check_sid(&sid) || !check_offset(offset, n))
        goto done;
    if (n == 0 || kb.len != n * 2 * OT_KEY_SIZE || m0.len != m1.len || m0.len % n != 0 ||
        m0.len / n > OT_MAX_SLOT_SIZE) {
        rs_raise(RS_ERR_VALUE, "pair encryption: keys and messages do not match");
        goto done;
    }
    size_t L = (size_t)(m0.len / n), nb = pad_blocks(L), rec = L + OT_TAG_SIZE;
    out = PyBytes_FromStringAndSize(NULL, n * 2 * (Py_ssize_t)rec);
    uint8_t *pad = PyMem_RawMalloc(nb * 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = out && pad && ctx;
    if (ok) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
        const uint8_t *keys = kb.buf, *msg[2] = {m0.buf, m1.buf};
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t j = 0; ok && j < n; j++)
            for (int b = 0; ok && b < 2; b++) {
                memset(pad, 0, nb * 16);
                ok = ctr_xor(ctx, keys + (j * 2 + b) * OT_KEY_SIZE, 0, pad, nb * 16);
                uint8_t *dst = o + (j * 2 + b) * rec;
                const uint8_t *src = msg[b] + j * L;
                for (size_t i = 0; i < L; i++)
                    dst[i] = src[i] ^ pad[i];
                slot_tag(dst + L, pad + L, sid.buf, ((uint64_t)offset + (uint64_t)j) * 2 + (uint64_t)b, dst,
                         L);
            }
        Py_END_ALLOW_THREADS
    }
    if (pad) {
        rs_secure_zero(pad, nb * 16);
        PyMem_RawFree(pad);
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        Py_CLEAR(out);
        if (!PyErr_Occurred())
            rs_raise_openssl("pair encryption");
    }
done:
    PyBuffer_Release(&sid);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&m0);
    PyBuffer_Release(&m1);
    return out;
}

/* (sid, keys n × K, choices n, cts n × 2 × (L + 16), offset) -> n × L; ProtocolAbort on a bad tag */
static PyObject *py_pair_decrypt(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer sid, kb, ch, ct;
    long long offset;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*L:ot_pair_decrypt", &sid, &kb, &ch, &ct, &offset))
        return NULL;
    Py_ssize_t n = ch.len;
    if (!check_sid(&sid) || !check_offset(offset, n))
        goto done;
    if (n == 0 || kb.len != n * OT_KEY_SIZE || ct.len % (2 * n) != 0 ||
        ct.len / (2 * n) < OT_TAG_SIZE) {
        rs_raise(RS_ERR_VALUE, "pair decryption: keys, choices and ciphertexts do not match");
        goto done;
    }
    size_t rec = (size_t)(ct.len / (2 * n)), L = rec - OT_TAG_SIZE, nb = pad_blocks(L);
    out = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)L);
    uint8_t *pad = PyMem_RawMalloc(nb * 16 + rec);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = out && pad && ctx, bad = 0;
    if (ok) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out), *sel = pad + nb * 16, tag[OT_TAG_SIZE];
        const uint8_t *keys = kb.buf, *c = ch.buf, *cts = ct.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t j = 0; ok && j < n; j++) {
            uint8_t b = c[j] & 1, mask = (uint8_t)(0u - b);
            const uint8_t *c0 = cts + (j * 2) * rec, *c1 = c0 + rec;
            for (size_t i = 0; i < rec; i++)
                sel[i] = (uint8_t)(c0[i] ^ ((c0[i] ^ c1[i]) & mask));
            memset(pad, 0, nb * 16);
            ok = ctr_xor(ctx, keys + j * OT_KEY_SIZE, 0, pad, nb * 16);
            slot_tag(tag, pad + L, sid.buf, ((uint64_t)offset + (uint64_t)j) * 2 + b, sel, L);
            bad |= !rs_ct_memeq(tag, sel + L, OT_TAG_SIZE);
            for (size_t i = 0; i < L; i++)
                o[j * L + i] = sel[i] ^ pad[i];
        }
        Py_END_ALLOW_THREADS
    }
    if (pad) {
        rs_secure_zero(pad, nb * 16 + rec);
        PyMem_RawFree(pad);
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok || bad) {
        if (out)
            rs_secure_zero(PyBytes_AS_STRING(out), PyBytes_GET_SIZE(out));
        Py_CLEAR(out);
        if (bad)
            rs_raise(RS_ERR_PROTOCOL, "OT message failed its integrity check");
        else if (!PyErr_Occurred())
            rs_raise_openssl("pair decryption");
    }
done:
    PyBuffer_Release(&sid);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&ch);
    PyBuffer_Release(&ct);
    return out;
}

/* ---- 1-of-N (Naor–Pinkas 1999): slot i is padded with XOR_j F(K_j^{bit j of i}, i) ---------- */

/* (sid, keys ell × (K_j^0 || K_j^1), slots N × L, L) -> N × (L + 16) */
static PyObject *py_nofn_encrypt(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer sid, kb, sl;
    Py_ssize_t L;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*n:ot_nofn_encrypt", &sid, &kb, &sl, &L))
        return NULL;
    if (!check_sid(&sid))
        goto done;
    Py_ssize_t ell = kb.len / (2 * OT_KEY_SIZE);
    if (L <= 0 || (size_t)L > OT_MAX_SLOT_SIZE || sl.len % L != 0) {
        rs_raise(RS_ERR_VALUE, "slots must be a whole number of slots of 1..65536 bytes");
        goto done;
    }
    Py_ssize_t N = sl.len / L;
    if (ell < 1 || ell > 16 || kb.len != ell * 2 * OT_KEY_SIZE || N < 2 || N > ((Py_ssize_t)1 << ell) ||
        N <= ((Py_ssize_t)1 << (ell - 1))) {
        rs_raise(RS_ERR_VALUE, "1-of-N OT needs 2 <= N <= 65536 slots and ceil(log2 N) key pairs");
        goto done;
    }
    size_t nb = pad_blocks((size_t)L), rec = (size_t)L + OT_TAG_SIZE;
    out = PyBytes_FromStringAndSize(NULL, N * (Py_ssize_t)rec);
    uint8_t *pads = PyMem_RawCalloc((size_t)N * nb, 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = out && pads && ctx;
    if (ok) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
        const uint8_t *keys = kb.buf, *slots = sl.buf;
        Py_BEGIN_ALLOW_THREADS
        /* Slots whose bit j is b come in runs of 2^j; one CTR call per run and key. */
        for (Py_ssize_t j = 0; ok && j < ell; j++) {
            size_t run = (size_t)1 << j;
            for (int b = 0; ok && b < 2; b++) {
                const uint8_t *key = keys + (j * 2 + b) * OT_KEY_SIZE;
                for (size_t s = b * run; ok && s < (size_t)N; s += 2 * run) {
                    size_t cnt = (size_t)N - s < run ? (size_t)N - s : run;
                    ok = ctr_xor(ctx, key, (uint64_t)(s * nb), pads + s * nb * 16, cnt * nb * 16);
                }
            }
        }
        for (Py_ssize_t i = 0; ok && i < N; i++) {
            const uint8_t *pad = pads + (size_t)i * nb * 16, *src = slots + i * L;
            uint8_t *dst = o + (size_t)i * rec;
            for (Py_ssize_t t = 0; t < L; t++)
                dst[t] = src[t] ^ pad[t];
            slot_tag(dst + L, pad + L, sid.buf, (uint64_t)i, dst, (size_t)L);
        }
        Py_END_ALLOW_THREADS
    }
    if (pads) {
        rs_secure_zero(pads, (size_t)N * nb * 16);
        PyMem_RawFree(pads);
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        Py_CLEAR(out);
        if (!PyErr_Occurred())
            rs_raise_openssl("1-of-N encryption");
    }
done:
    PyBuffer_Release(&sid);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&sl);
    return out;
}

/* (sid, keys ell × K_j, index, record (L + 16)) -> slot (L); ProtocolAbort on a bad tag */
static PyObject *py_nofn_decrypt(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer sid, kb, ct;
    Py_ssize_t index;
    PyObject *out = NULL;
    if (!PyArg_ParseTuple(args, "y*y*ny*:ot_nofn_decrypt", &sid, &kb, &index, &ct))
        return NULL;
    if (!check_sid(&sid))
        goto done;
    Py_ssize_t ell = kb.len / OT_KEY_SIZE, L = ct.len - OT_TAG_SIZE;
    if (ell < 1 || ell > 16 || kb.len != ell * OT_KEY_SIZE || index < 0 || index >= ((Py_ssize_t)1 << ell) ||
        L <= 0 || (size_t)L > OT_MAX_SLOT_SIZE) {
        rs_raise(RS_ERR_VALUE, "1-of-N decryption: keys, index or record length out of range");
        goto done;
    }
    size_t nb = pad_blocks((size_t)L);
    out = PyBytes_FromStringAndSize(NULL, L);
    uint8_t *pad = PyMem_RawCalloc(nb, 16), tag[OT_TAG_SIZE];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = out && pad && ctx;
    const uint8_t *keys = kb.buf, *rec = ct.buf;
    for (Py_ssize_t j = 0; ok && j < ell; j++)
        ok = ctr_xor(ctx, keys + j * OT_KEY_SIZE, (uint64_t)index * nb, pad, nb * 16);
    int bad = 0;
    if (ok) {
        slot_tag(tag, pad + L, sid.buf, (uint64_t)index, rec, (size_t)L);
        bad = !rs_ct_memeq(tag, rec + L, OT_TAG_SIZE);
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
        for (Py_ssize_t t = 0; t < L; t++)
            o[t] = rec[t] ^ pad[t];
    }
    if (pad) {
        rs_secure_zero(pad, nb * 16);
        PyMem_RawFree(pad);
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok || bad) {
        if (out)
            rs_secure_zero(PyBytes_AS_STRING(out), PyBytes_GET_SIZE(out));
        Py_CLEAR(out);
        if (bad)
            rs_raise(RS_ERR_PROTOCOL, "OT slot failed its integrity check");
        else if (!PyErr_Occurred())
            rs_raise_openssl("1-of-N decryption");
    }
done:
    PyBuffer_Release(&sid);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&ct);
    return out;
}

PyMethodDef rs_ot_methods[] = {
    {"ot_np_sender_setup", py_np_sender_setup, METH_NOARGS,
     "Naor-Pinkas sender: fresh (C || g^r, r || r*C)."},
    {"ot_np_sender_keys", py_np_sender_keys, METH_VARARGS,
     "Naor-Pinkas sender: (sid, secret, pk0s, offset) -> n x (K0 || K1)."},
    {"ot_np_receiver_choose", py_np_receiver_choose, METH_VARARGS,
     "Naor-Pinkas receiver: (sid, C || g^r, choices, offset) -> (pk0s, keys)."},
    {"ot_pair_encrypt", py_pair_encrypt, METH_VARARGS, "Pads and tags both messages of n OTs."},
    {"ot_pair_decrypt", py_pair_decrypt, METH_VARARGS, "Opens the chosen message of n OTs."},
    {"ot_nofn_encrypt", py_nofn_encrypt, METH_VARARGS, "1-of-N sender: pads and tags N slots."},
    {"ot_nofn_decrypt", py_nofn_decrypt, METH_VARARGS, "1-of-N receiver: opens its slot."},
    {NULL, NULL, 0, NULL}};

int rs_ot_init(PyObject *m)
{
    otg_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    ot_aes_ctr = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
    if (!otg_group || !ot_aes_ctr) {
        rs_raise_openssl("OT initialisation");
        return -1;
    }
    static const struct {
        const char *name;
        long value;
    } consts[] = {{"OT_SESSION_ID_SIZE", OT_SID_SIZE}, {"OT_KEY_SIZE", OT_KEY_SIZE},
                  {"OT_POINT_SIZE", OT_POINT_SIZE},    {"OT_TAG_SIZE", OT_TAG_SIZE},
                  {"OT_MAX_SLOTS", OT_MAX_SLOTS},      {"OT_MAX_SLOT_SIZE", OT_MAX_SLOT_SIZE},
                  {"OT_MAX_BATCH", OT_MAX_BATCH}};
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0)
            return -1;
    if (PyModule_AddFunctions(m, rs_ot_ext_methods) < 0)
        return -1;
    return rs_ot_ext_init(m);
}
