#!/bin/sh
# tests/bench/run.sh - `make bench`: run every tests/bench/bench-*.sh in
# name order and print their numbers. Benchmarks never fail the run
# because the machine is slow; a script that breaks is reported and the
# others still run. The exit status is the number of scripts that broke
# (capped at 100), 0 when all ran.
: "${KV_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${KV_BUILD:=$KV_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
export KV_SRC KV_BUILD PYTHON

broken=0
for s in "$KV_SRC"/tests/bench/bench-*.sh; do
	[ -f "$s" ] || continue
	echo "=== $(basename "$s") ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	sh "$s"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "=== $(basename "$s"): the script failed (exit $rc)"
		broken=$((broken + 1))
	fi
	echo
done
[ $broken -le 100 ] || broken=100
exit $broken
