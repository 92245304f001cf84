
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdlib.h>
#include <string.h>

#include "llmr_xreq.h"


/* the output buffer kept between requests */
#define LLMR_XREQ_KEEP          (256 * 1024)

/* how far back a tool result looks for its call, in parts */
#define LLMR_XREQ_MATCH_BACK    1024


static void *llmr_xreq_grow(void *a, uint32_t n, uint32_t *size,
    size_t elt);
static int llmr_xreq_raw_eq(llmr_xs_t a, llmr_xs_t b);
static void llmr_xreq_check_roles(llmr_xreq_t *x);


llmr_xreq_t *
llmr_xreq_create(void)
{
    llmr_xreq_t  *x;

    x = calloc(1, sizeof(llmr_xreq_t));
    if (x == NULL) {
        return NULL;
    }

    llmr_jdoc_init(&x->doc);
    llmr_jdoc_init(&x->scratch);
    llmr_jbuf_init(&x->arena, 0);
    llmr_jbuf_init(&x->out, 0);

    return x;
}


void
llmr_xreq_destroy(llmr_xreq_t *x)
{
    if (x == NULL) {
        return;
    }

    llmr_jdoc_free(&x->doc);
    llmr_jdoc_free(&x->scratch);
    llmr_jbuf_free(&x->arena);
    llmr_jbuf_free(&x->out);
    free(x->system);
    free(x->msgs);
    free(x->parts);
    free(x->tools);
    free(x);
}


int
llmr_xreq_format_ok(int format)
{
    return format == LLMR_FMT_OPENAI_CHAT
           || format == LLMR_FMT_OPENAI_RESPONSES
           || format == LLMR_FMT_ANTHROPIC || format == LLMR_FMT_GEMINI;
}


int
llmr_xreq_parse(llmr_xreq_t *x, int format, const char *body, size_t len)
{
    int  rc;

    x->format = 0;
    x->nsystem = 0;
    x->nmsgs = 0;
    x->nparts = 0;
    x->ncalls = 0;
    x->ntools = 0;

    memset(x->blocker, 0, sizeof(x->blocker));
    memset(&x->p, 0, sizeof(llmr_xparams_t));

    x->stop = NULL;
    x->user = NULL;
    x->tc_name.s = NULL;
    x->tc_name.len = 0;
    x->json_schema = NULL;
    x->json_name = NULL;
    x->json_strict = NULL;
    x->tool_choice = LLMR_XTC_UNSET;
    x->json = LLMR_XJ_UNSET;
    x->json_openapi = 0;
    x->no_parallel = 0;
    x->stream = 0;
    x->include_usage = 0;
    x->unknown[0] = '\0';
    x->error[0] = '\0';

    llmr_jbuf_reset(&x->arena, LLMR_XREQ_KEEP);

    switch (format) {
    case LLMR_FMT_OPENAI_CHAT:
    case LLMR_FMT_OPENAI_RESPONSES:
        x->api = LLMR_API_OPENAI;
        break;
    case LLMR_FMT_ANTHROPIC:
        x->api = LLMR_API_ANTHROPIC;
        break;
    case LLMR_FMT_GEMINI:
        x->api = LLMR_API_GEMINI;
        break;
    default:
        return LLMR_DECLINED;
    }

    if (llmr_jdoc_parse(&x->doc, body, len) != LLMR_OK) {
        return llmr_xreq_fail(x, "body", x->doc.error);
    }

    if (x->doc.root->type != LLMR_V_MAP) {
        return llmr_xreq_fail(x, "body", "not an object");
    }

    switch (x->api) {
    case LLMR_API_OPENAI:
        rc = format == LLMR_FMT_OPENAI_RESPONSES
             ? llmr_xreq_parse_responses(x, x->doc.root)
             : llmr_xreq_parse_openai(x, x->doc.root);
        break;
    case LLMR_API_ANTHROPIC:
        rc = llmr_xreq_parse_anthropic(x, x->doc.root);
        break;
    default:
        rc = llmr_xreq_parse_gemini(x, x->doc.root);
        break;
    }

    if (rc != LLMR_OK) {
        return LLMR_ERROR;
    }

    if (x->arena.failed) {
        return llmr_xreq_fail(x, "body", "out of memory");
    }

    /* Anthropic's conversation starts with the user */
    if (x->nmsgs && x->msgs[0].assistant) {
        llmr_xreq_block(x, 1u << LLMR_API_ANTHROPIC, "first_message_role");
    }

    llmr_xreq_check_roles(x);

    x->format = format;

    return LLMR_OK;
}


const char *
llmr_xreq_blocker(const llmr_xreq_t *x, int api)
{
    if (api < 0 || api >= LLMR_API_N || x->format == 0 || api == x->api) {
        return NULL;
    }

    return x->blocker[api];
}


int
llmr_xreq_write(llmr_xreq_t *x, const llmr_xreq_conf_t *conf,
    const char **out, size_t *len)
{
    if (x->format == 0) {
        return llmr_xreq_fail(x, "body", "no request parsed");
    }

    if (conf->api < 0 || conf->api >= LLMR_API_N) {
        return llmr_xreq_fail(x, "api", "unknown");
    }

    /* the client's own API keeps its body (only the model changes) */
    if (conf->api == x->api || x->blocker[conf->api] != NULL) {
        return LLMR_DECLINED;
    }

    llmr_jbuf_reset(&x->out, LLMR_XREQ_KEEP);

    switch (conf->api) {
    case LLMR_API_OPENAI:
        llmr_xreq_write_openai(x, conf);
        break;
    case LLMR_API_ANTHROPIC:
        llmr_xreq_write_anthropic(x, conf);
        break;
    default:
        llmr_xreq_write_gemini(x, conf);
        break;
    }

    if (x->out.failed) {
        return llmr_xreq_fail(x, "body", "out of memory");
    }

    *out = x->out.data;
    *len = x->out.len;

    return LLMR_OK;
}


int
llmr_xreq_stream(const llmr_xreq_t *x)
{
    return x->stream;
}


void
llmr_xreq_set_stream(llmr_xreq_t *x, int stream)
{
    x->stream = stream ? 1 : 0;
}


const char *
llmr_xreq_error(const llmr_xreq_t *x)
{
    return x->error[0] ? x->error : "no error";
}


size_t
llmr_xreq_memory(const llmr_xreq_t *x)
{
    return sizeof(llmr_xreq_t) + llmr_jdoc_memory(&x->doc)
           + llmr_jdoc_memory(&x->scratch)
           + x->system_size * sizeof(llmr_xs_t)
           + x->msgs_size * sizeof(llmr_xmsg_t)
           + x->parts_size * sizeof(llmr_xpart_t)
           + x->tools_size * sizeof(llmr_xtool_t)
           + x->arena.size + x->out.size;
}


/*
 * A call in a user's turn, a result or an image in the model's: what the
 * client's API may let pass, no other API has a place for
 */

static void
llmr_xreq_check_roles(llmr_xreq_t *x)
{
    uint32_t       i, k;
    llmr_xmsg_t   *m;
    llmr_xpart_t  *p;

    for (i = 0; i < x->nmsgs; i++) {
        m = &x->msgs[i];

        for (k = m->first; k < m->first + m->n; k++) {
            p = &x->parts[k];

            if (m->assistant ? p->type != LLMR_XP_TEXT
                               && p->type != LLMR_XP_CALL
                             : p->type == LLMR_XP_CALL)
            {
                llmr_xreq_block_others(x, "messages.content");
                return;
            }
        }
    }
}


/* the parsers' helpers */


int
llmr_xreq_fail(llmr_xreq_t *x, const char *field, const char *why)
{
    llmr_errorf(x->error, sizeof(x->error), "%s: %s", field,
                why ? why : "invalid");
    return LLMR_ERROR;
}


void
llmr_xreq_block(llmr_xreq_t *x, unsigned apis, const char *name)
{
    int  api;

    for (api = 0; api < LLMR_API_N; api++) {
        if ((apis & (1u << api)) && api != x->api
            && x->blocker[api] == NULL)
        {
            x->blocker[api] = name;
        }
    }
}


/* room for one more element; NULL without memory */

static void *
llmr_xreq_grow(void *a, uint32_t n, uint32_t *size, size_t elt)
{
    void      *p;
    uint32_t   m;

    if (n < *size) {
        return a;
    }

    m = *size ? *size * 2 : 16;

    p = realloc(a, (size_t) m * elt);
    if (p == NULL) {
        return NULL;
    }

    *size = m;

    return p;
}


/* the message parts go to: the last one when of the same role */

llmr_xmsg_t *
llmr_xreq_msg(llmr_xreq_t *x, int assistant)
{
    void         *p;
    llmr_xmsg_t  *m;

    /* consecutive turns of a role are one (Anthropic and Gemini want so) */
    if (x->nmsgs && x->msgs[x->nmsgs - 1].assistant == (assistant != 0)) {
        return &x->msgs[x->nmsgs - 1];
    }

    p = llmr_xreq_grow(x->msgs, x->nmsgs, &x->msgs_size,
                       sizeof(llmr_xmsg_t));
    if (p == NULL) {
        llmr_xreq_fail(x, "messages", "out of memory");
        return NULL;
    }

    x->msgs = p;
    m = &x->msgs[x->nmsgs++];

    m->assistant = assistant != 0;
    m->first = x->nparts;
    m->n = 0;

    return m;
}


/* a part of the last message (the pointer is valid until the next part) */

llmr_xpart_t *
llmr_xreq_part(llmr_xreq_t *x, int type)
{
    void          *p;
    llmr_xpart_t  *part;

    p = llmr_xreq_grow(x->parts, x->nparts, &x->parts_size,
                       sizeof(llmr_xpart_t));
    if (p == NULL) {
        llmr_xreq_fail(x, "messages", "out of memory");
        return NULL;
    }

    x->parts = p;
    part = &x->parts[x->nparts++];

    memset(part, 0, sizeof(llmr_xpart_t));
    part->type = type;

    x->msgs[x->nmsgs - 1].n++;

    if (type == LLMR_XP_CALL) {
        part->gen = x->ncalls++;
    }

    return part;
}


llmr_xtool_t *
llmr_xreq_tool(llmr_xreq_t *x)
{
    void          *p;
    llmr_xtool_t  *t;

    p = llmr_xreq_grow(x->tools, x->ntools, &x->tools_size,
                       sizeof(llmr_xtool_t));
    if (p == NULL) {
        llmr_xreq_fail(x, "tools", "out of memory");
        return NULL;
    }

    x->tools = p;
    t = &x->tools[x->ntools++];

    memset(t, 0, sizeof(llmr_xtool_t));

    return t;
}


int
llmr_xreq_function(llmr_xreq_t *x, const char *field, const llmr_jv_t *f)
{
    llmr_jv_t     *name, *desc, *params;
    llmr_xtool_t  *t;

    name = llmr_jv_get(f, "name");
    desc = llmr_jv_get(f, "description");
    params = llmr_jv_get(f, "parameters");

    if (!llmr_jv_is_type(name, LLMR_V_STRING)
        || (desc != NULL && desc->type != LLMR_V_STRING)
        || (params != NULL && params->type != LLMR_V_MAP))
    {
        return llmr_xreq_fail(x, field, "not {name, description, parameters}");
    }

    /* "strict" is not sent: the others check the schema their own way */

    t = llmr_xreq_tool(x);
    if (t == NULL) {
        return LLMR_ERROR;
    }

    t->name = llmr_xs(name);
    t->desc = desc;
    t->schema = params;

    return LLMR_OK;
}


void
llmr_xreq_openai_tc(llmr_xreq_t *x, const llmr_jv_t *tc,
    const llmr_jv_t *name)
{
    if (tc->type == LLMR_V_STRING) {
        if (llmr_jv_is(tc, "auto")) {
            x->tool_choice = LLMR_XTC_AUTO;

        } else if (llmr_jv_is(tc, "none")) {
            x->tool_choice = LLMR_XTC_NONE;

        } else if (llmr_jv_is(tc, "required")) {
            x->tool_choice = LLMR_XTC_REQUIRED;

        } else {
            llmr_xreq_block_others(x, "tool_choice");
        }

        return;
    }

    if (!llmr_jv_is(llmr_jv_get(tc, "type"), "function")
        || !llmr_jv_is_type(name, LLMR_V_STRING))
    {
        /* allowed_tools, custom, a built-in tool, mcp */
        llmr_xreq_block_others(x, "tool_choice");
        return;
    }

    x->tool_choice = LLMR_XTC_NAMED;
    x->tc_name = llmr_xs(name);
}


int
llmr_xreq_sys(llmr_xreq_t *x, const llmr_jv_t *text)
{
    void  *p;

    p = llmr_xreq_grow(x->system, x->nsystem, &x->system_size,
                       sizeof(llmr_xs_t));
    if (p == NULL) {
        return llmr_xreq_fail(x, "system", "out of memory");
    }

    x->system = p;
    x->system[x->nsystem++] = llmr_xs(text);

    return LLMR_OK;
}


int
llmr_xreq_num(llmr_xreq_t *x, const llmr_jv_t *map, const char *key,
    const llmr_jv_t **v)
{
    llmr_jv_t  *n;

    n = llmr_jv_get(map, key);

    if (n != NULL && n->type != LLMR_V_NUMBER) {
        return llmr_xreq_fail(x, key, "not a number");
    }

    *v = n;

    return LLMR_OK;
}


int
llmr_xreq_image_url(llmr_xreq_t *x, const llmr_jv_t *url)
{
    size_t         i, semi;
    const char    *s;
    llmr_xpart_t  *part;

    s = url->s;

    if (url->len < 5 || memcmp(s, "data:", 5) != 0) {
        part = llmr_xreq_part(x, LLMR_XP_URL);
        if (part == NULL) {
            return LLMR_ERROR;
        }

        part->a = llmr_xs(url);

        /* Gemini fetches no URL but its own files' */
        llmr_xreq_block(x, 1u << LLMR_API_GEMINI, "image_url");

        return LLMR_OK;
    }

    /*
     * data:<media type>;base64,<data>: the pieces are cut at unescaped
     * ';' and ',', which no escape holds, so each is string text still
     */

    semi = 0;

    for (i = 5; i < url->len && s[i] != ','; i++) {
        if (s[i] == ';' && semi == 0) {
            semi = i;
        }
    }

    if (i == url->len || semi == 0 || i - semi != 7
        || memcmp(s + semi, ";base64", 7) != 0
        || semi - 5 < 7 || memcmp(s + 5, "image", 5) != 0
        || (s[10] != '/' && memcmp(s + 10, "\\/", 2) != 0))
    {
        /* not a base64 image: a document, audio, ... */
        llmr_xreq_block_others(x, "data_url");
        return LLMR_OK;
    }

    part = llmr_xreq_part(x, LLMR_XP_IMAGE);
    if (part == NULL) {
        return LLMR_ERROR;
    }

    part->b.s = s + 5;
    part->b.len = semi - 5;
    part->a.s = s + i + 1;
    part->a.len = url->len - i - 1;

    return LLMR_OK;
}


int
llmr_xreq_args_str(llmr_xreq_t *x, llmr_xpart_t *call, const llmr_jv_t *s)
{
    size_t  n, off;

    call->v = s;
    n = llmr_jv_decoded_len(s);

    if (n == 0) {
        call->args = LLMR_XA_EMPTY;
        return LLMR_OK;
    }

    call->args = LLMR_XA_STR;

    /* the raw text is at least as long as its value: decoded in place */

    off = x->arena.len;
    llmr_jbuf_add(&x->arena, s->s, n);

    if (x->arena.failed) {
        return llmr_xreq_fail(x, "arguments", "out of memory");
    }

    (void) llmr_jv_decode(s, x->arena.data + off, n);

    call->off = off;
    call->len = n;

    /* the APIs that take a map need one */

    if (llmr_jdoc_parse(&x->scratch, x->arena.data + off, n) != LLMR_OK
        || x->scratch.root->type != LLMR_V_MAP)
    {
        llmr_xreq_block_others(x, "arguments");
    }

    return LLMR_OK;
}


static int
llmr_xreq_raw_eq(llmr_xs_t a, llmr_xs_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}


void
llmr_xreq_match(llmr_xreq_t *x, llmr_xpart_t *res)
{
    uint32_t       i, stop;
    llmr_xmsg_t   *m;
    llmr_xpart_t  *c;

    /*
     * by name: the responses come in the order of the calls, so the
     * first call of that name not answered yet in the model's last turn
     */

    if (res->a.s == NULL && !res->id_gen && x->nmsgs >= 2
        && x->msgs[x->nmsgs - 2].assistant)
    {
        m = &x->msgs[x->nmsgs - 2];

        for (i = m->first; i < m->first + m->n; i++) {
            c = &x->parts[i];

            if (c->type == LLMR_XP_CALL && !c->answered
                && llmr_xreq_raw_eq(c->b, res->b))
            {
                res->a = c->a;
                res->id_gen = c->id_gen;
                res->gen = c->gen;
                c->answered = 1;
                return;
            }
        }
    }

    stop = x->nparts > LLMR_XREQ_MATCH_BACK
           ? x->nparts - LLMR_XREQ_MATCH_BACK : 0;

    for (i = x->nparts; i > stop; i--) {
        c = &x->parts[i - 1];

        if (c->type != LLMR_XP_CALL) {
            continue;
        }

        if (res->a.s != NULL || res->id_gen) {

            if (res->id_gen ? !(c->id_gen && c->gen == res->gen)
                            : c->id_gen || !llmr_xreq_raw_eq(c->a, res->a))
            {
                continue;
            }

            if (!res->has_name) {
                res->b = c->b;
                res->has_name = 1;
            }

            c->answered = 1;

            return;
        }

        /* else the latest call of that name not answered yet */

        if (c->answered || !llmr_xreq_raw_eq(c->b, res->b)) {
            continue;
        }

        res->a = c->a;
        res->id_gen = c->id_gen;
        res->gen = c->gen;
        c->answered = 1;

        return;
    }
}


/* Gemini's two spellings */


llmr_jv_t *
llmr_xreq_gget(const llmr_jv_t *map, const char *camel)
{
    char        buf[64];
    size_t      n;
    llmr_jv_t  *v;

    v = llmr_jv_get(map, camel);
    if (v != NULL) {
        return v;
    }

    for (n = 0; *camel && n < sizeof(buf) - 2; camel++) {
        if (*camel >= 'A' && *camel <= 'Z') {
            buf[n++] = '_';
            buf[n++] = (char) (*camel - 'A' + 'a');

        } else {
            buf[n++] = *camel;
        }
    }

    buf[n] = '\0';

    return llmr_jv_get(map, buf);
}


int
llmr_xreq_members(llmr_xreq_t *x, const llmr_jv_t *map,
    const char *const *known, int snake, llmr_xreq_member_pt member,
    void *data, uint64_t *seen)
{
    int         k;
    llmr_jv_t  *m;

    *seen = 0;

    for (m = map->child; m; m = m->next) {
        if (m->type == LLMR_V_NULL) {
            continue;
        }

        k = llmr_xreq_key(x, m, known, snake);

        if (k < 0 || (*seen & (1ull << k))) {
            continue;
        }

        *seen |= 1ull << k;

        if (member(x, k, m, data) != LLMR_OK) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


int
llmr_xreq_key(llmr_xreq_t *x, const llmr_jv_t *member,
    const char *const *known, int snake)
{
    int        i, up;
    char       buf[64], *p;
    size_t     n, k;
    llmr_jv_t  key;

    memset(&key, 0, sizeof(llmr_jv_t));
    key.type = LLMR_V_STRING;
    key.s = member->key;
    key.len = member->key_len;
    key.esc = member->key_esc;

    n = llmr_jv_decode(&key, buf, sizeof(buf) - 1);
    buf[n] = '\0';

    if (snake) {
        /* max_output_tokens: maxOutputTokens */
        for (p = buf, up = 0, k = 0; k < n; k++) {
            if (buf[k] == '_' && k > 0 && k + 1 < n) {
                up = 1;
                continue;
            }

            *p++ = (char) (up && buf[k] >= 'a' && buf[k] <= 'z'
                           ? buf[k] - 'a' + 'A' : buf[k]);
            up = 0;
        }

        *p = '\0';
    }

    /* a key longer than the buffer is known by none */
    if (n < sizeof(buf) - 1) {
        for (i = 0; known[i]; i++) {
            if (strcmp(buf, known[i]) == 0) {
                return i;
            }
        }
    }

    /* the first unknown key names the blocker: the others are set then */

    if (x->unknown[0] == '\0') {
        n = llmr_jv_decode(&key, x->unknown, sizeof(x->unknown) - 1);
        x->unknown[n] = '\0';

        if (n == 0) {
            strcpy(x->unknown, "?");
        }
    }

    llmr_xreq_block_others(x, x->unknown);

    return -1;
}


/* the writers' helpers */


void
llmr_xreq_xs(llmr_jbuf_t *b, llmr_xs_t s)
{
    llmr_jbuf_char(b, '"');
    llmr_jbuf_add(b, s.s, s.len);
    llmr_jbuf_char(b, '"');
}


void
llmr_xreq_id(llmr_jbuf_t *b, const llmr_xpart_t *p)
{
    if (p->id_gen) {
        llmr_jbuf_lit(b, "\"call_");
        llmr_jbuf_int(b, p->gen);
        llmr_jbuf_char(b, '"');
        return;
    }

    llmr_xreq_xs(b, p->a);
}


void
llmr_xreq_args_map(llmr_xreq_t *x, const llmr_xpart_t *call)
{
    switch (call->args) {
    case LLMR_XA_MAP:
        llmr_jbuf_value(&x->out, call->v);
        break;
    case LLMR_XA_STR:
        llmr_jbuf_add(&x->out, x->arena.data + call->off, call->len);
        break;
    default:
        llmr_jbuf_lit(&x->out, "{}");
        break;
    }
}


void
llmr_xreq_args_json_str(llmr_xreq_t *x, const llmr_xpart_t *call)
{
    switch (call->args) {
    case LLMR_XA_MAP:
        llmr_jbuf_value_as_str(&x->out, call->v);
        break;
    case LLMR_XA_STR:
        llmr_jbuf_value(&x->out, call->v);
        break;
    default:
        llmr_jbuf_lit(&x->out, "\"{}\"");
        break;
    }
}


void
llmr_xreq_result_str(llmr_jbuf_t *b, const llmr_xpart_t *res)
{
    int         sep;
    llmr_jv_t  *e, *t;

    switch (res->res) {

    case LLMR_XR_STR:
        llmr_jbuf_value(b, res->v);
        return;

    case LLMR_XR_PARTS:
        /* the texts, one per line */
        llmr_jbuf_char(b, '"');

        for (sep = 0, e = res->v->child; e; e = e->next) {
            t = e->type == LLMR_V_STRING ? e : llmr_jv_get(e, "text");

            if (t == NULL || t->type != LLMR_V_STRING) {
                continue;
            }

            if (sep++) {
                llmr_jbuf_lit(b, "\\n");
            }

            llmr_jbuf_add(b, t->s, t->len);
        }

        llmr_jbuf_char(b, '"');
        return;

    case LLMR_XR_OBJ:
        /* {"content": "..."} and the like: the text; else the JSON */
        t = llmr_jv_get(res->v, "content");

        if (!llmr_jv_is_type(t, LLMR_V_STRING)) {
            t = llmr_jv_get(res->v, "output");
        }

        if (!llmr_jv_is_type(t, LLMR_V_STRING)) {
            t = llmr_jv_get(res->v, "result");
        }

        if (!llmr_jv_is_type(t, LLMR_V_STRING)) {
            t = llmr_jv_get(res->v, "error");
        }

        if (llmr_jv_is_type(t, LLMR_V_STRING)) {
            llmr_jbuf_value(b, t);

        } else {
            llmr_jbuf_value_as_str(b, res->v);
        }

        return;

    default:
        llmr_jbuf_lit(b, "\"\"");
        return;
    }
}


void
llmr_xreq_schema(llmr_jbuf_t *b, const llmr_jv_t *v, int openapi)
{
    size_t      i;
    llmr_jv_t  *m;

    if (!openapi || v == NULL
        || (v->type != LLMR_V_MAP && v->type != LLMR_V_ARRAY))
    {
        llmr_jbuf_value(b, v);
        return;
    }

    llmr_jbuf_char(b, v->type == LLMR_V_MAP ? '{' : '[');

    for (m = v->child; m; m = m->next) {
        if (m != v->child) {
            llmr_jbuf_char(b, ',');
        }

        if (v->type == LLMR_V_ARRAY) {
            llmr_xreq_schema(b, m, openapi);
            continue;
        }

        llmr_jbuf_char(b, '"');
        llmr_jbuf_add(b, m->key, m->key_len);
        llmr_jbuf_lit(b, "\":");

        if (m->type != LLMR_V_STRING || m->key_len != 4
            || memcmp(m->key, "type", 4) != 0)
        {
            llmr_xreq_schema(b, m, openapi);
            continue;
        }

        /*
         * OpenAPI's "OBJECT" is JSON Schema's "object"; lower-casing the
         * raw text keeps its escapes valid (none has an upper-case letter
         * but \u's hex digits)
         */

        llmr_jbuf_char(b, '"');

        for (i = 0; i < m->len; i++) {
            llmr_jbuf_char(b, (char) (m->s[i] >= 'A' && m->s[i] <= 'Z'
                                      ? m->s[i] - 'A' + 'a' : m->s[i]));
        }

        llmr_jbuf_char(b, '"');
    }

    llmr_jbuf_char(b, v->type == LLMR_V_MAP ? '}' : ']');
}


void
llmr_xreq_stop(llmr_jbuf_t *b, const llmr_jv_t *stop)
{
    if (stop->type == LLMR_V_STRING) {
        llmr_jbuf_char(b, '[');
        llmr_jbuf_value(b, stop);
        llmr_jbuf_char(b, ']');
        return;
    }

    llmr_jbuf_value(b, stop);
}


void
llmr_xreq_system_str(llmr_xreq_t *x)
{
    uint32_t  i;

    llmr_jbuf_char(&x->out, '"');

    for (i = 0; i < x->nsystem; i++) {
        if (i) {
            llmr_jbuf_lit(&x->out, "\\n\\n");
        }

        llmr_jbuf_add(&x->out, x->system[i].s, x->system[i].len);
    }

    llmr_jbuf_char(&x->out, '"');
}
