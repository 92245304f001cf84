
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_SWAR_H_INCLUDED_
#define _LLMR_SWAR_H_INCLUDED_


#include <stdint.h>
#include <string.h>


/*
 * Scanning 8 bytes at a time: a word has a byte equal to c when
 * llmr_zero(w ^ llmr_bytes(c)) is not 0, and its lowest bit set marks the
 * first such byte (there is no borrow below it); a byte below c
 * (c <= 0x80) when llmr_less(w, c) is not 0.
 */

#define llmr_bytes(c)           (0x0101010101010101ULL * (c))
#define llmr_zero(w)                                                          \
    (((w) - llmr_bytes(1)) & ~(w) & llmr_bytes(0x80))
#define llmr_less(w, c)                                                       \
    (((w) - llmr_bytes(c)) & ~(w) & llmr_bytes(0x80))

#if (defined __GNUC__ && defined __BYTE_ORDER__                               \
     && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define llmr_first(m)           (__builtin_ctzll(m) >> 3)
#endif


/* the first quote in [p, end), or end */

static inline const unsigned char *
llmr_quote(const unsigned char *p, const unsigned char *end)
{
    uint64_t  w, m;

    while (end - p >= 8) {
        memcpy(&w, p, 8);
        m = llmr_zero(w ^ llmr_bytes('"'));

        if (m) {
#ifdef llmr_first
            return p + llmr_first(m);
#else
            break;
#endif
        }

        p += 8;
    }

    while (p < end && *p != '"') {
        p++;
    }

    return p;
}


#endif /* _LLMR_SWAR_H_INCLUDED_ */
