#!/bin/bash

# Instructions a routed request runs in the worker beyond a plain proxied
# one, by component: callgrind counts them (user space only; the kernel's
# part is not in them), so runs on a busy machine give the same numbers,
# where bench/route_vs_plain.pl's requests/s and CPU time move by 10% and
# more between runs.
#
#   bash bench/route_instructions.sh [--size 1024] [--answer BYTES] [--fleet]
#                                    [--module PATH]
#
# The gateway is bench/route_vs_plain.pl's (same locations, same canned
# answer), run as one process under valgrind --tool=callgrind; wrk sends
# the same body to /plain/ and then /routed/ for 6 s each after a warm-up,
# with callgrind's counters zeroed in between.  --module: another build of
# the module, to compare.  Needs valgrind, wrk, redis-server (--fleet).

set -eu

cd "$(dirname "$0")/.."

size=1024
answer=2
fleet=
module=
secs=6

while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --answer) answer=$2; shift 2 ;;
        --fleet) fleet=--fleet; shift ;;
        --module) module=$2; shift 2 ;;
        --seconds) secs=$2; shift 2 ;;
        *) echo "usage: $0 [--size N] [--answer N] [--fleet] [--module PATH]" >&2
           exit 2 ;;
    esac
done

for tool in valgrind callgrind_control callgrind_annotate wrk; do
    command -v $tool >/dev/null || { echo "$tool not found" >&2; exit 1; }
done

out=$(mktemp -d /tmp/llmr-instr-XXXXXX)
trap 'rm -rf "$out"' EXIT

# the configuration route_vs_plain.pl writes, kept
TEST_NGINX_LEAVE=1 perl bench/route_vs_plain.pl --hold 1 --answer "$answer" \
    $fleet > "$out/hold.log" 2>&1
dir=$(sed -n 's/^# test dir: //p' "$out/hold.log")
[ -n "$dir" ] || { cat "$out/hold.log" >&2; exit 1; }
trap 'rm -rf "$out" "$dir"; [ -n "${rpid:-}" ] && kill $rpid 2>/dev/null || true' EXIT

conf=$dir/nginx.conf
sed -i 's/^master_process on;/master_process off;/' "$conf"

if [ -n "$module" ]; then
    sed -i "s|^load_module .*|load_module $module;|" "$conf"
fi

rport=$(sed -n 's/.*llm_redis 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$conf")

if [ -n "$rport" ]; then
    redis-server --port "$rport" --save '' --appendonly no \
        > "$out/redis.log" 2>&1 &
    rpid=$!
    sleep 0.5
fi

port=$(sed -n 's/.*listen 127\.0\.0\.1:\([0-9]*\) backlog.*/\1/p' "$conf" \
       | head -1)

# the body, as route_vs_plain.pl makes it
python3 - "$size" > "$out/post.lua" <<'PY'
import sys
size = int(sys.argv[1])
s = ['Could you review this function and explain why the loop sometimes '
     'skips the last chunk? ',
     'We need a design for a multi-region deployment with failover. ',
     'A train leaves at 3 pm at 60 miles per hour; when does the second '
     'one catch up? ']
head = ('{"model":"auto","messages":[{"role":"system","content":'
        '"You are a helpful assistant."},{"role":"user","content":"')
tail = '"}],"max_tokens":256}'
t, i = '', 0
while len(head + t + tail) < size:
    t += s[i % 3]
    i += 1
b = head + t[:size - len(head) - len(tail)] + tail
b = b.replace('\\', '\\\\').replace('"', '\\"')
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.body = "%s"' % b)
PY

for path in plain routed; do
    rm -f "$dir/nginx.pid"
    valgrind --tool=callgrind --instr-atstart=no --compress-strings=no \
        --compress-pos=no --callgrind-out-file="$out/cg.$path" \
        /usr/sbin/nginx -p "$dir" -c "$conf" > "$out/vg.$path.log" 2>&1 &
    vpid=$!

    for i in $(seq 50); do
        [ -s "$dir/nginx.pid" ] && break
        sleep 0.2
    done

    sleep 1
    callgrind_control -i on $vpid > /dev/null 2>&1
    wrk -t1 -c4 -d2s -s "$out/post.lua" \
        "http://127.0.0.1:$port/$path/v1/chat/completions" > /dev/null
    callgrind_control -z $vpid > /dev/null 2>&1
    wrk -t1 -c4 -d${secs}s -s "$out/post.lua" \
        "http://127.0.0.1:$port/$path/v1/chat/completions" \
        | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' > "$out/n.$path"
    callgrind_control -i off $vpid > /dev/null 2>&1
    kill -QUIT "$(cat "$dir/nginx.pid")"
    wait $vpid || true
done

python3 - "$out" "$size" "$answer" <<'PY'
import re, subprocess, sys
out, size, answer = sys.argv[1], sys.argv[2], sys.argv[3]

def load(path):
    n = int(open('%s/n.%s' % (out, path)).read())
    text = subprocess.run(['callgrind_annotate', '--auto=no',
                           '--threshold=100', '%s/cg.%s' % (out, path)],
                          capture_output=True, text=True).stdout
    fns = {}
    for line in text.splitlines():
        m = re.match(r'\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$', line)
        if not m or 'PROGRAM TOTALS' in m.group(2):
            continue
        name = m.group(2).strip().split(':', 1)[-1]
        fns[name] = fns.get(name, 0) + int(m.group(1).replace(',', '')) / n
    return n, fns

groups = [
    ('classifier', r'llmr_(scan|word_|classify|features|kw_|text_scan|'
                   r'line_|vocab)|log2|exp'),
    ('answer signals', r'llmr_(phrase|implicit|head_add)'),
    ('JSON (yajl and ours)', r'yajl|llmr_json|llmr_str|llmr_extract|'
                             r'llmr_on_|llmr_usage|llmr_text|llmr_sse'),
    ('Redis (hiredis)', r'hiredis|sds|redis'),
    ('rest of the module', r'ngx_http_llm_router|llmr_'),
]

pn, plain = load('plain')
rn, routed = load('routed')
tp, tr = sum(plain.values()), sum(routed.values())
sums = dict((g, 0.0) for g, _ in groups)
sums['nginx and libc'] = 0.0

for name in set(plain) | set(routed):
    d = routed.get(name, 0) - plain.get(name, 0)
    for g, pat in groups:
        if re.search(pat, name):
            sums[g] += d
            break
    else:
        sums['nginx and libc'] += d

print('%s-byte request, %s-byte answer text: instructions a request '
      '(%d plain, %d routed requests)' % (size, answer, pn, rn))
print('  plain  %8.0f' % tp)
print('  routed %8.0f  (+%.0f)' % (tr, tr - tp))
for g in [g for g, _ in groups] + ['nginx and libc']:
    print('    %-22s %+8.0f' % (g, sums[g]))
PY
