
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#if (defined __SSE2__)
#include <emmintrin.h>
#endif

#include <llmr/core.h>

#include "llmr_json.h"
#include "llmr_swar.h"


/*
 * LLMR_JSON_STRINGS_EXACT: yajl's lexer rescans a token that spans chunks
 * from its start on every call, so a long string fed in small chunks
 * costs O(n^2).  Once that many bytes arrived without a parser event,
 * chunks are staged and fed in doubling sizes, up to LLMR_STAGE_MAX bytes
 * at a time.
 */
#define LLMR_STAGE_MIN          65536
#define LLMR_STAGE_MAX          (1024 * 1024)

/*
 * LLMR_JSON_STRINGS_EXACT: long strings do not go through yajl's lexer,
 * which looks at every byte through a table, and copies a string cut
 * between two chunks to scan it again.  A string of LLMR_FAST_MIN bytes
 * or more is found, checked and decoded here, 8 bytes at a time, by
 * yajl's rules (its UTF-8 check, its escapes, its \u decoding), and yajl
 * parses "" in its place: the callback takes the real value from j->sub,
 * and every offset is that of the body.  A string yajl would reject goes
 * to yajl as it came, with the rest of the body, so the error is yajl's
 * own; so does a string yajl decodes its own way (a high surrogate
 * without "\u" after it), alone.  One split between chunks waits in
 * j->str, bounded like yajl's token buffer by the body; more than
 * LLMR_STR_KEEP of it is not kept across bodies.
 */
#define LLMR_FAST_MIN           64
#define LLMR_STR_KEEP           65536

/* the first size of j->str, doubled as needed */
#define LLMR_STR_SIZE           4096


/* where the lexer in front of yajl is */
typedef enum {
    LLMR_LEX_OUT = 0,           /* between strings */

    /* LLMR_JSON_STRINGS_EXACT */
    LLMR_LEX_SPLIT,             /* in a string that goes on in a chunk */
    LLMR_LEX_RAW,               /* yajl gets the rest of the body as is */

    /* LLMR_JSON_STRINGS_BOUNDED */
    LLMR_LEX_STR,               /* in a string handed to yajl */
    LLMR_LEX_WANT,              /* in a long one: cut at a boundary */
    LLMR_LEX_ELIDE              /* skipping it up to its closing quote */
} llmr_json_lex_e;


/* llmr_str_check() */
#define LLMR_STR_DONE           0
#define LLMR_STR_MORE           1
#define LLMR_STR_BAD            2
#define LLMR_STR_NEXT           3       /* a sequence passed: go on */

/* "\uXXXX": a backslash, the u and four hex digits */
#define LLMR_STR_UESC           6

#define LLMR_STR_ESC            0x01    /* escapes: decode */
#define LLMR_STR_YAJL           0x02    /* yajl decodes it its own way */

/* the bounded lexer's j->esc: after a backslash; 1-4: hex digits left */
#define LLMR_ESC_TYPE           5


static int llmr_json_on_null(void *ctx);
static int llmr_json_on_boolean(void *ctx, int b);
static int llmr_json_on_number(void *ctx, const char *s, size_t len);
static int llmr_json_on_string(void *ctx, const unsigned char *s,
    size_t len);
static int llmr_json_on_start_map(void *ctx);
static int llmr_json_on_map_key(void *ctx, const unsigned char *s,
    size_t len);
static int llmr_json_on_start_array(void *ctx);
static int llmr_json_on_end(void *ctx);
static int llmr_json_fail(llmr_json_t *j, int err, const char *fmt, ...);
static int llmr_json_lex_exact(llmr_json_t *j, const unsigned char *data,
    size_t len);
static int llmr_json_lex_bounded(llmr_json_t *j, const unsigned char *p,
    size_t len);


static const yajl_callbacks  llmr_json_callbacks = {
    llmr_json_on_null,
    llmr_json_on_boolean,
    NULL,
    NULL,
    llmr_json_on_number,
    llmr_json_on_string,
    llmr_json_on_start_map,
    llmr_json_on_map_key,
    llmr_json_on_end,
    llmr_json_on_start_array,
    llmr_json_on_end
};


/* a byte of a JSON number or literal */

/* a byte of a JSON number or literal */
static const unsigned char  llmr_json_token[256] = {
    ['+'] = 1, ['-'] = 1, ['.'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1
};


static int
llmr_json_fail(llmr_json_t *j, int err, const char *fmt, ...)
{
    va_list  ap;

    if (j->err == LLMR_JSON_E_NONE) {
        j->err = err;

        va_start(ap, fmt);
        vsnprintf(j->errbuf, sizeof(j->errbuf), fmt, ap);
        va_end(ap);
    }

    /* the value yajl callbacks return to stop the parse */
    return 0;
}


/*
 * yajl's callbacks: the nesting and the values skipped are counted here,
 * the rest goes to the semantics.  Every callback is an event (the
 * staging watches for bodies without any).
 */

static int
llmr_json_on_null(void *ctx)
{
    llmr_json_t  *j = ctx;

    j->events++;

    if (j->skip) {
        return 1;
    }

    return j->handler->value(j->ctx, LLMR_V_NULL, NULL, 0);
}


static int
llmr_json_on_boolean(void *ctx, int b)
{
    llmr_json_t  *j = ctx;

    j->events++;

    if (j->skip) {
        return 1;
    }

    return j->handler->value(j->ctx, LLMR_V_BOOL, NULL, b != 0);
}


static int
llmr_json_on_number(void *ctx, const char *s, size_t len)
{
    llmr_json_t  *j = ctx;

    j->events++;

    if (j->skip) {
        return 1;
    }

    return j->handler->value(j->ctx, LLMR_V_NUMBER, (const unsigned char *) s,
                             len);
}


static int
llmr_json_on_string(void *ctx, const unsigned char *s, size_t len)
{
    llmr_json_t  *j = ctx;

    j->events++;

    if (j->sub_set) {
        s = j->sub;
        len = j->sub_len;
        j->sub_set = 0;
    }

    /* the decoded length of what the lexer elided goes with its string */
    j->full = len + j->elided;
    j->elided = 0;

    if (j->skip) {
        return 1;
    }

    return j->handler->value(j->ctx, LLMR_V_STRING, s, len);
}


static int
llmr_json_on_map_key(void *ctx, const unsigned char *s, size_t len)
{
    llmr_json_t  *j = ctx;

    j->events++;

    if (j->sub_set) {
        s = j->sub;
        len = j->sub_len;
        j->sub_set = 0;
    }

    j->elided = 0;

    if (j->skip) {
        return 1;
    }

    return j->handler->key(j->ctx, s, len);
}


static int
llmr_json_on_start_map(void *ctx)
{
    llmr_json_t  *j = ctx;

    j->events++;

    if (++j->depth > j->conf.max_depth) {
        return llmr_json_fail(j, LLMR_JSON_E_DEPTH, "nesting deeper than %u",
                              j->conf.max_depth);
    }

    if (j->skip) {
        j->skip++;
        return 1;
    }

    return j->handler->value(j->ctx, LLMR_V_MAP, NULL, 0);
}


static int
llmr_json_on_start_array(void *ctx)
{
    llmr_json_t  *j = ctx;

    j->events++;

    if (++j->depth > j->conf.max_depth) {
        return llmr_json_fail(j, LLMR_JSON_E_DEPTH, "nesting deeper than %u",
                              j->conf.max_depth);
    }

    if (j->skip) {
        j->skip++;
        return 1;
    }

    return j->handler->value(j->ctx, LLMR_V_ARRAY, NULL, 0);
}


static int
llmr_json_on_end(void *ctx)
{
    llmr_json_t  *j = ctx;

    j->events++;

    if (--j->depth == 0) {
        j->closed = 1;
    }

    if (j->skip) {
        j->skip--;
        return 1;
    }

    return j->handler->end(j->ctx);
}


/* yajl asks for the same few sizes for every body: the best fit cached */

static void *
llmr_json_malloc(void *ctx, size_t size)
{
    unsigned            i, best;
    llmr_json_t        *j = ctx;
    llmr_json_block_t  *b;

    best = j->ncache;

    for (i = 0; i < j->ncache; i++) {
        b = j->cache[i];

        if (b->size == size) {
            best = i;
            break;
        }

        if (b->size > size
            && (best == j->ncache || b->size < j->cache[best]->size))
        {
            best = i;
        }
    }

    if (best < j->ncache) {
        b = j->cache[best];
        j->cache[best] = j->cache[--j->ncache];
        return b + 1;
    }

    b = malloc(sizeof(llmr_json_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->size = size;

    j->mem += sizeof(llmr_json_block_t) + size;

    if (j->peak < j->mem) {
        j->peak = j->mem;
    }

    return b + 1;
}


static void
llmr_json_free_block(void *ctx, void *p)
{
    llmr_json_t        *j = ctx;
    llmr_json_block_t  *b;

    if (p == NULL) {
        return;
    }

    b = (llmr_json_block_t *) p - 1;

    if (b->size <= LLMR_JSON_BLOCK_MAX && j->ncache < j->conf.blocks) {
        j->cache[j->ncache++] = b;
        return;
    }

    j->mem -= sizeof(llmr_json_block_t) + b->size;
    free(b);
}


static void *
llmr_json_realloc(void *ctx, void *p, size_t size)
{
    void               *n;
    llmr_json_block_t  *b;

    if (p == NULL) {
        return llmr_json_malloc(ctx, size);
    }

    b = (llmr_json_block_t *) p - 1;

    if (b->size >= size) {
        return p;
    }

    n = llmr_json_malloc(ctx, size);
    if (n == NULL) {
        return NULL;
    }

    memcpy(n, p, b->size);
    llmr_json_free_block(ctx, p);

    return n;
}


void
llmr_json_init(llmr_json_t *j, const llmr_json_conf_t *conf,
    const llmr_json_handler_t *handler, void *ctx)
{
    memset(j, 0, sizeof(llmr_json_t));

    j->conf = *conf;

    if (j->conf.blocks > LLMR_JSON_BLOCKS) {
        j->conf.blocks = LLMR_JSON_BLOCKS;
    }

    j->handler = handler;
    j->ctx = ctx;

    j->alloc.malloc = llmr_json_malloc;
    j->alloc.realloc = llmr_json_realloc;
    j->alloc.free = llmr_json_free_block;
    j->alloc.ctx = j;
}


/* yajl's handle, made with the first bytes of a body or a value */

static int
llmr_yajl_handle(llmr_json_t *j)
{
    if (j->yajl) {
        return LLMR_OK;
    }

    j->yajl = yajl_alloc(&llmr_json_callbacks, &j->alloc, j);
    if (j->yajl == NULL) {
        llmr_json_fail(j, LLMR_JSON_E_NOMEM, "out of memory");
        return LLMR_ERROR;
    }

    if (!j->conf.validate) {
        yajl_config(j->yajl, yajl_dont_validate_strings, 1);
    }

    if (j->conf.multiple) {
        yajl_config(j->yajl, yajl_allow_multiple_values, 1);
    }

    return LLMR_OK;
}


int
llmr_json_start(llmr_json_t *j)
{
    j->err = LLMR_JSON_E_NONE;

    if (llmr_yajl_handle(j) != LLMR_OK) {
        return LLMR_ERROR;
    }

    j->lex = LLMR_LEX_OUT;
    j->esc = 0;
    j->hi = 0;
    j->slen = 0;
    j->run = 0;
    j->elided = 0;

    j->depth = 0;
    j->skip = 0;
    j->closed = 0;

    return LLMR_OK;
}


void
llmr_json_end(llmr_json_t *j)
{
    if (j->yajl) {
        yajl_free(j->yajl);
        j->yajl = NULL;
    }
}


void
llmr_json_reset(llmr_json_t *j)
{
    llmr_json_end(j);

    j->err = LLMR_JSON_E_NONE;
    j->errbuf[0] = '\0';
    j->depth = 0;
    j->skip = 0;
    j->events = 0;
    j->closed = 0;

    j->fed = 0;
    j->base = 0;
    j->quiet = 0;
    j->stage_len = 0;

    j->lex = LLMR_LEX_OUT;
    j->prev = 0;
    j->pos = 0;
    j->sub_set = 0;

    if (j->str_size > LLMR_STR_KEEP) {
        free(j->str);
        j->str = NULL;
        j->str_size = 0;
    }

    j->str_len = 0;

    j->esc = 0;
    j->hi = 0;
    j->slen = 0;
    j->run = 0;
    j->elided = 0;

    j->peak = j->mem;
}


void
llmr_json_free(llmr_json_t *j)
{
    unsigned  i;

    llmr_json_end(j);

    for (i = 0; i < j->ncache; i++) {
        free(j->cache[i]);
    }

    j->ncache = 0;

    free(j->stage);
    free(j->str);
}


/* why yajl stopped, in j->err and j->errbuf */

static int
llmr_yajl_error(llmr_json_t *j, yajl_status st, const unsigned char *data,
    size_t len)
{
    off_t           at;
    size_t          n;
    const char     *text, *p;
    unsigned char  *msg;

    if (st == yajl_status_client_canceled) {
        /* a callback stopped the parse: the depth, or the semantics */

        if (j->err == LLMR_JSON_E_NONE) {
            j->err = LLMR_JSON_E_STOPPED;
        }

        return LLMR_ERROR;
    }

    msg = yajl_get_error(j->yajl, 0, data, len);
    text = msg ? (const char *) msg : "parse error";

    at = llmr_json_offset(j);

    if (j->sub_set && strstr(text, "inside map, I expect")) {

        /*
         * yajl steps back over the string it did not expect, as far as
         * the chunk it was given goes: over the string of the body, not
         * over the "" that stood for it
         */

        at = j->base + 2;
        at = (at - j->pos >= (off_t) j->sub_raw) ? at - (off_t) j->sub_raw
                                                 : j->pos;
    }

    if (at > j->fed) {
        at = j->fed;
    }

    if (strstr(text, "invalid bytes in UTF8 string")) {
        llmr_json_fail(j, LLMR_JSON_E_UTF8,
                       "invalid UTF-8 in a string at byte %lld",
                       (long long) at);

    } else {
        /* "parse error: premature EOF\n" -> "premature EOF" */
        p = strstr(text, ": ");
        p = p ? p + 2 : text;

        n = strlen(p);

        while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '.')) {
            n--;
        }

        llmr_json_fail(j, LLMR_JSON_E_SYNTAX,
                       "invalid JSON at byte %lld: %.*s", (long long) at,
                       (int) n, p);
    }

    if (msg) {
        yajl_free_error(j->yajl, msg);
    }

    return LLMR_ERROR;
}


/* hands yajl len bytes that are the body's from offset at */

static int
llmr_yajl(llmr_json_t *j, const unsigned char *data, size_t len, off_t at)
{
    yajl_status  st;

    if (len == 0) {
        return LLMR_OK;
    }

    if (llmr_yajl_handle(j) != LLMR_OK) {
        return LLMR_ERROR;
    }

    j->base = at;

    st = yajl_parse(j->yajl, data, len);

    if (st != yajl_status_ok) {
        return llmr_yajl_error(j, st, data, len);
    }

    j->base = at + len;

    return LLMR_OK;
}


/*
 * yajl parses "" for a string of raw bytes in the body that ends at
 * offset end; its callback gets the value [s, s + len) instead.
 */

static int
llmr_yajl_sub(llmr_json_t *j, const unsigned char *s, size_t len,
    size_t raw, off_t end)
{
    int  rc;

    j->sub = s;
    j->sub_len = len;
    j->sub_raw = raw;
    j->sub_set = 1;

    rc = llmr_yajl(j, (const unsigned char *) "\"\"", 2, end - 2);

    j->sub_set = 0;

    return rc;
}



static int
llmr_hex(unsigned c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}


static unsigned
llmr_hex4(const unsigned char *p)
{
    unsigned  i, c, v;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];
        v = (v << 4) | ((c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10);
    }

    return v;
}


/*
 * Plain bytes from p: no quote, backslash, control byte or bit 7.  Returns
 * the first other byte, or end; the widest loop's mask bit for it is exact
 * (the bytes after it may be flagged for nothing).
 */

static inline const unsigned char *
llmr_str_plain(const unsigned char *p, const unsigned char *end)
{
    unsigned  i;
    uint64_t  w;
#if (defined __SSE2__)
    __m128i   v, quote, bslash, space;

    quote = _mm_set1_epi8('"');
    bslash = _mm_set1_epi8('\\');
    space = _mm_set1_epi8(0x20);

    /* signed, a byte above 0x7f is below 0x20 too */

#define llmr_str_special(v)                                                   \
    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),                       \
                              _mm_cmpeq_epi8(v, bslash)),                     \
                 _mm_cmplt_epi8(v, space))

    /* long strings: 64 bytes a round, the 16-byte loop finds which */

    while (end - p >= 64) {
        v = _mm_or_si128(
                _mm_or_si128(
                    llmr_str_special(_mm_loadu_si128((const __m128i *) p)),
                    llmr_str_special(
                        _mm_loadu_si128((const __m128i *) (p + 16)))),
                _mm_or_si128(
                    llmr_str_special(
                        _mm_loadu_si128((const __m128i *) (p + 32))),
                    llmr_str_special(
                        _mm_loadu_si128((const __m128i *) (p + 48)))));

        if (_mm_movemask_epi8(v)) {
            break;
        }

        p += 64;
    }

#undef llmr_str_special

    while (end - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);

        i = _mm_movemask_epi8(_mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                             _mm_cmpeq_epi8(v, bslash)),
                _mm_cmplt_epi8(v, space)));

        if (i) {
            return p + __builtin_ctz(i);
        }

        p += 16;
    }
#else
    (void) i;
#endif

    while (end - p >= 8) {
        memcpy(&w, p, 8);

        w = (llmr_zero(w ^ llmr_bytes('"'))
             | llmr_zero(w ^ llmr_bytes('\\'))
             | llmr_less(w, 0x20) | (w & llmr_bytes(0x80)));

        if (w) {
#ifdef llmr_first
            return p + llmr_first(w);
#else
            break;
#endif
        }

        p += 8;
    }

    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
        p++;
    }

    return p;
}


/*
 * The escape at p (a backslash, the end is at least 2 bytes away).
 * LLMR_STR_NEXT with *q after it, or LLMR_STR_MORE / LLMR_STR_BAD with *q
 * as llmr_str_check() returns them.
 */

static inline int
llmr_str_escape(const unsigned char *p, const unsigned char *end,
    const unsigned char **q, unsigned *flags)
{
    unsigned  c, i;

    c = p[1];

    if (c != 'u') {
        if (!(c == '"' || c == '\\' || c == '/' || c == 'b'
              || c == 'f' || c == 'n' || c == 'r' || c == 't'))
        {
            *q = p + 1;
            return LLMR_STR_BAD;
        }

        *flags |= LLMR_STR_ESC;
        *q = p + 2;
        return LLMR_STR_NEXT;
    }

    for (i = 2; i < LLMR_STR_UESC; i++) {
        if (p + i == end) {
            *q = p;
            return LLMR_STR_MORE;
        }

        if (!llmr_hex(p[i])) {
            *q = p + i;
            return LLMR_STR_BAD;
        }
    }

    *flags |= LLMR_STR_ESC;

    if ((llmr_hex4(p + 2) & 0xfc00) == 0xd800) {

        /* a high surrogate: is "\u" next? */

        if (end - p < LLMR_STR_UESC + 1
            || (p[LLMR_STR_UESC] == '\\' && end - p < LLMR_STR_UESC + 2))
        {
            *q = p;
            return LLMR_STR_MORE;
        }

        if (p[LLMR_STR_UESC] != '\\' || p[LLMR_STR_UESC + 1] != 'u') {
            *flags |= LLMR_STR_YAJL;
        }
    }

    *q = p + LLMR_STR_UESC;
    return LLMR_STR_NEXT;
}


/*
 * The UTF-8 sequence at p, as yajl_lex_utf8_char() reads it: its first
 * byte 110xxxxx, 1110xxxx or 11110xxx, then as many 10xxxxxx.  Returns as
 * llmr_str_escape() does.
 */

static inline int
llmr_str_utf8(const unsigned char *p, const unsigned char *end,
    const unsigned char **q)
{
    unsigned  c, i, n;

    c = *p;

    if ((c >> 5) == 0x6) {
        n = 1;

    } else if ((c >> 4) == 0xe) {
        n = 2;

    } else if ((c >> 3) == 0x1e) {
        n = 3;

    } else {
        *q = p;
        return LLMR_STR_BAD;
    }

    for (i = 1; i <= n; i++) {
        if (p + i == end) {
            *q = p;
            return LLMR_STR_MORE;
        }

        if ((p[i] >> 6) != 0x2) {
            *q = p + i;
            return LLMR_STR_BAD;
        }
    }

    *q = p + n + 1;
    return LLMR_STR_NEXT;
}


/*
 * Checks a string from p (after its opening quote, or where the last call
 * stopped) by the rules of yajl's lexer with its UTF-8 check: no byte
 * below 0x20; the escapes \" \\ \/ \b \f \n \r \t and \u with four hex
 * digits; a byte above 0x7f starts 110xxxxx, 1110xxxx or 11110xxx and is
 * followed by as many 10xxxxxx (yajl looks for nothing else: overlong
 * forms and surrogates pass).  *q is the closing quote (LLMR_STR_DONE),
 * the escape or sequence the end cut, where to go on with more bytes
 * (LLMR_STR_MORE), or the byte yajl stops at (LLMR_STR_BAD).  *flags
 * gets LLMR_STR_ESC and LLMR_STR_YAJL.
 */

static int
llmr_str_check(const unsigned char *p, const unsigned char *end,
    const unsigned char **q, unsigned *flags)
{
    int                   rc;
    unsigned              c;
    const unsigned char  *next;

    for ( ;; ) {
        p = llmr_str_plain(p, end);

        if (p == end) {
            *q = p;
            return LLMR_STR_MORE;
        }

        c = *p;

        if (c == '"') {
            *q = p;
            return LLMR_STR_DONE;
        }

        if (c < 0x20) {
            *q = p;
            return LLMR_STR_BAD;
        }

        if (c == '\\') {
            if (end - p < 2) {
                *q = p;
                return LLMR_STR_MORE;
            }

            rc = llmr_str_escape(p, end, &next, flags);

        } else {
            rc = llmr_str_utf8(p, end, &next);
        }

        if (rc != LLMR_STR_NEXT) {
            *q = next;
            return rc;
        }

        p = next;
    }
}


/*
 * A string that llmr_str_check() passed, without LLMR_STR_YAJL, decoded
 * into d as yajl_string_decode() does it; d may be s, the result is never
 * longer.  A high surrogate and the \u after it make one code point by
 * yajl's formula (whatever the second one is), a \u0000 is one NUL byte.
 */

static size_t
llmr_str_decode(unsigned char *d, const unsigned char *s, size_t len)
{
    unsigned              cp;
    unsigned char        *o;
    const unsigned char  *end, *b;

    o = d;
    end = s + len;

    while (s < end) {
        b = memchr(s, '\\', end - s);

        if (b == NULL) {
            b = end;
        }

        if (o != s) {
            memmove(o, s, b - s);
        }

        o += b - s;
        s = b;

        if (s == end) {
            break;
        }

        switch (s[1]) {

        case 'u':
            cp = llmr_hex4(s + 2);
            s += 6;

            if ((cp & 0xfc00) == 0xd800) {
                cp = ((cp & 0x3f) << 10) | ((((cp >> 6) & 0xf) + 1) << 16)
                     | (llmr_hex4(s + 2) & 0x3ff);
                s += 6;
            }

            if (cp < 0x80) {
                *o++ = (unsigned char) cp;

            } else if (cp < 0x800) {
                *o++ = (unsigned char) ((cp >> 6) | 0xc0);
                *o++ = (unsigned char) ((cp & 0x3f) | 0x80);

            } else if (cp < 0x10000) {
                *o++ = (unsigned char) ((cp >> 12) | 0xe0);
                *o++ = (unsigned char) (((cp >> 6) & 0x3f) | 0x80);
                *o++ = (unsigned char) ((cp & 0x3f) | 0x80);

            } else if (cp < 0x200000) {
                *o++ = (unsigned char) ((cp >> 18) | 0xf0);
                *o++ = (unsigned char) (((cp >> 12) & 0x3f) | 0x80);
                *o++ = (unsigned char) (((cp >> 6) & 0x3f) | 0x80);
                *o++ = (unsigned char) ((cp & 0x3f) | 0x80);

            } else {
                *o++ = '?';
            }

            continue;

        case 'b':
            *o++ = '\b';
            break;

        case 'f':
            *o++ = '\f';
            break;

        case 'n':
            *o++ = '\n';
            break;

        case 'r':
            *o++ = '\r';
            break;

        case 't':
            *o++ = '\t';
            break;

        default: /* " \ / */
            *o++ = s[1];
        }

        s += 2;
    }

    return o - d;
}


static int
llmr_str_room(llmr_json_t *j, size_t size)
{
    size_t          n;
    unsigned char  *p;

    if (j->str_size >= size && j->str) {
        return LLMR_OK;
    }

    n = j->str_size ? j->str_size : LLMR_STR_SIZE;

    while (n < size) {
        n *= 2;
    }

    p = realloc(j->str, n);
    if (p == NULL) {
        llmr_json_fail(j, LLMR_JSON_E_NOMEM, "out of memory");
        return LLMR_ERROR;
    }

    j->str = p;
    j->str_size = n;

    return LLMR_OK;
}


/* a split string goes to yajl as it came: its quote, what came so far */

static int
llmr_str_raw(llmr_json_t *j, size_t len)
{
    j->lex = LLMR_LEX_OUT;

    if (llmr_yajl(j, (const unsigned char *) "\"", 1, j->str_start)
        != LLMR_OK)
    {
        return LLMR_ERROR;
    }

    return llmr_yajl(j, j->str, len, j->str_start + 1);
}


/*
 * A chunk of a split string: *p is where the body goes on after it, in
 * data, or data + len when the string goes on further; *seg is where
 * yajl's part of the chunk begins.
 */

static int
llmr_str_more(llmr_json_t *j, const unsigned char *data, size_t len,
    const unsigned char **p, const unsigned char **seg)
{
    int                   st;
    size_t                old, n;
    const unsigned char  *q;

    old = j->str_len;

    if (llmr_str_room(j, old + len) != LLMR_OK) {
        return LLMR_ERROR;
    }

    memcpy(j->str + old, data, len);
    j->str_len += len;

    st = llmr_str_check(j->str + j->str_done, j->str + j->str_len, &q,
                        &j->str_flags);

    switch (st) {

    case LLMR_STR_MORE:
        j->str_done = q - j->str;
        *p = data + len;
        *seg = *p;
        return LLMR_OK;

    case LLMR_STR_BAD:

        /* yajl says why, on the bytes as they came */

        *p = data;
        *seg = data;

        if (llmr_str_raw(j, old) != LLMR_OK) {
            return LLMR_ERROR;
        }

        j->lex = LLMR_LEX_RAW;
        return LLMR_OK;
    }

    n = q - j->str;
    *p = data + (n + 1 - old);

    if (j->str_flags & LLMR_STR_YAJL) {

        /* yajl's, in the chunks it came in (its errors' offsets tell) */

        *seg = data;
        return llmr_str_raw(j, old);
    }

    *seg = *p;
    j->lex = LLMR_LEX_OUT;

    return llmr_yajl_sub(j, j->str,
                         (j->str_flags & LLMR_STR_ESC)
                         ? llmr_str_decode(j->str, j->str, n) : n,
                         n, j->str_start + (off_t) n + 2);
}


/*
 * A chunk of the body, from offset j->pos, to yajl: long strings are
 * checked and decoded here, the rest goes to yajl in the segments between
 * them.  Only a string after a byte that may come before one in JSON (a
 * blank, ':', ',', '[', '{', or nothing) is taken: after anything else
 * (a number, a literal not ended, which yajl ends only with the next
 * byte, and invalid JSON) yajl must see it where it is to report the
 * error at the same byte.
 */

static int
llmr_json_lex_exact(llmr_json_t *j, const unsigned char *data, size_t len)
{
    int                   st;
    off_t                 at;
    size_t                n;
    unsigned              flags, prev;
    const unsigned char  *p, *end, *seg, *q, *s, *v;

    at = j->pos;
    p = data;
    end = data + len;

    seg = p;

    if (j->lex == LLMR_LEX_SPLIT) {
        if (llmr_str_more(j, data, len, &p, &seg) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    while (j->lex == LLMR_LEX_OUT) {
        q = llmr_quote(p, end);

        if (q == end) {
            break;
        }

        flags = 0;
        st = llmr_str_check(q + 1, end, &s, &flags);

        if (st == LLMR_STR_BAD) {
            j->lex = LLMR_LEX_RAW;
            break;
        }

        prev = (q > data) ? q[-1] : j->prev;

        if (!(prev == ':' || prev == ',' || prev == '[' || prev == '{'
              || prev == ' ' || prev == '\n' || prev == '\r'
              || prev == '\t' || prev == '\f' || prev == '\v' || prev == 0))
        {
            /* yajl's, and all of it, even split */

            if (st == LLMR_STR_MORE) {
                j->lex = LLMR_LEX_RAW;
                break;
            }

            p = s + 1;
            continue;
        }

        if (st == LLMR_STR_MORE) {
            if (llmr_yajl(j, seg, q - seg, at + (seg - data)) != LLMR_OK) {
                return LLMR_ERROR;
            }

            n = end - (q + 1);

            if (llmr_str_room(j, n) != LLMR_OK) {
                return LLMR_ERROR;
            }

            memcpy(j->str, q + 1, n);
            j->str_len = n;
            j->str_done = s - (q + 1);
            j->str_flags = flags;
            j->str_start = at + (q - data);
            j->lex = LLMR_LEX_SPLIT;

            seg = end;
            break;
        }

        n = s - (q + 1);

        if (n < LLMR_FAST_MIN || (flags & LLMR_STR_YAJL)) {
            p = s + 1;
            continue;
        }

        v = q + 1;

        if (flags & LLMR_STR_ESC) {
            if (llmr_str_room(j, n) != LLMR_OK) {
                return LLMR_ERROR;
            }

            v = j->str;
            n = llmr_str_decode(j->str, q + 1, n);
        }

        if (llmr_yajl(j, seg, q - seg, at + (seg - data)) != LLMR_OK
            || llmr_yajl_sub(j, v, n, s - (q + 1), at + (s + 1 - data))
               != LLMR_OK)
        {
            return LLMR_ERROR;
        }

        p = seg = s + 1;
    }

    if (len) {
        j->prev = end[-1];
    }

    return llmr_yajl(j, seg, end - seg, at + (seg - data));
}



static unsigned
llmr_hexval(unsigned c)
{
    if (c <= '9') {
        return (c - '0') & 0xf;
    }

    return ((c | 0x20) - 'a' + 10) & 0xf;
}


/*
 * Skips the rest of a long string up to its closing quote (returned, or
 * end), counting the bytes yajl_string_decode() would have produced:
 * \uXXXX is 1-3 bytes, a high surrogate and the \uXXXX after it are 4,
 * a high surrogate without one is '?'.
 */

static const unsigned char *
llmr_elide(llmr_json_t *j, const unsigned char *p, const unsigned char *end)
{
    unsigned              c;
    const unsigned char  *q, *b;

    q = NULL;

    while (p < end) {
        c = *p;

        if (j->esc == LLMR_ESC_TYPE) {
            p++;

            if (c == 'u') {
                j->esc = 4;
                j->hex = 0;

                if (j->hi == 1) {
                    j->hi = 2;
                }

                continue;
            }

            j->esc = 0;
            j->elided += 1 + (j->hi != 0);
            j->hi = 0;
            continue;
        }

        if (j->esc) {
            p++;
            j->hex = (j->hex << 4) | llmr_hexval(c);

            if (--j->esc) {
                continue;
            }

            if (j->hi == 2) {
                j->elided += 4;
                j->hi = 0;

            } else if ((j->hex & 0xfc00) == 0xd800) {
                j->hi = 1;

            } else {
                j->elided += (j->hex < 0x80) ? 1 : (j->hex < 0x800) ? 2 : 3;
            }

            continue;
        }

        if (c == '\\') {
            p++;
            j->esc = LLMR_ESC_TYPE;
            continue;
        }

        if (j->hi) {
            j->elided++;
            j->hi = 0;
        }

        if (c == '"') {
            return p;
        }

        /* plain bytes up to the next quote or backslash */
        if (q == NULL || q < p) {
            q = memchr(p, '"', end - p);

            if (q == NULL) {
                q = end;
            }
        }

        b = memchr(p, '\\', q - p);

        if (b == NULL) {
            b = q;
        }

        j->elided += b - p;
        p = b;
    }

    return end;
}


/* the first quote or backslash in [p, end), or end */

static const unsigned char *
llmr_plain(const unsigned char *p, const unsigned char *end)
{
    uint64_t  w, m;

    while (end - p >= 8) {
        memcpy(&w, p, 8);
        m = llmr_zero(w ^ llmr_bytes('"')) | llmr_zero(w ^ llmr_bytes('\\'));

        if (m) {
#ifdef llmr_first
            return p + llmr_first(m);
#else
            break;
#endif
        }

        p += 8;
    }

    while (p < end && *p != '"' && *p != '\\') {
        p++;
    }

    return p;
}


/*
 * LLMR_JSON_STRINGS_BOUNDED: the end of a string whose bytes yajl takes as
 * they are (no quote, backslash or control byte; its UTF-8 is not
 * checked), from p: the closing quote, or NULL for anything else (an
 * escape, a control byte, the end of the chunk) or past max bytes.
 */

static const unsigned char *
llmr_plain_string(const unsigned char *p, const unsigned char *end,
    size_t max)
{
    unsigned  i;
#if (defined __SSE2__)
    __m128i   v, quote, bslash, ctl;

    quote = _mm_set1_epi8('"');
    bslash = _mm_set1_epi8('\\');
    ctl = _mm_set1_epi8(0x1f);

    if ((size_t) (end - p) > max) {
        end = p + max + 1;
    }

    while (end - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);

        /* unsigned: x < 0x20 when min(x, 0x1f) == x */

        i = _mm_movemask_epi8(_mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                             _mm_cmpeq_epi8(v, bslash)),
                _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v)));

        if (i) {
            p += __builtin_ctz(i);
            return (*p == '"') ? p : NULL;
        }

        p += 16;
    }
#else
    (void) i;

    if ((size_t) (end - p) > max) {
        end = p + max + 1;
    }
#endif

    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20) {
        p++;
    }

    return (p < end && *p == '"') ? p : NULL;
}


/*
 * Hands JSON text to yajl, all of it but the tails of long strings (see
 * LLMR_JSON_STRING_MAX); the lexing state survives any chunking.  It is
 * kept in locals while the buffer is scanned, and yajl's callbacks never
 * look at it.
 */

static int
llmr_json_lex_bounded(llmr_json_t *j, const unsigned char *p, size_t len)
{
    size_t                run, slen;
    unsigned              c, lex, esc;
    const unsigned char  *end, *start, *q, *t, *lim;

    end = p + len;
    lex = j->lex;
    esc = j->esc;
    run = j->run;
    slen = j->slen;
    start = (lex == LLMR_LEX_ELIDE) ? NULL : p;

    while (p < end) {

        if (lex == LLMR_LEX_OUT) {
            /* structure, numbers, literals: up to the next string */
            q = llmr_quote(p, end);

            if (run + (q - p) > LLMR_JSON_TOKEN_MAX) {
                /* long enough to hold a long token: measure them */
                for ( /* void */ ; p < q; p++) {
                    run = llmr_json_token[*p] ? run + 1 : 0;

                    if (run > LLMR_JSON_TOKEN_MAX) {
                        return LLMR_ERROR;
                    }
                }

            } else if (q == end) {
                /* the token that may go on in the next buffer */
                for (t = q; t > p && llmr_json_token[t[-1]]; t--) {
                    /* void */
                }

                run = (q - t) + ((t == p) ? run : 0);
            }

            if (q == end) {
                break;
            }

            /*
             * A whole string of LLMR_FAST_MIN plain bytes or more, where a
             * string may stand: yajl parses "" for it and the callback
             * gets its bytes (yajl would look at each through a table).
             */

            if (q > p && start && q > start
                && (q[-1] == ':' || q[-1] == ',' || q[-1] == '['
                    || q[-1] == '{' || q[-1] == ' ' || q[-1] == '\n'
                    || q[-1] == '\r' || q[-1] == '\t')
                && end - q > LLMR_FAST_MIN
                && (t = llmr_plain_string(q + 1, end, LLMR_JSON_STRING_MAX))
                   != NULL
                && t - (q + 1) >= LLMR_FAST_MIN)
            {
                if (yajl_parse(j->yajl, start, q - start) != yajl_status_ok) {
                    return LLMR_ERROR;
                }

                j->sub = q + 1;
                j->sub_len = t - (q + 1);
                j->sub_set = 1;

                if (yajl_parse(j->yajl, (const unsigned char *) "\"\"", 2)
                    != yajl_status_ok)
                {
                    j->sub_set = 0;
                    return LLMR_ERROR;
                }

                j->sub_set = 0;

                p = t + 1;
                start = p;
                run = 0;
                continue;
            }

            p = q + 1;
            lex = LLMR_LEX_STR;
            slen = 0;
            run = 0;
        }

        if (lex == LLMR_LEX_STR && esc == 0 && slen < LLMR_JSON_STRING_MAX) {
            /* plain bytes up to a quote, a backslash or the cut */
            lim = end;

            if ((size_t) (end - p) > LLMR_JSON_STRING_MAX - slen) {
                lim = p + (LLMR_JSON_STRING_MAX - slen);
            }

            q = llmr_plain(p, lim);

            slen += q - p;
            p = q;

            if (p == lim) {
                continue;
            }

            slen++;

            if (*p++ == '"') {
                lex = LLMR_LEX_OUT;

            } else {
                esc = LLMR_ESC_TYPE;
            }

            continue;
        }

        switch (lex) {

        case LLMR_LEX_STR:
            if (esc) {
                c = *p++;
                slen++;
                esc = (esc == LLMR_ESC_TYPE) ? ((c == 'u') ? 4 : 0)
                                             : esc - 1;

            } else {
                /* LLMR_JSON_STRING_MAX bytes of it were handed over */
                lex = LLMR_LEX_WANT;
            }

            break;

        case LLMR_LEX_WANT:
            c = *p;

            if (c == '"') {
                p++;
                lex = LLMR_LEX_OUT;
                break;
            }

            if ((c & 0xc0) == 0x80) {
                /* inside a UTF-8 sequence */
                p++;
                break;
            }

            if (p > start && yajl_parse(j->yajl, start, p - start)
                             != yajl_status_ok)
            {
                return LLMR_ERROR;
            }

            start = NULL;
            lex = LLMR_LEX_ELIDE;
            j->elided = 0;
            j->hi = 0;
            break;

        default: /* LLMR_LEX_ELIDE */
            j->esc = esc;
            p = llmr_elide(j, p, end);
            esc = j->esc;

            if (p < end) {
                /* the closing quote goes to yajl, which then calls back */
                start = p++;
                lex = LLMR_LEX_OUT;
            }
        }
    }

    j->lex = lex;
    j->esc = esc;
    j->run = run;
    j->slen = slen;

    if (start && end > start
        && yajl_parse(j->yajl, start, end - start) != yajl_status_ok)
    {
        return LLMR_ERROR;
    }

    return LLMR_OK;
}


static int
llmr_json_parse(llmr_json_t *j, const unsigned char *data, size_t len)
{
    int       rc;
    unsigned  events;

    events = j->events;

    rc = (j->conf.strings == LLMR_JSON_STRINGS_YAJL)
         ? llmr_yajl(j, data, len, j->pos)
         : llmr_json_lex_exact(j, data, len);

    if (rc != LLMR_OK) {
        return LLMR_ERROR;
    }

    j->pos += len;
    j->quiet = (j->events == events) ? j->quiet + len : 0;

    return LLMR_OK;
}


int
llmr_json_feed(llmr_json_t *j, const unsigned char *data, size_t len)
{
    size_t          want, n;
    unsigned char  *p;

    j->fed += len;

    if (j->conf.strings == LLMR_JSON_STRINGS_BOUNDED) {
        return llmr_json_lex_bounded(j, data, len);
    }

    while (len) {
        want = j->quiet;

        if (want < LLMR_STAGE_MIN) {
            want = LLMR_STAGE_MIN;

        } else if (want > LLMR_STAGE_MAX) {
            want = LLMR_STAGE_MAX;
        }

        if (j->stage_len == 0 && (j->quiet < LLMR_STAGE_MIN || len >= want)) {
            return llmr_json_parse(j, data, len);
        }

        if (j->stage_size < want) {
            p = realloc(j->stage, want);
            if (p == NULL) {
                llmr_json_fail(j, LLMR_JSON_E_NOMEM, "out of memory");
                return LLMR_ERROR;
            }

            j->stage = p;
            j->stage_size = want;
        }

        n = want - j->stage_len;

        if (n > len) {
            n = len;
        }

        memcpy(j->stage + j->stage_len, data, n);
        j->stage_len += n;
        data += n;
        len -= n;

        if (j->stage_len >= want) {
            n = j->stage_len;
            j->stage_len = 0;

            if (llmr_json_parse(j, j->stage, n) != LLMR_OK) {
                return LLMR_ERROR;
            }
        }
    }

    return LLMR_OK;
}


int
llmr_json_finish(llmr_json_t *j)
{
    size_t       n;
    yajl_status  st;

    if (j->conf.strings == LLMR_JSON_STRINGS_BOUNDED) {
        /* a top-level number ends only here; a cut body never does */

        if (j->yajl == NULL
            || yajl_complete_parse(j->yajl) != yajl_status_ok)
        {
            return LLMR_ERROR;
        }

        j->closed = 1;
        return LLMR_OK;
    }

    if (j->stage_len) {
        n = j->stage_len;
        j->stage_len = 0;

        if (llmr_json_parse(j, j->stage, n) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    if (j->lex == LLMR_LEX_SPLIT
        && llmr_str_raw(j, j->str_len) != LLMR_OK)
    {
        /* a string the body does not end: yajl says so */
        return LLMR_ERROR;
    }

    if (llmr_yajl_handle(j) != LLMR_OK) {
        return LLMR_ERROR;
    }

    st = yajl_complete_parse(j->yajl);

    if (st != yajl_status_ok) {
        return llmr_yajl_error(j, st, NULL, 0);
    }

    return LLMR_OK;
}


int
llmr_json_value_end(llmr_json_t *j)
{
    return j->lex == LLMR_LEX_OUT
           && (j->run == 0
               || yajl_parse(j->yajl, (const unsigned char *) "\n", 1)
                  == yajl_status_ok);
}
