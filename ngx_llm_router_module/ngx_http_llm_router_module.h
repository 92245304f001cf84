
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _NGX_HTTP_LLM_ROUTER_MODULE_H_INCLUDED_
#define _NGX_HTTP_LLM_ROUTER_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <llmr/core.h>
#include <llmr/api.h>
#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/registry.h>
#include <llmr/policy.h>
#include <llmr/rewrite.h>
#include <llmr/usage.h>
#include <llmr/health.h>
#include <llmr/adjust.h>
#include <llmr/feedback.h>
#include <llmr/budget.h>
#include <llmr/decide.h>
#include <llmr/translate.h>


#define NGX_HTTP_LLM_ROUTER_VERSION     LLMR_VERSION

#define NGX_HTTP_LLM_ROUTER_OFF         0
#define NGX_HTTP_LLM_ROUTER_ON          1
#define NGX_HTTP_LLM_ROUTER_FALLBACK    2

#define NGX_HTTP_LLM_ROUTER_ERR_REJECT  0
#define NGX_HTTP_LLM_ROUTER_ERR_DEFAULT 1

#define NGX_HTTP_LLM_ROUTER_REASON_LEN  256


typedef struct {
    ngx_str_t                       host;       /* numeric, NUL-terminated;
                                                   or the name, resolved at
                                                   each connect */
    ngx_int_t                       port;
    ngx_resolver_t                 *resolver;   /* a name's, or NULL */
    ngx_msec_t                      resolver_timeout;

    /* sentinel=: the sentinels asked for the primary of "master=" */
#define NGX_HTTP_LLM_ROUTER_SENTINELS_MAX  8
    u_char                          sentinel_host
                                        [NGX_HTTP_LLM_ROUTER_SENTINELS_MAX]
                                        [NGX_SOCKADDR_STRLEN + 1];
    ngx_int_t                       sentinel_port
                                        [NGX_HTTP_LLM_ROUTER_SENTINELS_MAX];
    ngx_uint_t                      nsentinels;
    ngx_str_t                       master;
    ngx_str_t                       sentinel_user;
    ngx_str_t                       sentinel_password;  /* never shown */
    ngx_str_t                       unix_path;  /* NUL-terminated */
    ngx_str_t                       user;       /* an ACL user, or empty */
    ngx_str_t                       password;   /* never logged or shown */
    ngx_int_t                       db;
    ngx_str_t                       prefix;
    ngx_str_t                       fleet_key;  /* "{prefix}:fleet" */
    ngx_str_t                       health_key; /* "{prefix}:health" */
    ngx_msec_t                      flush;
    ngx_msec_t                      timeout;
    size_t                          max_reply;  /* bytes of one reply */

    /* tls=on: nginx's own SSL on the connection to the primary */
    ngx_flag_t                      tls;
    ngx_flag_t                      tls_verify; /* NGX_CONF_UNSET: on */
    ngx_str_t                       tls_ca;     /* NUL-terminated, or empty:
                                                   the system's CAs */
    ngx_str_t                       tls_name;   /* what the certificate
                                                   names; empty: the host */
    ngx_str_t                       tls_cert;   /* a client certificate */
    ngx_str_t                       tls_key;
#if (NGX_SSL)
    ngx_ssl_t                      *ssl;        /* NULL: plain text */
#endif
} ngx_http_llm_router_redis_conf_t;


#define NGX_HTTP_LLM_ROUTER_BUDGET_REJECT       0
#define NGX_HTTP_LLM_ROUTER_BUDGET_DOWNGRADE    1
#define NGX_HTTP_LLM_ROUTER_BUDGETS_MAX         LLMR_DECIDE_BUDGETS_MAX
#define NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES      1024


typedef struct {
    ngx_str_t                       name;
    uint64_t                        limit;          /* micro-USD */
    time_t                          period;
    ngx_http_complex_value_t       *key;            /* NULL: global */
    ngx_uint_t                      mode;
    ngx_uint_t                      downgrade_at;   /* percent */
} ngx_http_llm_router_budget_t;


/* a budget's key for one period, in the zone, under its mutex */

typedef llmr_budget_entry_t  ngx_http_llm_router_budget_entry_t;


typedef struct {
    ngx_uint_t                      entry;
    uint64_t                        id;
    time_t                          period_start;
    int64_t                         reserved;
} ngx_http_llm_router_budget_res_t;


typedef struct {
    ngx_flag_t                      enabled;
    ngx_flag_t                      fail_open;
    llmr_health_conf_t              c;
} ngx_http_llm_router_health_conf_t;


typedef struct {
    llmr_registry_t                *registry;
    llmr_classifier_t              *classifier; /* NULL: the built-in */
    llmr_learn_conf_t               learn;
    ngx_flag_t                      learn_enabled;
    ngx_flag_t                      implicit;
    ngx_int_t                       request_id_index;
    ngx_array_t                     budgets;    /* every llm_budget */
    ngx_http_llm_router_health_conf_t health;
    ngx_shm_zone_t                 *shm_zone;
    ngx_http_llm_router_redis_conf_t *redis;
    ngx_flag_t                      feedback;   /* an llm_feedback endpoint:
                                                   decisions go to Redis */
    ngx_array_t                     model_lines;    /* ngx_conf_t locations */
    ngx_uint_t                      routed;         /* llm_route is used */
    ngx_str_t                       reference_name; /* llm_reference_model */
    ngx_int_t                       reference;      /* its index, or -1 */
    ngx_str_t                       state;          /* llm_feedback_state */
    ngx_msec_t                      state_interval;

    /*
     * The provider keys of models with key_file=, read at configuration
     * time, by model index (len 0: none).  Never logged nor shown.
     */
    ngx_str_t                      *keys;

    /* llm_passthrough: the model whose upstream takes an API's other
       endpoints, by name, then index (-1: the API has no model) */
    ngx_str_t                       pass_name[LLMR_API_N];
    ngx_int_t                       pass[LLMR_API_N];
} ngx_http_llm_router_main_conf_t;


typedef struct {
    ngx_uint_t                      route;
    size_t                          max_body;
    ngx_uint_t                      on_error;
    ngx_uint_t                      default_tier;
    ngx_flag_t                      client_model;
    ngx_flag_t                      client_tier;
    ngx_uint_t                      max_attempts;
    ngx_flag_t                      stream_usage;
    ngx_int_t                       profile;
    ngx_array_t                    *budgets;    /* this location's */

    ngx_uint_t                      escalate;   /* confidence %, 0: off */
    ngx_uint_t                      escalate_mode;  /* LLMR_ESCALATE_* */
    ngx_str_t                       escalate_to;    /* a model, or tier+1 */

    ngx_uint_t                      ab_split;   /* per 10000, 0: off */
    ngx_uint_t                      ab_strategy;    /* LLMR_AB_* */

    llmr_adjust_conf_t              adjust;     /* the above, merged */
    ngx_flag_t                      explain_header;

    ngx_str_t                       feedback_secret;
    ngx_flag_t                      translate;
} ngx_http_llm_router_loc_conf_t;


typedef struct {
    llmr_request_t                  req;        /* text views cleared */
    llmr_class_t                    cls;
    llmr_decision_t                 dec;

    /* the request's API and endpoint; the views point into uri, a copy */
    llmr_endpoint_t                 ep;
    ngx_str_t                       uri;

    ngx_chain_t                    *orig_bufs;
    off_t                           orig_len;

    ngx_uint_t                      status;     /* error to answer */
    const char                     *err_code;
    ngx_str_t                       err_msg;

    ngx_str_t                       reason;     /* $llm_reason */

    unsigned                        body_requested:1;
    unsigned                        decided:1;
    unsigned                        parsed:1;
    unsigned                        defaulted:1;
    unsigned                        explain:1;
    unsigned                        accounted:1;
    unsigned                        probe:1;    /* a half-open probe */
    unsigned                        gave_up:1;  /* every attempt failed */
    unsigned                        passthrough:1;  /* not a generation */

    ngx_uint_t                      attempt;    /* 1, 2, ... */
    ngx_int_t                       floor;      /* the lowest tier the
                                                   request may be served
                                                   at, or -1: its class */
    uint64_t                        failed;     /* models that failed */
    ngx_int_t                       fallback_mark;
    ngx_str_t                       failed_names;   /* $llm_failed_models */

    llmr_usage_t                   *usage;      /* the answer's reader */
    unsigned                        usage_done:1;

    ngx_http_llm_router_budget_res_t
                                    budget_res[NGX_HTTP_LLM_ROUTER_BUDGETS_MAX];
    ngx_uint_t                      nbudgets;
    ngx_http_llm_router_budget_t   *budget_hit;

    ngx_uint_t                      bucket;     /* domain x class tier */
    llmr_adjust_t                   adj;    /* learned, escalation, A/B */
    unsigned                        suggested_sent:1;
    unsigned                        id_sent:1;

    uint64_t                        fb_hash;    /* the id's, 0: not yet */

    /* translation to another API (ngx_http_llm_router_translate.c) */
    ngx_str_t                       flat;       /* the body, whole */
    ngx_uint_t                      xserial;    /* its parse, per worker */
    int                             xformat;    /* the client's format */
    unsigned                        xapis;      /* APIs it may go to */
    char                          (*xwhy)[LLMR_UNTRANSLATABLE_MAX];
    const char                     *xuntranslatable[LLMR_API_N];
    llmr_xans_t                    *xans;       /* the answer's writer */
    ngx_chain_t                    *xin;        /* the provider's, unread */
    ngx_chain_t                    *xfree;
    ngx_chain_t                    *xbusy;
    ngx_http_event_handler_pt       xwriter;    /* the upstream's, driven */
    unsigned                        translatable:1; /* parsed, may go */
    unsigned                        xlazy:1;    /* may go, not parsed */
    unsigned                        xno_sse:1;  /* a Gemini stream without
                                                   alt=sse: stays */
    unsigned                        xlate:1;    /* this attempt is */
    unsigned                        xstream:1;  /* the client streams */
    unsigned                        xstream_ep:1;   /* ep.stream before */
    unsigned                        xans_active:1;  /* this answer's */
    unsigned                        xdefer:1;   /* its header waits */
    unsigned                        xans_done:1;
    unsigned                        xans_stream:1;
    unsigned                        xans_ignore:1;  /* unreadable answer */

    /* a stream's end (ngx_http_llm_router_stream.c) */
    void                          (*upstream_finalize)(ngx_http_request_t *r,
                                        ngx_int_t rc);
    ngx_int_t                       upstream_rc;
    ngx_uint_t                      stream_fault;   /* 502, 504, or 0 */
    u_char                         *held;       /* an event's first part */
    size_t                          held_len;
    size_t                          held_size;
    unsigned                        sse_state;
    unsigned                        sse:1;
    unsigned                        hold_off:1;
    unsigned                        stream_ended:1;
} ngx_http_llm_router_ctx_t;


/*
 * Counters in the shared zone.  Each key (all requests, a tier, a domain,
 * a model) has the same counter set; every counter keeps the instance's
 * running total, what Redis has acknowledged, the delta of the batch in
 * flight, and the fleet-wide value read back from Redis.
 */

enum {
    NGX_HTTP_LLM_ROUTER_C_REQUESTS = 0,
    NGX_HTTP_LLM_ROUTER_C_ERR_4XX,
    NGX_HTTP_LLM_ROUTER_C_ERR_429,
    NGX_HTTP_LLM_ROUTER_C_ERR_5XX,
    NGX_HTTP_LLM_ROUTER_C_ERR_TIMEOUT,
    NGX_HTTP_LLM_ROUTER_C_INPUT_TOKENS,
    NGX_HTTP_LLM_ROUTER_C_OUTPUT_TOKENS,
    NGX_HTTP_LLM_ROUTER_C_COST,             /* micro-USD, all */
    NGX_HTTP_LLM_ROUTER_C_COST_EST,         /* micro-USD, estimated part */
    NGX_HTTP_LLM_ROUTER_C_REF_COST,         /* micro-USD, on the reference */
    NGX_HTTP_LLM_ROUTER_C_LATENCY,          /* ms, sum */
    NGX_HTTP_LLM_ROUTER_C_HIST,             /* latency buckets follow */
    NGX_HTTP_LLM_ROUTER_C_N = NGX_HTTP_LLM_ROUTER_C_HIST + 12
};

#define NGX_HTTP_LLM_ROUTER_HIST_N      LLMR_HEALTH_HIST_N


typedef struct {
    ngx_atomic_t                    total[NGX_HTTP_LLM_ROUTER_C_N];
    ngx_atomic_t                    acked[NGX_HTTP_LLM_ROUTER_C_N];
    ngx_atomic_t                    pending[NGX_HTTP_LLM_ROUTER_C_N];
    ngx_atomic_t                    fleet[NGX_HTTP_LLM_ROUTER_C_N];
} ngx_http_llm_router_stat_t;


#define NGX_HTTP_LLM_ROUTER_SLOTS       128

typedef struct {
    u_char                          name[LLMR_NAME_MAX + 1];
    size_t                          len;
    ngx_uint_t                      local;      /* configured here once */
    ngx_http_llm_router_stat_t      stat;
    llmr_health_t                   health;     /* under the mutex */

    /* requests it served translated, by the client's API (instance's) */
    ngx_atomic_t                    translated[LLMR_API_N];
} ngx_http_llm_router_slot_t;


/*
 * The operator surface: the instance's recent rate in steps of 10 s (the
 * forecast and the dashboard's timeline), and the last routing decisions;
 * both under the zone's mutex, written in the log phase.
 */

#define NGX_HTTP_LLM_ROUTER_RATE_STEP   10
#define NGX_HTTP_LLM_ROUTER_RATE_N      60

typedef struct {
    time_t                          epoch;      /* time / step */
    uint64_t                        requests;
    uint64_t                        errors;
    uint64_t                        cost;       /* micro-USD */
    uint64_t                        ref_cost;   /* micro-USD */
} ngx_http_llm_router_rate_t;


#define NGX_HTTP_LLM_ROUTER_DECISIONS   256
#define NGX_HTTP_LLM_ROUTER_ID_LEN      48

typedef struct {
    uint64_t                        msec;       /* unix ms, logged */
    uint64_t                        cost;       /* micro-USD */
    uint64_t                        ref_cost;
    uint32_t                        latency;    /* ms, -1: no answer */
    uint16_t                        status;
    int16_t                         slot;       /* -1: not routed */
    uint16_t                        score;      /* 1/10000 */
    uint16_t                        confidence; /* 1/10000 */
    uint8_t                         tier;
    uint8_t                         domain;
    uint8_t                         attempts;
    uint8_t                         id_len;
    u_char                          id[NGX_HTTP_LLM_ROUTER_ID_LEN];
    u_char                          reason[136];    /* NUL-terminated */
} ngx_http_llm_router_decision_t;


typedef enum {
    NGX_HTTP_LLM_ROUTER_REDIS_OFF = 0,
    NGX_HTTP_LLM_ROUTER_REDIS_DOWN,
    NGX_HTTP_LLM_ROUTER_REDIS_UP
} ngx_http_llm_router_redis_state_e;


/*
 * The feedback loop.  A bucket is a class of prompts: the classifier's
 * domain and tier.  For each bucket and each tier it was served at, the
 * weighted number of quality samples and their weighted sum (both in
 * thousandths), with the same total/acked/pending/fleet scheme as the
 * other counters, so that they add up exactly across the fleet.
 */

#define NGX_HTTP_LLM_ROUTER_BUCKETS     (LLMR_DOMAIN_N * LLMR_TIER_N)

typedef struct {
    ngx_atomic_t                    total[2];       /* weight, quality */
    ngx_atomic_t                    acked[2];
    ngx_atomic_t                    pending[2];
    ngx_atomic_t                    fleet[2];
} ngx_http_llm_router_learn_t;


/*
 * A bucket's sum at a tier (c: 0 the weight, 1 the quality), in
 * thousandths: the fleet's once Redis has answered (fleet), plus what
 * this instance has counted and Redis has not acknowledged.  Without
 * Redis nothing is acknowledged but by a reset, which marks every sum so.
 */

static ngx_inline uint64_t
ngx_http_llm_router_learn_sum(ngx_http_llm_router_learn_t *l, ngx_uint_t c,
    ngx_uint_t fleet)
{
    return (fleet ? l->fleet[c] : 0) + l->total[c] - l->acked[c];
}


/* a routed request's decision, by request id, for feedback; no text */

typedef struct {
    uint64_t                        id;             /* hash of the id */
    uint32_t                        time;
    uint16_t                        score;          /* x 10000 */
    uint8_t                         bucket;
    uint8_t                         tier;           /* served */
    uint8_t                         slot;           /* model's, +1 */
    uint8_t                         rated:1;
    uint8_t                         unsent:1;       /* not in Redis yet */
} ngx_http_llm_router_fb_entry_t;


typedef struct {
    ngx_http_llm_router_stat_t      all;
    ngx_http_llm_router_stat_t      tiers[LLMR_TIER_N];
    ngx_http_llm_router_stat_t      domains[LLMR_DOMAIN_N];
    ngx_atomic_t                    rejected;
    ngx_atomic_t                    defaulted;

    /* the requests passed through untouched, by API and endpoint */
    ngx_atomic_t                    passthrough[LLMR_API_N][LLMR_EP_N];
    ngx_atomic_t                    fallbacks;
    ngx_atomic_t                    escalations;
    ngx_atomic_t                    escalations_suggested;
    ngx_atomic_t                    budget_rejects;
    ngx_atomic_t                    budget_downgrades;
    ngx_atomic_t                    ab_requests[2];
    ngx_atomic_t                    ab_cost[2];     /* micro-USD */

    ngx_uint_t                      nslots;
    ngx_uint_t                      slots_full;     /* logged once */
    ngx_http_llm_router_slot_t      slots[NGX_HTTP_LLM_ROUTER_SLOTS];

    /* the fleet sync, under the zone's mutex */
    u_char                          instance[17];   /* hex, per start */
    uint64_t                        seq;            /* next batch */
    ngx_uint_t                      batch;          /* a batch in flight */
    ngx_pid_t                       flusher;
    ngx_msec_t                      flush_deadline;
    time_t                          last_flush;     /* acknowledged */
    time_t                          last_attempt;
    ngx_uint_t                      fleet_known;
    ngx_uint_t                      redis_state;
    u_char                          redis_error[128];

    ngx_http_llm_router_budget_entry_t
                            budget_entries[NGX_HTTP_LLM_ROUTER_BUDGET_ENTRIES];

    /* the operator surface, under the zone's mutex */
    time_t                          started;        /* first request */
    ngx_http_llm_router_rate_t      rate[NGX_HTTP_LLM_ROUTER_RATE_N];
    uint64_t                        ndecisions;     /* ever written */
    ngx_http_llm_router_decision_t  decisions[NGX_HTTP_LLM_ROUTER_DECISIONS];

    /* the feedback loop, under the zone's mutex */
    ngx_http_llm_router_learn_t     learn[NGX_HTTP_LLM_ROUTER_BUCKETS]
                                         [LLMR_TIER_N];
    int8_t                          offset[NGX_HTTP_LLM_ROUTER_BUCKETS];
    float                           shift[NGX_HTTP_LLM_ROUTER_BUCKETS];
    uint8_t                         proposed[NGX_HTTP_LLM_ROUTER_BUCKETS];
    ngx_atomic_t                    feedback_explicit;
    ngx_atomic_t                    feedback_implicit;
    ngx_atomic_t                    feedback_duplicate;
    ngx_atomic_t                    feedback_unknown;
    ngx_http_llm_router_fb_entry_t *fb;             /* slab, fb_n entries */
    ngx_uint_t                      fb_n;
    ngx_uint_t                      learn_reset;    /* tell the fleet */
    time_t                          state_saved;    /* llm_feedback_state */
    u_char                          state_error[256];
} ngx_http_llm_router_shctx_t;


typedef struct {
    ngx_http_llm_router_shctx_t    *sh;
    ngx_slab_pool_t                *shpool;
    ngx_http_llm_router_main_conf_t *lmcf;
    /* model index -> slot, resolved once per cycle */
    ngx_http_llm_router_slot_t     *model_slot[LLMR_MODELS_MAX];
} ngx_http_llm_router_zone_t;


typedef struct {
    ngx_uint_t                      counter;
    ngx_atomic_uint_t               value;
} ngx_http_llm_router_add_t;


typedef struct {
    ngx_uint_t                      status;
    ngx_msec_t                      latency;    /* -1: no upstream answer */
    ngx_msec_t                      retry_after;
    ngx_uint_t                      counter;    /* error class, or 0 */
    unsigned                        upstream:1; /* reached the provider */
    unsigned                        timeout:1;
    unsigned                        failed:1;   /* the model's fault */
} ngx_http_llm_router_outcome_t;


/* one flush: field names and delta values, built under the mutex */

typedef struct {
    ngx_array_t                     argv;       /* char * */
    ngx_array_t                     argvlen;    /* size_t */
    uint64_t                        seq;
    ngx_uint_t                      deltas;     /* counter pairs */
    ngx_uint_t                      health;     /* health pairs after */
    ngx_uint_t                      decisions;  /* decision pairs after */
    ngx_uint_t                      offsets;    /* offset pairs after */
    ngx_uint_t                      reset;      /* forget learned sums */
    ngx_array_t                     leases;     /* budget_res_t */
    ngx_array_t                     sent;       /* fb entry indexes */
} ngx_http_llm_router_batch_t;


/*
 * What a Redis command calls with its reply (NULL: the connection went
 * away first): hiredis's redisCallbackFn, without hiredis's headers.
 */

struct redisAsyncContext;

typedef void (*ngx_http_llm_router_redis_done_pt)(
    struct redisAsyncContext *ac, void *reply, void *data);


extern ngx_module_t  ngx_http_llm_router_module;


/* ngx_http_llm_router_handler.c */
ngx_int_t ngx_http_llm_router_handler(ngx_http_request_t *r);
void ngx_http_llm_router_body_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_router_error_page_handler(ngx_http_request_t *r);
ngx_http_llm_router_ctx_t *ngx_http_llm_router_create_ctx(
    ngx_http_request_t *r);
ngx_http_llm_router_ctx_t *ngx_http_llm_router_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_llm_router_init_extractor(ngx_cycle_t *cycle);

/* ngx_http_llm_router_http.c */
u_char *ngx_http_llm_router_header(ngx_http_request_t *r, ngx_str_t *name);
ngx_int_t ngx_http_llm_router_header_value(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
ngx_uint_t ngx_http_llm_router_memeq(u_char *a, u_char *b, size_t n);
ngx_int_t ngx_http_llm_router_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, ngx_str_t *msg);
ngx_int_t ngx_http_llm_router_send_json(ngx_http_request_t *r,
    ngx_uint_t status, ngx_buf_t *b);

/* ngx_http_llm_router_explain.c */
char *ngx_http_llm_router_explain(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_llm_router_send_explain(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);

/* ngx_http_llm_router_module.c */
ngx_int_t ngx_http_llm_router_read_secret(ngx_conf_t *cf, ngx_str_t *file,
    const char *what, ngx_uint_t spaces, ngx_str_t *secret);
void ngx_http_llm_router_free_extractor(void);
extern ngx_uint_t  ngx_http_llm_router_active;

/* ngx_http_llm_router_body.c */
ngx_int_t ngx_http_llm_router_feed_body(ngx_http_request_t *r,
    llmr_extract_t *x);
ngx_int_t ngx_http_llm_router_set_length(ngx_http_request_t *r, off_t len);
ngx_int_t ngx_http_llm_router_rewrite_body(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const llmr_rewrite_t *rw);

/* ngx_http_llm_router_redis.c */
char *ngx_http_llm_router_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_llm_router_redis_resolver(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc);
ngx_int_t ngx_http_llm_router_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_llm_router_main_conf_t *lmcf);
void ngx_http_llm_router_redis_exit_process(ngx_cycle_t *cycle);
void ngx_http_llm_router_redis_kick(void);
ngx_int_t ngx_http_llm_router_redis_feedback(uint64_t id, ngx_uint_t local,
    ngx_http_llm_router_redis_done_pt done, void *data);

/* ngx_http_llm_router_redis_tls.c */
ngx_int_t ngx_http_llm_router_redis_tls_param(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *v);
char *ngx_http_llm_router_redis_tls_init(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc);
ngx_int_t ngx_http_llm_router_redis_tls_handshake(ngx_connection_t *c,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *name,
    ngx_connection_handler_pt done, u_char *err, size_t len);
ngx_int_t ngx_http_llm_router_redis_tls_verify(ngx_connection_t *c,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *name, u_char *err,
    size_t len);
ngx_int_t ngx_http_llm_router_redis_tls_send(ngx_connection_t *c,
    struct redisAsyncContext *ac, u_char *err, size_t len);
ngx_int_t ngx_http_llm_router_redis_tls_recv(ngx_connection_t *c,
    struct redisAsyncContext *ac, u_char *err, size_t len);
void ngx_http_llm_router_redis_tls_free(ngx_connection_t *c);

/* ngx_http_llm_router_state.c */
char *ngx_http_llm_router_feedback_state(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_llm_router_state_load(ngx_http_llm_router_zone_t *zone,
    ngx_log_t *log);
ngx_int_t ngx_http_llm_router_state_init_process(ngx_cycle_t *cycle,
    ngx_http_llm_router_main_conf_t *lmcf);
void ngx_http_llm_router_state_exit_process(ngx_cycle_t *cycle);

/* ngx_http_llm_router_budget.c */
char *ngx_http_llm_router_budget(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_llm_router_budget_signals(ngx_http_request_t *r,
    llmr_signals_t *s);
ngx_int_t ngx_http_llm_router_budget_reserve(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, time_t *retry_after);
void ngx_http_llm_router_budget_settle(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, uint64_t cost);
u_char *ngx_http_llm_router_budget_status(u_char *p, u_char *last,
    ngx_http_llm_router_shctx_t *sh);

/* ngx_http_llm_router_module.c */
char *ngx_http_llm_router_escalate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_llm_router_ab(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_llm_router_feedback.c */
char *ngx_http_llm_router_feedback(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
uint64_t ngx_http_llm_router_fb_hash(u_char *data, size_t len);
void ngx_http_llm_router_fb_prefetch(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_str_t *id);
void ngx_http_llm_router_fb_record(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_zone_t *zone,
    ngx_uint_t redis);
ngx_int_t ngx_http_llm_router_feedback_apply(ngx_http_request_t *r,
    ngx_http_llm_router_zone_t *zone, ngx_http_llm_router_main_conf_t *lmcf,
    ngx_int_t local, uint64_t id, double quality, ngx_int_t bucket,
    ngx_int_t tier);
ngx_int_t ngx_http_llm_router_feedback_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *msg);
ngx_int_t ngx_http_llm_router_feedback_answer(ngx_http_request_t *r,
    ngx_uint_t status, const char *what);

/* ngx_http_llm_router_learn.c */
char *ngx_http_llm_router_feedback_learn(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_llm_router_learn_add(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_uint_t bucket,
    ngx_uint_t tier, double quality, double weight, ngx_log_t *log);
void ngx_http_llm_router_learn_update(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_uint_t bucket,
    ngx_log_t *log);
void ngx_http_llm_router_learn_shifts(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_main_conf_t *lmcf);

/* ngx_http_llm_router_filter.c */
ngx_int_t ngx_http_llm_router_filter_init(ngx_conf_t *cf);

ngx_int_t ngx_http_llm_router_translate_init_process(ngx_cycle_t *cycle);
void ngx_http_llm_router_translate_exit_process(void);
int ngx_http_llm_router_api_format(ngx_uint_t api);
ngx_int_t ngx_http_llm_router_translate_check(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const llmr_request_t *req,
    llmr_signals_t *s);
ngx_int_t ngx_http_llm_router_translate_resolve(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, llmr_signals_t *s);
ngx_int_t ngx_http_llm_router_translate_body(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
ngx_int_t ngx_http_llm_router_translate_header(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
void ngx_http_llm_router_translate_drive(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
ngx_int_t ngx_http_llm_router_translate_filter(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out);
void ngx_http_llm_router_stream_header(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
ngx_int_t ngx_http_llm_router_stream_filter(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out);
ngx_int_t ngx_http_llm_router_emit(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const u_char *data, size_t len,
    ngx_chain_t ***ll);
void ngx_http_llm_router_sent(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_chain_t **out);
void ngx_http_llm_router_usage_free_all(void);

/* ngx_http_llm_router_health.c */
char *ngx_http_llm_router_health(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_llm_router_health_init_conf(
    ngx_http_llm_router_health_conf_t *hc);
uint64_t ngx_http_llm_router_now_ms(void);
void ngx_http_llm_router_health_masks(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_health_conf_t *hc, ngx_uint_t n, uint64_t *down,
    uint64_t *degraded, uint64_t *half_open);
ngx_int_t ngx_http_llm_router_health_probe(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_health_conf_t *hc, ngx_int_t model);
void ngx_http_llm_router_health_record(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_health_conf_t *hc, ngx_http_llm_router_slot_t *slot,
    ngx_uint_t failed, ngx_msec_t latency, ngx_msec_t retry_after,
    ngx_uint_t probe, ngx_uint_t status, ngx_log_t *log);

/* ngx_http_llm_router_status.c */
char *ngx_http_llm_router_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_llm_router_status_init(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf);

/* ngx_http_llm_router_decisions.c */
ngx_atomic_uint_t ngx_http_llm_router_ref_cost(
    ngx_http_llm_router_main_conf_t *lmcf, ngx_atomic_uint_t in,
    ngx_atomic_uint_t out);
void ngx_http_llm_router_decision_add(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_outcome_t *o,
    uint64_t cost, uint64_t ref_cost);
ngx_int_t ngx_http_llm_router_route_header(ngx_http_request_t *r);

/* ngx_http_llm_router_variables.c */
ngx_int_t ngx_http_llm_router_add_variables(ngx_conf_t *cf);
void ngx_http_llm_router_ids_init_process(void);
ngx_int_t ngx_http_llm_router_request_id(ngx_http_request_t *r,
    ngx_str_t *id);

/* ngx_http_llm_router_shm.c */
char *ngx_http_llm_router_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_llm_router_log_handler(ngx_http_request_t *r);
#define NGX_HTTP_LLM_ROUTER_ACCOUNT_MODEL   1   /* the attempt */
#define NGX_HTTP_LLM_ROUTER_ACCOUNT_CLIENT  2   /* the client's request */

uint64_t ngx_http_llm_router_account(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_uint_t what);
void ngx_http_llm_router_outcome(ngx_http_request_t *r,
    ngx_http_llm_router_outcome_t *o);
ngx_msec_t ngx_http_llm_router_retry_after(ngx_http_upstream_t *u);
double ngx_http_llm_router_charge(ngx_http_llm_router_ctx_t *ctx,
    const llmr_model_t *m, ngx_http_llm_router_add_t *adds);
void ngx_http_llm_router_lease_granted(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_budget_res_t *lease, int64_t grant, int64_t total);
ngx_int_t ngx_http_llm_router_batch_begin(ngx_http_llm_router_zone_t *zone,
    ngx_pool_t *pool, ngx_msec_t timeout, ngx_http_llm_router_batch_t *b);
void ngx_http_llm_router_batch_end(ngx_http_llm_router_zone_t *zone,
    ngx_http_llm_router_batch_t *b, ngx_uint_t ok);
void ngx_http_llm_router_fleet_set(ngx_http_llm_router_zone_t *zone,
    u_char *field, size_t flen, u_char *value, size_t vlen);
ngx_uint_t ngx_http_llm_router_fleet_health(ngx_http_llm_router_zone_t *zone,
    u_char *name, size_t len, u_char *value, size_t vlen, uint64_t now);
void ngx_http_llm_router_redis_status(ngx_http_llm_router_zone_t *zone,
    ngx_uint_t state, const char *error);
uint64_t ngx_http_llm_router_unflushed(ngx_http_llm_router_zone_t *zone);
void ngx_http_llm_router_slots_full(ngx_log_t *log);
extern ngx_str_t ngx_http_llm_router_counter_names[];


#endif /* _NGX_HTTP_LLM_ROUTER_MODULE_H_INCLUDED_ */
