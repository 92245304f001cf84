/*
 * Copyright (C) ngx_llm_router authors
 */


#include <yajl/yajl_tree.h>

#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/rewrite.h>

#include "tap.h"


/* bodies are written with ' for "; a quote in a string is \u0022 */

typedef struct {
    const char                 *name;
    int                         hint;
    const char                 *body;
} body_t;


typedef struct {
    char                       *data;
    size_t                      len;
    size_t                      size;
} sbuf_t;


static const body_t  bodies[] = {

    { "chat, model first", LLMR_FMT_UNKNOWN,
      "{'model':'gpt-4o','messages':[{'role':'user','content':'hi'}]}" },

    { "chat, model in the middle, blanks", LLMR_FMT_OPENAI_CHAT,
      "{'messages':[{'role':'system','content':'Be brief.'},{'role':'user',"
      "'content':'Sum 2+2'}], 'model' :\n\t 'gpt-4' , 'stream':true,"
      "'temperature':0}" },

    { "chat, model last", LLMR_FMT_UNKNOWN,
      "{'messages':[{'role':'user','content':'x'}],'stream':true,"
      "'model':'gpt-4o-mini'}" },

    { "chat, no model, streamed", LLMR_FMT_UNKNOWN,
      " {\n  'messages': [{'role': 'user', 'content': 'stream me'}],\n"
      "  'stream': true\n}\n" },

    { "chat, empty stream_options", LLMR_FMT_UNKNOWN,
      "{'model':'m','stream':true,'stream_options':{ },'messages':"
      "[{'role':'user','content':'x'}]}" },

    { "chat, include_usage false", LLMR_FMT_UNKNOWN,
      "{'model':'m','stream':true,'stream_options':{'include_usage':false},"
      "'messages':[{'role':'user','content':'x'}]}" },

    { "chat, include_usage true", LLMR_FMT_UNKNOWN,
      "{'model':'m','stream':true,'stream_options':{'include_usage':true},"
      "'messages':[{'role':'user','content':'x'}]}" },

    { "chat, other stream_options", LLMR_FMT_UNKNOWN,
      "{'stream':true,'stream_options':{'continuous_usage_stats':true},"
      "'messages':[{'role':'user','content':'x'}],'model':'m'}" },

    { "chat, null stream_options", LLMR_FMT_UNKNOWN,
      "{'model':'m','stream':true,'stream_options':null,'messages':"
      "[{'role':'user','content':'x'}]}" },

    { "chat, not streamed", LLMR_FMT_UNKNOWN,
      "{'model':'m','stream':false,'messages':[{'role':'user','content':"
      "'x'}]}" },

    { "chat, nested model keys", LLMR_FMT_UNKNOWN,
      "{'metadata':{'model':'keep-me','tags':['model']},'messages':"
      "[{'role':'user','content':'the \\u0022model\\u0022 key','model':"
      "'inner'},{'role':'assistant','content':[{'type':'text','text':"
      "'ok','model':'x'}]},{'role':'user','content':'caf\xc3\xa9 "
      "\\u4e16\\ud83d\\ude80'}],'tools':[{'type':'function','function':"
      "{'name':'f','parameters':{'type':'object','properties':{'model':"
      "{'type':'string'}}}}}],'mod\\u0065l' : 'gpt\\u002d4o','stream':"
      "true,'n':2,'logit_bias':{'50256':-100},'seed':12345678901234}" },

    { "chat, escaped model value", LLMR_FMT_UNKNOWN,
      "{'model':'a\\u0022b\\\\c\\/d\\u00e9','messages':[{'role':'user',"
      "'content':'x'}]}" },

    { "chat, empty model", LLMR_FMT_UNKNOWN,
      "{'model':'','messages':[{'role':'user','content':'x'}]}" },

    { "completions, model", LLMR_FMT_UNKNOWN,
      "{'model':'gpt-3.5-turbo-instruct','prompt':['a','b'],'stream':true,"
      "'max_tokens':16}" },

    { "completions, no model", LLMR_FMT_OPENAI_COMPLETIONS,
      "{'prompt':'Say hi','stream':true}" },

    { "responses", LLMR_FMT_OPENAI_RESPONSES,
      "{'model':'o4-mini','input':[{'role':'user','content':[{'type':"
      "'input_text','text':'hello'}]}],'stream':true,'reasoning':"
      "{'effort':'low'}}" },

    { "responses, no model", LLMR_FMT_UNKNOWN,
      "{'input':'hello','instructions':'Be terse.','stream':true}" },

    { "anthropic", LLMR_FMT_ANTHROPIC,
      "{'model':'claude-sonnet-4-20250514','max_tokens':1024,'system':"
      "'Be kind.','messages':[{'role':'user','content':[{'type':'text',"
      "'text':'Hi'},{'type':'image','source':{'type':'base64','media_type':"
      "'image/png','data':'iVBORw0KGgo='}}]}],'stream':true,'metadata':"
      "{'user_id':'u1'}}" },

    { "anthropic, no model", LLMR_FMT_ANTHROPIC,
      "{'max_tokens':10,'messages':[{'role':'user','content':'x'}]}" },

    { "gemini", LLMR_FMT_GEMINI,
      "{'contents':[{'role':'user','parts':[{'text':'Write a poem'}]}],"
      "'generationConfig':{'maxOutputTokens':100}}" },

    { "gemini with a model member", LLMR_FMT_GEMINI,
      "{'model':'models/gemini-2.0-flash','contents':[{'parts':[{'text':"
      "'x'}]}]}" },
};


static const char  *ids[] = {
    "gpt-4o-mini",
    "claude-3-5-haiku-20241022",
    "meta-llama/Llama-3.1-8B-Instruct",
    "we\"ird\\id/",
    "mod\xc3\xa8le-\xc3\xbc-\xe4\xb8\x96",
    "tab\there\x01",
    "",
};


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


static void
sb_add(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->size) {
        b->size = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->size);
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}


static void
sb_str(sbuf_t *b, const char *s)
{
    size_t  i;
    char    hex[8];

    sb_add(b, "\"", 1);

    for (i = 0; s[i]; i++) {
        snprintf(hex, sizeof(hex), "%02x", (unsigned char) s[i]);
        sb_add(b, hex, 2);
    }

    sb_add(b, "\"", 1);
}


/*
 * A canonical dump of a parsed value: strings as hex of their decoded
 * bytes, numbers as written.  skip1/skip2 name top-level keys left out.
 */

static void
dump(sbuf_t *b, yajl_val v, const char *skip1, const char *skip2)
{
    size_t  i;

    switch (v->type) {

    case yajl_t_string:
        sb_str(b, v->u.string);
        break;

    case yajl_t_number:
        sb_add(b, v->u.number.r, strlen(v->u.number.r));
        break;

    case yajl_t_object:
        sb_add(b, "{", 1);

        for (i = 0; i < v->u.object.len; i++) {
            if ((skip1 && strcmp(v->u.object.keys[i], skip1) == 0)
                || (skip2 && strcmp(v->u.object.keys[i], skip2) == 0))
            {
                continue;
            }

            sb_str(b, v->u.object.keys[i]);
            sb_add(b, ":", 1);
            dump(b, v->u.object.values[i], NULL, NULL);
            sb_add(b, ",", 1);
        }

        sb_add(b, "}", 1);
        break;

    case yajl_t_array:
        sb_add(b, "[", 1);

        for (i = 0; i < v->u.array.len; i++) {
            dump(b, v->u.array.values[i], NULL, NULL);
            sb_add(b, ",", 1);
        }

        sb_add(b, "]", 1);
        break;

    case yajl_t_true:
        sb_add(b, SL("true"));
        break;

    case yajl_t_false:
        sb_add(b, SL("false"));
        break;

    default:
        sb_add(b, SL("null"));
        break;
    }
}


static yajl_val
member(yajl_val obj, const char *key)
{
    size_t  i;

    for (i = 0; obj && i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


/* the dump of a top-level member, without "include_usage" inside it */

static char *
dump_member(yajl_val top, const char *key)
{
    sbuf_t    b;
    yajl_val  v;

    memset(&b, 0, sizeof(b));
    v = member(top, key);

    if (v == NULL) {
        sb_add(&b, SL("absent"));

    } else {
        dump(&b, v, "include_usage", NULL);
    }

    return b.data;
}


static char *
dump_body(yajl_val top)
{
    sbuf_t  b;

    memset(&b, 0, sizeof(b));
    dump(&b, top, "model", "stream_options");

    return b.data;
}


static int
extract(llmr_extract_t *x, int hint, const char *body, size_t len)
{
    llmr_extract_reset(x, hint);

    if (llmr_extract_feed(x, (const unsigned char *) body, len) != LLMR_OK) {
        return LLMR_ERROR;
    }

    return llmr_extract_finish(x);
}


static int
str_eq(llmr_str_t a, llmr_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}


/* everything but the model and the stream options is unchanged */

static const char *
req_diff(const llmr_request_t *p, const llmr_request_t *q)
{
#define DIFF(f)  if (p->f != q->f) return #f

    DIFF(format);
    DIFF(text_bytes);
    DIFF(last_user_bytes);
    DIFF(system_bytes);
    DIFF(messages);
    DIFF(user_turns);
    DIFF(assistant_turns);
    DIFF(tool_results);
    DIFF(tools);
    DIFF(images);
    DIFF(parts);
    DIFF(max_tokens);
    DIFF(stream);
    DIFF(json_output);
    DIFF(reasoning);

#undef DIFF

    if (!str_eq(p->last_user, q->last_user)) return "last_user";
    if (!str_eq(p->system, q->system)) return "system";
    if (!str_eq(p->history, q->history)) return "history";

    return NULL;
}


/* a plan is sorted, non-overlapping, in the body, and delta adds up */

static int
plan_sane(const llmr_rewrite_t *rw, size_t len)
{
    off_t     pos, delta;
    unsigned  i;

    if (rw->nedits > LLMR_REWRITE_EDITS_MAX
        || rw->used > LLMR_REWRITE_BUF_SIZE)
    {
        return 0;
    }

    pos = 0;
    delta = 0;

    for (i = 0; i < rw->nedits; i++) {
        if (rw->edits[i].start < pos
            || rw->edits[i].end < rw->edits[i].start
            || rw->edits[i].end > (off_t) len)
        {
            return 0;
        }

        pos = rw->edits[i].end;
        delta += (off_t) rw->edits[i].len
                 - (rw->edits[i].end - rw->edits[i].start);
    }

    return delta == rw->delta;
}


static void
test_properties(void)
{
    int                    iu, want_usage, rc;
    char                  *body, *out, *out2, *d1, *d2, *s1, *s2;
    size_t                 i, j, len, n, n2, fails;
    yajl_val               t1, t2;
    const char            *why;
    llmr_rewrite_t         rw, rw2;
    llmr_extract_t        *x;
    llmr_request_t         orig;
    const llmr_request_t  *req;

    x = llmr_extract_create(NULL);

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        body = json(bodies[i].body);
        len = strlen(body);

        rc = extract(x, bodies[i].hint, body, len);
        is_int(rc, LLMR_OK, "%s: extracts", bodies[i].name);

        if (rc != LLMR_OK) {
            printf("#   %s\n", llmr_extract_error(x));
            free(body);
            continue;
        }

        orig = *llmr_extract_result(x);
        t1 = yajl_tree_parse(body, NULL, 0);
        d1 = dump_body(t1);
        s1 = dump_member(t1, "stream_options");
        fails = 0;

        for (j = 0; j < sizeof(ids) / sizeof(ids[0]); j++) {
            for (iu = 0; iu < 2; iu++) {
                why = NULL;

                /* the extractor's result is reused, so plan from a copy */
                rc = llmr_rewrite_plan(&rw, &orig, ids[j], strlen(ids[j]),
                                       iu);

                if (rc != LLMR_OK) {
                    why = "plan failed";
                    goto next;
                }

                if (!plan_sane(&rw, len)) {
                    why = "plan not sorted or out of the body";
                    goto next;
                }

                out = malloc(len + rw.delta + 1);
                n = llmr_rewrite_apply(&rw, (const unsigned char *) body, len,
                                       (unsigned char *) out);
                out[n] = '\0';

                if (n != len + rw.delta) {
                    why = "apply wrote other than len + delta";
                    goto done;
                }

                t2 = yajl_tree_parse(out, NULL, 0);

                if (t2 == NULL) {
                    why = "not valid JSON";
                    goto done;
                }

                d2 = dump_body(t2);

                if (strcmp(d1, d2) != 0) {
                    why = "other members changed";
                }

                free(d2);

                want_usage = iu && orig.stream && !orig.include_usage
                             && (orig.format == LLMR_FMT_OPENAI_CHAT
                                 || orig.format
                                    == LLMR_FMT_OPENAI_COMPLETIONS)
                             && (!orig.has_stream_options
                                 || (!orig.has_include_usage
                                     && orig.stream_options_start > 0));

                s2 = dump_member(t2, "stream_options");

                if (why == NULL && orig.has_stream_options
                    && strcmp(s1, s2) != 0)
                {
                    why = "stream_options changed beyond include_usage";
                }

                free(s2);
                yajl_tree_free(t2);

                if (why) {
                    goto done;
                }

                rc = extract(x, bodies[i].hint, out, n);
                req = llmr_extract_result(x);

                if (rc != LLMR_OK) {
                    why = "the rewritten body does not extract";

                } else if ((why = req_diff(&orig, req)) != NULL) {
                    /* why names the field */

                } else if (orig.format == LLMR_FMT_GEMINI
                           ? (req->has_model != orig.has_model
                              || !str_eq(req->model, orig.model))
                           : (!req->has_model
                              || req->model.len != strlen(ids[j])
                              || memcmp(req->model.data, ids[j],
                                        req->model.len) != 0))
                {
                    why = "model";

                } else if (req->include_usage
                           != (orig.include_usage || want_usage))
                {
                    why = "include_usage";
                }

                if (why) {
                    goto done;
                }

                /* a second rewrite to the same model changes nothing */

                rc = llmr_rewrite_plan(&rw2, req, ids[j], strlen(ids[j]), iu);
                out2 = malloc(n + rw2.delta + 1);
                n2 = llmr_rewrite_apply(&rw2, (const unsigned char *) out, n,
                                        (unsigned char *) out2);

                if (rc != LLMR_OK || n2 != n || memcmp(out, out2, n) != 0) {
                    why = "not idempotent";
                }

                free(out2);

            done:

                if (why) {
                    printf("#   %s, id '%s', include_usage %d: %s\n",
                           bodies[i].name, ids[j], iu, why);
                    printf("#   out: %s\n", out);
                }

                free(out);

            next:

                fails += (why != NULL);
            }
        }

        ok(fails == 0, "%s: %zu rewrites valid, model set, rest unchanged",
           bodies[i].name, 2 * sizeof(ids) / sizeof(ids[0]));

        free(d1);
        free(s1);
        yajl_tree_free(t1);
        free(body);
    }

    llmr_extract_destroy(x);
}


/* the exact bytes for small bodies */

static void
test_exact(void)
{
    char            *body, *want, out[4096];
    size_t           i, n;
    llmr_rewrite_t   rw;
    llmr_extract_t  *x;

    static const struct {
        const char  *name;
        int          hint;
        const char  *body;
        const char  *id;
        int          include_usage;
        const char  *want;
        unsigned     nedits;
    } t[] = {

        { "replace", LLMR_FMT_UNKNOWN,
          "{'model':'a','prompt':'x'}", "b", 0,
          "{'model':'b','prompt':'x'}", 1 },

        { "replace with blanks", LLMR_FMT_UNKNOWN,
          "{ 'model' :\n 'a' ,'prompt':'x'}", "gpt-4o", 0,
          "{ 'model':'gpt-4o' ,'prompt':'x'}", 1 },

        { "replace escaped", LLMR_FMT_UNKNOWN,
          "{'mod\\u0065l':'\\u0061','prompt':'x'}", "q\"\\", 0,
          "{'mod\\u0065l':'q\\'\\\\','prompt':'x'}", 1 },

        { "insert", LLMR_FMT_UNKNOWN,
          "{'prompt':'x'}", "b", 0,
          "{'model':'b','prompt':'x'}", 1 },

        { "insert before blanks", LLMR_FMT_UNKNOWN,
          " {\n 'prompt':'x'\n}", "b", 0,
          " {'model':'b',\n 'prompt':'x'\n}", 1 },

        { "insert control characters", LLMR_FMT_UNKNOWN,
          "{'prompt':'x'}", "a\tb\x01", 0,
          "{'model':'a\\tb\\u0001','prompt':'x'}", 1 },

        { "gemini: none", LLMR_FMT_GEMINI,
          "{'contents':[{'parts':[{'text':'x'}]}]}", "gemini-2.5-pro", 1,
          "{'contents':[{'parts':[{'text':'x'}]}]}", 0 },

        { "usage inserted after model", LLMR_FMT_UNKNOWN,
          "{'prompt':'x','stream':true}", "b", 1,
          "{'model':'b','stream_options':{'include_usage':true},"
          "'prompt':'x','stream':true}", 1 },

        { "usage inserted first", LLMR_FMT_UNKNOWN,
          "{'prompt':'x','stream':true,'model':'a'}", "b", 1,
          "{'stream_options':{'include_usage':true},'prompt':'x',"
          "'stream':true,'model':'b'}", 2 },

        { "usage into empty stream_options", LLMR_FMT_UNKNOWN,
          "{'model':'a','stream':true,'stream_options':{},'prompt':'x'}",
          "b", 1,
          "{'model':'b','stream':true,'stream_options':"
          "{'include_usage':true},'prompt':'x'}", 2 },

        { "usage into blank stream_options", LLMR_FMT_UNKNOWN,
          "{'model':'a','stream':true,'stream_options':{ \n },'prompt':'x'}",
          "b", 1,
          "{'model':'b','stream':true,'stream_options':"
          "{'include_usage':true \n },'prompt':'x'}", 2 },

        { "usage into stream_options", LLMR_FMT_UNKNOWN,
          "{'stream':true,'stream_options':{'x':1},'prompt':'x',"
          "'model':'a'}", "b", 1,
          "{'stream':true,'stream_options':{'include_usage':true,'x':1},"
          "'prompt':'x','model':'b'}", 2 },

        { "usage false is kept", LLMR_FMT_UNKNOWN,
          "{'model':'a','stream':true,'stream_options':{'include_usage':"
          "false},'prompt':'x'}", "b", 1,
          "{'model':'b','stream':true,'stream_options':{'include_usage':"
          "false},'prompt':'x'}", 1 },

        { "usage true is kept", LLMR_FMT_UNKNOWN,
          "{'model':'a','stream':true,'stream_options':{'include_usage':"
          "true},'prompt':'x'}", "b", 1,
          "{'model':'b','stream':true,'stream_options':{'include_usage':"
          "true},'prompt':'x'}", 1 },

        { "null stream_options is kept", LLMR_FMT_UNKNOWN,
          "{'model':'a','stream':true,'stream_options':null,'prompt':'x'}",
          "b", 1,
          "{'model':'b','stream':true,'stream_options':null,'prompt':'x'}",
          1 },

        { "no usage unless streamed", LLMR_FMT_UNKNOWN,
          "{'model':'a','prompt':'x'}", "b", 1,
          "{'model':'b','prompt':'x'}", 1 },

        { "no usage unless asked", LLMR_FMT_UNKNOWN,
          "{'model':'a','stream':true,'prompt':'x'}", "b", 0,
          "{'model':'b','stream':true,'prompt':'x'}", 1 },

        { "no usage for anthropic", LLMR_FMT_ANTHROPIC,
          "{'model':'a','stream':true,'max_tokens':5,'messages':[{'role':"
          "'user','content':'x'}]}", "b", 1,
          "{'model':'b','stream':true,'max_tokens':5,'messages':[{'role':"
          "'user','content':'x'}]}", 1 },

        { "no usage for responses", LLMR_FMT_UNKNOWN,
          "{'model':'a','stream':true,'input':'x'}", "b", 1,
          "{'model':'b','stream':true,'input':'x'}", 1 },

        { "nested models untouched", LLMR_FMT_UNKNOWN,
          "{'metadata':{'model':'m'},'messages':[{'role':'user','content':"
          "'x','model':'n'}]}", "b", 0,
          "{'model':'b','metadata':{'model':'m'},'messages':[{'role':"
          "'user','content':'x','model':'n'}]}", 1 },
    };

    x = llmr_extract_create(NULL);

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        body = json(t[i].body);
        want = json(t[i].want);

        is_int(extract(x, t[i].hint, body, strlen(body)), LLMR_OK,
               "%s: extracts", t[i].name);
        is_int(llmr_rewrite_plan(&rw, llmr_extract_result(x), t[i].id,
                                 strlen(t[i].id), t[i].include_usage),
               LLMR_OK, "%s: planned", t[i].name);
        is_int(rw.nedits, t[i].nedits, "%s: %u edits", t[i].name,
               t[i].nedits);

        n = llmr_rewrite_apply(&rw, (unsigned char *) body, strlen(body),
                               (unsigned char *) out);
        out[n] = '\0';

        is_str(out, want, "%s: bytes", t[i].name);
        is_int(n, strlen(body) + rw.delta, "%s: len + delta", t[i].name);

        free(body);
        free(want);
    }

    llmr_extract_destroy(x);
}


static void
test_edges(void)
{
    char            *body, id[LLMR_MODEL_ID_MAX + 2], out[256];
    size_t           n;
    llmr_rewrite_t   rw;
    llmr_extract_t  *x;
    llmr_request_t   req;

    x = llmr_extract_create(NULL);
    body = json("{'model':'a','stream':true,'prompt':'x'}");
    extract(x, LLMR_FMT_UNKNOWN, body, strlen(body));
    req = *llmr_extract_result(x);

    /* the id length limit, and escapes that would not fit the buffer */

    memset(id, 'm', sizeof(id));
    is_int(llmr_rewrite_plan(&rw, &req, id, LLMR_MODEL_ID_MAX, 1), LLMR_OK,
           "an id of LLMR_MODEL_ID_MAX bytes");
    is_int(llmr_rewrite_plan(&rw, &req, id, LLMR_MODEL_ID_MAX + 1, 1),
           LLMR_ERROR, "a longer id fails");
    is_int(rw.nedits, 0, "no edits after a failure");
    is_int(rw.delta, 0, "no delta after a failure");

    memset(id, '\x01', sizeof(id));
    is_int(llmr_rewrite_plan(&rw, &req, id, 100, 1), LLMR_OK,
           "an id escaping to 600 bytes fits");
    is_int(llmr_rewrite_plan(&rw, &req, id, LLMR_MODEL_ID_MAX, 1),
           LLMR_ERROR, "an id escaping beyond the buffer fails");

    /* an empty object takes the member without a comma */

    extract(x, LLMR_FMT_UNKNOWN, "{}", 2);
    is_int(llmr_extract_errcode(x), LLMR_EXTRACT_E_EMPTY, "{} is empty");
    req = *llmr_extract_result(x);
    ok(req.empty_object, "{}: empty_object");

    llmr_rewrite_plan(&rw, &req, "b", 1, 1);
    n = llmr_rewrite_apply(&rw, (unsigned char *) "{}", 2,
                           (unsigned char *) out);
    out[n] = '\0';
    is_str(out, "{\"model\":\"b\"}", "{}: model without a comma");

    req.stream = 1;
    req.format = LLMR_FMT_OPENAI_CHAT;
    llmr_rewrite_plan(&rw, &req, "b", 1, 1);
    n = llmr_rewrite_apply(&rw, (unsigned char *) "{}", 2,
                           (unsigned char *) out);
    out[n] = '\0';
    is_str(out, "{\"model\":\"b\",\"stream_options\":"
           "{\"include_usage\":true}}",
           "{}: model and usage without a trailing comma");

    /* anchors that make no sense are refused */

    req = *llmr_extract_result(x);
    req.has_model = 1;
    req.model_key_end = -1;
    is_int(llmr_rewrite_plan(&rw, &req, "b", 1, 0), LLMR_ERROR,
           "a model without anchors fails");

    req = *llmr_extract_result(x);
    req.object_start = -1;
    is_int(llmr_rewrite_plan(&rw, &req, "b", 1, 0), LLMR_ERROR,
           "an insertion without object_start fails");

    req = *llmr_extract_result(x);
    req.has_model = 1;
    req.model_key_end = 5;
    req.model_end = 50;
    is_int(llmr_rewrite_plan(&rw, &req, "b", 1, 0), LLMR_ERROR,
           "a model beyond the body fails");

    /* a plan for a longer body is refused by apply */

    extract(x, LLMR_FMT_UNKNOWN, body, strlen(body));
    llmr_rewrite_plan(&rw, llmr_extract_result(x), "b", 1, 0);
    is_int(llmr_rewrite_apply(&rw, (unsigned char *) "{}", 2,
                              (unsigned char *) out), 0,
           "apply refuses edits beyond the body");

    /* no edits: a plain copy */

    free(body);
    body = json("{'contents':[{'parts':[{'text':'x'}]}]}");

    extract(x, LLMR_FMT_GEMINI, body, strlen(body));
    llmr_rewrite_plan(&rw, llmr_extract_result(x), "g", 1, 1);
    is_int(rw.nedits, 0, "gemini: no edits");
    n = llmr_rewrite_apply(&rw, (unsigned char *) body, strlen(body),
                           (unsigned char *) out);
    ok(n == strlen(body) && memcmp(out, body, n) == 0, "no edits: a copy");

    free(body);
    llmr_extract_destroy(x);
}


int
main(void)
{
    test_properties();
    test_exact();
    test_edges();

    return tap_done();
}
