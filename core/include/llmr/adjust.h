
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_ADJUST_H_INCLUDED_
#define _LLMR_ADJUST_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/classify.h>
#include <llmr/policy.h>
#include <llmr/feedback.h>


/*
 * What moves a request between the classifier and the policy: the
 * feedback loop's learned offset for its class (with the exploration
 * share), confidence-gated escalation and the arm of an A/B test.  Each
 * step changes the class's tier (down, never under its floor) or the
 * route options' min_tier / pinned model (up), and says what it did in
 * an llmr_adjust_t, so that the decision can give one reason for it.
 */


#define LLMR_ESCALATE_ALWAYS        0   /* one tier up, or to a model */
#define LLMR_ESCALATE_LOG_ONLY      1   /* a reason only */
#define LLMR_ESCALATE_ASK           2   /* suggest it to the client */

#define LLMR_AB_QUALITY_FIRST       0   /* arm b: one tier up */
#define LLMR_AB_COST_FIRST          1   /* arm b: one tier down */

#define LLMR_AB_SCALE               10000   /* split and draws: per 10000 */


typedef struct {
    unsigned                    escalate;       /* confidence %; 0: off */
    unsigned                    escalate_mode;  /* LLMR_ESCALATE_* */
    int                         escalate_to;    /* a model, -1: tier + 1 */
    unsigned                    ab_split;       /* per 10000; 0: off */
    unsigned                    ab_strategy;    /* LLMR_AB_* */
} llmr_adjust_conf_t;


typedef struct {
    unsigned                    learned:1;      /* an offset applied */
    unsigned                    learned_up:1;
    unsigned                    explore:1;      /* served a step away */
    unsigned                    shifted:1;      /* the shift moved the tier */
    unsigned                    shifted_up:1;
    unsigned                    escalated:1;
    unsigned                    suggested:1;    /* escalation, ask */
    unsigned                    low_confidence:1;   /* log_only */
    unsigned                    ab:2;           /* 0: none, 1: a, 2: b */
} llmr_adjust_t;


void llmr_adjust_conf_init(llmr_adjust_conf_t *c);

/*
 * The learned offset of the request's class (the caller reads it from
 * wherever the fleet keeps it) and the request's hash, which decides
 * whether it explores.  A positive offset raises opts->min_tier; a
 * negative one lowers cls->tier, not under cls->floor.
 */
void llmr_adjust_learned(const llmr_learn_conf_t *lc, int offset,
    uint64_t request_hash, llmr_class_t *cls, llmr_route_opts_t *opts,
    llmr_adjust_t *a);

/*
 * The learned shift of the request's class (llmr_learn_shifts; the caller
 * reads it from wherever the fleet keeps it): the tier becomes that of
 * score + shift under cl's thresholds (NULL: the built-in classifier's),
 * never under cls->floor.  cls->score stays the classifier's.
 */
void llmr_adjust_shift(const llmr_classifier_t *cl, double shift,
    llmr_class_t *cls, llmr_adjust_t *a);

/*
 * Exploration both ways (shifts on, llmr_learn_explore_dir): one step up
 * raises opts->min_tier to the next group's tier, one step down lowers
 * cls->tier to the group below (not under cls->floor; then up instead).
 * Nothing when the request already explored.
 */
void llmr_adjust_explore(const llmr_learn_conf_t *lc, uint64_t request_hash,
    llmr_class_t *cls, llmr_route_opts_t *opts, llmr_adjust_t *a);

/*
 * Escalation below the confidence threshold (unless a model is pinned),
 * then the A/B arm: ab_draw is uniform in [0, LLMR_AB_SCALE), and arm b
 * is a draw under the split.
 */
void llmr_adjust_route(const llmr_adjust_conf_t *c, uint32_t ab_draw,
    llmr_class_t *cls, llmr_route_opts_t *opts, llmr_adjust_t *a);

/* the decision's reason for the adjustment, NULL when there was none */
const char *llmr_adjust_reason(const llmr_adjust_t *a);


#endif /* _LLMR_ADJUST_H_INCLUDED_ */
