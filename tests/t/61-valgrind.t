#!/bin/sh
# 61-valgrind.t - one end-to-end run under valgrind (memcheck): import of a
# generated week of list mail, `check`, the weekly digest in every format
# (Markdown, HTML, JSON; the extractive summaries) and a search, each
# program under `valgrind --error-exitcode=99 --leak-check=full`. Any
# invalid read or write, use of an uninitialised value, or leak that
# valgrind counts as an error (definitely and possibly lost blocks) makes
# its step exit 99 and fail, with valgrind's report shown.
# Skipped when valgrind is not installed (`make deps` installs it) and in a
# sanitizer build (ASan and valgrind cannot share a process).
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

command -v valgrind >/dev/null 2>&1 || skip_all "valgrind is not installed (make deps installs it)"
[ -x "$KV_BUILD/kvmarm-store" ] && [ -x "$KV_BUILD/kvmarm-reporter" ] || skip_all "programs not built in $KV_BUILD"
grep -q -- '-fsanitize' "$KV_BUILD/flags" 2>/dev/null && skip_all "sanitizer build: valgrind cannot run ASan programs"

VG="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,possible --track-origins=yes -q"
# vg NAME CMD...: run CMD under valgrind, output in $T/NAME.out/.err
vg() {
	name=$1
	shift
	$VG "$@" > "$T/$name.out" 2> "$T/$name.err"
	rc=$?
	ok $rc "$name under valgrind (exit $rc)"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$T/$name.err" | head -40
}

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 61 --scenario digest --out "$T/w.mbox" --quiet
ok $? "generated a week of list mail"

vg import "$KV_BUILD/kvmarm-store" --db "$T/db" import "$T/w.mbox"
grep -q '^imported [1-9]' "$T/import.out"
ok $? "import stored the mails ($(head -1 "$T/import.out"))"
vg check "$KV_BUILD/kvmarm-store" --db "$T/db" check
KVMARM_NOW=2024-03-11T00:00:00Z vg digest "$KV_BUILD/kvmarm-reporter" --db "$T/db" --once --week 2024-W10 \
	--no-send --output "$T/out" --format md,html,json
n=$(find "$T/out" -name '2024-W10.*' -size +1k | wc -l)
is "$n" "3" "the digest was written as Markdown, HTML and JSON"
vg search "$KV_BUILD/kvmarm-store" --db "$T/db" search subject:KVM
[ -s "$T/search.out" ]
ok $? "search found messages ($(wc -l < "$T/search.out") lines)"
done_testing
