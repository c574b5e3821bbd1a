#!/bin/sh
# tests/demo.sh - the main job in one command (`make demo`, after
# `make deps` on a fresh Debian 12, as root):
#
#   1. build the three programs (make),
#   2. start a private Postfix on 127.0.0.1 with kvmarm-milter attached,
#   3. send three generated weeks of kvmarm list mail through it over SMTP
#      (the milter records each one into the store; Postfix then discards
#      the list copies, as a list member's MX would hand them on),
#   4. run kvmarm-reporter --once for 2024-W10, which writes the digest
#      (Markdown, HTML, JSON) and mails it through the same Postfix into a
#      local maildir,
#   5. print where the digest and the mailbox are, and some kvmarm-store
#      queries to try,
#   6. stop the servers it started (also on error or Ctrl-C).
#
# Everything lands in ./demo-out/ (removed and recreated on each run).
# Environment: BUILD (build directory, default build), DEMO_PORT (SMTP
# port, default: a free one), DEMO_WEEKS (default 3).
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$SRC/$BUILD ;; esac
OUT=$SRC/demo-out
PYTHON=${PYTHON:-/usr/bin/python3}
say() { printf "==> [%s] %s\n" "$(date +%T)" "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it starts a private Postfix): sudo make demo"
command -v postfix >/dev/null 2>&1 && [ -x "$PYTHON" ] || die "missing packages: run 'make deps' first"

say "building (make BUILD=$BUILD)"
make -C "$SRC" -s BUILD="$BUILD" "$BUILD/kvmarm-store" "$BUILD/kvmarm-milter" "$BUILD/kvmarm-reporter" \
	|| die "build failed"

rm -rf "$OUT"
mkdir -p "$OUT/run" "$OUT/spool" "$OUT/archive"
# the postfix user must reach the milter socket and its queue below OUT
chmod 755 "$OUT" "$OUT/run"

MPID=""
cleanup() {
	rc=$?
	. "$SRC/tests/lib/postfix.sh"
	pf_stop "$OUT/postfix" >/dev/null 2>&1
	if [ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null; then
		kill -TERM "$MPID" 2>/dev/null
		i=0; while kill -0 "$MPID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$MPID" 2>/dev/null
	fi
	[ $rc -eq 0 ] || printf 'demo: failed (exit %s); logs are in %s\n' "$rc" "$OUT" >&2
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=${DEMO_PORT:-$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
cat > "$OUT/kvmarm-digest.conf" <<EOF
# written by tests/demo.sh: the demo's own configuration
[store]
path = $OUT/store
[milter]
run_as_root = true
socket = unix:$OUT/run/milter.sock
socket_group = postfix
socket_mode = 0660
spool_dir = $OUT/spool
pid_file = $OUT/run/milter.pid
commit_interval_ms = 0
[reporter]
output_dir = $OUT/archive
transport = smtp
smtp_url = smtp://127.0.0.1:$PORT
smtp_starttls = false
from = KVM/arm64 digest <digest@demo.localdomain>
to = you@demo.localdomain
EOF

say "starting kvmarm-milter (unix socket, store in demo-out/store)"
"$B/kvmarm-milter" --config "$OUT/kvmarm-digest.conf" -f 2> "$OUT/milter.log" &
MPID=$!
i=0; while [ ! -S "$OUT/run/milter.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$OUT/run/milter.sock" ] || { cat "$OUT/milter.log" >&2; die "the milter did not start"; }

say "starting a private Postfix on 127.0.0.1:$PORT with the milter attached"
. "$SRC/tests/lib/postfix.sh"
# List mail is recorded by the milter and then discarded; everything else
# (the digest) is delivered into the demo maildir.
PF_EXTRA="local_header_rewrite_clients =
transport_maps = inline:{ kvmarm@lists.linux.dev=discard: }"
pf_setup "$OUT/postfix" "$PORT" "maildir:$OUT/mail/Maildir" "unix:$OUT/run/milter.sock" \
	|| die "postfix setup failed"
pf_start "$OUT/postfix" || die "postfix did not start"

WEEKS=${DEMO_WEEKS:-3}
FIRST=2024-W$(printf %02d $((11 - WEEKS)))
say "generating $WEEKS weeks of list mail ($FIRST .. 2024-W10) with tests/gen/kvgen.py"
"$PYTHON" "$SRC/tests/gen/kvgen.py" --seed 2024 --start "$FIRST" \
	--weeks "$WEEKS" --format files --out "$OUT/gen" --quiet || die "generator failed"
N=$(ls "$OUT/gen" | wc -l)

say "sending $N mails to kvmarm@lists.linux.dev over SMTP"
# four connections at once, like a list server delivering to an MX
"$PYTHON" "$SRC/tests/lib/smtpsend.py" --port "$PORT" --dir "$OUT/gen" \
	--from list-relay@demo.localdomain --connections 4 --per-connection 50 || die "sending failed"
pf_wait_queue "$OUT/postfix" 600 || die "postfix queue did not drain"
# the milter records journaled mails once the arrivals pause: wait until
# its log has had no new "recorded" line for a second (at most 20 s)
last=-1; i=0
while [ $i -lt 20 ]; do
	n=$(grep -c 'recorded <\|already stored' "$OUT/milter.log")
	[ "$n" = "$last" ] && break
	last=$n; sleep 1; i=$((i + 1))
done
"$B/kvmarm-store" --db "$OUT/store" stats --since 2024-03-04 --until 2024-03-11 2>/dev/null | sed 's/^/    /'

say "running kvmarm-reporter --once --week 2024-W10 (extractive summaries, no LLM configured)"
"$B/kvmarm-reporter" --config "$OUT/kvmarm-digest.conf" --once --week 2024-W10 > "$OUT/reporter.out" \
	2> "$OUT/reporter.log"
rc=$?
cat "$OUT/reporter.log" | sed 's/^/    /'
[ $rc -eq 0 ] || die "the reporter failed (exit $rc)"
pf_wait_queue "$OUT/postfix" 300
i=0; while [ -z "$(ls "$OUT/mail/Maildir/new" 2>/dev/null)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
MAILFILE=$(ls "$OUT/mail/Maildir/new/"* 2>/dev/null | head -1)
[ -n "$MAILFILE" ] || die "the digest did not arrive in the maildir"

TID=$("$B/kvmarm-store" --db "$OUT/store" threads --since 2024-03-04 --until 2024-03-11 --json 2>/dev/null \
	| "$PYTHON" -c 'import json,sys; t=json.load(sys.stdin); t.sort(key=lambda x: -x["messages"]); print(t[0]["thread_id"] if t else 1)')
REL=${OUT#"$SRC"/}
cat <<EOF

Done. The digest of 2024-W10 (week in Asia/Shanghai):
  Markdown:  $OUT/archive/2024-W10.md
  HTML:      $OUT/archive/2024-W10.html      (open it in a browser)
  JSON:      $OUT/archive/2024-W10.json
  archive:   $OUT/archive/index.html
  mailbox:   $OUT/mail/Maildir   (the delivered digest: $MAILFILE)
             e.g. mutt -f $OUT/mail/Maildir

Try the store (run from $SRC):
  $BUILD/kvmarm-store --db $REL/store stats --since 2024-03-04 --until 2024-03-11
  $BUILD/kvmarm-store --db $REL/store threads --since 2024-03-04 --until 2024-03-11
  $BUILD/kvmarm-store --db $REL/store show $TID --tz Asia/Shanghai
  $BUILD/kvmarm-store --db $REL/store search subject:vgic
  $BUILD/kvmarm-reporter --config $REL/kvmarm-digest.conf --once --week 2024-W10 --no-send --lang en --output /tmp/digest-en

The servers this demo started (Postfix, kvmarm-milter) are stopped now.
EOF
