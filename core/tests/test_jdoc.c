
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/llmr_jdoc.h"

#include "tap.h"


static void test_parse(void);
static void test_reject(void);
static void test_decode(void);
static void test_write(void);
static void test_reuse(void);


static llmr_jdoc_t  doc;


int
main(void)
{
    llmr_jdoc_init(&doc);

    test_parse();
    test_reject();
    test_decode();
    test_write();
    test_reuse();

    llmr_jdoc_free(&doc);

    return tap_done();
}


static void
test_parse(void)
{
    const char  *s;
    llmr_jv_t   *v, *m;

    s = " {\"model\" : \"gpt\", \"n\":-1.5e3, \"ok\":true, \"no\":false,"
        "\"x\":null, \"a\":[1, {\"b\":[]}, \"c\"], \"e\":{}} ";

    ok(llmr_jdoc_parse(&doc, s, strlen(s)) == LLMR_OK, "a document parses");
    ok(doc.root && doc.root->type == LLMR_V_MAP && doc.root->n == 7,
       "its root is a map of 7 members");
    ok(llmr_jv_is(llmr_jv_get(doc.root, "model"), "gpt"), "a string member");
    ok(llmr_jv_number(llmr_jv_get(doc.root, "n"), 0) == -1500.0,
       "a number member");
    v = llmr_jv_get(doc.root, "ok");
    ok(v && v->type == LLMR_V_BOOL && v->boolean == 1, "true");
    v = llmr_jv_get(doc.root, "no");
    ok(v && v->type == LLMR_V_BOOL && v->boolean == 0, "false");
    ok(llmr_jv_get(doc.root, "x") == NULL, "null is absent");
    ok(llmr_jv_get(doc.root, "missing") == NULL, "a missing key");

    v = llmr_jv_get(doc.root, "a");
    ok(v && v->type == LLMR_V_ARRAY && v->n == 3, "an array of 3");
    ok(v && v->len == strlen("[1, {\"b\":[]}, \"c\"]")
       && memcmp(v->s, "[1, {\"b\":[]}, \"c\"]", v->len) == 0,
       "a container's text is the whole value");
    m = v ? v->child->next : NULL;
    ok(m && m->type == LLMR_V_MAP && llmr_jv_get(m, "b")
       && llmr_jv_get(m, "b")->n == 0, "nested values");
    v = llmr_jv_get(doc.root, "e");
    ok(v && v->type == LLMR_V_MAP && v->n == 0 && v->len == 2, "{}");

    s = "{\"m\\u006fdel\":\"x\"}";
    ok(llmr_jdoc_parse(&doc, s, strlen(s)) == LLMR_OK
       && llmr_jv_is(llmr_jv_get(doc.root, "model"), "x"),
       "escaped keys compare decoded");

    ok(llmr_jdoc_parse(&doc, SL("\"\\u00e9\"")) == LLMR_OK
       && llmr_jv_is(doc.root, "\xc3\xa9"), "an escaped string compares decoded");
    ok(llmr_jdoc_parse(&doc, SL("0")) == LLMR_OK
       && llmr_jv_int(doc.root, 5) == 0, "a scalar document");
}


static void
test_reject(void)
{
    size_t       i;
    char         deep[200];

    static const char  *bad[] = {
        "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01",
        "1.", "1e", "-", "tru", "nul", "\"abc", "\"a\\x\"", "\"\\u12\"",
        "\"\\u12g4\"", "\"a\x01\"", "[1 2]", "{} {}", "[", "]", "\"\\",
        "+1", ".5", "[\"a\",", "{\"a\":}",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(llmr_jdoc_parse(&doc, bad[i], strlen(bad[i])) == LLMR_ERROR
           && doc.error != NULL, "rejected: '%s' (%s)", bad[i],
           doc.error ? doc.error : "-");
    }

    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ok(llmr_jdoc_parse(&doc, deep, 200) == LLMR_ERROR,
       "nesting deeper than the limit");
    ok(llmr_jdoc_parse(&doc, deep + 100 - 64, 128) == LLMR_OK,
       "nesting at the limit");

    doc.max_nodes = 3;
    ok(llmr_jdoc_parse(&doc, SL("[1,2,3]")) == LLMR_ERROR,
       "more values than max_nodes");
    ok(llmr_jdoc_parse(&doc, SL("[1,2]")) == LLMR_OK, "as many as max_nodes");
    doc.max_nodes = 0;
}


static void
test_decode(void)
{
    char    buf[32];
    size_t  n;

    ok(llmr_jdoc_parse(&doc, SL("\"a\\n\\\"b\\\\\\/\\u0041\\ud83d\\ude00\"")) == LLMR_OK,
       "escapes parse");
    n = llmr_jv_decode(doc.root, buf, sizeof(buf));
    ok(n == 11 && memcmp(buf, "a\n\"b\\/A\xf0\x9f\x98\x80", 11) == 0,
       "escapes decode, a surrogate pair to one character");
    is_int(llmr_jv_decoded_len(doc.root), 11, "the decoded length");

    n = llmr_jv_decode(doc.root, buf, 9);
    is_int(n, 7, "a cut decode stops before a whole character");

    ok(llmr_jdoc_parse(&doc, SL("\"\\ud83dx\"")) == LLMR_OK
       && llmr_jv_decode(doc.root, buf, sizeof(buf)) == 4
       && memcmp(buf, "\xef\xbf\xbdx", 4) == 0, "a lone surrogate is U+FFFD");

    ok(llmr_jdoc_parse(&doc, SL("\"h\xc3\xa9llo\"")) == LLMR_OK
       && llmr_jv_decode(doc.root, buf, 2) == 1, "a raw cut at a character");
}


static void
test_write(void)
{
    llmr_jbuf_t  b;
    const char  *s;

    llmr_jbuf_init(&b, 0);

    s = "{\"s\":\"a\\nb\",\"o\":{\"k\": [1,2]},\"n\":12}";
    ok(llmr_jdoc_parse(&doc, s, strlen(s)) == LLMR_OK, "parse to rewrite");

    llmr_jbuf_char(&b, '{');
    llmr_jbuf_key(&b, 0, "s");
    llmr_jbuf_value(&b, llmr_jv_get(doc.root, "s"));
    llmr_jbuf_key(&b, 1, "o");
    llmr_jbuf_value_as_str(&b, llmr_jv_get(doc.root, "o"));
    llmr_jbuf_key(&b, 1, "n");
    llmr_jbuf_value(&b, llmr_jv_get(doc.root, "n"));
    llmr_jbuf_key(&b, 1, "i");
    llmr_jbuf_int(&b, -9007199254740993LL);
    llmr_jbuf_key(&b, 1, "t");
    llmr_jbuf_cstr(&b, "q\"\x01");
    llmr_jbuf_char(&b, '}');
    llmr_jbuf_char(&b, '\0');

    is_str(b.data, "{\"s\":\"a\\nb\",\"o\":\"{\\\"k\\\": [1,2]}\",\"n\":12,"
           "\"i\":-9007199254740993,\"t\":\"q\\\"\\u0001\"}",
           "values are written back, escaped once");
    ok(!b.failed, "no failure");

    llmr_jbuf_reset(&b, 0);
    ok(b.len == 0 && b.data == NULL, "a reset above keep frees");

    b.max = 8;
    llmr_jbuf_lit(&b, "12345");
    llmr_jbuf_lit(&b, "6789");
    ok(b.failed && b.len == 5, "past max: failed, nothing more written");
    llmr_jbuf_free(&b);
}


static void
test_reuse(void)
{
    char    *big;
    size_t   i, n;

    n = 20000;
    big = malloc(n * 2 + 2);
    big[0] = '[';

    for (i = 0; i < n; i++) {
        big[1 + 2 * i] = '1';
        big[2 + 2 * i] = (i + 1 < n) ? ',' : ']';
    }

    ok(llmr_jdoc_parse(&doc, big, 2 * n + 1) == LLMR_OK
       && doc.root->n == n, "a long array");
    ok(llmr_jdoc_memory(&doc) > 8 * 256 * sizeof(llmr_jv_t),
       "it took many blocks");
    ok(llmr_jdoc_parse(&doc, SL("[1]")) == LLMR_OK, "a small one after");
    ok(llmr_jdoc_parse(&doc, SL("[2]")) == LLMR_OK
       && llmr_jdoc_memory(&doc) <= 8 * (256 * sizeof(llmr_jv_t) + 64),
       "blocks beyond the kept ones are freed");

    free(big);
}
