
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


typedef struct {
    ngx_uint_t                   counter;
    ngx_atomic_uint_t            value;
} ngx_http_llm_router_add_t;


static ngx_int_t ngx_http_llm_router_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_llm_router_slot_t *ngx_http_llm_router_slot(
    ngx_http_llm_router_shctx_t *sh, u_char *name, size_t len);
static void ngx_http_llm_router_stat_add(ngx_http_llm_router_stat_t *st,
    ngx_http_llm_router_add_t *adds, ngx_uint_t n);
static ngx_int_t ngx_http_llm_router_batch_key(
    ngx_http_llm_router_batch_t *b, ngx_pool_t *pool,
    ngx_http_llm_router_stat_t *st, const char *scope, u_char *name,
    size_t len);


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


/* upper bounds of the latency buckets, ms; the last one is +Inf */
const ngx_msec_t  ngx_http_llm_router_hist_bounds[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000,
    (ngx_msec_t) -1
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
    ngx_uint_t                    i, full;
    llmr_model_t                 *m;
    llmr_registry_t              *reg;
    ngx_http_llm_router_slot_t   *slot;
    ngx_http_llm_router_zone_t   *zone;
    ngx_http_llm_router_shctx_t  *sh;

    zone = shm_zone->data;

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
 * The log phase charges every routed request once: the outcome of the
 * last upstream attempt (status class, latency) and its tokens and cost,
 * exact when the provider reported usage, estimated otherwise.
 */

ngx_int_t
ngx_http_llm_router_log_handler(ngx_http_request_t *r)
{
    double                            cost;
    ngx_uint_t                        n, status, timeout, i;
    ngx_msec_t                        latency;
    const llmr_model_t               *m;
    ngx_http_upstream_state_t        *state;
    ngx_http_llm_router_ctx_t        *ctx;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_slot_t       *slot;
    ngx_http_llm_router_add_t         adds[8];
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

    if (!ctx->decided) {
        (void) ngx_atomic_fetch_add(&zone->sh->rejected, 1);
        return NGX_OK;
    }

    if (ctx->defaulted) {
        (void) ngx_atomic_fetch_add(&zone->sh->defaulted, 1);
    }

    status = r->headers_out.status;
    latency = (ngx_msec_t) -1;
    timeout = 0;

    if (r->upstream_states && r->upstream_states->nelts) {
        state = r->upstream_states->elts;
        state = &state[r->upstream_states->nelts - 1];

        if (state->status) {
            status = state->status;
            latency = state->response_time;
            timeout = (status == NGX_HTTP_GATEWAY_TIME_OUT
                       && state->header_time == (ngx_msec_t) -1);
        }
    }

    n = 0;

    adds[n].counter = NGX_HTTP_LLM_ROUTER_C_REQUESTS;
    adds[n++].value = 1;

    if (timeout) {
        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_ERR_TIMEOUT;
        adds[n++].value = 1;

    } else if (status == NGX_HTTP_TOO_MANY_REQUESTS) {
        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_ERR_429;
        adds[n++].value = 1;

    } else if (status >= 500) {
        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_ERR_5XX;
        adds[n++].value = 1;

    } else if (status >= 400) {
        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_ERR_4XX;
        adds[n++].value = 1;
    }

    /* a failed attempt is not billed; a served one is charged its usage */

    if (status < 400 && ctx->dec.model >= 0) {
        m = &lmcf->registry->models[ctx->dec.model];

        cost = llmr_model_cost(m, ctx->dec.input_tokens,
                               ctx->dec.output_tokens) * 1e6;

        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_INPUT_TOKENS;
        adds[n++].value = (ngx_atomic_uint_t) ctx->dec.input_tokens;
        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_OUTPUT_TOKENS;
        adds[n++].value = (ngx_atomic_uint_t) ctx->dec.output_tokens;
        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_COST;
        adds[n++].value = (ngx_atomic_uint_t) (cost + 0.5);
        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_COST_EST;
        adds[n++].value = (ngx_atomic_uint_t) (cost + 0.5);
    }

    if (latency != (ngx_msec_t) -1) {
        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_LATENCY;
        adds[n++].value = latency;

        for (i = 0; latency > ngx_http_llm_router_hist_bounds[i]; i++) {
            /* void */
        }

        adds[n].counter = NGX_HTTP_LLM_ROUTER_C_HIST + i;
        adds[n++].value = 1;
    }

    ngx_http_llm_router_stat_add(&zone->sh->all, adds, n);
    ngx_http_llm_router_stat_add(&zone->sh->tiers[ctx->dec.tier], adds, n);
    ngx_http_llm_router_stat_add(&zone->sh->domains[ctx->cls.domain], adds,
                                 n);

    slot = zone->model_slot[ctx->dec.model];

    if (slot) {
        ngx_http_llm_router_stat_add(&slot->stat, adds, n);
    }

    return NGX_OK;
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
    ngx_uint_t                    i, c;
    ngx_http_llm_router_stat_t   *st;
    ngx_http_llm_router_shctx_t  *sh;

    sh = zone->sh;

    if (ngx_array_init(&b->argv, pool, 64, sizeof(char *)) != NGX_OK
        || ngx_array_init(&b->argvlen, pool, 64, sizeof(size_t)) != NGX_OK)
    {
        return NGX_ERROR;
    }

    b->deltas = 0;

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

        /* a new batch: take the deltas */

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

        sh->batch = 1;
    }

    b->seq = sh->seq;

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

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
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
    ngx_uint_t                    i, c;
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

    v = ngx_atoi(value, vlen);
    if (v == NGX_ERROR || flen < 3 || field[1] != '|') {
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
