
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <string.h>

#include "llmr_xans.h"


/*
 * The readers: one provider document, a JSON answer or a stream event's
 * data, into the answer events (llmr_xans.h).  A JSON answer is read as
 * the whole of a stream would be; the stream's end is the reader's to
 * tell ([DONE] is framed in llmr_xans.c, not being JSON).
 */


typedef struct {
    const char                 *name;
    int                         value;
} llmr_xr_map_t;


static int llmr_xr_lookup(const llmr_xr_map_t *m, const llmr_jv_t *v,
    int def);
static const llmr_jv_t *llmr_xr_first(const llmr_jv_t *arr);
static void llmr_xr_emit(llmr_xans_t *a, int type);
static void llmr_xr_text(llmr_xans_t *a, const llmr_jv_t *v);
static void llmr_xr_call(llmr_xans_t *a, const llmr_jv_t *id,
    const llmr_jv_t *name, const llmr_jv_t *args, const char *gen_id);
static void llmr_xr_finish(llmr_xans_t *a, int finish);
static void llmr_xr_error(llmr_xans_t *a, const llmr_jv_t *root);
static void llmr_xr_openai_call(llmr_xans_t *a, const llmr_jv_t *tc);
static void llmr_xr_openai_usage(llmr_xans_t *a, const llmr_jv_t *u);
static void llmr_xr_anthropic_usage(const llmr_jv_t *u, llmr_xusage_t *x);
static void llmr_xr_anthropic_block(llmr_xans_t *a, const llmr_jv_t *b);
static void llmr_xr_anthropic_delta(llmr_xans_t *a, const llmr_jv_t *d);
static void llmr_xr_gemini_parts(llmr_xans_t *a, const llmr_jv_t *parts);
static void llmr_xr_gemini_usage(const llmr_jv_t *u, llmr_xusage_t *x);


static const llmr_xr_map_t  llmr_xr_openai_finish[] = {
    { "stop", LLMR_XFIN_STOP },
    { "length", LLMR_XFIN_LENGTH },
    { "tool_calls", LLMR_XFIN_TOOL_CALLS },
    { "function_call", LLMR_XFIN_TOOL_CALLS },
    { "content_filter", LLMR_XFIN_CONTENT_FILTER },
    { NULL, 0 }
};


static const llmr_xr_map_t  llmr_xr_anthropic_finish[] = {
    { "end_turn", LLMR_XFIN_STOP },
    { "stop_sequence", LLMR_XFIN_STOP },
    { "max_tokens", LLMR_XFIN_LENGTH },
    { "model_context_window_exceeded", LLMR_XFIN_LENGTH },
    { "tool_use", LLMR_XFIN_TOOL_CALLS },
    { "refusal", LLMR_XFIN_CONTENT_FILTER },
    { NULL, 0 }
};


static const llmr_xr_map_t  llmr_xr_gemini_finish[] = {
    { "STOP", LLMR_XFIN_STOP },
    { "MAX_TOKENS", LLMR_XFIN_LENGTH },
    { "SAFETY", LLMR_XFIN_CONTENT_FILTER },
    { "RECITATION", LLMR_XFIN_CONTENT_FILTER },
    { "BLOCKLIST", LLMR_XFIN_CONTENT_FILTER },
    { "PROHIBITED_CONTENT", LLMR_XFIN_CONTENT_FILTER },
    { "SPII", LLMR_XFIN_CONTENT_FILTER },
    { "IMAGE_SAFETY", LLMR_XFIN_CONTENT_FILTER },
    { NULL, 0 }
};


/* an error's type (any API's) as the HTTP status it goes with */

static const llmr_xr_map_t  llmr_xr_error_status[] = {
    { "invalid_request_error", 400 },
    { "INVALID_ARGUMENT", 400 },
    { "FAILED_PRECONDITION", 400 },
    { "authentication_error", 401 },
    { "invalid_api_key", 401 },
    { "UNAUTHENTICATED", 401 },
    { "billing_error", 402 },
    { "permission_error", 403 },
    { "PERMISSION_DENIED", 403 },
    { "not_found_error", 404 },
    { "NOT_FOUND", 404 },
    { "request_too_large", 413 },
    { "rate_limit_error", 429 },
    { "rate_limit_exceeded", 429 },
    { "insufficient_quota", 429 },
    { "RESOURCE_EXHAUSTED", 429 },
    { "server_error", 500 },
    { "api_error", 500 },
    { "INTERNAL", 500 },
    { "UNAVAILABLE", 503 },
    { "timeout_error", 504 },
    { "DEADLINE_EXCEEDED", 504 },
    { "overloaded_error", 529 },
    { NULL, 0 }
};


/* OpenAI chat completions: a chat.completion, or one chunk of a stream */

void
llmr_xr_openai(llmr_xans_t *a, const llmr_jv_t *root)
{
    const llmr_jv_t  *c, *m, *v, *tc;
    llmr_xev_t        ev;

    if (llmr_jv_get(root, "error")) {
        llmr_xr_error(a, root);
        return;
    }

    llmr_xev_init(&ev, LLMR_XEV_START);
    llmr_xstr_jv(&ev.id, llmr_jv_get(root, "id"));
    llmr_xstr_jv(&ev.name, llmr_jv_get(root, "model"));
    ev.created = llmr_jv_int(llmr_jv_get(root, "created"), -1);
    llmr_xans_emit(a, &ev);

    c = llmr_xr_first(llmr_jv_get(root, "choices"));
    m = llmr_jv_get(c, a->conf.stream ? "delta" : "message");

    v = llmr_jv_get(m, "content");

    if (!a->conf.stream && !llmr_jv_is_type(v, LLMR_V_STRING)) {
        /* a refusal is the answer's text */
        v = llmr_jv_get(m, "refusal");
    }

    llmr_xr_text(a, v);

    v = llmr_jv_get(m, "tool_calls");

    if (llmr_jv_is_type(v, LLMR_V_ARRAY)) {
        for (tc = v->child; tc; tc = tc->next) {
            llmr_xr_openai_call(a, tc);
        }
    }

    v = llmr_jv_get(c, "finish_reason");

    if (llmr_jv_is_type(v, LLMR_V_STRING)) {
        if (a->r_tool >= 0) {
            a->r_tool = -1;
            llmr_xr_emit(a, LLMR_XEV_TOOL_END);
        }

        llmr_xr_finish(a, llmr_xr_lookup(llmr_xr_openai_finish, v,
                                         LLMR_XFIN_OTHER));
    }

    llmr_xr_openai_usage(a, llmr_jv_get(root, "usage"));
}


/*
 * A call of a message is whole; a stream's comes in pieces by "index",
 * its id and name first: a new index ends the call before it.
 */

static void
llmr_xr_openai_call(llmr_xans_t *a, const llmr_jv_t *tc)
{
    int               index;
    const llmr_jv_t  *f, *args;
    llmr_xev_t        ev;

    f = llmr_jv_get(tc, "function");
    args = llmr_jv_get(f, "arguments");

    if (!a->conf.stream) {
        llmr_xr_call(a, llmr_jv_get(tc, "id"), llmr_jv_get(f, "name"), args,
                     NULL);
        return;
    }

    index = (int) llmr_jv_int(llmr_jv_get(tc, "index"), 0);

    if (index != a->r_tool) {
        if (a->r_tool >= 0) {
            llmr_xr_emit(a, LLMR_XEV_TOOL_END);
        }

        a->r_tool = index;

        llmr_xev_init(&ev, LLMR_XEV_TOOL_START);
        llmr_xstr_jv(&ev.id, llmr_jv_get(tc, "id"));
        llmr_xstr_jv(&ev.name, llmr_jv_get(f, "name"));
        llmr_xans_emit(a, &ev);
    }

    if (llmr_jv_is_type(args, LLMR_V_STRING) && args->len) {
        llmr_xev_init(&ev, LLMR_XEV_TOOL_ARGS);
        llmr_xstr_jv(&ev.text, args);
        llmr_xans_emit(a, &ev);
    }
}


static void
llmr_xr_openai_usage(llmr_xans_t *a, const llmr_jv_t *u)
{
    llmr_xev_t  ev;

    if (!llmr_jv_is_type(u, LLMR_V_MAP)) {
        return;
    }

    llmr_xev_init(&ev, LLMR_XEV_USAGE);
    ev.usage.input = llmr_jv_int(llmr_jv_get(u, "prompt_tokens"), -1);
    ev.usage.output = llmr_jv_int(llmr_jv_get(u, "completion_tokens"), -1);
    ev.usage.cache_read = llmr_jv_int(
        llmr_jv_get(llmr_jv_get(u, "prompt_tokens_details"), "cached_tokens"),
        -1);
    llmr_xans_emit(a, &ev);
}


/* Anthropic messages: a message, or one event of a stream */

void
llmr_xr_anthropic(llmr_xans_t *a, const llmr_jv_t *root)
{
    const llmr_jv_t  *type, *m, *b, *v;
    llmr_xev_t        ev;

    type = llmr_jv_get(root, "type");

    if (llmr_jv_is(type, "error") || llmr_jv_get(root, "error")) {
        llmr_xr_error(a, root);
        return;
    }

    if (llmr_jv_is(type, "message") || llmr_jv_is(type, "message_start")) {
        m = llmr_jv_is(type, "message") ? root : llmr_jv_get(root, "message");

        llmr_xev_init(&ev, LLMR_XEV_START);
        llmr_xstr_jv(&ev.id, llmr_jv_get(m, "id"));
        llmr_xstr_jv(&ev.name, llmr_jv_get(m, "model"));
        llmr_xr_anthropic_usage(llmr_jv_get(m, "usage"), &ev.usage);

        /* message_start's output_tokens is a first guess, not the count */
        if (m != root) {
            ev.usage.output = -1;
        }

        llmr_xans_emit(a, &ev);

        if (m != root) {
            return;
        }

        /* a whole message: its blocks as a stream would give them */
        v = llmr_jv_get(m, "content");

        if (llmr_jv_is_type(v, LLMR_V_ARRAY)) {
            for (b = v->child; b; b = b->next) {
                if (llmr_jv_is(llmr_jv_get(b, "type"), "tool_use")) {
                    llmr_xr_call(a, llmr_jv_get(b, "id"),
                                 llmr_jv_get(b, "name"),
                                 llmr_jv_get(b, "input"), NULL);

                } else if (llmr_jv_is(llmr_jv_get(b, "type"), "text")) {
                    llmr_xr_text(a, llmr_jv_get(b, "text"));
                }
            }
        }

        /* the usage before the finish: a writer may end at the finish */
        llmr_xev_init(&ev, LLMR_XEV_USAGE);
        llmr_xr_anthropic_usage(llmr_jv_get(m, "usage"), &ev.usage);
        llmr_xans_emit(a, &ev);

        v = llmr_jv_get(m, "stop_reason");

        if (v) {
            llmr_xr_finish(a, llmr_xr_lookup(llmr_xr_anthropic_finish, v,
                                             LLMR_XFIN_OTHER));
        }

        return;
    }

    if (llmr_jv_is(type, "content_block_start")) {
        llmr_xr_anthropic_block(a, llmr_jv_get(root, "content_block"));

    } else if (llmr_jv_is(type, "content_block_delta")) {
        llmr_xr_anthropic_delta(a, llmr_jv_get(root, "delta"));

    } else if (llmr_jv_is(type, "content_block_stop")) {
        if (a->r_block) {
            a->r_block = 0;
            llmr_xr_emit(a, LLMR_XEV_TOOL_END);
        }

    } else if (llmr_jv_is(type, "message_delta")) {
        llmr_xev_init(&ev, LLMR_XEV_USAGE);
        llmr_xr_anthropic_usage(llmr_jv_get(root, "usage"), &ev.usage);
        llmr_xans_emit(a, &ev);

        v = llmr_jv_get(llmr_jv_get(root, "delta"), "stop_reason");

        if (v) {
            llmr_xr_finish(a, llmr_xr_lookup(llmr_xr_anthropic_finish, v,
                                             LLMR_XFIN_OTHER));
        }

    } else if (llmr_jv_is(type, "message_stop")) {
        llmr_xr_emit(a, LLMR_XEV_END);
    }

    /* ping, and events of later versions: nothing to translate */
}


static void
llmr_xr_anthropic_block(llmr_xans_t *a, const llmr_jv_t *b)
{
    const llmr_jv_t  *type;
    llmr_xev_t        ev;

    type = llmr_jv_get(b, "type");

    if (llmr_jv_is(type, "text")) {
        llmr_xr_text(a, llmr_jv_get(b, "text"));

    } else if (llmr_jv_is(type, "tool_use")) {
        a->r_block = 1;

        /* its input comes as input_json_delta pieces, the {} here aside */
        llmr_xev_init(&ev, LLMR_XEV_TOOL_START);
        llmr_xstr_jv(&ev.id, llmr_jv_get(b, "id"));
        llmr_xstr_jv(&ev.name, llmr_jv_get(b, "name"));
        llmr_xans_emit(a, &ev);
    }

    /* thinking, server tools' blocks: not in the other APIs' answers */
}


static void
llmr_xr_anthropic_delta(llmr_xans_t *a, const llmr_jv_t *d)
{
    const llmr_jv_t  *type, *v;
    llmr_xev_t        ev;

    type = llmr_jv_get(d, "type");

    if (llmr_jv_is(type, "text_delta")) {
        llmr_xr_text(a, llmr_jv_get(d, "text"));
        return;
    }

    if (llmr_jv_is(type, "input_json_delta") && a->r_block) {
        v = llmr_jv_get(d, "partial_json");

        if (llmr_jv_is_type(v, LLMR_V_STRING) && v->len) {
            llmr_xev_init(&ev, LLMR_XEV_TOOL_ARGS);
            llmr_xstr_jv(&ev.text, v);
            llmr_xans_emit(a, &ev);
        }
    }
}


/* input_tokens does not count the cached ones: the event's input does */

static void
llmr_xr_anthropic_usage(const llmr_jv_t *u, llmr_xusage_t *x)
{
    int64_t  in, cr, cw;

    if (!llmr_jv_is_type(u, LLMR_V_MAP)) {
        return;
    }

    in = llmr_jv_int(llmr_jv_get(u, "input_tokens"), -1);
    cr = llmr_jv_int(llmr_jv_get(u, "cache_read_input_tokens"), -1);
    cw = llmr_jv_int(llmr_jv_get(u, "cache_creation_input_tokens"), -1);

    x->output = llmr_jv_int(llmr_jv_get(u, "output_tokens"), -1);
    x->cache_read = cr;
    x->cache_write = cw;

    if (in >= 0) {
        x->input = in + (cr > 0 ? cr : 0) + (cw > 0 ? cw : 0);
    }
}


/* Gemini generateContent: a GenerateContentResponse, or one chunk */

void
llmr_xr_gemini(llmr_xans_t *a, const llmr_jv_t *root)
{
    const llmr_jv_t  *c, *v;
    llmr_xev_t        ev;

    if (llmr_jv_get(root, "error")) {
        llmr_xr_error(a, root);
        return;
    }

    llmr_xev_init(&ev, LLMR_XEV_START);
    llmr_xstr_jv(&ev.id, llmr_jv_get(root, "responseId"));
    llmr_xstr_jv(&ev.name, llmr_jv_get(root, "modelVersion"));
    llmr_xr_gemini_usage(llmr_jv_get(root, "usageMetadata"), &ev.usage);
    ev.usage.output = -1;
    llmr_xans_emit(a, &ev);

    c = llmr_xr_first(llmr_jv_get(root, "candidates"));

    llmr_xr_gemini_parts(a, llmr_jv_get(llmr_jv_get(c, "content"), "parts"));

    llmr_xev_init(&ev, LLMR_XEV_USAGE);
    llmr_xr_gemini_usage(llmr_jv_get(root, "usageMetadata"), &ev.usage);
    llmr_xans_emit(a, &ev);

    v = llmr_jv_get(c, "finishReason");

    if (v == NULL && c == NULL
        && llmr_jv_get(llmr_jv_get(root, "promptFeedback"), "blockReason"))
    {
        /* the prompt itself was blocked: no candidate at all */
        llmr_xr_finish(a, LLMR_XFIN_CONTENT_FILTER);

    } else if (v) {
        llmr_xr_finish(a, llmr_xr_lookup(llmr_xr_gemini_finish, v,
                                         LLMR_XFIN_OTHER));

    } else {
        return;
    }

    /* no other end marks a Gemini stream's */
    llmr_xr_emit(a, LLMR_XEV_END);
}


static void
llmr_xr_gemini_parts(llmr_xans_t *a, const llmr_jv_t *parts)
{
    char              id[32];
    const llmr_jv_t  *p, *fc, *t;

    if (!llmr_jv_is_type(parts, LLMR_V_ARRAY)) {
        return;
    }

    for (p = parts->child; p; p = p->next) {
        t = llmr_jv_get(p, "thought");

        if (t && t->type == LLMR_V_BOOL && t->boolean) {
            /* a thought summary is not the answer's text */
            continue;
        }

        fc = llmr_jv_get(p, "functionCall");

        if (fc) {
            /* Gemini numbers no calls: their position does, the same */
            snprintf(id, sizeof(id), "call_%u", a->r_calls);
            a->r_calls++;

            llmr_xr_call(a, llmr_jv_get(fc, "id"), llmr_jv_get(fc, "name"),
                         llmr_jv_get(fc, "args"), id);
            continue;
        }

        llmr_xr_text(a, llmr_jv_get(p, "text"));
    }
}


/* promptTokenCount counts the cached tokens; thoughts are output */

static void
llmr_xr_gemini_usage(const llmr_jv_t *u, llmr_xusage_t *x)
{
    int64_t  out, th;

    if (!llmr_jv_is_type(u, LLMR_V_MAP)) {
        return;
    }

    x->input = llmr_jv_int(llmr_jv_get(u, "promptTokenCount"), -1);
    x->cache_read = llmr_jv_int(llmr_jv_get(u, "cachedContentTokenCount"), -1);

    out = llmr_jv_int(llmr_jv_get(u, "candidatesTokenCount"), -1);
    th = llmr_jv_int(llmr_jv_get(u, "thoughtsTokenCount"), -1);

    if (out >= 0 || th >= 0) {
        x->output = (out > 0 ? out : 0) + (th > 0 ? th : 0);
    }
}


/*
 * An error of any API's shape: OpenAI's and Gemini's {"error":{...}},
 * Anthropic's {"type":"error","error":{...}}, Gemini's stream error in
 * an array.  Returns whether there was one; its status when it tells.
 */

int
llmr_xr_error_find(const llmr_jv_t *root, const llmr_jv_t **code,
    const llmr_jv_t **msg, int *status)
{
    const llmr_jv_t  *e, *c;

    *status = -1;

    if (llmr_jv_is_type(root, LLMR_V_ARRAY)) {
        root = llmr_xr_first(root);
    }

    e = llmr_jv_get(root, "error");

    if (e == NULL) {
        return 0;
    }

    if (e->type == LLMR_V_STRING) {
        *msg = e;
        return 1;
    }

    *msg = llmr_jv_get(e, "message");

    c = llmr_jv_get(e, "code");

    if (llmr_jv_is_type(c, LLMR_V_NUMBER)) {
        *status = (int) llmr_jv_int(c, -1);
    }

    /* OpenAI's code is the finer ("rate_limit_exceeded" of "tokens") */
    *code = llmr_jv_is_type(c, LLMR_V_STRING) ? c : llmr_jv_get(e, "type");

    if (!llmr_jv_is_type(*code, LLMR_V_STRING)) {
        *code = llmr_jv_get(e, "status");
    }

    if (*status < 400 || *status > 599) {
        *status = llmr_xr_lookup(llmr_xr_error_status, *code, -1);
    }

    return 1;
}


/* an error event in a stream (or a JSON answer that is one) */

static void
llmr_xr_error(llmr_xans_t *a, const llmr_jv_t *root)
{
    int               status;
    const llmr_jv_t  *code, *msg;

    code = NULL;
    msg = NULL;

    (void) llmr_xr_error_find(root, &code, &msg, &status);

    llmr_xans_error_ev(a, status > 0 ? status : 500, code, msg,
                       "the provider's answer is an error");
}


/* helpers */


static int
llmr_xr_lookup(const llmr_xr_map_t *m, const llmr_jv_t *v, int def)
{
    if (!llmr_jv_is_type(v, LLMR_V_STRING)) {
        return def;
    }

    for ( /* void */ ; m->name; m++) {
        if (llmr_jv_is(v, m->name)) {
            return m->value;
        }
    }

    return def;
}


/* the first choice or candidate: the only one a client of n=1 reads */

static const llmr_jv_t *
llmr_xr_first(const llmr_jv_t *arr)
{
    return llmr_jv_is_type(arr, LLMR_V_ARRAY) ? arr->child : NULL;
}


static void
llmr_xr_emit(llmr_xans_t *a, int type)
{
    llmr_xev_t  ev;

    llmr_xev_init(&ev, type);
    llmr_xans_emit(a, &ev);
}


static void
llmr_xr_text(llmr_xans_t *a, const llmr_jv_t *v)
{
    llmr_xev_t  ev;

    if (!llmr_jv_is_type(v, LLMR_V_STRING) || v->len == 0) {
        return;
    }

    llmr_xev_init(&ev, LLMR_XEV_TEXT);
    llmr_xstr_jv(&ev.text, v);
    llmr_xans_emit(a, &ev);
}


/*
 * A whole call: its arguments a string (OpenAI: JSON text, escaped) or
 * an object (Anthropic's input, Gemini's args: JSON text as it is).
 */

static void
llmr_xr_call(llmr_xans_t *a, const llmr_jv_t *id, const llmr_jv_t *name,
    const llmr_jv_t *args, const char *gen_id)
{
    llmr_xev_t  ev;

    llmr_xev_init(&ev, LLMR_XEV_TOOL_START);
    llmr_xstr_jv(&ev.id, id);
    llmr_xstr_jv(&ev.name, name);

    if (ev.id.s == NULL && gen_id) {
        ev.id.s = gen_id;
        ev.id.len = strlen(gen_id);
    }

    llmr_xans_emit(a, &ev);

    llmr_xev_init(&ev, LLMR_XEV_TOOL_ARGS);

    if (llmr_jv_is_type(args, LLMR_V_STRING)) {
        llmr_xstr_jv(&ev.text, args);

    } else if (args) {
        ev.text.s = args->s;
        ev.text.len = args->len;
    }

    if (ev.text.len) {
        llmr_xans_emit(a, &ev);
    }

    llmr_xr_emit(a, LLMR_XEV_TOOL_END);
}


static void
llmr_xr_finish(llmr_xans_t *a, int finish)
{
    llmr_xev_t  ev;

    llmr_xev_init(&ev, LLMR_XEV_FINISH);
    ev.finish = finish;
    llmr_xans_emit(a, &ev);
}
