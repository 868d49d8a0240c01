/* Area 'ec': streaming SM3 (GB/T 32905-2016) for RFC 9380 expand_message_xmd; see ec_sm3.h. */
#include "ec_sm3.h"

#include <string.h>

static const uint32_t IV[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
                               0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};

static inline uint32_t rotl(uint32_t x, unsigned n)
{
    n &= 31;
    return n ? (x << n) | (x >> (32 - n)) : x;
}
static inline uint32_t p0(uint32_t x)
{
    return x ^ rotl(x, 9) ^ rotl(x, 17);
}
static inline uint32_t p1(uint32_t x)
{
    return x ^ rotl(x, 15) ^ rotl(x, 23);
}
static inline uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void compress(uint32_t v[8], const uint8_t block[64])
{
    uint32_t w[68], a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
    for (int j = 0; j < 16; j++)
        w[j] = load32(block + 4 * j);
    for (int j = 16; j < 68; j++)
        w[j] = p1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6];
    for (int j = 0; j < 64; j++) {
        uint32_t t = j < 16 ? 0x79cc4519u : 0x7a879d8au;
        uint32_t a12 = rotl(a, 12);
        uint32_t ss1 = rotl(a12 + e + rotl(t, (unsigned)j), 7);
        uint32_t ss2 = ss1 ^ a12;
        uint32_t ff = j < 16 ? (a ^ b ^ c) : ((a & b) | (a & c) | (b & c));
        uint32_t gg = j < 16 ? (e ^ f ^ g) : ((e & f) | (~e & g));
        uint32_t tt1 = ff + d + ss2 + (w[j] ^ w[j + 4]);
        uint32_t tt2 = gg + h + ss1 + w[j];
        d = c;
        c = rotl(b, 9);
        b = a;
        a = tt1;
        h = g;
        g = rotl(f, 19);
        f = e;
        e = p0(tt2);
    }
    v[0] ^= a;
    v[1] ^= b;
    v[2] ^= c;
    v[3] ^= d;
    v[4] ^= e;
    v[5] ^= f;
    v[6] ^= g;
    v[7] ^= h;
}

void ec_sm3_init(ec_sm3 *s)
{
    memcpy(s->v, IV, sizeof IV);
    s->fill = 0;
    s->total = 0;
}

/* The SM3 state after compressing one all-zero block from the IV (expand_message_xmd's Z_pad);
 * tests/test_h2c.py checks the digests that start from it against the reference. */
static const uint32_t ZPAD_STATE[8] = {0xa1203a40, 0x4a5566cd, 0x536fcee8, 0x20df7e13,
                                       0x35c58f56, 0xb7c4c62e, 0x813c32cc, 0x47bf9b6c};

void ec_sm3_init_zpad(ec_sm3 *s)
{
    memcpy(s->v, ZPAD_STATE, sizeof ZPAD_STATE);
    s->fill = 0;
    s->total = 64;
}

void ec_sm3_update(ec_sm3 *s, const uint8_t *data, size_t len)
{
    s->total += len;
    if (s->fill) {
        size_t take = 64 - s->fill < len ? 64 - s->fill : len;
        memcpy(s->buf + s->fill, data, take);
        s->fill += take;
        data += take;
        len -= take;
        if (s->fill < 64)
            return;
        compress(s->v, s->buf);
        s->fill = 0;
    }
    for (; len >= 64; data += 64, len -= 64)
        compress(s->v, data);
    if (len) {
        memcpy(s->buf, data, len);
        s->fill = len;
    }
}

void ec_sm3_final(ec_sm3 *s, uint8_t out[32])
{
    uint64_t bits = s->total * 8;
    s->buf[s->fill++] = 0x80;
    if (s->fill > 56) {
        memset(s->buf + s->fill, 0, 64 - s->fill);
        compress(s->v, s->buf);
        s->fill = 0;
    }
    memset(s->buf + s->fill, 0, 56 - s->fill);
    for (int i = 0; i < 8; i++)
        s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    compress(s->v, s->buf);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->v[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->v[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->v[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->v[i];
    }
}
