/* Area 'merkle': the hot loops of RFC 9162 Merkle trees (leaf = H(0x00 || d), node =
 * H(0x01 || l || r)) over SM3 or SHA-256, both 32-byte digests through OpenSSL's EVP.
 *
 * Python (mpc/merkle.py) owns the tree logic and the proof plans; C only hashes in bulk:
 * many leaves at once, the root of many leaf hashes, the complete levels of a tree, the fold of
 * a subtree decomposition and the root implied by an inclusion proof. Every function takes the
 * algorithm code (MERKLE_SM3 / MERKLE_SHA256) first and works on a private EVP_MD_CTX, so it may
 * release the GIL. */
#include "rs.h"

#include <openssl/evp.h>
#include <string.h>

#define MERKLE_HASH_SIZE 32
#define MERKLE_SM3 1
#define MERKLE_SHA256 2
/* Heights above this cannot occur for trees of at most 2^63 leaves. */
#define MERKLE_MAX_HEIGHT 64

static EVP_MD *md_sm3;
static EVP_MD *md_sha256;

typedef struct {
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
} hasher_t;

static const EVP_MD *md_for(int alg)
{
    switch (alg) {
    case MERKLE_SM3:
        return md_sm3;
    case MERKLE_SHA256:
        return md_sha256;
    default:
        return NULL;
    }
}

static int hasher_open(hasher_t *h, int alg)
{
    h->md = md_for(alg);
    if (h->md == NULL) {
        rs_raise(RS_ERR_VALUE, "unknown Merkle hash algorithm code");
        return -1;
    }
    h->ctx = EVP_MD_CTX_new();
    if (h->ctx == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void hasher_close(hasher_t *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

/* out = H(prefix || a || b); b may be NULL. Returns 1 on success. */
static int hash3(hasher_t *h, uint8_t prefix, const uint8_t *a, size_t alen, const uint8_t *b,
                 size_t blen, uint8_t out[MERKLE_HASH_SIZE])
{
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 || EVP_DigestUpdate(h->ctx, &prefix, 1) != 1)
        return 0;
    if (alen && EVP_DigestUpdate(h->ctx, a, alen) != 1)
        return 0;
    if (b != NULL && blen && EVP_DigestUpdate(h->ctx, b, blen) != 1)
        return 0;
    return EVP_DigestFinal_ex(h->ctx, out, &n) == 1 && n == MERKLE_HASH_SIZE;
}

static int node(hasher_t *h, const uint8_t *l, const uint8_t *r, uint8_t out[MERKLE_HASH_SIZE])
{
    uint8_t buf[1 + 2 * MERKLE_HASH_SIZE];
    unsigned int n = 0;
    buf[0] = 0x01;
    memcpy(buf + 1, l, MERKLE_HASH_SIZE);
    memcpy(buf + 1 + MERKLE_HASH_SIZE, r, MERKLE_HASH_SIZE);
    return EVP_DigestInit_ex2(h->ctx, h->md, NULL) == 1 &&
           EVP_DigestUpdate(h->ctx, buf, sizeof buf) == 1 &&
           EVP_DigestFinal_ex(h->ctx, out, &n) == 1 && n == MERKLE_HASH_SIZE;
}

static int check_hashes(const Py_buffer *b, const char *what)
{
    if (b->len % MERKLE_HASH_SIZE != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s must be a concatenation of 32-byte hashes", what);
        rs_raise(RS_ERR_VALUE, msg);
        return -1;
    }
    return 0;
}

/* merkle_leaf_hash(alg, data) -> H(0x00 || data) */
static PyObject *py_leaf_hash(PyObject *self, PyObject *args)
{
    (void)self;
    int alg, ok;
    Py_buffer d;
    hasher_t h;
    uint8_t out[MERKLE_HASH_SIZE];
    if (!PyArg_ParseTuple(args, "iy*:merkle_leaf_hash", &alg, &d))
        return NULL;
    if (hasher_open(&h, alg) < 0) {
        PyBuffer_Release(&d);
        return NULL;
    }
    if (d.len >= RS_GIL_THRESHOLD) {
        Py_BEGIN_ALLOW_THREADS
        ok = hash3(&h, 0x00, d.buf, (size_t)d.len, NULL, 0, out);
        Py_END_ALLOW_THREADS
    } else {
        ok = hash3(&h, 0x00, d.buf, (size_t)d.len, NULL, 0, out);
    }
    hasher_close(&h);
    PyBuffer_Release(&d);
    if (!ok)
        return rs_raise_openssl("Merkle leaf hash");
    return PyBytes_FromStringAndSize((const char *)out, MERKLE_HASH_SIZE);
}

/* merkle_node_hash(alg, left, right) -> H(0x01 || left || right) */
static PyObject *py_node_hash(PyObject *self, PyObject *args)
{
    (void)self;
    int alg, ok = 0;
    Py_buffer l, r;
    hasher_t h;
    uint8_t out[MERKLE_HASH_SIZE];
    if (!PyArg_ParseTuple(args, "iy*y*:merkle_node_hash", &alg, &l, &r))
        return NULL;
    if (l.len != MERKLE_HASH_SIZE || r.len != MERKLE_HASH_SIZE) {
        PyBuffer_Release(&l);
        PyBuffer_Release(&r);
        return rs_raise(RS_ERR_VALUE, "Merkle node children must be 32-byte hashes");
    }
    if (hasher_open(&h, alg) == 0) {
        ok = node(&h, l.buf, r.buf, out);
        hasher_close(&h);
    }
    PyBuffer_Release(&l);
    PyBuffer_Release(&r);
    if (PyErr_Occurred())
        return NULL;
    if (!ok)
        return rs_raise_openssl("Merkle node hash");
    return PyBytes_FromStringAndSize((const char *)out, MERKLE_HASH_SIZE);
}

/* merkle_leaf_hashes(alg, [bytes, ...]) -> concatenated leaf hashes (batch). The buffers are
 * pinned first, then hashed without the GIL. */
static PyObject *py_leaf_hashes(PyObject *self, PyObject *args)
{
    (void)self;
    int alg, ok = 1;
    PyObject *seq_in, *seq = NULL, *out = NULL;
    Py_buffer *bufs = NULL;
    Py_ssize_t got = 0;
    hasher_t h = {NULL, NULL};
    if (!PyArg_ParseTuple(args, "iO:merkle_leaf_hashes", &alg, &seq_in))
        return NULL;
    seq = PySequence_Fast(seq_in, "leaves must be a sequence of bytes-like objects");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (hasher_open(&h, alg) < 0)
        goto done;
    if (n > PY_SSIZE_T_MAX / MERKLE_HASH_SIZE || (bufs = PyMem_Calloc((size_t)n + 1, sizeof *bufs)) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (; got < n; got++)
        if (PyObject_GetBuffer(items[got], &bufs[got], PyBUF_SIMPLE) < 0)
            goto done;
    out = PyBytes_FromStringAndSize(NULL, n * MERKLE_HASH_SIZE);
    if (out == NULL)
        goto done;
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && ok; i++)
        ok = hash3(&h, 0x00, bufs[i].buf, (size_t)bufs[i].len, NULL, 0, o + i * MERKLE_HASH_SIZE);
    Py_END_ALLOW_THREADS
    if (!ok) {
        Py_CLEAR(out);
        rs_raise_openssl("Merkle leaf hash");
    }
done:
    for (Py_ssize_t i = 0; i < got; i++)
        PyBuffer_Release(&bufs[i]);
    PyMem_Free(bufs);
    if (h.ctx)
        hasher_close(&h);
    Py_DECREF(seq);
    return out;
}

/* Root of n >= 1 leaf hashes with a stack of perfect subtree roots (the compact range [0, i)):
 * O(n) hashes, O(log n) memory. */
static int root_of(hasher_t *h, const uint8_t *leaves, size_t n, uint8_t out[MERKLE_HASH_SIZE])
{
    uint8_t stack[MERKLE_MAX_HEIGHT + 1][MERKLE_HASH_SIZE];
    size_t top = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(stack[top++], leaves + i * MERKLE_HASH_SIZE, MERKLE_HASH_SIZE);
        /* Merge while the number of leaves so far has trailing one bits. */
        for (size_t c = i + 1; (c & 1) == 0; c >>= 1) {
            if (!node(h, stack[top - 2], stack[top - 1], stack[top - 2]))
                return 0;
            top--;
        }
    }
    /* Fold the remaining perfect subtrees right to left (RFC 9162's unbalanced right edge). */
    while (top > 1) {
        if (!node(h, stack[top - 2], stack[top - 1], stack[top - 2]))
            return 0;
        top--;
    }
    memcpy(out, stack[0], MERKLE_HASH_SIZE);
    return 1;
}

/* merkle_compact_extend(alg, size, frontier, leaf_hashes) -> new frontier: appends many leaf
 * hashes to the compact range [0, size) given by its perfect-subtree roots (largest first). */
static PyObject *py_compact_extend(PyObject *self, PyObject *args)
{
    (void)self;
    int alg, ok = 1;
    unsigned long long size;
    Py_buffer fr, lv;
    hasher_t h;
    uint8_t stack[MERKLE_MAX_HEIGHT + 1][MERKLE_HASH_SIZE];
    if (!PyArg_ParseTuple(args, "iKy*y*:merkle_compact_extend", &alg, &size, &fr, &lv))
        return NULL;
    size_t top = (size_t)__builtin_popcountll(size);
    if (check_hashes(&fr, "frontier") < 0 || check_hashes(&lv, "leaf hashes") < 0 ||
        (size_t)fr.len != top * MERKLE_HASH_SIZE || hasher_open(&h, alg) < 0) {
        if (!PyErr_Occurred())
            rs_raise(RS_ERR_VALUE, "frontier does not match the compact range size");
        PyBuffer_Release(&fr);
        PyBuffer_Release(&lv);
        return NULL;
    }
    memcpy(stack, fr.buf, (size_t)fr.len);
    size_t n = (size_t)lv.len / MERKLE_HASH_SIZE;
    const uint8_t *in = lv.buf;
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < n && ok; i++) {
        memcpy(stack[top++], in + i * MERKLE_HASH_SIZE, MERKLE_HASH_SIZE);
        for (unsigned long long c = size; (c & 1) && ok; c >>= 1) {
            ok = node(&h, stack[top - 2], stack[top - 1], stack[top - 2]);
            top--;
        }
        size++;
    }
    Py_END_ALLOW_THREADS
    hasher_close(&h);
    PyBuffer_Release(&fr);
    PyBuffer_Release(&lv);
    if (!ok)
        return rs_raise_openssl("Merkle node hash");
    return PyBytes_FromStringAndSize((const char *)stack, (Py_ssize_t)(top * MERKLE_HASH_SIZE));
}

/* merkle_root(alg, leaf_hashes) -> root of n >= 1 concatenated leaf hashes */
static PyObject *py_root(PyObject *self, PyObject *args)
{
    (void)self;
    int alg, ok = 0;
    Py_buffer b;
    hasher_t h;
    uint8_t out[MERKLE_HASH_SIZE];
    if (!PyArg_ParseTuple(args, "iy*:merkle_root", &alg, &b))
        return NULL;
    if (check_hashes(&b, "leaf hashes") < 0 || b.len == 0 || hasher_open(&h, alg) < 0) {
        if (!PyErr_Occurred())
            rs_raise(RS_ERR_VALUE, "the root of an empty tree is H(\"\"), not computed here");
        PyBuffer_Release(&b);
        return NULL;
    }
    size_t n = (size_t)b.len / MERKLE_HASH_SIZE;
    Py_BEGIN_ALLOW_THREADS
    ok = root_of(&h, b.buf, n, out);
    Py_END_ALLOW_THREADS
    hasher_close(&h);
    PyBuffer_Release(&b);
    if (!ok)
        return rs_raise_openssl("Merkle root");
    return PyBytes_FromStringAndSize((const char *)out, MERKLE_HASH_SIZE);
}

/* merkle_parents(alg, hashes) -> the parents of consecutive pairs of a level (an odd last
 * element has no parent yet). Called once per level to build the complete-node levels. */
static PyObject *py_parents(PyObject *self, PyObject *args)
{
    (void)self;
    int alg, ok = 1;
    Py_buffer b;
    hasher_t h;
    if (!PyArg_ParseTuple(args, "iy*:merkle_parents", &alg, &b))
        return NULL;
    if (check_hashes(&b, "level hashes") < 0 || hasher_open(&h, alg) < 0) {
        PyBuffer_Release(&b);
        return NULL;
    }
    size_t pairs = (size_t)b.len / MERKLE_HASH_SIZE / 2;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(pairs * MERKLE_HASH_SIZE));
    if (out != NULL) {
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
        const uint8_t *in = b.buf;
        Py_BEGIN_ALLOW_THREADS
        for (size_t i = 0; i < pairs && ok; i++)
            ok = node(&h, in + 2 * i * MERKLE_HASH_SIZE, in + (2 * i + 1) * MERKLE_HASH_SIZE,
                      o + i * MERKLE_HASH_SIZE);
        Py_END_ALLOW_THREADS
    }
    hasher_close(&h);
    PyBuffer_Release(&b);
    if (out != NULL && !ok) {
        Py_DECREF(out);
        return rs_raise_openssl("Merkle node hash");
    }
    return out;
}

/* merkle_fold(alg, hashes) -> node(h0, node(h1, ... node(h_{k-2}, h_{k-1}))): the hash of a
 * range from its perfect subtrees, largest (leftmost) first. */
static PyObject *py_fold(PyObject *self, PyObject *args)
{
    (void)self;
    int alg, ok = 1;
    Py_buffer b;
    hasher_t h;
    uint8_t acc[MERKLE_HASH_SIZE];
    if (!PyArg_ParseTuple(args, "iy*:merkle_fold", &alg, &b))
        return NULL;
    if (check_hashes(&b, "subtree hashes") < 0 || b.len == 0 || hasher_open(&h, alg) < 0) {
        if (!PyErr_Occurred())
            rs_raise(RS_ERR_VALUE, "nothing to fold");
        PyBuffer_Release(&b);
        return NULL;
    }
    size_t k = (size_t)b.len / MERKLE_HASH_SIZE;
    const uint8_t *in = b.buf;
    memcpy(acc, in + (k - 1) * MERKLE_HASH_SIZE, MERKLE_HASH_SIZE);
    for (size_t i = k - 1; i > 0 && ok; i--)
        ok = node(&h, in + (i - 1) * MERKLE_HASH_SIZE, acc, acc);
    hasher_close(&h);
    PyBuffer_Release(&b);
    if (!ok)
        return rs_raise_openssl("Merkle node hash");
    return PyBytes_FromStringAndSize((const char *)acc, MERKLE_HASH_SIZE);
}

/* merkle_inclusion_root(alg, leaf_hash, index, size, proof) -> the root the proof implies
 * (RFC 9162, 2.1.3.2, steps 1-5; the caller compares it with the expected root).
 * Raises InvalidProof when the proof's length does not fit index and size. */
static PyObject *py_inclusion_root(PyObject *self, PyObject *args)
{
    (void)self;
    int alg, ok = 1;
    unsigned long long index, size;
    Py_buffer leaf, proof;
    hasher_t h;
    uint8_t r[MERKLE_HASH_SIZE];
    const char *bad = NULL;
    if (!PyArg_ParseTuple(args, "iy*KKy*:merkle_inclusion_root", &alg, &leaf, &index, &size, &proof))
        return NULL;
    if (leaf.len != MERKLE_HASH_SIZE)
        bad = "leaf hash must be 32 bytes";
    else if (proof.len % MERKLE_HASH_SIZE != 0)
        bad = "proof must be a concatenation of 32-byte hashes";
    if (bad != NULL || hasher_open(&h, alg) < 0) {
        PyBuffer_Release(&leaf);
        PyBuffer_Release(&proof);
        return bad ? rs_raise(RS_ERR_VALUE, bad) : NULL;
    }
    if (index >= size) {
        bad = "leaf index is not below the tree size";
        goto out;
    }
    unsigned long long fn = index, sn = size - 1;
    size_t k = (size_t)proof.len / MERKLE_HASH_SIZE;
    const uint8_t *p = proof.buf;
    memcpy(r, leaf.buf, MERKLE_HASH_SIZE);
    for (size_t i = 0; i < k && ok; i++, p += MERKLE_HASH_SIZE) {
        if (sn == 0) {
            bad = "inclusion proof is too long";
            goto out;
        }
        if ((fn & 1) || fn == sn) {
            ok = node(&h, p, r, r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            ok = node(&h, r, p, r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (ok && sn != 0)
        bad = "inclusion proof is too short";
out:
    hasher_close(&h);
    PyBuffer_Release(&leaf);
    PyBuffer_Release(&proof);
    if (bad != NULL)
        return rs_raise(RS_ERR_PROOF, bad);
    if (!ok)
        return rs_raise_openssl("Merkle node hash");
    return PyBytes_FromStringAndSize((const char *)r, MERKLE_HASH_SIZE);
}

PyMethodDef rs_merkle_methods[] = {
    {"merkle_leaf_hash", py_leaf_hash, METH_VARARGS, "H(0x00 || data)."},
    {"merkle_node_hash", py_node_hash, METH_VARARGS, "H(0x01 || left || right)."},
    {"merkle_leaf_hashes", py_leaf_hashes, METH_VARARGS, "Leaf hashes of many entries, concatenated."},
    {"merkle_compact_extend", py_compact_extend, METH_VARARGS, "Append leaf hashes to a compact range."},
    {"merkle_root", py_root, METH_VARARGS, "Root of n >= 1 concatenated leaf hashes."},
    {"merkle_parents", py_parents, METH_VARARGS, "Parents of consecutive pairs of a level."},
    {"merkle_fold", py_fold, METH_VARARGS, "Right fold of perfect-subtree hashes into a range hash."},
    {"merkle_inclusion_root", py_inclusion_root, METH_VARARGS, "Root implied by an inclusion proof."},
    {NULL, NULL, 0, NULL}};

int rs_merkle_init(PyObject *module)
{
    md_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (md_sm3 == NULL || md_sha256 == NULL) {
        rs_raise_openssl("fetching SM3 / SHA-256 for Merkle trees");
        return -1;
    }
    if (PyModule_AddIntConstant(module, "MERKLE_HASH_SIZE", MERKLE_HASH_SIZE) < 0 ||
        PyModule_AddIntConstant(module, "MERKLE_SM3", MERKLE_SM3) < 0 ||
        PyModule_AddIntConstant(module, "MERKLE_SHA256", MERKLE_SHA256) < 0)
        return -1;
    return 0;
}
