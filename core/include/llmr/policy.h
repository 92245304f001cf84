
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_POLICY_H_INCLUDED_
#define _LLMR_POLICY_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/registry.h>


#define LLMR_POLICY_REASONS_MAX     8


/*
 * Routing profiles: how the candidates of one tier (the models whose tier
 * range covers it and that have what the request needs) are ordered.
 * Each profile falls back to its next key, then to the estimated cost,
 * then to registration order; models without quality data (0 = unknown,
 * see llmr_model_t) sort after those with it, so a registry without any
 * quality data routes under every profile as under cost-efficiency.
 *
 *   cost-efficiency   lowest estimated cost for the request (the default)
 *   balanced          most intelligence per dollar: the highest
 *                     intelligence / estimated cost; a free model with a
 *                     known intelligence beats any paid one, and two free
 *                     ones compare by intelligence
 *   max-intelligence  highest intelligence index
 *   speed             highest output tokens/s, then lowest time to first
 *                     token
 *   reasoning-first   models with caps=reasoning first, then the highest
 *                     math index, then the highest intelligence
 */
typedef enum {
    LLMR_PROFILE_COST = 0,
    LLMR_PROFILE_BALANCED,
    LLMR_PROFILE_INTELLIGENCE,
    LLMR_PROFILE_SPEED,
    LLMR_PROFILE_REASONING,
    LLMR_PROFILE_N
} llmr_profile_e;


typedef struct {
    int                         min_tier;   /* a floor asked for, or -1 */
    int                         pinned;     /* a model asked for, or -1 */
    uint64_t                    exclude;    /* models not to use */

    /*
     * Health: down models are skipped and degraded ones avoided while an
     * eligible healthy model exists; with fail_open set, when every
     * eligible model is down the cheapest of them is used rather than
     * refusing the request.
     */
    uint64_t                    down;
    uint64_t                    degraded;
    int                         fail_open;

    /* a provider to prefer when it has an eligible model, or NULL */
    const char                 *prefer;

    /*
     * The APIs that can serve the request (llmr_api_bit() of each; 0:
     * any): a model whose upstream speaks another is not eligible.
     */
    unsigned                    apis;

    /* the order within a tier: LLMR_PROFILE_*, default cost-efficiency */
    int                         profile;
} llmr_route_opts_t;


typedef struct {
    int                         model;      /* registry index, -1: none */
    int                         tier;       /* tier actually served */
    int                         status;     /* HTTP status when model < 0 */
    int64_t                     input_tokens;   /* estimated */
    int64_t                     output_tokens;  /* estimated */
    double                      est_cost;   /* USD */
    unsigned                    need_caps;
    int                         skipped_api;    /* the API of a cheaper
                                                   model left out for its
                                                   API ("skipped_api"), or
                                                   -1 */
    unsigned                    nreasons;
    const char                 *reasons[LLMR_POLICY_REASONS_MAX];
    char                        error[LLMR_ERRSTR_SIZE];
} llmr_decision_t;


void llmr_route_opts_init(llmr_route_opts_t *opts);

/*
 * Picks the first model, in opts->profile's order (the cheapest under the
 * default cost-efficiency), whose tier range covers the class's tier and
 * that has what the request needs (capabilities, context window, an API
 * of opts->apis); when none does, the next tier up.  A preferred provider
 * is looked for at the tier the request is served at, never above it.
 * req may be NULL (a request that could not be parsed routed to a default
 * tier).  Returns LLMR_OK with d->model set,
 * or LLMR_DECLINED with d->error and d->status explaining why.
 */
int llmr_route(const llmr_registry_t *reg, const llmr_request_t *req,
    const llmr_class_t *cls, const llmr_route_opts_t *opts,
    llmr_decision_t *d);

/* "cost-efficiency", "balanced", ...: LLMR_PROFILE_*, or -1 */
int llmr_profile_parse(const char *s, size_t len);

/* the profile's name, "unknown" when out of range */
const char *llmr_profile_name(int profile);

/*
 * Orders two candidates under a profile for a request of in/out tokens
 * (in = 750000, out = 250000 compares blended 3:1 prices): < 0 when a
 * comes first, > 0 when b does, 0 when the profile cannot tell them
 * apart (llmr_route() then keeps registration order).
 */
int llmr_profile_cmp(int profile, const llmr_model_t *a,
    const llmr_model_t *b, int64_t in, int64_t out);

/* estimated USD for a model and a token count */
double llmr_model_cost(const llmr_model_t *m, int64_t in, int64_t out);

/* input tokens estimated from the request's text and parts */
int64_t llmr_estimate_input_tokens(const llmr_request_t *req);
int64_t llmr_default_output_tokens(int tier);


#endif /* _LLMR_POLICY_H_INCLUDED_ */
