
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include "ngx_http_llm_router_module.h"
#include "ngx_http_llm_router_status.h"
#include "ngx_http_llm_router_dashboard.h"


/*
 * llm_status: the zone's counters as JSON (the status contract), as
 * Prometheus text, or the dashboard page that polls the JSON.  The zone
 * is copied under the mutex and formatted from the copy, so the lock is
 * held for a memcpy only and the answer may be as large as it needs.
 * This file takes the request (the query, the format, the copy) and sends
 * the answer; _status_json.c, _status_prometheus.c and _status_output.c
 * write it.
 */


#define NGX_HTTP_LLM_ROUTER_FMT_JSON       0
#define NGX_HTTP_LLM_ROUTER_FMT_PROM       1
#define NGX_HTTP_LLM_ROUTER_FMT_HTML       2


static ngx_int_t ngx_http_llm_router_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_router_status_query(ngx_http_request_t *r,
    ngx_http_llm_router_status_t *st);
static ngx_int_t ngx_http_llm_router_status_arg(ngx_http_request_t *r,
    char *name, double max, double *v);
static ngx_int_t ngx_http_llm_router_status_send(ngx_http_request_t *r,
    ngx_http_llm_router_out_t *out, char *type);


char *
ngx_http_llm_router_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_llm_router_status_handler;

    return NGX_CONF_OK;
}


/*
 * Postconfiguration: the reference model of the savings (llm_reference_model,
 * else the most expensive one registered).
 */

ngx_int_t
ngx_http_llm_router_status_init(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    const llmr_model_t  *m;

    if (lmcf->reference_name.len) {
        m = llmr_registry_find(lmcf->registry,
                               (const char *) lmcf->reference_name.data,
                               lmcf->reference_name.len);
        if (m == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "llm_reference_model \"%V\" is not a registered "
                          "model", &lmcf->reference_name);
            return NGX_ERROR;
        }

    } else {
        m = llmr_registry_reference(lmcf->registry);
    }

    lmcf->reference = m ? (ngx_int_t) m->index : -1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_router_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_uint_t                         i, k;
    ngx_http_llm_router_zone_t        *zone;
    ngx_http_llm_router_status_t      *st;
    ngx_http_llm_router_main_conf_t   *lmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    st = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_router_status_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    st->r = r;
    st->lmcf = lmcf;
    st->out.pool = r->pool;
    st->out.last = &st->out.first;

    if (ngx_http_llm_router_status_query(r, st) != NGX_OK) {
        return ngx_http_llm_router_send_error(r, NGX_HTTP_BAD_REQUEST,
                                              "llm_invalid_request",
                                              &st->error);
    }

    if (st->format == NGX_HTTP_LLM_ROUTER_FMT_HTML) {

        /* the page needs no zone: it polls the JSON */

        ngx_http_llm_router_out_raw(&st->out,
                                    (u_char *) ngx_http_llm_router_dashboard,
                                    sizeof(ngx_http_llm_router_dashboard) - 1);

        return ngx_http_llm_router_status_send(r, &st->out,
                                               "text/html; charset=utf-8");
    }

    if (lmcf->shm_zone == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    zone = lmcf->shm_zone->data;

    st->sh = ngx_palloc(r->pool, sizeof(ngx_http_llm_router_shctx_t));
    st->model = ngx_pcalloc(r->pool, NGX_HTTP_LLM_ROUTER_SLOTS
                                     * sizeof(llmr_model_t *));
    if (st->sh == NULL || st->model == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);
    ngx_memcpy(st->sh, zone->sh, sizeof(ngx_http_llm_router_shctx_t));
    ngx_shmtx_unlock(&zone->shpool->mutex);

    st->nslots = ngx_min(st->sh->nslots, NGX_HTTP_LLM_ROUTER_SLOTS);
    st->fleet = (lmcf->redis != NULL);
    st->now = ngx_time();

    /* the models of this configuration, by slot */

    for (i = 0; i < lmcf->registry->n; i++) {
        if (zone->model_slot[i] == NULL) {
            continue;
        }

        k = zone->model_slot[i] - zone->sh->slots;

        if (k < st->nslots) {
            st->model[k] = &lmcf->registry->models[i];
        }
    }

    if (st->format == NGX_HTTP_LLM_ROUTER_FMT_PROM) {
        ngx_http_llm_router_prom(st);

        return ngx_http_llm_router_status_send(r, &st->out,
                                          "text/plain; version=0.0.4; "
                                          "charset=utf-8");
    }

    ngx_http_llm_router_json(st);

    return ngx_http_llm_router_status_send(r, &st->out, "application/json");
}


/*
 * ?format=json|prometheus|html, else the Accept header (text/html: the
 * dashboard, text/plain or OpenMetrics: Prometheus); ?decisions=N;
 * ?rps=R, ?input_tokens=N, ?output_tokens=N for the forecast.  NGX_ERROR
 * with st->error set for a bad query.
 */

static ngx_int_t
ngx_http_llm_router_status_query(ngx_http_request_t *r,
    ngx_http_llm_router_status_t *st)
{
    double            v;
    ngx_str_t         value, accept;
    ngx_int_t         rc;
    const char       *bad;

    st->rps = -1;
    st->in_tokens = -1;
    st->out_tokens = -1;
    bad = NULL;

    if (ngx_http_arg(r, (u_char *) "format", 6, &value) == NGX_OK) {

        if (value.len == 4 && ngx_strncmp(value.data, "json", 4) == 0) {
            st->format = NGX_HTTP_LLM_ROUTER_FMT_JSON;

        } else if (value.len == 10
                   && ngx_strncmp(value.data, "prometheus", 10) == 0)
        {
            st->format = NGX_HTTP_LLM_ROUTER_FMT_PROM;

        } else if (value.len == 4 && ngx_strncmp(value.data, "html", 4) == 0)
        {
            st->format = NGX_HTTP_LLM_ROUTER_FMT_HTML;

        } else {
            bad = "format must be json, prometheus or html";
        }

    } else if (ngx_http_llm_router_header_value(r, "Accept", &accept)
               != NGX_OK)
    {
        st->format = NGX_HTTP_LLM_ROUTER_FMT_JSON;

    } else if (ngx_strlcasestrn(accept.data, accept.data + accept.len,
                                (u_char *) "text/html", 9 - 1)
               != NULL)
    {
        st->format = NGX_HTTP_LLM_ROUTER_FMT_HTML;

    } else if (ngx_strlcasestrn(accept.data, accept.data + accept.len,
                                (u_char *) "text/plain", 10 - 1)
               != NULL
               || ngx_strlcasestrn(accept.data, accept.data + accept.len,
                                   (u_char *) "openmetrics", 11 - 1)
                  != NULL)
    {
        st->format = NGX_HTTP_LLM_ROUTER_FMT_PROM;
    }

    rc = ngx_http_llm_router_status_arg(r, "decisions",
                                        NGX_HTTP_LLM_ROUTER_DECISIONS, &v);
    if (rc == NGX_OK) {
        st->decisions = (ngx_uint_t) v;

    } else if (rc == NGX_ERROR) {
        bad = "decisions must be a number of decisions";
    }

    rc = ngx_http_llm_router_status_arg(r, "rps", 1e9, &v);
    if (rc == NGX_OK) {
        st->rps = v;

    } else if (rc == NGX_ERROR) {
        bad = "rps must be a number of requests per second";
    }

    rc = ngx_http_llm_router_status_arg(r, "input_tokens", 1e9, &v);
    if (rc == NGX_OK) {
        st->in_tokens = (int64_t) v;

    } else if (rc == NGX_ERROR) {
        bad = "input_tokens must be a number of tokens";
    }

    rc = ngx_http_llm_router_status_arg(r, "output_tokens", 1e9, &v);
    if (rc == NGX_OK) {
        st->out_tokens = (int64_t) v;

    } else if (rc == NGX_ERROR) {
        bad = "output_tokens must be a number of tokens";
    }

    if (bad == NULL) {
        return NGX_OK;
    }

    st->error.data = (u_char *) bad;
    st->error.len = ngx_strlen(bad);

    return NGX_ERROR;
}


/*
 * A non-negative number argument, clamped to max: NGX_OK, NGX_DECLINED
 * when absent, NGX_ERROR when malformed.
 */

static ngx_int_t
ngx_http_llm_router_status_arg(ngx_http_request_t *r, char *name, double max,
    double *v)
{
    u_char     buf[32];
    char      *end;
    ngx_str_t  value;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &value) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (value.len == 0 || value.len >= sizeof(buf)
        || !(value.data[0] >= '0' && value.data[0] <= '9'))
    {
        return NGX_ERROR;
    }

    ngx_memcpy(buf, value.data, value.len);
    buf[value.len] = '\0';

    *v = strtod((char *) buf, &end);

    if (*end != '\0' || !isfinite(*v) || *v < 0) {
        return NGX_ERROR;
    }

    if (*v > max) {
        *v = max;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_router_status_send(ngx_http_request_t *r,
    ngx_http_llm_router_out_t *out, char *type)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    if (out->failed || out->first == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out->b->last_buf = (r == r->main) ? 1 : 0;
    out->b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = out->size;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    /*
     * Never cached; the format may follow Accept; the page may run its
     * own inline code and talk to this server only.
     */

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Vary");
    ngx_str_set(&h->value, "Accept");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Content-Type-Options");
    ngx_str_set(&h->value, "nosniff");

    if (type[5] == 'h') {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Content-Security-Policy");
        ngx_str_set(&h->value, "default-src 'none'; "
                    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                    "img-src data:; connect-src 'self'; "
                    "frame-ancestors 'none'; base-uri 'none'; "
                    "form-action 'none'");
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out->first);
}
