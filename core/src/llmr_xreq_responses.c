
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * OpenAI's Responses API (POST /v1/responses): the request read into the
 * intermediate form.  It is the client's format only: an OpenAI model
 * serves /v1/responses itself, so no writer is needed; its API, as the
 * blockers see it, is OpenAI's.
 */


#include <string.h>

#include "llmr_xreq.h"


#define LLMR_XREQ_ANTHROPIC_BIT  (1u << LLMR_API_ANTHROPIC)


static int llmr_xreq_responses_member(llmr_xreq_t *x, int k, llmr_jv_t *m,
    void *data);
static int llmr_xreq_responses_type(llmr_xreq_t *x, int k,
    const llmr_jv_t *m);
static int llmr_xreq_responses_input(llmr_xreq_t *x, const llmr_jv_t *in);
static int llmr_xreq_responses_item(llmr_xreq_t *x, const llmr_jv_t *item);
static int llmr_xreq_responses_message(llmr_xreq_t *x,
    const llmr_jv_t *item);
static int llmr_xreq_responses_system(llmr_xreq_t *x, const llmr_jv_t *c);
static int llmr_xreq_responses_content(llmr_xreq_t *x, const llmr_jv_t *c);
static int llmr_xreq_responses_text(llmr_xreq_t *x, const llmr_jv_t *t);
static int llmr_xreq_responses_call(llmr_xreq_t *x, const llmr_jv_t *item);
static int llmr_xreq_responses_result(llmr_xreq_t *x,
    const llmr_jv_t *item);
static int llmr_xreq_responses_tools(llmr_xreq_t *x, const llmr_jv_t *tools);
static int llmr_xreq_responses_choice(llmr_xreq_t *x, const llmr_jv_t *tc);
static int llmr_xreq_responses_tconf(llmr_xreq_t *x, const llmr_jv_t *text);
static int llmr_xreq_responses_format(llmr_xreq_t *x, const llmr_jv_t *f);
static const char *llmr_xreq_responses_name(const llmr_jv_t *v,
    const char *const *names, const char *def);


enum {
    LLMR_XR_MODEL = 0,
    LLMR_XR_INPUT,
    LLMR_XR_INSTRUCTIONS,
    LLMR_XR_MAX_OUTPUT_TOKENS,
    LLMR_XR_TEMPERATURE,
    LLMR_XR_TOP_P,
    LLMR_XR_STREAM,
    LLMR_XR_TOOLS,
    LLMR_XR_TOOL_CHOICE,
    LLMR_XR_PARALLEL_TOOL_CALLS,
    LLMR_XR_TEXT,
    LLMR_XR_USER,
    LLMR_XR_BACKGROUND,
    LLMR_XR_INCLUDE,
    LLMR_XR_TOP_LOGPROBS,
    LLMR_XR_TRUNCATION,
    LLMR_XR_STORE,
    LLMR_XR_METADATA,
    LLMR_XR_STREAM_OPTIONS,
    LLMR_XR_SERVICE_TIER,
    LLMR_XR_SAFETY_IDENTIFIER,
    LLMR_XR_PROMPT_CACHE_KEY,
    LLMR_XR_PROMPT_CACHE_RETENTION,
    LLMR_XR_BLOCKING            /* from here on: known, and block */
};


static const char *const  llmr_xreq_responses_keys[] = {
    "model", "input", "instructions", "max_output_tokens", "temperature",
    "top_p", "stream", "tools", "tool_choice", "parallel_tool_calls",
    "text", "user", "background", "include", "top_logprobs", "truncation",
    "store", "metadata", "stream_options", "service_tier",
    "safety_identifier", "prompt_cache_key", "prompt_cache_retention",
    /* OpenAI's server-side state and what no other API has */
    "previous_response_id", "conversation", "reasoning", "prompt",
    "max_tool_calls", "context_management", "moderation",
    "prompt_cache_options",
    NULL
};


/* input items only OpenAI's models make or read, blocking by their type */

static const char *const  llmr_xreq_responses_items[] = {
    "reasoning", "web_search_call", "file_search_call", "computer_call",
    "computer_call_output", "code_interpreter_call",
    "image_generation_call", "local_shell_call", "local_shell_call_output",
    "shell_call", "shell_call_output", "apply_patch_call",
    "apply_patch_call_output", "mcp_call", "mcp_list_tools",
    "mcp_approval_request", "mcp_approval_response", "custom_tool_call",
    "custom_tool_call_output", "item_reference", "compaction",
    NULL
};


/* OpenAI's built-in tools */

static const char *const  llmr_xreq_responses_builtin[] = {
    "web_search", "web_search_preview", "web_search_2025_08_26",
    "web_search_preview_2025_03_11", "file_search", "code_interpreter",
    "computer_use_preview", "computer", "image_generation", "mcp",
    "local_shell", "shell", "custom", "apply_patch",
    NULL
};


int
llmr_xreq_parse_responses(llmr_xreq_t *x, const llmr_jv_t *root)
{
    uint64_t    seen;
    llmr_jv_t  *input;

    input = NULL;

    if (llmr_xreq_members(x, root, llmr_xreq_responses_keys, 0,
                          llmr_xreq_responses_member, &input, &seen)
        != LLMR_OK)
    {
        return LLMR_ERROR;
    }

    if (input == NULL) {
        /* the conversation is on OpenAI's side (a prompt, a response) */
        llmr_xreq_block_others(x, "input");
        return LLMR_OK;
    }

    return llmr_xreq_responses_input(x, input);
}


static int
llmr_xreq_responses_member(llmr_xreq_t *x, int k, llmr_jv_t *m,
    void *data)
{
    /* the input after the instructions, whatever the keys' order */

    if (k == LLMR_XR_INPUT) {
        *(llmr_jv_t **) data = m;
        return LLMR_OK;
    }

    if (k >= LLMR_XR_BLOCKING) {
        llmr_xreq_block_others(x, llmr_xreq_responses_keys[k]);
        return LLMR_OK;
    }

    if (llmr_xreq_responses_type(x, k, m) != LLMR_OK) {
        return LLMR_ERROR;
    }

    switch (k) {

    case LLMR_XR_INSTRUCTIONS:
        if (m->type != LLMR_V_STRING) {
            return llmr_xreq_fail(x, "instructions", "not a string");
        }

        return m->len ? llmr_xreq_sys(x, m) : LLMR_OK;

    case LLMR_XR_MAX_OUTPUT_TOKENS:
        x->p.max_tokens = m;
        break;

    case LLMR_XR_TEMPERATURE:
        x->p.temperature = m;
        break;

    case LLMR_XR_TOP_P:
        x->p.top_p = m;
        break;

    case LLMR_XR_STREAM:
        x->stream = m->boolean;
        break;

    case LLMR_XR_TOOLS:
        return llmr_xreq_responses_tools(x, m);

    case LLMR_XR_TOOL_CHOICE:
        return llmr_xreq_responses_choice(x, m);

    case LLMR_XR_PARALLEL_TOOL_CALLS:
        x->no_parallel = !m->boolean;
        break;

    case LLMR_XR_TEXT:
        return llmr_xreq_responses_tconf(x, m);

    case LLMR_XR_USER:
        if (m->type != LLMR_V_STRING) {
            return llmr_xreq_fail(x, "user", "not a string");
        }

        x->user = m;
        break;

    case LLMR_XR_BACKGROUND:
        if (m->boolean) {
            llmr_xreq_block_others(x, "background");
        }

        break;

    case LLMR_XR_INCLUDE:
        if (m->type != LLMR_V_ARRAY) {
            return llmr_xreq_fail(x, "include", "not an array");
        }

        if (m->n) {
            llmr_xreq_block_others(x, "include");
        }

        break;

    case LLMR_XR_TOP_LOGPROBS:
        if (llmr_jv_number(m, 0) != 0) {
            llmr_xreq_block_others(x, "top_logprobs");
        }

        break;

    case LLMR_XR_TRUNCATION:
        /* "auto" drops the conversation's middle: OpenAI's own way */
        if (!llmr_jv_is(m, "disabled")) {
            llmr_xreq_block_others(x, "truncation");
        }

        break;

    default:
        /*
         * model (the path's), store (nothing is stored: the answer
         * cannot be retrieved later), metadata, stream_options (its
         * obfuscation), service_tier, safety_identifier, the prompt
         * cache's hints: not sent
         */
        break;
    }

    return LLMR_OK;
}


static int
llmr_xreq_responses_type(llmr_xreq_t *x, int k, const llmr_jv_t *m)
{
    switch (k) {

    case LLMR_XR_MAX_OUTPUT_TOKENS:
    case LLMR_XR_TEMPERATURE:
    case LLMR_XR_TOP_P:
    case LLMR_XR_TOP_LOGPROBS:
        if (m->type != LLMR_V_NUMBER) {
            return llmr_xreq_fail(x, llmr_xreq_responses_keys[k],
                                  "not a number");
        }

        break;

    case LLMR_XR_STREAM:
    case LLMR_XR_PARALLEL_TOOL_CALLS:
    case LLMR_XR_BACKGROUND:
    case LLMR_XR_STORE:
        if (m->type != LLMR_V_BOOL) {
            return llmr_xreq_fail(x, llmr_xreq_responses_keys[k],
                                  "not a boolean");
        }

        break;

    case LLMR_XR_TEXT:
    case LLMR_XR_STREAM_OPTIONS:
        if (m->type != LLMR_V_MAP) {
            return llmr_xreq_fail(x, llmr_xreq_responses_keys[k],
                                  "not an object");
        }

        break;
    }

    return LLMR_OK;
}


/* a string is one user turn; else the items of the conversation */

static int
llmr_xreq_responses_input(llmr_xreq_t *x, const llmr_jv_t *in)
{
    llmr_jv_t     *e;
    llmr_xpart_t  *part;

    if (in->type == LLMR_V_STRING) {
        if (llmr_xreq_msg(x, 0) == NULL) {
            return LLMR_ERROR;
        }

        part = llmr_xreq_part(x, LLMR_XP_TEXT);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(in);

        return LLMR_OK;
    }

    if (in->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "input", "not a string or an array");
    }

    for (e = in->child; e; e = e->next) {
        if (llmr_xreq_responses_item(x, e) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_responses_item(llmr_xreq_t *x, const llmr_jv_t *item)
{
    llmr_jv_t  *type;

    if (item->type != LLMR_V_MAP) {
        return llmr_xreq_fail(x, "input", "not an item");
    }

    type = llmr_jv_get(item, "type");

    /* a message may go without its type */
    if (type == NULL || llmr_jv_is(type, "message")) {
        return llmr_xreq_responses_message(x, item);
    }

    if (llmr_jv_is(type, "function_call")) {
        return llmr_xreq_responses_call(x, item);
    }

    if (llmr_jv_is(type, "function_call_output")) {
        return llmr_xreq_responses_result(x, item);
    }

    if (type->type != LLMR_V_STRING) {
        return llmr_xreq_fail(x, "input.type", "not a string");
    }

    llmr_xreq_block_others(x, llmr_xreq_responses_name(type,
                              llmr_xreq_responses_items, "input.type"));

    return LLMR_OK;
}


static int
llmr_xreq_responses_message(llmr_xreq_t *x, const llmr_jv_t *item)
{
    llmr_jv_t  *role, *c;

    role = llmr_jv_get(item, "role");
    c = llmr_jv_get(item, "content");

    if (!llmr_jv_is_type(role, LLMR_V_STRING)) {
        return llmr_xreq_fail(x, "input.role", "missing");
    }

    if (c != NULL && c->type != LLMR_V_STRING && c->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "input.content",
                              "not a string or an array");
    }

    /* a system message later in the conversation comes first: said so */

    if (llmr_jv_is(role, "system") || llmr_jv_is(role, "developer")) {
        return llmr_xreq_responses_system(x, c);
    }

    if (llmr_jv_is(role, "user")) {
        if (llmr_xreq_msg(x, 0) == NULL) {
            return LLMR_ERROR;
        }

    } else if (llmr_jv_is(role, "assistant")) {
        if (llmr_xreq_msg(x, 1) == NULL) {
            return LLMR_ERROR;
        }

    } else {
        return llmr_xreq_fail(x, "input.role", "unknown");
    }

    return llmr_xreq_responses_content(x, c);
}


static int
llmr_xreq_responses_system(llmr_xreq_t *x, const llmr_jv_t *c)
{
    llmr_jv_t  *e, *t;

    if (c == NULL) {
        return LLMR_OK;
    }

    if (c->type == LLMR_V_STRING) {
        return llmr_xreq_sys(x, c);
    }

    for (e = c->child; e; e = e->next) {
        t = llmr_jv_get(e, "text");

        if (!llmr_jv_is(llmr_jv_get(e, "type"), "input_text")
            || !llmr_jv_is_type(t, LLMR_V_STRING))
        {
            /* an image or a file among the instructions: OpenAI's only */
            llmr_xreq_block_others(x, "input.content");
            continue;
        }

        if (llmr_xreq_sys(x, t) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_responses_content(llmr_xreq_t *x, const llmr_jv_t *c)
{
    llmr_jv_t  *e, *type, *url;

    if (c == NULL) {
        return LLMR_OK;
    }

    if (c->type == LLMR_V_STRING) {
        return llmr_xreq_responses_text(x, c);
    }

    for (e = c->child; e; e = e->next) {
        type = llmr_jv_get(e, "type");

        if (e->type != LLMR_V_MAP || !llmr_jv_is_type(type, LLMR_V_STRING)) {
            return llmr_xreq_fail(x, "input.content.type", "missing");
        }

        /* the model's own output_text comes back in its turns */

        if (llmr_jv_is(type, "input_text") || llmr_jv_is(type, "output_text"))
        {
            if (llmr_xreq_responses_text(x, llmr_jv_get(e, "text"))
                != LLMR_OK)
            {
                return LLMR_ERROR;
            }

            continue;
        }

        if (llmr_jv_is(type, "input_image")) {
            url = llmr_jv_get(e, "image_url");

            if (url == NULL) {
                /* an uploaded file's id: OpenAI's storage */
                llmr_xreq_block_others(x, "input_image.file_id");
                continue;
            }

            if (url->type != LLMR_V_STRING) {
                return llmr_xreq_fail(x, "input.content.image_url",
                                      "not a string");
            }

            /* detail: not sent, as chat completions' */
            if (llmr_xreq_image_url(x, url) != LLMR_OK) {
                return LLMR_ERROR;
            }

            continue;
        }

        if (llmr_jv_is(type, "input_file")) {
            llmr_xreq_block_others(x, "input_file");

        } else if (llmr_jv_is(type, "input_audio")) {
            llmr_xreq_block_others(x, "input_audio");

        } else if (llmr_jv_is(type, "refusal")) {
            llmr_xreq_block_others(x, "refusal");

        } else {
            llmr_xreq_block_others(x, "content.type");
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_responses_text(llmr_xreq_t *x, const llmr_jv_t *t)
{
    llmr_xpart_t  *part;

    if (!llmr_jv_is_type(t, LLMR_V_STRING)) {
        return llmr_xreq_fail(x, "input.content.text", "not a string");
    }

    part = llmr_xreq_part(x, LLMR_XP_TEXT);
    if (part == NULL) {
        return LLMR_ERROR;
    }

    part->a = llmr_xs(t);

    return LLMR_OK;
}


/* the model's call, in its turn; the item's own "id" is not needed */

static int
llmr_xreq_responses_call(llmr_xreq_t *x, const llmr_jv_t *item)
{
    llmr_jv_t     *id, *name, *args;
    llmr_xpart_t  *part;

    id = llmr_jv_get(item, "call_id");
    name = llmr_jv_get(item, "name");
    args = llmr_jv_get(item, "arguments");

    if (!llmr_jv_is_type(id, LLMR_V_STRING)
        || !llmr_jv_is_type(name, LLMR_V_STRING)
        || (args != NULL && args->type != LLMR_V_STRING))
    {
        return llmr_xreq_fail(x, "input.function_call",
                              "not {call_id, name, arguments}");
    }

    if (llmr_xreq_msg(x, 1) == NULL) {
        return LLMR_ERROR;
    }

    part = llmr_xreq_part(x, LLMR_XP_CALL);
    if (part == NULL) {
        return LLMR_ERROR;
    }

    part->a = llmr_xs(id);
    part->b = llmr_xs(name);

    if (args == NULL) {
        part->args = LLMR_XA_EMPTY;
        return LLMR_OK;
    }

    return llmr_xreq_args_str(x, part, args);
}


static int
llmr_xreq_responses_result(llmr_xreq_t *x, const llmr_jv_t *item)
{
    llmr_jv_t     *id, *out, *e;
    llmr_xpart_t  *part;

    id = llmr_jv_get(item, "call_id");
    out = llmr_jv_get(item, "output");

    if (!llmr_jv_is_type(id, LLMR_V_STRING)) {
        return llmr_xreq_fail(x, "input.call_id", "not a string");
    }

    if (out != NULL && out->type == LLMR_V_ARRAY) {
        for (e = out->child; e; e = e->next) {
            if (!llmr_jv_is(llmr_jv_get(e, "type"), "input_text")
                || !llmr_jv_is_type(llmr_jv_get(e, "text"), LLMR_V_STRING))
            {
                /* an image or a file as a result: text everywhere else */
                llmr_xreq_block_others(x, "function_call_output.output");
                break;
            }
        }

    } else if (out != NULL && out->type != LLMR_V_STRING) {
        return llmr_xreq_fail(x, "input.output", "not a string or an array");
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
    part->v = out;
    part->res = out == NULL ? LLMR_XR_NONE
                : out->type == LLMR_V_STRING ? LLMR_XR_STR : LLMR_XR_PARTS;

    llmr_xreq_match(x, part);

    if (!part->has_name) {
        /* Gemini answers a function by its name */
        llmr_xreq_block(x, 1u << LLMR_API_GEMINI, "call_id");
    }

    return LLMR_OK;
}


/* functions are flat here: {type, name, description, parameters, strict} */

static int
llmr_xreq_responses_tools(llmr_xreq_t *x, const llmr_jv_t *tools)
{
    llmr_jv_t  *e, *type;

    if (tools->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "tools", "not an array");
    }

    for (e = tools->child; e; e = e->next) {
        type = llmr_jv_get(e, "type");

        if (!llmr_jv_is_type(type, LLMR_V_STRING)) {
            return llmr_xreq_fail(x, "tools.type", "missing");
        }

        if (!llmr_jv_is(type, "function")) {
            llmr_xreq_block_others(x, llmr_xreq_responses_name(type,
                                      llmr_xreq_responses_builtin,
                                      "tools.type"));
            continue;
        }

        /* flat: {type, name, description, parameters, strict} */

        if (llmr_xreq_function(x, "tools", e) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_responses_choice(llmr_xreq_t *x, const llmr_jv_t *tc)
{
    llmr_xreq_openai_tc(x, tc, llmr_jv_get(tc, "name"));
    return LLMR_OK;
}


static int
llmr_xreq_responses_tconf(llmr_xreq_t *x, const llmr_jv_t *text)
{
    llmr_jv_t  *m;

    for (m = text->child; m; m = m->next) {
        if (m->type == LLMR_V_NULL) {
            continue;
        }

        if (m->key_len == 6 && memcmp(m->key, "format", 6) == 0) {
            if (llmr_xreq_responses_format(x, m) != LLMR_OK) {
                return LLMR_ERROR;
            }

        } else if (m->key_len == 9 && memcmp(m->key, "verbosity", 9) == 0) {
            /* "medium" is every model's way */
            if (!llmr_jv_is(m, "medium")) {
                llmr_xreq_block_others(x, "text.verbosity");
            }

        } else {
            llmr_xreq_block_others(x, "text");
        }
    }

    return LLMR_OK;
}


/* the schema's name and strictness are beside it here, not in it */

static int
llmr_xreq_responses_format(llmr_xreq_t *x, const llmr_jv_t *f)
{
    llmr_jv_t  *type;

    type = llmr_jv_get(f, "type");

    if (llmr_jv_is(type, "text")) {
        x->json = LLMR_XJ_TEXT;
        return LLMR_OK;
    }

    if (llmr_jv_is(type, "json_object")) {
        x->json = LLMR_XJ_OBJECT;

    } else if (llmr_jv_is(type, "json_schema")) {
        x->json_schema = llmr_jv_get(f, "schema");
        x->json_name = llmr_jv_get(f, "name");
        x->json_strict = llmr_jv_get(f, "strict");

        if (x->json_strict != NULL && x->json_strict->type == LLMR_V_NULL) {
            x->json_strict = NULL;
        }

        if (!llmr_jv_is_type(x->json_schema, LLMR_V_MAP)
            || (x->json_name != NULL && x->json_name->type != LLMR_V_STRING)
            || (x->json_strict != NULL
                && x->json_strict->type != LLMR_V_BOOL))
        {
            return llmr_xreq_fail(x, "text.format",
                                  "not {name, schema, strict}");
        }

        x->json = LLMR_XJ_SCHEMA;

    } else {
        return llmr_xreq_fail(x, "text.format.type", "unknown");
    }

    /* Anthropic has no JSON mode */
    llmr_xreq_block(x, LLMR_XREQ_ANTHROPIC_BIT, "text.format");

    return LLMR_OK;
}


/* a type's static name among names, else def */

static const char *
llmr_xreq_responses_name(const llmr_jv_t *v, const char *const *names,
    const char *def)
{
    int  i;

    for (i = 0; names[i]; i++) {
        if (llmr_jv_is(v, names[i])) {
            return names[i];
        }
    }

    return def;
}
