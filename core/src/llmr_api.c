
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include <llmr/api.h>
#include <llmr/extract.h>


typedef struct {
    const char                 *name;
    size_t                      len;
    int                         kind;
} llmr_ep_prefix_t;

#define llmr_ep(s, kind)        { s, sizeof(s) - 1, kind }


static const char  *llmr_api_names[LLMR_API_N] = {
    "openai", "anthropic", "gemini"
};


static const char  *llmr_api_paths[LLMR_API_N] = {
    "/v1", "/v1", "/v1beta"
};


static const char  *llmr_kind_names[LLMR_EP_N] = {
    "generate", "count_tokens", "embeddings", "moderations", "models",
    "files", "batches", "audio", "images", "other"
};


/*
 * Providers whose own endpoint speaks a known API: the three vendors, and
 * the hosts and servers that speak OpenAI's (Anthropic's and Google's
 * OpenAI-compatible endpoints are configured with api=openai).
 */

static const char  *llmr_openai_providers[] = {
    "openai", "azure", "azure_openai", "vllm", "llamacpp", "llama_cpp",
    "llama-cpp", "ollama", "sglang", "tgi", "lmstudio", "localai",
    "groq", "together", "fireworks", "deepseek", "mistral", "openrouter",
    "xai", "perplexity", "cerebras", "deepinfra", "nvidia", "nim",
    "sambanova", "hyperbolic", "novita", "moonshot", "qwen", "dashscope",
    NULL
};


/* the non-generation endpoints of each API, by the path after the root */

static const llmr_ep_prefix_t  llmr_openai_eps[] = {
    llmr_ep("/responses/input_tokens", LLMR_EP_COUNT_TOKENS),
    llmr_ep("/embeddings", LLMR_EP_EMBEDDINGS),
    llmr_ep("/moderations", LLMR_EP_MODERATIONS),
    llmr_ep("/models", LLMR_EP_MODELS),
    llmr_ep("/files", LLMR_EP_FILES),
    llmr_ep("/uploads", LLMR_EP_FILES),
    llmr_ep("/batches", LLMR_EP_BATCHES),
    llmr_ep("/audio", LLMR_EP_AUDIO),
    llmr_ep("/images", LLMR_EP_IMAGES),
    { NULL, 0, 0 }
};

static const llmr_ep_prefix_t  llmr_anthropic_eps[] = {
    llmr_ep("/messages/count_tokens", LLMR_EP_COUNT_TOKENS),
    llmr_ep("/messages/batches", LLMR_EP_BATCHES),
    llmr_ep("/models", LLMR_EP_MODELS),
    llmr_ep("/files", LLMR_EP_FILES),
    { NULL, 0, 0 }
};

static const llmr_ep_prefix_t  llmr_gemini_eps[] = {
    llmr_ep("/models", LLMR_EP_MODELS),
    llmr_ep("/tunedModels", LLMR_EP_MODELS),
    llmr_ep("/files", LLMR_EP_FILES),
    llmr_ep("/batches", LLMR_EP_BATCHES),
    { NULL, 0, 0 }
};

/* the generations of OpenAI's and Anthropic's APIs, by how a path ends */

typedef struct {
    const char                 *name;
    size_t                      len;
    int                         api;
    int                         format;
} llmr_generation_t;

static const llmr_generation_t  llmr_generations[] = {
    { "/messages", 9, LLMR_API_ANTHROPIC, LLMR_FMT_ANTHROPIC },
    { "/chat/completions", 17, LLMR_API_OPENAI, LLMR_FMT_OPENAI_CHAT },
    { "/completions", 12, LLMR_API_OPENAI, LLMR_FMT_OPENAI_COMPLETIONS },
    { "/responses", 10, LLMR_API_OPENAI, LLMR_FMT_OPENAI_RESPONSES }
};


/* Gemini's methods, ":method" after a model */

static const llmr_ep_prefix_t  llmr_gemini_methods[] = {
    llmr_ep("generateContent", LLMR_EP_GENERATE),
    llmr_ep("streamGenerateContent", LLMR_EP_GENERATE),
    llmr_ep("countTokens", LLMR_EP_COUNT_TOKENS),
    llmr_ep("embedContent", LLMR_EP_EMBEDDINGS),
    llmr_ep("batchEmbedContents", LLMR_EP_EMBEDDINGS),
    llmr_ep("batchGenerateContent", LLMR_EP_BATCHES),
    { NULL, 0, 0 }
};


static int llmr_ends(const char *s, size_t len, const char *suffix,
    size_t n);
static int llmr_segment_prefix(const char *s, size_t len, const char *p,
    size_t n);
static int llmr_version_segment(const char *s, size_t len);
static int llmr_ep_lookup(const llmr_ep_prefix_t *eps, const char *s,
    size_t len);
static int llmr_gemini_method(const char *path, size_t len,
    llmr_endpoint_t *ep);


const char *
llmr_api_name(int api)
{
    if (api < 0 || api >= LLMR_API_N) {
        return "unknown";
    }

    return llmr_api_names[api];
}


int
llmr_api_parse(const char *s, size_t len)
{
    int  i;

    for (i = 0; i < LLMR_API_N; i++) {
        if (strlen(llmr_api_names[i]) == len
            && memcmp(llmr_api_names[i], s, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


int
llmr_api_of_provider(const char *s, size_t len)
{
    int  i;

    if (len == 9 && memcmp(s, "anthropic", 9) == 0) {
        return LLMR_API_ANTHROPIC;
    }

    if ((len == 6 && memcmp(s, "google", 6) == 0)
        || (len == 6 && memcmp(s, "gemini", 6) == 0)
        || (len == 6 && memcmp(s, "vertex", 6) == 0))
    {
        return LLMR_API_GEMINI;
    }

    for (i = 0; llmr_openai_providers[i]; i++) {
        if (strlen(llmr_openai_providers[i]) == len
            && memcmp(llmr_openai_providers[i], s, len) == 0)
        {
            return LLMR_API_OPENAI;
        }
    }

    return -1;
}


const char *
llmr_api_default_path(int api)
{
    if (api < 0 || api >= LLMR_API_N) {
        return "";
    }

    return llmr_api_paths[api];
}


const char *
llmr_endpoint_kind_name(int kind)
{
    if (kind < 0 || kind >= LLMR_EP_N) {
        return "unknown";
    }

    return llmr_kind_names[kind];
}


void
llmr_endpoint_parse(const char *path, size_t len, int post, unsigned hints,
    llmr_endpoint_t *ep)
{
    size_t                    i, n;
    const char               *q;
    const llmr_generation_t  *g;

    memset(ep, 0, sizeof(llmr_endpoint_t));

    ep->api = LLMR_API_OPENAI;
    ep->kind = LLMR_EP_OTHER;
    ep->format = LLMR_FMT_UNKNOWN;

    q = memchr(path, '?', len);

    if (q) {
        len = q - path;
    }

    /* the first version segment: "/v1", "/v1beta", "/v2alpha", ... */

    ep->rest.data = path;
    ep->rest.len = len;

    for (i = 0; i < len; i++) {
        if (path[i] == '/' && llmr_version_segment(path + i, len - i)) {
            ep->root.data = path + i;
            ep->root.len = 1;

            while (i + ep->root.len < len && path[i + ep->root.len] != '/') {
                ep->root.len++;
            }

            ep->rest.data = path + i + ep->root.len;
            ep->rest.len = len - i - ep->root.len;
            break;
        }
    }

    /* Gemini names its methods after a colon: models/X:generateContent */

    if (llmr_gemini_method(path, len, ep) == LLMR_OK) {
        return;
    }

    /*
     * Generations are recognised by how the path ends, whatever mounts
     * it (a trailing '/' aside); OpenAI's assistants also have
     * ".../messages", under /threads.
     */

    for (n = len; n > 1 && path[n - 1] == '/'; n--) {
        /* void */
    }

    for (i = 0; i < sizeof(llmr_generations) / sizeof(llmr_generations[0]);
         i++)
    {
        g = &llmr_generations[i];

        if (!llmr_ends(path, n, g->name, g->len)) {
            continue;
        }

        if (g->api == LLMR_API_ANTHROPIC) {
            if (llmr_segment_prefix(ep->rest.data, ep->rest.len, "/threads",
                                    8))
            {
                continue;
            }

            ep->api = LLMR_API_ANTHROPIC;

            if (!post) {
                return;
            }

        } else if (!post) {
            continue;
        }

        ep->kind = LLMR_EP_GENERATE;
        ep->format = g->format;
        ep->rest.data = path + n - g->len;
        ep->rest.len = g->len;
        return;
    }

    /* the rest passes through; which API's upstream takes it */

    if (llmr_segment_prefix(ep->rest.data, ep->rest.len, "/messages", 9)) {
        ep->api = LLMR_API_ANTHROPIC;

    } else if ((ep->root.len > 3
                && (memcmp(ep->root.data + ep->root.len - 4, "beta", 4) == 0
                    || (ep->root.len > 4
                        && memcmp(ep->root.data + ep->root.len - 5, "alpha",
                                  5) == 0)))
               || (hints & LLMR_HINT_GEMINI))
    {
        ep->api = LLMR_API_GEMINI;

    } else if (hints & LLMR_HINT_ANTHROPIC) {
        ep->api = LLMR_API_ANTHROPIC;
    }

    switch (ep->api) {

    case LLMR_API_ANTHROPIC:
        ep->kind = llmr_ep_lookup(llmr_anthropic_eps, ep->rest.data,
                                  ep->rest.len);
        break;

    case LLMR_API_GEMINI:
        ep->kind = llmr_ep_lookup(llmr_gemini_eps, ep->rest.data,
                                  ep->rest.len);
        break;

    default:
        ep->kind = llmr_ep_lookup(llmr_openai_eps, ep->rest.data,
                                  ep->rest.len);
        break;
    }

    /* a POST to a path of the operator's: the body will tell */

    if (post && ep->kind == LLMR_EP_OTHER && ep->root.len == 0) {
        ep->kind = LLMR_EP_GENERATE;
        ep->detect = 1;
    }
}


int
llmr_api_of_format(int format)
{
    switch (format) {

    case LLMR_FMT_ANTHROPIC:
        return LLMR_API_ANTHROPIC;

    case LLMR_FMT_GEMINI:
        return LLMR_API_GEMINI;

    default:
        return LLMR_API_OPENAI;
    }
}


void
llmr_endpoint_set_format(llmr_endpoint_t *ep, int format, int stream)
{
    static const llmr_str_t  rests[LLMR_FMT_N] = {
        { "/chat/completions", 17 },    /* unknown */
        { "/chat/completions", 17 },
        { "/completions", 12 },
        { "/responses", 10 },
        { "/messages", 9 },
        { "", 0 },                      /* Gemini: built from the model */
    };

    if (format < 0 || format >= LLMR_FMT_N) {
        format = LLMR_FMT_UNKNOWN;
    }

    ep->api = llmr_api_of_format(format);
    ep->format = format;
    ep->kind = LLMR_EP_GENERATE;
    ep->rest = rests[format];
    ep->root.len = 0;
    ep->model.len = 0;
    ep->collection.len = 0;
    ep->stream = (format == LLMR_FMT_GEMINI && stream);
    ep->detect = 1;
}


/* "models/gemini-2.0-flash:generateContent" as the path's last segment */

static int
llmr_gemini_method(const char *path, size_t len, llmr_endpoint_t *ep)
{
    int          kind;
    size_t       i, n, colon, slash, prev;
    const char  *m;

    colon = 0;

    for (i = len; i > 0; i--) {
        if (path[i - 1] == '/') {
            break;
        }

        if (path[i - 1] == ':' && colon == 0) {
            colon = i - 1;
        }
    }

    if (colon == 0 || i == 0) {
        return LLMR_DECLINED;
    }

    slash = i - 1;
    m = path + colon + 1;
    n = len - colon - 1;

    /* exact method names only: "generateContentX" is not one */

    for (i = 0; llmr_gemini_methods[i].name; i++) {
        if (llmr_gemini_methods[i].len == n
            && memcmp(llmr_gemini_methods[i].name, m, n) == 0)
        {
            break;
        }
    }

    if (llmr_gemini_methods[i].name == NULL || colon == slash + 1) {
        return LLMR_DECLINED;
    }

    kind = llmr_gemini_methods[i].kind;

    ep->api = LLMR_API_GEMINI;
    ep->kind = kind;
    ep->method.data = m;
    ep->method.len = n;
    ep->model.data = path + slash + 1;
    ep->model.len = colon - slash - 1;

    for (prev = slash; prev > 0 && path[prev - 1] != '/'; prev--) {
        /* void */
    }

    ep->collection.data = path + prev;
    ep->collection.len = slash - prev;

    if (kind == LLMR_EP_GENERATE) {
        ep->format = LLMR_FMT_GEMINI;
        ep->stream = (ep->method.len == 21);    /* streamGenerateContent */
    }

    return LLMR_OK;
}


static int
llmr_ep_lookup(const llmr_ep_prefix_t *eps, const char *s, size_t len)
{
    for ( /* void */ ; eps->name; eps++) {
        if (llmr_segment_prefix(s, len, eps->name, eps->len)) {
            return eps->kind;
        }
    }

    return LLMR_EP_OTHER;
}


static int
llmr_ends(const char *s, size_t len, const char *suffix, size_t n)
{
    while (len > 1 && s[len - 1] == '/') {
        len--;
    }

    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}


/* s starts with p, followed by the end, '/' or ':' */

static int
llmr_segment_prefix(const char *s, size_t len, const char *p, size_t n)
{
    return len >= n && memcmp(s, p, n) == 0
           && (len == n || s[n] == '/' || s[n] == ':');
}


/* "/v1" or "/v1beta" and the like, a whole segment */

static int
llmr_version_segment(const char *s, size_t len)
{
    size_t  i;

    if (len < 3 || s[1] != 'v' || s[2] < '0' || s[2] > '9') {
        return 0;
    }

    for (i = 3; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        /* void */
    }

    if (i + 4 <= len && memcmp(s + i, "beta", 4) == 0) {
        i += 4;

    } else if (i + 5 <= len && memcmp(s + i, "alpha", 5) == 0) {
        i += 5;
    }

    while (i < len && s[i] >= '0' && s[i] <= '9') {
        i++;
    }

    return i == len || s[i] == '/';
}


/*
 * The request line.  An unreserved or path character is copied, anything
 * else %-escaped; the query is the client's, already escaped.
 */

static const char  llmr_hex[] = "0123456789ABCDEF";


static int
llmr_path_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:@/", c);
}


typedef struct {
    char                       *p;
    char                       *last;
    int                         overflow;
} llmr_out_t;


static void
llmr_out_path(llmr_out_t *o, const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c != '\0' && llmr_path_char(c)) {
            if (o->last - o->p < 1) {
                o->overflow = 1;
                return;
            }

            *o->p++ = (char) c;
            continue;
        }

        if (o->last - o->p < 3) {
            o->overflow = 1;
            return;
        }

        *o->p++ = '%';
        *o->p++ = llmr_hex[c >> 4];
        *o->p++ = llmr_hex[c & 0xf];
    }
}


static void
llmr_out_raw(llmr_out_t *o, const char *s, size_t len)
{
    if ((size_t) (o->last - o->p) < len) {
        o->overflow = 1;
        return;
    }

    memcpy(o->p, s, len);
    o->p += len;
}


/* the query without its "key" arguments */

static void
llmr_out_args(llmr_out_t *o, const char *args, size_t len, int strip_key)
{
    size_t       n;
    const char  *a, *end, *amp;
    int          first;

    if (len == 0) {
        return;
    }

    if (!strip_key) {
        llmr_out_raw(o, "?", 1);
        llmr_out_raw(o, args, len);
        return;
    }

    first = 1;
    end = args + len;

    for (a = args; a < end; a = amp + 1) {
        amp = memchr(a, '&', end - a);

        if (amp == NULL) {
            amp = end;
        }

        n = amp - a;

        if (n == 0 || (n >= 4 && memcmp(a, "key=", 4) == 0)
            || (n == 3 && memcmp(a, "key", 3) == 0))
        {
            continue;
        }

        llmr_out_raw(o, first ? "?" : "&", 1);
        llmr_out_raw(o, a, n);
        first = 0;
    }
}


size_t
llmr_upstream_uri_max(size_t path_len, const char *base, const char *id,
    size_t args_len)
{
    /* every byte may be escaped; the rest is a method name and a '?' */

    return 3 * (path_len + (base ? strlen(base) : 0) + strlen(id)
                + sizeof("/models/:streamGenerateContent"))
           + args_len + sizeof("?alt=sse");
}


size_t
llmr_upstream_uri(const llmr_endpoint_t *ep, const char *path,
    size_t path_len, int api, const char *base, const char *id,
    const char *args, size_t args_len, int strip_key, char *buf,
    size_t size)
{
    const char  *q, *rest;
    size_t       n;
    llmr_out_t   o;

    o.p = buf;
    o.last = buf + size;
    o.overflow = 0;

    q = memchr(path, '?', path_len);

    if (q) {
        path_len = q - path;
    }

    if (ep->kind != LLMR_EP_GENERATE) {

        /* passed through: the client's path, or the model's base + rest */

        if (base) {
            llmr_out_path(&o, base, strlen(base));
            llmr_out_path(&o, ep->rest.data, ep->rest.len);

        } else {
            llmr_out_path(&o, path, path_len);
        }

    } else if (base == NULL && api == ep->api && !ep->detect) {

        /* the client's own path; a Gemini model is named in it */

        if (api == LLMR_API_GEMINI && ep->model.len) {
            rest = ep->model.data;

            if (strchr(id, '/') && ep->collection.len) {
                rest = ep->collection.data;
            }

            llmr_out_path(&o, path, rest - path);
            llmr_out_path(&o, id, strlen(id));
            n = ep->model.data + ep->model.len - path;
            llmr_out_path(&o, path + n, path_len - n);

        } else {
            llmr_out_path(&o, path, path_len);
        }

    } else {

        /* the model's base path (or its API's usual one) + the endpoint */

        if (base == NULL) {
            base = llmr_api_default_path(api);
        }

        llmr_out_path(&o, base, strlen(base));

        switch (api) {

        case LLMR_API_GEMINI:
            llmr_out_path(&o, strchr(id, '/') ? "/" : "/models/",
                          strchr(id, '/') ? 1 : 8);
            llmr_out_path(&o, id, strlen(id));

            if (ep->stream) {
                llmr_out_raw(&o, ":streamGenerateContent", 22);

            } else {
                llmr_out_raw(&o, ":generateContent", 16);
            }

            break;

        case LLMR_API_ANTHROPIC:
            llmr_out_raw(&o, "/messages", 9);
            break;

        default:
            if (ep->api == LLMR_API_OPENAI) {
                llmr_out_path(&o, ep->rest.data, ep->rest.len);

            } else {
                llmr_out_raw(&o, "/chat/completions", 17);
            }

            break;
        }
    }

    if (ep->kind == LLMR_EP_GENERATE && api != ep->api) {

        /*
         * A translated request: the client's query is its own API's
         * (key=, alt=, beta=), none of the model's; a Gemini stream is
         * asked for as server-sent events.
         */

        if (api == LLMR_API_GEMINI && ep->stream) {
            llmr_out_raw(&o, "?alt=sse", 8);
        }

    } else {
        llmr_out_args(&o, args, args_len, strip_key);
    }

    if (o.overflow) {
        return 0;
    }

    return o.p - buf;
}
