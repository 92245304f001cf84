
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_POLICY_H_INCLUDED_
#define _LLMR_POLICY_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/registry.h>


#define LLMR_POLICY_REASONS_MAX     4


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
} llmr_route_opts_t;


typedef struct {
    int                         model;      /* registry index, -1: none */
    int                         tier;       /* tier actually served */
    int                         status;     /* HTTP status when model < 0 */
    int64_t                     input_tokens;   /* estimated */
    int64_t                     output_tokens;  /* estimated */
    double                      est_cost;   /* USD */
    unsigned                    need_caps;
    unsigned                    nreasons;
    const char                 *reasons[LLMR_POLICY_REASONS_MAX];
    char                        error[LLMR_ERRSTR_SIZE];
} llmr_decision_t;


void llmr_route_opts_init(llmr_route_opts_t *opts);

/*
 * Picks the cheapest model whose tier range covers the class's tier and
 * that has what the request needs (capabilities, context window); when
 * none does, the next tier up.  req may be NULL (a request that could not
 * be parsed routed to a default tier).  Returns LLMR_OK with d->model set,
 * or LLMR_DECLINED with d->error and d->status explaining why.
 */
int llmr_route(const llmr_registry_t *reg, const llmr_request_t *req,
    const llmr_class_t *cls, const llmr_route_opts_t *opts,
    llmr_decision_t *d);

/* estimated USD for a model and a token count */
double llmr_model_cost(const llmr_model_t *m, int64_t in, int64_t out);

/* input tokens estimated from the request's text and parts */
int64_t llmr_estimate_input_tokens(const llmr_request_t *req);
int64_t llmr_default_output_tokens(int tier);


#endif /* _LLMR_POLICY_H_INCLUDED_ */
