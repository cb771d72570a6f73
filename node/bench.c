#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

void ward_bench_add(ward_bench_report *r, const char *name, double value,
                    const char *unit, const char *anchor, double anchor_value) {
    if (r->n_figures == WARD_BENCH_MAX_FIGURES) {
        fprintf(stderr, "ward: bench: too many figures, dropped %s\n", name);
        return;
    }
    ward_bench_figure *f = &r->figures[r->n_figures++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->unit, sizeof f->unit, "%s", unit);
    if (anchor) snprintf(f->anchor, sizeof f->anchor, "%s", anchor);
    f->value = value;
    f->anchor_value = anchor_value;
}

double ward_bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ward_bench_sink(const void *p, size_t len) {
    /* An empty asm with the buffer as input: the compiler must assume it is
     * read, so the work that produced it cannot be optimised away. */
    __asm__ __volatile__("" : : "r"(p), "r"(len) : "memory");
}

typedef int (*bench_fn)(ward_bench_report *);

static const struct {
    const char *name;
    bench_fn fn;
    const char *what;
} benches[] = {
    {"noise", ward_bench_noise, "Noise transport throughput and handshakes"},
    {"field", ward_bench_field, "F_p arithmetic, sharing and reconstruction"},
    {"gc", ward_bench_gc, "half-gates garbling and evaluation of the AES-128 circuit"},
    {"ot", ward_bench_ot, "base OT and IKNP OT extension (one process, and two over loopback)"},
    {"dp", ward_bench_dp, "exact DP samplers: discrete Gaussian and Laplace, Bernoulli(exp(-x))"},
    {"gc2pc", ward_bench_gc2pc, "two-party garbled circuits (ward gc) between node processes on loopback"},
    {"agg", ward_bench_agg, "exact secret-shared aggregates between 3 to 40 node processes on loopback"},
    {"fl", ward_bench_fl, "federated-training rounds between 10 node processes on loopback"},
};

/* Benchmarks of the layers above node/ (netsim's `sim`), registered by
 * main() with ward_bench_register: node/ cannot link them itself. */
#define BENCH_MAX_REGISTERED 8
static struct {
    const char *name;
    bench_fn fn;
    const char *what;
} registered[BENCH_MAX_REGISTERED];
static size_t n_registered;

#define N_BUILTIN (sizeof benches / sizeof benches[0])

int ward_bench_register(const char *name, int (*fn)(ward_bench_report *), const char *what) {
    WARD_ARG_CHECK(name != NULL && fn != NULL && what != NULL);
    if (n_registered == BENCH_MAX_REGISTERED) return WARD_ETOOBIG;
    registered[n_registered].name = name;
    registered[n_registered].fn = fn;
    registered[n_registered].what = what;
    n_registered++;
    return WARD_OK;
}

/* "model name" from /proc/cpuinfo and the core count, for the report. */
static void machine_string(char *out, size_t cap) {
    char model[128] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0) {
                char *colon = strchr(line, ':');
                if (colon) {
                    colon++;
                    while (*colon == ' ') colon++;
                    colon[strcspn(colon, "\n")] = '\0';
                    snprintf(model, sizeof model, "%s", colon);
                }
                break;
            }
        }
        fclose(f);
    }
    snprintf(out, cap, "%s, %ld cores", model, sysconf(_SC_NPROCESSORS_ONLN));
}

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

static void json_number(FILE *out, double v) {
    if (isfinite(v)) fprintf(out, "%.6g", v);
    else fputs("null", out);
}

static void print_json(FILE *out, const ward_bench_report *r, const char *machine) {
    fputs("{\"name\": ", out);
    json_string(out, r->name);
    fputs(", \"machine\": ", out);
    json_string(out, machine);
    fprintf(out, ", \"quick\": %s, \"figures\": [", r->quick ? "true" : "false");
    for (size_t i = 0; i < r->n_figures; i++) {
        const ward_bench_figure *f = &r->figures[i];
        fputs(i ? ", {\"name\": " : "{\"name\": ", out);
        json_string(out, f->name);
        fputs(", \"value\": ", out);
        json_number(out, f->value);
        fputs(", \"unit\": ", out);
        json_string(out, f->unit);
        if (f->anchor[0]) {
            fputs(", \"anchor\": ", out);
            json_string(out, f->anchor);
            fputs(", \"anchor_value\": ", out);
            json_number(out, f->anchor_value);
        }
        fputc('}', out);
    }
    fputs("]}\n", out);
}

static void print_human(FILE *out, const ward_bench_report *r, const char *machine) {
    fprintf(out, "bench %s%s on %s\n", r->name, r->quick ? " (quick)" : "", machine);
    for (size_t i = 0; i < r->n_figures; i++) {
        const ward_bench_figure *f = &r->figures[i];
        fprintf(out, "  %-36s %14.4g %-8s", f->name, f->value, f->unit);
        if (f->anchor[0] && f->anchor_value != 0)
            fprintf(out, "  anchor %.4g (%s), ratio %.2f", f->anchor_value, f->anchor,
                    f->value / f->anchor_value);
        fputc('\n', out);
    }
}

static void bench_usage(FILE *out) {
    fprintf(out, "usage: ward bench NAME [--json] [--quick]\nbenchmarks:\n");
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
        fprintf(out, "  %-8s %s\n", benches[i].name, benches[i].what);
    for (size_t i = 0; i < n_registered; i++)
        fprintf(out, "  %-8s %s\n", registered[i].name, registered[i].what);
}

int ward_bench_main(int argc, char **argv) {
    const char *name = NULL;
    int json = 0, quick = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--list") == 0) { bench_usage(stdout); return 0; }
        else if (argv[i][0] == '-' || name != NULL) {
            fprintf(stderr, "ward: error: bench: unexpected argument '%s'\n", argv[i]);
            bench_usage(stderr);
            return 2;
        } else name = argv[i];
    }
    if (name == NULL) {
        fprintf(stderr, "ward: error: bench: which benchmark?\n");
        bench_usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < N_BUILTIN + n_registered; i++) {
        const char *bname = i < N_BUILTIN ? benches[i].name : registered[i - N_BUILTIN].name;
        bench_fn bfn = i < N_BUILTIN ? benches[i].fn : registered[i - N_BUILTIN].fn;
        if (strcmp(name, bname) != 0) continue;
        static ward_bench_report r;
        memset(&r, 0, sizeof r);
        r.name = bname;
        r.quick = quick;
        int rc = bfn(&r);
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: bench %s: %s\n", name, ward_strerror(rc));
            return 1;
        }
        char machine[200];
        machine_string(machine, sizeof machine);
        if (json) print_json(stdout, &r, machine);
        else print_human(stdout, &r, machine);
        return 0;
    }
    fprintf(stderr, "ward: error: bench: no benchmark named '%s'\n", name);
    bench_usage(stderr);
    return 2;
}
