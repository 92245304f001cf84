
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/core.h>


static const char  *llmr_tier_names[LLMR_TIER_N] = {
    "trivial", "simple", "moderate", "complex", "expert"
};

static const char  *llmr_domain_names[LLMR_DOMAIN_N] = {
    "general", "code", "math", "science", "analysis", "medical", "legal",
    "finance", "creative", "humanities"
};

static const struct {
    const char         *name;
    unsigned            cap;
} llmr_caps[] = {
    { "vision", LLMR_CAP_VISION },
    { "tools", LLMR_CAP_TOOLS },
    { "json", LLMR_CAP_JSON },
    { "reasoning", LLMR_CAP_REASONING },
    { "audio", LLMR_CAP_AUDIO },
    { "long_context", LLMR_CAP_LONG_CONTEXT },
    { NULL, 0 }
};


static int
llmr_name_index(const char **names, int n, const char *s, size_t len)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (strlen(names[i]) == len && strncmp(names[i], s, len) == 0) {
            return i;
        }
    }

    return -1;
}


const char *
llmr_tier_name(int tier)
{
    if (tier < 0 || tier >= LLMR_TIER_N) {
        return "unknown";
    }

    return llmr_tier_names[tier];
}


int
llmr_tier_parse(const char *s, size_t len)
{
    return llmr_name_index(llmr_tier_names, LLMR_TIER_N, s, len);
}


const char *
llmr_domain_name(int domain)
{
    if (domain < 0 || domain >= LLMR_DOMAIN_N) {
        return "unknown";
    }

    return llmr_domain_names[domain];
}


int
llmr_domain_parse(const char *s, size_t len)
{
    return llmr_name_index(llmr_domain_names, LLMR_DOMAIN_N, s, len);
}


const char *
llmr_cap_name(unsigned cap)
{
    int  i;

    for (i = 0; llmr_caps[i].name; i++) {
        if (llmr_caps[i].cap == cap) {
            return llmr_caps[i].name;
        }
    }

    return "unknown";
}


/* "vision,tools": LLMR_OK, or LLMR_ERROR on an unknown name */

int
llmr_caps_parse(const char *s, size_t len, unsigned *caps)
{
    int          i;
    size_t       n;
    const char  *p, *end, *comma;

    *caps = 0;
    p = s;
    end = s + len;

    while (p < end) {
        comma = memchr(p, ',', end - p);
        n = (comma ? comma : end) - p;

        for (i = 0; llmr_caps[i].name; i++) {
            if (strlen(llmr_caps[i].name) == n
                && strncmp(llmr_caps[i].name, p, n) == 0)
            {
                break;
            }
        }

        if (llmr_caps[i].name == NULL) {
            return LLMR_ERROR;
        }

        *caps |= llmr_caps[i].cap;

        if (comma == NULL) {
            break;
        }

        p = comma + 1;
    }

    return LLMR_OK;
}


size_t
llmr_json_escaped_len(const char *src, size_t len)
{
    size_t          n, i;
    unsigned char   c;

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];

        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t'
            || c == '\b' || c == '\f')
        {
            n += 2;

        } else if (c < 0x20 || c == 0x7f) {
            n += 6;

        } else {
            n++;
        }
    }

    return n;
}


/*
 * Escapes src as the inside of a JSON string.  Output is cut at a whole
 * escape sequence when dst is too small; the return value is what was
 * written (never more than size).
 */

size_t
llmr_json_escape(char *dst, size_t size, const char *src, size_t len)
{
    size_t          i, n, need;
    char            esc[8];
    unsigned char   c;

    static const char  hex[] = "0123456789abcdef";

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) src[i];
        need = 2;

        switch (c) {
        case '"':  esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xf];
                need = 6;

            } else {
                esc[0] = (char) c;
                need = 1;
            }
        }

        if (n + need > size) {
            break;
        }

        if (need == 1) {
            dst[n++] = esc[0];
            continue;
        }

        esc[0] = '\\';
        memcpy(dst + n, esc, need);
        n += need;
    }

    return n;
}


int
llmr_errorf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }

    return LLMR_ERROR;
}


char *
llmr_strndup(const char *s, size_t len)
{
    char  *p;

    p = malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}
