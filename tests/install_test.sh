#!/bin/sh
# install_test.sh BUILD_DIR README CC - installs the build into a temporary DESTDIR, extracts the
# library example from README.md (between <!-- example:begin --> and <!-- example:end -->),
# compiles it against the installed headers with `pkg-config --cflags --libs nabla`, runs it and
# compares its output with the block README shows after <!-- example-output:begin -->; then
# builds and runs every docs/examples/*.c the same way.
set -eu
build=$1 readme=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet

pc=$(find "$tmp/root" -name nabla.pc | head -n 1)
[ -n "$pc" ] || { echo "nabla.pc was not installed" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"

sed -n '/<!-- example:begin -->/,/<!-- example:end -->/p' "$readme" | sed '1,2d;$d' | sed '$d' > "$tmp/example.c"
sed -n '/<!-- example-output:begin -->/,/<!-- example-output:end -->/p' "$readme" | sed '1,2d;$d' | sed '$d' > "$tmp/expected.txt"
[ -s "$tmp/example.c" ] || { echo "no example found in README.md" >&2; exit 1; }
[ -s "$tmp/expected.txt" ] || { echo "no example output found in README.md" >&2; exit 1; }

# -I for the installed headers only: the source tree's include/ is nowhere on this command line.
flags=$(pkg-config --cflags --libs nabla)
echo "cc -std=c11 example.c $flags"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror -o "$tmp/example" "$tmp/example.c" $flags

libdir=$(dirname "$(dirname "$pc")")
LD_LIBRARY_PATH="$libdir" "$tmp/example" > "$tmp/got.txt"
# the program must have linked the installed library, not one from the build tree
LD_LIBRARY_PATH="$libdir" ldd "$tmp/example" | grep -q "$tmp/root" || {
    echo "the example did not link the installed libnabla" >&2; exit 1; }
diff -u "$tmp/expected.txt" "$tmp/got.txt"
echo "README example: output matches"

# Every example in docs/examples/ builds against the installed headers alone and runs (each exits
# 0 only when its own check passes). At -O2, as README.md asks of user code: unoptimized, the
# inline ops made ode_adjoint alone take 75 s of this test's 120 s (2.4 s at -O2).
examples=$(dirname "$readme")/docs/examples
for src in "$examples"/*.c; do
    name=$(basename "$src" .c)
    # shellcheck disable=SC2086
    "$cc" -std=c11 -O2 -Wall -Wextra -pedantic -Werror -o "$tmp/$name" "$src" $flags -lm
    LD_LIBRARY_PATH="$libdir" "$tmp/$name" > "$tmp/$name.out" || {
        echo "installed example $name failed:" >&2; cat "$tmp/$name.out" >&2; exit 1; }
done
echo "docs/examples: $(ls "$examples"/*.c | wc -l) examples build and run against the installed library"
