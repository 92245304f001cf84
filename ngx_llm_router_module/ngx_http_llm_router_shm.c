
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


static ngx_int_t ngx_http_llm_router_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_llm_router_count(ngx_http_llm_router_counters_t *c,
    ngx_uint_t error, ngx_atomic_uint_t cost);


char *
ngx_http_llm_router_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    ssize_t                      size;
    ngx_str_t                   *value, name;
    ngx_http_llm_router_zone_t  *zone;

    if (lmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"llm_router_zone\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize
                          + sizeof(ngx_http_llm_router_shctx_t)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small in \"llm_router_zone\" "
                           "(at least %uzk)", &value[1],
                           (8 * ngx_pagesize
                            + sizeof(ngx_http_llm_router_shctx_t)) / 1024
                           + 1);
        return NGX_CONF_ERROR;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_router_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    lmcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_llm_router_module);
    if (lmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (lmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    zone->lmcf = lmcf;

    lmcf->shm_zone->init = ngx_http_llm_router_init_zone;
    lmcf->shm_zone->data = zone;

    return NGX_CONF_OK;
}


/*
 * Runs in the master at (re)configuration.  Counters are kept per model
 * name, so a reload that adds, drops or reorders models keeps them; the
 * map from this cycle's model index to its slot is inherited by workers.
 */

static ngx_int_t
ngx_http_llm_router_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_router_zone_t  *ozone = data;

    size_t                        len;
    ngx_uint_t                    i, j, full;
    llmr_model_t                 *m;
    llmr_registry_t              *reg;
    ngx_http_llm_router_slot_t   *slot;
    ngx_http_llm_router_zone_t   *zone;
    ngx_http_llm_router_shctx_t  *sh;

    zone = shm_zone->data;

    if (ozone) {
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;

    } else {
        zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            zone->sh = zone->shpool->data;

        } else {
            zone->sh = ngx_slab_calloc(zone->shpool,
                                       sizeof(ngx_http_llm_router_shctx_t));
            if (zone->sh == NULL) {
                return NGX_ERROR;
            }

            zone->shpool->data = zone->sh;

            len = sizeof(" in llm_router_zone \"\"") + shm_zone->shm.name.len;

            zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
            if (zone->shpool->log_ctx == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(zone->shpool->log_ctx, " in llm_router_zone \"%V\"%Z",
                        &shm_zone->shm.name);
        }
    }

    sh = zone->sh;
    reg = zone->lmcf->registry;
    full = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = 0; i < reg->n; i++) {
        m = &reg->models[i];
        len = ngx_strlen(m->name);
        slot = NULL;

        for (j = 0; j < sh->nslots; j++) {
            if (sh->slots[j].len == len
                && ngx_strncmp(sh->slots[j].name, m->name, len) == 0)
            {
                slot = &sh->slots[j];
                break;
            }
        }

        if (slot == NULL && sh->nslots < NGX_HTTP_LLM_ROUTER_SLOTS) {
            slot = &sh->slots[sh->nslots++];
            ngx_memcpy(slot->name, m->name, len);
            slot->len = len;
        }

        if (slot == NULL) {
            full = 1;
        }

        zone->model_slot[i] = slot;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (full) {
        ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                      "llm_router_zone \"%V\" has no room for more than %d "
                      "model names; restart nginx to reset it, models "
                      "without a slot are not counted",
                      &shm_zone->shm.name, NGX_HTTP_LLM_ROUTER_SLOTS);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_llm_router_zone_init_process(ngx_cycle_t *cycle)
{
    return NGX_OK;
}


ngx_int_t
ngx_http_llm_router_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                        error;
    ngx_atomic_uint_t                 cost;
    ngx_http_llm_router_ctx_t        *ctx;
    ngx_http_llm_router_zone_t       *zone;
    ngx_http_llm_router_slot_t       *slot;
    ngx_http_llm_router_main_conf_t  *lmcf;

    if (r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_llm_router_get_ctx(r);

    if (ctx == NULL || ctx->explain || ctx->accounted) {
        return NGX_OK;
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_llm_router_module);

    if (lmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    zone = lmcf->shm_zone->data;
    ctx->accounted = 1;

    if (!ctx->decided) {
        (void) ngx_atomic_fetch_add(&zone->sh->rejected, 1);
        return NGX_OK;
    }

    if (ctx->defaulted) {
        (void) ngx_atomic_fetch_add(&zone->sh->defaulted, 1);
    }

    error = (r->headers_out.status >= 400 || r->connection->error);
    cost = (ngx_atomic_uint_t) (ctx->dec.est_cost * 1e6 + 0.5);

    ngx_http_llm_router_count(&zone->sh->total, error, cost);
    ngx_http_llm_router_count(&zone->sh->tiers[ctx->dec.tier], error, cost);
    ngx_http_llm_router_count(&zone->sh->domains[ctx->cls.domain], error,
                              cost);

    slot = zone->model_slot[ctx->dec.model];

    if (slot) {
        ngx_http_llm_router_count(&slot->c, error, cost);
    }

    return NGX_OK;
}


static void
ngx_http_llm_router_count(ngx_http_llm_router_counters_t *c, ngx_uint_t error,
    ngx_atomic_uint_t cost)
{
    (void) ngx_atomic_fetch_add(&c->requests, 1);

    if (error) {
        (void) ngx_atomic_fetch_add(&c->errors, 1);
    }

    (void) ngx_atomic_fetch_add(&c->est_cost_micro, cost);
}
