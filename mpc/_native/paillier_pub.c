/* Area 'paillier': the public-key context (encryption, homomorphic operations, checks).
 * See paillier.c for the layout of the area. */
#include "paillier.h"

#include <openssl/rand.h>
#include <pythread.h>
#include <stdlib.h>
#include <string.h>

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
    PubObject *o = PyObject_New(PubObject, &pai_PubType);
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
    pai_mpz_from_be(o->n, nb.buf, (size_t)nb.len);
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
        pai_mpz_from_be(y, ybytes, o->nbytes);
    } else {
        uint8_t *buf = malloc(o->nbytes + 16);
        if (!buf || RAND_bytes(buf, (int)o->nbytes + 16) != 1) {
            free(buf);
            goto done;
        }
        pai_mpz_from_be(y, buf, o->nbytes + 16);
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
            if (!pai_limbs_lt(rp, o->M.N, L, tmp)) {
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
            if (!pai_limbs_lt(gm, o->M.N, L, tmp)) {
                j->status = RS_ERR_VALUE;
                break;
            }
        } else {
            /* gm = 1 + m * n < n^2 */
            pai_be_to_limbs(ml, o->Ln, j->in + k * o->nbytes, o->nbytes);
            if (!pai_limbs_lt(ml, o->nl, o->Ln, tmp)) {
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
    size_t nw = pai_clamp_workers(workers, count);
    enc_job jobs[PAI_MAX_WORKERS];
    for (size_t i = 0; i < nw; i++) {
        jobs[i] = (enc_job){o, mode, use_ifma, in, obf, fixed_a, (uint8_t *)PyBytes_AS_STRING(out),
                            count * i / nw, count * (i + 1) / nw, RS_OK};
    }
    if (count * (mode == MODE_ENCRYPT_OBF ? 1 : 100) > 4) {
        Py_BEGIN_ALLOW_THREADS
        pai_run_jobs(enc_worker, jobs, sizeof jobs[0], nw);
        Py_END_ALLOW_THREADS
    } else {
        pai_run_jobs(enc_worker, jobs, sizeof jobs[0], nw); /* a few multiplications: keep the GIL */
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

static PyObject *pub_encrypt(PubObject *o, PyObject *args)
{
    Py_buffer ms;
    long workers = 1;
    if (!PyArg_ParseTuple(args, "y*|l:encrypt", &ms, &workers))
        return NULL;
    size_t count;
    PyObject *r = NULL;
    if (pai_check_items(&ms, o->nbytes, &count, "plaintexts"))
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
    if (pai_check_items(&cs, o->cbytes, &count, "ciphertexts"))
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
    if (pai_check_items(&ms, o->nbytes, &count, "plaintexts") &&
        pai_check_items(&obf, o->cbytes, &ocount, "obfuscators")) {
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
    pai_mpz_from_be(M, m.buf, (size_t)m.len);
    pai_mpz_from_be(R, r.buf, (size_t)r.len);
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
            pai_mpz_to_be((uint8_t *)PyBytes_AS_STRING(out), o->cbytes, C);
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
    pai_mpz_from_be(x, b->buf, o->cbytes);
    return 1;
}

static PyObject *ct_out(const PubObject *o, const mpz_t x)
{
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)o->cbytes);
    if (out)
        pai_mpz_to_be((uint8_t *)PyBytes_AS_STRING(out), o->cbytes, x);
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
        pai_mpz_from_be(y, m.buf, (size_t)m.len);
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
                pai_mpz_from_be(e, k.buf, (size_t)k.len);
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
    if (pai_check_items(&cs, o->cbytes, &count, "ciphertexts")) {
        bad = 0;
        mpz_t x, g;
        mpz_inits(x, g, NULL);
        for (size_t i = 0; i < count && !bad; i++) {
            pai_mpz_from_be(x, (const uint8_t *)cs.buf + i * o->cbytes, o->cbytes);
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

PyTypeObject pai_PubType = {
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
