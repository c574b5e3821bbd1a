#!/bin/sh
# 26-milter-store-closed.t - a milter whose store cannot be opened (issue
# 14 item 8) starts anyway, says so loudly, answers accept and keeps every
# list mail in the spool, tries the store again every
# KVMARM_MILTER_STORE_RETRY_MS (30 s by default) and, once it opens,
# records the spool. Two ways to be unopenable: a read-only file system
# (remounted read-write later) and a store owned by another user (given to
# the milter's user later). Before: the milter refused to start and mail
# passed unrecorded and unspooled.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

command -v miltertest >/dev/null || skip_all "miltertest is not installed"
[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ -x "$KV_BUILD/kvmarm-store" ] || skip_all "kvmarm-store not built"
id nobody >/dev/null 2>&1 || skip_all "no user nobody"
small_fs "$T/ro" 4m
chmod 755 "$T"
M="$KV_SRC/tests/milter"
export KVMARM_MILTER_STORE_RETRY_MS=500
# wait_listening LOG: until the milter has logged that it listens (the
# socket exists earlier: it is made before root is dropped)
wait_listening() { i=0; while ! grep -q "listening on" "$1" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; }

# ---- a read-only file system ----
kvmarm-store --db "$T/ro/db" import "$M/expect/after-abort.eml" >/dev/null 2>&1
ok $? "a store with one mail"
mount -o remount,ro "$T/ro"; ok $? "its file system remounted read-only"
cat > "$T/a.conf" <<EOF
[milter]
run_as_root = true
socket = unix:$T/a.sock
socket_group =
spool_dir = $T/spool-a
pid_file = $T/a.pid
[store]
path = $T/ro/db
EOF
kvmarm-milter --config "$T/a.conf" -f -v 2>"$T/a.log" &
P=$!; track_pid $P
wait_for_file "$T/a.sock" 100 && wait_listening "$T/a.log"
grep -q "listening on" "$T/a.log"; ok $? "the milter starts although its store cannot be opened"
grep -q "error: the store is not open (.*Read-only file system.*): mails are kept in the spool" "$T/a.log"
ok $? "it says so loudly, with the reason" || sed 's/^/#   /' "$T/a.log"
miltertest -D sock="unix:$T/a.sock" -D lib="$M/common.lua" -s "$M/record.lua" >"$T/r.out" 2>&1
ok $? "list mails answered with accept" || sed 's/^/#   /' "$T/r.out"
i=0; while [ "$(ls "$T/spool-a/new" 2>/dev/null | wc -l)" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
is "$(ls "$T/spool-a/new" | wc -l)" 3 "the three list mails are in the spool"
sleep 1.2
grep -q "the store still cannot be opened" "$T/a.log"; ok $? "it tries again, and logs each failure"
mount -o remount,rw "$T/ro"
i=0; while [ "$(ls "$T/spool-a/new" | wc -l)" -gt 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
is "$(ls "$T/spool-a/new" | wc -l)" 0 "read-write again: the spool is recorded"
grep -q "the store is open now" "$T/a.log"; ok $? "the log says the store opened"
stop_pid $P; ok $? "milter exits 0"
for id in rec-1@kernel.org:rec-1 rec-2@kernel.org:rec-2 rec-3@example.org:rec-3; do
	kvmarm-store --db "$T/ro/db" msg --raw "${id%%:*}" >"$T/got" 2>&1
	cmp -s "$T/got" "$M/expect/${id#*:}.eml"; ok $? "${id%%:*} in the store byte for byte"
done
kvmarm-store --db "$T/ro/db" check >/dev/null 2>&1; ok $? "check: whole"

# ---- a store owned by someone else ----
OTHER=daemon; id $OTHER >/dev/null 2>&1 || OTHER=bin
mkdir -p "$T/own"; chmod 755 "$T/own"
kvmarm-store --db "$T/own/db" import "$M/expect/after-abort.eml" >/dev/null 2>&1
chown -R $OTHER "$T/own/db"; chmod 700 "$T/own/db"
cat > "$T/b.conf" <<EOF
[milter]
user = nobody
socket = unix:$T/own/b.sock
socket_group =
spool_dir = $T/own/spool
pid_file =
[store]
path = $T/own/db
EOF
chown nobody "$T/own"
kvmarm-milter --config "$T/b.conf" -f 2>"$T/b.log" &
P=$!; track_pid $P
wait_for_file "$T/own/b.sock" 100 && wait_listening "$T/b.log"
grep -q "listening on" "$T/b.log"; ok $? "as nobody, with a store of user $OTHER: starts"
grep -q "the store is not open (.*permission denied" "$T/b.log"
ok $? "the log says why (permission denied)" || sed 's/^/#   /' "$T/b.log"
miltertest -D sock="unix:$T/own/b.sock" -D lib="$M/common.lua" -D n=4 -D size=2000 -D tag=own \
	-s "$M/many.lua" >"$T/r2.out" 2>&1
ok $? "4 list mails answered with accept" || sed 's/^/#   /' "$T/r2.out"
i=0; while [ "$(ls "$T/own/spool/new" 2>/dev/null | wc -l)" -lt 4 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
is "$(ls "$T/own/spool/new" | wc -l)" 4 "all 4 in the spool"
chown -R nobody "$T/own/db"
i=0; while [ "$(ls "$T/own/spool/new" | wc -l)" -gt 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
is "$(ls "$T/own/spool/new" | wc -l)" 0 "given to nobody: the spool is recorded"
stop_pid $P; ok $? "milter exits 0"
N=$(kvmarm-store --db "$T/own/db" check 2>&1 | sed -n 's/^ok: \([0-9]*\) messages.*/\1/p')
is "$N" 5 "the store holds its 1 + 4 mails"
done_testing
