
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * Gemini generateContent: the request read into the intermediate form,
 * and written from it.  Gemini takes its keys in both spellings
 * ("maxOutputTokens", "max_output_tokens"): both are read, camel case
 * is written.  Its body has no model (the path has it) and no stream
 * flag (streamGenerateContent): llmr_xreq_set_stream() tells that.
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE                 /* memmem() */
#endif

#include <string.h>

#include "llmr_xreq.h"


#define LLMR_XREQ_OPENAI_BIT     (1u << LLMR_API_OPENAI)
#define LLMR_XREQ_ANTHROPIC_BIT  (1u << LLMR_API_ANTHROPIC)


static int llmr_xreq_gemini_content(llmr_xreq_t *x, const llmr_jv_t *c);
static int llmr_xreq_gemini_part(llmr_xreq_t *x, const llmr_jv_t *e,
    int assistant);
static int llmr_xreq_gemini_call(llmr_xreq_t *x, const llmr_jv_t *fc);
static int llmr_xreq_gemini_response(llmr_xreq_t *x, const llmr_jv_t *fr);
static int llmr_xreq_gemini_system(llmr_xreq_t *x, const llmr_jv_t *si);
static int llmr_xreq_gemini_tools(llmr_xreq_t *x, const llmr_jv_t *tools);
static int llmr_xreq_gemini_decls(llmr_xreq_t *x, const llmr_jv_t *decls);
static int llmr_xreq_gemini_config(llmr_xreq_t *x, const llmr_jv_t *tc);
static int llmr_xreq_gemini_gen(llmr_xreq_t *x, const llmr_jv_t *gc);
static int llmr_xreq_gemini_gen_member(llmr_xreq_t *x, int k,
    llmr_jv_t *m, void *data);
static void llmr_xreq_gemini_msg(llmr_xreq_t *x, const llmr_xmsg_t *m);
static void llmr_xreq_gemini_write_tools(llmr_xreq_t *x);
static void llmr_xreq_gemini_write_gen(llmr_xreq_t *x);


enum {
    LLMR_XG_CONTENTS = 0,
    LLMR_XG_SYSTEM,
    LLMR_XG_TOOLS,
    LLMR_XG_TOOL_CONFIG,
    LLMR_XG_GENERATION_CONFIG,
    LLMR_XG_SAFETY,
    LLMR_XG_LABELS,
    LLMR_XG_MODEL,
    LLMR_XG_BLOCKING
};


static const char *const  llmr_xreq_gemini_keys[] = {
    "contents", "systemInstruction", "tools", "toolConfig",
    "generationConfig", "safetySettings", "labels", "model",
    /* what no other API has */
    "cachedContent",
    NULL
};


enum {
    LLMR_XGC_TEMPERATURE = 0,
    LLMR_XGC_TOP_P,
    LLMR_XGC_TOP_K,
    LLMR_XGC_MAX_OUTPUT_TOKENS,
    LLMR_XGC_CANDIDATE_COUNT,
    LLMR_XGC_SEED,
    LLMR_XGC_PRESENCE_PENALTY,
    LLMR_XGC_FREQUENCY_PENALTY,
    LLMR_XGC_STOP_SEQUENCES,
    LLMR_XGC_RESPONSE_MIME_TYPE,
    LLMR_XGC_RESPONSE_SCHEMA,
    LLMR_XGC_RESPONSE_JSON_SCHEMA,
    LLMR_XGC_RESPONSE_LOGPROBS,
    LLMR_XGC_THINKING_CONFIG,
    LLMR_XGC_RESPONSE_MODALITIES,
    LLMR_XGC_MEDIA_RESOLUTION,
    LLMR_XGC_BLOCKING
};


static const char *const  llmr_xreq_gemini_gen_keys[] = {
    "temperature", "topP", "topK", "maxOutputTokens", "candidateCount",
    "seed", "presencePenalty", "frequencyPenalty", "stopSequences",
    "responseMimeType", "responseSchema", "responseJsonSchema",
    "responseLogprobs", "thinkingConfig", "responseModalities",
    "mediaResolution",
    /* what no other API has */
    "logprobs", "speechConfig", "enableEnhancedCivicAnswers",
    "routingConfig", "imageConfig", "audioTimestamp",
    NULL
};


/* the tools no other API has, and the function declarations */

static const char *const  llmr_xreq_gemini_tool_keys[] = {
    "functionDeclarations", "googleSearch", "googleSearchRetrieval",
    "codeExecution", "urlContext", "computerUse", "fileSearch",
    "googleMaps", "retrieval", "enterpriseWebSearch",
    NULL
};


int
llmr_xreq_parse_gemini(llmr_xreq_t *x, const llmr_jv_t *root)
{
    int         k, rc;
    uint64_t    seen;
    llmr_jv_t  *m, *e;

    seen = 0;

    for (m = root->child; m; m = m->next) {
        if (m->type == LLMR_V_NULL) {
            continue;
        }

        k = llmr_xreq_key(x, m, llmr_xreq_gemini_keys, 1);

        if (k < 0 || (seen & (1ull << k))) {
            continue;
        }

        seen |= 1ull << k;
        rc = LLMR_OK;

        switch (k) {

        case LLMR_XG_CONTENTS:
            if (m->type != LLMR_V_ARRAY) {
                return llmr_xreq_fail(x, "contents", "not an array");
            }

            for (e = m->child; e && rc == LLMR_OK; e = e->next) {
                rc = llmr_xreq_gemini_content(x, e);
            }

            break;

        case LLMR_XG_SYSTEM:
            rc = llmr_xreq_gemini_system(x, m);
            break;

        case LLMR_XG_TOOLS:
            rc = llmr_xreq_gemini_tools(x, m);
            break;

        case LLMR_XG_TOOL_CONFIG:
            rc = llmr_xreq_gemini_config(x, m);
            break;

        case LLMR_XG_GENERATION_CONFIG:
            rc = llmr_xreq_gemini_gen(x, m);
            break;

        case LLMR_XG_BLOCKING:
            llmr_xreq_block_others(x, llmr_xreq_gemini_keys[k]);
            break;

        default:
            /* safetySettings, labels, model: not sent */
            break;
        }

        if (rc != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    if (!(seen & (1ull << LLMR_XG_CONTENTS))) {
        return llmr_xreq_fail(x, "contents", "missing");
    }

    return LLMR_OK;
}


static int
llmr_xreq_gemini_content(llmr_xreq_t *x, const llmr_jv_t *c)
{
    int         assistant;
    llmr_jv_t  *role, *parts, *e;

    role = llmr_xreq_gget(c, "role");
    parts = llmr_xreq_gget(c, "parts");

    if (c->type != LLMR_V_MAP || !llmr_jv_is_type(parts, LLMR_V_ARRAY)) {
        return llmr_xreq_fail(x, "contents.parts", "not an array");
    }

    /* "function": the role of function responses in older clients */

    if (role == NULL || llmr_jv_is(role, "user")
        || llmr_jv_is(role, "function"))
    {
        assistant = 0;

    } else if (llmr_jv_is(role, "model")) {
        assistant = 1;

    } else {
        return llmr_xreq_fail(x, "contents.role", "not user or model");
    }

    if (llmr_xreq_msg(x, assistant) == NULL) {
        return LLMR_ERROR;
    }

    for (e = parts->child; e; e = e->next) {
        if (llmr_xreq_gemini_part(x, e, assistant) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_gemini_part(llmr_xreq_t *x, const llmr_jv_t *e, int assistant)
{
    llmr_jv_t     *t, *mime, *data;
    llmr_xpart_t  *part;

    if (e->type != LLMR_V_MAP) {
        return llmr_xreq_fail(x, "contents.parts", "not an object");
    }

    /* thoughtSignature: Gemini's own, not sent */

    t = llmr_xreq_gget(e, "text");

    if (t != NULL) {
        if (t->type != LLMR_V_STRING) {
            return llmr_xreq_fail(x, "contents.parts.text", "not a string");
        }

        t = llmr_xreq_gget(e, "thought");

        if (llmr_jv_is_type(t, LLMR_V_BOOL) && t->boolean) {
            llmr_xreq_block_others(x, "thought");
            return LLMR_OK;
        }

        part = llmr_xreq_part(x, LLMR_XP_TEXT);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(llmr_xreq_gget(e, "text"));

        return LLMR_OK;
    }

    t = llmr_xreq_gget(e, "inlineData");

    if (t != NULL) {
        mime = llmr_xreq_gget(t, "mimeType");
        data = llmr_xreq_gget(t, "data");

        if (!llmr_jv_is_type(mime, LLMR_V_STRING)
            || !llmr_jv_is_type(data, LLMR_V_STRING))
        {
            return llmr_xreq_fail(x, "contents.parts.inlineData",
                                  "not {mimeType, data}");
        }

        /* audio, video, PDF: none the others read the same way */
        if (assistant || mime->len < 6 || memcmp(mime->s, "image/", 6) != 0)
        {
            llmr_xreq_block_others(x, "inlineData");
            return LLMR_OK;
        }

        part = llmr_xreq_part(x, LLMR_XP_IMAGE);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(data);
        part->b = llmr_xs(mime);

        return LLMR_OK;
    }

    t = llmr_xreq_gget(e, "fileData");

    if (t != NULL) {
        mime = llmr_xreq_gget(t, "mimeType");
        data = llmr_xreq_gget(t, "fileUri");

        if (!llmr_jv_is_type(data, LLMR_V_STRING)) {
            return llmr_xreq_fail(x, "contents.parts.fileData.fileUri",
                                  "not a string");
        }

        /*
         * an image on the web the others fetch too; not a file of
         * Gemini's files API or a gs:// object
         */

        if (assistant || data->len < 8 || memcmp(data->s, "https://", 8) != 0
            || memmem(data->s, data->len, "googleapis.com", 14) != NULL
            || !llmr_jv_is_type(mime, LLMR_V_STRING) || mime->len < 6
            || memcmp(mime->s, "image/", 6) != 0)
        {
            llmr_xreq_block_others(x, "fileData");
            return LLMR_OK;
        }

        part = llmr_xreq_part(x, LLMR_XP_URL);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(data);

        return LLMR_OK;
    }

    t = llmr_xreq_gget(e, "functionCall");

    if (t != NULL) {
        return llmr_xreq_gemini_call(x, t);
    }

    t = llmr_xreq_gget(e, "functionResponse");

    if (t != NULL) {
        return llmr_xreq_gemini_response(x, t);
    }

    if (llmr_xreq_gget(e, "executableCode") != NULL) {
        llmr_xreq_block_others(x, "executableCode");

    } else if (llmr_xreq_gget(e, "codeExecutionResult") != NULL) {
        llmr_xreq_block_others(x, "codeExecutionResult");

    } else if (llmr_xreq_gget(e, "thoughtSignature") == NULL) {
        llmr_xreq_block_others(x, "contents.parts");
    }

    return LLMR_OK;
}


static int
llmr_xreq_gemini_call(llmr_xreq_t *x, const llmr_jv_t *fc)
{
    llmr_jv_t     *name, *args, *id;
    llmr_xpart_t  *part;

    name = llmr_xreq_gget(fc, "name");
    args = llmr_xreq_gget(fc, "args");
    id = llmr_xreq_gget(fc, "id");

    if (!llmr_jv_is_type(name, LLMR_V_STRING)
        || (args != NULL && args->type != LLMR_V_MAP)
        || (id != NULL && id->type != LLMR_V_STRING))
    {
        return llmr_xreq_fail(x, "contents.parts.functionCall",
                              "not {name, args, id}");
    }

    part = llmr_xreq_part(x, LLMR_XP_CALL);
    if (part == NULL) {
        return LLMR_ERROR;
    }

    part->b = llmr_xs(name);
    part->v = args;
    part->args = args != NULL ? LLMR_XA_MAP : LLMR_XA_EMPTY;

    /* no id: "call_<n>", n the call's place in the request */

    if (id != NULL && id->len) {
        part->a = llmr_xs(id);

    } else {
        part->id_gen = 1;
    }

    return LLMR_OK;
}


static int
llmr_xreq_gemini_response(llmr_xreq_t *x, const llmr_jv_t *fr)
{
    llmr_jv_t     *name, *resp, *id;
    llmr_xpart_t  *part;

    name = llmr_xreq_gget(fr, "name");
    resp = llmr_xreq_gget(fr, "response");
    id = llmr_xreq_gget(fr, "id");

    if (!llmr_jv_is_type(name, LLMR_V_STRING)
        || (resp != NULL && resp->type != LLMR_V_MAP)
        || (id != NULL && id->type != LLMR_V_STRING))
    {
        return llmr_xreq_fail(x, "contents.parts.functionResponse",
                              "not {name, response, id}");
    }

    part = llmr_xreq_part(x, LLMR_XP_RESULT);
    if (part == NULL) {
        return LLMR_ERROR;
    }

    part->b = llmr_xs(name);
    part->has_name = 1;
    part->v = resp;
    part->res = resp != NULL ? LLMR_XR_OBJ : LLMR_XR_NONE;

    if (id != NULL && id->len) {
        part->a = llmr_xs(id);
    }

    /* no id: the latest call of that name not answered yet */

    llmr_xreq_match(x, part);

    if (part->a.s == NULL && !part->id_gen) {
        llmr_xreq_block_others(x, "functionResponse");
    }

    return LLMR_OK;
}


static int
llmr_xreq_gemini_system(llmr_xreq_t *x, const llmr_jv_t *si)
{
    llmr_jv_t  *parts, *e, *t;

    parts = llmr_xreq_gget(si, "parts");

    if (si->type != LLMR_V_MAP || !llmr_jv_is_type(parts, LLMR_V_ARRAY)) {
        return llmr_xreq_fail(x, "systemInstruction.parts", "not an array");
    }

    for (e = parts->child; e; e = e->next) {
        t = llmr_xreq_gget(e, "text");

        if (!llmr_jv_is_type(t, LLMR_V_STRING)) {
            /* an image, a file in the system instruction */
            llmr_xreq_block_others(x, "systemInstruction");
            continue;
        }

        if (llmr_xreq_sys(x, t) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_gemini_tools(llmr_xreq_t *x, const llmr_jv_t *tools)
{
    int         k;
    llmr_jv_t  *e, *m;

    if (tools->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "tools", "not an array");
    }

    for (e = tools->child; e; e = e->next) {
        if (e->type != LLMR_V_MAP) {
            return llmr_xreq_fail(x, "tools", "not an object");
        }

        for (m = e->child; m; m = m->next) {
            if (m->type == LLMR_V_NULL) {
                continue;
            }

            k = llmr_xreq_key(x, m, llmr_xreq_gemini_tool_keys, 1);

            if (k > 0) {
                llmr_xreq_block_others(x, llmr_xreq_gemini_tool_keys[k]);

            } else if (k == 0 && llmr_xreq_gemini_decls(x, m) != LLMR_OK) {
                return LLMR_ERROR;
            }
        }
    }

    return LLMR_OK;
}


static int
llmr_xreq_gemini_decls(llmr_xreq_t *x, const llmr_jv_t *decls)
{
    llmr_jv_t     *e, *name, *desc, *params, *js;
    llmr_xtool_t  *t;

    if (decls->type != LLMR_V_ARRAY) {
        return llmr_xreq_fail(x, "tools.functionDeclarations",
                              "not an array");
    }

    for (e = decls->child; e; e = e->next) {
        name = llmr_xreq_gget(e, "name");
        desc = llmr_xreq_gget(e, "description");
        params = llmr_xreq_gget(e, "parameters");
        js = llmr_xreq_gget(e, "parametersJsonSchema");

        if (!llmr_jv_is_type(name, LLMR_V_STRING)
            || (desc != NULL && desc->type != LLMR_V_STRING)
            || (params != NULL && params->type != LLMR_V_MAP)
            || (js != NULL && js->type != LLMR_V_MAP))
        {
            return llmr_xreq_fail(x, "tools.functionDeclarations",
                                  "not {name, description, parameters}");
        }

        /* response, responseJsonSchema: what the function returns, unsent */

        t = llmr_xreq_tool(x);
        if (t == NULL) {
            return LLMR_ERROR;
        }

        t->name = llmr_xs(name);
        t->desc = desc;
        t->schema = js != NULL ? js : params;
        t->openapi = js == NULL;
    }

    return LLMR_OK;
}


static int
llmr_xreq_gemini_config(llmr_xreq_t *x, const llmr_jv_t *tc)
{
    llmr_jv_t  *fcc, *mode, *names;

    fcc = llmr_xreq_gget(tc, "functionCallingConfig");

    if (tc->type != LLMR_V_MAP || (fcc != NULL && fcc->type != LLMR_V_MAP)) {
        return llmr_xreq_fail(x, "toolConfig.functionCallingConfig",
                              "not an object");
    }

    mode = llmr_xreq_gget(fcc, "mode");
    names = llmr_xreq_gget(fcc, "allowedFunctionNames");

    if (names != NULL
        && (names->type != LLMR_V_ARRAY
            || (names->n && names->child->type != LLMR_V_STRING)))
    {
        return llmr_xreq_fail(x, "allowedFunctionNames", "not strings");
    }

    if (mode == NULL || llmr_jv_is(mode, "MODE_UNSPECIFIED")) {
        x->tool_choice = LLMR_XTC_UNSET;

    } else if (llmr_jv_is(mode, "AUTO")) {
        x->tool_choice = LLMR_XTC_AUTO;

    } else if (llmr_jv_is(mode, "NONE")) {
        x->tool_choice = LLMR_XTC_NONE;

    } else if (llmr_jv_is(mode, "ANY")) {
        x->tool_choice = LLMR_XTC_REQUIRED;

        /* one function allowed: that function */
        if (names != NULL && names->n == 1) {
            x->tool_choice = LLMR_XTC_NAMED;
            x->tc_name = llmr_xs(names->child);
            names = NULL;
        }

    } else {
        /* VALIDATED */
        llmr_xreq_block_others(x, "functionCallingConfig.mode");
    }

    if (names != NULL && names->n) {
        llmr_xreq_block_others(x, "allowedFunctionNames");
    }

    return LLMR_OK;
}


static int
llmr_xreq_gemini_gen(llmr_xreq_t *x, const llmr_jv_t *gc)
{
    uint64_t  seen;

    if (gc->type != LLMR_V_MAP) {
        return llmr_xreq_fail(x, "generationConfig", "not an object");
    }

    if (llmr_xreq_members(x, gc, llmr_xreq_gemini_gen_keys, 1,
                          llmr_xreq_gemini_gen_member, NULL, &seen)
        != LLMR_OK)
    {
        return LLMR_ERROR;
    }

    /* a schema says nothing without the JSON type */

    if (x->json != LLMR_XJ_OBJECT) {
        x->json_schema = NULL;
        return LLMR_OK;
    }

    if (x->json_schema != NULL) {
        x->json = LLMR_XJ_SCHEMA;
    }

    /* Anthropic has no JSON mode */
    llmr_xreq_block(x, LLMR_XREQ_ANTHROPIC_BIT, "responseMimeType");

    return LLMR_OK;
}


static int
llmr_xreq_gemini_gen_member(llmr_xreq_t *x, int k, llmr_jv_t *m,
    void *data)
{
    const char  *name;
    llmr_jv_t   *e;

    name = llmr_xreq_gemini_gen_keys[k];

    if (k >= LLMR_XGC_BLOCKING) {
        llmr_xreq_block_others(x, name);
        return LLMR_OK;
    }

    if (k <= LLMR_XGC_FREQUENCY_PENALTY && m->type != LLMR_V_NUMBER) {
        return llmr_xreq_fail(x, name, "not a number");
    }

    switch (k) {

    case LLMR_XGC_TEMPERATURE:
        x->p.temperature = m;
        break;

    case LLMR_XGC_TOP_P:
        x->p.top_p = m;
        break;

    case LLMR_XGC_TOP_K:
        x->p.top_k = m;
        llmr_xreq_block(x, LLMR_XREQ_OPENAI_BIT, name);
        break;

    case LLMR_XGC_MAX_OUTPUT_TOKENS:
        x->p.max_tokens = m;
        break;

    case LLMR_XGC_CANDIDATE_COUNT:
        x->p.n = m;

        if (llmr_jv_number(m, 1) != 1) {
            llmr_xreq_block(x, LLMR_XREQ_ANTHROPIC_BIT, name);
        }

        break;

    case LLMR_XGC_SEED:
        x->p.seed = m;
        llmr_xreq_block(x, LLMR_XREQ_ANTHROPIC_BIT, name);
        break;

    case LLMR_XGC_PRESENCE_PENALTY:
    case LLMR_XGC_FREQUENCY_PENALTY:
        if (k == LLMR_XGC_PRESENCE_PENALTY) {
            x->p.presence = m;

        } else {
            x->p.frequency = m;
        }

        if (llmr_jv_number(m, 0) != 0) {
            llmr_xreq_block(x, LLMR_XREQ_ANTHROPIC_BIT, name);
        }

        break;

    case LLMR_XGC_STOP_SEQUENCES:
        if (m->type != LLMR_V_ARRAY) {
            return llmr_xreq_fail(x, name, "not an array");
        }

        for (e = m->child; e; e = e->next) {
            if (e->type != LLMR_V_STRING) {
                return llmr_xreq_fail(x, name, "not a string");
            }
        }

        /* OpenAI takes four */
        if (m->n > 4) {
            llmr_xreq_block(x, LLMR_XREQ_OPENAI_BIT, name);
        }

        x->stop = m;
        break;

    case LLMR_XGC_RESPONSE_MIME_TYPE:
        if (llmr_jv_is(m, "application/json")) {
            x->json = LLMR_XJ_OBJECT;

        } else if (!llmr_jv_is(m, "text/plain")) {
            /* text/x.enum */
            llmr_xreq_block_others(x, name);
        }

        break;

    case LLMR_XGC_RESPONSE_SCHEMA:
    case LLMR_XGC_RESPONSE_JSON_SCHEMA:
        if (m->type != LLMR_V_MAP) {
            return llmr_xreq_fail(x, name, "not an object");
        }

        /* responseJsonSchema, JSON Schema already, wins */
        if (x->json_schema == NULL || k == LLMR_XGC_RESPONSE_JSON_SCHEMA) {
            x->json_schema = m;
            x->json_openapi = k == LLMR_XGC_RESPONSE_SCHEMA;
        }

        break;

    case LLMR_XGC_RESPONSE_LOGPROBS:
        if (m->type != LLMR_V_BOOL || m->boolean) {
            llmr_xreq_block_others(x, name);
        }

        break;

    case LLMR_XGC_THINKING_CONFIG:
        /* a thinking budget: each model thinks its own way; thoughts out */
        e = llmr_xreq_gget(m, "includeThoughts");

        if (llmr_jv_is_type(e, LLMR_V_BOOL) && e->boolean) {
            llmr_xreq_block_others(x, name);
        }

        break;

    case LLMR_XGC_RESPONSE_MODALITIES:
        if (m->type != LLMR_V_ARRAY) {
            return llmr_xreq_fail(x, name, "not an array");
        }

        for (e = m->child; e; e = e->next) {
            if (!llmr_jv_is(e, "TEXT")) {
                llmr_xreq_block_others(x, name);
            }
        }

        break;

    default:
        /* mediaResolution: not sent */
        break;
    }

    return LLMR_OK;
}


/* the writer */


void
llmr_xreq_write_gemini(llmr_xreq_t *x, const llmr_xreq_conf_t *conf)
{
    uint32_t      i;
    llmr_jbuf_t  *b;

    b = &x->out;

    /* no model, no stream: the path has them */

    llmr_jbuf_lit(b, "{\"contents\":[");

    for (i = 0; i < x->nmsgs; i++) {
        if (i) {
            llmr_jbuf_char(b, ',');
        }

        llmr_xreq_gemini_msg(x, &x->msgs[i]);
    }

    llmr_jbuf_char(b, ']');

    if (x->nsystem) {
        llmr_jbuf_lit(b, ",\"systemInstruction\":{\"parts\":[");

        for (i = 0; i < x->nsystem; i++) {
            if (i) {
                llmr_jbuf_char(b, ',');
            }

            llmr_jbuf_lit(b, "{\"text\":");
            llmr_xreq_xs(b, x->system[i]);
            llmr_jbuf_char(b, '}');
        }

        llmr_jbuf_lit(b, "]}");
    }

    if (x->ntools) {
        llmr_xreq_gemini_write_tools(x);
    }

    llmr_xreq_gemini_write_gen(x);

    llmr_jbuf_char(b, '}');
}


static void
llmr_xreq_gemini_msg(llmr_xreq_t *x, const llmr_xmsg_t *m)
{
    uint32_t       i;
    llmr_jbuf_t   *b;
    llmr_xpart_t  *p;

    b = &x->out;

    if (m->assistant) {
        llmr_jbuf_lit(b, "{\"role\":\"model\",\"parts\":[");

    } else {
        llmr_jbuf_lit(b, "{\"role\":\"user\",\"parts\":[");
    }

    if (m->n == 0) {
        llmr_jbuf_lit(b, "{\"text\":\"\"}");
    }

    for (i = m->first; i < m->first + m->n; i++) {
        p = &x->parts[i];

        if (i > m->first) {
            llmr_jbuf_char(b, ',');
        }

        switch (p->type) {

        case LLMR_XP_TEXT:
            llmr_jbuf_lit(b, "{\"text\":");
            llmr_xreq_xs(b, p->a);
            llmr_jbuf_char(b, '}');
            break;

        case LLMR_XP_IMAGE:
            llmr_jbuf_lit(b, "{\"inlineData\":{\"mimeType\":");
            llmr_xreq_xs(b, p->b);
            llmr_jbuf_lit(b, ",\"data\":");
            llmr_xreq_xs(b, p->a);
            llmr_jbuf_lit(b, "}}");
            break;

        case LLMR_XP_CALL:
            llmr_jbuf_lit(b, "{\"functionCall\":{\"name\":");
            llmr_xreq_xs(b, p->b);
            llmr_jbuf_lit(b, ",\"args\":");
            llmr_xreq_args_map(x, p);
            llmr_jbuf_lit(b, "}}");
            break;

        case LLMR_XP_RESULT:
            llmr_jbuf_lit(b, "{\"functionResponse\":{\"name\":");
            llmr_xreq_xs(b, p->b);

            if (p->is_error) {
                llmr_jbuf_lit(b, ",\"response\":{\"error\":");

            } else {
                llmr_jbuf_lit(b, ",\"response\":{\"content\":");
            }

            llmr_xreq_result_str(b, p);
            llmr_jbuf_lit(b, "}}}");
            break;

        default:
            /* an image URL blocks Gemini: never here */
            llmr_jbuf_lit(b, "{\"text\":\"\"}");
            break;
        }
    }

    llmr_jbuf_lit(b, "]}");
}


static void
llmr_xreq_gemini_write_tools(llmr_xreq_t *x)
{
    uint32_t       i;
    llmr_jbuf_t   *b;
    llmr_xtool_t  *t;

    b = &x->out;

    llmr_jbuf_lit(b, ",\"tools\":[{\"functionDeclarations\":[");

    for (i = 0; i < x->ntools; i++) {
        t = &x->tools[i];

        if (i) {
            llmr_jbuf_char(b, ',');
        }

        llmr_jbuf_lit(b, "{\"name\":");
        llmr_xreq_xs(b, t->name);

        if (t->desc != NULL) {
            llmr_jbuf_lit(b, ",\"description\":");
            llmr_jbuf_value(b, t->desc);
        }

        /* JSON Schema as it is, not Gemini's OpenAPI subset */
        if (t->schema != NULL) {
            llmr_jbuf_lit(b, ",\"parametersJsonSchema\":");
            llmr_jbuf_value(b, t->schema);
        }

        llmr_jbuf_char(b, '}');
    }

    llmr_jbuf_lit(b, "]}]");

    switch (x->tool_choice) {

    case LLMR_XTC_AUTO:
        llmr_jbuf_lit(b, ",\"toolConfig\":{\"functionCallingConfig\":"
                      "{\"mode\":\"AUTO\"}}");
        break;

    case LLMR_XTC_NONE:
        llmr_jbuf_lit(b, ",\"toolConfig\":{\"functionCallingConfig\":"
                      "{\"mode\":\"NONE\"}}");
        break;

    case LLMR_XTC_REQUIRED:
        llmr_jbuf_lit(b, ",\"toolConfig\":{\"functionCallingConfig\":"
                      "{\"mode\":\"ANY\"}}");
        break;

    case LLMR_XTC_NAMED:
        llmr_jbuf_lit(b, ",\"toolConfig\":{\"functionCallingConfig\":"
                      "{\"mode\":\"ANY\",\"allowedFunctionNames\":[");
        llmr_xreq_xs(b, x->tc_name);
        llmr_jbuf_lit(b, "]}}");
        break;
    }
}


static void
llmr_xreq_gemini_write_gen(llmr_xreq_t *x)
{
    int           sep;
    llmr_jbuf_t  *b;

    b = &x->out;
    sep = 0;

#define llmr_xreq_gen_key(name)                                               \
    if (sep++ == 0) {                                                         \
        llmr_jbuf_lit(b, ",\"generationConfig\":{");                          \
    }                                                                         \
    llmr_jbuf_key(b, sep > 1, name)

#define llmr_xreq_gen_param(f, name)                                          \
    if (x->p.f != NULL) {                                                     \
        llmr_xreq_gen_key(name);                                              \
        llmr_jbuf_value(b, x->p.f);                                           \
    }

    llmr_xreq_gen_param(max_tokens, "maxOutputTokens");
    llmr_xreq_gen_param(temperature, "temperature");
    llmr_xreq_gen_param(top_p, "topP");
    llmr_xreq_gen_param(top_k, "topK");

    if (x->stop != NULL) {
        llmr_xreq_gen_key("stopSequences");
        llmr_xreq_stop(b, x->stop);
    }

    llmr_xreq_gen_param(n, "candidateCount");
    llmr_xreq_gen_param(seed, "seed");
    llmr_xreq_gen_param(presence, "presencePenalty");
    llmr_xreq_gen_param(frequency, "frequencyPenalty");

    if (x->json == LLMR_XJ_OBJECT || x->json == LLMR_XJ_SCHEMA) {
        llmr_xreq_gen_key("responseMimeType");
        llmr_jbuf_lit(b, "\"application/json\"");

        if (x->json == LLMR_XJ_SCHEMA) {
            llmr_jbuf_lit(b, ",\"responseJsonSchema\":");
            llmr_jbuf_value(b, x->json_schema);
        }
    }

#undef llmr_xreq_gen_param
#undef llmr_xreq_gen_key

    if (sep) {
        llmr_jbuf_char(b, '}');
    }
}
