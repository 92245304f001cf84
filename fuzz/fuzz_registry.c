
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * llm_models registry loading (llmr_registry_load_json), the input being
 * the file's bytes.  Properties: no memory error, leak or undefined
 * behaviour; an error is a NUL-terminated message within the buffer; a
 * loaded registry holds at most LLMR_MODELS_MAX models with distinct,
 * non-empty names that llmr_registry_find() gives back, tier ranges in
 * order and finite, non-negative prices.
 */


#include <math.h>

#include <llmr/core.h>
#include <llmr/registry.h>

#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc;
    char                  err[LLMR_ERRSTR_SIZE];
    char                 *copy;
    unsigned              i;
    llmr_registry_t      *reg;
    const llmr_model_t   *m, *f;

    reg = llmr_registry_create();
    if (reg == NULL) {
        abort();
    }

    /* an exact-size copy: the loader must not read past len */
    copy = (char *) fz_copy(data, size);

    memset(err, 'X', sizeof(err));
    err[0] = '\0';

    rc = llmr_registry_load_json(reg, copy, size, err, sizeof(err));

    free(copy);

    if (rc != LLMR_OK) {
        fz_assert(memchr(err, '\0', sizeof(err)) != NULL, "err unterminated");
        fz_assert(err[0] != '\0', "an error without a message");
        llmr_registry_destroy(reg);
        return 0;
    }

    fz_assert(reg->n <= LLMR_MODELS_MAX, "%u models", reg->n);

    for (i = 0; i < reg->n; i++) {
        m = &reg->models[i];

        fz_assert(m->name && m->name[0] && m->id && m->id[0] && m->provider
                  && m->provider[0] && m->upstream && m->upstream[0],
                  "model %u: an empty string", i);
        fz_assert(m->index == i, "model %u: index %u", i, m->index);
        fz_assert(m->tier_lo >= 0 && m->tier_lo <= m->tier_hi
                  && m->tier_hi < LLMR_TIER_N, "model %u: tiers %d-%d", i,
                  m->tier_lo, m->tier_hi);
        fz_assert(isfinite(m->price_in) && m->price_in >= 0
                  && isfinite(m->price_out) && m->price_out >= 0,
                  "model %u: prices %g %g", i, m->price_in, m->price_out);
        fz_assert(strlen(m->name) <= LLMR_NAME_MAX, "model %u: name %zu", i,
                  strlen(m->name));

        f = llmr_registry_find(reg, m->name, strlen(m->name));
        fz_assert(f == m, "model %u: find(\"%s\") gives another", i, m->name);
    }

    llmr_registry_destroy(reg);

    return 0;
}
