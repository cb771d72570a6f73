#include "field127.h"

#include <sodium.h>

#include "error.h"

ward_f127 ward_f127_pow(ward_f127 a, ward_f127 e) {
    ward_f127 r = 1;
    for (int i = 127; i >= 0; i--) {
        r = ward_f127_sqr(r);
        ward_f127 t = ward_f127_mul(r, a);
        r = ward_f127_select(0 - ((e >> i) & 1), t, r);
    }
    return r;
}

/* x^(2^k) */
static ward_f127 sqr_n(ward_f127 x, int k) {
    for (int i = 0; i < k; i++) x = ward_f127_sqr(x);
    return x;
}

int ward_f127_inv(ward_f127 *out, ward_f127 a) {
    WARD_ARG_CHECK(out != NULL);
    /* q - 2 = 2^127 - 3 = (2^125 - 1) * 4 + 1, with x_k = a^(2^k - 1) built
     * from runs of ones: 126 squarings and 12 multiplications. */
    ward_f127 x2 = ward_f127_mul(ward_f127_sqr(a), a);
    ward_f127 x3 = ward_f127_mul(ward_f127_sqr(x2), a);
    ward_f127 x6 = ward_f127_mul(sqr_n(x3, 3), x3);
    ward_f127 x12 = ward_f127_mul(sqr_n(x6, 6), x6);
    ward_f127 x24 = ward_f127_mul(sqr_n(x12, 12), x12);
    ward_f127 x48 = ward_f127_mul(sqr_n(x24, 24), x24);
    ward_f127 x96 = ward_f127_mul(sqr_n(x48, 48), x48);
    ward_f127 x120 = ward_f127_mul(sqr_n(x96, 24), x24);
    ward_f127 x123 = ward_f127_mul(sqr_n(x120, 3), x3);
    ward_f127 x125 = ward_f127_mul(sqr_n(x123, 2), x2);
    *out = ward_f127_mul(sqr_n(x125, 2), a);
    return -(int)ward_f127_is_zero(a) & WARD_EINVAL;
}

void ward_f127_vec_add(ward_f127 *out, const ward_f127 *a, const ward_f127 *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ward_f127_add(a[i], b[i]);
}

void ward_f127_vec_sub(ward_f127 *out, const ward_f127 *a, const ward_f127 *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ward_f127_sub(a[i], b[i]);
}

static ward_f127 load128_le(const uint8_t *p) {
    ward_f127 v = 0;
    for (int i = 0; i < 16; i++) v |= (ward_f127)p[i] << (8 * i);
    return v;
}

ward_f127 ward_f127_random(ward_rng *rng) {
    uint8_t b[16];
    ward_f127 v;
    do {
        ward_rng_bytes(rng, b, sizeof b);
        v = load128_le(b) & WARD_F127_Q;
    } while (v == WARD_F127_Q); /* rejects a value that is then discarded */
    sodium_memzero(b, sizeof b);
    return v;
}

void ward_f127_vec_random(ward_rng *rng, ward_f127 *out, size_t n) {
    /* One request for the whole vector, decoded in place. */
    ward_rng_bytes(rng, (uint8_t *)out, n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        ward_f127 v = load128_le((const uint8_t *)(out + i)) & WARD_F127_Q;
        if (v == WARD_F127_Q) v = ward_f127_random(rng); /* 2^-127 */
        out[i] = v;
    }
}
