
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/bodies.h>


static int llmr_bodies_score(llmr_bodies_t *b, const unsigned char *body,
    size_t len);
static int llmr_hex(int c);


llmr_bodies_t *
llmr_bodies_create(const llmr_classifier_t *cl, size_t line_max)
{
    llmr_bodies_t  *b;

    b = calloc(1, sizeof(llmr_bodies_t));
    if (b == NULL) {
        return NULL;
    }

    b->cl = cl;
    b->line_max = line_max ? line_max : LLMR_BODY_LINE_MAX;

    b->x = llmr_extract_create(NULL);
    b->buf = malloc(b->line_max + 1);

    if (b->x == NULL || b->buf == NULL) {
        llmr_bodies_destroy(b);
        return NULL;
    }

    return b;
}


void
llmr_bodies_destroy(llmr_bodies_t *b)
{
    if (b == NULL) {
        return;
    }

    llmr_extract_destroy(b->x);
    free(b->buf);
    free(b->score);
    free(b);
}


/*
 * Lines of up to line_max bytes in one buffer of that size: a longer
 * line is counted when the buffer is full without its end, and the rest
 * of it is read past, never held.
 */

int
llmr_bodies_read(llmr_bodies_t *b, FILE *f, char *err, size_t errlen)
{
    int             skip;
    size_t          start, scan, len, cap, n;
    unsigned char  *nl, *buf;

    memset(&b->st, 0, sizeof(llmr_bodies_stats_t));

    buf = b->buf;
    cap = b->line_max + 1;
    start = 0;
    scan = 0;
    len = 0;
    skip = 0;

    for ( ;; ) {
        nl = memchr(buf + scan, '\n', len - scan);

        if (nl) {
            if (skip) {
                /* the end of a long line, counted already */
                skip = 0;

            } else if (llmr_bodies_line(b, buf + start,
                                        nl - (buf + start))
                       == LLMR_ERROR)
            {
                return llmr_errorf(err, errlen, "out of memory");
            }

            start = nl - buf + 1;
            scan = start;
            continue;
        }

        if (start == 0 && len == cap) {
            if (!skip) {
                b->st.lines++;
                b->st.long_lines++;
                skip = 1;
            }

            len = 0;

        } else if (start) {
            memmove(buf, buf + start, len - start);
            len -= start;
            start = 0;
        }

        scan = len;

        n = fread(buf + len, 1, cap - len, f);

        if (n == 0) {
            if (ferror(f)) {
                return llmr_errorf(err, errlen, "read error");
            }

            /* the last line, without a newline */

            if (len && !skip
                && llmr_bodies_line(b, buf, len) == LLMR_ERROR)
            {
                return llmr_errorf(err, errlen, "out of memory");
            }

            return LLMR_OK;
        }

        len += n;
    }
}


int
llmr_bodies_line(llmr_bodies_t *b, unsigned char *line, size_t len)
{
    int      rc, json;
    size_t   start, end;
    ssize_t  n;

    while (len && (line[len - 1] == '\r' || line[len - 1] == ' '
                   || line[len - 1] == '\t'))
    {
        len--;
    }

    while (len && (line[0] == ' ' || line[0] == '\t')) {
        line++;
        len--;
    }

    if (len == 0) {
        return LLMR_BODY_BLANK;
    }

    b->st.lines++;

    if (len > b->line_max) {
        b->st.long_lines++;
        return LLMR_BODY_LONG;
    }

    /* a body as it is: what llmr classify reads */

    json = (line[0] == '{');

    if (json) {
        rc = llmr_bodies_score(b, line, len);

        if (rc == LLMR_OK) {
            b->st.json++;
            return LLMR_BODY_JSON;
        }

        if (rc == LLMR_ERROR) {
            return LLMR_ERROR;
        }
    }

    /* a log line (an escape=json one is a JSON object too) */

    if (llmr_log_field(line, len, &start, &end) != LLMR_OK) {
        if (json) {
            b->st.bad++;
            return LLMR_BODY_BAD;
        }

        b->st.none++;
        return LLMR_BODY_NONE;
    }

    /* $request_body is "-" (escape=default) or "" (json) when empty */

    if (end == start || (end - start == 1 && line[start] == '-')) {
        b->st.none++;
        return LLMR_BODY_NONE;
    }

    n = llmr_log_unescape(line + start, line + start, end - start);

    rc = (n < 0) ? LLMR_DECLINED : llmr_bodies_score(b, line + start, n);

    if (rc == LLMR_ERROR) {
        return LLMR_ERROR;
    }

    if (rc != LLMR_OK) {
        b->st.bad++;
        return LLMR_BODY_BAD;
    }

    b->st.logged++;

    return LLMR_BODY_LOGGED;
}


/* LLMR_OK and a score kept, LLMR_DECLINED: not a body, LLMR_ERROR */

static int
llmr_bodies_score(llmr_bodies_t *b, const unsigned char *body, size_t len)
{
    size_t         cap;
    double        *s;
    llmr_class_t   c;

    llmr_extract_reset(b->x, LLMR_FMT_UNKNOWN);

    if (llmr_extract_feed(b->x, body, len) != LLMR_OK
        || llmr_extract_finish(b->x) != LLMR_OK)
    {
        return (llmr_extract_errcode(b->x) == LLMR_EXTRACT_E_NOMEM)
               ? LLMR_ERROR : LLMR_DECLINED;
    }

    if (b->n == b->cap) {
        cap = b->cap ? 2 * b->cap : 1024;

        s = realloc(b->score, cap * sizeof(double));
        if (s == NULL) {
            return LLMR_ERROR;
        }

        b->score = s;
        b->cap = cap;
    }

    llmr_classify(b->cl, llmr_extract_result(b->x), &c);

    b->score[b->n++] = c.score;

    return LLMR_OK;
}


int
llmr_log_field(const unsigned char *line, size_t len, size_t *start,
    size_t *end)
{
    size_t  i, k, q, found;

    /* quotes from the end: the closing one, then the opening one */

    found = 0;
    q = 0;

    for (i = len; i > 0; i--) {
        if (line[i - 1] != '"') {
            continue;
        }

        for (k = i - 1; k > 0 && line[k - 1] == '\\'; k--) {
            /* void */
        }

        if ((i - 1 - k) % 2) {
            /* escaped: inside an escape=json field */
            continue;
        }

        if (found++ == 0) {
            q = i - 1;
            continue;
        }

        *start = i;
        *end = q;

        return LLMR_OK;
    }

    return LLMR_DECLINED;
}


ssize_t
llmr_log_unescape(unsigned char *dst, const unsigned char *src, size_t len)
{
    int             h, l;
    size_t          i, k;
    uint32_t        c, c2;
    unsigned char  *p;

    p = dst;

    for (i = 0; i < len; i++) {
        if (src[i] != '\\') {
            *p++ = src[i];
            continue;
        }

        if (++i == len) {
            return -1;
        }

        switch (src[i]) {

        case 'x':
            /* escape=default */
            if (i + 2 >= len) {
                return -1;
            }

            h = llmr_hex(src[i + 1]);
            l = llmr_hex(src[i + 2]);

            if (h < 0 || l < 0) {
                return -1;
            }

            *p++ = (unsigned char) (h << 4 | l);
            i += 2;
            break;

        case '"':
        case '\\':
        case '/':
            *p++ = src[i];
            break;

        case 'b':
            *p++ = '\b';
            break;

        case 'f':
            *p++ = '\f';
            break;

        case 'n':
            *p++ = '\n';
            break;

        case 'r':
            *p++ = '\r';
            break;

        case 't':
            *p++ = '\t';
            break;

        case 'u':
            c = 0;

            for (k = 1; k <= 4; k++) {
                h = (i + k < len) ? llmr_hex(src[i + k]) : -1;

                if (h < 0) {
                    return -1;
                }

                c = c << 4 | (uint32_t) h;
            }

            i += 4;

            if (c >= 0xdc00 && c <= 0xdfff) {
                return -1;
            }

            if (c >= 0xd800 && c <= 0xdbff) {
                /* a surrogate pair: \uD8xx\uDCxx */

                if (i + 6 >= len || src[i + 1] != '\\' || src[i + 2] != 'u') {
                    return -1;
                }

                c2 = 0;

                for (k = 3; k <= 6; k++) {
                    h = llmr_hex(src[i + k]);

                    if (h < 0) {
                        return -1;
                    }

                    c2 = c2 << 4 | (uint32_t) h;
                }

                if (c2 < 0xdc00 || c2 > 0xdfff) {
                    return -1;
                }

                c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
                i += 6;
            }

            if (c < 0x80) {
                *p++ = (unsigned char) c;

            } else if (c < 0x800) {
                *p++ = (unsigned char) (0xc0 | c >> 6);
                *p++ = (unsigned char) (0x80 | (c & 0x3f));

            } else if (c < 0x10000) {
                *p++ = (unsigned char) (0xe0 | c >> 12);
                *p++ = (unsigned char) (0x80 | ((c >> 6) & 0x3f));
                *p++ = (unsigned char) (0x80 | (c & 0x3f));

            } else {
                *p++ = (unsigned char) (0xf0 | c >> 18);
                *p++ = (unsigned char) (0x80 | ((c >> 12) & 0x3f));
                *p++ = (unsigned char) (0x80 | ((c >> 6) & 0x3f));
                *p++ = (unsigned char) (0x80 | (c & 0x3f));
            }

            break;

        default:
            return -1;
        }
    }

    return p - dst;
}


static int
llmr_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}
