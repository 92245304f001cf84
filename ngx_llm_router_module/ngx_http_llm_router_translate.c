
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * A client of one API served by a model of another (llm_route_translate):
 * which APIs the request can be written for, before the decision; the
 * body for the chosen model's API, after it (and after each fallback);
 * the model's answer written back in the client's API, stream or not.
 * The translation itself is the core's (llmr/translate.h).
 */


/* translated answers' readers kept for the next */
#define NGX_HTTP_LLM_ROUTER_XANS_FREE   16

/*
 * What the client has not taken of a translated answer, at most, before
 * the provider's is read no further; and the request's "buffered" bit
 * while some of the provider's waits (the image filter's: it never sees
 * an LLM answer).
 */
#define NGX_HTTP_LLM_ROUTER_BUSY_MAX    65536
#define NGX_HTTP_LLM_ROUTER_BUFFERED    0x08
#define NGX_HTTP_LLM_ROUTER_XANS_KEEP   65536


static ngx_int_t ngx_http_llm_router_flat_body(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
static void ngx_http_llm_router_translate_writer(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_router_xreq_parse(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
static llmr_xans_t *ngx_http_llm_router_xans_get(void);
static void ngx_http_llm_router_xans_put(llmr_xans_t *a);
static void ngx_http_llm_router_cleanup_xans(void *data);
static ngx_int_t ngx_http_llm_router_xans_output(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_uint_t last, ngx_uint_t flush,
    ngx_chain_t **out);


/* one per worker: a body is parsed and written in one go */
static llmr_xreq_t  *ngx_http_llm_router_xreq;

/* the request whose body ngx_http_llm_router_xreq holds now */
static ngx_http_request_t  *ngx_http_llm_router_xreq_owner;
static ngx_uint_t           ngx_http_llm_router_xreq_serial;

static llmr_xans_t  *ngx_http_llm_router_xans_free[NGX_HTTP_LLM_ROUTER_XANS_FREE];
static ngx_uint_t    ngx_http_llm_router_xans_nfree;


ngx_int_t
ngx_http_llm_router_translate_init_process(ngx_cycle_t *cycle)
{
    ngx_http_llm_router_xreq = llmr_xreq_create();

    if (ngx_http_llm_router_xreq == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "llm_router: no memory for the request translator");
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_llm_router_translate_exit_process(void)
{
    if (ngx_http_llm_router_xreq) {
        llmr_xreq_destroy(ngx_http_llm_router_xreq);
        ngx_http_llm_router_xreq = NULL;
    }

    while (ngx_http_llm_router_xans_nfree) {
        llmr_xans_destroy(
            ngx_http_llm_router_xans_free[--ngx_http_llm_router_xans_nfree]);
    }
}


/* the answer format of an API: what the usage reader is told */

int
ngx_http_llm_router_api_format(ngx_uint_t api)
{
    switch (api) {
    case LLMR_API_ANTHROPIC:
        return LLMR_FMT_ANTHROPIC;
    case LLMR_API_GEMINI:
        return LLMR_FMT_GEMINI;
    default:
        return LLMR_FMT_OPENAI_CHAT;
    }
}


/*
 * Before the decision: whether the request may go to another API at
 * all (translation on, a format translated, the registry has models of
 * another API).  If so every API of the registry is tentatively open, and
 * the body is parsed only when a decision picks a model of another API
 * (ngx_http_llm_router_translate_resolve()): a request that stays in its
 * API pays nothing for translation.
 */

ngx_int_t
ngx_http_llm_router_translate_check(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const llmr_request_t *req,
    llmr_signals_t *s)
{
    ngx_str_t                         alt;
    ngx_http_llm_router_loc_conf_t   *llcf;
    ngx_http_llm_router_main_conf_t  *lmcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    llmr_signals_translate(s, NULL, ctx->ep.api, NULL);

    if (!llcf->translate
        || !(lmcf->registry->apis & ~llmr_api_bit(ctx->ep.api))
        || !llmr_xreq_format_ok(req->format)
        || ngx_http_llm_router_xreq == NULL)
    {
        return NGX_OK;
    }

    /*
     * A Gemini stream without "alt=sse" is one JSON array sent in pieces:
     * only Gemini's models write that.
     */

    if (ctx->ep.api == LLMR_API_GEMINI && ctx->ep.stream
        && (ngx_http_arg(r, (u_char *) "alt", 3, &alt) != NGX_OK
            || alt.len != 3 || ngx_strncmp(alt.data, "sse", 3) != 0))
    {
        ctx->xno_sse = 1;       /* what a refusal says */
        return NGX_OK;
    }

    ctx->xformat = req->format;
    ctx->xstream = (ctx->ep.api == LLMR_API_GEMINI) ? ctx->ep.stream
                                                   : req->stream;
    ctx->xlazy = 1;
    ctx->xapis = lmcf->registry->apis;

    s->apis |= ctx->xapis;

    return NGX_OK;
}


/*
 * A decision picked a model of another API while the request was not
 * parsed yet: the APIs it can really be written for, and why not the
 * others, replace the tentative ones; the caller decides again.
 */

ngx_int_t
ngx_http_llm_router_translate_resolve(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, llmr_signals_t *s)
{
    ngx_int_t  rc;

    ctx->xlazy = 0;

    rc = ngx_http_llm_router_xreq_parse(r, ctx);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    s->apis &= ~ctx->xapis;

    if (rc != NGX_OK) {
        /* not a request the translator reads: it stays home */
        ctx->xapis = 0;
        llmr_signals_translate(s, NULL, ctx->ep.api, NULL);
        return NGX_OK;
    }

    /* the reasons live with the request: a fallback decides again */

    ctx->xwhy = ngx_palloc(r->pool,
                           LLMR_API_N * LLMR_UNTRANSLATABLE_MAX);
    if (ctx->xwhy == NULL) {
        return NGX_ERROR;
    }

    llmr_signals_translate(s, ngx_http_llm_router_xreq, ctx->ep.api,
                           ctx->xwhy);

    ctx->translatable = 1;
    ctx->xapis = s->apis;
    ngx_memcpy(ctx->xuntranslatable, s->untranslatable,
               sizeof(ctx->xuntranslatable));

    return NGX_OK;
}


/*
 * The request's body whole in memory: the buffer itself when it is one,
 * else one copy (a body spread over buffers or spooled to a file), kept
 * for the fallbacks that write it again.
 */

static ngx_int_t
ngx_http_llm_router_flat_body(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (ctx->flat.data || ctx->orig_len == 0) {
        return NGX_OK;
    }

    cl = ctx->orig_bufs;

    if (cl && cl->next == NULL && ngx_buf_in_memory(cl->buf)) {
        ctx->flat.data = cl->buf->pos;
        ctx->flat.len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) ctx->orig_len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->flat.data = p;

    for ( /* void */ ; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (!b->in_file) {
            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_read_file_n " read only %z of %O from \"%V\"",
                          n, b->file_last - b->file_pos, &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    ctx->flat.len = p - ctx->flat.data;

    return NGX_OK;
}


/*
 * The worker's translator holds this request's body: parsed now, or
 * again when a fallback comes after other requests used it.
 */

static ngx_int_t
ngx_http_llm_router_xreq_parse(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    int  rc;

    if (ngx_http_llm_router_xreq_owner == r
        && ctx->xserial == ngx_http_llm_router_xreq_serial)
    {
        return NGX_OK;
    }

    if (ngx_http_llm_router_flat_body(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_llm_router_xreq_owner = NULL;

    rc = llmr_xreq_parse(ngx_http_llm_router_xreq, ctx->xformat,
                         (const char *) ctx->flat.data, ctx->flat.len);

    if (rc == LLMR_DECLINED) {
        return NGX_DECLINED;
    }

    if (rc != LLMR_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llm_router: the request cannot be translated: %s",
                      llmr_xreq_error(ngx_http_llm_router_xreq));
        return NGX_DECLINED;
    }

    llmr_xreq_set_stream(ngx_http_llm_router_xreq, (int) ctx->xstream);

    ngx_http_llm_router_xreq_owner = r;
    ctx->xserial = ++ngx_http_llm_router_xreq_serial;

    return NGX_OK;
}


/*
 * After a decision: the body for the chosen model.  Another API than the
 * client's gets the translated body in one buffer; the client's own
 * gets the original body back if an attempt before was translated (the
 * model edit is the caller's).  NGX_OK, NGX_DECLINED when the body
 * cannot be written for it after all, NGX_ERROR.
 */

ngx_int_t
ngx_http_llm_router_translate_body(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    u_char                           *p;
    size_t                            len;
    ngx_buf_t                        *b;
    ngx_chain_t                      *cl;
    const char                       *out;
    llmr_xreq_conf_t                  conf;
    const llmr_model_t               *m;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_slot_t       *slot;
    ngx_http_llm_router_loc_conf_t   *llcf;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);

    m = &lmcf->registry->models[ctx->dec.model];

    if (m->api == ctx->ep.api) {
        if (ctx->xlate) {
            ctx->xlate = 0;
            ctx->ep.stream = ctx->xstream_ep;

            if (r->request_body) {
                r->request_body->bufs = ctx->orig_bufs;
            }

            ngx_http_llm_router_set_length(r, ctx->orig_len);
        }

        return NGX_OK;
    }

    if (!ctx->translatable
        || ngx_http_llm_router_xreq_parse(r, ctx) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_memzero(&conf, sizeof(llmr_xreq_conf_t));
    conf.api = m->api;
    conf.model = m->id;
    conf.model_len = ngx_strlen(m->id);
    conf.max_tokens = (int64_t) m->max_tokens;
    conf.include_usage = llcf->stream_usage ? 1 : 0;

    if (llmr_xreq_write(ngx_http_llm_router_xreq, &conf, &out, &len)
        != LLMR_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm_router: the request cannot be written for "
                      "\"%s\": %s", m->name,
                      llmr_xreq_error(ngx_http_llm_router_xreq));
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, len);
    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);

    if (p == NULL || b == NULL || cl == NULL || r->request_body == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, out, len);

    b->pos = p;
    b->last = p + len;
    b->start = p;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    r->request_body->bufs = cl;

    if (ngx_http_llm_router_set_length(r, (off_t) len) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!ctx->xlate) {
        ctx->xstream_ep = ctx->ep.stream;
    }

    /* a Gemini model's stream is asked for by its path */
    ctx->ep.stream = ctx->xstream;
    ctx->xlate = 1;

    zone = lmcf->shm_zone->data;
    slot = zone->model_slot[ctx->dec.model];

    if (slot) {
        (void) ngx_atomic_fetch_add(&slot->translated[ctx->ep.api], 1);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm_router: request translated from %s to %s for \"%s\"",
                   llmr_api_name(ctx->ep.api), llmr_api_name(m->api),
                   m->name);

    return NGX_OK;
}


/*
 * The answer of a translated attempt: its reader, the headers the
 * client's API has (the length is not known any more).
 */

ngx_int_t
ngx_http_llm_router_translate_header(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    ngx_str_t                        *type, id;
    llmr_xans_conf_t                  conf;
    ngx_pool_cleanup_t               *cln;
    const llmr_model_t               *m;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    m = &lmcf->registry->models[ctx->dec.model];

    if (ctx->xans == NULL) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        ctx->xans = ngx_http_llm_router_xans_get();
        if (ctx->xans == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_llm_router_cleanup_xans;
        cln->data = ctx;
    }

    ngx_memzero(&conf, sizeof(llmr_xans_conf_t));

    type = &r->headers_out.content_type;

    if (r->headers_out.content_encoding
        && r->headers_out.content_encoding->value.len)
    {
        /*
         * A compressed answer cannot be read, nor passed on in another
         * API: the client gets a 502 in its own ("proxy_set_header
         * Accept-Encoding "";" keeps answers plain).
         */

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm_router: \"%s\" answered compressed (%V): it "
                      "cannot be translated", m->name,
                      &r->headers_out.content_encoding->value);

        r->headers_out.content_encoding->hash = 0;
        r->headers_out.content_encoding = NULL;
        r->headers_out.status = NGX_HTTP_BAD_GATEWAY;
        r->headers_out.status_line.len = 0;
        ctx->xans_ignore = 1;

    } else {
        ctx->xans_ignore = 0;
    }

    conf.from = m->api;
    conf.to = (int) ctx->ep.api;
    conf.to_format = (ctx->xformat == LLMR_FMT_OPENAI_RESPONSES)
                     ? LLMR_FMT_OPENAI_RESPONSES : 0;
    conf.status = (int) r->headers_out.status;
    conf.stream = (r->headers_out.status < NGX_HTTP_BAD_REQUEST
                   && type->len >= sizeof("text/event-stream") - 1
                   && ngx_strncasecmp(type->data,
                                      (u_char *) "text/event-stream",
                                      sizeof("text/event-stream") - 1)
                      == 0);
    conf.include_usage = ctx->req.include_usage;
    conf.model = m->id;
    conf.created = (int64_t) ngx_time();

    if (ngx_http_llm_router_request_id(r, &id) == NGX_OK) {
        conf.id = (const char *) ngx_pnalloc(r->pool, id.len + 1);
        if (conf.id) {
            *ngx_cpymem((u_char *) conf.id, id.data, id.len) = '\0';
        }
    }

    llmr_xans_reset(ctx->xans, &conf);
    ctx->xin = NULL;
    ctx->xans_done = 0;
    ctx->xans_stream = conf.stream;
    ctx->xans_active = 1;
    ctx->xdefer = !conf.stream && !ctx->xans_ignore;

    if (conf.stream) {
        ngx_str_set(type, "text/event-stream");

    } else {
        ngx_str_set(type, "application/json");
    }

    r->headers_out.content_type_len = type->len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_etag(r);

    r->filter_need_in_memory = 1;

    return NGX_OK;
}


/*
 * With proxy_buffering on, the upstream's pipe calls the body filters
 * only when it has something new for the client or enough of its own
 * buffers wait: what a translated answer holds (the provider's bytes not
 * read yet, ours not sent yet) would wait for the provider's next bytes,
 * or for ever once it has sent them all.  The client's write events drive
 * it first, as ngx_http_writer() does once the upstream is done.
 */

void
ngx_http_llm_router_translate_drive(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    if (r->upstream == NULL || !r->upstream->buffering
        || r->write_event_handler == ngx_http_llm_router_translate_writer)
    {
        return;
    }

    ctx->xwriter = r->write_event_handler;
    r->write_event_handler = ngx_http_llm_router_translate_writer;
}


static void
ngx_http_llm_router_translate_writer(ngx_http_request_t *r)
{
    ngx_event_t                *wev;
    ngx_http_llm_router_ctx_t  *ctx;

    ctx = ngx_http_llm_router_get_ctx(r);

    if (ctx == NULL || ctx->xwriter == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    wev = r->connection->write;

    if (ctx->xans_active && (ctx->xin || ctx->xbusy)
        && wev->ready && !wev->delayed && !wev->timedout)
    {
        /* an error here is the pipe's at its next write */
        (void) ngx_http_output_filter(r, NULL);
    }

    ctx->xwriter(r);
}


/*
 * The provider's bytes go to the usage reader as they came, then through
 * the translator; what it writes goes on in buffers of ours, taken back
 * once sent.  A stream's pieces are flushed as they come.
 */

ngx_int_t
ngx_http_llm_router_translate_filter(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out)
{
    size_t        busy, n;
    ngx_buf_t    *b;
    ngx_uint_t    last, flush;
    ngx_chain_t  *cl;

    last = 0;
    flush = 0;

    /*
     * The provider's buffers wait in xin until read: while what the
     * client has not taken of ours is over NGX_HTTP_LLM_ROUTER_BUSY_MAX,
     * nothing more is read, the provider's buffers stay busy, and nginx
     * reads no more from the provider (proxy_buffering decides how much
     * it keeps meanwhile): a client that stops reading costs no more
     * memory here.
     */

    if (in && ngx_chain_add_copy(r->pool, &ctx->xin, in) != NGX_OK) {
        return NGX_ERROR;
    }

    busy = 0;

    for (cl = ctx->xbusy; cl; cl = cl->next) {
        busy += ngx_buf_size(cl->buf);
    }

    while (ctx->xin && busy < NGX_HTTP_LLM_ROUTER_BUSY_MAX) {
        cl = ctx->xin;
        b = cl->buf;
        ctx->xin = cl->next;
        ngx_free_chain(r->pool, cl);

        if (ngx_buf_in_memory(b) && b->last > b->pos) {

            if (ctx->usage && !ctx->usage_done) {
                (void) llmr_usage_feed(ctx->usage, b->pos, b->last - b->pos);
            }

            if (!ctx->xans_done && !ctx->xans_ignore) {
                (void) llmr_xans_feed(ctx->xans, (const char *) b->pos,
                                      b->last - b->pos);
            }

            b->pos = b->last;
        }

        if (b->in_file) {
            b->file_pos = b->file_last;
        }

        flush |= b->flush;
        last |= b->last_buf;

        (void) llmr_xans_output(ctx->xans, &n);
        busy += n;
    }

    if (ctx->xin) {
        r->buffered |= NGX_HTTP_LLM_ROUTER_BUFFERED;

    } else {
        r->buffered &= ~NGX_HTTP_LLM_ROUTER_BUFFERED;

        if (flush && ctx->stream_fault && !ctx->xans_done) {
            /* the provider failed mid-stream: the client's end, now */
            last = 1;
        }
    }

    if (last) {
        if (ctx->usage && !ctx->usage_done) {
            llmr_usage_finish(ctx->usage);
            ctx->usage_done = 1;
        }

        if (!ctx->xans_done) {
            if (llmr_xans_finish(ctx->xans) != LLMR_OK) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "llm_router: no memory to translate the "
                              "answer");
            }

            if (!llmr_xans_complete(ctx->xans)) {
                ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                              "llm_router: the provider's answer ended "
                              "before its end; the client got an error "
                              "in its API");
            }

            ctx->xans_done = 1;
        }
    }

    return ngx_http_llm_router_xans_output(r, ctx, last, flush, out);
}


static ngx_int_t
ngx_http_llm_router_xans_output(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_uint_t last, ngx_uint_t flush,
    ngx_chain_t **out)
{
    size_t        len;
    ngx_buf_t    *b;
    const char   *data;
    ngx_chain_t  *cl, **ll;

    *out = NULL;
    ll = out;

    data = llmr_xans_output(ctx->xans, &len);

    if (ngx_http_llm_router_emit(r, ctx, (const u_char *) data, len, &ll)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    llmr_xans_consume(ctx->xans, len);

    if (last) {
        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);

        if (b == NULL || cl == NULL) {
            return NGX_ERROR;
        }

        b->last_buf = 1;
        b->last_in_chain = 1;
        b->flush = 1;

        cl->buf = b;
        *ll = cl;
        ll = &cl->next;

    } else if (len && (flush || ctx->xans_stream)) {
        /* a stream's events go out as they are written */
        for (cl = *out; cl->next; cl = cl->next) { /* void */ }
        cl->buf->flush = 1;
    }

    *ll = NULL;

    return NGX_OK;
}


static llmr_xans_t *
ngx_http_llm_router_xans_get(void)
{
    if (ngx_http_llm_router_xans_nfree == 0) {
        return llmr_xans_create();
    }

    return ngx_http_llm_router_xans_free[--ngx_http_llm_router_xans_nfree];
}


static void
ngx_http_llm_router_xans_put(llmr_xans_t *a)
{
    if (ngx_http_llm_router_xans_nfree == NGX_HTTP_LLM_ROUTER_XANS_FREE
        || llmr_xans_memory(a) > NGX_HTTP_LLM_ROUTER_XANS_KEEP)
    {
        llmr_xans_destroy(a);
        return;
    }

    ngx_http_llm_router_xans_free[ngx_http_llm_router_xans_nfree++] = a;
}


static void
ngx_http_llm_router_cleanup_xans(void *data)
{
    ngx_http_llm_router_ctx_t  *ctx = data;

    if (ctx->xans) {
        ngx_http_llm_router_xans_put(ctx->xans);
        ctx->xans = NULL;
    }
}
