/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The speed of the two stream readers, on big and long inputs: the
 * request extractor (blanks, one long string, base64 image data) and the
 * usage reader (SSE streams of every provider, JSON answers small and
 * large).  Each workload is read in the body filter's buffer sizes, the
 * best of some rounds of CPU time (the machine may be busy with other
 * work) is printed in MB/s, and what was read is checked, so that a fast
 * wrong reader does not pass: the exit status is non-zero then.
 *
 * These loops were in the unit tests, where they made valgrind slow; the
 * unit tests keep one pass of each body for correctness.
 *
 *     make bench-throughput
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/usage.h>


#define ROUNDS  3


static char *json(const char *s);
static char *repeat(const char *head, const char *unit, size_t n,
    const char *tail, size_t *len);
static double cpu(void);
static void report(const char *name, size_t len, size_t chunk,
    unsigned reps, double best);
static int check(int cond, const char *name);
static const llmr_request_t *extract(llmr_extract_t *x, const char *name,
    const char *body, size_t len, size_t chunk, unsigned reps);
static llmr_usage_result_t usage(const char *name, int stream,
    const char *body, size_t len, size_t chunk, unsigned reps,
    size_t *memory);
static void bench_extract(void);
static void bench_usage(void);


static unsigned  failed;


/* ' for " keeps the bodies readable */

static char *
json(const char *s)
{
    char    *p, *q;
    size_t   n;

    n = strlen(s);
    p = malloc(n + 1);

    for (q = p; *s; s++) {
        *q++ = (*s == '\'') ? '"' : *s;
    }

    *q = '\0';

    return p;
}


/* head, n times unit, tail */

static char *
repeat(const char *head, const char *unit, size_t n, const char *tail,
    size_t *len)
{
    char    *b, *p;
    size_t   h, u, t, i;

    h = strlen(head);
    u = strlen(unit);
    t = strlen(tail);

    b = malloc(h + u * n + t + 1);
    memcpy(b, head, h);
    p = b + h;

    for (i = 0; i < n; i++) {
        memcpy(p, unit, u);
        p += u;
    }

    memcpy(p, tail, t + 1);
    *len = h + u * n + t;

    return b;
}


static double
cpu(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
report(const char *name, size_t len, size_t chunk, unsigned reps,
    double best)
{
    printf("%-36s %9.1f ms %7.0f MB/s  (%zu bytes x %u, %zu-byte "
           "buffers)\n", name, best * 1e3 / reps,
           (double) len * reps / best / 1e6, len, reps, chunk);
}


static int
check(int cond, const char *name)
{
    if (!cond) {
        printf("FAILED: %s: wrong result\n", name);
        failed++;
    }

    return cond;
}


/* reps extractions of body in chunk-byte buffers, best of ROUNDS */

static const llmr_request_t *
extract(llmr_extract_t *x, const char *name, const char *body, size_t len,
    size_t chunk, unsigned reps)
{
    int       rc;
    size_t    off, n;
    double    t, best;
    unsigned  i, j;

    best = 0;
    rc = LLMR_OK;

    for (i = 0; i < ROUNDS; i++) {
        t = cpu();

        for (j = 0; j < reps; j++) {
            llmr_extract_reset(x, LLMR_FMT_UNKNOWN);
            rc = LLMR_OK;

            for (off = 0; off < len && rc == LLMR_OK; off += n) {
                n = (len - off < chunk) ? len - off : chunk;
                rc = llmr_extract_feed(x, (const unsigned char *) body + off,
                                       n);
            }

            if (rc == LLMR_OK) {
                rc = llmr_extract_finish(x);
            }
        }

        t = cpu() - t;

        if (best == 0 || t < best) {
            best = t;
        }
    }

    report(name, len, chunk, reps, best);
    check(rc == LLMR_OK, name);

    return llmr_extract_result(x);
}


/* reps reads of a response in chunk-byte buffers, best of ROUNDS */

static llmr_usage_result_t
usage(const char *name, int stream, const char *body, size_t len,
    size_t chunk, unsigned reps, size_t *memory)
{
    size_t               off, n;
    double               t, best;
    unsigned             i, j;
    llmr_usage_t        *u;
    llmr_usage_result_t  r;

    best = 0;
    memset(&r, 0, sizeof(r));

    for (i = 0; i < ROUNDS; i++) {
        t = cpu();

        for (j = 0; j < reps; j++) {
            u = llmr_usage_create(LLMR_FMT_UNKNOWN);
            llmr_usage_set_stream(u, stream);

            for (off = 0; off < len; off += n) {
                n = (len - off < chunk) ? len - off : chunk;
                llmr_usage_feed(u, (const unsigned char *) body + off, n);
            }

            llmr_usage_finish(u);

            r = *llmr_usage_result(u);
            *memory = llmr_usage_memory(u);
            llmr_usage_destroy(u);
        }

        t = cpu() - t;

        if (best == 0 || t < best) {
            best = t;
        }
    }

    report(name, len, chunk, reps, best);

    return r;
}


static void
bench_extract(void)
{
    char                  *body;
    size_t                 len, n, i;
    llmr_extract_t        *x;
    const llmr_request_t  *r;

    static const size_t  chunks[] = { 65536, 8192, 1000, 1 << 20 };

    x = llmr_extract_create(NULL);

    /* 10 MB of blanks around and inside the object */

    n = 10 * 1024 * 1024;
    body = repeat("", " ", n + 64, "", &len);
    body[5 * 1024 * 1024] = '{';
    strcpy(body + n, "\"model\":\"m\",\"prompt\":\"hello\"}\n\t ");
    len = strlen(body);

    r = extract(x, "extract: 10 MB of blanks", body, len, 65536, 1);
    check(r->model_key_end == (off_t) n + 7, "extract: 10 MB of blanks");
    free(body);

    /* one 5 MB string, then the model */

    n = 5 * 1024 * 1024;
    body = repeat("{\"messages\":[{\"role\":\"user\",\"content\":\"", "a", n,
                  "\"}],\"model\":\"gpt-4o\"}", &len);

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        r = extract(x, "extract: a 5 MB string", body, len, chunks[i], 1);
        check(r->text_bytes == n && r->model_end == (off_t) len - 1,
              "extract: a 5 MB string");
    }

    free(body);

    /* 5 MB of base64 image data, not text */

    body = repeat("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                  "\"image_url\",\"image_url\":{\"url\":\"data:image/png;"
                  "base64,", "Q", n, "\"}},{\"type\":\"text\",\"text\":"
                  "\"what is this?\"}]}]}", &len);
    r = extract(x, "extract: a 5 MB image", body, len, 16384, 1);
    check(r->images == 1 && r->text_bytes == 13, "extract: a 5 MB image");
    free(body);

    llmr_extract_destroy(x);
}


static void
bench_usage(void)
{
    char                 *body, *ev;
    size_t                len, n, mem;
    llmr_usage_result_t   r;

    /* one 10 MB JSON answer */

    n = 10 * 1024 * 1024;
    body = repeat("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
                  "\"choices\":[{\"index\":0,\"message\":{\"role\":"
                  "\"assistant\",\"content\":\"", "The quick brown fox. ",
                  n / 21, "\"},\"finish_reason\":\"length\"}],\"usage\":"
                  "{\"prompt_tokens\":12,\"completion_tokens\":2500000}}",
                  &len);
    r = usage("usage: a 10 MB JSON answer", 0, body, len, 65536, 1, &mem);
    check(r.text_bytes == n / 21 * 21 && r.output_tokens == 2500000,
          "usage: a 10 MB JSON answer");
    free(body);

    /* 5 MB in one SSE data line */

    body = repeat("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"",
                  "0123456789\\\"\\n\\u4e2d", 5 * 1024 * 1024 / 20,
                  "\"}}]}\n\ndata: [DONE]\n\n", &len);
    r = usage("usage: a 5 MB SSE data line", 1, body, len, 4096, 1, &mem);
    check(r.text_bytes == 5 * 1024 * 1024 / 20 * 15 && r.events == 2,
          "usage: a 5 MB SSE data line");
    free(body);

    /* 100,000 OpenAI chunks, the usage chunk and [DONE] */

    body = repeat("", "data: {'id':'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',"
                  "'object':'chat.completion.chunk','created':1741570283,"
                  "'model':'gpt-4o-mini-2024-07-18','service_tier':'default',"
                  "'system_fingerprint':'fp_06737a9306','choices':[{'index':"
                  "0,'delta':{'content':' token'},'logprobs':null,"
                  "'finish_reason':null}],'usage':null}\n\n", 100000,
                  "data: {'choices':[],'usage':{'prompt_tokens':8,"
                  "'completion_tokens':2}}\n\ndata: [DONE]\n\n", &len);
    ev = json(body);
    free(body);
    body = ev;

    r = usage("usage: OpenAI SSE, 100k chunks", 1, body, len, 16384, 1, &mem);
    check(r.events == 100002 && r.text_bytes == 600000 && r.complete
          && r.bad_events == 0, "usage: OpenAI SSE, 100k chunks");
    printf("%-36s %9zu bytes\n", "usage: peak memory of a reader", mem);
    free(body);

    /* 100,000 Anthropic text deltas */

    ev = json("event: content_block_delta\ndata: {'type':"
              "'content_block_delta','index':0,'delta':{'type':'text_delta',"
              "'text':' token'}}\n\n");
    body = repeat("", ev, 100000, "", &len);
    free(ev);
    r = usage("usage: Anthropic SSE, 100k deltas", 1, body, len, 16384, 1,
              &mem);
    check(r.events == 100000 && r.text_bytes == 600000,
          "usage: Anthropic SSE, 100k deltas");
    free(body);

    /* 50,000 Gemini chunks */

    ev = json("data: {'candidates':[{'content':{'parts':[{'text':'The'}],"
              "'role':'model'},'index':0}],'usageMetadata':"
              "{'promptTokenCount':9,'totalTokenCount':9,"
              "'promptTokensDetails':[{'modality':'TEXT','tokenCount':9}]},"
              "'modelVersion':'gemini-2.0-flash','responseId':"
              "'W8nJaMX4Jq6Wz7IP'}\r\n\r\n");
    body = repeat("", ev, 50000, "", &len);
    free(ev);
    r = usage("usage: Gemini SSE, 50k chunks", 1, body, len, 16384, 1, &mem);
    check(r.events == 50000 && r.text_bytes == 150000,
          "usage: Gemini SSE, 50k chunks");
    free(body);

    /* a typical JSON answer of about 4 KB */

    body = repeat("{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\","
                  "\"object\":\"chat.completion\",\"created\":1741569952,"
                  "\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":"
                  "0,\"message\":{\"role\":\"assistant\",\"content\":\"",
                  "Here is a paragraph of answer, with \\\"quotes\\\" and a "
                  "newline.\\n", 50, "\",\"refusal\":null,\"annotations\":"
                  "[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                  "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,"
                  "\"total_tokens\":29,\"prompt_tokens_details\":"
                  "{\"cached_tokens\":0,\"audio_tokens\":0},"
                  "\"completion_tokens_details\":{\"reasoning_tokens\":0,"
                  "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
                  "\"rejected_prediction_tokens\":0}},\"service_tier\":"
                  "\"default\",\"system_fingerprint\":\"fp_50cad350e4\"}",
                  &len);
    r = usage("usage: JSON, 4 KB answers", 0, body, len, 16384, 3000, &mem);
    check(r.complete && r.done && r.text_bytes == 50 * 60,
          "usage: JSON, 4 KB answers");
    free(body);

    /* a JSON answer of 1 MB: mostly the long-string lexer */

    n = 1024 * 1024 / 21;
    body = repeat("{\"choices\":[{\"index\":0,\"message\":{\"content\":\"",
                  "The quick brown fox. ", n, "\"}}],\"usage\":"
                  "{\"prompt_tokens\":1,\"completion_tokens\":2}}", &len);
    r = usage("usage: JSON, 1 MB answers", 0, body, len, 16384, 20, &mem);
    check(r.text_bytes == n * 21, "usage: JSON, 1 MB answers");
    free(body);
}


int
main(void)
{
    printf("best of %d rounds, CPU time\n", ROUNDS);

    bench_extract();
    bench_usage();

    return failed ? 1 : 0;
}
