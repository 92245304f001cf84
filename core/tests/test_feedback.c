
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <math.h>

#include <llmr/core.h>
#include <llmr/feedback.h>
#include <llmr/registry.h>
#include <llmr/usage.h>

#include "tap.h"


/*
 * The feedback loop's core: the explicit feedback parser (every field
 * wrong in turn, bounds, JSON and UTF-8 errors), implicit quality on
 * canned response results, the bucket mapping, and the learning rule:
 * promotion after N poor reports, none below N, the gain check,
 * demotion with hysteresis, bounds, groups, exploration, and whole runs
 * of the loop that must settle without flapping.
 *
 * Bodies are written with ' for " to stay readable.
 */


static char *
json(const char *s)
{
    char    *p, *q;
    size_t   n;

    n = strlen(s);
    p = malloc(n + 1);

    for (q = p; *s; s++) {
        *q++ = (*s == '\'') ? '"' : *s;
    }

    *q = '\0';

    return p;
}


static int
parse(const char *body, llmr_feedback_t *fb, char *err, size_t errlen)
{
    int    rc;
    char  *b;

    b = json(body);
    rc = llmr_feedback_parse(b, strlen(b), fb, err, errlen);
    free(b);

    return rc;
}


/* a body fit for a test name: control bytes as '.', cut */

static const char *
printable(const char *s, char *buf, size_t size)
{
    size_t  i;

    for (i = 0; s[i] && i + 1 < size; i++) {
        buf[i] = ((unsigned char) s[i] < 0x20) ? '.' : s[i];
    }

    buf[i] = '\0';

    return buf;
}


static void
test_parse_good(void)
{
    int               i;
    char              err[256], id[80], body[256];
    llmr_feedback_t   fb;

    is_int(parse("{'request_id':'0f3a9c','quality':0.75,'success':true,"
                 "'rating':4}", &fb, err, sizeof(err)), LLMR_OK,
           "every field (%s)", err);
    is_str(fb.request_id, "0f3a9c", "request_id");
    is_int(fb.id_len, 6, "id_len");
    ok(fb.has_quality && fabs(fb.quality - 0.75) < 1e-12, "quality");
    ok(fb.has_success && fb.success, "success");
    ok(fb.has_rating && fb.rating == 4, "rating");
    ok(fabs(llmr_feedback_quality(&fb) - 0.75) < 1e-12,
       "quality wins over success and rating");
    is_str(err, "", "no error message");

    is_int(parse("{'success':false,'request_id':'a'}", &fb, err,
                 sizeof(err)), LLMR_OK, "success alone, any key order");
    ok(fb.has_success && !fb.success && !fb.has_quality && !fb.has_rating,
       "success false");
    ok(llmr_feedback_quality(&fb) == 0, "success false is quality 0");

    is_int(parse("{'request_id':'a','success':true,'rating':1}", &fb, err,
                 sizeof(err)), LLMR_OK, "success and rating");
    ok(llmr_feedback_quality(&fb) == 1, "success wins over rating");

    for (i = 1; i <= 5; i++) {
        snprintf(body, sizeof(body), "{'request_id':'r','rating':%d}", i);
        is_int(parse(body, &fb, err, sizeof(err)), LLMR_OK, "rating %d", i);
        ok(fabs(llmr_feedback_quality(&fb) - (i - 1) / 4.0) < 1e-12,
           "rating %d is quality %.2f", i, (i - 1) / 4.0);
    }

    is_int(parse("{'request_id':'r','rating':4.0}", &fb, err, sizeof(err)),
           LLMR_OK, "rating 4.0 is an integer");
    is_int(fb.rating, 4, "rating 4.0 is 4");
    is_int(parse("{'request_id':'r','rating':5e0}", &fb, err, sizeof(err)),
           LLMR_OK, "rating 5e0");

    is_int(parse("{'request_id':'r','quality':0}", &fb, err, sizeof(err)),
           LLMR_OK, "quality 0");
    is_int(parse("{'request_id':'r','quality':1}", &fb, err, sizeof(err)),
           LLMR_OK, "quality 1");
    is_int(parse("{'request_id':'r','quality':1e-1}", &fb, err,
                 sizeof(err)), LLMR_OK, "quality 1e-1");
    ok(fabs(fb.quality - 0.1) < 1e-12, "quality 1e-1 is 0.1");
    is_int(parse("{'request_id':'r','quality':-0.0}", &fb, err,
                 sizeof(err)), LLMR_OK, "quality -0.0");

    is_int(parse(" \n\t{ 'request_id' : 'r' , 'quality' : 0.5 }\r\n ", &fb,
                 err, sizeof(err)), LLMR_OK, "blanks around and inside");

    is_int(parse("{'request_id':'r','quality':0.5,'comment':'great answer',"
                 "'meta':{'a':[1,2,{'b':null}],'quality':'not ours'},"
                 "'tags':['x','y'],'n':12,'ok':true,'z':null}", &fb, err,
                 sizeof(err)), LLMR_OK, "other keys ignored, nested too");
    ok(fabs(fb.quality - 0.5) < 1e-12,
       "a nested \"quality\" is not the field");

    is_int(parse("{'request_id':'r','quality':null,'success':true,"
                 "'rating':null}", &fb, err, sizeof(err)), LLMR_OK,
           "null counts as left out");
    ok(!fb.has_quality && !fb.has_rating && fb.has_success,
       "only success is given");

    memset(id, 'a', 64);
    id[64] = '\0';
    snprintf(body, sizeof(body), "{'request_id':'%s','success':true}", id);
    is_int(parse(body, &fb, err, sizeof(err)), LLMR_OK, "a 64-byte id");
    is_int(fb.id_len, 64, "its length");

    is_int(parse("{'request_id':'AZaz09._-','success':true}", &fb, err,
                 sizeof(err)), LLMR_OK, "every kind of id character");

    is_int(parse("{'request_id':'r','success':true}", &fb, NULL, 0),
           LLMR_OK, "no error buffer");
}


static void
test_parse_bad(void)
{
    int               rc;
    char              err[256], name[128], *big, *p;
    size_t            i, n;
    llmr_feedback_t   fb;

    static const struct {
        const char  *body;
        const char  *error;
    } bad[] = {

        /* request_id */
        { "{'quality':0.5}", "\"request_id\" is required" },
        { "{'request_id':12,'quality':0.5}", "\"request_id\" must be a st" },
        { "{'request_id':true,'quality':0.5}", "\"request_id\" must be a" },
        { "{'request_id':null,'quality':0.5}", "\"request_id\" must be a" },
        { "{'request_id':{},'quality':0.5}", "\"request_id\" must not be" },
        { "{'request_id':['a'],'quality':0.5}", "\"request_id\" must not" },
        { "{'request_id':'','quality':0.5}", "\"request_id\" is empty" },
        { "{'request_id':'a b','quality':0.5}", "\"request_id\" may only" },
        { "{'request_id':'a/b','quality':0.5}", "\"request_id\" may only" },
        { "{'request_id':'caf\xc3\xa9','quality':0.5}",
          "\"request_id\" may only" },
        { "{'request_id':'a\\u0000','quality':0.5}",
          "\"request_id\" may only" },
        { "{'request_id':'a','request_id':'b','quality':0.5}",
          "\"request_id\" is given twice" },

        /* quality */
        { "{'request_id':'r','quality':'0.5'}", "\"quality\" must be a n" },
        { "{'request_id':'r','quality':true}", "\"quality\" must be a n" },
        { "{'request_id':'r','quality':-0.01}", "\"quality\" must be a n" },
        { "{'request_id':'r','quality':1.0001}", "\"quality\" must be a n" },
        { "{'request_id':'r','quality':1e400}", "\"quality\" must be a n" },
        { "{'request_id':'r','quality':{'v':1}}", "\"quality\" must not" },
        { "{'request_id':'r','quality':[0.5]}", "\"quality\" must not" },
        { "{'request_id':'r','quality':0.5,'quality':0.6}",
          "\"quality\" is given twice" },
        { "{'request_id':'r','quality':0.0000000000000000000000000000000000"
          "0000000000000000000000000000001}", "\"quality\" must be a n" },

        /* success */
        { "{'request_id':'r','success':1}", "\"success\" must be true or" },
        { "{'request_id':'r','success':'true'}", "\"success\" must be tr" },
        { "{'request_id':'r','success':[true]}", "\"success\" must not" },
        { "{'request_id':'r','success':{}}", "\"success\" must not" },

        /* rating */
        { "{'request_id':'r','rating':0}", "\"rating\" must be an integer" },
        { "{'request_id':'r','rating':6}", "\"rating\" must be an integer" },
        { "{'request_id':'r','rating':4.5}", "\"rating\" must be an integ" },
        { "{'request_id':'r','rating':-3}", "\"rating\" must be an integ" },
        { "{'request_id':'r','rating':'4'}", "\"rating\" must be an integ" },
        { "{'request_id':'r','rating':true}", "\"rating\" must be an integ" },
        { "{'request_id':'r','rating':[4]}", "\"rating\" must not" },

        /* none of them */
        { "{'request_id':'r'}", "one of \"quality\", \"success\" or" },
        { "{'request_id':'r','quality':null}", "one of \"quality\"" },
        { "{'request_id':'r','score':0.5}", "one of \"quality\"" },

        /* the body */
        { "", "the body is empty" },
        { " \r\n\t ", "the body is empty" },
        { "[{'request_id':'r','quality':1}]",
          "the body must be a JSON object, not an array" },
        { "'r'", "the body must be a JSON object, not a string" },
        { "1", "the body must be a JSON object, not a number" },
        { "true", "the body must be a JSON object, not a boolean" },
        { "null", "the body must be a JSON object, not null" },
        { "{'request_id':'r','quality':0.5", "invalid JSON" },
        { "{'request_id':'r','quality':0.5}}", "invalid JSON" },
        { "{'request_id':'r','quality':0.5} {}", "invalid JSON" },
        { "{'request_id':'r','quality':.5}", "invalid JSON" },
        { "{'request_id':'r',}", "invalid JSON" },
        { "{request_id:'r','quality':0.5}", "invalid JSON" },
        { "{'request_id':'r','quality':0.5,'x':'\xff'}", "invalid JSON" },
        { "{'request_id':'r','quality':0.5,'x':'\xc3'}", "invalid JSON" },
        { "{'request_id':'r','quality':0.5,'x':[[[[[[[[1]]]]]]]]}",
          "the body nests deeper than 8 levels" },
        { "{'request_id':'r','quality':0.5,'x':{'a':{'b':{'c':{'d':{'e':"
          "{'f':{'g':{}}}}}}}}}", "the body nests deeper than 8 levels" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&fb, 0x5a, sizeof(fb));
        strcpy(err, "unset");

        rc = parse(bad[i].body, &fb, err, sizeof(err));

        ok(rc == LLMR_ERROR && strncmp(err, bad[i].error,
                                       strlen(bad[i].error)) == 0
           && strchr(err, '\n') == NULL,
           "%s: %s", printable(bad[i].body, name, sizeof(name)), err);
        ok(fb.id_len == 0 && !fb.has_quality && !fb.has_success
           && !fb.has_rating, "the result is zeroed");
    }

    /* nesting of 8 is fine, 9 is not; deep nesting stops early */

    is_int(parse("{'request_id':'r','quality':0.5,'x':[[[[[[[1]]]]]]]}",
                 &fb, err, sizeof(err)), LLMR_OK, "nesting 8 (%s)", err);

    n = 1000000;
    big = malloc(n);
    memset(big, '[', n);
    is_int(llmr_feedback_parse(big, LLMR_FEEDBACK_MAX_BODY, &fb, err,
                               sizeof(err)), LLMR_ERROR,
           "64 KB of '[': an error");
    ok(strstr(err, "must be a JSON object") != NULL, "not an object (%s)",
       err);

    /* the size bound: 64 KB of body at most */

    p = big;
    p += sprintf(p, "{\"request_id\":\"r\",\"quality\":0.5,\"pad\":\"");
    memset(p, 'x', n - (p - big));
    n = LLMR_FEEDBACK_MAX_BODY;
    memcpy(big + n - 2, "\"}", 2);
    is_int(llmr_feedback_parse(big, n, &fb, err, sizeof(err)), LLMR_OK,
           "a body of exactly 64 KB (%s)", err);

    memcpy(big + n - 2, "xx", 2);
    memcpy(big + n - 1, "\"}", 2);
    is_int(llmr_feedback_parse(big, n + 1, &fb, err, sizeof(err)),
           LLMR_ERROR, "a byte more: an error");
    is_str(err, "the body is larger than 65536 bytes", "the message");

    is_int(llmr_feedback_parse(big, (size_t) 1 << 40, &fb, err, sizeof(err)),
           LLMR_ERROR, "a huge length is refused before reading");

    free(big);

    /* a small error buffer gets a cut, terminated message */

    is_int(parse("{'request_id':'r'}", &fb, err, 8), LLMR_ERROR,
           "small error buffer");
    ok(strlen(err) > 0 && strlen(err) <= 7, "cut to the buffer");

    is_int(parse("{'request_id':'r'}", &fb, NULL, 0), LLMR_ERROR,
           "no error buffer");

    memset(&fb, 0, sizeof(fb));
    ok(llmr_feedback_quality(&fb) == -1, "no quality in an empty report");
}


/* implicit quality */

static void
result_init(llmr_usage_result_t *u, const char *head)
{
    memset(u, 0, sizeof(llmr_usage_result_t));

    u->input_tokens = 100;
    u->output_tokens = 300;
    u->cached_tokens = -1;
    u->cache_write_tokens = -1;
    u->reasoning_tokens = -1;
    u->finish = LLMR_FINISH_STOP;
    u->done = 1;
    u->complete = 1;

    if (head) {
        u->answer_head_len = strlen(head);
        memcpy(u->answer_head, head, u->answer_head_len + 1);
        u->text_bytes = 1200;
    }
}


static void
test_implicit(void)
{
    size_t                i;
    char                  buf[128];
    double                q, want;
    unsigned              sig;
    llmr_usage_t         *r;
    llmr_usage_result_t   u;

    static const char  good[] = "The answer is 42: the integral splits "
                                "into two parts, each of which ...";

    static const struct {
        const char  *head;
        unsigned     sig;
    } phrases[] = {
        { "I'm sorry, but I cannot help with that.", LLMR_SIG_REFUSAL },
        { "I CANNOT do that.", LLMR_SIG_REFUSAL },
        { "Sorry, I can\xe2\x80\x99t help with this request.",
          LLMR_SIG_REFUSAL },
        { "i can't assist with that", LLMR_SIG_REFUSAL },
        { "I am unable to browse the web.", LLMR_SIG_REFUSAL },
        { "As an AI, I have no opinions.", LLMR_SIG_REFUSAL },
        { "As a language model I can't...", LLMR_SIG_REFUSAL },
        { "Hmm. I'm not sure, but it may be 7.", LLMR_SIG_UNCERTAIN },
        { "I don\xe2\x80\x99t know the exact figure.", LLMR_SIG_UNCERTAIN },
        { "It is hard to say.", LLMR_SIG_UNCERTAIN },
        { "I am not certain; perhaps 3.", LLMR_SIG_UNCERTAIN },
        { "I'm not sure. I cannot verify it.",
          LLMR_SIG_UNCERTAIN|LLMR_SIG_REFUSAL },
        { "I\xe2\x80\x99m unable to open links.", LLMR_SIG_REFUSAL },
        { "IN SHORT, I AM UNABLE TO HELP.", LLMR_SIG_REFUSAL },
        { "Noted. Not entirely sure, though.", LLMR_SIG_UNCERTAIN },

        /* word boundaries and near misses */
        { "Ask as an aide would: the plan is ...", 0 },
        { "Hi cannot-be-empty", 0 },
        { "I cannotice", 0 },
        { "Wii cannot run it", 0 },
        { "I'm sure: it is 4.", 0 },
        { "I can help with that: first ...", 0 },
        { "I can\xe2\x80\x98t say", 0 },
        { "", 0 }
    };

    result_init(&u, good);
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_COMPLEX, -1, &sig);
    ok(q == 1.0 && sig == 0, "a good answer: 1.0, no signal");

    q = llmr_implicit_quality(&u, 0, LLMR_TIER_COMPLEX, -1, NULL);
    ok(q == 1.0, "status unknown, signals not wanted");

    /* errors and cut responses: nothing to say */

    q = llmr_implicit_quality(&u, 429, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == -1 && sig == LLMR_SIG_ERROR, "429: no sample, error");
    q = llmr_implicit_quality(&u, 503, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == -1 && sig == LLMR_SIG_ERROR, "503: no sample, error");
    q = llmr_implicit_quality(&u, 400, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == -1 && sig == LLMR_SIG_ERROR, "400: no sample, error");

    u.error = 1;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == -1 && sig == LLMR_SIG_ERROR, "an error object in a 200");

    result_init(&u, good);
    u.invalid = 1;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == -1 && sig == LLMR_SIG_CUT, "unreadable body: cut");

    result_init(&u, good);
    u.done = 0;
    u.finish = LLMR_FINISH_NONE;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == -1 && sig == LLMR_SIG_CUT, "a stream cut short: cut");

    u.finish = LLMR_FINISH_STOP;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == 1.0 && sig == 0, "no end event but a finish reason: fine");

    /* empty */

    result_init(&u, NULL);
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == LLMR_IMPLICIT_EMPTY && sig == LLMR_SIG_EMPTY, "empty: 0.1");

    u.finish = LLMR_FINISH_TOOL_CALLS;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_EXPERT, -1, &sig);
    ok(q == 1.0 && sig == 0, "a tool call without text is an answer");

    /* refusal */

    result_init(&u, good);
    u.refusal = 1;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == LLMR_IMPLICIT_REFUSAL && sig == LLMR_SIG_REFUSAL,
       "the provider's refusal: 0.2");

    result_init(&u, NULL);
    u.finish = LLMR_FINISH_CONTENT_FILTER;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == LLMR_IMPLICIT_EMPTY
       && sig == (LLMR_SIG_REFUSAL|LLMR_SIG_EMPTY),
       "content filter, no text: refusal and empty, the lower wins");

    for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
        result_init(&u, phrases[i].head);
        q = llmr_implicit_quality(&u, 200, LLMR_TIER_SIMPLE, -1, &sig);
        llmr_signals_format(sig, buf, sizeof(buf));

        want = (phrases[i].sig & LLMR_SIG_REFUSAL) ? LLMR_IMPLICIT_REFUSAL
               : (phrases[i].sig & LLMR_SIG_UNCERTAIN)
                 ? LLMR_IMPLICIT_UNCERTAIN : 1.0;

        ok(sig == phrases[i].sig && q == want, "\"%s\": %.1f [%s]",
           phrases[i].head, q, buf);
    }

    /* truncated */

    result_init(&u, good);
    u.truncated = 1;
    u.finish = LLMR_FINISH_LENGTH;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_COMPLEX, -1, &sig);
    ok(q == LLMR_IMPLICIT_TRUNCATED && sig == LLMR_SIG_TRUNCATED,
       "max_tokens hit: 0.5");

    result_init(&u, "I'm not sure");
    u.text_bytes = 12;
    u.truncated = 1;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_EXPERT, 4, &sig);
    ok(q == LLMR_IMPLICIT_TRUNCATED
       && sig == (LLMR_SIG_TRUNCATED|LLMR_SIG_UNCERTAIN),
       "truncated and uncertain: the minimum, both signals");

    /* short */

    result_init(&u, "Yes.");
    u.text_bytes = 4;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_SIMPLE, -1, &sig);
    ok(q == 1.0 && sig == 0, "a short answer to a simple task is fine");

    q = llmr_implicit_quality(&u, 200, LLMR_TIER_MODERATE, -1, &sig);
    ok(q == LLMR_IMPLICIT_SHORT && sig == LLMR_SIG_SHORT,
       "1 token for a moderate task (512 expected): short");

    u.text_bytes = 128;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_MODERATE, -1, &sig);
    ok(q == 1.0, "32 tokens for a moderate task: not short");

    u.text_bytes = 124;
    q = llmr_implicit_quality(&u, 200, LLMR_TIER_MODERATE, -1, &sig);
    ok(q == LLMR_IMPLICIT_SHORT, "31 tokens: short");

    q = llmr_implicit_quality(&u, 200, LLMR_TIER_EXPERT, 64, &sig);
    ok(q == 1.0, "31 tokens when max_tokens is 64: not short");

    q = llmr_implicit_quality(&u, 200, LLMR_TIER_EXPERT, -1, &sig);
    ok(q == LLMR_IMPLICIT_SHORT, "31 tokens for an expert task: short");

    q = llmr_implicit_quality(&u, 200, 17, -1, &sig);
    ok(q == 1.0, "a tier out of range is never short");

    /* the format */

    is_int(llmr_signals_format(0, buf, sizeof(buf)), 0, "no signal: \"\"");
    is_str(buf, "", "no signal: empty string");
    llmr_signals_format(LLMR_SIG_SHORT|LLMR_SIG_ERROR|LLMR_SIG_TRUNCATED,
                        buf, sizeof(buf));
    is_str(buf, "error,truncated,short", "names in bit order");
    llmr_signals_format(0x7f, buf, sizeof(buf));
    is_str(buf, "error,truncated,empty,refusal,uncertain,short,cut",
           "every signal");
    llmr_signals_format(LLMR_SIG_ERROR|LLMR_SIG_TRUNCATED, buf, 10);
    is_str(buf, "error", "cut on a name boundary");
    is_int(llmr_signals_format(LLMR_SIG_ERROR, buf, 0), 0, "size 0");

    /* from the real response reader */

    r = llmr_usage_create(LLMR_FMT_OPENAI_CHAT);
    ok(r != NULL, "a response reader");

    if (r) {
        static const char  resp[] =
            "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{"
            "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
            "\"I\\u2019m sorry, but I can\\u2019t help with that.\"},"
            "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,"
            "\"completion_tokens\":12,\"total_tokens\":21}}";

        llmr_usage_feed(r, (const unsigned char *) resp, sizeof(resp) - 1);
        llmr_usage_finish(r);
        q = llmr_implicit_quality(llmr_usage_result(r), 200,
                                  LLMR_TIER_SIMPLE, -1, &sig);
        ok(q == LLMR_IMPLICIT_REFUSAL && sig == LLMR_SIG_REFUSAL,
           "an OpenAI refusal read by the reader: 0.2 (%u)", sig);
        llmr_usage_destroy(r);
    }
}


/* buckets */

static void
test_buckets(void)
{
    int  d, s, b, bd, bs, seen[LLMR_BUCKETS], good;

    memset(seen, 0, sizeof(seen));
    good = 1;

    for (d = 0; d < LLMR_DOMAIN_N; d++) {
        for (s = 0; s < LLMR_SCORE_BUCKETS; s++) {
            b = llmr_bucket(d, (s + 0.5) / LLMR_SCORE_BUCKETS);
            llmr_bucket_parts(b, &bd, &bs);

            if (b < 0 || b >= LLMR_BUCKETS || seen[b] || bd != d
                || bs != s)
            {
                good = 0;
            }

            if (b >= 0 && b < LLMR_BUCKETS) {
                seen[b] = 1;
            }
        }
    }

    ok(good, "every domain and quintile: a distinct bucket, round trip");
    is_int(LLMR_BUCKETS, LLMR_DOMAIN_N * 5, "50 buckets");

    is_int(llmr_bucket(LLMR_DOMAIN_MATH, 0), LLMR_DOMAIN_MATH * 5,
           "score 0: quintile 0");
    is_int(llmr_bucket(LLMR_DOMAIN_MATH, 0.1999) % 5, 0, "0.1999: 0");
    is_int(llmr_bucket(LLMR_DOMAIN_MATH, 0.2) % 5, 1, "0.2: 1");
    is_int(llmr_bucket(LLMR_DOMAIN_MATH, 0.8) % 5, 4, "0.8: 4");
    is_int(llmr_bucket(LLMR_DOMAIN_MATH, 0.99999) % 5, 4, "0.99999: 4");
    is_int(llmr_bucket(LLMR_DOMAIN_MATH, 1.0) % 5, 4, "1: 4");
    is_int(llmr_bucket(LLMR_DOMAIN_MATH, 7.5) % 5, 4, "7.5: clamped to 4");
    is_int(llmr_bucket(LLMR_DOMAIN_MATH, -3) % 5, 0, "-3: clamped to 0");
    is_int(llmr_bucket(LLMR_DOMAIN_MATH, NAN) % 5, 0, "NaN: 0");
    is_int(llmr_bucket(LLMR_DOMAIN_MATH, INFINITY) % 5, 4, "inf: 4");
    is_int(llmr_bucket(-1, 0.5), 2, "domain -1: general");
    is_int(llmr_bucket(LLMR_DOMAIN_N, 0.5), 2, "domain out of range: general");

    llmr_bucket_parts(-1, &bd, &bs);
    ok(bd == -1 && bs == -1, "bucket -1: no parts");
    llmr_bucket_parts(LLMR_BUCKETS, &bd, &bs);
    ok(bd == -1 && bs == -1, "bucket 50: no parts");
    llmr_bucket_parts(LLMR_BUCKETS - 1, &bd, &bs);
    ok(bd == LLMR_DOMAIN_N - 1 && bs == 4, "the last bucket");
}


/* the learning rule */

static void
add(llmr_bucket_stats_t *s, int tier, double quality, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        llmr_bucket_stats_add(s, tier, quality, 1);
    }
}


static void
test_learn_conf(void)
{
    llmr_learn_conf_t    c;
    llmr_bucket_stats_t  s;

    llmr_learn_conf_init(&c);

    ok(c.min_samples == 5 && c.low == 0.6 && c.high == 0.85
       && c.demote_samples == 20 && c.max_offset == 2 && c.explore == 0.05
       && c.implicit_weight == 0.3 && c.gain == 0.1,
       "defaults: 5, 0.6, 0.85, 20, 2, 5%%, 0.3, 0.1");
    ok(c.group[0] == 0 && c.group[1] == 1 && c.group[2] == 2
       && c.group[3] == 3 && c.group[4] == 4, "every tier its own group");

    memset(&s, 0, sizeof(s));
    llmr_bucket_stats_add(&s, 2, 0.5, 0.3);
    llmr_bucket_stats_add(&s, 2, 1.0, 1);
    ok(fabs(s.weight[2] - 1.3) < 1e-12 && fabs(s.quality[2] - 1.15) < 1e-12,
       "stats: weighted sums");

    llmr_bucket_stats_add(&s, 5, 0.5, 1);
    llmr_bucket_stats_add(&s, -1, 0.5, 1);
    llmr_bucket_stats_add(&s, 2, 1.5, 1);
    llmr_bucket_stats_add(&s, 2, -0.5, 1);
    llmr_bucket_stats_add(&s, 2, NAN, 1);
    llmr_bucket_stats_add(&s, 2, 0.5, 0);
    llmr_bucket_stats_add(&s, 2, 0.5, NAN);
    ok(fabs(s.weight[2] - 1.3) < 1e-12 && fabs(s.quality[2] - 1.15) < 1e-12,
       "stats: bad samples are ignored");
}


static void
test_promote(void)
{
    int                  i, off;
    llmr_learn_conf_t    c;
    llmr_bucket_stats_t  s;

    llmr_learn_conf_init(&c);

    /* N bad reports promote; fewer do not */

    memset(&s, 0, sizeof(s));

    for (i = 1; i <= 5; i++) {
        add(&s, LLMR_TIER_SIMPLE, 0, 1);
        off = llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0);

        if (i < 5) {
            is_int(off, 0, "%d bad reports: no promotion", i);

        } else {
            is_int(off, 1, "5 bad reports: promoted one tier");
        }
    }

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.6, 50);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "mean exactly low: no promotion");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 1, 1);
    add(&s, LLMR_TIER_SIMPLE, 0, 5);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 1,
           "6 samples, mean 0.17: promoted");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 1, 3);
    add(&s, LLMR_TIER_SIMPLE, 0, 3);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "6 samples, mean 0.5: within a standard error of low");

    add(&s, LLMR_TIER_SIMPLE, 1, 12);
    add(&s, LLMR_TIER_SIMPLE, 0, 12);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 1,
           "30 samples, mean 0.5: promoted");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 1, 4);
    add(&s, LLMR_TIER_SIMPLE, 0, 2);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "6 samples, mean 0.67: not promoted");

    /* weights: implicit samples count for 0.3 each */

    memset(&s, 0, sizeof(s));

    for (i = 0; i < 16; i++) {
        llmr_bucket_stats_add(&s, LLMR_TIER_SIMPLE, 0.1, c.implicit_weight);
    }

    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "16 implicit samples weigh 4.8: not yet");

    llmr_bucket_stats_add(&s, LLMR_TIER_SIMPLE, 0.1, c.implicit_weight);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 1,
           "17 weigh 5.1: promoted");

    /* evidence at other tiers does not count for this one */

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_TRIVIAL, 0, 10);
    add(&s, LLMR_TIER_MODERATE, 0, 10);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "poor quality at other tiers: no promotion");

    /* a promoted bucket keeps climbing while it stays poor, to the bound */

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.2, 5);
    add(&s, LLMR_TIER_MODERATE, 0.2, 5);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 1,
           "as poor one tier up, 5 samples each: too few to tell");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.2, 50);
    add(&s, LLMR_TIER_MODERATE, 0.2, 50);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "as poor one tier up, 50 samples each: not promoted (gain)");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.2, 500);
    add(&s, LLMR_TIER_MODERATE, 0.35, 500);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 1,
           "better by 0.15 one tier up: promoted");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.2, 5);
    add(&s, LLMR_TIER_MODERATE, 0.35, 5);
    add(&s, LLMR_TIER_COMPLEX, 0.1, 4);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 2,
           "poor at +1, +2 unseen: promoted again");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 1,
           "+1 better by 0.15: promoted to it");

    add(&s, LLMR_TIER_COMPLEX, 0, 1);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 1,
           "+2 seen 5 times and worse: stays at +1");

    add(&s, LLMR_TIER_COMPLEX, 1, 5);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 2), 2,
           "at +2, poor: max_offset holds");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_EXPERT, 0, 50);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_EXPERT, 0), 0,
           "the top tier cannot go up");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_COMPLEX, 1), 1,
           "nor can a bucket served at the top tier");

    c.max_offset = 0;
    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0, 50);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "max_offset 0: never promoted");

    c.max_offset = 2;
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 7), 2,
           "offset 7 is taken as max_offset");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, -9), -1,
           "offset -9 is taken as -1");
}


static void
test_demote(void)
{
    llmr_learn_conf_t    c;
    llmr_bucket_stats_t  s;

    llmr_learn_conf_init(&c);

    /* strong evidence one tier lower: demote_samples with mean >= high */

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 1, 19);
    add(&s, LLMR_TIER_MODERATE, 0.9, 100);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 1,
           "19 good samples below: not yet");

    add(&s, LLMR_TIER_SIMPLE, 1, 1);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 0,
           "20 good samples below: demoted");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.9, 20);
    add(&s, LLMR_TIER_MODERATE, 0.9, 100);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 1,
           "20 samples of 0.9 below: within a standard error of high");

    add(&s, LLMR_TIER_SIMPLE, 0.9, 80);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 0,
           "100 samples of 0.9 below: demoted");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.84, 500);
    add(&s, LLMR_TIER_MODERATE, 0.99, 500);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 1,
           "0.84 below, 0.99 here: stays (high is 0.85)");

    /* hysteresis: between low and high nothing moves, either way */

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.7, 1000);
    add(&s, LLMR_TIER_MODERATE, 0.95, 1000);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "0.7 at the base: no promotion");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 1,
           "0.7 below, promoted: no demotion");

    /* a promotion that bought too little is undone, and stays undone */

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.52, 100);
    add(&s, LLMR_TIER_MODERATE, 0.55, 100);
    add(&s, LLMR_TIER_COMPLEX, 0.5, 200);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 1,
           "gain 0.03 on 100 samples a side: too few to tell");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.52, 10000);
    add(&s, LLMR_TIER_MODERATE, 0.55, 10000);
    add(&s, LLMR_TIER_COMPLEX, 0.5, 200);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 0,
           "gain 0.03 on 10000 samples a side: demoted");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "and not promoted again (the step up is known)");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.52, 2000);
    add(&s, LLMR_TIER_MODERATE, 0.55, 19);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 1,
           "19 samples of 0.55 where it is served: neither way");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_SIMPLE, 0.50, 2000);
    add(&s, LLMR_TIER_MODERATE, 0.57, 2000);
    add(&s, LLMR_TIER_COMPLEX, 0.5, 200);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 1,
           "gain 0.07 (between 0.05 and 0.1): stays promoted");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "and would not be promoted from below");

    /* bounds: -1 at most */

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_TRIVIAL, 1, 100);
    add(&s, LLMR_TIER_SIMPLE, 1, 100);
    add(&s, LLMR_TIER_MODERATE, 1, 100);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_MODERATE, 0), -1,
           "good one tier lower: -1");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_MODERATE, -1), -1,
           "never below -1");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_TRIVIAL, 0), 0,
           "nothing below trivial");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 1), 0,
           "from +1, one step");
}


static void
test_groups(void)
{
    int                  i;
    char                 err[LLMR_ERRSTR_SIZE];
    llmr_str_t           name, args[5];
    llmr_registry_t     *reg;
    llmr_learn_conf_t    c;
    llmr_bucket_stats_t  s;

    static const char  *models[][4] = {
        { "cheap", "tiers=trivial-simple", "input=0.15", "output=0.6" },
        { "mid", "tiers=simple-complex", "input=3", "output=15" },
        { "big", "tiers=complex-expert", "input=15", "output=75" }
    };

    /* two models: weak serves 0-2, strong 3-4 */

    llmr_learn_conf_init(&c);
    c.group[0] = 0;
    c.group[1] = 0;
    c.group[2] = 0;
    c.group[3] = 1;
    c.group[4] = 1;

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_TRIVIAL, 0.2, 2);
    add(&s, LLMR_TIER_MODERATE, 0.2, 3);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 2,
           "groups: the weak model's tiers pool, the step skips to strong");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_TRIVIAL, 0), 0,
           "groups: a step beyond max_offset is not taken");

    add(&s, LLMR_TIER_TRIVIAL, 0.2, 100);
    add(&s, LLMR_TIER_EXPERT, 0.22, 200);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_SIMPLE, 0), 0,
           "groups: strong known no better: no promotion");

    memset(&s, 0, sizeof(s));
    add(&s, LLMR_TIER_MODERATE, 1, 20);
    add(&s, LLMR_TIER_COMPLEX, 0.95, 20);
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_EXPERT, 0), 0,
           "groups: a step past offset -1 is not taken");
    is_int(llmr_learn_offset(&c, &s, LLMR_TIER_COMPLEX, 0), -1,
           "groups: from complex, one tier");

    is_int(llmr_learn_tier(&c, LLMR_TIER_SIMPLE, 2, 0), LLMR_TIER_COMPLEX,
           "tier: base + offset");
    is_int(llmr_learn_tier(&c, LLMR_TIER_SIMPLE, 2, 1), LLMR_TIER_MODERATE,
           "tier: exploring steps to the weak model");
    is_int(llmr_learn_tier(&c, LLMR_TIER_SIMPLE, 0, 1), LLMR_TIER_SIMPLE,
           "tier: nothing below in another group");
    is_int(llmr_learn_tier(&c, LLMR_TIER_EXPERT, 1, 1), LLMR_TIER_EXPERT,
           "tier: exploring never goes past offset -1");
    is_int(llmr_learn_tier(&c, LLMR_TIER_MODERATE, 2, 1),
           LLMR_TIER_MODERATE,
           "tier: exploring from expert (moderate + 2) goes to moderate");
    is_int(llmr_learn_tier(&c, LLMR_TIER_EXPERT, 3, 0), LLMR_TIER_EXPERT,
           "tier: clamped to the tiers");

    llmr_learn_conf_init(&c);
    is_int(llmr_learn_tier(&c, LLMR_TIER_MODERATE, 1, 1), LLMR_TIER_MODERATE,
           "tier: default groups, one tier below");
    is_int(llmr_learn_tier(&c, LLMR_TIER_MODERATE, -1, 1), LLMR_TIER_SIMPLE,
           "tier: not below offset -1");

    /* from a registry */

    reg = llmr_registry_create();
    ok(reg != NULL, "a registry");

    if (reg == NULL) {
        return;
    }

    err[0] = '\0';

    for (i = 0; i < 3; i++) {
        name.data = models[i][0];
        name.len = strlen(models[i][0]);
        args[0].data = models[i][1];
        args[0].len = strlen(models[i][1]);
        args[1].data = "upstream=pool";
        args[1].len = strlen(args[1].data);
        args[4].data = "provider=openai";
        args[4].len = strlen(args[4].data);
        args[2].data = models[i][2];
        args[2].len = strlen(models[i][2]);
        args[3].data = models[i][3];
        args[3].len = strlen(models[i][3]);

        ok(llmr_registry_add(reg, &name, args, 5, err, sizeof(err))
           == LLMR_OK, "model %s (%s)", models[i][0], err);
    }

    llmr_learn_conf_groups(&c, reg);
    ok(c.group[0] == 0 && c.group[1] == 0 && c.group[2] == 1
       && c.group[3] == 1 && c.group[4] == 2,
       "groups from the registry: cheap cheap mid mid big (%d %d %d %d %d)",
       c.group[0], c.group[1], c.group[2], c.group[3], c.group[4]);

    llmr_registry_destroy(reg);

    reg = llmr_registry_create();
    llmr_learn_conf_groups(&c, reg);
    ok(c.group[0] == LLMR_MODELS_MAX && c.group[4] == LLMR_MODELS_MAX + 4,
       "no models: every tier its own group");
    llmr_registry_destroy(reg);
}


static void
test_explore(void)
{
    int                n, same;
    uint64_t           h;
    llmr_learn_conf_t  c;

    llmr_learn_conf_init(&c);

    n = 0;

    for (h = 0; h < 200000; h++) {
        n += llmr_learn_explore(&c, 1, h);
    }

    ok(n > 200000 * 0.045 && n < 200000 * 0.055,
       "sequential hashes: %.2f%% explore (5%%)", n / 2000.0);

    n = 0;

    for (h = 0; h < 200000; h++) {
        n += llmr_learn_explore(&c, 0, h * 0x100000001b3ULL);
    }

    ok(n > 200000 * 0.045 && n < 200000 * 0.055,
       "spread hashes at offset 0: %.2f%% explore", n / 2000.0);

    n = 0;

    for (h = 0; h < 200000; h++) {
        n += llmr_learn_explore(&c, -1, h);
    }

    is_int(n, 0, "never at the lowest offset");

    c.explore = 0.2;
    n = 0;

    for (h = 0; h < 200000; h++) {
        n += llmr_learn_explore(&c, 2, h << 32);
    }

    ok(n > 200000 * 0.19 && n < 200000 * 0.21,
       "20%%, hashes in the high bits: %.2f%%", n / 2000.0);

    c.explore = 0;
    n = 0;

    for (h = 0; h < 10000; h++) {
        n += llmr_learn_explore(&c, 1, h);
    }

    is_int(n, 0, "explore 0: never");

    c.explore = 1;
    n = 0;

    for (h = 0; h < 10000; h++) {
        n += llmr_learn_explore(&c, 1, h);
    }

    is_int(n, 10000, "explore 1: always");

    c.explore = 0.05;
    same = 1;

    for (h = 0; h < 10000; h++) {
        if (llmr_learn_explore(&c, 1, h * 7919)
            != llmr_learn_explore(&c, 1, h * 7919))
        {
            same = 0;
        }
    }

    ok(same, "deterministic");
}


/*
 * The loop as a whole: a bucket served by the rule, one sample per
 * request, quality drawn from a fixed rate per tier by a seeded
 * generator.  Returns the number of offset changes; *final gets the
 * last offset, *reversals the number of times the direction of a change
 * was the opposite of the one before (flapping), *last the request of
 * the last change, *share the share of requests that explored.
 */

static uint64_t  rng_state;


static double
rng(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;

    return (double) (rng_state >> 11) * (1.0 / 9007199254740992.0);
}


static int
run(const llmr_learn_conf_t *c, int base, const double *rate, int requests,
    uint64_t seed, int *final, int *reversals, int *last, double *share)
{
    int                  i, off, next, tier, changes, explored, dir;
    llmr_bucket_stats_t  s;

    memset(&s, 0, sizeof(s));
    rng_state = seed;
    off = 0;
    changes = 0;
    explored = 0;
    dir = 0;
    *reversals = 0;
    *last = -1;

    for (i = 0; i < requests; i++) {
        tier = llmr_learn_tier(c, base, off,
                               llmr_learn_explore(c, off, seed + i));

        if (tier != llmr_learn_tier(c, base, off, 0)) {
            explored++;
        }

        llmr_bucket_stats_add(&s, tier, rng() < rate[tier] ? 1 : 0, 1);

        next = llmr_learn_offset(c, &s, base, off);

        if (next != off) {
            if (dir && (next > off) != (dir > 0)) {
                (*reversals)++;
            }

            dir = (next > off) ? 1 : -1;
            *last = i;
            changes++;
            off = next;
        }
    }

    *final = off;

    if (share) {
        *share = (double) explored / requests;
    }

    return changes;
}


static void
test_dynamics(void)
{
    int                seed, changes, final, worst, moved, wrong, rev,
                       flaps, last, latest;
    double             share;
    llmr_learn_conf_t  c;

    /* success rates by the tier served */

    static const double  poor[LLMR_TIER_N] = { 0.3, 0.35, 0.9, 0.92, 0.95 };
    static const double  fine[LLMR_TIER_N] = { 0.9, 0.92, 0.93, 0.94, 0.95 };
    static const double  edge[LLMR_TIER_N] = { 0.6, 0.72, 0.78, 0.8, 0.82 };
    static const double  same[LLMR_TIER_N] = { 0.4, 0.4, 0.42, 0.43, 0.45 };

    llmr_learn_conf_init(&c);

    /* a bucket poor at its tier is promoted and stays */

    wrong = 0;
    worst = 0;
    flaps = 0;
    share = 0;

    for (seed = 1; seed <= 50; seed++) {
        changes = run(&c, LLMR_TIER_SIMPLE, poor, 5000, seed * 1000003ULL,
                      &final, &rev, &last, &share);
        wrong += (final != 1);
        worst = changes > worst ? changes : worst;
        flaps += rev;
    }

    is_int(wrong, 0, "poor at simple: promoted to moderate in 50 runs");
    ok(worst <= 2 && flaps == 0,
       "and settled: at most %d changes in a run, %d reversals", worst,
       flaps);
    ok(share > 0.035 && share < 0.065,
       "exploration share of the last run: %.3f", share);

    /* a bucket fine where it is stays; good one tier lower: demoted */

    moved = 0;

    for (seed = 1; seed <= 50; seed++) {
        moved += run(&c, LLMR_TIER_TRIVIAL, fine, 5000, seed * 7919ULL,
                     &final, &rev, &last, NULL);
    }

    is_int(moved, 0, "fine at trivial: never moved");

    wrong = 0;
    flaps = 0;

    for (seed = 1; seed <= 50; seed++) {
        run(&c, LLMR_TIER_MODERATE, fine, 5000, seed * 7919ULL, &final,
            &rev, &last, NULL);
        wrong += (final != -1);
        flaps += rev;
    }

    is_int(wrong, 0, "fine one tier lower too: demoted to -1 in 50 runs");
    is_int(flaps, 0, "without reversals");

    /* borderline data: no flapping */

    worst = 0;
    flaps = 0;

    for (seed = 1; seed <= 50; seed++) {
        changes = run(&c, LLMR_TIER_SIMPLE, edge, 20000, seed * 104729ULL,
                      &final, &rev, &last, NULL);
        worst = changes > worst ? changes : worst;
        flaps = rev > flaps ? rev : flaps;
    }

    ok(worst <= 2 && flaps <= 1, "borderline quality, 20000 requests: at "
       "most %d changes and %d reversal in a run", worst, flaps);

    /*
     * poor at every tier: the optimistic climb is undone (the steps up
     * buy nothing), and the bucket comes to rest a tier below its base,
     * as good and cheaper.  While the samples are few, tiers of equal
     * quality can trade places a few times; the evidence settles it.
     */

    wrong = 0;
    latest = 0;

    for (seed = 1; seed <= 50; seed++) {
        run(&c, LLMR_TIER_SIMPLE, same, 50000, seed * 15485863ULL,
            &final, &rev, &last, NULL);
        wrong += (final != -1);
        latest = last > latest ? last : latest;
    }

    is_int(wrong, 0, "poor at every tier: at -1 after 50000 requests, in "
           "50 runs");
    ok(latest < 40000, "settled: the last change at request %d", latest);
}


/*
 * The learned state as text: a round trip of every bucket with evidence
 * (exact, %.17g), buckets with nothing left out, names not indexes, and
 * every kind of bad file refused whole with the line that is wrong.
 */

static void
test_state(void)
{
    int                   off[LLMR_BUCKETS], off2[LLMR_BUCKETS], r, i, t;
    char                  buf[8192], err[256], small[16];
    size_t                n, skipped, b;
    llmr_bucket_stats_t   st[LLMR_BUCKETS], st2[LLMR_BUCKETS];

    static const char  crlf[] =
        LLMR_LEARN_STATE_HEADER "\r\n# note\r\n\r\n"
        "math moderate offset=2 weight=0,0,4,0,0 quality=0,0,1.5,0,0\r\n"
        "astrology moderate offset=1 weight=1,0,0,0,0 quality=1,0,0,0,0\n"
        "math legendary offset=1 weight=1,0,0,0,0 quality=1,0,0,0,0\n"
        "code simple offset=0 weight=2,.5,0,0,0 quality=1,0.25,0,0,0";

    static const struct {
        const char  *text;
        const char  *why;
    }  bad[] = {
        { "", "empty" },
        { "math moderate offset=1 weight=1,1,1,1,1 quality=0,0,0,0,0\n",
          "line 1: not a learned state" },
        { "# ngx_llm_router learned state 2\n", "line 1: not a learned" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate offset=1\n",
          "line 2: expected" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate offset=1 weight=1,1,1,1,1 "
          "quality=0,0,0,0,0 more\n", "line 2: expected" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate off=1 weight=1,1,1,1,1 "
          "quality=0,0,0,0,0\n", "line 2: expected" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate offset=9 weight=1,1,1,1,1 "
          "quality=0,0,0,0,0\n", "line 2: offset=" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate offset=x weight=1,1,1,1,1 "
          "quality=0,0,0,0,0\n", "line 2: offset=" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate offset=0 weight=1,1,1,1 "
          "quality=0,0,0,0\n", "line 2: weight=" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate offset=0 "
          "weight=1,1,-1,1,1 quality=0,0,0,0,0\n", "line 2: weight=" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate offset=0 "
          "weight=1,1,nan,1,1 quality=0,0,0,0,0\n", "line 2: weight=" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate offset=0 "
          "weight=1,1,1e300,1,1 quality=0,0,0,0,0\n", "line 2: weight=" },
        { LLMR_LEARN_STATE_HEADER "\nmath moderate offset=0 "
          "weight=1,1,1,1,1 quality=0,0,2,0,0\n", "line 2: a quality sum" },
        { LLMR_LEARN_STATE_HEADER "\n\n# a note\nmath moderate offset=0 "
          "weight=1,1,1,1,1 quality=0,0,0,0,0\nmath moderate offset=1 "
          "weight=0,0,0,0,0 quality=0,0,0,0,0\n", "line 5: the bucket is "
          "listed twice" },
    };

    memset(st, 0, sizeof(st));
    memset(off, 0, sizeof(off));

    b = LLMR_DOMAIN_MATH * LLMR_TIER_N + LLMR_TIER_MODERATE;
    llmr_bucket_stats_add(&st[b], LLMR_TIER_MODERATE, 0.3, 1);
    llmr_bucket_stats_add(&st[b], LLMR_TIER_MODERATE, 0.1, 0.3);
    llmr_bucket_stats_add(&st[b], LLMR_TIER_COMPLEX, 1.0 / 3, 1);
    off[b] = 1;

    off[LLMR_DOMAIN_CODE * LLMR_TIER_N + LLMR_TIER_EXPERT] = -1;

    llmr_bucket_stats_add(&st[LLMR_BUCKETS - 1], LLMR_TIER_TRIVIAL, 0.9, 7);

    n = llmr_learn_state_print(buf, sizeof(buf), st, off, LLMR_BUCKETS);
    ok(n == strlen(buf), "print: the length it wrote (%zu)", n);
    ok(strncmp(buf, LLMR_LEARN_STATE_HEADER "\n",
               sizeof(LLMR_LEARN_STATE_HEADER)) == 0, "print: the header");
    ok(strstr(buf, "\nmath moderate offset=1 weight=0,0,1.3") != NULL,
       "print: by names: %s", buf);
    ok(strstr(buf, "\ncode expert offset=-1 weight=0,0,0,0,0 "
                   "quality=0,0,0,0,0\n") != NULL,
       "print: an offset without evidence is kept");

    for (i = 0, t = 0; buf[i]; i++) {
        t += (buf[i] == '\n');
    }

    is_int(t, 4, "print: the header and 3 buckets, nothing for the others");

    is_int((int) llmr_learn_state_print(small, sizeof(small), st, off,
                                        LLMR_BUCKETS), (int) n,
           "print: a short buffer gets the length needed");
    is_int((int) strlen(small), (int) sizeof(small) - 1,
           "print: and what fits, terminated");

    r = llmr_learn_state_parse(buf, n, st2, off2, LLMR_BUCKETS, &skipped,
                               err, sizeof(err));
    is_int(r, 3, "parse: 3 buckets");
    is_int((int) skipped, 0, "parse: none skipped");
    ok(memcmp(st, st2, sizeof(st)) == 0, "parse: the sums exactly");
    ok(memcmp(off, off2, sizeof(off)) == 0, "parse: the offsets");

    /* CRLF, comments, blanks, unknown names, no final newline */

    r = llmr_learn_state_parse(crlf, sizeof(crlf) - 1, st2, off2,
                               LLMR_BUCKETS, &skipped, err, sizeof(err));
    is_int(r, 2, "parse: CRLF, comments, the last line without a newline "
           "(%s)", r < 0 ? err : "");
    is_int((int) skipped, 2, "parse: an unknown domain and tier skipped");
    is_int(off2[b], 2, "parse: offset 2");
    ok(st2[b].weight[LLMR_TIER_MODERATE] == 4
       && st2[b].quality[LLMR_TIER_MODERATE] == 1.5, "parse: the sums");
    ok(st2[LLMR_DOMAIN_CODE * LLMR_TIER_N + LLMR_TIER_SIMPLE]
       .weight[LLMR_TIER_SIMPLE] == 0.5, "parse: .5");

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        off2[b] = 7;
        st2[b].weight[0] = 7;
        err[0] = '\0';

        r = llmr_learn_state_parse(bad[i].text, strlen(bad[i].text), st2,
                                   off2, LLMR_BUCKETS, NULL, err,
                                   sizeof(err));
        ok(r == -1 && strncmp(err, bad[i].why, strlen(bad[i].why)) == 0
           && off2[b] == 0 && st2[b].weight[0] == 0,
           "bad state %d refused, nothing kept: %s", i, err);
    }

    memset(buf, 'a', sizeof(buf));
    memcpy(buf, LLMR_LEARN_STATE_HEADER "\n",
           sizeof(LLMR_LEARN_STATE_HEADER));
    r = llmr_learn_state_parse(buf, sizeof(buf), st2, off2, LLMR_BUCKETS,
                               NULL, err, sizeof(err));
    ok(r == -1 && strstr(err, "line 2: the line is too long") != NULL,
       "a line longer than %d bytes: %s", LLMR_LEARN_STATE_LINE, err);

    r = llmr_learn_state_parse(LLMR_LEARN_STATE_HEADER "\nmath\0 x", 40,
                               st2, off2, LLMR_BUCKETS, NULL, err,
                               sizeof(err));
    ok(r == -1 && strstr(err, "NUL") != NULL, "a NUL byte: %s", err);
}


int
main(void)
{
    test_parse_good();
    test_parse_bad();
    test_implicit();
    test_buckets();
    test_learn_conf();
    test_promote();
    test_demote();
    test_groups();
    test_explore();
    test_dynamics();
    test_state();

    return tap_done();
}
