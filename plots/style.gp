# style.gp - the gallery's shared gnuplot style. Loaded before the script `nabla plot --script`
# prints; nabla's script then keeps these line styles instead of its defaults.
nabla_style = 1
set style line 1 lw 2.5 lc rgb "#1f77b4"
set style line 2 lw 2.5 lc rgb "#d62728"
set style line 3 lw 2.5 lc rgb "#2ca02c"
set style line 4 lw 2.5 lc rgb "#9467bd"
set style line 5 lw 2.5 lc rgb "#ff7f0e"
set style line 6 lw 2.5 lc rgb "#8c564b"
set style line 7 lw 2.5 lc rgb "#e377c2"
set style line 8 lw 2.5 lc rgb "#7f7f7f"
set style line 9 lw 2.5 lc rgb "#bcbd22"
set style line 10 lw 2.5 lc rgb "#17becf"
set grid lc rgb "#dddddd" lt 1
set border lc rgb "#555555"
set key outside right top box lc rgb "#aaaaaa"
set tics nomirror
