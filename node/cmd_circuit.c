/* `ward circuit info FILE [--json]` and `ward circuit eval FILE HEX...`. */
#include "cmd_circuit.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"
#include "error.h"
#include "readfile.h"

/* aes_128.txt is under 1 MiB; the parser's own limits are far above
 * anything this admits. */
#define CIRCUIT_FILE_MAX ((size_t)256 << 20)

static void circuit_usage(void) {
    fprintf(stderr, "ward: error: usage: ward circuit info FILE [--json] | "
                    "ward circuit eval FILE HEX [HEX ...] [--json]\n");
}

/* Reads all of path into *buf (caller frees). Returns 0 or prints the
 * error line and returns 1. */
static int read_file(const char *path, char **buf, size_t *len) {
    int rc = ward_read_file(buf, len, path, CIRCUIT_FILE_MAX);
    if (rc == WARD_ETOOBIG)
        fprintf(stderr, "ward: error: %s: file larger than %zu MiB\n", path, CIRCUIT_FILE_MAX >> 20);
    else if (rc == WARD_ENOMEM)
        fprintf(stderr, "ward: error: %s: out of memory\n", path);
    else if (rc != WARD_OK)
        fprintf(stderr, "ward: error: %s: cannot read: %s\n", path, strerror(errno));
    return rc == WARD_OK ? 0 : 1;
}

static int load(const char *path, ward_circuit *c) {
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len) != 0) return 1;
    ward_circuit_error err;
    int rc = ward_circuit_parse_var(c, &err, text, len);
    free(text);
    if (rc == WARD_OK) return 0;
    if (err.line > 0)
        fprintf(stderr, "ward: error: %s:%zu: %s\n", path, err.line, err.msg);
    else
        fprintf(stderr, "ward: error: %s: %s\n", path, ward_strerror(rc));
    return 1;
}

static void print_widths(const uint32_t *w, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) printf("%s%u", i ? ", " : "", w[i]);
}

static int cmd_info(const char *path, int json) {
    ward_circuit c;
    if (load(path, &c) != 0) return 1;
    if (json) {
        printf("{\"gates\": %u, \"and_gates\": %u, \"xor_gates\": %u, \"inv_gates\": %u, "
               "\"eq_gates\": %u, \"eqw_gates\": %u, \"wires\": %u, \"inputs\": [",
               c.ngates, c.and_count, c.xor_count, c.inv_count, c.eq_count, c.eqw_count,
               c.nwires);
        print_widths(c.input_widths, c.ninputs);
        printf("], \"outputs\": [");
        print_widths(c.output_widths, c.noutputs);
        printf("], \"input_bits\": %u, \"output_bits\": %u}\n", c.input_bits, c.output_bits);
    } else {
        printf("gates: %u (AND %u, XOR %u, INV %u, EQ %u, EQW %u)\n", c.ngates, c.and_count,
               c.xor_count, c.inv_count, c.eq_count, c.eqw_count);
        printf("wires: %u\n", c.nwires);
        printf("inputs: %u (widths ", c.ninputs);
        print_widths(c.input_widths, c.ninputs);
        printf(")\n");
        printf("outputs: %u (widths ", c.noutputs);
        print_widths(c.output_widths, c.noutputs);
        printf(")\n");
    }
    ward_circuit_free(&c);
    return 0;
}

static int cmd_eval(const char *path, char **hex, int nhex, int json) {
    ward_circuit c;
    if (load(path, &c) != 0) return 1;
    int status = 1;
    uint8_t *in = NULL, *out = NULL;
    char *digits = NULL;
    if ((uint32_t)nhex != c.ninputs) {
        fprintf(stderr, "ward: error: %s: the circuit takes %u input value%s, %d given\n", path,
                c.ninputs, c.ninputs == 1 ? "" : "s", nhex);
        goto done;
    }
    uint32_t maxw = 0;
    for (uint32_t j = 0; j < c.noutputs; j++)
        if (c.output_widths[j] > maxw) maxw = c.output_widths[j];
    in = malloc(c.input_bits ? c.input_bits : 1);
    out = malloc(c.output_bits ? c.output_bits : 1);
    digits = malloc((size_t)maxw / 4 + 2);
    if (!in || !out || !digits) {
        fprintf(stderr, "ward: error: out of memory\n");
        goto done;
    }
    size_t off = 0;
    for (uint32_t j = 0; j < c.ninputs; j++) {
        uint32_t w = c.input_widths[j];
        int rc = ward_circuit_hex_to_bits_var(in + off, w, hex[j], strlen(hex[j]));
        if (rc == WARD_EOVERFLOW) {
            fprintf(stderr, "ward: error: input %u: '%s' does not fit in %u bits\n", j, hex[j], w);
            goto done;
        }
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: input %u: '%s' is not a hex number\n", j, hex[j]);
            goto done;
        }
        off += w;
    }
    int rc = ward_circuit_eval_var(&c, out, c.output_bits, in, c.input_bits);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: %s: evaluation failed: %s\n", path, ward_strerror(rc));
        goto done;
    }
    if (json) printf("{\"outputs\": [");
    off = 0;
    for (uint32_t j = 0; j < c.noutputs; j++) {
        uint32_t w = c.output_widths[j];
        ward_circuit_bits_to_hex_var(digits, (size_t)maxw / 4 + 2, out + off, w);
        if (json) printf("%s\"%s\"", j ? ", " : "", digits);
        else printf("%s\n", digits);
        off += w;
    }
    if (json) printf("]}\n");
    status = 0;
done:
    free(in);
    free(out);
    free(digits);
    ward_circuit_free(&c);
    return status;
}

int ward_cmd_circuit(int argc, char **argv) {
    if (argc < 1) {
        circuit_usage();
        return 2;
    }
    const char *sub = argv[0];
    int is_info = strcmp(sub, "info") == 0, is_eval = strcmp(sub, "eval") == 0;
    if (!is_info && !is_eval) {
        fprintf(stderr, "ward: error: unknown circuit command '%s' (info or eval)\n", sub);
        return 2;
    }
    /* Positional arguments keep their order; --json may go anywhere. */
    int json = 0, npos = 0;
    char **pos = malloc((size_t)argc * sizeof *pos);
    if (!pos) {
        fprintf(stderr, "ward: error: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ward: error: unknown option '%s'\n", argv[i]);
            free(pos);
            return 2;
        } else {
            pos[npos++] = argv[i];
        }
    }
    int status;
    if (is_info && npos != 1) {
        circuit_usage();
        status = 2;
    } else if (is_eval && npos < 2) {
        circuit_usage();
        status = 2;
    } else if (is_info) {
        status = cmd_info(pos[0], json);
    } else {
        status = cmd_eval(pos[0], pos + 1, npos - 1, json);
    }
    free(pos);
    return status;
}
