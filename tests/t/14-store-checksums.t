#!/bin/sh
# 14-store-checksums.t - `kvmarm-store check` sees corruption (issue 14
# item 5): each message's index entry carries CRC-32s of its raw bytes,
# its body text and its record. 40 random flipped bytes (XOR with a
# non-zero value: the stored bytes always change) anywhere in raw.dat, 40
# in the body-text copies and 40 anywhere in rec.dat of a generated store:
# check must catch every one (tests/tools/store-flips.py). Before the
# checksums (seed 7): 33, 0 and 12 of 40. check --quick leaves out raw.dat.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
GEN="$PYTHON $KV_SRC/tests/gen/kvgen.py"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"

$GEN --seed 3 --weeks 1 --format mboxrd --out "$T/g.mbox" --manifest "$T/g.json" --quiet
N=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$T/g.json")
"$KS" --db "$T/db" import "$T/g.mbox" >/dev/null 2>&1
ok $? "imported $N generated messages"
"$KS" --db "$T/db" check >"$T/out" 2>&1
ok $? "check: whole"
grep -q "^checksums: $N verified, 0 stored without$" "$T/out"
ok $? "check verifies the checksums of all $N"
"$KS" --db "$T/db" check --quick >"$T/out" 2>&1
ok $? "check --quick: whole"
grep -q "^checksums: $N verified (records only: --quick), 0 stored without$" "$T/out"
ok $? "check --quick says what it left out"

mkdir -p "$T/scratch"
"$PYTHON" "$KV_SRC/tests/tools/store-flips.py" --ks "$KS" --db "$T/db" --scratch "$T/scratch" \
	--flips 40 --seed 7 >"$T/flips" 2>&1
ok $? "40 flips in each region, check run on each copy"
sed 's/^/# /' "$T/flips"
for region in raw body rec; do
	is "$(grep "^$region " "$T/flips")" "$region caught 40 of 40" "every flip in $region caught"
done
"$KS" --db "$T/db" check >/dev/null 2>&1; ok $? "the original store is still whole"
done_testing
