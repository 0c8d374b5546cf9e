/*
 * json.c — see json.h.
 */
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put(json *j, const char *s, size_t n) {
    if (j->overflow || n > sizeof j->text - j->len) {
        j->overflow = true;
        return;
    }
    memcpy(j->text + j->len, s, n);
    j->len += n;
}

/* Length of the valid UTF-8 sequence at the start of `s` (`n` bytes), or 0. */
static size_t utf8_sequence(const uint8_t *s, size_t n) {
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    size_t len;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        lo = s[0] == 0xE0 ? 0xA0 : lo; /* no overlong forms */
        hi = s[0] == 0xED ? 0x9F : hi; /* no surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        lo = s[0] == 0xF0 ? 0x90 : lo; /* no overlong forms */
        hi = s[0] == 0xF4 ? 0x8F : hi; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* Appends `s` as a quoted JSON string. */
static void put_string(json *j, const void *s, size_t n) {
    const uint8_t *p = s;

    put(j, "\"", 1);
    while (n > 0) {
        size_t len = utf8_sequence(p, n);
        if (len == 0) {
            put(j, "\\ufffd", 6);
            len = 1;
        } else if (*p == '"' || *p == '\\') {
            const char escaped[2] = {'\\', (char)*p};
            put(j, escaped, 2);
        } else if (*p < 0x20) {
            char escaped[8];
            snprintf(escaped, sizeof escaped, "\\u%04x", (unsigned)*p);
            put(j, escaped, 6);
        } else {
            put(j, (const char *)p, len);
        }
        p += len;
        n -= len;
    }
    put(j, "\"", 1);
}

/* Starts the next field: "{" or ",", then "key":. */
static void put_key(json *j, const char *key) {
    put(j, j->fields++ == 0 ? "{" : ",", 1);
    put_string(j, key, strlen(key));
    put(j, ":", 1);
}

void json_u64(json *j, const char *key, uint64_t value) {
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, value);
    put_key(j, key);
    put(j, digits, (size_t)n);
}

void json_text(json *j, const char *key, const void *s, size_t n) {
    put_key(j, key);
    put_string(j, s, n);
}

void json_cstr(json *j, const char *key, const char *s) {
    json_text(j, key, s, strlen(s));
}

void json_null(json *j, const char *key) {
    put_key(j, key);
    put(j, "null", 4);
}

void json_end(json *j) {
    put(j, "}", 1);
}

void json_error(json *j, const char *message) {
    *j = (json){.len = 0};
    json_cstr(j, "error", message);
    json_end(j);
}
