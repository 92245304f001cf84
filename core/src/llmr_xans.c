
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdlib.h>
#include <string.h>

#include <llmr/translate.h>

#include "llmr_xans.h"


/*
 * The answer translator: the buffers, the SSE framing, and the events'
 * way from a reader (llmr_xans_read.c) to a writer (llmr_xans_write.c).
 * A JSON answer is kept whole and read at llmr_xans_finish(); a stream
 * is read event by event and each is written at once, so the client gets
 * its first bytes when it would have from the provider.
 */


#define LLMR_XANS_MAX_EVENT     (8 * 1024 * 1024)

/* buffers above this are freed between answers */
#define LLMR_XANS_KEEP          (64 * 1024)


static void llmr_xans_sse_data(void *ctx, const unsigned char *p, size_t n);
static void llmr_xans_sse_name(void *ctx, const unsigned char *name,
    size_t len);
static void llmr_xans_sse_dispatch(void *ctx);
static void llmr_xans_read(llmr_xans_t *a, const llmr_jv_t *root);
static void llmr_xans_read_json(llmr_xans_t *a);
static void llmr_xans_read_error(llmr_xans_t *a);
static void llmr_xans_abort(llmr_xans_t *a, int status, const char *code,
    const char *msg);
static void llmr_xans_set(llmr_jbuf_t *b, const llmr_xstr_t *xs);
static void llmr_xans_set_cstr(llmr_jbuf_t *b, const char *s);
static void llmr_xans_merge(llmr_xusage_t *u, const llmr_xusage_t *v);
static size_t llmr_xans_max(const llmr_xans_t *a);
static int llmr_xans_failed(const llmr_xans_t *a);


static const llmr_sse_handler_t  llmr_xans_sse_handler = {
    llmr_xans_sse_data,
    llmr_xans_sse_name,
    llmr_xans_sse_dispatch
};


llmr_xans_t *
llmr_xans_create(void)
{
    llmr_xans_t  *a;

    a = calloc(1, sizeof(llmr_xans_t));
    if (a == NULL) {
        return NULL;
    }

    llmr_jdoc_init(&a->doc);
    llmr_jdoc_init(&a->adoc);

    /* a stream's client may be slow: the output is the caller's to bound */
    llmr_jbuf_init(&a->out, 0);
    llmr_jbuf_init(&a->in, 0);
    llmr_jbuf_init(&a->id, 0);
    llmr_jbuf_init(&a->model, 0);
    llmr_jbuf_init(&a->text, 0);
    llmr_jbuf_init(&a->content, 0);
    llmr_jbuf_init(&a->args, 0);
    llmr_jbuf_init(&a->call_id, 0);
    llmr_jbuf_init(&a->call_name, 0);
    llmr_jbuf_init(&a->scratch, 0);

    a->ended = 1;
    a->failed = 1;

    return a;
}


void
llmr_xans_destroy(llmr_xans_t *a)
{
    if (a == NULL) {
        return;
    }

    llmr_jdoc_free(&a->doc);
    llmr_jdoc_free(&a->adoc);
    llmr_jbuf_free(&a->out);
    llmr_jbuf_free(&a->in);
    llmr_jbuf_free(&a->id);
    llmr_jbuf_free(&a->model);
    llmr_jbuf_free(&a->text);
    llmr_jbuf_free(&a->content);
    llmr_jbuf_free(&a->args);
    llmr_jbuf_free(&a->call_id);
    llmr_jbuf_free(&a->call_name);
    llmr_jbuf_free(&a->scratch);
    free(a);
}


void
llmr_xans_reset(llmr_xans_t *a, const llmr_xans_conf_t *conf)
{
    size_t  max;

    a->conf = *conf;

    if (a->conf.from < 0 || a->conf.from >= LLMR_API_N) {
        a->conf.from = LLMR_API_OPENAI;
    }

    if (a->conf.to < 0 || a->conf.to >= LLMR_API_N) {
        a->conf.to = LLMR_API_OPENAI;
    }

    if (a->conf.to_format == LLMR_FMT_OPENAI_RESPONSES) {
        a->conf.to = LLMR_API_OPENAI;

    } else {
        a->conf.to_format = 0;
    }

    max = llmr_xans_max(a);

    llmr_jbuf_reset(&a->out, LLMR_XANS_KEEP);
    llmr_jbuf_reset(&a->in, LLMR_XANS_KEEP);
    llmr_jbuf_reset(&a->id, LLMR_XANS_KEEP);
    llmr_jbuf_reset(&a->model, LLMR_XANS_KEEP);
    llmr_jbuf_reset(&a->text, LLMR_XANS_KEEP);
    llmr_jbuf_reset(&a->content, LLMR_XANS_KEEP);
    llmr_jbuf_reset(&a->args, LLMR_XANS_KEEP);
    llmr_jbuf_reset(&a->call_id, LLMR_XANS_KEEP);
    llmr_jbuf_reset(&a->call_name, LLMR_XANS_KEEP);
    llmr_jbuf_reset(&a->scratch, LLMR_XANS_KEEP);

    /* a call's arguments are kept whole for Gemini: bounded as an event */
    a->args.max = max;

    /* a Responses stream repeats each item whole when it is done */
    a->text.max = a->conf.to_format ? max : 0;
    a->content.max = a->text.max;

    a->out_pos = 0;

    /* the conf's strings are copied: they need not outlive this call */
    llmr_xans_set_cstr(&a->id, conf->id);
    llmr_xans_set_cstr(&a->model, conf->model);
    a->conf.id = NULL;
    a->conf.model = NULL;
    a->created = conf->created;

    a->usage.input = -1;
    a->usage.output = -1;
    a->usage.cache_read = -1;
    a->usage.cache_write = -1;
    a->usage_start = a->usage;

    a->finish = LLMR_XFIN_NONE;
    a->status = conf->status ? conf->status : 200;
    a->r_tool = -1;
    a->r_block = 0;
    a->r_calls = 0;
    a->w_block = LLMR_XBLK_NONE;
    a->w_index = 0;
    a->w_calls = 0;
    a->w_parts = 0;
    a->w_seq = 0;

    a->started = 0;
    a->finished = 0;
    a->ended = 0;
    a->complete = 0;
    a->failed = 0;
    a->has_text = 0;
    a->has_calls = 0;
    a->in_over = 0;

    llmr_sse_init(&a->sse, &llmr_xans_sse_handler, a);
}


int
llmr_xans_feed(llmr_xans_t *a, const char *data, size_t len)
{
    size_t  left;

    if (a->failed) {
        return LLMR_ERROR;
    }

    /* what the client took is dropped once it is the larger part */
    left = a->out.len - a->out_pos;

    if (a->out_pos && a->out_pos >= left) {
        memmove(a->out.data, a->out.data + a->out_pos, left);
        a->out.len = left;
        a->out_pos = 0;
    }

    if (llmr_xans_whole(a)) {
        if (len > llmr_xans_max(a) - a->in.len) {
            llmr_xans_abort(a, 502, "llm_upstream_too_large",
                            "the provider's answer is over the limit");
            return LLMR_ERROR;
        }

        llmr_jbuf_add(&a->in, data, len);

        if (a->in.failed) {
            llmr_xans_abort(a, 500, "llm_no_memory",
                            "no memory for the provider's answer");
            return LLMR_ERROR;
        }

        return LLMR_OK;
    }

    if (a->ended) {
        /* after the stream's end, the provider has nothing more to say */
        return LLMR_OK;
    }

    llmr_sse_feed(&a->sse, (const unsigned char *) data,
                  (const unsigned char *) data + len);

    return llmr_xans_failed(a) ? LLMR_ERROR : LLMR_OK;
}


int
llmr_xans_finish(llmr_xans_t *a)
{
    if (!a->failed) {

        if (a->conf.status >= 400) {
            llmr_xans_read_error(a);

        } else if (!a->conf.stream) {
            llmr_xans_read_json(a);

        } else if (!a->ended) {
            llmr_xans_abort(a, 502, "llm_upstream_truncated",
                            "the provider's stream ended early");
        }

        a->failed = 1;
    }

    return a->out.failed ? LLMR_ERROR : LLMR_OK;
}


const char *
llmr_xans_output(llmr_xans_t *a, size_t *len)
{
    *len = a->out.len - a->out_pos;

    return *len ? a->out.data + a->out_pos : NULL;
}


void
llmr_xans_consume(llmr_xans_t *a, size_t n)
{
    a->out_pos += n;

    if (a->out_pos >= a->out.len) {
        a->out.len = 0;
        a->out_pos = 0;
    }
}


int
llmr_xans_complete(const llmr_xans_t *a)
{
    return a->complete;
}


int
llmr_xans_status(const llmr_xans_t *a)
{
    return a->status;
}


size_t
llmr_xans_memory(const llmr_xans_t *a)
{
    return sizeof(llmr_xans_t) + a->out.size + a->in.size + a->id.size
           + a->model.size + a->text.size + a->content.size + a->args.size
           + a->call_id.size + a->call_name.size + a->scratch.size
           + llmr_jdoc_memory(&a->doc) + llmr_jdoc_memory(&a->adoc);
}


/* the stream's events */


static void
llmr_xans_sse_data(void *ctx, const unsigned char *p, size_t n)
{
    llmr_xans_t  *a = ctx;

    if (a->ended || a->in_over) {
        return;
    }

    if (n > llmr_xans_max(a) - a->in.len) {
        /* the event is given up at once: its end may never come */
        a->in_over = 1;
        llmr_xans_abort(a, 502, "llm_upstream_too_large",
                        "an event of the provider's stream is over the "
                        "limit");
        return;
    }

    llmr_jbuf_add(&a->in, (const char *) p, n);

    if (a->in.failed) {
        llmr_xans_abort(a, 500, "llm_no_memory",
                        "no memory for the provider's stream");
    }
}


static void
llmr_xans_sse_name(void *ctx, const unsigned char *name, size_t len)
{
    /* the data's "type" says as much as the name, in every API */
}


static void
llmr_xans_sse_dispatch(void *ctx)
{
    llmr_xans_t  *a = ctx;
    llmr_xev_t    ev;

    if (a->ended) {
        return;
    }

    if (llmr_jdoc_parse(&a->doc, a->in.data, a->in.len) == LLMR_OK) {
        llmr_xans_read(a, a->doc.root);

    } else if (a->in.len == 6 && memcmp(a->in.data, "[DONE]", 6) == 0) {
        llmr_xev_init(&ev, LLMR_XEV_END);
        llmr_xans_emit(a, &ev);
    }

    /* else not JSON: an event no SDK would read either, skipped */

    a->in.len = 0;
}


static void
llmr_xans_read(llmr_xans_t *a, const llmr_jv_t *root)
{
    switch (a->conf.from) {

    case LLMR_API_ANTHROPIC:
        llmr_xr_anthropic(a, root);
        break;

    case LLMR_API_GEMINI:
        llmr_xr_gemini(a, root);
        break;

    default:
        llmr_xr_openai(a, root);
        break;
    }
}


static void
llmr_xans_read_json(llmr_xans_t *a)
{
    llmr_xev_t  ev;

    if (llmr_jdoc_parse(&a->doc, a->in.data, a->in.len) != LLMR_OK
        || a->doc.root->type != LLMR_V_MAP)
    {
        llmr_xans_abort(a, 502, "llm_upstream_unreadable",
                        "the provider's answer could not be read");
        return;
    }

    llmr_xans_read(a, a->doc.root);

    if (!a->ended) {
        llmr_xev_init(&ev, LLMR_XEV_END);
        llmr_xans_emit(a, &ev);
    }
}


static void
llmr_xans_read_error(llmr_xans_t *a)
{
    int               status;
    const llmr_jv_t  *code, *msg;

    code = NULL;
    msg = NULL;

    if (llmr_jdoc_parse(&a->doc, a->in.data, a->in.len) == LLMR_OK) {
        (void) llmr_xr_error_find(a->doc.root, &code, &msg, &status);
    }

    llmr_xans_error_ev(a, a->conf.status, code, msg,
                       "the provider's error could not be read");
}


/* the answer is given up: an error in the client's shape, and its end */

static void
llmr_xans_abort(llmr_xans_t *a, int status, const char *code,
    const char *msg)
{
    llmr_xev_t  ev;

    if (a->ended && !llmr_xans_whole(a)) {
        a->failed = 1;
        return;
    }

    llmr_xev_init(&ev, LLMR_XEV_ERROR);
    ev.status = status;
    ev.code = code;
    ev.text.s = msg;
    ev.text.len = strlen(msg);

    if (llmr_xans_whole(a)) {
        /* a JSON answer: the error replaces whatever was translated */
        a->out.len = a->out_pos;
        a->ended = 0;
    }

    llmr_xans_emit(a, &ev);
    a->failed = 1;
}


/* what the readers call */


void
llmr_xev_init(llmr_xev_t *ev, int type)
{
    memset(ev, 0, sizeof(llmr_xev_t));
    ev->type = type;
    ev->created = -1;
    ev->usage.input = -1;
    ev->usage.output = -1;
    ev->usage.cache_read = -1;
    ev->usage.cache_write = -1;
}


void
llmr_xstr_jv(llmr_xstr_t *xs, const llmr_jv_t *v)
{
    if (v == NULL || v->type != LLMR_V_STRING) {
        xs->s = NULL;
        xs->len = 0;
        xs->raw = 0;
        return;
    }

    xs->s = v->s;
    xs->len = v->len;
    xs->raw = 1;
}


/*
 * An event every writer sees the same way: the answer's own state is
 * kept here (its ids, usage and finish reason), and an event out of
 * place is made right before a writer sees it (a start first, a finish
 * before the end, one finish only).
 */

void
llmr_xans_emit(llmr_xans_t *a, llmr_xev_t *ev)
{
    llmr_xev_t  e;

    if (a->ended) {
        return;
    }

    if (!a->started && ev->type != LLMR_XEV_START
        && ev->type != LLMR_XEV_ERROR)
    {
        llmr_xev_init(&e, LLMR_XEV_START);
        llmr_xans_emit(a, &e);
    }

    switch (ev->type) {

    case LLMR_XEV_START:
        if (a->started) {
            return;
        }

        a->started = 1;

        if (ev->id.len) {
            llmr_xans_set(&a->id, &ev->id);
        }

        if (ev->name.len) {
            llmr_xans_set(&a->model, &ev->name);
        }

        if (ev->created >= 0) {
            a->created = ev->created;
        }

        llmr_xans_merge(&a->usage, &ev->usage);
        a->usage_start = a->usage;
        break;

    case LLMR_XEV_TEXT:
        if (ev->text.len == 0) {
            return;
        }

        a->has_text = 1;
        break;

    case LLMR_XEV_TOOL_START:
        a->has_calls = 1;
        break;

    case LLMR_XEV_TOOL_ARGS:
        if (!ev->text.raw) {
            /* an object of a JSON answer, printed pretty: one line */
            llmr_xw_compact(&a->scratch, &ev->text);
        }

        break;

    case LLMR_XEV_FINISH:
        if (a->finished) {
            return;
        }

        a->finished = 1;
        a->finish = ev->finish;

        /* Gemini, and some OpenAI-like servers, stop a call with "stop" */
        if (a->has_calls
            && (a->finish == LLMR_XFIN_STOP || a->finish == LLMR_XFIN_NONE))
        {
            a->finish = LLMR_XFIN_TOOL_CALLS;
        }

        break;

    case LLMR_XEV_USAGE:
        llmr_xans_merge(&a->usage, &ev->usage);
        break;

    case LLMR_XEV_ERROR:
        a->ended = 1;

        /* Anthropic's "overloaded" is the others' "unavailable" */
        if (ev->status == 529 && a->conf.to != LLMR_API_ANTHROPIC) {
            ev->status = 503;
        }

        if (llmr_xans_whole(a)) {
            /* a JSON error, with the status the caller answers with */
            a->status = ev->status;
            llmr_xw_error(a, ev);
            return;
        }

        break;

    case LLMR_XEV_END:
        if (!a->finished) {
            llmr_xev_init(&e, LLMR_XEV_FINISH);
            e.finish = LLMR_XFIN_STOP;
            llmr_xans_emit(a, &e);
        }

        a->ended = 1;
        a->complete = 1;
        break;
    }

    switch (a->conf.to) {

    case LLMR_API_ANTHROPIC:
        llmr_xw_anthropic(a, ev);
        break;

    case LLMR_API_GEMINI:
        llmr_xw_gemini(a, ev);
        break;

    default:
        if (a->conf.to_format == LLMR_FMT_OPENAI_RESPONSES) {
            llmr_xw_responses(a, ev);

        } else {
            llmr_xw_openai(a, ev);
        }

        break;
    }

    if (ev->type != LLMR_XEV_ERROR
        && (a->args.failed || a->text.failed || a->content.failed
            || a->call_id.failed || a->call_name.failed))
    {
        llmr_xans_abort(a, 502, "llm_upstream_too_large",
                        "a part of the provider's answer kept whole is "
                        "over the limit");
    }
}


/* a provider's error: its type as a code, its message as it is */

void
llmr_xans_error_ev(llmr_xans_t *a, int status, const llmr_jv_t *code,
    const llmr_jv_t *msg, const char *def)
{
    char        buf[LLMR_XANS_CODE_MAX];
    size_t      n, i;
    llmr_xev_t  ev;

    llmr_xev_init(&ev, LLMR_XEV_ERROR);
    ev.status = status;
    ev.code = "llm_upstream_error";

    n = 0;

    if (code && code->type == LLMR_V_STRING && code->len < sizeof(buf)) {
        n = llmr_jv_decode(code, buf, sizeof(buf) - 1);

        /* written unescaped by llmr_api_error(): a word or nothing */
        for (i = 0; i < n; i++) {
            if (!(buf[i] == '_' || buf[i] == '-' || buf[i] == '.'
                  || (buf[i] >= 'a' && buf[i] <= 'z')
                  || (buf[i] >= 'A' && buf[i] <= 'Z')
                  || (buf[i] >= '0' && buf[i] <= '9')))
            {
                n = 0;
                break;
            }
        }
    }

    if (n) {
        buf[n] = '\0';
        ev.code = buf;
    }

    llmr_xstr_jv(&ev.text, msg);

    if (ev.text.s == NULL) {
        ev.text.s = def;
        ev.text.len = strlen(def);
    }

    llmr_xans_emit(a, &ev);
}


/* helpers */


static void
llmr_xans_set(llmr_jbuf_t *b, const llmr_xstr_t *xs)
{
    b->len = 0;
    llmr_xw_str_in(b, xs);
}


static void
llmr_xans_set_cstr(llmr_jbuf_t *b, const char *s)
{
    llmr_xstr_t  xs;

    b->len = 0;

    if (s == NULL) {
        return;
    }

    xs.s = s;
    xs.len = strlen(s);
    xs.raw = 0;

    llmr_xw_str_in(b, &xs);
}


static void
llmr_xans_merge(llmr_xusage_t *u, const llmr_xusage_t *v)
{
    if (v->input >= 0) {
        u->input = v->input;
    }

    if (v->output >= 0) {
        u->output = v->output;
    }

    if (v->cache_read >= 0) {
        u->cache_read = v->cache_read;
    }

    if (v->cache_write >= 0) {
        u->cache_write = v->cache_write;
    }
}


static size_t
llmr_xans_max(const llmr_xans_t *a)
{
    return a->conf.max_event ? a->conf.max_event : LLMR_XANS_MAX_EVENT;
}


static int
llmr_xans_failed(const llmr_xans_t *a)
{
    return a->failed || a->out.failed;
}
