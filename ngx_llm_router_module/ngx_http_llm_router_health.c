
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * Passive health per model, from what the log phase and the fallbacks
 * see: a model goes down after "fails" failures in a row, an error rate
 * over "window", or a 429 with Retry-After; it stays down for "cooldown"
 * (longer each time it trips again), then lets "probes" requests through
 * (half-open) and comes back when they succeed.  Slow answers (p95 over
 * "latency") or a lesser error rate make it degraded: still used, but
 * only when no healthy model can serve the request.  The state lives in
 * the shared zone, so every worker sees it at once, and "down until" goes
 * through Redis to the rest of the fleet.
 */


static void ngx_http_llm_router_health_bucket(ngx_http_llm_router_health_t *h,
    ngx_http_llm_router_health_conf_t *hc, uint64_t now, ngx_uint_t *idx);


void
ngx_http_llm_router_health_init_conf(ngx_http_llm_router_health_conf_t *hc)
{
    hc->enabled = 1;
    hc->fails = 3;
    hc->window = 30000;
    hc->error_rate = 50;
    hc->degraded_rate = 20;
    hc->min_requests = 5;
    hc->cooldown = 10000;
    hc->max_cooldown = 300000;
    hc->latency = 0;
    hc->probes = 1;
    hc->fail_open = 1;
}


char *
ngx_http_llm_router_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    u_char                             *p;
    ngx_int_t                           n;
    ngx_str_t                          *value, s;
    ngx_uint_t                          i;
    ngx_msec_t                          t, *tp;
    ngx_http_llm_router_health_conf_t  *hc;

    hc = &lmcf->health;
    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        hc->enabled = 0;
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        p = (u_char *) ngx_strchr(value[i].data, '=');
        if (p == NULL) {
            goto invalid;
        }

        s.data = p + 1;
        s.len = value[i].data + value[i].len - s.data;

#define ngx_key_is(k)                                                         \
        ((size_t) (p - value[i].data) == sizeof(k) - 1                        \
         && ngx_strncmp(value[i].data, k, sizeof(k) - 1) == 0)

        if (ngx_key_is("all_down")) {
            if (s.len == 9 && ngx_strncmp(s.data, "fail_open", 9) == 0) {
                hc->fail_open = 1;

            } else if (s.len == 11
                       && ngx_strncmp(s.data, "fail_closed", 11) == 0)
            {
                hc->fail_open = 0;

            } else {
                goto invalid;
            }

            continue;
        }

        tp = NULL;

        if (ngx_key_is("window")) {
            tp = &hc->window;

        } else if (ngx_key_is("cooldown")) {
            tp = &hc->cooldown;

        } else if (ngx_key_is("max_cooldown")) {
            tp = &hc->max_cooldown;

        } else if (ngx_key_is("latency")) {
            tp = &hc->latency;
        }

        if (tp) {
            t = ngx_parse_time(&s, 0);
            if (t == (ngx_msec_t) NGX_ERROR
                || (t < 100 && tp != &hc->latency))
            {
                goto invalid;
            }

            *tp = t;
            continue;
        }

        if (s.len && s.data[s.len - 1] == '%') {
            s.len--;
        }

        n = ngx_atoi(s.data, s.len);
        if (n == NGX_ERROR) {
            goto invalid;
        }

        if (ngx_key_is("fails") && n >= 1 && n <= 1000) {
            hc->fails = n;

        } else if (ngx_key_is("error_rate") && n >= 1 && n <= 100) {
            hc->error_rate = n;

        } else if (ngx_key_is("degraded_rate") && n >= 1 && n <= 100) {
            hc->degraded_rate = n;

        } else if (ngx_key_is("min_requests") && n >= 1) {
            hc->min_requests = n;

        } else if (ngx_key_is("probes") && n >= 1 && n <= 100) {
            hc->probes = n;

        } else {
            goto invalid;
        }

#undef ngx_key_is
    }

    if (hc->window < NGX_HTTP_LLM_ROUTER_WIN_N * 10) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_health\" window is too short");
        return NGX_CONF_ERROR;
    }

    if (hc->cooldown > hc->max_cooldown) {
        hc->max_cooldown = hc->cooldown;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"llm_health\"",
                       &value[i]);

    return NGX_CONF_ERROR;
}


uint64_t
ngx_http_llm_router_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}


/*
 * The state that routing sees now.  Down may have been set by the fleet;
 * degraded holds only while the window still says so, since a model that
 * is avoided gets no traffic that could clear it.
 */

ngx_uint_t
ngx_http_llm_router_health_state(ngx_http_llm_router_health_t *h,
    ngx_http_llm_router_health_conf_t *hc, uint64_t now)
{
    ngx_uint_t  req, fail;
    ngx_msec_t  p95;

    if (h->fleet_until > now) {
        return NGX_HTTP_LLM_ROUTER_DOWN;
    }

    if (h->state != NGX_HTTP_LLM_ROUTER_DEGRADED) {
        return h->state;
    }

    p95 = ngx_http_llm_router_health_p95(h, hc, now, &req, &fail,
                                         hc->latency != 0);

    if (req >= hc->min_requests
        && (fail * 100 >= hc->degraded_rate * req
            || (hc->latency && p95 > hc->latency)))
    {
        return NGX_HTTP_LLM_ROUTER_DEGRADED;
    }

    return NGX_HTTP_LLM_ROUTER_HEALTHY;
}


/*
 * Masks of this cycle's models by index.  A down model whose cooldown has
 * passed is offered again while probe slots are free; the caller then
 * claims a slot for the chosen model with health_probe().  Read without
 * the lock: a stale read only shifts a decision by one request.
 */

void
ngx_http_llm_router_health_masks(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_health_conf_t *hc, ngx_uint_t n, uint64_t *down,
    uint64_t *degraded)
{
    uint64_t                       now;
    ngx_uint_t                     i, state;
    ngx_http_llm_router_slot_t    *slot;
    ngx_http_llm_router_health_t  *h;

    *down = 0;
    *degraded = 0;

    if (!hc->enabled) {
        return;
    }

    now = ngx_http_llm_router_now_ms();

    for (i = 0; i < n; i++) {
        slot = zone->model_slot[i];

        if (slot == NULL) {
            continue;
        }

        h = &slot->health;
        state = ngx_http_llm_router_health_state(h, hc, now);

        if (state == NGX_HTTP_LLM_ROUTER_DOWN) {
            if (h->fleet_until > now || h->until > now
                || h->probes >= hc->probes)
            {
                *down |= (uint64_t) 1 << i;
            }

        } else if (state == NGX_HTTP_LLM_ROUTER_DEGRADED) {
            *degraded |= (uint64_t) 1 << i;
        }
    }
}


/*
 * Claims a half-open probe slot when the chosen model is down past its
 * cooldown: NGX_OK (the request is a probe), NGX_BUSY (no slot left:
 * route elsewhere), NGX_DECLINED (the model is not down).
 */

ngx_int_t
ngx_http_llm_router_health_probe(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_health_conf_t *hc, ngx_int_t model)
{
    uint64_t                       now;
    ngx_int_t                      rc;
    ngx_http_llm_router_slot_t    *slot;
    ngx_http_llm_router_health_t  *h;

    slot = zone->model_slot[model];

    if (!hc->enabled || slot == NULL
        || slot->health.state != NGX_HTTP_LLM_ROUTER_DOWN)
    {
        return NGX_DECLINED;
    }

    h = &slot->health;
    now = ngx_http_llm_router_now_ms();

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (h->state != NGX_HTTP_LLM_ROUTER_DOWN) {
        rc = NGX_DECLINED;

    } else if (h->until > now || h->fleet_until > now
               || h->probes >= hc->probes)
    {
        rc = NGX_BUSY;

    } else {
        h->probes++;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/*
 * Records one attempt's outcome.  "failed" is set for what says the model
 * cannot serve now (5xx, timeouts, 429, 401/402/403, 408), not for the
 * client's own mistakes.  State changes are logged once, by the worker
 * that made them.
 */

void
ngx_http_llm_router_health_record(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_health_conf_t *hc, ngx_http_llm_router_slot_t *slot,
    ngx_uint_t failed, ngx_msec_t latency, ngx_msec_t retry_after,
    ngx_uint_t probe, ngx_uint_t status, ngx_log_t *log)
{
    u_char                        reason[80];
    uint64_t                      now, until;
    ngx_uint_t                    idx, i, req, fail, old, new, trips;
    ngx_msec_t                    p95, cooldown;
    ngx_http_llm_router_health_t  *h;

    if (!hc->enabled || slot == NULL) {
        return;
    }

    h = &slot->health;
    now = ngx_http_llm_router_now_ms();
    reason[0] = '\0';
    until = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    old = h->state;

    ngx_http_llm_router_health_bucket(h, hc, now, &idx);

    h->win_req[idx]++;

    if (failed) {
        h->win_fail[idx]++;
    }

    if (latency != (ngx_msec_t) -1 && !failed) {
        for (i = 0; latency > ngx_http_llm_router_hist_bounds[i]; i++) {
            /* void */
        }

        h->win_hist[idx][i]++;
    }

    if (probe && h->probes) {
        h->probes--;
    }

    /* the window's percentile only matters with a latency SLA */

    p95 = ngx_http_llm_router_health_p95(h, hc, now, &req, &fail,
                                         hc->latency != 0);

    if (!failed) {
        h->consecutive = 0;

        if (h->state == NGX_HTTP_LLM_ROUTER_DOWN) {

            if (probe && ++h->probe_ok >= hc->probes) {
                h->state = NGX_HTTP_LLM_ROUTER_HEALTHY;
                h->probe_ok = 0;
                h->until = 0;
                ngx_sprintf(reason, "probe succeeded%Z");

                /* the failures that took it down are history now */
                ngx_memzero(h->win_epoch, sizeof(h->win_epoch));
            }

        } else if (req >= hc->min_requests
                   && fail * 100 >= hc->degraded_rate * req)
        {
            h->state = NGX_HTTP_LLM_ROUTER_DEGRADED;
            ngx_snprintf(reason, sizeof(reason) - 1,
                         "error rate %ui%% over %Ms%Z",
                         fail * 100 / req, hc->window / 1000);

        } else if (hc->latency && req >= hc->min_requests
                   && p95 > hc->latency)
        {
            h->state = NGX_HTTP_LLM_ROUTER_DEGRADED;
            ngx_snprintf(reason, sizeof(reason) - 1,
                         "p95 latency %Mms over %Mms%Z", p95, hc->latency);

        } else {
            h->state = NGX_HTTP_LLM_ROUTER_HEALTHY;

            if (old != NGX_HTTP_LLM_ROUTER_HEALTHY) {
                ngx_sprintf(reason, "recovered%Z");
            }
        }

        goto done;
    }

    h->consecutive++;

    /* each trip in a row waits twice as long, up to max_cooldown */

    trips = ngx_min(h->trips, 5);
    cooldown = ngx_min(hc->cooldown << trips, hc->max_cooldown);

    if (h->state == NGX_HTTP_LLM_ROUTER_DOWN) {

        if (probe) {
            until = now + cooldown;
            h->probe_ok = 0;
            ngx_snprintf(reason, sizeof(reason) - 1,
                         "probe failed (HTTP %ui)%Z", status);
        }

        goto done;
    }

    if (retry_after) {
        until = now + ngx_min(retry_after, hc->max_cooldown);
        ngx_snprintf(reason, sizeof(reason) - 1,
                     "HTTP %ui, Retry-After %Ms%Z", status,
                     retry_after / 1000);

    } else if (h->consecutive >= hc->fails) {
        until = now + cooldown;
        ngx_snprintf(reason, sizeof(reason) - 1,
                     "%ui failures in a row (last HTTP %ui)%Z",
                     h->consecutive, status);

    } else if (req >= hc->min_requests
               && fail * 100 >= hc->error_rate * req)
    {
        until = now + cooldown;
        ngx_snprintf(reason, sizeof(reason) - 1,
                     "error rate %ui%% over %Ms%Z", fail * 100 / req,
                     hc->window / 1000);

    } else if (req >= hc->min_requests
               && fail * 100 >= hc->degraded_rate * req
               && h->state == NGX_HTTP_LLM_ROUTER_HEALTHY)
    {
        h->state = NGX_HTTP_LLM_ROUTER_DEGRADED;
        ngx_snprintf(reason, sizeof(reason) - 1,
                     "error rate %ui%% over %Ms%Z", fail * 100 / req,
                     hc->window / 1000);
    }

done:

    if (until) {
        h->state = NGX_HTTP_LLM_ROUTER_DOWN;
        h->until = until;
        h->trips++;
        h->probe_ok = 0;
    }

    if (h->state == NGX_HTTP_LLM_ROUTER_HEALTHY
        && old != NGX_HTTP_LLM_ROUTER_HEALTHY)
    {
        h->trips = 0;
    }

    new = h->state;

    if (new != old || until) {
        h->since = now;

        if (reason[0]) {
            ngx_cpystrn(h->reason, reason, sizeof(h->reason));
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (new == old && !until) {
        return;
    }

    if (new == NGX_HTTP_LLM_ROUTER_DOWN) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "llm_router: model \"%*s\" is down for %Ms: %s",
                      slot->len, slot->name, (ngx_msec_t) (until - now) / 1000,
                      reason);

    } else if (new == NGX_HTTP_LLM_ROUTER_DEGRADED) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "llm_router: model \"%*s\" is degraded: %s",
                      slot->len, slot->name, reason);

    } else {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "llm_router: model \"%*s\" is healthy again: %s",
                      slot->len, slot->name, reason);
    }
}


/* the window's request and failure counts, and its p95 latency (ms) */

ngx_msec_t
ngx_http_llm_router_health_p95(ngx_http_llm_router_health_t *h,
    ngx_http_llm_router_health_conf_t *hc, uint64_t now, ngx_uint_t *req,
    ngx_uint_t *fail, ngx_uint_t percentile)
{
    uint32_t    epoch;
    ngx_uint_t  i, b, n, hist[12], total;

    epoch = (uint32_t) (now / (hc->window / NGX_HTTP_LLM_ROUTER_WIN_N));

    *req = 0;
    *fail = 0;
    total = 0;
    ngx_memzero(hist, sizeof(hist));

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_WIN_N; i++) {
        if (epoch - h->win_epoch[i] >= NGX_HTTP_LLM_ROUTER_WIN_N) {
            continue;
        }

        *req += h->win_req[i];
        *fail += h->win_fail[i];

        if (!percentile) {
            continue;
        }

        for (b = 0; b < 12; b++) {
            hist[b] += h->win_hist[i][b];
            total += h->win_hist[i][b];
        }
    }

    if (total == 0) {
        return 0;
    }

    n = 0;

    for (b = 0; b < 11; b++) {
        n += hist[b];

        if (n * 100 >= total * 95) {
            break;
        }
    }

    return (b < 11) ? ngx_http_llm_router_hist_bounds[b]
                    : ngx_http_llm_router_hist_bounds[10] * 2;
}


static void
ngx_http_llm_router_health_bucket(ngx_http_llm_router_health_t *h,
    ngx_http_llm_router_health_conf_t *hc, uint64_t now, ngx_uint_t *idx)
{
    uint32_t  epoch;

    epoch = (uint32_t) (now / (hc->window / NGX_HTTP_LLM_ROUTER_WIN_N));
    *idx = epoch % NGX_HTTP_LLM_ROUTER_WIN_N;

    if (h->win_epoch[*idx] != epoch) {
        h->win_epoch[*idx] = epoch;
        h->win_req[*idx] = 0;
        h->win_fail[*idx] = 0;
        ngx_memzero(h->win_hist[*idx], sizeof(h->win_hist[0]));
    }
}
