#!/bin/sh
# 30-reporter-corpus: on the dev corpus (../shared/corpus, 8 ISO weeks of
# the real kvmarm list, 2021-W04..W11), for each week: the digest's JSON
# thread and mail counts equal the ground truth computed here from the raw
# headers (connected components over Message-ID / In-Reply-To / References,
# Python stdlib), and its Markdown has no RFC 2047 encoded word and no
# subject broken over two lines. Skipped when the corpus is absent.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

[ -f "$CORPUS" ] || skip_all "dev corpus not present ($CORPUS)"

kvmarm-store --db "$T/db" import "$CORPUS" > "$T/import.out" 2>&1
ok $? "imported the dev corpus"
printf '[reporter]\ntimezone = UTC\nlanguage = en\n' > "$T/conf"
for w in 04 05 06 07 08 09 10 11; do
	KVMARM_NOW=2021-03-25T00:00:00Z kvmarm-reporter --config "$T/conf" --db "$T/db" --once \
		--week 2021-W$w --no-send --format json,md --output "$T/out" > /dev/null 2> "$T/err.$w"
	is "$?" 0 "digest 2021-W$w"
done

"$PYTHON" - "$CORPUS" "$T/out" > "$T/truth.out" <<'PY'
import datetime, email, email.policy, email.utils, gzip, json, re, sys
corpus, out = sys.argv[1], sys.argv[2]
ID = re.compile(r'<([^<>\s]+)>')
def ids(v):
    return ID.findall(v or '')
def msgid(v):
    l = ids(v)
    if l:
        return l[0]
    v = (v or '').strip()
    return v or None
# mboxrd: split on the separator line, unescape ">From "
raw = gzip.open(corpus, 'rb').read()
msgs = []
cur = None
for line in raw.split(b'\n'):
    if line.startswith(b'From mboxrd@z '):
        if cur is not None:
            msgs.append(b'\n'.join(cur))
        cur = []
        continue
    if cur is not None:
        if re.match(rb'^>+From ', line):
            line = line[1:]
        cur.append(line)
if cur is not None:
    msgs.append(b'\n'.join(cur))
parent = {}
def find(x):
    while parent.setdefault(x, x) != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x
def union(a, b):
    ra, rb = find(a), find(b)
    if ra != rb:
        parent[ra] = rb
recs = []
for b in msgs:
    m = email.message_from_bytes(b, policy=email.policy.compat32)
    i = msgid(m.get('Message-ID'))
    if not i:
        continue
    find(i)
    for r in ids(m.get('In-Reply-To')) + ids(m.get('References')):
        union(i, r)
    d = email.utils.parsedate_to_datetime(m.get('Date'))
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    recs.append((i, d.astimezone(datetime.timezone.utc)))
def check(c, name):
    print('%d %s' % (0 if c else 1, name))
check(len(recs) == 1341, 'ground truth parsed 1341 mails (%d)' % len(recs))
for w in range(4, 12):
    mon = datetime.datetime.fromisocalendar(2021, w, 1).replace(tzinfo=datetime.timezone.utc)
    end = mon + datetime.timedelta(days=7)
    comp = {}
    for i, d in recs:
        if mon <= d < end:
            comp.setdefault(find(i), set()).add(i)
    j = json.load(open('%s/2021-W%02d.json' % (out, w)))
    got = sorted(sorted(m['message_id'] for m in t['mails']) for t in j['threads'])
    want = sorted(sorted(s) for s in comp.values())
    n = sum(len(s) for s in comp.values())
    check(j['totals']['mails'] == n, 'W%02d: mails %d = truth %d' % (w, j['totals']['mails'], n))
    check(j['totals']['threads'] == len(comp), 'W%02d: threads %d = truth %d' % (w, j['totals']['threads'], len(comp)))
    check(got == want, 'W%02d: every thread holds exactly its component\'s window mails' % w)
    check(all(t['messages'] == len(t['mails']) for t in j['threads']), 'W%02d: per-thread counts' % w)
    md = open('%s/2021-W%02d.md' % (out, w), encoding='utf-8').read()
    check('=?' not in md, 'W%02d: no encoded words in the Markdown' % w)
    # every line of a mail list entry starts with "N. **" or "   - ": a subject
    # broken over two lines would leave a line that starts otherwise
    inlist = False
    broken = []
    for line in md.split('\n'):
        if line.startswith('#'):
            inlist = line.startswith('#### 📝')
            continue
        if inlist and line and not (re.match(r'^\d+\. \*\*\\\[', line) or line.startswith('   - ') or line == '---'):
            broken.append(line)
    check(not broken, 'W%02d: no subject broken over two lines %s' % (w, broken[:2]))
PY
ok $? "ground truth computed"
while read -r rc name; do ok "$rc" "$name"; done < "$T/truth.out"
done_testing
