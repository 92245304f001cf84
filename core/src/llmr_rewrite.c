/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/rewrite.h>


static const char  llmr_usage_member[] =
    "\"stream_options\":{\"include_usage\":true}";

static const char  llmr_usage_flag[] = "\"include_usage\":true";


static int
llmr_rewrite_add(llmr_rewrite_t *rw, off_t start, off_t end, const char *data,
    size_t len)
{
    unsigned      i;
    llmr_edit_t  *e;

    if (rw->nedits == LLMR_REWRITE_EDITS_MAX) {
        return LLMR_ERROR;
    }

    /* keep the edits sorted by start; equal starts keep the plan order */

    for (i = rw->nedits; i > 0; i--) {
        if (rw->edits[i - 1].start <= start) {
            break;
        }

        rw->edits[i] = rw->edits[i - 1];
    }

    e = &rw->edits[i];

    e->start = start;
    e->end = end;
    e->data = data;
    e->len = len;

    rw->nedits++;
    rw->delta += (off_t) len - (end - start);

    return LLMR_OK;
}


static char *
llmr_rewrite_put(llmr_rewrite_t *rw, const char *s, size_t len)
{
    char  *p;

    p = rw->buf + rw->used;
    memcpy(p, s, len);
    rw->used += len;

    return p;
}


/*
 * Which edits, and in what order:
 *
 *   - a top-level "model" is replaced from right after its key to the end
 *     of its value, so whatever blanks or escapes it was written with;
 *   - without one, "model":"id", is inserted first in the object (the
 *     comma only when the object has other members);
 *   - Gemini bodies never get a model edit: the model is in the URL;
 *   - stream_options: a missing member is inserted after the model (or
 *     first); an existing object gets "include_usage":true first inside
 *     it.  An "include_usage" already there, true or false, is the
 *     client's explicit choice and is left alone, as is a null
 *     stream_options, which cannot take a member.
 */

int
llmr_rewrite_plan(llmr_rewrite_t *rw, const llmr_request_t *req,
    const char *model_id, size_t len, int include_usage)
{
    char      *start, *p;
    size_t     need, esc;
    unsigned   model_insert, model_replace, usage_insert, usage_member;

    rw->nedits = 0;
    rw->delta = 0;
    rw->used = 0;

    if (len > LLMR_MODEL_ID_MAX) {
        return LLMR_ERROR;
    }

    model_replace = 0;
    model_insert = 0;
    usage_insert = 0;
    usage_member = 0;

    if (req->format != LLMR_FMT_GEMINI) {
        if (req->has_model) {
            model_replace = 1;

        } else {
            model_insert = 1;
        }
    }

    if (include_usage
        && req->stream
        && !req->include_usage
        && (req->format == LLMR_FMT_OPENAI_CHAT
            || req->format == LLMR_FMT_OPENAI_COMPLETIONS))
    {
        if (!req->has_stream_options) {
            usage_insert = 1;

        } else if (!req->has_include_usage && req->stream_options_start > 0)
        {
            usage_member = 1;
        }
    }

    /* the anchors must make sense before any byte is planned */

    if (model_replace
        && (req->model_key_end <= 0 || req->model_end <= req->model_key_end
            || req->model_end > req->body_bytes))
    {
        return LLMR_ERROR;
    }

    if ((model_insert || usage_insert)
        && (req->object_start <= 0 || req->object_start > req->body_bytes))
    {
        return LLMR_ERROR;
    }

    if (usage_member && req->stream_options_start > req->body_bytes) {
        return LLMR_ERROR;
    }

    esc = (model_replace || model_insert)
          ? llmr_json_escaped_len(model_id, len) : 0;

    need = esc + sizeof("\"model\":\"\",") - 1
           + sizeof(llmr_usage_member) + sizeof(llmr_usage_flag);

    if (need > LLMR_REWRITE_BUF_SIZE) {
        return LLMR_ERROR;
    }

    if (model_insert || usage_insert) {
        start = rw->buf + rw->used;

        if (model_insert) {
            llmr_rewrite_put(rw, "\"model\":\"", 9);
            rw->used += llmr_json_escape(rw->buf + rw->used,
                                         LLMR_REWRITE_BUF_SIZE - rw->used,
                                         model_id, len);
            llmr_rewrite_put(rw, "\"", 1);
        }

        if (usage_insert) {
            if (model_insert) {
                llmr_rewrite_put(rw, ",", 1);
            }

            llmr_rewrite_put(rw, llmr_usage_member,
                             sizeof(llmr_usage_member) - 1);
        }

        if (!req->empty_object) {
            llmr_rewrite_put(rw, ",", 1);
        }

        if (llmr_rewrite_add(rw, req->object_start, req->object_start, start,
                             rw->buf + rw->used - start)
            != LLMR_OK)
        {
            return LLMR_ERROR;
        }
    }

    if (model_replace) {
        start = llmr_rewrite_put(rw, ":\"", 2);
        rw->used += llmr_json_escape(rw->buf + rw->used,
                                     LLMR_REWRITE_BUF_SIZE - rw->used,
                                     model_id, len);
        p = llmr_rewrite_put(rw, "\"", 1);

        if (llmr_rewrite_add(rw, req->model_key_end, req->model_end, start,
                             p + 1 - start)
            != LLMR_OK)
        {
            return LLMR_ERROR;
        }
    }

    if (usage_member) {
        start = llmr_rewrite_put(rw, llmr_usage_flag,
                                 sizeof(llmr_usage_flag) - 1);

        if (!req->empty_stream_options) {
            llmr_rewrite_put(rw, ",", 1);
        }

        if (llmr_rewrite_add(rw, req->stream_options_start,
                             req->stream_options_start, start,
                             rw->buf + rw->used - start)
            != LLMR_OK)
        {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


/*
 * Edits that do not fit the body (a plan for another body) are refused
 * as a whole: nothing is written and 0 is returned.
 */

size_t
llmr_rewrite_apply(const llmr_rewrite_t *rw, const unsigned char *in,
    size_t len, unsigned char *out)
{
    off_t               pos;
    size_t              n;
    unsigned            i;
    const llmr_edit_t  *e;

    pos = 0;

    for (i = 0; i < rw->nedits; i++) {
        e = &rw->edits[i];

        if (e->start < pos || e->end < e->start || e->end > (off_t) len) {
            return 0;
        }

        pos = e->end;
    }

    pos = 0;
    n = 0;

    for (i = 0; i < rw->nedits; i++) {
        e = &rw->edits[i];

        memcpy(out + n, in + pos, e->start - pos);
        n += e->start - pos;

        memcpy(out + n, e->data, e->len);
        n += e->len;

        pos = e->end;
    }

    memcpy(out + n, in + pos, len - pos);
    n += len - pos;

    return n;
}
