#!/bin/sh
# 20-milter-spool.t - the failure policy with a real failure: the store
# lives on a 4 MB tmpfs that the test fills up. Mails keep being answered
# "accept" (on_error = accept), each is logged and kept in the spool; once
# space is back, the next successful commit replays the spool, and every
# mail is in the store byte for byte. Needs root (mount); skips otherwise.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

need_root
command -v miltertest >/dev/null || skip_all "miltertest is not installed"
[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ -x "$KV_BUILD/kvmarm-store" ] || skip_all "kvmarm-store not built"
small_fs "$T/small" 4m

M="$KV_SRC/tests/milter"
cat > "$T/m.conf" <<EOF
[milter]
run_as_root = true
socket = unix:$T/m.sock
socket_group =
spool_dir = $T/spool
pid_file = $T/m.pid
commit_interval_ms = 0
[store]
path = $T/small/db
map_size_mb = 1
EOF
kvmarm-milter --config "$T/m.conf" -f -v 2> "$T/m.log" &
MPID=$!
track_pid $MPID
wait_for_file "$T/m.sock" 50
ok $? "milter started with its store on a small tmpfs"

# Fill the file system (the store is open and has its first pages).
dd if=/dev/zero of="$T/small/filler" bs=64k 2>/dev/null
df -k "$T/small" | tail -1 | awk '{ print "# tmpfs: " $4 " kB free" }'

miltertest -D sock="unix:$T/m.sock" -D lib="$M/common.lua" -s "$M/record.lua" > "$T/r.out" 2>&1
ok $? "mails still answered with accept while the store is full"
i=0; while [ "$(grep -c 'kept in the spool' "$T/m.log")" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
n=$(grep -c 'kept in the spool' "$T/m.log")
is "$n" "3" "three list mails logged as kept in the spool"
is "$(ls "$T/spool/new" | wc -l)" "3" "three mails in spool/new"
grep -q 'store write failed' "$T/m.log"
ok $? "the store failure is logged"

# Space again: the next mail commits, and the spool is replayed.
rm -f "$T/small/filler"
miltertest -D sock="unix:$T/m.sock" -D lib="$M/common.lua" -s "$M/abort.lua" > "$T/a.out" 2>&1
ok $? "a mail after the disk has space again"
i=0; while [ "$(ls "$T/spool/new" | wc -l)" -gt 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
is "$(ls "$T/spool/new" | wc -l)" "0" "spool replayed after the next successful commit"
grep 'spool replay' "$T/m.log" | sed 's/^/# /'

stop_pid $MPID
ok $? "milter exits 0 on SIGTERM"

for id in rec-1@kernel.org:rec-1 rec-2@kernel.org:rec-2 rec-3@example.org:rec-3 \
	  after-abort@example.org:after-abort; do
	kvmarm-store --db "$T/small/db" msg --raw "${id%%:*}" > "$T/got" 2>&1
	cmp -s "$T/got" "$M/expect/${id#*:}.eml"
	ok $? "${id%%:*} in the store byte for byte"
done
kvmarm-store --db "$T/small/db" check > "$T/check.out" 2>&1
ok $? "kvmarm-store check passes"
done_testing
