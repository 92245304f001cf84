
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * llmr explain: why one request body goes where it goes, as the module
 * would route it (llmr_decide(), as the module's llm_route_explain, with
 * what the options say of the fleet: by default every model healthy,
 * nothing learned): the request's features, the class (tier, score,
 * confidence, domain, floor, reasons), the chosen model and the other
 * models with their cost for this request relative to the chosen one;
 * the models the router would fall back to (llmr_decide_next()) are
 * numbered in that order.
 *
 *   llmr explain --models FILE [--path URI] [--profile NAME]
 *                [--min-tier T] [--prefer PROVIDER] [--down M,...]
 *                [--degraded M,...] [--json] < body.json
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/api.h>
#include <llmr/translate.h>
#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/registry.h>
#include <llmr/policy.h>
#include <llmr/decide.h>


#define LLMR_EXPLAIN_MAX_BODY   (64 * 1024 * 1024)


typedef struct {
    int                         chain;      /* fallback order, 0: none */
    int                         tier;       /* the tier it would serve */
    double                      cost;       /* USD for this request */
    const char                 *note;
} llmr_explain_alt_t;


int llmr_cmd_explain(int argc, char **argv);

static char *llmr_explain_read(FILE *f, size_t *len);
static int llmr_explain_models(const llmr_registry_t *reg, const char *list,
    uint64_t *mask);
static void llmr_explain_chain(const llmr_router_t *rt,
    const llmr_request_t *req, const llmr_signals_t *s,
    const llmr_verdict_t *v, llmr_explain_alt_t *alt);
static const char *llmr_explain_note(const llmr_model_t *m, unsigned apis,
    const llmr_decision_t *d, int tier);
static void llmr_explain_text(const llmr_registry_t *reg,
    const llmr_request_t *req, const llmr_class_t *cls,
    const llmr_decision_t *d, const llmr_explain_alt_t *alt, int profile);
static void llmr_explain_json(const llmr_registry_t *reg,
    const llmr_request_t *req, const llmr_class_t *cls,
    const llmr_decision_t *d, const llmr_explain_alt_t *alt, int profile);
static void llmr_explain_str(const char *s);
static llmr_xreq_t *llmr_explain_translate(llmr_signals_t *sig,
    const llmr_request_t *req, const char *body, size_t len,
    const char *path, int translate,
    char why[LLMR_API_N][LLMR_UNTRANSLATABLE_MAX]);


static void
llmr_explain_usage(FILE *f)
{
    fprintf(f,
        "usage: llmr explain --models FILE [--path URI] [--profile NAME]\n"
        "                    [--min-tier TIER] [--prefer PROVIDER]\n"
        "                    [--down M,...] [--degraded M,...]\n"
        "                    [--no-translate] [--json] < body.json\n"
        "\n"
        "  --models FILE    the registry (llm_models JSON); required\n"
        "  --path URI       the request path, for the body's format\n"
        "                   (/v1/messages: Anthropic, ...:generateContent:\n"
        "                   Gemini; default: from the body's keys)\n"
        "  --profile NAME   llm_route_profile (default cost-efficiency)\n"
        "  --min-tier TIER  as the X-LLM-Min-Tier header\n"
        "  --prefer PROVIDER  as the X-LLM-Prefer header\n"
        "  --down M,...     these models are down (default: all healthy)\n"
        "  --degraded M,... these models are degraded\n"
        "  --no-translate   as llm_route_translate off: only models of the\n"
        "                   client's API\n"
        "  --json           one JSON object instead of the report\n");
}


int
llmr_cmd_explain(int argc, char **argv)
{
    int                    i, json, rc, profile, min_tier, format,
                           translate;
    char                  *body, err[LLMR_ERRSTR_SIZE];
    char                   why[LLMR_API_N][LLMR_UNTRANSLATABLE_MAX];
    size_t                 len;
    const char            *models, *path, *prefer, *down, *degraded;
    llmr_router_t          rt;
    llmr_xreq_t           *xr;
    llmr_extract_t        *x;
    llmr_verdict_t         v;
    llmr_signals_t         sig;
    llmr_registry_t       *reg;
    llmr_explain_alt_t    *alt;
    const llmr_request_t  *req;

    models = NULL;
    path = NULL;
    prefer = NULL;
    down = NULL;
    degraded = NULL;
    json = 0;
    translate = 1;
    xr = NULL;
    profile = LLMR_PROFILE_COST;
    min_tier = -1;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--models") == 0 && i + 1 < argc) {
            models = argv[++i];

        } else if (strcmp(argv[i], "--path") == 0 && i + 1 < argc) {
            path = argv[++i];

        } else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            i++;
            profile = llmr_profile_parse(argv[i], strlen(argv[i]));

            if (profile < 0) {
                fprintf(stderr, "llmr explain: unknown profile \"%s\"\n",
                        argv[i]);
                return 2;
            }

        } else if (strcmp(argv[i], "--min-tier") == 0 && i + 1 < argc) {
            i++;
            min_tier = llmr_tier_parse(argv[i], strlen(argv[i]));

            if (min_tier < 0) {
                fprintf(stderr, "llmr explain: unknown tier \"%s\"\n",
                        argv[i]);
                return 2;
            }

        } else if (strcmp(argv[i], "--prefer") == 0 && i + 1 < argc) {
            prefer = argv[++i];

        } else if (strcmp(argv[i], "--down") == 0 && i + 1 < argc) {
            down = argv[++i];

        } else if (strcmp(argv[i], "--degraded") == 0 && i + 1 < argc) {
            degraded = argv[++i];

        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;

        } else if (strcmp(argv[i], "--no-translate") == 0) {
            translate = 0;

        } else if (strcmp(argv[i], "--help") == 0) {
            llmr_explain_usage(stdout);
            return 0;

        } else {
            fprintf(stderr, "llmr explain: unknown option \"%s\"\n",
                    argv[i]);
            llmr_explain_usage(stderr);
            return 2;
        }
    }

    if (models == NULL) {
        fprintf(stderr, "llmr explain: --models FILE is required\n");
        return 2;
    }

    reg = llmr_registry_create();

    if (reg == NULL
        || llmr_registry_load_file(reg, models, err, sizeof(err)) != LLMR_OK)
    {
        fprintf(stderr, "llmr explain: %s: %s\n", models,
                reg ? err : "out of memory");
        llmr_registry_destroy(reg);
        return 1;
    }

    /* the module's defaults for a location, and a fleet as the options say */

    llmr_router_init(&rt, reg);
    rt.profile = profile;

    llmr_signals_init(&sig);
    sig.min_tier = min_tier;
    sig.prefer = prefer;
    sig.explain = 1;

    if (llmr_explain_models(reg, down, &sig.down) != LLMR_OK
        || llmr_explain_models(reg, degraded, &sig.degraded) != LLMR_OK)
    {
        llmr_registry_destroy(reg);
        return 2;
    }

    body = llmr_explain_read(stdin, &len);

    if (body == NULL) {
        llmr_registry_destroy(reg);
        return 1;
    }

    x = llmr_extract_create(NULL);
    alt = calloc(reg->n ? reg->n : 1, sizeof(llmr_explain_alt_t));

    if (x == NULL || alt == NULL) {
        fprintf(stderr, "llmr explain: out of memory\n");
        rc = 1;
        goto done;
    }

    format = path ? llmr_format_from_path(path, strlen(path))
                  : LLMR_FMT_UNKNOWN;

    llmr_extract_reset(x, format);

    if (llmr_extract_feed(x, (unsigned char *) body, len) != LLMR_OK
        || llmr_extract_finish(x) != LLMR_OK)
    {
        fprintf(stderr, "llmr explain: the body cannot be routed: %s\n",
                llmr_extract_error(x));
        rc = 1;
        goto done;
    }

    req = llmr_extract_result(x);

    xr = llmr_explain_translate(&sig, req, body, len, path, translate, why);

    if (llmr_decide(&rt, req, &sig, &v) != LLMR_OK) {
        fprintf(stderr, "llmr explain: no model (HTTP %d): %s\n",
                v.dec.status, v.dec.error);
        rc = 1;
        goto done;
    }

    llmr_explain_chain(&rt, req, &sig, &v, alt);

    if (json) {
        llmr_explain_json(reg, req, &v.cls, &v.dec, alt, profile);

    } else {
        llmr_explain_text(reg, req, &v.cls, &v.dec, alt, profile);
    }

    rc = ferror(stdout) ? 1 : 0;

done:

    free(alt);
    free(body);
    llmr_xreq_destroy(xr);
    llmr_extract_destroy(x);
    llmr_registry_destroy(reg);

    return rc;
}


/*
 * The APIs the request may be served in, as the module finds them: its
 * own, and with translation on, those of the registry's other models it
 * can be written for.  Returns the translator (the caller frees it).
 */

static llmr_xreq_t *
llmr_explain_translate(llmr_signals_t *sig, const llmr_request_t *req,
    const char *body, size_t len, const char *path, int translate,
    char why[LLMR_API_N][LLMR_UNTRANSLATABLE_MAX])
{
    int           api;
    llmr_xreq_t  *xr;

    api = llmr_api_of_format(req->format);

    if (!translate || !llmr_xreq_format_ok(req->format)) {
        llmr_signals_translate(sig, NULL, api, why);
        return NULL;
    }

    xr = llmr_xreq_create();

    if (xr == NULL
        || llmr_xreq_parse(xr, req->format, body, len) != LLMR_OK)
    {
        llmr_signals_translate(sig, NULL, api, why);
        return xr;
    }

    llmr_xreq_set_stream(xr, req->format == LLMR_FMT_GEMINI
                             ? (path && strstr(path, ":streamGenerate"))
                             : req->stream);

    llmr_signals_translate(sig, xr, api, why);

    return xr;
}


static char *
llmr_explain_read(FILE *f, size_t *len)
{
    char    *p, *q;
    size_t   n, cap;

    cap = 65536;
    n = 0;

    p = malloc(cap);
    if (p == NULL) {
        fprintf(stderr, "llmr explain: out of memory\n");
        return NULL;
    }

    for ( ;; ) {
        n += fread(p + n, 1, cap - n, f);

        if (n < cap) {
            break;
        }

        if (cap >= LLMR_EXPLAIN_MAX_BODY) {
            fprintf(stderr, "llmr explain: the body is larger than %d "
                    "bytes\n", LLMR_EXPLAIN_MAX_BODY);
            free(p);
            return NULL;
        }

        cap *= 2;

        q = realloc(p, cap);
        if (q == NULL) {
            fprintf(stderr, "llmr explain: out of memory\n");
            free(p);
            return NULL;
        }

        p = q;
    }

    if (ferror(f)) {
        fprintf(stderr, "llmr explain: cannot read the body\n");
        free(p);
        return NULL;
    }

    *len = n;

    return p;
}


/* "M,N": the mask of the models named; LLMR_ERROR for an unknown one */

static int
llmr_explain_models(const llmr_registry_t *reg, const char *list,
    uint64_t *mask)
{
    size_t               n;
    const char          *p;
    const llmr_model_t  *m;

    *mask = 0;

    for (p = list; p && *p; p += n + (p[n] == ',')) {
        n = strcspn(p, ",");

        m = llmr_registry_find(reg, p, n);

        if (m == NULL) {
            fprintf(stderr, "llmr explain: no model \"%.*s\" in the "
                    "registry\n", (int) n, p);
            return LLMR_ERROR;
        }

        *mask |= (uint64_t) 1 << m->index;
    }

    return LLMR_OK;
}


/*
 * The router's own answers: the chosen model, then, as "llm_route
 * fallback" does (llmr_decide_next()), the next one with the models tried
 * so far excluded.  Every model gets its cost for this request's
 * estimated tokens.
 */

static void
llmr_explain_chain(const llmr_router_t *rt, const llmr_request_t *req,
    const llmr_signals_t *s, const llmr_verdict_t *v,
    llmr_explain_alt_t *alt)
{
    int                     n;
    unsigned                i;
    llmr_signals_t          next;
    llmr_verdict_t          w;
    const llmr_decision_t  *d;
    const llmr_registry_t  *reg;

    reg = rt->registry;
    d = &v->dec;

    for (i = 0; i < reg->n; i++) {
        alt[i].cost = llmr_model_cost(&reg->models[i], d->input_tokens,
                                      d->output_tokens);
        alt[i].tier = -1;
    }

    alt[d->model].chain = 1;
    alt[d->model].tier = d->tier;
    alt[d->model].note = "chosen";

    next = *s;
    w = *v;

    for (n = 2; n <= (int) reg->n; n++) {
        next.exclude |= (uint64_t) 1 << w.dec.model;

        if (llmr_decide_next(rt, req, &next, &w) != LLMR_OK) {
            break;
        }

        alt[w.dec.model].chain = n;
        alt[w.dec.model].tier = w.dec.tier;
        alt[w.dec.model].note = "fallback";
    }

    for (i = 0; i < reg->n; i++) {
        if (alt[i].chain == 0) {
            alt[i].note = llmr_explain_note(&reg->models[i], s->apis, d,
                                            d->tier);

            if (s->apis && !(s->apis & llmr_api_bit(reg->models[i].api))
                && s->untranslatable[reg->models[i].api])
            {
                /* "untranslatable:FIELD": why not in its API */
                alt[i].note = s->untranslatable[reg->models[i].api];
            }
        }
    }
}


/* why a model is not in the chain at all */

static const char *
llmr_explain_note(const llmr_model_t *m, unsigned apis,
    const llmr_decision_t *d, int tier)
{
    if (apis && !(apis & llmr_api_bit(m->api))) {
        return "another API";
    }

    if ((m->caps & d->need_caps) != d->need_caps) {
        return (d->need_caps & ~m->caps & LLMR_CAP_VISION)
               ? "no vision" : "no tools";
    }

    if (m->context
        && (uint64_t) (d->input_tokens + d->output_tokens) > m->context)
    {
        return "context window too small";
    }

    if (m->tier_hi < tier) {
        return "serves lower tiers only";
    }

    return "not eligible";
}


static void
llmr_explain_text(const llmr_registry_t *reg, const llmr_request_t *req,
    const llmr_class_t *cls, const llmr_decision_t *d,
    const llmr_explain_alt_t *alt, int profile)
{
    char                       tiers[64];
    unsigned                   i, k, *order, tmp;
    const llmr_model_t        *m;
    const llmr_explain_alt_t  *a, *b;

    m = &reg->models[d->model];

    printf("request       %s, %u message%s (%u user, %u assistant), "
           "%zu bytes of text\n",
           llmr_format_name(req->format), req->messages,
           req->messages == 1 ? "" : "s", req->user_turns,
           req->assistant_turns, req->text_bytes);
    printf("features      last turn %zu bytes, system %zu bytes, images %u,"
           " tools %u, tool results %u, stream %s",
           req->last_user_bytes, req->system_bytes, req->images, req->tools,
           req->tool_results, req->stream ? "yes" : "no");

    if (req->max_tokens >= 0) {
        printf(", max_tokens %lld", (long long) req->max_tokens);
    }

    printf("\n");
    printf("class         tier %s, score %.3f, confidence %.2f, domain %s, "
           "floor %s\n",
           llmr_tier_name(cls->tier), cls->score, cls->confidence,
           llmr_domain_name(cls->domain), llmr_tier_name(cls->floor));
    printf("evidence      ");

    for (i = 0; i < cls->nreasons; i++) {
        printf("%s%s", i ? ", " : "", cls->reasons[i]);
    }

    printf("%s\n", cls->nreasons ? "" : "(none)");
    printf("tokens        %lld input, %lld output (estimated)\n",
           (long long) d->input_tokens, (long long) d->output_tokens);
    printf("profile       %s\n", llmr_profile_name(profile));
    printf("chosen        %s (provider %s, upstream %s, id %s)\n", m->name,
           m->provider, m->upstream, m->id);
    printf("              serves %s, estimated $%.6f",
           llmr_tier_name(d->tier), d->est_cost);

    for (i = 0; i < d->nreasons; i++) {
        printf("%s%s", i ? ", " : "; policy: ", d->reasons[i]);
    }

    printf("\n\nalternatives  (cost of this request on each model; x: "
           "relative to the chosen)\n");
    printf("  %-3s %-28s %-24s %12s %9s  %s\n", "#", "model", "tiers",
           "cost USD", "x", "note");

    /* the chain in order, then the others by cost */

    order = malloc(reg->n * sizeof(unsigned));
    if (order == NULL) {
        return;
    }

    for (i = 0; i < reg->n; i++) {
        order[i] = i;
    }

    for (i = 1; i < reg->n; i++) {
        for (k = i; k > 0; k--) {
            a = &alt[order[k - 1]];
            b = &alt[order[k]];

            if ((a->chain && b->chain && a->chain <= b->chain)
                || (a->chain && !b->chain)
                || (!a->chain && !b->chain && a->cost <= b->cost))
            {
                break;
            }

            tmp = order[k];
            order[k] = order[k - 1];
            order[k - 1] = tmp;
        }
    }

    for (k = 0; k < reg->n; k++) {
        i = order[k];
        m = &reg->models[i];

        snprintf(tiers, sizeof(tiers), "%s-%s", llmr_tier_name(m->tier_lo),
                 llmr_tier_name(m->tier_hi));

        if (alt[i].chain) {
            printf("  %-3d", alt[i].chain);

        } else {
            printf("  %-3s", "-");
        }

        printf(" %-28s %-24s %12.6f ", m->name, tiers, alt[i].cost);

        if (d->est_cost > 0) {
            printf("%9.2f", alt[i].cost / d->est_cost);

        } else {
            printf("%9s", "-");
        }

        if (alt[i].chain > 1) {
            printf("  %s (at %s)\n", alt[i].note, llmr_tier_name(alt[i].tier));

        } else {
            printf("  %s\n", alt[i].note);
        }
    }

    free(order);
}


static void
llmr_explain_json(const llmr_registry_t *reg, const llmr_request_t *req,
    const llmr_class_t *cls, const llmr_decision_t *d,
    const llmr_explain_alt_t *alt, int profile)
{
    unsigned             i;
    const llmr_model_t  *m;

    m = &reg->models[d->model];

    printf("{\"tier\":\"%s\",\"class_tier\":\"%s\",\"score\":%.4f,"
           "\"confidence\":%.4f,\"domain\":\"%s\",\"floor\":\"%s\","
           "\"profile\":\"%s\",\"reasons\":[",
           llmr_tier_name(d->tier), llmr_tier_name(cls->tier), cls->score,
           cls->confidence, llmr_domain_name(cls->domain),
           llmr_tier_name(cls->floor), llmr_profile_name(profile));

    for (i = 0; i < cls->nreasons; i++) {
        printf("%s", i ? "," : "");
        llmr_explain_str(cls->reasons[i]);
    }

    printf("],\"policy_reasons\":[");

    for (i = 0; i < d->nreasons; i++) {
        printf("%s", i ? "," : "");
        llmr_explain_str(d->reasons[i]);
    }

    printf("],\"features\":{\"format\":\"%s\",\"messages\":%u,"
           "\"user_turns\":%u,\"assistant_turns\":%u,\"text_bytes\":%zu,"
           "\"last_user_bytes\":%zu,\"system_bytes\":%zu,\"images\":%u,"
           "\"tools\":%u,\"tool_results\":%u,\"max_tokens\":%lld,"
           "\"stream\":%s},\"input_tokens\":%lld,\"output_tokens\":%lld,"
           "\"chosen\":{\"model\":",
           llmr_format_name(req->format), req->messages, req->user_turns,
           req->assistant_turns, req->text_bytes, req->last_user_bytes,
           req->system_bytes, req->images, req->tools, req->tool_results,
           (long long) req->max_tokens, req->stream ? "true" : "false",
           (long long) d->input_tokens, (long long) d->output_tokens);

    llmr_explain_str(m->name);
    printf(",\"provider\":");
    llmr_explain_str(m->provider);
    printf(",\"upstream\":");
    llmr_explain_str(m->upstream);
    printf(",\"id\":");
    llmr_explain_str(m->id);
    printf(",\"est_cost\":%.8f},\"alternatives\":[", d->est_cost);

    for (i = 0; i < reg->n; i++) {
        m = &reg->models[i];

        printf("%s{\"model\":", i ? "," : "");
        llmr_explain_str(m->name);
        printf(",\"provider\":");
        llmr_explain_str(m->provider);
        printf(",\"tiers\":\"%s-%s\",\"est_cost\":%.8f,\"relative\":",
               llmr_tier_name(m->tier_lo), llmr_tier_name(m->tier_hi),
               alt[i].cost);

        if (d->est_cost > 0) {
            printf("%.4f", alt[i].cost / d->est_cost);

        } else {
            printf("null");
        }

        if (alt[i].chain) {
            printf(",\"chain\":%d,\"tier\":\"%s\"", alt[i].chain,
                   llmr_tier_name(alt[i].tier));

        } else {
            printf(",\"chain\":null,\"tier\":null");
        }

        printf(",\"note\":");
        llmr_explain_str(alt[i].note);
        printf("}");
    }

    printf("]}\n");
}


static void
llmr_explain_str(const char *s)
{
    char    buf[6 * 256 + 1];
    size_t  len;

    len = strlen(s);
    len = len > 256 ? 256 : len;

    putchar('"');
    fwrite(buf, 1, llmr_json_escape(buf, sizeof(buf) - 1, s, len), stdout);
    putchar('"');
}
