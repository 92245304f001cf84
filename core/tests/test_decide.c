
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The composed decision (llmr_decide): classification, the learned
 * adjustments and their draws, escalation and A/B, health and API
 * eligibility, the budgets' downgrade, the floor a fallback starts from
 * (llmr_decide_next), the default route, and the reasons of each.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/decide.h>
#include <llmr/api.h>

#include "tap.h"


#define CHEAP   0
#define MID     1
#define BIG     2
#define CLAUDE  3

#define BIT(m)  ((uint64_t) 1 << (m))


static const char  models[] =
    "{\"models\": ["
    " {\"name\": \"cheap\", \"provider\": \"openai\", \"upstream\": \"u1\","
    "  \"tiers\": \"trivial-simple\", \"input\": 0.15, \"output\": 0.6,"
    "  \"context\": 128000},"
    " {\"name\": \"mid\", \"provider\": \"openai\", \"upstream\": \"u2\","
    "  \"tiers\": \"simple-complex\", \"input\": 3, \"output\": 15,"
    "  \"caps\": [\"vision\", \"tools\"]},"
    " {\"name\": \"big\", \"provider\": \"anthropic\", \"api\": \"openai\","
    "  \"upstream\": \"u3\", \"tiers\": \"complex-expert\", \"input\": 15,"
    "  \"output\": 75, \"caps\": [\"vision\", \"tools\"]},"
    " {\"name\": \"claude\", \"provider\": \"anthropic\","
    "  \"upstream\": \"u3\","
    "  \"tiers\": \"trivial-expert\", \"input\": 0.01, \"output\": 0.01}"
    "]}";

static const char  hello[] =
    "{\"model\": \"auto\", \"messages\": "
    "[{\"role\": \"user\", \"content\": \"hello\"}]}";

static const char  pinned[] =
    "{\"model\": \"big\", \"messages\": "
    "[{\"role\": \"user\", \"content\": \"hello\"}]}";


static llmr_registry_t   *reg;
static llmr_extract_t    *x;


static const llmr_request_t *
parse(const char *body)
{
    llmr_extract_reset(x, LLMR_FMT_UNKNOWN);

    if (llmr_extract_feed(x, (unsigned char *) body, strlen(body)) != LLMR_OK
        || llmr_extract_finish(x) != LLMR_OK)
    {
        printf("# cannot parse %s: %s\n", body, llmr_extract_error(x));
        exit(2);
    }

    return llmr_extract_result(x);
}


static int
has_reason(const llmr_verdict_t *v, const char *reason)
{
    unsigned  i;

    for (i = 0; i < v->dec.nreasons; i++) {
        if (strcmp(v->dec.reasons[i], reason) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
setup(llmr_router_t *rt, llmr_signals_t *s)
{
    llmr_router_init(rt, reg);
    llmr_signals_init(s);
    s->apis = llmr_api_bit(LLMR_API_OPENAI);
}


static void
test_defaults(void)
{
    llmr_class_t           cls;
    llmr_router_t          rt;
    llmr_verdict_t         v;
    llmr_signals_t         s;
    llmr_decision_t        d;
    llmr_route_opts_t      opts;
    const llmr_request_t  *req;

    setup(&rt, &s);
    req = parse(hello);

    is_int(llmr_decide(&rt, req, &s, &v), LLMR_OK, "hello: routed");
    is_int(v.dec.model, CHEAP, "  to the cheapest model of its API");
    is_int(v.dec.tier, LLMR_TIER_TRIVIAL, "  at trivial");
    is_int(v.floor, v.cls.tier, "  its floor: the class's tier");
    is_int(v.bucket, v.cls.domain * LLMR_TIER_N + v.cls.tier,
           "  its bucket: domain x tier");
    ok(!v.probe && !v.downgrade && !v.defaulted, "  nothing else to do");
    ok(has_reason(&v, "skipped_api"), "  the cheaper model of another API "
       "was skipped");

    /* what the classifier and the policy say alone */

    llmr_classify(NULL, req, &cls);
    llmr_route_opts_init(&opts);
    opts.apis = s.apis;
    llmr_route(reg, req, &cls, &opts, &d);

    ok(v.dec.model == d.model && v.dec.tier == d.tier
       && v.dec.nreasons == d.nreasons && v.cls.score == cls.score,
       "without signals: the classifier and the policy's decision");

    s.apis = 0;
    llmr_decide(&rt, req, &s, &v);
    is_int(v.dec.model, CLAUDE, "any API: the cheapest of all");

    s.apis = llmr_api_bit(LLMR_API_GEMINI);
    is_int(llmr_decide(&rt, req, &s, &v), LLMR_DECLINED,
           "an API no model serves: declined");
    is_int(v.dec.status, 422, "  422");
    is_str(v.dec.error, "no configured model serves the gemini API",
           "  and why");
}


static void
test_health(void)
{
    llmr_router_t          rt;
    llmr_verdict_t         v;
    llmr_signals_t         s;
    const llmr_request_t  *req;

    setup(&rt, &s);
    req = parse(hello);

    s.down = BIT(CHEAP);
    llmr_decide(&rt, req, &s, &v);
    is_int(v.dec.model, MID, "cheap down: skipped for mid");
    ok(has_reason(&v, "avoided_unhealthy"), "  with its reason");
    ok(has_reason(&v, "tier_up"), "  one tier up");
    is_int(v.floor, LLMR_TIER_TRIVIAL, "  the floor stays the class's");

    s.down = 0;
    s.degraded = BIT(CHEAP);
    llmr_decide(&rt, req, &s, &v);
    is_int(v.dec.model, MID, "cheap degraded: avoided");
    ok(has_reason(&v, "avoided_unhealthy"), "  with its reason");

    s.degraded = 0;
    s.down = BIT(CHEAP) | BIT(MID) | BIT(BIG);
    llmr_decide(&rt, req, &s, &v);
    is_int(v.dec.model, CHEAP, "all down, failing open: the cheapest");
    ok(has_reason(&v, "all_down_fail_open"), "  with its reason");
    ok(!v.probe, "  not a probe");

    rt.fail_open = 0;
    is_int(llmr_decide(&rt, req, &s, &v), LLMR_DECLINED,
           "all down, failing closed: declined");
    is_int(v.dec.status, 503, "  503");

    rt.fail_open = 1;
    s.down = 0;
    s.half_open = BIT(CHEAP);
    llmr_decide(&rt, req, &s, &v);
    ok(v.dec.model == CHEAP && v.probe, "half-open: taken, as a probe");

    s.half_open = BIT(MID);
    llmr_decide(&rt, req, &s, &v);
    ok(v.dec.model == CHEAP && !v.probe, "another half-open: no probe");

    s.half_open = 0;
    s.prefer = "anthropic";
    s.min_tier = LLMR_TIER_COMPLEX;
    llmr_decide(&rt, req, &s, &v);
    ok(v.dec.model == BIG && has_reason(&v, "preferred_provider"),
       "X-LLM-Prefer: the provider's model at the tier served");
    ok(has_reason(&v, "min_tier"), "X-LLM-Min-Tier: a floor");
    is_int(v.floor, LLMR_TIER_COMPLEX, "  the floor of a fallback");
}


static void
test_learned(void)
{
    int8_t                 offset[LLMR_DOMAIN_N * LLMR_TIER_N];
    uint64_t               h, stay, go;
    llmr_router_t          rt;
    llmr_verdict_t         v, w;
    llmr_signals_t         s;
    llmr_learn_conf_t      lc;
    const llmr_request_t  *req;

    setup(&rt, &s);
    req = parse(hello);

    llmr_learn_conf_init(&lc);
    rt.learn = &lc;

    memset(offset, 0, sizeof(offset));
    s.offset = offset;

    llmr_decide(&rt, req, &s, &v);
    ok(v.dec.model == CHEAP && v.adj.learned == 0,
       "learning on, nothing learned: as before");

    offset[v.bucket] = 1;

    for (stay = 1; llmr_learn_explore(&lc, 1, stay); stay++) {
        /* void */
    }

    for (go = 1; !llmr_learn_explore(&lc, 1, go); go++) {
        /* void */
    }

    s.request_hash = stay;
    llmr_decide(&rt, req, &s, &w);
    is_int(w.dec.tier, LLMR_TIER_SIMPLE, "offset +1: one tier up");
    ok(has_reason(&w, "learned_up"), "  learned_up");
    is_int(w.floor, LLMR_TIER_SIMPLE, "  a fallback starts there");
    is_int(w.bucket, v.bucket, "  learned where the class was");

    s.request_hash = go;
    llmr_decide(&rt, req, &s, &w);
    is_int(w.dec.tier, LLMR_TIER_TRIVIAL, "the exploring share: the class's "
           "tier");
    ok(has_reason(&w, "explore"), "  explore");

    s.explain = 1;
    llmr_decide(&rt, req, &s, &w);
    ok(w.dec.tier == LLMR_TIER_SIMPLE && has_reason(&w, "learned_up"),
       "an explanation does not explore");

    s.explain = 0;
    rt.learn = NULL;
    llmr_decide(&rt, req, &s, &w);
    ok(w.dec.tier == LLMR_TIER_TRIVIAL && !w.adj.learned,
       "learning off: the offsets are not read");

    /* the draws are the snapshot's: the same signals, the same verdict */

    rt.learn = &lc;

    for (h = 1; h < 200; h++) {
        s.request_hash = h;
        llmr_decide(&rt, req, &s, &v);
        llmr_decide(&rt, req, &s, &w);

        if (v.dec.model != w.dec.model || v.dec.tier != w.dec.tier
            || v.dec.nreasons != w.dec.nreasons
            || memcmp(&v.adj, &w.adj, sizeof(llmr_adjust_t)) != 0)
        {
            break;
        }
    }

    is_int(h, 200, "deterministic from the request hash");
}


static void
test_route_adjust(void)
{
    llmr_router_t          rt;
    llmr_verdict_t         v;
    llmr_signals_t         s;
    const llmr_request_t  *req;

    setup(&rt, &s);
    req = parse(hello);

    rt.adjust.ab_split = 5000;

    s.ab_draw = 4999;
    llmr_decide(&rt, req, &s, &v);
    ok(v.adj.ab == 2 && v.dec.tier == LLMR_TIER_SIMPLE,
       "A/B: a draw under the split, arm b one tier up");
    ok(has_reason(&v, "ab_variant_b"), "  ab_variant_b");

    s.ab_draw = 5000;
    llmr_decide(&rt, req, &s, &v);
    ok(v.adj.ab == 1 && v.dec.tier == LLMR_TIER_TRIVIAL
       && v.dec.nreasons == 1, "  at the split: arm a, as before");

    rt.adjust.ab_split = 0;
    rt.adjust.escalate = 101;
    llmr_decide(&rt, req, &s, &v);
    ok(v.adj.escalated && v.dec.tier == LLMR_TIER_SIMPLE
       && has_reason(&v, "escalated"), "escalation: one tier up");

    rt.adjust.escalate_to = BIG;
    llmr_decide(&rt, req, &s, &v);
    ok(v.dec.model == BIG && has_reason(&v, "client_model"),
       "escalation to a model: pinned");

    rt.adjust.escalate = 0;
    rt.client_model = 1;
    llmr_decide(&rt, parse(pinned), &s, &v);
    ok(v.dec.model == BIG && has_reason(&v, "client_model"),
       "llm_route_client_model: the model the body names");

    req = parse(hello);
    llmr_decide(&rt, req, &s, &v);
    is_int(v.dec.model, CHEAP, "  \"auto\" names none");

    s.path_model = "mid";
    s.path_model_len = 3;
    llmr_decide(&rt, req, &s, &v);
    is_int(v.dec.model, CHEAP, "  the body's name before the path's");

    rt.client_model = 0;
    llmr_decide(&rt, parse(pinned), &s, &v);
    is_int(v.dec.model, CHEAP, "  off: ignored");
}


static void
set_budget(llmr_signals_t *s, unsigned i, unsigned downgrade, int64_t spent)
{
    llmr_budget_signal_t  *b;

    b = &s->budgets[i];
    memset(b, 0, sizeof(llmr_budget_signal_t));

    b->rule.limit = 10000000;       /* $10 */
    b->rule.period = 3600;
    b->rule.downgrade = downgrade;
    b->rule.downgrade_at = 80;

    b->entry.id = 1;
    b->entry.period = 3600;
    b->entry.period_start = s->now - s->now % 3600;
    b->entry.limit = b->rule.limit;
    b->entry.spent = spent;

    if (s->nbudgets <= i) {
        s->nbudgets = i + 1;
    }
}


static void
test_budgets(void)
{
    llmr_router_t          rt;
    llmr_verdict_t         v, w;
    llmr_signals_t         s;
    const llmr_request_t  *req;

    setup(&rt, &s);
    req = parse(hello);

    s.now = 1700000000;
    s.min_tier = LLMR_TIER_EXPERT;

    llmr_decide(&rt, req, &s, &v);
    ok(v.dec.model == BIG && v.dec.est_cost > 0.1 && v.dec.est_cost < 0.2,
       "expert: big, about $0.15");

    set_budget(&s, 0, 1, 1000000);
    llmr_decide(&rt, req, &s, &w);
    ok(w.dec.model == BIG && !w.downgrade, "a budget far from its limit: "
       "as before");

    set_budget(&s, 0, 1, 8000000);
    llmr_decide(&rt, req, &s, &w);
    ok(w.downgrade, "past downgrade_at: downgraded");
    ok(w.dec.model == CHEAP && w.dec.tier == LLMR_TIER_TRIVIAL,
       "  to the cheapest model that can serve it");
    ok(has_reason(&w, "budget_downgrade"), "  budget_downgrade");
    is_int(w.floor, LLMR_TIER_TRIVIAL, "  a fallback starts at trivial");
    is_int(w.cls.tier, v.cls.tier, "  the class keeps its tier");
    is_int(s.budgets[0].entry.want, 0, "  the signals are not written");

    set_budget(&s, 0, 0, 8000000);
    llmr_decide(&rt, req, &s, &w);
    ok(w.dec.model == BIG && !w.downgrade, "mode=reject: never downgraded");

    set_budget(&s, 1, 1, 8000000);
    llmr_decide(&rt, req, &s, &w);
    ok(w.downgrade && w.dec.model == CHEAP, "  the next budget downgrades");

    set_budget(&s, 0, 0, 9900000);
    llmr_decide(&rt, req, &s, &w);
    ok(w.dec.model == BIG && !w.downgrade,
       "a spent budget: no downgrade (the reservation refuses it)");

    set_budget(&s, 0, 1, 0);
    s.budgets[0].refused = 1;
    llmr_decide(&rt, req, &s, &w);
    ok(w.dec.model == BIG && !w.downgrade, "no room for the key: the same");

    s.nbudgets = 0;
    llmr_decide(&rt, req, &s, &w);
    ok(w.dec.model == BIG && !w.downgrade, "no budgets: as before");
}


static void
test_next(void)
{
    llmr_router_t          rt;
    llmr_verdict_t         v, w;
    llmr_signals_t         s;
    const llmr_request_t  *req;

    setup(&rt, &s);
    req = parse(hello);

    llmr_decide(&rt, req, &s, &v);

    w = v;
    s.exclude = BIT(v.dec.model);
    is_int(llmr_decide_next(&rt, req, &s, &w), LLMR_OK, "fallback: routed");
    ok(w.dec.model == MID && w.dec.tier == LLMR_TIER_SIMPLE,
       "  the next model up from the floor");
    ok(has_reason(&w, "fallback") && has_reason(&w, "tier_up"),
       "  fallback, tier_up");

    s.exclude |= BIT(MID);
    llmr_decide_next(&rt, req, &s, &w);
    ok(w.dec.model == BIG && w.dec.tier == LLMR_TIER_COMPLEX, "  then big");

    s.exclude |= BIT(BIG);
    w.dec.model = -7;
    is_int(llmr_decide_next(&rt, req, &s, &w), LLMR_DECLINED,
           "  none left: declined");
    is_int(w.dec.model, -7, "  the verdict left as it was");

    /* the floor: a degraded cheaper model is still in the chain */

    s.exclude = 0;
    s.degraded = BIT(CHEAP) | BIT(BIG);
    llmr_decide(&rt, req, &s, &v);
    ok(v.dec.model == MID && v.dec.tier == LLMR_TIER_SIMPLE,
       "cheap degraded: mid, at simple");

    w = v;
    s.exclude = BIT(MID);
    llmr_decide_next(&rt, req, &s, &w);
    ok(w.dec.model == CHEAP && w.dec.tier == LLMR_TIER_TRIVIAL
       && has_reason(&w, "degraded_only"),
       "  mid fails: cheap, from the floor, not the tier served");

    s.degraded = 0;
    s.exclude = 0;
    s.half_open = BIT(MID);
    w = v;
    w.probe = 0;
    s.exclude = BIT(CHEAP);
    llmr_decide_next(&rt, req, &s, &w);
    ok(w.dec.model == MID && w.probe, "a half-open next model: a probe");
}


static void
test_default(void)
{
    llmr_router_t   rt;
    llmr_verdict_t  v, w;
    llmr_signals_t  s;

    setup(&rt, &s);
    s.default_why = "llm_invalid_json";
    s.min_tier = LLMR_TIER_EXPERT;

    is_int(llmr_decide(&rt, NULL, &s, &v), LLMR_OK, "no body: routed");
    ok(v.defaulted && v.dec.model == MID
       && v.dec.tier == LLMR_TIER_MODERATE, "  at the default tier");
    ok(v.cls.nreasons == 2
       && strcmp(v.cls.reasons[0], "default_route") == 0
       && strcmp(v.cls.reasons[1], "llm_invalid_json") == 0,
       "  default_route and why");
    is_int(v.floor, -1, "  no floor: the default tier's");

    rt.default_tier = LLMR_TIER_TRIVIAL;
    s.default_why = NULL;
    llmr_decide(&rt, NULL, &s, &v);
    ok(v.dec.model == CHEAP && v.cls.nreasons == 1,
       "llm_route_default_tier trivial: cheap");

    w = v;
    s.exclude = BIT(CHEAP);
    llmr_decide_next(&rt, NULL, &s, &w);
    ok(w.dec.model == MID && w.dec.tier == LLMR_TIER_SIMPLE,
       "  its fallback: from the default tier");
}


int
main(void)
{
    char  err[LLMR_ERRSTR_SIZE];

    reg = llmr_registry_create();
    x = llmr_extract_create(NULL);

    if (reg == NULL || x == NULL
        || llmr_registry_load_json(reg, models, sizeof(models) - 1, err,
                                   sizeof(err))
           != LLMR_OK)
    {
        printf("# setup: %s\n", err);
        return 2;
    }

    test_defaults();
    test_health();
    test_learned();
    test_route_adjust();
    test_budgets();
    test_next();
    test_default();

    llmr_extract_destroy(x);
    llmr_registry_destroy(reg);

    return tap_done();
}
