
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_CALIBRATE_H_INCLUDED_
#define _LLMR_CALIBRATE_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/registry.h>
#include <llmr/policy.h>


/*
 * Calibration: model data in the Artificial Analysis API v2 format
 * (GET /api/v2/data/llms/models) -> the Pareto frontier on (blended
 * price, intelligence index) -> tier thresholds from percentiles of the
 * price and intelligence distributions (or set by hand) -> the tier range
 * of every model -> a registry (models.json, llm_model lines) and reports.
 *
 * Percentiles: linear interpolation between closest ranks (the "R-7"
 * method of R and NumPy, Excel's PERCENTILE.INC).  The n values sorted
 * ascending v[0] <= ... <= v[n-1], h = (n - 1) * p / 100,
 * P(p) = v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)]).
 * Tied values are kept (each model counts once), so a tie only makes
 * neighbouring ranks equal; one model gives its own value for every p;
 * no value at all gives NaN.
 *
 * Bands (the defaults) and the router tier each one becomes:
 *
 *   tier      band        price ceiling   intelligence floor   math floor
 *   trivial   simple      P35             P5                   -
 *   simple    medium      P60             P20                  -
 *   moderate  complex     P85             P40                  -
 *   complex   reasoning   P85             P40                  P30
 *   expert    premium     none            P70                  -
 *
 * A model passes a band when its blended price is <= the ceiling, its
 * intelligence >= the floor and, for complex, its math index >= the math
 * floor (a model without a math index fails that; when no model has one
 * the condition is dropped).  A model serves the range from the lowest to
 * the highest tier it passes; a tier inside that range it does not pass
 * is served too ("filled"), since a registry range has no holes.
 */


#define LLMR_CAL_INPUT_MAX      (32 * 1024 * 1024)
#define LLMR_CAL_MODELS_MAX     4096
#define LLMR_CAL_DEPTH_MAX      64

/* the comparison point for reports: a blended 3:1 million tokens */
#define LLMR_CAL_BLEND_IN       750000
#define LLMR_CAL_BLEND_OUT      250000


typedef struct {
    double                      max_cost;   /* USD/1M blended, < 0: none */
    double                      min_intelligence;
    double                      min_math;   /* < 0: no condition */
    double                      p_cost;     /* the percentiles, < 0: none */
    double                      p_intelligence;
    double                      p_math;
    int                         manual;     /* set by the override file */
} llmr_cal_band_t;


typedef struct {
    char                       *name;       /* registry name (AA slug) */
    char                       *label;      /* AA display name */
    char                       *creator;    /* model_creator.name */
    char                       *provider;   /* model_creator.slug */
    char                       *upstream;   /* <provider>_pool or mapped */
    char                       *id;         /* provider id, NULL: name */

    double                      price_in;   /* USD per million tokens */
    double                      price_out;
    double                      price;      /* blended 3:1 */
    double                      intelligence;
    double                      coding;     /* < 0: unknown */
    double                      math;       /* < 0: unknown */
    double                      speed_tps;  /* < 0: unknown */
    double                      ttft_s;     /* < 0: unknown */

    uint64_t                    context;    /* from the overrides */
    unsigned                    caps;       /* from the overrides */

    const char                 *ignored;    /* why left out, or NULL */
    int                         frontier;
    unsigned                    passes;     /* bit t: passes tier t */
    int                         tier_lo;    /* -1: placed nowhere */
    int                         tier_hi;
    int                         forced;     /* tiers set by an override */
    int                         selected;   /* written out */
    const char                 *dropped;    /* why not written, or NULL */
} llmr_cal_model_t;


typedef struct {
    char                       *name;
    char                       *reason;
} llmr_cal_skip_t;


/* per-model settings from the override file */

typedef struct {
    char                       *name;
    char                       *id;
    char                       *upstream;
    char                       *tiers;
    uint64_t                    context;
    unsigned                    caps;
    int                         has_caps;
    int                         exclude;
    int                         used;
} llmr_cal_override_t;


typedef struct {
    llmr_cal_model_t           *models;
    unsigned                    n;
    unsigned                    nalloc;

    llmr_cal_skip_t            *skipped;
    unsigned                    nskipped;
    unsigned                    nskipalloc;

    unsigned                    read;       /* entries in the input */
    unsigned                    filtered;   /* left out by --providers */
    unsigned                    excluded;   /* left out by the overrides */
    unsigned                    nfrontier;
    unsigned                    nplaced;
    unsigned                    nselected;
    int                         math_dropped;   /* no model has math */

    int                         manual;     /* calibration.method manual */
    llmr_cal_band_t             bands[LLMR_TIER_N];

    /* settings: the override file, --upstream-map, --providers */
    llmr_cal_override_t        *ov;
    unsigned                    nov;
    char                      **map_from;
    char                      **map_to;
    unsigned                    nmap;
    char                      **providers;
    unsigned                    nproviders;

    /* for the reports */
    const char                 *source;
    char                        when[32];   /* ISO 8601 UTC */
} llmr_cal_t;


llmr_cal_t *llmr_cal_create(void);
void llmr_cal_destroy(llmr_cal_t *cal);

/* P(p) of n values, sorting v in place (see above); NaN when n is 0 */
double llmr_cal_percentile(double *v, size_t n, double p);

/*
 * The override file (JSON):
 *
 *   {"calibration": {"method": "percentile" | "manual",
 *        "percentiles": {"TIER": {"cost": P, "intelligence": P,
 *                                 "math": P}, ...},       (percentile)
 *        "thresholds": {"TIER": {"max_cost": X | null,
 *                                "min_intelligence": Y,
 *                                "min_math": Z | null}, ...}},  (manual)
 *    "upstreams": {"PROVIDER": "UPSTREAM", ...},
 *    "providers": ["openai", ...],
 *    "models": {"NAME": {"id": "...", "upstream": "...",
 *                        "tiers": "LO-HI", "caps": ["tools", ...],
 *                        "context": N, "exclude": true}, ...}}
 *
 * Tiers not named keep the default percentiles.  Unknown keys, tiers and
 * wrong types are errors (typos must not pass silently).
 */
int llmr_cal_load_overrides(llmr_cal_t *cal, const char *data, size_t len,
    char *err, size_t errlen);

/* --upstream-map openai=oai_pool: one pair; --providers: one name */
int llmr_cal_map_upstream(llmr_cal_t *cal, const char *provider,
    size_t plen, const char *upstream, size_t ulen, char *err,
    size_t errlen);
int llmr_cal_allow_provider(llmr_cal_t *cal, const char *provider,
    size_t len);

/*
 * Reads {"status": 200, "data": [...]} (or a bare array) in the
 * Artificial Analysis v2 format.  An entry without a name, intelligence
 * index or price, or with a wrong type or a negative value there, is
 * skipped and recorded in cal->skipped with the reason; unknown speed,
 * time to first token, math or coding indexes are kept as unknown.
 * Fails on malformed JSON, input larger than LLMR_CAL_INPUT_MAX, nesting
 * deeper than LLMR_CAL_DEPTH_MAX, more than LLMR_CAL_MODELS_MAX entries,
 * a non-200 "status" or no "data" array.
 */
int llmr_cal_parse_aa(llmr_cal_t *cal, const char *data, size_t len,
    char *err, size_t errlen);

/*
 * Frontier, percentiles, bands, tier ranges and the selection of at most
 * max_models (<= LLMR_MODELS_MAX) models to write: the first model of
 * every tier under every profile, then the frontier, then the most
 * intelligence per dollar.  Fails when no model is usable.
 */
int llmr_cal_run(llmr_cal_t *cal, unsigned max_models, char *err,
    size_t errlen);

/* a registry model from a calibrated one, for llmr_profile_cmp() */
void llmr_cal_to_model(const llmr_cal_model_t *c, llmr_model_t *m);

/*
 * Outputs, each a malloc()ed NUL-terminated string (NULL: out of
 * memory).  models.json uses the keys of llmr_registry_load_json(); the
 * include has one llm_model line a model.  The changelog entry compares
 * with the registry of the previous run (prev NULL: the first run;
 * prev_err set: it could not be read).
 */
char *llmr_cal_models_json(const llmr_cal_t *cal);
char *llmr_cal_nginx_include(const llmr_cal_t *cal);
char *llmr_cal_models_md(const llmr_cal_t *cal);
char *llmr_cal_changelog(const llmr_cal_t *cal, const llmr_registry_t *prev,
    const char *prev_err);
char *llmr_cal_report(const llmr_cal_t *cal, int explore);


#endif /* _LLMR_CALIBRATE_H_INCLUDED_ */
