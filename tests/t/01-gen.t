#!/bin/sh
# tests/t/01-gen.t - the mail generator (tests/gen/kvgen.py) that the
# other tests, the demo and the benchmarks use: deterministic output, the
# requested volume, mail that parses, List-Id only on list mail, mboxrd
# escaping that round-trips, the shapes of real list traffic, the digest
# scenario's items and the bad-input files.
. "$(dirname "$0")/../lib/tap.sh"

GEN="$PYTHON $KV_SRC/tests/gen/kvgen.py"
CHK="$PYTHON $KV_SRC/tests/gen/kvgen_check.py"

$GEN --help >"$T/help" 2>&1; ok $? "--help exits 0"
grep -q -- '--scenario' "$T/help" && grep -q -- '--non-list' "$T/help"
ok $? "--help documents the options"

# determinism
$GEN --seed 7 --weeks 2 --out "$T/a.mbox" --quiet
$GEN --seed 7 --weeks 2 --out "$T/b.mbox" --quiet
cmp -s "$T/a.mbox" "$T/b.mbox"; ok $? "same seed, same bytes (mboxrd)"
PYTHONHASHSEED=12345 $GEN --seed 7 --weeks 2 --out "$T/h.mbox" --quiet
cmp -s "$T/a.mbox" "$T/h.mbox"; ok $? "output does not depend on Python's hash seed"
$GEN --seed 7 --weeks 2 --out "$T/j.mbox" --jobs 2 --quiet
cmp -s "$T/a.mbox" "$T/j.mbox"; ok $? "--jobs 2 writes the same bytes"
$GEN --seed 8 --weeks 2 --out "$T/c.mbox" --quiet
cmp -s "$T/a.mbox" "$T/c.mbox"; [ $? -ne 0 ]; ok $? "different seed, different bytes"
$GEN --seed 7 --weeks 1 --format maildir --out "$T/md1" --quiet
$GEN --seed 7 --weeks 1 --format maildir --out "$T/md2" --quiet
diff -r "$T/md1" "$T/md2" >/dev/null; ok $? "same seed, same maildir"
n_cur=$(ls "$T/md1/cur" | wc -l); n_new=$(ls "$T/md1/new" | wc -l)
[ "$n_cur" -gt 0 ] && [ "$n_new" -gt 0 ] && [ -d "$T/md1/tmp" ]
ok $? "maildir has cur/ ($n_cur) and new/ ($n_new) and tmp/"
$GEN --seed 7 --weeks 1 --format mboxrd --out "$T/w1.mbox" --quiet
[ $((n_cur + n_new)) -eq "$($CHK count "$T/w1.mbox" 0 1000000 | sed -n 's/^# \([0-9]*\) messages.*/\1/p')" ]
ok $? "maildir and mbox hold the same number of mails"

# volume
$CHK count "$T/a.mbox" 300 600; ok $? "two default weeks: 150..300 mails a week"
$GEN --seed 3 --weeks 4 --messages 1000 --out "$T/n.mbox" --quiet
$CHK count "$T/n.mbox" 950 1050; ok $? "--messages 1000 gives about 1000"

# every mail parses; List-Id exactly on list mail; threads
$GEN --seed 11 --weeks 6 --non-list 25 --out "$T/f.mbox" --manifest "$T/f.json" --quiet
$CHK parse "$T/f.mbox" "$T/f.json"; ok $? "every mail parses with List-Id except the --non-list ones"
$CHK threads "$T/f.mbox" "$T/f.json"; ok $? "manifest threads are the connected components"
$CHK features "$T/f.mbox"; ok $? "six weeks of traffic have every shape issue 2 lists"
"$PYTHON" - "$T/f.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
nl = [e for e in m['messages'] if not e['list']]
sys.exit(0 if len(nl) == 25 and m['count'] == len(m['messages']) else 1)
PY
ok $? "manifest marks the 25 non-list mails"
$GEN --seed 11 --weeks 1 --list-id kvm.vger.kernel.org --out "$T/l.mbox" --quiet
grep -q '^List-Id: <kvm.vger.kernel.org>' "$T/l.mbox" && ! grep -q 'kvmarm.lists.linux.dev' "$T/l.mbox"
ok $? "--list-id changes the List-Id"

# mbox escaping
$GEN --seed 11 --weeks 6 --non-list 25 --format files --out "$T/files" --quiet
$CHK roundtrip "$T/f.mbox" "$T/files"; ok $? "mboxrd unescapes to the exact files, From lines included"
$GEN --seed 11 --weeks 6 --format mboxo --out "$T/o.mbox" --quiet
$CHK mboxo "$T/o.mbox"; ok $? "mboxo escapes only ^From "
$GEN --seed 11 --weeks 1 --out - --quiet >"$T/stdout.mbox"
$GEN --seed 11 --weeks 1 --out "$T/file.mbox" --quiet
cmp -s "$T/stdout.mbox" "$T/file.mbox"; ok $? "--out - writes the same mbox to stdout"

# start options
$GEN --seed 1 --start 2021-W04 --weeks 1 --out "$T/s1.mbox" --manifest "$T/s1.json" --quiet
$GEN --seed 1 --start-date 2021-01-25 --weeks 1 --out "$T/s2.mbox" --quiet
cmp -s "$T/s1.mbox" "$T/s2.mbox"; ok $? "--start 2021-W04 equals --start-date 2021-01-25"
"$PYTHON" - "$T/s1.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if all('2021-01-25' <= e['date'] < '2021-02-01' for e in m['messages']) else 1)
PY
ok $? "all dates inside the window"

# digest scenario
$GEN --seed 1 --scenario digest --out "$T/d.mbox" --manifest "$T/d.json" --quiet
$CHK digest "$T/d.mbox" "$T/d.json"; ok $? "digest manifest has every scenario item, consistent with the mail"
$CHK parse "$T/d.mbox" "$T/d.json"; ok $? "digest mails parse"
# tests/golden/digest-2024-W10.* were made from these bytes: a change here
# needs new golden files (KV_UPDATE_GOLDEN=1 tests/t/30-reporter-golden.t)
is "$(sha256sum <"$T/d.mbox" | cut -d' ' -f1)" "09aa94743bdfb18a762892579b5609ca176d959518bc4e8f9993ef4f26ffe004" "digest scenario bytes unchanged (seed 1)"
$GEN --seed 1 --scenario digest --out "$T/d2.mbox" 2>"$T/d2.err"
grep -q 'edge_local_sunday' "$T/d2.err"; ok $? "digest prints a manifest to stderr without --manifest"

"$PYTHON" - "$T/d.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
t = m['threads'][m['messages'][[e['message_id'] for e in m['messages']].index(m['items']['old_root_thread']['root'])]['thread']]
sys.exit(0 if (t['messages'], t['in_utc_week']) == (3, 2) else 1)
PY
ok $? "digest thread summary: old root thread has 3 mails, 2 in the week"
$GEN --weeks 0 --out "$T/x.mbox" 2>/dev/null; is "$?" 2 "--weeks 0 is a usage error (exit 2)"

# bad scenario
$GEN --scenario bad --out "$T/bad" --quiet
$CHK bad "$T/bad"; ok $? "bad scenario writes every case"

# speed: a number, never a failure
s=$(date +%s)
$GEN --seed 5 --weeks 8 --messages 10000 --size 8000 --out "$T/speed.mbox" --quiet
e=$(date +%s)
diag "10000 messages ($(wc -c <"$T/speed.mbox") bytes) in $((e - s)) s"

done_testing
