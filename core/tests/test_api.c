
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/api.h>
#include <llmr/extract.h>
#include <llmr/policy.h>
#include <llmr/registry.h>

#include "tap.h"


static void test_endpoints(void);
static void test_uri(void);
static void test_errors(void);
static void test_registry(void);
static void test_route(void);

static const char *uri(const char *path, int post, unsigned hints, int api,
    const char *base, const char *id, const char *args, int strip_key);
static int add_line(llmr_registry_t *reg, const char *line, char *err,
    size_t errlen);
static const char *route(llmr_registry_t *reg, unsigned apis,
    const char *prefer, unsigned caps, int tier, llmr_decision_t *d);
static int has_reason(const llmr_decision_t *d, const char *reason);
static void body(char *buf, size_t n);
static int str_is(llmr_str_t s, const char *want);


int
main(void)
{
    test_endpoints();
    test_uri();
    test_errors();
    test_registry();
    test_route();

    return tap_done();
}


static void
test_endpoints(void)
{
    size_t            i;
    llmr_endpoint_t   ep;

    static const struct {
        const char  *path;
        int          post;
        unsigned     hints;
        int          api;
        int          kind;
        int          format;
    } cases[] = {
        { "/v1/chat/completions", 1, 0, LLMR_API_OPENAI, LLMR_EP_GENERATE,
          LLMR_FMT_OPENAI_CHAT },
        { "/openai/v1/chat/completions/", 1, 0, LLMR_API_OPENAI,
          LLMR_EP_GENERATE, LLMR_FMT_OPENAI_CHAT },
        { "/v1/completions", 1, 0, LLMR_API_OPENAI, LLMR_EP_GENERATE,
          LLMR_FMT_OPENAI_COMPLETIONS },
        { "/v1/responses", 1, 0, LLMR_API_OPENAI, LLMR_EP_GENERATE,
          LLMR_FMT_OPENAI_RESPONSES },
        { "/v1/responses/input_tokens", 1, 0, LLMR_API_OPENAI,
          LLMR_EP_COUNT_TOKENS, LLMR_FMT_UNKNOWN },
        { "/v1/responses/resp_123", 0, 0, LLMR_API_OPENAI, LLMR_EP_OTHER,
          LLMR_FMT_UNKNOWN },
        { "/v1/chat/completions", 0, 0, LLMR_API_OPENAI, LLMR_EP_OTHER,
          LLMR_FMT_UNKNOWN },
        { "/v1/embeddings", 1, 0, LLMR_API_OPENAI, LLMR_EP_EMBEDDINGS,
          LLMR_FMT_UNKNOWN },
        { "/v1/moderations", 1, 0, LLMR_API_OPENAI, LLMR_EP_MODERATIONS,
          LLMR_FMT_UNKNOWN },
        { "/v1/models", 0, 0, LLMR_API_OPENAI, LLMR_EP_MODELS,
          LLMR_FMT_UNKNOWN },
        { "/v1/models/gpt-4o", 0, 0, LLMR_API_OPENAI, LLMR_EP_MODELS,
          LLMR_FMT_UNKNOWN },
        { "/v1/files", 1, 0, LLMR_API_OPENAI, LLMR_EP_FILES,
          LLMR_FMT_UNKNOWN },
        { "/v1/audio/speech", 1, 0, LLMR_API_OPENAI, LLMR_EP_AUDIO,
          LLMR_FMT_UNKNOWN },
        { "/v1/images/generations", 1, 0, LLMR_API_OPENAI, LLMR_EP_IMAGES,
          LLMR_FMT_UNKNOWN },
        { "/v1/threads/t1/messages", 1, 0, LLMR_API_OPENAI, LLMR_EP_OTHER,
          LLMR_FMT_UNKNOWN },
        { "/v1/messages", 1, 0, LLMR_API_ANTHROPIC, LLMR_EP_GENERATE,
          LLMR_FMT_ANTHROPIC },
        { "/v1/messages/count_tokens", 1, 0, LLMR_API_ANTHROPIC,
          LLMR_EP_COUNT_TOKENS, LLMR_FMT_UNKNOWN },
        { "/v1/messages/batches", 1, 0, LLMR_API_ANTHROPIC,
          LLMR_EP_BATCHES, LLMR_FMT_UNKNOWN },
        { "/v1/models", 0, LLMR_HINT_ANTHROPIC, LLMR_API_ANTHROPIC,
          LLMR_EP_MODELS, LLMR_FMT_UNKNOWN },
        { "/v1beta/models/gemini-2.0-flash:generateContent", 1, 0,
          LLMR_API_GEMINI, LLMR_EP_GENERATE, LLMR_FMT_GEMINI },
        { "/v1beta/models/gemini-2.0-flash:streamGenerateContent", 1, 0,
          LLMR_API_GEMINI, LLMR_EP_GENERATE, LLMR_FMT_GEMINI },
        { "/v1beta/models/gemini-2.0-flash:countTokens", 1, 0,
          LLMR_API_GEMINI, LLMR_EP_COUNT_TOKENS, LLMR_FMT_UNKNOWN },
        { "/v1beta/models/text-embedding-004:embedContent", 1, 0,
          LLMR_API_GEMINI, LLMR_EP_EMBEDDINGS, LLMR_FMT_UNKNOWN },
        { "/v1beta/models/gemini-2.0-flash:generateContentX", 1, 0,
          LLMR_API_GEMINI, LLMR_EP_MODELS, LLMR_FMT_UNKNOWN },
        { "/v1beta/models", 0, 0, LLMR_API_GEMINI, LLMR_EP_MODELS,
          LLMR_FMT_UNKNOWN },
        { "/v1/models", 0, LLMR_HINT_GEMINI, LLMR_API_GEMINI,
          LLMR_EP_MODELS, LLMR_FMT_UNKNOWN },
        { "/v1beta/files", 1, 0, LLMR_API_GEMINI, LLMR_EP_FILES,
          LLMR_FMT_UNKNOWN },
        { "/", 0, 0, LLMR_API_OPENAI, LLMR_EP_OTHER, LLMR_FMT_UNKNOWN },
        { "", 1, 0, LLMR_API_OPENAI, LLMR_EP_GENERATE, LLMR_FMT_UNKNOWN },
        { "/:", 1, 0, LLMR_API_OPENAI, LLMR_EP_GENERATE, LLMR_FMT_UNKNOWN },
        { "/llm/x", 1, 0, LLMR_API_OPENAI, LLMR_EP_GENERATE,
          LLMR_FMT_UNKNOWN },
        { "/llm/x", 0, 0, LLMR_API_OPENAI, LLMR_EP_OTHER, LLMR_FMT_UNKNOWN },
        { "/v1/whatever", 1, 0, LLMR_API_OPENAI, LLMR_EP_OTHER,
          LLMR_FMT_UNKNOWN },
        { "/v1beta/models/:generateContent", 1, 0, LLMR_API_GEMINI,
          LLMR_EP_MODELS, LLMR_FMT_UNKNOWN },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        llmr_endpoint_parse(cases[i].path, strlen(cases[i].path),
                            cases[i].post, cases[i].hints, &ep);

        ok(ep.api == cases[i].api && ep.kind == cases[i].kind
           && ep.format == cases[i].format,
           "%s %s: %s %s (format %d)", cases[i].post ? "POST" : "GET",
           cases[i].path, llmr_api_name(ep.api),
           llmr_endpoint_kind_name(ep.kind), ep.format);
    }

    llmr_endpoint_parse(SL("/v1beta/models/gemini-2.0-flash:"
                           "streamGenerateContent?alt=sse"), 1, 0, &ep);
    ok(ep.stream && str_is(ep.model, "gemini-2.0-flash")
       && str_is(ep.method, "streamGenerateContent")
       && str_is(ep.root, "/v1beta"),
       "a Gemini stream: its model, method and root; the query is not");

    llmr_endpoint_parse(SL("/v1beta/models/gemini-2.0-flash:generateContent"),
                        1, 0, &ep);
    ok(!ep.stream, "generateContent does not stream");

    is_str(llmr_api_name(LLMR_API_GEMINI), "gemini", "api names");
    is_str(llmr_api_name(7), "unknown", "an API out of range");
    is_int(llmr_api_parse(SL("anthropic")), LLMR_API_ANTHROPIC,
           "api=anthropic");
    is_int(llmr_api_parse(SL("anthro")), -1, "a prefix is not an API");
    is_int(llmr_api_of_provider(SL("vllm")), LLMR_API_OPENAI,
           "vllm speaks OpenAI's API");
    is_int(llmr_api_of_provider(SL("google")), LLMR_API_GEMINI,
           "google speaks Gemini's");
    is_int(llmr_api_of_provider(SL("acme")), -1, "acme: not known");
    is_str(llmr_api_default_path(LLMR_API_GEMINI), "/v1beta",
           "Gemini's base path");
}


static void
test_uri(void)
{
    is_str(uri("/v1/chat/completions", 1, 0, LLMR_API_OPENAI, NULL,
               "gpt-4o-mini", NULL, 0),
           "/v1/chat/completions", "same API, no base: the client's path");
    is_str(uri("/v1/chat/completions/", 1, 0, LLMR_API_OPENAI, "/proxy",
               "gpt-4o-mini", NULL, 0),
           "/proxy/chat/completions", "a trailing '/' is not the endpoint's");
    is_str(uri("/openai/v1/chat/completions", 1, 0, LLMR_API_OPENAI, "/v1",
               "gpt-4o-mini", "a=1", 0),
           "/v1/chat/completions?a=1", "a base path and the endpoint");
    is_str(uri("/v1/responses", 1, 0, LLMR_API_OPENAI, "/openai/deploy",
               "m", NULL, 0),
           "/openai/deploy/responses", "the endpoint is the client's");
    is_str(uri("/v1/messages", 1, 0, LLMR_API_ANTHROPIC, NULL,
               "claude-haiku", "beta=true", 0),
           "/v1/messages?beta=true", "Anthropic, with its query");

    is_str(uri("/v1beta/models/gemini-pro:streamGenerateContent", 1, 0,
               LLMR_API_GEMINI, NULL, "gemini-2.0-flash", "alt=sse&key=K",
               0),
           "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
           "?alt=sse&key=K", "Gemini: the model in the path, the stream "
           "and its query kept");
    is_str(uri("/v1beta/models/gemini-pro:streamGenerateContent", 1, 0,
               LLMR_API_GEMINI, NULL, "gemini-2.0-flash", "key=K&alt=sse",
               1),
           "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
           "the client's key= dropped when the gateway sends its own");
    is_str(uri("/v1beta/models/gemini-pro:generateContent", 1, 0,
               LLMR_API_GEMINI, NULL, "tunedModels/mine", "key=K", 1),
           "/v1beta/tunedModels/mine:generateContent",
           "an id with its collection replaces both");
    is_str(uri("/g/v1beta/models/gemini-pro:generateContent", 1, 0,
               LLMR_API_GEMINI, "/v1", "gemini 2", NULL, 0),
           "/v1/models/gemini%202:generateContent",
           "a base path; what a path cannot carry is escaped");

    is_str(uri("/v1/embeddings", 1, 0, LLMR_API_OPENAI, NULL,
               "gpt-4o-mini", "x=1", 0),
           "/v1/embeddings?x=1", "passthrough: the client's path");
    is_str(uri("/openai/v1/embeddings", 1, 0, LLMR_API_OPENAI, "/v1",
               "gpt-4o-mini", NULL, 0),
           "/v1/embeddings", "passthrough under a base path");
    is_str(uri("/v1beta/models/gemini-pro:countTokens", 1, 0,
               LLMR_API_GEMINI, NULL, "gemini-2.0-flash", "key=K", 1),
           "/v1beta/models/gemini-pro:countTokens",
           "a count keeps the client's model, not its key");

    {
        static char       buf[256];
        size_t            n;
        llmr_endpoint_t   ep;

        llmr_endpoint_parse(SL("/llm/x"), 1, 0, &ep);
        ok(ep.detect && ep.kind == LLMR_EP_GENERATE, "/llm/x: detected");
        llmr_endpoint_set_format(&ep, LLMR_FMT_ANTHROPIC, 0);
        n = llmr_upstream_uri(&ep, SL("/llm/x"), LLMR_API_ANTHROPIC, NULL,
                              "claude", SL("a=b"), 0, buf, sizeof(buf));
        buf[n] = '\0';
        is_str(buf, "/v1/messages?a=b", "a detected Anthropic body: its "
               "API's endpoint");
        llmr_endpoint_set_format(&ep, LLMR_FMT_GEMINI, 0);
        n = llmr_upstream_uri(&ep, SL("/llm/x"), LLMR_API_GEMINI, NULL,
                              "gemini-2.0-flash", NULL, 0, 0, buf,
                              sizeof(buf));
        buf[n] = '\0';
        is_str(buf, "/v1beta/models/gemini-2.0-flash:generateContent",
               "a detected Gemini body");
        is_int(ep.api, LLMR_API_GEMINI, "its API");
        llmr_endpoint_set_format(&ep, LLMR_FMT_UNKNOWN, 0);
        n = llmr_upstream_uri(&ep, SL("/llm/x"), LLMR_API_OPENAI, NULL,
                              "gpt", NULL, 0, 0, buf, sizeof(buf));
        buf[n] = '\0';
        is_str(buf, "/v1/chat/completions", "an unknown format: chat");
    }

    is_str(uri("/v1/messages", 1, 0, LLMR_API_OPENAI, NULL, "gpt-4o",
               NULL, 0),
           "/v1/chat/completions", "another API: its default endpoint");
    is_str(uri("/v1/chat/completions", 1, 0, LLMR_API_GEMINI, NULL,
               "gemini-2.0-flash", NULL, 0),
           "/v1beta/models/gemini-2.0-flash:generateContent",
           "Gemini's default endpoint");

    ok(llmr_upstream_uri_max(20, "/v1", "gpt", 0) >= 3 * 20,
       "the bound covers an escaped path");
}


static void
test_errors(void)
{
    char    buf[1024];
    size_t  n;

    n = llmr_api_error(LLMR_API_OPENAI, 429, "llm_budget_exceeded",
                       SL("over \"budget\""), buf, sizeof(buf));
    body(buf, n);
    is_str(buf, "{\"error\":{\"message\":\"over \\\"budget\\\"\","
           "\"type\":\"rate_limit_error\",\"param\":null,"
           "\"code\":\"llm_budget_exceeded\"}}", "OpenAI's shape, a 429");

    n = llmr_api_error(LLMR_API_ANTHROPIC, 422, "llm_no_model", SL("none"),
                       buf, sizeof(buf));
    body(buf, n);
    ok(n && strncmp(buf, SL("{\"type\":\"error\",\"error\":{\"type\":"
                            "\"invalid_request_error\",\"message\":"
                            "\"none\"")) == 0,
       "Anthropic's shape: %s", buf);

    n = llmr_api_error(LLMR_API_ANTHROPIC, 429, "c", "m", 1, buf,
                       sizeof(buf));
    body(buf, n);
    ok(strstr(buf, "\"rate_limit_error\"") != NULL, "Anthropic 429");

    n = llmr_api_error(LLMR_API_ANTHROPIC, 529, "c", "m", 1, buf,
                       sizeof(buf));
    body(buf, n);
    ok(strstr(buf, "\"overloaded_error\"") != NULL
       || strstr(buf, "\"api_error\"") != NULL, "Anthropic 5xx: %s", buf);

    n = llmr_api_error(LLMR_API_GEMINI, 429, "llm_budget_exceeded", "m", 1,
                       buf, sizeof(buf));
    body(buf, n);
    ok(strncmp(buf, SL("{\"error\":{\"code\":429,\"message\":\"m\","
                       "\"status\":\"RESOURCE_EXHAUSTED\"")) == 0
       && strstr(buf, "\"reason\":\"llm_budget_exceeded\""),
       "Gemini's shape: a numeric code, a status: %s", buf);

    n = llmr_api_error(LLMR_API_GEMINI, 400, "c", "m", 1, buf, sizeof(buf));
    body(buf, n);
    ok(strstr(buf, "\"INVALID_ARGUMENT\"") != NULL, "Gemini 400");

    n = llmr_api_error(LLMR_API_OPENAI, 400, "c", SL("a\x01\n"), buf,
                       sizeof(buf));
    body(buf, n);
    ok(strstr(buf, "\"a\\u0001\\n\"") != NULL, "control bytes escaped: %s",
       buf);

    is_int((int) llmr_api_error(LLMR_API_OPENAI, 400, "c", "m", 1, buf, 10),
           0, "a short buffer: nothing");
    ok(llmr_api_error(LLMR_API_GEMINI, 503, "llm_all_attempts_failed",
                      buf, 200, buf + 200, sizeof(buf) - 200)
       <= llmr_api_error_max("llm_all_attempts_failed", 200),
       "the bound holds");
}


static void
test_registry(void)
{
    char              err[LLMR_ERRSTR_SIZE];
    const llmr_model_t  *m;
    llmr_registry_t  *reg;

    static const char  json[] =
        "[{\"name\":\"g\",\"provider\":\"x\",\"api\":\"gemini\","
        "\"upstream\":\"u\",\"tiers\":\"simple\",\"input\":1,"
        "\"output\":1,\"path\":\"/v1\",\"key_file\":\"k\"}]";

    reg = llmr_registry_create();

    is_int(add_line(reg, "a provider=openai upstream=u tiers=simple input=1 "
                    "output=1", err, sizeof(err)), LLMR_OK, "openai: %s", err);
    is_int(add_line(reg, "b provider=vertex upstream=u tiers=simple "
                    "input=1 output=1 path=/v1/projects/p/locations/l/"
                    "publishers/google", err, sizeof(err)), LLMR_OK,
           "vertex, a base path: %s", err);
    is_int(add_line(reg, "c provider=acme api=anthropic upstream=u "
                    "tiers=simple input=1 output=1 key_file=keys/acme",
                    err, sizeof(err)), LLMR_OK, "acme speaks anthropic: %s",
           err);

    m = llmr_registry_find(reg, "a", 1);
    ok(m && m->api == LLMR_API_OPENAI && m->path == NULL
       && m->key_file == NULL, "the API from the provider");
    m = llmr_registry_find(reg, "b", 1);
    ok(m && m->api == LLMR_API_GEMINI && m->path
       && strcmp(m->path, "/v1/projects/p/locations/l/publishers/google")
          == 0, "vertex is Gemini's, its path kept");
    m = llmr_registry_find(reg, "c", 1);
    ok(m && m->api == LLMR_API_ANTHROPIC && m->key_file
       && strcmp(m->key_file, "keys/acme") == 0, "api= and key_file=");
    is_int((int) reg->apis, (int) LLMR_API_ALL, "the registry's APIs");

    is_int(add_line(reg, "d provider=acme upstream=u tiers=simple input=1 "
                    "output=1", err, sizeof(err)), LLMR_ERROR,
           "an unknown provider without api=");
    ok(strstr(err, "\"acme\"") && strstr(err, "api="), "says so: %s", err);

    is_int(add_line(reg, "d provider=openai api=cohere upstream=u "
                    "tiers=simple input=1 output=1", err, sizeof(err)),
           LLMR_ERROR, "api=cohere refused");
    ok(strstr(err, "cohere") != NULL, "named: %s", err);

    is_int(add_line(reg, "d provider=openai path=v1 upstream=u "
                    "tiers=simple input=1 output=1", err, sizeof(err)),
           LLMR_ERROR, "a path without its leading slash refused");
    is_int(add_line(reg, "d provider=openai path=/v1?x upstream=u "
                    "tiers=simple input=1 output=1", err, sizeof(err)),
           LLMR_ERROR, "a path with a query refused");
    is_int(add_line(reg, "d provider=openai key_file= upstream=u "
                    "tiers=simple input=1 output=1", err, sizeof(err)),
           LLMR_ERROR, "an empty key_file refused");

    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    is_int(llmr_registry_load_json(reg, json, sizeof(json) - 1, err,
                                   sizeof(err)),
           LLMR_OK, "JSON: api, path, key_file: %s",
           err);
    m = llmr_registry_find(reg, "g", 1);
    ok(m && m->api == LLMR_API_GEMINI && m->path && m->key_file,
       "read from JSON");
    llmr_registry_destroy(reg);
}


static void
test_route(void)
{
    char              err[LLMR_ERRSTR_SIZE];
    llmr_decision_t   d;
    llmr_registry_t  *reg;

    reg = llmr_registry_create();

    /* Gemini cheapest at every tier, then OpenAI, then Anthropic */

    add_line(reg, "g-cheap provider=google upstream=g tiers=trivial-expert "
             "input=0.05 output=0.1 caps=vision", err, sizeof(err));
    add_line(reg, "o-mini provider=openai upstream=o tiers=trivial-simple "
             "input=0.15 output=0.6", err, sizeof(err));
    add_line(reg, "o-big provider=openai upstream=o tiers=simple-expert "
             "input=2.5 output=10 caps=vision", err, sizeof(err));
    add_line(reg, "a-haiku provider=anthropic upstream=a "
             "tiers=trivial-moderate input=0.8 output=4", err, sizeof(err));
    add_line(reg, "a-sonnet provider=anthropic upstream=a "
             "tiers=simple-complex input=3 output=15 caps=vision", err,
             sizeof(err));
    add_line(reg, "a-opus provider=anthropic upstream=a tiers=complex-expert "
             "input=15 output=75 caps=vision", err, sizeof(err));
    is_int((int) reg->n, 6, "six models");

    is_str(route(reg, 0, NULL, 0, LLMR_TIER_TRIVIAL, &d), "g-cheap",
           "any API: the cheapest");
    is_str(route(reg, llmr_api_bit(LLMR_API_OPENAI), NULL, 0,
                 LLMR_TIER_TRIVIAL, &d), "o-mini", "OpenAI's cheapest");
    ok(has_reason(&d, "skipped_api"), "the reason says models were "
       "skipped for their API");
    is_str(route(reg, llmr_api_bit(LLMR_API_ANTHROPIC), NULL, 0,
                 LLMR_TIER_SIMPLE, &d), "a-haiku", "Anthropic's");
    is_str(route(reg, llmr_api_bit(LLMR_API_ANTHROPIC), NULL, 0,
                 LLMR_TIER_EXPERT, &d), "a-opus", "Anthropic's, expert");
    is_str(route(reg, llmr_api_bit(LLMR_API_GEMINI), NULL, 0,
                 LLMR_TIER_EXPERT, &d), "g-cheap", "Gemini's");
    ok(!has_reason(&d, "skipped_api"), "nothing skipped for Gemini");

    /* a capability raises the tier: the preference holds there */

    is_str(route(reg, llmr_api_bit(LLMR_API_OPENAI), NULL, LLMR_CAP_VISION,
                 LLMR_TIER_TRIVIAL, &d), "o-big",
           "vision raises OpenAI's trivial request to o-big");
    is_int(d.tier, LLMR_TIER_SIMPLE, "served at simple");
    is_str(route(reg, llmr_api_bit(LLMR_API_OPENAI)
                      | llmr_api_bit(LLMR_API_ANTHROPIC), "anthropic",
                 LLMR_CAP_VISION, LLMR_TIER_TRIVIAL, &d),
           "a-sonnet", "X-LLM-Prefer holds at the tier vision raised to");
    is_int(d.tier, LLMR_TIER_SIMPLE, "served at simple");
    is_str(route(reg, 0, "openai", LLMR_CAP_VISION, LLMR_TIER_TRIVIAL, &d),
           "g-cheap",
           "a preferred provider is not looked for above the tier served");

    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    add_line(reg, "o provider=openai upstream=o tiers=trivial-expert "
             "input=1 output=1", err, sizeof(err));

    is_str(route(reg, llmr_api_bit(LLMR_API_GEMINI), NULL, 0,
                 LLMR_TIER_SIMPLE, &d), "none", "no Gemini model");
    is_int(d.status, 422, "a 422");
    ok(strstr(d.error, "gemini") != NULL, "that says which API: %s",
       d.error);

    llmr_registry_destroy(reg);
}


static const char *
uri(const char *path, int post, unsigned hints, int api, const char *base,
    const char *id, const char *args, int strip_key)
{
    size_t            n, alen;
    llmr_endpoint_t   ep;
    static char       buf[1024];

    alen = args ? strlen(args) : 0;

    llmr_endpoint_parse(path, strlen(path), post, hints, &ep);

    if (llmr_upstream_uri_max(strlen(path), base, id, alen) > sizeof(buf)) {
        return "(too long)";
    }

    n = llmr_upstream_uri(&ep, path, strlen(path), api, base, id, args, alen,
                          strip_key, buf, sizeof(buf));
    buf[n] = '\0';

    return buf;
}


static int
add_line(llmr_registry_t *reg, const char *line, char *err, size_t errlen)
{
    int          rc;
    char        *copy, *tok, *save;
    unsigned     n;
    llmr_str_t   name, args[16];

    copy = strdup(line);
    n = 0;
    name.data = NULL;
    name.len = 0;
    err[0] = '\0';

    for (tok = strtok_r(copy, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save))
    {
        if (name.data == NULL) {
            name.data = tok;
            name.len = strlen(tok);
            continue;
        }

        args[n].data = tok;
        args[n].len = strlen(tok);
        n++;
    }

    rc = llmr_registry_add(reg, &name, args, n, err, errlen);
    free(copy);

    return rc;
}


static const char *
route(llmr_registry_t *reg, unsigned apis, const char *prefer,
    unsigned caps, int tier, llmr_decision_t *d)
{
    llmr_class_t       cls;
    llmr_request_t     req;
    llmr_route_opts_t  opts;

    memset(&cls, 0, sizeof(llmr_class_t));
    memset(&req, 0, sizeof(llmr_request_t));
    cls.tier = tier;
    req.text_bytes = 400;
    req.messages = 1;
    req.max_tokens = -1;
    req.images = (caps & LLMR_CAP_VISION) ? 1 : 0;

    llmr_route_opts_init(&opts);
    opts.apis = apis;
    opts.prefer = prefer;

    if (llmr_route(reg, &req, &cls, &opts, d) != LLMR_OK) {
        return "none";
    }

    return reg->models[d->model].name;
}


static int
has_reason(const llmr_decision_t *d, const char *reason)
{
    unsigned  i;

    for (i = 0; i < d->nreasons; i++) {
        if (strcmp(d->reasons[i], reason) == 0) {
            return 1;
        }
    }

    return 0;
}


/* an error body as a C string, without its final newline */

static void
body(char *buf, size_t n)
{
    if (n && buf[n - 1] == '\n') {
        n--;
    }

    buf[n] = '\0';
}


static int
str_is(llmr_str_t s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.data, want, s.len) == 0;
}
