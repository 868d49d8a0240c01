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
 * `count` items and run on up to PAI_MAX_WORKERS threads with the GIL released. */
#include "paillier.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <pythread.h>
#include <stdlib.h>
#include <string.h>

#define PAI_MIN_BITS 512
#define PAI_MAX_BITS 8192
#define PAI_MAX_WORKERS 8
#define PAI_WINDOW 6
#define PAI_VERSION 1

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
static int limbs_lt(const mp_limb_t *a, const mp_limb_t *b, size_t L, mp_limb_t *t)
{
    return mpn_sub_n(t, a, b, (mp_size_t)L) != 0;
}

static void mpz_from_be(mpz_t r, const uint8_t *b, size_t blen)
{
    mpz_import(r, blen, 1, 1, 1, 0, b);
}

static void mpz_to_be(uint8_t *b, size_t blen, const mpz_t x)
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

/* ---- public context ------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    size_t nbits, nbytes, cbytes; /* |n|, bytes of n, bytes of a ciphertext (2 * nbytes) */
    size_t Ln;                    /* limbs of n */
    mpz_t n, n2;
    mp_limb_t *nl;                /* n in Ln limbs */
    pai_mont_t M;                 /* mod n^2 */
    /* h_s and its fixed-base tables (one per arithmetic path), built on first use under `lock` */
    int hs_ready;
    size_t ebits, positions, window;
    mp_limb_t *table;             /* portable: positions * 2^window * L limbs, Montgomery form */
    void *ifma_table;             /* IFMA path (paillier_ifma.c) */
    mpz_t hs;
    PyThread_type_lock lock;
} PubObject;

static PyTypeObject PubType;

static void pub_dealloc(PubObject *o)
{
    mpz_clears(o->n, o->n2, o->hs, NULL);
    free(o->nl);
    pai_mont_free(&o->M);
    free(o->table);
    pai_ifma_table_free(&o->ifma_table);
    if (o->lock)
        PyThread_free_lock(o->lock);
    PyObject_Free(o);
}

static PyObject *pub_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)type;
    static char *kwlist[] = {"n", NULL};
    Py_buffer nb;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*:PaillierPublic", kwlist, &nb))
        return NULL;
    PubObject *o = PyObject_New(PubObject, &PubType);
    if (o == NULL) {
        PyBuffer_Release(&nb);
        return NULL;
    }
    mpz_inits(o->n, o->n2, o->hs, NULL);
    o->nl = NULL;
    memset(&o->M, 0, sizeof o->M);
    o->hs_ready = 0;
    o->table = NULL;
    o->ifma_table = NULL;
    o->lock = PyThread_allocate_lock();
    mpz_from_be(o->n, nb.buf, (size_t)nb.len);
    PyBuffer_Release(&nb);
    o->nbits = mpz_sizeinbase(o->n, 2);
    if (o->lock == NULL) {
        Py_DECREF(o);
        return PyErr_NoMemory();
    }
    if (o->nbits < PAI_MIN_BITS || o->nbits > PAI_MAX_BITS || mpz_even_p(o->n) || mpz_perfect_square_p(o->n)) {
        Py_DECREF(o);
        return rs_raise(RS_ERR_VALUE, "Paillier modulus must be an odd non-square of 512 to 8192 bits");
    }
    o->nbytes = (o->nbits + 7) / 8;
    o->cbytes = 2 * o->nbytes;
    o->Ln = mpz_size(o->n);
    mpz_mul(o->n2, o->n, o->n);
    o->nl = calloc(o->Ln, sizeof(mp_limb_t));
    if (o->nl == NULL || !pai_mont_init(&o->M, o->n2)) {
        Py_DECREF(o);
        return PyErr_NoMemory();
    }
    mpz_export(o->nl, NULL, -1, sizeof(mp_limb_t), 0, 0, o->n);
    o->ebits = (o->nbits + 1) / 2;
    o->window = PAI_WINDOW;
    o->positions = (o->ebits + o->window - 1) / o->window;
    return (PyObject *)o;
}

/* h_s = (-y^2)^n mod n^2 for a random y (or the given one); without the GIL. 0 on failure. */
static int pub_build_hs(PubObject *o, const uint8_t *ybytes)
{
    int ok = 0;
    mpz_t y, h;
    mpz_inits(y, h, NULL);
    if (ybytes) {
        mpz_from_be(y, ybytes, o->nbytes);
    } else {
        uint8_t *buf = malloc(o->nbytes + 16);
        if (!buf || RAND_bytes(buf, (int)o->nbytes + 16) != 1) {
            free(buf);
            goto done;
        }
        mpz_from_be(y, buf, o->nbytes + 16);
        free(buf);
    }
    mpz_mod(y, y, o->n);
    mpz_gcd(h, y, o->n);
    if (mpz_cmp_ui(h, 1) != 0)
        goto done;
    mpz_mul(h, y, y);
    mpz_mod(h, h, o->n);
    mpz_sub(h, o->n, h);
    mpz_powm(o->hs, h, o->n, o->n2);
    ok = 1;
done:
    mpz_clears(y, h, NULL);
    return ok;
}

/* Portable table: T[i][j] = h_s^(j 2^(w i)) in Montgomery form. */
static int pub_build_table64(PubObject *o)
{
    const pai_mont_t *M = &o->M;
    size_t L = M->L, W = (size_t)1 << o->window;
    mp_limb_t *tmp = calloc(2 * L, sizeof(mp_limb_t)), *base = calloc(2 * L, sizeof(mp_limb_t));
    mp_limb_t *table = calloc(o->positions * W * L, sizeof(mp_limb_t));
    if (!tmp || !base || !table) {
        free(tmp);
        free(base);
        free(table);
        return 0;
    }
    mp_limb_t *plain = base + L;
    mpz_export(plain, NULL, -1, sizeof(mp_limb_t), 0, 0, o->hs);
    pai_mont_mul(base, plain, M->R2, M, tmp);
    for (size_t i = 0; i < o->positions; i++) {
        mp_limb_t *row = table + i * W * L;
        memcpy(row, M->one, L * sizeof *row);
        memcpy(row + L, base, L * sizeof *row);
        for (size_t j = 2; j < W; j++)
            pai_mont_mul(row + j * L, row + (j - 1) * L, base, M, tmp);
        pai_mont_mul(base, row + (W - 1) * L, base, M, tmp); /* base^(2^w) */
    }
    free(tmp);
    free(base);
    o->table = table;
    return 1;
}

/* Makes sure h_s (and, when `want_table`, the table of the active path) exists. Called with the
 * GIL held; releases it while building. A given y (test seam) replaces h_s and drops the tables. */
static int pub_ensure(PubObject *o, const uint8_t *ybytes, int want_table, int use_ifma)
{
    int ok = 1;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(o->lock, WAIT_LOCK);
    if (ybytes || !o->hs_ready) {
        free(o->table);
        o->table = NULL;
        pai_ifma_table_free(&o->ifma_table);
        o->hs_ready = ok = pub_build_hs(o, ybytes);
    }
    if (ok && want_table && use_ifma && !o->ifma_table)
        ok = pai_ifma_table_build(o->hs, o->positions, (size_t)1 << o->window, &o->M, &o->ifma_table);
    if (ok && want_table && !use_ifma && !o->table)
        ok = pub_build_table64(o);
    PyThread_release_lock(o->lock);
    Py_END_ALLOW_THREADS
    if (!ok)
        rs_raise(RS_ERR_INTERNAL, "Paillier: could not build the fixed-base table");
    return ok;
}

/* r = a * b mod n^2 (plain values below n^2); t has 2L limbs, u has L limbs. */
static void pub_mulmod(const PubObject *o, mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b, mp_limb_t *t,
                       mp_limb_t *u, int use_ifma)
{
    if (use_ifma && pai_ifma_mulmod(&o->M, r, a, b))
        return;
    pai_mont_mul(u, b, o->M.R2, &o->M, t); /* b R */
    pai_mont_mul(r, a, u, &o->M, t);       /* a b */
}

/* r' = h_s^a mod n^2, plain; a is big-endian of abytes_len bytes. */
static void pub_fixed_base(const PubObject *o, mp_limb_t *r, const uint8_t *abytes, size_t abytes_len,
                           mp_limb_t *sel, mp_limb_t *tmp, int use_ifma)
{
    size_t L = o->M.L, W = (size_t)1 << o->window, w = o->window;
    if (use_ifma && pai_ifma_fixed_base(o->ifma_table, r, L, abytes, abytes_len, w))
        return;
    for (size_t i = 0; i < o->positions; i++) {
        size_t bit = i * w, d = 0;
        for (size_t k = 0; k < w; k++, bit++) {
            size_t byte = bit / 8;
            if (byte < abytes_len)
                d |= (size_t)((abytes[abytes_len - 1 - byte] >> (bit % 8)) & 1) << k;
        }
        mpn_sec_tabselect(i == 0 ? r : sel, o->table + i * W * L, (mp_size_t)L, (mp_size_t)W, (mp_size_t)d);
        if (i > 0)
            pai_mont_mul(r, r, sel, &o->M, tmp);
    }
    memset(sel, 0, L * sizeof *sel);
    sel[0] = 1;
    pai_mont_mul(r, r, sel, &o->M, tmp); /* out of the Montgomery domain */
}

enum { MODE_ENCRYPT = 0, MODE_RERANDOMIZE = 1, MODE_OBFUSCATOR = 2, MODE_ENCRYPT_OBF = 3 };

typedef struct {
    const PubObject *o;
    int mode, use_ifma;
    const uint8_t *in;      /* plaintexts (nbytes each) or ciphertexts (cbytes each) */
    const uint8_t *obf;     /* MODE_ENCRYPT_OBF: randomisers h_s^a (cbytes each) */
    const uint8_t *fixed_a; /* test seam: the exponent */
    uint8_t *out;
    size_t start, end;
    int status;
} enc_job;

static void *enc_worker(void *arg)
{
    enc_job *j = arg;
    const PubObject *o = j->o;
    size_t L = o->M.L, ab = (o->ebits + 7) / 8;
    mp_limb_t *buf = calloc(8 * L, sizeof(mp_limb_t));
    uint8_t *a = malloc(ab);
    j->status = RS_ERR_NOMEM;
    if (!buf || !a)
        goto done;
    mp_limb_t *rp = buf, *sel = buf + L, *tmp = buf + 2 * L, *gm = buf + 4 * L, *ml = buf + 5 * L,
              *u = buf + 6 * L;
    j->status = RS_OK;
    for (size_t k = j->start; k < j->end; k++) {
        if (j->mode == MODE_ENCRYPT_OBF) {
            pai_be_to_limbs(rp, L, j->obf + k * o->cbytes, o->cbytes);
            if (!limbs_lt(rp, o->M.N, L, tmp)) {
                j->status = RS_ERR_VALUE;
                break;
            }
        } else {
            if (j->fixed_a) {
                memcpy(a, j->fixed_a, ab);
            } else if (RAND_priv_bytes(a, (int)ab) != 1) {
                j->status = RS_ERR_INTERNAL;
                break;
            }
            if (o->ebits % 8)
                a[0] &= (uint8_t)((1u << (o->ebits % 8)) - 1);
            pub_fixed_base(o, rp, a, ab, sel, tmp, j->use_ifma);
        }
        if (j->mode == MODE_OBFUSCATOR) {
            pai_limbs_to_be(j->out + k * o->cbytes, o->cbytes, rp, L);
            continue;
        }
        if (j->mode == MODE_RERANDOMIZE) {
            pai_be_to_limbs(gm, L, j->in + k * o->cbytes, o->cbytes);
            if (!limbs_lt(gm, o->M.N, L, tmp)) {
                j->status = RS_ERR_VALUE;
                break;
            }
        } else {
            /* gm = 1 + m * n < n^2 */
            pai_be_to_limbs(ml, o->Ln, j->in + k * o->nbytes, o->nbytes);
            if (!limbs_lt(ml, o->nl, o->Ln, tmp)) {
                j->status = RS_ERR_VALUE;
                break;
            }
            mpn_mul_n(tmp, ml, o->nl, (mp_size_t)o->Ln);
            memcpy(gm, tmp, L * sizeof *gm); /* product < n^2 fits in L limbs */
            mpn_add_1(gm, gm, (mp_size_t)L, 1);
        }
        pub_mulmod(o, gm, gm, rp, tmp, u, j->use_ifma);
        pai_limbs_to_be(j->out + k * o->cbytes, o->cbytes, gm, L);
    }
done:
    if (buf) {
        rs_secure_zero(buf, 8 * L * sizeof(mp_limb_t));
        free(buf);
    }
    if (a) {
        rs_secure_zero(a, ab);
        free(a);
    }
    return NULL;
}

/* Runs fn over jobs[0..n) on n threads (the caller's thread takes job 0). */
static int run_jobs(void *(*fn)(void *), void *jobs, size_t job_size, size_t n)
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

static size_t clamp_workers(long workers, size_t count)
{
    size_t w = workers < 1 ? 1 : (size_t)workers;
    if (w > PAI_MAX_WORKERS)
        w = PAI_MAX_WORKERS;
    if (w > count)
        w = count ? count : 1;
    return w;
}

static PyObject *pub_run(PubObject *o, int mode, const uint8_t *in, const uint8_t *obf, size_t count,
                         long workers, const uint8_t *fixed_a)
{
    int use_ifma = pai_ifma_active();
    if (mode != MODE_ENCRYPT_OBF && !pub_ensure(o, NULL, 1, use_ifma))
        return NULL;
    size_t outlen = count * o->cbytes;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)outlen);
    if (out == NULL)
        return NULL;
    size_t nw = clamp_workers(workers, count);
    enc_job jobs[PAI_MAX_WORKERS];
    for (size_t i = 0; i < nw; i++) {
        jobs[i] = (enc_job){o, mode, use_ifma, in, obf, fixed_a, (uint8_t *)PyBytes_AS_STRING(out),
                            count * i / nw, count * (i + 1) / nw, RS_OK};
    }
    if (count * (mode == MODE_ENCRYPT_OBF ? 1 : 100) > 4) {
        Py_BEGIN_ALLOW_THREADS
        run_jobs(enc_worker, jobs, sizeof jobs[0], nw);
        Py_END_ALLOW_THREADS
    } else {
        run_jobs(enc_worker, jobs, sizeof jobs[0], nw); /* a few multiplications: keep the GIL */
    }
    for (size_t i = 0; i < nw; i++) {
        if (jobs[i].status != RS_OK) {
            Py_DECREF(out);
            if (jobs[i].status == RS_ERR_VALUE)
                return rs_raise(RS_ERR_VALUE, "Paillier input out of range for this key");
            if (jobs[i].status == RS_ERR_NOMEM)
                return PyErr_NoMemory();
            return rs_raise(RS_ERR_INTERNAL, "Paillier encryption: random generator failed");
        }
    }
    return out;
}

static int check_items(Py_buffer *b, size_t item, size_t *count, const char *what)
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

static PyObject *pub_encrypt(PubObject *o, PyObject *args)
{
    Py_buffer ms;
    long workers = 1;
    if (!PyArg_ParseTuple(args, "y*|l:encrypt", &ms, &workers))
        return NULL;
    size_t count;
    PyObject *r = NULL;
    if (check_items(&ms, o->nbytes, &count, "plaintexts"))
        r = pub_run(o, MODE_ENCRYPT, ms.buf, NULL, count, workers, NULL);
    PyBuffer_Release(&ms);
    return r;
}

static PyObject *pub_rerandomize(PubObject *o, PyObject *args)
{
    Py_buffer cs;
    long workers = 1;
    if (!PyArg_ParseTuple(args, "y*|l:rerandomize", &cs, &workers))
        return NULL;
    size_t count;
    PyObject *r = NULL;
    if (check_items(&cs, o->cbytes, &count, "ciphertexts"))
        r = pub_run(o, MODE_RERANDOMIZE, cs.buf, NULL, count, workers, NULL);
    PyBuffer_Release(&cs);
    return r;
}

static PyObject *pub_obfuscators(PubObject *o, PyObject *args)
{
    Py_ssize_t count;
    long workers = 1;
    if (!PyArg_ParseTuple(args, "n|l:obfuscators", &count, &workers))
        return NULL;
    if (count < 0 || count > (1 << 24))
        return rs_raise(RS_ERR_VALUE, "obfuscator count out of range");
    return pub_run(o, MODE_OBFUSCATOR, NULL, NULL, (size_t)count, workers, NULL);
}

static PyObject *pub_encrypt_obf(PubObject *o, PyObject *args)
{
    Py_buffer ms, obf;
    if (!PyArg_ParseTuple(args, "y*y*:encrypt_obf", &ms, &obf))
        return NULL;
    size_t count, ocount;
    PyObject *r = NULL;
    if (check_items(&ms, o->nbytes, &count, "plaintexts") &&
        check_items(&obf, o->cbytes, &ocount, "obfuscators")) {
        if (count != ocount)
            rs_raise(RS_ERR_VALUE, "one obfuscator per plaintext");
        else
            r = pub_run(o, MODE_ENCRYPT_OBF, ms.buf, obf.buf, count, 1, NULL);
    }
    PyBuffer_Release(&ms);
    PyBuffer_Release(&obf);
    return r;
}

/* Test seam: DJN encryption with a given exponent a (ebits bits, big-endian) and y for h. */
static PyObject *pub_encrypt_with_a(PubObject *o, PyObject *args)
{
    Py_buffer m, a, y;
    if (!PyArg_ParseTuple(args, "y*y*y*:_encrypt_with_a", &m, &a, &y))
        return NULL;
    PyObject *r = NULL;
    size_t ab = (o->ebits + 7) / 8;
    if ((size_t)m.len != o->nbytes || (size_t)a.len != ab || (size_t)y.len != o->nbytes)
        rs_raise(RS_ERR_VALUE, "wrong lengths for _encrypt_with_a");
    else if (pub_ensure(o, y.buf, 0, 0))
        r = pub_run(o, MODE_ENCRYPT, m.buf, NULL, 1, 1, a.buf);
    PyBuffer_Release(&m);
    PyBuffer_Release(&a);
    PyBuffer_Release(&y);
    return r;
}

/* Test seam: textbook encryption (1 + m n) r^n mod n^2 (variable time; vectors only). */
static PyObject *pub_encrypt_with_r(PubObject *o, PyObject *args)
{
    Py_buffer m, r;
    if (!PyArg_ParseTuple(args, "y*y*:_encrypt_with_r", &m, &r))
        return NULL;
    PyObject *out = NULL;
    mpz_t M, R, C, T;
    mpz_inits(M, R, C, T, NULL);
    mpz_from_be(M, m.buf, (size_t)m.len);
    mpz_from_be(R, r.buf, (size_t)r.len);
    mpz_gcd(T, R, o->n);
    if (mpz_cmp(M, o->n) >= 0 || mpz_cmp(R, o->n) >= 0 || mpz_cmp_ui(T, 1) != 0) {
        rs_raise(RS_ERR_VALUE, "m and r must be below n, r invertible");
    } else {
        mpz_powm(C, R, o->n, o->n2);
        mpz_mul(T, M, o->n);
        mpz_add_ui(T, T, 1);
        mpz_mul(C, C, T);
        mpz_mod(C, C, o->n2);
        out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)o->cbytes);
        if (out)
            mpz_to_be((uint8_t *)PyBytes_AS_STRING(out), o->cbytes, C);
    }
    mpz_clears(M, R, C, T, NULL);
    PyBuffer_Release(&m);
    PyBuffer_Release(&r);
    return out;
}

static int parse_ct(const PubObject *o, mpz_t x, Py_buffer *b)
{
    if ((size_t)b->len != o->cbytes) {
        rs_raise(RS_ERR_VALUE, "Paillier ciphertext has the wrong length for this key");
        return 0;
    }
    mpz_from_be(x, b->buf, o->cbytes);
    return 1;
}

static PyObject *ct_out(const PubObject *o, const mpz_t x)
{
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)o->cbytes);
    if (out)
        mpz_to_be((uint8_t *)PyBytes_AS_STRING(out), o->cbytes, x);
    return out;
}

#define PAI_MAX_L (2 * PAI_MAX_BITS / 64)

/* r = a * b mod n^2 for public values below n^2 (L limbs): IFMA when active, else GMP. */
static PyObject *mulmod_limbs(const PubObject *o, const mp_limb_t *x, const mp_limb_t *y)
{
    size_t L = o->M.L;
    if (mpn_cmp(x, o->M.N, (mp_size_t)L) >= 0 || mpn_cmp(y, o->M.N, (mp_size_t)L) >= 0)
        return rs_raise(RS_ERR_DECRYPT, "Paillier ciphertext must satisfy 0 < c < n^2");
    mp_limb_t r[PAI_MAX_L], t[2 * PAI_MAX_L];
    if (!pai_ifma_mulmod(&o->M, r, x, y)) {
        mp_limb_t q[PAI_MAX_L + 1];
        mpn_mul_n(t, x, y, (mp_size_t)L);
        mpn_tdiv_qr(q, r, 0, t, (mp_size_t)(2 * L), o->M.N, (mp_size_t)L);
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)o->cbytes);
    if (out)
        pai_limbs_to_be((uint8_t *)PyBytes_AS_STRING(out), o->cbytes, r, L);
    return out;
}

static PyObject *mulmod_out(const PubObject *o, const mpz_t x, const mpz_t y)
{
    size_t L = o->M.L;
    mp_limb_t a[PAI_MAX_L] = {0}, b[PAI_MAX_L] = {0};
    if (mpz_size(x) > L || mpz_size(y) > L)
        return rs_raise(RS_ERR_DECRYPT, "Paillier ciphertext must satisfy 0 < c < n^2");
    mpz_export(a, NULL, -1, sizeof(mp_limb_t), 0, 0, x);
    mpz_export(b, NULL, -1, sizeof(mp_limb_t), 0, 0, y);
    return mulmod_limbs(o, a, b);
}

/* c1 * c2 mod n^2 (homomorphic addition). */
static PyObject *pub_add(PubObject *o, PyObject *args)
{
    Py_buffer a, b;
    if (!PyArg_ParseTuple(args, "y*y*:add", &a, &b))
        return NULL;
    PyObject *out = NULL;
    if ((size_t)a.len != o->cbytes || (size_t)b.len != o->cbytes) {
        rs_raise(RS_ERR_VALUE, "Paillier ciphertext has the wrong length for this key");
    } else {
        mp_limb_t x[PAI_MAX_L], y[PAI_MAX_L];
        pai_be_to_limbs(x, o->M.L, a.buf, o->cbytes);
        pai_be_to_limbs(y, o->M.L, b.buf, o->cbytes);
        out = mulmod_limbs(o, x, y);
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    return out;
}

/* c * (1 + m n) mod n^2 (adding a plaintext 0 <= m < n). */
static PyObject *pub_add_plain(PubObject *o, PyObject *args)
{
    Py_buffer a, m;
    if (!PyArg_ParseTuple(args, "y*y*:add_plain", &a, &m))
        return NULL;
    PyObject *out = NULL;
    mpz_t x, y;
    mpz_inits(x, y, NULL);
    if (parse_ct(o, x, &a)) {
        mpz_from_be(y, m.buf, (size_t)m.len);
        if (mpz_cmp(y, o->n) >= 0) {
            rs_raise(RS_ERR_VALUE, "Paillier plaintext must be in [0, n)");
        } else {
            mpz_mul(y, y, o->n);
            mpz_add_ui(y, y, 1);
            out = mulmod_out(o, x, y);
        }
    }
    mpz_clears(x, y, NULL);
    PyBuffer_Release(&a);
    PyBuffer_Release(&m);
    return out;
}

/* c^k mod n^2 for a public k >= 0 (big-endian); negative=1 inverts c first. */
static PyObject *pub_mul(PubObject *o, PyObject *args)
{
    Py_buffer a, k;
    int negative = 0;
    if (!PyArg_ParseTuple(args, "y*y*|p:mul", &a, &k, &negative))
        return NULL;
    PyObject *out = NULL;
    mpz_t x, e;
    mpz_inits(x, e, NULL);
    if (parse_ct(o, x, &a)) {
        if (mpz_cmp(x, o->n2) >= 0 || (negative && !mpz_invert(x, x, o->n2))) {
            rs_raise(RS_ERR_DECRYPT, "Paillier ciphertext is out of range or not invertible mod n^2");
        } else {
            mp_limb_t xl[PAI_MAX_L] = {0}, rl[PAI_MAX_L];
            mpz_export(xl, NULL, -1, sizeof(mp_limb_t), 0, 0, x);
            int done;
            Py_BEGIN_ALLOW_THREADS
            done = pai_ifma_powmod_public(&o->M, rl, xl, k.buf, (size_t)k.len);
            if (!done) {
                mpz_from_be(e, k.buf, (size_t)k.len);
                mpz_powm(x, x, e, o->n2);
            }
            Py_END_ALLOW_THREADS
            if (done) {
                out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)o->cbytes);
                if (out)
                    pai_limbs_to_be((uint8_t *)PyBytes_AS_STRING(out), o->cbytes, rl, o->M.L);
            } else {
                out = ct_out(o, x);
            }
        }
    }
    mpz_clears(x, e, NULL);
    PyBuffer_Release(&a);
    PyBuffer_Release(&k);
    return out;
}

/* Raises DecryptionError unless 0 < c < n^2 and gcd(c, n) = 1, for each c in the buffer. */
static PyObject *pub_check(PubObject *o, PyObject *args)
{
    Py_buffer cs;
    if (!PyArg_ParseTuple(args, "y*:check", &cs))
        return NULL;
    size_t count;
    int bad = -1; /* 0: ok, 1: range, 2: not invertible */
    if (check_items(&cs, o->cbytes, &count, "ciphertexts")) {
        bad = 0;
        mpz_t x, g;
        mpz_inits(x, g, NULL);
        for (size_t i = 0; i < count && !bad; i++) {
            mpz_from_be(x, (const uint8_t *)cs.buf + i * o->cbytes, o->cbytes);
            if (mpz_sgn(x) == 0 || mpz_cmp(x, o->n2) >= 0) {
                bad = 1;
            } else {
                mpz_gcd(g, x, o->n);
                if (mpz_cmp_ui(g, 1) != 0)
                    bad = 2;
            }
        }
        mpz_clears(x, g, NULL);
    }
    PyBuffer_Release(&cs);
    if (bad < 0)
        return NULL;
    if (bad == 1)
        return rs_raise(RS_ERR_DECRYPT, "Paillier ciphertext must satisfy 0 < c < n^2");
    if (bad == 2)
        return rs_raise(RS_ERR_DECRYPT, "Paillier ciphertext is not invertible mod n");
    Py_RETURN_NONE;
}

static PyObject *pub_h_s(PubObject *o, PyObject *unused)
{
    (void)unused;
    if (!pub_ensure(o, NULL, 0, 0))
        return NULL;
    return ct_out(o, o->hs);
}

static PyObject *pub_get_int(PubObject *o, void *which)
{
    switch ((intptr_t)which) {
    case 0: return PyLong_FromSize_t(o->nbits);
    case 1: return PyLong_FromSize_t(o->nbytes);
    case 2: return PyLong_FromSize_t(o->cbytes);
    case 3: return PyLong_FromSize_t(o->ebits);
    case 4: return PyLong_FromSize_t(o->window);
    default: return PyBool_FromLong(o->table != NULL || o->ifma_table != NULL);
    }
}

static PyGetSetDef pub_getset[] = {
    {"nbits", (getter)pub_get_int, NULL, "bit length of n", (void *)0},
    {"nbytes", (getter)pub_get_int, NULL, "bytes of a plaintext", (void *)1},
    {"cbytes", (getter)pub_get_int, NULL, "bytes of a ciphertext", (void *)2},
    {"exponent_bits", (getter)pub_get_int, NULL, "bits of the DJN exponent a", (void *)3},
    {"window", (getter)pub_get_int, NULL, "fixed-base window bits", (void *)4},
    {"table_ready", (getter)pub_get_int, NULL, "whether the table is built", (void *)5},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef pub_methods[] = {
    {"encrypt", (PyCFunction)pub_encrypt, METH_VARARGS, "encrypt(plaintexts, workers=1) -> ciphertexts"},
    {"rerandomize", (PyCFunction)pub_rerandomize, METH_VARARGS, "rerandomize(ciphertexts, workers=1)"},
    {"obfuscators", (PyCFunction)pub_obfuscators, METH_VARARGS, "obfuscators(count, workers=1)"},
    {"encrypt_obf", (PyCFunction)pub_encrypt_obf, METH_VARARGS, "encrypt_obf(plaintexts, obfuscators)"},
    {"_encrypt_with_a", (PyCFunction)pub_encrypt_with_a, METH_VARARGS, "test seam"},
    {"_encrypt_with_r", (PyCFunction)pub_encrypt_with_r, METH_VARARGS, "test seam"},
    {"add", (PyCFunction)pub_add, METH_VARARGS, "c1 * c2 mod n^2"},
    {"add_plain", (PyCFunction)pub_add_plain, METH_VARARGS, "c * (1 + m n) mod n^2"},
    {"mul", (PyCFunction)pub_mul, METH_VARARGS, "c^k mod n^2"},
    {"check", (PyCFunction)pub_check, METH_VARARGS, "validate ciphertexts"},
    {"h_s", (PyCFunction)pub_h_s, METH_NOARGS, "the fixed base h_s"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject PubType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mpc._native.PaillierPublic",
    .tp_basicsize = sizeof(PubObject),
    .tp_dealloc = (destructor)pub_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Paillier public-key context (wrapped by mpc.paillier.PaillierPublicKey).",
    .tp_methods = pub_methods,
    .tp_getset = pub_getset,
    .tp_new = pub_new,
};

/* ---- private context ----------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    size_t nbytes, cbytes;
    pai_half_t half[2]; /* p and q */
    BIGNUM *n, *n2, *qinv_p, *p, *q;
} PrivObject;

static PyTypeObject PrivType;

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
    PrivObject *o = PyObject_New(PrivObject, &PrivType);
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
    if (!check_items(&cs, o->cbytes, &count, "ciphertexts")) {
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
    size_t nw = clamp_workers(workers, count);
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
            run_jobs(dec_worker, jobs, sizeof jobs[0], 2);
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
        run_jobs(dec_worker, jobs, sizeof jobs[0], nw);
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

static PyTypeObject PrivType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "mpc._native.PaillierPrivate",
    .tp_basicsize = sizeof(PrivObject),
    .tp_dealloc = (destructor)priv_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Paillier private-key context (wrapped by mpc.paillier.PaillierPrivateKey).",
    .tp_methods = priv_methods,
    .tp_new = priv_new,
};

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
        run_jobs(prime_worker, jobs, sizeof jobs[0], 2);
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
    if (PyType_Ready(&PubType) < 0 || PyType_Ready(&PrivType) < 0)
        return -1;
    Py_INCREF(&PubType);
    if (PyModule_AddObject(m, "PaillierPublic", (PyObject *)&PubType) < 0)
        return -1;
    Py_INCREF(&PrivType);
    if (PyModule_AddObject(m, "PaillierPrivate", (PyObject *)&PrivType) < 0)
        return -1;
    if (PyModule_AddIntConstant(m, "PAILLIER_MAX_WORKERS", PAI_MAX_WORKERS) < 0 ||
        PyModule_AddIntConstant(m, "PAILLIER_WIRE_VERSION", PAI_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "PAILLIER_MIN_BITS", PAI_MIN_BITS) < 0)
        return -1;
    return 0;
}
