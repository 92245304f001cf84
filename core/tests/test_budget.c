
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * Budgets: the table (periods, recycling, never forgetting spending), the
 * verdict alone and with leases, downgrade, reservations and their
 * settling, leases granted, and a random run that never spends past the
 * limit.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/budget.h>

#include "tap.h"


#define N   8
#define T0  1700000000              /* unix s, a multiple of 100 */


static llmr_budget_entry_t  tab[N];


static llmr_budget_rule_t
rule(uint64_t limit, int64_t period)
{
    llmr_budget_rule_t  r;

    r.limit = limit;
    r.period = period;
    r.downgrade = 0;
    r.downgrade_at = 80;

    return r;
}


static void
test_table(void)
{
    int                   i;
    llmr_budget_rule_t    r;
    llmr_budget_entry_t  *e, *f;

    memset(tab, 0, sizeof(tab));
    r = rule(1000000, 100);

    e = llmr_budget_entry(tab, N, 42, 0, &r, SL("daily"), T0 + 30);
    ok(e != NULL, "an entry is made");
    is_int(e->id, 42, "with its id");
    is_int(e->period_start, T0, "its period starts on a multiple");
    is_int(e->limit, 1000000, "the rule's limit");
    is_int(e->name_len, 5, "its name's length");
    is_str(e->name, "daily", "its name (the rest of the array is zeroed)");

    f = llmr_budget_entry(tab, N, 42, 0, &r, SL("daily"), T0 + 99);
    ok(f == e, "the same id finds it");

    e->spent = 500;
    e->reserved = 20;
    e->granted = 300;
    e->answered = 1;
    e->want = 1;

    f = llmr_budget_entry(tab, N, 42, 0, &r, SL("daily"), T0 + 100);
    ok(f == e, "in the next period too");
    is_int(e->period_start, T0 + 100, "moved to the new period");
    ok(e->spent == 0 && e->reserved == 0 && e->granted == 0
       && !e->answered && !e->want, "which starts from nothing");

    r.limit = 2000000;
    f = llmr_budget_entry(tab, N, 42, 0, &r, SL("daily"), T0 + 100);
    is_int(f->limit, 2000000, "a reload's new limit applies");

    e = llmr_budget_entry(tab, N, 0, 0, &r, "x", 1, T0);
    is_int(e->id, 1, "id 0 (free) becomes 1");

    /* a long name is cut */

    e = llmr_budget_entry(tab, N, 77, 0, &r,
                          SL("0123456789012345678901234567890123456789"), T0);
    is_int(e->name_len, LLMR_BUDGET_NAME, "a long name is cut");

    /* fill the table with spending keys: a new key gets nothing */

    memset(tab, 0, sizeof(tab));
    r = rule(1000000, 100);

    for (i = 0; i < N; i++) {
        e = llmr_budget_entry(tab, N, 100 + i, 100 + i, &r, "k", 1,
                              T0 + i);
        e->spent = 1;
    }

    e = llmr_budget_entry(tab, N, 999, 999, &r, "k", 1, T0 + 50);
    ok(e == NULL, "full of spending keys: a new key is refused");

    for (i = 0; i < N; i++) {
        ok(tab[i].spent == 1, "and no spending was forgotten (%d)", i);
    }

    /* one key with nothing spent gives way */

    tab[3].spent = 0;
    e = llmr_budget_entry(tab, N, 999, 999, &r, "k", 1, T0 + 50);
    ok(e == &tab[3], "the key with nothing spent gives way");
    is_int(e->id, 999, "to the new one");
    is_int(e->spent, 0, "which starts from nothing");

    /* a reservation holds a key even with nothing spent */

    memset(tab, 0, sizeof(tab));

    for (i = 0; i < N; i++) {
        e = llmr_budget_entry(tab, N, 100 + i, 0, &r, "k", 1, T0 + i);
        e->reserved = 5;
    }

    ok(llmr_budget_entry(tab, N, 999, 0, &r, "k", 1, T0 + 50) == NULL,
       "reserved keys do not give way");

    /* spending of a past period does not hold a key; the oldest goes */

    memset(tab, 0, sizeof(tab));

    for (i = 0; i < N; i++) {
        e = llmr_budget_entry(tab, N, 100 + i, 0, &r, "k", 1, T0 + i);
        e->spent = 7;
    }

    tab[5].last_used = T0 - 500;
    tab[2].last_used = T0 - 400;

    e = llmr_budget_entry(tab, N, 999, 0, &r, "k", 1, T0 + 150);
    ok(e == &tab[5], "a period over: the least recently used gives way");

    ok(llmr_budget_entry(tab, 0, 1, 0, &r, "k", 1, T0) == NULL,
       "an empty table gives nothing");

    r.period = 0;
    ok(llmr_budget_entry(tab, N, 1, 0, &r, "k", 1, T0) == NULL,
       "nor does a period of 0");
}


static void
test_alone(void)
{
    llmr_budget_rule_t     r;
    llmr_budget_entry_t   *e;
    llmr_budget_verdict_t  v;

    memset(tab, 0, sizeof(tab));
    r = rule(1000, 100);

    e = llmr_budget_entry(tab, N, 5, 0, &r, "b", 1, T0 + 10);

    is_int(llmr_budget_check(e, &r, 400, 0, 1, T0 + 10, &v), LLMR_BUDGET_OK,
           "alone: 400 of 1000 fits");
    is_int(e->reserved, 400, "and is reserved");
    ok(!v.kick && !e->want, "no lease is asked alone");

    is_int(llmr_budget_check(e, &r, 600, 0, 1, T0 + 10, &v), LLMR_BUDGET_OK,
           "600 more: exactly the limit");
    is_int(llmr_budget_check(e, &r, 1, 0, 1, T0 + 20, &v), LLMR_BUDGET_SPENT,
           "one more micro-dollar: spent");
    is_int(v.retry_after, 80, "retry after the rest of the period");
    is_int(e->reserved, 1000, "a refusal reserves nothing");

    llmr_budget_settle(e, e->id, e->period_start, 400, 100);
    is_int(e->reserved, 600, "settled: the reservation goes");
    is_int(e->spent, 100, "the actual cost counts");

    is_int(llmr_budget_check(e, &r, 300, 0, 0, T0 + 20, &v), LLMR_BUDGET_OK,
           "what the estimate left is usable again");
    is_int(e->reserved, 600, "a check that is not final reserves nothing");

    llmr_budget_settle(e, e->id + 1, e->period_start, 600, 600);
    is_int(e->reserved, 600, "a settle for another id is ignored");
    llmr_budget_settle(e, e->id, e->period_start - 100, 600, 600);
    is_int(e->reserved, 600, "and one of another period");

    is_int(llmr_budget_check(e, &r, -5, 0, 1, T0 + 20, &v), LLMR_BUDGET_OK,
           "a negative estimate counts as 0");
    is_int(e->reserved, 600, "and reserves nothing");
}


static void
test_downgrade(void)
{
    llmr_budget_rule_t     r;
    llmr_budget_entry_t   *e;
    llmr_budget_verdict_t  v;

    memset(tab, 0, sizeof(tab));
    r = rule(1000, 100);
    r.downgrade = 1;
    r.downgrade_at = 80;

    e = llmr_budget_entry(tab, N, 5, 0, &r, "b", 1, T0);

    llmr_budget_check(e, &r, 700, 0, 0, T0, &v);
    ok(!v.downgrade, "70%%: no downgrade");

    llmr_budget_check(e, &r, 800, 0, 0, T0, &v);
    ok(!v.downgrade, "80%% exactly: no downgrade");

    llmr_budget_check(e, &r, 801, 0, 0, T0, &v);
    ok(v.downgrade, "past 80%%: downgrade");

    llmr_budget_check(e, &r, 801, 0, 1, T0, &v);
    ok(!v.downgrade, "the final check does not ask again");
    is_int(e->reserved, 801, "and reserves");

    llmr_budget_check(e, &r, 10, 0, 0, T0, &v);
    ok(v.downgrade, "reserved spending counts toward the threshold");

    r.downgrade = 0;
    llmr_budget_check(e, &r, 10, 0, 0, T0, &v);
    ok(!v.downgrade, "mode reject never downgrades");
}


static void
test_leased(void)
{
    llmr_budget_rule_t     r;
    llmr_budget_entry_t   *e;
    llmr_budget_verdict_t  v;

    memset(tab, 0, sizeof(tab));
    r = rule(2000, 100);

    e = llmr_budget_entry(tab, N, 9, 0, &r, "b", 1, T0);
    is_int(llmr_budget_lease_size(e), 100, "a lease is 1/20 of the limit");

    is_int(llmr_budget_check(e, &r, 150, 1, 1, T0, &v), LLMR_BUDGET_OK,
           "leased, before any answer: the first request goes through");
    ok(v.kick && e->want, "and a lease is asked");

    llmr_budget_check(e, &r, 10, 1, 1, T0, &v);
    ok(!v.kick, "asked once, not per request");

    llmr_budget_granted(e, e->id, e->period_start, 100, 100);
    ok(e->answered && !e->want, "a grant answers the ask");
    is_int(e->granted, 100, "granted 100");
    is_int(e->fleet_granted, 100, "of 100 in the fleet");

    is_int(llmr_budget_check(e, &r, 1, 1, 1, T0, &v), LLMR_BUDGET_SPENT,
           "past the grant (160 reserved of 100): spent");
    ok(v.kick && e->want, "and more is asked");

    llmr_budget_granted(e, e->id, e->period_start, 100, 700);
    is_int(e->granted, 200, "grants add up");
    is_int(e->fleet_granted, 700, "the fleet total is the latest");

    is_int(llmr_budget_check(e, &r, 30, 1, 1, T0, &v), LLMR_BUDGET_OK,
           "within the grants: 190 of 200");
    ok(v.kick, "under half a lease left: the next is asked early");

    llmr_budget_granted(e, e->id + 1, e->period_start, 5000, 5000);
    is_int(e->granted, 200, "a grant for another id is ignored");

    llmr_budget_granted(e, e->id, e->period_start + 100, 5000, 5000);
    is_int(e->granted, 200, "and one for another period");

    /* Redis down: the whole limit is ours again */

    is_int(llmr_budget_check(e, &r, 1000, 0, 1, T0, &v), LLMR_BUDGET_OK,
           "alone again: the whole limit");
    is_int(llmr_budget_check(e, &r, 1000, 0, 1, T0, &v), LLMR_BUDGET_SPENT,
           "and no more than it");

    /* a new period forgets the grants */

    e = llmr_budget_entry(tab, N, 9, 0, &r, "b", 1, T0 + 100);
    ok(!e->answered && e->granted == 0, "a new period asks again");
}


/* many requests with random estimates and costs never pass the limit */

static void
test_random(void)
{
    int                    i, over, spent;
    int64_t                est, cost, total;
    uint64_t               x;
    llmr_budget_rule_t     r;
    llmr_budget_entry_t   *e;
    llmr_budget_verdict_t  v;

    memset(tab, 0, sizeof(tab));
    r = rule(1000000, 3600);

    e = llmr_budget_entry(tab, N, 3, 0, &r, "b", 1, T0);
    x = 88172645463325252ULL;
    over = 0;
    spent = 0;
    total = 0;

    for (i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;

        est = (int64_t) (x % 5000);
        cost = est - (int64_t) ((x >> 20) % (est + 1));

        if (llmr_budget_check(e, &r, est, 0, 1, T0, &v) == LLMR_BUDGET_OK) {
            llmr_budget_settle(e, e->id, e->period_start, est, cost);
            total += cost;

        } else {
            spent++;
        }

        if (e->spent + e->reserved > (int64_t) r.limit) {
            over++;
        }
    }

    is_int(over, 0, "100,000 requests: never past the limit");
    is_int(total, e->spent, "spent is the sum of the actual costs");
    ok(spent > 0, "and the limit was reached (%d refused)", spent);
    is_int(e->reserved, 0, "nothing stays reserved");
}


int
main(void)
{
    test_table();
    test_alone();
    test_downgrade();
    test_leased();
    test_random();

    return tap_done();
}
