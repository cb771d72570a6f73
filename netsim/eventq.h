/* The simulator's event queue: events ordered by (virtual time, sequence).
 *
 * The sequence number is assigned at insertion and increases by one per
 * push, so two events at the same virtual time come out in the order they
 * were scheduled. That total order is what makes a simulated run a pure
 * function of its seed. The queue owns its array; the caller owns the
 * ward_eventq struct and each event's `data`.
 */
#ifndef WARD_EVENTQ_H
#define WARD_EVENTQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t time;      /* virtual time, nanoseconds */
    uint64_t seq;       /* insertion order, assigned by ward_eventq_push */
    int kind;           /* the simulator's own event kinds */
    uint32_t node;      /* the node the event is for */
    void *data;         /* owned by the caller */
} ward_event;

typedef struct {
    ward_event *heap;
    size_t len, cap;
    uint64_t next_seq;
    size_t max_len;     /* bound on queued events; 0 = no bound */
} ward_eventq;

/* max_len bounds the queue (a runaway simulation fails instead of eating
 * memory); 0 means unbounded. */
void ward_eventq_init(ward_eventq *q, size_t max_len);

/* Schedules an event; *seq_out (may be NULL) receives its sequence number.
 * Returns 0, WARD_ENOMEM, or WARD_ETOOBIG when max_len is reached. */
int ward_eventq_push(ward_eventq *q, uint64_t *seq_out, uint64_t time, int kind,
                     uint32_t node, void *data);

/* Removes the earliest event into *out. Returns 0, or WARD_ENOTFOUND when
 * the queue is empty. */
int ward_eventq_pop(ward_eventq *q, ward_event *out);

/* The earliest event without removing it, or NULL when empty. */
const ward_event *ward_eventq_peek(const ward_eventq *q);

size_t ward_eventq_len(const ward_eventq *q);

/* Frees the array (not the events' data). The queue can be reused after
 * ward_eventq_init. */
void ward_eventq_free(ward_eventq *q);

#endif
