
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_DECIDE_H_INCLUDED_
#define _LLMR_DECIDE_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/registry.h>
#include <llmr/policy.h>
#include <llmr/adjust.h>
#include <llmr/feedback.h>
#include <llmr/budget.h>
#include <llmr/api.h>
#include <llmr/translate.h>


/*
 * One routing decision, from a request and a snapshot of what the router
 * knows now: classification, the learned adjustments with exploration,
 * escalation and the A/B arm, health and API eligibility, the budgets'
 * downgrade, the floor a fallback starts from, and the reasons.  Pure:
 * the same router, request and signals always give the same verdict.
 * The caller (nginx, or llmr explain / route with defaults) gathers the
 * signals, then does what the verdict says (claims a half-open probe,
 * reserves the budgets, rewrites the body).
 */


#define LLMR_DECIDE_BUDGETS_MAX     4


/* the configuration of a location: what does not change per request */

typedef struct {
    const llmr_registry_t      *registry;
    const llmr_classifier_t    *classifier;     /* NULL: the built-in */
    const llmr_learn_conf_t    *learn;          /* NULL: learning off */
    llmr_adjust_conf_t          adjust;         /* escalation, A/B */
    int                         profile;        /* LLMR_PROFILE_* */
    int                         fail_open;
    int                         client_model;   /* honour a model named */
    int                         default_tier;   /* unparsable bodies */
} llmr_router_t;


/* one budget over the request, as it stands (a copy) */

typedef struct {
    llmr_budget_rule_t          rule;
    llmr_budget_entry_t         entry;
    unsigned                    refused:1;  /* no room for its key */
} llmr_budget_signal_t;


typedef struct {
    /* the client's asks */
    int                         min_tier;   /* X-LLM-Min-Tier, or -1 */
    const char                 *prefer;     /* X-LLM-Prefer, or NULL */
    const char                 *path_model; /* a model named by the path */
    size_t                      path_model_len;

    /* llmr_api_bit() of the APIs that can serve the request; 0: any */
    unsigned                    apis;

    /*
     * Translation: the client's API (-1: not told), and for each API left
     * out of apis because the request cannot be written for it, the
     * reason ("untranslatable:logprobs"); a decision that would have gone
     * there says so, one served in another API than the client's says
     * "translated".
     */
    int                         client_api;
    const char                 *untranslatable[LLMR_API_N];

    /*
     * Health, one bit a model (registry index): failed for this request
     * already, down (skip), degraded (avoid), and half-open (down with a
     * probe slot free: the request would be that probe).
     */
    uint64_t                    exclude;
    uint64_t                    down;
    uint64_t                    degraded;
    uint64_t                    half_open;

    /*
     * Learning: the fleet's offset and shift by bucket (domain x tier,
     * LLMR_DOMAIN_N * LLMR_TIER_N; NULL: none), the request's hash (its
     * exploration), and a uniform draw in [0, LLMR_AB_SCALE) for its A/B
     * arm.
     */
    const int8_t               *offset;
    const float                *shift;
    uint64_t                    request_hash;
    uint32_t                    ab_draw;

    /* an explanation shows the policy, not one request's exploration */
    unsigned                    explain:1;

    /* budgets: the location's, in order; leased: the fleet shares them */
    unsigned                    leased:1;
    unsigned                    nbudgets;
    int64_t                     now;        /* unix s */
    llmr_budget_signal_t        budgets[LLMR_DECIDE_BUDGETS_MAX];

    /* an unparsable body routed to the default tier: the error's code */
    const char                 *default_why;
} llmr_signals_t;


typedef struct {
    llmr_class_t                cls;        /* adjusted */
    llmr_decision_t             dec;        /* model, tier, cost, reasons */
    llmr_adjust_t               adj;

    /* domain x the classifier's own tier: where its outcome is learned */
    int                         bucket;

    /* the lowest tier a fallback routes from; -1: the class's tier */
    int                         floor;

    unsigned                    probe:1;    /* the model is half-open */
    unsigned                    downgrade:1;    /* a budget asked for it */
    unsigned                    defaulted:1;
} llmr_verdict_t;


/* "untranslatable:" and a field's name, as a reason */
#define LLMR_UNTRANSLATABLE_MAX     64

/*
 * The APIs a request parsed by x can be written for join s->apis, with
 * the client's own; each other API gets its reason in why[api] (the
 * caller's, kept as long as the signals).  x NULL: the client's API only.
 */
void llmr_signals_translate(llmr_signals_t *s, const llmr_xreq_t *x,
    int client_api, char why[LLMR_API_N][LLMR_UNTRANSLATABLE_MAX]);

/* a router with the defaults of a location (learning off) */
void llmr_router_init(llmr_router_t *rt, const llmr_registry_t *reg);

/* signals of a healthy fleet: nothing asked, learned, nor spent */
void llmr_signals_init(llmr_signals_t *s);

/*
 * The decision for req; req NULL: a body that could not be parsed, routed
 * to rt->default_tier without what the client asked for.  LLMR_OK with
 * v->dec.model set, or LLMR_DECLINED with v->dec.error and v->dec.status
 * (v->cls, v->adj and v->floor are still set).
 */
int llmr_decide(const llmr_router_t *rt, const llmr_request_t *req,
    const llmr_signals_t *s, llmr_verdict_t *v);

/*
 * The next attempt after v's model failed (s->exclude has it): the same
 * class, from v->floor up, with "fallback" among the reasons.  LLMR_OK
 * with v->dec and v->probe those of the new decision, or LLMR_DECLINED
 * with v left as it was.  req may be NULL, or have its text views
 * cleared.
 */
int llmr_decide_next(const llmr_router_t *rt, const llmr_request_t *req,
    const llmr_signals_t *s, llmr_verdict_t *v);


#endif /* _LLMR_DECIDE_H_INCLUDED_ */
