
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include "llmr_xans.h"


/*
 * The answer for a Gemini generateContent client: a
 * GenerateContentResponse, or one per chunk ("data: {...}\r\n\r\n" as
 * ?alt=sse gives them); a call is given whole, in a chunk of its own.
 */


static void llmr_xw_gemini_json(llmr_xans_t *a, const llmr_xev_t *ev);
static void llmr_xw_gemini_chunk(llmr_xans_t *a);
static void llmr_xw_gemini_tail(llmr_xans_t *a, int finish);
static void llmr_xw_gemini_call(llmr_xans_t *a, llmr_jbuf_t *b);


static const char  *llmr_xw_gemini_finish[] = {
    "STOP", "STOP", "MAX_TOKENS", "STOP", "SAFETY", "OTHER"
};


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
