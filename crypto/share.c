#include "share.h"

#include <sodium.h>
#include <stdlib.h>

#include "error.h"

/* ---- instantiations of share_impl.h ---- */

#define SHARE_ELEM ward_f61
#define SHARE_FN(name) f61_##name
#define SHARE_ZERO ((ward_f61)0)
#define SHARE_ONE ((ward_f61)1)
#define SHARE_ADD(a, b) ward_f61_add((a), (b))
#define SHARE_SUB(a, b) ward_f61_sub((a), (b))
#define SHARE_WITH_SHAMIR 1
#define SHARE_MUL(a, b) ward_f61_mul((a), (b))
#define SHARE_INV(out, a) ward_f61_inv((out), (a))
#define SHARE_X_LIMIT WARD_F61_P
#define SHARE_FROM_X(x) ((ward_f61)(x))
#define SHARE_ACC unsigned __int128
#define SHARE_ACC_FROM(e) ((unsigned __int128)(e))
#define SHARE_ACC_MULADD(acc, a, b) ((acc) + (unsigned __int128)(a) * (b))
#define SHARE_ACC_REDUCE(acc) ward_f61_reduce128(acc)
#define SHARE_ACC_BLOCK WARD_F61_LAZY_PRODUCTS
#include "share_impl.h"

#define SHARE_ELEM ward_f127
#define SHARE_FN(name) f127_##name
#define SHARE_ZERO ((ward_f127)0)
#define SHARE_ONE ((ward_f127)1)
#define SHARE_ADD(a, b) ward_f127_add((a), (b))
#define SHARE_SUB(a, b) ward_f127_sub((a), (b))
#define SHARE_WITH_SHAMIR 0
#include "share_impl.h"

/* Elements per block of Shamir coefficients drawn at once. */
#define SHAMIR_BLOCK 256

/* Every vector pointer is non-NULL (the pointers are public). */
static int vecs_ok61(const ward_f61 *const *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (v[i] == NULL) return 0;
    return 1;
}

static int vecs_ok127(const ward_f127 *const *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (v[i] == NULL) return 0;
    return 1;
}

/* ---- additive over F61 ---- */

int ward_additive_f61_complete(ward_f61 *last, const ward_f61 *secret, size_t m,
                               const ward_f61 *const *others, size_t n_others) {
    WARD_ARG_CHECK(n_others < WARD_SHARE_MAX_PARTIES);
    WARD_ARG_CHECK(m == 0 || (last != NULL && secret != NULL));
    WARD_ARG_CHECK(n_others == 0 || others != NULL);
    WARD_ARG_CHECK(m == 0 || vecs_ok61(others, n_others));
    f61_additive_complete(last, secret, m, others, n_others);
    return WARD_OK;
}

int ward_additive_f61_share(ward_rng *rng, ward_f61 *const *shares, size_t n,
                            const ward_f61 *secret, size_t m) {
    WARD_ARG_CHECK(rng != NULL && shares != NULL);
    WARD_ARG_CHECK(n >= 1 && n <= WARD_SHARE_MAX_PARTIES);
    WARD_ARG_CHECK(m == 0 || (secret != NULL && vecs_ok61((const ward_f61 *const *)shares, n)));
    for (size_t i = 0; i + 1 < n; i++) ward_f61_vec_random(rng, shares[i], m);
    f61_additive_complete(shares[n - 1], secret, m, (const ward_f61 *const *)shares, n - 1);
    return WARD_OK;
}

int ward_additive_f61_reconstruct(ward_f61 *secret, size_t m,
                                  const ward_f61 *const *shares, size_t n) {
    WARD_ARG_CHECK(shares != NULL);
    WARD_ARG_CHECK(n >= 1 && n <= WARD_SHARE_MAX_PARTIES);
    WARD_ARG_CHECK(m == 0 || (secret != NULL && vecs_ok61((const ward_f61 *const *)shares, n)));
    f61_additive_sum(secret, m, shares, n);
    return WARD_OK;
}

/* ---- additive over F127 ---- */

int ward_additive_f127_complete(ward_f127 *last, const ward_f127 *secret, size_t m,
                                const ward_f127 *const *others, size_t n_others) {
    WARD_ARG_CHECK(n_others < WARD_SHARE_MAX_PARTIES);
    WARD_ARG_CHECK(m == 0 || (last != NULL && secret != NULL));
    WARD_ARG_CHECK(n_others == 0 || others != NULL);
    WARD_ARG_CHECK(m == 0 || vecs_ok127(others, n_others));
    f127_additive_complete(last, secret, m, others, n_others);
    return WARD_OK;
}

int ward_additive_f127_share(ward_rng *rng, ward_f127 *const *shares, size_t n,
                             const ward_f127 *secret, size_t m) {
    WARD_ARG_CHECK(rng != NULL && shares != NULL);
    WARD_ARG_CHECK(n >= 1 && n <= WARD_SHARE_MAX_PARTIES);
    WARD_ARG_CHECK(m == 0 || (secret != NULL && vecs_ok127((const ward_f127 *const *)shares, n)));
    for (size_t i = 0; i + 1 < n; i++) ward_f127_vec_random(rng, shares[i], m);
    f127_additive_complete(shares[n - 1], secret, m, (const ward_f127 *const *)shares, n - 1);
    return WARD_OK;
}

int ward_additive_f127_reconstruct(ward_f127 *secret, size_t m,
                                   const ward_f127 *const *shares, size_t n) {
    WARD_ARG_CHECK(shares != NULL);
    WARD_ARG_CHECK(n >= 1 && n <= WARD_SHARE_MAX_PARTIES);
    WARD_ARG_CHECK(m == 0 || (secret != NULL && vecs_ok127((const ward_f127 *const *)shares, n)));
    f127_additive_sum(secret, m, shares, n);
    return WARD_OK;
}

/* ---- Shamir over F61 ---- */

static int shamir_args_ok(ward_f61 *const *shares, size_t n, size_t t,
                          const ward_f61 *secret, size_t m) {
    return shares != NULL && n >= 1 && n <= WARD_SHARE_MAX_PARTIES && t >= 1 && t <= n &&
           (m == 0 || (secret != NULL && vecs_ok61((const ward_f61 *const *)shares, n)));
}

int ward_shamir_f61_eval(ward_f61 *const *shares, size_t n, size_t t,
                         const ward_f61 *secret, size_t m, const ward_f61 *coef) {
    WARD_ARG_CHECK(shamir_args_ok(shares, n, t, secret, m));
    WARD_ARG_CHECK(t == 1 || m == 0 || coef != NULL);
    ward_f61 *pw = malloc(t * sizeof *pw);
    if (pw == NULL) return WARD_ENOMEM;
    int rc = f61_shamir_eval(shares, 0, n, t, secret, m, coef, m, pw);
    free(pw); /* powers of public x-coordinates: nothing secret */
    return rc == 0 ? WARD_OK : WARD_EINVAL;
}

int ward_shamir_f61_share(ward_rng *rng, ward_f61 *const *shares, size_t n, size_t t,
                          const ward_f61 *secret, size_t m) {
    WARD_ARG_CHECK(rng != NULL);
    WARD_ARG_CHECK(shamir_args_ok(shares, n, t, secret, m));
    size_t block = m < SHAMIR_BLOCK ? m : SHAMIR_BLOCK;
    size_t ncoef = (t - 1) * block;
    ward_f61 *pw = malloc(t * sizeof *pw);
    ward_f61 *coef = malloc((ncoef ? ncoef : 1) * sizeof *coef);
    if (pw == NULL || coef == NULL) {
        free(pw);
        free(coef);
        return WARD_ENOMEM;
    }
    int rc = 0;
    for (size_t off = 0; off < m && rc == 0; off += block) {
        size_t len = m - off < block ? m - off : block;
        /* Coefficient k of element off + j sits at coef[(k-1)*block + j]. */
        for (size_t k = 1; k < t; k++) ward_f61_vec_random(rng, coef + (k - 1) * block, len);
        rc = f61_shamir_eval(shares, off, n, t, secret + off, len, coef, block, pw);
    }
    sodium_memzero(coef, (ncoef ? ncoef : 1) * sizeof *coef);
    free(coef);
    free(pw);
    return rc == 0 ? WARD_OK : WARD_EINVAL;
}

int ward_shamir_f61_lagrange(ward_f61 *lambda, const uint64_t *xs, size_t t) {
    WARD_ARG_CHECK(lambda != NULL && xs != NULL);
    WARD_ARG_CHECK(t >= 1 && t <= WARD_SHARE_MAX_PARTIES);
    for (size_t i = 0; i < t; i++) WARD_ARG_CHECK(xs[i] <= WARD_SHARE_MAX_PARTIES);
    return f61_lagrange(lambda, xs, t) == 0 ? WARD_OK : WARD_EINVAL;
}

int ward_shamir_f61_combine(ward_f61 *secret, size_t m, const ward_f61 *const *shares,
                            const ward_f61 *lambda, size_t t) {
    WARD_ARG_CHECK(shares != NULL && lambda != NULL);
    WARD_ARG_CHECK(t >= 1 && t <= WARD_SHARE_MAX_PARTIES);
    WARD_ARG_CHECK(m == 0 || (secret != NULL && vecs_ok61(shares, t)));
    f61_combine(secret, m, shares, lambda, t);
    return WARD_OK;
}

int ward_shamir_f61_reconstruct(ward_f61 *secret, size_t m, const ward_f61 *const *shares,
                                const uint64_t *xs, size_t k, size_t t) {
    WARD_ARG_CHECK(shares != NULL && xs != NULL);
    WARD_ARG_CHECK(t >= 1 && t <= WARD_SHARE_MAX_PARTIES);
    WARD_ARG_CHECK(k >= t);
    ward_f61 *lambda = malloc(t * sizeof *lambda);
    if (lambda == NULL) return WARD_ENOMEM;
    int rc = ward_shamir_f61_lagrange(lambda, xs, t);
    if (rc == WARD_OK) rc = ward_shamir_f61_combine(secret, m, shares, lambda, t);
    free(lambda); /* depends on the public xs only */
    return rc;
}
