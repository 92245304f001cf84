
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_BODIES_H_INCLUDED_
#define _LLMR_BODIES_H_INCLUDED_


#include <stdio.h>

#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/classify.h>


/*
 * An operator's logged requests, for llmr calibrate-thresholds --bodies:
 * each line is either one JSON request body (what llmr classify reads,
 * one a line), or an nginx access log line with the body logged by
 * $request_body as the last quoted field:
 *
 *   log_format llm_bodies '$remote_addr [$time_local] "$request" '
 *                         '$status "$request_body"';
 *   log_format llm_json escape=json '{"time":"$time_iso8601",'
 *                                   '"body":"$request_body"}';
 *
 * With escape=default (the first) nginx writes '"', '\' and the bytes
 * below 0x20 or above 0x7e as \xHH; with escape=json, JSON's string
 * escapes.  The two never meet (escape=default writes '\' itself as
 * \x5C), so one reader undoes either.  escape=none cannot be read back:
 * the body's own quotes end the field.
 *
 * A line that is a JSON object is first tried as a body as it is (an
 * escape=json log line is one too, and is not a body), then its last
 * quoted field.  Each body goes through the module's extraction and
 * classification (llmr_extract, llmr_classify) with cl: its score is
 * kept.  A line without a body, with one that does not read, or longer
 * than line_max is counted and skipped; blank lines are ignored.
 */


#define LLMR_BODY_LINE_MAX      (4 * 1024 * 1024)


typedef enum {
    LLMR_BODY_BLANK = 0,
    LLMR_BODY_JSON,                     /* the line is the body */
    LLMR_BODY_LOGGED,                   /* the body of a log line */
    LLMR_BODY_NONE,                     /* no body on the line */
    LLMR_BODY_BAD,                      /* a body that does not read */
    LLMR_BODY_LONG                      /* longer than line_max */
} llmr_body_line_e;


typedef struct {
    size_t                      lines;      /* not counting blank ones */
    size_t                      json;
    size_t                      logged;
    size_t                      none;
    size_t                      bad;
    size_t                      long_lines;
} llmr_bodies_stats_t;


typedef struct {
    llmr_bodies_stats_t         st;         /* since the last reset */

    double                     *score;      /* every body's, in order */
    size_t                      n;
    size_t                      cap;

    const llmr_classifier_t    *cl;
    llmr_extract_t             *x;
    size_t                      line_max;
    unsigned char              *buf;        /* line_max + 1 bytes */
} llmr_bodies_t;


/* cl NULL: the built-in classifier; line_max 0: LLMR_BODY_LINE_MAX */
llmr_bodies_t *llmr_bodies_create(const llmr_classifier_t *cl,
    size_t line_max);
void llmr_bodies_destroy(llmr_bodies_t *b);

/*
 * Reads every line of f, adding to the scores and the counts (the
 * counts reset first).  LLMR_ERROR with err set on a read error or
 * without memory; a line that yields no body is no error.
 */
int llmr_bodies_read(llmr_bodies_t *b, FILE *f, char *err, size_t errlen);

/*
 * One line (without its newline), which may be unescaped in place:
 * its llmr_body_line_e, counted; a body's score added.  LLMR_ERROR
 * without memory.
 */
int llmr_bodies_line(llmr_bodies_t *b, unsigned char *line, size_t len);

/*
 * The last quoted field of a log line, quotes excluded: [*start, *end).
 * A quote after an odd number of backslashes is inside a field
 * (escape=json).  LLMR_DECLINED when the line has no quoted field.
 */
int llmr_log_field(const unsigned char *line, size_t len, size_t *start,
    size_t *end);

/*
 * Undoes nginx's log escaping (escape=default's \xHH, or escape=json's
 * \" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs too) of src into dst,
 * which may be src itself: the result is never longer.  The length, or
 * -1 on a malformed escape.
 */
ssize_t llmr_log_unescape(unsigned char *dst, const unsigned char *src,
    size_t len);


#endif /* _LLMR_BODIES_H_INCLUDED_ */
