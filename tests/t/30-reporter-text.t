#!/bin/sh
# 30-reporter-text: the plain-text digest (--format txt, the mail's
# text/plain part). On generated weeks (the digest scenario in zh and en,
# two weeks of ordinary traffic, the bad-input scenario), on a mail written
# here with terminal escapes and bidi overrides, and on every week of the
# dev corpus when it is present, tests/lib/check_text.py checks: valid
# UTF-8, no control or bidi character, no line over 72 display columns
# but a lone URL or "[n] URL", no Markdown escape, no per-patch "no tags"
# line. The digest scenario's text in zh and en equals its golden file
# (built like 30-reporter-golden's: same generator seed and clock).
#
# KV_UPDATE_GOLDEN=1 rewrites the golden files from this run (review the
# diff before committing it).
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

G="$KV_SRC/tests/golden"
# check FILE...: the checker's verdict with the scratch path left out, and its status
check() {
	"$PYTHON" "$KV_SRC/tests/lib/check_text.py" "$@" > "$T/chk.raw"
	rc=$?
	sed "s|$T/||" "$T/chk.raw"
	return $rc
}

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/w.mbox" --quiet
kvmarm-store --db "$T/db" import "$T/w.mbox" > /dev/null 2>&1
ok $? "imported the digest scenario"
run() {
	KVMARM_NOW=2024-03-11T00:00:00Z kvmarm-reporter --db "$T/db" --once --week 2024-W10 --no-send "$@"
}
run --output "$T/zh" --format txt > "$T/zh.out" 2> "$T/zh.err"
is "$?" 0 "reporter --format txt (zh)"
is "$(cat "$T/zh.out")" "$T/zh/2024-W10.txt" "prints the .txt it wrote"
run --output "$T/en" --format txt --lang en > /dev/null 2> "$T/en.err"
is "$?" 0 "reporter --format txt --lang en"

strip_txt() { grep -v -e '^生成时间: ' -e '^Generated: ' "$1"; }
if [ -n "${KV_UPDATE_GOLDEN:-}" ]; then
	strip_txt "$T/zh/2024-W10.txt" > "$G/digest-2024-W10.zh.txt"
	strip_txt "$T/en/2024-W10.txt" > "$G/digest-2024-W10.en.txt"
	diag "text golden files rewritten in $G"
fi
for lang in zh en; do
	strip_txt "$T/$lang/2024-W10.txt" > "$T/$lang.txt"
	cmp -s "$G/digest-2024-W10.$lang.txt" "$T/$lang.txt"
	rc=$?
	ok $rc "text ($lang) equals the golden file"
	[ $rc -eq 0 ] || diff -u "$G/digest-2024-W10.$lang.txt" "$T/$lang.txt" | head -40 | sed 's/^/# /'
	check "$T/$lang/2024-W10.txt" > "$T/check.$lang" 2>&1
	ok $? "digest scenario ($lang): $(cat "$T/check.$lang")"
done

# What the text says, against the same week's JSON (not against itself).
run --output "$T/js" --format json --lang en > /dev/null 2>&1
"$PYTHON" - "$T/js/2024-W10.json" "$T/en/2024-W10.txt" > "$T/facts.tap" <<'EOF'
import json, re, sys, urllib.parse
dg = json.load(open(sys.argv[1]))
txt = open(sys.argv[2], encoding='utf-8').read()
def ok(c, name):
    print('%d %s' % (0 if c else 1, name))
# the review list: per thread, the untagged patches as one line with their count
for t in dg['threads']:
    ps = t.get('patches') or []
    untagged = [p for p in ps if not (p.get('reviewed_by') or p.get('acked_by') or p.get('tested_by')
                                      or p.get('carried'))]
    if ps and untagged and len(untagged) == len(ps):
        want = '%d of %d patches without tags' % (len(ps), len(ps))
        ok(want in txt, 'untagged patches of "%s" folded: "%s"' % (t['subject'][:40], want))
ok('no tags yet' not in txt, 'no "no tags yet" left')
# every mail of every thread is listed with its lore URL on a line of its own
urls = set(l.strip() for l in txt.split('\n') if re.match(r' +https://\S+$', l))
miss = [m['message_id'] for t in dg['threads'] for m in t['mails']
        if not any(urllib.parse.quote(m['message_id'], safe='@') in u for u in urls)]
ok(not miss, 'every mail has its URL on its own line (%d missing)' % len(miss))
# commit ids: 12 hex, never 40
ok(not re.search(r'\b[0-9a-f]{40}\b', txt), 'no 40-hex commit id')
commits = [c for t in dg['threads'] for c in t.get('commits', [])]
ok(all(c[:12] in txt for c in commits) and commits, 'commit ids shown as their first 12 hex (%d)' % len(commits))
# references: each "[n] URL" line of a block is cited in that block
blocks = txt.split('\n' + '-' * 72 + '\n')
bad = 0
for b in blocks:
    for n in re.findall(r'^\[(\d+)\] https?://', b, re.M):
        if len(re.findall(r'\[%s\]' % n, b)) < 2:
            bad += 1
ok(bad == 0, 'each numbered reference is cited in its block (%d not)' % bad)
EOF
ok $? "text facts checked against the JSON"
while read -r rc name; do ok "$rc" "$name"; done < "$T/facts.tap"

# Ordinary generated traffic, two weeks, and the bad-input scenario.
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 3 --start 2024-W10 --weeks 2 --out "$T/g.mbox" --quiet
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 4 --scenario bad --out "$T/bad.mbox" --quiet
kvmarm-store --db "$T/gdb" import "$T/g.mbox" > /dev/null 2>&1
kvmarm-store --db "$T/gdb" import "$T/bad.mbox" > /dev/null 2>&1
for w in 2024-W10 2024-W11; do
	for lang in zh en; do
		KVMARM_NOW=2024-03-25T00:00:00Z kvmarm-reporter --db "$T/gdb" --once --week $w --no-send \
			--format txt --lang $lang --output "$T/g-$lang" > /dev/null 2>&1
		check "$T/g-$lang/$w.txt" > "$T/check.g" 2>&1
		ok $? "generated $w ($lang): $(cat "$T/check.g")"
	done
done

# A mail written to attack a terminal: ESC and CSI sequences, a C1 CSI,
# bidi overrides and isolates in the subject (RFC 2047), the sender's
# name and the body; a 40-hex id in a URL stays whole, one in prose is cut.
esc=$(printf '\033')
cat > "$T/evil.mbox" <<EOF
From mboxrd@z Thu Jan  1 00:00:00 1970
From: =?UTF-8?B?$(printf 'Eve \342\200\256lirpA\342\200\254 Evil' | base64 -w0)?= <eve@evil.example>
To: kvmarm@lists.linux.dev
List-Id: <kvmarm.lists.linux.dev>
Subject: =?UTF-8?B?$(printf '[PATCH] KVM: arm64: \033[2J\033]0;pwned\007 fix \302\233 31m \342\201\246iso\342\201\251 \342\200\256gnp.exe' | base64 -w0)?=
Date: Tue, 05 Mar 2024 10:00:00 +0000
Message-ID: <evil-1@evil.example>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This patch fixes the vgic ${esc}[31mred${esc}[0m with a $(printf '\342\200\256')reversed$(printf '\342\200\254') word.
It was applied as 0123456789abcdef0123456789abcdef01234567 upstream, see
https://git.kernel.org/x/commit/?id=89abcdef0123456789abcdef0123456789abcdef for it.

Signed-off-by: Eve <eve@evil.example>
---
 arch/arm64/kvm/vgic.c | 1 +
 1 file changed, 1 insertion(+)
EOF
kvmarm-store --db "$T/edb" import "$T/evil.mbox" > /dev/null 2>&1
ok $? "imported the hostile mail"
KVMARM_NOW=2024-03-11T00:00:00Z kvmarm-reporter --db "$T/edb" --once --week 2024-W10 --no-send \
	--format txt,md --lang en --output "$T/evil" > /dev/null 2>&1
is "$?" 0 "digest of the hostile mail"
check "$T/evil/2024-W10.txt" > "$T/check.e" 2>&1
ok $? "hostile mail: $(cat "$T/check.e")"
# the parser removes bidi overrides since issue 14 item 11, so neither
# the Markdown nor the text has one (t_reporter covers the text renderer's
# own filter with strings that never went through the store)
! grep -q "$(printf '\342\200\256')" "$T/evil/2024-W10.md" "$T/evil/2024-W10.txt"
ok $? "no bidi override reaches the Markdown or the text"
grep -q 'pwned' "$T/evil/2024-W10.txt" && grep -q 'Evil' "$T/evil/2024-W10.txt"
ok $? "the text around the removed characters is kept"
! grep -q '0123456789abcdef0123456789abcdef01234567' "$T/evil/2024-W10.txt" &&
	grep -q '0123456789ab' "$T/evil/2024-W10.txt"
ok $? "a 40-hex id in prose is cut to 12 in the text"
grep -q 'id=89abcdef0123456789abcdef0123456789abcdef' "$T/evil/2024-W10.txt"
ok $? "a 40-hex id inside a URL is left whole"
grep -q '^https://git.kernel.org/x/commit/?id=' "$T/evil/2024-W10.txt"
ok $? "that URL starts a line of its own"

# The dev corpus: every week, both languages.
if [ -f "$CORPUS" ]; then
	kvmarm-store --db "$T/cdb" import "$CORPUS" > /dev/null 2>&1
	ok $? "imported the dev corpus"
	for w in 04 05 06 07 08 09 10 11; do
		for lang in en zh; do
			KVMARM_NOW=2021-03-25T00:00:00Z kvmarm-reporter --db "$T/cdb" --once --week 2021-W$w \
				--no-send --format txt --lang $lang --output "$T/c-$lang" > /dev/null 2>&1
			check "$T/c-$lang/2021-W$w.txt" > "$T/check.c" 2>&1
			ok $? "corpus 2021-W$w ($lang): $(cat "$T/check.c")"
		done
	done
else
	skip "dev corpus not present ($CORPUS)"
fi
done_testing
