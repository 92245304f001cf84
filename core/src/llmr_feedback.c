
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include <llmr/feedback.h>
#include <llmr/classify.h>
#include <llmr/policy.h>


/* explicit feedback */

#define LLMR_FB_KEY_OTHER       0
#define LLMR_FB_KEY_ID          1
#define LLMR_FB_KEY_QUALITY     2
#define LLMR_FB_KEY_SUCCESS     3
#define LLMR_FB_KEY_RATING      4
#define LLMR_FB_KEY_N           5

/* a learned state line: DOMAIN TIER offset=N weight=W,... quality=Q,... */
#define LLMR_STATE_FIELDS       5
#define LLMR_STATE_OFFSET       "offset="

/*
 * A sum of weights or qualities read back: finite and far below where a
 * double stops counting by ones; a quality may pass its weight by the
 * rounding of the printed sums only.
 */
#define LLMR_STATE_VALUE_MAX    1e15
#define LLMR_STATE_ROUNDING     1e-9


typedef struct {
    llmr_feedback_t            *fb;
    char                       *err;
    size_t                      errlen;
    int                         depth;
    int                         key;        /* of the value to come */
    unsigned                    seen;       /* keys met, a bit each */
    unsigned                    failed:1;   /* err is set */
} llmr_fb_parse_t;


static const char  *llmr_fb_keys[LLMR_FB_KEY_N] = {
    NULL, "request_id", "quality", "success", "rating"
};


static int llmr_fb_fail(llmr_fb_parse_t *p, const char *fmt, ...);
static int llmr_fb_scalar(llmr_fb_parse_t *p, const char *type);
static int llmr_fb_null(void *ctx);
static int llmr_fb_boolean(void *ctx, int b);
static int llmr_fb_number(void *ctx, const char *s, size_t len);
static int llmr_fb_string(void *ctx, const unsigned char *s, size_t len);
static int llmr_fb_start_map(void *ctx);
static int llmr_fb_map_key(void *ctx, const unsigned char *s, size_t len);
static int llmr_fb_end(void *ctx);
static int llmr_fb_start_array(void *ctx);


static const yajl_callbacks  llmr_fb_callbacks = {
    llmr_fb_null,
    llmr_fb_boolean,
    NULL,
    NULL,
    llmr_fb_number,
    llmr_fb_string,
    llmr_fb_start_map,
    llmr_fb_map_key,
    llmr_fb_end,
    llmr_fb_start_array,
    llmr_fb_end
};


/* the first error wins; 0 to stop the parser */

static int
llmr_fb_fail(llmr_fb_parse_t *p, const char *fmt, ...)
{
    size_t   n;
    va_list  args;

    if (p->failed) {
        return 0;
    }

    p->failed = 1;

    if (p->errlen == 0) {
        return 0;
    }

    va_start(args, fmt);
    vsnprintf(p->err, p->errlen, fmt, args);
    va_end(args);

    /* yajl's messages end with a newline */

    n = strlen(p->err);

    while (n && (p->err[n - 1] == '\n' || p->err[n - 1] == ' ')) {
        p->err[--n] = '\0';
    }

    return 0;
}


/*
 * A value of the body's object: the field the last key named, if it is
 * one of ours; a value inside another value is nobody's field.
 */

static int
llmr_fb_field(llmr_fb_parse_t *p)
{
    int  key;

    if (p->depth != 1) {
        return LLMR_FB_KEY_OTHER;
    }

    key = p->key;
    p->key = LLMR_FB_KEY_OTHER;

    return key;
}


/* a value where the body itself is expected: it must be an object */

static int
llmr_fb_scalar(llmr_fb_parse_t *p, const char *type)
{
    if (p->depth == 0) {
        return llmr_fb_fail(p, "the body must be a JSON object, not %s",
                            type);
    }

    return 1;
}


static int
llmr_fb_null(void *ctx)
{
    int               key;
    llmr_fb_parse_t  *p;

    p = ctx;

    if (!llmr_fb_scalar(p, "null")) {
        return 0;
    }

    key = llmr_fb_field(p);

    if (key == LLMR_FB_KEY_ID) {
        return llmr_fb_fail(p, "\"%s\" must be a string",
                            llmr_fb_keys[key]);
    }

    /* an optional field given as null is a field left out */

    return 1;
}


static int
llmr_fb_boolean(void *ctx, int b)
{
    int               key;
    llmr_fb_parse_t  *p;

    p = ctx;

    if (!llmr_fb_scalar(p, "a boolean")) {
        return 0;
    }

    key = llmr_fb_field(p);

    switch (key) {

    case LLMR_FB_KEY_OTHER:
        return 1;

    case LLMR_FB_KEY_SUCCESS:
        p->fb->has_success = 1;
        p->fb->success = b ? 1 : 0;
        return 1;

    case LLMR_FB_KEY_ID:
        return llmr_fb_fail(p, "\"%s\" must be a string", llmr_fb_keys[key]);

    case LLMR_FB_KEY_QUALITY:
        return llmr_fb_fail(p, "\"%s\" must be a number from 0 to 1",
                            llmr_fb_keys[key]);

    default: /* LLMR_FB_KEY_RATING */
        return llmr_fb_fail(p, "\"%s\" must be an integer from 1 to 5",
                            llmr_fb_keys[key]);
    }
}


static int
llmr_fb_number(void *ctx, const char *s, size_t len)
{
    int               key;
    char              buf[LLMR_FEEDBACK_MAX_NUMBER + 1], *end;
    double            v;
    llmr_fb_parse_t  *p;

    p = ctx;

    if (!llmr_fb_scalar(p, "a number")) {
        return 0;
    }

    key = llmr_fb_field(p);

    if (key == LLMR_FB_KEY_OTHER) {
        return 1;
    }

    if (key == LLMR_FB_KEY_ID) {
        return llmr_fb_fail(p, "\"%s\" must be a string", llmr_fb_keys[key]);
    }

    if (key == LLMR_FB_KEY_SUCCESS) {
        return llmr_fb_fail(p, "\"%s\" must be true or false",
                            llmr_fb_keys[key]);
    }

    v = NAN;

    if (len <= LLMR_FEEDBACK_MAX_NUMBER) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        v = strtod(buf, &end);

        if (end != buf + len) {
            v = NAN;
        }
    }

    if (key == LLMR_FB_KEY_QUALITY) {
        if (!(v >= 0 && v <= 1)) {
            return llmr_fb_fail(p, "\"%s\" must be a number from 0 to 1",
                                llmr_fb_keys[key]);
        }

        p->fb->has_quality = 1;
        p->fb->quality = v;
        return 1;
    }

    /* LLMR_FB_KEY_RATING */

    if (!(v >= 1 && v <= 5) || v != floor(v)) {
        return llmr_fb_fail(p, "\"%s\" must be an integer from 1 to 5",
                            llmr_fb_keys[key]);
    }

    p->fb->has_rating = 1;
    p->fb->rating = (int) v;

    return 1;
}


static int
llmr_fb_string(void *ctx, const unsigned char *s, size_t len)
{
    int               key;
    size_t            i;
    unsigned char     c;
    llmr_fb_parse_t  *p;

    p = ctx;

    if (!llmr_fb_scalar(p, "a string")) {
        return 0;
    }

    key = llmr_fb_field(p);

    switch (key) {

    case LLMR_FB_KEY_OTHER:
        return 1;

    case LLMR_FB_KEY_QUALITY:
        return llmr_fb_fail(p, "\"%s\" must be a number from 0 to 1",
                            llmr_fb_keys[key]);

    case LLMR_FB_KEY_SUCCESS:
        return llmr_fb_fail(p, "\"%s\" must be true or false",
                            llmr_fb_keys[key]);

    case LLMR_FB_KEY_RATING:
        return llmr_fb_fail(p, "\"%s\" must be an integer from 1 to 5",
                            llmr_fb_keys[key]);

    default: /* LLMR_FB_KEY_ID */
        break;
    }

    if (len == 0) {
        return llmr_fb_fail(p, "\"%s\" is empty", llmr_fb_keys[key]);
    }

    if (len > LLMR_FEEDBACK_MAX_ID) {
        return llmr_fb_fail(p, "\"%s\" is longer than 64 bytes",
                            llmr_fb_keys[key]);
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        {
            return llmr_fb_fail(p, "\"%s\" may only have the characters "
                                "A-Z a-z 0-9 . _ -", llmr_fb_keys[key]);
        }
    }

    memcpy(p->fb->request_id, s, len);
    p->fb->request_id[len] = '\0';
    p->fb->id_len = len;

    return 1;
}


static int
llmr_fb_open(llmr_fb_parse_t *p)
{
    if (p->depth >= LLMR_FEEDBACK_MAX_DEPTH) {
        return llmr_fb_fail(p, "the body nests deeper than %d levels",
                            LLMR_FEEDBACK_MAX_DEPTH);
    }

    p->depth++;

    return 1;
}


static int
llmr_fb_start_map(void *ctx)
{
    int               key;
    llmr_fb_parse_t  *p;

    p = ctx;
    key = llmr_fb_field(p);

    if (key != LLMR_FB_KEY_OTHER) {
        return llmr_fb_fail(p, "\"%s\" must not be an object",
                            llmr_fb_keys[key]);
    }

    return llmr_fb_open(p);
}


static int
llmr_fb_start_array(void *ctx)
{
    int               key;
    llmr_fb_parse_t  *p;

    p = ctx;

    if (p->depth == 0) {
        return llmr_fb_fail(p, "the body must be a JSON object, not %s",
                            "an array");
    }

    key = llmr_fb_field(p);

    if (key != LLMR_FB_KEY_OTHER) {
        return llmr_fb_fail(p, "\"%s\" must not be an array",
                            llmr_fb_keys[key]);
    }

    return llmr_fb_open(p);
}


static int
llmr_fb_map_key(void *ctx, const unsigned char *s, size_t len)
{
    int               k;
    llmr_fb_parse_t  *p;

    p = ctx;
    p->key = LLMR_FB_KEY_OTHER;

    if (p->depth != 1) {
        return 1;
    }

    for (k = 1; k < LLMR_FB_KEY_N; k++) {
        if (strlen(llmr_fb_keys[k]) == len
            && memcmp(llmr_fb_keys[k], s, len) == 0)
        {
            if (p->seen & (1u << k)) {
                return llmr_fb_fail(p, "\"%s\" is given twice",
                                    llmr_fb_keys[k]);
            }

            p->seen |= 1u << k;
            p->key = k;
            break;
        }
    }

    return 1;
}


static int
llmr_fb_end(void *ctx)
{
    llmr_fb_parse_t  *p;

    p = ctx;
    p->depth--;

    return 1;
}


int
llmr_feedback_parse(const char *data, size_t len, llmr_feedback_t *fb,
    char *err, size_t errlen)
{
    size_t            n;
    yajl_handle       h;
    yajl_status       st;
    unsigned char    *msg;
    llmr_fb_parse_t   p;

    memset(fb, 0, sizeof(llmr_feedback_t));
    memset(&p, 0, sizeof(llmr_fb_parse_t));

    p.fb = fb;
    p.err = err;
    p.errlen = errlen;

    if (errlen) {
        err[0] = '\0';
    }

    if (len > LLMR_FEEDBACK_MAX_BODY) {
        llmr_fb_fail(&p, "the body is larger than %d bytes",
                     LLMR_FEEDBACK_MAX_BODY);
        return LLMR_ERROR;
    }

    for (n = 0; n < len; n++) {
        if (data[n] != ' ' && data[n] != '\t' && data[n] != '\r'
            && data[n] != '\n')
        {
            break;
        }
    }

    if (n == len) {
        llmr_fb_fail(&p, "the body is empty");
        return LLMR_ERROR;
    }

    h = yajl_alloc(&llmr_fb_callbacks, NULL, &p);
    if (h == NULL) {
        llmr_fb_fail(&p, "out of memory");
        return LLMR_ERROR;
    }

    st = yajl_parse(h, (const unsigned char *) data, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    if (st != yajl_status_ok && !p.failed) {
        msg = yajl_get_error(h, 0, (const unsigned char *) data, len);

        /* "lexical error: invalid char in json text." and the like */

        llmr_fb_fail(&p, "invalid JSON: %s",
                     msg ? (const char *) msg : "parse error");

        if (msg) {
            yajl_free_error(h, msg);
        }
    }

    yajl_free(h);

    if (p.failed) {
        memset(fb, 0, sizeof(llmr_feedback_t));
        return LLMR_ERROR;
    }

    if (fb->id_len == 0) {
        llmr_fb_fail(&p, "\"%s\" is required", "request_id");
        memset(fb, 0, sizeof(llmr_feedback_t));
        return LLMR_ERROR;
    }

    if (!fb->has_quality && !fb->has_success && !fb->has_rating) {
        llmr_fb_fail(&p, "one of \"quality\", \"success\" or \"rating\" "
                     "is required");
        memset(fb, 0, sizeof(llmr_feedback_t));
        return LLMR_ERROR;
    }

    return LLMR_OK;
}


double
llmr_feedback_quality(const llmr_feedback_t *fb)
{
    if (fb->has_quality) {
        return fb->quality;
    }

    if (fb->has_success) {
        return fb->success ? 1.0 : 0.0;
    }

    if (fb->has_rating) {
        return (fb->rating - 1) / 4.0;
    }

    return -1;
}


/* implicit quality */

static const char  *llmr_refusal_phrases[] = {
    "i cannot", "i can't help", "i can't assist", "i can't provide",
    "i'm unable", "i am unable", "i'm not able to", "i am not able to",
    "as an ai", "as a language model", NULL
};

static const char  *llmr_uncertain_phrases[] = {
    "i'm not sure", "i am not sure", "i'm not certain", "i am not certain",
    "i don't know", "i do not know", "i'm uncertain", "not entirely sure",
    "hard to say", NULL
};

static const char  *llmr_signal_names[] = {
    "error", "truncated", "empty", "refusal", "uncertain", "short", "cut"
};


static int
llmr_is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c >= 0x80;
}


/*
 * Does the phrase (lower case ASCII) start at s[0]?  Its "'" matches
 * "'" and U+2019; the text must not go on with a word character.
 */

static int
llmr_phrase_at(const unsigned char *s, size_t len, const char *phrase)
{
    size_t         i;
    unsigned char  c;

    i = 0;

    for ( /* void */ ; *phrase; phrase++) {
        if (i >= len) {
            return 0;
        }

        if (*phrase == '\'') {
            if (s[i] == '\'') {
                i++;
                continue;
            }

            if (len - i >= 3 && s[i] == 0xe2 && s[i + 1] == 0x80
                && s[i + 2] == 0x99)
            {
                i += 3;
                continue;
            }

            return 0;
        }

        c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char) (c + ('a' - 'A'));
        }

        if (c != (unsigned char) *phrase) {
            return 0;
        }

        i++;
    }

    return i == len || !llmr_is_word(s[i]);
}


static int
llmr_phrase_find(const char *text, size_t len, const char **phrases)
{
    size_t                i, k;
    uint32_t              firsts;
    unsigned              idx;
    unsigned char         c, c2, first, second;
    const unsigned char  *s;

    s = (const unsigned char *) text;

    /* the letters phrases start with; all bytes when one does not */

    firsts = 0;

    for (k = 0; phrases[k]; k++) {
        first = (unsigned char) phrases[k][0];
        firsts |= (first >= 'a' && first <= 'z') ? 1u << (first - 'a')
                                                 : 0xffffffff;
    }

    for (i = 0; i < len; i++) {

        /* s[i] | 0x20 is in 'a'..'z' for the letters alone */

        idx = (unsigned) ((s[i] | 0x20) - 'a');

        if (firsts != 0xffffffff && (idx >= 26 || !((firsts >> idx) & 1))) {
            continue;
        }

        c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char) (c + ('a' - 'A'));
        }

        if (i > 0 && llmr_is_word(s[i - 1])) {
            continue;
        }

        c2 = (i + 1 < len) ? s[i + 1] : 0;

        if (c2 >= 'A' && c2 <= 'Z') {
            c2 = (unsigned char) (c2 + ('a' - 'A'));
        }

        for (k = 0; phrases[k]; k++) {
            first = (unsigned char) phrases[k][0];

            if (first != c && first != '\'') {
                continue;
            }

            /* and their second byte ("'" is "'" or U+2019's first byte) */

            second = (unsigned char) phrases[k][1];

            if (first != '\'' && second != '\0'
                && (second == '\'' ? c2 != '\'' && c2 != 0xe2 : c2 != second))
            {
                continue;
            }

            if (llmr_phrase_at(s + i, len - i, phrases[k])) {
                return 1;
            }
        }
    }

    return 0;
}


double
llmr_implicit_quality(const llmr_usage_result_t *u, int http_status,
    int tier, int64_t max_tokens, unsigned *signals)
{
    double    q;
    int64_t   expect, answer;
    unsigned  sig;

    sig = 0;
    q = 1.0;

    if (http_status >= 400 || u->error) {
        sig |= LLMR_SIG_ERROR;
        q = -1;
        goto done;
    }

    if (u->invalid || (!u->done && u->finish == LLMR_FINISH_NONE)) {
        sig |= LLMR_SIG_CUT;
        q = -1;
        goto done;
    }

    if (u->text_bytes == 0 && u->finish != LLMR_FINISH_TOOL_CALLS) {
        sig |= LLMR_SIG_EMPTY;
        q = fmin(q, LLMR_IMPLICIT_EMPTY);
    }

    if (u->refusal || u->finish == LLMR_FINISH_CONTENT_FILTER
        || llmr_phrase_find(u->answer_head, u->answer_head_len,
                            llmr_refusal_phrases))
    {
        sig |= LLMR_SIG_REFUSAL;
        q = fmin(q, LLMR_IMPLICIT_REFUSAL);
    }

    if (u->truncated || u->finish == LLMR_FINISH_LENGTH) {
        sig |= LLMR_SIG_TRUNCATED;
        q = fmin(q, LLMR_IMPLICIT_TRUNCATED);
    }

    if (llmr_phrase_find(u->answer_head, u->answer_head_len,
                         llmr_uncertain_phrases))
    {
        sig |= LLMR_SIG_UNCERTAIN;
        q = fmin(q, LLMR_IMPLICIT_UNCERTAIN);
    }

    if (tier >= LLMR_TIER_MODERATE && tier < LLMR_TIER_N
        && u->text_bytes > 0 && u->finish != LLMR_FINISH_TOOL_CALLS
        && !(sig & LLMR_SIG_TRUNCATED))
    {
        expect = llmr_default_output_tokens(tier);

        if (max_tokens > 0 && max_tokens < expect) {
            expect = max_tokens;
        }

        answer = (int64_t) ((u->text_bytes + 3) / 4);

        if (answer * LLMR_IMPLICIT_SHORT_RATIO < expect) {
            sig |= LLMR_SIG_SHORT;
            q = fmin(q, LLMR_IMPLICIT_SHORT);
        }
    }

done:

    if (signals) {
        *signals = sig;
    }

    return q;
}


size_t
llmr_signals_format(unsigned signals, char *buf, size_t size)
{
    int     i;
    size_t  n, l;

    if (size == 0) {
        return 0;
    }

    n = 0;
    buf[0] = '\0';

    for (i = 0; i < (int) (sizeof(llmr_signal_names) / sizeof(char *));
         i++)
    {
        if (!(signals & (1u << i))) {
            continue;
        }

        l = strlen(llmr_signal_names[i]) + (n ? 1 : 0);

        if (n + l >= size) {
            break;
        }

        n += snprintf(buf + n, size - n, "%s%s", n ? "," : "",
                      llmr_signal_names[i]);
    }

    return n;
}


/* learning */

int
llmr_bucket(int domain, double score)
{
    int  sb;

    if (domain < 0 || domain >= LLMR_DOMAIN_N) {
        domain = LLMR_DOMAIN_GENERAL;
    }

    if (!(score > 0)) {
        score = 0;

    } else if (score > 1) {
        score = 1;
    }

    sb = (int) (score * LLMR_SCORE_BUCKETS);

    if (sb >= LLMR_SCORE_BUCKETS) {
        sb = LLMR_SCORE_BUCKETS - 1;
    }

    return domain * LLMR_SCORE_BUCKETS + sb;
}


void
llmr_bucket_parts(int bucket, int *domain, int *sbucket)
{
    if (bucket < 0 || bucket >= LLMR_BUCKETS) {
        *domain = -1;
        *sbucket = -1;
        return;
    }

    *domain = bucket / LLMR_SCORE_BUCKETS;
    *sbucket = bucket % LLMR_SCORE_BUCKETS;
}


void
llmr_bucket_stats_add(llmr_bucket_stats_t *s, int tier, double quality,
    double weight)
{
    if (tier < 0 || tier >= LLMR_TIER_N || !(quality >= 0 && quality <= 1)
        || !(weight > 0))
    {
        return;
    }

    s->weight[tier] += weight;
    s->quality[tier] += weight * quality;
}


void
llmr_learn_conf_init(llmr_learn_conf_t *c)
{
    int  t;

    memset(c, 0, sizeof(llmr_learn_conf_t));

    c->min_samples = 5;
    c->low = 0.6;
    c->high = 0.85;
    c->demote_samples = 20;
    c->max_offset = 2;
    c->explore = 0.05;
    c->implicit_weight = 0.3;
    c->gain = 0.1;
    c->shift = 0;
    c->shift_prior = 20;

    for (t = 0; t < LLMR_TIER_N; t++) {
        c->group[t] = t;
    }
}


void
llmr_learn_conf_groups(llmr_learn_conf_t *c, const llmr_registry_t *reg)
{
    int                t;
    llmr_class_t       cls;
    llmr_decision_t    d;
    llmr_route_opts_t  opts;

    llmr_route_opts_init(&opts);

    for (t = 0; t < LLMR_TIER_N; t++) {
        memset(&cls, 0, sizeof(llmr_class_t));
        cls.tier = t;
        cls.floor = LLMR_TIER_TRIVIAL;

        if (llmr_route(reg, NULL, &cls, &opts, &d) == LLMR_OK
            && d.model >= 0)
        {
            c->group[t] = d.model;

        } else {
            c->group[t] = LLMR_MODELS_MAX + t;
        }
    }
}


static int
llmr_clamp_tier(int t)
{
    return t < 0 ? 0 : (t >= LLMR_TIER_N ? LLMR_TIER_N - 1 : t);
}


/* the nearest tier above (dir 1) or below (-1) in another group, or -1 */

static int
llmr_learn_step(const llmr_learn_conf_t *c, int cur, int dir)
{
    int  t;

    for (t = cur + dir; t >= 0 && t < LLMR_TIER_N; t += dir) {
        if (c->group[t] != c->group[cur]) {
            return t;
        }
    }

    return -1;
}


/* the pooled evidence of t's group: its weight, and its mean in *mean */

static double
llmr_learn_pool(const llmr_learn_conf_t *c, const llmr_bucket_stats_t *s,
    int t, double *mean)
{
    int     u;
    double  w, q;

    w = 0;
    q = 0;

    for (u = 0; u < LLMR_TIER_N; u++) {
        if (c->group[u] == c->group[t]
            && s->weight[u] > 0 && s->quality[u] >= 0)
        {
            w += s->weight[u];
            q += s->quality[u];
        }
    }

    q = (w > 0) ? q / w : 0;
    *mean = (q < 0) ? 0 : (q > 1 ? 1 : q);

    return w;
}


/*
 * The standard error of the difference of two means of samples in 0..1
 * (m (1 - m) bounds a variance there): one of it is the margin a
 * comparison of two tiers needs before it moves anything.
 */

static double
llmr_learn_se(double m1, double w1, double m2, double w2)
{
    return sqrt(m1 * (1 - m1) / w1 + m2 * (1 - m2) / w2);
}


int
llmr_learn_offset(const llmr_learn_conf_t *c, const llmr_bucket_stats_t *s,
    int base_tier, int offset)
{
    int     cur, up, down;
    double  wc, mc, wu, mu, wd, md;

    base_tier = llmr_clamp_tier(base_tier);

    if (offset > c->max_offset) {
        offset = c->max_offset;
    }

    if (offset < LLMR_LEARN_MIN_OFFSET) {
        offset = LLMR_LEARN_MIN_OFFSET;
    }

    cur = llmr_clamp_tier(base_tier + offset);
    wc = llmr_learn_pool(c, s, cur, &mc);

    up = llmr_learn_step(c, cur, 1);

    if (up >= 0 && up - base_tier <= c->max_offset
        && wc >= c->min_samples
        && mc + sqrt(mc * (1 - mc) / wc) < c->low)
    {
        wu = llmr_learn_pool(c, s, up, &mu);

        if (!(wu >= c->min_samples
              && mu - mc + llmr_learn_se(mu, wu, mc, wc) < c->gain))
        {
            return up - base_tier;
        }
    }

    down = llmr_learn_step(c, cur, -1);

    if (down >= 0 && down - base_tier >= LLMR_LEARN_MIN_OFFSET) {
        wd = llmr_learn_pool(c, s, down, &md);

        if (wd >= c->demote_samples
            && (md - sqrt(md * (1 - md) / wd) >= c->high
                || (wc >= c->demote_samples
                    && mc - md + llmr_learn_se(mc, wc, md, wd)
                       < c->gain / 2)))
        {
            return down - base_tier;
        }
    }

    return offset;
}


/* a request hash as a uniform draw in [0, 1): splitmix64's finaliser */

static double
llmr_learn_draw(uint64_t request_hash)
{
    uint64_t  z;

    z = request_hash + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;

    return (double) (z >> 11) * (1.0 / 9007199254740992.0);
}


int
llmr_learn_explore(const llmr_learn_conf_t *c, int offset,
    uint64_t request_hash)
{
    /* with shifts on, exploration goes both ways: llmr_learn_explore_dir */

    if (offset <= LLMR_LEARN_MIN_OFFSET || !(c->explore > 0)
        || c->shift > 0)
    {
        return 0;
    }

    return llmr_learn_draw(request_hash) < c->explore;
}


int
llmr_learn_explore_dir(const llmr_learn_conf_t *c, uint64_t request_hash)
{
    double  x;

    if (!(c->shift > 0) || !(c->explore > 0)) {
        return 0;
    }

    x = llmr_learn_draw(request_hash);

    if (x >= c->explore) {
        return 0;
    }

    return (x < c->explore / 2) ? 1 : -1;
}


int
llmr_learn_step_tier(const llmr_learn_conf_t *c, int tier, int dir)
{
    return llmr_learn_step(c, llmr_clamp_tier(tier), dir < 0 ? -1 : 1);
}


void
llmr_learn_shifts(const llmr_learn_conf_t *c, const llmr_bucket_stats_t *s,
    size_t n, double *out)
{
    int      base, lo, hi;
    size_t   b;
    double   wlo, whi, mlo, mhi, gain, weight, d, prior;

    for (b = 0; b < n; b++) {
        out[b] = 0;
    }

    if (!(c->shift > 0)) {
        return;
    }

    prior = (c->shift_prior > 0) ? c->shift_prior : 0;

    for (base = 0; base < LLMR_TIER_N; base++) {

        lo = base;
        hi = llmr_learn_step(c, base, 1);

        if (hi < 0) {
            hi = base;
            lo = llmr_learn_step(c, base, -1);

            if (lo < 0) {
                continue;       /* one model serves every tier */
            }
        }

        /* the mean gain of the tier's buckets seen on both sides */

        gain = 0;
        weight = 0;

        for (b = (size_t) base; b < n; b += LLMR_TIER_N) {
            wlo = llmr_learn_pool(c, &s[b], lo, &mlo);
            whi = llmr_learn_pool(c, &s[b], hi, &mhi);

            if (wlo > 0 && whi > 0) {
                gain += (mhi - mlo) * (wlo + whi);
                weight += wlo + whi;
            }
        }

        if (!(weight > 0)) {
            continue;
        }

        gain /= weight;

        for (b = (size_t) base; b < n; b += LLMR_TIER_N) {
            wlo = llmr_learn_pool(c, &s[b], lo, &mlo);
            whi = llmr_learn_pool(c, &s[b], hi, &mhi);

            if (!(wlo > 0 && whi > 0)) {
                continue;
            }

            d = c->shift * (wlo + whi) / (wlo + whi + prior)
                * ((mhi - mlo) - gain);

            if (d > LLMR_LEARN_MAX_SHIFT) {
                d = LLMR_LEARN_MAX_SHIFT;

            } else if (d < -LLMR_LEARN_MAX_SHIFT) {
                d = -LLMR_LEARN_MAX_SHIFT;
            }

            out[b] = d;
        }
    }
}


int
llmr_learn_tier(const llmr_learn_conf_t *c, int base_tier, int offset,
    int explore)
{
    int  cur, down;

    base_tier = llmr_clamp_tier(base_tier);
    cur = llmr_clamp_tier(base_tier + offset);

    if (!explore) {
        return cur;
    }

    down = llmr_learn_step(c, cur, -1);

    if (down >= 0 && down - base_tier >= LLMR_LEARN_MIN_OFFSET) {
        return down;
    }

    return cur;
}


/* a number that reads back the same, as short as that allows */

static int
llmr_state_number(char *p, size_t size, int t, double v)
{
    int   n;

    n = snprintf(p, size, "%s%.15g", t ? "," : "", v);

    if (strtod(p + (t != 0), NULL) != v) {
        n = snprintf(p, size, "%s%.17g", t ? "," : "", v);
    }

    return n;
}


size_t
llmr_learn_state_print(char *buf, size_t size, const llmr_bucket_stats_t *s,
    const int *offset, size_t n)
{
    int      k, t, any;
    size_t   b, len;
    char     line[LLMR_LEARN_STATE_LINE];

    len = 0;

#define llmr_state_out(str, l)                                                \
    do {                                                                      \
        if (len + 1 < size) {                                                 \
            memcpy(buf + len, str,                                            \
                   (l) < size - 1 - len ? (l) : size - 1 - len);              \
        }                                                                     \
        len += (l);                                                           \
    } while (0)

    llmr_state_out(LLMR_LEARN_STATE_HEADER "\n",
                   sizeof(LLMR_LEARN_STATE_HEADER "\n") - 1);

    for (b = 0; b < n; b++) {
        any = (offset[b] != 0);

        for (t = 0; t < LLMR_TIER_N; t++) {
            any |= (s[b].weight[t] > 0);
        }

        if (!any) {
            continue;
        }

        k = snprintf(line, sizeof(line), "%s %s offset=%d weight=",
                     llmr_domain_name((int) (b / LLMR_TIER_N)),
                     llmr_tier_name((int) (b % LLMR_TIER_N)), offset[b]);

        for (t = 0; t < LLMR_TIER_N; t++) {
            k += llmr_state_number(line + k, sizeof(line) - k, t,
                                   s[b].weight[t]);
        }

        k += snprintf(line + k, sizeof(line) - k, " quality=");

        for (t = 0; t < LLMR_TIER_N; t++) {
            k += llmr_state_number(line + k, sizeof(line) - k, t,
                                   s[b].quality[t]);
        }

        k += snprintf(line + k, sizeof(line) - k, "\n");

        llmr_state_out(line, (size_t) k);
    }

#undef llmr_state_out

    if (size) {
        buf[len < size ? len : size - 1] = '\0';
    }

    return len;
}


/* "name=v,...": LLMR_TIER_N numbers, each >= 0 and finite; 0 if so */

static int
llmr_state_list(const char *p, const char *name, double *v)
{
    int      t;
    char    *end;
    size_t   n;

    n = strlen(name);

    if (strncmp(p, name, n) != 0 || p[n] != '=') {
        return -1;
    }

    p += n + 1;

    for (t = 0; t < LLMR_TIER_N; t++) {
        if (t && *p++ != ',') {
            return -1;
        }

        if (!((*p >= '0' && *p <= '9') || *p == '.')) {
            return -1;      /* no sign, no space, no "inf" or "nan" */
        }

        v[t] = strtod(p, &end);

        if (end == p || !(v[t] >= 0 && v[t] <= LLMR_STATE_VALUE_MAX)) {
            return -1;
        }

        p = end;
    }

    return (*p == '\0') ? 0 : -1;
}


static int
llmr_state_error(char *err, size_t errlen, size_t line, const char *why)
{
    if (errlen) {
        if (line) {
            snprintf(err, errlen, "line %zu: %s", line, why);

        } else {
            snprintf(err, errlen, "%s", why);
        }
    }

    return -1;
}


/* splits a line on blanks into tok; returns the count, up to max + 1 */

static size_t
llmr_state_split(char *p, char **tok, size_t max)
{
    size_t  ntok;

    ntok = 0;

    while (*p) {
        while (*p == ' ' || *p == '\t') {
            *p++ = '\0';
        }

        if (*p == '\0') {
            break;
        }

        if (ntok == max) {
            ntok++;
            break;
        }

        tok[ntok++] = p;

        while (*p && *p != ' ' && *p != '\t') {
            p++;
        }
    }

    return ntok;
}


/*
 * "DOMAIN TIER offset=N weight=W,... quality=Q,..." into tok (the domain
 * and the tier as written), *st and *offset; 0 if it reads so.
 */

static int
llmr_state_line(char *buf, size_t line, char **tok, llmr_bucket_stats_t *st,
    int *offset, char *err, size_t errlen)
{
    int      t;
    char    *end;
    long     v;
    size_t   n;

    n = sizeof(LLMR_STATE_OFFSET) - 1;

    if (llmr_state_split(buf, tok, LLMR_STATE_FIELDS) != LLMR_STATE_FIELDS
        || strncmp(tok[2], LLMR_STATE_OFFSET, n) != 0)
    {
        return llmr_state_error(err, errlen, line, "expected \"DOMAIN "
                                "TIER offset=N weight=W,... "
                                "quality=Q,...\"");
    }

    errno = 0;
    v = strtol(tok[2] + n, &end, 10);

    if (end == tok[2] + n || *end != '\0' || errno
        || v <= -LLMR_TIER_N || v >= LLMR_TIER_N)
    {
        return llmr_state_error(err, errlen, line, "offset= is not a "
                                "number of tiers");
    }

    *offset = (int) v;

    memset(st, 0, sizeof(llmr_bucket_stats_t));

    if (llmr_state_list(tok[3], "weight", st->weight) != 0
        || llmr_state_list(tok[4], "quality", st->quality) != 0)
    {
        return llmr_state_error(err, errlen, line, "weight= and quality= "
                                "need a number at or above 0 for each "
                                "tier, comma-separated");
    }

    for (t = 0; t < LLMR_TIER_N; t++) {
        if (st->quality[t]
            > st->weight[t] * (1 + LLMR_STATE_ROUNDING) + LLMR_STATE_ROUNDING)
        {
            return llmr_state_error(err, errlen, line, "a quality sum is "
                                    "over its weight");
        }
    }

    return 0;
}


int
llmr_learn_state_parse(const char *text, size_t len, llmr_bucket_stats_t *s,
    int *offset, size_t n, size_t *skipped, char *err, size_t errlen)
{
    int                   domain, tier, read, off;
    char                  buf[LLMR_LEARN_STATE_LINE];
    char                 *tok[LLMR_STATE_FIELDS];
    size_t                l, line, b;
    uint64_t              seen[(LLMR_BUCKETS + 63) / 64];
    const char           *q, *nl;
    llmr_bucket_stats_t   st;

    memset(s, 0, n * sizeof(llmr_bucket_stats_t));
    memset(offset, 0, n * sizeof(int));

    if (skipped) {
        *skipped = 0;
    }

    memset(seen, 0, sizeof(seen));

    read = 0;
    off = 0;
    line = 0;
    q = text;

    while (q < text + len) {
        nl = memchr(q, '\n', text + len - q);
        l = (nl ? nl : text + len) - q;
        line++;

        if (l >= sizeof(buf) || memchr(q, '\0', l) != NULL) {
            (void) llmr_state_error(err, errlen, line, "the line is too long "
                                    "or holds a NUL byte");
            goto failed;
        }

        memcpy(buf, q, l);
        buf[l] = '\0';
        q += l + (nl != NULL);

        if (l && buf[l - 1] == '\r') {
            buf[--l] = '\0';
        }

        if (line == 1) {
            if (strcmp(buf, LLMR_LEARN_STATE_HEADER) != 0) {
                (void) llmr_state_error(err, errlen, line, "not a learned "
                                        "state (no \"" LLMR_LEARN_STATE_HEADER
                                        "\" header line)");
                goto failed;
            }

            continue;
        }

        if (l == 0 || buf[0] == '#') {
            continue;
        }

        if (llmr_state_line(buf, line, tok, &st, &off, err, errlen) != 0) {
            goto failed;
        }

        domain = llmr_domain_parse(tok[0], strlen(tok[0]));
        tier = llmr_tier_parse(tok[1], strlen(tok[1]));

        if (domain < 0 || tier < 0) {
            if (skipped) {
                (*skipped)++;
            }

            continue;
        }

        b = (size_t) domain * LLMR_TIER_N + (size_t) tier;

        if (b >= n || b >= LLMR_BUCKETS) {
            if (skipped) {
                (*skipped)++;
            }

            continue;
        }

        if (seen[b / 64] & ((uint64_t) 1 << (b % 64))) {
            (void) llmr_state_error(err, errlen, line, "the bucket is listed "
                                    "twice");
            goto failed;
        }

        seen[b / 64] |= (uint64_t) 1 << (b % 64);
        s[b] = st;
        offset[b] = off;
        read++;
    }

    if (line == 0) {
        return llmr_state_error(err, errlen, 0, "empty");
    }

    return read;

failed:

    memset(s, 0, n * sizeof(llmr_bucket_stats_t));
    memset(offset, 0, n * sizeof(int));

    return -1;
}
