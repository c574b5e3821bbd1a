#!/bin/sh
# 30-reporter-golden: the digest of the generator's "digest" scenario week
# (2024-W10) against golden Markdown and HTML (zh and en) and JSON, byte
# for byte except the generated-time line; and the facts in it checked against the
# generator's manifest: window counts per thread (Shanghai week), review
# tags per patch, applied/NAK/syzbot/build-failure status, series history,
# the thread whose root predates the window, needs-attention.
#
# KV_UPDATE_GOLDEN=1 rewrites the golden files from this run (review the
# diff before committing it).
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

G="$KV_SRC/tests/golden"
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/w.mbox" \
	--manifest "$T/man.json" --quiet
ok $? "generator wrote the digest scenario"
kvmarm-store --db "$T/db" import "$T/w.mbox" > "$T/import.out" 2>&1
ok $? "imported"

run() {
	KVMARM_NOW=2024-03-11T00:00:00Z kvmarm-reporter --db "$T/db" --once --week 2024-W10 --no-send "$@"
}
run --output "$T/zh" --format md,html,json > "$T/zh.out" 2> "$T/zh.err"
is "$?" 0 "reporter --once --week 2024-W10 --no-send (zh)"
run --output "$T/en" --format md,html,json --lang en > "$T/en.out" 2> "$T/en.err"
is "$?" 0 "reporter --lang en"
is "$(cat "$T/zh.out")" "$T/zh/2024-W10.md
$T/zh/2024-W10.html
$T/zh/2024-W10.json" "prints the archive files it wrote"
[ -f "$T/zh/index.html" ] && grep -q 'href="2024-W10.html"' "$T/zh/index.html"
ok $? "index.html lists the week"

# The generated time comes from KVMARM_NOW already; the line is dropped
# anyway so a golden file never depends on it.
strip_md() { grep -v -e '^\*\*生成时间\*\*' -e '^\*\*Generated\*\*' "$1"; }
strip_html() { grep -v -e '^<p><b>生成时间</b>: ' -e '^<p><b>Generated</b>: ' "$1"; }
strip_json() { grep -v '^  "generated": ' "$1"; }
if [ -n "${KV_UPDATE_GOLDEN:-}" ]; then
	mkdir -p "$G"
	strip_md "$T/zh/2024-W10.md" > "$G/digest-2024-W10.zh.md"
	strip_md "$T/en/2024-W10.md" > "$G/digest-2024-W10.en.md"
	strip_html "$T/zh/2024-W10.html" > "$G/digest-2024-W10.zh.html"
	strip_html "$T/en/2024-W10.html" > "$G/digest-2024-W10.en.html"
	strip_json "$T/zh/2024-W10.json" > "$G/digest-2024-W10.json"
	diag "golden files rewritten in $G"
fi
# same GOLDEN GOT NAME: one test; on a difference the start of the diff as
# TAP comments.
same() {
	cmp -s "$2" "$1"
	rc=$?
	ok $rc "$3"
	[ $rc -eq 0 ] || diff -u "$1" "$2" | head -40 | sed 's/^/# /'
}
for lang in zh en; do
	strip_md "$T/$lang/2024-W10.md" > "$T/$lang.md"
	same "$G/digest-2024-W10.$lang.md" "$T/$lang.md" "Markdown ($lang) equals the golden file"
	strip_html "$T/$lang/2024-W10.html" > "$T/$lang.html"
	same "$G/digest-2024-W10.$lang.html" "$T/$lang.html" "HTML ($lang) equals the golden file"
done
strip_json "$T/zh/2024-W10.json" > "$T/zh.json"
same "$G/digest-2024-W10.json" "$T/zh.json" "JSON equals the golden file"

# Facts against the manifest (independent of the golden files).
"$PYTHON" - "$T/man.json" "$T/zh/2024-W10.json" "$T/zh/2024-W10.md" > "$T/facts.tap" <<'EOF'
import json, sys
man = json.load(open(sys.argv[1]))
dg = json.load(open(sys.argv[2]))
md = open(sys.argv[3], encoding='utf-8').read()
n = 0
def ok(c, name):
    global n
    n += 1
    print('%d %s' % (0 if c else 1, name))
    return c
msgs = [m for m in man['messages'] if m.get('list', True)]
inwin = [m for m in msgs if m['in_shanghai_week']]
ok(dg['totals']['mails'] == len(inwin), 'total mails = manifest mails in the Shanghai week (%d)' % len(inwin))
want = {}
for m in inwin:
    want.setdefault(m['thread'], set()).add(m['message_id'])
got = {}
for t in dg['threads']:
    got[t['root_message_id']] = set(x['message_id'] for x in t['mails'])
# threads are keyed by their earliest message; the store's root may be a
# different member only when the earliest is a ghost, so compare partitions
ok(sorted(map(sorted, want.values())) == sorted(map(sorted, got.values())),
   'threads and their window mails = manifest components (%d threads)' % len(want))
ok(dg['totals']['threads'] == len(want), 'thread count')
for t in dg['threads']:
    ok(t['messages'] == len(t['mails']), 'count = listed mails: %s' % t['subject'][:40])
    ds = [x['date'] for x in t['mails']]
    ok(ds == sorted(ds), 'mails sorted by time: %s' % t['subject'][:40])
items = man['items']
byroot = {t['root_message_id']: t for t in dg['threads']}
# old root thread: shown under its root, root not in the window
o = items['old_root_thread']
t = byroot.get(o['root'])
ok(t is not None and not t['root_in_window'] and t['messages'] == len(o['in_window']),
   'thread with a root before the window: under its root, counts only window mails')
ok(t is not None and t['earlier_messages'] == len(o['before_window']), 'earlier mails counted apart')
# review tags
rt = items['review_tags']
t = byroot.get(rt['cover'])
ok(t is not None, 'review_tags thread present')
if t:
    pat = {str(p['index']): p for p in t['patches']}
    for idx, tags in rt['expected_tags'].items():
        p = pat.get(idx, {})
        gotp = ['Reviewed-by: ' + x for x in p.get('reviewed_by', [])] + \
               ['Acked-by: ' + x for x in p.get('acked_by', [])] + \
               ['Tested-by: ' + x for x in p.get('tested_by', [])]
        ok(sorted(gotp) == sorted(tags), 'tags of patch %s: %s' % (idx, gotp))
    allp = json.dumps(t['patches'], ensure_ascii=False)
    ok('mzoller@kernel.org' not in allp, 'a tag from another address than the sender does not count')
# applied
a = items['applied_series']
t = byroot.get(a['cover'])
ok(t is not None and 'applied' in t['status'] and len(t['commits']) >= 1, 'applied series: status and commits')
# nak
nk = items['nak']
t = [x for x in dg['threads'] if any(m['message_id'] == nk['nak'] for m in x['mails'])]
ok(t and 'nak' in t[0]['status'], 'NAK status')
# syzbot
s = items['syzbot']
t = byroot.get(s['report'])
ok(t is not None and 'syzbot' in t['status'] and t['category'] == 'Bug Report', 'syzbot report')
# test robot
bf = [x for x in dg['threads'] if 'build_failure' in x['status']]
ok(len(bf) == 1, 'one build failure from kernel test robot')
# series history
st = items['series_by_title']
t = byroot.get(st['versions']['3'])
ok(t is not None and t['series'] and [v['version'] for v in t['series']['versions']] == [1, 2, 3]
   and t['series']['supersedes'] == 2, 'series by title: v1 v2 v3, supersedes v2')
for key in ('series_by_change_id', 'series_by_link'):
    it = items[key]
    t = byroot.get(it['versions']['2'])
    ok(t is not None and t['series'] and t['series']['supersedes'] == 1, key + ': v2 supersedes v1')
# attention
att = {(x['kind'], x['subject']) for x in dg['attention']}
uq = items['unanswered_question']
qsub = [m['subject'] for m in msgs if m['message_id'] == uq['message']][0]
ok(('unanswered_question', qsub) in att, 'unanswered question in needs-attention')
nr = items['no_reply_series']
nrsub = [m['subject'] for m in msgs if m['message_id'] == nr['cover']][0]
# [reporter] review_wait_days (default 3): posted 2024-03-08 12:00 UTC, 2.2
# days before the Shanghai week's end, it is not late yet; the kvmtool
# series (03-06, 4.2 days, no reply either) waits on reviewers
ok(('no_reply', nrsub) not in att, 'series with no reply for 2.2 days: not waiting on reviewers yet')
kt = items['kvmtool']
ktsub = [m['subject'] for m in msgs if m['message_id'] == kt['cover']][0]
ok(('no_reply', ktsub) in att, 'series with no reply for 4.2 days: waiting on reviewers')
# kvm-unit-tests is a PATCH
k = items['kvm_unit_tests']
t = [x for x in dg['threads'] if 'kvm-unit-tests' in x['subject']]
ok(t and t[0]['category'] == 'PATCH', '[kvm-unit-tests PATCH] filed under PATCH')
# Markdown hygiene
ok('=?' not in md, 'no encoded words in the Markdown')
lines = md.split('\n')
ok(all(not (l.startswith(' ') and not l.startswith('   - ') and not l.startswith('  - ')) for l in lines if l.strip()),
   'no continuation lines (no subject broken over two lines)')
ok('](javascript' not in md and '<script' not in md.replace('\\<script', ''), 'no injected link or tag in the Markdown')
EOF
ok $? "manifest checks ran"
while read -r rc name; do ok "$rc" "$name"; done < "$T/facts.tap"
done_testing
