/* Inline AES-NI helpers shared by gc_hash.c, garble.c and ot_ext.c, so the
 * hot loops of garbling and OT extension keep their blocks in registers
 * instead of calling out per block. Not a public interface: include it
 * only from the .c files of crypto/, after gc_hash.h.
 *
 * Nothing here branches on or indexes by block contents.
 */
#ifndef WARD_GC_HASH_IMPL_H
#define WARD_GC_HASH_IMPL_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "gc_hash.h"

#define GCH_INLINE static inline __attribute__((always_inline))

GCH_INLINE __m128i blk_ld(const ward_block *b) { return _mm_load_si128((const __m128i *)b->b); }
GCH_INLINE void blk_st(ward_block *b, __m128i v) { _mm_store_si128((__m128i *)b->b, v); }
GCH_INLINE __m128i blk_ldu(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)p); }
GCH_INLINE void blk_stu(uint8_t *p, __m128i v) { _mm_storeu_si128((__m128i *)p, v); }

/* The block whose low half is t and high half 0. */
GCH_INLINE __m128i blk_u64(uint64_t t) { return _mm_cvtsi64_si128((long long)t); }

/* All ones when bit 0 of x is set, else all zeros. */
GCH_INLINE __m128i blk_lsb_mask(__m128i x) {
    __m128i one = _mm_cvtsi32_si128(1);
    __m128i b = _mm_and_si128(x, one);
    b = _mm_shuffle_epi32(b, 0); /* bit 0 in every 32-bit lane */
    return _mm_sub_epi32(_mm_setzero_si128(), b);
}

/* All ones when bit 0 of byte value v (0 or 1) is set. */
GCH_INLINE __m128i blk_bit_mask(uint32_t v) {
    return _mm_set1_epi32(-(int32_t)(v & 1));
}

/* sigma(hi || lo) = (hi ^ lo) || hi. */
GCH_INLINE __m128i blk_sigma(__m128i x) {
    __m128i swapped = _mm_shuffle_epi32(x, 0x4E);              /* lo || hi */
    __m128i hi_only = _mm_unpackhi_epi64(_mm_setzero_si128(), x); /* hi || 0 */
    return _mm_xor_si128(swapped, hi_only);
}

typedef struct {
    __m128i k[11];
} gch_keys;

GCH_INLINE void gch_keys_load(gch_keys *rk, const ward_aes128 *a) {
    for (int i = 0; i < 11; i++) rk->k[i] = _mm_load_si128((const __m128i *)a->rk[i]);
}

/* Encrypts exactly eight blocks with all of them in flight. */
GCH_INLINE void gch_aes8(const gch_keys *rk, __m128i *b) {
    __m128i k = rk->k[0];
    __m128i b0 = _mm_xor_si128(b[0], k), b1 = _mm_xor_si128(b[1], k);
    __m128i b2 = _mm_xor_si128(b[2], k), b3 = _mm_xor_si128(b[3], k);
    __m128i b4 = _mm_xor_si128(b[4], k), b5 = _mm_xor_si128(b[5], k);
    __m128i b6 = _mm_xor_si128(b[6], k), b7 = _mm_xor_si128(b[7], k);
    for (int r = 1; r < 10; r++) {
        k = rk->k[r];
        b0 = _mm_aesenc_si128(b0, k);
        b1 = _mm_aesenc_si128(b1, k);
        b2 = _mm_aesenc_si128(b2, k);
        b3 = _mm_aesenc_si128(b3, k);
        b4 = _mm_aesenc_si128(b4, k);
        b5 = _mm_aesenc_si128(b5, k);
        b6 = _mm_aesenc_si128(b6, k);
        b7 = _mm_aesenc_si128(b7, k);
    }
    k = rk->k[10];
    b[0] = _mm_aesenclast_si128(b0, k);
    b[1] = _mm_aesenclast_si128(b1, k);
    b[2] = _mm_aesenclast_si128(b2, k);
    b[3] = _mm_aesenclast_si128(b3, k);
    b[4] = _mm_aesenclast_si128(b4, k);
    b[5] = _mm_aesenclast_si128(b5, k);
    b[6] = _mm_aesenclast_si128(b6, k);
    b[7] = _mm_aesenclast_si128(b7, k);
}

/* Four blocks in flight. */
GCH_INLINE void gch_aes4(const gch_keys *rk, __m128i *b) {
    __m128i k = rk->k[0];
    __m128i b0 = _mm_xor_si128(b[0], k), b1 = _mm_xor_si128(b[1], k);
    __m128i b2 = _mm_xor_si128(b[2], k), b3 = _mm_xor_si128(b[3], k);
    for (int r = 1; r < 10; r++) {
        k = rk->k[r];
        b0 = _mm_aesenc_si128(b0, k);
        b1 = _mm_aesenc_si128(b1, k);
        b2 = _mm_aesenc_si128(b2, k);
        b3 = _mm_aesenc_si128(b3, k);
    }
    k = rk->k[10];
    b[0] = _mm_aesenclast_si128(b0, k);
    b[1] = _mm_aesenclast_si128(b1, k);
    b[2] = _mm_aesenclast_si128(b2, k);
    b[3] = _mm_aesenclast_si128(b3, k);
}

/* Two blocks in flight. */
GCH_INLINE void gch_aes2(const gch_keys *rk, __m128i *b) {
    __m128i k = rk->k[0];
    __m128i b0 = _mm_xor_si128(b[0], k), b1 = _mm_xor_si128(b[1], k);
    for (int r = 1; r < 10; r++) {
        k = rk->k[r];
        b0 = _mm_aesenc_si128(b0, k);
        b1 = _mm_aesenc_si128(b1, k);
    }
    k = rk->k[10];
    b[0] = _mm_aesenclast_si128(b0, k);
    b[1] = _mm_aesenclast_si128(b1, k);
}

GCH_INLINE __m128i gch_aes1(const gch_keys *rk, __m128i b) {
    b = _mm_xor_si128(b, rk->k[0]);
    for (int r = 1; r < 10; r++) b = _mm_aesenc_si128(b, rk->k[r]);
    return _mm_aesenclast_si128(b, rk->k[10]);
}

/* Any number of blocks, eight at a time, then four, two, one. */
GCH_INLINE void gch_aes_n(const gch_keys *rk, __m128i *b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) gch_aes8(rk, b + i);
    if (i + 4 <= n) {
        gch_aes4(rk, b + i);
        i += 4;
    }
    if (i + 2 <= n) {
        gch_aes2(rk, b + i);
        i += 2;
    }
    if (i < n) b[i] = gch_aes1(rk, b[i]);
}

/* In place: b[i] = H(b[i], t[i]) = pi(sigma(b) ^ t) ^ sigma(b), for
 * n <= 8 blocks. */
GCH_INLINE void gch_tccr8(const gch_keys *rk, __m128i *b, const __m128i *t, size_t n) {
    __m128i s[8];
    for (size_t i = 0; i < n; i++) {
        s[i] = blk_sigma(b[i]);
        b[i] = _mm_xor_si128(s[i], t[i]);
    }
    if (n == 8) gch_aes8(rk, b);
    else gch_aes_n(rk, b, n);
    for (size_t i = 0; i < n; i++) b[i] = _mm_xor_si128(b[i], s[i]);
}

/* Carry-less 128 x 128 -> 256-bit product, accumulated without reduction
 * (reduction is linear, so a sum may be reduced once) into three parts:
 * the product is lo + X^64 mid + X^128 hi. */
typedef struct {
    __m128i lo, mid, hi;
} gch_acc;

GCH_INLINE void gch_acc_zero(gch_acc *a) {
    a->lo = a->mid = a->hi = _mm_setzero_si128();
}

GCH_INLINE void gch_clmul_acc(gch_acc *acc, __m128i a, __m128i b) {
    acc->lo = _mm_xor_si128(acc->lo, _mm_clmulepi64_si128(a, b, 0x00));
    acc->hi = _mm_xor_si128(acc->hi, _mm_clmulepi64_si128(a, b, 0x11));
    acc->mid = _mm_xor_si128(acc->mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10),
                                                     _mm_clmulepi64_si128(a, b, 0x01)));
}

/* The accumulated sum mod X^128 + X^7 + X^2 + X + 1. */
GCH_INLINE __m128i gch_gf_reduce(const gch_acc *acc) {
    const __m128i r = _mm_cvtsi32_si128(0x87);
    __m128i lo = _mm_xor_si128(acc->lo, _mm_slli_si128(acc->mid, 8));
    __m128i hi = _mm_xor_si128(acc->hi, _mm_srli_si128(acc->mid, 8));
    /* X^192 h1 = X^64 (h1 * r): its low 64 bits land in lo's high half,
     * the 7 bits above go back into hi's low half. */
    __m128i t = _mm_clmulepi64_si128(hi, r, 0x01);
    lo = _mm_xor_si128(lo, _mm_slli_si128(t, 8));
    hi = _mm_xor_si128(hi, _mm_srli_si128(t, 8));
    /* X^128 h0 = h0 * r, at most 71 bits. */
    t = _mm_clmulepi64_si128(hi, r, 0x00);
    return _mm_xor_si128(lo, t);
}

#endif
