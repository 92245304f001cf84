
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <llmr/suggest.h>


/*
 * Cost-optimisation suggestions from a basis (llmr/suggest.h): four
 * readings of the counters, each held back until its evidence reaches
 * the minimum named in the header.
 */


typedef struct {
    char                       *buf;
    size_t                      size;
    size_t                      len;    /* what the text takes in all */
} llmr_sg_out_t;


static double llmr_sg_per_day(const llmr_suggest_basis_t *b, double count);
static double llmr_sg_per_request(const llmr_suggest_basis_t *b, int t);
static double llmr_sg_model_cost(const llmr_suggest_basis_t *b, int m,
    int t);
static int llmr_sg_main_model(const llmr_suggest_basis_t *b, int t);
static void llmr_sg_cheaper_tier(const llmr_suggest_basis_t *b,
    llmr_suggestion_t *out, unsigned max, unsigned *n);
static void llmr_sg_rare_model(const llmr_suggest_basis_t *b,
    llmr_suggestion_t *out, unsigned max, unsigned *n);
static void llmr_sg_escalation(const llmr_suggest_basis_t *b,
    llmr_suggestion_t *out, unsigned max, unsigned *n);
static void llmr_sg_budget(const llmr_suggest_basis_t *b,
    llmr_suggestion_t *out, unsigned max, unsigned *n);
static llmr_suggestion_t *llmr_sg_add(llmr_suggestion_t *out, unsigned max,
    unsigned *n, int kind);
static void llmr_sg_evidence(llmr_suggestion_t *s, const char *name,
    double value);
static void llmr_sg_text(llmr_suggestion_t *s, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static void llmr_sg_duration(char *buf, size_t size, double s);
static void llmr_sg_printf(llmr_sg_out_t *o, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static void llmr_sg_string(llmr_sg_out_t *o, const char *s);


static const char  *llmr_suggest_kinds[] = {
    "cheaper_tier", "rare_model", "escalation", "budget"
};


const char *
llmr_suggest_kind_name(int kind)
{
    if (kind < 0 || kind >= LLMR_SUGGEST_KIND_N) {
        return "unknown";
    }

    return llmr_suggest_kinds[kind];
}


unsigned
llmr_suggest(const llmr_suggest_basis_t *b, llmr_suggestion_t *out,
    unsigned max)
{
    unsigned           n, i, j;
    llmr_suggestion_t  s;

    n = 0;

    llmr_sg_cheaper_tier(b, out, max, &n);
    llmr_sg_escalation(b, out, max, &n);
    llmr_sg_budget(b, out, max, &n);
    llmr_sg_rare_model(b, out, max, &n);

    /* the largest saving first; stable, so kinds keep their order */

    for (i = 1; i < n; i++) {
        s = out[i];

        for (j = i; j > 0; j--) {
            if (!(s.has_saving
                  && (!out[j - 1].has_saving || out[j - 1].saving < s.saving)))
            {
                break;
            }

            out[j] = out[j - 1];
        }

        out[j] = s;
    }

    return n;
}


/*
 * A count kept since the start, per day at the current rate: its share
 * of all requests times the forecast's request rate.
 */

static double
llmr_sg_per_day(const llmr_suggest_basis_t *b, double count)
{
    if (b->requests == 0 || !(b->window > 0)) {
        return 0;
    }

    return count / (double) b->requests * b->window_requests / b->window
           * 86400;
}


/* what a request served at tier t cost on average */

static double
llmr_sg_per_request(const llmr_suggest_basis_t *b, int t)
{
    const llmr_suggest_tier_t  *tr;

    tr = &b->tiers[t];

    return tr->requests ? tr->cost / (double) tr->requests : 0;
}


/* what model m would have charged for the average request of tier t */

static double
llmr_sg_model_cost(const llmr_suggest_basis_t *b, int m, int t)
{
    double                       in, out;
    const llmr_suggest_tier_t   *tr;
    const llmr_suggest_model_t  *md;

    tr = &b->tiers[t];
    md = &b->models[m];

    if (tr->requests == 0) {
        return 0;
    }

    in = (double) tr->input_tokens / (double) tr->requests;
    out = (double) tr->output_tokens / (double) tr->requests;

    return (in * md->price_in + out * md->price_out) / 1e6;
}


/*
 * The model that serves tier t: the one most of the recent decisions at
 * t went to, else the cheapest configured model the tier may use (the
 * cost-efficient choice).  -1: none.
 */

static int
llmr_sg_main_model(const llmr_suggest_basis_t *b, int t)
{
    int                          best;
    double                       cost, best_cost;
    unsigned                     i;
    uint64_t                     most;
    const llmr_suggest_model_t  *m;

    best = -1;
    most = 0;

    for (i = 0; i < b->nmodels; i++) {
        if (b->models[i].recent[t] > most) {
            most = b->models[i].recent[t];
            best = (int) i;
        }
    }

    if (best >= 0) {
        return best;
    }

    best_cost = 0;

    for (i = 0; i < b->nmodels; i++) {
        m = &b->models[i];

        if (!m->configured || t < m->tier_lo || t > m->tier_hi) {
            continue;
        }

        cost = m->price_in + 3 * m->price_out;

        if (best < 0 || cost < best_cost) {
            best = (int) i;
            best_cost = cost;
        }
    }

    return best;
}


/*
 * A class of prompts (the classifier's tier) mostly served at one tier,
 * and reported as good when served at a cheaper tier: route it there.
 * Its traffic at the tier it is mostly served at is the tier's, in the
 * class's share of the tier's samples.
 */

static void
llmr_sg_cheaper_tier(const llmr_suggest_basis_t *b, llmr_suggestion_t *out,
    unsigned max, unsigned *n)
{
    int                 c, t, used, cheap, x, y, best_t, best_x, best_y;
    double              w, q_used, q, share, all, per, day, best_day;
    llmr_suggestion_t  *s;

    for (c = 0; c < LLMR_TIER_N; c++) {

        used = 0;

        for (t = 1; t < LLMR_TIER_N; t++) {
            if (b->weight[c][t] > b->weight[c][used]) {
                used = t;
            }
        }

        w = b->weight[c][used];

        if (w < LLMR_SUGGEST_MIN_SAMPLES || b->tiers[used].requests == 0) {
            continue;
        }

        q_used = b->quality[c][used] / w;

        all = 0;

        for (t = 0; t < LLMR_TIER_N; t++) {
            all += b->weight[t][used];
        }

        share = w / all;
        y = llmr_sg_main_model(b, used);

        best_t = -1;
        best_x = -1;
        best_y = -1;
        best_day = 0;

        for (cheap = 0; cheap < used; cheap++) {
            if (b->weight[c][cheap] < LLMR_SUGGEST_MIN_SAMPLES) {
                continue;
            }

            q = b->quality[c][cheap] / b->weight[c][cheap];

            if (q < q_used - LLMR_SUGGEST_QUALITY_TOLERANCE) {
                continue;
            }

            x = llmr_sg_main_model(b, cheap);

            if (x < 0 || y < 0 || x == y || !b->models[x].configured) {
                continue;
            }

            per = llmr_sg_per_request(b, used) - llmr_sg_model_cost(b, x, used);
            day = llmr_sg_per_day(b, (double) b->tiers[used].requests)
                  * share * per;

            if (day > best_day) {
                best_day = day;
                best_t = cheap;
                best_x = x;
                best_y = y;
            }
        }

        if (best_t < 0) {
            continue;
        }

        s = llmr_sg_add(out, max, n, LLMR_SUGGEST_CHEAPER_TIER);
        if (s == NULL) {
            return;
        }

        q = b->quality[c][best_t] / b->weight[c][best_t];

        s->has_saving = 1;
        s->saving = best_day;
        s->has_quality = 1;
        s->quality = q - q_used;

        llmr_sg_text(s, "route %s prompts to %s instead of %s: ~$%.2f/day, "
                     "est. %+.2f quality (served at %s: %.2f over %.0f "
                     "samples; at %s: %.2f over %.0f)",
                     llmr_tier_name(c), b->models[best_x].name,
                     b->models[best_y].name, best_day, s->quality,
                     llmr_tier_name(used), q_used, w, llmr_tier_name(best_t),
                     q, b->weight[c][best_t]);

        llmr_sg_evidence(s, "samples_used", w);
        llmr_sg_evidence(s, "samples_cheaper", b->weight[c][best_t]);
        llmr_sg_evidence(s, "tier_requests",
                         (double) b->tiers[used].requests);
        llmr_sg_evidence(s, "recent_decisions",
                         (double) b->models[best_y].recent[used]);
    }
}


/* a configured model that serves almost nothing still holds a slot */

static void
llmr_sg_rare_model(const llmr_suggest_basis_t *b, llmr_suggestion_t *out,
    unsigned max, unsigned *n)
{
    double                       share;
    unsigned                     i;
    llmr_suggestion_t           *s;
    const llmr_suggest_model_t  *m;

    if (b->requests < LLMR_SUGGEST_MIN_REQUESTS) {
        return;
    }

    for (i = 0; i < b->nmodels; i++) {
        m = &b->models[i];
        share = (double) m->requests / (double) b->requests;

        if (!m->configured || share >= LLMR_SUGGEST_RARE_SHARE) {
            continue;
        }

        s = llmr_sg_add(out, max, n, LLMR_SUGGEST_RARE_MODEL);
        if (s == NULL) {
            return;
        }

        llmr_sg_text(s, "model %s served %llu of %llu requests (%.1f%%) but "
                     "holds a slot (a registry entry, health checks, "
                     "counters): remove it, or keep it as a deliberate "
                     "fallback", m->name, (unsigned long long) m->requests,
                     (unsigned long long) b->requests, 100 * share);

        llmr_sg_evidence(s, "model_requests", (double) m->requests);
        llmr_sg_evidence(s, "requests", (double) b->requests);
    }
}


/*
 * Escalations serve a class one tier up; when the feedback on classes
 * served one tier up is no better than at their own tier, the
 * escalations buy nothing.  Pooled over the classes with samples on both
 * sides, weighted by the samples one tier up.
 */

static void
llmr_sg_escalation(const llmr_suggest_basis_t *b, llmr_suggestion_t *out,
    unsigned max, unsigned *n)
{
    int                 c;
    double              up, base, gain, diff, q_up, q_base, day;
    llmr_suggestion_t  *s;

    if (b->escalations < LLMR_SUGGEST_MIN_ESCALATIONS) {
        return;
    }

    up = 0;
    base = 0;
    gain = 0;
    diff = 0;
    q_up = 0;
    q_base = 0;

    for (c = 0; c + 1 < LLMR_TIER_N; c++) {
        if (!(b->weight[c][c + 1] > 0 && b->weight[c][c] > 0)) {
            continue;
        }

        up += b->weight[c][c + 1];
        base += b->weight[c][c];
        q_up += b->quality[c][c + 1];
        q_base += b->quality[c][c];
        gain += b->weight[c][c + 1]
                * (b->quality[c][c + 1] / b->weight[c][c + 1]
                   - b->quality[c][c] / b->weight[c][c]);
        diff += b->weight[c][c + 1]
                * (llmr_sg_per_request(b, c + 1) - llmr_sg_per_request(b, c));
    }

    if (up < LLMR_SUGGEST_MIN_SAMPLES || base < LLMR_SUGGEST_MIN_SAMPLES) {
        return;
    }

    gain /= up;
    diff /= up;

    if (gain >= LLMR_SUGGEST_QUALITY_TOLERANCE) {
        return;
    }

    s = llmr_sg_add(out, max, n, LLMR_SUGGEST_ESCALATION);
    if (s == NULL) {
        return;
    }

    day = llmr_sg_per_day(b, (double) b->escalations) * diff;

    s->has_saving = 1;
    s->saving = day > 0 ? day : 0;
    s->has_quality = 1;
    s->quality = -gain;

    llmr_sg_text(s, "escalations do not change the answer (quality %.2f one "
                 "tier up over %.0f samples, %.2f at the class's tier over "
                 "%.0f): turn llm_route_escalate off or lower its threshold: "
                 "~$%.2f/day, est. %+.2f quality", q_up / up, up,
                 q_base / base, base, s->saving, s->quality);

    llmr_sg_evidence(s, "escalations", (double) b->escalations);
    llmr_sg_evidence(s, "samples_up", up);
    llmr_sg_evidence(s, "samples_base", base);
}


/* a budget spending at a rate that runs it out before its period ends */

static void
llmr_sg_budget(const llmr_suggest_basis_t *b, llmr_suggestion_t *out,
    unsigned max, unsigned *n)
{
    char                          in[32], early[32];
    double                        rate, left, remain, until, least;
    unsigned                      i;
    llmr_suggestion_t            *s;
    const llmr_suggest_budget_t  *bg;

    for (i = 0; i < b->nbudgets; i++) {
        bg = &b->budgets[i];

        least = (double) bg->period * LLMR_SUGGEST_MIN_BUDGET_PCT / 100;

        if (least > LLMR_SUGGEST_MIN_BUDGET_SECONDS) {
            least = LLMR_SUGGEST_MIN_BUDGET_SECONDS;
        }

        if (bg->period <= 0 || bg->elapsed <= 0
            || (double) bg->elapsed < least || !(bg->spent > 0))
        {
            continue;
        }

        rate = bg->spent / (double) bg->elapsed;
        left = bg->limit - bg->spent;
        remain = (double) (bg->period - bg->elapsed);
        until = left > 0 ? left / rate : 0;

        if (remain <= 0 || until >= remain) {
            continue;
        }

        s = llmr_sg_add(out, max, n, LLMR_SUGGEST_BUDGET);
        if (s == NULL) {
            return;
        }

        /* the cut that makes what is left last the period */

        s->has_saving = 1;
        s->saving = (rate - (left > 0 ? left : 0) / remain) * 86400;

        llmr_sg_duration(in, sizeof(in), until);
        llmr_sg_duration(early, sizeof(early), remain - until);

        llmr_sg_text(s, "budget %s runs out in ~%s at the current rate "
                     "($%.2f/day), %s before its period ends: cut ~$%.2f/day "
                     "(llm_budget mode=downgrade, cheaper tiers) or raise its "
                     "limit to ~$%.2f", bg->name, in, rate * 86400, early,
                     s->saving, rate * (double) bg->period);

        llmr_sg_evidence(s, "spent_usd", bg->spent);
        llmr_sg_evidence(s, "limit_usd", bg->limit);
        llmr_sg_evidence(s, "elapsed_s", (double) bg->elapsed);
        llmr_sg_evidence(s, "period_s", (double) bg->period);
    }
}


static llmr_suggestion_t *
llmr_sg_add(llmr_suggestion_t *out, unsigned max, unsigned *n, int kind)
{
    llmr_suggestion_t  *s;

    if (*n >= max) {
        return NULL;
    }

    s = &out[(*n)++];
    memset(s, 0, sizeof(llmr_suggestion_t));
    s->kind = kind;

    return s;
}


static void
llmr_sg_evidence(llmr_suggestion_t *s, const char *name, double value)
{
    if (s->nevidence < LLMR_SUGGEST_EVIDENCE) {
        s->evidence[s->nevidence].name = name;
        s->evidence[s->nevidence++].value = value;
    }
}


static void
llmr_sg_text(llmr_suggestion_t *s, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    (void) vsnprintf(s->text, sizeof(s->text), fmt, args);
    va_end(args);
}


static void
llmr_sg_duration(char *buf, size_t size, double s)
{
    if (s < 120) {
        (void) snprintf(buf, size, "%.0f s", s);

    } else if (s < 7200) {
        (void) snprintf(buf, size, "%.0f min", s / 60);

    } else if (s < 172800) {
        (void) snprintf(buf, size, "%.1f h", s / 3600);

    } else {
        (void) snprintf(buf, size, "%.1f days", s / 86400);
    }
}


/* JSON ----------------------------------------------------------------- */


size_t
llmr_suggest_basis_json(const llmr_suggest_basis_t *b, char *buf,
    size_t size)
{
    int                          c, t, k;
    unsigned                     i;
    llmr_sg_out_t                o;
    const llmr_suggest_tier_t   *tr;
    const llmr_suggest_model_t  *m;
    const llmr_suggest_budget_t *bg;

    o.buf = buf;
    o.size = size;
    o.len = 0;

    if (size) {
        buf[0] = '\0';
    }

    llmr_sg_printf(&o, "{\"window_s\":%.17g,\"window_requests\":%.17g,"
                   "\"requests\":%llu,\"escalations\":%llu,\"tiers\":{",
                   b->window, b->window_requests,
                   (unsigned long long) b->requests,
                   (unsigned long long) b->escalations);

    for (t = 0; t < LLMR_TIER_N; t++) {
        tr = &b->tiers[t];

        llmr_sg_printf(&o, "%s\"%s\":{\"requests\":%llu,"
                       "\"input_tokens\":%llu,\"output_tokens\":%llu,"
                       "\"cost_usd\":%.17g}", t ? "," : "",
                       llmr_tier_name(t), (unsigned long long) tr->requests,
                       (unsigned long long) tr->input_tokens,
                       (unsigned long long) tr->output_tokens, tr->cost);
    }

    /* class -> served tier -> [samples, quality sum], where there are */

    llmr_sg_printf(&o, "},\"feedback\":{");

    for (c = 0; c < LLMR_TIER_N; c++) {
        llmr_sg_printf(&o, "%s\"%s\":{", c ? "," : "", llmr_tier_name(c));

        for (t = 0, k = 0; t < LLMR_TIER_N; t++) {
            if (b->weight[c][t] > 0) {
                llmr_sg_printf(&o, "%s\"%s\":[%.17g,%.17g]", k++ ? "," : "",
                               llmr_tier_name(t), b->weight[c][t],
                               b->quality[c][t]);
            }
        }

        llmr_sg_printf(&o, "}");
    }

    llmr_sg_printf(&o, "},\"models\":[");

    for (i = 0; i < b->nmodels; i++) {
        m = &b->models[i];

        llmr_sg_printf(&o, "%s{\"name\":", i ? "," : "");
        llmr_sg_string(&o, m->name);

        if (m->configured) {
            llmr_sg_printf(&o, ",\"tiers\":[\"%s\",\"%s\"],"
                           "\"input\":%.17g,\"output\":%.17g",
                           llmr_tier_name(m->tier_lo),
                           llmr_tier_name(m->tier_hi), m->price_in,
                           m->price_out);
        }

        llmr_sg_printf(&o, ",\"requests\":%llu,\"cost_usd\":%.17g,"
                       "\"recent\":{", (unsigned long long) m->requests,
                       m->cost);

        for (t = 0, k = 0; t < LLMR_TIER_N; t++) {
            if (m->recent[t]) {
                llmr_sg_printf(&o, "%s\"%s\":%llu", k++ ? "," : "",
                               llmr_tier_name(t),
                               (unsigned long long) m->recent[t]);
            }
        }

        llmr_sg_printf(&o, "}}");
    }

    llmr_sg_printf(&o, "],\"budgets\":[");

    for (i = 0; i < b->nbudgets; i++) {
        bg = &b->budgets[i];

        llmr_sg_printf(&o, "%s{\"name\":", i ? "," : "");
        llmr_sg_string(&o, bg->name);
        llmr_sg_printf(&o, ",\"limit_usd\":%.17g,\"spent_usd\":%.17g,"
                       "\"period_s\":%lld,\"elapsed_s\":%lld}",
                       bg->limit, bg->spent, (long long) bg->period,
                       (long long) bg->elapsed);
    }

    llmr_sg_printf(&o, "]}");

    return o.len;
}


size_t
llmr_suggest_json(const llmr_suggestion_t *s, unsigned n, char *buf,
    size_t size)
{
    unsigned       i, k;
    llmr_sg_out_t  o;

    o.buf = buf;
    o.size = size;
    o.len = 0;

    if (size) {
        buf[0] = '\0';
    }

    llmr_sg_printf(&o, "[");

    for (i = 0; i < n; i++) {
        llmr_sg_printf(&o, "%s{\"kind\":\"%s\",\"text\":", i ? "," : "",
                       llmr_suggest_kind_name(s[i].kind));
        llmr_sg_string(&o, s[i].text);

        if (s[i].has_saving) {
            llmr_sg_printf(&o, ",\"saving_usd_day\":%.6f", s[i].saving);

        } else {
            llmr_sg_printf(&o, ",\"saving_usd_day\":null");
        }

        if (s[i].has_quality) {
            llmr_sg_printf(&o, ",\"quality_delta\":%.4f", s[i].quality);

        } else {
            llmr_sg_printf(&o, ",\"quality_delta\":null");
        }

        llmr_sg_printf(&o, ",\"evidence\":{");

        for (k = 0; k < s[i].nevidence; k++) {
            llmr_sg_printf(&o, "%s\"%s\":%.10g", k ? "," : "",
                           s[i].evidence[k].name, s[i].evidence[k].value);
        }

        llmr_sg_printf(&o, "}}");
    }

    llmr_sg_printf(&o, "]");

    return o.len;
}


static void
llmr_sg_printf(llmr_sg_out_t *o, const char *fmt, ...)
{
    int       len;
    size_t    room;
    va_list   args;

    room = (o->len < o->size) ? o->size - o->len : 0;

    va_start(args, fmt);
    len = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, args);
    va_end(args);

    if (len > 0) {
        o->len += (size_t) len;
    }
}


/*
 * A JSON string.  Names may come from the fleet's Redis, so a byte that
 * is not part of valid UTF-8 is written as '?': the JSON stays valid.
 */

static void
llmr_sg_string(llmr_sg_out_t *o, const char *s)
{
    char           esc[8];
    size_t         i, len, k, need;
    unsigned char  c;

    llmr_sg_printf(o, "\"");

    len = strlen(s);

    for (i = 0; i < len; i += k) {
        c = (unsigned char) s[i];
        k = 1;

        if (c >= 0x80) {
            need = (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;

            for (k = 1; k < need && i + k < len; k++) {
                if (((unsigned char) s[i + k] & 0xc0) != 0x80) {
                    break;
                }
            }

            if (need == 0 || k < need) {
                llmr_sg_printf(o, "?");
                k = 1;
                continue;
            }

            llmr_sg_printf(o, "%.*s", (int) k, s + i);
            continue;
        }

        need = llmr_json_escape(esc, sizeof(esc), s + i, 1);
        llmr_sg_printf(o, "%.*s", (int) need, esc);
    }

    llmr_sg_printf(o, "\"");
}
