#!/bin/sh
# 15-cli-import-helper.t - kvmarm-store starts without gmime and GLib
# (issue 15: process start was most of a query's time) and still imports:
# its NEEDED names neither (nor GIO/GObject), and `kvmarm-store import` and
# `parse-only` run kvmarm-store-import with the same command line, with
# the same output and exit codes as that program run directly, from the
# build tree and from a `make install DESTDIR=... PREFIX=/usr` tree run in
# place; --help and unknown options need no import program; a missing or
# unrunnable import program is an error (exit 3) naming its paths.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
KI="$KV_BUILD/kvmarm-store-import"
GEN="$PYTHON $KV_SRC/tests/gen/kvgen.py"
[ -x "$KS" ] && [ -x "$KI" ] || skip_all "kvmarm-store or kvmarm-store-import not built in $KV_BUILD"
command -v readelf > /dev/null || skip_all "readelf (binutils) is not installed"

# --- what each program loads ---
readelf -d "$KS" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' > "$T/needed"
diag "kvmarm-store NEEDED: $(tr '\n' ' ' < "$T/needed")"
ok $(! grep -q -e '^libgmime' -e '^libglib' -e '^libgio' -e '^libgobject' "$T/needed"; echo $?) \
	"kvmarm-store needs no libgmime, libglib, libgio, libgobject"
# LMDB is there, shared or (where liblmdb.a is: the Makefile's
# STORE_STATIC) linked in; the check reads the real list and symbols
if grep -q '^liblmdb' "$T/needed"; then
	ok 0 "kvmarm-store needs liblmdb (the check reads the real list)"
else
	nm "$KS" 2>/dev/null | grep -q ' T mdb_env_open$'
	ok $? "kvmarm-store has LMDB linked in (mdb_env_open defined), not needed from liblmdb"
fi
readelf -d "$KI" | grep -q 'NEEDED.*libgmime'
ok $? "kvmarm-store-import needs libgmime (the parser is there)"

$GEN --seed 3 --weeks 1 --format mboxrd --out "$T/g.mbox" --manifest "$T/g.json" --quiet
ok $? "generator wrote a week of mail"
N=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$T/g.json")

# run PROG ARGS...: stdout, stderr and the exit code into $T/o, $T/e, $RC
run() { "$@" > "$T/o" 2> "$T/e"; RC=$?; }

# --- the build tree: through kvmarm-store == the import program itself ---
run "$KS" --db "$T/db-a" import "$T/g.mbox"
is "$RC $(cat "$T/o")" "0 imported $N
already present 0
skipped 0" "build tree: kvmarm-store import imports all $N"
cp "$T/o" "$T/o-a"
run "$KI" --db "$T/db-b" import "$T/g.mbox"
ok $(cmp -s "$T/o" "$T/o-a"; echo $?) "build tree: the same output as kvmarm-store-import run directly"
run "$KS" --db "$T/db-a" search -- "m:$(sed -n 's/^Message-I[Dd]: *<\(.*\)>.*/\1/p' "$T/g.mbox" | head -1)"
is "$RC" 0 "build tree: the imported mail is found by search"
run "$KS" --db "$T/db-a" import "$T/g.mbox"
is "$RC $(sed -n 2p "$T/o")" "0 already present $N" "build tree: import again: all already present"
printf 'not a mail\n' > "$T/junk"
run "$KS" --db "$T/db-a" import "$T/junk"
RC_A=$RC; cp "$T/o" "$T/o-a"; cp "$T/e" "$T/e-a"
run "$KI" --db "$T/db-a" import "$T/junk"
is "$RC_A" 1 "build tree: input without mail: exit 1"
ok $([ "$RC" = "$RC_A" ] && cmp -s "$T/o" "$T/o-a" && cmp -s "$T/e" "$T/e-a"; echo $?) \
	"build tree: the same exit code, stdout and stderr as kvmarm-store-import"
run "$KS" --db "$T/db-a" import "$T/no-such-file"
is "$RC" 3 "build tree: an input that cannot be opened: exit 3"
grep -q "no-such-file" "$T/e"
ok $? "build tree: ... naming it"
run "$KS" parse-only --jobs 1 "$T/g.mbox"
ok $([ "$RC" = 0 ] && grep -q "^parsed $N messages" "$T/o"; echo $?) "build tree: parse-only parses all $N"

# --- a DESTDIR install, run where it lies ---
D=$T/dest
make -s -C "$KV_SRC" install BUILD="$KV_BUILD" DESTDIR="$D" PREFIX=/usr > "$T/install.log" 2>&1
ok $? "make install DESTDIR=$D PREFIX=/usr" || sed 's/^/#   /' "$T/install.log"
IH=$D/usr/lib/kvmarm-digest/kvmarm-store-import
[ -x "$IH" ]; ok $? "installed usr/lib/kvmarm-digest/kvmarm-store-import"
[ ! -e "$D/usr/bin/kvmarm-store-import" ]; ok $? "not in usr/bin (not a command of its own)"
run "$D/usr/bin/kvmarm-store" --db "$T/db-d" import "$T/g.mbox"
is "$RC $(cat "$T/o")" "0 imported $N
already present 0
skipped 0" "install tree: kvmarm-store import imports all $N"
run "$D/usr/bin/kvmarm-store" --db "$T/db-d" check
is "$RC" 0 "install tree: check of that store passes"

# the option table is kvmarm-store's own too: no import program needed
mv "$IH" "$T/kept-helper"
run "$D/usr/bin/kvmarm-store" import --help
ok $([ "$RC" = 0 ] && grep -q '^usage: kvmarm-store import' "$T/o"; echo $?) \
	"import --help without the import program"
run "$D/usr/bin/kvmarm-store" --db "$T/db-d" import --bogus "$T/g.mbox"
ok $([ "$RC" = 2 ] && grep -q "unknown option '--bogus'" "$T/e"; echo $?) \
	"import with an unknown option: usage error (exit 2) without the import program"
if [ -e /usr/lib/kvmarm-digest/kvmarm-store-import ]; then
	skip "/usr/lib/kvmarm-digest/kvmarm-store-import is installed on this system (the last fallback)"
	skip "(same)"
else
	run "$D/usr/bin/kvmarm-store" --db "$T/db-e" import "$T/g.mbox"
	is "$RC" 3 "install tree without the import program: exit 3"
	grep -q "kvmarm-store import: the import program kvmarm-store-import is missing.*$IH" "$T/e"
	ok $? "... the error names the import program's path" || sed 's/^/#   /' "$T/e"
fi
[ ! -e "$T/db-e" ]; ok $? "... and creates no store"
cp "$T/kept-helper" "$IH" && chmod 644 "$IH"
run "$D/usr/bin/kvmarm-store" --db "$T/db-e" import "$T/g.mbox"
ok $([ "$RC" = 3 ] && grep -q "cannot run the import program $IH: Permission denied" "$T/e"; echo $?) \
	"an import program that cannot be run: exit 3 naming it and why" || sed 's/^/#   /' "$T/e"
done_testing
