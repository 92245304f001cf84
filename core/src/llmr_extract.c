/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#if (defined __SSE2__)
#include <emmintrin.h>
#endif

#include <llmr/core.h>
#include <llmr/extract.h>

#include "llmr_swar.h"


/*
 * Frames describe the containers whose meaning we know; everything else is
 * skipped by counting its nesting only.  The schemas we follow are never
 * deeper than this, a push beyond it is treated as an unknown value.
 */
#define LLMR_FRAMES_MAX         16

/*
 * yajl's lexer rescans a token that spans chunks from its start on every
 * call, so a long string fed in small chunks costs O(n^2).  Once that many
 * bytes arrived without a parser event, chunks are staged and fed in
 * doubling sizes, up to LLMR_STAGE_MAX bytes at a time.
 */
#define LLMR_STAGE_MIN          65536
#define LLMR_STAGE_MAX          (1024 * 1024)

#define LLMR_ERRBUF_SIZE        192

/*
 * Long strings do not go through yajl's lexer, which looks at every byte
 * through a table, and copies a string cut between two chunks to scan it
 * again.  A string of LLMR_FAST_MIN bytes or more is found, checked and
 * decoded here, 8 bytes at a time, by yajl's rules (its UTF-8 check, its
 * escapes, its \u decoding), and yajl parses "" in its place: the
 * callback takes the real value from x->sub, and every offset is that of
 * the body.  A string yajl would reject goes to yajl as it came, with the
 * rest of the body, so the error is yajl's own; so does a string yajl
 * decodes its own way (a high surrogate without "\u" after it), alone.
 * One split between chunks waits in x->str, bounded like yajl's token
 * buffer by the body; more than LLMR_STR_KEEP of it is not kept.
 */
#define LLMR_FAST_MIN           64
#define LLMR_STR_KEEP           65536

/*
 * A yajl handle cannot be reset, so each body gets a new one; its handful
 * of allocations come from blocks kept across bodies.
 */
#define LLMR_CACHE_BLOCKS       12
#define LLMR_CACHE_MAX          16384   /* larger blocks go back to free() */


typedef enum {
    LLMR_LEX_OUT = 0,           /* between strings */
    LLMR_LEX_SPLIT,             /* in a string that goes on in a chunk */
    LLMR_LEX_RAW                /* yajl gets the rest of the body as is */
} llmr_lex_e;


/* llmr_str_check() */
#define LLMR_STR_DONE           0
#define LLMR_STR_MORE           1
#define LLMR_STR_BAD            2

#define LLMR_STR_ESC            0x01    /* escapes: decode */
#define LLMR_STR_YAJL           0x02    /* yajl decodes it its own way */


typedef enum {
    LLMR_V_NULL = 0,
    LLMR_V_BOOL,
    LLMR_V_NUMBER,
    LLMR_V_STRING,
    LLMR_V_MAP,
    LLMR_V_ARRAY
} llmr_value_e;


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


/* the header of a block handed to yajl, keeping malloc()'s alignment */
typedef union {
    size_t                      size;
    long double                 align;
} llmr_block_t;


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

    yajl_handle                 yajl;
    yajl_alloc_funcs            alloc;
    llmr_block_t               *cache[LLMR_CACHE_BLOCKS];
    unsigned                    ncache;
    off_t                       base;       /* offset of the chunk parsed */
    unsigned                    events;     /* parser callbacks so far */
    size_t                      quiet;      /* bytes fed without events */

    unsigned                    depth;
    unsigned                    skip;       /* depth in an ignored value */
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

    unsigned char              *stage;
    size_t                      stage_len;
    size_t                      stage_size;

    /* the lexer in front of yajl for long strings (LLMR_FAST_MIN) */
    unsigned                    lex;        /* llmr_lex_e */
    unsigned                    str_flags;  /* LLMR_STR_ESC, _YAJL */
    unsigned char               prev;       /* the last byte lexed */
    off_t                       pos;        /* offset of the chunk lexed */
    off_t                       str_start;  /* of a split string's quote */
    unsigned char              *str;        /* its bytes; decoded values */
    size_t                      str_len;
    size_t                      str_size;
    size_t                      str_done;   /* bytes of it checked */
    const unsigned char        *sub;        /* what yajl's "" stands for */
    size_t                      sub_len;
    size_t                      sub_raw;    /* its length in the body */
    unsigned                    sub_set:1;

    llmr_frame_t                frames[LLMR_FRAMES_MAX];

    char                        model[LLMR_EXTRACT_MODEL_MAX];
    char                        errbuf[LLMR_ERRBUF_SIZE];
};


static int llmr_on_null(void *ctx);
static int llmr_on_boolean(void *ctx, int b);
static int llmr_on_number(void *ctx, const char *s, size_t len);
static int llmr_on_string(void *ctx, const unsigned char *s, size_t len);
static int llmr_on_start_map(void *ctx);
static int llmr_on_map_key(void *ctx, const unsigned char *s, size_t len);
static int llmr_on_end_map(void *ctx);
static int llmr_on_start_array(void *ctx);
static int llmr_on_end_array(void *ctx);


static const yajl_callbacks  llmr_callbacks = {
    llmr_on_null,
    llmr_on_boolean,
    NULL,
    NULL,
    llmr_on_number,
    llmr_on_string,
    llmr_on_start_map,
    llmr_on_map_key,
    llmr_on_end_map,
    llmr_on_start_array,
    llmr_on_end_array
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
    return x->base + (off_t) yajl_get_bytes_consumed(x->yajl);
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
        x->skip = 1;
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
    if (vt == LLMR_V_MAP || vt == LLMR_V_ARRAY) {
        x->skip = 1;
    }

    return 1;
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

    if (vt != LLMR_V_NUMBER || len == 0 || len > 18) {
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

    case LLMR_F_MESSAGE:
        return llmr_message_value(x, vt, s, len);

    case LLMR_F_CONTENT:
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

    default:
        return llmr_ignore(x, vt);
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
llmr_on_null(void *ctx)
{
    llmr_extract_t  *x = ctx;

    x->events++;

    if (x->skip) {
        return 1;
    }

    return llmr_value(x, LLMR_V_NULL, NULL, 0);
}


static int
llmr_on_boolean(void *ctx, int b)
{
    llmr_extract_t  *x = ctx;

    x->events++;

    if (x->skip) {
        return 1;
    }

    return llmr_value(x, LLMR_V_BOOL, NULL, b != 0);
}


static int
llmr_on_number(void *ctx, const char *s, size_t len)
{
    llmr_extract_t  *x = ctx;

    x->events++;

    if (x->skip) {
        return 1;
    }

    return llmr_value(x, LLMR_V_NUMBER, (const unsigned char *) s, len);
}


static int
llmr_on_string(void *ctx, const unsigned char *s, size_t len)
{
    llmr_extract_t  *x = ctx;

    x->events++;

    if (x->sub_set) {
        s = x->sub;
        len = x->sub_len;
        x->sub_set = 0;
    }

    if (x->skip) {
        return 1;
    }

    return llmr_value(x, LLMR_V_STRING, s, len);
}


static int
llmr_on_start_map(void *ctx)
{
    llmr_extract_t  *x = ctx;

    x->events++;

    if (++x->depth > x->conf.max_depth) {
        return llmr_fail(x, LLMR_EXTRACT_E_DEPTH, "nesting deeper than %u",
                         x->conf.max_depth);
    }

    if (x->skip) {
        x->skip++;
        return 1;
    }

    return llmr_value(x, LLMR_V_MAP, NULL, 0);
}


static int
llmr_on_start_array(void *ctx)
{
    llmr_extract_t  *x = ctx;

    x->events++;

    if (++x->depth > x->conf.max_depth) {
        return llmr_fail(x, LLMR_EXTRACT_E_DEPTH, "nesting deeper than %u",
                         x->conf.max_depth);
    }

    if (x->skip) {
        x->skip++;
        return 1;
    }

    return llmr_value(x, LLMR_V_ARRAY, NULL, 0);
}


static int
llmr_on_map_key(void *ctx, const unsigned char *s, size_t len)
{
    llmr_frame_t       *f;
    llmr_extract_t     *x = ctx;
    const llmr_name_t  *k;

    x->events++;

    if (x->sub_set) {
        s = x->sub;
        len = x->sub_len;
        x->sub_set = 0;
    }

    if (x->skip) {
        return 1;
    }

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
llmr_on_end_map(void *ctx)
{
    llmr_extract_t  *x = ctx;

    x->events++;
    x->depth--;

    if (x->skip) {
        x->skip--;
        return 1;
    }

    return llmr_pop(x);
}


static int
llmr_on_end_array(void *ctx)
{
    llmr_extract_t  *x = ctx;

    x->events++;
    x->depth--;

    if (x->skip) {
        x->skip--;
        return 1;
    }

    return llmr_pop(x);
}


static void *
llmr_yajl_malloc(void *ctx, size_t size)
{
    unsigned         i, best;
    llmr_block_t    *b;
    llmr_extract_t  *x = ctx;

    /* yajl asks for the same few sizes for every body */
    best = x->ncache;

    for (i = 0; i < x->ncache; i++) {
        b = x->cache[i];

        if (b->size == size) {
            best = i;
            break;
        }

        if (b->size > size
            && (best == x->ncache || b->size < x->cache[best]->size))
        {
            best = i;
        }
    }

    if (best < x->ncache) {
        b = x->cache[best];
        x->cache[best] = x->cache[--x->ncache];
        return b + 1;
    }

    b = malloc(sizeof(llmr_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->size = size;

    return b + 1;
}


static void
llmr_yajl_free(void *ctx, void *p)
{
    llmr_block_t    *b;
    llmr_extract_t  *x = ctx;

    if (p == NULL) {
        return;
    }

    b = (llmr_block_t *) p - 1;

    if (b->size <= LLMR_CACHE_MAX && x->ncache < LLMR_CACHE_BLOCKS) {
        x->cache[x->ncache++] = b;
        return;
    }

    free(b);
}


static void *
llmr_yajl_realloc(void *ctx, void *p, size_t size)
{
    void          *n;
    llmr_block_t  *b;

    if (p == NULL) {
        return llmr_yajl_malloc(ctx, size);
    }

    b = (llmr_block_t *) p - 1;

    if (b->size >= size) {
        return p;
    }

    n = llmr_yajl_malloc(ctx, size);
    if (n == NULL) {
        return NULL;
    }

    memcpy(n, p, b->size);
    llmr_yajl_free(ctx, p);

    return n;
}


void
llmr_extract_conf_init(llmr_extract_conf_t *conf)
{
    conf->format_hint = LLMR_FMT_UNKNOWN;
    conf->max_depth = 64;
    conf->max_messages = 10000;
    conf->max_parts = 100000;
    conf->max_user_text = 16384;
    conf->max_system_text = 4096;
    conf->max_history_text = 4096;
    conf->yajl_strings = 0;
}


llmr_extract_t *
llmr_extract_create(const llmr_extract_conf_t *conf)
{
    size_t           cap, size;
    unsigned char   *p;
    llmr_extract_t  *x;

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

    x->alloc.malloc = llmr_yajl_malloc;
    x->alloc.realloc = llmr_yajl_realloc;
    x->alloc.free = llmr_yajl_free;
    x->alloc.ctx = x;

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
    if (x->yajl) {
        yajl_free(x->yajl);
        x->yajl = NULL;
    }

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

    x->base = 0;
    x->events = 0;
    x->quiet = 0;
    x->depth = 0;
    x->skip = 0;
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

    x->stage_len = 0;
    x->errbuf[0] = '\0';

    x->lex = LLMR_LEX_OUT;
    x->prev = 0;
    x->pos = 0;
    x->sub_set = 0;

    if (x->str_size > LLMR_STR_KEEP) {
        free(x->str);
        x->str = NULL;
        x->str_size = 0;
    }

    x->str_len = 0;
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


static int
llmr_yajl_error(llmr_extract_t *x, const unsigned char *data, size_t len)
{
    off_t           at;
    size_t          n;
    const char     *text, *p;
    unsigned char  *msg;

    llmr_views(x);

    if (x->err) {
        /* a callback stopped the parse */
        return LLMR_ERROR;
    }

    msg = yajl_get_error(x->yajl, 0, data, len);
    text = msg ? (const char *) msg : "parse error";

    at = llmr_offset(x);

    if (x->sub_set && strstr(text, "inside map, I expect")) {

        /*
         * yajl steps back over the string it did not expect, as far as
         * the chunk it was given goes: over the string of the body, not
         * over the "" that stood for it
         */

        at = x->base + 2;
        at = (at - x->pos >= (off_t) x->sub_raw) ? at - (off_t) x->sub_raw
                                                 : x->pos;
    }

    if (at > x->req.body_bytes) {
        at = x->req.body_bytes;
    }

    if (strstr(text, "invalid bytes in UTF8 string")) {
        llmr_fail(x, LLMR_EXTRACT_E_UTF8,
                  "invalid UTF-8 in a string at byte %lld", (long long) at);

    } else {
        /* "parse error: premature EOF\n" -> "premature EOF" */
        p = strstr(text, ": ");
        p = p ? p + 2 : text;

        n = strlen(p);

        while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '.')) {
            n--;
        }

        llmr_fail(x, LLMR_EXTRACT_E_JSON, "invalid JSON at byte %lld: %.*s",
                  (long long) at, (int) n, p);
    }

    if (msg) {
        yajl_free_error(x->yajl, msg);
    }

    return LLMR_ERROR;
}


/* yajl's handle, allocated with the first bytes of a body */

static int
llmr_yajl_handle(llmr_extract_t *x)
{
    if (x->yajl == NULL) {
        x->yajl = yajl_alloc(&llmr_callbacks, &x->alloc, x);
        if (x->yajl == NULL) {
            llmr_fail(x, LLMR_EXTRACT_E_NOMEM, "out of memory");
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


/* hands yajl len bytes that are the body's from offset at */

static int
llmr_yajl(llmr_extract_t *x, const unsigned char *data, size_t len, off_t at)
{
    if (len == 0) {
        return LLMR_OK;
    }

    if (llmr_yajl_handle(x) != LLMR_OK) {
        return LLMR_ERROR;
    }

    x->base = at;

    if (yajl_parse(x->yajl, data, len) != yajl_status_ok) {
        return llmr_yajl_error(x, data, len);
    }

    x->base = at + len;

    return LLMR_OK;
}


/*
 * yajl parses "" for a string of raw bytes in the body that ends at
 * offset end; its callback gets the value [s, s + len) instead.
 */

static int
llmr_yajl_sub(llmr_extract_t *x, const unsigned char *s, size_t len,
    size_t raw, off_t end)
{
    int  rc;

    x->sub = s;
    x->sub_len = len;
    x->sub_raw = raw;
    x->sub_set = 1;

    rc = llmr_yajl(x, (const unsigned char *) "\"\"", 2, end - 2);

    x->sub_set = 0;

    return rc;
}


static int
llmr_hex(unsigned c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}


static unsigned
llmr_hex4(const unsigned char *p)
{
    unsigned  i, c, v;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];
        v = (v << 4) | ((c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10);
    }

    return v;
}


/*
 * Checks a string from p (after its opening quote, or where the last call
 * stopped) by the rules of yajl's lexer with its UTF-8 check: no byte
 * below 0x20; the escapes \" \\ \/ \b \f \n \r \t and \u with four hex
 * digits; a byte above 0x7f starts 110xxxxx, 1110xxxx or 11110xxx and is
 * followed by as many 10xxxxxx (yajl looks for nothing else: overlong
 * forms and surrogates pass).  *q is the closing quote (LLMR_STR_DONE),
 * the escape or sequence the end cut, where to go on with more bytes
 * (LLMR_STR_MORE), or the byte yajl stops at (LLMR_STR_BAD).  *flags
 * gets LLMR_STR_ESC and LLMR_STR_YAJL.
 */

static int
llmr_str_check(const unsigned char *p, const unsigned char *end,
    const unsigned char **q, unsigned *flags)
{
    unsigned  c, i, n;
    uint64_t  w;
#if (defined __SSE2__)
    __m128i   v, quote, bslash, space;

    quote = _mm_set1_epi8('"');
    bslash = _mm_set1_epi8('\\');
    space = _mm_set1_epi8(0x20);
#endif

    for ( ;; ) {

        /*
         * Plain bytes: no quote, backslash, control byte or bit 7; the
         * first other byte's mask bit is exact (the bytes after it may be
         * flagged for nothing).
         */

#if (defined __SSE2__)
        /* signed, a byte above 0x7f is below 0x20 too */

        while (end - p >= 16) {
            v = _mm_loadu_si128((const __m128i *) p);

            i = _mm_movemask_epi8(_mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                 _mm_cmpeq_epi8(v, bslash)),
                    _mm_cmplt_epi8(v, space)));

            if (i) {
                p += __builtin_ctz(i);
                goto other;
            }

            p += 16;
        }
#endif

        while (end - p >= 8) {
            memcpy(&w, p, 8);

            w = (llmr_zero(w ^ llmr_bytes('"'))
                 | llmr_zero(w ^ llmr_bytes('\\'))
                 | llmr_less(w, 0x20) | (w & llmr_bytes(0x80)));

            if (w) {
#ifdef llmr_first
                p += llmr_first(w);
                goto other;
#else
                break;
#endif
            }

            p += 8;
        }

        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"'
               && *p != '\\')
        {
            p++;
        }

    other:

        if (p == end) {
            *q = p;
            return LLMR_STR_MORE;
        }

        c = *p;

        if (c == '"') {
            *q = p;
            return LLMR_STR_DONE;
        }

        if (c < 0x20) {
            *q = p;
            return LLMR_STR_BAD;
        }

        if (c == '\\') {
            if (end - p < 2) {
                *q = p;
                return LLMR_STR_MORE;
            }

            c = p[1];

            if (c != 'u') {
                if (!(c == '"' || c == '\\' || c == '/' || c == 'b'
                      || c == 'f' || c == 'n' || c == 'r' || c == 't'))
                {
                    *q = p + 1;
                    return LLMR_STR_BAD;
                }

                *flags |= LLMR_STR_ESC;
                p += 2;
                continue;
            }

            for (i = 2; i < 6; i++) {
                if (p + i == end) {
                    *q = p;
                    return LLMR_STR_MORE;
                }

                if (!llmr_hex(p[i])) {
                    *q = p + i;
                    return LLMR_STR_BAD;
                }
            }

            *flags |= LLMR_STR_ESC;

            if ((llmr_hex4(p + 2) & 0xfc00) == 0xd800) {

                /* a high surrogate: is "\u" next? */

                if (end - p < 7 || (p[6] == '\\' && end - p < 8)) {
                    *q = p;
                    return LLMR_STR_MORE;
                }

                if (p[6] != '\\' || p[7] != 'u') {
                    *flags |= LLMR_STR_YAJL;
                }
            }

            p += 6;
            continue;
        }

        /* UTF-8 as yajl_lex_utf8_char() reads it */

        if ((c >> 5) == 0x6) {
            n = 1;

        } else if ((c >> 4) == 0xe) {
            n = 2;

        } else if ((c >> 3) == 0x1e) {
            n = 3;

        } else {
            *q = p;
            return LLMR_STR_BAD;
        }

        for (i = 1; i <= n; i++) {
            if (p + i == end) {
                *q = p;
                return LLMR_STR_MORE;
            }

            if ((p[i] >> 6) != 0x2) {
                *q = p + i;
                return LLMR_STR_BAD;
            }
        }

        p += n + 1;
    }
}


/*
 * A string that llmr_str_check() passed, without LLMR_STR_YAJL, decoded
 * into d as yajl_string_decode() does it; d may be s, the result is never
 * longer.  A high surrogate and the \u after it make one code point by
 * yajl's formula (whatever the second one is), a \u0000 is one NUL byte.
 */

static size_t
llmr_str_decode(unsigned char *d, const unsigned char *s, size_t len)
{
    unsigned              cp;
    unsigned char        *o;
    const unsigned char  *end, *b;

    o = d;
    end = s + len;

    while (s < end) {
        b = memchr(s, '\\', end - s);

        if (b == NULL) {
            b = end;
        }

        if (o != s) {
            memmove(o, s, b - s);
        }

        o += b - s;
        s = b;

        if (s == end) {
            break;
        }

        switch (s[1]) {

        case 'u':
            cp = llmr_hex4(s + 2);
            s += 6;

            if ((cp & 0xfc00) == 0xd800) {
                cp = ((cp & 0x3f) << 10) | ((((cp >> 6) & 0xf) + 1) << 16)
                     | (llmr_hex4(s + 2) & 0x3ff);
                s += 6;
            }

            if (cp < 0x80) {
                *o++ = (unsigned char) cp;

            } else if (cp < 0x800) {
                *o++ = (unsigned char) ((cp >> 6) | 0xc0);
                *o++ = (unsigned char) ((cp & 0x3f) | 0x80);

            } else if (cp < 0x10000) {
                *o++ = (unsigned char) ((cp >> 12) | 0xe0);
                *o++ = (unsigned char) (((cp >> 6) & 0x3f) | 0x80);
                *o++ = (unsigned char) ((cp & 0x3f) | 0x80);

            } else if (cp < 0x200000) {
                *o++ = (unsigned char) ((cp >> 18) | 0xf0);
                *o++ = (unsigned char) (((cp >> 12) & 0x3f) | 0x80);
                *o++ = (unsigned char) (((cp >> 6) & 0x3f) | 0x80);
                *o++ = (unsigned char) ((cp & 0x3f) | 0x80);

            } else {
                *o++ = '?';
            }

            continue;

        case 'b':
            *o++ = '\b';
            break;

        case 'f':
            *o++ = '\f';
            break;

        case 'n':
            *o++ = '\n';
            break;

        case 'r':
            *o++ = '\r';
            break;

        case 't':
            *o++ = '\t';
            break;

        default: /* " \ / */
            *o++ = s[1];
        }

        s += 2;
    }

    return o - d;
}


static int
llmr_str_room(llmr_extract_t *x, size_t size)
{
    size_t          n;
    unsigned char  *p;

    if (x->str_size >= size && x->str) {
        return LLMR_OK;
    }

    n = x->str_size ? x->str_size : 4096;

    while (n < size) {
        n *= 2;
    }

    p = realloc(x->str, n);
    if (p == NULL) {
        llmr_fail(x, LLMR_EXTRACT_E_NOMEM, "out of memory");
        return LLMR_ERROR;
    }

    x->str = p;
    x->str_size = n;

    return LLMR_OK;
}


/* a split string goes to yajl as it came: its quote, what came so far */

static int
llmr_str_raw(llmr_extract_t *x, size_t len)
{
    x->lex = LLMR_LEX_OUT;

    if (llmr_yajl(x, (const unsigned char *) "\"", 1, x->str_start)
        != LLMR_OK)
    {
        return LLMR_ERROR;
    }

    return llmr_yajl(x, x->str, len, x->str_start + 1);
}


/*
 * A chunk of a split string: *p is where the body goes on after it, in
 * data, or data + len when the string goes on further; *seg is where
 * yajl's part of the chunk begins.
 */

static int
llmr_str_more(llmr_extract_t *x, const unsigned char *data, size_t len,
    const unsigned char **p, const unsigned char **seg)
{
    int                   st;
    size_t                old, n;
    const unsigned char  *q;

    old = x->str_len;

    if (llmr_str_room(x, old + len) != LLMR_OK) {
        return LLMR_ERROR;
    }

    memcpy(x->str + old, data, len);
    x->str_len += len;

    st = llmr_str_check(x->str + x->str_done, x->str + x->str_len, &q,
                        &x->str_flags);

    switch (st) {

    case LLMR_STR_MORE:
        x->str_done = q - x->str;
        *p = data + len;
        *seg = *p;
        return LLMR_OK;

    case LLMR_STR_BAD:

        /* yajl says why, on the bytes as they came */

        *p = data;
        *seg = data;

        if (llmr_str_raw(x, old) != LLMR_OK) {
            return LLMR_ERROR;
        }

        x->lex = LLMR_LEX_RAW;
        return LLMR_OK;
    }

    n = q - x->str;
    *p = data + (n + 1 - old);

    if (x->str_flags & LLMR_STR_YAJL) {

        /* yajl's, in the chunks it came in (its errors' offsets tell) */

        *seg = data;
        return llmr_str_raw(x, old);
    }

    *seg = *p;
    x->lex = LLMR_LEX_OUT;

    return llmr_yajl_sub(x, x->str,
                         (x->str_flags & LLMR_STR_ESC)
                         ? llmr_str_decode(x->str, x->str, n) : n,
                         n, x->str_start + (off_t) n + 2);
}


/*
 * A chunk of the body, from offset x->pos, to yajl: long strings are
 * checked and decoded here, the rest goes to yajl in the segments between
 * them.  Only a string after a byte that may come before one in JSON (a
 * blank, ':', ',', '[', '{', or nothing) is taken: after anything else
 * (a number, a literal not ended, which yajl ends only with the next
 * byte, and invalid JSON) yajl must see it where it is to report the
 * error at the same byte.
 */

static int
llmr_lex(llmr_extract_t *x, const unsigned char *data, size_t len)
{
    int                   st;
    off_t                 at;
    size_t                n;
    unsigned              flags, prev;
    const unsigned char  *p, *end, *seg, *q, *s, *v;

    at = x->pos;
    p = data;
    end = data + len;

    seg = p;

    if (x->lex == LLMR_LEX_SPLIT) {
        if (llmr_str_more(x, data, len, &p, &seg) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    while (x->lex == LLMR_LEX_OUT) {
        q = llmr_quote(p, end);

        if (q == end) {
            break;
        }

        flags = 0;
        st = llmr_str_check(q + 1, end, &s, &flags);

        if (st == LLMR_STR_BAD) {
            x->lex = LLMR_LEX_RAW;
            break;
        }

        prev = (q > data) ? q[-1] : x->prev;

        if (!(prev == ':' || prev == ',' || prev == '[' || prev == '{'
              || prev == ' ' || prev == '\n' || prev == '\r'
              || prev == '\t' || prev == '\f' || prev == '\v' || prev == 0))
        {
            /* yajl's, and all of it, even split */

            if (st == LLMR_STR_MORE) {
                x->lex = LLMR_LEX_RAW;
                break;
            }

            p = s + 1;
            continue;
        }

        if (st == LLMR_STR_MORE) {
            if (llmr_yajl(x, seg, q - seg, at + (seg - data)) != LLMR_OK) {
                return LLMR_ERROR;
            }

            n = end - (q + 1);

            if (llmr_str_room(x, n) != LLMR_OK) {
                return LLMR_ERROR;
            }

            memcpy(x->str, q + 1, n);
            x->str_len = n;
            x->str_done = s - (q + 1);
            x->str_flags = flags;
            x->str_start = at + (q - data);
            x->lex = LLMR_LEX_SPLIT;

            seg = end;
            break;
        }

        n = s - (q + 1);

        if (n < LLMR_FAST_MIN || (flags & LLMR_STR_YAJL)) {
            p = s + 1;
            continue;
        }

        v = q + 1;

        if (flags & LLMR_STR_ESC) {
            if (llmr_str_room(x, n) != LLMR_OK) {
                return LLMR_ERROR;
            }

            v = x->str;
            n = llmr_str_decode(x->str, q + 1, n);
        }

        if (llmr_yajl(x, seg, q - seg, at + (seg - data)) != LLMR_OK
            || llmr_yajl_sub(x, v, n, s - (q + 1), at + (s + 1 - data))
               != LLMR_OK)
        {
            return LLMR_ERROR;
        }

        p = seg = s + 1;
    }

    if (len) {
        x->prev = end[-1];
    }

    return llmr_yajl(x, seg, end - seg, at + (seg - data));
}


static int
llmr_parse(llmr_extract_t *x, const unsigned char *data, size_t len)
{
    int       rc;
    unsigned  events;

    events = x->events;

    rc = x->conf.yajl_strings ? llmr_yajl(x, data, len, x->pos)
                              : llmr_lex(x, data, len);

    if (rc != LLMR_OK) {
        return LLMR_ERROR;
    }

    x->pos += len;
    x->quiet = (x->events == events) ? x->quiet + len : 0;

    return LLMR_OK;
}


int
llmr_extract_feed(llmr_extract_t *x, const unsigned char *data, size_t len)
{
    size_t          want, n;
    unsigned char  *p;

    if (x->err) {
        return LLMR_ERROR;
    }

    if (x->finished) {
        llmr_fail(x, LLMR_EXTRACT_E_JSON, "data fed after the end");
        return LLMR_ERROR;
    }

    x->req.body_bytes += len;

    while (len) {
        want = x->quiet;

        if (want < LLMR_STAGE_MIN) {
            want = LLMR_STAGE_MIN;

        } else if (want > LLMR_STAGE_MAX) {
            want = LLMR_STAGE_MAX;
        }

        if (x->stage_len == 0 && (x->quiet < LLMR_STAGE_MIN || len >= want)) {
            return llmr_parse(x, data, len);
        }

        if (x->stage_size < want) {
            p = realloc(x->stage, want);
            if (p == NULL) {
                llmr_fail(x, LLMR_EXTRACT_E_NOMEM, "out of memory");
                return LLMR_ERROR;
            }

            x->stage = p;
            x->stage_size = want;
        }

        n = want - x->stage_len;

        if (n > len) {
            n = len;
        }

        memcpy(x->stage + x->stage_len, data, n);
        x->stage_len += n;
        data += n;
        len -= n;

        if (x->stage_len >= want) {
            n = x->stage_len;
            x->stage_len = 0;

            if (llmr_parse(x, x->stage, n) != LLMR_OK) {
                return LLMR_ERROR;
            }
        }
    }

    return LLMR_OK;
}


int
llmr_extract_finish(llmr_extract_t *x)
{
    size_t       n;
    yajl_status  st;

    if (x->err) {
        return LLMR_ERROR;
    }

    if (x->finished) {
        return LLMR_OK;
    }

    x->finished = 1;

    if (x->stage_len) {
        n = x->stage_len;
        x->stage_len = 0;

        if (llmr_parse(x, x->stage, n) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    if (x->req.body_bytes == 0) {
        llmr_fail(x, LLMR_EXTRACT_E_JSON, "empty body");
        return LLMR_ERROR;
    }

    if (x->lex == LLMR_LEX_SPLIT
        && llmr_str_raw(x, x->str_len) != LLMR_OK)
    {
        /* a string the body does not end: yajl says so */
        return LLMR_ERROR;
    }

    if (llmr_yajl_handle(x) != LLMR_OK) {
        return LLMR_ERROR;
    }

    st = yajl_complete_parse(x->yajl);

    if (st != yajl_status_ok) {
        return llmr_yajl_error(x, NULL, 0);
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
    unsigned  i;

    if (x == NULL) {
        return;
    }

    if (x->yajl) {
        yajl_free(x->yajl);
    }

    for (i = 0; i < x->ncache; i++) {
        free(x->cache[i]);
    }

    free(x->stage);
    free(x->str);
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
