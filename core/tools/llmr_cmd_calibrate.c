
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * llmr calibrate: model data (a file, or the Artificial Analysis API with
 * a 6-hour cache) -> core calibration -> a report, and with --save the
 * files of a calibrated registry.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <llmr/core.h>
#include <llmr/registry.h>
#include <llmr/policy.h>
#include <llmr/calibrate.h>

#include "llmr_fetch.h"


#define LLMR_AA_URL     "https://artificialanalysis.ai/api/v2/data/llms/models"
#define LLMR_CACHE_TTL  (6 * 3600)

/* a fetch's default and longest timeout, seconds */
#define LLMR_CAL_TIMEOUT        30
#define LLMR_CAL_TIMEOUT_MAX    3600

/* the largest override file and CHANGELOG.md read; a path under --out */
#define LLMR_CAL_OVERRIDES_SIZE (4 * 1024 * 1024)
#define LLMR_CHANGELOG_SIZE     (16 * 1024 * 1024)
#define LLMR_PATH_SIZE          4096

/* CHANGELOG.md's first line: what a previous run wrote starts so */
#define LLMR_CHANGELOG_TITLE    "# Calibration changelog"


typedef struct {
    const char                 *input;
    const char                 *url;
    const char                 *out;
    const char                 *overrides;
    const char                 *upstream_map;
    const char                 *providers;
    int                         explore;
    int                         save;
    int                         dry_run;
    int                         no_cache;
    long                        max_models;
    long                        cache_ttl;
    double                      timeout;
} llmr_cal_opts_t;


int llmr_cmd_calibrate(int argc, char **argv);
static int llmr_cal_options(int argc, char **argv, llmr_cal_opts_t *o);
static void llmr_cal_set_when(llmr_cal_t *cal);
static int llmr_cal_configure(llmr_cal_opts_t *o, llmr_cal_t *cal);
static int llmr_cal_changes(llmr_cal_opts_t *o, llmr_cal_t *cal,
    char **changes);


static void
llmr_cal_usage(FILE *f)
{
    fprintf(f,
        "usage: llmr calibrate [--input FILE | --url URL] [--explore]\n"
        "           [--dry-run | --save] [--out DIR] [--overrides FILE]\n"
        "           [--upstream-map PROVIDER=UPSTREAM,...]\n"
        "           [--providers PROVIDER,...] [--max-models N]\n"
        "           [--timeout SECONDS] [--no-cache] [--cache-ttl SECONDS]\n"
        "\n"
        "  --input FILE     model data in the Artificial Analysis v2 format "
        "(- for stdin);\n"
        "                   without it, fetches AA_API_URL or --url (default "
        "%s)\n"
        "                   with the key in AA_API_KEY\n"
        "  --explore        add the scatter table, a plot and the frontier\n"
        "  --dry-run        report only (the default)\n"
        "  --save --out DIR write models.json, llm_models.conf, MODELS.md, "
        "CHANGELOG.md\n"
        "  --overrides FILE thresholds by hand, provider ids, caps, "
        "upstreams (README)\n",
        LLMR_AA_URL);
}


static char *
llmr_read_file(const char *path, size_t max, size_t *len, char *err,
    size_t errlen)
{
    char    *data, *p;
    FILE    *f;
    size_t   n, cap;

    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");

    if (f == NULL) {
        snprintf(err, errlen, "cannot open \"%s\": %s", path,
                 strerror(errno));
        return NULL;
    }

    cap = 65536;
    *len = 0;
    data = malloc(cap);

    while (data) {
        if (*len + 1 >= cap) {
            cap *= 2;
            p = realloc(data, cap);

            if (p == NULL) {
                free(data);
                data = NULL;
                break;
            }

            data = p;
        }

        n = fread(data + *len, 1, cap - *len - 1, f);

        if (n == 0) {
            break;
        }

        *len += n;

        if (*len > max) {
            snprintf(err, errlen, "\"%s\" is larger than %zu bytes", path,
                     max);
            free(data);
            data = NULL;
            break;
        }
    }

    if (data == NULL && *len <= max) {
        snprintf(err, errlen, "out of memory");

    } else if (data && ferror(f)) {
        snprintf(err, errlen, "cannot read \"%s\": %s", path,
                 strerror(errno));
        free(data);
        data = NULL;

    } else if (data) {
        data[*len] = '\0';
    }

    if (f != stdin) {
        fclose(f);
    }

    return data;
}


/* write to PATH.tmp, then rename: a reader never sees half a file */

static int
llmr_write_file(const char *path, const char *data, size_t len)
{
    int    ok;
    char   tmp[LLMR_PATH_SIZE];
    FILE  *f;

    if ((size_t) snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
    {
        fprintf(stderr, "llmr calibrate: path too long: %s\n", path);
        return -1;
    }

    f = fopen(tmp, "wb");
    if (f == NULL) {
        fprintf(stderr, "llmr calibrate: cannot create \"%s\": %s\n", tmp,
                strerror(errno));
        return -1;
    }

    ok = (fwrite(data, 1, len, f) == len);
    ok = (fclose(f) == 0) && ok;

    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "llmr calibrate: cannot write \"%s\": %s\n", path,
                strerror(errno));
        unlink(tmp);
        return -1;
    }

    return 0;
}


static int
llmr_mkdir_p(const char *dir)
{
    char    path[LLMR_PATH_SIZE];
    size_t  i, len;

    len = strlen(dir);

    if (len == 0 || len >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    memcpy(path, dir, len + 1);

    for (i = 1; i <= len; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            path[i] = '\0';

            if (mkdir(path, 0755) != 0 && errno != EEXIST) {
                return -1;
            }

            path[i] = dir[i];
        }
    }

    return 0;
}


/* "a=b,c=d" (pairs) for --upstream-map, "a,b" for --providers */

static int
llmr_cal_list(llmr_cal_t *cal, const char *list, int pairs, char *err,
    size_t errlen)
{
    const char  *p, *end, *eq;

    for (p = list; *p; p = *end ? end + 1 : end) {
        end = strchr(p, ',');

        if (end == NULL) {
            end = p + strlen(p);
        }

        if (end == p) {
            continue;
        }

        if (!pairs) {
            if (llmr_cal_allow_provider(cal, p, end - p) != LLMR_OK) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }

            continue;
        }

        eq = memchr(p, '=', end - p);

        if (eq == NULL) {
            snprintf(err, errlen, "--upstream-map: expected PROVIDER="
                     "UPSTREAM, got \"%.*s\"", (int) (end - p), p);
            return -1;
        }

        if (llmr_cal_map_upstream(cal, p, eq - p, eq + 1, end - eq - 1, err,
                                  errlen)
            != LLMR_OK)
        {
            return -1;
        }
    }

    return 0;
}


static uint32_t
llmr_fnv1a(const char *s)
{
    uint32_t  h;

    h = 2166136261u;

    while (*s) {
        h ^= (unsigned char) *s++;
        h *= 16777619u;
    }

    return h;
}


/*
 * The model data: --input FILE, or the cache next to the output when it
 * is fresh, or a fetch.  *fetched tells the caller to refresh the cache
 * once the data has parsed.
 */

static char *
llmr_cal_input(llmr_cal_opts_t *o, const char *cache, size_t *len,
    const char **source, int *fetched)
{
    int           rc;
    char          err[LLMR_ERRSTR_SIZE], *data, *p;
    size_t        i;
    time_t        now;
    const char   *key;
    struct stat   st;
    llmr_fetch_t  f;

    *fetched = 0;

    if (o->input) {
        *source = o->input;
        data = llmr_read_file(o->input, LLMR_CAL_INPUT_MAX, len, err,
                              sizeof(err));

        if (data == NULL) {
            fprintf(stderr, "llmr calibrate: %s\n", err);
        }

        return data;
    }

    *source = o->url;
    key = getenv("AA_API_KEY");

    if (key == NULL || key[0] == '\0') {
        fprintf(stderr, "llmr calibrate: no model data: give --input FILE "
                "(e.g. examples/aa-models-snapshot.json), or set "
                "AA_API_KEY to fetch %s\n", o->url);
        return NULL;
    }

    now = time(NULL);

    if (cache && stat(cache, &st) == 0 && st.st_mtime + o->cache_ttl > now
        && st.st_mtime <= now + 60)
    {
        data = llmr_read_file(cache, LLMR_CAL_INPUT_MAX, len, err,
                              sizeof(err));

        if (data) {
            fprintf(stderr, "llmr calibrate: using %s (fetched %ld s ago; "
                    "--no-cache to fetch again)\n", cache,
                    (long) (now - st.st_mtime));
            return data;
        }
    }

    rc = llmr_fetch(o->url, key, (long) (o->timeout * 1000),
                    LLMR_CAL_INPUT_MAX, &f);

    if (rc != 0) {
        fprintf(stderr, "llmr calibrate: fetching %s: %s", o->url, f.error);

        if (f.status >= 300 && f.body && f.len) {

            /* what the server said, on one line and short */

            p = f.body;

            for (i = 0; i < f.len && i < 200; i++) {
                if ((unsigned char) p[i] < 0x20 || p[i] == 0x7f) {
                    p[i] = ' ';
                }
            }

            fprintf(stderr, " (the server said: %.*s%s)", (int) i, p,
                    f.len > i ? "..." : "");
        }

        fprintf(stderr, "\n");
        free(f.body);

        return NULL;
    }

    *len = f.len;
    *fetched = 1;

    return f.body;
}


/* the generated llm_model lines, through what nginx will call */

static int
llmr_cal_check_include(const char *conf, char *err, size_t errlen)
{
    int               rc;
    char             *copy, *line, *next, *tok, *save, *end;
    unsigned          n;
    llmr_str_t        name, args[32];
    llmr_registry_t  *reg;

    reg = llmr_registry_create();
    copy = strdup(conf);

    if (reg == NULL || copy == NULL) {
        llmr_registry_destroy(reg);
        free(copy);
        snprintf(err, errlen, "out of memory");
        return LLMR_ERROR;
    }

    rc = LLMR_OK;

    for (line = copy; line && rc == LLMR_OK; line = next) {
        next = strchr(line, '\n');

        if (next) {
            *next++ = '\0';
        }

        if (strncmp(line, "llm_model ", 10) != 0) {
            continue;
        }

        end = strrchr(line, ';');

        if (end == NULL || end[1] != '\0') {
            snprintf(err, errlen, "a line does not end with ';'");
            rc = LLMR_ERROR;
            break;
        }

        *end = '\0';
        n = 0;
        name.data = NULL;
        name.len = 0;

        for (tok = strtok_r(line + 10, " ", &save); tok;
             tok = strtok_r(NULL, " ", &save))
        {
            if (name.data == NULL) {
                name.data = tok;
                name.len = strlen(tok);

            } else if (n < 32) {
                args[n].data = tok;
                args[n].len = strlen(tok);
                n++;
            }
        }

        if (name.data == NULL) {
            snprintf(err, errlen, "a line without a model name");
            rc = LLMR_ERROR;
            break;
        }

        rc = llmr_registry_add(reg, &name, args, n, err, errlen);
    }

    llmr_registry_destroy(reg);
    free(copy);

    return rc;
}


static int
llmr_cal_save(llmr_cal_opts_t *o, llmr_cal_t *cal, const char *changes)
{
    int               rc;
    char              path[LLMR_PATH_SIZE], err[LLMR_ERRSTR_SIZE];
    char             *json, *conf, *md, *old, *log;
    size_t            len, n;
    unsigned          i;
    const char       *rest, *files[4], *texts[4];
    llmr_registry_t  *reg;

    static const char  head[] =
        LLMR_CHANGELOG_TITLE "\n\n"
        "Written by `llmr calibrate --save`, newest first: models added "
        "and removed, tier moves and price changes since the previous "
        "run.\n\n";

    json = llmr_cal_models_json(cal);
    conf = llmr_cal_nginx_include(cal);
    md = llmr_cal_models_md(cal);
    old = NULL;
    log = NULL;
    rc = -1;

    if (json == NULL || conf == NULL || md == NULL) {
        fprintf(stderr, "llmr calibrate: out of memory\n");
        goto done;
    }

    /* what llm_models and llm_model will say about it, before writing */

    reg = llmr_registry_create();

    if (reg == NULL
        || llmr_registry_load_json(reg, json, strlen(json), err, sizeof(err))
           != LLMR_OK)
    {
        fprintf(stderr, "llmr calibrate: the generated models.json does "
                "not load: %s\n", reg ? err : "out of memory");
        llmr_registry_destroy(reg);
        goto done;
    }

    llmr_registry_destroy(reg);

    if (llmr_cal_check_include(conf, err, sizeof(err)) != LLMR_OK) {
        fprintf(stderr, "llmr calibrate: the generated llm_model lines do "
                "not load: %s\n", err);
        goto done;
    }

    if (llmr_mkdir_p(o->out) != 0) {
        fprintf(stderr, "llmr calibrate: cannot create \"%s\": %s\n",
                o->out, strerror(errno));
        goto done;
    }

    /* the new entry on top of the previous ones */

    snprintf(path, sizeof(path), "%s/CHANGELOG.md", o->out);
    old = llmr_read_file(path, LLMR_CHANGELOG_SIZE, &len, err, sizeof(err));

    rest = "";

    if (old) {
        rest = old;

        if (strncmp(old, LLMR_CHANGELOG_TITLE,
                    sizeof(LLMR_CHANGELOG_TITLE) - 1) == 0)
        {
            rest = strstr(old, "\n## ");
            rest = rest ? rest + 1 : "";
        }
    }

    n = sizeof(head) + strlen(changes) + strlen(rest) + 1;
    log = malloc(n);

    if (log == NULL) {
        fprintf(stderr, "llmr calibrate: out of memory\n");
        goto done;
    }

    snprintf(log, n, "%s%s%s", head, changes, rest);

    files[0] = "models.json";
    texts[0] = json;
    files[1] = "llm_models.conf";
    texts[1] = conf;
    files[2] = "MODELS.md";
    texts[2] = md;
    files[3] = "CHANGELOG.md";
    texts[3] = log;

    printf("\n");

    for (i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", o->out, files[i]);

        if (llmr_write_file(path, texts[i], strlen(texts[i])) != 0) {
            goto done;
        }

        printf("wrote %s\n", path);
    }

    rc = 0;

done:

    free(json);
    free(conf);
    free(md);
    free(old);
    free(log);

    return rc;
}


int
llmr_cmd_calibrate(int argc, char **argv)
{
    int               rc, fetched;
    char              err[LLMR_ERRSTR_SIZE], cache[LLMR_PATH_SIZE];
    char             *data, *report, *changes;
    size_t            len;
    const char       *source;
    llmr_cal_t       *cal;
    llmr_cal_opts_t   o;

    rc = llmr_cal_options(argc, argv, &o);
    if (rc != -1) {
        return rc;
    }

    cal = llmr_cal_create();
    if (cal == NULL) {
        fprintf(stderr, "llmr calibrate: out of memory\n");
        return 1;
    }

    llmr_cal_set_when(cal);

    data = NULL;
    report = NULL;
    changes = NULL;

    rc = llmr_cal_configure(&o, cal);
    if (rc != 0) {
        goto done;
    }

    rc = 1;
    cache[0] = '\0';

    if (o.out && !o.no_cache && o.input == NULL) {
        snprintf(cache, sizeof(cache), "%s/.aa-cache-%08x.json", o.out,
                 llmr_fnv1a(o.url));
    }

    data = llmr_cal_input(&o, cache[0] ? cache : NULL, &len, &source,
                          &fetched);
    if (data == NULL) {
        goto done;
    }

    cal->source = source;

    if (llmr_cal_parse_aa(cal, data, len, err, sizeof(err)) != LLMR_OK) {
        fprintf(stderr, "llmr calibrate: %s: %s\n", source, err);

        if (!fetched && cache[0]) {

            /* a cache that does not parse is of no use */

            unlink(cache);
        }

        goto done;
    }

    if (fetched && cache[0] && llmr_mkdir_p(o.out) == 0) {
        llmr_write_file(cache, data, len);
    }

    if (llmr_cal_run(cal, o.max_models, err, sizeof(err)) != LLMR_OK) {
        fprintf(stderr, "llmr calibrate: %s: %s\n", source, err);
        goto done;
    }

    report = llmr_cal_report(cal, o.explore);
    if (report == NULL) {
        fprintf(stderr, "llmr calibrate: out of memory\n");
        goto done;
    }

    fputs(report, stdout);

    if (o.out && llmr_cal_changes(&o, cal, &changes) != 0) {
        goto done;
    }

    if (o.save) {
        if (llmr_cal_save(&o, cal, changes) != 0) {
            goto done;
        }

    } else {
        printf("\ndry run: nothing written (--save --out DIR writes "
               "models.json, llm_models.conf, MODELS.md, CHANGELOG.md)\n");
    }

    rc = 0;

done:

    free(data);
    free(report);
    free(changes);
    llmr_cal_destroy(cal);

    return rc;
}


/* the options into *o: -1 to go on, else the exit status */

static int
llmr_cal_options(int argc, char **argv, llmr_cal_opts_t *o)
{
    int          i;
    char        *end;
    const char  *env;

    memset(o, 0, sizeof(llmr_cal_opts_t));
    o->timeout = LLMR_CAL_TIMEOUT;
    o->cache_ttl = LLMR_CACHE_TTL;
    o->max_models = LLMR_MODELS_MAX;

    for (i = 0; i < argc; i++) {

#define llmr_opt(name)  (strcmp(argv[i], name) == 0 && i + 1 < argc)

        if (llmr_opt("--input")) {
            o->input = argv[++i];

        } else if (llmr_opt("--url")) {
            o->url = argv[++i];

        } else if (llmr_opt("--out")) {
            o->out = argv[++i];

        } else if (llmr_opt("--overrides")) {
            o->overrides = argv[++i];

        } else if (llmr_opt("--upstream-map")) {
            o->upstream_map = argv[++i];

        } else if (llmr_opt("--providers")) {
            o->providers = argv[++i];

        } else if (llmr_opt("--max-models")) {
            o->max_models = strtol(argv[++i], &end, 10);

            if (*end || o->max_models < 1 || o->max_models > LLMR_MODELS_MAX)
            {
                fprintf(stderr, "llmr calibrate: --max-models takes 1..%d\n",
                        LLMR_MODELS_MAX);
                return 2;
            }

        } else if (llmr_opt("--timeout")) {
            o->timeout = strtod(argv[++i], &end);

            if (*end || !(o->timeout > 0 && o->timeout <= LLMR_CAL_TIMEOUT_MAX))
            {
                fprintf(stderr, "llmr calibrate: --timeout takes seconds, "
                        "0 < S <= %d\n", LLMR_CAL_TIMEOUT_MAX);
                return 2;
            }

        } else if (llmr_opt("--cache-ttl")) {
            o->cache_ttl = strtol(argv[++i], &end, 10);

            if (*end || o->cache_ttl < 0) {
                fprintf(stderr, "llmr calibrate: --cache-ttl takes "
                        "seconds\n");
                return 2;
            }

        } else if (strcmp(argv[i], "--explore") == 0) {
            o->explore = 1;

        } else if (strcmp(argv[i], "--save") == 0) {
            o->save = 1;

        } else if (strcmp(argv[i], "--dry-run") == 0) {
            o->dry_run = 1;

        } else if (strcmp(argv[i], "--no-cache") == 0) {
            o->no_cache = 1;

        } else if (strcmp(argv[i], "--help") == 0) {
            llmr_cal_usage(stdout);
            return 0;

        } else {
            fprintf(stderr, "llmr calibrate: unknown option or missing "
                    "value \"%s\"\n", argv[i]);
            llmr_cal_usage(stderr);
            return 2;
        }

#undef llmr_opt
    }

    if (o->save && o->dry_run) {
        fprintf(stderr, "llmr calibrate: --save and --dry-run exclude each "
                "other\n");
        return 2;
    }

    if (o->save && o->out == NULL) {
        fprintf(stderr, "llmr calibrate: --save needs --out DIR\n");
        return 2;
    }

    if (o->input && o->url) {
        fprintf(stderr, "llmr calibrate: --input and --url exclude each "
                "other\n");
        return 2;
    }

    if (o->url == NULL) {
        env = getenv("AA_API_URL");
        o->url = (env && env[0]) ? env : LLMR_AA_URL;
    }

    return -1;
}


/* the run's time; SOURCE_DATE_EPOCH: reproducible output */

static void
llmr_cal_set_when(llmr_cal_t *cal)
{
    time_t       now;
    struct tm    tm;
    const char  *env;

    env = getenv("SOURCE_DATE_EPOCH");
    now = (env && env[0]) ? (time_t) strtoll(env, NULL, 10) : time(NULL);
    gmtime_r(&now, &tm);
    strftime(cal->when, sizeof(cal->when), "%Y-%m-%dT%H:%M:%SZ", &tm);
}


/* the override file, --upstream-map and --providers: 0, else the status */

static int
llmr_cal_configure(llmr_cal_opts_t *o, llmr_cal_t *cal)
{
    int     rc;
    char    err[LLMR_ERRSTR_SIZE], *data;
    size_t  len;

    if (o->overrides) {
        data = llmr_read_file(o->overrides, LLMR_CAL_OVERRIDES_SIZE, &len,
                              err, sizeof(err));

        if (data == NULL) {
            fprintf(stderr, "llmr calibrate: %s\n", err);
            return 1;
        }

        rc = llmr_cal_load_overrides(cal, data, len, err, sizeof(err));
        free(data);

        if (rc != LLMR_OK) {
            fprintf(stderr, "llmr calibrate: %s: %s\n", o->overrides, err);
            return 1;
        }
    }

    if ((o->upstream_map
         && llmr_cal_list(cal, o->upstream_map, 1, err, sizeof(err)) != 0)
        || (o->providers
            && llmr_cal_list(cal, o->providers, 0, err, sizeof(err)) != 0))
    {
        fprintf(stderr, "llmr calibrate: %s\n", err);
        return 2;
    }

    return 0;
}


/*
 * What changed since the previous run in --out DIR, into *changes, printed
 * unless --save writes it: 0, or -1 out of memory.
 */

static int
llmr_cal_changes(llmr_cal_opts_t *o, llmr_cal_t *cal, char **changes)
{
    char              err[LLMR_ERRSTR_SIZE], path[LLMR_PATH_SIZE];
    llmr_registry_t  *prev;

    snprintf(path, sizeof(path), "%s/models.json", o->out);
    err[0] = '\0';
    prev = NULL;

    if (access(path, F_OK) == 0) {
        prev = llmr_registry_create();

        if (prev == NULL
            || llmr_registry_load_file(prev, path, err, sizeof(err))
               != LLMR_OK)
        {
            llmr_registry_destroy(prev);
            prev = NULL;

            if (err[0] == '\0') {
                snprintf(err, sizeof(err), "out of memory");
            }
        }
    }

    *changes = llmr_cal_changelog(cal, prev, err[0] ? err : NULL);

    llmr_registry_destroy(prev);

    if (*changes == NULL) {
        fprintf(stderr, "llmr calibrate: out of memory\n");
        return -1;
    }

    if (!o->save) {
        printf("\nchanges against %s:\n%s", path, *changes);
    }

    return 0;
}
