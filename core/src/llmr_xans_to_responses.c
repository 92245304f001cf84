
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include "llmr_xans.h"


/*
 * The answer for a client of OpenAI's Responses API: a response object,
 * or its events ("event: NAME\ndata: {"type":"NAME",
 * "sequence_number":n,...}"): response.created, response.in_progress,
 * then per output item (a message per run of text, a function_call per
 * call) its .added events, deltas and .done events, and
 * response.completed (or response.incomplete) with the whole response,
 * as openai-node's ResponseStream accumulates them.
 *
 * The items finished are kept (a->content) for the response at the end,
 * the open message's text (a->text) for its .done events, both bounded
 * by max_event.  Ids are the answer's: "resp_<id>", "msg_<id>_<n>",
 * "fc_<id>_<n>", n the item's output_index.
 */


/* how an item ends */
typedef enum {
    LLMR_XW_ITEM_COMPLETED = 0,
    LLMR_XW_ITEM_INCOMPLETE,    /* the answer's length or filter */
    LLMR_XW_ITEM_FAILED         /* incomplete, and no .done events */
} llmr_xw_item_e;


typedef enum {
    LLMR_XW_RESP_STARTED = 0,   /* in_progress, no output yet */
    LLMR_XW_RESP_DONE,          /* completed or incomplete */
    LLMR_XW_RESP_FAILED
} llmr_xw_resp_e;


static void llmr_xw_responses_open_text(llmr_xans_t *a);
static void llmr_xw_responses_open_call(llmr_xans_t *a,
    const llmr_xev_t *ev);
static void llmr_xw_responses_close(llmr_xans_t *a, int how);
static void llmr_xw_responses_text_item(llmr_xans_t *a, llmr_jbuf_t *b,
    const char *status);
static void llmr_xw_responses_call_item(llmr_xans_t *a, llmr_jbuf_t *b,
    const char *status);
static void llmr_xw_responses_args(llmr_xans_t *a, llmr_jbuf_t *b);
static void llmr_xw_responses_part(llmr_xans_t *a, llmr_jbuf_t *b);
static void llmr_xw_responses_end(llmr_xans_t *a);
static void llmr_xw_responses_error(llmr_xans_t *a, const llmr_xev_t *ev);
static void llmr_xw_responses_object(llmr_xans_t *a, llmr_jbuf_t *b,
    int phase, const llmr_xev_t *err);
static void llmr_xw_responses_usage(llmr_xans_t *a, llmr_jbuf_t *b);
static void llmr_xw_responses_event(llmr_xans_t *a, const char *name);
static void llmr_xw_responses_at(llmr_xans_t *a, const char *prefix);
static void llmr_xw_responses_id(llmr_xans_t *a, llmr_jbuf_t *b,
    const char *prefix, unsigned n);


#define llmr_xw_responses_index(a)  ((a)->w_parts - 1)


void
llmr_xw_responses(llmr_xans_t *a, const llmr_xev_t *ev)
{
    llmr_jbuf_t  *b;

    b = &a->out;

    switch (ev->type) {

    case LLMR_XEV_START:
        if (!a->conf.stream) {
            break;
        }

        llmr_xw_responses_event(a, "response.created");
        llmr_jbuf_lit(b, ",\"response\":");
        llmr_xw_responses_object(a, b, LLMR_XW_RESP_STARTED, NULL);
        llmr_jbuf_lit(b, "}\n\n");

        llmr_xw_responses_event(a, "response.in_progress");
        llmr_jbuf_lit(b, ",\"response\":");
        llmr_xw_responses_object(a, b, LLMR_XW_RESP_STARTED, NULL);
        llmr_jbuf_lit(b, "}\n\n");
        break;

    case LLMR_XEV_TEXT:
        if (a->w_block != LLMR_XBLK_TEXT) {
            llmr_xw_responses_close(a, LLMR_XW_ITEM_COMPLETED);
            llmr_xw_responses_open_text(a);
        }

        llmr_xw_str_in(&a->text, &ev->text);

        if (a->conf.stream) {
            llmr_xw_responses_event(a, "response.output_text.delta");
            llmr_xw_responses_at(a, "msg_");
            llmr_jbuf_lit(b, ",\"content_index\":0,\"delta\":");
            llmr_xw_str(b, &ev->text);
            llmr_jbuf_lit(b, ",\"logprobs\":[]}\n\n");
        }

        break;

    case LLMR_XEV_TOOL_START:
        llmr_xw_responses_close(a, LLMR_XW_ITEM_COMPLETED);
        llmr_xw_responses_open_call(a, ev);
        break;

    case LLMR_XEV_TOOL_ARGS:
        if (a->w_block != LLMR_XBLK_TOOL) {
            break;
        }

        llmr_xw_args_add(a, &ev->text);

        if (a->conf.stream) {
            llmr_xw_responses_event(a,
                                    "response.function_call_arguments.delta");
            llmr_xw_responses_at(a, "fc_");
            llmr_jbuf_lit(b, ",\"delta\":");
            llmr_xw_str(b, &ev->text);
            llmr_jbuf_lit(b, "}\n\n");
        }

        break;

    case LLMR_XEV_TOOL_END:
        llmr_xw_responses_close(a, LLMR_XW_ITEM_COMPLETED);
        break;

    case LLMR_XEV_END:
        /* the item the length or a filter cut is incomplete, as OpenAI's */
        llmr_xw_responses_close(a, a->finish == LLMR_XFIN_LENGTH
                                   || a->finish == LLMR_XFIN_CONTENT_FILTER
                                   ? LLMR_XW_ITEM_INCOMPLETE
                                   : LLMR_XW_ITEM_COMPLETED);
        llmr_xw_responses_end(a);
        break;

    case LLMR_XEV_ERROR:
        /* a stream's: a JSON answer's error is OpenAI's (llmr_xw_error) */
        llmr_xw_responses_error(a, ev);
        break;
    }
}


static void
llmr_xw_responses_open_text(llmr_xans_t *a)
{
    llmr_jbuf_t  *b;

    a->w_block = LLMR_XBLK_TEXT;
    a->w_parts++;
    a->text.len = 0;

    if (!a->conf.stream) {
        return;
    }

    b = &a->out;

    llmr_xw_responses_event(a, "response.output_item.added");
    llmr_jbuf_lit(b, ",\"output_index\":");
    llmr_jbuf_int(b, llmr_xw_responses_index(a));
    llmr_jbuf_lit(b, ",\"item\":{\"id\":");
    llmr_xw_responses_id(a, b, "msg_", llmr_xw_responses_index(a));
    llmr_jbuf_lit(b, ",\"type\":\"message\",\"status\":\"in_progress\","
                  "\"role\":\"assistant\",\"content\":[]}}\n\n");

    llmr_xw_responses_event(a, "response.content_part.added");
    llmr_xw_responses_at(a, "msg_");
    llmr_jbuf_lit(b, ",\"content_index\":0,\"part\":");
    llmr_xw_responses_part(a, b);
    llmr_jbuf_lit(b, "}\n\n");
}


static void
llmr_xw_responses_open_call(llmr_xans_t *a, const llmr_xev_t *ev)
{
    llmr_jbuf_t  *b;

    a->w_block = LLMR_XBLK_TOOL;
    a->w_parts++;

    llmr_xw_call_start(a, ev);

    if (!a->conf.stream) {
        return;
    }

    b = &a->out;

    llmr_xw_responses_event(a, "response.output_item.added");
    llmr_jbuf_lit(b, ",\"output_index\":");
    llmr_jbuf_int(b, llmr_xw_responses_index(a));
    llmr_jbuf_lit(b, ",\"item\":");
    llmr_xw_responses_call_item(a, b, "in_progress");
    llmr_jbuf_lit(b, "}\n\n");
}


/*
 * The open item ends: its .done events, and it joins the output; when
 * the stream failed, it joins it "incomplete", without events.
 */

static void
llmr_xw_responses_close(llmr_xans_t *a, int how)
{
    size_t        at;
    const char   *status;
    llmr_jbuf_t  *b;

    if (a->w_block == LLMR_XBLK_NONE) {
        return;
    }

    if (a->content.len) {
        llmr_jbuf_char(&a->content, ',');
    }

    at = a->content.len;
    status = how == LLMR_XW_ITEM_COMPLETED ? "completed" : "incomplete";

    if (a->w_block == LLMR_XBLK_TEXT) {
        llmr_xw_responses_text_item(a, &a->content, status);

    } else {
        llmr_xw_responses_call_item(a, &a->content, status);
    }

    if (!a->conf.stream || how == LLMR_XW_ITEM_FAILED || a->content.failed) {
        a->w_block = LLMR_XBLK_NONE;
        return;
    }

    b = &a->out;

    if (a->w_block == LLMR_XBLK_TEXT) {
        llmr_xw_responses_event(a, "response.output_text.done");
        llmr_xw_responses_at(a, "msg_");
        llmr_jbuf_lit(b, ",\"content_index\":0,\"text\":");
        llmr_xw_quoted(b, &a->text);
        llmr_jbuf_lit(b, ",\"logprobs\":[]}\n\n");

        llmr_xw_responses_event(a, "response.content_part.done");
        llmr_xw_responses_at(a, "msg_");
        llmr_jbuf_lit(b, ",\"content_index\":0,\"part\":");
        llmr_xw_responses_part(a, b);
        llmr_jbuf_lit(b, "}\n\n");

    } else {
        llmr_xw_responses_event(a, "response.function_call_arguments.done");
        llmr_xw_responses_at(a, "fc_");
        llmr_jbuf_lit(b, ",\"name\":");
        llmr_xw_quoted(b, &a->call_name);
        llmr_jbuf_lit(b, ",\"arguments\":");
        llmr_xw_responses_args(a, b);
        llmr_jbuf_lit(b, "}\n\n");
    }

    llmr_xw_responses_event(a, "response.output_item.done");
    llmr_jbuf_lit(b, ",\"output_index\":");
    llmr_jbuf_int(b, llmr_xw_responses_index(a));
    llmr_jbuf_lit(b, ",\"item\":");
    llmr_jbuf_add(b, a->content.data + at, a->content.len - at);
    llmr_jbuf_lit(b, "}\n\n");

    a->w_block = LLMR_XBLK_NONE;
}


static void
llmr_xw_responses_text_item(llmr_xans_t *a, llmr_jbuf_t *b,
    const char *status)
{
    llmr_jbuf_lit(b, "{\"id\":");
    llmr_xw_responses_id(a, b, "msg_", llmr_xw_responses_index(a));
    llmr_jbuf_lit(b, ",\"type\":\"message\",\"status\":\"");
    llmr_xw_add(b, status);
    llmr_jbuf_lit(b, "\",\"role\":\"assistant\",\"content\":[");
    llmr_xw_responses_part(a, b);
    llmr_jbuf_lit(b, "]}");
}


static void
llmr_xw_responses_call_item(llmr_xans_t *a, llmr_jbuf_t *b,
    const char *status)
{
    llmr_jbuf_lit(b, "{\"id\":");
    llmr_xw_responses_id(a, b, "fc_", llmr_xw_responses_index(a));
    llmr_jbuf_lit(b, ",\"type\":\"function_call\",\"status\":\"");
    llmr_xw_add(b, status);
    llmr_jbuf_lit(b, "\",\"arguments\":");

    if (strcmp(status, "in_progress") == 0) {
        /* the arguments come as deltas */
        llmr_jbuf_lit(b, "\"\"");

    } else {
        llmr_xw_responses_args(a, b);
    }

    llmr_jbuf_lit(b, ",\"call_id\":");
    llmr_xw_quoted(b, &a->call_id);
    llmr_jbuf_lit(b, ",\"name\":");
    llmr_xw_quoted(b, &a->call_name);
    llmr_jbuf_char(b, '}');
}


/* a call's arguments as OpenAI's string; none are "{}" */

static void
llmr_xw_responses_args(llmr_xans_t *a, llmr_jbuf_t *b)
{
    if (a->args.len) {
        llmr_jbuf_str(b, a->args.data, a->args.len);

    } else {
        llmr_jbuf_lit(b, "\"{}\"");
    }
}


/* the open message's output_text part, its text so far */

static void
llmr_xw_responses_part(llmr_xans_t *a, llmr_jbuf_t *b)
{
    llmr_jbuf_lit(b, "{\"type\":\"output_text\",\"annotations\":[],"
                  "\"logprobs\":[],\"text\":");
    llmr_xw_quoted(b, &a->text);
    llmr_jbuf_char(b, '}');
}


static void
llmr_xw_responses_end(llmr_xans_t *a)
{
    int           incomplete;
    llmr_jbuf_t  *b;

    b = &a->out;
    incomplete = a->finish == LLMR_XFIN_LENGTH
                 || a->finish == LLMR_XFIN_CONTENT_FILTER;

    if (!a->conf.stream) {
        llmr_xw_responses_object(a, b, LLMR_XW_RESP_DONE, NULL);
        llmr_jbuf_char(b, '\n');
        return;
    }

    llmr_xw_responses_event(a, incomplete ? "response.incomplete"
                                          : "response.completed");
    llmr_jbuf_lit(b, ",\"response\":");
    llmr_xw_responses_object(a, b, LLMR_XW_RESP_DONE, NULL);
    llmr_jbuf_lit(b, "}\n\n");
}


/*
 * An error in the stream: the API's "error" event, then
 * response.failed with the output so far, its open item "incomplete";
 * openai-node's stream helper ends with that response, status "failed"
 * and its error.  A stream that failed before its start is started
 * first, as the helper needs a response.created.
 */

static void
llmr_xw_responses_error(llmr_xans_t *a, const llmr_xev_t *ev)
{
    llmr_jbuf_t  *b;
    llmr_xev_t    start;

    b = &a->out;

    if (!a->started) {
        llmr_xev_init(&start, LLMR_XEV_START);
        llmr_xw_responses(a, &start);
    }

    llmr_xw_responses_close(a, LLMR_XW_ITEM_FAILED);

    llmr_xw_responses_event(a, "error");
    llmr_jbuf_lit(b, ",\"code\":\"");
    llmr_xw_add(b, ev->code ? ev->code : "llm_upstream_error");
    llmr_jbuf_lit(b, "\",\"message\":");
    llmr_xw_str(b, &ev->text);
    llmr_jbuf_lit(b, ",\"param\":null}\n\n");

    llmr_xw_responses_event(a, "response.failed");
    llmr_jbuf_lit(b, ",\"response\":");
    llmr_xw_responses_object(a, b, LLMR_XW_RESP_FAILED, ev);
    llmr_jbuf_lit(b, "}\n\n");
}


/*
 * The response object.  What it echoes of the request (instructions,
 * tools, temperature, ...) the answer does not know: the API's defaults,
 * which the SDK does not read back.
 */

static void
llmr_xw_responses_object(llmr_xans_t *a, llmr_jbuf_t *b, int phase,
    const llmr_xev_t *err)
{
    const char  *status, *reason;

    reason = NULL;

    if (phase == LLMR_XW_RESP_STARTED) {
        status = "in_progress";

    } else if (phase == LLMR_XW_RESP_FAILED) {
        status = "failed";

    } else if (a->finish == LLMR_XFIN_LENGTH) {
        status = "incomplete";
        reason = "max_output_tokens";

    } else if (a->finish == LLMR_XFIN_CONTENT_FILTER) {
        status = "incomplete";
        reason = "content_filter";

    } else {
        status = "completed";
    }

    llmr_jbuf_lit(b, "{\"id\":\"resp_");
    llmr_jbuf_add(b, a->id.data, a->id.len);
    llmr_jbuf_lit(b, "\",\"object\":\"response\",\"created_at\":");
    llmr_jbuf_int(b, a->created);
    llmr_jbuf_lit(b, ",\"status\":\"");
    llmr_xw_add(b, status);
    llmr_jbuf_lit(b, "\",\"error\":");

    if (err != NULL) {
        llmr_jbuf_lit(b, "{\"code\":\"");
        llmr_xw_add(b, err->code ? err->code : "llm_upstream_error");
        llmr_jbuf_lit(b, "\",\"message\":");
        llmr_xw_str(b, &err->text);
        llmr_jbuf_char(b, '}');

    } else {
        llmr_jbuf_lit(b, "null");
    }

    llmr_jbuf_lit(b, ",\"incomplete_details\":");

    if (reason != NULL) {
        llmr_jbuf_lit(b, "{\"reason\":\"");
        llmr_xw_add(b, reason);
        llmr_jbuf_lit(b, "\"}");

    } else {
        llmr_jbuf_lit(b, "null");
    }

    llmr_jbuf_lit(b, ",\"instructions\":null,\"metadata\":{},\"model\":");
    llmr_xw_quoted(b, &a->model);
    llmr_jbuf_lit(b, ",\"output\":[");

    if (phase != LLMR_XW_RESP_STARTED) {
        llmr_jbuf_add(b, a->content.data, a->content.len);
    }

    llmr_jbuf_lit(b, "],\"parallel_tool_calls\":true,\"temperature\":null,"
                  "\"tool_choice\":\"auto\",\"tools\":[],\"top_p\":null,"
                  "\"usage\":");

    if (phase == LLMR_XW_RESP_STARTED) {
        llmr_jbuf_lit(b, "null");

    } else {
        llmr_xw_responses_usage(a, b);
    }

    llmr_jbuf_char(b, '}');
}


static void
llmr_xw_responses_usage(llmr_xans_t *a, llmr_jbuf_t *b)
{
    int64_t  in, out;

    in = a->usage.input > 0 ? a->usage.input : 0;
    out = a->usage.output > 0 ? a->usage.output : 0;

    llmr_jbuf_lit(b, "{\"input_tokens\":");
    llmr_jbuf_int(b, in);
    llmr_jbuf_lit(b, ",\"input_tokens_details\":{\"cached_tokens\":");
    llmr_jbuf_int(b, a->usage.cache_read > 0 ? a->usage.cache_read : 0);
    llmr_jbuf_lit(b, "},\"output_tokens\":");
    llmr_jbuf_int(b, out);

    /* counted in the output, not told apart by every provider */
    llmr_jbuf_lit(b, ",\"output_tokens_details\":{\"reasoning_tokens\":0},"
                  "\"total_tokens\":");
    llmr_jbuf_int(b, in + out);
    llmr_jbuf_char(b, '}');
}


/* "event: NAME\ndata: {"type":"NAME","sequence_number":n", to go on */

static void
llmr_xw_responses_event(llmr_xans_t *a, const char *name)
{
    llmr_jbuf_t  *b;

    b = &a->out;

    llmr_jbuf_lit(b, "event: ");
    llmr_xw_add(b, name);
    llmr_jbuf_lit(b, "\ndata: {\"type\":\"");
    llmr_xw_add(b, name);
    llmr_jbuf_lit(b, "\",\"sequence_number\":");
    llmr_jbuf_int(b, a->w_seq++);
}


/* the open item's item_id and output_index */

static void
llmr_xw_responses_at(llmr_xans_t *a, const char *prefix)
{
    llmr_jbuf_t  *b;

    b = &a->out;

    llmr_jbuf_lit(b, ",\"item_id\":");
    llmr_xw_responses_id(a, b, prefix, llmr_xw_responses_index(a));
    llmr_jbuf_lit(b, ",\"output_index\":");
    llmr_jbuf_int(b, llmr_xw_responses_index(a));
}


static void
llmr_xw_responses_id(llmr_xans_t *a, llmr_jbuf_t *b, const char *prefix,
    unsigned n)
{
    llmr_jbuf_char(b, '"');
    llmr_xw_add(b, prefix);
    llmr_jbuf_add(b, a->id.data, a->id.len);
    llmr_jbuf_char(b, '_');
    llmr_jbuf_int(b, n);
    llmr_jbuf_char(b, '"');
}
