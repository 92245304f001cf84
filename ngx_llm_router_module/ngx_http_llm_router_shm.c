
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * What one batch carries at most, besides the counters: it is built under
 * the zone's mutex and sent as one command, so both stay short; the rest
 * goes with the next batches.
 */
#define NGX_HTTP_LLM_ROUTER_BATCH_DECISIONS  8192
#define NGX_HTTP_LLM_ROUTER_BATCH_LEASES     64

/* a decision in a batch: the id's hash in hex, and four numbers */
#define NGX_HTTP_LLM_ROUTER_DEC_ID_LEN       16
#define NGX_HTTP_LLM_ROUTER_DEC_VALUE_LEN    64


static ngx_int_t ngx_http_llm_router_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_llm_router_slot_t *ngx_http_llm_router_slot(
    ngx_http_llm_router_shctx_t *sh, u_char *name, size_t len);
static void ngx_http_llm_router_implicit(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf);
static void ngx_http_llm_router_stat_add(ngx_http_llm_router_stat_t *st,
    ngx_http_llm_router_add_t *adds, ngx_uint_t n);
static ngx_int_t ngx_http_llm_router_batch_key(
    ngx_http_llm_router_batch_t *b, ngx_pool_t *pool,
    ngx_http_llm_router_stat_t *st, const char *scope, u_char *name,
    size_t len);
static void ngx_http_llm_router_batch_take(ngx_http_llm_router_shctx_t *sh);
static ngx_int_t ngx_http_llm_router_batch_counters(
    ngx_http_llm_router_batch_t *b, ngx_pool_t *pool,
    ngx_http_llm_router_shctx_t *sh);
static ngx_int_t ngx_http_llm_router_batch_learned(
    ngx_http_llm_router_batch_t *b, ngx_pool_t *pool,
    ngx_http_llm_router_shctx_t *sh);
static ngx_int_t ngx_http_llm_router_batch_health(
    ngx_http_llm_router_batch_t *b, ngx_pool_t *pool,
    ngx_http_llm_router_shctx_t *sh);
static ngx_int_t ngx_http_llm_router_batch_decisions(
    ngx_http_llm_router_batch_t *b, ngx_pool_t *pool,
    ngx_http_llm_router_shctx_t *sh);
static ngx_int_t ngx_http_llm_router_batch_offsets(
    ngx_http_llm_router_batch_t *b, ngx_pool_t *pool,
    ngx_http_llm_router_shctx_t *sh);
static ngx_int_t ngx_http_llm_router_batch_leases(
    ngx_http_llm_router_batch_t *b, ngx_http_llm_router_shctx_t *sh);


ngx_str_t  ngx_http_llm_router_counter_names[] = {
    ngx_string("requests"),
    ngx_string("errors_4xx"),
    ngx_string("errors_429"),
    ngx_string("errors_5xx"),
    ngx_string("errors_timeout"),
    ngx_string("input_tokens"),
    ngx_string("output_tokens"),
    ngx_string("cost_micro"),
    ngx_string("cost_estimated_micro"),
    ngx_string("cost_reference_micro"),
    ngx_string("latency_ms_sum"),
    ngx_string("lat_le_100"),
    ngx_string("lat_le_250"),
    ngx_string("lat_le_500"),
    ngx_string("lat_le_1000"),
    ngx_string("lat_le_2500"),
    ngx_string("lat_le_5000"),
    ngx_string("lat_le_10000"),
    ngx_string("lat_le_30000"),
    ngx_string("lat_le_60000"),
    ngx_string("lat_le_120000"),
    ngx_string("lat_le_300000"),
    ngx_string("lat_le_inf")
};


char *
ngx_http_llm_router_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    ssize_t                      size, min;
    ngx_str_t                   *value, name;
    ngx_http_llm_router_zone_t  *zone;

    if (lmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"llm_router_zone\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    min = 8 * ngx_pagesize + sizeof(ngx_http_llm_router_shctx_t);

    if (size < min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small in \"llm_router_zone\" "
                           "(at least %uzk)", &value[1], min / 1024 + 1);
        return NGX_CONF_ERROR;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_router_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    lmcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_llm_router_module);
    if (lmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (lmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    zone->lmcf = lmcf;

    lmcf->shm_zone->init = ngx_http_llm_router_init_zone;
    lmcf->shm_zone->data = zone;

    return NGX_CONF_OK;
}


/*
 * Runs in the master at (re)configuration.  Counters are kept per model
 * name, so a reload that adds, drops or reorders models keeps them; the
 * map from this cycle's model index to its slot is inherited by workers.
 * A new zone (a start, not a reload) is a new instance for the fleet.
 */

static ngx_int_t
ngx_http_llm_router_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_router_zone_t  *ozone = data;

    size_t                        len;
    ngx_uint_t                    i, n, full, fresh;
    llmr_model_t                 *m;
    llmr_registry_t              *reg;
    ngx_http_llm_router_slot_t   *slot;
    ngx_http_llm_router_zone_t   *zone;
    ngx_http_llm_router_shctx_t  *sh;

    zone = shm_zone->data;
    fresh = 0;

    if (ozone) {
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;

    } else {
        zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            zone->sh = zone->shpool->data;

        } else {
            zone->sh = ngx_slab_calloc(zone->shpool,
                                       sizeof(ngx_http_llm_router_shctx_t));
            if (zone->sh == NULL) {
                return NGX_ERROR;
            }

            zone->shpool->data = zone->sh;

            len = sizeof(" in llm_router_zone \"\"") + shm_zone->shm.name.len;

            zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
            if (zone->shpool->log_ctx == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(zone->shpool->log_ctx, " in llm_router_zone \"%V\"%Z",
                        &shm_zone->shm.name);

            ngx_sprintf(zone->sh->instance, "%08xD%08xD%Z",
                        (uint32_t) ngx_random() ^ (uint32_t) ngx_time(),
                        (uint32_t) ngx_random() ^ (uint32_t) ngx_pid);

            zone->sh->seq = 1;
            fresh = 1;

            /*
             * Decisions by request id, for feedback: as many as a quarter
             * of the zone holds, up to 65536 (sets of four).
             */

            n = ngx_min(65536, shm_zone->shm.size / 4
                               / sizeof(ngx_http_llm_router_fb_entry_t));
            n &= ~(ngx_uint_t) 3;

            while (n >= 64) {
                zone->sh->fb = ngx_slab_calloc(zone->shpool,
                                n * sizeof(ngx_http_llm_router_fb_entry_t));
                if (zone->sh->fb) {
                    zone->sh->fb_n = n;
                    break;
                }

                n /= 2;
            }
        }
    }

    sh = zone->sh;
    reg = zone->lmcf->registry;

    ngx_shmtx_lock(&zone->shpool->mutex);

    full = sh->slots_full;

    for (i = 0; i < reg->n; i++) {
        m = &reg->models[i];
        slot = ngx_http_llm_router_slot(sh, (u_char *) m->name,
                                        ngx_strlen(m->name));
        if (slot) {
            slot->local = 1;
        }

        zone->model_slot[i] = slot;
    }

    full = (sh->slots_full != full);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (full) {
        ngx_http_llm_router_slots_full(shm_zone->shm.log);
    }

    if (fresh) {
        ngx_http_llm_router_state_load(zone, shm_zone->shm.log);
    }

    return NGX_OK;
}


void
ngx_http_llm_router_slots_full(ngx_log_t *log)
{
    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "llm_router_zone: no room for more than %d model names, "
                  "later ones are not counted (restart nginx to reset "
                  "the zone)", NGX_HTTP_LLM_ROUTER_SLOTS);
}


/*
 * Finds or adds a model's slot; the caller holds the mutex.  A full table
 * is counted in slots_full, for the caller to log once, outside the lock.
 */

static ngx_http_llm_router_slot_t *
ngx_http_llm_router_slot(ngx_http_llm_router_shctx_t *sh, u_char *name,
    size_t len)
{
    ngx_uint_t                   i;
    ngx_http_llm_router_slot_t  *slot;

    if (len == 0 || len > LLMR_NAME_MAX) {
        return NULL;
    }

    for (i = 0; i < sh->nslots; i++) {
        if (sh->slots[i].len == len
            && ngx_strncmp(sh->slots[i].name, name, len) == 0)
        {
            return &sh->slots[i];
        }
    }

    if (sh->nslots == NGX_HTTP_LLM_ROUTER_SLOTS) {
        sh->slots_full++;
        return NULL;
    }

    slot = &sh->slots[sh->nslots++];
    ngx_memcpy(slot->name, name, len);
    slot->len = len;

    return slot;
}


/*
 * The log phase charges every routed request once, for its last attempt;
 * a fallback charges the attempt that failed before it (final == 0).
 */

ngx_int_t
ngx_http_llm_router_log_handler(ngx_http_request_t *r)
{
    uint64_t                          cost;
    ngx_http_llm_router_ctx_t        *ctx;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_main_conf_t  *lmcf;

    if (r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_llm_router_get_ctx(r);

    if (ctx == NULL || ctx->explain || ctx->accounted) {
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (lmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    zone = lmcf->shm_zone->data;
    ctx->accounted = 1;

    if (ctx->passthrough) {
        /* counted by its kind, neither charged nor held against a model */
        (void) ngx_atomic_fetch_add(
                          &zone->sh->passthrough[ctx->ep.api][ctx->ep.kind], 1);
        return NGX_OK;
    }

    if (!ctx->decided) {
        (void) ngx_atomic_fetch_add(&zone->sh->rejected, 1);
        ngx_http_llm_router_decision_add(r, ctx, NULL, 0, 0);
        return NGX_OK;
    }

    if (ctx->defaulted) {
        (void) ngx_atomic_fetch_add(&zone->sh->defaulted, 1);
    }

    /* after a chain that gave up, its attempts are counted already */

    cost = ngx_http_llm_router_account(r, ctx,
                                ctx->gave_up
                                ? NGX_HTTP_LLM_ROUTER_ACCOUNT_CLIENT
                                : NGX_HTTP_LLM_ROUTER_ACCOUNT_MODEL
                                  |NGX_HTTP_LLM_ROUTER_ACCOUNT_CLIENT);

    ngx_http_llm_router_budget_settle(r, ctx, cost);

    if (ctx->parsed && !ctx->gave_up && ctx->dec.model >= 0) {
        ngx_http_llm_router_fb_record(r, ctx, zone,
                                      lmcf->redis != NULL && lmcf->feedback);
        ngx_http_llm_router_implicit(r, ctx, zone, lmcf);
    }

    if (ctx->adj.ab) {
        (void) ngx_atomic_fetch_add(&zone->sh->ab_requests[ctx->adj.ab - 1],
                                    1);
        (void) ngx_atomic_fetch_add(&zone->sh->ab_cost[ctx->adj.ab - 1],
                                    cost);
    }

    return NGX_OK;
}


/*
 * What the answer itself says about its quality (errors, truncation,
 * refusals, uncertainty, answers far too short), weighted below explicit
 * reports; see the core's llmr_implicit_quality().
 */

static void
ngx_http_llm_router_implicit(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    double                          q;
    unsigned                        signals;
    ngx_http_llm_router_outcome_t   o;

    if (!lmcf->learn_enabled || !lmcf->implicit || ctx->usage == NULL) {
        return;
    }

    ngx_http_llm_router_outcome(r, &o);

    signals = 0;
    q = llmr_implicit_quality(llmr_usage_result(ctx->usage), (int) o.status,
                              ctx->dec.tier, ctx->req.max_tokens, &signals);

    if (q < 0) {
        return;
    }

    (void) ngx_atomic_fetch_add(&zone->sh->feedback_implicit, 1);

    ngx_http_llm_router_learn_add(zone, lmcf, ctx->bucket, ctx->dec.tier, q,
                                  lmcf->learn.implicit_weight,
                                  r->connection->log);
}


/*
 * The outcome of the current attempt: the last upstream state of the
 * request (nginx adds one per try and per upstream).
 */

void
ngx_http_llm_router_outcome(ngx_http_request_t *r,
    ngx_http_llm_router_outcome_t *o)
{
    ngx_http_upstream_state_t  *state;
    ngx_http_llm_router_ctx_t  *ctx;

    ngx_memzero(o, sizeof(ngx_http_llm_router_outcome_t));

    o->status = r->headers_out.status;
    o->latency = (ngx_msec_t) -1;

    if (r->upstream_states && r->upstream_states->nelts) {
        state = r->upstream_states->elts;
        state = &state[r->upstream_states->nelts - 1];

        if (state->status) {
            o->status = state->status;
            o->latency = state->response_time;
            o->timeout = (o->status == NGX_HTTP_GATEWAY_TIME_OUT
                          && state->header_time == (ngx_msec_t) -1);
            o->upstream = 1;
        }
    }

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_llm_router_module);

    if (ctx && ctx->sse && ctx->stream_fault
        && o->status < NGX_HTTP_SPECIAL_RESPONSE)
    {
        /*
         * A stream the provider broke off after its headers: a stall past
         * the read timeout is a timeout, a reset or an early close an error
         */

        o->status = ctx->stream_fault;
        o->timeout = (ctx->stream_fault == NGX_HTTP_GATEWAY_TIME_OUT);
    }

    if (o->timeout) {
        o->counter = NGX_HTTP_LLM_ROUTER_C_ERR_TIMEOUT;

    } else if (o->status == NGX_HTTP_TOO_MANY_REQUESTS) {
        o->counter = NGX_HTTP_LLM_ROUTER_C_ERR_429;

    } else if (o->status >= 500) {
        o->counter = NGX_HTTP_LLM_ROUTER_C_ERR_5XX;

    } else if (o->status >= 400) {
        o->counter = NGX_HTTP_LLM_ROUTER_C_ERR_4XX;
    }

    /* what says the model cannot serve now, not the client's mistakes */

    o->failed = o->timeout || o->status >= 500
                || o->status == NGX_HTTP_TOO_MANY_REQUESTS
                || o->status == NGX_HTTP_UNAUTHORIZED
                || o->status == 402
                || o->status == NGX_HTTP_FORBIDDEN
                || o->status == NGX_HTTP_REQUEST_TIME_OUT;

    if (o->upstream && r->upstream
        && (o->status == NGX_HTTP_TOO_MANY_REQUESTS
            || o->status == NGX_HTTP_SERVICE_UNAVAILABLE))
    {
        o->retry_after = ngx_http_llm_router_retry_after(r->upstream);
    }
}


/* an upstream's Retry-After (seconds or an HTTP date) in ms, or 0 */

ngx_msec_t
ngx_http_llm_router_retry_after(ngx_http_upstream_t *u)
{
    time_t            t;
    ngx_int_t         n;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &u->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("Retry-After") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Retry-After",
                               sizeof("Retry-After") - 1) != 0)
        {
            continue;
        }

        n = ngx_atoi(h[i].value.data, h[i].value.len);

        if (n == NGX_ERROR) {
            t = ngx_parse_http_time(h[i].value.data, h[i].value.len);
            if (t == NGX_ERROR || t <= ngx_time()) {
                return 0;
            }

            n = t - ngx_time();
        }

        return (ngx_msec_t) ngx_min(n, 86400) * 1000;
    }
}


uint64_t
ngx_http_llm_router_account(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_uint_t what)
{
    double                            cost;
    ngx_uint_t                        n, i;
    ngx_atomic_uint_t                 ref;
    const llmr_model_t               *m;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_slot_t       *slot;
    ngx_http_llm_router_add_t         adds[10];
    ngx_http_llm_router_outcome_t     o;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    zone = lmcf->shm_zone->data;

    if (ctx->dec.model < 0) {
        return 0;
    }

    ngx_http_llm_router_outcome(r, &o);
    cost = 0;

    m = &lmcf->registry->models[ctx->dec.model];
    slot = zone->model_slot[ctx->dec.model];

    n = 0;
    ref = 0;

    adds[n].counter = NGX_HTTP_LLM_ROUTER_C_REQUESTS;
    adds[n++].value = 1;

    if (o.counter) {
        adds[n].counter = o.counter;
        adds[n++].value = 1;
    }

    /* a failed attempt is not billed; a served one is charged its usage */

    if (o.status < 400 && !ctx->gave_up) {
        cost = ngx_http_llm_router_charge(ctx, m, &adds[n]);
        ref = ngx_http_llm_router_ref_cost(lmcf, adds[n].value,
                                           adds[n + 1].value);
        n += 4;

        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_REF_COST;
        adds[n++].value = ref;
    }

    if (o.latency != (ngx_msec_t) -1) {
        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_LATENCY;
        adds[n++].value = o.latency;

        for (i = 0; o.latency > llmr_latency_bounds[i]; i++) {
            /* void */
        }

        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_HIST + i;
        adds[n++].value = 1;
    }

    if (what & NGX_HTTP_LLM_ROUTER_ACCOUNT_CLIENT) {
        ngx_http_llm_router_stat_add(&zone->sh->all, adds, n);
        ngx_http_llm_router_stat_add(&zone->sh->tiers[ctx->dec.tier], adds,
                                     n);
        ngx_http_llm_router_stat_add(&zone->sh->domains[ctx->cls.domain],
                                     adds, n);
        ngx_http_llm_router_decision_add(r, ctx, &o, (uint64_t) cost, ref);
    }

    if (!(what & NGX_HTTP_LLM_ROUTER_ACCOUNT_MODEL)) {
        return (uint64_t) cost;
    }

    if (slot) {
        ngx_http_llm_router_stat_add(&slot->stat, adds, n);
    }

    if (!(what & NGX_HTTP_LLM_ROUTER_ACCOUNT_CLIENT)) {
        (void) ngx_atomic_fetch_add(&zone->sh->fallbacks, 1);
    }

    /* a request that never reached the provider says nothing about it */

    if (o.upstream || ctx->probe) {
        ngx_http_llm_router_health_record(zone, &lmcf->health, slot,
                                          o.upstream && o.failed, o.latency,
                                          o.retry_after, ctx->probe, o.status,
                                          r->connection->log);
        ctx->probe = 0;

        if (o.upstream && o.failed && slot
            && llmr_health_state(&slot->health, &lmcf->health.c,
                                 ngx_http_llm_router_now_ms())
               == LLMR_DOWN)
        {
            /* tell the fleet now rather than at the next interval */
            ngx_http_llm_router_redis_kick();
        }
    }

    return (uint64_t) cost;
}


/*
 * Tokens and cost of a served attempt: the provider's usage when it was
 * read from the response, an estimate otherwise.  Fills four adds.
 */

double
ngx_http_llm_router_charge(ngx_http_llm_router_ctx_t *ctx,
    const llmr_model_t *m, ngx_http_llm_router_add_t *adds)
{
    double                      cost;
    int64_t                     in, out;
    ngx_uint_t                  exact;
    const llmr_usage_result_t  *u;

    in = ctx->dec.input_tokens;
    out = ctx->dec.output_tokens;
    exact = 0;

    if (ctx->usage && !ctx->usage_done) {

        /* the answer never ended: an aborted client, a cut stream */

        llmr_usage_finish(ctx->usage);
        ctx->usage_done = 1;
    }

    u = ctx->usage ? llmr_usage_result(ctx->usage) : NULL;

    if (u) {
        if (u->complete && (!u->stream || u->done)) {
            in = u->input_tokens;
            out = u->output_tokens;
            exact = 1;

        } else {

            /*
             * No usage, or not the last of a stream (a cut stream, an
             * aborted client; Anthropic's message_start counts a token
             * or so of output): what was reported, and at least the
             * answer's text seen so far, about four bytes a token.
             */

            if (u->input_tokens >= 0) {
                in = u->input_tokens;
            }

            out = (int64_t) (u->text_bytes + 3) / 4;

            if (u->output_tokens > out) {
                out = u->output_tokens;
            }
        }
    }

    cost = llmr_model_cost(m, in, out) * 1e6 + 0.5;

    adds[0].counter = NGX_HTTP_LLM_ROUTER_C_INPUT_TOKENS;
    adds[0].value = (ngx_atomic_uint_t) in;
    adds[1].counter = NGX_HTTP_LLM_ROUTER_C_OUTPUT_TOKENS;
    adds[1].value = (ngx_atomic_uint_t) out;
    adds[2].counter = NGX_HTTP_LLM_ROUTER_C_COST;
    adds[2].value = (ngx_atomic_uint_t) cost;
    adds[3].counter = NGX_HTTP_LLM_ROUTER_C_COST_EST;
    adds[3].value = exact ? 0 : (ngx_atomic_uint_t) cost;

    return cost;
}


static void
ngx_http_llm_router_stat_add(ngx_http_llm_router_stat_t *st,
    ngx_http_llm_router_add_t *adds, ngx_uint_t n)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        if (adds[i].value) {
            (void) ngx_atomic_fetch_add(&st->total[adds[i].counter],
                                        adds[i].value);
        }
    }
}


/*
 * Flushing to Redis is exactly-once per batch: a batch is the set of
 * deltas (total - acked) taken when it starts, numbered by a sequence
 * that only moves on when Redis acknowledged it.  A batch whose answer
 * never came is sent again, unchanged, with the same number; the script
 * applies a number once.  One worker of the instance flushes at a time.
 *
 * Returns NGX_OK with the batch (possibly without deltas: then it only
 * reads the fleet back), NGX_BUSY when another worker is flushing.
 */

ngx_int_t
ngx_http_llm_router_batch_begin(ngx_http_llm_router_zone_t *zone,
    ngx_pool_t *pool, ngx_msec_t timeout, ngx_http_llm_router_batch_t *b)
{
    ngx_int_t                     rc;
    ngx_http_llm_router_shctx_t  *sh;

    sh = zone->sh;

    if (ngx_array_init(&b->argv, pool, 64, sizeof(char *)) != NGX_OK
        || ngx_array_init(&b->argvlen, pool, 64, sizeof(size_t)) != NGX_OK
        || ngx_array_init(&b->leases, pool, 4,
                          sizeof(ngx_http_llm_router_budget_res_t))
           != NGX_OK
        || ngx_array_init(&b->sent, pool, 64, sizeof(ngx_uint_t)) != NGX_OK)
    {
        return NGX_ERROR;
    }

    b->deltas = 0;
    b->health = 0;
    b->decisions = 0;
    b->offsets = 0;
    b->reset = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (sh->flusher && sh->flusher != ngx_pid
        && (ngx_msec_int_t) (sh->flush_deadline - ngx_current_msec) > 0)
    {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_BUSY;
    }

    sh->flusher = ngx_pid;
    sh->flush_deadline = ngx_current_msec + timeout;
    sh->last_attempt = ngx_time();

    if (!sh->batch) {
        ngx_http_llm_router_batch_take(sh);
        sh->batch = 1;
    }

    b->seq = sh->seq;

    rc = ngx_http_llm_router_batch_counters(b, pool, sh);

    if (rc == NGX_OK) {
        rc = ngx_http_llm_router_batch_learned(b, pool, sh);
    }

    b->reset = sh->learn_reset;

    if (rc == NGX_OK) {
        rc = ngx_http_llm_router_batch_health(b, pool, sh);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_llm_router_batch_decisions(b, pool, sh);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_llm_router_batch_offsets(b, pool, sh);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_llm_router_batch_leases(b, sh);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/*
 * The batch_*() below build a batch under the zone's mutex, which
 * batch_begin() holds.  A new batch takes the deltas: what is counted
 * from now on goes in the next one.
 */

static void
ngx_http_llm_router_batch_take(ngx_http_llm_router_shctx_t *sh)
{
    ngx_uint_t                    i, c;
    ngx_http_llm_router_stat_t   *st;
    ngx_http_llm_router_learn_t  *l;

    for (i = 0; i < 1 + LLMR_TIER_N + LLMR_DOMAIN_N + sh->nslots; i++) {
        st = (i == 0) ? &sh->all
             : (i <= LLMR_TIER_N) ? &sh->tiers[i - 1]
             : (i <= LLMR_TIER_N + LLMR_DOMAIN_N)
               ? &sh->domains[i - 1 - LLMR_TIER_N]
               : &sh->slots[i - 1 - LLMR_TIER_N - LLMR_DOMAIN_N].stat;

        for (c = 0; c < NGX_HTTP_LLM_ROUTER_C_N; c++) {
            st->pending[c] = st->total[c] - st->acked[c];
        }
    }

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_BUCKETS; i++) {
        for (c = 0; c < LLMR_TIER_N; c++) {
            l = &sh->learn[i][c];
            l->pending[0] = l->total[0] - l->acked[0];
            l->pending[1] = l->total[1] - l->acked[1];
        }
    }
}


/* the counters' deltas: all requests, by tier, by domain, by model */

static ngx_int_t
ngx_http_llm_router_batch_counters(ngx_http_llm_router_batch_t *b,
    ngx_pool_t *pool, ngx_http_llm_router_shctx_t *sh)
{
    ngx_int_t   rc;
    ngx_uint_t  i;

    rc = ngx_http_llm_router_batch_key(b, pool, &sh->all, "a", NULL, 0);

    for (i = 0; rc == NGX_OK && i < LLMR_TIER_N; i++) {
        rc = ngx_http_llm_router_batch_key(b, pool, &sh->tiers[i], "t",
                                           (u_char *) llmr_tier_name(i),
                                           ngx_strlen(llmr_tier_name(i)));
    }

    for (i = 0; rc == NGX_OK && i < LLMR_DOMAIN_N; i++) {
        rc = ngx_http_llm_router_batch_key(b, pool, &sh->domains[i], "d",
                                           (u_char *) llmr_domain_name(i),
                                           ngx_strlen(llmr_domain_name(i)));
    }

    for (i = 0; rc == NGX_OK && i < sh->nslots; i++) {
        rc = ngx_http_llm_router_batch_key(b, pool, &sh->slots[i].stat, "m",
                                           sh->slots[i].name,
                                           sh->slots[i].len);
    }

    return rc;
}


/* learned sums: "q|bucket|tier|w" and "q|bucket|tier|q", thousandths */

static ngx_int_t
ngx_http_llm_router_batch_learned(ngx_http_llm_router_batch_t *b,
    ngx_pool_t *pool, ngx_http_llm_router_shctx_t *sh)
{
    u_char                        *p;
    char                         **argv;
    size_t                        *argvlen;
    ngx_uint_t                     i, c;
    ngx_http_llm_router_learn_t   *l;

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_BUCKETS; i++) {
        for (c = 0; c < LLMR_TIER_N; c++) {
            l = &sh->learn[i][c];

            if (l->pending[0] == 0 && l->pending[1] == 0) {
                continue;
            }

            p = ngx_pnalloc(pool, 4 * NGX_ATOMIC_T_LEN + 32);
            argv = ngx_array_push_n(&b->argv, 4);
            argvlen = ngx_array_push_n(&b->argvlen, 4);

            if (p == NULL || argv == NULL || argvlen == NULL) {
                return NGX_ERROR;
            }

            argv[0] = (char *) p;
            p = ngx_sprintf(p, "q|%ui|%ui|w", i, c);
            argvlen[0] = p - (u_char *) argv[0];

            argv[1] = (char *) p;
            p = ngx_sprintf(p, "%uA", l->pending[0]);
            argvlen[1] = p - (u_char *) argv[1];

            argv[2] = (char *) p;
            p = ngx_sprintf(p, "q|%ui|%ui|q", i, c);
            argvlen[2] = p - (u_char *) argv[2];

            argv[3] = (char *) p;
            p = ngx_sprintf(p, "%uA", l->pending[1]);
            argvlen[3] = p - (u_char *) argv[3];

            b->deltas += 2;
        }
    }

    return NGX_OK;
}


/* models down here, as "name" "until|reason" pairs after the deltas */

static ngx_int_t
ngx_http_llm_router_batch_health(ngx_http_llm_router_batch_t *b,
    ngx_pool_t *pool, ngx_http_llm_router_shctx_t *sh)
{
    u_char          *p;
    char           **argv;
    size_t          *argvlen;
    uint64_t         now;
    ngx_uint_t       i;
    llmr_health_t   *h;

    now = ngx_http_llm_router_now_ms();

    for (i = 0; i < sh->nslots; i++) {
        h = &sh->slots[i].health;

        if (h->state != LLMR_DOWN || h->until <= now) {
            continue;
        }

        p = ngx_pnalloc(pool, sh->slots[i].len + NGX_INT64_LEN
                              + sizeof(h->reason) + 1);
        argv = ngx_array_push_n(&b->argv, 2);
        argvlen = ngx_array_push_n(&b->argvlen, 2);

        if (p == NULL || argv == NULL || argvlen == NULL) {
            return NGX_ERROR;
        }

        argv[0] = (char *) p;
        argvlen[0] = sh->slots[i].len;
        p = ngx_cpymem(p, sh->slots[i].name, sh->slots[i].len);

        argv[1] = (char *) p;
        argvlen[1] = ngx_sprintf(p, "%uL|%s", h->until, h->reason) - p;

        b->health++;
    }

    return NGX_OK;
}


/* decisions not in Redis yet: "idhex" -> "bucket|tier|slot|score" */

static ngx_int_t
ngx_http_llm_router_batch_decisions(ngx_http_llm_router_batch_t *b,
    ngx_pool_t *pool, ngx_http_llm_router_shctx_t *sh)
{
    u_char                          *p;
    char                           **argv;
    size_t                          *argvlen;
    ngx_uint_t                       i, *idx;
    ngx_http_llm_router_fb_entry_t  *f;

    for (i = 0;
         i < sh->fb_n && b->decisions < NGX_HTTP_LLM_ROUTER_BATCH_DECISIONS;
         i++)
    {
        f = &sh->fb[i];

        if (f->id == 0 || !f->unsent) {
            continue;
        }

        p = ngx_pnalloc(pool, NGX_HTTP_LLM_ROUTER_DEC_ID_LEN
                              + NGX_HTTP_LLM_ROUTER_DEC_VALUE_LEN);
        argv = ngx_array_push_n(&b->argv, 2);
        argvlen = ngx_array_push_n(&b->argvlen, 2);
        idx = ngx_array_push(&b->sent);

        if (p == NULL || argv == NULL || argvlen == NULL || idx == NULL) {
            return NGX_ERROR;
        }

        argv[0] = (char *) p;
        p = ngx_sprintf(p, "%016xL", f->id);
        argvlen[0] = NGX_HTTP_LLM_ROUTER_DEC_ID_LEN;

        argv[1] = (char *) p;
        argvlen[1] = ngx_sprintf(p, "%ud|%ud|%ud|%ud", f->bucket, f->tier,
                                 f->slot, f->score)
                     - p;

        *idx = i;
        b->decisions++;
    }

    return NGX_OK;
}


/*
 * Offsets moved here since the last pull, proposed to the fleet: the
 * fleet's value is what every instance routes with, so that they all
 * agree whatever order their evidence came in.
 */

static ngx_int_t
ngx_http_llm_router_batch_offsets(ngx_http_llm_router_batch_t *b,
    ngx_pool_t *pool, ngx_http_llm_router_shctx_t *sh)
{
    u_char       *p;
    char        **argv;
    size_t       *argvlen;
    ngx_uint_t    i;

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_BUCKETS; i++) {
        if (!sh->proposed[i]) {
            continue;
        }

        p = ngx_pnalloc(pool, 32);
        argv = ngx_array_push_n(&b->argv, 2);
        argvlen = ngx_array_push_n(&b->argvlen, 2);

        if (p == NULL || argv == NULL || argvlen == NULL) {
            return NGX_ERROR;
        }

        argv[0] = (char *) p;
        p = ngx_sprintf(p, "o|%ui", i);
        argvlen[0] = p - (u_char *) argv[0];

        argv[1] = (char *) p;
        argvlen[1] = ngx_sprintf(p, "%d", (int) sh->offset[i]) - p;

        sh->proposed[i] = 0;
        b->offsets++;
    }

    return NGX_OK;
}


/* budget keys that want a lease; the caller formats their keys */

static ngx_int_t
ngx_http_llm_router_batch_leases(ngx_http_llm_router_batch_t *b,
    ngx_http_llm_router_shctx_t *sh)
{
    ngx_uint_t                           i;
    ngx_http_llm_router_budget_res_t    *lease;
    ngx_http_llm_router_budget_entry_t  *e;

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES; i++) {
        e = &sh->budget_entries[i];

        if (e->id == 0 || !e->want) {
            continue;
        }

        lease = ngx_array_push(&b->leases);
        if (lease == NULL) {
            return NGX_ERROR;
        }

        lease->entry = i;
        lease->id = e->id;
        lease->period_start = e->period_start;
        lease->reserved = 0;

        if (b->leases.nelts == NGX_HTTP_LLM_ROUTER_BATCH_LEASES) {
            break;
        }
    }

    return NGX_OK;
}


/* a lease answered by the fleet: grant of total granted in the period */

void
ngx_http_llm_router_lease_granted(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_budget_res_t *lease, int64_t grant, int64_t total)
{
    ngx_http_llm_router_budget_entry_t  *e;

    ngx_shmtx_lock(&zone->shpool->mutex);

    e = &zone->sh->budget_entries[lease->entry];

    llmr_budget_granted(e, lease->id, lease->period_start, grant, total);

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* appends "scope|name|counter" delta pairs; the caller holds the mutex */

static ngx_int_t
ngx_http_llm_router_batch_key(ngx_http_llm_router_batch_t *b,
    ngx_pool_t *pool, ngx_http_llm_router_stat_t *st, const char *scope,
    u_char *name, size_t len)
{
    u_char      *p, *q;
    char       **argv;
    size_t      *argvlen, n;
    ngx_uint_t   c;

    for (c = 0; c < NGX_HTTP_LLM_ROUTER_C_N; c++) {
        if (st->pending[c] == 0) {
            continue;
        }

        n = 2 + len + 1 + ngx_http_llm_router_counter_names[c].len;

        p = ngx_pnalloc(pool, n + NGX_ATOMIC_T_LEN);
        argv = ngx_array_push_n(&b->argv, 2);
        argvlen = ngx_array_push_n(&b->argvlen, 2);

        if (p == NULL || argv == NULL || argvlen == NULL) {
            return NGX_ERROR;
        }

        q = p;

        if (name) {
            p = ngx_sprintf(p, "%s|%*s|%V", scope, len, name,
                            &ngx_http_llm_router_counter_names[c]);

        } else {
            p = ngx_sprintf(p, "%s|%V", scope,
                            &ngx_http_llm_router_counter_names[c]);
        }

        argv[0] = (char *) q;
        argvlen[0] = p - q;

        q = p;
        p = ngx_sprintf(p, "%uA", st->pending[c]);

        argv[1] = (char *) q;
        argvlen[1] = p - q;

        b->deltas++;
    }

    return NGX_OK;
}


void
ngx_http_llm_router_batch_end(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_batch_t *b, ngx_uint_t ok)
{
    ngx_uint_t                    i, c, *sent;
    ngx_http_llm_router_learn_t  *l;
    ngx_http_llm_router_stat_t   *st;
    ngx_http_llm_router_shctx_t  *sh;

    sh = zone->sh;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (ok && sh->batch && sh->seq == b->seq) {

        for (i = 0; i < 1 + LLMR_TIER_N + LLMR_DOMAIN_N + sh->nslots; i++) {
            st = (i == 0) ? &sh->all
                 : (i <= LLMR_TIER_N) ? &sh->tiers[i - 1]
                 : (i <= LLMR_TIER_N + LLMR_DOMAIN_N)
                   ? &sh->domains[i - 1 - LLMR_TIER_N]
                   : &sh->slots[i - 1 - LLMR_TIER_N - LLMR_DOMAIN_N].stat;

            for (c = 0; c < NGX_HTTP_LLM_ROUTER_C_N; c++) {
                st->acked[c] += st->pending[c];
                st->pending[c] = 0;
            }
        }

        for (i = 0; i < NGX_HTTP_LLM_ROUTER_BUCKETS; i++) {
            for (c = 0; c < LLMR_TIER_N; c++) {
                l = &sh->learn[i][c];
                l->acked[0] += l->pending[0];
                l->acked[1] += l->pending[1];
                l->pending[0] = 0;
                l->pending[1] = 0;
            }
        }

        sent = b->sent.elts;

        for (i = 0; i < b->sent.nelts; i++) {
            sh->fb[sent[i]].unsent = 0;
        }

        if (b->reset) {
            sh->learn_reset = 0;
        }

        sh->batch = 0;
        sh->seq++;
        sh->last_flush = ngx_time();
        sh->fleet_known = 1;
    }

    if (sh->flusher == ngx_pid) {
        sh->flusher = 0;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/*
 * The caller holds the mutex.  One field of the fleet hash read back: "a|requests", "t|simple|cost_micro",
 * "d|code|requests", "m|<model>|errors_5xx".  Unknown fields are skipped,
 * so instances of different versions can share a fleet.
 */

void
ngx_http_llm_router_fleet_set(ngx_http_llm_router_zone_t *zone,
    u_char *field, size_t flen, u_char *value, size_t vlen)
{
    u_char                       *p, *last, *name;
    size_t                        nlen;
    ngx_int_t                     v, idx;
    ngx_uint_t                    c;
    ngx_http_llm_router_stat_t   *st;
    ngx_http_llm_router_slot_t   *slot;
    ngx_http_llm_router_shctx_t  *sh;

    sh = zone->sh;
    last = field + flen;

    if (flen < 3 || field[1] != '|') {
        return;
    }

    v = ngx_atoi(value, vlen);
    if (v == NGX_ERROR && field[0] != 'o') {
        return;
    }

    if (field[0] == 'o') {

        /* "o|bucket": the fleet's offset, which this instance adopts */

        idx = ngx_atoi(field + 2, last - field - 2);

        if (idx >= 0 && idx < NGX_HTTP_LLM_ROUTER_BUCKETS
            && !sh->proposed[idx])
        {
            v = ngx_atoi(value[0] == '-' ? value + 1 : value,
                         value[0] == '-' ? vlen - 1 : vlen);

            if (v != NGX_ERROR && v <= 8) {
                sh->offset[idx] = (int8_t) (value[0] == '-' ? -v : v);
            }
        }

        return;
    }

    if (field[0] == 'q') {

        /* "q|bucket|tier|w" or "q|bucket|tier|q" */

        name = field + 2;
        p = ngx_strlchr(name, last, '|');
        if (p == NULL) {
            return;
        }

        idx = ngx_atoi(name, p - name);
        name = p + 1;
        p = ngx_strlchr(name, last, '|');

        if (p == NULL || idx < 0 || idx >= NGX_HTTP_LLM_ROUTER_BUCKETS
            || last - p != 2)
        {
            return;
        }

        c = ngx_atoi(name, p - name);

        if (c >= LLMR_TIER_N) {
            return;
        }

        sh->learn[idx][c].fleet[p[1] == 'w' ? 0 : 1] = (ngx_atomic_uint_t) v;
        return;
    }

    p = ngx_strlchr(field + 2, last, '|');

    if (field[0] == 'a') {
        name = NULL;
        nlen = 0;
        p = field + 1;

    } else {
        if (p == NULL) {
            return;
        }

        name = field + 2;
        nlen = p - name;
    }

    p++;

    for (c = 0; c < NGX_HTTP_LLM_ROUTER_C_N; c++) {
        if ((size_t) (last - p) == ngx_http_llm_router_counter_names[c].len
            && ngx_strncmp(p, ngx_http_llm_router_counter_names[c].data,
                           last - p)
               == 0)
        {
            break;
        }
    }

    if (c == NGX_HTTP_LLM_ROUTER_C_N) {
        return;
    }

    switch (field[0]) {

    case 'a':
        st = &sh->all;
        break;

    case 't':
        idx = llmr_tier_parse((char *) name, nlen);
        if (idx < 0) {
            return;
        }

        st = &sh->tiers[idx];
        break;

    case 'd':
        idx = llmr_domain_parse((char *) name, nlen);
        if (idx < 0) {
            return;
        }

        st = &sh->domains[idx];
        break;

    case 'm':
        slot = ngx_http_llm_router_slot(sh, name, nlen);
        if (slot == NULL) {
            return;
        }

        st = &slot->stat;
        break;

    default:
        return;
    }

    st->fleet[c] = (ngx_atomic_uint_t) v;
}


/*
 * The caller holds the mutex.  One entry of the fleet's health hash:
 * "model" -> "until|reason"; the latest "down until" anywhere in the
 * fleet applies here too.  Returns 1 when it makes the model down here.
 */

ngx_uint_t
ngx_http_llm_router_fleet_health(ngx_http_llm_router_zone_t *zone,
    u_char *name, size_t len, u_char *value, size_t vlen, uint64_t now)
{
    u_char                      *bar;
    uint64_t                     until;
    ngx_http_llm_router_slot_t  *slot;

    bar = ngx_strlchr(value, value + vlen, '|');

    until = (uint64_t) ngx_atoof(value, (bar ? bar : value + vlen) - value);

    if (until == (uint64_t) NGX_ERROR || until <= now) {
        return 0;
    }

    slot = ngx_http_llm_router_slot(zone->sh, name, len);
    if (slot == NULL) {
        return 0;
    }

    return llmr_health_fleet(&slot->health, now, until,
                             bar ? (char *) bar + 1 : NULL,
                             bar ? (size_t) (value + vlen - bar - 1) : 0);
}


void
ngx_http_llm_router_redis_status(ngx_http_llm_router_zone_t *zone,
    ngx_uint_t state, const char *error)
{
    ngx_http_llm_router_shctx_t  *sh;

    sh = zone->sh;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sh->redis_state = state;

    if (error) {
        ngx_cpystrn(sh->redis_error, (u_char *) error,
                    sizeof(sh->redis_error));

    } else {
        sh->redis_error[0] = '\0';
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* requests counted here and not yet acknowledged by Redis */

uint64_t
ngx_http_llm_router_unflushed(ngx_http_llm_router_zone_t *zone)
{
    return zone->sh->all.total[NGX_HTTP_LLM_ROUTER_C_REQUESTS]
           - zone->sh->all.acked[NGX_HTTP_LLM_ROUTER_C_REQUESTS];
}
