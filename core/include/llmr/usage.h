
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_USAGE_H_INCLUDED_
#define _LLMR_USAGE_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/extract.h>


/*
 * Streaming reader of LLM API responses: the token usage the provider
 * reports, how the answer ended, and the first bytes of the answer.
 * It is fed every response body buffer as it passes (nothing is kept but
 * a few small parser blocks: memory is bounded whatever the response
 * size), and never fails the response: a body it cannot parse is only
 * counted.  The body must be the decoded one (no Content-Encoding).
 *
 * Understood, whatever the request format says (gateways and compatible
 * servers mix them): OpenAI chat completions, completions and Responses,
 * Anthropic messages, Gemini generateContent, each as one JSON body or as
 * a server-sent event stream, and Gemini's streamGenerateContent without
 * alt=sse (one JSON array of chunks, read progressively).
 *
 * Token counts are normalised across providers so that
 *
 *     cost = input_tokens * input_price + output_tokens * output_price
 *            - cached_tokens * (input_price - cache_read_price)
 *            + cache_write_tokens * (cache_write_price - input_price)
 *
 * input_tokens is every prompt token, cached or not: Anthropic's
 * input_tokens + cache_read_input_tokens + cache_creation_input_tokens
 * (its input_tokens leaves both cache counts out), OpenAI's prompt_tokens
 * or input_tokens, Gemini's promptTokenCount + toolUsePromptTokenCount.
 * cached_tokens (cache reads) and cache_write_tokens (Anthropic cache
 * creation) are parts of it.  output_tokens is every generated token,
 * reasoning included: OpenAI's completion_tokens or output_tokens,
 * Anthropic's output_tokens, Gemini's candidatesTokenCount +
 * thoughtsTokenCount; reasoning_tokens is a part of it.  When a count is
 * reported several times (Anthropic's message_start and message_delta,
 * Gemini's cumulative usageMetadata in every chunk) the last one wins,
 * field by field.
 *
 * Server-sent events follow the WHATWG rules: lines end with LF, CRLF or
 * CR; "data:" lines of one event are joined with LF; "event:" names it;
 * a blank line dispatches it; ":" comments and other fields are ignored;
 * an event not ended by a blank line when the body ends is dropped.  An
 * event counts all or nothing: its data must be one valid JSON value (or
 * "[DONE]"), else it is a bad event, counted in bad_events and invalid,
 * and otherwise ignored (its "event: error" name still sets error).  A
 * JSON body is one value, which may be an array of chunks.  Invalid JSON
 * includes nesting deeper than 256 and numbers longer than 1024 bytes;
 * the part of a string beyond 4 KB is counted but not validated.
 *
 * text_bytes counts the decoded answer text: chat message content and
 * content deltas, completions text, Responses output_text and its deltas,
 * Anthropic text blocks and text deltas, Gemini parts' text.  Reasoning,
 * thinking, thought parts, refusals, tool arguments and the copies of the
 * output that Responses streams repeat in their final events are not
 * answer text.  answer_head keeps its first bytes, from the first choice
 * or candidate only (its "index" is 0, or it is first in its array when
 * "index" comes after the text), joined without separators, cut on a
 * UTF-8 character boundary and NUL-terminated; bytes that are not UTF-8
 * become '?'.  Both show, for a stream, the events dispatched so far.
 *
 * finish is the last finish reason reported, truncated is set if any was
 * a length one; a "stop" of an answer that called tools is reported as
 * LLMR_FINISH_TOOL_CALLS.  done means the provider ended the response:
 * the JSON body is complete, or the stream sent [DONE], message_stop,
 * response.completed, response.incomplete or response.failed, a Gemini
 * chunk with a finishReason, or a blocked prompt.  done and error are
 * independent: a complete error body is both.
 */


typedef enum {
    LLMR_FINISH_NONE = 0,               /* not reported */
    LLMR_FINISH_STOP,                   /* stop, end_turn, STOP, ... */
    LLMR_FINISH_LENGTH,                 /* the output token limit */
    LLMR_FINISH_TOOL_CALLS,
    LLMR_FINISH_CONTENT_FILTER,         /* safety, refusal, recitation */
    LLMR_FINISH_OTHER,
    LLMR_FINISH_N
} llmr_finish_e;


#define LLMR_USAGE_HEAD_SIZE    256     /* answer_head, NUL included */


typedef struct {
    int64_t                     input_tokens;       /* -1: not reported */
    int64_t                     output_tokens;      /* -1: not reported */
    int64_t                     cached_tokens;      /* -1: not reported */
    int64_t                     cache_write_tokens; /* -1: not reported */
    int64_t                     reasoning_tokens;   /* -1: not reported */

    size_t                      body_bytes;         /* all bytes fed */
    size_t                      text_bytes;         /* answer text */
    unsigned                    events;             /* SSE events */
    unsigned                    bad_events;         /* of them not JSON */
    int                         finish;             /* llmr_finish_e */
    int                         format;             /* llmr_format_e */

    unsigned                    complete:1;         /* both counts known */
    unsigned                    stream:1;           /* read as SSE */
    unsigned                    done:1;             /* ended properly */
    unsigned                    truncated:1;        /* a length finish */
    unsigned                    refusal:1;
    unsigned                    error:1;            /* an error object */
    unsigned                    invalid:1;          /* JSON not parsable */

    size_t                      answer_head_len;
    char                        answer_head[LLMR_USAGE_HEAD_SIZE];
} llmr_usage_result_t;


typedef struct llmr_usage_s  llmr_usage_t;


/*
 * format is the request's llmr_format_e, or LLMR_FMT_UNKNOWN; the result
 * reports it, or the format recognised in the response when unknown.
 * NULL on allocation failure.
 */
llmr_usage_t *llmr_usage_create(int format);

/*
 * Makes u a new reader, as llmr_usage_create(format) would, keeping the
 * blocks it cached for yajl: a reader can serve one response after
 * another without allocating.
 */
void llmr_usage_reset(llmr_usage_t *u, int format);

/*
 * From the response's Content-Type: text/event-stream is 1, JSON is 0.
 * Without a call the body tells: '{' or '[' first (after blanks) is JSON,
 * anything else SSE.  Ignored once bytes were fed.
 */
void llmr_usage_set_stream(llmr_usage_t *u, int sse);

/*
 * LLMR_OK, or LLMR_ERROR once a JSON body turned out unparsable (or after
 * finish): from then on bytes are only counted.  An SSE stream never
 * fails as a whole, only its events do.
 */
int llmr_usage_feed(llmr_usage_t *u, const unsigned char *data,
    size_t len);

/* the end of the body, complete or cut; the result is final */
void llmr_usage_finish(llmr_usage_t *u);

/* up to date after every feed */
const llmr_usage_result_t *llmr_usage_result(const llmr_usage_t *u);

/* the most heap memory the reader held at once, in bytes */
size_t llmr_usage_memory(const llmr_usage_t *u);

void llmr_usage_destroy(llmr_usage_t *u);

const char *llmr_finish_name(int finish);


#endif /* _LLMR_USAGE_H_INCLUDED_ */
