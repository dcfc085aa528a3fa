#!/bin/sh
# check_opsdoc.sh OPSDOC OPS_MD - fails when docs/ops.md differs from what the registry generates.
set -eu
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$1" > "$tmp"
if ! diff -u "$2" "$tmp"; then
    echo "docs/ops.md is out of date: run 'meson compile -C build ops-doc'" >&2
    exit 1
fi
