
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The request path's API and endpoint (llmr_endpoint_parse), the request
 * line built for a model (llmr_upstream_uri) and the error bodies
 * (llmr_api_error), on a client's path and query.  The input is
 *
 *     byte 0    bit 0: POST; bits 1-2: hints; bits 3-4: the model's API;
 *               bit 5: strip key=; bit 6: a base path; bit 7: a detected
 *               body format (bits 0-2 of byte 1)
 *     byte 1    the format, the status's low bits
 *     byte 2..  path (starting with '/', as nginx's), then '\n' query,
 *               '\n' id, '\n' base (what is left out is empty)
 *
 * Properties: no memory error or undefined behaviour; the endpoint's
 * views lie inside the path; the request line fits in
 * llmr_upstream_uri_max(), starts with '/' when the path or base does,
 * and carries no byte a request line cannot (controls, space, DEL, bytes
 * over 0x7f) outside what the query brought; the error body fits in
 * llmr_api_error_max() and holds no raw control byte.
 */


#include <llmr/api.h>
#include <llmr/extract.h>

#include "fuzz.h"


static void
fz_in(const llmr_str_t *v, const char *p, size_t len, const char *what)
{
    if (v->len == 0) {
        return;
    }

    fz_assert(v->data >= p && v->data + v->len <= p + len,
              "%s outside the path", what);
}


static const char *
fz_field(const char **p, const char *end, size_t *len)
{
    const char  *s, *nl;

    s = *p;
    nl = memchr(s, '\n', end - s);

    if (nl == NULL) {
        nl = end;
    }

    *len = nl - s;
    *p = (nl < end) ? nl + 1 : end;

    return s;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               api, status;
    char             *path, *args, *id, *base, *buf;
    size_t            plen, alen, ilen, blen, n, max, i, qpos;
    unsigned          opts;
    const char       *p, *end, *s;
    llmr_endpoint_t   ep;

    if (size < 2) {
        return 0;
    }

    opts = data[0];
    p = (const char *) data + 2;
    end = (const char *) data + size;

    /* exact-size copies: nothing may be read past them */

    s = fz_field(&p, end, &plen);

    if (plen == 0 || s[0] != '/') {
        return 0;               /* nginx's r->uri starts with '/' */
    }

    path = malloc(plen + 1);
    memcpy(path, s, plen);

    s = fz_field(&p, end, &alen);
    args = malloc(alen + 1);
    memcpy(args, s, alen);

    s = fz_field(&p, end, &ilen);
    id = malloc(ilen + 2);
    memcpy(id, s, ilen);
    id[ilen] = '\0';

    s = fz_field(&p, end, &blen);
    base = malloc(blen + 1);
    memcpy(base, s, blen);
    base[blen] = '\0';

    /*
     * ids and bases are C strings from the configuration: an id is never
     * empty, a base starts with '/'
     */

    if (ilen == 0) {
        id[ilen++] = 'm';
        id[ilen] = '\0';
    }

    if (blen == 0 || base[0] != '/') {
        opts &= ~0x40u;
    }

    for (i = 0; i < ilen; i++) {
        if (id[i] == '\0') {
            id[i] = 'x';
        }
    }

    for (i = 0; i < blen; i++) {
        if (base[i] == '\0') {
            base[i] = 'x';
        }
    }

    llmr_endpoint_parse(path, plen, opts & 1, (opts >> 1) & 3, &ep);

    fz_in(&ep.root, path, plen, "root");
    fz_in(&ep.rest, path, plen, "rest");
    fz_in(&ep.model, path, plen, "model");
    fz_in(&ep.collection, path, plen, "collection");
    fz_in(&ep.method, path, plen, "method");
    fz_assert(ep.api >= 0 && ep.api < LLMR_API_N, "api %d", ep.api);
    fz_assert(ep.kind >= 0 && ep.kind < LLMR_EP_N, "kind %d", ep.kind);
    fz_assert(ep.kind == LLMR_EP_GENERATE || ep.format == LLMR_FMT_UNKNOWN,
              "a format for a passthrough");

    if ((opts & 0x80) && ep.detect) {
        llmr_endpoint_set_format(&ep, data[1] & 7, data[1] & 8);
        fz_assert(ep.kind == LLMR_EP_GENERATE && ep.detect, "detected");
    }

    api = (opts >> 3) & 3;

    if (api >= LLMR_API_N) {
        api = LLMR_API_OPENAI;
    }

    max = llmr_upstream_uri_max(plen, (opts & 0x40) ? base : NULL, id, alen);
    buf = malloc(max);

    n = llmr_upstream_uri(&ep, path, plen, api, (opts & 0x40) ? base : NULL,
                          id, args, alen, (opts >> 5) & 1, buf, max);

    fz_assert(n > 0 && n <= max, "length %zu of %zu", n, max);

    qpos = n;

    for (i = 0; i < n; i++) {
        if (buf[i] == '?') {
            qpos = i;
            break;
        }
    }

    for (i = 0; i < qpos; i++) {
        fz_assert((unsigned char) buf[i] > 0x20
                  && (unsigned char) buf[i] < 0x7f,
                  "byte 0x%02x at %zu in the path", (unsigned char) buf[i],
                  i);
    }

    /* too small a buffer is said, never overrun */

    if (n > 1) {
        fz_assert(llmr_upstream_uri(&ep, path, plen, api,
                                    (opts & 0x40) ? base : NULL, id, args,
                                    alen, (opts >> 5) & 1, buf, n - 1)
                  == 0, "a short buffer");
    }

    free(buf);

    /* an error body with the path as its message */

    status = 400 + (data[1] >> 3) * 7;
    max = llmr_api_error_max("llm_invalid_request", plen);
    buf = malloc(max);
    n = llmr_api_error(api, status, "llm_invalid_request", path, plen, buf,
                       max);

    fz_assert(n > 0 && n <= max, "error length %zu of %zu", n, max);

    for (i = 0; i + 1 < n; i++) {
        fz_assert((unsigned char) buf[i] >= 0x20, "raw control 0x%02x",
                  (unsigned char) buf[i]);
    }

    free(buf);
    free(path);
    free(args);
    free(id);
    free(base);

    return 0;
}
