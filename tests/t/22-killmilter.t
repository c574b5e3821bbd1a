#!/bin/sh
# 22-killmilter.t - SIGKILL kvmarm-milter in the middle of a stream of list
# mails through a real Postfix that delivers into a maildir. Postfix must
# keep delivering (milter_default_action = accept): every mail arrives,
# nothing bounces. After a restart over the same store `kvmarm-store check`
# passes and every mail the milter had answered end-of-message for (it
# logs "recorded" before answering) is in the store. Then the documented
# recovery path: `kvmarm-store import` of the maildir brings in the mails
# that passed while the milter was down, and recognises the recorded ones
# as already present (same Message-ID and body, though the maildir copy has
# more header lines).
# KV_JOURNAL_SYNC picks the milter's journal_sync (default after-answer;
# 22-killmilter-before.t runs this with before-answer).
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
. "$KV_SRC/tests/lib/postfix.sh"

need_root
command -v postfix >/dev/null || skip_all "postfix is not installed"
[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ -x "$KV_BUILD/kvmarm-store" ] || skip_all "kvmarm-store not built"
[ -f "$KV_SRC/tests/gen/kvgen.py" ] || skip_all "tests/gen/kvgen.py missing"

SMTPPORT=$(free_port)
chmod 755 "$T"
cat > "$T/milter.conf" <<EOF
[milter]
run_as_root = true
socket = unix:$T/milter.sock
socket_group = postfix
spool_dir = $T/spool
commit_interval_ms = 0
journal_sync = ${KV_JOURNAL_SYNC:-after-answer}
[store]
path = $T/db
EOF
start_milter() {
	kvmarm-milter --config "$T/milter.conf" -f -v 2>> "$T/milter.log" &
	MPID=$!
	track_pid $MPID
	i=0; while [ ! -S "$T/milter.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	# the socket appears before the store is open: wait for the start line
	i=0; while ! grep -q "listening on" "$T/milter.log" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}
: > "$T/milter.log"
start_milter
ok $? "milter started"

pf_setup "$T/pf" "$SMTPPORT" "maildir:$T/md" "unix:$T/milter.sock" || exit 1
pf_start "$T/pf"
ok $? "private postfix delivering into a maildir started"
on_exit "pf_stop $T/pf"
wait_for_port "$SMTPPORT" 50

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 22 --weeks 1 --format files --out "$T/gen" \
	--manifest "$T/gen.json" --quiet
ok $? "generated a week of list mail"
NSEND=$(ls "$T/gen" | wc -l)

# One sender, mail after mail; the test kills the milter when a third has
# gone through (the sender writes its progress to $T/sent).
"$PYTHON" - "$SMTPPORT" "$T/gen" "$T/sent" <<'EOF' > "$T/sender.out" 2>&1 &
import os, smtplib, sys, time
port, d, progress = int(sys.argv[1]), sys.argv[2], sys.argv[3]
files = sorted(os.listdir(d))
s = smtplib.SMTP("127.0.0.1", port, timeout=120)
for i, f in enumerate(files):
    raw = open(os.path.join(d, f), "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    try:
        s.sendmail("sender@example.org", ["kvmarm@lists.linux.dev"], raw)
    except smtplib.SMTPServerDisconnected:
        s = smtplib.SMTP("127.0.0.1", port, timeout=120)
        s.sendmail("sender@example.org", ["kvmarm@lists.linux.dev"], raw)
    if i % 10 == 9:
        s.quit()
        s = smtplib.SMTP("127.0.0.1", port, timeout=120)
    with open(progress + ".tmp", "w") as p:
        p.write("%d\n" % (i + 1))
    os.rename(progress + ".tmp", progress)
    time.sleep(0.01)
s.quit()
EOF
SENDER=$!
track_pid $SENDER

sent() { cat "$T/sent" 2>/dev/null || echo 0; }
i=0; while [ "$(sent)" -lt $((NSEND / 3)) ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL $MPID
wait $MPID 2>/dev/null
KILLED_AT=$(sent)
diag "SIGKILL after $KILLED_AT of $NSEND mails"
i=0; while [ "$(sent)" -lt $((2 * NSEND / 3)) ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
diag "restarting the milter after $(sent) mails"
start_milter
ok $? "milter restarted over the same store"

wait $SENDER
ok $? "the sender got every mail accepted (no SMTP error while the milter was dead)"
pf_wait_queue "$T/pf" 600
ok $? "postfix queue drained"
ndel=$(ls "$T/md/new" | wc -l)
is "$ndel" "$NSEND" "every mail delivered to the maildir"
grep -q 'status=bounced' "$T/pf/maillog"
is "$?" "1" "nothing bounced"
grep -q 'milter' "$T/pf/maillog" && diag "postfix on the dead milter: $(grep -c 'milter' "$T/pf/maillog") log lines"

kvmarm-store --db "$T/db" check > "$T/check.out" 2>&1
ok $? "kvmarm-store check passes after the kill"

# Every mail the milter had made durable before answering eom (it logs
# "journaled" at debug level, then answers) is there: recorded by the
# store thread, or replayed from the journal at the restart.
grep -o '<[^>]*> journaled' "$T/milter.log" | sed 's/<\(.*\)> journaled/\1/' > "$T/recorded.ids"
nrec=$(wc -l < "$T/recorded.ids")
grep -q 'journal replay: [1-9]' "$T/milter.log" && diag "$(grep 'journal replay' "$T/milter.log")"
missing=0
while read -r id; do
	kvmarm-store --db "$T/db" msg --raw "$id" > /dev/null 2>&1 || { missing=$((missing + 1)); diag "missing: $id"; }
done < "$T/recorded.ids"
is "$missing" "0" "all $nrec mails answered at end-of-message are in the store"
[ "$nrec" -lt "$NSEND" ]
ok $? "some mails passed unrecorded while the milter was down ($nrec of $NSEND recorded)"

# Recovery: import the maildir the mails were delivered to.
kvmarm-store --db "$T/db" import "$T/md" > "$T/import.out" 2>&1
ok $? "kvmarm-store import of the maildir"
sed 's/^/# /' "$T/import.out" | tail -3
"$PYTHON" - "$T/gen.json" > "$T/all.ids" <<'EOF'
import json, sys
for m in json.load(open(sys.argv[1]))["messages"]:
    print(m["message_id"])
EOF
missing=0
while read -r id; do
	kvmarm-store --db "$T/db" msg --raw "$id" > /dev/null 2>&1 || { missing=$((missing + 1)); [ $missing -gt 5 ] || diag "still missing: $id"; }
done < "$T/all.ids"
is "$missing" "0" "after the import every mail sent is in the store"
# A kill can fall after a mail reached the journal and before its
# "journaled" line was logged: such a mail is in the store (replayed) but
# not in recorded.ids. So the import finds at least the logged ones
# already present, and counts every sent mail exactly once.
npres=$(sed -n 's/.*already present:* *\([0-9][0-9]*\).*/\1/p' "$T/import.out" | head -1)
nimp=$(sed -n 's/.*imported:* *\([0-9][0-9]*\).*/\1/p' "$T/import.out" | head -1)
[ -n "$npres" ] && [ "$npres" -ge "$nrec" ]
ok $? "the import counts the $nrec logged mails as already present (found ${npres:-?})"
is "$((${npres:-0} + ${nimp:-0}))" "$NSEND" "imported + already present = every mail sent, each once"
kvmarm-store --db "$T/db" check > "$T/check.out" 2>&1
ok $? "kvmarm-store check passes after the import"

stop_pid $MPID
ok $? "restarted milter exits 0 on SIGTERM"
done_testing
