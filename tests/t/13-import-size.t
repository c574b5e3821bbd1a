#!/bin/sh
# 13-import-size.t - the per-message size cap on import (issue 14 item 7):
# [store] import_max_message_size (0: the milter's max_message_size) skips
# a bigger mail with a line naming it, and the reader never holds it: a
# gzip bomb of 0.5 MB that inflates to one 500 MB mail (one line, no
# newline: tests/tools/gzip-bomb.py) is skipped, the mail after it is
# imported, and the import's peak RSS stays far below 500 MB.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"

"$PYTHON" "$KV_SRC/tests/tools/gzip-bomb.py" --one-line --mb 500 "$T/bomb.mbox.gz"
ok $? "gzip bomb written ($(($(stat -c %s "$T/bomb.mbox.gz") / 1024)) KB)"

# ---- the default limit: the milter's 64 MB ----
if [ -x /usr/bin/time ]; then
	/usr/bin/time -v "$KS" --db "$T/db" import "$T/bomb.mbox.gz" >"$T/out" 2>"$T/err"
	rc=$?
	RSS=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/err")
	diag "peak RSS importing the bomb: ${RSS:-?} KB"
	ok $([ -n "$RSS" ] && [ "$RSS" -lt 204800 ]; echo $?) "peak RSS under 200 MB (${RSS:-?} KB)"
else
	"$KS" --db "$T/db" import "$T/bomb.mbox.gz" >"$T/out" 2>"$T/err"
	rc=$?
	skip "/usr/bin/time missing: peak RSS not measured"
fi
is "$rc" 0 "import exits 0"
is "$(cat "$T/out")" "imported 1
already present 0
skipped 1" "the bomb is skipped, the mail after it imported"
grep -q "skipped $T/bomb.mbox.gz: message 1 (line 1): too big: 524288[0-9]* bytes, over the import limit of 67108864 (\[store\] import_max_message_size)" "$T/err"
ok $? "the skip line names the file, the message and the limit"
"$KS" --db "$T/db" check >"$T/out" 2>&1
grep -q "^ok: 1 messages" "$T/out"; ok $? "check: one message stored"
"$KS" --db "$T/db" msg "<after-the-bomb@example.org>" >/dev/null 2>&1
ok $? "the stored one is the reply after the bomb"
"$KS" --db "$T/db" msg "<gzip-bomb@example.org>" >/dev/null 2>&1
is "$?" 1 "the bomb is not stored"

# ---- a configured limit; files and mbox; the milter's limit when 0 ----
mail() { # mail ID BODYBYTES
	printf 'From: A <a@example.org>\nTo: kvmarm@lists.linux.dev\nSubject: size %s\nMessage-ID: <%s@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nList-Id: <kvmarm.lists.linux.dev>\n\n' "$1" "$1"
	head -c "$2" /dev/zero | tr '\0' 'x' | fold -w 70
	echo
}
mkdir -p "$T/files"
mail small 1000 >"$T/files/1"
mail big 20000 >"$T/files/2"
printf '[store]\nimport_max_message_size = 10000\n' >"$T/c10k.conf"
"$KS" --config "$T/c10k.conf" --db "$T/db2" import "$T/files" >"$T/out" 2>"$T/err"
is "$(head -3 "$T/out" | tr '\n' ' ')" "imported 1 already present 0 skipped 1 " \
	"import_max_message_size = 10000: the 20 KB file skipped"
grep -q "skipped $T/files/2: too big: 20[0-9]* bytes, over the import limit of 10000" "$T/err"
ok $? "the skip line names the file"
printf '[store]\nimport_max_message_size = 0\n[milter]\nmax_message_size = 5000\n' >"$T/c0.conf"
"$KS" --config "$T/c0.conf" --db "$T/db3" import "$T/files" >"$T/out" 2>"$T/err"
is "$(head -3 "$T/out" | tr '\n' ' ')" "imported 1 already present 0 skipped 1 " \
	"0: the milter's max_message_size (5000) applies"
printf '[store]\nimport_max_message_size = -1\n' >"$T/bad.conf"
"$KS" --config "$T/bad.conf" --db "$T/db4" import "$T/files" >"$T/out" 2>"$T/err"
is "$?" 3 "a negative limit is refused"
grep -q "bad.conf:2.*import_max_message_size" "$T/err"; ok $? "the error names FILE:LINE and the key"
done_testing
