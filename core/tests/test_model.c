
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/train.h>

#include "tap.h"
#include "../src/llmr_features.h"


#define MODEL_FILE  "core/model/default.model"


static char *read_file(const char *path, size_t *len);
static char *with_body(const char *header, const char *body);
static int load_fails(const char *text, size_t len, const char *want);
static uint32_t crc32(const char *p, size_t len);

static void test_default(void);
static void test_load(void);
static void test_bad(void);
static void test_dump(void);
static void test_apgr(void);
static void test_train(void);
static void test_lobo(void);
static int lobo_add(llmr_dataset_t *ds, int src, int i);
static double serve_score(const llmr_classifier_t *cl, const char *prompt);


int
main(void)
{
    test_default();
    test_load();
    test_bad();
    test_dump();
    test_apgr();
    test_train();
    test_lobo();

    return tap_done();
}


static char *
read_file(const char *path, size_t *len)
{
    long   n;
    FILE  *f;
    char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc(n + 1);
    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        free(buf);
        fclose(f);
        return NULL;
    }

    fclose(f);
    buf[n] = '\0';
    *len = n;

    return buf;
}


static uint32_t
crc32(const char *p, size_t len)
{
    int       k;
    size_t    i;
    uint32_t  crc;

    crc = 0xffffffff;

    for (i = 0; i < len; i++) {
        crc ^= (unsigned char) p[i];

        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
        }
    }

    return crc ^ 0xffffffff;
}


/* a model text: header (with %08x for the checksum of body) + body */

static char *
with_body(const char *header, const char *body)
{
    char    *buf, hdr[512];
    size_t   n;

    snprintf(hdr, sizeof(hdr), header, (unsigned) crc32(body, strlen(body)));

    n = strlen(hdr) + strlen(body) + 2;
    buf = malloc(n);
    if (buf == NULL) {
        return NULL;
    }

    snprintf(buf, n, "%s\n%s", hdr, body);

    return buf;
}


static int
load_fails(const char *text, size_t len, const char *want)
{
    char                err[512];
    llmr_classifier_t  *cl;

    err[0] = '\0';
    cl = llmr_classifier_load_buffer(text, len, err, sizeof(err));

    if (cl) {
        llmr_classifier_destroy(cl);
        printf("# loaded, expected \"%s\"\n", want);
        return 0;
    }

    if (strstr(err, want) == NULL) {
        printf("# error \"%s\", expected \"%s\"\n", err, want);
        return 0;
    }

    return 1;
}


static void
test_default(void)
{
    char                   *text, err[512];
    size_t                  len;
    llmr_class_t            a, b;
    llmr_request_t          req;
    llmr_classifier_t      *cl;

    ok(llmr_classifier_default_error() == NULL,
       "the built-in model loads (%s)",
       llmr_classifier_default_error() ? llmr_classifier_default_error()
                                       : "ok");

    /* the built-in model is the file, byte for byte, read the same way */

    text = read_file(MODEL_FILE, &len);
    ok(text != NULL, "read %s", MODEL_FILE);

    if (text == NULL) {
        return;
    }

    ok(len == llmr_model_text_len && memcmp(text, llmr_model_text, len) == 0,
       "the embedded model equals %s (%zu bytes)", MODEL_FILE, len);

    cl = llmr_classifier_load(MODEL_FILE, err, sizeof(err));
    ok(cl != NULL, "llmr_classifier_load(%s): %s", MODEL_FILE,
       cl ? "ok" : err);

    if (cl) {
        memset(&req, 0, sizeof(req));
        req.last_user.data = "A train leaves at 3 pm at 60 miles per hour; "
                             "another an hour later at 80. When does the "
                             "second catch up?";
        req.last_user.len = strlen(req.last_user.data);
        req.last_user_bytes = req.last_user.len;
        req.user_turns = 1;
        req.max_tokens = -1;

        llmr_classify(cl, &req, &a);
        llmr_classify(NULL, &req, &b);
        ok(a.score == b.score && a.tier == b.tier,
           "the file and the built-in model score alike (%.4f)", a.score);

        llmr_classifier_destroy(cl);
    }

    free(text);
}


static void
test_load(void)
{
    char                err[512], *text;
    double              t[LLMR_THRESHOLDS_N];
    llmr_class_t        c;
    llmr_request_t      req;
    llmr_classifier_t  *cl;

    text = with_body("llmr-model 1 features=4 dense=53 hash_bits=8 "
                     "thresholds=0.1,0.2,0.3,0.4 checksum=crc32:%08x",
                     "# a comment\n"
                     "bias -2.5\n"
                     "d 0 0.75\n"
                     "\n"
                     "h 3 0.125\n"
                     "h 255 -1e-3\n");

    err[0] = '\0';
    cl = llmr_classifier_load_buffer(text, strlen(text), err, sizeof(err));
    ok(cl != NULL, "a small model loads (%s)", cl ? "ok" : err);

    if (cl) {
        llmr_classifier_thresholds(cl, t);
        ok(t[0] == 0.1 && t[3] == 0.4, "its thresholds");
        is_int(llmr_score_tier(cl, 0.25), LLMR_TIER_MODERATE,
               "its tiers follow its thresholds");

        memset(&req, 0, sizeof(req));
        req.max_tokens = -1;
        llmr_classify(cl, &req, &c);
        ok(fabs(c.score - 1 / (1 + exp(2.5 - 0.75 * -4))) < 1e-9,
           "its score: bias + weights (%.6f)", c.score);

        llmr_classifier_destroy(cl);
    }

    free(text);

    /* CRLF line ends are taken as they come */

    text = with_body("llmr-model 1 features=4 dense=53 hash_bits=0 "
                     "thresholds=0.1,0.2,0.3,0.4 checksum=crc32:%08x\r",
                     "bias 1\r\nd 1 -2\r\n");
    cl = llmr_classifier_load_buffer(text, strlen(text), err, sizeof(err));
    ok(cl != NULL, "CRLF lines (%s)", cl ? "ok" : err);
    llmr_classifier_destroy(cl);
    free(text);

    cl = llmr_classifier_load("/nonexistent/model", err, sizeof(err));
    ok(cl == NULL, "a missing file");
    is_str(strstr(err, "cannot open") ? "cannot open" : err, "cannot open",
           "a missing file: the reason");
}


static void
test_bad(void)
{
    char         *text, *good, *body;
    size_t        len, i;

    static const char  hdr[] = "llmr-model 1 features=4 dense=53 "
                               "hash_bits=8 thresholds=0.1,0.2,0.3,0.4 "
                               "checksum=crc32:%08x";

    static const struct {
        const char  *header;
        const char  *body;
        const char  *error;
    } bad[] = {
        { "llmr-model 2 features=4 dense=53 hash_bits=8 "
          "thresholds=0.1,0.2,0.3,0.4 checksum=crc32:%08x",
          "bias 0\n", "model format version 2" },
        { "llmr-model 1 features=2 dense=49 hash_bits=8 "
          "thresholds=0.1,0.2,0.3,0.4 checksum=crc32:%08x",
          "bias 0\n", "feature set 2" },
        { "llmr-model 1 features=4 dense=35 hash_bits=8 "
          "thresholds=0.1,0.2,0.3,0.4 checksum=crc32:%08x",
          "bias 0\n", "dense=35" },
        { "llmr-model 1 features=4 dense=53 hash_bits=40 "
          "thresholds=0.1,0.2,0.3,0.4 checksum=crc32:%08x",
          "bias 0\n", "hash_bits=40" },
        { "llmr-model 1 features=4 dense=53 hash_bits=8 "
          "thresholds=0.3,0.2,0.3,0.4 checksum=crc32:%08x",
          "bias 0\n", "thresholds must increase" },
        { "llmr-model 1 features=4 dense=53 hash_bits=8 "
          "thresholds=0.1,0.2,0.3 checksum=crc32:%08x",
          "bias 0\n", "invalid \"thresholds\"" },
        { "llmr-model 1 features=4 dense=53 hash_bits=8 "
          "checksum=crc32:%08x",
          "bias 0\n", "needs features=" },
        { "llmr-model 1 features=4 dense=53 hash_bits=8 "
          "thresholds=0.1,0.2,0.3,0.4 colour=red checksum=crc32:%08x",
          "bias 0\n", "unknown \"colour\"" },
        { hdr, "d 0 1\n", "no \"bias\"" },
        { hdr, "bias 0\nbias 1\n", "a second \"bias\"" },
        { hdr, "bias 0\nd 53 1\n", "dense index 53 out of range" },
        { hdr, "bias 0\nd 3 1\nd 3 2\n", "dense index 3 twice" },
        { hdr, "bias 0\nh 256 1\n", "gram index 256 out of range" },
        { hdr, "bias 0\nh 7 1\nh 7 1\n", "gram index 7 twice" },
        { hdr, "bias 0\nd 1 nan\n", "expected" },
        { hdr, "bias 0\nd 1 1e9\n", "weight out of range" },
        { hdr, "bias 0\nd 1 inf\n", "expected" },
        { hdr, "bias 0\nq 1 1\n", "line 3: expected" },
        { hdr, "bias 0\nd 1\n", "line 3: expected" },
        { hdr, "bias 0\nd 1 2 3\n", "line 3: expected" },
        { hdr, "bias 0\nd -1 2\n", "line 3: expected" }
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        text = with_body(bad[i].header, bad[i].body);
        ok(load_fails(text, strlen(text), bad[i].error),
           "refused: %s", bad[i].error);
        free(text);
    }

    /* the checksum: a changed weight, a cut file, an added line */

    good = with_body(hdr, "bias 0\nd 1 0.5\nh 9 0.25\n");
    len = strlen(good);

    text = strdup(good);
    *strstr(text, "0.5") = '7';
    ok(load_fails(text, len, "checksum mismatch"), "an edited weight");
    free(text);

    ok(load_fails(good, len - 5, "checksum mismatch"), "a truncated file");
    ok(load_fails(good, strchr(good, '\n') - good, "truncated"),
       "a header alone");

    body = malloc(len + 16);
    memcpy(body, good, len);
    memcpy(body + len, "d 2 1\n", 7);
    ok(load_fails(body, len + 6, "checksum mismatch"), "an added line");
    free(body);

    text = strdup(good);
    *strstr(text, "crc32:") = 'C';
    ok(load_fails(text, len, "invalid \"checksum\""), "a broken checksum");
    free(text);

    free(good);

    /* garbage */

    ok(load_fails("", 0, "empty"), "an empty model");
    ok(load_fails(SL("hello\nworld\n"), "not an llmr model"), "plain text");
    ok(load_fails("\x7f" "ELF\x02\x01\x01", 7, "not an llmr model"),
       "a binary");
    ok(load_fails(SL("llmr-model\n"), "not an llmr model"),
       "a magic alone");
    ok(load_fails(SL("llmr-model x\n"), "no format version"),
       "no version");
}


static void
test_dump(void)
{
    char               *a, *b, err[512];
    size_t              la, lb;
    llmr_classifier_t  *cl;

    /* the built-in model written out is its file again */

    a = llmr_classifier_dump(NULL, &la);
    ok(a != NULL && la == llmr_model_text_len
       && memcmp(a, llmr_model_text, la) == 0,
       "dump(default) is the model file");

    cl = a ? llmr_classifier_load_buffer(a, la, err, sizeof(err)) : NULL;
    b = cl ? llmr_classifier_dump(cl, &lb) : NULL;
    ok(b && la == lb && memcmp(a, b, la) == 0, "load(dump(m)) = m");

    free(a);
    free(b);
    llmr_classifier_destroy(cl);
}


static void
test_apgr(void)
{
    double  apgr;

    /* route_eval.py's numbers on the same data (computed once) */

    static const double  strong[] = {
        1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1,
        1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1
    };
    static const double  weak[] = {
        1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
        1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0
    };
    static const double  score[] = {
        0.675, 0.49, 0.257, 0.173, 0.79, 0.464, 0.25, 0.98, 0.708, 0.016,
        0.597, 0.515, 0.646, 0.971, 0.705, 0.549, 0.397, 0.016, 0.56, 0.804,
        0.197, 0.489, 0.453, 0.123, 0.434, 0.96, 0.749, 0.183, 0.991, 0.995,
        0.241, 0.909, 0.498, 0.004, 0.13, 0.243, 0.282, 0.6, 0.133, 0.431
    };

    static const double  gstrong[] = {
        6.9, 8.6, 7.1, 9.6, 7.9, 9.5, 5.2, 5.9, 8.9, 9.7, 8.2, 5.1
    };
    static const double  gweak[] = {
        4.3, 5.1, 5.9, 7.2, 7.1, 6.0, 6.2, 7.3, 8.7, 7.3, 8.9, 5.6
    };
    static const double  gscore[] = {
        0.29, 0.35, 0.79, 0.48, 0.75, 0.35, 0.45, 0.92, 0.92, 0.5, 0.06, 0.61
    };

    is_int(llmr_apgr_raw(score, strong, weak, 40, &apgr), LLMR_OK,
           "APGR of 0/1 outcomes");
    ok(fabs(apgr - 0.4277777777777776) < 1e-12,
       "equals route_eval.py's 0.4277777777777776 (%.16g)", apgr);

    is_int(llmr_apgr_raw(gscore, gstrong, gweak, 12, &apgr), LLMR_OK,
           "APGR of judge scores");
    ok(fabs(apgr - 0.3105769230769241) < 1e-12,
       "equals route_eval.py's 0.3105769230769241 (%.16g)", apgr);

    /* the perfect router and the reverse one */

    is_int(llmr_apgr_raw(strong, strong, weak, 40, &apgr), LLMR_OK,
           "APGR by strong outcome");
    ok(apgr > 0.5, "routing by the strong outcome beats random (%.3f)",
       apgr);

    is_int(llmr_apgr_raw(score, strong, strong, 40, &apgr), LLMR_ERROR,
           "no gap: no APGR");
    is_int(llmr_apgr_raw(score, strong, weak, 1, &apgr), LLMR_ERROR,
           "one example: no APGR");
}


static void
test_train(void)
{
    int                 i, rc;
    char               *a, *b, err[256], prompt[60][256];
    size_t              la, lb;
    double              score[60], apgr, d, maxd;
    llmr_dataset_t     *ds;
    llmr_classifier_t  *c1, *c2;
    llmr_train_conf_t   conf;

    static const char  *easy[] = {
        "What is the capital of %s?", "Translate \"%s\" to French.",
        "Spell %s backwards."
    };
    static const char  *hard[] = {
        "A tank holds %s liters and leaks 3 liters an hour while 5 flow in "
        "for 2 hours, then 7 flow out; how full is it after 9 hours?",
        "Prove that the sum of %s consecutive odd numbers is a square, then "
        "derive the closed form of the sum of their cubes."
    };
    static const char  *words[] = {
        "Spain", "Peru", "Chad", "Laos", "Fiji", "Oman", "Togo", "Mali",
        "Iran", "Iraq"
    };

    ds = llmr_dataset_create();
    ok(ds != NULL, "a dataset");

    if (ds == NULL) {
        return;
    }

    /* the weak model fails the long multi-step ones, passes the lookups */

    rc = LLMR_OK;

    for (i = 0; i < 60 && rc == LLMR_OK; i++) {
        if (i % 2) {
            snprintf(prompt[i], sizeof(prompt[i]), easy[i % 3],
                     words[i % 10]);
            rc = llmr_dataset_add(ds, prompt[i], strlen(prompt[i]), 0.5, 1,
                                  1, "synthetic", err, sizeof(err));

        } else {
            snprintf(prompt[i], sizeof(prompt[i]), hard[i % 2 / 1 ? 1 : 0],
                     words[i % 10]);
            rc = llmr_dataset_add(ds, prompt[i], strlen(prompt[i]),
                                  i % 6 ? 1 : 0.5, 1, i % 6 ? 0 : 1,
                                  "synthetic", err, sizeof(err));
        }
    }

    is_int(rc, LLMR_OK, "60 examples added");

    llmr_train_conf_init(&conf);
    conf.hash_bits = 10;
    conf.epochs = 5;
    conf.seed = 7;

    c1 = llmr_train(ds, NULL, 0, &conf, NULL);
    c2 = llmr_train(ds, NULL, 0, &conf, NULL);

    a = c1 ? llmr_classifier_dump(c1, &la) : NULL;
    b = c2 ? llmr_classifier_dump(c2, &lb) : NULL;

    ok(a && b && la == lb && memcmp(a, b, la) == 0,
       "training is deterministic: the same model file twice");

    free(b);
    llmr_classifier_destroy(c2);

    conf.seed = 8;
    c2 = llmr_train(ds, NULL, 0, &conf, NULL);
    b = c2 ? llmr_classifier_dump(c2, &lb) : NULL;
    ok(b && (la != lb || memcmp(a, b, la) != 0),
       "another seed, another model");

    free(a);
    free(b);
    llmr_classifier_destroy(c1);
    llmr_classifier_destroy(c2);

    /* it learns: the hard ones score higher, out of fold too */

    conf.seed = 7;
    is_int(llmr_train_cv(ds, 3, &conf, score, NULL), LLMR_OK, "3-fold CV");
    is_int(llmr_apgr(ds, 0, score, &apgr), LLMR_OK, "its APGR");
    ok(apgr > 0.6, "learns the gap out of fold (APGR %.3f)", apgr);

    /*
     * What training scores is what serving scores: the CV numbers hold
     * for llmr classify and the module only if the two agree.
     */

    conf.mix = 10;
    c1 = llmr_train(ds, NULL, 0, &conf, NULL);
    maxd = c1 ? 0 : 1;

    for (i = 0; c1 && i < 60; i++) {
        d = fabs(llmr_dataset_score(ds, i, c1) - serve_score(c1, prompt[i]));
        maxd = d > maxd ? d : maxd;
    }

    ok(maxd < 1e-6, "training and llmr_classify() score alike (%.2g)",
       maxd);

    llmr_classifier_destroy(c1);
    llmr_dataset_destroy(ds);
}


/* the score of a prompt sent as llmr classify would get it */

static double
serve_score(const llmr_classifier_t *cl, const char *prompt)
{
    char             body[1024];
    size_t           n, len;
    llmr_class_t     c;
    llmr_extract_t  *x;

    static const char  head[] = "{\"messages\":[{\"role\":\"user\","
                                "\"content\":\"";

    len = strlen(prompt);
    n = llmr_json_escaped_len(prompt, len);

    if (sizeof(head) + n + 4 > sizeof(body)) {
        return -1;
    }

    memcpy(body, head, sizeof(head) - 1);
    n = sizeof(head) - 1;
    n += llmr_json_escape(body + n, sizeof(body) - n, prompt, len);
    memcpy(body + n, SL("\"}]}"));
    n += 4;

    x = llmr_extract_create(NULL);
    if (x == NULL) {
        return -1;
    }

    if (llmr_extract_feed(x, (unsigned char *) body, n) != LLMR_OK
        || llmr_extract_finish(x) != LLMR_OK)
    {
        llmr_extract_destroy(x);
        return -1;
    }

    llmr_classify(cl, llmr_extract_result(x), &c);
    llmr_extract_destroy(x);

    return c.score;
}


/*
 * Leave one source out.  Sources 0 and 1 share a vocabulary; source 2's
 * two halves differ in one word that only it has ("kiwi", "plum"), and
 * in their outcomes.  Trained with source 2, the word tells its halves
 * apart; left out, the model has never seen either word, and the two
 * halves must score alike.  And the score of a left-out example is the
 * score of a model trained on a dataset of the other sources alone.
 */

static void
test_lobo(void)
{
    int                 i, s, rc;
    size_t              n;
    double              score[60], kiwi, plum, d, maxd;
    unsigned            source[60];
    llmr_dataset_t     *ds, *others;
    llmr_classifier_t  *cl;
    llmr_train_conf_t   conf;

    ds = llmr_dataset_create();
    others = llmr_dataset_create();
    ok(ds != NULL && others != NULL, "datasets for the sources");

    if (ds == NULL || others == NULL) {
        llmr_dataset_destroy(ds);
        llmr_dataset_destroy(others);
        return;
    }

    rc = LLMR_OK;
    n = 0;

    for (s = 0; s < 3; s++) {
        for (i = 0; i < 20 && rc == LLMR_OK; i++) {
            source[n++] = (unsigned) s;
            rc = lobo_add(ds, s, i);

            /* the dataset of sources 0 and 2: source 1 left out */

            if (rc == LLMR_OK && s != 1) {
                rc = lobo_add(others, s, i);
            }
        }
    }

    is_int(rc, LLMR_OK, "3 sources of 20 examples");

    llmr_train_conf_init(&conf);
    conf.epochs = 5;
    conf.seed = 3;

    /* trained on everything, the word separates source 2's halves */

    cl = llmr_train(ds, NULL, 0, &conf, NULL);
    kiwi = cl ? llmr_dataset_score(ds, 40, cl) : 0;
    plum = cl ? llmr_dataset_score(ds, 41, cl) : 0;
    ok(kiwi > plum + 1e-6, "in-sample: kiwi %.6f above plum %.6f", kiwi,
       plum);
    llmr_classifier_destroy(cl);

    for (i = 0; i < 60; i++) {
        score[i] = -1;
    }

    is_int(llmr_train_lobo(ds, source, 3, &conf, score), LLMR_OK,
           "leave one source out");

    for (i = 0, rc = 1; i < 60; i++) {
        rc &= (score[i] > 0 && score[i] < 1);
    }

    ok(rc, "every example has a left-out score");

    maxd = 0;

    for (i = 40; i < 60; i += 2) {
        d = fabs(score[i] - score[i + 1]);
        maxd = d > maxd ? d : maxd;
    }

    ok(maxd < 1e-12, "source 2 left out: its halves score alike (%.2g)",
       maxd);

    /* source 1's scores: the model of the other sources' dataset */

    cl = llmr_train(others, NULL, 0, &conf, NULL);
    maxd = cl ? 0 : 1;

    for (i = 20; cl && i < 40; i++) {
        d = fabs(score[i] - llmr_dataset_score(ds, i, cl));
        maxd = d > maxd ? d : maxd;
    }

    ok(maxd == 0, "source 1 left out: scored by the model of sources 0 "
       "and 2 alone (%.2g)", maxd);
    llmr_classifier_destroy(cl);

    is_int(llmr_apgr_fold(ds, -1, score, source, 2, &d), LLMR_OK,
           "source 2's left-out APGR");
    ok(fabs(d - 0.5) < 1e-9, "a model that cannot tell kiwi from plum "
       "routes source 2 at random (%.3f)", d);

    is_int(llmr_train_lobo(ds, source, 1, &conf, score), LLMR_ERROR,
           "one source: nothing to leave out");

    source[7] = 3;
    is_int(llmr_train_lobo(ds, source, 3, &conf, score), LLMR_ERROR,
           "a source out of range");

    for (i = 0; i < 60; i++) {
        source[i] = 0;
    }

    is_int(llmr_train_lobo(ds, source, 2, &conf, score), LLMR_ERROR,
           "a source that is every example");

    llmr_dataset_destroy(ds);
    llmr_dataset_destroy(others);
}


/*
 * Example i of source 0, 1 (lookups easy, word problems hard for the
 * weak model) or 2 (kiwi needs the strong model, plum does not).
 */

static int
lobo_add(llmr_dataset_t *ds, int src, int i)
{
    char         prompt[256], err[256];
    const char  *group;

    static const char  *easy[] = {
        "What is the capital of %s?", "Spell %s backwards."
    };
    static const char  *words[] = {
        "Spain", "Peru", "Chad", "Laos", "Fiji", "Oman", "Togo", "Mali",
        "Iran", "Iraq"
    };

    if (src == 2) {
        snprintf(prompt, sizeof(prompt), "Tell me one thing about the %s "
                 "number %d.", i % 2 ? "plum" : "kiwi", i / 2);

        return llmr_dataset_add(ds, prompt, strlen(prompt), 0, 1,
                                i % 2 ? 1 : 0, "c", err, sizeof(err));
    }

    group = src ? "b" : "a";

    if (i % 2) {
        snprintf(prompt, sizeof(prompt), easy[src], words[i % 10]);

        return llmr_dataset_add(ds, prompt, strlen(prompt), 0.5, 1, 1,
                                group, err, sizeof(err));
    }

    snprintf(prompt, sizeof(prompt), "A tank in %s holds %d liters and "
             "leaks 3 liters an hour while 5 flow in for 2 hours; how full "
             "is it after 9 hours?", words[i % 10], 100 + i);

    return llmr_dataset_add(ds, prompt, strlen(prompt), 1, 1, 0, group, err,
                            sizeof(err));
}
