
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <string.h>

#include <llmr/health.h>


/* the cooldown doubles for each trip in a row up to 5 times (32 x) */
#define LLMR_HEALTH_DOUBLINGS       5

/*
 * The defaults of llmr_health_conf_t (health.h): down after 3 failures in
 * a row or a 50% error rate over 30 s of at least 5 requests, degraded at
 * 20%; 10 s of cooldown, at most 5 min; one probe; no latency SLA.
 */
#define LLMR_HEALTH_DEFAULT_FAILS           3
#define LLMR_HEALTH_DEFAULT_WINDOW          30000
#define LLMR_HEALTH_DEFAULT_ERROR_RATE      50
#define LLMR_HEALTH_DEFAULT_DEGRADED_RATE   20
#define LLMR_HEALTH_DEFAULT_MIN_REQUESTS    5
#define LLMR_HEALTH_DEFAULT_COOLDOWN        10000
#define LLMR_HEALTH_DEFAULT_MAX_COOLDOWN    300000
#define LLMR_HEALTH_DEFAULT_PROBES          1

const uint64_t  llmr_latency_bounds[LLMR_HEALTH_HIST_N] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000,
    UINT64_MAX
};


static unsigned llmr_health_bucket(llmr_health_t *h,
    const llmr_health_conf_t *c, uint64_t now);
static void llmr_health_count(llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now, int failed, int64_t latency, int probe);
static void llmr_health_success(llmr_health_t *h,
    const llmr_health_conf_t *c, uint64_t now, unsigned old, int probe,
    char *reason);
static uint64_t llmr_health_failure(llmr_health_t *h,
    const llmr_health_conf_t *c, uint64_t now, uint64_t retry_after,
    int probe, unsigned status, char *reason);


void
llmr_health_conf_init(llmr_health_conf_t *c)
{
    c->fails = LLMR_HEALTH_DEFAULT_FAILS;
    c->window = LLMR_HEALTH_DEFAULT_WINDOW;
    c->error_rate = LLMR_HEALTH_DEFAULT_ERROR_RATE;
    c->degraded_rate = LLMR_HEALTH_DEFAULT_DEGRADED_RATE;
    c->min_requests = LLMR_HEALTH_DEFAULT_MIN_REQUESTS;
    c->cooldown = LLMR_HEALTH_DEFAULT_COOLDOWN;
    c->max_cooldown = LLMR_HEALTH_DEFAULT_MAX_COOLDOWN;
    c->latency = 0;
    c->probes = LLMR_HEALTH_DEFAULT_PROBES;
}


const char *
llmr_health_state_name(unsigned state)
{
    switch (state) {
    case LLMR_HEALTHY:
        return "healthy";
    case LLMR_DEGRADED:
        return "degraded";
    case LLMR_DOWN:
        return "down";
    }

    return "unknown";
}


/*
 * Degraded holds only while the window still says so: a model that is
 * avoided gets no traffic that could clear it.
 */

unsigned
llmr_health_state(const llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now)
{
    unsigned  req, fail;
    uint64_t  p95;

    if (h->fleet_until > now) {
        return LLMR_DOWN;
    }

    if (h->state != LLMR_DEGRADED) {
        return h->state;
    }

    p95 = llmr_health_window(h, c, now, &req, &fail, c->latency != 0);

    if (req >= c->min_requests
        && ((uint64_t) fail * 100 >= (uint64_t) c->degraded_rate * req
            || (c->latency && p95 > c->latency)))
    {
        return LLMR_DEGRADED;
    }

    return LLMR_HEALTHY;
}


int
llmr_health_skip(const llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now)
{
    if (llmr_health_state(h, c, now) != LLMR_DOWN) {
        return 0;
    }

    return h->fleet_until > now || h->until > now || h->probes >= c->probes;
}


int
llmr_health_probe(llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now)
{
    if (h->state != LLMR_DOWN) {
        return -1;
    }

    if (h->until > now || h->fleet_until > now || h->probes >= c->probes) {
        return 0;
    }

    h->probes++;

    return 1;
}


int
llmr_health_record(llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now, int failed, int64_t latency, uint64_t retry_after,
    int probe, unsigned status)
{
    char      reason[LLMR_HEALTH_REASON];
    unsigned  old;
    uint64_t  until;

    reason[0] = '\0';
    until = 0;
    old = h->state;

    llmr_health_count(h, c, now, failed, latency, probe);

    if (failed) {
        until = llmr_health_failure(h, c, now, retry_after, probe, status,
                                    reason);

    } else {
        llmr_health_success(h, c, now, old, probe, reason);
    }

    if (until) {
        h->state = LLMR_DOWN;
        h->until = until;
        h->trips++;
        h->probe_ok = 0;
    }

    if (h->state == LLMR_HEALTHY && old != LLMR_HEALTHY) {
        h->trips = 0;
    }

    if (h->state == old && !until) {
        return 0;
    }

    h->since = now;

    if (reason[0]) {
        memcpy(h->reason, reason, LLMR_HEALTH_REASON);
    }

    return 1;
}


/* the attempt in the window: a request, a failure or a latency */

static void
llmr_health_count(llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now, int failed, int64_t latency, int probe)
{
    unsigned  idx, i;

    idx = llmr_health_bucket(h, c, now);

    h->win_req[idx]++;

    if (failed) {
        h->win_fail[idx]++;

    } else if (latency >= 0) {
        for (i = 0; (uint64_t) latency > llmr_latency_bounds[i]; i++) {
            /* void */
        }

        h->win_hist[idx][i]++;
    }

    if (probe && h->probes) {
        h->probes--;
    }
}


/* a success: a probe may bring it back, the window says how healthy */

static void
llmr_health_success(llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now, unsigned old, int probe, char *reason)
{
    unsigned  req, fail;
    uint64_t  p95;

    /* the window's percentile only matters with a latency SLA */

    p95 = llmr_health_window(h, c, now, &req, &fail, c->latency != 0);

    h->consecutive = 0;

    if (h->state == LLMR_DOWN) {

        if (probe && ++h->probe_ok >= c->probes) {
            h->state = LLMR_HEALTHY;
            h->probe_ok = 0;
            h->until = 0;
            snprintf(reason, LLMR_HEALTH_REASON, "probe succeeded");

            /* the failures that took it down are history now */
            memset(h->win_epoch, 0, sizeof(h->win_epoch));
        }

    } else if (req >= c->min_requests
               && (uint64_t) fail * 100
                  >= (uint64_t) c->degraded_rate * req)
    {
        h->state = LLMR_DEGRADED;
        snprintf(reason, LLMR_HEALTH_REASON, "error rate %u%% over %us",
                 fail * 100 / req, (unsigned) (c->window / 1000));

    } else if (c->latency && req >= c->min_requests && p95 > c->latency) {
        h->state = LLMR_DEGRADED;
        snprintf(reason, LLMR_HEALTH_REASON,
                 "p95 latency %llums over %llums",
                 (unsigned long long) p95,
                 (unsigned long long) c->latency);

    } else {
        h->state = LLMR_HEALTHY;

        if (old != LLMR_HEALTHY) {
            snprintf(reason, LLMR_HEALTH_REASON, "recovered");
        }
    }
}


/*
 * A failure: returns when a model it takes down comes back (0: not down
 * now); a model it only degrades gets its state here.
 */

static uint64_t
llmr_health_failure(llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now, uint64_t retry_after, int probe, unsigned status,
    char *reason)
{
    unsigned  req, fail, trips;
    uint64_t  cooldown;

    /* the counts only: a latency decides nothing on a failure */

    (void) llmr_health_window(h, c, now, &req, &fail, 0);

    h->consecutive++;

    /* each trip in a row waits twice as long, up to max_cooldown */

    trips = h->trips < LLMR_HEALTH_DOUBLINGS ? h->trips
                                             : LLMR_HEALTH_DOUBLINGS;
    cooldown = c->cooldown << trips;

    if (cooldown > c->max_cooldown) {
        cooldown = c->max_cooldown;
    }

    if (h->state == LLMR_DOWN) {

        if (probe) {
            h->probe_ok = 0;
            snprintf(reason, LLMR_HEALTH_REASON, "probe failed (HTTP %u)",
                     status);
            return now + cooldown;
        }

        return 0;
    }

    if (retry_after) {
        snprintf(reason, LLMR_HEALTH_REASON, "HTTP %u, Retry-After %llus",
                 status, (unsigned long long) (retry_after / 1000));
        return now + (retry_after < c->max_cooldown ? retry_after
                                                    : c->max_cooldown);
    }

    if (h->consecutive >= c->fails) {
        snprintf(reason, LLMR_HEALTH_REASON,
                 "%u failures in a row (last HTTP %u)", h->consecutive,
                 status);
        return now + cooldown;
    }

    if (req >= c->min_requests
        && (uint64_t) fail * 100 >= (uint64_t) c->error_rate * req)
    {
        snprintf(reason, LLMR_HEALTH_REASON, "error rate %u%% over %us",
                 fail * 100 / req, (unsigned) (c->window / 1000));
        return now + cooldown;
    }

    if (req >= c->min_requests
        && (uint64_t) fail * 100 >= (uint64_t) c->degraded_rate * req
        && h->state == LLMR_HEALTHY)
    {
        h->state = LLMR_DEGRADED;
        snprintf(reason, LLMR_HEALTH_REASON, "error rate %u%% over %us",
                 fail * 100 / req, (unsigned) (c->window / 1000));
    }

    return 0;
}


uint64_t
llmr_health_window(const llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now, unsigned *req, unsigned *fail, int percentile)
{
    uint32_t  epoch;
    unsigned  i, b;
    uint64_t  n, total, hist[LLMR_HEALTH_HIST_N];

    epoch = (uint32_t) (now / (c->window / LLMR_HEALTH_WIN_N));

    *req = 0;
    *fail = 0;
    total = 0;
    memset(hist, 0, sizeof(hist));

    for (i = 0; i < LLMR_HEALTH_WIN_N; i++) {
        if (epoch - h->win_epoch[i] >= LLMR_HEALTH_WIN_N) {
            continue;
        }

        *req += h->win_req[i];
        *fail += h->win_fail[i];

        if (!percentile) {
            continue;
        }

        for (b = 0; b < LLMR_HEALTH_HIST_N; b++) {
            hist[b] += h->win_hist[i][b];
            total += h->win_hist[i][b];
        }
    }

    if (total == 0) {
        return 0;
    }

    n = 0;

    for (b = 0; b < LLMR_HEALTH_HIST_N - 1; b++) {
        n += hist[b];

        if (n * 100 >= total * 95) {
            return llmr_latency_bounds[b];
        }
    }

    /* over the last bound: say twice that */

    return llmr_latency_bounds[LLMR_HEALTH_HIST_N - 2] * 2;
}


int
llmr_health_fleet(llmr_health_t *h, uint64_t now, uint64_t until,
    const char *reason, size_t len)
{
    int  was;

    if (until <= now) {
        return 0;
    }

    was = (h->fleet_until > now || (h->state == LLMR_DOWN && h->until > now));

    if (until > h->fleet_until) {
        h->fleet_until = until;

        if (reason && h->until < until) {
            if (len > sizeof(h->reason) - sizeof("fleet: ")) {
                len = sizeof(h->reason) - sizeof("fleet: ");
            }

            snprintf(h->reason, sizeof(h->reason), "fleet: %.*s", (int) len,
                     reason);
        }
    }

    return !was;
}


/* the window's bucket for now, emptied when it last served an old epoch */

static unsigned
llmr_health_bucket(llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now)
{
    uint32_t  epoch;
    unsigned  idx;

    epoch = (uint32_t) (now / (c->window / LLMR_HEALTH_WIN_N));
    idx = epoch % LLMR_HEALTH_WIN_N;

    if (h->win_epoch[idx] != epoch) {
        h->win_epoch[idx] = epoch;
        h->win_req[idx] = 0;
        h->win_fail[idx] = 0;
        memset(h->win_hist[idx], 0, sizeof(h->win_hist[0]));
    }

    return idx;
}
