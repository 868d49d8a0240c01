/* Constant-time check of the SM2 core (ctgrind technique): secrets are marked undefined for
 * valgrind memcheck, which then reports every conditional branch and every memory address that
 * depends on them. Built by tests/test_sm2core_ct.py together with mpc/_native/sm2core_arith.c
 * (compiled with -DRS_SM2C_CTGRIND, which declassifies only what SM2 publishes: r, s, and the
 * validity of a scalar) and run under `valgrind --error-exitcode=1`.
 *
 * usage: sm2core_ct portable|adx|control   ("control" branches on a secret on purpose: the test
 * expects valgrind to report it, which shows the checker is live)
 */
#include "rs.h"
#include "sm2core.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <valgrind/memcheck.h>

rs_cpu_t rs_cpu;

int rs_sm3_digest(const uint8_t *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sm3(), NULL) == 1 && n == 32;
}

void rs_secure_zero(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

#define SECRET(p) VALGRIND_MAKE_MEM_UNDEFINED((p), sizeof(p))
#define PUBLIC(p) VALGRIND_MAKE_MEM_DEFINED((p), sizeof(p))

static int fail(const char *what, int st)
{
    fprintf(stderr, "sm2core_ct: %s failed with status %d\n", what, st);
    return 2;
}

int main(int argc, char **argv)
{
    int adx = argc > 1 && strcmp(argv[1], "adx") == 0;
    if (adx)
        rs_cpu.bmi2 = rs_cpu.adx = rs_cpu.avx2 = 1; /* and the AVX2 table scans */
    if (rs_sm2c_init() != RS_SM2C_OK)
        return fail("init", -1);
    if (rs_sm2c_have_adx() != adx)
        return fail("dispatch", -1);

    /* Fixed secrets below n (top byte < 0xff), different per run shape. */
    uint8_t k[32], d[32], d2[32], e[32], sig[64], out[65], out2[65], pub[65], peer[65], x[32];
    uint8_t batch_in[3 * 65], batch_out[3 * 65];
    for (int i = 0; i < 32; i++) {
        k[i] = (uint8_t)(0x5a ^ (i * 29));
        d[i] = (uint8_t)(0x3c + i * 7);
        d2[i] = (uint8_t)(0x71 ^ (i * 13));
        e[i] = (uint8_t)(i * 31);
    }
    k[0] = d[0] = d2[0] = 0x7f;
    if (argc > 1 && strcmp(argv[1], "control") == 0) {
        volatile int sink = 0;
        SECRET(k);
        if (k[7] & 1) /* deliberately secret-dependent */
            sink = 1;
        return sink;
    }
    int st;
    if ((st = rs_sm2c_public_key(pub, d)) != RS_SM2C_OK)
        return fail("public_key", st);
    if ((st = rs_sm2c_public_key(peer, d2)) != RS_SM2C_OK)
        return fail("public_key", st);
    /* public keys: results of the blinded inversion carry the blinding value in memcheck's
     * view, so say that they are public */
    PUBLIC(pub);
    PUBLIC(peer);
    for (int i = 0; i < 3; i++)
        memcpy(batch_in + 65 * i, i ? peer : pub, 65);

    /* ---- secrets from here on ---- */
    SECRET(k);
    SECRET(d);

    if ((st = rs_sm2c_scalar_base_mult(out, k)) != RS_SM2C_OK)
        return fail("scalar_base_mult", st);
    if ((st = rs_sm2c_scalar_mult(out2, k, pub)) != RS_SM2C_OK)
        return fail("scalar_mult", st);
    if ((st = rs_sm2c_scalar_mult_batch(batch_out, k, batch_in, 3, NULL)) != RS_SM2C_OK)
        return fail("scalar_mult_batch", st);
    PUBLIC(batch_out);
    PUBLIC(out2);
    if (memcmp(batch_out, out2, 65) != 0)
        return fail("batch consistency", -1);

    {
        /* odd and even scalars (the odd-digit recoding flips k -> n - k by mask), and the
         * fixed-base comb of another point (the OPRF client's r * K) */
        uint8_t ks[64], kev[32], fo[2 * 65], r1[65], r2[65];
        rs_sm2c_fixed *fx = NULL;
        memcpy(ks, k, 32);
        memcpy(ks + 32, d2, 32);
        memcpy(kev, k, 32);
        kev[31] &= 0xfe;
        if ((st = rs_sm2c_scalar_mult(r1, kev, peer)) != RS_SM2C_OK)
            return fail("scalar_mult (even k)", st);
        if ((st = rs_sm2c_scalar_base_mult(r2, kev)) != RS_SM2C_OK)
            return fail("scalar_base_mult (even k)", st);
        if ((st = rs_sm2c_fixed_new(&fx, peer)) != RS_SM2C_OK)
            return fail("fixed_new", st);
        SECRET(ks);
        if ((st = rs_sm2c_fixed_mult(fx, fo, ks, 2)) != RS_SM2C_OK)
            return fail("fixed_mult", st);
        if ((st = rs_sm2c_fixed_mult(NULL, fo, ks, 2)) != RS_SM2C_OK)
            return fail("fixed_mult (G)", st);
        if ((st = rs_sm2c_fixed_mult(fx, fo, ks, 2)) != RS_SM2C_OK)
            return fail("fixed_mult", st);
        rs_sm2c_fixed_free(fx);
        PUBLIC(fo);
        PUBLIC(r1);
        uint8_t kp[65];
        PUBLIC(ks);
        if ((st = rs_sm2c_scalar_mult(kp, ks, peer)) != RS_SM2C_OK)
            return fail("scalar_mult (check)", st);
        PUBLIC(kp);
        if (memcmp(kp, fo, 65) != 0)
            return fail("fixed-base comb consistency", -1);
        SECRET(ks);
    }

    if ((st = rs_sm2c_sign_digest_with_k(sig, d, e, k)) != RS_SM2C_OK)
        return fail("sign_digest_with_k", st);
    if ((st = rs_sm2c_sign_digest(sig, d, e)) != RS_SM2C_OK)
        return fail("sign_digest", st);
    if ((st = rs_sm2c_sign(sig, d, pub, (const uint8_t *)"ct", 2, (const uint8_t *)"1234567812345678",
                           16)) != RS_SM2C_OK)
        return fail("sign", st);
    if ((st = rs_sm2c_static_agree(x, d, peer)) != RS_SM2C_OK)
        return fail("static_agree", st);
    {
        uint8_t s1[32], wide[48];
        memset(wide, 0xa5, sizeof wide);
        SECRET(wide);
        if ((st = rs_sm2c_scalar_inv(s1, k)) != RS_SM2C_OK)
            return fail("scalar_inv", st);
        if ((st = rs_sm2c_scalar_mul(s1, s1, d)) != RS_SM2C_OK)
            return fail("scalar_mul", st);
        if ((st = rs_sm2c_scalar_sub(s1, s1, k)) != RS_SM2C_OK)
            return fail("scalar_sub", st);
        if ((st = rs_sm2c_scalar_add(s1, s1, d)) != RS_SM2C_OK)
            return fail("scalar_add", st);
        if ((st = rs_sm2c_scalar_reduce(s1, wide, sizeof wide)) != RS_SM2C_OK)
            return fail("scalar_reduce", st);
    }

    /* the results are right (checked on declassified copies) */
    PUBLIC(sig);
    if ((st = rs_sm2c_verify(pub, (const uint8_t *)"ct", 2, (const uint8_t *)"1234567812345678", 16,
                             sig, 0)) != RS_SM2C_OK)
        return fail("verify of the signature made under valgrind", st);
    PUBLIC(x);
    uint8_t x2[32];
    PUBLIC(d);
    SECRET(d2);
    if ((st = rs_sm2c_static_agree(x2, d2, pub)) != RS_SM2C_OK)
        return fail("static_agree (peer)", st);
    PUBLIC(x2);
    if (memcmp(x, x2, 32) != 0)
        return fail("static agreement consistency", -1);
    printf("sm2core_ct: %s path ok\n", adx ? "bmi2/adx" : "portable");
    return 0;
}
