
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The answer translator (llmr_xans_*): a provider's answer, JSON or a
 * stream, fed whole and in chunks drawn from the input (see fuzz.h), to
 * one translator reused across answers as a worker's is.  Properties:
 * no memory error, leak or undefined behaviour; the same output, status
 * and completeness whole and in chunks; a JSON answer's output parses,
 * and so does every data: line of a stream's; the memory held after a
 * reset is bounded.
 *
 * byte 0: bits 0-1 the model's API (mod 3), 2-3 the client's (OpenAI,
 * Anthropic, Gemini, OpenAI Responses), bit 4 a stream, bit 5
 * include_usage, bits 6-7 the status (200, 200, 429, 500).
 * byte 1: the chunk plan; bit 7 set: max_event is 256 bytes.
 */


#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/translate.h>

#include "../core/src/llmr_jdoc.h"

#include "fuzz.h"


#define FZ_XANS_MEMORY_MAX  (1024 * 1024)


typedef struct {
    unsigned char              *data;
    size_t                      len;
    size_t                      size;
    int                         status;
    int                         complete;
} fz_out_t;


static llmr_xans_t  *fz_xans;
static llmr_jdoc_t   fz_doc;


static void
fz_take(fz_out_t *o)
{
    size_t       n;
    const char  *p;

    p = llmr_xans_output(fz_xans, &n);

    if (p == NULL) {
        fz_assert(n == 0, "no output but %zu bytes", n);
        return;
    }

    if (o->len + n > o->size) {
        o->size = (o->len + n) * 2;
        o->data = realloc(o->data, o->size);

        if (o->data == NULL) {
            abort();
        }
    }

    memcpy(o->data + o->len, p, n);
    o->len += n;

    /* taken in two steps: the offset and its reset both run */
    llmr_xans_consume(fz_xans, n / 2);
    llmr_xans_consume(fz_xans, n - n / 2);
}


static void
fz_run(const llmr_xans_conf_t *conf, const unsigned char *body, size_t len,
    uint8_t plan, int chunked, fz_out_t *o)
{
    size_t          off, n;
    fz_chunks_t     c;
    unsigned char  *copy;

    memset(o, 0, sizeof(fz_out_t));

    llmr_xans_reset(fz_xans, conf);
    fz_chunks_init(&c, plan, len);

    for (off = 0; off < len; off += n) {
        n = chunked ? fz_chunks_next(&c, len - off) : len - off;

        copy = fz_copy(body + off, n);
        (void) llmr_xans_feed(fz_xans, (const char *) copy, n);
        free(copy);

        fz_take(o);
    }

    fz_assert(llmr_xans_finish(fz_xans) == LLMR_OK, "finish failed");
    fz_take(o);

    o->status = llmr_xans_status(fz_xans);
    o->complete = llmr_xans_complete(fz_xans);
}


static void
fz_valid(const fz_out_t *o, int sse)
{
    size_t                n;
    const unsigned char  *p, *end, *eol;

    if (!sse) {
        fz_assert(llmr_jdoc_parse(&fz_doc, (const char *) o->data, o->len)
                  == LLMR_OK, "JSON output does not parse: %.*s",
                  (int) o->len, o->data);
        return;
    }

    end = o->data + o->len;

    for (p = o->data; p < end; p = eol + 1) {
        eol = memchr(p, '\n', end - p);
        fz_assert(eol != NULL, "the stream's output ends mid-line");

        n = eol - p;

        if (n && p[n - 1] == '\r') {
            n--;
        }

        if (n > 6 && memcmp(p, "data: ", 6) == 0
            && !(n == 12 && memcmp(p + 6, "[DONE]", 6) == 0))
        {
            fz_assert(llmr_jdoc_parse(&fz_doc, (const char *) p + 6, n - 6)
                      == LLMR_OK, "data does not parse: %.*s", (int) n, p);
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t            mem;
    fz_out_t          a, b;
    llmr_xans_conf_t  conf;

    static const int  status[4] = { 200, 200, 429, 500 };

    if (size < 2) {
        return 0;
    }

    if (fz_xans == NULL) {
        fz_xans = llmr_xans_create();
        llmr_jdoc_init(&fz_doc);

        if (fz_xans == NULL) {
            abort();
        }
    }

    memset(&conf, 0, sizeof(llmr_xans_conf_t));
    conf.from = (data[0] & 3) % LLMR_API_N;
    conf.to = ((data[0] >> 2) & 3) % LLMR_API_N;

    if (((data[0] >> 2) & 3) == 3) {
        conf.to_format = LLMR_FMT_OPENAI_RESPONSES;
    }
    conf.stream = (data[0] >> 4) & 1;
    conf.include_usage = (data[0] >> 5) & 1;
    conf.status = status[data[0] >> 6];
    conf.id = "req-1";
    conf.model = "m\"odel";
    conf.created = 1750000000;
    conf.max_event = (data[1] & 0x80) ? 256 : 0;

    fz_run(&conf, data + 2, size - 2, data[1], 0, &a);
    fz_valid(&a, conf.stream && conf.status < 400);

    fz_run(&conf, data + 2, size - 2, data[1], 1, &b);

    fz_assert(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
              "output whole (%zu bytes) and in chunks (%zu) differ",
              a.len, b.len);
    fz_assert(a.status == b.status, "status %d, %d", a.status, b.status);
    fz_assert(a.complete == b.complete, "complete %d, %d", a.complete,
              b.complete);

    llmr_xans_reset(fz_xans, &conf);

    mem = llmr_xans_memory(fz_xans);
    fz_assert(mem < FZ_XANS_MEMORY_MAX, "memory %zu after reset", mem);

    free(a.data);
    free(b.data);

    return 0;
}
