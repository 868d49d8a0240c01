/* Area 'sm2core': Python binding of the constant-time SM2 core (sm2core_arith.c, API in
 * sm2core.h). Every function validates lengths, releases the GIL around the arithmetic and maps
 * the core's status codes to the typed exceptions of mpc/exceptions.py. */
#include "rs.h"
#include "sm2core.h"

#include <string.h>

/* OpenSSL reference loops for the benchmark (sm2core_ref.c). */
PyObject *rs_sm2c_py_openssl_ref(PyObject *self, PyObject *args);
PyObject *rs_sm2c_py_openssl_sign(PyObject *self, PyObject *args);
PyObject *rs_sm2c_py_openssl_verify(PyObject *self, PyObject *args);

static PyObject *raise_status(int st, const char *scalar_msg)
{
    switch (st) {
    case RS_SM2C_ERR_SCALAR:
        return rs_raise(RS_ERR_VALUE, scalar_msg);
    case RS_SM2C_ERR_POINT:
        return rs_raise(RS_ERR_POINT, "point is not on the SM2 curve or badly encoded");
    case RS_SM2C_ERR_INFINITY:
        return rs_raise(RS_ERR_POINT, "point at infinity");
    case RS_SM2C_ERR_SIGNATURE:
        return rs_raise(RS_ERR_SIGNATURE, "SM2 signature does not verify");
    case RS_SM2C_ERR_RANDOM:
        return rs_raise_openssl("RAND_priv_bytes");
    case RS_SM2C_ERR_NOMEM:
        return PyErr_NoMemory();
    case RS_SM2C_ERR_LENGTH:
        return rs_raise(RS_ERR_VALUE, "SM2 user id must be at most 8191 bytes");
    case RS_SM2C_ERR_HASH:
        return rs_raise_openssl("SM3");
    case RS_SM2C_ERR_NONCE:
        return rs_raise(RS_ERR_VALUE, "nonce k gives r = 0, r + k = n or s = 0; choose another");
    default:
        return rs_raise(RS_ERR_INTERNAL, "SM2 core: unexpected status");
    }
}

#define SCALAR_MSG "scalar must be in [1, n-1]"
#define KEY_MSG "SM2 private key must be in [1, n-2]"
#define PUBLIC_SCALAR_MSG "scalar must be below n"

static int check_len(const Py_buffer *b, Py_ssize_t n, const char *msg)
{
    if (b->len != n) {
        rs_raise(RS_ERR_VALUE, msg);
        return 0;
    }
    return 1;
}

#define SCALAR_LEN_MSG "scalar must be 32 bytes"
#define POINT_LEN_MSG "point must be 65 bytes (04 || x || y)"

static PyObject *py_scalar_mult(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer k, p;
    uint8_t out[65];
    int st;
    if (!PyArg_ParseTuple(args, "y*y*", &k, &p))
        return NULL;
    if (!check_len(&k, 32, SCALAR_LEN_MSG) || !check_len(&p, 65, POINT_LEN_MSG)) {
        PyBuffer_Release(&k);
        PyBuffer_Release(&p);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    st = rs_sm2c_scalar_mult(out, k.buf, p.buf);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&k);
    PyBuffer_Release(&p);
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 65);
}

static PyObject *py_scalar_base_mult(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer k;
    uint8_t out[65];
    int st;
    if (PyObject_GetBuffer(arg, &k, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!check_len(&k, 32, SCALAR_LEN_MSG)) {
        PyBuffer_Release(&k);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    st = rs_sm2c_scalar_base_mult(out, k.buf);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&k);
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 65);
}

static PyObject *py_public_key(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer k;
    uint8_t out[65];
    int st;
    if (PyObject_GetBuffer(arg, &k, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!check_len(&k, 32, "SM2 private key must be 32 bytes")) {
        PyBuffer_Release(&k);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    st = rs_sm2c_public_key(out, k.buf);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&k);
    if (st != RS_SM2C_OK)
        return raise_status(st, KEY_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 65);
}

static PyObject *py_scalar_mult_batch(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer k, p;
    int st;
    size_t bad = 0;
    if (!PyArg_ParseTuple(args, "y*y*", &k, &p))
        return NULL;
    if (!check_len(&k, 32, SCALAR_LEN_MSG)) {
        PyBuffer_Release(&k);
        PyBuffer_Release(&p);
        return NULL;
    }
    if (p.len % 65 != 0) {
        PyBuffer_Release(&k);
        PyBuffer_Release(&p);
        return rs_raise(RS_ERR_VALUE, "points must be a concatenation of 65-byte encodings");
    }
    size_t count = (size_t)p.len / 65;
    PyObject *res = PyBytes_FromStringAndSize(NULL, p.len);
    if (res == NULL) {
        PyBuffer_Release(&k);
        PyBuffer_Release(&p);
        return NULL;
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(res);
    Py_BEGIN_ALLOW_THREADS
    st = rs_sm2c_scalar_mult_batch(out, k.buf, p.buf, count, &bad);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&k);
    PyBuffer_Release(&p);
    if (st != RS_SM2C_OK) {
        Py_DECREF(res);
        if (st == RS_SM2C_ERR_POINT || st == RS_SM2C_ERR_INFINITY) {
            char msg[96];
            snprintf(msg, sizeof msg, "point %zu is not on the SM2 curve or badly encoded", bad);
            return rs_raise(RS_ERR_POINT, msg);
        }
        return raise_status(st, SCALAR_MSG);
    }
    return res;
}

static PyObject *py_point_decode(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer b;
    uint8_t out[65];
    int st;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0)
        return NULL;
    if (b.len == 1 && ((const uint8_t *)b.buf)[0] == 0) {
        PyBuffer_Release(&b);
        return rs_raise(RS_ERR_POINT, "point at infinity");
    }
    if (b.len != 65 && b.len != 33) {
        PyBuffer_Release(&b);
        return rs_raise(RS_ERR_POINT, "point must be 65 bytes (04 || x || y) or 33 bytes (02/03 || x)");
    }
    uint8_t pre = ((const uint8_t *)b.buf)[0];
    if ((b.len == 65 && pre != 4) || (b.len == 33 && pre != 2 && pre != 3)) {
        PyBuffer_Release(&b);
        return rs_raise(RS_ERR_POINT, "point encoding has a bad prefix byte");
    }
    Py_BEGIN_ALLOW_THREADS
    st = rs_sm2c_point_decode(out, b.buf, (size_t)b.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&b);
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 65);
}

static PyObject *py_point_compress(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer b;
    uint8_t out[33];
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!check_len(&b, 65, POINT_LEN_MSG)) {
        PyBuffer_Release(&b);
        return NULL;
    }
    int st = rs_sm2c_point_compress(out, b.buf);
    PyBuffer_Release(&b);
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 33);
}

static PyObject *py_point_add(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer a, b;
    uint8_t out[65];
    if (!PyArg_ParseTuple(args, "y*y*", &a, &b))
        return NULL;
    int st = RS_SM2C_ERR_LENGTH;
    if (check_len(&a, 65, POINT_LEN_MSG) && check_len(&b, 65, POINT_LEN_MSG))
        st = rs_sm2c_point_add(out, a.buf, b.buf);
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    if (st == RS_SM2C_ERR_LENGTH)
        return NULL;
    if (st == RS_SM2C_ERR_INFINITY)
        return rs_raise(RS_ERR_POINT, "sum is the point at infinity");
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 65);
}

static PyObject *py_point_negate(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer a;
    uint8_t out[65];
    if (PyObject_GetBuffer(arg, &a, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!check_len(&a, 65, POINT_LEN_MSG)) {
        PyBuffer_Release(&a);
        return NULL;
    }
    int st = rs_sm2c_point_negate(out, a.buf);
    PyBuffer_Release(&a);
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 65);
}

static PyObject *py_multi_mult(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer s, p;
    uint8_t out[65];
    int st;
    if (!PyArg_ParseTuple(args, "y*y*", &s, &p))
        return NULL;
    if (s.len % 32 != 0 || p.len % 65 != 0 || s.len / 32 != p.len / 65 || s.len == 0) {
        PyBuffer_Release(&s);
        PyBuffer_Release(&p);
        return rs_raise(RS_ERR_VALUE,
                        "multi_mult needs as many 32-byte scalars as 65-byte points (at least one)");
    }
    Py_BEGIN_ALLOW_THREADS
    st = rs_sm2c_multi_mult_vartime(out, s.buf, p.buf, (size_t)s.len / 32);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&s);
    PyBuffer_Release(&p);
    if (st == RS_SM2C_ERR_INFINITY)
        return rs_raise(RS_ERR_POINT, "sum is the point at infinity");
    if (st != RS_SM2C_OK)
        return raise_status(st, PUBLIC_SCALAR_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 65);
}

static PyObject *py_double_mult(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer a, b, p;
    uint8_t out[65];
    int st = RS_SM2C_ERR_LENGTH;
    if (!PyArg_ParseTuple(args, "y*y*y*", &a, &b, &p))
        return NULL;
    if (check_len(&a, 32, SCALAR_LEN_MSG) && check_len(&b, 32, SCALAR_LEN_MSG) &&
        check_len(&p, 65, POINT_LEN_MSG)) {
        Py_BEGIN_ALLOW_THREADS
        st = rs_sm2c_double_mult_vartime(out, a.buf, b.buf, p.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&p);
    if (st == RS_SM2C_ERR_LENGTH)
        return NULL;
    if (st == RS_SM2C_ERR_INFINITY)
        return rs_raise(RS_ERR_POINT, "sum is the point at infinity");
    if (st != RS_SM2C_OK)
        return raise_status(st, PUBLIC_SCALAR_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 65);
}

static PyObject *py_za(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer p, uid;
    uint8_t out[32];
    int st = RS_SM2C_ERR_LENGTH;
    if (!PyArg_ParseTuple(args, "y*y*", &p, &uid))
        return NULL;
    if (check_len(&p, 65, POINT_LEN_MSG))
        st = rs_sm2c_za(out, p.buf, uid.buf, (size_t)uid.len);
    else
        st = 1;
    PyBuffer_Release(&p);
    PyBuffer_Release(&uid);
    if (st == 1)
        return NULL;
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    return PyBytes_FromStringAndSize((const char *)out, 32);
}

static PyObject *py_sign_digest(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer d, e, k = {0};
    uint8_t sig[64];
    int st = 1;
    if (!PyArg_ParseTuple(args, "y*y*|y*", &d, &e, &k))
        return NULL;
    if (check_len(&d, 32, "SM2 private key must be 32 bytes") &&
        check_len(&e, 32, "SM2 digest must be 32 bytes") &&
        (k.buf == NULL || check_len(&k, 32, "nonce k must be 32 bytes"))) {
        Py_BEGIN_ALLOW_THREADS
        if (k.buf == NULL)
            st = rs_sm2c_sign_digest(sig, d.buf, e.buf);
        else
            st = rs_sm2c_sign_digest_with_k(sig, d.buf, e.buf, k.buf);
        Py_END_ALLOW_THREADS
    }
    int has_k = k.buf != NULL;
    PyBuffer_Release(&d);
    PyBuffer_Release(&e);
    if (has_k)
        PyBuffer_Release(&k);
    if (st == 1)
        return NULL;
    if (st == RS_SM2C_ERR_SCALAR)
        return rs_raise(RS_ERR_VALUE, has_k ? "SM2 private key must be in [1, n-2] and k in [1, n-1]"
                                            : KEY_MSG);
    if (st != RS_SM2C_OK)
        return raise_status(st, KEY_MSG);
    return PyBytes_FromStringAndSize((const char *)sig, 64);
}

static PyObject *py_sign(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer d, msg, uid;
    PyObject *pubobj;
    Py_buffer pub = {0};
    uint8_t sig[64];
    int st = 1;
    if (!PyArg_ParseTuple(args, "y*Oy*y*", &d, &pubobj, &msg, &uid))
        return NULL;
    if (pubobj != Py_None && PyObject_GetBuffer(pubobj, &pub, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&d);
        PyBuffer_Release(&msg);
        PyBuffer_Release(&uid);
        return NULL;
    }
    int has_pub = pub.buf != NULL;
    if (check_len(&d, 32, "SM2 private key must be 32 bytes") &&
        (!has_pub || check_len(&pub, 65, "SM2 public key must be 65 bytes (04 || x || y)"))) {
        Py_BEGIN_ALLOW_THREADS
        st = rs_sm2c_sign(sig, d.buf, has_pub ? pub.buf : NULL, msg.buf, (size_t)msg.len, uid.buf,
                          (size_t)uid.len);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&d);
    PyBuffer_Release(&msg);
    PyBuffer_Release(&uid);
    if (has_pub)
        PyBuffer_Release(&pub);
    if (st == 1)
        return NULL;
    if (st != RS_SM2C_OK)
        return raise_status(st, KEY_MSG);
    return PyBytes_FromStringAndSize((const char *)sig, 64);
}

static PyObject *py_verify_digest(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer pub, e, sig;
    int cache = 1, st = 1;
    if (!PyArg_ParseTuple(args, "y*y*y*|p", &pub, &e, &sig, &cache))
        return NULL;
    if (check_len(&pub, 65, "SM2 public key must be 65 bytes (04 || x || y)") &&
        check_len(&e, 32, "SM2 digest must be 32 bytes") &&
        check_len(&sig, 64, "SM2 signature must be 64 bytes (r || s)")) {
        Py_BEGIN_ALLOW_THREADS
        st = rs_sm2c_verify_digest(pub.buf, e.buf, sig.buf, cache);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&pub);
    PyBuffer_Release(&e);
    PyBuffer_Release(&sig);
    if (st == 1)
        return NULL;
    if (st != RS_SM2C_OK)
        return raise_status(st, KEY_MSG);
    Py_RETURN_NONE;
}

static PyObject *py_verify(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer pub, msg, uid, sig;
    int cache = 1, st = 1;
    if (!PyArg_ParseTuple(args, "y*y*y*y*|p", &pub, &msg, &uid, &sig, &cache))
        return NULL;
    if (check_len(&pub, 65, "SM2 public key must be 65 bytes (04 || x || y)") &&
        check_len(&sig, 64, "SM2 signature must be 64 bytes (r || s)")) {
        Py_BEGIN_ALLOW_THREADS
        st = rs_sm2c_verify(pub.buf, msg.buf, (size_t)msg.len, uid.buf, (size_t)uid.len, sig.buf,
                            cache);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&pub);
    PyBuffer_Release(&msg);
    PyBuffer_Release(&uid);
    PyBuffer_Release(&sig);
    if (st == 1)
        return NULL;
    if (st != RS_SM2C_OK)
        return raise_status(st, KEY_MSG);
    Py_RETURN_NONE;
}

/* verify_batch(pubs, digests, sigs, cache) -> list[bool] over concatenated 65/32/64-byte items. */
static PyObject *py_verify_digest_batch(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer pubs, es, sigs;
    int cache = 1, st = RS_SM2C_OK;
    if (!PyArg_ParseTuple(args, "y*y*y*|p", &pubs, &es, &sigs, &cache))
        return NULL;
    PyObject *res = NULL;
    uint8_t *ok = NULL;
    size_t count = (size_t)pubs.len / 65;
    if (pubs.len % 65 != 0 || es.len % 32 != 0 || sigs.len % 64 != 0 ||
        (size_t)es.len / 32 != count || (size_t)sigs.len / 64 != count) {
        rs_raise(RS_ERR_VALUE, "verify_batch needs as many 65-byte keys, 32-byte digests and "
                               "64-byte signatures");
        goto done;
    }
    ok = PyMem_Malloc(count ? count : 1);
    if (ok == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    st = rs_sm2c_verify_digest_batch(ok, pubs.buf, es.buf, sigs.buf, count, cache);
    Py_END_ALLOW_THREADS
    if (st != RS_SM2C_OK) {
        raise_status(st, KEY_MSG);
        goto done;
    }
    res = PyList_New((Py_ssize_t)count);
    if (res == NULL)
        goto done;
    for (size_t i = 0; i < count; i++) {
        PyObject *b = ok[i] ? Py_True : Py_False;
        Py_INCREF(b);
        PyList_SET_ITEM(res, (Py_ssize_t)i, b);
    }
done:
    PyMem_Free(ok);
    PyBuffer_Release(&pubs);
    PyBuffer_Release(&es);
    PyBuffer_Release(&sigs);
    return res;
}

static PyObject *py_static_agree(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer d, p;
    uint8_t out[32];
    int st = 1;
    if (!PyArg_ParseTuple(args, "y*y*", &d, &p))
        return NULL;
    if (check_len(&d, 32, "SM2 private key must be 32 bytes") && check_len(&p, 65, POINT_LEN_MSG)) {
        Py_BEGIN_ALLOW_THREADS
        st = rs_sm2c_static_agree(out, d.buf, p.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&d);
    PyBuffer_Release(&p);
    if (st == 1)
        return NULL;
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    PyObject *r = PyBytes_FromStringAndSize((const char *)out, 32);
    rs_secure_zero(out, sizeof out);
    return r;
}

typedef int (*scalar2_fn)(uint8_t *, const uint8_t *, const uint8_t *);

static PyObject *scalar2(PyObject *args, scalar2_fn fn)
{
    Py_buffer a, b;
    uint8_t out[32];
    int st = 1;
    if (!PyArg_ParseTuple(args, "y*y*", &a, &b))
        return NULL;
    if (check_len(&a, 32, SCALAR_LEN_MSG) && check_len(&b, 32, SCALAR_LEN_MSG))
        st = fn(out, a.buf, b.buf);
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    if (st == 1)
        return NULL;
    if (st != RS_SM2C_OK)
        return raise_status(st, PUBLIC_SCALAR_MSG);
    PyObject *r = PyBytes_FromStringAndSize((const char *)out, 32);
    rs_secure_zero(out, sizeof out);
    return r;
}

static PyObject *py_scalar_add(PyObject *self, PyObject *args)
{
    (void)self;
    return scalar2(args, rs_sm2c_scalar_add);
}

static PyObject *py_scalar_sub(PyObject *self, PyObject *args)
{
    (void)self;
    return scalar2(args, rs_sm2c_scalar_sub);
}

static PyObject *py_scalar_mul(PyObject *self, PyObject *args)
{
    (void)self;
    return scalar2(args, rs_sm2c_scalar_mul);
}

static PyObject *py_scalar_inv(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer a;
    uint8_t out[32];
    if (PyObject_GetBuffer(arg, &a, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!check_len(&a, 32, SCALAR_LEN_MSG)) {
        PyBuffer_Release(&a);
        return NULL;
    }
    int st = rs_sm2c_scalar_inv(out, a.buf);
    PyBuffer_Release(&a);
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    PyObject *r = PyBytes_FromStringAndSize((const char *)out, 32);
    rs_secure_zero(out, sizeof out);
    return r;
}

static PyObject *py_scalar_reduce(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer a;
    uint8_t out[32];
    if (PyObject_GetBuffer(arg, &a, PyBUF_SIMPLE) < 0)
        return NULL;
    if (a.len > 64) {
        PyBuffer_Release(&a);
        return rs_raise(RS_ERR_VALUE, "scalar_reduce takes at most 64 bytes");
    }
    int st = rs_sm2c_scalar_reduce(out, a.buf, (size_t)a.len);
    PyBuffer_Release(&a);
    if (st != RS_SM2C_OK)
        return raise_status(st, SCALAR_MSG);
    PyObject *r = PyBytes_FromStringAndSize((const char *)out, 32);
    rs_secure_zero(out, sizeof out);
    return r;
}

static PyObject *py_cache_clear(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    rs_sm2c_cache_clear();
    Py_RETURN_NONE;
}

static PyObject *py_have_adx(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(rs_sm2c_have_adx());
}

PyMethodDef rs_sm2core_methods[] = {
    {"sm2c_scalar_mult", py_scalar_mult, METH_VARARGS, "k * P (constant time in k)."},
    {"sm2c_scalar_base_mult", py_scalar_base_mult, METH_O, "k * G (constant time in k)."},
    {"sm2c_scalar_mult_batch", py_scalar_mult_batch, METH_VARARGS, "k * P_i for concatenated points."},
    {"sm2c_public_key", py_public_key, METH_O, "d * G for an SM2 private key d."},
    {"sm2c_point_decode", py_point_decode, METH_O, "Check and normalise a point encoding."},
    {"sm2c_point_compress", py_point_compress, METH_O, "33-byte compressed encoding."},
    {"sm2c_point_add", py_point_add, METH_VARARGS, "A + B (public points)."},
    {"sm2c_point_negate", py_point_negate, METH_O, "-A."},
    {"sm2c_multi_mult", py_multi_mult, METH_VARARGS, "sum s_i P_i (public, variable time)."},
    {"sm2c_double_mult", py_double_mult, METH_VARARGS, "u1 G + u2 P (public, variable time)."},
    {"sm2c_scalar_add", py_scalar_add, METH_VARARGS, "a + b mod n (constant time)."},
    {"sm2c_scalar_sub", py_scalar_sub, METH_VARARGS, "a - b mod n (constant time)."},
    {"sm2c_scalar_mul", py_scalar_mul, METH_VARARGS, "a * b mod n (constant time)."},
    {"sm2c_scalar_inv", py_scalar_inv, METH_O, "a^-1 mod n (constant time)."},
    {"sm2c_scalar_reduce", py_scalar_reduce, METH_O, "Big-endian bytes (<= 64) mod n."},
    {"sm2c_za", py_za, METH_VARARGS, "SM2 Z_A of a public key and user id."},
    {"sm2c_sign_digest", py_sign_digest, METH_VARARGS, "SM2 sign digest e (optional nonce k)."},
    {"sm2c_sign", py_sign, METH_VARARGS, "SM2 one-shot sign (Z_A + SM3 + sign)."},
    {"sm2c_verify_digest", py_verify_digest, METH_VARARGS, "SM2 verify over digest e."},
    {"sm2c_verify", py_verify, METH_VARARGS, "SM2 one-shot verify."},
    {"sm2c_verify_digest_batch", py_verify_digest_batch, METH_VARARGS, "SM2 verify many digests."},
    {"sm2c_static_agree", py_static_agree, METH_VARARGS, "x(d * P)."},
    {"sm2c_cache_clear", py_cache_clear, METH_NOARGS, "Drop the per-key verification tables."},
    {"sm2c_have_adx", py_have_adx, METH_NOARGS, "True when the BMI2/ADX field path is in use."},
    {"sm2c_openssl_ref", rs_sm2c_py_openssl_ref, METH_VARARGS,
     "Benchmark reference: seconds for `iterations` OpenSSL operations in a C loop."},
    {"sm2c_openssl_sign", rs_sm2c_py_openssl_sign, METH_VARARGS,
     "Cross-check for tests: OpenSSL's SM2 signature (DER) over msg."},
    {"sm2c_openssl_verify", rs_sm2c_py_openssl_verify, METH_VARARGS,
     "Cross-check for tests: OpenSSL's verdict on a DER SM2 signature."},
    {NULL, NULL, 0, NULL}};

int rs_sm2core_init(PyObject *m)
{
    if (rs_sm2c_init() != RS_SM2C_OK) {
        PyErr_NoMemory();
        return -1;
    }
    static const struct {
        const char *name;
        int value;
    } c[] = {{"SM2C_SCALAR_SIZE", RS_SM2C_SCALAR_SIZE},
             {"SM2C_POINT_SIZE", RS_SM2C_POINT_SIZE},
             {"SM2C_COMPRESSED_SIZE", RS_SM2C_COMPRESSED_SIZE},
             {"SM2C_SIG_SIZE", RS_SM2C_SIG_SIZE},
             {"SM2C_DIGEST_SIZE", RS_SM2C_DIGEST_SIZE},
             {"SM2C_MAX_UID_SIZE", RS_SM2C_MAX_UID_SIZE}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (PyModule_AddIntConstant(m, c[i].name, c[i].value) < 0)
            return -1;
    return 0;
}
