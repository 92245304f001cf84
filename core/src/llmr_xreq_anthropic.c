
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * Anthropic messages: the request read into the intermediate form, and
 * written from it.
 */


#include <string.h>

#include "llmr_xreq.h"


#define LLMR_XREQ_OPENAI_BIT     (1u << LLMR_API_OPENAI)
#define LLMR_XREQ_GEMINI_BIT     (1u << LLMR_API_GEMINI)

/* what Anthropic needs and a request may not say */
#define LLMR_XREQ_MAX_TOKENS     4096


static int llmr_xreq_anthropic_member(llmr_xreq_t *x, int k,
    llmr_jv_t *m, void *data);
static int llmr_xreq_anthropic_system(llmr_xreq_t *x, const llmr_jv_t *s);
static int llmr_xreq_anthropic_message(llmr_xreq_t *x,
    const llmr_jv_t *msg);
static int llmr_xreq_anthropic_block(llmr_xreq_t *x, const llmr_jv_t *e,
    int assistant);
static int llmr_xreq_anthropic_image(llmr_xreq_t *x, const llmr_jv_t *e);
static int llmr_xreq_anthropic_result(llmr_xreq_t *x, const llmr_jv_t *e);
static int llmr_xreq_anthropic_tools(llmr_xreq_t *x,
    const llmr_jv_t *tools);
static int llmr_xreq_anthropic_choice(llmr_xreq_t *x, const llmr_jv_t *tc);
static void llmr_xreq_anthropic_msg(llmr_xreq_t *x, const llmr_xmsg_t *m);
static void llmr_xreq_anthropic_part(llmr_xreq_t *x,
    const llmr_xpart_t *p);
static void llmr_xreq_anthropic_params(llmr_xreq_t *x);
static void llmr_xreq_anthropic_write_tools(llmr_xreq_t *x);


enum {
    LLMR_XA_MODEL = 0,
    LLMR_XA_MESSAGES,
    LLMR_XA_SYSTEM,
    LLMR_XA_MAX_TOKENS,
    LLMR_XA_TEMPERATURE,
    LLMR_XA_TOP_P,
    LLMR_XA_TOP_K,
    LLMR_XA_STOP_SEQUENCES,
    LLMR_XA_STREAM,
    LLMR_XA_TOOLS,
    LLMR_XA_TOOL_CHOICE,
    LLMR_XA_METADATA,
    LLMR_XA_THINKING,
    LLMR_XA_SERVICE_TIER,
    LLMR_XA_BLOCKING
};


static const char *const  llmr_xreq_anthropic_keys[] = {
    "model", "messages", "system", "max_tokens", "temperature", "top_p",
    "top_k", "stop_sequences", "stream", "tools", "tool_choice",
    "metadata", "thinking", "service_tier",
    /* what no other API has */
    "container", "mcp_servers", "context_management",
    NULL
};


/* the content blocks no other API has, by name */

static const char *const  llmr_xreq_anthropic_blocks[] = {
    "document", "thinking", "redacted_thinking", "server_tool_use",
    "web_search_tool_result", "web_fetch_tool_result", "search_result",
    "code_execution_tool_result", "mcp_tool_use", "mcp_tool_result",
    "container_upload",
    NULL
};


int
llmr_xreq_parse_anthropic(llmr_xreq_t *x, const llmr_jv_t *root)
{
    uint64_t  seen;

    if (llmr_xreq_members(x, root, llmr_xreq_anthropic_keys, 0,
                          llmr_xreq_anthropic_member, NULL, &seen)
        != LLMR_OK)
    {
        return LLMR_ERROR;
    }

    if (!(seen & (1ull << LLMR_XA_MESSAGES))) {
        return llmr_xreq_fail(x, "messages", "missing");
    }

    return LLMR_OK;
}


static int
llmr_xreq_anthropic_member(llmr_xreq_t *x, int k, llmr_jv_t *m,
    void *data)
{
    llmr_jv_t  *e;

    if (k >= LLMR_XA_BLOCKING) {
        llmr_xreq_block_others(x, llmr_xreq_anthropic_keys[k]);
        return LLMR_OK;
    }

    switch (k) {

    case LLMR_XA_MAX_TOKENS:
    case LLMR_XA_TEMPERATURE:
    case LLMR_XA_TOP_P:
    case LLMR_XA_TOP_K:
        if (m->type != LLMR_V_NUMBER) {
            return llmr_xreq_fail(x, llmr_xreq_anthropic_keys[k],
                                  "not a number");
        }

        break;

    case LLMR_XA_STREAM:
        if (m->type != LLMR_V_BOOL) {
            return llmr_xreq_fail(x, "stream", "not a boolean");
        }

        break;

    case LLMR_XA_MESSAGES:
    case LLMR_XA_STOP_SEQUENCES:
    case LLMR_XA_TOOLS:
        if (m->type != LLMR_V_ARRAY) {
            return llmr_xreq_fail(x, llmr_xreq_anthropic_keys[k],
                                  "not an array");
        }

        break;

    case LLMR_XA_TOOL_CHOICE:
    case LLMR_XA_METADATA:
    case LLMR_XA_THINKING:
        if (m->type != LLMR_V_MAP) {
            return llmr_xreq_fail(x, llmr_xreq_anthropic_keys[k],
                                  "not an object");
        }

        break;
    }

    switch (k) {

    case LLMR_XA_MESSAGES:
        for (e = m->child; e; e = e->next) {
            if (llmr_xreq_anthropic_message(x, e) != LLMR_OK) {
                return LLMR_ERROR;
            }
        }

        break;

    case LLMR_XA_SYSTEM:
        return llmr_xreq_anthropic_system(x, m);

    case LLMR_XA_MAX_TOKENS:
        x->p.max_tokens = m;
        break;

    case LLMR_XA_TEMPERATURE:
        x->p.temperature = m;
        break;

    case LLMR_XA_TOP_P:
        x->p.top_p = m;
        break;

    case LLMR_XA_TOP_K:
        x->p.top_k = m;
        llmr_xreq_block(x, LLMR_XREQ_OPENAI_BIT, "top_k");
        break;

    case LLMR_XA_STOP_SEQUENCES:
        for (e = m->child; e; e = e->next) {
            if (e->type != LLMR_V_STRING) {
                return llmr_xreq_fail(x, "stop_sequences", "not a string");
            }
        }

        /* OpenAI takes four */
        if (m->n > 4) {
            llmr_xreq_block(x, LLMR_XREQ_OPENAI_BIT, "stop_sequences");
        }

        x->stop = m;
        break;

    case LLMR_XA_STREAM:
        x->stream = m->boolean;
        break;

    case LLMR_XA_TOOLS:
        return llmr_xreq_anthropic_tools(x, m);

    case LLMR_XA_TOOL_CHOICE:
        return llmr_xreq_anthropic_choice(x, m);

    case LLMR_XA_METADATA:
        e = llmr_jv_get(m, "user_id");

        if (e != NULL && e->type != LLMR_V_STRING) {
            return llmr_xreq_fail(x, "metadata.user_id", "not a string");
        }

        x->user = e;
        break;

    case LLMR_XA_THINKING:
        if (!llmr_jv_is(llmr_jv_get(m, "type"), "disabled")) {
            llmr_xreq_block_others(x, "thinking");
        }

        break;

    default:
        /* model, service_tier: not sent */
        break;
    }

    return LLMR_OK;
}


static int
llmr_xreq_anthropic_system(llmr_xreq_t *x, const llmr_jv_t *s)
{
    llmr_jv_t  *e, *t;

    if (s->type == LLMR_V_STRING) {
        return llmr_xreq_sys(x, s);
    }

    if (s->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "system", "not a string or an array");
    }

    for (e = s->child; e; e = e->next) {
        t = llmr_jv_get(e, "text");

        /* cache_control: a caching hint, not sent */
        if (!llmr_jv_is(llmr_jv_get(e, "type"), "text")
            || !llmr_jv_is_type(t, LLMR_V_STRING))
        {
            return llmr_xreq_fail(x, "system", "not a text block");
        }

        if (llmr_xreq_sys(x, t) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_anthropic_message(llmr_xreq_t *x, const llmr_jv_t *msg)
{
    int            assistant;
    llmr_jv_t     *role, *c, *e;
    llmr_xpart_t  *part;

    role = llmr_jv_get(msg, "role");
    c = llmr_jv_get(msg, "content");

    if (llmr_jv_is(role, "user")) {
        assistant = 0;

    } else if (llmr_jv_is(role, "assistant")) {
        assistant = 1;

    } else {
        return llmr_xreq_fail(x, "messages.role", "not user or assistant");
    }

    if (llmr_xreq_msg(x, assistant) == NULL) {
        return LLMR_ERROR;
    }

    if (llmr_jv_is_type(c, LLMR_V_STRING)) {
        part = llmr_xreq_part(x, LLMR_XP_TEXT);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(c);

        return LLMR_OK;
    }

    if (!llmr_jv_is_type(c, LLMR_V_ARRAY)) {
        return llmr_xreq_fail(x, "messages.content",
                              "not a string or an array");
    }

    for (e = c->child; e; e = e->next) {
        if (llmr_xreq_anthropic_block(x, e, assistant) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_anthropic_block(llmr_xreq_t *x, const llmr_jv_t *e,
    int assistant)
{
    int            i;
    llmr_jv_t     *type, *t, *id, *name;
    llmr_xpart_t  *part;

    type = llmr_jv_get(e, "type");

    if (!llmr_jv_is_type(type, LLMR_V_STRING)) {
        return llmr_xreq_fail(x, "messages.content.type", "missing");
    }

    if (llmr_jv_is(type, "text")) {
        t = llmr_jv_get(e, "text");

        if (!llmr_jv_is_type(t, LLMR_V_STRING)) {
            return llmr_xreq_fail(x, "messages.content.text",
                                  "not a string");
        }

        /* cache_control and citations: not sent */

        part = llmr_xreq_part(x, LLMR_XP_TEXT);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(t);

        return LLMR_OK;
    }

    if (llmr_jv_is(type, "image")) {
        if (assistant) {
            llmr_xreq_block_others(x, "image");
        }

        return llmr_xreq_anthropic_image(x, e);
    }

    if (llmr_jv_is(type, "tool_use")) {
        id = llmr_jv_get(e, "id");
        name = llmr_jv_get(e, "name");
        t = llmr_jv_get(e, "input");

        if (!llmr_jv_is_type(id, LLMR_V_STRING)
            || !llmr_jv_is_type(name, LLMR_V_STRING)
            || (t != NULL && t->type != LLMR_V_MAP))
        {
            return llmr_xreq_fail(x, "messages.content.tool_use",
                                  "not {id, name, input}");
        }

        part = llmr_xreq_part(x, LLMR_XP_CALL);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(id);
        part->b = llmr_xs(name);
        part->v = t;
        part->args = t != NULL ? LLMR_XA_MAP : LLMR_XA_EMPTY;

        return LLMR_OK;
    }

    if (llmr_jv_is(type, "tool_result")) {
        return llmr_xreq_anthropic_result(x, e);
    }

    for (i = 0; llmr_xreq_anthropic_blocks[i]; i++) {
        if (llmr_jv_is(type, llmr_xreq_anthropic_blocks[i])) {
            llmr_xreq_block_others(x, llmr_xreq_anthropic_blocks[i]);
            return LLMR_OK;
        }
    }

    llmr_xreq_block_others(x, "content.type");

    return LLMR_OK;
}


static int
llmr_xreq_anthropic_image(llmr_xreq_t *x, const llmr_jv_t *e)
{
    llmr_jv_t     *src, *type, *a, *b;
    llmr_xpart_t  *part;

    src = llmr_jv_get(e, "source");
    type = llmr_jv_get(src, "type");

    if (llmr_jv_is(type, "base64")) {
        a = llmr_jv_get(src, "data");
        b = llmr_jv_get(src, "media_type");

        if (!llmr_jv_is_type(a, LLMR_V_STRING)
            || !llmr_jv_is_type(b, LLMR_V_STRING))
        {
            return llmr_xreq_fail(x, "image.source",
                                  "not {media_type, data}");
        }

        part = llmr_xreq_part(x, LLMR_XP_IMAGE);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(a);
        part->b = llmr_xs(b);

        return LLMR_OK;
    }

    if (llmr_jv_is(type, "url")) {
        a = llmr_jv_get(src, "url");

        if (!llmr_jv_is_type(a, LLMR_V_STRING)) {
            return llmr_xreq_fail(x, "image.source.url", "not a string");
        }

        part = llmr_xreq_part(x, LLMR_XP_URL);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(a);

        /* Gemini fetches no URL but its own files' */
        llmr_xreq_block(x, LLMR_XREQ_GEMINI_BIT, "image_url");

        return LLMR_OK;
    }

    /* a file id of Anthropic's files API */
    llmr_xreq_block_others(x, "image.source");

    return LLMR_OK;
}


static int
llmr_xreq_anthropic_result(llmr_xreq_t *x, const llmr_jv_t *e)
{
    llmr_jv_t     *id, *c, *b, *err;
    llmr_xpart_t  *part;

    id = llmr_jv_get(e, "tool_use_id");
    c = llmr_jv_get(e, "content");
    err = llmr_jv_get(e, "is_error");

    if (!llmr_jv_is_type(id, LLMR_V_STRING)
        || (c != NULL && c->type != LLMR_V_STRING && c->type != LLMR_V_ARRAY)
        || (err != NULL && err->type != LLMR_V_BOOL))
    {
        return llmr_xreq_fail(x, "messages.content.tool_result",
                              "not {tool_use_id, content, is_error}");
    }

    if (c != NULL && c->type == LLMR_V_ARRAY) {
        for (b = c->child; b; b = b->next) {
            if (llmr_jv_is(llmr_jv_get(b, "type"), "text")
                && llmr_jv_is_type(llmr_jv_get(b, "text"), LLMR_V_STRING))
            {
                continue;
            }

            /* an image, a document: the others' results are text */
            llmr_xreq_block_others(x, "tool_result.content");
        }
    }

    part = llmr_xreq_part(x, LLMR_XP_RESULT);
    if (part == NULL) {
        return LLMR_ERROR;
    }

    part->a = llmr_xs(id);
    part->v = c;
    part->res = c == NULL ? LLMR_XR_NONE
                : c->type == LLMR_V_STRING ? LLMR_XR_STR : LLMR_XR_PARTS;
    part->is_error = err != NULL && err->boolean;

    llmr_xreq_match(x, part);

    if (!part->has_name) {
        /* Gemini answers a function by its name */
        llmr_xreq_block(x, LLMR_XREQ_GEMINI_BIT, "tool_use_id");
    }

    return LLMR_OK;
}


static int
llmr_xreq_anthropic_tools(llmr_xreq_t *x, const llmr_jv_t *tools)
{
    llmr_jv_t     *e, *type, *name, *desc, *schema;
    llmr_xtool_t  *t;

    for (e = tools->child; e; e = e->next) {
        type = llmr_jv_get(e, "type");

        /* web_search_20250305, bash_..., text_editor_...: server tools */
        if (type != NULL && !llmr_jv_is(type, "custom")) {
            llmr_xreq_block_others(x, "tools.type");
            continue;
        }

        name = llmr_jv_get(e, "name");
        desc = llmr_jv_get(e, "description");
        schema = llmr_jv_get(e, "input_schema");

        if (!llmr_jv_is_type(name, LLMR_V_STRING)
            || (desc != NULL && desc->type != LLMR_V_STRING)
            || (schema != NULL && schema->type != LLMR_V_MAP))
        {
            return llmr_xreq_fail(x, "tools",
                                  "not {name, description, input_schema}");
        }

        t = llmr_xreq_tool(x);
        if (t == NULL) {
            return LLMR_ERROR;
        }

        t->name = llmr_xs(name);
        t->desc = desc;
        t->schema = schema;
    }

    return LLMR_OK;
}


static int
llmr_xreq_anthropic_choice(llmr_xreq_t *x, const llmr_jv_t *tc)
{
    llmr_jv_t  *type, *name, *dp;

    type = llmr_jv_get(tc, "type");
    dp = llmr_jv_get(tc, "disable_parallel_tool_use");

    if (dp != NULL && dp->type != LLMR_V_BOOL) {
        return llmr_xreq_fail(x, "tool_choice.disable_parallel_tool_use",
                              "not a boolean");
    }

    x->no_parallel = dp != NULL && dp->boolean;

    if (llmr_jv_is(type, "auto")) {
        x->tool_choice = LLMR_XTC_AUTO;

    } else if (llmr_jv_is(type, "none")) {
        x->tool_choice = LLMR_XTC_NONE;

    } else if (llmr_jv_is(type, "any")) {
        x->tool_choice = LLMR_XTC_REQUIRED;

    } else if (llmr_jv_is(type, "tool")) {
        name = llmr_jv_get(tc, "name");

        if (!llmr_jv_is_type(name, LLMR_V_STRING)) {
            return llmr_xreq_fail(x, "tool_choice.name", "not a string");
        }

        x->tool_choice = LLMR_XTC_NAMED;
        x->tc_name = llmr_xs(name);

    } else {
        return llmr_xreq_fail(x, "tool_choice.type", "unknown");
    }

    return LLMR_OK;
}


/* the writer */


void
llmr_xreq_write_anthropic(llmr_xreq_t *x, const llmr_xreq_conf_t *conf)
{
    uint32_t      i;
    llmr_jbuf_t  *b;

    b = &x->out;

    llmr_jbuf_char(b, '{');

    if (conf->model != NULL) {
        llmr_jbuf_key(b, 0, "model");
        llmr_jbuf_str(b, conf->model, conf->model_len);
        llmr_jbuf_char(b, ',');
    }

    /* required by Anthropic */
    llmr_jbuf_key(b, 0, "max_tokens");

    if (x->p.max_tokens != NULL) {
        llmr_jbuf_value(b, x->p.max_tokens);

    } else {
        llmr_jbuf_int(b, conf->max_tokens > 0 ? conf->max_tokens
                                              : LLMR_XREQ_MAX_TOKENS);
    }

    if (x->nsystem == 1) {
        llmr_jbuf_key(b, 1, "system");
        llmr_xreq_xs(b, x->system[0]);

    } else if (x->nsystem > 1) {
        llmr_jbuf_lit(b, ",\"system\":[");

        for (i = 0; i < x->nsystem; i++) {
            if (i) {
                llmr_jbuf_char(b, ',');
            }

            llmr_jbuf_lit(b, "{\"type\":\"text\",\"text\":");
            llmr_xreq_xs(b, x->system[i]);
            llmr_jbuf_char(b, '}');
        }

        llmr_jbuf_char(b, ']');
    }

    llmr_jbuf_lit(b, ",\"messages\":[");

    for (i = 0; i < x->nmsgs; i++) {
        if (i) {
            llmr_jbuf_char(b, ',');
        }

        llmr_xreq_anthropic_msg(x, &x->msgs[i]);
    }

    llmr_jbuf_char(b, ']');

    llmr_xreq_anthropic_params(x);

    llmr_jbuf_char(b, '}');
}


static void
llmr_xreq_anthropic_msg(llmr_xreq_t *x, const llmr_xmsg_t *m)
{
    uint32_t      i;
    llmr_jbuf_t  *b;

    b = &x->out;

    if (m->assistant) {
        llmr_jbuf_lit(b, "{\"role\":\"assistant\",\"content\":");

    } else {
        llmr_jbuf_lit(b, "{\"role\":\"user\",\"content\":");
    }

    if (m->n == 0) {
        llmr_jbuf_lit(b, "\"\"}");
        return;
    }

    if (m->n == 1 && x->parts[m->first].type == LLMR_XP_TEXT) {
        llmr_xreq_xs(b, x->parts[m->first].a);
        llmr_jbuf_char(b, '}');
        return;
    }

    llmr_jbuf_char(b, '[');

    /* a user's tool results come first, as Anthropic wants */

    for (i = m->first; i < m->first + m->n; i++) {
        if (x->parts[i].type == LLMR_XP_RESULT) {
            if (b->len && b->data[b->len - 1] != '[') {
                llmr_jbuf_char(b, ',');
            }

            llmr_xreq_anthropic_part(x, &x->parts[i]);
        }
    }

    for (i = m->first; i < m->first + m->n; i++) {
        if (x->parts[i].type != LLMR_XP_RESULT) {
            if (b->len && b->data[b->len - 1] != '[') {
                llmr_jbuf_char(b, ',');
            }

            llmr_xreq_anthropic_part(x, &x->parts[i]);
        }
    }

    llmr_jbuf_lit(b, "]}");
}


static void
llmr_xreq_anthropic_part(llmr_xreq_t *x, const llmr_xpart_t *p)
{
    llmr_jbuf_t  *b;

    b = &x->out;

    switch (p->type) {

    case LLMR_XP_TEXT:
        llmr_jbuf_lit(b, "{\"type\":\"text\",\"text\":");
        llmr_xreq_xs(b, p->a);
        llmr_jbuf_char(b, '}');
        break;

    case LLMR_XP_IMAGE:
        llmr_jbuf_lit(b, "{\"type\":\"image\",\"source\":{\"type\":\"base64\","
                      "\"media_type\":");
        llmr_xreq_xs(b, p->b);
        llmr_jbuf_lit(b, ",\"data\":");
        llmr_xreq_xs(b, p->a);
        llmr_jbuf_lit(b, "}}");
        break;

    case LLMR_XP_URL:
        llmr_jbuf_lit(b, "{\"type\":\"image\",\"source\":{\"type\":\"url\","
                      "\"url\":");
        llmr_xreq_xs(b, p->a);
        llmr_jbuf_lit(b, "}}");
        break;

    case LLMR_XP_CALL:
        llmr_jbuf_lit(b, "{\"type\":\"tool_use\",\"id\":");
        llmr_xreq_id(b, p);
        llmr_jbuf_lit(b, ",\"name\":");
        llmr_xreq_xs(b, p->b);
        llmr_jbuf_lit(b, ",\"input\":");
        llmr_xreq_args_map(x, p);
        llmr_jbuf_char(b, '}');
        break;

    default:
        llmr_jbuf_lit(b, "{\"type\":\"tool_result\",\"tool_use_id\":");
        llmr_xreq_id(b, p);
        llmr_jbuf_lit(b, ",\"content\":");
        llmr_xreq_result_str(b, p);

        if (p->is_error) {
            llmr_jbuf_lit(b, ",\"is_error\":true");
        }

        llmr_jbuf_char(b, '}');
        break;
    }
}


static void
llmr_xreq_anthropic_params(llmr_xreq_t *x)
{
    llmr_jbuf_t  *b;

    b = &x->out;

    if (x->p.temperature != NULL) {
        llmr_jbuf_key(b, 1, "temperature");

        /* OpenAI's and Gemini's go to 2, Anthropic's to 1 */
        if (llmr_jv_number(x->p.temperature, 0) > 1) {
            llmr_jbuf_char(b, '1');

        } else {
            llmr_jbuf_value(b, x->p.temperature);
        }
    }

    if (x->p.top_p != NULL) {
        llmr_jbuf_key(b, 1, "top_p");
        llmr_jbuf_value(b, x->p.top_p);
    }

    if (x->p.top_k != NULL) {
        llmr_jbuf_key(b, 1, "top_k");
        llmr_jbuf_value(b, x->p.top_k);
    }

    if (x->stop != NULL) {
        llmr_jbuf_key(b, 1, "stop_sequences");
        llmr_xreq_stop(b, x->stop);
    }

    if (x->stream) {
        llmr_jbuf_lit(b, ",\"stream\":true");
    }

    if (x->ntools) {
        llmr_xreq_anthropic_write_tools(x);
    }

    if (x->user != NULL) {
        llmr_jbuf_lit(b, ",\"metadata\":{\"user_id\":");
        llmr_jbuf_value(b, x->user);
        llmr_jbuf_char(b, '}');
    }
}


static void
llmr_xreq_anthropic_write_tools(llmr_xreq_t *x)
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

        llmr_jbuf_lit(b, "{\"name\":");
        llmr_xreq_xs(b, t->name);

        if (t->desc != NULL) {
            llmr_jbuf_lit(b, ",\"description\":");
            llmr_jbuf_value(b, t->desc);
        }

        /* required by Anthropic */
        llmr_jbuf_lit(b, ",\"input_schema\":");

        if (t->schema != NULL) {
            llmr_xreq_schema(b, t->schema, t->openapi);

        } else {
            llmr_jbuf_lit(b, "{\"type\":\"object\",\"properties\":{}}");
        }

        llmr_jbuf_char(b, '}');
    }

    llmr_jbuf_char(b, ']');

    switch (x->tool_choice) {

    case LLMR_XTC_NONE:
        llmr_jbuf_lit(b, ",\"tool_choice\":{\"type\":\"none\"}");
        return;

    case LLMR_XTC_REQUIRED:
        llmr_jbuf_lit(b, ",\"tool_choice\":{\"type\":\"any\"");
        break;

    case LLMR_XTC_NAMED:
        llmr_jbuf_lit(b, ",\"tool_choice\":{\"type\":\"tool\",\"name\":");
        llmr_xreq_xs(b, x->tc_name);
        break;

    case LLMR_XTC_AUTO:
        llmr_jbuf_lit(b, ",\"tool_choice\":{\"type\":\"auto\"");
        break;

    default:
        if (!x->no_parallel) {
            return;
        }

        llmr_jbuf_lit(b, ",\"tool_choice\":{\"type\":\"auto\"");
        break;
    }

    if (x->no_parallel) {
        llmr_jbuf_lit(b, ",\"disable_parallel_tool_use\":true");
    }

    llmr_jbuf_char(b, '}');
}
