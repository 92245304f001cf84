
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * llmr suggest: the cost-optimisation suggestions of a running router,
 * from its llm_status JSON (a file, "-" for stdin, or fetched over HTTP):
 * the status's "suggestion_basis" read back and passed to the same
 * llmr_suggest() the module calls, so both list the same suggestions.
 *
 *   llmr suggest --status URL|FILE [--json] [--timeout S]
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/core.h>
#include <llmr/suggest.h>

#include "llmr_fetch.h"


#define LLMR_SUGGEST_STATUS_MAX     (64 * 1024 * 1024)


int llmr_cmd_suggest(int argc, char **argv);

static char *llmr_suggest_read(const char *path, size_t *len);
static void llmr_suggest_usage(FILE *f);


int
llmr_cmd_suggest(int argc, char **argv)
{
    int                    i, json;
    char                  *data, err[256], *out;
    size_t                 len, need;
    double                 timeout;
    unsigned               n, k, e;
    const char            *status;
    llmr_fetch_t           f;
    llmr_suggestion_t      list[LLMR_SUGGEST_MAX];
    llmr_suggest_basis_t  *b;

    status = NULL;
    json = 0;
    timeout = 10;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--status") == 0 && i + 1 < argc) {
            status = argv[++i];

        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;

        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout = atof(argv[++i]);

        } else if (strcmp(argv[i], "--help") == 0) {
            llmr_suggest_usage(stdout);
            return 0;

        } else {
            llmr_suggest_usage(stderr);
            return 2;
        }
    }

    if (status == NULL || !(timeout > 0)) {
        llmr_suggest_usage(stderr);
        return 2;
    }

    if (strncmp(status, "http://", 7) == 0
        || strncmp(status, "https://", 8) == 0)
    {
        if (llmr_fetch(status, NULL, (long) (timeout * 1000),
                       LLMR_SUGGEST_STATUS_MAX, &f)
            != 0)
        {
            fprintf(stderr, "llmr suggest: %s: %s\n", status, f.error);
            free(f.body);
            return 1;
        }

        data = f.body;
        len = f.len;

    } else {
        data = llmr_suggest_read(status, &len);

        if (data == NULL) {
            return 1;
        }
    }

    b = malloc(sizeof(llmr_suggest_basis_t));
    if (b == NULL) {
        fprintf(stderr, "llmr suggest: out of memory\n");
        free(data);
        return 1;
    }

    if (llmr_suggest_basis_parse(data, len, b, err, sizeof(err)) != LLMR_OK)
    {
        fprintf(stderr, "llmr suggest: %s: %s\n", status, err);
        free(data);
        free(b);
        return 1;
    }

    free(data);

    n = llmr_suggest(b, list, LLMR_SUGGEST_MAX);
    free(b);

    if (json) {
        need = llmr_suggest_json(list, n, NULL, 0) + 1;
        out = malloc(need);

        if (out == NULL) {
            fprintf(stderr, "llmr suggest: out of memory\n");
            return 1;
        }

        (void) llmr_suggest_json(list, n, out, need);
        printf("%s\n", out);
        free(out);

        return 0;
    }

    if (n == 0) {
        printf("no suggestions: nothing the counters show clears its "
               "evidence minimum\n");
        return 0;
    }

    for (k = 0; k < n; k++) {
        printf("%u. [%s] %s\n   evidence:", k + 1,
               llmr_suggest_kind_name(list[k].kind), list[k].text);

        for (e = 0; e < list[k].nevidence; e++) {
            printf(" %s=%.10g", list[k].evidence[e].name,
                   list[k].evidence[e].value);
        }

        printf("\n");
    }

    return 0;
}


static char *
llmr_suggest_read(const char *path, size_t *len)
{
    char    *data, *p;
    FILE    *fp;
    size_t   cap, n;

    fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");

    if (fp == NULL) {
        perror(path);
        return NULL;
    }

    cap = 65536;
    *len = 0;
    data = malloc(cap);

    while (data) {
        n = fread(data + *len, 1, cap - *len, fp);
        *len += n;

        if (n == 0) {
            break;
        }

        if (*len == cap) {
            if (cap >= LLMR_SUGGEST_STATUS_MAX) {
                fprintf(stderr, "llmr suggest: %s: larger than %d bytes\n",
                        path, LLMR_SUGGEST_STATUS_MAX);
                free(data);
                data = NULL;
                break;
            }

            cap *= 2;
            p = realloc(data, cap);

            if (p == NULL) {
                free(data);
            }

            data = p;
        }
    }

    if (data == NULL) {
        fprintf(stderr, "llmr suggest: %s: not read\n", path);
    }

    if (fp != stdin) {
        fclose(fp);
    }

    return data;
}


static void
llmr_suggest_usage(FILE *f)
{
    fprintf(f, "usage: llmr suggest --status URL|FILE [--json] "
            "[--timeout S]\n"
            "  the cost-optimisation suggestions of llm_status's JSON "
            "(a URL, a file,\n"
            "  or - for stdin), computed as the module does; --json: as "
            "the status's\n"
            "  \"suggestions\" array\n");
}
