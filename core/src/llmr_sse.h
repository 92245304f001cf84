
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_SSE_H_INCLUDED_
#define _LLMR_SSE_H_INCLUDED_


#include <stddef.h>


/*
 * Server-sent event framing by the WHATWG rules, for the usage reader:
 * lines end with LF, CRLF or CR (a CRLF may be cut between two buffers);
 * the "data:" lines of one event are handed over joined with a LF;
 * "event:" names it; a blank line dispatches it; ":" comments and other
 * fields are ignored.  What an event means is the caller's: the framer
 * keeps nothing of the data, and only LLMR_SSE_NAME_MAX bytes of a name.
 */


/* longer event names are none anybody knows: they are passed empty */
#define LLMR_SSE_NAME_MAX       32

/* the longest field name read, "event" ("data" is the other one) */
#define LLMR_SSE_FIELD_MAX      5


typedef struct {
    /* bytes of the event's data, a LF between two "data:" lines */
    void  (*data)(void *ctx, const unsigned char *p, size_t n);

    /*
     * an "event:" line ended, or a blank line came without data (nothing
     * is dispatched, the name is forgotten: an empty one)
     */
    void  (*name)(void *ctx, const unsigned char *name, size_t len);

    /* a blank line after "data:" lines: the event is complete */
    void  (*dispatch)(void *ctx);
} llmr_sse_handler_t;


typedef struct {
    const llmr_sse_handler_t   *handler;
    void                       *ctx;

    unsigned                    state;      /* llmr_sse_e */
    unsigned                    cr:1;       /* a CR ended the last line */
    unsigned                    has_data:1; /* "data:" in this event */
    unsigned                    field_len;
    unsigned                    name_len;

    unsigned char               field[LLMR_SSE_FIELD_MAX];
    unsigned char               name[LLMR_SSE_NAME_MAX];
} llmr_sse_t;


void llmr_sse_init(llmr_sse_t *s, const llmr_sse_handler_t *handler,
    void *ctx);
void llmr_sse_feed(llmr_sse_t *s, const unsigned char *p,
    const unsigned char *end);

/* the rest of the current line is ignored (garbage before the stream) */
void llmr_sse_skip_line(llmr_sse_t *s);



#endif /* _LLMR_SSE_H_INCLUDED_ */
