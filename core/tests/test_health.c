
/*
 * Copyright (C) ngx_llm_router authors
 */


/*
 * The passive health state machine: what takes a model down, how long it
 * stays down, the half-open probes, degraded and its expiry, the latency
 * window, and "down" from the fleet.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llmr/health.h>

#include "tap.h"


#define T0  1700000000000ULL        /* unix ms */


static llmr_health_conf_t  conf;


static void
fresh(llmr_health_t *h)
{
    memset(h, 0, sizeof(llmr_health_t));
    llmr_health_conf_init(&conf);
}


static int
ok_at(llmr_health_t *h, uint64_t now, int64_t latency)
{
    return llmr_health_record(h, &conf, now, 0, latency, 0, 0, 200);
}


static int
fail_at(llmr_health_t *h, uint64_t now, unsigned status)
{
    return llmr_health_record(h, &conf, now, 1, -1, 0, 0, status);
}


static void
test_defaults(void)
{
    llmr_health_t  h;

    fresh(&h);

    is_int(conf.fails, 3, "3 failures in a row by default");
    is_int(conf.window, 30000, "a 30s window");
    is_int(conf.cooldown, 10000, "a 10s cooldown");
    is_int(conf.probes, 1, "one probe");
    is_int(llmr_health_state(&h, &conf, T0), LLMR_HEALTHY,
           "a model nothing was sent to is healthy");
    is_int(llmr_health_skip(&h, &conf, T0), 0, "and routing uses it");
    is_int(llmr_health_probe(&h, &conf, T0), -1, "no probe: it is not down");
    is_str(llmr_health_state_name(LLMR_DOWN), "down", "state names");
    is_str(llmr_health_state_name(7), "unknown", "an unknown state");
}


static void
test_fails_in_a_row(void)
{
    llmr_health_t  h;

    fresh(&h);

    is_int(fail_at(&h, T0, 502), 0, "one failure changes nothing");
    is_int(fail_at(&h, T0 + 1, 502), 0, "nor two");
    is_int(h.consecutive, 2, "two in a row");
    is_int(ok_at(&h, T0 + 2, 50), 0, "a success...");
    is_int(h.consecutive, 0, "...ends the run");

    fresh(&h);
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0 + 1, 500);
    is_int(fail_at(&h, T0 + 2, 503), 1, "the third failure in a row...");
    is_int(h.state, LLMR_DOWN, "...takes it down");
    is_int(h.until, T0 + 2 + 10000, "for the cooldown");
    is_int(h.since, T0 + 2, "since the third failure");
    is_str(h.reason, "3 failures in a row (last HTTP 503)", "the reason");
    is_int(llmr_health_skip(&h, &conf, T0 + 5000), 1,
           "routing skips it while it cools down");
    is_int(llmr_health_probe(&h, &conf, T0 + 5000), 0,
           "and no probe goes before the cooldown ends");
    is_int(fail_at(&h, T0 + 5000, 500), 0,
           "a late failure of a request sent before changes nothing");
    is_int(h.until, T0 + 2 + 10000, "nor the cooldown");
}


static void
test_probes(void)
{
    uint64_t       t;
    llmr_health_t  h;

    fresh(&h);
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);

    t = T0 + 10001;
    is_int(llmr_health_state(&h, &conf, t), LLMR_DOWN,
           "still down past the cooldown");
    is_int(llmr_health_skip(&h, &conf, t), 0,
           "but offered while a probe slot is free");
    is_int(llmr_health_probe(&h, &conf, t), 1, "a request claims the slot");
    is_int(llmr_health_skip(&h, &conf, t), 1, "then routing skips it");
    is_int(llmr_health_probe(&h, &conf, t), 0, "and no second probe goes");

    is_int(llmr_health_record(&h, &conf, t + 100, 1, -1, 0, 1, 500), 1,
           "the probe fails: down again");
    is_int(h.until, t + 100 + 20000, "for twice the cooldown");
    is_str(h.reason, "probe failed (HTTP 500)", "the reason");
    is_int(h.probes, 0, "the slot is free again");

    t += 100 + 20001;
    is_int(llmr_health_probe(&h, &conf, t), 1, "the next probe");
    is_int(llmr_health_record(&h, &conf, t + 50, 0, 40, 0, 1, 200), 1,
           "succeeds");
    is_int(h.state, LLMR_HEALTHY, "healthy again");
    is_str(h.reason, "probe succeeded", "the reason");
    is_int(h.trips, 0, "the next trip waits the first cooldown again");
    is_int(h.until, 0, "not down until anything");

    (void) fail_at(&h, t + 60, 500);
    (void) fail_at(&h, t + 60, 500);
    is_int(h.state, LLMR_HEALTHY,
           "the failures before the probe do not count with the new ones");
    (void) fail_at(&h, t + 60, 500);
    is_int(h.until, t + 60 + 10000, "down for the first cooldown");

    /* two probes needed */

    fresh(&h);
    conf.probes = 2;
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);
    t = T0 + 10001;
    is_int(llmr_health_probe(&h, &conf, t), 1, "probes=2: one");
    is_int(llmr_health_probe(&h, &conf, t), 1, "and two");
    is_int(llmr_health_probe(&h, &conf, t), 0, "not three");
    is_int(llmr_health_record(&h, &conf, t, 0, 40, 0, 1, 200), 0,
           "one success is not enough");
    is_int(h.state, LLMR_DOWN, "still down");
    is_int(llmr_health_record(&h, &conf, t, 0, 40, 0, 1, 200), 1,
           "the second is");
    is_int(h.state, LLMR_HEALTHY, "healthy");
}


static void
test_cooldown_cap(void)
{
    unsigned       i;
    uint64_t       t;
    llmr_health_t  h;

    fresh(&h);
    conf.max_cooldown = 60000;
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);

    t = T0;

    for (i = 0; i < 8; i++) {
        t = h.until + 1;
        is_int(llmr_health_probe(&h, &conf, t), 1, "probe %u", i);
        (void) llmr_health_record(&h, &conf, t, 1, -1, 0, 1, 500);
    }

    is_int(h.until - t, 60000, "the cooldown stops at max_cooldown");
}


static void
test_retry_after(void)
{
    llmr_health_t  h;

    fresh(&h);

    is_int(llmr_health_record(&h, &conf, T0, 1, -1, 45000, 0, 429), 1,
           "one 429 with Retry-After...");
    is_int(h.until, T0 + 45000, "...takes it down that long");
    is_str(h.reason, "HTTP 429, Retry-After 45s", "the reason");

    fresh(&h);
    (void) llmr_health_record(&h, &conf, T0, 1, -1, 86400000, 0, 503);
    is_int(h.until, T0 + 300000, "a day's Retry-After is capped");
}


static void
test_rates(void)
{
    unsigned       i;
    llmr_health_t  h;

    fresh(&h);

    /* S F S S F: 40% over five, never two failures in a row */

    (void) ok_at(&h, T0, 50);
    (void) fail_at(&h, T0 + 10, 500);
    (void) ok_at(&h, T0 + 20, 50);
    (void) ok_at(&h, T0 + 30, 50);
    is_int(h.state, LLMR_HEALTHY, "one failure in four");
    is_int(fail_at(&h, T0 + 40, 500), 1, "two in five...");
    is_int(h.state, LLMR_DEGRADED, "...degrade it");
    is_str(h.reason, "error rate 40% over 30s", "the reason");
    is_int(llmr_health_skip(&h, &conf, T0 + 40), 0, "still routed to");

    is_int(fail_at(&h, T0 + 50, 500), 1, "three in six: 50%...");
    is_int(h.state, LLMR_DOWN, "...take it down");
    is_str(h.reason, "error rate 50% over 30s", "the reason");

    /* degraded expires with the window */

    fresh(&h);
    (void) ok_at(&h, T0, 50);
    (void) fail_at(&h, T0, 500);
    (void) ok_at(&h, T0, 50);
    (void) ok_at(&h, T0, 50);
    (void) fail_at(&h, T0, 500);
    is_int(llmr_health_state(&h, &conf, T0 + 1000), LLMR_DEGRADED,
           "degraded within the window");
    is_int(llmr_health_state(&h, &conf, T0 + 31000), LLMR_HEALTHY,
           "healthy once the window has no failures left");

    /* under min_requests, rates say nothing */

    fresh(&h);
    conf.fails = 10;
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);
    is_int(h.state, LLMR_HEALTHY, "100% of three is under min_requests");

    /* old failures leave the window */

    fresh(&h);
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);
    (void) ok_at(&h, T0, 50);

    for (i = 0; i < 5; i++) {
        (void) ok_at(&h, T0 + 40000, 50);
    }

    (void) fail_at(&h, T0 + 40000, 500);
    is_int(h.state, LLMR_HEALTHY, "failures a window ago do not count");
}


static void
test_latency(void)
{
    unsigned       i, req, fail;
    llmr_health_t  h;

    fresh(&h);

    for (i = 0; i < 100; i++) {
        (void) ok_at(&h, T0, 50);
    }

    for (i = 0; i < 5; i++) {
        (void) ok_at(&h, T0, 4000);
    }

    is_int(llmr_health_window(&h, &conf, T0, &req, &fail, 1), 100,
           "p95 of 100 fast and 5 slow: the fast bucket");
    is_int(req, 105, "105 requests");
    is_int(fail, 0, "no failures");
    is_int(llmr_health_window(&h, &conf, T0, &req, &fail, 0), 0,
           "no percentile asked, none given");

    for (i = 0; i < 10; i++) {
        (void) ok_at(&h, T0, 4000);
    }

    is_int(llmr_health_window(&h, &conf, T0, &req, &fail, 1), 5000,
           "15 slow in 115: the slow bucket's bound");

    fresh(&h);
    (void) ok_at(&h, T0, 900000);
    is_int(llmr_health_window(&h, &conf, T0, &req, &fail, 1), 600000,
           "over the last bound: twice it");

    fresh(&h);
    conf.latency = 1000;

    for (i = 0; i < 4; i++) {
        (void) ok_at(&h, T0, 2000);
    }

    is_int(h.state, LLMR_HEALTHY, "slow, but under min_requests");
    is_int(ok_at(&h, T0, 2000), 1, "the fifth slow answer...");
    is_int(h.state, LLMR_DEGRADED, "...degrades it");
    is_str(h.reason, "p95 latency 2500ms over 1000ms", "the reason");
    is_int(llmr_health_state(&h, &conf, T0 + 40000), LLMR_HEALTHY,
           "and the SLA holds again once the window forgets them");

    fresh(&h);

    for (i = 0; i < 20; i++) {
        (void) ok_at(&h, T0, 20000);
    }

    is_int(h.state, LLMR_HEALTHY, "no latency SLA: slow is healthy");
}


static void
test_fleet(void)
{
    char           big[300];
    llmr_health_t  h;

    fresh(&h);

    is_int(llmr_health_fleet(&h, T0, T0 - 1, "x", 1), 0,
           "a past \"down until\" says nothing");
    is_int(llmr_health_fleet(&h, T0, T0 + 20000, SL("3 failures")), 1,
           "the fleet takes it down here");
    is_int(llmr_health_state(&h, &conf, T0 + 1), LLMR_DOWN, "down");
    is_int(llmr_health_skip(&h, &conf, T0 + 1), 1, "and skipped");
    is_str(h.reason, "fleet: 3 failures", "the fleet's reason");
    is_int(h.state, LLMR_HEALTHY, "its own state is untouched");
    is_int(llmr_health_probe(&h, &conf, T0 + 1), -1,
           "no probe: its own state is not down");
    is_int(llmr_health_fleet(&h, T0, T0 + 30000, SL("later")), 0,
           "a later \"until\" does not take it down again");
    is_int(h.fleet_until, T0 + 30000, "but extends it");
    is_int(llmr_health_fleet(&h, T0, T0 + 10000, SL("earlier")), 0,
           "an earlier one changes nothing");
    is_int(h.fleet_until, T0 + 30000, "the latest stays");
    is_int(llmr_health_state(&h, &conf, T0 + 30001), LLMR_HEALTHY,
           "healthy when the fleet's down is over");

    fresh(&h);
    memset(big, 'r', sizeof(big));
    (void) llmr_health_fleet(&h, T0, T0 + 1000, big, sizeof(big));
    is_int(strlen(h.reason), LLMR_HEALTH_REASON - 1,
           "a long reason is cut to fit");

    fresh(&h);
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);
    (void) fail_at(&h, T0, 500);
    is_int(llmr_health_fleet(&h, T0, T0 + 5000, SL("elsewhere")), 0,
           "down here already: the fleet does not take it down");
    is_str(h.reason, "3 failures in a row (last HTTP 500)",
           "and an earlier end keeps the local reason");
}


static void
test_random(void)
{
    unsigned       i, state;
    uint64_t       t;
    llmr_health_t  h;

    /* any sequence of outcomes keeps the state machine's invariants */

    fresh(&h);
    srand(7);
    t = T0;

    for (i = 0; i < 200000; i++) {
        t += rand() % 2000;

        switch (rand() % 4) {
        case 0:
            (void) llmr_health_record(&h, &conf, t, 1, -1,
                                      (rand() % 10) ? 0 : 5000, 0, 500);
            break;
        case 1:
            if (llmr_health_probe(&h, &conf, t) == 1) {
                (void) llmr_health_record(&h, &conf, t + 10, rand() % 2,
                                          300, 0, 1, 200);
            }
            break;
        default:
            (void) ok_at(&h, t, rand() % 20000);
        }

        state = llmr_health_state(&h, &conf, t);

        if (state > LLMR_DOWN || h.probes > conf.probes
            || (h.state == LLMR_DOWN
                && h.until > t + conf.max_cooldown + 10))
        {
            break;
        }
    }

    ok(i == 200000, "200000 random outcomes keep the invariants (%u)", i);
}


int
main(void)
{
    test_defaults();
    test_fails_in_a_row();
    test_probes();
    test_cooldown_cap();
    test_retry_after();
    test_rates();
    test_latency();
    test_fleet();
    test_random();

    return tap_done();
}
