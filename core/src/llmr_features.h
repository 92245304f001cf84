
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_FEATURES_H_INCLUDED_
#define _LLMR_FEATURES_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/classify.h>


/*
 * Feature extraction for the classifier, kept apart from the scoring so
 * that every scoring layer (the hand-set v1 weights, a learned logistic
 * regression) reads the same numbers: a request is scanned once into
 * llmr_features_t, whose dense vector x[] is then scored.
 *
 * The scan reads bounded windows of each text (see LLMR_USER_HEAD):
 * counts come from bit masks made 64 bytes at a time, the words of the
 * head and the tail of the window are matched against a keyword table
 * (a filter bit per word, a probe for the few that pass), multi-word
 * phrases are followed through prefix entries.  Nothing is allocated and
 * nothing global is written after the keyword table is built once.
 *
 * A keyword "asks" when it opens a sentence, a line or a clause after a
 * request ("Design a ...", "can you review ...", "please explain ..."):
 * kw_ask[] counts those apart, which tells a task from a topic ("the
 * design of the Parthenon").
 */


/* keyword classes, a bit mask per keyword */
#define LLMR_KW_GREETING        0x0001  /* hi, thanks, ok */
#define LLMR_KW_SIMPLE          0x0002  /* what is, define, capital */
#define LLMR_KW_EXPLAIN         0x0004  /* explain, compare, summarize */
#define LLMR_KW_COMPLEX         0x0008  /* design, optimize, trade-offs */
#define LLMR_KW_EXPERT          0x0010  /* prove, rigorous, consensus */
#define LLMR_KW_CONSTRAINT      0x0020  /* must, at most, without */
#define LLMR_KW_STEP            0x0040  /* step by step, then, finally */
#define LLMR_KW_MULTI           0x0080  /* also, additionally, as well as */
#define LLMR_KW_CODE            0x0100  /* code syntax and vocabulary */
#define LLMR_KW_MATH            0x0200  /* math vocabulary */
#define LLMR_KW_STAKES          0x0400  /* high stakes in its domain */
#define LLMR_KW_REASON          0x0800  /* think carefully, justify */
#define LLMR_KW_REQUEST         0x1000  /* please, can you, help me */
#define LLMR_KW_RELATION        0x2000  /* half, twice, more than */
#define LLMR_KW_PERSONA         0x4000  /* act as, pretend, imagine you */
#define LLMR_KW_GENRE           0x8000  /* story, poem, lyrics */
#define LLMR_KW_COMPOSE         0x10000 /* write, compose, tell */
#define LLMR_KW_OPENER          0x20000 /* then, also: an ask may follow */
#define LLMR_KW_PREFIX          0x40000 /* a phrase goes on (internal) */
#define LLMR_KW_ANCHOR          0x80000 /* code beyond doubt: a language,
                                           a tool, "write a function" */

#define LLMR_KW_N               17      /* classes counted in kw[] */

#define LLMR_KW_GREETING_I      0
#define LLMR_KW_SIMPLE_I        1
#define LLMR_KW_EXPLAIN_I       2
#define LLMR_KW_COMPLEX_I       3
#define LLMR_KW_EXPERT_I        4
#define LLMR_KW_CONSTRAINT_I    5
#define LLMR_KW_STEP_I          6
#define LLMR_KW_MULTI_I         7
#define LLMR_KW_CODE_I          8
#define LLMR_KW_MATH_I          9
#define LLMR_KW_STAKES_I        10
#define LLMR_KW_REASON_I        11
#define LLMR_KW_REQUEST_I       12
#define LLMR_KW_RELATION_I      13
#define LLMR_KW_PERSONA_I       14
#define LLMR_KW_GENRE_I         15
#define LLMR_KW_COMPOSE_I       16


/*
 * llmr_text_scan() reads at most this much of a text, and each of the
 * two parts of llmr_text_scan_window() is at most this long
 */
#define LLMR_SCAN_MAX           8192

/*
 * What a request costs at most: the first LLMR_USER_HEAD and the last
 * LLMR_USER_TAIL bytes of the last user turn are read (the first
 * LLMR_USER_FULL_HEAD and the last LLMR_USER_FULL_TAIL of those word by
 * word for the keywords, the rest counted 64 bytes at a time), and
 * LLMR_CONTEXT_TEXT bytes of the system prompt (its head) and of the
 * history (its tail).  The lengths come from the full sizes.  What a
 * prompt asks is said at its start or at its end (the task, then the
 * material; or the material, then the question): the middle of a long
 * paste adds cost, not evidence.
 */
#define LLMR_USER_HEAD          1024
#define LLMR_USER_TAIL          512
#define LLMR_USER_FULL_HEAD     384
#define LLMR_USER_FULL_TAIL     192
#define LLMR_CONTEXT_TEXT       1024
#define LLMR_CONTEXT_FULL       512

/*
 * Few-shot prompts: the last LLMR_FEWSHOT_SCAN bytes of the last user
 * turn are read line by line for worked answers ("Answer: B", "A: ..."
 * after "Q: ...", "Output: ..."); with LLMR_FEWSHOT_MIN of them or more
 * the turn is classified by what follows the last one.
 */
#define LLMR_FEWSHOT_SCAN       4096
#define LLMR_FEWSHOT_MIN        2
#define LLMR_FEWSHOT_MAX        8


/* what one pass over one text counts */

typedef struct {
    size_t                      bytes;          /* as scanned */
    unsigned                    words;
    unsigned                    long_words;     /* 10 bytes or more */
    unsigned                    numbers;        /* "42", "3.5", "1,000" */
    unsigned                    sentences;
    unsigned                    questions;      /* '?' */
    unsigned                    lines;          /* non-blank lines */
    unsigned                    list_items;     /* "- x", "2) x", "b. x" */
    unsigned                    indented;       /* lines led by 2+ blanks */
    unsigned                    code_fences;    /* ``` */
    unsigned                    code_ticks;     /* inline ` */
    unsigned                    code_lines;     /* lines ending ; { } */
    unsigned                    code_ops;       /* == != -> => :: && || */
    unsigned                    brackets;       /* { } [ ] ; */
    unsigned                    math_ops;       /* 3 + 4, x^2, a = b */
    unsigned                    latex;          /* \frac, $$ */
    unsigned                    math_syms;      /* unicode math, x, pi */
    unsigned                    fractions;      /* 3/4 */
    unsigned                    choices;        /* "B. x", "(c) x" lines */
    unsigned                    nonascii;       /* UTF-8 lead bytes */
    unsigned                    code_anchors;   /* LLMR_KW_ANCHOR hits */
    unsigned                    kw[LLMR_KW_N];  /* keyword hits by class */
    unsigned                    kw_ask[LLMR_KW_N];  /* those that ask */
    unsigned                    dom[LLMR_DOMAIN_N];     /* by domain */
    unsigned                    stakes[LLMR_DOMAIN_N];  /* high stakes */
    unsigned                    gram_n;         /* grams weighed */
    float                       gram_z;         /* their weights summed */
} llmr_text_stats_t;


/* the weights of the hashed grams: a gram's 32-bit hash >> (32 - bits) */

typedef struct {
    const float                *w;
    unsigned                    bits;
} llmr_grams_t;


/*
 * The dense feature vector; llmr_feature_name() names each slot.  The
 * keyword counts (explain .. reason words) are of the last user turn and
 * count every hit in a task, only the asking ones otherwise (see
 * kw_ask[]); they enter as log2(1 + hits).
 */

enum {
    LLMR_F_LENGTH = 0,          /* log2(1 + words) - 4: 0 at 15 words */
    LLMR_F_GREETING,            /* 0..1: a greeting and little else */
    LLMR_F_SIMPLE_ASK,          /* 0..1: a short lookup question */
    LLMR_F_EXPLAIN,             /* explain, compare, write */
    LLMR_F_COMPLEX_ASK,         /* design, analyze, trade-offs */
    LLMR_F_EXPERT_ASK,          /* prove, rigorous, consensus */
    LLMR_F_CONSTRAINTS,         /* must, at most, without */
    LLMR_F_STEPS,               /* step by step, then, finally */
    LLMR_F_MULTI_PART,          /* more questions, also, listed items */
    LLMR_F_REASON_WORDS,        /* think carefully, justify */
    LLMR_F_CODE,                /* 0..1: code notation and vocabulary */
    LLMR_F_MATH,                /* 0..1: math notation and vocabulary */
    LLMR_F_NUMBERS,             /* log2(1 + numbers) */
    LLMR_F_VOCAB,               /* log2(1 + words of 10 bytes or more) */
    LLMR_F_HIGH_STAKES,         /* 0/1 */
    LLMR_F_DOMAIN,              /* one-hot, LLMR_DOMAIN_N slots */
    LLMR_F_REASONING = LLMR_F_DOMAIN + LLMR_DOMAIN_N,  /* 0/1: asked for */
    LLMR_F_IMAGES,              /* log2(1 + images) */
    LLMR_F_TOOLS,               /* log2(1 + tool definitions) */
    LLMR_F_TOOL_RESULTS,        /* log2(1 + tool outputs) */
    LLMR_F_TURNS,               /* log2(user turns): 0 for one turn */
    LLMR_F_CONTEXT,             /* log2(1 + words / 64), system + history */
    LLMR_F_CONTEXT_ASK,         /* hard-task words in system + history */
    LLMR_F_LONG_OUTPUT,         /* log2(max_tokens / 1024), 0..4 */
    LLMR_F_SHORT_OUTPUT,        /* 0/1: max_tokens of 64 or less */
    LLMR_F_JSON_OUTPUT,         /* 0/1: JSON output asked for */
    LLMR_F_SENTENCES,           /* log2(1 + sentences) */
    LLMR_F_QUESTIONS,           /* log2(1 + '?') */
    LLMR_F_LIST_ITEMS,          /* log2(1 + list items): choices, steps */
    LLMR_F_LINES,               /* log2(1 + non-blank lines) */
    LLMR_F_MATH_OPS,            /* log2(1 + operators between operands) */
    LLMR_F_NUMBER_SHARE,        /* numbers / words */
    LLMR_F_LONG_SHARE,          /* words of 10 bytes or more / words */
    LLMR_F_WORD_BYTES,          /* bytes / words, over 8 */
    LLMR_F_NONASCII_SHARE,      /* UTF-8 characters / bytes */
    LLMR_F_CONDITIONS,          /* log2(1 + constraint and step words) */
    LLMR_F_MATH_WORDS,          /* log2(1 + math vocabulary) */
    LLMR_F_CODE_WORDS,          /* log2(1 + code vocabulary) */
    LLMR_F_DOMAIN_WORDS,        /* log2(1 + words of the winning domain) */
    LLMR_F_SYSTEM,              /* log2(1 + system prompt words / 16) */
    LLMR_F_RELATIONS,           /* log2(1 + half, twice, more than, 3/4) */
    LLMR_F_CREATIVE,            /* 0..1: a story, a poem, a role asked */
    LLMR_F_OPEN_MATH,           /* 0..1: math to solve, no choices given */
    LLMR_F_EXAMPLES,            /* log2(1 + worked examples), 0..log2(9) */
    LLMR_F_N
};


/* the version of this vector and of the grams: a model file names it */
#define LLMR_FEATURES_VERSION   4


typedef struct {
    llmr_text_stats_t           user;
    llmr_text_stats_t           system;
    llmr_text_stats_t           history;

    double                      units;          /* length in words */
    double                      code;           /* code evidence */
    double                      math;           /* math evidence */
    double                      domain_score;
    int                         domain;         /* llmr_domain_e */
    unsigned                    domain_from_user:1;
    unsigned                    task:1;         /* something is asked */
    unsigned                    high_stakes:1;
    unsigned                    empty:1;        /* no words, no images */
    unsigned                    examples;       /* worked, few-shot */
    size_t                      asked;          /* offset of the question
                                                   after them, or 0 */

    double                      x[LLMR_F_N];
} llmr_features_t;


/*
 * The scoring layer: score = 1 / (1 + exp(-z)) with
 * z = bias + w . x + (sum of the grams' weights) / sqrt(grams), over the
 * feature vector above and the hashed grams of the last user turn.  The
 * weights are learned (llmr train) and read from a model file
 * (llmr_model.c); the built-in model is such a file compiled in.
 */

struct llmr_classifier_s {
    double                      bias;
    double                      weight[LLMR_F_N];
    double                      threshold[LLMR_THRESHOLDS_N];
    unsigned                    gram_bits;  /* 0: no grams */
    float                      *gram_w;     /* 1 << gram_bits, or NULL */
    unsigned                    owned:1;    /* gram_w is ours to free */
};


/* a keyword as written in the source */

typedef struct {
    const char                 *text;           /* lowercase, ASCII */
    unsigned                    classes;        /* LLMR_KW_* */
    int                         domain;         /* or LLMR_DOMAIN_GENERAL */
} llmr_kw_def_t;


/*
 * Builds the keyword table if it is not built yet (once per process,
 * thread-safe); the first scan does it anyway.  llmr_classifier_default()
 * and llmr_classifier_create() call it, so that a server that makes its
 * classifier at configuration time forks workers with the table built.
 */
void llmr_features_init(void);

/*
 * Fills f from req.  The grams are the words of the last user turn that
 * are matched against the keywords (its window's head and tail), and the
 * pairs of consecutive ones, hashed to 32 bits (case folded, any number
 * alike): gm, when not NULL, weighs them into f->user.gram_z and
 * gram_n; grams, when not NULL, receives their hashes (for training),
 * up to max_grams, *ngrams how many were written.
 */
void llmr_features_extract(const llmr_request_t *req, llmr_features_t *f,
    const llmr_grams_t *gm, uint32_t *grams, size_t max_grams,
    size_t *ngrams);

/* one text; grams as above */
void llmr_text_scan(const char *text, size_t len, llmr_text_stats_t *st,
    uint32_t *grams, size_t max_grams, size_t *ngrams);

/*
 * The first head and the last tail bytes of a text (all of it when it is
 * not longer than head + tail), the words of the first full_head and the
 * last full_tail bytes of those matched against the keywords.
 */
void llmr_text_scan_window(const char *text, size_t len, size_t head,
    size_t tail, size_t full_head, size_t full_tail, const llmr_grams_t *gm,
    llmr_text_stats_t *st, uint32_t *grams, size_t max_grams, size_t *ngrams);

/* the built-in model's text, generated at build time from the file */
extern const char    llmr_model_text[];
extern const size_t  llmr_model_text_len;

/* the hand-set v1 weights: what the built-in model falls back to */
const llmr_classifier_t *llmr_classifier_v1(void);

/* scores features extracted before (what llmr_classify() does after) */
void llmr_classify_features(const llmr_classifier_t *cl,
    const llmr_features_t *f, llmr_class_t *out);

const char *llmr_feature_name(int i);
int llmr_feature_index(const char *name, size_t len);

/* the built-in keyword list, and how many table slots it occupies */
const llmr_kw_def_t *llmr_kw_defs(size_t *n);
size_t llmr_kw_table_used(size_t *slots);


#endif /* _LLMR_FEATURES_H_INCLUDED_ */
