
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * OpenAI chat completions: the request read into the intermediate form,
 * and written from it.
 */


#include <string.h>

#include "llmr_xreq.h"


#define LLMR_XREQ_ANTHROPIC_BIT  (1u << LLMR_API_ANTHROPIC)


static int llmr_xreq_openai_member(llmr_xreq_t *x, int k, llmr_jv_t *m,
    void *data);
static int llmr_xreq_openai_type(llmr_xreq_t *x, int k, const llmr_jv_t *m);
static int llmr_xreq_openai_blocks(llmr_xreq_t *x, int k,
    const llmr_jv_t *m);
static int llmr_xreq_openai_message(llmr_xreq_t *x, const llmr_jv_t *msg);
static int llmr_xreq_openai_system(llmr_xreq_t *x, const llmr_jv_t *c);
static int llmr_xreq_openai_content(llmr_xreq_t *x, const llmr_jv_t *c);
static int llmr_xreq_openai_calls(llmr_xreq_t *x, const llmr_jv_t *calls);
static int llmr_xreq_openai_result(llmr_xreq_t *x, const llmr_jv_t *msg);
static int llmr_xreq_openai_tools(llmr_xreq_t *x, const llmr_jv_t *tools);
static int llmr_xreq_openai_choice(llmr_xreq_t *x, const llmr_jv_t *tc);
static int llmr_xreq_openai_format(llmr_xreq_t *x, const llmr_jv_t *rf);
static void llmr_xreq_openai_msg(llmr_xreq_t *x, const llmr_xmsg_t *m);
static void llmr_xreq_openai_user(llmr_xreq_t *x, const llmr_xmsg_t *m);
static void llmr_xreq_openai_params(llmr_xreq_t *x,
    const llmr_xreq_conf_t *conf);
static void llmr_xreq_openai_write_tools(llmr_xreq_t *x);


enum {
    LLMR_XO_MODEL = 0,
    LLMR_XO_MESSAGES,
    LLMR_XO_MAX_TOKENS,
    LLMR_XO_MAX_COMPLETION_TOKENS,
    LLMR_XO_TEMPERATURE,
    LLMR_XO_TOP_P,
    LLMR_XO_N,
    LLMR_XO_SEED,
    LLMR_XO_PRESENCE_PENALTY,
    LLMR_XO_FREQUENCY_PENALTY,
    LLMR_XO_STOP,
    LLMR_XO_STREAM,
    LLMR_XO_STREAM_OPTIONS,
    LLMR_XO_TOOLS,
    LLMR_XO_TOOL_CHOICE,
    LLMR_XO_PARALLEL_TOOL_CALLS,
    LLMR_XO_RESPONSE_FORMAT,
    LLMR_XO_USER,
    LLMR_XO_METADATA,
    LLMR_XO_STORE,
    LLMR_XO_PREDICTION,
    LLMR_XO_SERVICE_TIER,
    LLMR_XO_LOGPROBS,
    LLMR_XO_TOP_LOGPROBS,
    LLMR_XO_LOGIT_BIAS,
    LLMR_XO_MODALITIES,
    LLMR_XO_BLOCKING            /* from here on: known, and block */
};


static const char *const  llmr_xreq_openai_keys[] = {
    "model", "messages", "max_tokens", "max_completion_tokens",
    "temperature", "top_p", "n", "seed", "presence_penalty",
    "frequency_penalty", "stop", "stream", "stream_options", "tools",
    "tool_choice", "parallel_tool_calls", "response_format", "user",
    "metadata", "store", "prediction", "service_tier", "logprobs",
    "top_logprobs", "logit_bias", "modalities",
    /* what no other API has */
    "audio", "reasoning_effort", "web_search_options", "functions",
    "function_call", "verbosity",
    NULL
};


int
llmr_xreq_parse_openai(llmr_xreq_t *x, const llmr_jv_t *root)
{
    uint64_t  seen;

    if (llmr_xreq_members(x, root, llmr_xreq_openai_keys, 0,
                          llmr_xreq_openai_member, NULL, &seen)
        != LLMR_OK)
    {
        return LLMR_ERROR;
    }

    if (!(seen & (1ull << LLMR_XO_MESSAGES))) {
        return llmr_xreq_fail(x, "messages", "missing");
    }

    return LLMR_OK;
}


static int
llmr_xreq_openai_member(llmr_xreq_t *x, int k, llmr_jv_t *m, void *data)
{
    llmr_jv_t  *e;

    if (k >= LLMR_XO_BLOCKING) {
        llmr_xreq_block_others(x, llmr_xreq_openai_keys[k]);
        return LLMR_OK;
    }

    if (llmr_xreq_openai_type(x, k, m) != LLMR_OK) {
        return LLMR_ERROR;
    }

    switch (k) {

    case LLMR_XO_MESSAGES:
        if (m->type != LLMR_V_ARRAY) {
            return llmr_xreq_fail(x, "messages", "not an array");
        }

        for (e = m->child; e; e = e->next) {
            if (llmr_xreq_openai_message(x, e) != LLMR_OK) {
                return LLMR_ERROR;
            }
        }

        return LLMR_OK;

    case LLMR_XO_MAX_TOKENS:
        /* max_completion_tokens, its newer name, wins */
        if (x->p.max_tokens == NULL) {
            x->p.max_tokens = m;
        }

        break;

    case LLMR_XO_MAX_COMPLETION_TOKENS:
        x->p.max_tokens = m;
        break;

    case LLMR_XO_TEMPERATURE:
        x->p.temperature = m;
        break;

    case LLMR_XO_TOP_P:
        x->p.top_p = m;
        break;

    case LLMR_XO_N:
        x->p.n = m;

        if (llmr_jv_number(m, 1) != 1) {
            llmr_xreq_block(x, LLMR_XREQ_ANTHROPIC_BIT, "n");
        }

        break;

    case LLMR_XO_SEED:
        x->p.seed = m;
        llmr_xreq_block(x, LLMR_XREQ_ANTHROPIC_BIT, "seed");
        break;

    case LLMR_XO_PRESENCE_PENALTY:
    case LLMR_XO_FREQUENCY_PENALTY:
        if (k == LLMR_XO_PRESENCE_PENALTY) {
            x->p.presence = m;

        } else {
            x->p.frequency = m;
        }

        /* 0 is the default: nothing to express */
        if (llmr_jv_number(m, 0) != 0) {
            llmr_xreq_block(x, LLMR_XREQ_ANTHROPIC_BIT,
                            llmr_xreq_openai_keys[k]);
        }

        break;

    case LLMR_XO_STOP:
        if (m->type == LLMR_V_ARRAY) {
            for (e = m->child; e; e = e->next) {
                if (e->type != LLMR_V_STRING) {
                    return llmr_xreq_fail(x, "stop", "not a string");
                }
            }

        } else if (m->type != LLMR_V_STRING) {
            return llmr_xreq_fail(x, "stop", "not a string or an array");
        }

        x->stop = m;
        break;

    case LLMR_XO_STREAM:
        x->stream = m->boolean;
        break;

    case LLMR_XO_STREAM_OPTIONS:
        if (m->type != LLMR_V_MAP) {
            return llmr_xreq_fail(x, "stream_options", "not an object");
        }

        e = llmr_jv_get(m, "include_usage");
        x->include_usage = llmr_jv_is_type(e, LLMR_V_BOOL) && e->boolean;
        break;

    case LLMR_XO_TOOLS:
        return llmr_xreq_openai_tools(x, m);

    case LLMR_XO_TOOL_CHOICE:
        return llmr_xreq_openai_choice(x, m);

    case LLMR_XO_PARALLEL_TOOL_CALLS:
        x->no_parallel = !m->boolean;
        break;

    case LLMR_XO_RESPONSE_FORMAT:
        return llmr_xreq_openai_format(x, m);

    case LLMR_XO_USER:
        if (m->type != LLMR_V_STRING) {
            return llmr_xreq_fail(x, "user", "not a string");
        }

        x->user = m;
        break;

    case LLMR_XO_LOGPROBS:
    case LLMR_XO_TOP_LOGPROBS:
    case LLMR_XO_LOGIT_BIAS:
    case LLMR_XO_MODALITIES:
        return llmr_xreq_openai_blocks(x, k, m);

    default:
        /* model, metadata, store, prediction, service_tier: not sent */
        break;
    }

    return LLMR_OK;
}


/* the types of the members read as they are */

static int
llmr_xreq_openai_type(llmr_xreq_t *x, int k, const llmr_jv_t *m)
{
    switch (k) {

    case LLMR_XO_MAX_TOKENS:
    case LLMR_XO_MAX_COMPLETION_TOKENS:
    case LLMR_XO_TEMPERATURE:
    case LLMR_XO_TOP_P:
    case LLMR_XO_N:
    case LLMR_XO_SEED:
    case LLMR_XO_PRESENCE_PENALTY:
    case LLMR_XO_FREQUENCY_PENALTY:
    case LLMR_XO_TOP_LOGPROBS:
        if (m->type != LLMR_V_NUMBER) {
            return llmr_xreq_fail(x, llmr_xreq_openai_keys[k],
                                  "not a number");
        }

        break;

    case LLMR_XO_STREAM:
    case LLMR_XO_PARALLEL_TOOL_CALLS:
    case LLMR_XO_LOGPROBS:
    case LLMR_XO_STORE:
        if (m->type != LLMR_V_BOOL) {
            return llmr_xreq_fail(x, llmr_xreq_openai_keys[k],
                                  "not a boolean");
        }

        break;
    }

    return LLMR_OK;
}


/* what only OpenAI has, unless said with its default value */

static int
llmr_xreq_openai_blocks(llmr_xreq_t *x, int k, const llmr_jv_t *m)
{
    llmr_jv_t  *e;

    switch (k) {

    case LLMR_XO_LOGPROBS:
        if (m->boolean) {
            llmr_xreq_block_others(x, "logprobs");
        }

        break;

    case LLMR_XO_TOP_LOGPROBS:
        if (llmr_jv_number(m, 0) != 0) {
            llmr_xreq_block_others(x, "top_logprobs");
        }

        break;

    case LLMR_XO_LOGIT_BIAS:
        if (m->type != LLMR_V_MAP || m->n) {
            llmr_xreq_block_others(x, "logit_bias");
        }

        break;

    case LLMR_XO_MODALITIES:
        /* ["text"] is what every API gives */
        if (m->type != LLMR_V_ARRAY) {
            return llmr_xreq_fail(x, "modalities", "not an array");
        }

        for (e = m->child; e; e = e->next) {
            if (!llmr_jv_is(e, "text")) {
                llmr_xreq_block_others(x, "modalities");
            }
        }

        break;

    default:
        break;
    }

    return LLMR_OK;
}


static int
llmr_xreq_openai_message(llmr_xreq_t *x, const llmr_jv_t *msg)
{
    llmr_jv_t  *role, *c;

    role = llmr_jv_get(msg, "role");

    if (msg->type != LLMR_V_MAP || !llmr_jv_is_type(role, LLMR_V_STRING)) {
        return llmr_xreq_fail(x, "messages.role", "missing");
    }

    c = llmr_jv_get(msg, "content");

    if (llmr_jv_is(role, "system") || llmr_jv_is(role, "developer")) {
        return llmr_xreq_openai_system(x, c);
    }

    if (llmr_jv_is(role, "user")) {
        if (llmr_xreq_msg(x, 0) == NULL) {
            return LLMR_ERROR;
        }

        return llmr_xreq_openai_content(x, c);
    }

    if (llmr_jv_is(role, "tool")) {
        return llmr_xreq_openai_result(x, msg);
    }

    if (llmr_jv_is(role, "function")) {
        llmr_xreq_block_others(x, "function");
        return LLMR_OK;
    }

    if (!llmr_jv_is(role, "assistant")) {
        return llmr_xreq_fail(x, "messages.role", "unknown");
    }

    if (llmr_xreq_msg(x, 1) == NULL) {
        return LLMR_ERROR;
    }

    if (llmr_jv_get(msg, "audio") != NULL) {
        llmr_xreq_block_others(x, "audio");
    }

    if (llmr_jv_get(msg, "function_call") != NULL) {
        llmr_xreq_block_others(x, "function_call");
    }

    if (llmr_jv_get(msg, "refusal") != NULL) {
        llmr_xreq_block_others(x, "refusal");
    }

    if (llmr_xreq_openai_content(x, c) != LLMR_OK) {
        return LLMR_ERROR;
    }

    return llmr_xreq_openai_calls(x, llmr_jv_get(msg, "tool_calls"));
}


static int
llmr_xreq_openai_system(llmr_xreq_t *x, const llmr_jv_t *c)
{
    llmr_jv_t  *e, *t;

    if (c == NULL) {
        return LLMR_OK;
    }

    /* a system message later in the conversation comes first: said so */

    if (c->type == LLMR_V_STRING) {
        return llmr_xreq_sys(x, c);
    }

    if (c->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "messages.content",
                              "not a string or an array");
    }

    for (e = c->child; e; e = e->next) {
        t = llmr_jv_get(e, "text");

        if (!llmr_jv_is(llmr_jv_get(e, "type"), "text")
            || !llmr_jv_is_type(t, LLMR_V_STRING))
        {
            return llmr_xreq_fail(x, "messages.content", "not a text part");
        }

        if (llmr_xreq_sys(x, t) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_openai_content(llmr_xreq_t *x, const llmr_jv_t *c)
{
    llmr_jv_t     *e, *type, *t;
    llmr_xpart_t  *part;

    if (c == NULL) {
        return LLMR_OK;
    }

    if (c->type == LLMR_V_STRING) {
        part = llmr_xreq_part(x, LLMR_XP_TEXT);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(c);

        return LLMR_OK;
    }

    if (c->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "messages.content",
                              "not a string or an array");
    }

    for (e = c->child; e; e = e->next) {
        type = llmr_jv_get(e, "type");

        if (e->type != LLMR_V_MAP || !llmr_jv_is_type(type, LLMR_V_STRING)) {
            return llmr_xreq_fail(x, "messages.content.type", "missing");
        }

        if (llmr_jv_is(type, "text")) {
            t = llmr_jv_get(e, "text");

            if (!llmr_jv_is_type(t, LLMR_V_STRING)) {
                return llmr_xreq_fail(x, "messages.content.text",
                                      "not a string");
            }

            part = llmr_xreq_part(x, LLMR_XP_TEXT);
            if (part == NULL) {
                return LLMR_ERROR;
            }

            part->a = llmr_xs(t);
            continue;
        }

        if (llmr_jv_is(type, "image_url")) {
            t = llmr_jv_get(e, "image_url");

            /* {"url": ..., "detail": ...}, or the URL alone */
            if (llmr_jv_is_type(t, LLMR_V_MAP)) {
                t = llmr_jv_get(t, "url");
            }

            if (!llmr_jv_is_type(t, LLMR_V_STRING)) {
                return llmr_xreq_fail(x, "messages.content.image_url.url",
                                      "not a string");
            }

            if (llmr_xreq_image_url(x, t) != LLMR_OK) {
                return LLMR_ERROR;
            }

            continue;
        }

        if (llmr_jv_is(type, "input_audio")) {
            llmr_xreq_block_others(x, "input_audio");

        } else if (llmr_jv_is(type, "file")) {
            llmr_xreq_block_others(x, "file");

        } else if (llmr_jv_is(type, "refusal")) {
            llmr_xreq_block_others(x, "refusal");

        } else {
            llmr_xreq_block_others(x, "content.type");
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_openai_calls(llmr_xreq_t *x, const llmr_jv_t *calls)
{
    llmr_jv_t     *e, *id, *f, *name, *args;
    llmr_xpart_t  *part;

    if (calls == NULL) {
        return LLMR_OK;
    }

    if (calls->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "tool_calls", "not an array");
    }

    for (e = calls->child; e; e = e->next) {
        id = llmr_jv_get(e, "id");
        f = llmr_jv_get(e, "function");
        name = llmr_jv_get(f, "name");
        args = llmr_jv_get(f, "arguments");

        if (!llmr_jv_is_type(id, LLMR_V_STRING)
            || !llmr_jv_is_type(name, LLMR_V_STRING)
            || (args != NULL && args->type != LLMR_V_STRING))
        {
            return llmr_xreq_fail(x, "tool_calls",
                                  "not {id, function: {name, arguments}}");
        }

        if (!llmr_jv_is(llmr_jv_get(e, "type"), "function")) {
            llmr_xreq_block_others(x, "tool_calls.type");
        }

        part = llmr_xreq_part(x, LLMR_XP_CALL);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(id);
        part->b = llmr_xs(name);

        if (args == NULL) {
            part->args = LLMR_XA_EMPTY;

        } else if (llmr_xreq_args_str(x, part, args) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_openai_result(llmr_xreq_t *x, const llmr_jv_t *msg)
{
    llmr_jv_t     *id, *name, *c, *e;
    llmr_xpart_t  *part;

    id = llmr_jv_get(msg, "tool_call_id");
    name = llmr_jv_get(msg, "name");
    c = llmr_jv_get(msg, "content");

    if (!llmr_jv_is_type(id, LLMR_V_STRING)) {
        return llmr_xreq_fail(x, "messages.tool_call_id", "not a string");
    }

    if (c != NULL && c->type == LLMR_V_ARRAY) {
        for (e = c->child; e; e = e->next) {
            if (!llmr_jv_is(llmr_jv_get(e, "type"), "text")
                || !llmr_jv_is_type(llmr_jv_get(e, "text"), LLMR_V_STRING))
            {
                return llmr_xreq_fail(x, "messages.content",
                                      "not a text part");
            }
        }

    } else if (c != NULL && c->type != LLMR_V_STRING) {
        return llmr_xreq_fail(x, "messages.content",
                              "not a string or an array");
    }

    /* a tool's answer is the user's turn elsewhere */

    if (llmr_xreq_msg(x, 0) == NULL) {
        return LLMR_ERROR;
    }

    part = llmr_xreq_part(x, LLMR_XP_RESULT);
    if (part == NULL) {
        return LLMR_ERROR;
    }

    part->a = llmr_xs(id);
    part->v = c;
    part->res = c == NULL ? LLMR_XR_NONE
                : c->type == LLMR_V_STRING ? LLMR_XR_STR : LLMR_XR_PARTS;

    if (llmr_jv_is_type(name, LLMR_V_STRING)) {
        part->b = llmr_xs(name);
        part->has_name = 1;
    }

    llmr_xreq_match(x, part);

    if (!part->has_name) {
        /* Gemini answers a function by its name */
        llmr_xreq_block(x, 1u << LLMR_API_GEMINI, "tool_call_id");
    }

    return LLMR_OK;
}


static int
llmr_xreq_openai_tools(llmr_xreq_t *x, const llmr_jv_t *tools)
{
    llmr_jv_t  *e;

    if (tools->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "tools", "not an array");
    }

    for (e = tools->child; e; e = e->next) {
        if (!llmr_jv_is(llmr_jv_get(e, "type"), "function")) {
            /* custom (grammar) tools */
            llmr_xreq_block_others(x, "tools.type");
            continue;
        }

        if (llmr_xreq_function(x, "tools.function",
                               llmr_jv_get(e, "function"))
            != LLMR_OK)
        {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_openai_choice(llmr_xreq_t *x, const llmr_jv_t *tc)
{
    llmr_xreq_openai_tc(x, tc,
                        llmr_jv_get(llmr_jv_get(tc, "function"), "name"));
    return LLMR_OK;
}


static int
llmr_xreq_openai_format(llmr_xreq_t *x, const llmr_jv_t *rf)
{
    llmr_jv_t  *type, *js;

    type = llmr_jv_get(rf, "type");

    if (llmr_jv_is(type, "text")) {
        x->json = LLMR_XJ_TEXT;
        return LLMR_OK;
    }

    if (llmr_jv_is(type, "json_object")) {
        x->json = LLMR_XJ_OBJECT;

    } else if (llmr_jv_is(type, "json_schema")) {
        js = llmr_jv_get(rf, "json_schema");
        x->json_schema = llmr_jv_get(js, "schema");
        x->json_name = llmr_jv_get(js, "name");
        x->json_strict = llmr_jv_get(js, "strict");

        if (!llmr_jv_is_type(x->json_schema, LLMR_V_MAP)
            || (x->json_name != NULL && x->json_name->type != LLMR_V_STRING)
            || (x->json_strict != NULL
                && x->json_strict->type != LLMR_V_BOOL))
        {
            return llmr_xreq_fail(x, "response_format.json_schema",
                                  "not {name, schema, strict}");
        }

        x->json = LLMR_XJ_SCHEMA;

    } else {
        return llmr_xreq_fail(x, "response_format.type", "unknown");
    }

    /* Anthropic has no JSON mode */
    llmr_xreq_block(x, LLMR_XREQ_ANTHROPIC_BIT, "response_format");

    return LLMR_OK;
}


/* the writer */


void
llmr_xreq_write_openai(llmr_xreq_t *x, const llmr_xreq_conf_t *conf)
{
    uint32_t     i;
    llmr_jbuf_t  *b;

    b = &x->out;

    llmr_jbuf_char(b, '{');

    if (conf->model != NULL) {
        llmr_jbuf_key(b, 0, "model");
        llmr_jbuf_str(b, conf->model, conf->model_len);
        llmr_jbuf_char(b, ',');
    }

    llmr_jbuf_key(b, 0, "messages");
    llmr_jbuf_char(b, '[');

    if (x->nsystem) {
        llmr_jbuf_lit(b, "{\"role\":\"system\",\"content\":");
        llmr_xreq_system_str(x);
        llmr_jbuf_char(b, '}');
    }

    for (i = 0; i < x->nmsgs; i++) {
        if (i || x->nsystem) {
            llmr_jbuf_char(b, ',');
        }

        llmr_xreq_openai_msg(x, &x->msgs[i]);
    }

    llmr_jbuf_char(b, ']');

    llmr_xreq_openai_params(x, conf);

    llmr_jbuf_char(b, '}');
}


static void
llmr_xreq_openai_msg(llmr_xreq_t *x, const llmr_xmsg_t *m)
{
    int            sep;
    uint32_t       i, texts, calls;
    llmr_jbuf_t   *b;
    llmr_xpart_t  *p;

    if (!m->assistant) {
        llmr_xreq_openai_user(x, m);
        return;
    }

    b = &x->out;
    texts = 0;
    calls = 0;

    for (i = m->first; i < m->first + m->n; i++) {
        if (x->parts[i].type == LLMR_XP_TEXT) {
            texts++;

        } else if (x->parts[i].type == LLMR_XP_CALL) {
            calls++;
        }
    }

    llmr_jbuf_lit(b, "{\"role\":\"assistant\",\"content\":");

    if (texts == 0) {
        if (calls) {
            llmr_jbuf_lit(b, "null");

        } else {
            llmr_jbuf_lit(b, "\"\"");
        }

    } else if (texts > 1) {
        llmr_jbuf_char(b, '[');
    }

    for (sep = 0, i = m->first; i < m->first + m->n; i++) {
        p = &x->parts[i];

        if (p->type != LLMR_XP_TEXT) {
            continue;
        }

        if (texts == 1) {
            llmr_xreq_xs(b, p->a);
            continue;
        }

        if (sep++) {
            llmr_jbuf_char(b, ',');
        }

        llmr_jbuf_lit(b, "{\"type\":\"text\",\"text\":");
        llmr_xreq_xs(b, p->a);
        llmr_jbuf_char(b, '}');
    }

    if (texts > 1) {
        llmr_jbuf_char(b, ']');
    }

    if (calls) {
        llmr_jbuf_lit(b, ",\"tool_calls\":[");

        for (sep = 0, i = m->first; i < m->first + m->n; i++) {
            p = &x->parts[i];

            if (p->type != LLMR_XP_CALL) {
                continue;
            }

            if (sep++) {
                llmr_jbuf_char(b, ',');
            }

            llmr_jbuf_lit(b, "{\"id\":");
            llmr_xreq_id(b, p);
            llmr_jbuf_lit(b, ",\"type\":\"function\",\"function\":{\"name\":");
            llmr_xreq_xs(b, p->b);
            llmr_jbuf_lit(b, ",\"arguments\":");
            llmr_xreq_args_json_str(x, p);
            llmr_jbuf_lit(b, "}}");
        }

        llmr_jbuf_char(b, ']');
    }

    llmr_jbuf_char(b, '}');
}


/* the tools' results first, one message each, then the user's parts */

static void
llmr_xreq_openai_user(llmr_xreq_t *x, const llmr_xmsg_t *m)
{
    int            sep;
    uint32_t       i, rest;
    llmr_jbuf_t   *b;
    llmr_xpart_t  *p;

    b = &x->out;
    sep = 0;
    rest = 0;

    for (i = m->first; i < m->first + m->n; i++) {
        p = &x->parts[i];

        if (p->type != LLMR_XP_RESULT) {
            rest++;
            continue;
        }

        if (sep++) {
            llmr_jbuf_char(b, ',');
        }

        llmr_jbuf_lit(b, "{\"role\":\"tool\",\"tool_call_id\":");
        llmr_xreq_id(b, p);
        llmr_jbuf_lit(b, ",\"content\":");
        llmr_xreq_result_str(b, p);
        llmr_jbuf_char(b, '}');
    }

    if (rest == 0 && sep) {
        return;
    }

    if (sep) {
        llmr_jbuf_char(b, ',');
    }

    llmr_jbuf_lit(b, "{\"role\":\"user\",\"content\":");

    if (rest == 0) {
        llmr_jbuf_lit(b, "\"\"}");
        return;
    }

    if (rest == 1) {
        for (i = m->first; x->parts[i].type == LLMR_XP_RESULT; i++) {
            /* void */
        }

        if (x->parts[i].type == LLMR_XP_TEXT) {
            llmr_xreq_xs(b, x->parts[i].a);
            llmr_jbuf_char(b, '}');
            return;
        }
    }

    llmr_jbuf_char(b, '[');

    for (sep = 0, i = m->first; i < m->first + m->n; i++) {
        p = &x->parts[i];

        if (p->type == LLMR_XP_RESULT) {
            continue;
        }

        if (sep++) {
            llmr_jbuf_char(b, ',');
        }

        switch (p->type) {

        case LLMR_XP_TEXT:
            llmr_jbuf_lit(b, "{\"type\":\"text\",\"text\":");
            llmr_xreq_xs(b, p->a);
            llmr_jbuf_char(b, '}');
            break;

        case LLMR_XP_IMAGE:
            llmr_jbuf_lit(b, "{\"type\":\"image_url\",\"image_url\":"
                          "{\"url\":\"data:");
            llmr_jbuf_add(b, p->b.s, p->b.len);
            llmr_jbuf_lit(b, ";base64,");
            llmr_jbuf_add(b, p->a.s, p->a.len);
            llmr_jbuf_lit(b, "\"}}");
            break;

        default:
            llmr_jbuf_lit(b, "{\"type\":\"image_url\",\"image_url\":"
                          "{\"url\":");
            llmr_xreq_xs(b, p->a);
            llmr_jbuf_lit(b, "}}");
            break;
        }
    }

    llmr_jbuf_lit(b, "]}");
}


static void
llmr_xreq_openai_params(llmr_xreq_t *x, const llmr_xreq_conf_t *conf)
{
    llmr_jbuf_t  *b;

    b = &x->out;

#define llmr_xreq_param(f, name)                                              \
    if (x->p.f != NULL) {                                                     \
        llmr_jbuf_key(b, 1, name);                                            \
        llmr_jbuf_value(b, x->p.f);                                           \
    }

    llmr_xreq_param(max_tokens, "max_tokens");
    llmr_xreq_param(temperature, "temperature");
    llmr_xreq_param(top_p, "top_p");
    llmr_xreq_param(n, "n");
    llmr_xreq_param(seed, "seed");
    llmr_xreq_param(presence, "presence_penalty");
    llmr_xreq_param(frequency, "frequency_penalty");

#undef llmr_xreq_param

    if (x->stop != NULL) {
        llmr_jbuf_key(b, 1, "stop");
        llmr_xreq_stop(b, x->stop);
    }

    if (x->ntools) {
        llmr_xreq_openai_write_tools(x);
    }

    switch (x->json) {

    case LLMR_XJ_OBJECT:
        llmr_jbuf_lit(b, ",\"response_format\":{\"type\":\"json_object\"}");
        break;

    case LLMR_XJ_SCHEMA:
        llmr_jbuf_lit(b, ",\"response_format\":{\"type\":\"json_schema\","
                      "\"json_schema\":{\"name\":");

        if (x->json_name != NULL) {
            llmr_jbuf_value(b, x->json_name);

        } else {
            llmr_jbuf_lit(b, "\"response\"");
        }

        llmr_jbuf_lit(b, ",\"schema\":");
        llmr_xreq_schema(b, x->json_schema, x->json_openapi);
        llmr_jbuf_lit(b, ",\"strict\":");

        if (x->json_strict != NULL) {
            llmr_jbuf_value(b, x->json_strict);

        } else {
            llmr_jbuf_lit(b, "false");
        }

        llmr_jbuf_lit(b, "}}");
        break;

    default:
        break;
    }

    if (x->user != NULL) {
        llmr_jbuf_key(b, 1, "user");
        llmr_jbuf_value(b, x->user);
    }

    if (x->stream) {
        llmr_jbuf_lit(b, ",\"stream\":true");

        if (conf->include_usage) {
            llmr_jbuf_lit(b, ",\"stream_options\":{\"include_usage\":true}");
        }
    }
}


static void
llmr_xreq_openai_write_tools(llmr_xreq_t *x)
{
    uint32_t       i;
    llmr_jbuf_t   *b;
    llmr_xtool_t  *t;

    b = &x->out;

    llmr_jbuf_lit(b, ",\"tools\":[");

    for (i = 0; i < x->ntools; i++) {
        t = &x->tools[i];

        if (i) {
            llmr_jbuf_char(b, ',');
        }

        llmr_jbuf_lit(b, "{\"type\":\"function\",\"function\":{\"name\":");
        llmr_xreq_xs(b, t->name);

        if (t->desc != NULL) {
            llmr_jbuf_lit(b, ",\"description\":");
            llmr_jbuf_value(b, t->desc);
        }

        if (t->schema != NULL) {
            llmr_jbuf_lit(b, ",\"parameters\":");
            llmr_xreq_schema(b, t->schema, t->openapi);
        }

        llmr_jbuf_lit(b, "}}");
    }

    llmr_jbuf_char(b, ']');

    switch (x->tool_choice) {

    case LLMR_XTC_AUTO:
        llmr_jbuf_lit(b, ",\"tool_choice\":\"auto\"");
        break;

    case LLMR_XTC_NONE:
        llmr_jbuf_lit(b, ",\"tool_choice\":\"none\"");
        break;

    case LLMR_XTC_REQUIRED:
        llmr_jbuf_lit(b, ",\"tool_choice\":\"required\"");
        break;

    case LLMR_XTC_NAMED:
        llmr_jbuf_lit(b, ",\"tool_choice\":{\"type\":\"function\","
                      "\"function\":{\"name\":");
        llmr_xreq_xs(b, x->tc_name);
        llmr_jbuf_lit(b, "}}");
        break;
    }

    if (x->no_parallel) {
        llmr_jbuf_lit(b, ",\"parallel_tool_calls\":false");
    }
}
