
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_EXTRACT_H_INCLUDED_
#define _LLMR_EXTRACT_H_INCLUDED_


#include <llmr/core.h>


/*
 * Streaming extraction of the prompt and the request features from an
 * LLM API request body.  The body is fed in arbitrary chunks (as nginx
 * reads it); no DOM is built, memory is bounded by the text caps below
 * plus yajl's token buffer.
 */


typedef enum {
    LLMR_FMT_UNKNOWN = 0,               /* detect from the body's keys */
    LLMR_FMT_OPENAI_CHAT,               /* /v1/chat/completions */
    LLMR_FMT_OPENAI_COMPLETIONS,        /* /v1/completions: "prompt" */
    LLMR_FMT_OPENAI_RESPONSES,          /* /v1/responses: "input" */
    LLMR_FMT_ANTHROPIC,                 /* /v1/messages */
    LLMR_FMT_GEMINI,                    /* :generateContent */
    LLMR_FMT_N
} llmr_format_e;


/*
 * Error decisions: a duplicate top-level "model" (or "stream_options") key
 * is LLMR_EXTRACT_E_JSON, since upstreams disagree on which copy wins and
 * the rewrite could not be trusted.  A "model" that is not a string, or
 * is longer than LLMR_EXTRACT_MODEL_MAX bytes, is LLMR_EXTRACT_E_TYPE, and
 * so is a body that is not a JSON object.  null is accepted for optional
 * fields and means absent.  Invalid UTF-8 inside a string is
 * LLMR_EXTRACT_E_UTF8; outside strings it is malformed JSON.
 */

typedef enum {
    LLMR_EXTRACT_E_NONE = 0,
    LLMR_EXTRACT_E_JSON,                /* malformed or truncated JSON */
    LLMR_EXTRACT_E_UTF8,                /* invalid UTF-8 in a string */
    LLMR_EXTRACT_E_DEPTH,               /* nesting deeper than max_depth */
    LLMR_EXTRACT_E_TYPE,                /* a known field has a wrong type */
    LLMR_EXTRACT_E_EMPTY,               /* no prompt at all */
    LLMR_EXTRACT_E_LIMIT,               /* too many messages or parts */
    LLMR_EXTRACT_E_NOMEM
} llmr_extract_err_e;


#define LLMR_EXTRACT_MODEL_MAX  512     /* bytes of a "model" value */


typedef struct {
    int                         format_hint;    /* llmr_format_e */
    unsigned                    max_depth;      /* default 64 */
    unsigned                    max_messages;   /* default 10000 */
    unsigned                    max_parts;      /* default 100000 */
    size_t                      max_user_text;  /* default 16384 bytes */
    size_t                      max_system_text;  /* default 4096 */
    size_t                      max_history_text; /* default 4096 */
    unsigned                    yajl_strings;   /* 1: long strings through
                                                   yajl's lexer too (tests:
                                                   the reference path) */
} llmr_extract_conf_t;


/*
 * What the classifier, the policy and the rewriter need.  The text views
 * point into the extractor's own buffers and stay valid until the next
 * reset or destroy.  Text is truncated at the configured caps (the *_bytes
 * counters always hold the full sizes).
 *
 * The parts of one message, and several system sources, are joined with
 * "\n"; last_user_bytes and system_bytes count these joints, text_bytes
 * counts the decoded strings only (system, every message, tool results;
 * never image data, URLs, tool schemas or arguments).  A message's role
 * may come after its content.  history holds the user and assistant turns
 * other than the last user turn, in order.  A user message made only of
 * tool results (anthropic tool_result, gemini functionResponse) is a tool
 * result, not a user turn.  All the formats' fields are read whatever the
 * format; the hint, or else the body's keys, only set "format".
 * LLMR_EXTRACT_E_EMPTY: no message, prompt or input at all, or no text,
 * image, tool result or other non-text part anywhere.
 */

typedef struct {
    int                         format;         /* llmr_format_e */

    llmr_str_t                  last_user;      /* text of the last user turn */
    llmr_str_t                  system;         /* system/developer prompt */
    llmr_str_t                  history;        /* earlier turns, joined */
    llmr_str_t                  model;          /* "model" as sent, or empty */

    size_t                      text_bytes;     /* all prompt text */
    size_t                      last_user_bytes;
    size_t                      system_bytes;

    unsigned                    messages;
    unsigned                    user_turns;
    unsigned                    assistant_turns;
    unsigned                    tool_results;   /* tool/function outputs */
    unsigned                    tools;          /* tool definitions */
    unsigned                    images;
    unsigned                    parts;          /* content parts/blocks */

    int64_t                     max_tokens;     /* -1 when absent */

    unsigned                    stream:1;
    unsigned                    has_model:1;
    unsigned                    has_stream_options:1;
    unsigned                    include_usage:1;
    unsigned                    json_output:1;  /* response_format json */
    unsigned                    reasoning:1;    /* reasoning/thinking asked */

    /* for the rewrite: where a member may be inserted without a comma */
    unsigned                    empty_object:1; /* top-level "{}" */
    unsigned                    empty_stream_options:1;
    unsigned                    has_include_usage:1;  /* even if false */

    /*
     * Rewrite anchors: absolute byte offsets in the body as fed.
     * The top-level "model" value occupies [model_key_end, model_end):
     * from right after the key's closing quote (the ':' and any blanks
     * included) to right after the value.  object_start is the offset
     * right after the top-level '{'; stream_options_start right after
     * the '{' of "stream_options" (-1 when absent or null; a null one
     * still sets has_stream_options, and the rewrite leaves it alone).
     * The anchors are meaningful only after llmr_extract_finish()
     * returned LLMR_OK, or failed with LLMR_EXTRACT_E_EMPTY.
     */
    off_t                       model_key_end;
    off_t                       model_end;
    off_t                       object_start;
    off_t                       stream_options_start;
    off_t                       body_bytes;
} llmr_request_t;


typedef struct llmr_extract_s  llmr_extract_t;


void llmr_extract_conf_init(llmr_extract_conf_t *conf);

/* NULL on allocation failure; conf may be NULL for the defaults */
llmr_extract_t *llmr_extract_create(const llmr_extract_conf_t *conf);

/* makes the extractor ready for a new body, keeping its buffers */
void llmr_extract_reset(llmr_extract_t *x, int format_hint);

/* LLMR_OK or LLMR_ERROR; after an error further calls fail fast */
int llmr_extract_feed(llmr_extract_t *x, const unsigned char *data,
    size_t len);
int llmr_extract_finish(llmr_extract_t *x);

const llmr_request_t *llmr_extract_result(const llmr_extract_t *x);
int llmr_extract_errcode(const llmr_extract_t *x);
const char *llmr_extract_error(const llmr_extract_t *x);

void llmr_extract_destroy(llmr_extract_t *x);

/* a format guessed from the request path, LLMR_FMT_UNKNOWN if none */
int llmr_format_from_path(const char *path, size_t len);
const char *llmr_format_name(int format);


#endif /* _LLMR_EXTRACT_H_INCLUDED_ */
