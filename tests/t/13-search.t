#!/bin/sh
# 13-search.t - `kvmarm-store search` and its query language: every
# construct parses, every malformed query is a usage error (exit 2) naming
# its token, the output forms (threads, messages, ids, mbox, --json,
# --limit/--offset), and the results of random queries against a
# brute-force matcher written here in Python over the generated mails
# (its own MIME decoding, tokenising and evaluation; not the store's code).
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"
GEN="$PYTHON $KV_SRC/tests/gen/kvgen.py"
$GEN --seed 13 --weeks 3 --messages 500 --format mboxrd --out "$T/g.mbox" --manifest "$T/g.json" --quiet
ok $? "generator wrote 500 mails over three weeks"
DB="$T/db"
"$KS" --db "$DB" import "$T/g.mbox" >/dev/null 2>&1
ok $? "imported"
"$KS" --db "$DB" check >/dev/null
ok $? "check: the word index agrees with the messages"

# ---- malformed queries: exit 2, the message names the token ----
bad() { # QUERY WANT-IN-STDERR
	"$KS" --db "$DB" search -- "$1" >/dev/null 2>"$T/err"
	rc=$?
	if [ "$rc" = 2 ] && grep -qF -- "$2" "$T/err"; then ok 0 "bad query [$1]: exit 2, names $2"
	else ok 1 "bad query [$1]: exit $rc: $(head -1 "$T/err")"; fi
}
bad 's:"vgic its' 'unbalanced quote'
bad 'vgic "dirty ring' '"dirty ring'
bad '(vgic OR its' "'(' without ')'"
bad 'vgic)' "')' without '('"
bad 's:' "empty value after 's:'"
bad 'dfn:' "empty value after 'dfn:'"
bad 'zz:foo' "unknown prefix 'zz:'"
bad 'd:2024-13-45' "bad date '2024-13-45'"
bad 'd:yesterdayish..' "bad date"
bad 'd:3.fortnights.ago..' "3.fortnights.ago"
bad 'since:soon' "bad date 'soon'"
bad 'OR vgic' "'OR' needs a term before it"
bad 'vgic OR' "'OR' needs a term after it"
bad 'vgic AND' "'AND' needs a term after it"
bad 'NOT' "'NOT' needs a term after it"
bad '()' "empty parentheses at character 1 of '()'"
bad 's:(vgic' "unbalanced parenthesis: '(' without ')' at character 3 of 's:(vgic'"
bad 'f:(maz OR its' "'(' without ')' at character 3"
bad 's:(vgic OR its)' "'s:' cannot apply to a parenthesis at character 3"
bad 'vgic (' "'(' without ')' at character 6 of 'vgic ('"
bad '(s:vgic OR s:its' "'(' without ')' at character 1 of '(s:vgic OR s:its'"
bad 'vgic (its OR (pmu)' "'(' without ')' at character 6"
bad 's:vgic)' "')' without '(' at character 7 of 's:vgic)'"
bad '(vgic) its)' "')' without '(' at character 11"
bad 'b:""' "empty value after 'b:'"
bad 'vgic d:' "empty value after 'd:'"
bad 'd:2024-03-01..bad' "bad date '2024-03-01..bad'"
bad 'd:..' "bad date '..'"
bad 'dirty"ring' "unbalanced quote in 'dirty\"ring'"
bad 'vgic - its' "no word to search for in '-'"
bad 's:+++' "no word to search for in 's:+++'"

# ---- every construct parses (exit 0 or 1, nothing on stderr) ----
good() {
	"$KS" --db "$DB" search --output ids -- "$1" >/dev/null 2>"$T/err"
	rc=$?
	if [ "$rc" -le 1 ] && [ ! -s "$T/err" ]; then ok 0 "query [$1] parses (exit $rc)"
	else ok 1 "query [$1]: exit $rc: $(head -1 "$T/err")"; fi
}
for q in 'vgic' 's:vgic' 'subject:vgic' 'f:maz' 'from:maz' 't:kvmarm' 'c:linux' 'tc:kvmarm' \
	'a:kernel.org' 'b:migration' 'nq:migration' 'q:migration' 'bs:vgic' 'd:20240304..20240310' \
	'd:2024-03-04..' 'd:..2024-03-10' 'd:2024-03-05' 'd:2.weeks.ago..' 'd:1.year.ago..now' \
	'since:2024-03-04' 'until:2024-03-10' 'list:kvmarm' 'l:kvmarm' 'm:nosuch@id' 'dfn:arch/arm64/kvm/' \
	'dfn:vgic' 'dfhh:kvm_vgic_init' 'tr:kernel.org' '"dirty ring"' 's:"KVM: arm64"' 'vg*' 'dfn:arch/arm64/*' \
	'vgic its' 'vgic AND its' 'vgic OR its' 'vgic NOT its' 'vgic -its' 'NOT vgic' '-vgic' \
	'(s:vgic OR s:pmu) -s:Re' '(s:vgic OR s:"(its)")' '*' 'kvm_vgic_init' 'CONFIG_ARM64_SME' '中文'; do
	good "$q"
done

# ---- tokenising: identifiers, CJK, case, addresses, paths ----
DB3="$T/db3"
cat >"$T/tok.eml" <<'EOF'
From: Ann Example <Ann.Example@Example.org>
To: kvmarm@lists.linux.dev
Cc: Bob Builder <bob@example.net>
Subject: =?UTF-8?B?5Lit5paH5rWL6K+VIHZnaWM=?=
Date: Mon, 04 Mar 2024 10:00:00 +0000
Message-ID: <tok-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Calling kvm_vgic_init twice breaks CONFIG_ARM64_SME guests.
虚拟机迁移失败

> quoted during review

Reviewed-by: Carol Reviewer <carol@example.com>

diff --git a/arch/arm64/kvm/vgic/vgic-init.c b/arch/arm64/kvm/vgic/vgic-init.c
--- a/arch/arm64/kvm/vgic/vgic-init.c
+++ b/arch/arm64/kvm/vgic/vgic-init.c
@@ -10,3 +10,4 @@ int kvm_vgic_create(struct kvm *kvm, u32 type)
 	int ret;
+	ret = 0;
EOF
"$KS" --db "$DB3" import "$T/tok.eml" >/dev/null 2>&1
ok $? "a hand-written mail imported"
hit() { # QUERY: must find tok-1
	if [ "$("$KS" --db "$DB3" search --output ids -- "$1" 2>&1)" = "tok-1@example.org" ]; then ok 0 "[$1] finds it"
	else ok 1 "[$1] does not find it"; fi
}
miss() {
	"$KS" --db "$DB3" search --output ids -- "$1" >/dev/null 2>&1
	is "$?" 1 "[$1] does not match"
}
hit 'kvm_vgic_init'; hit 'vgic'; hit 'b:init'; hit 'CONFIG_ARM64_SME'; hit 'sme'; hit 'config_arm64_sme'
hit 's:中文'; hit 's:文测'; hit '迁移'; hit '"迁移失败"'; miss '"失败迁移"'
hit 'f:ann.example@example.org'; hit 'f:ANN'; hit 'c:bob@example.net'; hit 'a:bob'; hit 't:kvmarm'
hit 'q:during'; miss 'nq:during'; miss 'b:ring'; hit 'tr:carol@example.com'; hit 'tr:reviewer'
hit 'dfn:arch/arm64/kvm/'; hit 'dfn:arch/arm64/kvm/vgic/vgic-init.c'; hit 'dfn:vgic-init.c'; miss 'dfn:arch/x86'
hit 'dfhh:kvm_vgic_create'; hit 'm:tok-1@example.org'; hit 'm:<tok-1@example.org>'; hit 'd:20240304'
miss 'd:20240305'; hit 'd:2024-03-01..2024-03-04'; miss '"kvm vgic init"'; hit '"calling kvm_vgic_init twice"'

# ---- phrases: where the first word stands (query.c looks at those
# places only): case, separators, a word inside a longer one, a character
# of several bytes before it, underscores, a long gap, a later place ----
DB4="$T/db4"
phr() { # ID BODY-LINE
	printf 'From ann@example.org Mon Mar  4 10:00:00 2024\nFrom: Ann <ann@example.org>\nTo: kvmarm@lists.linux.dev\nSubject: phrase case %s\nDate: Mon, 04 Mar 2024 10:00:00 +0000\nMessage-ID: <%s@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n\n' "$1" "$1" "$2"
}
gap=$(printf '%700s' '')
{
	phr p-case 'a DIRTY	Ring here'
	phr p-far "dirty${gap}ring"
	phr p-inword 'xdirty ring; the ring is dirty.'
	phr p-utf8word 'édirty ring, then dirty.'
	phr p-utf8sep '—dirty ring'
	phr p-cjk '中dirty ring'
	phr p-underscore 'dirty_ring is dirty and a ring'
	phr p-later 'dirty road, dirty, then a dirty ring'
	phr p-order 'ring dirty'
} >"$T/phr.mbox"
"$KS" --db "$DB4" import "$T/phr.mbox" >/dev/null 2>&1
ok $? "phrase mails imported"
is "$("$KS" --db "$DB4" search --output ids -- '"dirty ring"' | sort | tr '\n' ' ')" \
	"p-case@example.org p-cjk@example.org p-far@example.org p-later@example.org p-utf8sep@example.org " \
	'"dirty ring": only where the words stand in this order as words'
is "$("$KS" --db "$DB4" search --output ids -- 'b:"ring is dirty"' | tr '\n' ' ')" "p-inword@example.org " \
	'b:"ring is dirty": a phrase later in the text'

# ---- phrases in bodies, against a brute-force tokeniser written here
# (index.c's rules: ASCII and other letters, folding, CJK bigrams, words
# over 64 bytes dropped) over mails made of tricky pieces: line breaks
# and quoted lines inside a phrase (nq: and q: join their own lines),
# indented quotes, separators of several bytes, a letter or CJK before
# the word, identifiers, long gaps and over-long words between words ----
DB5="$T/db5"
"$PYTHON" - "$T/phr2.mbox" "$T/phr2.want" <<'EOF'
import random, sys
out, wantf = sys.argv[1:3]

def is_cjk(o):
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or
            0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2FA1F)

def is_wordc(o):
    if o < 0x80:
        return chr(o).isalnum() or o == 0x5F
    if o <= 0xBF or o in (0xD7, 0xF7, 0xFFFD):
        return False
    for a, b in ((0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE30, 0xFE4F), (0xFF00, 0xFF20),
                 (0xFF3B, 0xFF40), (0xFF5B, 0xFF65), (0x1F000, 0x1FAFF)):
        if a <= o <= b:
            return False
    return not is_cjk(o)

def fold(o):
    if 0x41 <= o <= 0x5A or (0xC0 <= o <= 0xDE and o != 0xD7) or 0x391 <= o <= 0x3A9 or 0x410 <= o <= 0x42F:
        return o + 32
    if 0x400 <= o <= 0x40F:
        return o + 80
    return o

def tokens(s):
    out, word, prev, run = [], "", None, 0
    for ch in s + "\0":
        o = ord(ch)
        if o and is_wordc(o):
            word += chr(fold(o))
        else:
            if word and len(word.encode()) <= 64:
                out.append(word)
            word = ""
        if o and is_cjk(o):
            if prev:
                out.append(prev + ch)
            run = run + 1 if prev else 1
            prev = ch
        else:
            if prev and run == 1:
                out.append(prev)
            prev, run = None, 0
    return out

def has(text, ph):
    t = tokens(text)
    return any(t[i:i + len(ph)] == ph for i in range(len(t) - len(ph) + 1))

def quoted(l):
    i = 0
    while i < len(l) and i < 4 and l[i] in " \t":
        i += 1
    return i < len(l) and l[i] == ">"

pieces = ["dirty ring", "Dirty\tRING", "DIRTY", "dirty", "ring", "Ring", "\n", "\n", "\n> ", "\n> ",
          "\n    > ", "\n     > ", "\n\t> ", "\n>> ", "\u2014", "\u00e9", "\u4e2d", "\u4e2d\u6587", "\u00ab",
          "\u00bb", "\u00a0", "reviewed-by:", "Reviewed-By", "REVIEWED", "by", "reviewed_by", "xdirty",
          "ringx", "dirty_ring", "x" * 70, "looks good", "LOOKS  good", "looks", "good", "-", ", ", ". ",
          " " * 300, "\n> " * 40, "ring dirty", "the", "a"]
rnd = random.Random(1315)
phrases = ["dirty ring", "reviewed by", "looks good", "ring dirty", "dirty ring dirty", "by dirty",
           "the dirty ring", "good dirty", "\u4e2d\u6587 dirty"]
mails = []
with open(out, "w", encoding="utf-8") as f:
    for n in range(120):
        body = "".join(rnd.choice(pieces) + rnd.choice(["", " ", " ", "\n"]) for _ in range(rnd.randrange(2, 30)))
        mid = "ph2-%d@example.org" % n
        f.write("From ann@example.org Mon Mar  4 10:00:00 2024\nFrom: Ann <ann@example.org>\n"
                "To: kvmarm@lists.linux.dev\nSubject: tricky %d\nDate: Mon, 04 Mar 2024 10:00:00 +0000\n"
                "Message-ID: <%s>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: 8bit\n\n" % (n, mid))
        for l in body.split("\n"):
            f.write((">" + l if l.startswith("From ") else l) + "\n")
        f.write("\n")
        lines = body.split("\n")
        mails.append((mid, "\n".join(l for l in lines if not quoted(l)), "\n".join(l for l in lines if quoted(l))))
with open(wantf, "w", encoding="utf-8") as w:
    for ph in phrases:
        pt = tokens(ph)
        for pre, fields in (("", "bq"), ("b:", "bq"), ("nq:", "b"), ("q:", "q")):
            hits = sorted(mid for mid, b, q in mails if any(has({"b": b, "q": q}[f], pt) for f in fields))
            w.write('%s"%s"\t%s\n' % (pre, ph, " ".join(hits)))
EOF
ok $? "tricky phrase mails written"
"$KS" --db "$DB5" import "$T/phr2.mbox" >/dev/null 2>&1
ok $? "tricky phrase mails imported"
# the same queries answered from the text, then from the phrase pairs
# that reindex builds (store/pairs.c)
phrase_queries() {
	nbad=0; nhit=0
	while IFS='	' read -r q want; do
		got=$("$KS" --db "$DB5" search --output ids -- "$q" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
		[ -n "$want" ] && nhit=$((nhit + 1))
		if [ "$got" != "$want" ]; then
			nbad=$((nbad + 1))
			diag "phrase $q ($1): want [$want] got [$got]"
		fi
	done <"$T/phr2.want"
	ok $((nbad > 0 || nhit < 20)) "36 phrase queries on tricky mails, $1: the brute force's messages ($nhit with results, $nbad differ)"
}
phrase_queries "no phrase pairs"
"$KS" --db "$DB5" check >"$T/out" 2>&1
is "$?/$(grep -c '^note: no phrase pairs yet' "$T/out")" "0/1" "check notes a store without phrase pairs"
"$KS" --db "$DB5" reindex >"$T/out" 2>&1
is "$?/$(grep -c 'phrase pairs built' "$T/out")" "0/1" "reindex builds the phrase pairs of a store imported without them"
"$KS" --db "$DB5" check >"$T/out" 2>&1
is "$?/$(grep -c '^note:' "$T/out")" "0/0" "check passes with the phrase pairs, and has nothing to note"
phrase_queries "from the phrase pairs"
"$KS" --db "$DB5" reindex >"$T/out" 2>&1
is "$?/$(grep -c 'complete already' "$T/out")" "0/1" "reindex again: the words and the pairs are complete already"
"$KS" --db "$DB5" reindex --phrases --quiet >"$T/out" 2>"$T/err"
is "$?/$(grep -c 'phrase pairs built' "$T/out")/$(wc -c <"$T/err")" "0/1/0" "reindex --phrases builds them again (--quiet: no progress)"
"$KS" --db "$DB5" check >/dev/null 2>&1
ok $? "check passes after reindex --phrases"

# ---- output forms ----
"$KS" --db "$DB" search --output messages --json 'd:2024-03-04..' >"$T/m.json"
ok $? "--output messages --json"
"$KS" --db "$DB" search --output threads --json 'd:2024-03-04..' >"$T/t.json"
ok $? "--output threads --json"
"$PYTHON" - "$T/m.json" "$T/t.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))
ds = [x["date"] for x in m]
assert ds == sorted(ds, reverse=True), "messages newest first"
assert sum(x["matched"] for x in t) == len(m), "threads' matched counts add up to the messages"
assert len({x["thread_id"] for x in t}) == len(t) == len({x["thread_id"] for x in m}), "one line per thread"
td = [x["date"] for x in t]
assert td == sorted(td, reverse=True), "threads newest first"
newest = {}
for x in m:
    newest.setdefault(x["thread_id"], x["date"])
assert all(newest[x["thread_id"]] == x["date"] for x in t), "a thread's date is its newest match"
assert all(x["matched"] <= x["total"] for x in t)
EOF
ok $? "threads: one per thread, newest first, matched counts add up to the messages"
"$KS" --db "$DB" search --output ids 'd:2024-03-04..' >"$T/ids"
"$KS" --db "$DB" search --output ids --limit 5 --offset 3 'd:2024-03-04..' >"$T/ids5"
is "$(sed -n 4,8p "$T/ids")" "$(cat "$T/ids5")" "--limit 5 --offset 3: lines 4-8 of the full list"
"$KS" --db "$DB" search --output ids --json --limit 2 'd:2024-03-04..' | "$PYTHON" -c 'import json,sys; v=json.load(sys.stdin); sys.exit(0 if len(v)==2 and all(isinstance(x,str) for x in v) else 1)'
ok $? "--output ids --json: an array of strings"
"$KS" --db "$DB" search --output mbox 's:vgic' >"$T/r.mbox"
"$PYTHON" - "$T/r.mbox" "$("$KS" --db "$DB" search --output ids 's:vgic' | wc -l)" <<'EOF'
import mailbox, sys
box = mailbox.mbox(sys.argv[1])
n = sum(1 for _ in box)
sys.exit(0 if n == int(sys.argv[2]) and n > 0 else 1)
EOF
ok $? "--output mbox: Python's mailbox reads as many messages as the ids"
DB2="$T/db2"
"$KS" --db "$DB2" import "$T/r.mbox" >/dev/null 2>&1
is "$("$KS" --db "$DB2" search --output ids '*' | sort)" "$("$KS" --db "$DB" search --output ids 's:vgic' | sort)" "--output mbox imports back to the same messages"
"$KS" --db "$DB" search --output bogus vgic >/dev/null 2>"$T/err"
is "$?" 2 "--output bogus: usage error"

# ---- a store from before the index (schema 1): reindex ----
if command -v mdb_dump >/dev/null 2>&1 && command -v mdb_load >/dev/null 2>&1; then
	DB1="$T/db1"
	cp -a "$DB" "$DB1" && rm -f "$DB1/lock.mdb"
	# schema_version back to 1: reindex starts by emptying the word index
	mdb_dump -p -s meta "$DB1" | sed '/^ schema_version$/{n;s/^ 3$/ 1/}' >"$T/meta.txt"
	mdb_load -s meta -f "$T/meta.txt" "$DB1" 2>/dev/null
	"$KS" --db "$DB1" search --output ids 's:vgic' >/dev/null 2>"$T/err"
	is "$?/$(grep -c 'kvmarm-store reindex' "$T/err")" "3/1" "schema 1 store: search exits 3 and says to run reindex"
	"$KS" --db "$DB1" check >"$T/out" 2>&1
	is "$?/$(grep -c 'run `kvmarm-store reindex`' "$T/out")" "0/1" "schema 1 store: check passes and notes the missing index"
	"$KS" --db "$DB1" import "$T/tok.eml" >/dev/null 2>&1
	ok $? "schema 1 store: mail is still recorded"
	"$KS" --db "$DB1" reindex >"$T/out" 2>"$T/err"
	is "$?/$(grep -c '^reindex: words: .* messages' "$T/err")/$(grep -c '^reindex: phrase pairs: .* messages' "$T/err")" \
		"0/1/1" "reindex: exit 0, progress of both passes on stderr"
	"$KS" --db "$DB1" check >/dev/null
	ok $? "reindex: check passes (every term of every message indexed)"
	is "$("$KS" --db "$DB1" search --output ids '(b:vgic OR dfn:arch/arm64/kvm/) -m:tok-1@example.org' | sort)" "$("$KS" --db "$DB" search --output ids 'b:vgic OR dfn:arch/arm64/kvm/' | sort)" "reindex: the same results as the store indexed on import"
	is "$("$KS" --db "$DB1" search --output ids 'kvm_vgic_init CONFIG_ARM64_SME')" "tok-1@example.org" "reindex: the mail recorded before it is indexed too"
	"$KS" --db "$DB1" reindex >"$T/out" 2>&1
	is "$?/$(grep -c 'complete already' "$T/out")" "0/1" "reindex again: nothing to do"
else
	skip "mdb_dump/mdb_load (lmdb-utils) not installed: no schema 1 store to make"
fi

# ---- the message and thread columns: dense copies for search ----
if command -v mdb_dump >/dev/null 2>&1 && command -v mdb_load >/dev/null 2>&1; then
	# stale(DIR, KEY...): meta KEY (hex) no longer next_num: a column a
	# program without it left behind as it added mail (or a store from
	# before the column)
	stale() {
		d=$1; shift
		cp -a "$DB" "$d" && rm -f "$d/lock.mdb"
		mdb_dump -s meta "$d" >"$T/meta.txt"
		for k in "$@"; do
			grep -q "^ $k\$" "$T/meta.txt" || echo "# meta $k missing"
			sed -i "/^ $k\$/{n;s/.*/ 0000000000000000/}" "$T/meta.txt"
		done
		mdb_load -s meta -f "$T/meta.txt" "$d" 2>/dev/null
	}
	MCOLK=6d636f6c5f76325f6e657874   # mcol_v2_next
	TCOLK=74636f6c5f6e657874         # tcol_next
	DBC="$T/dbc"
	DBT="$T/dbt"
	stale "$DBC" $MCOLK $TCOLK
	stale "$DBT" $TCOLK
	same=0
	# a window from the middle of the mails' dates (threads are grouped
	# from the message column when it is current, from the ordered
	# messages when not)
	mid=$("$KS" --db "$DB" search --output messages --json '*' | "$PYTHON" -c 'import json,sys; d=sorted(m["date"] for m in json.load(sys.stdin)); print(d[len(d)//2][:10])')
	for q in '*' 's:vgic OR b:timer' 'kvm -s:Re' 'b:syzbot'; do
		for o in "--output threads" "--output messages" "--output ids" "--output threads --json" "--output messages --json --limit 9 --offset 3" \
			"--output threads --limit 7 --offset 2" "--output threads --json --since $mid" "--output threads --until $mid" \
			"--output threads --since 2100-01-01"; do
			"$KS" --db "$DB" search $o -- "$q" >"$T/col.a" 2>&1; echo "exit $?" >>"$T/col.a"
			"$KS" --db "$DBC" search $o -- "$q" >"$T/col.b" 2>&1; echo "exit $?" >>"$T/col.b"
			"$KS" --db "$DBT" search $o -- "$q" >"$T/col.c" 2>&1; echo "exit $?" >>"$T/col.c"
			cmp -s "$T/col.a" "$T/col.b" || { same=1; echo "# differs (both stale): $o $q"; }
			cmp -s "$T/col.a" "$T/col.c" || { same=1; echo "# differs (thread column stale): $o $q"; }
		done
	done
	ok $same "stale columns: search from the date, thread and thread tables prints the same, byte for byte, and exits the same (4 queries, 9 output forms, windows mid $mid)"
	"$KS" --db "$DBC" check >/dev/null && "$KS" --db "$DBT" check >/dev/null
	ok $? "stale columns: check passes (the columns are not used)"
	# thread 1's subject changed in the thread column's first chunk
	"$KS" --db "$DBT" import "$T/tok.eml" >/dev/null 2>&1 && "$KS" --db "$DBT" check >/dev/null
	ok $? "a write rebuilds the stale thread column: check passes"
	subj=$("$KS" --db "$DB" search --output threads --json '*' | "$PYTHON" -c 'import json,sys; print(min(json.load(sys.stdin), key=lambda t: t["thread_id"])["subject"])')
	hex=$(printf '%s' "$subj" | od -An -tx1 | tr -d ' \n')
	mdb_dump -s tcol "$DBT" | "$PYTHON" -c '
import sys
lines = sys.stdin.read().split("\n")
i = lines.index(" 0000000000000000") + 1
h = sys.argv[1]
# the line is a space, then two hex digits a byte: a byte starts at odd j
at = [j for j in range(1, len(lines[i]), 2) if lines[i].startswith(h, j)][0]
lines[i] = lines[i][:at] + ("58" if h[:2] != "58" else "59") + lines[i][at + 2:]
sys.stdout.write("\n".join(lines))' "$hex" >"$T/tcol.txt"
	mdb_load -s tcol -f "$T/tcol.txt" "$DBT" 2>/dev/null
	"$KS" --db "$DBT" check >"$T/out" 2>&1
	is "$?/$(grep -c 'broken: thread column: thread 1 differs' "$T/out")" "3/1" "check finds a damaged thread column entry and names the thread"
	"$KS" --db "$DBT" reindex >"$T/out" 2>&1
	is "$?/$(grep -c 'thread columns rebuilt' "$T/out")" "0/1" "reindex rebuilds the thread column"
	"$KS" --db "$DBT" check >/dev/null
	ok $? "... and check passes again"
	"$KS" --db "$DBC" import "$T/tok.eml" >/dev/null 2>&1 && "$KS" --db "$DBC" check >/dev/null
	ok $? "a write rebuilds the stale column: check passes"
	is "$("$KS" --db "$DBC" search --output ids 'kvm_vgic_init CONFIG_ARM64_SME')" "tok-1@example.org" "... and search finds the new mail through it"
	# message 1's thread id changed in the column's first chunk
	mdb_dump -s mcol "$DBC" | "$PYTHON" -c '
import sys
lines = sys.stdin.read().split("\n")
i = lines.index(" 0000000000000000") + 1
v = lines[i]
lines[i] = v[:49] + ("ee" if v[49:51] != "ee" else "dd") + v[51:]
sys.stdout.write("\n".join(lines))' >"$T/mcol.txt"
	mdb_load -s mcol -f "$T/mcol.txt" "$DBC" 2>/dev/null
	"$KS" --db "$DBC" check >"$T/out" 2>&1
	is "$?/$(grep -c 'broken: message column: message 1 has' "$T/out")" "3/1" "check finds a damaged column entry and names the message"
	"$KS" --db "$DBC" reindex >"$T/out" 2>&1
	is "$?/$(grep -c 'message and thread columns rebuilt' "$T/out")" "0/1" "reindex rebuilds the column"
	"$KS" --db "$DBC" check >/dev/null
	ok $? "... and check passes again"
else
	skip "mdb_dump/mdb_load (lmdb-utils) not installed: no stale message column to make"
fi

# ---- compact ----
"$KS" --db "$DB" search --output ids '*' | sort >"$T/all.before"
"$KS" --db "$DB" search --output ids 'b:vgic OR dfn:arch/arm64/kvm/' | sort >"$T/some.before"
before=$(du -cb "$DB/data.mdb" "$DB/raw.dat" "$DB/rec.dat" | tail -1 | cut -f1)
"$KS" --db "$DB" compact >"$T/out" 2>&1
ok $? "compact: $(cat "$T/out")"
after=$(du -cb "$DB/data.mdb" "$DB/raw.dat" "$DB/rec.dat" | tail -1 | cut -f1)
ok $([ "$after" -lt "$before" ] && echo 0 || echo 1) "compact: the store shrank ($before -> $after bytes)"
ok $([ ! -e "$DB.compact" ] && echo 0 || echo 1) "compact: no copy left behind"
"$KS" --db "$DB" check >/dev/null
ok $? "compact: check passes afterwards"
"$KS" --db "$DB" search --output ids '*' | sort >"$T/all.after"
"$KS" --db "$DB" search --output ids 'b:vgic OR dfn:arch/arm64/kvm/' | sort >"$T/some.after"
cmp -s "$T/all.before" "$T/all.after" && cmp -s "$T/some.before" "$T/some.after"
ok $? "compact: the same messages and the same search results"
mkdir "$DB.compact"
"$KS" --db "$DB" compact >/dev/null 2>"$T/err"
is "$?/$(grep -c 'remove it' "$T/err")" "3/1" "compact with a leftover DIR.compact: exit 3, says to remove it"
rmdir "$DB.compact"
"$KS" --db "$DB" check >/dev/null
ok $? "... and the store is left whole"

# ---- results against a brute-force matcher: answered from the text,
# then from the phrase pairs reindex builds ----
brute_force() {
"$PYTHON" - "$T/g.mbox" "$T/g.json" "$KS" "$DB" <<'EOF' >"$T/bf.out" 2>&1
import email, email.policy, email.utils, json, random, re, subprocess, sys
from datetime import datetime, timezone

mbox_path, man_path, ks, db = sys.argv[1:5]
man = {m["message_id"]: m for m in json.load(open(man_path))["messages"]}

def words(s):
    # the spec: runs of letters, digits, '_' (case-folded); a word with '_'
    # also counts its pieces (not as phrase positions)
    return re.findall(r"[0-9a-z_\u00c0-\u02af\u0370-\u04ff]+", s.lower())

def bag(s):
    out = set()
    for w in words(s):
        if len(w.encode()) > 64:
            continue
        out.add(w)
        if "_" in w:
            out.update(p for p in w.split("_") if p)
    return out

def quoted(l):
    return re.match(r"^[ \t]{0,4}>", l) is not None

def body_text(msg):
    parts = []
    for p in msg.walk():
        if p.is_multipart() or p.get_content_type() != "text/plain":
            continue
        if p.get_content_disposition() == "attachment":
            continue
        try:
            parts.append(p.get_content())
        except Exception:
            parts.append(p.get_payload(decode=True).decode("utf-8", "replace"))
    return "\n".join(parts)

def mboxrd(path):
    # split at From_ lines; one '>' off every line matching /^>+From /
    cur = None
    for line in open(path, "rb"):
        if line.startswith(b"From "):
            if cur is not None:
                yield b"".join(cur)
            cur = []
            continue
        if re.match(rb"^>+From ", line):
            line = line[1:]
        cur.append(line)
    if cur is not None:
        yield b"".join(cur)

mails = {}
for raw in mboxrd(mbox_path):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    mid = msg["Message-ID"].strip().strip("<>")
    if mid not in man:
        continue
    m = man[mid]
    text = body_text(msg).replace("\r\n", "\n")
    lines = text.split("\n")
    new = "\n".join(l for l in lines if not quoted(l))
    quo = "\n".join(l for l in lines if quoted(l))
    paths = set()
    for l in lines:
        if quoted(l):
            continue
        mm = re.match(r"^diff --git a/(\S+) b/(\S+)", l)
        for p in (mm.groups() if mm else []):
            p = p.lower()
            comps = p.split("/")
            for i in range(1, len(comps) + 1):
                paths.add("/".join(comps[:i]))
            paths.update(comps)
            for c in comps:
                paths.update(bag(c))
    d = datetime.strptime(m["date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    mails[mid] = dict(s=m["subject"], f=m["from_name"] + "\n" + m["from_address"],
                      faddr=m["from_address"].lower(), b=new, q=quo, paths=paths, date=d)
for x in mails.values():
    x["bag"] = {k: bag(x[k]) for k in ("s", "f", "b", "q")}

FIELDS = {"s": "s", "f": "f", "b": "bq", "nq": "b", "q": "q", "bs": "sbq", "": "sbq"}

def seq(s):
    return [w for w in words(s) if len(w.encode()) <= 64]

def has_phrase(text, ph):
    t = seq(text)
    return any(t[i:i + len(ph)] == ph for i in range(len(t) - len(ph) + 1))

def match(x, node):
    kind = node[0]
    if kind == "word":
        _, pre, w = node
        return any(w in x["bag"][f] for f in FIELDS[pre])
    if kind == "phrase":
        _, pre, ph = node
        return any(has_phrase(x[f], ph) for f in FIELDS[pre])
    if kind == "pfx":
        _, pre, w = node
        return any(any(t.startswith(w) for t in x["bag"][f]) for f in FIELDS[pre])
    if kind == "addr":
        return x["faddr"] == node[1]
    if kind == "dfn":
        return node[1] in x["paths"]
    if kind == "date":
        return node[1] <= x["date"] < node[2]
    if kind == "and":
        return match(x, node[1]) and match(x, node[2])
    if kind == "or":
        return match(x, node[1]) or match(x, node[2])
    if kind == "not":
        return not match(x, node[1])
    raise ValueError(kind)

rnd = random.Random(1313)
allmails = list(mails.values())
def sample_words(f, k=1):
    x = rnd.choice(allmails)
    ws = [w for w in seq(x[f]) if len(w) > 2]
    if not ws:
        return None
    i = rnd.randrange(len(ws))
    return ws[i:i + k]

def leaf():
    r = rnd.random()
    pre = rnd.choice(["", "s", "b", "nq", "q", "bs", "f"])
    f = {"": "b", "bs": "s", "nq": "b"}.get(pre, pre)
    if r < 0.45:
        w = sample_words(f)
        if w:
            return ("word", pre, w[0]), (pre + ":" if pre else "") + w[0]
    elif r < 0.6:
        w = sample_words(f, 2)
        if w and len(w) == 2:
            return ("phrase", pre, w), (pre + ":" if pre else "") + '"%s %s"' % tuple(w)
    elif r < 0.68:
        w = sample_words(f)
        if w and len(w[0]) > 4:
            return ("pfx", pre, w[0][:4]), (pre + ":" if pre else "") + w[0][:4] + "*"
    elif r < 0.76:
        a = rnd.choice(allmails)["faddr"]
        return ("addr", a), "f:" + a
    elif r < 0.86:
        ps = [p for x in allmails for p in x["paths"]]
        if ps:
            p = rnd.choice(ps)
            return ("dfn", p), "dfn:" + p
    else:
        lo = rnd.choice(allmails)["date"]
        hi = lo + rnd.randrange(1, 8) * 86400
        dl = datetime.fromtimestamp(lo, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        dh = datetime.fromtimestamp(hi, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return ("date", lo, hi), "d:%s..%s" % (dl, dh)
    return leaf()

def query(depth=0):
    r = rnd.random()
    if depth >= 2 or r < 0.35:
        return leaf()
    a, qa = query(depth + 1)
    b, qb = query(depth + 1)
    if r < 0.6:
        return ("and", a, b), "(%s %s)" % (qa, qb)
    if r < 0.8:
        return ("or", a, b), "(%s OR %s)" % (qa, qb)
    if r < 0.9:
        return ("and", a, ("not", b)), "(%s -%s)" % (qa, qb) if not qb.startswith("(") else "(%s NOT %s)" % (qa, qb)
    return ("and", a, ("not", b)), "(%s NOT %s)" % (qa, qb)

nq = 0; bad = 0; nonempty = 0
while nq < 80:
    node, q = query()
    want = {mid for mid, x in mails.items() if match(x, node)}
    p = subprocess.run([ks, "--db", db, "search", "--output", "ids", "--", q], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        print("# query %s: exit %d %s" % (q, p.returncode, p.stderr.strip()))
        bad += 1; nq += 1
        continue
    got = set(p.stdout.split())
    nq += 1
    nonempty += bool(want)
    if got != want:
        bad += 1
        print("# MISMATCH %s: want %d got %d; only want: %s; only got: %s"
              % (q, len(want), len(got), sorted(want - got)[:3], sorted(got - want)[:3]))
print("# %d queries, %d with results, %d mismatches" % (nq, nonempty, bad))
sys.exit(1 if bad or nonempty < 40 else 0)
EOF
rc=$?
sed 's/^/# /' "$T/bf.out" | grep -v '^# # [0-9]* queries' >&2
ok $rc "80 random queries, $1: the same messages as the brute-force matcher ($(tail -1 "$T/bf.out" | sed 's/^# //'))"
}
brute_force "no phrase pairs"
"$KS" --db "$DB" reindex --quiet >/dev/null 2>&1 && "$KS" --db "$DB" check >/dev/null 2>&1
ok $? "reindex builds the phrase pairs, check passes"
brute_force "from the phrase pairs"

done_testing
