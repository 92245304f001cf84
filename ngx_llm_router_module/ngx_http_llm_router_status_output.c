
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"
#include "ngx_http_llm_router_status.h"


/*
 * What both formats of llm_status share: the output (a chain of buffers
 * that grows as it is written, with JSON and label escaping) and the
 * readers of the zone's copy (a key's counters, the recent rate).
 */


/* the forecast's window: the last 30 steps of 10 s */
#define NGX_HTTP_LLM_ROUTER_RATE_WINDOW    30

/* output: 64 KB buffers; one formatted print writes at most LINE bytes */
#define NGX_HTTP_LLM_ROUTER_OUT_CHUNK      (64 * 1024)
#define NGX_HTTP_LLM_ROUTER_OUT_LINE       2048


/* the health states, by llmr_health_state() */

const char  *ngx_http_llm_router_status_states[] = {
    "healthy", "degraded", "down", "half-open"
};


/* the key sets: model (the slots shown), tier, domain */

ngx_uint_t
ngx_http_llm_router_status_key_n(ngx_http_llm_router_status_t *st,
    const char *kind)
{
    return kind[0] == 'm' ? st->nslots
           : kind[0] == 't' ? LLMR_TIER_N : LLMR_DOMAIN_N;
}


/* the counters of a key (model slot, tier, domain) in a view */

ngx_atomic_t *
ngx_http_llm_router_status_key(ngx_http_llm_router_status_t *st,
    const char *kind, ngx_uint_t i, ngx_uint_t view)
{
    ngx_http_llm_router_stat_t  *s;

    s = kind[0] == 'm' ? &st->sh->slots[i].stat
        : kind[0] == 't' ? &st->sh->tiers[i] : &st->sh->domains[i];

    return (view == NGX_HTTP_LLM_ROUTER_VIEW_FLEET) ? s->fleet : s->total;
}


/* requests, cost and reference cost of the forecast's window */

void
ngx_http_llm_router_status_rate(ngx_http_llm_router_status_t *st,
    ngx_http_llm_router_rate_sum_t *rs)
{
    time_t                       epoch, first;
    ngx_uint_t                   i;
    ngx_http_llm_router_rate_t  *rate;

    ngx_memzero(rs, sizeof(ngx_http_llm_router_rate_sum_t));

    if (st->sh->started == 0) {
        return;
    }

    epoch = st->now / NGX_HTTP_LLM_ROUTER_RATE_STEP;
    first = epoch - NGX_HTTP_LLM_ROUTER_RATE_WINDOW + 1;

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_RATE_N; i++) {
        rate = &st->sh->rate[i];

        if (rate->epoch < first || rate->epoch > epoch) {
            continue;
        }

        rs->requests += rate->requests;
        rs->cost += rate->cost / 1e6;
        rs->ref_cost += rate->ref_cost / 1e6;
    }

    /* from the window's first step, or from the first request if later */

    first = ngx_max(first * NGX_HTTP_LLM_ROUTER_RATE_STEP, st->sh->started);
    rs->window = (double) (st->now - first + 1);
}


u_char *
ngx_http_llm_router_out_reserve(ngx_http_llm_router_out_t *o, size_t n)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (o->failed) {
        return NULL;
    }

    if (o->b && (size_t) (o->b->end - o->b->last) >= n) {
        return o->b->last;
    }

    b = ngx_create_temp_buf(o->pool,
                            ngx_max(n, NGX_HTTP_LLM_ROUTER_OUT_CHUNK));
    cl = ngx_alloc_chain_link(o->pool);

    if (b == NULL || cl == NULL) {
        o->failed = 1;
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;
    *o->last = cl;
    o->last = &cl->next;
    o->b = b;

    return b->last;
}


void
ngx_http_llm_router_outf(ngx_http_llm_router_out_t *o, const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;

    p = ngx_http_llm_router_out_reserve(o, NGX_HTTP_LLM_ROUTER_OUT_LINE);
    if (p == NULL) {
        return;
    }

    va_start(args, fmt);
    last = ngx_vslprintf(p, p + NGX_HTTP_LLM_ROUTER_OUT_LINE, fmt, args);
    va_end(args);

    o->size += last - p;
    o->b->last = last;
}


void
ngx_http_llm_router_out_raw(ngx_http_llm_router_out_t *o, u_char *s,
    size_t len)
{
    u_char  *p;

    p = ngx_http_llm_router_out_reserve(o, len);
    if (p == NULL) {
        return;
    }

    o->b->last = ngx_cpymem(p, s, len);
    o->size += len;
}


/*
 * Strings from outside the configuration (model names and health reasons
 * read back from the fleet's Redis) may hold anything: bytes that are not
 * UTF-8 become U+FFFD, so that the output stays valid JSON and valid
 * Prometheus text.  Returns the length of the valid sequence at p, or 0.
 */

static size_t
ngx_http_llm_router_utf8_len(u_char *p, u_char *last)
{
    u_char    *q;
    uint32_t   c;

    if (*p < 0x80) {
        return 1;
    }

    q = p;
    c = ngx_utf8_decode(&q, last - p);

    return (c > 0x10ffff) ? 0 : (size_t) (q - p);
}


void
ngx_http_llm_router_out_json(ngx_http_llm_router_out_t *o, u_char *s,
    size_t len)
{
    u_char  *p, *start, *last;
    size_t   n;

    n = 6 * len + 2;

    p = ngx_http_llm_router_out_reserve(o, n);
    if (p == NULL) {
        return;
    }

    start = p;
    last = s + len;

    *p++ = '"';

    while (s < last) {
        n = ngx_http_llm_router_utf8_len(s, last);

        if (n == 0) {
            p = ngx_cpymem(p, "\\ufffd", 6);
            s++;
            continue;
        }

        p += llmr_json_escape((char *) p, 6 * n, (const char *) s, n);
        s += n;
    }

    *p++ = '"';

    o->size += p - start;
    o->b->last = p;
}


/*
 * A Prometheus label value: backslash, double quote and line feed
 * escaped; other control characters and bytes that are not UTF-8 are
 * replaced.
 */

void
ngx_http_llm_router_out_label(ngx_http_llm_router_out_t *o, u_char *s,
    size_t len)
{
    u_char  *p, *start, *last;
    size_t   n;

    p = ngx_http_llm_router_out_reserve(o, 3 * len);
    if (p == NULL) {
        return;
    }

    start = p;
    last = s + len;

    while (s < last) {
        n = ngx_http_llm_router_utf8_len(s, last);

        if (n > 1) {
            p = ngx_cpymem(p, s, n);
            s += n;
            continue;
        }

        switch (*s) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = *s;
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = (n == 0 || *s < 0x20 || *s == 0x7f) ? '?' : *s;
        }

        s++;
    }

    o->size += p - start;
    o->b->last = p;
}


void
ngx_http_llm_router_out_usd(ngx_http_llm_router_out_t *o, uint64_t micro)
{
    ngx_http_llm_router_outf(o, "%uL.%06uL", micro / 1000000,
                             micro % 1000000);
}
