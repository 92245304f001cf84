
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include <llmr/registry.h>
#include <llmr/api.h>


#define LLMR_REGISTRY_FILE_MAX  (4 * 1024 * 1024)
#define LLMR_METRICS            5
#define LLMR_PATH_MAX           1024

/*
 * The bytes a name may hold besides letters and digits: model names and
 * ids as providers spell them ("model@version", "org/model:tag"), a
 * provider as a plain token, an upstream as an nginx upstream name or a
 * host:port, [::1]:port.
 */
#define LLMR_MODEL_NAME_CHARS   "._:/@+-"
#define LLMR_PROVIDER_CHARS     "_-"
#define LLMR_UPSTREAM_CHARS     "._:[]-"

/* context=: up to 10 digits times 1000000 stays far inside a uint64_t */
#define LLMR_CONTEXT_DIGITS_MAX 10
/* name, provider, upstream, tiers, input, output, context, caps, id, api,
   path, key_file, max_tokens */
#define LLMR_JSON_KEYS          (13 + LLMR_METRICS)


typedef struct {
    llmr_str_t                  provider;
    llmr_str_t                  upstream;
    llmr_str_t                  tiers;
    llmr_str_t                  input;
    llmr_str_t                  output;
    llmr_str_t                  context;
    llmr_str_t                  max_tokens;
    llmr_str_t                  caps;
    llmr_str_t                  id;
    llmr_str_t                  api;
    llmr_str_t                  path;
    llmr_str_t                  key_file;
    llmr_str_t                  metric[LLMR_METRICS];
} llmr_model_args_t;


/* the parameters of a model, as llm_model arguments and llm_models keys */

typedef struct {
    const char                 *key;
    size_t                      offset;     /* in llmr_model_args_t */
} llmr_model_key_t;

#define llmr_model_key(k, field)                                              \
    { k, offsetof(llmr_model_args_t, field) }

static const llmr_model_key_t  llmr_model_keys[] = {
    llmr_model_key("provider", provider),
    llmr_model_key("upstream", upstream),
    llmr_model_key("tiers", tiers),
    llmr_model_key("tier", tiers),
    llmr_model_key("input", input),
    llmr_model_key("output", output),
    llmr_model_key("context", context),
    llmr_model_key("max_tokens", max_tokens),
    llmr_model_key("caps", caps),
    llmr_model_key("id", id),
    llmr_model_key("api", api),
    llmr_model_key("path", path),
    llmr_model_key("key_file", key_file),
    llmr_model_key("intelligence", metric[0]),
    llmr_model_key("coding", metric[1]),
    llmr_model_key("math", metric[2]),
    llmr_model_key("speed", metric[3]),
    llmr_model_key("ttft", metric[4]),
    { NULL, 0 }
};


/* optional quality and speed data: key, offset in llmr_model_t */

typedef struct {
    const char                 *key;
    size_t                      offset;
} llmr_metric_t;


static const llmr_metric_t  llmr_metrics[LLMR_METRICS] = {
    { "intelligence", offsetof(llmr_model_t, intelligence) },
    { "coding", offsetof(llmr_model_t, coding_index) },
    { "math", offsetof(llmr_model_t, math_index) },
    { "speed", offsetof(llmr_model_t, speed_tps) },
    { "ttft", offsetof(llmr_model_t, ttft_s) },
};


static llmr_str_t *llmr_model_arg(llmr_model_args_t *a, const char *key,
    size_t len);
static int llmr_registry_check_path(const llmr_str_t *s);
static int llmr_registry_check_name(const llmr_str_t *s, const char *extra);
static int llmr_registry_parse_price(const llmr_str_t *s, double *price);
static int llmr_registry_parse_context(const llmr_str_t *s, uint64_t *ctx);
static int llmr_registry_parse_tiers(const llmr_str_t *s, int *lo, int *hi);
static int llmr_registry_insert(llmr_registry_t *reg, const llmr_str_t *name,
    const llmr_model_args_t *a, char *err, size_t errlen);
static int llmr_registry_check_names(llmr_registry_t *reg,
    const llmr_str_t *name, const llmr_model_args_t *a, char *err,
    size_t errlen);
static int llmr_registry_parse_offer(const llmr_str_t *name,
    const llmr_model_args_t *a, llmr_model_t *m, char *err, size_t errlen);
static int llmr_registry_parse_endpoint(const llmr_str_t *name,
    const llmr_model_args_t *a, llmr_model_t *m, char *err, size_t errlen);
static int llmr_registry_parse_metrics(const llmr_model_args_t *a,
    llmr_model_t *m, char *err, size_t errlen);
static int llmr_registry_copy(const llmr_str_t *name,
    const llmr_model_args_t *a, llmr_model_t *m, char *err, size_t errlen);


llmr_registry_t *
llmr_registry_create(void)
{
    return calloc(1, sizeof(llmr_registry_t));
}


void
llmr_registry_destroy(llmr_registry_t *reg)
{
    unsigned       i;
    llmr_model_t  *m;

    if (reg == NULL) {
        return;
    }

    for (i = 0; i < reg->n; i++) {
        m = &reg->models[i];

        if (m->id != m->name) {
            free(m->id);
        }

        free(m->name);
        free(m->provider);
        free(m->upstream);
        free(m->path);
        free(m->key_file);
    }

    free(reg);
}


int
llmr_registry_add(llmr_registry_t *reg, const llmr_str_t *name,
    const llmr_str_t *args, unsigned nargs, char *err, size_t errlen)
{
    size_t              klen;
    unsigned            i;
    const char         *eq;
    llmr_str_t         *slot;
    llmr_model_args_t   a;

    memset(&a, 0, sizeof(llmr_model_args_t));

    for (i = 0; i < nargs; i++) {
        eq = memchr(args[i].data, '=', args[i].len);

        if (eq == NULL) {
            return llmr_errorf(err, errlen,
                               "invalid parameter \"%.*s\"",
                               (int) args[i].len, args[i].data);
        }

        klen = eq - args[i].data;

        slot = llmr_model_arg(&a, args[i].data, klen);

        if (slot == NULL) {
            return llmr_errorf(err, errlen,
                               "unknown parameter \"%.*s\"",
                               (int) args[i].len, args[i].data);
        }

        if (slot->data != NULL) {
            return llmr_errorf(err, errlen,
                               "duplicate parameter \"%.*s\"",
                               (int) args[i].len, args[i].data);
        }

        slot->data = eq + 1;
        slot->len = args[i].len - klen - 1;
    }

    return llmr_registry_insert(reg, name, &a, err, errlen);
}


static int
llmr_registry_insert(llmr_registry_t *reg, const llmr_str_t *name,
    const llmr_model_args_t *a, char *err, size_t errlen)
{
    llmr_model_t  m;

    memset(&m, 0, sizeof(llmr_model_t));

    if (llmr_registry_check_names(reg, name, a, err, errlen) != LLMR_OK
        || llmr_registry_parse_offer(name, a, &m, err, errlen) != LLMR_OK
        || llmr_registry_parse_endpoint(name, a, &m, err, errlen) != LLMR_OK
        || llmr_registry_parse_metrics(a, &m, err, errlen) != LLMR_OK
        || llmr_registry_copy(name, a, &m, err, errlen) != LLMR_OK)
    {
        return LLMR_ERROR;
    }

    m.index = reg->n;
    reg->apis |= llmr_api_bit(m.api);

    reg->models[reg->n++] = m;

    return LLMR_OK;
}


/* the name, free and with room; the provider and the upstream */

static int
llmr_registry_check_names(llmr_registry_t *reg, const llmr_str_t *name,
    const llmr_model_args_t *a, char *err, size_t errlen)
{
    if (llmr_registry_check_name(name, LLMR_MODEL_NAME_CHARS) != LLMR_OK) {
        return llmr_errorf(err, errlen, "invalid model name \"%.*s\"",
                           (int) name->len, name->data);
    }

    if (llmr_registry_find(reg, name->data, name->len) != NULL) {
        return llmr_errorf(err, errlen, "duplicate model \"%.*s\"",
                           (int) name->len, name->data);
    }

    if (reg->n == LLMR_MODELS_MAX) {
        return llmr_errorf(err, errlen,
                           "too many models (at most %d)",
                           LLMR_MODELS_MAX);
    }

    if (a->provider.data == NULL) {
        return llmr_errorf(err, errlen,
                           "model \"%.*s\": missing provider=",
                           (int) name->len, name->data);
    }

    if (llmr_registry_check_name(&a->provider, LLMR_PROVIDER_CHARS)
        != LLMR_OK)
    {
        return llmr_errorf(err, errlen, "invalid provider \"%.*s\"",
                           (int) a->provider.len, a->provider.data);
    }

    if (a->upstream.data == NULL) {
        return llmr_errorf(err, errlen,
                           "model \"%.*s\": missing upstream=",
                           (int) name->len, name->data);
    }

    if (llmr_registry_check_name(&a->upstream, LLMR_UPSTREAM_CHARS)
        != LLMR_OK)
    {
        return llmr_errorf(err, errlen, "invalid upstream \"%.*s\"",
                           (int) a->upstream.len, a->upstream.data);
    }

    return LLMR_OK;
}


/* what the model offers: its tiers, prices, context and capabilities */

static int
llmr_registry_parse_offer(const llmr_str_t *name, const llmr_model_args_t *a,
    llmr_model_t *m, char *err, size_t errlen)
{
    if (a->tiers.data == NULL) {
        return llmr_errorf(err, errlen,
                           "model \"%.*s\": missing tiers=",
                           (int) name->len, name->data);
    }

    if (llmr_registry_parse_tiers(&a->tiers, &m->tier_lo, &m->tier_hi)
        != LLMR_OK)
    {
        if (m->tier_lo > m->tier_hi) {
            return llmr_errorf(err, errlen,
                               "inverted tier range \"%.*s\"",
                               (int) a->tiers.len, a->tiers.data);
        }

        return llmr_errorf(err, errlen,
                           "invalid tiers \"%.*s\" (tiers are "
                           "trivial, simple, moderate, complex, "
                           "expert)",
                           (int) a->tiers.len, a->tiers.data);
    }

    if (a->input.data
        && llmr_registry_parse_price(&a->input, &m->price_in) != LLMR_OK)
    {
        return llmr_errorf(err, errlen, "invalid input price \"%.*s\"",
                           (int) a->input.len, a->input.data);
    }

    if (a->output.data
        && llmr_registry_parse_price(&a->output, &m->price_out) != LLMR_OK)
    {
        return llmr_errorf(err, errlen,
                           "invalid output price \"%.*s\"",
                           (int) a->output.len, a->output.data);
    }

    if (a->context.data
        && llmr_registry_parse_context(&a->context, &m->context) != LLMR_OK)
    {
        return llmr_errorf(err, errlen, "invalid context \"%.*s\"",
                           (int) a->context.len, a->context.data);
    }

    m->max_tokens = LLMR_MAX_TOKENS_DEFAULT;

    if (a->max_tokens.data
        && (llmr_registry_parse_context(&a->max_tokens, &m->max_tokens)
            != LLMR_OK
            || m->max_tokens == 0))
    {
        return llmr_errorf(err, errlen, "invalid max_tokens \"%.*s\"",
                           (int) a->max_tokens.len, a->max_tokens.data);
    }

    if (a->caps.data
        && llmr_caps_parse(a->caps.data, a->caps.len, &m->caps) != LLMR_OK)
    {
        return llmr_errorf(err, errlen,
                           "invalid caps \"%.*s\" (known: vision, "
                           "tools, json, reasoning, audio, "
                           "long_context)",
                           (int) a->caps.len, a->caps.data);
    }

    return LLMR_OK;
}


/* how to reach it: the provider's id, the API, the path, the key file */

static int
llmr_registry_parse_endpoint(const llmr_str_t *name,
    const llmr_model_args_t *a, llmr_model_t *m, char *err, size_t errlen)
{
    if (a->id.data
        && llmr_registry_check_name(&a->id, LLMR_MODEL_NAME_CHARS) != LLMR_OK)
    {
        return llmr_errorf(err, errlen, "invalid id \"%.*s\"",
                           (int) a->id.len, a->id.data);
    }

    if (a->api.data) {
        m->api = llmr_api_parse(a->api.data, a->api.len);

        if (m->api < 0) {
            return llmr_errorf(err, errlen,
                               "invalid api \"%.*s\" (apis are "
                               "openai, anthropic, gemini)",
                               (int) a->api.len, a->api.data);
        }

    } else {
        m->api = llmr_api_of_provider(a->provider.data, a->provider.len);

        if (m->api < 0) {
            return llmr_errorf(err, errlen,
                               "model \"%.*s\": the API of provider "
                               "\"%.*s\" is not known, set api=openai, "
                               "api=anthropic or api=gemini",
                               (int) name->len, name->data,
                               (int) a->provider.len,
                               a->provider.data);
        }
    }

    if (a->path.data && llmr_registry_check_path(&a->path) != LLMR_OK) {
        return llmr_errorf(err, errlen, "invalid path \"%.*s\" (a "
                           "base path such as /v1, without a query "
                           "or a trailing slash)",
                           (int) a->path.len, a->path.data);
    }

    if (a->key_file.data
        && (a->key_file.len == 0 || a->key_file.len > LLMR_PATH_MAX
            || memchr(a->key_file.data, '\0', a->key_file.len)))
    {
        return llmr_errorf(err, errlen, "invalid key_file \"%.*s\"",
                           (int) a->key_file.len, a->key_file.data);
    }

    return LLMR_OK;
}


/* the optional quality and speed data */

static int
llmr_registry_parse_metrics(const llmr_model_args_t *a, llmr_model_t *m,
    char *err, size_t errlen)
{
    double    *v;
    unsigned   k;

    for (k = 0; k < LLMR_METRICS; k++) {
        v = (double *) ((char *) m + llmr_metrics[k].offset);

        if (a->metric[k].data
            && llmr_registry_parse_price(&a->metric[k], v) != LLMR_OK)
        {
            return llmr_errorf(err, errlen, "invalid %s \"%.*s\"",
                               llmr_metrics[k].key,
                               (int) a->metric[k].len,
                               a->metric[k].data);
        }
    }

    return LLMR_OK;
}


/* the strings the model keeps, all or none */

static int
llmr_registry_copy(const llmr_str_t *name, const llmr_model_args_t *a,
    llmr_model_t *m, char *err, size_t errlen)
{
    m->name = llmr_strndup(name->data, name->len);
    m->provider = llmr_strndup(a->provider.data, a->provider.len);
    m->upstream = llmr_strndup(a->upstream.data, a->upstream.len);
    m->id = a->id.data ? llmr_strndup(a->id.data, a->id.len) : m->name;
    m->path = a->path.data ? llmr_strndup(a->path.data, a->path.len) : NULL;
    m->key_file = a->key_file.data
                  ? llmr_strndup(a->key_file.data, a->key_file.len) : NULL;

    if (m->name == NULL || m->provider == NULL || m->upstream == NULL
        || m->id == NULL || (a->path.data && m->path == NULL)
        || (a->key_file.data && m->key_file == NULL))
    {
        if (m->id != m->name) {
            free(m->id);
        }

        free(m->name);
        free(m->provider);
        free(m->upstream);
        free(m->path);
        free(m->key_file);

        return llmr_errorf(err, errlen, "out of memory");
    }

    return LLMR_OK;
}


const llmr_model_t *
llmr_registry_find(const llmr_registry_t *reg, const char *name, size_t len)
{
    unsigned  i;

    for (i = 0; i < reg->n; i++) {
        if (strlen(reg->models[i].name) == len
            && memcmp(reg->models[i].name, name, len) == 0)
        {
            return &reg->models[i];
        }
    }

    for (i = 0; i < reg->n; i++) {
        if (strlen(reg->models[i].id) == len
            && memcmp(reg->models[i].id, name, len) == 0)
        {
            return &reg->models[i];
        }
    }

    return NULL;
}


const llmr_model_t *
llmr_registry_reference(const llmr_registry_t *reg)
{
    double               price, best;
    unsigned             i;
    const llmr_model_t  *m, *ref;

    ref = NULL;
    best = -1;

    for (i = 0; i < reg->n; i++) {
        m = &reg->models[i];
        price = (3 * m->price_in + m->price_out) / 4;

        if (price > best) {
            best = price;
            ref = m;
        }
    }

    return ref;
}


int
llmr_registry_load_file(llmr_registry_t *reg, const char *path, char *err,
    size_t errlen)
{
    int     rc;
    char   *data;
    FILE   *f;
    size_t  n, size;

    f = fopen(path, "rb");
    if (f == NULL) {
        return llmr_errorf(err, errlen, "cannot open \"%s\": %s",
                           path, strerror(errno));
    }

    size = 0;
    data = malloc(LLMR_REGISTRY_FILE_MAX + 1);

    if (data == NULL) {
        fclose(f);
        return llmr_errorf(err, errlen, "out of memory");
    }

    while ((n = fread(data + size, 1, LLMR_REGISTRY_FILE_MAX + 1 - size, f))
           > 0)
    {
        size += n;

        if (size > LLMR_REGISTRY_FILE_MAX) {
            break;
        }
    }

    if (ferror(f)) {
        rc = llmr_errorf(err, errlen, "cannot read \"%s\": %s",
                         path, strerror(errno));

    } else if (size > LLMR_REGISTRY_FILE_MAX) {
        rc = llmr_errorf(err, errlen, "\"%s\" is larger than %d "
                         "bytes", path, LLMR_REGISTRY_FILE_MAX);

    } else {
        data[size] = '\0';
        rc = llmr_registry_load_json(reg, data, size, err, errlen);
    }

    fclose(f);
    free(data);

    return rc;
}


static int
llmr_registry_json_str(yajl_val v, llmr_str_t *out, char *buf, size_t size)
{
    int     n;
    size_t  len, i;

    if (YAJL_IS_STRING(v)) {
        out->data = v->u.string;
        out->len = strlen(v->u.string);
        return LLMR_OK;
    }

    if (YAJL_IS_NUMBER(v)) {
        n = snprintf(buf, size, "%s", v->u.number.r);
        if (n < 0 || (size_t) n >= size) {
            return LLMR_ERROR;
        }

        out->data = buf;
        out->len = n;
        return LLMR_OK;
    }

    if (YAJL_IS_ARRAY(v)) {

        /* ["vision", "tools"] -> "vision,tools" */

        len = 0;

        for (i = 0; i < v->u.array.len; i++) {
            if (!YAJL_IS_STRING(v->u.array.values[i])) {
                return LLMR_ERROR;
            }

            n = snprintf(buf + len, size - len, "%s%s", i ? "," : "",
                         v->u.array.values[i]->u.string);
            if (n < 0 || (size_t) n >= size - len) {
                return LLMR_ERROR;
            }

            len += n;
        }

        out->data = buf;
        out->len = len;
        return LLMR_OK;
    }

    return LLMR_ERROR;
}


int
llmr_registry_load_json(llmr_registry_t *reg, const char *data, size_t len,
    char *err, size_t errlen)
{
    int                 rc;
    char                ybuf[256], bufs[LLMR_JSON_KEYS][128];
    char               *copy;
    size_t              i, k, nkeys;
    yajl_val            root, models, m, v;
    llmr_str_t          name, *slot;
    const char         *key;
    llmr_model_args_t   a;

    copy = malloc(len + 1);
    if (copy == NULL) {
        return llmr_errorf(err, errlen, "out of memory");
    }

    memcpy(copy, data, len);
    copy[len] = '\0';

    root = yajl_tree_parse(copy, ybuf, sizeof(ybuf));
    free(copy);

    if (root == NULL) {
        for (i = 0; ybuf[i]; i++) {
            if (ybuf[i] == '\n') {
                ybuf[i] = ' ';
            }
        }

        return llmr_errorf(err, errlen, "invalid JSON: %s", ybuf);
    }

    models = root;

    if (YAJL_IS_OBJECT(root)) {
        models = NULL;

        for (i = 0; i < root->u.object.len; i++) {
            if (strcmp(root->u.object.keys[i], "models") == 0) {
                models = root->u.object.values[i];
            }
        }
    }

    if (models == NULL || !YAJL_IS_ARRAY(models)) {
        yajl_tree_free(root);
        return llmr_errorf(err, errlen,
                           "expected {\"models\": [...]} or an "
                           "array of models");
    }

    rc = LLMR_OK;

    for (i = 0; i < models->u.array.len && rc == LLMR_OK; i++) {
        m = models->u.array.values[i];

        if (!YAJL_IS_OBJECT(m)) {
            rc = llmr_errorf(err, errlen, "model #%zu is not an "
                             "object", i + 1);
            break;
        }

        memset(&a, 0, sizeof(llmr_model_args_t));
        name.data = NULL;
        name.len = 0;
        nkeys = 0;

        for (k = 0; k < m->u.object.len; k++) {
            key = m->u.object.keys[k];
            v = m->u.object.values[k];

            if (strcmp(key, "name") == 0) {
                slot = &name;

            } else {
                slot = llmr_model_arg(&a, key, strlen(key));

                if (slot == NULL) {
                    /* room for annotations: "notes", "frontier", ... */
                    continue;
                }
            }

            if (YAJL_IS_NULL(v)) {
                continue;
            }

            if (nkeys == LLMR_JSON_KEYS
                || llmr_registry_json_str(v, slot, bufs[nkeys],
                                          sizeof(bufs[0]))
                   != LLMR_OK)
            {
                rc = llmr_errorf(err, errlen, "model #%zu: invalid "
                                 "\"%s\"", i + 1, key);
                break;
            }

            nkeys++;
        }

        if (rc != LLMR_OK) {
            break;
        }

        if (name.data == NULL) {
            rc = llmr_errorf(err, errlen, "model #%zu: missing "
                             "\"name\"", i + 1);
            break;
        }

        rc = llmr_registry_insert(reg, &name, &a, err, errlen);
    }

    yajl_tree_free(root);

    return rc;
}


static llmr_str_t *
llmr_model_arg(llmr_model_args_t *a, const char *key, size_t len)
{
    const llmr_model_key_t  *k;

    for (k = llmr_model_keys; k->key; k++) {
        if (strlen(k->key) == len && memcmp(k->key, key, len) == 0) {
            return (llmr_str_t *) ((char *) a + k->offset);
        }
    }

    return NULL;
}


/* "/v1", "/openai/v1", "/v1/projects/p/locations/l/publishers/google" */

static int
llmr_registry_check_path(const llmr_str_t *s)
{
    if (s->len < 2 || s->data[0] != '/' || s->data[s->len - 1] == '/') {
        return LLMR_ERROR;
    }

    return llmr_registry_check_name(s, "/._~-:@");
}


static int
llmr_registry_check_name(const llmr_str_t *s, const char *extra)
{
    size_t         i;
    unsigned char  c;

    if (s->len == 0 || s->len > LLMR_NAME_MAX) {
        return LLMR_ERROR;
    }

    for (i = 0; i < s->len; i++) {
        c = (unsigned char) s->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || (c && strchr(extra, c)))
        {
            continue;
        }

        return LLMR_ERROR;
    }

    return LLMR_OK;
}


static int
llmr_registry_parse_price(const llmr_str_t *s, double *price)
{
    char    buf[64], *end;
    double  v;

    if (s->len == 0 || s->len >= sizeof(buf)) {
        return LLMR_ERROR;
    }

    memcpy(buf, s->data, s->len);
    buf[s->len] = '\0';

    if (buf[0] == '-' || buf[0] == '+' || buf[0] == ' ') {
        return LLMR_ERROR;
    }

    errno = 0;
    v = strtod(buf, &end);

    if (errno || *end != '\0' || !isfinite(v) || v < 0 || v > 1e6) {
        return LLMR_ERROR;
    }

    *price = v;

    return LLMR_OK;
}


static int
llmr_registry_parse_context(const llmr_str_t *s, uint64_t *ctx)
{
    size_t    i, n;
    uint64_t  v, scale;

    n = s->len;
    scale = 1;

    if (n > 1 && (s->data[n - 1] == 'k' || s->data[n - 1] == 'K')) {
        scale = 1000;
        n--;

    } else if (n > 1 && (s->data[n - 1] == 'm' || s->data[n - 1] == 'M')) {
        scale = 1000000;
        n--;
    }

    if (n == 0 || n > LLMR_CONTEXT_DIGITS_MAX) {
        return LLMR_ERROR;
    }

    v = 0;

    for (i = 0; i < n; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return LLMR_ERROR;
        }

        v = v * 10 + (s->data[i] - '0');
    }

    *ctx = v * scale;

    return LLMR_OK;
}


/* "simple", "trivial-simple"; an inverted range leaves lo > hi */

static int
llmr_registry_parse_tiers(const llmr_str_t *s, int *lo, int *hi)
{
    const char  *dash;

    dash = memchr(s->data, '-', s->len);

    if (dash == NULL) {
        *lo = llmr_tier_parse(s->data, s->len);
        *hi = *lo;

    } else {
        *lo = llmr_tier_parse(s->data, dash - s->data);
        *hi = llmr_tier_parse(dash + 1, s->data + s->len - dash - 1);
    }

    if (*lo < 0 || *hi < 0) {
        *lo = 0;
        *hi = 0;
        return LLMR_ERROR;
    }

    if (*lo > *hi) {
        return LLMR_ERROR;
    }

    return LLMR_OK;
}
