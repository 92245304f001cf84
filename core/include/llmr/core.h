
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_CORE_H_INCLUDED_
#define _LLMR_CORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define LLMR_VERSION            "0.1.0"

/* status codes mirror nginx's meanings */
#define LLMR_OK                 0
#define LLMR_ERROR              -1
#define LLMR_AGAIN              -2
#define LLMR_DECLINED           -5


typedef struct {
    const char                 *data;
    size_t                      len;
} llmr_str_t;

#define llmr_string(s)          { s, sizeof(s) - 1 }
#define llmr_null_string        { NULL, 0 }


typedef enum {
    LLMR_TIER_TRIVIAL = 0,
    LLMR_TIER_SIMPLE,
    LLMR_TIER_MODERATE,
    LLMR_TIER_COMPLEX,
    LLMR_TIER_EXPERT,
    LLMR_TIER_N
} llmr_tier_e;


typedef enum {
    LLMR_DOMAIN_GENERAL = 0,
    LLMR_DOMAIN_CODE,
    LLMR_DOMAIN_MATH,
    LLMR_DOMAIN_SCIENCE,
    LLMR_DOMAIN_ANALYSIS,
    LLMR_DOMAIN_MEDICAL,
    LLMR_DOMAIN_LEGAL,
    LLMR_DOMAIN_FINANCE,
    LLMR_DOMAIN_CREATIVE,
    LLMR_DOMAIN_HUMANITIES,
    LLMR_DOMAIN_N
} llmr_domain_e;


/* model capabilities, a bit mask */
#define LLMR_CAP_VISION         0x0001
#define LLMR_CAP_TOOLS          0x0002
#define LLMR_CAP_JSON           0x0004
#define LLMR_CAP_REASONING      0x0008
#define LLMR_CAP_AUDIO          0x0010
#define LLMR_CAP_LONG_CONTEXT   0x0020


/*
 * The library never logs by itself; callers that want diagnostics pass
 * a callback and an opaque pointer (the nginx log, stderr, ...).
 */
typedef void (*llmr_log_pt)(void *data, int level, const char *msg);

#define LLMR_LOG_ERR            1
#define LLMR_LOG_WARN           2
#define LLMR_LOG_INFO           3
#define LLMR_LOG_DEBUG          4


const char *llmr_tier_name(int tier);
int llmr_tier_parse(const char *s, size_t len);
const char *llmr_domain_name(int domain);
int llmr_domain_parse(const char *s, size_t len);
const char *llmr_cap_name(unsigned cap);
int llmr_caps_parse(const char *s, size_t len, unsigned *caps);

/* JSON string escaping into a bounded buffer; returns bytes written */
size_t llmr_json_escape(char *dst, size_t size, const char *src, size_t len);
size_t llmr_json_escaped_len(const char *src, size_t len);

/* a message into err (when given) for a caller's error; returns LLMR_ERROR */
int llmr_errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* a NUL-terminated heap copy of len bytes; NULL without memory */
char *llmr_strndup(const char *s, size_t len);


#endif /* _LLMR_CORE_H_INCLUDED_ */
