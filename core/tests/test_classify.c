
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/classify.h>

#include "tap.h"
#include "../src/llmr_features.h"


static void req_init(llmr_request_t *req, const char *user);
static void classify(const char *user, llmr_class_t *c);
static int has_reason(const llmr_class_t *c, const char *reason);
static int class_ok(const llmr_class_t *c);
static int class_same(const llmr_class_t *a, const llmr_class_t *b);
static uint32_t rnd(uint32_t *state);
static void *thread_run(void *data);

static void test_threads(void);
static void test_table(void);
static void test_reasons(void);
static void test_determinism(void);
static void test_monotonic(void);
static void test_edges(void);
static void test_utf8(void);
static void test_matching(void);
static void test_asking(void);
static void test_conversation(void);
static void test_stakes(void);
static void test_confidence(void);
static void test_classifier(void);
static void test_keywords(void);
static void test_grams(void);
static void test_window(void);
static void test_shape(void);


static const char  code_review[] =
    "Can you review this function and tell me if there are bugs?\n"
    "```python\n"
    "def merge(a, b):\n"
    "    out = []\n"
    "    i = j = 0\n"
    "    while i < len(a) and j < len(b):\n"
    "        if a[i] <= b[j]:\n"
    "            out.append(a[i]); i += 1\n"
    "        else:\n"
    "            out.append(b[j]); j += 1\n"
    "    return out\n"
    "```\n";

static const char  design[] =
    "Design a distributed, multi-region event-sourcing architecture with "
    "exactly-once semantics, discuss trade-offs between consistency and "
    "availability, and explain how you would handle regional failover.";

static const char  word_problem[] =
    "A bakery sells muffins for $3 each and cookies for $1.50 each. On "
    "Monday it sold 48 muffins and twice as many cookies. On Tuesday it "
    "sold 15 fewer muffins than on Monday, and half as many cookies as "
    "muffins. How much money did the bakery make over the two days?";


int
main(void)
{
    /* first: the keyword table must be built once under a race */
    test_threads();

    test_table();
    test_reasons();
    test_determinism();
    test_monotonic();
    test_edges();
    test_utf8();
    test_matching();
    test_asking();
    test_conversation();
    test_stakes();
    test_confidence();
    test_classifier();
    test_keywords();
    test_grams();
    test_window();
    test_shape();

    return tap_done();
}


static void
req_init(llmr_request_t *req, const char *user)
{
    memset(req, 0, sizeof(llmr_request_t));

    req->last_user.data = user;
    req->last_user.len = user ? strlen(user) : 0;
    req->last_user_bytes = req->last_user.len;
    req->text_bytes = req->last_user.len;
    req->messages = 1;
    req->user_turns = 1;
    req->max_tokens = -1;
}


static void
classify(const char *user, llmr_class_t *c)
{
    llmr_request_t  req;

    req_init(&req, user);
    llmr_classify(NULL, &req, c);
}


static int
has_reason(const llmr_class_t *c, const char *reason)
{
    unsigned  i;

    for (i = 0; i < c->nreasons; i++) {
        if (strcmp(c->reasons[i], reason) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the invariants every class must hold */

static int
class_ok(const llmr_class_t *c)
{
    unsigned     i;
    const char  *p;

    if (!(c->score >= 0 && c->score <= 1)
        || !(c->confidence >= 0 && c->confidence <= 1)
        || c->tier < 0 || c->tier >= LLMR_TIER_N
        || c->floor < 0 || c->floor >= LLMR_TIER_N
        || c->tier < c->floor
        || c->domain < 0 || c->domain >= LLMR_DOMAIN_N
        || c->nreasons < 1 || c->nreasons > LLMR_REASONS_MAX)
    {
        return 0;
    }

    for (i = 0; i < c->nreasons; i++) {
        if (c->reasons[i] == NULL || c->reasons[i][0] == '\0') {
            return 0;
        }

        /* fit for a log line and a JSON array as they are */

        for (p = c->reasons[i]; *p; p++) {
            if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p)
                  || *p == '_' || *p == ':'))
            {
                return 0;
            }
        }
    }

    return 1;
}


static int
class_same(const llmr_class_t *a, const llmr_class_t *b)
{
    unsigned  i;

    if (a->score != b->score || a->confidence != b->confidence
        || a->tier != b->tier || a->domain != b->domain
        || a->floor != b->floor || a->nreasons != b->nreasons)
    {
        return 0;
    }

    for (i = 0; i < a->nreasons; i++) {
        if (a->reasons[i] != b->reasons[i]) {
            return 0;
        }
    }

    return 1;
}


static uint32_t
rnd(uint32_t *state)
{
    /* xorshift32: the tests' own fixed sequence */

    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;

    return *state;
}


static void *
thread_run(void *data)
{
    int             i;
    llmr_class_t   *c;
    llmr_request_t  req;

    c = data;
    req_init(&req, design);

    for (i = 0; i < 200; i++) {
        llmr_classify(NULL, &req, c);
    }

    return NULL;
}


static void
test_threads(void)
{
    int           i, same;
    pthread_t     tid[4];
    llmr_class_t  c[4];

    for (i = 0; i < 4; i++) {
        if (pthread_create(&tid[i], NULL, thread_run, &c[i]) != 0) {
            ok(0, "pthread_create");
            return;
        }
    }

    same = 1;

    for (i = 0; i < 4; i++) {
        pthread_join(tid[i], NULL);
        same &= class_same(&c[0], &c[i]) && class_ok(&c[i]);
    }

    ok(same, "4 threads from a cold start: the same valid class");
}


static void
test_table(void)
{
    size_t         i;
    llmr_class_t   c;

    static const struct {
        const char    *text;
        int            min_tier;
        int            max_tier;
        int            domain;      /* -1: any */
    } table[] = {
        { "hi", LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL, -1 },
        { "hello there!", LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL, -1 },
        { "thanks", LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL, -1 },
        { "Thank you so much!", LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL, -1 },
        { "ok cool", LLMR_TIER_TRIVIAL, LLMR_TIER_TRIVIAL, -1 },
        { "What is the capital of France?",
          LLMR_TIER_TRIVIAL, LLMR_TIER_SIMPLE, -1 },
        { "Explain how photosynthesis works",
          LLMR_TIER_TRIVIAL, LLMR_TIER_MODERATE, LLMR_DOMAIN_SCIENCE },
        { code_review, LLMR_TIER_MODERATE, LLMR_TIER_EXPERT,
          LLMR_DOMAIN_CODE },
        { design, LLMR_TIER_COMPLEX, LLMR_TIER_EXPERT, -1 },
        { word_problem, LLMR_TIER_MODERATE, LLMR_TIER_EXPERT,
          LLMR_DOMAIN_MATH },
        { "Can you review this contract clause for compliance with GDPR?",
          LLMR_TIER_COMPLEX, LLMR_TIER_EXPERT, LLMR_DOMAIN_LEGAL },
        { "What dosage of ibuprofen is safe for my child who has a fever?",
          LLMR_TIER_COMPLEX, LLMR_TIER_EXPERT, LLMR_DOMAIN_MEDICAL },
        { "Write a Python function that reverses a string.",
          LLMR_TIER_SIMPLE, LLMR_TIER_MODERATE, LLMR_DOMAIN_CODE },
        { "Analyze this quarterly sales data and report the trend.",
          LLMR_TIER_SIMPLE, LLMR_TIER_EXPERT, LLMR_DOMAIN_ANALYSIS },
        { "Prove rigorously that there are infinitely many primes, then "
          "derive a bound on the gap between consecutive primes.",
          LLMR_TIER_COMPLEX, LLMR_TIER_EXPERT, LLMR_DOMAIN_MATH },
        { "Write a haiku about autumn leaves.",
          LLMR_TIER_TRIVIAL, LLMR_TIER_MODERATE, LLMR_DOMAIN_CREATIVE },
        { "Should I put my retirement savings into a leveraged ETF?",
          LLMR_TIER_COMPLEX, LLMR_TIER_EXPERT, LLMR_DOMAIN_FINANCE }
    };

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        classify(table[i].text, &c);

        ok(class_ok(&c), "table %zu: a valid class", i);
        ok(c.tier >= table[i].min_tier && c.tier <= table[i].max_tier,
           "table %zu: tier %s in %s..%s (score %.3f) \"%.40s\"", i,
           llmr_tier_name(c.tier), llmr_tier_name(table[i].min_tier),
           llmr_tier_name(table[i].max_tier), c.score, table[i].text);

        if (table[i].domain >= 0) {
            is_str(llmr_domain_name(c.domain),
                   llmr_domain_name(table[i].domain),
                   "table %zu: domain", i);
        }
    }
}


static void
test_reasons(void)
{
    llmr_class_t    c;
    llmr_request_t  req;

    classify("hi", &c);
    ok(has_reason(&c, "greeting"), "hi: greeting");
    ok(has_reason(&c, "short"), "hi: short");
    ok(c.confidence >= 0.8, "hi: confident (%.2f)", c.confidence);

    classify(code_review, &c);
    ok(has_reason(&c, "domain:code"), "code review: domain:code");
    ok(has_reason(&c, "code"), "code review: code");
    is_int(c.floor, LLMR_TIER_SIMPLE, "code review: floor simple");

    classify(design, &c);
    ok(has_reason(&c, "complex_task"), "design: complex_task");
    ok(has_reason(&c, "expert_task"), "design: expert_task");

    classify(word_problem, &c);
    ok(has_reason(&c, "domain:math"), "word problem: domain:math");
    ok(has_reason(&c, "multi_step"), "word problem: multi_step");
    is_int(c.floor, LLMR_TIER_MODERATE, "word problem: floor moderate");

    classify("Can you review this contract clause for compliance with GDPR?",
             &c);
    ok(has_reason(&c, "high_stakes"), "contract: high_stakes");
    ok(has_reason(&c, "domain:legal"), "contract: domain:legal");
    ok(c.floor >= LLMR_TIER_COMPLEX, "contract: floor complex+");

    classify("What dosage of ibuprofen is safe for my child who has a fever?",
             &c);
    ok(has_reason(&c, "high_stakes"), "dosage: high_stakes");
    is_str(c.reasons[0], "high_stakes", "dosage: high_stakes comes first");
    ok(c.floor >= LLMR_TIER_COMPLEX, "dosage: floor complex+");

    /* the reasons are the largest contributions: under the v1 weights */

    req_init(&req, "Write a 500-word essay on the causes of the French "
             "Revolution. It must cite at least three primary sources, "
             "avoid jargon, and stay within a formal tone.");
    llmr_classify(llmr_classifier_v1(), &req, &c);
    ok(has_reason(&c, "constraints"), "essay: constraints");

    classify("First, install the package. Then configure the server. Next, "
             "run the migrations. After that, restart the workers and "
             "finally verify the health checks step by step.", &c);
    ok(has_reason(&c, "multi_step"), "procedure: multi_step");
}


static void
test_determinism(void)
{
    int             i, same;
    llmr_class_t    a, b;
    llmr_request_t  req;

    static const char  *texts[] = {
        "hi", code_review, design, word_problem, "",
        "Can you review this contract clause for compliance with GDPR?"
    };

    same = 1;

    for (i = 0; i < (int) (sizeof(texts) / sizeof(texts[0])); i++) {
        req_init(&req, texts[i]);
        llmr_classify(NULL, &req, &a);
        llmr_classify(NULL, &req, &b);
        same &= class_same(&a, &b);

        llmr_classify(llmr_classifier_default(), &req, &b);
        same &= class_same(&a, &b);
    }

    ok(same, "the same request always gets the same class");
}


static void
test_monotonic(void)
{
    char          buf[4096];
    size_t        i, j, len;
    double        prev;
    llmr_class_t  c;

    static const char  *bases[] = {
        "Write a function that parses a date string.",
        "Explain how photosynthesis works.",
        "Summarize the attached report for the board.",
        design
    };

    static const char  *more[] = {
        " It must handle time zones.",
        " It should not allocate memory.",
        " First, validate the input.",
        " Then return an error code on failure.",
        " Make sure it runs in at most 10 ms.",
        " Finally, document every step.",
        " Do not use any external library.",
        " Also, list the edge cases and explain why each one matters."
    };

    for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        len = strlen(bases[i]);
        memcpy(buf, bases[i], len + 1);

        classify(buf, &c);
        prev = c.score;

        for (j = 0; j < sizeof(more) / sizeof(more[0]); j++) {
            memcpy(buf + len, more[j], strlen(more[j]) + 1);
            len += strlen(more[j]);

            classify(buf, &c);
            ok(c.score >= prev, "base %zu + %zu asks: %.4f >= %.4f",
               i, j + 1, c.score, prev);
            prev = c.score;
        }
    }
}


static void
test_edges(void)
{
    int             i, valid;
    char           *buf;
    size_t          n, j, len;
    uint32_t        seed;
    llmr_class_t    c, cut;
    llmr_request_t  req;

    static const char  *tails[] = {
        "```", "`", "``", "x =", "3.", "1,", "don'", "\\", "$", "$$", "-",
        "\xe2", "\xe2\x88", "\xc3", "\xcf", "<", "::", "!", "?", "1. ",
        "step by", "(a", "- "
    };

    /* nothing at all */

    req_init(&req, NULL);
    llmr_classify(NULL, &req, &c);
    ok(class_ok(&c), "NULL text: a valid class");
    is_int(c.tier, LLMR_TIER_TRIVIAL, "NULL text: trivial");
    ok(has_reason(&c, "empty"), "NULL text: reason empty");

    classify("", &c);
    ok(class_ok(&c), "empty text: a valid class");
    is_int(c.tier, LLMR_TIER_TRIVIAL, "empty text: trivial");

    llmr_classify(NULL, NULL, &c);
    ok(class_ok(&c), "NULL request: a valid class");

    classify("   \n\t\n  ", &c);
    ok(class_ok(&c), "blanks only: a valid class");
    is_int(c.tier, LLMR_TIER_TRIVIAL, "blanks only: trivial");

    /* huge: 1 MB of prose, beyond every cap */

    n = 1024 * 1024;
    buf = malloc(n + 1);
    if (buf == NULL) {
        ok(0, "malloc");
        return;
    }

    for (i = 0; i < (int) n; i++) {
        buf[i] = "the quick brown fox jumps over the lazy dog. "[i % 45];
    }

    buf[n] = '\0';

    classify(buf, &c);
    ok(class_ok(&c), "1 MB of text: a valid class");
    ok(has_reason(&c, "long_prompt"), "1 MB of text: long_prompt");
    ok(c.tier >= LLMR_TIER_MODERATE, "1 MB of text: moderate+ (%s)",
       llmr_tier_name(c.tier));

    /* a text cut by the extractor still counts at its full size */

    req_init(&req, "the quick brown fox jumps over the lazy dog.");
    llmr_classify(NULL, &req, &c);
    req.last_user_bytes = 16 * 1024 * 1024;
    llmr_classify(NULL, &req, &cut);
    ok(cut.score > c.score, "a truncated text is scored at its full size");

    /* binary garbage, NULs included */

    seed = 0x2545f491;
    valid = 1;

    for (i = 0; i < 200; i++) {
        len = rnd(&seed) % 20000;

        for (j = 0; j < len; j++) {
            buf[j] = (char) (rnd(&seed) & 0xff);
        }

        req_init(&req, NULL);
        req.last_user.data = buf;
        req.last_user.len = len;
        req.last_user_bytes = len;
        req.system.data = buf + len / 2;
        req.system.len = len / 4;
        req.history.data = buf + len / 3;
        req.history.len = len / 5;

        llmr_classify(NULL, &req, &c);
        valid &= class_ok(&c);
    }

    ok(valid, "200 random binary texts: valid classes");

    /* every byte value, in every position of a word */

    for (i = 0; i < 256 * 3; i++) {
        buf[i] = (char) (i % 3 == 1 ? i / 3 : 'a');
    }

    req_init(&req, NULL);
    req.last_user.data = buf;
    req.last_user.len = 256 * 3;
    llmr_classify(NULL, &req, &c);
    ok(class_ok(&c), "every byte value: a valid class");

    /* a text that ends in the middle of everything */

    valid = 1;

    for (i = 0; i < (int) (sizeof(tails) / sizeof(tails[0])); i++) {
        classify(tails[i], &c);
        valid &= class_ok(&c);
    }

    ok(valid, "texts cut mid-token: valid classes");

    free(buf);
}


static void
test_utf8(void)
{
    llmr_class_t     c;
    llmr_features_t  f;
    llmr_request_t   req;

    static const char  chinese[] =
        "\xe8\xaf\xb7\xe8\xae\xbe\xe8\xae\xa1\xe4\xb8\x80\xe4\xb8\xaa\xe5"
        "\x88\x86\xe5\xb8\x83\xe5\xbc\x8f\xe7\xb3\xbb\xe7\xbb\x9f\xef\xbc"
        "\x8c\xe6\x94\xaf\xe6\x8c\x81\xe6\xaf\x8f\xe7\xa7\x92\xe7\x99\xbe"
        "\xe4\xb8\x87\xe7\xba\xa7\xe8\xaf\xb7\xe6\xb1\x82\xe3\x80\x82";

    classify(chinese, &c);
    ok(class_ok(&c), "Chinese: a valid class");

    req_init(&req, chinese);
    llmr_features_extract(&req, &f, NULL, NULL, 0, NULL);
    ok(f.units > f.user.words, "Chinese: length from bytes, not blanks");
    ok(f.user.nonascii > 10, "Chinese: UTF-8 characters counted");

    classify("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, "
             "\xd0\xba\xd0\xb0\xd0\xba \xd0\xb4\xd0\xb5\xd0\xbb\xd0\xb0?",
             &c);
    ok(class_ok(&c), "Russian: a valid class");

    classify("Explain \xf0\x9f\x98\x80 caf\xc3\xa9 na\xc3\xafve design", &c);
    ok(class_ok(&c), "emoji and accents: a valid class");

    req_init(&req, "Solve 3 \xc3\x97 4 \xe2\x88\x92 2 \xe2\x89\xa4 x "
             "\xe2\x88\x91 \xcf\x80");
    llmr_features_extract(&req, &f, NULL, NULL, 0, NULL);
    ok(f.user.math_syms >= 5, "unicode math symbols counted (%u)",
       f.user.math_syms);
}


static void
test_matching(void)
{
    llmr_text_stats_t  st;

    /* word boundaries: no keyword inside another word */

    llmr_text_scan(SL("this"), &st, NULL, 0, NULL);
    is_int(st.kw[LLMR_KW_GREETING_I], 0, "\"hi\" is not found in \"this\"");

    llmr_text_scan(SL("redesigned"), &st, NULL, 0, NULL);
    is_int(st.kw[LLMR_KW_COMPLEX_I], 0, "\"design\" not in \"redesigned\"");

    llmr_text_scan(SL("HeLLo"), &st, NULL, 0, NULL);
    is_int(st.kw[LLMR_KW_GREETING_I], 1, "case-insensitive");

    llmr_text_scan(SL("Constraints: two requirements"), &st, NULL, 0, NULL);
    is_int(st.kw[LLMR_KW_CONSTRAINT_I], 2, "plurals match the singular");

    /* phrases, across blanks, hyphens and line breaks */

    llmr_text_scan(SL("think step-by-step"), &st, NULL, 0, NULL);
    ok(st.kw[LLMR_KW_REASON_I] >= 1, "step-by-step is a phrase");

    llmr_text_scan(SL("the trade-offs"), &st, NULL, 0, NULL);
    is_int(st.kw[LLMR_KW_COMPLEX_I], 1, "trade-offs is trade off");

    llmr_text_scan(SL("no more  than\t3"), &st, NULL, 0, NULL);
    is_int(st.kw[LLMR_KW_CONSTRAINT_I], 1, "phrases across blanks");

    llmr_text_scan(SL("no more. Than"), &st, NULL, 0, NULL);
    is_int(st.kw[LLMR_KW_CONSTRAINT_I], 0, "a full stop breaks a phrase");

    llmr_text_scan(SL("I don't know"), &st, NULL, 0, NULL);
    is_int(st.kw[LLMR_KW_CONSTRAINT_I], 1, "apostrophes stay in a word");

    /* structure */

    llmr_text_scan(code_review, strlen(code_review), &st, NULL, 0, NULL);
    is_int(st.code_fences, 2, "two code fences");
    ok(st.code_lines >= 1, "code lines (%u)", st.code_lines);
    ok(st.code_ops >= 1, "code operators (%u)", st.code_ops);

    llmr_text_scan("Solve x^2 + 3x = 10 and $$\\frac{a}{b}$$", 38, &st,
                   NULL, 0, NULL);
    ok(st.math_ops >= 2, "math operators (%u)", st.math_ops);
    ok(st.latex >= 2, "LaTeX (%u)", st.latex);

    llmr_text_scan(SL("1. one\n2) two\n- three\n* four\nb. five\n(c) six\n"),
                   &st, NULL, 0, NULL);
    is_int(st.list_items, 6, "list items");
    is_int(st.lines, 6, "lines");

    llmr_text_scan(SL("It costs 3.50 or 1,000 dollars, 42 in all."), &st,
                   NULL, 0, NULL);
    is_int(st.numbers, 3, "numbers with points and commas");

    llmr_text_scan(SL("Why? How? What. Done!"), &st, NULL, 0, NULL);
    is_int(st.questions, 2, "questions");
    is_int(st.sentences, 4, "sentences");
}


static void
test_asking(void)
{
    llmr_features_t  task, topic;
    llmr_request_t   req;

    req_init(&req, "Design a new logo for the museum.");
    llmr_features_extract(&req, &task, NULL, NULL, 0, NULL);

    req_init(&req, "The design of the museum was praised by critics.");
    llmr_features_extract(&req, &topic, NULL, NULL, 0, NULL);

    ok(task.x[LLMR_F_COMPLEX_ASK] > 0, "\"Design a ...\" asks");
    is_int(topic.x[LLMR_F_COMPLEX_ASK] == 0, 1,
           "\"The design of ...\" is a topic");

    req_init(&req, "Hi, can you please analyze these numbers?");
    llmr_features_extract(&req, &task, NULL, NULL, 0, NULL);
    is_int(task.user.kw_ask[LLMR_KW_COMPLEX_I], 1,
           "a request opens an ask");
    ok(task.task, "a request makes a task");

    req_init(&req, "Summarize the plot. Then, critique the ending.");
    llmr_features_extract(&req, &task, NULL, NULL, 0, NULL);
    is_int(task.user.kw_ask[LLMR_KW_EXPLAIN_I], 1, "a sentence opens an ask");
    is_int(task.user.kw_ask[LLMR_KW_COMPLEX_I], 1, "\"then\" opens an ask");
}


static void
test_conversation(void)
{
    llmr_class_t    a, b;
    llmr_request_t  req;

    static const char  ask[] = "Summarize our discussion so far.";
    static const char  sys[] =
        "You are a senior software architect. Always design for "
        "scalability, justify trade-offs and follow the constraints.";

    req_init(&req, ask);
    llmr_classify(NULL, &req, &a);

    req.reasoning = 1;
    llmr_classify(NULL, &req, &b);
    ok(b.score > a.score, "reasoning raises the score");
    ok(b.tier >= LLMR_TIER_MODERATE, "reasoning: floor moderate");
    ok(has_reason(&b, "reasoning_requested"), "reasoning: reason");

    req_init(&req, ask);
    req.images = 3;
    llmr_classify(NULL, &req, &b);
    ok(b.score > a.score, "images raise the score");
    ok(has_reason(&b, "images"), "images: reason");

    req_init(&req, ask);
    req.tools = 12;
    llmr_classify(NULL, &req, &b);
    ok(b.score > a.score, "tools raise the score");
    ok(has_reason(&b, "tools"), "tools: reason");

    req_init(&req, ask);
    req.user_turns = 20;
    req.assistant_turns = 19;
    req.messages = 39;
    llmr_classify(NULL, &req, &b);
    ok(b.score > a.score, "a long conversation raises the score");
    ok(has_reason(&b, "long_conversation"), "turns: reason");

    req_init(&req, ask);
    req.system.data = sys;
    req.system.len = sizeof(sys) - 1;
    req.system_bytes = req.system.len;
    req.text_bytes += req.system.len;
    llmr_classify(NULL, &req, &b);
    ok(b.score > a.score, "a demanding system prompt raises the score");

    req_init(&req, ask);
    req.max_tokens = 16000;
    llmr_classify(NULL, &req, &b);
    ok(b.score > a.score, "a long max_tokens raises the score");

    req_init(&req, ask);
    req.max_tokens = 20;
    llmr_classify(NULL, &req, &b);
    ok(b.score < a.score, "a tiny max_tokens lowers the score");

    /* the domain falls back to the conversation, its floor does not */

    req_init(&req, "thanks!");
    req.system.data = "You are a Python coding assistant. Review code, "
                      "fix bugs and write unit tests.";
    req.system.len = strlen(req.system.data);
    llmr_classify(NULL, &req, &b);
    is_str(llmr_domain_name(b.domain), "code", "domain from the system");
    is_int(b.tier, LLMR_TIER_TRIVIAL, "a thank-you stays trivial");

    req_init(&req, "and what about the second one?");
    req.history.data = "Q: is this contract clause enforceable? "
                       "A: it depends on the jurisdiction and the lease.";
    req.history.len = strlen(req.history.data);
    llmr_classify(NULL, &req, &b);
    is_str(llmr_domain_name(b.domain), "legal", "domain from the history");
    ok(!has_reason(&b, "high_stakes"), "high stakes only from the ask");
}


static void
test_stakes(void)
{
    llmr_class_t  c;

    classify("What are the common symptoms of the flu?", &c);
    ok(!has_reason(&c, "high_stakes"), "flu symptoms: not high stakes");
    is_str(llmr_domain_name(c.domain), "medical", "flu symptoms: medical");

    classify("Write a contract test for my REST API endpoint in Python.", &c);
    ok(!has_reason(&c, "high_stakes"), "contract test: not high stakes");
    is_str(llmr_domain_name(c.domain), "code", "contract test: code");

    classify("My doctor changed my prescription; is it safe to take it with "
             "my blood pressure medication?", &c);
    ok(has_reason(&c, "high_stakes"), "drug interaction: high stakes");

    classify("Sue bought 3 packs of 12 pencils and gave 7 to Tom. How many "
             "pencils does she have left?", &c);
    ok(!has_reason(&c, "high_stakes"), "a girl named Sue: not high stakes");
    is_str(llmr_domain_name(c.domain), "math", "a girl named Sue: math");

    classify("How should I report capital gains on my tax return?", &c);
    ok(has_reason(&c, "high_stakes"), "tax return: high stakes");
    is_str(llmr_domain_name(c.domain), "finance", "tax return: finance");

    classify("Review our data processing agreement for GDPR and HIPAA "
             "compliance. List every clause that creates liability for us, "
             "explain the risk of each, and propose compliant rewrites "
             "that keep the commercial terms intact.", &c);
    is_int(c.tier, LLMR_TIER_EXPERT,
           "a complex high-stakes review goes to expert (%.3f)", c.score);
}


static void
test_confidence(void)
{
    double              t[LLMR_THRESHOLDS_N];
    llmr_class_t        c, d;
    llmr_request_t      req;
    llmr_classifier_t  *cl;

    classify("thanks", &c);
    ok(c.confidence >= 0.8, "thanks: confident trivial (%.2f)",
       c.confidence);

    classify("blorp", &c);
    is_int(c.tier, LLMR_TIER_TRIVIAL, "an unknown word: trivial");
    ok(c.confidence >= 0.5, "an unknown word: fairly confident (%.2f)",
       c.confidence);
    ok(has_reason(&c, "short"), "an unknown word: short");

    classify(design, &c);
    ok(c.confidence >= 0.8, "design: confident (%.2f)", c.confidence);

    /* a threshold right at the score: as unsure as it gets */

    cl = llmr_classifier_create(NULL);
    llmr_classifier_thresholds(cl, t);

    req_init(&req, "Explain how tides work on Earth and why there are two.");
    llmr_classify(cl, &req, &c);

    t[1] = c.score;
    t[0] = c.score / 2;
    t[2] = (c.score + 1) / 2;
    t[3] = (t[2] + 1) / 2;
    is_int(llmr_classifier_set_thresholds(cl, t, LLMR_THRESHOLDS_N), LLMR_OK,
           "thresholds around the score");

    llmr_classify(cl, &req, &d);
    ok(d.confidence <= 0.15, "a borderline score: low confidence (%.2f)",
       d.confidence);
    is_int(d.tier, LLMR_TIER_MODERATE, "a score on a threshold is above it");

    llmr_classifier_destroy(cl);
}


static void
test_classifier(void)
{
    int                 i;
    double              t[LLMR_THRESHOLDS_N], bad[LLMR_THRESHOLDS_N];
    llmr_class_t        a, b, v1;
    llmr_request_t      req;
    llmr_classifier_t  *cl;

    llmr_classifier_thresholds(NULL, t);

    for (i = 1; i < LLMR_THRESHOLDS_N; i++) {
        ok(t[i] > t[i - 1], "default thresholds increase (%d)", i);
    }

    is_int(llmr_score_tier(NULL, 0), LLMR_TIER_TRIVIAL, "score 0: trivial");
    is_int(llmr_score_tier(NULL, 1), LLMR_TIER_EXPERT, "score 1: expert");
    is_int(llmr_score_tier(NULL, t[0]), LLMR_TIER_SIMPLE,
           "the first threshold starts simple");
    is_int(llmr_score_tier(NULL, t[3] - 1e-9), LLMR_TIER_COMPLEX,
           "just under the last threshold: complex");
    is_int(llmr_score_tier(NULL, NAN), LLMR_TIER_TRIVIAL, "NaN: trivial");

    cl = llmr_classifier_create(NULL);
    ok(cl != NULL, "create");

    memcpy(bad, t, sizeof(t));
    bad[2] = bad[1];
    is_int(llmr_classifier_set_thresholds(cl, bad, LLMR_THRESHOLDS_N),
           LLMR_ERROR, "thresholds must increase");
    bad[2] = 1.0;
    is_int(llmr_classifier_set_thresholds(cl, bad, LLMR_THRESHOLDS_N),
           LLMR_ERROR, "thresholds must stay below 1");
    is_int(llmr_classifier_set_thresholds(cl, t, 3), LLMR_ERROR,
           "four thresholds");

    is_int(llmr_classifier_set_weight(cl, SL("nope"), 1), LLMR_ERROR,
           "an unknown weight");
    is_int(llmr_classifier_set_weight(cl, SL("code"), NAN), LLMR_ERROR,
           "a NaN weight");
    is_int(llmr_classifier_set_weight(cl, SL("bias"), 5), LLMR_OK, "bias");

    req_init(&req, "Explain how tides work.");
    llmr_classify(NULL, &req, &a);
    llmr_classify(cl, &req, &b);
    ok(b.score > a.score, "a higher bias, a higher score");

    is_int(llmr_classifier_set_weight(cl, SL("explain"), -40),
           LLMR_OK, "a weight by feature name");
    llmr_classify(cl, &req, &b);
    ok(b.score < 1e-6 && class_ok(&b), "an extreme weight stays bounded");

    /* the copy is a copy */

    llmr_classify(llmr_classifier_default(), &req, &b);
    ok(class_same(&a, &b), "the built-in classifier is untouched");

    /* destroying NULL or a built-in classifier leaves it in service */

    llmr_classify(llmr_classifier_v1(), &req, &v1);

    llmr_classifier_destroy(cl);
    llmr_classifier_destroy(NULL);
    llmr_classifier_destroy((llmr_classifier_t *) llmr_classifier_default());
    llmr_classifier_destroy((llmr_classifier_t *) llmr_classifier_v1());

    llmr_classify(llmr_classifier_default(), &req, &b);
    ok(class_same(&a, &b), "the built-in classifier survives a destroy");
    llmr_classify(llmr_classifier_v1(), &req, &b);
    ok(class_same(&v1, &b), "the v1 classifier survives a destroy");

    for (i = 0; i < LLMR_F_N; i++) {
        if (llmr_feature_name(i) == NULL
            || llmr_feature_index(llmr_feature_name(i),
                                  strlen(llmr_feature_name(i))) != i)
        {
            break;
        }
    }

    is_int(i, LLMR_F_N, "every feature has a unique name");
}


static void
test_keywords(void)
{
    int                   bad;
    size_t                i, j, n, used, slots;
    unsigned              want;
    llmr_text_stats_t     st;
    const llmr_kw_def_t  *defs;

    used = llmr_kw_table_used(&slots);
    ok(used * 2 <= slots, "keyword table at most half full (%zu of %zu)",
       used, slots);

    /* every keyword, alone, is found with its classes and domain */

    defs = llmr_kw_defs(&n);
    bad = 0;

    for (i = 0; i < n; i++) {
        llmr_text_scan(defs[i].text, strlen(defs[i].text), &st, NULL, 0,
                       NULL);

        for (j = 0; j < LLMR_KW_N; j++) {
            want = (defs[i].classes >> j) & 1;

            if (want && st.kw[j] == 0) {
                printf("# \"%s\": class %zu not found\n", defs[i].text, j);
                bad++;
            }
        }

        if (defs[i].domain != LLMR_DOMAIN_GENERAL
            && st.dom[defs[i].domain] == 0)
        {
            printf("# \"%s\": domain not found\n", defs[i].text);
            bad++;
        }
    }

    is_int(bad, 0, "all %zu keywords are found", n);
}


static void
test_grams(void)
{
    size_t           n1, n2, n3;
    uint32_t         g1[64], g2[64], g3[4];
    llmr_features_t  f;
    llmr_request_t   req;

    req_init(&req, "Tom has 2 apples and buys more apples.");
    llmr_features_extract(&req, &f, NULL, g1, 64, &n1);
    is_int(n1, 15, "8 words: 8 unigrams and 7 bigrams");

    req_init(&req, "TOM has 17 apples and buys more APPLES!");
    llmr_features_extract(&req, &f, NULL, g2, 64, &n2);
    ok(n1 == n2 && memcmp(g1, g2, n1 * sizeof(uint32_t)) == 0,
       "grams fold case and numbers");

    llmr_features_extract(&req, &f, NULL, g3, 4, &n3);
    is_int(n3, 4, "grams stop at the buffer's end");
    ok(memcmp(g2, g3, sizeof(g3)) == 0, "a short buffer gets a prefix");
}


static void
test_window(void)
{
    char             *buf;
    size_t            i, n;
    llmr_features_t   f;
    llmr_request_t    req;

    /* a long text is read in a bounded window: its head and its tail */

    n = 256 * 1024;
    buf = malloc(n + 1);
    if (buf == NULL) {
        ok(0, "malloc");
        return;
    }

    for (i = 0; i < n; i++) {
        buf[i] = "the quick brown fox jumps over the lazy dog. "[i % 45];
    }

    memcpy(buf + n - 40, "\nPlease prove the theorem rigorously.   ", 40);
    buf[n] = '\0';

    req_init(&req, buf);
    llmr_features_extract(&req, &f, NULL, NULL, 0, NULL);

    ok(f.user.bytes <= LLMR_USER_HEAD + LLMR_USER_TAIL,
       "256 KB: %zu bytes read", f.user.bytes);
    ok(f.user.kw[LLMR_KW_EXPERT_I] >= 1, "the tail is read");
    ok(f.units > 40000, "the length is the full length (%.0f words)",
       f.units);

    /* words past the matched head are counted all the same */

    req_init(&req, buf);
    req.last_user.len = 1400;
    req.last_user_bytes = 1400;
    llmr_features_extract(&req, &f, NULL, NULL, 0, NULL);
    ok(f.user.words >= 1400 / 45 * 9 - 9 && f.user.words <= 1400 / 45 * 9 + 9,
       "1400 bytes: %u words", f.user.words);

    free(buf);
}


static void
test_shape(void)
{
    int               n;
    size_t            i;
    llmr_class_t      c, d;
    llmr_features_t   f;
    llmr_request_t    req;

    static const struct {
        const char  *text;
        int          creative;
        int          open_math;
    } table[] = {
        { "Write a short story about a lighthouse keeper.", 1, 0 },
        { "Could you compose a poem about the rain?", 1, 0 },
        { "Pretend you are a pirate and describe your ship.", 1, 0 },
        { "Please act as a travel guide for Lisbon.", 1, 0 },
        { "Explain the plot of the story in two sentences.", 0, 0 },
        { "A school hired a retiree to act as a crossing guard.", 0, 0 },
        { "Which best describes the poem?\nA. sad\nB. happy\nC. angry\n"
          "D. calm\nAnswer:", 0, 0 },
        { "Write a function that tells a joke:\n```python\ndef joke():\n"
          "    return random.choice(jokes)\n```", 0, 0 },
        { "x+y = 4z, x*y = 4z^2, express x-y in z", 0, 1 },
        { "Solve for x: 2x + 3 = 11", 0, 1 },
        { "How many integers solve |x + 5| < 10", 0, 1 },
        { "What is 2 + 3?", 0, 0 },
        { "Why does this fail?\n```\nif (x == y + 1) { return x * 2; }\n"
          "```", 0, 0 },
        { "Solve for x.\nA. x = 1\nB. x = 2\nC. x = 3\nD. x = 4", 0, 0 }
    };

    /* quantities given through other ones, fractions counted apart */

    req_init(&req, "Ann has 12 apples. Bob has twice as many, Cy has 3 more "
             "than Bob, and Di gets a third of the rest: 3/4 of them red.");
    llmr_features_extract(&req, &f, NULL, NULL, 0, NULL);
    is_int(f.user.kw[LLMR_KW_RELATION_I], 4, "relations: twice, more than, "
           "a third, the rest");
    is_int(f.user.fractions, 1, "relations: 3/4 is a fraction");
    ok(fabs(f.x[LLMR_F_RELATIONS] - log2(6)) < 1e-12,
       "relations: log2(1 + 5)");

    req_init(&req, "Ann has 12 apples and Bob has 7 pears.");
    llmr_features_extract(&req, &f, NULL, NULL, 0, NULL);
    ok(f.x[LLMR_F_RELATIONS] == 0, "no relations: 0");

    /* creative asks and math to work out, and their look-alikes */

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        req_init(&req, table[i].text);
        llmr_features_extract(&req, &f, NULL, NULL, 0, NULL);

        /* the first line in the test's name */
        n = (int) strcspn(table[i].text, "\n");

        is_int(f.x[LLMR_F_CREATIVE] > 0, table[i].creative,
               "shape %zu: creative \"%.*s\"", i, n, table[i].text);
        is_int(f.x[LLMR_F_OPEN_MATH] > 0, table[i].open_math,
               "shape %zu: open math \"%.*s\"", i, n, table[i].text);
    }

    /* the hand-set weights: a story ranks below a report, an equation up */

    req_init(&req, "Write a short story about a lighthouse keeper who "
             "finds a message in a bottle.");
    llmr_classify(llmr_classifier_v1(), &req, &c);
    req_init(&req, "Write a short report about a lighthouse keeper who "
             "finds a message in a bottle.");
    llmr_classify(llmr_classifier_v1(), &req, &d);
    ok(c.score < d.score, "v1: a story (%.3f) below a report (%.3f)",
       c.score, d.score);
    ok(has_reason(&c, "creative_writing"), "v1: creative_writing");

    req_init(&req, "x+y = 4z, x*y = 4z^2, express x-y in z");
    llmr_classify(llmr_classifier_v1(), &req, &c);
    ok(has_reason(&c, "math_problem"), "v1: math_problem");
    ok(c.score > 0.5, "v1: an equation to work out is no lookup (%.3f)",
       c.score);

    /* the built-in model weighs the relations it learned */

    classify(word_problem, &c);
    ok(has_reason(&c, "quantity_relations"),
       "word problem: quantity_relations");
}
