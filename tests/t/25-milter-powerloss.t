#!/bin/sh
# 25-milter-powerloss.t - what each journal_sync mode keeps through a
# power loss, which SIGKILL cannot show (a killed process's writes are in
# the page cache and survive it).
#
# How: the milter runs with tests/tools/powerloss_shim.c preloaded on its
# two journal files. The shim keeps, per file, the content known to be on
# the disk: the file as it was at start, updated only when an
# fsync/fdatasync on it returns. The test streams list mail through a
# private Postfix, cuts at a random moment (SIGKILL of the milter) and
# copies each journal's synced content over it: every write not synced is
# gone, the worst case of a power cut. Then the milter starts again,
# replays the journal, and the test asks the store for every mail the
# sender had seen accepted before the cut. KV_POWERLOSS_CUTS cuts (default
# 3) per mode, with journal_flush_ms = 1000 so the after-answer window is
# wide.
#
# What it proves: with journal_sync = before-answer no mail answered before
# the cut is lost (the answer waited for the sync); with after-answer
# mails are lost (so the simulation bites: without the shim's revert they
# would all be there), and only mails answered within journal_flush_ms
# (plus a 300 ms margin for the sync itself and the load here) before the
# cut. What it does not cover: the store's own files are not reverted
# (their syncs are LMDB's and the data files', outside the journal), and
# a mail accepted by Postfix is only "answered" in the sender's eyes once
# Postfix said 250, a little after the milter's answer, which can only
# make the window look shorter, not hide a loss before it.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
. "$KV_SRC/tests/lib/postfix.sh"

need_root
command -v postfix >/dev/null || skip_all "postfix is not installed"
[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ -x "$KV_BUILD/kvmarm-store" ] || skip_all "kvmarm-store not built"
SHIM="$KV_BUILD/tools/powerloss.so"
[ -f "$SHIM" ] || skip_all "powerloss shim not built at $SHIM"
CUTS=${KV_POWERLOSS_CUTS:-3}
SEED=${KV_POWERLOSS_SEED:-$(date +%s)}
FLUSH_MS=1000
MARGIN_MS=300
diag "KV_POWERLOSS_CUTS=$CUTS KV_POWERLOSS_SEED=$SEED"

SMTPPORT=$(free_port)
chmod 755 "$T"
pf_setup "$T/pf" "$SMTPPORT" "maildir:$T/md" "unix:$T/milter.sock" || exit 1
pf_start "$T/pf"
ok $? "private postfix started"
on_exit "pf_stop $T/pf"
wait_for_port "$SMTPPORT" 50

NGEN=$((CUTS * 2 * 60 + 20))
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 2514 --weeks 2 --messages $NGEN --format files \
	--out "$T/gen" --quiet
ok $? "generated $NGEN list mails"
ls "$T/gen" > "$T/all.list"

# sender.py DIR LIST OUT STOP: send the files of LIST one by one, 0.05 s
# apart in one SMTP session, until STOP exists; after each 250 write
# "message-id unix-time". A steady stream: the store thread records
# journaled mails only after a 200 ms pause, so until the cut they are in
# the journal alone.
cat > "$T/sender.py" <<'PY'
import email.parser, os, smtplib, sys, time
port, d, lst, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
with open(out, "w") as o:
    for i, f in enumerate(open(lst).read().split()):
        if os.path.exists(stop):
            break
        raw = open(os.path.join(d, f), "rb").read()
        mid = email.parser.BytesHeaderParser().parsebytes(raw)["Message-ID"].strip().strip("<>")
        s.sendmail("sender@example.org", ["kvmarm@lists.linux.dev"],
                   raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        o.write("%s %.6f\n" % (mid, time.time()))
        o.flush()
        time.sleep(0.05)
s.quit()
PY
"$PYTHON" -c 'import random,sys; r=random.Random(int(sys.argv[1])); print("\n".join("%.2f" % r.uniform(1.5, 3.0) for _ in range(2 * int(sys.argv[2]))))' \
	"$SEED" "$CUTS" > "$T/cuts"

launch_milter() {
	LOGOFF=$(stat -c %s "$T/milter.log")
	KV_POWERLOSS_FILES="$T/spool/journal:$T/spool/journal.1" KV_POWERLOSS_DIR="$T/synced" \
	ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:verify_asan_link_order=0" LD_PRELOAD="$SHIM" \
		kvmarm-milter --config "$T/milter.conf" -f -v 2>> "$T/milter.log" &
	MPID=$!
	track_pid $MPID
	i=0
	while ! tail -c +$((LOGOFF + 1)) "$T/milter.log" | grep -q 'listening on' && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	[ $i -lt 200 ]
}

batch=0
for MODE in before-answer after-answer; do
	rm -rf "$T/db" "$T/spool" "$T/synced"
	mkdir -p "$T/synced"
	: > "$T/milter.log"
	cat > "$T/milter.conf" <<CONF
[milter]
run_as_root = true
socket = unix:$T/milter.sock
socket_group = postfix
spool_dir = $T/spool
journal_sync = $MODE
journal_flush_ms = $FLUSH_MS
[store]
path = $T/db
CONF
	launch_milter
	ok $? "$MODE: milter started with the power-loss shim on its journals"
	lost_total=0 outside=0 answered_total=0
	for c in $(seq 1 "$CUTS"); do
		batch=$((batch + 1))
		sed -n "$(( (batch - 1) * 60 + 1 )),$(( batch * 60 ))p" "$T/all.list" > "$T/batch.list"
		rm -f "$T/stop"
		"$PYTHON" "$T/sender.py" "$SMTPPORT" "$T/gen" "$T/batch.list" "$T/acc" "$T/stop" > "$T/sender.out" 2>&1 &
		SENDER=$!
		track_pid $SENDER
		sleep "$(sed -n "${batch}p" "$T/cuts")"
		cut=$(date +%s.%N)
		kill -KILL $MPID
		wait $MPID 2>/dev/null
		# the power cut: every journal file back to what was synced
		for j in journal journal.1; do
			cp "$T/synced/$(echo "$T/spool/$j" | tr / _)" "$T/spool/$j"
		done
		touch "$T/stop"
		wait $SENDER
		launch_milter || diag "$MODE cut $c: the milter did not come back"
		kvmarm-store --db "$T/db" check > "$T/check.out" 2>&1
		ok $? "$MODE cut $c: kvmarm-store check passes after the power loss and the replay"
		# mails answered before the cut, and the ones the store lacks
		answered=0 lost=0
		while read -r id ts; do
			awk -v t="$ts" -v c="$cut" 'BEGIN { exit !(t < c) }' || continue
			answered=$((answered + 1))
			kvmarm-store --db "$T/db" msg --raw "$id" > /dev/null 2>&1 && continue
			lost=$((lost + 1))
			# how long before the cut it was answered, in ms
			ago=$(awk -v t="$ts" -v c="$cut" 'BEGIN { printf "%d", (c - t) * 1000 }')
			[ "$ago" -le $((FLUSH_MS + MARGIN_MS)) ] || { outside=$((outside + 1)); diag "$MODE cut $c: lost $id answered $ago ms before the cut"; }
		done < "$T/acc"
		diag "$MODE cut $c: $answered mails answered before the cut, $lost lost"
		answered_total=$((answered_total + answered))
		lost_total=$((lost_total + lost))
	done
	if [ "$MODE" = before-answer ]; then
		is "$lost_total" "0" "before-answer: none of the $answered_total mails answered before a cut is lost"
	else
		[ "$lost_total" -gt 0 ]
		ok $? "after-answer: the cuts lose unsynced mails ($lost_total of $answered_total): the simulation bites"
		is "$outside" "0" "after-answer: every lost mail was answered within journal_flush_ms (+${MARGIN_MS} ms) of the cut"
	fi
	stop_pid $MPID
	ok $? "$MODE: milter exits 0 on SIGTERM"
done
done_testing
