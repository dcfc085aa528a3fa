#!/bin/sh
# check_demo.sh DEMO EXPECTED [ARGS...] - runs a demo and compares what it prints with the
# expected text. Lines starting with "time:" or "note:" (measured times, file names, a text plot)
# are printed but not compared. The demo's exit status must be 0.
set -u
demo=$1 expected=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$demo" "$@" >"$out"
rc=$?
cat "$out"
[ $rc -eq 0 ] || { echo "demo exited $rc"; exit 1; }
grep -v -e '^time:' -e '^note:' "$out" | diff -u "$expected" - || { echo "output differs from $expected"; exit 1; }
