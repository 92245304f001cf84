
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * Regressions found by the fuzz targets (fuzz/), one test function each,
 * named after the target and what it found.  The crash inputs themselves
 * are in fuzz/regress/TARGET and replayed by "make fuzz-replay".
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/core.h>
#include <llmr/registry.h>
#include <llmr/calibrate.h>

#include "tap.h"


#define AA_ENTRY(slug, creator, intel, in, out)                               \
    "{\"name\": \"" slug "\", \"slug\": \"" slug "\", "                       \
    "\"model_creator\": {\"name\": \"" creator "\", \"slug\": \""             \
    creator "\"}, \"evaluations\": {"                                         \
    "\"artificial_analysis_intelligence_index\": " intel ", "                 \
    "\"artificial_analysis_math_index\": 50}, \"pricing\": {"                 \
    "\"price_1m_input_tokens\": " in ", \"price_1m_output_tokens\": " out     \
    "}}"

static const char  aa[] =
    "{\"status\": 200, \"data\": ["
    AA_ENTRY("gpt-4o-mini", "openai", "36", "0.15", "0.6") ","
    AA_ENTRY("gpt-4-1", "openai", "53", "2", "8") ","
    AA_ENTRY("o3", "openai", "70", "2", "8") ","
    AA_ENTRY("claude-4-opus", "anthropic", "64", "15", "75")
    "]}";


static int
overrides(const char *json, char *err, size_t errlen)
{
    int          rc;
    llmr_cal_t  *cal;

    cal = llmr_cal_create();
    err[0] = '\0';
    rc = llmr_cal_load_overrides(cal, json, strlen(json), err, errlen);
    llmr_cal_destroy(cal);

    return rc;
}


/*
 * fuzz_calibrate: an override "id" (or "upstream", or an "upstreams" map
 * value) with characters the registry refuses was accepted, so the
 * calibration ran and llmr calibrate --save failed only when it checked
 * the models.json it was about to write ("invalid id" from the registry).
 * The override file is now refused up front, naming the key.
 */

static void
test_calibrate_override_names(void)
{
    int                   rc;
    char                  err[LLMR_ERRSTR_SIZE];
    char                 *json;
    size_t                i;
    llmr_cal_t           *cal;
    llmr_registry_t      *reg;
    const llmr_model_t   *m;

    static const struct {
        const char  *json;
        const char  *msg;
    } bad[] = {
        /* the fuzzer's input, reduced */
        { "{\"models\": {\"gpt-4-1\": {\"id\": \"gpt-4{{{{.1\"}}}",
          "models.gpt-4-1.id: invalid id \"gpt-4{{{{.1\"" },
        { "{\"models\": {\"o3\": {\"id\": \"a b\"}}}", "invalid id" },
        { "{\"models\": {\"o3\": {\"id\": \"quote\\\"d\"}}}", "invalid id" },
        { "{\"models\": {\"o3\": {\"upstream\": \"pool;evil\"}}}",
          "models.o3.upstream: invalid upstream" },
        { "{\"models\": {\"o3\": {\"upstream\": \"a/b\"}}}",
          "invalid upstream" },
        { "{\"upstreams\": {\"openai\": \"x y\"}}",
          "invalid upstream \"x y\" for \"openai\"" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = overrides(bad[i].json, err, sizeof(err));
        ok(rc == LLMR_ERROR && strstr(err, bad[i].msg) != NULL,
           "override refused: %s (%s)", bad[i].json, err);
    }

    cal = llmr_cal_create();
    err[0] = '\0';
    rc = llmr_cal_map_upstream(cal, SL("openai"), SL("bad pool"), err,
                               sizeof(err));
    ok(rc == LLMR_ERROR && strstr(err, "invalid upstream \"bad pool\""),
       "--upstream-map openai=\"bad pool\" refused (%s)", err);

    /* every character the registry takes still passes, end to end */

    err[0] = '\0';
    rc = llmr_cal_map_upstream(cal, SL("openai"), SL("[::1]:8443"), err,
                               sizeof(err));
    ok(rc == LLMR_OK, "an IPv6 upstream mapping passes (%s)", err);

    rc = llmr_cal_load_overrides(cal,
             "{\"models\": {\"gpt-4-1\": {\"id\": \"org/gpt-4.1:v1@2+x_y\","
             " \"upstream\": \"oai_pool-2.eu:443\"}}}",
             strlen("{\"models\": {\"gpt-4-1\": {\"id\": \"org/gpt-4.1:v1@2+"
                    "x_y\", \"upstream\": \"oai_pool-2.eu:443\"}}}"),
             err, sizeof(err));
    ok(rc == LLMR_OK, "ids and upstreams with ._:/@+- and [] pass (%s)",
       err);

    rc = llmr_cal_parse_aa(cal, aa, sizeof(aa) - 1, err, sizeof(err));
    is_int(rc, LLMR_OK, "the data parses (%s)", err);

    rc = llmr_cal_run(cal, LLMR_MODELS_MAX, err, sizeof(err));
    ok(rc == LLMR_OK, "the run (%s)", err);

    json = llmr_cal_models_json(cal);
    reg = llmr_registry_create();

    rc = llmr_registry_load_json(reg, json, strlen(json), err, sizeof(err));
    ok(rc == LLMR_OK, "the models.json written loads (%s)", err);

    m = llmr_registry_find(reg, SL("gpt-4-1"));
    is_str(m ? m->id : NULL, "org/gpt-4.1:v1@2+x_y", "the override's id");
    is_str(m ? m->upstream : NULL, "oai_pool-2.eu:443",
           "the override's upstream");

    m = llmr_registry_find(reg, "o3", 2);
    is_str(m ? m->upstream : NULL, "[::1]:8443", "the mapped upstream");

    llmr_registry_destroy(reg);
    free(json);
    llmr_cal_destroy(cal);
}


/*
 * fuzz_calibrate: a coding or math index (or an intelligence index) over
 * 1,000,000 was taken, and written to a models.json the registry refuses
 * ("invalid math \"5.11111e+73\""). Past the registry's bound an
 * optional index is now unknown, and an intelligence index makes the
 * entry skipped.
 */

static void
test_calibrate_huge_indexes(void)
{
    int                   rc;
    char                  err[LLMR_ERRSTR_SIZE];
    char                 *json;
    unsigned              i, skipped;
    llmr_cal_t           *cal;
    llmr_registry_t      *reg;
    const llmr_model_t   *m;

    static const char  data[] =
        "[{\"name\": \"a\", \"slug\": \"a\", \"model_creator\": {\"slug\": "
        "\"x\"}, \"evaluations\": {\"artificial_analysis_intelligence_index\":"
        " 50, \"artificial_analysis_coding_index\": 1e7, "
        "\"artificial_analysis_math_index\": "
        "51111111111111111111111111111111111111111111111111111111111111111111"
        "111111}, \"pricing\": {\"price_1m_input_tokens\": 1, "
        "\"price_1m_output_tokens\": 2}},"
        " {\"name\": \"b\", \"slug\": \"b\", \"model_creator\": {\"slug\": "
        "\"x\"}, \"evaluations\": {\"artificial_analysis_intelligence_index\":"
        " 2e6}, \"pricing\": {\"price_1m_blended_3_to_1\": 1}},"
        " {\"name\": \"c\", \"slug\": \"c\", \"model_creator\": {\"slug\": "
        "\"x\"}, \"evaluations\": {\"artificial_analysis_intelligence_index\":"
        " 40, \"artificial_analysis_math_index\": 1000000}, \"pricing\": "
        "{\"price_1m_blended_3_to_1\": 0.5}}]";

    cal = llmr_cal_create();
    err[0] = '\0';

    rc = llmr_cal_parse_aa(cal, data, sizeof(data) - 1, err, sizeof(err));
    is_int(rc, LLMR_OK, "huge indexes: the data parses (%s)", err);

    skipped = 0;

    for (i = 0; i < cal->nskipped; i++) {
        if (strcmp(cal->skipped[i].name, "b") == 0
            && strstr(cal->skipped[i].reason, "invalid intelligence index"))
        {
            skipped++;
        }
    }

    is_int(skipped, 1, "an intelligence index of 2e6 is skipped");

    rc = llmr_cal_run(cal, LLMR_MODELS_MAX, err, sizeof(err));
    is_int(rc, LLMR_OK, "the run (%s)", err);

    json = llmr_cal_models_json(cal);
    reg = llmr_registry_create();

    rc = llmr_registry_load_json(reg, json, strlen(json), err, sizeof(err));
    is_int(rc, LLMR_OK, "the models.json written loads (%s)", err);

    m = llmr_registry_find(reg, "a", 1);
    ok(m != NULL && m->math_index == 0 && m->coding_index == 0
       && m->intelligence == 50,
       "indexes over 1,000,000 are unknown, the others kept");

    for (i = 0; i < cal->n && strcmp(cal->models[i].name, "c") != 0; i++) {
        /* void */
    }

    ok(i < cal->n && cal->models[i].math == 1000000,
       "1,000,000 itself is kept");

    llmr_registry_destroy(reg);
    free(json);
    llmr_cal_destroy(cal);
}


int
main(void)
{
    test_calibrate_override_names();
    test_calibrate_huge_indexes();

    return tap_done();
}
