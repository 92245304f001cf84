
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The response usage reader (llmr_usage_*): one JSON body or an SSE
 * stream, fed in chunks drawn from the input (see fuzz.h).  Properties:
 * no memory error, leak or undefined behaviour; the same result whole and
 * in chunks; memory under 64 KB whatever the input (as the unit tests
 * bound it); answer_head NUL-terminated, within its size, valid UTF-8;
 * body_bytes the bytes fed.
 *
 * byte 0: bits 0-2 the request format (mod LLMR_FMT_N); bits 4-5 the
 * Content-Type: 0 none (the body tells), 1 JSON, 2 and 3 SSE.
 */


#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/usage.h>

#include "fuzz.h"


#define FZ_USAGE_MEMORY_MAX  (64 * 1024)


static void
fz_run(int format, int mode, const unsigned char *body, size_t len,
    uint8_t plan, int chunked, llmr_usage_result_t *r, int *failed)
{
    size_t           off, n, mem;
    fz_chunks_t      c;
    llmr_usage_t    *u;
    unsigned char   *copy;

    u = llmr_usage_create(format);
    if (u == NULL) {
        abort();
    }

    if (mode) {
        llmr_usage_set_stream(u, mode >= 2);
    }

    fz_chunks_init(&c, plan, len);
    *failed = 0;

    for (off = 0; off < len; off += n) {
        n = chunked ? fz_chunks_next(&c, len - off) : len - off;

        copy = fz_copy(body + off, n);

        /* as the response filter: an error only stops the parse */
        if (llmr_usage_feed(u, copy, n) != LLMR_OK) {
            *failed = 1;
        }

        free(copy);
    }

    llmr_usage_finish(u);

    *r = *llmr_usage_result(u);

    mem = llmr_usage_memory(u);
    fz_assert(mem < FZ_USAGE_MEMORY_MAX, "memory %zu", mem);

    llmr_usage_destroy(u);
}


static void
fz_check(const llmr_usage_result_t *r, size_t len)
{
    fz_assert(r->body_bytes == len, "body_bytes %zu of %zu", r->body_bytes,
              len);
    fz_assert(r->answer_head_len < LLMR_USAGE_HEAD_SIZE, "head %zu",
              r->answer_head_len);
    fz_assert(r->answer_head[r->answer_head_len] == '\0', "head not NUL");
    fz_assert(fz_utf8_valid((const unsigned char *) r->answer_head,
                            r->answer_head_len), "head not UTF-8");
    fz_assert(r->answer_head_len <= r->text_bytes, "head %zu > text %zu",
              r->answer_head_len, r->text_bytes);
    fz_assert(r->finish >= 0 && r->finish < LLMR_FINISH_N, "finish %d",
              r->finish);
    fz_assert(r->format >= 0 && r->format < LLMR_FMT_N, "format %d",
              r->format);
    fz_assert(r->bad_events <= r->events, "bad %u of %u events",
              r->bad_events, r->events);
    fz_assert(!r->complete || (r->input_tokens >= 0 && r->output_tokens >= 0),
              "complete without both counts");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   format, mode, f1, f2;
    llmr_usage_result_t   a, b;

    if (size < 2) {
        return 0;
    }

    format = (data[0] & 7) % LLMR_FMT_N;
    mode = (data[0] >> 4) & 3;

    fz_run(format, mode, data + 2, size - 2, data[1], 0, &a, &f1);
    fz_check(&a, size - 2);

    fz_run(format, mode, data + 2, size - 2, data[1], 1, &b, &f2);

#define same(f)  fz_assert(a.f == b.f, #f " %lld whole, %lld in chunks",      \
                           (long long) a.f, (long long) b.f)

    same(input_tokens);
    same(output_tokens);
    same(cached_tokens);
    same(cache_write_tokens);
    same(reasoning_tokens);
    same(body_bytes);
    same(text_bytes);
    same(events);
    same(bad_events);
    same(finish);
    same(format);
    same(complete);
    same(stream);
    same(done);
    same(truncated);
    same(refusal);
    same(error);
    same(invalid);
    same(answer_head_len);

#undef same

    fz_assert(f1 == f2, "feed failed %d whole, %d in chunks", f1, f2);
    fz_assert(memcmp(a.answer_head, b.answer_head, a.answer_head_len) == 0,
              "answer_head whole \"%s\", in chunks \"%s\"", a.answer_head,
              b.answer_head);

    return 0;
}
