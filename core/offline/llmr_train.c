
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include <llmr/extract.h>
#include <llmr/classify.h>
#include <llmr/train.h>

#include "../src/llmr_features.h"


#define LLMR_TRAIN_GRAMS_MAX    4096    /* per example */


typedef struct {
    double                      x[LLMR_F_N];
    size_t                      gram;       /* first in ds->grams */
    unsigned                    ngrams;
    int                         group;
    double                      target;     /* 0..1 */
    double                      strong;     /* NAN if unknown */
    double                      weak;
} llmr_example_t;


struct llmr_dataset_s {
    llmr_example_t             *ex;
    size_t                      n;
    size_t                      cap;
    uint32_t                   *grams;
    size_t                      ngrams;
    size_t                      grams_cap;
    char                       *group[LLMR_GROUPS_MAX];
    size_t                      ngroups;
    llmr_extract_t             *x;
    char                       *body;
    size_t                      body_cap;
    uint32_t                    buf[LLMR_TRAIN_GRAMS_MAX];
};


static int llmr_dataset_group(llmr_dataset_t *ds, const char *name);
static uint64_t llmr_rand(uint64_t *s);
static void llmr_shuffle(size_t *a, size_t n, uint64_t *s);
static int llmr_train_held_out(const llmr_dataset_t *ds,
    const unsigned *part, unsigned nparts, const llmr_train_conf_t *conf,
    double *score);
static double llmr_sigmoid(double z);
static double llmr_logit(double p);
static void llmr_train_err(char *err, size_t errlen, const char *fmt, ...);


llmr_dataset_t *
llmr_dataset_create(void)
{
    llmr_dataset_t  *ds;

    ds = calloc(1, sizeof(llmr_dataset_t));
    if (ds == NULL) {
        return NULL;
    }

    ds->x = llmr_extract_create(NULL);
    if (ds->x == NULL) {
        free(ds);
        return NULL;
    }

    return ds;
}


void
llmr_dataset_destroy(llmr_dataset_t *ds)
{
    size_t  i;

    if (ds == NULL) {
        return;
    }

    for (i = 0; i < ds->ngroups; i++) {
        free(ds->group[i]);
    }

    llmr_extract_destroy(ds->x);
    free(ds->ex);
    free(ds->grams);
    free(ds->body);
    free(ds);
}


size_t
llmr_dataset_size(const llmr_dataset_t *ds)
{
    return ds->n;
}


size_t
llmr_dataset_groups(const llmr_dataset_t *ds, const char **names)
{
    size_t  i;

    if (names) {
        for (i = 0; i < ds->ngroups; i++) {
            names[i] = ds->group[i];
        }
    }

    return ds->ngroups;
}


int
llmr_dataset_group_of(const llmr_dataset_t *ds, size_t i)
{
    return i < ds->n ? ds->ex[i].group : -1;
}


int
llmr_dataset_write_scores(const llmr_dataset_t *ds, const char *path,
    const double *score, char *err, size_t errlen)
{
    FILE    *f;
    size_t   i;

    f = fopen(path, "w");
    if (f == NULL) {
        llmr_train_err(err, errlen, "cannot open \"%s\": %s", path,
                       strerror(errno));
        return LLMR_ERROR;
    }

    for (i = 0; i < ds->n; i++) {
        fprintf(f, "{\"n\": %zu, \"group\": \"%s\", \"score\": %.9g}\n", i,
                ds->group[ds->ex[i].group], score[i]);
    }

    if (fclose(f) != 0) {
        llmr_train_err(err, errlen, "cannot write \"%s\"", path);
        return LLMR_ERROR;
    }

    return LLMR_OK;
}


static int
llmr_dataset_group(llmr_dataset_t *ds, const char *name)
{
    size_t  i;

    if (name == NULL) {
        name = "all";
    }

    for (i = 0; i < ds->ngroups; i++) {
        if (strcmp(ds->group[i], name) == 0) {
            return (int) i;
        }
    }

    if (ds->ngroups == LLMR_GROUPS_MAX) {
        return -1;
    }

    ds->group[ds->ngroups] = strdup(name);

    if (ds->group[ds->ngroups] == NULL) {
        return -1;
    }

    return (int) ds->ngroups++;
}


int
llmr_dataset_add(llmr_dataset_t *ds, const char *prompt, size_t len,
    double target, double strong, double weak, const char *group,
    char *err, size_t errlen)
{
    int                    g;
    char                  *p;
    size_t                 n, need, ng;
    llmr_example_t        *e;
    llmr_features_t        f;
    const llmr_request_t  *req;

    static const char  head[] = "{\"messages\":[{\"role\":\"user\","
                                "\"content\":\"";
    static const char  tail[] = "\"}]}";

    g = llmr_dataset_group(ds, group);
    if (g < 0) {
        llmr_train_err(err, errlen, "more than %d groups", LLMR_GROUPS_MAX);
        return LLMR_ERROR;
    }

    /* the body llmr classify would get */

    n = llmr_json_escaped_len(prompt, len);
    need = sizeof(head) + n + sizeof(tail);

    if (need > ds->body_cap) {
        p = realloc(ds->body, need);
        if (p == NULL) {
            llmr_train_err(err, errlen, "out of memory");
            return LLMR_ERROR;
        }

        ds->body = p;
        ds->body_cap = need;
    }

    p = ds->body;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    p += llmr_json_escape(p, n, prompt, len);
    memcpy(p, tail, sizeof(tail) - 1);
    p += sizeof(tail) - 1;

    llmr_extract_reset(ds->x, LLMR_FMT_UNKNOWN);

    if (llmr_extract_feed(ds->x, (unsigned char *) ds->body, p - ds->body)
        != LLMR_OK
        || llmr_extract_finish(ds->x) != LLMR_OK)
    {
        llmr_train_err(err, errlen, "%s", llmr_extract_error(ds->x));
        return LLMR_ERROR;
    }

    req = llmr_extract_result(ds->x);

    llmr_features_extract(req, &f, NULL, ds->buf, LLMR_TRAIN_GRAMS_MAX,
                          &ng);

    if (ds->n == ds->cap) {
        n = ds->cap ? 2 * ds->cap : 1024;
        e = realloc(ds->ex, n * sizeof(llmr_example_t));

        if (e == NULL) {
            llmr_train_err(err, errlen, "out of memory");
            return LLMR_ERROR;
        }

        ds->ex = e;
        ds->cap = n;
    }

    if (ds->ngrams + ng > ds->grams_cap) {
        n = ds->grams_cap ? 2 * ds->grams_cap : 65536;

        while (n < ds->ngrams + ng) {
            n *= 2;
        }

        p = realloc(ds->grams, n * sizeof(uint32_t));
        if (p == NULL) {
            llmr_train_err(err, errlen, "out of memory");
            return LLMR_ERROR;
        }

        ds->grams = (uint32_t *) p;
        ds->grams_cap = n;
    }

    e = &ds->ex[ds->n++];

    memcpy(e->x, f.x, sizeof(e->x));
    memcpy(ds->grams + ds->ngrams, ds->buf, ng * sizeof(uint32_t));
    e->gram = ds->ngrams;
    e->ngrams = (unsigned) ng;
    ds->ngrams += ng;

    e->group = g;
    e->target = target < 0 ? 0 : (target > 1 ? 1 : target);
    e->strong = strong;
    e->weak = weak;

    return LLMR_OK;
}


/* one JSONL file; the targets of a benchmark scaled by its largest gain */

long
llmr_dataset_load_jsonl(llmr_dataset_t *ds, const char *path, char *err,
    size_t errlen)
{
    int           bad;
    long          added, lines, k;
    char         *line, msg[256], *name;
    FILE         *f;
    double        scale[LLMR_GROUPS_MAX], gain, target;
    size_t        cap, i, nrec;
    ssize_t       n;
    yajl_val      v, prompt, strong, weak, label, bench;
    const char   *base, *gname, *text;

    static const char  *pp[] = { "prompt", NULL };
    static const char  *sp[] = { "strong", NULL };
    static const char  *wp[] = { "weak", NULL };
    static const char  *lp[] = { "label", NULL };
    static const char  *bp[] = { "benchmark", NULL };

    typedef struct {
        yajl_val  v;
        int       group;
    } rec_t;

    rec_t  *recs, *r;

    f = fopen(path, "r");
    if (f == NULL) {
        llmr_train_err(err, errlen, "cannot open \"%s\": %s", path,
                       strerror(errno));
        return -1;
    }

    base = strrchr(path, '/');
    base = base ? base + 1 : path;

    name = strdup(base);
    if (name == NULL) {
        fclose(f);
        llmr_train_err(err, errlen, "out of memory");
        return -1;
    }

    if (strchr(name, '.')) {
        *strchr(name, '.') = '\0';
    }

    for (i = 0; i < LLMR_GROUPS_MAX; i++) {
        scale[i] = 0;
    }

    /* first the whole file: the scale of the gains needs all of it */

    recs = NULL;
    nrec = 0;
    cap = 0;
    line = NULL;
    lines = 0;
    bad = 0;
    n = 0;

    while ((n = getline(&line, &cap, f)) != -1) {
        lines++;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }

        if (n == 0) {
            continue;
        }

        v = yajl_tree_parse(line, msg, sizeof(msg));

        if (v == NULL || !YAJL_IS_OBJECT(v)) {
            llmr_train_err(err, errlen, "%s:%ld: not a JSON object", path,
                           lines);
            yajl_tree_free(v);
            bad = 1;
            break;
        }

        prompt = yajl_tree_get(v, pp, yajl_t_string);
        strong = yajl_tree_get(v, sp, yajl_t_number);
        weak = yajl_tree_get(v, wp, yajl_t_number);
        label = yajl_tree_get(v, lp, yajl_t_number);
        bench = yajl_tree_get(v, bp, yajl_t_string);

        if (prompt == NULL || (label == NULL && (strong == NULL
                                                 || weak == NULL)))
        {
            llmr_train_err(err, errlen, "%s:%ld: needs \"prompt\" and "
                           "\"strong\" and \"weak\", or \"label\"", path,
                           lines);
            yajl_tree_free(v);
            bad = 1;
            break;
        }

        gname = bench ? YAJL_GET_STRING(bench) : name;

        if (nrec == 0 || (nrec & (nrec - 1)) == 0) {
            r = realloc(recs, (nrec ? 2 * nrec : 1) * sizeof(rec_t));

            if (r == NULL) {
                llmr_train_err(err, errlen, "out of memory");
                yajl_tree_free(v);
                bad = 1;
                break;
            }

            recs = r;
        }

        recs[nrec].v = v;
        recs[nrec].group = llmr_dataset_group(ds, gname);

        if (recs[nrec].group < 0) {
            llmr_train_err(err, errlen, "more than %d groups",
                           LLMR_GROUPS_MAX);
            yajl_tree_free(v);
            bad = 1;
            break;
        }

        if (strong && weak) {
            gain = fabs(YAJL_GET_DOUBLE(strong) - YAJL_GET_DOUBLE(weak));

            if (gain > scale[recs[nrec].group]) {
                scale[recs[nrec].group] = gain;
            }
        }

        nrec++;
    }

    free(line);
    fclose(f);

    added = 0;

    for (i = 0; i < nrec; i++) {
        v = recs[i].v;

        if (!bad) {
            prompt = yajl_tree_get(v, pp, yajl_t_string);
            strong = yajl_tree_get(v, sp, yajl_t_number);
            weak = yajl_tree_get(v, wp, yajl_t_number);
            label = yajl_tree_get(v, lp, yajl_t_number);

            k = recs[i].group;

            if (label) {
                target = YAJL_GET_DOUBLE(label);

            } else {
                gain = YAJL_GET_DOUBLE(strong) - YAJL_GET_DOUBLE(weak);
                target = (scale[k] > 0 ? gain / scale[k] : 0) / 2 + 0.5;
            }

            text = YAJL_GET_STRING(prompt);

            if (llmr_dataset_add(ds, text, text ? strlen(text) : 0, target,
                                 (strong && weak) ? YAJL_GET_DOUBLE(strong)
                                                  : NAN,
                                 (strong && weak) ? YAJL_GET_DOUBLE(weak)
                                                  : NAN,
                                 ds->group[k], msg, sizeof(msg))
                != LLMR_OK)
            {
                llmr_train_err(err, errlen, "%s: example %zu: %s", path,
                               i + 1, msg);
                bad = 1;

            } else {
                added++;
            }
        }

        yajl_tree_free(v);
    }

    free(recs);
    free(name);

    return bad ? -1 : added;
}


int
llmr_dense_mask(const char *names, uint64_t *mask)
{
    int          i;
    const char  *p, *q;

    *mask = 0;

    for (p = names; *p; p = *q ? q + 1 : q) {
        q = strchr(p, ',');

        if (q == NULL) {
            q = p + strlen(p);
        }

        if (q - p == 3 && memcmp(p, "all", 3) == 0) {
            *mask = 0;
            return LLMR_OK;
        }

        i = llmr_feature_index(p, q - p);

        if (i < 0 || i >= 64) {
            return LLMR_ERROR;
        }

        *mask |= (uint64_t) 1 << i;
    }

    return LLMR_OK;
}


void
llmr_train_conf_init(llmr_train_conf_t *conf)
{
    conf->hash_bits = 16;
    conf->epochs = 10;
    conf->lr = 0.1;
    conf->l2 = 1e-5;
    conf->gram_l2 = 1e-5;
    conf->min_weight = 1e-4;
    conf->balance = 1;
    conf->bags = 1;
    conf->prior = 0;
    conf->mix = 0;
    conf->dense_mask = 0;
    conf->seed = 1;
}


/* xorshift64*: the trainer's own sequence, the same everywhere */

static uint64_t
llmr_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;

    return *s * 0x2545f4914f6cdd1dULL;
}


static void
llmr_shuffle(size_t *a, size_t n, uint64_t *s)
{
    size_t  i, j, t;

    for (i = n; i > 1; i--) {
        j = (size_t) (llmr_rand(s) % i);
        t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}


static double
llmr_logit(double p)
{
    p = p < 1e-12 ? 1e-12 : (p > 1 - 1e-12 ? 1 - 1e-12 : p);

    return log(p / (1 - p));
}


static double
llmr_sigmoid(double z)
{
    if (z > 30) {
        z = 30;

    } else if (z < -30) {
        z = -30;
    }

    return 1 / (1 + exp(-z));
}


/*
 * AdaGrad over the log loss with soft targets.  The dense features are
 * standardized while learning (their means and spreads folded into the
 * weights at the end), the grams enter as (sum of weights) / sqrt(n),
 * as llmr_classify_features() scores them.
 */

static llmr_classifier_t *
llmr_train_one(const llmr_dataset_t *ds, const size_t *idx, size_t n,
    const llmr_train_conf_t *conf, uint64_t seed,
    const llmr_classifier_t *base)
{
    size_t                 i, j, k, e, ng, nv, *order;
    double                 mean[LLMR_F_N], sd[LLMR_F_N], w[LLMR_F_N],
                           gw[LLMR_F_N], xs[LLMR_F_N], b, gb, z, g, r, d,
                           *v, *gv, gweight[LLMR_GROUPS_MAX], offset;
    size_t                 gcount[LLMR_GROUPS_MAX];
    unsigned char          frozen[LLMR_F_N];
    const uint32_t        *grams;
    llmr_classifier_t     *cl;
    const llmr_example_t  *ex;

    if (n == 0 && idx == NULL) {
        n = ds->n;
    }

    if (n == 0) {
        return NULL;
    }

    cl = llmr_classifier_create(base ? base : llmr_classifier_v1());
    if (cl == NULL) {
        return NULL;
    }

    if (cl->owned) {
        free(cl->gram_w);
    }

    cl->gram_w = NULL;
    cl->owned = 0;
    cl->gram_bits = conf->hash_bits;

    nv = conf->hash_bits ? (size_t) 1 << conf->hash_bits : 0;

    order = malloc(n * sizeof(size_t));
    v = calloc(nv + 1, sizeof(double));
    gv = calloc(nv + 1, sizeof(double));

    if (nv) {
        cl->gram_w = calloc(nv, sizeof(float));
        cl->owned = 1;
    }

    if (order == NULL || v == NULL || gv == NULL || (nv && !cl->gram_w)) {
        free(order);
        free(v);
        free(gv);
        llmr_classifier_destroy(cl);
        return NULL;
    }

    for (i = 0; i < n; i++) {
        order[i] = idx ? idx[i] : i;
    }

    /* the dense features' means and spreads */

    for (j = 0; j < LLMR_F_N; j++) {
        mean[j] = 0;
        sd[j] = 0;
        w[j] = 0;
        gw[j] = 0;
        frozen[j] = 0;
    }

    for (i = 0; i < n; i++) {
        ex = &ds->ex[order[i]];

        for (j = 0; j < LLMR_F_N; j++) {
            mean[j] += ex->x[j];
        }
    }

    for (j = 0; j < LLMR_F_N; j++) {
        mean[j] /= n;
    }

    for (i = 0; i < n; i++) {
        ex = &ds->ex[order[i]];

        for (j = 0; j < LLMR_F_N; j++) {
            d = ex->x[j] - mean[j];
            sd[j] += d * d;
        }
    }

    for (j = 0; j < LLMR_F_N; j++) {
        sd[j] = sqrt(sd[j] / n);

        if (conf->dense_mask && !((conf->dense_mask >> j) & 1)) {
            /* left out of the learning: it keeps the base's weight */
            frozen[j] = 1;
        }
    }

    /* each benchmark weighs the same, whatever its size */

    for (j = 0; j < LLMR_GROUPS_MAX; j++) {
        gcount[j] = 0;
    }

    for (i = 0; i < n; i++) {
        gcount[ds->ex[order[i]].group]++;
    }

    for (j = 0, k = 0; j < LLMR_GROUPS_MAX; j++) {
        k += (gcount[j] != 0);
    }

    for (j = 0; j < LLMR_GROUPS_MAX; j++) {
        gweight[j] = (conf->balance && gcount[j])
                     ? pow((double) n / (k * gcount[j]), conf->balance) : 1;
    }

    /*
     * With conf->prior the learning starts from the base model (the
     * hand-set v1 weights): what the data cannot tell (greetings, tools,
     * images are not in benchmarks) stays as it was set.
     */

    b = conf->prior ? cl->bias : 0;
    gb = 0;

    for (j = 0; j < LLMR_F_N; j++) {
        if (!conf->prior) {
            if (frozen[j]) {
                sd[j] = 0;
                frozen[j] = 0;
            }

            continue;
        }

        if (frozen[j] || sd[j] <= 1e-12) {
            frozen[j] = 1;
            continue;
        }

        w[j] = cl->weight[j] * sd[j];
        b += cl->weight[j] * mean[j];
    }

    for (e = 0; e < conf->epochs; e++) {
        llmr_shuffle(order, n, &seed);

        for (i = 0; i < n; i++) {
            ex = &ds->ex[order[i]];
            grams = ds->grams + ex->gram;
            ng = nv ? ex->ngrams : 0;
            r = ng ? 1 / (double) ng : 0;

            z = b;
            offset = 0;

            for (j = 0; j < LLMR_F_N; j++) {
                if (frozen[j]) {
                    xs[j] = 0;
                    offset += cl->weight[j] * ex->x[j];
                    continue;
                }

                xs[j] = sd[j] > 1e-12 ? (ex->x[j] - mean[j]) / sd[j] : 0;
                z += w[j] * xs[j];
            }

            z += offset;

            for (k = 0; k < ng; k++) {
                z += v[grams[k] >> (32 - conf->hash_bits)] * r;
            }

            g = (llmr_sigmoid(z) - ex->target) * gweight[ex->group];

            gb += g * g;
            b -= conf->lr * g / (sqrt(gb) + 1e-8);

            for (j = 0; j < LLMR_F_N; j++) {
                d = g * xs[j] + conf->l2 * w[j];
                gw[j] += d * d;
                w[j] -= conf->lr * d / (sqrt(gw[j]) + 1e-8);
            }

            for (k = 0; k < ng; k++) {
                j = grams[k] >> (32 - conf->hash_bits);
                d = g * r + conf->gram_l2 * v[j];
                gv[j] += d * d;
                v[j] -= conf->lr * d / (sqrt(gv[j]) + 1e-8);
            }
        }
    }

    /* back to the raw features */

    cl->bias = b;

    for (j = 0; j < LLMR_F_N; j++) {
        if (frozen[j] && conf->prior) {
            /* the base's weight, as it was */

        } else if (sd[j] > 1e-12) {
            cl->weight[j] = w[j] / sd[j];
            cl->bias -= w[j] * mean[j] / sd[j];

        } else {
            cl->weight[j] = 0;
        }
    }

    for (j = 0; j < nv; j++) {
        cl->gram_w[j] = (float) v[j];
    }

    if (nv == 0) {
        cl->gram_bits = 0;
    }

    free(order);
    free(v);
    free(gv);

    return cl;
}


/*
 * The mean of conf->bags models that differ in the order they read the
 * examples in: a linear model still, with less of the noise of one.
 */

llmr_classifier_t *
llmr_train(const llmr_dataset_t *ds, const size_t *idx, size_t n,
    const llmr_train_conf_t *conf, const llmr_classifier_t *base)
{
    double                    mean;
    size_t                    j, nv;
    unsigned                  k, bags;
    uint64_t                  seed;
    llmr_classifier_t        *cl, *one;
    const llmr_classifier_t  *v1;

    bags = conf->bags ? conf->bags : 1;
    seed = conf->seed ? conf->seed : 1;

    cl = llmr_train_one(ds, idx, n, conf, seed, base);
    if (cl == NULL) {
        return NULL;
    }

    nv = cl->gram_w ? (size_t) 1 << cl->gram_bits : 0;

    for (k = 1; k < bags; k++) {
        one = llmr_train_one(ds, idx, n, conf, seed + 0x9e3779b9ULL * k,
                             base);
        if (one == NULL) {
            llmr_classifier_destroy(cl);
            return NULL;
        }

        cl->bias += one->bias;

        for (j = 0; j < LLMR_F_N; j++) {
            cl->weight[j] += one->weight[j];
        }

        for (j = 0; j < nv; j++) {
            cl->gram_w[j] += one->gram_w[j];
        }

        llmr_classifier_destroy(one);
    }

    cl->bias /= bags;

    for (j = 0; j < LLMR_F_N; j++) {
        cl->weight[j] /= bags;
    }

    for (j = 0; j < nv; j++) {
        cl->gram_w[j] /= bags;
    }

    /*
     * conf->mix > 0: the hand-set v1 weights plus mix times the learned
     * ones, one linear model still.  Benchmarks have no greetings, tool
     * calls or design briefs: v1 keeps those where they belong, the
     * learned part orders what the outcomes tell about.
     */

    if (conf->mix > 0) {
        v1 = llmr_classifier_v1();

        /* centred: a typical example gets v1's score */

        mean = 0;

        for (j = 0; j < (idx ? n : ds->n); j++) {
            mean += llmr_logit(llmr_dataset_score(ds, idx ? idx[j] : j, cl));
        }

        mean /= (idx ? n : ds->n);

        cl->bias = v1->bias + conf->mix * (cl->bias - mean);

        for (j = 0; j < LLMR_F_N; j++) {
            cl->weight[j] = v1->weight[j] + conf->mix * cl->weight[j];
        }

        for (j = 0; j < nv; j++) {
            cl->gram_w[j] *= (float) conf->mix;
        }
    }

    for (j = 0; j < nv; j++) {
        if (fabs(cl->gram_w[j]) < conf->min_weight) {
            cl->gram_w[j] = 0;
        }
    }

    return cl;
}


double
llmr_dataset_score(const llmr_dataset_t *ds, size_t i,
    const llmr_classifier_t *cl)
{
    float                  gz;
    size_t                 j;
    double                 z;
    const llmr_example_t  *ex;

    ex = &ds->ex[i];
    z = cl->bias;

    for (j = 0; j < LLMR_F_N; j++) {
        z += cl->weight[j] * ex->x[j];
    }

    if (cl->gram_w && ex->ngrams) {
        gz = 0;

        for (j = 0; j < ex->ngrams; j++) {
            gz += cl->gram_w[ds->grams[ex->gram + j]
                             >> (32 - cl->gram_bits)];
        }

        z += gz / (double) ex->ngrams;
    }

    return llmr_sigmoid(z);
}


int
llmr_train_cv(const llmr_dataset_t *ds, unsigned k,
    const llmr_train_conf_t *conf, double *score, unsigned *folds)
{
    int        g, rc;
    size_t     i, n, *all;
    unsigned  *fold;
    uint64_t   seed;

    if (k < 2 || ds->n < k) {
        return LLMR_ERROR;
    }

    fold = malloc(ds->n * sizeof(unsigned));
    all = malloc(ds->n * sizeof(size_t));

    if (fold == NULL || all == NULL) {
        free(fold);
        free(all);
        return LLMR_ERROR;
    }

    /* folds stratified by group: each group's examples dealt in turn */

    seed = (conf->seed ? conf->seed : 1) ^ 0x5bd1e995;

    for (g = 0; g < (int) ds->ngroups; g++) {
        n = 0;

        for (i = 0; i < ds->n; i++) {
            if (ds->ex[i].group == g) {
                all[n++] = i;
            }
        }

        llmr_shuffle(all, n, &seed);

        for (i = 0; i < n; i++) {
            fold[all[i]] = (unsigned) (i % k);
        }
    }

    if (folds) {
        memcpy(folds, fold, ds->n * sizeof(unsigned));
    }

    rc = llmr_train_held_out(ds, fold, k, conf, score);

    free(fold);
    free(all);

    return rc;
}


/*
 * Each part in turn is held out: a model trained on the examples of the
 * other parts, in their order, scores it.  Empty parts are skipped.
 */

static int
llmr_train_held_out(const llmr_dataset_t *ds, const unsigned *part,
    unsigned nparts, const llmr_train_conf_t *conf, double *score)
{
    size_t              i, ntrain, ntest, *train;
    unsigned            p;
    llmr_classifier_t  *cl;

    train = malloc(ds->n * sizeof(size_t));
    if (train == NULL) {
        return LLMR_ERROR;
    }

    for (p = 0; p < nparts; p++) {
        ntrain = 0;
        ntest = 0;

        for (i = 0; i < ds->n; i++) {
            if (part[i] == p) {
                ntest++;

            } else {
                train[ntrain++] = i;
            }
        }

        if (ntest == 0) {
            continue;
        }

        /* no other part, no model: NULL */

        cl = llmr_train(ds, train, ntrain, conf, NULL);
        if (cl == NULL) {
            free(train);
            return LLMR_ERROR;
        }

        for (i = 0; i < ds->n; i++) {
            if (part[i] == p) {
                score[i] = llmr_dataset_score(ds, i, cl);
            }
        }

        llmr_classifier_destroy(cl);
    }

    free(train);

    return LLMR_OK;
}


/*
 * Each source in turn is left out: trained on the others' examples in
 * their order, which is the model a dataset of the other files alone
 * would give, byte for byte.
 */

int
llmr_train_lobo(const llmr_dataset_t *ds, const unsigned *source,
    unsigned nsources, const llmr_train_conf_t *conf, double *score)
{
    size_t  i;

    if (nsources < 2 || ds->n == 0) {
        return LLMR_ERROR;
    }

    for (i = 0; i < ds->n; i++) {
        if (source[i] >= nsources) {
            return LLMR_ERROR;
        }
    }

    return llmr_train_held_out(ds, source, nsources, conf, score);
}


int
llmr_apgr(const llmr_dataset_t *ds, int group, const double *score,
    double *apgr)
{
    return llmr_apgr_fold(ds, group, score, NULL, 0, apgr);
}


int
llmr_apgr_fold(const llmr_dataset_t *ds, int group, const double *score,
    const unsigned *folds, unsigned fold, double *apgr)
{
    int      rc;
    size_t   i, n;
    double  *s, *st, *wk;

    s = malloc(3 * (ds->n + 1) * sizeof(double));
    if (s == NULL) {
        return LLMR_ERROR;
    }

    st = s + ds->n + 1;
    wk = st + ds->n + 1;
    n = 0;

    for (i = 0; i < ds->n; i++) {
        if ((group >= 0 && ds->ex[i].group != group)
            || (folds && folds[i] != fold)
            || isnan(ds->ex[i].strong) || isnan(ds->ex[i].weak))
        {
            continue;
        }

        s[n] = score[i];
        st[n] = ds->ex[i].strong;
        wk[n] = ds->ex[i].weak;
        n++;
    }

    rc = llmr_apgr_raw(s, st, wk, n, apgr);

    free(s);

    return rc;
}


static int
llmr_cmp_double(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x > y) - (x < y);
}


/*
 * route_eval.py, function by function: qcut_edges(), routellm_curve(),
 * sort_points() (a stable sort by x), routellm_metrics(); the sums are
 * made in the same order, so that the results agree to the last bits.
 */

int
llmr_apgr_raw(const double *score, const double *strong, const double *weak,
    size_t n, double *apgr)
{
    int      binary;
    size_t   i, j, k, lo, hi, cnt, order[11], t;
    double   *v, edges[11], px[11], py[11], xs[11], ys[11], qk, pos, f, a,
             b, d, tot, sq, wq, scale, auc, wauc, sauc;

    if (n < 2) {
        return LLMR_ERROR;
    }

    binary = 1;

    for (i = 0; i < n; i++) {
        if ((strong[i] != 0 && strong[i] != 1)
            || (weak[i] != 0 && weak[i] != 1))
        {
            binary = 0;
        }
    }

    scale = binary ? 100.0 : 1.0;

    sq = 0;
    wq = 0;

    for (i = 0; i < n; i++) {
        sq += strong[i] * scale;
        wq += weak[i] * scale;
    }

    sq /= n;
    wq /= n;

    if (!(sq != wq)) {
        return LLMR_ERROR;
    }

    v = malloc(n * sizeof(double));
    if (v == NULL) {
        return LLMR_ERROR;
    }

    memcpy(v, score, n * sizeof(double));
    qsort(v, n, sizeof(double), llmr_cmp_double);

    for (k = 0; k <= 10; k++) {
        qk = (k == 10) ? 1.0 : (k * (1.0 / 10)) + 0.0;
        qk = (qk * 100.0) / 100.0;
        pos = (n - 1) * qk;
        lo = (size_t) floor(pos);
        hi = lo + 1 < n - 1 ? lo + 1 : n - 1;
        f = pos - lo;
        a = v[lo];
        b = v[hi];
        d = b - a;
        edges[k] = (f >= 0.5) ? b - d * (1 - f) : a + d * f;
    }

    free(v);

    for (k = 0; k <= 10; k++) {
        tot = 0;
        cnt = 0;

        for (i = 0; i < n; i++) {
            if ((k == 10) ? score[i] > edges[k] : score[i] >= edges[k]) {
                tot += strong[i] * scale;
                cnt++;

            } else {
                tot += weak[i] * scale;
            }
        }

        px[k] = (double) cnt / n * 100.0;
        py[k] = tot / n;
        order[k] = k;
    }

    /* stable insertion sort by x */

    for (i = 1; i <= 10; i++) {
        for (j = i; j > 0 && px[order[j - 1]] > px[order[j]]; j--) {
            t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }

    for (k = 0; k <= 10; k++) {
        xs[k] = px[order[k]] / 100.0;
        ys[k] = py[order[k]];
    }

    auc = 0;
    wauc = 0;
    sauc = 0;

    for (k = 0; k < 10; k++) {
        auc += (xs[k + 1] - xs[k]) * (ys[k + 1] + ys[k]) / 2.0;
        wauc += (xs[k + 1] - xs[k]) * (wq + wq) / 2.0;
        sauc += (xs[k + 1] - xs[k]) * (sq + sq) / 2.0;
    }

    if (sauc == wauc) {
        return LLMR_ERROR;
    }

    *apgr = (auc - wauc) / (sauc - wauc);

    return LLMR_OK;
}


int
llmr_thresholds_for_shares(const llmr_dataset_t *ds,
    const llmr_classifier_t *cl, const double *shares, double *t)
{
    int      rc;
    size_t   i;
    double  *s;

    if (ds->n == 0) {
        return LLMR_ERROR;
    }

    s = malloc(ds->n * sizeof(double));
    if (s == NULL) {
        return LLMR_ERROR;
    }

    for (i = 0; i < ds->n; i++) {
        s[i] = llmr_dataset_score(ds, i, cl);
    }

    rc = llmr_thresholds_from_scores(s, ds->n, shares, t);

    free(s);

    return rc;
}


int
llmr_thresholds_from_scores(double *s, size_t n, const double *shares,
    double *t)
{
    size_t  i, k;
    double  cum, sum, lo;

    if (n == 0) {
        return LLMR_ERROR;
    }

    sum = 0;

    for (i = 0; i < LLMR_TIER_N; i++) {
        if (!(shares[i] >= 0)) {
            return LLMR_ERROR;
        }

        sum += shares[i];
    }

    if (!(sum > 0)) {
        return LLMR_ERROR;
    }

    qsort(s, n, sizeof(double), llmr_cmp_double);

    cum = 0;
    lo = 0;

    for (i = 0; i < LLMR_THRESHOLDS_N; i++) {
        cum += shares[i] / sum;
        k = (size_t) (cum * n + 0.5);
        k = k < n ? k : n - 1;

        t[i] = s[k];

        /* strictly increasing inside (0, 1), whatever ties there are */

        if (!(t[i] > lo)) {
            t[i] = lo + (1 - lo) * 1e-6;
        }

        if (!(t[i] < 1)) {
            t[i] = 1 - (1 - lo) * 1e-6 * (LLMR_THRESHOLDS_N - i);
        }

        lo = t[i];
    }

    return LLMR_OK;
}


int
llmr_thresholds_for_quality(const llmr_dataset_t *ds,
    const llmr_classifier_t *cl, double quality, double *t)
{
    size_t   i, m, best, *o, tmp, j;
    double  *s, sq, q, target, below[2], above[2];

    s = malloc(ds->n * sizeof(double));
    o = malloc(ds->n * sizeof(size_t));

    if (s == NULL || o == NULL || ds->n == 0) {
        free(s);
        free(o);
        return LLMR_ERROR;
    }

    m = 0;
    sq = 0;
    q = 0;

    for (i = 0; i < ds->n; i++) {
        if (isnan(ds->ex[i].strong) || isnan(ds->ex[i].weak)) {
            continue;
        }

        s[m] = llmr_dataset_score(ds, i, cl);
        o[m] = i;
        sq += ds->ex[i].strong;
        q += ds->ex[i].weak;
        m++;
    }

    if (m < 5) {
        free(s);
        free(o);
        return LLMR_ERROR;
    }

    /* by score, highest first (insertion by index keeps it stable) */

    for (i = 1; i < m; i++) {
        for (j = i; j > 0 && s[j - 1] < s[j]; j--) {
            tmp = o[j];
            o[j] = o[j - 1];
            o[j - 1] = tmp;
            q = s[j];
            s[j] = s[j - 1];
            s[j - 1] = q;
        }
    }

    /* the fewest strong calls that reach the target */

    q = 0;

    for (i = 0; i < m; i++) {
        q += ds->ex[o[i]].weak;
    }

    target = quality * sq;
    best = m;

    for (i = 0; i < m; i++) {
        if (q >= target) {
            best = i;
            break;
        }

        q += ds->ex[o[i]].strong - ds->ex[o[i]].weak;
    }

    if (best == m && q >= target) {
        best = m;
    }

    best = best < 1 ? 1 : (best > m - 1 ? m - 1 : best);

    /* complex starts at the best-th score; the rest split evenly */

    below[0] = s[m - 1];
    below[1] = s[best];
    above[0] = s[best - 1];
    above[1] = s[0];

    t[2] = (s[best] + s[best - 1]) / 2;
    t[0] = s[best + (m - best) * 2 / 3 < m ? best + (m - best) * 2 / 3
                                           : m - 1];
    t[1] = s[best + (m - best) / 3 < m ? best + (m - best) / 3 : m - 1];
    t[3] = s[best / 2];

    (void) below;
    (void) above;

    free(s);
    free(o);

    for (i = 0; i < LLMR_THRESHOLDS_N; i++) {
        if (!(t[i] > (i ? t[i - 1] : 0))) {
            t[i] = (i ? t[i - 1] : 0) + 1e-6;
        }

        if (!(t[i] < 1)) {
            return LLMR_ERROR;
        }
    }

    return LLMR_OK;
}


static void
llmr_train_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
