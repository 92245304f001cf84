
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_VOCAB_H_INCLUDED_
#define _LLMR_VOCAB_H_INCLUDED_


#include <stdint.h>
#include <string.h>

#include "llmr_features.h"


/*
 * The vocabulary's keyword table, its filters and the word hashing that
 * both the table's builder (llmr_vocab.c) and the scanner (llmr_scan.c)
 * go through.  The hashing and the lookups run for every word scanned:
 * they are static inline here, so the scanner compiles them into its
 * loops as before, and the table and filters are hidden-visibility
 * globals, addressed like the file-local statics they were.
 */


/* byte classes */
#define LLMR_C_WORD             0x01    /* letters, digits, bytes >= 0x80 */
#define LLMR_C_DIGIT            0x02
#define LLMR_C_SPACE            0x04    /* blanks, not '\n' */
#define LLMR_C_ALPHA            0x08    /* ASCII letters */
#define LLMR_C_HIGH             0x10    /* bytes >= 0x80 */
#define LLMR_C_UPPER            0x20    /* also the bit that lowercases */
#define LLMR_C_BREAK            0x40    /* ends a phrase: . , ; : ! ? ( ) " */
#define LLMR_C_LEAD             0x80    /* a UTF-8 lead byte */

/* bytes of a word that are hashed, bytes of a keyword's text */
#define LLMR_WORD_HASHED        64
#define LLMR_KW_TEXT_MAX        64

/* a power of two, kept at most half full */
#define LLMR_KW_SLOTS           2048

/*
 * Three 32768-bit filters: a bit per word that is a keyword by itself
 * (as written: with and without a plural 's'), a bit per pair of words
 * that starts a phrase, both indexed by llmr_word_raw8(), and a bit per
 * longer part of a phrase, indexed by its key.  Most words are not
 * keywords and most pairs start no phrase: the filters say so before a
 * key is mixed or a slot probed.
 */
#define LLMR_KW_FILTER_BITS     32768
#define llmr_kw_filter_bit(h)                                                 \
    ((uint32_t) (((h) * 0x9e3779b97f4a7c15ULL) >> 49))
#define llmr_kw_filter_set(filter, h)                                         \
    filter[llmr_kw_filter_bit(h) / 64] |=                                     \
        (uint64_t) 1 << (llmr_kw_filter_bit(h) % 64)
#define llmr_kw_filter_test(filter, h)                                        \
    llmr_kw_filter_get(filter, llmr_kw_filter_bit(h))
#define llmr_kw_filter_get(filter, bit)                                       \
    ((filter[(bit) / 64] >> ((bit) % 64)) & 1)

typedef struct {
    uint32_t                    check;      /* the key's high half */
    unsigned                    classes:20; /* LLMR_KW_* */
    unsigned                    domain:8;
    unsigned                    used:1;
} llmr_kw_slot_t;


#if (defined __GNUC__)
#define LLMR_VOCAB_HIDDEN       __attribute__((visibility("hidden")))
#else
#define LLMR_VOCAB_HIDDEN
#endif

extern llmr_kw_slot_t  llmr_kw_table[LLMR_KW_SLOTS] LLMR_VOCAB_HIDDEN;
extern uint64_t        llmr_kw_first[LLMR_KW_FILTER_BITS / 64]
                           LLMR_VOCAB_HIDDEN;
extern uint64_t        llmr_kw_pair[LLMR_KW_FILTER_BITS / 64]
                           LLMR_VOCAB_HIDDEN;
extern uint64_t        llmr_kw_more[LLMR_KW_FILTER_BITS / 64]
                           LLMR_VOCAB_HIDDEN;


/* the table and its filters, built on the first call */
const llmr_kw_slot_t *llmr_kw_get(void);


static const uint64_t  llmr_len_mask[9] = {
    0, 0xffULL, 0xffffULL, 0xffffffULL, 0xffffffffULL, 0xffffffffffULL,
    0xffffffffffffULL, 0xffffffffffffffULL, 0xffffffffffffffffULL
};


static const unsigned char  llmr_ctype[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x04, 0x40, 0x04, 0x04, 0x04, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x04, 0x40, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x40, 0x40, 0x00, 0x00, 0x40, 0x00, 0x40, 0x00,
    0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03,
    0x03, 0x03, 0x40, 0x40, 0x00, 0x00, 0x00, 0x40,
    0x00, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29,
    0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29,
    0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29,
    0x29, 0x29, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09,
    0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09,
    0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09,
    0x09, 0x09, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
    0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
    0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
    0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
    0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
    0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
    0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
    0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
};


static inline uint64_t
llmr_key_mix(uint64_t h)
{
    /* MurmurHash3's finalizer: every input bit reaches every output bit */

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


static inline uint64_t
llmr_key_pair(uint64_t a, uint64_t b)
{
    return llmr_key_mix(a * 0x9e3779b97f4a7c15ULL + b);
}


static inline uint64_t
llmr_load64(const unsigned char *p)
{
    uint64_t  v;

    memcpy(&v, p, sizeof(uint64_t));

#if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
    v = __builtin_bswap64(v);
#endif

    return v;
}


/*
 * The length of a word as hashed: a plural 's' is dropped ("constraints"
 * is "constraint", not "class" or "bus"), and at most LLMR_WORD_HASHED
 * bytes count.
 */

static inline size_t
llmr_word_stem(const unsigned char *p, size_t len)
{
    unsigned  l2;

    if (len >= 4 && (p[len - 1] | 0x20) == 's') {
        l2 = p[len - 2] | (llmr_ctype[p[len - 2]] & LLMR_C_UPPER);

        if (l2 != 's' && l2 != 'u' && l2 != 'i') {
            len--;
        }
    }

    return len < LLMR_WORD_HASHED ? len : LLMR_WORD_HASHED;
}


/*
 * llmr_word_raw() of a word of at most 16 bytes, with 16 bytes readable
 * from p, without a branch.
 */

static inline uint64_t
llmr_word_raw16(const unsigned char *p, size_t len)
{
    uint64_t  v0, v1;

    v0 = (llmr_load64(p) | 0x2020202020202020ULL)
         & llmr_len_mask[len < 8 ? len : 8];
    v1 = (llmr_load64(p + 8) | 0x2020202020202020ULL)
         & llmr_len_mask[len > 8 ? len - 8 : 0];

    return (v0 ^ (len * 0x9e3779b97f4a7c15ULL)) + v1 * 0xff51afd7ed558ccdULL;
}


/*
 * The raw hash of a word: its bytes read eight at a time, lowercased by
 * setting bit 5 of every byte (digits, the apostrophe, '.' and ',' have it
 * already, UTF-8 bytes are changed alike wherever they appear).  Reads
 * the next multiple of 8 bytes from p, and at least 16: the caller makes
 * sure they are there.  A word's key is llmr_key_mix() of this, its bit
 * in the first-word filter llmr_kw_filter_bit() of this: the scanner and
 * the keyword table both go through here, so they always agree.
 */

static inline uint64_t
llmr_word_raw(const unsigned char *p, size_t len)
{
    size_t    n;
    uint64_t  h, v;

    if (len <= 16) {
        return llmr_word_raw16(p, len);
    }

    h = llmr_word_raw16(p, 16) ^ len;

    for (n = 16; n < len; n += 8) {
        v = (llmr_load64(p + n) | 0x2020202020202020ULL)
            & llmr_len_mask[len - n < 8 ? len - n : 8];
        h = (h ^ v) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
    }

    return h;
}


/*
 * The first 8 bytes of a word as written (lowercased, not stemmed): what
 * the filters test, so that most words are passed over without more
 * hashing.  The filters hold every form a keyword's word may take (with
 * and without a plural 's').  Needs 8 bytes readable from p.
 */

static inline uint64_t
llmr_word_raw8(const unsigned char *p, size_t len)
{
    return (llmr_load64(p) | 0x2020202020202020ULL)
           & llmr_len_mask[len < 8 ? len : 8];
}


static inline uint64_t
llmr_pair8(uint64_t a, uint64_t b)
{
    return (a * 0xc4ceb9fe1a85ec53ULL) ^ b;
}


static inline const llmr_kw_slot_t *
llmr_kw_find(const llmr_kw_slot_t *tab, uint64_t key)
{
    uint32_t  i, check;

    check = (uint32_t) (key >> 32);
    i = (uint32_t) key & (LLMR_KW_SLOTS - 1);

    while (tab[i].used) {
        if (tab[i].check == check) {
            return &tab[i];
        }

        i = (i + 1) & (LLMR_KW_SLOTS - 1);
    }

    return NULL;
}


#endif /* _LLMR_VOCAB_H_INCLUDED_ */
