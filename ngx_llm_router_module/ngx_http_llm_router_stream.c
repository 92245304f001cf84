
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * Streams that end well.  A provider's stream may stop after its headers
 * went out: it stalls past proxy_read_timeout, resets the connection, or
 * closes it before its last event.  nginx then closes the client's
 * connection too, or ends the response where the provider did; the
 * client's SDK sees a broken stream, or half an event.
 *
 * Here the events of a stream passed on as it comes are passed whole: the
 * bytes after the last complete event of a buffer wait for the rest of
 * their event.  The upstream's end (ngx_http_upstream_t's finalize_request,
 * wrapped) says how the stream ended; when it ended before its last
 * event, what waits is dropped and the client gets an error event in its
 * API's format, then the end its SDK expects, before nginx closes the
 * connection.  A translated stream's end is the translator's
 * (llmr_xans_finish()).
 */


/* the longest piece of an event waiting for the rest of it */
#define NGX_HTTP_LLM_ROUTER_HELD_MAX    (1024 * 1024)

/* output buffers, taken back once sent */
#define NGX_HTTP_LLM_ROUTER_OUT_BUF     8192
#define NGX_HTTP_LLM_ROUTER_OUT_MIN     1024

#define NGX_HTTP_LLM_ROUTER_RC_NONE     (-1000)


static void ngx_http_llm_router_stream_finalize(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_llm_router_hold(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, u_char *p, size_t len);
static ngx_int_t ngx_http_llm_router_stream_end(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_chain_t ***ll);


/*
 * An answer that is a stream is about to go out: how the upstream ends
 * will be known (its finalize_request, wrapped), nothing waits yet.
 */

void
ngx_http_llm_router_stream_header(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    ctx->sse = 1;
    ctx->sse_state = 0;
    ctx->held_len = 0;
    ctx->hold_off = 0;
    ctx->stream_ended = 0;
    ctx->upstream_rc = NGX_HTTP_LLM_ROUTER_RC_NONE;

    if (u && u->finalize_request != ngx_http_llm_router_stream_finalize) {
        ctx->upstream_finalize = u->finalize_request;
        u->finalize_request = ngx_http_llm_router_stream_finalize;
    }
}


static void
ngx_http_llm_router_stream_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_llm_router_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_router_module);

    if (ctx == NULL) {
        return;
    }

    ctx->upstream_rc = rc;

    if (rc != 0 && rc != NGX_DECLINED && rc != NGX_HTTP_CLIENT_CLOSED_REQUEST
        && rc != NGX_HTTP_REQUEST_TIME_OUT)
    {
        /* the provider failed mid-stream: health counts it (outcome) */
        ctx->stream_fault = (rc == NGX_HTTP_GATEWAY_TIME_OUT)
                            ? NGX_HTTP_GATEWAY_TIME_OUT
                            : NGX_HTTP_BAD_GATEWAY;
    }

    if (ctx->upstream_finalize) {
        ctx->upstream_finalize(r, rc);
    }
}


/*
 * The body of a stream passed on as it comes (the usage reader has read
 * it): whole events go on; the tail of an event waits.  On the stream's
 * end, or the upstream's failure, the end it needs.  *out is what goes
 * to the next filter.
 */

ngx_int_t
ngx_http_llm_router_stream_filter(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out)
{
    size_t         size, cut;
    ngx_buf_t     *b;
    ngx_uint_t     last, flush;
    ngx_chain_t   *cl, *ln, **ll;

    *out = NULL;
    ll = out;
    last = 0;
    flush = 0;

    if (ctx->stream_ended) {
        /* our end went out: what nginx sends after it is its own */
        *out = in;
        return NGX_OK;
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        last |= b->last_buf;
        flush |= b->flush;

        if (b->last_buf || (ngx_buf_special(b) && !b->flush)) {
            /* the end goes out below, after what it may need */
            continue;
        }

        if (ngx_buf_in_memory(b) && b->last > b->pos) {

            size = b->last - b->pos;
            cut = ctx->hold_off
                  ? size : llmr_sse_boundary(&ctx->sse_state, b->pos, size);

            if (cut == 0) {
                /* no event ends here: all of it waits */

                if (ngx_http_llm_router_hold(r, ctx, b->pos, size) != NGX_OK)
                {
                    return NGX_ERROR;
                }

                if (!ctx->hold_off) {
                    b->pos = b->last;
                    continue;
                }

                cut = size;
            }

            /* an event ends here: what waited for it goes first */

            if (ctx->held_len) {
                if (ngx_http_llm_router_emit(r, ctx, ctx->held,
                                             ctx->held_len, &ll)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                ctx->held_len = 0;
            }

            if (cut < size) {
                if (ngx_http_llm_router_hold(r, ctx, b->pos + cut,
                                             size - cut)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }

                if (!ctx->hold_off) {
                    b->last = b->pos + cut;
                }
            }

        } else if (ngx_buf_size(b) == 0 && !ngx_buf_special(b)) {
            continue;
        }

        ln = ngx_alloc_chain_link(r->pool);
        if (ln == NULL) {
            return NGX_ERROR;
        }

        ln->buf = b;
        *ll = ln;
        ll = &ln->next;
    }

    if (last || (flush && ctx->stream_fault)) {
        if (ngx_http_llm_router_stream_end(r, ctx, &ll) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    *ll = NULL;

    return NGX_OK;
}


/*
 * The stream's end: its own when it reached its last event (what waits
 * is its tail: passed on), else an error event and the end of the
 * client's API, what waits dropped.  Then the response's last buffer.
 */

static ngx_int_t
ngx_http_llm_router_stream_end(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_chain_t ***ll)
{
    u_char                     *p;
    size_t                      n, max;
    ngx_buf_t                  *b;
    ngx_chain_t                *cl;
    const char                 *code, *msg;
    const llmr_usage_result_t  *u;

    ctx->stream_ended = 1;

    u = ctx->usage ? llmr_usage_result(ctx->usage) : NULL;

    if (u && (u->done || u->error)) {

        /* its own end, or its own error event: nothing to add */

        if (ctx->held_len
            && ngx_http_llm_router_emit(r, ctx, ctx->held, ctx->held_len, ll)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else {
        if (ctx->stream_fault == NGX_HTTP_GATEWAY_TIME_OUT) {
            code = "llm_upstream_timeout";
            msg = "the provider's stream stalled past the read timeout";

        } else if (ctx->stream_fault) {
            code = "llm_upstream_error";
            msg = "the provider's stream broke off";

        } else {
            code = "llm_upstream_truncated";
            msg = "the provider's stream ended early";
        }

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "llm_router: %s; the client got an error event and "
                      "the end of its stream", msg);

        max = llmr_api_stream_error_max(code, ngx_strlen(msg));

        p = ngx_pnalloc(r->pool, max);
        if (p == NULL) {
            return NGX_ERROR;
        }

        n = llmr_api_stream_error(ctx->ep.api,
                                  ctx->stream_fault ? (int) ctx->stream_fault
                                                    : NGX_HTTP_BAD_GATEWAY,
                                  code, msg, ngx_strlen(msg), (char *) p,
                                  max);

        if (n && ngx_http_llm_router_emit(r, ctx, p, n, ll) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    ctx->held_len = 0;

    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NGX_ERROR;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    b->flush = 1;

    cl->buf = b;
    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
}


/* the tail of an event waits (a copy: the buffer is the upstream's) */

static ngx_int_t
ngx_http_llm_router_hold(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, u_char *p, size_t len)
{
    u_char  *nh;
    size_t   size;

    if (ctx->held_len + len > NGX_HTTP_LLM_ROUTER_HELD_MAX) {
        /* an event this long: passed on as it comes from now on */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llm_router: a stream event over %uz bytes, passed "
                      "on unheld", (size_t) NGX_HTTP_LLM_ROUTER_HELD_MAX);
        ctx->hold_off = 1;
        return NGX_OK;
    }

    if (ctx->held_len + len > ctx->held_size) {
        size = ngx_max(ctx->held_size * 2, ctx->held_len + len);
        size = ngx_max(size, 1024);

        nh = ngx_pnalloc(r->pool, size);
        if (nh == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(nh, ctx->held, ctx->held_len);

        if (ctx->held) {
            ngx_pfree(r->pool, ctx->held);
        }

        ctx->held = nh;
        ctx->held_size = size;
    }

    ngx_memcpy(ctx->held + ctx->held_len, p, len);
    ctx->held_len += len;

    return NGX_OK;
}


/*
 * len bytes into buffers of ours (taken back once sent by
 * ngx_http_llm_router_sent()), appended to **ll.  A buffer is made as
 * large as what it first carries, from NGX_HTTP_LLM_ROUTER_OUT_MIN to
 * NGX_HTTP_LLM_ROUTER_OUT_BUF: a stream of small events keeps one small
 * buffer while it is open.
 */

ngx_int_t
ngx_http_llm_router_emit(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const u_char *data, size_t len,
    ngx_chain_t ***ll)
{
    size_t        n, size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    while (len) {
        cl = ngx_chain_get_free_buf(r->pool, &ctx->xfree);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        b = cl->buf;
        b->flush = 0;
        b->last_buf = 0;
        b->last_in_chain = 0;

        if (b->start == NULL) {
            size = ngx_min(len, NGX_HTTP_LLM_ROUTER_OUT_BUF);
            size = ngx_max(size, NGX_HTTP_LLM_ROUTER_OUT_MIN);

            b->start = ngx_palloc(r->pool, size);
            if (b->start == NULL) {
                return NGX_ERROR;
            }

            b->end = b->start + size;
            b->tag = (ngx_buf_tag_t) &ngx_http_llm_router_module;
            b->temporary = 1;
        }

        b->pos = b->start;
        n = ngx_min(len, (size_t) (b->end - b->start));
        b->last = ngx_cpymem(b->pos, data, n);

        data += n;
        len -= n;

        **ll = cl;
        *ll = &cl->next;
    }

    return NGX_OK;
}


/* after the next filters: our buffers they are done with come back */

void
ngx_http_llm_router_sent(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_chain_t **out)
{
    ngx_chain_update_chains(r->pool, &ctx->xfree, &ctx->xbusy, out,
                            (ngx_buf_tag_t) &ngx_http_llm_router_module);
}
