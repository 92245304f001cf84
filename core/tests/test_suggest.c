
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * Suggestions: each kind made from a basis that supports it, none below
 * its evidence minimum, the saving arithmetic on the forecast's rate
 * basis, the order, and the basis through its JSON and back.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/suggest.h>

#include "tap.h"


#define near(a, b)  (fabs((a) - (b)) < 1e-9)


static llmr_suggest_basis_t  basis;
static llmr_suggestion_t     list[LLMR_SUGGEST_MAX];


static void
model(const char *name, int lo, int hi, double in, double out,
    uint64_t requests)
{
    llmr_suggest_model_t  *m;

    m = &basis.models[basis.nmodels++];

    (void) snprintf(m->name, sizeof(m->name), "%s", name);
    m->configured = 1;
    m->tier_lo = lo;
    m->tier_hi = hi;
    m->price_in = in;
    m->price_out = out;
    m->requests = requests;
}


/*
 * 1000 requests since the start; the forecast's window: 600 requests in
 * 300 s, 2 rps, 172800 a day, so a count of N since the start is
 * N * 172.8 a day.  Moderate traffic: 400 requests on mid (3/15 per M),
 * 1000 in and 200 out each: 0.006 USD; trivial on cheap (0.15/0.60).
 */

static void
reset(void)
{
    memset(&basis, 0, sizeof(basis));

    basis.window = 300;
    basis.window_requests = 600;
    basis.requests = 1000;

    model("cheap", LLMR_TIER_TRIVIAL, LLMR_TIER_SIMPLE, 0.15, 0.60, 600);
    model("mid", LLMR_TIER_SIMPLE, LLMR_TIER_COMPLEX, 3, 15, 400);
    model("big", LLMR_TIER_COMPLEX, LLMR_TIER_EXPERT, 15, 75, 0);

    basis.models[0].recent[LLMR_TIER_TRIVIAL] = 150;
    basis.models[1].recent[LLMR_TIER_MODERATE] = 100;

    basis.tiers[LLMR_TIER_TRIVIAL].requests = 600;
    basis.tiers[LLMR_TIER_TRIVIAL].input_tokens = 600 * 1000;
    basis.tiers[LLMR_TIER_TRIVIAL].output_tokens = 600 * 200;
    basis.tiers[LLMR_TIER_TRIVIAL].cost = 600 * 0.00027;

    basis.tiers[LLMR_TIER_MODERATE].requests = 400;
    basis.tiers[LLMR_TIER_MODERATE].input_tokens = 400 * 1000;
    basis.tiers[LLMR_TIER_MODERATE].output_tokens = 400 * 200;
    basis.tiers[LLMR_TIER_MODERATE].cost = 400 * 0.006;
}


static void
feedback(int c, int t, double w, double q)
{
    basis.weight[c][t] = w;
    basis.quality[c][t] = w * q;
}


static int
find(unsigned n, int kind)
{
    unsigned  i;

    for (i = 0; i < n; i++) {
        if (list[i].kind == kind) {
            return (int) i;
        }
    }

    return -1;
}


static void
test_cheaper_tier(void)
{
    int       i;
    unsigned  n;
    double    want;

    reset();

    /* trivial prompts: 30 samples at moderate (0.90), 25 at trivial */

    feedback(LLMR_TIER_TRIVIAL, LLMR_TIER_MODERATE, 30, 0.90);
    feedback(LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL, 25, 0.86);
    feedback(LLMR_TIER_MODERATE, LLMR_TIER_MODERATE, 10, 0.95);

    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    i = find(n, LLMR_SUGGEST_CHEAPER_TIER);

    ok(i >= 0, "cheaper tier: suggested");

    if (i < 0) {
        return;
    }

    /*
     * 400 moderate requests since the start: 69120 a day; the class's
     * share of the moderate samples 30/40; per request 0.006 on mid,
     * 0.00027 on cheap.
     */

    want = 400 * 172.8 * 0.75 * (0.006 - 0.00027);

    ok(near(list[i].saving, want), "saving %.6f (want %.6f)",
       list[i].saving, want);
    ok(list[i].has_quality && near(list[i].quality, 0.86 - 0.90),
       "quality delta %.4f", list[i].quality);
    ok(strstr(list[i].text, "route trivial prompts to cheap instead of mid")
       != NULL, "text: %s", list[i].text);
    ok(strstr(list[i].text, "~$297.04/day") != NULL, "text: the saving");
    is_str(list[i].evidence[0].name, "samples_used", "evidence: samples");
    ok(near(list[i].evidence[0].value, 30), "evidence: 30 samples");
    ok(near(list[i].evidence[1].value, 25), "evidence: 25 cheaper");

    /* quality below the tolerance: none */

    feedback(LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL, 25,
             0.90 - LLMR_SUGGEST_QUALITY_TOLERANCE - 0.01);
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_CHEAPER_TIER) < 0,
       "cheaper tier: not when its quality is lower");

    /* evidence below the minimum on either side: none */

    feedback(LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL,
             LLMR_SUGGEST_MIN_SAMPLES - 1, 0.9);
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_CHEAPER_TIER) < 0,
       "cheaper tier: not below %d samples at the cheaper tier",
       LLMR_SUGGEST_MIN_SAMPLES);

    feedback(LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL,
             LLMR_SUGGEST_MIN_SAMPLES, 0.9);
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_CHEAPER_TIER) >= 0,
       "cheaper tier: at %d samples", LLMR_SUGGEST_MIN_SAMPLES);

    feedback(LLMR_TIER_TRIVIAL, LLMR_TIER_MODERATE,
             LLMR_SUGGEST_MIN_SAMPLES - 0.5, 0.9);
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_CHEAPER_TIER) < 0,
       "cheaper tier: not below the minimum at the tier mostly used");

    /* no traffic in the window: no saving, none */

    feedback(LLMR_TIER_TRIVIAL, LLMR_TIER_MODERATE, 30, 0.9);
    basis.window_requests = 0;
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_CHEAPER_TIER) < 0,
       "cheaper tier: not without a current rate");
}


static void
test_rare_model(void)
{
    int       i;
    unsigned  n;

    reset();

    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    i = find(n, LLMR_SUGGEST_RARE_MODEL);

    ok(i >= 0 && strstr(list[i].text, "model big served 0 of 1000") != NULL,
       "rare model: big, %s", i >= 0 ? list[i].text : "none");
    ok(i >= 0 && !list[i].has_saving && !list[i].has_quality,
       "rare model: no saving, no quality");
    ok(i >= 0 && near(list[i].evidence[1].value, 1000),
       "rare model: evidence, the requests");

    basis.models[2].requests = 10;      /* 1%: not rare */
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_RARE_MODEL) < 0, "rare model: not at 1%%");

    basis.models[2].requests = 0;
    basis.requests = LLMR_SUGGEST_MIN_REQUESTS - 1;
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_RARE_MODEL) < 0,
       "rare model: not below %d requests", LLMR_SUGGEST_MIN_REQUESTS);

    basis.requests = LLMR_SUGGEST_MIN_REQUESTS;
    basis.models[2].configured = 0;
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_RARE_MODEL) < 0,
       "rare model: not one configured elsewhere only");
}


static void
test_escalation(void)
{
    int       i;
    unsigned  n;
    double    want;

    reset();

    /* simple prompts served at moderate as good as at simple */

    basis.escalations = 50;
    basis.tiers[LLMR_TIER_SIMPLE].requests = 100;
    basis.tiers[LLMR_TIER_SIMPLE].cost = 100 * 0.001;
    feedback(LLMR_TIER_SIMPLE, LLMR_TIER_SIMPLE, 40, 0.80);
    feedback(LLMR_TIER_SIMPLE, LLMR_TIER_MODERATE, 25, 0.82);

    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    i = find(n, LLMR_SUGGEST_ESCALATION);

    ok(i >= 0, "escalation: suggested");

    if (i < 0) {
        return;
    }

    /* 50 escalations: 8640 a day, each 0.006 - 0.001 */

    want = 50 * 172.8 * (0.006 - 0.001);

    ok(near(list[i].saving, want), "escalation: saving %.6f (want %.6f)",
       list[i].saving, want);
    ok(near(list[i].quality, -0.02), "escalation: quality %.4f",
       list[i].quality);
    is_int(list[i].evidence[0].value, 50, "escalation: evidence");

    /* an escalation that buys quality is kept */

    feedback(LLMR_TIER_SIMPLE, LLMR_TIER_MODERATE, 25, 0.90);
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_ESCALATION) < 0,
       "escalation: not when it buys 0.10");

    feedback(LLMR_TIER_SIMPLE, LLMR_TIER_MODERATE, 25, 0.82);
    basis.escalations = LLMR_SUGGEST_MIN_ESCALATIONS - 1;
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_ESCALATION) < 0,
       "escalation: not below %d escalations",
       LLMR_SUGGEST_MIN_ESCALATIONS);

    basis.escalations = 50;
    feedback(LLMR_TIER_SIMPLE, LLMR_TIER_MODERATE,
             LLMR_SUGGEST_MIN_SAMPLES - 1, 0.82);
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_ESCALATION) < 0,
       "escalation: not below %d samples one tier up",
       LLMR_SUGGEST_MIN_SAMPLES);
}


static void
test_budget(void)
{
    int                     i;
    unsigned                n;
    llmr_suggest_budget_t  *bg;

    reset();
    basis.requests = 10;            /* no rare model */

    /* 10 USD a day; 4 spent in the first 6 h: 16 a day, out at 15 h */

    bg = &basis.budgets[basis.nbudgets++];
    (void) snprintf(bg->name, sizeof(bg->name), "daily");
    bg->limit = 10;
    bg->spent = 4;
    bg->period = 86400;
    bg->elapsed = 21600;

    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    i = find(n, LLMR_SUGGEST_BUDGET);

    ok(i >= 0, "budget: suggested");

    if (i < 0) {
        return;
    }

    /* 6 left over 18 h: 8 a day; the cut is 16 - 8 */

    ok(near(list[i].saving, 8), "budget: cut %.6f a day", list[i].saving);
    ok(!list[i].has_quality, "budget: no quality");
    ok(strstr(list[i].text, "budget daily runs out in ~9.0 h") != NULL,
       "budget: %s", list[i].text);
    ok(strstr(list[i].text, "9.0 h before its period ends") != NULL,
       "budget: how early");
    ok(strstr(list[i].text, "limit to ~$16.00") != NULL,
       "budget: the limit that would last");

    bg->spent = 2;                  /* 8 a day: lasts */
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_BUDGET) < 0, "budget: not when it lasts");

    bg->spent = 4;
    bg->elapsed = LLMR_SUGGEST_MIN_BUDGET_SECONDS - 1;
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_BUDGET) < 0,
       "budget: not before %d s of the period", LLMR_SUGGEST_MIN_BUDGET_SECONDS);

    /* a short period: 10% of it is enough */

    bg->period = 100;
    bg->elapsed = 10;
    bg->spent = 2;
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_BUDGET) >= 0, "budget: 10 s of a 100 s period");

    bg->elapsed = 9;
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(find(n, LLMR_SUGGEST_BUDGET) < 0, "budget: not at 9 s of 100 s");

    /* spent already */

    bg->elapsed = 50;
    bg->spent = 12;
    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    i = find(n, LLMR_SUGGEST_BUDGET);
    ok(i >= 0 && near(list[i].saving, 12.0 / 50 * 86400),
       "budget: spent, the whole rate to cut");
}


static void
test_order_and_json(void)
{
    char                   *json;
    size_t                  need, got;
    unsigned                n, m, i;
    llmr_suggest_basis_t   *back;
    llmr_suggestion_t       again[LLMR_SUGGEST_MAX];
    char                    err[256] = "";

    reset();
    feedback(LLMR_TIER_TRIVIAL, LLMR_TIER_MODERATE, 30, 0.90);
    feedback(LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL, 25, 0.86);
    (void) snprintf(basis.models[2].name, sizeof(basis.models[2].name),
                    "b\"ig\xff");

    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    ok(n == 2 && list[0].kind == LLMR_SUGGEST_CHEAPER_TIER
       && list[1].kind == LLMR_SUGGEST_RARE_MODEL,
       "order: a saving first, then the others");

    ok(llmr_suggest(&basis, list, 1) == 1, "at most max");

    need = llmr_suggest_basis_json(&basis, NULL, 0);
    json = malloc(need + 1);
    got = llmr_suggest_basis_json(&basis, json, need + 1);
    ok(got == need && strlen(json) == need, "basis JSON: measured, %zu",
       need);
    ok(strstr(json, "\"b\\\"ig?\"") != NULL, "names escaped, bad UTF-8 ?");

    back = malloc(sizeof(llmr_suggest_basis_t));
    ok(llmr_suggest_basis_parse(json, need, back, err, sizeof(err))
       == LLMR_OK, "basis JSON parsed back %s", err);

    m = llmr_suggest(back, again, LLMR_SUGGEST_MAX);
    ok(m == 2, "the same number of suggestions");

    for (i = 0; i < n && i < m; i++) {
        ok(again[i].kind == list[i].kind && again[i].saving == list[i].saving
           && (i == 1 || strcmp(again[i].text, list[i].text) == 0),
           "suggestion %u the same from the JSON", i);
    }

    ok(m == 2 && strstr(again[1].text, "model b\"ig? served") != NULL,
       "the name as the JSON had it: %s", again[1].text);

    free(json);

    n = llmr_suggest(&basis, list, LLMR_SUGGEST_MAX);
    need = llmr_suggest_json(list, n, NULL, 0);
    json = malloc(need + 1);
    (void) llmr_suggest_json(list, n, json, need + 1);
    ok(strncmp(json, SL("[{\"kind\":\"cheaper_tier\",\"text\":\"route"))
       == 0, "suggestions JSON");
    ok(strstr(json, "\"saving_usd_day\":null,\"quality_delta\":null,"
              "\"evidence\":{\"model_requests\":0,\"requests\":1000}}]")
       != NULL, "suggestions JSON: nulls and evidence");

    free(json);

    ok(llmr_suggest_basis_parse("{\"x\":1}", 7, back, err, sizeof(err))
       == LLMR_ERROR && strstr(err, "suggestion_basis") != NULL,
       "a status without a basis: %s", err);
    ok(llmr_suggest_basis_parse("{", 1, back, err, sizeof(err))
       == LLMR_ERROR, "invalid JSON: %s", err);

    free(back);
}


int
main(void)
{
    test_cheaper_tier();
    test_rare_model();
    test_escalation();
    test_budget();
    test_order_and_json();

    return tap_done();
}
