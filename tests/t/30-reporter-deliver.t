#!/bin/sh
# 30-reporter-deliver: the digest mailed through a real private Postfix on
# loopback into a maildir, by both transports (sendmail -oi -t, and SMTP
# through libcurl); the delivered mail parsed back with gmime (kv-mime-describe)
# and its MIME structure and headers checked; a second run sends nothing
# (the store's sent table), --resend sends again.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
need_root
command -v postfix >/dev/null 2>&1 || skip_all "postfix not installed"
. "$KV_SRC/tests/lib/postfix.sh"

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/w.mbox" --manifest "$T/man.json" --quiet
kvmarm-store --db "$T/db" import "$T/w.mbox" > /dev/null 2>&1
ok $? "imported the digest scenario"

port=$(free_port)
pf_setup "$T/pf" "$port" "maildir:$T/mail/Maildir"
ok $? "private postfix configured (maildir)"
pf_start "$T/pf"
ok $? "postfix started on 127.0.0.1:$port" || { done_testing; exit 1; }
on_exit "pf_stop $T/pf"

cat > "$T/sendmail.conf" <<CONF
[store]
path = $T/db
[reporter]
output_dir = $T/out
formats = md,html,txt,json
transport = sendmail
sendmail_path = /usr/sbin/sendmail
from = KVM/arm64 digest <digest@example.org>
to = kvmarm-readers@example.org
CONF
sed -e 's/^transport = .*/transport = smtp/' > "$T/smtp.conf" < "$T/sendmail.conf"
printf 'smtp_url = smtp://127.0.0.1:%s\nsmtp_starttls = false\n' "$port" >> "$T/smtp.conf"

# Postfix's sendmail finds the private instance through MAIL_CONFIG (root may
# name any configuration directory); the reporter passes its environment on.
export MAIL_CONFIG="$T/pf/etc"
export KVMARM_NOW=2024-03-11T08:00:00+08:00

count() { find "$T/mail/Maildir/new" "$T/mail/Maildir/cur" -type f 2>/dev/null | wc -l; }
wait_count() {
	i=0
	while [ "$(count)" -lt "$1" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
	pf_wait_queue "$T/pf" 100
	count
}

kvmarm-reporter --config "$T/sendmail.conf" --once --week 2024-W10 > "$T/r1.out" 2> "$T/r1.err"
is "$?" 0 "first run sends (sendmail transport)"
is "$(wait_count 1)" 1 "one mail in the maildir"
f=$(find "$T/mail/Maildir/new" -type f | head -1)
"$KV_BUILD/tools/kv-mime-describe" "$f" Subject From To Date Message-ID Auto-Submitted X-Kvmarm-Digest MIME-Version \
	> "$T/d1" 2>&1
ok $? "delivered mail parsed back with gmime"
grep -q '^type: multipart/alternative$' "$T/d1"; ok $? "multipart/alternative"
grep -q '^type: text/plain; charset=utf-8$' "$T/d1"; ok $? "text/plain UTF-8 part"
grep -q '^type: text/html; charset=utf-8$' "$T/d1"; ok $? "text/html UTF-8 part"
is "$(grep -c '^type: ' "$T/d1")" 3 "exactly three MIME entities"
grep -q '^header Subject: KVMARM 邮件列表每周摘要 2024-W10$' "$T/d1"; ok $? "Subject names the week (decoded)"
grep -q '^header From: .*digest@example.org' "$T/d1"; ok $? "From"
grep -q '^header To: kvmarm-readers@example.org' "$T/d1"; ok $? "To"
grep -q '^header Date: Mon, 11 Mar 2024 08:00:00 +0800$' "$T/d1"; ok $? "Date in the digest's zone"
grep -q '^header Message-ID: <kvmarm-digest.2024-W10.*@example.org>$' "$T/d1"; ok $? "Message-ID"
grep -q '^header Auto-Submitted: auto-generated$' "$T/d1"; ok $? "Auto-Submitted: auto-generated"
grep -q '^header X-Kvmarm-Digest: 2024-W10$' "$T/d1"; ok $? "marker header for the milter"
grep -q '^text: KVMARM 邮件列表每周摘要 2024-W10$' "$T/d1"; ok $? "text part starts with the plain title"
[ -f "$T/out/2024-W10.md" ] && [ -f "$T/out/2024-W10.html" ] && [ -f "$T/out/2024-W10.json" ] &&
	[ -f "$T/out/2024-W10.txt" ]
ok $? "archive written by the sending run"
# the decoded text/plain part, by Python's email package (not our parser)
"$PYTHON" -c '
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
sys.stdout.write(m.get_body(("plain",)).get_content())' "$f" > "$T/part.txt"
ok $? "text/plain part decoded"
cmp -s "$T/part.txt" "$T/out/2024-W10.txt"
rc=$?
ok $rc "the mail's text/plain part is the plain-text rendering (the archive's .txt)"
[ $rc -eq 0 ] || diff -u "$T/out/2024-W10.txt" "$T/part.txt" | head -20 | sed 's/^/# /'
grep -q '^\[1\] \[' "$T/part.txt" && ! grep -q '\\[][()*_#<>]' "$T/part.txt"
ok $? "text part: numbered mails, no Markdown escape"

# What mutt shows: the delivered maildir opened read-only with no user
# config; its pager is a script that keeps the displayed message and ends
# that mutt by its PID (mutt under script(1) for a terminal, bounded by
# timeout). The body shown is the .txt, byte for byte.
if command -v mutt > /dev/null 2>&1 && command -v script > /dev/null 2>&1; then
	cat > "$T/mutt-pager" <<'PAGER'
#!/bin/sh
cat "$1" > "$(dirname "$0")/mutt-shown"
p=$PPID
[ "$(cat /proc/$p/comm 2>/dev/null)" = mutt ] || p=$(awk '{print $4}' /proc/$p/stat)
[ "$(cat /proc/$p/comm 2>/dev/null)" = mutt ] && kill -TERM "$p"
PAGER
	chmod +x "$T/mutt-pager"
	TERM=vt100 timeout 20 script -qec "mutt -n -F /dev/null -R -e 'set folder=$T/mail' -f '$T/mail/Maildir' \
		-e 'set pager=$T/mutt-pager wait_key=no charset=utf-8' -e 'push <display-message>'" \
		/dev/null > "$T/mutt.out" 2>&1 < /dev/null
	[ -s "$T/mutt-shown" ]
	ok $? "mutt displayed the digest"
	# the shown message: mutt's status line, a blank line, the headers, a blank line, the body
	awk 'n >= 2 { print } /^$/ { n++ }' "$T/mutt-shown" > "$T/mutt-body"
	cmp -s "$T/mutt-body" "$T/out/2024-W10.txt"
	rc=$?
	ok $rc "mutt shows the plain text as it is (no wrapping, no escapes)"
	[ $rc -eq 0 ] || diff -u "$T/out/2024-W10.txt" "$T/mutt-body" | head -20 | sed 's/^/# /'
else
	skip "mutt or script not installed"
	skip "mutt or script not installed"
fi

kvmarm-reporter --config "$T/sendmail.conf" --once --week 2024-W10 > /dev/null 2> "$T/r2.err"
is "$?" 1 "second run: nothing to do (exit 1)"
grep -q 'already sent' "$T/r2.err"; ok $? "says it was already sent"
sleep 1
is "$(wait_count 1)" 1 "still one mail"

kvmarm-reporter --config "$T/sendmail.conf" --once --week 2024-W10 --resend > /dev/null 2> "$T/r3.err"
is "$?" 0 "--resend sends again"
is "$(wait_count 2)" 2 "two mails"

kvmarm-reporter --config "$T/smtp.conf" --once --week 2024-W10 --resend > /dev/null 2> "$T/r4.err"
is "$?" 0 "SMTP transport through libcurl"
is "$(wait_count 3)" 3 "three mails"
g=$(ls -t "$T/mail/Maildir/new/"* | head -1)
"$KV_BUILD/tools/kv-mime-describe" "$g" X-Kvmarm-Digest Auto-Submitted > "$T/d4" 2>&1
grep -q '^header X-Kvmarm-Digest: 2024-W10$' "$T/d4" && grep -q '^type: text/html' "$T/d4"
ok $? "the SMTP-delivered digest has the same structure"

# a week with no mail: nothing sent, exit 1
kvmarm-reporter --config "$T/sendmail.conf" --once --week 2023-W10 > /dev/null 2> "$T/r5.err"
is "$?" 1 "empty week: exit 1"
sleep 0.5
is "$(wait_count 3)" 3 "and no mail"

# a broken transport is a failure (exit > 2), and the week stays unsent
sed -e 's|^sendmail_path = .*|sendmail_path = /nonexistent/sendmail|' < "$T/sendmail.conf" > "$T/bad.conf"
kvmarm-reporter --config "$T/bad.conf" --once --week 2024-W09 > /dev/null 2> "$T/r6.err"
rc=$?
[ "$rc" -gt 2 ]; ok $? "missing sendmail: exit $rc (> 2)"
grep -q 'sendmail /nonexistent/sendmail' "$T/r6.err"; ok $? "error names the program"
kvmarm-reporter --config "$T/sendmail.conf" --once --week 2024-W09 > /dev/null 2>&1
is "$?" 0 "the failed week is sent by the next run"
done_testing
