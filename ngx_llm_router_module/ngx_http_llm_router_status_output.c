
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


/*
 * The suggestions' basis from the zone's copy: this instance's counters
 * since the start, the forecast's window, the feedback sums by class and
 * tier served (the fleet's with Redis, as "quality"), the ring of recent
 * decisions for which model serves each tier, and the budgets' current
 * periods (the first LLMR_SUGGEST_BUDGETS).
 */

void
ngx_http_llm_router_status_basis(ngx_http_llm_router_status_t *st,
    llmr_suggest_basis_t *b)
{
    uint64_t                             i, n;
    ngx_uint_t                           k, c, t, d;
    ngx_atomic_t                        *v;
    llmr_suggest_model_t                *m;
    llmr_suggest_budget_t               *bg;
    ngx_http_llm_router_slot_t          *slot;
    ngx_http_llm_router_shctx_t         *sh;
    ngx_http_llm_router_rate_sum_t       rs;
    ngx_http_llm_router_learn_t         *l;
    ngx_http_llm_router_decision_t      *dc;
    ngx_http_llm_router_budget_entry_t  *e;

    sh = st->sh;

    ngx_memzero(b, sizeof(llmr_suggest_basis_t));

    ngx_http_llm_router_status_rate(st, &rs);

    b->window = rs.window;
    b->window_requests = rs.requests;
    b->requests = sh->all.total[NGX_HTTP_LLM_ROUTER_C_REQUESTS];
    b->escalations = sh->escalations;

    for (t = 0; t < LLMR_TIER_N; t++) {
        v = sh->tiers[t].total;

        b->tiers[t].requests = v[NGX_HTTP_LLM_ROUTER_C_REQUESTS];
        b->tiers[t].input_tokens = v[NGX_HTTP_LLM_ROUTER_C_INPUT_TOKENS];
        b->tiers[t].output_tokens = v[NGX_HTTP_LLM_ROUTER_C_OUTPUT_TOKENS];
        b->tiers[t].cost = v[NGX_HTTP_LLM_ROUTER_C_COST] / 1e6;
    }

    /* a bucket is a domain and the class's tier */

    for (d = 0; d < LLMR_DOMAIN_N; d++) {
        for (c = 0; c < LLMR_TIER_N; c++) {
            k = d * LLMR_TIER_N + c;

            for (t = 0; t < LLMR_TIER_N; t++) {
                l = &sh->learn[k][t];

                b->weight[c][t] += (double) ngx_http_llm_router_learn_sum(l,
                                                           0, st->fleet)
                                   / 1000;
                b->quality[c][t] += (double) ngx_http_llm_router_learn_sum(l,
                                                           1, st->fleet)
                                    / 1000;
            }
        }
    }

    for (k = 0; k < st->nslots && b->nmodels < LLMR_SUGGEST_MODELS; k++) {
        slot = &sh->slots[k];
        v = slot->stat.total;

        if (st->model[k] == NULL && v[NGX_HTTP_LLM_ROUTER_C_REQUESTS] == 0) {
            continue;
        }

        m = &b->models[b->nmodels++];

        ngx_memcpy(m->name, slot->name,
                   ngx_min(slot->len, (size_t) LLMR_NAME_MAX));
        m->name[ngx_min(slot->len, (size_t) LLMR_NAME_MAX)] = '\0';

        if (st->model[k]) {
            m->configured = 1;
            m->tier_lo = st->model[k]->tier_lo;
            m->tier_hi = st->model[k]->tier_hi;
            m->price_in = st->model[k]->price_in;
            m->price_out = st->model[k]->price_out;
        }

        m->requests = v[NGX_HTTP_LLM_ROUTER_C_REQUESTS];
        m->cost = v[NGX_HTTP_LLM_ROUTER_C_COST] / 1e6;

        /* the ring names slots; this basis keeps the shown ones only */

        n = ngx_min(sh->ndecisions, (uint64_t) NGX_HTTP_LLM_ROUTER_DECISIONS);

        for (i = 0; i < n; i++) {
            dc = &sh->decisions[i];

            if (dc->slot == (int16_t) k && dc->tier < LLMR_TIER_N) {
                m->recent[dc->tier]++;
            }
        }
    }

    for (k = 0; k < NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES
                && b->nbudgets < LLMR_SUGGEST_BUDGETS; k++)
    {
        e = &sh->budget_entries[k];

        if (e->id == 0 || e->period_start + e->period <= st->now) {
            continue;
        }

        bg = &b->budgets[b->nbudgets++];

        if (e->keyhash) {
            ngx_snprintf((u_char *) bg->name, sizeof(bg->name) - 1,
                         "%*s:%016xL%Z", e->name_len, e->name, e->keyhash);

        } else {
            ngx_snprintf((u_char *) bg->name, sizeof(bg->name) - 1,
                         "%*s%Z", e->name_len, e->name);
        }

        bg->limit = e->limit / 1e6;
        bg->spent = e->spent / 1e6;
        bg->period = e->period;
        bg->elapsed = st->now - e->period_start;
    }
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
