/* Secret-sharing algorithms, written once against a small field interface.
 *
 * This header has no include guard on purpose: it is included once per
 * field. share.c instantiates it for F_(2^61-1) and F_(2^127-1); the
 * exhaustive test instantiates the very same code for a toy prime, so what
 * the test proves about correctness and privacy is proved about this code.
 * It holds only the deterministic parts (evaluation, completion,
 * interpolation); randomness is drawn by the caller and passed in.
 *
 * The includer defines, before each inclusion:
 *
 *   SHARE_ELEM             element type
 *   SHARE_FN(name)         name mangling for the generated functions
 *   SHARE_ZERO, SHARE_ONE  constants
 *   SHARE_ADD(a, b), SHARE_SUB(a, b)
 *   SHARE_WITH_SHAMIR      1 to generate the Shamir functions, 0 for
 *                          additive only; when 1, also:
 *   SHARE_MUL(a, b)
 *   SHARE_INV(out_ptr, a)  0, or non-zero when a == 0
 *   SHARE_X_LIMIT          x-coordinates must lie in [1, SHARE_X_LIMIT)
 *   SHARE_FROM_X(x)        such an x (a uint64_t) as an element
 *   SHARE_ACC              accumulator type for lazy reduction
 *   SHARE_ACC_FROM(e)      an element as an accumulator
 *   SHARE_ACC_MULADD(acc, a, b)   acc + a * b (an expression)
 *   SHARE_ACC_REDUCE(acc)  accumulator -> element
 *   SHARE_ACC_BLOCK        how many products may be added to a reduced
 *                          accumulator before it must be reduced again
 *
 * Every macro is #undef'd at the end so the next instantiation starts clean.
 * Functions are static inline, so an unused one costs nothing.
 *
 * Constant time: loops run over public sizes (n, t, m) and public
 * x-coordinates only; element values never steer a branch or an index.
 * Vectors are arrays of m elements; a set of shares is an array of pointers
 * to such vectors, share i belonging to the party at x = i + 1.
 */

#include <stddef.h>
#include <stdint.h>

/* ---- additive n-of-n ---- */

/* last = secret - sum(others[0..n_others)), elementwise. With others drawn
 * uniformly, {others..., last} is an additive sharing of secret. last may
 * alias secret but no vector of others. */
static inline void SHARE_FN(additive_complete)(SHARE_ELEM *last, const SHARE_ELEM *secret,
                                               size_t m, const SHARE_ELEM *const *others,
                                               size_t n_others) {
    if (n_others == 0) {
        for (size_t j = 0; j < m; j++) last[j] = secret[j];
        return;
    }
    for (size_t j = 0; j < m; j++) last[j] = SHARE_SUB(secret[j], others[0][j]);
    for (size_t i = 1; i < n_others; i++) {
        const SHARE_ELEM *o = others[i];
        for (size_t j = 0; j < m; j++) last[j] = SHARE_SUB(last[j], o[j]);
    }
}

/* out = sum of the n >= 1 shares. out may alias shares[0] only. */
static inline void SHARE_FN(additive_sum)(SHARE_ELEM *out, size_t m,
                                          const SHARE_ELEM *const *shares, size_t n) {
    if (out != shares[0])
        for (size_t j = 0; j < m; j++) out[j] = shares[0][j];
    for (size_t i = 1; i < n; i++) {
        const SHARE_ELEM *s = shares[i];
        for (size_t j = 0; j < m; j++) out[j] = SHARE_ADD(out[j], s[j]);
    }
}

#if SHARE_WITH_SHAMIR

/* acc + sum_{k < cnt} w[k] * v[k * stride], reduced every SHARE_ACC_BLOCK
 * products. Returns the reduced result. */
static inline SHARE_ELEM SHARE_FN(lazy_dot)(SHARE_ELEM init, const SHARE_ELEM *w,
                                            const SHARE_ELEM *v, size_t stride, size_t cnt) {
    SHARE_ELEM r = init;
    size_t k = 0;
    while (k < cnt) {
        size_t end = cnt - k > (size_t)SHARE_ACC_BLOCK ? k + (size_t)SHARE_ACC_BLOCK : cnt;
        SHARE_ACC acc = SHARE_ACC_FROM(r);
        for (; k < end; k++) acc = SHARE_ACC_MULADD(acc, w[k], v[k * stride]);
        r = SHARE_ACC_REDUCE(acc);
    }
    return r;
}

/* Shamir evaluation: for each party i in [0, n), x = i + 1, and each
 * element j in [0, m):
 *
 *   shares[i][off + j] = secret[j] + sum_{k=1}^{t-1} coef[(k-1)*stride + j] x^k
 *
 * i.e. the polynomial of degree t - 1 with constant term secret[j] and the
 * given coefficients. pw is scratch for t elements (powers of x: public).
 * Returns 0, or -1 when n or t is out of range (t == 0, t > n, or
 * n >= SHARE_X_LIMIT). */
static inline int SHARE_FN(shamir_eval)(SHARE_ELEM *const *shares, size_t off, size_t n,
                                        size_t t, const SHARE_ELEM *secret, size_t m,
                                        const SHARE_ELEM *coef, size_t stride,
                                        SHARE_ELEM *pw) {
    if (t == 0 || t > n || (uint64_t)n >= (uint64_t)SHARE_X_LIMIT) return -1;
    for (size_t i = 0; i < n; i++) {
        SHARE_ELEM x = SHARE_FROM_X((uint64_t)i + 1);
        pw[0] = SHARE_ONE;
        for (size_t k = 1; k < t; k++) pw[k] = SHARE_MUL(pw[k - 1], x);
        SHARE_ELEM *out = shares[i] + off;
        for (size_t j = 0; j < m; j++)
            out[j] = SHARE_FN(lazy_dot)(secret[j], pw + 1, coef + j, stride, t - 1);
    }
    return 0;
}

/* Lagrange coefficients at 0 for the t points xs[0..t):
 *   lambda[i] = prod_{j != i} x_j / (x_j - x_i).
 * The xs are public. Returns 0, or -1 when t == 0, an x is outside
 * [1, SHARE_X_LIMIT), or two xs are equal. */
static inline int SHARE_FN(lagrange)(SHARE_ELEM *lambda, const uint64_t *xs, size_t t) {
    if (t == 0) return -1;
    for (size_t i = 0; i < t; i++) {
        if (xs[i] == 0 || xs[i] >= (uint64_t)SHARE_X_LIMIT) return -1;
        for (size_t j = 0; j < i; j++)
            if (xs[j] == xs[i]) return -1;
    }
    for (size_t i = 0; i < t; i++) {
        SHARE_ELEM xi = SHARE_FROM_X(xs[i]);
        SHARE_ELEM num = SHARE_ONE, den = SHARE_ONE, inv;
        for (size_t j = 0; j < t; j++) {
            if (j == i) continue;
            SHARE_ELEM xj = SHARE_FROM_X(xs[j]);
            num = SHARE_MUL(num, xj);
            den = SHARE_MUL(den, SHARE_SUB(xj, xi));
        }
        if (SHARE_INV(&inv, den) != 0) return -1; /* unreachable: xs distinct */
        lambda[i] = SHARE_MUL(num, inv);
    }
    return 0;
}

/* out[j] = sum_{i < t} lambda[i] * shares[i][j]. out may alias any share
 * (each element is read before it is written). */
static inline void SHARE_FN(combine)(SHARE_ELEM *out, size_t m, const SHARE_ELEM *const *shares,
                                     const SHARE_ELEM *lambda, size_t t) {
    for (size_t j = 0; j < m; j++) {
        SHARE_ELEM r = SHARE_ZERO;
        size_t i = 0;
        while (i < t) {
            size_t end = t - i > (size_t)SHARE_ACC_BLOCK ? i + (size_t)SHARE_ACC_BLOCK : t;
            SHARE_ACC acc = SHARE_ACC_FROM(r);
            for (; i < end; i++) acc = SHARE_ACC_MULADD(acc, lambda[i], shares[i][j]);
            r = SHARE_ACC_REDUCE(acc);
        }
        out[j] = r;
    }
}

#endif /* SHARE_WITH_SHAMIR */

#undef SHARE_ELEM
#undef SHARE_FN
#undef SHARE_ZERO
#undef SHARE_ONE
#undef SHARE_ADD
#undef SHARE_SUB
#undef SHARE_WITH_SHAMIR
#undef SHARE_MUL
#undef SHARE_INV
#undef SHARE_X_LIMIT
#undef SHARE_FROM_X
#undef SHARE_ACC
#undef SHARE_ACC_FROM
#undef SHARE_ACC_MULADD
#undef SHARE_ACC_REDUCE
#undef SHARE_ACC_BLOCK
