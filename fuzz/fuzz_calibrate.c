
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The calibrate inputs: the model data (llmr_cal_parse_aa, the Artificial
 * Analysis v2 format) and the override file (llmr_cal_load_overrides),
 * each followed, when accepted, by the whole run and every output.
 * Properties: no memory error, leak or undefined behaviour; errors are
 * NUL-terminated messages; every model written is placed in a tier range
 * in order; the models.json written loads with the registry's own parser
 * (as llmr calibrate --save checks before writing).
 *
 * byte 0: bit 0 clear: the rest is the model data; set: the rest is the
 * override file, applied to a small fixed data set.  Bits 1-6: the
 * --max-models value (1..64).
 */


#include <llmr/core.h>
#include <llmr/registry.h>
#include <llmr/calibrate.h>

#include "fuzz.h"


#define FZ_AA(slug, creator, intel, math, in, out)                            \
    "{\"name\": \"" slug " name\", \"slug\": \"" slug "\", "                  \
    "\"model_creator\": {\"name\": \"" creator " Inc\", \"slug\": \""         \
    creator "\"}, \"evaluations\": {"                                         \
    "\"artificial_analysis_intelligence_index\": " intel ", "                 \
    "\"artificial_analysis_coding_index\": 20, "                              \
    "\"artificial_analysis_math_index\": " math "}, \"pricing\": {"           \
    "\"price_1m_input_tokens\": " in ", \"price_1m_output_tokens\": " out     \
    "}, \"median_output_tokens_per_second\": 90, "                            \
    "\"median_time_to_first_token_seconds\": 0.6}"

static const char  fz_aa[] =
    "{\"status\": 200, \"data\": ["
    FZ_AA("gpt-4o-mini", "openai", "36", "40", "0.15", "0.6") ","
    FZ_AA("gpt-4-1", "openai", "53", "55", "2", "8") ","
    FZ_AA("o3", "openai", "70", "95", "2", "8") ","
    FZ_AA("claude-4-sonnet", "anthropic", "61", "70", "3", "15") ","
    FZ_AA("claude-4-opus", "anthropic", "64", "null", "15", "75") ","
    FZ_AA("gemini-2-5-flash", "google", "58", "80", "0.3", "2.5") ","
    FZ_AA("llama-4-scout", "meta", "43", "30", "0.1", "0.3")
    "]}";


static void
fz_outputs(llmr_cal_t *cal, unsigned max_models)
{
    int               rc;
    char              err[LLMR_ERRSTR_SIZE];
    char             *json, *s;
    unsigned          i, written;
    llmr_registry_t  *reg;

    err[0] = '\0';

    if (llmr_cal_run(cal, max_models, err, sizeof(err)) != LLMR_OK) {
        fz_assert(err[0] != '\0', "run failed without a message");
        return;
    }

    written = 0;

    for (i = 0; i < cal->n; i++) {
        if (cal->models[i].selected) {
            written++;
            fz_assert(cal->models[i].tier_lo >= 0
                      && cal->models[i].tier_lo <= cal->models[i].tier_hi
                      && cal->models[i].tier_hi < LLMR_TIER_N,
                      "%s: tiers %d-%d", cal->models[i].name,
                      cal->models[i].tier_lo, cal->models[i].tier_hi);
        }
    }

    fz_assert(written <= max_models, "%u models written of %u", written,
              max_models);

    json = llmr_cal_models_json(cal);
    fz_assert(json != NULL, "models.json");

    reg = llmr_registry_create();
    if (reg == NULL) {
        abort();
    }

    rc = llmr_registry_load_json(reg, json, strlen(json), err, sizeof(err));
    fz_assert(rc == LLMR_OK, "models.json does not load: %s", err);
    fz_assert(reg->n == written, "models.json has %u models, %u written",
              reg->n, written);

    s = llmr_cal_changelog(cal, reg, NULL);
    fz_assert(s != NULL, "changelog against itself");
    free(s);

    llmr_registry_destroy(reg);
    free(json);

    s = llmr_cal_nginx_include(cal);
    fz_assert(s != NULL, "include");
    free(s);

    s = llmr_cal_models_md(cal);
    fz_assert(s != NULL, "MODELS.md");
    free(s);

    s = llmr_cal_changelog(cal, NULL, NULL);
    fz_assert(s != NULL, "changelog");
    free(s);

    s = llmr_cal_report(cal, 1);
    fz_assert(s != NULL, "report");
    free(s);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          rc;
    char         err[LLMR_ERRSTR_SIZE];
    char        *copy;
    unsigned     max_models;
    llmr_cal_t  *cal;

    if (size < 1) {
        return 0;
    }

    max_models = 1 + ((data[0] >> 1) % LLMR_MODELS_MAX);

    cal = llmr_cal_create();
    if (cal == NULL) {
        abort();
    }

    copy = (char *) fz_copy(data + 1, size - 1);
    err[0] = '\0';

    if (data[0] & 1) {
        rc = llmr_cal_load_overrides(cal, copy, size - 1, err, sizeof(err));

        if (rc == LLMR_OK) {
            err[0] = '\0';
            rc = llmr_cal_parse_aa(cal, fz_aa, sizeof(fz_aa) - 1, err,
                                   sizeof(err));
            fz_assert(rc == LLMR_OK, "the fixed data: %s", err);
        }

    } else {
        rc = llmr_cal_parse_aa(cal, copy, size - 1, err, sizeof(err));
    }

    free(copy);

    if (rc != LLMR_OK) {
        fz_assert(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0',
                  "an error without a message");

    } else {
        fz_outputs(cal, max_models);
    }

    llmr_cal_destroy(cal);

    return 0;
}
