#!/bin/sh

# Mutation spot checks: for each core decision file, flip one comparison
# in a copy of the tree, rebuild the unit tests and run them.  Every
# mutation must make a unit test fail; one that does not shows a decision
# no test pins down.  Not part of `make check` (a few minutes).
#
#     bench/mutate.sh              # every mutation, a table at the end
#     bench/mutate.sh budget       # those whose file name matches
#
# The copy is the working tree as it is (committed or not), in a
# temporary directory removed at the end; the unit tests are built as
# `make tests` builds them (same flags), from objects compiled once, so
# a mutation recompiles one file and links the tests again.

set -eu

cd "$(dirname "$0")/.."

only=${1:-}
top=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llmr-mutate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

CC=${CC:-cc}
CFLAGS="-std=gnu99 -O1 -g -Wall -Wextra -Wpointer-arith -Wshadow \
        -Wno-unused-parameter -Werror -Icore/include -D_GNU_SOURCE"
LIBS="-lyajl -lm"

# one a line, tab-separated: the file, the line as it is, the line
# mutated, what the mutation means
MUTATIONS=$(cat <<'EOF'
llmr_policy.c	    return (ca < cb) ? -1 : (ca > cb) ? 1 : 0;	    return (ca > cb) ? -1 : (ca < cb) ? 1 : 0;	candidates by cost: the dearest first
llmr_budget.c	    if (est > avail && (e->answered || !leased)) {	    if (est >= avail && (e->answered || !leased)) {	an estimate equal to what is left is refused
llmr_adjust.c	    if (tier > cls->tier) {	    if (tier >= cls->tier) {	a learned tier equal to the class counts as up
llmr_health.c	    } else if (h->consecutive >= c->fails) {	    } else if (h->consecutive > c->fails) {	down one failure late
llmr_classify.c	        if (!(score >= cl->threshold[tier])) {	        if (!(score > cl->threshold[tier])) {	a score on a threshold stays below it
llmr_feedback.c	        if (!(v >= 0 && v <= 1)) {	        if (!(v >= 0 && v < 1)) {	quality 1 is refused
llmr_registry.c	        if (price > best) {	        if (price >= best) {	the reference is the last of equal prices
EOF
)

# the tree, as in the working directory

git ls-files -z --cached --others --exclude-standard \
    | (cd "$top" && xargs -0 tar -cf - --no-recursion 2>/dev/null) \
    | tar -xf - -C "$tmp"

cd "$tmp"
mkdir -p obj bin
sh core/tools/model2c.sh core/model/default.model > obj/llmr_model_text.c

srcs="$(ls core/src/*.c) $(ls core/offline/*.c 2>/dev/null || true) \
      obj/llmr_model_text.c"

compile() {
    $CC $CFLAGS -c -o "obj/$(basename "$1" .c).o" "$1"
}

link() {
    for t in core/tests/test_*.c; do
        n=$(basename "$t" .c)
        [ -f "obj/$n.o" ] || $CC $CFLAGS -c -o "obj/$n.o" "$t"
        objs=""
        for s in $srcs; do
            objs="$objs obj/$(basename "$s" .c).o"
        done
        $CC -o "bin/${n#test_}.t" "obj/$n.o" $objs $LIBS
    done
}

check() {
    prove --exec '' bin/*.t < /dev/null > obj/prove.out 2>&1
}

echo "building the unit tests in $tmp"

for s in $srcs; do
    compile "$s"
done

link

if ! check; then
    cat obj/prove.out
    echo "the unit tests fail before any mutation" >&2
    exit 1
fi

echo
printf '%-16s %-46s %-8s %s\n' file mutation result "failing (tests)"

survived=0

printf '%s\n' "$MUTATIONS" > obj/mutations

tab=$(printf '\t')

while IFS=$tab read -r file from to why; do
    case "$file" in
    *"$only"*) ;;
    *) continue ;;
    esac

    src=core/src/$file
    cp "$src" obj/orig.c

    # the line must be there exactly once, and change
    n=$(grep -cxF -- "$from" "$src" || true)

    if [ "$n" != 1 ]; then
        printf '%-16s %-46s %-8s %s\n' "$file" "$why" "STALE" \
               "the line is not there once ($n): update bench/mutate.sh"
        survived=$((survived + 1))
        continue
    fi

    perl -i -pe 'BEGIN { ($f, $t) = (shift, shift) }
                 $_ = "$t\n" if $_ eq "$f\n"' -- "$from" "$to" "$src"

    if cmp -s "$src" obj/orig.c; then
        printf '%-16s %-46s %-8s %s\n' "$file" "$why" "STALE" "no change"
        survived=$((survived + 1))
        continue
    fi

    if ! compile "$src" 2> obj/cc.out; then
        result=STALE
        failing="the mutation does not compile"
        survived=$((survived + 1))

    else
        link

        if check; then
            result=SURVIVED
            failing="-"
            survived=$((survived + 1))

        else
            # "bin/budget.t (Wstat: 256 (exited 1) Tests: 40 Failed: 1)"
            result=caught
            failing=$(sed -n \
                -e 's/^bin\/\([a-z_]*\)\.t .*Failed: \([1-9][0-9]*\)).*/\1 (\2)/p' \
                -e 's/^bin\/\([a-z_]*\)\.t .*Signal.*/\1 (crashed)/p' \
                obj/prove.out | sort -u | tr '\n' ' ')
        fi
    fi

    printf '%-16s %-46s %-8s %s\n' "$file" "$why" "$result" "$failing"

    cp obj/orig.c "$src"
    compile "$src"

done < obj/mutations

echo

if [ "$survived" -ne 0 ]; then
    echo "$survived mutation(s) not caught"
    exit 1
fi

echo "every mutation was caught"
