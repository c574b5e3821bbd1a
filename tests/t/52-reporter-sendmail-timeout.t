#!/bin/sh
# 52-reporter-sendmail-timeout.t - the reporter gives an external sendmail
# [reporter] sendmail_timeout seconds: one that hangs (reads nothing, or
# reads and never exits, or leaves a child behind as Postfix's sendmail
# leaves postdrop) is killed with its children, and the run fails with an
# error naming the command and the timeout. Before the timeout existed the
# reporter waited for ever (issue 11, item 7: the unit hung).
# Also: Postfix's real sendmail under no-new-privileges (what systemd's
# NoNewPrivileges=yes does, reproduced with setpriv) cannot queue (postdrop
# is setgid), so the run fails on the timeout instead of hanging: the reason
# the units deliver over SMTP.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
[ -x "$KV_BUILD/kvmarm-reporter" ] || skip_all "kvmarm-reporter not built"
REPORTER=$KV_BUILD/kvmarm-reporter

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/w.mbox" --quiet
kvmarm-store --db "$T/db" import "$T/w.mbox" > /dev/null 2>&1
ok $? "imported the digest scenario"

# hang-read: never reads its input (the reporter's write must not block on
# a full pipe); hang-child: reads everything, then waits on a child.
cat > "$T/hang-read" <<EOF
#!/bin/sh
echo \$\$ > "$T/hang-read.pid"
exec sleep 300
EOF
cat > "$T/hang-child" <<EOF
#!/bin/sh
cat > /dev/null
sleep 300 &
echo \$! > "$T/hang-child.pid"
wait
EOF
chmod 755 "$T/hang-read" "$T/hang-child"

# alive PID: running (a killed child whose new parent has not reaped it yet
# is a zombie, not alive).
alive() {
	_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$_st" ] && [ "$_st" != Z ]
}

conf() {
	cat <<CONF
[store]
path = $2
[reporter]
output_dir = $3
transport = sendmail
sendmail_path = $1
sendmail_timeout = 2
CONF
}

for s in hang-read hang-child; do
	conf "$T/$s" "$T/db" "$T/out" > "$T/$s.conf"
	t0=$(date +%s)
	timeout 60 "$REPORTER" --config "$T/$s.conf" --once --week 2024-W10 > /dev/null 2> "$T/$s.err"
	rc=$?
	t1=$(date +%s)
	ok $([ $rc -ge 3 ] && [ $rc -ne 124 ]; echo $?) "$s: the run fails (exit $rc)"
	ok $([ $((t1 - t0)) -le 20 ]; echo $?) "$s: within the timeout ($((t1 - t0)) s for 2 s)"
	grep -q "sendmail $T/$s: timed out after 2 s" "$T/$s.err"
	ok $? "$s: the error names the command and the timeout"
	sed 's/^/#   /' "$T/$s.err" | head -3
	pid=$(cat "$T/$s.pid" 2>/dev/null)
	ok $([ -n "$pid" ] && ! alive "$pid"; echo $?) "$s: sendmail's process (and its child) killed"
	[ -z "$pid" ] || kill "$pid" 2>/dev/null
done

# A sendmail that answers in time still works with the timeout in place.
cat > "$T/quick" <<EOF
#!/bin/sh
cat > "$T/quick.mail"
EOF
chmod 755 "$T/quick"
conf "$T/quick" "$T/db" "$T/out" > "$T/quick.conf"
"$REPORTER" --config "$T/quick.conf" --once --week 2024-W10 > /dev/null 2> "$T/quick.err"
ok $? "a sendmail that answers in time: the run succeeds"
grep -q '^X-Kvmarm-Digest: 2024-W10' "$T/quick.mail"
ok $? "and it got the whole digest"

# The real Postfix sendmail under no-new-privileges, as a unit with
# NoNewPrivileges=yes would run it, as an unprivileged user. No Postfix
# needs to run: postdrop cannot even create its file in maildrop/.
if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/postdrop ] && command -v setpriv > /dev/null &&
   [ -d /var/spool/postfix/maildrop ] && [ -f /etc/postfix/main.cf ]; then
	mkdir -p "$T/nnp"
	"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/nnp/w.mbox" --quiet
	conf /usr/sbin/sendmail "$T/nnp/db" "$T/nnp/out" > "$T/nnp/nnp.conf"
	chown -R nobody "$T/nnp"; chmod 755 "$T"
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		"$KV_BUILD/kvmarm-store" --db "$T/nnp/db" import "$T/nnp/w.mbox" > /dev/null 2>&1
	t0=$(date +%s)
	timeout 60 setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs -- \
		"$REPORTER" --config "$T/nnp/nnp.conf" --once --week 2024-W10 > /dev/null 2> "$T/nnp.err"
	rc=$?
	t1=$(date +%s)
	ok $([ $rc -ge 3 ] && [ $rc -ne 124 ] && [ $((t1 - t0)) -le 20 ]; echo $?) \
		"postfix's sendmail under no-new-privs: fails after the timeout (exit $rc, $((t1 - t0)) s)"
	grep -q "sendmail /usr/sbin/sendmail: timed out after 2 s" "$T/nnp.err"
	ok $? "the error names /usr/sbin/sendmail"
	sed 's/^/#   /' "$T/nnp.err" | head -3
else
	skip "postfix's sendmail under no-new-privs (needs root, setpriv and /etc/postfix/main.cf)"
fi

done_testing
