
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_XANS_H_INCLUDED_
#define _LLMR_XANS_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/translate.h>

#include "llmr_jdoc.h"
#include "llmr_sse.h"


/*
 * The answer translator's insides: a reader per model API turns the
 * provider's answer (a JSON body or one stream event, parsed) into the
 * events below, and a writer per client API turns the events into what
 * the client's SDK reads.  So there are three readers and four writers,
 * not nine translators: llmr_xans_read.c, llmr_xans_to_{openai,anthropic,
 * gemini,responses}.c (OpenAI's Responses API is a client's format only).
 * llmr_xans.c holds the buffers, the SSE framing and the answer's state
 * every writer reads (ids, usage, the finish reason); llmr_xans_write.c
 * the writing they share.
 */


typedef enum {
    LLMR_XEV_START = 0,         /* id, model, created, usage.input */
    LLMR_XEV_TEXT,              /* text */
    LLMR_XEV_TOOL_START,        /* id, name */
    LLMR_XEV_TOOL_ARGS,         /* text: a piece of the arguments' JSON */
    LLMR_XEV_TOOL_END,
    LLMR_XEV_FINISH,            /* finish */
    LLMR_XEV_USAGE,             /* usage */
    LLMR_XEV_ERROR,             /* status, code, text: the message */
    LLMR_XEV_END
} llmr_xev_e;


typedef enum {
    LLMR_XFIN_NONE = 0,
    LLMR_XFIN_STOP,
    LLMR_XFIN_LENGTH,
    LLMR_XFIN_TOOL_CALLS,
    LLMR_XFIN_CONTENT_FILTER,
    LLMR_XFIN_OTHER
} llmr_xfin_e;


/*
 * A string of an event: "raw" when it is a JSON string's text as the
 * provider sent it, escapes and all (it is copied between quotes as it
 * is), else plain bytes (escaped when written).
 */
typedef struct {
    const char                 *s;
    size_t                      len;
    unsigned                    raw;
} llmr_xstr_t;


/* token counts, -1 when not known; input counts the cached tokens too */
typedef struct {
    int64_t                     input;
    int64_t                     output;
    int64_t                     cache_read;
    int64_t                     cache_write;
} llmr_xusage_t;


typedef struct {
    int                         type;       /* llmr_xev_e */
    int                         finish;     /* llmr_xfin_e */
    int                         status;     /* an error's HTTP status */
    const char                 *code;       /* an error's type, or NULL */
    int64_t                     created;    /* -1: not known */
    llmr_xstr_t                 id;
    llmr_xstr_t                 name;       /* the model, a tool's name */
    llmr_xstr_t                 text;
    llmr_xusage_t               usage;
} llmr_xev_t;


/* the longest error code read from a provider, NUL included */
#define LLMR_XANS_CODE_MAX      48


struct llmr_xans_s {
    llmr_xans_conf_t            conf;

    llmr_jbuf_t                 out;        /* for the client */
    size_t                      out_pos;    /* of it taken */

    llmr_jbuf_t                 in;         /* the answer, or one event */
    llmr_jdoc_t                 doc;        /* in, parsed */
    llmr_jdoc_t                 adoc;       /* a tool call's arguments */
    llmr_sse_t                  sse;

    /* the answer's own, escaped: the provider's or the conf's */
    llmr_jbuf_t                 id;
    llmr_jbuf_t                 model;
    int64_t                     created;

    /* the writers' accumulators (a JSON answer, a Gemini tool call) */
    llmr_jbuf_t                 text;       /* text, escaped */
    llmr_jbuf_t                 content;    /* blocks, parts, calls written */
    llmr_jbuf_t                 args;       /* one call's arguments, plain */
    llmr_jbuf_t                 call_id;    /* its id and name, escaped */
    llmr_jbuf_t                 call_name;
    llmr_jbuf_t                 scratch;

    llmr_xusage_t               usage;
    llmr_xusage_t               usage_start;    /* as message_start said */
    int                         finish;
    int                         status;     /* the output's HTTP status */

    /* the readers' */
    int                         r_tool;     /* the call open, -1: none */
    int                         r_block;    /* Anthropic: a tool block */
    unsigned                    r_calls;    /* calls read */

    /* the writers' */
    int                         w_block;    /* open block: llmr_xblk_e */
    int                         w_index;    /* Anthropic's block index */
    unsigned                    w_calls;    /* calls written */
    unsigned                    w_parts;    /* parts or blocks written */
    unsigned                    w_seq;      /* Responses: events written */

    unsigned                    started:1;
    unsigned                    finished:1;
    unsigned                    ended:1;    /* END or an abort: no more */
    unsigned                    complete:1;
    unsigned                    failed:1;   /* input ignored */
    unsigned                    has_text:1;
    unsigned                    has_calls:1;
    unsigned                    in_over:1;  /* this event over max_event */
};


typedef enum {
    LLMR_XBLK_NONE = 0,
    LLMR_XBLK_TEXT,
    LLMR_XBLK_TOOL
} llmr_xblk_e;


/* a C string's bytes, as they are */
#define llmr_xw_add(b, s)       llmr_jbuf_add(b, s, strlen(s))

/* whether the answer is read as JSON, kept whole until the end */
#define llmr_xans_whole(a)  (!(a)->conf.stream || (a)->conf.status >= 400)


/* llmr_xans.c: what the readers call */
void llmr_xans_emit(llmr_xans_t *a, llmr_xev_t *ev);
void llmr_xev_init(llmr_xev_t *ev, int type);
void llmr_xstr_jv(llmr_xstr_t *xs, const llmr_jv_t *v);
void llmr_xans_error_ev(llmr_xans_t *a, int status, const llmr_jv_t *code,
    const llmr_jv_t *msg, const char *def);

/* llmr_xans_write.c: what the writers share */
void llmr_xw_str(llmr_jbuf_t *b, const llmr_xstr_t *xs);
void llmr_xw_str_in(llmr_jbuf_t *b, const llmr_xstr_t *xs);
void llmr_xw_args_add(llmr_xans_t *a, const llmr_xstr_t *xs);
void llmr_xw_args_object(llmr_xans_t *a, llmr_jbuf_t *b);
void llmr_xw_compact(llmr_jbuf_t *b, llmr_xstr_t *xs);
void llmr_xw_quoted(llmr_jbuf_t *b, const llmr_jbuf_t *escaped);
void llmr_xw_error(llmr_xans_t *a, const llmr_xev_t *ev);
int64_t llmr_xw_plain_input(const llmr_xusage_t *u);
void llmr_xw_call_start(llmr_xans_t *a, const llmr_xev_t *ev);
void llmr_xw_text_end(llmr_xans_t *a);
void llmr_xw_sep(llmr_xans_t *a);

/* llmr_xans_read.c: one parsed document (JSON answer or event data) */
void llmr_xr_openai(llmr_xans_t *a, const llmr_jv_t *root);
void llmr_xr_anthropic(llmr_xans_t *a, const llmr_jv_t *root);
void llmr_xr_gemini(llmr_xans_t *a, const llmr_jv_t *root);
int llmr_xr_error_find(const llmr_jv_t *root, const llmr_jv_t **code,
    const llmr_jv_t **msg, int *status);

/* llmr_xans_to_*.c: the writers, one per client API, stream and JSON */
void llmr_xw_openai(llmr_xans_t *a, const llmr_xev_t *ev);
void llmr_xw_anthropic(llmr_xans_t *a, const llmr_xev_t *ev);
void llmr_xw_gemini(llmr_xans_t *a, const llmr_xev_t *ev);
void llmr_xw_responses(llmr_xans_t *a, const llmr_xev_t *ev);


#endif /* _LLMR_XANS_H_INCLUDED_ */
