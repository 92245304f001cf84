
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdlib.h>
#include <string.h>

#include "llmr_xans.h"


/*
 * What the writers (llmr_xans_to_*.c) share: strings as JSON, a tool
 * call kept whole, its arguments as an object, an error event.
 */


/* a string, quoted */

void
llmr_xw_str(llmr_jbuf_t *b, const llmr_xstr_t *xs)
{
    if (xs->raw) {
        llmr_jbuf_char(b, '"');
        llmr_jbuf_add(b, xs->s, xs->len);
        llmr_jbuf_char(b, '"');
        return;
    }

    llmr_jbuf_str(b, xs->s ? xs->s : "", xs->len);
}


/* a string's escaped text, to go between quotes written elsewhere */

void
llmr_xw_str_in(llmr_jbuf_t *b, const llmr_xstr_t *xs)
{
    size_t  at;

    if (xs->raw) {
        llmr_jbuf_add(b, xs->s, xs->len);
        return;
    }

    at = b->len;
    llmr_jbuf_str(b, xs->s ? xs->s : "", xs->len);

    if (!b->failed) {
        memmove(b->data + at, b->data + at + 1, b->len - at - 2);
        b->len -= 2;
    }
}


void
llmr_xw_quoted(llmr_jbuf_t *b, const llmr_jbuf_t *escaped)
{
    llmr_jbuf_char(b, '"');
    llmr_jbuf_add(b, escaped->data, escaped->len);
    llmr_jbuf_char(b, '"');
}


/* a piece of a call's arguments, kept decoded: they are JSON text */

void
llmr_xw_args_add(llmr_xans_t *a, const llmr_xstr_t *xs)
{
    size_t     at;
    llmr_jv_t  v;

    if (!xs->raw) {
        llmr_jbuf_add(&a->args, xs->s, xs->len);
        return;
    }

    /* a decoded string is never longer than its escaped text */
    at = a->args.len;
    llmr_jbuf_add(&a->args, xs->s, xs->len);

    if (a->args.failed) {
        return;
    }

    memset(&v, 0, sizeof(llmr_jv_t));
    v.type = LLMR_V_STRING;
    v.s = xs->s;
    v.len = xs->len;
    v.esc = 1;

    a->args.len = at + llmr_jv_decode(&v, a->args.data + at, xs->len);
}


/*
 * The arguments as a JSON object, as Anthropic's "input" and Gemini's
 * "args" are: an OpenAI model's arguments are a string that should hold
 * one, but nothing makes it; what does not parse as an object is {}.
 */

void
llmr_xw_args_object(llmr_xans_t *a, llmr_jbuf_t *b)
{
    llmr_xstr_t  xs;

    if (a->args.len
        && llmr_jdoc_parse(&a->adoc, a->args.data, a->args.len) == LLMR_OK
        && a->adoc.root->type == LLMR_V_MAP)
    {
        xs.s = a->args.data;
        xs.len = a->args.len;
        xs.raw = 0;

        llmr_xw_compact(&a->scratch, &xs);
        llmr_jbuf_add(b, xs.s, xs.len);
        return;
    }

    llmr_jbuf_lit(b, "{}");
}


/*
 * The error of an event in the client's shape, appended to the output
 * (a stream's without its last LF: its writer frames it).
 */

void
llmr_xw_error(llmr_xans_t *a, const llmr_xev_t *ev)
{
    char        *buf, *msg;
    size_t       size, n, len;
    llmr_jv_t    v;
    const char  *code;

    code = ev->code ? ev->code : "llm_upstream_error";
    len = ev->text.len;

    msg = malloc(len + 1);
    if (msg == NULL) {
        a->out.failed = 1;
        return;
    }

    if (ev->text.raw) {
        memset(&v, 0, sizeof(llmr_jv_t));
        v.type = LLMR_V_STRING;
        v.s = ev->text.s;
        v.len = len;
        v.esc = 1;

        len = llmr_jv_decode(&v, msg, len);

    } else if (len) {
        memcpy(msg, ev->text.s, len);
    }

    size = llmr_api_error_max(code, len);

    buf = malloc(size);
    if (buf == NULL) {
        free(msg);
        a->out.failed = 1;
        return;
    }

    n = llmr_api_error(a->conf.to, ev->status, code, msg, len, buf, size);

    if (n && buf[n - 1] == '\n' && !llmr_xans_whole(a)) {
        n--;
    }

    llmr_jbuf_add(&a->out, buf, n);

    free(buf);
    free(msg);
}


/* the input tokens not read from a cache, as Anthropic counts them */

int64_t
llmr_xw_plain_input(const llmr_xusage_t *u)
{
    int64_t  n;

    n = u->input < 0 ? 0 : u->input;

    if (u->cache_read > 0) {
        n -= u->cache_read;
    }

    if (u->cache_write > 0) {
        n -= u->cache_write;
    }

    return n < 0 ? 0 : n;
}


/*
 * JSON text (parsed already) without the blanks between its tokens, in
 * b; xs then points there.
 */

void
llmr_xw_compact(llmr_jbuf_t *b, llmr_xstr_t *xs)
{
    int          str;
    size_t       i, from;
    const char  *s;

    s = xs->s;
    b->len = 0;
    str = 0;
    from = 0;

    for (i = 0; i < xs->len; i++) {
        if (str) {
            if (s[i] == '\\') {
                i++;

            } else if (s[i] == '"') {
                str = 0;
            }

            continue;
        }

        if (s[i] == '"') {
            str = 1;

        } else if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r'
                   || s[i] == '\t')
        {
            llmr_jbuf_add(b, s + from, i - from);
            from = i + 1;
        }
    }

    if (from == 0 || b->failed) {
        /* nothing to take out, or no memory: as it is */
        return;
    }

    llmr_jbuf_add(b, s + from, xs->len - from);

    xs->s = b->data;
    xs->len = b->len;
}


/* a call kept whole: its id and name now, its arguments as they come */

void
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

void
llmr_xw_sep(llmr_xans_t *a)
{
    llmr_xw_text_end(a);

    if (a->w_parts++) {
        llmr_jbuf_char(&a->content, ',');
    }
}


void
llmr_xw_text_end(llmr_xans_t *a)
{
    if (a->w_block == LLMR_XBLK_TEXT) {
        llmr_jbuf_lit(&a->content, "\"}");
        a->w_block = LLMR_XBLK_NONE;
    }
}
