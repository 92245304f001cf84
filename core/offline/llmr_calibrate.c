
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include <llmr/calibrate.h>


#define LLMR_CAL_NAME_MAX       LLMR_NAME_MAX
#define LLMR_CAL_OVERRIDES_MAX  1024

/* the characters llmr_registry_add() accepts in an id and an upstream */
#define LLMR_CAL_ID_CHARS       "._:/@+-"
#define LLMR_CAL_UPSTREAM_CHARS "._:[]-"
#define LLMR_CAL_PROVIDER_CHARS "_-"

/*
 * A model's default upstream is its provider and this suffix; a provider
 * name leaves room for it within LLMR_CAL_NAME_MAX.
 */
#define LLMR_CAL_POOL           "_pool"
#define LLMR_CAL_POOL_LEN       ((int) sizeof(LLMR_CAL_POOL) - 1)

/* the largest price, index, speed or latency llmr_registry_add() takes */
#define LLMR_CAL_VALUE_MAX      1e6

/* an override's context=: tokens, far above any model's window */
#define LLMR_CAL_CONTEXT_MAX    1e10

/* "entry #N" for an entry without a name */
#define LLMR_CAL_REF_SIZE       32

/* yajl's parse error, one line of it */
#define LLMR_CAL_YAJL_ERR_SIZE  256

/* an override's caps, comma-joined: the six names fit many times */
#define LLMR_CAL_CAPS_SIZE      256

/* the models array grows by doubling from this; overrides by this */
#define LLMR_CAL_MODELS_ALLOC   64
#define LLMR_CAL_OVERRIDES_ALLOC  16
#define LLMR_CAL_SKIPS_ALLOC    16

/* why an entry was skipped, one line of the report */
#define LLMR_CAL_REASON_SIZE    256


/* the default bands, one a router tier (see calibrate.h) */

static const double  llmr_cal_default_p[LLMR_TIER_N][3] = {
    /* cost, intelligence, math */
    { 35, 5, -1 },
    { 60, 20, -1 },
    { 85, 40, -1 },
    { 85, 40, 30 },
    { -1, 70, -1 },
};


static yajl_val llmr_cal_get(yajl_val obj, const char *key);
static int llmr_cal_number(yajl_val v, double *d);
static int llmr_cal_depth_ok(const char *data, size_t len);
static char *llmr_cal_clean(const char *s, const char *extra, int lower);
static int llmr_cal_chars_ok(const char *s, size_t len, const char *extra);
static int llmr_cal_skip(llmr_cal_t *cal, const char *name,
    const char *fmt, ...);
static int llmr_cal_parse_entry(llmr_cal_t *cal, yajl_val e, unsigned no);
static int llmr_cal_parse_bands(llmr_cal_t *cal, yajl_val v, int manual,
    char *err, size_t errlen);
static int llmr_cal_parse_override(llmr_cal_t *cal, const char *name,
    yajl_val v, char *err, size_t errlen);
static int llmr_cal_push_str(char ***arr, unsigned *n, const char *s,
    size_t len);
static llmr_cal_override_t *llmr_cal_find_override(llmr_cal_t *cal,
    const char *name);
static void llmr_cal_select(llmr_cal_t *cal, unsigned max);
static const char *llmr_cal_get_string(yajl_val obj, const char *key);
static int llmr_cal_skipped(int rc);
static int llmr_cal_entry_creator(llmr_cal_t *cal, yajl_val e,
    llmr_cal_model_t *m);
static int llmr_cal_entry_indexes(llmr_cal_t *cal, yajl_val e,
    llmr_cal_model_t *m);
static int llmr_cal_entry_price(llmr_cal_t *cal, llmr_cal_model_t *m,
    yajl_val pricing, const char *key, double *price, const char *invalid);
static int llmr_cal_entry_prices(llmr_cal_t *cal, yajl_val e,
    llmr_cal_model_t *m);
static void llmr_cal_entry_speed(yajl_val e, llmr_cal_model_t *m);
static int llmr_cal_add(llmr_cal_t *cal, llmr_cal_model_t *m);
static int llmr_cal_load_calibration(llmr_cal_t *cal, yajl_val v, char *err,
    size_t errlen);
static int llmr_cal_load_upstreams(llmr_cal_t *cal, yajl_val v, char *err,
    size_t errlen);
static int llmr_cal_load_providers(llmr_cal_t *cal, yajl_val v, char *err,
    size_t errlen);
static int llmr_cal_load_models(llmr_cal_t *cal, yajl_val v, char *err,
    size_t errlen);
static int llmr_cal_override_string(llmr_cal_override_t *o,
    const char *name, const char *key, yajl_val x, char *err, size_t errlen);
static int llmr_cal_override_caps(llmr_cal_override_t *o, const char *name,
    yajl_val x, char *err, size_t errlen);
static int llmr_cal_tier_range(const char *s, int *lo, int *hi);
static int llmr_cal_admit(llmr_cal_t *cal, llmr_cal_model_t *m);
static void llmr_cal_frontier(llmr_cal_t *cal);
static int llmr_cal_thresholds(llmr_cal_t *cal, unsigned n);
static void llmr_cal_place(llmr_cal_t *cal);


llmr_cal_t *
llmr_cal_create(void)
{
    int          t;
    llmr_cal_t  *cal;

    cal = calloc(1, sizeof(llmr_cal_t));
    if (cal == NULL) {
        return NULL;
    }

    for (t = 0; t < LLMR_TIER_N; t++) {
        cal->bands[t].p_cost = llmr_cal_default_p[t][0];
        cal->bands[t].p_intelligence = llmr_cal_default_p[t][1];
        cal->bands[t].p_math = llmr_cal_default_p[t][2];
        cal->bands[t].max_cost = -1;
        cal->bands[t].min_math = -1;
    }

    cal->source = "";

    return cal;
}


void
llmr_cal_destroy(llmr_cal_t *cal)
{
    unsigned              i;
    llmr_cal_model_t     *m;
    llmr_cal_override_t  *o;

    if (cal == NULL) {
        return;
    }

    for (i = 0; i < cal->n; i++) {
        m = &cal->models[i];
        free(m->name);
        free(m->label);
        free(m->creator);
        free(m->provider);
        free(m->upstream);
        free(m->id);
    }

    for (i = 0; i < cal->nskipped; i++) {
        free(cal->skipped[i].name);
        free(cal->skipped[i].reason);
    }

    for (i = 0; i < cal->nov; i++) {
        o = &cal->ov[i];
        free(o->name);
        free(o->id);
        free(o->upstream);
        free(o->tiers);
    }

    for (i = 0; i < cal->nmap; i++) {
        free(cal->map_from[i]);
        free(cal->map_to[i]);
    }

    for (i = 0; i < cal->nproviders; i++) {
        free(cal->providers[i]);
    }

    free(cal->models);
    free(cal->skipped);
    free(cal->ov);
    free(cal->map_from);
    free(cal->map_to);
    free(cal->providers);
    free(cal);
}


static int
llmr_cal_cmp_double(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x < y) ? -1 : (x > y) ? 1 : 0;
}


double
llmr_cal_percentile(double *v, size_t n, double p)
{
    size_t  lo;
    double  h;

    if (n == 0) {
        return NAN;
    }

    qsort(v, n, sizeof(double), llmr_cal_cmp_double);

    if (p <= 0) {
        return v[0];
    }

    if (p >= 100) {
        return v[n - 1];
    }

    h = (double) (n - 1) * p / 100;
    lo = (size_t) floor(h);

    if (lo + 1 >= n) {
        return v[n - 1];
    }

    return v[lo] + (h - (double) lo) * (v[lo + 1] - v[lo]);
}


/* input ---------------------------------------------------------------- */


int
llmr_cal_parse_aa(llmr_cal_t *cal, const char *data, size_t len, char *err,
    size_t errlen)
{
    int        rc;
    char       ybuf[LLMR_CAL_YAJL_ERR_SIZE], *copy;
    double     status;
    size_t     i;
    yajl_val   root, list, v;

    if (len > LLMR_CAL_INPUT_MAX) {
        return llmr_errorf(err, errlen, "the model data is larger than "
                           "%d bytes", LLMR_CAL_INPUT_MAX);
    }

    if (len == 0) {
        return llmr_errorf(err, errlen, "the model data is empty");
    }

    if (memchr(data, '\0', len) != NULL) {
        return llmr_errorf(err, errlen, "invalid JSON: a NUL byte");
    }

    if (!llmr_cal_depth_ok(data, len)) {
        return llmr_errorf(err, errlen, "invalid JSON: nested deeper "
                           "than %d levels", LLMR_CAL_DEPTH_MAX);
    }

    copy = llmr_strndup(data, len);
    if (copy == NULL) {
        return llmr_errorf(err, errlen, "out of memory");
    }

    ybuf[0] = '\0';
    root = yajl_tree_parse(copy, ybuf, sizeof(ybuf));
    free(copy);

    if (root == NULL) {
        for (i = 0; ybuf[i]; i++) {
            if (ybuf[i] == '\n' || ybuf[i] == '\r') {
                ybuf[i] = ' ';
            }
        }

        while (i > 0 && ybuf[i - 1] == ' ') {
            ybuf[--i] = '\0';
        }

        return llmr_errorf(err, errlen, "invalid JSON: %s",
                           ybuf[0] ? ybuf : "parse error");
    }

    list = root;

    if (YAJL_IS_OBJECT(root)) {
        v = llmr_cal_get(root, "status");

        if (v && llmr_cal_number(v, &status) == LLMR_OK && status != 200) {
            yajl_tree_free(root);
            return llmr_errorf(err, errlen, "the data says \"status\": "
                               "%.0f, not 200", status);
        }

        list = llmr_cal_get(root, "data");
    }

    if (list == NULL || !YAJL_IS_ARRAY(list)) {
        yajl_tree_free(root);
        return llmr_errorf(err, errlen, "expected {\"data\": [...]} in "
                           "the Artificial Analysis v2 format");
    }

    if (list->u.array.len + cal->read > LLMR_CAL_MODELS_MAX) {
        yajl_tree_free(root);
        return llmr_errorf(err, errlen, "more than %d models",
                           LLMR_CAL_MODELS_MAX);
    }

    rc = LLMR_OK;

    for (i = 0; i < list->u.array.len; i++) {
        cal->read++;

        if (llmr_cal_parse_entry(cal, list->u.array.values[i], cal->read)
            != LLMR_OK)
        {
            rc = llmr_errorf(err, errlen, "out of memory");
            break;
        }
    }

    yajl_tree_free(root);

    return rc;
}


/*
 * One entry; a missing or bad required field skips it.  Returns LLMR_ERROR
 * only when out of memory.
 */

static int
llmr_cal_parse_entry(llmr_cal_t *cal, yajl_val e, unsigned no)
{
    int                rc;
    char               ref[LLMR_CAL_REF_SIZE];
    const char        *label, *slug;
    llmr_cal_model_t   m;

    snprintf(ref, sizeof(ref), "entry #%u", no);

    if (!YAJL_IS_OBJECT(e)) {
        return llmr_cal_skip(cal, ref, "not an object");
    }

    label = llmr_cal_get_string(e, "name");
    slug = llmr_cal_get_string(e, "slug");

    if (label == NULL) {
        label = slug;
    }

    if (label == NULL) {
        return llmr_cal_skip(cal, ref, "no name or slug");
    }

    if (slug == NULL) {
        slug = label;
    }

    if (strlen(label) > LLMR_CAL_NAME_MAX || strlen(slug) > LLMR_CAL_NAME_MAX)
    {
        return llmr_cal_skip(cal, ref, "name longer than %d bytes",
                             LLMR_CAL_NAME_MAX);
    }

    memset(&m, 0, sizeof(llmr_cal_model_t));
    m.coding = -1;
    m.math = -1;
    m.speed_tps = -1;
    m.ttft_s = -1;
    m.tier_lo = -1;
    m.tier_hi = -1;

    m.label = llmr_cal_clean(label, NULL, 0);
    m.name = llmr_cal_clean(slug, LLMR_CAL_ID_CHARS, 0);

    rc = (m.label == NULL || m.name == NULL) ? LLMR_ERROR : LLMR_OK;

    if (rc == LLMR_OK) {
        rc = llmr_cal_entry_creator(cal, e, &m);
    }

    if (rc == LLMR_OK) {
        rc = llmr_cal_entry_indexes(cal, e, &m);
    }

    if (rc == LLMR_OK) {
        rc = llmr_cal_entry_prices(cal, e, &m);
    }

    if (rc == LLMR_OK) {
        llmr_cal_entry_speed(e, &m);
        rc = llmr_cal_add(cal, &m);
    }

    if (rc == LLMR_OK) {
        return LLMR_OK;
    }

    free(m.label);
    free(m.name);
    free(m.creator);
    free(m.provider);

    /* a skipped entry is no error: only running out of memory is */

    return (rc == LLMR_DECLINED) ? LLMR_OK : LLMR_ERROR;
}


/* a non-empty string member, or NULL */

static const char *
llmr_cal_get_string(yajl_val obj, const char *key)
{
    yajl_val  v;

    v = llmr_cal_get(obj, key);

    return (YAJL_IS_STRING(v) && v->u.string[0]) ? v->u.string : NULL;
}


/*
 * What llmr_cal_skip() returned, as the entry helpers return it: the entry
 * is left out (LLMR_DECLINED) or memory ran out (LLMR_ERROR).
 */

static int
llmr_cal_skipped(int rc)
{
    return (rc == LLMR_OK) ? LLMR_DECLINED : LLMR_ERROR;
}


/* the provider: model_creator.slug, else its name */

static int
llmr_cal_entry_creator(llmr_cal_t *cal, yajl_val e, llmr_cal_model_t *m)
{
    yajl_val     creator;
    const char  *cname, *cslug;

    cname = NULL;
    cslug = NULL;
    creator = llmr_cal_get(e, "model_creator");

    if (YAJL_IS_OBJECT(creator)) {
        cname = llmr_cal_get_string(creator, "name");
        cslug = llmr_cal_get_string(creator, "slug");
    }

    if (cslug == NULL) {
        cslug = cname ? cname : "unknown";
    }

    if (cname == NULL) {
        cname = cslug;
    }

    /* the default upstream is the provider and LLMR_CAL_POOL, a name too */

    if (strlen(cname) > LLMR_CAL_NAME_MAX
        || strlen(cslug) > LLMR_CAL_NAME_MAX - LLMR_CAL_POOL_LEN)
    {
        return llmr_cal_skipped(llmr_cal_skip(cal, m->label,
                                              "creator name longer than %d "
                                              "bytes", LLMR_CAL_NAME_MAX
                                                       - LLMR_CAL_POOL_LEN));
    }

    m->creator = llmr_cal_clean(cname, NULL, 0);
    m->provider = llmr_cal_clean(cslug, LLMR_CAL_PROVIDER_CHARS, 1);

    if (m->creator == NULL || m->provider == NULL) {
        return LLMR_ERROR;
    }

    return LLMR_OK;
}


/* required: the intelligence index; optional: coding and math */

static int
llmr_cal_entry_indexes(llmr_cal_t *cal, yajl_val e, llmr_cal_model_t *m)
{
    int       rc;
    double    d;
    yajl_val  v, evals;

    evals = llmr_cal_get(e, "evaluations");
    v = YAJL_IS_OBJECT(evals)
        ? llmr_cal_get(evals, "artificial_analysis_intelligence_index")
        : NULL;

    rc = llmr_cal_number(v, &m->intelligence);

    if (rc == LLMR_DECLINED) {
        return llmr_cal_skipped(llmr_cal_skip(cal, m->label,
                                              "no intelligence index"));
    }

    /* the registry takes indexes, as prices, up to LLMR_CAL_VALUE_MAX */

    if (rc != LLMR_OK || m->intelligence < 0
        || m->intelligence > LLMR_CAL_VALUE_MAX)
    {
        return llmr_cal_skipped(llmr_cal_skip(cal, m->label,
                                              "invalid intelligence index"));
    }

    if (YAJL_IS_OBJECT(evals)) {
        if (llmr_cal_number(llmr_cal_get(evals,
                                         "artificial_analysis_coding_index"),
                            &d) == LLMR_OK && d >= 0 && d <= LLMR_CAL_VALUE_MAX)
        {
            m->coding = d;
        }

        if (llmr_cal_number(llmr_cal_get(evals,
                                         "artificial_analysis_math_index"),
                            &d) == LLMR_OK && d >= 0 && d <= LLMR_CAL_VALUE_MAX)
        {
            m->math = d;
        }
    }

    return LLMR_OK;
}


/* pricing.KEY into *price if there and valid (-1 if not there) */

static int
llmr_cal_entry_price(llmr_cal_t *cal, llmr_cal_model_t *m, yajl_val pricing,
    const char *key, double *price, const char *invalid)
{
    int  rc;

    rc = llmr_cal_number(llmr_cal_get(pricing, key), price);

    if (rc == LLMR_ERROR || (rc == LLMR_OK && *price < 0)) {
        return llmr_cal_skipped(llmr_cal_skip(cal, m->label, "%s",
                                              invalid));
    }

    return LLMR_OK;
}


/* required: a price, blended or from input and output */

static int
llmr_cal_entry_prices(llmr_cal_t *cal, yajl_val e, llmr_cal_model_t *m)
{
    int       rc;
    yajl_val  pricing;

    pricing = llmr_cal_get(e, "pricing");
    m->price = -1;
    m->price_in = -1;
    m->price_out = -1;

    if (YAJL_IS_OBJECT(pricing)) {
        rc = llmr_cal_entry_price(cal, m, pricing, "price_1m_blended_3_to_1",
                                  &m->price, "invalid blended price");

        if (rc == LLMR_OK) {
            rc = llmr_cal_entry_price(cal, m, pricing,
                                      "price_1m_input_tokens", &m->price_in,
                                      "invalid input price");
        }

        if (rc == LLMR_OK) {
            rc = llmr_cal_entry_price(cal, m, pricing,
                                      "price_1m_output_tokens",
                                      &m->price_out, "invalid output price");
        }

        if (rc != LLMR_OK) {
            return rc;
        }
    }

    /* Artificial Analysis blends 3 input tokens to 1 output token */

    if (m->price < 0 && m->price_in >= 0 && m->price_out >= 0) {
        m->price = (3 * m->price_in + m->price_out) / 4;
    }

    if (m->price < 0) {
        return llmr_cal_skipped(llmr_cal_skip(cal, m->label, "no price"));
    }

    if (m->price == 0) {

        /* Artificial Analysis publishes 0 for "no public price" */

        return llmr_cal_skipped(llmr_cal_skip(cal, m->label,
                                              "price 0 (no public price)"));
    }

    if (m->price_in < 0 || m->price_out < 0) {

        /* only the blended price: charge it for both directions */

        m->price_in = m->price;
        m->price_out = m->price;
    }

    if (m->price > LLMR_CAL_VALUE_MAX || m->price_in > LLMR_CAL_VALUE_MAX
        || m->price_out > LLMR_CAL_VALUE_MAX)
    {
        return llmr_cal_skipped(llmr_cal_skip(cal, m->label,
                                              "price over 1,000,000 USD"));
    }

    return LLMR_OK;
}


/* optional: speed and latency; 0 means not measured */

static void
llmr_cal_entry_speed(yajl_val e, llmr_cal_model_t *m)
{
    double  d;

    if (llmr_cal_number(llmr_cal_get(e, "median_output_tokens_per_second"),
                        &d) == LLMR_OK && d > 0 && d <= LLMR_CAL_VALUE_MAX)
    {
        m->speed_tps = d;
    }

    if (llmr_cal_number(llmr_cal_get(e,
                                     "median_time_to_first_token_seconds"),
                        &d) == LLMR_OK && d > 0 && d <= LLMR_CAL_VALUE_MAX)
    {
        m->ttft_s = d;
    }
}


/* a model with a name no earlier entry took joins cal->models */

static int
llmr_cal_add(llmr_cal_t *cal, llmr_cal_model_t *m)
{
    unsigned           i, nalloc;
    llmr_cal_model_t  *nm;

    for (i = 0; i < cal->n; i++) {
        if (strcmp(cal->models[i].name, m->name) == 0) {
            return llmr_cal_skipped(llmr_cal_skip(cal, m->label,
                                                  "same name as an earlier "
                                                  "entry (\"%s\")", m->name));
        }
    }

    if (cal->n == cal->nalloc) {
        nalloc = cal->nalloc ? cal->nalloc * 2 : LLMR_CAL_MODELS_ALLOC;
        nm = realloc(cal->models, nalloc * sizeof(llmr_cal_model_t));
        if (nm == NULL) {
            return LLMR_ERROR;
        }

        cal->models = nm;
        cal->nalloc = nalloc;
    }

    cal->models[cal->n++] = *m;

    return LLMR_OK;
}


/* overrides ------------------------------------------------------------ */


int
llmr_cal_load_overrides(llmr_cal_t *cal, const char *data, size_t len,
    char *err, size_t errlen)
{
    int          rc;
    char         ybuf[LLMR_CAL_YAJL_ERR_SIZE], *copy;
    size_t       i;
    yajl_val     root, v;
    const char  *key;

    if (len > LLMR_CAL_INPUT_MAX || !llmr_cal_depth_ok(data, len)
        || memchr(data, '\0', len) != NULL)
    {
        return llmr_errorf(err, errlen, "the override file is too large, "
                           "too deep or binary");
    }

    copy = llmr_strndup(data, len);
    if (copy == NULL) {
        return llmr_errorf(err, errlen, "out of memory");
    }

    ybuf[0] = '\0';
    root = yajl_tree_parse(copy, ybuf, sizeof(ybuf));
    free(copy);

    if (root == NULL) {
        for (i = 0; ybuf[i]; i++) {
            if (ybuf[i] == '\n' || ybuf[i] == '\r') {
                ybuf[i] = ' ';
            }
        }

        return llmr_errorf(err, errlen, "invalid JSON: %s", ybuf);
    }

    if (!YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        return llmr_errorf(err, errlen, "the override file must be a "
                           "JSON object");
    }

    rc = LLMR_OK;

    for (i = 0; i < root->u.object.len && rc == LLMR_OK; i++) {
        key = root->u.object.keys[i];
        v = root->u.object.values[i];

        if (key[0] == '_') {
            /* "_comment", "_note": free text */
            continue;
        }

        if (strcmp(key, "calibration") == 0) {
            rc = llmr_cal_load_calibration(cal, v, err, errlen);

        } else if (strcmp(key, "upstreams") == 0) {
            rc = llmr_cal_load_upstreams(cal, v, err, errlen);

        } else if (strcmp(key, "providers") == 0) {
            rc = llmr_cal_load_providers(cal, v, err, errlen);

        } else if (strcmp(key, "models") == 0) {
            rc = llmr_cal_load_models(cal, v, err, errlen);

        } else {
            rc = llmr_errorf(err, errlen, "unknown key \"%s\" (known: "
                             "calibration, upstreams, providers, models)",
                             key);
        }
    }

    yajl_tree_free(root);

    return rc;
}


/* "calibration": {"method": ..., "percentiles" or "thresholds": ...} */

static int
llmr_cal_load_calibration(llmr_cal_t *cal, yajl_val v, char *err,
    size_t errlen)
{
    int          rc, manual;
    size_t       k;
    yajl_val     c, x;
    const char  *key, *method;

    if (!YAJL_IS_OBJECT(v)) {
        return llmr_errorf(err, errlen, "\"calibration\" must be an "
                           "object");
    }

    method = "percentile";
    c = llmr_cal_get(v, "method");

    if (c != NULL) {
        if (!YAJL_IS_STRING(c)
            || (strcmp(c->u.string, "percentile") != 0
                && strcmp(c->u.string, "manual") != 0))
        {
            return llmr_errorf(err, errlen, "calibration.method must be "
                               "\"percentile\" or \"manual\"");
        }

        method = c->u.string;
    }

    manual = (strcmp(method, "manual") == 0);
    cal->manual = manual;

    rc = LLMR_OK;

    for (k = 0; k < v->u.object.len && rc == LLMR_OK; k++) {
        key = v->u.object.keys[k];
        x = v->u.object.values[k];

        if (strcmp(key, "method") == 0 || key[0] == '_') {
            continue;
        }

        if (strcmp(key, "percentiles") == 0) {
            if (manual) {
                return llmr_errorf(err, errlen, "calibration.percentiles "
                                   "needs method \"percentile\"");
            }

            rc = llmr_cal_parse_bands(cal, x, 0, err, errlen);

        } else if (strcmp(key, "thresholds") == 0) {
            if (!manual) {
                return llmr_errorf(err, errlen, "calibration.thresholds "
                                   "needs method \"manual\"");
            }

            rc = llmr_cal_parse_bands(cal, x, 1, err, errlen);

        } else {
            rc = llmr_errorf(err, errlen, "unknown key "
                             "\"calibration.%s\"", key);
        }
    }

    if (rc == LLMR_OK && manual && llmr_cal_get(v, "thresholds") == NULL) {
        rc = llmr_errorf(err, errlen, "calibration.method \"manual\" "
                         "needs calibration.thresholds");
    }

    return rc;
}


/* "upstreams": {"provider": "upstream", ...} */

static int
llmr_cal_load_upstreams(llmr_cal_t *cal, yajl_val v, char *err,
    size_t errlen)
{
    int       rc;
    size_t    k;
    yajl_val  x;

    if (!YAJL_IS_OBJECT(v)) {
        return llmr_errorf(err, errlen, "\"upstreams\" must be an object "
                           "of \"provider\": \"upstream\"");
    }

    rc = LLMR_OK;

    for (k = 0; k < v->u.object.len && rc == LLMR_OK; k++) {
        x = v->u.object.values[k];

        if (!YAJL_IS_STRING(x)) {
            return llmr_errorf(err, errlen, "upstreams.%s must be a "
                               "string", v->u.object.keys[k]);
        }

        rc = llmr_cal_map_upstream(cal, v->u.object.keys[k],
                                   strlen(v->u.object.keys[k]),
                                   x->u.string, strlen(x->u.string),
                                   err, errlen);
    }

    return rc;
}


/* "providers": ["provider", ...], the only ones to take part */

static int
llmr_cal_load_providers(llmr_cal_t *cal, yajl_val v, char *err,
    size_t errlen)
{
    int       rc;
    size_t    k;
    yajl_val  x;

    if (!YAJL_IS_ARRAY(v)) {
        return llmr_errorf(err, errlen, "\"providers\" must be an array "
                           "of strings");
    }

    rc = LLMR_OK;

    for (k = 0; k < v->u.array.len && rc == LLMR_OK; k++) {
        x = v->u.array.values[k];

        if (!YAJL_IS_STRING(x)) {
            return llmr_errorf(err, errlen, "\"providers\" must be an "
                               "array of strings");
        }

        if (llmr_cal_allow_provider(cal, x->u.string, strlen(x->u.string))
            != LLMR_OK)
        {
            rc = llmr_errorf(err, errlen, "out of memory");
        }
    }

    return rc;
}


/* "models": {"name": {...}, ...} */

static int
llmr_cal_load_models(llmr_cal_t *cal, yajl_val v, char *err, size_t errlen)
{
    int     rc;
    size_t  k;

    if (!YAJL_IS_OBJECT(v)) {
        return llmr_errorf(err, errlen, "\"models\" must be an object of "
                           "\"name\": {...}");
    }

    rc = LLMR_OK;

    for (k = 0; k < v->u.object.len && rc == LLMR_OK; k++) {
        rc = llmr_cal_parse_override(cal, v->u.object.keys[k],
                                     v->u.object.values[k], err, errlen);
    }

    return rc;
}


/* {"TIER": {"cost": P, ...}} or {"TIER": {"max_cost": X, ...}} */

static int
llmr_cal_parse_bands(llmr_cal_t *cal, yajl_val v, int manual, char *err,
    size_t errlen)
{
    int               t, rc, set;
    double            d;
    size_t            i, k;
    yajl_val          b, x;
    const char       *key, *what;
    llmr_cal_band_t   band;

    what = manual ? "thresholds" : "percentiles";

    if (!YAJL_IS_OBJECT(v)) {
        return llmr_errorf(err, errlen, "calibration.%s must be an "
                           "object of tiers", what);
    }

    for (i = 0; i < v->u.object.len; i++) {
        t = llmr_tier_parse(v->u.object.keys[i], strlen(v->u.object.keys[i]));

        if (t < 0) {
            return llmr_errorf(err, errlen, "calibration.%s: unknown tier "
                               "\"%s\" (tiers are trivial, simple, "
                               "moderate, complex, expert)", what,
                               v->u.object.keys[i]);
        }

        b = v->u.object.values[i];

        if (!YAJL_IS_OBJECT(b)) {
            return llmr_errorf(err, errlen, "calibration.%s.%s must be an "
                               "object", what, v->u.object.keys[i]);
        }

        band = cal->bands[t];

        if (manual) {
            band.manual = 1;
            band.max_cost = -1;
            band.min_intelligence = 0;
            band.min_math = -1;
            band.p_cost = -1;
            band.p_intelligence = -1;
            band.p_math = -1;
        }

        set = 0;

        for (k = 0; k < b->u.object.len; k++) {
            key = b->u.object.keys[k];
            x = b->u.object.values[k];

            rc = llmr_cal_number(x, &d);

            if (rc == LLMR_ERROR || (rc == LLMR_OK && d < 0)
                || (rc == LLMR_OK && !manual && d > 100))
            {
                return llmr_errorf(err, errlen, "calibration.%s.%s.%s: "
                                   "expected %s", what,
                                   v->u.object.keys[i], key,
                                   manual ? "a number >= 0 or null"
                                          : "a percentile 0..100 or null");
            }

            if (rc == LLMR_DECLINED) {
                d = -1;
            }

            if (manual && strcmp(key, "max_cost") == 0) {
                band.max_cost = d;

            } else if (manual && strcmp(key, "min_intelligence") == 0) {
                band.min_intelligence = d < 0 ? 0 : d;

            } else if (manual && strcmp(key, "min_math") == 0) {
                band.min_math = d;

            } else if (!manual && strcmp(key, "cost") == 0) {
                band.p_cost = d;

            } else if (!manual && strcmp(key, "intelligence") == 0) {
                band.p_intelligence = d < 0 ? 0 : d;

            } else if (!manual && strcmp(key, "math") == 0) {
                band.p_math = d;

            } else {
                return llmr_errorf(err, errlen, "calibration.%s.%s: "
                                   "unknown key \"%s\" (known: %s)",
                                   what, v->u.object.keys[i], key,
                                   manual ? "max_cost, min_intelligence, "
                                            "min_math"
                                          : "cost, intelligence, math");
            }

            set = 1;
        }

        if (!set) {
            return llmr_errorf(err, errlen, "calibration.%s.%s is empty",
                               what, v->u.object.keys[i]);
        }

        cal->bands[t] = band;
    }

    return LLMR_OK;
}


static int
llmr_cal_parse_override(llmr_cal_t *cal, const char *name, yajl_val v,
    char *err, size_t errlen)
{
    int                   rc;
    size_t                k;
    double                d;
    yajl_val              x;
    const char           *key;
    llmr_cal_override_t   o, *no;

    if (!YAJL_IS_OBJECT(v)) {
        return llmr_errorf(err, errlen, "models.%s must be an object",
                           name);
    }

    if (cal->nov == LLMR_CAL_OVERRIDES_MAX) {
        return llmr_errorf(err, errlen, "more than %d model overrides",
                           LLMR_CAL_OVERRIDES_MAX);
    }

    if (llmr_cal_find_override(cal, name) != NULL) {
        return llmr_errorf(err, errlen, "models.%s given twice", name);
    }

    memset(&o, 0, sizeof(llmr_cal_override_t));

    o.name = llmr_strndup(name, strlen(name));
    if (o.name == NULL) {
        goto nomem;
    }

    for (k = 0; k < v->u.object.len; k++) {
        key = v->u.object.keys[k];
        x = v->u.object.values[k];

        if (strcmp(key, "id") == 0 || strcmp(key, "upstream") == 0
            || strcmp(key, "tiers") == 0)
        {
            rc = llmr_cal_override_string(&o, name, key, x, err, errlen);

            if (rc != LLMR_OK) {
                goto failed;
            }

        } else if (strcmp(key, "caps") == 0) {
            rc = llmr_cal_override_caps(&o, name, x, err, errlen);

            if (rc != LLMR_OK) {
                goto failed;
            }

        } else if (strcmp(key, "context") == 0) {
            if (llmr_cal_number(x, &d) != LLMR_OK || d < 0
                || d > LLMR_CAL_CONTEXT_MAX || d != floor(d))
            {
                llmr_errorf(err, errlen, "models.%s.context must be a "
                            "number of tokens", name);
                goto failed;
            }

            o.context = (uint64_t) d;

        } else if (strcmp(key, "exclude") == 0) {
            if (!YAJL_IS_TRUE(x) && !YAJL_IS_FALSE(x)) {
                llmr_errorf(err, errlen, "models.%s.exclude must be "
                            "true or false", name);
                goto failed;
            }

            o.exclude = YAJL_IS_TRUE(x);

        } else if (key[0] != '_') {
            llmr_errorf(err, errlen, "models.%s: unknown key \"%s\" "
                        "(known: id, upstream, tiers, caps, context, "
                        "exclude)", name, key);
            goto failed;
        }
    }

    if (cal->nov % LLMR_CAL_OVERRIDES_ALLOC == 0) {
        no = realloc(cal->ov, (cal->nov + LLMR_CAL_OVERRIDES_ALLOC)
                              * sizeof(llmr_cal_override_t));
        if (no == NULL) {
            goto nomem;
        }

        cal->ov = no;
    }

    cal->ov[cal->nov++] = o;

    return LLMR_OK;

nomem:

    llmr_errorf(err, errlen, "out of memory");

failed:

    free(o.name);
    free(o.id);
    free(o.upstream);
    free(o.tiers);

    return LLMR_ERROR;
}


/* models.NAME.id, .upstream or .tiers: what the registry accepts */

static int
llmr_cal_override_string(llmr_cal_override_t *o, const char *name,
    const char *key, yajl_val x, char *err, size_t errlen)
{
    int          lo, hi;
    char       **to;
    const char  *chars;

    if (!YAJL_IS_STRING(x) || x->u.string[0] == '\0'
        || strlen(x->u.string) > LLMR_CAL_NAME_MAX)
    {
        return llmr_errorf(err, errlen, "models.%s.%s must be a "
                           "non-empty string", name, key);
    }

    if (key[0] == 't') {
        if (llmr_cal_tier_range(x->u.string, &lo, &hi) != LLMR_OK
            || lo > hi)
        {
            return llmr_errorf(err, errlen, "models.%s.tiers: invalid "
                               "range \"%s\"", name, x->u.string);
        }

        to = &o->tiers;

    } else {
        /* or --save could not write it */

        chars = (key[0] == 'i') ? LLMR_CAL_ID_CHARS : LLMR_CAL_UPSTREAM_CHARS;

        if (!llmr_cal_chars_ok(x->u.string, strlen(x->u.string), chars)) {
            return llmr_errorf(err, errlen, "models.%s.%s: invalid %s "
                               "\"%s\" (letters, digits and \"%s\")",
                               name, key, key, x->u.string, chars);
        }

        to = (key[0] == 'i') ? &o->id : &o->upstream;
    }

    free(*to);
    *to = llmr_strndup(x->u.string, strlen(x->u.string));

    if (*to == NULL) {
        return llmr_errorf(err, errlen, "out of memory");
    }

    return LLMR_OK;
}


/* models.NAME.caps: ["vision", "tools", ...] */

static int
llmr_cal_override_caps(llmr_cal_override_t *o, const char *name, yajl_val x,
    char *err, size_t errlen)
{
    char    caps[LLMR_CAL_CAPS_SIZE];
    size_t  i, n;

    if (!YAJL_IS_ARRAY(x)) {
        return llmr_errorf(err, errlen, "models.%s.caps must be an array "
                           "of strings", name);
    }

    n = 0;

    for (i = 0; i < x->u.array.len; i++) {
        if (!YAJL_IS_STRING(x->u.array.values[i])
            || n + strlen(x->u.array.values[i]->u.string) + 2 > sizeof(caps))
        {
            return llmr_errorf(err, errlen, "models.%s.caps must be an "
                               "array of strings", name);
        }

        n += snprintf(caps + n, sizeof(caps) - n, "%s%s", n ? "," : "",
                      x->u.array.values[i]->u.string);
    }

    o->caps = 0;

    if (n && llmr_caps_parse(caps, n, &o->caps) != LLMR_OK) {
        return llmr_errorf(err, errlen, "models.%s.caps: unknown "
                           "capability in \"%s\" (known: vision, tools, "
                           "json, reasoning, audio, long_context)",
                           name, caps);
    }

    o->has_caps = 1;

    return LLMR_OK;
}


/* "simple" or "trivial-complex" into tier numbers; lo > hi is left to see */

static int
llmr_cal_tier_range(const char *s, int *lo, int *hi)
{
    const char  *dash;

    dash = strchr(s, '-');

    if (dash == NULL) {
        *lo = llmr_tier_parse(s, strlen(s));
        *hi = *lo;

    } else {
        *lo = llmr_tier_parse(s, dash - s);
        *hi = llmr_tier_parse(dash + 1, strlen(dash + 1));
    }

    return (*lo < 0 || *hi < 0) ? LLMR_ERROR : LLMR_OK;
}


static llmr_cal_override_t *
llmr_cal_find_override(llmr_cal_t *cal, const char *name)
{
    unsigned  i;

    for (i = 0; i < cal->nov; i++) {
        if (strcmp(cal->ov[i].name, name) == 0) {
            return &cal->ov[i];
        }
    }

    return NULL;
}


int
llmr_cal_map_upstream(llmr_cal_t *cal, const char *provider, size_t plen,
    const char *upstream, size_t ulen, char *err, size_t errlen)
{
    unsigned  i;

    if (plen == 0 || ulen == 0 || ulen > LLMR_CAL_NAME_MAX
        || plen > LLMR_CAL_NAME_MAX)
    {
        return llmr_errorf(err, errlen, "invalid upstream mapping "
                           "\"%.*s=%.*s\"", (int) plen, provider,
                           (int) ulen, upstream);
    }

    if (!llmr_cal_chars_ok(upstream, ulen, LLMR_CAL_UPSTREAM_CHARS)) {
        return llmr_errorf(err, errlen, "invalid upstream \"%.*s\" for "
                           "\"%.*s\" (letters, digits and \"%s\")",
                           (int) ulen, upstream, (int) plen, provider,
                           LLMR_CAL_UPSTREAM_CHARS);
    }

    for (i = 0; i < cal->nmap; i++) {
        if (strlen(cal->map_from[i]) == plen
            && memcmp(cal->map_from[i], provider, plen) == 0)
        {
            free(cal->map_to[i]);
            cal->map_to[i] = llmr_strndup(upstream, ulen);

            return cal->map_to[i] ? LLMR_OK
                                  : llmr_errorf(err, errlen,
                                                "out of memory");
        }
    }

    i = cal->nmap;

    if (llmr_cal_push_str(&cal->map_from, &i, provider, plen) != LLMR_OK) {
        return llmr_errorf(err, errlen, "out of memory");
    }

    if (llmr_cal_push_str(&cal->map_to, &cal->nmap, upstream, ulen)
        != LLMR_OK)
    {
        free(cal->map_from[cal->nmap]);
        return llmr_errorf(err, errlen, "out of memory");
    }

    return LLMR_OK;
}


int
llmr_cal_allow_provider(llmr_cal_t *cal, const char *provider, size_t len)
{
    return llmr_cal_push_str(&cal->providers, &cal->nproviders, provider,
                             len);
}


static int
llmr_cal_push_str(char ***arr, unsigned *n, const char *s, size_t len)
{
    char   *copy, **na;

    copy = llmr_strndup(s, len);
    if (copy == NULL) {
        return LLMR_ERROR;
    }

    na = realloc(*arr, (*n + 1) * sizeof(char *));
    if (na == NULL) {
        free(copy);
        return LLMR_ERROR;
    }

    na[*n] = copy;
    *arr = na;
    (*n)++;

    return LLMR_OK;
}


/* calibration ---------------------------------------------------------- */


static int
llmr_cal_passes(const llmr_cal_t *cal, const llmr_cal_model_t *m, int t)
{
    const llmr_cal_band_t  *b;

    b = &cal->bands[t];

    if (b->max_cost >= 0 && m->price > b->max_cost) {
        return 0;
    }

    if (m->intelligence < b->min_intelligence) {
        return 0;
    }

    if (b->min_math >= 0 && (m->math < 0 || m->math < b->min_math)) {
        return 0;
    }

    return 1;
}


int
llmr_cal_run(llmr_cal_t *cal, unsigned max_models, char *err,
    size_t errlen)
{
    unsigned  i, n;

    for (i = 0; i < cal->nov; i++) {
        cal->ov[i].used = 0;
    }

    cal->filtered = 0;
    cal->excluded = 0;
    n = 0;

    for (i = 0; i < cal->n; i++) {
        switch (llmr_cal_admit(cal, &cal->models[i])) {

        case LLMR_OK:
            n++;
            break;

        case LLMR_DECLINED:
            break;

        default:
            return llmr_errorf(err, errlen, "out of memory");
        }
    }

    if (n == 0) {
        return llmr_errorf(err, errlen, "no usable model: %u read, %u "
                           "skipped for missing or invalid data, %u "
                           "left out by the provider list, %u excluded",
                           cal->read, cal->nskipped, cal->filtered,
                           cal->excluded);
    }

    llmr_cal_frontier(cal);

    if (llmr_cal_thresholds(cal, n) != LLMR_OK) {
        return llmr_errorf(err, errlen, "out of memory");
    }

    llmr_cal_place(cal);

    if (max_models == 0 || max_models > LLMR_MODELS_MAX) {
        max_models = LLMR_MODELS_MAX;
    }

    llmr_cal_select(cal, max_models);

    return LLMR_OK;
}


/*
 * Who takes part (--providers, exclusions) and through which upstream:
 * LLMR_OK, LLMR_DECLINED for a model left out, LLMR_ERROR out of memory.
 */

static int
llmr_cal_admit(llmr_cal_t *cal, llmr_cal_model_t *m)
{
    int                   allowed;
    char                  up[LLMR_CAL_NAME_MAX + 8];
    unsigned              j;
    const char           *to;
    llmr_cal_override_t  *ov;

    m->ignored = NULL;
    m->frontier = 0;
    m->passes = 0;
    m->tier_lo = -1;
    m->tier_hi = -1;
    m->forced = 0;
    m->selected = 0;
    m->dropped = NULL;
    m->caps = 0;
    m->context = 0;

    allowed = (cal->nproviders == 0);

    for (j = 0; j < cal->nproviders; j++) {
        if (strcmp(cal->providers[j], m->provider) == 0) {
            allowed = 1;
        }
    }

    ov = llmr_cal_find_override(cal, m->name);

    if (ov) {
        ov->used = 1;
    }

    if (!allowed) {
        m->ignored = "provider not in the allowed list";
        cal->filtered++;
        return LLMR_DECLINED;
    }

    if (ov && ov->exclude) {
        m->ignored = "excluded by the override file";
        cal->excluded++;
        return LLMR_DECLINED;
    }

    to = NULL;

    for (j = 0; j < cal->nmap; j++) {
        if (strcmp(cal->map_from[j], m->provider) == 0) {
            to = cal->map_to[j];
        }
    }

    if (ov && ov->upstream) {
        to = ov->upstream;
    }

    if (to == NULL) {
        snprintf(up, sizeof(up), "%s" LLMR_CAL_POOL, m->provider);
        to = up;
    }

    free(m->upstream);
    m->upstream = llmr_strndup(to, strlen(to));

    free(m->id);
    m->id = NULL;

    if (ov && ov->id) {
        m->id = llmr_strndup(ov->id, strlen(ov->id));
    }

    if (m->upstream == NULL || (ov && ov->id && m->id == NULL)) {
        return LLMR_ERROR;
    }

    if (ov) {
        m->caps = ov->has_caps ? ov->caps : 0;
        m->context = ov->context;
    }

    return LLMR_OK;
}


/*
 * The Pareto frontier: no other model as cheap and as smart, and strictly
 * better in one of the two.
 */

static void
llmr_cal_frontier(llmr_cal_t *cal)
{
    unsigned           i, j;
    llmr_cal_model_t  *m, *o;

    cal->nfrontier = 0;

    for (i = 0; i < cal->n; i++) {
        m = &cal->models[i];

        if (m->ignored) {
            continue;
        }

        m->frontier = 1;

        for (j = 0; j < cal->n; j++) {
            o = &cal->models[j];

            if (j == i || o->ignored) {
                continue;
            }

            if (o->price <= m->price && o->intelligence >= m->intelligence
                && (o->price < m->price || o->intelligence > m->intelligence))
            {
                m->frontier = 0;
                break;
            }
        }

        cal->nfrontier += m->frontier;
    }
}


/* each percentile band's thresholds over the n models taking part */

static int
llmr_cal_thresholds(llmr_cal_t *cal, unsigned n)
{
    int                t;
    double            *cost, *intel, *math;
    unsigned           i, j, nmath;
    llmr_cal_band_t   *b;
    llmr_cal_model_t  *m;

    cost = malloc(n * sizeof(double));
    intel = malloc(n * sizeof(double));
    math = malloc(n * sizeof(double));

    if (cost == NULL || intel == NULL || math == NULL) {
        free(cost);
        free(intel);
        free(math);
        return LLMR_ERROR;
    }

    cal->math_dropped = 0;

    for (t = 0; t < LLMR_TIER_N; t++) {
        b = &cal->bands[t];

        if (b->manual) {
            continue;
        }

        j = 0;
        nmath = 0;

        for (i = 0; i < cal->n; i++) {
            m = &cal->models[i];

            if (m->ignored) {
                continue;
            }

            cost[j] = m->price;
            intel[j] = m->intelligence;
            j++;

            if (m->math >= 0) {
                math[nmath++] = m->math;
            }
        }

        b->max_cost = (b->p_cost < 0) ? -1
                                      : llmr_cal_percentile(cost, j,
                                                            b->p_cost);
        b->min_intelligence = llmr_cal_percentile(intel, j,
                                                  b->p_intelligence);
        b->min_math = -1;

        if (b->p_math >= 0) {
            if (nmath == 0) {
                cal->math_dropped = 1;

            } else {
                b->min_math = llmr_cal_percentile(math, nmath, b->p_math);
            }
        }
    }

    free(cost);
    free(intel);
    free(math);

    return LLMR_OK;
}


/* each model's tier range: the tiers it passes, or the override's */

static void
llmr_cal_place(llmr_cal_t *cal)
{
    int                   t, lo, hi;
    unsigned              i;
    llmr_cal_model_t     *m;
    llmr_cal_override_t  *ov;

    cal->nplaced = 0;

    for (i = 0; i < cal->n; i++) {
        m = &cal->models[i];

        if (m->ignored) {
            continue;
        }

        lo = -1;
        hi = -1;

        for (t = 0; t < LLMR_TIER_N; t++) {
            if (llmr_cal_passes(cal, m, t)) {
                m->passes |= 1u << t;

                if (lo < 0) {
                    lo = t;
                }

                hi = t;
            }
        }

        ov = llmr_cal_find_override(cal, m->name);

        if (ov && ov->tiers) {
            /* checked when the override file was read */
            (void) llmr_cal_tier_range(ov->tiers, &lo, &hi);
            m->forced = 1;
        }

        m->tier_lo = lo;
        m->tier_hi = hi;

        if (lo >= 0) {
            cal->nplaced++;

        } else {
            m->dropped = "passes no tier's thresholds";
        }
    }
}


void
llmr_cal_to_model(const llmr_cal_model_t *c, llmr_model_t *m)
{
    memset(m, 0, sizeof(llmr_model_t));

    m->name = c->name;
    m->id = c->id ? c->id : c->name;
    m->provider = c->provider;
    m->upstream = c->upstream;
    m->tier_lo = c->tier_lo;
    m->tier_hi = c->tier_hi;
    m->price_in = c->price_in;
    m->price_out = c->price_out;
    m->context = c->context;
    m->caps = c->caps;
    m->intelligence = c->intelligence;
    m->coding_index = c->coding > 0 ? c->coding : 0;
    m->math_index = c->math > 0 ? c->math : 0;
    m->speed_tps = c->speed_tps > 0 ? c->speed_tps : 0;
    m->ttft_s = c->ttft_s > 0 ? c->ttft_s : 0;
}


/* the first placed model serving tier t in profile p's order, or -1 */

static int
llmr_cal_first(llmr_cal_t *cal, int t, int p)
{
    int                best;
    unsigned           i;
    llmr_model_t       a, b;
    llmr_cal_model_t  *m;

    best = -1;

    for (i = 0; i < cal->n; i++) {
        m = &cal->models[i];

        if (m->ignored || m->tier_lo < 0 || t < m->tier_lo
            || t > m->tier_hi)
        {
            continue;
        }

        if (best >= 0) {
            llmr_cal_to_model(m, &a);
            llmr_cal_to_model(&cal->models[best], &b);

            if (llmr_profile_cmp(p, &a, &b, LLMR_CAL_BLEND_IN,
                                 LLMR_CAL_BLEND_OUT)
                >= 0)
            {
                continue;
            }
        }

        best = i;
    }

    return best;
}


/*
 * At most max placed models: first a cover of the tiers (each tier's
 * cheapest, unless a model chosen already serves it), then every
 * profile's first choice in every tier, then the frontier, then the most
 * intelligence per dollar.
 */

static void
llmr_cal_select(llmr_cal_t *cal, unsigned max)
{
    int                t, p, best;
    double             v, bv;
    unsigned           i, left, rank;
    llmr_cal_model_t  *m;

    cal->nselected = 0;
    left = max;

    for (t = 0; t < LLMR_TIER_N; t++) {
        for (i = 0; i < cal->n; i++) {
            m = &cal->models[i];

            if (m->selected == 1 && t >= m->tier_lo && t <= m->tier_hi) {
                break;
            }
        }

        best = llmr_cal_first(cal, t, LLMR_PROFILE_COST);

        if (i == cal->n && best >= 0 && left) {
            cal->models[best].selected = 1;
            left--;
        }
    }

    for (t = 0; t < LLMR_TIER_N; t++) {
        for (p = 0; p < LLMR_PROFILE_N; p++) {
            best = llmr_cal_first(cal, t, p);

            if (best >= 0 && !cal->models[best].selected && left) {
                cal->models[best].selected = 1;
                left--;
            }
        }
    }

    /* rank 1: the frontier, rank 2: the others by intelligence / price */

    for (rank = 1; rank <= 2; rank++) {
        for ( ;; ) {
            best = -1;
            bv = 0;

            for (i = 0; i < cal->n; i++) {
                m = &cal->models[i];

                if (m->ignored || m->tier_lo < 0 || m->selected
                    || (rank == 1 && !m->frontier))
                {
                    continue;
                }

                v = m->intelligence / m->price;

                if (best < 0 || v > bv) {
                    best = i;
                    bv = v;
                }
            }

            if (best < 0) {
                break;
            }

            if (left == 0) {
                cal->models[best].dropped = "over the model limit "
                                            "(--max-models)";
                cal->models[best].selected = -1;
                continue;
            }

            cal->models[best].selected = 1;
            left--;
        }
    }

    for (i = 0; i < cal->n; i++) {
        m = &cal->models[i];

        if (m->selected < 0) {
            m->selected = 0;
        }

        cal->nselected += (m->selected == 1);
    }
}


/* helpers -------------------------------------------------------------- */


static int
llmr_cal_skip(llmr_cal_t *cal, const char *name, const char *fmt, ...)
{
    char              buf[LLMR_CAL_REASON_SIZE];
    va_list           ap;
    llmr_cal_skip_t  *ns, s;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);

    if (cal->nskipped == cal->nskipalloc) {
        ns = realloc(cal->skipped, (cal->nskipalloc ? cal->nskipalloc * 2
                                                     : LLMR_CAL_SKIPS_ALLOC)
                                   * sizeof(llmr_cal_skip_t));
        if (ns == NULL) {
            return LLMR_ERROR;
        }

        cal->skipped = ns;
        cal->nskipalloc = cal->nskipalloc ? cal->nskipalloc * 2
                                          : LLMR_CAL_SKIPS_ALLOC;
    }

    s.name = llmr_cal_clean(name, NULL, 0);
    s.reason = llmr_strndup(buf, strlen(buf));

    if (s.name == NULL || s.reason == NULL) {
        free(s.name);
        free(s.reason);
        return LLMR_ERROR;
    }

    cal->skipped[cal->nskipped++] = s;

    return LLMR_OK;
}


/*
 * A copy safe for reports and nginx comments: with extra == NULL, control
 * bytes, '|' and '`' become spaces; otherwise every byte that is not a
 * letter, a digit or in extra becomes extra's last character, and letters
 * are lowercased when asked.
 */

static char *
llmr_cal_clean(const char *s, const char *extra, int lower)
{
    char           *p;
    size_t          i, len;
    unsigned char   c;

    len = strlen(s);
    p = llmr_strndup(s, len);

    if (p == NULL) {
        return NULL;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) p[i];

        if (extra == NULL) {
            if (c < 0x20 || c == 0x7f || c == '|' || c == '`') {
                p[i] = ' ';
            }

            continue;
        }

        if (lower && c >= 'A' && c <= 'Z') {
            p[i] = (char) (c - 'A' + 'a');
            continue;
        }

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || strchr(extra, c))
        {
            continue;
        }

        p[i] = extra[strlen(extra) - 1];
    }

    return p;
}


static yajl_val
llmr_cal_get(yajl_val obj, const char *key)
{
    size_t  i;

    if (obj == NULL || !YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = 0; i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


/* LLMR_OK: a finite number; LLMR_DECLINED: missing or null; else error */

static int
llmr_cal_number(yajl_val v, double *d)
{
    if (v == NULL || YAJL_IS_NULL(v)) {
        return LLMR_DECLINED;
    }

    if (!YAJL_IS_NUMBER(v)) {
        return LLMR_ERROR;
    }

    if (v->u.number.flags & YAJL_NUMBER_DOUBLE_VALID) {
        *d = v->u.number.d;

    } else if (v->u.number.flags & YAJL_NUMBER_INT_VALID) {
        *d = (double) v->u.number.i;

    } else {
        return LLMR_ERROR;
    }

    return isfinite(*d) ? LLMR_OK : LLMR_ERROR;
}


/*
 * yajl_tree frees recursively: bound the nesting before building a tree
 * (brackets outside strings).
 */

static int
llmr_cal_depth_ok(const char *data, size_t len)
{
    int     depth, in_str, esc;
    size_t  i;

    depth = 0;
    in_str = 0;
    esc = 0;

    for (i = 0; i < len; i++) {
        if (in_str) {
            if (esc) {
                esc = 0;

            } else if (data[i] == '\\') {
                esc = 1;

            } else if (data[i] == '"') {
                in_str = 0;
            }

            continue;
        }

        switch (data[i]) {

        case '"':
            in_str = 1;
            break;

        case '[':
        case '{':
            if (++depth > LLMR_CAL_DEPTH_MAX) {
                return 0;
            }

            break;

        case ']':
        case '}':
            depth--;
            break;

        default:
            break;
        }
    }

    return 1;
}


static int
llmr_cal_chars_ok(const char *s, size_t len, const char *extra)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || (c && strchr(extra, c))))
        {
            return 0;
        }
    }

    return 1;
}
