#!/usr/bin/env bash
# Counts the lines of code of C and JavaScript files: lines that are not blank and not only a
# comment (// ..., /* ... */ blocks, or a " * " continuation). Used for the comparison of
# examples/realistic.c with examples/ts/realistic.mjs in docs/guide.md.
#   scripts/count-lines.sh FILE...
set -euo pipefail
for f in "$@"; do
    n=$(awk '
        /^[ \t]*$/ { next }
        incomment { if ($0 ~ /\*\//) incomment = 0; next }
        /^[ \t]*\/\// { next }
        /^[ \t]*\/\*/ { if ($0 !~ /\*\//) incomment = 1; next }
        { n++ }
        END { print n + 0 }' "$f")
    echo "$n $f"
done
