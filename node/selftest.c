/* placeholder: being written */
#include "selftest.h"
#include "error.h"
int ward_selftest_noise_vectors(ward_selftest_counts *c, FILE *log, const char *path) { (void)c; (void)log; (void)path; return WARD_EUNSUPPORTED; }
