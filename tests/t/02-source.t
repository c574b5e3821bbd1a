#!/bin/sh
# 02-source.t - the checks `make check` runs on the source itself, each
# shown to catch what it is for on a small scratch tree (folder layering,
# include cycles, oversized files, banned.h placement and its fixer), and
# banned.h under Debian's hardening flags: it compiles with
# -D_FORTIFY_SOURCE=2 wherever it is included, and still turns a banned
# call into a compile error naming the function.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

CS="$PYTHON $KV_SRC/tests/lib/check_source.py"
CC=${CC:-cc}

# --- banned.h and glibc's fortified headers -------------------------------
fortify() { "$CC" -D_GNU_SOURCE -O2 -D_FORTIFY_SOURCE=2 -I"$KV_SRC/store" -c -o "$T/probe.o" "$1" 2>"$T/cc.err"; }

cat >"$T/after.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "banned.h"
int probe(char *b, size_t n) { return snprintf(b, n, "%d", 1); }
EOF
fortify "$T/after.c"
ok $? "banned.h after the system headers compiles with -D_FORTIFY_SOURCE=2"

# A project header included after banned.h may pull in a system header:
# banned.h has set their include guards, so the macros never reach them.
cat >"$T/before.c" <<'EOF'
#include "banned.h"
#include <stdio.h>
#include <string.h>
#include <time.h>
int probe(char *b, size_t n) { return snprintf(b, n, "%d", 1); }
EOF
fortify "$T/before.c"
ok $? "banned.h before the system headers compiles with -D_FORTIFY_SOURCE=2 too"
[ -s "$T/cc.err" ] && sed 's/^/# /' "$T/cc.err" | head -5

for call in 'sprintf(b, "%d", 1)' 'strcpy(b, "x")' 'gmtime(&t) != 0' 'localtime(&t) != 0'; do
	fn=${call%%(*}
	cat >"$T/use.c" <<EOF
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "banned.h"
int probe(char *b) { time_t t = 0; (void)t; return (int)($call); }
EOF
	if fortify "$T/use.c"; then rc=1
	else grep -q "sorry_${fn}_is_a_banned_function" "$T/cc.err"; rc=$?
	fi
	ok $rc "a call to $fn does not compile and the error names it"
done

# --- a scratch tree for the checks ----------------------------------------
S="$T/src"
mkdir -p "$S/store/cli" "$S/milter" "$S/reporter"
cd "$S" || exit 1
cat >store/kv.h <<'EOF'
/* kv.h */
#include <stddef.h>
EOF
cat >store/db.c <<'EOF'
/* db.c */
#include <string.h>
#include "kv.h"
EOF
cat >store/cli/main.c <<'EOF'
/* main.c */
#include <stdio.h>
#include "kv.h"
EOF
cat >reporter/digest.h <<'EOF'
#include "kv.h"
EOF
cat >reporter/digest.c <<'EOF'
#include <stdio.h>
#include "digest.h"
EOF
cat >milter/writer.h <<'EOF'
#include "kv.h"
EOF
cat >milter/writer.c <<'EOF'
#include <stdio.h>
#include "writer.h"
EOF

$CS layering >"$T/out"
ok $? "layering: a tree that keeps to its folders passes"

echo '#include "digest.h"' >>store/db.c
echo '#include "../milter/writer.h"' >>reporter/digest.c
$CS layering >"$T/out"
ok $((! $?)) "layering: store/ including reporter/ and reporter/ including milter/ fail"
grep -q '^store/db.c:4: includes reporter/digest.h: store/ may include only store/$' "$T/out"
ok $? "layering: names the store file, the line and the header"
grep -q '^reporter/digest.c:3: includes milter/writer.h: reporter/ may include only reporter/ and store/$' "$T/out"
ok $? "layering: names the reporter file reaching into milter/"
sed -i '$d' store/db.c
sed -i '$d' reporter/digest.c

$CS cycles >"$T/out"
ok $? "cycles: no cycle, no complaint"
# a private header (no .c of its own) that includes its module's public one
echo '#include "digest.h"' >reporter/digest_int.h
echo '#include "digest_int.h"' >>reporter/digest.c
$CS cycles >"$T/out"
ok $? "cycles: a module's private header including its public header is no cycle"
cat >reporter/facts.h <<'EOF'
#include "digest.h"
EOF
echo '#include "facts.h"' >reporter/facts.c
echo '#include "facts.h"' >>reporter/digest.c
$CS cycles >"$T/out"
ok $((! $?)) "cycles: digest.c -> facts.h -> digest.h is a cycle"
grep -q '^include cycle between reporter/digest, reporter/facts: ' "$T/out"
ok $? "cycles: names both modules"
$CS cycles --exempt reporter/digest --exempt reporter/facts >"$T/out" 2>"$T/err"
ok $? "cycles: a cycle whose modules are all exempt passes"
rm reporter/facts.h reporter/facts.c reporter/digest_int.h
sed -i '$d' reporter/digest.c
sed -i '$d' reporter/digest.c

i=0; : >milter/big.c
while [ $i -lt 901 ]; do echo "int v$i;" >>milter/big.c; i=$((i + 1)); done
$CS size >"$T/out"
ok $((! $?)) "size: a 901-line .c without a reason fails"
grep -q '^milter/big.c: 901 lines' "$T/out"
ok $? "size: names the file and its length"
$CS size --max 1000 >/dev/null
ok $? "size: --max moves the limit"
{ printf '/*\n * big.c - a table.\n * size: one table that reads best whole.\n */\n'; cat milter/big.c; } >"$T/big" && mv "$T/big" milter/big.c
$CS size >"$T/out"
ok $? "size: a 'size:' line in the header comment is the written reason"
rm milter/big.c

$CS banned >"$T/out"
ok $((! $?)) "banned: files without banned.h fail"
is "$(wc -l <"$T/out" | tr -d ' ')" 4 "banned: every library and program .c is named (store, store/cli, milter, reporter)"
sh "$KV_SRC/tests/lib/add-banned-include.sh" "$S" >/dev/null
ok $? "add-banned-include.sh runs"
$CS banned >"$T/out"
ok $? "banned: passes after add-banned-include.sh"
is "$(sed -n 3p reporter/digest.c)" '#include "banned.h"' "add-banned-include.sh puts it after the last #include"
cp -r "$S" "$T/again"
sh "$KV_SRC/tests/lib/add-banned-include.sh" "$S" >/dev/null
diff -r "$S" "$T/again" >/dev/null
ok $? "add-banned-include.sh is idempotent"
printf '#include "banned.h"\n#include <stdio.h>\n' >milter/late.c
$CS banned >"$T/out"
ok $((! $?)) "banned: banned.h before a system header fails"
grep -q '^milter/late.c:1: #include "banned.h" comes before a system header (line 2)$' "$T/out"
ok $? "banned: says which lines"

# --- the real tree's header dependencies ----------------------------------
D="$KV_BUILD/obj"
if [ -f "$D/store/cli/main.d" ] && [ -f "$D/store/db.d" ]; then
	grep -q 'store/cli/cli\.h' "$D/store/cli/main.d"
	ok $? "generated dependencies: the CLI's objects depend on store/cli/cli.h"
	! grep -q 'cli\.h\|reporter/' "$D/store/db.d"
	ok $? "generated dependencies: store objects depend on neither cli.h nor reporter/"
else
	skip "no .d files under $D (built by another Makefile?)"
fi

done_testing
