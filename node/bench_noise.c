/* placeholder: being written */
#include "bench.h"
#include "error.h"
int ward_bench_noise(ward_bench_report *r) { (void)r; return WARD_EUNSUPPORTED; }
