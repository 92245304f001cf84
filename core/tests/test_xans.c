
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The answer translator (llmr_xans_*): every provider answer of
 * core/tests/golden/xans/FROM-CASE.in.EXT, translated for each other
 * API's client, is compared with FROM-CASE.TO.EXT (LLMR_GOLDEN_UPDATE=1
 * rewrites them); every output's JSON parses; a stream gives the same
 * bytes however it is cut; the limits end an answer well.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/extract.h>
#include <llmr/translate.h>

#include "../src/llmr_jdoc.h"

#include "tap.h"


#define GOLDEN  "core/tests/golden/xans/"


typedef struct {
    const char                 *name;
    const char                 *ext;
    unsigned                    stream;
    int                         status;
    int                         complete;
} xcase_t;


typedef struct {
    char                       *data;
    size_t                      len;
    int                         rc;         /* LLMR_ERROR if any call */
    int                         status;
    int                         complete;
} xout_t;


static void test_golden(void);
static void test_golden_one(int from, const xcase_t *c, int to,
    const char *in, size_t len);
static int check_chunks(const llmr_xans_conf_t *conf, const char *in,
    size_t len, const xout_t *whole);
static void test_usage_off(void);
static void test_limits(void);
static void test_unreadable(void);
static void test_bad_arguments(void);
static void test_memory(void);
static void test_consume(void);
static void run(const llmr_xans_conf_t *conf, const char *in, size_t len,
    const size_t *cuts, size_t ncuts, xout_t *out);
static int valid_output(const char *p, size_t len, int sse);
static char *read_file(const char *path, size_t *len);
static int write_file(const char *path, const char *data, size_t len);
static void conf_init(llmr_xans_conf_t *conf, int from, int to,
    int stream, int status);


/* the clients: the three APIs, and OpenAI's Responses API */
static const char  *api_names[] = {
    "openai", "anthropic", "gemini", "responses"
};

#define RESPONSES  LLMR_API_N

static const xcase_t  cases[] = {
    { "text", "json", 0, 200, 1 },
    { "tools", "json", 0, 200, 1 },
    { "text", "sse", 1, 200, 1 },
    { "tools", "sse", 1, 200, 1 },
    { "err429", "json", 0, 429, 0 },
    { "err500", "json", 1, 500, 0 },     /* a stream asked, an error came */
    { "streamerr", "sse", 1, 200, 0 },
    { "trunc", "sse", 1, 200, 0 },
    { "length", "json", 0, 200, 1 },     /* max tokens reached */
    { "length", "sse", 1, 200, 1 },
    { NULL, NULL, 0, 0, 0 }
};


static llmr_xans_t  *xa;
static int           update;


int
main(void)
{
    update = getenv("LLMR_GOLDEN_UPDATE") != NULL;

    xa = llmr_xans_create();
    if (xa == NULL) {
        printf("Bail out! no memory\n");
        return 1;
    }

    test_golden();
    test_usage_off();
    test_limits();
    test_unreadable();
    test_bad_arguments();
    test_consume();
    test_memory();

    llmr_xans_destroy(xa);

    return tap_done();
}


static void
test_golden(void)
{
    int             from, to;
    char            path[256];
    char           *in;
    size_t          len;
    const xcase_t  *c;

    for (from = 0; from < LLMR_API_N; from++) {
        for (c = cases; c->name; c++) {
            snprintf(path, sizeof(path), GOLDEN "%s-%s.in.%s",
                     api_names[from], c->name, c->ext);

            in = read_file(path, &len);

            if (!ok(in != NULL, "%s read", path)) {
                continue;
            }

            /* an OpenAI model serves a Responses client itself */
            for (to = 0; to <= RESPONSES; to++) {
                if (to != from
                    && !(to == RESPONSES && from == LLMR_API_OPENAI))
                {
                    test_golden_one(from, c, to, in, len);
                }
            }

            free(in);
        }
    }
}


static void
test_golden_one(int from, const xcase_t *c, int to, const char *in,
    size_t len)
{
    int                sse;
    char               path[256];
    char              *want;
    size_t             want_len;
    xout_t             o;
    llmr_xans_conf_t   conf;

    conf_init(&conf, from, to, c->stream, c->status);

    run(&conf, in, len, NULL, 0, &o);

    sse = c->stream && c->status < 400;

    snprintf(path, sizeof(path), GOLDEN "%s-%s.%s.%s", api_names[from],
             c->name, api_names[to], sse ? "sse" : "json");

    if (update) {
        write_file(path, o.data, o.len);
    }

    want = read_file(path, &want_len);

    ok(want && want_len == o.len && memcmp(want, o.data, o.len) == 0,
       "%s -> %s %s: as %s", api_names[from], api_names[to], c->name, path);

    if (want == NULL || want_len != o.len
        || memcmp(want, o.data, o.len) != 0)
    {
        printf("# got:\n%.*s\n", (int) o.len, o.data);
    }

    ok(valid_output(o.data, o.len, sse), "%s -> %s %s: its JSON parses",
       api_names[from], api_names[to], c->name);

    is_int(o.complete, c->complete, "%s -> %s %s: complete",
           api_names[from], api_names[to], c->name);

    is_int(o.status, c->status == 200 ? 200 : c->status,
           "%s -> %s %s: status", api_names[from], api_names[to], c->name);

    if (sse) {
        ok(check_chunks(&conf, in, len, &o),
           "%s -> %s %s: the same output in any chunking",
           api_names[from], api_names[to], c->name);
    }

    free(want);
    free(o.data);
}


/* every cut in two, byte by byte, and random cuts: the same bytes */

static int
check_chunks(const llmr_xans_conf_t *conf, const char *in, size_t len,
    const xout_t *whole)
{
    size_t    i, k, n, cuts[64];
    xout_t    o;
    uint32_t  state;
    size_t   *all;

#define same(o)                                                               \
    ((o).len == whole->len && memcmp((o).data, whole->data, (o).len) == 0 \
     && (o).complete == whole->complete)

    for (i = 1; i < len; i++) {
        run(conf, in, len, &i, 1, &o);

        if (!same(o)) {
            printf("# cut at %zu differs:\n%.*s\n", i, (int) o.len, o.data);
            free(o.data);
            return 0;
        }

        free(o.data);
    }

    all = malloc(len * sizeof(size_t));
    if (all == NULL) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        all[i] = i + 1;
    }

    run(conf, in, len, all, len ? len - 1 : 0, &o);
    free(all);

    if (!same(o)) {
        printf("# byte by byte differs\n");
        free(o.data);
        return 0;
    }

    free(o.data);

    state = 2463534242u;

    for (k = 0; k < 50; k++) {
        n = 0;

        for (i = 0; n < 64; n++) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;

            i += 1 + state % (k % 3 == 0 ? 7 : 97);

            if (i >= len) {
                break;
            }

            cuts[n] = i;
        }

        run(conf, in, len, cuts, n, &o);

        if (!same(o)) {
            printf("# random cuts %zu differ\n", k);
            free(o.data);
            return 0;
        }

        free(o.data);
    }

#undef same

    return 1;
}


/* an OpenAI client that asked no usage gets none */

static void
test_usage_off(void)
{
    char              *in;
    size_t             len;
    xout_t             o;
    llmr_xans_conf_t   conf;

    in = read_file(GOLDEN "anthropic-text.in.sse", &len);

    if (!ok(in != NULL, "anthropic-text.in.sse read")) {
        return;
    }

    conf_init(&conf, LLMR_API_ANTHROPIC, LLMR_API_OPENAI, 1, 200);
    conf.include_usage = 0;

    run(&conf, in, len, NULL, 0, &o);

    ok(o.len && memmem(o.data, o.len, "\"usage\"", 7) == NULL,
       "no usage chunk without include_usage");
    ok(o.len > 14 && memcmp(o.data + o.len - 14, "data: [DONE]\n\n", 14) == 0,
       "the stream still ends with [DONE]");

    free(o.data);
    free(in);
}


static void
test_limits(void)
{
    int                to;
    char               big[600];
    char              *in;
    size_t             len, n;
    const char        *p;
    llmr_xans_conf_t   conf;

    static const char  stop[] = "event: message_stop\n"
                                "data: {\"type\":\"message_stop\"}\n\n";

    memset(big, 'x', sizeof(big));
    memcpy(big, "data: {\"choices\":[{\"delta\":{\"content\":\"", 39);
    memcpy(big + sizeof(big) - 8, "\"}}]}\n\n", 7);
    big[sizeof(big) - 1] = '\n';

    in = read_file(GOLDEN "openai-text.in.sse", &len);

    if (!ok(in != NULL, "openai-text.in.sse read")) {
        return;
    }

    for (to = LLMR_API_ANTHROPIC; to <= RESPONSES; to++) {
        conf_init(&conf, LLMR_API_OPENAI, to, 1, 200);
        conf.max_event = 512;

        llmr_xans_reset(xa, &conf);

        /* the first events pass, the big one ends the stream */
        n = 600;
        is_int(llmr_xans_feed(xa, in, n), LLMR_OK, "%s: events under the "
               "limit pass", api_names[to]);
        is_int(llmr_xans_feed(xa, big, sizeof(big)), LLMR_ERROR,
               "%s: an event over max_event fails", api_names[to]);
        is_int(llmr_xans_feed(xa, in + n, len - n), LLMR_ERROR,
               "%s: and the rest is ignored", api_names[to]);
        is_int(llmr_xans_finish(xa), LLMR_OK, "%s: finish", api_names[to]);

        p = llmr_xans_output(xa, &n);

        ok(p && valid_output(p, n, 1), "%s: the output after the limit "
           "parses", api_names[to]);
        ok(p && memmem(p, n, "over the limit", 14) != NULL,
           "%s: an error event says why", api_names[to]);
        ok(p && (to != LLMR_API_ANTHROPIC
                 || (n > sizeof(stop) - 1
                     && memcmp(p + n - (sizeof(stop) - 1), stop,
                               sizeof(stop) - 1) == 0))
             && (to != RESPONSES
                 || memmem(p, n, "event: response.failed\n", 23) != NULL),
           "%s: the stream ends as its API's do", api_names[to]);
        ok(!llmr_xans_complete(xa), "%s: not complete", api_names[to]);
    }

    /* a JSON answer over the limit */
    conf_init(&conf, LLMR_API_OPENAI, LLMR_API_GEMINI, 0, 200);
    conf.max_event = 64;
    llmr_xans_reset(xa, &conf);

    is_int(llmr_xans_feed(xa, in, 65), LLMR_ERROR, "a JSON answer over "
           "max_event fails");
    llmr_xans_finish(xa);
    p = llmr_xans_output(xa, &n);
    ok(p && valid_output(p, n, 0) && memmem(p, n, "\"code\":502", 10),
       "a Gemini error, 502");
    is_int(llmr_xans_status(xa), 502, "the status is 502");

    free(in);
}


static void
test_unreadable(void)
{
    size_t             n;
    const char        *p;
    llmr_xans_conf_t   conf;

    conf_init(&conf, LLMR_API_GEMINI, LLMR_API_ANTHROPIC, 0, 200);
    llmr_xans_reset(xa, &conf);
    llmr_xans_feed(xa, SL("{\"candidates\":[{\"content\""));
    llmr_xans_finish(xa);
    p = llmr_xans_output(xa, &n);

    ok(p && valid_output(p, n, 0)
       && memmem(p, n, "\"type\":\"api_error\"", 18)
       && memmem(p, n, "could not be read", 17),
       "an unreadable answer is an Anthropic api_error");
    is_int(llmr_xans_status(xa), 502, "with a 502");

    conf_init(&conf, LLMR_API_ANTHROPIC, LLMR_API_OPENAI, 1, 503);
    llmr_xans_reset(xa, &conf);
    llmr_xans_feed(xa, SL("<html><body>503 Service Unavailable</body></html>"));
    llmr_xans_finish(xa);
    p = llmr_xans_output(xa, &n);

    ok(p && valid_output(p, n, 0)
       && memmem(p, n, "\"type\":\"server_error\"", 21)
       && memmem(p, n, "\"code\":\"llm_upstream_error\"", 27),
       "an unreadable error is an OpenAI server_error");
    is_int(llmr_xans_status(xa), 503, "with the provider's status");

    /* the conf's strings are copied at reset */
    {
        char  id[16], got[32];

        strcpy(id, "req-\"1\"");
        conf_init(&conf, LLMR_API_GEMINI, LLMR_API_OPENAI, 0, 200);
        conf.id = id;
        llmr_xans_reset(xa, &conf);
        strcpy(id, "changed");
        llmr_xans_feed(xa, SL("{\"candidates\":[]}"));
        llmr_xans_finish(xa);
        p = llmr_xans_output(xa, &n);

        got[0] = '\0';

        if (p && n > 20) {
            snprintf(got, sizeof(got), "%.*s", 17, p);
        }

        is_str(got, "{\"id\":\"req-\\\"1\\\"\"",
               "the conf's id, copied and escaped");
    }

    /* a stream of no event at all */
    conf_init(&conf, LLMR_API_OPENAI, LLMR_API_ANTHROPIC, 1, 200);
    llmr_xans_reset(xa, &conf);
    llmr_xans_finish(xa);
    p = llmr_xans_output(xa, &n);

    ok(p && valid_output(p, n, 1)
       && n > 13 && memcmp(p, "event: error\n", 13) == 0
       && memmem(p, n, "message_stop", 12) == NULL,
       "an empty stream: only an error event");
}


/* arguments that are not an object become {} where an object is due */

static void
test_bad_arguments(void)
{
    int                to;
    size_t             n;
    const char        *p;
    llmr_xans_conf_t   conf;

    static const char  body[] =
        "{\"id\":\"c\",\"model\":\"m\",\"created\":1,\"choices\":[{\"index\":0,"
        "\"message\":{\"role\":\"assistant\",\"content\":null,"
        "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\": [1,\"}},"
        "{\"id\":\"call_2\",\"type\":\"function\","
        "\"function\":{\"name\":\"g\",\"arguments\":\"[1]\"}}]},"
        "\"finish_reason\":\"tool_calls\"}]}";

    for (to = LLMR_API_ANTHROPIC; to < LLMR_API_N; to++) {
        conf_init(&conf, LLMR_API_OPENAI, to, 0, 200);
        llmr_xans_reset(xa, &conf);
        llmr_xans_feed(xa, body, sizeof(body) - 1);
        llmr_xans_finish(xa);
        p = llmr_xans_output(xa, &n);

        ok(p && valid_output(p, n, 0)
           && memmem(p, n, to == LLMR_API_ANTHROPIC ? "\"input\":{}}"
                     : "\"args\":{}}", to == LLMR_API_ANTHROPIC ? 11 : 10)
           && memmem(p, n, "[1,", 3) == NULL,
           "%s: arguments that are no object are {}", api_names[to]);
    }
}


static void
test_consume(void)
{
    char              *in;
    size_t             len, n, total, i;
    xout_t             whole;
    const char        *p;
    llmr_xans_conf_t   conf;

    in = read_file(GOLDEN "gemini-text.in.sse", &len);

    if (!ok(in != NULL, "gemini-text.in.sse read")) {
        return;
    }

    conf_init(&conf, LLMR_API_GEMINI, LLMR_API_OPENAI, 1, 200);
    run(&conf, in, len, NULL, 0, &whole);

    /* the client takes 7 bytes at a time, whatever came */
    llmr_xans_reset(xa, &conf);
    total = 0;

    for (i = 0; i < len; i += 16) {
        llmr_xans_feed(xa, in + i, len - i < 16 ? len - i : 16);

        p = llmr_xans_output(xa, &n);

        if (p) {
            n = n < 7 ? n : 7;

            if (total + n > whole.len
                || memcmp(p, whole.data + total, n) != 0)
            {
                break;
            }

            llmr_xans_consume(xa, n);
            total += n;
        }
    }

    llmr_xans_finish(xa);

    while ((p = llmr_xans_output(xa, &n)) != NULL) {
        if (memcmp(p, whole.data + total, n) != 0) {
            break;
        }

        llmr_xans_consume(xa, n);
        total += n;
    }

    is_int(total, whole.len, "consumed in pieces, the same bytes");

    free(whole.data);
    free(in);
}


/* a big answer's buffers are let go at the next reset */

static void
test_memory(void)
{
    char              *body;
    size_t             n, i, len;
    llmr_xans_conf_t   conf;

    len = 2 * 1024 * 1024;

    body = malloc(len + 256);
    if (body == NULL) {
        return;
    }

    n = sprintf(body, "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":"
                "{\"role\":\"assistant\",\"content\":\"");

    for (i = 0; i < len; i++) {
        body[n++] = (i % 80 == 79) ? ' ' : 'a' + i % 26;
    }

    n += sprintf(body + n, "\"},\"finish_reason\":\"stop\"}]}");

    conf_init(&conf, LLMR_API_OPENAI, LLMR_API_ANTHROPIC, 0, 200);
    llmr_xans_reset(xa, &conf);
    llmr_xans_feed(xa, body, n);
    llmr_xans_finish(xa);

    ok(llmr_xans_memory(xa) > len, "a 2 MB answer holds %zu bytes",
       llmr_xans_memory(xa));

    llmr_xans_reset(xa, &conf);

    ok(llmr_xans_memory(xa) < 1024 * 1024, "after reset: %zu bytes",
       llmr_xans_memory(xa));

    free(body);
}


/* the input fed in pieces cut at cuts[], output all taken */

static void
run(const llmr_xans_conf_t *conf, const char *in, size_t len,
    const size_t *cuts, size_t ncuts, xout_t *out)
{
    char        *piece;
    size_t       i, from, to, n, size;
    const char  *p;

    out->len = 0;
    out->rc = LLMR_OK;
    size = 4096;
    out->data = malloc(size);

    llmr_xans_reset(xa, conf);

    for (i = 0, from = 0; i <= ncuts; i++, from = to) {
        to = (i < ncuts) ? cuts[i] : len;

        /* an exact copy: a read past the piece is an ASan report */
        piece = malloc(to - from + 1);
        memcpy(piece, in + from, to - from);

        if (llmr_xans_feed(xa, piece, to - from) != LLMR_OK) {
            out->rc = LLMR_ERROR;
        }

        free(piece);

        if (i == ncuts && llmr_xans_finish(xa) != LLMR_OK) {
            out->rc = LLMR_ERROR;
        }

        p = llmr_xans_output(xa, &n);

        if (p) {
            while (out->len + n > size) {
                size *= 2;
                out->data = realloc(out->data, size);
            }

            memcpy(out->data + out->len, p, n);
            out->len += n;
            llmr_xans_consume(xa, n);
        }
    }

    out->status = llmr_xans_status(xa);
    out->complete = llmr_xans_complete(xa);
}


/* a JSON body parses; in a stream, every data: line but [DONE] does */

static int
valid_output(const char *p, size_t len, int sse)
{
    int           rc;
    size_t        n;
    const char   *end, *eol;
    llmr_jdoc_t   doc;

    llmr_jdoc_init(&doc);

    if (!sse) {
        rc = llmr_jdoc_parse(&doc, p, len) == LLMR_OK;
        llmr_jdoc_free(&doc);
        return rc;
    }

    rc = 1;
    end = p + len;

    for ( /* void */ ; p < end; p = eol + 1) {
        eol = memchr(p, '\n', end - p);

        if (eol == NULL) {
            /* the stream ends with a blank line */
            rc = 0;
            break;
        }

        n = eol - p;

        if (n && p[n - 1] == '\r') {
            n--;
        }

        if (n > 6 && memcmp(p, "data: ", 6) == 0
            && !(n == 12 && memcmp(p + 6, "[DONE]", 6) == 0)
            && llmr_jdoc_parse(&doc, p + 6, n - 6) != LLMR_OK)
        {
            printf("# bad data: %.*s\n", (int) n, p);
            rc = 0;
        }
    }

    llmr_jdoc_free(&doc);

    return rc;
}


static void
conf_init(llmr_xans_conf_t *conf, int from, int to, int stream, int status)
{
    memset(conf, 0, sizeof(llmr_xans_conf_t));

    conf->from = from;
    conf->to = to;

    if (to == RESPONSES) {
        conf->to = LLMR_API_OPENAI;
        conf->to_format = LLMR_FMT_OPENAI_RESPONSES;
    }
    conf->stream = stream;
    conf->include_usage = 1;
    conf->status = status;
    conf->id = "req-7f3a";
    conf->model = "routed-model";
    conf->created = 1750000000;
}


static char *
read_file(const char *path, size_t *len)
{
    long   n;
    char  *p;
    FILE  *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = malloc(n + 1);

    if (p == NULL || fread(p, 1, n, f) != (size_t) n) {
        free(p);
        fclose(f);
        return NULL;
    }

    p[n] = '\0';
    *len = n;
    fclose(f);

    return p;
}


static int
write_file(const char *path, const char *data, size_t len)
{
    FILE  *f;

    f = fopen(path, "wb");
    if (f == NULL) {
        return 0;
    }

    fwrite(data, 1, len, f);
    fclose(f);

    return 1;
}
