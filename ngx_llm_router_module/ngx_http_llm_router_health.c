
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * Passive health per model, from what the log phase and the fallbacks
 * see.  The state machine is the core's (llmr_health_*); here it lives in
 * the shared zone under the mutex, so that every worker sees it at once,
 * and "down until" goes through Redis to the rest of the fleet.
 */


void
ngx_http_llm_router_health_init_conf(ngx_http_llm_router_health_conf_t *hc)
{
    hc->enabled = 1;
    hc->fail_open = 1;
    llmr_health_conf_init(&hc->c);
}


char *
ngx_http_llm_router_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    u_char                             *p;
    ngx_int_t                           n;
    ngx_str_t                          *value, s;
    ngx_uint_t                          i;
    uint64_t                           *tp;
    ngx_msec_t                          t;
    llmr_health_conf_t                 *c;
    ngx_http_llm_router_health_conf_t  *hc;

    hc = &lmcf->health;
    c = &hc->c;
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
            tp = &c->window;

        } else if (ngx_key_is("cooldown")) {
            tp = &c->cooldown;

        } else if (ngx_key_is("max_cooldown")) {
            tp = &c->max_cooldown;

        } else if (ngx_key_is("latency")) {
            tp = &c->latency;
        }

        if (tp) {
            t = ngx_parse_time(&s, 0);
            if (t == (ngx_msec_t) NGX_ERROR
                || (t < 100 && tp != &c->latency))
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
            c->fails = n;

        } else if (ngx_key_is("error_rate") && n >= 1 && n <= 100) {
            c->error_rate = n;

        } else if (ngx_key_is("degraded_rate") && n >= 1 && n <= 100) {
            c->degraded_rate = n;

        } else if (ngx_key_is("min_requests") && n >= 1) {
            c->min_requests = n;

        } else if (ngx_key_is("probes") && n >= 1 && n <= 100) {
            c->probes = n;

        } else {
            goto invalid;
        }

#undef ngx_key_is
    }

    if (c->window < LLMR_HEALTH_WIN_N * 10) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_health\" window is too short");
        return NGX_CONF_ERROR;
    }

    if (c->cooldown > c->max_cooldown) {
        c->max_cooldown = c->cooldown;
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
 * Masks of this cycle's models by index.  A down model whose cooldown has
 * passed is offered again while probe slots are free (half_open); the
 * caller then claims a slot for the chosen model with health_probe().
 * Read without the lock: a stale read only shifts a decision by one
 * request.
 */

void
ngx_http_llm_router_health_masks(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_health_conf_t *hc, ngx_uint_t n, uint64_t *down,
    uint64_t *degraded, uint64_t *half_open)
{
    uint64_t                     now;
    ngx_uint_t                   i;
    llmr_health_t               *h;
    ngx_http_llm_router_slot_t  *slot;

    *down = 0;
    *degraded = 0;
    *half_open = 0;

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

        if (llmr_health_skip(h, &hc->c, now)) {
            *down |= (uint64_t) 1 << i;

        } else if (h->state == LLMR_DOWN) {
            /* what health_probe() claims: down, a slot free */
            *half_open |= (uint64_t) 1 << i;

        } else if (llmr_health_state(h, &hc->c, now) == LLMR_DEGRADED) {
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
    int                          rc;
    ngx_http_llm_router_slot_t  *slot;

    slot = zone->model_slot[model];

    if (!hc->enabled || slot == NULL || slot->health.state != LLMR_DOWN) {
        return NGX_DECLINED;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    rc = llmr_health_probe(&slot->health, &hc->c,
                           ngx_http_llm_router_now_ms());

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return (rc == 1) ? NGX_OK : (rc == 0) ? NGX_BUSY : NGX_DECLINED;
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
    char            reason[LLMR_HEALTH_REASON];
    uint64_t        now, until;
    ngx_int_t       changed;
    ngx_uint_t      state;
    llmr_health_t  *h;

    if (!hc->enabled || slot == NULL) {
        return;
    }

    h = &slot->health;
    now = ngx_http_llm_router_now_ms();

    ngx_shmtx_lock(&zone->shpool->mutex);

    changed = llmr_health_record(h, &hc->c, now, failed != 0,
                                 latency == (ngx_msec_t) -1
                                 ? -1 : (int64_t) latency,
                                 retry_after, probe != 0, status);

    state = h->state;
    until = h->until;
    ngx_memcpy(reason, h->reason, sizeof(reason));

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (!changed) {
        return;
    }

    reason[sizeof(reason) - 1] = '\0';

    if (state == LLMR_DOWN) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "llm_router: model \"%*s\" is down for %Ms: %s",
                      slot->len, slot->name,
                      (ngx_msec_t) (until > now ? until - now : 0) / 1000,
                      reason);

    } else if (state == LLMR_DEGRADED) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "llm_router: model \"%*s\" is degraded: %s",
                      slot->len, slot->name, reason);

    } else {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "llm_router: model \"%*s\" is healthy again: %s",
                      slot->len, slot->name, reason);
    }
}
