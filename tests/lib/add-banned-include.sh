#!/bin/sh
# add-banned-include.sh - put `#include "banned.h"` after the last #include
# of every library and program .c file (store/, store/cli/, milter/,
# reporter/; not tests) that does not already have it after its system
# headers. banned.h redefines strcpy, sprintf, gmtime... as errors, so it
# must come after the system headers that declare them: glibc's fortified
# headers (-D_FORTIFY_SOURCE=2) define inline versions of those functions.
# Idempotent: a second run changes nothing. `make fix-banned` runs it and
# `make check-banned` checks the result.
#
# Usage: tests/lib/add-banned-include.sh [TOP]   (TOP: the checkout's top
# folder; default the one this script is in)
set -eu
cd "${1:-$(dirname "$0")/../..}"

changed=0
for f in store/*.c store/cli/*.c milter/*.c reporter/*.c; do
	[ -f "$f" ] || continue
	# Line of the last system include and of banned.h (0 when absent).
	last_sys=$(awk '/^[ \t]*#[ \t]*include[ \t]*</ { n = NR } END { print n + 0 }' "$f")
	banned=$(awk '/^[ \t]*#[ \t]*include[ \t]*"banned\.h"/ { n = NR } END { print n + 0 }' "$f")
	if [ "$banned" -gt 0 ] && [ "$banned" -gt "$last_sys" ]; then
		continue
	fi
	# Drop a misplaced banned.h, then insert it after the last #include.
	if ! awk '
		/^[ \t]*#[ \t]*include[ \t]*"banned\.h"/ { next }
		{ line[++n] = $0; if ($0 ~ /^[ \t]*#[ \t]*include/) last = n }
		END {
			if (!last) { print FILENAME ": no #include to put banned.h after" > "/dev/stderr"; exit 1 }
			for (i = 1; i <= n; i++) {
				print line[i]
				if (i == last) print "#include \"banned.h\""
			}
		}' "$f" >"$f.banned-tmp"; then
		rm -f "$f.banned-tmp"
		exit 1
	fi
	# cat, not mv: the file keeps its owner and mode.
	cat "$f.banned-tmp" >"$f"
	rm -f "$f.banned-tmp"
	echo "added banned.h: $f"
	changed=$((changed + 1))
done
echo "add-banned-include: $changed file(s) changed"
