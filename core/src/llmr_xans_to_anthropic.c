
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include "llmr_xans.h"


/*
 * The answer for an Anthropic messages client: a message, or the
 * message_start ... message_stop events, a content block per text run
 * or tool call.
 */


static void llmr_xw_anthropic_json(llmr_xans_t *a, const llmr_xev_t *ev);
static void llmr_xw_anthropic_event(llmr_xans_t *a, const char *name);
static void llmr_xw_anthropic_stop(llmr_xans_t *a);
static void llmr_xw_anthropic_usage(llmr_xans_t *a, int start, int end);


static const char  *llmr_xw_anthropic_finish[] = {
    "end_turn", "end_turn", "max_tokens", "tool_use", "refusal", "end_turn"
};


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
