#!/bin/sh
# test_render.sh NABLA - nabla plot with the real gnuplot and with stand-ins for its failures:
# PNG, SVG and PDF files that are valid and of plausible size; a text plot that shows both
# curves; the finite-difference overlay (--check) in png, svg and text; gnuplot absent (an empty
# PATH), killed mid-plot, failing, writing nothing; an unwritable output refused before gnuplot
# starts; a full device or a full stdout; an old output kept when the plot fails; a hanging
# gnuplot stopped by --timeout. Every
# failure must exit 1 with a message, never die of SIGPIPE.
set -u
nabla=$1
case $nabla in /*) ;; *) nabla=$(pwd)/$nabla ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition (a command)
    d=$1
    shift
    if "$@"; then echo "ok   $d"; else echo "FAIL $d"; fail=1; fi
}
size() { wc -c <"$1" | tr -d ' '; }

# real renders
"$nabla" plot 'sin(x)' --range -2*pi:2*pi -o "$tmp/sin.png"
check "png exits 0" test $? -eq 0
check "png magic" sh -c "head -c 8 '$tmp/sin.png' | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$'"
check "png plausible size ($(size "$tmp/sin.png") bytes)" test "$(size "$tmp/sin.png")" -gt 10000
"$nabla" plot 'exp(-x^2)' --order 4 --range -3:3 -o "$tmp/e.svg"
check "svg exits 0" test $? -eq 0
check "svg is svg" sh -c "head -c 200 '$tmp/e.svg' | grep -q '<svg'"
check "svg has five curves" test "$(grep -c '<path' "$tmp/e.svg")" -ge 5
check "svg plausible size ($(size "$tmp/e.svg") bytes)" test "$(size "$tmp/e.svg")" -gt 20000
"$nabla" plot 'tan(x)' -o "$tmp/t.pdf"
check "pdf exits 0" test $? -eq 0
check "pdf magic" sh -c "head -c 5 '$tmp/t.pdf' | grep -q '%PDF-'"
"$nabla" plot 'abs(x)' --term pngcairo -o "$tmp/abs.img"
check "--term overrides the extension" sh -c "head -c 4 '$tmp/abs.img' | od -An -c | grep -q 'P   N   G'"

# the finite-difference overlay (--check): fd dashed, |f' - fd| and GSL's estimate on a log y2
# axis, in every kind of output
"$nabla" plot 'tan(x)' --check --range -3:3 -o "$tmp/check.png"
check "png with --check exits 0" test $? -eq 0
check "png with --check magic" sh -c "head -c 8 '$tmp/check.png' | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$'"
"$nabla" plot 'sign(x)+x^2' --range -1:1 -o "$tmp/plain.svg"
"$nabla" plot 'sign(x)+x^2' --check --range -1:1 -o "$tmp/check.svg"
check "svg with --check exits 0" test $? -eq 0
check "svg with --check draws more paths" test "$(grep -c '<path' "$tmp/check.svg")" -gt "$(grep -c '<path' "$tmp/plain.svg")"
check "svg with --check names fd" grep -q "central difference" "$tmp/check.svg"
check "svg with --check has log y2 tics" grep -q "1e-10" "$tmp/check.svg"
env -u DISPLAY -u WAYLAND_DISPLAY COLUMNS=100 LINES=30 "$nabla" plot 'sin(x)' --check --range -pi:pi >"$tmp/check.txt"
check "dumb with --check exits 0" test $? -eq 0
check "dumb with --check has the overlay in its key" grep -q "fd (central difference)" "$tmp/check.txt"
check "dumb with --check has log y2 tics" grep -q "1e-1[0-9]" "$tmp/check.txt"
"$nabla" plot '0*x' --check --term dumb >/dev/null
check "--check with nothing for the log axis exits 0" test $? -eq 0

# a caller with its standard input and error closed: the pipe ends land on 0 and 2 and must be
# moved out of the way before gnuplot's descriptors are set up
"$nabla" plot 'sin(x)' -o "$tmp/closed.png" <&- 2>&-
check "closed stdin and stderr exits 0" test $? -eq 0
check "closed stdin and stderr renders" test "$(size "$tmp/closed.png")" -gt 10000
# a window probe must not write to our standard output (a display that cannot be opened)
DISPLAY=:nonexistent "$nabla" plot 'x' --samples 3 >"$tmp/probe.txt" 2>/dev/null
check "the window probe prints nothing of its own" sh -c "! grep -q -e pngcairo -e 'Available terminal' '$tmp/probe.txt'"

# a text plot: both curves and their labels
env -u DISPLAY -u WAYLAND_DISPLAY COLUMNS=100 LINES=30 "$nabla" plot 'sin(x)' --range -pi:pi >"$tmp/dumb.txt"
check "dumb exits 0" test $? -eq 0
check "dumb is sized to COLUMNS" test "$(tr -d '\f' <"$tmp/dumb.txt" | awk '{ if (length > m) m = length } END { print m }')" -le 100
check "dumb shows f's points (+)" test "$(tr -cd '+' <"$tmp/dumb.txt" | wc -c)" -gt 40
check "dumb shows f''s points (*)" test "$(tr -cd '*' <"$tmp/dumb.txt" | wc -c)" -gt 40
check "dumb has both labels" sh -c "grep -q \"f' [*]\" '$tmp/dumb.txt' && grep -q ' f [+]' '$tmp/dumb.txt'"
"$nabla" plot 'x' --term dumb >/dev/null
check "--term dumb" test $? -eq 0

# a special function across its whole guarded range: Ai underflows past x = 104 and oscillates
# for x < 0; the table completes with finite values everywhere (GSL's handler is off in the
# command, so this checks the values, not the guards; tests/test_sf.c checks those)
"$nabla" plot 'airy_ai(x)' --range -300:300 --order 2 --data >"$tmp/airy.tsv"
check "airy_ai table exits 0" test $? -eq 0
check "airy_ai table has 501 rows and a header" test "$(wc -l <"$tmp/airy.tsv")" -eq 502
check "airy_ai table is finite" sh -c "! grep -q -e nan -e inf '$tmp/airy.tsv'"
check "airy_ai'' = x Ai at every sample" sh -c "awk 'NR > 1 { d = \$4 - \$1 * \$2; if (d < 0) d = -d; if (d > 1e-12) bad++; n++ } END { exit !(n == 501 && bad == 0) }' '$tmp/airy.tsv'"

# text that gnuplot would run as a shell command inside double quotes (`...`) is drawn literally
mkdir "$tmp/inj"
(cd "$tmp/inj" && "$nabla" plot 'sin(x)' --title 'a`touch PWN1`b '"'"'q'"'"' \\n' \
    -o 'c`touch PWN2`.png' 2>"$tmp/err")
check "backquotes in --title and -o exit 0" test $? -eq 0
check "backquotes ran nothing" sh -c "cd '$tmp/inj' && test ! -e PWN1 && test ! -e PWN2"
check "the output has its literal name" test -s "$tmp/inj/c\`touch PWN2\`.png"

# gnuplot absent: an empty PATH
mkdir "$tmp/empty"
(cd "$tmp/empty" && PATH= "$nabla" plot 'sin(x)' -o "$tmp/none.png" 2>"$tmp/err")
rc=$?
check "absent gnuplot exits 1 ($rc)" test $rc -eq 1
check "absent gnuplot names the package" grep -q "gnuplot-nox" "$tmp/err"
check "absent gnuplot points to --data" grep -q -- "--data" "$tmp/err"
check "--data needs no gnuplot" sh -c "cd '$tmp/empty' && PATH= '$nabla' plot 'sin(x)' --data --samples 3 | grep -q '^0	0	1$'"

# stand-ins: gnuplot killed mid-plot; gnuplot failing with a message; a marker for "started"
mkdir "$tmp/killed" "$tmp/failing" "$tmp/marker"
cat >"$tmp/killed/gnuplot" <<'SH'
#!/bin/sh
head -c 100 >/dev/null
kill -9 $$
SH
cat >"$tmp/failing/gnuplot" <<'SH'
#!/bin/sh
cat >/dev/null
echo "gnuplot> plot: unknown terminal type" >&2
exit 1
SH
cat >"$tmp/marker/gnuplot" <<SH
#!/bin/sh
touch "$tmp/started"
cat >/dev/null
SH
chmod +x "$tmp/killed/gnuplot" "$tmp/failing/gnuplot" "$tmp/marker/gnuplot"
PATH="$tmp/killed:$PATH" "$nabla" plot 'sin(x)' --samples 100000 -o "$tmp/k.png" 2>"$tmp/err"
rc=$?
check "killed gnuplot exits 1, not by SIGPIPE ($rc)" test $rc -eq 1
check "killed gnuplot is reported" grep -q "killed by signal 9" "$tmp/err"
PATH="$tmp/failing:$PATH" "$nabla" plot 'sin(x)' -o "$tmp/f.png" 2>"$tmp/err"
rc=$?
check "failing gnuplot exits 1 ($rc)" test $rc -eq 1
check "failing gnuplot's message is reported" grep -q "unknown terminal type" "$tmp/err"

# an output that fails while it is written: gnuplot itself exits 0 after a failed write, so nabla
# copies its output and checks every write
"$nabla" plot 'sin(x)' --term pngcairo -o /dev/full 2>"$tmp/err"
rc=$?
check "a full device as output exits 1 ($rc)" test $rc -eq 1
check "a full device is named" grep -q "cannot write '/dev/full': No space left" "$tmp/err"
env -u DISPLAY -u WAYLAND_DISPLAY "$nabla" plot 'sin(x)' >/dev/full 2>"$tmp/err"
rc=$?
check "a text plot to a full stdout exits 1 ($rc)" test $rc -eq 1
check "a full stdout is named" grep -q "standard output: No space left" "$tmp/err"
"$nabla" plot 'sin(x)' --term pngcairo -o /dev/null
check "a device as output is written, not replaced" sh -c "test \$? -eq 0 && test -c /dev/null"
# a failed plot leaves an existing output as it was, and no file of its own
mkdir "$tmp/keep" "$tmp/silent"
echo old >"$tmp/keep/k.png"
PATH="$tmp/failing:$PATH" "$nabla" plot 'sin(x)' -o "$tmp/keep/k.png" 2>/dev/null
check "failing gnuplot leaves the old output" test "$(cat "$tmp/keep/k.png")" = old
check "failing gnuplot leaves no new file" test "$(ls "$tmp/keep")" = k.png
cat >"$tmp/silent/gnuplot" <<'SH'
#!/bin/sh
cat >/dev/null
SH
chmod +x "$tmp/silent/gnuplot"
PATH="$tmp/silent:$PATH" "$nabla" plot 'sin(x)' -o "$tmp/keep/s.png" 2>"$tmp/err"
rc=$?
check "gnuplot writing nothing exits 1 ($rc)" test $rc -eq 1
check "gnuplot writing nothing is named" grep -q "gnuplot wrote nothing" "$tmp/err"
check "gnuplot writing nothing leaves no file" test "$(ls "$tmp/keep")" = k.png
"$nabla" plot 'sin(x)' -o "$tmp/keep/k.png"
check "a successful plot replaces the old output" sh -c "head -c 8 '$tmp/keep/k.png' | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$'"
check "a successful plot leaves no other file" test "$(ls "$tmp/keep")" = k.png

# the output is opened as usual once the plot is complete: through a symbolic link, keeping the
# file's mode and hard links, with a name near NAME_MAX (a rename over the path broke all four)
mkdir "$tmp/ln"
echo old >"$tmp/ln/target.png"
ln -s target.png "$tmp/ln/link.png"
"$nabla" plot x -o "$tmp/ln/link.png"
check "a symbolic link is written through" sh -c "test -L '$tmp/ln/link.png' && head -c 4 '$tmp/ln/target.png' | od -An -c | grep -q 'P   N   G'"
echo secret >"$tmp/ln/priv.png"
chmod 600 "$tmp/ln/priv.png"
ln "$tmp/ln/priv.png" "$tmp/ln/hard.png"
"$nabla" plot x -o "$tmp/ln/priv.png"
check "the mode is kept" test "$(stat -c %a "$tmp/ln/priv.png")" = 600
check "a hard link sees the plot" cmp -s "$tmp/ln/priv.png" "$tmp/ln/hard.png"
long=$(printf 'a%.0s' $(seq 1 240)).png
(cd "$tmp/ln" && "$nabla" plot x -o "$long")
check "a name of 244 bytes" test -s "$tmp/ln/$long"

# terminals that need their file by name: epslatex writes out.tex and out.eps, emf seeks back to
# fill its header (a pipe left the header's sizes at 0)
(cd "$tmp" && "$nabla" plot 'sin(x)' --term epslatex -o out.tex)
check "epslatex exits 0" test $? -eq 0
check "epslatex writes .tex and .eps" sh -c "test -s '$tmp/out.tex' && test -s '$tmp/out.eps'"
"$nabla" plot 'sin(x)' --term emf -o "$tmp/x.emf"
check "emf's header has its size" test "$(od -An -tu4 -j48 -N4 "$tmp/x.emf" | tr -d ' ')" -gt 0

# the --check overlay's log axis for errors near the smallest subnormal: a tenth of 5e-324 is 0,
# which gnuplot refuses as a log range's end
"$nabla" plot '5e-324*x' --check -o "$tmp/sub.png" 2>"$tmp/err"
rc=$?
check "a subnormal error range renders ($rc)" test $rc -eq 0

# the staging file: in TMPDIR, unlinked at once (nothing left behind), and a TMPDIR that is not
# there is an error that names it
mkdir "$tmp/stage"
TMPDIR="$tmp/stage" "$nabla" plot x -o "$tmp/staged.png"
check "staged plot exits 0" test $? -eq 0
check "nothing left in TMPDIR" test -z "$(ls -A "$tmp/stage")"
TMPDIR="$tmp/no/such" "$nabla" plot x -o "$tmp/staged2.png" 2>"$tmp/err"
check "a missing TMPDIR exits 1" test $? -eq 1
check "a missing TMPDIR is named" grep -q "no temporary file in $tmp/no/such" "$tmp/err"

# gnuplot's reason, not its echo of the command: it prints "gnuplot> set terminal ...", a caret,
# then "line 0: unknown or ambiguous terminal type"
env -u DISPLAY -u WAYLAND_DISPLAY "$nabla" plot x --term nosuchterm 2>"$tmp/err"
rc=$?
check "an unknown terminal exits 1 ($rc)" test $rc -eq 1
check "gnuplot's reason is reported" grep -q "gnuplot failed: line 0: unknown or ambiguous terminal" "$tmp/err"

# an unwritable output: refused before gnuplot starts
mkdir "$tmp/ro"
chmod 500 "$tmp/ro"
PATH="$tmp/marker:$PATH" "$nabla" plot 'sin(x)' -o "$tmp/ro/x.png" 2>"$tmp/err"
rc=$?
if [ "$(id -u)" -ne 0 ]; then
    check "unwritable output exits 1 ($rc)" test $rc -eq 1
    check "unwritable output is named" grep -q "cannot write" "$tmp/err"
    check "gnuplot was not started" test ! -e "$tmp/started"
fi
rm -f "$tmp/started"
PATH="$tmp/marker:$PATH" "$nabla" plot 'sin(x)' -o "$tmp/no/such/dir/x.png" 2>"$tmp/err"
rc=$?
check "output in a missing directory exits 1 ($rc)" test $rc -eq 1
check "missing directory is named" grep -q "cannot write" "$tmp/err"
check "gnuplot was not started for it" test ! -e "$tmp/started"
PATH="$tmp/marker:$PATH" "$nabla" plot 'sin(x)' -o "$tmp" 2>"$tmp/err"
check "a directory as output exits 2 or 1" test $? -ne 0
# usage errors exit 2
"$nabla" plot 'sin(x)' --order 2 --orders 0,1 2>/dev/null
check "--order with --orders is a usage error" test $? -eq 2
"$nabla" plot 'sin(x)' --range 3:1 2>/dev/null
check "an empty range is a usage error" test $? -eq 2
"$nabla" plot 'sin(x)' --samples 1 2>/dev/null
check "one sample is a usage error" test $? -eq 2
"$nabla" plot 'sin(x)' -o "$tmp/x.bmp" 2>/dev/null
check "an unknown extension is a usage error" test $? -eq 2
# a terminal that writes FILE itself: gnuplot creates or truncates it at `set output` and reads
# on after an error, so a failed plot - an unknown terminal, one that writes nothing (push), one
# that fails later (epslatex wants name.xxx) - must remove a new FILE and put an old one back
"$nabla" plot 'sin(x)' --term nosuchterm -o "$tmp/unknown.eps" 2>"$tmp/err"
check "an unknown terminal exits 1" test $? -eq 1
check "an unknown terminal is gnuplot's message" grep -q "terminal" "$tmp/err"
check "an unknown terminal leaves no empty file" test ! -e "$tmp/unknown.eps"
echo kept >"$tmp/kept.eps"
"$nabla" plot 'sin(x)' --term nosuchterm -o "$tmp/kept.eps" 2>/dev/null
check "an unknown terminal leaves an existing file as it was" test "$(cat "$tmp/kept.eps")" = kept
"$nabla" plot 'sin(x)' --term push -o "$tmp/kept.eps" 2>"$tmp/err"
check "a terminal that writes nothing exits 1" test $? -eq 1
check "a terminal that writes nothing says so" grep -q "wrote nothing" "$tmp/err"
check "a terminal that writes nothing leaves the file as it was" test "$(cat "$tmp/kept.eps")" = kept
echo kept >"$tmp/late"
"$nabla" plot 'sin(x)' --term epslatex -o "$tmp/late" 2>/dev/null
check "a terminal that fails late exits 1" test $? -eq 1
check "a terminal that fails late leaves the file as it was" test "$(cat "$tmp/late")" = kept
# gnuplot expands a leading ~ in `set output` to $HOME: a terminal that writes FILE itself wrote
# $HOME/foo.eps, over a file nabla had not kept, while nabla checked ./~/foo.eps (a review)
mkdir -p "$tmp/tl/~" "$tmp/tl/home"
echo precious >"$tmp/tl/home/foo.eps"
(cd "$tmp/tl" && HOME="$tmp/tl/home" "$nabla" plot x --term postscript -o '~/foo.eps')
check "an output named ~/... is a plot ($?)" test $? -eq 0
check "an output named ~/... is written where it says" test -s "$tmp/tl/~/foo.eps"
check "an output named ~/... leaves \$HOME alone" test "$(cat "$tmp/tl/home/foo.eps")" = precious
# a full disk while the finished plot is copied into FILE: the old FILE was left truncated and a
# new one half-written (a review). Needs a small file system: a tmpfs in a private mount
# namespace (root, unshare); skipped where there is none.
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    mkdir -p "$tmp/small"
    unshare -m sh -c '
        mount -t tmpfs -o size=64k tmpfs "$2" || exit 99
        head -c 20000 /dev/urandom >"$2/old.svg"
        cp "$2/old.svg" "$3/old.copy"
        "$1" plot "sin(x)" --samples 20000 -o "$2/old.svg" 2>"$3/err1"
        echo $? >"$3/rc1"
        cmp -s "$2/old.svg" "$3/old.copy" && echo same >"$3/same"
        "$1" plot "sin(x)" --samples 20000 -o "$2/new.svg" 2>"$3/err2"
        echo $? >"$3/rc2"
        ls "$2" >"$3/ls"
        # a TMPDIR too small for a copy of the old output, but not for the plot: the plot is
        # written all the same (keeping a copy first made it fail, a review)
        rm -f "$2/old.svg" "$2/new.svg"
        head -c 300000 /dev/urandom >"$3/big.png"
        TMPDIR="$2" "$1" plot "sin(x)" -o "$3/big.png" 2>"$3/err3"
        echo $? >"$3/rc3"
    ' sh "$nabla" "$tmp/small" "$tmp"
    if [ "$?" -eq 99 ]; then
        echo "skip a full disk (no tmpfs)"
    else
        check "a full disk exits 1 ($(cat "$tmp/rc1"))" test "$(cat "$tmp/rc1")" = 1
        check "a full disk is named" grep -q "No space left" "$tmp/err1"
        check "a full disk leaves the old output as it was" test -e "$tmp/same"
        check "a full disk, a new output: exit 1" test "$(cat "$tmp/rc2")" = 1
        check "a full disk leaves no half-written new output" test "$(cat "$tmp/ls")" = old.svg
        check "no room for a copy of the old output: the plot is written ($(cat "$tmp/rc3"))" \
            test "$(cat "$tmp/rc3")" = 0
        check "no room for a copy of the old output: a PNG" sh -c \
            "head -c 8 '$tmp/big.png' | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$'"
    fi
else
    echo "skip a full disk (no unshare -m)"
fi
# a FIFO nobody reads as output: an error at once, not a hang
mkfifo "$tmp/fifo.png"
timeout 20 "$nabla" plot 'sin(x)' -o "$tmp/fifo.png" 2>"$tmp/err"
rc=$?
check "a FIFO without a reader exits 1 ($rc)" test $rc -eq 1
check "a FIFO without a reader is named" grep -q "nothing reads it" "$tmp/err"
ln -s "$tmp/target" "$tmp/dangling"
"$nabla" plot 'sin(x)' --term epslatex -o "$tmp/dangling" 2>/dev/null
check "a dangling link as output, a failed plot: exit 1" test $? -eq 1
check "a dangling link as output, a failed plot: the link is kept" test -L "$tmp/dangling"
check "a dangling link as output, a failed plot: no file at its target" test ! -e "$tmp/target"
"$nabla" plot 'sin(x)' --term epslatex -o "$tmp/fig.tex"
check "epslatex writes its file" test -s "$tmp/fig.tex"
# a gnuplot that hangs: --timeout stops it (the library's default is 120 s)
mkdir -p "$tmp/hang"
cat >"$tmp/hang/gnuplot" <<'SH'
#!/bin/sh
exec sleep 60
SH
chmod +x "$tmp/hang/gnuplot"
start=$(date +%s)
PATH="$tmp/hang:$PATH" timeout 30 "$nabla" plot 'sin(x)' --timeout 0.5 -o "$tmp/hang.png" 2>"$tmp/err"
rc=$?
took=$(($(date +%s) - start))
check "a hanging gnuplot with --timeout 0.5 exits 1 ($rc)" test $rc -eq 1
check "a hanging gnuplot is stopped within seconds ($took s)" test "$took" -le 10
check "a hanging gnuplot is named" grep -q "gnuplot did nothing for 0.5 s and was stopped" "$tmp/err"
check "a hanging gnuplot leaves no file" test ! -e "$tmp/hang.png"
exit $fail
