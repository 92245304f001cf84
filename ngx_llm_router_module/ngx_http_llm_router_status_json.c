
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"
#include "ngx_http_llm_router_status.h"


/*
 * llm_status as JSON, the status contract: the instance's and the fleet's
 * counters by model, tier and domain, health, budgets, the forecast, the
 * timeline, the last decisions and what the feedback loop learned.
 */


/* the most the budgets' JSON takes: a 32-byte name and numbers each */
#define NGX_HTTP_LLM_ROUTER_BUDGETS_JSON                                     \
    (16 + NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES * 512)


static void ngx_http_llm_router_json_quality(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_view(ngx_http_llm_router_status_t *st,
    ngx_uint_t view);
static void ngx_http_llm_router_json_key(ngx_http_llm_router_status_t *st,
    ngx_http_llm_router_stat_t *s, ngx_uint_t view, ngx_uint_t full,
    const llmr_model_t *m);
static ngx_int_t ngx_http_llm_router_percentile(ngx_atomic_t *v, double q);
static void ngx_http_llm_router_json_health(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_forecast(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_timeline(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_decisions(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_passthrough(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_suggestions(
    ngx_http_llm_router_status_t *st);


void
ngx_http_llm_router_json(ngx_http_llm_router_status_t *st)
{
    u_char                           *p, *last;
    uint64_t                          pending;
    ngx_http_llm_router_shctx_t      *sh;
    ngx_http_llm_router_out_t        *o;
    ngx_http_llm_router_main_conf_t  *lmcf;

    sh = st->sh;
    o = &st->out;
    lmcf = st->lmcf;

    ngx_http_llm_router_outf(o, "{\"version\":\"%s\",\"instance_id\":\"%s\","
                             "\"time\":%T,\"reference_model\":",
                             NGX_HTTP_LLM_ROUTER_VERSION, sh->instance,
                             st->now);

    if (lmcf->reference >= 0) {
        ngx_http_llm_router_out_json(o,
                (u_char *) lmcf->registry->models[lmcf->reference].name,
                ngx_strlen(lmcf->registry->models[lmcf->reference].name));

    } else {
        ngx_http_llm_router_outf(o, "null");
    }

    ngx_http_llm_router_outf(o, ",\"instance\":");
    ngx_http_llm_router_json_view(st, NGX_HTTP_LLM_ROUTER_VIEW_INSTANCE);

    if (st->fleet) {
        ngx_http_llm_router_outf(o, ",\"fleet\":");
        ngx_http_llm_router_json_view(st, NGX_HTTP_LLM_ROUTER_VIEW_FLEET);
    }

    /* the budgets' own writer, into room for every entry */

    ngx_http_llm_router_outf(o, ",\"budgets\":");

    p = ngx_http_llm_router_out_reserve(o, NGX_HTTP_LLM_ROUTER_BUDGETS_JSON);

    if (p) {
        last = ngx_http_llm_router_budget_status(p,
                                        p + NGX_HTTP_LLM_ROUTER_BUDGETS_JSON,
                                        sh);
        o->size += last - p;
        o->b->last = last;
    }

    ngx_http_llm_router_outf(o, ",\"health\":");
    ngx_http_llm_router_json_health(st);

    ngx_http_llm_router_outf(o, ",\"redis\":{\"state\":\"%s\",\"error\":",
                             !st->fleet ? "off"
                             : sh->redis_state == NGX_HTTP_LLM_ROUTER_REDIS_UP
                               ? "up" : "down");

    if (st->fleet && sh->redis_error[0]) {
        ngx_http_llm_router_out_json(o, sh->redis_error,
                                     ngx_strnlen(sh->redis_error,
                                                 sizeof(sh->redis_error)));

    } else {
        ngx_http_llm_router_outf(o, "null");
    }

    pending = sh->all.total[NGX_HTTP_LLM_ROUTER_C_REQUESTS]
              - sh->all.acked[NGX_HTTP_LLM_ROUTER_C_REQUESTS];

    ngx_http_llm_router_outf(o, ",\"pending_deltas\":%uL,\"last_flush\":%T,"
                             "\"last_attempt\":%T},\"forecast\":",
                             st->fleet ? pending : 0, sh->last_flush,
                             sh->last_attempt);

    ngx_http_llm_router_json_forecast(st);

    ngx_http_llm_router_outf(o, ",\"timeline\":");
    ngx_http_llm_router_json_timeline(st);

    ngx_http_llm_router_outf(o, ",\"quality\":");
    ngx_http_llm_router_json_quality(st);

    ngx_http_llm_router_json_suggestions(st);

    ngx_http_llm_router_outf(o, ",\"learned_state\":");

    if (st->lmcf->state.len) {
        ngx_http_llm_router_outf(o, "{\"file\":");
        ngx_http_llm_router_out_json(o, st->lmcf->state.data,
                                     st->lmcf->state.len);
        ngx_http_llm_router_outf(o, ",\"saved\":%T,\"error\":",
                                 sh->state_saved);

        if (sh->state_error[0]) {
            ngx_http_llm_router_out_json(o, sh->state_error,
                                         ngx_strnlen(sh->state_error,
                                                     sizeof(sh->state_error)));

        } else {
            ngx_http_llm_router_outf(o, "null");
        }

        ngx_http_llm_router_outf(o, "}");

    } else {
        ngx_http_llm_router_outf(o, "null");
    }

    if (st->decisions) {
        ngx_http_llm_router_outf(o, ",\"decisions\":");
        ngx_http_llm_router_json_decisions(st);
    }

    ngx_http_llm_router_outf(o, "}\n");
}


/*
 * Quality per tier served, from the feedback loop's sums (explicit
 * reports and implicit signals, weighted): {"available", "source",
 * "tiers": {TIER: {"samples", "quality"}}}.
 */

static void
ngx_http_llm_router_json_quality(ngx_http_llm_router_status_t *st)
{
    double                        w, q;
    ngx_uint_t                    k, t, n;
    ngx_http_llm_router_out_t    *o;
    ngx_http_llm_router_learn_t  *l;

    o = &st->out;
    n = 0;

    for (k = 0; k < NGX_HTTP_LLM_ROUTER_BUCKETS; k++) {
        for (t = 0; t < LLMR_TIER_N; t++) {
            n += ngx_http_llm_router_learn_sum(&st->sh->learn[k][t], 0,
                                               st->fleet);
        }
    }

    ngx_http_llm_router_outf(o, "{\"available\":%s,\"source\":\"%s\","
                             "\"tiers\":{", n ? "true" : "false",
                             st->fleet ? "fleet" : "instance");

    n = 0;

    for (t = 0; t < LLMR_TIER_N; t++) {
        w = 0;
        q = 0;

        for (k = 0; k < NGX_HTTP_LLM_ROUTER_BUCKETS; k++) {
            l = &st->sh->learn[k][t];

            w += (double) ngx_http_llm_router_learn_sum(l, 0, st->fleet)
                 / 1000;
            q += (double) ngx_http_llm_router_learn_sum(l, 1, st->fleet)
                 / 1000;
        }

        if (w <= 0) {
            continue;
        }

        ngx_http_llm_router_outf(o, "%s\"%s\":{\"samples\":%.3f,"
                                 "\"quality\":%.4f}", n++ ? "," : "",
                                 llmr_tier_name(t), w, q / w);
    }

    ngx_http_llm_router_outf(o, "}}");
}


static void
ngx_http_llm_router_json_view(ngx_http_llm_router_status_t *st,
    ngx_uint_t view)
{
    int64_t                       saved;
    uint64_t                      cost, ref, total, n;
    ngx_uint_t                    i, a, shown;
    ngx_atomic_t                 *v;
    ngx_http_llm_router_out_t    *o;
    ngx_http_llm_router_slot_t   *slot;
    ngx_http_llm_router_shctx_t  *sh;

    sh = st->sh;
    o = &st->out;

    v = (view == NGX_HTTP_LLM_ROUTER_VIEW_FLEET) ? sh->all.fleet
                                                  : sh->all.total;

    ngx_http_llm_router_outf(o, "{\"requests\":%uA,\"cost_usd\":",
                             v[NGX_HTTP_LLM_ROUTER_C_REQUESTS]);
    ngx_http_llm_router_out_usd(o, v[NGX_HTTP_LLM_ROUTER_C_COST]);

    if (view == NGX_HTTP_LLM_ROUTER_VIEW_INSTANCE) {
        ngx_http_llm_router_outf(o, ",\"rejected\":%uA,\"defaulted\":%uA,"
                                 "\"fallbacks\":%uA,\"escalations\":%uA,"
                                 "\"escalations_suggested\":%uA,"
                                 "\"budget_rejects\":%uA,"
                                 "\"budget_downgrades\":%uA,"
                                 "\"ab\":{\"a\":{\"requests\":%uA,"
                                 "\"cost_usd\":%.6f},\"b\":{\"requests\":%uA,"
                                 "\"cost_usd\":%.6f}}",
                                 sh->rejected, sh->defaulted, sh->fallbacks,
                                 sh->escalations, sh->escalations_suggested,
                                 sh->budget_rejects, sh->budget_downgrades,
                                 sh->ab_requests[0],
                                 (double) sh->ab_cost[0] / 1e6,
                                 sh->ab_requests[1],
                                 (double) sh->ab_cost[1] / 1e6);

        ngx_http_llm_router_json_passthrough(st);
    }

    /* savings against the reference model */

    cost = v[NGX_HTTP_LLM_ROUTER_C_COST];
    ref = v[NGX_HTTP_LLM_ROUTER_C_REF_COST];
    saved = (int64_t) (ref - cost);

    ngx_http_llm_router_outf(o, ",\"savings\":{\"reference_model\":");

    if (st->lmcf->reference >= 0) {
        ngx_http_llm_router_out_json(o,
            (u_char *) st->lmcf->registry->models[st->lmcf->reference].name,
            ngx_strlen(st->lmcf->registry->models[st->lmcf->reference].name));

    } else {
        ngx_http_llm_router_outf(o, "null");
    }

    ngx_http_llm_router_outf(o, ",\"actual_usd\":");
    ngx_http_llm_router_out_usd(o, cost);
    ngx_http_llm_router_outf(o, ",\"reference_usd\":");
    ngx_http_llm_router_out_usd(o, ref);
    ngx_http_llm_router_outf(o, ",\"saved_usd\":%s",
                             saved < 0 ? "-" : "");
    ngx_http_llm_router_out_usd(o, saved < 0 ? (uint64_t) -saved
                                             : (uint64_t) saved);

    if (ref) {
        ngx_http_llm_router_outf(o, ",\"saved_pct\":%.2f}",
                                 100.0 * (double) saved / (double) ref);

    } else {
        ngx_http_llm_router_outf(o, ",\"saved_pct\":null}");
    }

    /* the tier mix */

    total = 0;

    for (i = 0; i < LLMR_TIER_N; i++) {
        total += ngx_http_llm_router_status_key(st, "tier", i, view)
                     [NGX_HTTP_LLM_ROUTER_C_REQUESTS];
    }

    ngx_http_llm_router_outf(o, ",\"tier_mix\":{");

    for (i = 0; i < LLMR_TIER_N; i++) {
        n = ngx_http_llm_router_status_key(st, "tier", i, view)
                [NGX_HTTP_LLM_ROUTER_C_REQUESTS];

        ngx_http_llm_router_outf(o, "%s\"%s\":{\"requests\":%uL,"
                                 "\"pct\":%.2f}",
                                 i ? "," : "", llmr_tier_name(i), n,
                                 total ? 100.0 * n / total : 0.0);
    }

    ngx_http_llm_router_outf(o, "},\"totals\":");
    ngx_http_llm_router_json_key(st, &sh->all, view, 1, NULL);

    ngx_http_llm_router_outf(o, ",\"models\":{");

    shown = 0;

    for (i = 0; i < st->nslots; i++) {
        slot = &sh->slots[i];

        if (view == NGX_HTTP_LLM_ROUTER_VIEW_INSTANCE
            ? st->model[i] == NULL
              && slot->stat.total[NGX_HTTP_LLM_ROUTER_C_REQUESTS] == 0
            : slot->stat.fleet[NGX_HTTP_LLM_ROUTER_C_REQUESTS] == 0)
        {
            continue;
        }

        if (shown++) {
            ngx_http_llm_router_outf(o, ",");
        }

        ngx_http_llm_router_out_json(o, slot->name, slot->len);
        ngx_http_llm_router_outf(o, ":");
        ngx_http_llm_router_json_key(st, &slot->stat, view, 2, st->model[i]);

        /* the requests it served in another API than the client's */

        ngx_http_llm_router_outf(o, ",\"api\":");

        if (st->model[i]) {
            ngx_http_llm_router_outf(o, "\"%s\"",
                                     llmr_api_name(st->model[i]->api));

        } else {
            ngx_http_llm_router_outf(o, "null");
        }

        ngx_http_llm_router_outf(o, ",\"translated_from\":{");

        for (a = 0; a < LLMR_API_N; a++) {
            ngx_http_llm_router_outf(o, "%s\"%s\":%uA", a ? "," : "",
                                     llmr_api_name(a), slot->translated[a]);
        }

        ngx_http_llm_router_outf(o, "}}");
    }

    ngx_http_llm_router_outf(o, "},\"tiers\":{");

    for (i = 0; i < LLMR_TIER_N; i++) {
        ngx_http_llm_router_outf(o, "%s\"%s\":", i ? "," : "",
                                 llmr_tier_name(i));
        ngx_http_llm_router_json_key(st, &sh->tiers[i], view, 0, NULL);
    }

    ngx_http_llm_router_outf(o, "},\"domains\":{");

    for (i = 0; i < LLMR_DOMAIN_N; i++) {
        ngx_http_llm_router_outf(o, "%s\"%s\":", i ? "," : "",
                                 llmr_domain_name(i));
        ngx_http_llm_router_json_key(st, &sh->domains[i], view, 0, NULL);
    }

    ngx_http_llm_router_outf(o, "}}");
}


/*
 * One key's counters; full: the error classes and the latency too, and
 * with full == 2 (a model) its provider, from m (NULL: not configured
 * here).
 */

static void
ngx_http_llm_router_json_key(ngx_http_llm_router_status_t *st,
    ngx_http_llm_router_stat_t *s, ngx_uint_t view, ngx_uint_t full,
    const llmr_model_t *m)
{
    ngx_int_t                   pct;
    ngx_uint_t                  i, errors, n;
    ngx_atomic_t               *v;
    ngx_http_llm_router_out_t  *o;

    static double  q[] = { 0.5, 0.9, 0.95, 0.99 };
    static char   *qname[] = { "p50", "p90", "p95", "p99" };

    o = &st->out;
    v = (view == NGX_HTTP_LLM_ROUTER_VIEW_FLEET) ? s->fleet : s->total;

    errors = v[NGX_HTTP_LLM_ROUTER_C_ERR_4XX] + v[NGX_HTTP_LLM_ROUTER_C_ERR_429]
             + v[NGX_HTTP_LLM_ROUTER_C_ERR_5XX]
             + v[NGX_HTTP_LLM_ROUTER_C_ERR_TIMEOUT];

    ngx_http_llm_router_outf(o, "{\"requests\":%uA,\"errors\":%ui,"
                             "\"input_tokens\":%uA,\"output_tokens\":%uA,"
                             "\"cost_usd\":",
                             v[NGX_HTTP_LLM_ROUTER_C_REQUESTS], errors,
                             v[NGX_HTTP_LLM_ROUTER_C_INPUT_TOKENS],
                             v[NGX_HTTP_LLM_ROUTER_C_OUTPUT_TOKENS]);
    ngx_http_llm_router_out_usd(o, v[NGX_HTTP_LLM_ROUTER_C_COST]);
    ngx_http_llm_router_outf(o, ",\"cost_estimated_usd\":");
    ngx_http_llm_router_out_usd(o, v[NGX_HTTP_LLM_ROUTER_C_COST_EST]);
    ngx_http_llm_router_outf(o, ",\"reference_cost_usd\":");
    ngx_http_llm_router_out_usd(o, v[NGX_HTTP_LLM_ROUTER_C_REF_COST]);

    if (!full) {
        ngx_http_llm_router_outf(o, "}");
        return;
    }

    n = 0;

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_HIST_N; i++) {
        n += v[NGX_HTTP_LLM_ROUTER_C_HIST + i];
    }

    ngx_http_llm_router_outf(o, ",\"errors_4xx\":%uA,\"errors_429\":%uA,"
                             "\"errors_5xx\":%uA,\"errors_timeout\":%uA,"
                             "\"latency_ms_sum\":%uA,\"latency_ms_avg\":%uA,"
                             "\"latency_ms\":{",
                             v[NGX_HTTP_LLM_ROUTER_C_ERR_4XX],
                             v[NGX_HTTP_LLM_ROUTER_C_ERR_429],
                             v[NGX_HTTP_LLM_ROUTER_C_ERR_5XX],
                             v[NGX_HTTP_LLM_ROUTER_C_ERR_TIMEOUT],
                             v[NGX_HTTP_LLM_ROUTER_C_LATENCY],
                             n ? v[NGX_HTTP_LLM_ROUTER_C_LATENCY] / n : 0);

    for (i = 0; i < 4; i++) {
        pct = ngx_http_llm_router_percentile(v, q[i]);

        if (pct < 0) {
            ngx_http_llm_router_outf(o, "%s\"%s\":null", i ? "," : "",
                                     qname[i]);

        } else {
            ngx_http_llm_router_outf(o, "%s\"%s\":%i", i ? "," : "",
                                     qname[i], pct);
        }
    }

    ngx_http_llm_router_outf(o, "},\"latency_hist\":[");

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_HIST_N; i++) {
        ngx_http_llm_router_outf(o, "%s%uA", i ? "," : "",
                                 v[NGX_HTTP_LLM_ROUTER_C_HIST + i]);
    }

    ngx_http_llm_router_outf(o, "]");

    if (full == 2) {
        ngx_http_llm_router_outf(o, ",\"provider\":");

        if (m) {
            ngx_http_llm_router_out_json(o, (u_char *) m->provider,
                                         ngx_strlen(m->provider));

        } else {
            ngx_http_llm_router_outf(o, "null");
        }

        /* the caller closes it, after what is the model's own */
        return;
    }

    ngx_http_llm_router_outf(o, "}");
}


/*
 * The q-quantile of a latency histogram in ms, as the histogram knows it:
 * the upper bound of the bucket that holds it (the quantile is at most
 * that).  Interpolating inside a bucket would invent figures: requests
 * that all took 1 ms would show a p50 of 50 ms.  The open last bucket
 * gives its lower bound (the quantile is above it).  -1 without data.
 */

static ngx_int_t
ngx_http_llm_router_percentile(ngx_atomic_t *v, double q)
{
    double      target, below;
    ngx_uint_t  i, n;

    n = 0;

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_HIST_N; i++) {
        n += v[NGX_HTTP_LLM_ROUTER_C_HIST + i];
    }

    if (n == 0) {
        return -1;
    }

    target = q * n;
    below = 0;

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_HIST_N - 1; i++) {
        below += v[NGX_HTTP_LLM_ROUTER_C_HIST + i];

        if (below >= target) {
            return (ngx_int_t) llmr_latency_bounds[i];
        }
    }

    return (ngx_int_t) llmr_latency_bounds[NGX_HTTP_LLM_ROUTER_HIST_N - 2];
}


/*
 * {MODEL: {"state", "fails", "requests", "error_rate", "p95_ms", "until",
 * "reason", "fleet_until"}} for the models configured here.
 */

static void
ngx_http_llm_router_json_health(ngx_http_llm_router_status_t *st)
{
    uint64_t                       now, until, p95;
    unsigned                       req, fail;
    ngx_uint_t                     i, n, state;
    llmr_health_t                 *h;
    ngx_http_llm_router_out_t     *o;
    ngx_http_llm_router_slot_t    *slot;

    o = &st->out;
    now = ngx_http_llm_router_now_ms();
    n = 0;

    ngx_http_llm_router_outf(o, "{");

    for (i = 0; i < st->nslots; i++) {
        slot = &st->sh->slots[i];

        if (!slot->local) {
            continue;
        }

        h = &slot->health;
        state = llmr_health_state(h, &st->lmcf->health.c, now);
        p95 = llmr_health_window(h, &st->lmcf->health.c, now, &req, &fail, 1);
        until = ngx_max(h->until, h->fleet_until);

        if (state == LLMR_DOWN && until <= now) {
            state = 3;
        }

        if (n++) {
            ngx_http_llm_router_outf(o, ",");
        }

        ngx_http_llm_router_out_json(o, slot->name, slot->len);

        ngx_http_llm_router_outf(o, ":{\"state\":\"%s\",\"fails\":%ui,"
                                 "\"requests\":%ui,\"error_rate\":%.3f,"
                                 "\"p95_ms\":%uL,\"until\":%uL,"
                                 "\"fleet_until\":%uL,\"probing\":%s,"
                                 "\"reason\":",
                                 ngx_http_llm_router_status_states[state],
                                 (ngx_uint_t) h->consecutive,
                                 (ngx_uint_t) req,
                                 req ? (double) fail / req : 0.0, p95,
                                 h->until > now ? h->until : (uint64_t) 0,
                                 h->fleet_until > now ? h->fleet_until
                                                      : (uint64_t) 0,
                                 h->probes ? "true" : "false");

        if (h->reason[0]) {
            ngx_http_llm_router_out_json(o, (u_char *) h->reason,
                                         ngx_strnlen((u_char *) h->reason,
                                                     sizeof(h->reason)));

        } else {
            ngx_http_llm_router_outf(o, "null");
        }

        ngx_http_llm_router_outf(o, "}");
    }

    ngx_http_llm_router_outf(o, "}");
}


/*
 * The cost at the current rate (the last five minutes), and, with ?rps=
 * or a token mix (?input_tokens=, ?output_tokens=), for that load: a
 * token mix is priced on this instance's model mix so far.
 */

static void
ngx_http_llm_router_json_forecast(ngx_http_llm_router_status_t *st)
{
    double                           rps, usd, ref_usd, per, ref_per, share;
    double                           in, out, requests, sum;
    ngx_uint_t                       i;
    ngx_atomic_t                    *v;
    const llmr_model_t              *ref;
    ngx_http_llm_router_out_t       *o;
    ngx_http_llm_router_rate_sum_t   rs;

    o = &st->out;
    v = st->sh->all.total;

    ngx_http_llm_router_status_rate(st, &rs);

    rps = rs.window > 0 ? rs.requests / rs.window : 0;
    usd = rs.window > 0 ? rs.cost / rs.window : 0;
    ref_usd = rs.window > 0 ? rs.ref_cost / rs.window : 0;

    ngx_http_llm_router_outf(o, "{\"window_s\":%.0f,\"requests\":%.0f,"
                             "\"rps\":%.4f,\"usd_per_hour\":%.6f,"
                             "\"usd_per_day\":%.6f,\"usd_per_month\":%.6f,"
                             "\"reference_usd_per_month\":%.6f",
                             rs.window, rs.requests, rps, usd * 3600,
                             usd * 86400, usd * 86400 * 30,
                             ref_usd * 86400 * 30);

    if (st->rps < 0 && st->in_tokens < 0 && st->out_tokens < 0) {
        ngx_http_llm_router_outf(o, ",\"scenario\":null}");
        return;
    }

    /* per request: the window's average, else the instance's so far */

    requests = (double) v[NGX_HTTP_LLM_ROUTER_C_REQUESTS];

    if (rs.requests > 0) {
        per = rs.cost / rs.requests;
        ref_per = rs.ref_cost / rs.requests;

    } else if (requests > 0) {
        per = v[NGX_HTTP_LLM_ROUTER_C_COST] / 1e6 / requests;
        ref_per = v[NGX_HTTP_LLM_ROUTER_C_REF_COST] / 1e6 / requests;

    } else {
        per = 0;
        ref_per = 0;
    }

    in = (double) st->in_tokens;
    out = (double) st->out_tokens;

    if (st->in_tokens >= 0 || st->out_tokens >= 0) {

        /* the other one: the average so far */

        if (in < 0) {
            in = requests ? v[NGX_HTTP_LLM_ROUTER_C_INPUT_TOKENS] / requests
                          : 0;
        }

        if (out < 0) {
            out = requests ? v[NGX_HTTP_LLM_ROUTER_C_OUTPUT_TOKENS] / requests
                           : 0;
        }

        sum = 0;
        per = 0;

        for (i = 0; i < st->nslots; i++) {
            if (st->model[i]) {
                sum += st->sh->slots[i].stat.total[
                                            NGX_HTTP_LLM_ROUTER_C_REQUESTS];
            }
        }

        for (i = 0; i < st->nslots; i++) {
            if (st->model[i] == NULL) {
                continue;
            }

            share = sum ? st->sh->slots[i].stat.total[
                                        NGX_HTTP_LLM_ROUTER_C_REQUESTS] / sum
                        : 0;

            per += share * llmr_model_cost(st->model[i], (int64_t) in,
                                           (int64_t) out);
        }

        ref = (st->lmcf->reference >= 0)
              ? &st->lmcf->registry->models[st->lmcf->reference] : NULL;

        ref_per = ref ? llmr_model_cost(ref, (int64_t) in, (int64_t) out)
                      : 0;
    }

    rps = st->rps >= 0 ? st->rps : rps;

    ngx_http_llm_router_outf(o, ",\"scenario\":{\"rps\":%.4f,"
                             "\"input_tokens\":%.0f,\"output_tokens\":%.0f,"
                             "\"usd_per_request\":%.8f,"
                             "\"reference_usd_per_request\":%.8f,"
                             "\"usd_per_hour\":%.6f,\"usd_per_day\":%.6f,"
                             "\"usd_per_month\":%.6f,"
                             "\"reference_usd_per_month\":%.6f}}",
                             rps, in < 0 ? 0 : in, out < 0 ? 0 : out,
                             per, ref_per, per * rps * 3600,
                             per * rps * 86400, per * rps * 86400 * 30,
                             ref_per * rps * 86400 * 30);
}


/*
 * The last ten minutes in steps of 10 s, oldest first, from the step of
 * the first request: [time, requests, errors, cost_usd, reference_usd].
 */

static void
ngx_http_llm_router_json_timeline(ngx_http_llm_router_status_t *st)
{
    time_t                       epoch, e;
    ngx_uint_t                   n;
    ngx_http_llm_router_rate_t  *rate;
    ngx_http_llm_router_out_t   *o;

    o = &st->out;
    epoch = st->now / NGX_HTTP_LLM_ROUTER_RATE_STEP;
    n = 0;

    ngx_http_llm_router_outf(o, "{\"step_s\":%d,\"points\":[",
                             NGX_HTTP_LLM_ROUTER_RATE_STEP);

    for (e = epoch - NGX_HTTP_LLM_ROUTER_RATE_N + 1; e <= epoch; e++) {

        if (st->sh->started == 0
            || e < st->sh->started / NGX_HTTP_LLM_ROUTER_RATE_STEP)
        {
            continue;
        }

        rate = &st->sh->rate[e % NGX_HTTP_LLM_ROUTER_RATE_N];

        if (rate->epoch != e) {
            ngx_http_llm_router_outf(o, "%s[%T,0,0,0,0]", n++ ? "," : "",
                                     e * NGX_HTTP_LLM_ROUTER_RATE_STEP);
            continue;
        }

        ngx_http_llm_router_outf(o, "%s[%T,%uL,%uL,", n++ ? "," : "",
                                 e * NGX_HTTP_LLM_ROUTER_RATE_STEP,
                                 rate->requests, rate->errors);
        ngx_http_llm_router_out_usd(o, rate->cost);
        ngx_http_llm_router_outf(o, ",");
        ngx_http_llm_router_out_usd(o, rate->ref_cost);
        ngx_http_llm_router_outf(o, "]");
    }

    ngx_http_llm_router_outf(o, "]}");
}


/* the last N decisions, newest first */

static void
ngx_http_llm_router_json_decisions(ngx_http_llm_router_status_t *st)
{
    u_char                          *p, *q, *end;
    uint64_t                         i, n;
    ngx_uint_t                       k, slot;
    ngx_http_llm_router_out_t       *o;
    ngx_http_llm_router_shctx_t     *sh;
    ngx_http_llm_router_decision_t  *d;

    sh = st->sh;
    o = &st->out;

    n = ngx_min((uint64_t) st->decisions, sh->ndecisions);
    n = ngx_min(n, (uint64_t) NGX_HTTP_LLM_ROUTER_DECISIONS);

    ngx_http_llm_router_outf(o, "[");

    for (i = 0; i < n; i++) {
        d = &sh->decisions[(sh->ndecisions - 1 - i)
                           % NGX_HTTP_LLM_ROUTER_DECISIONS];

        ngx_http_llm_router_outf(o, "%s{\"time\":%uL.%03uL,\"request_id\":",
                                 i ? "," : "", d->msec / 1000,
                                 d->msec % 1000);

        if (d->id_len) {
            ngx_http_llm_router_out_json(o, d->id, d->id_len);

        } else {
            ngx_http_llm_router_outf(o, "null");
        }

        if (d->tier < LLMR_TIER_N) {
            ngx_http_llm_router_outf(o, ",\"tier\":\"%s\",\"domain\":\"%s\","
                                     "\"score\":%ui.%04ui,"
                                     "\"confidence\":%ui.%04ui",
                                     llmr_tier_name(d->tier),
                                     llmr_domain_name(d->domain),
                                     (ngx_uint_t) d->score / 10000,
                                     (ngx_uint_t) d->score % 10000,
                                     (ngx_uint_t) d->confidence / 10000,
                                     (ngx_uint_t) d->confidence % 10000);

        } else {
            ngx_http_llm_router_outf(o, ",\"tier\":null,\"domain\":null,"
                                     "\"score\":null,\"confidence\":null");
        }

        ngx_http_llm_router_outf(o, ",\"model\":");

        slot = (d->slot >= 0) ? (ngx_uint_t) d->slot : st->nslots;

        if (slot < st->nslots) {
            ngx_http_llm_router_out_json(o, sh->slots[slot].name,
                                         sh->slots[slot].len);
            ngx_http_llm_router_outf(o, ",\"provider\":");

            if (st->model[slot]) {
                ngx_http_llm_router_out_json(o,
                                 (u_char *) st->model[slot]->provider,
                                 ngx_strlen(st->model[slot]->provider));

            } else {
                ngx_http_llm_router_outf(o, "null");
            }

        } else {
            ngx_http_llm_router_outf(o, "null,\"provider\":null");
        }

        ngx_http_llm_router_outf(o, ",\"reasons\":[");

        p = d->reason;
        end = p + ngx_strnlen(d->reason, sizeof(d->reason));

        for (k = 0; p < end; k++) {
            q = ngx_strlchr(p, end, ',');
            q = q ? q : end;

            if (k) {
                ngx_http_llm_router_outf(o, ",");
            }

            ngx_http_llm_router_out_json(o, p, q - p);
            p = q + 1;
        }

        ngx_http_llm_router_outf(o, "],\"cost_usd\":");
        ngx_http_llm_router_out_usd(o, d->cost);
        ngx_http_llm_router_outf(o, ",\"reference_cost_usd\":");
        ngx_http_llm_router_out_usd(o, d->ref_cost);
        ngx_http_llm_router_outf(o, ",\"status\":%ui,\"latency_ms\":",
                                 (ngx_uint_t) d->status);

        if (d->latency == (uint32_t) -1) {
            ngx_http_llm_router_outf(o, "null");

        } else {
            ngx_http_llm_router_outf(o, "%uD", d->latency);
        }

        ngx_http_llm_router_outf(o, ",\"attempts\":%ui}",
                                 (ngx_uint_t) d->attempts);
    }

    ngx_http_llm_router_outf(o, "]");
}


/* "passthrough": {"openai": {"embeddings": N, ...}, ...}, nonzero only */

static void
ngx_http_llm_router_json_passthrough(ngx_http_llm_router_status_t *st)
{
    ngx_uint_t                    api, kind, n;
    ngx_atomic_uint_t             v;
    ngx_http_llm_router_shctx_t  *sh;

    sh = st->sh;

    ngx_http_llm_router_outf(&st->out, ",\"passthrough\":{");

    for (api = 0; api < LLMR_API_N; api++) {
        ngx_http_llm_router_outf(&st->out, "%s\"%s\":{", api ? "," : "",
                                 llmr_api_name((int) api));
        n = 0;

        for (kind = 0; kind < LLMR_EP_N; kind++) {
            v = sh->passthrough[api][kind];

            if (v) {
                ngx_http_llm_router_outf(&st->out, "%s\"%s\":%uA",
                                         n++ ? "," : "",
                                         llmr_endpoint_kind_name((int) kind),
                                         v);
            }
        }

        ngx_http_llm_router_outf(&st->out, "}");
    }

    ngx_http_llm_router_outf(&st->out, "}");
}


/*
 * "suggestions": what llmr_suggest() makes of the basis, and
 * "suggestion_basis": the basis itself, for llmr suggest and to show
 * what the suggestions rest on.  Computed here only, when the status is
 * asked for.
 */

static void
ngx_http_llm_router_json_suggestions(ngx_http_llm_router_status_t *st)
{
    u_char                     *p;
    size_t                      n;
    ngx_uint_t                  k, ns;
    llmr_suggestion_t          *list;
    llmr_suggest_basis_t       *b;
    ngx_http_llm_router_out_t  *o;

    o = &st->out;

    b = ngx_palloc(st->r->pool, sizeof(llmr_suggest_basis_t));
    list = ngx_palloc(st->r->pool,
                      LLMR_SUGGEST_MAX * sizeof(llmr_suggestion_t));

    if (b == NULL || list == NULL) {
        o->failed = 1;
        return;
    }

    ngx_http_llm_router_status_basis(st, b);
    ns = llmr_suggest(b, list, LLMR_SUGGEST_MAX);

    for (k = 0; k < 2; k++) {
        ngx_http_llm_router_outf(o, k ? ",\"suggestion_basis\":"
                                      : ",\"suggestions\":");

        n = k ? llmr_suggest_basis_json(b, NULL, 0)
              : llmr_suggest_json(list, ns, NULL, 0);

        p = ngx_http_llm_router_out_reserve(o, n + 1);
        if (p == NULL) {
            return;
        }

        if (k) {
            (void) llmr_suggest_basis_json(b, (char *) p, n + 1);

        } else {
            (void) llmr_suggest_json(list, ns, (char *) p, n + 1);
        }

        o->size += n;
        o->b->last = p + n;
    }
}
