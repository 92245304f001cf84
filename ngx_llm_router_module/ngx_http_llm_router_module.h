
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _NGX_HTTP_LLM_ROUTER_MODULE_H_INCLUDED_
#define _NGX_HTTP_LLM_ROUTER_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/registry.h>
#include <llmr/policy.h>
#include <llmr/rewrite.h>


#define NGX_HTTP_LLM_ROUTER_VERSION     LLMR_VERSION

#define NGX_HTTP_LLM_ROUTER_OFF         0
#define NGX_HTTP_LLM_ROUTER_ON          1
#define NGX_HTTP_LLM_ROUTER_FALLBACK    2

#define NGX_HTTP_LLM_ROUTER_ERR_REJECT  0
#define NGX_HTTP_LLM_ROUTER_ERR_DEFAULT 1

#define NGX_HTTP_LLM_ROUTER_REASON_LEN  256


typedef struct {
    llmr_registry_t                *registry;
    ngx_shm_zone_t                 *shm_zone;
    ngx_array_t                     model_lines;    /* ngx_conf_t locations */
    ngx_uint_t                      routed;         /* llm_route is used */
} ngx_http_llm_router_main_conf_t;


typedef struct {
    ngx_uint_t                      route;
    size_t                          max_body;
    ngx_uint_t                      on_error;
    ngx_uint_t                      default_tier;
    ngx_flag_t                      client_model;
    ngx_flag_t                      client_tier;
} ngx_http_llm_router_loc_conf_t;


typedef struct {
    llmr_request_t                  req;        /* text views cleared */
    llmr_class_t                    cls;
    llmr_decision_t                 dec;

    ngx_chain_t                    *orig_bufs;
    off_t                           orig_len;

    ngx_uint_t                      status;     /* error to answer */
    const char                     *err_code;
    ngx_str_t                       err_msg;

    ngx_str_t                       reason;     /* $llm_reason */

    unsigned                        body_requested:1;
    unsigned                        decided:1;
    unsigned                        parsed:1;
    unsigned                        defaulted:1;
    unsigned                        explain:1;
    unsigned                        accounted:1;
} ngx_http_llm_router_ctx_t;


/* counters in the shared zone, one set per model slot, tier and domain */

typedef struct {
    ngx_atomic_t                    requests;
    ngx_atomic_t                    errors;
    ngx_atomic_t                    est_cost_micro;     /* USD * 1e6 */
} ngx_http_llm_router_counters_t;


#define NGX_HTTP_LLM_ROUTER_SLOTS       128

typedef struct {
    u_char                          name[LLMR_NAME_MAX + 1];
    size_t                          len;
    ngx_http_llm_router_counters_t  c;
} ngx_http_llm_router_slot_t;


typedef struct {
    ngx_http_llm_router_counters_t  total;
    ngx_http_llm_router_counters_t  tiers[LLMR_TIER_N];
    ngx_http_llm_router_counters_t  domains[LLMR_DOMAIN_N];
    ngx_atomic_t                    rejected;
    ngx_atomic_t                    defaulted;
    ngx_uint_t                      nslots;
    ngx_http_llm_router_slot_t      slots[NGX_HTTP_LLM_ROUTER_SLOTS];
} ngx_http_llm_router_shctx_t;


typedef struct {
    ngx_http_llm_router_shctx_t    *sh;
    ngx_slab_pool_t                *shpool;
    ngx_http_llm_router_main_conf_t *lmcf;
    /* model index -> slot, resolved once per cycle */
    ngx_http_llm_router_slot_t     *model_slot[LLMR_MODELS_MAX];
} ngx_http_llm_router_zone_t;


extern ngx_module_t  ngx_http_llm_router_module;


/* ngx_http_llm_router_handler.c */
ngx_int_t ngx_http_llm_router_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_router_explain_handler(ngx_http_request_t *r);
ngx_http_llm_router_ctx_t *ngx_http_llm_router_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_router_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, ngx_str_t *msg);
ngx_int_t ngx_http_llm_router_init_extractor(ngx_cycle_t *cycle);
void ngx_http_llm_router_free_extractor(void);

/* ngx_http_llm_router_body.c */
ngx_int_t ngx_http_llm_router_feed_body(ngx_http_request_t *r,
    llmr_extract_t *x);
ngx_int_t ngx_http_llm_router_rewrite_body(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const llmr_rewrite_t *rw);

/* ngx_http_llm_router_variables.c */
ngx_int_t ngx_http_llm_router_add_variables(ngx_conf_t *cf);

/* ngx_http_llm_router_shm.c */
char *ngx_http_llm_router_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_llm_router_log_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_router_zone_init_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_LLM_ROUTER_MODULE_H_INCLUDED_ */
