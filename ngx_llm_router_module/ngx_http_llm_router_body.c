
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * A body spooled to a temp file is read back in one read into a buffer of
 * the worker's that grows to fit it, from 64 KB up to 1 MB: one system
 * call, and the prompt's strings in one piece for the extractor.  Larger
 * bodies are read in 1 MB chunks.
 */
#define NGX_HTTP_LLM_ROUTER_FILE_MIN    65536
#define NGX_HTTP_LLM_ROUTER_FILE_MAX    1048576

/*
 * The head of a spooled body is kept in memory once read: the rewritten
 * "model" is usually there, and the slices around it then cost the proxy
 * no read of its own.
 */
#define NGX_HTTP_LLM_ROUTER_FILE_HEAD   4096


static ngx_int_t ngx_http_llm_router_slice(ngx_http_request_t *r,
    ngx_chain_t *in, off_t from, off_t to, ngx_chain_t ***ll);
static ngx_int_t ngx_http_llm_router_append(ngx_http_request_t *r,
    const char *data, size_t len, ngx_chain_t ***ll);


static u_char  *ngx_http_llm_router_file_buf;
static size_t   ngx_http_llm_router_file_size;


static u_char *ngx_http_llm_router_file_room(ngx_http_request_t *r,
    off_t len, size_t *size);
static ngx_int_t ngx_http_llm_router_file_head(ngx_http_request_t *r,
    ngx_chain_t *cl, u_char *data, size_t len);


/*
 * Feeds the request body to the extractor: buffers in memory as they are,
 * a body spooled to a temp file read back from the file, whole up to
 * NGX_HTTP_LLM_ROUTER_FILE_MAX.
 * NGX_OK, NGX_DECLINED (the extractor refused the bytes), or NGX_ERROR.
 */

ngx_int_t
ngx_http_llm_router_feed_body(ngx_http_request_t *r, llmr_extract_t *x)
{
    off_t         off;
    size_t        size, room;
    u_char       *buf;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            if (llmr_extract_feed(x, b->pos, b->last - b->pos) != LLMR_OK) {
                return NGX_DECLINED;
            }

            continue;
        }

        if (!b->in_file) {
            continue;
        }

        buf = ngx_http_llm_router_file_room(r, b->file_last - b->file_pos,
                                            &room);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        for (off = b->file_pos; off < b->file_last; off += n) {
            size = (size_t) ngx_min(b->file_last - off, (off_t) room);

            n = ngx_read_file(b->file, buf, size, off);

            if (n == NGX_ERROR) {
                return NGX_ERROR;
            }

            if ((size_t) n != size) {
                ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                              ngx_read_file_n " read only %z of %uz from "
                              "\"%V\"", n, size, &b->file->name);
                return NGX_ERROR;
            }

            if (llmr_extract_feed(x, buf, n) != LLMR_OK) {
                return NGX_DECLINED;
            }

            if (off == b->file_pos
                && ngx_http_llm_router_file_head(r, cl, buf, n) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        if (cl->buf != b) {
            /* split: the rest is fed already */
            cl = cl->next;
        }
    }

    return NGX_OK;
}


/*
 * Splits the spooled buffer cl, whose first len bytes are at data, into
 * a copy of its head in memory and the rest in the file.
 */

static ngx_int_t
ngx_http_llm_router_file_head(ngx_http_request_t *r, ngx_chain_t *cl,
    u_char *data, size_t len)
{
    ngx_buf_t    *b, *head;
    ngx_chain_t  *rest;

    b = cl->buf;

    if (b->file_last - b->file_pos <= NGX_HTTP_LLM_ROUTER_FILE_HEAD) {
        return NGX_OK;
    }

    len = ngx_min(len, NGX_HTTP_LLM_ROUTER_FILE_HEAD);

    head = ngx_create_temp_buf(r->pool, len);
    if (head == NULL) {
        return NGX_ERROR;
    }

    head->last = ngx_cpymem(head->pos, data, len);

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    *b = *cl->buf;
    b->file_pos += len;

    rest = ngx_alloc_chain_link(r->pool);
    if (rest == NULL) {
        return NGX_ERROR;
    }

    rest->buf = b;
    rest->next = cl->next;

    cl->buf = head;
    cl->next = rest;

    return NGX_OK;
}


/*
 * The worker's read buffer, grown (by doubling, at most to
 * NGX_HTTP_LLM_ROUTER_FILE_MAX) to hold len bytes; kept for the next body.
 * When it cannot grow, the buffer it has is read into in chunks.
 */

static u_char *
ngx_http_llm_router_file_room(ngx_http_request_t *r, off_t len, size_t *size)
{
    u_char  *p;
    size_t   want;

    if ((off_t) ngx_http_llm_router_file_size >= len
        || ngx_http_llm_router_file_size == NGX_HTTP_LLM_ROUTER_FILE_MAX)
    {
        *size = ngx_http_llm_router_file_size;
        return ngx_http_llm_router_file_buf;
    }

    want = NGX_HTTP_LLM_ROUTER_FILE_MIN;

    while ((off_t) want < len && want < NGX_HTTP_LLM_ROUTER_FILE_MAX) {
        want *= 2;
    }

    p = ngx_alloc(want, r->connection->log);

    if (p == NULL) {
        if (ngx_http_llm_router_file_buf == NULL) {
            return NULL;
        }

        *size = ngx_http_llm_router_file_size;
        return ngx_http_llm_router_file_buf;
    }

    ngx_free(ngx_http_llm_router_file_buf);

    ngx_http_llm_router_file_buf = p;
    ngx_http_llm_router_file_size = want;

    *size = want;
    return p;
}


/*
 * Applies the edits to the original body chain without copying it: the
 * new chain points at slices of the original buffers (in memory or in the
 * temp file) with the edits' bytes in between.
 */

ngx_int_t
ngx_http_llm_router_rewrite_body(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const llmr_rewrite_t *rw)
{
    off_t                 pos;
    ngx_uint_t            i;
    ngx_chain_t          *out, **ll, *cl;
    const llmr_edit_t    *e;

    out = NULL;
    ll = &out;
    pos = 0;

    for (i = 0; i < rw->nedits; i++) {
        e = &rw->edits[i];

        if (ngx_http_llm_router_slice(r, ctx->orig_bufs, pos, e->start, &ll)
            != NGX_OK
            || ngx_http_llm_router_append(r, e->data, e->len, &ll) != NGX_OK)
        {
            return NGX_ERROR;
        }

        pos = e->end;
    }

    if (ngx_http_llm_router_slice(r, ctx->orig_bufs, pos, ctx->orig_len, &ll)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (cl = out; cl->next; cl = cl->next) { /* void */ }

    cl->buf->last_buf = 1;
    cl->buf->last_in_chain = 1;

    r->request_body->bufs = out;

    return ngx_http_llm_router_set_length(r, ctx->orig_len + rw->delta);
}


/* the Content-Length the upstream is sent, for a body of len bytes */

ngx_int_t
ngx_http_llm_router_set_length(ngx_http_request_t *r, off_t len)
{
    u_char  *p;

    r->headers_in.content_length_n = len;

    if (r->headers_in.content_length) {
        p = ngx_pnalloc(r->pool, NGX_OFF_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        r->headers_in.content_length->value.data = p;
        r->headers_in.content_length->value.len = ngx_sprintf(p, "%O", len)
                                                  - p;
    }

    return NGX_OK;
}


/* appends to *ll the parts of the chain "in" that hold bytes [from, to) */

static ngx_int_t
ngx_http_llm_router_slice(ngx_http_request_t *r, ngx_chain_t *in, off_t from,
    off_t to, ngx_chain_t ***ll)
{
    off_t         start, size, a, z;
    ngx_buf_t    *b, *ob;
    ngx_chain_t  *cl;

    start = 0;

    for ( /* void */ ; in && from < to; in = in->next) {
        ob = in->buf;
        size = ngx_buf_size(ob);

        if (start + size <= from || size == 0) {
            start += size;
            continue;
        }

        if (start >= to) {
            break;
        }

        a = ngx_max(from, start) - start;
        z = ngx_min(to, start + size) - start;

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        *b = *ob;
        b->last_buf = 0;
        b->last_in_chain = 0;

        if (ngx_buf_in_memory(ob)) {
            b->pos = ob->pos + a;
            b->last = ob->pos + z;

            if (ob->in_file) {
                b->file_pos = ob->file_pos + a;
                b->file_last = ob->file_pos + z;
            }

        } else {
            b->file_pos = ob->file_pos + a;
            b->file_last = ob->file_pos + z;
        }

        cl = ngx_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return NGX_ERROR;
        }

        cl->buf = b;
        cl->next = NULL;
        **ll = cl;
        *ll = &cl->next;

        start += size;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_router_append(ngx_http_request_t *r, const char *data,
    size_t len, ngx_chain_t ***ll)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->last, data, len);

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;
    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
}
