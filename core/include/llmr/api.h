
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_API_H_INCLUDED_
#define _LLMR_API_H_INCLUDED_


#include <llmr/core.h>


/*
 * The provider APIs a client may speak and a model's upstream may serve,
 * the endpoints of each (which requests are generations, routed and
 * charged, and which pass through untouched), the request line a chosen
 * model needs, and the errors the gateway answers in the client's shape.
 */


typedef enum {
    LLMR_API_OPENAI = 0,        /* chat/completions, completions, responses */
    LLMR_API_ANTHROPIC,         /* messages */
    LLMR_API_GEMINI,            /* generateContent, streamGenerateContent */
    LLMR_API_N
} llmr_api_e;

#define llmr_api_bit(api)       (1u << (api))
#define LLMR_API_ALL            ((1u << LLMR_API_N) - 1)


typedef enum {
    LLMR_EP_GENERATE = 0,       /* classified, routed, charged */
    LLMR_EP_COUNT_TOKENS,
    LLMR_EP_EMBEDDINGS,
    LLMR_EP_MODERATIONS,
    LLMR_EP_MODELS,
    LLMR_EP_FILES,
    LLMR_EP_BATCHES,
    LLMR_EP_AUDIO,
    LLMR_EP_IMAGES,
    LLMR_EP_OTHER,
    LLMR_EP_N
} llmr_endpoint_kind_e;


/* what the request's headers say of its API when the path does not */
#define LLMR_HINT_ANTHROPIC     0x01    /* anthropic-version */
#define LLMR_HINT_GEMINI        0x02    /* x-goog-api-key */


/*
 * A request's endpoint, read from its (decoded) path.  The views point
 * into that path.
 *
 *   root     the version segment, "/v1" or "/v1beta", or empty
 *   rest     what follows root; for a generation, the endpoint itself
 *            ("/chat/completions", "/messages"), whatever precedes it
 *   model    Gemini: the model named by the path ("gemini-2.0-flash" of
 *            ".../models/gemini-2.0-flash:generateContent"), else empty;
 *            collection is the segment before it ("models")
 *   method   Gemini: "generateContent", "countTokens", ...
 */

typedef struct {
    int                         api;        /* llmr_api_e */
    int                         kind;       /* llmr_endpoint_kind_e */
    int                         format;     /* llmr_format_e, generations */
    unsigned                    stream:1;   /* :streamGenerateContent */
    unsigned                    detect:1;   /* a POST no API's path names:
                                               a generation whose format the
                                               body tells */

    llmr_str_t                  root;
    llmr_str_t                  rest;
    llmr_str_t                  collection;
    llmr_str_t                  model;
    llmr_str_t                  method;
} llmr_endpoint_t;


/*
 * post: the request is a POST (only POSTs generate); hints: LLMR_HINT_*.
 * Never fails.  A POST to a path no API names (a location of the
 * operator's, "/llm") is a generation with ep->detect set: its body tells
 * its format, given later to llmr_endpoint_set_format(); any other
 * request such a path names is an OpenAI "other" endpoint.
 */
void llmr_endpoint_parse(const char *path, size_t len, int post,
    unsigned hints, llmr_endpoint_t *ep);

/*
 * A detected generation's format (llmr_format_e; unknown: OpenAI chat):
 * its API, and the endpoint the model's upstream is sent (the API's own,
 * as if the client had named it).
 */
void llmr_endpoint_set_format(llmr_endpoint_t *ep, int format, int stream);

/* the API a body format belongs to */
int llmr_api_of_format(int format);

const char *llmr_api_name(int api);
int llmr_api_parse(const char *s, size_t len);

/* the API a provider's own endpoint speaks, -1 when it is not known */
int llmr_api_of_provider(const char *s, size_t len);

/* "/v1", "/v1beta": the base path of an API at its providers */
const char *llmr_api_default_path(int api);

const char *llmr_endpoint_kind_name(int kind);


/*
 * The request line's target (path and query) for a model serving the
 * endpoint: the model's api, its base path (NULL: the client's path is
 * kept as it is, but for a Gemini model name; a detected generation gets
 * its API's usual one) and provider id.  The
 * query is the client's, without its "key=" argument when strip_key is
 * set (the gateway then sends its own key); a generation translated to
 * another API (api is not ep->api) gets none of it, but "alt=sse" for a
 * Gemini stream (ep->stream).  Characters a path cannot
 * carry are %-escaped.  Returns the length written, or 0 when buf is too
 * small; llmr_upstream_uri_max() gives a size that is always enough.
 */
size_t llmr_upstream_uri(const llmr_endpoint_t *ep, const char *path,
    size_t path_len, int api, const char *base, const char *id,
    const char *args, size_t args_len, int strip_key, char *buf,
    size_t size);
size_t llmr_upstream_uri_max(size_t path_len, const char *base,
    const char *id, size_t args_len);


/*
 * A gateway-made error in the API's own error shape, with the gateway's
 * code (llm_*) where the shape has room for it:
 *
 *   openai     {"error":{"message","type","param":null,"code"}}
 *   anthropic  {"type":"error","error":{"type","message","code"}}
 *   gemini     {"error":{"code":N,"message","status","details":[
 *                {"@type":"...ErrorInfo","reason":CODE,"domain"}]}}
 *
 * The type (status) follows the HTTP status: a 429 is a rate-limit error
 * in every API.  Returns the length written, or 0 when size is too small;
 * llmr_api_error_max() gives a size that is always enough.
 */
size_t llmr_api_error(int api, int status, const char *code,
    const char *msg, size_t msg_len, char *buf, size_t size);
size_t llmr_api_error_max(const char *code, size_t msg_len);

/*
 * The end of a stream the provider broke off, in the API's framing: the
 * error above as an event, then the end its clients expect:
 *
 *   openai     data: ERROR \n\n data: [DONE] \n\n
 *   anthropic  event: error \n data: ERROR \n\n
 *   gemini     data: ERROR \r\n\r\n
 *
 * Returns the length written, 0 when size is less than
 * llmr_api_stream_error_max().
 */
size_t llmr_api_stream_error(int api, int status, const char *code,
    const char *msg, size_t msg_len, char *buf, size_t size);
size_t llmr_api_stream_error_max(const char *code, size_t msg_len);

/*
 * Where a server-sent event stream passed on as it comes can be held back
 * without halving an event: the offset in p[0..n) right after the last
 * blank line (the end of an event), 0 when there is none in these bytes.
 * *state (0 at the stream's start) carries the line ends across calls.
 * (core/src/llmr_sse.c)
 */
size_t llmr_sse_boundary(unsigned *state, const unsigned char *p, size_t n);


#endif /* _LLMR_API_H_INCLUDED_ */
