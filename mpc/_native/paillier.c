/* Area 'paillier': the Paillier cryptosystem (g = n + 1) on GMP's mpn layer and OpenSSL BN.
 *
 * Encryption uses the Damgård–Jurik–Nielsen randomiser: each public context picks its own
 * h = -y^2 mod n, h_s = h^n mod n^2, and draws r' = h_s^a with a random exponent a of
 * ceil(|n| / 2) bits (see mpc/paillier.py for the security argument). h_s^a is a fixed-base
 * exponentiation over a table T[i][j] = h_s^(j * 2^(w*i)), so one encryption costs ceil(bits / w)
 * Montgomery multiplications mod n^2 and no squaring; digits of a are secret, so every table row
 * is read whole (constant-time selection).
 *
 * Decryption is CRT over p^2 and q^2 with constant-time exponentiation by p - 1 and q - 1
 * (paillier_exp.c: AVX-512 IFMA when the CPU has it, the two halves interleaved on one core;
 * otherwise OpenSSL's BN_mod_exp_mont_consttime); the two halves may run on two threads.
 * Products of public values (ct + ct, ct * k) also use IFMA when available, GMP otherwise.
 *
 * Byte strings cross the boundary as fixed-size big-endian integers: plaintexts and n in
 * `nbytes` = ceil(|n| / 8) bytes, ciphertexts in 2 * nbytes bytes. Batches are one buffer of
 * `count` items and run on up to PAI_MAX_WORKERS threads with the GIL released.
 *
 * Files: paillier.c (byte/limb helpers, portable Montgomery, threads, key generation, module
 * table), paillier_pub.c (public context), paillier_priv.c (private context), paillier_exp.c
 * (one CRT half), paillier_ifma.c (AVX-512 IFMA arithmetic). */
#include "paillier.h"

#include <openssl/bn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- limbs and bytes ---------------------------------------------------------------------- */

void pai_be_to_limbs(mp_limb_t *r, size_t L, const uint8_t *b, size_t blen)
{
    for (size_t i = 0; i < L; i++) {
        uint64_t v = 0;
        if (blen >= 8 * (i + 1)) {
            memcpy(&v, b + blen - 8 * (i + 1), 8);
            v = __builtin_bswap64(v);
        } else {
            for (size_t k = 8 * i; k < blen && k < 8 * (i + 1); k++)
                v |= (uint64_t)b[blen - 1 - k] << (8 * (k - 8 * i));
        }
        r[i] = v;
    }
}

void pai_limbs_to_be(uint8_t *b, size_t blen, const mp_limb_t *r, size_t L)
{
    for (size_t i = 0; 8 * i < blen; i++) {
        uint64_t v = i < L ? r[i] : 0;
        if (blen >= 8 * (i + 1)) {
            v = __builtin_bswap64(v);
            memcpy(b + blen - 8 * (i + 1), &v, 8);
        } else {
            for (size_t k = 8 * i; k < blen; k++)
                b[blen - 1 - k] = (uint8_t)(v >> (8 * (k - 8 * i)));
        }
    }
}

/* a < b in constant time (a may be secret); t has L limbs of scratch. */
int pai_limbs_lt(const mp_limb_t *a, const mp_limb_t *b, size_t L, mp_limb_t *t)
{
    return mpn_sub_n(t, a, b, (mp_size_t)L) != 0;
}

void pai_mpz_from_be(mpz_t r, const uint8_t *b, size_t blen)
{
    mpz_import(r, blen, 1, 1, 1, 0, b);
}

void pai_mpz_to_be(uint8_t *b, size_t blen, const mpz_t x)
{
    size_t cnt = (mpz_sizeinbase(x, 2) + 7) / 8;
    memset(b, 0, blen);
    if (mpz_sgn(x) != 0 && cnt <= blen)
        mpz_export(b + blen - cnt, NULL, 1, 1, 1, 0, x);
}

/* ---- Montgomery arithmetic (portable: GMP mpn, constant time) ----------------------------- */

int pai_mont_init(pai_mont_t *M, const mpz_t N)
{
    memset(M, 0, sizeof *M);
    M->L = mpz_size(N);
    M->N = calloc(M->L, sizeof(mp_limb_t));
    M->R2 = calloc(M->L, sizeof(mp_limb_t));
    M->one = calloc(M->L, sizeof(mp_limb_t));
    if (!M->N || !M->R2 || !M->one)
        return 0;
    mpz_export(M->N, NULL, -1, sizeof(mp_limb_t), 0, 0, N);
    mp_limb_t n0 = M->N[0], x = n0; /* x = n0^-1 mod 2^3, doubled precision per step */
    for (int i = 0; i < 6; i++)
        x *= 2 - n0 * x;
    M->ninv = (mp_limb_t)0 - x;
    mpz_t t;
    mpz_init(t);
    mpz_setbit(t, 64 * M->L);
    mpz_mod(t, t, N);
    mpz_export(M->one, NULL, -1, sizeof(mp_limb_t), 0, 0, t);
    mpz_set_ui(t, 0);
    mpz_setbit(t, 128 * M->L);
    mpz_mod(t, t, N);
    mpz_export(M->R2, NULL, -1, sizeof(mp_limb_t), 0, 0, t);
    mpz_clear(t);
    pai_ifma_mont_init(M);
    return 1;
}

void pai_mont_free(pai_mont_t *M)
{
    free(M->N);
    free(M->R2);
    free(M->one);
    pai_ifma_mont_free(M);
    memset(M, 0, sizeof *M);
}

/* r = a * b / R mod N for a, b < N; t has 2L limbs; r may alias a or b. */
void pai_mont_mul(mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b, const pai_mont_t *M, mp_limb_t *t)
{
    mp_size_t L = (mp_size_t)M->L;
    if (a == b)
        mpn_sqr(t, a, L);
    else
        mpn_mul_n(t, a, b, L);
    mp_limb_t *up = t;
    for (mp_size_t i = 0; i < L; i++, up++)
        up[0] = mpn_addmul_1(up, M->N, L, up[0] * M->ninv);
    mp_limb_t cy = mpn_add_n(r, t + L, t, L);
    mp_limb_t bw = mpn_sub_n(t, r, M->N, L);
    mp_limb_t mask = (mp_limb_t)0 - (cy | (bw ^ 1));
    for (mp_size_t i = 0; i < L; i++)
        r[i] = (t[i] & mask) | (r[i] & ~mask);
}

int pai_check_items(Py_buffer *b, size_t item, size_t *count, const char *what)
{
    if (b->len < 0 || (size_t)b->len % item != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "Paillier %s must be a multiple of %zu bytes", what, item);
        rs_raise(RS_ERR_VALUE, msg);
        return 0;
    }
    *count = (size_t)b->len / item;
    return 1;
}


/* Runs fn over jobs[0..n) on n threads (the caller's thread takes job 0). */
int pai_run_jobs(void *(*fn)(void *), void *jobs, size_t job_size, size_t n)
{
    pthread_t th[PAI_MAX_WORKERS];
    int started[PAI_MAX_WORKERS] = {0};
    for (size_t i = 1; i < n; i++)
        started[i] = pthread_create(&th[i], NULL, fn, (char *)jobs + i * job_size) == 0;
    fn(jobs);
    for (size_t i = 1; i < n; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        else
            fn((char *)jobs + i * job_size); /* could not start a thread: do it here */
    }
    return 0;
}

size_t pai_clamp_workers(long workers, size_t count)
{
    size_t w = workers < 1 ? 1 : (size_t)workers;
    if (w > PAI_MAX_WORKERS)
        w = PAI_MAX_WORKERS;
    if (w > count)
        w = count ? count : 1;
    return w;
}


/* ---- key generation ------------------------------------------------------------------------ */

typedef struct {
    int bits, safe, ok;
    BIGNUM *p;
} prime_job;

static void *prime_worker(void *arg)
{
    prime_job *j = arg;
    BN_CTX *ctx = BN_CTX_secure_new();
    j->ok = ctx && BN_generate_prime_ex2(j->p, j->bits, j->safe, NULL, NULL, NULL, ctx) == 1;
    BN_CTX_free(ctx);
    return NULL;
}

/* Two distinct random primes of `bits` bits each with the top two bits set (so |pq| = 2 bits),
 * generated on two threads; safe primes (p = 2p' + 1) when `safe`. */
static PyObject *py_paillier_primes(PyObject *self, PyObject *args)
{
    (void)self;
    int bits, safe;
    if (!PyArg_ParseTuple(args, "ip:paillier_primes", &bits, &safe))
        return NULL;
    if (bits < PAI_MIN_BITS / 2 || bits > PAI_MAX_BITS / 2)
        return rs_raise(RS_ERR_VALUE, "Paillier prime size out of range");
    prime_job jobs[2] = {{bits, safe, 0, BN_secure_new()}, {bits, safe, 0, BN_secure_new()}};
    PyObject *r = NULL;
    int ok = jobs[0].p && jobs[1].p;
    BIGNUM *d = BN_new();
    ok = ok && d;
    while (ok) {
        Py_BEGIN_ALLOW_THREADS
        pai_run_jobs(prime_worker, jobs, sizeof jobs[0], 2);
        Py_END_ALLOW_THREADS
        ok = jobs[0].ok && jobs[1].ok;
        /* |p - q| must be large (Fermat factoring): at least 2^(bits - 64) */
        if (ok && BN_sub(d, jobs[0].p, jobs[1].p) && BN_num_bits(d) > bits - 64)
            break;
    }
    if (ok) {
        int nb = (bits + 7) / 8;
        PyObject *pb = PyBytes_FromStringAndSize(NULL, nb), *qb = PyBytes_FromStringAndSize(NULL, nb);
        if (pb && qb) {
            BN_bn2binpad(jobs[0].p, (unsigned char *)PyBytes_AS_STRING(pb), nb);
            BN_bn2binpad(jobs[1].p, (unsigned char *)PyBytes_AS_STRING(qb), nb);
            r = PyTuple_Pack(2, pb, qb);
        }
        Py_XDECREF(pb);
        Py_XDECREF(qb);
    } else {
        rs_raise_openssl("Paillier prime generation");
    }
    BN_free(d);
    BN_clear_free(jobs[0].p);
    BN_clear_free(jobs[1].p);
    return r;
}

static PyObject *py_paillier_backend(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(pai_ifma_active() ? "avx512ifma" : "portable");
}

PyMethodDef rs_paillier_methods[] = {
    {"paillier_primes", py_paillier_primes, METH_VARARGS, "Two distinct random primes of equal size."},
    {"paillier_backend", py_paillier_backend, METH_NOARGS, "Arithmetic path in use now."},
    {NULL, NULL, 0, NULL}};

int rs_paillier_init(PyObject *m)
{
    if (PyType_Ready(&pai_PubType) < 0 || PyType_Ready(&pai_PrivType) < 0)
        return -1;
    Py_INCREF(&pai_PubType);
    if (PyModule_AddObject(m, "PaillierPublic", (PyObject *)&pai_PubType) < 0)
        return -1;
    Py_INCREF(&pai_PrivType);
    if (PyModule_AddObject(m, "PaillierPrivate", (PyObject *)&pai_PrivType) < 0)
        return -1;
    if (PyModule_AddIntConstant(m, "PAILLIER_MAX_WORKERS", PAI_MAX_WORKERS) < 0 ||
        PyModule_AddIntConstant(m, "PAILLIER_WIRE_VERSION", PAI_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "PAILLIER_MIN_BITS", PAI_MIN_BITS) < 0)
        return -1;
    return 0;
}
