#!/usr/bin/env node
'use strict';

/*
 * Many streaming clients at once, for bench/streams.pl: opens --n
 * requests (raw HTTP/1.1, one connection each, Connection: close) as fast
 * as --ramp allows, reads every stream to its end and reports, as one JSON
 * line on stdout:
 *
 *   {"n":..,"ok":..,"failed":..,"events":..,"bytes":..,"max_open":..,
 *    "first_errors":[..],"seconds":..}
 *
 * A stream is ok when its status is 200, its chunked body ended (the
 * terminating chunk came), it carried no error event and it ended with
 * the end its API expects (--end: a string its last event holds, e.g.
 * "[DONE]" or "message_stop"), with at least --min-events events.
 *
 * Once every stream has its first event (all of them open at once), the
 * file --ready is created, so the caller can sample memory then.
 *
 *   node stream_clients.js --port P --path PATH --body FILE --n N
 *        [--header "Name: value"]... [--ramp N_PER_10MS] [--ready FILE]
 *        [--end STRING] [--min-events K]
 *
 * Node core modules only.
 */

const fs = require('fs');
const net = require('net');

function parseArgs(argv) {
    const o = { headers: [], ramp: 50, end: '', minEvents: 1 };
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i];
        const v = argv[++i];
        switch (a) {
        case '--port': o.port = Number(v); break;
        case '--path': o.path = v; break;
        case '--body': o.body = fs.readFileSync(v); break;
        case '--n': o.n = Number(v); break;
        case '--header': o.headers.push(v); break;
        case '--ramp': o.ramp = Number(v); break;
        case '--ready': o.ready = v; break;
        case '--end': o.end = v; break;
        case '--min-events': o.minEvents = Number(v); break;
        default:
            process.stderr.write(`unknown argument ${a}\n`);
            process.exit(2);
        }
    }
    if (!o.port || !o.path || !o.body || !o.n) {
        process.stderr.write('usage: stream_clients.js --port P --path PATH --body FILE --n N\n');
        process.exit(2);
    }
    return o;
}

const o = parseArgs(process.argv);
const head = Buffer.from(
    `POST ${o.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`
    + 'Content-Type: application/json\r\n'
    + o.headers.map((h) => `${h}\r\n`).join('')
    + `Content-Length: ${o.body.length}\r\n\r\n`);

const r = { n: o.n, ok: 0, failed: 0, events: 0, bytes: 0, max_open: 0, first_errors: [] };
let open = 0;
let started = 0;
let done = 0;
let firsts = 0;
const t0 = Date.now();

function fail(why) {
    r.failed++;
    if (r.first_errors.length < 5) {
        r.first_errors.push(why);
    }
}

/* a chunked body, decoded as it comes */
function Stream() {
    this.buf = Buffer.alloc(0);
    this.headDone = false;
    this.status = 0;
    this.chunkLeft = -1;      /* -1: a size line is next */
    this.ended = false;
    this.text = '';           /* the body not yet split into events */
    this.events = 0;
    this.last = '';
    this.error = false;
    this.first = false;
}

Stream.prototype.body = function (s) {
    this.text += s;
    let i;
    while ((i = this.text.indexOf('\n\n')) >= 0) {
        const ev = this.text.slice(0, i);
        this.text = this.text.slice(i + 2);
        if (!ev.trim()) {
            continue;
        }
        this.events++;
        this.last = ev;
        if (/^event: ?error$/m.test(ev) || /^data: ?\{"error"/m.test(ev)) {
            this.error = true;
        }
        if (!this.first) {
            this.first = true;
            if (++firsts === o.n && o.ready) {
                fs.writeFileSync(o.ready, `${Date.now() - t0}\n`);
            }
        }
    }
};

Stream.prototype.feed = function (data) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    if (!this.headDone) {
        const i = this.buf.indexOf('\r\n\r\n');
        if (i < 0) {
            return;
        }
        const h = this.buf.slice(0, i).toString('latin1');
        this.status = Number((h.match(/^HTTP\/1\.1 (\d+)/) || [])[1] || 0);
        this.buf = this.buf.slice(i + 4);
        this.headDone = true;
    }
    for (;;) {
        if (this.ended) {
            return;
        }
        if (this.chunkLeft < 0) {
            const i = this.buf.indexOf('\r\n');
            if (i < 0) {
                return;
            }
            this.chunkLeft = parseInt(this.buf.slice(0, i).toString('latin1'), 16);
            this.buf = this.buf.slice(i + 2);
            if (this.chunkLeft === 0) {
                this.ended = true;
                return;
            }
        }
        if (this.buf.length < this.chunkLeft + 2) {
            return;
        }
        this.body(this.buf.slice(0, this.chunkLeft).toString('utf8'));
        this.buf = this.buf.slice(this.chunkLeft + 2);
        this.chunkLeft = -1;
    }
};

function one() {
    const s = new Stream();
    const c = net.connect(o.port, '127.0.0.1');
    open++;
    r.max_open = Math.max(r.max_open, open);
    c.on('connect', () => {
        c.write(head);
        c.write(o.body);
    });
    c.on('data', (d) => {
        r.bytes += d.length;
        s.feed(d);
    });
    c.on('error', () => { /* judged at close */ });
    c.on('close', () => {
        open--;
        done++;
        r.events += s.events;
        if (s.status !== 200) {
            fail(`status ${s.status}`);
        } else if (!s.ended) {
            fail(`cut after ${s.events} events`);
        } else if (s.error) {
            fail(`error event: ${s.last.slice(0, 120)}`);
        } else if (s.events < o.minEvents) {
            fail(`${s.events} events`);
        } else if (o.end && !s.last.includes(o.end)) {
            fail(`ended with: ${s.last.slice(0, 120)}`);
        } else {
            r.ok++;
        }
        if (done === o.n) {
            r.seconds = (Date.now() - t0) / 1000;
            process.stdout.write(`${JSON.stringify(r)}\n`);
            process.exit(0);
        }
    });
}

function ramp() {
    for (let i = 0; i < o.ramp && started < o.n; i++, started++) {
        one();
    }
    if (started < o.n) {
        setTimeout(ramp, 10);
    }
}

ramp();
