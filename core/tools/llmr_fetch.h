
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_FETCH_H_INCLUDED_
#define _LLMR_FETCH_H_INCLUDED_


#include <stddef.h>


/*
 * One HTTP(S) GET with libcurl, for llmr calibrate only: the module never
 * links libcurl, so this lives with the tool and not under core/src/.
 */

typedef struct {
    long                        status;     /* HTTP status, 0: none */
    char                       *body;       /* malloc()ed, NUL-terminated */
    size_t                      len;
    char                        error[256];
} llmr_fetch_t;


/*
 * GET url with "x-api-key: key" (when key is not NULL), no redirects,
 * http and https only, at most max bytes, timeout_ms for everything.
 * Returns 0 on a 2xx answer, -1 otherwise with f->error saying why (and
 * f->status set when the server answered).  Free f->body in both cases.
 */
int llmr_fetch(const char *url, const char *key, long timeout_ms,
    size_t max, llmr_fetch_t *f);


#endif /* _LLMR_FETCH_H_INCLUDED_ */
