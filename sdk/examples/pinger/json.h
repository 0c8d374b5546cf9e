/*
 * json.h — a flat JSON object written into a fixed buffer.
 *
 *   json out = {.len = 0};
 *   json_cstr(&out, "op", "ping");
 *   json_u64(&out, "count", 10);
 *   json_end(&out);              // {"op":"ping","count":10}
 *
 * Output that does not fit is dropped and sets `overflow`; check it before
 * using `text`. Strings are escaped, and invalid UTF-8 becomes U+FFFD, so the
 * result is always valid JSON text.
 */
#ifndef PINGER_JSON_H
#define PINGER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct json {
    char text[4096];
    size_t len;    /* bytes used in `text`; not NUL-terminated */
    size_t fields; /* fields written so far */
    bool overflow; /* some output did not fit */
} json;

/* Each adds one field, "key":value. */
void json_u64(json *j, const char *key, uint64_t value);
void json_text(json *j, const char *key, const void *s, size_t n);
void json_cstr(json *j, const char *key, const char *s);
void json_null(json *j, const char *key);

/* Closes the object. */
void json_end(json *j);

/* Replaces whatever `j` holds with the closed object {"error":"<message>"}. */
void json_error(json *j, const char *message);

#endif /* PINGER_JSON_H */
