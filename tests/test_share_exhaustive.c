/* Exhaustive correctness and privacy of the sharing algorithms at a toy
 * prime, in the manner of libsecp256k1's exhaustive tests.
 *
 * share_impl.h is instantiated here over F_13 with exactly the code that
 * share.c instantiates over F_(2^61-1). Every secret and every choice of
 * randomness is enumerated, as one long vector, through the production
 * evaluation, completion, interpolation and combination functions:
 *
 *  - correctness: every t-subset of Shamir shares (in every order) and every
 *    full set of additive shares gives back the secret, for all of them;
 *  - privacy: for every subset of at most t-1 Shamir shares and of at most
 *    n-1 additive shares, the joint distribution of the shares over all
 *    randomness is the same for every secret (and uniform); and, so that
 *    the check is seen to bite, t shares (all n additive ones) do not have
 *    that property.
 *
 * The toy accumulator checks that the lazy reduction never lets it exceed
 * its declared bound, just as the 128-bit accumulator of F_(2^61-1) must
 * not exceed 2^128.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

#define TP 13u
#define MAX_N 5

typedef uint32_t toy;

/* Residue plus SHARE_ACC_BLOCK products of elements < TP. */
#define TOY_ACC_BLOCK 2
#define TOY_ACC_MAX ((TP - 1) + TOY_ACC_BLOCK * (TP - 1) * (TP - 1))

static unsigned long acc_violations;

static inline toy toy_add(toy a, toy b) { return (a + b) % TP; }
static inline toy toy_sub(toy a, toy b) { return (a + TP - b) % TP; }
static inline toy toy_mul(toy a, toy b) { return (a * b) % TP; }

static inline int toy_inv(toy *out, toy a) {
    toy r = 1;
    for (unsigned i = 0; i < TP - 2; i++) r = toy_mul(r, a);
    *out = r;
    return a == 0 ? -1 : 0;
}

static inline uint32_t toy_acc_muladd(uint32_t acc, toy a, toy b) {
    uint32_t r = acc + a * b;
    if (r > TOY_ACC_MAX) acc_violations++;
    return r;
}

static inline toy toy_acc_reduce(uint32_t acc) {
    if (acc > TOY_ACC_MAX) acc_violations++;
    return acc % TP;
}

#define SHARE_ELEM toy
#define SHARE_FN(name) toy_##name
#define SHARE_ZERO ((toy)0)
#define SHARE_ONE ((toy)1)
#define SHARE_ADD(a, b) toy_add((a), (b))
#define SHARE_SUB(a, b) toy_sub((a), (b))
#define SHARE_WITH_SHAMIR 1
#define SHARE_MUL(a, b) toy_mul((a), (b))
#define SHARE_INV(out, a) toy_inv((out), (a))
#define SHARE_X_LIMIT TP
#define SHARE_FROM_X(x) ((toy)(x))
#define SHARE_ACC uint32_t
#define SHARE_ACC_FROM(e) ((uint32_t)(e))
#define SHARE_ACC_MULADD(acc, a, b) toy_acc_muladd((acc), (a), (b))
#define SHARE_ACC_REDUCE(acc) toy_acc_reduce(acc)
#define SHARE_ACC_BLOCK TOY_ACC_BLOCK
#include "share_impl.h"

static size_t ipow(size_t b, unsigned e) {
    size_t r = 1;
    while (e--) r *= b;
    return r;
}

static unsigned popcount(unsigned x) {
    unsigned c = 0;
    for (; x; x &= x - 1) c++;
    return c;
}

/* Rearranges a[0..k) into the next permutation in lexicographic order;
 * returns 0 (and leaves it sorted) after the last one. */
static int next_permutation(size_t *a, size_t k) {
    if (k < 2) return 0;
    size_t i = k - 1;
    while (i > 0 && a[i - 1] >= a[i]) i--;
    if (i == 0) {
        for (size_t l = 0, r = k - 1; l < r; l++, r--) {
            size_t t = a[l];
            a[l] = a[r];
            a[r] = t;
        }
        return 0;
    }
    size_t j = k - 1;
    while (a[j] <= a[i - 1]) j--;
    size_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
    for (size_t l = i, r = k - 1; l < r; l++, r--) {
        t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return 1;
}

/* Members of the subset `mask` of {0..n-1}, ascending; returns the count. */
static size_t members(size_t *out, unsigned mask, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (mask >> i & 1) out[k++] = i;
    return k;
}

/* The joint distribution of the k-tuple of shares idx[0..k), counted over
 * all randomness (sharing j = s * per_secret + r has secret s and
 * randomness r). Sets *same when the histogram is identical for every
 * secret, *uniform when every outcome has the same count. hist0 and hist
 * hold TP^k counters each. */
static void joint_dist(int *same, int *uniform, toy *const *shares, const size_t *idx, size_t k,
                       size_t per_secret, unsigned *hist0, unsigned *hist) {
    size_t outcomes = ipow(TP, (unsigned)k);
    *same = 1;
    *uniform = per_secret % outcomes == 0;
    for (toy s = 0; s < TP; s++) {
        unsigned *h = s == 0 ? hist0 : hist;
        memset(h, 0, outcomes * sizeof *h);
        for (size_t r = 0; r < per_secret; r++) {
            size_t j = (size_t)s * per_secret + r, code = 0;
            for (size_t i = 0; i < k; i++) code = code * TP + shares[idx[i]][j];
            h[code]++;
        }
        for (size_t o = 0; o < outcomes; o++) {
            *same &= h[o] == hist0[o];
            *uniform &= (size_t)h[o] * outcomes == per_secret;
        }
    }
}

static void test_shamir(void) {
    for (size_t n = 1; n <= MAX_N; n++) {
        for (size_t t = 1; t <= n; t++) {
            size_t per = ipow(TP, (unsigned)(t - 1)); /* coefficient vectors */
            size_t m = TP * per;                      /* x every secret */
            toy *secret = malloc(m * sizeof *secret);
            toy *coef = malloc((t * m + 1) * sizeof *coef);
            toy *buf = malloc(n * m * sizeof *buf), *rec = malloc(m * sizeof *rec);
            size_t nout = ipow(TP, (unsigned)t);
            unsigned *hist = malloc(nout * sizeof *hist), *hist0 = malloc(nout * sizeof *hist0);
            toy *shares[MAX_N], pw[MAX_N], lambda[MAX_N];
            if (!secret || !coef || !buf || !rec || !hist || !hist0) {
                CHECK(0);
                goto next;
            }
            for (size_t i = 0; i < n; i++) shares[i] = buf + i * m;
            /* element j = s * per + r: secret s, coefficients = digits of r */
            for (size_t j = 0; j < m; j++) {
                size_t r = j % per;
                secret[j] = (toy)(j / per);
                for (size_t k = 1; k < t; k++, r /= TP) coef[(k - 1) * m + j] = (toy)(r % TP);
            }
            CHECK(toy_shamir_eval(shares, 0, n, t, secret, m, coef, m, pw) == 0);

            /* correctness: every t-subset, in every order */
            for (unsigned mask = 0; mask < (1u << n); mask++) {
                if (popcount(mask) != t) continue;
                size_t idx[MAX_N];
                members(idx, mask, n);
                do {
                    const toy *sub[MAX_N];
                    uint64_t xs[MAX_N];
                    for (size_t i = 0; i < t; i++) {
                        sub[i] = shares[idx[i]];
                        xs[i] = idx[i] + 1;
                    }
                    CHECK(toy_lagrange(lambda, xs, t) == 0);
                    for (size_t j = 0; j < m; j++) rec[j] = 99;
                    toy_combine(rec, m, sub, lambda, t);
                    CHECK_MEM(rec, secret, m * sizeof *rec);
                } while (next_permutation(idx, t));
            }

            /* privacy: every subset of at most t-1 shares has the same
             * distribution for every secret (and it is uniform); a t-subset
             * determines the secret, so its distribution differs. */
            for (unsigned mask = 0; mask < (1u << n); mask++) {
                size_t idx[MAX_N];
                size_t k = members(idx, mask, n);
                if (k > t) continue;
                int same, uniform;
                joint_dist(&same, &uniform, shares, idx, k, per, hist0, hist);
                if (k < t) {
                    CHECK(same);
                    CHECK(uniform);
                } else {
                    CHECK(!same);
                }
            }
        next:
            free(secret);
            free(coef);
            free(buf);
            free(rec);
            free(hist);
            free(hist0);
        }
    }
}

static void test_additive(void) {
    for (size_t n = 1; n <= MAX_N; n++) {
        size_t per = ipow(TP, (unsigned)(n - 1)); /* choices of the n-1 random shares */
        size_t m = TP * per;
        toy *secret = malloc(m * sizeof *secret), *buf = malloc(n * m * sizeof *buf);
        toy *rec = malloc(m * sizeof *rec);
        size_t nout = ipow(TP, (unsigned)n);
        unsigned *hist = malloc(nout * sizeof *hist), *hist0 = malloc(nout * sizeof *hist0);
        toy *shares[MAX_N];
        if (!secret || !buf || !rec || !hist || !hist0) {
            CHECK(0);
            goto next;
        }
        for (size_t i = 0; i < n; i++) shares[i] = buf + i * m;
        for (size_t j = 0; j < m; j++) {
            size_t r = j % per;
            secret[j] = (toy)(j / per);
            for (size_t i = 0; i + 1 < n; i++, r /= TP) shares[i][j] = (toy)(r % TP);
        }
        toy_additive_complete(shares[n - 1], secret, m, (const toy *const *)shares, n - 1);

        /* correctness: the sum of all n, in two orders */
        toy_additive_sum(rec, m, (const toy *const *)shares, n);
        CHECK_MEM(rec, secret, m * sizeof *rec);
        const toy *rev[MAX_N];
        for (size_t i = 0; i < n; i++) rev[i] = shares[n - 1 - i];
        toy_additive_sum(rec, m, rev, n);
        CHECK_MEM(rec, secret, m * sizeof *rec);

        /* privacy: every subset of at most n-1 shares has the same
         * (uniform) distribution for every secret; all n do not */
        for (unsigned mask = 0; mask < (1u << n); mask++) {
            size_t idx[MAX_N];
            size_t k = members(idx, mask, n);
            int same, uniform;
            joint_dist(&same, &uniform, (toy *const *)shares, idx, k, per, hist0, hist);
            if (k < n) {
                CHECK(same);
                CHECK(uniform);
            } else {
                CHECK(!same);
            }
        }
    next:
        free(secret);
        free(buf);
        free(rec);
        free(hist);
        free(hist0);
    }
}

/* The interpolation's argument checks, at the toy size where x-coordinates
 * run out. */
static void test_limits(void) {
    toy lambda[4], pw[13], one[1] = {0}, out[1];
    toy *sh[13];
    for (int i = 0; i < 13; i++) sh[i] = out;
    uint64_t dup[3] = {1, 2, 1}, zero[2] = {0, 1}, big[2] = {1, TP}, ok[3] = {12, 1, 5};
    CHECK(toy_lagrange(lambda, dup, 3) != 0);
    CHECK(toy_lagrange(lambda, zero, 2) != 0);
    CHECK(toy_lagrange(lambda, big, 2) != 0);
    CHECK(toy_lagrange(lambda, ok, 0) != 0);
    CHECK(toy_lagrange(lambda, ok, 3) == 0);
    /* sum of the coefficients at 0 is 1 */
    CHECK(toy_add(toy_add(lambda[0], lambda[1]), lambda[2]) == 1);
    CHECK(toy_shamir_eval(sh, 0, 12, 2, one, 1, one, 1, pw) == 0);
    CHECK(toy_shamir_eval(sh, 0, 13, 2, one, 1, one, 1, pw) != 0); /* x = 13 = 0 */
    CHECK(toy_shamir_eval(sh, 0, 3, 4, one, 1, one, 1, pw) != 0);  /* t > n */
    CHECK(toy_shamir_eval(sh, 0, 3, 0, one, 1, one, 1, pw) != 0);  /* t = 0 */
}

int main(void) {
    test_shamir();
    test_additive();
    test_limits();
    CHECK(acc_violations == 0);
    return check_done("share-exhaustive");
}
