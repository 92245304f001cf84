
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_FUZZ_H_INCLUDED_
#define _LLMR_FUZZ_H_INCLUDED_


/*
 * Shared by the libFuzzer targets: chunk plans drawn from the input's
 * bytes, exact-size copies (so an overread of a chunk is an ASan report,
 * not a read of the next chunk), and a loud stop when a property fails.
 *
 * Targets that feed a parser in chunks read their input as
 *
 *     byte 0    options (format hint, mode: see each target)
 *     byte 1    the chunk plan: bits 0-1 pick the largest chunk (1, 8,
 *               64 bytes or unbounded), the byte seeds the sizes
 *     byte 2..  the body
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define fz_assert(cond, ...)                                                  \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: property failed: %s: ", __FILE__,         \
                    __LINE__, #cond);                                         \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
            abort();                                                          \
        }                                                                     \
    } while (0)


typedef struct {
    uint32_t                    state;
    size_t                      max;
} fz_chunks_t;


static inline void
fz_chunks_init(fz_chunks_t *c, uint8_t plan, size_t len)
{
    static const size_t  max[4] = { 1, 8, 64, (size_t) -1 };

    c->state = (uint32_t) plan * 2654435761u ^ (uint32_t) len ^ 0x9e3779b9u;

    if (c->state == 0) {
        c->state = 1;
    }

    c->max = max[plan & 3];
}


/* the next chunk's size, 1..left */

static inline size_t
fz_chunks_next(fz_chunks_t *c, size_t left)
{
    size_t  n;

    /* xorshift32 */
    c->state ^= c->state << 13;
    c->state ^= c->state >> 17;
    c->state ^= c->state << 5;

    if (c->max == (size_t) -1) {
        n = 1 + c->state % left;

    } else {
        n = 1 + c->state % c->max;
    }

    return n < left ? n : left;
}


/* a malloc()ed copy of exactly n bytes (one byte for n == 0) */

static inline unsigned char *
fz_copy(const unsigned char *p, size_t n)
{
    unsigned char  *q;

    q = malloc(n ? n : 1);
    if (q == NULL) {
        abort();
    }

    if (n) {
        memcpy(q, p, n);
    }

    return q;
}


/* well-formed UTF-8 (no overlong forms, surrogates or values > U+10FFFF) */

static inline int
fz_utf8_valid(const unsigned char *p, size_t n)
{
    size_t    i, k;
    uint32_t  cp, min;

    for (i = 0; i < n; /* void */) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }

        if ((p[i] & 0xe0) == 0xc0) {
            k = 1; cp = p[i] & 0x1f; min = 0x80;

        } else if ((p[i] & 0xf0) == 0xe0) {
            k = 2; cp = p[i] & 0x0f; min = 0x800;

        } else if ((p[i] & 0xf8) == 0xf0) {
            k = 3; cp = p[i] & 0x07; min = 0x10000;

        } else {
            return 0;
        }

        if (i + k >= n) {
            return 0;
        }

        for (i++; k; k--, i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (p[i] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}


#endif /* _LLMR_FUZZ_H_INCLUDED_ */
