#!/bin/sh
# run_golden.sh NABLA CASES [--update] - golden transcripts of the nabla command.
#
# Each case NAME in CASES has NAME.args (the arguments, one per line), and the expected
# NAME.out (stdout), NAME.err (stderr) and NAME.rc (exit status); NAME.stdin, when present, is
# the standard input; an empty NAME.closed makes stdout a pipe whose reader leaves after the first
# line (| head -1), for output far larger than a pipe holds. The command runs in CASES, so
# '-f NAME.expr' finds files there. A few
# cases are generated here (a 1 MiB expression, 10 000 levels of nesting) rather than stored.
# --update rewrites the expected files from the actual output (review them before committing).
set -u
nabla=$1 cases=$2 update=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 count=0

run_case() { # name, then the arguments; stdin from $tmp/stdin if present, $closed: | head -1
    name=$1
    shift
    input=/dev/null
    [ -f "$tmp/stdin" ] && input=$tmp/stdin
    if [ "$closed" = 1 ]; then
        # the status is nabla's, not head's
        (cd "$rundir" && { "$nabla" "$@" <"$input" 2>"$tmp/err"; echo $? >"$tmp/rc"; } | head -1 >"$tmp/out")
    else
        (cd "$rundir" && "$nabla" "$@" <"$input" >"$tmp/out" 2>"$tmp/err")
        echo $? >"$tmp/rc"
    fi
    count=$((count + 1))
    if [ "$update" = --update ]; then
        cp "$tmp/out" "$cases/$name.out"
        cp "$tmp/err" "$cases/$name.err"
        cp "$tmp/rc" "$cases/$name.rc"
        return
    fi
    for part in rc out err; do
        if ! cmp -s "$cases/$name.$part" "$tmp/$part"; then
            echo "FAIL $name: $part differs"
            diff -u "$cases/$name.$part" "$tmp/$part" | head -20
            fail=1
        fi
    done
}

case $nabla in /*) ;; *) nabla=$(pwd)/$nabla ;; esac
case $cases in /*) ;; *) cases=$(pwd)/$cases ;; esac
rundir=$cases
for argsfile in "$cases"/*.args; do
    name=$(basename "$argsfile" .args)
    rm -f "$tmp/stdin"
    [ -f "$cases/$name.stdin" ] && cp "$cases/$name.stdin" "$tmp/stdin"
    closed=0
    [ -f "$cases/$name.closed" ] && closed=1
    set --
    while IFS= read -r line || [ -n "$line" ]; do
        set -- "$@" "$line"
    done <"$argsfile"
    run_case "$name" "$@"
done

# Generated, in a scratch directory: 10 000 levels of nesting, a valid 1 MiB expression through
# -f, and one byte more.
rm -f "$tmp/stdin"
closed=0
mkdir "$tmp/gen"
rundir=$tmp/gen
deep=$(awk 'BEGIN { for (i = 0; i < 10000; i++) printf "("; printf "x"; for (i = 0; i < 10000; i++) printf ")" }')
run_case gen_deep_nesting eval "$deep" --at x=1
awk 'BEGIN { printf "x"; for (i = 0; i < 524287; i++) printf "+x"; printf " " }' >"$tmp/gen/mib.expr"
run_case gen_one_mib eval -f mib.expr --at x=1
awk 'BEGIN { printf "x"; for (i = 0; i < 524287; i++) printf "+x"; printf "  " }' >"$tmp/gen/mib1.expr"
run_case gen_one_mib_plus_one eval -f mib1.expr --at x=1

[ "$update" = --update ] && { echo "updated $count cases"; exit 0; }
[ $fail -eq 0 ] && echo "$count golden transcripts match"
exit $fail
