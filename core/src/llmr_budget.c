
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <string.h>

#include <llmr/budget.h>


static llmr_budget_entry_t *llmr_budget_find(llmr_budget_entry_t *tab,
    size_t n, uint64_t id, int64_t now, int *found);
static void llmr_budget_fresh(llmr_budget_entry_t *e, uint64_t id,
    uint64_t keyhash, const llmr_budget_rule_t *rule, const char *name,
    size_t name_len, int64_t now);
static void llmr_budget_period(llmr_budget_entry_t *e,
    const llmr_budget_rule_t *rule, int64_t now);


llmr_budget_entry_t *
llmr_budget_entry(llmr_budget_entry_t *tab, size_t n, uint64_t id,
    uint64_t keyhash, const llmr_budget_rule_t *rule, const char *name,
    size_t name_len, int64_t now)
{
    int                   found;
    llmr_budget_entry_t  *e;

    if (n == 0 || rule->period <= 0) {
        return NULL;
    }

    if (id == 0) {
        id = 1;
    }

    e = llmr_budget_find(tab, n, id, now, &found);

    if (e == NULL) {
        return NULL;
    }

    if (found) {
        llmr_budget_period(e, rule, now);

    } else {
        llmr_budget_fresh(e, id, keyhash, rule, name, name_len, now);
    }

    return e;
}


int
llmr_budget_peek(const llmr_budget_entry_t *tab, size_t n, uint64_t id,
    uint64_t keyhash, const llmr_budget_rule_t *rule, int64_t now,
    llmr_budget_entry_t *copy)
{
    int                   found;
    llmr_budget_entry_t  *e;

    if (n == 0 || rule->period <= 0) {
        return LLMR_DECLINED;
    }

    if (id == 0) {
        id = 1;
    }

    /* found without writing: the table is only read */

    e = llmr_budget_find((llmr_budget_entry_t *) tab, n, id, now, &found);

    if (e == NULL) {
        return LLMR_DECLINED;
    }

    *copy = *e;

    if (found) {
        llmr_budget_period(copy, rule, now);

    } else {
        llmr_budget_fresh(copy, id, keyhash, rule, NULL, 0, now);
    }

    return LLMR_OK;
}


/*
 * The entry of id, *found set; else the slot it would take: a free one,
 * else the least recently used with nothing spent or reserved in its
 * period; NULL when there is none.
 */

static llmr_budget_entry_t *
llmr_budget_find(llmr_budget_entry_t *tab, size_t n, uint64_t id,
    int64_t now, int *found)
{
    size_t                i, k;
    llmr_budget_entry_t  *e, *v;

    *found = 0;
    v = NULL;

    for (k = 0; k < n; k++) {
        i = (size_t) ((id + k) % n);
        e = &tab[i];

        if (e->id == id) {
            *found = 1;
            return e;
        }

        if (e->id == 0) {
            return e;
        }

        /* only a key with nothing spent or reserved may give way */

        if (e->reserved == 0
            && (e->spent == 0 || e->period_start + e->period <= now)
            && (v == NULL || e->last_used < v->last_used))
        {
            v = e;
        }
    }

    return v;
}


static void
llmr_budget_fresh(llmr_budget_entry_t *e, uint64_t id, uint64_t keyhash,
    const llmr_budget_rule_t *rule, const char *name, size_t name_len,
    int64_t now)
{
    memset(e, 0, sizeof(llmr_budget_entry_t));
    e->id = id;
    e->keyhash = keyhash;
    e->limit = rule->limit;
    e->period = rule->period;
    e->period_start = now - now % rule->period;
    e->last_used = now;
    e->name_len = name_len < LLMR_BUDGET_NAME ? name_len : LLMR_BUDGET_NAME;

    if (e->name_len) {
        memcpy(e->name, name, e->name_len);
    }
}


static void
llmr_budget_period(llmr_budget_entry_t *e, const llmr_budget_rule_t *rule,
    int64_t now)
{
    int64_t  start;

    start = now - now % rule->period;

    if (e->period_start != start) {

        /* a new period: what was reserved in the last one settles there */

        e->period_start = start;
        e->granted = 0;
        e->spent = 0;
        e->reserved = 0;
        e->want = 0;
        e->answered = 0;
        e->fleet_granted = 0;
    }

    e->limit = rule->limit;
    e->period = rule->period;
}


int
llmr_budget_check(llmr_budget_entry_t *e, const llmr_budget_rule_t *rule,
    int64_t est, int leased, int final, int64_t now,
    llmr_budget_verdict_t *v)
{
    int64_t  limit, used, avail;

    v->retry_after = 0;
    v->downgrade = 0;
    v->kick = 0;

    if (est < 0) {
        est = 0;
    }

    limit = (!leased || !e->answered) ? (int64_t) rule->limit : e->granted;

    used = e->spent + e->reserved;
    avail = limit - used;

    if (leased
        && (!e->answered
            || avail < (int64_t) (rule->limit / LLMR_BUDGET_LEASE_SHARE / 2)))
    {
        if (!e->want) {
            e->want = 1;
            v->kick = 1;
        }
    }

    if (est > avail && (e->answered || !leased)) {
        v->retry_after = e->period_start + e->period - now;

        if (v->retry_after < 1) {
            v->retry_after = 1;
        }

        return LLMR_BUDGET_SPENT;
    }

    if (!final && rule->downgrade
        && (double) (used + est) * 100
           > (double) rule->limit * rule->downgrade_at)
    {
        v->downgrade = 1;
    }

    if (final) {
        e->reserved += est;
        e->last_used = now;
    }

    return LLMR_BUDGET_OK;
}


void
llmr_budget_settle(llmr_budget_entry_t *e, uint64_t id, int64_t period_start,
    int64_t reserved, int64_t cost)
{
    /* an entry recycled or a period over since: nothing to settle */

    if (e->id != id || e->period_start != period_start) {
        return;
    }

    e->reserved -= reserved;
    e->spent += cost;
}


void
llmr_budget_granted(llmr_budget_entry_t *e, uint64_t id,
    int64_t period_start, int64_t grant, int64_t total)
{
    if (e->id != id || e->period_start != period_start) {
        return;
    }

    e->granted += grant;
    e->fleet_granted = total;
    e->answered = 1;
    e->want = 0;
}


int64_t
llmr_budget_lease_size(const llmr_budget_entry_t *e)
{
    int64_t  size;

    size = (int64_t) (e->limit / LLMR_BUDGET_LEASE_SHARE);

    return size > 0 ? size : 1;
}
