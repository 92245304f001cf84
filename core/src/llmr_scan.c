
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#if (defined __SSE2__)
#include <emmintrin.h>
#endif

#include "llmr_features.h"
#include "llmr_vocab.h"


/* punctuation classes (llmr_ptype[]) */
#define LLMR_P_BREAK            0x01    /* ends a phrase: . , ; : ! ? ( ) " */
#define LLMR_P_ASK              0x02    /* and opens an ask: not ( " */
#define LLMR_P_SLOW             0x04    /* read in order */
#define LLMR_P_SENTENCE         0x08    /* . ? may end a sentence */
#define LLMR_P_BRACKET          0x10    /* { } [ ] ; */

/* what may follow the end of a sentence: blanks, quotes, ')' */
#define LLMR_FOLLOWS                                                          \
    ((1ULL << ' ') | (1ULL << '\n') | (1ULL << '\t') | (1ULL << '\r')        \
     | (1ULL << '"') | (1ULL << ')') | (1ULL << '\''))
#define llmr_follows_sentence(c)                                              \
    (((c) < 64) & (unsigned) ((LLMR_FOLLOWS >> ((c) & 63)) & 1))

/* words of a part that may match, listed for the keywords */
#define LLMR_SCAN_HITS          2048
#define LLMR_NO_WORD            0xffff
#define LLMR_KEY_NUMBER         0x6e756d6265726e75ULL   /* any number */

/* phrases followed at once, e.g. "how" and "how do" in "how do i" */
#define LLMR_PHRASE_ACTIVE      4

typedef struct {
    uint64_t                    alpha;      /* ASCII letters */
    uint64_t                    digit;
    uint64_t                    word;       /* letters, digits, UTF-8 */
    uint64_t                    other;      /* not a word byte, not blank */
    uint64_t                    high;       /* bytes >= 0x80 */
    uint64_t                    brk;        /* ends a phrase */
    uint64_t                    ask;        /* and opens an ask */
    uint64_t                    slow;       /* read in order */
    uint64_t                    joint;      /* inside a word: ' . , */
    uint64_t                    start;      /* of a word */
} llmr_block_t;


typedef struct {
    llmr_text_stats_t          *st;
    const llmr_kw_slot_t       *tab;
    const unsigned char        *text;       /* the part being read */
    const unsigned char        *end;
    size_t                      skip;       /* punctuation before is read */
    unsigned                    paren;      /* a ')' on this line */
    uint64_t                    active[LLMR_PHRASE_ACTIVE];
    unsigned                    active_ask[LLMR_PHRASE_ACTIVE];
    unsigned                    nactive;
    uint32_t                   *grams;      /* what the grams hash to */
    size_t                      max_grams;
    size_t                      ngrams;
    const float                *gram_w;     /* the grams' weights, or NULL */
    unsigned                    gram_shift; /* 32 - the weights' bits */
    float                       gram_z;     /* the grams' weights summed */
    size_t                      gram_n;
    size_t                      nblocks;
    llmr_block_t                blocks[LLMR_SCAN_MAX / 64];
    uint64_t                    hits[LLMR_SCAN_HITS];   /* to match */
} llmr_scan_t;


static unsigned llmr_kw_hit(llmr_text_stats_t *st, const llmr_kw_slot_t *e,
    unsigned ask);
static unsigned llmr_scan_word(llmr_scan_t *s, const unsigned char *p,
    size_t len, uint64_t raw8, const unsigned char *prev, size_t prev_len,
    uint64_t prev8, unsigned ask, unsigned prev_ask);
static unsigned llmr_scan_number(llmr_scan_t *s);
static void llmr_scan_hits(llmr_scan_t *s, const unsigned char *text,
    size_t nh);
static size_t llmr_next_word(const llmr_scan_t *s, size_t i);
static int llmr_mask_any_blocks(const llmr_scan_t *s, int ask, size_t from,
    size_t to);
static unsigned llmr_scan_last(const llmr_scan_t *s,
    const unsigned char *p);
static void llmr_scan_high(llmr_text_stats_t *st, const unsigned char *p,
    const unsigned char *end, uint64_t high);
static void llmr_scan_part(llmr_scan_t *s, const unsigned char *text,
    size_t len, size_t full_head, size_t full_tail);
static void llmr_scan_punct(llmr_scan_t *s, const unsigned char *p,
    const unsigned char *end);
static void llmr_scan_line(llmr_scan_t *s, const unsigned char *p,
    const unsigned char *end);
static void llmr_line_start(llmr_text_stats_t *st, const unsigned char *p,
    const unsigned char *end, unsigned lead);
static void llmr_line_end(llmr_text_stats_t *st, unsigned last,
    unsigned paren);
static int llmr_operands(const unsigned char *p, const unsigned char *end,
    unsigned last, unsigned mask);
static int llmr_sentence_end(const unsigned char *p,
    const unsigned char *end);


/* LLMR_P_* of the bytes that are neither word bytes nor blanks */

static const unsigned char  llmr_ptype[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x07, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00,
    0x01, 0x07, 0x04, 0x04, 0x03, 0x04, 0x0b, 0x04,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x03, 0x13, 0x04, 0x04, 0x04, 0x0b,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x10, 0x04, 0x10, 0x04, 0x04,
    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x10, 0x04, 0x10, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};


/* llmr_word_raw8() of a word at p, end the end of its text */

static uint64_t
llmr_word_raw8_at(const unsigned char *p, size_t len, const unsigned char *end)
{
    unsigned char  buf[8];

    if (end - p >= 8) {
        return llmr_word_raw8(p, len);
    }

    memset(buf, 0, sizeof(buf));
    memcpy(buf, p, len < 8 ? len : 8);

    return llmr_word_raw8(buf, len);
}


/* the key of a word of len bytes at p, end the end of its text */

static uint64_t
llmr_word_key(const unsigned char *p, size_t len, const unsigned char *end)
{
    size_t         hl;
    unsigned char  buf[LLMR_WORD_HASHED + 16];

    hl = llmr_word_stem(p, len);

    if ((size_t) (end - p) < ((hl + 7) & ~(size_t) 7) || end - p < 16) {
        memset(buf, 0, sizeof(buf));
        memcpy(buf, p, hl);
        p = buf;
    }

    return llmr_key_mix(llmr_word_raw(p, hl));
}


/* counts a match; returns its classes */

static unsigned
llmr_kw_hit(llmr_text_stats_t *st, const llmr_kw_slot_t *e, unsigned ask)
{
    unsigned  i, bits, classes;

    classes = e->classes & ~LLMR_KW_PREFIX;

    for (bits = classes & ((1u << LLMR_KW_N) - 1); bits; bits &= bits - 1) {
        i = __builtin_ctz(bits);
        st->kw[i]++;
        st->kw_ask[i] += ask;
    }

    if (e->classes & LLMR_KW_ANCHOR) {
        st->code_anchors++;
    }

    if (e->domain != LLMR_DOMAIN_GENERAL && e->domain < LLMR_DOMAIN_N) {
        st->dom[e->domain]++;

        if (e->classes & LLMR_KW_STAKES) {
            st->stakes[e->domain]++;
        }
    }

    return classes;
}


/*
 * One listed word: alone, as the second word of a phrase (prev, the word
 * before it when no break or number is between), as the next word of a
 * longer phrase under way.  Returns whether the word opens an ask for
 * the next one (a request, an opener or a greeting).
 */

static unsigned
llmr_scan_word(llmr_scan_t *s, const unsigned char *p, size_t len,
    uint64_t raw8, const unsigned char *prev, size_t prev_len,
    uint64_t prev8, unsigned ask, unsigned prev_ask)
{
    unsigned               i, n, classes, next_ask[LLMR_PHRASE_ACTIVE];
    uint64_t               k, key, pkey, next[LLMR_PHRASE_ACTIVE];
    const llmr_kw_slot_t  *e;

    key = llmr_word_key(p, len, s->end);

    classes = 0;
    n = 0;

    /* longer phrases under way */

    for (i = 0; i < s->nactive; i++) {
        k = llmr_key_pair(s->active[i], key);

        if (!llmr_kw_filter_test(llmr_kw_more, k)) {
            continue;
        }

        e = llmr_kw_find(s->tab, k);

        if (e == NULL) {
            continue;
        }

        classes |= llmr_kw_hit(s->st, e, s->active_ask[i]);

        if ((e->classes & LLMR_KW_PREFIX) && n < LLMR_PHRASE_ACTIVE) {
            next_ask[n] = s->active_ask[i];
            next[n++] = k;
        }
    }

    /* two words */

    if (prev8
        && llmr_kw_filter_test(llmr_kw_pair, llmr_pair8(prev8, raw8)))
    {
        pkey = llmr_key_pair(llmr_word_key(prev, prev_len, s->end), key);
        e = llmr_kw_find(s->tab, pkey);

        if (e) {
            classes |= llmr_kw_hit(s->st, e, prev_ask);

            if ((e->classes & LLMR_KW_PREFIX) && n < LLMR_PHRASE_ACTIVE) {
                next_ask[n] = prev_ask;
                next[n++] = pkey;
            }
        }
    }

    /* one word */

    if (llmr_kw_filter_test(llmr_kw_first, raw8)) {
        e = llmr_kw_find(s->tab, key);

        if (e) {
            classes |= llmr_kw_hit(s->st, e, ask);
        }
    }

    for (i = 0; i < n; i++) {
        s->active[i] = next[i];
        s->active_ask[i] = next_ask[i];
    }

    s->nactive = n;

    return (classes & (LLMR_KW_REQUEST | LLMR_KW_OPENER | LLMR_KW_GREETING))
           ? 1 : 0;
}


/* a number: the end of any phrase */

static unsigned
llmr_scan_number(llmr_scan_t *s)
{
    s->nactive = 0;

    return 0;
}


/* the UTF-8 lead bytes of a block: count them, and the math symbols */

static void
llmr_scan_high(llmr_text_stats_t *st, const unsigned char *p,
    const unsigned char *end, uint64_t high)
{
    unsigned              c, c1;
    const unsigned char  *q;

    for ( /* void */ ; high; high &= high - 1) {
        q = p + __builtin_ctzll(high);
        c = *q;

        if (c < 0xc0) {
            continue;
        }

        st->nonascii++;

        if (c > 0xe2 || q + 1 >= end) {
            continue;
        }

        c1 = q[1];

        switch (c) {

        case 0xe2:
            /* U+2200..U+22FF: the mathematical operators block */
            if (c1 >= 0x88 && c1 <= 0x8b) {
                st->math_syms++;
            }
            break;

        case 0xc3:
            /* U+00D7 and U+00F7: times and division signs */
            if (c1 == 0x97 || c1 == 0xb7) {
                st->math_syms++;
            }
            break;

        case 0xc2:
            /* U+00B1, U+00B2, U+00B3: plus-minus, squared, cubed */
            if (c1 >= 0xb1 && c1 <= 0xb3) {
                st->math_syms++;
            }
            break;

        case 0xcf:
            /* U+03C0: pi */
            if (c1 == 0x80) {
                st->math_syms++;
            }
            break;
        }
    }
}


/* the first non-blank byte of a line: indentation and list markers */

static void
llmr_line_start(llmr_text_stats_t *st, const unsigned char *p,
    const unsigned char *end, unsigned lead)
{
    size_t    i, n;
    unsigned  c, letter;

    if (lead >= 2) {
        st->indented++;
    }

    c = p[0];
    n = end - p;

    if (c == '-' || c == '*' || c == '+') {
        if (n > 1 && p[1] == ' ') {
            st->list_items++;
        }

        return;
    }

    if (c == 0xe2) {
        /* U+2022, a bullet */
        if (n > 2 && p[1] == 0x80 && p[2] == 0xa2) {
            st->list_items++;
        }

        return;
    }

    letter = 0;

    if (llmr_ctype[c] & LLMR_C_DIGIT) {
        i = 1;

        while (i < n && i < 4 && (llmr_ctype[p[i]] & LLMR_C_DIGIT)) {
            i++;
        }

    } else if (llmr_ctype[c] & LLMR_C_ALPHA) {
        i = 1;
        letter = 1;

    } else if (c == '(') {
        if (n > 3 && (llmr_ctype[p[1]] & LLMR_C_WORD) && p[2] == ')'
            && p[3] == ' ')
        {
            st->list_items++;
            st->choices += (llmr_ctype[p[1]] & LLMR_C_ALPHA) ? 1 : 0;
        }

        return;

    } else {
        return;
    }

    /* "1. ", "12) ", "b) ", "C. "; a lettered one may be a choice */

    if (i + 1 < n && (p[i] == '.' || p[i] == ')')
        && (p[i + 1] == ' ' || p[i + 1] == '\t'))
    {
        st->list_items++;
        st->choices += letter;
    }
}


static void
llmr_line_end(llmr_text_stats_t *st, unsigned last, unsigned paren)
{
    if (last == 0) {
        return;
    }

    st->lines++;

    if (last == ';' || last == '{' || last == '}'
        || (last == ':' && paren))
    {
        st->code_lines++;
    }
}


/*
 * Whether the operator at p stands between two operands: the last
 * non-blank byte before it and the next one after it (one blank skipped)
 * must be of class mask (LLMR_C_DIGIT, or LLMR_C_ALPHA | LLMR_C_DIGIT),
 * or a parenthesis.
 */

static int
llmr_operands(const unsigned char *p, const unsigned char *end,
    unsigned last, unsigned mask)
{
    if (last != ')' && !(llmr_ctype[last & 0xff] & mask)) {
        return 0;
    }

    p++;

    if (p < end && *p == ' ') {
        p++;
    }

    return p < end && (*p == '(' || (llmr_ctype[*p] & mask));
}


static int
llmr_sentence_end(const unsigned char *p, const unsigned char *end)
{
    unsigned  c;

    if (p + 1 >= end) {
        return 1;
    }

    c = p[1];

    return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '"'
           || c == ')' || c == '\'';
}


/*
 * The scanner reads a part of a text (at most LLMR_SCAN_MAX bytes) 64
 * bytes at a time: bit masks of the letters, digits, word bytes and
 * punctuation of every 64-byte block are made first (SSE2 where there is
 * SSE2), and what needs no order is counted from them (words, numbers,
 * long words, questions, sentences, brackets).  The few punctuation
 * bytes that matter in order (operators, new lines) are read one by one.
 * The words that are matched against the keywords are visited by their
 * start bits: a word's end is a count of trailing zeros, its filter test
 * one load; only the words that pass are hashed and looked up, after.
 * Most of the cost is per word: llmr_text_scan_window() bounds it.
 */

/* bits set, without the libgcc call that -mpopcnt would avoid */

static inline unsigned
llmr_popcount(uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;

    return (unsigned) ((x * 0x0101010101010101ULL) >> 56);
}


#if (defined __SSE2__)

static inline void
llmr_block_masks(const unsigned char *p, llmr_block_t *bl)
{
    int       i;
    __m128i   x, lo, t, a, d, sp;
    uint64_t  am, dm, sm, hm;

    am = 0;
    dm = 0;
    sm = 0;
    hm = 0;

    for (i = 0; i < 4; i++) {
        x = _mm_loadu_si128((const __m128i *) (p + 16 * i));

        /* ASCII letters: (x | 0x20) - 'a' < 26, digits: x - '0' < 10 */

        lo = _mm_or_si128(x, _mm_set1_epi8(0x20));
        t = _mm_sub_epi8(lo, _mm_set1_epi8('a'));
        a = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(25)), t);
        t = _mm_sub_epi8(x, _mm_set1_epi8('0'));
        d = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(9)), t);

        /* blanks: ' ', and '\t' .. '\r' but '\n' */

        t = _mm_sub_epi8(x, _mm_set1_epi8('\t'));
        sp = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(4)), t);
        sp = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')), sp);
        sp = _mm_or_si128(sp, _mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));

        am |= (uint64_t) (uint16_t) _mm_movemask_epi8(a) << (16 * i);
        dm |= (uint64_t) (uint16_t) _mm_movemask_epi8(d) << (16 * i);
        sm |= (uint64_t) (uint16_t) _mm_movemask_epi8(sp) << (16 * i);
        hm |= (uint64_t) (uint16_t) _mm_movemask_epi8(x) << (16 * i);
    }

    bl->alpha = am;
    bl->digit = dm;
    bl->word = am | dm | hm;
    bl->other = ~(am | dm | hm | sm);
    bl->high = hm;
}

#else

static inline void
llmr_block_masks(const unsigned char *p, llmr_block_t *bl)
{
    int       i;
    unsigned  t;
    uint64_t  am, dm, wm, om, hm;

    am = 0;
    dm = 0;
    wm = 0;
    om = 0;
    hm = 0;

    for (i = 0; i < 64; i++) {
        t = llmr_ctype[p[i]];

        am |= (uint64_t) ((t & LLMR_C_ALPHA) != 0) << i;
        dm |= (uint64_t) ((t & LLMR_C_DIGIT) != 0) << i;
        wm |= (uint64_t) (t & LLMR_C_WORD) << i;
        om |= (uint64_t) ((t & (LLMR_C_WORD | LLMR_C_SPACE)) == 0) << i;
        hm |= (uint64_t) (p[i] >> 7) << i;
    }

    bl->alpha = am;
    bl->digit = dm;
    bl->word = wm;
    bl->other = om;
    bl->high = hm;
}

#endif


/*
 * The masks of a part of a text, and what they count without an order:
 * the words and numbers (a joint, "don't", "3.5", "1,000", joins two
 * runs of word bytes into one word), long words, questions, sentences,
 * brackets, "$$" and "::".
 */

static void
llmr_part_masks(llmr_scan_t *s, const unsigned char *p, size_t n)
{
    size_t              i, nb, k, b;
    unsigned            c, t, next, questions, sentences, brackets, latex,
                        colons, words, numbers, long_words;
    uint64_t            valid, brk, ask, slow, joint, x, w, wn, prevw,
                        carry, jcarry, run, r2, rn;
    unsigned char       pad[64];
    llmr_block_t       *bl;
    llmr_text_stats_t  *st;

    st = s->st;
    nb = (n + 63) / 64;

    for (i = 0; i < nb; i++) {
        bl = &s->blocks[i];
        k = n - 64 * i;

        if (k >= 64) {
            llmr_block_masks(p + 64 * i, bl);

        } else {
            memset(pad, ' ', sizeof(pad));
            memcpy(pad, p + 64 * i, k);
            llmr_block_masks(pad, bl);

            valid = ((uint64_t) 1 << k) - 1;
            bl->alpha &= valid;
            bl->digit &= valid;
            bl->word &= valid;
            bl->other &= valid;
            bl->high &= valid;
        }

        if (bl->high) {
            llmr_scan_high(st, p + 64 * i, p + n, bl->high);
        }
    }

    questions = 0;
    sentences = 0;
    brackets = 0;
    latex = 0;
    colons = 0;
    words = 0;
    numbers = 0;
    long_words = 0;
    carry = 0;
    jcarry = 0;

    for (i = 0; i < nb; i++) {
        bl = &s->blocks[i];
        w = bl->word;
        wn = (i + 1 < nb) ? s->blocks[i + 1].word : 0;
        prevw = (w << 1) | carry;

        /*
         * The punctuation: the breaks for the words, the joints, the
         * bytes read in order, and the counts that need no order.
         */

        brk = 0;
        ask = 0;
        slow = 0;
        joint = 0;

        for (x = bl->other; x; x &= x - 1) {
            b = __builtin_ctzll(x);
            c = p[64 * i + b];
            t = llmr_ptype[c];
            next = (64 * i + b + 1 < n) ? p[64 * i + b + 1] : ' ';

            brk |= (uint64_t) (t & LLMR_P_BREAK) << b;
            ask |= (uint64_t) ((t & LLMR_P_ASK) != 0) << b;
            slow |= (uint64_t) ((t & LLMR_P_SLOW) != 0) << b;

            /* "don't": ' between letters; "3.5", "1,000": between digits */

            joint |= (uint64_t)
                     ((((c == '\'') & ((prevw >> b) & 1)
                        & ((llmr_ctype[next] & LLMR_C_ALPHA) != 0))
                       | (((c == '.') | (c == ','))
                          & ((llmr_ctype[p[64 * i + b - (b || i)]]
                              & LLMR_C_DIGIT) != 0)
                          & ((prevw >> b) & 1)
                          & ((llmr_ctype[next] & LLMR_C_DIGIT) != 0))))
                     << b;

            questions += (c == '?');
            sentences += ((t & LLMR_P_SENTENCE) != 0)
                         & llmr_follows_sentence(next);
            brackets += ((t & LLMR_P_BRACKET) != 0);
            latex += (c == '$') & (next == '$');
            colons += (c == ':') & (next == ':');
        }

        bl->brk = brk;
        bl->ask = ask;
        bl->slow = slow;
        bl->joint = joint;

        /* words start after a non-word byte that is not a joint */

        bl->start = w & ~(prevw | (joint << 1) | jcarry);

        /* where 10 word bytes or more start: runs of 2, 4, 8, then 10 */

        run = w & ((w >> 1) | (wn << 63));
        r2 = run;
        rn = wn & (wn >> 1);
        run &= (run >> 2) | (rn << 62);
        rn &= rn >> 2;
        run &= (run >> 4) | (rn << 60);
        run &= (r2 >> 8) | ((wn & (wn >> 1)) << 56);

        long_words += llmr_popcount(run & bl->start);
        words += llmr_popcount(bl->start);
        numbers += llmr_popcount(bl->start & bl->digit);

        carry = w >> 63;
        jcarry = joint >> 63;
    }

    st->questions += questions;
    st->sentences += sentences;
    st->brackets += brackets;
    st->latex += latex;
    st->code_ops += colons;
    st->words += words;
    st->numbers += numbers;
    st->long_words += long_words;

    s->nblocks = nb;
}


/* where the word at offset i ends, over its joints */

static size_t
llmr_word_end(const llmr_scan_t *s, size_t i)
{
    size_t    j;
    uint64_t  x;

    for ( ;; ) {
        j = i / 64;
        x = ~s->blocks[j].word & (~0ULL << (i % 64));

        while (x == 0) {
            if (++j == s->nblocks) {
                return 64 * j;
            }

            x = ~s->blocks[j].word;
        }

        i = 64 * j + __builtin_ctzll(x);

        if (!((s->blocks[j].joint >> (i % 64)) & 1)) {
            return i;
        }

        i++;
    }
}


/*
 * Whether a bit of a mask is set in [from, to): most often the range is
 * in one block (what is between two words), inlined; else the loop.
 */

static inline int
llmr_mask_any(const llmr_scan_t *s, int ask, size_t from, size_t to)
{
    size_t    i;
    uint64_t  m;

    if (from >= to) {
        return 0;
    }

    i = from / 64;

    if (i == (to - 1) / 64) {
        m = ask ? s->blocks[i].ask : s->blocks[i].brk;
        m >>= from % 64;
        m &= ~0ULL >> (63 - (to - 1 - from));

        return m != 0;
    }

    return llmr_mask_any_blocks(s, ask, from, to);
}


static int
llmr_mask_any_blocks(const llmr_scan_t *s, int ask, size_t from, size_t to)
{
    size_t    i;
    uint64_t  m, lo, hi;

    for (i = from / 64; i < s->nblocks && 64 * i < to; i++) {
        m = ask ? s->blocks[i].ask : s->blocks[i].brk;
        lo = (64 * i >= from) ? ~0ULL : ~0ULL << (from % 64);
        hi = (64 * (i + 1) <= to) ? ~0ULL : ((uint64_t) 1 << (to % 64)) - 1;

        if (m & lo & hi) {
            return 1;
        }
    }

    return 0;
}


/*
 * One part of a text: its masks and what they count, the punctuation
 * that is read in order, then the words of the first full_head and the
 * last full_tail bytes are matched against the keywords: a loop that
 * calls nothing, so that its state stays in registers, lists the words
 * and those that may match, and llmr_scan_hits() matches those, in
 * order.
 */

static void
llmr_scan_part(llmr_scan_t *s, const unsigned char *text, size_t len,
    size_t full_head, size_t full_tail)
{
    float                 gz;
    size_t                i, b, pos, e, wlen, nh, j, fh, ft, gn;
    uint32_t              gu, gb;
    uint64_t              m, x, raw8, prev8, prevs, g8, gprev;
    unsigned              gshift, grams_on;
    const float          *gw;
    unsigned char         buf[8];
    const unsigned char  *p, *end;

    end = text + len;

    s->text = text;
    s->end = end;
    s->skip = 0;
    s->st->bytes += len;

    llmr_part_masks(s, text, len);

    /* the punctuation that is read in order */

    llmr_scan_line(s, text, end);

    for (i = 0; i < s->nblocks; i++) {
        for (m = s->blocks[i].slow; m; m &= m - 1) {
            pos = 64 * i + __builtin_ctzll(m);

            if (pos >= s->skip) {
                s->skip = pos + 1;
                llmr_scan_punct(s, text + pos, end);
            }
        }
    }

    llmr_line_end(s->st, llmr_scan_last(s, end), s->paren);

    /* the words of the blocks [0, fh) and [ft, nblocks) */

    fh = (full_head + 63) / 64;
    fh = fh < s->nblocks ? fh : s->nblocks;
    ft = (full_tail + 63) / 64;
    ft = ft < s->nblocks - fh ? s->nblocks - ft : fh;

    /*
     * prevs: the offsets of the last two words, 16 bits each, and
     * LLMR_NO_WORD for none; a word that may match is listed with them.
     * Nothing else is stored, so that loads never wait on stores.
     */

    prev8 = 0;
    prevs = ((uint64_t) LLMR_NO_WORD << 16) | LLMR_NO_WORD;
    nh = 0;

    gw = s->gram_w;
    gshift = s->gram_shift;
    gz = 0;
    gn = 0;
    gprev = 0;
    grams_on = (gw != NULL || s->grams != NULL);

    for (i = (fh ? 0 : ft); i < s->nblocks; i = (i + 1 == fh) ? ft : i + 1) {

        for (m = s->blocks[i].start; m; m &= m - 1) {
            b = __builtin_ctzll(m);
            pos = 64 * i + b;
            p = text + pos;

            /* the word ends in its block, most often, and not on a joint */

            x = ~s->blocks[i].word >> b;
            e = __builtin_ctzll(x | (1ULL << 63)) + b;

            if (x == 0 || e > 63 || ((s->blocks[i].joint >> e) & 1)) {
                e = llmr_word_end(s, pos);

            } else {
                e += 64 * i;
            }

            wlen = e - pos;

            if (pos + 8 <= len) {
                raw8 = llmr_word_raw8(p, wlen);

            } else {
                for (j = 0; j < 8; j++) {
                    buf[j] = (j < wlen) ? p[j] : 0;
                }

                raw8 = llmr_word_raw8(buf, wlen);
            }

            /* breaks and numbers are looked at by llmr_scan_hits() */

            if (llmr_kw_filter_test(llmr_kw_first, raw8)
                | llmr_kw_filter_test(llmr_kw_pair, llmr_pair8(prev8, raw8)))
            {
                if (nh < LLMR_SCAN_HITS) {
                    s->hits[nh++] = ((uint64_t) (wlen < 0xffff ? wlen : 0)
                                     << 48)
                                    | (prevs << 16) | pos;
                }
            }

            /*
             * The grams of a learned layer that has them: the word (its
             * first 8 bytes and its length, any number alike) and the
             * pair with the word before it, hashed to 32 bits.  A model
             * without grams (the built-in one) costs nothing here.
             */

            if (grams_on) {
                g8 = ((s->blocks[i].digit >> b) & 1) ? LLMR_KEY_NUMBER
                     : raw8 ^ ((uint64_t) (wlen < 16 ? wlen : 16) << 59);
                gu = (uint32_t) ((g8 * 0x9e3779b97f4a7c15ULL) >> 32);
                gb = (uint32_t) ((((gprev * 0xc4ceb9fe1a85ec53ULL) ^ g8)
                                  * 0xff51afd7ed558ccdULL) >> 32);

                if (gw) {
                    gz += gw[gu >> gshift];
                    gn++;

                    if (gprev) {
                        gz += gw[gb >> gshift];
                        gn++;
                    }
                }

                if (s->grams) {
                    if (s->ngrams < s->max_grams) {
                        s->grams[s->ngrams++] = gu;
                    }

                    if (gprev && s->ngrams < s->max_grams) {
                        s->grams[s->ngrams++] = gb;
                    }
                }

                gprev = g8;
            }

            prevs = ((prevs << 16) | pos) & 0xffffffff;
            prev8 = raw8;
        }
    }

    s->gram_z += gz;
    s->gram_n += gn;

    llmr_scan_hits(s, text, nh);
}


/* the next word's offset from i on, LLMR_NO_WORD if none */

static size_t
llmr_next_word(const llmr_scan_t *s, size_t i)
{
    size_t    j;
    uint64_t  x;

    j = i / 64;

    if (j >= s->nblocks) {
        return LLMR_NO_WORD;
    }

    x = s->blocks[j].start & (~0ULL << (i % 64));

    while (x == 0) {
        if (++j == s->nblocks) {
            return LLMR_NO_WORD;
        }

        x = s->blocks[j].start;
    }

    return 64 * j + __builtin_ctzll(x);
}


/*
 * The listed words that may match, in order: alone, as the second word
 * of a phrase, as the next word of a longer phrase under way (that word
 * is read even if it was not listed); every word when grams are asked
 * for.  A phrase asks when its first word was in an asking position:
 * after a break that asks, or after a request, an opener or a greeting.
 */

static void
llmr_scan_hits(llmr_scan_t *s, const unsigned char *text, size_t nh)
{
    size_t                h, pos, prev, prev2, len, plen, pend, last, last2,
                          last_end, last2_end;
    unsigned              ask, prev_ask, set, last_set, last2_set, brk;
    uint64_t              raw8, prev8, hit;
    const unsigned char  *p, *q;

    s->nactive = 0;

    last = LLMR_NO_WORD;
    last2 = LLMR_NO_WORD;
    last_end = 0;
    last2_end = 0;
    last_set = 0;
    last2_set = 0;
    h = 0;

    for ( ;; ) {
        if (s->nactive && last != LLMR_NO_WORD
            && (pos = llmr_next_word(s, last_end)) != LLMR_NO_WORD)
        {
            /* a phrase goes on */
            prev = last;
            prev2 = last2;
            len = 0;

            while (h < nh && (s->hits[h] & 0xffff) <= pos) {
                h++;
            }

        } else if (h < nh) {
            hit = s->hits[h++];
            pos = hit & 0xffff;
            prev = (hit >> 16) & 0xffff;
            prev2 = (hit >> 32) & 0xffff;
            len = hit >> 48;

        } else {
            break;
        }

        p = text + pos;

        if (len == 0) {
            len = llmr_word_end(s, pos) - pos;
        }

        /* the word before, and what is between */

        q = NULL;
        plen = 0;
        pend = 0;

        if (prev != LLMR_NO_WORD) {
            q = text + prev;
            pend = (prev == last) ? last_end : llmr_word_end(s, prev);
            plen = pend - prev;
        }

        brk = (q == NULL) || llmr_mask_any(s, 0, pend, pos);

        ask = (q == NULL) || llmr_mask_any(s, 1, pend, pos)
              || (last == prev && last_set);

        if (q == NULL) {
            prev_ask = 0;

        } else if (prev2 == LLMR_NO_WORD) {
            prev_ask = 1;

        } else {
            prev_ask = llmr_mask_any(s, 1,
                                     (prev2 == last2) ? last2_end
                                     : (prev2 == last) ? last_end
                                     : llmr_word_end(s, prev2), prev)
                       || (last == prev2 ? last_set
                           : last2 == prev2 ? last2_set : 0);
        }

        if (brk || last != prev) {
            /* no phrase goes on over a break or a word passed over */
            s->nactive = 0;
        }

        if (llmr_ctype[*p] & LLMR_C_DIGIT) {
            set = llmr_scan_number(s);

        } else {
            prev8 = 0;

            if (q && !brk && !(llmr_ctype[*q] & LLMR_C_DIGIT)) {
                prev8 = llmr_word_raw8_at(q, plen, s->end);
            }

            raw8 = llmr_word_raw8_at(p, len, s->end);

            if (len == 1 && (*p | 0x20) >= 'x' && (*p | 0x20) <= 'z') {
                /* a lone x, y or z is most likely a variable */
                s->st->math_syms++;
            }

            set = llmr_scan_word(s, p, len, raw8, q, plen, prev8, ask,
                                 prev_ask);
        }

        last2 = last;
        last2_end = last_end;
        last2_set = last_set;
        last = pos;
        last_end = pos + len;
        last_set = set;
    }
}


/*
 * The last non-blank byte before p on its line, 0 if none: what an
 * operator stands after, what a line ends with.
 */

static unsigned
llmr_scan_last(const llmr_scan_t *s, const unsigned char *p)
{
    while (p > s->text) {
        p--;

        if (!(llmr_ctype[*p] & LLMR_C_SPACE)) {
            return *p == '\n' ? 0 : *p;
        }
    }

    return 0;
}


/* a punctuation byte that is read in order (LLMR_P_SLOW) */

static void
llmr_scan_punct(llmr_scan_t *s, const unsigned char *p,
    const unsigned char *end)
{
    unsigned            c, last;
    llmr_text_stats_t  *st;

    st = s->st;
    last = llmr_scan_last(s, p);
    c = *p++;

    /* from here on p is past c */

    switch (c) {

    case '\n':
        llmr_line_end(st, last, s->paren);
        llmr_scan_line(s, p, end);
        return;

    case '!':
        if (p < end && *p == '=') {
            st->code_ops++;
            p++;

        } else if (llmr_sentence_end(p - 1, end)) {
            st->sentences++;
        }

        break;

    case '=':
        if (p < end && (*p == '=' || *p == '>')) {
            st->code_ops++;
            p++;

        } else if (llmr_operands(p - 1, end, last,
                                 LLMR_C_ALPHA | LLMR_C_DIGIT))
        {
            st->math_ops++;
        }

        break;

    case '-':
        if (p < end && (*p == '>' || *p == '=')) {
            st->code_ops++;
            p++;

        } else if (llmr_operands(p - 1, end, last, LLMR_C_DIGIT)) {
            st->math_ops++;
        }

        break;

    case '+':
        if (p < end && (*p == '+' || *p == '=')) {
            st->code_ops++;
            p++;

        } else if (llmr_operands(p - 1, end, last,
                                 LLMR_C_ALPHA | LLMR_C_DIGIT))
        {
            st->math_ops++;
        }

        break;

    case '*':
        if (llmr_operands(p - 1, end, last, LLMR_C_ALPHA | LLMR_C_DIGIT)) {
            st->math_ops++;
        }

        break;

    case '/':
        if (p < end && (*p == '/' || *p == '*')) {
            st->code_ops++;
            p++;

        } else if (llmr_operands(p - 1, end, last, LLMR_C_DIGIT)) {
            /* 3/4, 10 / 2 */
            st->math_ops++;
            st->fractions++;
        }

        break;

    case '^':
        if (llmr_ctype[last] & LLMR_C_WORD) {
            st->math_ops++;
        }

        break;

    case '<':
    case '>':
        if (p < end && *p == '=') {
            st->math_ops++;
            p++;

        } else if (c == '<' && p < end && *p == '/') {
            st->code_ops++;
            p++;
        }

        break;

    case '&':
    case '|':
        if (p < end && *p == c) {
            st->code_ops++;
            p++;
        }

        break;

    case '_':
        /* snake_case */
        if ((llmr_ctype[last] & LLMR_C_WORD) && p < end
            && (llmr_ctype[*p] & LLMR_C_ALPHA))
        {
            st->code_ops++;
        }

        break;

    case ')':
        s->paren = 1;
        break;

    case '`':
        if (p + 1 < end && p[0] == '`' && p[1] == '`') {
            st->code_fences++;
            p += 2;

        } else {
            st->code_ticks++;
        }

        break;

    case '\\':
        if (p < end && (llmr_ctype[*p] & LLMR_C_ALPHA)) {
            st->latex++;
        }

        break;

    }

    s->skip = p - s->text;
}


/* a line starts at p: its indentation and list marker */

static void
llmr_scan_line(llmr_scan_t *s, const unsigned char *p,
    const unsigned char *end)
{
    unsigned  lead;

    s->paren = 0;

    lead = 0;

    while (p < end && (llmr_ctype[*p] & LLMR_C_SPACE)) {
        lead += (*p == '\t') ? 4 : 1;
        p++;
    }

    if (p < end && *p != '\n') {
        llmr_line_start(s->st, p, end, lead);
    }
}


static void
llmr_scan_init(llmr_scan_t *s, llmr_text_stats_t *st, uint32_t *grams,
    size_t max_grams)
{
    memset(st, 0, sizeof(llmr_text_stats_t));

    s->st = st;
    s->tab = llmr_kw_get();
    s->grams = grams;
    s->max_grams = grams ? max_grams : 0;
    s->ngrams = 0;
    s->gram_w = NULL;
    s->gram_shift = 32;
    s->gram_z = 0;
    s->gram_n = 0;
}


void
llmr_text_scan(const char *text, size_t len, llmr_text_stats_t *st,
    uint32_t *grams, size_t max_grams, size_t *ngrams)
{
    llmr_text_scan_window(text, len, LLMR_SCAN_MAX, 0, LLMR_SCAN_MAX, 0, NULL,
                          st, grams, max_grams, ngrams);
}


/*
 * The head and the tail of a text, at most head + tail bytes: the tail
 * starts on a new line (or at least a new word) near len - tail.  The
 * words of the first full_head and the last full_tail bytes of that are
 * matched against the keywords; the rest is counted.
 */

void
llmr_text_scan_window(const char *text, size_t len, size_t head,
    size_t tail, size_t full_head, size_t full_tail, const llmr_grams_t *gm,
    llmr_text_stats_t *st, uint32_t *grams, size_t max_grams, size_t *ngrams)
{
    size_t                from, i;
    llmr_scan_t           s;
    const unsigned char  *p;

    llmr_scan_init(&s, st, grams, max_grams);

    if (gm && gm->w && gm->bits >= 1 && gm->bits <= 31) {
        s.gram_w = gm->w;
        s.gram_shift = 32 - gm->bits;
    }

    if (head > LLMR_SCAN_MAX) {
        head = LLMR_SCAN_MAX;
    }

    if (tail > LLMR_SCAN_MAX) {
        tail = LLMR_SCAN_MAX;
    }

    if (text == NULL || len == 0) {
        if (ngrams) {
            *ngrams = 0;
        }

        return;
    }

    p = (const unsigned char *) text;

    if (len <= head + tail && len <= LLMR_SCAN_MAX) {
        llmr_scan_part(&s, p, len, full_head, full_tail);

    } else {
        if (len <= head + tail) {
            head = LLMR_SCAN_MAX;
            tail = 0;
        }

        if (head) {
            llmr_scan_part(&s, p, head, full_head, 0);
        }

        if (tail) {
            from = len - tail;

            for (i = from; i < len && i < from + 256; i++) {
                if (p[i] == '\n') {
                    from = i + 1;
                    break;
                }
            }

            if (from == len - tail) {
                while (from < len && (llmr_ctype[p[from]] & LLMR_C_WORD)) {
                    from++;
                }
            }

            if (from < len) {
                llmr_scan_part(&s, p + from, len - from, 0, full_tail);
            }
        }
    }

    if (ngrams) {
        *ngrams = s.ngrams;
    }

    st->gram_z = s.gram_z;
    st->gram_n = (unsigned) s.gram_n;
}
