
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_JSON_H_INCLUDED_
#define _LLMR_JSON_H_INCLUDED_


#include <sys/types.h>
#include <stddef.h>

#include <yajl/yajl_parse.h>

#include <llmr/core.h>


/*
 * The JSON stream reader under the request extractor (llmr_extract.c)
 * and the usage reader (llmr_usage.c): yajl, a lexer in front of it for
 * long strings, the blocks yajl allocates from, and the nesting both
 * follow.  A reader's semantics get the values of the containers they
 * follow through an llmr_json_handler_t; everything under a value they
 * ignore (llmr_json_skip()) is counted, never handed to them.
 *
 * Long strings are where a stream reader spends its time and memory, and
 * the two readers want different things of them:
 *
 *   LLMR_JSON_STRINGS_EXACT: every string is checked by yajl's rules and
 *   decoded, the long ones here, 8 or 16 bytes at a time, rather than by
 *   yajl's lexer (the prompt is read whole); errors and their offsets are
 *   yajl's own.  Bodies fed in small chunks are staged.
 *
 *   LLMR_JSON_STRINGS_YAJL: the same, all through yajl's lexer (the
 *   reference path of the tests).
 *
 *   LLMR_JSON_STRINGS_BOUNDED: strings are not validated, a long one
 *   reaches yajl only up to LLMR_JSON_STRING_MAX bytes and the rest is
 *   counted (answers may be megabytes, only their size matters), and a
 *   number or a literal longer than LLMR_JSON_TOKEN_MAX is invalid: memory
 *   stays bounded whatever the body.  A whole string of 64 bytes up to
 *   LLMR_JSON_STRING_MAX that yajl would take as it is (no escape, no
 *   control byte) is found 16 bytes at a time and yajl parses "" for it.
 */


#define LLMR_JSON_STRINGS_EXACT     0
#define LLMR_JSON_STRINGS_YAJL      1
#define LLMR_JSON_STRINGS_BOUNDED   2

/* the bounded lexer's cuts, see above */
#define LLMR_JSON_STRING_MAX        4096
#define LLMR_JSON_TOKEN_MAX         1024

/*
 * A yajl handle cannot be reset, so each body (or bad event) gets a new
 * one; its handful of allocations come from blocks kept across them, up
 * to this many, of at most LLMR_JSON_BLOCK_MAX bytes (larger blocks go
 * back to free()).
 */
#define LLMR_JSON_BLOCKS            12
#define LLMR_JSON_BLOCK_MAX         16384

#define LLMR_JSON_ERRBUF_SIZE       192


typedef enum {
    LLMR_V_NULL = 0,
    LLMR_V_BOOL,
    LLMR_V_NUMBER,
    LLMR_V_STRING,
    LLMR_V_MAP,
    LLMR_V_ARRAY
} llmr_json_value_e;


typedef enum {
    LLMR_JSON_E_NONE = 0,
    LLMR_JSON_E_SYNTAX,                 /* malformed or truncated JSON */
    LLMR_JSON_E_UTF8,                   /* invalid UTF-8 in a string */
    LLMR_JSON_E_DEPTH,                  /* deeper than max_depth */
    LLMR_JSON_E_NOMEM,
    LLMR_JSON_E_STOPPED                 /* a handler returned 0 */
} llmr_json_err_e;


/*
 * The semantics.  value gets every value of a followed container (vt is
 * llmr_json_value_e; s and len a number's text or a decoded string, len
 * a boolean's value), key every key, end the end of every container that
 * was not skipped.  Each returns 1, or 0 to stop the parse.
 */
typedef struct {
    int   (*value)(void *ctx, int vt, const unsigned char *s, size_t len);
    int   (*key)(void *ctx, const unsigned char *s, size_t len);
    int   (*end)(void *ctx);
} llmr_json_handler_t;


typedef struct {
    unsigned                    strings;    /* LLMR_JSON_STRINGS_* */
    unsigned                    max_depth;
    unsigned                    blocks;     /* kept, LLMR_JSON_BLOCKS most */
    unsigned                    validate:1; /* yajl checks UTF-8 */
    unsigned                    multiple:1; /* values one after another */
} llmr_json_conf_t;


/* the header of a block handed to yajl, keeping malloc()'s alignment */
typedef union {
    size_t                      size;
    long double                 align;
} llmr_json_block_t;


typedef struct {
    llmr_json_conf_t            conf;
    const llmr_json_handler_t  *handler;
    void                       *ctx;

    yajl_handle                 yajl;
    yajl_alloc_funcs            alloc;
    llmr_json_block_t          *cache[LLMR_JSON_BLOCKS];
    unsigned                    ncache;
    size_t                      mem;        /* bytes of blocks held */
    size_t                      peak;

    int                         err;        /* llmr_json_err_e */
    unsigned                    depth;
    unsigned                    skip;       /* depth in a skipped value */
    unsigned                    events;     /* parser callbacks so far */
    unsigned                    closed:1;   /* a top-level value ended */

    off_t                       fed;        /* bytes fed */
    off_t                       base;       /* offset of the chunk parsed */
    size_t                      quiet;      /* bytes fed without events */
    unsigned char              *stage;
    size_t                      stage_len;
    size_t                      stage_size;

    /* the lexer in front of yajl */
    unsigned                    lex;        /* llmr_json_lex_e */

    /* LLMR_JSON_STRINGS_EXACT */
    unsigned                    str_flags;  /* LLMR_STR_ESC, _YAJL */
    unsigned char               prev;       /* the last byte lexed */
    off_t                       pos;        /* offset of the chunk lexed */
    off_t                       str_start;  /* of a split string's quote */
    unsigned char              *str;        /* its bytes; decoded values */
    size_t                      str_len;
    size_t                      str_size;
    size_t                      str_done;   /* bytes of it checked */
    const unsigned char        *sub;        /* what yajl's "" stands for */
    size_t                      sub_len;
    size_t                      sub_raw;    /* its length in the body */
    unsigned                    sub_set:1;

    /* LLMR_JSON_STRINGS_BOUNDED */
    unsigned                    esc;        /* LLMR_ESC_TYPE, hex left */
    unsigned                    hi;         /* surrogate pairing, elided */
    unsigned                    hex;
    size_t                      slen;       /* raw bytes of the string */
    size_t                      run;        /* bytes of a number, literal */
    size_t                      elided;     /* decoded bytes skipped */
    size_t                      full;       /* a string's decoded length */

    char                        errbuf[LLMR_JSON_ERRBUF_SIZE];
} llmr_json_t;


/* a reader with no handle yet; blocks are kept from here on */
void llmr_json_init(llmr_json_t *j, const llmr_json_conf_t *conf,
    const llmr_json_handler_t *handler, void *ctx);

/*
 * A new value or body: yajl's handle is made if there is none (or kept),
 * the lexer and the nesting start anew.  LLMR_OK or LLMR_ERROR (memory).
 */
int llmr_json_start(llmr_json_t *j);

/* a new body: the handle goes, the blocks stay, nothing is fed yet */
void llmr_json_reset(llmr_json_t *j);

/* yajl's handle goes (its blocks to the cache) */
void llmr_json_end(llmr_json_t *j);

/* everything, blocks included */
void llmr_json_free(llmr_json_t *j);

/*
 * LLMR_OK or LLMR_ERROR; j->err and j->errbuf say why (the bounded lexer
 * leaves no message).
 */
int llmr_json_feed(llmr_json_t *j, const unsigned char *data, size_t len);

/* the end of the body: what is staged or split, yajl's end of input */
int llmr_json_finish(llmr_json_t *j);

/*
 * The bounded lexer between two values: whether the last one is whole,
 * outside any string, a number or literal at its end ended by a LF.
 */
int llmr_json_value_end(llmr_json_t *j);


/* the body's offset yajl is at, in a callback: right after the token */

static inline off_t
llmr_json_offset(const llmr_json_t *j)
{
    return j->base + (off_t) yajl_get_bytes_consumed(j->yajl);
}


/* a value the semantics do not follow: containers are skipped whole */

static inline int
llmr_json_skip(llmr_json_t *j, int vt)
{
    if (vt == LLMR_V_MAP || vt == LLMR_V_ARRAY) {
        j->skip = 1;
    }

    return 1;
}


#endif /* _LLMR_JSON_H_INCLUDED_ */
