
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * Request-body extraction (llmr_extract_*), every API format, fed in
 * chunks drawn from the input (see fuzz.h).  Properties: no memory error,
 * leak or undefined behaviour; the same result whole and in chunks; the
 * result within its caps and its anchors inside the body; the same
 * result, error messages included, as with every string through yajl
 * (yajl_strings, the reference for the extractor's own string lexer).
 *
 * byte 0: bits 0-2 the format hint (mod LLMR_FMT_N), bit 7 small caps
 * (depth 8, 4 messages, 8 parts, a few bytes of text) to reach the limit
 * paths with small inputs.
 */


#include <llmr/core.h>
#include <llmr/extract.h>

#include "fuzz.h"


typedef struct {
    int                         rc;
    int                         err;
    char                        error[256];
    llmr_request_t              req;
} snap_t;


static llmr_extract_t  *fz_x[2];
static llmr_extract_t  *fz_ref[2];


static void
fz_snap(llmr_extract_t *x, int hint, const unsigned char *body, size_t len,
    uint8_t plan, int chunked, snap_t *s)
{
    size_t           off, n;
    fz_chunks_t      c;
    unsigned char   *copy;

    llmr_extract_reset(x, hint);
    fz_chunks_init(&c, plan, len);

    s->rc = LLMR_OK;

    for (off = 0; off < len; off += n) {
        n = chunked ? fz_chunks_next(&c, len - off) : len - off;

        copy = fz_copy(body + off, n);
        s->rc = llmr_extract_feed(x, copy, n);
        free(copy);

        if (s->rc != LLMR_OK) {
            break;
        }
    }

    if (s->rc == LLMR_OK) {
        s->rc = llmr_extract_finish(x);
    }

    s->err = llmr_extract_errcode(x);
    snprintf(s->error, sizeof(s->error), "%s", llmr_extract_error(x));
    s->req = *llmr_extract_result(x);
}


static int
fz_str_eq(llmr_str_t a, llmr_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}


/* the whole-body snapshot's strings are copied before the chunked run */

static void
fz_str_keep(llmr_str_t *s)
{
    char  *p;

    p = (char *) fz_copy((const unsigned char *) s->data, s->len);
    s->data = p;
}


static void
fz_compare(const snap_t *a, const snap_t *b)
{
    const llmr_request_t  *p, *q;

    fz_assert(a->rc == b->rc, "rc %d vs %d", a->rc, b->rc);
    fz_assert(a->err == b->err, "err %d (%s) vs %d (%s)", a->err, a->error,
              b->err, b->error);

    if (a->rc != LLMR_OK && a->err != LLMR_EXTRACT_E_EMPTY) {
        return;
    }

    p = &a->req;
    q = &b->req;

#define same(f)  fz_assert(p->f == q->f, #f " %lld vs %lld",                 \
                           (long long) p->f, (long long) q->f)

    same(format);
    same(text_bytes);
    same(last_user_bytes);
    same(system_bytes);
    same(messages);
    same(user_turns);
    same(assistant_turns);
    same(tool_results);
    same(tools);
    same(images);
    same(parts);
    same(max_tokens);
    same(stream);
    same(has_model);
    same(has_stream_options);
    same(include_usage);
    same(json_output);
    same(reasoning);
    same(empty_object);
    same(empty_stream_options);
    same(has_include_usage);
    same(model_key_end);
    same(model_end);
    same(object_start);
    same(stream_options_start);
    same(body_bytes);

#undef same

    fz_assert(fz_str_eq(p->last_user, q->last_user), "last_user");
    fz_assert(fz_str_eq(p->system, q->system), "system");
    fz_assert(fz_str_eq(p->history, q->history), "history");
    fz_assert(fz_str_eq(p->model, q->model), "model");
}


/* s, with every string through yajl: the same, and the same message */

static void
fz_strings(llmr_extract_t *ref, int hint, const unsigned char *body,
    size_t len, uint8_t plan, int chunked, const snap_t *s)
{
    snap_t  r;

    fz_snap(ref, hint, body, len, plan, chunked, &r);
    fz_compare(&r, s);
    fz_assert(strcmp(r.error, s->error) == 0, "error \"%s\" vs \"%s\"",
              r.error, s->error);
}


static void
fz_check(const snap_t *s, const llmr_extract_conf_t *conf, size_t len)
{
    const llmr_request_t  *r;

    if (s->rc != LLMR_OK) {
        fz_assert(s->err != LLMR_EXTRACT_E_NONE, "an error without a code");
        fz_assert(s->error[0] != '\0', "an error without a message");
        return;
    }

    r = &s->req;

    fz_assert(r->format > LLMR_FMT_UNKNOWN && r->format < LLMR_FMT_N,
              "format %d", r->format);
    fz_assert(r->last_user.len <= conf->max_user_text, "last_user %zu",
              r->last_user.len);
    fz_assert(r->system.len <= conf->max_system_text, "system %zu",
              r->system.len);
    fz_assert(r->history.len <= conf->max_history_text, "history %zu",
              r->history.len);
    fz_assert(r->last_user.len <= r->last_user_bytes, "last_user_bytes");
    fz_assert(r->system.len <= r->system_bytes, "system_bytes");
    fz_assert(r->model.len <= LLMR_EXTRACT_MODEL_MAX, "model %zu",
              r->model.len);
    fz_assert(r->messages <= conf->max_messages, "messages %u", r->messages);
    fz_assert(r->parts <= conf->max_parts, "parts %u", r->parts);
    fz_assert(r->body_bytes == (off_t) len, "body_bytes %lld of %zu",
              (long long) r->body_bytes, len);
    fz_assert(r->object_start > 0 && r->object_start <= r->body_bytes,
              "object_start %lld", (long long) r->object_start);

    if (r->has_model) {
        fz_assert(r->model_key_end > 0 && r->model_key_end < r->model_end
                  && r->model_end <= r->body_bytes,
                  "model anchors %lld..%lld", (long long) r->model_key_end,
                  (long long) r->model_end);
    }

    if (r->stream_options_start != -1) {
        fz_assert(r->stream_options_start > 0
                  && r->stream_options_start <= r->body_bytes,
                  "stream_options_start %lld",
                  (long long) r->stream_options_start);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   hint, small;
    snap_t                whole, chunked;
    llmr_extract_conf_t   conf;

    if (size < 2) {
        return 0;
    }

    hint = (data[0] & 7) % LLMR_FMT_N;
    small = (data[0] & 0x80) != 0;

    llmr_extract_conf_init(&conf);

    if (small) {
        conf.max_depth = 8;
        conf.max_messages = 4;
        conf.max_parts = 8;
        conf.max_user_text = 7;
        conf.max_system_text = 5;
        conf.max_history_text = 3;
    }

    if (fz_x[small] == NULL) {
        fz_x[small] = llmr_extract_create(&conf);
        if (fz_x[small] == NULL) {
            abort();
        }
    }

    if (fz_ref[small] == NULL) {
        conf.yajl_strings = 1;
        fz_ref[small] = llmr_extract_create(&conf);
        conf.yajl_strings = 0;

        if (fz_ref[small] == NULL) {
            abort();
        }
    }

    fz_snap(fz_x[small], hint, data + 2, size - 2, data[1], 0, &whole);
    fz_check(&whole, &conf, size - 2);

    fz_strings(fz_ref[small], hint, data + 2, size - 2, data[1], 0, &whole);

    fz_str_keep(&whole.req.last_user);
    fz_str_keep(&whole.req.system);
    fz_str_keep(&whole.req.history);
    fz_str_keep(&whole.req.model);

    fz_snap(fz_x[small], hint, data + 2, size - 2, data[1], 1, &chunked);
    fz_compare(&whole, &chunked);

    fz_strings(fz_ref[small], hint, data + 2, size - 2, data[1], 1, &chunked);

    free((void *) whole.req.last_user.data);
    free((void *) whole.req.system.data);
    free((void *) whole.req.history.data);
    free((void *) whole.req.model.data);

    return 0;
}
