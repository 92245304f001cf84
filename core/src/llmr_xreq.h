
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_XREQ_H_INCLUDED_
#define _LLMR_XREQ_H_INCLUDED_


#include <llmr/core.h>
#include <llmr/api.h>
#include <llmr/extract.h>
#include <llmr/translate.h>

#include "llmr_jdoc.h"


/*
 * The request translator's inside: one parser per client API fills the
 * intermediate request below, one writer per target API reads it.
 *
 * Texts are kept as they were in the body, escapes and all, so that a
 * prompt is copied, never decoded and encoded again: an llmr_xs_t is the
 * raw text between a JSON string's quotes (or a piece of it cut at an
 * unescaped character, which is still valid string text).
 */


typedef struct {
    const char                 *s;
    size_t                      len;
} llmr_xs_t;


typedef enum {
    LLMR_XP_TEXT = 0,           /* a: the text */
    LLMR_XP_IMAGE,              /* a: base64 data, b: media type */
    LLMR_XP_URL,                /* a: an image's URL */
    LLMR_XP_CALL,               /* a: id, b: name, args */
    LLMR_XP_RESULT              /* a: the call's id, b: its name, v */
} llmr_xpart_e;


typedef enum {
    LLMR_XA_MAP = 0,            /* v: the arguments' map */
    LLMR_XA_STR,                /* v: a JSON string holding a map */
    LLMR_XA_EMPTY               /* an empty string: no arguments */
} llmr_xargs_e;


typedef enum {
    LLMR_XR_NONE = 0,           /* no content */
    LLMR_XR_STR,                /* v: a string */
    LLMR_XR_PARTS,              /* v: an array of text parts or blocks */
    LLMR_XR_OBJ                 /* v: Gemini's response map */
} llmr_xres_e;


typedef struct {
    unsigned                    type:4;     /* llmr_xpart_e */
    unsigned                    args:2;     /* llmr_xargs_e */
    unsigned                    res:2;      /* llmr_xres_e */
    unsigned                    is_error:1;
    unsigned                    id_gen:1;   /* the id is "call_<gen>" */
    unsigned                    has_name:1; /* b is set (a result's) */
    unsigned                    answered:1; /* a call, while parsing */
    uint32_t                    gen;
    llmr_xs_t                   a;
    llmr_xs_t                   b;
    const llmr_jv_t            *v;
    size_t                      off;        /* decoded arguments: arena */
    size_t                      len;
} llmr_xpart_t;


typedef struct {
    unsigned                    assistant:1;
    uint32_t                    first;      /* its parts */
    uint32_t                    n;
} llmr_xmsg_t;


typedef struct {
    llmr_xs_t                   name;
    const llmr_jv_t            *desc;       /* a string or NULL */
    const llmr_jv_t            *schema;     /* a map or NULL */
    unsigned                    openapi:1;  /* Gemini's upper-case types */
} llmr_xtool_t;


typedef enum {
    LLMR_XTC_UNSET = 0,
    LLMR_XTC_AUTO,
    LLMR_XTC_NONE,
    LLMR_XTC_REQUIRED,
    LLMR_XTC_NAMED              /* tc_name */
} llmr_xtc_e;


typedef enum {
    LLMR_XJ_UNSET = 0,
    LLMR_XJ_TEXT,
    LLMR_XJ_OBJECT,
    LLMR_XJ_SCHEMA              /* json_schema, json_name, json_strict */
} llmr_xjson_e;


/* the parameters: each a number node of the body, NULL when absent */

typedef struct {
    const llmr_jv_t            *max_tokens;
    const llmr_jv_t            *temperature;
    const llmr_jv_t            *top_p;
    const llmr_jv_t            *top_k;
    const llmr_jv_t            *n;
    const llmr_jv_t            *seed;
    const llmr_jv_t            *presence;
    const llmr_jv_t            *frequency;
} llmr_xparams_t;


struct llmr_xreq_s {
    int                         format;     /* llmr_format_e, 0: none */
    int                         api;        /* the client's */
    const char                 *blocker[LLMR_API_N];

    llmr_jdoc_t                 doc;
    llmr_jdoc_t                 scratch;    /* checks decoded arguments */

    llmr_xs_t                  *system;
    uint32_t                    nsystem;
    uint32_t                    system_size;

    llmr_xmsg_t                *msgs;
    uint32_t                    nmsgs;
    uint32_t                    msgs_size;

    llmr_xpart_t               *parts;
    uint32_t                    nparts;
    uint32_t                    parts_size;
    uint32_t                    ncalls;     /* for generated ids */

    llmr_xtool_t               *tools;
    uint32_t                    ntools;
    uint32_t                    tools_size;

    llmr_xparams_t              p;
    const llmr_jv_t            *stop;       /* a string or strings */
    const llmr_jv_t            *user;       /* a string */
    llmr_xs_t                   tc_name;
    const llmr_jv_t            *json_schema;
    const llmr_jv_t            *json_name;
    const llmr_jv_t            *json_strict;

    unsigned                    tool_choice:3;      /* llmr_xtc_e */
    unsigned                    json:2;             /* llmr_xjson_e */
    unsigned                    json_openapi:1;
    unsigned                    no_parallel:1;
    unsigned                    stream:1;
    unsigned                    include_usage:1;

    llmr_jbuf_t                 arena;      /* decoded tool arguments */
    llmr_jbuf_t                 out;

    char                        unknown[48];    /* an unknown key */
    char                        error[160];
};


/* the parsers, one per client API */
int llmr_xreq_parse_openai(llmr_xreq_t *x, const llmr_jv_t *root);
int llmr_xreq_parse_anthropic(llmr_xreq_t *x, const llmr_jv_t *root);
int llmr_xreq_parse_gemini(llmr_xreq_t *x, const llmr_jv_t *root);

/* OpenAI's Responses API: a client's format only (OpenAI serves it) */
int llmr_xreq_parse_responses(llmr_xreq_t *x, const llmr_jv_t *root);

/* the writers, one per target API, into x->out */
void llmr_xreq_write_openai(llmr_xreq_t *x, const llmr_xreq_conf_t *conf);
void llmr_xreq_write_anthropic(llmr_xreq_t *x,
    const llmr_xreq_conf_t *conf);
void llmr_xreq_write_gemini(llmr_xreq_t *x, const llmr_xreq_conf_t *conf);


/* shared by the parsers */

int llmr_xreq_fail(llmr_xreq_t *x, const char *field, const char *why);

/* the first blocker for each API of the mask but the client's own */
void llmr_xreq_block(llmr_xreq_t *x, unsigned apis, const char *name);

#define llmr_xreq_block_others(x, name)                                       \
    llmr_xreq_block(x, LLMR_API_ALL, name)

llmr_xmsg_t *llmr_xreq_msg(llmr_xreq_t *x, int assistant);
llmr_xpart_t *llmr_xreq_part(llmr_xreq_t *x, int type);
llmr_xtool_t *llmr_xreq_tool(llmr_xreq_t *x);

/*
 * An OpenAI function tool (chat completions keep it under "function", the
 * Responses API at the top): checked and added; field names it in errors.
 */
int llmr_xreq_function(llmr_xreq_t *x, const char *field,
    const llmr_jv_t *f);

/*
 * OpenAI's tool_choice: "auto", "none", "required", or a function, whose
 * name the caller finds (it is not at the same place in both APIs);
 * anything else blocks the other APIs.
 */
void llmr_xreq_openai_tc(llmr_xreq_t *x, const llmr_jv_t *tc,
    const llmr_jv_t *name);
int llmr_xreq_sys(llmr_xreq_t *x, const llmr_jv_t *text);

/* a string node's raw text */
#define llmr_xs(v)              ((llmr_xs_t) { (v)->s, (v)->len })

/* a number member, LLMR_ERROR when it is there and not a number */
int llmr_xreq_num(llmr_xreq_t *x, const llmr_jv_t *map, const char *key,
    const llmr_jv_t **v);

/*
 * A "data:<media>;base64,<data>" URL into an image part, else an URL
 * part (which blocks Gemini); a data URL of a non-image type blocks the
 * others.
 */
int llmr_xreq_image_url(llmr_xreq_t *x, const llmr_jv_t *url);

/*
 * An arguments string decoded into the arena when it holds a JSON map;
 * else the call blocks the APIs that take a map.
 */
int llmr_xreq_args_str(llmr_xreq_t *x, llmr_xpart_t *call,
    const llmr_jv_t *s);

/* the call a result answers: by id when given, else the latest by name */
void llmr_xreq_match(llmr_xreq_t *x, llmr_xpart_t *res);


/* shared by the writers */

void llmr_xreq_xs(llmr_jbuf_t *b, llmr_xs_t s);     /* quoted */
void llmr_xreq_id(llmr_jbuf_t *b, const llmr_xpart_t *p);
void llmr_xreq_args_map(llmr_xreq_t *x, const llmr_xpart_t *call);
void llmr_xreq_args_json_str(llmr_xreq_t *x, const llmr_xpart_t *call);
void llmr_xreq_result_str(llmr_jbuf_t *b, const llmr_xpart_t *res);

/* a JSON schema; Gemini's OpenAPI types ("OBJECT") lower-cased */
void llmr_xreq_schema(llmr_jbuf_t *b, const llmr_jv_t *v, int openapi);

/* a stop list as an array of strings */
void llmr_xreq_stop(llmr_jbuf_t *b, const llmr_jv_t *stop);

/* the system texts as one JSON string, joined by blank lines */
void llmr_xreq_system_str(llmr_xreq_t *x);

/*
 * Gemini's keys come in both spellings, "maxOutputTokens" and
 * "max_output_tokens": a member by its camel-case name, and a member's
 * key (camel-cased) among known ones, -1 when unknown.
 */
llmr_jv_t *llmr_xreq_gget(const llmr_jv_t *map, const char *camel);
int llmr_xreq_key(llmr_xreq_t *x, const llmr_jv_t *member,
    const char *const *known, int snake);

/*
 * Each member of a map, by its index in known (llmr_xreq_key(); null
 * members are absent, unknown ones block, a key said twice counts once:
 * the first, as llmr_jv_get() says), to member(); *seen gets a bit for
 * each index met.  LLMR_OK, or member()'s LLMR_ERROR.
 */
typedef int (*llmr_xreq_member_pt)(llmr_xreq_t *x, int k, llmr_jv_t *m,
    void *data);

int llmr_xreq_members(llmr_xreq_t *x, const llmr_jv_t *map,
    const char *const *known, int snake, llmr_xreq_member_pt member,
    void *data, uint64_t *seen);


#endif /* _LLMR_XREQ_H_INCLUDED_ */
