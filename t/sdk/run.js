#!/usr/bin/env node
'use strict';

/*
 * Drives the official provider SDKs (openai, @anthropic-ai/sdk,
 * @google/genai) against one base URL, the gateway or a mock provider,
 * through a matrix of cases, and prints one JSON object a line per case:
 *
 *   {"sdk", "case", "ok", "error", "parsed", "http", "client_key"}
 *
 *   ok        the SDK call returned (false: it threw; error says what)
 *   parsed    what the SDK made of the answer: text, tool call, usage,
 *             and for an API error its status, type, message, ...
 *   http      every HTTP exchange the SDK made: method, url, request
 *             headers and body exactly as the SDK sent them, the answer's
 *             status and headers (and its body when it is an error)
 *   client_key  the credential the SDK was given
 *
 *   node run.js --base http://127.0.0.1:PORT [--only SDK/CASE[,SDK/CASE...]]
 *               [--timeout MS] [--list]
 *
 * An --only item may also be SDK alone (every case of that SDK) or
 * all/CASE (that case for every SDK).  Every request carries
 * "x-test-case: SDK/CASE", so the mock provider's log ties what it
 * received to a case.  SDK retries are off: a failure is seen as it is.
 *
 * Steering headers (the mock provider reads them, the gateway passes them
 * on): X-Mock-Status, X-Mock-Retry-After, X-Mock-Only, X-Mock-Tool.
 *
 * Exit status: 0 when every case ran (whatever its outcome), 1 when
 * run.js itself failed, 2 on bad usage.
 */

const { OpenAI } = require('openai');
const { Anthropic } = require('@anthropic-ai/sdk');
const { GoogleGenAI } = require('@google/genai');

/* the credentials the clients hold (a gateway holding keys replaces them) */
const CLIENT_KEYS = {
    openai: 'sk-client-openai-0001',
    anthropic: 'sk-ant-client-0001',
    gemini: 'client-gemini-key-0001',
};

/* a 1x1 PNG */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

const TRIVIAL = 'Say hello.';
const HARD = 'Prove that every continuous function on a closed bounded interval is'
    + ' uniformly continuous, then design a distributed consensus algorithm'
    + ' tolerant to Byzantine faults, analyse its message complexity step by'
    + ' step, and implement it in Rust with property-based tests.';
const MULTITURN = [
    ['user', 'Hi, my name is Ana.'],
    ['assistant', 'Hello Ana! How can I help?'],
    ['user', 'What is my name?'],
];
const SYSTEM = 'You are a terse assistant.';
const IMAGE_PROMPT = 'What colour is this pixel?';
const IMAGE_URL = 'https://example.com/pixel.png';
const TOOL_RESULT = '18 degrees and sunny';
const TOOL_PROMPT = 'What is the weather in Paris?';
const TOOL = {
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
    },
};

/* a prompt larger than the gateway's llm_route_max_body in the test */
const OVERSIZED = 'lorem ipsum '.repeat(12 * 1024);

/* far more output than any model's context window in the test */
const HUGE_MAX_TOKENS = 50000000;

const ERR_RETRY_AFTER = '7';
/* the model the failover cases make fail, by its mock's name */
const FAIL_FIRST = { openai: 'oa-mini', anthropic: 'an-haiku', gemini: 'ge-flash' };

/* RUN_HEADERS='{"NAME":"VALUE",...}': sent with every request */
const RUN_HEADERS = process.env.RUN_HEADERS ? JSON.parse(process.env.RUN_HEADERS) : {};

/* RUN_FAIL_FIRST=NAME: the model every failover case makes fail instead */
if (process.env.RUN_FAIL_FIRST) {
    for (const k of Object.keys(FAIL_FIRST)) {
        FAIL_FIRST[k] = process.env.RUN_FAIL_FIRST;
    }
}


/* ------------------------------------------------------------- options */

function parseArgs(argv) {
    const opts = { base: null, only: null, list: false, timeout: 20000 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--base' && i + 1 < argv.length) {
            opts.base = argv[++i].replace(/\/+$/, '');
        } else if (a === '--only' && i + 1 < argv.length) {
            opts.only = argv[++i].split(',').map((s) => s.trim()).filter(Boolean);
        } else if (a === '--timeout' && i + 1 < argv.length) {
            opts.timeout = Number(argv[++i]);
            if (!Number.isInteger(opts.timeout) || opts.timeout <= 0) {
                usage('--timeout takes milliseconds');
            }
        } else if (a === '--list') {
            opts.list = true;
        } else {
            usage(`unknown or incomplete option ${a}`);
        }
    }
    if (!opts.base && !opts.list) {
        usage('--base URL is required');
    }
    return opts;
}

function usage(msg) {
    process.stderr.write(`run.js: ${msg}\n`
        + 'usage: run.js --base http://HOST:PORT [--only SDK/CASE[,...]] [--timeout MS] [--list]\n');
    process.exit(2);
}

function selected(only, sdk, name) {
    if (!only) {
        return true;
    }
    return only.some((pattern) => {
        const [s, c] = pattern.split('/');
        return (s === 'all' || s === sdk) && (c === undefined || c === name);
    });
}


/* --------------------------------------------------- recording fetch */

/*
 * A fetch that records each exchange the SDK makes and hands the SDK the
 * very Response it got: request headers and body as sent, the answer's
 * status and headers, and an error answer's body (read from a clone).
 */
function recordingFetch(log) {
    return async (input, init = {}) => {
        const url = typeof input === 'string' ? input : (input.url || String(input));
        const entry = {
            method: init.method || (input && input.method) || 'GET',
            url,
            headers: Object.fromEntries(new Headers(init.headers || {}).entries()),
            body: typeof init.body === 'string' ? init.body
                : init.body == null ? null : `<${Object.prototype.toString.call(init.body)}>`,
            status: null,
            response_headers: null,
            response_body: null,
        };
        log.push(entry);
        const res = await fetch(input, init);
        entry.status = res.status;
        entry.response_headers = Object.fromEntries(res.headers.entries());
        if (res.status >= 400) {
            try {
                entry.response_body = await res.clone().text();
            } catch (e) {
                entry.response_body = `<unreadable: ${e.message}>`;
            }
        }
        return res;
    };
}


/* -------------------------------------------------------------- OpenAI */

function openaiClient(t) {
    return new OpenAI({
        apiKey: CLIENT_KEYS.openai,
        baseURL: `${t.base}/v1`,
        maxRetries: 0,
        timeout: t.timeout,
        fetch: t.fetch,
        defaultHeaders: t.headers,
    });
}

function openaiError(e) {
    if (!(e instanceof OpenAI.APIError)) {
        return null;
    }
    return {
        class: e.constructor.name,
        status: e.status ?? null,
        type: e.type ?? null,
        code: e.code ?? null,
        param: e.param ?? null,
        message: e.error && typeof e.error.message === 'string' ? e.error.message : e.message,
        retry_after: e.headers ? e.headers.get('retry-after') : null,
        request_id: e.headers ? e.headers.get('x-llm-request-id') : null,
    };
}

/* one chat completion: what the SDK parsed of it */
async function openaiChat(t, body, headers) {
    const r = await openaiClient(t).chat.completions.create(
        { model: 'auto', ...body }, headers ? { headers } : undefined);
    const m = r.choices[0].message;
    return {
        text: m.content,
        tool_calls: (m.tool_calls || []).map((c) => ({
            name: c.function.name, arguments: c.function.arguments, id: c.id,
        })),
        finish_reason: r.choices[0].finish_reason,
        model: r.model,
        usage: r.usage,
    };
}

const user = (content) => [{ role: 'user', content }];

const openaiCases = {
    trivial: (t) => openaiChat(t, { messages: user(TRIVIAL) }),

    hard: (t) => openaiChat(t, { messages: user(HARD) }),

    async stream(t) {
        const stream = await openaiClient(t).chat.completions.create({
            model: 'auto',
            messages: user(TRIVIAL),
            stream: true,
            stream_options: { include_usage: true },
        });
        let text = '';
        let usage = null;
        let chunks = 0;
        let model = null;
        for await (const chunk of stream) {
            chunks += 1;
            model = chunk.model;
            if (chunk.choices.length && chunk.choices[0].delta.content) {
                text += chunk.choices[0].delta.content;
            }
            if (chunk.usage) {
                usage = chunk.usage;
            }
        }
        return { text, usage, chunks, model };
    },

    multiturn: (t) => openaiChat(t, {
        messages: [
            { role: 'system', content: SYSTEM },
            ...MULTITURN.map(([role, content]) => ({ role, content })),
        ],
    }),

    tools: (t) => openaiChat(t, {
        messages: user(TOOL_PROMPT),
        tools: [{ type: 'function', function: TOOL }],
    }, { 'X-Mock-Tool': '1' }),

    image: (t) => openaiChat(t, {
        messages: user([
            { type: 'text', text: IMAGE_PROMPT },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
        ]),
    }),

    fault_stream: (t) => faultStream(async (got) => {
        const stream = await openaiClient(t).chat.completions.create({
            model: 'auto', messages: user(TRIVIAL), stream: true,
        });
        for await (const chunk of stream) {
            got.events += 1;
            if (chunk.choices.length && chunk.choices[0].delta.content) {
                got.text += chunk.choices[0].delta.content;
            }
        }
    }),

    async stream_tools(t) {
        const stream = await openaiClient(t).chat.completions.create({
            model: 'auto',
            messages: user(TOOL_PROMPT),
            tools: [{ type: 'function', function: TOOL }],
            stream: true,
            stream_options: { include_usage: true },
        }, { headers: { 'X-Mock-Tool': '1' } });
        const calls = [];
        let finish = null;
        let usage = null;
        for await (const chunk of stream) {
            const c = chunk.choices[0];
            for (const d of (c && c.delta.tool_calls) || []) {
                calls[d.index] = calls[d.index] || { name: '', arguments: '', id: null };
                if (d.id) {
                    calls[d.index].id = d.id;
                }
                if (d.function && d.function.name) {
                    calls[d.index].name += d.function.name;
                }
                if (d.function && d.function.arguments) {
                    calls[d.index].arguments += d.function.arguments;
                }
            }
            if (c && c.finish_reason) {
                finish = c.finish_reason;
            }
            if (chunk.usage) {
                usage = chunk.usage;
            }
        }
        return { tool_calls: calls, finish_reason: finish, usage };
    },

    tool_result: (t) => openaiChat(t, {
        messages: [
            { role: 'user', content: TOOL_PROMPT },
            {
                role: 'assistant',
                content: null,
                tool_calls: [{
                    id: 'call_w1', type: 'function',
                    function: { name: TOOL.name, arguments: JSON.stringify({ city: 'Paris' }) },
                }],
            },
            { role: 'tool', tool_call_id: 'call_w1', content: TOOL_RESULT },
        ],
        tools: [{ type: 'function', function: TOOL }],
    }),

    image_url: (t) => openaiChat(t, {
        messages: user([
            { type: 'text', text: IMAGE_PROMPT },
            { type: 'image_url', image_url: { url: IMAGE_URL } },
        ]),
    }),

    async nongen(t) {
        const r = await openaiClient(t).embeddings.create({
            model: 'text-embedding-3-small',
            input: 'hello world',
        });
        return {
            count: r.data.length,
            dimensions: r.data[0].embedding.length,
            model: r.model,
            usage: r.usage,
        };
    },

    async responses(t) {
        const r = await openaiClient(t).responses.create({ model: 'auto', input: TRIVIAL });
        return { text: r.output_text, status: r.status, model: r.model, usage: r.usage };
    },

    async responses_stream(t) {
        const stream = await openaiClient(t).responses.create({
            model: 'auto',
            input: TRIVIAL,
            stream: true,
        });
        let text = '';
        let usage = null;
        let model = null;
        const types = [];
        for await (const ev of stream) {
            types.push(ev.type);
            if (ev.type === 'response.output_text.delta') {
                text += ev.delta;
            } else if (ev.type === 'response.completed') {
                usage = ev.response.usage;
                model = ev.response.model;
            }
        }
        return { text, usage, model, events: types.length, completed: types.includes('response.completed') };
    },

    failover: (t) => openaiChat(t, { messages: user(TRIVIAL) },
        { 'X-Mock-Status': '503', 'X-Mock-Only': FAIL_FIRST.openai }),

    err400: (t) => openaiChat(t, { messages: user(TRIVIAL) }, { 'X-Mock-Status': '400' }),

    gateway_error: (t) => openaiChat(t, { messages: user(OVERSIZED) }),

    no_model: (t) => openaiChat(t, { max_tokens: HUGE_MAX_TOKENS, messages: user(TRIVIAL) }),

    err500: (t) => openaiChat(t, { messages: user(TRIVIAL) }, { 'X-Mock-Status': '500' }),

    err429: (t) => openaiChat(t, { messages: user(TRIVIAL) },
        { 'X-Mock-Status': '429', 'X-Mock-Retry-After': ERR_RETRY_AFTER }),
};


/* ----------------------------------------------------------- Anthropic */

function anthropicClient(t) {
    return new Anthropic({
        apiKey: CLIENT_KEYS.anthropic,
        baseURL: t.base,
        maxRetries: 0,
        timeout: t.timeout,
        fetch: t.fetch,
        defaultHeaders: t.headers,
    });
}

function anthropicError(e) {
    if (!(e instanceof Anthropic.APIError)) {
        return null;
    }
    const body = e.error && typeof e.error === 'object' ? e.error : {};
    return {
        class: e.constructor.name,
        status: e.status ?? null,
        body_type: body.type ?? null,
        type: e.type ?? null,
        message: e.apiMessage ?? e.message,
        retry_after: e.headers ? e.headers.get('retry-after') : null,
        request_id: e.headers ? e.headers.get('x-llm-request-id') : null,
    };
}

function anthropicMessage(m) {
    const text = m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
    const tool_calls = m.content.filter((b) => b.type === 'tool_use')
        .map((b) => ({ name: b.name, arguments: JSON.stringify(b.input), id: b.id }));
    return { text, tool_calls, stop_reason: m.stop_reason, model: m.model, usage: m.usage };
}

const MAX_TOKENS = 256;

/* one message: what the SDK parsed of it */
async function anthropicCreate(t, body, headers) {
    return anthropicMessage(await anthropicClient(t).messages.create(
        { model: 'auto', max_tokens: MAX_TOKENS, ...body }, headers ? { headers } : undefined));
}

const anthropicCases = {
    trivial: (t) => anthropicCreate(t, { messages: user(TRIVIAL) }),

    hard: (t) => anthropicCreate(t, { messages: user(HARD) }),

    async stream(t) {
        const stream = anthropicClient(t).messages.stream({
            model: 'auto',
            max_tokens: MAX_TOKENS,
            messages: user(TRIVIAL),
        });
        let deltas = 0;
        stream.on('text', () => { deltas += 1; });
        const m = await stream.finalMessage();
        return { ...anthropicMessage(m), deltas };
    },

    multiturn: (t) => anthropicCreate(t, {
        system: SYSTEM,
        messages: MULTITURN.map(([role, content]) => ({ role, content })),
    }),

    tools: (t) => anthropicCreate(t, {
        messages: user(TOOL_PROMPT),
        tools: [{ name: TOOL.name, description: TOOL.description, input_schema: TOOL.parameters }],
    }, { 'X-Mock-Tool': '1' }),

    image: (t) => anthropicCreate(t, {
        messages: user([
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'text', text: IMAGE_PROMPT },
        ]),
    }),

    fault_stream: (t) => faultStream(async (got) => {
        const stream = anthropicClient(t).messages.stream({
            model: 'auto', max_tokens: MAX_TOKENS, messages: user(TRIVIAL),
        });
        stream.on('text', (d) => { got.text += d; got.events += 1; });
        await stream.finalMessage();
    }),

    async stream_tools(t) {
        const stream = anthropicClient(t).messages.stream({
            model: 'auto',
            max_tokens: MAX_TOKENS,
            messages: user(TOOL_PROMPT),
            tools: [{ name: TOOL.name, description: TOOL.description, input_schema: TOOL.parameters }],
        }, { headers: { 'X-Mock-Tool': '1' } });
        const m = await stream.finalMessage();
        return anthropicMessage(m);
    },

    tool_result: (t) => anthropicCreate(t, {
        messages: [
            { role: 'user', content: TOOL_PROMPT },
            {
                role: 'assistant',
                content: [{ type: 'tool_use', id: 'toolu_w1', name: TOOL.name, input: { city: 'Paris' } }],
            },
            {
                role: 'user',
                content: [{ type: 'tool_result', tool_use_id: 'toolu_w1', content: TOOL_RESULT }],
            },
        ],
        tools: [{ name: TOOL.name, description: TOOL.description, input_schema: TOOL.parameters }],
    }),

    image_url: (t) => anthropicCreate(t, {
        messages: user([
            { type: 'image', source: { type: 'url', url: IMAGE_URL } },
            { type: 'text', text: IMAGE_PROMPT },
        ]),
    }),

    async nongen(t) {
        const r = await anthropicClient(t).messages.countTokens({
            model: 'claude-count-model',
            messages: user(TRIVIAL),
        });
        return { input_tokens: r.input_tokens };
    },

    failover: (t) => anthropicCreate(t, { messages: user(TRIVIAL) },
        { 'X-Mock-Status': '503', 'X-Mock-Only': FAIL_FIRST.anthropic }),

    err400: (t) => anthropicCreate(t, { messages: user(TRIVIAL) }, { 'X-Mock-Status': '400' }),

    gateway_error: (t) => anthropicCreate(t, { messages: user(OVERSIZED) }),

    no_model: (t) => anthropicCreate(t, { max_tokens: HUGE_MAX_TOKENS, messages: user(TRIVIAL) }),

    err500: (t) => anthropicCreate(t, { messages: user(TRIVIAL) }, { 'X-Mock-Status': '500' }),

    err429: (t) => anthropicCreate(t, { messages: user(TRIVIAL) },
        { 'X-Mock-Status': '429', 'X-Mock-Retry-After': ERR_RETRY_AFTER }),
};


/* -------------------------------------------------------------- Gemini */

const GEMINI_MODEL = 'gemini-auto';

/* per-request headers go in the client: @google/genai has no per-call ones */
function geminiClient(t, extra = {}) {
    return new GoogleGenAI({
        apiKey: CLIENT_KEYS.gemini,
        vertexai: false,
        httpOptions: {
            baseUrl: t.base,
            apiVersion: 'v1beta',
            timeout: t.timeout,
            headers: { ...t.headers, ...extra },
            fetch: t.fetch,
        },
    });
}

function geminiError(e) {
    if (!e || e.name !== 'ApiError' || typeof e.status !== 'number') {
        return null;
    }
    let body = null;
    try {
        body = JSON.parse(e.message);
    } catch (x) {
        /* not JSON: left null */
    }
    const err = body && body.error ? body.error : {};
    return {
        class: e.name,
        status: e.status,
        code: err.code ?? null,
        type: err.status ?? null,
        message: typeof err.message === 'string' ? err.message : e.message,
        reason: Array.isArray(err.details) && err.details[0] ? err.details[0].reason ?? null : null,
    };
}

/* the text parts are joined here: the SDK's r.text warns when a function
   call comes with them */
function geminiAnswer(r) {
    const calls = r.functionCalls || [];
    const c = r.candidates && r.candidates[0];
    const parts = (c && c.content && c.content.parts) || [];
    const texts = parts.filter((p) => typeof p.text === 'string').map((p) => p.text);
    return {
        text: texts.length ? texts.join('') : null,
        tool_calls: calls.map((c) => ({ name: c.name, arguments: JSON.stringify(c.args) })),
        finish_reason: r.candidates && r.candidates[0] ? r.candidates[0].finishReason : null,
        model: r.modelVersion ?? null,
        usage: r.usageMetadata ?? null,
    };
}

/* one generateContent: what the SDK parsed of it */
async function geminiGenerate(t, params, headers) {
    return geminiAnswer(await geminiClient(t, headers).models.generateContent(
        { model: GEMINI_MODEL, ...params }));
}

/*
 * fault_stream: a stream whose provider breaks off (the caller sends
 * X-Mock-Fault or X-Mock-Truncate through RUN_HEADERS); run only when
 * --only names it.  What the SDK read before it threw is in the error's
 * case output ("partial").
 */
async function faultStream(iterate) {
    const got = { text: '', events: 0 };
    try {
        await iterate(got);
    } catch (e) {
        e.partial = got;
        throw e;
    }
    return { ...got, ended: 'without an error' };
}

const geminiCases = {
    trivial: (t) => geminiGenerate(t, { contents: TRIVIAL }),

    hard: (t) => geminiGenerate(t, { contents: HARD }),

    async stream(t) {
        const stream = await geminiClient(t).models.generateContentStream({
            model: GEMINI_MODEL,
            contents: TRIVIAL,
        });
        let text = '';
        let usage = null;
        let chunks = 0;
        let model = null;
        for await (const chunk of stream) {
            const a = geminiAnswer(chunk);
            chunks += 1;
            text += a.text ?? '';
            model = a.model ?? model;
            usage = a.usage ?? usage;
        }
        return { text, usage, chunks, model };
    },

    multiturn: (t) => geminiGenerate(t, {
        contents: MULTITURN.map(([role, text]) => ({
            role: role === 'assistant' ? 'model' : role,
            parts: [{ text }],
        })),
        config: { systemInstruction: SYSTEM },
    }),

    tools: (t) => geminiGenerate(t, {
        contents: TOOL_PROMPT,
        config: {
            tools: [{
                functionDeclarations: [{
                    name: TOOL.name,
                    description: TOOL.description,
                    parametersJsonSchema: TOOL.parameters,
                }],
            }],
        },
    }, { 'X-Mock-Tool': '1' }),

    image: (t) => geminiGenerate(t, {
        contents: [{
            role: 'user',
            parts: [
                { inlineData: { mimeType: 'image/png', data: PNG } },
                { text: IMAGE_PROMPT },
            ],
        }],
    }),

    fault_stream: (t) => faultStream(async (got) => {
        const stream = await geminiClient(t).models.generateContentStream({
            model: GEMINI_MODEL, contents: TRIVIAL,
        });
        for await (const chunk of stream) {
            got.events += 1;
            got.text += geminiAnswer(chunk).text ?? '';
        }
    }),

    async stream_tools(t) {
        const stream = await geminiClient(t, { 'X-Mock-Tool': '1' }).models.generateContentStream({
            model: GEMINI_MODEL,
            contents: TOOL_PROMPT,
            config: {
                tools: [{
                    functionDeclarations: [{
                        name: TOOL.name,
                        description: TOOL.description,
                        parametersJsonSchema: TOOL.parameters,
                    }],
                }],
            },
        });
        const calls = [];
        let finish = null;
        let usage = null;
        for await (const chunk of stream) {
            const a = geminiAnswer(chunk);
            calls.push(...a.tool_calls);
            finish = a.finish_reason ?? finish;
            usage = a.usage ?? usage;
        }
        return { tool_calls: calls, finish_reason: finish, usage };
    },

    tool_result: (t) => geminiGenerate(t, {
        contents: [
            { role: 'user', parts: [{ text: TOOL_PROMPT }] },
            { role: 'model', parts: [{ functionCall: { name: TOOL.name, args: { city: 'Paris' } } }] },
            {
                role: 'user',
                parts: [{ functionResponse: { name: TOOL.name, response: { content: TOOL_RESULT } } }],
            },
        ],
        config: {
            tools: [{
                functionDeclarations: [{
                    name: TOOL.name,
                    description: TOOL.description,
                    parametersJsonSchema: TOOL.parameters,
                }],
            }],
        },
    }),

    /* the key in the query too, as Google's REST examples pass it: the
       gateway holding its own key must not pass the client's on */
    query_key(t) {
        const withKey = (url) => {
            const u = new URL(url);
            u.searchParams.set('key', CLIENT_KEYS.gemini);
            return u.toString();
        };
        const inner = t.fetch;
        return geminiGenerate({ ...t, fetch: (url, init) => inner(withKey(String(url)), init) },
            { contents: TRIVIAL });
    },

    async nongen(t) {
        const r = await geminiClient(t).models.countTokens({
            model: 'gemini-count-model',
            contents: TRIVIAL,
        });
        return { total_tokens: r.totalTokens };
    },

    failover: (t) => geminiGenerate(t, { contents: TRIVIAL },
        { 'X-Mock-Status': '503', 'X-Mock-Only': FAIL_FIRST.gemini }),

    err400: (t) => geminiGenerate(t, { contents: TRIVIAL }, { 'X-Mock-Status': '400' }),

    gateway_error: (t) => geminiGenerate(t, { contents: OVERSIZED }),

    no_model: (t) => geminiGenerate(t, {
        contents: TRIVIAL,
        config: { maxOutputTokens: HUGE_MAX_TOKENS },
    }),

    err500: (t) => geminiGenerate(t, { contents: TRIVIAL }, { 'X-Mock-Status': '500' }),

    err429: (t) => geminiGenerate(t, { contents: TRIVIAL },
        { 'X-Mock-Status': '429', 'X-Mock-Retry-After': ERR_RETRY_AFTER }),
};


/* ---------------------------------------------------------------- main */

const SDKS = [
    ['openai', openaiCases, openaiError],
    ['anthropic', anthropicCases, anthropicError],
    ['gemini', geminiCases, geminiError],
];

/* JSON for a result: an SDK object may hold a bigint or a cycle */
function toJson(obj) {
    const seen = new WeakSet();
    return JSON.stringify(obj, (k, v) => {
        if (typeof v === 'bigint') {
            return v.toString();
        }
        if (v && typeof v === 'object') {
            if (seen.has(v)) {
                return '<cycle>';
            }
            seen.add(v);
        }
        return v;
    });
}

async function runCase(opts, sdk, name, fn, toError) {
    const http = [];
    const t = {
        base: opts.base,
        timeout: opts.timeout,
        fetch: recordingFetch(http),
        headers: { ...RUN_HEADERS, 'x-test-case': `${sdk}/${name}` },
    };
    const out = {
        sdk, case: name, ok: false, error: null, parsed: null, http, client_key: CLIENT_KEYS[sdk],
    };
    try {
        out.parsed = (await fn(t)) ?? null;
        out.ok = true;
    } catch (e) {
        const api = toError(e);
        out.error = api ? `${api.class} ${api.status}: ${api.message}`
            : `${e && e.name ? e.name : 'Error'}: ${e && e.message ? e.message : e}`
              + (e && e.cause ? ` (cause: ${e.cause.message || e.cause})` : '');
        out.parsed = api ? { error: api } : null;
        if (e && e.partial) {
            out.partial = e.partial;
        }
    }
    return out;
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    for (const [sdk, cases, toError] of SDKS) {
        for (const [name, fn] of Object.entries(cases)) {
            if (!selected(opts.only, sdk, name)
                || (name.startsWith('fault_')
                    && !(opts.only || []).some((o) => o.endsWith(`/${name}`)))) {
                continue;
            }
            if (opts.list) {
                process.stdout.write(`${sdk}/${name}\n`);
                continue;
            }
            const out = await runCase(opts, sdk, name, fn, toError);
            process.stdout.write(`${toJson(out)}\n`);
        }
    }
}

main().catch((e) => {
    process.stderr.write(`run.js: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
