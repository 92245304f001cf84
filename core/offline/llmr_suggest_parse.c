
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include <llmr/suggest.h>


/*
 * The basis of the suggestions read back from llm_status's JSON (its
 * "suggestion_basis", or that object alone), for llmr suggest: the same
 * numbers the module passed to llmr_suggest().
 */


static yajl_val llmr_sgp_get(yajl_val obj, const char *key);
static double llmr_sgp_num(yajl_val obj, const char *key);
static int llmr_sgp_tier(yajl_val v);
static void llmr_sgp_name(yajl_val obj, char *name, size_t size);


int
llmr_suggest_basis_parse(const char *json, size_t len,
    llmr_suggest_basis_t *b, char *err, size_t errlen)
{
    int                     c, t;
    char                   *copy, ybuf[256];
    size_t                  i, k;
    yajl_val                root, basis, v, o, e;
    llmr_suggest_model_t   *m;
    llmr_suggest_budget_t  *bg;

    memset(b, 0, sizeof(llmr_suggest_basis_t));

    copy = malloc(len + 1);
    if (copy == NULL) {
        return llmr_errorf(err, errlen, "out of memory");
    }

    memcpy(copy, json, len);
    copy[len] = '\0';

    ybuf[0] = '\0';
    root = yajl_tree_parse(copy, ybuf, sizeof(ybuf));
    free(copy);

    if (root == NULL) {
        for (i = 0; ybuf[i]; i++) {
            if (ybuf[i] == '\n' || ybuf[i] == '\r') {
                ybuf[i] = ' ';
            }
        }

        return llmr_errorf(err, errlen, "invalid JSON: %s",
                           ybuf[0] ? ybuf : "parse error");
    }

    basis = llmr_sgp_get(root, "suggestion_basis");

    if (basis == NULL) {
        basis = root;
    }

    if (!YAJL_IS_OBJECT(basis) || llmr_sgp_get(basis, "tiers") == NULL
        || llmr_sgp_get(basis, "models") == NULL)
    {
        yajl_tree_free(root);
        return llmr_errorf(err, errlen, "no \"suggestion_basis\" in the "
                           "status (an llm_status of this version?)");
    }

    b->window = llmr_sgp_num(basis, "window_s");
    b->window_requests = llmr_sgp_num(basis, "window_requests");
    b->requests = (uint64_t) llmr_sgp_num(basis, "requests");
    b->escalations = (uint64_t) llmr_sgp_num(basis, "escalations");

    for (t = 0; t < LLMR_TIER_N; t++) {
        o = llmr_sgp_get(llmr_sgp_get(basis, "tiers"), llmr_tier_name(t));

        b->tiers[t].requests = (uint64_t) llmr_sgp_num(o, "requests");
        b->tiers[t].input_tokens = (uint64_t) llmr_sgp_num(o, "input_tokens");
        b->tiers[t].output_tokens =
                                 (uint64_t) llmr_sgp_num(o, "output_tokens");
        b->tiers[t].cost = llmr_sgp_num(o, "cost_usd");
    }

    for (c = 0; c < LLMR_TIER_N; c++) {
        o = llmr_sgp_get(llmr_sgp_get(basis, "feedback"), llmr_tier_name(c));

        for (t = 0; t < LLMR_TIER_N; t++) {
            v = llmr_sgp_get(o, llmr_tier_name(t));

            if (v && YAJL_IS_ARRAY(v) && v->u.array.len == 2
                && YAJL_IS_NUMBER(v->u.array.values[0])
                && YAJL_IS_NUMBER(v->u.array.values[1]))
            {
                b->weight[c][t] = YAJL_GET_DOUBLE(v->u.array.values[0]);
                b->quality[c][t] = YAJL_GET_DOUBLE(v->u.array.values[1]);
            }
        }
    }

    v = llmr_sgp_get(basis, "models");

    for (i = 0; v && YAJL_IS_ARRAY(v) && i < v->u.array.len
                && b->nmodels < LLMR_SUGGEST_MODELS; i++)
    {
        o = v->u.array.values[i];

        if (!YAJL_IS_OBJECT(o)) {
            continue;
        }

        m = &b->models[b->nmodels++];

        llmr_sgp_name(o, m->name, sizeof(m->name));

        e = llmr_sgp_get(o, "tiers");

        if (e && YAJL_IS_ARRAY(e) && e->u.array.len == 2) {
            m->configured = 1;
            m->tier_lo = llmr_sgp_tier(e->u.array.values[0]);
            m->tier_hi = llmr_sgp_tier(e->u.array.values[1]);
            m->price_in = llmr_sgp_num(o, "input");
            m->price_out = llmr_sgp_num(o, "output");
        }

        m->requests = (uint64_t) llmr_sgp_num(o, "requests");
        m->cost = llmr_sgp_num(o, "cost_usd");

        for (t = 0; t < LLMR_TIER_N; t++) {
            m->recent[t] = (uint64_t) llmr_sgp_num(llmr_sgp_get(o, "recent"),
                                                   llmr_tier_name(t));
        }
    }

    v = llmr_sgp_get(basis, "budgets");

    for (k = 0; v && YAJL_IS_ARRAY(v) && k < v->u.array.len
                && b->nbudgets < LLMR_SUGGEST_BUDGETS; k++)
    {
        o = v->u.array.values[k];

        if (!YAJL_IS_OBJECT(o)) {
            continue;
        }

        bg = &b->budgets[b->nbudgets++];

        llmr_sgp_name(o, bg->name, sizeof(bg->name));
        bg->limit = llmr_sgp_num(o, "limit_usd");
        bg->spent = llmr_sgp_num(o, "spent_usd");
        bg->period = (int64_t) llmr_sgp_num(o, "period_s");
        bg->elapsed = (int64_t) llmr_sgp_num(o, "elapsed_s");
    }

    yajl_tree_free(root);

    return LLMR_OK;
}


static yajl_val
llmr_sgp_get(yajl_val obj, const char *key)
{
    size_t  i;

    if (obj == NULL || !YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = 0; i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


/* a number member, 0 when absent or not a number */

static double
llmr_sgp_num(yajl_val obj, const char *key)
{
    yajl_val  v;

    v = llmr_sgp_get(obj, key);

    return (v && YAJL_IS_NUMBER(v)) ? YAJL_GET_DOUBLE(v) : 0;
}


static int
llmr_sgp_tier(yajl_val v)
{
    int          t;
    const char  *s;

    s = (v && YAJL_IS_STRING(v)) ? v->u.string : NULL;

    if (s == NULL) {
        return 0;
    }

    t = llmr_tier_parse(s, strlen(s));

    return t < 0 ? 0 : t;
}


static void
llmr_sgp_name(yajl_val obj, char *name, size_t size)
{
    yajl_val  v;

    v = llmr_sgp_get(obj, "name");

    if (v && YAJL_IS_STRING(v)) {
        (void) snprintf(name, size, "%s", YAJL_GET_STRING(v));

    } else {
        name[0] = '\0';
    }
}
