
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_router_module.h"


typedef struct {
    ngx_str_t                   file;
    ngx_uint_t                  line;
} ngx_http_llm_router_model_line_t;


static void *ngx_http_llm_router_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_llm_router_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_llm_router_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_llm_router_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_router_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_llm_router_init_process(ngx_cycle_t *cycle);
static void ngx_http_llm_router_exit_process(ngx_cycle_t *cycle);
static void ngx_http_llm_router_cleanup_registry(void *data);
static char *ngx_http_llm_router_model(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_router_models(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_router_classifier_model(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_llm_router_cleanup_classifier(void *data);
static char *ngx_http_llm_router_route(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_router_set_enum(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_router_default_tier(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_llm_router_profile(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_llm_router_passthrough_conf(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_llm_router_error_page(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_llm_router_resolve_passthrough(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf);
static ngx_int_t ngx_http_llm_router_load_keys(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf);
static void ngx_http_llm_router_cleanup_keys(void *data);
static ngx_int_t ngx_http_llm_router_check_upstreams(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf);
static ngx_int_t ngx_http_llm_router_add_handler(ngx_conf_t *cf,
    ngx_http_phases phase, ngx_http_handler_pt handler, ngx_uint_t first);


static ngx_str_t  ngx_http_llm_router_rid = ngx_string("request_id");


static ngx_conf_enum_t  ngx_http_llm_router_route_modes[] = {
    { ngx_string("off"), NGX_HTTP_LLM_ROUTER_OFF },
    { ngx_string("on"), NGX_HTTP_LLM_ROUTER_ON },
    { ngx_string("fallback"), NGX_HTTP_LLM_ROUTER_FALLBACK },
    { ngx_null_string, 0 }
};


static ngx_conf_num_bounds_t  ngx_http_llm_router_attempts_bounds = {
    ngx_conf_check_num_bounds, 1, 10
};


static ngx_conf_enum_t  ngx_http_llm_router_on_error[] = {
    { ngx_string("reject"), NGX_HTTP_LLM_ROUTER_ERR_REJECT },
    { ngx_string("default"), NGX_HTTP_LLM_ROUTER_ERR_DEFAULT },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_llm_router_commands[] = {

    { ngx_string("llm_router_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_llm_router_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_llm_router_model,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_classifier_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_router_classifier_model,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_feedback"),
      NGX_HTTP_LOC_CONF|NGX_CONF_ANY,
      ngx_http_llm_router_feedback,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_feedback_learn"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_llm_router_feedback_learn,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_feedback_state"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_llm_router_feedback_state,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_llm_router_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_router_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_models"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_router_models,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_route"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_router_route,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, route),
      &ngx_http_llm_router_route_modes },

    { ngx_string("llm_route_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, max_body),
      NULL },

    { ngx_string("llm_route_on_error"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_router_set_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, on_error),
      &ngx_http_llm_router_on_error },

    { ngx_string("llm_route_default_tier"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_router_default_tier,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, default_tier),
      NULL },

    { ngx_string("llm_route_client_model"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, client_model),
      NULL },

    { ngx_string("llm_route_client_tier"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, client_tier),
      NULL },

    { ngx_string("llm_route_max_attempts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, max_attempts),
      &ngx_http_llm_router_attempts_bounds },

    { ngx_string("llm_route_stream_usage"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, stream_usage),
      NULL },

    { ngx_string("llm_route_translate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, translate),
      NULL },

    { ngx_string("llm_route_profile"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_llm_router_profile,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, profile),
      NULL },

    { ngx_string("llm_route_escalate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_llm_router_escalate,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_route_ab"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_llm_router_ab,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_budget"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_llm_router_budget,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_health"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_llm_router_health,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_route_explain"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_router_explain,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_route_explain_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_llm_router_loc_conf_t, explain_header),
      NULL },

    { ngx_string("llm_error_page"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_llm_router_error_page,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_passthrough"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_llm_router_passthrough_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("llm_reference_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_llm_router_main_conf_t, reference_name),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_llm_router_module_ctx = {
    ngx_http_llm_router_preconfiguration,  /* preconfiguration */
    ngx_http_llm_router_postconfiguration, /* postconfiguration */

    ngx_http_llm_router_create_main_conf,  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_llm_router_create_loc_conf,   /* create location configuration */
    ngx_http_llm_router_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_llm_router_module = {
    NGX_MODULE_V1,
    &ngx_http_llm_router_module_ctx,       /* module context */
    ngx_http_llm_router_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_llm_router_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_llm_router_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_llm_router_create_main_conf(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t               *cln;
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_router_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lmcf->shm_zone = NULL;
     *     lmcf->routed = 0;
     */

    ngx_http_llm_router_health_init_conf(&lmcf->health);

    llmr_learn_conf_init(&lmcf->learn);
    lmcf->learn_enabled = 1;
    lmcf->implicit = 1;
    lmcf->request_id_index = NGX_ERROR;

    lmcf->registry = llmr_registry_create();
    if (lmcf->registry == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        llmr_registry_destroy(lmcf->registry);
        return NULL;
    }

    cln->handler = ngx_http_llm_router_cleanup_registry;
    cln->data = lmcf->registry;

    if (ngx_array_init(&lmcf->model_lines, cf->pool, 8,
                       sizeof(ngx_http_llm_router_model_line_t))
        != NGX_OK
        || ngx_array_init(&lmcf->budgets, cf->pool, 4,
                          sizeof(ngx_http_llm_router_budget_t *))
           != NGX_OK)
    {
        return NULL;
    }

    return lmcf;
}


static void
ngx_http_llm_router_cleanup_registry(void *data)
{
    llmr_registry_destroy(data);
}


static void *
ngx_http_llm_router_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_llm_router_loc_conf_t  *llcf;

    llcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_router_loc_conf_t));
    if (llcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     llcf->budgets = NULL;
     */

    llcf->route = NGX_CONF_UNSET_UINT;
    llcf->max_body = NGX_CONF_UNSET_SIZE;
    llcf->on_error = NGX_CONF_UNSET_UINT;
    llcf->default_tier = NGX_CONF_UNSET_UINT;
    llcf->client_model = NGX_CONF_UNSET;
    llcf->client_tier = NGX_CONF_UNSET;
    llcf->max_attempts = NGX_CONF_UNSET_UINT;
    llcf->stream_usage = NGX_CONF_UNSET;
    llcf->translate = NGX_CONF_UNSET;
    llcf->profile = NGX_CONF_UNSET;
    llcf->escalate = NGX_CONF_UNSET_UINT;
    llcf->ab_split = NGX_CONF_UNSET_UINT;
    llcf->explain_header = NGX_CONF_UNSET;

    return llcf;
}


static char *
ngx_http_llm_router_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_llm_router_loc_conf_t *prev = parent;
    ngx_http_llm_router_loc_conf_t *conf = child;

    const llmr_model_t               *m;
    ngx_http_llm_router_main_conf_t  *lmcf;

    ngx_conf_merge_uint_value(conf->route, prev->route,
                              NGX_HTTP_LLM_ROUTER_OFF);
    ngx_conf_merge_size_value(conf->max_body, prev->max_body,
                              4 * 1024 * 1024);
    ngx_conf_merge_uint_value(conf->on_error, prev->on_error,
                              NGX_HTTP_LLM_ROUTER_ERR_REJECT);
    ngx_conf_merge_uint_value(conf->default_tier, prev->default_tier,
                              LLMR_TIER_MODERATE);
    ngx_conf_merge_value(conf->client_model, prev->client_model, 0);
    ngx_conf_merge_value(conf->client_tier, prev->client_tier, 1);
    ngx_conf_merge_uint_value(conf->max_attempts, prev->max_attempts, 3);
    ngx_conf_merge_value(conf->stream_usage, prev->stream_usage, 1);
    ngx_conf_merge_value(conf->translate, prev->translate, 1);
    ngx_conf_merge_value(conf->profile, prev->profile, LLMR_PROFILE_COST);
    ngx_conf_merge_value(conf->explain_header, prev->explain_header, 0);

    if (conf->budgets == NULL) {
        conf->budgets = prev->budgets;
    }

    if (conf->escalate == NGX_CONF_UNSET_UINT) {
        conf->escalate = (prev->escalate == NGX_CONF_UNSET_UINT)
                         ? 0 : prev->escalate;
        conf->escalate_mode = prev->escalate_mode;
        conf->escalate_to = prev->escalate_to;
    }

    if (conf->ab_split == NGX_CONF_UNSET_UINT) {
        conf->ab_split = (prev->ab_split == NGX_CONF_UNSET_UINT)
                         ? 0 : prev->ab_split;
        conf->ab_strategy = prev->ab_strategy;
    }

    llmr_adjust_conf_init(&conf->adjust);
    conf->adjust.escalate = conf->escalate;
    conf->adjust.escalate_mode = conf->escalate_mode;
    conf->adjust.ab_split = conf->ab_split;
    conf->adjust.ab_strategy = conf->ab_strategy;

    if (conf->escalate && conf->escalate_to.len) {
        lmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_llm_router_module);

        m = llmr_registry_find(lmcf->registry,
                               (const char *) conf->escalate_to.data,
                               conf->escalate_to.len);
        if (m == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown model \"%V\" in \"llm_route_escalate\" "
                               "to=", &conf->escalate_to);
            return NGX_CONF_ERROR;
        }

        conf->adjust.escalate_to = m->index;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_llm_router_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_llm_router_add_variables(cf);
}


static ngx_int_t
ngx_http_llm_router_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_router_module);

    if (lmcf->redis && lmcf->shm_zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"llm_redis\" requires \"llm_router_zone\" "
                      "in the http block");
        return NGX_ERROR;
    }

    if (lmcf->state.len) {
        if (lmcf->redis) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"llm_feedback_state\" cannot be used with "
                          "\"llm_redis\": the fleet's learned state is "
                          "kept in Redis");
            return NGX_ERROR;
        }

        if (lmcf->shm_zone == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"llm_feedback_state\" requires "
                          "\"llm_router_zone\" in the http block");
            return NGX_ERROR;
        }
    }

    if (lmcf->routed) {
        if (lmcf->shm_zone == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"llm_route\" requires \"llm_router_zone\" "
                          "in the http block");
            return NGX_ERROR;
        }

        if (lmcf->registry->n == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"llm_route\" requires at least one "
                          "\"llm_model\" (or \"llm_models\")");
            return NGX_ERROR;
        }
    }

    if (ngx_http_llm_router_redis_resolver(cf, lmcf->redis) != NGX_OK
        || ngx_http_llm_router_check_upstreams(cf, lmcf) != NGX_OK
        || ngx_http_llm_router_resolve_passthrough(cf, lmcf) != NGX_OK
        || ngx_http_llm_router_load_keys(cf, lmcf) != NGX_OK
        || ngx_http_llm_router_status_init(cf, lmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* which model serves each tier: a learning step changes the model */
    llmr_learn_conf_groups(&lmcf->learn, lmcf->registry);

    lmcf->request_id_index = ngx_http_get_variable_index(cf,
                                            &ngx_http_llm_router_rid);
    if (lmcf->request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* the built-in model is parsed once, here, before workers fork */

    (void) llmr_classifier_default();

    if (llmr_classifier_default_error()) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "llm_router: the built-in classifier model did not "
                      "load (%s), the hand-set weights are used",
                      llmr_classifier_default_error());
    }

    /*
     * Routing runs at the end of the access phase, after allow/deny,
     * auth_basic and auth_request, so only admitted requests have their
     * bodies read.  Under "satisfy any" a granting module ends the access
     * phase early; the same handler in the precontent phase then routes.
     */

    if (ngx_http_llm_router_filter_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_llm_router_add_handler(cf, NGX_HTTP_ACCESS_PHASE,
                                        ngx_http_llm_router_handler, 1)
        != NGX_OK
        || ngx_http_llm_router_add_handler(cf, NGX_HTTP_PRECONTENT_PHASE,
                                           ngx_http_llm_router_handler, 0)
           != NGX_OK
        || ngx_http_llm_router_add_handler(cf, NGX_HTTP_LOG_PHASE,
                                           ngx_http_llm_router_log_handler, 0)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Handlers of a phase run in the reverse order of the array; "first"
 * puts ours at index 0, so it runs after every other handler of the phase.
 */

static ngx_int_t
ngx_http_llm_router_add_handler(ngx_conf_t *cf, ngx_http_phases phase,
    ngx_http_handler_pt handler, ngx_uint_t first)
{
    ngx_array_t                *a;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    a = &cmcf->phases[phase].handlers;

    h = ngx_array_push(a);
    if (h == NULL) {
        return NGX_ERROR;
    }

    if (first && a->nelts > 1) {
        h = a->elts;
        ngx_memmove(&h[1], &h[0], (a->nelts - 1) * sizeof(*h));
    }

    *h = handler;

    return NGX_OK;
}


static char *
ngx_http_llm_router_error_page(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_llm_router_error_page_handler;

    return NGX_CONF_OK;
}


/* llm_passthrough API MODEL; */

static char *
ngx_http_llm_router_passthrough_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    int         api;
    ngx_str_t  *value;

    value = cf->args->elts;

    api = llmr_api_parse((const char *) value[1].data, value[1].len);

    if (api < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid API \"%V\" in \"llm_passthrough\" "
                           "(openai, anthropic or gemini)", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (lmcf->pass_name[api].data) {
        return "is duplicate";
    }

    lmcf->pass_name[api] = value[2];

    return NGX_CONF_OK;
}


/*
 * Each API's other endpoints go to the model llm_passthrough names, which
 * must speak that API; by default, the first model registered that does.
 */

static ngx_int_t
ngx_http_llm_router_resolve_passthrough(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    ngx_uint_t           api, i;
    const llmr_model_t  *m;

    for (api = 0; api < LLMR_API_N; api++) {
        lmcf->pass[api] = -1;

        if (lmcf->pass_name[api].data == NULL) {
            for (i = 0; i < lmcf->registry->n; i++) {
                if (lmcf->registry->models[i].api == (int) api) {
                    lmcf->pass[api] = (ngx_int_t) i;
                    break;
                }
            }

            continue;
        }

        m = llmr_registry_find(lmcf->registry,
                               (const char *) lmcf->pass_name[api].data,
                               lmcf->pass_name[api].len);

        if (m == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"llm_passthrough %s\": no model \"%V\"",
                          llmr_api_name((int) api), &lmcf->pass_name[api]);
            return NGX_ERROR;
        }

        if (m->api != (int) api) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"llm_passthrough %s\": model \"%V\" speaks "
                          "the %s API", llmr_api_name((int) api),
                          &lmcf->pass_name[api], llmr_api_name(m->api));
            return NGX_ERROR;
        }

        lmcf->pass[api] = m->index;
    }

    return NGX_OK;
}


/*
 * key_file=: read now, by the master, as the header value its API takes
 * ("Bearer KEY" for OpenAI's).
 */

static ngx_int_t
ngx_http_llm_router_load_keys(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    u_char              *p, what[128];
    ngx_str_t            name, secret, *key;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;
    const llmr_model_t  *m;

    lmcf->keys = NULL;

    for (i = 0; i < lmcf->registry->n; i++) {
        m = &lmcf->registry->models[i];

        if (m->key_file == NULL) {
            continue;
        }

        if (lmcf->keys == NULL) {
            lmcf->keys = ngx_pcalloc(cf->pool,
                                     lmcf->registry->n * sizeof(ngx_str_t));
            cln = ngx_pool_cleanup_add(cf->pool, 0);

            if (lmcf->keys == NULL || cln == NULL) {
                return NGX_ERROR;
            }

            cln->handler = ngx_http_llm_router_cleanup_keys;
            cln->data = lmcf;
        }

        name.data = (u_char *) m->key_file;
        name.len = ngx_strlen(m->key_file);

        ngx_snprintf(what, sizeof(what), "llm_model \"%s\": key_file%Z",
                     m->name);

        if (ngx_http_llm_router_read_secret(cf, &name, (char *) what, 0,
                                            &secret)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        key = &lmcf->keys[i];
        key->len = secret.len
                   + (m->api == LLMR_API_OPENAI ? sizeof("Bearer ") - 1 : 0);
        key->data = ngx_pnalloc(cf->pool, key->len);

        if (key->data == NULL) {
            ngx_explicit_memzero(secret.data, secret.len);
            return NGX_ERROR;
        }

        p = key->data;

        if (m->api == LLMR_API_OPENAI) {
            p = ngx_cpymem(p, "Bearer ", sizeof("Bearer ") - 1);
        }

        ngx_memcpy(p, secret.data, secret.len);
        ngx_explicit_memzero(secret.data, secret.len);
    }

    return NGX_OK;
}


/*
 * A secret in a file (a provider key, a password), relative to the
 * configuration directory, read at configuration time so that it stays
 * out of nginx.conf: the file holds it alone, surrounding whitespace
 * dropped.  A file that cannot be read, or that holds nothing, too much,
 * control characters or (unless spaces is set) spaces, fails the
 * configuration with a message that names the file, never what it holds.
 * The secret is allocated from cf->pool; the caller zeroes what it copies.
 */

ngx_int_t
ngx_http_llm_router_read_secret(ngx_conf_t *cf, ngx_str_t *file,
    const char *what, ngx_uint_t spaces, ngx_str_t *secret)
{
    u_char      *start, *end, *p, buf[4096];
    ssize_t      n;
    ngx_fd_t     fd;
    ngx_str_t    name;
    const char  *why;

    name.len = file->len;
    name.data = ngx_pnalloc(cf->pool, file->len + 1);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(name.data, file->data, file->len + 1);

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "%s \"%V\" cannot be opened", what, &name);
        return NGX_ERROR;
    }

    n = read(fd, buf, sizeof(buf));
    (void) ngx_close_file(fd);

    if (n == -1) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                      "%s \"%V\" cannot be read", what, &name);
        return NGX_ERROR;
    }

    start = buf;
    end = buf + n;

    while (start < end && (*start == ' ' || *start == '\t'
                           || *start == '\r' || *start == '\n'))
    {
        start++;
    }

    while (end > start && (end[-1] == ' ' || end[-1] == '\t'
                           || end[-1] == '\r' || end[-1] == '\n'))
    {
        end--;
    }

    for (p = start; p < end; p++) {
        if (*p < 0x20 || *p == 0x7f || (*p == ' ' && !spaces)) {
            break;
        }
    }

    why = (start == end) ? "it is empty"
          : (n == (ssize_t) sizeof(buf)) ? "it is too long"
          : (p < end) ? (spaces ? "it holds control characters"
                                : "it holds spaces or control characters")
          : NULL;

    if (why) {
        ngx_explicit_memzero(buf, sizeof(buf));
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "%s \"%V\" must hold the secret alone (%s)", what,
                      &name, why);
        return NGX_ERROR;
    }

    secret->len = end - start;
    secret->data = ngx_pnalloc(cf->pool, secret->len);

    if (secret->data) {
        ngx_memcpy(secret->data, start, secret->len);
    }

    ngx_explicit_memzero(buf, sizeof(buf));

    return secret->data ? NGX_OK : NGX_ERROR;
}


/* a configuration's keys do not outlive it in freed memory */

static void
ngx_http_llm_router_cleanup_keys(void *data)
{
    ngx_http_llm_router_main_conf_t *lmcf = data;

    ngx_uint_t  i;

    for (i = 0; i < lmcf->registry->n; i++) {
        if (lmcf->keys[i].len) {
            ngx_explicit_memzero(lmcf->keys[i].data, lmcf->keys[i].len);
        }
    }
}


static ngx_int_t
ngx_http_llm_router_check_upstreams(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf)
{
    size_t                              len;
    ngx_uint_t                          i, j, found;
    llmr_model_t                       *m;
    ngx_http_upstream_srv_conf_t      **uscfp;
    ngx_http_upstream_main_conf_t      *umcf;
    ngx_http_llm_router_model_line_t   *lines;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);
    uscfp = umcf->upstreams.elts;
    lines = lmcf->model_lines.elts;

    for (i = 0; i < lmcf->registry->n; i++) {
        m = &lmcf->registry->models[i];

        /* "host:port" is used as is, a name must be an upstream{} block */

        if (ngx_strchr(m->upstream, ':') != NULL) {
            continue;
        }

        len = ngx_strlen(m->upstream);
        found = 0;

        for (j = 0; j < umcf->upstreams.nelts; j++) {
            if (uscfp[j]->host.len == len
                && ngx_strncasecmp(uscfp[j]->host.data,
                                   (u_char *) m->upstream, len) == 0)
            {
                found = 1;
                break;
            }
        }

        if (!found) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "llm_model \"%s\": upstream \"%s\" is not defined "
                          "(no upstream{} block of that name) in %V:%ui",
                          m->name, m->upstream, &lines[i].file,
                          lines[i].line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_router_add_model_line(ngx_conf_t *cf,
    ngx_http_llm_router_main_conf_t *lmcf, ngx_uint_t n)
{
    ngx_http_llm_router_model_line_t  *line;

    while (lmcf->model_lines.nelts < n) {
        line = ngx_array_push(&lmcf->model_lines);
        if (line == NULL) {
            return NGX_ERROR;
        }

        line->file = cf->conf_file->file.name;
        line->line = cf->conf_file->line;
    }

    return NGX_OK;
}


static char *
ngx_http_llm_router_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    char         err[LLMR_ERRSTR_SIZE];
    ngx_str_t   *value;
    ngx_uint_t   i;
    llmr_str_t   name, args[16];

    value = cf->args->elts;

    if (cf->args->nelts - 2 > 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many parameters in \"llm_model\"");
        return NGX_CONF_ERROR;
    }

    name.data = (const char *) value[1].data;
    name.len = value[1].len;

    for (i = 2; i < cf->args->nelts; i++) {
        args[i - 2].data = (const char *) value[i].data;
        args[i - 2].len = value[i].len;
    }

    if (llmr_registry_add(lmcf->registry, &name, args, cf->args->nelts - 2,
                          err, sizeof(err))
        != LLMR_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llm_model \"%V\": %s",
                           &value[1], err);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_llm_router_add_model_line(cf, lmcf, lmcf->registry->n)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_llm_router_models(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    char        err[LLMR_ERRSTR_SIZE];
    ngx_str_t  *value, file;

    value = cf->args->elts;
    file = value[1];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (llmr_registry_load_file(lmcf->registry, (const char *) file.data,
                                err, sizeof(err))
        != LLMR_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "llm_models \"%V\": %s",
                           &file, err);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_llm_router_add_model_line(cf, lmcf, lmcf->registry->n)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_llm_router_classifier_model(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_llm_router_main_conf_t *lmcf = conf;

    char                 err[LLMR_ERRSTR_SIZE];
    ngx_str_t           *value, file;
    ngx_pool_cleanup_t  *cln;

    if (lmcf->classifier) {
        return "is duplicate";
    }

    value = cf->args->elts;
    file = value[1];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    err[0] = '\0';

    lmcf->classifier = llmr_classifier_load((const char *) file.data, err,
                                            sizeof(err));
    if (lmcf->classifier == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_classifier_model \"%V\": %s", &file, err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_llm_router_cleanup_classifier;
    cln->data = lmcf->classifier;

    return NGX_CONF_OK;
}


static void
ngx_http_llm_router_cleanup_classifier(void *data)
{
    llmr_classifier_destroy(data);
}


static char *
ngx_http_llm_router_route(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                             *rv;
    ngx_http_llm_router_loc_conf_t   *llcf = conf;
    ngx_http_llm_router_main_conf_t  *lmcf;

    rv = ngx_http_llm_router_set_enum(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (llcf->route != NGX_HTTP_LLM_ROUTER_OFF) {
        lmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_llm_router_module);
        lmcf->routed = 1;
    }

    return NGX_CONF_OK;
}


/* ngx_conf_set_enum_slot(), with a message that names the directive */

static char *
ngx_http_llm_router_set_enum(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    u_char           buf[128], *b;
    ngx_str_t       *value;
    ngx_uint_t      *np, i;
    ngx_conf_enum_t *e;

    np = (ngx_uint_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    e = cmd->post;

    for (i = 0; e[i].name.len != 0; i++) {
        if (e[i].name.len == value[1].len
            && ngx_strcasecmp(e[i].name.data, value[1].data) == 0)
        {
            *np = e[i].value;
            return NGX_CONF_OK;
        }
    }

    b = buf;

    for (i = 0; e[i].name.len != 0; i++) {
        b = ngx_slprintf(b, buf + sizeof(buf), "%s\"%V\"",
                         i == 0 ? "" : e[i + 1].name.len ? ", " : " or ",
                         &e[i].name);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be %*s", &value[1], &cmd->name, b - buf, buf);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_llm_router_default_tier(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_llm_router_loc_conf_t *llcf = conf;

    ngx_int_t   tier;
    ngx_str_t  *value;

    if (llcf->default_tier != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    tier = llmr_tier_parse((const char *) value[1].data, value[1].len);

    if (tier < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid tier \"%V\" in \"llm_route_default_tier\""
                           " (tiers are trivial, simple, moderate, complex, "
                           "expert)", &value[1]);
        return NGX_CONF_ERROR;
    }

    llcf->default_tier = tier;

    return NGX_CONF_OK;
}


static char *
ngx_http_llm_router_profile(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_loc_conf_t *llcf = conf;

    int         profile;
    ngx_str_t  *value;

    if (llcf->profile != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    profile = llmr_profile_parse((const char *) value[1].data, value[1].len);

    if (profile < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid profile \"%V\" in \"llm_route_profile\" "
                           "(profiles are cost-efficiency, balanced, "
                           "max-intelligence, speed, reasoning-first)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    llcf->profile = profile;

    return NGX_CONF_OK;
}


/* a "0.6" or "60%" in [0, 1], as a percentage or per 10000 */

static ngx_int_t
ngx_http_llm_router_parse_share(u_char *p, size_t len, ngx_uint_t scale)
{
    char    buf[32], *end;
    double  v;

    if (len == 0 || len >= sizeof(buf)) {
        return NGX_ERROR;
    }

    ngx_memcpy(buf, p, len);
    buf[len] = '\0';

    v = strtod(buf, &end);

    if (*end == '%' && end[1] == '\0') {
        v /= 100;

    } else if (*end != '\0') {
        return NGX_ERROR;
    }

    if (!(v >= 0 && v <= 1)) {
        return NGX_ERROR;
    }

    return (ngx_int_t) (v * scale + 0.5);
}


/* llm_route_escalate threshold=0.6 [to=MODEL] [mode=always|log_only|ask] */

char *
ngx_http_llm_router_escalate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_loc_conf_t *llcf = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (llcf->escalate != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        llcf->escalate = 0;
        return NGX_CONF_OK;
    }

    llcf->escalate = 0;
    llcf->escalate_mode = LLMR_ESCALATE_ALWAYS;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "threshold=", 10) == 0) {
            n = ngx_http_llm_router_parse_share(value[i].data + 10,
                                                value[i].len - 10, 100);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            llcf->escalate = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "to=", 3) == 0 && value[i].len > 3) {
            llcf->escalate_to.data = value[i].data + 3;
            llcf->escalate_to.len = value[i].len - 3;
            continue;
        }

        if (ngx_strcmp(value[i].data, "mode=always") == 0) {
            llcf->escalate_mode = LLMR_ESCALATE_ALWAYS;
            continue;
        }

        if (ngx_strcmp(value[i].data, "mode=log_only") == 0) {
            llcf->escalate_mode = LLMR_ESCALATE_LOG_ONLY;
            continue;
        }

        if (ngx_strcmp(value[i].data, "mode=ask") == 0) {
            llcf->escalate_mode = LLMR_ESCALATE_ASK;
            continue;
        }

        goto invalid;
    }

    if (llcf->escalate == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_route_escalate\" needs threshold=");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"llm_route_escalate\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/* llm_route_ab split=0.05 [strategy=quality_first|cost_first] */

char *
ngx_http_llm_router_ab(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_router_loc_conf_t *llcf = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (llcf->ab_split != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        llcf->ab_split = 0;
        return NGX_CONF_OK;
    }

    llcf->ab_split = 0;
    llcf->ab_strategy = LLMR_AB_QUALITY_FIRST;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "split=", 6) == 0) {
            n = ngx_http_llm_router_parse_share(value[i].data + 6,
                                                value[i].len - 6, 10000);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            llcf->ab_split = n;
            continue;
        }

        if (ngx_strcmp(value[i].data, "strategy=quality_first") == 0) {
            llcf->ab_strategy = LLMR_AB_QUALITY_FIRST;
            continue;
        }

        if (ngx_strcmp(value[i].data, "strategy=cost_first") == 0) {
            llcf->ab_strategy = LLMR_AB_COST_FIRST;
            continue;
        }

        goto invalid;
    }

    if (llcf->ab_split == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_route_ab\" needs split=");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"llm_route_ab\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_llm_router_init_process(ngx_cycle_t *cycle)
{
    ngx_http_llm_router_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_llm_router_module);

    if (lmcf == NULL || !lmcf->routed) {
        return NGX_OK;
    }

    ngx_http_llm_router_ids_init_process();

    if (ngx_http_llm_router_init_extractor(cycle) != NGX_OK
        || ngx_http_llm_router_translate_init_process(cycle) != NGX_OK
        || ngx_http_llm_router_state_init_process(cycle, lmcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_llm_router_redis_init_process(cycle, lmcf);
}


static void
ngx_http_llm_router_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_llm_router_redis_exit_process(cycle);
    ngx_http_llm_router_state_exit_process(cycle);
    ngx_http_llm_router_free_extractor();
    ngx_http_llm_router_translate_exit_process();
    ngx_http_llm_router_usage_free_all();
}
