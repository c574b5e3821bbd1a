#!/bin/sh
# 60-fuzz-replay.t - every fuzz target (tests/fuzz/fuzz_*.c), built with
# an ordinary main (tests/fuzz/replay.c, $KV_BUILD/fuzz-replay/NAME), runs
# once over its generated seed corpus (tests/fuzz/seeds.py) and over every
# reproducer of an earlier finding in tests/fuzz/regress/NAME/: each
# target's properties (written at the top of its file) hold on them, so a
# fixed finding stays fixed in every `make check` (and under SANITIZE=1
# with ASan), without clang or libFuzzer. A reproducer named *.todo is a
# known finding whose fix is not in yet: it runs as a TAP TODO test (shown,
# not failing the suite) until the fix lands and the file is renamed.
# `make fuzz` is the fuzzing itself.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

R="$KV_BUILD/fuzz-replay"
[ -d "$R" ] || skip_all "fuzz replay programs not built in $R"

"$PYTHON" "$KV_SRC/tests/fuzz/seeds.py" "$T/seed"
ok $? "seeds.py wrote the seed corpora"

for src in "$KV_SRC"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	[ -x "$R/$name" ] || { ok 1 "$name: built"; continue; }
	n=$(ls "$T/seed/$name" 2>/dev/null | wc -l)
	[ "$n" -gt 0 ]
	ok $? "$name: seeds.py wrote a seed corpus ($n inputs)"
	TMPDIR="$T" "$R/$name" "$T/seed/$name" >"$T/out" 2>&1
	rc=$?
	ok $rc "$name: properties hold on the $n seeds"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$T/out" | tail -5
	for f in "$KV_SRC/tests/fuzz/regress/$name"/*; do
		[ -f "$f" ] || continue
		TMPDIR="$T" "$R/$name" "$f" >"$T/out" 2>&1
		rc=$?
		case "$f" in
		*.todo)
			TAP_N=$((TAP_N + 1))
			if [ $rc -eq 0 ]; then echo "ok $TAP_N - $name: $(basename "$f") # TODO known finding, now passes: rename it"
			else echo "not ok $TAP_N - $name: $(basename "$f") # TODO known finding, fix not in yet"; fi
			sed 's/^/#   /' "$T/out" | tail -2 ;;
		*)
			ok $rc "$name: reproducer $(basename "$f")"
			[ $rc -eq 0 ] || sed 's/^/#   /' "$T/out" | tail -5 ;;
		esac
	done
done
done_testing
