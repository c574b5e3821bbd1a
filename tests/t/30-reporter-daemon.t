#!/bin/sh
# 30-reporter-daemon: the daemon with a fake clock (KVMARM_NOW): it catches
# up once on a missed Monday, a restart does not send twice, the schedule
# moves to the next Monday without resending, a week long past is not
# caught up (only the last complete week), and SIGTERM stops it promptly.
# The MTA is a stand-in sendmail that stores each message it is given (we
# test our own program, not Postfix, here; 30-reporter-deliver uses Postfix).
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/w.mbox" \
	--manifest "$T/man.json" --quiet
kvmarm-store --db "$T/db" import "$T/w.mbox" > /dev/null 2>&1
ok $? "imported the digest scenario (weeks W08..W11)"

mkdir -p "$T/sent"
cat > "$T/sendmail" <<SH
#!/bin/sh
# stand-in MTA: check the fixed arguments, keep the message; fail once
# (temporary failure, like an MTA that is down) when asked to
[ "\$*" = "-oi -t" ] || { echo "bad arguments: \$*" >&2; exit 64; }
if [ -f "$T/fail-once" ]; then rm -f "$T/fail-once"; cat > /dev/null; exit 75; fi
n=\$(ls "$T/sent" | wc -l)
cat > "$T/sent/\$((n + 1)).eml"
SH
chmod +x "$T/sendmail"
cat > "$T/conf" <<CONF
[store]
path = $T/db
[reporter]
output_dir = $T/out
transport = sendmail
sendmail_path = $T/sendmail
schedule = Mon 08:00
timezone = Asia/Shanghai
CONF

sent() { ls "$T/sent" | wc -l | tr -d ' '; }
weeks() { for f in "$T/sent"/*.eml; do [ -f "$f" ] && sed -n 's/^X-Kvmarm-Digest: //p' "$f"; done | tr '\n' ' '; }

# Wednesday of W11: Monday 08:00 was missed; W10 is due and caught up.
KVMARM_NOW=2024-03-13T12:00:00+08:00 kvmarm-reporter --config "$T/conf" -f --exit-after-catchup \
	> "$T/d1.out" 2> "$T/d1.err"
is "$?" 0 "daemon start-up check ran"
is "$(sent)" 1 "caught up: one digest sent"
is "$(weeks)" "2024-W10 " "it is the missed week, 2024-W10"

# restart at the same time: nothing new
KVMARM_NOW=2024-03-13T12:00:00+08:00 kvmarm-reporter --config "$T/conf" -f --exit-after-catchup \
	> /dev/null 2> "$T/d2.err"
is "$?" 0 "restarted"
is "$(sent)" 1 "a restart does not send twice"

# Sunday night before: W09 is still due (its Monday was 03-04); then the
# clock reaches Monday 03-11 08:00, where W10 is due but already sent.
KVMARM_NOW=2024-03-10T22:00:00+08:00 kvmarm-reporter --config "$T/conf" -f --max-iterations 2 \
	> /dev/null 2> "$T/d3.err"
is "$?" 0 "two scheduled checks"
is "$(weeks)" "2024-W10 2024-W09 " "W09 sent at start, W10 not again at its Monday"
grep -q 'digest 2024-W10 is due' "$T/d3.err"; [ $? -ne 0 ]; ok $? "W10 not even considered due again"
grep -q 'digest 2024-W09 is due' "$T/d3.err"; ok $? "W09 was due at start" 

# weeks later: only the last complete week is considered (W12, empty here);
# the weeks in between are not sent in a burst
KVMARM_NOW=2024-03-27T09:00:00+08:00 kvmarm-reporter --config "$T/conf" -f --max-iterations 1 \
	> /dev/null 2> "$T/d4.err"
is "$?" 0 "late start"
is "$(sent)" 2 "an empty last week sends nothing, and W11 is not caught up in a burst"

# a failed delivery is retried ten minutes later, not a week later
sed 's|^output_dir = .*|output_dir = '"$T"'/out2|' "$T/conf" > "$T/conf2"
rm -rf "$T/db2"; cp -r "$T/db" "$T/db2"
sed -i 's|^path = .*|path = '"$T"'/db2|' "$T/conf2"
: > "$T/fail-once"
KVMARM_NOW=2024-03-20T12:00:00+08:00 kvmarm-reporter --config "$T/conf2" -f --max-iterations 2 \
	> /dev/null 2> "$T/d6.err"
rc=$?
[ "$rc" -gt 2 ]; ok $? "the failed attempt is reported in the exit status ($rc)"
grep -q 'digest 2024-W11 failed; retrying in 600 s' "$T/d6.err"; ok $? "logs the retry"
is "$(weeks)" "2024-W10 2024-W09 2024-W11 " "the retry ten minutes later sent W11"

# the real clock: starts, finds nothing due, sleeps; SIGTERM stops it
kvmarm-reporter --config "$T/conf" -f > /dev/null 2> "$T/d5.err" &
pid=$!
track_pid $pid
sleep 1
kill -0 $pid 2>/dev/null; ok $? "daemon running with the real clock"
kill -TERM $pid
i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $pid 2>/dev/null; [ $? -ne 0 ]; ok $? "SIGTERM stops it within 5 s"
grep -q 'daemon: stopping' "$T/d5.err"; ok $? "logs that it stops"

# usage errors
kvmarm-reporter --config "$T/conf" --week 2024-W10 > /dev/null 2>&1
is "$?" 2 "--week without --once is a usage error"
kvmarm-reporter --bogus > /dev/null 2>&1
is "$?" 2 "unknown option: exit 2"
kvmarm-reporter --help | grep -q -- '--exit-after-catchup'
ok $? "--help documents the test hooks"
sed 's/^schedule = .*/schedule = Someday 25:00/' "$T/conf" > "$T/bad.conf"
KVMARM_NOW=2024-03-13T12:00:00+08:00 kvmarm-reporter --config "$T/bad.conf" -f --exit-after-catchup > /dev/null 2> "$T/bad.err"
is "$?" 2 "bad schedule: exit 2"
grep -q 'schedule' "$T/bad.err"; ok $? "error names the key"
done_testing
