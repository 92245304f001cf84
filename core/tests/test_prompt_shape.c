
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/classify.h>

#include "tap.h"
#include "../src/llmr_features.h"


/*
 * What a prompt is, whatever its wording: a few-shot prompt is scored by
 * its last question, and `code` is a domain only when there is code or
 * code is asked for.
 */


static void req_init(llmr_request_t *req, const char *user);
static void features(const char *user, llmr_features_t *f);
static void test_fewshot(void);
static void test_fewshot_not(void);
static void test_code_domain(void);


static const char  arc_question[] =
    "An astronomer observes that a planet rotates faster after a "
    "meteorite impact. Which is the most likely effect of this increase "
    "in rotation?\n"
    "A) Planetary years will become longer.\n"
    "B) Planetary gravity will become stronger.\n"
    "C) Planetary days will become shorter.\n"
    "D) Planetary density will decrease.\n"
    "Print only a single choice from \"A\" or \"B\" or \"C\" or \"D\" "
    "without explanation.\n"
    "Answer:";

static const char  arc_example[] =
    "A fold observed in layers of sedimentary rock most likely resulted "
    "from the\n"
    "A) cooling of flowing magma.\n"
    "B) converging of crustal plates.\n"
    "C) deposition of river sediments.\n"
    "D) solution of carbonate minerals.\n"
    "Print only a single choice from \"A\" or \"B\" or \"C\" or \"D\" "
    "without explanation.\n"
    "Answer:\n"
    "B\n\n";

static const char  wino_example[] =
    "Please answer with the letter of the correct answer.\n\n"
    "He never comes to my home, but I always go to his house because the "
    "_ is smaller.\n"
    "A) home\n"
    "B) house\n"
    "Print only a single choice from \"A\" or \"B\" without explanation. "
    "Answer:\n"
    "A\n\n";

static const char  wino_question[] =
    "Sarah was a much better surgeon than Maria so _ always got the "
    "easier cases.\n"
    "A) Maria\n"
    "B) Sarah\n"
    "Print only a single choice from \"A\" or \"B\" without explanation. "
    "Answer:";


int
main(void)
{
    test_fewshot();
    test_fewshot_not();
    test_code_domain();

    is_str(llmr_classifier_default_error() ? llmr_classifier_default_error()
           : "", "", "the built-in model loads");

    return tap_done();
}


static void
req_init(llmr_request_t *req, const char *user)
{
    memset(req, 0, sizeof(llmr_request_t));

    req->last_user.data = user;
    req->last_user.len = strlen(user);
    req->last_user_bytes = req->last_user.len;
    req->text_bytes = req->last_user.len;
    req->messages = 1;
    req->user_turns = 1;
    req->max_tokens = -1;
}


static void
features(const char *user, llmr_features_t *f)
{
    llmr_request_t  req;

    req_init(&req, user);
    llmr_features_extract(&req, f, NULL, NULL, 0, NULL);
}


static void
test_fewshot(void)
{
    int              i;
    char             buf[8192];
    size_t           n;
    llmr_class_t     c, d;
    llmr_request_t   req;
    llmr_features_t  f, g;

    /* five worked ARC questions, then one: the same as the one alone */

    n = 0;

    for (i = 0; i < 5; i++) {
        memcpy(buf + n, arc_example, sizeof(arc_example) - 1);
        n += sizeof(arc_example) - 1;
    }

    memcpy(buf + n, arc_question, sizeof(arc_question));

    features(buf, &f);
    features(arc_question, &g);

    is_int(f.examples, 5, "5-shot ARC: 5 worked examples");
    ok(f.asked == 5 * (sizeof(arc_example) - 1),
       "5-shot ARC: the question starts after the last answer (%zu)",
       f.asked);
    ok(f.user.words == g.user.words,
       "5-shot ARC: the words of the last question (%u, %u alone)",
       f.user.words, g.user.words);
    ok(f.x[LLMR_F_LENGTH] == g.x[LLMR_F_LENGTH],
       "5-shot ARC: the length of the last question");
    ok(f.x[LLMR_F_EXAMPLES] > 2.5 && f.x[LLMR_F_EXAMPLES] < 2.6,
       "5-shot ARC: examples = log2(6) (%.3f)", f.x[LLMR_F_EXAMPLES]);
    is_int(g.examples, 0, "the question alone: no worked example");
    ok(g.x[LLMR_F_EXAMPLES] == 0, "the question alone: examples = 0");

    /* the same tier as the question alone with the built-in model */

    req_init(&req, buf);
    llmr_classify(NULL, &req, &c);
    req_init(&req, arc_question);
    llmr_classify(NULL, &req, &d);
    ok(c.tier <= d.tier + 1 && c.tier != LLMR_TIER_EXPERT,
       "5-shot ARC: tier %d, alone %d", c.tier, d.tier);

    /* the context is not the examples: no long_context */

    ok(f.x[LLMR_F_CONTEXT] == 0, "5-shot ARC: no context from examples");

    /* Winogrande: "... Answer:" at the end of a line, the letter below */

    n = 0;

    for (i = 0; i < 5; i++) {
        memcpy(buf + n, wino_example, sizeof(wino_example) - 1);
        n += sizeof(wino_example) - 1;
    }

    memcpy(buf + n, wino_question, sizeof(wino_question));

    features(buf, &f);
    features(wino_question, &g);

    is_int(f.examples, 5, "5-shot Winogrande: 5 worked examples");
    ok(f.user.words == g.user.words,
       "5-shot Winogrande: the words of the last question (%u, %u alone)",
       f.user.words, g.user.words);

    req_init(&req, buf);
    llmr_classify(NULL, &req, &c);
    ok(c.tier != LLMR_TIER_EXPERT, "5-shot Winogrande: not expert (%d)",
       c.tier);

    /* Q: / A: pairs, answers on the marker's line */

    features("Q: What is 2 + 3?\nA: 5\n\n"
             "Q: What is 7 - 4?\nA: 3\n\n"
             "Q: What is 6 * 7?\nA: 42\n\n"
             "Q: Prove that there are infinitely many primes.\nA:", &f);
    is_int(f.examples, 3, "Q:/A: pairs: 3 worked examples");
    ok(f.user.kw[LLMR_KW_EXPERT_I] >= 1, "Q:/A: the last question is read");
    ok(f.user.words <= 10, "Q:/A: only the last question (%u words)",
       f.user.words);

    /* "Answer: B" on one line, then the next question */

    features("Which gas do plants absorb?\nA. oxygen\nB. carbon dioxide\n"
             "Answer: B\n\n"
             "Which planet is largest?\nA. Mars\nB. Jupiter\n"
             "Answer: B\n\n"
             "Which metal is liquid at room temperature?\nA. iron\n"
             "B. mercury\nAnswer:", &f);
    is_int(f.examples, 2, "Answer: X lines: 2 worked examples");
    ok(f.user.words <= 12, "Answer: X: the last question (%u words)",
       f.user.words);

    /* input / output examples */

    features("Convert to upper case.\n"
             "Input: hello world\nOutput: HELLO WORLD\n\n"
             "Input: good morning\nOutput: GOOD MORNING\n\n"
             "Input: see you soon\nOutput:", &f);
    is_int(f.examples, 2, "Input/Output: 2 worked examples");

    /* the count is bounded */

    n = 0;

    for (i = 0; i < 20; i++) {
        n += snprintf(buf + n, sizeof(buf) - n, "Q: %d + 1?\nA: %d\n\n",
                      i, i + 1);
    }

    snprintf(buf + n, sizeof(buf) - n, "Q: 99 + 1?\nA:");

    features(buf, &f);
    is_int(f.examples, LLMR_FEWSHOT_MAX, "20 pairs: examples capped at %d",
           LLMR_FEWSHOT_MAX);
}


static void
test_fewshot_not(void)
{
    llmr_features_t  f;

    /* a zero-shot question with its own answer slot */

    features(arc_question, &f);
    is_int(f.examples, 0, "zero-shot: no example");
    ok(f.asked == 0, "zero-shot: the whole turn");

    /* one worked example is not a few-shot prompt */

    features("Which gas do plants absorb?\nA. oxygen\nB. carbon dioxide\n"
             "Answer: B\n\n"
             "Now explain in detail why photosynthesis needs light.", &f);
    is_int(f.examples, 0, "one example: not few-shot");

    /* "A:" choices without a "Q:" are no answers */

    features("Which of these is a prime?\nA: 21\nB: 23\nC: 25\n\n"
             "Which of these is even?\nA: 3\nB: 4\nC: 5\n\n"
             "Explain both answers.", &f);
    is_int(f.examples, 0, "A: choices: no example");

    /* prose that talks about answers */

    features("I wrote an answer: it was wrong.\nThe answer: wrong again.\n"
             "Can you tell me what the right answer is to my homework?", &f);
    ok(f.asked == 0 || f.user.words > 3,
       "answer in prose: the question is kept (%u words)", f.user.words);

    /* the final answer slot after worked answers is not one of them */

    features("Q: a?\nA: b\n\nQ: c?\nA:", &f);
    is_int(f.examples, 0, "one pair then the slot: not few-shot");
}


static void
test_code_domain(void)
{
    size_t           i;
    llmr_features_t  f;

    static const char  *not_code[] = {
        /* networking and protocols */
        "Explain how TCP congestion control works, then compare Reno, "
        "CUBIC and BBR: how each reacts to loss and delay, and which "
        "suits a high-latency satellite link.",
        "What is the difference between HTTP/2 and HTTP/3, and why does "
        "QUIC run over UDP?",
        "How does the Raft consensus protocol elect a leader after a "
        "network partition?",
        "Describe the throughput and latency trade-offs of a distributed "
        "cache in front of a database server.",
        /* configuration in words */
        "My router's settings page has a firewall section and a port "
        "forwarding section; which should I change so my game server is "
        "reachable?",
        /* math notation */
        "Let f(x) = x^2 + 3x - 4. Find the roots and the vertex of the "
        "parabola.",
        "Prove that the sum of the first n odd numbers is n^2.",
        /* shell words in English */
        "Please return the library book before the class starts; the "
        "shell I found on the beach is in the public room.",
        "The thread of the story gets lost in the middle: how can I keep "
        "the reader on track in a loop of flashbacks?",
        "What is the function of the liver, and what happens when it "
        "fails?",
        "Write a short program for our school's spring concert: the "
        "order of the pieces and who plays them."
    };

    static const char  *code[] = {
        "Write a function to find the shared elements from the given two "
        "lists.",
        "Write a Python script that renames every .txt file in a folder.",
        "Fix this: for (i = 0; i < n; i++) { sum += a[i]; }",
        "Why does my SQL query return duplicates when I join orders and "
        "customers?",
        "Can you review this code?\n```\nint main(void) {\n"
        "    return 0;\n}\n```",
        "Implement a function that checks whether a linked list has a "
        "cycle.",
        "How do I fix a segfault in my C program when I free a pointer "
        "twice?",
        "Write a regex that matches a UK postcode.",
        "My docker container exits with code 137, why?"
    };

    for (i = 0; i < sizeof(not_code) / sizeof(not_code[0]); i++) {
        features(not_code[i], &f);
        ok(f.domain != LLMR_DOMAIN_CODE, "not code: \"%.40s...\" (%d)",
           not_code[i], f.domain);
        ok(f.x[LLMR_F_CODE] == 0, "not code: no code evidence (%.2f)",
           f.x[LLMR_F_CODE]);
    }

    for (i = 0; i < sizeof(code) / sizeof(code[0]); i++) {
        features(code[i], &f);
        ok(f.domain == LLMR_DOMAIN_CODE, "code: \"%.40s...\" (%d)",
           code[i], f.domain);
    }
}
