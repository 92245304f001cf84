
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The request translator (llmr_xreq_*) on any bytes.  Properties:
 *
 *   - the parse succeeds or fails with a message, never reads outside;
 *   - the client's own API never blocks and declines the write;
 *   - a target that does not block is written, and the output is one
 *     JSON object (llmr_jdoc); a target that blocks declines;
 *   - writing every target again, in turn, gives the same bytes.
 *
 * byte 0: bits 0-1 the client's format (OpenAI chat, Anthropic, Gemini,
 *         OpenAI Responses), bit 2 a Gemini stream, bit 3 include_usage.
 * byte 1..: the body.
 */


#include <llmr/core.h>
#include <llmr/api.h>
#include <llmr/extract.h>
#include <llmr/translate.h>

#include "../core/src/llmr_jdoc.h"

#include "fuzz.h"


static llmr_xreq_t  *fz_x;
static llmr_jdoc_t   fz_doc;


static const int  fz_formats[4] = {
    LLMR_FMT_OPENAI_CHAT, LLMR_FMT_ANTHROPIC, LLMR_FMT_GEMINI,
    LLMR_FMT_OPENAI_RESPONSES
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                api, own, rc, k;
    char              *body;
    size_t             len, olen, flen[LLMR_API_N];
    unsigned char     *first[LLMR_API_N];
    const char        *out, *b;
    llmr_xreq_conf_t   conf;

    if (size < 1) {
        return 0;
    }

    if (fz_x == NULL) {
        fz_x = llmr_xreq_create();
        if (fz_x == NULL) {
            abort();
        }

        llmr_jdoc_init(&fz_doc);
    }

    body = (char *) fz_copy(data + 1, size - 1);
    len = size - 1;

    rc = llmr_xreq_parse(fz_x, fz_formats[data[0] & 3], body, len);

    if (rc != LLMR_OK) {
        fz_assert(rc == LLMR_ERROR && llmr_xreq_error(fz_x)[0] != '\0',
                  "parse: %d", rc);
        free(body);
        return 0;
    }

    if (data[0] & 4) {
        llmr_xreq_set_stream(fz_x, 1);
    }

    own = (data[0] & 3) == 1 ? LLMR_API_ANTHROPIC
          : (data[0] & 3) == 2 ? LLMR_API_GEMINI : LLMR_API_OPENAI;

    fz_assert(llmr_xreq_blocker(fz_x, own) == NULL, "the own API blocks");

    memset(first, 0, sizeof(first));
    memset(flen, 0, sizeof(flen));
    memset(&conf, 0, sizeof(llmr_xreq_conf_t));

    conf.model = "m\"odel";
    conf.model_len = 6;
    conf.include_usage = (data[0] & 8) != 0;

    for (k = 0; k < 2 * LLMR_API_N; k++) {
        api = k % LLMR_API_N;
        conf.api = api;

        rc = llmr_xreq_write(fz_x, &conf, &out, &olen);
        b = llmr_xreq_blocker(fz_x, api);

        if (api == own || b != NULL) {
            fz_assert(rc == LLMR_DECLINED, "write to %d: %d", api, rc);
            continue;
        }

        fz_assert(rc == LLMR_OK, "write to %d: %s", api,
                  llmr_xreq_error(fz_x));

        if (k >= LLMR_API_N) {
            fz_assert(flen[api] == olen && memcmp(first[api], out, olen) == 0,
                      "the second write to %d differs", api);
            continue;
        }

        rc = llmr_jdoc_parse(&fz_doc, out, olen);
        fz_assert(rc == LLMR_OK && fz_doc.root->type == LLMR_V_MAP,
                  "the output for %d is not a JSON object: %s at %zu: %.*s",
                  api, fz_doc.error ? fz_doc.error : "not a map",
                  fz_doc.error_at, (int) olen, out);

        first[api] = fz_copy((const unsigned char *) out, olen);
        flen[api] = olen;
    }

    for (api = 0; api < LLMR_API_N; api++) {
        free(first[api]);
    }

    free(body);

    return 0;
}
