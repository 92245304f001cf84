
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_CLASSIFY_H_INCLUDED_
#define _LLMR_CLASSIFY_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/extract.h>


#define LLMR_REASONS_MAX            5
#define LLMR_THRESHOLDS_N           (LLMR_TIER_N - 1)


typedef struct {
    double                      score;      /* 0..1: needs a stronger model */
    double                      confidence; /* 0..1 */
    int                         tier;       /* llmr_tier_e, floor applied */
    int                         domain;     /* llmr_domain_e */
    int                         floor;      /* minimum tier from the rules */
    unsigned                    nreasons;
    const char                 *reasons[LLMR_REASONS_MAX];  /* static */
} llmr_class_t;


/*
 * A classifier: the weights of the scoring layer and the score -> tier
 * thresholds.  llmr_classifier_default() is the built-in one (the model
 * compiled in, read at the first call: make it before forking); it is
 * never freed.
 */
typedef struct llmr_classifier_s  llmr_classifier_t;


const llmr_classifier_t *llmr_classifier_default(void);

/*
 * Pure and deterministic: the same request always gets the same class.
 * cl may be NULL for the built-in classifier.
 */
void llmr_classify(const llmr_classifier_t *cl, const llmr_request_t *req,
    llmr_class_t *out);

/* the tier of a score under cl's thresholds (before any floor) */
int llmr_score_tier(const llmr_classifier_t *cl, double score);

/*
 * A classifier to adjust (calibrated thresholds, loaded weights): a copy
 * of base, or of the built-in one when base is NULL; NULL on allocation
 * failure.  Destroying NULL or the built-in classifier does nothing.
 */
llmr_classifier_t *llmr_classifier_create(const llmr_classifier_t *base);
void llmr_classifier_destroy(llmr_classifier_t *cl);

/*
 * t[i] is the lowest score of tier i + 1: n must be LLMR_THRESHOLDS_N and
 * the values strictly increasing inside (0, 1); LLMR_OK or LLMR_ERROR
 * (cl is left unchanged).
 */
int llmr_classifier_set_thresholds(llmr_classifier_t *cl, const double *t,
    size_t n);
void llmr_classifier_thresholds(const llmr_classifier_t *cl, double *t);

/*
 * Model files (see core/src/llmr_model.c for the format).  Loading checks
 * the format version, the feature set and dimensions, the checksum and
 * every weight; on an error it returns NULL and writes a one-line reason
 * into err ("line 12: gram index 70000 out of range (hash_bits=16)").
 * The classifier is freed with llmr_classifier_destroy().
 */

#define LLMR_MODEL_VERSION      1
#define LLMR_MODEL_BITS_MIN     8
#define LLMR_MODEL_BITS_MAX     24

llmr_classifier_t *llmr_classifier_load(const char *path, char *err,
    size_t errlen);
llmr_classifier_t *llmr_classifier_load_buffer(const char *data, size_t len,
    char *err, size_t errlen);

/* the model as a file's text (malloc()ed), or saved to path */
char *llmr_classifier_dump(const llmr_classifier_t *cl, size_t *len);
int llmr_classifier_save(const llmr_classifier_t *cl, const char *path,
    char *err, size_t errlen);

/*
 * NULL when the built-in model loaded, else why it did not (the v1
 * weights serve then): a build error that the unit tests catch.
 */
const char *llmr_classifier_default_error(void);

/*
 * The weight of one feature of the scoring layer by name ("bias",
 * "length", "code", "domain_legal", ...); LLMR_ERROR on an unknown name
 * or a weight that is not finite.
 */
int llmr_classifier_set_weight(llmr_classifier_t *cl, const char *name,
    size_t len, double w);


#endif /* _LLMR_CLASSIFY_H_INCLUDED_ */
