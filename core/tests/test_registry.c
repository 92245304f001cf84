
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llmr/registry.h>
#include <llmr/policy.h>

#include "tap.h"


static int
add_line(llmr_registry_t *reg, const char *line, char *err, size_t errlen)
{
    char        *copy, *tok, *save;
    unsigned     n;
    llmr_str_t   name, args[16];

    copy = strdup(line);
    n = 0;
    name.data = NULL;
    name.len = 0;

    for (tok = strtok_r(copy, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save))
    {
        if (name.data == NULL) {
            name.data = tok;
            name.len = strlen(tok);

        } else if (n < 16) {
            args[n].data = tok;
            args[n].len = strlen(tok);
            n++;
        }
    }

    err[0] = '\0';
    n = llmr_registry_add(reg, &name, args, n, err, errlen);

    free(copy);

    return (int) n;
}


static void
test_add(void)
{
    char                 err[LLMR_ERRSTR_SIZE];
    llmr_registry_t     *reg;
    const llmr_model_t  *m;

    reg = llmr_registry_create();

    is_int(add_line(reg, "cheap provider=openai upstream=cheap_pool "
                    "tiers=trivial-simple input=0.15 output=0.60 "
                    "context=128000", err, sizeof(err)), LLMR_OK,
           "a plain model is accepted");

    is_int(add_line(reg, "mid provider=openai upstream=mid_pool "
                    "tiers=simple-complex input=3 output=15 context=200k "
                    "caps=vision,tools id=gpt-4.1", err, sizeof(err)),
           LLMR_OK, "caps, id and a k suffix are accepted");

    is_int(reg->n, 2, "two models");

    m = llmr_registry_find(reg, SL("mid"));
    ok(m != NULL, "found by name");
    is_str(m ? m->id : NULL, "gpt-4.1", "provider id kept");
    is_int(m ? m->context : 0, 200000, "context 200k");
    is_int(m ? m->caps : 0, LLMR_CAP_VISION | LLMR_CAP_TOOLS, "caps");
    is_int(m ? m->tier_lo : -1, LLMR_TIER_SIMPLE, "tier_lo");
    is_int(m ? m->tier_hi : -1, LLMR_TIER_COMPLEX, "tier_hi");

    ok(llmr_registry_find(reg, SL("gpt-4.1")) == m, "found by provider id");
    ok(llmr_registry_find(reg, SL("gpt-4")) == NULL, "no prefix match");

    m = llmr_registry_find(reg, SL("cheap"));
    is_str(m ? m->id : NULL, "cheap", "id defaults to the name");

    is_int(add_line(reg, "cheap provider=openai upstream=x tiers=simple",
                    err, sizeof(err)), LLMR_ERROR, "duplicate model");
    ok(strstr(err, "duplicate model \"cheap\"") != NULL,
       "error names the duplicate: %s", err);

    is_int(add_line(reg, "bad1 provider=openai upstream=x tiers=hard",
                    err, sizeof(err)), LLMR_ERROR, "unknown tier");
    ok(strstr(err, "\"hard\"") != NULL, "error names the tier: %s", err);

    is_int(add_line(reg, "bad2 provider=openai upstream=x "
                    "tiers=complex-trivial", err, sizeof(err)), LLMR_ERROR,
           "inverted range");
    ok(strstr(err, "inverted tier range \"complex-trivial\"") != NULL,
       "error names the range: %s", err);

    is_int(add_line(reg, "bad3 provider=openai upstream=x tiers=simple "
                    "input=-1", err, sizeof(err)), LLMR_ERROR,
           "negative price");
    ok(strstr(err, "\"-1\"") != NULL, "error names the price: %s", err);

    is_int(add_line(reg, "bad4 provider=openai upstream=x tiers=simple "
                    "output=abc", err, sizeof(err)), LLMR_ERROR,
           "garbage price");

    is_int(add_line(reg, "bad5 provider=openai tiers=simple", err,
                    sizeof(err)), LLMR_ERROR, "missing upstream");
    ok(strstr(err, "missing upstream") != NULL, "error says so: %s", err);

    is_int(add_line(reg, "bad6 upstream=x tiers=simple", err, sizeof(err)),
           LLMR_ERROR, "missing provider");

    is_int(add_line(reg, "bad7 provider=openai upstream=x", err,
                    sizeof(err)), LLMR_ERROR, "missing tiers");

    is_int(add_line(reg, "bad8 provider=openai upstream=x tiers=simple "
                    "caps=telepathy", err, sizeof(err)), LLMR_ERROR,
           "unknown capability");

    is_int(add_line(reg, "bad9 provider=openai upstream=x tiers=simple "
                    "colour=red", err, sizeof(err)), LLMR_ERROR,
           "unknown parameter");
    ok(strstr(err, "colour=red") != NULL, "error names it: %s", err);

    is_int(add_line(reg, "bad10 provider=openai upstream=x tiers=simple "
                    "tiers=expert", err, sizeof(err)), LLMR_ERROR,
           "duplicate parameter");

    is_int(add_line(reg, "bad\"name provider=openai upstream=x "
                    "tiers=simple", err, sizeof(err)), LLMR_ERROR,
           "a quote in a name is refused");

    is_int(add_line(reg, "bad11 provider=openai upstream=x tiers=simple "
                    "context=12q", err, sizeof(err)), LLMR_ERROR,
           "bad context");

    is_int(reg->n, 2, "failed lines add nothing");

    llmr_registry_destroy(reg);
}


static void
test_json(void)
{
    int               rc;
    char              err[LLMR_ERRSTR_SIZE], path[] = "/tmp/llmrXXXXXX";
    FILE             *f;
    llmr_registry_t  *reg;

    static const char  good[] =
        "{\"models\": ["
        "{\"name\": \"a\", \"provider\": \"openai\", \"upstream\": \"pa\","
        " \"tiers\": \"trivial-simple\", \"input\": 0.1, \"output\": 0.4,"
        " \"context\": 128000, \"notes\": \"ignored\"},"
        "{\"name\": \"b\", \"provider\": \"anthropic\", \"upstream\": "
        "\"10.0.0.1:443\", \"tiers\": \"complex-expert\", \"input\": 15,"
        " \"output\": 75, \"caps\": [\"vision\", \"tools\"], \"id\": \"x-1\"}"
        "]}";

    static const char  tie[] =
        "[{\"name\": \"a\", \"provider\": \"openai\", \"upstream\": \"pa\","
        " \"tiers\": \"trivial-simple\", \"input\": 3, \"output\": 15},"
        "{\"name\": \"b\", \"provider\": \"anthropic\", \"upstream\": \"pb\","
        " \"tiers\": \"complex-expert\", \"input\": 3, \"output\": 15}]";

    reg = llmr_registry_create();
    rc = llmr_registry_load_json(reg, good, sizeof(good) - 1, err,
                                 sizeof(err));
    is_int(rc, LLMR_OK, "a models file loads: %s", rc ? err : "");
    is_int(reg->n, 2, "two models from JSON");
    is_int(reg->n > 1 ? reg->models[1].caps : 0,
           LLMR_CAP_VISION | LLMR_CAP_TOOLS, "caps from an array");
    ok(reg->n > 1 && reg->models[1].price_out == 75, "numeric price");
    ok(llmr_registry_reference(reg) == &reg->models[1],
       "the reference model is the most expensive");
    llmr_registry_destroy(reg);

    /* of equal prices, the first listed: the reference stays put */

    reg = llmr_registry_create();
    rc = llmr_registry_load_json(reg, tie, sizeof(tie) - 1, err,
                                 sizeof(err));
    is_int(rc, LLMR_OK, "two models of one price load: %s", rc ? err : "");
    ok(reg->n == 2 && llmr_registry_reference(reg) == &reg->models[0],
       "of equal prices the first listed is the reference");
    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    rc = llmr_registry_load_json(reg, SL("[{\"name\": \"a\"}]"), err,
                                 sizeof(err));
    is_int(rc, LLMR_ERROR, "a model without provider fails");
    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    rc = llmr_registry_load_json(reg, SL("{\"models\": [1,"), err,
                                 sizeof(err));
    is_int(rc, LLMR_ERROR, "truncated JSON fails");
    ok(strstr(err, "invalid JSON") != NULL, "and says so: %s", err);
    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    rc = llmr_registry_load_json(reg, SL("{\"models\": 5}"), err,
                                 sizeof(err));
    is_int(rc, LLMR_ERROR, "models must be an array");
    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    rc = llmr_registry_load_json(reg, SL("[{\"name\": {}}]"), err,
                                 sizeof(err));
    is_int(rc, LLMR_ERROR, "a name must be a string");
    llmr_registry_destroy(reg);

    f = fdopen(mkstemp(path), "w");
    fputs(good, f);
    fclose(f);

    reg = llmr_registry_create();
    is_int(llmr_registry_load_file(reg, path, err, sizeof(err)), LLMR_OK,
           "loads from a file");
    llmr_registry_destroy(reg);
    unlink(path);

    reg = llmr_registry_create();
    is_int(llmr_registry_load_file(reg, "/nonexistent/models.json", err,
                                   sizeof(err)), LLMR_ERROR,
           "a missing file fails");
    ok(strstr(err, "/nonexistent/models.json") != NULL,
       "and names the file: %s", err);
    llmr_registry_destroy(reg);
}


static llmr_registry_t *
three_models(void)
{
    char              err[LLMR_ERRSTR_SIZE];
    llmr_registry_t  *reg;

    reg = llmr_registry_create();

    add_line(reg, "cheap provider=openai upstream=c tiers=trivial-simple "
             "input=0.15 output=0.60 context=128000", err, sizeof(err));
    add_line(reg, "mid provider=openai upstream=m tiers=simple-complex "
             "input=3 output=15 context=200000 caps=vision,tools", err,
             sizeof(err));
    add_line(reg, "big provider=anthropic upstream=b tiers=complex-expert "
             "input=15 output=75 context=200000 caps=vision,tools", err,
             sizeof(err));

    return reg;
}


static int
route(llmr_registry_t *reg, llmr_request_t *req, int tier,
    llmr_route_opts_t *opts, llmr_decision_t *d)
{
    llmr_class_t       cls;
    llmr_route_opts_t  o;

    memset(&cls, 0, sizeof(llmr_class_t));
    cls.tier = tier;

    if (opts == NULL) {
        llmr_route_opts_init(&o);
        opts = &o;
    }

    return llmr_route(reg, req, &cls, opts, d);
}


static void
test_policy(void)
{
    const char         *name;
    llmr_request_t      req;
    llmr_decision_t     d;
    llmr_registry_t    *reg;
    llmr_route_opts_t   opts;

    reg = three_models();

    memset(&req, 0, sizeof(llmr_request_t));
    req.text_bytes = 400;
    req.messages = 1;
    req.max_tokens = -1;

#define MODEL(d)  ((d).model >= 0 ? reg->models[(d).model].name : "none")

    route(reg, &req, LLMR_TIER_TRIVIAL, NULL, &d);
    is_str(MODEL(d), "cheap", "trivial -> cheapest");

    route(reg, &req, LLMR_TIER_SIMPLE, NULL, &d);
    is_str(MODEL(d), "cheap", "simple -> cheap covers it");

    route(reg, &req, LLMR_TIER_MODERATE, NULL, &d);
    is_str(MODEL(d), "mid", "moderate -> mid");

    route(reg, &req, LLMR_TIER_COMPLEX, NULL, &d);
    is_str(MODEL(d), "mid", "complex -> mid is cheaper than big");

    route(reg, &req, LLMR_TIER_EXPERT, NULL, &d);
    is_str(MODEL(d), "big", "expert -> big");
    is_int(d.tier, LLMR_TIER_EXPERT, "served at expert");

    is_int(d.input_tokens, 104, "input tokens: 400 bytes / 4 + 4 framing");
    is_int(d.output_tokens, 2048, "default output tokens at expert");
    ok(d.est_cost > 0.155 && d.est_cost < 0.156,
       "estimated cost %f = 104*15/1e6 + 2048*75/1e6", d.est_cost);

    req.images = 1;
    route(reg, &req, LLMR_TIER_TRIVIAL, NULL, &d);
    is_str(MODEL(d), "mid", "an image needs vision: up to mid");
    is_int(d.tier, LLMR_TIER_SIMPLE, "served one tier up");
    ok(d.nreasons >= 1 && strcmp(d.reasons[0], "tier_up") == 0,
       "tier_up reason");
    req.images = 0;

    req.tools = 2;
    route(reg, &req, LLMR_TIER_SIMPLE, NULL, &d);
    is_str(MODEL(d), "mid", "tools need a tools model");
    req.tools = 0;

    req.max_tokens = 150000;
    route(reg, &req, LLMR_TIER_TRIVIAL, NULL, &d);
    is_str(MODEL(d), "mid", "150k tokens of output need a 200k window");
    is_int(d.output_tokens, 150000, "max_tokens is the output estimate");

    req.max_tokens = 250000;
    is_int(route(reg, &req, LLMR_TIER_TRIVIAL, NULL, &d), LLMR_DECLINED,
           "no window large enough");
    is_int(d.status, 422, "422");
    ok(strstr(d.error, "context window") != NULL, "error: %s", d.error);
    req.max_tokens = -1;

    llmr_route_opts_init(&opts);
    opts.min_tier = LLMR_TIER_EXPERT;
    route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d);
    is_str(MODEL(d), "big", "a floor lifts the tier");

    llmr_route_opts_init(&opts);
    opts.exclude = 1;
    route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d);
    is_str(MODEL(d), "mid", "an excluded model is skipped");

    llmr_route_opts_init(&opts);
    opts.pinned = 2;
    route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d);
    is_str(MODEL(d), "big", "a pinned model wins");
    ok(d.nreasons && strcmp(d.reasons[0], "client_model") == 0,
       "client_model reason");

    llmr_route_opts_init(&opts);
    opts.exclude = 7;
    is_int(route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d), LLMR_DECLINED,
           "everything excluded");

    is_int(route(reg, NULL, LLMR_TIER_MODERATE, NULL, &d), LLMR_OK,
           "a request without a body routes");
    is_str(MODEL(d), "mid", "by tier alone");
    is_int(d.input_tokens, 0, "no input tokens");

    /* health: cheap (0) down, mid (1) degraded, big (2) healthy */

    llmr_route_opts_init(&opts);
    opts.down = 1;
    route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d);
    is_str(MODEL(d), "mid", "a down model is skipped");
    ok(d.nreasons && strcmp(d.reasons[d.nreasons - 1], "avoided_unhealthy")
       == 0, "avoided_unhealthy reason");

    opts.degraded = 2;
    route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d);
    is_str(MODEL(d), "big", "a degraded model is avoided while a healthy "
           "one is eligible");

    route(reg, &req, LLMR_TIER_EXPERT, &opts, &d);
    is_str(MODEL(d), "big", "expert stays on big");

    opts.down = 1 | 4;
    route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d);
    is_str(MODEL(d), "mid", "degraded is used when nothing healthy fits");
    ok(d.nreasons && strcmp(d.reasons[d.nreasons - 1], "degraded_only") == 0,
       "degraded_only reason");

    opts.down = 7;
    opts.degraded = 0;
    route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d);
    is_str(MODEL(d), "cheap", "all down: fail open to the cheapest");
    ok(d.nreasons && strcmp(d.reasons[d.nreasons - 1], "all_down_fail_open")
       == 0, "all_down_fail_open reason");

    opts.fail_open = 0;
    is_int(route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d), LLMR_DECLINED,
           "all down, failing closed: no model");
    is_int(d.status, 503, "503 when failing closed");

    llmr_route_opts_init(&opts);
    opts.prefer = "anthropic";
    route(reg, &req, LLMR_TIER_COMPLEX, &opts, &d);
    is_str(MODEL(d), "big", "a preferred provider wins when eligible");
    ok(d.nreasons && strcmp(d.reasons[0], "preferred_provider") == 0,
       "preferred_provider reason");

    route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d);
    is_str(MODEL(d), "cheap", "but never moves a request up a tier");

    opts.prefer = "mistral";
    route(reg, &req, LLMR_TIER_TRIVIAL, &opts, &d);
    is_str(MODEL(d), "cheap", "an absent provider is ignored");

    opts.prefer = "anthropic";
    opts.down = 4;
    route(reg, &req, LLMR_TIER_COMPLEX, &opts, &d);
    is_str(MODEL(d), "mid", "a down preferred model is not used");

    name = llmr_registry_reference(reg)->name;
    is_str(name, "big", "reference is big");

    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    is_int(route(reg, &req, LLMR_TIER_TRIVIAL, NULL, &d), LLMR_DECLINED,
           "an empty registry routes nothing");
    is_int(d.status, 503, "503");
    llmr_registry_destroy(reg);

#undef MODEL
}


static void
test_names(void)
{
    unsigned  caps;

    is_int(llmr_tier_parse(SL("moderate")), LLMR_TIER_MODERATE, "tier name");
    is_int(llmr_tier_parse(SL("moder")), -1, "no prefix tier");
    is_str(llmr_tier_name(LLMR_TIER_EXPERT), "expert", "expert");
    is_str(llmr_tier_name(9), "unknown", "out of range");
    is_int(llmr_domain_parse(SL("legal")), LLMR_DOMAIN_LEGAL, "domain");
    is_int(llmr_caps_parse(SL("vision,json"), &caps), LLMR_OK, "caps");
    is_int(caps, LLMR_CAP_VISION | LLMR_CAP_JSON, "caps value");
    is_int(llmr_caps_parse(SL("vision,"), &caps), LLMR_OK,
           "trailing comma tolerated");
    is_int(llmr_caps_parse(SL("vision,x"), &caps), LLMR_ERROR,
           "unknown cap");
}


static void
test_escape(void)
{
    char         out[64];
    size_t       n;
    const char  *in = "a\"b\\c\n\x01\x7f";

    n = llmr_json_escape(out, sizeof(out), in, strlen(in));
    out[n] = '\0';
    is_str(out, "a\\\"b\\\\c\\n\\u0001\\u007f", "escapes");
    is_int(llmr_json_escaped_len(in, strlen(in)), n, "escaped length");

    n = llmr_json_escape(out, 3, SL("a\"b"));
    is_int(n, 3, "cut at a whole escape");
    out[n] = '\0';
    is_str(out, "a\\\"", "the cut keeps sequences whole");

    n = llmr_json_escape(out, 2, SL("a\"b"));
    is_int(n, 1, "never a half escape");
}


int
main(void)
{
    test_add();
    test_json();
    test_policy();
    test_names();
    test_escape();

    return tap_done();
}
