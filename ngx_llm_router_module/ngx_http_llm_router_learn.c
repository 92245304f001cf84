
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * The feedback loop's learning, in the zone: per-bucket quality sums (a
 * bucket is a domain and a class tier), added to by feedback reports
 * (ngx_http_llm_router_feedback.c) and the implicit signals of answers
 * (the log phase), shared by the fleet like any counter (Redis pulls and
 * the saved state call the rule again); the core's learning rule turns
 * them into the tier offsets and score shifts routing reads.
 */


/*
 * Implicit samples are many and each moves offsets little: the rule runs
 * for them at most every 100 ms a bucket in a worker.
 */
#define NGX_HTTP_LLM_ROUTER_LEARN_EVERY  100


static void ngx_http_llm_router_learn_stats(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_uint_t bucket,
    llmr_bucket_stats_t *st);


/* when this worker last ran the learning rule for a bucket */
static ngx_msec_t  ngx_http_llm_router_learn_last[NGX_HTTP_LLM_ROUTER_BUCKETS];


/* "llm_feedback_learn off | [min_samples=N] [low=Q] [high=Q] ..." */

char *
ngx_http_llm_router_feedback_learn(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    char        *end;
    double       v;
    u_char      *eq;
    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        lmcf->learn_enabled = 0;
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "implicit=on") == 0) {
            lmcf->implicit = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "implicit=off") == 0) {
            lmcf->implicit = 0;
            continue;
        }

        eq = (u_char *) ngx_strchr(value[i].data, '=');
        if (eq == NULL) {
            goto invalid;
        }

        /* the arguments are NUL-terminated */

        v = strtod((char *) eq + 1, &end);

        if (end == (char *) eq + 1) {
            goto invalid;
        }

        if (*end == '%' && end[1] == '\0') {
            v /= 100;

        } else if (*end != '\0') {
            goto invalid;
        }

#define ngx_key_is(k)                                                         \
        ((size_t) (eq - value[i].data) == sizeof(k) - 1                       \
         && ngx_strncmp(value[i].data, k, sizeof(k) - 1) == 0)

        if (ngx_key_is("min_samples") && v >= 1 && v <= 1e6) {
            lmcf->learn.min_samples = v;

        } else if (ngx_key_is("low") && v >= 0 && v <= 1) {
            lmcf->learn.low = v;

        } else if (ngx_key_is("high") && v >= 0 && v <= 1) {
            lmcf->learn.high = v;

        } else if (ngx_key_is("demote_samples") && v >= 1 && v <= 1e6) {
            lmcf->learn.demote_samples = v;

        } else if (ngx_key_is("explore") && v >= 0 && v <= 0.5) {
            lmcf->learn.explore = v;

        } else if (ngx_key_is("max_offset") && v >= 0 && v <= 4
                   && v == (int) v)
        {
            lmcf->learn.max_offset = (int) v;

        } else if (ngx_key_is("implicit_weight") && v >= 0 && v <= 1) {
            lmcf->learn.implicit_weight = v;

        } else if (ngx_key_is("gain") && v >= 0 && v <= 1) {
            lmcf->learn.gain = v;

        } else if (ngx_key_is("shift") && v >= 0 && v <= 10) {
            lmcf->learn.shift = v;

        } else if (ngx_key_is("shift_prior") && v >= 0 && v <= 1e6) {
            lmcf->learn.shift_prior = v;

        } else {
            goto invalid;
        }

#undef ngx_key_is
    }

    if (lmcf->learn.low >= lmcf->learn.high) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_feedback_learn\": low= must be under high=");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"llm_feedback_learn\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/*
 * Adds a quality sample of a weight to a bucket's sums for the tier it
 * was served at, and moves the bucket's offset when the learning rule
 * says so (the fleet's sums once Redis has them, this instance's before).
 */

void
ngx_http_llm_router_learn_add(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_uint_t bucket,
    ngx_uint_t tier, double quality, double weight, ngx_log_t *log)
{
    ngx_http_llm_router_learn_t  *l;

    if (bucket >= NGX_HTTP_LLM_ROUTER_BUCKETS || tier >= LLMR_TIER_N
        || quality < 0 || weight <= 0)
    {
        return;
    }

    l = &zone->sh->learn[bucket][tier];

    (void) ngx_atomic_fetch_add(&l->total[0],
                                (ngx_atomic_uint_t) (weight * 1000 + 0.5));
    (void) ngx_atomic_fetch_add(&l->total[1],
                                (ngx_atomic_uint_t) (weight * quality * 1000
                                                     + 0.5));

    /*
     * The rule runs at most every LEARN_EVERY a bucket in a worker (and
     * after every fleet pull), but at every explicit report.
     */

    if (weight < 1
        && ngx_current_msec - ngx_http_llm_router_learn_last[bucket]
           < NGX_HTTP_LLM_ROUTER_LEARN_EVERY)
    {
        return;
    }

    ngx_http_llm_router_learn_last[bucket] = ngx_current_msec;

    ngx_http_llm_router_learn_update(zone, lmcf, bucket, log);
    ngx_http_llm_router_learn_shifts(zone, lmcf);
}


/* a bucket's evidence: the fleet's sums plus what is not sent yet */

static void
ngx_http_llm_router_learn_stats(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_uint_t bucket,
    llmr_bucket_stats_t *st)
{
    ngx_uint_t                    t, fleet;
    ngx_http_llm_router_learn_t  *l;

    fleet = (lmcf->redis && zone->sh->fleet_known);

    for (t = 0; t < LLMR_TIER_N; t++) {
        l = &zone->sh->learn[bucket][t];

        st->weight[t] = (double) ngx_http_llm_router_learn_sum(l, 0, fleet)
                        / 1000;
        st->quality[t] = (double) ngx_http_llm_router_learn_sum(l, 1, fleet)
                         / 1000;
    }
}


/*
 * Every bucket's shift from the evidence of all of them (the fleet's once
 * Redis has it): llmr_learn_shifts().  Lock-free like the offsets: a
 * request reads one float.
 */

void
ngx_http_llm_router_learn_shifts(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    double                        shift[NGX_HTTP_LLM_ROUTER_BUCKETS];
    ngx_uint_t                    k;
    llmr_bucket_stats_t           st[NGX_HTTP_LLM_ROUTER_BUCKETS];

    if (!lmcf->learn_enabled || !(lmcf->learn.shift > 0)) {
        return;
    }

    for (k = 0; k < NGX_HTTP_LLM_ROUTER_BUCKETS; k++) {
        ngx_http_llm_router_learn_stats(zone, lmcf, k, &st[k]);
    }

    llmr_learn_shifts(&lmcf->learn, st, NGX_HTTP_LLM_ROUTER_BUCKETS, shift);

    for (k = 0; k < NGX_HTTP_LLM_ROUTER_BUCKETS; k++) {
        zone->sh->shift[k] = (float) shift[k];
    }
}


void
ngx_http_llm_router_learn_update(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_uint_t bucket, ngx_log_t *log)
{
    int                  old, new, base;
    llmr_bucket_stats_t  st;

    if (!lmcf->learn_enabled) {
        return;
    }

    ngx_http_llm_router_learn_stats(zone, lmcf, bucket, &st);

    base = bucket % LLMR_TIER_N;
    old = zone->sh->offset[bucket];
    new = llmr_learn_offset(&lmcf->learn, &st, base, old);

    if (new == old) {
        return;
    }

    zone->sh->offset[bucket] = (int8_t) new;

    if (lmcf->redis) {
        /* a proposal: the fleet's value wins at the next pull */
        zone->sh->proposed[bucket] = 1;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "llm_router: learned: %s prompts of tier %s now go to "
                  "tier %s (offset %d, was %d)",
                  llmr_domain_name(bucket / LLMR_TIER_N),
                  llmr_tier_name(base),
                  llmr_tier_name(ngx_max(0, ngx_min(LLMR_TIER_N - 1,
                                                    base + new))),
                  new, old);
}
