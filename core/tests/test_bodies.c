
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/bodies.h>
#include <llmr/train.h>

#include "tap.h"


static size_t log_escape(char *dst, const char *src, size_t len);
static size_t log_escape_json(char *dst, const char *src, size_t len);
static double classify_score(const char *body);
static int line_kind(llmr_bodies_t *b, const char *line);

static void test_unescape(void);
static void test_field(void);
static void test_lines(void);
static void test_read(void);
static void test_shares(void);


static const char  body_openai[] =
    "{\"model\":\"auto\",\"messages\":[{\"role\":\"system\",\"content\":"
    "\"Be terse.\\nNo \\\"fluff\\\".\"},{\"role\":\"user\",\"content\":"
    "\"Prove that the square root of 2 is irrational, caf\xc3\xa9 "
    "\\u00e9t\xc3\xa9 \\\\ done.\"}]}";

static const char  body_anthropic[] =
    "{\"model\":\"claude\",\"max_tokens\":64,\"messages\":[{\"role\":"
    "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hello there\"}]}]}";

static const char  body_gemini[] =
    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Design a "
    "multi-region ledger with exactly-once semantics.\"}]}]}";


int
main(void)
{
    test_unescape();
    test_field();
    test_lines();
    test_read();
    test_shares();

    return tap_done();
}


/* what nginx's access log writes for a variable with escape=default */

static size_t
log_escape(char *dst, const char *src, size_t len)
{
    size_t          i;
    unsigned char   c;
    char           *p;

    static const char  hex[] = "0123456789ABCDEF";

    p = dst;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];

        } else {
            *p++ = (char) c;
        }
    }

    return p - dst;
}


/* and with escape=json (ngx_escape_json()) */

static size_t
log_escape_json(char *dst, const char *src, size_t len)
{
    size_t          i;
    unsigned char   c;
    char           *p;

    static const char  hex[] = "0123456789abcdef";

    p = dst;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char) c;

        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else if (c < 0x20) {
            p += sprintf(p, "\\u00%c%c", hex[c >> 4], hex[c & 0xf]);

        } else {
            *p++ = (char) c;
        }
    }

    return p - dst;
}


static double
classify_score(const char *body)
{
    double           s;
    llmr_class_t     c;
    llmr_extract_t  *x;

    x = llmr_extract_create(NULL);
    if (x == NULL) {
        return -1;
    }

    s = -1;

    if (llmr_extract_feed(x, (const unsigned char *) body, strlen(body))
        == LLMR_OK
        && llmr_extract_finish(x) == LLMR_OK)
    {
        llmr_classify(NULL, llmr_extract_result(x), &c);
        s = c.score;
    }

    llmr_extract_destroy(x);

    return s;
}


/* a copy of the line, as the reader's buffer: it is unescaped in place */

static int
line_kind(llmr_bodies_t *b, const char *line)
{
    int    rc;
    char  *copy;

    copy = strdup(line);
    if (copy == NULL) {
        return LLMR_ERROR;
    }

    rc = llmr_bodies_line(b, (unsigned char *) copy, strlen(copy));
    free(copy);

    return rc;
}


static void
test_unescape(void)
{
    char           buf[256];
    ssize_t        n;
    unsigned char  u[64];

    n = llmr_log_unescape((unsigned char *) buf,
                          (const unsigned char *) SL("{\\x22a\\x22:\\x5Cn"
                                                     "\\xC3\\xA9\\x0a}"));
    ok(n == 11 && memcmp(buf, "{\"a\":\\n\xc3\xa9\n}", 11) == 0,
       "escape=default: quotes, backslash, UTF-8 and control bytes");

    n = llmr_log_unescape((unsigned char *) buf,
                          (const unsigned char *) SL("\\xc3\\xa9"));
    ok(n == 2 && memcmp(buf, "\xc3\xa9", 2) == 0, "lowercase hex too");

    n = llmr_log_unescape((unsigned char *) buf,
                          (const unsigned char *) SL("{\\\"a\\\":\\\\n\\/"
                                                     "\\b\\f\\n\\r\\t}"));
    ok(n == 14 && memcmp(buf, "{\"a\":\\n/\b\f\n\r\t}", 14) == 0,
       "escape=json: \\\" \\\\ \\/ and the control escapes");

    n = llmr_log_unescape((unsigned char *) buf,
                          (const unsigned char *) SL("\\u0001\\u00e9"
                                                     "\\u20ac\\ud83d\\ude00"));
    ok(n == 10 && memcmp(buf, "\x01\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                         10) == 0,
       "\\u: one, two, three bytes and a surrogate pair");

    memcpy(u, SL("ab\\x22cd\\\"e\\u00e9f"));
    n = llmr_log_unescape(u, u, sizeof("ab\\x22cd\\\"e\\u00e9f") - 1);
    ok(n == 10 && memcmp(u, "ab\"cd\"e\xc3\xa9" "f", 10) == 0,
       "in place");

    n = llmr_log_unescape((unsigned char *) buf,
                          (const unsigned char *) SL("plain text"));
    buf[n < 0 ? 0 : n] = '\0';
    is_str(buf, "plain text", "nothing to undo");

    is_int(llmr_log_unescape((unsigned char *) buf,
                             (const unsigned char *) SL("a\\x4")), -1,
           "\\x with one digit");
    is_int(llmr_log_unescape((unsigned char *) buf,
                             (const unsigned char *) SL("\\xZZ")), -1,
           "\\x with no hex digit");
    is_int(llmr_log_unescape((unsigned char *) buf,
                             (const unsigned char *) SL("a\\q")), -1,
           "an unknown escape");
    is_int(llmr_log_unescape((unsigned char *) buf,
                             (const unsigned char *) SL("a\\")), -1,
           "a backslash at the end");
    is_int(llmr_log_unescape((unsigned char *) buf,
                             (const unsigned char *) SL("\\u00e")), -1,
           "a short \\u");
    is_int(llmr_log_unescape((unsigned char *) buf,
                             (const unsigned char *) SL("\\udc00")), -1,
           "a lone low surrogate");
    is_int(llmr_log_unescape((unsigned char *) buf,
                             (const unsigned char *) SL("\\ud83dx")), -1,
           "a high surrogate alone");
    is_int(llmr_log_unescape((unsigned char *) buf,
                             (const unsigned char *) SL("\\ud83d\\u0041")),
           -1, "a high surrogate and no low one");
}


static void
test_field(void)
{
    size_t  s, e;

#define field_is(line, want, name)                                            \
    ok(llmr_log_field((const unsigned char *) SL(line), &s, &e) == LLMR_OK \
       && e - s == sizeof(want) - 1                                        \
       && memcmp(line + s, want, e - s) == 0, name)

    field_is("1.2.3.4 - - [x] \"POST /v1 HTTP/1.1\" 200 \"{\\x22a\\x22:1}\"",
             "{\\x22a\\x22:1}", "escape=default: the last quoted field");
    field_is("1.2.3.4 \"POST /\" \"{\\x22a\\x22:1}\" 0.004",
             "{\\x22a\\x22:1}", "fields after it that are not quoted");
    field_is("{\"time\":\"t\",\"body\":\"{\\\"a\\\":\\\"b\\\\\\\"\\\"}\"}",
             "{\\\"a\\\":\\\"b\\\\\\\"\\\"}",
             "escape=json: the last member's value, escaped quotes inside");
    field_is("x \"a\\\\\"", "a\\\\", "a quote after an escaped backslash");
    field_is("x \"\"", "", "an empty field");
    field_is("x \"-\"", "-", "nothing logged");

    is_int(llmr_log_field((const unsigned char *) SL("no quotes"), &s, &e),
           LLMR_DECLINED, "no quoted field");
    is_int(llmr_log_field((const unsigned char *) SL("one \" quote"), &s,
                          &e),
           LLMR_DECLINED, "one quote");
    is_int(llmr_log_field((const unsigned char *) SL("x \\\"a\\\""), &s, &e),
           LLMR_DECLINED, "escaped quotes only");

#undef field_is
}


static void
test_lines(void)
{
    int             i;
    char            line[2048], *p;
    size_t          n;
    double          want[3];
    llmr_bodies_t  *b;

    static const char  *bodies[] = { body_openai, body_anthropic,
                                     body_gemini };

    b = llmr_bodies_create(NULL, 0);
    ok(b != NULL, "a reader");

    if (b == NULL) {
        return;
    }

    for (i = 0; i < 3; i++) {
        want[i] = classify_score(bodies[i]);
    }

    ok(want[0] > 0 && want[1] > 0 && want[2] > 0, "the bodies classify");

    /* the bodies as they are, then logged both ways */

    for (i = 0; i < 3; i++) {
        is_int(line_kind(b, bodies[i]), LLMR_BODY_JSON,
               "body %d: a JSON body", i);
    }

    for (i = 0; i < 3; i++) {
        p = line + sprintf(line, "10.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "
                           "\"POST /v1/chat/completions HTTP/1.1\" 200 "
                           "512 \"");
        p += log_escape(p, bodies[i], strlen(bodies[i]));
        p += sprintf(p, "\" 0.012");

        is_int(line_kind(b, line), LLMR_BODY_LOGGED,
               "body %d: an escape=default log line", i);
    }

    for (i = 0; i < 3; i++) {
        p = line + sprintf(line, "{\"time\":\"2024-10-10T13:55:36+00:00\","
                           "\"status\":\"200\",\"body\":\"");
        p += log_escape_json(p, bodies[i], strlen(bodies[i]));
        p += sprintf(p, "\"}\r");

        is_int(line_kind(b, line), LLMR_BODY_LOGGED,
               "body %d: an escape=json log line (CRLF)", i);
    }

    is_int(b->n, 9, "nine scores");

    for (i = 0; i < 9 && b->n == 9; i++) {
        ok(b->score[i] == want[i % 3],
           "score %d: as llmr_classify() scores the body (%.6f)", i,
           b->score[i]);
    }

    /* what yields no body */

    n = b->n;

    is_int(line_kind(b, "   "), LLMR_BODY_BLANK, "a blank line");
    is_int(line_kind(b, "junk"), LLMR_BODY_NONE, "junk: no body");
    is_int(line_kind(b, "1.2.3.4 \"GET / HTTP/1.1\" 200 \"-\""),
           LLMR_BODY_NONE, "escape=default, no body logged");
    is_int(line_kind(b, "{\"time\":\"t\",\"body\":\"\"}"), LLMR_BODY_NONE,
           "escape=json, no body logged");
    is_int(line_kind(b, "{\"not\":\"a body\"}"), LLMR_BODY_BAD,
           "a JSON object that is no body");
    is_int(line_kind(b, "{\"messages\":[{\"role\":\"user\""), LLMR_BODY_BAD,
           "a truncated JSON body");
    is_int(line_kind(b, "1.2.3.4 \"POST /\" 200 \"{\\x22model\\x22:\""),
           LLMR_BODY_BAD, "a logged body cut short");
    is_int(line_kind(b, "1.2.3.4 \"POST /\" 200 \"{\\x2\""), LLMR_BODY_BAD,
           "a broken escape");
    is_int(line_kind(b, "1.2.3.4 \"POST /\" 200 \"hello\""), LLMR_BODY_BAD,
           "a logged field that is no JSON");

    is_int(b->n, n, "no score for any of them");
    ok(b->st.lines == 17 && b->st.json == 3 && b->st.logged == 6
       && b->st.none == 3 && b->st.bad == 5 && b->st.long_lines == 0,
       "counted: 17 lines, 3 JSON, 6 logged, 3 without, 5 bad");

    llmr_bodies_destroy(b);
}


static void
test_read(void)
{
    int             i, rc;
    char            err[128];
    FILE           *f;
    double          want;
    llmr_bodies_t  *b;

    /* a reader of 200-byte lines: longer ones are skipped */

    b = llmr_bodies_create(NULL, 200);
    f = tmpfile();
    ok(b != NULL && f != NULL, "a reader of 200-byte lines, a file");

    if (b == NULL || f == NULL) {
        llmr_bodies_destroy(b);

        if (f) {
            fclose(f);
        }

        return;
    }

    fprintf(f, "%s\n\n", body_anthropic);

    for (i = 0; i < 1000; i++) {
        fputc('x', f);
    }

    fprintf(f, "\n%s\r\n", body_anthropic);

    /* exactly 200 bytes: read */

    fprintf(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"");

    for (i = 0; i < 200 - 39 - 4; i++) {
        fputc('a', f);
    }

    fprintf(f, "\"}]}\n");

    /* 201 bytes, and the last line without a newline */

    fprintf(f, "{\"messages\":[{\"role\":\"user\",\"content\":\"");

    for (i = 0; i < 200 - 39 - 3; i++) {
        fputc('a', f);
    }

    fprintf(f, "\"}]}\n%s", body_gemini);
    rewind(f);

    rc = llmr_bodies_read(b, f, err, sizeof(err));
    fclose(f);

    is_int(rc, LLMR_OK, "read");
    is_int(b->n, 4, "four bodies");
    ok(b->st.lines == 6 && b->st.json == 4 && b->st.long_lines == 2
       && b->st.none == 0 && b->st.bad == 0,
       "6 lines: 4 bodies, 2 over 200 bytes (%zu %zu %zu)", b->st.lines,
       b->st.json, b->st.long_lines);

    want = classify_score(body_gemini);
    ok(b->n == 4 && b->score[3] == want,
       "the last line, without a newline, scored");

    llmr_bodies_destroy(b);

    /* a file with no body at all */

    b = llmr_bodies_create(NULL, 0);
    f = tmpfile();

    if (b && f) {
        fprintf(f, "junk\n\n{\"a\":1}\n");
        rewind(f);
        rc = llmr_bodies_read(b, f, err, sizeof(err));

        ok(rc == LLMR_OK && b->n == 0 && b->st.lines == 2
           && b->st.none == 1 && b->st.bad == 1,
           "no body: no error here, nothing scored, both lines counted");
    }

    if (f) {
        fclose(f);
    }

    llmr_bodies_destroy(b);
}


static void
test_shares(void)
{
    int     i, tier, count[LLMR_TIER_N];
    double  s[1000], t[LLMR_THRESHOLDS_N];

    llmr_classifier_t  *cl;

    static const double  shares[] = { 0.15, 0.35, 0.25, 0.15, 0.10 };

    for (i = 0; i < 1000; i++) {
        s[(i * 7) % 1000] = (i + 0.5) / 1000;
    }

    is_int(llmr_thresholds_from_scores(s, 1000, shares, t), LLMR_OK,
           "thresholds for 15/35/25/15/10 %% of 1000 scores");
    ok(fabs(t[0] - 0.1505) < 1e-9 && fabs(t[1] - 0.5005) < 1e-9
       && fabs(t[2] - 0.7505) < 1e-9 && fabs(t[3] - 0.9005) < 1e-9,
       "at the quantiles (%g %g %g %g)", t[0], t[1], t[2], t[3]);

    cl = llmr_classifier_create(NULL);
    ok(cl && llmr_classifier_set_thresholds(cl, t, LLMR_THRESHOLDS_N)
             == LLMR_OK, "a classifier with them");

    for (i = 0; i < LLMR_TIER_N; i++) {
        count[i] = 0;
    }

    for (i = 0; cl && i < 1000; i++) {
        tier = llmr_score_tier(cl, s[i]);
        count[tier]++;
    }

    ok(count[0] == 150 && count[1] == 350 && count[2] == 250
       && count[3] == 150 && count[4] == 100,
       "which gives the shares asked (%d %d %d %d %d)", count[0], count[1],
       count[2], count[3], count[4]);

    llmr_classifier_destroy(cl);

    is_int(llmr_thresholds_from_scores(s, 0, shares, t), LLMR_ERROR,
           "no scores");
}
