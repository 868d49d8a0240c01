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

/* x = c mod p^2; RS_ERR_DECRYPT when c = 0 mod p. */
static int half_reduce(const pai_half_t *h, BIGNUM *x, BIGNUM *t, const BIGNUM *c, BN_CTX *ctx)
{
    if (!BN_nnmod(x, c, h->p2, ctx) || !BN_mod(t, x, h->p, ctx))
        return RS_ERR_INTERNAL;
    return BN_is_zero(t) ? RS_ERR_DECRYPT : RS_OK;
}

/* res = L_p(y) h_p mod p, with y = c^(p-1) mod p^2 (y is overwritten). */
static int half_finish(const pai_half_t *h, BIGNUM *res, BIGNUM *y, BIGNUM *t, BN_CTX *ctx)
{
    if (!BN_sub_word(y, 1) || !BN_div(y, t, y, h->p, ctx) || !BN_mod_mul(res, y, h->hp, h->p, ctx))
        return RS_ERR_INTERNAL;
    return RS_OK;
}

int pai_half_decrypt(const pai_half_t *h, BIGNUM *res, const BIGNUM *c, BN_CTX *ctx)
{
    int st = RS_ERR_INTERNAL;
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx), *t = BN_CTX_get(ctx);
    if (!t)
        goto done;
    st = half_reduce(h, x, t, c, ctx);
    if (st != RS_OK)
        goto done;
    st = RS_ERR_INTERNAL;
    if (!pai_ifma_exp(h->ifma, y, x, h->pm1, ctx) &&
        !BN_mod_exp_mont_consttime(y, x, h->pm1, h->p2, ctx, h->mont_p2))
        goto done;
    st = half_finish(h, res, y, t, ctx);
done:
    if (t) {
        BN_clear(x);
        BN_clear(y);
        BN_clear(t);
    }
    BN_CTX_end(ctx);
    return st;
}

int pai_both_decrypt(const pai_half_t *h0, const pai_half_t *h1, BIGNUM *res0, BIGNUM *res1, const BIGNUM *c,
                     BN_CTX *ctx)
{
    int st = RS_ERR_INTERNAL;
    BN_CTX_start(ctx);
    BIGNUM *x0 = BN_CTX_get(ctx), *x1 = BN_CTX_get(ctx), *y0 = BN_CTX_get(ctx), *y1 = BN_CTX_get(ctx),
           *t = BN_CTX_get(ctx);
    if (!t)
        goto done;
    st = half_reduce(h0, x0, t, c, ctx);
    if (st == RS_OK)
        st = half_reduce(h1, x1, t, c, ctx);
    if (st != RS_OK)
        goto done;
    if (pai_ifma_exp2(h0->ifma, h1->ifma, y0, y1, x0, x1, h0->pm1, h1->pm1)) {
        st = half_finish(h0, res0, y0, t, ctx);
        if (st == RS_OK)
            st = half_finish(h1, res1, y1, t, ctx);
    } else {
        st = pai_half_decrypt(h0, res0, c, ctx);
        if (st == RS_OK)
            st = pai_half_decrypt(h1, res1, c, ctx);
    }
done:
    if (t) {
        BN_clear(x0);
        BN_clear(x1);
        BN_clear(y0);
        BN_clear(y1);
        BN_clear(t);
    }
    BN_CTX_end(ctx);
    return st;
}
