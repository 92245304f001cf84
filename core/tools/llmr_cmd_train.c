
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * llmr train and llmr calibrate-thresholds: the classifier's model from
 * recorded outcomes, and its score -> tier thresholds from data.
 */


#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llmr/core.h>
#include <llmr/classify.h>
#include <llmr/train.h>
#include <llmr/bodies.h>


#define LLMR_SOURCES_MAX        LLMR_GROUPS_MAX


/* the --data files, in order: the examples of file i end at end[i] */

typedef struct {
    unsigned                    n;
    const char                 *path[LLMR_SOURCES_MAX];
    size_t                      end[LLMR_SOURCES_MAX];
} llmr_sources_t;


int llmr_cmd_train(int argc, char **argv);
int llmr_cmd_calibrate_thresholds(int argc, char **argv);


static llmr_dataset_t *llmr_train_data(char *files, llmr_sources_t *src,
    char *err, size_t errlen);
static int llmr_train_lobo_report(llmr_dataset_t *ds,
    const llmr_sources_t *src, const llmr_train_conf_t *conf,
    const char *scores);
static llmr_bodies_t *llmr_bodies_data(char *files,
    const llmr_classifier_t *cl);
static void llmr_print_shares(const llmr_classifier_t *cl, const double *s,
    size_t n);
static int llmr_parse_list(const char *s, double *v, size_t n);


static const char  llmr_train_usage[] =
    "usage: llmr train --data FILE[,FILE...] [--out MODEL] [--cv K]\n"
    "                  [--lobo] [--seed N] [--epochs N] [--bits N] [--lr X]\n"
    "                  [--l2 X] [--balance X] [--scores FILE]\n"
    "                  [--thresholds T,T,T,T]\n"
    "  FILE: JSONL, {\"prompt\",\"strong\",\"weak\"} or {\"prompt\","
    "\"label\"}\n"
    "  --cv K     K-fold cross-validation: APGR per benchmark (no model)\n"
    "  --lobo     leave one source out: for each FILE, trained on the\n"
    "             other files and scored on it: APGR per file, the worst\n"
    "             and the mean (no model; two files or more)\n"
    "  --scores   with --cv or --lobo, the out-of-fold scores as\n"
    "             {\"n\",\"group\",\"score\"}\n"
    "  --thresholds  the model's score -> tier thresholds (default\n"
    "             0.15,0.35,0.55,0.75; eval/lobo.py --calibrate gives them\n"
    "             for tier shares on prompt corpora)\n";


static const char  llmr_thresholds_usage[] =
    "usage: llmr calibrate-thresholds --data FILE[,FILE...]\n"
    "                  | --bodies FILE[,FILE...]\n"
    "                  [--model MODEL] [--out MODEL]\n"
    "                  [--shares S1,S2,S3,S4,S5 | --quality Q]\n"
    "  --data     outcomes, as llmr train reads them\n"
    "  --bodies   logged requests (- : stdin): a JSON request body a line,\n"
    "             or nginx access log lines with \"$request_body\" as the\n"
    "             last quoted field (escape=default or escape=json); each\n"
    "             scored as llmr classify and the module score it\n"
    "  --shares   the share of traffic of each tier, trivial to expert\n"
    "             (default 0.2 each), of the scores: the rules' floors\n"
    "             (code, word problems, reasoning, high stakes) lift some\n"
    "             requests above their score's tier\n"
    "  --quality  complex and expert start where sending them to the\n"
    "             strong model keeps Q of its quality (0.95: 95%; --data)\n";


static llmr_dataset_t *
llmr_train_data(char *files, llmr_sources_t *src, char *err, size_t errlen)
{
    long             n;
    char            *f, *next;
    llmr_dataset_t  *ds;

    ds = llmr_dataset_create();
    if (ds == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    for (f = files; f && *f; f = next) {
        next = strchr(f, ',');

        if (next) {
            *next++ = '\0';
        }

        if (src && src->n == LLMR_SOURCES_MAX) {
            snprintf(err, errlen, "more than %d files", LLMR_SOURCES_MAX);
            llmr_dataset_destroy(ds);
            return NULL;
        }

        n = llmr_dataset_load_jsonl(ds, f, err, errlen);

        if (n < 0) {
            llmr_dataset_destroy(ds);
            return NULL;
        }

        if (src) {
            src->path[src->n] = f;
            src->end[src->n++] = llmr_dataset_size(ds);
        }
    }

    if (llmr_dataset_size(ds) == 0) {
        snprintf(err, errlen, "no examples");
        llmr_dataset_destroy(ds);
        return NULL;
    }

    return ds;
}


/*
 * Leave one source out: each file's examples scored by a model trained on
 * the other files, APGR per file, the worst and the mean of those that
 * have one (eval/lobo.py's left-out column, without a model file between).
 */

static int
llmr_train_lobo_report(llmr_dataset_t *ds, const llmr_sources_t *src,
    const llmr_train_conf_t *conf, const char *scores)
{
    int          rc, len;
    char         err[512];
    size_t       i, n, start;
    double      *score, apgr, worst, mean;
    unsigned     s, na, *source;
    const char  *name, *dot;

    n = llmr_dataset_size(ds);

    score = malloc(n * sizeof(double));
    source = malloc(n * sizeof(unsigned));

    if (score == NULL || source == NULL) {
        free(score);
        free(source);
        fprintf(stderr, "llmr train: out of memory\n");
        return LLMR_ERROR;
    }

    for (s = 0, i = 0; s < src->n; s++) {
        while (i < src->end[s]) {
            source[i++] = s;
        }
    }

    if (llmr_train_lobo(ds, source, src->n, conf, score) != LLMR_OK) {
        free(score);
        free(source);
        fprintf(stderr, "llmr train: leave-one-source-out failed (a file "
                "with every example?)\n");
        return LLMR_ERROR;
    }

    printf("leave one source out (seed %llu, bits %u, epochs %u): each "
           "file scored\nby a model trained on the other files\n",
           (unsigned long long) conf->seed, conf->hash_bits, conf->epochs);
    printf("%-16s %8s %8s\n", "source", "examples", "APGR");

    worst = INFINITY;
    mean = 0;
    na = 0;
    start = 0;

    for (s = 0; s < src->n; s++) {
        name = strrchr(src->path[s], '/');
        name = name ? name + 1 : src->path[s];
        dot = strchr(name, '.');
        len = dot ? (int) (dot - name) : (int) strlen(name);

        if (llmr_apgr_fold(ds, -1, score, source, s, &apgr) == LLMR_OK) {
            printf("%-16.*s %8zu %8.3f\n", len, name, src->end[s] - start,
                   apgr);

            worst = apgr < worst ? apgr : worst;
            mean += apgr;
            na++;

        } else {
            printf("%-16.*s %8zu %8s\n", len, name, src->end[s] - start,
                   "n/a");
        }

        start = src->end[s];
    }

    if (na) {
        printf("%-16s %8s %8.3f\n", "worst", "", worst);
        printf("%-16s %8s %8.3f\n", "mean", "", mean / na);

    } else {
        printf("no file has outcomes of both models to compute APGR on\n");
    }

    rc = LLMR_OK;

    if (scores
        && llmr_dataset_write_scores(ds, scores, score, err, sizeof(err))
           != LLMR_OK)
    {
        fprintf(stderr, "llmr train: %s\n", err);
        rc = LLMR_ERROR;
    }

    free(score);
    free(source);

    return rc;
}


/*
 * The request bodies of every file, scored; a file without one body is
 * an error, each file's lines are summed up on stderr.
 */

static llmr_bodies_t *
llmr_bodies_data(char *files, const llmr_classifier_t *cl)
{
    int             rc;
    char           *f, *next, err[256];
    FILE           *fp;
    size_t          before;
    llmr_bodies_t  *b;

    b = llmr_bodies_create(cl, 0);
    if (b == NULL) {
        fprintf(stderr, "llmr calibrate-thresholds: out of memory\n");
        return NULL;
    }

    for (f = files; f && *f; f = next) {
        next = strchr(f, ',');

        if (next) {
            *next++ = '\0';
        }

        if (strcmp(f, "-") == 0) {
            fp = stdin;

        } else {
            fp = fopen(f, "r");

            if (fp == NULL) {
                fprintf(stderr, "llmr calibrate-thresholds: cannot open "
                        "\"%s\": %s\n", f, strerror(errno));
                llmr_bodies_destroy(b);
                return NULL;
            }
        }

        before = b->n;
        rc = llmr_bodies_read(b, fp, err, sizeof(err));

        if (fp != stdin) {
            fclose(fp);
        }

        if (rc != LLMR_OK) {
            fprintf(stderr, "llmr calibrate-thresholds: %s: %s\n", f, err);
            llmr_bodies_destroy(b);
            return NULL;
        }

        fprintf(stderr, "llmr calibrate-thresholds: %s: %zu lines, %zu "
                "bodies (%zu JSON, %zu logged); skipped %zu: %zu without "
                "a body, %zu unreadable, %zu over %zu bytes\n", f,
                b->st.lines, b->st.json + b->st.logged, b->st.json,
                b->st.logged, b->st.none + b->st.bad + b->st.long_lines,
                b->st.none, b->st.bad, b->st.long_lines, b->line_max);

        if (b->n == before) {
            fprintf(stderr, "llmr calibrate-thresholds: %s: no request "
                    "body\n", f);
            llmr_bodies_destroy(b);
            return NULL;
        }
    }

    return b;
}


/* the tiers the thresholds give the scores, before the rules' floors */

static void
llmr_print_shares(const llmr_classifier_t *cl, const double *s, size_t n)
{
    int     t;
    size_t  i, count[LLMR_TIER_N];

    for (t = 0; t < LLMR_TIER_N; t++) {
        count[t] = 0;
    }

    for (i = 0; i < n; i++) {
        count[llmr_score_tier(cl, s[i])]++;
    }

    printf("shares");

    for (t = 0; t < LLMR_TIER_N; t++) {
        printf(" %s %.1f%%", llmr_tier_name(t), 100.0 * count[t] / n);
    }

    printf(" (of %zu scores)\n", n);
}


static int
llmr_parse_list(const char *s, double *v, size_t n)
{
    char    *e;
    size_t   i;

    for (i = 0; i < n; i++) {
        v[i] = strtod(s, &e);

        if (e == s || (i + 1 < n && *e != ',') || (i + 1 == n && *e)) {
            return LLMR_ERROR;
        }

        s = e + 1;
    }

    return LLMR_OK;
}


int
llmr_cmd_train(int argc, char **argv)
{
    int                 i, g, rc;
    char               *data, *out, *scores, err[512];
    size_t              k, ngroups;
    double             *score, apgr, mean, t[LLMR_THRESHOLDS_N];
    clock_t             t0;
    unsigned            cv, lobo, f, nf, *folds;
    const char         *names[LLMR_GROUPS_MAX];
    llmr_sources_t      src;
    llmr_dataset_t     *ds;
    llmr_classifier_t  *cl;
    llmr_train_conf_t   conf;

    llmr_train_conf_init(&conf);

    data = NULL;
    out = NULL;
    scores = NULL;
    cv = 0;
    lobo = 0;
    t[0] = -1;
    src.n = 0;

    for (i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--data") == 0) {
            data = argv[++i];

        } else if (i + 1 < argc && strcmp(argv[i], "--out") == 0) {
            out = argv[++i];

        } else if (i + 1 < argc && strcmp(argv[i], "--scores") == 0) {
            scores = argv[++i];

        } else if (i + 1 < argc && strcmp(argv[i], "--cv") == 0) {
            cv = (unsigned) atoi(argv[++i]);

        } else if (strcmp(argv[i], "--lobo") == 0) {
            lobo = 1;

        } else if (i + 1 < argc && strcmp(argv[i], "--seed") == 0) {
            conf.seed = strtoull(argv[++i], NULL, 10);

        } else if (i + 1 < argc && strcmp(argv[i], "--epochs") == 0) {
            conf.epochs = (unsigned) atoi(argv[++i]);

        } else if (i + 1 < argc && strcmp(argv[i], "--bits") == 0) {
            conf.hash_bits = (unsigned) atoi(argv[++i]);

        } else if (i + 1 < argc && strcmp(argv[i], "--lr") == 0) {
            conf.lr = strtod(argv[++i], NULL);

        } else if (i + 1 < argc && strcmp(argv[i], "--l2") == 0) {
            conf.l2 = strtod(argv[++i], NULL);

        } else if (i + 1 < argc && strcmp(argv[i], "--balance") == 0) {
            conf.balance = strtod(argv[++i], NULL);

        } else if (i + 1 < argc && strcmp(argv[i], "--gram-l2") == 0) {
            conf.gram_l2 = strtod(argv[++i], NULL);

        } else if (strcmp(argv[i], "--prior") == 0) {
            conf.prior = 1;

        } else if (i + 1 < argc && strcmp(argv[i], "--mix") == 0) {
            conf.mix = strtod(argv[++i], NULL);

        } else if (i + 1 < argc && strcmp(argv[i], "--min-weight") == 0) {
            conf.min_weight = strtod(argv[++i], NULL);

        } else if (i + 1 < argc && strcmp(argv[i], "--bags") == 0) {
            conf.bags = (unsigned) atoi(argv[++i]);

        } else if (i + 1 < argc && strcmp(argv[i], "--thresholds") == 0) {
            if (llmr_parse_list(argv[++i], t, LLMR_THRESHOLDS_N) != LLMR_OK)
            {
                fprintf(stderr, "llmr train: --thresholds needs %d numbers\n",
                        LLMR_THRESHOLDS_N);
                return 2;
            }

        } else if (i + 1 < argc && strcmp(argv[i], "--dense") == 0) {
            if (llmr_dense_mask(argv[++i], &conf.dense_mask) != LLMR_OK) {
                fprintf(stderr, "llmr train: --dense: unknown feature in "
                        "\"%s\"\n", argv[i]);
                return 2;
            }

        } else {
            fprintf(stderr, "llmr train: unknown option \"%s\"\n%s",
                    argv[i], llmr_train_usage);
            return 2;
        }
    }

    if (data == NULL || (out == NULL && cv == 0 && !lobo)) {
        fprintf(stderr, "%s", llmr_train_usage);
        return 2;
    }

    if (scores && cv && lobo) {
        fprintf(stderr, "llmr train: --scores takes the scores of --cv or "
                "of --lobo, not both\n");
        return 2;
    }

    if (conf.hash_bits
        && (conf.hash_bits < LLMR_MODEL_BITS_MIN
            || conf.hash_bits > LLMR_MODEL_BITS_MAX))
    {
        fprintf(stderr, "llmr train: --bits must be 0 or %d..%d\n",
                LLMR_MODEL_BITS_MIN, LLMR_MODEL_BITS_MAX);
        return 2;
    }

    t0 = clock();

    ds = llmr_train_data(data, &src, err, sizeof(err));
    if (ds == NULL) {
        fprintf(stderr, "llmr train: %s\n", err);
        return 1;
    }

    if (lobo && src.n < 2) {
        fprintf(stderr, "llmr train: --lobo needs two --data files or more "
                "(a source is one file)\n");
        llmr_dataset_destroy(ds);
        return 2;
    }

    ngroups = llmr_dataset_groups(ds, names);

    fprintf(stderr, "llmr train: %zu examples, %zu benchmarks, read in "
            "%.1f s\n", llmr_dataset_size(ds), ngroups,
            (double) (clock() - t0) / CLOCKS_PER_SEC);

    rc = 0;

    if (cv) {
        score = malloc(llmr_dataset_size(ds) * sizeof(double));
        folds = malloc(llmr_dataset_size(ds) * sizeof(unsigned));

        if (score == NULL || folds == NULL
            || llmr_train_cv(ds, cv, &conf, score, folds) != LLMR_OK)
        {
            free(folds);
            fprintf(stderr, "llmr train: cross-validation failed\n");
            free(score);
            llmr_dataset_destroy(ds);
            return 1;
        }

        printf("%u-fold cross-validation (seed %llu, bits %u, epochs %u)\n",
               cv, (unsigned long long) conf.seed, conf.hash_bits,
               conf.epochs);
        printf("%-16s %8s %8s %12s\n", "benchmark", "examples",
               "APGR", "fold mean");

        for (g = 0; g < (int) ngroups; g++) {
            for (k = 0, i = 0; k < llmr_dataset_size(ds); k++) {
                i += (llmr_dataset_group_of(ds, k) == g);
            }

            /* the pooled out-of-fold scores, and the mean of the folds' */

            mean = 0;
            nf = 0;

            for (f = 0; f < cv; f++) {
                if (llmr_apgr_fold(ds, g, score, folds, f, &apgr)
                    == LLMR_OK)
                {
                    mean += apgr;
                    nf++;
                }
            }

            if (llmr_apgr(ds, g, score, &apgr) == LLMR_OK) {
                printf("%-16s %8d %8.3f %12.3f\n", names[g], i, apgr,
                       nf ? mean / nf : NAN);

            } else {
                printf("%-16s %8d %8s %12s\n", names[g], i, "n/a", "n/a");
            }
        }

        free(folds);

        if (scores
            && llmr_dataset_write_scores(ds, scores, score, err, sizeof(err))
               != LLMR_OK)
        {
            fprintf(stderr, "llmr train: %s\n", err);
            rc = 1;
        }

        free(score);
    }

    if (lobo
        && llmr_train_lobo_report(ds, &src, &conf, cv ? NULL : scores)
           != LLMR_OK)
    {
        rc = 1;
    }

    if (out) {
        cl = llmr_train(ds, NULL, 0, &conf, NULL);

        if (cl == NULL) {
            fprintf(stderr, "llmr train: out of memory\n");
            llmr_dataset_destroy(ds);
            return 1;
        }

        if (t[0] >= 0
            && llmr_classifier_set_thresholds(cl, t, LLMR_THRESHOLDS_N)
               != LLMR_OK)
        {
            fprintf(stderr, "llmr train: --thresholds must increase inside "
                    "(0, 1)\n");
            rc = 1;

        } else if (llmr_classifier_save(cl, out, err, sizeof(err))
                   != LLMR_OK)
        {
            fprintf(stderr, "llmr train: %s\n", err);
            rc = 1;

        } else {
            fprintf(stderr, "llmr train: wrote %s in %.1f s\n", out,
                    (double) (clock() - t0) / CLOCKS_PER_SEC);
        }

        llmr_classifier_destroy(cl);
    }

    llmr_dataset_destroy(ds);

    return rc;
}


int
llmr_cmd_calibrate_thresholds(int argc, char **argv)
{
    int                 i, rc;
    char               *data, *bodies, *model, *out, err[512];
    double             *s, shares[LLMR_TIER_N], t[LLMR_THRESHOLDS_N],
                        quality;
    size_t              k, n;
    llmr_bodies_t      *b;
    llmr_dataset_t     *ds;
    llmr_classifier_t  *cl;

    data = NULL;
    bodies = NULL;
    model = NULL;
    out = NULL;
    quality = 0;

    for (i = 0; i < LLMR_TIER_N; i++) {
        shares[i] = 1.0 / LLMR_TIER_N;
    }

    for (i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--data") == 0) {
            data = argv[++i];

        } else if (i + 1 < argc && strcmp(argv[i], "--bodies") == 0) {
            bodies = argv[++i];

        } else if (i + 1 < argc && strcmp(argv[i], "--model") == 0) {
            model = argv[++i];

        } else if (i + 1 < argc && strcmp(argv[i], "--out") == 0) {
            out = argv[++i];

        } else if (i + 1 < argc && strcmp(argv[i], "--shares") == 0) {
            if (llmr_parse_list(argv[++i], shares, LLMR_TIER_N) != LLMR_OK) {
                fprintf(stderr, "llmr calibrate-thresholds: --shares needs "
                        "%d numbers\n", LLMR_TIER_N);
                return 2;
            }

        } else if (i + 1 < argc && strcmp(argv[i], "--quality") == 0) {
            quality = strtod(argv[++i], NULL);

            if (!(quality > 0 && quality <= 1)) {
                fprintf(stderr, "llmr calibrate-thresholds: --quality "
                        "must be in (0, 1]\n");
                return 2;
            }

        } else {
            fprintf(stderr, "llmr calibrate-thresholds: unknown option "
                    "\"%s\"\n%s", argv[i], llmr_thresholds_usage);
            return 2;
        }
    }

    if ((data == NULL) == (bodies == NULL)) {
        fprintf(stderr, "llmr calibrate-thresholds: --data or --bodies, "
                "one of them\n%s", llmr_thresholds_usage);
        return 2;
    }

    if (bodies && quality > 0) {
        fprintf(stderr, "llmr calibrate-thresholds: --quality needs each "
                "prompt's outcomes (\"strong\", \"weak\") from --data; "
                "logged bodies have none: use --shares\n");
        return 2;
    }

    if (model) {
        cl = llmr_classifier_load(model, err, sizeof(err));

        if (cl == NULL) {
            fprintf(stderr, "llmr calibrate-thresholds: %s: %s\n", model,
                    err);
            return 1;
        }

    } else {
        cl = llmr_classifier_create(NULL);

        if (cl == NULL) {
            fprintf(stderr, "llmr calibrate-thresholds: out of memory\n");
            return 1;
        }
    }

    ds = NULL;
    b = NULL;

    if (bodies) {
        b = llmr_bodies_data(bodies, cl);
        if (b == NULL) {
            llmr_classifier_destroy(cl);
            return 1;
        }

        s = b->score;
        n = b->n;

    } else {
        ds = llmr_train_data(data, NULL, err, sizeof(err));
        if (ds == NULL) {
            fprintf(stderr, "llmr calibrate-thresholds: %s\n", err);
            llmr_classifier_destroy(cl);
            return 1;
        }

        n = llmr_dataset_size(ds);

        s = malloc(n * sizeof(double));
        if (s == NULL) {
            fprintf(stderr, "llmr calibrate-thresholds: out of memory\n");
            llmr_dataset_destroy(ds);
            llmr_classifier_destroy(cl);
            return 1;
        }

        for (k = 0; k < n; k++) {
            s[k] = llmr_dataset_score(ds, k, cl);
        }
    }

    rc = quality > 0 ? llmr_thresholds_for_quality(ds, cl, quality, t)
                     : llmr_thresholds_from_scores(s, n, shares, t);

    if (rc != LLMR_OK
        || llmr_classifier_set_thresholds(cl, t, LLMR_THRESHOLDS_N)
           != LLMR_OK)
    {
        fprintf(stderr, "llmr calibrate-thresholds: no thresholds fit the "
                "data\n");
        rc = 1;
        goto done;
    }

    printf("thresholds %.6g,%.6g,%.6g,%.6g\n", t[0], t[1], t[2], t[3]);
    llmr_print_shares(cl, s, n);

    rc = 0;

    if (out && llmr_classifier_save(cl, out, err, sizeof(err)) != LLMR_OK) {
        fprintf(stderr, "llmr calibrate-thresholds: %s\n", err);
        rc = 1;
    }

done:

    if (b) {
        llmr_bodies_destroy(b);

    } else {
        free(s);
        llmr_dataset_destroy(ds);
    }

    llmr_classifier_destroy(cl);

    return rc;
}
