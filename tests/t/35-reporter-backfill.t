#!/bin/sh
# 35-reporter-backfill: the lore backfill against tests/lib/lore_server.py,
# a public-inbox stand-in on 127.0.0.1. Off by default (nothing asked);
# on, only the missing parents of the week's thread roots are asked for
# (never a stored mail), up their chain, at most backfill_max_fetch per run
# with the next run going on; fetched mails are stored flagged backfilled
# and change none of the week's numbers (JSON totals, per-thread counts,
# health, kvmarm-store stats) but give their thread its root ("About");
# an answer with another Message-ID or over the size limit is rejected and
# logged, a 404 is a logged miss; with the server down the error is logged
# and the digest is still built.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

command -v kvmarm-reporter >/dev/null && command -v kvmarm-store >/dev/null ||
	skip_all "kvmarm-reporter / kvmarm-store not built"

# The mails: stored ones in an mbox, the archive's in files named by
# their quoted Message-ID. Week 2024-W10 is [2024-03-04, 2024-03-11) UTC.
mkdir -p "$T/lore"
"$PYTHON" - "$T/week.mbox" "$T/lore" <<'EOF'
import sys, urllib.parse
mbox, lore = sys.argv[1], sys.argv[2]

def mail(mid, subj, date, frm, body, irt=None, refs=()):
    h = ["From: %s" % frm, "To: kvmarm@lists.linux.dev", "Subject: %s" % subj,
         "Date: %s" % date, "Message-ID: <%s>" % mid]
    if irt:
        h.append("In-Reply-To: <%s>" % irt)
    if refs:
        h.append("References: " + " ".join("<%s>" % r for r in refs))
    h += ["List-Id: <kvmarm.lists.linux.dev>", "MIME-Version: 1.0",
          "Content-Type: text/plain; charset=utf-8"]
    return "\n".join(h) + "\n\n" + body

ANA = "Ana Author <ana@example.org>"
REV = "Rex Reviewer <rex@example.org>"
stored = [
    # A: the week has a reply to patch 1/2; cover and patch predate the store
    mail("a1r@test", "Re: [PATCH v2 1/2] KVM: arm64: Frobnicate the widget", "Tue, 05 Mar 2024 10:00:00 +0000",
         REV, "> quoted line\nThis needs a comment on the locking.\n", "a1@test", ("a0@test", "a1@test")),
    # B: root and reply in the week, both stored
    mail("b0@test", "[PATCH] KVM: arm64: Fix the gizmo", "Mon, 04 Mar 2024 09:00:00 +0000", ANA,
         "The gizmo was off by one.\n"),
    mail("b1@test", "Re: [PATCH] KVM: arm64: Fix the gizmo", "Mon, 04 Mar 2024 12:00:00 +0000", REV,
         "Reviewed-by: Rex Reviewer <rex@example.org>\n", "b0@test", ("b0@test",)),
    # C: root stored from an earlier week, reply in the week
    mail("c0@test", "[RFC] KVM: arm64: Rethink the doohickey", "Thu, 01 Feb 2024 09:00:00 +0000", ANA,
         "An old proposal.\n"),
    mail("c1@test", "Re: [RFC] KVM: arm64: Rethink the doohickey", "Wed, 06 Mar 2024 09:00:00 +0000", REV,
         "Still interested?\n", "c0@test", ("c0@test",)),
    # D: parent not in the archive (404)
    mail("d1@test", "Re: KVM: arm64: lost question", "Wed, 06 Mar 2024 10:00:00 +0000", REV,
         "Any news?\n", "d0@test", ("d0@test",)),
    # E: the archive answers with another Message-ID
    mail("e1@test", "Re: KVM: arm64: spoofed", "Wed, 06 Mar 2024 11:00:00 +0000", REV,
         "Answering.\n", "e0@test", ("e0@test",)),
    # F: the archive answers with more than backfill_max_size bytes
    mail("f1@test", "Re: KVM: arm64: huge", "Wed, 06 Mar 2024 12:00:00 +0000", REV,
         "Answering.\n", "f0@test", ("f0@test",)),
    # G: the root was posted in the week itself, but never reached the store
    mail("g1@test", "Re: [PATCH] KVM: arm64: Tidy the sprocket", "Thu, 07 Mar 2024 09:00:00 +0000", REV,
         "Looks good to me.\n", "g0@test", ("g0@test",)),
    # H: a reply naming only its parent h1 (missing), whose own parent h0
    # the store has, as a thread of its own from an earlier week
    mail("h0@test", "KVM: arm64: the timer rework", "Fri, 02 Feb 2024 09:00:00 +0000", ANA,
         "The timer gets reworked.\n"),
    mail("h2@test", "Re: KVM: arm64: the timer rework", "Fri, 08 Mar 2024 09:00:00 +0000", ANA,
         "Thanks, that settles it.\n", "h1@test", ("h1@test",)),
    # K: the archive redirects in a loop; M: it moved the mail, one redirect
    mail("k1@test", "Re: KVM: arm64: loop", "Fri, 08 Mar 2024 10:00:00 +0000", REV,
         "Answering.\n", "k0@test", ("k0@test",)),
    mail("m1@test", "Re: [PATCH] KVM: arm64: Move the flange", "Fri, 08 Mar 2024 11:00:00 +0000", REV,
         "Applied, thanks.\n", "m0@test", ("m0@test",)),
]
archive = {
    "a0@test": mail("a0@test", "[PATCH v2 0/2] KVM: arm64: Frobnicate the widget", "Tue, 20 Feb 2024 09:00:00 +0000",
                    ANA, "This series teaches the widget to frobnicate in nested guests.\n"),
    "a1@test": mail("a1@test", "[PATCH v2 1/2] KVM: arm64: Frobnicate the widget", "Tue, 20 Feb 2024 09:00:01 +0000",
                    ANA, "Add the lock.\n---\n a.c | 1 +\n", "a0@test", ("a0@test",)),
    "b0@test": mail("b0@test", "[PATCH] KVM: arm64: Fix the gizmo", "Mon, 04 Mar 2024 09:00:00 +0000", ANA,
                    "The gizmo was off by one.\n"),
    "c0@test": mail("c0@test", "[RFC] KVM: arm64: Rethink the doohickey", "Thu, 01 Feb 2024 09:00:00 +0000", ANA,
                    "An old proposal.\n"),
    "e0@test": mail("someone-else@test", "KVM: arm64: spoofed", "Tue, 27 Feb 2024 09:00:00 +0000", ANA,
                    "Not the mail asked for.\n"),
    "f0@test": mail("f0@test", "KVM: arm64: huge", "Tue, 27 Feb 2024 09:00:00 +0000", ANA,
                    "x" * 70 + "\n" + ("y" * 70 + "\n") * 200),
    "h0@test": mail("h0@test", "KVM: arm64: the timer rework", "Fri, 02 Feb 2024 09:00:00 +0000", ANA,
                    "The timer gets reworked.\n"),
    "h1@test": mail("h1@test", "Re: KVM: arm64: the timer rework", "Fri, 09 Feb 2024 09:00:00 +0000", REV,
                    "Like the other one.\n", "h0@test", ("h0@test",)),
    "g0@test": mail("g0@test", "[PATCH] KVM: arm64: Tidy the sprocket", "Wed, 06 Mar 2024 08:00:00 +0000", ANA,
                    "The sprocket keeps its teeth in order now.\n"),
}
archive["m0-moved"] = mail("m0@test", "[PATCH] KVM: arm64: Move the flange", "Thu, 07 Mar 2024 08:00:00 +0000",
                           ANA, "The flange moves to the other side.\n")
redirects = {"k0@test": "/kvmarm/kr1/raw", "kr1": "/kvmarm/kr2/raw", "kr2": "/kvmarm/kr3/raw",
             "kr3": "/kvmarm/kr4/raw", "m0@test": "/kvmarm/m0-moved/raw"}
archive["kr4"] = mail("k0@test", "KVM: arm64: loop", "Tue, 27 Feb 2024 09:00:00 +0000", ANA, "Too far.\n")
for mid, to in redirects.items():
    with open("%s/%s.redirect" % (lore, urllib.parse.quote(mid, safe="")), "w") as f:
        f.write(to + "\n")
with open(mbox, "w") as f:
    for m in stored:
        f.write("From mboxrd@z Thu Jan  1 00:00:00 1970\n" + m + "\n")
for mid, m in archive.items():
    with open("%s/%s.eml" % (lore, urllib.parse.quote(mid, safe="")), "w") as f:
        f.write(m)
EOF
ok $? "wrote the week's mails and the archive's"
kvmarm-store --db "$T/db" import "$T/week.mbox" > "$T/import.out" 2>&1
ok $? "imported the week"

"$PYTHON" "$KV_SRC/tests/lib/lore_server.py" --dir "$T/lore" --list kvmarm --port-file "$T/port" \
	--pid-file "$T/pid" --log "$T/req.log" --timeout 120 &
SRV=$!
track_pid $SRV
wait_for_file "$T/port" 100
ok $? "archive stand-in started"
PORT=$(cat "$T/port")
BASE="http://127.0.0.1:$PORT/kvmarm/"

config() {   # $1 backfill_url, $2 backfill_max_fetch
	cat > "$T/cfg.ini" <<EOF
[reporter]
timezone = UTC
backfill_url = $1
backfill_max_fetch = $2
backfill_timeout = 5
backfill_max_size = 4096
EOF
}
run() {   # $1 output dir
	KVMARM_NOW=2024-03-11T00:00:00Z kvmarm-reporter --config "$T/cfg.ini" --db "$T/db" --once \
		--week 2024-W10 --no-send --output "$1" --format json --lang en > "$1.out" 2> "$1.err"
}
reqs() { [ -f "$T/req.log" ] && awk '{print $2}' "$T/req.log" | tr '\n' ' ' | sed 's/ $//' || true; }
# the week's numbers: totals, health and each thread's counts, keyed by the
# thread's last mail (its root may change). Thread H's whole-thread counts
# are left out here: the fetched h1 joins it to the stored h0, a delivered
# mail that then rightly counts (checked on its own below).
numbers() {
	"$PYTHON" - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
h = dict(d["health"])
out = {"totals": d["totals"], "recorded": h["recorded"], "flagged": h["flagged"], "threads": sorted(
    (t["mails"][-1]["message_id"], t["messages"], t["participants"]) +
    ((t["total_messages"], t["earlier_messages"]) if t["mails"][-1]["message_id"] != "h2@test" else ())
    for t in d["threads"])}
print(json.dumps(out, sort_keys=True))
EOF
}
thread_counts() {   # $1 json, $2 a window mail: "total earlier" of its thread
	"$PYTHON" -c 'import json,sys
for t in json.load(open(sys.argv[1]))["threads"]:
    if any(m["message_id"] == sys.argv[2] for m in t["mails"]):
        print(t["total_messages"], t["earlier_messages"])' "$1" "$2"
}
about() {   # $1 json, $2 a window mail's Message-ID: its thread's About
	"$PYTHON" -c 'import json,sys
for t in json.load(open(sys.argv[1]))["threads"]:
    if any(m["message_id"] == sys.argv[2] for m in t["mails"]):
        print(t["root_message_id"] + " | " + t["summary"]["about"])' "$1" "$2"
}
# kvmarm-store stats of the week; new_threads apart: a thread whose fetched
# root predates the week rightly stops being new, the counts must not move
stats() {
	kvmarm-store --db "$T/db" stats --json --since 2024-03-04 --until 2024-03-11 |
		sed -e 's/"store":.*//' -e 's/"new_threads":[0-9]*,//'
}
new_threads() {
	kvmarm-store --db "$T/db" stats --json --since 2024-03-04 --until 2024-03-11 |
		sed -n 's/.*"new_threads":\([0-9]*\),.*/\1/p'
}

# off (the default): nothing asked
config "" 20
STATS0=$(stats)
NEW0=$(new_threads)
run "$T/off"
is "$?" 0 "backfill off: digest built"
is "$(reqs)" "" "backfill off: no request"
NUM0=$(numbers "$T/off/2024-W10.json")

# on, cap 2: thread A's chain, reply -> 1/2 -> cover, then the cap
config "$BASE" 2
run "$T/cap"
is "$?" 0 "cap 2: digest built"
is "$(reqs)" "/kvmarm/a1@test/raw /kvmarm/a0@test/raw" \
	"cap 2: patch 1/2, then its parent the cover letter; nothing more"
grep -q "cap of 2 fetches reached" "$T/cap.err"
ok $? "cap 2: the cap is logged"

# on, cap 20: the next run goes on with the other threads (a moved mail
# followed through one redirect, a redirect loop given up), never re-asks
# the stored chain nor the stored roots (b0, c0 are on the server too)
config "$BASE" 20
run "$T/on"
is "$?" 0 "cap 20: digest built"
is "$(reqs)" "/kvmarm/a1@test/raw /kvmarm/a0@test/raw /kvmarm/d0@test/raw /kvmarm/e0@test/raw /kvmarm/f0@test/raw /kvmarm/g0@test/raw /kvmarm/h1@test/raw /kvmarm/k0@test/raw /kvmarm/kr1/raw /kvmarm/kr2/raw /kvmarm/kr3/raw /kvmarm/m0@test/raw /kvmarm/m0-moved/raw" \
	"cap 20: only the missing parents of the other roots, each once, and never h0, which is stored"
grep -q "backfill <d0@test>: ${BASE}d0@test/raw: HTTP 404, not in the archive" "$T/on.err"
ok $? "a 404 is a logged miss"
grep -q "backfill <e0@test>: .*rejected, the answer is <someone-else@test>" "$T/on.err"
ok $? "a mail with another Message-ID is rejected and logged"
grep -q "backfill <f0@test>: rejected: ${BASE}f0@test/raw: answer larger than 4096 bytes" "$T/on.err"
ok $? "an answer over backfill_max_size is rejected and logged"
grep -q "backfill <k0@test>: ${BASE}k0@test/raw: .*[Rr]edirect" "$T/on.err"
ok $? "more than 3 redirects: a logged failure of that mail; the run goes on (M after it)"
kvmarm-store --db "$T/db" show --json k0@test > /dev/null 2>&1
is "$?" 1 "the mail behind too many redirects was not stored"
kvmarm-store --db "$T/db" show --json someone-else@test > /dev/null 2>&1
is "$?" 1 "the spoofed mail was not stored"
kvmarm-store --db "$T/db" show --json f0@test > /dev/null 2>&1
is "$?" 1 "the oversized mail was not stored"

for id in a0@test a1@test g0@test m0@test; do
	kvmarm-store --db "$T/db" show --json "$id" | "$PYTHON" -c 'import json,sys
d = json.load(sys.stdin)
m = [m for m in d["messages"] if m["message_id"] == sys.argv[1]][0]
sys.exit(0 if m["flags"] == ["backfilled"] else 1)' "$id"
	ok $? "$id stored flagged backfilled (and its own Date kept)"
done
kvmarm-store --db "$T/db" show --json a1r@test | "$PYTHON" -c 'import json,sys
d = json.load(sys.stdin)
sys.exit(0 if [m for m in d["messages"] if m["message_id"] == "a1r@test"][0]["flags"] == [] else 1)'
ok $? "a delivered mail is not flagged"

is "$(numbers "$T/on/2024-W10.json")" "$NUM0" "the week's numbers are the same with backfill on and off"
is "$(numbers "$T/cap/2024-W10.json")" "$NUM0" "... and after the capped run"
is "$(thread_counts "$T/off/2024-W10.json" a1r@test)" "1 0" "thread A without backfill: 1 mail, none earlier"
is "$(thread_counts "$T/on/2024-W10.json" a1r@test)" "1 0" "thread A with its fetched cover and patch: still 1, none earlier"
is "$(thread_counts "$T/on/2024-W10.json" g1@test)" "1 0" "thread G with its fetched root of the same week: still 1"
is "$(thread_counts "$T/on/2024-W10.json" h2@test)" "2 1" "thread H joined to the stored h0 counts h0, not the fetched h1"
is "$(stats)" "$STATS0" "kvmarm-store stats for the week is the same (the root fetched from the week too)"
is "$(new_threads)" "$((NEW0 - 2))" "stats: threads A and H, whose fetched ancestors predate the week, are no longer new; G still is"

case "$(about "$T/on/2024-W10.json" a1r@test)" in
"a0@test | "*"teaches the widget to frobnicate"*) ok 0 "About of thread A comes from the fetched cover letter" ;;
*) ok 1 "About of thread A comes from the fetched cover letter"; diag "$(about "$T/on/2024-W10.json" a1r@test)" ;;
esac
case "$(about "$T/off/2024-W10.json" a1r@test)" in
*"teaches the widget"*) ok 1 "without backfill the cover letter is unknown" ;;
*) ok 0 "without backfill the cover letter is unknown" ;;
esac
case "$(about "$T/on/2024-W10.json" g1@test)" in
"g0@test | "*"keeps its teeth in order"*) ok 0 "About of thread G comes from its fetched root of the same week" ;;
*) ok 1 "About of thread G comes from its fetched root of the same week" ;;
esac

# server down: the error is logged, the digest still comes out
kill -TERM "$SRV"
wait "$SRV" 2>/dev/null
config "$BASE" 20
run "$T/down"
is "$?" 0 "server down: digest built"
test -s "$T/down/2024-W10.json"
ok $? "server down: the JSON digest is written"
grep -q "backfill <d0@test>: ${BASE}d0@test/raw: .*; no more fetches this run" "$T/down.err"
ok $? "server down: the failure is logged with the URL, and the run stops asking"
is "$(grep -c 'backfill <' "$T/down.err")" 1 "server down: one attempt, not one per thread"
is "$(numbers "$T/down/2024-W10.json")" "$NUM0" "server down: the week's numbers unchanged"

done_testing
