
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The learned state file's reader (llmr_learn_state_parse), the text an
 * instance without Redis keeps across restarts.  Properties: no memory
 * error, leak or undefined behaviour; a refused file has a message and
 * leaves every bucket zeroed; an accepted one has only sums at or above
 * 0, a quality sum within its weight and offsets within the tiers; what
 * it read, written again by llmr_learn_state_print and read back, is the
 * same, exactly.  The whole input is the file.
 */


#include <math.h>

#include <llmr/core.h>
#include <llmr/feedback.h>

#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   r, r2, t, off[LLMR_BUCKETS], off2[LLMR_BUCKETS];
    char                  err[128], *copy, *text;
    size_t                b, n, skipped;
    llmr_bucket_stats_t   st[LLMR_BUCKETS], st2[LLMR_BUCKETS];

    copy = (char *) fz_copy(data, size);
    memset(err, 'X', sizeof(err));
    err[0] = '\0';

    r = llmr_learn_state_parse(copy, size, st, off, LLMR_BUCKETS, &skipped,
                               err, sizeof(err));
    free(copy);

    if (r < 0) {
        fz_assert(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0',
                  "a refusal without a message");

        for (b = 0; b < LLMR_BUCKETS; b++) {
            fz_assert(off[b] == 0, "an offset kept after a refusal");

            for (t = 0; t < LLMR_TIER_N; t++) {
                fz_assert(st[b].weight[t] == 0 && st[b].quality[t] == 0,
                          "a sum kept after a refusal");
            }
        }

        return 0;
    }

    fz_assert((size_t) r <= LLMR_BUCKETS, "%d buckets", r);

    for (b = 0; b < LLMR_BUCKETS; b++) {
        fz_assert(off[b] > -LLMR_TIER_N && off[b] < LLMR_TIER_N,
                  "offset %d", off[b]);

        for (t = 0; t < LLMR_TIER_N; t++) {
            fz_assert(isfinite(st[b].weight[t]) && st[b].weight[t] >= 0
                      && isfinite(st[b].quality[t]) && st[b].quality[t] >= 0
                      && st[b].quality[t]
                         <= st[b].weight[t] * (1 + 1e-9) + 1e-9,
                      "weight %g quality %g", st[b].weight[t],
                      st[b].quality[t]);
        }
    }

    n = llmr_learn_state_print(NULL, 0, st, off, LLMR_BUCKETS);
    text = malloc(n + 1);
    if (text == NULL) {
        abort();
    }

    fz_assert(llmr_learn_state_print(text, n + 1, st, off, LLMR_BUCKETS) == n
              && text[n] == '\0', "printed %zu", n);

    r2 = llmr_learn_state_parse(text, n, st2, off2, LLMR_BUCKETS, &skipped,
                                err, sizeof(err));
    free(text);

    fz_assert(r2 >= 0 && r2 <= r && skipped == 0, "read back: %d (%s)", r2,
              err);
    fz_assert(memcmp(off, off2, sizeof(off)) == 0, "offsets read back");
    fz_assert(memcmp(st, st2, sizeof(st)) == 0, "sums read back");

    return 0;
}
