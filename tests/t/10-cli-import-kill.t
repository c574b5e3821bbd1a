#!/bin/sh
# 10-cli-import-kill.t - `kvmarm-store import` killed with SIGKILL at
# random points, KV_KILLS times (default 50), over the same store: after
# every kill `kvmarm-store check` passes and the store holds at least what
# it held before (a committed batch is never lost); the next import goes on
# from where the store is. At the end one import runs to completion: every
# message of the mbox is stored exactly once (0 lost, 0 duplicates: the
# store's count equals the mbox's distinct Message-IDs, and that import
# reports imported + already present = all of them).
# The kill points are random delays (KV_KILL_SEED, printed) of up to
# 0.35 s after the start of a 2,000-mail import, which takes 0.6-1 s fresh
# on this machine: they fall while opening, reading, parsing and in the
# middle of write transactions; an import that ends before its kill point
# does not count, and a store that became complete starts over. About
# 20 s for 50 kills. The store is created by a first, whole
# import of one mail (a kill during creation is another test's subject).
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"
KILLS=${KV_KILLS:-50}
SEED=${KV_KILL_SEED:-$(date +%s)}
diag "KV_KILLS=$KILLS KV_KILL_SEED=$SEED"

N=2000
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1014 --weeks 8 --messages $N --out "$T/m.mbox" \
	--manifest "$T/m.json" --quiet
ok $? "generated an mbox of $N mails"
"$PYTHON" -c 'import json,sys; print(len({m["message_id"] for m in json.load(open(sys.argv[1]))["messages"]}))' \
	"$T/m.json" > "$T/nids"
NIDS=$(cat "$T/nids")
is "$NIDS" "$N" "the mbox holds $N distinct Message-IDs"

# the store exists before the first kill: one mail, imported whole
awk 'NR > 1 && /^From / { exit } { print }' "$T/m.mbox" > "$T/one.mbox"
"$KS" --db "$T/db" import "$T/one.mbox" > /dev/null 2>&1
ok $? "store created with one mail"

"$PYTHON" - "$SEED" "$((3 * KILLS))" > "$T/delays" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    print("%.3f" % r.uniform(0.005, 0.35))
PY

# count: the store's message count from `check` ("ok: N messages, ...")
count() { sed -n 's/^ok: \([0-9]*\) messages.*/\1/p' "$T/check.out"; }
prev=1
bad_check=0 shrank=0 finished=0 k=0 runs=0
while read -r delay && [ $k -lt "$KILLS" ]; do
	runs=$((runs + 1))
	"$KS" --db "$T/db" import "$T/m.mbox" > "$T/imp.out" 2>&1 &
	pid=$!
	sleep "$delay"
	# an import that ended before its kill point does not count as a kill
	if kill -KILL $pid 2>/dev/null; then k=$((k + 1)); else finished=$((finished + 1)); fi
	wait $pid 2>/dev/null
	if ! "$KS" --db "$T/db" check > "$T/check.out" 2>&1; then
		bad_check=$((bad_check + 1))
		diag "run $runs (killed after ${delay}s): check failed: $(head -3 "$T/check.out")"
		continue
	fi
	now=$(count)
	if [ "${now:-0}" -lt "$prev" ]; then
		shrank=$((shrank + 1))
		diag "run $runs (killed after ${delay}s): $prev messages before, $now after"
	fi
	prev=${now:-0}
	# a complete store gives the next kill nothing to interrupt: start over
	if [ "$prev" -ge "$N" ]; then
		rm -rf "$T/db"
		"$KS" --db "$T/db" import "$T/one.mbox" > /dev/null 2>&1
		prev=1
	fi
done < "$T/delays"
is "$k" "$KILLS" "$KILLS imports SIGKILLed at random points"
diag "$runs imports started, $finished ended before their kill point; last count $prev of $N"
is "$bad_check" "0" "kvmarm-store check passed after every kill"
is "$shrank" "0" "no kill lost a message the store held before it"

"$KS" --db "$T/db" import "$T/m.mbox" > "$T/imp.out" 2>&1
ok $? "a last import runs to completion"
sed 's/^/# /' "$T/imp.out"
nimp=$(sed -n 's/^imported \([0-9]*\)/\1/p' "$T/imp.out")
npres=$(sed -n 's/^already present \([0-9]*\)/\1/p' "$T/imp.out")
is "$((${nimp:-0} + ${npres:-0}))" "$N" "imported + already present = every mail of the mbox"
"$KS" --db "$T/db" check > "$T/check.out" 2>&1
ok $? "check passes at the end"
is "$(count)" "$N" "the store holds each of the $N mails exactly once (0 lost, 0 duplicates)"
done_testing
