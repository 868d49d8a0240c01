/* Shared declarations of the riskshare native core.
 *
 * Conventions (see mpc/_binding.py):
 *  - one area per file (sm3.c, sm4.c, sm2.c, ec.c, paillier.c, ot.c, ...); each exports
 *    `PyMethodDef rs_<area>_methods[]` and `int rs_<area>_init(PyObject *module)`, registered in
 *    module.c;
 *  - functions take and return bytes / buffers, validate lengths, and raise through
 *    rs_raise(status, message) so that Python sees the typed exception mapped in _binding.py;
 *  - long work runs between Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS;
 *  - CPU-specific code is selected at run time from rs_cpu, which tests can force to the
 *    portable path with _native.set_portable(True).
 */
#ifndef RS_H
#define RS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stddef.h>

/* Status codes; _binding.py maps each to an exception class. Keep in sync with STATUS_* there. */
enum rs_status {
    RS_OK = 0,
    RS_ERR_VALUE = 1,     /* ValueError: bad length, range, encoding */
    RS_ERR_TYPE = 2,      /* TypeError */
    RS_ERR_SIGNATURE = 3, /* InvalidSignature */
    RS_ERR_TAG = 4,       /* InvalidTag (AEAD) */
    RS_ERR_PROOF = 5,     /* InvalidProof (DLEQ, Merkle, ...) */
    RS_ERR_POINT = 6,     /* InvalidPoint: not on curve, infinity, bad encoding */
    RS_ERR_DECRYPT = 7,   /* DecryptionError: SM2/Paillier ciphertext rejected */
    RS_ERR_OVERFLOW = 8,  /* PaillierOverflow / arithmetic overflow */
    RS_ERR_PROTOCOL = 9,  /* ProtocolAbort */
    RS_ERR_INTERNAL = 10, /* InternalError: OpenSSL / GMP failure, carries the library's text */
    RS_ERR_NOMEM = 11,    /* MemoryError */
    RS_STATUS_COUNT = 12
};

/* Raise the exception mapped to `status` with `msg`; returns NULL for `return rs_raise(...)`. */
PyObject *rs_raise(int status, const char *msg);
/* Raise InternalError with the queued OpenSSL error text appended to `what`. */
PyObject *rs_raise_openssl(const char *what);

/* Effective CPU features (cleared by set_portable(True)). */
typedef struct {
    int pclmul, aesni, sse41, avx2, bmi2, adx, avx512f, avx512ifma, vaes, vpclmul;
} rs_cpu_t;
extern rs_cpu_t rs_cpu;

/* Work above this many bytes releases the GIL. */
#define RS_GIL_THRESHOLD 4096

/* Constant-time helpers. */
int rs_ct_memeq(const void *a, const void *b, size_t n);
void rs_secure_zero(void *p, size_t n);

/* Primitives shared between areas (defined in sm3.c). Safe to call without the GIL. */
int rs_sm3_digest(const uint8_t *data, size_t len, uint8_t out[32]);
int rs_sm3_kdf(const uint8_t *z, size_t zlen, uint8_t *out, size_t outlen);

#define RS_DECLARE_AREA(name)                    \
    extern PyMethodDef rs_##name##_methods[];    \
    int rs_##name##_init(PyObject *module);

RS_DECLARE_AREA(core)
RS_DECLARE_AREA(sm3)
RS_DECLARE_AREA(sm4)
RS_DECLARE_AREA(sm2)
RS_DECLARE_AREA(ec)
RS_DECLARE_AREA(paillier)
RS_DECLARE_AREA(ot)
RS_DECLARE_AREA(sm2core)
RS_DECLARE_AREA(merkle)

#endif
