/* Randomness for ward.
 *
 * Every random choice in ward (keys, shares, noise, nonces) goes through a
 * ward_rng. Two kinds exist:
 *
 *  - system: a ChaCha20 stream keyed from the operating system
 *    (randombytes_buf), with fast key erasure (each refill replaces the key
 *    with fresh keystream, so a later memory leak reveals nothing already
 *    produced) and a new key from the OS every 1 MiB. Production nodes use
 *    it; one system call per 256 bytes would be far slower.
 *  - seeded: a ChaCha20 keystream under a 32-byte seed. Tests and the
 *    simulator use it so that a run is a pure function of its seed.
 *
 * The state is caller-allocated and fixed-size (libsodium style); it holds
 * the seed of a seeded generator, so wipe it with ward_rng_clear() when done.
 * A ward_rng is not thread-safe: give each thread its own (derive child
 * generators with ward_rng_fork()).
 */
#ifndef WARD_RNG_H
#define WARD_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int kind;              /* 0 = unset, 1 = system, 2 = seeded */
    uint8_t key[32];       /* ChaCha20 key (system: replaced at every refill) */
    uint64_t block;        /* seeded: next keystream block */
    uint8_t buf[256];      /* unread keystream */
    uint32_t buf_pos;      /* bytes of buf already used (sizeof buf = empty) */
    uint64_t since_reseed; /* system: bytes produced since the key came from the OS */
} ward_rng;

#define WARD_RNG_SEEDBYTES 32

/* Calls sodium_init(). Returns 0, or WARD_EINVAL if libsodium cannot start. */
int ward_rng_init_system(ward_rng *rng);

/* A deterministic generator: the same seed gives the same stream. */
int ward_rng_init_seeded(ward_rng *rng, const uint8_t seed[WARD_RNG_SEEDBYTES]);

/* Convenience for tests and the simulator: seed from a 64-bit integer
 * (the integer is hashed with a domain label into a 32-byte seed). */
int ward_rng_init_u64(ward_rng *rng, uint64_t seed);

/* Fills out[0..len). Never fails on an initialised generator. */
void ward_rng_bytes(ward_rng *rng, uint8_t *out, size_t len);

uint64_t ward_rng_u64(ward_rng *rng);

/* A uniform integer in [0, bound), bound >= 1, by rejection sampling.
 * The number of draws depends only on the (public) bound and on the random
 * stream, not on any secret. */
uint64_t ward_rng_uniform(ward_rng *rng, uint64_t bound);

/* Derives an independent child generator (seeded if the parent is seeded,
 * system otherwise), keyed by `label` so that children with different
 * labels are unrelated. */
void ward_rng_fork(ward_rng *child, ward_rng *parent, uint64_t label);

/* Wipes the state. */
void ward_rng_clear(ward_rng *rng);

/* Simulator builds: make libsodium's own randombytes_* (used inside
 * crypto_box_keypair and friends) draw from a seeded stream too, so that a
 * whole simulated process is deterministic. Call it before anything in the
 * process draws randomness; it stays in force for the life of the process.
 * Returns WARD_ESTATE if libsodium refuses the implementation. */
int ward_rng_install_sodium_seeded(const uint8_t seed[WARD_RNG_SEEDBYTES]);

#endif
