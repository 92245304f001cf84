
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * Quality and speed data in the registry (llm_model intelligence=, ...,
 * the same keys in llm_models) and the routing profiles that order the
 * candidates of a tier with them.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/registry.h>
#include <llmr/policy.h>

#include "tap.h"


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
    rc = llmr_registry_add(reg, &name, args, n, err, errlen);

    free(copy);

    return rc;
}


static void
test_metrics(void)
{
    int                  rc;
    char                 err[LLMR_ERRSTR_SIZE];
    llmr_registry_t     *reg;
    const llmr_model_t  *m;

    static const char  json[] =
        "{\"models\": [{\"name\": \"a\", \"provider\": \"openai\","
        " \"upstream\": \"pa\", \"tiers\": \"trivial\", \"input\": 1,"
        " \"output\": 2, \"intelligence\": 53.5, \"coding\": 40,"
        " \"math\": 69, \"speed\": 75.2, \"ttft\": 0.45,"
        " \"frontier\": true, \"label\": \"A\"},"
        " {\"name\": \"b\", \"provider\": \"openai\", \"upstream\": \"pb\","
        " \"tiers\": \"simple\", \"intelligence\": null}]}";

    static const char  bad[] =
        "[{\"name\": \"a\", \"provider\": \"x\", \"api\": \"openai\", \"upstream\": \"u\","
        " \"tiers\": \"simple\", \"speed\": \"fast\"}]";

    reg = llmr_registry_create();

    is_int(add_line(reg, "q provider=openai upstream=u tiers=simple "
                    "input=1 output=2 intelligence=61.5 coding=50 math=80 "
                    "speed=120 ttft=0.6", err, sizeof(err)), LLMR_OK,
           "llm_model takes intelligence, coding, math, speed, ttft: %s",
           err);

    m = llmr_registry_find(reg, "q", 1);
    ok(m && m->intelligence == 61.5, "intelligence");
    ok(m && m->coding_index == 50, "coding index");
    ok(m && m->math_index == 80, "math index");
    ok(m && m->speed_tps == 120, "speed");
    ok(m && m->ttft_s == 0.6, "ttft");

    is_int(add_line(reg, "plain provider=openai upstream=u tiers=simple",
                    err, sizeof(err)), LLMR_OK, "all optional");
    m = llmr_registry_find(reg, SL("plain"));
    ok(m && m->intelligence == 0 && m->speed_tps == 0 && m->ttft_s == 0,
       "unknown is 0");

    is_int(add_line(reg, "bad1 provider=openai upstream=u tiers=simple "
                    "intelligence=-3", err, sizeof(err)), LLMR_ERROR,
           "a negative index is refused");
    ok(strstr(err, "invalid intelligence \"-3\"") != NULL, "says so: %s",
       err);

    is_int(add_line(reg, "bad2 provider=openai upstream=u tiers=simple "
                    "speed=fast", err, sizeof(err)), LLMR_ERROR,
           "a word for a speed is refused");
    ok(strstr(err, "invalid speed \"fast\"") != NULL, "says so: %s", err);

    is_int(add_line(reg, "bad3 provider=openai upstream=u tiers=simple "
                    "math=1 math=2", err, sizeof(err)), LLMR_ERROR,
           "a duplicate metric is refused");

    is_int(add_line(reg, "bad4 provider=openai upstream=u tiers=simple "
                    "intelligent=3", err, sizeof(err)), LLMR_ERROR,
           "a near miss is an unknown parameter");

    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    rc = llmr_registry_load_json(reg, json, sizeof(json) - 1, err,
                                 sizeof(err));
    is_int(rc, LLMR_OK, "llm_models reads the metrics: %s", rc ? err : "");
    m = llmr_registry_find(reg, "a", 1);
    ok(m && m->intelligence == 53.5 && m->coding_index == 40
       && m->math_index == 69 && m->speed_tps == 75.2 && m->ttft_s == 0.45,
       "all five from JSON");
    m = llmr_registry_find(reg, "b", 1);
    ok(m && m->intelligence == 0, "null is unknown");
    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    rc = llmr_registry_load_json(reg, bad, sizeof(bad) - 1, err,
                                 sizeof(err));
    is_int(rc, LLMR_ERROR, "a string speed in JSON is refused");
    ok(strstr(err, "speed") != NULL, "names the key: %s", err);
    llmr_registry_destroy(reg);
}


static void
test_names(void)
{
    int  p;

    for (p = 0; p < LLMR_PROFILE_N; p++) {
        is_int(llmr_profile_parse(llmr_profile_name(p),
                                  strlen(llmr_profile_name(p))), p,
               "profile %s round-trips", llmr_profile_name(p));
    }

    is_int(llmr_profile_parse(SL("balanced")), LLMR_PROFILE_BALANCED,
           "balanced");
    is_int(llmr_profile_parse(SL("cost-efficiency")), LLMR_PROFILE_COST,
           "cost-efficiency");
    is_int(llmr_profile_parse(SL("speedy")), -1, "unknown profile");
    is_int(llmr_profile_parse(SL("spe")), -1, "no prefix match");
    is_int(llmr_profile_parse("", 0), -1, "empty");
    is_str(llmr_profile_name(LLMR_PROFILE_N), "unknown", "out of range");
    is_str(llmr_profile_name(-1), "unknown", "negative");
}


/*
 * Four models serving the same tier:
 *   cheap   $0.1/$0.4   intelligence 30  speed 300 ttft 0.3
 *   value   $0.15/$0.6  intelligence 60  speed 80  ttft 0.5   math 90
 *   smart   $5/$20      intelligence 75  speed 40  ttft 2.0   math 80
 *   think   $2/$8       intelligence 65  speed 300 ttft 0.2  reasoning
 */

static llmr_registry_t *
four_models(void)
{
    char              err[LLMR_ERRSTR_SIZE];
    llmr_registry_t  *reg;

    reg = llmr_registry_create();

    add_line(reg, "cheap provider=a api=openai upstream=u tiers=trivial-expert "
             "input=0.1 output=0.4 intelligence=30 speed=300 ttft=0.3",
             err, sizeof(err));
    add_line(reg, "value provider=b api=openai upstream=u tiers=trivial-expert "
             "input=0.15 output=0.6 intelligence=60 speed=80 ttft=0.5 "
             "math=90", err, sizeof(err));
    add_line(reg, "smart provider=c api=openai upstream=u tiers=trivial-expert "
             "input=5 output=20 intelligence=75 speed=40 ttft=2 math=80",
             err, sizeof(err));
    add_line(reg, "think provider=d api=openai upstream=u tiers=trivial-expert "
             "input=2 output=8 intelligence=65 speed=300 ttft=0.2 "
             "caps=reasoning", err, sizeof(err));

    return reg;
}


static const char *
route_with(llmr_registry_t *reg, int profile, int tier, llmr_decision_t *d)
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

    llmr_route_opts_init(&opts);
    opts.profile = profile;

    if (llmr_route(reg, &req, &cls, &opts, d) != LLMR_OK) {
        return "none";
    }

    return reg->models[d->model].name;
}


static void
test_route(void)
{
    llmr_decision_t     d;
    llmr_registry_t    *reg;
    llmr_route_opts_t   opts;

    llmr_route_opts_init(&opts);
    is_int(opts.profile, LLMR_PROFILE_COST, "the default profile is cost");

    reg = four_models();
    is_int(reg->n, 4, "four models");

    is_str(route_with(reg, LLMR_PROFILE_COST, LLMR_TIER_MODERATE, &d),
           "cheap", "cost-efficiency: the cheapest");
    ok(d.est_cost > 0, "cost estimated: %f", d.est_cost);

    /*
     * 104 tokens in, 512 out: value 60 / $0.000323 beats cheap
     * 30 / $0.000215
     */
    is_str(route_with(reg, LLMR_PROFILE_BALANCED, LLMR_TIER_MODERATE, &d),
           "value", "balanced: the most intelligence per dollar");
    ok(d.est_cost > 0.000322 && d.est_cost < 0.000323,
       "est_cost is the chosen model's: %f", d.est_cost);

    is_str(route_with(reg, LLMR_PROFILE_INTELLIGENCE, LLMR_TIER_MODERATE,
                      &d), "smart", "max-intelligence: the smartest");

    /* cheap and think both do 300 tokens/s: the lower ttft wins */
    is_str(route_with(reg, LLMR_PROFILE_SPEED, LLMR_TIER_MODERATE, &d),
           "think", "speed: the fastest, ttft breaks the tie");

    is_str(route_with(reg, LLMR_PROFILE_REASONING, LLMR_TIER_MODERATE, &d),
           "think", "reasoning-first: caps=reasoning first");

    is_str(route_with(reg, 99, LLMR_TIER_MODERATE, &d), "cheap",
           "an unknown profile number orders by cost");

    llmr_registry_destroy(reg);
}


static void
test_cmp(void)
{
    int           r;
    llmr_model_t  a, b;

    memset(&a, 0, sizeof(llmr_model_t));
    memset(&b, 0, sizeof(llmr_model_t));

    a.price_in = 1;
    a.price_out = 1;
    b.price_in = 2;
    b.price_out = 2;

    /* nothing known: every profile is cost-efficiency */

    for (r = 0; r < LLMR_PROFILE_N; r++) {
        ok(llmr_profile_cmp(r, &a, &b, 1000, 1000) < 0,
           "%s without data: the cheaper first", llmr_profile_name(r));
    }

    /* a known value comes before an unknown one */

    b.intelligence = 10;
    ok(llmr_profile_cmp(LLMR_PROFILE_INTELLIGENCE, &a, &b, 1, 1) > 0,
       "max-intelligence: known before unknown");
    ok(llmr_profile_cmp(LLMR_PROFILE_BALANCED, &a, &b, 1, 1) > 0,
       "balanced: known before unknown");

    /* balanced: a free model with an index beats any paid one */

    a.intelligence = 5;
    a.price_in = 0;
    a.price_out = 0;
    ok(llmr_profile_cmp(LLMR_PROFILE_BALANCED, &a, &b, 1000, 1000) < 0,
       "balanced: free beats paid");

    b.price_in = 0;
    b.price_out = 0;
    ok(llmr_profile_cmp(LLMR_PROFILE_BALANCED, &a, &b, 1000, 1000) > 0,
       "balanced: two free ones by intelligence");

    /* equal: 0, and llmr_route() keeps registration order */

    a = b;
    is_int(llmr_profile_cmp(LLMR_PROFILE_BALANCED, &a, &b, 1000, 1000), 0,
           "balanced: equal models tie");
    is_int(llmr_profile_cmp(LLMR_PROFILE_COST, &a, &b, 1000, 1000), 0,
           "cost: equal models tie");

    /* speed: unknown ttft after a known one */

    memset(&a, 0, sizeof(llmr_model_t));
    memset(&b, 0, sizeof(llmr_model_t));
    a.speed_tps = 100;
    b.speed_tps = 100;
    b.ttft_s = 5;
    ok(llmr_profile_cmp(LLMR_PROFILE_SPEED, &a, &b, 1, 1) > 0,
       "speed: a known ttft before an unknown one");

    /* reasoning-first: math when neither has caps=reasoning */

    memset(&a, 0, sizeof(llmr_model_t));
    memset(&b, 0, sizeof(llmr_model_t));
    a.math_index = 50;
    b.math_index = 90;
    b.price_in = 100;
    ok(llmr_profile_cmp(LLMR_PROFILE_REASONING, &a, &b, 1, 1) > 0,
       "reasoning-first: the higher math index, whatever the price");
}


int
main(void)
{
    test_metrics();
    test_names();
    test_route();
    test_cmp();

    return tap_done();
}
