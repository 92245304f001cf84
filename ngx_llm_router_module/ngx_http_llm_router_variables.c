
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"

#if (NGX_LINUX)
#include <sys/random.h>
#endif


/*
 * $request_id as nginx makes it: 16 random bytes, in hex.  The pool holds
 * the bytes of one getrandom() call, 16 ids: up to 256 bytes getrandom()
 * is never cut short by a signal.
 */
#define NGX_HTTP_LLM_ROUTER_ID_BYTES    16
#define NGX_HTTP_LLM_ROUTER_ID_HEX      (2 * NGX_HTTP_LLM_ROUTER_ID_BYTES)
#define NGX_HTTP_LLM_ROUTER_ID_POOL     (16 * NGX_HTTP_LLM_ROUTER_ID_BYTES)


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
    NGX_HTTP_LLM_ROUTER_VAR_ATTEMPT,
    NGX_HTTP_LLM_ROUTER_VAR_UPSTREAM_URI,
    NGX_HTTP_LLM_ROUTER_VAR_API,
    NGX_HTTP_LLM_ROUTER_VAR_ENDPOINT
} ngx_http_llm_router_var_e;


/* the credential headers: the gateway's key, or the client's own */

typedef enum {
    NGX_HTTP_LLM_ROUTER_HDR_AUTHORIZATION = 0,
    NGX_HTTP_LLM_ROUTER_HDR_X_API_KEY,
    NGX_HTTP_LLM_ROUTER_HDR_X_GOOG_API_KEY,
    NGX_HTTP_LLM_ROUTER_HDR_ANTHROPIC_VERSION
} ngx_http_llm_router_hdr_e;


static ngx_str_t  ngx_http_llm_router_hdr_names[] = {
    ngx_string("Authorization"),
    ngx_string("x-api-key"),
    ngx_string("x-goog-api-key"),
    ngx_string("anthropic-version")
};


/* the API whose key goes in each header */
static int  ngx_http_llm_router_hdr_api[] = {
    LLMR_API_OPENAI, LLMR_API_ANTHROPIC, LLMR_API_GEMINI, -1
};


static ngx_int_t ngx_http_llm_router_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_llm_router_upstream_uri(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const llmr_model_t *m,
    ngx_http_variable_value_t *v);
static ngx_int_t ngx_http_llm_router_header_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_llm_router_make_id(ngx_http_request_t *r,
    ngx_http_variable_value_t *v);


#if (NGX_LINUX)
static u_char      ngx_http_llm_router_id_pool[NGX_HTTP_LLM_ROUTER_ID_POOL];
#endif
static ngx_uint_t  ngx_http_llm_router_id_left;


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

    { ngx_string("llm_upstream_uri"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_UPSTREAM_URI, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_api"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_API, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_endpoint"), NULL, ngx_http_llm_router_variable,
      NGX_HTTP_LLM_ROUTER_VAR_ENDPOINT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_header_authorization"), NULL,
      ngx_http_llm_router_header_variable,
      NGX_HTTP_LLM_ROUTER_HDR_AUTHORIZATION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_header_x_api_key"), NULL,
      ngx_http_llm_router_header_variable,
      NGX_HTTP_LLM_ROUTER_HDR_X_API_KEY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_header_x_goog_api_key"), NULL,
      ngx_http_llm_router_header_variable,
      NGX_HTTP_LLM_ROUTER_HDR_X_GOOG_API_KEY, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("llm_header_anthropic_version"), NULL,
      ngx_http_llm_router_header_variable,
      NGX_HTTP_LLM_ROUTER_HDR_ANTHROPIC_VERSION, NGX_HTTP_VAR_NOCACHEABLE,
      0 },

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

    /* a request passed through was not routed: no model, tier, cost */

    if (ctx->passthrough
        && data != NGX_HTTP_LLM_ROUTER_VAR_UPSTREAM
        && data != NGX_HTTP_LLM_ROUTER_VAR_UPSTREAM_URI
        && data != NGX_HTTP_LLM_ROUTER_VAR_PROVIDER
        && data != NGX_HTTP_LLM_ROUTER_VAR_API
        && data != NGX_HTTP_LLM_ROUTER_VAR_ENDPOINT
        && data != NGX_HTTP_LLM_ROUTER_VAR_REASON)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_LLM_ROUTER_VAR_UPSTREAM:
        s = m->upstream;
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_UPSTREAM_URI:
        return ngx_http_llm_router_upstream_uri(r, ctx, m, v);

    case NGX_HTTP_LLM_ROUTER_VAR_API:
        s = llmr_api_name(m->api);
        break;

    case NGX_HTTP_LLM_ROUTER_VAR_ENDPOINT:
        s = llmr_endpoint_kind_name(ctx->ep.kind);
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


/*
 * The request line the model's upstream needs, for the current attempt:
 * its API's endpoint under its base path, Gemini's model in the path,
 * the client's query (less its key= when the gateway sends its own).
 */

static ngx_int_t
ngx_http_llm_router_upstream_uri(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const llmr_model_t *m,
    ngx_http_variable_value_t *v)
{
    size_t                            len;
    ngx_uint_t                        strip;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    strip = (lmcf->keys && lmcf->keys[m->index].len);

    len = llmr_upstream_uri_max(ctx->uri.len, m->path, m->id, r->args.len);

    v->data = ngx_pnalloc(r->pool, len);
    if (v->data == NULL) {
        return NGX_ERROR;
    }

    v->len = llmr_upstream_uri(&ctx->ep, (const char *) ctx->uri.data,
                               ctx->uri.len, m->api, m->path, m->id,
                               (const char *) r->args.data, r->args.len,
                               (int) strip, (char *) v->data, len);

    if (v->len == 0) {
        return NGX_ERROR;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * $llm_header_*: for "proxy_set_header NAME $llm_header_name;".  When the
 * chosen model has a key_file, its key goes in the header its API reads
 * and the other credential headers are empty (nginx then sends none):
 * the client's own credentials never reach the provider.  Without one,
 * the client's header is passed as it came, but to a model of another
 * API than the client's (a translated request), which gets none.
 * anthropic-version defaults to 2023-06-01 for a model of Anthropic's
 * API.
 */

static ngx_int_t
ngx_http_llm_router_header_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                           *h;
    ngx_str_t                        *key;
    const llmr_model_t               *m;
    ngx_http_llm_router_ctx_t        *ctx;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    ctx = ngx_http_llm_router_get_ctx(r->main);

    m = NULL;
    key = NULL;

    if (ctx && ctx->decided && ctx->dec.model >= 0) {
        m = &lmcf->registry->models[ctx->dec.model];

        if (lmcf->keys && lmcf->keys[m->index].len) {
            key = &lmcf->keys[m->index];
        }
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (key && ngx_http_llm_router_hdr_api[data] >= 0) {

        if (ngx_http_llm_router_hdr_api[data] != m->api) {
            v->data = (u_char *) "";
            v->len = 0;
            return NGX_OK;
        }

        /* the key as its API's header carries it, made at load time */
        v->data = key->data;
        v->len = key->len;
        return NGX_OK;
    }

    if (ctx && ctx->xlate && ngx_http_llm_router_hdr_api[data] >= 0) {
        /* the client's credential is for its own API, not this model's */
        v->data = (u_char *) "";
        v->len = 0;
        return NGX_OK;
    }

    h = ngx_http_llm_router_header(r->main,
                                   &ngx_http_llm_router_hdr_names[data]);

    if (h) {
        v->data = h;
        v->len = ngx_strlen(h);
        return NGX_OK;
    }

    if (data == NGX_HTTP_LLM_ROUTER_HDR_ANTHROPIC_VERSION && m
        && m->api == LLMR_API_ANTHROPIC)
    {
        ngx_str_set(v, "2023-06-01");
        return NGX_OK;
    }

    v->data = (u_char *) "";
    v->len = 0;

    return NGX_OK;
}


/* $request_id, the id clients quote when they report on an answer */

ngx_int_t
ngx_http_llm_router_request_id(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_http_variable_value_t        *v;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (lmcf->request_id_index == NGX_ERROR) {
        return NGX_DECLINED;
    }

    v = &r->main->variables[lmcf->request_id_index];

    if (!v->valid && !v->not_found) {
        ngx_http_llm_router_make_id(r->main, v);
    }

    v = ngx_http_get_indexed_variable(r->main, lmcf->request_id_index);

    if (v == NULL || v->not_found || v->len == 0) {
        return NGX_DECLINED;
    }

    id->data = v->data;
    id->len = v->len;

    return NGX_OK;
}


/* no request id bytes are shared with another process */

void
ngx_http_llm_router_ids_init_process(void)
{
    ngx_http_llm_router_id_left = 0;
}


/*
 * $request_id as nginx makes it, 16 random bytes in hex, but with the
 * bytes of one getrandom() call for 16 requests: nginx's handler calls
 * RAND_bytes() for each, which costs OpenSSL 3 about a microsecond (the
 * DRBG's lookup, locks, a cipher set-up and getpid()).  The variable is
 * cached for the request, so the logs see this id.  Without random bytes
 * at hand (not Linux, an entropy pool not ready yet) v is left alone and
 * nginx's own handler makes the id.
 */

static void
ngx_http_llm_router_make_id(ngx_http_request_t *r,
    ngx_http_variable_value_t *v)
{
#if (NGX_LINUX)
    u_char  *id, *p;

    if (ngx_http_llm_router_id_left < NGX_HTTP_LLM_ROUTER_ID_BYTES) {

        /* up to 256 bytes, getrandom() is never cut short by a signal */

        if (getrandom(ngx_http_llm_router_id_pool,
                      NGX_HTTP_LLM_ROUTER_ID_POOL, GRND_NONBLOCK)
            != NGX_HTTP_LLM_ROUTER_ID_POOL)
        {
            return;
        }

        ngx_http_llm_router_id_left = NGX_HTTP_LLM_ROUTER_ID_POOL;
    }

    id = ngx_pnalloc(r->pool, NGX_HTTP_LLM_ROUTER_ID_HEX);
    if (id == NULL) {
        return;
    }

    p = ngx_http_llm_router_id_pool + NGX_HTTP_LLM_ROUTER_ID_POOL
        - ngx_http_llm_router_id_left;

    ngx_hex_dump(id, p, NGX_HTTP_LLM_ROUTER_ID_BYTES);
    ngx_memzero(p, NGX_HTTP_LLM_ROUTER_ID_BYTES);
    ngx_http_llm_router_id_left -= NGX_HTTP_LLM_ROUTER_ID_BYTES;

    v->len = NGX_HTTP_LLM_ROUTER_ID_HEX;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = id;
#endif
}
