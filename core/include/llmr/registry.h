
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_REGISTRY_H_INCLUDED_
#define _LLMR_REGISTRY_H_INCLUDED_


#include <llmr/core.h>


/* a route decision keeps excluded models in a 64-bit mask */
#define LLMR_MODELS_MAX         64
#define LLMR_NAME_MAX           200
#define LLMR_ERRSTR_SIZE        256

/* max_tokens= of a model when not given (Anthropic's API needs one) */
#define LLMR_MAX_TOKENS_DEFAULT 4096


typedef struct {
    char                       *name;       /* what operators and logs use */
    char                       *id;         /* what the provider is sent */
    char                       *provider;
    char                       *upstream;   /* an upstream{} or host:port */
    int                         api;        /* llmr_api_e its upstream
                                               speaks */
    char                       *path;       /* the API's base path at the
                                               upstream, or NULL */
    char                       *key_file;   /* the provider key's file, or
                                               NULL: the client's own */
    int                         tier_lo;
    int                         tier_hi;
    double                      price_in;   /* USD per million tokens */
    double                      price_out;
    uint64_t                    context;    /* tokens, 0 = not limited */
    uint64_t                    max_tokens; /* a translated request's
                                               max_tokens when it names
                                               none and the API needs one */
    unsigned                    caps;       /* LLMR_CAP_* */
    unsigned                    index;

    /*
     * Optional quality and speed data (llm_model intelligence=, coding=,
     * math=, speed=, ttft=; the same keys in llm_models), as published by
     * benchmarks such as Artificial Analysis.  0 means unknown.  Only the
     * routing profiles other than cost-efficiency read them.
     */
    double                      intelligence;   /* index, 0..100 */
    double                      coding_index;
    double                      math_index;
    double                      speed_tps;  /* median output tokens/s */
    double                      ttft_s;     /* median time to 1st token */
} llmr_model_t;


typedef struct {
    llmr_model_t                models[LLMR_MODELS_MAX];
    unsigned                    n;
    unsigned                    apis;       /* llmr_api_bit() of each */
} llmr_registry_t;


llmr_registry_t *llmr_registry_create(void);
void llmr_registry_destroy(llmr_registry_t *reg);

/*
 * Adds one model from "key=value" arguments, as in
 *   llm_model NAME provider=P upstream=U tiers=LO-HI input=X output=Y
 *             [context=N] [caps=a,b] [id=PROVIDER_ID] [api=A] [path=/BASE]
 *             [key_file=FILE] [max_tokens=N]
 *             [intelligence=I] [coding=C] [math=M] [speed=TPS] [ttft=S];
 * api= defaults to the provider's own API (llmr_api_of_provider); a
 * provider whose API is not known needs it.
 * On error returns LLMR_ERROR and writes a message naming the bad value.
 */
int llmr_registry_add(llmr_registry_t *reg, const llmr_str_t *name,
    const llmr_str_t *args, unsigned nargs, char *err, size_t errlen);

/*
 * Loads {"models": [{"name", "provider", "upstream", "tiers", "input",
 * "output", "context", "caps", "id", "api", "path", "key_file",
 * "max_tokens", "intelligence", "coding", "math", "speed", "ttft"}, ...]} (or a bare
 * array) with the same validation as llmr_registry_add(); other keys are
 * ignored.
 */
int llmr_registry_load_json(llmr_registry_t *reg, const char *data,
    size_t len, char *err, size_t errlen);
int llmr_registry_load_file(llmr_registry_t *reg, const char *path,
    char *err, size_t errlen);

/* by name, then by provider id; NULL when unknown */
const llmr_model_t *llmr_registry_find(const llmr_registry_t *reg,
    const char *name, size_t len);

/* the most expensive model (blended 3:1), the usual cost reference */
const llmr_model_t *llmr_registry_reference(const llmr_registry_t *reg);


#endif /* _LLMR_REGISTRY_H_INCLUDED_ */
