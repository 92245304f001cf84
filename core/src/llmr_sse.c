
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include <llmr/api.h>

#include "llmr_sse.h"


typedef enum {
    LLMR_SSE_BOL = 0,           /* at the beginning of a line */
    LLMR_SSE_FIELD,             /* in a field name */
    LLMR_SSE_DATA_SP,           /* after "data:" */
    LLMR_SSE_DATA,
    LLMR_SSE_EVENT_SP,          /* after "event:" */
    LLMR_SSE_EVENT,
    LLMR_SSE_SKIP               /* comments and other fields */
} llmr_sse_e;


void
llmr_sse_init(llmr_sse_t *s, const llmr_sse_handler_t *handler, void *ctx)
{
    memset(s, 0, sizeof(llmr_sse_t));

    s->handler = handler;
    s->ctx = ctx;
    s->state = LLMR_SSE_BOL;
}


void
llmr_sse_skip_line(llmr_sse_t *s)
{
    s->state = LLMR_SSE_SKIP;
}


/* a blank line: the event is complete, if it had data */

static void
llmr_sse_blank(llmr_sse_t *s)
{
    if (!s->has_data) {
        s->handler->name(s->ctx, s->name, 0);
        return;
    }

    s->handler->dispatch(s->ctx);
    s->has_data = 0;
}


static void
llmr_sse_data_line(llmr_sse_t *s)
{
    /* the lines of one event are joined with a LF */
    if (s->has_data) {
        s->handler->data(s->ctx, (const unsigned char *) "\n", 1);
    }

    s->has_data = 1;
}


static void
llmr_sse_name(llmr_sse_t *s)
{
    s->handler->name(s->ctx, s->name,
                     (s->name_len > LLMR_SSE_NAME_MAX) ? 0 : s->name_len);
}


/* the end of the line: a LF, or a CR and maybe a LF after it */

static const unsigned char *
llmr_eol(const unsigned char *p, const unsigned char *end)
{
    const unsigned char  *lf, *cr;

    lf = memchr(p, '\n', end - p);
    cr = memchr(p, '\r', (lf ? lf : end) - p);

    return cr ? cr : lf;
}


void
llmr_sse_feed(llmr_sse_t *s, const unsigned char *p,
    const unsigned char *end)
{
    size_t                n;
    unsigned              c;
    const unsigned char  *q;

    while (p < end) {

        if (s->cr) {
            s->cr = 0;

            if (*p == '\n') {
                p++;
                continue;
            }
        }

        switch (s->state) {

        case LLMR_SSE_BOL:
            c = *p;

            if (c == '\n' || c == '\r') {
                p++;
                s->cr = (c == '\r');
                llmr_sse_blank(s);
                continue;
            }

            if (c == ':') {
                /* a comment */
                p++;
                s->state = LLMR_SSE_SKIP;
                continue;
            }

            /* the usual fields, when whole in the buffer */

            if (c == 'd' && end - p >= 5 && memcmp(p, "data:", 5) == 0) {
                p += 5;
                llmr_sse_data_line(s);
                s->state = LLMR_SSE_DATA_SP;
                continue;
            }

            if (c == 'e' && end - p >= 6 && memcmp(p, "event:", 6) == 0) {
                p += 6;
                s->name_len = 0;
                s->state = LLMR_SSE_EVENT_SP;
                continue;
            }

            s->field_len = 0;
            s->state = LLMR_SSE_FIELD;

            /* fall through */

        case LLMR_SSE_FIELD:
            for ( /* void */ ; p < end; p++) {
                c = *p;

                if (c == ':' || c == '\n' || c == '\r') {
                    break;
                }

                if (s->field_len == sizeof(s->field)) {
                    /* longer than "event": a field not read */
                    s->state = LLMR_SSE_SKIP;
                    break;
                }

                s->field[s->field_len++] = (unsigned char) c;
            }

            if (p == end || s->state == LLMR_SSE_SKIP) {
                continue;
            }

            c = *p++;

            if (s->field_len == 4 && memcmp(s->field, "data", 4) == 0) {
                llmr_sse_data_line(s);
                s->state = LLMR_SSE_DATA_SP;

            } else if (s->field_len == 5
                       && memcmp(s->field, "event", 5) == 0)
            {
                s->name_len = 0;
                s->state = LLMR_SSE_EVENT_SP;

            } else {
                s->state = LLMR_SSE_SKIP;
            }

            if (c == ':') {
                continue;
            }

            /* no colon: the value is empty, and the line is over */
            if (s->state == LLMR_SSE_EVENT_SP) {
                llmr_sse_name(s);
            }

            s->cr = (c == '\r');
            s->state = LLMR_SSE_BOL;
            continue;

        case LLMR_SSE_DATA_SP:
        case LLMR_SSE_EVENT_SP:
            if (*p == ' ') {
                p++;
            }

            s->state = (s->state == LLMR_SSE_DATA_SP) ? LLMR_SSE_DATA
                                                      : LLMR_SSE_EVENT;
            continue;

        default: /* LLMR_SSE_DATA, LLMR_SSE_EVENT, LLMR_SSE_SKIP */
            q = llmr_eol(p, end);
            n = (q ? q : end) - p;

            if (s->state == LLMR_SSE_DATA) {
                s->handler->data(s->ctx, p, n);

            } else if (s->state == LLMR_SSE_EVENT) {
                if (s->name_len + n <= LLMR_SSE_NAME_MAX) {
                    memcpy(s->name + s->name_len, p, n);
                    s->name_len += n;

                } else {
                    s->name_len = LLMR_SSE_NAME_MAX + 1;
                }
            }

            if (q == NULL) {
                return;
            }

            if (s->state == LLMR_SSE_EVENT) {
                llmr_sse_name(s);
            }

            s->cr = (*q == '\r');
            s->state = LLMR_SSE_BOL;
            p = q + 1;
        }
    }
}


/* llmr_sse_boundary()'s state: bits */
#define LLMR_SSE_B_MID      0x01    /* inside a line */
#define LLMR_SSE_B_CR       0x02    /* the last byte was a CR */


size_t
llmr_sse_boundary(unsigned *state, const unsigned char *p, size_t n)
{
    size_t    i, cut;
    unsigned  st;

    st = *state;
    cut = 0;

    for (i = 0; i < n; i++) {

        if (p[i] == '\n' && (st & LLMR_SSE_B_CR)) {
            /* the LF of a CR LF: the line ended at the CR */
            st &= ~LLMR_SSE_B_CR;

            if (cut == i) {
                cut = i + 1;
            }

            continue;
        }

        st &= ~LLMR_SSE_B_CR;

        if (p[i] == '\n' || p[i] == '\r') {

            if (!(st & LLMR_SSE_B_MID)) {
                /* a blank line: the event before it is whole */
                cut = i + 1;
            }

            st &= ~LLMR_SSE_B_MID;

            if (p[i] == '\r') {
                st |= LLMR_SSE_B_CR;
            }

            continue;
        }

        st |= LLMR_SSE_B_MID;
    }

    *state = st;

    return cut;
}
