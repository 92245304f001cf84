
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/api.h>
#include "../src/llmr_sse.h"
#include "../src/llmr_jdoc.h"

#include "tap.h"


static void test_boundary(void);
static void test_boundary_chunked(void);
static void test_stream_error(void);
static size_t cut_whole(const char *s);


int
main(void)
{
    test_boundary();
    test_boundary_chunked();
    test_stream_error();

    return tap_done();
}


/* the boundary of a stream fed in one piece */

static size_t
cut_whole(const char *s)
{
    unsigned  st;

    st = 0;

    return llmr_sse_boundary(&st, (const unsigned char *) s, strlen(s));
}


static void
test_boundary(void)
{
    is_int(cut_whole(""), 0, "nothing: no boundary");
    is_int(cut_whole("data: {\"a\":1}"), 0, "half a line");
    is_int(cut_whole("data: {\"a\":1}\n"), 0, "a line, no blank line");
    is_int(cut_whole("data: {\"a\":1}\n\n"), 15, "LF LF ends an event");
    is_int(cut_whole("data: x\r\n\r\n"), 11, "CR LF CR LF, the last LF too");
    is_int(cut_whole("data: x\r\rdata: y"), 9, "CR CR");
    is_int(cut_whole("data: x\n\ndata: y\n\ndata: z"), 18,
           "the last whole event");
    is_int(cut_whole("event: a\ndata: x\n\nevent: b\ndata: y\n"), 18,
           "an event half sent: held back from its name");
    is_int(cut_whole(": ping\n\n"), 8, "a comment ends an event too");
    is_int(cut_whole("data: a\rb\n"), 0, "CR inside a line ends it");
}


/*
 * Fed in two pieces at every point, the bytes held back after the last
 * boundary are the same as fed whole.
 */

static void
test_boundary_chunked(void)
{
    size_t       i, n, whole, c1, c2, last;
    unsigned     st, bad;
    const char  *s;

    static const char  *streams[] = {
        "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n",
        "data: x\r\n\r\ndata: y\r\n\r\ndata: z",
        "event: message_start\ndata: {}\n\nevent: ping\ndata: {}\n\nevent",
        "data: a\r\rdata: b\r\n\r\n\r\n",
    };

    for (n = 0; n < sizeof(streams) / sizeof(streams[0]); n++) {
        s = streams[n];
        whole = cut_whole(s);
        bad = 0;

        for (i = 0; i <= strlen(s); i++) {
            st = 0;
            c1 = llmr_sse_boundary(&st, (const unsigned char *) s, i);
            c2 = llmr_sse_boundary(&st, (const unsigned char *) s + i,
                                   strlen(s) - i);

            last = c2 ? i + c2 : c1;

            /* a CR LF split after the CR may leave its LF to the next */
            if (last != whole && !(last + 1 == whole && s[last] == '\n')) {
                bad++;
            }
        }

        is_int(bad, 0, "stream %zu: every split holds back what one piece "
               "does", n);
    }
}


static void
test_stream_error(void)
{
    char         buf[1024];
    size_t       n, k;
    llmr_jdoc_t  doc;
    const char  *data;

    llmr_jdoc_init(&doc);

    n = llmr_api_stream_error(LLMR_API_OPENAI, 502, "llm_upstream_truncated",
                              SL("the provider's stream ended early"), buf,
                              sizeof(buf));
    buf[n] = '\0';
    ok(n > 0 && strncmp(buf, "data: {\"error\":{", 16) == 0,
       "openai: an error event");
    ok(n > 16 && strcmp(buf + n - 16, "\n\ndata: [DONE]\n\n") == 0,
       "openai: then [DONE]");
    data = buf + 6;
    k = strchr(data, '\n') - data;
    ok(llmr_jdoc_parse(&doc, data, k) == LLMR_OK
       && llmr_jv_get(llmr_jv_get(doc.root, "error"), "message"),
       "openai: the event's data is the error JSON");

    n = llmr_api_stream_error(LLMR_API_ANTHROPIC, 529, "llm_upstream_error",
                              SL("overloaded"), buf, sizeof(buf));
    buf[n] = '\0';
    ok(strncmp(buf, "event: error\ndata: {\"type\":\"error\"", 34) == 0,
       "anthropic: event: error");
    is_str(buf + n - 2, "\n\n", "anthropic: a whole event");
    ok(strstr(buf, "overloaded_error") != NULL, "anthropic: 529 overloaded");

    n = llmr_api_stream_error(LLMR_API_GEMINI, 504, "llm_upstream_timeout",
                              SL("timed out"), buf, sizeof(buf));
    buf[n] = '\0';
    ok(strncmp(buf, "data: {\"error\":{\"code\":504", 26) == 0,
       "gemini: its error");
    ok(strcmp(buf + n - 4, "\r\n\r\n") == 0, "gemini: CR LF CR LF");
    ok(strstr(buf, "\n\r") == NULL || strstr(buf, "}\r\n\r\n") != NULL,
       "gemini: no stray LF");

    is_int(llmr_api_stream_error(LLMR_API_OPENAI, 502, "x", SL("m"), buf,
                                 llmr_api_stream_error_max("x", 1) - 1),
           0, "too small a buffer: 0");
    ok(llmr_api_stream_error(LLMR_API_GEMINI, 502, "x", SL("m"), buf,
                             llmr_api_stream_error_max("x", 1)) > 0,
       "the max is enough");

    llmr_jdoc_free(&doc);
}
