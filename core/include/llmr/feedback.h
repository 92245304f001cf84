
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_FEEDBACK_H_INCLUDED_
#define _LLMR_FEEDBACK_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/registry.h>
#include <llmr/usage.h>


/*
 * The feedback loop's pure parts: what a client reports about an answer
 * (explicit feedback), what the answer itself says (implicit quality),
 * and the rule that turns per-class quality into a tier offset.  The
 * module keeps the sums (shm, Redis) and calls these; nothing here keeps
 * state or allocates beyond one parse.
 */


/* explicit feedback: POST {"request_id", "quality"|"success"|"rating"} */

#define LLMR_FEEDBACK_MAX_BODY      65536   /* bytes */
#define LLMR_FEEDBACK_MAX_ID        64      /* bytes of [A-Za-z0-9._-] */
#define LLMR_FEEDBACK_MAX_DEPTH     8       /* the body's object is 1 */
#define LLMR_FEEDBACK_MAX_NUMBER    64      /* bytes of one JSON number */


typedef struct {
    char                        request_id[LLMR_FEEDBACK_MAX_ID + 1];
    size_t                      id_len;
    double                      quality;    /* 0..1 when has_quality */
    unsigned                    has_quality:1;
    unsigned                    has_success:1;
    unsigned                    success:1;
    unsigned                    has_rating:1;
    int                         rating;     /* 1..5 when has_rating */
} llmr_feedback_t;


/*
 * Parses one feedback body: a JSON object (at most LLMR_FEEDBACK_MAX_BODY
 * bytes, nesting at most LLMR_FEEDBACK_MAX_DEPTH deep, valid UTF-8) with
 *
 *   "request_id"  string, 1..64 bytes of A-Z a-z 0-9 . _ -  (required)
 *   "quality"     number 0..1
 *   "success"     true or false
 *   "rating"      integer 1..5 (4.0 is 4; 4.5 is an error)
 *
 * and at least one of quality, success and rating.  A null value counts
 * as the key left out; other keys, whatever their value, are ignored; a
 * key given twice is an error.  Returns LLMR_OK, or LLMR_ERROR with a
 * one-line message in err naming the field ("\"rating\" must be an
 * integer from 1 to 5").  fb is zeroed first.
 */
int llmr_feedback_parse(const char *data, size_t len, llmr_feedback_t *fb,
    char *err, size_t errlen);

/*
 * The report as one quality, 0..1: quality when given, else success as
 * 1 or 0, else (rating - 1) / 4; -1 when the report has none of them.
 */
double llmr_feedback_quality(const llmr_feedback_t *fb);


/*
 * Implicit quality: what a response says about itself, read by the
 * response filter (llmr_usage_result_t).  Each signal found caps the
 * quality at its weight and the result is the smallest cap, 1.0 when no
 * signal is found (a minimum, not a product: the signals are correlated,
 * an empty answer is also a short one, and one bad sign should not count
 * twice):
 *
 *   ERROR      -1 (no sample)  HTTP status >= 400, or an error object in
 *                              the body: provider failures (429, 5xx,
 *                              timeouts, mid-stream errors) and client
 *                              errors say nothing about whether the tier
 *                              suits the prompt; health and failover deal
 *                              with them.  Counting them would promote
 *                              classes during a provider's outage, and a
 *                              promotion outlives the outage.
 *   CUT        -1 (no sample)  the body could not be read, or ended with
 *                              neither a finish reason nor the provider's
 *                              end (a client abort, a cut connection)
 *   EMPTY      0.1             no answer text and no tool call
 *   REFUSAL    0.2             the provider's refusal or content filter,
 *                              or a refusal phrase in the answer's head
 *   TRUNCATED  0.5             finish reason "length" (max_tokens hit)
 *   UNCERTAIN  0.6             an uncertainty phrase in the answer's head
 *   SHORT      0.7             a task of tier moderate or above answered
 *                              in fewer than 1/16 of the output tokens
 *                              such a task usually takes (128, 256, 512,
 *                              1024, 2048 by tier, llmr_default_output_
 *                              tokens(), or max_tokens when smaller),
 *                              counting 4 bytes of answer text a token;
 *                              tool calls are never short
 *
 * Phrases are matched case-insensitively anywhere in answer_head (the
 * answer's first 255 bytes), on word boundaries, with ' standing for
 * both ' and U+2019:
 *
 *   refusal    "i cannot", "i can't help", "i can't assist",
 *              "i can't provide", "i'm unable", "i am unable",
 *              "i'm not able to", "i am not able to", "as an ai",
 *              "as a language model"
 *   uncertain  "i'm not sure", "i am not sure", "i'm not certain",
 *              "i am not certain", "i don't know", "i do not know",
 *              "i'm uncertain", "not entirely sure", "hard to say"
 *
 * UNCERTAIN and SHORT alone never reach below the default promotion
 * threshold (low=0.6): only answers that failed outright (empty,
 * refused, cut by max_tokens) can promote a class by themselves.  The
 * module weighs implicit samples by llmr_learn_conf_t.implicit_weight
 * against 1 for an explicit report.
 *
 * http_status 0 means unknown (taken as 200); tier is the request's
 * tier, max_tokens its limit (<= 0: none).  Returns 0..1, or -1 when
 * nothing can be said; *signals (may be NULL) gets the LLMR_SIG_* found.
 */

#define LLMR_SIG_ERROR              0x01
#define LLMR_SIG_TRUNCATED          0x02
#define LLMR_SIG_EMPTY              0x04
#define LLMR_SIG_REFUSAL            0x08
#define LLMR_SIG_UNCERTAIN          0x10
#define LLMR_SIG_SHORT              0x20
#define LLMR_SIG_CUT                0x40

#define LLMR_IMPLICIT_EMPTY         0.1
#define LLMR_IMPLICIT_REFUSAL       0.2
#define LLMR_IMPLICIT_TRUNCATED     0.5
#define LLMR_IMPLICIT_UNCERTAIN     0.6
#define LLMR_IMPLICIT_SHORT         0.7
#define LLMR_IMPLICIT_SHORT_RATIO   16

double llmr_implicit_quality(const llmr_usage_result_t *u, int http_status,
    int tier, int64_t max_tokens, unsigned *signals);

/*
 * The signals as "error,truncated,..." (in bit order) into buf, NUL
 * terminated and cut to size; "" for none.  Returns the length written.
 */
size_t llmr_signals_format(unsigned signals, char *buf, size_t size);


/*
 * Learning.  A class of prompts is a bucket: a domain and a complexity
 * bucket, the score's quintile (0-0.2, 0.2-0.4, ... 0.8-1).  Bucket b is
 * domain * LLMR_SCORE_BUCKETS + quintile.
 */

#define LLMR_SCORE_BUCKETS          5
#define LLMR_BUCKETS                (LLMR_DOMAIN_N * LLMR_SCORE_BUCKETS)

/* an unknown domain counts as general; a score outside 0..1 or NaN is
 * clamped (NaN as 0) */
int llmr_bucket(int domain, double score);

/* the inverse; both -1 for a bucket out of range */
void llmr_bucket_parts(int bucket, int *domain, int *sbucket);


/*
 * A bucket's evidence, by the tier that served the requests: the sum of
 * the samples' weights and the sum of weight * quality.  The mean
 * quality at tier t is quality[t] / weight[t].
 */
typedef struct {
    double                      weight[LLMR_TIER_N];
    double                      quality[LLMR_TIER_N];
} llmr_bucket_stats_t;

/* adds one sample (quality 0..1, weight > 0); others are ignored */
void llmr_bucket_stats_add(llmr_bucket_stats_t *s, int tier, double quality,
    double weight);


#define LLMR_LEARN_MIN_OFFSET       -1

typedef struct {
    double                      min_samples;    /* 5 */
    double                      low;            /* 0.6 */
    double                      high;           /* 0.85 */
    double                      demote_samples; /* 20 */
    int                         max_offset;     /* 2 */
    double                      explore;        /* 0.05 */
    double                      implicit_weight;    /* 0.3 */

    /*
     * The least quality a promotion must buy where the step up has been
     * seen (0.1); a step up that buys less than half of it is undone.
     */
    double                      gain;

    /*
     * Shifts (llmr_learn_shifts): how far a bucket's score moves per unit
     * of its gain above the fleet's, 0 (the default) for none; the
     * weight of the fleet's mean in a bucket's (its prior, 20 samples).
     * With shifts on, exploration goes both ways for every bucket
     * (llmr_learn_explore_dir) instead of down for promoted ones.
     */
    double                      shift;
    double                      shift_prior;

    /*
     * Which model serves each tier: tiers of one group are one step of
     * the rule and pool their evidence.  Default: every tier its own
     * group (0, 1, 2, 3, 4); llmr_learn_conf_groups() fills it from a
     * registry.
     */
    int                         group[LLMR_TIER_N];
} llmr_learn_conf_t;


void llmr_learn_conf_init(llmr_learn_conf_t *c);

/*
 * Groups from a registry: group[t] is the index of the model a plain
 * request of tier t is routed to (llmr_route(), cost-efficiency, no
 * needs), LLMR_MODELS_MAX + t when none serves it.  So a step of the rule
 * always changes the model, and the evidence of tiers that one model
 * serves is pooled.
 */
void llmr_learn_conf_groups(llmr_learn_conf_t *c,
    const llmr_registry_t *reg);

/*
 * The learning rule: the bucket's new offset given its evidence, the
 * tier the classifier gives (base_tier) and the current offset.  Pure
 * and deterministic.
 *
 * The offset is first clamped to [LLMR_LEARN_MIN_OFFSET, max_offset].
 * The bucket is served at cur = base_tier + offset (clamped to the
 * tiers).  W(t) and M(t) are the weight and the mean quality of the
 * evidence of every tier in t's group.  up is the lowest tier above cur
 * in another group, down the highest tier below cur in another group.
 *
 *   promote   to up (offset up - base_tier) when
 *               up exists and up - base_tier <= max_offset,
 *               W(cur) >= min_samples and M(cur) + SE(cur) < low, and
 *               not (W(up) >= min_samples and
 *                    M(up) - M(cur) + SE(up, cur) < gain):
 *             quality is poor where the bucket is served, and the step
 *             up is not known to buy less than gain;
 *
 *   demote    to down (offset down - base_tier) when
 *               down exists and down - base_tier >= LLMR_LEARN_MIN_OFFSET,
 *               W(down) >= demote_samples, and either
 *                 M(down) - SE(down) >= high (the step down answers
 *                 well), or
 *                 W(cur) >= demote_samples and
 *                 M(cur) - M(down) + SE(cur, down) < gain / 2
 *                 (the step up is known to buy too little);
 *
 *   else      the offset stays.
 *
 * SE(t) = sqrt(M(t) (1 - M(t)) / W(t)) is the standard error of a mean
 * (m (1 - m) bounds the variance of samples in 0..1) and SE(a, b) =
 * sqrt(SE(a)^2 + SE(b)^2) that of a difference: every comparison must
 * hold by one standard error, so a few noisy samples move nothing, while
 * samples that all agree do (5 reports of 0 promote at once, and 20 of
 * 1 demote).
 *
 * Hysteresis: the thresholds differ (low < high, gain / 2 < gain) and a
 * demotion needs demote_samples on both sides where a promotion needs
 * min_samples, so evidence that sits between the thresholds moves
 * nothing, and neither move makes the other one true at once.  A
 * promoted bucket stops producing evidence at the tier below except for
 * the exploration share (llmr_learn_explore): that is where the evidence
 * for a demotion comes from.  With the default groups a step is one
 * tier.
 */
int llmr_learn_offset(const llmr_learn_conf_t *c,
    const llmr_bucket_stats_t *s, int base_tier, int offset);

/*
 * 1 when a request should explore: be served one step below its learned
 * tier.  A share c->explore of request hashes explores (the hash is
 * mixed first, so sequential ids spread evenly); never at the lowest
 * offset.  Deterministic in the hash.
 */
int llmr_learn_explore(const llmr_learn_conf_t *c, int offset,
    uint64_t request_hash);

/*
 * The tier to serve: base_tier + offset clamped, or when exploring the
 * step below it (the highest tier below in another group, if the offset
 * may go that low), else the learned tier itself.
 */
int llmr_learn_tier(const llmr_learn_conf_t *c, int base_tier, int offset,
    int explore);


/*
 * Shifts: where the promotion rule guards a bucket's quality, a shift
 * re-ranks the buckets of one tier by what the step to the next model
 * buys them, against each other: what the classifier's score already
 * says (a higher tier gains more) is not counted twice.  For bucket b
 * (base tier t = b % LLMR_TIER_N), lo is t's group and hi the next group
 * up (at the top: the next group down, and t's).  A bucket with evidence
 * on both sides has a gain g(b) = M(hi) - M(lo) and a weight w(b) =
 * W(lo) + W(hi); G(t) is the weighted mean gain of the tier's buckets.
 * The shift is
 *
 *     shift * w(b) / (w(b) + shift_prior) * (g(b) - G(t))
 *
 * clamped to +-LLMR_LEARN_MAX_SHIFT: a bucket whose prompts gain more
 * from the stronger model than others of their tier moves up the score
 * scale, one that gains less moves down, by little while its evidence is
 * thin; a bucket seen on one side only (or alone on both in its tier)
 * stays.  The caller adds the shift to the classifier's score
 * (llmr_adjust_shift).  The evidence on both sides of a bucket comes from
 * exploration both ways (llmr_learn_explore_dir).
 *
 * s: the evidence of n buckets; out: their n shifts (all 0 when off).
 */

#define LLMR_LEARN_MAX_SHIFT        0.5

void llmr_learn_shifts(const llmr_learn_conf_t *c,
    const llmr_bucket_stats_t *s, size_t n, double *out);

/*
 * With shifts on: 0 when a request does not explore, else the way it
 * does, 1 (one step up) or -1 (one step down), each half of c->explore
 * of the request hashes (mixed as in llmr_learn_explore, so the same
 * hashes explore).  0 with shifts off.
 */
int llmr_learn_explore_dir(const llmr_learn_conf_t *c,
    uint64_t request_hash);

/* the nearest tier above (dir 1) or below (-1) in another group, or -1 */
int llmr_learn_step_tier(const llmr_learn_conf_t *c, int tier, int dir);



/*
 * What an instance without Redis has learned, as text, to keep it across
 * restarts: a header line, then one line a bucket that has evidence or
 * an offset, by names (bucket b is domain b / LLMR_TIER_N and tier
 * b % LLMR_TIER_N):
 *
 *     # ngx_llm_router learned state 1
 *     math moderate offset=1 weight=0,0,12.5,3,0 quality=0,0,4.25,2.5,0
 *
 * weight and quality are the bucket's sums by the tier that served
 * (llmr_bucket_stats_t), trivial to expert.  Blank lines and lines that
 * start with '#' after the header are ignored.
 */

#define LLMR_LEARN_STATE_HEADER     "# ngx_llm_router learned state 1"
#define LLMR_LEARN_STATE_LINE       512     /* the longest line read */

/*
 * Writes the state of n buckets (offset: n values) into buf, at most
 * size bytes with the NUL; returns the length the whole text needs, as
 * snprintf() does.
 */
size_t llmr_learn_state_print(char *buf, size_t size,
    const llmr_bucket_stats_t *s, const int *offset, size_t n);

/*
 * Reads a state into n buckets, which it zeroes first.  Returns the
 * number of buckets read, or -1 with err set (the line and what is wrong
 * with it) and the buckets zeroed: a missing or other header, a line
 * that is not as above, a number out of range (a weight under 0, a
 * quality sum outside 0..weight, an offset past the tiers), a bucket
 * twice.  A line that names a domain or a tier this build does not know
 * is skipped and counted in *skipped (a file of a build with more
 * domains still loads).
 */
int llmr_learn_state_parse(const char *text, size_t len,
    llmr_bucket_stats_t *s, int *offset, size_t n, size_t *skipped,
    char *err, size_t errlen);


#endif /* _LLMR_FEEDBACK_H_INCLUDED_ */
