#!/bin/sh
# 21-postfix.t - end to end through a real, private Postfix on 127.0.0.1:
# generated list and non-list mails (and the dev corpus when present) go
# over SMTP into Postfix, which runs kvmarm-milter on a unix socket and
# relays everything to tests/lib/smtpsink.py. Checks: every list mail is in
# the store with exactly the bytes Postfix delivered to its next hop (line
# ends made LF: the store keeps LF, the wire has CRLF), except the one
# Received line Postfix prepends itself, which it does not show milters;
# no non-list mail is
# in the store, every mail reached the sink unchanged (the sink copy is
# Postfix's own Received line followed by what we sent, less any
# Return-Path header, which Postfix always removes), nothing bounced.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
. "$KV_SRC/tests/lib/postfix.sh"

need_root
command -v postfix >/dev/null || skip_all "postfix is not installed"
[ -x "$KV_BUILD/kvmarm-milter" ] || skip_all "kvmarm-milter not built"
[ -x "$KV_BUILD/kvmarm-store" ] || skip_all "kvmarm-store not built"
[ -f "$KV_SRC/tests/gen/kvgen.py" ] || skip_all "tests/gen/kvgen.py missing"

SINKPORT=$(free_port)
SMTPPORT=$(free_port)
chmod 755 "$T"

"$PYTHON" "$KV_SRC/tests/lib/smtpsink.py" --port "$SINKPORT" --dir "$T/sink" --timeout 600 \
	--pidfile "$T/sink.pid" &
track_pid $!

cat > "$T/milter.conf" <<EOF
[milter]
run_as_root = true
socket = unix:$T/milter.sock
socket_group = postfix
socket_mode = 0660
spool_dir = $T/spool
pid_file = $T/milter.pid
commit_interval_ms = 0
[store]
path = $T/db
EOF
kvmarm-milter --config "$T/milter.conf" -f 2> "$T/milter.log" &
MPID=$!
track_pid $MPID
wait_for_file "$T/milter.sock" 50
ok $? "milter listening on a unix socket"

# As on a real MX, mail from clients is not "completed" with a Date or
# Message-ID header (some generated mails lack a Date on purpose).
PF_EXTRA="local_header_rewrite_clients ="
pf_setup "$T/pf" "$SMTPPORT" "relay:$SINKPORT" "unix:$T/milter.sock" || exit 1
pf_start "$T/pf"
ok $? "private postfix started"
on_exit "pf_stop $T/pf"
wait_for_port "$SINKPORT" 50 && wait_for_port "$SMTPPORT" 50
ok $? "postfix and sink accept connections"

# Mails to send: a generated week with non-list mail, plus the corpus.
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 3 --weeks 1 --non-list 10 --format files \
	--out "$T/gen" --manifest "$T/gen.json" --quiet
ok $? "generated mails"
mkdir -p "$T/send"
cp "$T"/gen/*.eml "$T/send/"
if [ -f "$CORPUS" ]; then
	"$PYTHON" - "$CORPUS" "$T/send" <<'EOF'
# Split the dev corpus (mboxrd, gzip) into one file per message.
import gzip, re, sys
src, out = sys.argv[1], sys.argv[2]
data = gzip.open(src, "rb").read()
parts = re.split(rb"(?m)^From [^\n]*\n", data)
n = 0
for p in parts:
    if not p.strip():
        continue
    p = re.sub(rb"(?m)^>(>*From )", rb"\1", p)
    if p.endswith(b"\n\n"):
        p = p[:-1]          # the separator line before the next From_
    n += 1
    open("%s/corpus-%05d.eml" % (out, n), "wb").write(p)
print("# corpus: %d messages" % n)
EOF
	HAVE_CORPUS=1
else
	diag "dev corpus absent ($CORPUS): only generated mails"
	HAVE_CORPUS=0
fi
NSEND=$(ls "$T/send" | wc -l)

# Send over SMTP: 4 connections at once, several mails per connection.
"$PYTHON" "$KV_SRC/tests/lib/smtpsend.py" --port "$SMTPPORT" --dir "$T/send" \
	--connections 4 --per-connection 20
ok $? "all $NSEND mails accepted by postfix over SMTP"

pf_wait_queue "$T/pf" 1200
ok $? "postfix queue drained"
i=0
while [ "$(ls "$T/sink" | grep -c '\.eml$')" -lt "$NSEND" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
is "$(ls "$T/sink" | grep -c '\.eml$')" "$NSEND" "every mail reached the sink"
grep -q 'status=bounced' "$T/pf/maillog"
is "$?" "1" "nothing bounced"
grep -q 'milter.*\(error\|warning\)\|warning:.*milter' "$T/pf/maillog"
is "$?" "1" "postfix logged no milter trouble"

# Stop the milter first: at SIGTERM it records what is still in its
# journal (the store thread waits for a pause in the arrivals), and logs
# its latency lines.
stop_pid $MPID
ok $? "milter exits 0 on SIGTERM"
grep 'eom latency\|journal over' "$T/milter.log" | sed 's/^/# /'

# Compare sink, sent files and store. Writes a report; exit 1 on mismatch.
"$PYTHON" - "$T" "$HAVE_CORPUS" <<'EOF' > "$T/verify.out" 2>&1
import json, os, re, subprocess, sys
T, have_corpus = sys.argv[1], sys.argv[2] == "1"
man = json.load(open(os.path.join(T, "gen.json")))
msgs = man["messages"] if isinstance(man, dict) else man
# kvgen's manifest: file name -> list or not
listed = {}
for m in msgs:
    f = os.path.basename(m.get("file") or m.get("path") or "")
    listed[f] = m.get("list", True)
LIST_RE = re.compile(rb"(?im)^list-id:[^\n]*(\n[ \t][^\n]*)*<\s*(kvmarm\.lists\.linux\.dev|kvmarm\.lists\.cs\.columbia\.edu)\s*>")

def header_block(b):
    i = b.find(b"\n\n")
    return b if i < 0 else b[:i + 1]

# queue id -> message number, from the milter's log
rec = {}
for line in open(os.path.join(T, "milter.log"), encoding="utf-8", errors="replace"):
    m = re.search(r"queue id (\S+): (?:recorded <.*> as message|<.*> already stored as message) (\d+)", line)
    if m:
        rec[m.group(1)] = int(m.group(2))

# Postfix's cleanup removes every Return-Path header of incoming mail (the
# delivery agent adds the real one); apart from that it must pass as sent.
RP_RE = re.compile(rb"(?im)^return-path:[^\n]*\n(?:[ \t][^\n]*\n)*")
def strip_rp(b):
    h = header_block(b)
    return RP_RE.sub(b"", h) + b[len(h):]
sent = {}
for f in os.listdir(os.path.join(T, "send")):
    sent[strip_rp(open(os.path.join(T, "send", f), "rb").read().replace(b"\r\n", b"\n"))] = f

bad = 0
nlist = nnon = 0
def fail(msg):
    global bad
    bad += 1
    if bad <= 15:
        print("# " + msg)

for f in sorted(os.listdir(os.path.join(T, "sink"))):
    if not f.endswith(".eml"):
        continue
    wire = open(os.path.join(T, "sink", f), "rb").read()
    lf = wire.replace(b"\r\n", b"\n")
    m = re.match(rb"Received: [^\n]*(\n[ \t][^\n]*)*\n", lf)
    if not m or b"(Postfix)" not in m.group(0):
        fail("%s: does not start with postfix's Received line" % f); continue
    qm = re.search(rb" id ([0-9A-F]+)", m.group(0))
    qid = qm.group(1).decode()
    orig = lf[m.end():]
    src = sent.get(orig)
    if src is None:
        fail("%s (queue id %s): content differs from every mail sent" % (f, qid)); continue
    is_list = listed.get(src, True) if not src.startswith("corpus-") else bool(LIST_RE.search(header_block(orig)))
    if not src.startswith("corpus-") and is_list != bool(LIST_RE.search(header_block(orig))):
        fail("%s: manifest and List-Id disagree" % src)
    if is_list:
        nlist += 1
        if qid not in rec:
            fail("%s (%s): list mail not recorded" % (src, qid)); continue
        r = subprocess.run(["kvmarm-store", "--db", os.path.join(T, "db"), "msg", "--raw", str(rec[qid])],
                           capture_output=True)
        if r.returncode != 0:
            fail("%s: kvmarm-store msg %d failed: %s" % (src, rec[qid], r.stderr.decode()[:200])); continue
        # Postfix hands milters the message without the Received line it
        # prepends itself; everything after that line is byte for byte.
        if r.stdout != orig:
            fail("%s: stored bytes differ from what postfix delivered (message %d)" % (src, rec[qid]))
    else:
        nnon += 1
        if qid in rec:
            fail("%s (%s): non-list mail recorded as message %d" % (src, qid, rec[qid]))
print("# list mails %d, non-list %d, recorded %d, problems %d" % (nlist, nnon, len(rec), bad))
sys.exit(1 if bad else 0)
EOF
rc=$?
ok $rc "store holds every list mail exactly as delivered; no non-list mail; sink copies unchanged"
cat "$T/verify.out"

n=$(grep -c 'recorded <' "$T/milter.log")
nl=$(grep -c '"list": false' "$T/gen.json" 2>/dev/null || echo 0)
diag "milter recorded $n mails of $NSEND sent ($nl generated non-list)"

kvmarm-store --db "$T/db" check > "$T/check.out" 2>&1
ok $? "kvmarm-store check passes"

done_testing
