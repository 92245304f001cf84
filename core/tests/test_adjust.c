
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * What moves a request between the classifier and the policy: learned
 * offsets and exploration, confidence-gated escalation, the A/B arm, and
 * the one reason the decision gives for them.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/adjust.h>

#include "tap.h"


static llmr_learn_conf_t  lc;


static void
setup(llmr_class_t *cls, llmr_route_opts_t *opts, llmr_adjust_t *a,
    int tier, int floor, double confidence)
{
    memset(cls, 0, sizeof(llmr_class_t));
    cls->tier = tier;
    cls->floor = floor;
    cls->confidence = confidence;
    llmr_route_opts_init(opts);
    memset(a, 0, sizeof(llmr_adjust_t));
}


/* the first hash from "from" on that explores (want 1) or does not */

static uint64_t
hash_that(int offset, int want, uint64_t from)
{
    uint64_t  h;

    for (h = from; llmr_learn_explore(&lc, offset, h) != want; h++) {
        /* void */
    }

    return h;
}


static void
test_learned(void)
{
    unsigned           i, n;
    uint64_t           stay, go;
    llmr_class_t       cls;
    llmr_adjust_t      a;
    llmr_route_opts_t  opts;

    llmr_learn_conf_init(&lc);

    stay = hash_that(1, 0, 1);
    go = hash_that(1, 1, 1);

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
    llmr_adjust_learned(&lc, 0, go, &cls, &opts, &a);
    ok(cls.tier == LLMR_TIER_SIMPLE && opts.min_tier == -1
       && llmr_adjust_reason(&a) == NULL, "no offset: nothing moves");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
    llmr_adjust_learned(&lc, 1, stay, &cls, &opts, &a);
    is_int(opts.min_tier, LLMR_TIER_MODERATE, "+1: served a tier up");
    is_int(cls.tier, LLMR_TIER_SIMPLE, "the class keeps its tier");
    is_str(llmr_adjust_reason(&a), "learned_up", "reason learned_up");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
    llmr_adjust_learned(&lc, 1, go, &cls, &opts, &a);
    is_int(opts.min_tier, -1, "+1, exploring: the class's own tier");
    is_int(cls.tier, LLMR_TIER_SIMPLE, "unchanged");
    is_str(llmr_adjust_reason(&a), "explore", "reason explore");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
    llmr_adjust_learned(&lc, 2, hash_that(2, 1, 1), &cls, &opts, &a);
    is_int(opts.min_tier, LLMR_TIER_MODERATE,
           "+2, exploring: one step below the learned tier");
    is_str(llmr_adjust_reason(&a), "learned_up", "still above the class");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
    opts.min_tier = LLMR_TIER_EXPERT;
    llmr_adjust_learned(&lc, 1, stay, &cls, &opts, &a);
    is_int(opts.min_tier, LLMR_TIER_EXPERT, "a higher floor asked stays");

    setup(&cls, &opts, &a, LLMR_TIER_MODERATE, 0, 0.9);
    llmr_adjust_learned(&lc, -1, go, &cls, &opts, &a);
    is_int(cls.tier, LLMR_TIER_SIMPLE, "-1: a tier down");
    is_int(opts.min_tier, -1, "no floor asked");
    is_str(llmr_adjust_reason(&a), "learned_down", "reason learned_down");

    setup(&cls, &opts, &a, LLMR_TIER_MODERATE, LLMR_TIER_MODERATE, 0.9);
    llmr_adjust_learned(&lc, -1, stay, &cls, &opts, &a);
    is_int(cls.tier, LLMR_TIER_MODERATE, "-1 never goes under the floor");
    ok(llmr_adjust_reason(&a) == NULL, "and gives no reason");

    setup(&cls, &opts, &a, LLMR_TIER_TRIVIAL, 0, 0.9);
    llmr_adjust_learned(&lc, -1, stay, &cls, &opts, &a);
    is_int(cls.tier, LLMR_TIER_TRIVIAL, "-1 at the lowest tier: stays");

    setup(&cls, &opts, &a, LLMR_TIER_EXPERT, 0, 0.9);
    llmr_adjust_learned(&lc, 1, stay, &cls, &opts, &a);
    is_int(opts.min_tier, -1, "+1 at the highest tier: nothing above");
    ok(llmr_adjust_reason(&a) == NULL, "and no reason");

    /* the exploration share */

    n = 0;

    for (i = 0; i < 100000; i++) {
        setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
        llmr_adjust_learned(&lc, 1, i, &cls, &opts, &a);
        n += a.explore;
    }

    ok(n > 4500 && n < 5500, "5%% of sequential ids explore (%u)", n);

    lc.explore = 0;
    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
    llmr_adjust_learned(&lc, 1, go, &cls, &opts, &a);
    is_str(llmr_adjust_reason(&a), "learned_up", "explore=0: none explore");
    llmr_learn_conf_init(&lc);
}


static void
test_escalate(void)
{
    llmr_class_t        cls;
    llmr_adjust_t       a;
    llmr_route_opts_t   opts;
    llmr_adjust_conf_t  c;

    llmr_adjust_conf_init(&c);

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.3);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    ok(opts.min_tier == -1 && a.ab == 0 && llmr_adjust_reason(&a) == NULL,
       "off by default");

    c.escalate = 60;

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.59);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    is_int(opts.min_tier, LLMR_TIER_MODERATE, "under 60%%: a tier up");
    is_str(llmr_adjust_reason(&a), "escalated", "reason escalated");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.6);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    ok(opts.min_tier == -1 && !a.escalated, "at 60%%: no escalation");

    setup(&cls, &opts, &a, LLMR_TIER_EXPERT, 0, 0.1);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    is_int(opts.min_tier, LLMR_TIER_EXPERT, "expert: nothing above it");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.1);
    opts.pinned = 2;
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    ok(opts.pinned == 2 && !a.escalated, "a pinned model is not escalated");

    c.escalate_to = 4;
    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.1);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    ok(opts.pinned == 4 && opts.min_tier == -1, "to=: that model");

    c.escalate_mode = LLMR_ESCALATE_ASK;
    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.1);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    ok(opts.pinned == -1 && opts.min_tier == -1 && a.suggested,
       "ask: routed as classified, suggested");
    is_str(llmr_adjust_reason(&a), "escalation_suggested", "its reason");

    c.escalate_mode = LLMR_ESCALATE_LOG_ONLY;
    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.1);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    ok(opts.pinned == -1 && opts.min_tier == -1 && a.low_confidence,
       "log_only: only marked");
    is_str(llmr_adjust_reason(&a), "low_confidence", "its reason");
}


static void
test_ab(void)
{
    unsigned            i, b;
    llmr_class_t        cls;
    llmr_adjust_t       a;
    llmr_route_opts_t   opts;
    llmr_adjust_conf_t  c;

    llmr_adjust_conf_init(&c);
    c.ab_split = 3000;

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
    llmr_adjust_route(&c, 2999, &cls, &opts, &a);
    is_int(a.ab, 2, "a draw under the split: arm b");
    is_int(opts.min_tier, LLMR_TIER_MODERATE, "quality_first: a tier up");
    is_str(llmr_adjust_reason(&a), "ab_variant_b", "its reason");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
    llmr_adjust_route(&c, 3000, &cls, &opts, &a);
    ok(a.ab == 1 && opts.min_tier == -1 && cls.tier == LLMR_TIER_SIMPLE,
       "at the split: arm a, unchanged");
    ok(llmr_adjust_reason(&a) == NULL, "arm a gives no reason");

    c.ab_strategy = LLMR_AB_COST_FIRST;
    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    ok(cls.tier == LLMR_TIER_TRIVIAL && opts.min_tier == -1,
       "cost_first: a tier down");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, LLMR_TIER_SIMPLE, 0.9);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    is_int(cls.tier, LLMR_TIER_SIMPLE, "but not under the floor");

    b = 0;

    for (i = 0; i < LLMR_AB_SCALE; i++) {
        setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, 0, 0.9);
        llmr_adjust_route(&c, i, &cls, &opts, &a);
        b += (a.ab == 2);
    }

    is_int(b, 3000, "split=30%%: 3000 draws in 10000 go to b");

    /* escalation and arm b together: one reason, escalation first */

    c.ab_strategy = LLMR_AB_QUALITY_FIRST;
    c.escalate = 50;
    setup(&cls, &opts, &a, LLMR_TIER_MODERATE, 0, 0.2);
    llmr_adjust_route(&c, 0, &cls, &opts, &a);
    ok(a.escalated && a.ab == 2 && opts.min_tier == LLMR_TIER_COMPLEX,
       "escalated and arm b: one tier up, not two");
    is_str(llmr_adjust_reason(&a), "escalated", "the reason is escalation");

    a.learned = 1;
    is_str(llmr_adjust_reason(&a), "learned_down",
           "a learned offset comes before both");
}


int
main(void)
{
    test_learned();
    test_escalate();
    test_ab();

    return tap_done();
}
