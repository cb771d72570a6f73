#include "eventq.h"

#include <stdlib.h>

#include "error.h"

static int event_before(const ward_event *a, const ward_event *b) {
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void swap_events(ward_event *a, ward_event *b) {
    ward_event t = *a;
    *a = *b;
    *b = t;
}

void ward_eventq_init(ward_eventq *q, size_t max_len) {
    q->heap = NULL;
    q->len = q->cap = 0;
    q->next_seq = 0;
    q->max_len = max_len;
}

int ward_eventq_push(ward_eventq *q, uint64_t *seq_out, uint64_t time, int kind,
                     uint32_t node, void *data) {
    WARD_ARG_CHECK(q != NULL);
    if (q->max_len != 0 && q->len >= q->max_len) return WARD_ETOOBIG;
    if (q->len == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        if (cap > SIZE_MAX / sizeof(ward_event)) return WARD_ENOMEM;
        ward_event *h = realloc(q->heap, cap * sizeof(ward_event));
        if (h == NULL) return WARD_ENOMEM;
        q->heap = h;
        q->cap = cap;
    }
    size_t i = q->len++;
    q->heap[i] = (ward_event){.time = time, .seq = q->next_seq++, .kind = kind,
                              .node = node, .data = data};
    if (seq_out) *seq_out = q->heap[i].seq;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(&q->heap[i], &q->heap[parent])) break;
        swap_events(&q->heap[i], &q->heap[parent]);
        i = parent;
    }
    return WARD_OK;
}

int ward_eventq_pop(ward_eventq *q, ward_event *out) {
    WARD_ARG_CHECK(q != NULL && out != NULL);
    if (q->len == 0) return WARD_ENOTFOUND;
    *out = q->heap[0];
    q->heap[0] = q->heap[--q->len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->len && event_before(&q->heap[l], &q->heap[m])) m = l;
        if (r < q->len && event_before(&q->heap[r], &q->heap[m])) m = r;
        if (m == i) break;
        swap_events(&q->heap[i], &q->heap[m]);
        i = m;
    }
    return WARD_OK;
}

const ward_event *ward_eventq_peek(const ward_eventq *q) {
    return q->len ? &q->heap[0] : NULL;
}

size_t ward_eventq_len(const ward_eventq *q) { return q->len; }

void ward_eventq_free(ward_eventq *q) {
    free(q->heap);
    q->heap = NULL;
    q->len = q->cap = 0;
}
