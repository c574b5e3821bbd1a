#!/bin/sh
# 13-import-full.t - import onto a full disk (issue 14 item 9): the import
# stops at the first store failure with the real reason (ENOSPC, also when
# LMDB reports a short write as EIO) and counts what it stored and what it
# did not ("not stored", never "skipped": nothing was wrong with the mail).
# The full disk is a private tmpfs of a few MB (small_fs, as root).
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
GEN="$PYTHON $KV_SRC/tests/gen/kvgen.py"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"
small_fs "$T/fs" 3m

$GEN --seed 1 --weeks 8 --format mboxrd --out "$T/g.mbox" --manifest "$T/g.json" --quiet
ok $? "generator wrote eight weeks of mail (more than 3 MB)"
N=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$T/g.json")

# ---- the data files fill the disk ----
"$KS" --db "$T/fs/db" import "$T/g.mbox" >"$T/out" 2>"$T/err"
is "$?" 3 "import onto a full disk exits 3 (the store failed)"
grep -q "the store failed, import stopped at .*: No space left on device" "$T/err"
ok $? "the reason is the disk being full"
grep -q "Input/output error" "$T/err"; ok $((!$?)) "no 'Input/output error'"
grep -q "skipped" "$T/err"; ok $((!$?)) "no mail called skipped"
IMP=$(sed -n 's/^imported //p' "$T/out")
NOT=$(sed -n 's/^not stored //p' "$T/out")
is "$(sed -n 's/^skipped //p' "$T/out")" 0 "skipped 0"
ok $([ "${NOT:-0}" -gt 0 ] && [ "$IMP" -gt 0 ] && [ $((IMP + NOT)) -le "$N" ]; echo $?) \
	"stored $IMP, not stored $NOT of $N"
grep -q "stored $IMP, not stored $NOT" "$T/err"; ok $? "stderr counts: stored $IMP, not stored $NOT"
"$KS" --db "$T/fs/db" check >"$T/out" 2>&1
ok $? "check: the store is whole"
grep -q "^ok: $IMP messages" "$T/out"; ok $? "check counts the $IMP stored messages"

# ---- LMDB's short write (EIO) when the data files still fit ----
rm -rf "$T/fs/db"
mail() { # mail TAG: one small list mail as an mbox
	printf 'From a@example.org Mon Jan  1 00:00:00 2024\nFrom: A <a@example.org>\nTo: kvmarm@lists.linux.dev\nSubject: note %s\nMessage-ID: <note-%s@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nList-Id: <kvmarm.lists.linux.dev>\n\nnote %s\n' "$1" "$1" "$1"
}
head -c 1000000 "$T/g.mbox" | sed '$d' >"$T/g1.mbox"
"$KS" --db "$T/fs/db" import "$T/g1.mbox" >/dev/null 2>&1
mail a >"$T/a.mbox"; "$KS" --db "$T/fs/db" import "$T/a.mbox" >/dev/null 2>&1
M0=$("$KS" --db "$T/fs/db" check 2>&1 | sed -n 's/^ok: \([0-9]*\) messages.*/\1/p')
# two free pages: the data files' tails fit in their last pages, LMDB's
# pages do not all fit, and its write comes up short
head -c 8192 /dev/zero >"$T/fs/keep"
dd if=/dev/zero of="$T/fs/fill" bs=4k >/dev/null 2>&1
dd if=/dev/zero of="$T/fs/fill2" bs=1 >/dev/null 2>&1
rm -f "$T/fs/keep"
mail b >"$T/b.mbox"
"$KS" --db "$T/fs/db" import "$T/b.mbox" >"$T/out" 2>"$T/err"
is "$?" 3 "short write: import exits 3"
grep -q "No space left on device" "$T/err"; ok $? "short write: reported as no space left"
sed 's/reported a short write as "Input\/output error"//' "$T/err" | grep -q "Input/output error"
ok $((!$?)) "short write: EIO named only as what LMDB said"
is "$(tail -1 "$T/out")" "not stored 1" "short write: not stored 1"
[ -s "$T/err" ] && diag "$(cat "$T/err")"
rm -f "$T/fs/fill" "$T/fs/fill2"
"$KS" --db "$T/fs/db" check >"$T/out" 2>&1
ok $? "short write: check: whole"
grep -q "^ok: $M0 messages" "$T/out"; ok $? "short write: still $M0 messages"
"$KS" --db "$T/fs/db" import "$T/b.mbox" >"$T/out" 2>&1
is "$(head -1 "$T/out")" "imported 1" "space freed: the same import stores it"
done_testing
