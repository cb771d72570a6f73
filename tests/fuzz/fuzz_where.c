/* Fuzzes the --where compiler: any text gives SQL or a clean error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "query_expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ward_column_info cols[] = {
        {.name = "lot", .type = WARD_COLTYPE_TEXT},
        {.name = "capacity", .type = WARD_COLTYPE_INTEGER},
        {.name = "fare", .type = WARD_COLTYPE_DECIMAL, .scale = 2},
        {.name = "ts", .type = WARD_COLTYPE_TIMESTAMP},
    };
    static ward_table_info table = {.name = "t", .ncolumns = 4, .columns = cols};
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    ward_expr e;
    (void)ward_expr_compile(&e, text, &table);
    ward_expr_free(&e);
    free(text);
    return 0;
}
