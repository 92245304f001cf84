
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_llm_router_module.h"


/*
 * The feedback loop, module side.  Every routed response carries
 * X-LLM-Request-Id; the decision behind an id (bucket, tier, model, score,
 * never text) is kept in the zone and, with llm_redis, in hourly Redis
 * hashes for a day.  "llm_feedback" takes quality reports for an id, from
 * any instance: a decision made elsewhere is looked up in Redis without
 * blocking (the request waits, the worker does not), and a report counts
 * once in the whole fleet.  Reports and the implicit signals of answers
 * add to per-bucket quality sums that the fleet shares like any counter
 * (ngx_http_llm_router_learn.c).
 */


#define NGX_HTTP_LLM_ROUTER_FB_BODY_MAX   65536
#define NGX_HTTP_LLM_ROUTER_FB_WAYS       4

/* the first entry of the id hash h's set */
#define ngx_http_llm_router_fb_set(sh, h)                                     \
    (((h) % ((sh)->fb_n / NGX_HTTP_LLM_ROUTER_FB_WAYS))                       \
     * NGX_HTTP_LLM_ROUTER_FB_WAYS)


typedef struct {
    ngx_http_request_t               *r;        /* NULL: the request died */
    ngx_http_cleanup_t               *cln;      /* the request's, for us */
    ngx_event_t                       timeout;
    ngx_http_llm_router_zone_t       *zone;
    uint64_t                          id;
    double                            quality;
    ngx_int_t                         local;    /* entry index, or -1 */
    ngx_uint_t                        bucket;
    ngx_uint_t                        tier;
} ngx_http_llm_router_fb_waiter_t;


static ngx_int_t ngx_http_llm_router_feedback_handler(ngx_http_request_t *r);

static void ngx_http_llm_router_feedback_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_router_feedback_read(ngx_http_request_t *r,
    ngx_str_t *body);
static void ngx_http_llm_router_feedback_fleet(ngx_http_request_t *r,
    ngx_http_llm_router_zone_t *zone, ngx_msec_t timeout, uint64_t id,
    double q, ngx_int_t local);
static ngx_int_t ngx_http_llm_router_feedback_list(ngx_http_request_t *r);
static ngx_int_t ngx_http_llm_router_feedback_reset(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_router_feedback_answer(ngx_http_request_t *r,
    ngx_uint_t status, const char *what);
static void ngx_http_llm_router_feedback_redis_done(redisAsyncContext *ac,
    void *reply, void *data);
static void ngx_http_llm_router_feedback_timeout(ngx_event_t *ev);
static void ngx_http_llm_router_feedback_cleanup(void *data);
static ngx_int_t ngx_http_llm_router_fb_find(ngx_http_llm_router_shctx_t *sh,
    uint64_t id);


char *
ngx_http_llm_router_feedback(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_loc_conf_t *llcf = conf;

    ngx_str_t                        *value;
    ngx_uint_t                        i;
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_llm_router_main_conf_t  *lmcf;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "secret=", 7) == 0
            && value[i].len > 7)
        {
            llcf->feedback_secret.data = value[i].data + 7;
            llcf->feedback_secret.len = value[i].len - 7;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"llm_feedback\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    /*
     * Reports may reach any instance: with an endpoint, the decisions are
     * shared through Redis; without one, nothing would ever look them up
     * there, and a busy gateway would write each of them for nothing.
     */

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_router_module);
    lmcf->feedback = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_llm_router_feedback_handler;

    return NGX_CONF_OK;
}


uint64_t
ngx_http_llm_router_fb_hash(u_char *data, size_t len)
{
    uint64_t  h;

    /* 64-bit FNV-1a: ids are random, collisions are not a concern */

    h = 0xcbf29ce484222325ULL;

    while (len--) {
        h ^= *data++;
        h *= 0x100000001b3ULL;
    }

    return h ? h : 1;
}


/*
 * When the id goes out with the answer's header: the request's set of the
 * table is fetched into the cache now, for fb_record() in the log phase.
 * The table is large and its sets random, and the load of a set (a cache
 * miss, and a TLB miss on a zone of 4 KB pages) was most of the log
 * phase's time.
 */

void
ngx_http_llm_router_fb_prefetch(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_str_t *id)
{
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_shctx_t      *sh;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (lmcf->shm_zone == NULL) {
        return;
    }

    zone = lmcf->shm_zone->data;
    sh = zone->sh;

    if (sh->fb_n == 0) {
        return;
    }

    if (ctx->fb_hash == 0) {
        ctx->fb_hash = ngx_http_llm_router_fb_hash(id->data, id->len);
    }

#if (defined __GNUC__)
    __builtin_prefetch(&sh->fb[ngx_http_llm_router_fb_set(sh, ctx->fb_hash)],
                       1);
#endif
}


/*
 * The log phase: the decision behind a served request, by its id.  A
 * small set-associative table; the oldest of a set gives way.
 */

void
ngx_http_llm_router_fb_record(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_zone_t *zone,
    ngx_uint_t redis)
{
    ngx_str_t                        id;
    uint64_t                         h;
    ngx_uint_t                       i, set, victim;
    ngx_http_llm_router_shctx_t     *sh;
    ngx_http_llm_router_fb_entry_t  *e;

    sh = zone->sh;

    if (sh->fb_n == 0 || ngx_http_llm_router_request_id(r, &id) != NGX_OK) {
        return;
    }

    /* the id's hash, as the adjustment or fb_prefetch() made it */

    h = ctx->fb_hash ? ctx->fb_hash
                     : ngx_http_llm_router_fb_hash(id.data, id.len);
    set = ngx_http_llm_router_fb_set(sh, h);
    victim = set;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = set; i < set + NGX_HTTP_LLM_ROUTER_FB_WAYS; i++) {
        if (sh->fb[i].id == 0 || sh->fb[i].id == h) {
            victim = i;
            break;
        }

        if (sh->fb[i].time < sh->fb[victim].time) {
            victim = i;
        }
    }

    e = &sh->fb[victim];

    e->id = h;
    e->time = (uint32_t) ngx_time();
    e->score = (uint16_t) (ctx->cls.score * 10000);
    e->bucket = (uint8_t) ctx->bucket;
    e->tier = (uint8_t) ctx->dec.tier;
    e->slot = 0;
    e->rated = 0;
    e->unsent = redis ? 1 : 0;

    if (zone->model_slot[ctx->dec.model]) {
        e->slot = (uint8_t) (zone->model_slot[ctx->dec.model] - sh->slots + 1);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* the caller holds the mutex */

static ngx_int_t
ngx_http_llm_router_fb_find(ngx_http_llm_router_shctx_t *sh, uint64_t id)
{
    ngx_uint_t  i, set;

    if (sh->fb_n == 0) {
        return -1;
    }

    set = ngx_http_llm_router_fb_set(sh, id);

    for (i = set; i < set + NGX_HTTP_LLM_ROUTER_FB_WAYS; i++) {
        if (sh->fb[i].id == id) {
            return i;
        }
    }

    return -1;
}


static ngx_int_t
ngx_http_llm_router_feedback_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_str_t                        secret;
    ngx_http_llm_router_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);

    if (llcf->feedback_secret.len) {
        if (ngx_http_llm_router_header_value(r, "X-LLM-Feedback-Secret",
                                             &secret) != NGX_OK
            || secret.len != llcf->feedback_secret.len
            || !ngx_http_llm_router_memeq(secret.data,
                                          llcf->feedback_secret.data,
                                          secret.len))
        {
            if (ngx_http_discard_request_body(r) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_llm_router_feedback_answer(r, NGX_HTTP_FORBIDDEN,
                "{\"error\":{\"code\":\"llm_forbidden\",\"message\":"
                "\"a valid X-LLM-Feedback-Secret is required\"}}");
        }
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_llm_router_feedback_list(r);
    }

    if (r->method & NGX_HTTP_DELETE) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_llm_router_feedback_reset(r);
    }

    if (!(r->method & NGX_HTTP_POST)) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (r->headers_in.content_length_n > NGX_HTTP_LLM_ROUTER_FB_BODY_MAX) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_llm_router_feedback_answer(r,
            NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
            "{\"error\":{\"code\":\"llm_body_too_large\",\"message\":"
            "\"feedback bodies are at most 64 KB\"}}");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                          ngx_http_llm_router_feedback_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_llm_router_feedback_body(ngx_http_request_t *r)
{
    char                              err[128];
    double                            q;
    uint64_t                          id;
    ngx_int_t                         rc, local;
    ngx_str_t                         body;
    llmr_feedback_t                   fb;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_shctx_t      *sh;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (lmcf->shm_zone == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_SERVICE_UNAVAILABLE);
        return;
    }

    zone = lmcf->shm_zone->data;
    sh = zone->sh;

    rc = ngx_http_llm_router_feedback_read(r, &body);

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r,
            ngx_http_llm_router_feedback_answer(r,
                NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                "{\"error\":{\"code\":\"llm_body_too_large\",\"message\":"
                "\"feedback bodies are at most 64 KB\"}}"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    err[0] = '\0';

    if (llmr_feedback_parse((char *) body.data, body.len, &fb, err,
                            sizeof(err))
        != LLMR_OK)
    {
        ngx_http_finalize_request(r,
            ngx_http_llm_router_feedback_error(r, NGX_HTTP_BAD_REQUEST,
                                               "llm_invalid_feedback", err));
        return;
    }

    q = llmr_feedback_quality(&fb);
    id = ngx_http_llm_router_fb_hash((u_char *) fb.request_id, fb.id_len);

    ngx_shmtx_lock(&zone->shpool->mutex);
    local = ngx_http_llm_router_fb_find(sh, id);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (lmcf->redis == NULL
        || sh->redis_state != NGX_HTTP_LLM_ROUTER_REDIS_UP)
    {
        /*
         * This instance alone: its own decisions, counted once here.
         * Without Redis that is all there is; with Redis down a decision
         * made elsewhere cannot be found now.
         */

        if (local < 0 && lmcf->redis) {
            ngx_http_finalize_request(r,
                ngx_http_llm_router_feedback_error(r,
                    NGX_HTTP_SERVICE_UNAVAILABLE, "llm_feedback_unavailable",
                    "the fleet's decisions cannot be reached now; retry"));
            return;
        }

        ngx_http_finalize_request(r,
            ngx_http_llm_router_feedback_apply(r, zone, lmcf, local, id, q,
                                               -1, -1));
        return;
    }

    ngx_http_llm_router_feedback_fleet(r, zone, lmcf->redis->timeout, id, q,
                                       local);
}


/*
 * The body, in one piece (at most 64 KB, read back if spooled): NGX_OK,
 * NGX_DECLINED when it is too large, NGX_ERROR.
 */

static ngx_int_t
ngx_http_llm_router_feedback_read(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *buf, *p;
    size_t        len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    len = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            len += ngx_buf_size(cl->buf);
        }
    }

    if (len > NGX_HTTP_LLM_ROUTER_FB_BODY_MAX) {
        return NGX_DECLINED;
    }

    buf = ngx_pnalloc(r->pool, len + 1);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    p = buf;

    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);

        } else if (b->in_file) {
            if (ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos)
                != (ssize_t) (b->file_last - b->file_pos))
            {
                return NGX_ERROR;
            }

            p += b->file_last - b->file_pos;
        }
    }

    body->data = buf;
    body->len = p - buf;

    return NGX_OK;
}


/*
 * A report the fleet is asked about: one lookup, which also makes it
 * count once; the request waits for the answer.
 */

static void
ngx_http_llm_router_feedback_fleet(ngx_http_request_t *r,
    ngx_http_llm_router_zone_t *zone, ngx_msec_t timeout, uint64_t id,
    double q, ngx_int_t local)
{
    ngx_http_cleanup_t               *cln;
    ngx_http_llm_router_fb_waiter_t  *w;

    w = ngx_calloc(sizeof(ngx_http_llm_router_fb_waiter_t),
                   r->connection->log);
    if (w == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    w->r = r;
    w->zone = zone;
    w->id = id;
    w->quality = q;
    w->local = local;

    if (ngx_http_llm_router_redis_feedback(id, local >= 0,
                                     ngx_http_llm_router_feedback_redis_done,
                                     w)
        != NGX_OK)
    {
        ngx_free(w);
        ngx_http_finalize_request(r,
            ngx_http_llm_router_feedback_error(r,
                NGX_HTTP_SERVICE_UNAVAILABLE, "llm_feedback_unavailable",
                "the fleet's decisions cannot be reached now; retry"));
        return;
    }

    /* the request waits for the answer; the waiter outlives it if need be */

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        w->r = NULL;
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_llm_router_feedback_cleanup;
    cln->data = w;
    w->cln = cln;

    /*
     * The body handler returns without finalizing: the reference it holds
     * keeps the request until the reply (or the timeout) finalizes it.
     */

    w->timeout.handler = ngx_http_llm_router_feedback_timeout;
    w->timeout.data = w;
    w->timeout.log = r->connection->log;
    ngx_add_timer(&w->timeout, timeout);
}


/*
 * The fleet's answer: {"ok", "bucket|tier|slot|score"} (a decision made
 * elsewhere), {"ok"} (known here, first report), {"dup"} or {"unknown"};
 * NULL when the connection went away.  The waiter is freed here, always.
 */

static void
ngx_http_llm_router_feedback_redis_done(redisAsyncContext *ac, void *r,
    void *data)
{
    ngx_http_llm_router_fb_waiter_t *w = data;

    u_char                           *p, *last;
    ngx_int_t                         bucket, tier, rc;
    redisReply                       *reply, *s;
    ngx_http_request_t               *req;
    ngx_http_llm_router_main_conf_t  *lmcf;

    reply = r;
    req = w->r;

    if (w->timeout.timer_set) {
        ngx_del_timer(&w->timeout);
    }

    /* the request's cleanup must not find the waiter once it is freed */

    if (w->cln) {
        w->cln->handler = NULL;
        w->cln = NULL;
    }

    if (req == NULL) {

        /* the client went away, or the lookup timed out: nothing to do */

        ngx_free(w);
        return;
    }

    w->r = NULL;
    lmcf = ngx_http_get_module_main_conf(req, ngx_http_llm_router_module);

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements == 0
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        rc = ngx_http_llm_router_feedback_error(req,
                 NGX_HTTP_SERVICE_UNAVAILABLE, "llm_feedback_unavailable",
                 "the fleet's decisions cannot be reached now; retry");
        goto done;
    }

    s = reply->element[0];

    if (s->len == 3 && ngx_strncmp(s->str, "dup", 3) == 0) {
        (void) ngx_atomic_fetch_add(&w->zone->sh->feedback_duplicate, 1);
        rc = ngx_http_llm_router_feedback_answer(req, NGX_HTTP_OK,
                                                 "{\"status\":\"duplicate\"}");
        goto done;
    }

    if (s->len != 2 || ngx_strncmp(s->str, "ok", 2) != 0) {
        (void) ngx_atomic_fetch_add(&w->zone->sh->feedback_unknown, 1);
        rc = ngx_http_llm_router_feedback_error(req, NGX_HTTP_NOT_FOUND,
                 "llm_unknown_request_id",
                 "no routing decision is known for this request_id (they "
                 "are kept for a day)");
        goto done;
    }

    bucket = -1;
    tier = -1;

    if (reply->elements > 1 && reply->element[1]->type == REDIS_REPLY_STRING)
    {
        /* "bucket|tier|..." from another instance */

        p = (u_char *) reply->element[1]->str;
        last = p + reply->element[1]->len;

        bucket = ngx_atoi(p, ngx_strlchr(p, last, '|')
                             ? ngx_strlchr(p, last, '|') - p : last - p);
        p = ngx_strlchr(p, last, '|');

        if (p) {
            p++;
            tier = ngx_atoi(p, ngx_strlchr(p, last, '|')
                               ? ngx_strlchr(p, last, '|') - p : last - p);
        }
    }

    rc = ngx_http_llm_router_feedback_apply(req, w->zone, lmcf, w->local,
                                            w->id, w->quality, bucket, tier);

done:

    ngx_free(w);

    ngx_http_finalize_request(req, rc);
    ngx_http_run_posted_requests(req->connection);
}


static void
ngx_http_llm_router_feedback_timeout(ngx_event_t *ev)
{
    ngx_http_llm_router_fb_waiter_t *w = ev->data;

    ngx_http_request_t  *r;

    r = w->r;

    if (r == NULL) {
        return;
    }

    /* the reply may still come: then it only frees the waiter */

    w->r = NULL;

    ngx_http_finalize_request(r,
        ngx_http_llm_router_feedback_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
            "llm_feedback_unavailable",
            "the fleet's decisions did not answer in time; retry"));
    ngx_http_run_posted_requests(r->connection);
}


static void
ngx_http_llm_router_feedback_cleanup(void *data)
{
    ngx_http_llm_router_fb_waiter_t *w = data;

    /* the request is gone: the waiter waits for hiredis alone */

    if (w->timeout.timer_set) {
        ngx_del_timer(&w->timeout);
    }

    w->r = NULL;
    w->cln = NULL;
}


/*
 * Counts a report: the decision is the local entry, or the one the fleet
 * returned (bucket and tier >= 0).  Without Redis, "rated" in the entry
 * makes it count once.
 */

ngx_int_t
ngx_http_llm_router_feedback_apply(ngx_http_request_t *r,
    ngx_http_llm_router_zone_t *zone, ngx_http_llm_router_main_conf_t *lmcf,
    ngx_int_t local, uint64_t id, double quality, ngx_int_t bucket,
    ngx_int_t tier)
{
    ngx_uint_t                       dup;
    ngx_http_llm_router_fb_entry_t  *e;

    dup = 0;

    if (local >= 0 && bucket < 0) {
        ngx_shmtx_lock(&zone->shpool->mutex);

        e = &zone->sh->fb[local];

        if (e->id != id) {
            /* recycled meanwhile */
            local = -1;

        } else {
            dup = (lmcf->redis == NULL && e->rated);
            e->rated = 1;
            bucket = e->bucket;
            tier = e->tier;
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);
    }

    if (bucket < 0 || tier < 0) {
        (void) ngx_atomic_fetch_add(&zone->sh->feedback_unknown, 1);
        return ngx_http_llm_router_feedback_error(r, NGX_HTTP_NOT_FOUND,
                   "llm_unknown_request_id",
                   "no routing decision is known for this request_id");
    }

    if (dup) {
        (void) ngx_atomic_fetch_add(&zone->sh->feedback_duplicate, 1);
        return ngx_http_llm_router_feedback_answer(r, NGX_HTTP_OK,
                                                   "{\"status\":\"duplicate\"}");
    }

    (void) ngx_atomic_fetch_add(&zone->sh->feedback_explicit, 1);

    ngx_http_llm_router_learn_add(zone, lmcf, bucket, tier, quality, 1.0,
                                  r->connection->log);

    return ngx_http_llm_router_feedback_answer(r, NGX_HTTP_OK,
                                               "{\"status\":\"recorded\"}");
}


/* GET: every bucket with samples, its sums per tier and its offset */

static ngx_int_t
ngx_http_llm_router_feedback_list(ngx_http_request_t *r)
{
    double                            w, q;
    u_char                           *p, *last;
    ngx_buf_t                        *b;
    ngx_uint_t                        k, t, n, fleet, shown;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_learn_t      *l;
    ngx_http_llm_router_shctx_t      *sh;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (lmcf->shm_zone == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    zone = lmcf->shm_zone->data;
    sh = zone->sh;
    fleet = (lmcf->redis && sh->fleet_known);

    b = ngx_create_temp_buf(r->pool, 1024 + NGX_HTTP_LLM_ROUTER_BUCKETS
                                            * (256 + LLMR_TIER_N * 96));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->pos;
    last = b->end;

    p = ngx_slprintf(p, last, "{\"enabled\":%s,\"source\":\"%s\","
                     "\"reports\":{\"explicit\":%uA,\"implicit\":%uA,"
                     "\"duplicate\":%uA,\"unknown\":%uA},\"buckets\":[",
                     lmcf->learn_enabled ? "true" : "false",
                     fleet ? "fleet" : "instance",
                     sh->feedback_explicit, sh->feedback_implicit,
                     sh->feedback_duplicate, sh->feedback_unknown);

    shown = 0;

    for (k = 0; k < NGX_HTTP_LLM_ROUTER_BUCKETS; k++) {
        n = 0;

        for (t = 0; t < LLMR_TIER_N; t++) {
            l = &sh->learn[k][t];
            n += ngx_http_llm_router_learn_sum(l, 0, fleet);
        }

        if (n == 0 && sh->offset[k] == 0) {
            continue;
        }

        p = ngx_slprintf(p, last, "%s{\"domain\":\"%s\",\"tier\":\"%s\","
                         "\"offset\":%d,\"shift\":%.4f,\"routes_to\":\"%s\","
                         "\"served\":{",
                         shown++ ? "," : "",
                         llmr_domain_name(k / LLMR_TIER_N),
                         llmr_tier_name(k % LLMR_TIER_N), sh->offset[k],
                         (double) sh->shift[k],
                         llmr_tier_name(ngx_max(0, ngx_min(LLMR_TIER_N - 1,
                                       (int) (k % LLMR_TIER_N)
                                       + sh->offset[k]))));

        n = 0;

        for (t = 0; t < LLMR_TIER_N; t++) {
            l = &sh->learn[k][t];

            w = (double) ngx_http_llm_router_learn_sum(l, 0, fleet) / 1000;
            q = (double) ngx_http_llm_router_learn_sum(l, 1, fleet) / 1000;

            if (w <= 0) {
                continue;
            }

            p = ngx_slprintf(p, last, "%s\"%s\":{\"samples\":%.3f,"
                             "\"quality\":%.4f}", n++ ? "," : "",
                             llmr_tier_name(t), w, q / w);
        }

        p = ngx_slprintf(p, last, "}}");
    }

    b->last = ngx_slprintf(p, last, "]}\n");

    return ngx_http_llm_router_send_json(r, NGX_HTTP_OK, b);
}


/*
 * DELETE: forgets what was learned, here and in the fleet's sums.  It
 * needs "X-LLM-Confirm: reset" (and the secret, when one is set).
 */

static ngx_int_t
ngx_http_llm_router_feedback_reset(ngx_http_request_t *r)
{
    ngx_str_t                         confirm;
    ngx_uint_t                        k, t, c;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_learn_t      *l;
    ngx_http_llm_router_main_conf_t  *lmcf;

    if (ngx_http_llm_router_header_value(r, "X-LLM-Confirm", &confirm)
        != NGX_OK
        || confirm.len != 5 || ngx_strncmp(confirm.data, "reset", 5) != 0)
    {
        return ngx_http_llm_router_feedback_error(r, NGX_HTTP_BAD_REQUEST,
                   "llm_confirm_reset",
                   "send \"X-LLM-Confirm: reset\" to forget what was learned");
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (lmcf->shm_zone == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    zone = lmcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (k = 0; k < NGX_HTTP_LLM_ROUTER_BUCKETS; k++) {
        for (t = 0; t < LLMR_TIER_N; t++) {
            l = &zone->sh->learn[k][t];

            /* what is sent stays sent: the fleet's sums are reset apart */

            for (c = 0; c < 2; c++) {
                l->acked[c] = l->total[c] - l->pending[c];
                l->fleet[c] = 0;
            }
        }

        zone->sh->offset[k] = 0;
        zone->sh->shift[k] = 0;
    }

    zone->sh->learn_reset = 1;
    ngx_memzero(zone->sh->proposed, sizeof(zone->sh->proposed));

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "llm_router: learned offsets reset by %V",
                  &r->connection->addr_text);

    return ngx_http_llm_router_feedback_answer(r, NGX_HTTP_OK,
                                               "{\"status\":\"reset\"}");
}


ngx_int_t
ngx_http_llm_router_feedback_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *msg)
{
    ngx_str_t  m;

    m.data = (u_char *) msg;
    m.len = ngx_strlen(msg);

    return ngx_http_llm_router_send_error(r, status, code, &m);
}


ngx_int_t
ngx_http_llm_router_feedback_answer(ngx_http_request_t *r, ngx_uint_t status,
    const char *what)
{
    ngx_buf_t  *b;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) what;
    b->last = b->pos + ngx_strlen(what);
    b->memory = 1;

    return ngx_http_llm_router_send_json(r, status, b);
}
