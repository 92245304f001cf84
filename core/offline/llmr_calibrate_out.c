
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * What llmr calibrate writes: models.json, the llm_model include,
 * MODELS.md, a CHANGELOG.md entry and the terminal report.
 */


#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/api.h>
#include <llmr/calibrate.h>


#define LLMR_PLOT_W             64
#define LLMR_PLOT_H             16

/* an output buffer's first size (it doubles); a line most printfs fit */
#define LLMR_CB_SIZE            4096
#define LLMR_CB_LINE            512
#define LLMR_CB_NUM_SIZE        64

/* the report's threshold columns; models a profile lists without --explore */
#define LLMR_REPORT_COST_W      22
#define LLMR_REPORT_INTEL_W     18
#define LLMR_REPORT_SHOWN       6


typedef struct {
    char                       *data;
    size_t                      len;
    size_t                      cap;
    int                         nomem;
} llmr_cb_t;


static const char  *llmr_cal_band_names[LLMR_TIER_N] = {
    "simple", "medium", "complex", "reasoning", "premium"
};


static void
llmr_cb_add(llmr_cb_t *b, const char *s, size_t n)
{
    char    *p;
    size_t   cap;

    if (b->nomem) {
        return;
    }

    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : LLMR_CB_SIZE;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }

        p = realloc(b->data, cap);
        if (p == NULL) {
            b->nomem = 1;
            return;
        }

        b->data = p;
        b->cap = cap;
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}


static void
llmr_cb_printf(llmr_cb_t *b, const char *fmt, ...)
{
    int      n;
    char     small[LLMR_CB_LINE], *big;
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);

    if (n < 0) {
        return;
    }

    if ((size_t) n < sizeof(small)) {
        llmr_cb_add(b, small, n);
        return;
    }

    big = malloc(n + 1);
    if (big == NULL) {
        b->nomem = 1;
        return;
    }

    va_start(ap, fmt);
    vsnprintf(big, n + 1, fmt, ap);
    va_end(ap);

    llmr_cb_add(b, big, n);
    free(big);
}


/* a number without trailing zeros: 0.15, 3, 0.0375 */

static void
llmr_cb_num(llmr_cb_t *b, double v)
{
    char    buf[LLMR_CB_NUM_SIZE];
    size_t  n;

    n = snprintf(buf, sizeof(buf), "%.6f", v);

    if (n >= sizeof(buf)) {
        n = snprintf(buf, sizeof(buf), "%g", v);
        llmr_cb_add(b, buf, n);
        return;
    }

    while (n > 1 && buf[n - 1] == '0') {
        n--;
    }

    if (n > 1 && buf[n - 1] == '.') {
        n--;
    }

    if (n == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        n = 1;
    }

    llmr_cb_add(b, buf, n);
}


static void
llmr_cb_json(llmr_cb_t *b, const char *s)
{
    char    *p;
    size_t   n, len;

    len = strlen(s);
    n = llmr_json_escaped_len(s, len);

    p = malloc(n + 1);
    if (p == NULL) {
        b->nomem = 1;
        return;
    }

    n = llmr_json_escape(p, n, s, len);

    llmr_cb_add(b, "\"", 1);
    llmr_cb_add(b, p, n);
    llmr_cb_add(b, "\"", 1);

    free(p);
}


static char *
llmr_cb_done(llmr_cb_t *b)
{
    if (b->nomem) {
        free(b->data);
        return NULL;
    }

    if (b->data == NULL) {
        llmr_cb_add(b, "", 0);
    }

    return b->nomem ? NULL : b->data;
}


/*
 * The API a calibrated model is called with: the provider's own, else
 * OpenAI's, which is what hosts of other makers' models speak; an
 * operator changes it in the written file.
 */

static const char *
llmr_cal_api(const llmr_cal_model_t *m)
{
    int  api;

    api = llmr_api_of_provider(m->provider, strlen(m->provider));

    return llmr_api_name(api < 0 ? LLMR_API_OPENAI : api);
}


static void
llmr_cb_tiers(llmr_cb_t *b, int lo, int hi)
{
    if (lo < 0) {
        llmr_cb_printf(b, "-");

    } else if (lo == hi) {
        llmr_cb_printf(b, "%s", llmr_tier_name(lo));

    } else {
        llmr_cb_printf(b, "%s-%s", llmr_tier_name(lo), llmr_tier_name(hi));
    }
}


/* the models to write (or all usable ones): by lowest tier, then price */

static unsigned *
llmr_cal_sorted(const llmr_cal_t *cal, int selected, unsigned *n)
{
    unsigned                 i, j, k, *idx;
    const llmr_cal_model_t  *a, *b;

    idx = malloc((cal->n + 1) * sizeof(unsigned));
    if (idx == NULL) {
        return NULL;
    }

    k = 0;

    for (i = 0; i < cal->n; i++) {
        a = &cal->models[i];

        if (a->ignored || (selected && a->selected != 1)) {
            continue;
        }

        /* insertion sort: a few hundred models at most */

        for (j = k; j > 0; j--) {
            b = &cal->models[idx[j - 1]];

            if (selected && b->tier_lo != a->tier_lo) {
                if (b->tier_lo < a->tier_lo) {
                    break;
                }

            } else if (b->price < a->price
                       || (b->price == a->price
                           && strcmp(b->name, a->name) <= 0))
            {
                break;
            }

            idx[j] = idx[j - 1];
        }

        idx[j] = i;
        k++;
    }

    *n = k;

    return idx;
}


/* the models written for tier t in profile p's order, into out */

static unsigned
llmr_cal_profile_order(const llmr_cal_t *cal, const unsigned *idx,
    unsigned n, int t, int p, unsigned *out)
{
    unsigned                 i, j, k;
    llmr_model_t             a, b;
    const llmr_cal_model_t  *m;

    k = 0;

    for (i = 0; i < n; i++) {
        m = &cal->models[idx[i]];

        if (t < m->tier_lo || t > m->tier_hi) {
            continue;
        }

        llmr_cal_to_model(m, &a);

        for (j = k; j > 0; j--) {
            llmr_cal_to_model(&cal->models[out[j - 1]], &b);

            if (llmr_profile_cmp(p, &b, &a, LLMR_CAL_BLEND_IN,
                                 LLMR_CAL_BLEND_OUT)
                <= 0)
            {
                break;
            }

            out[j] = out[j - 1];
        }

        out[j] = idx[i];
        k++;
    }

    return k;
}


/* models.json ---------------------------------------------------------- */


/* one tier's thresholds in models.json, and where they came from */

static void
llmr_cal_json_band(llmr_cb_t *b, const llmr_cal_t *cal, int t)
{
    const llmr_cal_band_t  *band;

    band = &cal->bands[t];

    llmr_cb_printf(b, ",\n  \"%s\": {\"band\": \"%s\", \"max_cost\": ",
                   llmr_tier_name(t), llmr_cal_band_names[t]);

    if (band->max_cost < 0) {
        llmr_cb_printf(b, "null");

    } else {
        llmr_cb_num(b, band->max_cost);
    }

    llmr_cb_printf(b, ", \"min_intelligence\": ");
    llmr_cb_num(b, band->min_intelligence);
    llmr_cb_printf(b, ", \"min_math\": ");

    if (band->min_math < 0) {
        llmr_cb_printf(b, "null");

    } else {
        llmr_cb_num(b, band->min_math);
    }

    if (band->manual) {
        llmr_cb_printf(b, ", \"source\": \"manual\"}");
        return;
    }

    llmr_cb_printf(b, ", \"source\": \"percentile\", \"percentiles\": "
                   "{\"cost\": ");

    if (band->p_cost < 0) {
        llmr_cb_printf(b, "null");

    } else {
        llmr_cb_num(b, band->p_cost);
    }

    llmr_cb_printf(b, ", \"intelligence\": ");
    llmr_cb_num(b, band->p_intelligence);
    llmr_cb_printf(b, ", \"math\": ");

    if (band->p_math < 0 || cal->math_dropped) {
        llmr_cb_printf(b, "null");

    } else {
        llmr_cb_num(b, band->p_math);
    }

    llmr_cb_printf(b, "}}");
}


/* one model in models.json: what llm_models reads, then for people */

static void
llmr_cal_json_model(llmr_cb_t *b, const llmr_cal_model_t *m, int first)
{
    unsigned  k, c;

    llmr_cb_printf(b, "%s\n  {\"name\": ", first ? "" : ",");
    llmr_cb_json(b, m->name);

    if (m->id) {
        llmr_cb_printf(b, ", \"id\": ");
        llmr_cb_json(b, m->id);
    }

    llmr_cb_printf(b, ", \"provider\": ");
    llmr_cb_json(b, m->provider);
    llmr_cb_printf(b, ", \"api\": \"%s\"", llmr_cal_api(m));
    llmr_cb_printf(b, ", \"upstream\": ");
    llmr_cb_json(b, m->upstream);
    llmr_cb_printf(b, ", \"tiers\": \"");
    llmr_cb_tiers(b, m->tier_lo, m->tier_hi);
    llmr_cb_printf(b, "\", \"input\": ");
    llmr_cb_num(b, m->price_in);
    llmr_cb_printf(b, ", \"output\": ");
    llmr_cb_num(b, m->price_out);

    if (m->context) {
        llmr_cb_printf(b, ", \"context\": %llu",
                       (unsigned long long) m->context);
    }

    if (m->caps) {
        llmr_cb_printf(b, ", \"caps\": [");
        k = 0;

        for (c = 1; c <= LLMR_CAP_LONG_CONTEXT; c <<= 1) {
            if (m->caps & c) {
                llmr_cb_printf(b, "%s\"%s\"", k++ ? ", " : "",
                               llmr_cap_name(c));
            }
        }

        llmr_cb_printf(b, "]");
    }

    llmr_cb_printf(b, ", \"intelligence\": ");
    llmr_cb_num(b, m->intelligence);

    if (m->coding >= 0) {
        llmr_cb_printf(b, ", \"coding\": ");
        llmr_cb_num(b, m->coding);
    }

    if (m->math >= 0) {
        llmr_cb_printf(b, ", \"math\": ");
        llmr_cb_num(b, m->math);
    }

    if (m->speed_tps > 0) {
        llmr_cb_printf(b, ", \"speed\": ");
        llmr_cb_num(b, m->speed_tps);
    }

    if (m->ttft_s > 0) {
        llmr_cb_printf(b, ", \"ttft\": ");
        llmr_cb_num(b, m->ttft_s);
    }

    llmr_cb_printf(b, ", \"blended\": ");
    llmr_cb_num(b, m->price);
    llmr_cb_printf(b, ", \"frontier\": %s, \"label\": ",
                   m->frontier ? "true" : "false");
    llmr_cb_json(b, m->label);
    llmr_cb_printf(b, ", \"creator\": ");
    llmr_cb_json(b, m->creator);
    llmr_cb_printf(b, "}");
}


/* each profile's order of the models written, tier by tier */

static void
llmr_cal_json_profiles(llmr_cb_t *b, const llmr_cal_t *cal,
    const unsigned *idx, unsigned n, unsigned *ord)
{
    int       t, p;
    unsigned  j, k;

    for (p = 0; p < LLMR_PROFILE_N; p++) {
        llmr_cb_printf(b, "%s\n  \"%s\": {", p ? "," : "",
                       llmr_profile_name(p));

        for (t = 0; t < LLMR_TIER_N; t++) {
            k = llmr_cal_profile_order(cal, idx, n, t, p, ord);

            llmr_cb_printf(b, "%s\"%s\": [", t ? ", " : "",
                           llmr_tier_name(t));

            for (j = 0; j < k; j++) {
                if (j) {
                    llmr_cb_printf(b, ", ");
                }

                llmr_cb_json(b, cal->models[ord[j]].name);
            }

            llmr_cb_printf(b, "]");
        }

        llmr_cb_printf(b, "}");
    }
}


char *
llmr_cal_models_json(const llmr_cal_t *cal)
{
    int        t;
    unsigned   i, n, *idx, *ord;
    llmr_cb_t  b, g;

    memset(&b, 0, sizeof(llmr_cb_t));

    idx = llmr_cal_sorted(cal, 1, &n);
    ord = malloc((cal->n + 1) * sizeof(unsigned));

    if (idx == NULL || ord == NULL) {
        free(idx);
        free(ord);
        return NULL;
    }

    memset(&g, 0, sizeof(llmr_cb_t));
    llmr_cb_printf(&g, "llmr calibrate %s, %s, from %s", LLMR_VERSION,
                   cal->when, cal->source);

    llmr_cb_printf(&b, "{\"_generated\": ");
    llmr_cb_json(&b, g.data ? g.data : "");
    free(g.data);

    llmr_cb_printf(&b, ",\n \"_note\": \"generated: edit the upstream "
                   "names (PROVIDER_pool by default) or map them with "
                   "--upstream-map or the override file; llm_models reads "
                   "the models array, the rest is for people\",\n");

    llmr_cb_printf(&b, " \"thresholds\": {\"method\": \"%s\"",
                   cal->manual ? "manual" : "percentile");

    for (t = 0; t < LLMR_TIER_N; t++) {
        llmr_cal_json_band(&b, cal, t);
    }

    llmr_cb_printf(&b, "},\n \"models\": [");

    for (i = 0; i < n; i++) {
        llmr_cal_json_model(&b, &cal->models[idx[i]], i == 0);
    }

    llmr_cb_printf(&b, "\n ],\n \"profiles\": {");
    llmr_cal_json_profiles(&b, cal, idx, n, ord);

    llmr_cb_printf(&b, "\n }\n}\n");

    free(idx);
    free(ord);

    return llmr_cb_done(&b);
}


/* the nginx include ---------------------------------------------------- */


char *
llmr_cal_nginx_include(const llmr_cal_t *cal)
{
    unsigned                 i, j, n, k, c, *idx;
    llmr_cb_t                b;
    const llmr_cal_model_t  *m;

    memset(&b, 0, sizeof(llmr_cb_t));

    idx = llmr_cal_sorted(cal, 1, &n);
    if (idx == NULL) {
        return NULL;
    }

    llmr_cb_printf(&b, "# Generated by llmr calibrate %s on %s\n"
                   "# from %s.\n"
                   "# %u models; tiers and reasons in MODELS.md.  Include "
                   "this file or load\n"
                   "# models.json with llm_models, not both.  Every "
                   "upstream named here needs an\n"
                   "# upstream {} block (edit the names, or map them with "
                   "--upstream-map):\n#\n",
                   LLMR_VERSION, cal->when, cal->source, n);

    for (i = 0; i < n; i++) {
        m = &cal->models[idx[i]];

        for (j = 0; j < i; j++) {
            if (strcmp(cal->models[idx[j]].upstream, m->upstream) == 0) {
                break;
            }
        }

        if (j == i) {
            llmr_cb_printf(&b, "#   upstream %s { server ...; }\n",
                           m->upstream);
        }
    }

    llmr_cb_printf(&b, "#\n# Pick the order within a tier with "
                   "llm_route_profile: cost-efficiency\n"
                   "# (default), balanced, max-intelligence, speed or "
                   "reasoning-first.\n\n");

    for (i = 0; i < n; i++) {
        m = &cal->models[idx[i]];

        llmr_cb_printf(&b, "llm_model %s provider=%s api=%s upstream=%s "
                       "tiers=", m->name, m->provider, llmr_cal_api(m),
                       m->upstream);
        llmr_cb_tiers(&b, m->tier_lo, m->tier_hi);
        llmr_cb_printf(&b, " input=");
        llmr_cb_num(&b, m->price_in);
        llmr_cb_printf(&b, " output=");
        llmr_cb_num(&b, m->price_out);

        if (m->context) {
            llmr_cb_printf(&b, " context=%llu",
                           (unsigned long long) m->context);
        }

        if (m->caps) {
            llmr_cb_printf(&b, " caps=");
            k = 0;

            for (c = 1; c <= LLMR_CAP_LONG_CONTEXT; c <<= 1) {
                if (m->caps & c) {
                    llmr_cb_printf(&b, "%s%s", k++ ? "," : "",
                                   llmr_cap_name(c));
                }
            }
        }

        if (m->id) {
            llmr_cb_printf(&b, " id=%s", m->id);
        }

        llmr_cb_printf(&b, " intelligence=");
        llmr_cb_num(&b, m->intelligence);

        if (m->coding >= 0) {
            llmr_cb_printf(&b, " coding=");
            llmr_cb_num(&b, m->coding);
        }

        if (m->math >= 0) {
            llmr_cb_printf(&b, " math=");
            llmr_cb_num(&b, m->math);
        }

        if (m->speed_tps > 0) {
            llmr_cb_printf(&b, " speed=");
            llmr_cb_num(&b, m->speed_tps);
        }

        if (m->ttft_s > 0) {
            llmr_cb_printf(&b, " ttft=");
            llmr_cb_num(&b, m->ttft_s);
        }

        llmr_cb_printf(&b, ";\n");
    }

    free(idx);

    return llmr_cb_done(&b);
}


/* thresholds and reasons ----------------------------------------------- */


static void
llmr_cal_threshold(llmr_cb_t *b, double v, double p, int manual,
    const char *unit)
{
    if (v < 0) {
        llmr_cb_printf(b, "-");
        return;
    }

    llmr_cb_printf(b, "%s", unit);
    llmr_cb_num(b, floor(v * 1000 + 0.5) / 1000);

    if (manual) {
        llmr_cb_printf(b, " (manual)");

    } else {
        llmr_cb_printf(b, " (P");
        llmr_cb_num(b, p);
        llmr_cb_printf(b, ")");
    }
}


static void
llmr_cal_why(llmr_cb_t *b, const llmr_cal_t *cal, const llmr_cal_model_t *m,
    int t)
{
    int                     pass, n;
    const llmr_cal_band_t  *band;

    band = &cal->bands[t];
    pass = (m->passes >> t) & 1;
    n = 0;

    if (band->max_cost >= 0 && (pass || m->price > band->max_cost)) {
        llmr_cb_printf(b, "price $");
        llmr_cb_num(b, m->price);
        llmr_cb_printf(b, pass ? " <= " : " > ");
        llmr_cal_threshold(b, band->max_cost, band->p_cost, band->manual,
                           "$");
        n++;
    }

    if (pass || m->intelligence < band->min_intelligence) {
        llmr_cb_printf(b, "%sintelligence ", n++ ? ", " : "");
        llmr_cb_num(b, m->intelligence);
        llmr_cb_printf(b, pass ? " >= " : " < ");
        llmr_cal_threshold(b, band->min_intelligence, band->p_intelligence,
                           band->manual, "");
    }

    if (band->min_math >= 0 && (pass || m->math < band->min_math)) {
        llmr_cb_printf(b, "%smath ", n++ ? ", " : "");

        if (m->math < 0) {
            llmr_cb_printf(b, "unknown, needs >= ");

        } else {
            llmr_cb_num(b, m->math);
            llmr_cb_printf(b, pass ? " >= " : " < ");
        }

        llmr_cal_threshold(b, band->min_math, band->p_math, band->manual,
                           "");
    }
}


static void
llmr_cal_thresholds_md(llmr_cb_t *b, const llmr_cal_t *cal)
{
    int                     t;
    const llmr_cal_band_t  *band;

    llmr_cb_printf(b, "| tier | band | price ceiling (USD per 1M tokens, "
                   "blended 3:1) | intelligence floor | math floor |\n"
                   "|---|---|---|---|---|\n");

    for (t = 0; t < LLMR_TIER_N; t++) {
        band = &cal->bands[t];

        llmr_cb_printf(b, "| %s | %s | ", llmr_tier_name(t),
                       llmr_cal_band_names[t]);

        if (band->max_cost < 0) {
            llmr_cb_printf(b, "none");

        } else {
            llmr_cal_threshold(b, band->max_cost, band->p_cost,
                               band->manual, "$");
        }

        llmr_cb_printf(b, " | ");
        llmr_cal_threshold(b, band->min_intelligence, band->p_intelligence,
                           band->manual, "");
        llmr_cb_printf(b, " | ");
        llmr_cal_threshold(b, band->min_math, band->p_math, band->manual,
                           "");
        llmr_cb_printf(b, " |\n");
    }
}


static void
llmr_cb_opt(llmr_cb_t *b, double v, const char *unknown)
{
    if (v < 0) {
        llmr_cb_printf(b, "%s", unknown);

    } else {
        llmr_cb_num(b, floor(v * 100 + 0.5) / 100);
    }
}


/* MODELS.md ------------------------------------------------------------ */


/* each tier's models, cheapest first, and their order by profile */

static void
llmr_cal_tiers_md(llmr_cb_t *b, const llmr_cal_t *cal, const unsigned *idx,
    unsigned n, unsigned *ord)
{
    int                      t, p;
    unsigned                 j, k;
    const llmr_cal_model_t  *m;

    for (t = 0; t < LLMR_TIER_N; t++) {
        llmr_cb_printf(b, "\n### %s\n\n", llmr_tier_name(t));

        k = llmr_cal_profile_order(cal, idx, n, t, LLMR_PROFILE_COST, ord);

        if (k == 0) {
            llmr_cb_printf(b, "No model: requests of this tier go to the "
                           "next tier up.\n");
            continue;
        }

        llmr_cb_printf(b, "| model | provider | upstream | USD/1M "
                       "blended | intelligence | math | tokens/s | "
                       "frontier |\n|---|---|---|---|---|---|---|---|\n");

        for (j = 0; j < k; j++) {
            m = &cal->models[ord[j]];

            llmr_cb_printf(b, "| `%s` | %s | `%s` | ", m->name,
                           m->provider, m->upstream);
            llmr_cb_num(b, m->price);
            llmr_cb_printf(b, " | ");
            llmr_cb_num(b, m->intelligence);
            llmr_cb_printf(b, " | ");
            llmr_cb_opt(b, m->math, "-");
            llmr_cb_printf(b, " | ");
            llmr_cb_opt(b, m->speed_tps, "-");
            llmr_cb_printf(b, " | %s |\n", m->frontier ? "yes" : "");
        }

        llmr_cb_printf(b, "\nOrder by profile (`llm_route_profile`):\n\n");

        for (p = 0; p < LLMR_PROFILE_N; p++) {
            k = llmr_cal_profile_order(cal, idx, n, t, p, ord);

            llmr_cb_printf(b, "- %s:", llmr_profile_name(p));

            for (j = 0; j < k; j++) {
                llmr_cb_printf(b, "%s `%s`", j ? "," : "",
                               cal->models[ord[j]].name);
            }

            llmr_cb_printf(b, "\n");
        }
    }
}


/* a model's data, where it is written and why, tier by tier */

static void
llmr_cal_model_md(llmr_cb_t *b, const llmr_cal_t *cal,
    const llmr_cal_model_t *m)
{
    int  t;

    llmr_cb_printf(b, "\n### `%s`\n\n%s by %s: USD ", m->name,
                   m->label, m->creator);
    llmr_cb_num(b, m->price_in);
    llmr_cb_printf(b, " in / ");
    llmr_cb_num(b, m->price_out);
    llmr_cb_printf(b, " out per 1M tokens (");
    llmr_cb_num(b, m->price);
    llmr_cb_printf(b, " blended), intelligence ");
    llmr_cb_num(b, m->intelligence);
    llmr_cb_printf(b, ", coding ");
    llmr_cb_opt(b, m->coding, "unknown");
    llmr_cb_printf(b, ", math ");
    llmr_cb_opt(b, m->math, "unknown");
    llmr_cb_printf(b, ", ");
    llmr_cb_opt(b, m->speed_tps, "unknown");
    llmr_cb_printf(b, " tokens/s, ");
    llmr_cb_opt(b, m->ttft_s, "unknown");
    llmr_cb_printf(b, " s to the first token.%s\n\n",
                   m->frontier ? "  On the frontier." : "");

    if (m->selected == 1) {
        llmr_cb_printf(b, "Serves **");
        llmr_cb_tiers(b, m->tier_lo, m->tier_hi);
        llmr_cb_printf(b, "**%s.\n\n",
                       m->forced ? " (set by the override file)" : "");

    } else {
        llmr_cb_printf(b, "Not written: %s.\n\n",
                       m->dropped ? m->dropped : "not selected");
    }

    for (t = 0; t < LLMR_TIER_N; t++) {
        llmr_cb_printf(b, "- %s: ", llmr_tier_name(t));

        if (m->forced) {
            llmr_cb_printf(b, "%s by the override file; ",
                           (t >= m->tier_lo && t <= m->tier_hi)
                           ? "served" : "not served");
        }

        if ((m->passes >> t) & 1) {
            llmr_cb_printf(b, "passes: ");

        } else if (!m->forced && m->tier_lo >= 0 && t >= m->tier_lo
                   && t <= m->tier_hi)
        {
            llmr_cb_printf(b, "filled (inside its range), fails: ");

        } else {
            llmr_cb_printf(b, "fails: ");
        }

        llmr_cal_why(b, cal, m, t);
        llmr_cb_printf(b, "\n");
    }
}


char *
llmr_cal_models_md(const llmr_cal_t *cal)
{
    unsigned   i, n, na, *idx, *all, *ord;
    llmr_cb_t  b;

    memset(&b, 0, sizeof(llmr_cb_t));

    idx = llmr_cal_sorted(cal, 1, &n);
    all = llmr_cal_sorted(cal, 0, &na);
    ord = malloc((cal->n + 1) * sizeof(unsigned));

    if (idx == NULL || all == NULL || ord == NULL) {
        free(idx);
        free(all);
        free(ord);
        return NULL;
    }

    llmr_cb_printf(&b, "# Models\n\n"
                   "Generated by `llmr calibrate` %s on %s from `%s`.\n\n"
                   "%u entries read: %u usable, %u skipped for missing or "
                   "invalid data, %u left out by the provider list, %u "
                   "excluded by the override file.  %u on the cost / "
                   "intelligence Pareto frontier, %u placed in a tier, "
                   "%u written.\n\n",
                   LLMR_VERSION, cal->when, cal->source, cal->read,
                   cal->n - cal->filtered - cal->excluded, cal->nskipped,
                   cal->filtered, cal->excluded, cal->nfrontier,
                   cal->nplaced, n);

    llmr_cb_printf(&b, "## Thresholds (%s)\n\n",
                   cal->manual ? "calibration.method manual"
                               : "percentiles of the usable models");
    llmr_cal_thresholds_md(&b, cal);

    llmr_cb_printf(&b, "\nA model serves a tier when its blended price is "
                   "at most the ceiling and its indexes at least the "
                   "floors; it serves the range from the lowest to the "
                   "highest such tier (a tier inside the range that it "
                   "does not pass is *filled*).  Percentiles interpolate "
                   "linearly between closest ranks (R-7).\n");

    if (cal->math_dropped) {
        llmr_cb_printf(&b, "\nNo model has a math index: the complex "
                       "tier's math floor is not applied.\n");
    }

    llmr_cb_printf(&b, "\n## Tiers\n");
    llmr_cal_tiers_md(&b, cal, idx, n, ord);

    llmr_cb_printf(&b, "\n## Why each model is where it is\n");

    for (i = 0; i < na; i++) {
        llmr_cal_model_md(&b, cal, &cal->models[all[i]]);
    }

    if (cal->nskipped) {
        llmr_cb_printf(&b, "\n## Skipped entries\n\n"
                       "| entry | reason |\n|---|---|\n");

        for (i = 0; i < cal->nskipped; i++) {
            llmr_cb_printf(&b, "| %s | %s |\n", cal->skipped[i].name,
                           cal->skipped[i].reason);
        }
    }

    free(idx);
    free(all);
    free(ord);

    return llmr_cb_done(&b);
}


/* CHANGELOG.md entry --------------------------------------------------- */


static int
llmr_cal_price_differs(double a, double b)
{
    return fabs(a - b) > 1e-9 * (fabs(a) + fabs(b) + 1);
}


char *
llmr_cal_changelog(const llmr_cal_t *cal, const llmr_registry_t *prev,
    const char *prev_err)
{
    unsigned                 i, j, n, *idx, changes;
    llmr_cb_t                b;
    const llmr_model_t      *pm;
    const llmr_cal_model_t  *m;

    memset(&b, 0, sizeof(llmr_cb_t));

    idx = llmr_cal_sorted(cal, 1, &n);
    if (idx == NULL) {
        return NULL;
    }

    llmr_cb_printf(&b, "## %s\n\nFrom `%s`: %u models written, %u "
                   "skipped entries.\n\n", cal->when, cal->source, n,
                   cal->nskipped);

    if (prev == NULL) {
        if (prev_err) {
            llmr_cb_printf(&b, "The previous models.json could not be "
                           "read (%s); every model is listed as added.\n\n",
                           prev_err);

        } else {
            llmr_cb_printf(&b, "First calibration.\n\n");
        }
    }

    changes = 0;

    for (i = 0; i < n; i++) {
        m = &cal->models[idx[i]];
        pm = prev ? llmr_registry_find(prev, m->name, strlen(m->name))
                  : NULL;

        if (pm && strcmp(pm->name, m->name) != 0) {
            pm = NULL;
        }

        if (pm == NULL) {
            llmr_cb_printf(&b, "- added `%s` (", m->name);
            llmr_cb_tiers(&b, m->tier_lo, m->tier_hi);
            llmr_cb_printf(&b, ", USD ");
            llmr_cb_num(&b, m->price_in);
            llmr_cb_printf(&b, " / ");
            llmr_cb_num(&b, m->price_out);
            llmr_cb_printf(&b, ", intelligence ");
            llmr_cb_num(&b, m->intelligence);
            llmr_cb_printf(&b, ")\n");
            changes++;
            continue;
        }

        if (pm->tier_lo != m->tier_lo || pm->tier_hi != m->tier_hi) {
            llmr_cb_printf(&b, "- moved `%s`: ", m->name);
            llmr_cb_tiers(&b, pm->tier_lo, pm->tier_hi);
            llmr_cb_printf(&b, " -> ");
            llmr_cb_tiers(&b, m->tier_lo, m->tier_hi);
            llmr_cb_printf(&b, "\n");
            changes++;
        }

        if (llmr_cal_price_differs(pm->price_in, m->price_in)
            || llmr_cal_price_differs(pm->price_out, m->price_out))
        {
            llmr_cb_printf(&b, "- price of `%s`: USD ", m->name);
            llmr_cb_num(&b, pm->price_in);
            llmr_cb_printf(&b, " / ");
            llmr_cb_num(&b, pm->price_out);
            llmr_cb_printf(&b, " -> ");
            llmr_cb_num(&b, m->price_in);
            llmr_cb_printf(&b, " / ");
            llmr_cb_num(&b, m->price_out);
            llmr_cb_printf(&b, " per 1M input / output tokens\n");
            changes++;
        }

        if (pm->intelligence > 0
            && fabs(pm->intelligence - m->intelligence) >= 0.05)
        {
            llmr_cb_printf(&b, "- intelligence of `%s`: ", m->name);
            llmr_cb_num(&b, pm->intelligence);
            llmr_cb_printf(&b, " -> ");
            llmr_cb_num(&b, m->intelligence);
            llmr_cb_printf(&b, "\n");
            changes++;
        }

        if (strcmp(pm->upstream, m->upstream) != 0) {
            llmr_cb_printf(&b, "- upstream of `%s`: %s -> %s\n", m->name,
                           pm->upstream, m->upstream);
            changes++;
        }
    }

    for (i = 0; prev && i < prev->n; i++) {
        pm = &prev->models[i];

        for (j = 0; j < n; j++) {
            if (strcmp(cal->models[idx[j]].name, pm->name) == 0) {
                break;
            }
        }

        if (j < n) {
            continue;
        }

        llmr_cb_printf(&b, "- removed `%s` (was ", pm->name);
        llmr_cb_tiers(&b, pm->tier_lo, pm->tier_hi);
        llmr_cb_printf(&b, ")");

        for (j = 0; j < cal->n; j++) {
            m = &cal->models[j];

            if (strcmp(m->name, pm->name) == 0) {
                llmr_cb_printf(&b, ": %s",
                               m->ignored ? m->ignored
                               : m->dropped ? m->dropped : "not selected");
                break;
            }
        }

        if (j == cal->n) {
            for (j = 0; j < cal->nskipped; j++) {
                if (strcmp(cal->skipped[j].name, pm->name) == 0) {
                    break;
                }
            }

            llmr_cb_printf(&b, ": %s",
                           j < cal->nskipped ? cal->skipped[j].reason
                                             : "no longer in the data");
        }

        llmr_cb_printf(&b, "\n");
        changes++;
    }

    if (prev && changes == 0) {
        llmr_cb_printf(&b, "- no changes\n");
    }

    llmr_cb_printf(&b, "\n");

    free(idx);

    return llmr_cb_done(&b);
}


/* the terminal report -------------------------------------------------- */


static void
llmr_cal_plot(llmr_cb_t *b, const llmr_cal_t *cal, const unsigned *all,
    unsigned n)
{
    int                      x, y;
    char                     grid[LLMR_PLOT_H][LLMR_PLOT_W + 1];
    double                   lx0, lx1, y0, y1, lx;
    unsigned                 i;
    const llmr_cal_model_t  *m;

    if (n == 0) {
        return;
    }

    lx0 = lx1 = log10(cal->models[all[0]].price);
    y0 = y1 = cal->models[all[0]].intelligence;

    for (i = 0; i < n; i++) {
        m = &cal->models[all[i]];
        lx = log10(m->price);

        lx0 = lx < lx0 ? lx : lx0;
        lx1 = lx > lx1 ? lx : lx1;
        y0 = m->intelligence < y0 ? m->intelligence : y0;
        y1 = m->intelligence > y1 ? m->intelligence : y1;
    }

    if (lx1 - lx0 < 1e-9) {
        lx1 = lx0 + 1;
    }

    if (y1 - y0 < 1e-9) {
        y1 = y0 + 1;
    }

    memset(grid, ' ', sizeof(grid));

    for (i = 0; i < n; i++) {
        m = &cal->models[all[i]];

        x = (int) ((log10(m->price) - lx0) / (lx1 - lx0) * (LLMR_PLOT_W - 1)
                   + 0.5);
        y = (int) ((m->intelligence - y0) / (y1 - y0) * (LLMR_PLOT_H - 1)
                   + 0.5);
        y = LLMR_PLOT_H - 1 - y;

        if (grid[y][x] != '*') {
            grid[y][x] = m->frontier ? '*' : 'o';
        }
    }

    llmr_cb_printf(b, "\nintelligence (y) against blended USD/1M tokens "
                   "(x, log scale); * frontier, o other\n\n");

    for (y = 0; y < LLMR_PLOT_H; y++) {
        grid[y][LLMR_PLOT_W] = '\0';

        if (y == 0 || y == LLMR_PLOT_H - 1) {
            llmr_cb_printf(b, "%7.1f |%s\n", y == 0 ? y1 : y0, grid[y]);

        } else {
            llmr_cb_printf(b, "        |%s\n", grid[y]);
        }
    }

    llmr_cb_printf(b, "        +");

    for (x = 0; x < LLMR_PLOT_W; x++) {
        llmr_cb_add(b, "-", 1);
    }

    llmr_cb_printf(b, "\n         %-10.4g%*s%10.4g\n", pow(10, lx0),
                   LLMR_PLOT_W - 20, "", pow(10, lx1));
}


/* --explore: every usable model, the scatter plot and the frontier */

static void
llmr_cal_explore_txt(llmr_cb_t *b, const llmr_cal_t *cal,
    const unsigned *all, unsigned na)
{
    unsigned                 i, k;
    const llmr_cal_model_t  *m;

    llmr_cb_printf(b, "\n%-32s %-12s %9s %6s %6s %6s %8s %7s %2s %s\n",
                   "model", "provider", "USD/1M", "intel", "code",
                   "math", "tok/s", "ttft_s", "F", "tiers");

    for (i = 0; i < na; i++) {
        m = &cal->models[all[i]];

        llmr_cb_printf(b, "%-32.32s %-12.12s %9.3f %6.1f ", m->name,
                       m->provider, m->price, m->intelligence);

        if (m->coding < 0) {
            llmr_cb_printf(b, "%6s ", "-");

        } else {
            llmr_cb_printf(b, "%6.1f ", m->coding);
        }

        if (m->math < 0) {
            llmr_cb_printf(b, "%6s ", "-");

        } else {
            llmr_cb_printf(b, "%6.1f ", m->math);
        }

        if (m->speed_tps < 0) {
            llmr_cb_printf(b, "%8s ", "-");

        } else {
            llmr_cb_printf(b, "%8.1f ", m->speed_tps);
        }

        if (m->ttft_s < 0) {
            llmr_cb_printf(b, "%7s ", "-");

        } else {
            llmr_cb_printf(b, "%7.2f ", m->ttft_s);
        }

        llmr_cb_printf(b, "%2s ", m->frontier ? "*" : "");
        llmr_cb_tiers(b, m->tier_lo, m->tier_hi);
        llmr_cb_printf(b, "%s\n", m->selected == 1 ? "" : " (not "
                       "written)");
    }

    llmr_cal_plot(b, cal, all, na);

    llmr_cb_printf(b, "\nfrontier, cheapest first:");

    for (i = 0, k = 0; i < na; i++) {
        m = &cal->models[all[i]];

        if (m->frontier) {
            llmr_cb_printf(b, "%s %s ($", k++ ? "," : "", m->name);
            llmr_cb_num(b, m->price);
            llmr_cb_printf(b, ", ");
            llmr_cb_num(b, m->intelligence);
            llmr_cb_printf(b, ")");
        }
    }

    llmr_cb_printf(b, "\n");
}


/* each tier's thresholds, in columns */

static void
llmr_cal_thresholds_txt(llmr_cb_t *b, const llmr_cal_t *cal)
{
    int                     t;
    size_t                  i;
    const llmr_cal_band_t  *band;

    llmr_cb_printf(b, "\nthresholds (%s)\n  %-9s %-10s %-*s %-*s %s\n",
                   cal->manual ? "manual"
                               : "percentiles, linear interpolation (R-7)",
                   "tier", "band", LLMR_REPORT_COST_W, "max USD/1M blended",
                   LLMR_REPORT_INTEL_W, "min intelligence", "min math");

    for (t = 0; t < LLMR_TIER_N; t++) {
        band = &cal->bands[t];

        llmr_cb_printf(b, "  %-9s %-10s ", llmr_tier_name(t),
                       llmr_cal_band_names[t]);

        i = b->len;

        if (band->max_cost < 0) {
            llmr_cb_printf(b, "none");

        } else {
            llmr_cal_threshold(b, band->max_cost, band->p_cost,
                               band->manual, "");
        }

        llmr_cb_printf(b, "%*s",
                       (int) (LLMR_REPORT_COST_W + 1 - (b->len - i)), "");
        i = b->len;
        llmr_cal_threshold(b, band->min_intelligence, band->p_intelligence,
                           band->manual, "");
        llmr_cb_printf(b, "%*s",
                       (int) (LLMR_REPORT_INTEL_W + 1 - (b->len - i)), "");
        llmr_cal_threshold(b, band->min_math, band->p_math, band->manual,
                           "");
        llmr_cb_printf(b, "\n");
    }

    if (cal->math_dropped) {
        llmr_cb_printf(b, "  (no model has a math index: complex has no "
                       "math floor)\n");
    }
}


/* each tier's models in each profile's order */

static void
llmr_cal_tiers_txt(llmr_cb_t *b, const llmr_cal_t *cal, const unsigned *idx,
    unsigned n, unsigned *ord, int explore)
{
    int       t, p;
    unsigned  j, k;

    llmr_cb_printf(b, "\ntiers: the models to write in each profile's "
                   "order (the router takes the\nfirst that has what the "
                   "request needs)\n");

    for (t = 0; t < LLMR_TIER_N; t++) {
        llmr_cb_printf(b, "  %s\n", llmr_tier_name(t));

        for (p = 0; p < LLMR_PROFILE_N; p++) {
            k = llmr_cal_profile_order(cal, idx, n, t, p, ord);

            llmr_cb_printf(b, "    %-17s", llmr_profile_name(p));

            if (k == 0) {
                llmr_cb_printf(b, " (none: the next tier up serves it)");
            }

            for (j = 0; j < k && (explore || j < LLMR_REPORT_SHOWN); j++) {
                llmr_cb_printf(b, "%s %s", j ? "," : "",
                               cal->models[ord[j]].name);
            }

            if (j < k) {
                llmr_cb_printf(b, ", ... (%u more)", k - j);
            }

            llmr_cb_printf(b, "\n");
        }
    }
}


/* what was skipped or not written, and overrides that match nothing */

static void
llmr_cal_left_out_txt(llmr_cb_t *b, const llmr_cal_t *cal)
{
    unsigned                 i, k;
    const llmr_cal_model_t  *m;

    if (cal->nskipped) {
        llmr_cb_printf(b, "\nskipped (missing or invalid data):\n");

        for (i = 0; i < cal->nskipped; i++) {
            llmr_cb_printf(b, "  %s: %s\n", cal->skipped[i].name,
                           cal->skipped[i].reason);
        }
    }

    for (i = 0, k = 0; i < cal->n; i++) {
        m = &cal->models[i];

        if (m->selected == 1
            || (m->ignored && strcmp(m->ignored,
                                     "provider not in the allowed list")
                              == 0))
        {
            continue;
        }

        if (k++ == 0) {
            llmr_cb_printf(b, "\nnot written:\n");
        }

        llmr_cb_printf(b, "  %s: %s\n", m->name,
                       m->ignored ? m->ignored
                       : m->dropped ? m->dropped : "not selected");
    }

    for (i = 0; i < cal->nov; i++) {
        if (!cal->ov[i].used) {
            llmr_cb_printf(b, "\nwarning: the override for \"%s\" matches "
                           "no model\n", cal->ov[i].name);
        }
    }
}


char *
llmr_cal_report(const llmr_cal_t *cal, int explore)
{
    unsigned   n, na, *idx, *all, *ord;
    llmr_cb_t  b;

    memset(&b, 0, sizeof(llmr_cb_t));

    idx = llmr_cal_sorted(cal, 1, &n);
    all = llmr_cal_sorted(cal, 0, &na);
    ord = malloc((cal->n + 1) * sizeof(unsigned));

    if (idx == NULL || all == NULL || ord == NULL) {
        free(idx);
        free(all);
        free(ord);
        return NULL;
    }

    llmr_cb_printf(&b, "source:    %s (%s)\n"
                   "entries:   %u read, %u usable, %u skipped, %u left out "
                   "by the provider list, %u excluded\n"
                   "models:    %u on the frontier, %u placed in a tier, "
                   "%u to write\n",
                   cal->source, cal->when, cal->read,
                   cal->n - cal->filtered - cal->excluded, cal->nskipped,
                   cal->filtered, cal->excluded, cal->nfrontier,
                   cal->nplaced, n);

    if (explore) {
        llmr_cal_explore_txt(&b, cal, all, na);
    }

    llmr_cal_thresholds_txt(&b, cal);
    llmr_cal_tiers_txt(&b, cal, idx, n, ord, explore);
    llmr_cal_left_out_txt(&b, cal);

    free(idx);
    free(all);
    free(ord);

    return llmr_cb_done(&b);
}
