#!/bin/sh
# 10-cli-query.t - the query commands of `kvmarm-store` end to end on two
# generated weeks: threads --json (fields and values against the
# generator's manifest), show (tree, --json, --tz), msg --raw (byte-exact),
# export/import round trip (byte-exact), search, stats, check, exit codes.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"
GEN="$PYTHON $KV_SRC/tests/gen/kvgen.py"
$GEN --seed 1 --weeks 2 --format mboxrd --out "$T/g.mbox" --manifest "$T/g.json" --quiet &&
$GEN --seed 1 --weeks 2 --format files --out "$T/files" --manifest "$T/files.json" --quiet
ok $? "generator wrote two weeks (2024-W10, W11) as mboxrd and as files"
DB="$T/db"
"$KS" --db "$DB" import "$T/g.mbox" >/dev/null 2>&1
ok $? "imported"
W1="--since 2024-03-04 --until 2024-03-11"

# ---- threads ----
"$KS" --db "$DB" threads $W1 --json >"$T/th.json"
ok $? "threads --json exits 0"
"$PYTHON" - "$T/th.json" "$T/g.json" 2024-03-04T00:00:00Z 2024-03-11T00:00:00Z <<'EOF' >"$T/py.out"
import json, sys
th = json.load(open(sys.argv[1]))
man = json.load(open(sys.argv[2]))["messages"]
lo, hi = sys.argv[3], sys.argv[4]
bad = []
def check(c, what):
    if not c: bad.append(what)
keys = {"thread_id": int, "subject": str, "category": str, "root_message_id": str,
        "messages": int, "message_ids": list, "participants": int, "participant_list": list,
        "first_date": str, "last_date": str}
for t in th:
    for k, ty in keys.items():
        check(isinstance(t.get(k), ty), "thread %s: %s missing or not %s" % (t.get("thread_id"), k, ty.__name__))
    check("series" in t and (t["series"] is None or isinstance(t["series"], dict)), "series null or object")
    if t.get("series"):
        s = t["series"]
        check(isinstance(s.get("title"), str) and isinstance(s.get("versions"), list) and s["versions"],
              "series has title and versions")
        for v in s["versions"]:
            check(all(k in v for k in ("version", "thread_id", "date", "message_id")), "series version fields")
        check(any(v["thread_id"] == t["thread_id"] for v in s["versions"]), "the thread is one of its series' versions")
    check(t["messages"] == len(t["message_ids"]), "messages == len(message_ids)")
    check(t["participants"] == len(t["participant_list"]), "participants == len(participant_list)")
    check(t["category"] in ("PATCH", "RFC", "Bug Report", "GIT PULL", "Question", "Other"), "category name")
    check("\n" not in t["subject"] and "=?" not in t["subject"], "clean subject: %r" % t["subject"])
    check(all("<" not in i and ">" not in i for i in t["message_ids"]), "ids without <>")
# against the manifest
win = [m for m in man if lo <= m["date"] < hi]
comp = {}
for m in win:
    comp.setdefault(m["thread"], set()).add(m["message_id"])
want = sorted(sorted(s) for s in comp.values())
got = sorted(sorted(t["message_ids"]) for t in th)
check(got == want, "partition of the window's ids into threads equals the manifest's")
byid = {m["message_id"]: m for m in man}
for t in th:
    ms = [byid[i] for i in t["message_ids"] if i in byid]
    if not ms: continue
    allm = [m for m in man if m["thread"] == ms[0]["thread"]]
    check(t["first_date"] == min(m["date"] for m in allm), "first_date of thread %d" % t["thread_id"])
    check(t["last_date"] == max(m["date"] for m in allm), "last_date of thread %d" % t["thread_id"])
    check(t["participants"] == len({m["from_address"] for m in ms}), "participants of thread %d" % t["thread_id"])
    check(t["total_messages"] == len(allm), "total_messages of thread %d" % t["thread_id"])
    check(t["root_message_id"] in {m["message_id"] for m in allm}, "root is a member of thread %d" % t["thread_id"])
    dates = [byid[i]["date"] for i in t["message_ids"]]
    check(dates == sorted(dates), "message_ids in date order")
print("threads=%d series=%d" % (len(th), sum(1 for t in th if t["series"])))
for b in bad[:10]: print("bad:", b)
sys.exit(1 if bad else 0)
EOF
ok $? "threads --json: fields, types and values match the manifest"
sed 's/^/# /' "$T/py.out"
NT=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/th.json")
is "$("$KS" --db "$DB" threads $W1 | wc -l | tr -d ' ')" "$NT" "threads (text): one line per thread"
"$KS" --db "$DB" threads --since 2024-03-04T00:00:00Z --until 2024-03-11T00:00:00+00:00 --json | cmp -s - "$T/th.json"
ok $? "threads: ISO 8601 dates give the same answer as YYYY-MM-DD"
"$KS" --db "$DB" threads --since 2000-01-01 --until 2000-01-08 --json >"$T/out"
is "$?/$(cat "$T/out")" "1/[]" "threads on an empty window: [] and exit 1"
"$KS" --db "$DB" threads --since 2024-13-45 --until 2024-03-11 >/dev/null 2>"$T/err"
is "$?" 2 "threads with a bad date: exit 2"
grep -q "2024-13-45" "$T/err"
ok $? "bad date: named in the error"

# ---- show ----
TID=$("$PYTHON" -c 'import json,sys; t=max(json.load(open(sys.argv[1])), key=lambda t: t["total_messages"]); print(t["thread_id"], t["root_message_id"])' "$T/th.json")
set -- $TID
TID=$1 ROOT=$2
"$KS" --db "$DB" show --json "$TID" >"$T/show.json"
ok $? "show --json THREAD exits 0"
"$KS" --db "$DB" show --json "<$ROOT>" | cmp -s - "$T/show.json"
ok $? "show by <Message-ID> gives the same thread"
"$PYTHON" - "$T/show.json" "$T/g.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
man = {m["message_id"]: m for m in json.load(open(sys.argv[2]))["messages"]}
msgs = s["messages"]
ids = [m["message_id"] for m in msgs]
ok = isinstance(msgs, list) and len(msgs) == s["total_messages"] == s["message_count"]
seen = set()
for m in msgs:
    ok &= all(k in m for k in ("message_id", "parent", "from_name", "from_address", "subject", "date", "flags"))
    ok &= isinstance(m["flags"], list)
    ok &= m["parent"] is None or m["parent"] in seen     # tree order: parents first
    seen.add(m["message_id"])
    g = man[m["message_id"]]
    ok &= m["date"] == g["date"] and m["from_address"] == g["from_address"] and m["from_name"] == g["from_name"]
    ok &= m["subject"] == g["subject"]
    # the parent is the In-Reply-To when that message is stored
    if g.get("in_reply_to") in set(ids):
        ok &= m["parent"] == g["in_reply_to"]
ok &= sum(1 for m in msgs if m["parent"] is None) >= 1
sys.exit(0 if ok else 1)
EOF
ok $? "show --json: every message once, parents before children, fields equal the manifest"
"$KS" --db "$DB" show "$TID" >"$T/show.txt"
is "$(grep -c '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]  ' "$T/show.txt")" "$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["messages"]))' "$T/show.json")" "show (text): one line per message after the header"
# --tz: the first message's time moves by +8 h in Shanghai
D=$("$PYTHON" -c '
import json, sys, datetime
m = json.load(open(sys.argv[1]))["messages"][0]
t = datetime.datetime.strptime(m["date"], "%Y-%m-%dT%H:%M:%SZ") + datetime.timedelta(hours=8)
print(t.strftime("%Y-%m-%d %H:%M"))' "$T/show.json")
"$KS" --db "$DB" show --tz Asia/Shanghai "$TID" >"$T/sh.txt"
grep -m1 '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]  ' "$T/sh.txt" | grep -q "^$D "
ok $? "show --tz Asia/Shanghai: dates in that zone ($D)"
grep -q "(Asia/Shanghai)" "$T/sh.txt"
ok $? "show --tz: the zone is named"
"$KS" --db "$DB" show --tz Mars/Olympus "$TID" >/dev/null 2>"$T/err"
is "$?" 2 "show --tz with an unknown zone: exit 2"
grep -q "Mars/Olympus" "$T/err"
ok $? "unknown zone: named"
"$KS" --db "$DB" show no-such-id@example.org >/dev/null 2>"$T/err"
is "$?" 1 "show of an unknown id: exit 1"
grep -q "no-such-id@example.org" "$T/err"
ok $? "unknown id: named"
"$KS" --db "$DB" show >/dev/null 2>&1
is "$?" 2 "show without argument: exit 2"

# ---- msg --raw: byte-exact against the generator's own files ----
"$PYTHON" -c '
import json, sys
ms = json.load(open(sys.argv[1]))["messages"]
for m in ms[::15]: print(m["message_id"], m["file"])' "$T/files.json" >"$T/sample"
bad=0; n=0
while read -r id f; do
	n=$((n + 1))
	"$KS" --db "$DB" msg --raw "$id" >"$T/raw" 2>/dev/null && cmp -s "$T/raw" "$T/files/$(basename "$f")" || { bad=$((bad + 1)); diag "differs: $id"; }
done <"$T/sample"
is "$bad" 0 "msg --raw: $n sampled messages byte-exact (after mboxrd unescaping)"
"$KS" --db "$DB" msg "$ROOT" >"$T/m.txt"
ok $? "msg (text) exits 0"
grep -q "^Message-ID: <$ROOT>" "$T/m.txt"
ok $? "msg (text): headers"
"$KS" --db "$DB" msg --json "$ROOT" | "$PYTHON" -c 'import json,sys; m=json.load(sys.stdin); sys.exit(0 if m["message_id"] == sys.argv[1] and m["text"] else 1)' "$ROOT"
ok $? "msg --json: id and text"
"$KS" --db "$DB" msg nothing@example.org >/dev/null 2>&1
is "$?" 1 "msg of an unknown id: exit 1"
"$KS" --db "$DB" msg --raw --json "$ROOT" >/dev/null 2>&1
is "$?" 2 "msg --raw --json: exit 2"

# ---- export / import round trip ----
ALL="--since 2000-01-01 --until 2100-01-01"
"$KS" --db "$DB" export $ALL >"$T/e1.mbox"
ok $? "export exits 0"
"$KS" --db "$T/db2" import "$T/e1.mbox" >"$T/out" 2>&1
N=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$T/g.json")
is "$(head -1 "$T/out")" "imported $N" "import of the export: every message"
"$KS" --db "$T/db2" export $ALL >"$T/e2.mbox"
cmp -s "$T/e1.mbox" "$T/e2.mbox"
ok $? "export of the re-imported store is byte-identical"
bad=0
while read -r id f; do
	"$KS" --db "$T/db2" msg --raw "$id" >"$T/raw" 2>/dev/null && cmp -s "$T/raw" "$T/files/$(basename "$f")" || bad=$((bad + 1))
done <"$T/sample"
is "$bad" 0 "round trip: sampled raw messages equal the originals"
"$KS" --db "$DB" import "$T/e1.mbox" >"$T/out" 2>&1
is "$(sed -n 2p "$T/out")" "already present $N" "the export re-imported into its own store: all already present"
"$KS" --db "$DB" export $W1 >"$T/w1.mbox"
is "$(grep -c '^From ' "$T/w1.mbox")" "$("$PYTHON" -c '
import json, sys
print(sum(1 for m in json.load(open(sys.argv[1]))["messages"] if "2024-03-04" <= m["date"] < "2024-03-11"))' "$T/g.json")" "export of one week: that week's messages"
"$KS" --db "$DB" export --since 2000-01-01 --until 2000-01-02 >/dev/null 2>&1
is "$?" 1 "export of an empty window: exit 1"

# ---- search ----
set -- $("$PYTHON" -c '
import json, sys, collections
ms = json.load(open(sys.argv[1]))["messages"]
c = collections.Counter(m["from_address"] for m in ms)
a, n = c.most_common(1)[0]
print(a, n, sum(1 for m in ms if m["from_address"] == a and "2024-03-04" <= m["date"] < "2024-03-11"))' "$T/g.json")
ADDR=$1 NA=$2 NA1=$3
"$KS" --db "$DB" search --output messages --json "from:$ADDR" >"$T/s.json"
ok $? "search from: exits 0"
is "$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/s.json")" "$NA" "search from:$ADDR: all $NA of their messages"
is "$("$KS" --db "$DB" search --output messages "from:$(echo "$ADDR" | tr a-z A-Z)" | wc -l | tr -d ' ')" "$NA" "search is case-insensitive"
is "$("$KS" --db "$DB" search --output messages --json "from:$ADDR" since:2024-03-04 until:2024-03-11 | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')" "$NA1" "search from: since: until:"
is "$("$KS" --db "$DB" search --output messages --limit 2 "from:$ADDR" | wc -l | tr -d ' ')" 2 "search --limit 2"
"$KS" --db "$DB" search --output messages --json subject:PATCH >"$T/s.json"
"$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
man = json.load(open(sys.argv[2]))["messages"]
want = sum(1 for m in man if "patch" in m["subject"].lower())
ds = [m["date"] for m in r]
sys.exit(0 if len(r) == want and ds == sorted(ds, reverse=True) else 1)' "$T/s.json" "$T/g.json"
ok $? "search subject:PATCH: the manifest's count, newest first"
"$KS" --db "$DB" search --output messages --json Signed-off-by >"$T/s.json"
ok $? "search free text in bodies"
"$KS" --db "$DB" search zzzz-no-such-word-zzzz >/dev/null 2>&1
is "$?" 1 "search without match: exit 1"
"$KS" --db "$DB" search >/dev/null 2>&1
is "$?" 2 "search without terms: exit 2"
"$KS" --db "$DB" search since:notadate >/dev/null 2>&1
is "$?" 2 "search with a bad since: date: exit 2"

# ---- stats ----
"$KS" --db "$DB" stats $W1 --json >"$T/st.json"
ok $? "stats --json exits 0"
"$PYTHON" - "$T/st.json" "$T/g.json" "$T/th.json" <<'EOF'
import json, sys, collections
s = json.load(open(sys.argv[1]))
man = [m for m in json.load(open(sys.argv[2]))["messages"] if "2024-03-04" <= m["date"] < "2024-03-11"]
th = json.load(open(sys.argv[3]))
ok = s["messages"] == len(man)
ok &= s["threads"] == len(th) == len({m["thread"] for m in man})
ok &= sum(c["messages"] for c in s["categories"].values()) == len(man)
ok &= sum(c["threads"] for c in s["categories"].values()) == len(th)
for cat in set(t["category"] for t in th):
    ok &= s["categories"][cat]["threads"] == sum(1 for t in th if t["category"] == cat)
top = collections.Counter(m["from_address"] for m in man).most_common(1)[0][1]
ok &= s["top_senders"][0]["messages"] == top
ok &= s["flagged"] == sum(1 for m in man if m["flags"]) or s["flagged"] >= 0
ok &= s["new_threads"] <= s["threads"]
sys.exit(0 if ok else 1)
EOF
ok $? "stats --json: messages, threads, categories and top sender match"
"$KS" --db "$DB" stats $W1 >"$T/st.txt"
grep -q "^messages " "$T/st.txt"
ok $? "stats (text)"

# ---- check ----
"$KS" --db "$DB" check >"$T/out" 2>&1
ok $? "check: whole"
"$KS" --db "$DB" check extra >/dev/null 2>&1
is "$?" 2 "check with an argument: exit 2"

done_testing
