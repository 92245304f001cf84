
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/* the answer's keys, punctuation and numbers, with room to spare */
#define NGX_HTTP_LLM_ROUTER_EXPLAIN_FIXED  512


/*
 * llm_route_explain: a generation body POSTed to it is classified and
 * routed as llm_route would (the same body handler and decision, without
 * the rewrite), and the decision is answered as JSON instead of being
 * sent to a provider.
 */


static ngx_int_t ngx_http_llm_router_explain_handler(ngx_http_request_t *r);


char *
ngx_http_llm_router_explain(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_llm_router_main_conf_t  *lmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_llm_router_explain_handler;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_router_module);
    lmcf->routed = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_router_explain_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_llm_router_ctx_t  *ctx;

    if (!(r->method & NGX_HTTP_POST)) {
        ctx = ngx_http_llm_router_create_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->err_msg.data = (u_char *) "POST a request body to explain";
        ctx->err_msg.len = ngx_strlen(ctx->err_msg.data);

        return ngx_http_llm_router_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                              "llm_method_not_allowed",
                                              &ctx->err_msg);
    }

    ctx = ngx_http_llm_router_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->explain = 1;

    /* any API's body: its format says which */
    ctx->ep.kind = LLMR_EP_GENERATE;
    ctx->ep.detect = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_llm_router_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


ngx_int_t
ngx_http_llm_router_send_explain(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    size_t                            len;
    ngx_buf_t                        *b;
    ngx_uint_t                        i, n;
    const char                       *reason;
    const llmr_model_t               *m;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    m = &lmcf->registry->models[ctx->dec.model];

    len = NGX_HTTP_LLM_ROUTER_EXPLAIN_FIXED
          + 2 * ngx_strlen(m->name) + ngx_strlen(m->provider)
          + ngx_strlen(m->upstream) + ngx_strlen(m->id)
          + 2 * NGX_HTTP_LLM_ROUTER_REASON_LEN;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_slprintf(b->last, b->end,
                           "{\"tier\":\"%s\",\"score\":%.4f,"
                           "\"confidence\":%.4f,\"domain\":\"%s\","
                           "\"model\":\"%s\",\"model_id\":\"%s\","
                           "\"provider\":\"%s\",\"upstream\":\"%s\","
                           "\"est_cost\":%.6f,\"input_tokens\":%L,"
                           "\"output_tokens\":%L,\"format\":\"%s\","
                           "\"reasons\":[",
                           llmr_tier_name(ctx->dec.tier), ctx->cls.score,
                           ctx->cls.confidence,
                           llmr_domain_name(ctx->cls.domain), m->name, m->id,
                           m->provider, m->upstream, ctx->dec.est_cost,
                           (int64_t) ctx->dec.input_tokens,
                           (int64_t) ctx->dec.output_tokens,
                           llmr_format_name(ctx->req.format));

    n = 0;

    for (i = 0; i < ctx->cls.nreasons + ctx->dec.nreasons; i++) {
        reason = (i < ctx->cls.nreasons) ? ctx->cls.reasons[i]
                 : ctx->dec.reasons[i - ctx->cls.nreasons];

        b->last = ngx_slprintf(b->last, b->end, "%s\"%s\"", n++ ? "," : "",
                               reason);
    }

    b->last = ngx_slprintf(b->last, b->end, "]}\n");

    return ngx_http_llm_router_send_json(r, NGX_HTTP_OK, b);
}
