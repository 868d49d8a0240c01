/* Area 'paillier': the private-key context (CRT decryption on one or more threads).
 * See paillier.c for the layout of the area. */
#include "paillier.h"

#include <stdlib.h>
#include <string.h>

/* ---- private context ----------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    size_t nbytes, cbytes;
    pai_half_t half[2]; /* p and q */
    BIGNUM *n, *n2, *qinv_p, *p, *q;
} PrivObject;

static void priv_dealloc(PrivObject *o)
{
    for (int i = 0; i < 2; i++)
        pai_half_free(&o->half[i]);
    BN_clear_free(o->qinv_p);
    BN_clear_free(o->p);
    BN_clear_free(o->q);
    BN_free(o->n);
    BN_free(o->n2);
    PyObject_Free(o);
}

static PyObject *priv_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)type;
    static char *kwlist[] = {"p", "q", NULL};
    Py_buffer pb, qb;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*y*:PaillierPrivate", kwlist, &pb, &qb))
        return NULL;
    PrivObject *o = PyObject_New(PrivObject, &pai_PrivType);
    if (o == NULL) {
        PyBuffer_Release(&pb);
        PyBuffer_Release(&qb);
        return NULL;
    }
    memset(o->half, 0, sizeof o->half);
    o->n = BN_new();
    o->n2 = BN_new();
    o->qinv_p = BN_secure_new();
    o->p = BN_secure_new();
    o->q = BN_secure_new();
    BN_CTX *ctx = BN_CTX_new();
    int ok = o->n && o->n2 && o->qinv_p && o->p && o->q && ctx &&
             BN_bin2bn(pb.buf, (int)pb.len, o->p) && BN_bin2bn(qb.buf, (int)qb.len, o->q);
    PyBuffer_Release(&pb);
    PyBuffer_Release(&qb);
    if (!ok) {
        BN_CTX_free(ctx);
        Py_DECREF(o);
        return rs_raise_openssl("Paillier private key setup");
    }
    if (BN_num_bits(o->p) < PAI_MIN_BITS / 2 || !BN_is_odd(o->p) || !BN_is_odd(o->q) ||
        BN_cmp(o->p, o->q) == 0 || BN_num_bits(o->p) != BN_num_bits(o->q)) {
        BN_CTX_free(ctx);
        Py_DECREF(o);
        return rs_raise(RS_ERR_VALUE, "Paillier primes must be distinct, odd and of equal size");
    }
    BN_set_flags(o->p, BN_FLG_CONSTTIME);
    BN_set_flags(o->q, BN_FLG_CONSTTIME);
    ok = BN_mul(o->n, o->p, o->q, ctx) && BN_sqr(o->n2, o->n, ctx) &&
         BN_mod_inverse(o->qinv_p, o->q, o->p, ctx) != NULL &&
         pai_half_init(&o->half[0], o->p, o->q, ctx) && pai_half_init(&o->half[1], o->q, o->p, ctx);
    BN_CTX_free(ctx);
    if (!ok) {
        Py_DECREF(o);
        return rs_raise_openssl("Paillier private key setup");
    }
    o->nbytes = (size_t)BN_num_bytes(o->n);
    o->cbytes = 2 * o->nbytes;
    return (PyObject *)o;
}

typedef struct {
    PrivObject *o;
    const uint8_t *in;
    uint8_t *out;
    size_t start, end;
    int which; /* -1: both halves and CRT; 0 or 1: only that half of item `start` into res */
    BIGNUM *res;
    int status;
} dec_job;

static int crt_combine(PrivObject *o, BIGNUM *m, const BIGNUM *mp, const BIGNUM *mq, BN_CTX *ctx)
{
    /* m = mq + q * ((mp - mq) * q^-1 mod p) */
    BN_CTX_start(ctx);
    BIGNUM *t = BN_CTX_get(ctx);
    int ok = t && BN_mod_sub(t, mp, mq, o->p, ctx) && BN_mod_mul(t, t, o->qinv_p, o->p, ctx) &&
             BN_mul(t, t, o->q, ctx) && BN_add(m, t, mq);
    BN_CTX_end(ctx);
    return ok;
}

static void *dec_worker(void *arg)
{
    dec_job *j = arg;
    PrivObject *o = j->o;
    BN_CTX *ctx = BN_CTX_secure_new();
    j->status = RS_ERR_INTERNAL;
    if (!ctx)
        return NULL;
    BN_CTX_start(ctx);
    BIGNUM *c = BN_CTX_get(ctx), *mp = BN_CTX_get(ctx), *mq = BN_CTX_get(ctx), *m = BN_CTX_get(ctx);
    if (!m)
        goto done;
    j->status = RS_OK;
    for (size_t k = j->start; k < j->end; k++) {
        if (!BN_bin2bn(j->in + k * o->cbytes, (int)o->cbytes, c)) {
            j->status = RS_ERR_INTERNAL;
            break;
        }
        if (j->which >= 0) {
            j->status = pai_half_decrypt(&o->half[j->which], j->res, c, ctx);
            break;
        }
        int st = pai_both_decrypt(&o->half[0], &o->half[1], mp, mq, c, ctx);
        if (st == RS_OK && !crt_combine(o, m, mp, mq, ctx))
            st = RS_ERR_INTERNAL;
        if (st == RS_OK && BN_bn2binpad(m, j->out + k * o->nbytes, (int)o->nbytes) < 0)
            st = RS_ERR_INTERNAL;
        if (st != RS_OK) {
            j->status = st;
            break;
        }
    }
done:
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return NULL;
}

static PyObject *priv_decrypt(PrivObject *o, PyObject *args)
{
    Py_buffer cs;
    long workers = 1;
    if (!PyArg_ParseTuple(args, "y*|l:decrypt", &cs, &workers))
        return NULL;
    size_t count;
    if (!pai_check_items(&cs, o->cbytes, &count, "ciphertexts")) {
        PyBuffer_Release(&cs);
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(count * o->nbytes));
    if (out == NULL) {
        PyBuffer_Release(&cs);
        return NULL;
    }
    uint8_t *ob = (uint8_t *)PyBytes_AS_STRING(out);
    int status = RS_OK;
    dec_job jobs[PAI_MAX_WORKERS];
    size_t nw = pai_clamp_workers(workers, count);
    if (count == 1 && workers >= 2) {
        /* one ciphertext on two cores: the CRT halves in parallel */
        BN_CTX *ctx = BN_CTX_secure_new();
        BIGNUM *mp = BN_secure_new(), *mq = BN_secure_new(), *m = BN_secure_new();
        if (!ctx || !mp || !mq || !m) {
            status = RS_ERR_NOMEM;
        } else {
            jobs[0] = (dec_job){o, cs.buf, ob, 0, 1, 0, mp, RS_OK};
            jobs[1] = (dec_job){o, cs.buf, ob, 0, 1, 1, mq, RS_OK};
            Py_BEGIN_ALLOW_THREADS
            pai_run_jobs(dec_worker, jobs, sizeof jobs[0], 2);
            status = jobs[0].status != RS_OK ? jobs[0].status : jobs[1].status;
            if (status == RS_OK && (!crt_combine(o, m, mp, mq, ctx) || BN_bn2binpad(m, ob, (int)o->nbytes) < 0))
                status = RS_ERR_INTERNAL;
            Py_END_ALLOW_THREADS
        }
        BN_CTX_free(ctx);
        BN_clear_free(mp);
        BN_clear_free(mq);
        BN_clear_free(m);
    } else if (count > 0) {
        for (size_t i = 0; i < nw; i++)
            jobs[i] = (dec_job){o, cs.buf, ob, count * i / nw, count * (i + 1) / nw, -1, NULL, RS_OK};
        Py_BEGIN_ALLOW_THREADS
        pai_run_jobs(dec_worker, jobs, sizeof jobs[0], nw);
        Py_END_ALLOW_THREADS
        for (size_t i = 0; i < nw && status == RS_OK; i++)
            status = jobs[i].status;
    }
    PyBuffer_Release(&cs);
    if (status != RS_OK) {
        Py_DECREF(out);
        if (status == RS_ERR_DECRYPT)
            return rs_raise(RS_ERR_DECRYPT, "Paillier ciphertext is not invertible or out of range");
        if (status == RS_ERR_NOMEM)
            return PyErr_NoMemory();
        return rs_raise_openssl("Paillier decryption");
    }
    return out;
}

static PyMethodDef priv_methods[] = {
    {"decrypt", (PyCFunction)priv_decrypt, METH_VARARGS, "decrypt(ciphertexts, workers=1) -> plaintexts"},
    {NULL, NULL, 0, NULL}};

PyTypeObject pai_PrivType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mpc._native.PaillierPrivate",
    .tp_basicsize = sizeof(PrivObject),
    .tp_dealloc = (destructor)priv_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Paillier private-key context (wrapped by mpc.paillier.PaillierPrivateKey).",
    .tp_methods = priv_methods,
    .tp_new = priv_new,
};
