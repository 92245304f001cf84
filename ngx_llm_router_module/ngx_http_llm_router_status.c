
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/* the most one key's JSON object takes, name excluded */
#define NGX_HTTP_LLM_ROUTER_KEY_JSON    (1024 + 24 * NGX_ATOMIC_T_LEN)

#define NGX_HTTP_LLM_ROUTER_VIEW_INSTANCE  0
#define NGX_HTTP_LLM_ROUTER_VIEW_FLEET     1


static ngx_int_t ngx_http_llm_router_status_handler(ngx_http_request_t *r);
static u_char *ngx_http_llm_router_status_view(u_char *p, u_char *last,
    ngx_http_llm_router_shctx_t *sh, ngx_uint_t nslots, ngx_uint_t view);
static u_char *ngx_http_llm_router_status_key(u_char *p, u_char *last,
    ngx_http_llm_router_stat_t *st, ngx_uint_t view, ngx_uint_t full);
static u_char *ngx_http_llm_router_json_name(u_char *p, u_char *last,
    u_char *name, size_t len);
static u_char *ngx_http_llm_router_status_health(u_char *p, u_char *last,
    ngx_http_llm_router_shctx_t *sh, ngx_uint_t nslots,
    ngx_http_llm_router_main_conf_t *lmcf);


char *
ngx_http_llm_router_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_llm_router_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_router_status_handler(ngx_http_request_t *r)
{
    size_t                            size;
    u_char                           *p, *last;
    ngx_int_t                         rc;
    ngx_buf_t                        *b;
    ngx_uint_t                        nslots, fleet, i;
    ngx_chain_t                       out;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_shctx_t      *sh;
    ngx_http_llm_router_main_conf_t  *lmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (lmcf->shm_zone == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    zone = lmcf->shm_zone->data;
    sh = zone->sh;
    fleet = (lmcf->redis != NULL);

    /* slots only grow: the first nslots are there, named, under the lock */

    nslots = sh->nslots;

    size = 1024 + (1 + LLMR_TIER_N + LLMR_DOMAIN_N + nslots)
                  * (fleet ? 3 : 2)
                  * (NGX_HTTP_LLM_ROUTER_KEY_JSON + 6 * LLMR_NAME_MAX);

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES; i++) {
        if (sh->budget_entries[i].id) {
            size += 400;
        }
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;
    last = b->end;

    ngx_shmtx_lock(&zone->shpool->mutex);

    p = ngx_slprintf(p, last, "{\"version\":\"%s\",\"instance_id\":\"%s\","
                     "\"time\":%T,\"instance\":",
                     NGX_HTTP_LLM_ROUTER_VERSION, sh->instance, ngx_time());

    p = ngx_http_llm_router_status_view(p, last, sh, nslots,
                                        NGX_HTTP_LLM_ROUTER_VIEW_INSTANCE);

    if (fleet) {
        p = ngx_slprintf(p, last, ",\"fleet\":");
        p = ngx_http_llm_router_status_view(p, last, sh, nslots,
                                            NGX_HTTP_LLM_ROUTER_VIEW_FLEET);
    }

    p = ngx_slprintf(p, last, ",\"budgets\":");
    p = ngx_http_llm_router_budget_status(p, last, sh);

    p = ngx_slprintf(p, last, ",\"health\":");
    p = ngx_http_llm_router_status_health(p, last, sh, nslots, lmcf);

    p = ngx_slprintf(p, last, ",\"redis\":{\"state\":\"%s\",\"error\":",
                     !fleet ? "off"
                     : sh->redis_state == NGX_HTTP_LLM_ROUTER_REDIS_UP
                       ? "up" : "down");

    if (fleet && sh->redis_error[0]) {
        p = ngx_http_llm_router_json_name(p, last, sh->redis_error,
                                          ngx_strlen(sh->redis_error));

    } else {
        p = ngx_slprintf(p, last, "null");
    }

    p = ngx_slprintf(p, last, ",\"pending_deltas\":%uL,\"last_flush\":%T,"
                     "\"last_attempt\":%T}}\n",
                     fleet ? ngx_http_llm_router_unflushed(zone) : 0,
                     sh->last_flush, sh->last_attempt);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static u_char *
ngx_http_llm_router_status_view(u_char *p, u_char *last,
    ngx_http_llm_router_shctx_t *sh, ngx_uint_t nslots, ngx_uint_t view)
{
    ngx_uint_t                   i, n, shown;
    const char                  *name;
    ngx_atomic_t                *v;
    ngx_http_llm_router_slot_t  *slot;

    v = (view == NGX_HTTP_LLM_ROUTER_VIEW_FLEET) ? sh->all.fleet
                                                  : sh->all.total;

    p = ngx_slprintf(p, last, "{\"requests\":%uA,\"cost_usd\":%uA.%06uA,",
                     v[NGX_HTTP_LLM_ROUTER_C_REQUESTS],
                     v[NGX_HTTP_LLM_ROUTER_C_COST] / 1000000,
                     v[NGX_HTTP_LLM_ROUTER_C_COST] % 1000000);

    if (view == NGX_HTTP_LLM_ROUTER_VIEW_INSTANCE) {
        p = ngx_slprintf(p, last, "\"rejected\":%uA,\"defaulted\":%uA,"
                         "\"fallbacks\":%uA,\"escalations\":%uA,"
                         "\"escalations_suggested\":%uA,"
                         "\"budget_rejects\":%uA,"
                         "\"budget_downgrades\":%uA,"
                         "\"ab\":{\"a\":{\"requests\":%uA,"
                         "\"cost_usd\":%.6f},\"b\":{\"requests\":%uA,"
                         "\"cost_usd\":%.6f}},",
                         sh->rejected, sh->defaulted, sh->fallbacks,
                         sh->escalations, sh->escalations_suggested,
                         sh->budget_rejects, sh->budget_downgrades,
                         sh->ab_requests[0], (double) sh->ab_cost[0] / 1e6,
                         sh->ab_requests[1], (double) sh->ab_cost[1] / 1e6);
    }

    p = ngx_slprintf(p, last, "\"totals\":");
    p = ngx_http_llm_router_status_key(p, last, &sh->all, view, 1);

    p = ngx_slprintf(p, last, ",\"models\":{");

    n = ngx_min(nslots, sh->nslots);
    shown = 0;

    for (i = 0; i < n; i++) {
        slot = &sh->slots[i];

        if (view == NGX_HTTP_LLM_ROUTER_VIEW_INSTANCE
            ? !slot->local
              && slot->stat.total[NGX_HTTP_LLM_ROUTER_C_REQUESTS] == 0
            : slot->stat.fleet[NGX_HTTP_LLM_ROUTER_C_REQUESTS] == 0)
        {
            continue;
        }

        if (shown++) {
            *p++ = ',';
        }

        p = ngx_http_llm_router_json_name(p, last, slot->name, slot->len);
        p = ngx_slprintf(p, last, ":");
        p = ngx_http_llm_router_status_key(p, last, &slot->stat, view, 1);
    }

    p = ngx_slprintf(p, last, "},\"tiers\":{");

    for (i = 0; i < LLMR_TIER_N; i++) {
        p = ngx_slprintf(p, last, "%s\"%s\":", i ? "," : "",
                         llmr_tier_name(i));
        p = ngx_http_llm_router_status_key(p, last, &sh->tiers[i], view, 0);
    }

    p = ngx_slprintf(p, last, "},\"domains\":{");

    for (i = 0; i < LLMR_DOMAIN_N; i++) {
        name = llmr_domain_name(i);
        p = ngx_slprintf(p, last, "%s\"%s\":", i ? "," : "", name);
        p = ngx_http_llm_router_status_key(p, last, &sh->domains[i], view, 0);
    }

    return ngx_slprintf(p, last, "}}");
}


static u_char *
ngx_http_llm_router_status_key(u_char *p, u_char *last,
    ngx_http_llm_router_stat_t *st, ngx_uint_t view, ngx_uint_t full)
{
    ngx_uint_t          i, errors;
    ngx_atomic_t       *v;
    ngx_atomic_uint_t   n;

    v = (view == NGX_HTTP_LLM_ROUTER_VIEW_FLEET) ? st->fleet : st->total;

    errors = v[NGX_HTTP_LLM_ROUTER_C_ERR_4XX] + v[NGX_HTTP_LLM_ROUTER_C_ERR_429]
             + v[NGX_HTTP_LLM_ROUTER_C_ERR_5XX]
             + v[NGX_HTTP_LLM_ROUTER_C_ERR_TIMEOUT];

    p = ngx_slprintf(p, last, "{\"requests\":%uA,\"errors\":%ui,"
                     "\"input_tokens\":%uA,\"output_tokens\":%uA,"
                     "\"cost_usd\":%uA.%06uA,"
                     "\"cost_estimated_usd\":%uA.%06uA",
                     v[NGX_HTTP_LLM_ROUTER_C_REQUESTS], errors,
                     v[NGX_HTTP_LLM_ROUTER_C_INPUT_TOKENS],
                     v[NGX_HTTP_LLM_ROUTER_C_OUTPUT_TOKENS],
                     v[NGX_HTTP_LLM_ROUTER_C_COST] / 1000000,
                     v[NGX_HTTP_LLM_ROUTER_C_COST] % 1000000,
                     v[NGX_HTTP_LLM_ROUTER_C_COST_EST] / 1000000,
                     v[NGX_HTTP_LLM_ROUTER_C_COST_EST] % 1000000);

    if (!full) {
        return ngx_slprintf(p, last, "}");
    }

    n = v[NGX_HTTP_LLM_ROUTER_C_HIST + NGX_HTTP_LLM_ROUTER_HIST_N - 1];

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_HIST_N - 1; i++) {
        n += v[NGX_HTTP_LLM_ROUTER_C_HIST + i];
    }

    p = ngx_slprintf(p, last, ",\"errors_4xx\":%uA,\"errors_429\":%uA,"
                     "\"errors_5xx\":%uA,\"errors_timeout\":%uA,"
                     "\"latency_ms_sum\":%uA,\"latency_ms_avg\":%uA,"
                     "\"latency_hist\":[",
                     v[NGX_HTTP_LLM_ROUTER_C_ERR_4XX],
                     v[NGX_HTTP_LLM_ROUTER_C_ERR_429],
                     v[NGX_HTTP_LLM_ROUTER_C_ERR_5XX],
                     v[NGX_HTTP_LLM_ROUTER_C_ERR_TIMEOUT],
                     v[NGX_HTTP_LLM_ROUTER_C_LATENCY],
                     n ? v[NGX_HTTP_LLM_ROUTER_C_LATENCY] / n : 0);

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_HIST_N; i++) {
        p = ngx_slprintf(p, last, "%s%uA", i ? "," : "",
                         v[NGX_HTTP_LLM_ROUTER_C_HIST + i]);
    }

    return ngx_slprintf(p, last, "]}");
}


/*
 * {MODEL: {"state", "fails", "requests", "error_rate", "p95_ms", "until",
 * "reason", "fleet_until"}} for the models configured here; the caller
 * holds the mutex.
 */

static u_char *
ngx_http_llm_router_status_health(u_char *p, u_char *last,
    ngx_http_llm_router_shctx_t *sh, ngx_uint_t nslots,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    uint64_t                       now, until;
    ngx_uint_t                     i, n, req, fail, state;
    ngx_msec_t                     p95;
    ngx_http_llm_router_slot_t    *slot;
    ngx_http_llm_router_health_t  *h;

    static const char  *states[] = { "healthy", "degraded", "down" };

    now = ngx_http_llm_router_now_ms();
    n = 0;

    p = ngx_slprintf(p, last, "{");

    for (i = 0; i < ngx_min(nslots, sh->nslots); i++) {
        slot = &sh->slots[i];

        if (!slot->local) {
            continue;
        }

        h = &slot->health;
        state = ngx_http_llm_router_health_state(h, &lmcf->health, now);
        p95 = ngx_http_llm_router_health_p95(h, &lmcf->health, now, &req,
                                             &fail);
        until = ngx_max(h->until, h->fleet_until);

        if (n++) {
            *p++ = ',';
        }

        p = ngx_http_llm_router_json_name(p, last, slot->name, slot->len);

        p = ngx_slprintf(p, last, ":{\"state\":\"%s\",\"fails\":%ui,"
                         "\"requests\":%ui,\"error_rate\":%.3f,"
                         "\"p95_ms\":%M,\"until\":%uL,\"fleet_until\":%uL,"
                         "\"probing\":%s,\"reason\":",
                         (state == NGX_HTTP_LLM_ROUTER_DOWN && until <= now)
                         ? "half-open" : states[state],
                         h->consecutive, req,
                         req ? (double) fail / req : 0.0, p95,
                         h->until > now ? h->until : (uint64_t) 0,
                         h->fleet_until > now ? h->fleet_until : (uint64_t) 0,
                         h->probes ? "true" : "false");

        if (h->reason[0]) {
            p = ngx_http_llm_router_json_name(p, last, h->reason,
                                              ngx_strlen(h->reason));

        } else {
            p = ngx_slprintf(p, last, "null");
        }

        p = ngx_slprintf(p, last, "}");
    }

    return ngx_slprintf(p, last, "}");
}


static u_char *
ngx_http_llm_router_json_name(u_char *p, u_char *last, u_char *name,
    size_t len)
{
    if (last - p < 2) {
        return p;
    }

    *p++ = '"';
    p += llmr_json_escape((char *) p, last - p - 1, (const char *) name, len);
    *p++ = '"';

    return p;
}
