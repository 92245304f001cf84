
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_TRAIN_H_INCLUDED_
#define _LLMR_TRAIN_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/classify.h>


/*
 * Learning the classifier's scoring layer from recorded outcomes: a
 * logistic regression over the dense features and the hashed grams of
 * the prompt, whose target is how much a stronger model helps
 * ((strong - weak) / scale + 1) / 2, or a given 0..1 label.  Everything
 * is deterministic for a seed: the same data and options always give
 * the same model file, byte for byte.
 */


#define LLMR_GROUPS_MAX         64


typedef struct llmr_dataset_s  llmr_dataset_t;


typedef struct {
    unsigned                    hash_bits;  /* 0: no grams; default 16 */
    unsigned                    epochs;     /* default 10 */
    double                      lr;         /* AdaGrad step, default 0.1 */
    double                      l2;         /* per example, default 1e-5 */
    double                      gram_l2;    /* the grams', default 1e-5 */
    double                      min_weight; /* grams below are dropped */
    double                      balance;    /* 0..1: benchmarks weigh the
                                               same at 1 (default) */
    unsigned                    bags;       /* models averaged, default 1 */
    unsigned                    prior;      /* start from base's weights */
    double                      mix;        /* > 0: v1 + mix * learned */
    uint64_t                    dense_mask; /* features used, 0: all */
    uint64_t                    seed;       /* default 1 */
} llmr_train_conf_t;


llmr_dataset_t *llmr_dataset_create(void);
void llmr_dataset_destroy(llmr_dataset_t *ds);

/*
 * One example: the prompt is sent through the extractor as the only
 * user message of an OpenAI chat body, as llmr classify and the module
 * see it.  target is 0..1; strong and weak (NAN if unknown) are kept
 * for APGR; group names the benchmark (NULL: "all").  LLMR_ERROR with
 * err set on a prompt the extractor refuses.
 */
int llmr_dataset_add(llmr_dataset_t *ds, const char *prompt, size_t len,
    double target, double strong, double weak, const char *group,
    char *err, size_t errlen);

/*
 * Reads JSONL: {"prompt", "strong", "weak"} (target from the gain,
 * scaled by the largest |strong - weak| of the file's benchmark) or
 * {"prompt", "label"}; "benchmark" names the group (else the file's
 * name).  Returns the examples added, -1 with err set on an error.
 */
long llmr_dataset_load_jsonl(llmr_dataset_t *ds, const char *path,
    char *err, size_t errlen);

size_t llmr_dataset_size(const llmr_dataset_t *ds);
size_t llmr_dataset_groups(const llmr_dataset_t *ds, const char **names);
int llmr_dataset_group_of(const llmr_dataset_t *ds, size_t i);

/* scores as route_eval.py decisions: {"id": "<group>-<n>", "score"} */
int llmr_dataset_write_scores(const llmr_dataset_t *ds, const char *path,
    const double *score, char *err, size_t errlen);

void llmr_train_conf_init(llmr_train_conf_t *conf);

/* the dense features named ("length,sentences,..."; "all": 0) */
int llmr_dense_mask(const char *names, uint64_t *mask);

/*
 * Trains on the examples idx[0 .. n - 1] (all of them when idx is NULL),
 * thresholds from base (the built-in model when NULL).
 */
llmr_classifier_t *llmr_train(const llmr_dataset_t *ds, const size_t *idx,
    size_t n, const llmr_train_conf_t *conf, const llmr_classifier_t *base);

/* the classifier's score of example i */
double llmr_dataset_score(const llmr_dataset_t *ds, size_t i,
    const llmr_classifier_t *cl);

/*
 * k-fold cross-validation, folds stratified by group: score[i] gets the
 * out-of-fold score of every example, folds[i] (when not NULL) its fold.
 */
int llmr_train_cv(const llmr_dataset_t *ds, unsigned k,
    const llmr_train_conf_t *conf, double *score, unsigned *folds);

/*
 * Leave one source out: score[i] gets the score of example i by a model
 * trained on the examples of every other source, source[i] naming
 * example i's (0 .. nsources - 1; llmr train --lobo: one a --data file).
 * LLMR_ERROR for fewer than 2 sources, a source out of range, or a
 * source that is all the examples.
 */
int llmr_train_lobo(const llmr_dataset_t *ds, const unsigned *source,
    unsigned nsources, const llmr_train_conf_t *conf, double *score);

/*
 * APGR exactly as $LLMR_EVAL_DIR/route_eval.py (RouteLLM's): the curve of
 * the 11 qcut deciles of the scores, PGR averaged over the share of
 * strong calls.  The examples of one group (-1: all) that have strong
 * and weak.  LLMR_ERROR when fewer than 2 or strong == weak on average.
 */
int llmr_apgr(const llmr_dataset_t *ds, int group, const double *score,
    double *apgr);

/* the same over the examples of one fold */
int llmr_apgr_fold(const llmr_dataset_t *ds, int group, const double *score,
    const unsigned *folds, unsigned fold, double *apgr);

/* the same on plain arrays */
int llmr_apgr_raw(const double *score, const double *strong,
    const double *weak, size_t n, double *apgr);

/*
 * Thresholds for target shares of the five tiers (summing to 1) over
 * the examples' scores: t[i] is the score above which the traffic of
 * tiers i + 1 .. 4 lies.
 */
int llmr_thresholds_for_shares(const llmr_dataset_t *ds,
    const llmr_classifier_t *cl, const double *shares, double *t);

/*
 * The same over n scores, sorted in place (llmr calibrate-thresholds
 * --bodies: the scores of logged requests).
 */
int llmr_thresholds_from_scores(double *s, size_t n, const double *shares,
    double *t);

/*
 * Thresholds for a target quality: "complex" starts at the lowest score
 * that, sending complex and expert to the strong model, keeps quality
 * of the strong model's (over the examples with strong and weak); the
 * other thresholds split the traffic below and above evenly.
 */
int llmr_thresholds_for_quality(const llmr_dataset_t *ds,
    const llmr_classifier_t *cl, double quality, double *t);


#endif /* _LLMR_TRAIN_H_INCLUDED_ */
