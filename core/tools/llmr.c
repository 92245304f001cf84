
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * llmr: the core library on the command line.
 *
 *   llmr classify [--models FILE] [--model FILE]
 *                                     one JSON request body a line on stdin,
 *                                     one JSON decision a line on stdout
 *   llmr train --data FILE ...        a classifier model from outcomes
 *   llmr calibrate-thresholds ...     its score -> tier thresholds, from
 *                                     outcomes or logged request bodies
 *   llmr route --models FILE [--body] the same, plus the rewritten body
 *   llmr bench [--iterations N]       extraction + classification cost,
 *                                     and a request's translation
 *   llmr explain --models FILE        why one body (stdin) goes where it
 *                                     goes, and what the others would cost
 *   llmr suggest --status URL|FILE    a router's cost-optimisation
 *                                     suggestions, from its llm_status
 *   llmr calibrate [options]          model data -> tiers, models.json,
 *                                     llm_model include, MODELS.md
 *   llmr version
 */


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llmr/api.h>
#include <llmr/core.h>
#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/registry.h>
#include <llmr/policy.h>
#include <llmr/decide.h>
#include <llmr/rewrite.h>
#include <llmr/translate.h>
#include <llmr/usage.h>


typedef struct {
    char                       *data;
    size_t                      len;
    size_t                      cap;
} llmr_buf_t;


typedef struct {
    const char                 *model;      /* a classifier model file */
    const char                 *models;
    int                         body;
    long                        iterations;
} llmr_opts_t;


static int llmr_cmd_classify(llmr_opts_t *o, int route);
static int llmr_cmd_bench(llmr_opts_t *o);
static int llmr_bench_xreq(llmr_opts_t *o);
static int llmr_bench_xans(llmr_opts_t *o);
static int llmr_bench_usage(llmr_opts_t *o);
static void llmr_usage(FILE *f);

/* llmr_cmd_calibrate.c */
int llmr_cmd_calibrate(int argc, char **argv);
/* llmr_cmd_train.c */
int llmr_cmd_train(int argc, char **argv);
int llmr_cmd_calibrate_thresholds(int argc, char **argv);
/* llmr_cmd_explain.c */
int llmr_cmd_explain(int argc, char **argv);
/* llmr_cmd_suggest.c */
int llmr_cmd_suggest(int argc, char **argv);


static void
llmr_buf_reserve(llmr_buf_t *b, size_t n)
{
    size_t  cap;

    if (b->len + n <= b->cap) {
        return;
    }

    cap = b->cap ? b->cap : 4096;

    while (cap < b->len + n) {
        cap *= 2;
    }

    b->data = realloc(b->data, cap);

    if (b->data == NULL) {
        fprintf(stderr, "llmr: out of memory\n");
        exit(2);
    }

    b->cap = cap;
}


static void
llmr_buf_add(llmr_buf_t *b, const char *s, size_t n)
{
    llmr_buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}


static void
llmr_buf_printf(llmr_buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    for ( ;; ) {
        llmr_buf_reserve(b, 64);

        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);

        if (n < 0) {
            return;
        }

        if ((size_t) n < b->cap - b->len) {
            b->len += n;
            return;
        }

        llmr_buf_reserve(b, n + 1);
    }
}


static void
llmr_buf_str(llmr_buf_t *b, const char *s, size_t len)
{
    size_t  n;

    n = llmr_json_escaped_len(s, len);

    llmr_buf_reserve(b, n + 2);
    b->data[b->len++] = '"';
    b->len += llmr_json_escape(b->data + b->len, n, s, len);
    b->data[b->len++] = '"';
}


static void
llmr_buf_cstr(llmr_buf_t *b, const char *s)
{
    llmr_buf_str(b, s, strlen(s));
}


int
main(int argc, char **argv)
{
    int          i;
    const char  *cmd;
    llmr_opts_t  o;

    memset(&o, 0, sizeof(llmr_opts_t));
    o.iterations = 0;

    if (argc < 2) {
        llmr_usage(stderr);
        return 2;
    }

    cmd = argv[1];

    if (strcmp(cmd, "calibrate") == 0) {
        return llmr_cmd_calibrate(argc - 2, argv + 2);
    }

    if (strcmp(cmd, "train") == 0) {
        return llmr_cmd_train(argc - 2, argv + 2);
    }

    if (strcmp(cmd, "calibrate-thresholds") == 0) {
        return llmr_cmd_calibrate_thresholds(argc - 2, argv + 2);
    }

    if (strcmp(cmd, "explain") == 0) {
        return llmr_cmd_explain(argc - 2, argv + 2);
    }

    if (strcmp(cmd, "suggest") == 0) {
        return llmr_cmd_suggest(argc - 2, argv + 2);
    }

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--models") == 0 && i + 1 < argc) {
            o.models = argv[++i];

        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            o.model = argv[++i];

        } else if (strcmp(argv[i], "--body") == 0) {
            o.body = 1;

        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            o.iterations = strtol(argv[++i], NULL, 10);

        } else {
            fprintf(stderr, "llmr %s: unknown option \"%s\"\n", cmd, argv[i]);
            llmr_usage(stderr);
            return 2;
        }
    }

    if (strcmp(cmd, "classify") == 0) {
        return llmr_cmd_classify(&o, 0);
    }

    if (strcmp(cmd, "route") == 0) {
        if (o.models == NULL) {
            fprintf(stderr, "llmr route: --models FILE is required\n");
            return 2;
        }

        return llmr_cmd_classify(&o, 1);
    }

    if (strcmp(cmd, "bench") == 0) {
        return llmr_cmd_bench(&o);
    }

    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("llmr %s\n", LLMR_VERSION);
        return 0;
    }

    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
        llmr_usage(stdout);
        return 0;
    }

    fprintf(stderr, "llmr: unknown command \"%s\"\n", cmd);
    llmr_usage(stderr);

    return 2;
}


static void
llmr_usage(FILE *f)
{
    fprintf(f,
        "usage: llmr COMMAND [options]\n"
        "\n"
        "  classify [--models FILE] [--model FILE]\n"
        "                             JSON request bodies on stdin, one a "
        "line;\n"
        "                             one JSON decision a line on stdout;\n"
        "                             --model: a classifier model file\n"
        "  train --data FILE[,FILE] [--out MODEL] [--cv K] [--lobo] ...\n"
        "                             learn a classifier model from "
        "outcomes;\n"
        "                             --lobo: APGR of each file left out\n"
        "                             (llmr train --help for the options)\n"
        "  calibrate-thresholds --data FILE | --bodies FILE [--model M]\n"
        "            [--out M] [--shares S1,..,S5 | --quality Q]\n"
        "                             score -> tier thresholds from "
        "outcomes, or\n"
        "                             for tier shares from logged request "
        "bodies\n"
        "  route --models FILE [--body]\n"
        "                             the same with the model chosen; "
        "--body adds\n"
        "                             the rewritten request body\n"
        "  explain --models FILE [--path URI] [--profile NAME] [--json]\n"
        "                             one request body on stdin: its class,"
        " evidence,\n"
        "                             the chosen model and the alternatives"
        " with\n"
        "                             their relative cost\n"
        "  suggest --status URL|FILE [--json]\n"
        "                             a router's cost-optimisation "
        "suggestions\n"
        "                             from its llm_status JSON\n"
        "  bench [--iterations N]     extraction + classification cost at "
        "1, 4, 16\n"
        "                             and 128 KB bodies (best of 7 runs), "
        "and a 1 KB\n"
        "                             request translated for another API\n"
        "  calibrate [--input FILE | --url URL] [--explore]\n"
        "            [--dry-run | --save] [--out DIR] [--overrides FILE]\n"
        "            [--upstream-map P=U,...] [--providers P,...]\n"
        "            [--max-models N] [--timeout S] [--no-cache]\n"
        "                             model data (Artificial Analysis v2) "
        "-> tiers,\n"
        "                             models.json, llm_model include, "
        "MODELS.md;\n"
        "                             fetches with AA_API_KEY without "
        "--input\n"
        "  version\n");
}


static void
llmr_decision_json(llmr_buf_t *out, const llmr_request_t *req,
    const llmr_class_t *cls, const llmr_registry_t *reg,
    const llmr_decision_t *d)
{
    unsigned             i, n;
    const llmr_model_t  *m;

    m = (reg && d && d->model >= 0) ? &reg->models[d->model] : NULL;

    llmr_buf_printf(out, "{\"tier\":\"%s\",\"score\":%.4f,"
                    "\"confidence\":%.4f,\"domain\":\"%s\",",
                    llmr_tier_name(m ? d->tier : cls->tier), cls->score,
                    cls->confidence, llmr_domain_name(cls->domain));

    if (m) {
        llmr_buf_add(out, "\"model\":", 8);
        llmr_buf_cstr(out, m->name);
        llmr_buf_add(out, ",\"model_id\":", 12);
        llmr_buf_cstr(out, m->id);
        llmr_buf_add(out, ",\"provider\":", 12);
        llmr_buf_cstr(out, m->provider);
        llmr_buf_add(out, ",\"upstream\":", 12);
        llmr_buf_cstr(out, m->upstream);
        llmr_buf_printf(out, ",\"est_cost\":%.6f,", d->est_cost);

    } else {
        llmr_buf_printf(out, "\"model\":null,\"provider\":null,"
                        "\"upstream\":null,\"est_cost\":null,");
    }

    llmr_buf_printf(out, "\"input_tokens\":%lld,\"format\":\"%s\","
                    "\"reasons\":[",
                    (long long) llmr_estimate_input_tokens(req),
                    llmr_format_name(req->format));

    n = 0;

    for (i = 0; i < cls->nreasons; i++) {
        llmr_buf_printf(out, "%s", n++ ? "," : "");
        llmr_buf_cstr(out, cls->reasons[i]);
    }

    for (i = 0; m && i < d->nreasons; i++) {
        llmr_buf_printf(out, "%s", n++ ? "," : "");
        llmr_buf_cstr(out, d->reasons[i]);
    }

    llmr_buf_add(out, "]", 1);
}


static int
llmr_cmd_classify(llmr_opts_t *o, int route)
{
    int                    rc;
    char                  *line, err[LLMR_ERRSTR_SIZE];
    size_t                 cap;
    ssize_t                n;
    llmr_buf_t             out;
    llmr_class_t           cls;
    llmr_router_t          rt;
    llmr_rewrite_t         rw;
    llmr_extract_t        *x;
    llmr_verdict_t         v;
    llmr_signals_t         sig;
    llmr_registry_t       *reg;
    llmr_classifier_t     *cl;
    const llmr_model_t    *m;
    const llmr_request_t  *req;

    reg = NULL;
    cl = NULL;

    if (o->model) {
        cl = llmr_classifier_load(o->model, err, sizeof(err));

        if (cl == NULL) {
            fprintf(stderr, "llmr: %s: %s\n", o->model, err);
            return 1;
        }
    }

    if (o->models) {
        reg = llmr_registry_create();

        if (reg == NULL
            || llmr_registry_load_file(reg, o->models, err, sizeof(err))
               != LLMR_OK)
        {
            fprintf(stderr, "llmr: %s: %s\n", o->models,
                    reg ? err : "out of memory");
            llmr_registry_destroy(reg);
            return 1;
        }
    }

    x = llmr_extract_create(NULL);
    if (x == NULL) {
        fprintf(stderr, "llmr: out of memory\n");
        return 1;
    }

    /* routed as by a location with the defaults, every model healthy */

    llmr_router_init(&rt, reg);
    rt.classifier = cl;

    memset(&out, 0, sizeof(llmr_buf_t));
    line = NULL;
    cap = 0;

    while ((n = getline(&line, &cap, stdin)) != -1) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            n--;
        }

        out.len = 0;
        llmr_extract_reset(x, LLMR_FMT_UNKNOWN);

        if (llmr_extract_feed(x, (unsigned char *) line, n) != LLMR_OK
            || llmr_extract_finish(x) != LLMR_OK)
        {
            llmr_buf_add(&out, "{\"error\":", 9);
            llmr_buf_cstr(&out, llmr_extract_error(x));
            llmr_buf_add(&out, "}\n", 2);
            fwrite(out.data, 1, out.len, stdout);
            continue;
        }

        req = llmr_extract_result(x);

        if (reg == NULL) {
            llmr_classify(cl, req, &cls);
            llmr_decision_json(&out, req, &cls, NULL, NULL);
            llmr_buf_add(&out, "}\n", 2);
            fwrite(out.data, 1, out.len, stdout);
            continue;
        }

        llmr_signals_init(&sig);
        sig.apis = llmr_api_bit(llmr_api_of_format(req->format));

        rc = llmr_decide(&rt, req, &sig, &v);

        if (rc != LLMR_OK) {
            llmr_buf_printf(&out, "{\"error\":");
            llmr_buf_cstr(&out, v.dec.error);
            llmr_buf_printf(&out, ",\"status\":%d,\"tier\":\"%s\"}\n",
                            v.dec.status, llmr_tier_name(v.cls.tier));
            fwrite(out.data, 1, out.len, stdout);
            continue;
        }

        llmr_decision_json(&out, req, &v.cls, reg, &v.dec);

        if (route && o->body) {
            m = &reg->models[v.dec.model];

            if (llmr_rewrite_plan(&rw, req, m->id, strlen(m->id), 0)
                == LLMR_OK)
            {
                llmr_buf_reserve(&out, n + rw.delta + 16);
                llmr_buf_add(&out, ",\"body\":", 8);
                out.len += llmr_rewrite_apply(&rw, (unsigned char *) line, n,
                                   (unsigned char *) out.data + out.len);
            }
        }

        llmr_buf_add(&out, "}\n", 2);
        fwrite(out.data, 1, out.len, stdout);
    }

    free(line);
    free(out.data);
    llmr_extract_destroy(x);
    llmr_registry_destroy(reg);
    llmr_classifier_destroy(cl);

    return ferror(stdin) ? 1 : 0;
}


/* benchmark ---------------------------------------------------------- */


static const char  *llmr_bench_sentences[] = {
    "Could you review this function and explain why the loop over the "
    "request buffers sometimes skips the last chunk? ",
    "We need a design for a multi-region deployment with failover, and "
    "I would like the trade-offs of each option spelled out. ",
    "A train leaves at 3 pm travelling at 60 miles per hour; another "
    "leaves an hour later at 80 miles per hour. When does it catch up? ",
    "Summarise the main arguments of the paper in plain language, then "
    "list three open questions the authors leave unanswered. ",
    NULL
};


static char *
llmr_bench_body(size_t size, size_t *len)
{
    size_t       i, n;
    llmr_buf_t   b, text;
    const char  *s;

    memset(&b, 0, sizeof(llmr_buf_t));
    memset(&text, 0, sizeof(llmr_buf_t));

    for (i = 0; text.len + 200 < size; i++) {
        s = llmr_bench_sentences[i % 4];
        n = strlen(s);

        if (text.len + n + 200 > size) {
            n = size - 200 - text.len;
        }

        llmr_buf_add(&text, s, n);
    }

    s = "{\"model\":\"auto\",\"messages\":[{\"role\":\"system\","
        "\"content\":\"You are a helpful assistant.\"},"
        "{\"role\":\"user\",\"content\":";
    llmr_buf_add(&b, s, strlen(s));
    llmr_buf_str(&b, text.data ? text.data : "", text.len);
    s = "}],\"max_tokens\":512}";
    llmr_buf_add(&b, s, strlen(s));

    free(text.data);
    *len = b.len;

    return b.data;
}


static double
llmr_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/*
 * The best of LLMR_BENCH_REPS runs of iters: a shared machine (CI, a
 * laptop) slows runs down, it never speeds one up.
 */

#define LLMR_BENCH_REPS         7

static int
llmr_cmd_bench(llmr_opts_t *o)
{
    int                    r;
    char                  *body;
    long                   i, iters;
    double                 t0, t, us_ex, us_all, us_cls, kb;
    size_t                 len, sizes[] = { 1024, 4096, 16384, 131072 };
    unsigned               k;
    llmr_class_t           cls;
    llmr_extract_t        *x;
    const llmr_request_t  *req;

    x = llmr_extract_create(NULL);
    if (x == NULL) {
        return 1;
    }

    (void) llmr_classifier_default();

    printf("%-8s %10s %11s %15s %11s %13s\n", "body", "iterations",
           "extract_us", "extract+cls_us", "classify_us", "classify_us/KB");

    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        body = llmr_bench_body(sizes[k], &len);

        iters = o->iterations ? o->iterations
                              : (long) (20000000 / (sizes[k] * 4 + 4096));

        /* warm up the buffers and the caches */

        for (i = 0; i < 100; i++) {
            llmr_extract_reset(x, LLMR_FMT_UNKNOWN);
            llmr_extract_feed(x, (unsigned char *) body, len);
            llmr_extract_finish(x);
        }

        us_ex = 1e9;
        us_all = 1e9;
        us_cls = 1e9;

        for (r = 0; r < LLMR_BENCH_REPS; r++) {
            t0 = llmr_now();

            for (i = 0; i < iters; i++) {
                llmr_extract_reset(x, LLMR_FMT_UNKNOWN);
                llmr_extract_feed(x, (unsigned char *) body, len);
                llmr_extract_finish(x);
            }

            t = (llmr_now() - t0) * 1e6 / iters;
            us_ex = t < us_ex ? t : us_ex;

            t0 = llmr_now();

            for (i = 0; i < iters; i++) {
                llmr_extract_reset(x, LLMR_FMT_UNKNOWN);
                llmr_extract_feed(x, (unsigned char *) body, len);

                if (llmr_extract_finish(x) != LLMR_OK) {
                    fprintf(stderr, "llmr bench: %s\n",
                            llmr_extract_error(x));
                    return 1;
                }

                llmr_classify(NULL, llmr_extract_result(x), &cls);
            }

            t = (llmr_now() - t0) * 1e6 / iters;
            us_all = t < us_all ? t : us_all;

            /* the classifier alone, on the request extracted last */

            req = llmr_extract_result(x);
            t0 = llmr_now();

            for (i = 0; i < iters; i++) {
                llmr_classify(NULL, req, &cls);
            }

            t = (llmr_now() - t0) * 1e6 / iters;
            us_cls = t < us_cls ? t : us_cls;
        }

        kb = req->last_user_bytes / 1024.0;

        printf("%-8zu %10ld %11.2f %15.2f %11.2f %13.3f\n", len, iters,
               us_ex, us_all, us_cls, kb > 0 ? us_cls / kb : 0);

        free(body);
    }

    llmr_extract_destroy(x);

    return llmr_bench_xreq(o);
}


/* a 1 KB OpenAI chat request translated for Anthropic: parse + write */

static int
llmr_bench_xreq(llmr_opts_t *o)
{
    int                r;
    char              *body;
    long               i, iters;
    double             t0, t, us;
    size_t             len, olen;
    const char        *out;
    llmr_xreq_t       *x;
    llmr_xreq_conf_t   conf;

    x = llmr_xreq_create();
    if (x == NULL) {
        return 1;
    }

    body = llmr_bench_body(1024, &len);

    memset(&conf, 0, sizeof(llmr_xreq_conf_t));
    conf.api = LLMR_API_ANTHROPIC;
    conf.model = "claude-sonnet-4-5";
    conf.model_len = strlen(conf.model);
    conf.max_tokens = 1024;

    iters = o->iterations ? o->iterations : 200000;
    us = 1e9;

    for (r = 0; r < LLMR_BENCH_REPS; r++) {
        t0 = llmr_now();

        for (i = 0; i < iters; i++) {
            if (llmr_xreq_parse(x, LLMR_FMT_OPENAI_CHAT, body, len)
                != LLMR_OK
                || llmr_xreq_write(x, &conf, &out, &olen) != LLMR_OK)
            {
                fprintf(stderr, "llmr bench: %s\n", llmr_xreq_error(x));
                free(body);
                llmr_xreq_destroy(x);
                return 1;
            }
        }

        t = (llmr_now() - t0) * 1e6 / iters;
        us = t < us ? t : us;
    }

    printf("\n%-8s %10s %11s\n", "body", "iterations", "translate_us");
    printf("%-8zu %10ld %11.2f   (OpenAI chat to Anthropic, parse+write)\n",
           len, iters, us);

    /* what a request that stays in its API pays in a mixed fleet */

    us = 1e9;

    for (r = 0; r < LLMR_BENCH_REPS; r++) {
        t0 = llmr_now();

        for (i = 0; i < iters; i++) {
            (void) llmr_xreq_parse(x, LLMR_FMT_OPENAI_CHAT, body, len);
        }

        t = (llmr_now() - t0) * 1e6 / iters;
        us = t < us ? t : us;
    }

    printf("%-8zu %10ld %11.2f   (parse alone: where it may go)\n",
           len, iters, us);

    free(body);
    llmr_xreq_destroy(x);

    return llmr_bench_xans(o);
}


/*
 * The answer of that exchange: a 1 KB Anthropic message written back as
 * an OpenAI chat completion, and the same answer streamed as 50 text
 * deltas (per stream).
 */

static int
llmr_bench_xans(llmr_opts_t *o)
{
    int                r, k;
    char              *json, *sse, *p;
    long               i, iters;
    double             t0, t, us[2];
    size_t             len[2], n;
    llmr_xans_t       *a;
    llmr_xans_conf_t   conf;

    a = llmr_xans_create();
    json = malloc(2048);
    sse = malloc(16384);

    if (a == NULL || json == NULL || sse == NULL) {
        free(json);
        free(sse);
        llmr_xans_destroy(a);
        return 1;
    }

    p = json + sprintf(json, "{\"id\":\"msg_01bench\",\"type\":\"message\","
                       "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
                       "\"content\":[{\"type\":\"text\",\"text\":\"");

    for (k = 0; k < 100; k++) {
        p += sprintf(p, "word%04d. ", k);
    }

    p += sprintf(p, "\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":"
                 "null,\"usage\":{\"input_tokens\":250,"
                 "\"output_tokens\":200}}");
    len[0] = p - json;

    p = sse + sprintf(sse, "event: message_start\ndata: {\"type\":"
                      "\"message_start\",\"message\":{\"id\":\"msg_01bench\","
                      "\"type\":\"message\",\"role\":\"assistant\","
                      "\"model\":\"claude-sonnet-4-5\",\"content\":[],"
                      "\"stop_reason\":null,\"stop_sequence\":null,"
                      "\"usage\":{\"input_tokens\":250,"
                      "\"output_tokens\":1}}}\n\n"
                      "event: content_block_start\ndata: {\"type\":"
                      "\"content_block_start\",\"index\":0,"
                      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"
                      "\n\n");

    for (k = 0; k < 50; k++) {
        p += sprintf(p, "event: content_block_delta\ndata: {\"type\":"
                     "\"content_block_delta\",\"index\":0,\"delta\":"
                     "{\"type\":\"text_delta\",\"text\":\"word%04d \"}}\n\n", k);
    }

    p += sprintf(p, "event: content_block_stop\ndata: {\"type\":"
                 "\"content_block_stop\",\"index\":0}\n\n"
                 "event: message_delta\ndata: {\"type\":\"message_delta\","
                 "\"delta\":{\"stop_reason\":\"end_turn\","
                 "\"stop_sequence\":null},\"usage\":{\"output_tokens\":50}}"
                 "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}"
                 "\n\n");
    len[1] = p - sse;

    memset(&conf, 0, sizeof(llmr_xans_conf_t));
    conf.from = LLMR_API_ANTHROPIC;
    conf.to = LLMR_API_OPENAI;
    conf.status = 200;
    conf.id = "bench";
    conf.model = "claude-sonnet-4-5";
    conf.created = 1700000000;

    iters = o->iterations ? o->iterations : 100000;

    for (k = 0; k < 2; k++) {
        conf.stream = k;
        conf.include_usage = k;
        us[k] = 1e9;

        for (r = 0; r < LLMR_BENCH_REPS; r++) {
            t0 = llmr_now();

            for (i = 0; i < iters / (k ? 10 : 1); i++) {
                llmr_xans_reset(a, &conf);

                if (llmr_xans_feed(a, k ? sse : json, len[k]) != LLMR_OK
                    || llmr_xans_finish(a) != LLMR_OK)
                {
                    fprintf(stderr, "llmr bench: the answer failed\n");
                    free(json);
                    free(sse);
                    llmr_xans_destroy(a);
                    return 1;
                }

                (void) llmr_xans_output(a, &n);
                llmr_xans_consume(a, n);
            }

            t = (llmr_now() - t0) * 1e6 / (iters / (k ? 10 : 1));
            us[k] = t < us[k] ? t : us[k];
        }
    }

    printf("%-8zu %10ld %11.2f   (its answer, Anthropic JSON to OpenAI)\n",
           len[0], iters, us[0]);
    printf("%-8zu %10ld %11.2f   (streamed, 50 deltas: %.2f us an event)\n",
           len[1], iters / 10, us[1], us[1] / 55);

    free(json);
    free(sse);
    llmr_xans_destroy(a);

    return llmr_bench_usage(o);
}


/* the usage reader on an OpenAI answer of 0, 1, 2 and 4 KB of text */

static int
llmr_bench_usage(llmr_opts_t *o)
{
    int            r;
    char          *body, *p;
    long           i, iters;
    double         t0, t, us;
    size_t         len, k, text[] = { 2, 1024, 2048, 4000 };
    llmr_usage_t  *u;

    u = llmr_usage_create(LLMR_FMT_UNKNOWN);
    body = malloc(8192);

    if (u == NULL || body == NULL) {
        free(body);
        llmr_usage_destroy(u);
        return 1;
    }

    printf("\n%-8s %10s %11s\n", "answer", "iterations", "usage_us");

    for (k = 0; k < sizeof(text) / sizeof(text[0]); k++) {
        p = body + sprintf(body, "{\"id\":\"chatcmpl-bench\",\"object\":"
                           "\"chat.completion\",\"created\":1700000000,"
                           "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":"
                           "0,\"message\":{\"role\":\"assistant\","
                           "\"content\":\"");

        for (i = 0; i < (long) text[k]; i++) {
            *p++ = llmr_bench_sentences[0][i % 64];
        }

        p += sprintf(p, "\"},\"finish_reason\":\"stop\"}],\"usage\":"
                     "{\"prompt_tokens\":250,\"completion_tokens\":200,"
                     "\"total_tokens\":450}}");
        len = p - body;

        iters = o->iterations ? o->iterations : 100000;
        us = 1e9;

        for (r = 0; r < LLMR_BENCH_REPS; r++) {
            t0 = llmr_now();

            for (i = 0; i < iters; i++) {
                llmr_usage_reset(u, LLMR_FMT_UNKNOWN);
                (void) llmr_usage_feed(u, (unsigned char *) body, len);
                llmr_usage_finish(u);
            }

            t = (llmr_now() - t0) * 1e6 / iters;
            us = t < us ? t : us;
        }

        if (!llmr_usage_result(u)->complete) {
            fprintf(stderr, "llmr bench: the answer's usage was not read\n");
            free(body);
            llmr_usage_destroy(u);
            return 1;
        }

        printf("%-8zu %10ld %11.2f   (an OpenAI answer, %zu bytes of "
               "text)\n", len, iters, us, text[k]);
    }

    free(body);
    llmr_usage_destroy(u);

    return 0;
}
