
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include "llmr_xans.h"


/*
 * The writers: the answer events (llmr_xans.h) as each client API's
 * answer, written as the providers write them (their SDKs read nothing
 * else): a stream's event at once, a JSON answer at the end from what
 * was kept (a->text, a->content).  The answer's ids, usage and finish
 * reason are llmr_xans.c's; a writer keeps its blocks (a->w_*).
 */


static void llmr_xw_openai_json(llmr_xans_t *a, const llmr_xev_t *ev);
static void llmr_xw_openai_head(llmr_xans_t *a);
static void llmr_xw_openai_tail(llmr_xans_t *a, int finish);
static void llmr_xw_openai_usage(llmr_xans_t *a);
static void llmr_xw_anthropic_json(llmr_xans_t *a, const llmr_xev_t *ev);
static void llmr_xw_anthropic_event(llmr_xans_t *a, const char *name);
static void llmr_xw_anthropic_stop(llmr_xans_t *a);
static void llmr_xw_anthropic_usage(llmr_xans_t *a, int start, int end);
static void llmr_xw_gemini_json(llmr_xans_t *a, const llmr_xev_t *ev);
static void llmr_xw_gemini_chunk(llmr_xans_t *a);
static void llmr_xw_gemini_tail(llmr_xans_t *a, int finish);
static void llmr_xw_gemini_call(llmr_xans_t *a, llmr_jbuf_t *b);
static void llmr_xw_call_start(llmr_xans_t *a, const llmr_xev_t *ev);
static void llmr_xw_text_end(llmr_xans_t *a);
static void llmr_xw_sep(llmr_xans_t *a);


/* a C string's bytes, as they are */
#define llmr_xw_add(b, s)       llmr_jbuf_add(b, s, strlen(s))


static const char  *llmr_xw_openai_finish[] = {
    "stop", "stop", "length", "tool_calls", "content_filter", "stop"
};

static const char  *llmr_xw_anthropic_finish[] = {
    "end_turn", "end_turn", "max_tokens", "tool_use", "refusal", "end_turn"
};

static const char  *llmr_xw_gemini_finish[] = {
    "STOP", "STOP", "MAX_TOKENS", "STOP", "SAFETY", "OTHER"
};


/* OpenAI chat completions */


void
llmr_xw_openai(llmr_xans_t *a, const llmr_xev_t *ev)
{
    llmr_jbuf_t  *b;

    if (!a->conf.stream) {
        llmr_xw_openai_json(a, ev);
        return;
    }

    b = &a->out;

    switch (ev->type) {

    case LLMR_XEV_START:
        llmr_xw_openai_head(a);
        llmr_jbuf_lit(b, "{\"role\":\"assistant\",\"content\":\"\"}");
        llmr_xw_openai_tail(a, -1);
        break;

    case LLMR_XEV_TEXT:
        llmr_xw_openai_head(a);
        llmr_jbuf_lit(b, "{\"content\":");
        llmr_xw_str(b, &ev->text);
        llmr_jbuf_char(b, '}');
        llmr_xw_openai_tail(a, -1);
        break;

    case LLMR_XEV_TOOL_START:
        llmr_xw_openai_head(a);
        llmr_jbuf_lit(b, "{\"tool_calls\":[{\"index\":");
        llmr_jbuf_int(b, a->w_calls++);
        llmr_jbuf_lit(b, ",\"id\":");
        llmr_xw_str(b, &ev->id);
        llmr_jbuf_lit(b, ",\"type\":\"function\",\"function\":{\"name\":");
        llmr_xw_str(b, &ev->name);
        llmr_jbuf_lit(b, ",\"arguments\":\"\"}}]}");
        llmr_xw_openai_tail(a, -1);
        break;

    case LLMR_XEV_TOOL_ARGS:
        if (a->w_calls == 0) {
            break;
        }

        llmr_xw_openai_head(a);
        llmr_jbuf_lit(b, "{\"tool_calls\":[{\"index\":");
        llmr_jbuf_int(b, a->w_calls - 1);
        llmr_jbuf_lit(b, ",\"function\":{\"arguments\":");
        llmr_xw_str(b, &ev->text);
        llmr_jbuf_lit(b, "}}]}");
        llmr_xw_openai_tail(a, -1);
        break;

    case LLMR_XEV_FINISH:
        llmr_xw_openai_head(a);
        llmr_jbuf_lit(b, "{}");
        llmr_xw_openai_tail(a, a->finish);
        break;

    case LLMR_XEV_END:
        if (a->conf.include_usage) {
            /* the head of a chunk, but no choice in it */
            llmr_jbuf_lit(b, "data: {\"id\":");
            llmr_xw_quoted(b, &a->id);
            llmr_jbuf_lit(b, ",\"object\":\"chat.completion.chunk\","
                          "\"created\":");
            llmr_jbuf_int(b, a->created);
            llmr_jbuf_lit(b, ",\"model\":");
            llmr_xw_quoted(b, &a->model);
            llmr_jbuf_lit(b, ",\"choices\":[],\"usage\":");
            llmr_xw_openai_usage(a);
            llmr_jbuf_lit(b, "}\n\n");
        }

        llmr_jbuf_lit(b, "data: [DONE]\n\n");
        break;

    case LLMR_XEV_ERROR:
        llmr_jbuf_lit(b, "data: ");
        llmr_xw_error(a, ev);
        llmr_jbuf_lit(b, "\n\ndata: [DONE]\n\n");
        break;
    }
}


static void
llmr_xw_openai_json(llmr_xans_t *a, const llmr_xev_t *ev)
{
    llmr_jbuf_t  *b;

    switch (ev->type) {

    case LLMR_XEV_TEXT:
        llmr_xw_str_in(&a->text, &ev->text);
        return;

    case LLMR_XEV_TOOL_START:
        llmr_xw_call_start(a, ev);
        return;

    case LLMR_XEV_TOOL_ARGS:
        llmr_xw_args_add(a, &ev->text);
        return;

    case LLMR_XEV_TOOL_END:
        b = &a->content;
        llmr_xw_sep(a);
        llmr_jbuf_lit(b, "{\"id\":");
        llmr_xw_quoted(b, &a->call_id);
        llmr_jbuf_lit(b, ",\"type\":\"function\",\"function\":{\"name\":");
        llmr_xw_quoted(b, &a->call_name);
        llmr_jbuf_lit(b, ",\"arguments\":");

        if (a->args.len) {
            llmr_jbuf_str(b, a->args.data, a->args.len);

        } else {
            llmr_jbuf_lit(b, "\"{}\"");
        }

        llmr_jbuf_lit(b, "}}");
        return;

    case LLMR_XEV_END:
        break;

    default:
        return;
    }

    b = &a->out;

    llmr_jbuf_lit(b, "{\"id\":");
    llmr_xw_quoted(b, &a->id);
    llmr_jbuf_lit(b, ",\"object\":\"chat.completion\",\"created\":");
    llmr_jbuf_int(b, a->created);
    llmr_jbuf_lit(b, ",\"model\":");
    llmr_xw_quoted(b, &a->model);
    llmr_jbuf_lit(b, ",\"choices\":[{\"index\":0,\"message\":{"
                  "\"role\":\"assistant\",\"content\":");

    if (a->has_text) {
        llmr_xw_quoted(b, &a->text);

    } else if (a->has_calls) {
        llmr_jbuf_lit(b, "null");

    } else {
        llmr_jbuf_lit(b, "\"\"");
    }

    llmr_jbuf_lit(b, ",\"refusal\":null");

    if (a->has_calls) {
        llmr_jbuf_lit(b, ",\"tool_calls\":[");
        llmr_jbuf_add(b, a->content.data, a->content.len);
        llmr_jbuf_char(b, ']');
    }

    llmr_jbuf_lit(b, "},\"logprobs\":null,\"finish_reason\":\"");
    llmr_xw_add(b, llmr_xw_openai_finish[a->finish]);
    llmr_jbuf_lit(b, "\"}],\"usage\":");
    llmr_xw_openai_usage(a);
    llmr_jbuf_lit(b, "}\n");
}


static void
llmr_xw_openai_head(llmr_xans_t *a)
{
    llmr_jbuf_t  *b;

    b = &a->out;

    llmr_jbuf_lit(b, "data: {\"id\":");
    llmr_xw_quoted(b, &a->id);
    llmr_jbuf_lit(b, ",\"object\":\"chat.completion.chunk\",\"created\":");
    llmr_jbuf_int(b, a->created);
    llmr_jbuf_lit(b, ",\"model\":");
    llmr_xw_quoted(b, &a->model);
    llmr_jbuf_lit(b, ",\"choices\":[{\"index\":0,\"delta\":");
}


/* finish: llmr_xfin_e, or -1 for null */

static void
llmr_xw_openai_tail(llmr_xans_t *a, int finish)
{
    llmr_jbuf_t  *b;

    b = &a->out;

    llmr_jbuf_lit(b, ",\"logprobs\":null,\"finish_reason\":");

    if (finish < 0) {
        llmr_jbuf_lit(b, "null");

    } else {
        llmr_jbuf_str(b, llmr_xw_openai_finish[finish],
                      strlen(llmr_xw_openai_finish[finish]));
    }

    llmr_jbuf_lit(b, "}]}\n\n");
}


static void
llmr_xw_openai_usage(llmr_xans_t *a)
{
    int64_t       in, out;
    llmr_jbuf_t  *b;

    b = &a->out;
    in = a->usage.input > 0 ? a->usage.input : 0;
    out = a->usage.output > 0 ? a->usage.output : 0;

    llmr_jbuf_lit(b, "{\"prompt_tokens\":");
    llmr_jbuf_int(b, in);
    llmr_jbuf_lit(b, ",\"completion_tokens\":");
    llmr_jbuf_int(b, out);
    llmr_jbuf_lit(b, ",\"total_tokens\":");
    llmr_jbuf_int(b, in + out);

    if (a->usage.cache_read >= 0) {
        llmr_jbuf_lit(b, ",\"prompt_tokens_details\":{\"cached_tokens\":");
        llmr_jbuf_int(b, a->usage.cache_read);
        llmr_jbuf_char(b, '}');
    }

    llmr_jbuf_char(b, '}');
}


/* Anthropic messages */


void
llmr_xw_anthropic(llmr_xans_t *a, const llmr_xev_t *ev)
{
    llmr_jbuf_t  *b;

    if (!a->conf.stream) {
        llmr_xw_anthropic_json(a, ev);
        return;
    }

    b = &a->out;

    switch (ev->type) {

    case LLMR_XEV_START:
        llmr_xw_anthropic_event(a, "message_start");
        llmr_jbuf_lit(b, ",\"message\":{\"id\":");
        llmr_xw_quoted(b, &a->id);
        llmr_jbuf_lit(b, ",\"type\":\"message\",\"role\":\"assistant\","
                      "\"model\":");
        llmr_xw_quoted(b, &a->model);
        llmr_jbuf_lit(b, ",\"content\":[],\"stop_reason\":null,"
                      "\"stop_sequence\":null,\"usage\":");
        llmr_xw_anthropic_usage(a, 1, 0);
        llmr_jbuf_lit(b, "}}\n\n");
        break;

    case LLMR_XEV_TEXT:
        if (a->w_block != LLMR_XBLK_TEXT) {
            llmr_xw_anthropic_stop(a);
            a->w_block = LLMR_XBLK_TEXT;

            llmr_xw_anthropic_event(a, "content_block_start");
            llmr_jbuf_lit(b, ",\"index\":");
            llmr_jbuf_int(b, a->w_index);
            llmr_jbuf_lit(b, ",\"content_block\":{\"type\":\"text\","
                          "\"text\":\"\"}}\n\n");
        }

        llmr_xw_anthropic_event(a, "content_block_delta");
        llmr_jbuf_lit(b, ",\"index\":");
        llmr_jbuf_int(b, a->w_index);
        llmr_jbuf_lit(b, ",\"delta\":{\"type\":\"text_delta\",\"text\":");
        llmr_xw_str(b, &ev->text);
        llmr_jbuf_lit(b, "}}\n\n");
        break;

    case LLMR_XEV_TOOL_START:
        llmr_xw_anthropic_stop(a);
        a->w_block = LLMR_XBLK_TOOL;

        llmr_xw_anthropic_event(a, "content_block_start");
        llmr_jbuf_lit(b, ",\"index\":");
        llmr_jbuf_int(b, a->w_index);
        llmr_jbuf_lit(b, ",\"content_block\":{\"type\":\"tool_use\",\"id\":");
        llmr_xw_str(b, &ev->id);
        llmr_jbuf_lit(b, ",\"name\":");
        llmr_xw_str(b, &ev->name);
        llmr_jbuf_lit(b, ",\"input\":{}}}\n\n");
        break;

    case LLMR_XEV_TOOL_ARGS:
        if (a->w_block != LLMR_XBLK_TOOL) {
            break;
        }

        llmr_xw_anthropic_event(a, "content_block_delta");
        llmr_jbuf_lit(b, ",\"index\":");
        llmr_jbuf_int(b, a->w_index);
        llmr_jbuf_lit(b, ",\"delta\":{\"type\":\"input_json_delta\","
                      "\"partial_json\":");
        llmr_xw_str(b, &ev->text);
        llmr_jbuf_lit(b, "}}\n\n");
        break;

    case LLMR_XEV_TOOL_END:
        llmr_xw_anthropic_stop(a);
        break;

    case LLMR_XEV_END:
        llmr_xw_anthropic_stop(a);

        llmr_xw_anthropic_event(a, "message_delta");
        llmr_jbuf_lit(b, ",\"delta\":{\"stop_reason\":\"");
        llmr_xw_add(b, llmr_xw_anthropic_finish[a->finish]);
        llmr_jbuf_lit(b, "\",\"stop_sequence\":null},\"usage\":");
        llmr_xw_anthropic_usage(a, 0, 1);
        llmr_jbuf_lit(b, "}\n\n");

        llmr_xw_anthropic_event(a, "message_stop");
        llmr_jbuf_lit(b, "}\n\n");
        break;

    case LLMR_XEV_ERROR:
        llmr_jbuf_lit(b, "event: error\ndata: ");
        llmr_xw_error(a, ev);
        llmr_jbuf_lit(b, "\n\n");

        /* the SDK throws at the error; others see the message closed */
        if (a->started) {
            llmr_xw_anthropic_stop(a);
            llmr_xw_anthropic_event(a, "message_stop");
            llmr_jbuf_lit(b, "}\n\n");
        }

        break;
    }
}


static void
llmr_xw_anthropic_json(llmr_xans_t *a, const llmr_xev_t *ev)
{
    llmr_jbuf_t  *b;

    b = &a->content;

    switch (ev->type) {

    case LLMR_XEV_TEXT:
        if (a->w_block != LLMR_XBLK_TEXT) {
            llmr_xw_sep(a);
            a->w_block = LLMR_XBLK_TEXT;
            llmr_jbuf_lit(b, "{\"type\":\"text\",\"text\":\"");
        }

        llmr_xw_str_in(b, &ev->text);
        return;

    case LLMR_XEV_TOOL_START:
        llmr_xw_call_start(a, ev);
        return;

    case LLMR_XEV_TOOL_ARGS:
        llmr_xw_args_add(a, &ev->text);
        return;

    case LLMR_XEV_TOOL_END:
        llmr_xw_sep(a);
        llmr_jbuf_lit(b, "{\"type\":\"tool_use\",\"id\":");
        llmr_xw_quoted(b, &a->call_id);
        llmr_jbuf_lit(b, ",\"name\":");
        llmr_xw_quoted(b, &a->call_name);
        llmr_jbuf_lit(b, ",\"input\":");
        llmr_xw_args_object(a, b);
        llmr_jbuf_char(b, '}');
        return;

    case LLMR_XEV_END:
        llmr_xw_text_end(a);
        break;

    default:
        return;
    }

    b = &a->out;

    llmr_jbuf_lit(b, "{\"id\":");
    llmr_xw_quoted(b, &a->id);
    llmr_jbuf_lit(b, ",\"type\":\"message\",\"role\":\"assistant\","
                  "\"model\":");
    llmr_xw_quoted(b, &a->model);
    llmr_jbuf_lit(b, ",\"content\":[");
    llmr_jbuf_add(b, a->content.data, a->content.len);
    llmr_jbuf_lit(b, "],\"stop_reason\":\"");
    llmr_xw_add(b, llmr_xw_anthropic_finish[a->finish]);
    llmr_jbuf_lit(b, "\",\"stop_sequence\":null,\"usage\":");
    llmr_xw_anthropic_usage(a, 1, 1);
    llmr_jbuf_lit(b, "}\n");
}


/* "event: NAME\ndata: {"type":"NAME"", the rest the caller's */

static void
llmr_xw_anthropic_event(llmr_xans_t *a, const char *name)
{
    llmr_jbuf_t  *b;

    b = &a->out;

    llmr_jbuf_lit(b, "event: ");
    llmr_xw_add(b, name);
    llmr_jbuf_lit(b, "\ndata: {\"type\":\"");
    llmr_xw_add(b, name);
    llmr_jbuf_char(b, '"');
}


/* the open block ends */

static void
llmr_xw_anthropic_stop(llmr_xans_t *a)
{
    if (a->w_block == LLMR_XBLK_NONE) {
        return;
    }

    llmr_xw_anthropic_event(a, "content_block_stop");
    llmr_jbuf_lit(&a->out, ",\"index\":");
    llmr_jbuf_int(&a->out, a->w_index);
    llmr_jbuf_lit(&a->out, "}\n\n");

    a->w_index++;
    a->w_block = LLMR_XBLK_NONE;
}


/*
 * The usage of message_start (start), of message_delta (end), or of a
 * message (both).  message_start's input is what the provider told by
 * then; an OpenAI model tells it at the end: message_delta has it then.
 */

static void
llmr_xw_anthropic_usage(llmr_xans_t *a, int start, int end)
{
    int                   input;
    llmr_jbuf_t          *b;
    const llmr_xusage_t  *u;

    b = &a->out;
    u = (start && !end) ? &a->usage_start : &a->usage;
    input = start || a->usage_start.input < 0;

    llmr_jbuf_char(b, '{');

    if (input) {
        llmr_jbuf_lit(b, "\"input_tokens\":");
        llmr_jbuf_int(b, llmr_xw_plain_input(u));

        if (u->cache_write >= 0) {
            llmr_jbuf_lit(b, ",\"cache_creation_input_tokens\":");
            llmr_jbuf_int(b, u->cache_write);
        }

        if (u->cache_read >= 0) {
            llmr_jbuf_lit(b, ",\"cache_read_input_tokens\":");
            llmr_jbuf_int(b, u->cache_read);
        }

        llmr_jbuf_char(b, ',');
    }

    llmr_jbuf_lit(b, "\"output_tokens\":");
    llmr_jbuf_int(b, (end && u->output > 0) ? u->output : 0);
    llmr_jbuf_char(b, '}');
}


/* Gemini generateContent */


void
llmr_xw_gemini(llmr_xans_t *a, const llmr_xev_t *ev)
{
    llmr_jbuf_t  *b;

    if (!a->conf.stream) {
        llmr_xw_gemini_json(a, ev);
        return;
    }

    b = &a->out;

    switch (ev->type) {

    case LLMR_XEV_TEXT:
        llmr_xw_gemini_chunk(a);
        llmr_jbuf_lit(b, "{\"text\":");
        llmr_xw_str(b, &ev->text);
        llmr_jbuf_char(b, '}');
        llmr_xw_gemini_tail(a, -1);
        break;

    /* a call is given whole: its pieces are kept until it ends */

    case LLMR_XEV_TOOL_START:
        llmr_xw_call_start(a, ev);
        break;

    case LLMR_XEV_TOOL_ARGS:
        llmr_xw_args_add(a, &ev->text);
        break;

    case LLMR_XEV_TOOL_END:
        llmr_xw_gemini_chunk(a);
        llmr_xw_gemini_call(a, b);
        llmr_xw_gemini_tail(a, -1);
        break;

    case LLMR_XEV_END:
        /* no content: the finish reason and the usage */
        llmr_jbuf_lit(b, "data: {\"candidates\":[{");
        llmr_xw_gemini_tail(a, a->finish);
        break;

    case LLMR_XEV_ERROR:
        llmr_jbuf_lit(b, "data: ");
        llmr_xw_error(a, ev);
        llmr_jbuf_lit(b, "\r\n\r\n");
        break;
    }
}


static void
llmr_xw_gemini_json(llmr_xans_t *a, const llmr_xev_t *ev)
{
    llmr_jbuf_t  *b;

    b = &a->content;

    switch (ev->type) {

    case LLMR_XEV_TEXT:
        if (a->w_block != LLMR_XBLK_TEXT) {
            llmr_xw_sep(a);
            a->w_block = LLMR_XBLK_TEXT;
            llmr_jbuf_lit(b, "{\"text\":\"");
        }

        llmr_xw_str_in(b, &ev->text);
        return;

    case LLMR_XEV_TOOL_START:
        llmr_xw_call_start(a, ev);
        return;

    case LLMR_XEV_TOOL_ARGS:
        llmr_xw_args_add(a, &ev->text);
        return;

    case LLMR_XEV_TOOL_END:
        llmr_xw_sep(a);
        llmr_xw_gemini_call(a, b);
        return;

    case LLMR_XEV_END:
        llmr_xw_text_end(a);
        break;

    default:
        return;
    }

    b = &a->out;

    llmr_jbuf_lit(b, "{\"candidates\":[{\"content\":{\"parts\":[");

    if (a->content.len) {
        llmr_jbuf_add(b, a->content.data, a->content.len);

    } else {
        llmr_jbuf_lit(b, "{\"text\":\"\"}");
    }

    llmr_jbuf_lit(b, "],\"role\":\"model\"},");

    llmr_xw_gemini_tail(a, a->finish);
}


/* a chunk's head, up to its first part */

static void
llmr_xw_gemini_chunk(llmr_xans_t *a)
{
    llmr_jbuf_lit(&a->out, "data: {\"candidates\":[{\"content\":{\"parts\":[");
}


/*
 * A chunk's, or a body's, tail: finish -1, the parts end and no more;
 * else the finish reason and the usage; then the model and the id.
 */

static void
llmr_xw_gemini_tail(llmr_xans_t *a, int finish)
{
    int64_t       in, out;
    llmr_jbuf_t  *b;

    b = &a->out;

    if (finish < 0) {
        llmr_jbuf_lit(b, "],\"role\":\"model\"},\"index\":0}]");

    } else {
        in = a->usage.input > 0 ? a->usage.input : 0;
        out = a->usage.output > 0 ? a->usage.output : 0;

        llmr_jbuf_lit(b, "\"finishReason\":\"");
        llmr_xw_add(b, llmr_xw_gemini_finish[finish]);
        llmr_jbuf_lit(b, "\",\"index\":0}],\"usageMetadata\":{"
                      "\"promptTokenCount\":");
        llmr_jbuf_int(b, in);
        llmr_jbuf_lit(b, ",\"candidatesTokenCount\":");
        llmr_jbuf_int(b, out);
        llmr_jbuf_lit(b, ",\"totalTokenCount\":");
        llmr_jbuf_int(b, in + out);

        if (a->usage.cache_read >= 0) {
            llmr_jbuf_lit(b, ",\"cachedContentTokenCount\":");
            llmr_jbuf_int(b, a->usage.cache_read);
        }

        llmr_jbuf_char(b, '}');
    }

    llmr_jbuf_lit(b, ",\"modelVersion\":");
    llmr_xw_quoted(b, &a->model);
    llmr_jbuf_lit(b, ",\"responseId\":");
    llmr_xw_quoted(b, &a->id);
    llmr_jbuf_char(b, '}');
    llmr_xw_add(b, a->conf.stream ? "\r\n\r\n" : "\n");
}


/* a functionCall part; its id kept for the client's functionResponse */

static void
llmr_xw_gemini_call(llmr_xans_t *a, llmr_jbuf_t *b)
{
    llmr_jbuf_lit(b, "{\"functionCall\":{");

    if (a->call_id.len) {
        llmr_jbuf_lit(b, "\"id\":");
        llmr_xw_quoted(b, &a->call_id);
        llmr_jbuf_char(b, ',');
    }

    llmr_jbuf_lit(b, "\"name\":");
    llmr_xw_quoted(b, &a->call_name);
    llmr_jbuf_lit(b, ",\"args\":");
    llmr_xw_args_object(a, b);
    llmr_jbuf_lit(b, "}}");
}


/* shared */


/* a call kept whole: its id and name now, its arguments as they come */

static void
llmr_xw_call_start(llmr_xans_t *a, const llmr_xev_t *ev)
{
    a->call_id.len = 0;
    a->call_name.len = 0;
    a->args.len = 0;

    llmr_xw_str_in(&a->call_id, &ev->id);
    llmr_xw_str_in(&a->call_name, &ev->name);
}


/*
 * Before a part, block or call of a JSON answer: the open text ends,
 * and a comma after the one before.
 */

static void
llmr_xw_sep(llmr_xans_t *a)
{
    llmr_xw_text_end(a);

    if (a->w_parts++) {
        llmr_jbuf_char(&a->content, ',');
    }
}


static void
llmr_xw_text_end(llmr_xans_t *a)
{
    if (a->w_block == LLMR_XBLK_TEXT) {
        llmr_jbuf_lit(&a->content, "\"}");
        a->w_block = LLMR_XBLK_NONE;
    }
}
