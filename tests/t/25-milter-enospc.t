#!/bin/sh
# 25-milter-enospc.t - the milter on a nearly full disk (issue 14 item 1):
# store and spool on one 8 MB tmpfs. The 2 x 16 MB journals do not fit:
# a failed zero-fill is given back, the journals shrink to what fits (at
# most a quarter of the free space each), and every mail that fits is
# recorded (before: the half-filled first journal took the disk, the log
# said "cannot prepare journal: Success", and 0 of 20 were recorded). Then
# the disk is filled: mails that cannot be kept are logged as lost, with
# the way to recover them, and the store stays whole.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

command -v miltertest >/dev/null || skip_all "miltertest is not installed"
[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ -x "$KV_BUILD/kvmarm-store" ] || skip_all "kvmarm-store not built"
small_fs "$T/small" 8m

M="$KV_SRC/tests/milter"
cat > "$T/m.conf" <<EOF
[milter]
run_as_root = true
socket = unix:$T/m.sock
socket_group =
spool_dir = $T/small/spool
pid_file = $T/m.pid
[store]
path = $T/small/db
map_size_mb = 1
EOF
start_milter() {
	kvmarm-milter --config "$T/m.conf" -f -v 2>>"$T/m.log" &
	MPID=$!
	track_pid $MPID
	wait_for_file "$T/m.sock" 100
}
start_milter
ok $? "milter started with store and spool on an 8 MB tmpfs"
grep 'journal' "$T/m.log" | sed 's/^/# /'
grep -q "cannot prepare journal" "$T/m.log"
ok $((!$?)) "no 'cannot prepare journal' (before: '... Success', or a stale errno)"
grep -q "journal $T/small/spool/journal: [0-9]* KB instead of 16384 KB" "$T/m.log"
ok $? "the journal shrank to fit, and the log says so"
J=$(du -k "$T/small/spool" | tail -1 | cut -f1)
ok $([ "$J" -le 4096 ]; echo $?) "the journals take $J KB, at most half the disk"

miltertest -D sock="unix:$T/m.sock" -D lib="$M/common.lua" -D n=20 -D size=100000 -D tag=a \
	-s "$M/many.lua" >"$T/r.out" 2>&1
ok $? "20 mails of 100 KB answered with accept"
stop_pid $MPID
ok $? "milter exits 0 on SIGTERM"
kvmarm-store --db "$T/small/db" check >"$T/check.out" 2>&1
ok $? "check: the store is whole"
N=$(sed -n 's/^ok: \([0-9]*\) messages.*/\1/p' "$T/check.out")
diag "stored ${N:-0} of 20 (8 MB tmpfs, 100 KB mails)"
is "${N:-0}" 20 "all 20 mails recorded"

# ---- the disk fills up: what is lost is said, with the way back ----
start_milter
ok $? "milter restarted"
dd if=/dev/zero of="$T/small/filler" bs=64k >/dev/null 2>&1
miltertest -D sock="unix:$T/m.sock" -D lib="$M/common.lua" -D n=5 -D size=200000 -D tag=b \
	-s "$M/many.lua" >"$T/r2.out" 2>&1
ok $? "on a full disk mails are still answered with accept"
stop_pid $MPID
ok $? "milter exits 0"
rm -f "$T/small/filler"
LOST=$(grep -c "NOT recorded" "$T/m.log")
grep "NOT recorded" "$T/m.log" | head -1 | sed 's/^/# /'
NOTE=$(grep "NOT recorded" "$T/m.log" | grep -c "kvmarm-store import")
ok $([ "$LOST" -gt 0 ] && [ "$LOST" = "$NOTE" ]; echo $?) \
	"each of the $LOST lost mails is logged with how to recover it"
grep -q "Success" "$T/m.log"; ok $((!$?)) "no error logged as 'Success'"
kvmarm-store --db "$T/small/db" check >"$T/check.out" 2>&1
ok $? "check after the full disk: whole"
N2=$(sed -n 's/^ok: \([0-9]*\) messages.*/\1/p' "$T/check.out")
SP=$(ls "$T/small/spool/new" 2>/dev/null | wc -l)
diag "full disk: $((${N2:-0} - 20)) more stored, $SP spooled, $LOST logged as lost, of 5"
is "$((${N2:-0} - 20 + SP + LOST))" 5 "each of the 5 is stored, spooled or logged as lost"
done_testing
