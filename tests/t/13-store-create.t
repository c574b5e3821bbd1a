#!/bin/sh
# 13-store-create.t - creating a store is one step (issue 14 item 12): a
# creator killed half-way (KVMARM_STORE_CREATE_DELAY_MS holds it after the
# LMDB environment exists and before its databases do) leaves no data.mdb,
# so never a store that reads as "not a kvmarm store"; the next import
# creates the store and clears the killed creator's temporary directory. Also a
# SIGKILL loop at random moments of a first import.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"
printf 'From a@example.org Mon Jan  1 00:00:00 2024\nFrom: A <a@example.org>\nTo: kvmarm@lists.linux.dev\nSubject: one\nMessage-ID: <create-1@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nList-Id: <kvmarm.lists.linux.dev>\n\nhello\n' >"$T/one.mbox"

# ---- killed inside the window ----
mkdir -p "$T/a"
KVMARM_STORE_CREATE_DELAY_MS=5000 "$KS" --db "$T/a/db" import "$T/one.mbox" >/dev/null 2>&1 &
P=$!
track_pid $P
i=0
while [ -z "$(find "$T/a" -name data.mdb 2>/dev/null)" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -n "$(find "$T/a" -name data.mdb)" ]; ok $? "the creator has made its LMDB environment (and waits)"
kill -KILL $P; wait $P 2>/dev/null
"$KS" --db "$T/a/db" threads >"$T/out" 2>&1
grep -q "not a kvmarm store" "$T/out"; ok $((!$?)) "after the kill: not 'not a kvmarm store' ($(head -1 "$T/out"))"
"$KS" --db "$T/a/db" import "$T/one.mbox" >"$T/out" 2>&1
is "$(head -1 "$T/out")" "imported 1" "the next import creates the store"
"$KS" --db "$T/a/db" check >/dev/null 2>&1; ok $? "check: whole"
ls -A "$T/a/db" | grep -q '^\.new\.'; ok $((!$?)) "the killed creator's temporary directory is gone"

# ---- SIGKILL at random moments of a first import ----
bad=0; made=0
for k in $(seq 1 30); do
	rm -rf "$T/b"
	"$KS" --db "$T/b/db" import "$T/one.mbox" >/dev/null 2>&1 &
	P=$!
	sleep "0.00$(( (k * 7) % 10 ))"
	kill -KILL $P 2>/dev/null; wait $P 2>/dev/null
	"$KS" --db "$T/b/db" threads >"$T/out" 2>&1
	if grep -q "not a kvmarm store\|schema" "$T/out"; then bad=$((bad + 1)); fi
	"$KS" --db "$T/b/db" import "$T/one.mbox" >/dev/null 2>&1 && made=$((made + 1))
done
is "$bad" 0 "30 kills during creation: never 'not a kvmarm store'"
is "$made" 30 "... and every time the next import works"
done_testing
