#!/bin/sh
# 20-milter-miltertest.t - the real kvmarm-milter binary driven by
# miltertest Lua scripts (tests/milter/*.lua), no MTA: headers, body and
# end-of-message recorded byte for byte, several messages on one
# connection, aborted messages, a dropped connection, a non-list mail, the
# digest's own mail, a mail over max_message_size; then SIGTERM: exit 0,
# pid file gone, and the store holds exactly the expected mails.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

command -v miltertest >/dev/null || skip_all "miltertest is not installed (apt-get install miltertest)"
[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ -x "$KV_BUILD/kvmarm-store" ] || skip_all "kvmarm-store not built"

M="$KV_SRC/tests/milter"

# start_milter NAME [extra config lines]: config in $T/NAME.conf, store
# $T/NAME.db, socket $T/NAME.sock, log $T/NAME.log; sets MPID.
start_milter() {
	cat > "$T/$1.conf" <<EOF
[milter]
run_as_root = true
socket = unix:$T/$1.sock
spool_dir = $T/$1.spool
pid_file = $T/$1.pid
commit_interval_ms = 0
$2
[store]
path = $T/$1.db
EOF
	kvmarm-milter --config "$T/$1.conf" -f -v 2> "$T/$1.log" &
	MPID=$!
	track_pid $MPID
	wait_for_file "$T/$1.sock" 50
}


run_lua() {
	miltertest -D sock="unix:$T/$1.sock" -D lib="$M/common.lua" -s "$M/$2.lua" > "$T/$2.out" 2>&1
	rc=$?
	ok $rc "miltertest $2.lua"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$T/$2.out"
}

start_milter main ""
ok $? "milter started (socket appears)"
start_milter small "max_message_size = 4096"
ok $? "second milter with max_message_size = 4096 started"
SMALL=$MPID
MAIN=$(cat "$T/main.pid")

mode=$(stat -c %a "$T/main.sock")
is "$mode" "660" "unix socket gets socket_mode 0660"

run_lua main record
run_lua main abort
run_lua main digest
run_lua small size

kill -TERM "$SMALL"   # both at once: libmilter takes ~5 s to exit
stop_pid "$MAIN"
ok $? "SIGTERM: main milter exits 0"
stop_pid "$SMALL"
ok $? "SIGTERM: small milter exits 0"
[ ! -e "$T/main.pid" ]; ok $? "pid file removed at exit"

# Recorded byte for byte.
raw_is() { # DB ID EXPECTFILE
	kvmarm-store --db "$T/$1.db" msg --raw "$2" > "$T/got.eml" 2> "$T/got.err"
	rc=$?
	if [ $rc -eq 0 ] && cmp -s "$T/got.eml" "$3"; then ok 0 "$2 recorded exactly"
	else
		ok 1 "$2 recorded exactly (rc $rc)"
		diff "$3" "$T/got.eml" | sed 's/^/#   /' | head -20
		sed 's/^/#   /' "$T/got.err"
	fi
}
absent() { # DB ID
	kvmarm-store --db "$T/$1.db" msg --raw "$2" > /dev/null 2>&1
	is "$?" "1" "$2 not recorded"
}
raw_is main rec-1@kernel.org "$M/expect/rec-1.eml"
raw_is main rec-2@kernel.org "$M/expect/rec-2.eml"
raw_is main rec-3@example.org "$M/expect/rec-3.eml"
raw_is main after-abort@example.org "$M/expect/after-abort.eml"
absent main nonlist-1@example.org
absent main aborted-1@example.org
absent main aborted-2@example.org
absent main dropped@example.org
absent main digest-1@example.org
raw_is small small-1@example.org "$M/expect/small-1.eml"
absent small big-1@example.org

kvmarm-store --db "$T/main.db" check > "$T/check.out" 2>&1
ok $? "kvmarm-store check passes"

# The log: one info line per recorded mail with queue id and Message-ID,
# a warning for the oversize mail, the counters at exit.
grep -q 'queue id QA0001: recorded <rec-1@kernel.org>' "$T/main.log"
ok $? "log names queue id and Message-ID of a recorded mail"
n=$(grep -c ': recorded <' "$T/main.log")
is "$n" "4" "four mails recorded by the main milter"
grep -q 'warn.*queue id QD0001: message larger than max_message_size' "$T/small.log"
ok $? "oversize mail logged as a warning with its queue id"
grep -q 'mails: 4 journaled.*1 not list mail, 1 digest' "$T/main.log"
ok $? "exit statistics count the skipped mails"
grep -q 'eom latency over 4 mails' "$T/main.log"
ok $? "exit statistics give eom latency"
if grep -q ' error: ' "$T/main.log" "$T/small.log"; then
	ok 1 "no errors logged"; grep ' error: ' "$T/main.log" "$T/small.log" | sed 's/^/#   /'
else ok 0 "no errors logged"; fi

# Settings out of range stop the start with the key named, exit 1.
bad_setting() {
	printf '[milter]\nsocket = unix:%s\nspool_dir = %s\n%s\n[store]\npath = %s\n' \
		"$T/bad.sock" "$T/bad.spool" "$1" "$T/bad.db" > "$T/bad.conf"
	kvmarm-milter --config "$T/bad.conf" -f 2> "$T/bad.log"
	rc=$?
	is "$rc" "1" "$1: exit 1"
	grep -q "$2" "$T/bad.log"
	ok $? "$1: the error names it" || sed 's/^/#   /' "$T/bad.log"
	[ ! -e "$T/bad.sock" ]; ok $? "$1: no socket left behind"
}
bad_setting "journal_sync = sometimes" "journal_sync sometimes: must be after-answer or before-answer"
bad_setting "journal_flush_ms = -5" "journal_flush_ms -5: must be 0 to 60000"
bad_setting "journal_flush_ms = 90000" "journal_flush_ms 90000: must be 0 to 60000"
bad_setting "on_error = maybe" "on_error maybe: must be accept or tempfail"

done_testing
