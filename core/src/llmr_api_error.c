
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <stdio.h>
#include <string.h>

#include <llmr/api.h>


/*
 * The error types of each API by HTTP status, as the providers answer
 * them and their SDKs read them (the SDKs map the status to an exception
 * class; the type and message are what they show).
 */

static const char *
llmr_openai_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 429:
        return "rate_limit_error";
    default:
        return (status >= 500) ? "server_error" : "invalid_request_error";
    }
}


static const char *
llmr_anthropic_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 402:
        return "billing_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 504:
        return "timeout_error";
    case 529:
        return "overloaded_error";
    default:
        return (status >= 500) ? "api_error" : "invalid_request_error";
    }
}


static const char *
llmr_gemini_status(int status)
{
    switch (status) {
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "NOT_FOUND";
    case 409:
        return "ABORTED";
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 499:
        return "CANCELLED";
    case 501:
        return "UNIMPLEMENTED";
    case 502:
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return (status >= 500) ? "INTERNAL" : "INVALID_ARGUMENT";
    }
}


size_t
llmr_api_error_max(const char *code, size_t msg_len)
{
    /* the longest frame is Gemini's, with its ErrorInfo */

    return sizeof("{\"error\":{\"code\":999,\"message\":\"\",\"status\":"
                  "\"DEADLINE_EXCEEDED\",\"details\":[{\"@type\":"
                  "\"type.googleapis.com/google.rpc.ErrorInfo\","
                  "\"reason\":\"\",\"domain\":\"ngx_llm_router\"}]}}\n")
           + 2 * strlen(code) + 6 * msg_len + 64;
}


size_t
llmr_api_error(int api, int status, const char *code, const char *msg,
    size_t msg_len, char *buf, size_t size)
{
    int     n;
    size_t  len, m;

    if (size < llmr_api_error_max(code, msg_len)) {
        return 0;
    }

    switch (api) {

    case LLMR_API_ANTHROPIC:
        n = snprintf(buf, size, "{\"type\":\"error\",\"error\":{"
                     "\"type\":\"%s\",\"message\":\"",
                     llmr_anthropic_type(status));
        break;

    case LLMR_API_GEMINI:
        n = snprintf(buf, size, "{\"error\":{\"code\":%d,\"message\":\"",
                     status);
        break;

    default:
        n = snprintf(buf, size, "{\"error\":{\"message\":\"");
        break;
    }

    len = (size_t) n;
    m = llmr_json_escape(buf + len, size - len, msg, msg_len);
    len += m;

    switch (api) {

    case LLMR_API_ANTHROPIC:
        n = snprintf(buf + len, size - len, "\",\"code\":\"%s\"}}\n", code);
        break;

    case LLMR_API_GEMINI:
        n = snprintf(buf + len, size - len,
                     "\",\"status\":\"%s\",\"details\":[{\"@type\":"
                     "\"type.googleapis.com/google.rpc.ErrorInfo\","
                     "\"reason\":\"%s\",\"domain\":\"ngx_llm_router\"}]}}\n",
                     llmr_gemini_status(status), code);
        break;

    default:
        n = snprintf(buf + len, size - len,
                     "\",\"type\":\"%s\",\"param\":null,\"code\":\"%s\"}}\n",
                     llmr_openai_type(status), code);
        break;
    }

    return len + (size_t) n;
}


/*
 * The end of a stream its provider broke off, in the API's own framing:
 * an error event, then what the API's clients take as the end.  The
 * error is llmr_api_error()'s, its closing LF ending the data line.
 */

size_t
llmr_api_stream_error(int api, int status, const char *code,
    const char *msg, size_t msg_len, char *buf, size_t size)
{
    size_t       len, n;
    const char  *head, *tail;

    switch (api) {

    case LLMR_API_ANTHROPIC:
        head = "event: error\ndata: ";
        tail = "\n";
        break;

    case LLMR_API_GEMINI:
        head = "data: ";
        tail = "\r\n";
        break;

    default:
        head = "data: ";
        tail = "\ndata: [DONE]\n\n";
        break;
    }

    if (size < llmr_api_stream_error_max(code, msg_len)) {
        return 0;
    }

    len = strlen(head);
    memcpy(buf, head, len);

    n = llmr_api_error(api, status, code, msg, msg_len, buf + len,
                       size - len);
    if (n == 0) {
        return 0;
    }

    len += n;

    if (api == LLMR_API_GEMINI) {
        /* its events end with CR LF CR LF: the error's LF becomes one */
        buf[len - 1] = '\r';
        buf[len++] = '\n';
    }

    n = strlen(tail);
    memcpy(buf + len, tail, n);

    return len + n;
}


size_t
llmr_api_stream_error_max(const char *code, size_t msg_len)
{
    return llmr_api_error_max(code, msg_len)
           + sizeof("event: error\ndata: \ndata: [DONE]\n\n") + 2;
}
