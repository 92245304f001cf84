
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The request translator against golden files: each
 * core/tests/golden/xreq/NAME.in.json is a client's request, and
 * NAME.{openai,anthropic,gemini}.json what each other API is sent, byte
 * for byte; a target the request cannot be written for is named by its
 * blocker below instead.  LLMR_GOLDEN_UPDATE=1 rewrites the files.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/core.h>
#include <llmr/api.h>
#include <llmr/extract.h>
#include <llmr/translate.h>

#include "../src/llmr_jdoc.h"

#include "tap.h"


#define GOLDEN  "core/tests/golden/xreq/"


typedef struct {
    const char                 *name;
    int                         format;
    int                         stream;     /* a Gemini client's path */
    const char                 *blocker[LLMR_API_N];
} xreq_case_t;


static const char  *api_names[LLMR_API_N] = {
    "openai", "anthropic", "gemini"
};

static const char  *models[LLMR_API_N] = {
    "gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"
};


static const xreq_case_t  cases[] = {

    { "openai-text", LLMR_FMT_OPENAI_CHAT, 0, { NULL, NULL, NULL } },
    { "openai-image", LLMR_FMT_OPENAI_CHAT, 0, { NULL, NULL, NULL } },
    { "openai-image-url", LLMR_FMT_OPENAI_CHAT, 0,
      { NULL, NULL, "image_url" } },
    { "openai-tools", LLMR_FMT_OPENAI_CHAT, 0, { NULL, NULL, NULL } },
    { "openai-params", LLMR_FMT_OPENAI_CHAT, 0, { NULL, NULL, NULL } },
    { "openai-json", LLMR_FMT_OPENAI_CHAT, 0,
      { NULL, "response_format", NULL } },
    { "openai-logprobs", LLMR_FMT_OPENAI_CHAT, 0,
      { NULL, "logprobs", "logprobs" } },
    { "openai-unknown", LLMR_FMT_OPENAI_CHAT, 0,
      { NULL, "frobnicate", "frobnicate" } },
    { "openai-first-assistant", LLMR_FMT_OPENAI_CHAT, 0,
      { NULL, "frequency_penalty", NULL } },

    { "anthropic-text", LLMR_FMT_ANTHROPIC, 0, { NULL, NULL, NULL } },
    { "anthropic-image", LLMR_FMT_ANTHROPIC, 0, { NULL, NULL, NULL } },
    { "anthropic-image-url", LLMR_FMT_ANTHROPIC, 0,
      { NULL, NULL, "image_url" } },
    { "anthropic-tools", LLMR_FMT_ANTHROPIC, 0, { NULL, NULL, NULL } },
    { "anthropic-params", LLMR_FMT_ANTHROPIC, 0, { NULL, NULL, NULL } },
    { "anthropic-topk", LLMR_FMT_ANTHROPIC, 0, { "top_k", NULL, NULL } },
    { "anthropic-thinking", LLMR_FMT_ANTHROPIC, 0,
      { "thinking", NULL, "thinking" } },
    { "anthropic-document", LLMR_FMT_ANTHROPIC, 0,
      { "document", NULL, "document" } },

    { "gemini-text", LLMR_FMT_GEMINI, 0, { NULL, NULL, NULL } },
    { "gemini-snake", LLMR_FMT_GEMINI, 0, { NULL, NULL, NULL } },
    { "gemini-image", LLMR_FMT_GEMINI, 0, { NULL, NULL, NULL } },
    { "gemini-tools", LLMR_FMT_GEMINI, 0, { NULL, NULL, NULL } },
    { "gemini-params", LLMR_FMT_GEMINI, 1, { NULL, NULL, NULL } },
    { "gemini-json", LLMR_FMT_GEMINI, 0,
      { NULL, "seed", NULL } },
    { "gemini-topk", LLMR_FMT_GEMINI, 0, { "topK", NULL, NULL } },
    { "gemini-search", LLMR_FMT_GEMINI, 0,
      { "googleSearch", "googleSearch", NULL } },
    { "gemini-cached", LLMR_FMT_GEMINI, 0,
      { "cachedContent", "cachedContent", NULL } },

    /* OpenAI's Responses API: an OpenAI model serves it as it is */
    { "responses-text", LLMR_FMT_OPENAI_RESPONSES, 0, { NULL, NULL, NULL } },
    { "responses-items", LLMR_FMT_OPENAI_RESPONSES, 0,
      { NULL, NULL, NULL } },
    { "responses-tools", LLMR_FMT_OPENAI_RESPONSES, 0,
      { NULL, NULL, NULL } },
    { "responses-image", LLMR_FMT_OPENAI_RESPONSES, 0,
      { NULL, NULL, NULL } },
    { "responses-image-url", LLMR_FMT_OPENAI_RESPONSES, 0,
      { NULL, NULL, "image_url" } },
    { "responses-json", LLMR_FMT_OPENAI_RESPONSES, 0,
      { NULL, "text.format", NULL } },
    { "responses-previous", LLMR_FMT_OPENAI_RESPONSES, 0,
      { NULL, "previous_response_id", "previous_response_id" } },
    { "responses-reasoning", LLMR_FMT_OPENAI_RESPONSES, 0,
      { NULL, "reasoning", "reasoning" } },
    { "responses-websearch", LLMR_FMT_OPENAI_RESPONSES, 0,
      { NULL, "web_search", "web_search" } },
};

#define NCASES  (sizeof(cases) / sizeof(cases[0]))


static int  update;


static char *
read_file(const char *path, size_t *len)
{
    long   n;
    char  *s;
    FILE  *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    s = malloc(n + 1);

    if (s == NULL || fread(s, 1, n, f) != (size_t) n) {
        free(s);
        fclose(f);
        return NULL;
    }

    fclose(f);
    s[n] = '\0';
    *len = n;

    return s;
}


static void
conf_for(llmr_xreq_conf_t *conf, int api)
{
    memset(conf, 0, sizeof(llmr_xreq_conf_t));
    conf->api = api;
    conf->model = models[api];
    conf->model_len = strlen(models[api]);
    conf->max_tokens = 1024;
    conf->include_usage = 1;
}


static int
api_of(int format)
{
    return format == LLMR_FMT_ANTHROPIC ? LLMR_API_ANTHROPIC
           : format == LLMR_FMT_GEMINI ? LLMR_API_GEMINI : LLMR_API_OPENAI;
}


static void
check_golden(const xreq_case_t *c, int api, const char *out, size_t len)
{
    char         path[256];
    char        *want;
    size_t       wlen;
    FILE        *f;
    llmr_jdoc_t  d;

    snprintf(path, sizeof(path), GOLDEN "%s.%s.json", c->name,
             api_names[api]);

    if (update) {
        f = fopen(path, "wb");
        ok(f != NULL && fwrite(out, 1, len, f) == len, "%s: written", path);

        if (f) {
            fclose(f);
        }
    }

    want = read_file(path, &wlen);

    ok(want != NULL && wlen == len && memcmp(want, out, len) == 0,
       "%s -> %s: as %s", c->name, api_names[api], path);

    if (want == NULL || wlen != len || memcmp(want, out, len) != 0) {
        printf("# got: %.*s\n", (int) len, out);
    }

    free(want);

    llmr_jdoc_init(&d);
    ok(llmr_jdoc_parse(&d, out, len) == LLMR_OK
       && d.root->type == LLMR_V_MAP, "%s -> %s: JSON", c->name,
       api_names[api]);
    llmr_jdoc_free(&d);
}


static void
test_case(llmr_xreq_t *x, const xreq_case_t *c)
{
    int                api, own, rc, k;
    char               path[256], *body, *first[LLMR_API_N];
    size_t             len, olen, flen[LLMR_API_N];
    const char        *out, *b;
    llmr_xreq_conf_t   conf;

    snprintf(path, sizeof(path), GOLDEN "%s.in.json", c->name);

    body = read_file(path, &len);
    if (!ok(body != NULL, "%s: read", path)) {
        return;
    }

    own = api_of(c->format);

    rc = llmr_xreq_parse(x, c->format, body, len);
    if (!is_int(rc, LLMR_OK, "%s: parsed (%s)", c->name,
                rc == LLMR_OK ? "" : llmr_xreq_error(x)))
    {
        free(body);
        return;
    }

    if (c->stream) {
        llmr_xreq_set_stream(x, 1);
    }

    ok(llmr_xreq_blocker(x, own) == NULL, "%s: its own API never blocks",
       c->name);

    memset(first, 0, sizeof(first));

    /* every target twice, in turn: the writes must not disturb another */

    for (k = 0; k < 2 * LLMR_API_N; k++) {
        api = k % LLMR_API_N;

        if (api == own) {
            conf_for(&conf, api);
            if (k < LLMR_API_N) {
                is_int(llmr_xreq_write(x, &conf, &out, &olen), LLMR_DECLINED,
                       "%s -> %s: the same API declined", c->name,
                       api_names[api]);
            }

            continue;
        }

        b = llmr_xreq_blocker(x, api);

        if (k < LLMR_API_N) {
            is_str(b ? b : "(none)", c->blocker[api] ? c->blocker[api]
                                                     : "(none)",
                   "%s -> %s: blocker", c->name, api_names[api]);
        }

        conf_for(&conf, api);
        rc = llmr_xreq_write(x, &conf, &out, &olen);

        if (b != NULL) {
            if (k < LLMR_API_N) {
                is_int(rc, LLMR_DECLINED, "%s -> %s: declined", c->name,
                       api_names[api]);
            }

            continue;
        }

        if (!is_int(rc, LLMR_OK, "%s -> %s: written", c->name,
                    api_names[api]))
        {
            continue;
        }

        if (k < LLMR_API_N) {
            check_golden(c, api, out, olen);

            first[api] = malloc(olen ? olen : 1);
            memcpy(first[api], out, olen);
            flen[api] = olen;

        } else {
            ok(first[api] != NULL && flen[api] == olen
               && memcmp(first[api], out, olen) == 0,
               "%s -> %s: written again, the same", c->name,
               api_names[api]);
        }
    }

    for (api = 0; api < LLMR_API_N; api++) {
        free(first[api]);
    }

    free(body);
}


static void
test_errors(llmr_xreq_t *x)
{
    size_t             len;
    const char        *out;
    llmr_xreq_conf_t   conf;

    ok(llmr_xreq_format_ok(LLMR_FMT_OPENAI_CHAT)
       && llmr_xreq_format_ok(LLMR_FMT_ANTHROPIC)
       && llmr_xreq_format_ok(LLMR_FMT_GEMINI)
       && llmr_xreq_format_ok(LLMR_FMT_OPENAI_RESPONSES)
       && !llmr_xreq_format_ok(LLMR_FMT_OPENAI_COMPLETIONS)
       && !llmr_xreq_format_ok(LLMR_FMT_UNKNOWN), "format_ok");

    is_int(llmr_xreq_parse(x, LLMR_FMT_OPENAI_COMPLETIONS, SL("{}")),
           LLMR_DECLINED, "completions: not translated");

    conf_for(&conf, LLMR_API_ANTHROPIC);
    is_int(llmr_xreq_write(x, &conf, &out, &len), LLMR_ERROR,
           "no write without a parse");

#define bad(fmt, body, msg)                                                   \
    is_int(llmr_xreq_parse(x, fmt, SL(body)), LLMR_ERROR, "refused: %s",      \
           body);                                                             \
    is_str(llmr_xreq_error(x), msg, "error for %s", body)

    bad(LLMR_FMT_OPENAI_CHAT, "[]", "body: not an object");
    bad(LLMR_FMT_OPENAI_CHAT, "{\"messages\":", "body: a value was expected");
    bad(LLMR_FMT_OPENAI_CHAT, "{}", "messages: missing");
    bad(LLMR_FMT_OPENAI_CHAT, "{\"messages\":{}}", "messages: not an array");
    bad(LLMR_FMT_OPENAI_CHAT, "{\"messages\":[],\"temperature\":\"1\"}",
        "temperature: not a number");
    bad(LLMR_FMT_OPENAI_CHAT, "{\"messages\":[{\"role\":\"user\","
        "\"content\":1}]}", "messages.content: not a string or an array");
    bad(LLMR_FMT_OPENAI_CHAT, "{\"messages\":[{\"role\":\"assistant\","
        "\"tool_calls\":[{\"id\":1}]}]}",
        "tool_calls: not {id, function: {name, arguments}}");
    bad(LLMR_FMT_ANTHROPIC, "{\"messages\":[{\"role\":\"bot\"}]}",
        "messages.role: not user or assistant");
    bad(LLMR_FMT_ANTHROPIC, "{\"messages\":[],\"stream\":1}",
        "stream: not a boolean");
    bad(LLMR_FMT_GEMINI, "{\"contents\":[{\"parts\":{}}]}",
        "contents.parts: not an array");
    bad(LLMR_FMT_GEMINI, "{\"contents\":[],\"generationConfig\":"
        "{\"topP\":true}}", "topP: not a number");
    bad(LLMR_FMT_OPENAI_RESPONSES, "{\"input\":1}",
        "input: not a string or an array");
    bad(LLMR_FMT_OPENAI_RESPONSES, "{\"input\":[{\"role\":\"bot\"}]}",
        "input.role: unknown");
    bad(LLMR_FMT_OPENAI_RESPONSES, "{\"input\":[{\"type\":"
        "\"function_call\",\"name\":\"f\"}]}",
        "input.function_call: not {call_id, name, arguments}");
    bad(LLMR_FMT_OPENAI_RESPONSES, "{\"input\":\"x\",\"text\":"
        "{\"format\":{\"type\":\"yaml\"}}}", "text.format.type: unknown");
    bad(LLMR_FMT_OPENAI_RESPONSES, "{\"input\":\"x\",\"store\":1}",
        "store: not a boolean");

#undef bad

    /* arguments that are no JSON map block the APIs that take a map */

    is_int(llmr_xreq_parse(x, LLMR_FMT_OPENAI_CHAT,
                           SL("{\"messages\":[{\"role\":\"assistant\","
                              "\"tool_calls\":[{\"id\":\"a\",\"type\":"
                              "\"function\",\"function\":{\"name\":\"f\","
                              "\"arguments\":\"{\\\"x\\\":\"}}]}]}")),
           LLMR_OK, "broken arguments parse");
    is_str(llmr_xreq_blocker(x, LLMR_API_ANTHROPIC), "arguments",
           "broken arguments block Anthropic");
    is_str(llmr_xreq_blocker(x, LLMR_API_GEMINI), "arguments",
           "broken arguments block Gemini");

    /* a Responses request without input: the conversation is OpenAI's */

    is_int(llmr_xreq_parse(x, LLMR_FMT_OPENAI_RESPONSES,
                           SL("{\"prompt\":{\"id\":\"pmpt_1\"}}")),
           LLMR_OK, "a prompt template parses");
    is_str(llmr_xreq_blocker(x, LLMR_API_ANTHROPIC), "prompt",
           "a prompt template blocks Anthropic");
    is_str(llmr_xreq_blocker(x, LLMR_API_GEMINI), "prompt",
           "and Gemini");

    is_int(llmr_xreq_parse(x, LLMR_FMT_OPENAI_RESPONSES,
                           SL("{\"input\":\"x\",\"truncation\":\"auto\","
                              "\"reasoning\":{\"effort\":\"low\"}}")),
           LLMR_OK, "truncation auto parses");
    is_str(llmr_xreq_blocker(x, LLMR_API_GEMINI), "truncation",
           "truncation auto blocks");

    is_int(llmr_xreq_parse(x, LLMR_FMT_OPENAI_RESPONSES,
                           SL("{\"input\":[{\"type\":\"function_call_output\","
                              "\"call_id\":\"c9\",\"output\":\"ok\"}]}")),
           LLMR_OK, "a result of no call parses");
    is_str(llmr_xreq_blocker(x, LLMR_API_GEMINI), "call_id",
           "a result of no call blocks Gemini");
    ok(llmr_xreq_blocker(x, LLMR_API_ANTHROPIC) == NULL,
       "not Anthropic");
    ok(llmr_xreq_blocker(x, LLMR_API_OPENAI) == NULL,
       "nor OpenAI, its own");

    ok(llmr_xreq_memory(x) > 0, "memory: %zu", llmr_xreq_memory(x));
}


int
main(void)
{
    size_t        i;
    const char   *u;
    llmr_xreq_t  *x;

    u = getenv("LLMR_GOLDEN_UPDATE");
    update = u != NULL && strcmp(u, "1") == 0;

    x = llmr_xreq_create();
    if (!ok(x != NULL, "create")) {
        return tap_done();
    }

    for (i = 0; i < NCASES; i++) {
        test_case(x, &cases[i]);
    }

    test_errors(x);

    llmr_xreq_destroy(x);

    return tap_done();
}
