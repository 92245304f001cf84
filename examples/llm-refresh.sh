#!/bin/sh
#
# llm-refresh: recalibrate the model registry, test it, reload nginx only
# when the test passes; otherwise put the previous files back.  For a
# systemd timer (examples/llm-refresh.timer) or cron.
#
#   llm-refresh.sh [llmr calibrate options, e.g. --input FILE or none for
#                   the API, --overrides FILE, --upstream-map P=U,...]
#
# Environment:
#   LLM_CONF_DIR  the directory nginx reads (llm_models DIR/models.json or
#                 include DIR/llm_models.conf); default /etc/nginx/conf/llm
#   LLM_KEEP      how many previous versions to keep (default 10)
#   LLMR          the llmr binary (default: llmr on PATH)
#   NGINX_BIN     the nginx command, run with -t and -s reload (default
#                 nginx)
#   AA_API_KEY    for llmr calibrate's fetch, when no --input is given
#
# The new files are made in DIR.new (with DIR's models.json and
# CHANGELOG.md, so the changelog entry says what moved), then swapped in;
# "nginx -t" then decides: a pass reloads, a failure swaps the previous
# files back and exits 1 without touching the running nginx.  Every step
# is logged on stdout, the changelog entry included.  Exit: 0 reloaded or
# nothing changed, 1 failed (the running configuration untouched).

set -eu

DIR=${LLM_CONF_DIR:-/etc/nginx/conf/llm}
KEEP=${LLM_KEEP:-10}
LLMR=${LLMR:-llmr}
NGINX=${NGINX_BIN:-nginx}

say() { printf '%s llm-refresh: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

# a name no earlier run has used (mv into an existing directory nests)
stamp=$(date -u +%Y%m%dT%H%M%S.%NZ)
new=$DIR.new
prev=$DIR.prev-$stamp-$$

# one refresh at a time
exec 9>"$DIR.lock"
if ! flock -n 9; then
    say "another refresh is running"
    exit 1
fi

rm -rf "$new"
mkdir -p "$DIR" "$new"

for f in models.json CHANGELOG.md; do
    if [ -f "$DIR/$f" ]; then
        cp -p "$DIR/$f" "$new/$f"
    fi
done

say "calibrating into $new"

if ! "$LLMR" calibrate "$@" --save --out "$new"; then
    say "llmr calibrate failed: nothing changed"
    rm -rf "$new"
    exit 1
fi

if [ -f "$DIR/models.json" ] && cmp -s "$DIR/models.json" "$new/models.json"
then
    say "the registry is unchanged: no reload"
    rm -rf "$new"
    exit 0
fi

# the entry llmr calibrate added: what it says moved

if [ -f "$new/CHANGELOG.md" ]; then
    say "changes:"
    awk '/^## /{n++} n==1' "$new/CHANGELOG.md" | sed 's/^/    /'
fi

# swap: DIR becomes the new files, the old ones DIR.prev-STAMP

if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    mv "$DIR" "$prev"
else
    rmdir "$DIR" 2>/dev/null || true
    prev=
fi

mv "$new" "$DIR"

if ! out=$($NGINX -t 2>&1); then
    say "nginx -t refused the new registry; putting the previous one back"
    printf '%s\n' "$out" | sed 's/^/    /'
    rm -rf "$DIR.failed"
    mv "$DIR" "$DIR.failed"

    if [ -n "$prev" ]; then
        mv "$prev" "$DIR"
    else
        mkdir -p "$DIR"
    fi

    exit 1
fi

if ! $NGINX -s reload; then
    say "nginx -s reload failed (the new files stay: nginx -t passed)"
    exit 1
fi

say "reloaded with the new registry; the previous one is ${prev:-(none)}"

# keep the newest $KEEP previous versions

ls -d "$DIR".prev-* 2>/dev/null | sort -r | tail -n +"$((KEEP + 1))" \
    | while read -r old; do
        rm -rf "$old"
    done

exit 0
