
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"
#include "ngx_http_llm_router_status.h"


/*
 * llm_status as Prometheus text (format 0.0.4): the same counters as the
 * JSON, labelled by view, model, tier and domain.
 */


static void ngx_http_llm_router_prom_keys(ngx_http_llm_router_status_t *st,
    const char *kind);
static ngx_uint_t ngx_http_llm_router_prom_shown(
    ngx_http_llm_router_status_t *st, const char *kind, ngx_uint_t i,
    ngx_uint_t view);
static void ngx_http_llm_router_prom_labels(
    ngx_http_llm_router_status_t *st, const char *kind, ngx_uint_t view,
    ngx_uint_t i);
static void ngx_http_llm_router_prom_latency(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_prom_health(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_prom_translated(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_prom_passthrough(
    ngx_http_llm_router_status_t *st);


/* the error counters and their status_class label */

static const struct {
    ngx_uint_t                        counter;
    const char                       *name;
} ngx_http_llm_router_classes[] = {
    { NGX_HTTP_LLM_ROUTER_C_ERR_4XX, "4xx" },
    { NGX_HTTP_LLM_ROUTER_C_ERR_429, "429" },
    { NGX_HTTP_LLM_ROUTER_C_ERR_5XX, "5xx" },
    { NGX_HTTP_LLM_ROUTER_C_ERR_TIMEOUT, "timeout" }
};


/* "le" of the latency buckets, seconds */

static const char  *ngx_http_llm_router_le[NGX_HTTP_LLM_ROUTER_HIST_N] = {
    "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "300",
    "+Inf"
};


void
ngx_http_llm_router_prom(ngx_http_llm_router_status_t *st)
{
    double                            up;
    uint64_t                          pending;
    ngx_uint_t                        view, nviews;
    ngx_atomic_t                     *v;
    ngx_http_llm_router_out_t        *o;
    ngx_http_llm_router_shctx_t      *sh;
    ngx_http_llm_router_rate_sum_t    rs;
    ngx_http_llm_router_main_conf_t  *lmcf;

    static const char  *views[] = { "instance", "fleet" };

    sh = st->sh;
    o = &st->out;
    lmcf = st->lmcf;
    nviews = st->fleet ? 2 : 1;

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_info The router's version, instance and "
        "reference model.\n"
        "# TYPE llm_router_info gauge\n"
        "llm_router_info{version=\"%s\",instance_id=\"%s\","
        "reference_model=\"", NGX_HTTP_LLM_ROUTER_VERSION, sh->instance);

    if (lmcf->reference >= 0) {
        ngx_http_llm_router_out_label(o,
            (u_char *) lmcf->registry->models[lmcf->reference].name,
            ngx_strlen(lmcf->registry->models[lmcf->reference].name));
    }

    ngx_http_llm_router_outf(o, "\"} 1\n");

    /* totals: instance and fleet */

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_requests_total Routed requests, counted once "
        "each.\n"
        "# TYPE llm_router_requests_total counter\n");

    for (view = 0; view < nviews; view++) {
        v = view ? sh->all.fleet : sh->all.total;
        ngx_http_llm_router_outf(o,
            "llm_router_requests_total{view=\"%s\"} %uA\n",
            views[view], v[NGX_HTTP_LLM_ROUTER_C_REQUESTS]);
    }

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_cost_usd_total Cost of the served requests, "
        "USD.\n"
        "# TYPE llm_router_cost_usd_total counter\n");

    for (view = 0; view < nviews; view++) {
        v = view ? sh->all.fleet : sh->all.total;
        ngx_http_llm_router_outf(o,
            "llm_router_cost_usd_total{view=\"%s\"} ", views[view]);
        ngx_http_llm_router_out_usd(o, v[NGX_HTTP_LLM_ROUTER_C_COST]);
        ngx_http_llm_router_outf(o, "\n");
    }

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_reference_cost_usd_total What the served "
        "requests would have cost on the reference model, USD.\n"
        "# TYPE llm_router_reference_cost_usd_total counter\n");

    for (view = 0; view < nviews; view++) {
        v = view ? sh->all.fleet : sh->all.total;
        ngx_http_llm_router_outf(o,
            "llm_router_reference_cost_usd_total{view=\"%s\"} ",
            views[view]);
        ngx_http_llm_router_out_usd(o, v[NGX_HTTP_LLM_ROUTER_C_REF_COST]);
        ngx_http_llm_router_outf(o, "\n");
    }

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_rejected_total Requests answered with a routing "
        "error.\n"
        "# TYPE llm_router_rejected_total counter\n"
        "llm_router_rejected_total{view=\"instance\"} %uA\n"
        "# HELP llm_router_defaulted_total Requests sent to the default "
        "tier.\n"
        "# TYPE llm_router_defaulted_total counter\n"
        "llm_router_defaulted_total{view=\"instance\"} %uA\n"
        "# HELP llm_router_fallbacks_total Failed attempts followed by a "
        "fallback.\n"
        "# TYPE llm_router_fallbacks_total counter\n"
        "llm_router_fallbacks_total{view=\"instance\"} %uA\n",
        sh->rejected, sh->defaulted, sh->fallbacks);

    ngx_http_llm_router_prom_passthrough(st);
    ngx_http_llm_router_prom_translated(st);

    /* per model, tier and domain */

    ngx_http_llm_router_prom_keys(st, "model");
    ngx_http_llm_router_prom_keys(st, "tier");
    ngx_http_llm_router_prom_keys(st, "domain");

    ngx_http_llm_router_prom_latency(st);
    ngx_http_llm_router_prom_health(st);

    /* the forecast's rate, Redis */

    ngx_http_llm_router_status_rate(st, &rs);

    up = st->fleet && sh->redis_state == NGX_HTTP_LLM_ROUTER_REDIS_UP;
    pending = st->fleet ? sh->all.total[NGX_HTTP_LLM_ROUTER_C_REQUESTS]
                          - sh->all.acked[NGX_HTTP_LLM_ROUTER_C_REQUESTS]
                        : 0;

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_rate_requests_per_second Routed requests per "
        "second over the last five minutes.\n"
        "# TYPE llm_router_rate_requests_per_second gauge\n"
        "llm_router_rate_requests_per_second{view=\"instance\"} %.4f\n"
        "# HELP llm_router_forecast_usd_per_hour Cost per hour at the rate "
        "of the last five minutes.\n"
        "# TYPE llm_router_forecast_usd_per_hour gauge\n"
        "llm_router_forecast_usd_per_hour{view=\"instance\"} %.6f\n"
        "# HELP llm_router_redis_up Whether the last exchange with Redis "
        "succeeded (0 without llm_redis).\n"
        "# TYPE llm_router_redis_up gauge\n"
        "llm_router_redis_up %.0f\n"
        "# HELP llm_router_redis_pending_requests Requests counted here and "
        "not yet acknowledged by Redis.\n"
        "# TYPE llm_router_redis_pending_requests gauge\n"
        "llm_router_redis_pending_requests %uL\n",
        rs.window > 0 ? rs.requests / rs.window : 0.0,
        rs.window > 0 ? rs.cost / rs.window * 3600 : 0.0, up, pending);

    if (st->lmcf->state.len) {
        ngx_http_llm_router_outf(o,
            "# HELP llm_router_learned_state_saved_timestamp_seconds When "
            "llm_feedback_state last wrote its file (0: not since the "
            "start).\n"
            "# TYPE llm_router_learned_state_saved_timestamp_seconds gauge\n"
            "llm_router_learned_state_saved_timestamp_seconds %T\n"
            "# HELP llm_router_learned_state_error Whether the last load or "
            "write of llm_feedback_state's file failed.\n"
            "# TYPE llm_router_learned_state_error gauge\n"
            "llm_router_learned_state_error %d\n",
            sh->state_saved, sh->state_error[0] != '\0');
    }
}


static void
ngx_http_llm_router_prom_keys(ngx_http_llm_router_status_t *st,
    const char *kind)
{
    uint64_t                     ok, errors;
    ngx_uint_t                   f, i, c, n, view, nviews;
    ngx_atomic_t                *v;
    ngx_http_llm_router_out_t   *o;

    static const struct {
        const char              *name;
        const char              *help;
        ngx_uint_t               counter;
        ngx_uint_t               usd;
    } fams[] = {
        { "requests_total", "Requests (attempts, for models)",
          NGX_HTTP_LLM_ROUTER_C_REQUESTS, 0 },
        { "cost_usd_total", "Cost, USD", NGX_HTTP_LLM_ROUTER_C_COST, 1 },
        { "cost_estimated_usd_total",
          "Cost charged from estimates rather than reported usage, USD",
          NGX_HTTP_LLM_ROUTER_C_COST_EST, 1 },
        { "reference_cost_usd_total",
          "Cost of the same tokens on the reference model, USD",
          NGX_HTTP_LLM_ROUTER_C_REF_COST, 1 },
    };

    o = &st->out;
    n = ngx_http_llm_router_status_key_n(st, kind);
    nviews = st->fleet ? 2 : 1;

    for (f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
        ngx_http_llm_router_outf(o, "# HELP llm_router_%s_%s %s, per %s.\n"
                                 "# TYPE llm_router_%s_%s counter\n",
                                 kind, fams[f].name, fams[f].help, kind,
                                 kind, fams[f].name);

        for (view = 0; view < nviews; view++) {
            for (i = 0; i < n; i++) {
                if (!ngx_http_llm_router_prom_shown(st, kind, i, view)) {
                    continue;
                }

                v = ngx_http_llm_router_status_key(st, kind, i, view);

                ngx_http_llm_router_outf(o, "llm_router_%s_%s", kind,
                                         fams[f].name);
                ngx_http_llm_router_prom_labels(st, kind, view, i);

                if (fams[f].usd) {
                    ngx_http_llm_router_outf(o, "} ");
                    ngx_http_llm_router_out_usd(o, v[fams[f].counter]);
                    ngx_http_llm_router_outf(o, "\n");

                } else {
                    ngx_http_llm_router_outf(o, "} %uA\n",
                                             v[fams[f].counter]);
                }
            }
        }
    }

    /* responses by status class: the errors' classes, the rest is 2xx */

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_%s_responses_total Answers by status class "
        "(429 and upstream timeouts apart), per %s.\n"
        "# TYPE llm_router_%s_responses_total counter\n",
        kind, kind, kind);

    for (view = 0; view < nviews; view++) {
        for (i = 0; i < n; i++) {
            if (!ngx_http_llm_router_prom_shown(st, kind, i, view)) {
                continue;
            }

            v = ngx_http_llm_router_status_key(st, kind, i, view);
            errors = 0;

            for (c = 0; c < 4; c++) {
                errors += v[ngx_http_llm_router_classes[c].counter];
            }

            ok = v[NGX_HTTP_LLM_ROUTER_C_REQUESTS];
            ok = ok > errors ? ok - errors : 0;

            for (c = 0; c < 5; c++) {
                ngx_http_llm_router_outf(o, "llm_router_%s_responses_total",
                                         kind);
                ngx_http_llm_router_prom_labels(st, kind, view, i);
                ngx_http_llm_router_outf(o, ",status_class=\"%s\"} %uL\n",
                    c ? ngx_http_llm_router_classes[c - 1].name : "2xx",
                    c ? (uint64_t) v[ngx_http_llm_router_classes[c - 1]
                                         .counter]
                      : ok);
            }
        }
    }

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_%s_tokens_total Tokens, per %s.\n"
        "# TYPE llm_router_%s_tokens_total counter\n", kind, kind, kind);

    for (view = 0; view < nviews; view++) {
        for (i = 0; i < n; i++) {
            if (!ngx_http_llm_router_prom_shown(st, kind, i, view)) {
                continue;
            }

            v = ngx_http_llm_router_status_key(st, kind, i, view);

            for (c = 0; c < 2; c++) {
                ngx_http_llm_router_outf(o, "llm_router_%s_tokens_total",
                                         kind);
                ngx_http_llm_router_prom_labels(st, kind, view, i);
                ngx_http_llm_router_outf(o, ",type=\"%s\"} %uA\n",
                    c ? "output" : "input",
                    v[c ? NGX_HTTP_LLM_ROUTER_C_OUTPUT_TOKENS
                        : NGX_HTTP_LLM_ROUTER_C_INPUT_TOKENS]);
            }
        }
    }
}


/* a model is shown in a view when configured here or counted there */

static ngx_uint_t
ngx_http_llm_router_prom_shown(ngx_http_llm_router_status_t *st,
    const char *kind, ngx_uint_t i, ngx_uint_t view)
{
    if (kind[0] != 'm') {
        return 1;
    }

    if (view == NGX_HTTP_LLM_ROUTER_VIEW_FLEET) {
        return st->sh->slots[i].stat.fleet[NGX_HTTP_LLM_ROUTER_C_REQUESTS]
               != 0;
    }

    return st->model[i] != NULL
           || st->sh->slots[i].stat.total[NGX_HTTP_LLM_ROUTER_C_REQUESTS];
}


static void
ngx_http_llm_router_prom_labels(ngx_http_llm_router_status_t *st,
    const char *kind, ngx_uint_t view, ngx_uint_t i)
{
    const char                 *name;
    ngx_http_llm_router_out_t  *o;

    o = &st->out;

    ngx_http_llm_router_outf(o, "{view=\"%s\",%s=\"",
                             view ? "fleet" : "instance", kind);

    if (kind[0] == 'm') {
        ngx_http_llm_router_out_label(o, st->sh->slots[i].name,
                                      st->sh->slots[i].len);
        ngx_http_llm_router_outf(o, "\",provider=\"");

        name = st->model[i] ? st->model[i]->provider : "unknown";

    } else {
        name = kind[0] == 't' ? llmr_tier_name(i) : llmr_domain_name(i);
    }

    ngx_http_llm_router_out_label(o, (u_char *) name, ngx_strlen(name));
    ngx_http_llm_router_outf(o, "\"");
}


/* upstream response time per model, a histogram in seconds */

static void
ngx_http_llm_router_prom_latency(ngx_http_llm_router_status_t *st)
{
    uint64_t                     cum;
    ngx_uint_t                   i, b, view, nviews;
    ngx_atomic_t                *v;
    ngx_http_llm_router_out_t   *o;

    o = &st->out;
    nviews = st->fleet ? 2 : 1;

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_model_latency_seconds Upstream response time "
        "of the attempts that got an answer, per model.\n"
        "# TYPE llm_router_model_latency_seconds histogram\n");

    for (view = 0; view < nviews; view++) {
        for (i = 0; i < st->nslots; i++) {
            if (!ngx_http_llm_router_prom_shown(st, "model", i, view)) {
                continue;
            }

            v = ngx_http_llm_router_status_key(st, "model", i, view);
            cum = 0;

            for (b = 0; b < NGX_HTTP_LLM_ROUTER_HIST_N; b++) {
                cum += v[NGX_HTTP_LLM_ROUTER_C_HIST + b];

                ngx_http_llm_router_outf(o,
                                         "llm_router_model_latency_seconds"
                                         "_bucket");
                ngx_http_llm_router_prom_labels(st, "model", view, i);
                ngx_http_llm_router_outf(o, ",le=\"%s\"} %uL\n",
                                         ngx_http_llm_router_le[b], cum);
            }

            ngx_http_llm_router_outf(o,
                                     "llm_router_model_latency_seconds_sum");
            ngx_http_llm_router_prom_labels(st, "model", view, i);
            ngx_http_llm_router_outf(o, "} %uA.%03uA\n",
                                     v[NGX_HTTP_LLM_ROUTER_C_LATENCY] / 1000,
                                     v[NGX_HTTP_LLM_ROUTER_C_LATENCY] % 1000);

            ngx_http_llm_router_outf(o,
                                     "llm_router_model_latency_seconds"
                                     "_count");
            ngx_http_llm_router_prom_labels(st, "model", view, i);
            ngx_http_llm_router_outf(o, "} %uL\n", cum);
        }
    }
}


/* the health state of the models configured here: 1 for the current */

static void
ngx_http_llm_router_prom_health(ngx_http_llm_router_status_t *st)
{
    uint64_t                       now, until;
    unsigned                       req, fail;
    ngx_uint_t                     i, s, state;
    llmr_health_t                 *h;
    ngx_http_llm_router_out_t     *o;

    o = &st->out;
    now = ngx_http_llm_router_now_ms();

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_model_health The model's health state here "
        "(1: current).\n"
        "# TYPE llm_router_model_health gauge\n");

    for (i = 0; i < st->nslots; i++) {
        if (st->model[i] == NULL) {
            continue;
        }

        h = &st->sh->slots[i].health;
        state = llmr_health_state(h, &st->lmcf->health.c, now);
        until = ngx_max(h->until, h->fleet_until);

        if (state == LLMR_DOWN && until <= now) {
            state = 3;
        }

        for (s = 0; s < 4; s++) {
            ngx_http_llm_router_outf(o, "llm_router_model_health");
            ngx_http_llm_router_prom_labels(st, "model", 0, i);
            ngx_http_llm_router_outf(o, ",state=\"%s\"} %d\n",
                                     ngx_http_llm_router_status_states[s],
                                     s == state);
        }
    }

    ngx_http_llm_router_outf(o,
        "# HELP llm_router_model_error_ratio Failed attempts over attempts "
        "in the health window.\n"
        "# TYPE llm_router_model_error_ratio gauge\n");

    for (i = 0; i < st->nslots; i++) {
        if (st->model[i] == NULL) {
            continue;
        }

        h = &st->sh->slots[i].health;
        (void) llmr_health_window(h, &st->lmcf->health.c, now, &req, &fail,
                                  0);

        ngx_http_llm_router_outf(o, "llm_router_model_error_ratio");
        ngx_http_llm_router_prom_labels(st, "model", 0, i);
        ngx_http_llm_router_outf(o, "} %.4f\n",
                                 req ? (double) fail / req : 0.0);
    }
}


static void
ngx_http_llm_router_prom_passthrough(ngx_http_llm_router_status_t *st)
{
    ngx_uint_t                    api, kind;
    ngx_atomic_uint_t             v;
    ngx_http_llm_router_shctx_t  *sh;

    sh = st->sh;

    ngx_http_llm_router_outf(&st->out,
        "# HELP llm_router_passthrough_total Requests other than "
        "generations, passed through untouched.\n"
        "# TYPE llm_router_passthrough_total counter\n");

    for (api = 0; api < LLMR_API_N; api++) {
        for (kind = 0; kind < LLMR_EP_N; kind++) {
            v = sh->passthrough[api][kind];

            if (v) {
                ngx_http_llm_router_outf(&st->out,
                    "llm_router_passthrough_total{view=\"instance\","
                    "api=\"%s\",endpoint=\"%s\"} %uA\n",
                    llmr_api_name((int) api),
                    llmr_endpoint_kind_name((int) kind), v);
            }
        }
    }
}


static void
ngx_http_llm_router_prom_translated(ngx_http_llm_router_status_t *st)
{
    ngx_uint_t                    i, api;
    ngx_atomic_uint_t             v;
    ngx_http_llm_router_slot_t   *slot;
    ngx_http_llm_router_shctx_t  *sh;

    sh = st->sh;

    ngx_http_llm_router_outf(&st->out,
        "# HELP llm_router_translated_total Requests a model served in "
        "its API, translated from the client's.\n"
        "# TYPE llm_router_translated_total counter\n");

    for (i = 0; i < st->nslots; i++) {
        slot = &sh->slots[i];

        for (api = 0; api < LLMR_API_N; api++) {
            v = slot->translated[api];

            if (v == 0) {
                continue;
            }

            ngx_http_llm_router_outf(&st->out,
                "llm_router_translated_total{view=\"instance\",model=\"");
            ngx_http_llm_router_out_label(&st->out, slot->name, slot->len);
            ngx_http_llm_router_outf(&st->out, "\",from=\"%s\"} %uA\n",
                                     llmr_api_name((int) api), v);
        }
    }
}
