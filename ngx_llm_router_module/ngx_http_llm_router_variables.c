
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


typedef enum {
    NGX_HTTP_LLM_ROUTER_VAR_UPSTREAM = 0,
    NGX_HTTP_LLM_ROUTER_VAR_MODEL,
    NGX_HTTP_LLM_ROUTER_VAR_MODEL_ID,
    NGX_HTTP_LLM_ROUTER_VAR_PROVIDER,
    NGX_HTTP_LLM_ROUTER_VAR_TIER,
    NGX_HTTP_LLM_ROUTER_VAR_SCORE,
    NGX_HTTP_LLM_ROUTER_VAR_CONFIDENCE,
    NGX_HTTP_LLM_ROUTER_VAR_DOMAIN,
    NGX_HTTP_LLM_ROUTER_VAR_EST_COST,
    NGX_HTTP_LLM_ROUTER_VAR_REASON,
    NGX_HTTP_LLM_ROUTER_VAR_FORMAT,
    NGX_HTTP_LLM_ROUTER_VAR_FAILED_MODELS,
    NGX_HTTP_LLM_ROUTER_VAR_AB_VARIANT,
    NGX_HTTP_LLM_ROUTER_VAR_INPUT_TOKENS,
    NGX_HTTP_LLM_ROUTER_VAR_OUTPUT_TOKENS,
    NGX_HTTP_LLM_ROUTER_VAR_ATTEMPT
} ngx_http_llm_router_var_e;


static ngx_int_t ngx_http_llm_router_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_llm_router_vars[] = {

    { ngx_string("llm_upstream"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_UPSTREAM, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_model"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_MODEL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_model_id"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_MODEL_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_provider"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_PROVIDER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_tier"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_TIER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_score"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_SCORE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_confidence"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_CONFIDENCE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_domain"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_DOMAIN, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_est_cost"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_EST_COST, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_reason"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_REASON, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_format"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_FORMAT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_input_tokens"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_INPUT_TOKENS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_output_tokens"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_OUTPUT_TOKENS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_attempt"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_ATTEMPT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_failed_models"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_FAILED_MODELS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_ab_variant"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_AB_VARIANT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_llm_router_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_llm_router_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_router_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                           *p;
    const char                       *s;
    const llmr_model_t               *m;
    ngx_http_llm_router_ctx_t        *ctx;
    ngx_http_llm_router_main_conf_t  *lmcf;

    ctx = ngx_http_llm_router_get_ctx(r->main);

    if (ctx == NULL || !ctx->decided || ctx->dec.model < 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    m = &lmcf->registry->models[ctx->dec.model];

    s = NULL;
    p = NULL;

    switch (data) {

    case NGX_HTTP_LLM_ROUTER_VAR_UPSTREAM:
        s = m->upstream;
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_MODEL:
        s = m->name;
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_MODEL_ID:
        s = m->id;
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_PROVIDER:
        s = m->provider;
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_TIER:
        s = llmr_tier_name(ctx->dec.tier);
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_DOMAIN:
        s = llmr_domain_name(ctx->cls.domain);
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_FORMAT:
        s = llmr_format_name(ctx->req.format);
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_REASON:
        v->data = ctx->reason.data;
        v->len = ctx->reason.len;
        goto found;

    case NGX_HTTP_LLM_ROUTER_VAR_AB_VARIANT:
        if (ctx->adj.ab == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        s = (ctx->adj.ab == 2) ? "b" : "a";
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_FAILED_MODELS:
        v->data = ctx->failed_names.data;
        v->len = ctx->failed_names.len;
        goto found;

    default:
        p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN + 16);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;

        switch (data) {

        case NGX_HTTP_LLM_ROUTER_VAR_SCORE:
            p = ngx_sprintf(p, "%.3f", ctx->cls.score);
            break;

        case NGX_HTTP_LLM_ROUTER_VAR_CONFIDENCE:
            p = ngx_sprintf(p, "%.3f", ctx->cls.confidence);
            break;

        case NGX_HTTP_LLM_ROUTER_VAR_EST_COST:
            p = ngx_sprintf(p, "%.6f", ctx->dec.est_cost);
            break;

        case NGX_HTTP_LLM_ROUTER_VAR_INPUT_TOKENS:
            p = ngx_sprintf(p, "%L", (int64_t) ctx->dec.input_tokens);
            break;

        case NGX_HTTP_LLM_ROUTER_VAR_OUTPUT_TOKENS:
            p = ngx_sprintf(p, "%L", (int64_t) ctx->dec.output_tokens);
            break;

        default: /* NGX_HTTP_LLM_ROUTER_VAR_ATTEMPT */
            p = ngx_sprintf(p, "%ui", ctx->attempt);
            break;
        }

        v->len = p - v->data;
        goto found;
    }

    v->data = (u_char *) s;
    v->len = ngx_strlen(s);

found:

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
