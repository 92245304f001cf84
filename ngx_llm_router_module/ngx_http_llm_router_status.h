
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _NGX_HTTP_LLM_ROUTER_STATUS_H_INCLUDED_
#define _NGX_HTTP_LLM_ROUTER_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"

#include <llmr/suggest.h>


/* llm_status's files: the answer to one request, from the zone's copy */


#define NGX_HTTP_LLM_ROUTER_VIEW_INSTANCE  0
#define NGX_HTTP_LLM_ROUTER_VIEW_FLEET     1


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


/* ngx_http_llm_router_status_json.c */
void ngx_http_llm_router_json(ngx_http_llm_router_status_t *st);

/* ngx_http_llm_router_status_prometheus.c */
void ngx_http_llm_router_prom(ngx_http_llm_router_status_t *st);

/* ngx_http_llm_router_status_output.c */
ngx_uint_t ngx_http_llm_router_status_key_n(
    ngx_http_llm_router_status_t *st, const char *kind);
ngx_atomic_t *ngx_http_llm_router_status_key(
    ngx_http_llm_router_status_t *st, const char *kind, ngx_uint_t i,
    ngx_uint_t view);
void ngx_http_llm_router_status_rate(ngx_http_llm_router_status_t *st,
    ngx_http_llm_router_rate_sum_t *rs);
void ngx_http_llm_router_status_basis(ngx_http_llm_router_status_t *st,
    llmr_suggest_basis_t *b);
u_char *ngx_http_llm_router_out_reserve(ngx_http_llm_router_out_t *o,
    size_t n);
void ngx_http_llm_router_outf(ngx_http_llm_router_out_t *o,
    const char *fmt, ...);
void ngx_http_llm_router_out_raw(ngx_http_llm_router_out_t *o,
    u_char *s, size_t len);
void ngx_http_llm_router_out_json(ngx_http_llm_router_out_t *o,
    u_char *s, size_t len);
void ngx_http_llm_router_out_label(ngx_http_llm_router_out_t *o,
    u_char *s, size_t len);
void ngx_http_llm_router_out_usd(ngx_http_llm_router_out_t *o,
    uint64_t micro);
extern const char  *ngx_http_llm_router_status_states[];


#endif /* _NGX_HTTP_LLM_ROUTER_STATUS_H_INCLUDED_ */
