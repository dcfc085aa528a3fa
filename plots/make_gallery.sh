#!/bin/sh
# make_gallery.sh NABLA DIR - regenerates the gallery's figures in DIR with the built nabla:
# each figure is `nabla plot ... --script` run through gnuplot after the shared style.gp.
# Run it with `meson compile -C build plots`.
set -eu
nabla=$1 dir=$2
figure() { # name, then nabla plot's arguments
    name=$1
    shift
    "$nabla" plot "$@" -o "$dir/$name.png" --script | cat "$dir/style.gp" - | gnuplot
    echo "wrote $dir/$name.png"
}
# The chapter's exercise: f = sin(x) and df/dx, computed without writing cos anywhere.
figure sin 'sin(x)' --range -2*pi:2*pi --title 'f(x) = sin(x) and df/dx by automatic differentiation'
figure gaussian 'exp(-x^2)' --order 4 --range -3:3 --title 'exp(-x^2) and its derivatives to order 4'
figure tan 'tan(x)' --range -2*pi:2*pi --samples 1001 --title 'tan(x) and its derivative: poles are gaps, not spikes'
figure abs 'abs(x)' --range -2:2 --title '|x|: the kink shows as a jump in the derivative'
figure check 'tan(x)' --check --range -3:3 --samples 601 --title "tan(x): f' by AD and by central differences, and |f' - fd|"
