/* Area 'paillier': AVX-512 IFMA Montgomery arithmetic (placeholder: portable path only). */
#include "paillier.h"

int pai_ifma_active(void) { return 0; }
void pai_ifma_mont_init(pai_mont_t *M) { M->ifma = NULL; }
void pai_ifma_mont_free(pai_mont_t *M) { M->ifma = NULL; }
int pai_ifma_table_build(const mp_limb_t *table, size_t positions, size_t W, const pai_mont_t *M, void **out)
{
    (void)table; (void)positions; (void)W; (void)M;
    *out = NULL;
    return 1;
}
void pai_ifma_table_free(void **t) { *t = NULL; }
int pai_ifma_fixed_base(const void *table, const pai_mont_t *M, mp_limb_t *acc, const uint8_t *a, size_t alen)
{
    (void)table; (void)M; (void)acc; (void)a; (void)alen;
    return 0;
}
void *pai_ifma_exp_ctx_new(const BIGNUM *m) { (void)m; return NULL; }
void pai_ifma_exp_ctx_free(void *c) { (void)c; }
int pai_ifma_exp(const void *c, BIGNUM *r, const BIGNUM *b, const BIGNUM *e, BN_CTX *ctx)
{
    (void)c; (void)r; (void)b; (void)e; (void)ctx;
    return 0;
}
