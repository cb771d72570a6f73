/* libFuzzer harness for the local-DP report parser (node/ldp_report.h),
 * which reads citizens' report files at the node's import and in `ward ldp
 * estimate`. The first byte picks the mechanism, epsilon and domain; the
 * rest is one line. An accepted report must respect the format's promises
 * (a value in range, bits 0/1), print back in canonical form, parse again
 * to the same report, and be accepted by the estimator; a refused one must
 * say why. Any violation aborts. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ldp.h"
#include "ldp_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    static const ward_ldp_mech mechs[3] = {WARD_LDP_GRR, WARD_LDP_OUE, WARD_LDP_OLH};
    static const uint32_t domains[4] = {2, 5, 16, 300};
    static const double epss[2] = {0.5, 3.0};
    ward_ldp_mech mech = mechs[(data[0] & 3) % 3];
    uint32_t d = domains[(data[0] >> 2) & 3];
    double eps = epss[(data[0] >> 4) & 1];
    ward_ldp_format f;
    if (ward_ldp_format_init(&f, mech, eps, d) != WARD_OK) abort();
    const char *line = (const char *)data + 1;
    size_t len = size - 1;

    uint8_t bits[300], bits2[300];
    ward_ldp_report r, r2;
    memset(&r, 0, sizeof r);
    memset(&r2, 0, sizeof r2);
    r.bits = bits;
    r2.bits = bits2;
    const char *why = NULL;
    int rc = ward_ldp_report_parse(&r, &why, &f, line, len);
    if (rc != WARD_OK) {
        if (rc != WARD_EPARSE || why == NULL || why[0] == '\0') abort();
        return 0;
    }
    char canon[400];
    size_t n = 0;
    switch (mech) {
    case WARD_LDP_GRR:
        if (r.y >= d) abort();
        n = (size_t)snprintf(canon, sizeof canon, "%" PRIu32, r.y);
        break;
    case WARD_LDP_OUE:
        if (len != d) abort();
        for (uint32_t i = 0; i < d; i++) {
            if (bits[i] > 1 || line[i] != (char)('0' + bits[i])) abort();
            canon[n++] = (char)('0' + bits[i]);
        }
        break;
    case WARD_LDP_OLH:
        if (r.y >= f.g) abort();
        n = (size_t)snprintf(canon, sizeof canon, "%" PRIu64 ",%" PRIu32, r.seed, r.y);
        break;
    }
    if (n > len) abort(); /* the canonical form is never longer */
    if (ward_ldp_report_parse(&r2, NULL, &f, canon, n) != WARD_OK) abort();
    if (r2.y != r.y || r2.seed != r.seed) abort();
    if (mech == WARD_LDP_OUE && memcmp(bits, bits2, d) != 0) abort();

    uint64_t counts[300];
    ward_ldp_est e;
    if (ward_ldp_est_init(&e, counts, d, mech, eps) != WARD_OK) abort();
    if (ward_ldp_report_add(&e, &f, &r) != WARD_OK || e.n != 1) abort();
    return 0;
}
