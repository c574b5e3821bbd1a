#!/bin/sh
# 24-milter-start.t - how kvmarm-milter starts and stops as a daemon run
# by root, as a package or an admin starts it:
#  - start-up errors (unknown user, missing socket directory, a bad key or
#    value, user root) exit non-zero with the reason on stderr, also in
#    daemon mode, where the log is syslog; a socket error says why;
#  - started as root with [milter] user empty, it switches to the user
#    kvmarm (created here when missing, removed again) with no
#    supplementary groups and no way back to root, and refuses to run as
#    root when that user does not exist (unless run_as_root = true);
#  - the store's missing parents, the spool, the journal, the socket
#    (socket_owner empty) and the pid file belong to the run user; the
#    pid file and the socket are gone after SIGTERM;
#  - until an MTA connects, a warning is logged every interval
#    (KVMARM_MILTER_NO_MTA_WARN_MS shortens the minute for the test).
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ "$(id -u)" = 0 ] || skip_all "needs root (drops privileges)"
id nobody >/dev/null 2>&1 || skip_all "no user nobody"

# The run user must reach the files below $T.
chmod 755 "$T"

# conf NAME [lines]: a config with socket, spool, store and pid file
# (unless lines set one) under $T/NAME.
conf() {
	mkdir -p "$T/$1"
	chmod 755 "$T/$1"
	pid="pid_file = $T/$1/m.pid"
	case "${2:-}" in *pid_file*) pid="" ;; esac
	cat > "$T/$1/m.conf" <<EOF
[milter]
socket = unix:$T/$1/m.sock
spool_dir = $T/$1/spool
$pid
${2:-}
[store]
path = $T/$1/db
EOF
}

# fails NAME PATTERN WHAT [-f]: the milter exits non-zero (within 20 s)
# and stderr matches PATTERN. A daemon that started after all is stopped.
fails() {
	timeout 20 kvmarm-milter --config "$T/$1/m.conf" ${4:-} > "$T/$1/out" 2> "$T/$1/err"
	rc=$?
	[ ! -s "$T/$1/m.pid" ] || track_pid "$(cat "$T/$1/m.pid")"
	[ $rc -ne 0 ] && [ $rc -ne 124 ]; ok $? "$3: exits non-zero (rc $rc)"
	grep -q "$2" "$T/$1/err"; ok $? "$3: stderr says why" || sed 's/^/#   /' "$T/$1/err"
}

# stop_daemon PIDFILE: SIGTERM the daemon named there, wait until it is
# gone (it is not our child: no exit status).
stop_daemon() {
	p=$(cat "$1" 2>/dev/null) || return 1
	kill -TERM "$p" 2>/dev/null
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
	! kill -0 "$p" 2>/dev/null
}

# ---- start-up errors, daemon mode (no -f) ----
conf nouser "user = kv-no-such-user-$$"
fails nouser "unknown user kv-no-such-user-$$" "daemon mode, unknown user"

conf nodir "run_as_root = true"
sed -i "s|^socket = .*|socket = unix:$T/nodir/missing/m.sock|" "$T/nodir/m.conf"
fails nodir "directory $T/nodir/missing: No such file or directory" "daemon mode, missing socket directory"
fails nodir "directory $T/nodir/missing: No such file or directory" "foreground, missing socket directory" -f

conf badkey "run_as_root = true
bogus_key = 1"
fails badkey "unknown key 'bogus_key'" "daemon mode, unknown key"

conf badval "run_as_root = true
journal_sync = sometimes"
fails badval "journal_sync sometimes: must be" "daemon mode, bad value"
[ ! -e "$T/badval/m.sock" ]; ok $? "bad value: no socket left behind"

conf isroot "user = root"
fails isroot "refusing to run as root" "user = root without run_as_root"

# An inet port somebody else holds: the reason, not only "cannot open".
PORT=$(free_port)
"$PYTHON" -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$PORT" &
HOLDER=$!
track_pid $HOLDER
wait_for_port "$PORT" 50
conf inuse "run_as_root = true"
sed -i "s|^socket = .*|socket = inet:$PORT@127.0.0.1|" "$T/inuse/m.conf"
fails inuse "Address already in use" "foreground, port in use" -f
kill "$HOLDER" 2>/dev/null

# ---- the default user ----
CREATED=""
if ! id kvmarm >/dev/null 2>&1; then
	conf norun ""
	fails norun "refusing to run as root: \[milter\] user is empty and user kvmarm does not exist" \
		"root, user empty, no user kvmarm"
	if useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin kvmarm; then
		CREATED=kvmarm
		on_exit "userdel -f kvmarm"
	fi
else
	skip "user kvmarm exists here: the refusal without it is not tested"
	skip "(same)"
fi
id kvmarm >/dev/null 2>&1 || { diag "no user kvmarm and cannot create it"; done_testing; exit; }
KUID=$(id -u kvmarm)
KGID=$(id -g kvmarm)

# Daemon mode, user empty: the pid file's directory is missing (created
# for the user), the socket's belongs to the user (as systemd's
# RuntimeDirectory or the package makes it), the store's parents are
# missing.
conf def "pid_file = $T/def/run/sub/m.pid"
mkdir -p "$T/def/sock"
chown kvmarm "$T/def/sock"
sed -i -e "s|^socket = .*|socket = unix:$T/def/sock/m.sock|" \
       -e "s|^path = .*|path = $T/def/var/lib/kvdigest/store|" "$T/def/m.conf"
# What an earlier run as root left in the spool: a journal and a spooled
# mail only root could read.
mkdir -p "$T/def/spool/new" "$T/def/spool/tmp"
chmod 700 "$T/def/spool" "$T/def/spool/new"
: > "$T/def/spool/journal"
printf 'From: a@example.org\nTo: kvmarm@lists.linux.dev\nSubject: left by root\nDate: Mon, 4 Mar 2024 10:00:00 +0000\nMessage-ID: <left-by-root@example.org>\nList-Id: <kvmarm.lists.linux.dev>\n\nbody\n' \
	> "$T/def/spool/new/1.M1P1Q1.kvmarm-milter"
chmod 600 "$T/def/spool/journal" "$T/def/spool/new/1.M1P1Q1.kvmarm-milter"
kvmarm-milter --config "$T/def/m.conf" 2> "$T/def/err"
rc=$?
is "$rc" "0" "daemon mode, user empty: starts (exit 0 once it serves)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/def/err"
MP=$(cat "$T/def/run/sub/m.pid" 2>/dev/null)
[ -n "$MP" ] && track_pid "$MP"
[ -n "$MP" ] && kill -0 "$MP" 2>/dev/null; ok $? "the pid file names a live process"
st=$(grep -E '^(Uid|Gid|Groups):' "/proc/$MP/status" 2>/dev/null | tr -s ' \t' ' ' | tr '\n' ';')
is "$st" "Uid: $KUID $KUID $KUID $KUID;Gid: $KGID $KGID $KGID $KGID;Groups: ;" \
	"runs as kvmarm (real, effective, saved), no supplementary groups"
cap=$(sed -n 's/^CapEff:[ \t]*//p' "/proc/$MP/status" 2>/dev/null)
is "$cap" "0000000000000000" "no capabilities left"
owner_is() { # PATH WHAT
	o=$(stat -c %U "$1" 2>/dev/null)
	is "$o" "kvmarm" "$2 belongs to kvmarm"
}
owner_is "$T/def/var/lib" "missing store parent $T/def/var/lib (created)"
owner_is "$T/def/var/lib/kvdigest" "missing store parent .../kvdigest (created)"
owner_is "$T/def/var/lib/kvdigest/store" "store directory"
owner_is "$T/def/var/lib/kvdigest/store/data.mdb" "store data.mdb"
owner_is "$T/def/spool" "spool directory"
owner_is "$T/def/spool/journal" "journal"
owner_is "$T/def/spool/new" "spool/new"
owner_is "$T/def/sock/m.sock" "socket (socket_owner empty)"
owner_is "$T/def/run/sub" "missing pid file directory (created)"
owner_is "$T/def/run/sub/m.pid" "pid file"
[ -z "$(ls "$T/def/spool/new")" ]; ok $? "the mail root left in the spool was replayed"
stop_daemon "$T/def/run/sub/m.pid"; ok $? "SIGTERM: the daemon exits"
kvmarm-store --db "$T/def/var/lib/kvdigest/store" msg --raw left-by-root@example.org > /dev/null 2>&1
ok $? "... into the store"
[ ! -e "$T/def/run/sub/m.pid" ]; ok $? "pid file removed at stop (after dropping root)"
[ ! -e "$T/def/sock/m.sock" ]; ok $? "socket removed at stop (after dropping root)"

# A store made by root (`kvmarm-store import` run as root, as an admin
# might) is handed to the run user, so the milter can record into it.
conf rootstore "user = nobody"
printf 'From: a@example.org\nTo: kvmarm@lists.linux.dev\nSubject: imported by root\nDate: Mon, 4 Mar 2024 10:00:00 +0000\nMessage-ID: <imported-by-root@example.org>\nList-Id: <kvmarm.lists.linux.dev>\n\nbody\n' \
	| kvmarm-store --db "$T/rootstore/db" import - > /dev/null 2>&1
is "$(stat -c %U "$T/rootstore/db/data.mdb" 2>/dev/null)" "root" "a store imported by root belongs to root"
kvmarm-milter --config "$T/rootstore/m.conf" 2> "$T/rootstore/err"
ok $? "daemon over a root-made store starts" || sed 's/^/#   /' "$T/rootstore/err"
MP=$(cat "$T/rootstore/m.pid" 2>/dev/null)
[ -n "$MP" ] && track_pid "$MP"
for f in db db/data.mdb db/lock.mdb db/raw.dat db/rec.dat; do
	is "$(stat -c %U "$T/rootstore/$f" 2>/dev/null)" "nobody" "root-made store: $f given to the run user"
done
stop_daemon "$T/rootstore/m.pid"; ok $? "SIGTERM: the daemon exits"

# The pid file is not written through a symlink planted in its place.
conf link "user = nobody
pid_file = $T/link/m.pid"
echo precious > "$T/link/target"
ln -s "$T/link/target" "$T/link/m.pid"
kvmarm-milter --config "$T/link/m.conf" 2> "$T/link/err"
ok $? "daemon with a symlink at the pid file's place starts" || sed 's/^/#   /' "$T/link/err"
is "$(cat "$T/link/target")" "precious" "the symlink's target is untouched"
[ ! -L "$T/link/m.pid" ]; ok $? "the pid file is a file of its own"
MP=$(cat "$T/link/m.pid" 2>/dev/null)
[ -n "$MP" ] && track_pid "$MP"
is "$(stat -c %U "$T/link/m.sock" 2>/dev/null)" "nobody" "user = nobody: the socket belongs to nobody"
stop_daemon "$T/link/m.pid"; ok $? "SIGTERM: the daemon exits"

# ---- the warning while no MTA has connected (foreground, stderr) ----
conf idle "user = nobody"
KVMARM_MILTER_NO_MTA_WARN_MS=300 kvmarm-milter --config "$T/idle/m.conf" -f 2> "$T/idle/log" &
IP=$!
track_pid $IP
wait_for_file "$T/idle/m.sock" 50
sleep 1.5
n=$(grep -c "warning: no MTA has connected to unix:$T/idle/m.sock since start" "$T/idle/log")
[ "$n" -ge 2 ]; ok $? "no MTA yet: a warning every interval ($n in 1.5 s at 300 ms)"
if command -v miltertest >/dev/null; then
	miltertest -D sock="unix:$T/idle/m.sock" -D lib="$KV_SRC/tests/milter/common.lua" \
		-s "$KV_SRC/tests/milter/digest.lua" > "$T/idle/mt.out" 2>&1
	ok $? "an MTA (miltertest) connects" || sed 's/^/#   /' "$T/idle/mt.out"
	sleep 0.5
	n1=$(grep -c 'no MTA has connected' "$T/idle/log")
	sleep 1
	n2=$(grep -c 'no MTA has connected' "$T/idle/log")
	is "$n2" "$n1" "no more warnings once an MTA has connected"
	grep -q "an MTA connected to unix:$T/idle/m.sock" "$T/idle/log"
	ok $? "the log says when the first MTA connected"
else
	skip "miltertest is not installed"; skip "(same)"; skip "(same)"
fi
stop_pid $IP
ok $? "foreground milter exits 0 at SIGTERM"

# A milter started earlier in this test may still be winding down
# (libmilter takes seconds to exit): userdel refuses while a process of the
# user lives. The user is the test's own, so its processes are too.
if [ -n "$CREATED" ]; then
	i=0
	while pgrep -u kvmarm >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	pkill -KILL -u kvmarm 2>/dev/null; sleep 0.2
	userdel kvmarm
	ok $? "the test's user kvmarm removed"
fi
done_testing
