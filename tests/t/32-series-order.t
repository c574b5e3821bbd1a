#!/bin/sh
# 32-series-order.t - series linking does not depend on arrival order, on
# real list mail (issue 14 item 10, issue 12 section 2): the dev corpus is
# imported in four orders (as archived, reversed, two fixed shuffles) and
# the series partition (which thread roots are versions of one series,
# from `threads --json`) must be the same every time. Ids may differ; the
# grouping may not. Skips cleanly when the corpus is absent.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
[ -f "$CORPUS" ] || skip_all "corpus not found at $CORPUS"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"

# the orders, written as mboxrd files under $T (removed with it)
"$PYTHON" - "$CORPUS" "$T" <<'PY'
import gzip, random, re, sys
data = gzip.open(sys.argv[1], "rb").read()
# keep each "From " separator with its message
parts = re.split(rb"(?m)^(?=From [^\n]*\n)", data)
msgs = [p if p.endswith(b"\n") else p + b"\n" for p in parts if p.strip()]
orders = {"reversed": msgs[::-1]}
for seed in (1, 2):
    m = list(msgs)
    random.Random(seed).shuffle(m)
    orders["shuffle%d" % seed] = m
for name, m in orders.items():
    open("%s/%s.mbox" % (sys.argv[2], name), "wb").write(b"".join(m))
PY
ok $? "wrote the corpus in three more orders"

partition() {
	"$KS" --db "$1" threads --since 2020-01-01 --until 2022-01-01 --json > "$1.json" &&
	"$PYTHON" - "$1.json" <<'PY'
import json, sys
groups = set()
for t in json.load(open(sys.argv[1])):
    s = t.get("series")
    if s:
        groups.add(" ".join(sorted(v["message_id"] for v in s["versions"])))
for g in sorted(groups):
    print(g)
PY
}

"$KS" --db "$T/db.archived" import "$CORPUS" > /dev/null 2>&1
ok $? "import as archived"
partition "$T/db.archived" > "$T/p.archived"
ok $? "series partition as archived"
n=$(wc -l < "$T/p.archived")
ok "$([ "$n" -gt 20 ]; echo $?)" "as archived: $n series"
for o in reversed shuffle1 shuffle2; do
	"$KS" --db "$T/db.$o" import "$T/$o.mbox" > /dev/null 2>&1
	ok $? "import $o"
	"$KS" --db "$T/db.$o" check > /dev/null 2>&1
	ok $? "check $o"
	partition "$T/db.$o" > "$T/p.$o"
	if cmp -s "$T/p.archived" "$T/p.$o"; then
		ok 0 "$o: same series partition ($(wc -l < "$T/p.$o") series)"
	else
		ok 1 "$o: same series partition"
		diff "$T/p.archived" "$T/p.$o" | head -20 | sed 's/^/# /'
	fi
done
done_testing
