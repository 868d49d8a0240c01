/* Area 'sm2core', benchmark reference: OpenSSL's own SM2 (EC_POINT_mul on the SM2 group, EVP
 * SM2 sign / verify with Z_A and SM3) timed in a C loop, so the reference carries no Python
 * call overhead. Used by benchmarks/ec.py only. */
#include "rs.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int ec_loop(int base, long iterations, double *secs)
{
    int ok = 0;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *k = BN_new(), *k0 = BN_new();
    EC_POINT *p = NULL, *r = NULL;
    if (g == NULL || ctx == NULL || k == NULL || k0 == NULL)
        goto done;
    p = EC_POINT_new(g);
    r = EC_POINT_new(g);
    if (p == NULL || r == NULL || !BN_rand_range(k, EC_GROUP_get0_order(g)) ||
        !BN_rand_range(k0, EC_GROUP_get0_order(g)) || !EC_POINT_mul(g, p, k0, NULL, NULL, ctx))
        goto done;
    double t0 = now();
    for (long i = 0; i < iterations; i++) {
        if (base ? !EC_POINT_mul(g, r, k, NULL, NULL, ctx) : !EC_POINT_mul(g, r, NULL, p, k, ctx))
            goto done;
    }
    *secs = now() - t0;
    ok = 1;
done:
    EC_POINT_free(p);
    EC_POINT_free(r);
    BN_free(k);
    BN_free(k0);
    BN_CTX_free(ctx);
    EC_GROUP_free(g);
    return ok;
}

/* EVP_DigestSignInit + the SM2 distinguishing id (Z_A is computed from it at the first update). */
static int sign_init(EVP_MD_CTX *md, EVP_PKEY *pkey, const char *id, int verify)
{
    int ok = verify ? EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pkey)
                    : EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, pkey);
    return ok > 0 && EVP_PKEY_CTX_set1_id(EVP_MD_CTX_get_pkey_ctx(md), id, 16) > 0;
}

static int sig_loop(int verify, long iterations, double *secs)
{
    static const char id[] = "1234567812345678";
    static const unsigned char msg[] = "riskshare benchmark request: 64 bytes of canonical entry..";
    unsigned char sig[128];
    size_t siglen = sizeof sig;
    int ok = 0;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    if (md == NULL || kctx == NULL || EVP_PKEY_keygen_init(kctx) <= 0 ||
        EVP_PKEY_generate(kctx, &pkey) <= 0)
        goto done;
    if (!sign_init(md, pkey, id, 0) || EVP_DigestSign(md, sig, &siglen, msg, sizeof msg - 1) <= 0)
        goto done;
    double t0 = now();
    for (long i = 0; i < iterations; i++) {
        if (verify) {
            if (!sign_init(md, pkey, id, 1) ||
                EVP_DigestVerify(md, sig, siglen, msg, sizeof msg - 1) != 1)
                goto done;
        } else {
            size_t l = sizeof sig;
            if (!sign_init(md, pkey, id, 0) ||
                EVP_DigestSign(md, sig, &l, msg, sizeof msg - 1) <= 0)
                goto done;
        }
    }
    *secs = now() - t0;
    ok = 1;
done:
    EVP_PKEY_CTX_free(kctx);
    EVP_PKEY_free(pkey);
    EVP_MD_CTX_free(md);
    return ok;
}

/* sm2c_openssl_ref(op, iterations) -> seconds; op is "kP", "kG", "sign" or "verify". */
PyObject *rs_sm2c_py_openssl_ref(PyObject *self, PyObject *args);
PyObject *rs_sm2c_py_openssl_ref(PyObject *self, PyObject *args)
{
    (void)self;
    const char *op;
    long iterations;
    double secs = 0;
    int ok;
    if (!PyArg_ParseTuple(args, "sl", &op, &iterations))
        return NULL;
    if (iterations <= 0)
        return rs_raise(RS_ERR_VALUE, "iterations must be positive");
    int which = strcmp(op, "kP") == 0 ? 0 : strcmp(op, "kG") == 0 ? 1 : strcmp(op, "sign") == 0 ? 2
                : strcmp(op, "verify") == 0 ? 3 : -1;
    if (which < 0)
        return rs_raise(RS_ERR_VALUE, "op must be kP, kG, sign or verify");
    Py_BEGIN_ALLOW_THREADS
    ok = which < 2 ? ec_loop(which == 1, iterations, &secs) : sig_loop(which == 3, iterations, &secs);
    Py_END_ALLOW_THREADS
    if (!ok)
        return rs_raise_openssl("OpenSSL SM2 reference loop");
    return PyFloat_FromDouble(secs);
}

/* ---- OpenSSL SM2 sign / verify for the cross-check tests ---------------------------------- */
#include <openssl/param_build.h>

static EVP_PKEY *sm2_pkey(const uint8_t *d, const uint8_t pub[65])
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = NULL;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    if (bld == NULL || ctx == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65))
        goto done;
    if (d != NULL && ((bn = BN_bin2bn(d, 32, NULL)) == NULL ||
                      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn)))
        goto done;
    if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params) <= 0)
        pkey = NULL;
done:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(bn);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* sm2c_openssl_sign(d, pub, msg, uid) -> DER signature made by OpenSSL (tests only). */
PyObject *rs_sm2c_py_openssl_sign(PyObject *self, PyObject *args);
PyObject *rs_sm2c_py_openssl_sign(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer d, pub, msg, uid;
    unsigned char sig[128];
    size_t siglen = sizeof sig;
    PyObject *res = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &d, &pub, &msg, &uid))
        return NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY *pkey = NULL;
    if (d.len != 32 || pub.len != 65) {
        rs_raise(RS_ERR_VALUE, "need a 32-byte private key and a 65-byte public key");
        goto done;
    }
    pkey = sm2_pkey(d.buf, pub.buf);
    if (md == NULL || pkey == NULL || EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, pkey) <= 0 ||
        EVP_PKEY_CTX_set1_id(EVP_MD_CTX_get_pkey_ctx(md), uid.buf, (size_t)uid.len) <= 0 ||
        EVP_DigestSign(md, sig, &siglen, msg.buf, (size_t)msg.len) <= 0) {
        rs_raise_openssl("OpenSSL SM2 sign");
        goto done;
    }
    res = PyBytes_FromStringAndSize((const char *)sig, (Py_ssize_t)siglen);
done:
    EVP_PKEY_free(pkey);
    EVP_MD_CTX_free(md);
    PyBuffer_Release(&d);
    PyBuffer_Release(&pub);
    PyBuffer_Release(&msg);
    PyBuffer_Release(&uid);
    return res;
}

/* sm2c_openssl_verify(pub, msg, uid, der) -> bool, OpenSSL's verdict (tests only). */
PyObject *rs_sm2c_py_openssl_verify(PyObject *self, PyObject *args);
PyObject *rs_sm2c_py_openssl_verify(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer pub, msg, uid, sig;
    PyObject *res = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &pub, &msg, &uid, &sig))
        return NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY *pkey = NULL;
    if (pub.len != 65) {
        rs_raise(RS_ERR_VALUE, "need a 65-byte public key");
        goto done;
    }
    pkey = sm2_pkey(NULL, pub.buf);
    if (md == NULL || pkey == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pkey) <= 0 ||
        EVP_PKEY_CTX_set1_id(EVP_MD_CTX_get_pkey_ctx(md), uid.buf, (size_t)uid.len) <= 0) {
        rs_raise_openssl("OpenSSL SM2 verify");
        goto done;
    }
    int ok = EVP_DigestVerify(md, sig.buf, (size_t)sig.len, msg.buf, (size_t)msg.len);
    ERR_clear_error();
    res = PyBool_FromLong(ok == 1);
done:
    EVP_PKEY_free(pkey);
    EVP_MD_CTX_free(md);
    PyBuffer_Release(&pub);
    PyBuffer_Release(&msg);
    PyBuffer_Release(&uid);
    PyBuffer_Release(&sig);
    return res;
}
