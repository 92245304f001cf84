
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/sds.h>

#include "ngx_http_llm_router_module.h"


/*
 * llm_redis tls=on.  hiredis 0.14 speaks no TLS, and needs none here:
 * it still opens the TCP connection (non-blocking), formats the commands
 * into its output buffer, keeps the queue of their callbacks and parses
 * the replies (with the module's size limit), but in TLS mode it never
 * reads or writes the socket.  nginx's own ngx_ssl does the handshake on
 * that socket, and these functions move the bytes between hiredis's
 * buffers and SSL_write / SSL_read; redis.c drives them from nginx's
 * events.  The SSL context is made once, at
 * configuration time, as proxy_pass's.
 *
 * A certificate is verified after the handshake, as nginx does for its
 * upstreams: the chain (SSL_get_verify_result), then the name, a DNS
 * name or an IP address.
 */


#define NGX_HTTP_LLM_ROUTER_TLS_DEPTH   9
#define NGX_HTTP_LLM_ROUTER_TLS_READ    16384


#if (NGX_SSL)

static char *ngx_http_llm_router_redis_tls_file(ngx_conf_t *cf,
    ngx_str_t *file, const char *what);
static void ngx_http_llm_router_redis_tls_info(const ngx_ssl_conn_t *ssl_conn,
    int where, int ret);
static void ngx_http_llm_router_redis_tls_error(u_char *err, size_t len,
    const char *what);
static ssize_t ngx_http_llm_router_redis_tls_io(ngx_connection_t *c,
    u_char *buf, size_t size, ngx_uint_t write, u_char *err, size_t len);
static ngx_uint_t ngx_http_llm_router_redis_tls_ip(ngx_str_t *name);


/*
 * The last fatal alert the server sent during the handshake: why it
 * refused us (one Redis connection a worker; -1: none).
 */

static int  ngx_http_llm_router_tls_alert = -1;

#endif

static ngx_int_t ngx_http_llm_router_redis_tls_flag(ngx_str_t *v,
    size_t skip, ngx_flag_t *flag);


/* tls=, tls_verify=, tls_ca=, tls_name=, tls_cert=, tls_key= */

ngx_int_t
ngx_http_llm_router_redis_tls_param(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *v)
{
    size_t      skip;
    ngx_str_t  *s;

    if (ngx_strncmp(v->data, "tls=", 4) == 0) {
        return ngx_http_llm_router_redis_tls_flag(v, 4, &rc->tls);
    }

    if (ngx_strncmp(v->data, "tls_verify=", 11) == 0) {
        return ngx_http_llm_router_redis_tls_flag(v, 11, &rc->tls_verify);
    }

    if (ngx_strncmp(v->data, "tls_ca=", 7) == 0) {
        s = &rc->tls_ca;
        skip = 7;

    } else if (ngx_strncmp(v->data, "tls_name=", 9) == 0) {
        s = &rc->tls_name;
        skip = 9;

    } else if (ngx_strncmp(v->data, "tls_cert=", 9) == 0) {
        s = &rc->tls_cert;
        skip = 9;

    } else if (ngx_strncmp(v->data, "tls_key=", 8) == 0) {
        s = &rc->tls_key;
        skip = 8;

    } else {
        return NGX_DECLINED;
    }

    if (s->data || v->len == skip) {
        return NGX_DECLINED;
    }

    /* the rest of the argument: NUL-terminated, as nginx reads it */

    s->data = v->data + skip;
    s->len = v->len - skip;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_router_redis_tls_flag(ngx_str_t *v, size_t skip,
    ngx_flag_t *flag)
{
    if (v->len == skip + 2 && ngx_strncmp(v->data + skip, "on", 2) == 0) {
        *flag = 1;
        return NGX_OK;
    }

    if (v->len == skip + 3 && ngx_strncmp(v->data + skip, "off", 3) == 0) {
        *flag = 0;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* the parameters that need one another; the SSL context */

char *
ngx_http_llm_router_redis_tls_init(ngx_conf_t *cf,
    ngx_http_llm_router_redis_conf_t *rc)
{
    const char          *given;
#if (NGX_SSL)
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;
#endif

    if (!rc->tls) {
        given = rc->tls_ca.len ? "tls_ca="
                : rc->tls_name.len ? "tls_name="
                : rc->tls_cert.len ? "tls_cert="
                : rc->tls_key.len ? "tls_key="
                : rc->tls_verify != NGX_CONF_UNSET ? "tls_verify="
                : NULL;

        if (given) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"llm_redis\": %s needs tls=on", given);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (rc->unix_path.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": tls=on needs a TCP address "
                           "(Redis speaks no TLS on a unix socket)");
        return NGX_CONF_ERROR;
    }

    if ((rc->tls_cert.len == 0) != (rc->tls_key.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": %s needs %s",
                           rc->tls_cert.len ? "tls_cert=" : "tls_key=",
                           rc->tls_cert.len ? "tls_key=" : "tls_cert=");
        return NGX_CONF_ERROR;
    }

    if (rc->tls_verify == NGX_CONF_UNSET) {
        rc->tls_verify = 1;
    }

#if !(NGX_SSL)

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"llm_redis\": tls=on needs nginx built with SSL");
    return NGX_CONF_ERROR;

#else

    if (ngx_http_llm_router_redis_tls_file(cf, &rc->tls_ca, "tls_ca")
        != NGX_CONF_OK
        || ngx_http_llm_router_redis_tls_file(cf, &rc->tls_cert, "tls_cert")
           != NGX_CONF_OK
        || ngx_http_llm_router_redis_tls_file(cf, &rc->tls_key, "tls_key")
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    /*
     * hiredis's output buffer grows, and may move, between a write that
     * must be retried and its retry
     */
    SSL_CTX_set_mode(ssl->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    if (rc->tls_cert.len
        && ngx_ssl_certificate(cf, ssl, &rc->tls_cert, &rc->tls_key, NULL)
           != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"llm_redis\": tls_cert=\"%V\" and "
                           "tls_key=\"%V\" are not a certificate and its "
                           "key", &rc->tls_cert, &rc->tls_key);
        return NGX_CONF_ERROR;
    }

    if (rc->tls_verify) {
        if (ngx_ssl_trusted_certificate(cf, ssl, &rc->tls_ca,
                                        NGX_HTTP_LLM_ROUTER_TLS_DEPTH)
            != NGX_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"llm_redis\": tls_ca=\"%V\" holds no "
                               "usable CA certificate", &rc->tls_ca);
            return NGX_CONF_ERROR;
        }

        /* without tls_ca=, the CAs the system trusts */

        if (rc->tls_ca.len == 0
            && SSL_CTX_set_default_verify_paths(ssl->ctx) != 1)
        {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"llm_redis\": cannot load the system's CA "
                          "certificates (set tls_ca=)");
            return NGX_CONF_ERROR;
        }
    }

    rc->ssl = ssl;

    return NGX_CONF_OK;

#endif
}


#if (NGX_SSL)

/* a file named by a parameter, relative to the configuration directory */

static char *
ngx_http_llm_router_redis_tls_file(ngx_conf_t *cf, ngx_str_t *file,
    const char *what)
{
    ngx_fd_t  fd;

    if (file->len == 0) {
        return NGX_CONF_OK;
    }

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"llm_redis\": cannot read %s=\"%V\"",
                           what, file);
        return NGX_CONF_ERROR;
    }

    (void) ngx_close_file(fd);

    return NGX_CONF_OK;
}


/*
 * The TCP connect is over (hiredis's, non-blocking): starts the
 * handshake.  NGX_OK: it is done; NGX_AGAIN: done() runs when it is
 * (nginx's handshake handlers have the events until then); NGX_ERROR:
 * err says why.
 */

ngx_int_t
ngx_http_llm_router_redis_tls_handshake(ngx_connection_t *c,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *name,
    ngx_connection_handler_pt done, u_char *err, size_t len)
{
    int        e;
    u_char    *p;
    ngx_int_t  rv;
    socklen_t  n;

    e = 0;
    n = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &e, &n) == -1) {
        e = ngx_socket_errno;
    }

    if (e) {
        p = ngx_strerror(e, err, len - 1);
        *p = '\0';
        return NGX_ERROR;
    }

    /*
     * a handshake that fails is logged by nginx at "info", not "crit":
     * it reaches the error log once, as the state's change, and
     * redis.error, with the alert the server sent
     */
    c->log_error = NGX_ERROR_INFO;

    if (ngx_ssl_create_connection(rc->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
        ngx_http_llm_router_redis_tls_error(err, len, "cannot start TLS");
        return NGX_ERROR;
    }

    ngx_http_llm_router_tls_alert = -1;
    SSL_set_info_callback(c->ssl->connection,
                          ngx_http_llm_router_redis_tls_info);

    /* SNI, for a name only */

    if (!ngx_http_llm_router_redis_tls_ip(name)
        && SSL_set_tlsext_host_name(c->ssl->connection, (char *) name->data)
           != 1)
    {
        ngx_http_llm_router_redis_tls_error(err, len, "cannot set SNI");
        return NGX_ERROR;
    }

    c->ssl->handler = done;

    rv = ngx_ssl_handshake(c);

    if (rv == NGX_ERROR) {
        ngx_http_llm_router_redis_tls_error(err, len, "TLS handshake failed");
    }

    return rv;
}


/* the server's certificate, after the handshake: NGX_OK or err */

ngx_int_t
ngx_http_llm_router_redis_tls_verify(ngx_connection_t *c,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *name, u_char *err,
    size_t len)
{
    int    ok;
    long   rv;
    X509  *cert;

    if (c->ssl == NULL || !c->ssl->handshaked) {
        ngx_http_llm_router_redis_tls_error(err, len, "TLS handshake failed");
        return NGX_ERROR;
    }

    if (!rc->tls_verify) {
        return NGX_OK;
    }

    rv = SSL_get_verify_result(c->ssl->connection);

    if (rv != X509_V_OK) {
        ngx_snprintf(err, len - 1, "TLS certificate: %s (%l)%Z",
                     X509_verify_cert_error_string(rv), rv);
        return NGX_ERROR;
    }

    cert = SSL_get_peer_certificate(c->ssl->connection);

    if (cert == NULL) {
        ngx_snprintf(err, len - 1, "TLS: the server sent no certificate%Z");
        return NGX_ERROR;
    }

    if (ngx_http_llm_router_redis_tls_ip(name)) {
        ok = X509_check_ip_asc(cert, (char *) name->data, 0);

    } else {
        ok = X509_check_host(cert, (char *) name->data, name->len, 0, NULL);
    }

    X509_free(cert);

    if (ok != 1) {
        ngx_snprintf(err, len - 1, "TLS certificate does not match "
                     "\"%V\"%Z", name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * hiredis's output buffer through SSL_write: NGX_OK once it is all
 * sent, NGX_AGAIN (the write event says when to go on), NGX_ERROR with
 * err.
 */

ngx_int_t
ngx_http_llm_router_redis_tls_send(ngx_connection_t *c,
    redisAsyncContext *ac, u_char *err, size_t len)
{
    size_t   size;
    ssize_t  n;

    for ( ;; ) {
        size = sdslen(ac->c.obuf);

        if (size == 0) {
            return NGX_OK;
        }

        n = ngx_http_llm_router_redis_tls_io(c, (u_char *) ac->c.obuf, size,
                                             1, err, len);

        if (n == NGX_AGAIN || n == NGX_ERROR) {
            return n;
        }

        if ((size_t) n == size) {

            /* as hiredis does: a large batch's buffer is not kept */

            sdsfree(ac->c.obuf);
            ac->c.obuf = sdsempty();

            if (ac->c.obuf == NULL) {
                ngx_snprintf(err, len - 1, "out of memory%Z");
                return NGX_ERROR;
            }

            return NGX_OK;
        }

        sdsrange(ac->c.obuf, (int) n, -1);
    }
}


/*
 * One SSL_read into hiredis's reader: NGX_OK (the caller processes the
 * replies and reads again), NGX_AGAIN (nothing more now), NGX_ERROR with
 * err (the server closed the connection, or TLS failed).
 */

ngx_int_t
ngx_http_llm_router_redis_tls_recv(ngx_connection_t *c,
    redisAsyncContext *ac, u_char *err, size_t len)
{
    u_char   buf[NGX_HTTP_LLM_ROUTER_TLS_READ];
    ssize_t  n;

    n = ngx_http_llm_router_redis_tls_io(c, buf, sizeof(buf), 0, err, len);

    if (n == NGX_AGAIN || n == NGX_ERROR) {
        return n;
    }

    if (redisReaderFeed(ac->c.reader, (const char *) buf, (size_t) n)
        != REDIS_OK)
    {
        ngx_snprintf(err, len - 1, "out of memory%Z");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * SSL_write or SSL_read: nginx's ngx_ssl_write and ngx_ssl_recv without
 * their logging ("crit" for an alert such as "certificate required", at
 * every reconnect): the error reaches the log once, as the state's
 * change, with OpenSSL's reason.  Bytes, NGX_AGAIN or NGX_ERROR.  The
 * read event stays armed while connected, the write event while there
 * is something to send: an SSL_write that waits for a read goes on
 * after the next read event, an SSL_read that waits for a write after
 * the next write event (see redis.c).
 */

static ssize_t
ngx_http_llm_router_redis_tls_io(ngx_connection_t *c, u_char *buf,
    size_t size, ngx_uint_t write, u_char *err, size_t len)
{
    int            n, sslerr;
    ngx_err_t      e;
    const char    *what;
    unsigned long  ssl_e;

    ERR_clear_error();

    n = write ? SSL_write(c->ssl->connection, buf, (int) size)
              : SSL_read(c->ssl->connection, buf, (int) size);

    if (n > 0) {
        return n;
    }

    sslerr = SSL_get_error(c->ssl->connection, n);
    e = ngx_socket_errno;

    if (sslerr == SSL_ERROR_WANT_READ) {
        c->read->ready = 0;
        return NGX_AGAIN;
    }

    if (sslerr == SSL_ERROR_WANT_WRITE) {
        c->write->ready = 0;
        return NGX_AGAIN;
    }

    what = write ? "TLS write failed" : "TLS read failed";
    ssl_e = ERR_peek_last_error();

    if (sslerr == SSL_ERROR_ZERO_RETURN
        || (sslerr == SSL_ERROR_SYSCALL && ssl_e == 0 && e == 0))
    {
        ngx_snprintf(err, len - 1, "connection closed%Z");

    } else if (ssl_e) {
        ngx_snprintf(err, len - 1, "%s: %s%Z", what,
                     ERR_reason_error_string(ssl_e)
                     ? ERR_reason_error_string(ssl_e) : "unknown");

    } else {
        ngx_snprintf(err, len - 1, "%s: %s%Z", what, strerror(e));
    }

    ERR_clear_error();

    return NGX_ERROR;
}


/*
 * Frees the connection's SSL, without a close_notify: hiredis closes the
 * socket right after, and a shutdown left to finish later would outlive
 * the connection.
 */

void
ngx_http_llm_router_redis_tls_free(ngx_connection_t *c)
{
    if (c->ssl == NULL) {
        return;
    }

    c->ssl->no_wait_shutdown = 1;
    c->ssl->no_send_shutdown = 1;

    (void) ngx_ssl_shutdown(c);
}


/* a fatal alert from the server: what redis.error shows */

static void
ngx_http_llm_router_redis_tls_info(const ngx_ssl_conn_t *ssl_conn, int where,
    int ret)
{
    if ((where & SSL_CB_READ_ALERT) && (ret >> 8) == SSL3_AL_FATAL) {
        ngx_http_llm_router_tls_alert = ret & 0xff;
    }
}


static void
ngx_http_llm_router_redis_tls_error(u_char *err, size_t len,
    const char *what)
{
    if (ngx_http_llm_router_tls_alert >= 0) {
        ngx_snprintf(err, len - 1, "%s: the server sent alert %d (%s)%Z",
                     what, ngx_http_llm_router_tls_alert,
                     SSL_alert_desc_string_long(
                         ngx_http_llm_router_tls_alert));
        return;
    }

    ngx_snprintf(err, len - 1, "%s%Z", what);
}


/* an IP address (certificates name those as such), or a DNS name */

static ngx_uint_t
ngx_http_llm_router_redis_tls_ip(ngx_str_t *name)
{
#if (NGX_HAVE_INET6)
    u_char  buf[16];

    if (ngx_inet6_addr(name->data, name->len, buf) == NGX_OK) {
        return 1;
    }
#endif

    return ngx_inet_addr(name->data, name->len) != INADDR_NONE;
}


#else


ngx_int_t
ngx_http_llm_router_redis_tls_handshake(ngx_connection_t *c,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *name,
    ngx_connection_handler_pt done, u_char *err, size_t len)
{
    ngx_snprintf(err, len - 1, "no SSL%Z");
    return NGX_ERROR;
}


ngx_int_t
ngx_http_llm_router_redis_tls_verify(ngx_connection_t *c,
    ngx_http_llm_router_redis_conf_t *rc, ngx_str_t *name, u_char *err,
    size_t len)
{
    ngx_snprintf(err, len - 1, "no SSL%Z");
    return NGX_ERROR;
}


ngx_int_t
ngx_http_llm_router_redis_tls_send(ngx_connection_t *c,
    redisAsyncContext *ac, u_char *err, size_t len)
{
    ngx_snprintf(err, len - 1, "no SSL%Z");
    return NGX_ERROR;
}


ngx_int_t
ngx_http_llm_router_redis_tls_recv(ngx_connection_t *c,
    redisAsyncContext *ac, u_char *err, size_t len)
{
    ngx_snprintf(err, len - 1, "no SSL%Z");
    return NGX_ERROR;
}


void
ngx_http_llm_router_redis_tls_free(ngx_connection_t *c)
{
}

#endif
