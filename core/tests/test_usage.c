/*
 * Copyright (C) ngx_llm_router authors
 */


#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/usage.h>

#include "tap.h"


/*
 * The response reader: canned responses of every provider and format,
 * each read whole, cut in two at every byte, byte by byte and in random
 * pieces (the results must not change), streams with every line ending;
 * then the answer head, long strings, bounds on memory and input, long
 * streams, and the reader's lifecycle (bench/throughput.c measures the
 * speed).
 *
 * Bodies are written with ' for " to stay readable; an apostrophe inside
 * a JSON string is written \u0027.
 */

#define TB_HEAD     -2          /* text_bytes: the head's length */

#define C_COMPLETE  0x01
#define C_DONE      0x02
#define C_TRUNC     0x04
#define C_REFUSAL   0x08
#define C_ERROR     0x10
#define C_INVALID   0x20
#define C_STREAM    0x40

#define S_AUTO      -1          /* no llmr_usage_set_stream() */
#define S_JSON      0
#define S_SSE       1

#define FMT_CHAT    LLMR_FMT_OPENAI_CHAT
#define FMT_COMPL   LLMR_FMT_OPENAI_COMPLETIONS
#define FMT_RESP    LLMR_FMT_OPENAI_RESPONSES
#define FMT_ANTH    LLMR_FMT_ANTHROPIC
#define FMT_GEM     LLMR_FMT_GEMINI
#define FMT_NONE    LLMR_FMT_UNKNOWN


typedef struct {
    const char                 *name;
    int                         hint;
    int                         stream;
    const char                 *body;

    long long                   input;
    long long                   output;
    long long                   cached;
    long long                   cache_write;
    long long                   reasoning;
    long                        text_bytes;
    unsigned                    events;
    unsigned                    bad_events;
    int                         finish;
    int                         format;
    unsigned                    flags;
    const char                 *head;
} case_t;


typedef struct {
    int                         rc;         /* of the last feed */
    llmr_usage_result_t         r;
    size_t                      memory;
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


/* each chunk is fed from its own exact-size copy, so overreads show */

static int
feed_copy(llmr_usage_t *u, const char *p, size_t n)
{
    int             rc;
    unsigned char  *c;

    c = malloc(n ? n : 1);
    memcpy(c, p, n);
    rc = llmr_usage_feed(u, c, n);
    free(c);

    return rc;
}


/*
 * Reads body cut into chunks: at "split" when chunk == 0 (split == len
 * means one piece), else every "chunk" bytes.  Every byte is fed, even
 * after a failure, as the body filter does.
 */

static void
run(int hint, int stream, const char *body, size_t len, size_t split,
    size_t chunk, snap_t *s)
{
    int            rc;
    size_t         off, n;
    llmr_usage_t  *u;

    u = llmr_usage_create(hint);

    if (stream != S_AUTO) {
        llmr_usage_set_stream(u, stream);
    }

    rc = LLMR_OK;

    if (chunk == 0) {
        rc = feed_copy(u, body, split);

        if (split < len) {
            rc = feed_copy(u, body + split, len - split);
        }

    } else {
        for (off = 0; off < len; off += n) {
            n = (len - off < chunk) ? len - off : chunk;
            rc = feed_copy(u, body + off, n);
        }
    }

    llmr_usage_finish(u);

    s->rc = rc;
    s->r = *llmr_usage_result(u);
    s->memory = llmr_usage_memory(u);

    llmr_usage_destroy(u);
}


/* NULL when equal, else the name of the first field that differs */

static const char *
snap_diff(const snap_t *a, const snap_t *b, int bytes)
{
    const llmr_usage_result_t  *p, *q;

    p = &a->r;
    q = &b->r;

#define DIFF(f)  if (p->f != q->f) return #f

    if (bytes) {
        DIFF(body_bytes);
    }

    DIFF(input_tokens);
    DIFF(output_tokens);
    DIFF(cached_tokens);
    DIFF(cache_write_tokens);
    DIFF(reasoning_tokens);
    DIFF(text_bytes);
    DIFF(events);
    DIFF(bad_events);
    DIFF(finish);
    DIFF(format);
    DIFF(complete);
    DIFF(stream);
    DIFF(done);
    DIFF(truncated);
    DIFF(refusal);
    DIFF(error);
    DIFF(invalid);
    DIFF(answer_head_len);

#undef DIFF

    if (strcmp(p->answer_head, q->answer_head) != 0) {
        return "answer_head";
    }

    if (a->rc != b->rc) {
        return "rc";
    }

    return NULL;
}


static void
diag(const char *name, const char *how, size_t at, const char *field,
    const snap_t *a, const snap_t *b)
{
    printf("# %s: %s at %zu differs in %s\n", name, how, at, field);
    printf("#   one piece: in=%lld out=%lld text=%zu ev=%u bad=%u done=%u "
           "'%s'\n", (long long) a->r.input_tokens,
           (long long) a->r.output_tokens, a->r.text_bytes, a->r.events,
           a->r.bad_events, a->r.done, a->r.answer_head);
    printf("#   cut:       in=%lld out=%lld text=%zu ev=%u bad=%u done=%u "
           "'%s'\n", (long long) b->r.input_tokens,
           (long long) b->r.output_tokens, b->r.text_bytes, b->r.events,
           b->r.bad_events, b->r.done, b->r.answer_head);
}


/* the one-piece result must not depend on how the body is cut */

static int
check_splits(int hint, int stream, const char *body, size_t len,
    const char *name)
{
    size_t       i;
    snap_t       one, s;
    const char  *d, *bad;

    run(hint, stream, body, len, len, 0, &one);

    bad = NULL;

    for (i = 0; i <= len && bad == NULL; i++) {
        run(hint, stream, body, len, i, 0, &s);
        d = snap_diff(&one, &s, 1);

        if (d) {
            bad = d;
            diag(name, "split", i, d, &one, &s);
        }
    }

    run(hint, stream, body, len, 0, 1, &s);
    d = snap_diff(&one, &s, 1);

    if (d) {
        diag(name, "byte-by-byte", 0, d, &one, &s);
        bad = d;
    }

    return bad == NULL;
}


/* LF line ends written as CRLF or CR, outside JSON strings */

static char *
line_ends(const char *body, const char *eol)
{
    char        *p, *q;
    size_t       n, e;
    const char  *s;

    e = strlen(eol);
    n = strlen(body);
    p = malloc(n * e + 1);

    for (q = p, s = body; *s; s++) {
        if (*s == '\n') {
            memcpy(q, eol, e);
            q += e;

        } else {
            *q++ = *s;
        }
    }

    *q = '\0';

    return p;
}


/* OpenAI chat completions, streamed */

#define OAI_CHUNK(choices, usage)                                             \
    "data: {'id':'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG','object':"          \
    "'chat.completion.chunk','created':1741570283,'model':"                   \
    "'gpt-4o-mini-2024-07-18','service_tier':'default',"                      \
    "'system_fingerprint':'fp_06737a9306','choices':" choices                 \
    ",'usage':" usage "}\n\n"

#define OAI_DELTA(delta, finish)                                              \
    OAI_CHUNK("[{'index':0,'delta':" delta ",'logprobs':null,"                \
              "'finish_reason':" finish "}]", "null")

#define OAI_ROLE    OAI_DELTA("{'role':'assistant','content':'',"             \
                              "'refusal':null}", "null")
#define OAI_HELLO   OAI_DELTA("{'content':'Hello'}", "null")
#define OAI_WORLD   OAI_DELTA("{'content':' world'}", "null")
#define OAI_STOP    OAI_DELTA("{}", "'stop'")
#define OAI_USAGE                                                             \
    OAI_CHUNK("[]", "{'prompt_tokens':8,'completion_tokens':2,"               \
              "'total_tokens':10,'prompt_tokens_details':{'cached_tokens':0," \
              "'audio_tokens':0},'completion_tokens_details':"                \
              "{'reasoning_tokens':0,'audio_tokens':0,"                       \
              "'accepted_prediction_tokens':0,"                               \
              "'rejected_prediction_tokens':0}}")
#define OAI_DONE    "data: [DONE]\n\n"


/* the Responses API, streamed */

#define RESP_EV(type, rest)                                                   \
    "event: " type "\ndata: {'type':'" type "','sequence_number':1" rest      \
    "}\n\n"

#define RESP_OBJ(status, output, usage)                                       \
    ",'response':{'id':'resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e',"   \
    "'object':'response','created_at':1741290958,'status':'" status "',"      \
    "'error':null,'incomplete_details':null,'instructions':"                  \
    "'You are a helpful assistant.','max_output_tokens':null,'model':"        \
    "'gpt-4.1-2025-04-14','output':" output ",'parallel_tool_calls':true,"    \
    "'reasoning':{'effort':null,'summary':null},'text':{'format':{'type':"    \
    "'text'}},'tools':[],'usage':" usage ",'metadata':{}}"

#define RESP_MSG(text)                                                        \
    "{'id':'msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654','type':"    \
    "'message','status':'completed','role':'assistant','content':[{'type':"   \
    "'output_text','text':'" text "','annotations':[]}]}"

#define RESP_USAGE                                                            \
    "{'input_tokens':37,'input_tokens_details':{'cached_tokens':0},"          \
    "'output_tokens':11,'output_tokens_details':{'reasoning_tokens':0},"      \
    "'total_tokens':48}"

#define RESP_START                                                            \
    RESP_EV("response.created", RESP_OBJ("in_progress", "[]", "null"))        \
    RESP_EV("response.in_progress", RESP_OBJ("in_progress", "[]", "null"))    \
    RESP_EV("response.output_item.added", ",'output_index':0,'item':{'id':"   \
            "'msg_1','type':'message','status':'in_progress','content':[],"   \
            "'role':'assistant'}")                                            \
    RESP_EV("response.content_part.added", ",'item_id':'msg_1',"              \
            "'output_index':0,'content_index':0,'part':{'type':"              \
            "'output_text','annotations':[],'text':''}")

#define RESP_DELTA(text)                                                      \
    RESP_EV("response.output_text.delta", ",'item_id':'msg_1',"               \
            "'output_index':0,'content_index':0,'delta':'" text "',"          \
            "'logprobs':[]")

#define RESP_END(text)                                                        \
    RESP_EV("response.output_text.done", ",'item_id':'msg_1',"                \
            "'output_index':0,'content_index':0,'text':'" text "'")           \
    RESP_EV("response.content_part.done", ",'item_id':'msg_1',"               \
            "'output_index':0,'content_index':0,'part':{'type':"              \
            "'output_text','annotations':[],'text':'" text "'}")              \
    RESP_EV("response.output_item.done", ",'output_index':0,'item':"          \
            RESP_MSG(text))


/* Anthropic messages, streamed */

#define ANT_EV(type, rest)                                                    \
    "event: " type "\ndata: {'type':'" type "'" rest "}\n\n"

#define ANT_START                                                             \
    ANT_EV("message_start", ",'message':{'id':"                               \
           "'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY','type':'message',"       \
           "'role':'assistant','content':[],'model':"                         \
           "'claude-sonnet-4-20250514','stop_reason':null,'stop_sequence':"   \
           "null,'usage':{'input_tokens':25,'cache_creation_input_tokens':0," \
           "'cache_read_input_tokens':10,'output_tokens':1}}")

#define ANT_BLOCK(i, type, rest)                                              \
    ANT_EV("content_block_start", ",'index':" i ",'content_block':{'type':'"  \
           type "'" rest "}")

#define ANT_DELTA(i, type, rest)                                              \
    ANT_EV("content_block_delta", ",'index':" i ",'delta':{'type':'" type     \
           "'," rest "}")

#define ANT_STOP_BLOCK(i)                                                     \
    ANT_EV("content_block_stop", ",'index':" i)

#define ANT_END(reason, out)                                                  \
    ANT_EV("message_delta", ",'delta':{'stop_reason':'" reason "',"           \
           "'stop_sequence':null},'usage':{'output_tokens':" out "}")         \
    ANT_EV("message_stop", "")

#define ANT_TEXT                                                              \
    ANT_BLOCK("0", "thinking", ",'thinking':''")                              \
    ANT_DELTA("0", "thinking_delta", "'thinking':'Let me think about it.'")   \
    ANT_DELTA("0", "signature_delta", "'signature':'EqQBCgIYAhIM1gbcDa9G'")   \
    ANT_STOP_BLOCK("0")                                                       \
    "event: ping\ndata: {'type': 'ping'}\n\n"                                 \
    ANT_BLOCK("1", "text", ",'text':''")                                      \
    ANT_DELTA("1", "text_delta", "'text':'Hello'")                            \
    ANT_DELTA("1", "text_delta", "'text':'!'")                                \
    ANT_STOP_BLOCK("1")


/* Gemini streamGenerateContent chunks */

#define GEM_CHUNK1                                                            \
    "{'candidates':[{'content':{'parts':[{'text':'The'}],'role':'model'},"    \
    "'index':0}],'usageMetadata':{'promptTokenCount':9,'totalTokenCount':9," \
    "'promptTokensDetails':[{'modality':'TEXT','tokenCount':9}]},"            \
    "'modelVersion':'gemini-2.0-flash','responseId':'W8nJaMX4Jq6Wz7IP'}"

#define GEM_CHUNK2                                                            \
    "{'candidates':[{'content':{'parts':[{'text':' sky is blue.'}],'role':"   \
    "'model'},'finishReason':'STOP','index':0}],'usageMetadata':"             \
    "{'promptTokenCount':9,'candidatesTokenCount':6,'totalTokenCount':15,"    \
    "'promptTokensDetails':[{'modality':'TEXT','tokenCount':9}],"             \
    "'candidatesTokensDetails':[{'modality':'TEXT','tokenCount':6}]},"        \
    "'modelVersion':'gemini-2.0-flash','responseId':'W8nJaMX4Jq6Wz7IP'}"


static const case_t  cases[] = {

    /* OpenAI chat completions */

    { "chat json", FMT_NONE, S_JSON,
      "{'id':'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT','object':"
      "'chat.completion','created':1741569952,'model':'gpt-4.1-2025-04-14',"
      "'choices':[{'index':0,'message':{'role':'assistant','content':"
      "'Hello! How can I assist you today?','refusal':null,'annotations':"
      "[]},'logprobs':null,'finish_reason':'stop'}],'usage':"
      "{'prompt_tokens':19,'completion_tokens':10,'total_tokens':29,"
      "'prompt_tokens_details':{'cached_tokens':0,'audio_tokens':0},"
      "'completion_tokens_details':{'reasoning_tokens':0,'audio_tokens':0,"
      "'accepted_prediction_tokens':0,'rejected_prediction_tokens':0}},"
      "'service_tier':'default','system_fingerprint':'fp_50cad350e4'}",
      19, 10, 0, -1, 0, TB_HEAD, 0, 0, LLMR_FINISH_STOP, FMT_CHAT,
      C_COMPLETE | C_DONE, "Hello! How can I assist you today?" },

    { "chat json tool calls, cache, reasoning", FMT_CHAT, S_JSON,
      "{'id':'chatcmpl-1','object':'chat.completion','created':1,'model':"
      "'o4-mini-2025-04-16','choices':[{'index':0,'message':{'role':"
      "'assistant','content':null,'tool_calls':[{'id':'call_abc','type':"
      "'function','function':{'name':'get_weather','arguments':"
      "'{\\u0022city\\u0022:\\u0022Paris\\u0022}'}}],'refusal':null},"
      "'finish_reason':'tool_calls'}],'usage':{'prompt_tokens':2006,"
      "'completion_tokens':300,'total_tokens':2306,'prompt_tokens_details':"
      "{'cached_tokens':1920},'completion_tokens_details':"
      "{'reasoning_tokens':256}}}",
      2006, 300, 1920, -1, 256, 0, 0, 0, LLMR_FINISH_TOOL_CALLS, FMT_CHAT,
      C_COMPLETE | C_DONE, "" },

    { "chat json forced tool: stop with tool_calls", FMT_NONE, S_JSON,
      "{'choices':[{'index':0,'message':{'role':'assistant','content':null,"
      "'tool_calls':[{'id':'call_1','type':'function','function':{'name':"
      "'f','arguments':'{}'}}]},'finish_reason':'stop'}],'usage':"
      "{'prompt_tokens':50,'completion_tokens':9}}",
      50, 9, -1, -1, -1, 0, 0, 0, LLMR_FINISH_TOOL_CALLS, FMT_CHAT,
      C_COMPLETE | C_DONE, "" },

    { "chat json refusal", FMT_NONE, S_JSON,
      "{'id':'chatcmpl-2','object':'chat.completion','choices':[{'index':0,"
      "'message':{'role':'assistant','content':null,'refusal':"
      "'I\\u0027m sorry, I cannot assist with that request.'},"
      "'finish_reason':'stop'}],'usage':{'prompt_tokens':30,"
      "'completion_tokens':12,'total_tokens':42}}",
      30, 12, -1, -1, -1, 0, 0, 0, LLMR_FINISH_STOP, FMT_CHAT,
      C_COMPLETE | C_DONE | C_REFUSAL, "" },

    { "chat json n=2, first truncated", FMT_NONE, S_JSON,
      "{'object':'chat.completion','choices':[{'index':0,'message':"
      "{'role':'assistant','content':'The first answer is cut'},"
      "'finish_reason':'length'},{'message':{'role':'assistant',"
      "'content':'Second'},'index':1,'finish_reason':'stop'}],"
      "'usage':{'prompt_tokens':7,'completion_tokens':16}}",
      7, 16, -1, -1, -1, 29, 0, 0, LLMR_FINISH_STOP, FMT_CHAT,
      C_COMPLETE | C_DONE | C_TRUNC, "The first answer is cut" },

    { "chat json content filter, unicode", FMT_NONE, S_JSON,
      "{'choices':[{'index':0,'message':{'role':'assistant','content':"
      "'caf\\u00e9 \\ud83d\\ude00 \\u4e2d\\n\\t\\\\ok \xc3\xa9'},"
      "'finish_reason':'content_filter'}],'usage':null}",
      -1, -1, -1, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_CONTENT_FILTER,
      FMT_CHAT, C_DONE, "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad\n\t\\ok "
      "\xc3\xa9" },

    { "chat sse with usage", FMT_CHAT, S_SSE,
      OAI_ROLE OAI_HELLO OAI_WORLD OAI_STOP OAI_USAGE OAI_DONE,
      8, 2, 0, -1, 0, TB_HEAD, 6, 0, LLMR_FINISH_STOP, FMT_CHAT,
      C_COMPLETE | C_DONE | C_STREAM, "Hello world" },

    { "chat sse without usage", FMT_NONE, S_SSE,
      OAI_ROLE OAI_HELLO OAI_WORLD OAI_STOP OAI_DONE,
      -1, -1, -1, -1, -1, TB_HEAD, 5, 0, LLMR_FINISH_STOP, FMT_CHAT,
      C_DONE | C_STREAM, "Hello world" },

    { "chat sse cut mid-stream", FMT_NONE, S_AUTO,
      OAI_ROLE OAI_HELLO OAI_WORLD,
      -1, -1, -1, -1, -1, TB_HEAD, 3, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_STREAM, "Hello world" },

    { "chat sse cut mid-event", FMT_NONE, S_SSE,
      OAI_ROLE OAI_HELLO OAI_STOP
      "data: {'id':'chatcmpl-1','choices':[{'index':0,'delta':{'content':"
      "' more'}}]}\n"
      "data: {'id':'chatcmpl-1','choices':[],'usage':{'prompt_tokens':8,"
      "'completion_tokens':2}}",
      -1, -1, -1, -1, -1, TB_HEAD, 3, 0, LLMR_FINISH_STOP, FMT_CHAT,
      C_STREAM, "Hello" },

    { "chat sse cut before the blank line", FMT_NONE, S_SSE,
      OAI_HELLO OAI_USAGE "data: [DONE]\n",
      8, 2, 0, -1, 0, TB_HEAD, 2, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_COMPLETE | C_STREAM, "Hello" },

    { "chat sse refusal, length", FMT_NONE, S_SSE,
      OAI_ROLE
      OAI_DELTA("{'refusal':'I\\u0027m sorry, '}", "null")
      OAI_DELTA("{'refusal':'I can\\u0027t help.'}", "null")
      OAI_DELTA("{}", "'length'") OAI_DONE,
      -1, -1, -1, -1, -1, 0, 5, 0, LLMR_FINISH_LENGTH, FMT_CHAT,
      C_DONE | C_STREAM | C_TRUNC | C_REFUSAL, "" },

    { "chat sse error event", FMT_NONE, S_SSE,
      OAI_ROLE OAI_HELLO
      "data: {'error':{'message':'The server had an error while "
      "processing your request. Sorry about that!','type':'server_error',"
      "'param':null,'code':null}}\n\n",
      -1, -1, -1, -1, -1, TB_HEAD, 3, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_STREAM | C_ERROR, "Hello" },

    { "chat sse tool call deltas", FMT_NONE, S_SSE,
      OAI_DELTA("{'role':'assistant','content':null,'tool_calls':[{'index':"
                "0,'id':'call_DdmO9pD3xa9XTPNJ32zg2hcA','type':'function',"
                "'function':{'name':'get_weather','arguments':''}}],"
                "'refusal':null}", "null")
      OAI_DELTA("{'tool_calls':[{'index':0,'function':{'arguments':"
                "'{\\u0022location\\u0022:'}}]}", "null")
      OAI_DELTA("{}", "'tool_calls'") OAI_USAGE OAI_DONE,
      8, 2, 0, -1, 0, 0, 5, 0, LLMR_FINISH_TOOL_CALLS, FMT_CHAT,
      C_COMPLETE | C_DONE | C_STREAM, "" },

    { "chat sse comments, fields, multi-line data, bad events", FMT_NONE,
      S_SSE,
      ": OPENROUTER PROCESSING\n\n"
      "retry: 3000\nid: 1\n"
      "data: {'choices':[{'index':0,\ndata:'delta':{'content':'a'}}]}\n\n"
      ":comment\n"
      "id\nevent\nunknown: x\ndata\n"
      "data:{'choices':[{'index':0,'delta':{'content':'b'}}]}\n\n"
      "data: {'choices':[{'index':0,'delta':{'content':'lost'}}]\n\n"
      "data: not json\n\n"
      "data:\n\n"
      "data:  \n\n"
      "data: [DONE\n\n"
      "data: [DONE] x\n\n"
      "event: message\n\n"
      "data: {'choices':[{'index':0,'delta':{'content':'c'},"
      "'finish_reason':'stop'}],'usage':{'prompt_tokens':3,"
      "'completion_tokens':3}}\n\n"
      "data: [DONE]  \n\n",
      3, 3, -1, -1, -1, TB_HEAD, 10, 4, LLMR_FINISH_STOP, FMT_CHAT,
      C_COMPLETE | C_DONE | C_STREAM | C_INVALID, "abc" },

    { "chat sse n=2", FMT_NONE, S_SSE,
      OAI_CHUNK("[{'index':1,'delta':{'content':'One'}},{'index':0,"
                "'delta':{'content':'Zero'}}]", "null")
      OAI_CHUNK("[{'index':1,'delta':{'content':'!'}}]", "null")
      OAI_CHUNK("[{'delta':{'content':'?'},'index':1}]", "null")
      OAI_DONE,
      -1, -1, -1, -1, -1, 9, 4, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_DONE | C_STREAM, "Zero?" },

    /* OpenAI completions */

    { "completions json", FMT_NONE, S_JSON,
      "{'id':'cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7','object':'text_completion',"
      "'created':1589478378,'model':'gpt-3.5-turbo-instruct','choices':"
      "[{'text':'\\n\\nThis is indeed a test','index':0,'logprobs':null,"
      "'finish_reason':'length'}],'usage':{'prompt_tokens':5,"
      "'completion_tokens':7,'total_tokens':12}}",
      5, 7, -1, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_LENGTH, FMT_COMPL,
      C_COMPLETE | C_DONE | C_TRUNC, "\n\nThis is indeed a test" },

    { "completions sse", FMT_COMPL, S_SSE,
      "data: {'id':'cmpl-1','object':'text_completion','created':1,"
      "'choices':[{'text':'Hi','index':0,'logprobs':null,'finish_reason':"
      "null}],'model':'gpt-3.5-turbo-instruct'}\n\n"
      "data: {'id':'cmpl-1','object':'text_completion','created':1,"
      "'choices':[{'text':' there','index':0,'logprobs':null,"
      "'finish_reason':'stop'}],'model':'gpt-3.5-turbo-instruct'}\n\n"
      "data: {'id':'cmpl-1','object':'text_completion','created':1,"
      "'choices':[],'model':'gpt-3.5-turbo-instruct','usage':"
      "{'prompt_tokens':4,'completion_tokens':2,'total_tokens':6}}\n\n"
      OAI_DONE,
      4, 2, -1, -1, -1, TB_HEAD, 4, 0, LLMR_FINISH_STOP, FMT_COMPL,
      C_COMPLETE | C_DONE | C_STREAM, "Hi there" },

    /* OpenAI Responses */

    { "responses json", FMT_NONE, S_JSON,
      "{'id':'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b',"
      "'object':'response','created_at':1741476542,'status':'completed',"
      "'error':null,'incomplete_details':null,'instructions':null,"
      "'max_output_tokens':null,'model':'o4-mini-2025-04-16','output':"
      "[{'type':'reasoning','id':'rs_1','summary':[{'type':'summary_text',"
      "'text':'Thinking about the grove.'}],'content':[{'type':"
      "'reasoning_text','text':'raw thoughts'}]},{'type':'message','id':"
      "'msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b','status':"
      "'completed','role':'assistant','content':[{'type':'output_text',"
      "'text':'In a peaceful grove beneath a silver moon...',"
      "'annotations':[]}]}],'parallel_tool_calls':true,"
      "'previous_response_id':null,'reasoning':{'effort':'medium',"
      "'summary':null},'store':true,'temperature':1.0,'text':{'format':"
      "{'type':'text'}},'tool_choice':'auto','tools':[],'top_p':1.0,"
      "'truncation':'disabled','usage':{'input_tokens':36,"
      "'input_tokens_details':{'cached_tokens':12},'output_tokens':87,"
      "'output_tokens_details':{'reasoning_tokens':64},'total_tokens':123},"
      "'user':null,'metadata':{}}",
      36, 87, 12, -1, 64, TB_HEAD, 0, 0, LLMR_FINISH_STOP, FMT_RESP,
      C_COMPLETE | C_DONE, "In a peaceful grove beneath a silver moon..." },

    { "responses json incomplete", FMT_RESP, S_JSON,
      "{'id':'resp_1','object':'response','incomplete_details':{'reason':"
      "'max_output_tokens'},'status':'incomplete','output':[{'type':"
      "'message','role':'assistant','content':[{'type':'output_text',"
      "'text':'Once upon'}]}],'usage':{'input_tokens':10,'output_tokens':"
      "16}}",
      10, 16, -1, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_LENGTH, FMT_RESP,
      C_COMPLETE | C_DONE | C_TRUNC, "Once upon" },

    { "responses json failed", FMT_NONE, S_AUTO,
      "  \r\n{'id':'resp_2','object':'response','status':'failed','error':"
      "{'code':'server_error','message':'The model failed.'},"
      "'incomplete_details':null,'output':[],'usage':null}",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_OTHER, FMT_RESP,
      C_DONE | C_ERROR, "" },

    { "responses json function call", FMT_NONE, S_JSON,
      "{'object':'response','status':'completed','output':[{'type':"
      "'function_call','id':'fc_1','call_id':'call_1','name':'get_weather',"
      "'arguments':'{\\u0022location\\u0022:\\u0022Paris\\u0022}',"
      "'status':'completed'}],'usage':{'input_tokens':291,"
      "'output_tokens':23}}",
      291, 23, -1, -1, -1, 0, 0, 0, LLMR_FINISH_TOOL_CALLS, FMT_RESP,
      C_COMPLETE | C_DONE, "" },

    { "responses json refusal", FMT_NONE, S_JSON,
      "{'object':'response','status':'completed','output':[{'type':"
      "'message','role':'assistant','content':[{'type':'refusal',"
      "'refusal':'I\\u0027m sorry, I cannot help with that.'}]}],"
      "'usage':{'input_tokens':20,'input_tokens_details':{'cached_tokens':"
      "0},'output_tokens':10,'output_tokens_details':{'reasoning_tokens':"
      "0}}}",
      20, 10, 0, -1, 0, 0, 0, 0, LLMR_FINISH_STOP, FMT_RESP,
      C_COMPLETE | C_DONE | C_REFUSAL, "" },

    { "responses sse", FMT_RESP, S_SSE,
      RESP_START RESP_DELTA("Hi") RESP_DELTA(" there!") RESP_END("Hi there!")
      RESP_EV("response.completed",
              RESP_OBJ("completed", "[" RESP_MSG("Hi there!") "]",
                       RESP_USAGE)),
      37, 11, 0, -1, 0, TB_HEAD, 10, 0, LLMR_FINISH_STOP, FMT_RESP,
      C_COMPLETE | C_DONE | C_STREAM, "Hi there!" },

    { "responses sse incomplete, type after delta", FMT_NONE, S_SSE,
      RESP_START
      "data: {'delta':'Once','type':'response.output_text.delta'}\n\n"
      "data: {'delta':' upon','item_id':'msg_1'}\n\n"
      "event: response.output_text.delta\n"
      "data: {'delta':' a'}\n\n"
      "data: {'delta':' time','type':'response.output_text.delta'}\n\n"
      "data: {'delta':'{}','type':'response.function_call_arguments.delta'}"
      "\n\n"
      RESP_EV("response.incomplete",
              ",'response':{'object':'response','status':'incomplete',"
              "'incomplete_details':{'reason':'max_output_tokens'},"
              "'output':[" RESP_MSG("Once a time") "],'usage':"
              RESP_USAGE "}"),
      37, 11, 0, -1, 0, TB_HEAD, 10, 0, LLMR_FINISH_LENGTH, FMT_RESP,
      C_COMPLETE | C_DONE | C_STREAM | C_TRUNC, "Once a time" },

    { "responses sse refusal, tools", FMT_NONE, S_SSE,
      RESP_EV("response.refusal.delta", ",'item_id':'msg_1','delta':"
              "'I can\\u0027t help with that.'")
      RESP_EV("response.refusal.delta", ",'item_id':'msg_1','delta':''")
      RESP_EV("response.completed",
              RESP_OBJ("completed", "[{'type':'function_call','id':'fc_1',"
                       "'call_id':'call_1','name':'f','arguments':'{}'}]",
                       RESP_USAGE)),
      37, 11, 0, -1, 0, 0, 3, 0, LLMR_FINISH_TOOL_CALLS, FMT_RESP,
      C_COMPLETE | C_DONE | C_STREAM | C_REFUSAL, "" },

    { "responses sse error", FMT_NONE, S_SSE,
      RESP_START RESP_DELTA("Par")
      "event: error\ndata: {'type':'error','code':'ERR_SOMETHING',"
      "'message':'Something went wrong','param':null,'sequence_number':7}"
      "\n\n",
      -1, -1, -1, -1, -1, TB_HEAD, 6, 0, LLMR_FINISH_NONE, FMT_RESP,
      C_STREAM | C_ERROR, "Par" },

    /* Anthropic messages */

    { "anthropic json", FMT_NONE, S_JSON,
      "{'id':'msg_01XFDUDYJgAACzvnptvVoYEL','type':'message','role':"
      "'assistant','model':'claude-sonnet-4-20250514','content':[{'type':"
      "'thinking','thinking':'Let me think.','signature':'EqQBCgIYAhIM'},"
      "{'type':'text','text':'Hi! My name is Claude.'}],'stop_reason':"
      "'end_turn','stop_sequence':null,'usage':{'input_tokens':2095,"
      "'cache_creation_input_tokens':100,'cache_read_input_tokens':1800,"
      "'cache_creation':{'ephemeral_5m_input_tokens':100,"
      "'ephemeral_1h_input_tokens':0},'output_tokens':503,"
      "'service_tier':'standard'}}",
      3995, 503, 1800, 100, -1, TB_HEAD, 0, 0, LLMR_FINISH_STOP, FMT_ANTH,
      C_COMPLETE | C_DONE, "Hi! My name is Claude." },

    { "anthropic json tool use", FMT_ANTH, S_JSON,
      "{'id':'msg_2','type':'message','role':'assistant','content':[{'type':"
      "'text','text':'I\\u0027ll check.'},{'type':'tool_use','id':"
      "'toolu_01A09q90qw90lq917835lq9','name':'get_weather','input':"
      "{'location':'San Francisco, CA','text':'not an answer'}}],"
      "'stop_reason':'tool_use','usage':{'input_tokens':472,"
      "'output_tokens':89}}",
      472, 89, -1, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_TOOL_CALLS, FMT_ANTH,
      C_COMPLETE | C_DONE, "I'll check." },

    { "anthropic json max_tokens", FMT_NONE, S_JSON,
      "{'type':'message','content':[{'type':'text','text':'A long'}],"
      "'stop_reason':'max_tokens','usage':{'input_tokens':12,"
      "'output_tokens':2,'cache_read_input_tokens':0}}",
      12, 2, 0, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_LENGTH, FMT_ANTH,
      C_COMPLETE | C_DONE | C_TRUNC, "A long" },

    { "anthropic json refusal", FMT_NONE, S_JSON,
      "{'type':'message','content':[],'stop_reason':'refusal','usage':"
      "{'input_tokens':40,'output_tokens':0}}",
      40, 0, -1, -1, -1, 0, 0, 0, LLMR_FINISH_CONTENT_FILTER, FMT_ANTH,
      C_COMPLETE | C_DONE | C_REFUSAL, "" },

    { "anthropic json error", FMT_ANTH, S_JSON,
      "{'type':'error','error':{'type':'overloaded_error','message':"
      "'Overloaded'},'request_id':'req_011CSHoEeqs5C35K2UUqR7Fy'}",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_ANTH,
      C_DONE | C_ERROR, "" },

    { "anthropic sse", FMT_ANTH, S_SSE,
      ANT_START ANT_TEXT ANT_END("end_turn", "15"),
      35, 15, 10, 0, -1, TB_HEAD, 12, 0, LLMR_FINISH_STOP, FMT_ANTH,
      C_COMPLETE | C_DONE | C_STREAM, "Hello!" },

    { "anthropic sse max_tokens", FMT_NONE, S_AUTO,
      ANT_START ANT_TEXT ANT_END("max_tokens", "1024"),
      35, 1024, 10, 0, -1, TB_HEAD, 12, 0, LLMR_FINISH_LENGTH, FMT_ANTH,
      C_COMPLETE | C_DONE | C_STREAM | C_TRUNC, "Hello!" },

    { "anthropic sse tool use", FMT_NONE, S_SSE,
      ANT_START
      ANT_BLOCK("0", "text", ",'text':''")
      ANT_DELTA("0", "text_delta", "'text':'Let me check.'")
      ANT_STOP_BLOCK("0")
      ANT_BLOCK("1", "tool_use", ",'id':'toolu_01T1x1fJ34qAmk2tNTrN7Up6',"
                "'name':'get_weather','input':{}")
      ANT_DELTA("1", "input_json_delta", "'partial_json':''")
      ANT_DELTA("1", "input_json_delta",
                "'partial_json':'{\\u0022location\\u0022: \\u0022San'")
      ANT_STOP_BLOCK("1")
      ANT_END("tool_use", "89"),
      35, 89, 10, 0, -1, TB_HEAD, 10, 0, LLMR_FINISH_TOOL_CALLS, FMT_ANTH,
      C_COMPLETE | C_DONE | C_STREAM, "Let me check." },

    { "anthropic sse error mid-stream", FMT_NONE, S_SSE,
      ANT_START ANT_BLOCK("0", "text", ",'text':''")
      ANT_DELTA("0", "text_delta", "'text':'Par'")
      "event: error\n"
      "data: {'type': 'error', 'error': {'type': 'overloaded_error', "
      "'message': 'Overloaded'}}\n\n",
      35, 1, 10, 0, -1, TB_HEAD, 4, 0, LLMR_FINISH_NONE, FMT_ANTH,
      C_COMPLETE | C_STREAM | C_ERROR, "Par" },

    { "anthropic sse error event, data not JSON", FMT_NONE, S_SSE,
      "event: error\ndata: upstream connect error\n\n",
      -1, -1, -1, -1, -1, 0, 1, 1, LLMR_FINISH_NONE, FMT_NONE,
      C_STREAM | C_ERROR | C_INVALID, "" },

    { "anthropic sse cumulative usage in message_delta", FMT_NONE, S_SSE,
      ANT_START ANT_TEXT
      ANT_EV("message_delta", ",'delta':{'stop_reason':'end_turn',"
             "'stop_sequence':null},'usage':{'input_tokens':25,"
             "'cache_creation_input_tokens':0,'cache_read_input_tokens':10,"
             "'output_tokens':42,'server_tool_use':{'web_search_requests':"
             "1}}")
      ANT_EV("message_stop", ""),
      35, 42, 10, 0, -1, TB_HEAD, 12, 0, LLMR_FINISH_STOP, FMT_ANTH,
      C_COMPLETE | C_DONE | C_STREAM, "Hello!" },

    /* Gemini */

    { "gemini json", FMT_NONE, S_JSON,
      "{'candidates':[{'content':{'parts':[{'text':'**Adding up**',"
      "'thought':true},{'text':'The answer is 4.'},{'functionCall':"
      "{'name':'log','args':{'text':'x'}}}],'role':'model'},"
      "'finishReason':'STOP','index':0,'safetyRatings':[{'category':"
      "'HARM_CATEGORY_HATE_SPEECH','probability':'NEGLIGIBLE'}]}],"
      "'usageMetadata':{'promptTokenCount':12,'candidatesTokenCount':8,"
      "'totalTokenCount':120,'cachedContentTokenCount':4,"
      "'thoughtsTokenCount':100,'promptTokensDetails':[{'modality':'TEXT',"
      "'tokenCount':12}]},'modelVersion':'gemini-2.5-flash','responseId':"
      "'mAitaLmkHPPlz7IPvtfUqQ4'}",
      12, 108, 4, -1, 100, TB_HEAD, 0, 0, LLMR_FINISH_TOOL_CALLS, FMT_GEM,
      C_COMPLETE | C_DONE, "The answer is 4." },

    { "gemini json safety", FMT_GEM, S_JSON,
      "{'candidates':[{'finishReason':'SAFETY','index':0,'safetyRatings':"
      "[{'category':'HARM_CATEGORY_DANGEROUS_CONTENT','probability':"
      "'HIGH','blocked':true}]}],'usageMetadata':{'promptTokenCount':20,"
      "'totalTokenCount':20},'modelVersion':'gemini-2.0-flash'}",
      20, 0, -1, -1, -1, 0, 0, 0, LLMR_FINISH_CONTENT_FILTER, FMT_GEM,
      C_COMPLETE | C_DONE | C_REFUSAL, "" },

    { "gemini json thoughts hit max tokens", FMT_NONE, S_JSON,
      "{'candidates':[{'content':{'role':'model'},'finishReason':"
      "'MAX_TOKENS','index':0}],'usageMetadata':{'promptTokenCount':10,"
      "'totalTokenCount':110,'thoughtsTokenCount':100,"
      "'toolUsePromptTokenCount':0}}",
      10, 100, -1, -1, 100, 0, 0, 0, LLMR_FINISH_LENGTH, FMT_GEM,
      C_COMPLETE | C_DONE | C_TRUNC, "" },

    { "gemini json blocked prompt", FMT_NONE, S_JSON,
      "{'promptFeedback':{'blockReason':'SAFETY','safetyRatings':[]},"
      "'usageMetadata':{'promptTokenCount':8,'totalTokenCount':8},"
      "'modelVersion':'gemini-2.0-flash'}",
      8, 0, -1, -1, -1, 0, 0, 0, LLMR_FINISH_CONTENT_FILTER, FMT_GEM,
      C_COMPLETE | C_DONE | C_REFUSAL, "" },

    { "gemini sse", FMT_GEM, S_SSE,
      "data: " GEM_CHUNK1 "\r\n\r\ndata: " GEM_CHUNK2 "\r\n\r\n",
      9, 6, -1, -1, -1, TB_HEAD, 2, 0, LLMR_FINISH_STOP, FMT_GEM,
      C_COMPLETE | C_DONE | C_STREAM, "The sky is blue." },

    { "gemini sse cut", FMT_GEM, S_SSE,
      "data: " GEM_CHUNK1 "\r\n\r\ndata: " GEM_CHUNK2 "\r\n",
      9, 0, -1, -1, -1, TB_HEAD, 1, 0, LLMR_FINISH_NONE, FMT_GEM,
      C_COMPLETE | C_STREAM, "The" },

    { "gemini json array stream", FMT_GEM, S_JSON,
      "[" GEM_CHUNK1 "\n,\r\n" GEM_CHUNK2 "\n]",
      9, 6, -1, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_STOP, FMT_GEM,
      C_COMPLETE | C_DONE, "The sky is blue." },

    { "gemini json array stream cut", FMT_NONE, S_AUTO,
      "[" GEM_CHUNK1 "\n,\r\n{'candidates':[{'content':{'parts':[{'text':"
      "' sky is'}",
      9, 0, -1, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_NONE, FMT_GEM,
      C_COMPLETE, "The sky is" },

    { "gemini json error", FMT_GEM, S_JSON,
      "{\n  'error': {\n    'code': 429,\n    'message': 'Resource has been "
      "exhausted (e.g. check quota).',\n    'status': 'RESOURCE_EXHAUSTED'"
      "\n  }\n}\n",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_GEM,
      C_DONE | C_ERROR, "" },

    { "gemini json array error", FMT_GEM, S_JSON,
      "[{'error':{'code':500,'message':'An internal error has occurred.',"
      "'status':'INTERNAL'}}]",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_GEM,
      C_DONE | C_ERROR, "" },

    /* other bodies */

    { "sse event names alone", FMT_NONE, S_SSE,
      "event: message_stop\ndata: {}\n\nevent: error\ndata: 42\n\n"
      "event: ping\n\n",
      -1, -1, -1, -1, -1, 0, 2, 0, LLMR_FINISH_NONE, FMT_NONE,
      C_DONE | C_ERROR | C_STREAM, "" },

    { "sse values: scalars, several, split strings", FMT_NONE, S_SSE,
      "data: 42\n\ndata: 'text'\n\ndata: [1,\ndata: 2]\n\n"
      "data: {'choices':[{'delta':{'content':'a'}}]} {}\n\n"
      "data: {'choices':[{'delta':{'content':'b'}}]} 7\n\n"
      "data: {'choices':[{'delta':{'content':'c\ndata: d'}}]}\n\n"
      "data: {'choices':[{'delta':{'content':'e'}}]}\n\n"
      "data: {'choices':[{'delta':{'content':'f'}}]} 'x\n\n"
      "data: {'choices':[{'delta':{'content':'g'}}]}\n\n",
      -1, -1, -1, -1, -1, TB_HEAD, 9, 4, LLMR_FINISH_NONE, FMT_CHAT,
      C_STREAM | C_INVALID, "eg" },

    { "json control character in a string", FMT_NONE, S_JSON,
      "{'choices':[{'message':{'content':'a\tb'}}],'usage':"
      "{'prompt_tokens':1,'completion_tokens':1}}",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_INVALID, "" },

    { "openai error json", FMT_CHAT, S_JSON,
      "{\n    'error': {\n        'message': 'Rate limit reached for "
      "gpt-4o in organization org-x on tokens per min (TPM).',\n"
      "        'type': 'tokens',\n        'param': null,\n"
      "        'code': 'rate_limit_exceeded'\n    }\n}\n",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_DONE | C_ERROR, "" },

    { "html error page as json", FMT_NONE, S_JSON,
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
      "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_NONE,
      C_INVALID, "" },

    { "html error page, detected", FMT_NONE, S_AUTO,
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>\r\n",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_NONE,
      C_STREAM, "" },

    { "json cut", FMT_NONE, S_JSON,
      "{'choices':[{'index':0,'message':{'content':'Hi'}}],'usage':"
      "{'prompt_tokens':3,'completion_tokens':1}",
      3, 1, -1, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_COMPLETE, "Hi" },

    { "json trailing garbage", FMT_NONE, S_JSON,
      "{'choices':[{'index':0,'message':{'content':'Hi'}}],'usage':"
      "{'prompt_tokens':3,'completion_tokens':1}} x",
      3, 1, -1, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_COMPLETE | C_INVALID, "Hi" },

    { "json with a BOM, detected", FMT_NONE, S_AUTO,
      "\xef\xbb\xbf\n{'choices':[{'index':0,'message':{'content':'Hi'}}],"
      "'usage':{'prompt_tokens':3,'completion_tokens':1}}\n",
      3, 1, -1, -1, -1, TB_HEAD, 0, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_COMPLETE | C_DONE, "Hi" },

    { "sse with a BOM", FMT_NONE, S_SSE,
      "\xef\xbb\xbf" OAI_HELLO OAI_DONE,
      -1, -1, -1, -1, -1, TB_HEAD, 2, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_DONE | C_STREAM, "Hello" },

    { "sse with a broken BOM", FMT_NONE, S_AUTO,
      "\xef\xbb" OAI_HELLO OAI_WORLD OAI_DONE,
      -1, -1, -1, -1, -1, TB_HEAD, 2, 0, LLMR_FINISH_NONE, FMT_CHAT,
      C_DONE | C_STREAM, " world" },

    { "json with a broken BOM", FMT_NONE, S_JSON,
      "\xef{'choices':[]}",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_NONE,
      C_INVALID, "" },

    { "empty body", FMT_NONE, S_AUTO, "",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_NONE, 0, "" },

    { "blanks only", FMT_ANTH, S_AUTO, " \r\n\n\t ",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_ANTH, 0, "" },

    { "json scalar", FMT_NONE, S_JSON, "42",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_NONE, FMT_NONE, C_DONE, "" },

    { "odd types and unknown values", FMT_NONE, S_JSON,
      "{'usage':{'prompt_tokens':-3,'completion_tokens':1.5,"
      "'input_tokens':'7','output_tokens':null,'cached_tokens':"
      "99999999999999999999,'reasoning_tokens':{'a':1}},'choices':"
      "[1,'x',null,{'index':0,'message':'str','finish_reason':'weird',"
      "'text':7}],'error':null,'status':'queued','type':7,'delta':3}",
      -1, -1, -1, -1, -1, 0, 0, 0, LLMR_FINISH_OTHER, FMT_CHAT, C_DONE, "" },
};


static void
test_cases(void)
{
    char           *body, *v;
    long            tb;
    snap_t          s, t;
    size_t          i, k, len;
    unsigned        f;
    const char     *d;
    const case_t   *c;

    static const char  *eols[] = { "\r\n", "\r" };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = &cases[i];
        body = json(c->body);
        len = strlen(body);

        run(c->hint, c->stream, body, len, len, 0, &s);

        tb = (c->text_bytes == TB_HEAD) ? (long) strlen(c->head)
                                        : c->text_bytes;
        f = (s.r.complete ? C_COMPLETE : 0) | (s.r.done ? C_DONE : 0)
            | (s.r.truncated ? C_TRUNC : 0) | (s.r.refusal ? C_REFUSAL : 0)
            | (s.r.error ? C_ERROR : 0) | (s.r.invalid ? C_INVALID : 0)
            | (s.r.stream ? C_STREAM : 0);

        ok(s.r.input_tokens == c->input && s.r.output_tokens == c->output
           && s.r.cached_tokens == c->cached
           && s.r.cache_write_tokens == c->cache_write
           && s.r.reasoning_tokens == c->reasoning,
           "%s: tokens in=%lld out=%lld cached=%lld write=%lld "
           "reasoning=%lld", c->name, (long long) s.r.input_tokens,
           (long long) s.r.output_tokens, (long long) s.r.cached_tokens,
           (long long) s.r.cache_write_tokens,
           (long long) s.r.reasoning_tokens);

        is_int(s.r.text_bytes, tb, "%s: text_bytes", c->name);
        is_int(s.r.events, c->events, "%s: events", c->name);
        is_int(s.r.bad_events, c->bad_events, "%s: bad events", c->name);
        is_str(llmr_finish_name(s.r.finish), llmr_finish_name(c->finish),
               "%s: finish", c->name);
        is_int(s.r.format, c->format, "%s: format", c->name);
        is_int(f, c->flags, "%s: flags", c->name);
        is_str(s.r.answer_head, c->head, "%s: answer head", c->name);
        is_int(s.r.answer_head_len, strlen(c->head), "%s: head length",
               c->name);
        is_int(s.r.body_bytes, len, "%s: body bytes", c->name);
        is_int(s.rc, (f & C_INVALID) && !(f & C_STREAM) ? LLMR_ERROR
                                                        : LLMR_OK,
               "%s: feed return code", c->name);

        ok(check_splits(c->hint, c->stream, body, len, c->name),
           "%s: identical in all %zu two-chunk splits and byte by byte",
           c->name, len + 1);

        if (s.r.stream && c->stream == S_SSE && strchr(body, '\r') == NULL)
        {
            /* the same events with CRLF and CR line ends */
            for (k = 0; k < 2; k++) {
                v = line_ends(body, eols[k]);
                run(c->hint, c->stream, v, strlen(v), strlen(v), 0, &t);
                d = snap_diff(&s, &t, 0);

                if (d) {
                    diag(c->name, k ? "CR" : "CRLF", 0, d, &s, &t);
                }

                ok(d == NULL, "%s: same with %s line ends", c->name,
                   k ? "CR" : "CRLF");

                if (k == 0) {
                    ok(check_splits(c->hint, c->stream, v, strlen(v),
                                    c->name),
                       "%s: CRLF identical in all splits", c->name);
                }

                free(v);
            }
        }

        free(body);
    }
}


/* random splits into many pieces of 1 to 160 bytes */

static void
test_random_splits(void)
{
    char          *body;
    size_t         i, j, k, len, off, n, bad;
    snap_t         one, s;
    unsigned       seed;
    llmr_usage_t  *u;
    const case_t  *c;

    seed = 12345;
    bad = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = &cases[i];
        body = json(c->body);
        len = strlen(body);

        run(c->hint, c->stream, body, len, len, 0, &one);

        for (j = 0; j < 50; j++) {
            u = llmr_usage_create(c->hint);

            if (c->stream != S_AUTO) {
                llmr_usage_set_stream(u, c->stream);
            }

            for (off = 0; off < len; off += n) {
                seed = seed * 1103515245 + 12345;
                k = (seed >> 16) % 5;
                n = (k == 0) ? 1 : (seed >> 8) % (k * 40) + 1;

                if (n > len - off) {
                    n = len - off;
                }

                s.rc = feed_copy(u, body + off, n);
            }

            if (len == 0) {
                s.rc = feed_copy(u, body, 0);
            }

            llmr_usage_finish(u);
            s.r = *llmr_usage_result(u);
            llmr_usage_destroy(u);

            if (snap_diff(&one, &s, 1) != NULL) {
                diag(c->name, "random split", j, snap_diff(&one, &s, 1),
                     &one, &s);
                bad++;
                break;
            }
        }

        free(body);
    }

    is_int(bad, 0, "every case identical in 50 random multi-piece splits");
}


static snap_t
read_body(int hint, int stream, const char *body)
{
    snap_t   s;
    size_t   len;

    len = strlen(body);
    run(hint, stream, body, len, len, 0, &s);

    return s;
}


static void
test_head(void)
{
    char     *body, *p;
    char      want[LLMR_USAGE_HEAD_SIZE];
    size_t    i;
    snap_t    s;

    /* a two-byte character that does not fit is left out whole */

    body = malloc(1024);

    for (i = 250; i <= 255; i++) {
        p = body + sprintf(body, "{\"choices\":[{\"message\":{\"content\":\"");
        memset(p, 'a', i);
        p += i;
        strcpy(p, "\\u00e9\xc3\xa9\"}}]}");

        s = read_body(FMT_NONE, S_JSON, body);

        memset(want, 'a', i);
        want[i] = '\0';

        if (i <= 253) {
            strcat(want, "\xc3\xa9");
        }

        if (i <= 251) {
            strcat(want, "\xc3\xa9");
        }

        is_str(s.r.answer_head, want, "head: %zu ASCII bytes + 2 x U+00E9",
               i);
        is_int(s.r.answer_head_len, strlen(want), "head: length %zu",
               strlen(want));
        is_int(s.r.text_bytes, i + 4, "head: text_bytes %zu", i + 4);
    }

    /* four-byte characters */

    for (i = 250; i <= 252; i++) {
        p = body + sprintf(body, "{\"content\":[{\"type\":\"text\","
                                 "\"text\":\"");
        memset(p, 'b', i);
        p += i;
        strcpy(p, "\\ud83d\\ude00\"}],\"type\":\"message\"}");

        s = read_body(FMT_NONE, S_JSON, body);
        is_int(s.r.answer_head_len, (i <= 251) ? i + 4 : i,
               "head: %zu bytes + U+1F600", i);
    }

    free(body);

    /* invalid bytes become '?', a NUL too */

    s = read_body(FMT_NONE, S_JSON,
                  "{\"choices\":[{\"message\":{\"content\":"
                  "\"a\xff\xfe" "b\xc3(\xe2\x82 \xed\xa0\x80\\u0000z"
                  "\\ud800x\"}}]}");
    is_str(s.r.answer_head, "a?\?b?(?\? ?\?\?\?z?x",
           "head: invalid UTF-8 -> ?");
    is_int(s.r.text_bytes, 16, "head: text_bytes counts the bytes as sent");

    /* many small deltas: the head is their prefix, cut on a character */

    body = malloc(200 * 200);
    p = body;

    for (i = 0; i < 130; i++) {
        p += sprintf(p, "data: {\"choices\":[{\"index\":0,\"delta\":"
                     "{\"content\":\"\\u00e9\"}}]}\n\n");
    }

    p += sprintf(p, "data: {\"choices\":[{\"index\":0,\"delta\":"
                 "{\"content\":\"z\"}}]}\n\n");

    s = read_body(FMT_NONE, S_SSE, body);
    is_int(s.r.answer_head_len, 254, "head: 127 of 130 two-byte deltas");
    is_int(s.r.text_bytes, 261, "head: all the deltas counted");
    ok(strchr(s.r.answer_head, 'z') == NULL,
       "head: nothing appended after the cut");
    free(body);

    /* a long string: the head is its first bytes, the count is whole */

    body = malloc(64 + 100000);
    p = body + sprintf(body, "{\"choices\":[{\"message\":{\"content\":\"");
    memset(p, 'c', 100000);
    strcpy(p + 100000, "\"}}],\"x\":\"y\"}");

    s = read_body(FMT_NONE, S_JSON, body);
    is_int(s.r.answer_head_len, LLMR_USAGE_HEAD_SIZE - 1,
           "head: a long answer fills it");
    is_int(s.r.text_bytes, 100000, "head: a long answer counted");
    ok(s.r.done, "head: a long answer, done");
    free(body);
}


static char *
repeat(const char *head, const char *unit, size_t n, const char *tail,
    size_t *len)
{
    char    *b, *p;
    size_t   h, u, t, i;

    h = strlen(head);
    u = strlen(unit);
    t = strlen(tail);

    b = malloc(h + u * n + t + 1);
    memcpy(b, head, h);
    p = b + h;

    for (i = 0; i < n; i++) {
        memcpy(p, unit, u);
        p += u;
    }

    memcpy(p, tail, t + 1);
    *len = h + u * n + t;

    return b;
}


/*
 * Every escape yajl knows, and the surrogate cases: a high surrogate
 * then a plain byte, then another escape, is '?' each time.  17 bytes
 * decoded from 48 bytes sent.
 */
#define ESCAPES  "ab\\n\\u00e9\\ud83d\\ude00\\\"c\\ud800x\\ud800\\n" \
                 "\\u0000\\/"


static void
test_long_strings(void)
{
    char          *body;
    size_t         len, i, n;
    snap_t         one, s;

    static const size_t  counts[] = { 1, 10, 87, 88, 89, 1000, 100000 };
    static const size_t  chunks[] = { 65536, 4097, 1000, 47, 7 };

    /* below the cut yajl decodes, beyond it the lexer counts: they agree */

    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        body = repeat("{\"choices\":[{\"message\":{\"content\":\"", ESCAPES,
                      counts[i], "\"},\"finish_reason\":\"stop\"}],"
                      "\"usage\":{\"prompt_tokens\":1,"
                      "\"completion_tokens\":2}}", &len);

        run(FMT_NONE, S_JSON, body, len, len, 0, &one);
        is_int(one.r.text_bytes, 17 * counts[i],
               "%zu escape patterns: %zu bytes decoded", counts[i],
               17 * counts[i]);
        ok(one.r.done && one.r.complete && !one.r.invalid,
           "%zu escape patterns: parsed", counts[i]);

        for (n = 0; n < sizeof(chunks) / sizeof(chunks[0]); n++) {
            if (counts[i] == 100000 && chunks[n] < 1000) {
                continue;
            }

            run(FMT_NONE, S_JSON, body, len, 0, chunks[n], &s);

            if (snap_diff(&one, &s, 1) != NULL) {
                diag("escapes", "chunk", chunks[n], snap_diff(&one, &s, 1),
                     &one, &s);
            }

            ok(snap_diff(&one, &s, 1) == NULL,
               "%zu escape patterns in %zu-byte chunks: identical",
               counts[i], chunks[n]);
        }

        if (counts[i] == 88) {
            /* the cut falls in every possible place around the limit */
            ok(check_splits(FMT_NONE, S_JSON, body, len, "escapes"),
               "88 escape patterns: identical in all two-chunk splits");
        }

        free(body);
    }

    /* 10 MB of answer in 64 KB chunks */

    n = 10 * 1024 * 1024;
    body = repeat("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
                  "\"choices\":[{\"index\":0,\"message\":{\"role\":"
                  "\"assistant\",\"content\":\"", "The quick brown fox. ",
                  n / 21, "\"},\"finish_reason\":\"length\"}],\"usage\":"
                  "{\"prompt_tokens\":12,\"completion_tokens\":2500000}}",
                  &len);

    run(FMT_CHAT, S_JSON, body, len, 0, 65536, &s);

    is_int(s.r.text_bytes, n / 21 * 21, "10 MB answer: text_bytes");
    ok(s.r.complete && s.r.output_tokens == 2500000 && s.r.truncated
       && s.r.done, "10 MB answer: usage, length, done");
    is_int(s.r.answer_head_len, LLMR_USAGE_HEAD_SIZE - 1,
           "10 MB answer: head");
    ok(s.memory < 64 * 1024, "10 MB answer: memory %zu bytes", s.memory);

    run(FMT_CHAT, S_JSON, body, len, 0, 4096, &one);
    ok(snap_diff(&one, &s, 1) == NULL, "10 MB answer in 4 KB chunks: same");
    free(body);

    /* 5 MB in one SSE data line, in 4 KB chunks */

    body = repeat("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"",
                  "0123456789\\\"\\n\\u4e2d", 5 * 1024 * 1024 / 20,
                  "\"}}]}\n\n" OAI_DONE, &len);

    run(FMT_NONE, S_SSE, body, len, 0, 4096, &s);
    is_int(s.r.text_bytes, 5 * 1024 * 1024 / 20 * 15,
           "5 MB data line: text_bytes");
    ok(s.r.done && s.r.events == 2 && s.r.bad_events == 0,
       "5 MB data line: events");
    ok(s.memory < 64 * 1024, "5 MB data line: memory %zu bytes", s.memory);
    free(body);

    /* a 5 MB key, a 5 MB string in a skipped value */

    body = repeat("{\"", "k", 5 * 1024 * 1024, "\":1,\"logprobs\":{\"a\":[\""
                  "x\"]},\"usage\":{\"prompt_tokens\":1,"
                  "\"completion_tokens\":1}}", &len);
    run(FMT_NONE, S_JSON, body, len, 0, 65536, &s);
    ok(s.r.complete && s.r.done, "5 MB key: skipped");
    ok(s.memory < 64 * 1024, "5 MB key: memory %zu bytes", s.memory);
    free(body);
}


/*
 * Whole plain strings of 64 bytes and more are not lexed by yajl (it
 * parses "" for them): the result is the same as when they come split,
 * at every size around the limits, in every place a string may stand
 * and a few it may not, with bytes yajl takes as they are and some it
 * does not.
 */

static void
test_fast_strings(void)
{
    char          *body, *text;
    size_t         len, i, k, n;
    snap_t         one;

    static const size_t  sizes[] = { 63, 64, 65, 200, 4095, 4096, 4097,
                                     5000 };
    static const char   *units[] = { "a", "\xc3\xa9", "\xe4\xb8\xad" };

    static const struct {
        const char  *head;
        const char  *tail;
        const char  *name;
    } shapes[] = {
        { "{\"choices\":[{\"message\":{\"content\":\"",
          "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,"
          "\"completion_tokens\":4}}", "content" },
        { "{\"choices\":[{\"message\":{\"content\": \t\"",
          "\"}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}",
          "content after blanks" },
        { "{\"choices\":[{\"message\":{\"content\":[\"",
          "\",\"x\"]}}],\"usage\":{\"prompt_tokens\":3}}", "in an array" },
        { "{\"usage\":{\"prompt_tokens\":3},\"",
          "\":{\"a\":[1,\"b\"]},\"choices\":[]}", "a key" },
        { "{\"choices\":[{\"message\":{\"content\":1\"",
          "\"}}]}", "after a number: invalid" },
        { "{\"choices\":[{\"message\":{\"content\":\"\" \"",
          "\"}}]}", "after a string: invalid" },
        { "{\"choices\":[{\"message\":{\"content\":tru\"",
          "\"}}]}", "in a literal: invalid" },
        { "[\"", "\",{\"usage\":{\"prompt_tokens\":3}}]", "top-level array" },
    };

    for (k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
        for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            for (n = 0; n < sizeof(units) / sizeof(units[0]); n++) {
                body = repeat(shapes[k].head, units[n],
                              sizes[i] / strlen(units[n]), shapes[k].tail,
                              &len);

                ok(check_splits(FMT_NONE, S_JSON, body, len, shapes[k].name),
                   "%s, %zu bytes of %s: the same whole, split and byte by "
                   "byte", shapes[k].name, sizes[i] / strlen(units[n])
                   * strlen(units[n]), n ? "UTF-8" : "ASCII");

                free(body);
            }
        }
    }

    /* bytes yajl does not take as they are, in a long string */

    static const char  *odd[] = { "\\n", "\\\"", "\\u00e9", "\t", "\x01",
                                  "\x7f", "\xff" };

    for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
        text = repeat("", "abcdefgh", 20, odd[k], &n);
        body = repeat("{\"choices\":[{\"message\":{\"content\":\"", text, 1,
                      "tail of it, long enough\"}}],\"usage\":"
                      "{\"prompt_tokens\":3,\"completion_tokens\":4}}",
                      &len);

        ok(check_splits(FMT_NONE, S_JSON, body, len, "odd byte"),
           "a long string with byte %zu of the odd ones: the same whole, "
           "split and byte by byte", k);

        run(FMT_NONE, S_JSON, body, len, len, 0, &one);

        if (k < 3 || k > 4) {
            ok(one.r.complete && !one.r.invalid,
               "a long string with byte %zu of the odd ones: parsed", k);

        } else {
            ok(one.r.invalid, "a long string with a control byte: invalid");
        }

        free(text);
        free(body);
    }
}


/* OAI_HELLO in plain JSON, for bodies not passed through json() */
#define HELLO_EV                                                              \
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n\n"


static void
test_bounds(void)
{
    char          *body, *p;
    size_t         len, i, n;
    snap_t         s, t;
    unsigned       seed, mode;

    static const int  modes[] = { S_AUTO, S_JSON, S_SSE };

    /* 10,000-deep nesting */

    n = 10000;
    body = repeat("{\"usage\":{\"prompt_tokens\":1},\"a\":", "[", n, "", &len);
    run(FMT_NONE, S_JSON, body, len, len, 0, &s);
    ok(s.r.invalid && !s.r.done && s.rc == LLMR_ERROR,
       "10000-deep arrays: invalid");
    ok(s.memory < 64 * 1024, "10000-deep arrays: memory %zu", s.memory);
    run(FMT_NONE, S_JSON, body, len, 0, 1, &s);
    ok(s.r.invalid, "10000-deep arrays byte by byte: invalid");
    free(body);

    body = repeat("data: ", "{\"a\":", n, "\n\n" HELLO_EV OAI_DONE, &len);
    run(FMT_NONE, S_SSE, body, len, len, 0, &s);
    ok(s.r.bad_events == 1 && s.r.events == 3 && s.r.done
       && strcmp(s.r.answer_head, "Hello") == 0,
       "10000-deep event: bad, the next ones read");
    free(body);

    /* depth 256 passes, 257 does not */

    for (i = 256; i <= 257; i++) {
        body = repeat("", "[", i, "", &len);
        body = realloc(body, 2 * i + 1);
        memset(body + i, ']', i);
        body[2 * i] = '\0';
        run(FMT_NONE, S_JSON, body, 2 * i, 2 * i, 0, &s);
        is_int(s.r.invalid, i > 256, "depth %zu: %s", i,
               (i > 256) ? "invalid" : "ok");
        free(body);
    }

    /* long numbers */

    for (i = 1024; i <= 1025; i++) {
        body = repeat("{\"usage\":{\"prompt_tokens\":", "1", i,
                      ",\"completion_tokens\":2}}", &len);
        run(FMT_NONE, S_JSON, body, len, 0, 100, &s);
        is_int(s.r.invalid, i > 1024, "a %zu-digit number: %s", i,
               (i > 1024) ? "invalid" : "ok");
        free(body);
    }

    body = repeat("[", "9", 10 * 1024 * 1024, "]", &len);
    run(FMT_NONE, S_JSON, body, len, 0, 65536, &s);
    ok(s.r.invalid && s.memory < 64 * 1024,
       "a 10 MB number: invalid, memory %zu", s.memory);
    free(body);

    /* 10 MB of blanks inside a JSON body */

    body = repeat("{\"usage\":", " \n", 5 * 1024 * 1024,
                  "{\"input_tokens\":3,\"output_tokens\":4}}", &len);
    run(FMT_NONE, S_AUTO, body, len, 0, 65536, &s);
    ok(s.r.complete && s.r.done && s.memory < 64 * 1024,
       "10 MB of blanks: read, memory %zu", s.memory);
    free(body);

    /* huge lines that are not data */

    body = repeat(": ", "x", 5 * 1024 * 1024, "\n" HELLO_EV, &len);
    run(FMT_NONE, S_SSE, body, len, 0, 4096, &s);
    ok(s.r.events == 1 && s.r.text_bytes == 5, "5 MB comment: skipped");
    free(body);

    body = repeat("", "y", 5 * 1024 * 1024, ": v\n" HELLO_EV, &len);
    run(FMT_NONE, S_AUTO, body, len, 0, 4096, &s);
    ok(s.r.events == 1 && s.r.text_bytes == 5 && s.r.stream,
       "5 MB field name: skipped");
    free(body);

    body = repeat("event: ", "z", 5 * 1024 * 1024,
                  "\ndata: {\"type\":\"x\"}\n\n" HELLO_EV, &len);
    run(FMT_NONE, S_SSE, body, len, 0, 4096, &s);
    ok(s.r.events == 2 && s.r.text_bytes == 5 && s.memory < 64 * 1024,
       "5 MB event name: ignored, memory %zu", s.memory);
    free(body);

    /* garbage and binary, in every mode, in odd chunks */

    n = 4 * 1024 * 1024;
    body = malloc(n);
    seed = 1;

    for (i = 0; i < n; i++) {
        seed = seed * 1103515245 + 12345;
        body[i] = (char) (seed >> 16);
    }

    for (mode = 0; mode < 3; mode++) {
        run(FMT_NONE, modes[mode], body, n, 0, 3000, &s);
        ok(s.r.body_bytes == n && s.memory < 64 * 1024
           && s.r.input_tokens == -1,
           "4 MB of binary, mode %d: counted, memory %zu", modes[mode],
           s.memory);
    }

    /* binary with SSE syntax sprinkled in */

    for (i = 0; i + 64 < n; i += 997) {
        p = body + i;
        memcpy(p, (i / 997) % 2 ? "\n\ndata: {\"choices\":[" : "\ndata:",
               (i / 997) % 2 ? 20 : 6);
    }

    run(FMT_NONE, S_SSE, body, n, 0, 1500, &s);
    ok(s.r.events > 1000 && s.r.bad_events > 1000
       && s.r.input_tokens == -1 && s.memory < 64 * 1024,
       "binary with SSE syntax: %u events, %u bad, memory %zu", s.r.events,
       s.r.bad_events, s.memory);

    run(FMT_NONE, S_SSE, body, n, n, 0, &t);
    ok(snap_diff(&s, &t, 1) == NULL,
       "binary with SSE syntax in one piece: same");

    free(body);
}


/*
 * Long streams of every provider: each event is read, and a reader's
 * memory does not grow with the number of events (bench/throughput.c
 * measures the speed on 100,000 of them).
 */

static void
test_long_streams(void)
{
    char          *unit, *tail, *body;
    size_t         i, n, len, memory;
    snap_t         s;

    static const struct {
        const char  *name;
        const char  *unit;
        const char  *tail;
        unsigned     extra;         /* events after the units */
        size_t       text;          /* text bytes a unit */
        unsigned     flags;         /* C_COMPLETE, C_DONE */
    } streams[] = {
        { "OpenAI chunks", OAI_DELTA("{'content':' token'}", "null"),
          OAI_USAGE OAI_DONE, 2, 6, C_COMPLETE | C_DONE },
        { "Anthropic deltas", ANT_DELTA("0", "text_delta", "'text':' token'"),
          "", 0, 6, 0 },
        { "Gemini chunks", "data: " GEM_CHUNK1 "\r\n\r\n", "", 0, 3,
          C_COMPLETE },
    };

    static const size_t  counts[] = { 10, 2000 };

    for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
        unit = json(streams[i].unit);
        tail = json(streams[i].tail);
        memory = 0;

        for (n = 0; n < sizeof(counts) / sizeof(counts[0]); n++) {
            body = repeat("", unit, counts[n], tail, &len);
            run(FMT_NONE, S_SSE, body, len, 0, 16384, &s);
            free(body);

            ok(s.r.events == counts[n] + streams[i].extra
               && s.r.text_bytes == counts[n] * streams[i].text
               && s.r.bad_events == 0
               && !s.r.complete == !(streams[i].flags & C_COMPLETE)
               && !s.r.done == !(streams[i].flags & C_DONE),
               "%zu %s: all read (%u events, %zu text bytes)", counts[n],
               streams[i].name, s.r.events, s.r.text_bytes);

            if (n == 0) {
                memory = s.memory;
                continue;
            }

            ok(s.memory == memory, "%zu %s: the memory of %zu (%zu, %zu "
               "bytes)", counts[n], streams[i].name, counts[0], s.memory,
               memory);
        }

        free(unit);
        free(tail);
    }

    /* a typical JSON answer of about 4 KB, escapes in its text */

    body = repeat("{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\","
                  "\"object\":\"chat.completion\",\"created\":1741569952,"
                  "\"model\":\"gpt-4.1-2025-04-14\",\"choices\":[{\"index\":"
                  "0,\"message\":{\"role\":\"assistant\",\"content\":\"",
                  "Here is a paragraph of answer, with \\\"quotes\\\" and a "
                  "newline.\\n", 50, "\",\"refusal\":null,\"annotations\":"
                  "[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                  "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,"
                  "\"total_tokens\":29,\"prompt_tokens_details\":"
                  "{\"cached_tokens\":0,\"audio_tokens\":0},"
                  "\"completion_tokens_details\":{\"reasoning_tokens\":0,"
                  "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
                  "\"rejected_prediction_tokens\":0}},\"service_tier\":"
                  "\"default\",\"system_fingerprint\":\"fp_50cad350e4\"}",
                  &len);
    run(FMT_NONE, S_JSON, body, len, 0, 16384, &s);
    ok(s.r.complete && s.r.done && s.r.text_bytes == 50 * 60
       && s.r.output_tokens == 10, "4 KB JSON answer: read (%zu text bytes)",
       s.r.text_bytes);
    free(body);
}


static void
test_lifecycle(void)
{
    int                         rc;
    char                       *body;
    size_t                      len;
    llmr_usage_t               *u;
    const llmr_usage_result_t  *r;

    u = llmr_usage_create(FMT_GEM);
    ok(u != NULL, "create");
    r = llmr_usage_result(u);
    ok(r->input_tokens == -1 && r->output_tokens == -1
       && r->cached_tokens == -1 && r->cache_write_tokens == -1
       && r->reasoning_tokens == -1 && r->format == FMT_GEM
       && r->answer_head[0] == '\0' && !r->done,
       "a fresh reader: nothing reported");
    llmr_usage_destroy(u);
    llmr_usage_destroy(NULL);

    u = llmr_usage_create(99);
    is_int(llmr_usage_result(u)->format, FMT_NONE, "an invalid hint");
    llmr_usage_destroy(u);

    /* the result is current after each feed */

    body = json(OAI_HELLO OAI_USAGE "data: {'choices':[{'index':0,"
                "'delta':{'content':'x'}}]}\n");

    u = llmr_usage_create(FMT_NONE);
    llmr_usage_set_stream(u, 1);
    rc = llmr_usage_feed(u, (unsigned char *) body, strlen(body));
    r = llmr_usage_result(u);
    ok(rc == LLMR_OK && r->events == 2 && r->complete
       && r->text_bytes == 5 && r->stream,
       "SSE: result current before finish");

    /* a pending event at destroy time */
    llmr_usage_destroy(u);
    free(body);

    body = json("{'usage':{'prompt_tokens':5,'completion_tokens':6}}");

    u = llmr_usage_create(FMT_NONE);
    rc = llmr_usage_feed(u, (unsigned char *) body, strlen(body) - 1);
    r = llmr_usage_result(u);
    ok(rc == LLMR_OK && r->complete && !r->done && !r->stream,
       "JSON: usage before the body ends");
    rc = llmr_usage_feed(u, (unsigned char *) body + strlen(body) - 1, 1);
    ok(rc == LLMR_OK && r->done, "JSON: done when the body closes");

    llmr_usage_set_stream(u, 1);
    llmr_usage_finish(u);
    ok(r->done && !r->stream, "set_stream after bytes is ignored");

    rc = llmr_usage_feed(u, (unsigned char *) "x", 1);
    ok(rc == LLMR_ERROR && r->body_bytes == strlen(body),
       "feed after finish fails, counts nothing");
    llmr_usage_finish(u);
    ok(r->done, "finish twice");
    llmr_usage_destroy(u);

    /* after an error: bytes only counted */

    u = llmr_usage_create(FMT_NONE);
    llmr_usage_set_stream(u, 0);
    rc = llmr_usage_feed(u, (unsigned char *) SL("{\"a\":]"));
    is_int(rc, LLMR_ERROR, "invalid JSON fails the feed");
    rc = llmr_usage_feed(u, (unsigned char *) body, strlen(body));
    r = llmr_usage_result(u);
    ok(rc == LLMR_ERROR && r->body_bytes == 6 + strlen(body)
       && r->input_tokens == -1 && r->invalid,
       "after an error bytes are counted only");
    llmr_usage_finish(u);
    llmr_usage_destroy(u);

    /* destroyed half-way through a JSON body */

    u = llmr_usage_create(FMT_NONE);
    llmr_usage_feed(u, (unsigned char *) body, 10);
    llmr_usage_destroy(u);
    free(body);

    /* destroyed half-way through a long string */

    u = llmr_usage_create(FMT_NONE);
    body = repeat("data: {\"a\":\"", "x", 10000, "", &len);
    llmr_usage_feed(u, (unsigned char *) body, strlen(body));
    llmr_usage_destroy(u);
    free(body);

    is_str(llmr_finish_name(LLMR_FINISH_NONE), "none", "finish name none");
    is_str(llmr_finish_name(LLMR_FINISH_STOP), "stop", "finish name stop");
    is_str(llmr_finish_name(LLMR_FINISH_LENGTH), "length",
           "finish name length");
    is_str(llmr_finish_name(LLMR_FINISH_TOOL_CALLS), "tool_calls",
           "finish name tool_calls");
    is_str(llmr_finish_name(LLMR_FINISH_CONTENT_FILTER), "content_filter",
           "finish name content_filter");
    is_str(llmr_finish_name(LLMR_FINISH_OTHER), "other",
           "finish name other");
    is_str(llmr_finish_name(LLMR_FINISH_N), "unknown", "finish name: range");
    is_str(llmr_finish_name(-1), "unknown", "finish name: negative");
}


/*
 * One reader reset for every case, in every state a response can leave it
 * (finished or not, failed, a stream cut in an event), reads each case as
 * a new reader does, and allocates nothing once its blocks are cached.
 */

static void
test_reset(void)
{
    char          *body;
    size_t         i, j, len, bad, mem;
    snap_t         one, s;
    llmr_usage_t  *u;
    const case_t  *c;

    u = llmr_usage_create(FMT_NONE);
    bad = 0;
    mem = 0;

    for (j = 0; j < 3; j++) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            c = &cases[(i * 7 + j) % (sizeof(cases) / sizeof(cases[0]))];
            body = json(c->body);
            len = strlen(body);

            run(c->hint, c->stream, body, len, len, 0, &one);

            llmr_usage_reset(u, c->hint);

            if (c->stream != S_AUTO) {
                llmr_usage_set_stream(u, c->stream);
            }

            s.rc = feed_copy(u, body, len);
            llmr_usage_finish(u);
            s.r = *llmr_usage_result(u);

            if (snap_diff(&one, &s, 1) != NULL) {
                diag(c->name, "reset reader", j, snap_diff(&one, &s, 1),
                     &one, &s);
                bad++;
            }

            /* every other one is reset in the middle of a body */

            if ((i + j) % 2) {
                llmr_usage_reset(u, FMT_NONE);
                (void) feed_copy(u, body, len / 2);
            }

            if (j == 2 && i == 0) {
                mem = llmr_usage_memory(u);
            }

            free(body);
        }
    }

    is_int(bad, 0, "a reset reader reads every case as a new one");
    ok(mem > 0 && llmr_usage_memory(u) <= 4 * mem,
       "a reset reader keeps its blocks, bounded (%zu, %zu bytes)", mem,
       llmr_usage_memory(u));

    llmr_usage_destroy(u);
}


int
main(void)
{
    test_cases();
    test_random_splits();
    test_head();
    test_long_strings();
    test_fast_strings();
    test_bounds();
    test_long_streams();
    test_lifecycle();
    test_reset();

    return tap_done();
}
