#!/bin/sh
# 53-reporter-send-once.t - a digest is never mailed twice, and never lost,
# when the reporter is killed while sending (issue 14 item 6). At each step
# of sending (KVMARM_TEST_KILL_AT=recorded, handed, accepted, sent, and a
# sendmail that SIGKILLs the reporter after accepting the mail) the
# reporter dies; the next run finishes the send; a third run finds the week
# sent. Counted: mails the test sendmail kept (one file per mail) and mails
# tests/lib/smtpsink.py received for the SMTP transport: exactly one each,
# and the restart's log names that mail's Message-ID.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
[ -x "$KV_BUILD/kvmarm-reporter" ] || skip_all "kvmarm-reporter not built"
REPORTER=$KV_BUILD/kvmarm-reporter
export KVMARM_NOW=2024-03-11T08:00:00Z

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/w.mbox" --quiet
kvmarm-store --db "$T/db0" import "$T/w.mbox" > /dev/null 2>&1
ok $? "imported the digest scenario"

# The test sendmail: each mail kept whole as one file (written aside, then
# renamed); with KILL_PARENT set it SIGKILLs its parent, the reporter,
# after it has accepted the mail.
cat > "$T/sendmail" <<'SM'
#!/bin/sh
cat > "$MAILDIR/.tmp.$$" || exit 75
mv "$MAILDIR/.tmp.$$" "$MAILDIR/mail.$$"
[ -z "${KILL_PARENT:-}" ] || kill -KILL "$PPID"
exit 0
SM
chmod 755 "$T/sendmail"

SINKPORT=$(free_port)
mkdir -p "$T/sink"
"$PYTHON" "$KV_SRC/tests/lib/smtpsink.py" --port "$SINKPORT" --dir "$T/sink" --timeout 300 &
track_pid $!
wait_for_port "$SINKPORT" || { ok 1 "smtp sink listening"; done_testing; exit 1; }

conf() {  # conf CASE TRANSPORT
	cat <<CONF
[store]
path = $T/db-$1
[reporter]
output_dir = $T/out-$1
transport = $2
sendmail_path = $T/sendmail
sendmail_timeout = 20
smtp_url = smtp://127.0.0.1:$SINKPORT
smtp_starttls = false
from = digest@example.org
to = readers@example.org
CONF
}

mails() { find "$1" -maxdepth 1 -type f ! -name '.*' | sort; }
wait_mails() {  # wait_mails DIR N: until N mails are there (a handed-over sendmail may still run)
	i=0
	while [ "$(mails "$1" | wc -l)" -lt "$2" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

one_case() {  # one_case NAME TRANSPORT KILL_AT KILL_PARENT MAILDIR
	name=$1
	cp -a "$T/db0" "$T/db-$name"
	conf "$name" "$2" > "$T/$name.conf"
	MAILDIR=$5 KILL_PARENT=$4 KVMARM_TEST_KILL_AT=$3 \
		"$REPORTER" --config "$T/$name.conf" --once --week 2024-W10 > /dev/null 2> "$T/$name.1.err"
	is "$?" 137 "$name: the first run is killed"
	wait_mails "$5" 1
	MAILDIR=$5 "$REPORTER" --config "$T/$name.conf" --once --week 2024-W10 > /dev/null 2> "$T/$name.2.err"
	rc=$?
	ok $([ $rc -le 1 ]; echo $?) "$name: the restart finishes (exit $rc)"
	sed 's/^/#   /' "$T/$name.2.err" | grep -v '^#   kvmarm-reporter.*: info: [^d]' | head -3
	MAILDIR=$5 "$REPORTER" --config "$T/$name.conf" --once --week 2024-W10 > /dev/null 2> "$T/$name.3.err"
	is "$?" 1 "$name: a third run finds the week sent"
	sleep 0.2
	is "$(mails "$5" | wc -l)" 1 "$name: exactly one mail received"
	f=$(mails "$5" | head -1)
	mid=$(sed -n 's/^Message-I[Dd]: *<\(.*\)>\r*$/\1/p' "$f" 2>/dev/null | head -1)
	ok $([ -n "$mid" ] && grep -qF "$mid" "$T/$name.1.err" "$T/$name.2.err" "$T/$name.3.err" \
		 || grep -q "already sent" "$T/$name.2.err"; echo $?) \
		"$name: the log names the Message-ID <$mid> or says the week was sent"
	ok $([ -z "$(ls -A "$T/db-$name/outbox" 2>/dev/null)" ]; echo $?) "$name: the outbox is empty afterwards"
}

for at in recorded handed accepted sent; do
	mkdir -p "$T/m-$at"
	one_case "sendmail-$at" sendmail "$at" "" "$T/m-$at"
done
mkdir -p "$T/m-wrapper"
one_case sendmail-killed-by-sendmail sendmail "" 1 "$T/m-wrapper"
grep -q "had handed .* to the transport; recorded as sent, not sent again" "$T/sendmail-killed-by-sendmail.2.err"
ok $? "killed after sendmail accepted: the restart logs that it does not send again"
grep -q "had not handed .* over; sent that same mail now" "$T/sendmail-recorded.2.err"
ok $? "killed before the handover: the restart sends the recorded mail"

# SMTP: one sink for all cases, so each case counts what it added. (No
# "handed" step here: a kill inside the SMTP transaction leaves a mail that
# may or may not have gone; it is recorded as sent, at most once.)
for at in recorded accepted sent; do
	before=$(mails "$T/sink" | wc -l)
	cp -a "$T/db0" "$T/db-smtp-$at"
	conf "smtp-$at" smtp > "$T/smtp-$at.conf"
	KVMARM_TEST_KILL_AT=$at "$REPORTER" --config "$T/smtp-$at.conf" --once --week 2024-W10 \
		> /dev/null 2> "$T/smtp-$at.1.err"
	is "$?" 137 "smtp-$at: the first run is killed"
	"$REPORTER" --config "$T/smtp-$at.conf" --once --week 2024-W10 > /dev/null 2> "$T/smtp-$at.2.err"
	rc=$?
	ok $([ $rc -le 1 ]; echo $?) "smtp-$at: the restart finishes (exit $rc)"
	"$REPORTER" --config "$T/smtp-$at.conf" --once --week 2024-W10 > /dev/null 2> "$T/smtp-$at.3.err"
	is "$?" 1 "smtp-$at: a third run finds the week sent"
	sleep 0.2
	is "$(( $(mails "$T/sink" | wc -l) - before ))" 1 "smtp-$at: the sink received exactly one mail"
done
done_testing
