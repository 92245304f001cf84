
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The body rewrite (llmr_rewrite_plan + llmr_rewrite_apply) of every body
 * the extractor accepts.  Properties:
 *
 *   - a body the extractor accepts is JSON for yajl_tree too, the plan
 *     succeeds and the output has len + delta bytes;
 *   - the output is valid JSON (yajl_tree) and the same tree as the input
 *     but for the top-level "model" (now the chosen id, Gemini's
 *     untouched) and the "stream_options" / "include_usage" the rewrite
 *     may add;
 *   - extracted again, the output gives the same features (texts, counts,
 *     flags, format) and the new model.
 *
 * byte 0: bits 0-2 the format hint; bit 3 asks for include_usage.
 * byte 1: the model id (one of ids[] below).
 * byte 2..: the body.
 */


#include <yajl/yajl_tree.h>

#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/rewrite.h>

#include "fuzz.h"


/* operator-chosen ids: plain, escaped, non-ASCII, the longest allowed */

static const char  *ids[] = {
    "gpt-4o-mini",
    "claude-3-5-sonnet-20241022",
    "m",
    "models/gemini-1.5-pro",
    "quote\"back\\slash/solidus",
    "tab\there\nnewline",
    "caf\xc3\xa9-\xe6\xa8\xa1\xe5\x9e\x8b-\xf0\x9f\x98\x80",
    "\x01\x1f\x7f",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",     /* 197 */
};

#define NIDS  (sizeof(ids) / sizeof(ids[0]))


static llmr_extract_t  *fz_x;


static int
fz_str_eq(llmr_str_t a, const char *b, size_t blen)
{
    return a.len == blen && (a.len == 0 || memcmp(a.data, b, a.len) == 0);
}


static yajl_val
fz_tree(const unsigned char *p, size_t n)
{
    char      *s;
    yajl_val   v;

    /* yajl_tree_parse() wants a C string: a NUL inside is not JSON */
    if (memchr(p, '\0', n) != NULL) {
        return NULL;
    }

    s = malloc(n + 1);
    if (s == NULL) {
        abort();
    }

    memcpy(s, p, n);
    s[n] = '\0';

    v = yajl_tree_parse(s, NULL, 0);
    free(s);

    return v;
}


static int fz_tree_eq(yajl_val a, yajl_val b);


/* the next key of o from *i on that is not skipped */

static size_t
fz_next_key(yajl_val o, size_t i, const char **skip, unsigned nskip)
{
    unsigned  k;

    for (/* void */; i < o->u.object.len; i++) {
        for (k = 0; k < nskip; k++) {
            if (strcmp(o->u.object.keys[i], skip[k]) == 0) {
                break;
            }
        }

        if (k == nskip) {
            break;
        }
    }

    return i;
}


static int
fz_object_eq(yajl_val a, yajl_val b, const char **skip, unsigned nskip)
{
    size_t  i, j;

    i = fz_next_key(a, 0, skip, nskip);
    j = fz_next_key(b, 0, skip, nskip);

    while (i < a->u.object.len && j < b->u.object.len) {
        if (strcmp(a->u.object.keys[i], b->u.object.keys[j]) != 0
            || !fz_tree_eq(a->u.object.values[i], b->u.object.values[j]))
        {
            return 0;
        }

        i = fz_next_key(a, i + 1, skip, nskip);
        j = fz_next_key(b, j + 1, skip, nskip);
    }

    return i == a->u.object.len && j == b->u.object.len;
}


static int
fz_tree_eq(yajl_val a, yajl_val b)
{
    size_t  i;

    if (a->type != b->type) {
        return 0;
    }

    switch (a->type) {

    case yajl_t_string:
        return strcmp(a->u.string, b->u.string) == 0;

    case yajl_t_number:
        return strcmp(a->u.number.r, b->u.number.r) == 0;

    case yajl_t_object:
        return fz_object_eq(a, b, NULL, 0);

    case yajl_t_array:
        if (a->u.array.len != b->u.array.len) {
            return 0;
        }

        for (i = 0; i < a->u.array.len; i++) {
            if (!fz_tree_eq(a->u.array.values[i], b->u.array.values[i])) {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}


static yajl_val
fz_member(yajl_val o, const char *key)
{
    size_t    i;
    yajl_val  v;

    v = NULL;

    /* the last one, as yajl_tree_get() would not say */
    for (i = 0; i < o->u.object.len; i++) {
        if (strcmp(o->u.object.keys[i], key) == 0) {
            v = o->u.object.values[i];
        }
    }

    return v;
}


static void
fz_check_trees(yajl_val in, yajl_val out, const llmr_request_t *req,
    const char *id)
{
    yajl_val     so_in, so_out, m;
    unsigned     n;
    const char  *skip[2];

    fz_assert(YAJL_IS_OBJECT(in) && YAJL_IS_OBJECT(out), "not objects");

    n = 0;

    if (req->format != LLMR_FMT_GEMINI) {
        skip[n++] = "model";

        m = fz_member(out, "model");
        fz_assert(m != NULL && YAJL_IS_STRING(m) && strcmp(m->u.string, id)
                  == 0, "model is not the id");
    }

    so_in = fz_member(in, "stream_options");
    so_out = fz_member(out, "stream_options");

    if (so_out != NULL) {
        /* compared below */
        skip[n++] = "stream_options";
    }

    if (so_in == NULL && so_out != NULL) {
        m = fz_member(so_out, "include_usage");
        fz_assert(YAJL_IS_OBJECT(so_out) && so_out->u.object.len == 1
                  && m != NULL && YAJL_IS_TRUE(m), "inserted stream_options");
    }

    fz_assert(fz_object_eq(in, out, skip, n),
              "the rewrite changed more than the model");

    if (so_in != NULL && YAJL_IS_OBJECT(so_in)) {
        skip[0] = "include_usage";

        fz_assert(so_out != NULL && YAJL_IS_OBJECT(so_out)
                  && fz_object_eq(so_in, so_out, skip,
                                  fz_member(so_in, "include_usage") ? 0 : 1),
                  "stream_options changed beyond include_usage");

    } else if (so_in != NULL) {
        fz_assert(so_out != NULL && fz_tree_eq(so_in, so_out),
                  "stream_options changed");
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    hint, usage, rc;
    char                  *model_in, *texts[3];
    size_t                 len, n, idlen;
    yajl_val               tin, tout;
    const char            *id;
    llmr_request_t         req, req2;
    llmr_rewrite_t         rw;
    const unsigned char   *body;
    unsigned char         *out;

    if (size < 2) {
        return 0;
    }

    hint = (data[0] & 7) % LLMR_FMT_N;
    usage = (data[0] & 8) != 0;
    id = ids[data[1] % NIDS];
    idlen = strlen(id);
    body = data + 2;
    len = size - 2;

    if (fz_x == NULL) {
        fz_x = llmr_extract_create(NULL);
        if (fz_x == NULL) {
            abort();
        }
    }

    llmr_extract_reset(fz_x, hint);

    if (llmr_extract_feed(fz_x, body, len) != LLMR_OK
        || llmr_extract_finish(fz_x) != LLMR_OK)
    {
        return 0;
    }

    req = *llmr_extract_result(fz_x);

    model_in = (char *) fz_copy((const unsigned char *) req.model.data,
                                req.model.len);
    texts[0] = (char *) fz_copy((const unsigned char *) req.last_user.data,
                                req.last_user.len);
    texts[1] = (char *) fz_copy((const unsigned char *) req.system.data,
                                req.system.len);
    texts[2] = (char *) fz_copy((const unsigned char *) req.history.data,
                                req.history.len);

    rc = llmr_rewrite_plan(&rw, &req, id, idlen, usage);
    fz_assert(rc == LLMR_OK, "plan failed on an accepted body");

    out = malloc(len + rw.delta + 1);
    if (out == NULL) {
        abort();
    }

    n = llmr_rewrite_apply(&rw, body, len, out);
    fz_assert(n == len + rw.delta, "applied %zu bytes, want %lld", n,
              (long long) (len + rw.delta));

    tin = fz_tree(body, len);
    fz_assert(tin != NULL, "the extractor accepted what yajl_tree refuses");

    tout = fz_tree(out, n);
    fz_assert(tout != NULL, "the rewritten body is not JSON");

    fz_check_trees(tin, tout, &req, id);

    yajl_tree_free(tin);
    yajl_tree_free(tout);

    /* the same features, extracted again from the output */

    llmr_extract_reset(fz_x, hint);

    rc = llmr_extract_feed(fz_x, out, n);
    if (rc == LLMR_OK) {
        rc = llmr_extract_finish(fz_x);
    }

    fz_assert(rc == LLMR_OK, "the output does not extract: %s",
              llmr_extract_error(fz_x));

    req2 = *llmr_extract_result(fz_x);

#define same(f)  fz_assert(req.f == req2.f, #f " %lld vs %lld",               \
                           (long long) req.f, (long long) req2.f)

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
    same(json_output);
    same(reasoning);

#undef same

    fz_assert(fz_str_eq(req2.last_user, texts[0], req.last_user.len)
              && fz_str_eq(req2.system, texts[1], req.system.len)
              && fz_str_eq(req2.history, texts[2], req.history.len),
              "the texts changed");

    if (req.format == LLMR_FMT_GEMINI) {
        fz_assert(req2.has_model == req.has_model
                  && fz_str_eq(req2.model, model_in, req.model.len),
                  "a Gemini model changed");

    } else {
        fz_assert(req2.has_model && fz_str_eq(req2.model, id, idlen),
                  "the model is not the id");
    }

    if (usage && req.stream && !req.has_include_usage
        && (req.format == LLMR_FMT_OPENAI_CHAT
            || req.format == LLMR_FMT_OPENAI_COMPLETIONS)
        && !(req.has_stream_options && req.stream_options_start <= 0))
    {
        fz_assert(req2.include_usage, "include_usage not added");

    } else {
        fz_assert(req2.include_usage == req.include_usage,
                  "include_usage changed");
    }

    free(model_in);
    free(texts[0]);
    free(texts[1]);
    free(texts[2]);
    free(out);

    return 0;
}
