
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <math.h>
#include <string.h>
#include <strings.h>

#include "llmr_features.h"
#include "llmr_vocab.h"


/*
 * max_tokens above LLMR_LONG_OUTPUT asks for a long answer: the feature
 * is log2 of how many times longer, capped at LLMR_LONG_OUTPUT_MAX (16
 * times: 16k tokens and more weigh alike); LLMR_SHORT_OUTPUT or less asks
 * for a short one (a word, a number, a label).
 */
#define LLMR_LONG_OUTPUT        1024
#define LLMR_LONG_OUTPUT_MAX    4
#define LLMR_SHORT_OUTPUT       64


static double llmr_features_units(const llmr_text_stats_t *u, double full);
static void llmr_features_domain(llmr_features_t *f, double code,
    double math);
static void llmr_features_asks(llmr_features_t *f, const unsigned *n,
    double units, double code, double math);
static void llmr_features_context(llmr_features_t *f,
    const llmr_request_t *req, double full);
static void llmr_features_shape(llmr_features_t *f, double code);
static size_t llmr_features_last_question(const unsigned char *text,
    size_t len, unsigned *examples);
static size_t llmr_line_marker(const unsigned char *p,
    const unsigned char *end, unsigned *question);
static double llmr_log2p(double v);
static double llmr_clamp01(double v);


static const char  *const llmr_feature_names[LLMR_F_N] = {
    [LLMR_F_LENGTH] = "length",
    [LLMR_F_GREETING] = "greeting",
    [LLMR_F_SIMPLE_ASK] = "simple_ask",
    [LLMR_F_EXPLAIN] = "explain",
    [LLMR_F_COMPLEX_ASK] = "complex_ask",
    [LLMR_F_EXPERT_ASK] = "expert_ask",
    [LLMR_F_CONSTRAINTS] = "constraints",
    [LLMR_F_STEPS] = "steps",
    [LLMR_F_MULTI_PART] = "multi_part",
    [LLMR_F_REASON_WORDS] = "reason_words",
    [LLMR_F_CODE] = "code",
    [LLMR_F_MATH] = "math",
    [LLMR_F_NUMBERS] = "numbers",
    [LLMR_F_VOCAB] = "vocab",
    [LLMR_F_HIGH_STAKES] = "high_stakes",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_GENERAL] = "domain_general",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_CODE] = "domain_code",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_MATH] = "domain_math",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_SCIENCE] = "domain_science",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_ANALYSIS] = "domain_analysis",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_MEDICAL] = "domain_medical",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_LEGAL] = "domain_legal",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_FINANCE] = "domain_finance",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_CREATIVE] = "domain_creative",
    [LLMR_F_DOMAIN + LLMR_DOMAIN_HUMANITIES] = "domain_humanities",
    [LLMR_F_REASONING] = "reasoning",
    [LLMR_F_IMAGES] = "images",
    [LLMR_F_TOOLS] = "tools",
    [LLMR_F_TOOL_RESULTS] = "tool_results",
    [LLMR_F_TURNS] = "turns",
    [LLMR_F_CONTEXT] = "context",
    [LLMR_F_CONTEXT_ASK] = "context_ask",
    [LLMR_F_LONG_OUTPUT] = "long_output",
    [LLMR_F_SHORT_OUTPUT] = "short_output",
    [LLMR_F_JSON_OUTPUT] = "json_output",
    [LLMR_F_SENTENCES] = "sentences",
    [LLMR_F_QUESTIONS] = "questions",
    [LLMR_F_LIST_ITEMS] = "list_items",
    [LLMR_F_LINES] = "lines",
    [LLMR_F_MATH_OPS] = "math_ops",
    [LLMR_F_NUMBER_SHARE] = "number_share",
    [LLMR_F_LONG_SHARE] = "long_share",
    [LLMR_F_WORD_BYTES] = "word_bytes",
    [LLMR_F_NONASCII_SHARE] = "nonascii_share",
    [LLMR_F_CONDITIONS] = "conditions",
    [LLMR_F_MATH_WORDS] = "math_words",
    [LLMR_F_CODE_WORDS] = "code_words",
    [LLMR_F_DOMAIN_WORDS] = "domain_words",
    [LLMR_F_SYSTEM] = "system",
    [LLMR_F_RELATIONS] = "relations",
    [LLMR_F_CREATIVE] = "creative",
    [LLMR_F_OPEN_MATH] = "open_math",
    [LLMR_F_EXAMPLES] = "examples"
};


/*
 * Length in words; bytes / 8 stands in for scripts written without
 * blanks, and a text cut by the extractor's caps (or the scan limit) is
 * extrapolated to its full size (full, the last user turn's bytes).
 */

static double
llmr_features_units(const llmr_text_stats_t *u, double full)
{
    double  units;

    units = u->words;

    if (units < u->bytes / 8.0) {
        units = u->bytes / 8.0;
    }

    if (u->bytes && full > u->bytes) {
        units *= full / u->bytes;
    }

    return units;
}


/* the domain: the last user turn first, else the conversation */

static void
llmr_features_domain(llmr_features_t *f, double code, double math)
{
    int                       i, best;
    double                    d[LLMR_DOMAIN_N];
    const llmr_text_stats_t  *u, *sy, *hi;

    u = &f->user;
    sy = &f->system;
    hi = &f->history;

    for (i = 0; i < LLMR_DOMAIN_N; i++) {
        d[i] = u->dom[i];
    }

    /*
     * Code only when there is code, or it is named beyond doubt (a
     * language, a tool, "write a function"): the words that code shares
     * with English prose ("return", "class", "shell", "thread", "server",
     * "latency") do not make networking, protocols or a configuration
     * described in words a coding task.
     */

    if (code < 2 && u->code_anchors == 0) {
        d[LLMR_DOMAIN_CODE] = 0;
    }

    d[LLMR_DOMAIN_CODE] += code;
    d[LLMR_DOMAIN_MATH] += math;

    if (u->numbers >= 3) {
        d[LLMR_DOMAIN_MATH] += 0.25 * (u->numbers < 8 ? u->numbers : 8);
    }

    best = LLMR_DOMAIN_GENERAL;

    for (i = 1; i < LLMR_DOMAIN_N; i++) {
        if (d[i] > d[best]) {
            best = i;
        }
    }

    if (d[best] >= 1.0) {
        f->domain = best;
        f->domain_from_user = 1;

    } else {
        for (i = 0; i < LLMR_DOMAIN_N; i++) {
            d[i] = 0.5 * sy->dom[i] + 0.25 * hi->dom[i];
        }

        if (sy->code_anchors + hi->code_anchors + hi->code_fences == 0) {
            d[LLMR_DOMAIN_CODE] = 0;
        }

        d[LLMR_DOMAIN_CODE] += 0.25 * (2.0 * hi->code_fences
                                       + hi->code_lines);

        best = LLMR_DOMAIN_GENERAL;

        for (i = 1; i < LLMR_DOMAIN_N; i++) {
            if (d[i] > d[best]) {
                best = i;
            }
        }

        if (d[best] >= 1.0) {
            f->domain = best;
        }
    }

    f->domain_score = d[f->domain];

    if (f->domain_from_user
        && (f->domain == LLMR_DOMAIN_MEDICAL || f->domain == LLMR_DOMAIN_LEGAL
            || f->domain == LLMR_DOMAIN_FINANCE)
        && u->stakes[f->domain])
    {
        f->high_stakes = 1;
    }
}


/*
 * What the last user turn asks: n[] holds the keyword counts that count
 * (see llmr_features_extract()), code and math the notation found.
 */

static void
llmr_features_asks(llmr_features_t *f, const unsigned *n, double units,
    double code, double math)
{
    double                    content;
    const llmr_text_stats_t  *u;

    u = &f->user;

    f->x[LLMR_F_LENGTH] = llmr_log2p(units) - 4;

    content = u->kw[LLMR_KW_EXPLAIN_I] + u->kw[LLMR_KW_COMPLEX_I]
              + u->kw[LLMR_KW_EXPERT_I] + u->kw[LLMR_KW_CONSTRAINT_I]
              + u->kw[LLMR_KW_STEP_I] + u->kw[LLMR_KW_CODE_I]
              + u->kw[LLMR_KW_MATH_I] + u->kw[LLMR_KW_STAKES_I]
              + u->kw[LLMR_KW_REASON_I] + code + math;

    if (u->kw[LLMR_KW_GREETING_I] && content == 0) {
        /* a greeting and not much else */
        f->x[LLMR_F_GREETING] =
            llmr_clamp01(1 - (units - 3.0 * u->kw[LLMR_KW_GREETING_I]) / 4);
    }

    if (u->kw[LLMR_KW_SIMPLE_I] && u->kw[LLMR_KW_COMPLEX_I] == 0
        && u->kw[LLMR_KW_EXPERT_I] == 0 && u->kw[LLMR_KW_STAKES_I] == 0)
    {
        f->x[LLMR_F_SIMPLE_ASK] = llmr_clamp01(1 - (units - 8) / 16);
    }

    f->x[LLMR_F_EXPLAIN] = llmr_log2p(n[LLMR_KW_EXPLAIN_I]);
    f->x[LLMR_F_COMPLEX_ASK] = llmr_log2p(n[LLMR_KW_COMPLEX_I]);
    f->x[LLMR_F_EXPERT_ASK] = llmr_log2p(n[LLMR_KW_EXPERT_I]);
    f->x[LLMR_F_CONSTRAINTS] = llmr_log2p(n[LLMR_KW_CONSTRAINT_I]);
    f->x[LLMR_F_STEPS] = llmr_log2p(n[LLMR_KW_STEP_I]);
    f->x[LLMR_F_MULTI_PART] =
        llmr_log2p((u->questions > 1 ? u->questions - 1 : 0)
                   + n[LLMR_KW_MULTI_I] + (f->task ? u->list_items : 0));
    f->x[LLMR_F_REASON_WORDS] = llmr_log2p(n[LLMR_KW_REASON_I]);
    f->x[LLMR_F_CODE] = f->code / (f->code + 3);
    f->x[LLMR_F_MATH] = f->math / (f->math + 3);
    f->x[LLMR_F_NUMBERS] = llmr_log2p(u->numbers);
    f->x[LLMR_F_VOCAB] = llmr_log2p(u->long_words);
    f->x[LLMR_F_HIGH_STAKES] = f->high_stakes;

    f->x[LLMR_F_DOMAIN + LLMR_DOMAIN_GENERAL] = 0;
    f->x[LLMR_F_DOMAIN + f->domain] = 1;
}


/*
 * The request around the last turn: what it asks for (reasoning, tools,
 * output), the earlier conversation's size and its hard-task words.
 */

static void
llmr_features_context(llmr_features_t *f, const llmr_request_t *req,
    double full)
{
    double                    words;
    const llmr_text_stats_t  *sy, *hi;

    sy = &f->system;
    hi = &f->history;

    f->x[LLMR_F_REASONING] = req->reasoning;
    f->x[LLMR_F_IMAGES] = llmr_log2p(req->images);
    f->x[LLMR_F_TOOLS] = llmr_log2p(req->tools);
    f->x[LLMR_F_TOOL_RESULTS] = llmr_log2p(req->tool_results);
    f->x[LLMR_F_TURNS] = req->user_turns > 1 ? log2(req->user_turns) : 0;

    words = sy->words + hi->words;

    if (req->text_bytes > full && words < (req->text_bytes - full) / 6.0) {
        words = (req->text_bytes - full) / 6.0;
    }

    f->x[LLMR_F_CONTEXT] = llmr_log2p(words / 64);
    f->x[LLMR_F_CONTEXT_ASK] =
        llmr_log2p(0.5 * (sy->kw[LLMR_KW_COMPLEX_I] + sy->kw[LLMR_KW_EXPERT_I]
                          + sy->kw[LLMR_KW_CONSTRAINT_I]
                          + sy->kw[LLMR_KW_STEP_I])
                   + 0.25 * (hi->kw[LLMR_KW_COMPLEX_I]
                             + hi->kw[LLMR_KW_EXPERT_I]
                             + hi->kw[LLMR_KW_CONSTRAINT_I]
                             + hi->kw[LLMR_KW_STEP_I]));

    if (req->max_tokens > LLMR_LONG_OUTPUT) {
        f->x[LLMR_F_LONG_OUTPUT] = log2(req->max_tokens
                                        / (double) LLMR_LONG_OUTPUT);

        if (f->x[LLMR_F_LONG_OUTPUT] > LLMR_LONG_OUTPUT_MAX) {
            f->x[LLMR_F_LONG_OUTPUT] = LLMR_LONG_OUTPUT_MAX;
        }
    }

    f->x[LLMR_F_SHORT_OUTPUT] = (req->max_tokens > 0
                                 && req->max_tokens <= LLMR_SHORT_OUTPUT);
    f->x[LLMR_F_JSON_OUTPUT] = req->json_output;
}


/* the shape of the last turn, for the learned layer */

static void
llmr_features_shape(llmr_features_t *f, double code)
{
    const llmr_text_stats_t  *u;

    u = &f->user;

    f->x[LLMR_F_SENTENCES] = llmr_log2p(u->sentences);
    f->x[LLMR_F_QUESTIONS] = llmr_log2p(u->questions);
    f->x[LLMR_F_LIST_ITEMS] = llmr_log2p(u->list_items);
    f->x[LLMR_F_LINES] = llmr_log2p(u->lines);
    f->x[LLMR_F_MATH_OPS] = llmr_log2p(u->math_ops);

    if (u->words) {
        f->x[LLMR_F_NUMBER_SHARE] = (double) u->numbers / u->words;
        f->x[LLMR_F_LONG_SHARE] = (double) u->long_words / u->words;
        f->x[LLMR_F_WORD_BYTES] = u->bytes / (8.0 * u->words);

        if (f->x[LLMR_F_WORD_BYTES] > 4) {
            f->x[LLMR_F_WORD_BYTES] = 4;
        }
    }

    if (u->bytes) {
        f->x[LLMR_F_NONASCII_SHARE] = (double) u->nonascii / u->bytes;
    }

    f->x[LLMR_F_CONDITIONS] = llmr_log2p(u->kw[LLMR_KW_CONSTRAINT_I]
                                         + u->kw[LLMR_KW_STEP_I]);
    f->x[LLMR_F_MATH_WORDS] = llmr_log2p(u->kw[LLMR_KW_MATH_I]);
    f->x[LLMR_F_CODE_WORDS] = llmr_log2p(u->kw[LLMR_KW_CODE_I]);
    f->x[LLMR_F_DOMAIN_WORDS] = llmr_log2p(f->domain_score);
    f->x[LLMR_F_SYSTEM] = llmr_log2p(f->system.words / 16.0);

    /*
     * Problem shape: quantities given through other ones; creative
     * writing or a role asked for; math to work out with no answer
     * choices to pick from (symbols between operators, not in code: an
     * equation, an inequality).
     */

    f->x[LLMR_F_RELATIONS] = llmr_log2p(u->kw[LLMR_KW_RELATION_I]
                                        + u->fractions);

    if (u->choices < 2 && f->code < 2) {
        /* not a choice ("D. Acts as a cofactor"), not code to write */
        f->x[LLMR_F_CREATIVE] =
            llmr_clamp01(u->kw_ask[LLMR_KW_PERSONA_I]
                         + (u->kw_ask[LLMR_KW_COMPOSE_I]
                            ? u->kw[LLMR_KW_GENRE_I]
                              + u->kw[LLMR_KW_PERSONA_I]
                            : 0));
    }

    if (u->choices < 2 && code < 2 && u->math_ops && u->math_syms) {
        f->x[LLMR_F_OPEN_MATH] = 1;
    }

    f->x[LLMR_F_EXAMPLES] = llmr_log2p(f->examples);
}


/*
 * A few-shot prompt is classified by its last question, not by the
 * worked examples before it: their length is the prompt's format, the
 * same for an easy question and a hard one.  The last LLMR_FEWSHOT_SCAN
 * bytes are read line by line for worked answers: a line that starts
 * with "Answer:", "Output:" or, after a "Q:" or "Question:" line, "A:",
 * or that ends with "Answer:".  The answer is the rest of that line, or
 * the next non-blank line when the marker ends its line; it is a worked
 * one when more text follows it.  Returns where the text after the last
 * worked answer starts when there are LLMR_FEWSHOT_MIN of them or more,
 * else 0; *examples counts them (at most LLMR_FEWSHOT_MAX).
 */

static size_t
llmr_features_last_question(const unsigned char *text, size_t len,
    unsigned *examples)
{
    size_t                after, from;
    unsigned              n, question, bare;
    const unsigned char  *p, *end, *nl, *q;

    *examples = 0;

    if (text == NULL || len < 32) {
        return 0;
    }

    end = text + len;
    p = text;

    if (len > LLMR_FEWSHOT_SCAN) {
        /* from the first whole line of the window */
        p = memchr(end - LLMR_FEWSHOT_SCAN, '\n', LLMR_FEWSHOT_SCAN);

        if (p == NULL) {
            return 0;
        }

        p++;
    }

    n = 0;
    after = 0;
    question = 0;

    while (p < end) {
        nl = memchr(p, '\n', end - p);
        nl = nl ? nl : end;

        from = llmr_line_marker(p, nl, &question);

        if (from) {
            /* the answer: the rest of the line, or the next line */

            q = p + from;
            bare = 1;

            while (q < nl) {
                if (!(llmr_ctype[*q] & LLMR_C_SPACE) && *q != '\r') {
                    bare = 0;
                    break;
                }

                q++;
            }

            if (bare) {
                q = nl;

                while (q < end && (*q == '\n' || *q == '\r'
                                   || (llmr_ctype[*q] & LLMR_C_SPACE)))
                {
                    q++;
                }

                if (q == end) {
                    /* the question's own answer slot */
                    break;
                }

                nl = memchr(q, '\n', end - q);
                nl = nl ? nl : end;
            }

            /* worked when a question follows it */

            q = nl;

            while (q < end && !(llmr_ctype[*q] & LLMR_C_WORD)) {
                q++;
            }

            if (q == end) {
                break;
            }

            n++;
            after = nl - text;
            question = 0;
        }

        p = nl + 1;
    }

    if (n < LLMR_FEWSHOT_MIN) {
        return 0;
    }

    *examples = n < LLMR_FEWSHOT_MAX ? n : LLMR_FEWSHOT_MAX;

    while (after < len && (llmr_ctype[text[after]] & LLMR_C_WORD) == 0) {
        after++;
    }

    return after;
}


/*
 * Whether the line [p, end) marks an answer: the offset past the
 * marker's ':', 0 if it is none.  *question is set by a "Q:" or
 * "Question:" line, which an "A:" line needs before it.
 */

static size_t
llmr_line_marker(const unsigned char *p, const unsigned char *end,
    unsigned *question)
{
    size_t                n, i;
    const unsigned char  *s, *e;

    s = p;

    while (s < end && (llmr_ctype[*s] & LLMR_C_SPACE)) {
        s++;
    }

    e = end;

    while (e > s && ((llmr_ctype[e[-1]] & LLMR_C_SPACE) || e[-1] == '\r')) {
        e--;
    }

    n = e - s;

    if (n < 2) {
        return 0;
    }

    if ((s[0] | 0x20) == 'q' && s[1] == ':') {
        *question = 1;
        return 0;
    }

    if (n >= 9 && strncasecmp((const char *) s, "question:", 9) == 0) {
        *question = 1;
        return 0;
    }

    if ((s[0] | 0x20) == 'a' && s[1] == ':') {
        return *question ? (size_t) (s + 2 - p) : 0;
    }

    if (n >= 7 && strncasecmp((const char *) s, "answer:", 7) == 0) {
        return s + 7 - p;
    }

    if (n >= 7 && strncasecmp((const char *) s, "output:", 7) == 0) {
        return s + 7 - p;
    }

    /* "... without explanation. Answer:" */

    if (n >= 7) {
        for (i = 0; i < 7; i++) {
            if ((e[i - 7] | 0x20) != (unsigned char) "answer:"[i]) {
                return 0;
            }
        }

        return e - p;
    }

    return 0;
}


void
llmr_features_extract(const llmr_request_t *req, llmr_features_t *f,
    const llmr_grams_t *gm, uint32_t *grams, size_t max_grams,
    size_t *ngrams)
{
    int                       i;
    double                    units, full, turn, code, math;
    unsigned                  n[LLMR_KW_N];
    const llmr_text_stats_t  *u;

    /* the text stats are zeroed by llmr_text_scan(), the rest here */

    f->units = 0;
    f->code = 0;
    f->math = 0;
    f->domain_score = 0;
    f->domain = LLMR_DOMAIN_GENERAL;
    f->domain_from_user = 0;
    f->task = 0;
    f->high_stakes = 0;
    f->empty = 0;
    f->examples = 0;
    f->asked = 0;

    memset(f->x, 0, sizeof(f->x));
    f->x[LLMR_F_DOMAIN + LLMR_DOMAIN_GENERAL] = 1;
    f->x[LLMR_F_LENGTH] = -4;

    if (req == NULL) {
        llmr_text_scan(NULL, 0, &f->user, grams, max_grams, ngrams);
        llmr_text_scan(NULL, 0, &f->system, NULL, 0, NULL);
        llmr_text_scan(NULL, 0, &f->history, NULL, 0, NULL);
        f->empty = 1;
        return;
    }

    f->asked = llmr_features_last_question(
                   (const unsigned char *) req->last_user.data,
                   req->last_user.len, &f->examples);

    llmr_text_scan_window(req->last_user.data + f->asked,
                          req->last_user.len - f->asked,
                          LLMR_USER_HEAD, LLMR_USER_TAIL,
                          LLMR_USER_FULL_HEAD, LLMR_USER_FULL_TAIL, gm,
                          &f->user, grams, max_grams, ngrams);
    llmr_text_scan_window(req->system.data, req->system.len,
                          LLMR_CONTEXT_TEXT, 0, LLMR_CONTEXT_FULL, 0, NULL,
                          &f->system, NULL, 0, NULL);
    llmr_text_scan_window(req->history.data, req->history.len,
                          0, LLMR_CONTEXT_TEXT, 0, LLMR_CONTEXT_FULL, NULL,
                          &f->history, NULL, 0, NULL);

    u = &f->user;

    f->empty = (u->words == 0 && req->images == 0);

    full = req->last_user_bytes;

    if (full < req->last_user.len) {
        full = req->last_user.len;
    }

    turn = full;

    if (f->asked) {
        /* the question after the worked examples: its own length */
        full = req->last_user.len - f->asked;
    }

    units = llmr_features_units(u, full);
    f->units = units;

    /* code and math notation */

    code = 2.0 * u->code_fences + u->code_lines + 0.5 * u->code_ops
           + 0.25 * u->brackets + 0.25 * u->code_ticks;
    math = u->math_ops + 2.0 * u->latex + u->math_syms;

    if (code >= 2) {
        /* in code, "i += 1" and "a[i] <= b[j]" are not math */
        math = 2.0 * u->latex + u->math_syms;
    }

    /*
     * A task: something is asked (a keyword in an asking position, an
     * explicit request) or there is code to work on.  In a task every
     * keyword counts; without one only the asking ones do, so that a
     * passage about a design or a theorem is not taken for a design or
     * proof task.
     */

    f->task = (u->kw_ask[LLMR_KW_EXPLAIN_I] + u->kw_ask[LLMR_KW_COMPLEX_I]
               + u->kw_ask[LLMR_KW_EXPERT_I] + u->kw_ask[LLMR_KW_MATH_I]
               + u->kw[LLMR_KW_REQUEST_I] > 0)
              || code >= 2;

    for (i = 0; i < LLMR_KW_N; i++) {
        n[i] = f->task ? u->kw[i] : u->kw_ask[i];
    }

    /* notation counts when there is enough of it, vocabulary half */

    f->code = (code >= 2 ? code : 0)
              + ((code >= 2 || u->code_anchors) ? 0.5 * n[LLMR_KW_CODE_I]
                                                : 0);
    f->math = (math >= 2 ? math : 0) + 0.5 * n[LLMR_KW_MATH_I];

    llmr_features_domain(f, code, math);

    /* the vector */

    llmr_features_asks(f, n, units, code, math);
    llmr_features_context(f, req, turn);
    llmr_features_shape(f, code);
}


static double
llmr_log2p(double v)
{
    return v > 0 ? log2(1 + v) : 0;
}


static double
llmr_clamp01(double v)
{
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}


const char *
llmr_feature_name(int i)
{
    if (i < 0 || i >= LLMR_F_N) {
        return NULL;
    }

    return llmr_feature_names[i];
}


int
llmr_feature_index(const char *name, size_t len)
{
    int  i;

    for (i = 0; i < LLMR_F_N; i++) {
        if (strlen(llmr_feature_names[i]) == len
            && memcmp(llmr_feature_names[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}
