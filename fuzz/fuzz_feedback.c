
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The feedback endpoint's body parser (llmr_feedback_parse) and the
 * implicit quality read from a response (llmr_implicit_quality).
 * Properties: no memory error, leak or undefined behaviour; an accepted
 * report has a request id of 1..64 bytes of [A-Za-z0-9._-], at least one
 * of quality, success and rating, each in its range, and a quality in
 * 0..1; a refused one a NUL-terminated message; the implicit quality is
 * -1 or within 0..1 and its signals format within the buffer.
 *
 * byte 0: bit 0 clear: the rest is a feedback body; set: the rest is a
 * response body (read by the usage reader, format bits 1-3, SSE bit 4),
 * byte 1 its HTTP status class and the request's tier, bytes 2-3 its
 * max_tokens.
 */


#include <math.h>

#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/usage.h>
#include <llmr/feedback.h>

#include "fuzz.h"


static void
fz_feedback(const uint8_t *data, size_t size)
{
    int               rc;
    char              err[LLMR_ERRSTR_SIZE], *copy;
    size_t            i;
    double            q;
    llmr_feedback_t   fb;

    copy = (char *) fz_copy(data, size);
    memset(err, 'X', sizeof(err));
    err[0] = '\0';

    rc = llmr_feedback_parse(copy, size, &fb, err, sizeof(err));
    free(copy);

    if (rc != LLMR_OK) {
        fz_assert(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0',
                  "an error without a message");
        return;
    }

    fz_assert(fb.id_len >= 1 && fb.id_len <= LLMR_FEEDBACK_MAX_ID
              && fb.request_id[fb.id_len] == '\0'
              && strlen(fb.request_id) == fb.id_len, "id_len %zu",
              fb.id_len);

    for (i = 0; i < fb.id_len; i++) {
        fz_assert(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789._-", fb.request_id[i]) != NULL
                  && fb.request_id[i] != '\0', "id byte %02x",
                  (unsigned char) fb.request_id[i]);
    }

    fz_assert(fb.has_quality || fb.has_success || fb.has_rating,
              "a report without a value");
    fz_assert(!fb.has_quality || (isfinite(fb.quality) && fb.quality >= 0
                                  && fb.quality <= 1), "quality %g",
              fb.quality);
    fz_assert(!fb.has_rating || (fb.rating >= 1 && fb.rating <= 5),
              "rating %d", fb.rating);

    q = llmr_feedback_quality(&fb);
    fz_assert(isfinite(q) && q >= 0 && q <= 1, "quality of the report %g", q);
}


static void
fz_implicit(const uint8_t *data, size_t size)
{
    int                         status, tier;
    char                        buf[32];
    size_t                      n;
    double                      q;
    int64_t                     max_tokens;
    unsigned                    signals;
    llmr_usage_t               *u;
    unsigned char              *copy;
    const llmr_usage_result_t  *r;

    static const int  statuses[8] = { 0, 200, 200, 201, 400, 429, 500, 503 };

    if (size < 4) {
        return;
    }

    status = statuses[data[1] & 7];
    tier = (data[1] >> 3) % LLMR_TIER_N;
    max_tokens = (int64_t) ((data[2] << 8) | data[3]) - 1000;

    u = llmr_usage_create(((data[0] >> 1) & 7) % LLMR_FMT_N);
    if (u == NULL) {
        abort();
    }

    llmr_usage_set_stream(u, (data[0] >> 4) & 1);

    copy = fz_copy(data + 4, size - 4);
    (void) llmr_usage_feed(u, copy, size - 4);
    free(copy);

    llmr_usage_finish(u);
    r = llmr_usage_result(u);

    signals = 0;
    q = llmr_implicit_quality(r, status, tier, max_tokens, &signals);

    fz_assert(q == -1 || (isfinite(q) && q >= 0 && q <= 1), "implicit %g", q);
    fz_assert((signals & ~0x7fu) == 0, "signals %x", signals);
    fz_assert(q != -1 || (signals & (LLMR_SIG_ERROR | LLMR_SIG_CUT)),
              "no sample without an error or a cut (signals %x)", signals);

    memset(buf, 'X', sizeof(buf));
    n = llmr_signals_format(signals, buf, sizeof(buf));
    fz_assert(n < sizeof(buf) && buf[n] == '\0', "signals text %zu", n);

    n = llmr_signals_format(signals, buf, 5);
    fz_assert(n < 5 && buf[n] == '\0', "cut signals text %zu", n);

    llmr_usage_destroy(u);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }

    if (data[0] & 1) {
        fz_implicit(data, size);

    } else {
        fz_feedback(data + 1, size - 1);
    }

    return 0;
}
