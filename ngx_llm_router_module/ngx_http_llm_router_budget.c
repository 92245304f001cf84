
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * Budgets: "llm_budget 20.00/h [key=$var] [mode=reject|downgrade]".
 *
 * A request reserves its estimated cost when it is routed and settles
 * the actual cost in the log phase; both happen in the shared zone under
 * its mutex, so workers never overspend together.  Across instances the
 * money comes in leases: a Redis script grants each instance a slice of
 * the period's limit atomically (never more than the limit in total), an
 * instance spends only what it was granted, and asks for the next slice
 * when half of the last one is used.  The budget can then be exceeded
 * only by the difference between the estimates of the requests in flight
 * and what they really cost.  Nothing waits for Redis on the request
 * path: a key's very first request of a period goes through while its
 * first lease is on the way; while Redis is down an instance counts
 * against the whole limit on its own.  Keys are stored hashed.
 */


static ngx_int_t ngx_http_llm_router_budget_amount(ngx_conf_t *cf,
    ngx_http_llm_router_budget_t *b, ngx_str_t *value);
static ngx_int_t ngx_http_llm_router_budget_param(ngx_conf_t *cf,
    ngx_http_llm_router_budget_t *b, ngx_str_t *value, ngx_str_t *name);
static ngx_int_t ngx_http_llm_router_budget_name(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_str_t *name);
static ngx_int_t ngx_http_llm_router_budget_add(ngx_conf_t *cf,
    ngx_http_llm_router_loc_conf_t *llcf,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_http_llm_router_budget_t *b);
static ngx_int_t ngx_http_llm_router_budget_id(ngx_http_request_t *r,
    ngx_http_llm_router_budget_t *b, uint64_t *id, uint64_t *keyhash);
static void ngx_http_llm_router_budget_rule(ngx_http_llm_router_budget_t *b,
    llmr_budget_rule_t *rule);
static uint64_t ngx_http_llm_router_budget_hash(ngx_str_t *s, uint32_t seed);


char *
ngx_http_llm_router_budget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_loc_conf_t *llcf = conf;

    ngx_int_t                          rc;
    ngx_str_t                         *value, name;
    ngx_uint_t                         i;
    ngx_http_llm_router_budget_t      *b;
    ngx_http_llm_router_main_conf_t   *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_router_module);
    value = cf->args->elts;

    b = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_router_budget_t));
    if (b == NULL) {
        return NGX_CONF_ERROR;
    }

    rc = ngx_http_llm_router_budget_amount(cf, b, &value[1]);

    if (rc == NGX_DECLINED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid budget \"%V\" in \"llm_budget\" (use "
                           "AMOUNT/PERIOD in USD, e.g. 20.00/h, 500/d, 5/30m)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (rc != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    b->mode = NGX_HTTP_LLM_ROUTER_BUDGET_REJECT;
    b->downgrade_at = 80;
    ngx_str_null(&name);

    for (i = 2; i < cf->args->nelts; i++) {

        rc = ngx_http_llm_router_budget_param(cf, b, &value[i], &name);

        if (rc == NGX_DECLINED) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"llm_budget\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        if (rc != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_llm_router_budget_name(cf, lmcf, &name) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    b->name = name;

    if (ngx_http_llm_router_budget_add(cf, llcf, lmcf, b) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * AMOUNT/PERIOD: "20.00/h", "500/d", "5/30m".  NGX_OK, NGX_DECLINED when
 * it is invalid, NGX_ERROR.
 */

static ngx_int_t
ngx_http_llm_router_budget_amount(ngx_conf_t *cf,
    ngx_http_llm_router_budget_t *b, ngx_str_t *value)
{
    u_char     *p, *slash;
    char       *end;
    double      amount;
    ngx_str_t   s;

    slash = (u_char *) ngx_strchr(value->data, '/');
    if (slash == NULL || slash == value->data) {
        return NGX_DECLINED;
    }

    if (value->data[0] < '0' || value->data[0] > '9') {
        return NGX_DECLINED;
    }

    /* the argument is NUL-terminated: strtod() stops at the slash */

    amount = strtod((char *) value->data, &end);

    /* up to $10M a period: amounts stay exact integers in Redis' Lua */

    if ((u_char *) end != slash || !(amount > 0) || amount > 1e7) {
        return NGX_DECLINED;
    }

    b->limit = (uint64_t) (amount * 1e6 + 0.5);

    s.data = slash + 1;
    s.len = value->data + value->len - s.data;

    if (s.len && (s.data[0] < '0' || s.data[0] > '9')) {
        /* "h" alone is "1h" */
        p = ngx_pnalloc(cf->pool, s.len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        *p = '1';
        ngx_memcpy(p + 1, s.data, s.len);
        s.data = p;
        s.len++;
    }

    b->period = ngx_parse_time(&s, 1);

    if (b->period == (time_t) NGX_ERROR || b->period < 1) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * One of key=$var, mode=reject|downgrade, downgrade_at=N%, name=NAME.
 * NGX_OK, NGX_DECLINED when it is invalid, NGX_ERROR.
 */

static ngx_int_t
ngx_http_llm_router_budget_param(ngx_conf_t *cf,
    ngx_http_llm_router_budget_t *b, ngx_str_t *value, ngx_str_t *name)
{
    u_char                            *p;
    ngx_int_t                          n;
    ngx_str_t                          s;
    ngx_http_compile_complex_value_t   ccv;

    if (ngx_strncmp(value->data, "key=", 4) == 0) {
        s.data = value->data + 4;
        s.len = value->len - 4;

        b->key = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (b->key == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &s;
        ccv.complex_value = b->key;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (ngx_strcmp(value->data, "mode=reject") == 0) {
        b->mode = NGX_HTTP_LLM_ROUTER_BUDGET_REJECT;
        return NGX_OK;
    }

    if (ngx_strcmp(value->data, "mode=downgrade") == 0) {
        b->mode = NGX_HTTP_LLM_ROUTER_BUDGET_DOWNGRADE;
        return NGX_OK;
    }

    if (ngx_strncmp(value->data, "downgrade_at=", 13) == 0) {
        s.data = value->data + 13;
        s.len = value->len - 13;

        if (s.len && s.data[s.len - 1] == '%') {
            s.len--;
        }

        n = ngx_atoi(s.data, s.len);
        if (n < 1 || n > 100) {
            return NGX_DECLINED;
        }

        b->downgrade_at = n;
        return NGX_OK;
    }

    if (ngx_strncmp(value->data, "name=", 5) == 0) {
        name->data = value->data + 5;
        name->len = value->len - 5;

        if (name->len == 0 || name->len > 32) {
            return NGX_DECLINED;
        }

        for (p = name->data; p < name->data + name->len; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                  || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            {
                return NGX_DECLINED;
            }
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* the name identifies the budget in status, shm and Redis: "budgetN" */

static ngx_int_t
ngx_http_llm_router_budget_name(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_str_t *name)
{
    ngx_uint_t                      i;
    ngx_http_llm_router_budget_t  **bp;

    if (name->len == 0) {
        name->data = ngx_pnalloc(cf->pool, 32);
        if (name->data == NULL) {
            return NGX_ERROR;
        }

        name->len = ngx_snprintf(name->data, 32, "budget%ui",
                                 lmcf->budgets.nelts + 1)
                    - name->data;
    }

    bp = lmcf->budgets.elts;

    for (i = 0; i < lmcf->budgets.nelts; i++) {
        if (bp[i]->name.len == name->len
            && ngx_strncmp(bp[i]->name.data, name->data, name->len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate budget name \"%V\" in "
                               "\"llm_budget\"", name);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the location's budgets, and every budget for status and Redis */

static ngx_int_t
ngx_http_llm_router_budget_add(ngx_conf_t *cf,
    ngx_http_llm_router_loc_conf_t *llcf,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_http_llm_router_budget_t *b)
{
    ngx_http_llm_router_budget_t  **bp;

    if (llcf->budgets == NULL) {
        llcf->budgets = ngx_array_create(cf->pool, 2,
                                  sizeof(ngx_http_llm_router_budget_t *));
        if (llcf->budgets == NULL) {
            return NGX_ERROR;
        }
    }

    if (llcf->budgets->nelts == NGX_HTTP_LLM_ROUTER_BUDGETS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many \"llm_budget\" in one location "
                           "(at most %d)", NGX_HTTP_LLM_ROUTER_BUDGETS_MAX);
        return NGX_ERROR;
    }

    bp = ngx_array_push(llcf->budgets);
    if (bp == NULL) {
        return NGX_ERROR;
    }

    *bp = b;

    bp = ngx_array_push(&lmcf->budgets);
    if (bp == NULL) {
        return NGX_ERROR;
    }

    *bp = b;

    return NGX_OK;
}


/*
 * The location's budgets as they stand, for the decision's downgrade:
 * copies, read under the mutex, the zone left as it is.  Only when one
 * of them may downgrade: otherwise the reservation alone decides.
 */

ngx_int_t
ngx_http_llm_router_budget_signals(ngx_http_request_t *r, llmr_signals_t *s)
{
    time_t                             now;
    uint64_t                           keyhash, id;
    ngx_int_t                          rc;
    ngx_uint_t                         i, downgrade;
    llmr_budget_signal_t              *bs;
    ngx_http_llm_router_zone_t        *zone;
    ngx_http_llm_router_shctx_t       *sh;
    ngx_http_llm_router_budget_t     **bp, *b;
    ngx_http_llm_router_loc_conf_t    *llcf;
    ngx_http_llm_router_main_conf_t   *lmcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);

    s->nbudgets = 0;

    if (llcf->budgets == NULL || llcf->budgets->nelts == 0) {
        return NGX_OK;
    }

    bp = llcf->budgets->elts;
    downgrade = 0;

    for (i = 0; i < llcf->budgets->nelts; i++) {
        downgrade |= (bp[i]->mode == NGX_HTTP_LLM_ROUTER_BUDGET_DOWNGRADE);
    }

    if (!downgrade) {
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    zone = lmcf->shm_zone->data;
    sh = zone->sh;

    now = ngx_time();

    s->now = now;
    s->leased = (lmcf->redis
                 && sh->redis_state == NGX_HTTP_LLM_ROUTER_REDIS_UP);

    for (i = 0; i < llcf->budgets->nelts; i++) {
        b = bp[i];

        rc = ngx_http_llm_router_budget_id(r, b, &id, &keyhash);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            continue;
        }

        bs = &s->budgets[s->nbudgets++];

        ngx_http_llm_router_budget_rule(b, &bs->rule);

        ngx_shmtx_lock(&zone->shpool->mutex);

        bs->refused = (llmr_budget_peek(sh->budget_entries,
                                        NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES,
                                        id, keyhash, &bs->rule, now,
                                        &bs->entry)
                       != LLMR_OK);

        ngx_shmtx_unlock(&zone->shpool->mutex);
    }

    return NGX_OK;
}


/*
 * Reserves a routed request's estimate on every budget of its location.
 * NGX_OK; NGX_BUSY: a budget is spent, *retry_after says for how long
 * (ctx->budget_hit which); NGX_ERROR.
 */

ngx_int_t
ngx_http_llm_router_budget_reserve(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, time_t *retry_after)
{
    int                                  rc;
    time_t                               now;
    int64_t                              est;
    uint64_t                             keyhash, id;
    ngx_int_t                            krc;
    ngx_uint_t                           i, leased, kick;
    llmr_budget_rule_t                   rule;
    llmr_budget_verdict_t                v;
    ngx_http_llm_router_zone_t          *zone;
    ngx_http_llm_router_shctx_t         *sh;
    ngx_http_llm_router_budget_t       **bp, *b;
    ngx_http_llm_router_loc_conf_t      *llcf;
    ngx_http_llm_router_main_conf_t     *lmcf;
    ngx_http_llm_router_budget_entry_t  *e;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);

    if (llcf->budgets == NULL || llcf->budgets->nelts == 0) {
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    zone = lmcf->shm_zone->data;
    sh = zone->sh;

    now = ngx_time();
    est = (int64_t) (ctx->dec.est_cost * 1e6 + 0.5);

    /* without Redis, or while it is down, the whole limit is ours */
    leased = (lmcf->redis && sh->redis_state == NGX_HTTP_LLM_ROUTER_REDIS_UP);
    kick = 0;

    bp = llcf->budgets->elts;

    for (i = 0; i < llcf->budgets->nelts; i++) {
        b = bp[i];

        krc = ngx_http_llm_router_budget_id(r, b, &id, &keyhash);

        if (krc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (krc == NGX_DECLINED) {
            continue;
        }

        ngx_http_llm_router_budget_rule(b, &rule);

        ngx_shmtx_lock(&zone->shpool->mutex);

        e = llmr_budget_entry(sh->budget_entries,
                              NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES, id, keyhash,
                              &rule, (const char *) b->name.data, b->name.len,
                              now);

        if (e == NULL) {
            ngx_shmtx_unlock(&zone->shpool->mutex);

            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "llm_router: no room for another key of budget "
                          "\"%V\" (%d keys spending this period), the "
                          "request is refused", &b->name,
                          NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES);

            *retry_after = 60;
            ctx->budget_hit = b;

            goto busy;
        }

        rc = llmr_budget_check(e, &rule, est, (int) leased, 1, now, &v);

        kick |= v.kick;

        if (rc == LLMR_BUDGET_OK) {
            ctx->budget_res[ctx->nbudgets].entry = e - sh->budget_entries;
            ctx->budget_res[ctx->nbudgets].id = e->id;
            ctx->budget_res[ctx->nbudgets].period_start = e->period_start;
            ctx->budget_res[ctx->nbudgets].reserved = est;
            ctx->nbudgets++;
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);

        if (rc == LLMR_BUDGET_SPENT) {
            *retry_after = (time_t) v.retry_after;
            ctx->budget_hit = b;

            goto busy;
        }
    }

    if (kick) {
        ngx_http_llm_router_redis_kick();
    }

    return NGX_OK;

busy:

    if (kick) {
        ngx_http_llm_router_redis_kick();
    }

    return NGX_BUSY;
}


/*
 * The entry id of a budget for the request: its name and its key's
 * hash.  NGX_DECLINED: the budget has a key and the request none, it is
 * not under it.
 */

static ngx_int_t
ngx_http_llm_router_budget_id(ngx_http_request_t *r,
    ngx_http_llm_router_budget_t *b, uint64_t *id, uint64_t *keyhash)
{
    ngx_str_t  key;

    *keyhash = 0;

    if (b->key) {
        if (ngx_http_complex_value(r, b->key, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (key.len == 0) {
            return NGX_DECLINED;
        }

        *keyhash = ngx_http_llm_router_budget_hash(&key, 0x9747b28c)
                   ^ (ngx_http_llm_router_budget_hash(&key, 0x5bd1e995)
                      << 32);
        *keyhash |= 1;
    }

    *id = ngx_http_llm_router_budget_hash(&b->name, 0x1b873593)
          ^ (*keyhash * 0x9e3779b97f4a7c15ULL);

    return NGX_OK;
}


static void
ngx_http_llm_router_budget_rule(ngx_http_llm_router_budget_t *b,
    llmr_budget_rule_t *rule)
{
    rule->limit = b->limit;
    rule->period = b->period;
    rule->downgrade = (b->mode == NGX_HTTP_LLM_ROUTER_BUDGET_DOWNGRADE);
    rule->downgrade_at = (unsigned) b->downgrade_at;
}


/* the log phase: the reservations give way to the actual cost */

void
ngx_http_llm_router_budget_settle(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, uint64_t cost)
{
    ngx_uint_t                           i;
    ngx_http_llm_router_zone_t          *zone;
    ngx_http_llm_router_budget_res_t    *res;
    ngx_http_llm_router_main_conf_t     *lmcf;

    if (ctx->nbudgets == 0) {
        return;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    zone = lmcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = 0; i < ctx->nbudgets; i++) {
        res = &ctx->budget_res[i];

        llmr_budget_settle(&zone->sh->budget_entries[res->entry], res->id,
                           res->period_start, res->reserved, (int64_t) cost);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ctx->nbudgets = 0;
}


/*
 * "budgets": {"NAME" or "NAME:KEYHASH": {"spent_usd", "reserved_usd",
 * "limit_usd", "period", "period_start", "projected_usd", "granted_usd",
 * "fleet_granted_usd"}}; the caller holds the mutex.
 */

u_char *
ngx_http_llm_router_budget_status(u_char *p, u_char *last,
    ngx_http_llm_router_shctx_t *sh)
{
    time_t                               now, elapsed;
    int64_t                              projected;
    ngx_uint_t                           i, n;
    ngx_http_llm_router_budget_entry_t  *e;

    now = ngx_time();
    n = 0;

    p = ngx_slprintf(p, last, "{");

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES; i++) {
        e = &sh->budget_entries[i];

        if (e->id == 0 || e->period_start + e->period <= now) {
            continue;
        }

        elapsed = ngx_max(now - e->period_start, 1);
        projected = e->spent * e->period / elapsed;

        p = ngx_slprintf(p, last, "%s\"%*s", n++ ? "," : "", e->name_len,
                         e->name);

        if (e->keyhash) {
            p = ngx_slprintf(p, last, ":%016xL", e->keyhash);
        }

        p = ngx_slprintf(p, last, "\":{\"spent_usd\":%.6f,"
                         "\"reserved_usd\":%.6f,\"limit_usd\":%.6f,"
                         "\"period\":%T,\"period_start\":%T,"
                         "\"projected_usd\":%.6f,\"granted_usd\":%.6f,"
                         "\"fleet_granted_usd\":%.6f}",
                         (double) e->spent / 1e6, (double) e->reserved / 1e6,
                         (double) e->limit / 1e6, e->period, e->period_start,
                         (double) projected / 1e6, (double) e->granted / 1e6,
                         (double) e->fleet_granted / 1e6);
    }

    return ngx_slprintf(p, last, "}");
}


static uint64_t
ngx_http_llm_router_budget_hash(ngx_str_t *s, uint32_t seed)
{
    uint32_t  h;

    h = ngx_murmur_hash2(s->data, s->len) ^ seed;
    h ^= h >> 13;
    h *= 0x5bd1e995;
    h ^= h >> 15;

    return h;
}
