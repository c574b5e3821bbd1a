# tests/lib/tap.sh - sourced by the shell tests (tests/t/*.t): TAP output,
# a scratch directory removed at exit, and bookkeeping so every server a
# test starts is stopped by its PID on exit, also when the test fails.
#
#   . "$KV_SRC/tests/lib/tap.sh"
#   ok CONDITION-EXIT-STATUS "name"   e.g.  cmp a b; ok $? "same bytes"
#   is "$got" "$want" "name"
#   skip_all "reason"                 (prints 1..0 # SKIP reason, exits 0)
#   track_pid PID                     (killed at exit: TERM, then KILL)
#   on_exit "command"                 (run at exit, before the pids are killed)
#   done_testing

set -u
: "${KV_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${KV_BUILD:=$KV_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
export KV_SRC KV_BUILD PYTHON
PATH="$KV_BUILD:$PATH"; export PATH

TAP_N=0
TAP_FAIL=0
TAP_PIDS=""
TAP_ATEXIT=""
T=$(mktemp -d "${TMPDIR:-/tmp}/kvt.XXXXXX")

tap_cleanup() {
	rc=$?
	[ -z "$TAP_ATEXIT" ] || eval "$TAP_ATEXIT" >/dev/null 2>&1 || true
	for p in $TAP_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $TAP_PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ -n "${KV_KEEP_TMP:-}" ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
	exit $rc
}
trap tap_cleanup EXIT
trap 'exit 130' INT TERM

track_pid() { TAP_PIDS="$TAP_PIDS $1"; }
on_exit() { TAP_ATEXIT="$1; $TAP_ATEXIT"; }

ok() {
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then echo "ok $TAP_N - $2"
	else echo "not ok $TAP_N - $2"; TAP_FAIL=$((TAP_FAIL + 1)); fi
}
is() {
	if [ "$1" = "$2" ]; then ok 0 "$3"
	else ok 1 "$3"; printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; fi
}
diag() { echo "# $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # skip $*"; }
done_testing() {
	echo "1..$TAP_N"
	[ "$TAP_FAIL" -eq 0 ]
}
# stop_pid PID: SIGTERM, wait until it exits (up to 15 s: libmilter takes
# several seconds), then return its exit status.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
	wait "$1"
}
need_root() { [ "$(id -u)" = 0 ] || skip_all "needs root (starts a private MTA)"; }

# A free TCP port on 127.0.0.1 (best effort: asks the kernel for one).
free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# Wait until FILE exists or a TCP port accepts (up to $2 tenths of a second).
wait_for_file() { i=0; while [ ! -e "$1" ] && [ $i -lt "${2:-100}" ]; do sleep 0.1; i=$((i + 1)); done; [ -e "$1" ]; }
wait_for_port() {
	i=0
	while [ $i -lt "${2:-100}" ]; do
		"$PYTHON" -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
CORPUS="${KV_CORPUS:-$KV_SRC/../shared/corpus/kvmarm-2021-dev.mbox.gz}"

# small_fs DIR SIZE: a private tmpfs of SIZE (e.g. 4m) mounted on DIR (made
# under $T), unmounted at exit, also on failure; how the fault tests get a
# full disk. Skips the whole test when not root or mount is refused (a
# container without CAP_SYS_ADMIN).
small_fs() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (mounts a small tmpfs for ENOSPC)"
	mkdir -p "$1" || skip_all "cannot create $1"
	mount -t tmpfs -o "size=$2,mode=0755" kvtest "$1" 2>"$T/.mount.err" ||
		skip_all "cannot mount a tmpfs: $(cat "$T/.mount.err")"
	on_exit "umount -l '$1'"
}
