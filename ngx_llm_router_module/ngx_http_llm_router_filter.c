
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * The response side of a routed request: every body buffer from the
 * provider goes through the core's usage reader (JSON or SSE) on its way
 * to the client, unchanged and unbuffered, so that the log phase can
 * charge the tokens the provider reported.
 */


/*
 * Readers done with their response wait here for the next one, with the
 * blocks they cached for yajl: a response costs no allocation.  A reader
 * that grew past NGX_HTTP_LLM_ROUTER_USAGE_KEEP bytes is freed.
 */
#define NGX_HTTP_LLM_ROUTER_USAGE_FREE  16
#define NGX_HTTP_LLM_ROUTER_USAGE_KEEP  32768


static ngx_int_t ngx_http_llm_router_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_router_header_next(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
static ngx_int_t ngx_http_llm_router_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static llmr_usage_t *ngx_http_llm_router_usage_get(int format);
static void ngx_http_llm_router_usage_put(llmr_usage_t *u);
static void ngx_http_llm_router_cleanup_usage(void *data);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static llmr_usage_t  *ngx_http_llm_router_usage_free
                                    [NGX_HTTP_LLM_ROUTER_USAGE_FREE];
static ngx_uint_t     ngx_http_llm_router_usage_nfree;


ngx_int_t
ngx_http_llm_router_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_llm_router_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_llm_router_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_router_header_filter(ngx_http_request_t *r)
{
    int                               format;
    ngx_str_t                        *type, id;
    llmr_usage_t                     *u;
    ngx_table_elt_t                  *h;
    ngx_pool_cleanup_t               *cln;
    ngx_http_llm_router_ctx_t        *ctx;
    ngx_http_llm_router_main_conf_t  *lmcf;

    if (r == r->main && ngx_http_llm_router_route_header(r) != NGX_OK) {
        return NGX_ERROR;
    }

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_llm_router_get_ctx(r);
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (ctx) {
        /* set again below for an answer of a translated attempt, a stream */
        ctx->xans_active = 0;
        ctx->sse = 0;
    }

    if (ctx && !ctx->id_sent
        && ngx_http_llm_router_request_id(r, &id) == NGX_OK)
    {
        /* the id that feedback about this answer (or an error) quotes */

        ctx->id_sent = 1;

        h = ngx_list_push(&r->headers_out.headers);
        if (h) {
            h->hash = 1;
            ngx_str_set(&h->key, "X-LLM-Request-Id");
            h->value = id;
        }

        if (ctx->decided && !ctx->passthrough) {
            ngx_http_llm_router_fb_prefetch(r, ctx, &id);
        }
    }

    if (ctx && ctx->adj.suggested && !ctx->suggested_sent) {
        ctx->suggested_sent = 1;

        h = ngx_list_push(&r->headers_out.headers);
        if (h) {
            h->hash = 1;
            ngx_str_set(&h->key, "X-LLM-Escalation");
            ngx_str_set(&h->value, "suggested");
        }
    }

    if (r->upstream == NULL || r->header_only) {
        return ngx_http_next_header_filter(r);
    }

    if (ctx == NULL || !ctx->decided || ctx->explain || ctx->gave_up
        || ctx->passthrough)
    {
        return ngx_http_next_header_filter(r);
    }

    /*
     * A compressed answer cannot be read: it is charged from estimates.
     * "proxy_set_header Accept-Encoding "";" keeps provider answers plain.
     */

    if (!ctx->xlate && r->headers_out.content_encoding
        && r->headers_out.content_encoding->value.len)
    {
        return ngx_http_next_header_filter(r);
    }

    /* the provider's answer is in its model's API */

    format = ctx->xlate ? ngx_http_llm_router_api_format(
                              lmcf->registry->models[ctx->dec.model].api)
                        : ctx->req.format;

    if (ctx->xlate
        && ngx_http_llm_router_translate_header(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->xlate && ctx->xans_ignore) {
        return ngx_http_next_header_filter(r);
    }

    if (ctx->usage) {

        /* a fallback's answer after an intercepted error: start over */

        llmr_usage_reset(ctx->usage, format);
        ctx->usage_done = 0;
        u = ctx->usage;

    } else {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return ngx_http_llm_router_header_next(r, ctx);
        }

        u = ngx_http_llm_router_usage_get(format);
        if (u == NULL) {
            return ngx_http_llm_router_header_next(r, ctx);
        }

        cln->handler = ngx_http_llm_router_cleanup_usage;
        cln->data = ctx;
        ctx->usage = u;
    }

    type = &r->headers_out.content_type;

    if (type->len >= sizeof("text/event-stream") - 1
        && ngx_strncasecmp(type->data, (u_char *) "text/event-stream",
                           sizeof("text/event-stream") - 1) == 0)
    {
        llmr_usage_set_stream(u, 1);

        /* its events go whole, and it ends well whatever the provider does */
        ngx_http_llm_router_stream_header(r, ctx);

    } else if (type->len >= sizeof("application/json") - 1
               && ngx_strncasecmp(type->data, (u_char *) "application/json",
                                  sizeof("application/json") - 1) == 0)
    {
        llmr_usage_set_stream(u, 0);
    }

    /* spooled upstream answers are read into memory for the reader */
    r->filter_need_in_memory = 1;

    return ngx_http_llm_router_header_next(r, ctx);
}


/*
 * A translated JSON answer is written whole, once read: its header waits
 * for it (as the image filter's does), so that the status is the one the
 * translation ends with (a 502 for an answer that could not be read).
 */

static ngx_int_t
ngx_http_llm_router_header_next(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    if (ctx->xans_active && ctx->xdefer) {
        return NGX_OK;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_llm_router_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t                   rc;
    ngx_buf_t                  *b;
    ngx_chain_t                *cl, *out;
    ngx_http_llm_router_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_router_module);

    if (ctx && ctx->xans_active) {

        /* the answer goes on in the client's API */

        ngx_http_llm_router_translate_drive(r, ctx);

        for ( ;; ) {
            if (ngx_http_llm_router_translate_filter(r, ctx, in, &out)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            in = NULL;

            if (ctx->xdefer) {
                if (!ctx->xans_done) {
                    return NGX_OK;
                }

                /* the JSON answer is written: its header goes first */

                ctx->xdefer = 0;
                r->headers_out.status = llmr_xans_status(ctx->xans);
                r->headers_out.status_line.len = 0;

                rc = ngx_http_next_header_filter(r);

                if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
                    return rc;
                }
            }

            rc = ngx_http_next_body_filter(r, out);

            ngx_http_llm_router_sent(r, ctx, &out);

            /*
             * All of ours went out and some of the provider's waits: on
             * with it now, the client's socket will not say it is
             * writable again.
             */

            if (rc == NGX_ERROR || ctx->xin == NULL || ctx->xbusy) {
                return rc;
            }
        }
    }

    if (in == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx == NULL || ctx->usage == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl && !ctx->usage_done; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b) && b->last > b->pos) {
            (void) llmr_usage_feed(ctx->usage, b->pos, b->last - b->pos);
        }

        if (b->last_buf) {
            llmr_usage_finish(ctx->usage);
            ctx->usage_done = 1;
        }
    }

    if (!ctx->sse) {
        return ngx_http_next_body_filter(r, in);
    }

    /* a stream: its events whole, its end well */

    if (ngx_http_llm_router_stream_filter(r, ctx, in, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_next_body_filter(r, out);

    ngx_http_llm_router_sent(r, ctx, &out);

    return rc;
}


static llmr_usage_t *
ngx_http_llm_router_usage_get(int format)
{
    llmr_usage_t  *u;

    if (ngx_http_llm_router_usage_nfree == 0) {
        return llmr_usage_create(format);
    }

    u = ngx_http_llm_router_usage_free[--ngx_http_llm_router_usage_nfree];
    llmr_usage_reset(u, format);

    return u;
}


static void
ngx_http_llm_router_usage_put(llmr_usage_t *u)
{
    if (ngx_http_llm_router_usage_nfree == NGX_HTTP_LLM_ROUTER_USAGE_FREE
        || llmr_usage_memory(u) > NGX_HTTP_LLM_ROUTER_USAGE_KEEP)
    {
        llmr_usage_destroy(u);
        return;
    }

    ngx_http_llm_router_usage_free[ngx_http_llm_router_usage_nfree++] = u;
}


void
ngx_http_llm_router_usage_free_all(void)
{
    while (ngx_http_llm_router_usage_nfree) {
        llmr_usage_destroy(
            ngx_http_llm_router_usage_free[--ngx_http_llm_router_usage_nfree]);
    }
}


static void
ngx_http_llm_router_cleanup_usage(void *data)
{
    ngx_http_llm_router_ctx_t  *ctx = data;

    if (ctx->usage) {
        ngx_http_llm_router_usage_put(ctx->usage);
        ctx->usage = NULL;
    }
}
