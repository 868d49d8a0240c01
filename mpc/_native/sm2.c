/* SM2 (GB/T 32918.1-5): signatures, public-key encryption (C1C3C2, DER per GM/T 0009), static
 * agreement x(d·P), the point step of the GB/T 32918.3 key exchange, and PKCS#8 /
 * SubjectPublicKeyInfo through OpenSSL 3.0's encoders and decoders.
 *
 * The arithmetic runs on OpenSSL's EC_GROUP / EC_POINT / BIGNUM (secret scalars go through
 * EC_POINT_mul's Montgomery ladder) instead of the EVP SM2 signer, for two reasons: the vector
 * tests need to inject the nonce k through the same code path, and a key handle can cache Z_A for
 * the default ID and (1 + d)^-1, which EVP recomputes on every call. A later issue swaps this
 * file's arithmetic for a constant-time core; the Python API only sees opaque SM2Key handles and
 * bytes. The EVP path is kept (sm2_openssl_*) as the interoperability and benchmark reference.
 *
 * Curves are objects so the tests can run the GB/T 32918 examples on their example curve; every
 * public entry point uses the recommended curve (GB/T 32918.5) unless a test passes another. */
#include "rs.h"
#include "sm2core.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <string.h>
#include <time.h>

#define SM2_FIELD_SIZE 32
#define SM2_SCALAR_SIZE 32
#define SM2_POINT_SIZE 65
#define SM2_POINT_COMPRESSED_SIZE 33
#define SM2_DIGEST_SIZE 32
/* ENTL_A is the ID's length in bits on two bytes. */
#define SM2_UID_MAX 8191
/* PBKDF2-HMAC-SHA256 rounds for encrypted PKCS#8 (OpenSSL's encoder would use 2,048); the
 * count is stored in the file, so keys written with other counts still load. */
#define SM2_PKCS8_ITER 100000
/* Plaintexts up to 1 GiB: far beyond any use here, and the KDF counter stays small. */
#define SM2_MAX_PLAINTEXT (1UL << 30)

static EVP_MD *md_sm3;

/* ---- curve ------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    EC_GROUP *group;
    BIGNUM *n, *n_minus_1, *n_minus_2, *p;
    uint8_t abxy[4 * SM2_FIELD_SIZE]; /* a ‖ b ‖ xG ‖ yG, the curve part of Z_A */
    int recommended;
} CurveObject;

static PyTypeObject CurveType;
static CurveObject *default_curve;

static void curve_dealloc(CurveObject *c)
{
    EC_GROUP_free(c->group);
    BN_free(c->n);
    BN_free(c->n_minus_1);
    BN_free(c->n_minus_2);
    BN_free(c->p);
    PyObject_Free(c);
}

/* Fill the derived fields of a curve whose group is set. */
static int curve_finish(CurveObject *c, BN_CTX *ctx)
{
    BIGNUM *a = BN_new(), *b = BN_new(), *gx = BN_new(), *gy = BN_new();
    int ok = 0;
    c->n = BN_dup(EC_GROUP_get0_order(c->group));
    c->n_minus_1 = BN_new();
    c->n_minus_2 = BN_new();
    c->p = BN_new();
    if (!a || !b || !gx || !gy || !c->n || !c->n_minus_1 || !c->n_minus_2 || !c->p)
        goto done;
    if (EC_GROUP_get_curve(c->group, c->p, a, b, ctx) != 1 ||
        EC_POINT_get_affine_coordinates(c->group, EC_GROUP_get0_generator(c->group), gx, gy, ctx) != 1)
        goto done;
    if (BN_num_bytes(c->p) != SM2_FIELD_SIZE || BN_num_bytes(c->n) != SM2_SCALAR_SIZE)
        goto done;
    if (!BN_sub(c->n_minus_1, c->n, BN_value_one()) || !BN_sub(c->n_minus_2, c->n_minus_1, BN_value_one()))
        goto done;
    ok = BN_bn2binpad(a, c->abxy, 32) == 32 && BN_bn2binpad(b, c->abxy + 32, 32) == 32 &&
         BN_bn2binpad(gx, c->abxy + 64, 32) == 32 && BN_bn2binpad(gy, c->abxy + 96, 32) == 32;
done:
    BN_free(a);
    BN_free(b);
    BN_free(gx);
    BN_free(gy);
    return ok;
}

static PyObject *curve_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)type;
    static char *kwlist[] = {"p", "a", "b", "gx", "gy", "n", NULL};
    Py_buffer v[6];
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*y*y*y*y*y*:SM2Curve", kwlist, &v[0], &v[1], &v[2],
                                     &v[3], &v[4], &v[5]))
        return NULL;
    CurveObject *c = NULL;
    BIGNUM *bn[6] = {0};
    EC_POINT *g = NULL;
    BN_CTX *ctx = BN_CTX_new();
    const char *err = NULL;
    for (int i = 0; i < 6; i++) {
        if (v[i].len != 32) {
            err = "SM2 curve parameters must be 32 bytes each";
            goto done;
        }
        bn[i] = BN_bin2bn(v[i].buf, 32, NULL);
        if (!bn[i])
            goto done;
    }
    c = PyObject_New(CurveObject, &CurveType);
    if (!c)
        goto done;
    c->group = NULL;
    c->n = c->n_minus_1 = c->n_minus_2 = c->p = NULL;
    c->recommended = 0;
    c->group = EC_GROUP_new_curve_GFp(bn[0], bn[1], bn[2], ctx);
    if (!c->group || !(g = EC_POINT_new(c->group)) ||
        EC_POINT_set_affine_coordinates(c->group, g, bn[3], bn[4], ctx) != 1 ||
        EC_GROUP_set_generator(c->group, g, bn[5], BN_value_one()) != 1 || EC_GROUP_check(c->group, ctx) != 1) {
        ERR_clear_error();
        err = "SM2 curve parameters do not define a valid curve with a generator of order n";
        goto done;
    }
    if (!curve_finish(c, ctx))
        err = "SM2 curve must have a 256-bit field and a 256-bit order";
done:
    for (int i = 0; i < 6; i++) {
        BN_free(bn[i]);
        PyBuffer_Release(&v[i]);
    }
    EC_POINT_free(g);
    BN_CTX_free(ctx);
    if (err || !c || PyErr_Occurred()) {
        Py_XDECREF(c);
        if (err)
            return rs_raise(RS_ERR_VALUE, err);
        return PyErr_Occurred() ? NULL : rs_raise_openssl("building an SM2 curve");
    }
    return (PyObject *)c;
}

static PyObject *curve_get_recommended(CurveObject *c, void *closure)
{
    (void)closure;
    return PyBool_FromLong(c->recommended);
}

static PyGetSetDef curve_getset[] = {
    {"recommended", (getter)curve_get_recommended, NULL, "True for the GB/T 32918.5 curve.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject CurveType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mpc._native.SM2Curve",
    .tp_basicsize = sizeof(CurveObject),
    .tp_dealloc = (destructor)curve_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An SM2 curve over a 256-bit prime field (tests use the GB/T 32918 example curve).",
    .tp_new = curve_new,
    .tp_getset = curve_getset,
};

/* ---- key handle -------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    CurveObject *curve;
    EC_POINT *pub;
    uint8_t pub_enc[SM2_POINT_SIZE];
    BIGNUM *d;    /* NULL for a public key */
    BIGNUM *dinv; /* (1 + d)^-1 mod n, cached for signing */
    uint8_t za_default[SM2_DIGEST_SIZE];
} KeyObject;

static PyTypeObject KeyType;

static const uint8_t default_uid[16] = "1234567812345678";

static void key_dealloc(KeyObject *k)
{
    EC_POINT_free(k->pub);
    BN_clear_free(k->d);
    BN_clear_free(k->dinv);
    Py_XDECREF(k->curve);
    PyObject_Free(k);
}

static KeyObject *key_alloc(CurveObject *curve)
{
    KeyObject *k = PyObject_New(KeyObject, &KeyType);
    if (!k)
        return NULL;
    Py_INCREF(curve);
    k->curve = curve;
    k->pub = NULL;
    k->d = k->dinv = NULL;
    memset(k->pub_enc, 0, sizeof k->pub_enc);
    memset(k->za_default, 0, sizeof k->za_default);
    return k;
}

static int compute_za(const CurveObject *c, const uint8_t pub[SM2_POINT_SIZE], const uint8_t *uid, size_t uidlen,
                      uint8_t out[SM2_DIGEST_SIZE])
{
    uint8_t entl[2] = {(uint8_t)((uidlen * 8) >> 8), (uint8_t)(uidlen * 8)};
    unsigned int n = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m && EVP_DigestInit_ex(m, md_sm3, NULL) == 1 && EVP_DigestUpdate(m, entl, 2) == 1 &&
             EVP_DigestUpdate(m, uid, uidlen) == 1 && EVP_DigestUpdate(m, c->abxy, sizeof c->abxy) == 1 &&
             EVP_DigestUpdate(m, pub + 1, 64) == 1 && EVP_DigestFinal_ex(m, out, &n) == 1;
    EVP_MD_CTX_free(m);
    return ok;
}

/* e = SM3(Z_A ‖ M) */
static int compute_e(const uint8_t za[SM2_DIGEST_SIZE], const uint8_t *msg, size_t len, uint8_t out[SM2_DIGEST_SIZE])
{
    unsigned int n = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m && EVP_DigestInit_ex(m, md_sm3, NULL) == 1 && EVP_DigestUpdate(m, za, SM2_DIGEST_SIZE) == 1 &&
             EVP_DigestUpdate(m, msg, len) == 1 && EVP_DigestFinal_ex(m, out, &n) == 1;
    EVP_MD_CTX_free(m);
    return ok;
}

/* Finish a key whose pub point is set: encoding and the default Z_A. */
static int key_finish_public(KeyObject *k, BN_CTX *ctx)
{
    return EC_POINT_point2oct(k->curve->group, k->pub, POINT_CONVERSION_UNCOMPRESSED, k->pub_enc, SM2_POINT_SIZE,
                              ctx) == SM2_POINT_SIZE &&
           compute_za(k->curve, k->pub_enc, default_uid, sizeof default_uid, k->za_default);
}

/* Set d (taking ownership), derive P = d·G and (1 + d)^-1. Runs without the GIL. */
static int key_set_private(KeyObject *k, BIGNUM *d, BN_CTX *ctx)
{
    const EC_GROUP *g = k->curve->group;
    BIGNUM *t = BN_new();
    int ok;
    k->d = d;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    k->dinv = BN_new();
    k->pub = EC_POINT_new(g);
    ok = t && k->dinv && k->pub && EC_POINT_mul(g, k->pub, d, NULL, NULL, ctx) == 1 && BN_add(t, d, BN_value_one()) &&
         BN_mod_inverse(k->dinv, t, k->curve->n, ctx) != NULL && key_finish_public(k, ctx);
    BN_clear_free(t);
    return ok;
}

static CurveObject *curve_arg(PyObject *o)
{
    if (o == NULL || o == Py_None)
        return default_curve;
    if (!PyObject_TypeCheck(o, &CurveType)) {
        rs_raise(RS_ERR_TYPE, "curve must be an SM2Curve");
        return NULL;
    }
    return (CurveObject *)o;
}

static PyObject *py_key_from_private(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer b;
    PyObject *co = NULL;
    if (!PyArg_ParseTuple(args, "y*|O:sm2_key_from_private", &b, &co))
        return NULL;
    CurveObject *c = curve_arg(co);
    if (!c) {
        PyBuffer_Release(&b);
        return NULL;
    }
    if (b.len != SM2_SCALAR_SIZE) {
        PyBuffer_Release(&b);
        return rs_raise(RS_ERR_VALUE, "SM2 private key must be 32 bytes");
    }
    BIGNUM *d = BN_secure_new();
    if (!d || !BN_bin2bn(b.buf, SM2_SCALAR_SIZE, d)) {
        PyBuffer_Release(&b);
        BN_free(d);
        return rs_raise_openssl("SM2 private key");
    }
    PyBuffer_Release(&b);
    if (BN_is_zero(d) || BN_cmp(d, c->n_minus_2) > 0) {
        BN_clear_free(d);
        return rs_raise(RS_ERR_VALUE, "SM2 private key must be in [1, n-2] (GB/T 32918.1, 6.1)");
    }
    KeyObject *k = key_alloc(c);
    if (!k) {
        BN_clear_free(d);
        return NULL;
    }
    int ok;
    Py_BEGIN_ALLOW_THREADS
    BN_CTX *ctx = BN_CTX_new();
    ok = ctx && key_set_private(k, d, ctx);
    BN_CTX_free(ctx);
    Py_END_ALLOW_THREADS
    if (!ok) {
        Py_DECREF(k);
        return rs_raise_openssl("SM2 public key derivation");
    }
    return (PyObject *)k;
}

static PyObject *py_key_generate(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *co = NULL;
    if (!PyArg_ParseTuple(args, "|O:sm2_key_generate", &co))
        return NULL;
    CurveObject *c = curve_arg(co);
    if (!c)
        return NULL;
    KeyObject *k = key_alloc(c);
    if (!k)
        return NULL;
    int ok;
    Py_BEGIN_ALLOW_THREADS
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *d = BN_secure_new();
    /* d uniform in [1, n-2]: draw in [0, n-1) and reject 0. */
    do {
        ok = ctx && d && BN_priv_rand_range_ex(d, c->n_minus_1, 0, ctx) == 1;
    } while (ok && BN_is_zero(d));
    if (ok)
        ok = key_set_private(k, d, ctx);
    else
        BN_free(d);
    BN_CTX_free(ctx);
    Py_END_ALLOW_THREADS
    if (!ok) {
        Py_DECREF(k);
        return rs_raise_openssl("SM2 key generation");
    }
    return (PyObject *)k;
}

static PyObject *py_key_from_public(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer b;
    PyObject *co = NULL;
    if (!PyArg_ParseTuple(args, "y*|O:sm2_key_from_public", &b, &co))
        return NULL;
    CurveObject *c = curve_arg(co);
    if (!c) {
        PyBuffer_Release(&b);
        return NULL;
    }
    const uint8_t *p = b.buf;
    const char *err = NULL;
    if (b.len == SM2_POINT_SIZE) {
        if (p[0] != 0x04)
            err = "SM2 uncompressed point must start with 0x04";
    } else if (b.len == SM2_POINT_COMPRESSED_SIZE) {
        if (p[0] != 0x02 && p[0] != 0x03)
            err = "SM2 compressed point must start with 0x02 or 0x03";
    } else {
        err = "SM2 public key must be 65 bytes (04 ‖ x ‖ y) or 33 bytes (compressed)";
    }
    if (err) {
        PyBuffer_Release(&b);
        return rs_raise(RS_ERR_POINT, err);
    }
    KeyObject *k = key_alloc(c);
    int ok = 0;
    if (k) {
        BN_CTX *ctx = BN_CTX_new();
        k->pub = EC_POINT_new(c->group);
        /* oct2point checks the point is on the curve and the coordinates are below p. */
        ok = ctx && k->pub && EC_POINT_oct2point(c->group, k->pub, p, (size_t)b.len, ctx) == 1 &&
             !EC_POINT_is_at_infinity(c->group, k->pub);
        ERR_clear_error();
        if (ok && !key_finish_public(k, ctx))
            ok = -1;
        BN_CTX_free(ctx);
    }
    PyBuffer_Release(&b);
    if (!k)
        return NULL;
    if (ok != 1) {
        Py_DECREF(k);
        if (ok < 0)
            return rs_raise_openssl("SM2 public key");
        return rs_raise(RS_ERR_POINT, "SM2 public key is not a point on the curve");
    }
    return (PyObject *)k;
}

static PyObject *key_public_bytes(KeyObject *k, PyObject *args)
{
    int compressed = 0;
    if (!PyArg_ParseTuple(args, "|p:public_bytes", &compressed))
        return NULL;
    if (!compressed)
        return PyBytes_FromStringAndSize((const char *)k->pub_enc, SM2_POINT_SIZE);
    uint8_t out[SM2_POINT_COMPRESSED_SIZE];
    memcpy(out + 1, k->pub_enc + 1, 32);
    out[0] = 0x02 | (k->pub_enc[64] & 1);
    return PyBytes_FromStringAndSize((const char *)out, sizeof out);
}

static PyObject *key_private_bytes(KeyObject *k, PyObject *unused)
{
    (void)unused;
    uint8_t out[SM2_SCALAR_SIZE];
    if (!k->d)
        return rs_raise(RS_ERR_TYPE, "SM2 key handle holds no private key");
    if (BN_bn2binpad(k->d, out, SM2_SCALAR_SIZE) != SM2_SCALAR_SIZE)
        return rs_raise_openssl("SM2 private key export");
    PyObject *r = PyBytes_FromStringAndSize((const char *)out, SM2_SCALAR_SIZE);
    rs_secure_zero(out, sizeof out);
    return r;
}

static int check_uid(Py_buffer *uid)
{
    if (uid->len > SM2_UID_MAX) {
        rs_raise(RS_ERR_VALUE, "SM2 ID must be at most 8191 bytes (ENTL is 16 bits)");
        return 0;
    }
    return 1;
}

/* Z_A for `uid`; the default ID comes from the cache. No GIL needed. */
static int key_za(const KeyObject *k, const uint8_t *uid, size_t uidlen, uint8_t out[SM2_DIGEST_SIZE])
{
    if (uidlen == sizeof default_uid && memcmp(uid, default_uid, uidlen) == 0) {
        memcpy(out, k->za_default, SM2_DIGEST_SIZE);
        return 1;
    }
    return compute_za(k->curve, k->pub_enc, uid, uidlen, out);
}

static PyObject *key_z_a(KeyObject *k, PyObject *args)
{
    Py_buffer uid;
    uint8_t za[SM2_DIGEST_SIZE];
    if (!PyArg_ParseTuple(args, "y*:z_a", &uid))
        return NULL;
    int ok = check_uid(&uid);
    if (ok && !key_za(k, uid.buf, (size_t)uid.len, za)) {
        rs_raise_openssl("SM2 Z_A");
        ok = 0;
    }
    PyBuffer_Release(&uid);
    return ok ? PyBytes_FromStringAndSize((const char *)za, SM2_DIGEST_SIZE) : NULL;
}

/* ---- DER (strict) ------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *p;
    size_t n;
} der_in;

static int der_get(der_in *in, uint8_t tag, const uint8_t **content, size_t *len)
{
    size_t l, hdr;
    if (in->n < 2 || in->p[0] != tag)
        return 0;
    uint8_t b = in->p[1];
    if (b < 0x80) {
        l = b;
        hdr = 2;
    } else {
        size_t nb = b & 0x7f;
        if (nb == 0 || nb > 4 || in->n < 2 + nb || in->p[2] == 0)
            return 0;
        l = 0;
        for (size_t i = 0; i < nb; i++)
            l = (l << 8) | in->p[2 + i];
        if (l < 0x80)
            return 0; /* DER: the short form was required */
        hdr = 2 + nb;
    }
    if (in->n - hdr < l)
        return 0;
    *content = in->p + hdr;
    *len = l;
    in->p += hdr + l;
    in->n -= hdr + l;
    return 1;
}

/* A non-negative, minimally encoded INTEGER of at most 32 magnitude bytes. */
static int der_get_u256(der_in *in, uint8_t out[32])
{
    const uint8_t *c;
    size_t l;
    if (!der_get(in, 0x02, &c, &l) || l == 0 || (c[0] & 0x80))
        return 0;
    if (l > 1 && c[0] == 0 && !(c[1] & 0x80))
        return 0;
    if (c[0] == 0) {
        c++;
        l--;
    }
    if (l > 32)
        return 0;
    memset(out, 0, 32 - l);
    memcpy(out + 32 - l, c, l);
    return 1;
}

static size_t der_len_size(size_t len)
{
    return len < 0x80 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : len < 0x1000000 ? 4 : 5;
}

static uint8_t *der_put_len(uint8_t *p, size_t len)
{
    size_t s = der_len_size(len);
    if (s == 1) {
        *p++ = (uint8_t)len;
        return p;
    }
    *p++ = (uint8_t)(0x80 | (s - 1));
    for (size_t i = s - 1; i > 0; i--)
        *p++ = (uint8_t)(len >> (8 * (i - 1)));
    return p;
}

/* Content length of a 32-byte unsigned value as a DER INTEGER. */
static size_t der_u256_content(const uint8_t v[32])
{
    size_t i = 0;
    while (i < 31 && v[i] == 0)
        i++;
    return (32 - i) + ((v[i] & 0x80) ? 1 : 0);
}

static uint8_t *der_put_u256(uint8_t *p, const uint8_t v[32])
{
    size_t i = 0;
    while (i < 31 && v[i] == 0)
        i++;
    size_t l = der_u256_content(v);
    *p++ = 0x02;
    p = der_put_len(p, l);
    if (v[i] & 0x80)
        *p++ = 0;
    memcpy(p, v + i, 32 - i);
    return p + (32 - i);
}

static PyObject *der_sig(const uint8_t r[32], const uint8_t s[32])
{
    size_t lr = der_u256_content(r), ls = der_u256_content(s);
    size_t body = 2 + lr + 2 + ls; /* at most 70: short lengths throughout */
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(2 + body));
    if (!out)
        return NULL;
    uint8_t *p = (uint8_t *)PyBytes_AS_STRING(out);
    *p++ = 0x30;
    *p++ = (uint8_t)body;
    p = der_put_u256(p, r);
    der_put_u256(p, s);
    return out;
}

/* ---- sign / verify ----------------------------------------------------------------------- */

/* On the recommended curve signing, verification and agreement run on the constant-time core
 * (sm2core.c); OpenSSL's generic EC code below serves the other curves (the standards' example
 * curves, for their vectors) and stays as the cross-check in the tests. */
static int core_sign_digest(const KeyObject *k, const uint8_t e[32], const uint8_t *k_fixed, uint8_t r_out[32],
                            uint8_t s_out[32], const char **why)
{
    uint8_t d[32], sig[64];
    int st;
    if (BN_bn2binpad(k->d, d, 32) != 32)
        return 0;
    st = k_fixed ? rs_sm2c_sign_digest_with_k(sig, d, e, k_fixed) : rs_sm2c_sign_digest(sig, d, e);
    rs_secure_zero(d, sizeof d);
    if (st != RS_SM2C_OK) {
        if (st == RS_SM2C_ERR_NONCE || st == RS_SM2C_ERR_SCALAR)
            *why = k_fixed ? "k must be in [1, n-1] and give r != 0, r + k != n, s != 0" : "bad private key";
        return 0;
    }
    memcpy(r_out, sig, 32);
    memcpy(s_out, sig + 32, 32);
    return 1;
}

/* GB/T 32918.2, 6.1, steps A3-A7; k_fixed (tests only) replaces the random nonce. */
static int sign_digest(const KeyObject *k, const uint8_t e_bytes[32], const uint8_t *k_fixed, uint8_t r_out[32],
                       uint8_t s_out[32], const char **why)
{
    const CurveObject *c = k->curve;
    if (c->recommended)
        return core_sign_digest(k, e_bytes, k_fixed, r_out, s_out, why);
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *R = EC_POINT_new(c->group);
    BIGNUM *e = NULL, *kk = NULL, *x1 = NULL, *r = NULL, *s = NULL, *t = NULL;
    int ok = 0;
    if (!ctx || !R)
        goto done;
    BN_CTX_start(ctx);
    e = BN_CTX_get(ctx);
    x1 = BN_CTX_get(ctx);
    r = BN_CTX_get(ctx);
    s = BN_CTX_get(ctx);
    t = BN_CTX_get(ctx);
    kk = BN_secure_new();
    if (!t || !kk || !BN_bin2bn(e_bytes, 32, e))
        goto end;
    BN_set_flags(kk, BN_FLG_CONSTTIME);
    for (;;) {
        if (k_fixed) {
            if (!BN_bin2bn(k_fixed, 32, kk))
                goto end;
            if (BN_is_zero(kk) || BN_cmp(kk, c->n) >= 0) {
                *why = "k must be in [1, n-1]";
                goto end;
            }
        } else {
            do {
                if (BN_priv_rand_range_ex(kk, c->n, 0, ctx) != 1)
                    goto end;
            } while (BN_is_zero(kk));
        }
        if (EC_POINT_mul(c->group, R, kk, NULL, NULL, ctx) != 1 ||
            EC_POINT_get_affine_coordinates(c->group, R, x1, NULL, ctx) != 1 || !BN_mod_add(r, e, x1, c->n, ctx) ||
            !BN_add(t, r, kk))
            goto end;
        if (BN_is_zero(r) || BN_cmp(t, c->n) == 0) {
            if (k_fixed) {
                *why = "k gives r = 0 or r + k = n";
                goto end;
            }
            continue;
        }
        /* s = (1 + d)^-1 · (k − r·d) mod n */
        if (!BN_mod_mul(t, r, k->d, c->n, ctx) || !BN_mod_sub(t, kk, t, c->n, ctx) ||
            !BN_mod_mul(s, k->dinv, t, c->n, ctx))
            goto end;
        if (BN_is_zero(s)) {
            if (k_fixed) {
                *why = "k gives s = 0";
                goto end;
            }
            continue;
        }
        break;
    }
    ok = BN_bn2binpad(r, r_out, 32) == 32 && BN_bn2binpad(s, s_out, 32) == 32;
end:
    BN_clear(t);
    BN_clear_free(kk);
    BN_CTX_end(ctx);
done:
    EC_POINT_free(R);
    BN_CTX_free(ctx);
    return ok;
}

static PyObject *key_sign(KeyObject *k, PyObject *args)
{
    Py_buffer data, uid, kf = {0};
    int have_k = 0;
    if (!PyArg_ParseTuple(args, "y*y*|z*:sign", &data, &uid, &kf))
        return NULL;
    have_k = kf.buf != NULL;
    PyObject *res = NULL;
    uint8_t za[32], e[32], r[32], s[32];
    const char *why = NULL;
    int ok;
    if (!k->d) {
        rs_raise(RS_ERR_TYPE, "signing needs a private key");
        goto out;
    }
    if (!check_uid(&uid))
        goto out;
    if (have_k && kf.len != 32) {
        rs_raise(RS_ERR_VALUE, "k must be 32 bytes");
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    ok = key_za(k, uid.buf, (size_t)uid.len, za) && compute_e(za, data.buf, (size_t)data.len, e) &&
         sign_digest(k, e, have_k ? kf.buf : NULL, r, s, &why);
    Py_END_ALLOW_THREADS
    if (!ok) {
        if (why)
            rs_raise(RS_ERR_VALUE, why);
        else
            rs_raise_openssl("SM2 signing");
        goto out;
    }
    res = der_sig(r, s);
out:
    PyBuffer_Release(&data);
    PyBuffer_Release(&uid);
    if (have_k)
        PyBuffer_Release(&kf);
    return res;
}

/* 1 valid, 0 invalid, -1 library failure. GB/T 32918.2, 7.1, steps B1-B7. */
static int verify_digest(const KeyObject *k, const uint8_t e_bytes[32], const uint8_t r_bytes[32],
                         const uint8_t s_bytes[32])
{
    const CurveObject *c = k->curve;
    if (c->recommended) {
        uint8_t sig[64];
        memcpy(sig, r_bytes, 32);
        memcpy(sig + 32, s_bytes, 32);
        int st = rs_sm2c_verify_digest(k->pub_enc, e_bytes, sig, 1);
        return st == RS_SM2C_OK ? 1 : (st == RS_SM2C_ERR_SIGNATURE ? 0 : -1);
    }
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *R = EC_POINT_new(c->group);
    int res = -1;
    if (!ctx || !R)
        goto done;
    BN_CTX_start(ctx);
    BIGNUM *e = BN_CTX_get(ctx), *r = BN_CTX_get(ctx), *s = BN_CTX_get(ctx), *t = BN_CTX_get(ctx),
           *x1 = BN_CTX_get(ctx);
    if (!x1 || !BN_bin2bn(e_bytes, 32, e) || !BN_bin2bn(r_bytes, 32, r) || !BN_bin2bn(s_bytes, 32, s))
        goto end;
    res = 0;
    if (BN_is_zero(r) || BN_cmp(r, c->n) >= 0 || BN_is_zero(s) || BN_cmp(s, c->n) >= 0)
        goto end;
    res = -1;
    if (!BN_mod_add(t, r, s, c->n, ctx))
        goto end;
    res = 0;
    if (BN_is_zero(t))
        goto end;
    res = -1;
    /* (x1, y1) = s·G + t·P_A: public scalars, OpenSSL's interleaved wNAF */
    if (EC_POINT_mul(c->group, R, s, k->pub, t, ctx) != 1)
        goto end;
    res = 0;
    if (EC_POINT_is_at_infinity(c->group, R))
        goto end;
    res = -1;
    if (EC_POINT_get_affine_coordinates(c->group, R, x1, NULL, ctx) != 1 || !BN_mod_add(t, e, x1, c->n, ctx))
        goto end;
    res = BN_cmp(t, r) == 0;
end:
    BN_CTX_end(ctx);
done:
    EC_POINT_free(R);
    BN_CTX_free(ctx);
    return res;
}

static int parse_sig(const uint8_t *p, size_t n, uint8_t r[32], uint8_t s[32])
{
    der_in in = {p, n}, seq;
    const uint8_t *c;
    size_t l;
    if (!der_get(&in, 0x30, &c, &l) || in.n != 0)
        return 0;
    seq.p = c;
    seq.n = l;
    return der_get_u256(&seq, r) && der_get_u256(&seq, s) && seq.n == 0;
}

static PyObject *key_verify(KeyObject *k, PyObject *args)
{
    Py_buffer sig, data, uid;
    if (!PyArg_ParseTuple(args, "y*y*y*:verify", &sig, &data, &uid))
        return NULL;
    PyObject *res = NULL;
    uint8_t za[32], e[32], r[32], s[32];
    int v = 0;
    if (!check_uid(&uid))
        goto out;
    if (parse_sig(sig.buf, (size_t)sig.len, r, s)) {
        Py_BEGIN_ALLOW_THREADS
        v = (key_za(k, uid.buf, (size_t)uid.len, za) && compute_e(za, data.buf, (size_t)data.len, e))
                ? verify_digest(k, e, r, s)
                : -1;
        Py_END_ALLOW_THREADS
    }
    if (v < 0) {
        rs_raise_openssl("SM2 verification");
    } else if (v == 0) {
        ERR_clear_error();
        rs_raise(RS_ERR_SIGNATURE, "SM2 signature does not verify");
    } else {
        res = Py_NewRef(Py_None);
    }
out:
    PyBuffer_Release(&sig);
    PyBuffer_Release(&data);
    PyBuffer_Release(&uid);
    return res;
}

/* ---- encryption (GB/T 32918.4) ----------------------------------------------------------- */

static int point_xy(const EC_GROUP *g, const EC_POINT *P, uint8_t xy[64], BN_CTX *ctx)
{
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx);
    int ok = y && EC_POINT_get_affine_coordinates(g, P, x, y, ctx) == 1 && BN_bn2binpad(x, xy, 32) == 32 &&
             BN_bn2binpad(y, xy + 32, 32) == 32;
    BN_CTX_end(ctx);
    return ok;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* C3 = SM3(x2 ‖ M ‖ y2) */
static int c3_hash(const uint8_t xy[64], const uint8_t *m, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    int ok = h && EVP_DigestInit_ex(h, md_sm3, NULL) == 1 && EVP_DigestUpdate(h, xy, 32) == 1 &&
             EVP_DigestUpdate(h, m, len) == 1 && EVP_DigestUpdate(h, xy + 32, 32) == 1 &&
             EVP_DigestFinal_ex(h, out, &n) == 1;
    EVP_MD_CTX_free(h);
    return ok;
}

/* Steps A1-A8. out must hold 64 + 32 + len bytes: C1 (x1 ‖ y1), C3, C2. */
static int encrypt_raw(const KeyObject *k, const uint8_t *m, size_t len, const uint8_t *k_fixed, uint8_t *out,
                       const char **why)
{
    const CurveObject *c = k->curve;
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *C1 = EC_POINT_new(c->group), *S = EC_POINT_new(c->group);
    BIGNUM *kk = BN_secure_new();
    uint8_t xy[64];
    uint8_t *c1 = out, *c3 = out + 64, *c2 = out + 96;
    int ok = 0;
    if (!ctx || !C1 || !S || !kk)
        goto done;
    BN_set_flags(kk, BN_FLG_CONSTTIME);
    for (;;) {
        if (k_fixed) {
            if (!BN_bin2bn(k_fixed, 32, kk))
                goto done;
            if (BN_is_zero(kk) || BN_cmp(kk, c->n) >= 0) {
                *why = "k must be in [1, n-1]";
                goto done;
            }
        } else {
            do {
                if (BN_priv_rand_range_ex(kk, c->n, 0, ctx) != 1)
                    goto done;
            } while (BN_is_zero(kk));
        }
        /* h = 1 on the curves used here, so S = [h]P_B is P_B, checked finite at load. */
        if (EC_POINT_mul(c->group, C1, kk, NULL, NULL, ctx) != 1 || !point_xy(c->group, C1, c1, ctx) ||
            EC_POINT_mul(c->group, S, NULL, k->pub, kk, ctx) != 1 || !point_xy(c->group, S, xy, ctx) ||
            !rs_sm3_kdf(xy, 64, c2, len))
            goto done;
        if (len > 0 && all_zero(c2, len)) {
            if (k_fixed) {
                *why = "k gives an all-zero KDF output";
                goto done;
            }
            continue;
        }
        break;
    }
    for (size_t i = 0; i < len; i++)
        c2[i] ^= m[i];
    ok = c3_hash(xy, m, len, c3);
done:
    rs_secure_zero(xy, sizeof xy);
    BN_clear_free(kk);
    EC_POINT_free(C1);
    EC_POINT_clear_free(S);
    BN_CTX_free(ctx);
    return ok;
}

/* SM2Cipher ::= SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING (32), ciphertext OCTET STRING } */
static PyObject *der_cipher(const uint8_t *raw, size_t len)
{
    size_t lx = der_u256_content(raw), ly = der_u256_content(raw + 32);
    size_t body = 2 + lx + 2 + ly + 2 + 32 + 1 + der_len_size(len) + len;
    size_t total = 1 + der_len_size(body) + body;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (!out)
        return NULL;
    uint8_t *p = (uint8_t *)PyBytes_AS_STRING(out);
    *p++ = 0x30;
    p = der_put_len(p, body);
    p = der_put_u256(p, raw);
    p = der_put_u256(p, raw + 32);
    *p++ = 0x04;
    *p++ = 32;
    memcpy(p, raw + 64, 32);
    p += 32;
    *p++ = 0x04;
    p = der_put_len(p, len);
    memcpy(p, raw + 96, len);
    return out;
}

static PyObject *key_encrypt(KeyObject *k, PyObject *args)
{
    Py_buffer data, kf = {0};
    if (!PyArg_ParseTuple(args, "y*|z*:encrypt", &data, &kf))
        return NULL;
    int have_k = kf.buf != NULL;
    PyObject *res = NULL;
    uint8_t *raw = NULL;
    const char *why = NULL;
    int ok;
    size_t len = (size_t)data.len;
    if (len > SM2_MAX_PLAINTEXT) {
        rs_raise(RS_ERR_VALUE, "SM2 plaintext must be at most 1 GiB");
        goto out;
    }
    if (have_k && kf.len != 32) {
        rs_raise(RS_ERR_VALUE, "k must be 32 bytes");
        goto out;
    }
    raw = PyMem_RawMalloc(96 + len);
    if (!raw) {
        PyErr_NoMemory();
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    ok = encrypt_raw(k, data.buf, len, have_k ? kf.buf : NULL, raw, &why);
    Py_END_ALLOW_THREADS
    if (!ok) {
        if (why)
            rs_raise(RS_ERR_VALUE, why);
        else
            rs_raise_openssl("SM2 encryption");
        goto out;
    }
    res = der_cipher(raw, len);
out:
    if (raw) {
        rs_secure_zero(raw, 96 + len);
        PyMem_RawFree(raw);
    }
    PyBuffer_Release(&data);
    if (have_k)
        PyBuffer_Release(&kf);
    return res;
}

/* Steps B1-B7; writes M into out (len bytes). 1 ok, 0 rejected, -1 library failure. */
static int decrypt_raw(const KeyObject *k, const uint8_t x1[32], const uint8_t y1[32], const uint8_t c3[32],
                       const uint8_t *c2, size_t len, uint8_t *out)
{
    const CurveObject *c = k->curve;
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *C1 = EC_POINT_new(c->group), *S = EC_POINT_new(c->group);
    uint8_t xy[64], u[32];
    int res = -1;
    if (!ctx || !C1 || !S)
        goto done;
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx);
    if (!y || !BN_bin2bn(x1, 32, x) || !BN_bin2bn(y1, 32, y))
        goto end;
    /* set_affine_coordinates rejects points off the curve (and coordinates ≥ p). */
    res = 0;
    if (BN_cmp(x, c->p) >= 0 || BN_cmp(y, c->p) >= 0 || EC_POINT_set_affine_coordinates(c->group, C1, x, y, ctx) != 1)
        goto end;
    res = -1;
    if (EC_POINT_mul(c->group, S, NULL, C1, k->d, ctx) != 1 || !point_xy(c->group, S, xy, ctx) ||
        !rs_sm3_kdf(xy, 64, out, len))
        goto end;
    res = 0;
    if (len > 0 && all_zero(out, len))
        goto end;
    for (size_t i = 0; i < len; i++)
        out[i] ^= c2[i];
    res = -1;
    if (!c3_hash(xy, out, len, u))
        goto end;
    res = rs_ct_memeq(u, c3, 32);
end:
    BN_CTX_end(ctx);
done:
    rs_secure_zero(xy, sizeof xy);
    EC_POINT_free(C1);
    EC_POINT_clear_free(S);
    BN_CTX_free(ctx);
    ERR_clear_error();
    return res;
}

static PyObject *key_decrypt(KeyObject *k, PyObject *args)
{
    Py_buffer ct;
    if (!PyArg_ParseTuple(args, "y*:decrypt", &ct))
        return NULL;
    PyObject *res = NULL;
    uint8_t x1[32], y1[32];
    const uint8_t *c3 = NULL, *c2 = NULL, *body;
    size_t c3len = 0, c2len = 0, blen;
    uint8_t *m = NULL;
    int v = 0;
    if (!k->d) {
        rs_raise(RS_ERR_TYPE, "decryption needs a private key");
        goto out;
    }
    der_in in = {ct.buf, (size_t)ct.len}, seq;
    if (!der_get(&in, 0x30, &body, &blen) || in.n != 0)
        goto reject;
    seq.p = body;
    seq.n = blen;
    if (!der_get_u256(&seq, x1) || !der_get_u256(&seq, y1) || !der_get(&seq, 0x04, &c3, &c3len) || c3len != 32 ||
        !der_get(&seq, 0x04, &c2, &c2len) || seq.n != 0 || c2len > SM2_MAX_PLAINTEXT)
        goto reject;
    m = PyMem_RawMalloc(c2len ? c2len : 1);
    if (!m) {
        PyErr_NoMemory();
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    v = decrypt_raw(k, x1, y1, c3, c2, c2len, m);
    Py_END_ALLOW_THREADS
    if (v == 1) {
        res = PyBytes_FromStringAndSize((const char *)m, (Py_ssize_t)c2len);
        goto out;
    }
    if (v < 0) {
        rs_raise_openssl("SM2 decryption");
        goto out;
    }
reject:
    /* One message for every cause: no padding/MAC oracle. */
    rs_raise(RS_ERR_DECRYPT, "SM2 decryption failed");
out:
    if (m) {
        rs_secure_zero(m, c2len);
        PyMem_RawFree(m);
    }
    PyBuffer_Release(&ct);
    return res;
}

/* ---- agreement --------------------------------------------------------------------------- */

static int check_peer(const KeyObject *k, PyObject *o, KeyObject **peer)
{
    if (!PyObject_TypeCheck(o, &KeyType)) {
        rs_raise(RS_ERR_TYPE, "peer must be an SM2 key handle");
        return 0;
    }
    *peer = (KeyObject *)o;
    if ((*peer)->curve != k->curve) {
        rs_raise(RS_ERR_VALUE, "keys are on different curves");
        return 0;
    }
    return 1;
}

/* Static agreement: x(d · P_peer). */
static PyObject *key_exchange(KeyObject *k, PyObject *arg)
{
    KeyObject *peer;
    uint8_t xy[64];
    int ok;
    if (!k->d)
        return rs_raise(RS_ERR_TYPE, "agreement needs a private key");
    if (!check_peer(k, arg, &peer))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (k->curve->recommended) {
        uint8_t d[32];
        ok = BN_bn2binpad(k->d, d, 32) == 32 && rs_sm2c_static_agree(xy, d, peer->pub_enc) == RS_SM2C_OK;
        rs_secure_zero(d, sizeof d);
    } else {
        BN_CTX *ctx = BN_CTX_new();
        EC_POINT *S = EC_POINT_new(k->curve->group);
        ok = ctx && S && EC_POINT_mul(k->curve->group, S, NULL, peer->pub, k->d, ctx) == 1 &&
             !EC_POINT_is_at_infinity(k->curve->group, S) && point_xy(k->curve->group, S, xy, ctx);
        EC_POINT_clear_free(S);
        BN_CTX_free(ctx);
    }
    Py_END_ALLOW_THREADS
    if (!ok)
        return rs_raise_openssl("SM2 agreement");
    PyObject *r = PyBytes_FromStringAndSize((const char *)xy, 32);
    rs_secure_zero(xy, sizeof xy);
    return r;
}

/* x̄ = 2^w + (x mod 2^w), w = 127 for a 256-bit n (GB/T 32918.3, 6.1, A4/B3). */
static int xbar(const uint8_t pub[SM2_POINT_SIZE], BIGNUM *out)
{
    uint8_t low[16];
    memcpy(low, pub + 1 + 16, 16);
    low[0] = (uint8_t)((low[0] & 0x7f) | 0x80);
    return BN_bin2bn(low, 16, out) != NULL;
}

/* Key-exchange point of GB/T 32918.3, 6.1: self = own static key (d), eph = own ephemeral key (r,
 * R), peer / peer_eph = the peer's static and ephemeral public keys.
 * t = (d + x̄_own · r) mod n, U = [h·t](P_peer + [x̄_peer] R_peer); returns x_U ‖ y_U. */
static PyObject *key_kx_point(KeyObject *k, PyObject *args)
{
    PyObject *eo, *po, *peo;
    KeyObject *eph, *peer, *peer_eph;
    uint8_t xy[64];
    int ok;
    if (!PyArg_ParseTuple(args, "OOO:kx_point", &eo, &po, &peo))
        return NULL;
    if (!k->d)
        return rs_raise(RS_ERR_TYPE, "key exchange needs the static private key");
    if (!check_peer(k, eo, &eph) || !check_peer(k, po, &peer) || !check_peer(k, peo, &peer_eph))
        return NULL;
    if (!eph->d)
        return rs_raise(RS_ERR_TYPE, "key exchange needs the ephemeral private key");
    const CurveObject *c = k->curve;
    int infinity = 0;
    Py_BEGIN_ALLOW_THREADS
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *Q = EC_POINT_new(c->group), *U = EC_POINT_new(c->group);
    BIGNUM *t = BN_secure_new(), *xo = BN_new(), *xp = BN_new();
    ok = ctx && Q && U && t && xo && xp && xbar(eph->pub_enc, xo) && xbar(peer_eph->pub_enc, xp) &&
         BN_mod_mul(t, xo, eph->d, c->n, ctx) && BN_mod_add(t, t, k->d, c->n, ctx) &&
         EC_POINT_mul(c->group, Q, NULL, peer_eph->pub, xp, ctx) == 1 &&
         EC_POINT_add(c->group, Q, Q, peer->pub, ctx) == 1;
    if (ok) {
        BN_set_flags(t, BN_FLG_CONSTTIME);
        ok = EC_POINT_mul(c->group, U, NULL, Q, t, ctx) == 1;
    }
    if (ok && EC_POINT_is_at_infinity(c->group, U)) {
        infinity = 1;
        ok = 0;
    }
    if (ok)
        ok = point_xy(c->group, U, xy, ctx);
    BN_clear_free(t);
    BN_free(xo);
    BN_free(xp);
    EC_POINT_free(Q);
    EC_POINT_clear_free(U);
    BN_CTX_free(ctx);
    Py_END_ALLOW_THREADS
    if (infinity) {
        ERR_clear_error();
        return rs_raise(RS_ERR_PROTOCOL, "SM2 key exchange: shared point is at infinity");
    }
    if (!ok)
        return rs_raise_openssl("SM2 key exchange");
    PyObject *r = PyBytes_FromStringAndSize((const char *)xy, 64);
    rs_secure_zero(xy, sizeof xy);
    return r;
}

/* ---- OpenSSL EVP: serialization and the reference path ----------------------------------- */

static EVP_PKEY *key_to_evp(const KeyObject *k, int with_private)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *pkey = NULL;
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, k->pub_enc, SM2_POINT_SIZE) ||
        (with_private && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, k->d)))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &pkey, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
done:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(pctx);
    return pkey;
}

static int evp_arg(KeyObject *k, int need_private, EVP_PKEY **pkey)
{
    if (!k->curve->recommended) {
        rs_raise(RS_ERR_VALUE, "only keys on the recommended SM2 curve can go through OpenSSL");
        return 0;
    }
    if (need_private && !k->d) {
        rs_raise(RS_ERR_TYPE, "this operation needs a private key");
        return 0;
    }
    *pkey = key_to_evp(k, need_private);
    if (!*pkey) {
        rs_raise_openssl("SM2 key to EVP_PKEY");
        return 0;
    }
    return 1;
}

/* PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) EncryptedPrivateKeyInfo of pkey, DER or PEM. Runs
 * without the GIL (the key derivation is the slow part). Returns an OPENSSL_malloc'ed buffer. */
static int encrypt_pkcs8(EVP_PKEY *pkey, const void *pw, size_t pwlen, int pem, unsigned char **out, size_t *outlen)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    X509_SIG *enc = NULL;
    BIO *bio = NULL;
    int ok = 0;
    if (!p8 || pwlen > INT_MAX)
        goto done;
    enc = PKCS8_encrypt_ex(-1, EVP_aes_256_cbc(), pw, (int)pwlen, NULL, 16, SM2_PKCS8_ITER, p8, NULL, NULL);
    if (!enc)
        goto done;
    if (pem) {
        char *data = NULL;
        long n;
        if (!(bio = BIO_new(BIO_s_mem())) || PEM_write_bio_PKCS8(bio, enc) != 1 ||
            (n = BIO_get_mem_data(bio, &data)) <= 0 || !(*out = OPENSSL_memdup(data, (size_t)n)))
            goto done;
        *outlen = (size_t)n;
    } else {
        int n = i2d_X509_SIG(enc, out);
        if (n <= 0)
            goto done;
        *outlen = (size_t)n;
    }
    ok = 1;
done:
    BIO_free(bio);
    X509_SIG_free(enc);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return ok;
}

/* serialize(private, pem, password or None) -> PKCS#8 (encrypted when a password is given) or
 * SubjectPublicKeyInfo. */
static PyObject *key_serialize(KeyObject *k, PyObject *args)
{
    int priv = 0, pem = 0;
    Py_buffer pw = {0};
    if (!PyArg_ParseTuple(args, "pp|z*:serialize", &priv, &pem, &pw))
        return NULL;
    PyObject *res = NULL;
    EVP_PKEY *pkey = NULL;
    OSSL_ENCODER_CTX *ectx = NULL;
    unsigned char *out = NULL;
    size_t outlen = 0;
    int ok;
    if (pw.buf && !priv) {
        rs_raise(RS_ERR_VALUE, "public keys are not encrypted");
        goto done;
    }
    if (!evp_arg(k, priv, &pkey))
        goto done;
    if (pw.buf) {
        Py_BEGIN_ALLOW_THREADS
        ok = encrypt_pkcs8(pkey, pw.buf, (size_t)pw.len, pem, &out, &outlen);
        Py_END_ALLOW_THREADS
        if (!ok)
            goto fail;
    } else {
        ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                                             pem ? "PEM" : "DER", priv ? "PrivateKeyInfo" : "SubjectPublicKeyInfo",
                                             NULL);
        if (!ectx || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0 || OSSL_ENCODER_to_data(ectx, &out, &outlen) != 1)
            goto fail;
    }
    res = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)outlen);
    goto done;
fail:
    rs_raise_openssl("SM2 key encoding");
done:
    if (out)
        OPENSSL_clear_free(out, outlen);
    OSSL_ENCODER_CTX_free(ectx);
    EVP_PKEY_free(pkey);
    if (pw.buf)
        PyBuffer_Release(&pw);
    return res;
}

static int no_password_cb(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* sm2_load(data, private, pem, password or None) -> (private scalar or None, public point).
 * Accepts PKCS#8 (plain or encrypted) and SEC1 for private keys, SubjectPublicKeyInfo for public
 * keys; refuses keys on any other curve. */
static PyObject *py_load(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer data, pw = {0};
    int priv = 0, pem = 0;
    if (!PyArg_ParseTuple(args, "y*pp|z*:sm2_load", &data, &priv, &pem, &pw))
        return NULL;
    PyObject *res = NULL;
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx = NULL;
    BIGNUM *d = NULL;
    char group[64] = {0};
    size_t glen = 0;
    uint8_t pub[SM2_POINT_SIZE], dbytes[32];
    size_t publen = 0;
    const unsigned char *p = data.buf;
    size_t plen = (size_t)data.len;
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, pem ? "PEM" : "DER", priv ? NULL : "SubjectPublicKeyInfo", NULL,
                                         priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    if (!dctx) {
        rs_raise_openssl("SM2 key decoder");
        goto done;
    }
    if (pw.buf ? OSSL_DECODER_CTX_set_passphrase(dctx, pw.buf, (size_t)pw.len) != 1
               : OSSL_DECODER_CTX_set_pem_password_cb(dctx, no_password_cb, NULL) != 1) {
        rs_raise_openssl("SM2 key decoder");
        goto done;
    }
    int decoded;
    Py_BEGIN_ALLOW_THREADS
    decoded = OSSL_DECODER_from_data(dctx, &p, &plen);
    Py_END_ALLOW_THREADS
    /* DER must be exactly one structure; PEM may carry text around its block. */
    if (decoded != 1 || !pkey || (!pem && plen != 0)) {
        ERR_clear_error();
        rs_raise(RS_ERR_VALUE, priv ? "could not load SM2 private key: malformed data or wrong password"
                                    : "could not load SM2 public key: malformed data");
        goto done;
    }
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen) != 1 ||
        strcmp(group, "SM2") != 0) {
        ERR_clear_error();
        rs_raise(RS_ERR_VALUE, "key is not on the SM2 curve");
        goto done;
    }
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &publen) != 1) {
        rs_raise_openssl("SM2 public key export");
        goto done;
    }
    if (priv) {
        if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 || BN_num_bytes(d) > 32 ||
            BN_bn2binpad(d, dbytes, 32) != 32) {
            ERR_clear_error();
            rs_raise(RS_ERR_VALUE, "could not load SM2 private key: no private scalar");
            goto done;
        }
        res = Py_BuildValue("(y#y#)", (const char *)dbytes, (Py_ssize_t)32, (const char *)pub, (Py_ssize_t)publen);
        rs_secure_zero(dbytes, sizeof dbytes);
    } else {
        res = Py_BuildValue("(Oy#)", Py_None, (const char *)pub, (Py_ssize_t)publen);
    }
done:
    BN_clear_free(d);
    OSSL_DECODER_CTX_free(dctx);
    EVP_PKEY_free(pkey);
    PyBuffer_Release(&data);
    if (pw.buf)
        PyBuffer_Release(&pw);
    return res;
}

/* Whether DER bytes are an EncryptedPrivateKeyInfo. */
static PyObject *py_der_is_encrypted(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer b;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *p = b.buf;
    X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)b.len);
    int enc = sig != NULL && p == (const unsigned char *)b.buf + b.len;
    X509_SIG_free(sig);
    ERR_clear_error();
    PyBuffer_Release(&b);
    return PyBool_FromLong(enc);
}

/* The EVP SM2 signing path as `openssl speed sm2` runs it: one context with the ID, then
 * EVP_DigestSignInit + EVP_DigestSign (Z_A, SM3, sign) per operation. */
typedef struct {
    EVP_MD_CTX *mctx;
    EVP_PKEY_CTX *pctx;
} evp_sm2;

static int evp_sm2_open(evp_sm2 *e, EVP_PKEY *pkey, const uint8_t *uid, size_t uidlen)
{
    e->mctx = EVP_MD_CTX_new();
    e->pctx = EVP_PKEY_CTX_new(pkey, NULL);
    if (!e->mctx || !e->pctx || EVP_PKEY_CTX_set1_id(e->pctx, uid, (int)uidlen) <= 0)
        return 0;
    EVP_MD_CTX_set_pkey_ctx(e->mctx, e->pctx);
    return 1;
}

static void evp_sm2_close(evp_sm2 *e)
{
    EVP_MD_CTX_free(e->mctx);
    EVP_PKEY_CTX_free(e->pctx);
}

static int evp_sign(evp_sm2 *e, EVP_PKEY *pkey, const uint8_t *m, size_t len, uint8_t *sig, size_t *siglen)
{
    return EVP_DigestSignInit(e->mctx, NULL, EVP_sm3(), NULL, pkey) == 1 &&
           EVP_DigestSign(e->mctx, sig, siglen, m, len) == 1;
}

static int evp_verify(evp_sm2 *e, EVP_PKEY *pkey, const uint8_t *sig, size_t siglen, const uint8_t *m, size_t len)
{
    return EVP_DigestVerifyInit(e->mctx, NULL, EVP_sm3(), NULL, pkey) == 1 &&
           EVP_DigestVerify(e->mctx, sig, siglen, m, len) == 1;
}

/* openssl_sign(data, uid, count=1) -> last signature; count > 1 is the benchmark loop. */
static PyObject *key_openssl_sign(KeyObject *k, PyObject *args)
{
    Py_buffer data, uid;
    Py_ssize_t count = 1;
    if (!PyArg_ParseTuple(args, "y*y*|n:openssl_sign", &data, &uid, &count))
        return NULL;
    PyObject *res = NULL;
    EVP_PKEY *pkey = NULL;
    evp_sm2 e = {0};
    uint8_t sig[80];
    size_t siglen = 0;
    int ok = 1;
    if (!check_uid(&uid) || !evp_arg(k, 1, &pkey))
        goto done;
    if (!evp_sm2_open(&e, pkey, uid.buf, (size_t)uid.len)) {
        rs_raise_openssl("EVP SM2 context");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; ok && i < count; i++) {
        siglen = sizeof sig;
        ok = evp_sign(&e, pkey, data.buf, (size_t)data.len, sig, &siglen);
    }
    Py_END_ALLOW_THREADS
    if (!ok)
        rs_raise_openssl("EVP SM2 sign");
    else
        res = PyBytes_FromStringAndSize((const char *)sig, (Py_ssize_t)siglen);
done:
    evp_sm2_close(&e);
    EVP_PKEY_free(pkey);
    PyBuffer_Release(&data);
    PyBuffer_Release(&uid);
    return res;
}

/* openssl_verify(sig, data, uid, count=1) -> None or InvalidSignature. */
static PyObject *key_openssl_verify(KeyObject *k, PyObject *args)
{
    Py_buffer sig, data, uid;
    Py_ssize_t count = 1;
    if (!PyArg_ParseTuple(args, "y*y*y*|n:openssl_verify", &sig, &data, &uid, &count))
        return NULL;
    PyObject *res = NULL;
    EVP_PKEY *pkey = NULL;
    evp_sm2 e = {0};
    int ok = 1;
    if (!check_uid(&uid) || !evp_arg(k, 0, &pkey))
        goto done;
    if (!evp_sm2_open(&e, pkey, uid.buf, (size_t)uid.len)) {
        rs_raise_openssl("EVP SM2 context");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; ok && i < count; i++)
        ok = evp_verify(&e, pkey, sig.buf, (size_t)sig.len, data.buf, (size_t)data.len);
    Py_END_ALLOW_THREADS
    if (!ok) {
        ERR_clear_error();
        rs_raise(RS_ERR_SIGNATURE, "OpenSSL: SM2 signature does not verify");
    } else {
        res = Py_NewRef(Py_None);
    }
done:
    evp_sm2_close(&e);
    EVP_PKEY_free(pkey);
    PyBuffer_Release(&sig);
    PyBuffer_Release(&data);
    PyBuffer_Release(&uid);
    return res;
}

/* openssl_crypt(data, decrypt) -> EVP_PKEY_encrypt / EVP_PKEY_decrypt with SM2 (interop tests). */
static PyObject *key_openssl_crypt(KeyObject *k, PyObject *args)
{
    Py_buffer data;
    int dec = 0;
    if (!PyArg_ParseTuple(args, "y*p:openssl_crypt", &data, &dec))
        return NULL;
    PyObject *res = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t *out = NULL;
    size_t outlen = 0;
    if (!evp_arg(k, dec, &pkey))
        goto done;
    ctx = EVP_PKEY_CTX_new(pkey, NULL);
    if (!ctx || (dec ? EVP_PKEY_decrypt_init(ctx) : EVP_PKEY_encrypt_init(ctx)) != 1 ||
        (dec ? EVP_PKEY_decrypt(ctx, NULL, &outlen, data.buf, (size_t)data.len)
             : EVP_PKEY_encrypt(ctx, NULL, &outlen, data.buf, (size_t)data.len)) != 1 ||
        !(out = OPENSSL_malloc(outlen ? outlen : 1)) ||
        (dec ? EVP_PKEY_decrypt(ctx, out, &outlen, data.buf, (size_t)data.len)
             : EVP_PKEY_encrypt(ctx, out, &outlen, data.buf, (size_t)data.len)) != 1) {
        if (dec) {
            ERR_clear_error();
            rs_raise(RS_ERR_DECRYPT, "OpenSSL: SM2 decryption failed");
        } else {
            rs_raise_openssl("EVP SM2 encrypt");
        }
        goto done;
    }
    res = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)outlen);
done:
    if (out)
        OPENSSL_clear_free(out, outlen);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    PyBuffer_Release(&data);
    return res;
}

static PyObject *key_get_has_private(KeyObject *k, void *closure)
{
    (void)closure;
    return PyBool_FromLong(k->d != NULL);
}

static PyObject *key_get_curve(KeyObject *k, void *closure)
{
    (void)closure;
    return Py_NewRef((PyObject *)k->curve);
}

static PyMethodDef key_methods[] = {
    {"public_bytes", (PyCFunction)key_public_bytes, METH_VARARGS, "public_bytes(compressed=False)"},
    {"private_bytes", (PyCFunction)key_private_bytes, METH_NOARGS, "The 32-byte private scalar."},
    {"z_a", (PyCFunction)key_z_a, METH_VARARGS, "z_a(uid): Z_A of GB/T 32918.2, 5.5."},
    {"sign", (PyCFunction)key_sign, METH_VARARGS, "sign(data, uid, k=None) -> DER (r, s)."},
    {"verify", (PyCFunction)key_verify, METH_VARARGS, "verify(sig, data, uid) -> None."},
    {"encrypt", (PyCFunction)key_encrypt, METH_VARARGS, "encrypt(data, k=None) -> DER C1C3C2."},
    {"decrypt", (PyCFunction)key_decrypt, METH_VARARGS, "decrypt(der) -> plaintext."},
    {"exchange", (PyCFunction)key_exchange, METH_O, "exchange(peer) -> x(d·P), 32 bytes."},
    {"kx_point", (PyCFunction)key_kx_point, METH_VARARGS, "kx_point(eph, peer, peer_eph) -> x ‖ y."},
    {"serialize", (PyCFunction)key_serialize, METH_VARARGS, "serialize(private, pem, password=None)."},
    {"openssl_sign", (PyCFunction)key_openssl_sign, METH_VARARGS, "EVP SM2 sign (reference)."},
    {"openssl_verify", (PyCFunction)key_openssl_verify, METH_VARARGS, "EVP SM2 verify (reference)."},
    {"openssl_crypt", (PyCFunction)key_openssl_crypt, METH_VARARGS, "EVP SM2 encrypt/decrypt (reference)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef key_getset[] = {
    {"has_private", (getter)key_get_has_private, NULL, "Whether the handle holds a private key.", NULL},
    {"curve", (getter)key_get_curve, NULL, "The key's curve.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject KeyType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mpc._native.SM2Key",
    .tp_basicsize = sizeof(KeyObject),
    .tp_dealloc = (destructor)key_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Opaque SM2 key handle (construct with sm2_key_*).",
    .tp_methods = key_methods,
    .tp_getset = key_getset,
};

static PyObject *py_default_curve(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return Py_NewRef((PyObject *)default_curve);
}

PyMethodDef rs_sm2_methods[] = {
    {"sm2_default_curve", py_default_curve, METH_NOARGS, "The recommended curve of GB/T 32918.5."},
    {"sm2_key_from_private", py_key_from_private, METH_VARARGS, "sm2_key_from_private(d, curve=None)"},
    {"sm2_key_generate", py_key_generate, METH_VARARGS, "sm2_key_generate(curve=None)"},
    {"sm2_key_from_public", py_key_from_public, METH_VARARGS, "sm2_key_from_public(point, curve=None)"},
    {"sm2_load", py_load, METH_VARARGS, "sm2_load(data, private, pem, password=None)"},
    {"sm2_der_is_encrypted", py_der_is_encrypted, METH_O, "Whether DER is an EncryptedPrivateKeyInfo."},
    {NULL, NULL, 0, NULL}};

int rs_sm2_init(PyObject *m)
{
    md_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
    if (!md_sm3) {
        rs_raise_openssl("loading SM3 for SM2");
        return -1;
    }
    if (PyType_Ready(&CurveType) < 0 || PyType_Ready(&KeyType) < 0)
        return -1;
    default_curve = PyObject_New(CurveObject, &CurveType);
    if (!default_curve)
        return -1;
    default_curve->n = default_curve->n_minus_1 = default_curve->n_minus_2 = default_curve->p = NULL;
    default_curve->recommended = 1;
    default_curve->group = EC_GROUP_new_by_curve_name(NID_sm2);
    BN_CTX *ctx = BN_CTX_new();
    int ok = default_curve->group && ctx && curve_finish(default_curve, ctx);
    BN_CTX_free(ctx);
    if (!ok) {
        rs_raise_openssl("loading the SM2 curve");
        return -1;
    }
    Py_INCREF(&CurveType);
    if (PyModule_AddObject(m, "SM2Curve", (PyObject *)&CurveType) < 0)
        return -1;
    Py_INCREF(&KeyType);
    if (PyModule_AddObject(m, "SM2Key", (PyObject *)&KeyType) < 0)
        return -1;
    if (PyModule_AddIntConstant(m, "SM2_SCALAR_SIZE", SM2_SCALAR_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "SM2_POINT_SIZE", SM2_POINT_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "SM2_POINT_COMPRESSED_SIZE", SM2_POINT_COMPRESSED_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "SM2_UID_MAX", SM2_UID_MAX) < 0)
        return -1;
    return 0;
}
