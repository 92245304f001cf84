
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include "ngx_http_llm_router_module.h"
#include "ngx_http_llm_router_dashboard.h"


/*
 * llm_status: the zone's counters as JSON (the status contract), as
 * Prometheus text, or the dashboard page that polls the JSON.  The zone
 * is copied under the mutex and formatted from the copy, so the lock is
 * held for a memcpy only and the answer may be as large as it needs.
 */


#define NGX_HTTP_LLM_ROUTER_VIEW_INSTANCE  0
#define NGX_HTTP_LLM_ROUTER_VIEW_FLEET     1

#define NGX_HTTP_LLM_ROUTER_FMT_JSON       0
#define NGX_HTTP_LLM_ROUTER_FMT_PROM       1
#define NGX_HTTP_LLM_ROUTER_FMT_HTML       2

/* the most the budgets' JSON takes: a 32-byte name and numbers each */
#define NGX_HTTP_LLM_ROUTER_BUDGETS_JSON                                     \
    (16 + NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES * 512)

/* the forecast's window: the last 30 steps of 10 s */
#define NGX_HTTP_LLM_ROUTER_RATE_WINDOW    30

/* output: 64 KB buffers; one formatted print writes at most LINE bytes */
#define NGX_HTTP_LLM_ROUTER_OUT_CHUNK      (64 * 1024)
#define NGX_HTTP_LLM_ROUTER_OUT_LINE       2048


typedef struct {
    ngx_pool_t                       *pool;
    ngx_chain_t                      *first;
    ngx_chain_t                     **last;
    ngx_buf_t                        *b;
    off_t                             size;
    ngx_uint_t                        failed;
} ngx_http_llm_router_out_t;


/* one status request: the zone's copy and the query */

typedef struct {
    ngx_http_request_t               *r;
    ngx_http_llm_router_main_conf_t  *lmcf;
    ngx_http_llm_router_shctx_t      *sh;       /* a copy */
    const llmr_model_t              **model;    /* per slot, or NULL */
    ngx_uint_t                        nslots;
    ngx_uint_t                        fleet;
    time_t                            now;
    ngx_http_llm_router_out_t         out;

    ngx_uint_t                        format;
    ngx_uint_t                        decisions;
    double                            rps;          /* -1: not asked */
    int64_t                           in_tokens;    /* -1: not asked */
    int64_t                           out_tokens;   /* -1: not asked */
    ngx_str_t                         error;        /* a bad query */
} ngx_http_llm_router_status_t;


/* the forecast's figures for a window */

typedef struct {
    double                            window;   /* seconds */
    double                            requests;
    double                            cost;     /* USD */
    double                            ref_cost;
} ngx_http_llm_router_rate_sum_t;


static void ngx_http_llm_router_status_passthrough(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_prom_passthrough(
    ngx_http_llm_router_status_t *st);
static ngx_int_t ngx_http_llm_router_status_handler(ngx_http_request_t *r);
static void ngx_http_llm_router_json_quality(
    ngx_http_llm_router_status_t *st);
static ngx_int_t ngx_http_llm_router_status_query(ngx_http_request_t *r,
    ngx_http_llm_router_status_t *st);
static ngx_int_t ngx_http_llm_router_status_arg(ngx_http_request_t *r,
    char *name, double max, double *v);
static ngx_int_t ngx_http_llm_router_status_send(ngx_http_request_t *r,
    ngx_http_llm_router_out_t *out, char *type);
static void ngx_http_llm_router_json(ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_view(ngx_http_llm_router_status_t *st,
    ngx_uint_t view);
static void ngx_http_llm_router_json_key(ngx_http_llm_router_status_t *st,
    ngx_http_llm_router_stat_t *s, ngx_uint_t view, ngx_uint_t full,
    const llmr_model_t *m);
static void ngx_http_llm_router_json_health(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_forecast(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_timeline(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_json_decisions(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_prom(ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_prom_keys(ngx_http_llm_router_status_t *st,
    const char *kind);
static void ngx_http_llm_router_prom_labels(
    ngx_http_llm_router_status_t *st, const char *kind, ngx_uint_t view,
    ngx_uint_t i);
static void ngx_http_llm_router_prom_latency(
    ngx_http_llm_router_status_t *st);
static void ngx_http_llm_router_prom_health(
    ngx_http_llm_router_status_t *st);
static ngx_atomic_t *ngx_http_llm_router_key(ngx_http_llm_router_status_t *st,
    const char *kind, ngx_uint_t i, ngx_uint_t view);
static ngx_uint_t ngx_http_llm_router_prom_shown(
    ngx_http_llm_router_status_t *st, const char *kind, ngx_uint_t i,
    ngx_uint_t view);
static ngx_uint_t ngx_http_llm_router_key_n(ngx_http_llm_router_status_t *st,
    const char *kind);
static void ngx_http_llm_router_rate(ngx_http_llm_router_status_t *st,
    ngx_http_llm_router_rate_sum_t *rs);
static ngx_int_t ngx_http_llm_router_percentile(ngx_atomic_t *v, double q);
static void ngx_http_llm_router_outf(ngx_http_llm_router_out_t *o,
    const char *fmt, ...);
static void ngx_http_llm_router_out_raw(ngx_http_llm_router_out_t *o,
    u_char *s, size_t len);
static void ngx_http_llm_router_out_json(ngx_http_llm_router_out_t *o,
    u_char *s, size_t len);
static void ngx_http_llm_router_out_label(ngx_http_llm_router_out_t *o,
    u_char *s, size_t len);
static void ngx_http_llm_router_out_usd(ngx_http_llm_router_out_t *o,
    uint64_t micro);
static u_char *ngx_http_llm_router_out_reserve(ngx_http_llm_router_out_t *o,
    size_t n);


static const char  *ngx_http_llm_router_states[] = {
    "healthy", "degraded", "down", "half-open"
};


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


/* JSON ------------------------------------------------------------- */


static void
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
    ngx_uint_t                    i, shown;
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

        ngx_http_llm_router_status_passthrough(st);
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
        total += ngx_http_llm_router_key(st, "tier", i, view)
                     [NGX_HTTP_LLM_ROUTER_C_REQUESTS];
    }

    ngx_http_llm_router_outf(o, ",\"tier_mix\":{");

    for (i = 0; i < LLMR_TIER_N; i++) {
        n = ngx_http_llm_router_key(st, "tier", i, view)
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
    }

    ngx_http_llm_router_outf(o, "}");
}


/*
 * The q-quantile of a latency histogram in ms, interpolated linearly
 * inside its bucket (as Prometheus' histogram_quantile()); the open last
 * bucket gives its lower bound.  -1 without data.
 */

static ngx_int_t
ngx_http_llm_router_percentile(ngx_atomic_t *v, double q)
{
    double      target, lo, hi, below;
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
        if (below + v[NGX_HTTP_LLM_ROUTER_C_HIST + i] >= target) {
            break;
        }

        below += v[NGX_HTTP_LLM_ROUTER_C_HIST + i];
    }

    lo = i ? llmr_latency_bounds[i - 1] : 0;

    if (i == NGX_HTTP_LLM_ROUTER_HIST_N - 1) {
        return (ngx_int_t) lo;
    }

    hi = llmr_latency_bounds[i];

    return (ngx_int_t) (lo + (hi - lo) * (target - below)
                             / v[NGX_HTTP_LLM_ROUTER_C_HIST + i] + 0.5);
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
                                 ngx_http_llm_router_states[state],
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


/* requests, cost and reference cost of the forecast's window */

static void
ngx_http_llm_router_rate(ngx_http_llm_router_status_t *st,
    ngx_http_llm_router_rate_sum_t *rs)
{
    time_t                       epoch, first;
    ngx_uint_t                   i;
    ngx_http_llm_router_rate_t  *rate;

    ngx_memzero(rs, sizeof(ngx_http_llm_router_rate_sum_t));

    if (st->sh->started == 0) {
        return;
    }

    epoch = st->now / NGX_HTTP_LLM_ROUTER_RATE_STEP;
    first = epoch - NGX_HTTP_LLM_ROUTER_RATE_WINDOW + 1;

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_RATE_N; i++) {
        rate = &st->sh->rate[i];

        if (rate->epoch < first || rate->epoch > epoch) {
            continue;
        }

        rs->requests += rate->requests;
        rs->cost += rate->cost / 1e6;
        rs->ref_cost += rate->ref_cost / 1e6;
    }

    /* from the window's first step, or from the first request if later */

    first = ngx_max(first * NGX_HTTP_LLM_ROUTER_RATE_STEP, st->sh->started);
    rs->window = (double) (st->now - first + 1);
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

    ngx_http_llm_router_rate(st, &rs);

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


/* Prometheus ------------------------------------------------------- */


static void
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

    /* per model, tier and domain */

    ngx_http_llm_router_prom_keys(st, "model");
    ngx_http_llm_router_prom_keys(st, "tier");
    ngx_http_llm_router_prom_keys(st, "domain");

    ngx_http_llm_router_prom_latency(st);
    ngx_http_llm_router_prom_health(st);

    /* the forecast's rate, Redis */

    ngx_http_llm_router_rate(st, &rs);

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


/* the key sets: model (the slots shown), tier, domain */

static ngx_uint_t
ngx_http_llm_router_key_n(ngx_http_llm_router_status_t *st, const char *kind)
{
    return kind[0] == 'm' ? st->nslots
           : kind[0] == 't' ? LLMR_TIER_N : LLMR_DOMAIN_N;
}


/* the counters of a key (model slot, tier, domain) in a view */

static ngx_atomic_t *
ngx_http_llm_router_key(ngx_http_llm_router_status_t *st, const char *kind,
    ngx_uint_t i, ngx_uint_t view)
{
    ngx_http_llm_router_stat_t  *s;

    s = kind[0] == 'm' ? &st->sh->slots[i].stat
        : kind[0] == 't' ? &st->sh->tiers[i] : &st->sh->domains[i];

    return (view == NGX_HTTP_LLM_ROUTER_VIEW_FLEET) ? s->fleet : s->total;
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
    n = ngx_http_llm_router_key_n(st, kind);
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

                v = ngx_http_llm_router_key(st, kind, i, view);

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

            v = ngx_http_llm_router_key(st, kind, i, view);
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

            v = ngx_http_llm_router_key(st, kind, i, view);

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

            v = ngx_http_llm_router_key(st, "model", i, view);
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
                                     ngx_http_llm_router_states[s],
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


/* output ----------------------------------------------------------- */


static u_char *
ngx_http_llm_router_out_reserve(ngx_http_llm_router_out_t *o, size_t n)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (o->failed) {
        return NULL;
    }

    if (o->b && (size_t) (o->b->end - o->b->last) >= n) {
        return o->b->last;
    }

    b = ngx_create_temp_buf(o->pool,
                            ngx_max(n, NGX_HTTP_LLM_ROUTER_OUT_CHUNK));
    cl = ngx_alloc_chain_link(o->pool);

    if (b == NULL || cl == NULL) {
        o->failed = 1;
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;
    *o->last = cl;
    o->last = &cl->next;
    o->b = b;

    return b->last;
}


static void
ngx_http_llm_router_outf(ngx_http_llm_router_out_t *o, const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;

    p = ngx_http_llm_router_out_reserve(o, NGX_HTTP_LLM_ROUTER_OUT_LINE);
    if (p == NULL) {
        return;
    }

    va_start(args, fmt);
    last = ngx_vslprintf(p, p + NGX_HTTP_LLM_ROUTER_OUT_LINE, fmt, args);
    va_end(args);

    o->size += last - p;
    o->b->last = last;
}


static void
ngx_http_llm_router_out_raw(ngx_http_llm_router_out_t *o, u_char *s,
    size_t len)
{
    u_char  *p;

    p = ngx_http_llm_router_out_reserve(o, len);
    if (p == NULL) {
        return;
    }

    o->b->last = ngx_cpymem(p, s, len);
    o->size += len;
}


/*
 * Strings from outside the configuration (model names and health reasons
 * read back from the fleet's Redis) may hold anything: bytes that are not
 * UTF-8 become U+FFFD, so that the output stays valid JSON and valid
 * Prometheus text.  Returns the length of the valid sequence at p, or 0.
 */

static size_t
ngx_http_llm_router_utf8_len(u_char *p, u_char *last)
{
    u_char    *q;
    uint32_t   c;

    if (*p < 0x80) {
        return 1;
    }

    q = p;
    c = ngx_utf8_decode(&q, last - p);

    return (c > 0x10ffff) ? 0 : (size_t) (q - p);
}


static void
ngx_http_llm_router_out_json(ngx_http_llm_router_out_t *o, u_char *s,
    size_t len)
{
    u_char  *p, *start, *last;
    size_t   n;

    n = 6 * len + 2;

    p = ngx_http_llm_router_out_reserve(o, n);
    if (p == NULL) {
        return;
    }

    start = p;
    last = s + len;

    *p++ = '"';

    while (s < last) {
        n = ngx_http_llm_router_utf8_len(s, last);

        if (n == 0) {
            p = ngx_cpymem(p, "\\ufffd", 6);
            s++;
            continue;
        }

        p += llmr_json_escape((char *) p, 6 * n, (const char *) s, n);
        s += n;
    }

    *p++ = '"';

    o->size += p - start;
    o->b->last = p;
}


/*
 * A Prometheus label value: backslash, double quote and line feed
 * escaped; other control characters and bytes that are not UTF-8 are
 * replaced.
 */

static void
ngx_http_llm_router_out_label(ngx_http_llm_router_out_t *o, u_char *s,
    size_t len)
{
    u_char  *p, *start, *last;
    size_t   n;

    p = ngx_http_llm_router_out_reserve(o, 3 * len);
    if (p == NULL) {
        return;
    }

    start = p;
    last = s + len;

    while (s < last) {
        n = ngx_http_llm_router_utf8_len(s, last);

        if (n > 1) {
            p = ngx_cpymem(p, s, n);
            s += n;
            continue;
        }

        switch (*s) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = *s;
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = (n == 0 || *s < 0x20 || *s == 0x7f) ? '?' : *s;
        }

        s++;
    }

    o->size += p - start;
    o->b->last = p;
}


static void
ngx_http_llm_router_out_usd(ngx_http_llm_router_out_t *o, uint64_t micro)
{
    ngx_http_llm_router_outf(o, "%uL.%06uL", micro / 1000000,
                             micro % 1000000);
}


/* "passthrough": {"openai": {"embeddings": N, ...}, ...}, nonzero only */

static void
ngx_http_llm_router_status_passthrough(ngx_http_llm_router_status_t *st)
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
