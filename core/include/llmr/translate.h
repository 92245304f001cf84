
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_TRANSLATE_H_INCLUDED_
#define _LLMR_TRANSLATE_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/api.h>


/*
 * Translation between the generation APIs, so that a client of one API
 * can be served by a model of another: the client's request becomes the
 * body the model's API reads (llmr_xreq_*), and the model's answer, one
 * JSON body or a server-sent event stream, becomes what the client's SDK
 * expects (llmr_xans_*).
 *
 * The client formats translated are OpenAI chat completions, OpenAI's
 * Responses API, Anthropic messages and Gemini generateContent; the
 * targets are the three APIs' chat endpoints (a Responses request is
 * never written for OpenAI: an OpenAI model serves it as it is).  A request field the target cannot express makes the
 * request untranslatable to that API (llmr_xreq_blocker()), it is never
 * dropped without saying so; docs/translation.md has the table, field by
 * field, of what is mapped, approximated (and how), or blocks.
 *
 * Both sides keep their buffers across requests (one of each per worker
 * for requests, one per translated answer in flight), are bounded by the
 * limits given, and never log.
 */


/* the request side */

typedef struct llmr_xreq_s  llmr_xreq_t;


typedef struct {
    int                         api;        /* the target, llmr_api_e */

    /* the provider's model id, written where the API carries one */
    const char                 *model;
    size_t                      model_len;

    /* max_tokens where the request names none and the target needs one */
    int64_t                     max_tokens;

    /* an OpenAI stream asks for its usage (stream_options) */
    unsigned                    include_usage:1;
} llmr_xreq_conf_t;


llmr_xreq_t *llmr_xreq_create(void);
void llmr_xreq_destroy(llmr_xreq_t *x);

/* whether a client format (llmr_format_e) is one translated */
int llmr_xreq_format_ok(int format);

/*
 * Parses a request body of the client's format (llmr_format_e), whole in
 * memory; the body must stay unchanged until the last llmr_xreq_write().
 * LLMR_OK; LLMR_DECLINED when the format is not translated; LLMR_ERROR
 * when the body is not a request of its format (llmr_xreq_error()).
 */
int llmr_xreq_parse(llmr_xreq_t *x, int format, const char *body,
    size_t len);

/*
 * NULL when the parsed request can be written for a model of the API,
 * else why not: the first field that cannot be expressed there, as a
 * short static name ("logprobs", "image_url", "top_k", ...), or a field
 * the translator does not know by its own name (held by x until the next
 * parse).  The client's own API never blocks.
 */
const char *llmr_xreq_blocker(const llmr_xreq_t *x, int api);

/*
 * The request for a model of conf->api: LLMR_OK with *out and *len, valid
 * until the next call on x; LLMR_DECLINED when a field blocks it;
 * LLMR_ERROR when memory failed or a field's value cannot be read
 * (llmr_xreq_error()).
 */
int llmr_xreq_write(llmr_xreq_t *x, const llmr_xreq_conf_t *conf,
    const char **out, size_t *len);

/*
 * A Gemini request's stream is asked for by its path
 * (:streamGenerateContent), not its body: the caller says so after the
 * parse.
 */
void llmr_xreq_set_stream(llmr_xreq_t *x, int stream);

/* whether the parsed request asks for a stream */
int llmr_xreq_stream(const llmr_xreq_t *x);

const char *llmr_xreq_error(const llmr_xreq_t *x);

/* bytes held between requests */
size_t llmr_xreq_memory(const llmr_xreq_t *x);


/* the answer side */

typedef struct llmr_xans_s  llmr_xans_t;


typedef struct {
    int                         from;       /* the model's API */
    int                         to;         /* the client's API */

    /*
     * the client's format, llmr_format_e, where its API has several: 0
     * for the API's usual one; LLMR_FMT_OPENAI_RESPONSES writes OpenAI's
     * Responses API (a response object, or its response.* events; its
     * errors are OpenAI's, and "to" is then LLMR_API_OPENAI)
     */
    int                         to_format;

    unsigned                    stream:1;   /* server-sent events */

    /* an OpenAI client's stream asked for its usage (stream_options) */
    unsigned                    include_usage:1;

    /* the answer's HTTP status: from 400 on, an error in its API's shape */
    int                         status;

    /* what the answer carries where the provider's has none */
    const char                 *id;         /* e.g. the request id */
    const char                 *model;      /* the provider's model id */
    int64_t                     created;    /* unix time */

    /* the longest JSON answer, or stream event, read (0: 8 MB) */
    size_t                      max_event;
} llmr_xans_conf_t;


llmr_xans_t *llmr_xans_create(void);
void llmr_xans_destroy(llmr_xans_t *a);

/* a new answer; the buffers stay */
void llmr_xans_reset(llmr_xans_t *a, const llmr_xans_conf_t *conf);

/*
 * Bytes of the provider's answer, as they come.  What can be translated
 * already is appended to the output (llmr_xans_output()): a stream's
 * events one by one, a JSON answer only at llmr_xans_finish().  The
 * output is the same whatever the chunking of the input.  LLMR_OK; on
 * LLMR_ERROR (an event or answer over max_event, memory) the answer is
 * given up: the output gets an error in the client's shape (in a stream:
 * an error event, then the stream's end), and further input is ignored.
 */
int llmr_xans_feed(llmr_xans_t *a, const char *data, size_t len);

/*
 * The provider's answer ended.  A JSON answer is translated now (an
 * answer that cannot be read becomes an error in the client's shape); a
 * stream cut before its last event gets the end its client expects, an
 * error event first.  LLMR_OK, or LLMR_ERROR when memory failed.
 */
int llmr_xans_finish(llmr_xans_t *a);

/* the bytes ready for the client, *len 0 when none */
const char *llmr_xans_output(llmr_xans_t *a, size_t *len);

/* n bytes of the output were taken */
void llmr_xans_consume(llmr_xans_t *a, size_t n);

/* whether the stream reached its proper end (for the logs) */
int llmr_xans_complete(const llmr_xans_t *a);

/*
 * The HTTP status the output goes with: the conf's, but for a JSON answer
 * given up (unreadable, over max_event: 502) before any byte of it left.
 */
int llmr_xans_status(const llmr_xans_t *a);

/* bytes held between answers */
size_t llmr_xans_memory(const llmr_xans_t *a);


#endif /* _LLMR_TRANSLATE_H_INCLUDED_ */
