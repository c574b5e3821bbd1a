#!/bin/sh
# 33-reporter-asof.t - a week's digest is a function of the mail dated
# before its end (issue 12 section 3): build a week from a store holding
# only the mail up to that week's end, then from a store that also holds
# the following weeks (later versions, later replies, later "applied"):
# the digests (JSON, Markdown, HTML) are byte-identical apart from the
# generation time. On generated traffic (kvgen.py, several versions of a
# series over weeks) always; on the dev corpus when it is present.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
KR="$KV_BUILD/kvmarm-reporter"
GEN="$KV_SRC/tests/gen/kvgen.py"
printf '[reporter]\ntimezone = UTC\nlanguage = en\n' > "$T/conf"

# split MBOX into $2.before (mail dated before UNTIL) and $2.all
split_at() {
	"$PYTHON" - "$1" "$2" "$3" <<'PY'
import gzip, re, sys, email, email.policy, email.utils, datetime
src, out, until = sys.argv[1], sys.argv[2], sys.argv[3]
data = gzip.open(src, "rb").read() if src.endswith(".gz") else open(src, "rb").read()
parts = [p for p in re.split(rb"(?m)^(?=From [^\n]*\n)", data) if p.strip()]
lim = datetime.datetime.fromisoformat(until.replace("Z", "+00:00"))
before, every = [], []
for p in parts:
    m = email.message_from_bytes(p, policy=email.policy.compat32)
    try:
        d = email.utils.parsedate_to_datetime(str(m["Date"]))
    except (TypeError, ValueError):
        continue    # no usable Date: the store would date it otherwise; leave it out
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    every.append(p)
    if d < lim:
        before.append(p)
open(out + ".before", "wb").write(b"".join(before))
open(out + ".all", "wb").write(b"".join(every))
print(len(before), len(every))
PY
}

# digest of WEEK from store DB into directory OUT, all three formats
digest() {
	mkdir -p "$3"
	KVMARM_NOW=2030-01-01T00:00:00Z "$KR" --config "$T/conf" --db "$1" --once --week "$2" \
		--no-send --format json,md,html --output "$3" > /dev/null 2> "$3.err"
}

# compare every file of two digest directories, the generation time aside
same_digest() {
	n=0
	for f in "$1"/*; do
		b=$(basename "$f")
		sed -e 's/"generated": *"[^"]*"/"generated": ""/' -e '/[Gg]enerated/d' "$f" > "$f.cmp"
		sed -e 's/"generated": *"[^"]*"/"generated": ""/' -e '/[Gg]enerated/d' "$2/$b" > "$2/$b.cmp" 2>/dev/null || return 1
		cmp -s "$f.cmp" "$2/$b.cmp" || { diff "$f.cmp" "$2/$b.cmp" | head -20 | sed 's/^/# /'; return 1; }
		rm -f "$f.cmp" "$2/$b.cmp"
		n=$((n + 1))
	done
	[ "$n" -ge 3 ]
}

asof() {  # NAME MBOX WEEK UNTIL
	set -- "$@" "$(split_at "$2" "$T/$1" "$4")"
	ok $? "$1: split at $4 ($5 of all)"
	"$KS" --db "$T/$1.db1" import "$T/$1.before" > /dev/null 2>&1
	ok $? "$1: imported the mail before $4"
	digest "$T/$1.db1" "$3" "$T/$1.d1"
	ok $? "$1: digest $3 from the mail before its end"
	"$KS" --db "$T/$1.db2" import "$T/$1.all" > /dev/null 2>&1
	ok $? "$1: imported the following weeks too"
	digest "$T/$1.db2" "$3" "$T/$1.d2"
	ok $? "$1: digest $3 rebuilt after the following weeks"
	same_digest "$T/$1.d1" "$T/$1.d2"
	ok $? "$1: $3 rebuilt is byte-identical apart from the generation time"
}

"$PYTHON" "$GEN" --seed 7 --start 2024-W10 --weeks 4 --out "$T/gen.mbox" --quiet
ok $? "generated four weeks of traffic"
asof gen "$T/gen.mbox" 2024-W11 2024-03-18T00:00:00Z

if [ -f "$CORPUS" ]; then
	asof corpus "$CORPUS" 2021-W05 2021-02-08T00:00:00Z
	asof corpus9 "$CORPUS" 2021-W09 2021-03-08T00:00:00Z
else
	diag "dev corpus not present ($CORPUS): the corpus half is skipped"
fi
done_testing
