
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/ioctl.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/sds.h>

#include "ngx_http_llm_router_module.h"


/*
 * Runs the callbacks of the replies hiredis's reader holds: exported by
 * hiredis 0.14 (redisAsyncHandleRead's second half) and declared in
 * async.h from 1.0 on.  The TLS transport feeds the reader itself.
 */
void redisProcessCallbacks(redisAsyncContext *ac);


/*
 * Each worker keeps one Redis connection, driven by nginx's event loop
 * through hiredis's async API.  Nothing on the request path waits for it:
 * a periodic timer flushes the instance's deltas from shared memory in one
 * script call and reads the fleet totals back.  Redis being down, slow or
 * gone only delays the flush.
 */


#define NGX_HTTP_LLM_ROUTER_RD_DISCONNECTED  0
#define NGX_HTTP_LLM_ROUTER_RD_CONNECTING    1
#define NGX_HTTP_LLM_ROUTER_RD_READY         2
#define NGX_HTTP_LLM_ROUTER_RD_RESOLVING     3

#define NGX_HTTP_LLM_ROUTER_READS_MAX        64
#define NGX_HTTP_LLM_ROUTER_MAX_REPLY        (4 * 1024 * 1024)

/* Cluster redirections followed in a row before the next tick */
#define NGX_HTTP_LLM_ROUTER_REDIRECTS_MAX    5

/* what a reply's objects are counted at, besides their strings */
#define NGX_HTTP_LLM_ROUTER_REPLY_OBJECT     (sizeof(redisReply))

/* prefix=, every key's hash tag: the buffers keys go in allow for 64 */
#define NGX_HTTP_LLM_ROUTER_PREFIX_MAX       64

/* a number in a script's text */
#define ngx_http_llm_router_lua_n(n)         ngx_http_llm_router_lua_n_(n)
#define ngx_http_llm_router_lua_n_(n)        #n

/*
 * The fleet's decisions are kept in hourly hashes for 25 hours, a day
 * and the hour under way, so that a report a day late still finds its
 * decision; a report's marker is kept as long, so that it counts once
 * for as long as it can count at all.  The feedback script looks an id
 * up in the 25 hashes: it takes 26 keys, the marker first.
 */
#define NGX_HTTP_LLM_ROUTER_DEC_HOURS        25
#define NGX_HTTP_LLM_ROUTER_DEC_TTL          90000      /* s, 25 hours */
#define NGX_HTTP_LLM_ROUTER_FB_NKEYS         26         /* 1 + DEC_HOURS */

/*
 * The feedback command: EVAL, the script, numkeys, the keys, 2 ARGV; its
 * text, each key (or the id) the prefix and at most 32 bytes more.
 */
#define NGX_HTTP_LLM_ROUTER_FB_ARGC                                        \
    (3 + NGX_HTTP_LLM_ROUTER_FB_NKEYS + 2)
#define NGX_HTTP_LLM_ROUTER_FB_TEXT                                        \
    (NGX_HTTP_LLM_ROUTER_FB_NKEYS * (NGX_HTTP_LLM_ROUTER_PREFIX_MAX + 32))

/*
 * A batch's marker outlives any resend of the batch: a day.  The fleet's
 * "down until" entries are dropped an hour after they passed.
 */
#define NGX_HTTP_LLM_ROUTER_BATCH_TTL        86400      /* s */
#define NGX_HTTP_LLM_ROUTER_HEALTH_KEEP      3600000    /* ms */

/*
 * Decisions go to their hash by HSET calls of at most 2000 arguments:
 * unpack() fails past the Lua C stack's limit (8000 values in the Lua
 * 5.1 of Redis).
 */
#define NGX_HTTP_LLM_ROUTER_HSET_ARGS        2000

/*
 * The flush command: EVAL, the script and numkeys, then the script's
 * KEYS[1..4] and ARGV[1..6] (described above it), the batch's pairs, and
 * per budget key asking for a lease the key and its "want limit ttl".
 */
#define NGX_HTTP_LLM_ROUTER_FLUSH_KEYS       4
#define NGX_HTTP_LLM_ROUTER_FLUSH_ARGC                                     \
    (3 + NGX_HTTP_LLM_ROUTER_FLUSH_KEYS + 6)
#define NGX_HTTP_LLM_ROUTER_LEASE_ARGC       4

/*
 * The flush's own text, besides one copy of the prefix: the marker's and
 * the decisions' keys (with the second copy: PREFIX_MAX bytes at most)
 * and seven numbers; a lease's budget key and three numbers.
 */
#define NGX_HTTP_LLM_ROUTER_FLUSH_TEXT       256
#define NGX_HTTP_LLM_ROUTER_LEASE_TEXT       160


typedef struct {
    redisAsyncContext                  *ac;
    ngx_connection_t                   *c;
    ngx_event_t                         tick;       /* flush, reconnect */
    ngx_event_t                         timeout;    /* connect, command */
    ngx_event_t                         drain;      /* flush at exit */
    ngx_uint_t                          state;
    ngx_pool_t                          *pool;      /* the batch's */
    ngx_http_llm_router_batch_t         batch;
    ngx_http_llm_router_zone_t         *zone;
    ngx_http_llm_router_redis_conf_t   *conf;
    ngx_log_t                          *log;
    ngx_uint_t                          flushing;   /* a batch in flight */
    ngx_uint_t                          exiting;
    ngx_uint_t                          drain_tries;
    size_t                              reply_size; /* the reply being read */
    ngx_uint_t                          reply_over; /* it passed max_reply */
    ngx_resolver_ctx_t                 *resolving;  /* the name's lookup */
    u_char                              addr[NGX_SOCKADDR_STRLEN + 1];
    ngx_int_t                           addr_port;
    ngx_uint_t                          asking;     /* a sentinel, now */
    ngx_uint_t                          waiting;    /* for a replica's copy
                                                       of the batch */
    ngx_uint_t                          unreplicated;   /* said once */
    ngx_uint_t                          sentinel;   /* the one to ask */
    ngx_event_t                         primary;    /* connect to it */
    ngx_str_t                           tls_name;   /* what the server's
                                                       certificate names */
    ngx_uint_t                          cluster_ask;    /* ASKING first */
    ngx_uint_t                          redirects;  /* MOVED/ASK in a row */
} ngx_http_llm_router_redis_t;


static void ngx_http_llm_router_redis_connect(ngx_http_llm_router_redis_t *rd);
static void ngx_http_llm_router_redis_resolved(ngx_resolver_ctx_t *ctx);
static void ngx_http_llm_router_redis_open(ngx_http_llm_router_redis_t *rd,
    const char *host, ngx_int_t port);
static void ngx_http_llm_router_redis_sentinel_done(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_llm_router_redis_primary(ngx_event_t *ev);
static void ngx_http_llm_router_redis_wait_done(redisAsyncContext *ac,
    void *r, void *privdata);
static ngx_int_t ngx_http_llm_router_redis_redirect(
    ngx_http_llm_router_redis_t *rd, redisReply *reply);

static char *ngx_http_llm_router_redis_address(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *addr);
static ngx_int_t ngx_http_llm_router_redis_param(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *v);
static char *ngx_http_llm_router_redis_keys(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc);
static char *ngx_http_llm_router_redis_sentinels(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *list);
static void ngx_http_llm_router_redis_close(ngx_http_llm_router_redis_t *rd,
    const char *why);
static void ngx_http_llm_router_redis_tick(ngx_event_t *ev);
static void ngx_http_llm_router_redis_timeout(ngx_event_t *ev);
static void ngx_http_llm_router_redis_drain(ngx_event_t *ev);
static ngx_int_t ngx_http_llm_router_redis_flush(
    ngx_http_llm_router_redis_t *rd);
static ngx_int_t ngx_http_llm_router_redis_flush_argv(
    ngx_http_llm_router_redis_t *rd, char ***argvp, size_t **argvlenp,
    ngx_uint_t *argcp);
static void ngx_http_llm_router_redis_flush_done(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_llm_router_redis_fleet_read(
    ngx_http_llm_router_redis_t *rd, redisReply *counters,
    redisReply *health);
static void ngx_http_llm_router_redis_auth_done(redisAsyncContext *ac,
    void *r, void *privdata);
static ngx_int_t ngx_http_llm_router_redis_auth(
    ngx_http_llm_router_redis_t *rd, ngx_str_t *user, ngx_str_t *password);
static ngx_int_t ngx_http_llm_router_redis_user(ngx_str_t *v, size_t skip,
    ngx_str_t *user);
static ngx_int_t ngx_http_llm_router_redis_password(ngx_conf_t *cf,
    ngx_str_t *v, size_t skip, ngx_str_t *secret);
static void ngx_http_llm_router_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_llm_router_redis_disconnected(
    const redisAsyncContext *ac, int status);
static void ngx_http_llm_router_redis_state(ngx_http_llm_router_redis_t *rd,
    ngx_uint_t state, const char *error);
static void ngx_http_llm_router_redis_read(ngx_event_t *ev);
static void ngx_http_llm_router_redis_write(ngx_event_t *ev);
static ngx_uint_t ngx_http_llm_router_redis_closing(
    ngx_http_llm_router_redis_t *rd, ngx_connection_t *c);
static void ngx_http_llm_router_redis_tls_read(ngx_event_t *ev);
static void ngx_http_llm_router_redis_tls_write(ngx_event_t *ev);
static void ngx_http_llm_router_redis_tls_ready(ngx_connection_t *c);
static void ngx_http_llm_router_redis_tls_flush(
    ngx_http_llm_router_redis_t *rd);
static void ngx_http_llm_router_redis_add_read(void *privdata);
static void ngx_http_llm_router_redis_del_read(void *privdata);
static void ngx_http_llm_router_redis_add_write(void *privdata);
static void ngx_http_llm_router_redis_del_write(void *privdata);
static void ngx_http_llm_router_redis_cleanup(void *privdata);
static ngx_int_t ngx_http_llm_router_reply_count(const redisReadTask *task,
    size_t size);
static void *ngx_http_llm_router_reply_string(const redisReadTask *task,
    char *str, size_t len);
static void *ngx_http_llm_router_reply_array(const redisReadTask *task,
    int elements);
static void *ngx_http_llm_router_reply_integer(const redisReadTask *task,
    long long value);
static void *ngx_http_llm_router_reply_nil(const redisReadTask *task);
static void ngx_http_llm_router_reply_free(void *reply);


/*
 * KEYS[1] the fleet counters, KEYS[2] this batch's marker, KEYS[3] the
 * fleet's health, KEYS[4] this hour's decisions, KEYS[5..] the budget
 * keys asking for a lease.  ARGV[1] now (unix ms), ARGV[2] the number of
 * counter pairs, ARGV[3] of health pairs, ARGV[4] of decision pairs,
 * ARGV[5] 1 to forget what was learned, ARGV[6] the number of learned
 * offsets proposed; then the field/delta pairs, the "model"
 * "until|reason" pairs, the "id" "decision" pairs, the "o|bucket" "offset"
 * pairs (set as they are: the fleet's value is the last proposed), and a
 * "want limit ttl" triple per budget key.
 *
 * The deltas apply once: a resent batch finds its marker.  "down until"
 * keeps the latest value; entries an hour in the past are dropped.
 * Decisions stay a day.  A lease grants at most what is left of the
 * limit, atomically; a lease asked again after a lost answer only leaves
 * money unused.  Every key shares the prefix's hash tag (one Cluster
 * slot).  Returns {counters, health, {grant, granted in total, ...}}.
 */

static ngx_str_t  ngx_http_llm_router_flush_script = ngx_string(
    "local n = tonumber(ARGV[2]) "
    "local m = tonumber(ARGV[3]) "
    "local d = tonumber(ARGV[4]) "
    "local o = tonumber(ARGV[6]) "
    "if ARGV[5] == '1' then "
    "for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do "
    "local s = string.sub(f, 1, 2) "
    "if s == 'q|' or s == 'o|' then "
    "redis.call('HDEL', KEYS[1], f) "
    "end "
    "end "
    "end "
    "if n > 0 and redis.call('SET', KEYS[2], '1', 'NX', 'EX', "
        ngx_http_llm_router_lua_n(NGX_HTTP_LLM_ROUTER_BATCH_TTL) ") then "
    "for i = 7, 6 + 2 * n, 2 do "
    "redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) "
    "end "
    "end "
    "local now = tonumber(ARGV[1]) "
    "local a = 7 + 2 * n "
    "for i = a, a + 2 * m - 1, 2 do "
    "local cur = redis.call('HGET', KEYS[3], ARGV[i]) "
    "local u = tonumber(string.match(ARGV[i + 1], '^%d+')) "
    "if not cur or tonumber(string.match(cur, '^%d+')) < u then "
    "redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) "
    "end "
    "end "
    "local h = redis.call('HGETALL', KEYS[3]) "
    "for i = 1, #h, 2 do "
    "if tonumber(string.match(h[i + 1], '^%d+')) < now - "
        ngx_http_llm_router_lua_n(NGX_HTTP_LLM_ROUTER_HEALTH_KEEP) " then "
    "redis.call('HDEL', KEYS[3], h[i]) "
    "end "
    "end "
    "a = a + 2 * m "
    "if d > 0 then "
    "local e = a + 2 * d - 1 "
    "for i = a, e, " ngx_http_llm_router_lua_n(NGX_HTTP_LLM_ROUTER_HSET_ARGS)
        " do "
    "redis.call('HSET', KEYS[4], unpack(ARGV, i, math.min(i + "
        ngx_http_llm_router_lua_n(NGX_HTTP_LLM_ROUTER_HSET_ARGS) " - 1, e))) "
    "end "
    "redis.call('EXPIRE', KEYS[4], "
        ngx_http_llm_router_lua_n(NGX_HTTP_LLM_ROUTER_DEC_TTL) ") "
    "end "
    "a = a + 2 * d "
    "if o > 0 then "
    "redis.call('HSET', KEYS[1], unpack(ARGV, a, a + 2 * o - 1)) "
    "end "
    "a = a + 2 * o "
    "local grants = {} "
    "for k = 5, #KEYS do "
    "local want = tonumber(ARGV[a]) "
    "local limit = tonumber(ARGV[a + 1]) "
    "local g = tonumber(redis.call('GET', KEYS[k]) or '0') "
    "local grant = math.min(want, limit - g) "
    "if grant > 0 then "
    "g = redis.call('INCRBY', KEYS[k], grant) "
    "redis.call('EXPIRE', KEYS[k], ARGV[a + 2]) "
    "else "
    "grant = 0 "
    "end "
    "table.insert(grants, grant) "
    "table.insert(grants, g) "
    "a = a + 3 "
    "end "
    "return {redis.call('HGETALL', KEYS[1]), h, grants}");


/*
 * A feedback report for a request id.  KEYS[1] the report's marker,
 * KEYS[2..] the decision hashes of the last DEC_HOURS; ARGV[1] the id,
 * ARGV[2] 1 when this instance knows the decision.  The marker makes a
 * report count once in the fleet.  Returns {"dup"}, {"ok"}, {"ok",
 * decision} or {"unknown"} (then without a marker, so a report that
 * arrives before its decision can be sent again).
 */

static ngx_str_t  ngx_http_llm_router_feedback_script = ngx_string(
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', "
        ngx_http_llm_router_lua_n(NGX_HTTP_LLM_ROUTER_DEC_TTL) ") then "
    "return {'dup'} "
    "end "
    "if ARGV[2] == '1' then "
    "return {'ok'} "
    "end "
    "for k = 2, #KEYS do "
    "local v = redis.call('HGET', KEYS[k], ARGV[1]) "
    "if v then "
    "return {'ok', v} "
    "end "
    "end "
    "redis.call('DEL', KEYS[1]) "
    "return {'unknown'}");


static ngx_http_llm_router_redis_t  *ngx_http_llm_router_rd;


/*
 * hiredis builds a reply's objects as its bytes arrive, with no limit:
 * these wrap its own constructors and refuse a reply whose strings and
 * objects pass max_reply (an array's size is checked before hiredis
 * allocates it), which closes the connection; the flush is tried again
 * on the next tick.
 */

static redisReplyObjectFunctions  *ngx_http_llm_router_reply_default;

static redisReplyObjectFunctions  ngx_http_llm_router_reply_functions = {
    ngx_http_llm_router_reply_string,
    ngx_http_llm_router_reply_array,
    ngx_http_llm_router_reply_integer,
    ngx_http_llm_router_reply_nil,
    ngx_http_llm_router_reply_free
};


char *
ngx_http_llm_router_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    ngx_int_t                          rv;
    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_llm_router_redis_conf_t  *rc;

    if (lmcf->redis) {
        return "is duplicate";
    }

    rc = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_router_redis_conf_t));
    if (rc == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    rc->flush = 1000;
    rc->timeout = 1000;
    rc->max_reply = NGX_HTTP_LLM_ROUTER_MAX_REPLY;
    rc->tls_verify = NGX_CONF_UNSET;
    ngx_str_set(&rc->prefix, "llm");

    if (ngx_http_llm_router_redis_address(cf, rc, &value[1]) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        rv = ngx_http_llm_router_redis_param(cf, rc, &value[i]);

        if (rv == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rv == NGX_DECLINED) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"llm_redis\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_llm_router_redis_keys(cf, rc) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    lmcf->redis = rc;

    return NGX_CONF_OK;
}


/*
 * The address: sentinel=HOST:PORT,... (the sentinels to ask), unix:PATH,
 * or HOST[:PORT].
 */

static char *
ngx_http_llm_router_redis_address(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *addr)
{
    ngx_str_t  s;
    ngx_url_t  u;

    if (ngx_strncmp(addr->data, "sentinel=", 9) == 0) {
        s.data = addr->data + 9;
        s.len = addr->len - 9;

        if (ngx_http_llm_router_redis_sentinels(cf, rc, &s) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }

    } else if (ngx_strncmp(addr->data, "unix:", 5) == 0) {
        rc->unix_path.len = addr->len - 5;
        rc->unix_path.data = ngx_pnalloc(cf->pool, rc->unix_path.len + 1);
        if (rc->unix_path.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(rc->unix_path.data, addr->data + 5,
                    rc->unix_path.len + 1);

    } else {

        /*
         * An address is used as it is; a host name is resolved by the
         * workers through the http block's resolver, without blocking, at
         * every (re)connect: a name that moves to a new primary is
         * followed.
         */

        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url = *addr;
        u.default_port = 6379;
        u.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.host.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid address \"%V\" in \"llm_redis\": "
                               "use HOST:PORT, IP:PORT, [IPv6]:PORT or "
                               "unix:PATH", addr);
            return NGX_CONF_ERROR;
        }

        rc->host.data = ngx_pnalloc(cf->pool,
                                    ngx_max(NGX_SOCKADDR_STRLEN, u.host.len)
                                    + 1);
        if (rc->host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        if (u.naddrs) {
            rc->host.len = ngx_sock_ntop(u.addrs[0].sockaddr,
                                         u.addrs[0].socklen, rc->host.data,
                                         NGX_SOCKADDR_STRLEN, 0);

        } else {
            rc->host.len = u.host.len;
            ngx_memcpy(rc->host.data, u.host.data, u.host.len);
            rc->resolver = NGX_CONF_UNSET_PTR;      /* checked at the end */
        }

        rc->host.data[rc->host.len] = '\0';
        rc->port = u.port ? u.port : 6379;
    }

    return NGX_CONF_OK;
}


/*
 * One parameter after the address: NGX_OK, NGX_DECLINED when it is
 * invalid, NGX_ERROR when the error is logged already.
 */

static ngx_int_t
ngx_http_llm_router_redis_param(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *v)
{
    u_char     *p;
    ngx_int_t   n;
    ngx_str_t   s;

    if (ngx_strncmp(v->data, "password=", 9) == 0
        || ngx_strncmp(v->data, "password_file=", 14) == 0)
    {
        return ngx_http_llm_router_redis_password(cf, v, 8, &rc->password);
    }

    if (ngx_strncmp(v->data, "sentinel_password=", 18) == 0
        || ngx_strncmp(v->data, "sentinel_password_file=", 23) == 0)
    {
        return ngx_http_llm_router_redis_password(cf, v, 17,
                                                  &rc->sentinel_password);
    }

    if (ngx_strncmp(v->data, "sentinel_user=", 14) == 0) {
        return ngx_http_llm_router_redis_user(v, 14, &rc->sentinel_user);
    }

    if (ngx_strncmp(v->data, "master=", 7) == 0) {
        rc->master.data = v->data + 7;
        rc->master.len = v->len - 7;

        if (rc->master.len == 0) {
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    if (ngx_strncmp(v->data, "sentinel=", 9) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": sentinel= takes the place of "
                           "the address: \"llm_redis sentinel=HOST:PORT,"
                           "... master=NAME ...\"");
        return NGX_ERROR;
    }

    if (ngx_strncmp(v->data, "user=", 5) == 0) {
        return ngx_http_llm_router_redis_user(v, 5, &rc->user);
    }

    if (ngx_strncmp(v->data, "db=", 3) == 0) {
        n = ngx_atoi(v->data + 3, v->len - 3);
        if (n == NGX_ERROR || n > 1023) {
            return NGX_DECLINED;
        }

        rc->db = n;
        return NGX_OK;
    }

    if (ngx_strncmp(v->data, "prefix=", 7) == 0) {
        rc->prefix.data = v->data + 7;
        rc->prefix.len = v->len - 7;

        if (rc->prefix.len == 0
            || rc->prefix.len > NGX_HTTP_LLM_ROUTER_PREFIX_MAX)
        {
            return NGX_DECLINED;
        }

        for (p = rc->prefix.data; p < rc->prefix.data + rc->prefix.len; p++) {
            if (*p == '{' || *p == '}' || *p <= ' ' || *p >= 0x7f) {
                return NGX_DECLINED;
            }
        }

        return NGX_OK;
    }

    if (ngx_strncmp(v->data, "flush=", 6) == 0) {
        s.data = v->data + 6;
        s.len = v->len - 6;

        rc->flush = ngx_parse_time(&s, 0);
        if (rc->flush == (ngx_msec_t) NGX_ERROR || rc->flush < 10) {
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    if (ngx_strncmp(v->data, "max_reply=", 10) == 0) {
        s.data = v->data + 10;
        s.len = v->len - 10;

        rc->max_reply = ngx_parse_size(&s);
        if (rc->max_reply == (size_t) NGX_ERROR || rc->max_reply < 65536) {
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    if (ngx_strncmp(v->data, "timeout=", 8) == 0) {
        s.data = v->data + 8;
        s.len = v->len - 8;

        rc->timeout = ngx_parse_time(&s, 0);
        if (rc->timeout == (ngx_msec_t) NGX_ERROR || rc->timeout < 10) {
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    return ngx_http_llm_router_redis_tls_param(cf, rc, v);
}


/*
 * NAME=SECRET or NAME_file=FILE (the secret alone, read at start and
 * reload), NAME being "password" or "sentinel_password", of skip bytes.
 */

static ngx_int_t
ngx_http_llm_router_redis_password(ngx_conf_t *cf, ngx_str_t *v, size_t skip,
    ngx_str_t *secret)
{
    u_char     what[64];
    ngx_str_t  s;

    s.data = v->data + skip;
    s.len = v->len - skip;

    if (s.len > 1 && s.data[0] == '=') {
        if (secret->data) {
            return NGX_DECLINED;
        }

        secret->data = s.data + 1;
        secret->len = s.len - 1;
        return NGX_OK;
    }

    if (s.len <= 6 || ngx_strncmp(s.data, "_file=", 6) != 0
        || secret->data)
    {
        return NGX_DECLINED;
    }

    s.data += 6;
    s.len -= 6;

    ngx_snprintf(what, sizeof(what), "\"llm_redis\": %*s_file%Z",
                 skip, v->data);

    if (ngx_http_llm_router_read_secret(cf, &s, (char *) what, 1, secret)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* user=NAME, sentinel_user=NAME: printable ASCII, no space */

static ngx_int_t
ngx_http_llm_router_redis_user(ngx_str_t *v, size_t skip, ngx_str_t *user)
{
    u_char  *p;

    if (user->data || v->len == skip) {
        return NGX_DECLINED;
    }

    user->data = v->data + skip;
    user->len = v->len - skip;

    for (p = user->data; p < user->data + user->len; p++) {
        if (*p <= ' ' || *p >= 0x7f) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* the parameters that need one another; the keys every command uses */

static char *
ngx_http_llm_router_redis_keys(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc)
{
    if (rc->nsentinels && rc->master.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": sentinel= needs master=NAME");
        return NGX_CONF_ERROR;
    }

    if (rc->master.len && rc->nsentinels == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": master= needs sentinel=");
        return NGX_CONF_ERROR;
    }

    if (rc->nsentinels) {
        /* what the logs call it */
        rc->host = rc->master;
    }

    if ((rc->sentinel_user.len || rc->sentinel_password.len)
        && rc->nsentinels == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": sentinel_user= and "
                           "sentinel_password= need sentinel=");
        return NGX_CONF_ERROR;
    }

    if (rc->sentinel_user.len && rc->sentinel_password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": sentinel_user= needs "
                           "sentinel_password= or sentinel_password_file=");
        return NGX_CONF_ERROR;
    }

    if (rc->user.len && rc->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": user= needs password= or "
                           "password_file=");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_llm_router_redis_tls_init(cf, rc) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    /* "{llm}:fleet": the hash tag keeps every key in one Cluster slot */

    rc->fleet_key.len = rc->prefix.len + sizeof("{}:fleet") - 1;
    rc->fleet_key.data = ngx_pnalloc(cf->pool, rc->fleet_key.len);
    rc->health_key.len = rc->prefix.len + sizeof("{}:health") - 1;
    rc->health_key.data = ngx_pnalloc(cf->pool, rc->health_key.len);

    if (rc->fleet_key.data == NULL || rc->health_key.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(rc->fleet_key.data, "{%V}:fleet", &rc->prefix);
    ngx_sprintf(rc->health_key.data, "{%V}:health", &rc->prefix);

    return NGX_CONF_OK;
}


/* sentinel=IP:PORT[,IP:PORT...] */

static char *
ngx_http_llm_router_redis_sentinels(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *list)
{
    u_char     *p, *last, *comma;
    size_t      n;
    ngx_url_t   u;

    p = list->data;
    last = list->data + list->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url.data = p;
        u.url.len = comma - p;
        u.default_port = 26379;
        u.no_resolve = 1;

        if (rc->nsentinels == NGX_HTTP_LLM_ROUTER_SENTINELS_MAX
            || u.url.len == 0
            || ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid sentinel \"%*s\" in \"llm_redis\": "
                               "up to %d of IP:PORT, comma-separated",
                               comma - p, p,
                               NGX_HTTP_LLM_ROUTER_SENTINELS_MAX);
            return NGX_CONF_ERROR;
        }

        n = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                          rc->sentinel_host[rc->nsentinels],
                          NGX_SOCKADDR_STRLEN, 0);
        rc->sentinel_host[rc->nsentinels][n] = '\0';
        rc->sentinel_port[rc->nsentinels] = u.port;
        rc->nsentinels++;

        p = comma + 1;
    }

    if (rc->nsentinels == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": sentinel= names no sentinel");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A host name is resolved with the http block's resolver (set by then,
 * wherever the "resolver" directive stands in the block).
 */

ngx_int_t
ngx_http_llm_router_redis_resolver(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (rc == NULL || rc->resolver != NGX_CONF_UNSET_PTR) {
        return NGX_OK;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    /* without the directive, nginx leaves a resolver with no server */

    if (clcf->resolver == NULL || clcf->resolver->connections.nelts == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"llm_redis\": the host name \"%V\" needs a "
                      "\"resolver\" in the http block", &rc->host);
        return NGX_ERROR;
    }

    rc->resolver = clcf->resolver;
    rc->resolver_timeout = (clcf->resolver_timeout == NGX_CONF_UNSET_MSEC)
                           ? 30000 : clcf->resolver_timeout;

    return NGX_OK;
}


ngx_int_t
ngx_http_llm_router_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    ngx_http_llm_router_redis_t  *rd;

    if (lmcf->redis == NULL || lmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_llm_router_redis_t));
    if (rd == NULL) {
        return NGX_ERROR;
    }

    rd->conf = lmcf->redis;
    rd->zone = lmcf->shm_zone->data;
    rd->log = cycle->log;

    rd->tick.handler = ngx_http_llm_router_redis_tick;
    rd->tick.data = rd;
    rd->tick.log = cycle->log;
    rd->tick.cancelable = 1;

    rd->timeout.handler = ngx_http_llm_router_redis_timeout;
    rd->timeout.data = rd;
    rd->timeout.log = cycle->log;
    rd->timeout.cancelable = 1;

    rd->drain.handler = ngx_http_llm_router_redis_drain;
    rd->drain.data = rd;
    rd->drain.log = cycle->log;

    rd->primary.handler = ngx_http_llm_router_redis_primary;
    rd->primary.data = rd;
    rd->primary.log = cycle->log;
    rd->primary.cancelable = 1;

    ngx_http_llm_router_rd = rd;

    ngx_http_llm_router_redis_connect(rd);

    /* spread the workers' first flushes over the interval */
    ngx_add_timer(&rd->tick, rd->conf->flush / 2
                             + ngx_random() % (rd->conf->flush / 2 + 1));

    return NGX_OK;
}


/* flush now (a model went down): the fleet hears it within one round trip */

void
ngx_http_llm_router_redis_kick(void)
{
    ngx_http_llm_router_redis_t  *rd;

    rd = ngx_http_llm_router_rd;

    if (rd && rd->state == NGX_HTTP_LLM_ROUTER_RD_READY && !rd->flushing
        && !rd->exiting)
    {
        (void) ngx_http_llm_router_redis_flush(rd);
    }
}


/*
 * Looks a feedback report up in the fleet: done() runs with the reply,
 * or NULL if the connection goes away first.  NGX_DECLINED when there is
 * no usable connection now.
 */

ngx_int_t
ngx_http_llm_router_redis_feedback(uint64_t id, ngx_uint_t local,
    ngx_http_llm_router_redis_done_pt done, void *data)
{
    u_char                            *p, *q;
    u_char                             buf[NGX_HTTP_LLM_ROUTER_FB_TEXT];
    char                              *argv[NGX_HTTP_LLM_ROUTER_FB_ARGC];
    size_t                             argvlen[NGX_HTTP_LLM_ROUTER_FB_ARGC];
    time_t                             hour;
    ngx_uint_t                         i, argc;
    ngx_http_llm_router_redis_t       *rd;
    ngx_http_llm_router_redis_conf_t  *conf;

    rd = ngx_http_llm_router_rd;

    if (rd == NULL || rd->ac == NULL
        || rd->state != NGX_HTTP_LLM_ROUTER_RD_READY || rd->exiting)
    {
        return NGX_DECLINED;
    }

    conf = rd->conf;
    p = buf;
    argc = 0;

    argv[argc] = "EVAL";
    argvlen[argc++] = 4;
    argv[argc] = (char *) ngx_http_llm_router_feedback_script.data;
    argvlen[argc++] = ngx_http_llm_router_feedback_script.len;
    argv[argc] = ngx_http_llm_router_lua_n(NGX_HTTP_LLM_ROUTER_FB_NKEYS);
    argvlen[argc++] = sizeof(ngx_http_llm_router_lua_n(
                                 NGX_HTTP_LLM_ROUTER_FB_NKEYS)) - 1;

    q = p;
    p = ngx_sprintf(p, "{%V}:fb:%016xL", &conf->prefix, id);
    argv[argc] = (char *) q;
    argvlen[argc++] = p - q;

    hour = ngx_time() / 3600;

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_DEC_HOURS; i++) {
        q = p;
        p = ngx_sprintf(p, "{%V}:dec:%T", &conf->prefix, hour - i);
        argv[argc] = (char *) q;
        argvlen[argc++] = p - q;
    }

    q = p;
    p = ngx_sprintf(p, "%016xL", id);
    argv[argc] = (char *) q;
    argvlen[argc++] = p - q;

    argv[argc] = local ? "1" : "0";
    argvlen[argc++] = 1;

    /* a Redis Cluster's slot moving to this node: ASKING first */

    if (rd->cluster_ask
        && redisAsyncCommand(rd->ac, NULL, NULL, "ASKING") != REDIS_OK)
    {
        return NGX_DECLINED;
    }

    /* hiredis copies the arguments into its output buffer */

    if (redisAsyncCommandArgv(rd->ac, done, data, (int) argc,
                              (const char **) argv, argvlen)
        != REDIS_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


void
ngx_http_llm_router_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_llm_router_redis_t  *rd;

    rd = ngx_http_llm_router_rd;

    if (rd == NULL) {
        return;
    }

    rd->exiting = 1;

    if (rd->resolving) {
        ngx_resolve_name_done(rd->resolving);
        rd->resolving = NULL;
    }

    if (rd->tick.timer_set) {
        ngx_del_timer(&rd->tick);
    }

    if (rd->drain.timer_set) {
        ngx_del_timer(&rd->drain);
    }

    if (rd->primary.timer_set) {
        ngx_del_timer(&rd->primary);
    }

    ngx_http_llm_router_redis_close(rd, NULL);

    ngx_http_llm_router_rd = NULL;
}


/*
 * A host name is looked up again at every connect, on nginx's resolver
 * (its cache honours the records' TTL, or "valid="): a name moved to a
 * new primary is followed at the next reconnect.
 */

static void
ngx_http_llm_router_redis_connect(ngx_http_llm_router_redis_t *rd)
{
    ngx_resolver_ctx_t                *ctx;
    ngx_http_llm_router_redis_conf_t  *conf;

    conf = rd->conf;

    if (conf->nsentinels) {

        /* which primary: ask the sentinels in turn */

        rd->asking = 1;
        rd->sentinel %= conf->nsentinels;

        ngx_http_llm_router_redis_open(rd,
                               (char *) conf->sentinel_host[rd->sentinel],
                               conf->sentinel_port[rd->sentinel]);
        return;
    }

    rd->asking = 0;
    rd->cluster_ask = 0;

    if (conf->resolver == NULL) {
        ngx_http_llm_router_redis_open(rd, (char *) conf->host.data,
                                       conf->port);
        return;
    }

    ctx = ngx_resolve_start(conf->resolver, NULL);

    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
                                        "cannot start resolving the host "
                                        "name");
        return;
    }

    ctx->name = conf->host;
    ctx->handler = ngx_http_llm_router_redis_resolved;
    ctx->data = rd;
    ctx->timeout = conf->resolver_timeout;

    rd->state = NGX_HTTP_LLM_ROUTER_RD_RESOLVING;
    rd->resolving = ctx;

    /* the handler may run from here, with a cached answer */

    if (ngx_resolve_name(ctx) != NGX_OK) {
        rd->resolving = NULL;
        rd->state = NGX_HTTP_LLM_ROUTER_RD_DISCONNECTED;
        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
                                        "cannot resolve the host name");
    }
}


static void
ngx_http_llm_router_redis_resolved(ngx_resolver_ctx_t *ctx)
{
    ngx_http_llm_router_redis_t *rd = ctx->data;

    size_t  n;
    u_char  err[128];

    rd->resolving = NULL;
    rd->state = NGX_HTTP_LLM_ROUTER_RD_DISCONNECTED;

    if (ctx->state || ctx->naddrs == 0) {
        ngx_snprintf(err, sizeof(err) - 1, "cannot resolve \"%V\": %s%Z",
                     &ctx->name, ctx->state
                                 ? ngx_resolver_strerror(ctx->state)
                                 : "no address");
        ngx_resolve_name_done(ctx);
        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
                                        (char *) err);
        return;
    }

    n = ngx_sock_ntop(ctx->addrs[0].sockaddr, ctx->addrs[0].socklen,
                      rd->addr, NGX_SOCKADDR_STRLEN, 0);
    rd->addr[n] = '\0';

    ngx_resolve_name_done(ctx);

    if (rd->exiting) {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "llm_router: redis %V is %s", &rd->conf->host, rd->addr);

    ngx_http_llm_router_redis_open(rd, (char *) rd->addr, rd->conf->port);
}


static void
ngx_http_llm_router_redis_open(ngx_http_llm_router_redis_t *rd,
    const char *host, ngx_int_t port)
{
    redisAsyncContext                 *ac;
    ngx_connection_t                  *c;
    ngx_http_llm_router_redis_conf_t  *conf;

    conf = rd->conf;

    if (conf->unix_path.len) {
        ac = redisAsyncConnectUnix((char *) conf->unix_path.data);

    } else {
        ac = redisAsyncConnect(host, (int) port);
    }

    if (ac == NULL) {
        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
                                        "cannot allocate a connection");
        return;
    }

    if (ac->err) {
        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
                                        ac->errstr);
        redisAsyncFree(ac);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        return;
    }

    c->data = rd;
    c->read->handler = ngx_http_llm_router_redis_read;
    c->write->handler = ngx_http_llm_router_redis_write;
    c->read->log = rd->log;
    c->write->log = rd->log;

    /*
     * TLS to the primary (a sentinel is asked in plain text): hiredis
     * formats and parses, nginx's SSL carries the bytes.  The certificate
     * names tls_name=, or the host name of the address, or the address.
     */

    if (conf->tls && !rd->asking) {
        c->pool = ngx_create_pool(1024, rd->log);
        if (c->pool == NULL) {
            ngx_free_connection(c);
            c->fd = (ngx_socket_t) -1;
            redisAsyncFree(ac);
            return;
        }

        c->read->handler = ngx_http_llm_router_redis_tls_read;
        c->write->handler = ngx_http_llm_router_redis_tls_write;

        if (conf->tls_name.len) {
            rd->tls_name = conf->tls_name;

        } else if (conf->resolver) {
            rd->tls_name = conf->host;

        } else {
            rd->tls_name.data = (u_char *) host;
            rd->tls_name.len = ngx_strlen(host);
        }
    }

    /* a graceful shutdown calls the read handler of idle connections */
    c->idle = 1;

    rd->ac = ac;
    rd->c = c;
    rd->state = NGX_HTTP_LLM_ROUTER_RD_CONNECTING;
    rd->reply_size = 0;
    rd->reply_over = 0;

    if (ac->c.reader->fn != &ngx_http_llm_router_reply_functions) {
        ngx_http_llm_router_reply_default = ac->c.reader->fn;
        ac->c.reader->fn = &ngx_http_llm_router_reply_functions;
    }

    ac->data = rd;
    ac->ev.data = rd;
    ac->ev.addRead = ngx_http_llm_router_redis_add_read;
    ac->ev.delRead = ngx_http_llm_router_redis_del_read;
    ac->ev.addWrite = ngx_http_llm_router_redis_add_write;
    ac->ev.delWrite = ngx_http_llm_router_redis_del_write;
    ac->ev.cleanup = ngx_http_llm_router_redis_cleanup;

    /* the adapter is attached first: this arms the write event */

    redisAsyncSetConnectCallback(ac, ngx_http_llm_router_redis_connected);
    redisAsyncSetDisconnectCallback(ac,
                                    ngx_http_llm_router_redis_disconnected);

    if (rd->asking) {

        /* a sentinel that wants a password gets it first, pipelined */

        if (ngx_http_llm_router_redis_auth(rd, &conf->sentinel_user,
                                           &conf->sentinel_password)
            != NGX_OK)
        {
            return;
        }

        if (redisAsyncCommand(ac, ngx_http_llm_router_redis_sentinel_done,
                              rd, "SENTINEL get-master-addr-by-name %b",
                              conf->master.data, conf->master.len)
            != REDIS_OK)
        {
            ngx_http_llm_router_redis_close(rd, "cannot queue SENTINEL");
            return;
        }

        ngx_add_timer(&rd->timeout, conf->timeout);
        return;
    }

    if (ngx_http_llm_router_redis_auth(rd, &conf->user, &conf->password)
        != NGX_OK)
    {
        return;
    }

    if (conf->db
        && redisAsyncCommand(ac, ngx_http_llm_router_redis_auth_done, rd,
                             "SELECT %d", (int) conf->db)
           != REDIS_OK)
    {
        ngx_http_llm_router_redis_close(rd, "cannot queue SELECT");
        return;
    }

    ngx_add_timer(&rd->timeout, conf->timeout);
}


/*
 * Drops the connection.  Pending callbacks run now with a NULL reply (a
 * batch in flight stays pending in shared memory, to be sent again);
 * the disconnect callback is cleared so that nothing reconnects from
 * inside the teardown.
 */

static void
ngx_http_llm_router_redis_close(ngx_http_llm_router_redis_t *rd,
    const char *why)
{
    redisAsyncContext  *ac;

    if (rd->timeout.timer_set) {
        ngx_del_timer(&rd->timeout);
    }

    ac = rd->ac;
    rd->ac = NULL;
    rd->state = NGX_HTTP_LLM_ROUTER_RD_DISCONNECTED;

    if (why) {
        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
                                        why);
    }

    if (ac) {
        ac->onDisconnect = NULL;
        redisAsyncFree(ac);
    }

    if (rd->c) {
        /* hiredis has not run the cleanup hook yet (freeing in a callback) */
        ngx_http_llm_router_redis_cleanup(rd);
    }
}


static void
ngx_http_llm_router_redis_tick(ngx_event_t *ev)
{
    ngx_http_llm_router_redis_t  *rd = ev->data;

    if (ngx_exiting || ngx_quit || rd->exiting) {
        return;
    }

    if (rd->state == NGX_HTTP_LLM_ROUTER_RD_DISCONNECTED) {
        ngx_http_llm_router_redis_connect(rd);

    } else if (rd->state == NGX_HTTP_LLM_ROUTER_RD_READY && !rd->flushing) {
        (void) ngx_http_llm_router_redis_flush(rd);
    }

    ngx_add_timer(&rd->tick, rd->conf->flush);
}


static void
ngx_http_llm_router_redis_timeout(ngx_event_t *ev)
{
    ngx_http_llm_router_redis_t  *rd = ev->data;

    if (rd->asking) {
        rd->sentinel++;
        ngx_http_llm_router_redis_close(rd, "sentinel timed out");
        return;
    }

    ngx_http_llm_router_redis_close(rd,
                            rd->state == NGX_HTTP_LLM_ROUTER_RD_CONNECTING
                            ? "connect timed out" : "command timed out");
}


/*
 * A graceful shutdown or reload: once this worker has no routed request
 * left, it flushes what is pending (a non-cancelable timer keeps it alive
 * until then, for a bounded time), so nothing counted is lost.
 */

static void
ngx_http_llm_router_redis_drain(ngx_event_t *ev)
{
    ngx_http_llm_router_redis_t  *rd = ev->data;

    /* bounded: requests get 30 s, the flush itself its timeout */

    if (rd->drain_tries++ > 300) {
        return;
    }

    if (ngx_http_llm_router_active) {
        ngx_add_timer(&rd->drain, 100);
        return;
    }

    /* the worker waits for a flush or a connect in flight */
    rd->timeout.cancelable = 0;

    switch (rd->state) {

    case NGX_HTTP_LLM_ROUTER_RD_READY:

        if (rd->flushing) {
            return;
        }

        if (ngx_http_llm_router_redis_flush(rd) == NGX_BUSY) {

            /* another worker is flushing: ours goes after it */
            ngx_add_timer(&rd->drain, 100);
        }

        return;

    case NGX_HTTP_LLM_ROUTER_RD_DISCONNECTED:

        /* one more try; once connected, the connect callback flushes */

        if (rd->drain_tries < 300) {
            rd->drain_tries = 300;
            ngx_http_llm_router_redis_connect(rd);
        }

        return;

    default: /* NGX_HTTP_LLM_ROUTER_RD_CONNECTING */
        return;
    }
}


static ngx_int_t
ngx_http_llm_router_redis_flush(ngx_http_llm_router_redis_t *rd)
{
    char                              **argv;
    size_t                             *argvlen;
    ngx_int_t                           rc;
    ngx_uint_t                          argc;
    ngx_http_llm_router_redis_conf_t   *conf;

    conf = rd->conf;

    rd->pool = ngx_create_pool(4096, rd->log);
    if (rd->pool == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_llm_router_batch_begin(rd->zone, rd->pool, conf->timeout,
                                         &rd->batch);

    if (rc != NGX_OK) {
        ngx_destroy_pool(rd->pool);
        rd->pool = NULL;
        return rc;
    }

    if (ngx_http_llm_router_redis_flush_argv(rd, &argv, &argvlen, &argc)
        != NGX_OK)
    {
        goto failed;
    }

    /* a Redis Cluster's slot moving to this node: ASKING, each time */

    if (rd->cluster_ask
        && redisAsyncCommand(rd->ac, NULL, NULL, "ASKING") != REDIS_OK)
    {
        goto failed;
    }

    if (redisAsyncCommandArgv(rd->ac, ngx_http_llm_router_redis_flush_done,
                              rd, (int) argc, (const char **) argv, argvlen)
        != REDIS_OK)
    {
        goto failed;
    }

    /*
     * Behind sentinels a batch is delivered once a replica has it too:
     * a failover promotes a replica, and a batch only the old primary
     * had would be lost while counted as sent.  Until WAIT says so the
     * batch stays pending, and is sent again (applied once: its number);
     * a primary left without a replica holds the fleet's new counts
     * back until one is there again (they wait in shared memory).
     */

    if (conf->nsentinels) {
        if (redisAsyncCommand(rd->ac, ngx_http_llm_router_redis_wait_done,
                              rd, "WAIT 1 %d",
                              (int) (conf->timeout / 2 + 1))
            != REDIS_OK)
        {
            /* the EVAL's callback ends the batch */
            rd->flushing = 1;
            ngx_add_timer(&rd->timeout, conf->timeout);
            return NGX_OK;
        }

        rd->waiting = 1;
    }

    rd->flushing = 1;

    /* at exit the worker waits for the answer, up to the timeout */
    rd->timeout.cancelable = rd->exiting || ngx_exiting ? 0 : 1;
    ngx_add_timer(&rd->timeout, conf->timeout);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "llm_router: redis flush batch %uL, %ui deltas, %ui args",
                   rd->batch.seq, rd->batch.deltas, argc);

    return NGX_OK;

failed:

    ngx_http_llm_router_batch_end(rd->zone, &rd->batch, 0);
    ngx_destroy_pool(rd->pool);
    rd->pool = NULL;

    return NGX_ERROR;
}


/*
 * The flush's command, from the batch (in rd->pool): the script's keys,
 * its fixed arguments, the batch's pairs and the leases' arguments.
 */

static ngx_int_t
ngx_http_llm_router_redis_flush_argv(ngx_http_llm_router_redis_t *rd,
    char ***argvp, size_t **argvlenp, ngx_uint_t *argcp)
{
    u_char                              *p, *q;
    char                               **argv;
    size_t                              *argvlen;
    ngx_uint_t                           argc, i, k, nleases;
    ngx_http_llm_router_budget_res_t    *leases;
    ngx_http_llm_router_budget_entry_t  *e, *entries;
    ngx_http_llm_router_redis_conf_t    *conf;

    conf = rd->conf;

    /*
     * EVAL script numkeys counters marker health budget-key... now n m
     * field delta ... model until|reason ... want limit ttl ...
     */

    nleases = rd->batch.leases.nelts;
    leases = rd->batch.leases.elts;
    entries = rd->zone->sh->budget_entries;

    argc = NGX_HTTP_LLM_ROUTER_FLUSH_ARGC + rd->batch.argv.nelts
           + NGX_HTTP_LLM_ROUTER_LEASE_ARGC * nleases;

    argv = ngx_palloc(rd->pool, argc * sizeof(char *));
    argvlen = ngx_palloc(rd->pool, argc * sizeof(size_t));
    p = ngx_pnalloc(rd->pool, conf->prefix.len
                              + NGX_HTTP_LLM_ROUTER_FLUSH_TEXT
                              + nleases * (conf->prefix.len
                                           + NGX_HTTP_LLM_ROUTER_LEASE_TEXT));

    if (argv == NULL || argvlen == NULL || p == NULL) {
        return NGX_ERROR;
    }

    i = 0;

#define ngx_llm_arg(s, n)                                                     \
    argv[i] = (char *) (s); argvlen[i] = (n); i++

    ngx_llm_arg("EVAL", 4);
    ngx_llm_arg(ngx_http_llm_router_flush_script.data,
                ngx_http_llm_router_flush_script.len);

    q = p;
    p = ngx_sprintf(p, "%ui", NGX_HTTP_LLM_ROUTER_FLUSH_KEYS + nleases);
    ngx_llm_arg(q, p - q);

    ngx_llm_arg(conf->fleet_key.data, conf->fleet_key.len);

    q = p;
    p = ngx_sprintf(p, "{%V}:batch:%s:%uL", &conf->prefix,
                    rd->zone->sh->instance, rd->batch.seq);
    ngx_llm_arg(q, p - q);

    ngx_llm_arg(conf->health_key.data, conf->health_key.len);

    q = p;
    p = ngx_sprintf(p, "{%V}:dec:%T", &conf->prefix, ngx_time() / 3600);
    ngx_llm_arg(q, p - q);

    for (k = 0; k < nleases; k++) {
        e = &entries[leases[k].entry];

        q = p;
        p = ngx_sprintf(p, "{%V}:budget:%*s:%016xL:%T", &conf->prefix,
                        e->name_len, e->name, e->keyhash,
                        leases[k].period_start);
        ngx_llm_arg(q, p - q);
    }

    q = p;
    p = ngx_sprintf(p, "%uL", ngx_http_llm_router_now_ms());
    ngx_llm_arg(q, p - q);

    q = p;
    p = ngx_sprintf(p, "%ui", rd->batch.deltas);
    ngx_llm_arg(q, p - q);

    q = p;
    p = ngx_sprintf(p, "%ui", rd->batch.health);
    ngx_llm_arg(q, p - q);

    q = p;
    p = ngx_sprintf(p, "%ui", rd->batch.decisions);
    ngx_llm_arg(q, p - q);

    ngx_llm_arg(rd->batch.reset ? "1" : "0", 1);

    q = p;
    p = ngx_sprintf(p, "%ui", rd->batch.offsets);
    ngx_llm_arg(q, p - q);

    ngx_memcpy(&argv[i], rd->batch.argv.elts,
               rd->batch.argv.nelts * sizeof(char *));
    ngx_memcpy(&argvlen[i], rd->batch.argvlen.elts,
               rd->batch.argv.nelts * sizeof(size_t));
    i += rd->batch.argv.nelts;

    for (k = 0; k < nleases; k++) {
        e = &entries[leases[k].entry];

        q = p;
        p = ngx_sprintf(p, "%L", llmr_budget_lease_size(e));
        ngx_llm_arg(q, p - q);

        q = p;
        p = ngx_sprintf(p, "%uL", e->limit);
        ngx_llm_arg(q, p - q);

        q = p;
        p = ngx_sprintf(p, "%T", e->period * 2);
        ngx_llm_arg(q, p - q);
    }

#undef ngx_llm_arg

    *argcp = i;
    *argvp = argv;
    *argvlenp = argvlen;

    return NGX_OK;
}


static void
ngx_http_llm_router_redis_flush_done(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_llm_router_redis_t *rd = privdata;

    ngx_uint_t                         i, readonly, redirect;
    redisReply                        *reply, *grants;
    ngx_http_llm_router_zone_t        *zone;
    ngx_http_llm_router_budget_res_t  *leases;

    reply = r;
    zone = rd->zone;

    rd->flushing = rd->waiting;
    readonly = 0;
    redirect = 0;

    if (rd->timeout.timer_set && !rd->waiting) {
        ngx_del_timer(&rd->timeout);
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_ARRAY
        || reply->element[1]->type != REDIS_REPLY_ARRAY
        || reply->element[2]->type != REDIS_REPLY_ARRAY)
    {
        ngx_http_llm_router_batch_end(zone, &rd->batch, 0);

        /* the WAIT's answer has nothing left to decide */
        rd->waiting = 0;
        rd->flushing = 0;

        if (rd->timeout.timer_set) {
            ngx_del_timer(&rd->timeout);
        }

        if (reply && reply->type == REDIS_REPLY_ERROR && rd->ac == ac
            && ngx_http_llm_router_redis_redirect(rd, reply) == NGX_OK)
        {
            /* not an error: the batch goes to the slot's node at once */
            redirect = 1;
            goto done;
        }

        if (reply && reply->type == REDIS_REPLY_ERROR) {
            ngx_http_llm_router_redis_state(rd,
                                            NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
                                            reply->str);

            /*
             * A replica: the primary this connection reached was demoted
             * (a failover).  Connecting again looks the name up again.
             */

            if (reply->len >= 8
                && ngx_strncmp(reply->str, "READONLY", 8) == 0
                && rd->ac == ac)
            {
                readonly = 1;
            }
        }

        goto done;
    }

    ngx_http_llm_router_redis_fleet_read(rd, reply->element[0],
                                         reply->element[1]);

    grants = reply->element[2];
    leases = rd->batch.leases.elts;

    for (i = 0; i < rd->batch.leases.nelts && 2 * i + 1 < grants->elements;
         i++)
    {
        if (grants->element[2 * i]->type == REDIS_REPLY_INTEGER
            && grants->element[2 * i + 1]->type == REDIS_REPLY_INTEGER)
        {
            ngx_http_llm_router_lease_granted(zone, &leases[i],
                                         grants->element[2 * i]->integer,
                                         grants->element[2 * i + 1]->integer);
        }
    }

    if (!rd->waiting) {
        ngx_http_llm_router_batch_end(zone, &rd->batch, 1);
        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_UP,
                                        NULL);
    }

    rd->redirects = 0;

    /* what the whole fleet learned, with the sums just read */

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_BUCKETS; i++) {
        ngx_http_llm_router_learn_update(zone, zone->lmcf, i, rd->log);
    }

    ngx_http_llm_router_learn_shifts(zone, zone->lmcf);

done:

    /* the batch's arrays live until the WAIT's answer ends it */

    if (rd->pool && !rd->waiting) {
        ngx_destroy_pool(rd->pool);
        rd->pool = NULL;
    }

    if (readonly || redirect) {
        /* freeing inside a callback is deferred by hiredis */
        ngx_http_llm_router_redis_close(rd, NULL);
    }

    if (redirect) {
        /* a worker draining at exit waits for it */
        rd->primary.cancelable = !rd->exiting;
        ngx_add_timer(&rd->primary, 1);
    }
}


/*
 * Redis Cluster: every key shares the prefix's hash slot, so one node
 * holds them all.  "MOVED SLOT IP:PORT": the slot is there now (the
 * cluster's map changed, or the configured node is not the slot's);
 * "ASK SLOT IP:PORT": it is being moved there, and a command goes there
 * after ASKING.  The connection is made again to that node, from the
 * event loop.  NGX_OK when it is to be followed (rd->addr, addr_port).
 * A host name is not followed (hiredis would resolve it blocking the
 * worker): Redis announces addresses unless told otherwise.
 */

static ngx_int_t
ngx_http_llm_router_redis_redirect(ngx_http_llm_router_redis_t *rd,
    redisReply *reply)
{
    u_char      *p, *last, *host, *colon;
    size_t       n;
    ngx_int_t    port;
    ngx_uint_t   ask;
#if (NGX_HAVE_INET6)
    u_char       buf[16];
#endif

    p = (u_char *) reply->str;
    last = p + reply->len;

    if (reply->len > 6 && ngx_strncmp(p, "MOVED ", 6) == 0) {
        ask = 0;

    } else if (reply->len > 4 && ngx_strncmp(p, "ASK ", 4) == 0) {
        ask = 1;

    } else {
        return NGX_DECLINED;
    }

    /* the slot, then the node: an IPv6 address has colons of its own */

    p = ngx_strlchr(p + (ask ? 4 : 6), last, ' ');
    if (p == NULL) {
        return NGX_DECLINED;
    }

    host = p + 1;
    colon = NULL;

    for (p = host; p < last; p++) {
        if (*p == ':') {
            colon = p;
        }
    }

    if (colon == NULL) {
        return NGX_DECLINED;
    }

    n = colon - host;
    port = ngx_atoi(colon + 1, last - colon - 1);

    if (n == 0 || n > NGX_SOCKADDR_STRLEN
        || port == NGX_ERROR || port == 0 || port > 65535)
    {
        return NGX_DECLINED;
    }

    if (ngx_inet_addr(host, n) == INADDR_NONE
#if (NGX_HAVE_INET6)
        && ngx_inet6_addr(host, n, buf) != NGX_OK
#endif
       )
    {
        return NGX_DECLINED;
    }

    if (++rd->redirects > NGX_HTTP_LLM_ROUTER_REDIRECTS_MAX) {

        /* the cluster's nodes disagree: the next tick starts over */

        rd->redirects = 0;
        return NGX_DECLINED;
    }

    ngx_memcpy(rd->addr, host, n);
    rd->addr[n] = '\0';
    rd->addr_port = port;
    rd->cluster_ask = ask;

    ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                  "llm_router: redis cluster: the slot of \"{%V}\" %s "
                  "%s:%i, following", &rd->conf->prefix,
                  ask ? "is moving to" : "is at", rd->addr, port);

    return NGX_OK;
}


/*
 * The fleet's counters and health as the flush read them back, into the
 * zone; the offsets are the fleet's but for those proposed since.
 */

static void
ngx_http_llm_router_redis_fleet_read(ngx_http_llm_router_redis_t *rd,
    redisReply *counters, redisReply *health)
{
    u_char                        *np, names[256];
    uint64_t                       now;
    ngx_uint_t                     i, full, down;
    redisReply                    *f, *v;
    ngx_http_llm_router_zone_t    *zone;
    ngx_http_llm_router_shctx_t   *sh;

    zone = rd->zone;
    sh = zone->sh;

    now = ngx_http_llm_router_now_ms();
    np = names;
    down = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    full = sh->slots_full;

    /* a bucket without an offset in the fleet's hash is at 0 */

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_BUCKETS; i++) {
        if (!sh->proposed[i]) {
            sh->offset[i] = 0;
        }
    }

    for (i = 0; i + 1 < counters->elements; i += 2) {
        f = counters->element[i];
        v = counters->element[i + 1];

        if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING) {
            ngx_http_llm_router_fleet_set(zone, (u_char *) f->str, f->len,
                                          (u_char *) v->str, v->len);
        }
    }

    for (i = 0; i + 1 < health->elements; i += 2) {
        f = health->element[i];
        v = health->element[i + 1];

        if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING
            && ngx_http_llm_router_fleet_health(zone, (u_char *) f->str,
                                                f->len, (u_char *) v->str,
                                                v->len, now))
        {
            /* names of models the fleet just took down, for the log */
            np = ngx_slprintf(np, names + sizeof(names) - 1, "%s%*s",
                              down++ ? ", " : "", f->len, f->str);
        }
    }

    full = (full == 0 && sh->slots_full != 0);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (full) {
        ngx_http_llm_router_slots_full(rd->log);
    }

    if (down) {
        *np = '\0';
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "llm_router: the fleet reports down: %s", names);
    }
}


/*
 * A sentinel's answer: ["IP", "PORT"] of the primary, or nil when it
 * does not know the name.  The sentinel's connection is closed and the
 * primary's made from the event loop (not from inside hiredis).
 */

static void
ngx_http_llm_router_redis_sentinel_done(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_llm_router_redis_t *rd = privdata;

    u_char       err[160];
    ngx_int_t    port;
    redisReply  *reply;

    reply = r;

    if (reply == NULL || rd->ac != ac) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING
        || reply->element[0]->len > NGX_SOCKADDR_STRLEN
        || (port = ngx_atoi((u_char *) reply->element[1]->str,
                            reply->element[1]->len)) == NGX_ERROR
        || port == 0 || port > 65535)
    {
        ngx_snprintf(err, sizeof(err) - 1, "sentinel %s:%i: %s \"%V\"%Z",
                     rd->conf->sentinel_host[rd->sentinel],
                     rd->conf->sentinel_port[rd->sentinel],
                     reply->type == REDIS_REPLY_ERROR ? reply->str
                                                      : "no primary for",
                     &rd->conf->master);
        rd->sentinel++;
        ngx_http_llm_router_redis_close(rd, (char *) err);
        return;
    }

    ngx_memcpy(rd->addr, reply->element[0]->str, reply->element[0]->len);
    rd->addr[reply->element[0]->len] = '\0';
    rd->addr_port = port;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "llm_router: redis primary of \"%V\" is %s:%i",
                   &rd->conf->master, rd->addr, port);

    /* freeing inside a callback is deferred by hiredis */
    ngx_http_llm_router_redis_close(rd, NULL);

    /* a worker draining at exit waits for it */
    rd->primary.cancelable = !rd->exiting;
    ngx_add_timer(&rd->primary, 1);
}


static void
ngx_http_llm_router_redis_primary(ngx_event_t *ev)
{
    ngx_http_llm_router_redis_t  *rd = ev->data;

    /*
     * A worker draining at exit goes on to the primary (or the slot's
     * node) for its last flush; after exit_process() nothing connects.
     */

    if (ngx_http_llm_router_rd != rd
        || rd->state != NGX_HTTP_LLM_ROUTER_RD_DISCONNECTED)
    {
        return;
    }

    rd->asking = 0;
    ngx_http_llm_router_redis_open(rd, (char *) rd->addr, rd->addr_port);
}


/* the number of replicas that have the batch: at least one delivers it */

static void
ngx_http_llm_router_redis_wait_done(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_llm_router_redis_t *rd = privdata;

    ngx_uint_t   ok;
    redisReply  *reply;

    if (!rd->waiting) {
        return;
    }

    reply = r;

    rd->waiting = 0;
    rd->flushing = 0;

    if (rd->timeout.timer_set) {
        ngx_del_timer(&rd->timeout);
    }

    ok = (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer >= 1);

    ngx_http_llm_router_batch_end(rd->zone, &rd->batch, ok);

    if (ok) {
        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_UP,
                                        NULL);

        if (rd->unreplicated) {
            rd->unreplicated = 0;
            ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                          "llm_router: a replica of redis \"%V\" has the "
                          "fleet's counters again", &rd->conf->master);
        }

    } else if (reply && rd->ac == ac && !rd->unreplicated) {
        rd->unreplicated = 1;
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "llm_router: no replica of redis \"%V\" took the "
                      "counters within the timeout: they are sent again "
                      "until one does", &rd->conf->master);
    }

    if (rd->pool) {
        ngx_destroy_pool(rd->pool);
        rd->pool = NULL;
    }
}


/*
 * AUTH [user] password, when there is a password, queued before what
 * follows on the connection: NGX_OK, or the connection is closed.
 */

static ngx_int_t
ngx_http_llm_router_redis_auth(ngx_http_llm_router_redis_t *rd,
    ngx_str_t *user, ngx_str_t *password)
{
    int  rc;

    if (user->len) {
        rc = redisAsyncCommand(rd->ac, ngx_http_llm_router_redis_auth_done,
                               rd, "AUTH %b %b", user->data, user->len,
                               password->data, password->len);

    } else if (password->len) {
        rc = redisAsyncCommand(rd->ac, ngx_http_llm_router_redis_auth_done,
                               rd, "AUTH %b", password->data, password->len);

    } else {
        return NGX_OK;
    }

    if (rc != REDIS_OK) {
        ngx_http_llm_router_redis_close(rd, "cannot queue AUTH");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * An AUTH or SELECT refused: the error closes the connection.  A sentinel
 * that refused is named, and the next one is asked next time (the
 * question queued behind gets no answer, reply NULL).
 */

static void
ngx_http_llm_router_redis_auth_done(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_http_llm_router_redis_t *rd = privdata;

    u_char      *p, buf[160];
    redisReply  *reply;

    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ERROR || rd->ac != ac) {
        return;
    }

    p = buf;

    if (rd->asking) {
        p = ngx_snprintf(p, 64, "sentinel %s:%i: ",
                         rd->conf->sentinel_host[rd->sentinel],
                         rd->conf->sentinel_port[rd->sentinel]);
        rd->sentinel++;
    }

    ngx_snprintf(p, buf + sizeof(buf) - 1 - p, "%*s%Z",
                 ngx_min(reply->len, (size_t) (buf + sizeof(buf) - 2 - p)),
                 reply->str);

    /* freeing inside a callback is deferred by hiredis until it returns */
    ngx_http_llm_router_redis_close(rd, (char *) buf);
}


static void
ngx_http_llm_router_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_http_llm_router_redis_t *rd = ac->data;

    if (rd->timeout.timer_set) {
        ngx_del_timer(&rd->timeout);
    }

    if (status != REDIS_OK) {

        /* hiredis frees the context after this callback */

        rd->ac = NULL;
        rd->state = NGX_HTTP_LLM_ROUTER_RD_DISCONNECTED;

        if (rd->asking) {
            rd->sentinel++;         /* the next one, next time */
        }

        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
                                        ac->errstr);
        return;
    }

    if (rd->asking) {
        /* the question is queued; its answer says where the primary is */
        ngx_add_timer(&rd->timeout, rd->conf->timeout);
        return;
    }

    rd->state = NGX_HTTP_LLM_ROUTER_RD_READY;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "llm_router: redis connected");

    if (!rd->flushing) {
        (void) ngx_http_llm_router_redis_flush(rd);
    }
}


static void
ngx_http_llm_router_redis_disconnected(const redisAsyncContext *ac,
    int status)
{
    ngx_http_llm_router_redis_t *rd = ac->data;

    /* hiredis frees the context after this callback */

    rd->ac = NULL;
    rd->state = NGX_HTTP_LLM_ROUTER_RD_DISCONNECTED;

    if (rd->timeout.timer_set) {
        ngx_del_timer(&rd->timeout);
    }

    if (rd->reply_over) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "llm_router: a Redis reply is larger than "
                      "max_reply=%uz bytes, connection closed",
                      rd->conf->max_reply);
    }

    if (!ngx_exiting && !ngx_quit && !rd->exiting) {
        ngx_http_llm_router_redis_state(rd, NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
                                        rd->reply_over
                                        ? "reply larger than max_reply"
                                        : status == REDIS_OK
                                        ? "connection closed" : ac->errstr);
    }
}


/* records the state in the zone; a change is logged once per instance */

static void
ngx_http_llm_router_redis_state(ngx_http_llm_router_redis_t *rd,
    ngx_uint_t state, const char *error)
{
    u_char                        old[128];
    ngx_uint_t                    changed;
    ngx_http_llm_router_zone_t   *zone;
    ngx_http_llm_router_shctx_t  *sh;

    zone = rd->zone;
    sh = zone->sh;

    ngx_shmtx_lock(&zone->shpool->mutex);

    changed = (sh->redis_state != state);
    ngx_memcpy(old, sh->redis_error, sizeof(old));

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_llm_router_redis_status(zone, state, error);

    if (!changed) {
        return;
    }

    if (state == NGX_HTTP_LLM_ROUTER_REDIS_UP) {
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "llm_router: redis %s%V is up, fleet state synced",
                      rd->conf->unix_path.len ? "unix:" : "",
                      rd->conf->unix_path.len ? &rd->conf->unix_path
                                              : &rd->conf->host);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                  "llm_router: redis %s%V is down (%s), counting in shared "
                  "memory until it is back",
                  rd->conf->unix_path.len ? "unix:" : "",
                  rd->conf->unix_path.len ? &rd->conf->unix_path
                                          : &rd->conf->host,
                  error ? error : "unknown error");
}


/* the reply's size ------------------------------------------------ */


/*
 * A reply's top object starts the count: an array is created before its
 * elements, a string or an integer is the whole reply.
 */

static ngx_int_t
ngx_http_llm_router_reply_count(const redisReadTask *task, size_t size)
{
    ngx_http_llm_router_redis_t  *rd;

    rd = ngx_http_llm_router_rd;

    if (rd == NULL) {
        return NGX_OK;
    }

    if (task->parent == NULL) {
        rd->reply_size = 0;
    }

    rd->reply_size += size + NGX_HTTP_LLM_ROUTER_REPLY_OBJECT;

    if (rd->reply_size > rd->conf->max_reply) {
        rd->reply_over = 1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void *
ngx_http_llm_router_reply_string(const redisReadTask *task, char *str,
    size_t len)
{
    if (ngx_http_llm_router_reply_count(task, len) != NGX_OK) {
        return NULL;
    }

    return ngx_http_llm_router_reply_default->createString(task, str, len);
}


static void *
ngx_http_llm_router_reply_array(const redisReadTask *task, int elements)
{
    if (ngx_http_llm_router_reply_count(task, (size_t) elements
                                              * sizeof(redisReply *))
        != NGX_OK)
    {
        return NULL;
    }

    return ngx_http_llm_router_reply_default->createArray(task, elements);
}


static void *
ngx_http_llm_router_reply_integer(const redisReadTask *task, long long value)
{
    if (ngx_http_llm_router_reply_count(task, 0) != NGX_OK) {
        return NULL;
    }

    return ngx_http_llm_router_reply_default->createInteger(task, value);
}


static void *
ngx_http_llm_router_reply_nil(const redisReadTask *task)
{
    if (ngx_http_llm_router_reply_count(task, 0) != NGX_OK) {
        return NULL;
    }

    return ngx_http_llm_router_reply_default->createNil(task);
}


static void
ngx_http_llm_router_reply_free(void *reply)
{
    ngx_http_llm_router_reply_default->freeObject(reply);
}


/* the adapter ------------------------------------------------------- */


static void
ngx_http_llm_router_redis_read(ngx_event_t *ev)
{
    int                           n;
    ngx_uint_t                    i;
    ngx_socket_t                  fd;
    ngx_connection_t             *c;
    ngx_http_llm_router_redis_t  *rd;

    c = ev->data;
    rd = c->data;

    if (ngx_http_llm_router_redis_closing(rd, c)) {
        return;
    }

    fd = c->fd;

    /*
     * hiredis reads at most 16 KB a call; with edge-triggered events the
     * rest of a large reply would wait for an edge that never comes
     */

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_READS_MAX; i++) {

        if (rd->ac == NULL) {
            return;
        }

        redisAsyncHandleRead(rd->ac);

        if (rd->ac == NULL || rd->c == NULL
            || ioctl(fd, FIONREAD, &n) == -1 || n == 0)
        {
            return;
        }
    }

    ngx_post_event(c->read, &ngx_posted_events);
}


static void
ngx_http_llm_router_redis_write(ngx_event_t *ev)
{
    ngx_connection_t             *c;
    ngx_http_llm_router_redis_t  *rd;

    c = ev->data;
    rd = c->data;

    if (rd->ac) {
        redisAsyncHandleWrite(rd->ac);
    }
}


/* a graceful shutdown or reload: flush once requests are done */

static ngx_uint_t
ngx_http_llm_router_redis_closing(ngx_http_llm_router_redis_t *rd,
    ngx_connection_t *c)
{
    if (!c->close) {
        return 0;
    }

    c->close = 0;
    c->idle = 0;
    rd->exiting = 1;

    if (!rd->drain.timer_set) {
        ngx_add_timer(&rd->drain, 10);
    }

    return 1;
}


/*
 * TLS: hiredis never touches the socket.  The first write event is the
 * end of hiredis's non-blocking connect: the handshake starts; once it
 * is over and the certificate checked, hiredis is told it is connected
 * and what it queued (AUTH, SELECT) is sent.
 */

static void
ngx_http_llm_router_redis_tls_write(ngx_event_t *ev)
{
    u_char                        err[128];
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_http_llm_router_redis_t  *rd;

    c = ev->data;
    rd = c->data;

    if (rd->ac == NULL) {
        return;
    }

    if (rd->ac->c.flags & REDIS_CONNECTED) {
        ngx_http_llm_router_redis_tls_flush(rd);

        /* an SSL_read that waited for the socket to be writable */

        if (rd->c == c) {
            ngx_post_event(c->read, &ngx_posted_events);
        }

        return;
    }

    if (c->ssl) {
        return;
    }

    rc = ngx_http_llm_router_redis_tls_handshake(c, rd->conf, &rd->tls_name,
                                         ngx_http_llm_router_redis_tls_ready,
                                         err, sizeof(err));

    if (rc == NGX_ERROR) {
        ngx_http_llm_router_redis_close(rd, (char *) err);
        return;
    }

    if (rc == NGX_OK) {
        ngx_http_llm_router_redis_tls_ready(c);
    }
}


static void
ngx_http_llm_router_redis_tls_ready(ngx_connection_t *c)
{
    ngx_http_llm_router_redis_t *rd = c->data;

    u_char  err[128];

    /* the handshake's handlers had the events */

    c->read->handler = ngx_http_llm_router_redis_tls_read;
    c->write->handler = ngx_http_llm_router_redis_tls_write;

    if (rd->ac == NULL) {
        return;
    }

    /*
     * A bad certificate is logged when the state changes, once, and shown
     * in llm_status's redis.error until the connection succeeds.
     */

    if (ngx_http_llm_router_redis_tls_verify(c, rd->conf, &rd->tls_name,
                                             err, sizeof(err))
        != NGX_OK)
    {
        ngx_http_llm_router_redis_close(rd, (char *) err);
        return;
    }

    rd->ac->c.flags |= REDIS_CONNECTED;

    ngx_http_llm_router_redis_connected(rd->ac, REDIS_OK);

    if (rd->ac == NULL || rd->c == NULL) {
        return;
    }

    ngx_http_llm_router_redis_tls_flush(rd);

    /* a graceful shutdown that came during the handshake */

    if (rd->c && rd->c->close) {
        ngx_post_event(rd->c->read, &ngx_posted_events);
    }
}


/* what hiredis queued, through SSL; then the replies are awaited */

static void
ngx_http_llm_router_redis_tls_flush(ngx_http_llm_router_redis_t *rd)
{
    u_char     err[128];
    ngx_int_t  rc;

    rc = ngx_http_llm_router_redis_tls_send(rd->c, rd->ac, err, sizeof(err));

    if (rc == NGX_ERROR) {
        ngx_http_llm_router_redis_close(rd, (char *) err);
        return;
    }

    if (rc == NGX_AGAIN) {
        ngx_http_llm_router_redis_add_write(rd);

    } else {
        ngx_http_llm_router_redis_del_write(rd);
    }

    ngx_http_llm_router_redis_add_read(rd);
}


/*
 * The replies: SSL_read into hiredis's reader, then hiredis runs their
 * callbacks in order (and closes the connection on a reply past
 * max_reply, as with plain text).
 */

static void
ngx_http_llm_router_redis_tls_read(ngx_event_t *ev)
{
    u_char                        err[128];
    ngx_int_t                     rc;
    ngx_uint_t                    i;
    ngx_connection_t             *c;
    ngx_http_llm_router_redis_t  *rd;

    c = ev->data;
    rd = c->data;

    if (ngx_http_llm_router_redis_closing(rd, c)) {
        return;
    }

    for (i = 0; i < NGX_HTTP_LLM_ROUTER_READS_MAX; i++) {

        if (rd->ac == NULL || !(rd->ac->c.flags & REDIS_CONNECTED)) {
            return;
        }

        rc = ngx_http_llm_router_redis_tls_recv(c, rd->ac, err, sizeof(err));

        if (rc == NGX_AGAIN) {

            /* an SSL_write that waited for the socket to be readable */

            if (sdslen(rd->ac->c.obuf)) {
                ngx_http_llm_router_redis_tls_flush(rd);
            }

            return;
        }

        if (rc == NGX_ERROR) {
            ngx_http_llm_router_redis_close(rd, (char *) err);
            return;
        }

        redisProcessCallbacks(rd->ac);

        if (rd->ac == NULL || rd->c != c) {
            return;
        }
    }

    /* the rest next time round the event loop: other events go first */

    ngx_post_event(c->read, &ngx_posted_events);
}


static void
ngx_http_llm_router_redis_add_read(void *privdata)
{
    ngx_http_llm_router_redis_t *rd = privdata;

    if (rd->c && !rd->c->read->active) {
        (void) ngx_add_event(rd->c->read, NGX_READ_EVENT,
                             (ngx_event_flags & NGX_USE_CLEAR_EVENT)
                             ? NGX_CLEAR_EVENT : NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_llm_router_redis_del_read(void *privdata)
{
    ngx_http_llm_router_redis_t *rd = privdata;

    if (rd->c && rd->c->read->active) {
        (void) ngx_del_event(rd->c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_llm_router_redis_add_write(void *privdata)
{
    ngx_http_llm_router_redis_t *rd = privdata;

    if (rd->c && !rd->c->write->active) {
        (void) ngx_add_event(rd->c->write, NGX_WRITE_EVENT,
                             (ngx_event_flags & NGX_USE_CLEAR_EVENT)
                             ? NGX_CLEAR_EVENT : NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_llm_router_redis_del_write(void *privdata)
{
    ngx_http_llm_router_redis_t *rd = privdata;

    if (rd->c && rd->c->write->active) {
        (void) ngx_del_event(rd->c->write, NGX_WRITE_EVENT, 0);
    }
}


/*
 * hiredis closes the socket itself (redisFree) right after this hook:
 * only nginx's connection slot is released here, with its fd marked
 * closed so that the worker's exit does not report it as left open.
 */

static void
ngx_http_llm_router_redis_cleanup(void *privdata)
{
    ngx_http_llm_router_redis_t *rd = privdata;

    ngx_connection_t  *c;

    c = rd->c;

    if (c == NULL) {
        return;
    }

    rd->c = NULL;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_http_llm_router_redis_tls_free(c);

    if (c->pool) {
        ngx_destroy_pool(c->pool);
        c->pool = NULL;
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}
