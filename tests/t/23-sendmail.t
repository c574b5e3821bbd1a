#!/bin/sh
# 23-sendmail.t - end to end through a real, private Sendmail: Debian's
# sendmail-bin conflicts with postfix as a package, so its .debs are
# fetched with `apt-get download` into a cache, unpacked with dpkg -x, a
# .cf is built with m4, and sendmail -bD runs in the foreground on
# 127.0.0.1 in its own UTS namespace (a host name with a domain part, or
# it sleeps 60 s), relaying to tests/lib/smtpsink.py, with kvmarm-milter as
# INPUT_MAIL_FILTER (no F= flag, as in conf/sendmail.mc.snippet).
# Checks: every list mail is in the store exactly as sent (Sendmail shows
# the milter the mail before adding its Received line and missing headers;
# it removes an incoming Return-Path only when relaying),
# no non-list mail is, every mail reached the sink unchanged apart from
# the header lines Sendmail adds and its rewriting of address headers
# (re-folded, display names re-quoted),
# nothing bounced.
# Skips (saying why) when the packages cannot be fetched.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

need_root
[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ -x "$KV_BUILD/kvmarm-store" ] || skip_all "kvmarm-store not built"
command -v m4 >/dev/null || skip_all "m4 is not installed (make deps)"
command -v unshare >/dev/null || skip_all "unshare is not available"
[ -f "$KV_SRC/tests/gen/kvgen.py" ] || skip_all "tests/gen/kvgen.py missing"

CACHE=${KV_SENDMAIL_CACHE:-/var/cache/kvmarm-digest-tests/sendmail}
SM="$CACHE/root/usr/libexec/sendmail/sendmail"
CF="$CACHE/root/usr/share/sendmail/cf"
if [ ! -x "$SM" ] || [ ! -f "$CF/m4/cf.m4" ]; then
	mkdir -p "$CACHE" && chmod 755 "$CACHE"
	( cd "$CACHE" && apt-get download sendmail-bin sendmail-base sendmail-cf ) > "$T/apt.out" 2>&1 ||
		skip_all "cannot fetch sendmail packages with apt-get download: $(tail -1 "$T/apt.out")"
	for d in "$CACHE"/*.deb; do dpkg -x "$d" "$CACHE/root" || skip_all "dpkg -x $d failed"; done
fi
[ -x "$SM" ] || skip_all "no sendmail binary in the unpacked packages"
ldd "$SM" | grep -q 'not found' && skip_all "sendmail lacks libraries: $(ldd "$SM" | grep 'not found' | head -1) (make deps)"

SINKPORT=$(free_port)
SMTPPORT=$(free_port)
mkdir -p "$T/sm/q" "$T/sm/cq"
chmod 700 "$T/sm/q"
: > "$T/sm/statistics"
: > "$T/sm/helpfile"
printf 'hosts files\naliases files\n' > "$T/sm/service.switch"
cat > "$T/sm/test.mc" <<EOF
divert(-1)
divert(0)dnl
include(\`$CF/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confCF_VERSION', \`kvtest')dnl
define(\`QUEUE_DIR', \`$T/sm/q')dnl
define(\`MSP_QUEUE_DIR', \`$T/sm/cq')dnl
define(\`confPID_FILE', \`$T/sm/sendmail.pid')dnl
define(\`STATUS_FILE', \`$T/sm/statistics')dnl
define(\`HELP_FILE', \`$T/sm/helpfile')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`confDONT_PROBE_INTERFACES', \`true')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINKPORT')dnl
define(\`confDELIVERY_MODE', \`background')dnl
dnl a busy test machine must not make it queue or refuse mail
define(\`confQUEUE_LA', \`1000')dnl
define(\`confREFUSE_LA', \`1000')dnl
define(\`confDELAY_LA', \`0')dnl
dnl no DNS here: never look host names up (canonify would defer mail)
define(\`confSERVICE_SWITCH_FILE', \`$T/sm/service.switch')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`accept_unqualified_senders')dnl
DAEMON_OPTIONS(\`Port=$SMTPPORT, Addr=127.0.0.1, Name=MTA')dnl
INPUT_MAIL_FILTER(\`kvmarm', \`S=unix:$T/milter.sock, T=C:10s;S:30s;R:30s;E:60s')dnl
MAILER(\`smtp')dnl
EOF
m4 "$T/sm/test.mc" > "$T/sm/test.cf" 2> "$T/sm/m4.err"
ok $? "sendmail.cf built with m4"

"$PYTHON" "$KV_SRC/tests/lib/smtpsink.py" --port "$SINKPORT" --dir "$T/sink" --timeout 600 &
track_pid $!
cat > "$T/milter.conf" <<EOF
[milter]
run_as_root = true
socket = unix:$T/milter.sock
spool_dir = $T/spool
commit_interval_ms = 0
[store]
path = $T/db
EOF
kvmarm-milter --config "$T/milter.conf" -f 2> "$T/milter.log" &
MPID=$!
track_pid $MPID
wait_for_file "$T/milter.sock" 50
ok $? "milter listening"

unshare --uts sh -c "hostname sm-test.localdomain && exec '$SM' -C '$T/sm/test.cf' -bD -O LogLevel=9" \
	> "$T/sm/out" 2>&1 &
SMPID=$!
track_pid $SMPID
wait_for_port "$SMTPPORT" 100 && wait_for_port "$SINKPORT" 50
ok $? "private sendmail listening on 127.0.0.1:$SMTPPORT"

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 23 --weeks 1 --messages 120 --non-list 8 \
	--format files --out "$T/gen" --manifest "$T/gen.json" --quiet
NSEND=$(ls "$T/gen" | wc -l)

"$PYTHON" "$KV_SRC/tests/lib/smtpsend.py" --port "$SMTPPORT" --dir "$T/gen" --connections 3
ok $? "all $NSEND mails accepted by sendmail"

i=0
while [ "$(ls "$T/sink" | grep -c '\.eml$')" -lt "$NSEND" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
is "$(ls "$T/sink" | grep -c '\.eml$')" "$NSEND" "every mail reached the sink"
is "$(ls "$T/sm/q" | wc -l)" "0" "sendmail's queue is empty (nothing deferred or bounced)"

# Stop the milter first: at SIGTERM it records what is still in its
# journal (the store thread waits for a pause in the arrivals).
stop_pid $MPID
ok $? "milter exits 0 on SIGTERM"

"$PYTHON" - "$T" <<'EOF' > "$T/verify.out" 2>&1
import json, os, re, subprocess, sys
T = sys.argv[1]
man = json.load(open(os.path.join(T, "gen.json")))
listed = {m["file"]: m.get("list", True) for m in man["messages"]}
def split(b):
    i = b.find(b"\n\n")
    return (b, b"") if i < 0 else (b[:i + 1], b[i + 1:])
def fields(h):
    return re.findall(rb"(?m)^[^ \t\n][^\n]*\n(?:[ \t][^\n]*\n)*", h)
rec = {}
for line in open(os.path.join(T, "milter.log"), encoding="utf-8", errors="replace"):
    m = re.search(r"queue id (\S+): recorded <.*> as message (\d+)", line)
    if m:
        rec[m.group(1)] = int(m.group(2))
sent = {}
for f in os.listdir(os.path.join(T, "gen")):
    b = open(os.path.join(T, "gen", f), "rb").read().replace(b"\r\n", b"\n")
    m = re.search(rb"(?im)^message-id:\s*<([^>]*)>", b)
    # Sendmail drops any incoming Return-Path when it relays (delivery sets
    # the real one); the milter sees it.
    h, body = split(b)
    h = b"".join(x for x in fields(h) if not x.lower().startswith(b"return-path:"))
    sent[m.group(1)] = (f, h + body, b)
bad = 0
def fail(s):
    global bad
    bad += 1
    if bad <= 15:
        print("# " + s)
nlist = 0
for f in sorted(os.listdir(os.path.join(T, "sink"))):
    if not f.endswith(".eml"):
        continue
    lf = open(os.path.join(T, "sink", f), "rb").read().replace(b"\r\n", b"\n")
    h, body = split(lf)
    fl = fields(h)
    if not fl or not fl[0].startswith(b"Received:"):
        fail("%s: no Received line from sendmail" % f); continue
    qid = re.search(rb" id ([0-9A-Za-z]+)", fl[0]).group(1).decode()
    m = re.search(rb"(?im)^message-id:\s*<([^>]*)>", h)
    if not m or m.group(1) not in sent:
        fail("%s: not one of the mails sent" % f); continue
    src, orig, full = sent[m.group(1)]
    oh, obody = split(orig)
    ofl = fields(oh)
    # the sink copy: sendmail's Received line, then the sent header fields
    # in order, possibly with fields sendmail adds (Date, ...), same body
    # Sendmail re-folds address headers (To, Cc) when it relays: compare
    # header fields with folding white space collapsed.
    # It also re-quotes display names: address fields compare by addresses.
    def norm(x):
        name = x.split(b":", 1)[0].lower()
        if name in (b"from", b"to", b"cc", b"reply-to", b"sender") or name.startswith(b"resent-"):
            return name + b":" + b",".join(re.findall(rb"[\w.+=-]+@[\w.-]+", x))
        return re.sub(rb"[ \t]*\n[ \t]+|[ \t]+", b" ", x)
    ofl = [norm(x) for x in ofl]
    kept = [norm(x) for x in fl[1:] if norm(x) in ofl]
    if kept != ofl or body != obody:
        fail("%s (%s): delivered copy differs from what was sent" % (f, src))
    if listed[src]:
        nlist += 1
        if qid not in rec:
            fail("%s (%s): list mail not recorded" % (src, qid)); continue
        r = subprocess.run(["kvmarm-store", "--db", os.path.join(T, "db"), "msg", "--raw", str(rec[qid])],
                           capture_output=True)
        if r.stdout != full:
            fail("%s: stored bytes differ from the mail as sent (message %d)" % (src, rec[qid]))
    elif qid in rec:
        fail("%s: non-list mail recorded" % src)
print("# list mails %d, recorded %d, problems %d" % (nlist, len(rec), bad))
sys.exit(1 if bad else 0)
EOF
ok $? "store holds every list mail exactly; no non-list mail; deliveries unchanged"
cat "$T/verify.out"

kvmarm-store --db "$T/db" check > "$T/check.out" 2>&1
ok $? "kvmarm-store check passes"

kill -TERM $SMPID
done_testing
