
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <math.h>
#include <pthread.h>
#include <string.h>

#if (defined __SSE2__)
#include <emmintrin.h>
#endif

#include "llmr_features.h"


/* byte classes */
#define LLMR_C_WORD             0x01    /* letters, digits, bytes >= 0x80 */
#define LLMR_C_DIGIT            0x02
#define LLMR_C_SPACE            0x04    /* blanks, not '\n' */
#define LLMR_C_ALPHA            0x08    /* ASCII letters */
#define LLMR_C_HIGH             0x10    /* bytes >= 0x80 */
#define LLMR_C_UPPER            0x20    /* also the bit that lowercases */
#define LLMR_C_BREAK            0x40    /* ends a phrase: . , ; : ! ? ( ) " */
#define LLMR_C_LEAD             0x80    /* a UTF-8 lead byte */

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

/* bytes of a word that are hashed, bytes of a keyword's text */
#define LLMR_WORD_HASHED        64
#define LLMR_KW_TEXT_MAX        64

/* words of a part that may match, listed for the keywords */
#define LLMR_SCAN_HITS          2048
#define LLMR_NO_WORD            0xffff
#define LLMR_KEY_NUMBER         0x6e756d6265726e75ULL   /* any number */

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

/* phrases followed at once, e.g. "how" and "how do" in "how do i" */
#define LLMR_PHRASE_ACTIVE      4


typedef struct {
    uint32_t                    check;      /* the key's high half */
    unsigned                    classes:20; /* LLMR_KW_* */
    unsigned                    domain:8;
    unsigned                    used:1;
} llmr_kw_slot_t;


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


static inline uint64_t llmr_key_mix(uint64_t h);
static uint64_t llmr_key_pair(uint64_t a, uint64_t b);
static const llmr_kw_slot_t *llmr_kw_get(void);
static void llmr_kw_build(void);
static void llmr_kw_insert(uint64_t key, unsigned classes, int domain);
static inline const llmr_kw_slot_t *llmr_kw_find(const llmr_kw_slot_t *tab,
    uint64_t key);
static unsigned llmr_kw_hit(llmr_text_stats_t *st, const llmr_kw_slot_t *e,
    unsigned ask);
static unsigned llmr_scan_word(llmr_scan_t *s, const unsigned char *p,
    size_t len, uint64_t raw8, const unsigned char *prev, size_t prev_len,
    uint64_t prev8, unsigned ask, unsigned prev_ask);
static unsigned llmr_scan_number(llmr_scan_t *s);
static void llmr_scan_hits(llmr_scan_t *s, const unsigned char *text,
    size_t nh);
static size_t llmr_next_word(const llmr_scan_t *s, size_t i);
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
static double llmr_log2p(double v);
static double llmr_clamp01(double v);


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


#define K(text, classes, domain)                                              \
    { text, classes, LLMR_DOMAIN_##domain }

#define GRT                     LLMR_KW_GREETING
#define SMP                     LLMR_KW_SIMPLE
#define EXP                     LLMR_KW_EXPLAIN
#define CPX                     LLMR_KW_COMPLEX
#define XPT                     LLMR_KW_EXPERT
#define CON                     LLMR_KW_CONSTRAINT
#define STP                     LLMR_KW_STEP
#define MUL                     LLMR_KW_MULTI
#define COD                     LLMR_KW_CODE
#define MTH                     LLMR_KW_MATH
#define STK                     LLMR_KW_STAKES
#define RSN                     LLMR_KW_REASON
#define REQ                     LLMR_KW_REQUEST
#define OPN                     LLMR_KW_OPENER
#define REL                     LLMR_KW_RELATION
#define PER                     LLMR_KW_PERSONA
#define GEN                     LLMR_KW_GENRE
#define CMP                     LLMR_KW_COMPOSE

/*
 * The vocabulary.  Words are matched whole, case-insensitively, with a
 * plural 's' dropped on both sides ("constraints" finds "constraint");
 * '-' separates words like a blank does ("trade-offs" is "trade off").
 * A domain other than GENERAL counts toward that domain; STAKES marks a
 * term that makes a request high-stakes when its domain wins.
 */

static const llmr_kw_def_t  llmr_kw_list[] = {

    /* greetings, thanks and small talk */
    K("hi", GRT, GENERAL),
    K("hello", GRT, GENERAL),
    K("hey", GRT, GENERAL),
    K("hiya", GRT, GENERAL),
    K("howdy", GRT, GENERAL),
    K("yo", GRT, GENERAL),
    K("greetings", GRT, GENERAL),
    K("good morning", GRT, GENERAL),
    K("good afternoon", GRT, GENERAL),
    K("good evening", GRT, GENERAL),
    K("good night", GRT, GENERAL),
    K("how are you", GRT, GENERAL),
    K("how's it going", GRT, GENERAL),
    K("what's up", GRT, GENERAL),
    K("nice to meet you", GRT, GENERAL),
    K("thanks", GRT, GENERAL),
    K("thank you", GRT, GENERAL),
    K("thx", GRT, GENERAL),
    K("ty", GRT, GENERAL),
    K("cheers", GRT, GENERAL),
    K("bye", GRT, GENERAL),
    K("goodbye", GRT, GENERAL),
    K("see you", GRT, GENERAL),
    K("ok", GRT, GENERAL),
    K("okay", GRT, GENERAL),
    K("cool", GRT, GENERAL),
    K("great", GRT, GENERAL),
    K("awesome", GRT, GENERAL),
    K("perfect", GRT, GENERAL),
    K("nice", GRT, GENERAL),
    K("yes", GRT, GENERAL),
    K("yep", GRT, GENERAL),
    K("nope", GRT, GENERAL),
    K("sure", GRT, GENERAL),
    K("got it", GRT, GENERAL),
    K("lol", GRT, GENERAL),
    K("haha", GRT, GENERAL),

    /* requests: the word after one asks for something */
    K("please", REQ, GENERAL),
    K("pls", REQ, GENERAL),
    K("plz", REQ, GENERAL),
    K("kindly", REQ, GENERAL),
    K("can you", REQ, GENERAL),
    K("could you", REQ, GENERAL),
    K("would you", REQ, GENERAL),
    K("will you", REQ, GENERAL),
    K("can u", REQ, GENERAL),
    K("help me", REQ, GENERAL),
    K("i need you to", REQ, GENERAL),
    K("i need to", REQ, GENERAL),
    K("i want you to", REQ, GENERAL),
    K("i want to", REQ, GENERAL),
    K("i'd like you to", REQ, GENERAL),
    K("i'd like to", REQ, GENERAL),
    K("i would like you to", REQ, GENERAL),
    K("i would like to", REQ, GENERAL),
    K("let's", REQ, GENERAL),
    K("let us", REQ, GENERAL),
    K("now", OPN, GENERAL),
    K("you should", REQ, GENERAL),
    K("your task is to", REQ, GENERAL),
    K("your job is to", REQ, GENERAL),
    K("try to", REQ, GENERAL),
    K("how do i", REQ, GENERAL),
    K("how can i", REQ, GENERAL),
    K("how should i", REQ, GENERAL),
    K("how would i", REQ, GENERAL),
    K("how would you", REQ, GENERAL),
    K("how do you", REQ, GENERAL),
    K("how to", EXP | REQ, GENERAL),
    K("show me how to", REQ, GENERAL),
    K("the best way to", REQ, GENERAL),
    K("tell me", REQ, GENERAL),
    K("give me", REQ, GENERAL),
    K("show me", REQ, GENERAL),
    K("teach me", REQ, GENERAL),

    /* lookups: short factual questions */
    K("what is", SMP, GENERAL),
    K("what are", SMP, GENERAL),
    K("what's", SMP, GENERAL),
    K("who is", SMP, GENERAL),
    K("who was", SMP, GENERAL),
    K("who wrote", SMP, GENERAL),
    K("when is", SMP, GENERAL),
    K("when was", SMP, GENERAL),
    K("when did", SMP, GENERAL),
    K("where is", SMP, GENERAL),
    K("where are", SMP, GENERAL),
    K("which is", SMP, GENERAL),
    K("define", SMP, GENERAL),
    K("definition", SMP, GENERAL),
    K("meaning of", SMP, GENERAL),
    K("capital", SMP, GENERAL),
    K("synonym", SMP, GENERAL),
    K("antonym", SMP, GENERAL),
    K("translate", SMP, GENERAL),
    K("spell", SMP, GENERAL),
    K("how old", SMP, GENERAL),
    K("how tall", SMP, GENERAL),
    K("population", SMP, GENERAL),
    K("quick question", SMP, GENERAL),
    K("in one word", SMP, GENERAL),
    K("one sentence", SMP, GENERAL),
    K("short answer", SMP, GENERAL),
    K("briefly", SMP, GENERAL),
    K("tldr", SMP, GENERAL),
    K("yes or no", SMP, GENERAL),
    K("true or false", SMP, GENERAL),

    /* asks of a moderate size */
    K("explain", EXP, GENERAL),
    K("describe", EXP | CMP, GENERAL),
    K("summarize", EXP, GENERAL),
    K("summarise", EXP, GENERAL),
    K("summary", EXP, GENERAL),
    K("compare", EXP, GENERAL),
    K("comparison", EXP, GENERAL),
    K("contrast", EXP, GENERAL),
    K("difference", EXP, GENERAL),
    K("why", EXP, GENERAL),
    K("how does", EXP, GENERAL),
    K("how do", EXP, GENERAL),
    K("how can", EXP, GENERAL),
    K("how would", EXP, GENERAL),
    K("how should", EXP, GENERAL),
    K("overview", EXP, GENERAL),
    K("outline", EXP, GENERAL),
    K("discuss", EXP, GENERAL),
    K("elaborate", EXP, GENERAL),
    K("interpret", EXP, GENERAL),
    K("clarify", EXP, GENERAL),
    K("illustrate", EXP, GENERAL),
    K("example", EXP, GENERAL),
    K("pros and cons", EXP, GENERAL),
    K("advantage", EXP, GENERAL),
    K("disadvantage", EXP, GENERAL),
    K("review", EXP, GENERAL),
    K("rewrite", EXP, GENERAL),
    K("improve", EXP, GENERAL),
    K("write", EXP | CMP, GENERAL),
    K("draft", EXP | CMP, GENERAL),
    K("suggest", EXP, GENERAL),
    K("recommend", EXP, GENERAL),
    K("recommendation", EXP, GENERAL),
    K("classify", EXP, GENERAL),
    K("categorize", EXP, GENERAL),
    K("infer", EXP, GENERAL),
    K("conclude", EXP, GENERAL),
    K("predict", EXP, GENERAL),
    K("most likely", EXP, GENERAL),

    /* asks that need a strong model */
    K("design", CPX, GENERAL),
    K("architect", CPX, CODE),
    K("architecture", CPX, CODE),
    K("analyze", CPX, ANALYSIS),
    K("analyse", CPX, ANALYSIS),
    K("optimize", CPX, GENERAL),
    K("optimise", CPX, GENERAL),
    K("optimization", CPX, GENERAL),
    K("implement", CPX, CODE),
    K("implementation", CPX, CODE),
    K("evaluate", CPX, ANALYSIS),
    K("evaluation", CPX, ANALYSIS),
    K("assess", CPX, ANALYSIS),
    K("assessment", CPX, ANALYSIS),
    K("critique", CPX, GENERAL),
    K("critically", CPX, GENERAL),
    K("trade off", CPX, GENERAL),
    K("tradeoff", CPX, GENERAL),
    K("scalable", CPX, CODE),
    K("scalability", CPX, CODE),
    K("distributed", CPX, CODE),
    K("concurrency", CPX, CODE),
    K("concurrent", CPX, CODE),
    K("parallel", CPX, GENERAL),
    K("refactor", CPX, CODE),
    K("debug", CPX, CODE),
    K("algorithm", CPX, CODE),
    K("complexity", CPX, GENERAL),
    K("strategy", CPX, GENERAL),
    K("comprehensive", CPX, GENERAL),
    K("in depth", CPX, GENERAL),
    K("detailed", CPX, GENERAL),
    K("derive", CPX, MATH),
    K("derivation", CPX, MATH),
    K("migrate", CPX, CODE),
    K("migration", CPX, CODE),
    K("integrate", CPX, GENERAL),
    K("integration", CPX, GENERAL),
    K("robust", CPX, GENERAL),
    K("robustness", CPX, GENERAL),
    K("performance", CPX, GENERAL),
    K("latency", CPX, CODE),
    K("throughput", CPX, CODE),
    K("fault tolerant", CPX, CODE),
    K("fault tolerance", CPX, CODE),
    K("high availability", CPX, CODE),
    K("edge case", CPX, CODE),
    K("multi region", CPX, CODE),
    K("microservice", CPX, CODE),
    K("pipeline", CPX, CODE),
    K("infrastructure", CPX, CODE),
    K("end to end", CPX, GENERAL),
    K("production", CPX, GENERAL),
    K("security", CPX, CODE),
    K("threat model", CPX, CODE),
    K("vulnerability", CPX, CODE),
    K("root cause", CPX, GENERAL),
    K("investigate", CPX, GENERAL),
    K("simulate", CPX, GENERAL),
    K("simulation", CPX, GENERAL),
    K("nuanced", CPX, GENERAL),
    K("implication", CPX, GENERAL),
    K("synthesize", CPX, GENERAL),
    K("prioritize", CPX, GENERAL),
    K("roadmap", CPX, GENERAL),
    K("semantics", CPX, GENERAL),
    K("consistency", CPX, GENERAL),
    K("sharding", CPX, CODE),
    K("replication", CPX, CODE),
    K("orchestration", CPX, CODE),

    /* asks at the frontier */
    K("prove", XPT, MATH),
    K("proof", XPT, MATH),
    K("rigorous", XPT, GENERAL),
    K("rigorously", XPT, GENERAL),
    K("formal", XPT, GENERAL),
    K("formally", XPT, GENERAL),
    K("theorem", XPT, MATH),
    K("lemma", XPT, MATH),
    K("corollary", XPT, MATH),
    K("research", XPT, GENERAL),
    K("state of the art", XPT, GENERAL),
    K("exactly once", XPT, CODE),
    K("event sourcing", XPT, CODE),
    K("consensus", XPT, CODE),
    K("byzantine", XPT, CODE),
    K("linearizable", XPT, CODE),
    K("linearizability", XPT, CODE),
    K("serializable", XPT, CODE),
    K("serializability", XPT, CODE),
    K("raft", XPT, CODE),
    K("paxos", XPT, CODE),
    K("crdt", XPT, CODE),
    K("formal verification", XPT, CODE),
    K("zero knowledge", XPT, CODE),
    K("cryptographic", XPT, CODE),
    K("homomorphic", XPT, CODE),
    K("asymptotic", XPT, MATH),
    K("np hard", XPT, MATH),
    K("np complete", XPT, MATH),
    K("undecidable", XPT, MATH),
    K("stochastic", XPT, MATH),
    K("differential equation", XPT, MATH),
    K("eigenvalue", XPT, MATH),
    K("topology", XPT, MATH),
    K("manifold", XPT, MATH),
    K("category theory", XPT, MATH),
    K("measure theory", XPT, MATH),
    K("provably", XPT, GENERAL),
    K("worst case", XPT, GENERAL),
    K("amortized", XPT, CODE),
    K("lock free", XPT, CODE),
    K("wait free", XPT, CODE),
    K("memory model", XPT, CODE),
    K("first principles", XPT, GENERAL),
    K("graduate level", XPT, GENERAL),
    K("peer review", XPT, GENERAL),
    K("dissertation", XPT, GENERAL),
    K("thesis", XPT, GENERAL),

    /* constraints on the answer */
    K("must", CON, GENERAL),
    K("should", CON, GENERAL),
    K("without", CON, GENERAL),
    K("at least", CON, GENERAL),
    K("at most", CON, GENERAL),
    K("no more than", CON, GENERAL),
    K("no less than", CON, GENERAL),
    K("fewer than", CON | REL, GENERAL),
    K("less than", CON | REL, GENERAL),
    K("exactly", CON, GENERAL),
    K("only", CON, GENERAL),
    K("ensure", CON, GENERAL),
    K("make sure", CON, GENERAL),
    K("do not", CON, GENERAL),
    K("don't", CON, GENERAL),
    K("never", CON, GENERAL),
    K("always", CON, GENERAL),
    K("avoid", CON, GENERAL),
    K("limit", CON, GENERAL),
    K("within", CON, GENERAL),
    K("requirement", CON, GENERAL),
    K("constraint", CON, GENERAL),
    K("required", CON, GENERAL),
    K("format", CON, GENERAL),
    K("formatted", CON, GENERAL),
    K("maximum", CON, GENERAL),
    K("minimum", CON, GENERAL),
    K("strictly", CON, GENERAL),
    K("guarantee", CON, GENERAL),
    K("cannot", CON, GENERAL),
    K("can't", CON, GENERAL),
    K("exclude", CON, GENERAL),
    K("excluding", CON, GENERAL),
    K("word", CON, GENERAL),
    K("bullet point", CON, GENERAL),
    K("markdown", CON, GENERAL),
    K("tone", CON, GENERAL),
    K("audience", CON, GENERAL),
    K("assume", CON, GENERAL),
    K("assuming", CON, GENERAL),
    K("given that", CON, GENERAL),
    K("subject to", CON, GENERAL),
    K("unless", CON, GENERAL),
    K("except", CON, GENERAL),
    K("compatible", CON, GENERAL),

    /* steps and sequence */
    K("step by step", STP | RSN, GENERAL),
    K("step", STP, GENERAL),
    K("first", STP | OPN, GENERAL),
    K("firstly", STP | OPN, GENERAL),
    K("then", STP | OPN, GENERAL),
    K("next", STP | OPN, GENERAL),
    K("finally", STP | OPN, GENERAL),
    K("lastly", STP | OPN, GENERAL),
    K("secondly", STP | OPN, GENERAL),
    K("thirdly", STP, GENERAL),
    K("after that", STP | OPN, GENERAL),
    K("afterward", STP, GENERAL),
    K("afterwards", STP, GENERAL),
    K("subsequently", STP, GENERAL),
    K("walk me through", STP, GENERAL),
    K("walk through", STP, GENERAL),
    K("show your work", STP | RSN, GENERAL),
    K("stage", STP, GENERAL),
    K("phase", STP, GENERAL),
    K("procedure", STP, GENERAL),
    K("workflow", STP, GENERAL),
    K("iterate", STP, GENERAL),
    K("later", STP, GENERAL),
    K("before", STP, GENERAL),
    K("remaining", STP | MTH | REL, MATH),

    /* more than one ask */
    K("also", MUL | OPN, GENERAL),
    K("additionally", MUL | OPN, GENERAL),
    K("furthermore", MUL | OPN, GENERAL),
    K("moreover", MUL | OPN, GENERAL),
    K("as well as", MUL, GENERAL),
    K("in addition", MUL, GENERAL),
    K("both", MUL, GENERAL),
    K("respectively", MUL, GENERAL),
    K("besides", MUL, GENERAL),
    K("along with", MUL, GENERAL),
    K("together with", MUL, GENERAL),
    K("followed by", MUL, GENERAL),
    K("and then", MUL | OPN, GENERAL),
    K("part", MUL, GENERAL),
    K("another", MUL, GENERAL),

    /*
     * A quantity given through another one (half of, three times as
     * many, 5 more than, the rest): each is a step of a word problem
     * that a small model gets wrong more often.  Fractions (3/4) are
     * counted by the scanner.
     */
    K("halves", REL, GENERAL),
    K("third", REL, GENERAL),
    K("quarter", REL, GENERAL),
    K("fifth", REL, GENERAL),
    K("sixth", REL, GENERAL),
    K("seventh", REL, GENERAL),
    K("eighth", REL, GENERAL),
    K("ninth", REL, GENERAL),
    K("tenth", REL, GENERAL),
    K("thrice", REL, GENERAL),
    K("double", REL, GENERAL),
    K("triple", REL, GENERAL),
    K("quadruple", REL, GENERAL),
    K("times as", REL, GENERAL),
    K("times more", REL, GENERAL),
    K("times less", REL, GENERAL),
    K("times the", REL, GENERAL),
    K("more than", REL, GENERAL),
    K("older than", REL, GENERAL),
    K("younger than", REL, GENERAL),
    K("longer than", REL, GENERAL),
    K("shorter than", REL, GENERAL),
    K("taller than", REL, GENERAL),
    K("cheaper than", REL, GENERAL),
    K("faster than", REL, GENERAL),
    K("slower than", REL, GENERAL),
    K("bigger than", REL, GENERAL),
    K("smaller than", REL, GENERAL),
    K("larger than", REL, GENERAL),
    K("greater than", REL, GENERAL),
    K("higher than", REL, GENERAL),
    K("lower than", REL, GENERAL),
    K("heavier than", REL, GENERAL),
    K("lighter than", REL, GENERAL),
    K("rest", REL, GENERAL),
    K("remainder", REL, GENERAL),

    /* careful thinking */
    K("think carefully", RSN, GENERAL),
    K("carefully", RSN, GENERAL),
    K("thoroughly", RSN, GENERAL),
    K("reasoning", RSN, GENERAL),
    K("justify", RSN, GENERAL),
    K("explain why", RSN, GENERAL),
    K("explain your reasoning", RSN, GENERAL),
    K("verify", RSN, GENERAL),
    K("double check", RSN, GENERAL),
    K("tricky", RSN, GENERAL),
    K("think through", RSN, GENERAL),
    K("chain of thought", RSN, GENERAL),
    K("consider", RSN, GENERAL),
    K("imply", RSN, GENERAL),
    K("implies", RSN, GENERAL),
    K("if and only if", RSN, MATH),

    /* code */
    K("code", COD, CODE),
    K("coding", COD, CODE),
    K("program", COD, CODE),
    K("programming", COD, CODE),
    K("function", COD, CODE),
    K("method", COD, CODE),
    K("script", COD, CODE),
    K("snippet", COD, CODE),
    K("def", COD, CODE),
    K("return", COD, CODE),
    K("class", COD, CODE),
    K("import", COD, CODE),
    K("include", COD, CODE),
    K("const", COD, CODE),
    K("var", COD, CODE),
    K("public", COD, CODE),
    K("private", COD, CODE),
    K("static", COD, CODE),
    K("void", COD, CODE),
    K("int", COD, CODE),
    K("struct", COD, CODE),
    K("printf", COD, CODE),
    K("println", COD, CODE),
    K("console", COD, CODE),
    K("elif", COD, CODE),
    K("async", COD, CODE),
    K("await", COD, CODE),
    K("lambda", COD, CODE),
    K("namespace", COD, CODE),
    K("typedef", COD, CODE),
    K("nullptr", COD, CODE),
    K("null", COD, CODE),
    K("bool", COD, CODE),
    K("boolean", COD, CODE),
    K("dict", COD, CODE),
    K("hashmap", COD, CODE),
    K("python", COD, CODE),
    K("java", COD, CODE),
    K("javascript", COD, CODE),
    K("typescript", COD, CODE),
    K("rust", COD, CODE),
    K("golang", COD, CODE),
    K("cpp", COD, CODE),
    K("kotlin", COD, CODE),
    K("swift", COD, CODE),
    K("ruby", COD, CODE),
    K("php", COD, CODE),
    K("sql", COD, CODE),
    K("html", COD, CODE),
    K("css", COD, CODE),
    K("json", COD, CODE),
    K("yaml", COD, CODE),
    K("api", COD, CODE),
    K("endpoint", COD, CODE),
    K("http", COD, CODE),
    K("regex", COD, CODE),
    K("bug", COD, CODE),
    K("exception", COD, CODE),
    K("stack trace", COD, CODE),
    K("traceback", COD, CODE),
    K("compile", COD, CODE),
    K("compiler", COD, CODE),
    K("runtime", COD, CODE),
    K("segfault", COD, CODE),
    K("null pointer", COD, CODE),
    K("repo", COD, CODE),
    K("git", COD, CODE),
    K("docker", COD, CODE),
    K("kubernetes", COD, CODE),
    K("database", COD, CODE),
    K("query", COD, CODE),
    K("backend", COD, CODE),
    K("frontend", COD, CODE),
    K("server", COD, CODE),
    K("deploy", COD, CODE),
    K("library", COD, CODE),
    K("framework", COD, CODE),
    K("npm", COD, CODE),
    K("unit test", COD, CODE),
    K("test case", COD, CODE),
    K("loop", COD, CODE),
    K("recursion", COD, CODE),
    K("recursive", COD, CODE),
    K("pointer", COD, CODE),
    K("memory leak", COD, CODE),
    K("thread", COD, CODE),
    K("mutex", COD, CODE),
    K("deadlock", COD, CODE),
    K("race condition", COD, CODE),
    K("linux", COD, CODE),
    K("bash", COD, CODE),
    K("shell", COD, CODE),
    K("terminal", COD, CODE),
    K("command line", COD, CODE),
    K("react", COD, CODE),
    K("django", COD, CODE),
    K("nodejs", COD, CODE),
    K("quicksort", COD, CODE),
    K("binary search", COD, CODE),
    K("linked list", COD, CODE),
    K("hash table", COD, CODE),
    K("big o", COD, CODE),
    K("data structure", COD, CODE),
    K("software", COD, CODE),
    K("computer", COD, CODE),
    K("machine learning", COD, CODE),
    K("neural network", COD, CODE),
    K("kafka", COD, CODE),
    K("redis", COD, CODE),
    K("nginx", COD, CODE),
    K("cache", COD, CODE),

    /* math */
    K("math", MTH, MATH),
    K("mathematics", MTH, MATH),
    K("equation", MTH, MATH),
    K("solve", MTH, MATH),
    K("calculate", MTH, MATH),
    K("compute", MTH, MATH),
    K("integral", MTH, MATH),
    K("derivative", MTH, MATH),
    K("differentiate", MTH, MATH),
    K("sum", MTH, MATH),
    K("product of", MTH, MATH),
    K("probability", MTH, MATH),
    K("percent", MTH, MATH),
    K("percentage", MTH, MATH),
    K("ratio", MTH, MATH),
    K("average", MTH, MATH),
    K("median", MTH, MATH),
    K("fraction", MTH, MATH),
    K("divide", MTH, MATH),
    K("divided", MTH, MATH),
    K("multiply", MTH, MATH),
    K("multiplied", MTH, MATH),
    K("minus", MTH, MATH),
    K("total", MTH, MATH),
    K("how many", MTH, MATH),
    K("how much", MTH, MATH),
    K("how far", MTH, MATH),
    K("how long", MTH, MATH),
    K("per", MTH, MATH),
    K("each", MTH, MATH),
    K("twice", MTH | REL, MATH),
    K("half", MTH | REL, MATH),
    K("digit", MTH, MATH),
    K("prime", MTH, MATH),
    K("polynomial", MTH, MATH),
    K("matrix", MTH, MATH),
    K("vector", MTH, MATH),
    K("algebra", MTH, MATH),
    K("geometry", MTH, MATH),
    K("triangle", MTH, MATH),
    K("angle", MTH, MATH),
    K("area", MTH, MATH),
    K("perimeter", MTH, MATH),
    K("radius", MTH, MATH),
    K("diameter", MTH, MATH),
    K("circle", MTH, MATH),
    K("square root", MTH, MATH),
    K("logarithm", MTH, MATH),
    K("exponent", MTH, MATH),
    K("exponential", MTH, MATH),
    K("factorial", MTH, MATH),
    K("modulo", MTH, MATH),
    K("integer", MTH, MATH),
    K("real number", MTH, MATH),
    K("rational", MTH, MATH),
    K("irrational", MTH, MATH),
    K("inequality", MTH, MATH),
    K("solve for", MTH, MATH),
    K("value of", MTH, MATH),
    K("slope", MTH, MATH),
    K("coordinate", MTH, MATH),
    K("series", MTH, MATH),
    K("converge", MTH, MATH),
    K("arithmetic", MTH, MATH),
    K("combinatoric", MTH, MATH),
    K("permutation", MTH, MATH),
    K("combination", MTH, MATH),
    K("subgroup", MTH, MATH),
    K("homomorphism", MTH, MATH),
    K("isomorphism", MTH, MATH),
    K("statistic", MTH, ANALYSIS),
    K("statistical", MTH, ANALYSIS),
    K("variance", MTH, ANALYSIS),
    K("standard deviation", MTH, ANALYSIS),
    K("regression", MTH, ANALYSIS),
    K("correlation", MTH, ANALYSIS),
    K("distribution", MTH, ANALYSIS),
    K("expected value", MTH, MATH),
    K("random variable", MTH, MATH),

    /* science */
    K("science", 0, SCIENCE),
    K("scientific", 0, SCIENCE),
    K("physics", 0, SCIENCE),
    K("chemistry", 0, SCIENCE),
    K("biology", 0, SCIENCE),
    K("photosynthesis", 0, SCIENCE),
    K("cell", 0, SCIENCE),
    K("molecule", 0, SCIENCE),
    K("molecular", 0, SCIENCE),
    K("atom", 0, SCIENCE),
    K("atomic", 0, SCIENCE),
    K("electron", 0, SCIENCE),
    K("proton", 0, SCIENCE),
    K("neutron", 0, SCIENCE),
    K("photon", 0, SCIENCE),
    K("energy", 0, SCIENCE),
    K("force", 0, SCIENCE),
    K("gravity", 0, SCIENCE),
    K("velocity", 0, SCIENCE),
    K("acceleration", 0, SCIENCE),
    K("momentum", 0, SCIENCE),
    K("mass", 0, SCIENCE),
    K("quantum", XPT, SCIENCE),
    K("relativity", 0, SCIENCE),
    K("thermodynamics", 0, SCIENCE),
    K("entropy", 0, SCIENCE),
    K("enzyme", 0, SCIENCE),
    K("protein", 0, SCIENCE),
    K("dna", 0, SCIENCE),
    K("rna", 0, SCIENCE),
    K("gene", 0, SCIENCE),
    K("genetic", 0, SCIENCE),
    K("evolution", 0, SCIENCE),
    K("species", 0, SCIENCE),
    K("organism", 0, SCIENCE),
    K("ecosystem", 0, SCIENCE),
    K("climate", 0, SCIENCE),
    K("planet", 0, SCIENCE),
    K("star", 0, SCIENCE),
    K("galaxy", 0, SCIENCE),
    K("orbit", 0, SCIENCE),
    K("chemical", 0, SCIENCE),
    K("reaction", 0, SCIENCE),
    K("compound", 0, SCIENCE),
    K("acid", 0, SCIENCE),
    K("element", 0, SCIENCE),
    K("electric", 0, SCIENCE),
    K("magnetic", 0, SCIENCE),
    K("circuit", 0, SCIENCE),
    K("voltage", 0, SCIENCE),
    K("wavelength", 0, SCIENCE),
    K("frequency", 0, SCIENCE),
    K("particle", 0, SCIENCE),
    K("nucleus", 0, SCIENCE),
    K("mitosis", 0, SCIENCE),
    K("bacteria", 0, SCIENCE),
    K("oxygen", 0, SCIENCE),
    K("carbon", 0, SCIENCE),
    K("hydrogen", 0, SCIENCE),
    K("nitrogen", 0, SCIENCE),
    K("catalyst", 0, SCIENCE),
    K("metabolism", 0, SCIENCE),
    K("neuron", 0, SCIENCE),
    K("astronomy", 0, SCIENCE),
    K("geology", 0, SCIENCE),
    K("temperature", 0, SCIENCE),
    K("experiment", 0, SCIENCE),
    K("hypothesis", 0, SCIENCE),

    /* analysis */
    K("analysis", CPX, ANALYSIS),
    K("data", 0, ANALYSIS),
    K("dataset", 0, ANALYSIS),
    K("trend", 0, ANALYSIS),
    K("report", 0, ANALYSIS),
    K("metric", 0, ANALYSIS),
    K("kpi", 0, ANALYSIS),
    K("insight", 0, ANALYSIS),
    K("spreadsheet", 0, ANALYSIS),
    K("csv", 0, ANALYSIS),
    K("chart", 0, ANALYSIS),
    K("forecast", 0, ANALYSIS),
    K("survey", 0, ANALYSIS),
    K("sample", 0, ANALYSIS),
    K("significance", 0, ANALYSIS),
    K("p value", 0, ANALYSIS),
    K("cohort", 0, ANALYSIS),
    K("churn", 0, ANALYSIS),
    K("market", 0, ANALYSIS),
    K("competitor", 0, ANALYSIS),
    K("swot", 0, ANALYSIS),
    K("segmentation", 0, ANALYSIS),
    K("dashboard", 0, ANALYSIS),
    K("benchmark", 0, ANALYSIS),
    K("root cause analysis", CPX, ANALYSIS),

    /* medical */
    K("medical", 0, MEDICAL),
    K("medicine", 0, MEDICAL),
    K("doctor", 0, MEDICAL),
    K("physician", 0, MEDICAL),
    K("patient", 0, MEDICAL),
    K("symptom", 0, MEDICAL),
    K("diagnosis", STK, MEDICAL),
    K("diagnose", STK, MEDICAL),
    K("dosage", STK, MEDICAL),
    K("dose", STK, MEDICAL),
    K("overdose", STK, MEDICAL),
    K("prescription", STK, MEDICAL),
    K("prescribe", STK, MEDICAL),
    K("medication", STK, MEDICAL),
    K("treatment", STK, MEDICAL),
    K("surgery", STK, MEDICAL),
    K("side effect", STK, MEDICAL),
    K("contraindication", STK, MEDICAL),
    K("drug interaction", STK, MEDICAL),
    K("chest pain", STK, MEDICAL),
    K("pregnant", STK, MEDICAL),
    K("therapy", 0, MEDICAL),
    K("drug", 0, MEDICAL),
    K("disease", 0, MEDICAL),
    K("illness", 0, MEDICAL),
    K("infection", 0, MEDICAL),
    K("fever", 0, MEDICAL),
    K("pain", 0, MEDICAL),
    K("cancer", 0, MEDICAL),
    K("tumor", 0, MEDICAL),
    K("diabetes", 0, MEDICAL),
    K("blood", 0, MEDICAL),
    K("blood pressure", 0, MEDICAL),
    K("heart", 0, MEDICAL),
    K("ibuprofen", 0, MEDICAL),
    K("acetaminophen", 0, MEDICAL),
    K("paracetamol", 0, MEDICAL),
    K("aspirin", 0, MEDICAL),
    K("antibiotic", 0, MEDICAL),
    K("vaccine", 0, MEDICAL),
    K("virus", 0, MEDICAL),
    K("allergy", 0, MEDICAL),
    K("allergic", 0, MEDICAL),
    K("clinical", 0, MEDICAL),
    K("hospital", 0, MEDICAL),
    K("nurse", 0, MEDICAL),
    K("mg", 0, MEDICAL),
    K("emergency", 0, MEDICAL),
    K("rash", 0, MEDICAL),
    K("headache", 0, MEDICAL),
    K("cough", 0, MEDICAL),
    K("injury", 0, MEDICAL),
    K("chronic", 0, MEDICAL),
    K("syndrome", 0, MEDICAL),
    K("disorder", 0, MEDICAL),
    K("mental health", 0, MEDICAL),
    K("depression", 0, MEDICAL),
    K("anxiety", 0, MEDICAL),
    K("insulin", 0, MEDICAL),
    K("cholesterol", 0, MEDICAL),
    K("hypertension", 0, MEDICAL),
    K("anatomy", 0, MEDICAL),
    K("nutrition", 0, MEDICAL),

    /* legal */
    K("law", 0, LEGAL),
    K("legal", 0, LEGAL),
    K("lawyer", 0, LEGAL),
    K("attorney", 0, LEGAL),
    K("court", 0, LEGAL),
    K("judge", 0, LEGAL),
    K("lawsuit", STK, LEGAL),
    K("liability", STK, LEGAL),
    K("liable", STK, LEGAL),
    K("contract", STK, LEGAL),
    K("clause", STK, LEGAL),
    K("compliance", STK, LEGAL),
    K("compliant", STK, LEGAL),
    K("gdpr", STK, LEGAL),
    K("hipaa", STK, LEGAL),
    K("ccpa", STK, LEGAL),
    K("regulatory", STK, LEGAL),
    K("infringement", STK, LEGAL),
    K("litigation", STK, LEGAL),
    K("nda", STK, LEGAL),
    K("legal advice", STK, LEGAL),
    K("indemnity", STK, LEGAL),
    K("indemnification", STK, LEGAL),
    K("custody", STK, LEGAL),
    K("divorce", STK, LEGAL),
    K("immigration", STK, LEGAL),
    K("subpoena", STK, LEGAL),
    K("agreement", 0, LEGAL),
    K("regulation", 0, LEGAL),
    K("statute", 0, LEGAL),
    K("legislation", 0, LEGAL),
    K("copyright", 0, LEGAL),
    K("trademark", 0, LEGAL),
    K("patent", 0, LEGAL),
    K("plaintiff", 0, LEGAL),
    K("defendant", 0, LEGAL),
    K("tort", 0, LEGAL),
    K("negligence", 0, LEGAL),
    K("jurisdiction", 0, LEGAL),
    K("terms of service", 0, LEGAL),
    K("privacy policy", 0, LEGAL),
    K("warranty", 0, LEGAL),
    K("lease", 0, LEGAL),
    K("tenant", 0, LEGAL),
    K("landlord", 0, LEGAL),
    K("criminal", 0, LEGAL),
    K("felony", 0, LEGAL),
    K("constitutional", 0, LEGAL),
    K("precedent", 0, LEGAL),
    K("evidence", 0, LEGAL),
    K("testimony", 0, LEGAL),
    K("statutory", 0, LEGAL),
    K("prosecution", 0, LEGAL),

    /* finance */
    K("finance", 0, FINANCE),
    K("financial", 0, FINANCE),
    K("money", 0, FINANCE),
    K("invest", STK, FINANCE),
    K("investment", STK, FINANCE),
    K("portfolio", STK, FINANCE),
    K("retirement", STK, FINANCE),
    K("mortgage", STK, FINANCE),
    K("loan", STK, FINANCE),
    K("tax", STK, FINANCE),
    K("audit", STK, FINANCE),
    K("capital gain", STK, FINANCE),
    K("fiduciary", STK, FINANCE),
    K("financial advice", STK, FINANCE),
    K("bankruptcy", STK, FINANCE),
    K("investing", 0, FINANCE),
    K("stock", 0, FINANCE),
    K("bond", 0, FINANCE),
    K("etf", 0, FINANCE),
    K("fund", 0, FINANCE),
    K("ira", 0, FINANCE),
    K("roth", 0, FINANCE),
    K("pension", 0, FINANCE),
    K("debt", 0, FINANCE),
    K("credit", 0, FINANCE),
    K("interest rate", 0, FINANCE),
    K("irs", 0, FINANCE),
    K("deduction", 0, FINANCE),
    K("accounting", 0, FINANCE),
    K("budget", 0, FINANCE),
    K("revenue", 0, FINANCE),
    K("profit", 0, FINANCE),
    K("cash flow", 0, FINANCE),
    K("valuation", 0, FINANCE),
    K("equity", 0, FINANCE),
    K("dividend", 0, FINANCE),
    K("crypto", 0, FINANCE),
    K("bitcoin", 0, FINANCE),
    K("bank", 0, FINANCE),
    K("insurance", 0, FINANCE),
    K("inflation", 0, FINANCE),
    K("securities", 0, FINANCE),
    K("trading", 0, FINANCE),
    K("hedge", 0, FINANCE),
    K("ebitda", 0, FINANCE),
    K("balance sheet", 0, FINANCE),
    K("income statement", 0, FINANCE),
    K("depreciation", 0, FINANCE),
    K("liability account", 0, FINANCE),

    /* creative */
    K("poem", GEN, CREATIVE),
    K("poetry", GEN, CREATIVE),
    K("story", GEN, CREATIVE),
    K("stories", GEN, CREATIVE),
    K("fiction", GEN, CREATIVE),
    K("novel", GEN, CREATIVE),
    K("character", 0, CREATIVE),
    K("plot", 0, CREATIVE),
    K("haiku", GEN, CREATIVE),
    K("limerick", GEN, CREATIVE),
    K("lyric", GEN, CREATIVE),
    K("song", GEN, CREATIVE),
    K("rhyme", GEN, CREATIVE),
    K("sonnet", GEN, CREATIVE),
    K("screenplay", GEN, CREATIVE),
    K("dialogue", GEN, CREATIVE),
    K("creative", GEN, CREATIVE),
    K("imaginative", GEN, CREATIVE),
    K("fantasy", GEN, CREATIVE),
    K("narrative", GEN, CREATIVE),
    K("slogan", GEN, CREATIVE),
    K("tagline", GEN, CREATIVE),
    K("joke", GEN, CREATIVE),
    K("riddle", GEN, CREATIVE),
    K("metaphor", 0, CREATIVE),
    K("fairy tale", GEN, CREATIVE),
    K("blog post", GEN, CREATIVE),
    K("caption", GEN, CREATIVE),
    K("vivid", GEN, CREATIVE),
    K("imagery", GEN, CREATIVE),
    K("short story", GEN, CREATIVE),
    K("bedtime story", GEN, CREATIVE),
    K("fan fiction", GEN, CREATIVE),
    K("fable", GEN, CREATIVE),
    K("ballad", GEN, CREATIVE),
    K("verse", GEN, CREATIVE),
    K("monologue", GEN, CREATIVE),
    K("rhyming", GEN, CREATIVE),
    K("whimsical", GEN, CREATIVE),
    K("captivating", GEN, CREATIVE),

    /*
     * Creative writing and role play, which a small model does about as
     * well as a large one: a genre counts when one of these verbs asks
     * for it ("Write a short story ...", "Compose a poem ..."), a role
     * when it is asked ("Pretend you are ...", "Please act as ...").
     */
    K("compose", CMP, GENERAL),
    K("craft", CMP, GENERAL),
    K("create", CMP, GENERAL),
    K("tell", CMP, GENERAL),
    K("invent", CMP, GENERAL),
    K("come up with", CMP, GENERAL),
    K("generate", CMP, GENERAL),
    K("act as", PER, GENERAL),
    K("pretend", PER, GENERAL),
    K("imagine you are", PER, GENERAL),
    K("imagine you're", PER, GENERAL),
    K("imagine yourself", PER, GENERAL),
    K("picture yourself", PER, GENERAL),
    K("role play", PER, GENERAL),
    K("roleplay", PER, GENERAL),
    K("assume the role", PER, GENERAL),
    K("play the role", PER, GENERAL),
    K("take on the role", PER, GENERAL),
    K("persona", PER, GENERAL),
    K("embody", PER, GENERAL),
    K("in the style of", PER, GENERAL),
    K("stay in character", PER, GENERAL),
    K("you are now", PER, GENERAL),

    /* humanities */
    K("history", 0, HUMANITIES),
    K("historical", 0, HUMANITIES),
    K("philosophy", 0, HUMANITIES),
    K("philosophical", 0, HUMANITIES),
    K("philosopher", 0, HUMANITIES),
    K("ethics", 0, HUMANITIES),
    K("ethical", 0, HUMANITIES),
    K("moral", 0, HUMANITIES),
    K("morally", 0, HUMANITIES),
    K("literature", 0, HUMANITIES),
    K("literary", 0, HUMANITIES),
    K("religion", 0, HUMANITIES),
    K("religious", 0, HUMANITIES),
    K("culture", 0, HUMANITIES),
    K("cultural", 0, HUMANITIES),
    K("politics", 0, HUMANITIES),
    K("political", 0, HUMANITIES),
    K("sociology", 0, HUMANITIES),
    K("psychology", 0, HUMANITIES),
    K("anthropology", 0, HUMANITIES),
    K("art", 0, HUMANITIES),
    K("war", 0, HUMANITIES),
    K("empire", 0, HUMANITIES),
    K("revolution", 0, HUMANITIES),
    K("century", 0, HUMANITIES),
    K("ancient", 0, HUMANITIES),
    K("medieval", 0, HUMANITIES),
    K("renaissance", 0, HUMANITIES),
    K("civilization", 0, HUMANITIES),
    K("government", 0, HUMANITIES),
    K("democracy", 0, HUMANITIES),
    K("linguistics", 0, HUMANITIES),
    K("grammar", 0, HUMANITIES),
    K("author", 0, HUMANITIES),
};

#undef K
#undef GRT
#undef SMP
#undef EXP
#undef CPX
#undef XPT
#undef CON
#undef STP
#undef MUL
#undef COD
#undef MTH
#undef STK
#undef RSN
#undef REQ
#undef OPN
#undef REL
#undef PER
#undef GEN
#undef CMP


static const char  *const llmr_feature_names[LLMR_F_N] = {
    [LLMR_F_LENGTH] = "length",
    [LLMR_F_GREETING] = "greeting",
    [LLMR_F_SIMPLE_ASK] = "simple_ask",
    [LLMR_F_EXPLAIN] = "explain",
    [LLMR_F_COMPLEX_ASK] = "complex_ask",
    [LLMR_F_EXPERT_ASK] = "expert_ask",
    [LLMR_F_CONSTRAINTS] = "constraints",
    [LLMR_F_STEPS] = "steps",
    [LLMR_F_MULTI_PART] = "multi_part",
    [LLMR_F_REASON_WORDS] = "reason_words",
    [LLMR_F_CODE] = "code",
    [LLMR_F_MATH] = "math",
    [LLMR_F_NUMBERS] = "numbers",
    [LLMR_F_VOCAB] = "vocab",
    [LLMR_F_HIGH_STAKES] = "high_stakes",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_GENERAL] = "domain_general",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_CODE] = "domain_code",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_MATH] = "domain_math",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_SCIENCE] = "domain_science",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_ANALYSIS] = "domain_analysis",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_MEDICAL] = "domain_medical",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_LEGAL] = "domain_legal",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_FINANCE] = "domain_finance",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_CREATIVE] = "domain_creative",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_HUMANITIES] = "domain_humanities",
    [LLMR_F_REASONING] = "reasoning",
    [LLMR_F_IMAGES] = "images",
    [LLMR_F_TOOLS] = "tools",
    [LLMR_F_TOOL_RESULTS] = "tool_results",
    [LLMR_F_TURNS] = "turns",
    [LLMR_F_CONTEXT] = "context",
    [LLMR_F_CONTEXT_ASK] = "context_ask",
    [LLMR_F_LONG_OUTPUT] = "long_output",
    [LLMR_F_SHORT_OUTPUT] = "short_output",
    [LLMR_F_JSON_OUTPUT] = "json_output",
    [LLMR_F_SENTENCES] = "sentences",
    [LLMR_F_QUESTIONS] = "questions",
    [LLMR_F_LIST_ITEMS] = "list_items",
    [LLMR_F_LINES] = "lines",
    [LLMR_F_MATH_OPS] = "math_ops",
    [LLMR_F_NUMBER_SHARE] = "number_share",
    [LLMR_F_LONG_SHARE] = "long_share",
    [LLMR_F_WORD_BYTES] = "word_bytes",
    [LLMR_F_NONASCII_SHARE] = "nonascii_share",
    [LLMR_F_CONDITIONS] = "conditions",
    [LLMR_F_MATH_WORDS] = "math_words",
    [LLMR_F_CODE_WORDS] = "code_words",
    [LLMR_F_DOMAIN_WORDS] = "domain_words",
    [LLMR_F_SYSTEM] = "system",
    [LLMR_F_RELATIONS] = "relations",
    [LLMR_F_CREATIVE] = "creative",
    [LLMR_F_OPEN_MATH] = "open_math"
};


/*
 * The keyword table and its filters are filled once, on first use, and
 * only read after: pthread_once() makes that safe in threaded callers,
 * and llmr_features_init() lets a server fill them before it forks.
 */

static llmr_kw_slot_t   llmr_kw_table[LLMR_KW_SLOTS];
static uint64_t         llmr_kw_first[LLMR_KW_FILTER_BITS / 64];
static uint64_t         llmr_kw_pair[LLMR_KW_FILTER_BITS / 64];
static uint64_t         llmr_kw_more[LLMR_KW_FILTER_BITS / 64];
static size_t           llmr_kw_used;
static pthread_once_t   llmr_kw_once = PTHREAD_ONCE_INIT;


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


static uint64_t
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


static const llmr_kw_slot_t *
llmr_kw_get(void)
{
    (void) pthread_once(&llmr_kw_once, llmr_kw_build);

    return llmr_kw_table;
}


static void
llmr_kw_build(void)
{
    size_t                i, n, len, hl, f;
    uint64_t              key, wkey, raw8[2], prev8[2];
    unsigned              c, classes;
    unsigned char         buf[LLMR_KW_TEXT_MAX + 16], *p, *w,
                          form[LLMR_WORD_HASHED + 16];
    const llmr_kw_def_t  *def;

    for (i = 0; i < sizeof(llmr_kw_list) / sizeof(llmr_kw_def_t); i++) {
        def = &llmr_kw_list[i];

        len = strlen(def->text);

        if (len > LLMR_KW_TEXT_MAX) {
            /* the unit test checks that this never happens */
            continue;
        }

        /*
         * The same word rules as the scanner, on a plain phrase: one
         * word is found alone, two by the pair filter at the second
         * word, more as a phrase under way from there.
         */

        memset(buf, 0, sizeof(buf));
        memcpy(buf, def->text, len);

        key = 0;
        prev8[0] = 0;
        prev8[1] = 0;
        n = 0;
        w = NULL;

        for (p = buf; /* void */ ; p++) {
            c = *p;

            if ((llmr_ctype[c] & LLMR_C_WORD)
                || (c == '\'' && w && (llmr_ctype[p[1]] & LLMR_C_ALPHA)))
            {
                if (w == NULL) {
                    w = p;
                }

                continue;
            }

            if (w) {
                hl = llmr_word_stem(w, p - w);
                wkey = llmr_key_mix(llmr_word_raw(w, hl));

                /* the forms as written: the stem, and the stem + 's' */

                memset(form, 0, sizeof(form));
                memcpy(form, w, hl);
                form[hl] = 's';
                raw8[0] = llmr_word_raw8(form, hl);
                raw8[1] = llmr_word_raw8(form, hl + 1);

                if (n == 0) {
                    key = wkey;

                } else {
                    if (n > 1) {
                        llmr_kw_insert(key, LLMR_KW_PREFIX,
                                       LLMR_DOMAIN_GENERAL);
                    }

                    key = llmr_key_pair(key, wkey);

                    if (n == 1) {
                        for (f = 0; f < 4; f++) {
                            llmr_kw_filter_set(llmr_kw_pair,
                                               llmr_pair8(prev8[f / 2],
                                                          raw8[f % 2]));
                        }

                    } else {
                        llmr_kw_filter_set(llmr_kw_more, key);
                    }
                }

                prev8[0] = raw8[0];
                prev8[1] = raw8[1];
                n++;
                w = NULL;
            }

            if (c == '\0') {
                break;
            }
        }

        if (n == 0) {
            continue;
        }

        if (n == 1) {
            llmr_kw_filter_set(llmr_kw_first, prev8[0]);
            llmr_kw_filter_set(llmr_kw_first, prev8[1]);
        }

        classes = def->classes & ~LLMR_KW_PREFIX;
        llmr_kw_insert(key, classes, def->domain);
    }

    /* a lone x, y or z is read too: it is most likely a variable */

    for (c = 'x'; c <= 'z'; c++) {
        memset(buf, 0, sizeof(buf));
        buf[0] = (unsigned char) c;
        llmr_kw_filter_set(llmr_kw_first, llmr_word_raw8(buf, 1));
    }
}


static void
llmr_kw_insert(uint64_t key, unsigned classes, int domain)
{
    uint32_t         i;
    llmr_kw_slot_t  *e;

    i = (uint32_t) key & (LLMR_KW_SLOTS - 1);

    for ( ;; ) {
        e = &llmr_kw_table[i];

        if (!e->used) {
            break;
        }

        if (e->check == (uint32_t) (key >> 32)) {
            e->classes |= classes;

            if (e->domain == LLMR_DOMAIN_GENERAL) {
                e->domain = (unsigned) domain;
            }

            return;
        }

        i = (i + 1) & (LLMR_KW_SLOTS - 1);
    }

    if (llmr_kw_used >= LLMR_KW_SLOTS / 2) {
        /* the unit test checks that this never happens */
        return;
    }

    e->check = (uint32_t) (key >> 32);
    e->classes = classes;
    e->domain = (unsigned) domain;
    e->used = 1;
    llmr_kw_used++;
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


/* counts a match; returns its classes */

static unsigned
llmr_kw_hit(llmr_text_stats_t *st, const llmr_kw_slot_t *e, unsigned ask)
{
    unsigned  i, bits, classes;

    classes = e->classes & ~LLMR_KW_PREFIX;

    for (i = 0, bits = classes; bits && i < LLMR_KW_N; i++, bits >>= 1) {
        if (bits & 1) {
            st->kw[i]++;

            if (ask) {
                st->kw_ask[i]++;
            }
        }
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


/* whether a bit of a mask is set in [from, to) */

static int
llmr_mask_any(const llmr_scan_t *s, int ask, size_t from, size_t to)
{
    size_t    i;
    uint64_t  m, lo, hi;

    if (from >= to) {
        return 0;
    }

    i = from / 64;

    if (i == (to - 1) / 64) {
        /* most often: in one block */
        m = ask ? s->blocks[i].ask : s->blocks[i].brk;
        m >>= from % 64;
        m &= ~0ULL >> (63 - (to - 1 - from));

        return m != 0;
    }

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
    unsigned              gshift;
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
                    s->hits[nh++] = (prevs << 16) | pos;
                }
            }

            /*
             * The grams of the learned layer: the word (its first 8
             * bytes and its length, any number alike) and the pair with
             * the word before it, hashed to 32 bits.
             */

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
    size_t                h, pos, prev, prev2, len, plen, pend, last, last2;
    unsigned              ask, prev_ask, set, last_set, last2_set, brk;
    uint64_t              raw8, prev8, hit;
    const unsigned char  *p, *q;

    s->nactive = 0;

    last = LLMR_NO_WORD;
    last2 = LLMR_NO_WORD;
    last_set = 0;
    last2_set = 0;
    h = 0;

    for ( ;; ) {
        if (s->nactive && last != LLMR_NO_WORD
            && (pos = llmr_next_word(s, llmr_word_end(s, last)))
               != LLMR_NO_WORD)
        {
            /* a phrase goes on */
            prev = last;
            prev2 = last2;

            while (h < nh && (s->hits[h] & 0xffff) <= pos) {
                h++;
            }

        } else if (h < nh) {
            hit = s->hits[h++];
            pos = hit & 0xffff;
            prev = (hit >> 16) & 0xffff;
            prev2 = (hit >> 32) & 0xffff;

        } else {
            break;
        }

        p = text + pos;
        len = llmr_word_end(s, pos) - pos;

        /* the word before, and what is between */

        q = NULL;
        plen = 0;
        pend = 0;

        if (prev != LLMR_NO_WORD) {
            q = text + prev;
            pend = llmr_word_end(s, prev);
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
            prev_ask = llmr_mask_any(s, 1, llmr_word_end(s, prev2), prev)
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
        last2_set = last_set;
        last = pos;
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


void
llmr_features_extract(const llmr_request_t *req, llmr_features_t *f,
    const llmr_grams_t *gm, uint32_t *grams, size_t max_grams,
    size_t *ngrams)
{
    int                       i, best;
    double                    d[LLMR_DOMAIN_N], units, full, code, math,
                              words, content;
    unsigned                  n[LLMR_KW_N];
    const llmr_text_stats_t  *u, *sy, *hi;

    /* the text stats are zeroed by llmr_text_scan(), the rest here */

    f->units = 0;
    f->code = 0;
    f->math = 0;
    f->domain_score = 0;
    f->domain = LLMR_DOMAIN_GENERAL;
    f->domain_from_user = 0;
    f->task = 0;
    f->high_stakes = 0;
    f->empty = 0;

    memset(f->x, 0, sizeof(f->x));
    f->x[LLMR_F_DOMAIN + LLMR_DOMAIN_GENERAL] = 1;
    f->x[LLMR_F_LENGTH] = -4;

    if (req == NULL) {
        llmr_text_scan(NULL, 0, &f->user, grams, max_grams, ngrams);
        llmr_text_scan(NULL, 0, &f->system, NULL, 0, NULL);
        llmr_text_scan(NULL, 0, &f->history, NULL, 0, NULL);
        f->empty = 1;
        return;
    }

    llmr_text_scan_window(req->last_user.data, req->last_user.len,
                          LLMR_USER_HEAD, LLMR_USER_TAIL,
                          LLMR_USER_FULL_HEAD, LLMR_USER_FULL_TAIL, gm,
                          &f->user, grams, max_grams, ngrams);
    llmr_text_scan_window(req->system.data, req->system.len,
                          LLMR_CONTEXT_TEXT, 0, LLMR_CONTEXT_FULL, 0, NULL,
                          &f->system, NULL, 0, NULL);
    llmr_text_scan_window(req->history.data, req->history.len,
                          0, LLMR_CONTEXT_TEXT, 0, LLMR_CONTEXT_FULL, NULL,
                          &f->history, NULL, 0, NULL);

    u = &f->user;
    sy = &f->system;
    hi = &f->history;

    f->empty = (u->words == 0 && req->images == 0);

    /*
     * Length in words; bytes / 8 stands in for scripts written without
     * blanks, and a text cut by the extractor's caps (or the scan limit)
     * is extrapolated to its full size.
     */

    units = u->words;

    if (units < u->bytes / 8.0) {
        units = u->bytes / 8.0;
    }

    full = req->last_user_bytes;

    if (full < req->last_user.len) {
        full = req->last_user.len;
    }

    if (u->bytes && full > u->bytes) {
        units *= full / u->bytes;
    }

    f->units = units;

    /* code and math notation */

    code = 2.0 * u->code_fences + u->code_lines + 0.5 * u->code_ops
           + 0.25 * u->brackets + 0.25 * u->code_ticks;
    math = u->math_ops + 2.0 * u->latex + u->math_syms;

    if (code >= 2) {
        /* in code, "i += 1" and "a[i] <= b[j]" are not math */
        math = 2.0 * u->latex + u->math_syms;
    }

    /*
     * A task: something is asked (a keyword in an asking position, an
     * explicit request) or there is code to work on.  In a task every
     * keyword counts; without one only the asking ones do, so that a
     * passage about a design or a theorem is not taken for a design or
     * proof task.
     */

    f->task = (u->kw_ask[LLMR_KW_EXPLAIN_I] + u->kw_ask[LLMR_KW_COMPLEX_I]
               + u->kw_ask[LLMR_KW_EXPERT_I] + u->kw_ask[LLMR_KW_MATH_I]
               + u->kw[LLMR_KW_REQUEST_I] > 0)
              || code >= 2;

    for (i = 0; i < LLMR_KW_N; i++) {
        n[i] = f->task ? u->kw[i] : u->kw_ask[i];
    }

    /* notation counts when there is enough of it, vocabulary half */

    f->code = (code >= 2 ? code : 0) + 0.5 * n[LLMR_KW_CODE_I];
    f->math = (math >= 2 ? math : 0) + 0.5 * n[LLMR_KW_MATH_I];

    /* the domain: the last user turn first, else the conversation */

    for (i = 0; i < LLMR_DOMAIN_N; i++) {
        d[i] = u->dom[i];
    }

    d[LLMR_DOMAIN_CODE] += code;
    d[LLMR_DOMAIN_MATH] += math;

    if (u->numbers >= 3) {
        d[LLMR_DOMAIN_MATH] += 0.25 * (u->numbers < 8 ? u->numbers : 8);
    }

    best = LLMR_DOMAIN_GENERAL;

    for (i = 1; i < LLMR_DOMAIN_N; i++) {
        if (d[i] > d[best]) {
            best = i;
        }
    }

    if (d[best] >= 1.0) {
        f->domain = best;
        f->domain_from_user = 1;

    } else {
        for (i = 0; i < LLMR_DOMAIN_N; i++) {
            d[i] = 0.5 * sy->dom[i] + 0.25 * hi->dom[i];
        }

        d[LLMR_DOMAIN_CODE] += 0.25 * (2.0 * hi->code_fences
                                       + hi->code_lines);

        best = LLMR_DOMAIN_GENERAL;

        for (i = 1; i < LLMR_DOMAIN_N; i++) {
            if (d[i] > d[best]) {
                best = i;
            }
        }

        if (d[best] >= 1.0) {
            f->domain = best;
        }
    }

    f->domain_score = d[f->domain];

    if (f->domain_from_user
        && (f->domain == LLMR_DOMAIN_MEDICAL || f->domain == LLMR_DOMAIN_LEGAL
            || f->domain == LLMR_DOMAIN_FINANCE)
        && u->stakes[f->domain])
    {
        f->high_stakes = 1;
    }

    /* the vector */

    f->x[LLMR_F_LENGTH] = llmr_log2p(units) - 4;

    content = u->kw[LLMR_KW_EXPLAIN_I] + u->kw[LLMR_KW_COMPLEX_I]
              + u->kw[LLMR_KW_EXPERT_I] + u->kw[LLMR_KW_CONSTRAINT_I]
              + u->kw[LLMR_KW_STEP_I] + u->kw[LLMR_KW_CODE_I]
              + u->kw[LLMR_KW_MATH_I] + u->kw[LLMR_KW_STAKES_I]
              + u->kw[LLMR_KW_REASON_I] + code + math;

    if (u->kw[LLMR_KW_GREETING_I] && content == 0) {
        /* a greeting and not much else */
        f->x[LLMR_F_GREETING] =
            llmr_clamp01(1 - (units - 3.0 * u->kw[LLMR_KW_GREETING_I]) / 4);
    }

    if (u->kw[LLMR_KW_SIMPLE_I] && u->kw[LLMR_KW_COMPLEX_I] == 0
        && u->kw[LLMR_KW_EXPERT_I] == 0 && u->kw[LLMR_KW_STAKES_I] == 0)
    {
        f->x[LLMR_F_SIMPLE_ASK] = llmr_clamp01(1 - (units - 8) / 16);
    }

    f->x[LLMR_F_EXPLAIN] = llmr_log2p(n[LLMR_KW_EXPLAIN_I]);
    f->x[LLMR_F_COMPLEX_ASK] = llmr_log2p(n[LLMR_KW_COMPLEX_I]);
    f->x[LLMR_F_EXPERT_ASK] = llmr_log2p(n[LLMR_KW_EXPERT_I]);
    f->x[LLMR_F_CONSTRAINTS] = llmr_log2p(n[LLMR_KW_CONSTRAINT_I]);
    f->x[LLMR_F_STEPS] = llmr_log2p(n[LLMR_KW_STEP_I]);
    f->x[LLMR_F_MULTI_PART] =
        llmr_log2p((u->questions > 1 ? u->questions - 1 : 0)
                   + n[LLMR_KW_MULTI_I] + (f->task ? u->list_items : 0));
    f->x[LLMR_F_REASON_WORDS] = llmr_log2p(n[LLMR_KW_REASON_I]);
    f->x[LLMR_F_CODE] = f->code / (f->code + 3);
    f->x[LLMR_F_MATH] = f->math / (f->math + 3);
    f->x[LLMR_F_NUMBERS] = llmr_log2p(u->numbers);
    f->x[LLMR_F_VOCAB] = llmr_log2p(u->long_words);
    f->x[LLMR_F_HIGH_STAKES] = f->high_stakes;

    f->x[LLMR_F_DOMAIN + LLMR_DOMAIN_GENERAL] = 0;
    f->x[LLMR_F_DOMAIN + f->domain] = 1;

    f->x[LLMR_F_REASONING] = req->reasoning;
    f->x[LLMR_F_IMAGES] = llmr_log2p(req->images);
    f->x[LLMR_F_TOOLS] = llmr_log2p(req->tools);
    f->x[LLMR_F_TOOL_RESULTS] = llmr_log2p(req->tool_results);
    f->x[LLMR_F_TURNS] = req->user_turns > 1 ? log2(req->user_turns) : 0;

    /* the earlier conversation: its size and its hard-task words */

    words = sy->words + hi->words;

    if (req->text_bytes > full && words < (req->text_bytes - full) / 6.0) {
        words = (req->text_bytes - full) / 6.0;
    }

    f->x[LLMR_F_CONTEXT] = llmr_log2p(words / 64);
    f->x[LLMR_F_CONTEXT_ASK] =
        llmr_log2p(0.5 * (sy->kw[LLMR_KW_COMPLEX_I] + sy->kw[LLMR_KW_EXPERT_I]
                          + sy->kw[LLMR_KW_CONSTRAINT_I]
                          + sy->kw[LLMR_KW_STEP_I])
                   + 0.25 * (hi->kw[LLMR_KW_COMPLEX_I]
                             + hi->kw[LLMR_KW_EXPERT_I]
                             + hi->kw[LLMR_KW_CONSTRAINT_I]
                             + hi->kw[LLMR_KW_STEP_I]));

    if (req->max_tokens > 1024) {
        f->x[LLMR_F_LONG_OUTPUT] = log2(req->max_tokens / 1024.0);

        if (f->x[LLMR_F_LONG_OUTPUT] > 4) {
            f->x[LLMR_F_LONG_OUTPUT] = 4;
        }
    }

    f->x[LLMR_F_SHORT_OUTPUT] = (req->max_tokens > 0
                                 && req->max_tokens <= 64);
    f->x[LLMR_F_JSON_OUTPUT] = req->json_output;

    /* the shape of the last turn, for the learned layer */

    f->x[LLMR_F_SENTENCES] = llmr_log2p(u->sentences);
    f->x[LLMR_F_QUESTIONS] = llmr_log2p(u->questions);
    f->x[LLMR_F_LIST_ITEMS] = llmr_log2p(u->list_items);
    f->x[LLMR_F_LINES] = llmr_log2p(u->lines);
    f->x[LLMR_F_MATH_OPS] = llmr_log2p(u->math_ops);

    if (u->words) {
        f->x[LLMR_F_NUMBER_SHARE] = (double) u->numbers / u->words;
        f->x[LLMR_F_LONG_SHARE] = (double) u->long_words / u->words;
        f->x[LLMR_F_WORD_BYTES] = u->bytes / (8.0 * u->words);

        if (f->x[LLMR_F_WORD_BYTES] > 4) {
            f->x[LLMR_F_WORD_BYTES] = 4;
        }
    }

    if (u->bytes) {
        f->x[LLMR_F_NONASCII_SHARE] = (double) u->nonascii / u->bytes;
    }

    f->x[LLMR_F_CONDITIONS] = llmr_log2p(u->kw[LLMR_KW_CONSTRAINT_I]
                                         + u->kw[LLMR_KW_STEP_I]);
    f->x[LLMR_F_MATH_WORDS] = llmr_log2p(u->kw[LLMR_KW_MATH_I]);
    f->x[LLMR_F_CODE_WORDS] = llmr_log2p(u->kw[LLMR_KW_CODE_I]);
    f->x[LLMR_F_DOMAIN_WORDS] = llmr_log2p(f->domain_score);
    f->x[LLMR_F_SYSTEM] = llmr_log2p(sy->words / 16.0);

    /*
     * Problem shape: quantities given through other ones; creative
     * writing or a role asked for; math to work out with no answer
     * choices to pick from (symbols between operators, not in code: an
     * equation, an inequality).
     */

    f->x[LLMR_F_RELATIONS] = llmr_log2p(u->kw[LLMR_KW_RELATION_I]
                                        + u->fractions);

    if (u->choices < 2 && f->code < 2) {
        /* not a choice ("D. Acts as a cofactor"), not code to write */
        f->x[LLMR_F_CREATIVE] =
            llmr_clamp01(u->kw_ask[LLMR_KW_PERSONA_I]
                         + (u->kw_ask[LLMR_KW_COMPOSE_I]
                            ? u->kw[LLMR_KW_GENRE_I]
                              + u->kw[LLMR_KW_PERSONA_I]
                            : 0));
    }

    if (u->choices < 2 && code < 2 && u->math_ops && u->math_syms) {
        f->x[LLMR_F_OPEN_MATH] = 1;
    }
}


static double
llmr_log2p(double v)
{
    return v > 0 ? log2(1 + v) : 0;
}


static double
llmr_clamp01(double v)
{
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}


void
llmr_features_init(void)
{
    (void) llmr_kw_get();
}


const char *
llmr_feature_name(int i)
{
    if (i < 0 || i >= LLMR_F_N) {
        return NULL;
    }

    return llmr_feature_names[i];
}


int
llmr_feature_index(const char *name, size_t len)
{
    int  i;

    for (i = 0; i < LLMR_F_N; i++) {
        if (strlen(llmr_feature_names[i]) == len
            && memcmp(llmr_feature_names[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


const llmr_kw_def_t *
llmr_kw_defs(size_t *n)
{
    *n = sizeof(llmr_kw_list) / sizeof(llmr_kw_def_t);

    return llmr_kw_list;
}


size_t
llmr_kw_table_used(size_t *slots)
{
    (void) llmr_kw_get();

    if (slots) {
        *slots = LLMR_KW_SLOTS;
    }

    return llmr_kw_used;
}
