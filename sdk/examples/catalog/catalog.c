/*
 * catalog.c — a shop's product catalog, as tools a model can call.
 *
 * A tool plugin with three read-only tools over a CSV catalog (its format is
 * in README.md):
 *
 *   catalog.lookup_product  {"sku": "A-100"}    one product, a JSON object
 *   catalog.search_products {"query": "tent"}   up to 5 matches, a JSON array
 *   catalog.check_stock     {"sku": "A-100"}    {"sku", "stock", "in_stock"}
 *
 * The catalog is catalog.csv, built into the library, or the file the
 * instance's config names:
 *
 *   agentctl load build/plugins/catalog.so                          # built in
 *   agentctl load build/plugins/catalog.so --config /srv/shop.csv   # another
 *   agentctl call catalog.lookup_product '{"sku": "A-100"}'
 *
 * init reads the whole file and checks every line; a malformed one fails
 * the load with AOS_EINVAL, and the log names the line.
 *
 * What it shows:
 *   - Data for tools. A tool function gets its arguments and nothing else,
 *     so the catalog lives in static data. That is still one catalog per
 *     instance: the kernel dlopens a private copy of the library for each
 *     load, and each copy has statics of its own.
 *   - Thread-safe tools: after init the catalog is only read, so the tools
 *     run on their callers' threads, many at once, with no lock.
 *   - JSON results, built in malloc'd memory that the kernel hands back to
 *     free_result once it has copied them.
 *   - Embedding a data file in the .so, which must be self-contained: the
 *     kernel loads a private copy of the library, away from this folder.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentos.h"

/* ------------------------------------------------------------------------ */
/* The built-in catalog                                                     */
/* ------------------------------------------------------------------------ */

/* The assembler's .incbin copies a file's bytes into the object file; the
 * ".byte 0" after it makes them a C string. The Makefile passes the file's
 * absolute path as CATALOG_PATH; without it, "catalog.csv" is looked up in
 * the current directory, then in the -I directories (gcc hands its -I to
 * the assembler, clang's integrated assembler honours it too), so
 * `cc -I sdk/examples/catalog ...` works by hand. ".hidden" keeps the symbol
 * out of the library's exports: aos_plugin stays the only one. */
#ifndef CATALOG_PATH
#define CATALOG_PATH "catalog.csv"
#endif
__asm__(".section .rodata\n"
        ".global builtin_catalog\n"
        ".hidden builtin_catalog\n"
        "builtin_catalog:\n"
        ".incbin \"" CATALOG_PATH "\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char builtin_catalog[] __attribute__((visibility("hidden")));

/* ------------------------------------------------------------------------ */
/* The parsed catalog                                                       */
/* ------------------------------------------------------------------------ */

#define HEADER      "sku,name,price_usd,stock,description"
#define SEARCH_MAX  5 /* products search_products returns at most */

typedef struct product {
    const char *sku, *name, *description; /* C strings inside catalog.text */
    uint64_t price_cents;
    uint64_t stock;
    unsigned line; /* in the file, for error messages */
} product;

/* Written by init, then only read (by any number of threads) until stop. */
static struct {
    const aos_kernel_api *api;
    char *text;              /* the CSV, its fields cut into C strings in place */
    product *products;       /* in file order */
    size_t count, capacity;  /* products used and allocated */
    const product **by_sku;  /* the same products sorted by SKU, for lookups */
} catalog;

static void catalog_free(void) {
    free(catalog.text);
    free(catalog.products);
    free(catalog.by_sku);
    catalog.text = NULL;
    catalog.products = NULL;
    catalog.by_sku = NULL;
    catalog.count = catalog.capacity = 0;
}

/* ASCII case-insensitive comparison: SKUs and searches ignore case. */
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int compare_nocase(const char *a, const char *b) {
    while (*a != '\0' && lower((unsigned char)*a) == lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return lower((unsigned char)*a) - lower((unsigned char)*b);
}

/* True when the `n` bytes at `needle` occur in `text`, ignoring case. */
static bool contains_nocase(const char *text, const char *needle, size_t n) {
    for (; *text != '\0'; text++) {
        size_t i = 0;
        while (i < n && text[i] != '\0' &&
               lower((unsigned char)text[i]) == lower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

/* Parses the `n` bytes at `s` as a decimal number: digits only, at least
 * one, no overflow. */
static bool parse_digits(const char *s, size_t n, uint64_t *out) {
    uint64_t value = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned digit = (unsigned)(s[i] - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

/* Parses a price such as "199", "19.5" or "19.99" into cents. Integers
 * keep it exact, and free of the locale that strtod and printf obey. */
static bool parse_price(const char *s, uint64_t *cents) {
    const char *dot = strchr(s, '.');
    size_t whole_len = dot != NULL ? (size_t)(dot - s) : strlen(s);
    size_t frac_len = dot != NULL ? strlen(dot + 1) : 0;
    uint64_t whole, frac = 0;

    if (!parse_digits(s, whole_len, &whole) || whole > UINT64_MAX / 100 - 1)
        return false;
    if (dot != NULL && (frac_len > 2 || !parse_digits(dot + 1, frac_len, &frac)))
        return false;
    *cents = whole * 100 + (frac_len == 1 ? frac * 10 : frac);
    return true;
}

/* True when `text` is valid UTF-8 (no overlong forms, no surrogates). */
static bool valid_utf8(const char *text) {
    const unsigned char *s = (const unsigned char *)text;

    while (*s != '\0') {
        uint32_t c = *s;
        int extra = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
                  : c >= 0xF0 && c <= 0xF4 ? 3 : -1;
        if (extra < 0)
            return false;
        if (extra > 0)
            c &= 0x3Fu >> extra; /* the lead byte's payload bits */
        for (int i = 1; i <= extra; i++) {
            if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
                return false;
            c = (c << 6) | (s[i] & 0x3Fu);
        }
        if ((extra == 2 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
            (extra == 3 && (c < 0x10000 || c > 0x10FFFF)))
            return false;
        s += 1 + extra;
    }
    return true;
}

/* Why `line` (a C string without its newline) is not a product, or NULL
 * when it is one: then `p` holds it, its fields cut into C strings in
 * place. The description is the rest of the line, commas and all. */
static const char *parse_product(char *line, product *p) {
    char *field[5];

    for (const char *s = line; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return "a control character";
    if (!valid_utf8(line))
        return "not UTF-8 text";
    for (int i = 0; i < 4; i++) {
        field[i] = line;
        line = strchr(line, ',');
        if (line == NULL)
            return "expected 5 fields: " HEADER;
        *line++ = '\0';
    }
    field[4] = line;

    if (field[0][0] == '\0')
        return "the SKU is empty";
    if (field[1][0] == '\0')
        return "the name is empty";
    if (!parse_price(field[2], &p->price_cents))
        return "price_usd is not a price such as 19.99";
    if (!parse_digits(field[3], strlen(field[3]), &p->stock))
        return "stock is not a whole number";
    p->sku = field[0];
    p->name = field[1];
    p->description = field[4];
    return NULL;
}

/* Appends a product, doubling the array when it is full. */
static bool add_product(const product *p) {
    if (catalog.count == catalog.capacity) {
        size_t capacity = catalog.capacity == 0 ? 64 : catalog.capacity * 2;
        product *grown = realloc(catalog.products, capacity * sizeof *grown);
        if (grown == NULL)
            return false;
        catalog.products = grown;
        catalog.capacity = capacity;
    }
    catalog.products[catalog.count++] = *p;
    return true;
}

/* qsort order of catalog.by_sku: by SKU, then by line, so that of two
 * products with one SKU the first in the file comes first. */
static int compare_products(const void *a, const void *b) {
    const product *x = *(const product *const *)a, *y = *(const product *const *)b;
    int order = compare_nocase(x->sku, y->sku);
    return order != 0 ? order : (x->line > y->line) - (x->line < y->line);
}

/* Logs "catalog: SOURCE line N: PROBLEM" and returns AOS_EINVAL. */
static aos_status malformed(aos_ctx *ctx, const char *source, unsigned line, const char *problem) {
    char text[512];
    snprintf(text, sizeof text, "catalog: %.300s line %u: %s", source, line, problem);
    catalog.api->log(ctx, AOS_LOG_ERROR, text);
    return AOS_EINVAL;
}

/* Parses catalog.text (the whole CSV) into catalog.products, in place, and
 * sorts the SKU index. `source` names the file for the log. */
static aos_status parse_catalog(aos_ctx *ctx, const char *source) {
    char *line = catalog.text;
    unsigned line_no = 0;

    if (strncmp(line, "\xEF\xBB\xBF", 3) == 0) /* the byte order mark some editors write */
        line += 3;
    while (*line != '\0') {
        char *next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        else
            next = line + strlen(line);
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r') /* a catalog saved with CRLF */
            line[--len] = '\0';
        line_no++;

        if (line_no == 1) {
            if (strcmp(line, HEADER) != 0)
                return malformed(ctx, source, 1, "the first line is not the header " HEADER);
        } else if (len > 0) { /* blank lines are skipped */
            product p = {.line = line_no};
            const char *problem = parse_product(line, &p);
            if (problem != NULL)
                return malformed(ctx, source, line_no, problem);
            if (!add_product(&p))
                return AOS_ENOMEM;
        }
        line = next;
    }
    if (line_no == 0)
        return malformed(ctx, source, 1, "the file is empty; it needs the header " HEADER);

    catalog.by_sku = malloc((catalog.count > 0 ? catalog.count : 1) * sizeof *catalog.by_sku);
    if (catalog.by_sku == NULL)
        return AOS_ENOMEM;
    for (size_t i = 0; i < catalog.count; i++)
        catalog.by_sku[i] = &catalog.products[i];
    qsort(catalog.by_sku, catalog.count, sizeof *catalog.by_sku, compare_products);
    for (size_t i = 1; i < catalog.count; i++) {
        if (compare_nocase(catalog.by_sku[i - 1]->sku, catalog.by_sku[i]->sku) == 0) {
            char problem[160];
            snprintf(problem, sizeof problem, "SKU %.64s is already on line %u",
                     catalog.by_sku[i]->sku, catalog.by_sku[i - 1]->line);
            return malformed(ctx, source, catalog.by_sku[i]->line, problem);
        }
    }
    return AOS_OK;
}

/* Reads the file at `path` into catalog.text, as a C string. */
static aos_status read_file(aos_ctx *ctx, const char *path) {
    char text[512];
    FILE *file = fopen(path, "rb");

    if (file == NULL) {
        snprintf(text, sizeof text, "catalog: cannot open %.300s: %s", path, strerror(errno));
        catalog.api->log(ctx, AOS_LOG_ERROR, text);
        return AOS_ENOTFOUND;
    }
    size_t len = 0, capacity = 0;
    char *data = NULL;
    for (;;) {
        if (capacity - len < 2) { /* room for at least a byte and the NUL */
            capacity = capacity == 0 ? 4096 : capacity * 2;
            char *grown = realloc(data, capacity);
            if (grown == NULL) {
                free(data);
                fclose(file);
                return AOS_ENOMEM;
            }
            data = grown;
        }
        size_t n = fread(data + len, 1, capacity - len - 1, file);
        len += n;
        if (n == 0)
            break;
    }
    bool failed = ferror(file);
    fclose(file);
    data[len] = '\0';
    catalog.text = data; /* catalog_free frees it, whatever happens next */

    if (failed) {
        snprintf(text, sizeof text, "catalog: cannot read %.300s", path);
        catalog.api->log(ctx, AOS_LOG_ERROR, text);
        return AOS_EINVAL;
    }
    /* A NUL byte would end the text early, and the lines after it unseen. */
    const char *nul = memchr(data, '\0', len);
    if (nul != NULL) {
        unsigned line = 1;
        for (const char *s = data; s < nul; s++)
            line += *s == '\n';
        return malformed(ctx, path, line, "a NUL byte (is this a text file?)");
    }
    return AOS_OK;
}

/* ------------------------------------------------------------------------ */
/* JSON results                                                             */
/* ------------------------------------------------------------------------ */

/* A growing, NUL-terminated text. After a failed allocation it only
 * remembers that it failed. */
typedef struct json_text {
    char *ptr;
    size_t len, capacity;
    bool failed;
} json_text;

static void put(json_text *j, const char *s, size_t n) {
    if (j->failed)
        return;
    if (j->len + n + 1 > j->capacity) {
        size_t capacity = j->capacity == 0 ? 256 : j->capacity;
        while (capacity < j->len + n + 1)
            capacity *= 2;
        char *grown = realloc(j->ptr, capacity);
        if (grown == NULL) {
            j->failed = true;
            return;
        }
        j->ptr = grown;
        j->capacity = capacity;
    }
    memcpy(j->ptr + j->len, s, n);
    j->len += n;
    j->ptr[j->len] = '\0';
}

static void put_text(json_text *j, const char *s) { put(j, s, strlen(s)); }

/* `s` as a JSON string: quotes, backslashes and control characters escaped. */
static void put_string(json_text *j, const char *s) {
    put(j, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char escape[8];
        switch (c) {
        case '"': put(j, "\\\"", 2); break;
        case '\\': put(j, "\\\\", 2); break;
        case '\n': put(j, "\\n", 2); break;
        case '\r': put(j, "\\r", 2); break;
        case '\t': put(j, "\\t", 2); break;
        default:
            if (c < 0x20) {
                snprintf(escape, sizeof escape, "\\u%04x", c);
                put(j, escape, 6);
            } else {
                put(j, s, 1); /* UTF-8 passes through byte by byte */
            }
        }
    }
    put(j, "\"", 1);
}

/* {"sku":..,"name":..,"price_usd":199.00,"stock":4,"description":..} */
static void put_product(json_text *j, const product *p) {
    char numbers[96];

    put_text(j, "{\"sku\":");
    put_string(j, p->sku);
    put_text(j, ",\"name\":");
    put_string(j, p->name);
    snprintf(numbers, sizeof numbers, ",\"price_usd\":%" PRIu64 ".%02" PRIu64 ",\"stock\":%" PRIu64,
             p->price_cents / 100, p->price_cents % 100, p->stock);
    put_text(j, numbers);
    put_text(j, ",\"description\":");
    put_string(j, p->description);
    put_text(j, "}");
}

/* The result to return: the text, or NULL after failing the call when
 * memory ran out. */
static char *finish(json_text *j) {
    if (j->failed) {
        free(j->ptr);
        catalog.api->tool_error(NULL, "out of memory");
        return NULL;
    }
    return j->ptr;
}

/* free_result of every tool: the kernel calls it once it copied a result. */
static void free_json(char *result) { free(result); }

/* ------------------------------------------------------------------------ */
/* The tools                                                                */
/* ------------------------------------------------------------------------ */

static int compare_sku_key(const void *key, const void *element) {
    return compare_nocase(key, (*(const product *const *)element)->sku);
}

static bool matches(const product *p, const char *query);

/* The product a caller names: by SKU, else by its exact name, else the one
 * product whose name or description has every word given (all in any case);
 * NULL after failing the call. Models often pass a name where a SKU is due,
 * so the tool takes either rather than send a small model searching. */
static const product *find(const char *sku) {
    const product **found = bsearch(sku, catalog.by_sku, catalog.count, sizeof *catalog.by_sku,
                                    compare_sku_key);
    if (found != NULL)
        return *found;
    const product *named = NULL;
    size_t matching = 0;
    for (size_t i = 0; i < catalog.count; i++) {
        if (compare_nocase(sku, catalog.products[i].name) == 0)
            return &catalog.products[i];
        if (matches(&catalog.products[i], sku) && matching++ == 0)
            named = &catalog.products[i];
    }
    if (matching == 1)
        return named;
    char message[200];
    snprintf(message, sizeof message,
             matching == 0 ? "no product with SKU or name \"%.100s\""
                           : "\"%.100s\" names several products: use search_products",
             sku);
    catalog.api->tool_error(NULL, message); /* tool_error copies it */
    return NULL;
}

static char *lookup_product(const char *sku) {
    const product *p = find(sku);
    if (p == NULL)
        return NULL;
    json_text j = {0};
    put_product(&j, p);
    return finish(&j);
}

/* Characters between the words of a search. */
#define SEPARATORS " \t\r\n,.;:!?\"'()[]{}/"

/* True when every word of `query` is in the product's name or description
 * (ASCII letters in any case). A query of no words matches every product. */
static bool matches(const product *p, const char *query) {
    for (;;) {
        query += strspn(query, SEPARATORS);
        if (*query == '\0')
            return true;
        size_t n = strcspn(query, SEPARATORS);
        if (!contains_nocase(p->name, query, n) && !contains_nocase(p->description, query, n))
            return false;
        query += n;
    }
}

static char *search_products(const char *query) {
    json_text j = {0};
    int found = 0;

    put_text(&j, "[");
    for (size_t i = 0; i < catalog.count && found < SEARCH_MAX; i++) {
        if (matches(&catalog.products[i], query)) {
            if (found++ > 0)
                put_text(&j, ",");
            put_product(&j, &catalog.products[i]);
        }
    }
    put_text(&j, "]");
    return finish(&j);
}

static char *check_stock(const char *sku) {
    const product *p = find(sku);
    if (p == NULL)
        return NULL;
    char numbers[64];
    json_text j = {0};
    put_text(&j, "{\"sku\":");
    put_string(&j, p->sku);
    snprintf(numbers, sizeof numbers, ",\"stock\":%" PRIu64 ",\"in_stock\":%s}", p->stock,
             p->stock > 0 ? "true" : "false");
    put_text(&j, numbers);
    return finish(&j);
}

static const aos_tool_param sku_param[] = {
    {"sku", AOS_TYPE_STRING, 1, "the product's SKU or its name"},
};
static const aos_tool_param query_param[] = {
    {"query", AOS_TYPE_STRING, 1, "words to look for, such as \"tent\" or \"water filter\""},
};

static const aos_tool catalog_tools[] = {
    {.name = "lookup_product",
     .description = "Look up one product by its SKU or name: its price in USD, units in stock "
                    "and description.",
     .fn = AOS_TOOL_FN(lookup_product),
     .returns = AOS_TYPE_JSON,
     .flags = AOS_TOOL_THREAD_SAFE,
     .n_params = 1,
     .params = sku_param,
     .free_result = free_json},
    {.name = "search_products",
     .description = "Find products whose name or description contains every word of the "
                    "query: up to 5, each with its SKU, name, price in USD, stock and "
                    "description.",
     .fn = AOS_TOOL_FN(search_products),
     .returns = AOS_TYPE_JSON,
     .flags = AOS_TOOL_THREAD_SAFE,
     .n_params = 1,
     .params = query_param,
     .free_result = free_json},
    {.name = "check_stock",
     .description = "Check how many units of a product (by its SKU or name) are in stock.",
     .fn = AOS_TOOL_FN(check_stock),
     .returns = AOS_TYPE_JSON,
     .flags = AOS_TOOL_THREAD_SAFE,
     .n_params = 1,
     .params = sku_param,
     .free_result = free_json},
};

/* ------------------------------------------------------------------------ */
/* Plugin entry points                                                      */
/* ------------------------------------------------------------------------ */

/* Loads the catalog: the file named by `config`, or the built-in one when
 * config is "". The tools become callable only once this returns AOS_OK. */
static aos_status catalog_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config,
                               void **state) {
    const char *source = "the built-in catalog";
    aos_status status = AOS_OK;

    *state = NULL; /* everything is in `catalog` */
    catalog.api = api;
    if (config[0] != '\0') {
        source = config;
        status = read_file(ctx, config);
    } else {
        catalog.text = strdup(builtin_catalog); /* parsing cuts it: a writable copy */
        if (catalog.text == NULL)
            status = AOS_ENOMEM;
    }
    if (status == AOS_OK)
        status = parse_catalog(ctx, source);
    if (status != AOS_OK) {
        catalog_free(); /* a failed init gets no stop call: clean up here */
        return status;
    }

    char line[400];
    snprintf(line, sizeof line, "catalog: %zu products from %.300s", catalog.count, source);
    api->log(ctx, AOS_LOG_INFO, line);
    return AOS_OK;
}

/* The tools are callable only until unload begins, which is before stop. */
static void catalog_stop(aos_ctx *ctx, void *state) {
    (void)ctx;
    (void)state;
    catalog_free();
}

AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
    AOS_PLUGIN_HEADER,
    .kind = AOS_KIND_TOOL,
    .name = "catalog",
    .version = "1.0.0",
    .description = "Tools: look up, search and check the stock of the shop's products.",
    .capabilities = NULL,
    .init = catalog_init,
    .on_message = NULL, /* optional for a tool plugin */
    .stop = catalog_stop,
    .tools = catalog_tools,
    .n_tools = sizeof catalog_tools / sizeof catalog_tools[0],
};
