#!/bin/sh
# 10-cli-import-many.t - `kvmarm-store import` of several inputs in one
# command, and of maildirs with sub-folders as mail programs lay them out:
# a Maildir++ tree (Dovecot, Courier, offlineimap: ".Name" folders with a
# maildirfolder file, dovecot state files at the root) and nested maildirs
# (mutt, notmuch: folders as plain directories, a .notmuch database
# beside them). Every mail of every folder is imported, state files are
# passed over without a "skipped" line, and the counts are exact.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"
# gen SEED COUNT FORMAT OUT: COUNT messages of a seed of their own (the
# seeds give distinct Message-IDs)
gen() {
	"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed "$1" --messages "$2" --format "$3" --out "$4" --quiet
}
# imp DB INPUT...: sets RC, OUT (stdout), ERR (stderr)
imp() {
	db=$1
	shift
	"$KS" --db "$db" import "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}
counts() { printf 'imported %s\nalready present %s\nskipped %s' "$1" "$2" "$3"; }

# ---- a Maildir++ tree: 6 + 7 + 8 + 9 mails in four folders ----
M="$T/maildirpp"
gen 11 6 maildir "$M" &&
gen 12 7 maildir "$M/.Lists.kvmarm" &&
gen 13 8 maildir "$M/.Sent" &&
gen 14 9 maildir "$M/.Lists.kvmarm.old"
ok $? "generator wrote a Maildir++ tree: the root and three .folders"
for f in .Lists.kvmarm .Sent .Lists.kvmarm.old; do : >"$M/$f/maildirfolder"; done
printf '3 V1 N1\n' >"$M/dovecot-uidlist"
printf 'Lists.kvmarm\nSent\n' >"$M/subscriptions"
: >"$M/dovecot.index.log"
mkdir "$M/.notmuch" && printf 'not mail\n' >"$M/.notmuch/junk"
imp "$T/db-pp" "$M"
is "$RC/$OUT" "0/$(counts 30 0 0)" "Maildir++: all 30 mails of the four folders imported"
is "$ERR" "" "Maildir++: state files (dovecot-uidlist, subscriptions, maildirfolder, .notmuch) pass without a line"
"$KS" --db "$T/db-pp" check >/dev/null 2>&1
ok $? "Maildir++: the store is whole"

# ---- nested maildirs: folders as plain directories, a maildir inside a maildir ----
N="$T/nested"
gen 21 5 maildir "$N/INBOX" &&
gen 22 6 maildir "$N/INBOX/archive" &&
gen 23 7 maildir "$N/lists/kvmarm" &&
gen 24 4 maildir "$N/lists/kvmarm/2023"
ok $? "generator wrote nested maildirs: INBOX, INBOX/archive, lists/kvmarm, lists/kvmarm/2023"
mkdir -p "$N/.notmuch/xapian" && printf 'not mail\n' >"$N/.notmuch/xapian/flintlock"
imp "$T/db-nest" "$N"
is "$RC/$OUT" "0/$(counts 22 0 0)" "nested: all 22 mails imported"
is "$ERR" "" "nested: nothing skipped, .notmuch left alone"
imp "$T/db-nest2" "$N/INBOX"
is "$RC/$OUT" "0/$(counts 11 0 0)" "a maildir given directly takes the maildir nested in it too (5 + 6)"
# a file that is neither state nor mail at the top of a maildir is still named
printf 'hello\n' >"$N/INBOX/notes.txt"
imp "$T/db-nest3" "$N/INBOX"
is "$RC/$(echo "$OUT" | tail -1)" "0/skipped 1" "an unknown file at a maildir's top is counted as skipped"
echo "$ERR" | grep -q "skipped .*INBOX/notes.txt: not in cur/ or new/ of a maildir"
ok $? "... with a line naming it"
rm "$N/INBOX/notes.txt"

# ---- several inputs in one command ----
gen 31 10 mboxrd "$T/a.mbox" &&
gen 32 12 mboxrd "$T/b.mbox" && gzip "$T/b.mbox" &&
gen 33 3 files "$T/files"
ok $? "generator wrote an mbox, a gzip'd mbox and a directory of files"
imp "$T/db-many" "$T/a.mbox" "$T/b.mbox.gz" "$T/files" "$M"
is "$RC/$OUT" "0/$(counts 55 0 0)" "import a.mbox b.mbox.gz files/ maildir/: one count over all inputs (10 + 12 + 3 + 30)"
imp "$T/db-many" "$T/a.mbox" "$N"
is "$RC/$OUT" "0/$(counts 22 10 0)" "several inputs again: the known ones already present, the new ones imported"
"$KS" --db "$T/db-many" check >"$T/out" 2>&1
grep -q "^ok: 77 messages" "$T/out"
ok $? "the store holds 77 messages and is whole"
gen 34 2 mboxrd "$T/c.mbox"
imp "$T/db-stdin" "$T/a.mbox" - <"$T/c.mbox"
is "$RC/$OUT" "0/$(counts 12 0 0)" "a file and '-' (stdin) together"

# ---- errors ----
imp "$T/db-err" "$T/a.mbox" "$T/no-such.mbox"
is "$RC" 3 "a missing input among several: exit 3"
echo "$ERR" | grep -q "no-such.mbox"
ok $? "... naming it"
[ ! -e "$T/db-err" ]
ok $? "... and nothing is imported (every input is opened first)"
imp "$T/db-err" - -
is "$RC" 2 "'-' twice: exit 2"
imp "$T/db-empty" "$T/.notmuch-only" 2>/dev/null
is "$RC" 3 "a missing single input: exit 3"

done_testing
