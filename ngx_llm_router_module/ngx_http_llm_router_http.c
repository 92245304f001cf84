
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * The HTTP helpers every endpoint of the module shares: request headers,
 * a constant-time comparison of secrets, and the JSON answers (the
 * gateway's errors in the shape of the client's API).
 */


/* a request header's value, NUL-terminated (nginx keeps it so), or NULL */

u_char *
ngx_http_llm_router_header(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            return h[i].value.len ? h[i].value.data : NULL;
        }
    }
}


ngx_int_t
ngx_http_llm_router_header_value(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char     *v;
    ngx_str_t   n;

    n.data = (u_char *) name;
    n.len = ngx_strlen(name);

    v = ngx_http_llm_router_header(r, &n);
    if (v == NULL) {
        return NGX_DECLINED;
    }

    value->data = v;
    value->len = ngx_strlen(v);

    return NGX_OK;
}


/* compares secrets in a time that does not depend on where they differ */

ngx_uint_t
ngx_http_llm_router_memeq(u_char *a, u_char *b, size_t n)
{
    u_char  d;

    d = 0;

    while (n--) {
        d |= *a++ ^ *b++;
    }

    return d == 0;
}


/*
 * An error of the gateway's own, in the shape of the API the client
 * speaks (OpenAI's outside routed locations), with the request id the
 * client quotes when it reports it.
 */

ngx_int_t
ngx_http_llm_router_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *msg)
{
    int                         api;
    size_t                      len;
    ngx_buf_t                  *b;
    ngx_http_llm_router_ctx_t  *ctx;

    ctx = ngx_http_llm_router_get_ctx(r);
    api = ctx ? ctx->ep.api : LLMR_API_OPENAI;

    len = llmr_api_error_max(code, msg->len);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last += llmr_api_error(api, (int) status, code,
                              (const char *) msg->data, msg->len,
                              (char *) b->pos, len);

    if (b->last == b->pos) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_llm_router_send_json(r, status, b);
}


ngx_int_t
ngx_http_llm_router_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
