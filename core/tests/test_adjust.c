
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


/* two models: weak serves trivial..moderate, strong complex..expert */

static void
two_groups(llmr_learn_conf_t *c)
{
    llmr_learn_conf_init(c);
    c->group[0] = 0;
    c->group[1] = 0;
    c->group[2] = 0;
    c->group[3] = 1;
    c->group[4] = 1;
}


static void
test_shifts(void)
{
    int                  b;
    double               sh[3 * LLMR_TIER_N];
    llmr_learn_conf_t    c;
    llmr_bucket_stats_t  s[3 * LLMR_TIER_N];

    two_groups(&c);
    memset(s, 0, sizeof(s));

    /* off by default: every shift 0 whatever the evidence */

    llmr_bucket_stats_add(&s[2], 2, 0.2, 50);
    llmr_bucket_stats_add(&s[2], 3, 0.9, 50);
    sh[2] = 7;
    llmr_learn_shifts(&c, s, 3 * LLMR_TIER_N, sh);
    ok(sh[2] == 0, "shifts off: 0");

    c.shift = 2;
    c.shift_prior = 20;

    /*
     * Bucket 2 (domain 0, moderate): weak 0.2, strong 0.9 (gain 0.7);
     * bucket 7 (domain 1, moderate): weak 0.8, strong 0.8 (gain 0);
     * the fleet: weak 0.5, strong 0.85, gain 0.35.
     */

    llmr_bucket_stats_add(&s[7], 2, 0.8, 50);
    llmr_bucket_stats_add(&s[7], 3, 0.8, 50);

    c.shift = 1;
    llmr_learn_shifts(&c, s, 3 * LLMR_TIER_N, sh);

    /*
     * gains 0.7 and 0, 100 samples each: the tier's mean is 0.35, and
     * the shifts +-100 / 120 * 0.35
     */
    ok(sh[2] > 0.2916 && sh[2] < 0.2917,
       "a bucket that gains more than its tier moves up (%.5f)", sh[2]);
    ok(sh[7] < -0.2916 && sh[7] > -0.2917,
       "one that gains less moves down (%.5f)", sh[7]);
    ok(sh[0] == 0 && sh[12] == 0, "buckets without evidence stay");

    c.shift = 10;
    llmr_learn_shifts(&c, s, 3 * LLMR_TIER_N, sh);
    ok(sh[2] == LLMR_LEARN_MAX_SHIFT && sh[7] == -LLMR_LEARN_MAX_SHIFT,
       "clamped to +-%.1f", LLMR_LEARN_MAX_SHIFT);

    /* the top tier compares with the group below */

    c.shift = 2;
    memset(s, 0, sizeof(s));
    llmr_bucket_stats_add(&s[4], 1, 0.1, 100);
    llmr_bucket_stats_add(&s[4], 4, 0.9, 100);
    llmr_bucket_stats_add(&s[9], 1, 0.9, 100);
    llmr_bucket_stats_add(&s[9], 4, 0.9, 100);
    llmr_learn_shifts(&c, s, 3 * LLMR_TIER_N, sh);
    ok(sh[4] > 0 && sh[9] < 0, "expert buckets: the step from below");

    /* buckets of other tiers are not compared */

    memset(s, 0, sizeof(s));
    llmr_bucket_stats_add(&s[1], 1, 0.9, 100);
    llmr_bucket_stats_add(&s[1], 3, 0.9, 100);
    llmr_bucket_stats_add(&s[7], 2, 0.1, 100);
    llmr_bucket_stats_add(&s[7], 3, 0.9, 100);
    llmr_learn_shifts(&c, s, 3 * LLMR_TIER_N, sh);
    ok(sh[1] == 0 && sh[7] == 0,
       "alone in its tier: nothing to compare with, 0");

    /* one side only: no gain known */

    memset(s, 0, sizeof(s));
    llmr_bucket_stats_add(&s[2], 2, 0.2, 50);
    llmr_bucket_stats_add(&s[7], 2, 0.9, 50);
    llmr_learn_shifts(&c, s, 3 * LLMR_TIER_N, sh);
    ok(sh[2] == 0 && sh[7] == 0, "seen on one side only: 0");

    /* one model for every tier: no step, no shift */

    llmr_learn_conf_init(&c);
    c.shift = 2;

    for (b = 0; b < LLMR_TIER_N; b++) {
        c.group[b] = 0;
    }

    llmr_bucket_stats_add(&s[2], 3, 0.9, 50);
    llmr_learn_shifts(&c, s, 3 * LLMR_TIER_N, sh);
    ok(sh[2] == 0 && sh[7] == 0, "one model everywhere: 0");

    /* the prior: a few samples move a bucket little */

    two_groups(&c);
    c.shift = 1;
    memset(s, 0, sizeof(s));
    llmr_bucket_stats_add(&s[2], 2, 0.5, 1000);
    llmr_bucket_stats_add(&s[2], 3, 0.85, 1000);
    llmr_bucket_stats_add(&s[7], 2, 0.0, 1);
    llmr_bucket_stats_add(&s[7], 3, 1.0, 1);
    llmr_learn_shifts(&c, s, 3 * LLMR_TIER_N, sh);
    ok(sh[7] > 0.05 && sh[7] < 0.07,
       "2 samples against a prior of 20 move a bucket little (%.4f)",
       sh[7]);
    ok(sh[2] < 0 && sh[2] > -0.001, "and the well known one hardly (%.5f)",
       sh[2]);
}


static void
test_shift_apply(void)
{
    const llmr_classifier_t  *cl;
    llmr_class_t              cls;
    llmr_adjust_t             a;
    llmr_route_opts_t         opts;

    cl = llmr_classifier_default();

    /* the built-in thresholds: 0.15, 0.35, 0.55, 0.75 */

    setup(&cls, &opts, &a, LLMR_TIER_MODERATE, LLMR_TIER_TRIVIAL, 0.9);
    cls.score = 0.5;
    llmr_adjust_shift(NULL, 0.1, &cls, &a);
    is_int(cls.tier, LLMR_TIER_COMPLEX, "0.5 + 0.1: complex");
    ok(a.shifted && a.shifted_up, "shifted up");
    is_str(llmr_adjust_reason(&a), "shift_up", "reason shift_up");
    ok(cls.score == 0.5, "the score stays the classifier's");

    setup(&cls, &opts, &a, LLMR_TIER_MODERATE, LLMR_TIER_TRIVIAL, 0.9);
    cls.score = 0.5;
    llmr_adjust_shift(cl, -0.4, &cls, &a);
    is_int(cls.tier, LLMR_TIER_TRIVIAL, "0.5 - 0.4: trivial");
    is_str(llmr_adjust_reason(&a), "shift_down", "reason shift_down");

    setup(&cls, &opts, &a, LLMR_TIER_MODERATE, LLMR_TIER_MODERATE, 0.9);
    cls.score = 0.5;
    llmr_adjust_shift(cl, -0.4, &cls, &a);
    is_int(cls.tier, LLMR_TIER_MODERATE, "never under the floor");
    ok(!a.shifted, "and then nothing is said");

    setup(&cls, &opts, &a, LLMR_TIER_MODERATE, LLMR_TIER_TRIVIAL, 0.9);
    cls.score = 0.5;
    llmr_adjust_shift(cl, 0.02, &cls, &a);
    ok(cls.tier == LLMR_TIER_MODERATE && !a.shifted,
       "a shift within the band moves nothing");

    setup(&cls, &opts, &a, LLMR_TIER_EXPERT, LLMR_TIER_TRIVIAL, 0.9);
    cls.score = 0.95;
    llmr_adjust_shift(cl, 0.5, &cls, &a);
    ok(cls.tier == LLMR_TIER_EXPERT && !a.shifted, "clamped at 1: expert");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, LLMR_TIER_TRIVIAL, 0.9);
    cls.score = 0.2;
    llmr_adjust_shift(cl, 0.0 / 0.0, &cls, &a);
    ok(cls.tier == LLMR_TIER_SIMPLE && !a.shifted, "NaN moves nothing");
}


static void
test_explore_both_ways(void)
{
    int                i, up, down, none, dir;
    uint64_t           h;
    llmr_learn_conf_t  c;
    llmr_class_t       cls;
    llmr_adjust_t      a;
    llmr_route_opts_t  opts;

    two_groups(&c);
    c.explore = 0.1;

    ok(llmr_learn_explore_dir(&c, 12345) == 0, "shifts off: no two-way");

    c.shift = 2;
    up = 0;
    down = 0;
    none = 0;

    for (i = 0; i < 200000; i++) {
        dir = llmr_learn_explore_dir(&c, (uint64_t) i);
        up += (dir == 1);
        down += (dir == -1);
        none += (dir == 0);
    }

    ok(up > 9000 && up < 11000, "5%% explore up (%d of 200000)", up);
    ok(down > 9000 && down < 11000, "5%% explore down (%d)", down);
    ok(llmr_learn_explore(&c, 1, 7) == 0 && llmr_learn_explore(&c, 2, 99) == 0,
       "the one-way exploration of promoted buckets is off");

    for (h = 0; llmr_learn_explore_dir(&c, h) != 1; h++) { /* void */ }

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, LLMR_TIER_TRIVIAL, 0.9);
    llmr_adjust_explore(&c, h, &cls, &opts, &a);
    ok(opts.min_tier == LLMR_TIER_COMPLEX && a.explore,
       "up: to the strong group's first tier");
    is_str(llmr_adjust_reason(&a), "explore", "reason explore");

    for (h = 0; llmr_learn_explore_dir(&c, h) != -1; h++) { /* void */ }

    setup(&cls, &opts, &a, LLMR_TIER_EXPERT, LLMR_TIER_TRIVIAL, 0.9);
    llmr_adjust_explore(&c, h, &cls, &opts, &a);
    ok(cls.tier == LLMR_TIER_MODERATE && a.explore,
       "down: to the weak group's top tier");

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, LLMR_TIER_TRIVIAL, 0.9);
    llmr_adjust_explore(&c, h, &cls, &opts, &a);
    ok(opts.min_tier == LLMR_TIER_COMPLEX && cls.tier == LLMR_TIER_SIMPLE,
       "down from the lowest group: up instead");

    setup(&cls, &opts, &a, LLMR_TIER_COMPLEX, LLMR_TIER_COMPLEX, 0.9);
    llmr_adjust_explore(&c, h, &cls, &opts, &a);
    ok(cls.tier == LLMR_TIER_COMPLEX && !a.explore,
       "never under the floor (and nothing above expert's group)");

    setup(&cls, &opts, &a, LLMR_TIER_EXPERT, LLMR_TIER_TRIVIAL, 0.9);
    opts.min_tier = LLMR_TIER_EXPERT;
    llmr_adjust_explore(&c, h, &cls, &opts, &a);
    ok(cls.tier == LLMR_TIER_EXPERT && opts.min_tier == LLMR_TIER_EXPERT
       && !a.explore, "never under a client's min tier");

    for (h = 0; llmr_learn_explore_dir(&c, h) != 0; h++) { /* void */ }

    setup(&cls, &opts, &a, LLMR_TIER_SIMPLE, LLMR_TIER_TRIVIAL, 0.9);
    llmr_adjust_explore(&c, h, &cls, &opts, &a);
    ok(cls.tier == LLMR_TIER_SIMPLE && opts.min_tier < 0 && !a.explore,
       "most requests do not explore");
}


int
main(void)
{
    test_learned();
    test_escalate();
    test_ab();
    test_shifts();
    test_shift_apply();
    test_explore_both_ways();

    return tap_done();
}
