
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "llmr_fetch.h"


typedef struct {
    llmr_fetch_t               *f;
    size_t                      cap;
    size_t                      max;
    int                         too_big;
} llmr_fetch_ctx_t;


static size_t
llmr_fetch_write(char *p, size_t size, size_t n, void *data)
{
    char              *nb;
    size_t             len, cap;
    llmr_fetch_ctx_t  *ctx;

    ctx = data;
    len = size * n;

    if (ctx->f->len + len > ctx->max) {
        ctx->too_big = 1;
        return 0;
    }

    if (ctx->f->len + len + 1 > ctx->cap) {
        cap = ctx->cap ? ctx->cap : 65536;

        while (cap < ctx->f->len + len + 1) {
            cap *= 2;
        }

        nb = realloc(ctx->f->body, cap);
        if (nb == NULL) {
            return 0;
        }

        ctx->f->body = nb;
        ctx->cap = cap;
    }

    memcpy(ctx->f->body + ctx->f->len, p, len);
    ctx->f->len += len;
    ctx->f->body[ctx->f->len] = '\0';

    return len;
}


int
llmr_fetch(const char *url, const char *key, long timeout_ms, size_t max,
    llmr_fetch_t *f)
{
    int                 rc;
    char                hdr[512];
    CURL               *c;
    CURLcode            cc;
    llmr_fetch_ctx_t    ctx;
    struct curl_slist  *headers;

    memset(f, 0, sizeof(llmr_fetch_t));
    memset(&ctx, 0, sizeof(llmr_fetch_ctx_t));
    ctx.f = f;
    ctx.max = max;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(f->error, sizeof(f->error), "libcurl cannot start");
        return -1;
    }

    c = curl_easy_init();
    if (c == NULL) {
        snprintf(f->error, sizeof(f->error), "libcurl cannot start");
        curl_global_cleanup();
        return -1;
    }

    headers = curl_slist_append(NULL, "Accept: application/json");

    if (key) {
        if (strlen(key) > sizeof(hdr) - 16 || strpbrk(key, "\r\n")) {
            snprintf(f->error, sizeof(f->error), "AA_API_KEY is too long or "
                     "has a line break");
            curl_slist_free_all(headers);
            curl_easy_cleanup(c);
            curl_global_cleanup();
            return -1;
        }

        snprintf(hdr, sizeof(hdr), "x-api-key: %s", key);
        headers = curl_slist_append(headers, hdr);
        memset(hdr, 0, sizeof(hdr));
    }

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "llmr-calibrate");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, llmr_fetch_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);

    cc = curl_easy_perform(c);

    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);

    rc = -1;

    if (ctx.too_big) {
        snprintf(f->error, sizeof(f->error), "the answer is larger than %zu "
                 "bytes", max);

    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(f->error, sizeof(f->error), "no complete answer within "
                 "%ld ms (timed out)", timeout_ms);

    } else if (cc != CURLE_OK) {
        snprintf(f->error, sizeof(f->error), "%s", curl_easy_strerror(cc));

    } else if (f->status == 401 || f->status == 403) {
        snprintf(f->error, sizeof(f->error), "HTTP %ld: the API refused the "
                 "key (check AA_API_KEY)", f->status);

    } else if (f->status == 429) {
        snprintf(f->error, sizeof(f->error), "HTTP 429: rate limited, try "
                 "again later (the answer is cached for 6 hours once it "
                 "succeeds)");

    } else if (f->status < 200 || f->status > 299) {
        snprintf(f->error, sizeof(f->error), "HTTP %ld from the server",
                 f->status);

    } else {
        rc = 0;
    }

    if (f->body == NULL && rc == 0) {
        f->body = calloc(1, 1);

        if (f->body == NULL) {
            snprintf(f->error, sizeof(f->error), "out of memory");
            rc = -1;
        }
    }

    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    curl_global_cleanup();

    return rc;
}
