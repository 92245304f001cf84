
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * Explainability: what a request would have cost on the reference model,
 * the ring of the last routing decisions and the instance's recent rate
 * (both read by llm_status), and the X-LLM-Route response header.  The
 * ring keeps counters, names and the request id, never prompt text.
 */


static ngx_str_t  ngx_http_llm_router_route_header_name =
    ngx_string("X-LLM-Route");


/* micro-USD of in/out tokens on the reference model, 0 without one */

ngx_atomic_uint_t
ngx_http_llm_router_ref_cost(ngx_http_llm_router_main_conf_t *lmcf,
    ngx_atomic_uint_t in, ngx_atomic_uint_t out)
{
    const llmr_model_t  *m;

    if (lmcf->reference < 0 || (ngx_uint_t) lmcf->reference
                               >= lmcf->registry->n)
    {
        return 0;
    }

    m = &lmcf->registry->models[lmcf->reference];

    return (ngx_atomic_uint_t) (llmr_model_cost(m, (int64_t) in,
                                                (int64_t) out) * 1e6 + 0.5);
}


/*
 * The log phase of a client's request: one entry of the ring, and the
 * rate step it falls in.  o is NULL for a request that was not routed
 * (answered with a routing error).
 */

void
ngx_http_llm_router_decision_add(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_outcome_t *o,
    uint64_t cost, uint64_t ref_cost)
{
    u_char                           *p, *last;
    time_t                            now, epoch;
    ngx_str_t                         id;
    ngx_uint_t                        status;
    const char                       *why;
    ngx_http_llm_router_rate_t       *rate;
    ngx_http_llm_router_slot_t       *slot;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_shctx_t      *sh;
    ngx_http_llm_router_decision_t    d;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (lmcf->shm_zone == NULL) {
        return;
    }

    zone = lmcf->shm_zone->data;
    sh = zone->sh;

    /* the entry is made outside the lock, and copied in */

    ngx_memzero(&d, sizeof(ngx_http_llm_router_decision_t));

    status = o ? o->status : r->headers_out.status;

    d.msec = ngx_http_llm_router_now_ms();
    d.cost = cost;
    d.ref_cost = ref_cost;
    d.status = (uint16_t) ngx_min(status, 999);
    d.slot = -1;
    d.tier = 0xff;
    d.domain = 0xff;
    d.attempts = (uint8_t) ngx_min(ctx->attempt, 255);
    d.latency = (uint32_t) -1;

    if (o && o->latency != (ngx_msec_t) -1) {
        d.latency = (uint32_t) ngx_min(o->latency, 0xfffffffe);
    }

    if (ctx->parsed || ctx->decided) {
        d.tier = (uint8_t) (ctx->decided ? ctx->dec.tier : ctx->cls.tier);
        d.domain = (uint8_t) ctx->cls.domain;
        d.score = (uint16_t) (ngx_max(0.0, ngx_min(ctx->cls.score, 1.0))
                              * 10000 + 0.5);
        d.confidence = (uint16_t) (ngx_max(0.0,
                                           ngx_min(ctx->cls.confidence, 1.0))
                                   * 10000 + 0.5);
    }

    p = d.reason;
    last = d.reason + sizeof(d.reason) - 1;

    if (ctx->decided && ctx->dec.model >= 0) {
        slot = zone->model_slot[ctx->dec.model];

        if (slot) {
            d.slot = (int16_t) (slot - sh->slots);
        }

        p = ngx_cpymem(p, ctx->reason.data,
                       ngx_min(ctx->reason.len, (size_t) (last - p)));

    } else {
        why = ctx->err_code ? ctx->err_code : "not_routed";
        p = ngx_cpymem(p, why, ngx_min(ngx_strlen(why), (size_t) (last - p)));
    }

    *p = '\0';

    if (ngx_http_llm_router_request_id(r, &id) == NGX_OK) {
        d.id_len = (uint8_t) ngx_min(id.len, sizeof(d.id));
        ngx_memcpy(d.id, id.data, d.id_len);
    }

    now = ngx_time();
    epoch = now / NGX_HTTP_LLM_ROUTER_RATE_STEP;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sh->decisions[sh->ndecisions++ % NGX_HTTP_LLM_ROUTER_DECISIONS] = d;

    if (ctx->decided) {
        if (sh->started == 0) {
            sh->started = now;
        }

        rate = &sh->rate[epoch % NGX_HTTP_LLM_ROUTER_RATE_N];

        if (rate->epoch != epoch) {
            ngx_memzero(rate, sizeof(ngx_http_llm_router_rate_t));
            rate->epoch = epoch;
        }

        rate->requests++;
        rate->errors += (status >= 400);
        rate->cost += cost;
        rate->ref_cost += ref_cost;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/*
 * "llm_route_explain_header on": X-LLM-Route on the client's answer, for
 * the model that produced it (after a fallback: the last one).
 */

ngx_int_t
ngx_http_llm_router_route_header(ngx_http_request_t *r)
{
    size_t                            len;
    u_char                           *p;
    ngx_table_elt_t                  *h;
    const llmr_model_t               *m;
    ngx_http_llm_router_ctx_t        *ctx;
    ngx_http_llm_router_loc_conf_t   *llcf;
    ngx_http_llm_router_main_conf_t  *lmcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);

    if (!llcf->explain_header) {
        return NGX_OK;
    }

    ctx = ngx_http_llm_router_get_ctx(r);

    if (ctx == NULL || !ctx->decided || ctx->explain || ctx->passthrough
        || ctx->dec.model < 0)
    {
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    m = &lmcf->registry->models[ctx->dec.model];

    len = sizeof("tier=; model=; score=0.000; confidence=0.000; reasons=; "
                 "attempt=; failed=") - 1
          + ngx_strlen(llmr_tier_name(ctx->dec.tier)) + ngx_strlen(m->name)
          + ctx->reason.len + NGX_INT_T_LEN + ctx->failed_names.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = ngx_http_llm_router_route_header_name;
    h->value.data = p;

    p = ngx_slprintf(p, h->value.data + len,
                     "tier=%s; model=%s; score=%.3f; confidence=%.3f; "
                     "reasons=%V",
                     llmr_tier_name(ctx->dec.tier), m->name,
                     ngx_max(0.0, ctx->cls.score),
                     ngx_max(0.0, ctx->cls.confidence), &ctx->reason);

    if (ctx->attempt > 1) {
        p = ngx_slprintf(p, h->value.data + len, "; attempt=%ui; failed=%V",
                         ctx->attempt, &ctx->failed_names);
    }

    h->value.len = p - h->value.data;

    return NGX_OK;
}
