
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/core.h>
#include <llmr/extract.h>

#include "llmr_json.h"


/*
 * The request's semantics over the JSON stream reader (llmr_json.c),
 * which checks and decodes every string exactly as yajl does.
 */

/*
 * Frames describe the containers whose meaning we know; everything else is
 * skipped by counting its nesting only.  The schemas we follow are never
 * deeper than this, a push beyond it is treated as an unknown value.
 */
#define LLMR_FRAMES_MAX         16

#define LLMR_ERRBUF_SIZE        192

/* yajl's blocks kept across bodies, one handle a body */
#define LLMR_EXTRACT_BLOCKS     12

/* a token count of up to 18 digits cannot overflow an int64_t */
#define LLMR_TOKENS_DIGITS_MAX  18

/*
 * The defaults of llmr_extract_conf_t (extract.h): the limits a body must
 * stay under, and the bytes of each text kept for the classifier.
 */
#define LLMR_DEFAULT_DEPTH          64
#define LLMR_DEFAULT_MESSAGES       10000
#define LLMR_DEFAULT_PARTS          100000
#define LLMR_DEFAULT_USER_TEXT      16384
#define LLMR_DEFAULT_SYSTEM_TEXT    4096
#define LLMR_DEFAULT_HISTORY_TEXT   4096


typedef enum {
    LLMR_F_TOP = 0,
    LLMR_F_MESSAGES,            /* messages, contents, input */
    LLMR_F_MESSAGE,
    LLMR_F_CONTENT,             /* an array of parts or blocks */
    LLMR_F_PART,
    LLMR_F_BLOB,                /* inlineData, fileData */
    LLMR_F_SYSINSTR,            /* systemInstruction */
    LLMR_F_PROMPT,              /* "prompt": [...] */
    LLMR_F_TOOLS,
    LLMR_F_TOOL,
    LLMR_F_DECLS,               /* functionDeclarations */
    LLMR_F_STREAM_OPTIONS,
    LLMR_F_TEXT_CONFIG,         /* responses "text": {"format": ...} */
    LLMR_F_RESPONSE_FORMAT,
    LLMR_F_REASONING,           /* reasoning, thinking, thinkingConfig */
    LLMR_F_GENERATION_CONFIG
} llmr_frame_e;


/* where the text of a part goes */
typedef enum {
    LLMR_D_MESSAGE = 0,
    LLMR_D_SYSTEM,
    LLMR_D_TOOL                 /* counted in text_bytes only */
} llmr_dest_e;


typedef enum {
    LLMR_P_NONE = 0,
    LLMR_P_TEXT,
    LLMR_P_IMAGE,
    LLMR_P_TOOL_RESULT,
    LLMR_P_MEDIA,               /* audio, files, tool calls, thinking... */
    LLMR_P_BLOB                 /* gemini data, kind known from its mime */
} llmr_part_e;


typedef enum {
    LLMR_R_NONE = 0,
    LLMR_R_USER,
    LLMR_R_ASSISTANT,
    LLMR_R_SYSTEM,
    LLMR_R_TOOL,
    LLMR_R_OTHER
} llmr_role_e;


/* the "type" of a responses input item */
typedef enum {
    LLMR_I_NONE = 0,
    LLMR_I_MESSAGE,
    LLMR_I_OUTPUT,              /* function_call_output and the like */
    LLMR_I_OTHER
} llmr_item_e;


typedef enum {
    LLMR_K_OTHER = 0,
    LLMR_K_MODEL,
    LLMR_K_MESSAGES,
    LLMR_K_CONTENTS,
    LLMR_K_INPUT,
    LLMR_K_PROMPT,
    LLMR_K_SYSTEM,
    LLMR_K_INSTRUCTIONS,
    LLMR_K_SYSTEM_INSTRUCTION,
    LLMR_K_TOOLS,
    LLMR_K_FUNCTIONS,
    LLMR_K_MAX_TOKENS,
    LLMR_K_MAX_COMPLETION_TOKENS,
    LLMR_K_MAX_OUTPUT_TOKENS,
    LLMR_K_STREAM,
    LLMR_K_STREAM_OPTIONS,
    LLMR_K_INCLUDE_USAGE,
    LLMR_K_RESPONSE_FORMAT,
    LLMR_K_TEXT,
    LLMR_K_FORMAT,
    LLMR_K_REASONING_EFFORT,
    LLMR_K_REASONING,
    LLMR_K_THINKING,
    LLMR_K_GENERATION_CONFIG,
    LLMR_K_RESPONSE_MIME_TYPE,
    LLMR_K_RESPONSE_SCHEMA,
    LLMR_K_THINKING_CONFIG,
    LLMR_K_THINKING_BUDGET,
    LLMR_K_EFFORT,
    LLMR_K_ROLE,
    LLMR_K_CONTENT,
    LLMR_K_PARTS,
    LLMR_K_TYPE,
    LLMR_K_OUTPUT,
    LLMR_K_INLINE_DATA,
    LLMR_K_FILE_DATA,
    LLMR_K_MIME_TYPE,
    LLMR_K_FUNCTION_CALL,
    LLMR_K_FUNCTION_RESPONSE,
    LLMR_K_FUNCTION_DECLARATIONS
} llmr_key_e;


typedef struct {
    const char                 *name;
    unsigned char               len;
    unsigned char               id;
    unsigned char               clue;   /* LLMR_FMT_* it hints at, or 0 */
} llmr_name_t;

#define llmr_name(s, id, clue)  { s, sizeof(s) - 1, id, clue }
#define llmr_name_end(id)       { NULL, 0, id, 0 }


typedef struct {
    unsigned char              *data;
    size_t                      len;    /* bytes kept */
    size_t                      cap;
    size_t                      full;   /* bytes without the cap */
} llmr_buf_t;


typedef struct {
    unsigned char               kind;   /* llmr_frame_e */
    unsigned char               dest;   /* llmr_dest_e */
    unsigned char               type;   /* llmr_part_e */
    unsigned char               flags;
    unsigned                    n;      /* keys, items, declarations */
} llmr_frame_t;

#define LLMR_PART_TEXT          0x01    /* a part had a "text" */
#define LLMR_BLOB_MEDIA         0x01    /* a non-image mime type */
#define LLMR_TOOL_DECLS         0x01    /* functionDeclarations seen */
#define LLMR_REASONING_OFF      0x01    /* disabled, effort none, ... */
#define LLMR_FRAME_KEYS         0x80    /* an object with members */


struct llmr_extract_s {
    llmr_request_t              req;
    llmr_extract_conf_t         conf;

    llmr_json_t                 json;

    unsigned                    nframes;
    unsigned                    key;        /* llmr_key_e of the last key */
    const char                 *key_name;   /* as spelled in the body */

    int                         err;
    unsigned                    finished:1;
    unsigned                    seen_model:1;
    unsigned                    seen_stream_options:1;
    unsigned                    seen_max_completion:1;

    /* the message being parsed */
    unsigned                    role;       /* llmr_role_e */
    unsigned                    item;       /* llmr_item_e */
    unsigned                    own:1;      /* text, image or media */
    unsigned                    tool:1;     /* tool results in its parts */

    /* format detection */
    unsigned                    prompt_key; /* first of messages, ... */
    unsigned                    clue_openai;
    unsigned                    clue_anthropic;
    unsigned                    clue_gemini;
    unsigned                    clue_responses;

    unsigned                    prompt_items;
    unsigned                    media;

    size_t                      msg_cap;
    llmr_buf_t                  msg;
    llmr_buf_t                  last_user;
    llmr_buf_t                  system;
    llmr_buf_t                  history;
    llmr_buf_t                  pending;    /* turns after the last user */
    unsigned char              *text;       /* one block for all of them */
    llmr_frame_t                frames[LLMR_FRAMES_MAX];

    char                        model[LLMR_EXTRACT_MODEL_MAX];
    char                        errbuf[LLMR_ERRBUF_SIZE];
};


static int llmr_on_value(void *ctx, int vt, const unsigned char *s,
    size_t len);
static int llmr_on_key(void *ctx, const unsigned char *s, size_t len);
static int llmr_on_end(void *ctx);


static const llmr_json_handler_t  llmr_handler = {
    llmr_on_value,
    llmr_on_key,
    llmr_on_end
};



/* keys grouped by length, see llmr_key() */

static const llmr_name_t  llmr_keys4[] = {
    llmr_name("role", LLMR_K_ROLE, 0),
    llmr_name("text", LLMR_K_TEXT, 0),
    llmr_name("type", LLMR_K_TYPE, 0),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys5[] = {
    llmr_name("model", LLMR_K_MODEL, 0),
    llmr_name("input", LLMR_K_INPUT, 0),
    llmr_name("tools", LLMR_K_TOOLS, 0),
    llmr_name("parts", LLMR_K_PARTS, 0),
    llmr_name("top_k", LLMR_K_OTHER, LLMR_FMT_ANTHROPIC),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys6[] = {
    llmr_name("prompt", LLMR_K_PROMPT, 0),
    llmr_name("system", LLMR_K_SYSTEM, LLMR_FMT_ANTHROPIC),
    llmr_name("stream", LLMR_K_STREAM, 0),
    llmr_name("output", LLMR_K_OUTPUT, 0),
    llmr_name("effort", LLMR_K_EFFORT, 0),
    llmr_name("format", LLMR_K_FORMAT, 0),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys7[] = {
    llmr_name("content", LLMR_K_CONTENT, 0),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys8[] = {
    llmr_name("messages", LLMR_K_MESSAGES, 0),
    llmr_name("contents", LLMR_K_CONTENTS, 0),
    llmr_name("thinking", LLMR_K_THINKING, LLMR_FMT_ANTHROPIC),
    llmr_name("fileData", LLMR_K_FILE_DATA, 0),
    llmr_name("mimeType", LLMR_K_MIME_TYPE, 0),
    llmr_name("logprobs", LLMR_K_OTHER, LLMR_FMT_OPENAI_CHAT),
    llmr_name("function", LLMR_K_OTHER, LLMR_FMT_OPENAI_CHAT),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys9[] = {
    llmr_name("functions", LLMR_K_FUNCTIONS, LLMR_FMT_OPENAI_CHAT),
    llmr_name("reasoning", LLMR_K_REASONING, LLMR_FMT_OPENAI_RESPONSES),
    llmr_name("file_data", LLMR_K_FILE_DATA, 0),
    llmr_name("mime_type", LLMR_K_MIME_TYPE, 0),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys10[] = {
    llmr_name("max_tokens", LLMR_K_MAX_TOKENS, 0),
    llmr_name("inlineData", LLMR_K_INLINE_DATA, 0),
    llmr_name("tool_calls", LLMR_K_OTHER, LLMR_FMT_OPENAI_CHAT),
    llmr_name("logit_bias", LLMR_K_OTHER, LLMR_FMT_OPENAI_CHAT),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys11[] = {
    llmr_name("inline_data", LLMR_K_INLINE_DATA, 0),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys12[] = {
    llmr_name("instructions", LLMR_K_INSTRUCTIONS, LLMR_FMT_OPENAI_RESPONSES),
    llmr_name("functionCall", LLMR_K_FUNCTION_CALL, LLMR_FMT_GEMINI),
    llmr_name("input_schema", LLMR_K_OTHER, LLMR_FMT_ANTHROPIC),
    llmr_name("tool_call_id", LLMR_K_OTHER, LLMR_FMT_OPENAI_CHAT),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys13[] = {
    llmr_name("include_usage", LLMR_K_INCLUDE_USAGE, 0),
    llmr_name("function_call", LLMR_K_FUNCTION_CALL, 0),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys14[] = {
    llmr_name("stream_options", LLMR_K_STREAM_OPTIONS, LLMR_FMT_OPENAI_CHAT),
    llmr_name("thinkingConfig", LLMR_K_THINKING_CONFIG, 0),
    llmr_name("thinkingBudget", LLMR_K_THINKING_BUDGET, 0),
    llmr_name("responseSchema", LLMR_K_RESPONSE_SCHEMA, 0),
    llmr_name("stop_sequences", LLMR_K_OTHER, LLMR_FMT_ANTHROPIC),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys15[] = {
    llmr_name("response_format", LLMR_K_RESPONSE_FORMAT, LLMR_FMT_OPENAI_CHAT),
    llmr_name("maxOutputTokens", LLMR_K_MAX_OUTPUT_TOKENS, 0),
    llmr_name("thinking_config", LLMR_K_THINKING_CONFIG, 0),
    llmr_name("thinking_budget", LLMR_K_THINKING_BUDGET, 0),
    llmr_name("response_schema", LLMR_K_RESPONSE_SCHEMA, 0),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys16[] = {
    llmr_name("reasoning_effort", LLMR_K_REASONING_EFFORT,
              LLMR_FMT_OPENAI_CHAT),
    llmr_name("generationConfig", LLMR_K_GENERATION_CONFIG, LLMR_FMT_GEMINI),
    llmr_name("responseMimeType", LLMR_K_RESPONSE_MIME_TYPE, 0),
    llmr_name("functionResponse", LLMR_K_FUNCTION_RESPONSE, 0),
    llmr_name("presence_penalty", LLMR_K_OTHER, LLMR_FMT_OPENAI_CHAT),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys17[] = {
    llmr_name("max_output_tokens", LLMR_K_MAX_OUTPUT_TOKENS,
              LLMR_FMT_OPENAI_RESPONSES),
    llmr_name("systemInstruction", LLMR_K_SYSTEM_INSTRUCTION, LLMR_FMT_GEMINI),
    llmr_name("generation_config", LLMR_K_GENERATION_CONFIG, LLMR_FMT_GEMINI),
    llmr_name("function_response", LLMR_K_FUNCTION_RESPONSE, 0),
    llmr_name("anthropic_version", LLMR_K_OTHER, LLMR_FMT_ANTHROPIC),
    llmr_name("frequency_penalty", LLMR_K_OTHER, LLMR_FMT_OPENAI_CHAT),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys18[] = {
    llmr_name("system_instruction", LLMR_K_SYSTEM_INSTRUCTION, LLMR_FMT_GEMINI),
    llmr_name("response_mime_type", LLMR_K_RESPONSE_MIME_TYPE, 0),
    llmr_name("responseJsonSchema", LLMR_K_RESPONSE_SCHEMA, 0),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys20[] = {
    llmr_name("functionDeclarations", LLMR_K_FUNCTION_DECLARATIONS, 0),
    llmr_name("response_json_schema", LLMR_K_RESPONSE_SCHEMA, 0),
    llmr_name_end(0)
};

static const llmr_name_t  llmr_keys21[] = {
    llmr_name("max_completion_tokens", LLMR_K_MAX_COMPLETION_TOKENS,
              LLMR_FMT_OPENAI_CHAT),
    llmr_name("function_declarations", LLMR_K_FUNCTION_DECLARATIONS, 0),
    llmr_name_end(0)
};

static const llmr_name_t  *llmr_keys[] = {
    NULL, NULL, NULL, NULL, llmr_keys4, llmr_keys5, llmr_keys6, llmr_keys7,
    llmr_keys8, llmr_keys9, llmr_keys10, llmr_keys11, llmr_keys12,
    llmr_keys13, llmr_keys14, llmr_keys15, llmr_keys16, llmr_keys17,
    llmr_keys18, NULL, llmr_keys20, llmr_keys21
};


static const llmr_name_t  llmr_roles[] = {
    llmr_name("user", LLMR_R_USER, 0),
    llmr_name("assistant", LLMR_R_ASSISTANT, 0),
    llmr_name("model", LLMR_R_ASSISTANT, LLMR_FMT_GEMINI),
    llmr_name("system", LLMR_R_SYSTEM, LLMR_FMT_OPENAI_CHAT),
    llmr_name("developer", LLMR_R_SYSTEM, LLMR_FMT_OPENAI_CHAT),
    llmr_name("tool", LLMR_R_TOOL, LLMR_FMT_OPENAI_CHAT),
    llmr_name("function", LLMR_R_TOOL, LLMR_FMT_OPENAI_CHAT),
    llmr_name_end(LLMR_R_OTHER)
};


static const llmr_name_t  llmr_part_types[] = {
    llmr_name("text", LLMR_P_TEXT, 0),
    llmr_name("image_url", LLMR_P_IMAGE, LLMR_FMT_OPENAI_CHAT),
    llmr_name("image", LLMR_P_IMAGE, LLMR_FMT_ANTHROPIC),
    llmr_name("tool_result", LLMR_P_TOOL_RESULT, LLMR_FMT_ANTHROPIC),
    llmr_name("tool_use", LLMR_P_MEDIA, LLMR_FMT_ANTHROPIC),
    llmr_name("document", LLMR_P_MEDIA, LLMR_FMT_ANTHROPIC),
    llmr_name("thinking", LLMR_P_MEDIA, LLMR_FMT_ANTHROPIC),
    llmr_name("redacted_thinking", LLMR_P_MEDIA, LLMR_FMT_ANTHROPIC),
    llmr_name("input_audio", LLMR_P_MEDIA, LLMR_FMT_OPENAI_CHAT),
    llmr_name("file", LLMR_P_MEDIA, LLMR_FMT_OPENAI_CHAT),
    llmr_name("input_text", LLMR_P_TEXT, LLMR_FMT_OPENAI_RESPONSES),
    llmr_name("output_text", LLMR_P_TEXT, LLMR_FMT_OPENAI_RESPONSES),
    llmr_name("input_image", LLMR_P_IMAGE, LLMR_FMT_OPENAI_RESPONSES),
    llmr_name_end(LLMR_P_MEDIA)
};


static const char  *llmr_format_names[LLMR_FMT_N] = {
    "unknown", "openai_chat", "openai_completions", "openai_responses",
    "anthropic", "gemini"
};


static const llmr_name_t  llmr_key_other = llmr_name("?", LLMR_K_OTHER, 0);


static const llmr_name_t *
llmr_key(const unsigned char *s, size_t len)
{
    const llmr_name_t  *k;

    if (len >= sizeof(llmr_keys) / sizeof(llmr_keys[0])) {
        return &llmr_key_other;
    }

    k = llmr_keys[len];

    if (k == NULL) {
        return &llmr_key_other;
    }

    for ( /* void */ ; k->name; k++) {
        if (k->name[0] == s[0] && memcmp(k->name, s, len) == 0) {
            return k;
        }
    }

    return &llmr_key_other;
}


/* the entry matching s; the NULL-named sentinel when none does */

static const llmr_name_t *
llmr_lookup(const llmr_name_t *names, const unsigned char *s, size_t len)
{
    for ( /* void */ ; names->name; names++) {
        if (names->len == len && memcmp(names->name, s, len) == 0) {
            break;
        }
    }

    return names;
}


static int
llmr_is(const unsigned char *s, size_t len, const char *lit, size_t n)
{
    return len == n && memcmp(s, lit, n) == 0;
}


static void
llmr_clue(llmr_extract_t *x, unsigned fmt)
{
    switch (fmt) {

    case LLMR_FMT_OPENAI_CHAT:
        x->clue_openai++;
        break;

    case LLMR_FMT_ANTHROPIC:
        x->clue_anthropic++;
        break;

    case LLMR_FMT_GEMINI:
        x->clue_gemini++;
        break;

    case LLMR_FMT_OPENAI_RESPONSES:
        x->clue_responses++;
        break;
    }
}


static int
llmr_fail(llmr_extract_t *x, int err, const char *fmt, ...)
{
    va_list  ap;

    if (x->err == LLMR_EXTRACT_E_NONE) {
        x->err = err;

        va_start(ap, fmt);
        vsnprintf(x->errbuf, sizeof(x->errbuf), fmt, ap);
        va_end(ap);
    }

    /* the value yajl callbacks return to stop the parse */
    return 0;
}


static off_t
llmr_offset(llmr_extract_t *x)
{
    return llmr_json_offset(&x->json);
}


/*
 * Appends len bytes of s (whose full size is full) to b, after a "\n" when
 * b holds text already.  Text beyond the cap is counted, not kept, and the
 * cut never splits a UTF-8 sequence.
 */

static void
llmr_buf_add(llmr_buf_t *b, const unsigned char *s, size_t len, size_t full)
{
    size_t  room, sep, n;

    if (full == 0) {
        return;
    }

    sep = (b->full > 0);

    if (b->len < b->full) {
        /* truncated already: keep counting only */
        b->full += sep + full;
        return;
    }

    b->full += sep + full;
    room = b->cap - b->len;

    if (sep) {
        if (room == 0) {
            return;
        }

        b->data[b->len++] = '\n';
        room--;
    }

    n = (len < room) ? len : room;

    if (n < len) {
        while (n > 0 && (s[n] & 0xc0) == 0x80) {
            n--;
        }
    }

    if (n == 0 && sep) {
        /* no dangling separator */
        b->len--;
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;
}


/* the length of b cut at cap, on a UTF-8 sequence boundary */

static size_t
llmr_buf_cut(llmr_buf_t *b, size_t cap)
{
    size_t  n;

    if (b->len <= cap) {
        return b->len;
    }

    n = cap;

    while (n > 0 && (b->data[n] & 0xc0) == 0x80) {
        n--;
    }

    return n;
}


static void
llmr_buf_clear(llmr_buf_t *b)
{
    b->len = 0;
    b->full = 0;
}


static void
llmr_text(llmr_extract_t *x, unsigned dest, const unsigned char *s,
    size_t len)
{
    x->req.text_bytes += len;

    switch (dest) {

    case LLMR_D_MESSAGE:
        llmr_buf_add(&x->msg, s, len, len);
        break;

    case LLMR_D_SYSTEM:
        llmr_buf_add(&x->system, s, len, len);
        break;

    default: /* LLMR_D_TOOL */
        break;
    }
}


static void
llmr_message_start(llmr_extract_t *x)
{
    x->role = LLMR_R_NONE;
    x->item = LLMR_I_NONE;
    x->own = 0;
    x->tool = 0;
    llmr_buf_clear(&x->msg);
}


/*
 * A message is complete: its role is known now whatever the key order
 * was, so its buffered text goes where it belongs.
 */

static void
llmr_message_end(llmr_extract_t *x)
{
    unsigned     role;
    llmr_buf_t   b;

    role = x->role;

    if (x->item == LLMR_I_OUTPUT) {
        x->req.tool_results++;
        llmr_buf_clear(&x->msg);
        return;
    }

    if (role == LLMR_R_NONE) {
        role = (x->item == LLMR_I_OTHER) ? LLMR_R_OTHER : LLMR_R_USER;
    }

    if (role == LLMR_R_USER && x->tool && !x->own) {
        /* anthropic and gemini send tool results as user messages */
        role = LLMR_R_OTHER;
    }

    switch (role) {

    case LLMR_R_USER:
        if (x->req.user_turns > 0) {
            llmr_buf_add(&x->history, x->last_user.data, x->last_user.len,
                         x->last_user.len);
        }

        llmr_buf_add(&x->history, x->pending.data, x->pending.len,
                     x->pending.len);
        llmr_buf_clear(&x->pending);

        /*
         * The message buffer becomes the last user turn, no copy.  It is
         * cut at max_user_text only in the view: history may want more.
         */
        b = x->last_user;
        x->last_user = x->msg;
        x->msg = b;

        x->req.last_user_bytes = x->last_user.full;
        x->req.user_turns++;
        break;

    case LLMR_R_ASSISTANT:
        llmr_buf_add(&x->pending, x->msg.data, x->msg.len, x->msg.full);
        x->req.assistant_turns++;
        break;

    case LLMR_R_SYSTEM:
        llmr_buf_add(&x->system, x->msg.data, x->msg.len, x->msg.full);
        break;

    case LLMR_R_TOOL:
        if (!x->tool) {
            x->req.tool_results++;
        }

        break;

    default:
        break;
    }

    llmr_buf_clear(&x->msg);
}


/* "prompt": "..." and "input": "..." are one user turn each */

static int
llmr_user_prompt(llmr_extract_t *x, const unsigned char *s, size_t len)
{
    if (++x->req.messages > x->conf.max_messages) {
        return llmr_fail(x, LLMR_EXTRACT_E_LIMIT, "more than %u messages",
                         x->conf.max_messages);
    }

    x->prompt_items++;

    llmr_message_start(x);
    x->role = LLMR_R_USER;
    x->own = 1;
    llmr_text(x, LLMR_D_MESSAGE, s, len);
    llmr_message_end(x);

    return 1;
}


static int
llmr_push(llmr_extract_t *x, unsigned kind, unsigned dest)
{
    llmr_frame_t  *f;

    if (x->nframes == LLMR_FRAMES_MAX) {
        x->json.skip = 1;
        return 1;
    }

    f = &x->frames[x->nframes++];

    f->kind = (unsigned char) kind;
    f->dest = (unsigned char) dest;
    f->type = LLMR_P_NONE;
    f->flags = 0;
    f->n = 0;

    return 1;
}


/* a value nobody needs: containers are skipped as a whole */

static int
llmr_ignore(llmr_extract_t *x, int vt)
{
    return llmr_json_skip(&x->json, vt);
}


static int
llmr_max_tokens(llmr_extract_t *x, int vt, const unsigned char *s,
    size_t len)
{
    size_t   i;
    int64_t  v;

    if (vt == LLMR_V_NULL) {
        return 1;
    }

    if (vt != LLMR_V_NUMBER || len == 0 || len > LLMR_TOKENS_DIGITS_MAX) {
        goto invalid;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            goto invalid;
        }

        v = v * 10 + (s[i] - '0');
    }

    if (x->key == LLMR_K_MAX_COMPLETION_TOKENS) {
        x->seen_max_completion = 1;

    } else if (x->key == LLMR_K_MAX_TOKENS && x->seen_max_completion) {
        /* max_completion_tokens supersedes the legacy max_tokens */
        return 1;
    }

    x->req.max_tokens = v;

    return 1;

invalid:

    return llmr_fail(x, LLMR_EXTRACT_E_TYPE,
                     "\"%s\" must be a non-negative integer", x->key_name);
}


static int
llmr_type_error(llmr_extract_t *x, const char *what)
{
    return llmr_fail(x, LLMR_EXTRACT_E_TYPE, "\"%s\" must be %s",
                     x->key_name, what);
}


/* a top-level key that sets how to answer, not what the prompt is */

static int
llmr_top_option(llmr_extract_t *x, int vt, const unsigned char *s,
    size_t len)
{
    switch (x->key) {

    case LLMR_K_MAX_TOKENS:
    case LLMR_K_MAX_COMPLETION_TOKENS:
    case LLMR_K_MAX_OUTPUT_TOKENS:
        return llmr_max_tokens(x, vt, s, len);

    case LLMR_K_STREAM:
        if (vt == LLMR_V_BOOL) {
            x->req.stream = (len != 0);
            return 1;
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "a boolean");

    case LLMR_K_STREAM_OPTIONS:
        if (vt == LLMR_V_MAP) {
            x->req.has_stream_options = 1;
            x->req.stream_options_start = llmr_offset(x);
            return llmr_push(x, LLMR_F_STREAM_OPTIONS, 0);
        }

        if (vt == LLMR_V_NULL) {
            /* present, but nothing to insert into: see rewrite */
            x->req.has_stream_options = 1;
            return 1;
        }

        return llmr_type_error(x, "an object");

    case LLMR_K_RESPONSE_FORMAT:
        if (vt == LLMR_V_MAP) {
            return llmr_push(x, LLMR_F_RESPONSE_FORMAT, 0);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "an object");

    case LLMR_K_TEXT:
        if (vt == LLMR_V_MAP) {
            return llmr_push(x, LLMR_F_TEXT_CONFIG, 0);
        }

        return llmr_ignore(x, vt);

    case LLMR_K_REASONING_EFFORT:
        if (vt == LLMR_V_STRING) {
            x->req.reasoning = !llmr_is(s, len, "none", 4);
            return 1;
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "a string");

    case LLMR_K_REASONING:
    case LLMR_K_THINKING:
        if (vt == LLMR_V_MAP) {
            return llmr_push(x, LLMR_F_REASONING, 0);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "an object");

    case LLMR_K_GENERATION_CONFIG:
        if (vt == LLMR_V_MAP) {
            return llmr_push(x, LLMR_F_GENERATION_CONFIG, 0);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "an object");

    default:
        return llmr_ignore(x, vt);
    }
}


/* a top-level key: the model, the prompt and the tools here */

static int
llmr_top_value(llmr_extract_t *x, int vt, const unsigned char *s,
    size_t len)
{
    switch (x->key) {

    case LLMR_K_MODEL:
        if (vt != LLMR_V_STRING) {
            return llmr_type_error(x, "a string");
        }

        if (len > LLMR_EXTRACT_MODEL_MAX) {
            return llmr_fail(x, LLMR_EXTRACT_E_TYPE, "\"model\" is too long");
        }

        memcpy(x->model, s, len);
        x->req.model.data = x->model;
        x->req.model.len = len;
        x->req.has_model = 1;
        x->req.model_end = llmr_offset(x);
        return 1;

    case LLMR_K_MESSAGES:
    case LLMR_K_CONTENTS:
        if (x->prompt_key == LLMR_K_OTHER) {
            x->prompt_key = x->key;
        }

        if (vt == LLMR_V_ARRAY) {
            return llmr_push(x, LLMR_F_MESSAGES, 0);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "an array");

    case LLMR_K_INPUT:
    case LLMR_K_PROMPT:
        if (x->prompt_key == LLMR_K_OTHER) {
            x->prompt_key = x->key;
        }

        if (vt == LLMR_V_STRING) {
            return llmr_user_prompt(x, s, len);
        }

        if (vt == LLMR_V_ARRAY) {
            return llmr_push(x, (x->key == LLMR_K_INPUT) ? LLMR_F_MESSAGES
                                                         : LLMR_F_PROMPT, 0);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, (x->key == LLMR_K_INPUT)
                                  ? "a string or an array"
                                  : "a string or an array of strings");

    case LLMR_K_SYSTEM:
        if (vt == LLMR_V_STRING) {
            llmr_text(x, LLMR_D_SYSTEM, s, len);
            return 1;
        }

        if (vt == LLMR_V_ARRAY) {
            return llmr_push(x, LLMR_F_CONTENT, LLMR_D_SYSTEM);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "a string or an array");

    case LLMR_K_INSTRUCTIONS:
        if (vt == LLMR_V_STRING) {
            llmr_text(x, LLMR_D_SYSTEM, s, len);
            return 1;
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "a string");

    case LLMR_K_SYSTEM_INSTRUCTION:
        if (vt == LLMR_V_MAP) {
            return llmr_push(x, LLMR_F_SYSINSTR, LLMR_D_SYSTEM);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "an object");

    case LLMR_K_TOOLS:
    case LLMR_K_FUNCTIONS:
        if (vt == LLMR_V_ARRAY) {
            return llmr_push(x, LLMR_F_TOOLS, 0);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "an array");

    default:
        return llmr_top_option(x, vt, s, len);
    }
}


static int
llmr_message_value(llmr_extract_t *x, int vt, const unsigned char *s,
    size_t len)
{
    const llmr_name_t  *n;

    switch (x->key) {

    case LLMR_K_ROLE:
        if (vt == LLMR_V_STRING) {
            n = llmr_lookup(llmr_roles, s, len);
            x->role = n->id;
            llmr_clue(x, n->clue);
            return 1;
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "a string");

    case LLMR_K_CONTENT:
        if (vt == LLMR_V_STRING) {
            x->own = 1;
            llmr_text(x, LLMR_D_MESSAGE, s, len);
            return 1;
        }

        if (vt == LLMR_V_ARRAY) {
            return llmr_push(x, LLMR_F_CONTENT, LLMR_D_MESSAGE);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "a string or an array");

    case LLMR_K_PARTS:
        if (vt == LLMR_V_ARRAY) {
            return llmr_push(x, LLMR_F_CONTENT, LLMR_D_MESSAGE);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "an array");

    case LLMR_K_TYPE:
        if (vt != LLMR_V_STRING) {
            return llmr_type_error(x, "a string");
        }

        if (llmr_is(s, len, "message", 7)) {
            x->item = LLMR_I_MESSAGE;

        } else if (len >= 7 && memcmp(s + len - 7, "_output", 7) == 0) {
            x->item = LLMR_I_OUTPUT;

        } else {
            x->item = LLMR_I_OTHER;
        }

        return 1;

    case LLMR_K_OUTPUT:
        if (vt == LLMR_V_STRING) {
            llmr_text(x, LLMR_D_TOOL, s, len);
            return 1;
        }

        if (vt == LLMR_V_ARRAY) {
            return llmr_push(x, LLMR_F_CONTENT, LLMR_D_TOOL);
        }

        return llmr_ignore(x, vt);

    default:
        return llmr_ignore(x, vt);
    }
}


static int
llmr_part_value(llmr_extract_t *x, llmr_frame_t *f, int vt,
    const unsigned char *s, size_t len)
{
    const llmr_name_t  *n;

    switch (x->key) {

    case LLMR_K_TYPE:
        if (vt != LLMR_V_STRING) {
            return llmr_type_error(x, "a string");
        }

        n = llmr_lookup(llmr_part_types, s, len);
        f->type = n->id;
        llmr_clue(x, n->clue);
        return 1;

    case LLMR_K_TEXT:
        if (vt == LLMR_V_STRING) {
            f->flags |= LLMR_PART_TEXT;
            llmr_text(x, f->dest, s, len);
            return 1;
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "a string");

    case LLMR_K_CONTENT:
        /* the content of a tool_result block; never nested further */
        if (f->dest == LLMR_D_TOOL) {
            return llmr_ignore(x, vt);
        }

        if (vt == LLMR_V_STRING) {
            llmr_text(x, LLMR_D_TOOL, s, len);
            return 1;
        }

        if (vt == LLMR_V_ARRAY) {
            return llmr_push(x, LLMR_F_CONTENT, LLMR_D_TOOL);
        }

        return llmr_ignore(x, vt);

    case LLMR_K_INLINE_DATA:
    case LLMR_K_FILE_DATA:
        if (vt != LLMR_V_MAP) {
            return llmr_ignore(x, vt);
        }

        if (f->type == LLMR_P_NONE) {
            f->type = LLMR_P_BLOB;
        }

        return llmr_push(x, LLMR_F_BLOB, f->dest);

    case LLMR_K_FUNCTION_CALL:
        if (f->type == LLMR_P_NONE) {
            f->type = LLMR_P_MEDIA;
        }

        return llmr_ignore(x, vt);

    case LLMR_K_FUNCTION_RESPONSE:
        f->type = LLMR_P_TOOL_RESULT;
        return llmr_ignore(x, vt);

    default:
        return llmr_ignore(x, vt);
    }
}


/* an item of "messages", "contents" or "input": a message starts */

static int
llmr_message_item(llmr_extract_t *x, int vt)
{
    if (vt != LLMR_V_MAP) {
        return llmr_fail(x, LLMR_EXTRACT_E_TYPE,
                         "a message must be an object");
    }

    if (++x->req.messages > x->conf.max_messages) {
        return llmr_fail(x, LLMR_EXTRACT_E_LIMIT,
                         "more than %u messages", x->conf.max_messages);
    }

    x->prompt_items++;
    llmr_message_start(x);
    return llmr_push(x, LLMR_F_MESSAGE, 0);
}


/* an item of a content array: a part starts */

static int
llmr_part_item(llmr_extract_t *x, llmr_frame_t *f, int vt)
{
    if (vt != LLMR_V_MAP) {
        return llmr_fail(x, LLMR_EXTRACT_E_TYPE,
                         "a content part must be an object");
    }

    if (++x->req.parts > x->conf.max_parts) {
        return llmr_fail(x, LLMR_EXTRACT_E_LIMIT,
                         "more than %u content parts",
                         x->conf.max_parts);
    }

    return llmr_push(x, LLMR_F_PART, f->dest);
}


/* "generationConfig": Gemini's output length, format and thinking */

static int
llmr_generation_value(llmr_extract_t *x, int vt, const unsigned char *s,
    size_t len)
{
    switch (x->key) {

    case LLMR_K_MAX_OUTPUT_TOKENS:
        return llmr_max_tokens(x, vt, s, len);

    case LLMR_K_RESPONSE_MIME_TYPE:
        if (vt == LLMR_V_STRING
            && llmr_is(s, len, "application/json", 16))
        {
            x->req.json_output = 1;
        }

        return llmr_ignore(x, vt);

    case LLMR_K_RESPONSE_SCHEMA:
        if (vt != LLMR_V_NULL) {
            x->req.json_output = 1;
        }

        return llmr_ignore(x, vt);

    case LLMR_K_THINKING_CONFIG:
        if (vt == LLMR_V_MAP) {
            return llmr_push(x, LLMR_F_REASONING, 0);
        }

        return llmr_ignore(x, vt);

    default:
        return llmr_ignore(x, vt);
    }
}


/* a value in an object that says how to answer: usage, format, reasoning */

static int
llmr_option_value(llmr_extract_t *x, llmr_frame_t *f, int vt,
    const unsigned char *s, size_t len)
{
    switch (f->kind) {

    case LLMR_F_STREAM_OPTIONS:
        if (x->key != LLMR_K_INCLUDE_USAGE) {
            return llmr_ignore(x, vt);
        }

        if (vt == LLMR_V_BOOL) {
            x->req.include_usage = (len != 0);
            x->req.has_include_usage = 1;
            return 1;
        }

        if (vt == LLMR_V_NULL) {
            x->req.has_include_usage = 1;
            return 1;
        }

        return llmr_type_error(x, "a boolean");

    case LLMR_F_TEXT_CONFIG:
        if (x->key == LLMR_K_FORMAT && vt == LLMR_V_MAP) {
            return llmr_push(x, LLMR_F_RESPONSE_FORMAT, 0);
        }

        return llmr_ignore(x, vt);

    case LLMR_F_RESPONSE_FORMAT:
        if (x->key == LLMR_K_TYPE && vt == LLMR_V_STRING
            && (llmr_is(s, len, "json_object", 11)
                || llmr_is(s, len, "json_schema", 11)))
        {
            x->req.json_output = 1;
        }

        return llmr_ignore(x, vt);

    case LLMR_F_REASONING:
        if ((x->key == LLMR_K_TYPE && vt == LLMR_V_STRING
             && llmr_is(s, len, "disabled", 8))
            || (x->key == LLMR_K_EFFORT && vt == LLMR_V_STRING
                && llmr_is(s, len, "none", 4))
            || (x->key == LLMR_K_THINKING_BUDGET && vt == LLMR_V_NUMBER
                && llmr_is(s, len, "0", 1)))
        {
            f->flags |= LLMR_REASONING_OFF;
        }

        return llmr_ignore(x, vt);

    case LLMR_F_GENERATION_CONFIG:
        return llmr_generation_value(x, vt, s, len);

    default:
        return llmr_ignore(x, vt);
    }
}


static int
llmr_value(llmr_extract_t *x, int vt, const unsigned char *s, size_t len)
{
    llmr_frame_t  *f;

    if (x->nframes == 0) {
        if (vt != LLMR_V_MAP) {
            return llmr_fail(x, LLMR_EXTRACT_E_TYPE,
                             "the body must be a JSON object");
        }

        x->req.object_start = llmr_offset(x);
        return llmr_push(x, LLMR_F_TOP, 0);
    }

    f = &x->frames[x->nframes - 1];

    switch (f->kind) {

    case LLMR_F_TOP:
        return llmr_top_value(x, vt, s, len);

    case LLMR_F_MESSAGES:
        return llmr_message_item(x, vt);

    case LLMR_F_MESSAGE:
        return llmr_message_value(x, vt, s, len);

    case LLMR_F_CONTENT:
        return llmr_part_item(x, f, vt);

    case LLMR_F_PART:
        return llmr_part_value(x, f, vt, s, len);

    case LLMR_F_BLOB:
        if (x->key == LLMR_K_MIME_TYPE && vt == LLMR_V_STRING
            && !(len >= 6 && memcmp(s, "image/", 6) == 0))
        {
            f->flags |= LLMR_BLOB_MEDIA;
        }

        return llmr_ignore(x, vt);

    case LLMR_F_SYSINSTR:
        if (x->key != LLMR_K_PARTS) {
            return llmr_ignore(x, vt);
        }

        if (vt == LLMR_V_ARRAY) {
            return llmr_push(x, LLMR_F_CONTENT, LLMR_D_SYSTEM);
        }

        if (vt == LLMR_V_NULL) {
            return 1;
        }

        return llmr_type_error(x, "an array");

    case LLMR_F_PROMPT:
        if (vt != LLMR_V_STRING) {
            return llmr_fail(x, LLMR_EXTRACT_E_TYPE,
                             "\"prompt\" must be a string or an array of "
                             "strings");
        }

        f->n++;
        llmr_text(x, LLMR_D_MESSAGE, s, len);
        return 1;

    case LLMR_F_TOOLS:
        if (vt == LLMR_V_MAP) {
            return llmr_push(x, LLMR_F_TOOL, 0);
        }

        x->req.tools++;
        return llmr_ignore(x, vt);

    case LLMR_F_TOOL:
        if (x->key == LLMR_K_FUNCTION_DECLARATIONS && vt == LLMR_V_ARRAY) {
            f->flags |= LLMR_TOOL_DECLS;
            return llmr_push(x, LLMR_F_DECLS, 0);
        }

        return llmr_ignore(x, vt);

    case LLMR_F_DECLS:
        x->frames[x->nframes - 2].n++;
        return llmr_ignore(x, vt);

    default:
        return llmr_option_value(x, f, vt, s, len);
    }
}


static int
llmr_pop(llmr_extract_t *x)
{
    llmr_frame_t  *f, *p;

    f = &x->frames[--x->nframes];
    p = (x->nframes > 0) ? &x->frames[x->nframes - 1] : NULL;

    switch (f->kind) {

    case LLMR_F_TOP:
        x->req.empty_object = !(f->flags & LLMR_FRAME_KEYS);
        break;

    case LLMR_F_MESSAGE:
        llmr_message_end(x);
        break;

    case LLMR_F_PART:
        if (f->type == LLMR_P_NONE && (f->flags & LLMR_PART_TEXT)) {
            f->type = LLMR_P_TEXT;
        }

        switch (f->type) {

        case LLMR_P_IMAGE:
            x->req.images++;
            break;

        case LLMR_P_TOOL_RESULT:
            x->req.tool_results++;
            break;

        case LLMR_P_MEDIA:
            x->media++;
            break;
        }

        if (f->dest == LLMR_D_MESSAGE) {
            if (f->type == LLMR_P_TOOL_RESULT) {
                x->tool = 1;

            } else if (f->type != LLMR_P_NONE) {
                x->own = 1;
            }
        }

        break;

    case LLMR_F_BLOB:
        if (p->type == LLMR_P_BLOB) {
            p->type = (f->flags & LLMR_BLOB_MEDIA) ? LLMR_P_MEDIA
                                                   : LLMR_P_IMAGE;
        }

        break;

    case LLMR_F_PROMPT:
        if (f->n == 0) {
            break;
        }

        if (++x->req.messages > x->conf.max_messages) {
            return llmr_fail(x, LLMR_EXTRACT_E_LIMIT,
                             "more than %u messages", x->conf.max_messages);
        }

        x->prompt_items++;
        x->role = LLMR_R_USER;
        x->item = LLMR_I_NONE;
        x->own = 1;
        x->tool = 0;
        llmr_message_end(x);
        break;

    case LLMR_F_TOOL:
        x->req.tools += (f->flags & LLMR_TOOL_DECLS) ? f->n : 1;
        break;

    case LLMR_F_STREAM_OPTIONS:
        x->req.empty_stream_options = !(f->flags & LLMR_FRAME_KEYS);
        break;

    case LLMR_F_REASONING:
        if (!(f->flags & LLMR_REASONING_OFF)) {
            x->req.reasoning = 1;
        }

        break;

    default:
        break;
    }

    return 1;
}

static int
llmr_on_value(void *ctx, int vt, const unsigned char *s, size_t len)
{
    return llmr_value(ctx, vt, s, len);
}


static int
llmr_on_key(void *ctx, const unsigned char *s, size_t len)
{
    llmr_frame_t       *f;
    llmr_extract_t     *x = ctx;
    const llmr_name_t  *k;

    f = &x->frames[x->nframes - 1];
    f->flags |= LLMR_FRAME_KEYS;

    k = llmr_key(s, len);
    x->key = k->id;
    x->key_name = k->name;

    if (k->clue) {
        llmr_clue(x, k->clue);
    }

    if (f->kind != LLMR_F_TOP) {
        return 1;
    }

    if (k->id == LLMR_K_MODEL) {
        if (x->seen_model) {
            return llmr_fail(x, LLMR_EXTRACT_E_JSON,
                             "duplicate \"model\" key at byte %lld",
                             (long long) llmr_offset(x));
        }

        x->seen_model = 1;
        x->req.model_key_end = llmr_offset(x);

    } else if (k->id == LLMR_K_STREAM_OPTIONS) {
        if (x->seen_stream_options) {
            return llmr_fail(x, LLMR_EXTRACT_E_JSON,
                             "duplicate \"stream_options\" key at byte %lld",
                             (long long) llmr_offset(x));
        }

        x->seen_stream_options = 1;
    }

    return 1;
}


static int
llmr_on_end(void *ctx)
{
    return llmr_pop(ctx);
}


void
llmr_extract_conf_init(llmr_extract_conf_t *conf)
{
    conf->format_hint = LLMR_FMT_UNKNOWN;
    conf->max_depth = LLMR_DEFAULT_DEPTH;
    conf->max_messages = LLMR_DEFAULT_MESSAGES;
    conf->max_parts = LLMR_DEFAULT_PARTS;
    conf->max_user_text = LLMR_DEFAULT_USER_TEXT;
    conf->max_system_text = LLMR_DEFAULT_SYSTEM_TEXT;
    conf->max_history_text = LLMR_DEFAULT_HISTORY_TEXT;
    conf->yajl_strings = 0;
}


llmr_extract_t *
llmr_extract_create(const llmr_extract_conf_t *conf)
{
    size_t            cap, size;
    unsigned char    *p;
    llmr_extract_t   *x;
    llmr_json_conf_t  jc;

    x = calloc(1, sizeof(llmr_extract_t));
    if (x == NULL) {
        return NULL;
    }

    if (conf) {
        x->conf = *conf;

    } else {
        llmr_extract_conf_init(&x->conf);
    }

    /* a message's role may come last: its text waits in msg */
    cap = x->conf.max_user_text;

    if (cap < x->conf.max_system_text) {
        cap = x->conf.max_system_text;
    }

    if (cap < x->conf.max_history_text) {
        cap = x->conf.max_history_text;
    }

    x->msg_cap = cap;

    jc.strings = x->conf.yajl_strings ? LLMR_JSON_STRINGS_YAJL
                                      : LLMR_JSON_STRINGS_EXACT;
    jc.max_depth = x->conf.max_depth;
    jc.blocks = LLMR_EXTRACT_BLOCKS;
    jc.validate = 1;
    jc.multiple = 0;

    llmr_json_init(&x->json, &jc, &llmr_handler, x);

    size = 2 * cap + x->conf.max_system_text
           + 2 * x->conf.max_history_text;

    x->text = malloc(size + 1);
    if (x->text == NULL) {
        free(x);
        return NULL;
    }

    p = x->text;

    x->msg.data = p;
    x->msg.cap = cap;
    p += cap;

    x->last_user.data = p;
    x->last_user.cap = cap;
    p += cap;

    x->system.data = p;
    x->system.cap = x->conf.max_system_text;
    p += x->conf.max_system_text;

    x->history.data = p;
    x->history.cap = x->conf.max_history_text;
    p += x->conf.max_history_text;

    x->pending.data = p;
    x->pending.cap = x->conf.max_history_text;

    llmr_extract_reset(x, x->conf.format_hint);

    return x;
}


void
llmr_extract_reset(llmr_extract_t *x, int format_hint)
{
    llmr_json_reset(&x->json);

    memset(&x->req, 0, sizeof(llmr_request_t));

    if (format_hint < LLMR_FMT_UNKNOWN || format_hint >= LLMR_FMT_N) {
        format_hint = LLMR_FMT_UNKNOWN;
    }

    x->conf.format_hint = format_hint;

    x->req.format = format_hint;
    x->req.max_tokens = -1;
    x->req.model_key_end = -1;
    x->req.model_end = -1;
    x->req.object_start = -1;
    x->req.stream_options_start = -1;

    x->nframes = 0;
    x->key = LLMR_K_OTHER;
    x->key_name = "?";
    x->err = LLMR_EXTRACT_E_NONE;
    x->finished = 0;
    x->seen_model = 0;
    x->seen_stream_options = 0;
    x->seen_max_completion = 0;

    x->role = LLMR_R_NONE;
    x->item = LLMR_I_NONE;
    x->own = 0;
    x->tool = 0;

    x->prompt_key = LLMR_K_OTHER;
    x->clue_openai = 0;
    x->clue_anthropic = 0;
    x->clue_gemini = 0;
    x->clue_responses = 0;
    x->prompt_items = 0;
    x->media = 0;

    llmr_buf_clear(&x->msg);
    llmr_buf_clear(&x->last_user);
    llmr_buf_clear(&x->system);
    llmr_buf_clear(&x->history);
    llmr_buf_clear(&x->pending);

    x->errbuf[0] = '\0';
}


static void
llmr_views(llmr_extract_t *x)
{
    x->req.last_user.data = (const char *) x->last_user.data;
    x->req.last_user.len = llmr_buf_cut(&x->last_user,
                                        x->conf.max_user_text);
    x->req.system.data = (const char *) x->system.data;
    x->req.system.len = x->system.len;
    x->req.system_bytes = x->system.full;
    x->req.history.data = (const char *) x->history.data;
    x->req.history.len = x->history.len;
}


/* the reader stopped: the semantics said why, or the reader does */

static int
llmr_json_failed(llmr_extract_t *x)
{
    int  err;

    llmr_views(x);

    if (x->err) {
        return LLMR_ERROR;
    }

    switch (x->json.err) {

    case LLMR_JSON_E_UTF8:
        err = LLMR_EXTRACT_E_UTF8;
        break;

    case LLMR_JSON_E_DEPTH:
        err = LLMR_EXTRACT_E_DEPTH;
        break;

    case LLMR_JSON_E_NOMEM:
        err = LLMR_EXTRACT_E_NOMEM;
        break;

    default:
        err = LLMR_EXTRACT_E_JSON;
    }

    llmr_fail(x, err, "%s", x->json.errbuf);

    return LLMR_ERROR;
}


int
llmr_extract_feed(llmr_extract_t *x, const unsigned char *data, size_t len)
{
    if (x->err) {
        return LLMR_ERROR;
    }

    if (x->finished) {
        llmr_fail(x, LLMR_EXTRACT_E_JSON, "data fed after the end");
        return LLMR_ERROR;
    }

    x->req.body_bytes += len;

    if (llmr_json_feed(&x->json, data, len) != LLMR_OK) {
        return llmr_json_failed(x);
    }

    return LLMR_OK;
}


int
llmr_extract_finish(llmr_extract_t *x)
{
    if (x->err) {
        return LLMR_ERROR;
    }

    if (x->finished) {
        return LLMR_OK;
    }

    x->finished = 1;

    if (x->req.body_bytes == 0) {
        llmr_fail(x, LLMR_EXTRACT_E_JSON, "empty body");
        return LLMR_ERROR;
    }

    if (llmr_json_finish(&x->json) != LLMR_OK) {
        return llmr_json_failed(x);
    }

    /* assistant turns after the last user turn */
    llmr_buf_add(&x->history, x->pending.data, x->pending.len,
                 x->pending.len);
    llmr_buf_clear(&x->pending);

    llmr_views(x);

    if (x->req.format == LLMR_FMT_UNKNOWN) {
        switch (x->prompt_key) {

        case LLMR_K_MESSAGES:
            x->req.format = (x->clue_anthropic > x->clue_openai)
                            ? LLMR_FMT_ANTHROPIC : LLMR_FMT_OPENAI_CHAT;
            break;

        case LLMR_K_CONTENTS:
            x->req.format = LLMR_FMT_GEMINI;
            break;

        case LLMR_K_INPUT:
            x->req.format = LLMR_FMT_OPENAI_RESPONSES;
            break;

        case LLMR_K_PROMPT:
            x->req.format = LLMR_FMT_OPENAI_COMPLETIONS;
            break;

        default:
            if (x->clue_gemini) {
                x->req.format = LLMR_FMT_GEMINI;

            } else if (x->clue_responses) {
                x->req.format = LLMR_FMT_OPENAI_RESPONSES;

            } else if (x->clue_anthropic) {
                x->req.format = LLMR_FMT_ANTHROPIC;

            } else if (x->clue_openai) {
                x->req.format = LLMR_FMT_OPENAI_CHAT;
            }
        }
    }

    if (x->prompt_items == 0
        || (x->req.text_bytes == 0 && x->req.images == 0
            && x->req.tool_results == 0 && x->media == 0))
    {
        llmr_fail(x, LLMR_EXTRACT_E_EMPTY, "no prompt text");
        return LLMR_ERROR;
    }

    return LLMR_OK;
}


const llmr_request_t *
llmr_extract_result(const llmr_extract_t *x)
{
    return &x->req;
}


int
llmr_extract_errcode(const llmr_extract_t *x)
{
    return x->err;
}


const char *
llmr_extract_error(const llmr_extract_t *x)
{
    if (x->err == LLMR_EXTRACT_E_NONE) {
        return "no error";
    }

    return x->errbuf;
}


void
llmr_extract_destroy(llmr_extract_t *x)
{
    if (x == NULL) {
        return;
    }

    llmr_json_free(&x->json);
    free(x->text);
    free(x);
}


/*
 * "/v1/chat/completions", "/openai/deployments/d/chat/completions?api=1",
 * "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", ...
 */

static int
llmr_path_ends(const char *p, size_t len, const char *s, size_t n)
{
    if (len >= n && memcmp(p + len - n, s, n) == 0) {
        return 1;
    }

    /* "chat/completions" without the leading slash */
    return s[0] == '/' && len == n - 1 && memcmp(p, s + 1, n - 1) == 0;
}


int
llmr_format_from_path(const char *path, size_t len)
{
    const char  *q;

    q = memchr(path, '?', len);

    if (q) {
        len = q - path;
    }

    while (len > 1 && path[len - 1] == '/') {
        len--;
    }

    if (llmr_path_ends(path, len, ":generateContent", 16)
        || llmr_path_ends(path, len, ":streamGenerateContent", 22))
    {
        return LLMR_FMT_GEMINI;
    }

    if (llmr_path_ends(path, len, "/chat/completions", 17)) {
        return LLMR_FMT_OPENAI_CHAT;
    }

    if (llmr_path_ends(path, len, "/completions", 12)) {
        return LLMR_FMT_OPENAI_COMPLETIONS;
    }

    if (llmr_path_ends(path, len, "/responses", 10)) {
        return LLMR_FMT_OPENAI_RESPONSES;
    }

    if (llmr_path_ends(path, len, "/messages", 9)) {
        return LLMR_FMT_ANTHROPIC;
    }

    return LLMR_FMT_UNKNOWN;
}


const char *
llmr_format_name(int format)
{
    if (format < 0 || format >= LLMR_FMT_N) {
        return "unknown";
    }

    return llmr_format_names[format];
}
