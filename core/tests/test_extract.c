/*
 * Copyright (C) ngx_llm_router authors
 */


#include <llmr/core.h>
#include <llmr/extract.h>

#include "tap.h"


/*
 * Bodies are written with ' for " to stay readable; a quote inside a JSON
 * string is written \u0022 or \u0027.
 */

#define TB_AUTO     -2          /* text_bytes = the three texts' lengths */

#define F_STREAM    0x01
#define F_SO        0x02        /* has_stream_options */
#define F_IU        0x04        /* include_usage */
#define F_JSON      0x08
#define F_REASON    0x10


typedef struct {
    const char                 *name;
    int                         hint;
    const char                 *body;
    int                         format;
    const char                 *last_user;
    const char                 *system;
    const char                 *history;
    const char                 *model;      /* NULL: no top-level model */
    const char                 *model_span; /* [model_key_end, model_end) */
    long                        text_bytes;
    unsigned                    messages;
    unsigned                    user_turns;
    unsigned                    assistant_turns;
    unsigned                    tool_results;
    unsigned                    tools;
    unsigned                    images;
    unsigned                    parts;
    long                        max_tokens;
    unsigned                    flags;
} case_t;


typedef struct {
    int                         rc;
    int                         err;
    char                        error[256];
    llmr_request_t              req;
    char                       *last_user;
    char                       *system;
    char                       *history;
    char                       *model;
} snap_t;


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


static char *
dup_str(llmr_str_t s)
{
    char  *p;

    p = malloc(s.len + 1);
    if (s.len) {
        memcpy(p, s.data, s.len);
    }

    p[s.len] = '\0';

    return p;
}


static void
snap_free(snap_t *s)
{
    free(s->last_user);
    free(s->system);
    free(s->history);
    free(s->model);
    memset(s, 0, sizeof(snap_t));
}


/* feeds each chunk from its own exact-size copy, so overreads show */

static int
feed_copy(llmr_extract_t *x, const char *p, size_t n)
{
    int             rc;
    unsigned char  *c;

    c = malloc(n ? n : 1);
    memcpy(c, p, n);
    rc = llmr_extract_feed(x, c, n);
    free(c);

    return rc;
}


/*
 * Extracts body cut into chunks: at "split" when chunk == 0 (split == len
 * means one piece), else every "chunk" bytes.
 */

static void
run(llmr_extract_t *x, int hint, const char *body, size_t len, size_t split,
    size_t chunk, snap_t *s)
{
    int     rc;
    size_t  off, n;

    llmr_extract_reset(x, hint);

    rc = LLMR_OK;

    if (chunk == 0) {
        rc = feed_copy(x, body, split);

        if (rc == LLMR_OK && split < len) {
            rc = feed_copy(x, body + split, len - split);
        }

    } else {
        for (off = 0; off < len && rc == LLMR_OK; off += n) {
            n = (len - off < chunk) ? len - off : chunk;
            rc = feed_copy(x, body + off, n);
        }
    }

    if (rc == LLMR_OK) {
        rc = llmr_extract_finish(x);
    }

    memset(s, 0, sizeof(snap_t));
    s->rc = rc;
    s->err = llmr_extract_errcode(x);
    snprintf(s->error, sizeof(s->error), "%s", llmr_extract_error(x));
    s->req = *llmr_extract_result(x);
    s->last_user = dup_str(s->req.last_user);
    s->system = dup_str(s->req.system);
    s->history = dup_str(s->req.history);
    s->model = dup_str(s->req.model);
}


/* NULL when equal, else the name of the first field that differs */

static const char *
snap_diff(const snap_t *a, const snap_t *b)
{
    const llmr_request_t  *p, *q;

    p = &a->req;
    q = &b->req;

#define DIFF(f)  if (p->f != q->f) return #f

    if (a->rc != b->rc) return "rc";

    /* after an error the rest of the body is not fed */
    if (a->rc == LLMR_OK && p->body_bytes != q->body_bytes) {
        return "body_bytes";
    }

    if (a->err != b->err) return "err";
    if (strcmp(a->error, b->error) != 0) return "error";
    if (strcmp(a->last_user, b->last_user) != 0) return "last_user";
    if (strcmp(a->system, b->system) != 0) return "system";
    if (strcmp(a->history, b->history) != 0) return "history";
    if (strcmp(a->model, b->model) != 0) return "model";

    DIFF(format);
    DIFF(last_user.len);
    DIFF(system.len);
    DIFF(history.len);
    DIFF(model.len);
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
    DIFF(has_model);
    DIFF(has_stream_options);
    DIFF(include_usage);
    DIFF(json_output);
    DIFF(reasoning);
    DIFF(empty_object);
    DIFF(empty_stream_options);
    DIFF(has_include_usage);
    DIFF(model_key_end);
    DIFF(model_end);
    DIFF(object_start);
    DIFF(stream_options_start);

#undef DIFF

    return NULL;
}


static void
diag_split(const char *name, const char *how, size_t at, const char *field,
    const snap_t *a, const snap_t *b)
{
    printf("# %s: %s at %zu differs in %s\n", name, how, at, field);
    printf("#   one piece: rc=%d err=%d '%s' user='%s'\n", a->rc, a->err,
           a->error, a->last_user);
    printf("#   cut:       rc=%d err=%d '%s' user='%s'\n", b->rc, b->err,
           b->error, b->last_user);
}


/* the one-piece result must not depend on how the body is cut */

static void
check_splits(llmr_extract_t *x, int hint, const char *body, const char *name)
{
    size_t       len, i;
    snap_t       one, s;
    const char  *d, *bad;

    len = strlen(body);

    run(x, hint, body, len, len, 0, &one);

    bad = NULL;

    for (i = 0; i <= len && bad == NULL; i++) {
        run(x, hint, body, len, i, 0, &s);
        d = snap_diff(&one, &s);

        if (d) {
            bad = d;
            diag_split(name, "split", i, d, &one, &s);
        }

        snap_free(&s);
    }

    ok(bad == NULL, "%s: identical at all %zu two-chunk splits", name,
       len + 1);

    run(x, hint, body, len, 0, 1, &s);
    d = snap_diff(&one, &s);

    if (d) {
        diag_split(name, "byte-by-byte", 0, d, &one, &s);
    }

    ok(d == NULL, "%s: identical byte by byte", name);

    snap_free(&s);
    snap_free(&one);
}


static const case_t  cases[] = {

    { "chat basic", LLMR_FMT_UNKNOWN,
      "{'model':'gpt-4o-mini','messages':[{'role':'system','content':"
      "'You are terse.'},{'role':'user','content':'What is 2+2?'}],"
      "'max_tokens':50,'temperature':0.2,'n':1,'stop':null}",
      LLMR_FMT_OPENAI_CHAT, "What is 2+2?", "You are terse.", "",
      "gpt-4o-mini", ":'gpt-4o-mini'", 26, 2, 1, 0, 0, 0, 0, 0, 50, 0 },

    { "chat multimodal", LLMR_FMT_UNKNOWN,
      "{'messages':[{'role':'developer','content':[{'type':'text','text':"
      "'Be precise.'}]},{'role':'user','content':[{'type':'text','text':"
      "'Describe this'},{'type':'image_url','image_url':{'url':"
      "'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ',"
      "'detail':'high'}},{'type':'text','text':'and this'},{'type':"
      "'input_audio','input_audio':{'data':'UklGRg==','format':'wav'}}]}],"
      "'model':'gpt-4o','stream':true,'stream_options':{'include_usage':"
      "true},'tools':[{'type':'function','function':{'name':'get_weather',"
      "'parameters':{'type':'object','properties':{'city':{'type':"
      "'string'}}}}},{'type':'function','function':{'name':'f2',"
      "'parameters':{}}}],'response_format':{'type':'json_object'},"
      "'max_completion_tokens':300,'max_tokens':9,'reasoning_effort':"
      "'high'}",
      LLMR_FMT_OPENAI_CHAT, "Describe this\nand this", "Be precise.", "",
      "gpt-4o", ":'gpt-4o'", 32, 2, 1, 0, 0, 2, 1, 5, 300,
      F_STREAM | F_SO | F_IU | F_JSON | F_REASON },

    { "chat tools conversation", LLMR_FMT_UNKNOWN,
      "{'model':'gpt-4.1','messages':[{'content':'You help with weather.',"
      "'role':'system'},{'role':'user','content':'Weather in Paris?'},"
      "{'role':'assistant','content':null,'tool_calls':[{'id':'call_1',"
      "'type':'function','function':{'name':'get_weather','arguments':"
      "'{\\u0022city\\u0022:\\u0022Paris\\u0022}'}}]},{'role':'tool',"
      "'tool_call_id':'call_1','content':'18C and sunny'},{'role':"
      "'assistant','content':'It is 18C and sunny.'},{'content':"
      "'And in Rome tomorrow?','role':'user'}],'functions':[{'name':"
      "'legacy','parameters':{}}],'max_tokens':100,'stream':false,"
      "'stream_options':null}",
      LLMR_FMT_OPENAI_CHAT, "And in Rome tomorrow?",
      "You help with weather.", "Weather in Paris?\nIt is 18C and sunny.",
      "gpt-4.1", ":'gpt-4.1'", 93, 6, 2, 2, 1, 1, 0, 0, 100, F_SO },

    { "completions string", LLMR_FMT_UNKNOWN,
      "{'model':'gpt-3.5-turbo-instruct','prompt':'Say this is a test',"
      "'max_tokens':7,'stream':true,'logprobs':null}",
      LLMR_FMT_OPENAI_COMPLETIONS, "Say this is a test", "", "",
      "gpt-3.5-turbo-instruct", ":'gpt-3.5-turbo-instruct'", 18,
      1, 1, 0, 0, 0, 0, 0, 7, F_STREAM },

    { "completions array", LLMR_FMT_UNKNOWN,
      "{'prompt':['first prompt','second'],'model':'babbage-002',"
      "'echo':false}",
      LLMR_FMT_OPENAI_COMPLETIONS, "first prompt\nsecond", "", "",
      "babbage-002", ":'babbage-002'", 18, 1, 1, 0, 0, 0, 0, 0, -1, 0 },

    { "responses string", LLMR_FMT_UNKNOWN,
      "{'model':'o4-mini','instructions':'Answer in French.','input':"
      "'Tell me a joke','reasoning':{'effort':'medium'},"
      "'max_output_tokens':500,'text':{'format':{'type':'json_schema',"
      "'name':'joke','schema':{'type':'object'}}},'store':false}",
      LLMR_FMT_OPENAI_RESPONSES, "Tell me a joke", "Answer in French.", "",
      "o4-mini", ":'o4-mini'", 31, 1, 1, 0, 0, 0, 0, 0, 500,
      F_JSON | F_REASON },

    { "responses items", LLMR_FMT_UNKNOWN,
      "{'model':'gpt-4.1','input':[{'role':'developer','content':"
      "'Be brief.'},{'role':'user','content':[{'type':'input_text','text':"
      "'What is in this image?'},{'type':'input_image','image_url':"
      "'https://example.com/cat.png'}]},{'type':'function_call','call_id':"
      "'c1','name':'lookup','arguments':'{}'},{'type':"
      "'function_call_output','call_id':'c1','output':'cat: tabby'},"
      "{'type':'message','role':'assistant','content':[{'type':"
      "'output_text','text':'A tabby cat.'}]},{'role':'user','content':"
      "'Thanks! Its name?'}],'tools':[{'type':'function','name':'lookup',"
      "'parameters':{}},{'type':'web_search'}],'reasoning':{'effort':"
      "'none'}}",
      LLMR_FMT_OPENAI_RESPONSES, "Thanks! Its name?", "Be brief.",
      "What is in this image?\nA tabby cat.", "gpt-4.1", ":'gpt-4.1'", 70,
      6, 2, 1, 1, 2, 1, 3, -1, 0 },

    { "anthropic blocks", LLMR_FMT_UNKNOWN,
      "{'model':'claude-sonnet-4-20250514','max_tokens':1024,'system':"
      "[{'type':'text','text':'You are a code reviewer.','cache_control':"
      "{'type':'ephemeral'}}],'messages':[{'role':'user','content':"
      "[{'type':'image','source':{'type':'base64','media_type':"
      "'image/jpeg','data':'/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgH'}},"
      "{'type':'text','text':'Review this diagram'}]},{'role':'assistant',"
      "'content':[{'type':'tool_use','id':'tu1','name':'read_file','input':"
      "{'path':'a.c','text':'not prompt text'}}]},{'role':'user','content':"
      "[{'type':'tool_result','tool_use_id':'tu1','content':[{'type':"
      "'text','text':'int main(){}'}]}]}],'tools':[{'name':'read_file',"
      "'description':'Read a file','input_schema':{'type':'object'}}],"
      "'stream':true,'thinking':{'type':'enabled','budget_tokens':2048}}",
      LLMR_FMT_ANTHROPIC, "Review this diagram", "You are a code reviewer.",
      "", "claude-sonnet-4-20250514", ":'claude-sonnet-4-20250514'", 55,
      3, 1, 1, 1, 1, 1, 6, 1024, F_STREAM | F_REASON },

    { "anthropic strings", LLMR_FMT_UNKNOWN,
      "{'messages':[{'content':'Hello Claude','role':'user'},{'role':"
      "'assistant','content':'Hi! How can I help?'},{'role':'user',"
      "'content':[{'content':'42','type':'tool_result','tool_use_id':'x'},"
      "{'type':'text','text':'Explain the result'}]}],'system':'Be kind.',"
      "'max_tokens':256,'model':'claude-3-5-haiku-latest','thinking':"
      "{'type':'disabled'}}",
      LLMR_FMT_ANTHROPIC, "Explain the result", "Be kind.",
      "Hello Claude\nHi! How can I help?", "claude-3-5-haiku-latest",
      ":'claude-3-5-haiku-latest'", 59, 3, 2, 1, 1, 0, 0, 2, 256, 0 },

    { "gemini", LLMR_FMT_UNKNOWN,
      "{'systemInstruction':{'parts':[{'text':'You are a poet.'}]},"
      "'contents':[{'role':'user','parts':[{'text':'Write a haiku about'},"
      "{'inlineData':{'mimeType':'image/png','data':'iVBORw0KGgo='}},"
      "{'text':'this picture'}]},{'role':'model','parts':[{'text':"
      "'Leaves fall softly'}]},{'parts':[{'text':'Another one'},"
      "{'fileData':{'mimeType':'application/pdf','fileUri':"
      "'gs://b/f.pdf'}}]}],'generationConfig':{'maxOutputTokens':200,"
      "'temperature':0.9,'responseMimeType':'application/json',"
      "'thinkingConfig':{'thinkingBudget':1024}},'tools':"
      "[{'functionDeclarations':[{'name':'a'},{'name':'b'},{'name':'c'}]},"
      "{'googleSearch':{}}],'safetySettings':[]}",
      LLMR_FMT_GEMINI, "Another one", "You are a poet.",
      "Write a haiku about\nthis picture\nLeaves fall softly", NULL, NULL,
      75, 3, 2, 1, 0, 4, 1, 7, 200, F_JSON | F_REASON },

    { "gemini snake case", LLMR_FMT_UNKNOWN,
      "{'system_instruction':{'parts':[{'text':'Sys'}]},'contents':"
      "[{'role':'user','parts':[{'text':'Call the tool'}]},{'role':'model',"
      "'parts':[{'function_call':{'name':'f','args':{}}}]},{'role':'user',"
      "'parts':[{'function_response':{'name':'f','response':{'result':"
      "'ok'}}}]}],'generation_config':{'max_output_tokens':64,"
      "'thinking_config':{'thinking_budget':0},'response_mime_type':"
      "'text/plain'}}",
      LLMR_FMT_GEMINI, "Call the tool", "Sys", "", NULL, NULL, 16,
      3, 1, 1, 1, 0, 0, 4, 64, 0 },

    { "model spacing and escapes", LLMR_FMT_UNKNOWN,
      "\r\n { 'metadata' : {'model':'nested'} , 'model'  :   "
      "'gpt\\u002d4o' ,'messages':[{'role':'user','content':'hi',"
      "'model':'inner'}] } \n",
      LLMR_FMT_OPENAI_CHAT, "hi", "", "", "gpt-4o",
      "  :   'gpt\\u002d4o'", TB_AUTO, 1, 1, 0, 0, 0, 0, 0, -1, 0 },

    { "model last, unicode", LLMR_FMT_UNKNOWN,
      "{'messages':[{'role':'user','content':'Gr\xc3\xbc\xc3\x9f" "e, "
      "\xe4\xb8\x96\xe7\x95\x8c! \xf0\x9f\x9a\x80 \\u00e9\\ud83d\\ude00'}],"
      "'model':'mistral-large'}",
      LLMR_FMT_OPENAI_CHAT,
      "Gr\xc3\xbc\xc3\x9f" "e, \xe4\xb8\x96\xe7\x95\x8c! \xf0\x9f\x9a\x80 "
      "\xc3\xa9\xf0\x9f\x98\x80", "", "", "mistral-large",
      ":'mistral-large'", TB_AUTO, 1, 1, 0, 0, 0, 0, 0, -1, 0 },

    { "escaped model key", LLMR_FMT_UNKNOWN,
      "{'mod\\u0065l':'x','prompt':'p \\u0022quoted\\u0022 \\\\ \\n'}",
      LLMR_FMT_OPENAI_COMPLETIONS, "p \"quoted\" \\ \n", "", "", "x",
      ":'x'", TB_AUTO, 1, 1, 0, 0, 0, 0, 0, -1, 0 },

    { "no model", LLMR_FMT_UNKNOWN,
      "{'messages':[{'role':'user','content':'hello'}],'user':'u-1'}",
      LLMR_FMT_OPENAI_CHAT, "hello", "", "", NULL, NULL, 5,
      1, 1, 0, 0, 0, 0, 0, -1, 0 },

    { "hint decides ambiguity", LLMR_FMT_ANTHROPIC,
      "{'messages':[{'role':'user','content':'hi'}],'max_tokens':10,"
      "'model':'m'}",
      LLMR_FMT_ANTHROPIC, "hi", "", "", "m", ":'m'", 2,
      1, 1, 0, 0, 0, 0, 0, 10, 0 },

    { "ambiguity without hint", LLMR_FMT_UNKNOWN,
      "{'messages':[{'role':'user','content':'hi'}],'max_tokens':10,"
      "'model':'m'}",
      LLMR_FMT_OPENAI_CHAT, "hi", "", "", "m", ":'m'", 2,
      1, 1, 0, 0, 0, 0, 0, 10, 0 },

    { "hint wins over keys", LLMR_FMT_OPENAI_CHAT,
      "{'messages':[{'role':'user','content':'a'}],'system':'s','model':"
      "'claude-3-opus','max_tokens':5}",
      LLMR_FMT_OPENAI_CHAT, "a", "s", "", "claude-3-opus",
      ":'claude-3-opus'", 2, 1, 1, 0, 0, 0, 0, 0, 5, 0 },

    { "empty stream_options", LLMR_FMT_UNKNOWN,
      "{'model':'gpt-4o','stream':true,'stream_options':{},'messages':"
      "[{'role':'user','content':'x'}]}",
      LLMR_FMT_OPENAI_CHAT, "x", "", "", "gpt-4o", ":'gpt-4o'", 1,
      1, 1, 0, 0, 0, 0, 0, -1, F_STREAM | F_SO },

    { "image only", LLMR_FMT_UNKNOWN,
      "{'model':'gpt-4o','messages':[{'role':'user','content':[{'type':"
      "'image_url','image_url':{'url':'https://x/y.png'}}]}]}",
      LLMR_FMT_OPENAI_CHAT, "", "", "", "gpt-4o", ":'gpt-4o'", 0,
      1, 1, 0, 0, 0, 1, 1, -1, 0 },

    { "prefill after last user", LLMR_FMT_ANTHROPIC,
      "{'model':'claude','max_tokens':5,'messages':[{'role':'user',"
      "'content':'List three colors as JSON'},{'role':'assistant',"
      "'content':'['}]}",
      LLMR_FMT_ANTHROPIC, "List three colors as JSON", "", "[", "claude",
      ":'claude'", 26, 2, 1, 1, 0, 0, 0, 0, 5, 0 },
};


static void
test_cases(llmr_extract_t *x)
{
    char          *body, *span;
    size_t         i, n, len;
    long           tb;
    snap_t         s;
    const char    *p;
    const case_t  *c;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = &cases[i];
        body = json(c->body);
        len = strlen(body);

        run(x, c->hint, body, len, len, 0, &s);

        is_int(s.rc, LLMR_OK, "%s: ok", c->name);

        if (s.rc != LLMR_OK) {
            printf("#   error: %s\n", s.error);
        }

        is_int(s.req.format, c->format, "%s: format %s", c->name,
               llmr_format_name(c->format));
        is_str(s.last_user, c->last_user, "%s: last_user", c->name);
        is_str(s.system, c->system, "%s: system", c->name);
        is_str(s.history, c->history, "%s: history", c->name);

        tb = c->text_bytes;

        if (tb == TB_AUTO) {
            tb = strlen(c->last_user) + strlen(c->system)
                 + strlen(c->history);
        }

        is_int(s.req.text_bytes, tb, "%s: text_bytes", c->name);
        is_int(s.req.last_user_bytes, strlen(c->last_user),
               "%s: last_user_bytes", c->name);
        is_int(s.req.system_bytes, strlen(c->system), "%s: system_bytes",
               c->name);
        is_int(s.req.messages, c->messages, "%s: messages", c->name);
        is_int(s.req.user_turns, c->user_turns, "%s: user_turns", c->name);
        is_int(s.req.assistant_turns, c->assistant_turns,
               "%s: assistant_turns", c->name);
        is_int(s.req.tool_results, c->tool_results, "%s: tool_results",
               c->name);
        is_int(s.req.tools, c->tools, "%s: tools", c->name);
        is_int(s.req.images, c->images, "%s: images", c->name);
        is_int(s.req.parts, c->parts, "%s: parts", c->name);
        is_int(s.req.max_tokens, c->max_tokens, "%s: max_tokens", c->name);
        is_int(s.req.stream, !!(c->flags & F_STREAM), "%s: stream", c->name);
        is_int(s.req.has_stream_options, !!(c->flags & F_SO),
               "%s: has_stream_options", c->name);
        is_int(s.req.include_usage, !!(c->flags & F_IU),
               "%s: include_usage", c->name);
        is_int(s.req.json_output, !!(c->flags & F_JSON), "%s: json_output",
               c->name);
        is_int(s.req.reasoning, !!(c->flags & F_REASON), "%s: reasoning",
               c->name);
        is_int(s.req.body_bytes, len, "%s: body_bytes", c->name);

        p = strchr(body, '{');
        is_int(s.req.object_start, p - body + 1, "%s: object_start",
               c->name);

        is_int(s.req.has_model, c->model != NULL, "%s: has_model", c->name);

        if (c->model) {
            is_str(s.model, c->model, "%s: model", c->name);

            span = json(c->model_span);
            n = (s.req.model_end >= s.req.model_key_end
                 && s.req.model_key_end >= 0)
                ? (size_t) (s.req.model_end - s.req.model_key_end) : 0;

            ok(n == strlen(span)
               && memcmp(body + s.req.model_key_end, span, n) == 0,
               "%s: model anchors cover '%s'", c->name, span);
            free(span);

        } else {
            is_int(s.req.model_key_end, -1, "%s: no model_key_end",
                   c->name);
            is_str(s.model, "", "%s: empty model", c->name);
        }

        if (s.req.stream_options_start >= 0) {
            p = body + s.req.stream_options_start - 1;
            ok(*p == '{' && memcmp(p - 17, "\"stream_options\":", 17) == 0,
               "%s: stream_options_start after its '{'", c->name);

        } else {
            ok(!(c->flags & F_SO) || strstr(body, "null"),
               "%s: no stream_options_start", c->name);
        }

        snap_free(&s);

        check_splits(x, c->hint, body, c->name);

        free(body);
    }
}


typedef struct {
    const char                 *name;
    const char                 *body;
    int                         err;
    const char                 *msg;        /* a substring of the error */
} bad_t;


static const bad_t  bads[] = {

    { "empty body", "", LLMR_EXTRACT_E_JSON, "empty body" },
    { "blanks only", "  \n\t ", LLMR_EXTRACT_E_JSON, "invalid JSON at byte" },
    { "truncated", "{'messages':[{'role':'user','content':'hi'}]",
      LLMR_EXTRACT_E_JSON, "premature EOF" },
    { "truncated in a string", "{'messages':[{'role':'user','content':'h",
      LLMR_EXTRACT_E_JSON, "premature EOF" },
    { "missing colon", "{'model' 'x'}", LLMR_EXTRACT_E_JSON,
      "invalid JSON at byte 12: object key and value must be separated" },
    { "bad close", "{'messages':[}", LLMR_EXTRACT_E_JSON,
      "invalid JSON at byte" },
    { "trailing comma", "{'prompt':'x',}", LLMR_EXTRACT_E_JSON,
      "invalid JSON" },
    { "trailing garbage", "{'prompt':'x'} x", LLMR_EXTRACT_E_JSON,
      "trailing garbage" },
    { "two objects", "{'prompt':'x'}{}", LLMR_EXTRACT_E_JSON,
      "trailing garbage" },
    { "comment", "{/* c */'prompt':'x'}", LLMR_EXTRACT_E_JSON,
      "comment" },
    { "single quotes", "{\\'prompt\\':\\'x\\'}", LLMR_EXTRACT_E_JSON,
      "invalid JSON" },
    { "bare word", "{'prompt':hello}", LLMR_EXTRACT_E_JSON, "invalid" },
    { "bad escape", "{'prompt':'\\q'}", LLMR_EXTRACT_E_JSON, "invalid" },
    { "control char", "{'prompt':'a\tb'}", LLMR_EXTRACT_E_JSON,
      "invalid" },
    { "invalid UTF-8", "{'messages':[{'role':'user','content':'a\xff'}]}",
      LLMR_EXTRACT_E_UTF8, "invalid UTF-8 in a string at byte" },
    { "cut UTF-8", "{'prompt':'\xe2\x82'}", LLMR_EXTRACT_E_UTF8,
      "invalid UTF-8" },
    { "invalid UTF-8 key", "{'a\xc3':1,'prompt':'x'}", LLMR_EXTRACT_E_UTF8,
      "invalid UTF-8" },
    { "invalid UTF-8 ignored key",
      "{'metadata':{'x':['\xf8\x88\x80\x80\x80']},'prompt':'x'}",
      LLMR_EXTRACT_E_UTF8, "invalid UTF-8" },
    { "UTF-8 outside strings", "{'prompt':'x'}\xc3\xa9", LLMR_EXTRACT_E_JSON,
      "invalid JSON" },

    { "top-level array", "[{'prompt':'x'}]", LLMR_EXTRACT_E_TYPE,
      "must be a JSON object" },
    { "top-level string", "'hello'", LLMR_EXTRACT_E_TYPE,
      "must be a JSON object" },
    { "top-level number", "42", LLMR_EXTRACT_E_TYPE,
      "must be a JSON object" },
    { "messages number", "{'messages':5}", LLMR_EXTRACT_E_TYPE,
      "\"messages\" must be an array" },
    { "messages object", "{'messages':{'role':'user'}}",
      LLMR_EXTRACT_E_TYPE, "\"messages\" must be an array" },
    { "message string", "{'messages':['hi']}", LLMR_EXTRACT_E_TYPE,
      "message must be an object" },
    { "content number", "{'messages':[{'role':'user','content':7}]}",
      LLMR_EXTRACT_E_TYPE, "\"content\" must be a string or an array" },
    { "content object",
      "{'messages':[{'role':'user','content':{'text':'x'}}]}",
      LLMR_EXTRACT_E_TYPE, "\"content\" must be a string or an array" },
    { "part string", "{'messages':[{'role':'user','content':['x']}]}",
      LLMR_EXTRACT_E_TYPE, "content part must be an object" },
    { "text number",
      "{'messages':[{'role':'user','content':[{'type':'text','text':1}]}]}",
      LLMR_EXTRACT_E_TYPE, "\"text\" must be a string" },
    { "role number", "{'messages':[{'role':1,'content':'x'}]}",
      LLMR_EXTRACT_E_TYPE, "\"role\" must be a string" },
    { "max_tokens string",
      "{'messages':[{'role':'user','content':'x'}],'max_tokens':'x'}",
      LLMR_EXTRACT_E_TYPE, "\"max_tokens\" must be a non-negative integer" },
    { "max_tokens negative", "{'prompt':'x','max_tokens':-1}",
      LLMR_EXTRACT_E_TYPE, "\"max_tokens\" must be" },
    { "max_tokens fraction", "{'prompt':'x','max_tokens':1.5}",
      LLMR_EXTRACT_E_TYPE, "\"max_tokens\" must be" },
    { "max_tokens huge", "{'prompt':'x','max_tokens':123456789012345678901}",
      LLMR_EXTRACT_E_TYPE, "\"max_tokens\" must be" },
    { "maxOutputTokens string",
      "{'contents':[{'parts':[{'text':'x'}]}],'generationConfig':"
      "{'maxOutputTokens':'9'}}",
      LLMR_EXTRACT_E_TYPE, "\"maxOutputTokens\" must be" },
    { "stream string", "{'prompt':'x','stream':'yes'}", LLMR_EXTRACT_E_TYPE,
      "\"stream\" must be a boolean" },
    { "include_usage string",
      "{'prompt':'x','stream_options':{'include_usage':'yes'}}",
      LLMR_EXTRACT_E_TYPE, "\"include_usage\" must be a boolean" },
    { "stream_options array", "{'prompt':'x','stream_options':[]}",
      LLMR_EXTRACT_E_TYPE, "\"stream_options\" must be an object" },
    { "model number", "{'model':5,'prompt':'x'}", LLMR_EXTRACT_E_TYPE,
      "\"model\" must be a string" },
    { "model null", "{'model':null,'prompt':'x'}", LLMR_EXTRACT_E_TYPE,
      "\"model\" must be a string" },
    { "model object", "{'model':{'id':'x'},'prompt':'x'}",
      LLMR_EXTRACT_E_TYPE, "\"model\" must be a string" },
    { "tools object", "{'prompt':'x','tools':{}}", LLMR_EXTRACT_E_TYPE,
      "\"tools\" must be an array" },
    { "prompt numbers", "{'prompt':[1,2,3]}", LLMR_EXTRACT_E_TYPE,
      "\"prompt\" must be a string or an array of strings" },
    { "prompt number", "{'prompt':1}", LLMR_EXTRACT_E_TYPE,
      "\"prompt\" must be a string or an array of strings" },
    { "input number", "{'input':1}", LLMR_EXTRACT_E_TYPE,
      "\"input\" must be a string or an array" },
    { "system number", "{'system':1,'messages':[]}", LLMR_EXTRACT_E_TYPE,
      "\"system\" must be a string or an array" },
    { "systemInstruction string",
      "{'systemInstruction':'x','contents':[]}", LLMR_EXTRACT_E_TYPE,
      "\"systemInstruction\" must be an object" },
    { "parts object", "{'contents':[{'parts':{'text':'x'}}]}",
      LLMR_EXTRACT_E_TYPE, "\"parts\" must be an array" },
    { "reasoning_effort number", "{'prompt':'x','reasoning_effort':1}",
      LLMR_EXTRACT_E_TYPE, "\"reasoning_effort\" must be a string" },
    { "part type number",
      "{'messages':[{'role':'user','content':[{'type':1}]}]}",
      LLMR_EXTRACT_E_TYPE, "\"type\" must be a string" },

    { "duplicate model", "{'model':'a','prompt':'x','model':'b'}",
      LLMR_EXTRACT_E_JSON, "duplicate \"model\" key at byte 33" },
    { "duplicate stream_options",
      "{'stream_options':{},'prompt':'x','stream_options':null}",
      LLMR_EXTRACT_E_JSON, "duplicate \"stream_options\"" },

    { "empty object", "{}", LLMR_EXTRACT_E_EMPTY, "no prompt text" },
    { "model only", "{'model':'gpt-4o'}", LLMR_EXTRACT_E_EMPTY,
      "no prompt text" },
    { "empty messages", "{'model':'gpt-4o','messages':[]}",
      LLMR_EXTRACT_E_EMPTY, "no prompt text" },
    { "null messages", "{'messages':null}", LLMR_EXTRACT_E_EMPTY,
      "no prompt text" },
    { "system but no messages", "{'system':'s','messages':[]}",
      LLMR_EXTRACT_E_EMPTY, "no prompt text" },
    { "empty contents", "{'contents':[]}", LLMR_EXTRACT_E_EMPTY,
      "no prompt text" },
    { "empty input", "{'input':[]}", LLMR_EXTRACT_E_EMPTY,
      "no prompt text" },
    { "empty prompt array", "{'prompt':[]}", LLMR_EXTRACT_E_EMPTY,
      "no prompt text" },
    { "empty prompt", "{'prompt':''}", LLMR_EXTRACT_E_EMPTY,
      "no prompt text" },
    { "empty strings",
      "{'messages':[{'role':'user','content':''},{'role':'assistant',"
      "'content':[{'type':'text','text':''}]}]}",
      LLMR_EXTRACT_E_EMPTY, "no prompt text" },
    { "empty parts", "{'contents':[{'parts':[{}]}]}", LLMR_EXTRACT_E_EMPTY,
      "no prompt text" },
    { "messages elsewhere", "{'metadata':{'messages':[{'role':'user',"
      "'content':'x'}]}}", LLMR_EXTRACT_E_EMPTY, "no prompt text" },
};


static void
test_bad(llmr_extract_t *x)
{
    char        *body;
    size_t       i, len;
    snap_t       s;
    const bad_t *b;

    for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        b = &bads[i];
        body = json(b->body);
        len = strlen(body);

        run(x, LLMR_FMT_UNKNOWN, body, len, len, 0, &s);

        is_int(s.rc, LLMR_ERROR, "%s: fails", b->name);
        is_int(s.err, b->err, "%s: error code %d", b->name, b->err);
        ok(strstr(s.error, b->msg) != NULL, "%s: message '%s'", b->name,
           s.error);

        snap_free(&s);

        check_splits(x, LLMR_FMT_UNKNOWN, body, b->name);

        free(body);
    }
}


/* every strict prefix of a valid body is an error, never OK or a crash */

static void
test_prefixes(llmr_extract_t *x)
{
    char    *body;
    size_t   i, len, bad;
    snap_t   s;

    body = json(cases[1].body);
    len = strlen(body);
    bad = 0;

    for (i = 0; i < len; i++) {
        run(x, LLMR_FMT_UNKNOWN, body, i, i, 0, &s);

        if (s.rc != LLMR_ERROR
            || (s.err != LLMR_EXTRACT_E_JSON && s.err != LLMR_EXTRACT_E_UTF8))
        {
            bad++;
        }

        snap_free(&s);
    }

    is_int(bad, 0, "all %zu truncations are E_JSON", len);

    free(body);
}


static llmr_extract_t *
create(size_t user, size_t sys, size_t hist)
{
    llmr_extract_conf_t  conf;

    llmr_extract_conf_init(&conf);
    conf.max_user_text = user;
    conf.max_system_text = sys;
    conf.max_history_text = hist;

    return llmr_extract_create(&conf);
}


static void
test_conversation(void)
{
    char            *body;
    size_t           i;
    snap_t           s;
    llmr_extract_t  *x;

    static const char  *bodies[] = {
        "{'messages':[{'role':'system','content':'System prompt here'},"
        "{'role':'user','content':'first question'},{'role':'assistant',"
        "'content':'first answer'},{'role':'user','content':"
        "'second question'},{'role':'assistant','content':'second answer'},"
        "{'role':'user','content':'hello world, long'}]}",

        /* the same with every role after its content */
        "{'messages':[{'content':'System prompt here','role':'system'},"
        "{'content':'first question','role':'user'},{'content':"
        "'first answer','role':'assistant'},{'content':'second question',"
        "'role':'user'},{'content':'second answer','role':'assistant'},"
        "{'content':[{'type':'text','text':'hello world, long'}],"
        "'role':'user'}]}"
    };

    x = create(8, 6, 10);

    for (i = 0; i < 2; i++) {
        body = json(bodies[i]);
        run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);

        is_int(s.rc, LLMR_OK, "caps %zu: ok", i);
        is_str(s.last_user, "hello wo", "caps %zu: last_user cut", i);
        is_int(s.req.last_user_bytes, 17, "caps %zu: last_user_bytes full",
               i);
        is_str(s.system, "System", "caps %zu: system cut", i);
        is_int(s.req.system_bytes, 18, "caps %zu: system_bytes full", i);
        is_str(s.history, "first ques", "caps %zu: history cut", i);
        is_int(s.req.text_bytes, 89, "caps %zu: text_bytes", i);
        is_int(s.req.user_turns, 3, "caps %zu: user_turns", i);
        is_int(s.req.assistant_turns, 2, "caps %zu: assistant_turns", i);

        snap_free(&s);
        check_splits(x, LLMR_FMT_UNKNOWN, body, "caps");
        free(body);
    }

    llmr_extract_destroy(x);

    /* the same body with roomy caps: history keeps every earlier turn */

    x = llmr_extract_create(NULL);
    body = json(bodies[1]);
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_str(s.history, "first question\nfirst answer\nsecond question\n"
           "second answer", "history joins earlier turns in order");
    is_str(s.last_user, "hello world, long", "last user turn whole");
    snap_free(&s);
    free(body);
    llmr_extract_destroy(x);

    /* cuts never split a UTF-8 sequence */

    x = create(5, 5, 5);

    body = json("{'system':['abc','def'],'messages':[{'role':'user',"
                "'content':'\xc3\xa9\xc3\xa9\xc3\xa9'},{'role':'assistant',"
                "'content':'a\xf0\x9f\x9a\x80'},{'role':'user','content':"
                "'aa\xc3\xa9\xc3\xa9'}]}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.rc, LLMR_ERROR, "system blocks must be objects");
    snap_free(&s);
    free(body);

    body = json("{'system':[{'type':'text','text':'abc'},{'type':'text',"
                "'text':'def'}],'messages':[{'role':'user',"
                "'content':'\xc3\xa9\xc3\xa9\xc3\xa9'},{'role':'assistant',"
                "'content':'a\xf0\x9f\x9a\x80'},{'role':'user','content':"
                "'aa\xc3\xa9\xc3\xa9'}]}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.rc, LLMR_OK, "utf8 cuts: ok");
    is_str(s.system, "abc\nd", "system blocks joined and cut");
    is_int(s.req.system_bytes, 7, "system_bytes counts the joint");
    is_str(s.last_user, "aa\xc3\xa9", "last_user cut before a sequence");
    is_int(s.req.last_user_bytes, 6, "last_user_bytes full");
    is_str(s.history, "\xc3\xa9\xc3\xa9", "history cut before a sequence");
    is_int(s.req.format, LLMR_FMT_ANTHROPIC, "system blocks: anthropic");
    snap_free(&s);
    check_splits(x, LLMR_FMT_UNKNOWN, body, "utf8 cuts");
    free(body);

    llmr_extract_destroy(x);

    /* zero caps keep nothing but count everything */

    x = create(0, 0, 0);
    body = json("{'system':'s','messages':[{'role':'user','content':'a'},"
                "{'role':'assistant','content':'b'},{'role':'user',"
                "'content':'cc'}]}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.rc, LLMR_OK, "zero caps: ok");
    ok(s.req.last_user.len == 0 && s.req.system.len == 0
       && s.req.history.len == 0, "zero caps: no text kept");
    is_int(s.req.last_user_bytes, 2, "zero caps: last_user_bytes");
    is_int(s.req.system_bytes, 1, "zero caps: system_bytes");
    is_int(s.req.text_bytes, 5, "zero caps: text_bytes");
    snap_free(&s);
    free(body);
    llmr_extract_destroy(x);
}


static void
test_limits(void)
{
    char                 *body;
    snap_t                s;
    llmr_extract_t       *x;
    llmr_extract_conf_t   conf;

    llmr_extract_conf_init(&conf);
    conf.max_messages = 3;
    conf.max_parts = 2;

    x = llmr_extract_create(&conf);

    body = json("{'messages':[{'role':'user','content':'a'},{'role':"
                "'assistant','content':'b'},{'role':'user','content':'c'}]}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.rc, LLMR_OK, "max_messages: 3 is fine");
    snap_free(&s);
    free(body);

    body = json("{'messages':[{'role':'user','content':'a'},{'role':"
                "'assistant','content':'b'},{'role':'user','content':'c'},"
                "{'role':'user','content':'d'}]}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.err, LLMR_EXTRACT_E_LIMIT, "max_messages: 4 is too many");
    is_str(s.error, "more than 3 messages", "max_messages: message");
    snap_free(&s);
    check_splits(x, LLMR_FMT_UNKNOWN, body, "max_messages");
    free(body);

    body = json("{'messages':[{'role':'user','content':[{'type':'text',"
                "'text':'a'},{'type':'text','text':'b'}]}]}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.rc, LLMR_OK, "max_parts: 2 is fine");
    snap_free(&s);
    free(body);

    body = json("{'contents':[{'parts':[{'text':'a'},{'text':'b'},"
                "{'text':'c'}]}]}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.err, LLMR_EXTRACT_E_LIMIT, "max_parts: 3 is too many");
    is_str(s.error, "more than 2 content parts", "max_parts: message");
    snap_free(&s);
    free(body);

    llmr_extract_destroy(x);

    /* depth 4 counts every container: object, array, object, array */

    conf.max_depth = 4;
    x = llmr_extract_create(&conf);

    body = json("{'messages':[{'role':'user','content':[]}],"
                "'x':[[[]]]}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.err, LLMR_EXTRACT_E_EMPTY, "max_depth 4: depth 4 is fine");
    snap_free(&s);
    free(body);

    body = json("{'prompt':'x','x':[[[{}]]]}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.err, LLMR_EXTRACT_E_DEPTH, "max_depth 4: depth 5 fails");
    is_str(s.error, "nesting deeper than 4", "max_depth: message");
    snap_free(&s);
    free(body);

    llmr_extract_destroy(x);
}


static char *
repeat(const char *head, char c, size_t n, const char *tail)
{
    char    *p;
    size_t   h, t;

    h = strlen(head);
    t = strlen(tail);

    p = malloc(h + n + t + 1);
    memcpy(p, head, h);
    memset(p + h, c, n);
    memcpy(p + h + n, tail, t + 1);

    return p;
}


static void
test_big(void)
{
    char            *body, *p;
    size_t           len, i, n;
    snap_t           one, s;
    llmr_extract_t  *x;

    x = llmr_extract_create(NULL);

    /* 10,000-deep nesting, in arrays, objects and message content */

    n = 10000;
    len = 64 + 2 * n;
    body = malloc(len);

    p = body + sprintf(body, "{\"prompt\":\"x\",\"a\":");
    memset(p, '[', n);
    p += n;
    memset(p, ']', n);
    p += n;
    strcpy(p, "}");

    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.err, LLMR_EXTRACT_E_DEPTH, "10000-deep arrays: E_DEPTH");
    is_str(s.error, "nesting deeper than 64", "10000-deep arrays: message");
    snap_free(&s);

    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), 0, 1, &s);
    is_int(s.err, LLMR_EXTRACT_E_DEPTH, "10000-deep byte by byte: E_DEPTH");
    snap_free(&s);
    free(body);

    body = malloc(64 + 6 * n);
    p = body + sprintf(body, "{\"messages\":[{\"role\":\"user\",\"content\":");

    for (i = 0; i < n; i++) {
        p += sprintf(p, "[{\"a\":");
    }

    strcpy(p, "1");

    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.err, LLMR_EXTRACT_E_DEPTH, "10000-deep content: E_DEPTH");
    snap_free(&s);
    free(body);

    body = repeat("", '[', n, "");
    run(x, LLMR_FMT_UNKNOWN, body, n, n, 0, &s);
    is_int(s.err, LLMR_EXTRACT_E_TYPE, "10000-deep top-level array: E_TYPE");
    snap_free(&s);
    free(body);

    /* depth 64 passes, 65 fails */

    body = repeat("{\"prompt\":\"x\",\"a\":", '[', 63, "");
    len = strlen(body);
    body = realloc(body, len + 63 + 2);
    memset(body + len, ']', 63);
    strcpy(body + len + 63, "}");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.rc, LLMR_OK, "depth 64: ok");
    snap_free(&s);
    free(body);

    body = repeat("{\"prompt\":\"x\",\"a\":", '[', 64, "");
    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &s);
    is_int(s.err, LLMR_EXTRACT_E_DEPTH, "depth 65: E_DEPTH");
    snap_free(&s);
    free(body);

    /* 10 MB of blanks around and inside the object, 64 KB chunks */

    n = 10 * 1024 * 1024;
    body = repeat("", ' ', n + 64, "");
    memcpy(body + 5 * 1024 * 1024, "{", 1);
    p = body + n;
    strcpy(p, "\"model\":\"m\",\"prompt\":\"hello\"}\n\t ");
    len = strlen(body);

    run(x, LLMR_FMT_UNKNOWN, body, len, 0, 65536, &s);
    is_int(s.rc, LLMR_OK, "10 MB blanks: ok");
    is_str(s.last_user, "hello", "10 MB blanks: prompt");
    is_int(s.req.object_start, 5 * 1024 * 1024 + 1,
           "10 MB blanks: object_start");
    is_int(s.req.model_key_end, n + 7, "10 MB blanks: model_key_end");
    is_int(s.req.model_end, n + 11, "10 MB blanks: model_end");
    is_int(s.req.body_bytes, len, "10 MB blanks: body_bytes");
    snap_free(&s);

    run(x, LLMR_FMT_UNKNOWN, body, len, 0, 4096, &s);
    is_int(s.req.model_key_end, n + 7, "10 MB blanks, 4 KB chunks: anchor");
    snap_free(&s);

    run(x, LLMR_FMT_UNKNOWN, body, n, 0, 65536, &s);
    is_int(s.err, LLMR_EXTRACT_E_JSON, "10 MB blanks, cut: E_JSON");
    snap_free(&s);
    free(body);

    /* a 5 MB string, then the model: anchors survive the staging */

    n = 5 * 1024 * 1024;
    body = repeat("{\"messages\":[{\"role\":\"user\",\"content\":\"", 'a', n,
                  "\"}],\"model\":\"gpt-4o\"}");
    len = strlen(body);

    run(x, LLMR_FMT_UNKNOWN, body, len, len, 0, &one);
    is_int(one.rc, LLMR_OK, "5 MB string: ok");
    is_int(one.req.last_user.len, 16384, "5 MB string: last_user capped");
    is_int(one.req.last_user_bytes, n, "5 MB string: last_user_bytes");
    is_int(one.req.text_bytes, n, "5 MB string: text_bytes");
    is_int(one.req.model_key_end, len - 10, "5 MB string: model_key_end");
    is_int(one.req.model_end, len - 1, "5 MB string: model_end");

    for (i = 0; i < 4; i++) {
        static const size_t  chunks[] = { 65536, 8192, 1000, 1 << 20 };

        run(x, LLMR_FMT_UNKNOWN, body, len, 0, chunks[i], &s);
        ok(snap_diff(&one, &s) == NULL, "5 MB string in %zu-byte chunks: "
           "identical", chunks[i]);
        snap_free(&s);
    }

    snap_free(&one);
    free(body);

    /* 5 MB of base64 image data is not text */

    body = repeat("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                  "\"image_url\",\"image_url\":{\"url\":\"data:image/png;"
                  "base64,", 'Q', n, "\"}},{\"type\":\"text\",\"text\":"
                  "\"what is this?\"}]}]}");
    len = strlen(body);
    run(x, LLMR_FMT_UNKNOWN, body, len, 0, 16384, &s);
    is_int(s.rc, LLMR_OK, "5 MB image: ok");
    is_int(s.req.text_bytes, 13, "5 MB image: not text");
    is_int(s.req.images, 1, "5 MB image: counted as an image");
    snap_free(&s);
    free(body);

    llmr_extract_destroy(x);
}


static void
test_lifecycle(void)
{
    int                    rc;
    char                  *body;
    snap_t                 a, b;
    llmr_extract_t        *x, *y;
    const llmr_request_t  *r;

    body = json(cases[2].body);

    /* destroy right away, half-fed, after an error mid-stream */

    x = llmr_extract_create(NULL);
    ok(x != NULL, "create with the defaults");
    llmr_extract_destroy(x);
    llmr_extract_destroy(NULL);

    x = llmr_extract_create(NULL);
    rc = llmr_extract_feed(x, (unsigned char *) body, strlen(body) / 2);
    is_int(rc, LLMR_OK, "half a body fed");
    llmr_extract_destroy(x);

    x = llmr_extract_create(NULL);
    rc = llmr_extract_feed(x, (unsigned char *) SL("{\"a\":[}"));
    is_int(rc, LLMR_ERROR, "error mid-stream");
    rc = llmr_extract_feed(x, (unsigned char *) body, strlen(body));
    is_int(rc, LLMR_ERROR, "feed after an error fails fast");
    rc = llmr_extract_finish(x);
    is_int(rc, LLMR_ERROR, "finish after an error fails");
    ok(strstr(llmr_extract_error(x), "invalid JSON at byte") != NULL,
       "the first error is kept: %s", llmr_extract_error(x));

    /* reset after an error: same as a fresh extractor */

    run(x, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &a);
    y = llmr_extract_create(NULL);
    run(y, LLMR_FMT_UNKNOWN, body, strlen(body), strlen(body), 0, &b);
    ok(snap_diff(&a, &b) == NULL, "reset after an error equals fresh");
    snap_free(&a);
    snap_free(&b);
    llmr_extract_destroy(y);

    rc = llmr_extract_feed(x, (unsigned char *) " ", 1);
    is_int(rc, LLMR_ERROR, "feed after finish fails");
    llmr_extract_destroy(x);

    x = llmr_extract_create(NULL);
    llmr_extract_feed(x, (unsigned char *) body, strlen(body));
    is_int(llmr_extract_finish(x), LLMR_OK, "finish");
    is_int(llmr_extract_finish(x), LLMR_OK, "finish twice");
    is_str(llmr_extract_error(x), "no error", "no error message");

    /* before any body: the hint and "absent" anchors */

    llmr_extract_reset(x, LLMR_FMT_GEMINI);
    r = llmr_extract_result(x);
    is_int(r->format, LLMR_FMT_GEMINI, "reset sets the hint as format");
    ok(r->max_tokens == -1 && r->model_key_end == -1 && r->model_end == -1
       && r->object_start == -1 && r->stream_options_start == -1,
       "reset: absent values are -1");

    llmr_extract_reset(x, 99);
    is_int(llmr_extract_result(x)->format, LLMR_FMT_UNKNOWN,
           "an invalid hint is ignored");

    llmr_extract_destroy(x);
    free(body);
}


/* one extractor over many different bodies equals fresh ones */

static void
test_reuse(void)
{
    char            *body;
    size_t           i, j, bad;
    snap_t           a, b;
    llmr_extract_t  *x, *y;

    x = llmr_extract_create(NULL);
    bad = 0;

    for (j = 0; j < 3; j++) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            body = json((i + j) % 2 ? cases[i].body : bads[i].body);

            run(x, cases[i].hint, body, strlen(body), strlen(body), 0, &a);

            y = llmr_extract_create(NULL);
            run(y, cases[i].hint, body, strlen(body), strlen(body), 0, &b);
            llmr_extract_destroy(y);

            bad += (snap_diff(&a, &b) != NULL);

            snap_free(&a);
            snap_free(&b);
            free(body);
        }
    }

    is_int(bad, 0, "a reused extractor equals fresh ones");

    llmr_extract_destroy(x);
}


/*
 * Long strings are checked and decoded by the extractor itself, short
 * ones and everything else by yajl (LLMR_FAST_MIN, 64 bytes): the result
 * must be the one of yajl alone (yajl_strings), field by field and error
 * message by message (offsets included), however the body is cut.  The
 * strings mix every escape, \u form and UTF-8 sequence yajl accepts, and
 * every way to break them, in long and short strings, values and keys.
 */

static const char  *fast_pieces[] = {
    "plain text, ",
    "\\n", "\\\"", "\\\\", "\\/", "\\b\\f\\r\\t",
    "\\u0041", "\\u00e9", "\\u00E9", "\\u4e2d", "\\u0000", "\\u07ff",
    "\\uffff", "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\udbff\\udfff",
    "\\ud83d\\u0041", "\\udc00",
    "\\ud83dx", "\\ud83d\\n", "\\ud83d",
    "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xc0\x80",
    "\xed\xa0\x80", "\xf7\xbf\xbf\xbf", "\x7f",
    "\xc3\x41", "\xff", "\x80", "\xf8\x80\x80\x80", "\xe4\xb8",
    "\xe4", "\x01", "\x1f", "\t", "\\x", "\\u12G4", "\\u12", "\\",
    "\\u00", "\\ud83d\\u00"
};


static const char  *fast_frames[] = {
    "{'model':'m','messages':[{'role':'user','content':@}]}",
    "{'messages':[{'role':'system','content':@},"
    "{'content':[{'type':'text','text':@}],'role':'user'}],'model':@}",
    "{@:1,'prompt':'x'}",
    "{'model':'m' @}",
    "{'prompt':'x','a':1 @}",
    "{'prompt':'x','a':[1 @]}",
    "{'prompt':'x','a':1@}",
    "{'prompt':'x','a':123456789012345678901234567890@}",
    "{'prompt':'x','a':1e999@}",
    "{'prompt':'x','a':true@}",
    "{'prompt':'x'} @",
    "{'prompt':'x'}@",
    "[@]",
    "@",
    "{'prompt':@",
    "{'prompt':'x','a':{@ @}}"
};


/* piece i with another: first, in the middle, last, alone, and short */

static void
fast_string(char *str, size_t i, size_t k)
{
    size_t       j, n;
    const char  *piece, *other;

    n = sizeof(fast_pieces) / sizeof(fast_pieces[0]);
    piece = fast_pieces[i];
    other = fast_pieces[(i * 7 + 3) % n];

    switch (k) {

    case 0:
        sprintf(str, "%s%s%s", piece, "abcdefghijklmnopqrstuvwxyz"
                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", other);
        break;

    case 1:
        sprintf(str, "%s%s%s%s", "0123456789abcdefghijklmnopqrst", piece,
                other, "uvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
        break;

    case 2:
        sprintf(str, "%s%s%s", "The quick brown fox jumps over the lazy "
                "dog, again and again: ", other, piece);
        break;

    case 3:
        str[0] = '\0';

        for (j = 0; j < 40; j++) {
            strcat(str, piece);
        }

        break;

    default:
        sprintf(str, "%s%s", piece, other);
    }
}


static void
fast_body(char *out, const char *frame, const char *str)
{
    char        *o;
    const char  *f;

    o = out;

    for (f = frame; *f; f++) {
        if (*f == '@') {
            o += sprintf(o, "\"%s\"", str);

        } else {
            *o++ = (*f == '\'') ? '"' : *f;
        }
    }

    *o = '\0';
}


/* one body, reference and fast, cut in two everywhere and in pieces */

static size_t
fast_compare(llmr_extract_t *ref, llmr_extract_t *fast, const char *body,
    size_t *runs)
{
    size_t       len, i, bad;
    snap_t       a, b;
    const char  *d;

    static const size_t  chunks[] = { 1, 2, 3, 7, 13, 64 };

    len = strlen(body);
    bad = 0;

    for (i = 0; i <= len + sizeof(chunks) / sizeof(chunks[0]); i++) {
        if (i <= len) {
            run(ref, LLMR_FMT_UNKNOWN, body, len, i, 0, &a);
            run(fast, LLMR_FMT_UNKNOWN, body, len, i, 0, &b);

        } else {
            run(ref, LLMR_FMT_UNKNOWN, body, len, 0, chunks[i - len - 1],
                &a);
            run(fast, LLMR_FMT_UNKNOWN, body, len, 0, chunks[i - len - 1],
                &b);
        }

        d = snap_diff(&a, &b);
        (*runs)++;

        if (d && bad++ < 3) {
            printf("# fast strings: cut %zu of %zu differs in %s: %s\n", i,
                   len, d, body);
            printf("#   yajl: rc=%d err=%d '%s' user='%s'\n", a.rc, a.err,
                   a.error, a.last_user);
            printf("#   fast: rc=%d err=%d '%s' user='%s'\n", b.rc, b.err,
                   b.error, b.last_user);
        }

        snap_free(&a);
        snap_free(&b);
    }

    return bad;
}


static void
test_fast_strings(void)
{
    char                  str[1024], body[4096];
    size_t                i, j, k, n, bad, bodies, runs;
    llmr_extract_conf_t   conf;
    llmr_extract_t       *ref, *fast;

    llmr_extract_conf_init(&conf);
    conf.yajl_strings = 1;

    ref = llmr_extract_create(&conf);
    fast = llmr_extract_create(NULL);

    bad = 0;
    bodies = 0;
    runs = 0;

    n = sizeof(fast_pieces) / sizeof(fast_pieces[0]);

    for (i = 0; i < n; i++) {
        for (k = 0; k < 5; k++) {
            fast_string(str, i, k);

            for (j = 0; j < sizeof(fast_frames) / sizeof(fast_frames[0]);
                 j++)
            {
                fast_body(body, fast_frames[j], str);
                bad += (fast_compare(ref, fast, body, &runs) != 0);
                bodies++;
            }
        }
    }

    ok(bad == 0, "long strings: the same as yajl alone for %zu of %zu "
       "bodies (%zu cuts)", bodies - bad, bodies, runs);

    llmr_extract_destroy(ref);
    llmr_extract_destroy(fast);
}


static void
test_paths(void)
{
    size_t  i;

    static const struct {
        const char  *path;
        int          format;
    } paths[] = {
        { "/v1/chat/completions", LLMR_FMT_OPENAI_CHAT },
        { "/openai/v1/chat/completions", LLMR_FMT_OPENAI_CHAT },
        { "/openai/deployments/gpt4/chat/completions?api-version=2024-06-01",
          LLMR_FMT_OPENAI_CHAT },
        { "/v1/chat/completions/", LLMR_FMT_OPENAI_CHAT },
        { "chat/completions", LLMR_FMT_OPENAI_CHAT },
        { "/v1/completions", LLMR_FMT_OPENAI_COMPLETIONS },
        { "/completions", LLMR_FMT_OPENAI_COMPLETIONS },
        { "/v1/responses", LLMR_FMT_OPENAI_RESPONSES },
        { "/openai/v1/responses?x=1", LLMR_FMT_OPENAI_RESPONSES },
        { "/v1/messages", LLMR_FMT_ANTHROPIC },
        { "/anthropic/v1/messages/", LLMR_FMT_ANTHROPIC },
        { "/v1beta/models/gemini-2.0-flash:generateContent",
          LLMR_FMT_GEMINI },
        { "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
          LLMR_FMT_GEMINI },
        { "/v1/projects/p/locations/l/publishers/google/models/"
          "gemini-2.0-flash:generateContent", LLMR_FMT_GEMINI },
        { "/v1/messages/count_tokens", LLMR_FMT_UNKNOWN },
        { "/v1/embeddings", LLMR_FMT_UNKNOWN },
        { "/v1/xcompletions", LLMR_FMT_UNKNOWN },
        { "/v1/models", LLMR_FMT_UNKNOWN },
        { "/", LLMR_FMT_UNKNOWN },
        { "", LLMR_FMT_UNKNOWN },
        { "?/v1/messages", LLMR_FMT_UNKNOWN },
    };

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        is_int(llmr_format_from_path(paths[i].path, strlen(paths[i].path)),
               paths[i].format, "path %s: %s", paths[i].path,
               llmr_format_name(paths[i].format));
    }

    is_str(llmr_format_name(LLMR_FMT_OPENAI_CHAT), "openai_chat",
           "format name");
    is_str(llmr_format_name(LLMR_FMT_N), "unknown", "format name: range");
    is_str(llmr_format_name(-1), "unknown", "format name: negative");
}


int
main(void)
{
    llmr_extract_t  *x;

    x = llmr_extract_create(NULL);

    test_cases(x);
    test_bad(x);
    test_prefixes(x);

    llmr_extract_destroy(x);

    test_conversation();
    test_limits();
    test_big();
    test_lifecycle();
    test_reuse();
    test_fast_strings();
    test_paths();

    return tap_done();
}
