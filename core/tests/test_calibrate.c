
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/calibrate.h>

#include "tap.h"


static char    aa[65536];
static size_t  aa_len;


static void
aa_reset(void)
{
    aa_len = (size_t) snprintf(aa, sizeof(aa), "{\"status\": 200, "
                               "\"data\": [");
}


static void
aa_raw(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    aa_len += vsnprintf(aa + aa_len, sizeof(aa) - aa_len, fmt, ap);
    va_end(ap);
}


/* one entry; a negative number is written as null */

static void
aa_model(const char *slug, const char *creator, double intel, double math,
    double in, double out)
{
    char  m[32], i[32], pi[32], po[32];

#define num(buf, v)                                                           \
    (((v) < 0) ? strcpy(buf, "null")                                          \
               : (snprintf(buf, sizeof(buf), "%g", (double) (v)), buf))

    aa_raw("%s{\"id\": \"%s-id\", \"name\": \"%s name\", \"slug\": \"%s\","
           " \"model_creator\": {\"id\": \"c\", \"name\": \"%s Inc\","
           " \"slug\": \"%s\"}, \"evaluations\": "
           "{\"artificial_analysis_intelligence_index\": %s,"
           " \"artificial_analysis_coding_index\": 10,"
           " \"artificial_analysis_math_index\": %s},"
           " \"pricing\": {\"price_1m_blended_3_to_1\": null,"
           " \"price_1m_input_tokens\": %s, \"price_1m_output_tokens\": %s},"
           " \"median_output_tokens_per_second\": 100,"
           " \"median_time_to_first_token_seconds\": 0.5}",
           aa[aa_len - 1] == '[' ? "" : ", ", slug, slug, slug, creator,
           creator, num(i, intel), num(m, math), num(pi, in), num(po, out));

#undef num
}


static void
aa_end(void)
{
    aa_raw("]}");
}


static llmr_cal_t *
calibrate(const char *overrides, unsigned max, int *rc, char *err,
    size_t errlen)
{
    llmr_cal_t  *cal;

    cal = llmr_cal_create();
    err[0] = '\0';

    if (overrides
        && llmr_cal_load_overrides(cal, overrides, strlen(overrides), err,
                                   errlen)
           != LLMR_OK)
    {
        *rc = -100;
        return cal;
    }

    *rc = llmr_cal_parse_aa(cal, aa, aa_len, err, errlen);

    if (*rc == LLMR_OK) {
        *rc = llmr_cal_run(cal, max, err, errlen);
    }

    return cal;
}


static const llmr_cal_model_t *
find(const llmr_cal_t *cal, const char *name)
{
    unsigned  i;

    for (i = 0; i < cal->n; i++) {
        if (strcmp(cal->models[i].name, name) == 0) {
            return &cal->models[i];
        }
    }

    return NULL;
}


static int
is_skipped(const llmr_cal_t *cal, const char *name, const char *reason)
{
    unsigned  i;

    for (i = 0; i < cal->nskipped; i++) {
        if (strcmp(cal->skipped[i].name, name) == 0) {
            return strstr(cal->skipped[i].reason, reason) != NULL;
        }
    }

    return 0;
}


static int
close_to(double a, double b)
{
    return fabs(a - b) < 1e-9;
}


static void
test_percentile(void)
{
    double  v[8];

    v[0] = 5; v[1] = 1; v[2] = 4; v[3] = 2; v[4] = 3;
    ok(close_to(llmr_cal_percentile(v, 5, 0), 1), "P0 is the minimum");
    ok(close_to(llmr_cal_percentile(v, 5, 100), 5), "P100 the maximum");
    ok(close_to(llmr_cal_percentile(v, 5, 50), 3), "P50 the median");
    ok(close_to(llmr_cal_percentile(v, 5, 25), 2), "P25 on a rank");
    ok(close_to(llmr_cal_percentile(v, 5, 35), 2.4),
       "P35 interpolates: h = 1.4 -> 2 + 0.4 * (3 - 2)");
    v[0] = 5; v[1] = 1; v[2] = 4; v[3] = 2;
    ok(close_to(llmr_cal_percentile(v, 4, 50), 3),
       "4 values: h = 1.5 between 2 and 4 after sorting 5,1,4,2");

    /* ties: every model counts once */

    v[0] = 3; v[1] = 3; v[2] = 1; v[3] = 3;
    ok(close_to(llmr_cal_percentile(v, 4, 50), 3), "ties: P50 = 3");
    ok(close_to(llmr_cal_percentile(v, 4, 10), 1.6),
       "ties: P10 between 1 and 3: 1 + 0.3 * 2");
    ok(close_to(llmr_cal_percentile(v, 4, 90), 3), "ties: P90 = 3");

    v[0] = 7; v[1] = 7; v[2] = 7;
    ok(close_to(llmr_cal_percentile(v, 3, 35), 7), "all equal: 7");

    /* a single model: its value for every p */

    v[0] = 42;
    ok(close_to(llmr_cal_percentile(v, 1, 5), 42), "single: P5");
    ok(close_to(llmr_cal_percentile(v, 1, 70), 42), "single: P70");

    /* nothing: NaN */

    ok(isnan(llmr_cal_percentile(v, 0, 50)), "no values: NaN");
}


static void
test_parse(void)
{
    int                      rc;
    char                     err[LLMR_ERRSTR_SIZE], *big;
    unsigned                 i;
    llmr_cal_t              *cal;
    const llmr_cal_model_t  *m;

    /* malformed input */

    struct {
        const char  *json;
        const char  *expect;
        const char  *name;
    }  bad[] = {
        { "{\"data\": [", "invalid JSON", "truncated" },
        { "{\"data\": [1,]}", "invalid JSON", "a trailing comma" },
        { "", "empty", "empty" },
        { "5", "expected {\"data\"", "a number" },
        { "{\"models\": []}", "expected {\"data\"", "no data key" },
        { "{\"data\": {}}", "expected {\"data\"", "data not an array" },
        { "{\"status\": 401, \"data\": []}", "\"status\": 401",
          "an error status" },
        { "\"\\ud800\"", "expected", "a lone string" },
        { "{\"data\": [\"\xff\xfe\"]}", "invalid JSON", "invalid UTF-8" },
        { NULL, NULL, NULL }
    };

    for (i = 0; bad[i].json; i++) {
        cal = llmr_cal_create();
        rc = llmr_cal_parse_aa(cal, bad[i].json, strlen(bad[i].json), err,
                               sizeof(err));
        is_int(rc, LLMR_ERROR, "malformed: %s", bad[i].name);
        ok(strstr(err, bad[i].expect) != NULL, "  message: %s", err);
        llmr_cal_destroy(cal);
    }

    /* deep nesting is refused before yajl builds a tree */

    big = malloc(LLMR_CAL_INPUT_MAX + 2);
    memset(big, '[', 100000);
    cal = llmr_cal_create();
    rc = llmr_cal_parse_aa(cal, big, 100000, err, sizeof(err));
    is_int(rc, LLMR_ERROR, "100000 nested arrays");
    ok(strstr(err, "nested deeper") != NULL, "  message: %s", err);
    llmr_cal_destroy(cal);

    /* brackets inside strings do not count */

    aa_reset();
    aa_raw("{\"name\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
           "[[[[[[[[[[[[[[[[[[[[[\\\"\"}");
    aa_end();
    cal = llmr_cal_create();
    rc = llmr_cal_parse_aa(cal, aa, aa_len, err, sizeof(err));
    is_int(rc, LLMR_OK, "brackets in a string are not nesting: %s", err);
    is_int(cal->nskipped, 1, "  (the entry itself has no index)");
    llmr_cal_destroy(cal);

    /* too large */

    memset(big, ' ', LLMR_CAL_INPUT_MAX + 1);
    cal = llmr_cal_create();
    rc = llmr_cal_parse_aa(cal, big, LLMR_CAL_INPUT_MAX + 1, err,
                           sizeof(err));
    is_int(rc, LLMR_ERROR, "input over the size limit");
    ok(strstr(err, "larger than") != NULL, "  message: %s", err);
    llmr_cal_destroy(cal);
    free(big);

    cal = llmr_cal_create();
    rc = llmr_cal_parse_aa(cal, SL("{\"data\": [1]}\0x"), err, sizeof(err));
    is_int(rc, LLMR_ERROR, "a NUL byte");
    llmr_cal_destroy(cal);

    /* entries: skipped with a reason, or kept with unknowns */

    aa_reset();
    aa_model("good", "acme", 50, 60, 1, 4);
    aa_raw(", 17, null, [1, 2]");
    aa_raw(", {\"slug\": \"no-name-but-slug\", \"evaluations\": "
           "{\"artificial_analysis_intelligence_index\": 20}, "
           "\"pricing\": {\"price_1m_blended_3_to_1\": 2}}");
    aa_raw(", {\"evaluations\": {}, \"pricing\": {}}");
    aa_model("null-intel", "acme", -1, 10, 1, 1);
    aa_raw(", {\"name\": \"string-intel\", \"evaluations\": "
           "{\"artificial_analysis_intelligence_index\": \"50\"}}");
    aa_raw(", {\"name\": \"no-evals\", \"evaluations\": null, "
           "\"pricing\": {\"price_1m_blended_3_to_1\": 1}}");
    aa_model("null-price", "acme", 40, 10, -1, -1);
    aa_model("half-price", "acme", 40, 10, 1, -1);
    aa_model("free", "acme", 40, 10, 0, 0);
    aa_model("negative", "acme", 40, 10, -0.5, 2);
    aa_raw(", {\"name\": \"neg-price\", \"evaluations\": "
           "{\"artificial_analysis_intelligence_index\": 30}, "
           "\"pricing\": {\"price_1m_input_tokens\": -2, "
           "\"price_1m_output_tokens\": 1}}");
    aa_raw(", {\"name\": \"Bare Blended\", \"evaluations\": "
           "{\"artificial_analysis_intelligence_index\": 33.5, "
           "\"artificial_analysis_math_index\": \"high\"}, "
           "\"pricing\": {\"price_1m_blended_3_to_1\": 0.5}, "
           "\"median_output_tokens_per_second\": null, "
           "\"median_time_to_first_token_seconds\": \"fast\"}");
    aa_raw(", {\"name\": \"Odd Name\\n; load_module x\", "
           "\"slug\": \"odd slug;{x}\", \"model_creator\": null, "
           "\"evaluations\": {\"artificial_analysis_intelligence_index\": 1},"
           " \"pricing\": {\"price_1m_input_tokens\": 1, "
           "\"price_1m_output_tokens\": 1}}");
    aa_model("good", "other", 10, 10, 1, 1);
    aa_end();

    cal = llmr_cal_create();
    rc = llmr_cal_parse_aa(cal, aa, aa_len, err, sizeof(err));
    is_int(rc, LLMR_OK, "a list with bad entries parses: %s", err);
    is_int(cal->read, 17, "17 entries read");
    is_int(cal->n, 4, "4 kept");
    is_int(cal->nskipped, 13, "13 skipped");

#define skipped(who, why)                                                     \
    ok(is_skipped(cal, who, why), "skipped %s: %s", who, why)

    skipped("entry #2", "not an object");
    skipped("entry #3", "not an object");
    skipped("entry #4", "not an object");
    skipped("entry #6", "no name");
    skipped("null-intel name", "no intelligence index");
    skipped("string-intel", "invalid intelligence index");
    skipped("no-evals", "no intelligence index");
    skipped("null-price name", "no price");
    skipped("half-price name", "no price");
    skipped("free name", "price 0");
    skipped("negative name", "no price");
    skipped("neg-price", "invalid input price");
    skipped("good name", "same name");

#undef skipped

    m = find(cal, "good");
    ok(m && m->price == 1.75 && m->price_in == 1 && m->price_out == 4,
       "blended computed from input and output (3:1)");
    ok(m && m->math == 60 && m->coding == 10 && m->speed_tps == 100
       && m->ttft_s == 0.5, "optional fields read");
    is_str(m ? m->provider : NULL, "acme", "provider from the creator slug");
    is_str(m ? m->creator : NULL, "acme Inc", "creator name");

    m = find(cal, "no-name-but-slug");
    ok(m && m->price == 2 && m->price_in == 2 && m->price_out == 2,
       "only a blended price: charged both ways");
    is_str(m ? m->provider : NULL, "unknown", "no creator: unknown");

    m = find(cal, "Bare-Blended");
    ok(m != NULL, "a name becomes a registry-safe name");
    ok(m && m->math < 0 && m->speed_tps < 0 && m->ttft_s < 0,
       "wrong-typed and null optional fields are unknown");

    m = find(cal, "odd-slug--x-");
    ok(m != NULL, "unsafe slug characters replaced");
    ok(m && strchr(m->label, '\n') == NULL, "no line break in a label");

    llmr_cal_destroy(cal);

    /* everything skipped: run says so */

    aa_reset();
    aa_model("a", "x", -1, -1, 1, 1);
    aa_model("b", "x", -1, 5, -1, -1);
    aa_end();

    cal = calibrate(NULL, 0, &rc, err, sizeof(err));
    is_int(rc, LLMR_ERROR, "all-null: calibration fails");
    ok(strstr(err, "no usable model") != NULL, "  message: %s", err);
    llmr_cal_destroy(cal);

    cal = llmr_cal_create();
    rc = llmr_cal_parse_aa(cal, SL("{\"data\": []}"), err, sizeof(err));
    is_int(rc, LLMR_OK, "an empty list parses");
    is_int(llmr_cal_run(cal, 0, err, sizeof(err)), LLMR_ERROR,
           "and calibrates to an error");
    llmr_cal_destroy(cal);
}


static void
test_frontier(void)
{
    int                      rc;
    char                     err[LLMR_ERRSTR_SIZE];
    llmr_cal_t              *cal;
    const llmr_cal_model_t  *m;

    aa_reset();
    aa_model("f-cheap", "x", 10, 5, 0.5, 0.5);     /* 0.5, 10 */
    aa_model("f-a", "x", 20, 5, 1, 1);             /* 1, 20 */
    aa_model("f-b", "x", 40, 5, 2, 2);             /* 2, 40 */
    aa_model("f-b-twin", "x", 40, 5, 2, 2);        /* a tie with f-b */
    aa_model("dom-cost", "x", 40, 5, 3, 3);        /* f-b is cheaper */
    aa_model("dom-intel", "x", 30, 5, 2, 2);       /* f-b is smarter */
    aa_model("dom-both", "x", 15, 5, 4, 4);
    aa_model("f-top", "x", 60, 5, 10, 10);
    aa_end();

    cal = calibrate(NULL, 0, &rc, err, sizeof(err));
    is_int(rc, LLMR_OK, "calibrates: %s", err);

#define frontier(name, want)                                                  \
    m = find(cal, name);                                                      \
    ok(m && m->frontier == want, "%s %s on the frontier", name,               \
       want ? "is" : "is not")

    frontier("f-cheap", 1);
    frontier("f-a", 1);
    frontier("f-b", 1);
    frontier("f-b-twin", 1);
    frontier("dom-cost", 0);
    frontier("dom-intel", 0);
    frontier("dom-both", 0);
    frontier("f-top", 1);

#undef frontier

    is_int(cal->nfrontier, 5, "five on the frontier");
    llmr_cal_destroy(cal);

    /* one model: on the frontier, every percentile is itself */

    aa_reset();
    aa_model("only", "x", 50, 70, 1, 1);
    aa_end();

    cal = calibrate(NULL, 0, &rc, err, sizeof(err));
    is_int(rc, LLMR_OK, "a single model calibrates: %s", err);
    m = find(cal, "only");
    ok(m && m->frontier, "single: on the frontier");
    ok(close_to(cal->bands[LLMR_TIER_TRIVIAL].max_cost, 1)
       && close_to(cal->bands[LLMR_TIER_EXPERT].min_intelligence, 50)
       && close_to(cal->bands[LLMR_TIER_COMPLEX].min_math, 70),
       "single: thresholds are its values");
    ok(m && m->tier_lo == LLMR_TIER_TRIVIAL && m->tier_hi == LLMR_TIER_EXPERT,
       "single: serves every tier");
    ok(m && m->selected == 1, "single: written");
    llmr_cal_destroy(cal);
}


/*
 * Ten models, intelligence 10..100 and price 1..10 rising together, math
 * unknown for "m9": checks the default bands and the tier ranges.
 */

static void
ten_models(void)
{
    int   i;
    char  name[16];

    aa_reset();

    for (i = 1; i <= 10; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        aa_model(name, i % 2 ? "odd" : "even", i * 10, i == 9 ? -1 : i * 10,
                 i, i);
    }

    aa_end();
}


static void
test_bands(void)
{
    int                      rc;
    char                     err[LLMR_ERRSTR_SIZE], *s;
    llmr_cal_t              *cal;
    const llmr_cal_band_t   *b;
    const llmr_cal_model_t  *m;

    ten_models();
    cal = calibrate(NULL, 0, &rc, err, sizeof(err));
    is_int(rc, LLMR_OK, "ten models calibrate: %s", err);

    /* prices 1..10: P35 = 1 + 9 * 0.35 = 4.15; intelligence 10..100 */

    b = &cal->bands[LLMR_TIER_TRIVIAL];
    ok(close_to(b->max_cost, 4.15) && close_to(b->min_intelligence, 14.5),
       "trivial: P35 price 4.15, P5 intelligence 14.5 (%g, %g)",
       b->max_cost, b->min_intelligence);

    b = &cal->bands[LLMR_TIER_SIMPLE];
    ok(close_to(b->max_cost, 6.4) && close_to(b->min_intelligence, 28),
       "simple: P60 6.4, P20 28 (%g, %g)", b->max_cost,
       b->min_intelligence);

    b = &cal->bands[LLMR_TIER_MODERATE];
    ok(close_to(b->max_cost, 8.65) && close_to(b->min_intelligence, 46)
       && b->min_math < 0, "moderate: P85 8.65, P40 46, no math");

    /* math of the nine that have one: 10..80 and 100 -> P30 = 34 */

    b = &cal->bands[LLMR_TIER_COMPLEX];
    ok(close_to(b->max_cost, 8.65) && close_to(b->min_intelligence, 46)
       && close_to(b->min_math, 34), "complex: + math P30 34 (%g)",
       b->min_math);

    b = &cal->bands[LLMR_TIER_EXPERT];
    ok(b->max_cost < 0 && close_to(b->min_intelligence, 73),
       "expert: no ceiling, P70 73");

#define range(name, lo, hi)                                                   \
    m = find(cal, name);                                                      \
    ok(m && m->tier_lo == lo && m->tier_hi == hi, "%s serves %s-%s (%d-%d)",  \
       name, llmr_tier_name(lo), llmr_tier_name(hi), m ? m->tier_lo : -9,     \
       m ? m->tier_hi : -9)

    range("m1", -1, -1);
    range("m2", LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL);
    range("m3", LLMR_TIER_TRIVIAL, LLMR_TIER_SIMPLE);
    range("m5", LLMR_TIER_SIMPLE, LLMR_TIER_COMPLEX);
    range("m7", LLMR_TIER_MODERATE, LLMR_TIER_COMPLEX);
    range("m8", LLMR_TIER_MODERATE, LLMR_TIER_EXPERT);
    range("m9", LLMR_TIER_EXPERT, LLMR_TIER_EXPERT);
    range("m10", LLMR_TIER_EXPERT, LLMR_TIER_EXPERT);

    m = find(cal, "m1");
    ok(m && m->selected == 0 && m->dropped, "m1 is not written: %s",
       m && m->dropped ? m->dropped : "");
    is_int(cal->nplaced, 9, "nine placed");
    is_int(cal->nselected, 9, "nine written");

    llmr_cal_destroy(cal);

    /*
     * A hole: prices 1, 1.5, 2 -> P35 1.35, P60 1.6, P85 1.85;
     * intelligence 10, 50, 90 -> P20 26, P40 42, P70 66; math of g1, g2
     * -> P30 22.  g3 ($1.5, 90, no math) passes simple, moderate and
     * expert, not complex: it serves simple-expert, complex filled.
     */

    aa_reset();
    aa_model("g1", "x", 10, 10, 1, 1);
    aa_model("g2", "x", 50, 50, 2, 2);
    aa_model("g3", "x", 90, -1, 1.5, 1.5);
    aa_end();

    cal = calibrate(NULL, 0, &rc, err, sizeof(err));
    is_int(rc, LLMR_OK, "the hole set calibrates");
    range("g3", LLMR_TIER_SIMPLE, LLMR_TIER_EXPERT);
    ok(m && !(m->passes & (1u << LLMR_TIER_COMPLEX))
       && (m->passes & (1u << LLMR_TIER_EXPERT)),
       "g3 fails complex (no math index) and passes expert");

    s = llmr_cal_models_md(cal);
    ok(s && strstr(s, "- complex: filled (inside its range), fails: math "
                   "unknown, needs >= 22 (P30)"),
       "MODELS.md says why g3 serves complex");
    free(s);

    llmr_cal_destroy(cal);

#undef range

    /* a model limit keeps every tier's first choices */

    ten_models();
    cal = calibrate(NULL, 4, &rc, err, sizeof(err));
    is_int(rc, LLMR_OK, "--max-models 4");
    is_int(cal->nselected, 4, "four written");

    for (rc = 0; rc < LLMR_TIER_N; rc++) {
        unsigned  i, served;

        served = 0;

        for (i = 0; i < cal->n; i++) {
            m = &cal->models[i];

            if (m->selected == 1 && rc >= m->tier_lo && rc <= m->tier_hi) {
                served++;
            }
        }

        ok(served > 0, "tier %s still served", llmr_tier_name(rc));
    }

    llmr_cal_destroy(cal);

    /* no math index anywhere: the condition is dropped */

    aa_reset();
    aa_model("n1", "x", 10, -1, 1, 1);
    aa_model("n2", "x", 50, -1, 2, 2);
    aa_model("n3", "x", 90, -1, 3, 3);
    aa_end();

    cal = calibrate(NULL, 0, &rc, err, sizeof(err));
    is_int(rc, LLMR_OK, "no math at all calibrates");
    is_int(cal->math_dropped, 1, "math condition dropped");
    ok(cal->bands[LLMR_TIER_COMPLEX].min_math < 0, "complex has no floor");
    m = find(cal, "n2");
    ok(m && (m->passes & (1u << LLMR_TIER_COMPLEX)), "n2 passes complex");
    llmr_cal_destroy(cal);

    /* all models tied */

    aa_reset();
    aa_model("t1", "x", 50, 50, 1, 1);
    aa_model("t2", "x", 50, 50, 1, 1);
    aa_model("t3", "x", 50, 50, 1, 1);
    aa_end();

    cal = calibrate(NULL, 0, &rc, err, sizeof(err));
    is_int(rc, LLMR_OK, "ties calibrate");
    is_int(cal->nfrontier, 3, "ties: all on the frontier");
    m = find(cal, "t2");
    ok(m && m->tier_lo == 0 && m->tier_hi == LLMR_TIER_N - 1,
       "ties: thresholds inclusive, every tier");
    llmr_cal_destroy(cal);
}


static void
test_overrides(void)
{
    int                      rc;
    char                     err[LLMR_ERRSTR_SIZE], *json;
    llmr_cal_t              *cal;
    llmr_registry_t         *reg;
    const llmr_model_t      *rm;
    const llmr_cal_model_t  *m;

    static const char  manual[] =
        "{\"_comment\": \"hand-set\","
        " \"calibration\": {\"method\": \"manual\", \"thresholds\": {"
        "  \"trivial\": {\"max_cost\": 2, \"min_intelligence\": 0},"
        "  \"simple\": {\"max_cost\": 3, \"min_intelligence\": 20},"
        "  \"expert\": {\"max_cost\": null, \"min_intelligence\": 95}}},"
        " \"upstreams\": {\"odd\": \"odd_upstream\"},"
        " \"models\": {"
        "  \"m4\": {\"exclude\": true},"
        "  \"m6\": {\"tiers\": \"expert\", \"id\": \"vendor/m6-2025\","
        "          \"caps\": [\"vision\", \"tools\"], \"context\": 128000,"
        "          \"upstream\": \"special\"},"
        "  \"nosuch\": {\"exclude\": true}}}";

    ten_models();
    cal = calibrate(manual, 0, &rc, err, sizeof(err));
    is_int(rc, LLMR_OK, "manual thresholds: %s", err);
    is_int(cal->manual, 1, "method manual");
    ok(cal->bands[LLMR_TIER_TRIVIAL].manual
       && close_to(cal->bands[LLMR_TIER_TRIVIAL].max_cost, 2),
       "trivial set by hand");
    ok(!cal->bands[LLMR_TIER_MODERATE].manual
       && close_to(cal->bands[LLMR_TIER_MODERATE].max_cost, 8.8),
       "a tier not named keeps its percentile (without m4: %g)",
       cal->bands[LLMR_TIER_MODERATE].max_cost);

    m = find(cal, "m2");
    ok(m && m->tier_lo == LLMR_TIER_TRIVIAL && m->tier_hi == LLMR_TIER_SIMPLE,
       "m2: trivial-simple by the manual thresholds");
    m = find(cal, "m10");
    ok(m && m->tier_hi == LLMR_TIER_EXPERT, "m10 reaches expert (100 >= 95)");
    m = find(cal, "m9");
    ok(m && !(m->passes & (1u << LLMR_TIER_EXPERT)), "m9 does not (90)");

    m = find(cal, "m4");
    ok(m && m->ignored && m->selected == 0, "m4 excluded");
    is_int(cal->excluded, 1, "one excluded");

    m = find(cal, "m6");
    ok(m && m->forced && m->tier_lo == LLMR_TIER_EXPERT
       && m->tier_hi == LLMR_TIER_EXPERT, "m6 tiers set by the override");
    is_str(m ? m->upstream : NULL, "special", "m6 upstream from override");
    m = find(cal, "m5");
    is_str(m ? m->upstream : NULL, "odd_upstream", "m5 from upstreams{}");
    m = find(cal, "m2");
    is_str(m ? m->upstream : NULL, "even_pool", "m2 default upstream");

    ok(cal->ov[2].used == 0, "the override for nosuch matched nothing");

    /* what llm_models will read */

    json = llmr_cal_models_json(cal);
    ok(json != NULL, "models.json generated");

    reg = llmr_registry_create();
    rc = llmr_registry_load_json(reg, json, strlen(json), err, sizeof(err));
    is_int(rc, LLMR_OK, "models.json loads into the registry: %s", err);
    is_int(reg->n, cal->nselected, "with every written model");

    rm = llmr_registry_find(reg, "m6", 2);
    ok(rm && rm->caps == (LLMR_CAP_VISION | LLMR_CAP_TOOLS)
       && rm->context == 128000, "caps and context from the override");
    is_str(rm ? rm->id : NULL, "vendor/m6-2025", "provider id");
    ok(rm && rm->intelligence == 60 && rm->math_index == 60
       && rm->speed_tps == 100 && rm->ttft_s == 0.5,
       "quality data in the registry");
    ok(rm && rm->price_in == 6 && rm->price_out == 6, "prices");

    llmr_registry_destroy(reg);
    free(json);

    json = llmr_cal_report(cal, 1);
    ok(json && strstr(json, "nosuch") != NULL,
       "the report warns about an unused override");
    free(json);

    llmr_cal_destroy(cal);

    /* percentiles changed, not the method */

    ten_models();
    cal = calibrate("{\"calibration\": {\"percentiles\": {\"expert\": "
                    "{\"intelligence\": 90}}}, \"providers\": [\"even\"]}",
                    0, &rc, err, sizeof(err));
    is_int(rc, LLMR_OK, "custom percentiles: %s", err);
    is_int(cal->filtered, 5, "five left out by the provider list");
    ok(close_to(cal->bands[LLMR_TIER_EXPERT].min_intelligence, 92),
       "P90 of 20,40,..,100 is 92 (%g)",
       cal->bands[LLMR_TIER_EXPERT].min_intelligence);
    llmr_cal_destroy(cal);

}


/* mistakes in the override file are errors */

static void
test_overrides_bad(void)
{
    int          rc;
    char         err[LLMR_ERRSTR_SIZE];
    unsigned     i;
    llmr_cal_t  *cal;

    struct {
        const char  *json;
        const char  *expect;
    }  bad[] = {
        { "[]", "must be a JSON object" },
        { "{\"calibration\": {\"method\": \"magic\"}}", "percentile" },
        { "{\"calibration\": {\"method\": \"manual\"}}", "needs" },
        { "{\"calibration\": {\"thresholds\": {}}}", "needs method" },
        { "{\"calibration\": {\"method\": \"manual\", \"percentiles\": {}}}",
          "needs method" },
        { "{\"calibration\": {\"method\": \"manual\", \"thresholds\": "
          "{\"hard\": {\"max_cost\": 1}}}}", "unknown tier \"hard\"" },
        { "{\"calibration\": {\"method\": \"manual\", \"thresholds\": "
          "{\"simple\": {\"min_inteligence\": 1}}}}",
          "unknown key \"min_inteligence\"" },
        { "{\"calibration\": {\"method\": \"manual\", \"thresholds\": "
          "{\"simple\": {\"max_cost\": -1}}}}", "expected a number" },
        { "{\"calibration\": {\"method\": \"manual\", \"thresholds\": "
          "{\"simple\": {\"max_cost\": \"1\"}}}}", "expected a number" },
        { "{\"calibration\": {\"percentiles\": {\"simple\": {\"cost\": "
          "101}}}}", "percentile 0..100" },
        { "{\"calibration\": {\"percentiles\": {\"simple\": {}}}}",
          "is empty" },
        { "{\"calibration\": {\"metod\": \"manual\"}}", "unknown key" },
        { "{\"colour\": 1}", "unknown key \"colour\"" },
        { "{\"models\": {\"x\": {\"tiers\": \"expert-trivial\"}}}",
          "invalid range" },
        { "{\"models\": {\"x\": {\"caps\": [\"telepathy\"]}}}",
          "unknown capability" },
        { "{\"models\": {\"x\": {\"context\": 1.5}}}", "number of tokens" },
        { "{\"models\": {\"x\": {\"exclude\": 1}}}", "true or false" },
        { "{\"models\": {\"x\": {\"upstreams\": \"u\"}}}", "unknown key" },
        { "{\"models\": {\"x\": {}, \"x\": {}}}", "given twice" },
        { "{\"upstreams\": {\"a\": 1}}", "must be a string" },
        { "{\"providers\": \"openai\"}", "array of strings" },
        { "{\"calibration\": ", "invalid JSON" },
        { NULL, NULL }
    };

    for (i = 0; bad[i].json; i++) {
        cal = llmr_cal_create();
        rc = llmr_cal_load_overrides(cal, bad[i].json, strlen(bad[i].json),
                                     err, sizeof(err));
        is_int(rc, LLMR_ERROR, "bad override %u refused", i + 1);
        ok(strstr(err, bad[i].expect) != NULL, "  message: %s", err);
        llmr_cal_destroy(cal);
    }
}


static void
test_outputs(void)
{
    int               rc;
    char              err[LLMR_ERRSTR_SIZE], *s;
    llmr_cal_t       *cal;
    llmr_registry_t  *prev;

    static const char  before[] =
        "[{\"name\": \"m2\", \"provider\": \"even\", \"api\": \"openai\", \"upstream\": "
        "\"even_pool\", \"tiers\": \"trivial\", \"input\": 1, \"output\": 2,"
        " \"intelligence\": 20},"
        " {\"name\": \"m5\", \"provider\": \"odd\", \"api\": \"openai\", \"upstream\": "
        "\"odd_pool\", \"tiers\": \"simple\", \"input\": 5, \"output\": 5,"
        " \"intelligence\": 50},"
        " {\"name\": \"m1\", \"provider\": \"odd\", \"api\": \"openai\", \"upstream\": "
        "\"odd_pool\", \"tiers\": \"trivial\", \"input\": 1, \"output\": 1},"
        " {\"name\": \"old-model\", \"provider\": \"odd\", \"api\": \"openai\", \"upstream\": "
        "\"odd_pool\", \"tiers\": \"expert\", \"input\": 1, \"output\": 1}]";

    ten_models();
    cal = calibrate(NULL, 0, &rc, err, sizeof(err));
    snprintf(cal->when, sizeof(cal->when), "2025-07-01T00:00:00Z");
    cal->source = "test";

    s = llmr_cal_nginx_include(cal);
    ok(s && strstr(s, "llm_model m2 provider=even api=openai upstream=even_pool "
                   "tiers=trivial input=2 output=2 intelligence=20 "
                   "coding=10 math=20 speed=100 ttft=0.5;\n"),
       "an llm_model line");
    ok(s && strstr(s, "#   upstream odd_pool { server ...; }"),
       "the upstreams it needs are listed");
    free(s);

    s = llmr_cal_models_md(cal);
    ok(s && strstr(s, "| complex | reasoning | $8.65 (P85) | 46 (P40) | "
                   "34 (P30) |"), "MODELS.md thresholds table");
    ok(s && strstr(s, "- trivial: fails: intelligence 10 < 14.5 (P5)"),
       "MODELS.md says why m1 serves nothing");
    free(s);

    s = llmr_cal_changelog(cal, NULL, NULL);
    ok(s && strstr(s, "First calibration") && strstr(s, "- added `m2`"),
       "first changelog entry");
    free(s);

    /* the previous run: m2 cheaper, m3 gone, m5 elsewhere, old-model */

    prev = llmr_registry_create();
    rc = llmr_registry_load_json(prev, before, sizeof(before) - 1, err,
                                 sizeof(err));
    is_int(rc, LLMR_OK, "a previous registry: %s", err);

    s = llmr_cal_changelog(cal, prev, NULL);
    ok(s != NULL, "changelog against the previous run");
    ok(s && strstr(s, "- price of `m2`: USD 1 / 2 -> 2 / 2"),
       "price change");
    ok(s && strstr(s, "- moved `m5`: simple -> simple-complex"),
       "tier move");
    ok(s && strstr(s, "- removed `m1` (was trivial): passes no tier"),
       "removed, with the reason");
    ok(s && strstr(s, "- removed `old-model` (was expert): no longer in "
                   "the data"), "removed from the data");
    ok(s && strstr(s, "- added `m3`"), "added");
    ok(s && strstr(s, "`m2`: trivial") == NULL, "m2 did not move");
    free(s);

    s = llmr_cal_changelog(cal, NULL, "cannot open");
    ok(s && strstr(s, "could not be read (cannot open)"),
       "an unreadable previous file is said");
    free(s);

    llmr_registry_destroy(prev);
    llmr_cal_destroy(cal);
}


static void
test_report(void)
{
    int          rc;
    char         err[LLMR_ERRSTR_SIZE], *s;
    llmr_cal_t  *cal;

    ten_models();
    cal = calibrate(NULL, 0, &rc, err, sizeof(err));

    s = llmr_cal_report(cal, 0);
    ok(s && strstr(s, "thresholds") && strstr(s, "cost-efficiency"),
       "the report has thresholds and profiles");
    ok(s && strstr(s, "intelligence (y)") == NULL, "no plot without explore");
    free(s);

    s = llmr_cal_report(cal, 1);
    ok(s && strstr(s, "intelligence (y)") && strstr(s, "frontier, cheapest"),
       "explore adds the scatter table, the plot and the frontier");
    free(s);

    llmr_cal_destroy(cal);
}


int
main(void)
{
    test_percentile();
    test_parse();
    test_frontier();
    test_bands();
    test_overrides();
    test_overrides_bad();
    test_outputs();
    test_report();

    return tap_done();
}
