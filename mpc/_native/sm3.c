/* SM3 (GB/T 32905) on OpenSSL's EVP: one-shot digest, a hashlib-style object, HMAC-SM3 and the
 * SM3 key-derivation function of GB/T 32918.4, section 5.4.3. */
#include "rs.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pythread.h>

static EVP_MD *md_sm3;
static EVP_MD_CTX *oneshot_ctx; /* reused under the GIL for short inputs */

#define SM3_DIGEST_SIZE 32
#define SM3_BLOCK_SIZE 64

int rs_sm3_digest(const uint8_t *data, size_t len, uint8_t out[32])
{
    /* Safe without the GIL: allocates its own context. */
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, md_sm3, NULL) == 1 && n == SM3_DIGEST_SIZE;
}

static int sm3_short(const uint8_t *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    return EVP_DigestInit_ex(oneshot_ctx, md_sm3, NULL) == 1 &&
           EVP_DigestUpdate(oneshot_ctx, data, len) == 1 &&
           EVP_DigestFinal_ex(oneshot_ctx, out, &n) == 1;
}

static PyObject *py_sm3(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer b;
    uint8_t out[SM3_DIGEST_SIZE];
    int ok;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0)
        return NULL;
    if (b.len >= RS_GIL_THRESHOLD) {
        Py_BEGIN_ALLOW_THREADS
        ok = rs_sm3_digest(b.buf, (size_t)b.len, out);
        Py_END_ALLOW_THREADS
    } else {
        ok = sm3_short(b.buf, (size_t)b.len, out);
    }
    PyBuffer_Release(&b);
    if (!ok)
        return rs_raise_openssl("SM3 digest");
    return PyBytes_FromStringAndSize((const char *)out, SM3_DIGEST_SIZE);
}

/* ---- hashlib-style object ---------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    EVP_MD_CTX *ctx;
    PyThread_type_lock lock;
} SM3Object;

static PyTypeObject SM3Type;

static SM3Object *sm3_alloc(void)
{
    SM3Object *o = PyObject_New(SM3Object, &SM3Type);
    if (o == NULL)
        return NULL;
    o->ctx = EVP_MD_CTX_new();
    o->lock = PyThread_allocate_lock();
    if (o->ctx == NULL || o->lock == NULL) {
        Py_DECREF(o);
        return (SM3Object *)PyErr_NoMemory();
    }
    return o;
}

static void sm3_dealloc(SM3Object *o)
{
    if (o->ctx)
        EVP_MD_CTX_free(o->ctx);
    if (o->lock)
        PyThread_free_lock(o->lock);
    PyObject_Free(o);
}

static int sm3_update_buffer(SM3Object *o, PyObject *data)
{
    Py_buffer b;
    int ok;
    if (PyObject_GetBuffer(data, &b, PyBUF_SIMPLE) < 0)
        return -1;
    if (b.len >= RS_GIL_THRESHOLD) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(o->lock, 1);
        ok = EVP_DigestUpdate(o->ctx, b.buf, (size_t)b.len);
        PyThread_release_lock(o->lock);
        Py_END_ALLOW_THREADS
    } else {
        if (!PyThread_acquire_lock(o->lock, 0)) {
            Py_BEGIN_ALLOW_THREADS
            PyThread_acquire_lock(o->lock, 1);
            Py_END_ALLOW_THREADS
        }
        ok = EVP_DigestUpdate(o->ctx, b.buf, (size_t)b.len);
        PyThread_release_lock(o->lock);
    }
    PyBuffer_Release(&b);
    if (!ok) {
        rs_raise_openssl("SM3 update");
        return -1;
    }
    return 0;
}

static PyObject *sm3_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)type;
    static char *kwlist[] = {"data", NULL};
    PyObject *data = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:SM3", kwlist, &data))
        return NULL;
    SM3Object *o = sm3_alloc();
    if (o == NULL)
        return NULL;
    if (EVP_DigestInit_ex(o->ctx, md_sm3, NULL) != 1) {
        Py_DECREF(o);
        return rs_raise_openssl("SM3 init");
    }
    if (data != NULL && data != Py_None && sm3_update_buffer(o, data) < 0) {
        Py_DECREF(o);
        return NULL;
    }
    return (PyObject *)o;
}

static PyObject *sm3_update(SM3Object *o, PyObject *data)
{
    if (sm3_update_buffer(o, data) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static int sm3_copy_ctx(SM3Object *src, EVP_MD_CTX *dst)
{
    int ok;
    if (!PyThread_acquire_lock(src->lock, 0)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(src->lock, 1);
        Py_END_ALLOW_THREADS
    }
    ok = EVP_MD_CTX_copy_ex(dst, src->ctx);
    PyThread_release_lock(src->lock);
    return ok;
}

static PyObject *sm3_copy(SM3Object *o, PyObject *unused)
{
    (void)unused;
    SM3Object *c = sm3_alloc();
    if (c == NULL)
        return NULL;
    if (!sm3_copy_ctx(o, c->ctx)) {
        Py_DECREF(c);
        return rs_raise_openssl("SM3 copy");
    }
    return (PyObject *)c;
}

static PyObject *sm3_digest(SM3Object *o, PyObject *unused)
{
    (void)unused;
    uint8_t out[SM3_DIGEST_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *tmp = EVP_MD_CTX_new();
    if (tmp == NULL)
        return PyErr_NoMemory();
    int ok = sm3_copy_ctx(o, tmp) && EVP_DigestFinal_ex(tmp, out, &n) == 1;
    EVP_MD_CTX_free(tmp);
    if (!ok)
        return rs_raise_openssl("SM3 digest");
    return PyBytes_FromStringAndSize((const char *)out, SM3_DIGEST_SIZE);
}

static PyMethodDef sm3_obj_methods[] = {
    {"update", (PyCFunction)sm3_update, METH_O, "Feed bytes-like data."},
    {"copy", (PyCFunction)sm3_copy, METH_NOARGS, "An independent copy of the running hash."},
    {"digest", (PyCFunction)sm3_digest, METH_NOARGS, "The 32-byte digest of the data so far."},
    {NULL, NULL, 0, NULL}};

static PyObject *sm3_get_digest_size(PyObject *o, void *c)
{
    (void)o;
    (void)c;
    return PyLong_FromLong(SM3_DIGEST_SIZE);
}

static PyObject *sm3_get_block_size(PyObject *o, void *c)
{
    (void)o;
    (void)c;
    return PyLong_FromLong(SM3_BLOCK_SIZE);
}

static PyObject *sm3_get_name(PyObject *o, void *c)
{
    (void)o;
    (void)c;
    return PyUnicode_FromString("sm3");
}

static PyGetSetDef sm3_getset[] = {
    {"digest_size", sm3_get_digest_size, NULL, NULL, NULL},
    {"block_size", sm3_get_block_size, NULL, NULL, NULL},
    {"name", sm3_get_name, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject SM3Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mpc._native.SM3Context",
    .tp_basicsize = sizeof(SM3Object),
    .tp_dealloc = (destructor)sm3_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Running SM3 hash (wrapped by mpc.sm3.SM3).",
    .tp_methods = sm3_obj_methods,
    .tp_getset = sm3_getset,
    .tp_new = sm3_new,
};

/* ---- HMAC-SM3 and the SM3 KDF ------------------------------------------------------------ */

static PyObject *py_hmac_sm3(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer key, data;
    uint8_t out[SM3_DIGEST_SIZE];
    unsigned int n = 0;
    const uint8_t *r;
    if (!PyArg_ParseTuple(args, "y*y*:hmac_sm3", &key, &data))
        return NULL;
    if (data.len >= RS_GIL_THRESHOLD) {
        Py_BEGIN_ALLOW_THREADS
        r = HMAC(md_sm3, key.buf, (int)key.len, data.buf, (size_t)data.len, out, &n);
        Py_END_ALLOW_THREADS
    } else {
        r = HMAC(md_sm3, key.buf, (int)key.len, data.buf, (size_t)data.len, out, &n);
    }
    PyBuffer_Release(&key);
    PyBuffer_Release(&data);
    if (r == NULL || n != SM3_DIGEST_SIZE)
        return rs_raise_openssl("HMAC-SM3");
    return PyBytes_FromStringAndSize((const char *)out, SM3_DIGEST_SIZE);
}

int rs_sm3_kdf(const uint8_t *z, size_t zlen, uint8_t *out, size_t outlen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t block[SM3_DIGEST_SIZE];
    uint32_t ct = 1;
    int ok = ctx != NULL;
    while (ok && outlen > 0) {
        uint8_t ctb[4] = {(uint8_t)(ct >> 24), (uint8_t)(ct >> 16), (uint8_t)(ct >> 8), (uint8_t)ct};
        unsigned int n = 0;
        size_t take = outlen < SM3_DIGEST_SIZE ? outlen : SM3_DIGEST_SIZE;
        ok = EVP_DigestInit_ex(ctx, md_sm3, NULL) == 1 && EVP_DigestUpdate(ctx, z, zlen) == 1 &&
             EVP_DigestUpdate(ctx, ctb, 4) == 1 && EVP_DigestFinal_ex(ctx, block, &n) == 1;
        memcpy(out, block, take);
        out += take;
        outlen -= take;
        ct++;
    }
    rs_secure_zero(block, sizeof block);
    EVP_MD_CTX_free(ctx);
    return ok;
}

static PyObject *py_sm3_kdf(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer z;
    Py_ssize_t length;
    int ok;
    if (!PyArg_ParseTuple(args, "y*n:sm3_kdf", &z, &length))
        return NULL;
    /* GB/T 32918.4: klen < (2^32 - 1) * v; we cap at 2^24 bytes, far above any use here. */
    if (length < 0 || length > (1 << 24)) {
        PyBuffer_Release(&z);
        return rs_raise(RS_ERR_VALUE, "SM3 KDF length must be between 0 and 16777216 bytes");
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, length);
    if (out == NULL) {
        PyBuffer_Release(&z);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    ok = rs_sm3_kdf(z.buf, (size_t)z.len, (uint8_t *)PyBytes_AS_STRING(out), (size_t)length);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&z);
    if (!ok) {
        Py_DECREF(out);
        return rs_raise_openssl("SM3 KDF");
    }
    return out;
}

PyMethodDef rs_sm3_methods[] = {
    {"sm3", py_sm3, METH_O, "SM3 digest of a bytes-like object."},
    {"hmac_sm3", py_hmac_sm3, METH_VARARGS, "HMAC-SM3(key, data)."},
    {"sm3_kdf", py_sm3_kdf, METH_VARARGS, "SM3 KDF of GB/T 32918.4 (z, length)."},
    {NULL, NULL, 0, NULL}};

int rs_sm3_init(PyObject *m)
{
    md_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
    oneshot_ctx = EVP_MD_CTX_new();
    if (md_sm3 == NULL || oneshot_ctx == NULL) {
        rs_raise_openssl("loading SM3 from libcrypto");
        return -1;
    }
    if (PyType_Ready(&SM3Type) < 0)
        return -1;
    Py_INCREF(&SM3Type);
    if (PyModule_AddObject(m, "SM3Context", (PyObject *)&SM3Type) < 0)
        return -1;
    if (PyModule_AddIntConstant(m, "SM3_DIGEST_SIZE", SM3_DIGEST_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "SM3_BLOCK_SIZE", SM3_BLOCK_SIZE) < 0)
        return -1;
    return 0;
}
