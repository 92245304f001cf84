
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


/*
 * "llm_feedback_state": what an instance without Redis has learned (the
 * buckets' quality sums and offsets) kept in a file across restarts.  The
 * master reads it when the zone is new (a start, not a reload: then the
 * zone is newer); worker 0 writes it on a timer when it has changed, and
 * as it exits, to a temporary file renamed over the old one, so a reader
 * never sees half of it.  The text is the core's (llmr_learn_state_*).
 * Nothing of it is on the request path.
 */


#define NGX_HTTP_LLM_ROUTER_STATE_MAX   (1024 * 1024)


static ngx_int_t ngx_http_llm_router_state_save(ngx_cycle_t *cycle,
    ngx_http_llm_router_main_conf_t *lmcf);
static void ngx_http_llm_router_state_timer(ngx_event_t *ev);


static void ngx_http_llm_router_state_failed(ngx_http_llm_router_zone_t *zone,
    ngx_log_t *log, ngx_err_t err, ngx_uint_t save, const char *fmt, ...);


static ngx_event_t  ngx_http_llm_router_state_ev;
static uint64_t     ngx_http_llm_router_state_saved;    /* its hash */


char *
ngx_http_llm_router_feedback_state(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    ngx_str_t   *value, s;
    ngx_msec_t   interval;
    ngx_uint_t   i;

    if (lmcf->state.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    lmcf->state = value[1];

    if (lmcf->state.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_feedback_state\" needs a file name");
        return NGX_CONF_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, &lmcf->state, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    lmcf->state_interval = 60000;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            interval = ngx_parse_time(&s, 0);

            if (interval == (ngx_msec_t) NGX_ERROR || interval < 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid interval \"%V\" in "
                                   "\"llm_feedback_state\" (1s at least)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            lmcf->state_interval = interval;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in "
                           "\"llm_feedback_state\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Runs in the master, for a new zone: a missing file is a first start; a
 * file that cannot be read or is not a learned state is logged and left
 * alone (it is overwritten at the first save), and nginx starts with
 * nothing learned.
 */

void
ngx_http_llm_router_state_load(ngx_http_llm_router_zone_t *zone,
    ngx_log_t *log)
{
    int                               off[NGX_HTTP_LLM_ROUTER_BUCKETS];
    char                              err[256];
    u_char                           *text;
    size_t                            size, skipped;
    ssize_t                           n;
    ngx_fd_t                          fd;
    ngx_err_t                         e;
    ngx_int_t                         loaded;
    ngx_uint_t                        k, t;
    ngx_file_info_t                   fi;
    llmr_bucket_stats_t               st[NGX_HTTP_LLM_ROUTER_BUCKETS];
    ngx_http_llm_router_learn_t      *l;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = zone->lmcf;

    if (lmcf->state.len == 0) {
        return;
    }

    fd = ngx_open_file(lmcf->state.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        e = ngx_errno;

        if (e == NGX_ENOENT) {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "llm_feedback_state: no \"%V\" yet, nothing "
                          "learned to load", &lmcf->state);
            return;
        }

        ngx_http_llm_router_state_failed(zone, log, e, 0, "\"%V\": "
                                         ngx_open_file_n " failed",
                                         &lmcf->state);
        return;
    }

    text = NULL;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_http_llm_router_state_failed(zone, log, ngx_errno, 0, "\"%V\": "
                                         ngx_fd_info_n " failed",
                                         &lmcf->state);
        goto done;
    }

    size = (size_t) ngx_file_size(&fi);

    if (size > NGX_HTTP_LLM_ROUTER_STATE_MAX) {
        ngx_http_llm_router_state_failed(zone, log, 0, 0, "\"%V\": %uz "
                                         "bytes, not a learned state (at "
                                         "most %d)", &lmcf->state, size,
                                         NGX_HTTP_LLM_ROUTER_STATE_MAX);
        goto done;
    }

    text = ngx_alloc(size + 1, log);
    if (text == NULL) {
        goto done;
    }

    n = ngx_read_fd(fd, text, size);

    if (n == -1 || (size_t) n != size) {
        ngx_http_llm_router_state_failed(zone, log, n == -1 ? ngx_errno : 0,
                                         0, "\"%V\": " ngx_read_fd_n
                                         " failed", &lmcf->state);
        goto done;
    }

    loaded = llmr_learn_state_parse((char *) text, size, st, off,
                                  NGX_HTTP_LLM_ROUTER_BUCKETS, &skipped, err,
                                  sizeof(err));

    if (loaded < 0) {
        ngx_http_llm_router_state_failed(zone, log, 0, 0, "\"%V\": %s",
                                         &lmcf->state, err);
        goto done;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (k = 0; k < NGX_HTTP_LLM_ROUTER_BUCKETS; k++) {
        for (t = 0; t < LLMR_TIER_N; t++) {
            l = &zone->sh->learn[k][t];

            ngx_memzero(l, sizeof(ngx_http_llm_router_learn_t));

            l->total[0] = (ngx_atomic_uint_t) (st[k].weight[t] * 1000 + 0.5);
            l->total[1] = (ngx_atomic_uint_t) (st[k].quality[t] * 1000 + 0.5);
        }

        /* the rule of this configuration, from where the file left it */

        zone->sh->offset[k] = (int8_t) llmr_learn_offset(&lmcf->learn, &st[k],
                                                 (int) (k % LLMR_TIER_N),
                                                 off[k]);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_llm_router_learn_shifts(zone, lmcf);

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "llm_feedback_state: %i buckets loaded from \"%V\"%s",
                  loaded, &lmcf->state,
                  skipped ? " (buckets of unknown domains or tiers skipped)"
                          : "");

done:

    if (text) {
        ngx_free(text);
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &lmcf->state);
    }
}


/* worker 0 (or the only process) keeps the file */

ngx_int_t
ngx_http_llm_router_state_init_process(ngx_cycle_t *cycle,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    ngx_event_t  *ev;

    if (lmcf->state.len == 0 || lmcf->shm_zone == NULL
        || (ngx_process == NGX_PROCESS_WORKER && ngx_worker != 0))
    {
        return NGX_OK;
    }

    ev = &ngx_http_llm_router_state_ev;

    ev->handler = ngx_http_llm_router_state_timer;
    ev->data = lmcf;
    ev->log = cycle->log;
    ev->cancelable = 1;

    /*
     * The first tick writes whatever the zone holds: after a reload or a
     * respawned worker 0 it may be newer than the file.
     */

    ngx_http_llm_router_state_saved = 0;

    ngx_add_timer(ev, lmcf->state_interval);

    return NGX_OK;
}


void
ngx_http_llm_router_state_exit_process(ngx_cycle_t *cycle)
{
    ngx_event_t  *ev;

    ev = &ngx_http_llm_router_state_ev;

    if (ev->data == NULL) {
        return;
    }

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    (void) ngx_http_llm_router_state_save(cycle, ev->data);

    ev->data = NULL;
}


static void
ngx_http_llm_router_state_timer(ngx_event_t *ev)
{
    ngx_http_llm_router_main_conf_t  *lmcf = ev->data;

    (void) ngx_http_llm_router_state_save((ngx_cycle_t *) ngx_cycle, lmcf);

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        ngx_add_timer(ev, lmcf->state_interval);
    }
}


/* writes the state if it changed since this process last wrote it */

static ngx_int_t
ngx_http_llm_router_state_save(ngx_cycle_t *cycle,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    int                           off[NGX_HTTP_LLM_ROUTER_BUCKETS];
    char                         *text;
    u_char                       *tmp;
    size_t                        len, size;
    ssize_t                       n;
    uint64_t                      hash;
    ngx_fd_t                      fd;
    ngx_uint_t                    k, t;
    ngx_http_llm_router_learn_t  *l;
    llmr_bucket_stats_t           st[NGX_HTTP_LLM_ROUTER_BUCKETS];
    ngx_http_llm_router_zone_t   *zone;

    zone = lmcf->shm_zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (k = 0; k < NGX_HTTP_LLM_ROUTER_BUCKETS; k++) {
        for (t = 0; t < LLMR_TIER_N; t++) {
            l = &zone->sh->learn[k][t];

            st[k].weight[t] = (double) ngx_http_llm_router_learn_sum(l, 0, 0)
                              / 1000;
            st[k].quality[t] = (double) ngx_http_llm_router_learn_sum(l, 1, 0)
                               / 1000;
        }

        off[k] = zone->sh->offset[k];
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    hash = ngx_http_llm_router_fb_hash((u_char *) st, sizeof(st))
           ^ ngx_http_llm_router_fb_hash((u_char *) off, sizeof(off));

    if (hash == ngx_http_llm_router_state_saved) {
        return NGX_OK;
    }

    size = llmr_learn_state_print(NULL, 0, st, off,
                                  NGX_HTTP_LLM_ROUTER_BUCKETS) + 1;

    /* "FILE.PID.tmp": an exiting worker 0 and the new one may overlap */

    text = ngx_alloc(size + lmcf->state.len + NGX_INT64_LEN + 6, cycle->log);
    if (text == NULL) {
        return NGX_ERROR;
    }

    len = llmr_learn_state_print(text, size, st, off,
                                 NGX_HTTP_LLM_ROUTER_BUCKETS);

    tmp = (u_char *) text + size;
    (void) ngx_sprintf(tmp, "%V.%P.tmp%Z", &lmcf->state, ngx_pid);

    /*
     * A new file, never one that is there (a left-over of a crash is
     * removed first): in a directory others can write to, a link planted
     * under the name is not followed.
     */

    (void) ngx_delete_file(tmp);

    fd = ngx_open_file(tmp, NGX_FILE_WRONLY, O_CREAT|O_EXCL,
                       NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE) {
        ngx_http_llm_router_state_failed(zone, cycle->log, ngx_errno, 1,
                                         ngx_open_file_n " \"%s\" failed",
                                         tmp);
        ngx_free(text);
        return NGX_ERROR;
    }

    n = ngx_write_fd(fd, text, len);

    if (n == -1 || (size_t) n != len) {
        ngx_http_llm_router_state_failed(zone, cycle->log,
                                         n == -1 ? ngx_errno : 0, 1,
                                         ngx_write_fd_n " \"%s\" failed",
                                         tmp);
        (void) ngx_close_file(fd);
        (void) ngx_delete_file(tmp);
        ngx_free(text);
        return NGX_ERROR;
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", tmp);
    }

    if (ngx_rename_file(tmp, lmcf->state.data) == NGX_FILE_ERROR) {
        ngx_http_llm_router_state_failed(zone, cycle->log, ngx_errno, 1,
                                         ngx_rename_file_n " \"%s\" to "
                                         "\"%V\" failed", tmp,
                                         &lmcf->state);
        (void) ngx_delete_file(tmp);
        ngx_free(text);
        return NGX_ERROR;
    }

    ngx_free(text);

    ngx_http_llm_router_state_saved = hash;

    ngx_shmtx_lock(&zone->shpool->mutex);
    zone->sh->state_saved = ngx_time();
    zone->sh->state_error[0] = '\0';
    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "llm_feedback_state: saved \"%V\"", &lmcf->state);

    return NGX_OK;
}


/*
 * A load or a save that failed: logged at "error", and the reason kept
 * for llm_status until a save succeeds.
 */

static void
ngx_http_llm_router_state_failed(ngx_http_llm_router_zone_t *zone,
    ngx_log_t *log, ngx_err_t err, ngx_uint_t save, const char *fmt, ...)
{
    u_char                       *p, *q, *last;
    u_char                        what[NGX_MAX_ERROR_STR];
    va_list                       args;
    ngx_http_llm_router_shctx_t  *sh;

    va_start(args, fmt);
    p = ngx_vslprintf(what, what + sizeof(what) - 1, fmt, args);
    va_end(args);

    *p = '\0';

    ngx_log_error(NGX_LOG_ERR, log, err, "llm_feedback_state: %s, %s", what,
                  save ? "what was learned is not saved"
                       : "starting with nothing learned");

    sh = zone->sh;
    last = sh->state_error + sizeof(sh->state_error) - 1;

    ngx_shmtx_lock(&zone->shpool->mutex);

    q = ngx_slprintf(sh->state_error, last, "not %s: %s",
                     save ? "saved" : "loaded", what);

    if (err) {
        q = ngx_slprintf(q, last, " (%d: ", err);
        q = ngx_strerror(err, q, last - q);
        q = ngx_slprintf(q, last, ")");
    }

    *q = '\0';

    ngx_shmtx_unlock(&zone->shpool->mutex);
}
