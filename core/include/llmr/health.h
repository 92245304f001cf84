
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_HEALTH_H_INCLUDED_
#define _LLMR_HEALTH_H_INCLUDED_


#include <llmr/core.h>


/*
 * Passive health of a model: a pure state machine over the outcomes of
 * the attempts sent to it.  The caller owns the storage (nginx keeps it
 * in shared memory, under a mutex) and passes the time (unix ms), so that
 * the same outcomes at the same times always give the same states.
 *
 *   down      after "fails" failures in a row, an error rate of
 *             "error_rate" over "window" (at least "min_requests"), or a
 *             failure with Retry-After (down that long, up to
 *             max_cooldown); for "cooldown", doubled each time it trips
 *             again (up to max_cooldown)
 *   half-open down with the cooldown over: "probes" requests may go (a
 *             caller claims one with llmr_health_probe()); healthy when
 *             they succeed, down again when one fails
 *   degraded  an error rate of "degraded_rate" over the window, or a p95
 *             latency over "latency" (when set); it holds only while the
 *             window still says so
 */


#define LLMR_HEALTHY                0
#define LLMR_DEGRADED               1
#define LLMR_DOWN                   2

#define LLMR_HEALTH_WIN_N           10      /* window buckets */
#define LLMR_HEALTH_HIST_N          12      /* latency buckets */
#define LLMR_HEALTH_REASON          80


typedef struct {
    unsigned                    fails;          /* in a row: 3 */
    uint64_t                    window;         /* ms: 30000 */
    unsigned                    error_rate;     /* percent, down: 50 */
    unsigned                    degraded_rate;  /* percent: 20 */
    unsigned                    min_requests;   /* for the rates: 5 */
    uint64_t                    cooldown;       /* ms: 10000 */
    uint64_t                    max_cooldown;   /* ms: 300000 */
    uint64_t                    latency;        /* p95 SLA, ms; 0: off */
    unsigned                    probes;         /* half-open: 1 */
} llmr_health_conf_t;


typedef struct {
    unsigned                    state;
    unsigned                    consecutive;    /* failures in a row */
    uint64_t                    until;          /* down until */
    uint64_t                    since;          /* the state changed */
    uint64_t                    fleet_until;    /* down, says the fleet */
    unsigned                    probes;         /* half-open, running */
    unsigned                    probe_ok;
    unsigned                    trips;          /* downs in a row */
    uint32_t                    win_epoch[LLMR_HEALTH_WIN_N];
    uint32_t                    win_req[LLMR_HEALTH_WIN_N];
    uint32_t                    win_fail[LLMR_HEALTH_WIN_N];
    uint32_t                    win_hist[LLMR_HEALTH_WIN_N]
                                        [LLMR_HEALTH_HIST_N];
    char                        reason[LLMR_HEALTH_REASON];
} llmr_health_t;


/* upper bounds of the latency buckets, ms; the last is "more" */
extern const uint64_t  llmr_latency_bounds[LLMR_HEALTH_HIST_N];


void llmr_health_conf_init(llmr_health_conf_t *c);

/*
 * Records an attempt's outcome: failed says the model could not serve
 * (the caller decides which statuses count), latency is the answer's in
 * ms or -1, retry_after in ms or 0, probe that the attempt held a
 * half-open slot.  Returns 1 when the state changed or the model went
 * down (again): h->state, h->until and h->reason tell the new state.
 */
int llmr_health_record(llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now, int failed, int64_t latency, uint64_t retry_after,
    int probe, unsigned status);

/* the state routing sees now, down from the fleet included */
unsigned llmr_health_state(const llmr_health_t *h,
    const llmr_health_conf_t *c, uint64_t now);

/*
 * 1 when routing must skip the model now: down and cooling down, or down
 * past the cooldown with every probe slot taken.
 */
int llmr_health_skip(const llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now);

/*
 * Claims a half-open probe slot: 1 (the request is a probe), 0 (no slot
 * now: route elsewhere), -1 (the model is not down).
 */
int llmr_health_probe(llmr_health_t *h, const llmr_health_conf_t *c,
    uint64_t now);

/*
 * The window's requests and failures; its p95 latency (ms, the bucket's
 * upper bound) when percentile is set, else 0.
 */
uint64_t llmr_health_window(const llmr_health_t *h,
    const llmr_health_conf_t *c, uint64_t now, unsigned *req,
    unsigned *fail, int percentile);

/*
 * The fleet says the model is down until "until" (unix ms), for reason.
 * Returns 1 when that makes it down here (it was not).
 */
int llmr_health_fleet(llmr_health_t *h, uint64_t now, uint64_t until,
    const char *reason, size_t len);

const char *llmr_health_state_name(unsigned state);


#endif /* _LLMR_HEALTH_H_INCLUDED_ */
