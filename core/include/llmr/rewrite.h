
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_REWRITE_H_INCLUDED_
#define _LLMR_REWRITE_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/extract.h>


/*
 * A body rewrite is a short list of byte edits against the original body,
 * computed from the anchors the extractor recorded.  The caller applies
 * them to whatever holds the body: a memory buffer (llmr_rewrite_apply),
 * or nginx's buffer chain with file-backed parts, without copying the rest.
 */

#define LLMR_REWRITE_EDITS_MAX      4
#define LLMR_REWRITE_BUF_SIZE       1024
#define LLMR_MODEL_ID_MAX           200


typedef struct {
    off_t                       start;      /* first byte replaced */
    off_t                       end;        /* == start for an insertion */
    const char                 *data;
    size_t                      len;
} llmr_edit_t;


typedef struct {
    llmr_edit_t                 edits[LLMR_REWRITE_EDITS_MAX];
    unsigned                    nedits;     /* sorted, non-overlapping */
    off_t                       delta;      /* new length - old length */
    size_t                      used;
    char                        buf[LLMR_REWRITE_BUF_SIZE];
} llmr_rewrite_t;


/*
 * Plans the edits that set the top-level "model" to model_id (replacing
 * the value, or inserting the member when absent) and, when include_usage
 * is set for a streamed OpenAI chat/completions request, that ask for
 * "stream_options": {"include_usage": true}.  Gemini bodies carry no model
 * and get no model edit.  Returns LLMR_OK or LLMR_ERROR (id too long,
 * escaped id too long for buf, or anchors that do not fit the request).
 */
int llmr_rewrite_plan(llmr_rewrite_t *rw, const llmr_request_t *req,
    const char *model_id, size_t len, int include_usage);

/*
 * out must hold len + rw->delta bytes; returns the bytes written, or 0
 * (out untouched) when the edits do not fit a body of len bytes.
 */
size_t llmr_rewrite_apply(const llmr_rewrite_t *rw, const unsigned char *in,
    size_t len, unsigned char *out);


#endif /* _LLMR_REWRITE_H_INCLUDED_ */
