#!/bin/sh
# 11-corpus.t - threading on real list mail. When the development corpus
# (1,341 kvmarm mails, 2021-W04..W11) is present: import it, and for each
# of its 8 UTC ISO weeks the partition of that week's messages into threads
# from `threads --json` must equal, exactly, the connected components of the
# whole corpus's Message-ID / In-Reply-To / References graph restricted to
# the week's messages (computed independently here with Python's stdlib).
# Skips cleanly when the corpus is absent.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
[ -f "$CORPUS" ] || skip_all "corpus not found at $CORPUS"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"

"$KS" --db "$T/db" import "$CORPUS" >"$T/out" 2>"$T/err"
ok $? "import of the corpus exits 0"
is "$(cat "$T/out")" "imported 1341
already present 0
skipped 0" "all 1,341 mails imported"
is "$(grep -v '^kvmarm-store import: note: ' "$T/err")" "" "no skip lines"
is "$(grep -c 'no phrase pairs yet; run `kvmarm-store reindex`' "$T/err")" 1 \
	"a first import of an archive says to build the phrase pairs"
"$KS" --db "$T/db" check >/dev/null 2>&1
ok $? "check: whole"

# The reference partition, from the raw mbox, independently of our parser.
"$PYTHON" - "$CORPUS" "$T/weeks.json" <<'EOF'
import gzip, json, re, sys, email, email.policy, email.utils, datetime
data = gzip.open(sys.argv[1], "rb").read()
# mboxrd: every body line starting "From " is escaped, so each such line
# at the start of a line is a separator
parts = re.split(rb"(?m)^From [^\n]*\n", data)
msgs = [p for p in parts if p.strip()]
parent = {}
def find(x):
    while parent.setdefault(x, x) != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x
def union(a, b):
    ra, rb = find(a), find(b)
    if ra != rb:
        parent[ra] = rb
ids_re = re.compile(r"<([^<>\s]+)>")
def ids_of(v):
    return ids_re.findall(str(v)) if v else []
recs = []
for raw in msgs:
    m = email.message_from_bytes(raw, policy=email.policy.compat32)
    mid = ids_of(m["Message-ID"])
    mid = mid[0] if mid else str(m["Message-ID"]).strip().strip("<>")
    d = email.utils.parsedate_to_datetime(str(m["Date"])).astimezone(datetime.timezone.utc)
    find(mid)
    for r in ids_of(m["In-Reply-To"]) + ids_of(m["References"]):
        union(mid, r)
    recs.append((mid, d))
weeks = []
start = datetime.datetime(2021, 1, 25, tzinfo=datetime.timezone.utc)
for w in range(8):
    lo, hi = start + datetime.timedelta(weeks=w), start + datetime.timedelta(weeks=w + 1)
    comp = {}
    for mid, d in recs:
        if lo <= d < hi:
            comp.setdefault(find(mid), []).append(mid)
    weeks.append({"since": lo.strftime("%Y-%m-%d"), "until": hi.strftime("%Y-%m-%d"),
                  "week": "2021-W%02d" % (4 + w), "threads": sorted(sorted(c) for c in comp.values())})
json.dump({"messages": len(recs), "components": len({find(m) for m, _ in recs}), "weeks": weeks},
          open(sys.argv[2], "w"))
EOF
ok $? "reference components computed from the raw mbox"

for w in 0 1 2 3 4 5 6 7; do
	set -- $("$PYTHON" -c 'import json,sys; w=json.load(open(sys.argv[1]))["weeks"][int(sys.argv[2])]; print(w["since"], w["until"], w["week"])' "$T/weeks.json" $w)
	"$KS" --db "$T/db" threads --since "$1" --until "$2" --json >"$T/th.json"
	"$PYTHON" - "$T/th.json" "$T/weeks.json" $w <<'EOF' >"$T/diff"
import json, sys
got = sorted(sorted(t["message_ids"]) for t in json.load(open(sys.argv[1])))
want = json.load(open(sys.argv[2]))["weeks"][int(sys.argv[3])]["threads"]
if got != want:
    g, w = {tuple(x) for x in got}, {tuple(x) for x in want}
    for x in sorted(g - w)[:3]: print("only in threads --json:", list(x)[:4])
    for x in sorted(w - g)[:3]: print("only in the reference:", list(x)[:4])
    sys.exit(1)
print("%d messages in %d threads" % (sum(map(len, got)), len(got)))
EOF
	ok $? "$3 ($1 .. $2): partition equals the reference components: $(head -1 "$T/diff")"
	[ -s "$T/diff" ] && sed 's/^/# /' "$T/diff" | tail -n +2
done

is "$("$KS" --db "$T/db" stats --since 2021-01-25 --until 2021-03-22 --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["threads"])')" \
   "$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["components"])' "$T/weeks.json")" \
   "threads over the 8 weeks = connected components of the corpus"

done_testing
