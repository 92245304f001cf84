
/*
 * Copyright (C) ngx_llm_router authors
 */


#ifndef _LLMR_BUDGET_H_INCLUDED_
#define _LLMR_BUDGET_H_INCLUDED_


#include <llmr/core.h>


/*
 * Spending budgets: the verdict on a request's estimated cost against a
 * budget's limit for its period, with reservations settled by the actual
 * cost, and leases when instances share a limit.  Pure: the caller owns
 * the table (nginx keeps it in shared memory, under a mutex), hashes the
 * budget's name and key into an entry id, and passes the time (unix s).
 * Money is in micro-USD.
 *
 * Alone, an instance may spend the whole limit.  Sharing it ("leased"),
 * it spends what the fleet granted it: an entry asks for a lease (want)
 * before its first request is answered and whenever less than half a
 * lease is left; the first request of a period goes through while the
 * first lease is on its way.
 */


#define LLMR_BUDGET_NAME            32      /* bytes of a name kept */
#define LLMR_BUDGET_LEASE_SHARE     20      /* a lease: 1/20 of the limit */

#define LLMR_BUDGET_OK              0
#define LLMR_BUDGET_SPENT           1


typedef struct {
    uint64_t                    limit;          /* micro-USD */
    int64_t                     period;         /* seconds, > 0 */
    unsigned                    downgrade;      /* mode: downgrade */
    unsigned                    downgrade_at;   /* percent of the limit */
} llmr_budget_rule_t;


/* a budget's key for one period */

typedef struct {
    uint64_t                    id;             /* 0: free */
    uint64_t                    keyhash;        /* 0: no key */
    int64_t                     period_start;
    int64_t                     period;
    int64_t                     last_used;
    uint64_t                    limit;
    int64_t                     granted;        /* leased to this instance */
    int64_t                     spent;
    int64_t                     reserved;
    int64_t                     fleet_granted;  /* to all instances */
    char                        name[LLMR_BUDGET_NAME];
    size_t                      name_len;
    unsigned                    want:1;         /* a lease is asked */
    unsigned                    answered:1;     /* a lease came */
} llmr_budget_entry_t;


typedef struct {
    int64_t                     retry_after;    /* seconds, when spent */
    unsigned                    downgrade:1;    /* near the limit */
    unsigned                    kick:1;         /* a lease was just asked */
} llmr_budget_verdict_t;


/*
 * The entry of id in a table of n (open addressing), made or moved to
 * the current period.  When the id is not there, a free slot, else the
 * least recently used entry with nothing spent or reserved in its period,
 * is taken: spending is never forgotten (a client making up keys could
 * reset any budget), so with neither NULL is returned and the caller
 * refuses the request.
 */
llmr_budget_entry_t *llmr_budget_entry(llmr_budget_entry_t *tab, size_t n,
    uint64_t id, uint64_t keyhash, const llmr_budget_rule_t *rule,
    const char *name, size_t name_len, int64_t now);

/*
 * What llmr_budget_entry() would give now, in *copy, without writing the
 * table: LLMR_OK, or LLMR_DECLINED when it would return NULL (no room).
 */
int llmr_budget_peek(const llmr_budget_entry_t *tab, size_t n, uint64_t id,
    uint64_t keyhash, const llmr_budget_rule_t *rule, int64_t now,
    llmr_budget_entry_t *copy);

/*
 * The verdict on est (micro-USD) for entry e: LLMR_BUDGET_OK, with
 * v->downgrade set when the budget is in downgrade mode and est would
 * take it past downgrade_at percent (only asked when !final: the caller
 * routes to a cheaper model and asks again with final); LLMR_BUDGET_SPENT
 * with v->retry_after, the rest of the period.  With final and OK, est is
 * reserved.  v->kick: a lease was asked now (the caller wakes its flush).
 */
int llmr_budget_check(llmr_budget_entry_t *e, const llmr_budget_rule_t *rule,
    int64_t est, int leased, int final, int64_t now,
    llmr_budget_verdict_t *v);

/* a reservation gives way to the actual cost; a stale one is ignored */
void llmr_budget_settle(llmr_budget_entry_t *e, uint64_t id,
    int64_t period_start, int64_t reserved, int64_t cost);

/* a lease came back: grant of total granted to the fleet in the period */
void llmr_budget_granted(llmr_budget_entry_t *e, uint64_t id,
    int64_t period_start, int64_t grant, int64_t total);

/* what a lease asks for: a share of the limit, at least 1 micro-USD */
int64_t llmr_budget_lease_size(const llmr_budget_entry_t *e);


#endif /* _LLMR_BUDGET_H_INCLUDED_ */
