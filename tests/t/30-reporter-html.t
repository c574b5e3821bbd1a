#!/bin/sh
# 30-reporter-html: the digest HTML (and the archive index) opened in
# headless Chromium: it renders, and the hostile mail of the generator's
# digest scenario (<script>, onerror=, javascript: and Markdown links in its
# subject and sender name, a prompt-injection body) injects nothing: no
# script elements, no on* attributes, no javascript: URLs, only lore links.
# The Markdown is checked for injected link/image/tag syntax too.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

command -v chromium >/dev/null 2>&1 || skip_all "chromium not installed (make deps installs it)"

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/w.mbox" \
	--manifest "$T/man.json" --quiet
ok $? "generator wrote the digest scenario"
kvmarm-store --db "$T/db" import "$T/w.mbox" > /dev/null 2>&1
ok $? "imported"
for lang in zh en; do
	KVMARM_NOW=2024-03-11T00:00:00Z kvmarm-reporter --db "$T/db" --once --week 2024-W10 \
		--no-send --lang $lang --output "$T/$lang" --format md,html > /dev/null 2> "$T/err"
	is "$?" 0 "reporter wrote the $lang digest"
	"$PYTHON" "$KV_SRC/tests/lib/chromium-check.py" "$T/$lang/2024-W10.html" \
		"https://lore.kernel.org/kvmarm/" \
		--expect-text '<script>alert(1)</script>' \
		--expect-text '<img src=x onerror=alert(1)>' \
		--expect-text '[click](javascript:alert(1))' > "$T/check.out" 2> "$T/check.err"
	is "$?" 0 "chromium ran on the $lang digest"
	[ -s "$T/check.err" ] && sed 's/^/# /' "$T/check.err"
	while read -r rc name; do ok "$rc" "$lang: $name"; done < "$T/check.out"
done
"$PYTHON" "$KV_SRC/tests/lib/chromium-check.py" "$T/zh/index.html" "" --relative > "$T/check.out" 2>&1
is "$?" 0 "chromium ran on index.html"
while read -r rc name; do ok "$rc" "index: $name"; done < "$T/check.out"

# The Markdown: hostile strings appear only escaped.
"$PYTHON" - "$T/zh/2024-W10.md" "$T/man.json" > "$T/md.out" <<'PY'
import json, re, sys
md = open(sys.argv[1], encoding='utf-8').read()
man = json.load(open(sys.argv[2]))
def check(c, name):
    print('%d %s' % (0 if c else 1, name))
# an unescaped [ ... ]( ... ) whose target is not a lore link
links = re.findall(r'(?<!\\)\[(?:[^\]\\]|\\.)*\]\(([^)]*)\)', md)
check(links and all(l.startswith('https://lore.kernel.org/kvmarm/') for l in links),
      'Markdown: every link is a lore link (%d)' % len(links))
check(not re.search(r'(?<!\\)<[a-zA-Z/!]', md), 'Markdown: no raw HTML tag')
check(not re.search(r'(?<!\\)!\[', md), 'Markdown: no image')
check('javascript\\:' not in md and not re.search(r'(?<!\\)\]\(javascript', md), 'Markdown: no javascript link')
check(not re.search(r'(?<![\\:])https?://evil', md), 'Markdown: no bare URL from the mail (autolink)')
hostile = man['items']['hostile']['message']
check('https://lore.kernel.org/kvmarm/' + hostile + '/' in md, 'hostile mail listed with its lore link')
PY
while read -r rc name; do ok "$rc" "$name"; done < "$T/md.out"
done_testing
