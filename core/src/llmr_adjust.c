
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include <llmr/adjust.h>


void
llmr_adjust_conf_init(llmr_adjust_conf_t *c)
{
    memset(c, 0, sizeof(llmr_adjust_conf_t));
    c->escalate_mode = LLMR_ESCALATE_ALWAYS;
    c->escalate_to = -1;
    c->ab_strategy = LLMR_AB_QUALITY_FIRST;
}


void
llmr_adjust_learned(const llmr_learn_conf_t *lc, int offset,
    uint64_t request_hash, llmr_class_t *cls, llmr_route_opts_t *opts,
    llmr_adjust_t *a)
{
    int  tier, explore;

    if (offset == 0) {
        return;
    }

    explore = (offset > 0) ? llmr_learn_explore(lc, offset, request_hash)
                           : 0;

    tier = llmr_learn_tier(lc, cls->tier, offset, explore);

    if (explore && tier <= cls->tier) {
        /* the step below the learned tier is the class's own, or lower */

        if (tier < cls->tier && cls->tier > cls->floor) {
            cls->tier = (tier > cls->floor) ? tier : cls->floor;
        }

        a->explore = 1;
        return;
    }

    if (tier > cls->tier) {
        opts->min_tier = (opts->min_tier > tier) ? opts->min_tier : tier;
        a->learned = 1;
        a->learned_up = 1;

    } else if (tier < cls->tier && cls->tier > cls->floor) {
        cls->tier = (tier > cls->floor) ? tier : cls->floor;
        a->learned = 1;
    }
}


void
llmr_adjust_shift(const llmr_classifier_t *cl, double shift,
    llmr_class_t *cls, llmr_adjust_t *a)
{
    int     tier;
    double  score;

    if (shift == 0 || shift != shift) {
        return;
    }

    if (cl == NULL) {
        cl = llmr_classifier_default();
    }

    score = cls->score + shift;
    score = (score < 0) ? 0 : (score > 1 ? 1 : score);

    tier = llmr_score_tier(cl, score);

    if (tier < cls->floor) {
        tier = cls->floor;
    }

    if (tier == cls->tier) {
        return;
    }

    a->shifted = 1;
    a->shifted_up = (tier > cls->tier);
    cls->tier = tier;
}


void
llmr_adjust_explore(const llmr_learn_conf_t *lc, uint64_t request_hash,
    llmr_class_t *cls, llmr_route_opts_t *opts, llmr_adjust_t *a)
{
    int  dir, cur, t;

    if (a->explore) {
        return;
    }

    dir = llmr_learn_explore_dir(lc, request_hash);

    if (dir == 0) {
        return;
    }

    cur = (opts->min_tier > cls->tier) ? opts->min_tier : cls->tier;

    if (dir < 0) {
        t = llmr_learn_step_tier(lc, cur, -1);

        if (t >= 0 && t >= cls->floor && opts->min_tier <= t) {
            cls->tier = t;
            a->explore = 1;
            return;
        }
    }

    t = llmr_learn_step_tier(lc, cur, 1);

    if (t >= 0) {
        opts->min_tier = t;
        a->explore = 1;
    }
}


void
llmr_adjust_route(const llmr_adjust_conf_t *c, uint32_t ab_draw,
    llmr_class_t *cls, llmr_route_opts_t *opts, llmr_adjust_t *a)
{
    int  up;

    up = (cls->tier + 1 < LLMR_TIER_EXPERT) ? cls->tier + 1
                                            : LLMR_TIER_EXPERT;

    if (c->escalate && opts->pinned < 0
        && cls->confidence * 100 < (double) c->escalate)
    {
        switch (c->escalate_mode) {

        case LLMR_ESCALATE_ALWAYS:
            if (c->escalate_to >= 0) {
                opts->pinned = c->escalate_to;

            } else if (opts->min_tier < up) {
                opts->min_tier = up;
            }

            a->escalated = 1;
            break;

        case LLMR_ESCALATE_ASK:
            a->suggested = 1;
            break;

        default: /* LLMR_ESCALATE_LOG_ONLY */
            a->low_confidence = 1;
            break;
        }
    }

    if (c->ab_split == 0) {
        return;
    }

    a->ab = (ab_draw < c->ab_split) ? 2 : 1;

    if (a->ab == 1) {
        return;
    }

    if (c->ab_strategy == LLMR_AB_COST_FIRST) {
        if (cls->tier > cls->floor) {
            cls->tier--;
        }

    } else if (opts->min_tier < up) {
        opts->min_tier = up;
    }
}


const char *
llmr_adjust_reason(const llmr_adjust_t *a)
{
    if (a->learned) {
        return a->learned_up ? "learned_up" : "learned_down";
    }

    if (a->explore) {
        return "explore";
    }

    if (a->shifted) {
        return a->shifted_up ? "shift_up" : "shift_down";
    }

    if (a->escalated) {
        return "escalated";
    }

    if (a->suggested) {
        return "escalation_suggested";
    }

    if (a->low_confidence) {
        return "low_confidence";
    }

    if (a->ab == 2) {
        return "ab_variant_b";
    }

    return NULL;
}
