#include "u64map.h"

#include <stdlib.h>

#include "error.h"

static size_t slot_of(const ward_u64map *m, uint64_t k1, uint64_t k2) {
    /* splitmix64 finaliser over both keys */
    uint64_t h = k1 * 0x9E3779B97F4A7C15ULL ^ (k2 + 0x632BE59BD9B4E019ULL);
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 31;
    return (size_t)h & (m->cap - 1);
}

void ward_u64map_init(ward_u64map *m) {
    m->slots = NULL;
    m->cap = m->len = 0;
}

static int grow(ward_u64map *m) {
    size_t cap = m->cap ? 2 * m->cap : 64;
    if (cap > SIZE_MAX / sizeof(ward_u64map_slot)) return WARD_ENOMEM;
    ward_u64map_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        m->slots = old;
        return WARD_ENOMEM;
    }
    m->cap = cap;
    m->len = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used) ward_u64map_put(m, old[i].k1, old[i].k2, old[i].val);
    free(old);
    return WARD_OK;
}

int ward_u64map_put(ward_u64map *m, uint64_t k1, uint64_t k2, uint64_t val) {
    WARD_ARG_CHECK(m != NULL);
    if ((m->len + 1) * 4 > m->cap * 3) {
        int rc = grow(m);
        if (rc != WARD_OK) return rc;
    }
    size_t i = slot_of(m, k1, k2);
    for (size_t probes = 0; probes < m->cap; probes++) {
        ward_u64map_slot *s = &m->slots[i];
        if (!s->used) {
            *s = (ward_u64map_slot){.k1 = k1, .k2 = k2, .val = val, .used = 1};
            m->len++;
            return WARD_OK;
        }
        if (s->k1 == k1 && s->k2 == k2) {
            s->val = val;
            return WARD_OK;
        }
        i = (i + 1) & (m->cap - 1);
    }
    return WARD_ENOMEM; /* unreachable: the load factor stays below 3/4 */
}

static long find(const ward_u64map *m, uint64_t k1, uint64_t k2) {
    if (m->cap == 0) return -1;
    size_t i = slot_of(m, k1, k2);
    for (size_t probes = 0; probes < m->cap; probes++) {
        const ward_u64map_slot *s = &m->slots[i];
        if (!s->used) return -1;
        if (s->k1 == k1 && s->k2 == k2) return (long)i;
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

int ward_u64map_get(const ward_u64map *m, uint64_t k1, uint64_t k2, uint64_t *val) {
    WARD_ARG_CHECK(m != NULL && val != NULL);
    long i = find(m, k1, k2);
    if (i < 0) return WARD_ENOTFOUND;
    *val = m->slots[i].val;
    return WARD_OK;
}

void ward_u64map_del(ward_u64map *m, uint64_t k1, uint64_t k2) {
    long found = find(m, k1, k2);
    if (found < 0) return;
    size_t hole = (size_t)found, mask = m->cap - 1;
    m->slots[hole].used = 0;
    m->len--;
    /* Backward shift: move later members of the cluster into the hole when
     * their home slot does not lie cyclically in (hole, j]. */
    size_t j = hole;
    for (size_t probes = 0; probes < m->cap; probes++) {
        j = (j + 1) & mask;
        ward_u64map_slot *s = &m->slots[j];
        if (!s->used) return;
        size_t home = slot_of(m, s->k1, s->k2);
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays) continue;
        m->slots[hole] = *s;
        s->used = 0;
        hole = j;
    }
}

size_t ward_u64map_len(const ward_u64map *m) { return m->len; }

void ward_u64map_free(ward_u64map *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}
