/* Area 'paillier': one CRT half of decryption, with constant-time exponentiation.
 *
 * The secret exponent p - 1 is applied with the AVX-512 IFMA code of paillier_ifma.c when the
 * CPU has it, otherwise with OpenSSL's BN_mod_exp_mont_consttime, which measured faster at a
 * 2048-bit modulus than GMP's mpz_powm_sec (ERRATA). The division by p and the product with
 * h_p use BN's constant-time division (BN_FLG_CONSTTIME on p). */
#include "paillier.h"

int pai_half_init(pai_half_t *h, const BIGNUM *p, const BIGNUM *q, BN_CTX *ctx)
{
    memset(h, 0, sizeof *h);
    h->p = BN_secure_new();
    h->p2 = BN_secure_new();
    h->pm1 = BN_secure_new();
    h->hp = BN_secure_new();
    h->mont_p2 = BN_MONT_CTX_new();
    if (!h->p || !h->p2 || !h->pm1 || !h->hp || !h->mont_p2 || !BN_copy(h->p, p))
        return 0;
    BN_set_flags(h->p, BN_FLG_CONSTTIME);
    BN_set_flags(h->p2, BN_FLG_CONSTTIME);
    BN_set_flags(h->pm1, BN_FLG_CONSTTIME);
    BN_set_flags(h->hp, BN_FLG_CONSTTIME);
    BN_CTX_start(ctx);
    BIGNUM *t = BN_CTX_get(ctx);
    /* L_p((n + 1)^(p - 1) mod p^2) = (p - 1) q = -q mod p, so h_p = (-q)^-1 mod p. */
    int ok = t && BN_sqr(h->p2, h->p, ctx) && BN_sub(h->pm1, h->p, BN_value_one()) &&
             BN_MONT_CTX_set(h->mont_p2, h->p2, ctx) && BN_mod(t, q, h->p, ctx) &&
             BN_sub(t, h->p, t) && BN_mod_inverse(h->hp, t, h->p, ctx) != NULL;
    BN_CTX_end(ctx);
    if (ok)
        h->ifma = pai_ifma_exp_ctx_new(h->p2);
    return ok;
}

void pai_half_free(pai_half_t *h)
{
    BN_clear_free(h->p);
    BN_clear_free(h->p2);
    BN_clear_free(h->pm1);
    BN_clear_free(h->hp);
    BN_MONT_CTX_free(h->mont_p2);
    pai_ifma_exp_ctx_free(h->ifma);
    memset(h, 0, sizeof *h);
}

int pai_half_decrypt(const pai_half_t *h, BIGNUM *res, const BIGNUM *c, BN_CTX *ctx)
{
    int st = RS_ERR_INTERNAL;
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx), *r = BN_CTX_get(ctx);
    if (!r || !BN_nnmod(x, c, h->p2, ctx) || !BN_mod(y, x, h->p, ctx))
        goto done;
    if (BN_is_zero(y)) {
        st = RS_ERR_DECRYPT;
        goto done;
    }
    if (!pai_ifma_exp(h->ifma, y, x, h->pm1, ctx) &&
        !BN_mod_exp_mont_consttime(y, x, h->pm1, h->p2, ctx, h->mont_p2))
        goto done;
    if (!BN_sub_word(y, 1) || !BN_div(y, r, y, h->p, ctx) || !BN_mod_mul(res, y, h->hp, h->p, ctx))
        goto done;
    st = RS_OK;
done:
    if (x)
        BN_clear(x);
    if (y)
        BN_clear(y);
    BN_CTX_end(ctx);
    return st;
}
