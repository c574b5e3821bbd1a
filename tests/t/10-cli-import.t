#!/bin/sh
# 10-cli-import.t - `kvmarm-store import` end to end through the real
# binary: generated list mail as mboxrd, mboxo, gzip, stdin, maildir and a
# directory of files; counts; idempotent re-import; exit codes; and
# `--help` of every command.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
GEN="$PYTHON $KV_SRC/tests/gen/kvgen.py"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"

$GEN --seed 1 --weeks 2 --format mboxrd --out "$T/g.mbox" --manifest "$T/g.json" --quiet
ok $? "generator wrote two weeks of mail"
N=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$T/g.json")
diag "$N generated messages"

# ---- mboxrd file ----
"$KS" --db "$T/db" import "$T/g.mbox" >"$T/out" 2>"$T/err"
ok $? "import mboxrd exits 0"
is "$(cat "$T/out")" "imported $N
already present 0
skipped 0" "import counts: all $N imported"
is "$(cat "$T/err")" "" "nothing on stderr (not a terminal: no progress)"

"$KS" --db "$T/db" import "$T/g.mbox" >"$T/out" 2>&1
ok $? "re-import exits 0"
is "$(cat "$T/out")" "imported 0
already present $N
skipped 0" "re-import is idempotent: 0 imported, $N already present"

"$KS" --db "$T/db" check >"$T/out" 2>&1
ok $? "check after import: whole"
grep -q "^ok: $N messages" "$T/out"
ok $? "check counts $N messages"

# ---- stdin, gzip ----
gzip -c "$T/g.mbox" >"$T/g.mbox.gz"
"$KS" --db "$T/db-gz" import "$T/g.mbox.gz" >"$T/out" 2>&1
ok $? "import gzip exits 0"
is "$(head -1 "$T/out")" "imported $N" "gzip: all imported"

"$KS" --db "$T/db-stdin" import - <"$T/g.mbox" >"$T/out" 2>&1
is "$(head -1 "$T/out")" "imported $N" "stdin (plain mbox): all imported"
"$KS" --db "$T/db-stdin" import - <"$T/g.mbox.gz" >"$T/out" 2>&1
is "$(sed -n 2p "$T/out")" "already present $N" "stdin (gzip) into the same store: all already present"
cat "$T/g.mbox" | "$KS" --db "$T/db-pipe" import - >"$T/out" 2>&1
is "$(head -1 "$T/out")" "imported $N" "stdin from a pipe: all imported"

# ---- mboxo, maildir, directory of files: the same messages ----
$GEN --seed 1 --weeks 2 --format mboxo --out "$T/g.mboxo" --quiet
"$KS" --db "$T/db-o" import --mbox-format=mboxo "$T/g.mboxo" >"$T/out" 2>&1
ok $? "import mboxo exits 0"
is "$(cat "$T/out")" "imported $N
already present 0
skipped 0" "mboxo with --mbox-format=mboxo: all imported"
# mboxo is lossy for body lines starting ">From " (they come back as
# "From "), so only the messages without such lines are the same bytes
"$KS" --db "$T/db-o" import "$T/g.mbox" >"$T/out" 2>&1
L=$(grep -c '^>>*From ' "$T/g.mbox")
diag "$L escaped From lines in the mboxrd"
is "$(sed -n 3p "$T/out")" "skipped 0" "mboxrd into the mboxo store: nothing skipped"

$GEN --seed 1 --weeks 2 --format maildir --out "$T/md" --quiet
"$KS" --db "$T/db" import "$T/md" >"$T/out" 2>&1
ok $? "import maildir exits 0"
is "$(cat "$T/out")" "imported 0
already present $N
skipped 0" "maildir gives the same messages"

$GEN --seed 1 --weeks 2 --format files --out "$T/files" --quiet
"$KS" --db "$T/db-files" import "$T/files" >"$T/out" 2>&1
ok $? "import directory of files exits 0"
is "$(head -1 "$T/out")" "imported $N" "directory of files: all imported"
one=$(ls "$T/files" | head -1)
"$KS" --db "$T/db-one" import "$T/files/$one" >"$T/out" 2>&1
is "$(head -1 "$T/out")" "imported 1" "a single message file"

# the two stores hold the same message ids
"$KS" --db "$T/db-gz" search --output messages --json --limit 100000 since:2000-01-01 >"$T/a.json"
"$KS" --db "$T/db-files" search --output messages --json --limit 100000 since:2000-01-01 >"$T/b.json"
"$PYTHON" - "$T/a.json" "$T/b.json" "$T/g.json" <<'EOF'
import json, sys
a = sorted(m["message_id"] for m in json.load(open(sys.argv[1])))
b = sorted(m["message_id"] for m in json.load(open(sys.argv[2])))
g = sorted(m["message_id"] for m in json.load(open(sys.argv[3]))["messages"])
sys.exit(0 if a == b == g else 1)
EOF
ok $? "mbox and files stores hold exactly the generator's message ids"

# ---- exit codes and errors ----
"$KS" --db "$T/db" import "$T/nonexistent.mbox" >"$T/out" 2>&1
rc=$?
is "$rc" 3 "missing input: exit 3"
grep -q "nonexistent.mbox" "$T/out"
ok $? "missing input: the error names it"

: >"$T/empty.mbox"
"$KS" --db "$T/db" import "$T/empty.mbox" >"$T/out" 2>"$T/err"
is "$?" 1 "empty input: exit 1 (no mail found)"
grep -q "skipped .*empty.mbox: empty file" "$T/err"
ok $? "empty input: a skip line names the file"

"$KS" --db "$T/db" import >/dev/null 2>&1
is "$?" 2 "import without input: exit 2"
"$KS" --db "$T/db" import --mbox-format=mboxcl "$T/g.mbox" >/dev/null 2>"$T/err"
is "$?" 2 "unknown --mbox-format: exit 2"
grep -q "mboxcl" "$T/err"
ok $? "unknown --mbox-format: named"
"$KS" --db "$T/db" frobnicate >/dev/null 2>"$T/err"
is "$?" 2 "unknown command: exit 2"
grep -q "unknown command 'frobnicate'" "$T/err"
ok $? "unknown command: named"
"$KS" >/dev/null 2>&1
is "$?" 2 "no command: exit 2"
"$KS" --db "$T/no-such-store" threads --since 2024-03-04 --until 2024-03-11 >/dev/null 2>"$T/err"
rc=$?
ok $([ "$rc" -gt 2 ] && echo 0 || echo 1) "query on a missing store: exit > 2 (got $rc)"
grep -q "no-such-store" "$T/err"
ok $? "query on a missing store: the error names the directory"

# ---- --help ----
"$KS" --help >"$T/out"
ok $? "kvmarm-store --help exits 0"
for c in import threads show msg search stats export check parse-only; do
	grep -q "^  $c " "$T/out"
	ok $? "--help lists $c"
	"$KS" $c --help >"$T/h" 2>&1
	ok $? "$c --help exits 0"
	grep -q "^usage: kvmarm-store $c" "$T/h"
	ok $? "$c --help prints its usage"
done
"$KS" threads --bogus >/dev/null 2>&1
is "$?" 2 "unknown option: exit 2"

# ---- parse-only (benchmark aid) ----
"$KS" parse-only "$T/g.mbox" >"$T/out" 2>&1
ok $? "parse-only exits 0"
grep -q "^parsed $N messages" "$T/out"
ok $? "parse-only parses every message"

done_testing
