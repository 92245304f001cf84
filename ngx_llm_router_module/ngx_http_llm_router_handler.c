
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


static void ngx_http_llm_router_cleanup_ctx(void *data);
static ngx_int_t ngx_http_llm_router_endpoint(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
static void ngx_http_llm_router_no_sse(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
static ngx_int_t ngx_http_llm_router_passthrough(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
static ngx_int_t ngx_http_llm_router_precheck(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_loc_conf_t *llcf);
static ngx_int_t ngx_http_llm_router_decide(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_uint_t rewrite);
static ngx_int_t ngx_http_llm_router_unroutable(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_uint_t status, const char *code,
    const char *msg);
static ngx_int_t ngx_http_llm_router_answer(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
static ngx_int_t ngx_http_llm_router_route_default(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const char *why);
static ngx_int_t ngx_http_llm_router_finish_decision(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
static u_char *ngx_http_llm_router_reason_add(u_char *p, u_char *last,
    ngx_uint_t sep, const char *reason);
static ngx_int_t ngx_http_llm_router_client_tier(ngx_http_request_t *r,
    ngx_int_t *tier);
static ngx_int_t ngx_http_llm_router_signals(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, llmr_signals_t *s, ngx_uint_t learn,
    ngx_uint_t budgets);
static ngx_int_t ngx_http_llm_router_pick(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const llmr_request_t *req,
    llmr_signals_t *s, llmr_verdict_t *v, ngx_uint_t next);
static void ngx_http_llm_router_verdict(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, llmr_verdict_t *v);
static ngx_int_t ngx_http_llm_router_fallback(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);
static ngx_int_t ngx_http_llm_router_give_up(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_outcome_t *o,
    const char *what);
static ngx_int_t ngx_http_llm_router_budgets(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx);


static llmr_extract_t  *ngx_http_llm_router_extractor;

/* routed requests alive in this worker (a graceful exit waits for them) */
ngx_uint_t  ngx_http_llm_router_active;


static ngx_str_t  ngx_http_llm_router_min_tier_header =
    ngx_string("X-LLM-Min-Tier");

static ngx_str_t  ngx_http_llm_router_prefer_header =
    ngx_string("X-LLM-Prefer");

static ngx_str_t  ngx_http_llm_router_anthropic_header =
    ngx_string("anthropic-version");

static ngx_str_t  ngx_http_llm_router_goog_key_header =
    ngx_string("x-goog-api-key");


ngx_int_t
ngx_http_llm_router_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_http_llm_router_ctx_t       *ctx;
    ngx_http_llm_router_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);

    if (llcf->route == NGX_HTTP_LLM_ROUTER_OFF || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_llm_router_get_ctx(r);

    if (ctx) {
        if (ctx->gave_up) {
            return NGX_DECLINED;
        }

        if (ctx->decided) {
            if (llcf->route == NGX_HTTP_LLM_ROUTER_FALLBACK && r->internal) {
                return ngx_http_llm_router_fallback(r, ctx);
            }

            return NGX_DECLINED;
        }

        if (ctx->status) {
            /* answered already (an attempt chain that gave up) */
            return NGX_DECLINED;
        }

        /* the body is still being read; its handler resumes the phases */
        return NGX_DONE;
    }

    ctx = ngx_http_llm_router_create_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_llm_router_endpoint(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->ep.kind != LLMR_EP_GENERATE) {
        return ngx_http_llm_router_passthrough(r, ctx);
    }

    rc = ngx_http_llm_router_precheck(r, ctx, llcf);

    if (rc != NGX_OK) {
        /* NGX_DECLINED: routed without a body; NGX_DONE: answered */
        return rc;
    }

    ctx->body_requested = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_llm_router_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    /* drop the reference ngx_http_read_client_request_body() took */
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


/*
 * Generation bodies that cannot be routed are answered here (or sent to
 * the default tier), before reading them.
 */

static ngx_int_t
ngx_http_llm_router_precheck(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_loc_conf_t *llcf)
{
    u_char       *p, *last;
    ngx_str_t    *type;
    ngx_uint_t    status;
    const char   *code, *msg;

    status = 0;
    code = NULL;
    msg = NULL;

    if (r->headers_in.content_type) {
        type = &r->headers_in.content_type->value;
        p = type->data;
        last = p + type->len;

        while (p < last && *p != ';' && *p != ' ') {
            p++;
        }

        /* application/json, application/x-ndjson, application/...+json */

        if (!(p - type->data >= 16
              && ngx_strncasecmp(p - 4, (u_char *) "json", 4) == 0
              && ngx_strncasecmp(type->data, (u_char *) "application/", 12)
                 == 0))
        {
            status = NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;
            code = "llm_unsupported_media_type";
            msg = "the request body must be JSON (Content-Type: "
                  "application/json)";
        }
    }

    if (status == 0 && r->headers_in.content_length_n > (off_t) llcf->max_body)
    {
        status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        code = "llm_body_too_large";
        msg = "the request body is larger than llm_route_max_body";
    }

    if (status == 0) {
        return NGX_OK;
    }

    if (ngx_http_llm_router_unroutable(r, ctx, status, code, msg) == NGX_OK) {
        return NGX_DECLINED;
    }

    return ngx_http_llm_router_answer(r, ctx);
}


/* answers ctx's error from a phase handler, reading no more of the body */

static ngx_int_t
ngx_http_llm_router_answer(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    if (ctx->status == 0 || ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_finalize_request(r,
        ngx_http_llm_router_send_error(r, ctx->status, ctx->err_code,
                                       &ctx->err_msg));
    return NGX_DONE;
}


/*
 * The request's API and endpoint, from its path (a copy the endpoint's
 * views point into: r->uri may change on a redirect) and, for the paths
 * APIs share, the headers only one API's clients send.
 */

static ngx_int_t
ngx_http_llm_router_endpoint(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    unsigned  hints;

    ctx->uri.data = ngx_pstrdup(r->pool, &r->uri);
    if (ctx->uri.data == NULL && r->uri.len) {
        return NGX_ERROR;
    }

    ctx->uri.len = r->uri.len;

    hints = 0;

    if (ngx_http_llm_router_header(r, &ngx_http_llm_router_anthropic_header)) {
        hints |= LLMR_HINT_ANTHROPIC;
    }

    if (ngx_http_llm_router_header(r, &ngx_http_llm_router_goog_key_header)) {
        hints |= LLMR_HINT_GEMINI;
    }

    llmr_endpoint_parse((const char *) ctx->uri.data, ctx->uri.len,
                        (r->method & NGX_HTTP_POST) != 0, hints, &ctx->ep);

    return NGX_OK;
}


/*
 * Not a generation (embeddings, token counts, models, files, ...): sent
 * untouched, body unread, to the upstream llm_passthrough names for its
 * API; never classified, charged nor counted against a model's health.
 */

static ngx_int_t
ngx_http_llm_router_passthrough(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    ngx_int_t                         model;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    model = lmcf->pass[ctx->ep.api];

    if (model < 0) {
        ctx->status = NGX_HTTP_NOT_FOUND;
        ctx->err_code = "llm_no_upstream";
        ctx->err_msg.data = (u_char *) ngx_pnalloc(r->pool, 64);
        if (ctx->err_msg.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->err_msg.len = ngx_sprintf(ctx->err_msg.data,
                                       "no configured model serves the %s "
                                       "API", llmr_api_name(ctx->ep.api))
                           - ctx->err_msg.data;

        return ngx_http_llm_router_answer(r, ctx);
    }

    ctx->passthrough = 1;
    ctx->decided = 1;
    ctx->dec.model = model;
    ngx_str_set(&ctx->reason, "passthrough");

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm_router: %s %s passed through",
                   llmr_api_name(ctx->ep.api),
                   llmr_endpoint_kind_name(ctx->ep.kind));

    return NGX_DECLINED;
}


/*
 * The body is read, of a request to route or to explain
 * (llm_route_explain): the same decision, but an explanation rewrites no
 * body and answers with the decision instead of running the phases on to
 * the provider.
 */

void
ngx_http_llm_router_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_llm_router_ctx_t  *ctx;

    ctx = ngx_http_llm_router_get_ctx(r);

    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_llm_router_decide(r, ctx, !ctx->explain);

    if (rc != NGX_OK) {
        if (ctx->status) {
            ngx_http_finalize_request(r,
                ngx_http_llm_router_send_error(r, ctx->status, ctx->err_code,
                                               &ctx->err_msg));
            return;
        }

        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ctx->explain) {
        ngx_http_finalize_request(r, ngx_http_llm_router_send_explain(r, ctx));
        return;
    }

    /* a fallback may resend the body: keep a spooled body's file open */
    r->preserve_body = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * One extractor per worker: a body is parsed, classified and routed in
 * one go, so its buffers are reused by every request of the process.
 */

ngx_int_t
ngx_http_llm_router_init_extractor(ngx_cycle_t *cycle)
{
    ngx_http_llm_router_extractor = llmr_extract_create(NULL);

    if (ngx_http_llm_router_extractor == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "llm_router: cannot allocate the body extractor");
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_llm_router_free_extractor(void)
{
    llmr_extract_destroy(ngx_http_llm_router_extractor);
    ngx_http_llm_router_extractor = NULL;
}


/*
 * "llm_error_page": where error_page sends the errors nginx answers
 * itself before the router has run (a body over client_max_body_size, a
 * request line too long, ...): the error's status in the shape of the API
 * the request's path or headers name, with a request id.
 */

ngx_int_t
ngx_http_llm_router_error_page_handler(ngx_http_request_t *r)
{
    ngx_str_t                   msg;
    ngx_uint_t                  status;
    const char                 *code;
    ngx_http_llm_router_ctx_t  *ctx;

    status = r->err_status ? r->err_status : r->headers_out.status;

    if (status < 400 || status > 599) {
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_llm_router_get_ctx(r);

    if (ctx == NULL) {
        ctx = ngx_http_llm_router_create_ctx(r);
        if (ctx == NULL || ngx_http_llm_router_endpoint(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* nothing was routed: the log phase counts nothing of it */
        ctx->explain = 1;
    }

    switch (status) {

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        code = "llm_body_too_large";
        ngx_str_set(&msg, "the request body is larger than the gateway "
                          "accepts");
        break;

    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
    case NGX_HTTP_BAD_REQUEST:
        code = "llm_invalid_request";
        ngx_str_set(&msg, "the gateway cannot read the request");
        break;

    case NGX_HTTP_UNAUTHORIZED:
    case NGX_HTTP_FORBIDDEN:
        code = "llm_unauthorized";
        ngx_str_set(&msg, "the gateway refused the request's credentials");
        break;

    case NGX_HTTP_TOO_MANY_REQUESTS:
        code = "llm_rate_limited";
        ngx_str_set(&msg, "too many requests to the gateway");
        break;

    default:
        code = (status >= 500) ? "llm_gateway_error" : "llm_error";
        ngx_str_set(&msg, "the gateway could not serve the request");
        break;
    }

    r->headers_out.status = status;

    return ngx_http_llm_router_send_error(r, status, code, &msg);
}


/*
 * Parses the body, classifies, picks the model and, when asked, rewrites
 * the body.  Returns NGX_OK with ctx->decided set, NGX_DECLINED with
 * ctx->status and the error set, or NGX_ERROR.
 */

static ngx_int_t
ngx_http_llm_router_decide(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_uint_t rewrite)
{
    off_t                             len;
    ngx_int_t                         rc, tier;
    ngx_chain_t                      *cl;
    llmr_rewrite_t                    rw;
    llmr_verdict_t                    v;
    llmr_signals_t                    s;
    const llmr_model_t               *m;
    const llmr_request_t             *req;
    ngx_http_llm_router_loc_conf_t   *llcf;
    ngx_http_llm_router_main_conf_t  *lmcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    len = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            len += ngx_buf_size(cl->buf);
        }

        ctx->orig_bufs = r->request_body->bufs;
    }

    ctx->orig_len = len;

    if (len > (off_t) llcf->max_body) {
        return ngx_http_llm_router_unroutable(r, ctx,
                                            NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                            "llm_body_too_large",
                                            "the request body is larger than "
                                            "llm_route_max_body");
    }

    if (ngx_http_llm_router_extractor == NULL) {
        return NGX_ERROR;
    }

    llmr_extract_reset(ngx_http_llm_router_extractor, ctx->ep.format);

    rc = ngx_http_llm_router_feed_body(r, ngx_http_llm_router_extractor);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_OK
        && llmr_extract_finish(ngx_http_llm_router_extractor) == LLMR_OK)
    {
        req = llmr_extract_result(ngx_http_llm_router_extractor);

    } else {
        rc = llmr_extract_errcode(ngx_http_llm_router_extractor);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "llm_router: unroutable request body: %s",
                      llmr_extract_error(ngx_http_llm_router_extractor));

        return ngx_http_llm_router_unroutable(r, ctx,
                    rc == LLMR_EXTRACT_E_NOMEM
                        ? NGX_HTTP_INTERNAL_SERVER_ERROR
                        : rc == LLMR_EXTRACT_E_LIMIT
                          ? NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
                          : NGX_HTTP_BAD_REQUEST,
                    (rc == LLMR_EXTRACT_E_JSON || rc == LLMR_EXTRACT_E_UTF8
                     || rc == LLMR_EXTRACT_E_DEPTH)
                        ? "llm_invalid_json" : "llm_invalid_request",
                    llmr_extract_error(ngx_http_llm_router_extractor));
    }

    if (ctx->ep.detect) {
        llmr_endpoint_set_format(&ctx->ep, req->format, req->stream);
    }

    llmr_signals_init(&s);

    if (llcf->client_tier) {
        rc = ngx_http_llm_router_client_tier(r, &tier);

        if (rc == NGX_ERROR) {
            ctx->status = NGX_HTTP_BAD_REQUEST;
            ctx->err_code = "llm_invalid_request";
            ngx_str_set(&ctx->err_msg, "invalid X-LLM-Min-Tier (tiers are "
                        "trivial, simple, moderate, complex, expert)");
            return NGX_DECLINED;
        }

        s.min_tier = (int) tier;
    }

    if (ngx_http_llm_router_signals(r, ctx, &s, 1, !ctx->explain) != NGX_OK
        || ngx_http_llm_router_translate_check(r, ctx, req, &s) != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_llm_router_pick(r, ctx, req, &s, &v, 0);

    ngx_http_llm_router_verdict(r, ctx, &v);

    /* keep the features, not the text: the views die with the next body */

    ctx->req = *req;
    ngx_memzero(&ctx->req.last_user, sizeof(llmr_str_t));
    ngx_memzero(&ctx->req.system, sizeof(llmr_str_t));
    ngx_memzero(&ctx->req.history, sizeof(llmr_str_t));
    ngx_memzero(&ctx->req.model, sizeof(llmr_str_t));
    ctx->parsed = 1;

    if (rc != LLMR_OK) {
        ctx->status = ctx->dec.status;
        ctx->err_code = "llm_no_model";
        ctx->err_msg.data = (u_char *) ctx->dec.error;
        ctx->err_msg.len = ngx_strlen(ctx->dec.error);

        if (ctx->xno_sse && ctx->status == 422) {
            ngx_http_llm_router_no_sse(r, ctx);
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm_router: no model for the request: %V",
                      &ctx->err_msg);

        return NGX_DECLINED;
    }

    if (!ctx->explain) {
        rc = ngx_http_llm_router_budgets(r, ctx);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (rewrite) {
        m = &lmcf->registry->models[ctx->dec.model];

        rc = ngx_http_llm_router_translate_body(r, ctx);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
            ctx->err_code = "llm_translation_failed";
            ngx_str_set(&ctx->err_msg, "the request could not be written "
                        "for the chosen model's API");
            return NGX_DECLINED;
        }

        if (ctx->xlate) {
            return ngx_http_llm_router_finish_decision(r, ctx);
        }

        if (llmr_rewrite_plan(&rw, &ctx->req, m->id, ngx_strlen(m->id),
                              (int) llcf->stream_usage)
            != LLMR_OK)
        {
            return NGX_ERROR;
        }

        if (rw.nedits
            && ngx_http_llm_router_rewrite_body(r, ctx, &rw) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_llm_router_finish_decision(r, ctx);
}


/*
 * A body that cannot be routed: under "llm_route_on_error default" it goes
 * to the default tier (NGX_OK, decided); otherwise, or when even that
 * fails, the error is left in ctx for the caller to answer (NGX_DECLINED).
 */

static ngx_int_t
ngx_http_llm_router_unroutable(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_uint_t status, const char *code,
    const char *msg)
{
    ngx_http_llm_router_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);

    if (llcf->on_error == NGX_HTTP_LLM_ROUTER_ERR_DEFAULT && !ctx->explain
        && status != NGX_HTTP_INTERNAL_SERVER_ERROR)
    {
        return ngx_http_llm_router_route_default(r, ctx, code);
    }

    ctx->status = status;
    ctx->err_code = code;
    ctx->err_msg.data = (u_char *) msg;
    ctx->err_msg.len = ngx_strlen(msg);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_llm_router_route_default(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, const char *why)
{
    ngx_int_t       rc;
    llmr_verdict_t  v;
    llmr_signals_t  s;

    llmr_signals_init(&s);
    s.default_why = why;

    if (ngx_http_llm_router_signals(r, ctx, &s, 0, !ctx->explain) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_llm_router_pick(r, ctx, NULL, &s, &v, 0);

    ngx_http_llm_router_verdict(r, ctx, &v);

    if (rc != LLMR_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "llm_router: no model for the default tier: %s",
                      ctx->dec.error);

        ctx->status = ctx->dec.status;
        ctx->err_code = "llm_no_model";
        ctx->err_msg.data = (u_char *) ctx->dec.error;
        ctx->err_msg.len = ngx_strlen(ctx->dec.error);

        return NGX_DECLINED;
    }

    ctx->defaulted = 1;

    if (!ctx->explain) {
        rc = ngx_http_llm_router_budgets(r, ctx);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return ngx_http_llm_router_finish_decision(r, ctx);
}


/*
 * What the decision needs to know of this instance now, as plain values
 * (llmr_signals_t): the client's asks, the request's API, the models that
 * failed for it, every model's health; with learn, the fleet's learned
 * offsets and shifts, the request's hash and its A/B draw; with budgets,
 * the budgets that may downgrade it.  O(models + budgets): the tables
 * are pointed to, not copied.
 */

static ngx_int_t
ngx_http_llm_router_signals(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, llmr_signals_t *s, ngx_uint_t learn,
    ngx_uint_t budgets)
{
    ngx_str_t                         id;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    zone = lmcf->shm_zone->data;

    s->prefer = (const char *) ngx_http_llm_router_header(r,
                                        &ngx_http_llm_router_prefer_header);
    s->apis = llmr_api_bit(ctx->ep.api);
    s->exclude = ctx->failed;
    s->explain = ctx->explain;

    ngx_http_llm_router_health_masks(zone, &lmcf->health,
                                     lmcf->registry->n, &s->down,
                                     &s->degraded, &s->half_open);

    if (learn) {
        s->path_model = ctx->ep.model.data;
        s->path_model_len = ctx->ep.model.len;

        if (lmcf->learn_enabled) {
            s->offset = zone->sh->offset;
            s->shift = zone->sh->shift;

            /* the request id's hash: the feedback about it finds it */

            if (ngx_http_llm_router_request_id(r, &id) == NGX_OK) {
                if (ctx->fb_hash == 0) {
                    ctx->fb_hash = ngx_http_llm_router_fb_hash(id.data,
                                                               id.len);
                }

                s->request_hash = ctx->fb_hash;

            } else {
                s->request_hash = (uint64_t) ngx_random();
            }
        }

        s->ab_draw = (uint32_t) ((ngx_uint_t) ngx_random() % LLMR_AB_SCALE);
    }

    if (budgets) {
        return ngx_http_llm_router_budget_signals(r, s);
    }

    return NGX_OK;
}


/*
 * llmr_decide() (or, for next, llmr_decide_next()), then the half-open
 * probe it chose claimed: when another worker took the last slot
 * meanwhile, the model counts as down and the decision is made again.
 */

static ngx_int_t
ngx_http_llm_router_pick(ngx_http_request_t *r, ngx_http_llm_router_ctx_t *ctx,
    const llmr_request_t *req, llmr_signals_t *s, llmr_verdict_t *v,
    ngx_uint_t next)
{
    int                               rc;
    uint64_t                          bit;
    ngx_int_t                         probe;
    ngx_uint_t                        tries;
    llmr_router_t                     rt;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_loc_conf_t   *llcf;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);
    zone = lmcf->shm_zone->data;

    rt.registry = lmcf->registry;
    rt.classifier = lmcf->classifier;
    rt.learn = lmcf->learn_enabled ? &lmcf->learn : NULL;
    rt.adjust = llcf->adjust;
    rt.profile = (int) llcf->profile;
    rt.fail_open = (int) lmcf->health.fail_open;
    rt.client_model = (int) llcf->client_model;
    rt.default_tier = (int) llcf->default_tier;

    for (tries = 0; /* void */; tries++) {

        rc = next ? llmr_decide_next(&rt, req, s, v)
                  : llmr_decide(&rt, req, s, v);

        if (rc == LLMR_OK && ctx->xlazy
            && lmcf->registry->models[v->dec.model].api != ctx->ep.api)
        {
            /* another API: is the request one it can be written for? */

            if (ngx_http_llm_router_translate_resolve(r, ctx, s) != NGX_OK) {
                return LLMR_ERROR;
            }

            tries--;        /* not a try: the same decision, informed */
            continue;
        }

        if (rc != LLMR_OK || !v->probe || tries == lmcf->registry->n) {
            return rc;
        }

        probe = ngx_http_llm_router_health_probe(zone, &lmcf->health,
                                                 v->dec.model);
        if (probe == NGX_DECLINED) {
            return rc;
        }

        if (probe == NGX_OK) {
            ctx->probe = 1;
            return rc;
        }

        /* NGX_BUSY: its probe slots were taken meanwhile */

        bit = (uint64_t) 1 << v->dec.model;
        s->down |= bit;
        s->half_open &= ~bit;
    }
}


/* the verdict into the request's context, and the zone's counters */

static void
ngx_http_llm_router_verdict(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, llmr_verdict_t *v)
{
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    zone = lmcf->shm_zone->data;

    ctx->cls = v->cls;
    ctx->dec = v->dec;
    ctx->adj = v->adj;
    ctx->bucket = v->bucket;
    ctx->floor = v->floor;

    if (v->adj.escalated) {
        (void) ngx_atomic_fetch_add(&zone->sh->escalations, 1);

    } else if (v->adj.suggested) {
        (void) ngx_atomic_fetch_add(&zone->sh->escalations_suggested, 1);
    }

    if (v->downgrade) {
        (void) ngx_atomic_fetch_add(&zone->sh->budget_downgrades, 1);
    }
}


/*
 * "llm_route fallback": the attempt before failed (error_page sent the
 * request here).  It is charged and counted against its model's health,
 * and the next model of the chain gets the body, rewritten for it.
 */

static ngx_int_t
ngx_http_llm_router_fallback(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    u_char                           *p, *last;
    ngx_int_t                         rc;
    const llmr_model_t               *m;
    llmr_rewrite_t                    rw;
    llmr_verdict_t                    v;
    llmr_signals_t                    s;
    ngx_http_llm_router_outcome_t     o;
    ngx_http_llm_router_loc_conf_t   *llcf;
    ngx_http_llm_router_main_conf_t  *lmcf;

    if (ctx->fallback_mark == (ngx_int_t) r->uri_changes) {
        return NGX_DECLINED;
    }

    ctx->fallback_mark = r->uri_changes;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_llm_router_module);
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    ngx_http_llm_router_outcome(r, &o);

    if (ctx->passthrough) {
        /* another model's upstream would not know what it names */
        m = &lmcf->registry->models[ctx->dec.model];
        ctx->failed_names.data = (u_char *) m->name;
        ctx->failed_names.len = ngx_strlen(m->name);

        return ngx_http_llm_router_give_up(r, ctx, &o, "the passthrough "
                                           "upstream of its API");
    }

    ngx_http_llm_router_account(r, ctx, NGX_HTTP_LLM_ROUTER_ACCOUNT_MODEL);

    m = &lmcf->registry->models[ctx->dec.model];
    ctx->failed |= (uint64_t) 1 << ctx->dec.model;

    /* $llm_failed_models: "a,b" */

    p = ngx_pnalloc(r->pool, ctx->failed_names.len + 1 + ngx_strlen(m->name));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = p;

    if (ctx->failed_names.len) {
        last = ngx_cpymem(last, ctx->failed_names.data,
                          ctx->failed_names.len);
        *last++ = ',';
    }

    last = ngx_cpymem(last, m->name, ngx_strlen(m->name));

    ctx->failed_names.data = p;
    ctx->failed_names.len = last - p;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "llm_router: attempt %ui on \"%s\" failed (HTTP %ui), "
                  "falling back", ctx->attempt, m->name, o.status);

    if (ctx->attempt >= llcf->max_attempts) {
        return ngx_http_llm_router_give_up(r, ctx, &o,
                                           "the attempts allowed by "
                                           "llm_route_max_attempts");
    }

    /* the class and floor the request was routed with (llmr_decide_next) */

    ngx_memzero(&v, sizeof(llmr_verdict_t));
    v.cls = ctx->cls;
    v.dec = ctx->dec;
    v.floor = (int) ctx->floor;

    llmr_signals_init(&s);

    if (ngx_http_llm_router_signals(r, ctx, &s, 0, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the APIs the request could be translated to, as at the decision */
    s.apis |= ctx->xapis;   /* or, not parsed yet, every API's */
    s.client_api = (int) ctx->ep.api;
    ngx_memcpy(s.untranslatable, ctx->xuntranslatable,
               sizeof(s.untranslatable));

    /* the last attempt's decision stays for the logs if none is left */

    if (ngx_http_llm_router_pick(r, ctx, ctx->parsed ? &ctx->req : NULL,
                                 &s, &v, 1)
        != LLMR_OK)
    {
        return ngx_http_llm_router_give_up(r, ctx, &o,
                                           "every model that can serve it");
    }

    ctx->dec = v.dec;
    ctx->attempt++;

    m = &lmcf->registry->models[ctx->dec.model];

    rc = ngx_http_llm_router_translate_body(r, ctx);

    if (rc != NGX_OK) {
        return (rc == NGX_ERROR) ? NGX_HTTP_INTERNAL_SERVER_ERROR
                                 : ngx_http_llm_router_give_up(r, ctx, &o,
                                       "a model its body could be written "
                                       "for");
    }

    if (ctx->parsed && ctx->orig_bufs && !ctx->xlate) {
        if (llmr_rewrite_plan(&rw, &ctx->req, m->id, ngx_strlen(m->id),
                              (int) llcf->stream_usage)
            != LLMR_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rw.nedits
            && ngx_http_llm_router_rewrite_body(r, ctx, &rw) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_llm_router_finish_decision(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * The location's budgets, once the decision (with its downgrade) is
 * made: the request's estimate is reserved, or at a limit it gets a 429
 * with Retry-After.  NGX_OK, or NGX_DECLINED with the error in ctx.
 */

static ngx_int_t
ngx_http_llm_router_budgets(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    time_t                            retry;
    u_char                           *p;
    ngx_int_t                         rc;
    ngx_table_elt_t                  *h;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);
    zone = lmcf->shm_zone->data;

    rc = ngx_http_llm_router_budget_reserve(r, ctx, &retry);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* NGX_BUSY: spent */

    (void) ngx_atomic_fetch_add(&zone->sh->budget_rejects, 1);

    h = ngx_list_push(&r->headers_out.headers);
    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);

    if (h == NULL || p == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "%T", ngx_max(retry, 1)) - p;

    ctx->status = NGX_HTTP_TOO_MANY_REQUESTS;
    ctx->err_code = "llm_budget_exceeded";

    p = ngx_pnalloc(r->pool, 128 + ctx->budget_hit->name.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->err_msg.data = p;
    ctx->err_msg.len = ngx_sprintf(p, "the budget \"%V\" is spent for this "
                                   "period; it renews in %T s",
                                   &ctx->budget_hit->name, ngx_max(retry, 1))
                       - p;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "llm_router: %V", &ctx->err_msg);

    return NGX_DECLINED;
}


/*
 * No attempt left: an error in the client's API shape with the last
 * attempt's status and Retry-After (the provider's body is gone: nginx
 * does not read an intercepted error's).
 */

static ngx_int_t
ngx_http_llm_router_give_up(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx, ngx_http_llm_router_outcome_t *o,
    const char *what)
{
    u_char           *p;
    ngx_str_t         msg;
    ngx_uint_t        status;
    ngx_table_elt_t  *h;

    msg.len = sizeof("all attempts failed (tried: ); exhausted ") - 1
              + ctx->failed_names.len + ngx_strlen(what);
    msg.data = ngx_pnalloc(r->pool, msg.len);
    if (msg.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    msg.len = ngx_sprintf(msg.data, "all attempts failed (tried: %V); "
                          "exhausted %s", &ctx->failed_names, what)
              - msg.data;

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "llm_router: %V", &msg);

    status = o->status;

    if (status < 400 || status > 599) {
        status = NGX_HTTP_BAD_GATEWAY;
    }

    /* the variables keep describing the last attempt for the logs */
    ctx->gave_up = 1;
    ctx->status = status;

    ngx_http_clean_header(r);

    if (o->retry_after) {
        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        h = ngx_list_push(&r->headers_out.headers);

        if (p == NULL || h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        h->value.data = p;
        h->value.len = ngx_sprintf(p, "%T",
                                   (time_t) ((o->retry_after + 999) / 1000))
                       - p;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_finalize_request(r,
        ngx_http_llm_router_send_error(r, status, "llm_all_attempts_failed",
                                       &msg));
    return NGX_DONE;
}


static ngx_int_t
ngx_http_llm_router_finish_decision(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    u_char      *p, *last;
    ngx_uint_t   i;

    p = ngx_pnalloc(r->pool, NGX_HTTP_LLM_ROUTER_REASON_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->reason.data = p;
    last = p + NGX_HTTP_LLM_ROUTER_REASON_LEN;

    /* "a,b,c", cut at the end of the buffer */

    for (i = 0; i < ctx->cls.nreasons; i++) {
        p = ngx_http_llm_router_reason_add(p, last, i > 0,
                                           ctx->cls.reasons[i]);
    }

    for (i = 0; i < ctx->dec.nreasons; i++) {
        p = ngx_http_llm_router_reason_add(p, last, p != ctx->reason.data,
                                           ctx->dec.reasons[i]);
    }

    ctx->reason.len = p - ctx->reason.data;
    ctx->decided = 1;
    ctx->status = 0;

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "llm_router: tier %s score %.3f model %d cost %.6f "
                   "reason \"%V\"", llmr_tier_name(ctx->dec.tier),
                   ctx->cls.score, ctx->dec.model, ctx->dec.est_cost,
                   &ctx->reason);

    return NGX_OK;
}


static u_char *
ngx_http_llm_router_reason_add(u_char *p, u_char *last, ngx_uint_t sep,
    const char *reason)
{
    size_t  n;

    if (sep && p < last) {
        *p++ = ',';
    }

    n = ngx_min(ngx_strlen(reason), (size_t) (last - p));

    return ngx_cpymem(p, reason, n);
}


static ngx_int_t
ngx_http_llm_router_client_tier(ngx_http_request_t *r, ngx_int_t *tier)
{
    u_char  *v;

    *tier = -1;

    v = ngx_http_llm_router_header(r, &ngx_http_llm_router_min_tier_header);

    if (v == NULL) {
        return NGX_OK;
    }

    *tier = llmr_tier_parse((const char *) v, ngx_strlen(v));

    return (*tier < 0) ? NGX_ERROR : NGX_OK;
}


ngx_http_llm_router_ctx_t *
ngx_http_llm_router_create_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_llm_router_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_llm_router_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->dec.model = -1;
    ctx->attempt = 1;
    ctx->floor = -1;
    ctx->fallback_mark = -1;

    /* the cleanup finds the ctx again after an internal redirect */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_llm_router_cleanup_ctx;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_llm_router_module);

    ngx_http_llm_router_active++;

    return ctx;
}


static void
ngx_http_llm_router_cleanup_ctx(void *data)
{
    /* also the marker that finds the ctx again after a redirect */

    ngx_http_llm_router_active--;
}


/*
 * A Gemini stream without "alt=sse" is one JSON array in pieces, which
 * only Gemini's models write: the refusal says how it could go elsewhere.
 */

static void
ngx_http_llm_router_no_sse(ngx_http_request_t *r,
    ngx_http_llm_router_ctx_t *ctx)
{
    size_t   len;
    u_char  *p;

    static const char  hint[] = "; a Gemini stream is served by another "
                                "API's model only with alt=sse";

    len = ctx->err_msg.len + sizeof(hint) - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return;
    }

    ngx_memcpy(ngx_cpymem(p, ctx->err_msg.data, ctx->err_msg.len), hint,
               sizeof(hint) - 1);

    ctx->err_msg.data = p;
    ctx->err_msg.len = len;
}


ngx_http_llm_router_ctx_t *
ngx_http_llm_router_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_llm_router_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_llm_router_module);

    if (ctx || !r->internal) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_llm_router_cleanup_ctx) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_llm_router_module);
            return ctx;
        }
    }

    return NULL;
}
