/* Fuzzes group-by keys and their domains (node/group_key.h), which come
 * from peers' session specs as well as from analysts: the input is split
 * at the first newline into a key and up to three --domain texts
 * (separated by further newlines); any bytes give a domain or a clean
 * error, and labels always fit and order consistently. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "group_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ward_column_info cols[] = {
        {.name = "lot", .type = WARD_COLTYPE_TEXT},
        {.name = "n", .type = WARD_COLTYPE_INTEGER, .has_min = 1, .has_max = 1, .min = -10, .max = 4000},
        {.name = "fare", .type = WARD_COLTYPE_DECIMAL, .scale = 2, .has_min = 1, .has_max = 1,
         .min = -5000, .max = 50000},
        {.name = "ts", .type = WARD_COLTYPE_TIMESTAMP},
    };
    static ward_table_info table = {.name = "t", .ncolumns = 4, .columns = cols};
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    ward_key_label *labels = calloc(WARD_KEY_MAX_GROUPS, sizeof *labels);
    if (!text || !labels) {
        free(text);
        free(labels);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    char *parts[4] = {text, NULL, NULL, NULL};
    size_t np = 1;
    for (char *p = text; *p && np < 4; p++)
        if (*p == '\n') {
            *p = '\0';
            parts[np++] = p + 1;
        }
    char err[200];
    ward_group_key k;
    if (ward_group_key_parse(&k, err, sizeof err, parts[0]) == WARD_OK) {
        size_t n = 0;
        int open = 0;
        int rc = ward_group_domain_expand(labels, &n, &open, WARD_KEY_MAX_GROUPS, err, sizeof err, &k,
                                          &table, (const char *const *)(parts + 1), np - 1);
        if (rc == WARD_OK && !open) {
            if (n == 0 || n > WARD_KEY_MAX_GROUPS) abort();
            for (size_t i = 0; i < n; i++) {
                if (strlen(labels[i]) >= WARD_KEY_LABEL_MAX) abort();
                if (ward_group_label_cmp(labels[i], labels[i]) != 0) abort();
                if (i > 0) {
                    int a = ward_group_label_cmp(labels[i - 1], labels[i]);
                    int b = ward_group_label_cmp(labels[i], labels[i - 1]);
                    if ((a > 0) != (b < 0) || (a < 0) != (b > 0)) abort();
                }
            }
        }
    }
    free(labels);
    free(text);
    return 0;
}
