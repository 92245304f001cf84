
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdlib.h>
#include <string.h>

#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/usage.h>

#include "llmr_json.h"
#include "llmr_sse.h"


/*
 * The response's semantics over the JSON stream reader (llmr_json.c),
 * bounded: answers are not validated, a string reaches yajl only up to
 * LLMR_JSON_STRING_MAX bytes and the rest is only counted (no key or
 * value the reader looks into is that long, only answers are), a number
 * or a literal longer than LLMR_JSON_TOKEN_MAX bytes makes the JSON
 * invalid.  The cut depends on the bytes only, never on how they were
 * chunked.
 */
#define LLMR_USAGE_DEPTH_MAX    256

/* the schemas followed are never deeper; below, values are skipped */
#define LLMR_USAGE_FRAMES_MAX   16

/*
 * yajl's blocks: an SSE stream reads all its events with one handle, but
 * an invalid event costs a new one.
 */
#define LLMR_USAGE_BLOCKS       8


typedef enum {
    LLMR_MODE_AUTO = 0,
    LLMR_MODE_JSON,
    LLMR_MODE_SSE
} llmr_mode_e;


/* how much of "[DONE]" an event's data matched; blanks aside */
#define LLMR_SNIFF_NONE         0
#define LLMR_SNIFF_DONE         6
#define LLMR_SNIFF_JSON         7



/* the counts as the providers name them */
typedef enum {
    LLMR_U_PROMPT = 0,          /* prompt_tokens */
    LLMR_U_COMPLETION,          /* completion_tokens */
    LLMR_U_INPUT,               /* input_tokens */
    LLMR_U_OUTPUT,              /* output_tokens */
    LLMR_U_CACHE_READ,          /* cache_read_input_tokens */
    LLMR_U_CACHE_WRITE,         /* cache_creation_input_tokens */
    LLMR_U_CACHED,              /* cached_tokens, prompt_cache_hit_tokens */
    LLMR_U_REASONING,           /* reasoning_tokens */
    LLMR_U_G_PROMPT,            /* promptTokenCount */
    LLMR_U_G_CANDIDATES,        /* candidatesTokenCount */
    LLMR_U_G_TOTAL,             /* totalTokenCount */
    LLMR_U_G_CACHED,            /* cachedContentTokenCount */
    LLMR_U_G_THOUGHTS,          /* thoughtsTokenCount */
    LLMR_U_G_TOOL_PROMPT,       /* toolUsePromptTokenCount */
    LLMR_U_N
} llmr_count_e;



typedef enum {
    LLMR_UF_TOP = 0,            /* a response, a chunk, an event's data */
    LLMR_UF_ARRAY,              /* a top-level array of chunks */
    LLMR_UF_USAGE,              /* usage, usageMetadata, *_details */
    LLMR_UF_CHOICES,            /* choices, candidates */
    LLMR_UF_CHOICE,
    LLMR_UF_MESSAGE,            /* message, delta */
    LLMR_UF_GCONTENT,           /* a candidate's content */
    LLMR_UF_PARTS,              /* content blocks, parts */
    LLMR_UF_PART,
    LLMR_UF_OUTPUT,             /* responses output items */
    LLMR_UF_ITEM,
    LLMR_UF_INCOMPLETE,         /* incomplete_details */
    LLMR_UF_FEEDBACK,           /* promptFeedback */
    LLMR_UF_TOOLS               /* tool_calls: any element is a call */
} llmr_frame_e;


typedef enum {
    LLMR_K_OTHER = 0,
    LLMR_K_USAGE,               /* usage, usageMetadata */
    LLMR_K_CHOICES,             /* choices */
    LLMR_K_CANDIDATES,
    LLMR_K_CONTENT,
    LLMR_K_OUTPUT,
    LLMR_K_PARTS,
    LLMR_K_STOP_REASON,         /* stop_reason, finish_reason */
    LLMR_K_FINISH_REASON,       /* finishReason: also ends a stream */
    LLMR_K_STATUS,
    LLMR_K_INCOMPLETE,          /* incomplete_details */
    LLMR_K_REASON,
    LLMR_K_ERROR,
    LLMR_K_TYPE,
    LLMR_K_MESSAGE,
    LLMR_K_RESPONSE,
    LLMR_K_DELTA,
    LLMR_K_FEEDBACK,            /* promptFeedback */
    LLMR_K_BLOCK_REASON,
    LLMR_K_TEXT,
    LLMR_K_REFUSAL,
    LLMR_K_INDEX,
    LLMR_K_THOUGHT,
    LLMR_K_TOOL_CALLS,          /* tool_calls, function_call, functionCall */
    LLMR_K_DETAILS,             /* *_tokens_details */
    LLMR_K_COUNT                /* + llmr_count_e */
} llmr_key_e;


/* the "type" of a part, a content block or an output item */
typedef enum {
    LLMR_P_OTHER = 0,
    LLMR_P_TEXT,
    LLMR_P_THOUGHT,             /* thinking, reasoning: not the answer */
    LLMR_P_TOOL
} llmr_part_e;


/* the "type" of an event, as far as deltas go */
typedef enum {
    LLMR_T_NONE = 0,
    LLMR_T_TEXT_DELTA,          /* response.output_text.delta */
    LLMR_T_REFUSAL_DELTA        /* response.refusal.delta */
} llmr_type_e;


/* responses "status" */
typedef enum {
    LLMR_ST_NONE = 0,
    LLMR_ST_COMPLETED,
    LLMR_ST_INCOMPLETE,
    LLMR_ST_FAILED,
    LLMR_ST_CANCELLED
} llmr_status_e;


/* what a response or an event says, committed or pending */
typedef struct {
    uint32_t                    set;        /* count[i] reported: bit i */
    unsigned                    finish;     /* llmr_finish_e */
    unsigned                    flags;      /* LLMR_SIG_* */
    int64_t                     count[LLMR_U_N];
} llmr_signals_t;

#define LLMR_SIG_DONE           0x01
#define LLMR_SIG_ERROR          0x02
#define LLMR_SIG_REFUSAL        0x04
#define LLMR_SIG_TRUNCATED      0x08
#define LLMR_SIG_TOOL           0x10


/* the answer text so far, to take back what turns out not to be one */
typedef struct {
    size_t                      text_bytes;
    size_t                      head_len;
    unsigned                    head_full;
} llmr_save_t;


typedef struct {
    unsigned char               kind;       /* llmr_frame_e */
    unsigned char               flags;
    unsigned char               type;       /* llmr_part_e, llmr_type_e */
    unsigned char               sig;        /* of the event type */
    unsigned char               status;     /* llmr_status_e */
    unsigned char               reason;     /* finish when incomplete */
    unsigned                    n;          /* array elements so far */
    llmr_save_t                 save;
} llmr_frame_t;

#define LLMR_FR_NOHEAD          0x01    /* not the first choice */
#define LLMR_FR_NOTEXT          0x02    /* copies of streamed text */
#define LLMR_FR_THOUGHT         0x04    /* "thought": true */
#define LLMR_FR_TYPED           0x08    /* "type" seen */
#define LLMR_FR_DELTA           0x10    /* a "delta" string, tentative */
#define LLMR_FR_DELTA_TEXT      0x20    /* ... not empty */


typedef struct {
    const char                 *name;
    size_t                      len;
    unsigned char               id;
    unsigned char               sig;
} llmr_word_t;

#define llmr_word(s, id, sig)   { s, sizeof(s) - 1, id, sig }
#define llmr_word_end           { NULL, 0, 0, 0 }



struct llmr_usage_s {
    llmr_usage_result_t         res;
    llmr_signals_t              acc;        /* committed */
    llmr_signals_t              ev;         /* the SSE event being read */
    llmr_signals_t             *cur;        /* where callbacks write */

    unsigned                    mode;       /* llmr_mode_e */
    unsigned                    bom;        /* BOM bytes matched, 3: over */
    unsigned                    hinted:1;   /* format came from the caller */
    unsigned                    started:1;  /* mode settled */
    unsigned                    finished:1;
    unsigned                    failed:1;   /* a JSON body is unparsable */
    unsigned                    closed:1;   /* the JSON value ended */

    /*
     * The answer text read so far, pending events included; the result
     * shows what is committed (see llmr_update()).
     */
    size_t                      text_bytes;
    size_t                      head_len;
    unsigned                    head_full:1;

    /* server-sent events: the framing, the event being read */
    llmr_sse_t                  sse;
    unsigned                    ev_bad:1;
    unsigned                    sniff;
    unsigned                    name_type;  /* llmr_type_e of "event:" */
    unsigned                    name_sig;
    llmr_save_t                 ev_save;

    /* the JSON structure */
    llmr_json_t                 json;
    unsigned                    values;     /* top-level values begun */
    unsigned                    nframes;
    unsigned                    key;        /* llmr_key_e of the last key */
    llmr_frame_t                frames[LLMR_USAGE_FRAMES_MAX];

    unsigned char               head[LLMR_USAGE_HEAD_SIZE];
};


static void llmr_usage_init(llmr_usage_t *u, int format);
static int llmr_on_value(void *ctx, int vt, const unsigned char *s,
    size_t len);
static int llmr_on_key(void *ctx, const unsigned char *s, size_t len);
static int llmr_on_end(void *ctx);
static void llmr_on_data(void *ctx, const unsigned char *p, size_t n);
static void llmr_on_name(void *ctx, const unsigned char *name, size_t len);
static void llmr_on_dispatch(void *ctx);


static const llmr_json_handler_t  llmr_handler = {
    llmr_on_value,
    llmr_on_key,
    llmr_on_end
};


static const llmr_sse_handler_t  llmr_sse_handler = {
    llmr_on_data,
    llmr_on_name,
    llmr_on_dispatch
};



static const llmr_word_t  llmr_keys4[] = {
    llmr_word("text", LLMR_K_TEXT, 0),
    llmr_word("type", LLMR_K_TYPE, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys5[] = {
    llmr_word("usage", LLMR_K_USAGE, 0),
    llmr_word("index", LLMR_K_INDEX, 0),
    llmr_word("delta", LLMR_K_DELTA, 0),
    llmr_word("parts", LLMR_K_PARTS, 0),
    llmr_word("error", LLMR_K_ERROR, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys6[] = {
    llmr_word("output", LLMR_K_OUTPUT, 0),
    llmr_word("status", LLMR_K_STATUS, 0),
    llmr_word("reason", LLMR_K_REASON, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys7[] = {
    llmr_word("content", LLMR_K_CONTENT, 0),
    llmr_word("choices", LLMR_K_CHOICES, 0),
    llmr_word("message", LLMR_K_MESSAGE, 0),
    llmr_word("refusal", LLMR_K_REFUSAL, 0),
    llmr_word("thought", LLMR_K_THOUGHT, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys8[] = {
    llmr_word("response", LLMR_K_RESPONSE, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys10[] = {
    llmr_word("candidates", LLMR_K_CANDIDATES, 0),
    llmr_word("tool_calls", LLMR_K_TOOL_CALLS, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys11[] = {
    llmr_word("stop_reason", LLMR_K_STOP_REASON, 0),
    llmr_word("blockReason", LLMR_K_BLOCK_REASON, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys12[] = {
    llmr_word("finishReason", LLMR_K_FINISH_REASON, 0),
    llmr_word("input_tokens", LLMR_K_COUNT + LLMR_U_INPUT, 0),
    llmr_word("functionCall", LLMR_K_TOOL_CALLS, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys13[] = {
    llmr_word("finish_reason", LLMR_K_STOP_REASON, 0),
    llmr_word("prompt_tokens", LLMR_K_COUNT + LLMR_U_PROMPT, 0),
    llmr_word("output_tokens", LLMR_K_COUNT + LLMR_U_OUTPUT, 0),
    llmr_word("cached_tokens", LLMR_K_COUNT + LLMR_U_CACHED, 0),
    llmr_word("usageMetadata", LLMR_K_USAGE, 0),
    llmr_word("function_call", LLMR_K_TOOL_CALLS, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys14[] = {
    llmr_word("promptFeedback", LLMR_K_FEEDBACK, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys15[] = {
    llmr_word("totalTokenCount", LLMR_K_COUNT + LLMR_U_G_TOTAL, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys16[] = {
    llmr_word("promptTokenCount", LLMR_K_COUNT + LLMR_U_G_PROMPT, 0),
    llmr_word("reasoning_tokens", LLMR_K_COUNT + LLMR_U_REASONING, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys17[] = {
    llmr_word("completion_tokens", LLMR_K_COUNT + LLMR_U_COMPLETION, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys18[] = {
    llmr_word("incomplete_details", LLMR_K_INCOMPLETE, 0),
    llmr_word("thoughtsTokenCount", LLMR_K_COUNT + LLMR_U_G_THOUGHTS, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys20[] = {
    llmr_word("candidatesTokenCount", LLMR_K_COUNT + LLMR_U_G_CANDIDATES, 0),
    llmr_word("input_tokens_details", LLMR_K_DETAILS, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys21[] = {
    llmr_word("prompt_tokens_details", LLMR_K_DETAILS, 0),
    llmr_word("output_tokens_details", LLMR_K_DETAILS, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys23[] = {
    llmr_word("cache_read_input_tokens", LLMR_K_COUNT + LLMR_U_CACHE_READ, 0),
    llmr_word("cachedContentTokenCount", LLMR_K_COUNT + LLMR_U_G_CACHED, 0),
    llmr_word("toolUsePromptTokenCount",
              LLMR_K_COUNT + LLMR_U_G_TOOL_PROMPT, 0),
    llmr_word("prompt_cache_hit_tokens", LLMR_K_COUNT + LLMR_U_CACHED, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys25[] = {
    llmr_word("completion_tokens_details", LLMR_K_DETAILS, 0),
    llmr_word_end
};

static const llmr_word_t  llmr_keys27[] = {
    llmr_word("cache_creation_input_tokens",
              LLMR_K_COUNT + LLMR_U_CACHE_WRITE, 0),
    llmr_word_end
};

static const llmr_word_t  *llmr_keys[] = {
    NULL, NULL, NULL, NULL, llmr_keys4, llmr_keys5, llmr_keys6, llmr_keys7,
    llmr_keys8, NULL, llmr_keys10, llmr_keys11, llmr_keys12, llmr_keys13,
    llmr_keys14, llmr_keys15, llmr_keys16, llmr_keys17, llmr_keys18, NULL,
    llmr_keys20, llmr_keys21, NULL, llmr_keys23, NULL, llmr_keys25, NULL,
    llmr_keys27
};


/* event types, from "event:" lines and the data's "type" */
static const llmr_word_t  llmr_event_types[] = {
    llmr_word("response.output_text.delta", LLMR_T_TEXT_DELTA, 0),
    llmr_word("message_stop", LLMR_T_NONE, LLMR_SIG_DONE),
    llmr_word("response.completed", LLMR_T_NONE, LLMR_SIG_DONE),
    llmr_word("response.incomplete", LLMR_T_NONE, LLMR_SIG_DONE),
    llmr_word("response.failed", LLMR_T_NONE,
              LLMR_SIG_DONE | LLMR_SIG_ERROR),
    llmr_word("response.refusal.delta", LLMR_T_REFUSAL_DELTA, 0),
    llmr_word("error", LLMR_T_NONE, LLMR_SIG_ERROR),
    llmr_word_end
};


static const llmr_word_t  llmr_part_types[] = {
    llmr_word("text", LLMR_P_TEXT, 0),
    llmr_word("output_text", LLMR_P_TEXT, 0),
    llmr_word("thinking", LLMR_P_THOUGHT, 0),
    llmr_word("redacted_thinking", LLMR_P_THOUGHT, 0),
    llmr_word("reasoning", LLMR_P_THOUGHT, 0),
    llmr_word("reasoning_text", LLMR_P_THOUGHT, 0),
    llmr_word("summary_text", LLMR_P_THOUGHT, 0),
    llmr_word("tool_use", LLMR_P_TOOL, 0),
    llmr_word("function_call", LLMR_P_TOOL, 0),
    llmr_word("custom_tool_call", LLMR_P_TOOL, 0),
    llmr_word_end
};


static const llmr_word_t  llmr_statuses[] = {
    llmr_word("completed", LLMR_ST_COMPLETED, 0),
    llmr_word("incomplete", LLMR_ST_INCOMPLETE, 0),
    llmr_word("failed", LLMR_ST_FAILED, 0),
    llmr_word("cancelled", LLMR_ST_CANCELLED, 0),
    llmr_word_end
};


/* finish_reason, stop_reason, finishReason, incomplete_details.reason */
static const llmr_word_t  llmr_finishes[] = {
    llmr_word("stop", LLMR_FINISH_STOP, 0),
    llmr_word("end_turn", LLMR_FINISH_STOP, 0),
    llmr_word("stop_sequence", LLMR_FINISH_STOP, 0),
    llmr_word("STOP", LLMR_FINISH_STOP, 0),
    llmr_word("length", LLMR_FINISH_LENGTH, 0),
    llmr_word("max_tokens", LLMR_FINISH_LENGTH, 0),
    llmr_word("MAX_TOKENS", LLMR_FINISH_LENGTH, 0),
    llmr_word("max_output_tokens", LLMR_FINISH_LENGTH, 0),
    llmr_word("model_context_window_exceeded", LLMR_FINISH_LENGTH, 0),
    llmr_word("tool_calls", LLMR_FINISH_TOOL_CALLS, 0),
    llmr_word("tool_use", LLMR_FINISH_TOOL_CALLS, 0),
    llmr_word("function_call", LLMR_FINISH_TOOL_CALLS, 0),
    llmr_word("content_filter", LLMR_FINISH_CONTENT_FILTER, 0),
    llmr_word("refusal", LLMR_FINISH_CONTENT_FILTER, LLMR_SIG_REFUSAL),
    llmr_word("SAFETY", LLMR_FINISH_CONTENT_FILTER, LLMR_SIG_REFUSAL),
    llmr_word("PROHIBITED_CONTENT", LLMR_FINISH_CONTENT_FILTER,
              LLMR_SIG_REFUSAL),
    llmr_word("BLOCKLIST", LLMR_FINISH_CONTENT_FILTER, LLMR_SIG_REFUSAL),
    llmr_word("SPII", LLMR_FINISH_CONTENT_FILTER, LLMR_SIG_REFUSAL),
    llmr_word("IMAGE_SAFETY", LLMR_FINISH_CONTENT_FILTER, LLMR_SIG_REFUSAL),
    llmr_word("RECITATION", LLMR_FINISH_CONTENT_FILTER, 0),
    { NULL, 0, LLMR_FINISH_OTHER, 0 }
};


static const char  *llmr_finish_names[LLMR_FINISH_N] = {
    "none", "stop", "length", "tool_calls", "content_filter", "other"
};


static const llmr_word_t *
llmr_lookup(const llmr_word_t *w, const unsigned char *s, size_t len)
{
    for ( /* void */ ; w->name; w++) {
        if (w->len == len && memcmp(w->name, s, len) == 0) {
            break;
        }
    }

    /* the sentinel when none matched */
    return w;
}


/* called for every key: short keys are compared inline */

static unsigned
llmr_key(const unsigned char *s, size_t len)
{
    size_t              i;
    const llmr_word_t  *w;

    if (len >= sizeof(llmr_keys) / sizeof(llmr_keys[0])) {
        return LLMR_K_OTHER;
    }

    w = llmr_keys[len];

    if (w == NULL) {
        return LLMR_K_OTHER;
    }

    for ( /* void */ ; w->name; w++) {
        if (w->name[0] != s[0] || w->name[len - 1] != s[len - 1]) {
            continue;
        }

        for (i = 1; i < len - 1 && w->name[i] == (char) s[i]; i++) {
            /* void */
        }

        if (i >= len - 1) {
            return w->id;
        }
    }

    return LLMR_K_OTHER;
}


static void
llmr_clue(llmr_usage_t *u, int format)
{
    if (u->res.format == LLMR_FMT_UNKNOWN) {
        u->res.format = format;
        return;
    }

    /* "choices" says chat; a choice's "text" says completions */
    if (!u->hinted && format == LLMR_FMT_OPENAI_COMPLETIONS
        && u->res.format == LLMR_FMT_OPENAI_CHAT)
    {
        u->res.format = format;
    }
}


/* the length of the UTF-8 sequence at s, 0 when invalid (or a NUL) */

static size_t
llmr_utf8(const unsigned char *s, size_t len)
{
    size_t    i, n;
    unsigned  c;

    c = s[0];

    if (c < 0x80) {
        return c ? 1 : 0;
    }

    if (c < 0xc2 || c > 0xf4) {
        return 0;
    }

    n = (c < 0xe0) ? 2 : (c < 0xf0) ? 3 : 4;

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }

    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0)
        || (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
    {
        return 0;
    }

    return n;
}


static void
llmr_save(llmr_usage_t *u, llmr_save_t *s)
{
    s->text_bytes = u->text_bytes;
    s->head_len = u->head_len;
    s->head_full = u->head_full;
}


static void
llmr_restore(llmr_usage_t *u, const llmr_save_t *s)
{
    u->text_bytes = s->text_bytes;
    u->head_len = s->head_len;
    u->head_full = s->head_full;
}


/*
 * Appends a decoded string to the head.  Invalid bytes become '?'; once
 * a character does not fit, or a string was elided, the head is over, so
 * that it always is a prefix of the answer.
 */

static void
llmr_head_add(llmr_usage_t *u, const unsigned char *s, size_t len,
    unsigned elided)
{
    size_t          i, n, k, room;
    unsigned char  *h;

    if (u->head_full) {
        return;
    }

    h = u->head;
    n = u->head_len;
    room = LLMR_USAGE_HEAD_SIZE - 1 - n;

    for (i = 0; i < len; i += k) {

        /* a run of ASCII (not NUL) at once: each byte is its own char */

        for (k = 0; k < room && i + k < len && s[i + k] - 1u < 0x7f; k++) {
            /* void */
        }

        if (k) {
            memcpy(h + n, s + i, k);
            n += k;
            room -= k;
            continue;
        }

        k = llmr_utf8(s + i, len - i);

        if (k == 0) {
            if (room == 0) {
                u->head_full = 1;
                break;
            }

            h[n++] = '?';
            room--;
            k = 1;
            continue;
        }

        if (k > room) {
            u->head_full = 1;
            break;
        }

        memcpy(h + n, s + i, k);
        n += k;
        room -= k;
    }

    if (elided) {
        u->head_full = 1;
    }

    u->head_len = n;
}


static void
llmr_text(llmr_usage_t *u, llmr_frame_t *f, const unsigned char *s,
    size_t len)
{
    if (f->flags & LLMR_FR_NOTEXT) {
        return;
    }

    u->text_bytes += u->json.full;

    if (!(f->flags & LLMR_FR_NOHEAD)) {
        llmr_head_add(u, s, len, u->json.full != len);
    }
}


static void
llmr_count(llmr_usage_t *u, unsigned i, const unsigned char *s, size_t len)
{
    size_t   k;
    int64_t  v;

    /* counts are plain non-negative integers; anything else is ignored */
    if (len == 0 || len > 18) {
        return;
    }

    v = 0;

    for (k = 0; k < len; k++) {
        if (s[k] < '0' || s[k] > '9') {
            return;
        }

        v = v * 10 + (s[k] - '0');
    }

    u->cur->count[i] = v;
    u->cur->set |= 1u << i;
}


static void
llmr_finish_set(llmr_usage_t *u, unsigned finish, unsigned sig)
{
    u->cur->finish = finish;
    u->cur->flags |= sig;

    if (finish == LLMR_FINISH_LENGTH) {
        u->cur->flags |= LLMR_SIG_TRUNCATED;
    }
}


static void
llmr_finish_word(llmr_usage_t *u, const unsigned char *s, size_t len)
{
    const llmr_word_t  *w;

    w = llmr_lookup(llmr_finishes, s, len);
    llmr_finish_set(u, w->id, w->sig);
}


static llmr_frame_t *
llmr_push(llmr_usage_t *u, unsigned kind)
{
    unsigned       flags;
    llmr_frame_t  *f;

    if (u->nframes == LLMR_USAGE_FRAMES_MAX) {
        u->json.skip = 1;
        return NULL;
    }

    flags = 0;

    if (u->nframes) {
        flags = u->frames[u->nframes - 1].flags
                & (LLMR_FR_NOHEAD | LLMR_FR_NOTEXT);
    }

    f = &u->frames[u->nframes++];

    f->kind = (unsigned char) kind;
    f->flags = (unsigned char) flags;
    f->type = 0;
    f->sig = 0;
    f->status = LLMR_ST_NONE;
    f->reason = 0;
    f->n = 0;
    llmr_save(u, &f->save);

    return f;
}


/* a value nobody needs: containers are skipped as a whole */

static int
llmr_ignore(llmr_usage_t *u, int vt)
{
    return llmr_json_skip(&u->json, vt);
}


static int
llmr_top_value(llmr_usage_t *u, llmr_frame_t *f, int vt,
    const unsigned char *s, size_t len)
{
    const llmr_word_t  *w;

    switch (u->key) {

    case LLMR_K_USAGE:
        if (vt == LLMR_V_MAP) {
            llmr_push(u, LLMR_UF_USAGE);
            return 1;
        }

        break;

    case LLMR_K_CHOICES:
    case LLMR_K_CANDIDATES:
        if (vt == LLMR_V_ARRAY) {
            llmr_clue(u, (u->key == LLMR_K_CHOICES) ? LLMR_FMT_OPENAI_CHAT
                                                    : LLMR_FMT_GEMINI);
            llmr_push(u, LLMR_UF_CHOICES);
            return 1;
        }

        break;

    case LLMR_K_CONTENT:
        if (vt == LLMR_V_ARRAY) {
            llmr_clue(u, LLMR_FMT_ANTHROPIC);
            llmr_push(u, LLMR_UF_PARTS);
            return 1;
        }

        break;

    case LLMR_K_OUTPUT:
        if (vt == LLMR_V_ARRAY) {
            llmr_clue(u, LLMR_FMT_OPENAI_RESPONSES);
            f = llmr_push(u, LLMR_UF_OUTPUT);

            /* a stream repeats its deltas in the final response */
            if (f && u->mode == LLMR_MODE_SSE) {
                f->flags |= LLMR_FR_NOTEXT;
            }

            return 1;
        }

        break;

    case LLMR_K_STOP_REASON:
        if (vt == LLMR_V_STRING) {
            llmr_finish_word(u, s, len);
            return 1;
        }

        break;

    case LLMR_K_STATUS:
        if (vt == LLMR_V_STRING) {
            f->status = llmr_lookup(llmr_statuses, s, len)->id;
            return 1;
        }

        break;

    case LLMR_K_INCOMPLETE:
        if (vt == LLMR_V_MAP) {
            llmr_push(u, LLMR_UF_INCOMPLETE);
            return 1;
        }

        break;

    case LLMR_K_ERROR:
        if (vt == LLMR_V_MAP || (vt == LLMR_V_STRING && len > 0)) {
            u->cur->flags |= LLMR_SIG_ERROR;
        }

        break;

    case LLMR_K_TYPE:
        if (vt == LLMR_V_STRING) {
            w = llmr_lookup(llmr_event_types, s, len);
            f->type = w->id;
            f->sig = w->sig;
            f->flags |= LLMR_FR_TYPED;
            return 1;
        }

        break;

    case LLMR_K_MESSAGE:
    case LLMR_K_RESPONSE:
        /* anthropic's message_start, the responses stream's events */
        if (vt == LLMR_V_MAP) {
            llmr_clue(u, (u->key == LLMR_K_MESSAGE)
                         ? LLMR_FMT_ANTHROPIC : LLMR_FMT_OPENAI_RESPONSES);
            llmr_push(u, LLMR_UF_TOP);
            return 1;
        }

        break;

    case LLMR_K_DELTA:
        if (vt == LLMR_V_MAP) {
            /* anthropic's content_block_delta and message_delta */
            llmr_clue(u, LLMR_FMT_ANTHROPIC);
            llmr_push(u, LLMR_UF_MESSAGE);
            return 1;
        }

        if (vt == LLMR_V_STRING) {
            /*
             * A responses event's delta: answer text only when the type,
             * which may come later, is response.output_text.delta.
             */
            llmr_clue(u, LLMR_FMT_OPENAI_RESPONSES);
            llmr_save(u, &f->save);
            f->flags |= LLMR_FR_DELTA | (len ? LLMR_FR_DELTA_TEXT : 0);
            llmr_text(u, f, s, len);
            return 1;
        }

        break;

    case LLMR_K_FEEDBACK:
        if (vt == LLMR_V_MAP) {
            llmr_clue(u, LLMR_FMT_GEMINI);
            llmr_push(u, LLMR_UF_FEEDBACK);
            return 1;
        }

        break;
    }

    return llmr_ignore(u, vt);
}


static int
llmr_choice_value(llmr_usage_t *u, llmr_frame_t *f, int vt,
    const unsigned char *s, size_t len)
{
    switch (u->key) {

    case LLMR_K_MESSAGE:
    case LLMR_K_DELTA:
        if (vt == LLMR_V_MAP) {
            llmr_push(u, LLMR_UF_MESSAGE);
            return 1;
        }

        break;

    case LLMR_K_TEXT:
        if (vt == LLMR_V_STRING) {
            llmr_clue(u, LLMR_FMT_OPENAI_COMPLETIONS);
            llmr_text(u, f, s, len);
            return 1;
        }

        break;

    case LLMR_K_FINISH_REASON:
        if (vt == LLMR_V_STRING) {
            /* gemini's last chunk */
            u->cur->flags |= LLMR_SIG_DONE;
        }

        /* fall through */

    case LLMR_K_STOP_REASON:
        if (vt == LLMR_V_STRING) {
            llmr_finish_word(u, s, len);
            return 1;
        }

        break;

    case LLMR_K_CONTENT:
        if (vt == LLMR_V_MAP) {
            llmr_push(u, LLMR_UF_GCONTENT);
            return 1;
        }

        break;

    case LLMR_K_INDEX:
        if (vt == LLMR_V_NUMBER) {
            if (len == 1 && s[0] == '0') {
                f->flags &= ~LLMR_FR_NOHEAD;

            } else {
                f->flags |= LLMR_FR_NOHEAD;
            }

            return 1;
        }

        break;
    }

    return llmr_ignore(u, vt);
}


static int
llmr_message_value(llmr_usage_t *u, llmr_frame_t *f, int vt,
    const unsigned char *s, size_t len)
{
    switch (u->key) {

    case LLMR_K_CONTENT:
        if (vt == LLMR_V_STRING) {
            llmr_text(u, f, s, len);
            return 1;
        }

        if (vt == LLMR_V_ARRAY) {
            llmr_push(u, LLMR_UF_PARTS);
            return 1;
        }

        break;

    case LLMR_K_TEXT:
        if (vt == LLMR_V_STRING) {
            llmr_text(u, f, s, len);
            return 1;
        }

        break;

    case LLMR_K_REFUSAL:
        if (vt == LLMR_V_STRING && len > 0) {
            u->cur->flags |= LLMR_SIG_REFUSAL;
        }

        break;

    case LLMR_K_TOOL_CALLS:
        if (vt == LLMR_V_ARRAY) {
            llmr_push(u, LLMR_UF_TOOLS);
            return 1;
        }

        if (vt == LLMR_V_MAP) {
            u->cur->flags |= LLMR_SIG_TOOL;
        }

        break;

    case LLMR_K_STOP_REASON:
        if (vt == LLMR_V_STRING) {
            llmr_finish_word(u, s, len);
            return 1;
        }

        break;
    }

    return llmr_ignore(u, vt);
}


static int
llmr_part_value(llmr_usage_t *u, llmr_frame_t *f, int vt,
    const unsigned char *s, size_t len)
{
    switch (u->key) {

    case LLMR_K_TYPE:
        if (vt == LLMR_V_STRING) {
            f->type = llmr_lookup(llmr_part_types, s, len)->id;
            return 1;
        }

        break;

    case LLMR_K_TEXT:
        if (vt == LLMR_V_STRING) {
            llmr_text(u, f, s, len);
            return 1;
        }

        break;

    case LLMR_K_THOUGHT:
        if (vt == LLMR_V_BOOL && len) {
            f->flags |= LLMR_FR_THOUGHT;
        }

        break;

    case LLMR_K_REFUSAL:
        if (vt == LLMR_V_STRING && len > 0) {
            u->cur->flags |= LLMR_SIG_REFUSAL;
        }

        break;

    case LLMR_K_TOOL_CALLS:
        if (vt == LLMR_V_MAP) {
            u->cur->flags |= LLMR_SIG_TOOL;
        }

        break;
    }

    return llmr_ignore(u, vt);
}


static int
llmr_value(llmr_usage_t *u, int vt, const unsigned char *s, size_t len)
{
    llmr_frame_t  *f, *g;

    if (u->nframes == 0) {
        u->values++;

        if (vt == LLMR_V_MAP) {
            llmr_push(u, LLMR_UF_TOP);

        } else if (vt == LLMR_V_ARRAY) {
            llmr_push(u, LLMR_UF_ARRAY);
        }

        return 1;
    }

    f = &u->frames[u->nframes - 1];

    switch (f->kind) {

    case LLMR_UF_TOP:
        return llmr_top_value(u, f, vt, s, len);

    case LLMR_UF_ARRAY:
        if (vt == LLMR_V_MAP) {
            llmr_push(u, LLMR_UF_TOP);
            return 1;
        }

        break;

    case LLMR_UF_USAGE:
        if (u->key >= LLMR_K_COUNT) {
            if (vt == LLMR_V_NUMBER) {
                llmr_count(u, u->key - LLMR_K_COUNT, s, len);
            }

            break;
        }

        if (u->key == LLMR_K_DETAILS && vt == LLMR_V_MAP) {
            llmr_push(u, LLMR_UF_USAGE);
            return 1;
        }

        break;

    case LLMR_UF_CHOICES:
        if (vt == LLMR_V_MAP) {
            g = llmr_push(u, LLMR_UF_CHOICE);

            /* until its "index" says otherwise */
            if (g && f->n++ > 0) {
                g->flags |= LLMR_FR_NOHEAD;
            }

            return 1;
        }

        break;

    case LLMR_UF_CHOICE:
        return llmr_choice_value(u, f, vt, s, len);

    case LLMR_UF_MESSAGE:
        return llmr_message_value(u, f, vt, s, len);

    case LLMR_UF_GCONTENT:
        if (u->key == LLMR_K_PARTS && vt == LLMR_V_ARRAY) {
            llmr_push(u, LLMR_UF_PARTS);
            return 1;
        }

        break;

    case LLMR_UF_PARTS:
        if (vt == LLMR_V_MAP) {
            llmr_push(u, LLMR_UF_PART);
            return 1;
        }

        break;

    case LLMR_UF_PART:
        return llmr_part_value(u, f, vt, s, len);

    case LLMR_UF_OUTPUT:
        if (vt == LLMR_V_MAP) {
            llmr_push(u, LLMR_UF_ITEM);
            return 1;
        }

        break;

    case LLMR_UF_ITEM:
        if (u->key == LLMR_K_TYPE && vt == LLMR_V_STRING) {
            f->type = llmr_lookup(llmr_part_types, s, len)->id;
            return 1;
        }

        if (u->key == LLMR_K_CONTENT && vt == LLMR_V_ARRAY) {
            llmr_push(u, LLMR_UF_PARTS);
            return 1;
        }

        break;

    case LLMR_UF_INCOMPLETE:
        if (u->key == LLMR_K_REASON && vt == LLMR_V_STRING) {
            f[-1].reason = llmr_lookup(llmr_finishes, s, len)->id;
            return 1;
        }

        break;

    case LLMR_UF_FEEDBACK:
        if (u->key == LLMR_K_BLOCK_REASON && vt == LLMR_V_STRING) {
            /* the prompt was blocked: no candidates will follow */
            llmr_finish_set(u, LLMR_FINISH_CONTENT_FILTER,
                            LLMR_SIG_REFUSAL | LLMR_SIG_DONE);
            return 1;
        }

        break;

    case LLMR_UF_TOOLS:
        u->cur->flags |= LLMR_SIG_TOOL;
        break;
    }

    return llmr_ignore(u, vt);
}


static int
llmr_pop(llmr_usage_t *u)
{
    unsigned       type;
    llmr_frame_t  *f;

    f = &u->frames[--u->nframes];

    switch (f->kind) {

    case LLMR_UF_TOP:
        switch (f->status) {

        case LLMR_ST_COMPLETED:
            llmr_finish_set(u, LLMR_FINISH_STOP, 0);
            break;

        case LLMR_ST_INCOMPLETE:
            llmr_finish_set(u, f->reason ? f->reason : LLMR_FINISH_OTHER, 0);
            break;

        case LLMR_ST_FAILED:
            llmr_finish_set(u, LLMR_FINISH_OTHER, LLMR_SIG_ERROR);
            break;

        case LLMR_ST_CANCELLED:
            llmr_finish_set(u, LLMR_FINISH_OTHER, 0);
            break;
        }

        u->cur->flags |= f->sig;

        if (f->flags & LLMR_FR_DELTA) {
            type = (f->flags & LLMR_FR_TYPED) ? f->type : u->name_type;

            if (type != LLMR_T_TEXT_DELTA) {
                llmr_restore(u, &f->save);

                if (type == LLMR_T_REFUSAL_DELTA
                    && (f->flags & LLMR_FR_DELTA_TEXT))
                {
                    u->cur->flags |= LLMR_SIG_REFUSAL;
                }
            }
        }

        break;

    case LLMR_UF_PART:
    case LLMR_UF_ITEM:
        if (f->type == LLMR_P_THOUGHT || (f->flags & LLMR_FR_THOUGHT)) {
            llmr_restore(u, &f->save);

        } else if (f->type == LLMR_P_TOOL) {
            u->cur->flags |= LLMR_SIG_TOOL;
        }

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
    llmr_usage_t  *u = ctx;

    u->key = llmr_key(s, len);

    return 1;
}


static int
llmr_on_end(void *ctx)
{
    return llmr_pop(ctx);
}


/*
 * A new JSON value: a body, or an event's data.  The events of a stream
 * are parsed as one sequence of values, each checked at its dispatch.
 */

static int
llmr_json_begin(llmr_usage_t *u)
{
    if (llmr_json_start(&u->json) != LLMR_OK) {
        return LLMR_ERROR;
    }

    u->values = 0;
    u->nframes = 0;
    u->key = LLMR_K_OTHER;

    return LLMR_OK;
}


static void
llmr_update(llmr_usage_t *u)
{
    int64_t              *c, in, out;
    uint32_t              set;
    unsigned              flags;
    llmr_save_t           text;
    llmr_usage_result_t  *r;

#define llmr_has(i)     (set & (1u << (i)))
#define llmr_get(i)     (llmr_has(i) ? c[i] : 0)

    r = &u->res;
    c = u->acc.count;
    set = u->acc.set;
    flags = u->acc.flags;

    in = -1;

    if (llmr_has(LLMR_U_PROMPT)) {
        in = c[LLMR_U_PROMPT];

    } else if (llmr_has(LLMR_U_INPUT)) {
        /* anthropic's input_tokens leaves the cache out */
        in = c[LLMR_U_INPUT] + llmr_get(LLMR_U_CACHE_READ)
             + llmr_get(LLMR_U_CACHE_WRITE);

    } else if (llmr_has(LLMR_U_G_PROMPT)) {
        in = c[LLMR_U_G_PROMPT] + llmr_get(LLMR_U_G_TOOL_PROMPT);
    }

    out = -1;

    if (llmr_has(LLMR_U_COMPLETION)) {
        out = c[LLMR_U_COMPLETION];

    } else if (llmr_has(LLMR_U_OUTPUT)) {
        out = c[LLMR_U_OUTPUT];

    } else if (llmr_has(LLMR_U_G_CANDIDATES)) {
        /* gemini's thoughts are billed as output, and counted apart */
        out = c[LLMR_U_G_CANDIDATES] + llmr_get(LLMR_U_G_THOUGHTS);

    } else if (llmr_has(LLMR_U_G_TOTAL) && llmr_has(LLMR_U_G_PROMPT)) {
        /* no candidates (blocked, or all thoughts): from the total */
        out = c[LLMR_U_G_TOTAL] - c[LLMR_U_G_PROMPT]
              - llmr_get(LLMR_U_G_TOOL_PROMPT);

        if (out < 0) {
            out = 0;
        }
    }

    r->input_tokens = in;
    r->output_tokens = out;

    r->cached_tokens = llmr_has(LLMR_U_CACHED) ? c[LLMR_U_CACHED]
                       : llmr_has(LLMR_U_CACHE_READ) ? c[LLMR_U_CACHE_READ]
                       : llmr_has(LLMR_U_G_CACHED) ? c[LLMR_U_G_CACHED]
                       : -1;

    r->cache_write_tokens = llmr_has(LLMR_U_CACHE_WRITE)
                            ? c[LLMR_U_CACHE_WRITE] : -1;

    r->reasoning_tokens = llmr_has(LLMR_U_REASONING) ? c[LLMR_U_REASONING]
                          : llmr_has(LLMR_U_G_THOUGHTS)
                            ? c[LLMR_U_G_THOUGHTS] : -1;

#undef llmr_has
#undef llmr_get

    r->finish = u->acc.finish;

    if (r->finish == LLMR_FINISH_STOP && (flags & LLMR_SIG_TOOL)) {
        r->finish = LLMR_FINISH_TOOL_CALLS;
    }

    r->complete = (in >= 0 && out >= 0);
    r->stream = (u->mode == LLMR_MODE_SSE);
    r->truncated = (flags & LLMR_SIG_TRUNCATED) != 0;
    r->refusal = (flags & LLMR_SIG_REFUSAL) != 0;
    r->error = (flags & LLMR_SIG_ERROR) != 0;

    if (u->mode == LLMR_MODE_JSON) {
        r->done = u->json.closed && !u->failed;

    } else {
        r->done = (flags & LLMR_SIG_DONE) != 0;
    }

    /* a stream shows the events dispatched, not the one being read */
    if (u->mode == LLMR_MODE_SSE) {
        text = u->ev_save;

    } else {
        llmr_save(u, &text);
    }

    r->text_bytes = text.text_bytes;
    r->answer_head_len = text.head_len;
    memcpy(r->answer_head, u->head, text.head_len);
    r->answer_head[text.head_len] = '\0';
}


static void
llmr_commit(llmr_usage_t *u)
{
    unsigned  i;
    uint32_t  set;

    set = u->ev.set;

    for (i = 0; set; i++, set >>= 1) {
        if (set & 1) {
            u->acc.count[i] = u->ev.count[i];
        }
    }

    u->acc.set |= u->ev.set;

    if (u->ev.finish) {
        u->acc.finish = u->ev.finish;
    }

    u->acc.flags |= u->ev.flags;
}


static void
llmr_sse_reset(llmr_usage_t *u)
{
    u->ev_bad = 0;
    u->sniff = LLMR_SNIFF_NONE;
    u->name_type = LLMR_T_NONE;
    u->name_sig = 0;

    u->ev.set = 0;
    u->ev.finish = LLMR_FINISH_NONE;
    u->ev.flags = 0;

    llmr_save(u, &u->ev_save);
}


/* a blank line after data: the event is complete */

static void
llmr_on_dispatch(void *ctx)
{
    unsigned       bad;
    llmr_usage_t  *u = ctx;

    u->res.events++;

    bad = u->ev_bad;

    if (!bad) {
        switch (u->sniff) {

        case LLMR_SNIFF_NONE:
            /* blanks only */
            break;

        case LLMR_SNIFF_DONE:
            u->ev.flags |= LLMR_SIG_DONE;
            break;

        case LLMR_SNIFF_JSON:
            /*
             * One whole value is valid.  A number or a literal at the end
             * of the data (run) is complete only when yajl sees a LF.
             */
            bad = !llmr_json_value_end(&u->json)
                  || u->json.depth != 0 || u->values != 1;
            break;

        default:
            /* a part of "[DONE]" is not JSON either */
            bad = 1;
        }
    }

    if (bad) {
        llmr_restore(u, &u->ev_save);
        u->res.bad_events++;
        u->res.invalid = 1;

        /* whatever state yajl was left in, the next event starts anew */
        llmr_json_end(&u->json);

    } else {
        llmr_commit(u);
    }

    /* "event: error" counts even when its data is not JSON */
    u->acc.flags |= u->name_sig;

    llmr_sse_reset(u);
}


static void
llmr_on_data(void *ctx, const unsigned char *p, size_t n)
{
    unsigned       c, k;
    llmr_usage_t  *u = ctx;

    static const unsigned char  done[] = "[DONE]";

    if (u->ev_bad) {
        return;
    }

    while (u->sniff != LLMR_SNIFF_JSON) {
        if (n == 0) {
            return;
        }

        c = *p;

        if ((u->sniff == LLMR_SNIFF_NONE || u->sniff == LLMR_SNIFF_DONE)
            && (c == ' ' || c == '\t' || c == '\n' || c == '\r'))
        {
            p++;
            n--;
            continue;
        }

        if (u->sniff < LLMR_SNIFF_DONE && c == done[u->sniff]) {
            u->sniff++;
            p++;
            n--;
            continue;
        }

        /* not "[DONE]": what matched of it is JSON text */
        k = u->sniff;
        u->sniff = LLMR_SNIFF_JSON;

        if (llmr_json_begin(u) != LLMR_OK
            || (k && llmr_json_feed(&u->json, done, k) != LLMR_OK))
        {
            u->ev_bad = 1;
            return;
        }
    }

    if (n && llmr_json_feed(&u->json, p, n) != LLMR_OK) {
        u->ev_bad = 1;
    }
}


/* an "event:" name; an empty one when forgotten or too long */

static void
llmr_on_name(void *ctx, const unsigned char *name, size_t len)
{
    llmr_usage_t       *u = ctx;
    const llmr_word_t  *w;

    w = llmr_lookup(llmr_event_types, name, len);
    u->name_type = w->id;
    u->name_sig = w->sig;
}



static void
llmr_mode(llmr_usage_t *u, unsigned mode)
{
    u->mode = mode;
    u->started = 1;

    /* the events of a stream are one sequence of values for yajl */
    u->json.conf.multiple = (mode == LLMR_MODE_SSE);

    if (mode == LLMR_MODE_SSE) {
        u->cur = &u->ev;
        return;
    }

    u->cur = &u->acc;

    if (llmr_json_begin(u) != LLMR_OK) {
        u->failed = 1;
        u->res.invalid = 1;
    }
}


/*
 * The first bytes: a UTF-8 BOM is skipped, then, unless the caller said,
 * the first byte after blanks tells JSON from SSE.  Returns where the
 * body proper starts, end while undecided.
 */

static const unsigned char *
llmr_prelude(llmr_usage_t *u, const unsigned char *p,
    const unsigned char *end)
{
    unsigned              garbage;
    const unsigned char  *w;

    static const unsigned char  bom[] = { 0xef, 0xbb, 0xbf };

    garbage = 0;

    while (u->bom < 3 && p < end) {
        if (*p != bom[u->bom]) {
            /* a broken BOM starts a line of garbage */
            garbage = (u->bom > 0);
            u->bom = 3;
            break;
        }

        u->bom++;
        p++;
    }

    if (u->bom < 3) {
        return end;
    }

    if (u->mode == LLMR_MODE_AUTO) {
        if (garbage) {
            llmr_mode(u, LLMR_MODE_SSE);

        } else {
            for (w = p; w < end; w++) {
                if (*w != ' ' && *w != '\t' && *w != '\n' && *w != '\r') {
                    break;
                }
            }

            /* blanks mean nothing in JSON, and in SSE only blank lines */
            llmr_sse_feed(&u->sse, p, w);
            p = w;

            if (p == end) {
                return end;
            }

            llmr_mode(u, (*p == '{' || *p == '[') ? LLMR_MODE_JSON
                                                  : LLMR_MODE_SSE);
        }

    } else {
        llmr_mode(u, u->mode);
    }

    if (garbage) {
        if (u->mode == LLMR_MODE_JSON) {
            u->failed = 1;
            u->res.invalid = 1;
            return end;
        }

        llmr_sse_skip_line(&u->sse);
    }

    return p;
}


llmr_usage_t *
llmr_usage_create(int format)
{
    llmr_usage_t      *u;
    llmr_json_conf_t   jc;

    u = calloc(1, sizeof(llmr_usage_t));
    if (u == NULL) {
        return NULL;
    }

    jc.strings = LLMR_JSON_STRINGS_BOUNDED;
    jc.max_depth = LLMR_USAGE_DEPTH_MAX;
    jc.blocks = LLMR_USAGE_BLOCKS;
    jc.validate = 0;
    jc.multiple = 0;

    llmr_json_init(&u->json, &jc, &llmr_handler, u);

    llmr_usage_init(u, format);

    return u;
}


void
llmr_usage_reset(llmr_usage_t *u, int format)
{
    llmr_json_t  json;

    /* yajl's blocks go to the cache, which the new body keeps */
    llmr_json_reset(&u->json);
    json = u->json;

    memset(u, 0, sizeof(llmr_usage_t));

    u->json = json;

    llmr_usage_init(u, format);
}


static void
llmr_usage_init(llmr_usage_t *u, int format)
{
    if (format <= LLMR_FMT_UNKNOWN || format >= LLMR_FMT_N) {
        format = LLMR_FMT_UNKNOWN;

    } else {
        u->hinted = 1;
    }

    u->res.format = format;
    u->res.input_tokens = -1;
    u->res.output_tokens = -1;
    u->res.cached_tokens = -1;
    u->res.cache_write_tokens = -1;
    u->res.reasoning_tokens = -1;

    u->mode = LLMR_MODE_AUTO;
    llmr_sse_init(&u->sse, &llmr_sse_handler, u);
    u->cur = &u->acc;

    u->json.conf.multiple = 0;
}


void
llmr_usage_set_stream(llmr_usage_t *u, int sse)
{
    if (u->res.body_bytes == 0 && !u->finished) {
        u->mode = sse ? LLMR_MODE_SSE : LLMR_MODE_JSON;
    }
}


int
llmr_usage_feed(llmr_usage_t *u, const unsigned char *data, size_t len)
{
    const unsigned char  *p, *end;

    if (u->finished) {
        return LLMR_ERROR;
    }

    u->res.body_bytes += len;

    if (u->failed) {
        return LLMR_ERROR;
    }

    if (len == 0) {
        return LLMR_OK;
    }

    p = data;
    end = data + len;

    if (!u->started) {
        p = llmr_prelude(u, p, end);
    }

    if (p < end) {
        if (u->mode == LLMR_MODE_SSE) {
            llmr_sse_feed(&u->sse, p, end);

        } else if (llmr_json_feed(&u->json, p, end - p) != LLMR_OK) {
            u->failed = 1;
            u->res.invalid = 1;
            llmr_json_end(&u->json);
        }
    }

    llmr_update(u);

    return u->failed ? LLMR_ERROR : LLMR_OK;
}


void
llmr_usage_finish(llmr_usage_t *u)
{
    if (u->finished) {
        return;
    }

    u->finished = 1;

    if (u->mode == LLMR_MODE_SSE) {
        /* an event without its blank line is not dispatched */
        llmr_restore(u, &u->ev_save);
        llmr_sse_reset(u);

    } else if (u->mode == LLMR_MODE_JSON && !u->failed) {
        /* a top-level number ends only here; a cut body never does */
        (void) llmr_json_finish(&u->json);
    }

    llmr_json_end(&u->json);
    llmr_update(u);
}


const llmr_usage_result_t *
llmr_usage_result(const llmr_usage_t *u)
{
    return &u->res;
}


size_t
llmr_usage_memory(const llmr_usage_t *u)
{
    return sizeof(llmr_usage_t) + u->json.peak;
}


void
llmr_usage_destroy(llmr_usage_t *u)
{
    if (u == NULL) {
        return;
    }

    llmr_json_free(&u->json);
    free(u);
}


const char *
llmr_finish_name(int finish)
{
    if (finish < 0 || finish >= LLMR_FINISH_N) {
        return "unknown";
    }

    return llmr_finish_names[finish];
}
