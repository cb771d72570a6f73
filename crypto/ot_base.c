#include "ot_base.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { ST_NONE = 0, ST_READY = 1, ST_SPENT = 2, ST_CLOSED = 3 };

#define PB WARD_BASEOT_POINTBYTES

/* Threads (the caller included) that share the per-OT group operations of
 * one batch. The OTs of a batch are independent once the randomness has
 * been drawn, and the work is almost all ristretto255 arithmetic (tens of
 * microseconds per OT), so it spreads over cores with nothing shared but
 * an index counter. 2 because ward's machines have two cores; 1 gives
 * the sequential code. */
#ifndef WARD_BASEOT_THREADS
#define WARD_BASEOT_THREADS 2
#endif
#if WARD_BASEOT_THREADS < 1
#error "WARD_BASEOT_THREADS must be at least 1"
#endif

static const char H2G_LABEL[] = "ward mr19 h2g";
static const char KEY_LABEL[] = "ward mr19 key";

static void put_u64(uint8_t out[8], uint64_t v) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * i));
}

/* Hg(sid, i, P). from_hash cannot fail on 64 bytes. */
static void hash_to_group(uint8_t out[PB], const uint8_t sid[32], uint64_t i,
                          const uint8_t p[PB]) {
    crypto_generichash_state st;
    uint8_t h[crypto_core_ristretto255_HASHBYTES], ib[8];
    put_u64(ib, i);
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)H2G_LABEL, sizeof H2G_LABEL - 1);
    crypto_generichash_update(&st, sid, 32);
    crypto_generichash_update(&st, ib, 8);
    crypto_generichash_update(&st, p, PB);
    crypto_generichash_final(&st, h, sizeof h);
    crypto_core_ristretto255_from_hash(out, h);
    sodium_memzero(h, sizeof h);
    sodium_memzero(&st, sizeof st);
}

/* Hk(sid, n, i, j, R0, R1, B, K). */
static void derive_key(ward_block *out, const uint8_t sid[32], uint64_t n, uint64_t i,
                       uint8_t j, const uint8_t r0[PB], const uint8_t r1[PB],
                       const uint8_t B[PB], const uint8_t K[PB]) {
    crypto_generichash_state st;
    uint8_t nb[8], ib[8];
    put_u64(nb, n);
    put_u64(ib, i);
    crypto_generichash_init(&st, NULL, 0, WARD_BLOCK_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)KEY_LABEL, sizeof KEY_LABEL - 1);
    crypto_generichash_update(&st, sid, 32);
    crypto_generichash_update(&st, nb, 8);
    crypto_generichash_update(&st, ib, 8);
    crypto_generichash_update(&st, &j, 1);
    crypto_generichash_update(&st, r0, PB);
    crypto_generichash_update(&st, r1, PB);
    crypto_generichash_update(&st, B, PB);
    crypto_generichash_update(&st, K, PB);
    crypto_generichash_final(&st, out->b, WARD_BLOCK_BYTES);
    sodium_memzero(&st, sizeof st);
}

/* A canonical encoding of a point other than the identity. libsodium
 * 1.0.18 ignores bit 255 when it decodes (so p and p | 2^255 decode to the
 * same point), while RFC 9496 makes an encoding with that bit set
 * non-canonical: refuse it here. The encoding is public (it came over the
 * wire), so the branches are fine. */
static int point_bytes_ok_var(const uint8_t p[PB]) {
    return !(p[PB - 1] & 0x80) && !sodium_is_zero(p, PB);
}

static int point_ok_var(const uint8_t p[PB]) {
    return point_bytes_ok_var(p) && crypto_core_ristretto255_is_valid_point(p) == 1;
}

/* A uniformly random nonzero scalar from rng. Zero has probability about
 * 2^-252; the loop is there for completeness. */
static void random_scalar(uint8_t s[32], ward_rng *rng) {
    uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES];
    do {
        ward_rng_bytes(rng, wide, sizeof wide);
        crypto_core_ristretto255_scalar_reduce(s, wide);
    } while (sodium_is_zero(s, 32));
    sodium_memzero(wide, sizeof wide);
}

/* Swaps a and b (PB bytes each) when bit is 1, without branching on it. */
static void cswap(uint8_t *a, uint8_t *b, uint8_t bit) {
    uint8_t mask = (uint8_t)(0 - (bit & 1));
    for (size_t k = 0; k < PB; k++) {
        uint8_t t = (uint8_t)((a[k] ^ b[k]) & mask);
        a[k] ^= t;
        b[k] ^= t;
    }
}

/* ---- running the OTs of a batch on several threads ------------------------ */

/* fn(ctx, i) does OT i and returns WARD_OK or an error; it reads only
 * what no other index writes, writes only index i's outputs, and wipes its
 * own secrets. Indices are handed out one at a time from a shared counter
 * (an OT is tens of microseconds, the counter a few nanoseconds), so a
 * thread that the scheduler delays does not hold the others up. Which
 * thread runs which index changes nothing in the outputs. */
typedef struct {
    int (*fn)(void *ctx, size_t i);
    void *ctx;
    size_t n;
    atomic_size_t next;
    atomic_int rc;      /* the first error, WARD_OK while there is none */
} par_job;

static void par_drain(par_job *job) {
    for (;;) {
        /* After an error the batch is refused whole: stop early. Whether
         * and where an OT fails depends on the peer's (public) points. */
        if (atomic_load_explicit(&job->rc, memory_order_relaxed) != WARD_OK) return;
        size_t i = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (i >= job->n) return;
        int rc = job->fn(job->ctx, i);
        if (rc != WARD_OK) {
            int none = WARD_OK;
            atomic_compare_exchange_strong(&job->rc, &none, rc);
            return;
        }
    }
}

static void *par_thread(void *arg) {
    par_drain(arg);
    return NULL;
}

/* Runs fn for i = 0 .. n-1 on up to WARD_BASEOT_THREADS threads, the
 * caller's included, and returns WARD_OK or the first error. A thread that
 * cannot be created is not an error: the threads that exist (at least the
 * caller) do its share. Every thread is joined before this returns, so the
 * outputs are complete and no thread outlives the call. */
static int par_run(size_t n, int (*fn)(void *ctx, size_t i), void *ctx) {
    if (n == 0) return WARD_OK;
    par_job job = {.fn = fn, .ctx = ctx, .n = n};
    atomic_init(&job.next, 0);
    atomic_init(&job.rc, WARD_OK);
    pthread_t tid[WARD_BASEOT_THREADS > 1 ? WARD_BASEOT_THREADS - 1 : 1];
    size_t want = n < WARD_BASEOT_THREADS ? n - 1 : WARD_BASEOT_THREADS - 1, started = 0;
    if (want > 0) {
        /* The helpers take no asynchronous signals: those stay with the
         * caller's threads, which the program set up to handle them. The
         * synchronous ones (a fault in the helper itself) stay deliverable
         * so that they are reported where they happen. */
        sigset_t block, old;
        sigfillset(&block);
        sigdelset(&block, SIGSEGV);
        sigdelset(&block, SIGBUS);
        sigdelset(&block, SIGFPE);
        sigdelset(&block, SIGILL);
        sigdelset(&block, SIGABRT);
        int masked = pthread_sigmask(SIG_BLOCK, &block, &old) == 0;
        /* Helpers start on another core than the caller's: a new thread
         * otherwise starts on its parent's core, and for a job of a few
         * milliseconds the scheduler moves it too late to help (measured:
         * the first batches ran at the speed of one thread). */
        pthread_attr_t attr;
        int have_attr = pthread_attr_init(&attr) == 0;
        if (have_attr) {
            cpu_set_t allowed;
            int here = sched_getcpu();
            if (here >= 0 && sched_getaffinity(0, sizeof allowed, &allowed) == 0 &&
                CPU_ISSET(here, &allowed) && CPU_COUNT(&allowed) > 1) {
                CPU_CLR(here, &allowed);
                pthread_attr_setaffinity_np(&attr, sizeof allowed, &allowed);
            }
        }
        while (started < want) {
            /* The placement is a hint: where it is refused (a restricted
             * cpuset), the helper starts wherever the scheduler puts it. */
            if (pthread_create(&tid[started], have_attr ? &attr : NULL, par_thread, &job) != 0 &&
                (!have_attr || pthread_create(&tid[started], NULL, par_thread, &job) != 0))
                break;
            started++;
        }
        if (have_attr) pthread_attr_destroy(&attr);
        if (masked) pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    par_drain(&job);
    for (size_t k = 0; k < started; k++) pthread_join(tid[k], NULL);
    return atomic_load(&job.rc);
}

/* ---- sender ------------------------------------------------------------- */

int ward_baseot_sender_init(ward_baseot_sender *s, ward_rng *rng,
                            const uint8_t sid[WARD_BASEOT_SIDBYTES], size_t n) {
    WARD_ARG_CHECK(s != NULL);
    memset(s, 0, sizeof *s);
    s->state = ST_CLOSED;
    WARD_ARG_CHECK(rng != NULL && sid != NULL && n >= 1 && n <= WARD_BASEOT_MAX);
    if (sodium_init() < 0) return WARD_EINVAL;
    memcpy(s->sid, sid, sizeof s->sid);
    random_scalar(s->b, rng);
    if (crypto_scalarmult_ristretto255_base(s->B, s->b) != 0) {
        ward_baseot_sender_clear(s);
        s->state = ST_CLOSED;
        return WARD_EINVAL;
    }
    s->n = n;
    s->state = ST_READY;
    return WARD_OK;
}

int ward_baseot_sender_msg(const ward_baseot_sender *s,
                           uint8_t out[WARD_BASEOT_SEND_MSG_BYTES]) {
    WARD_ARG_CHECK(s != NULL && out != NULL);
    if (s->state == ST_CLOSED) return WARD_ECLOSED;
    if (s->state != ST_READY) return WARD_ESTATE;
    memcpy(out, s->B, PB);
    return WARD_OK;
}

static int sender_fail(ward_baseot_sender *s, ward_block *k0, ward_block *k1, size_t n,
                       int rc) {
    sodium_memzero(k0, n * sizeof *k0);
    sodium_memzero(k1, n * sizeof *k1);
    sodium_memzero(s, sizeof *s);
    s->state = ST_CLOSED;
    return rc;
}

typedef struct {
    const ward_baseot_sender *s;
    ward_block *k0, *k1;
    size_t n;
    const uint8_t *msg;
} send_job;

/* The sender's OT i: both keys. */
static int send_one(void *ctx, size_t i) {
    const send_job *job = ctx;
    const ward_baseot_sender *s = job->s;
    const uint8_t *r[2] = {job->msg + 2 * i * PB, job->msg + (2 * i + 1) * PB};
    ward_block *out[2] = {&job->k0[i], &job->k1[i]};
    uint8_t h[PB], p[PB], K[PB];
    int rc = WARD_OK;
    for (int j = 0; j < 2; j++) {
        hash_to_group(h, s->sid, i, r[1 - j]);
        /* add fails when R_j is not a canonical encoding; the
         * multiplication when P_j is the identity. */
        if (crypto_core_ristretto255_add(p, r[j], h) != 0 ||
            crypto_scalarmult_ristretto255(K, s->b, p) != 0) {
            rc = WARD_EPARSE;
            break;
        }
        derive_key(out[j], s->sid, job->n, i, (uint8_t)j, r[0], r[1], s->B, K);
    }
    sodium_memzero(K, sizeof K);
    sodium_memzero(p, sizeof p);
    sodium_memzero(h, sizeof h);
    return rc;
}

int ward_baseot_sender_finish(ward_baseot_sender *s, ward_block *k0, ward_block *k1,
                              size_t n, const uint8_t *msg, size_t len) {
    WARD_ARG_CHECK(s != NULL && k0 != NULL && k1 != NULL && (msg != NULL || len == 0));
    if (s->state == ST_CLOSED) return WARD_ECLOSED;
    if (s->state != ST_READY) return WARD_ESTATE;
    WARD_ARG_CHECK(n == s->n);
    size_t want = WARD_BASEOT_RECV_MSG_BYTES(n);
    if (len < want) return sender_fail(s, k0, k1, n, WARD_ETRUNC);
    if (len > want) return sender_fail(s, k0, k1, n, WARD_EPARSE);
    /* The cheap checks first for the whole batch (bit 255, the identity);
     * whether each encoding decodes is checked by the addition below, which
     * decodes it anyway (a second decode per point would cost a tenth of
     * the sender's time). Any failure refuses the whole batch. */
    for (size_t i = 0; i < 2 * n; i++)
        if (!point_bytes_ok_var(msg + i * PB)) return sender_fail(s, k0, k1, n, WARD_EPARSE);

    send_job job = {.s = s, .k0 = k0, .k1 = k1, .n = n, .msg = msg};
    int rc = par_run(n, send_one, &job);
    if (rc != WARD_OK) return sender_fail(s, k0, k1, n, rc);
    sodium_memzero(s->b, sizeof s->b);
    s->state = ST_SPENT;
    return WARD_OK;
}

void ward_baseot_sender_clear(ward_baseot_sender *s) {
    if (s) sodium_memzero(s, sizeof *s);
}

/* ---- receiver ----------------------------------------------------------- */

static void receiver_wipe(ward_baseot_receiver *r, int state) {
    if (r->msg) {
        /* Public once complete, but it stages the secret randomness of
         * R_{1-c} while ward_baseot_receiver_init runs. */
        sodium_memzero(r->msg, WARD_BASEOT_RECV_MSG_BYTES(r->n));
        free(r->msg);
    }
    if (r->scalars) {
        sodium_memzero(r->scalars, r->n * 32);
        free(r->scalars);
    }
    if (r->choices) {
        sodium_memzero(r->choices, (r->n + 7) / 8);
        free(r->choices);
    }
    sodium_memzero(r, sizeof *r);
    r->state = state;
}

/* The receiver's OT i for message 1. On entry OT i's 64-byte slot of
 * message 1 holds the randomness for R_{1-c}; on return it holds
 * (R0_i, R1_i). */
static int recv_init_one(void *ctx, size_t i) {
    _Static_assert(crypto_core_ristretto255_HASHBYTES == 2 * PB, "one slot of message 1");
    ward_baseot_receiver *r = ctx;
    uint8_t wide[crypto_core_ristretto255_HASHBYTES], A[PB], h[PB];
    uint8_t c = (r->choices[i / 8] >> (i % 8)) & 1;
    uint8_t *rc_pt = r->msg + 2 * i * PB;   /* R_c, until the swap */
    uint8_t *rn_pt = rc_pt + PB;            /* R_{1-c} */
    const uint8_t *a = r->scalars + i * 32;
    int rc = WARD_OK;
    memcpy(wide, rc_pt, sizeof wide);
    crypto_core_ristretto255_from_hash(rn_pt, wide);
    hash_to_group(h, r->sid, i, rn_pt);
    if (crypto_scalarmult_ristretto255_base(A, a) != 0 ||
        crypto_core_ristretto255_sub(rc_pt, A, h) != 0) {
        rc = WARD_EINVAL;
    } else {
        /* Now (R_c, R_{1-c}) sits in slots (0, 1); put it in (R0, R1). */
        cswap(rc_pt, rn_pt, c);
    }
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(A, sizeof A);
    sodium_memzero(h, sizeof h);
    sodium_memzero(&c, sizeof c);
    return rc;
}

int ward_baseot_receiver_init(ward_baseot_receiver *r, ward_rng *rng,
                              const uint8_t sid[WARD_BASEOT_SIDBYTES],
                              const uint8_t *choices, size_t n) {
    WARD_ARG_CHECK(r != NULL);
    memset(r, 0, sizeof *r);
    r->state = ST_CLOSED;
    WARD_ARG_CHECK(rng != NULL && sid != NULL && choices != NULL);
    WARD_ARG_CHECK(n >= 1 && n <= WARD_BASEOT_MAX);
    if (sodium_init() < 0) return WARD_EINVAL;
    r->n = n;
    r->msg = malloc(WARD_BASEOT_RECV_MSG_BYTES(n));
    r->scalars = malloc(n * 32);
    r->choices = malloc((n + 7) / 8);
    if (!r->msg || !r->scalars || !r->choices) {
        receiver_wipe(r, ST_CLOSED);
        return WARD_ENOMEM;
    }
    memcpy(r->sid, sid, sizeof r->sid);
    memcpy(r->choices, choices, (n + 7) / 8);

    /* All randomness first, from rng in the order the OTs come (for each
     * i: the 64 bytes behind R_{1-c}, then a_i), so that the result is the
     * same whatever thread computes which OT. The 64 bytes wait in OT i's
     * own slot of message 1, which recv_init_one overwrites. */
    for (size_t i = 0; i < n; i++) {
        ward_rng_bytes(rng, r->msg + 2 * i * PB, crypto_core_ristretto255_HASHBYTES);
        random_scalar(r->scalars + i * 32, rng);
    }
    int rc = par_run(n, recv_init_one, r);
    if (rc != WARD_OK) {
        receiver_wipe(r, ST_CLOSED);
        return rc;
    }
    r->state = ST_READY;
    return WARD_OK;
}

int ward_baseot_receiver_msg(const ward_baseot_receiver *r, uint8_t *out, size_t cap,
                             size_t *len) {
    WARD_ARG_CHECK(r != NULL && out != NULL && len != NULL);
    if (r->state == ST_CLOSED) return WARD_ECLOSED;
    if (r->state != ST_READY) return WARD_ESTATE;
    size_t want = WARD_BASEOT_RECV_MSG_BYTES(r->n);
    if (cap < want) return WARD_ETOOBIG;
    memcpy(out, r->msg, want);
    *len = want;
    return WARD_OK;
}

static int receiver_fail(ward_baseot_receiver *r, ward_block *keys, size_t n, int rc) {
    sodium_memzero(keys, n * sizeof *keys);
    receiver_wipe(r, ST_CLOSED);
    return rc;
}

typedef struct {
    const ward_baseot_receiver *r;
    ward_block *keys;
    size_t n;
    const uint8_t *B;
} recv_finish_job;

/* The receiver's key for OT i. */
static int recv_finish_one(void *ctx, size_t i) {
    const recv_finish_job *job = ctx;
    const ward_baseot_receiver *r = job->r;
    uint8_t K[PB];
    uint8_t c = (r->choices[i / 8] >> (i % 8)) & 1;
    int rc = WARD_OK;
    if (crypto_scalarmult_ristretto255(K, r->scalars + i * 32, job->B) != 0)
        rc = WARD_EPARSE;
    else
        derive_key(&job->keys[i], r->sid, job->n, i, c, r->msg + 2 * i * PB,
                   r->msg + (2 * i + 1) * PB, job->B, K);
    sodium_memzero(K, sizeof K);
    sodium_memzero(&c, sizeof c);
    return rc;
}

int ward_baseot_receiver_finish(ward_baseot_receiver *r, ward_block *keys, size_t n,
                                const uint8_t *msg, size_t len) {
    WARD_ARG_CHECK(r != NULL && keys != NULL && (msg != NULL || len == 0));
    if (r->state == ST_CLOSED) return WARD_ECLOSED;
    if (r->state != ST_READY) return WARD_ESTATE;
    WARD_ARG_CHECK(n == r->n);
    if (len < WARD_BASEOT_SEND_MSG_BYTES) return receiver_fail(r, keys, n, WARD_ETRUNC);
    if (len > WARD_BASEOT_SEND_MSG_BYTES || !point_ok_var(msg))
        return receiver_fail(r, keys, n, WARD_EPARSE);
    recv_finish_job job = {.r = r, .keys = keys, .n = n, .B = msg};
    int rc = par_run(n, recv_finish_one, &job);
    if (rc != WARD_OK) return receiver_fail(r, keys, n, rc);
    /* Spent: the scalars and choices are no longer needed. */
    size_t nn = r->n;
    receiver_wipe(r, ST_SPENT);
    r->n = nn;
    return WARD_OK;
}

void ward_baseot_receiver_clear(ward_baseot_receiver *r) {
    if (!r) return;
    receiver_wipe(r, ST_NONE);
}
