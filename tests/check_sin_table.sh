#!/bin/sh
# check_sin_table.sh EXE - the example prints 17 rows where d/dx sin (from dual numbers) equals
# cos(x) to the 8 printed decimals, and sin(x) and x agree.
set -eu
"$1" | awk 'NR == 1 { next }
  { n++; if ($3 != $4) { print "row " NR ": derivative " $3 " vs cos " $4; bad = 1 }
    s = sin($1); if ((s - $2) > 1e-4 || ($2 - s) > 1e-4) { print "row " NR ": sin"; bad = 1 } }
  END { if (n != 17) { print n " rows, want 17"; bad = 1 } exit bad }'
