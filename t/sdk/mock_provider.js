#!/usr/bin/env node
'use strict';

/*
 * A mock LLM provider for the SDK matrix: it speaks the OpenAI, Anthropic
 * and Gemini wire formats, chosen by the request path, closely enough that
 * the official SDKs parse its answers (JSON and server-sent events alike).
 * Node core modules only.
 *
 *   node mock_provider.js --port P --name NAME --log FILE [--host 127.0.0.1]
 *        [--tls-cert CERT.pem --tls-key KEY.pem] [--key SECRET]
 *        [--delay-ms MS]
 *
 * Prints "ready" on stdout once listening; exits on SIGTERM or SIGINT.
 *
 * Endpoints (any prefix before them is accepted: /v1, /v1beta, /proxy/x...):
 *   OpenAI     POST .../chat/completions, .../completions, .../responses,
 *              .../embeddings; GET .../models, .../models/ID
 *   Anthropic  POST .../messages, .../messages/count_tokens;
 *              GET .../models (when the request carries anthropic-version
 *              or x-api-key)
 *   Gemini     POST .../models/M:generateContent,
 *              .../models/M:streamGenerateContent (SSE, as with ?alt=sse),
 *              .../models/M:countTokens, .../models/M:embedContent,
 *              .../models/M:batchEmbedContents (what @google/genai calls
 *              for models.embedContent); M may also be tunedModels/X.
 *              GET .../models (when the request carries x-goog-api-key, a
 *              key= query or /v1beta/ in its path)
 *
 * The answer text is "mock answer from NAME" (streams split it into one
 * delta per word).  Usage: input tokens = ceil(body bytes / 4), output
 * tokens = 7.
 *
 * Request headers that steer an answer:
 *   X-Mock-Status: N         answer status N (>= 400) with the provider's
 *                            own error body
 *   X-Mock-Retry-After: S    add "Retry-After: S" to the answer
 *   X-Mock-Only: NAME[,NAME] X-Mock-Status and X-Mock-Retry-After apply
 *                            only to the mocks of these names; the others
 *                            answer as usual (a first model failing, the
 *                            next one answering, in one request)
 *   X-Mock-Usage: IN,OUT     the token usage reported
 *   X-Mock-Tool: 1           when the request declares tools, call the
 *                            first one with {"city":"Paris"}
 *   X-Mock-Delay: MS         wait MS milliseconds before answering
 *                            (default: --delay-ms, else 0)
 *   X-Mock-Chunk-Delay: MS   wait MS milliseconds between stream events
 *   X-Mock-Fault: F          a stream goes wrong after half its events:
 *                            stall (nothing more, the connection open),
 *                            reset (half an event, then a TCP reset),
 *                            garble (an event that is not JSON, then the
 *                            end), error (the API's own error event, then
 *                            the end)
 *   X-Mock-Stream-Bytes: N   a chat, messages or generateContent stream
 *                            carries N bytes of text, ~1 KB a delta
 *   X-Mock-Delta-Bytes: N    with X-Mock-Stream-Bytes: N bytes of text a
 *                            delta (one event of several MB, say)
 *   X-Mock-Stream-Tokens: N  a stream carries N deltas of one word each
 *                            (with X-Mock-Chunk-Delay: a trickle)
 *   X-Mock-Truncate: 1       a successful answer ends halfway: a JSON body
 *                            cut in the middle (its length as sent), a
 *                            stream after half its events
 *
 * While the file FILE.fail exists (FILE being --log), every request fails
 * with the status written in it (503 when it holds no number).
 *
 * With --key SECRET a request must carry the credential its API expects:
 *   OpenAI     Authorization: Bearer SECRET
 *   Anthropic  x-api-key: SECRET (or Authorization: Bearer SECRET, which is
 *              what @anthropic-ai/sdk 1.x sends for apiKey), and an
 *              anthropic-version header (without it: 400
 *              invalid_request_error, as the real API answers)
 *   Gemini     x-goog-api-key: SECRET or the query argument key=SECRET
 * else the answer is an authentication error in the provider's shape:
 * OpenAI 401 invalid_api_key, Anthropic 401 authentication_error, Gemini
 * 400 INVALID_ARGUMENT "API key not valid" for a wrong key (what Google
 * sends) and 401 UNAUTHENTICATED for a missing one (Google answers 403
 * PERMISSION_DENIED there; a distinct 401 is easier to tell apart in tests).
 *
 * A generation whose body is not one of its API (a top-level field the
 * API does not have, roles or blocks it does not take, Anthropic without
 * max_tokens, ...) gets a 400 in the API's shape, as the providers answer.
 *
 * Every answer carries X-Mock-Name: NAME.  Every request is appended to the
 * log as one JSON line: {name, method, path, query, headers, body, model,
 * case, status}.
 */

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

const OUTPUT_TOKENS = 7;
const TOOL_ARGS = { city: 'Paris' };
const TOOL_ARGS_PIECES = ['{"city":', ' "Paris"}'];
const EMBEDDING_DIMENSIONS = 8;


/* ---------------------------------------------------------------- options */

function parseArgs(argv) {
    const opts = { host: '127.0.0.1', delayMs: 0 };
    const names = {
        '--port': 'port', '--name': 'name', '--log': 'log', '--host': 'host',
        '--tls-cert': 'tlsCert', '--tls-key': 'tlsKey', '--key': 'key',
        '--delay-ms': 'delayMs',
    };
    for (let i = 0; i < argv.length; i++) {
        let arg = argv[i];
        let value;
        const eq = arg.indexOf('=');
        if (arg.startsWith('--') && eq > 0) {
            value = arg.slice(eq + 1);
            arg = arg.slice(0, eq);
        }
        const key = names[arg];
        if (!key) {
            usage(`unknown option ${arg}`);
        }
        if (value === undefined) {
            if (i + 1 >= argv.length) {
                usage(`${arg} needs a value`);
            }
            value = argv[++i];
        }
        opts[key] = value;
    }
    opts.port = Number(opts.port);
    opts.delayMs = Number(opts.delayMs) || 0;
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
        usage('--port P is required');
    }
    if (!opts.name) {
        usage('--name NAME is required');
    }
    if (!opts.log) {
        usage('--log FILE is required');
    }
    if (!!opts.tlsCert !== !!opts.tlsKey) {
        usage('--tls-cert and --tls-key go together');
    }
    return opts;
}

function usage(msg) {
    process.stderr.write(`mock_provider: ${msg}\n`
        + 'usage: mock_provider.js --port P --name NAME --log FILE'
        + ' [--host H] [--tls-cert CERT --tls-key KEY] [--key SECRET]'
        + ' [--delay-ms MS]\n');
    process.exit(2);
}


/* ------------------------------------------------------- request routing */

/*
 * What a request asks for: {api, op, model}.  api is "openai",
 * "anthropic" or "gemini"; op names the endpoint, null when none matches
 * (the answer is then a 404 in the shape of api).
 */
function route(method, path, headers, query) {
    const gemini = /\/((?:tunedModels|models)\/[^/:]+):([A-Za-z]+)$/.exec(path);
    if (gemini) {
        const target = gemini[1];
        const model = target.startsWith('models/')
            ? target.slice('models/'.length) : target;
        const ops = {
            generateContent: 'generate',
            streamGenerateContent: 'stream',
            countTokens: 'count_tokens',
            embedContent: 'embed',
            batchEmbedContents: 'batch_embed',
        };
        return { api: 'gemini', op: method === 'POST' ? ops[gemini[2]] || null : null, model };
    }

    const hinted = apiHint(path, headers, query);

    if (method === 'POST') {
        const posts = [
            ['/messages/count_tokens', 'anthropic', 'count_tokens'],
            ['/messages', 'anthropic', 'messages'],
            ['/chat/completions', 'openai', 'chat'],
            ['/completions', 'openai', 'completions'],
            ['/responses', 'openai', 'responses'],
            ['/embeddings', 'openai', 'embeddings'],
        ];
        for (const [suffix, api, op] of posts) {
            if (path.endsWith(suffix)) {
                return { api, op, model: null };
            }
        }
        return { api: hinted, op: null, model: null };
    }

    if (method === 'GET') {
        if (path.endsWith('/models')) {
            return { api: hinted, op: 'models', model: null };
        }
        const one = /\/models\/([^/]+)$/.exec(path);
        if (one) {
            return { api: hinted, op: 'model', model: one[1] };
        }
    }
    return { api: hinted, op: null, model: null };
}

/*
 * A generation's body must be one of its API: what the real providers
 * refuse with a 400 is refused here too (a body written for another API,
 * a field the API does not have at the top level, the roles and blocks
 * each API takes), so that a request translated for the wrong API shows.
 */
const TOP_LEVEL = {
    openai_chat: ['model', 'messages', 'max_tokens', 'max_completion_tokens', 'temperature',
        'top_p', 'stop', 'stream', 'stream_options', 'tools', 'tool_choice',
        'parallel_tool_calls', 'response_format', 'user', 'n', 'seed', 'presence_penalty',
        'frequency_penalty', 'metadata', 'store', 'logprobs', 'top_logprobs', 'logit_bias',
        'audio', 'modalities', 'prediction', 'reasoning_effort', 'service_tier',
        'web_search_options', 'safety_identifier', 'prompt_cache_key', 'verbosity'],
    anthropic_messages: ['model', 'messages', 'max_tokens', 'system', 'temperature', 'top_p',
        'top_k', 'stop_sequences', 'stream', 'tools', 'tool_choice', 'metadata', 'thinking',
        'service_tier', 'container', 'mcp_servers'],
    gemini_generate: ['contents', 'systemInstruction', 'system_instruction', 'tools',
        'toolConfig', 'tool_config', 'generationConfig', 'generation_config', 'safetySettings',
        'safety_settings', 'cachedContent', 'cached_content', 'labels'],
};
TOP_LEVEL.gemini_stream = TOP_LEVEL.gemini_generate;

function shapeError(r, body) {
    const allowed = TOP_LEVEL[`${r.api}_${r.op}`];
    if (!allowed || !body || typeof body !== 'object') {
        return null;
    }
    for (const k of Object.keys(body)) {
        if (!allowed.includes(k)) {
            return `${k}: Extra inputs are not permitted`;
        }
    }
    const isObj = (v) => v && typeof v === 'object' && !Array.isArray(v);
    if (r.api === 'openai') {
        if (typeof body.model !== 'string' || !Array.isArray(body.messages) || !body.messages.length) {
            return 'model and messages are required';
        }
        for (const m of body.messages) {
            if (!isObj(m) || !['system', 'developer', 'user', 'assistant', 'tool'].includes(m.role)) {
                return 'messages: invalid role';
            }
            if (m.role === 'tool' && typeof m.tool_call_id !== 'string') {
                return 'messages: a tool message needs tool_call_id';
            }
            if (Array.isArray(m.content)) {
                for (const part of m.content) {
                    if (!isObj(part) || !['text', 'image_url', 'input_audio', 'file', 'refusal'].includes(part.type)) {
                        return 'messages: invalid content part';
                    }
                }
            } else if (m.content !== null && m.content !== undefined && typeof m.content !== 'string') {
                return 'messages: invalid content';
            }
        }
        return null;
    }
    if (r.api === 'anthropic') {
        if (typeof body.model !== 'string' || !Number.isInteger(body.max_tokens)
            || !Array.isArray(body.messages) || !body.messages.length) {
            return 'model, max_tokens and messages are required';
        }
        let prev = null;
        for (const m of body.messages) {
            if (!isObj(m) || !['user', 'assistant'].includes(m.role)) {
                return 'messages: roles must be user or assistant';
            }
            if (prev === null && m.role !== 'user') {
                return 'messages: the first message must use the user role';
            }
            prev = m.role;
            if (Array.isArray(m.content)) {
                for (const b of m.content) {
                    if (!isObj(b) || !['text', 'image', 'tool_use', 'tool_result', 'document',
                        'thinking', 'redacted_thinking'].includes(b.type)) {
                        return 'messages: invalid content block';
                    }
                }
            } else if (typeof m.content !== 'string') {
                return 'messages: content must be a string or blocks';
            }
        }
        if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) {
            return 'system: must be a string or text blocks';
        }
        return null;
    }
    if (!Array.isArray(body.contents) || !body.contents.length) {
        return 'contents is required';
    }
    for (const c of body.contents) {
        if (!isObj(c) || (c.role !== undefined && !['user', 'model'].includes(c.role))
            || !Array.isArray(c.parts) || !c.parts.length) {
            return 'contents: invalid content';
        }
    }
    return null;
}

/* the API a request speaks when its path does not tell */
function apiHint(path, headers, query) {
    if (headers['anthropic-version'] !== undefined || headers['x-api-key'] !== undefined) {
        return 'anthropic';
    }
    if (headers['x-goog-api-key'] !== undefined || query.has('key') || path.includes('/v1beta/')) {
        return 'gemini';
    }
    return 'openai';
}


/* ---------------------------------------------------------------- errors */

const GEMINI_STATUS = {
    400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND', 409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED',
    499: 'CANCELLED', 500: 'INTERNAL', 501: 'UNIMPLEMENTED',
    503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

const ANTHROPIC_TYPE = {
    400: 'invalid_request_error', 401: 'authentication_error',
    402: 'billing_error', 403: 'permission_error', 404: 'not_found_error',
    413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error',
    503: 'overloaded_error', 504: 'timeout_error', 529: 'overloaded_error',
};

const OPENAI_ERROR = {
    400: ['invalid_request_error', null],
    401: ['invalid_request_error', 'invalid_api_key'],
    403: ['invalid_request_error', 'permission_denied'],
    404: ['invalid_request_error', 'model_not_found'],
    429: ['rate_limit_error', 'rate_limit_exceeded'],
};

/* {status, body, headers} of an error in the shape of api */
function errorAnswer(api, status, message, requestId, extra = {}) {
    message = message || `mock error ${status}`;
    if (api === 'anthropic') {
        const type = extra.type
            || ANTHROPIC_TYPE[status] || (status >= 500 ? 'api_error' : 'invalid_request_error');
        return {
            status,
            headers: { 'request-id': requestId },
            body: { type: 'error', error: { type, message }, request_id: requestId },
        };
    }
    if (api === 'gemini') {
        const error = {
            code: status,
            message,
            status: extra.status
                || GEMINI_STATUS[status] || (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
        };
        if (extra.details) {
            error.details = extra.details;
        }
        return { status, headers: {}, body: { error } };
    }
    const [type, code] = OPENAI_ERROR[status]
        || (status >= 500 ? ['server_error', null] : ['invalid_request_error', null]);
    return {
        status,
        headers: { 'x-request-id': requestId },
        body: {
            error: {
                message,
                type: extra.type || type,
                param: null,
                code: extra.code !== undefined ? extra.code : code,
            },
        },
    };
}

/* the error answer for a request that lacks its credential, or null */
function checkAuth(api, key, headers, query) {
    if (key === undefined) {
        return null;
    }
    const bearer = headers.authorization === `Bearer ${key}`;
    if (api === 'anthropic') {
        if (headers['x-api-key'] !== key && !bearer) {
            return [401, 'invalid x-api-key', {}];
        }
        if (headers['anthropic-version'] === undefined) {
            return [400, 'anthropic-version: header is required', {}];
        }
        return null;
    }
    if (api === 'gemini') {
        const given = headers['x-goog-api-key'] ?? query.get('key');
        if (given === undefined || given === null) {
            return [401, 'Method doesn\'t allow unregistered callers (callers without'
                + ' established identity). Please use API Key or other form of API'
                + ' consumer identity to call this API.', {}];
        }
        if (given !== key) {
            return [400, 'API key not valid. Please pass a valid API key.', {
                status: 'INVALID_ARGUMENT',
                details: [{
                    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                    reason: 'API_KEY_INVALID',
                    domain: 'googleapis.com',
                    metadata: { service: 'generativelanguage.googleapis.com' },
                }],
            }];
        }
        return null;
    }
    if (!bearer) {
        return [401, 'Incorrect API key provided. You can find your API key at'
            + ' your provider\'s dashboard.', {}];
    }
    return null;
}


/* ---------------------------------------------------------------- helpers */

function nowSeconds() {
    return Math.floor(Date.now() / 1000);
}

function sleep(ms) {
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

function intHeader(headers, name) {
    const v = headers[name];
    if (v === undefined) {
        return null;
    }
    const n = Number.parseInt(String(v), 10);
    return Number.isFinite(n) ? n : null;
}

/* the answer text split into stream deltas, one per word */
function deltas(text) {
    return text.match(/\s*\S+/g) || [text];
}

/* a deterministic vector of n floats for an input */
function embedding(input, n) {
    const s = typeof input === 'string' ? input : JSON.stringify(input ?? '');
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) {
        h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
    }
    const v = [];
    for (let i = 0; i < n; i++) {
        h = Math.imul(h ^ (i + 1), 2654435761) >>> 0;
        v.push(Math.round(((h % 2000) / 1000 - 1) * 1e4) / 1e4);
    }
    return v;
}

function float32Base64(values) {
    const buf = Buffer.alloc(values.length * 4);
    values.forEach((x, i) => buf.writeFloatLE(x, i * 4));
    return buf.toString('base64');
}

/* the first tool a request declares, or null */
function firstToolName(api, body) {
    if (!body || typeof body !== 'object') {
        return null;
    }
    const tools = Array.isArray(body.tools) ? body.tools : [];
    if (api === 'gemini') {
        for (const tool of tools) {
            const decls = tool && (tool.functionDeclarations || tool.function_declarations);
            if (Array.isArray(decls) && decls.length && decls[0].name) {
                return decls[0].name;
            }
        }
        return null;
    }
    for (const tool of tools) {
        const name = tool && ((tool.function && tool.function.name) || tool.name);
        if (name) {
            return name;
        }
    }
    return null;
}


/* ------------------------------------------------------ the mock server */

class MockProvider {
    constructor(opts) {
        this.opts = opts;
        this.failFile = `${opts.log}.fail`;
        this.text = `mock answer from ${opts.name}`;
        this.idTag = String(opts.name).replace(/[^A-Za-z0-9]/g, '') || 'mock';
        this.seq = 0;
    }

    nextId(prefix) {
        this.seq += 1;
        return `${prefix}${this.idTag}${String(this.seq).padStart(6, '0')}`;
    }

    log(entry) {
        try {
            fs.appendFileSync(this.opts.log, `${JSON.stringify(entry)}\n`);
        } catch (e) {
            process.stderr.write(`mock_provider: cannot write ${this.opts.log}: ${e.message}\n`);
        }
    }

    /* the status in FILE.fail while it exists, else null */
    failStatus() {
        let content;
        try {
            content = fs.readFileSync(this.failFile, 'utf8');
        } catch (e) {
            return null;
        }
        const n = Number.parseInt(content.trim(), 10);
        return Number.isInteger(n) && n >= 400 && n <= 599 ? n : 503;
    }

    handle(req, res) {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            this.answer(req, res, Buffer.concat(chunks)).catch((e) => {
                process.stderr.write(`mock_provider: ${e.stack || e}\n`);
                if (!res.headersSent) {
                    res.writeHead(500, { 'content-type': 'text/plain' });
                }
                res.end();
            });
        });
        req.on('error', () => res.destroy());
    }

    async answer(req, res, raw) {
        const url = new URL(req.url, 'http://mock.invalid');
        let path = url.pathname;
        try {
            path = decodeURIComponent(path);
        } catch (e) {
            /* keep it as it came */
        }
        const headers = req.headers;
        const query = url.searchParams;
        const bodyText = raw.toString('utf8');
        const r = route(req.method, path, headers, query);

        let body = null;
        let badJson = false;
        if (raw.length) {
            try {
                body = JSON.parse(bodyText);
            } catch (e) {
                badJson = true;
            }
        }
        const model = r.model
            || (body && typeof body === 'object' && typeof body.model === 'string' ? body.model : null);

        const ctx = {
            req, res, r, body, model,
            answerModel: model || 'mock-model',
            requestId: this.nextId('req_'),
            usage: this.usage(headers, raw.length),
            tool: headers['x-mock-tool'] === '1' ? firstToolName(r.api, body) : null,
            chunkDelay: intHeader(headers, 'x-mock-chunk-delay') || 0,
            truncate: headers['x-mock-truncate'] === '1',
            fault: typeof headers['x-mock-fault'] === 'string' ? headers['x-mock-fault'] : null,
            extraHeaders: { 'x-mock-name': this.opts.name },
            logEntry: {
                name: this.opts.name,
                method: req.method,
                path: url.pathname,
                query: url.search.startsWith('?') ? url.search.slice(1) : url.search,
                headers,
                body: bodyText,
                model,
                case: headers['x-test-case'] !== undefined ? String(headers['x-test-case']) : null,
                status: null,
            },
        };
        const only = headers['x-mock-only'];
        const steered = only === undefined
            || String(only).split(',').map((s) => s.trim()).includes(this.opts.name);
        const retryAfter = steered ? headers['x-mock-retry-after'] : undefined;
        if (retryAfter !== undefined) {
            ctx.extraHeaders['retry-after'] = String(retryAfter);
        }

        const delay = intHeader(headers, 'x-mock-delay');
        await sleep(delay !== null ? delay : this.opts.delayMs);

        const failing = this.failStatus();
        if (failing !== null) {
            return this.sendError(ctx, failing, `mock provider ${this.opts.name} is failing`);
        }
        const denied = checkAuth(r.api, this.opts.key, headers, query);
        if (denied) {
            return this.sendError(ctx, denied[0], denied[1], denied[2]);
        }
        const forced = steered ? intHeader(headers, 'x-mock-status') : null;
        if (forced !== null && forced >= 400 && forced <= 599) {
            return this.sendError(ctx, forced, `mock error ${forced} from ${this.opts.name}`);
        }
        if (r.op === null) {
            return this.sendError(ctx, 404, `no such endpoint: ${req.method} ${url.pathname}`);
        }
        if (badJson || (req.method === 'POST' && (body === null || typeof body !== 'object'))) {
            return this.sendError(ctx, 400, 'the request body is not a JSON object');
        }

        const invalid = shapeError(r, body);
        if (invalid) {
            return this.sendError(ctx, 400, invalid);
        }

        const handler = this[`${r.api}_${r.op}`];
        return handler.call(this, ctx);
    }

    usage(headers, bodyBytes) {
        const u = { in: Math.ceil(bodyBytes / 4), out: OUTPUT_TOKENS };
        const given = headers['x-mock-usage'];
        if (given !== undefined) {
            const [a, b] = String(given).split(',').map((s) => Number.parseInt(s.trim(), 10));
            if (Number.isInteger(a)) {
                u.in = a;
            }
            if (Number.isInteger(b)) {
                u.out = b;
            }
        }
        return u;
    }

    /* ---- writing answers */

    sendJson(ctx, status, obj, headers = {}) {
        let data = Buffer.from(JSON.stringify(obj));
        if (ctx.truncate && status < 400) {
            data = data.subarray(0, data.length >> 1);
        }
        ctx.logEntry.status = status;
        this.log(ctx.logEntry);
        ctx.res.writeHead(status, {
            'content-type': 'application/json',
            'content-length': data.length,
            ...ctx.extraHeaders,
            ...headers,
        });
        ctx.res.end(data);
    }

    sendError(ctx, status, message, extra) {
        const e = errorAnswer(ctx.r.api, status, message, ctx.requestId, extra);
        this.sendJson(ctx, e.status, e.body, e.headers);
    }

    /*
     * A stream of server-sent events: each event is [name or null, data],
     * data an object (written as JSON) or a string (written as is).
     */
    async sendSse(ctx, events, { separator = '\n\n', headers = {} } = {}) {
        ctx.logEntry.status = 200;
        this.log(ctx.logEntry);
        ctx.res.writeHead(200, {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache',
            ...ctx.extraHeaders,
            ...headers,
        });
        const n = ctx.truncate || ctx.fault ? events.length >> 1 : events.length;
        for (let i = 0; i < n; i++) {
            if (i > 0) {
                await sleep(ctx.chunkDelay);
            }
            const [name, data] = events[i];
            const payload = typeof data === 'string' ? data : JSON.stringify(data);
            const line = (name ? `event: ${name}\n` : '') + `data: ${payload}${separator}`;
            if (ctx.res.destroyed) {
                return;
            }
            ctx.res.write(line);
        }
        if (ctx.fault) {
            return this.streamFault(ctx, separator);
        }
        ctx.res.end();
    }

    /* a stream's text deltas: a word each, X-Mock-Stream-Tokens words or
       X-Mock-Stream-Bytes of text */
    streamDeltas(ctx) {
        const words = intHeader(ctx.req.headers, 'x-mock-stream-tokens');
        if (words && words > 0) {
            return Array.from({ length: words }, (_, i) => (i ? ' tok' : 'tok'));
        }
        const n = intHeader(ctx.req.headers, 'x-mock-stream-bytes');
        if (!n || n <= 0) {
            return deltas(this.text);
        }
        const size = intHeader(ctx.req.headers, 'x-mock-delta-bytes') || 1020;
        const piece = 'lorem ipsum '.repeat(Math.ceil(size / 12)).slice(0, size);
        const out = [];
        for (let left = n; left > 0; left -= piece.length) {
            out.push(left >= piece.length ? piece : piece.slice(0, left));
        }
        return out;
    }

    /* X-Mock-Fault: what goes wrong halfway through a stream */
    async streamFault(ctx, separator) {
        const res = ctx.res;
        const half = (s) => s.slice(0, s.length >> 1);
        switch (ctx.fault) {
        case 'stall':
            /* nothing more, the connection left open: the gateway's read
               timeout ends it (the mock closes it after a minute) */
            await sleep(60000);
            res.destroy();
            return;
        case 'reset':
            /* half an event, then a TCP reset */
            res.write(half(`data: ${JSON.stringify({ partial: 'x'.repeat(64) })}`));
            await sleep(20);
            if (res.socket && typeof res.socket.resetAndDestroy === 'function') {
                res.socket.resetAndDestroy();
            } else {
                res.destroy();
            }
            return;
        case 'garble':
            /* an event that is not JSON, then the connection closed */
            res.write(`data: {"not json${separator}`);
            res.end();
            return;
        case 'error': {
            /* the provider's own error event, then the end */
            const msg = `mock stream error from ${this.opts.name}`;
            const line = ctx.r.api === 'anthropic'
                ? `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: msg } })}${separator}`
                : `data: ${JSON.stringify({ error: { code: 500, message: msg, type: 'server_error', status: 'INTERNAL' } })}${separator}`;
            res.write(line);
            res.end();
            return;
        }
        default:
            res.end();
        }
    }

    /* ---- OpenAI */

    openaiUsage(ctx) {
        return {
            prompt_tokens: ctx.usage.in,
            completion_tokens: ctx.usage.out,
            total_tokens: ctx.usage.in + ctx.usage.out,
            prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
            completion_tokens_details: {
                reasoning_tokens: 0, audio_tokens: 0,
                accepted_prediction_tokens: 0, rejected_prediction_tokens: 0,
            },
        };
    }

    openai_chat(ctx) {
        const id = this.nextId('chatcmpl-');
        const created = nowSeconds();
        const base = { id, created, model: ctx.answerModel, service_tier: 'default', system_fingerprint: null };
        const callId = this.nextId('call_');

        if (!ctx.body.stream) {
            const message = ctx.tool
                ? {
                    role: 'assistant', content: null, refusal: null, annotations: [],
                    tool_calls: [{
                        id: callId, type: 'function',
                        function: { name: ctx.tool, arguments: JSON.stringify(TOOL_ARGS) },
                    }],
                }
                : { role: 'assistant', content: this.text, refusal: null, annotations: [] };
            return this.sendJson(ctx, 200, {
                ...base,
                object: 'chat.completion',
                choices: [{
                    index: 0, message, logprobs: null,
                    finish_reason: ctx.tool ? 'tool_calls' : 'stop',
                }],
                usage: this.openaiUsage(ctx),
            }, { 'x-request-id': ctx.requestId });
        }

        const withUsage = !!(ctx.body.stream_options && ctx.body.stream_options.include_usage);
        const chunk = (delta, finish) => {
            const c = {
                ...base,
                object: 'chat.completion.chunk',
                choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
            };
            if (withUsage) {
                c.usage = null;
            }
            return [null, c];
        };
        const events = [];
        if (ctx.tool) {
            events.push(chunk({
                role: 'assistant', content: null, refusal: null,
                tool_calls: [{
                    index: 0, id: callId, type: 'function',
                    function: { name: ctx.tool, arguments: '' },
                }],
            }, null));
            for (const piece of TOOL_ARGS_PIECES) {
                events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null));
            }
            events.push(chunk({}, 'tool_calls'));
        } else {
            events.push(chunk({ role: 'assistant', content: '', refusal: null }, null));
            for (const d of this.streamDeltas(ctx)) {
                events.push(chunk({ content: d }, null));
            }
            events.push(chunk({}, 'stop'));
        }
        if (withUsage) {
            events.push([null, {
                ...base, object: 'chat.completion.chunk', choices: [], usage: this.openaiUsage(ctx),
            }]);
        }
        events.push([null, '[DONE]']);
        return this.sendSse(ctx, events, { headers: { 'x-request-id': ctx.requestId } });
    }

    openai_completions(ctx) {
        const base = { id: this.nextId('cmpl-'), created: nowSeconds(), model: ctx.answerModel, system_fingerprint: null };
        if (!ctx.body.stream) {
            return this.sendJson(ctx, 200, {
                ...base,
                object: 'text_completion',
                choices: [{ text: this.text, index: 0, logprobs: null, finish_reason: 'stop' }],
                usage: {
                    prompt_tokens: ctx.usage.in,
                    completion_tokens: ctx.usage.out,
                    total_tokens: ctx.usage.in + ctx.usage.out,
                },
            }, { 'x-request-id': ctx.requestId });
        }
        const withUsage = !!(ctx.body.stream_options && ctx.body.stream_options.include_usage);
        const chunk = (text, finish) => {
            const c = {
                ...base,
                object: 'text_completion',
                choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
            };
            if (withUsage) {
                c.usage = null;
            }
            return [null, c];
        };
        const events = deltas(this.text).map((d) => chunk(d, null));
        events.push(chunk('', 'stop'));
        if (withUsage) {
            events.push([null, {
                ...base, object: 'text_completion', choices: [],
                usage: {
                    prompt_tokens: ctx.usage.in,
                    completion_tokens: ctx.usage.out,
                    total_tokens: ctx.usage.in + ctx.usage.out,
                },
            }]);
        }
        events.push([null, '[DONE]']);
        return this.sendSse(ctx, events, { headers: { 'x-request-id': ctx.requestId } });
    }

    openai_responses(ctx) {
        const b = ctx.body;
        const respId = this.nextId('resp_');
        const itemId = this.nextId(ctx.tool ? 'fc_' : 'msg_');
        const callId = this.nextId('call_');
        const usage = {
            input_tokens: ctx.usage.in,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: ctx.usage.out,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: ctx.usage.in + ctx.usage.out,
        };
        const response = (status, output, u) => ({
            id: respId,
            object: 'response',
            created_at: nowSeconds(),
            status,
            background: false,
            error: null,
            incomplete_details: null,
            instructions: b.instructions ?? null,
            max_output_tokens: b.max_output_tokens ?? null,
            model: ctx.answerModel,
            output,
            parallel_tool_calls: true,
            previous_response_id: b.previous_response_id ?? null,
            reasoning: { effort: null, summary: null },
            service_tier: 'default',
            store: b.store ?? true,
            temperature: b.temperature ?? 1,
            text: { format: { type: 'text' } },
            tool_choice: b.tool_choice ?? 'auto',
            tools: Array.isArray(b.tools) ? b.tools : [],
            top_p: b.top_p ?? 1,
            truncation: 'disabled',
            usage: u,
            user: null,
            metadata: b.metadata ?? {},
        });
        const textPart = (text) => ({ type: 'output_text', text, annotations: [], logprobs: [] });
        const message = (status, content) => ({
            id: itemId, type: 'message', status, role: 'assistant', content,
        });
        const call = (status, args) => ({
            id: itemId, type: 'function_call', status, call_id: callId, name: ctx.tool, arguments: args,
        });
        const finalItem = ctx.tool
            ? call('completed', JSON.stringify(TOOL_ARGS))
            : message('completed', [textPart(this.text)]);

        if (!b.stream) {
            return this.sendJson(ctx, 200, response('completed', [finalItem], usage),
                { 'x-request-id': ctx.requestId });
        }

        let seq = 0;
        const ev = (type, fields) => [type, { type, sequence_number: seq++, ...fields }];
        const events = [
            ev('response.created', { response: response('in_progress', [], null) }),
            ev('response.in_progress', { response: response('in_progress', [], null) }),
        ];
        if (ctx.tool) {
            events.push(ev('response.output_item.added', { output_index: 0, item: call('in_progress', '') }));
            for (const piece of TOOL_ARGS_PIECES) {
                events.push(ev('response.function_call_arguments.delta', {
                    item_id: itemId, output_index: 0, delta: piece,
                }));
            }
            events.push(ev('response.function_call_arguments.done', {
                item_id: itemId, output_index: 0, arguments: JSON.stringify(TOOL_ARGS),
            }));
        } else {
            const at = { item_id: itemId, output_index: 0, content_index: 0 };
            events.push(ev('response.output_item.added', { output_index: 0, item: message('in_progress', []) }));
            events.push(ev('response.content_part.added', { ...at, part: textPart('') }));
            for (const d of deltas(this.text)) {
                events.push(ev('response.output_text.delta', { ...at, delta: d, logprobs: [] }));
            }
            events.push(ev('response.output_text.done', { ...at, text: this.text, logprobs: [] }));
            events.push(ev('response.content_part.done', { ...at, part: textPart(this.text) }));
        }
        events.push(ev('response.output_item.done', { output_index: 0, item: finalItem }));
        events.push(ev('response.completed', { response: response('completed', [finalItem], usage) }));
        return this.sendSse(ctx, events, { headers: { 'x-request-id': ctx.requestId } });
    }

    openai_embeddings(ctx) {
        const b = ctx.body;
        const inputs = Array.isArray(b.input) ? b.input : [b.input];
        const dims = Number.isInteger(b.dimensions) && b.dimensions > 0 ? b.dimensions : EMBEDDING_DIMENSIONS;
        const base64 = b.encoding_format === 'base64';
        return this.sendJson(ctx, 200, {
            object: 'list',
            data: inputs.map((input, index) => {
                const v = embedding(input, dims);
                return { object: 'embedding', index, embedding: base64 ? float32Base64(v) : v };
            }),
            model: ctx.answerModel,
            usage: { prompt_tokens: ctx.usage.in, total_tokens: ctx.usage.in },
        }, { 'x-request-id': ctx.requestId });
    }

    openai_models(ctx) {
        const created = nowSeconds();
        return this.sendJson(ctx, 200, {
            object: 'list',
            data: this.modelIds().map((id) => ({ id, object: 'model', created, owned_by: this.opts.name })),
        });
    }

    openai_model(ctx) {
        return this.sendJson(ctx, 200, {
            id: ctx.r.model, object: 'model', created: nowSeconds(), owned_by: this.opts.name,
        });
    }

    modelIds() {
        return [`${this.idTag}-small`, `${this.idTag}-large`];
    }

    /* ---- Anthropic */

    anthropicUsage(ctx, output) {
        return {
            input_tokens: ctx.usage.in,
            output_tokens: output,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
            server_tool_use: null,
            service_tier: 'standard',
        };
    }

    anthropic_messages(ctx) {
        const id = this.nextId('msg_');
        const toolId = this.nextId('toolu_');
        const message = (content, stopReason, usage) => ({
            id,
            type: 'message',
            role: 'assistant',
            model: ctx.answerModel,
            content,
            stop_reason: stopReason,
            stop_sequence: null,
            stop_details: null,
            container: null,
            usage,
        });
        const stopReason = ctx.tool ? 'tool_use' : 'end_turn';
        const respHeaders = { 'request-id': ctx.requestId };

        if (!ctx.body.stream) {
            const content = ctx.tool
                ? [{ type: 'tool_use', id: toolId, name: ctx.tool, input: TOOL_ARGS }]
                : [{ type: 'text', text: this.text, citations: null }];
            return this.sendJson(ctx, 200,
                message(content, stopReason, this.anthropicUsage(ctx, ctx.usage.out)), respHeaders);
        }

        const ev = (type, fields = {}) => [type, { type, ...fields }];
        const events = [ev('message_start', { message: message([], null, this.anthropicUsage(ctx, 1)) })];
        if (ctx.tool) {
            events.push(ev('content_block_start', {
                index: 0, content_block: { type: 'tool_use', id: toolId, name: ctx.tool, input: {} },
            }));
            events.push(ev('ping'));
            for (const piece of TOOL_ARGS_PIECES) {
                events.push(ev('content_block_delta', {
                    index: 0, delta: { type: 'input_json_delta', partial_json: piece },
                }));
            }
        } else {
            events.push(ev('content_block_start', {
                index: 0, content_block: { type: 'text', text: '', citations: null },
            }));
            events.push(ev('ping'));
            for (const d of this.streamDeltas(ctx)) {
                events.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: d } }));
            }
        }
        events.push(ev('content_block_stop', { index: 0 }));
        events.push(ev('message_delta', {
            delta: { stop_reason: stopReason, stop_sequence: null, stop_details: null },
            usage: { output_tokens: ctx.usage.out },
        }));
        events.push(ev('message_stop'));
        return this.sendSse(ctx, events, { headers: respHeaders });
    }

    anthropic_count_tokens(ctx) {
        return this.sendJson(ctx, 200, { input_tokens: ctx.usage.in }, { 'request-id': ctx.requestId });
    }

    anthropic_models(ctx) {
        const data = this.modelIds().map((id) => ({
            type: 'model', id, display_name: `${id} (mock)`, created_at: '2025-01-01T00:00:00Z',
        }));
        return this.sendJson(ctx, 200, {
            data, has_more: false, first_id: data[0].id, last_id: data[data.length - 1].id,
        }, { 'request-id': ctx.requestId });
    }

    anthropic_model(ctx) {
        return this.sendJson(ctx, 200, {
            type: 'model', id: ctx.r.model, display_name: `${ctx.r.model} (mock)`,
            created_at: '2025-01-01T00:00:00Z',
        }, { 'request-id': ctx.requestId });
    }

    /* ---- Gemini */

    geminiUsage(ctx) {
        return {
            promptTokenCount: ctx.usage.in,
            candidatesTokenCount: ctx.usage.out,
            totalTokenCount: ctx.usage.in + ctx.usage.out,
            promptTokensDetails: [{ modality: 'TEXT', tokenCount: ctx.usage.in }],
        };
    }

    gemini_generate(ctx) {
        const parts = ctx.tool
            ? [{ functionCall: { name: ctx.tool, args: TOOL_ARGS } }]
            : [{ text: this.text }];
        return this.sendJson(ctx, 200, {
            candidates: [{ content: { parts, role: 'model' }, finishReason: 'STOP', index: 0 }],
            usageMetadata: this.geminiUsage(ctx),
            modelVersion: ctx.answerModel,
            responseId: this.nextId('mockresp'),
        });
    }

    gemini_stream(ctx) {
        const responseId = this.nextId('mockresp');
        const chunk = (parts, last) => {
            const c = {
                candidates: [{ content: { parts, role: 'model' }, index: 0 }],
                modelVersion: ctx.answerModel,
                responseId,
            };
            if (last) {
                c.candidates[0].finishReason = 'STOP';
                c.usageMetadata = this.geminiUsage(ctx);
            }
            return [null, c];
        };
        let events;
        if (ctx.tool) {
            events = [chunk([{ functionCall: { name: ctx.tool, args: TOOL_ARGS } }], true)];
        } else {
            const ds = this.streamDeltas(ctx);
            events = ds.map((d, i) => chunk([{ text: d }], i === ds.length - 1));
        }
        /* the real API ends each event with CRLF CRLF */
        return this.sendSse(ctx, events, { separator: '\r\n\r\n' });
    }

    gemini_count_tokens(ctx) {
        return this.sendJson(ctx, 200, {
            totalTokens: ctx.usage.in,
            promptTokensDetails: [{ modality: 'TEXT', tokenCount: ctx.usage.in }],
        });
    }

    gemini_embed(ctx) {
        const dims = Number.isInteger(ctx.body.outputDimensionality) && ctx.body.outputDimensionality > 0
            ? ctx.body.outputDimensionality : EMBEDDING_DIMENSIONS;
        return this.sendJson(ctx, 200, { embedding: { values: embedding(ctx.body.content, dims) } });
    }

    gemini_batch_embed(ctx) {
        const requests = Array.isArray(ctx.body.requests) ? ctx.body.requests : [];
        return this.sendJson(ctx, 200, {
            embeddings: requests.map((r) => {
                const dims = r && Number.isInteger(r.outputDimensionality) && r.outputDimensionality > 0
                    ? r.outputDimensionality : EMBEDDING_DIMENSIONS;
                return { values: embedding(r && r.content, dims) };
            }),
        });
    }

    gemini_models(ctx) {
        return this.sendJson(ctx, 200, {
            models: this.modelIds().map((id) => this.geminiModel(id)),
        });
    }

    gemini_model(ctx) {
        return this.sendJson(ctx, 200, this.geminiModel(ctx.r.model));
    }

    geminiModel(id) {
        return {
            name: `models/${id}`,
            version: '001',
            displayName: `${id} (mock)`,
            inputTokenLimit: 1048576,
            outputTokenLimit: 8192,
            supportedGenerationMethods: ['generateContent', 'countTokens'],
        };
    }
}


/* ------------------------------------------------------------------ main */

function main() {
    const opts = parseArgs(process.argv.slice(2));
    const mock = new MockProvider(opts);
    const handler = (req, res) => mock.handle(req, res);

    const server = opts.tlsCert
        ? https.createServer({
            cert: fs.readFileSync(opts.tlsCert),
            key: fs.readFileSync(opts.tlsKey),
        }, handler)
        : http.createServer(handler);
    server.keepAliveTimeout = 60000;
    server.headersTimeout = 65000;

    server.on('error', (e) => {
        process.stderr.write(`mock_provider ${opts.name}: ${e.message}\n`);
        process.exit(1);
    });
    server.listen(opts.port, opts.host, () => {
        process.stdout.write('ready\n');
    });

    const stop = () => {
        server.close();
        if (server.closeAllConnections) {
            server.closeAllConnections();
        }
        process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

if (require.main === module) {
    main();
}

module.exports = { MockProvider, route, errorAnswer };
