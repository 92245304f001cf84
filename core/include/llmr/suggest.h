
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_SUGGEST_H_INCLUDED_
#define _LLMR_SUGGEST_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/registry.h>


/*
 * Cost-optimisation suggestions: a pure function from a snapshot of the
 * counters (the basis) to a list of suggestions, each with its saving
 * per day at the current rate, its quality trade-off and the counts it
 * rests on.  llm_status fills the basis from its copy of the zone when
 * the status is asked for (never per request) and prints the basis with
 * the list; llmr suggest reads the basis back from that JSON and calls
 * the same function.
 *
 * Rate basis: the forecast's.  A counter kept since the first request
 * is turned into a rate per day as its share of all requests times the
 * current request rate (window_requests / window_s, the forecast's last
 * five minutes), so every saving follows the traffic of now.
 */


/* the evidence a suggestion needs; below it, none is made */

/* feedback samples (weights: an explicit report 1) on each side of a
   quality comparison */
#define LLMR_SUGGEST_MIN_SAMPLES        20
/* requests since the start before a model can be called rarely chosen */
#define LLMR_SUGGEST_MIN_REQUESTS       100
/* escalations before they are judged */
#define LLMR_SUGGEST_MIN_ESCALATIONS    20
/* seconds of a budget's period elapsed before its rate is trusted, or
   this percentage of the period when that is shorter */
#define LLMR_SUGGEST_MIN_BUDGET_SECONDS 60
#define LLMR_SUGGEST_MIN_BUDGET_PCT     10

/* the judgement */

/* "the same quality": a cheaper tier at most this much below */
#define LLMR_SUGGEST_QUALITY_TOLERANCE  0.05
/* "rarely chosen": a model serving less than this share of requests */
#define LLMR_SUGGEST_RARE_SHARE         0.01

/* sizes */

#define LLMR_SUGGEST_MODELS             128     /* the zone's slots */
#define LLMR_SUGGEST_BUDGETS            64
#define LLMR_SUGGEST_MAX                32
#define LLMR_SUGGEST_TEXT               320
#define LLMR_SUGGEST_EVIDENCE           4


typedef struct {
    char                        name[LLMR_NAME_MAX + 1];
    unsigned                    configured;     /* prices, tiers known */
    int                         tier_lo;
    int                         tier_hi;
    double                      price_in;       /* USD per M tokens */
    double                      price_out;
    uint64_t                    requests;       /* since the start */
    double                      cost;           /* USD */
    uint64_t                    recent[LLMR_TIER_N];    /* the recent
                                                   decisions, by tier */
} llmr_suggest_model_t;


/* a tier served: its requests since the start */

typedef struct {
    uint64_t                    requests;
    uint64_t                    input_tokens;
    uint64_t                    output_tokens;
    double                      cost;           /* USD */
} llmr_suggest_tier_t;


typedef struct {
    char                        name[LLMR_NAME_MAX + 1];    /* with :key */
    double                      limit;          /* USD */
    double                      spent;
    int64_t                     period;         /* s */
    int64_t                     elapsed;        /* s of the period */
} llmr_suggest_budget_t;


typedef struct {
    double                      window;         /* s, the forecast's */
    double                      window_requests;
    uint64_t                    requests;       /* since the start */
    uint64_t                    escalations;

    llmr_suggest_tier_t         tiers[LLMR_TIER_N];

    /*
     * The feedback sums by the class's tier (the classifier's, over all
     * domains) and the tier it was served at: weight, weight * quality.
     */
    double                      weight[LLMR_TIER_N][LLMR_TIER_N];
    double                      quality[LLMR_TIER_N][LLMR_TIER_N];

    llmr_suggest_model_t        models[LLMR_SUGGEST_MODELS];
    unsigned                    nmodels;

    llmr_suggest_budget_t       budgets[LLMR_SUGGEST_BUDGETS];
    unsigned                    nbudgets;
} llmr_suggest_basis_t;


typedef enum {
    LLMR_SUGGEST_CHEAPER_TIER = 0,
    LLMR_SUGGEST_RARE_MODEL,
    LLMR_SUGGEST_ESCALATION,
    LLMR_SUGGEST_BUDGET,
    LLMR_SUGGEST_KIND_N
} llmr_suggest_kind_e;


typedef struct {
    const char                 *name;
    double                      value;
} llmr_suggest_evidence_t;


typedef struct {
    int                         kind;
    char                        text[LLMR_SUGGEST_TEXT];
    double                      saving;         /* USD per day */
    double                      quality;        /* the change, 0..1 */
    unsigned                    has_saving:1;
    unsigned                    has_quality:1;
    llmr_suggest_evidence_t     evidence[LLMR_SUGGEST_EVIDENCE];
    unsigned                    nevidence;
} llmr_suggestion_t;


/*
 * The suggestions the basis supports, at most max, the largest saving
 * first (those without a saving last, in kind order).  Returns how many.
 */
unsigned llmr_suggest(const llmr_suggest_basis_t *b, llmr_suggestion_t *out,
    unsigned max);

/* "cheaper_tier", "rare_model", "escalation", "budget" */
const char *llmr_suggest_kind_name(int kind);

/*
 * JSON writers in the snprintf manner: they write at most size bytes
 * (NUL-terminated when size > 0) and return the length the whole text
 * takes, so a first call with size 0 measures.  The basis is written so
 * that llmr_suggest_basis_parse() (core/offline) reads back the same
 * numbers.
 */
size_t llmr_suggest_basis_json(const llmr_suggest_basis_t *b, char *buf,
    size_t size);
size_t llmr_suggest_json(const llmr_suggestion_t *s, unsigned n, char *buf,
    size_t size);

/*
 * The basis from the JSON of llmr_suggest_basis_json() (the status's
 * "suggestion_basis"): LLMR_OK, or LLMR_ERROR with err saying what is
 * wrong.  In the offline part: llmr, not the module.
 */
int llmr_suggest_basis_parse(const char *json, size_t len,
    llmr_suggest_basis_t *b, char *err, size_t errlen);


#endif /* _LLMR_SUGGEST_H_INCLUDED_ */
