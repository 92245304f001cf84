
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include "llmr_xans.h"


/*
 * The answer for an OpenAI chat completions client: a chat.completion,
 * or chat.completion.chunk events ("data: {...}\n\n", "data: [DONE]").
 */


static void llmr_xw_openai_json(llmr_xans_t *a, const llmr_xev_t *ev);
static void llmr_xw_openai_head(llmr_xans_t *a);
static void llmr_xw_openai_tail(llmr_xans_t *a, int finish);
static void llmr_xw_openai_usage(llmr_xans_t *a);


static const char  *llmr_xw_openai_finish[] = {
    "stop", "stop", "length", "tool_calls", "content_filter", "stop"
};


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
