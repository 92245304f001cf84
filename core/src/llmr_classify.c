
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/classify.h>

#include "llmr_features.h"


/* contributions smaller than this do not make a reason */
#define LLMR_REASON_MIN         0.2

/* words from which a prompt is called long */
#define LLMR_LONG_PROMPT        200

/* a score this far from every threshold is fully clear of them */
#define LLMR_MARGIN_FULL        0.1


static void llmr_reason_add(llmr_class_t *out, const char *reason);


/*
 * The built-in weights, in logits.  Anchors: a bare greeting lands near
 * 0.02, a one-line lookup near 0.1, a short "explain X" near 0.2, a code
 * review or a word problem near 0.5, a design brief with trade-offs and
 * hard guarantees above 0.9.  Length carries the most evidence on the
 * recorded outcomes (LLMR_EVAL_DIR), so it is the backbone and the other
 * signals nudge it.  Numbers, long words and the domain itself carried
 * none beyond length there, or the wrong sign (hard subjects that both
 * models fail): they stay in the vector at 0, for the learned layer and
 * the per-domain feedback to weigh; so do the relations between
 * quantities, which the learned layer weighs from the word problems.
 * Where benchmarks say little and length says the wrong thing, the
 * shape of the ask decides: a story, a poem or a role to play is what a
 * small model does about as well (long as such briefs are), an
 * equation to work out and code to read are where a large one earns
 * its price (short as they are).
 */

static const llmr_classifier_t  llmr_classifier_hand = {
    -1.00,
    {
        [LLMR_F_LENGTH] = 0.50,
        [LLMR_F_GREETING] = -1.50,
        [LLMR_F_SIMPLE_ASK] = -0.40,
        [LLMR_F_EXPLAIN] = 0.30,
        [LLMR_F_COMPLEX_ASK] = 0.60,
        [LLMR_F_EXPERT_ASK] = 0.80,
        [LLMR_F_CONSTRAINTS] = 0.10,
        [LLMR_F_STEPS] = 0.10,
        [LLMR_F_MULTI_PART] = 0.10,
        [LLMR_F_REASON_WORDS] = 0.30,
        [LLMR_F_CODE] = 0.80,
        [LLMR_F_MATH] = 0.15,
        [LLMR_F_NUMBERS] = 0.00,
        [LLMR_F_VOCAB] = 0.00,
        [LLMR_F_HIGH_STAKES] = 0.80,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_GENERAL] = 0.00,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_CODE] = 0.00,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_MATH] = 0.00,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_SCIENCE] = 0.00,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_ANALYSIS] = 0.00,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_MEDICAL] = 0.00,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_LEGAL] = 0.00,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_FINANCE] = 0.00,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_CREATIVE] = 0.00,
        [LLMR_F_DOMAIN + LLMR_DOMAIN_HUMANITIES] = 0.00,
        [LLMR_F_REASONING] = 1.00,
        [LLMR_F_IMAGES] = 0.30,
        [LLMR_F_TOOLS] = 0.25,
        [LLMR_F_TOOL_RESULTS] = 0.15,
        [LLMR_F_TURNS] = 0.15,
        [LLMR_F_CONTEXT] = 0.10,
        [LLMR_F_CONTEXT_ASK] = 0.20,
        [LLMR_F_LONG_OUTPUT] = 0.15,
        [LLMR_F_SHORT_OUTPUT] = -0.30,
        [LLMR_F_JSON_OUTPUT] = 0.20,
        [LLMR_F_RELATIONS] = 0.00,
        [LLMR_F_CREATIVE] = -1.50,
        [LLMR_F_OPEN_MATH] = 1.50
    },
    { 0.15, 0.35, 0.55, 0.75 },
    0, NULL, 0
};


/* the reason a feature gives when it pushes the score up, or down */

static const struct {
    const char                 *up;
    const char                 *down;
} llmr_feature_reasons[LLMR_F_N] = {
    [LLMR_F_GREETING] = { "greeting", "greeting" },
    [LLMR_F_SIMPLE_ASK] = { "simple_question", "simple_question" },
    [LLMR_F_EXPLAIN] = { "explain", "explain" },
    [LLMR_F_COMPLEX_ASK] = { "complex_task", "complex_task" },
    [LLMR_F_EXPERT_ASK] = { "expert_task", "expert_task" },
    [LLMR_F_CONSTRAINTS] = { "constraints", "constraints" },
    [LLMR_F_STEPS] = { "multi_step", "multi_step" },
    [LLMR_F_MULTI_PART] = { "multi_part", "multi_part" },
    [LLMR_F_REASON_WORDS] = { "careful_reasoning", "careful_reasoning" },
    [LLMR_F_CODE] = { "code", "code" },
    [LLMR_F_MATH] = { "math", "math" },
    [LLMR_F_NUMBERS] = { "numbers", "numbers" },
    [LLMR_F_VOCAB] = { "technical_vocabulary", "technical_vocabulary" },
    [LLMR_F_REASONING] = { "reasoning_requested", "reasoning_requested" },
    [LLMR_F_IMAGES] = { "images", "images" },
    [LLMR_F_TOOLS] = { "tools", "tools" },
    [LLMR_F_TOOL_RESULTS] = { "tool_results", "tool_results" },
    [LLMR_F_TURNS] = { "long_conversation", "long_conversation" },
    [LLMR_F_CONTEXT] = { "long_context", "long_context" },
    [LLMR_F_CONTEXT_ASK] = { "context_signals", "context_signals" },
    [LLMR_F_LONG_OUTPUT] = { "long_output", "long_output" },
    [LLMR_F_SHORT_OUTPUT] = { "short_output", "short_output" },
    [LLMR_F_JSON_OUTPUT] = { "json_output", "json_output" },
    [LLMR_F_RELATIONS] = { "quantity_relations", "quantity_relations" },
    [LLMR_F_CREATIVE] = { "creative_writing", "creative_writing" },
    [LLMR_F_OPEN_MATH] = { "math_problem", "math_problem" }
};


static const char  *const llmr_domain_reasons[LLMR_DOMAIN_N] = {
    "domain:general", "domain:code", "domain:math", "domain:science",
    "domain:analysis", "domain:medical", "domain:legal", "domain:finance",
    "domain:creative", "domain:humanities"
};


/*
 * The built-in classifier: the model file compiled in (llmr_model_text,
 * generated at build time from core/model/default.model), read once by
 * the same loader as any model file.  Should it ever fail to load, the
 * hand-set v1 weights serve, and llmr_classifier_default_error() says
 * why.
 */

static llmr_classifier_t  *llmr_classifier_dflt;
static char                llmr_classifier_dflt_err[256];
static pthread_once_t      llmr_classifier_once = PTHREAD_ONCE_INIT;


static void
llmr_classifier_default_load(void)
{
    llmr_features_init();

    llmr_classifier_dflt = llmr_classifier_load_buffer(llmr_model_text,
                               llmr_model_text_len, llmr_classifier_dflt_err,
                               sizeof(llmr_classifier_dflt_err));
}


const llmr_classifier_t *
llmr_classifier_default(void)
{
    (void) pthread_once(&llmr_classifier_once, llmr_classifier_default_load);

    return llmr_classifier_dflt ? llmr_classifier_dflt : &llmr_classifier_hand;
}


const char *
llmr_classifier_default_error(void)
{
    (void) llmr_classifier_default();

    return llmr_classifier_dflt ? NULL : llmr_classifier_dflt_err;
}


const llmr_classifier_t *
llmr_classifier_v1(void)
{
    return &llmr_classifier_hand;
}


void
llmr_classify(const llmr_classifier_t *cl, const llmr_request_t *req,
    llmr_class_t *out)
{
    llmr_grams_t     gm;
    llmr_features_t  f;

    if (cl == NULL) {
        cl = llmr_classifier_default();
    }

    gm.w = cl->gram_w;
    gm.bits = cl->gram_bits;

    llmr_features_extract(req, &f, cl->gram_w ? &gm : NULL, NULL, 0, NULL);
    llmr_classify_features(cl, &f, out);
}


void
llmr_classify_features(const llmr_classifier_t *cl,
    const llmr_features_t *f, llmr_class_t *out)
{
    int          i, j, k, n, tier, min_tier, word_problem,
                 order[LLMR_F_N + 1];
    double       z, c[LLMR_F_N + 1], up, down, margin, m, evidence,
                 agreement, conf;
    const char  *reason;

    if (cl == NULL) {
        cl = llmr_classifier_default();
    }

    memset(out, 0, sizeof(llmr_class_t));

    z = cl->bias;
    up = 0;
    down = 0;

    /* c[LLMR_F_N]: the learned words, "vocabulary" in the reasons */

    c[LLMR_F_N] = (cl->gram_w && f->user.gram_n)
                  ? f->user.gram_z / f->user.gram_n : 0;

    for (i = 0; i <= LLMR_F_N; i++) {
        if (i < LLMR_F_N) {
            c[i] = cl->weight[i] * f->x[i];
        }

        z += c[i];

        if (c[i] > 0) {
            up += c[i];

        } else {
            down -= c[i];
        }
    }

    if (!(z > -30)) {
        /* NaN too: a broken weight must not break the class */
        z = -30;

    } else if (z > 30) {
        z = 30;
    }

    out->score = 1 / (1 + exp(-z));

    tier = llmr_score_tier(cl, out->score);

    /*
     * Floors: code and analysis asked in the last turn need at least a
     * simple model; a multi-step word problem (three numbers or more over
     * three sentences or more) and an explicit reasoning request need a
     * moderate one; high stakes a complex one, or an expert one when the
     * request is complex on its own.
     */

    min_tier = LLMR_TIER_TRIVIAL;
    word_problem = 0;

    if (f->domain_from_user
        && (f->domain == LLMR_DOMAIN_CODE || f->domain == LLMR_DOMAIN_ANALYSIS))
    {
        min_tier = LLMR_TIER_SIMPLE;
    }

    if (f->domain_from_user && f->domain == LLMR_DOMAIN_MATH
        && f->user.numbers >= 3 && f->user.sentences >= 3)
    {
        min_tier = LLMR_TIER_MODERATE;
        word_problem = 1;
    }

    if (f->x[LLMR_F_REASONING] > 0) {
        min_tier = LLMR_TIER_MODERATE;
    }

    if (f->high_stakes) {
        min_tier = (tier >= LLMR_TIER_COMPLEX) ? LLMR_TIER_EXPERT
                                                : LLMR_TIER_COMPLEX;
    }

    out->floor = min_tier;
    out->tier = tier > min_tier ? tier : min_tier;
    out->domain = f->domain;

    /*
     * Confidence: how clear of the nearest threshold the score is, times
     * how much evidence there is and how well it agrees.  A floor that
     * decided the tier is a rule, as sure as its trigger.
     */

    margin = 1;

    for (i = 0; i < LLMR_THRESHOLDS_N; i++) {
        m = fabs(out->score - cl->threshold[i]);

        if (m < margin) {
            margin = m;
        }
    }

    m = margin / LLMR_MARGIN_FULL;

    if (m > 1) {
        m = 1;
    }

    evidence = 1 - exp(-(up + down) / 2);
    agreement = (up + down > 0) ? fabs(up - down) / (up + down) : 1;

    conf = 0.1 + 0.9 * m * (0.6 + 0.25 * evidence + 0.15 * agreement);

    if (min_tier > tier && conf < 0.7) {
        conf = 0.7;
    }

    out->confidence = (conf > 1) ? 1 : (conf > 0) ? conf : 0;

    /* reasons: the rules first, then the largest contributions */

    if (f->empty) {
        llmr_reason_add(out, "empty");
    }

    if (f->high_stakes) {
        llmr_reason_add(out, "high_stakes");
    }

    if (f->domain != LLMR_DOMAIN_GENERAL) {
        llmr_reason_add(out, llmr_domain_reasons[f->domain]);
    }

    if (word_problem) {
        llmr_reason_add(out, "multi_step");
    }

    n = 0;

    for (i = 0; i <= LLMR_F_N; i++) {
        if (fabs(c[i]) >= LLMR_REASON_MIN) {
            order[n++] = i;
        }
    }

    /* insertion sort by |contribution|, stable on the feature order */

    for (i = 1; i < n; i++) {
        j = i;

        while (j > 0 && fabs(c[order[j - 1]]) < fabs(c[order[j]])) {
            k = order[j];
            order[j] = order[j - 1];
            order[j - 1] = k;
            j--;
        }
    }

    for (i = 0; i < n && out->nreasons < LLMR_REASONS_MAX; i++) {
        j = order[i];

        if (j == LLMR_F_N) {
            reason = "vocabulary";

        } else if (j == LLMR_F_LENGTH) {
            reason = f->empty ? NULL
                     : (f->x[j] < 0) ? "short"
                     : (f->units >= LLMR_LONG_PROMPT) ? "long_prompt"
                                                      : "length";

        } else {
            reason = (c[j] > 0) ? llmr_feature_reasons[j].up
                                : llmr_feature_reasons[j].down;
        }

        if (reason) {
            llmr_reason_add(out, reason);
        }
    }

    if (out->nreasons == 0) {
        llmr_reason_add(out, "no_signals");
    }
}


static void
llmr_reason_add(llmr_class_t *out, const char *reason)
{
    unsigned  i;

    if (out->nreasons >= LLMR_REASONS_MAX) {
        return;
    }

    for (i = 0; i < out->nreasons; i++) {
        if (strcmp(out->reasons[i], reason) == 0) {
            return;
        }
    }

    out->reasons[out->nreasons++] = reason;
}


int
llmr_score_tier(const llmr_classifier_t *cl, double score)
{
    int  tier;

    if (cl == NULL) {
        cl = llmr_classifier_default();
    }

    for (tier = 0; tier < LLMR_THRESHOLDS_N; tier++) {
        if (!(score >= cl->threshold[tier])) {
            break;
        }
    }

    return tier;
}


llmr_classifier_t *
llmr_classifier_create(const llmr_classifier_t *base)
{
    size_t              n;
    llmr_classifier_t  *cl;

    if (base == NULL) {
        base = llmr_classifier_default();
    }

    cl = malloc(sizeof(llmr_classifier_t));
    if (cl == NULL) {
        return NULL;
    }

    *cl = *base;
    cl->gram_w = NULL;
    cl->owned = 0;

    if (base->gram_w) {
        n = (size_t) 1 << base->gram_bits;

        cl->gram_w = malloc(n * sizeof(float));
        if (cl->gram_w == NULL) {
            free(cl);
            return NULL;
        }

        memcpy(cl->gram_w, base->gram_w, n * sizeof(float));
        cl->owned = 1;
    }

    return cl;
}


void
llmr_classifier_destroy(llmr_classifier_t *cl)
{
    if (cl == NULL || cl == &llmr_classifier_hand
        || cl == llmr_classifier_dflt)
    {
        return;
    }

    if (cl->owned) {
        free(cl->gram_w);
    }

    free(cl);
}


int
llmr_classifier_set_thresholds(llmr_classifier_t *cl, const double *t,
    size_t n)
{
    size_t  i;
    double  prev;

    if (cl == NULL || t == NULL || n != LLMR_THRESHOLDS_N) {
        return LLMR_ERROR;
    }

    prev = 0;

    for (i = 0; i < n; i++) {
        if (!(t[i] > prev) || !(t[i] < 1)) {
            return LLMR_ERROR;
        }

        prev = t[i];
    }

    memcpy(cl->threshold, t, sizeof(cl->threshold));

    return LLMR_OK;
}


void
llmr_classifier_thresholds(const llmr_classifier_t *cl, double *t)
{
    if (cl == NULL) {
        cl = llmr_classifier_default();
    }

    memcpy(t, cl->threshold, sizeof(cl->threshold));
}


int
llmr_classifier_set_weight(llmr_classifier_t *cl, const char *name,
    size_t len, double w)
{
    int  i;

    if (cl == NULL || name == NULL || !isfinite(w)) {
        return LLMR_ERROR;
    }

    if (len == 4 && memcmp(name, "bias", 4) == 0) {
        cl->bias = w;
        return LLMR_OK;
    }

    i = llmr_feature_index(name, len);
    if (i < 0) {
        return LLMR_ERROR;
    }

    cl->weight[i] = w;

    return LLMR_OK;
}
