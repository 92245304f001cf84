
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "llmr_jdoc.h"


/* nodes a block holds; blocks beyond LLMR_JDOC_KEEP are freed on reuse */
#define LLMR_JDOC_BLOCK_NODES   256
/* the first block's; each next one twice the last, up to the above */
#define LLMR_JDOC_FIRST_NODES   32
#define LLMR_JDOC_KEEP          8


/*
 * Blocks grow: a stream's event takes a few dozen nodes, and a translated
 * stream keeps its document's first block as long as it is open.
 */

struct llmr_jblock_s {
    llmr_jblock_t              *next;
    size_t                      cap;
    llmr_jv_t                   nodes[];
};


typedef struct {
    llmr_jdoc_t                *doc;
    const char                 *start;
    const char                 *p;
    const char                 *end;
} llmr_jparse_t;


static llmr_jv_t *llmr_jdoc_node(llmr_jdoc_t *d);
static int llmr_jparse_value(llmr_jparse_t *jp, llmr_jv_t *v,
    unsigned depth);
static int llmr_jparse_string(llmr_jparse_t *jp, const char **s,
    size_t *len, unsigned char *esc);
static int llmr_jparse_number(llmr_jparse_t *jp);
static int llmr_jparse_fail(llmr_jparse_t *jp, const char *why);
static unsigned llmr_jhex4(const char *p);
static size_t llmr_jdecode(const char *s, size_t len, char *buf,
    size_t size);


void
llmr_jdoc_init(llmr_jdoc_t *d)
{
    memset(d, 0, sizeof(llmr_jdoc_t));
    d->max_depth = LLMR_JDOC_DEPTH_MAX;
}


void
llmr_jdoc_free(llmr_jdoc_t *d)
{
    llmr_jblock_t  *b, *next;

    for (b = d->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    d->blocks = NULL;
    d->current = NULL;
    d->root = NULL;
}


size_t
llmr_jdoc_memory(const llmr_jdoc_t *d)
{
    size_t          n;
    llmr_jblock_t  *b;

    n = 0;

    for (b = d->blocks; b; b = b->next) {
        n += sizeof(llmr_jblock_t) + b->cap * sizeof(llmr_jv_t);
    }

    return n;
}


static llmr_jv_t *
llmr_jdoc_node(llmr_jdoc_t *d)
{
    size_t          cap;
    llmr_jv_t      *v;
    llmr_jblock_t  *b;

    if (d->max_nodes && d->nodes >= d->max_nodes) {
        return NULL;
    }

    if (d->current == NULL || d->used == d->current->cap) {

        b = d->current ? d->current->next : d->blocks;

        if (b == NULL) {
            cap = d->current ? d->current->cap * 2 : LLMR_JDOC_FIRST_NODES;
            if (cap > LLMR_JDOC_BLOCK_NODES) {
                cap = LLMR_JDOC_BLOCK_NODES;
            }

            b = malloc(sizeof(llmr_jblock_t) + cap * sizeof(llmr_jv_t));
            if (b == NULL) {
                return NULL;
            }

            b->next = NULL;
            b->cap = cap;

            if (d->current) {
                d->current->next = b;

            } else {
                d->blocks = b;
            }
        }

        d->current = b;
        d->used = 0;
    }

    v = &d->current->nodes[d->used++];
    d->nodes++;

    memset(v, 0, sizeof(llmr_jv_t));

    return v;
}


int
llmr_jdoc_parse(llmr_jdoc_t *d, const char *s, size_t len)
{
    unsigned        n;
    llmr_jv_t      *root;
    llmr_jblock_t  *b, *next;
    llmr_jparse_t   jp;

    /* keep LLMR_JDOC_KEEP blocks of what the last document took */

    for (n = 0, b = d->blocks; b && n < LLMR_JDOC_KEEP - 1; n++) {
        b = b->next;
    }

    if (b) {
        for (next = b->next, b->next = NULL; next; next = b) {
            b = next->next;
            free(next);
        }
    }

    d->current = NULL;
    d->used = 0;
    d->nodes = 0;
    d->root = NULL;
    d->error = NULL;
    d->error_at = 0;

    jp.doc = d;
    jp.start = s;
    jp.p = s;
    jp.end = s + len;

    root = llmr_jdoc_node(d);
    if (root == NULL) {
        return llmr_jparse_fail(&jp, "out of memory");
    }

    if (llmr_jparse_value(&jp, root, 0) != LLMR_OK) {
        return LLMR_ERROR;
    }

    while (jp.p < jp.end
           && (*jp.p == ' ' || *jp.p == '\t' || *jp.p == '\n'
               || *jp.p == '\r'))
    {
        jp.p++;
    }

    if (jp.p != jp.end) {
        return llmr_jparse_fail(&jp, "text after the value");
    }

    d->root = root;

    return LLMR_OK;
}


static int
llmr_jparse_fail(llmr_jparse_t *jp, const char *why)
{
    if (jp->doc->error == NULL) {
        jp->doc->error = why;
        jp->doc->error_at = jp->p - jp->start;
    }

    return LLMR_ERROR;
}


#define llmr_jparse_blank(jp)                                                 \
    while ((jp)->p < (jp)->end                                                \
           && (*(jp)->p == ' ' || *(jp)->p == '\t' || *(jp)->p == '\n'        \
               || *(jp)->p == '\r'))                                          \
    {                                                                         \
        (jp)->p++;                                                            \
    }


static int
llmr_jparse_value(llmr_jparse_t *jp, llmr_jv_t *v, unsigned depth)
{
    char         close;
    const char  *start;
    llmr_jv_t   *item, *last;

    llmr_jparse_blank(jp);

    if (jp->p == jp->end) {
        return llmr_jparse_fail(jp, "a value was expected");
    }

    start = jp->p;

    switch (*jp->p) {

    case '"':
        v->type = LLMR_V_STRING;
        return llmr_jparse_string(jp, &v->s, &v->len, &v->esc);

    case '{':
    case '[':
        if (depth >= jp->doc->max_depth) {
            return llmr_jparse_fail(jp, "nested too deeply");
        }

        v->type = (*jp->p == '{') ? LLMR_V_MAP : LLMR_V_ARRAY;
        close = (*jp->p == '{') ? '}' : ']';
        jp->p++;

        last = NULL;

        llmr_jparse_blank(jp);

        if (jp->p < jp->end && *jp->p == close) {
            jp->p++;
            v->s = start;
            v->len = jp->p - start;
            return LLMR_OK;
        }

        for ( ;; ) {
            item = llmr_jdoc_node(jp->doc);
            if (item == NULL) {
                return llmr_jparse_fail(jp, jp->doc->max_nodes
                                            ? "too many values"
                                            : "out of memory");
            }

            if (v->type == LLMR_V_MAP) {
                llmr_jparse_blank(jp);

                if (jp->p == jp->end || *jp->p != '"') {
                    return llmr_jparse_fail(jp, "a key was expected");
                }

                if (llmr_jparse_string(jp, &item->key, &item->key_len,
                                       &item->key_esc)
                    != LLMR_OK)
                {
                    return LLMR_ERROR;
                }

                llmr_jparse_blank(jp);

                if (jp->p == jp->end || *jp->p != ':') {
                    return llmr_jparse_fail(jp, "':' was expected");
                }

                jp->p++;
            }

            if (llmr_jparse_value(jp, item, depth + 1) != LLMR_OK) {
                return LLMR_ERROR;
            }

            if (last) {
                last->next = item;

            } else {
                v->child = item;
            }

            last = item;
            v->n++;

            llmr_jparse_blank(jp);

            if (jp->p == jp->end) {
                return llmr_jparse_fail(jp, "the value is truncated");
            }

            if (*jp->p == ',') {
                jp->p++;
                continue;
            }

            if (*jp->p == close) {
                jp->p++;
                break;
            }

            return llmr_jparse_fail(jp, "',' or the end was expected");
        }

        v->s = start;
        v->len = jp->p - start;
        return LLMR_OK;

    case 't':
        if (jp->end - jp->p >= 4 && memcmp(jp->p, "true", 4) == 0) {
            v->type = LLMR_V_BOOL;
            v->boolean = 1;
            jp->p += 4;
            break;
        }

        return llmr_jparse_fail(jp, "invalid literal");

    case 'f':
        if (jp->end - jp->p >= 5 && memcmp(jp->p, "false", 5) == 0) {
            v->type = LLMR_V_BOOL;
            jp->p += 5;
            break;
        }

        return llmr_jparse_fail(jp, "invalid literal");

    case 'n':
        if (jp->end - jp->p >= 4 && memcmp(jp->p, "null", 4) == 0) {
            v->type = LLMR_V_NULL;
            jp->p += 4;
            break;
        }

        return llmr_jparse_fail(jp, "invalid literal");

    default:
        v->type = LLMR_V_NUMBER;

        if (llmr_jparse_number(jp) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    v->s = start;
    v->len = jp->p - start;

    return LLMR_OK;
}


static int
llmr_jparse_string(llmr_jparse_t *jp, const char **s, size_t *len,
    unsigned char *esc)
{
    unsigned char  c;
    const char    *p, *end;

    p = jp->p + 1;
    end = jp->end;
    *s = p;
    *esc = 0;

    for ( ;; ) {
        while (p < end && (c = (unsigned char) *p) != '"' && c != '\\'
               && c >= 0x20)
        {
            p++;
        }

        if (p == end) {
            jp->p = p;
            return llmr_jparse_fail(jp, "the string is truncated");
        }

        c = (unsigned char) *p;

        if (c == '"') {
            break;
        }

        if (c < 0x20) {
            jp->p = p;
            return llmr_jparse_fail(jp, "a control character in a string");
        }

        /* an escape */

        *esc = 1;

        if (end - p < 2) {
            jp->p = p;
            return llmr_jparse_fail(jp, "the string is truncated");
        }

        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            p += 2;
            break;

        case 'u':
            if (end - p < 6 || llmr_jhex4(p + 2) > 0xffff) {
                jp->p = p;
                return llmr_jparse_fail(jp, "an invalid \\u escape");
            }

            p += 6;
            break;

        default:
            jp->p = p;
            return llmr_jparse_fail(jp, "an invalid escape");
        }
    }

    *len = p - *s;
    jp->p = p + 1;

    return LLMR_OK;
}


static int
llmr_jparse_number(llmr_jparse_t *jp)
{
    const char  *p, *end;

    p = jp->p;
    end = jp->end;

    if (p < end && *p == '-') {
        p++;
    }

    if (p == end || *p < '0' || *p > '9') {
        return llmr_jparse_fail(jp, "an invalid value");
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            jp->p = p;
            return llmr_jparse_fail(jp, "an invalid number");
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            jp->p = p;
            return llmr_jparse_fail(jp, "an invalid number");
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    jp->p = p;

    return LLMR_OK;
}


/* 0x10000 and up: not four hex digits */

static unsigned
llmr_jhex4(const char *p)
{
    unsigned  i, c, v;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = (unsigned char) p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            return 0x10000;
        }

        v = (v << 4) | c;
    }

    return v;
}


/*
 * Decodes a checked string's escapes; a lone surrogate becomes U+FFFD.
 * size 0 with buf NULL counts.  Cut at a whole character.
 */

static size_t
llmr_jdecode(const char *s, size_t len, char *buf, size_t size)
{
    char        tmp[4];
    size_t      n, k, i;
    unsigned    cp, lo;
    const char *end, *b;

    n = 0;
    end = s + len;

    while (s < end) {
        b = memchr(s, '\\', end - s);

        if (b == NULL) {
            b = end;
        }

        k = b - s;

        if (buf) {
            if (n + k > size) {
                k = size - n;

                /* not in the middle of a UTF-8 sequence */
                while (k && ((unsigned char) s[k] & 0xc0) == 0x80) {
                    k--;
                }

                memcpy(buf + n, s, k);
                return n + k;
            }

            memcpy(buf + n, s, k);
        }

        n += k;
        s = b;

        if (s == end) {
            break;
        }

        k = 1;

        switch (s[1]) {

        case 'u':
            cp = llmr_jhex4(s + 2);
            s += 6;

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - s >= 6 && s[0] == '\\' && s[1] == 'u'
                    && (lo = llmr_jhex4(s + 2)) >= 0xdc00 && lo <= 0xdfff)
                {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    s += 6;

                } else {
                    cp = 0xfffd;
                }

            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                cp = 0xfffd;
            }

            if (cp < 0x80) {
                tmp[0] = (char) cp;

            } else if (cp < 0x800) {
                tmp[0] = (char) ((cp >> 6) | 0xc0);
                tmp[1] = (char) ((cp & 0x3f) | 0x80);
                k = 2;

            } else if (cp < 0x10000) {
                tmp[0] = (char) ((cp >> 12) | 0xe0);
                tmp[1] = (char) (((cp >> 6) & 0x3f) | 0x80);
                tmp[2] = (char) ((cp & 0x3f) | 0x80);
                k = 3;

            } else {
                tmp[0] = (char) ((cp >> 18) | 0xf0);
                tmp[1] = (char) (((cp >> 12) & 0x3f) | 0x80);
                tmp[2] = (char) (((cp >> 6) & 0x3f) | 0x80);
                tmp[3] = (char) ((cp & 0x3f) | 0x80);
                k = 4;
            }

            break;

        case 'b': tmp[0] = '\b'; s += 2; break;
        case 'f': tmp[0] = '\f'; s += 2; break;
        case 'n': tmp[0] = '\n'; s += 2; break;
        case 'r': tmp[0] = '\r'; s += 2; break;
        case 't': tmp[0] = '\t'; s += 2; break;
        default:  tmp[0] = s[1]; s += 2; break;     /* " \ / */
        }

        if (buf) {
            if (n + k > size) {
                return n;
            }

            for (i = 0; i < k; i++) {
                buf[n + i] = tmp[i];
            }
        }

        n += k;
    }

    return n;
}


size_t
llmr_jv_decoded_len(const llmr_jv_t *v)
{
    if (v == NULL || v->type != LLMR_V_STRING) {
        return 0;
    }

    return v->esc ? llmr_jdecode(v->s, v->len, NULL, 0) : v->len;
}


size_t
llmr_jv_decode(const llmr_jv_t *v, char *buf, size_t size)
{
    if (v == NULL || v->type != LLMR_V_STRING) {
        return 0;
    }

    return llmr_jdecode(v->s, v->len, buf, size);
}


static int
llmr_jstr_eq(const char *s, size_t len, unsigned esc, const char *lit)
{
    char    buf[64];
    size_t  n, k;

    k = strlen(lit);

    if (!esc) {
        return len == k && memcmp(s, lit, k) == 0;
    }

    if (k >= sizeof(buf) || len > 6 * k) {
        return 0;
    }

    n = llmr_jdecode(s, len, buf, sizeof(buf));

    return n == k && memcmp(buf, lit, k) == 0;
}


llmr_jv_t *
llmr_jv_get(const llmr_jv_t *map, const char *key)
{
    llmr_jv_t  *v;

    if (map == NULL || map->type != LLMR_V_MAP) {
        return NULL;
    }

    for (v = map->child; v; v = v->next) {
        if (llmr_jstr_eq(v->key, v->key_len, v->key_esc, key)) {
            return v->type == LLMR_V_NULL ? NULL : v;
        }
    }

    return NULL;
}


int
llmr_jv_is(const llmr_jv_t *v, const char *lit)
{
    return v != NULL && v->type == LLMR_V_STRING
           && llmr_jstr_eq(v->s, v->len, v->esc, lit);
}


double
llmr_jv_number(const llmr_jv_t *v, double def)
{
    char    buf[64];
    double  d;

    if (v == NULL || v->type != LLMR_V_NUMBER || v->len >= sizeof(buf)) {
        return def;
    }

    memcpy(buf, v->s, v->len);
    buf[v->len] = '\0';

    d = strtod(buf, NULL);

    return isfinite(d) ? d : def;
}


int64_t
llmr_jv_int(const llmr_jv_t *v, int64_t def)
{
    double  d;

    d = llmr_jv_number(v, NAN);

    if (isnan(d) || d < -9.0e18 || d > 9.0e18) {
        return def;
    }

    return (int64_t) d;
}


/* the output */


void
llmr_jbuf_init(llmr_jbuf_t *b, size_t max)
{
    memset(b, 0, sizeof(llmr_jbuf_t));
    b->max = max;
}


void
llmr_jbuf_reset(llmr_jbuf_t *b, size_t keep)
{
    if (b->size > keep) {
        free(b->data);
        b->data = NULL;
        b->size = 0;
    }

    b->len = 0;
    b->failed = 0;
}


void
llmr_jbuf_free(llmr_jbuf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->size = 0;
    b->len = 0;
}


static int
llmr_jbuf_room(llmr_jbuf_t *b, size_t n)
{
    char    *p;
    size_t   size;

    if (b->failed) {
        return 0;
    }

    if (b->size - b->len >= n) {
        return 1;
    }

    if (b->max && b->len + n > b->max) {
        b->failed = 1;
        return 0;
    }

    size = b->size ? b->size : 1024;

    while (size - b->len < n) {
        size *= 2;
    }

    if (b->max && size > b->max) {
        size = b->max;
    }

    p = realloc(b->data, size);
    if (p == NULL) {
        b->failed = 1;
        return 0;
    }

    b->data = p;
    b->size = size;

    return 1;
}


void
llmr_jbuf_add(llmr_jbuf_t *b, const char *s, size_t len)
{
    if (len && llmr_jbuf_room(b, len)) {
        memcpy(b->data + b->len, s, len);
        b->len += len;
    }
}


void
llmr_jbuf_char(llmr_jbuf_t *b, char c)
{
    if (llmr_jbuf_room(b, 1)) {
        b->data[b->len++] = c;
    }
}


void
llmr_jbuf_str(llmr_jbuf_t *b, const char *s, size_t len)
{
    size_t  n;

    n = llmr_json_escaped_len(s, len);

    if (llmr_jbuf_room(b, n + 2)) {
        b->data[b->len++] = '"';
        b->len += llmr_json_escape(b->data + b->len, n, s, len);
        b->data[b->len++] = '"';
    }
}


void
llmr_jbuf_value(llmr_jbuf_t *b, const llmr_jv_t *v)
{
    if (v == NULL) {
        llmr_jbuf_lit(b, "null");
        return;
    }

    if (v->type == LLMR_V_STRING) {
        llmr_jbuf_char(b, '"');
        llmr_jbuf_add(b, v->s, v->len);
        llmr_jbuf_char(b, '"');
        return;
    }

    if (v->type == LLMR_V_NULL) {
        llmr_jbuf_lit(b, "null");
        return;
    }

    llmr_jbuf_add(b, v->s, v->len);
}


void
llmr_jbuf_value_as_str(llmr_jbuf_t *b, const llmr_jv_t *v)
{
    if (v == NULL) {
        llmr_jbuf_lit(b, "\"\"");
        return;
    }

    if (v->type == LLMR_V_STRING) {
        llmr_jbuf_value(b, v);
        return;
    }

    llmr_jbuf_str(b, v->type == LLMR_V_NULL ? "null" : v->s,
                  v->type == LLMR_V_NULL ? 4 : v->len);
}


void
llmr_jbuf_int(llmr_jbuf_t *b, int64_t n)
{
    char      buf[24], *p;
    uint64_t  u;

    p = buf + sizeof(buf);
    u = n < 0 ? (uint64_t) 0 - (uint64_t) n : (uint64_t) n;

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    llmr_jbuf_add(b, p, buf + sizeof(buf) - p);
}


void
llmr_jbuf_key(llmr_jbuf_t *b, int sep, const char *key)
{
    if (sep) {
        llmr_jbuf_char(b, ',');
    }

    llmr_jbuf_cstr(b, key);
    llmr_jbuf_char(b, ':');
}
