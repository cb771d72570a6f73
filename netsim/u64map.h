/* A small hash map from a pair of 64-bit keys to a 64-bit value, for the
 * simulator's lookups ((node, connection id) -> connection, (node, timer
 * id) -> generation). Open addressing with linear probing and backward-shift
 * deletion, so there are no tombstones and a lookup never walks more than
 * the cluster it lands in. Iteration order is never used, so a run does not
 * depend on where things were placed.
 */
#ifndef WARD_U64MAP_H
#define WARD_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t k1, k2, val;
    uint64_t used;
} ward_u64map_slot;

typedef struct {
    ward_u64map_slot *slots;
    size_t cap, len;   /* cap is 0 or a power of two */
} ward_u64map;

void ward_u64map_init(ward_u64map *m);

/* Inserts or replaces. Returns 0 or WARD_ENOMEM. */
int ward_u64map_put(ward_u64map *m, uint64_t k1, uint64_t k2, uint64_t val);

/* Returns 0 and *val, or WARD_ENOTFOUND. */
int ward_u64map_get(const ward_u64map *m, uint64_t k1, uint64_t k2, uint64_t *val);

/* Removes the key if present. */
void ward_u64map_del(ward_u64map *m, uint64_t k1, uint64_t k2);

size_t ward_u64map_len(const ward_u64map *m);

void ward_u64map_free(ward_u64map *m);

#endif
