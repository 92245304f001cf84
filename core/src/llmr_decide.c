
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <string.h>

#include <llmr/decide.h>


static void llmr_decide_default(const llmr_router_t *rt,
    const llmr_signals_t *s, llmr_class_t *cls);
static void llmr_decide_adjust(const llmr_router_t *rt,
    const llmr_signals_t *s, llmr_route_opts_t *opts, llmr_verdict_t *v);
static int llmr_decide_pick(const llmr_router_t *rt,
    const llmr_request_t *req, const llmr_class_t *cls,
    const llmr_signals_t *s, llmr_route_opts_t *opts, llmr_decision_t *d,
    unsigned *probe);
static void llmr_decide_budgets(const llmr_router_t *rt,
    const llmr_request_t *req, const llmr_signals_t *s, llmr_verdict_t *v);
static void llmr_decide_reason(llmr_decision_t *d, const char *reason);


void
llmr_router_init(llmr_router_t *rt, const llmr_registry_t *reg)
{
    memset(rt, 0, sizeof(llmr_router_t));

    rt->registry = reg;
    rt->profile = LLMR_PROFILE_COST;
    rt->fail_open = 1;
    rt->default_tier = LLMR_TIER_MODERATE;

    llmr_adjust_conf_init(&rt->adjust);
}


void
llmr_signals_init(llmr_signals_t *s)
{
    memset(s, 0, sizeof(llmr_signals_t));

    s->min_tier = -1;
    s->client_api = -1;
}


void
llmr_signals_translate(llmr_signals_t *s, const llmr_xreq_t *x,
    int client_api, char why[LLMR_API_N][LLMR_UNTRANSLATABLE_MAX])
{
    int          api;
    const char  *field;

    s->client_api = client_api;

    if (client_api < 0 || client_api >= LLMR_API_N) {
        return;
    }

    s->apis |= llmr_api_bit(client_api);

    if (x == NULL) {
        return;
    }

    for (api = 0; api < LLMR_API_N; api++) {
        if (api == client_api) {
            continue;
        }

        field = llmr_xreq_blocker(x, api);

        if (field == NULL) {
            s->apis |= llmr_api_bit(api);
            s->untranslatable[api] = NULL;
            continue;
        }

        snprintf(why[api], LLMR_UNTRANSLATABLE_MAX, "untranslatable:%s",
                 field);
        s->untranslatable[api] = why[api];
    }
}


int
llmr_decide(const llmr_router_t *rt, const llmr_request_t *req,
    const llmr_signals_t *s, llmr_verdict_t *v)
{
    int                  rc;
    unsigned             probe;
    const char          *reason;
    llmr_route_opts_t    opts;
    const llmr_model_t  *m;

    memset(v, 0, sizeof(llmr_verdict_t));
    v->floor = -1;

    llmr_route_opts_init(&opts);

    if (req == NULL) {
        llmr_decide_default(rt, s, &v->cls);

        if (llmr_decide_pick(rt, NULL, &v->cls, s, &opts, &v->dec, &probe)
            != LLMR_OK)
        {
            return LLMR_DECLINED;
        }

        v->probe = probe;
        v->defaulted = 1;

        llmr_decide_budgets(rt, NULL, s, v);

        return LLMR_OK;
    }

    opts.min_tier = s->min_tier;

    if (rt->client_model) {
        m = NULL;

        if (req->has_model) {
            m = llmr_registry_find(rt->registry, req->model.data,
                                   req->model.len);

        } else if (s->path_model_len) {
            /* Gemini names the model in the path */
            m = llmr_registry_find(rt->registry, s->path_model,
                                   s->path_model_len);
        }

        if (m) {
            opts.pinned = m->index;
        }
    }

    llmr_classify(rt->classifier, req, &v->cls);

    llmr_decide_adjust(rt, s, &opts, v);

    rc = llmr_decide_pick(rt, req, &v->cls, s, &opts, &v->dec, &probe);

    /* a fallback keeps the floors asked for, not the health's raises */
    v->floor = (opts.min_tier > v->cls.tier) ? opts.min_tier : v->cls.tier;

    if (rc != LLMR_OK) {
        return rc;
    }

    v->probe = probe;

    reason = llmr_adjust_reason(&v->adj);

    if (reason) {
        llmr_decide_reason(&v->dec, reason);
    }

    llmr_decide_budgets(rt, req, s, v);

    return LLMR_OK;
}


/*
 * "llm_route fallback": the same tier first, then up, from the floor the
 * request was routed with, so that a cheaper model the first pick passed
 * over for its health (degraded) is still in the chain.
 */

int
llmr_decide_next(const llmr_router_t *rt, const llmr_request_t *req,
    const llmr_signals_t *s, llmr_verdict_t *v)
{
    unsigned           probe;
    llmr_decision_t    d;
    llmr_route_opts_t  opts;

    llmr_route_opts_init(&opts);
    opts.min_tier = (v->floor >= 0) ? v->floor : v->cls.tier;

    if (llmr_decide_pick(rt, req, &v->cls, s, &opts, &d, &probe) != LLMR_OK)
    {
        return LLMR_DECLINED;
    }

    v->dec = d;
    v->probe = probe;

    llmr_decide_reason(&v->dec, "fallback");

    return LLMR_OK;
}


/* a body that cannot be parsed: the default tier, with the error's code */

static void
llmr_decide_default(const llmr_router_t *rt, const llmr_signals_t *s,
    llmr_class_t *cls)
{
    cls->tier = rt->default_tier;
    cls->floor = rt->default_tier;
    cls->domain = LLMR_DOMAIN_GENERAL;
    cls->reasons[0] = "default_route";
    cls->reasons[1] = s->default_why;
    cls->nreasons = s->default_why ? 2 : 1;
}


/*
 * Between the classifier and the policy (llmr_adjust_*): what the fleet
 * learned for this class of prompts (domain x tier), with its exploration
 * share decided by the request's hash, then confidence-gated escalation
 * and the A/B arm.
 */

static void
llmr_decide_adjust(const llmr_router_t *rt, const llmr_signals_t *s,
    llmr_route_opts_t *opts, llmr_verdict_t *v)
{
    int                       off, shifts;
    llmr_learn_conf_t         nolc;
    const llmr_learn_conf_t  *lc;

    v->bucket = v->cls.domain * LLMR_TIER_N + v->cls.tier;

    lc = rt->learn;

    if (lc) {
        off = s->offset ? s->offset[v->bucket] : 0;
        shifts = (lc->shift > 0);

        if (off != 0 || shifts) {

            if (s->explain && lc->explore > 0) {
                nolc = *lc;
                nolc.explore = 0;
                lc = &nolc;
            }

            if (shifts) {
                llmr_adjust_shift(rt->classifier,
                                  s->shift ? (double) s->shift[v->bucket] : 0,
                                  &v->cls, &v->adj);
            }

            if (off != 0) {
                llmr_adjust_learned(lc, off, s->request_hash, &v->cls, opts,
                                    &v->adj);
            }

            if (shifts) {
                llmr_adjust_explore(lc, s->request_hash, &v->cls, opts,
                                    &v->adj);
            }
        }
    }

    llmr_adjust_route(&rt->adjust, s->ab_draw, &v->cls, opts, &v->adj);
}


/*
 * The policy with what the signals say: the models that failed for this
 * request, the health of every model, the client's provider preference,
 * the request's API.  A half-open model is taken as a probe.
 */

static int
llmr_decide_pick(const llmr_router_t *rt, const llmr_request_t *req,
    const llmr_class_t *cls, const llmr_signals_t *s,
    llmr_route_opts_t *opts, llmr_decision_t *d, unsigned *probe)
{
    int  rc;

    opts->exclude |= s->exclude;
    opts->down = s->down;
    opts->degraded = s->degraded;
    opts->prefer = s->prefer;
    opts->apis = s->apis;
    opts->fail_open = rt->fail_open;
    opts->profile = rt->profile;

    rc = llmr_route(rt->registry, req, cls, opts, d);

    if (rc == LLMR_OK && s->client_api >= 0) {

        if (d->skipped_api >= 0 && d->skipped_api < LLMR_API_N
            && s->untranslatable[d->skipped_api])
        {
            llmr_decide_reason(d, s->untranslatable[d->skipped_api]);
        }

        if (rt->registry->models[d->model].api != s->client_api) {
            llmr_decide_reason(d, "translated");
        }
    }

    *probe = (rc == LLMR_OK && (s->half_open & ((uint64_t) 1 << d->model)));

    return rc;
}


/*
 * The budgets' downgrade: when one near its limit says so (and none is
 * spent, which refuses the request anyway), the request goes to the
 * cheapest model that has what it needs.  The caller reserves the
 * verdict's estimate afterwards.
 */

static void
llmr_decide_budgets(const llmr_router_t *rt, const llmr_request_t *req,
    const llmr_signals_t *s, llmr_verdict_t *v)
{
    int                    tier, downgrade;
    int64_t                est;
    unsigned               i, probe;
    llmr_decision_t        d;
    llmr_route_opts_t      opts;
    llmr_budget_entry_t    e;
    llmr_budget_verdict_t  bv;

    if (s->nbudgets == 0) {
        return;
    }

    est = (int64_t) (v->dec.est_cost * 1e6 + 0.5);
    downgrade = 0;

    for (i = 0; i < s->nbudgets && i < LLMR_DECIDE_BUDGETS_MAX; i++) {
        if (s->budgets[i].refused) {
            return;
        }

        /* a copy: what the caller reserves later is asked of the real one */

        e = s->budgets[i].entry;

        if (llmr_budget_check(&e, &s->budgets[i].rule, est, s->leased, 0,
                              s->now, &bv)
            == LLMR_BUDGET_SPENT)
        {
            return;
        }

        downgrade |= bv.downgrade;
    }

    if (!downgrade) {
        return;
    }

    v->downgrade = 1;

    tier = v->cls.tier;
    v->cls.tier = LLMR_TIER_TRIVIAL;

    llmr_route_opts_init(&opts);

    if (llmr_decide_pick(rt, req, &v->cls, s, &opts, &d, &probe) == LLMR_OK) {
        d.tier = (d.tier > LLMR_TIER_TRIVIAL) ? d.tier : LLMR_TIER_TRIVIAL;
        v->dec = d;
        v->probe = probe;
        v->floor = LLMR_TIER_TRIVIAL;

        llmr_decide_reason(&v->dec, "budget_downgrade");
    }

    v->cls.tier = tier;
}


static void
llmr_decide_reason(llmr_decision_t *d, const char *reason)
{
    if (d->nreasons < LLMR_POLICY_REASONS_MAX) {
        d->reasons[d->nreasons++] = reason;
    }
}
