#!/bin/sh
# 50-debian-postfix.t - the documented Debian path, end to end, on this
# machine (CI runs as root on a throwaway one): `make deb`, dpkg -i, then
# the system Postfix as Debian ships it (Debian's master.cf: smtpd and
# cleanup chrooted in /var/spool/postfix; main.cf from main.cf.debian plus
# a local test domain on 127.0.0.1), with an accept-only milter already
# attached in OpenDKIM's place, the README's attach commands run as they
# are written, and the milter and reporter run as their units would (user,
# ExecStart, no-new-privs; no systemd runs here). Checks: every list mail,
# over SMTP and through sendmail(1), is in the store, no other mail is, the
# other milter saw every mail; the digest reaches a local mailbox by SMTP
# from the sandboxed reporter; sendmail under no-new-privs fails on the
# timeout instead of hanging; a stopped milter delays nothing. Then purge:
# user, directories and config gone, /etc/postfix as it was, Postfix
# stopped (also when a check fails: on_exit).
#
# Issue 11 items it covers: 1 (socket inside the chroot), 2 (our milter
# added beside the existing one with its own settings; global settings
# untouched), 3 (socket group postfix), 4 (the milter stays in the
# foreground as Type=simple expects), 6 (one user owns the store: the
# reporter runs as kvmarm and the milter goes on writing), 7 (delivery
# under no-new-privs), 10 (installed set).
#
# KV_DEB=path.deb installs that package instead of building one.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

need_root
for c in dpkg-buildpackage dh postfix postconf postmulti setpriv runuser useradd flock; do
	command -v $c > /dev/null || skip_all "$c is not installed (make deps)"
done
[ -x "$KV_BUILD/tools/accept_milter" ] || skip_all "build/tools/accept_milter not built"
[ -f /usr/share/postfix/main.cf.debian ] && [ -f /usr/share/postfix/master.cf.dist ] ||
	skip_all "not Debian's postfix package"
[ -x /usr/lib/postfix/configure-instance.sh ] || skip_all "not Debian's postfix package"
# One run at a time per machine (the system Postfix, port 25, the package).
exec 9> /run/lock/kvmarm-digest-50-debian-postfix.lock
flock -w 600 9 || skip_all "another run holds /run/lock/kvmarm-digest-50-debian-postfix.lock"
if dpkg-query -W -f='${Status}' kvmarm-digest 2>/dev/null | grep -q 'installed\|config-files'; then
	skip_all "kvmarm-digest is installed on this machine: not touching it"
fi
# The system instance's processes: the ones working in its queue directory
# (private test instances elsewhere have queues of their own).
system_postfix_pids() {
	for _d in /proc/[0-9]*; do
		[ "$(readlink "$_d/cwd" 2>/dev/null)" = /var/spool/postfix ] && echo "${_d#/proc/}"
	done
}
pids=$(system_postfix_pids | tr '\n' ' ')
[ -z "$pids" ] || skip_all "the system Postfix is running (pids $pids): not touching a live MTA"
if "$PYTHON" -c 'import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(("127.0.0.1",25)) != 0)'; then
	skip_all "something listens on 127.0.0.1:25"
fi

CONF=/etc/kvmarm-digest/kvmarm-digest.conf
UNITS=/lib/systemd/system
DOMAIN=kvtest.localdomain
MPID= APID= PF_STARTED=
# ok/is that also return the check's status, for "|| show why" after them
okr() { ok "$1" "$2"; return "$1"; }
isr() { is "$1" "$2" "$3"; [ "$1" = "$2" ]; }

# --- leave the machine as it was, whatever happens ---------------------
cp -a /etc/postfix "$T/etc-postfix.orig"
chmod 755 "$T"
stop_proc() {   # PID: SIGTERM, up to 15 s, then SIGKILL
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	_i=0
	while kill -0 "$1" 2>/dev/null && [ $_i -lt 150 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -KILL "$1" 2>/dev/null || true
}
postfix_stop() {
	[ -n "$PF_STARTED" ] || return 0
	timeout 30 postsuper -d ALL > /dev/null 2>&1
	timeout 30 postmulti -i - -p stop > /dev/null 2>&1
	_i=0
	while [ -n "$(system_postfix_pids)" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
	# Anything left (a Postfix command stuck on its log socket): by PID.
	for _p in $(system_postfix_pids); do kill -KILL "$_p" 2>/dev/null; done
	PF_STARTED=
}
# dpkg LOG ARGS...: waits for dpkg's lock (another apt or dpkg run) up to
# 2 minutes; the output of the last attempt in LOG.
dpkg_locked() {
	_log=$1; shift
	_i=0
	while [ $_i -lt 120 ]; do
		dpkg "$@" > "$_log" 2>&1 && return 0
		grep -q 'lock' "$_log" || return 1
		sleep 1; _i=$((_i + 1))
	done
	return 1
}
restore_all() {
	stop_proc "$MPID"; MPID=
	stop_proc "$APID"; APID=
	postfix_stop
	for u in kvtlist kvtdigest kvtquery; do
		userdel "$u" 2>/dev/null
		rm -f "/var/mail/$u"
	done
	if dpkg-query -W -f='${Status}' kvmarm-digest 2>/dev/null | grep -q 'installed\|config-files'; then
		dpkg_locked "$T/purge.log" --purge kvmarm-digest
	fi
	if [ -d "$T/etc-postfix.orig" ]; then
		rm -rf /etc/postfix && cp -a "$T/etc-postfix.orig" /etc/postfix
	fi
}
on_exit restore_all

# --- the package ---------------------------------------------------------
if [ -n "${KV_DEB:-}" ]; then
	DEB=$KV_DEB
	diag "installing $DEB (KV_DEB)"
else
	t0=$(date +%s)
	# The package is built the way Debian builds it, whatever flags the
	# make that runs this test was given (`make SANITIZE=1 check` passes
	# SANITIZE=1 down through MAKEFLAGS).
	timeout 900 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u SANITIZE -u BUILD \
		make -C "$KV_SRC" deb DEB_OUT="$T/deb" \
		DEB_BUILD_OPTIONS="parallel=$(nproc)" > "$T/deb.log" 2>&1
	okr $? "make deb builds the package ($(($(date +%s) - t0)) s)" ||
		{ tail -20 "$T/deb.log" | sed 's/^/#   /'; done_testing; exit 1; }
	DEB=$(ls "$T"/deb/kvmarm-digest_*.deb | head -1)
fi
if ! dpkg_locked "$T/dpkg.log" -i "$DEB"; then
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get -o DPkg::Lock::Timeout=120 \
		install -f -y -qq >> "$T/dpkg.log" 2>&1
fi
dpkg-query -W -f='${Status}\n' kvmarm-digest 2>/dev/null | grep -q '^install ok installed$'
okr $? "dpkg -i installs it" || { sed 's/^/#   /' "$T/dpkg.log"; done_testing; exit 1; }

# Item 10: the installed set.
for f in /usr/sbin/kvmarm-milter /usr/bin/kvmarm-store /usr/bin/kvmarm-reporter \
	 /usr/lib/kvmarm-digest/kvmarm-store-import; do
	[ -x "$f" ]; ok $? "installed $f"
done
for m in kvmarm-milter kvmarm-store kvmarm-reporter; do
	man -w "$m" > /dev/null 2>&1; ok $? "man $m finds its page"
done
dpkg-query -W -f='${Conffiles}\n' kvmarm-digest | grep -q " $CONF "
ok $? "$CONF is a conffile"
for u in kvmarm-milter.service kvmarm-reporter.service kvmarm-reporter-once.service \
	 kvmarm-reporter-once.timer; do
	[ -f "$UNITS/$u" ]; ok $? "unit $u installed"
done
systemd-analyze verify "$UNITS/kvmarm-milter.service" "$UNITS/kvmarm-reporter.service" \
	"$UNITS/kvmarm-reporter-once.service" "$UNITS/kvmarm-reporter-once.timer" > "$T/verify.log" 2>&1
okr $? "systemd-analyze verify passes for the installed units" || sed 's/^/#   /' "$T/verify.log"
is "$(getent passwd kvmarm | cut -d: -f7)" "/usr/sbin/nologin" "system user kvmarm, no login shell"
uid=$(id -u kvmarm 2>/dev/null || echo 99999)
ok $([ "$uid" -lt 1000 ]; echo $?) "kvmarm is a system user (uid $uid)"
is "$(stat -c '%U:%G %a' /var/lib/kvmarm-digest 2>&1)" "kvmarm:kvmarm 750" "state directory"
is "$(stat -c '%U:%G %a' /var/spool/kvmarm-digest 2>&1)" "kvmarm:kvmarm 750" "spool directory"
is "$(stat -c '%U:%G %a' /var/spool/postfix/kvmarm 2>&1)" "kvmarm:postfix 2750" \
	"socket directory inside Postfix's chroot"

# --- Postfix as Debian ships it --------------------------------------------
cp /usr/share/postfix/master.cf.dist /etc/postfix/master.cf
cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
# What a "Local only" install adds, for a test domain on loopback only; the
# log into the scratch directory (there is no syslog here).
postconf -e "myhostname = $DOMAIN" "mydestination = \$myhostname, localhost" \
	"inet_interfaces = loopback-only" "inet_protocols = ipv4" \
	"alias_maps =" "alias_database =" \
	"maillog_file = $T/maillog" "maillog_file_prefixes = /var, $T"
is "$(postconf -Fh smtp/inet/chroot cleanup/unix/chroot | tr '\n' ' ')" "y y " \
	"Debian's master.cf: smtpd and cleanup run chrooted"
for u in kvtlist kvtdigest kvtquery; do userdel "$u" 2>/dev/null; done   # a killed run's
useradd -M -N -g nogroup -s /usr/sbin/nologin kvtlist
useradd -M -N -g nogroup -s /usr/sbin/nologin kvtdigest
useradd -M -N -g nogroup -G kvmarm -s /usr/sbin/nologin kvtquery
ok $? "test users: list and digest recipients, a member of the kvmarm group"

# The milter already there (OpenDKIM's place, set up as its README says).
APORT=$(free_port)
"$KV_BUILD/tools/accept_milter" "inet:$APORT@127.0.0.1" "$T/other.count" 2> "$T/other.log" &
APID=$!
wait_for_port "$APORT" 50
ok $? "the other milter listens on 127.0.0.1:$APORT"
postconf -e "smtpd_milters = inet:127.0.0.1:$APORT" "non_smtpd_milters = \$smtpd_milters"

# Start Postfix as postfix@-.service does.
PF_STARTED=1
/usr/lib/postfix/configure-instance.sh - > "$T/pf-start.log" 2>&1 &&
	timeout 60 script -eqc "postmulti -i - -p start" /dev/null >> "$T/pf-start.log" 2>&1
okr $? "system postfix started as postfix@-.service does" ||
	{ sed 's/^/#   /' "$T/pf-start.log"; done_testing; exit 1; }
wait_for_port 25 50
ok $? "postfix listens on 127.0.0.1:25"

# --- the milter, as its unit runs it ------------------------------------------
unit_get() { sed -n "s/^$2=//p" "$UNITS/$1" | tail -1; }
M_USER=$(unit_get kvmarm-milter.service User)
M_GROUP=$(unit_get kvmarm-milter.service Group)
M_EXEC=$(unit_get kvmarm-milter.service ExecStart)
M_UMASK=$(unit_get kvmarm-milter.service UMask)
is "$(unit_get kvmarm-milter.service Type)" simple "milter unit: Type=simple"
diag "milter: User=$M_USER ExecStart=$M_EXEC"
# shellcheck disable=SC2086 # ExecStart is words, as systemd splits it
(umask "${M_UMASK:-0022}" && exec setpriv --reuid="$M_USER" --regid="$M_GROUP" --init-groups \
	--no-new-privs -- $M_EXEC) 2> "$T/milter.log" &
MPID=$!
SOCK=/var/spool/postfix/kvmarm/milter.sock
wait_for_file "$SOCK" 100
okr $? "the milter made its socket inside the chroot" || sed 's/^/#   /' "$T/milter.log"
sleep 0.3
kill -0 "$MPID" 2>/dev/null
ok $? "and stays in the foreground (what Type=simple expects)"
is "$(stat -c '%U:%G %a' "$SOCK" 2>&1)" "kvmarm:postfix 660" "socket kvmarm:postfix 0660"
is "$(ps -o user= -p "$MPID" 2>&1 | tr -d ' ')" kvmarm "the milter runs as kvmarm"

# --- the README's attach commands, as written ---------------------------------
awk '/<!-- tests\/t\/50-debian-postfix.t runs the next block as it is -->/ { f = 1; next }
     f == 1 && /^```sh$/ { f = 2; next }
     f == 2 && /^```$/ { exit }
     f == 2 { print }' "$KV_SRC/README.md" > "$T/attach.sh"
ok $([ -s "$T/attach.sh" ]; echo $?) "README's attach block found ($(wc -l < "$T/attach.sh") lines)"
timeout 60 sh -e "$T/attach.sh" > "$T/attach.out" 2>&1
ok $? "README's attach commands run" ; sed 's/^/#   /' "$T/attach.out"
timeout 60 sh -e "$T/attach.sh" > "$T/attach2.out" 2>&1
ok $? "and run again (idempotent)"
OURS='{ unix:/kvmarm/milter.sock, default_action=accept, protocol=6 }'
is "$(postconf -hx smtpd_milters)" "inet:127.0.0.1:$APORT, $OURS" \
	"smtpd_milters: the other milter kept, ours added once with its own settings"
is "$(postconf -hx non_smtpd_milters)" "inet:127.0.0.1:$APORT, $OURS" "non_smtpd_milters likewise"
postconf -n | grep -q '^milter_default_action\|^milter_protocol'
is "$?" 1 "no global milter_default_action/milter_protocol set"
postconf -n > /dev/null 2> "$T/postconf.err"
is "$(cat "$T/postconf.err")" "" "postconf -n: no warnings (no overriding entries)"
sleep 1   # postfix reload: new smtpd processes pick up the milters

# --- list mail over SMTP and through sendmail(1) -----------------------------
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 11 --messages 40 --non-list 5 --format files \
	--out "$T/smtp" --manifest "$T/smtp.json" --quiet &&
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 12 --messages 10 --non-list 2 --format files \
	--out "$T/sm" --manifest "$T/sm.json" --quiet
ok $? "generated list mail (and some non-list mail)"
chmod -R a+rX "$T/sm"
NSMTP=$(ls "$T/smtp" | wc -l)
NSM=$(ls "$T/sm" | wc -l)
NALL=$((NSMTP + NSM))
timeout 120 "$PYTHON" "$KV_SRC/tests/lib/smtpsend.py" --port 25 --dir "$T/smtp" \
	--to "kvtlist@$DOMAIN" --connections 2
okr $? "$NSMTP mails accepted over SMTP on 127.0.0.1:25" ||
	{ tail -20 "$T/maillog" | sed 's/^/#   /'; done_testing; exit 1; }
bad=0
for f in "$T"/sm/*.eml; do
	timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		/usr/sbin/sendmail -oi -f sender@example.org "kvtlist@$DOMAIN" < "$f" || bad=$((bad + 1))
done
is "$bad" 0 "$NSM mails submitted with sendmail(1) by an ordinary user"

mbox_count() { _c=$(grep -c '^From ' "/var/mail/$1" 2>/dev/null); echo "${_c:-0}"; }
wait_mbox() {   # USER N: up to 60 s
	_i=0
	while [ "$(mbox_count "$1")" -lt "$2" ] && [ $_i -lt 600 ]; do sleep 0.1; _i=$((_i + 1)); done
	mbox_count "$1"
}
is "$(wait_mbox kvtlist $NALL)" "$NALL" "every mail delivered to the local mailbox"
grep -q 'warning:.*[Mm]ilter' "$T/maillog"
isr "$?" 1 "postfix logged no milter warning" || grep '[Mm]ilter' "$T/maillog" | head -5 | sed 's/^/#   /'
is "$(wc -l < "$T/other.count" 2>/dev/null || echo 0)" "$NALL" "the other milter saw every mail"

# The store, as kvmarm: every list mail, nothing else (the store thread
# records after a short pause in the arrivals).
store_ids() {   # USER: the Message-IDs in the store, one a line, sorted
	runuser -u "$1" -- /usr/bin/kvmarm-store --config "$CONF" export --since 1970-01-01 --until 2100-01-01 2> "$T/export.err" |
		"$PYTHON" -c '
import mailbox, sys, tempfile
with tempfile.NamedTemporaryFile() as f:
    f.write(sys.stdin.buffer.read()); f.flush()
    for m in mailbox.mbox(f.name):
        print((m.get("Message-ID") or "").strip().strip("<>"))' | sort
}
"$PYTHON" - "$T/smtp.json" "$T/sm.json" > "$T/want.ids" <<'EOF'
import json, sys
for p in sys.argv[1:]:
    for m in json.load(open(p))["messages"]:
        if m.get("list", True):
            print(m["message_id"])
EOF
sort -o "$T/want.ids" "$T/want.ids"
NLIST=$(wc -l < "$T/want.ids")
i=0
while [ "$(store_ids kvmarm | wc -l)" -lt "$NLIST" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
store_ids kvmarm > "$T/got.ids"
cmp -s "$T/want.ids" "$T/got.ids"
okr $? "the store holds exactly the $NLIST list mails (SMTP and sendmail), queried as kvmarm" ||
	{ diff "$T/want.ids" "$T/got.ids" | head -5 | sed 's/^/#   /'; sed 's/^/#   /' "$T/export.err"; }

# A member of the kvmarm group queries the store while the milter runs.
runuser -u kvtquery -- /usr/bin/kvmarm-store --config "$CONF" stats --since 2024-01-01 \
	> "$T/q.out" 2> "$T/q.err"
okr $? "a kvmarm group member queries the store" || sed 's/^/#   /' "$T/q.err"

# --- the digest, as kvmarm-reporter-once.service runs it ------------------------
sed -i "/^\[reporter\]/a to = kvtdigest@$DOMAIN" "$CONF"
R_USER=$(unit_get kvmarm-reporter-once.service User)
R_GROUP=$(unit_get kvmarm-reporter-once.service Group)
R_EXEC=$(unit_get kvmarm-reporter-once.service ExecStart)
R_UMASK=$(unit_get kvmarm-reporter-once.service UMask)
is "$(unit_get kvmarm-reporter-once.service NoNewPrivileges)" yes "reporter unit: NoNewPrivileges=yes"
diag "reporter: User=$R_USER ExecStart=$R_EXEC"
run_reporter() {   # EXTRA ARGS...: the unit's command line plus these
	# shellcheck disable=SC2086
	(umask "${R_UMASK:-0022}" && exec timeout 120 setpriv --reuid="$R_USER" --regid="$R_GROUP" \
		--init-groups --no-new-privs -- $R_EXEC "$@")
}
run_reporter --week 2024-W10 > "$T/rep.out" 2> "$T/rep.err"
okr $? "the reporter (its user, no-new-privs) sends the 2024-W10 digest" || sed 's/^/#   /' "$T/rep.err"
is "$(wait_mbox kvtdigest 1)" 1 "the digest is in kvtdigest's mailbox"
grep -q '^X-Kvmarm-Digest: 2024-W10' /var/mail/kvtdigest
ok $? "with its marker header"
is "$(wc -l < "$T/other.count")" "$((NALL + 1))" "the digest passed the other milter too"
sleep 1
is "$(store_ids kvmarm | wc -l)" "$NLIST" "our milter did not record the digest"
[ -f /var/lib/kvmarm-digest/archive/2024-W10.md ] &&
	[ "$(stat -c %U /var/lib/kvmarm-digest/archive/2024-W10.md)" = kvmarm ]
ok $? "archive written by kvmarm in the state directory"

# The old way (sendmail(1) under the unit's no-new-privs) cannot queue:
# the run fails on the timeout, naming the command, instead of hanging.
sed -e 's/^transport = smtp/transport = sendmail\nsendmail_timeout = 3/' "$CONF" > "$T/sendmail.conf"
chmod 644 "$T/sendmail.conf"
R_EXEC=$(echo "$R_EXEC" | sed "s|--config [^ ]*|--config $T/sendmail.conf|")
t0=$(date +%s)
run_reporter --week 2024-W10 --resend > /dev/null 2> "$T/rep-sm.err"
rc=$?
t1=$(date +%s)
ok $([ $rc -ge 3 ] && [ $rc -ne 124 ] && [ $((t1 - t0)) -le 30 ]; echo $?) \
	"transport = sendmail under no-new-privs: fails in $((t1 - t0)) s (exit $rc), no hang"
grep -q 'sendmail /usr/sbin/sendmail: timed out after 3 s' "$T/rep-sm.err"
okr $? "the error names /usr/sbin/sendmail and the timeout" || sed 's/^/#   /' "$T/rep-sm.err"

# The milter still writes the store after the reporter ran (one owner).
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 13 --messages 1 --format files \
	--out "$T/late" --manifest "$T/late.json" --quiet
timeout 60 "$PYTHON" "$KV_SRC/tests/lib/smtpsend.py" --port 25 --dir "$T/late" --to "kvtlist@$DOMAIN"
i=0
while [ "$(store_ids kvmarm | wc -l)" -lt $((NLIST + 1)) ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
is "$(store_ids kvmarm | wc -l)" "$((NLIST + 1))" "a mail after the reporter's run is recorded too"

# Our milter stopped: its own default_action = accept lets mail through
# (the global milter_default_action stays Postfix's tempfail).
stop_proc "$MPID"; MPID=
is "$(postconf -h milter_default_action)" tempfail "global milter_default_action untouched"
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 14 --messages 1 --format files \
	--out "$T/down" --quiet
timeout 60 "$PYTHON" "$KV_SRC/tests/lib/smtpsend.py" --port 25 --dir "$T/down" --to "kvtlist@$DOMAIN"
ok $? "with our milter down, a mail is still accepted"
is "$(wait_mbox kvtlist $((NALL + 2)))" "$((NALL + 2))" "and delivered"

# --- purge, and the machine as it was ----------------------------------------
restore_all
dpkg-query -W -f='${Status}' kvmarm-digest 2>/dev/null | grep -q 'installed\|config-files'
isr "$?" 1 "dpkg --purge removed the package" || sed 's/^/#   /' "$T/purge.log"
if pgrep -u kvmarm > /dev/null 2>&1; then
	# processes this test did not start (another checkout's milter
	# switching to kvmarm) keep the user: postrm says so and goes on
	skip "user kvmarm still has processes not started here: $(pgrep -u kvmarm | tr '\n' ' ')"
else
	ok $(! getent passwd kvmarm > /dev/null && ! getent group kvmarm > /dev/null; echo $?) \
		"user and group kvmarm gone"
fi
ls -d /etc/kvmarm-digest /var/lib/kvmarm-digest /var/spool/kvmarm-digest \
	/var/spool/postfix/kvmarm 2>/dev/null | sed 's/^/#   left: /'
ok $([ ! -e /etc/kvmarm-digest ] && [ ! -e /var/lib/kvmarm-digest ] &&
	[ ! -e /var/spool/kvmarm-digest ] && [ ! -e /var/spool/postfix/kvmarm ]; echo $?) \
	"config, store, spool and socket directory gone"
diff -r "$T/etc-postfix.orig" /etc/postfix > /dev/null
ok $? "/etc/postfix as it was"
is "$(system_postfix_pids)" "" "system postfix stopped: no process left in /var/spool/postfix"

done_testing
