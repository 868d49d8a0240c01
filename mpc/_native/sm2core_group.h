/* Group layer of the SM2 core, instantiated once per field implementation.
 *
 * Included twice by sm2core_arith.c (no include guard on purpose) with
 *   FE_MUL(r, a, b), FE_SQR(r, a): Montgomery multiplication / squaring mod p,
 *   SFX(name): the suffix of this instantiation (_port, _adx),
 * so that no field operation goes through a function pointer. Representation: Jacobian (X, Y, Z)
 * in Montgomery form, infinity is Z = 0; affine table entries (x, y), (0, 0) meaning infinity
 * ((0, 0) is not on the curve since b != 0).
 */

/* r = a^(2^n) */
static ATTR void SFX(fe_sqrn)(u64 r[4], const u64 a[4], int n)
{
    FE_SQR(r, a);
    for (int i = 1; i < n; i++)
        FE_SQR(r, r);
}

/* r = x^(p-2) (Fermat), an addition chain on p-2 = 2^256 - 2^224 - 2^96 + 2^64 - 3:
 * bits from the top: 31 ones, a zero, 128 ones, 32 zeros, 32 ones, 30 ones, 0, 1. Constant time. */
static ATTR void SFX(fe_inv)(u64 r[4], const u64 x[4])
{
    u64 x2[4], x3[4], x6[4], x12[4], x15[4], x30[4], x31[4], x32[4], t[4];
    FE_SQR(t, x);
    FE_MUL(x2, t, x);
    FE_SQR(t, x2);
    FE_MUL(x3, t, x);
    SFX(fe_sqrn)(t, x3, 3);
    FE_MUL(x6, t, x3);
    SFX(fe_sqrn)(t, x6, 6);
    FE_MUL(x12, t, x6);
    SFX(fe_sqrn)(t, x12, 3);
    FE_MUL(x15, t, x3);
    SFX(fe_sqrn)(t, x15, 15);
    FE_MUL(x30, t, x15);
    FE_SQR(t, x30);
    FE_MUL(x31, t, x);
    FE_SQR(t, x31);
    FE_MUL(x32, t, x);
    /* t = x^(2^31 - 1), then one zero bit */
    FE_SQR(t, x31);
    for (int i = 0; i < 4; i++) { /* 128 ones */
        SFX(fe_sqrn)(t, t, 32);
        FE_MUL(t, t, x32);
    }
    SFX(fe_sqrn)(t, t, 32); /* 32 zeros */
    SFX(fe_sqrn)(t, t, 32);
    FE_MUL(t, t, x32); /* 32 ones */
    SFX(fe_sqrn)(t, t, 30);
    FE_MUL(t, t, x30); /* 30 ones */
    SFX(fe_sqrn)(t, t, 2);
    FE_MUL(r, t, x); /* 0, 1 */
}

/* r = x^-1, blinded (see inv_vartime): constant time in x, Fermat without randomness. */
static ATTR void SFX(fe_inv_fast)(u64 r[4], const u64 x[4])
{
    u64 b[4], t[4];
    if (!random_below(b, P_)) {
        SFX(fe_inv)(r, x);
        return;
    }
    FE_MUL(t, x, b); /* Montgomery forms: x = X R, b = B R, t = X B R */
    DECLASSIFY(t, sizeof t);
    int ok = inv_vartime(t, t, P_); /* (X B)^-1 R^-1 */
    if (ok < 0) {
        SFX(fe_inv)(r, x);
    } else if (ok == 0) {
        memset(r, 0, 32); /* x = 0 */
    } else {
        FE_MUL(t, t, R3P); /* (X B)^-1 R */
        FE_MUL(r, t, b);   /* X^-1 R */
    }
    rs_secure_zero(b, sizeof b);
}

/* dbl-2001-b (a = -3), rearranged around Y' = 2Y: gamma' = Y'^2 = 4 gamma, beta' = X gamma' =
 * 4 beta, Z3 = Y' Z, 8 gamma^2 = gamma'^2 / 2. 4M + 4S and ten additions. Infinity stays
 * infinity. r may alias a. */
static ATTR void SFX(pt_dbl)(jac *r, const jac *a)
{
    u64 delta[4], gamma[4], beta[4], alpha[4], y2[4], t0[4], t1[4];
    FE_SQR(delta, a->Z);
    FE_ADD(y2, a->Y, a->Y);
    FE_SQR(gamma, y2);
    FE_MUL(beta, a->X, gamma);
    FE_SUB(t0, a->X, delta);
    FE_ADD(t1, a->X, delta);
    FE_MUL(t1, t0, t1);
    FE_TRIPLE(alpha, t1);
    FE_MUL(r->Z, y2, a->Z);
    FE_SQR(t0, alpha);
    FE_SUB2(r->X, t0, beta);
    FE_SUB(t0, beta, r->X);
    FE_MUL(t1, alpha, t0);
    FE_SQR(t0, gamma);
    FE_SUB_HALF(r->Y, t1, t0);
}

/* add-2007-bl without special cases: 11M + 5S. *hz = H == 0 mask, *rz = (S2 - S1) == 0 mask. */
static ATTR void SFX(pt_add_raw)(jac *r, const jac *a, const jac *b, u64 *hz, u64 *rz)
{
    u64 z1z1[4], z2z2[4], u1[4], u2[4], s1[4], s2[4], h[4], i_[4], j[4], rr[4], v[4], t[4];
    FE_SQR(z1z1, a->Z);
    FE_SQR(z2z2, b->Z);
    FE_MUL(u1, a->X, z2z2);
    FE_MUL(u2, b->X, z1z1);
    FE_MUL(t, b->Z, z2z2);
    FE_MUL(s1, a->Y, t);
    FE_MUL(t, a->Z, z1z1);
    FE_MUL(s2, b->Y, t);
    FE_SUB(h, u2, u1);
    FE_SUB(rr, s2, s1);
    *hz = fe_zero_mask(h);
    *rz = fe_zero_mask(rr);
    FE_ADD(rr, rr, rr);
    FE_ADD(t, h, h);
    FE_SQR(i_, t);
    FE_MUL(j, h, i_);
    FE_MUL(v, u1, i_);
    FE_ADD(t, a->Z, b->Z);
    FE_SQR(t, t);
    FE_SUB(t, t, z1z1);
    FE_SUB(t, t, z2z2);
    FE_MUL(r->Z, t, h);
    FE_SQR(t, rr);
    FE_SUB(t, t, j);
    FE_SUB(t, t, v);
    FE_SUB(r->X, t, v);
    FE_SUB(t, v, r->X);
    FE_MUL(t, rr, t);
    FE_MUL(s1, s1, j);
    FE_ADD(s1, s1, s1);
    FE_SUB(r->Y, t, s1);
}

/* madd-2007-bl (b affine): 7M + 4S, no special cases. */
static ATTR void SFX(pt_madd_raw)(jac *r, const jac *a, const u64 bx[4], const u64 by[4], u64 *hz,
                             u64 *rz)
{
    u64 z1z1[4], u2[4], s2[4], h[4], hh[4], i_[4], j[4], rr[4], v[4], t[4], y1j[4];
    FE_SQR(z1z1, a->Z);
    FE_MUL(u2, bx, z1z1);
    FE_MUL(t, a->Z, z1z1);
    FE_MUL(s2, by, t);
    FE_SUB(h, u2, a->X);
    FE_SUB(rr, s2, a->Y);
    *hz = fe_zero_mask(h);
    *rz = fe_zero_mask(rr);
    FE_ADD(rr, rr, rr);
    FE_SQR(hh, h);
    FE_ADD(i_, hh, hh);
    FE_ADD(i_, i_, i_);
    FE_MUL(j, h, i_);
    FE_MUL(v, a->X, i_);
    FE_MUL(y1j, a->Y, j);
    FE_ADD(t, a->Z, h);
    FE_SQR(t, t);
    FE_SUB(t, t, z1z1);
    FE_SUB(r->Z, t, hh);
    FE_SQR(t, rr);
    FE_SUB(t, t, j);
    FE_SUB(t, t, v);
    FE_SUB(r->X, t, v);
    FE_SUB(t, v, r->X);
    FE_MUL(t, rr, t);
    FE_ADD(y1j, y1j, y1j);
    FE_SUB(r->Y, t, y1j);
}

/* Constant-time complete r = a + (bx, by): binf is an all-ones mask when b is infinity, and
 * infinity on either side, a = b (the doubling is computed and selected by mask) and a = -b
 * (the raw formula gives Z = 0) all come out right. */
static ATTR void SFX(pt_madd_complete_ct)(jac *r, const jac *a, const u64 bx[4], const u64 by[4],
                                          u64 binf)
{
    jac t, d, bj;
    u64 hz, rz;
    SFX(pt_madd_raw)(&t, a, bx, by, &hz, &rz);
    SFX(pt_dbl)(&d, a);
    jac_cmov(&t, &d, hz & rz);
    memcpy(bj.X, bx, 32);
    memcpy(bj.Y, by, 32);
    memcpy(bj.Z, FE_ONE, 32);
    jac_cmov(&t, &bj, fe_zero_mask(a->Z));
    jac_cmov(&t, a, binf);
    *r = t;
}

/* Variable-time complete addition (public points). */
static ATTR void SFX(pt_add_vartime)(jac *r, const jac *a, const jac *b)
{
    if (fe_is_zero(a->Z)) {
        *r = *b;
        return;
    }
    if (fe_is_zero(b->Z)) {
        *r = *a;
        return;
    }
    jac t;
    u64 hz, rz;
    SFX(pt_add_raw)(&t, a, b, &hz, &rz);
    if (hz) {
        if (rz)
            SFX(pt_dbl)(&t, a);
        else
            memset(&t, 0, sizeof t);
    }
    *r = t;
}

static ATTR void SFX(pt_madd_vartime)(jac *r, const jac *a, const u64 bx[4], const u64 by[4])
{
    if (fe_is_zero(a->Z)) {
        memcpy(r->X, bx, 32);
        memcpy(r->Y, by, 32);
        memcpy(r->Z, FE_ONE, 32);
        return;
    }
    jac t;
    u64 hz, rz;
    SFX(pt_madd_raw)(&t, a, bx, by, &hz, &rz);
    if (hz) {
        if (rz)
            SFX(pt_dbl)(&t, a);
        else
            memset(&t, 0, sizeof t);
    }
    *r = t;
}

/* Affine (x, y) of a non-infinity Jacobian point, constant time. `blinded`: invert with the
 * blinded GMP inversion (secret-derived points; the result carries the blinding value in the
 * checker's view) rather than Fermat's chain (public points). */
static ATTR void SFX(pt_to_affine)(u64 x[4], u64 y[4], const jac *a, int blinded)
{
    u64 zi[4], zi2[4], t[4];
    if (blinded)
        SFX(fe_inv_fast)(zi, a->Z);
    else
        SFX(fe_inv)(zi, a->Z);
    FE_SQR(zi2, zi);
    FE_MUL(x, a->X, zi2);
    FE_MUL(t, zi2, zi);
    FE_MUL(y, a->Y, t);
}

/* Batch affine conversion with one inversion (Montgomery's trick); blinded: 0 Fermat, 1 blinded
 * (secret points), 2 GMP in variable time (public points only). Points at infinity come out
 * as (0, 0) (their Z is replaced by one, by mask, so they do not spoil the product). Constant
 * time in the values; `scratch` holds n field elements. */
static ATTR void SFX(batch_to_affine)(aff *out, const jac *in, size_t n, u64 (*scratch)[4],
                                      int blinded)
{
    u64 inv[4], t[4], z[4], zi2[4];
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        u64 inf = fe_zero_mask(in[i].Z);
        fe_select(z, in[i].Z, FE_ONE, inf);
        if (i == 0)
            memcpy(scratch[0], z, 32);
        else
            FE_MUL(scratch[i], scratch[i - 1], z);
    }
    if (blinded == 1) {
        SFX(fe_inv_fast)(inv, scratch[n - 1]);
    } else if (blinded == 2 && inv_vartime(inv, scratch[n - 1], P_) > 0) {
        FE_MUL(inv, inv, R3P); /* public points: GMP on the Montgomery form, then fix R */
    } else {
        SFX(fe_inv)(inv, scratch[n - 1]);
    }
    for (size_t i = n; i-- > 0;) {
        u64 inf = fe_zero_mask(in[i].Z);
        fe_select(z, in[i].Z, FE_ONE, inf);
        if (i > 0) {
            FE_MUL(t, inv, scratch[i - 1]); /* 1/Z_i */
            FE_MUL(inv, inv, z);
        } else {
            memcpy(t, inv, 32);
        }
        FE_SQR(zi2, t);
        FE_MUL(out[i].x, in[i].X, zi2);
        FE_MUL(zi2, zi2, t);
        FE_MUL(out[i].y, in[i].Y, zi2);
        for (int l = 0; l < 4; l++) {
            out[i].x[l] &= ~inf;
            out[i].y[l] &= ~inf;
        }
    }
}

/* acc += k * Q through a comb table of Q (public k: direct indexing, variable time). */
static ATTR void SFX(comb_vartime)(jac *acc, const aff *table, int w, int windows, const uint8_t *dig)
{
    size_t per = (size_t)1 << (w - 1);
    u64 ny[4];
    for (int i = 0; i < windows; i++) {
        unsigned d = dig[i] >> 1;
        if (d == 0)
            continue;
        const aff *e = table + (size_t)i * per + (d - 1);
        if (dig[i] & 1) {
            fe_neg(ny, e->y);
            SFX(pt_madd_vartime)(acc, acc, e->x, ny);
        } else {
            SFX(pt_madd_vartime)(acc, acc, e->x, e->y);
        }
    }
}

/* Comb table of P: windows x 2^(w-1) affine points, entry [i][j] = (j+1) * 2^(w*i) * P.
 * Returns 0 or -1 (out of memory). Public P, variable time. */
static ATTR int SFX(build_comb)(aff *table, const jac *p, int w, int windows)
{
    size_t per = (size_t)1 << (w - 1), total = per * (size_t)windows;
    jac *tmp = malloc(total * sizeof(jac));
    u64(*scratch)[4] = malloc(total * 32);
    if (tmp == NULL || scratch == NULL) {
        free(tmp);
        free(scratch);
        return -1;
    }
    jac base = *p;
    for (int i = 0; i < windows; i++) {
        jac *row = tmp + (size_t)i * per;
        row[0] = base;
        for (size_t j = 1; j < per; j++) {
            if (j % 2 == 1)
                SFX(pt_dbl)(&row[j], &row[j / 2]);
            else
                SFX(pt_add_vartime)(&row[j], &row[j - 1], &base);
        }
        for (int k = 0; k < w; k++)
            SFX(pt_dbl)(&base, &base);
    }
    SFX(batch_to_affine)(table, tmp, total, scratch, 0);
    free(tmp);
    free(scratch);
    return 0;
}

/* Straus / wNAF interleaving: acc = sum k_i * P_i for public k_i, P_i. `tables` holds
 * count * WNAF_TABLE affine odd multiples (P, 3P, ..., 15P); naf holds count * 257 digits. */
static ATTR void SFX(straus_vartime)(jac *acc, const aff *tables, const int8_t *naf, size_t count,
                                int top)
{
    u64 ny[4];
    memset(acc, 0, sizeof *acc);
    for (int bit = top; bit >= 0; bit--) {
        SFX(pt_dbl)(acc, acc);
        for (size_t i = 0; i < count; i++) {
            int d = naf[i * NAF_LEN + (size_t)bit];
            if (d == 0)
                continue;
            const aff *e = tables + i * WNAF_TABLE + (size_t)((d < 0 ? -d : d) >> 1);
            if (d < 0) {
                fe_neg(ny, e->y);
                SFX(pt_madd_vartime)(acc, acc, e->x, ny);
            } else {
                SFX(pt_madd_vartime)(acc, acc, e->x, e->y);
            }
        }
    }
}

/* Odd multiples P, 3P, ..., (2*WNAF_TABLE-1)P as Jacobian points. */
static ATTR void SFX(odd_multiples)(jac *T, const jac *p)
{
    jac p2;
    SFX(pt_dbl)(&p2, p);
    T[0] = *p;
    for (int i = 1; i < WNAF_TABLE; i++)
        SFX(pt_add_vartime)(&T[i], &T[i - 1], &p2);
}

/* acc = u1 G + u2 P (public) in one doubling chain: width-8 wNAF of u1 over the precomputed odd
 * multiples of G, width-5 wNAF of u2 over P's odd multiples made affine with one inversion. */
static ATTR void SFX(double_wnaf_vartime)(jac *acc, const aff *tg, const int8_t *nafg, int topg,
                                          const jac *p, const int8_t *nafp, int topp)
{
    jac T[WNAF_TABLE];
    aff tp[WNAF_TABLE];
    u64 scratch[WNAF_TABLE][4], ny[4];
    SFX(odd_multiples)(T, p);
    SFX(batch_to_affine)(tp, T, WNAF_TABLE, scratch, 2);
    memset(acc, 0, sizeof *acc);
    int top = topg > topp ? topg : topp;
    for (int bit = top; bit >= 0; bit--) {
        if (!fe_is_zero(acc->Z))
            SFX(pt_dbl)(acc, acc);
        int d = nafp[bit];
        if (d != 0) {
            const aff *e = &tp[(d < 0 ? -d : d) >> 1];
            if (d < 0) {
                fe_neg(ny, e->y);
                SFX(pt_madd_vartime)(acc, acc, e->x, ny);
            } else {
                SFX(pt_madd_vartime)(acc, acc, e->x, e->y);
            }
        }
        d = nafg[bit];
        if (d != 0) {
            const aff *e = &tg[(d < 0 ? -d : d) >> 1];
            if (d < 0) {
                fe_neg(ny, e->y);
                SFX(pt_madd_vartime)(acc, acc, e->x, ny);
            } else {
                SFX(pt_madd_vartime)(acc, acc, e->x, e->y);
            }
        }
    }
}

/* ---- odd-digit scalar multiplication (every digit odd, never zero) ---------------------- */

/* r = x^((p+1)/4), the square root candidate, by an addition chain on the exponent's bits from
 * the top: 31 ones, a zero, 128 ones, 31 zeros, a one, 62 zeros (254 squarings and 14
 * multiplications, against 320 operations for fixed 4-bit windows). Public inputs only. */
static ATTR void SFX(fe_sqrt_cand)(u64 r[4], const u64 x[4])
{
    u64 x2[4], x3[4], x6[4], x12[4], x15[4], x30[4], x31[4], x32[4], t[4];
    FE_SQR(t, x);
    FE_MUL(x2, t, x);
    FE_SQR(t, x2);
    FE_MUL(x3, t, x);
    SFX(fe_sqrn)(t, x3, 3);
    FE_MUL(x6, t, x3);
    SFX(fe_sqrn)(t, x6, 6);
    FE_MUL(x12, t, x6);
    SFX(fe_sqrn)(t, x12, 3);
    FE_MUL(x15, t, x3);
    SFX(fe_sqrn)(t, x15, 15);
    FE_MUL(x30, t, x15);
    FE_SQR(t, x30);
    FE_MUL(x31, t, x);
    FE_SQR(t, x31);
    FE_MUL(x32, t, x);
    FE_SQR(t, x31); /* 31 ones, one zero */
    for (int i = 0; i < 4; i++) { /* 128 ones */
        SFX(fe_sqrn)(t, t, 32);
        FE_MUL(t, t, x32);
    }
    SFX(fe_sqrn)(t, t, 32); /* 31 zeros, a one */
    FE_MUL(t, t, x);
    SFX(fe_sqrn)(r, t, 62); /* 62 zeros */
}

/* Co-Z addition (Meloni's ZADDU): a and b share Z; r = a + b, and a is rewritten as the same
 * point over r's Z. 5M + 2S. a != +-b, neither infinity (public odd multiples only). r must
 * not alias a or b. */
static ATTR void SFX(zaddu)(jac *r, jac *a, const jac *b, u64 h[4])
{
    u64 c[4], w1[4], w2[4], d[4], a1[4], dy[4], t[4];
    FE_SUB(h, a->X, b->X);
    FE_SQR(c, h);
    FE_MUL(w1, a->X, c);
    FE_MUL(w2, b->X, c);
    FE_SUB(dy, a->Y, b->Y);
    FE_SQR(d, dy);
    FE_SUB(t, w1, w2);
    FE_MUL(a1, a->Y, t);
    FE_MUL(r->Z, a->Z, h);
    FE_SUB(t, d, w1);
    FE_SUB(r->X, t, w2);
    FE_SUB(t, w1, r->X);
    FE_MUL(t, dy, t);
    FE_SUB(r->Y, t, a1);
    memcpy(a->X, w1, 32);
    memcpy(a->Y, a1, 32);
    memcpy(a->Z, r->Z, 32);
}

/* Odd multiples P, 3P, ..., (2 VAR_TABLE - 1) P of a public affine P as Jacobian points: a
 * co-Z doubling (DBLU: 2P and P over the same Z) and co-Z additions of 2P. Each addition
 * multiplies Z by a known factor: T[j].Z = T[j-1].Z * zr[j] (zr[0] is not set). */
static ATTR void SFX(odd_table_coz)(jac T[VAR_TABLE], u64 zr[VAR_TABLE][4], const aff *p)
{
    u64 b[4], e[4], l[4], s[4], m[4], t[4];
    jac d;
    FE_SQR(b, p->x);
    FE_SQR(e, p->y);
    FE_SQR(l, e);
    FE_ADD(t, p->x, e);
    FE_SQR(t, t);
    FE_SUB(t, t, b);
    FE_SUB(t, t, l);
    FE_ADD(s, t, t); /* 4 x y^2 */
    FE_SUB(t, b, FE_ONE);
    FE_ADD(m, t, t);
    FE_ADD(m, m, t); /* 3 x^2 + a, a = -3 */
    FE_SQR(t, m);
    FE_SUB(t, t, s);
    FE_SUB(d.X, t, s);
    FE_SUB(t, s, d.X);
    FE_MUL(t, m, t);
    FE_ADD(l, l, l);
    FE_ADD(l, l, l);
    FE_ADD(l, l, l); /* 8 y^4 */
    FE_SUB(d.Y, t, l);
    FE_ADD(d.Z, p->y, p->y);
    memcpy(T[0].X, s, 32);
    memcpy(T[0].Y, l, 32);
    memcpy(T[0].Z, d.Z, 32);
    for (int j = 1; j < VAR_TABLE; j++)
        SFX(zaddu)(&T[j], &d, &T[j - 1], zr[j]);
}

/* Affine form of an odd_table_coz table from zinv = 1 / T[VAR_TABLE - 1].Z: the other inverses
 * follow from the Z ratios (one multiplication each, no further inversion). Public data. */
static ATTR void SFX(odd_table_affine)(aff ta[VAR_TABLE], const jac T[VAR_TABLE],
                                       const u64 zr[VAR_TABLE][4], const u64 zinv[4])
{
    u64 zi[4], zi2[4], t[4];
    memcpy(zi, zinv, 32);
    for (int j = VAR_TABLE - 1; j >= 0; j--) {
        FE_SQR(zi2, zi);
        FE_MUL(ta[j].x, T[j].X, zi2);
        FE_MUL(t, zi2, zi);
        FE_MUL(ta[j].y, T[j].Y, t);
        if (j > 0)
            FE_MUL(zi, zi, zr[j]);
    }
}

/* r = 1 / a for public a != 0: GMP on the Montgomery form (then corrected by R^3), Fermat if
 * GMP is not usable. */
static ATTR void SFX(fe_inv_public)(u64 r[4], const u64 a[4])
{
    if (inv_vartime(r, a, P_) > 0)
        FE_MUL(r, r, R3P);
    else
        SFX(fe_inv)(r, a);
}

/* out = k * P for a secret odd k' given as odd digits (recode_odd; every digit +-1, +-3, ...,
 * +-(2 VAR_TABLE - 1), the sign bit possibly flipped for k = n - k'), over the affine odd
 * multiples T[j] = (2j + 1) P. The top digit is +-1: the accumulator starts at +-P. Before
 * window i >= 1 the accumulator is 32 A P with 0 < 32 A < n/2^5 and 32 A > 31 >= |d_i| (the
 * top digit outweighs all lower odd digits), so the incomplete mixed addition never meets
 * a doubling, an opposite point or infinity; in the last window 32 A = k' - d_0 can be
 * = d_0 mod n (k' = n - 2 |d_0|), so that one addition is complete. Constant time: the same
 * operations for every k, masked table scans, masked negations. */
static ATTR void SFX(scalar_mult_odd_ct)(jac *out, const uint8_t dig[VAR_WINDOWS],
                                         const aff T[VAR_TABLE])
{
    jac acc;
    u64 x[4], y[4], ny[4], hz, rz;
    memcpy(acc.X, T[0].x, 32);
    fe_neg(ny, T[0].y);
    fe_select(acc.Y, T[0].y, ny, 0 - (u64)(dig[VAR_WINDOWS - 1] & 1));
    memcpy(acc.Z, FE_ONE, 32);
    for (int i = VAR_WINDOWS - 2; i >= 0; i--) {
        for (int j = 0; j < VAR_W; j++)
            SFX(pt_dbl)(&acc, &acc);
        aff_select(x, y, T, VAR_TABLE, (u64)(dig[i] >> 1) + 1);
        fe_cneg_nz(y, 0 - (u64)(dig[i] & 1));
        if (i != 0)
            SFX(pt_madd_raw)(&acc, &acc, x, y, &hz, &rz);
        else
            SFX(pt_madd_complete_ct)(&acc, &acc, x, y, 0);
    }
    *out = acc;
}

/* out = k * Q through an odd comb of Q (entry [i][j] = (2j + 1) 2^(G_W i) Q; g_table for G),
 * odd digits from recode_odd, one masked scan and one mixed addition per window, no doubling.
 * After windows 0..i-1 the accumulator is a Q with a odd (so a != 0) and |a| < 2^(G_W i); the
 * next entry has |d 2^(G_W i)| >= 2^(G_W i) and both stay below 2^252, so no doubling or
 * opposite case arises before the last window, which uses the complete addition. */
static ATTR void SFX(comb_odd_ct)(jac *out, const aff *table, const uint8_t dig[G_WINDOWS])
{
    jac acc;
    u64 x[4], y[4], hz, rz;
    aff_select(x, y, table, G_TABLE, (u64)(dig[0] >> 1) + 1);
    fe_cneg_nz(y, 0 - (u64)(dig[0] & 1));
    memcpy(acc.X, x, 32);
    memcpy(acc.Y, y, 32);
    memcpy(acc.Z, FE_ONE, 32);
    for (int i = 1; i < G_WINDOWS; i++) {
        aff_select(x, y, table + (size_t)i * G_TABLE, G_TABLE, (u64)(dig[i] >> 1) + 1);
        fe_cneg_nz(y, 0 - (u64)(dig[i] & 1));
        if (i != G_WINDOWS - 1)
            SFX(pt_madd_raw)(&acc, &acc, x, y, &hz, &rz);
        else
            SFX(pt_madd_complete_ct)(&acc, &acc, x, y, 0);
    }
    *out = acc;
}

/* acc += u G for a public u through the odd comb (odd digits, direct indexing, variable time). */
static ATTR void SFX(comb_odd_vartime)(jac *acc, const uint8_t dig[G_WINDOWS])
{
    u64 ny[4];
    for (int i = 0; i < G_WINDOWS; i++) {
        const aff *e = g_table + (size_t)i * G_TABLE + (dig[i] >> 1);
        if (dig[i] & 1) {
            fe_neg(ny, e->y);
            SFX(pt_madd_vartime)(acc, acc, e->x, ny);
        } else {
            SFX(pt_madd_vartime)(acc, acc, e->x, e->y);
        }
    }
}

/* Odd comb of P: windows x 2^(w-1) affine points, entry [i][j] = (2j + 1) 2^(w i) P. Returns 0
 * or -1 (out of memory). Public P, variable time. */
__attribute__((unused)) static ATTR int SFX(build_comb_odd)(aff *table, const jac *p, int w, int windows)
{
    size_t per = (size_t)1 << (w - 1), total = per * (size_t)windows;
    jac *tmp = malloc(total * sizeof(jac));
    u64(*scratch)[4] = malloc(total * 32);
    if (tmp == NULL || scratch == NULL) {
        free(tmp);
        free(scratch);
        return -1;
    }
    jac base = *p, b2;
    for (int i = 0; i < windows; i++) {
        jac *row = tmp + (size_t)i * per;
        row[0] = base;
        SFX(pt_dbl)(&b2, &base);
        for (size_t j = 1; j < per; j++)
            SFX(pt_add_vartime)(&row[j], &row[j - 1], &b2);
        for (int k = 0; k < w; k++)
            SFX(pt_dbl)(&base, &base);
    }
    SFX(batch_to_affine)(table, tmp, total, scratch, 0);
    free(tmp);
    free(scratch);
    return 0;
}

/* Pippenger with affine buckets (public inputs, variable time): in each window the points are
 * sorted into their buckets (sign applied), and every bucket's list is summed pairwise in
 * rounds; all additions of a round share one inversion (Montgomery's trick), so an addition
 * costs 5M + 1S instead of the 7M + 4S of a mixed Jacobian one. Equal points double (same
 * batch, denominator 2y), opposite points cancel. The buckets (at most one affine point each)
 * are then combined by running sums in Jacobian form. `work` holds n affine points, `num`,
 * `den` and `pre` n / 2 + 1 field elements each, `cnt` 2^(w-1) + 1 counters, `len` 2^(w-1). */
static ATTR void SFX(pippenger_affine)(jac *acc, const aff *pts, const int16_t *dig, size_t n,
                                       int w, int nwin, aff *work, u64 (*num)[4], u64 (*den)[4],
                                       u64 (*pre)[4], size_t *cnt, size_t *len)
{
    size_t nb = (size_t)1 << (w - 1);
    u64 t[4], inv[4], lam[4], x3[4];
    memset(acc, 0, sizeof *acc);
    for (int j = nwin - 1; j >= 0; j--) {
        if (!fe_is_zero(acc->Z))
            for (int d = 0; d < w; d++)
                SFX(pt_dbl)(acc, acc);
        /* counting sort into buckets: bucket b occupies work[cnt[b] .. cnt[b] + len[b]) */
        memset(cnt, 0, (nb + 1) * sizeof *cnt);
        for (size_t i = 0; i < n; i++) {
            int d = dig[(size_t)nwin * i + (size_t)j];
            if (d != 0)
                cnt[(size_t)(d < 0 ? -d : d)]++;
        }
        for (size_t b = 1; b <= nb; b++)
            cnt[b] += cnt[b - 1]; /* cnt[b] = end of bucket b - 1 = start of bucket b */
        for (size_t b = nb; b > 0; b--)
            cnt[b] = cnt[b - 1];
        cnt[0] = 0; /* now cnt[b + 1] = start of bucket b (1-based fill pointer) */
        for (size_t i = 0; i < n; i++) {
            int d = dig[(size_t)nwin * i + (size_t)j];
            if (d == 0)
                continue;
            size_t b = (size_t)(d < 0 ? -d : d);
            aff *e = &work[cnt[b]++];
            memcpy(e->x, pts[i].x, 32);
            if (d < 0)
                fe_neg(e->y, pts[i].y);
            else
                memcpy(e->y, pts[i].y, 32);
        }
        /* bucket b - 1 (digit b) now ends at cnt[b] and starts at cnt[b - 1] */
        for (size_t b = 0; b < nb; b++)
            len[b] = cnt[b + 1] - cnt[b];
        for (;;) {
            /* one round: pair up each bucket's points */
            size_t m = 0;
            for (size_t b = 0; b < nb; b++) {
                aff *e = work + cnt[b];
                for (size_t k = 0; k + 1 < len[b]; k += 2) {
                    const aff *p = &e[k], *q = &e[k + 1];
                    FE_SUB(den[m], q->x, p->x);
                    if (fe_is_zero(den[m])) {
                        if (!fe_equal(p->y, q->y)) {
                            memset(num[m], 0, 32); /* opposite: marks a cancellation */
                            memcpy(den[m], FE_ONE, 32);
                            m++;
                            continue;
                        }
                        FE_SQR(t, p->x); /* doubling: (3x^2 - 3) / 2y */
                        FE_SUB(t, t, FE_ONE);
                        FE_ADD(num[m], t, t);
                        FE_ADD(num[m], num[m], t);
                        FE_ADD(den[m], p->y, p->y);
                    } else {
                        FE_SUB(num[m], q->y, p->y);
                    }
                    m++;
                }
            }
            if (m == 0)
                break;
            /* den[k] := 1 / den[k], one inversion for the round */
            memcpy(pre[0], den[0], 32);
            for (size_t k = 1; k < m; k++)
                FE_MUL(pre[k], pre[k - 1], den[k]);
            if (inv_vartime(inv, pre[m - 1], P_) > 0)
                FE_MUL(inv, inv, R3P);
            else
                SFX(fe_inv)(inv, pre[m - 1]);
            for (size_t k = m; k-- > 0;) {
                if (k > 0) {
                    FE_MUL(t, inv, pre[k - 1]);
                    FE_MUL(inv, inv, den[k]);
                    memcpy(den[k], t, 32);
                } else {
                    memcpy(den[0], inv, 32);
                }
            }
            /* apply: results written to the front of each bucket */
            m = 0;
            for (size_t b = 0; b < nb; b++) {
                aff *e = work + cnt[b];
                size_t out = 0;
                for (size_t k = 0; k + 1 < len[b]; k += 2, m++) {
                    const aff *p = &e[k], *q = &e[k + 1];
                    if (fe_is_zero(num[m]) && fe_equal(p->x, q->x) && !fe_equal(p->y, q->y))
                        continue; /* P + (-P): nothing */
                    FE_MUL(lam, num[m], den[m]);
                    FE_SQR(x3, lam);
                    FE_SUB(x3, x3, p->x);
                    FE_SUB(x3, x3, q->x);
                    FE_SUB(t, p->x, x3);
                    FE_MUL(t, lam, t);
                    FE_SUB(e[out].y, t, p->y);
                    memcpy(e[out].x, x3, 32);
                    out++;
                }
                if (len[b] & 1)
                    e[out++] = e[len[b] - 1];
                len[b] = out;
            }
        }
        /* running sums over the buckets */
        jac run, sum;
        memset(&run, 0, sizeof run);
        memset(&sum, 0, sizeof sum);
        for (size_t b = nb; b-- > 0;) {
            if (len[b])
                SFX(pt_madd_vartime)(&run, &run, work[cnt[b]].x, work[cnt[b]].y);
            SFX(pt_add_vartime)(&sum, &sum, &run);
        }
        SFX(pt_add_vartime)(acc, acc, &sum);
    }
}
