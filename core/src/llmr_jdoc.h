
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_JDOC_H_INCLUDED_
#define _LLMR_JDOC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <llmr/core.h>

#include "llmr_json.h"          /* llmr_json_value_e */


/*
 * A JSON document as a tree, for the translators: the request and the
 * answers they rewrite are small next to the cost of a tree built by
 * malloc(), so the nodes come from blocks kept across documents and a
 * node's text points into the parsed bytes (which must outlive the tree).
 *
 * A string's text is kept as it is in the source, between its quotes,
 * escapes and all ("esc" says whether there are any): it is copied to
 * the output as it came, and decoded only where a translator needs its
 * value.  A number's and a literal's text is their source text; a map's
 * or an array's is the whole value, brackets included, to be copied as
 * one piece (a tool's JSON schema, a "stop" list).
 *
 * The parser takes RFC 8259 JSON and nothing else (no comments, no
 * trailing commas, no leading zeros, escapes and control characters
 * checked); it does not check UTF-8 (the request extractor did, and an
 * answer's bytes pass through as the provider sent them).
 */


#define LLMR_JDOC_DEPTH_MAX     64


typedef struct llmr_jv_s  llmr_jv_t;

struct llmr_jv_s {
    const char                 *s;          /* text, see above */
    size_t                      len;
    const char                 *key;        /* a map member's key, raw */
    size_t                      key_len;
    llmr_jv_t                  *child;      /* first member or element */
    llmr_jv_t                  *next;       /* the next one of its parent */
    uint32_t                    n;          /* members or elements */
    unsigned char               type;       /* llmr_json_value_e */
    unsigned char               esc;        /* the string has escapes */
    unsigned char               key_esc;
    unsigned char               boolean;    /* a bool's value */
};


typedef struct llmr_jblock_s  llmr_jblock_t;

typedef struct {
    llmr_jblock_t              *blocks;     /* kept across documents */
    llmr_jblock_t              *current;
    size_t                      used;       /* nodes of current used */
    llmr_jv_t                  *root;
    unsigned                    max_depth;
    size_t                      nodes;      /* of this document */
    size_t                      max_nodes;  /* 0: no limit */
    const char                 *error;      /* why the parse failed */
    size_t                      error_at;
} llmr_jdoc_t;


void llmr_jdoc_init(llmr_jdoc_t *d);
void llmr_jdoc_free(llmr_jdoc_t *d);

/* LLMR_OK, or LLMR_ERROR with d->error and d->error_at set */
int llmr_jdoc_parse(llmr_jdoc_t *d, const char *s, size_t len);

/* memory held, bytes */
size_t llmr_jdoc_memory(const llmr_jdoc_t *d);

/* a map's member by key (decoded comparison), NULL when absent or null */
llmr_jv_t *llmr_jv_get(const llmr_jv_t *map, const char *key);

/* a string equal to lit (decoded comparison) */
int llmr_jv_is(const llmr_jv_t *v, const char *lit);

/* the decoded length of a string value (its bytes once unescaped) */
size_t llmr_jv_decoded_len(const llmr_jv_t *v);

/*
 * A string's decoded value into buf (at most size bytes, cut at a whole
 * character); returns the length written.
 */
size_t llmr_jv_decode(const llmr_jv_t *v, char *buf, size_t size);

/* a number's value, def when v is not a number */
double llmr_jv_number(const llmr_jv_t *v, double def);
int64_t llmr_jv_int(const llmr_jv_t *v, int64_t def);

#define llmr_jv_is_type(v, t)   ((v) != NULL && (v)->type == (t))


/*
 * The output side: a growing buffer (kept across documents, freed above
 * "keep" bytes by llmr_jbuf_reset()) and the writers the translators
 * need.  A failed allocation sets "failed" and every later write is a
 * no-op: check once at the end.
 */

typedef struct {
    char                       *data;
    size_t                      len;
    size_t                      size;
    size_t                      max;        /* 0: no limit; past it: failed */
    unsigned                    failed:1;
} llmr_jbuf_t;


void llmr_jbuf_init(llmr_jbuf_t *b, size_t max);
void llmr_jbuf_reset(llmr_jbuf_t *b, size_t keep);
void llmr_jbuf_free(llmr_jbuf_t *b);

void llmr_jbuf_add(llmr_jbuf_t *b, const char *s, size_t len);
#define llmr_jbuf_lit(b, s)     llmr_jbuf_add(b, s, sizeof(s) - 1)
void llmr_jbuf_char(llmr_jbuf_t *b, char c);

/* a JSON string of len bytes, quoted and escaped */
void llmr_jbuf_str(llmr_jbuf_t *b, const char *s, size_t len);
#define llmr_jbuf_cstr(b, s)    llmr_jbuf_str(b, s, strlen(s))

/* a value's source text: a string quoted again, anything else as it is */
void llmr_jbuf_value(llmr_jbuf_t *b, const llmr_jv_t *v);

/* a value as a JSON string: a string as is, anything else its text quoted */
void llmr_jbuf_value_as_str(llmr_jbuf_t *b, const llmr_jv_t *v);

void llmr_jbuf_int(llmr_jbuf_t *b, int64_t n);

/* "key": (a comma first when sep is set) */
void llmr_jbuf_key(llmr_jbuf_t *b, int sep, const char *key);


#endif /* _LLMR_JDOC_H_INCLUDED_ */
