#include "check.h"
#include "error.h"
#include "eventq.h"
#include "rng.h"

int main(void) {
    ward_eventq q;
    ward_event e;
    ward_eventq_init(&q, 0);
    CHECK_RC(ward_eventq_pop(&q, &e), WARD_ENOTFOUND);
    CHECK(ward_eventq_peek(&q) == NULL);

    /* Random times with many ties: the output is sorted by (time, seq) and
     * ties come out in insertion order. */
    ward_rng rng;
    ward_rng_init_u64(&rng, 3);
    enum { N = 20000 };
    for (int i = 0; i < N; i++)
        CHECK_RC(ward_eventq_push(&q, NULL, ward_rng_uniform(&rng, 100), i, 0, NULL), WARD_OK);
    CHECK_EQ_U64(ward_eventq_len(&q), N);
    uint64_t last_time = 0, last_seq = 0;
    int ordered = 1, popped = 0;
    while (ward_eventq_pop(&q, &e) == WARD_OK) {
        if (popped > 0)
            ordered &= e.time > last_time || (e.time == last_time && e.seq > last_seq);
        ordered &= (uint64_t)e.kind == e.seq; /* kind recorded insertion index */
        last_time = e.time;
        last_seq = e.seq;
        popped++;
    }
    CHECK(ordered);
    CHECK_EQ_U64(popped, N);

    /* Interleaved pushes and pops keep the order. */
    uint64_t s;
    CHECK_RC(ward_eventq_push(&q, &s, 10, 0, 1, NULL), WARD_OK);
    CHECK_RC(ward_eventq_push(&q, NULL, 5, 0, 2, NULL), WARD_OK);
    CHECK_RC(ward_eventq_pop(&q, &e), WARD_OK);
    CHECK_EQ_U64(e.node, 2);
    CHECK_RC(ward_eventq_push(&q, NULL, 10, 0, 3, NULL), WARD_OK);
    CHECK_RC(ward_eventq_pop(&q, &e), WARD_OK);
    CHECK_EQ_U64(e.node, 1); /* same time as node 3's, scheduled first */
    CHECK_EQ_U64(e.seq, s);
    CHECK_RC(ward_eventq_pop(&q, &e), WARD_OK);
    CHECK_EQ_U64(e.node, 3);
    ward_eventq_free(&q);

    /* A bounded queue refuses to grow past its bound. */
    ward_eventq_init(&q, 2);
    CHECK_RC(ward_eventq_push(&q, NULL, 1, 0, 0, NULL), WARD_OK);
    CHECK_RC(ward_eventq_push(&q, NULL, 1, 0, 0, NULL), WARD_OK);
    CHECK_RC(ward_eventq_push(&q, NULL, 1, 0, 0, NULL), WARD_ETOOBIG);
    ward_eventq_free(&q);
    ward_rng_clear(&rng);
    return check_done("eventq");
}
