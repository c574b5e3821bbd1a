#!/bin/sh
# 22-killmilter-loop.t - kvmarm-milter SIGKILLed KV_MILTER_KILLS times
# (default 50) during one stream of list mail through a real Postfix that
# delivers into a maildir; after each kill `kvmarm-store check` passes on
# the store the dead milter left, and the milter is restarted over it (it
# replays its journal). At the end: Postfix delivered every mail and
# bounced none; every mail the milter had answered end-of-message for
# ("journaled" in its log, written before the answer) is in the store
# (0 lost); `kvmarm-store import` of the maildir adds the mails that passed
# while it was down, and the store then holds each mail exactly once
# (0 duplicates: count = mails sent, imported + already present = sent).
# 22-killmilter.t is the single-kill version with more detail on the
# recovery. Kill points are random (KV_KILL_SEED, printed): a third during
# the restart, the rest 1-4 mails after it. The sender waits 0.1 s between
# mails and stops after the last kill; the restarts take about 1.3 s
# each here, so 50 kills take about 90 s. KV_JOURNAL_SYNC picks journal_sync (default before-answer).
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
. "$KV_SRC/tests/lib/postfix.sh"

need_root
command -v postfix >/dev/null || skip_all "postfix is not installed"
[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ -x "$KV_BUILD/kvmarm-store" ] || skip_all "kvmarm-store not built"
KILLS=${KV_MILTER_KILLS:-50}
SEED=${KV_KILL_SEED:-$(date +%s)}
diag "KV_MILTER_KILLS=$KILLS KV_KILL_SEED=$SEED"

SMTPPORT=$(free_port)
chmod 755 "$T"
cat > "$T/milter.conf" <<CONF
[milter]
run_as_root = true
socket = unix:$T/milter.sock
socket_group = postfix
spool_dir = $T/spool
commit_interval_ms = 0
journal_sync = ${KV_JOURNAL_SYNC:-before-answer}
[store]
path = $T/db
CONF
# launch_milter: start it (its log from offset LOGOFF on is this run's);
# wait_listening: wait (up to 5 s) until this run logs "listening on"
launch_milter() {
	LOGOFF=$(stat -c %s "$T/milter.log")
	kvmarm-milter --config "$T/milter.conf" -f -v 2>> "$T/milter.log" &
	MPID=$!
	track_pid $MPID
}
wait_listening() {
	i=0
	while ! tail -c +$((LOGOFF + 1)) "$T/milter.log" | grep -q 'listening on' && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
	[ $i -lt 100 ]
}
start_milter() { launch_milter; wait_listening; }
: > "$T/milter.log"
start_milter
ok $? "milter started"

pf_setup "$T/pf" "$SMTPPORT" "maildir:$T/md" "unix:$T/milter.sock" || exit 1
pf_start "$T/pf"
ok $? "private postfix delivering into a maildir started"
on_exit "pf_stop $T/pf"
wait_for_port "$SMTPPORT" 50

NGEN=$((KILLS * 25 + 40))
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 2214 --weeks 2 --messages $NGEN --format files \
	--out "$T/gen" --quiet
ok $? "generated $NGEN list mails"
NGEN=$(ls "$T/gen" | wc -l)

# One sender, mail after mail, its progress in $T/sent, until $T/stop
# exists (after the last kill) or the mails run out: there are enough for
# a slow machine or a sanitizer build, whose restarts take longer.
cat > "$T/sender.py" <<'PY'
import os, smtplib, sys, time
port, d, progress, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = smtplib.SMTP("127.0.0.1", port, timeout=120)
for i, f in enumerate(sorted(os.listdir(d))):
    if os.path.exists(stop):
        break
    raw = open(os.path.join(d, f), "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    s.sendmail("sender@example.org", ["kvmarm@lists.linux.dev"], raw)
    time.sleep(0.1)
    if i % 10 == 9:
        s.quit()
        s = smtplib.SMTP("127.0.0.1", port, timeout=120)
    with open(progress + ".tmp", "w") as p:
        p.write("%d\n" % (i + 1))
    os.rename(progress + ".tmp", progress)
s.quit()
PY
"$PYTHON" "$T/sender.py" "$SMTPPORT" "$T/gen" "$T/sent" "$T/stop" > "$T/sender.out" 2>&1 &
SENDER=$!
track_pid $SENDER
sent() { cat "$T/sent" 2>/dev/null || echo 0; }

# Kill points: a third fall in the restart itself (a random 0-1.2 s after
# the launch: opening the store, replaying the journal), the others after
# 1-4 more mails once the milter listens.
"$PYTHON" -c 'import random,sys
r = random.Random(int(sys.argv[1]))
for _ in range(int(sys.argv[2])):
    print("start %.2f" % r.uniform(0, 1.2) if r.random() < 1 / 3 else "mails %d" % r.randint(1, 4))' \
	"$SEED" "$KILLS" > "$T/points"
k=0 bad_check=0 bad_start=0 in_start=0
while read -r kind arg; do
	if [ "$kind" = start ]; then
		sleep "$arg"
		tail -c +$((LOGOFF + 1)) "$T/milter.log" | grep -q 'listening on' || in_start=$((in_start + 1))
	else
		wait_listening || { bad_start=$((bad_start + 1)); diag "restart before kill $((k + 1)) did not come up"; }
		target=$(($(sent) + arg))
		i=0; while [ "$(sent)" -lt $target ] && [ $i -lt 300 ]; do sleep 0.02; i=$((i + 1)); done
	fi
	[ "$(sent)" -ge "$NGEN" ] && break
	kill -KILL $MPID
	wait $MPID 2>/dev/null
	k=$((k + 1))
	if ! kvmarm-store --db "$T/db" check > "$T/check.out" 2>&1; then
		bad_check=$((bad_check + 1))
		diag "kill $k at mail $(sent): $(cat "$T/check.out")"
	fi
	launch_milter
done < "$T/points"
wait_listening || bad_start=$((bad_start + 1))
diag "$in_start kills fell before the milter listened (start-up, journal replay)"
is "$k" "$KILLS" "milter SIGKILLed $KILLS times during the stream (last at mail $(sent))"
is "$bad_check" "0" "kvmarm-store check passed after every kill"
is "$bad_start" "0" "the milter came back up after every kill"

: > "$T/stop"
wait $SENDER
ok $? "the sender got every mail accepted (no SMTP error while the milter was dead)"
NSEND=$(sent)
diag "$NSEND mails sent"
pf_wait_queue "$T/pf" 600
ok $? "postfix queue drained"
is "$(ls "$T/md/new" | wc -l)" "$NSEND" "every mail delivered to the maildir"
grep -q 'status=bounced' "$T/pf/maillog"
is "$?" "1" "nothing bounced"
stop_pid $MPID
ok $? "the last milter exits 0 on SIGTERM"

kvmarm-store --db "$T/db" check > "$T/check.out" 2>&1
ok $? "kvmarm-store check passes after the last stop"
grep -o '<[^>]*> journaled' "$T/milter.log" | sed 's/<\(.*\)> journaled/\1/' | sort -u > "$T/recorded.ids"
nrec=$(wc -l < "$T/recorded.ids")
missing=0
while read -r id; do
	kvmarm-store --db "$T/db" msg --raw "$id" > /dev/null 2>&1 || { missing=$((missing + 1)); diag "missing: $id"; }
done < "$T/recorded.ids"
is "$missing" "0" "all $nrec mails answered at end-of-message are in the store (0 lost)"
diag "$(grep -c 'journal replay: [1-9]' "$T/milter.log") restarts replayed journal records"

kvmarm-store --db "$T/db" import "$T/md" > "$T/import.out" 2>&1
ok $? "kvmarm-store import of the maildir"
sed 's/^/# /' "$T/import.out"
npres=$(sed -n 's/^already present \([0-9]*\)/\1/p' "$T/import.out")
nimp=$(sed -n 's/^imported \([0-9]*\)/\1/p' "$T/import.out")
is "$((${npres:-0} + ${nimp:-0}))" "$NSEND" "imported + already present = every mail sent"
kvmarm-store --db "$T/db" check > "$T/check.out" 2>&1
ok $? "kvmarm-store check passes after the import"
is "$(sed -n 's/^ok: \([0-9]*\) messages.*/\1/p' "$T/check.out")" "$NSEND" \
	"the store holds each mail sent exactly once (0 duplicates)"
done_testing
