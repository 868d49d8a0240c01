/* Module definition: gathers every area's method table and initialiser. */
#include "rs.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <string.h>

#ifndef RS_NATIVE_VERSION
#error "RS_NATIVE_VERSION must be defined by setup.py"
#endif

rs_cpu_t rs_cpu;
static rs_cpu_t rs_cpu_detected;
static PyObject *rs_error_map[RS_STATUS_COUNT];

PyObject *rs_raise(int status, const char *msg)
{
    PyObject *cls = NULL;
    if (status > 0 && status < RS_STATUS_COUNT)
        cls = rs_error_map[status];
    if (status == RS_ERR_NOMEM)
        return PyErr_NoMemory();
    if (cls == NULL)
        cls = (status == RS_ERR_TYPE) ? PyExc_TypeError : PyExc_ValueError;
    PyErr_SetString(cls, msg);
    return NULL;
}

PyObject *rs_raise_openssl(const char *what)
{
    char buf[512];
    unsigned long e = ERR_get_error();
    if (e == 0) {
        snprintf(buf, sizeof buf, "%s failed", what);
    } else {
        char lib[256];
        ERR_error_string_n(e, lib, sizeof lib);
        snprintf(buf, sizeof buf, "%s failed: %s", what, lib);
    }
    ERR_clear_error();
    return rs_raise(RS_ERR_INTERNAL, buf);
}

int rs_ct_memeq(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void rs_secure_zero(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

static void detect_cpu(void)
{
    __builtin_cpu_init();
    rs_cpu_detected.pclmul = __builtin_cpu_supports("pclmul");
    rs_cpu_detected.aesni = __builtin_cpu_supports("aes");
    rs_cpu_detected.sse41 = __builtin_cpu_supports("sse4.1");
    rs_cpu_detected.avx2 = __builtin_cpu_supports("avx2");
    rs_cpu_detected.bmi2 = __builtin_cpu_supports("bmi2");
    rs_cpu_detected.avx512f = __builtin_cpu_supports("avx512f");
    rs_cpu_detected.avx512ifma = __builtin_cpu_supports("avx512ifma");
    rs_cpu_detected.vaes = __builtin_cpu_supports("vaes");
    rs_cpu_detected.vpclmul = __builtin_cpu_supports("vpclmulqdq");
    /* gcc 12 has no "adx" name for __builtin_cpu_supports: read CPUID leaf 7, EBX bit 19. */
    {
        unsigned int a = 7, b = 0, c = 0, d = 0;
        __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
        rs_cpu_detected.adx = (b >> 19) & 1;
    }
    rs_cpu = rs_cpu_detected;
}

static PyObject *py_set_error_map(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!PyDict_Check(arg))
        return rs_raise(RS_ERR_TYPE, "error map must be a dict {status: exception class}");
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(arg, &pos, &key, &value)) {
        long st = PyLong_AsLong(key);
        if (st <= 0 || st >= RS_STATUS_COUNT || !PyExceptionClass_Check(value))
            return rs_raise(RS_ERR_VALUE, "error map entry out of range or not an exception class");
        Py_INCREF(value);
        Py_XSETREF(rs_error_map[st], value);
    }
    Py_RETURN_NONE;
}

static PyObject *cpu_dict(const rs_cpu_t *c)
{
    return Py_BuildValue("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}",
                         "pclmul", c->pclmul ? Py_True : Py_False,
                         "aesni", c->aesni ? Py_True : Py_False,
                         "sse41", c->sse41 ? Py_True : Py_False,
                         "avx2", c->avx2 ? Py_True : Py_False,
                         "bmi2", c->bmi2 ? Py_True : Py_False,
                         "adx", c->adx ? Py_True : Py_False,
                         "avx512f", c->avx512f ? Py_True : Py_False,
                         "avx512ifma", c->avx512ifma ? Py_True : Py_False,
                         "vaes", c->vaes ? Py_True : Py_False,
                         "vpclmul", c->vpclmul ? Py_True : Py_False);
}

static PyObject *py_cpu_features(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return cpu_dict(&rs_cpu);
}

static PyObject *py_set_portable(PyObject *self, PyObject *arg)
{
    (void)self;
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    if (on)
        memset(&rs_cpu, 0, sizeof rs_cpu);
    else
        rs_cpu = rs_cpu_detected;
    Py_RETURN_NONE;
}

static PyObject *py_ct_equal(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer a, b;
    if (!PyArg_ParseTuple(args, "y*y*", &a, &b))
        return NULL;
    int eq = a.len == b.len && rs_ct_memeq(a.buf, b.buf, (size_t)a.len);
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    return PyBool_FromLong(eq);
}

PyMethodDef rs_core_methods[] = {
    {"set_error_map", py_set_error_map, METH_O, "Install the {status: exception} map."},
    {"cpu_features", py_cpu_features, METH_NOARGS, "Effective CPU features used for dispatch."},
    {"set_portable", py_set_portable, METH_O, "Force (True) or lift (False) the portable C paths."},
    {"ct_equal", py_ct_equal, METH_VARARGS, "Constant-time equality of two byte strings."},
    {NULL, NULL, 0, NULL}};

int rs_core_init(PyObject *m)
{
    detect_cpu();
    if (PyModule_AddStringConstant(m, "__version__", RS_NATIVE_VERSION) < 0)
        return -1;
    if (PyModule_AddStringConstant(m, "OPENSSL_VERSION", OpenSSL_version(OPENSSL_VERSION)) < 0)
        return -1;
    static const struct { const char *name; int value; } codes[] = {
        {"STATUS_VALUE", RS_ERR_VALUE}, {"STATUS_TYPE", RS_ERR_TYPE},
        {"STATUS_SIGNATURE", RS_ERR_SIGNATURE}, {"STATUS_TAG", RS_ERR_TAG},
        {"STATUS_PROOF", RS_ERR_PROOF}, {"STATUS_POINT", RS_ERR_POINT},
        {"STATUS_DECRYPT", RS_ERR_DECRYPT}, {"STATUS_OVERFLOW", RS_ERR_OVERFLOW},
        {"STATUS_PROTOCOL", RS_ERR_PROTOCOL}, {"STATUS_INTERNAL", RS_ERR_INTERNAL},
        {"STATUS_NOMEM", RS_ERR_NOMEM}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (PyModule_AddIntConstant(m, codes[i].name, codes[i].value) < 0)
            return -1;
    return 0;
}

static int rs_exec(PyObject *m)
{
    PyMethodDef *tables[] = {rs_core_methods, rs_sm3_methods, rs_sm4_methods, rs_sm2_methods,
                             rs_ec_methods, rs_paillier_methods, rs_ot_methods,
                             rs_sm2core_methods, rs_merkle_methods};
    int (*inits[])(PyObject *) = {rs_core_init, rs_sm3_init, rs_sm4_init, rs_sm2_init,
                                  rs_ec_init, rs_paillier_init, rs_ot_init,
                                  rs_sm2core_init, rs_merkle_init};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (PyModule_AddFunctions(m, tables[i]) < 0)
            return -1;
    for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++)
        if (inits[i](m) < 0)
            return -1;
    return 0;
}

static PyModuleDef_Slot rs_slots[] = {{Py_mod_exec, (void *)rs_exec}, {0, NULL}};

static struct PyModuleDef rs_module = {
    PyModuleDef_HEAD_INIT, "_native", "riskshare native crypto core (use mpc._binding).", 0,
    NULL, rs_slots, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__native(void)
{
    return PyModuleDef_Init(&rs_module);
}
