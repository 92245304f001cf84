#!/usr/bin/env bash
#
# ngx_llm_router build driver.
#
#   ./build.sh            build build/ngx_http_llm_router_module.so and build/llmr
#   ./build.sh test       install what is missing, build, run every test
#   ./build.sh integration  the same, the integration suite only
#   ./build.sh demo       install what is missing, build, run the demo
#   ./build.sh asan       build the module with AddressSanitizer (build/asan/)
#   ./build.sh test-asan  run the integration suite against the ASan module
#   ./build.sh fuzz [S]   build the libFuzzer targets (clang), run each S s (60)
#   ./build.sh deb        Debian packages of the module and llmr (build/deb/)
#   ./build.sh deps       only install the build and test dependencies
#
# The module is built the way Debian builds its own nginx modules: nginx-dev's
# configure with the conf_flags of the installed nginx, so the .so is binary
# compatible with /usr/sbin/nginx.
#
# Another nginx line: NGX_SRC=/path/to/nginx-source ./build.sh test (an
# nginx.org release tarball or a checkout of github.com/nginx/nginx).  nginx
# itself is then built from that tree too, with the flags the module and the
# suite need, into build/nginx-VERSION/, and every command above (test, asan,
# test-asan, demo) uses that nginx and the module built against it.  Nothing
# is downloaded: the source tree is the input.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$REPO/build
NGX_SRC=${NGX_SRC:-/usr/share/nginx/src}
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=ngx_http_llm_router_module

# a whole nginx source tree (not nginx-dev's headers): nginx is built too
NGX_FULL=
NGX_VERSION=
if [ -f "$NGX_SRC/src/core/nginx.c" ]; then
    NGX_FULL=1
    NGX_VERSION=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' \
                  "$NGX_SRC/src/core/nginx.h")
fi

# where each flavour is built, and the .so the tests load
if [ -n "$NGX_FULL" ]; then
    OBJ_DIR=$BUILD/nginx-$NGX_VERSION/obj
    ASAN_OBJ_DIR=$BUILD/nginx-$NGX_VERSION/asan-obj
    MODULE_SO=$BUILD/nginx-$NGX_VERSION/$MODULE.so
    ASAN_SO=$BUILD/nginx-$NGX_VERSION/asan/$MODULE.so
    NGINX=$OBJ_DIR/nginx
else
    OBJ_DIR=$BUILD/nginx
    ASAN_OBJ_DIR=$BUILD/asan-nginx
    MODULE_SO=$BUILD/$MODULE.so
    ASAN_SO=$BUILD/asan/$MODULE.so
fi

DEPS=(build-essential nginx nginx-dev libyajl-dev libhiredis-dev
      redis-server perl wrk procps curl valgrind libcurl4-openssl-dev
      prometheus chromium ca-certificates openssl iproute2 nodejs
      debhelper dpkg-dev)

# what building nginx itself needs (NGX_SRC a whole source tree)
NGX_FULL_DEPS=(libpcre2-dev zlib1g-dev libssl-dev)

# the modules an nginx built here gets: the suite's needs (ssl for the
# providers over TLS, threads, stream) and --with-compat as every packaged
# nginx has; paths under its build directory (the tests set their own)
NGX_FULL_FLAGS=(--with-compat --with-debug --with-threads --with-pcre-jit
                --with-http_ssl_module --with-http_v2_module
                --with-http_realip_module --with-http_stub_status_module
                --with-http_auth_request_module
                --with-stream --with-stream_ssl_module
                --error-log-path=stderr)

CC_OPT="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security"
CC_OPT="$CC_OPT -fPIC -Wdate-time -D_FORTIFY_SOURCE=2"
LD_OPT="-Wl,-z,relro -Wl,-z,now -fPIC"

say() { printf '==> %s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }


deps() {
    local missing=() p

    for p in "${DEPS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q "install ok installed" || missing+=("$p")
    done

    # npm: its own package with Debian's nodejs, part of others' builds
    command -v npm >/dev/null || missing+=(npm)

    if [ -n "$NGX_FULL" ]; then
        for p in "${NGX_FULL_DEPS[@]}"; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
                | grep -q "install ok installed" || missing+=("$p")
        done
    fi

    [ ${#missing[@]} -eq 0 ] && return 0

    [ "$(id -u)" -eq 0 ] \
        || die "missing packages: ${missing[*]} (run as root to install)"

    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

    # the packages start their services; the tests start their own
    if command -v service >/dev/null; then
        service nginx stop >/dev/null 2>&1 || true
        service redis-server stop >/dev/null 2>&1 || true
        service prometheus stop >/dev/null 2>&1 || true
    fi
}


# configure + make one flavour of the module into $1 with extra cc opts $2
# and ld opts $3; make target $4: "modules" (the module alone, all that
# nginx-dev's tree can make) or "build" (nginx and the module, from a whole
# source tree)
build_module() {
    local dir=$1 extra_cc=$2 extra_ld=$3 target=$4 stamp srcs configure

    if [ -x "$NGX_SRC/configure" ]; then
        configure=./configure
    elif [ -f "$NGX_SRC/auto/configure" ]; then
        configure=auto/configure            # a git checkout
    else
        die "$NGX_SRC/configure not found (apt-get install nginx-dev, or NGX_SRC=nginx source tree)"
    fi

    # file names and the model's checksum: the model's C source is
    # generated at configure time
    srcs=$(cd "$REPO" && ls config core/src/*.c core/include/llmr/*.h \
           ngx_llm_router_module/*.[ch] 2>/dev/null | tr '\n' ' ')
    srcs="$srcs $(cat "$REPO"/core/model/*.model 2>/dev/null | cksum)"
    stamp="$NGX_SRC|$srcs|$extra_cc|$extra_ld"

    mkdir -p "$dir"

    if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.stamp" 2>/dev/null)" != "$stamp" ]; then
        say "configuring nginx${NGX_VERSION:+ $NGX_VERSION} module build in ${dir#$REPO/}"
        (
            cd "$NGX_SRC"
            if [ -n "$NGX_FULL" ]; then
                NGX_CONF_FLAGS=(--prefix="$dir" "${NGX_FULL_FLAGS[@]}")
            else
                # shellcheck disable=SC1091
                . ./conf_flags
            fi
            $configure --with-cc-opt="$CC_OPT $extra_cc" \
                --with-ld-opt="$LD_OPT $extra_ld" \
                "${NGX_CONF_FLAGS[@]}" \
                --add-dynamic-module="$REPO" \
                --builddir="$dir" >"$dir/configure.log" 2>&1
        ) || { tail -n 30 "$dir/configure.log"; die "configure failed"; }
        printf '%s' "$stamp" >"$dir/.stamp"
    fi

    make -s -j"$(nproc)" -f "$dir/Makefile" -C "$NGX_SRC" $target \
        >"$dir/make.log" 2>&1 \
        || { cat "$dir/make.log"; die "module build failed"; }
}


# nginx -t with only load_module: catches "not binary compatible" and
# unresolved symbols (a missing -l shows up here, not at link time)
smoke_load() {
    local so=$1 tmp

    tmp=$(mktemp -d)
    printf 'load_module %s;\nevents {}\n' "$so" >"$tmp/nginx.conf"

    if ! "$NGINX" -q -t -p "$tmp/" -c "$tmp/nginx.conf" \
            -g "error_log $tmp/error.log; pid $tmp/nginx.pid;" 2>"$tmp/out"
    then
        cat "$tmp/out" "$tmp/error.log" 2>/dev/null
        rm -rf "$tmp"
        die "nginx cannot load $so"
    fi

    rm -rf "$tmp"
}


# the llm_status dashboard page as a C header, rewritten when it changed
dashboard() {
    local dir=$REPO/ngx_llm_router_module
    local h=$dir/ngx_http_llm_router_dashboard.h

    sh "$dir/dashboard2c.sh" "$dir/dashboard.html" >"$h.tmp"

    if cmp -s "$h.tmp" "$h"; then
        rm -f "$h.tmp"
    else
        mv "$h.tmp" "$h"
    fi
}


# the module built in $1, renamed into place as $2: a running nginx keeps
# its own copy (overwriting a loaded .so in place crashes the workers it
# forks)
install_so() {
    local tmp
    tmp=$(dirname "$2")/.$MODULE.so.new

    mkdir -p "$(dirname "$2")"
    cp "$1/$MODULE.so" "$tmp"
    mv -f "$tmp" "$2"
}


build() {
    dashboard

    if [ -n "$NGX_FULL" ]; then
        say "building nginx $NGX_VERSION and $MODULE.so from $NGX_SRC"
        build_module "$OBJ_DIR" "" "" build
    else
        say "building $MODULE.so"
        build_module "$OBJ_DIR" "" "" modules
    fi

    install_so "$OBJ_DIR" "$MODULE_SO"
    smoke_load "$MODULE_SO"

    say "building llmr and the core unit tests"
    make -s -j"$(nproc)" -C "$REPO" llmr tests
}


build_asan() {
    local san="-fsanitize=address,undefined -fno-omit-frame-pointer"

    dashboard

    say "building $MODULE.so with AddressSanitizer"
    build_module "$ASAN_OBJ_DIR" "$san -O1" "$san" modules
    install_so "$ASAN_OBJ_DIR" "$ASAN_SO"
}


unit_tests() {
    say "core unit tests"
    make -s -C "$REPO" check

    say "core unit tests under AddressSanitizer + UBSan"
    make -s -j"$(nproc)" -C "$REPO" check-asan

    say "fuzz seeds and crash inputs replayed under AddressSanitizer + UBSan"
    make -s -j"$(nproc)" -C "$REPO" fuzz-replay

    if command -v valgrind >/dev/null; then
        say "core unit tests under valgrind"
        make -s -C "$REPO" check-valgrind
    fi
}


# the official provider SDKs the suite drives, pinned by t/sdk's lockfile
sdk_deps() {
    local dir=$REPO/t/sdk stamp=$REPO/t/sdk/node_modules/.package-lock.json

    if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
        return 0
    fi

    say "installing the provider SDKs (npm ci in t/sdk)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}


# libnginx-mod-http-llm-router and llmr .debs, built by Debian's own tooling
# (debhelper + dh-sequence-nginx from nginx-dev) from a copy of the tree, so
# the tree's own build/ is left alone; the packages land in build/deb/
deb() {
    local stage version upstream

    version=$(dpkg-parsechangelog -l "$REPO/debian/changelog" -S Version)
    upstream=$(sed -n 's/^#define LLMR_VERSION *"\(.*\)"/\1/p' \
               "$REPO/core/include/llmr/core.h")
    [ "${version%-*}" = "$upstream" ] \
        || die "debian/changelog says $version, core.h says $upstream"

    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' RETURN

    mkdir "$stage/src"
    tar -C "$REPO" --exclude=./build --exclude=./.git \
        --exclude=./t/sdk/node_modules -cf - . | tar -C "$stage/src" -xf -

    say "building the Debian packages ($version)"
    (cd "$stage/src" && dpkg-buildpackage -b -us -uc) >"$stage/log" 2>&1 \
        || { tail -n 40 "$stage/log"; die "dpkg-buildpackage failed"; }

    mkdir -p "$BUILD/deb"
    rm -f "$BUILD"/deb/*.deb
    cp "$stage"/*.deb "$BUILD/deb/"
    ls "$BUILD"/deb/*.deb
}


# the suite's files: against an nginx built here, all but the Debian
# package's test (which installs into the system's own nginx)
test_files() {
    if [ -n "$NGX_FULL" ]; then
        (cd "$REPO" && ls t/*.t | grep -v '^t/30-deb\.t$')
    else
        echo t/
    fi
}


# the nginx and the module the tests run (the harness's TEST_NGINX_*)
test_env() {
    export TEST_NGINX_BINARY=$NGINX TEST_NGINX_MODULE=$1
}


integration_tests() {
    sdk_deps
    say "integration tests (real nginx${NGX_VERSION:+ $NGX_VERSION}, real redis-server)"
    test_env "$MODULE_SO"
    "$NGINX" -V 2>&1 | sed -n 1p
    # the tests' daemons must not inherit the build lock (fd 9): one left
    # behind by an interrupted run would hold every later build
    # shellcheck disable=SC2046
    (cd "$REPO" && prove -j2 $(test_files) 9>&-)
}


cmd=${1:-build}
shift || true

# the packages build from a copy of the tree: no lock on this one (the
# suite's own test of the packages runs it while ./build.sh test holds it)
if [ "$cmd" = deb ]; then
    deps
    deb
    exit 0
fi

# one build at a time in this tree (configure runs must not interleave)
mkdir -p "$BUILD"
exec 9>"$BUILD/.lock"
flock 9

case $cmd in
build)
    build
    ;;
deps)
    deps
    ;;
test)
    deps
    build
    unit_tests
    integration_tests
    ;;
unit)
    build
    unit_tests
    ;;
integration)
    deps
    build
    integration_tests
    ;;
demo)
    deps
    build
    test_env "$MODULE_SO"
    exec perl "$REPO/examples/demo.pl" "$@" 9>&-
    ;;
asan)
    build_asan
    ;;
test-asan)
    deps
    build
    build_asan
    say "integration tests against the ASan module"
    lib=$(gcc -print-file-name=libasan.so)
    test_env "$ASAN_SO"
    # a sanitizer report kills the worker, which fails the test (the
    # harness checks error.log for crashed workers); UBSan would only print
    # shellcheck disable=SC2046
    (cd "$REPO" && TEST_NGINX_PRELOAD="$lib" \
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
        prove $(test_files) 9>&-)
    ;;
fuzz)
    # libFuzzer ships with clang's runtime (libclang-rt-14-dev)
    DEPS+=(clang libclang-rt-14-dev)
    deps
    make -s -C "$REPO" fuzz-run SECONDS="${1:-60}"
    ;;
*)
    die "unknown command \"$cmd\" (build, test, integration, unit, deb, demo, asan, test-asan, fuzz, deps)"
    ;;
esac
