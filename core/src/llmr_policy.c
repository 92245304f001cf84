
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <string.h>

#include <llmr/policy.h>
#include <llmr/api.h>


/*
 * Token estimates: about 4 bytes of English text per token, a few tokens
 * of framing per message, and what providers bill for an image at their
 * usual detail level.  Precise enough to compare models and to check a
 * context window; the log phase charges the real usage later.
 */
#define LLMR_BYTES_PER_TOKEN        4
#define LLMR_TOKENS_PER_MESSAGE     4
#define LLMR_TOKENS_PER_IMAGE       800
#define LLMR_TOKENS_PER_TOOL        120


static const int64_t  llmr_default_output[LLMR_TIER_N] = {
    128, 256, 512, 1024, 2048
};


void
llmr_route_opts_init(llmr_route_opts_t *opts)
{
    memset(opts, 0, sizeof(llmr_route_opts_t));

    opts->min_tier = -1;
    opts->pinned = -1;
    opts->fail_open = 1;
}


int64_t
llmr_estimate_input_tokens(const llmr_request_t *req)
{
    int64_t  n;

    if (req == NULL) {
        return 0;
    }

    n = (int64_t) (req->text_bytes + LLMR_BYTES_PER_TOKEN - 1)
        / LLMR_BYTES_PER_TOKEN;
    n += (int64_t) req->messages * LLMR_TOKENS_PER_MESSAGE;
    n += (int64_t) req->images * LLMR_TOKENS_PER_IMAGE;
    n += (int64_t) req->tools * LLMR_TOKENS_PER_TOOL;

    return n;
}


int64_t
llmr_default_output_tokens(int tier)
{
    if (tier < 0 || tier >= LLMR_TIER_N) {
        tier = LLMR_TIER_MODERATE;
    }

    return llmr_default_output[tier];
}


double
llmr_model_cost(const llmr_model_t *m, int64_t in, int64_t out)
{
    return ((double) in * m->price_in + (double) out * m->price_out) / 1e6;
}


static const char  *llmr_profile_names[LLMR_PROFILE_N] = {
    "cost-efficiency", "balanced", "max-intelligence", "speed",
    "reasoning-first"
};


int
llmr_profile_parse(const char *s, size_t len)
{
    int  i;

    for (i = 0; i < LLMR_PROFILE_N; i++) {
        if (strlen(llmr_profile_names[i]) == len
            && memcmp(llmr_profile_names[i], s, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


const char *
llmr_profile_name(int profile)
{
    if (profile < 0 || profile >= LLMR_PROFILE_N) {
        return "unknown";
    }

    return llmr_profile_names[profile];
}


/* a known (> 0) value before an unknown one, then the larger (lower) */

static int
llmr_profile_higher(double a, double b)
{
    if (a > 0 && b > 0) {
        return (a > b) ? -1 : (a < b) ? 1 : 0;
    }

    return (a > 0) ? -1 : (b > 0) ? 1 : 0;
}


static int
llmr_profile_lower(double a, double b)
{
    if (a > 0 && b > 0) {
        return (a < b) ? -1 : (a > b) ? 1 : 0;
    }

    return (a > 0) ? -1 : (b > 0) ? 1 : 0;
}


int
llmr_profile_cmp(int profile, const llmr_model_t *a, const llmr_model_t *b,
    int64_t in, int64_t out)
{
    int     r;
    double  ca, cb, va, vb;

    ca = llmr_model_cost(a, in, out);
    cb = llmr_model_cost(b, in, out);
    r = 0;

    switch (profile) {

    case LLMR_PROFILE_BALANCED:

        if (a->intelligence > 0 && b->intelligence > 0) {

            /* intelligence / cost, cross-multiplied: a free model wins */

            va = a->intelligence * cb;
            vb = b->intelligence * ca;
            r = (va > vb) ? -1 : (va < vb) ? 1 : 0;

            if (r == 0 && ca == 0 && cb == 0) {
                r = llmr_profile_higher(a->intelligence, b->intelligence);
            }

        } else {
            r = llmr_profile_higher(a->intelligence, b->intelligence);
        }

        break;

    case LLMR_PROFILE_INTELLIGENCE:
        r = llmr_profile_higher(a->intelligence, b->intelligence);
        break;

    case LLMR_PROFILE_SPEED:
        r = llmr_profile_higher(a->speed_tps, b->speed_tps);

        if (r == 0) {
            r = llmr_profile_lower(a->ttft_s, b->ttft_s);
        }

        break;

    case LLMR_PROFILE_REASONING:
        va = (a->caps & LLMR_CAP_REASONING) ? 1 : 0;
        vb = (b->caps & LLMR_CAP_REASONING) ? 1 : 0;
        r = llmr_profile_higher(va, vb);

        if (r == 0) {
            r = llmr_profile_higher(a->math_index, b->math_index);
        }

        if (r == 0) {
            r = llmr_profile_higher(a->intelligence, b->intelligence);
        }

        break;

    default:
        break;
    }

    if (r != 0) {
        return r;
    }

    return (ca < cb) ? -1 : (ca > cb) ? 1 : 0;
}


static void
llmr_decision_reason(llmr_decision_t *d, const char *reason)
{
    if (d->nreasons < LLMR_POLICY_REASONS_MAX) {
        d->reasons[d->nreasons++] = reason;
    }
}


static int
llmr_model_fits(const llmr_model_t *m, unsigned caps, int64_t need_ctx)
{
    if ((m->caps & caps) != caps) {
        return 0;
    }

    if (m->context && (uint64_t) need_ctx > m->context) {
        return 0;
    }

    return 1;
}


static void
llmr_route_explain_none(const llmr_registry_t *reg, unsigned apis,
    unsigned caps, int64_t need_ctx, int tier, llmr_decision_t *d)
{
    int                  has_caps, has_ctx, a;
    char                 what[128];
    size_t               n;
    unsigned             i, c;
    const llmr_model_t  *m;

    has_caps = 0;
    has_ctx = 0;

    if (reg->n && apis && !(reg->apis & apis)) {
        n = 0;
        what[0] = '\0';

        for (a = 0; a < LLMR_API_N; a++) {
            if ((apis & llmr_api_bit(a)) && n < sizeof(what)) {
                n += snprintf(what + n, sizeof(what) - n, "%s%s",
                              n ? " or " : "", llmr_api_name(a));
            }
        }

        snprintf(d->error, sizeof(d->error),
                 "no configured model serves the %s API", what);
        d->status = 422;
        return;
    }

    for (i = 0; i < reg->n; i++) {
        m = &reg->models[i];

        if (apis && !(apis & llmr_api_bit(m->api))) {
            continue;
        }

        if ((m->caps & caps) == caps) {
            has_caps = 1;
        }

        if (m->context == 0 || (uint64_t) need_ctx <= m->context) {
            has_ctx = 1;
        }
    }

    n = 0;
    what[0] = '\0';

    for (c = 1; c <= LLMR_CAP_LONG_CONTEXT; c <<= 1) {
        if ((caps & c) && n < sizeof(what)) {
            n += snprintf(what + n, sizeof(what) - n, "%s%s",
                          n ? ", " : "", llmr_cap_name(c));
        }
    }

    d->status = 422;

    if (reg->n == 0) {
        snprintf(d->error, sizeof(d->error), "no models are configured");
        d->status = 503;

    } else if (!has_caps) {
        snprintf(d->error, sizeof(d->error),
                 "no configured model supports %s", what);

    } else if (!has_ctx) {
        snprintf(d->error, sizeof(d->error),
                 "no configured model has a context window of %lld tokens",
                 (long long) need_ctx);

    } else if (caps) {
        snprintf(d->error, sizeof(d->error),
                 "no available model at tier %s or above supports %s "
                 "with %lld tokens of context",
                 llmr_tier_name(tier), what, (long long) need_ctx);

    } else {
        snprintf(d->error, sizeof(d->error),
                 "no available model at tier %s or above has a context "
                 "window of %lld tokens",
                 llmr_tier_name(tier), (long long) need_ctx);
        d->status = (need_ctx > 0) ? 422 : 503;
    }
}


/* cheapest model of the first tier from "tier" to "last" that has one */

static int
llmr_route_pass(const llmr_registry_t *reg, const char *provider,
    unsigned apis, uint64_t skip, int tier, int last, unsigned caps,
    int64_t need_ctx, int64_t in, int64_t out, int profile, int *model,
    int *served)
{
    int                  t, best;
    unsigned             i;
    const llmr_model_t  *m;

    for (t = tier; t <= last; t++) {
        best = -1;

        for (i = 0; i < reg->n; i++) {
            m = &reg->models[i];

            if (t < m->tier_lo || t > m->tier_hi
                || (skip & ((uint64_t) 1 << i))
                || (provider && strcmp(m->provider, provider) != 0)
                || (apis && !(apis & llmr_api_bit(m->api)))
                || !llmr_model_fits(m, caps, need_ctx))
            {
                continue;
            }

            /* the profile's first wins; registration order breaks ties */

            if (best < 0
                || llmr_profile_cmp(profile, m, &reg->models[best], in, out)
                   < 0)
            {
                best = i;
            }
        }

        if (best >= 0) {
            *model = best;
            *served = t;
            return LLMR_OK;
        }
    }

    return LLMR_DECLINED;
}


int
llmr_route(const llmr_registry_t *reg, const llmr_request_t *req,
    const llmr_class_t *cls, const llmr_route_opts_t *opts,
    llmr_decision_t *d)
{
    int                  tier, pass, preferred, model, served;
    int64_t              in, out, need_ctx;
    uint64_t             skip;
    unsigned             caps;
    const llmr_model_t  *m;

    memset(d, 0, sizeof(llmr_decision_t));
    d->model = -1;
    d->skipped_api = -1;

    tier = cls->tier;

    if (opts->min_tier > tier) {
        tier = opts->min_tier;
        llmr_decision_reason(d, "min_tier");
    }

    caps = 0;

    if (req) {
        if (req->images) {
            caps |= LLMR_CAP_VISION;
        }

        if (req->tools) {
            caps |= LLMR_CAP_TOOLS;
        }
    }

    in = llmr_estimate_input_tokens(req);
    out = (req && req->max_tokens > 0) ? req->max_tokens
                                       : llmr_default_output_tokens(tier);
    need_ctx = in + ((req && req->max_tokens > 0) ? req->max_tokens : 0);

    d->need_caps = caps;
    d->input_tokens = in;
    d->output_tokens = out;

    if (opts->pinned >= 0 && (unsigned) opts->pinned < reg->n
        && !(opts->exclude & ((uint64_t) 1 << opts->pinned))
        && (opts->apis == 0
            || (opts->apis & llmr_api_bit(reg->models[opts->pinned].api))))
    {
        m = &reg->models[opts->pinned];

        d->model = opts->pinned;
        d->tier = tier;
        d->est_cost = llmr_model_cost(m, in, out);
        llmr_decision_reason(d, "client_model");

        return LLMR_OK;
    }

    /*
     * Passes, from the most to the least preferred: healthy models,
     * degraded ones, and down ones when failing open.  Within a pass: the
     * requested tier first, then up, each in the profile's order (cheapest
     * first by default).  Among healthy models, a preferred provider wins
     * at the tier the request is served at.
     */

    for (pass = 1; pass < 4; pass++) {

        skip = opts->exclude;

        if (pass == 1) {
            skip |= opts->down | opts->degraded;

        } else if (pass == 2) {
            if (!(opts->degraded & ~opts->down)) {
                continue;
            }

            skip |= opts->down;

        } else if (!opts->fail_open || !opts->down) {
            continue;
        }

        if (llmr_route_pass(reg, NULL, opts->apis, skip, tier,
                            LLMR_TIER_N - 1, caps, need_ctx, in, out,
                            opts->profile, &d->model, &d->tier)
            != LLMR_OK)
        {
            continue;
        }

        preferred = 0;

        if (pass == 1 && opts->prefer
            && strcmp(reg->models[d->model].provider, opts->prefer) != 0
            && llmr_route_pass(reg, opts->prefer, opts->apis, skip, d->tier,
                               d->tier, caps, need_ctx, in, out,
                               opts->profile, &model, &served)
               == LLMR_OK)
        {
            d->model = model;
            preferred = 1;
        }

        d->est_cost = llmr_model_cost(&reg->models[d->model], in, out);

        if (d->tier > tier) {
            llmr_decision_reason(d, "tier_up");
        }

        if (preferred) {
            llmr_decision_reason(d, "preferred_provider");

        } else if (pass == 2) {
            llmr_decision_reason(d, "degraded_only");

        } else if (pass == 3) {
            llmr_decision_reason(d, "all_down_fail_open");

        } else if ((opts->down | opts->degraded) & ~opts->exclude) {
            llmr_decision_reason(d, "avoided_unhealthy");
        }

        if (caps & LLMR_CAP_VISION) {
            llmr_decision_reason(d, "needs_vision");
        }

        if (caps & LLMR_CAP_TOOLS) {
            llmr_decision_reason(d, "needs_tools");
        }

        /* a model of another API would have come first */

        if (opts->apis && (reg->apis & ~opts->apis)
            && llmr_route_pass(reg, NULL, 0, skip, tier, LLMR_TIER_N - 1,
                               caps, need_ctx, in, out, opts->profile,
                               &model, &served)
               == LLMR_OK
            && !(opts->apis & llmr_api_bit(reg->models[model].api)))
        {
            d->skipped_api = reg->models[model].api;
            llmr_decision_reason(d, "skipped_api");
        }

        return LLMR_OK;
    }

    if (opts->down && !opts->fail_open) {
        d->status = 503;
        snprintf(d->error, sizeof(d->error),
                 "every model that can serve the request is down");
        return LLMR_DECLINED;
    }

    llmr_route_explain_none(reg, opts->apis, caps, need_ctx, tier, d);

    return LLMR_DECLINED;
}
