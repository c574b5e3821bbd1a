#!/bin/sh
# 32-reporter-status: status decisions end to end (store -> digest -> JSON
# and Markdown) on a small week written here: a b4 "(subset)" thank-you
# applies one patch of three, shown on that patch only, with its branch and
# a 12-hex commit id; a quoted NAK, an author's "I'll queue it in v2" and
# pasted git am output decide nothing; a design objection is "changes
# requested" only from a maintainer or reviewer (addressed by the series,
# or who gave tags or applied something in the week), never from a
# passer-by or from the patch author named by the ids of a reply-only
# thread; two stable-queue notices from one sender are one "queued"; an
# announcement that asks something is Other.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

"$PYTHON" - "$T/week.mbox" <<'PY'
import sys
mails = []
def mail(mid, date, frm, subject, body, parent=None, cc=None, refs=None):
    h = ['From x@example.org Mon Mar  4 10:00:00 2024', 'Message-ID: <%s>' % mid,
         'Date: %s' % date, 'From: %s' % frm, 'Subject: %s' % subject,
         'List-Id: <kvmarm.lists.linux.dev>', 'Content-Type: text/plain; charset=utf-8']
    if cc:
        h.append('Cc: %s' % cc)
    if parent:
        refs = (refs or []) + [parent]
        h += ['In-Reply-To: <%s>' % parent, 'References: %s' % ' '.join('<%s>' % r for r in refs)]
    mails.append('\n'.join(h) + '\n\n' + body + '\n')
A = 'Alice Author <alice@example.org>'
M = 'Max Maintainer <max@example.org>'
R = 'Rita Reviewer <rita@example.org>'
S = 'Sam Second <sam@example.org>'
mail('s0@x', 'Mon, 04 Mar 2024 10:00:00 +0000', A, '[PATCH 0/3] KVM: arm64: tidy the widget code',
     'This tidies the widget code.\n\nAlice Author (3):\n  one\n  two\n  three\n', cc=M + ', ' + R)
for i in (1, 2, 3):
    mail('s%d@x' % i, 'Mon, 04 Mar 2024 10:00:0%d +0000' % i, A,
         '[PATCH %d/3] KVM: arm64: widget step %d' % (i, i),
         'Step %d.\n\nSigned-off-by: Alice Author <alice@example.org>\n---\n'
         'diff --git a/w.c b/w.c\n--- a/w.c\n+++ b/w.c\n@@ -1 +1 @@\n-a\n+b\n' % i, 's0@x')
mail('ty@x', 'Tue, 05 Mar 2024 09:00:00 +0000', M, 'Re: (subset) [PATCH 0/3] KVM: arm64: tidy the widget code',
     'On Mon, 04 Mar 2024, Alice Author wrote:\n> This tidies the widget code.\n\n'
     'Applied to kvmarm/fixes, thanks!\n\n[2/3] KVM: arm64: widget step 2\n'
     '      commit: 00112233445566778899aabbccddeeff00112233\n\nCheers,\nMax\n', 's0@x')
mail('q@x', 'Tue, 05 Mar 2024 10:00:00 +0000', S, 'Re: [PATCH 1/3] KVM: arm64: widget step 1',
     'Someone wrote:\n> NAK\n> Applied to next, thanks!\n\nI disagree with that old reply; this one is fine.\n\n'
     'It did not apply here though:\n\n$ git am step1.patch\nerror: w.c: does not exist.\n'
     'Applied patch w.c with 1 reject.\n', 's1@x')
mail('plan@x', 'Tue, 05 Mar 2024 11:00:00 +0000', A, 'Re: [PATCH 1/3] KVM: arm64: widget step 1',
     'Sam wrote:\n> x\n\nGood point. I will queue the rename for v2.\n', 'q@x')
mail('obj@x', 'Wed, 06 Mar 2024 10:00:00 +0000', R, 'Re: [PATCH 3/3] KVM: arm64: widget step 3',
     'Alice wrote:\n> Step 3.\n\nI don\'t think this is the right approach: the widget should not\n'
     'know about the vcpu at all.\n', 's3@x')
mail('f0@x', 'Wed, 06 Mar 2024 12:00:00 +0000', A, '[PATCH] KVM: arm64: fix the gadget',
     'Fix it.\n\nSigned-off-by: Alice Author <alice@example.org>\n---\n'
     'diff --git a/g.c b/g.c\n--- a/g.c\n+++ b/g.c\n@@ -1 +1 @@\n-a\n+b\n')
for n, tree in ((1, '6.1'), (2, '6.6')):
    mail('st%d@x' % n, 'Thu, 07 Mar 2024 0%d:00:00 +0000' % n, 'stable-bot@example.org',
         'Patch "KVM: arm64: fix the gadget" has been added to the %s-stable tree' % tree,
         'This is a note to let you know that I have just added the patch titled\n\n'
         '    KVM: arm64: fix the gadget\n\nto the %s-stable tree.\n' % tree, 'f0@x')
mail('an@x', 'Thu, 07 Mar 2024 12:00:00 +0000', 'Org <org@example.org>',
     '[ANNOUNCE] Widget conference 2024',
     'The widget conference takes place in May. Will you come?\n')
# R10 roles: a passer-by (not addressed, no tag, nothing applied) objects
P = 'Pat Passer <pat@example.org>'
T = 'Tom Tagger <tom@example.org>'
mail('pb0@x', 'Thu, 07 Mar 2024 13:00:00 +0000', A, '[PATCH] KVM: arm64: fix the doohickey',
     'Fix it.\n\nSigned-off-by: Alice Author <alice@example.org>\n---\n'
     'diff --git a/d.c b/d.c\n--- a/d.c\n+++ b/d.c\n@@ -1 +1 @@\n-a\n+b\n')
mail('pb1@x', 'Thu, 07 Mar 2024 14:00:00 +0000', P, 'Re: [PATCH] KVM: arm64: fix the doohickey',
     "I don't think this is the right approach, please rework it.\n", 'pb0@x')
# a reviewer by his tags: Reviewed-by on the gadget, then an objection elsewhere
mail('tg1@x', 'Thu, 07 Mar 2024 15:00:00 +0000', T, 'Re: [PATCH] KVM: arm64: fix the gadget',
     'Looks right.\n\nReviewed-by: Tom Tagger <tom@example.org>\n', 'f0@x')
mail('tg2@x', 'Thu, 07 Mar 2024 16:00:00 +0000', T, 'Re: [PATCH] KVM: arm64: fix the doohickey',
     'This needs to be reworked on top of the new API.\n', 'pb0@x')
# a reply-only thread of Max's own v2 (its cover is not stored): the ids
# name Max as the author, so his own "needs to be reworked" is no request
mail('ro1@x', 'Fri, 08 Mar 2024 10:00:00 +0000', R, 'Re: [PATCH v2 1/2] KVM: arm64: tune the gizmo',
     'Looks fine to me.\n', '20240301100000.4242-2-max@example.org', refs=['20240301100000.4242-1-max@example.org'])
mail('ro2@x', 'Fri, 08 Mar 2024 11:00:00 +0000', M, 'Re: [PATCH v2 1/2] KVM: arm64: tune the gizmo',
     'Hmm, this needs to be reworked, I will send a v3.\n', 'ro1@x',
     refs=['20240301100000.4242-1-max@example.org', '20240301100000.4242-2-max@example.org'])
open(sys.argv[1], 'w').write(''.join(mails))
PY
ok $? "wrote the week"
kvmarm-store --db "$T/db" import "$T/week.mbox" > "$T/import.out" 2>&1
ok $? "imported"
printf '[reporter]\ntimezone = UTC\nlanguage = en\n' > "$T/conf"
KVMARM_NOW=2024-03-11T00:00:00Z kvmarm-reporter --config "$T/conf" --db "$T/db" --once --week 2024-W10 \
	--no-send --format json,md --output "$T/out" > /dev/null 2> "$T/err"
is "$?" 0 "digest 2024-W10"

"$PYTHON" - "$T/out/2024-W10.json" "$T/out/2024-W10.md" > "$T/checks" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
md = open(sys.argv[2], encoding='utf-8').read()
by = {t['root_message_id']: t for t in j['threads']}
def check(c, name):
    print('%d %s' % (0 if c else 1, name))
s = by.get('s0@x', {'events': [], 'category': None})
ev = lambda k: [e for e in s['events'] if e['status'] == k]
a = ev('applied')
check(len(a) == 1, 'series: one applied event')
if a:
    check(a[0]['branch'] == 'kvmarm/fixes', 'applied: branch kvmarm/fixes (got %r)' % a[0]['branch'])
    check(a[0]['patches'] == [2], '(subset): patch 2 only (got %r)' % a[0]['patches'])
    check(a[0]['detail'] == '00112233445566778899aabbccddeeff00112233', 'JSON keeps the full commit id')
    check(a[0]['commits_short'] == '001122334455', 'and its 12-hex form')
check(not ev('nak'), 'a quoted NAK is no NAK')
check(not ev('queued'), "the author's 'queue ... for v2' is not queued")
check(len(a) == 1, 'pasted git am output applies nothing')
c = ev('changes_requested')
check(len(c) == 1 and 'rita@example.org' in c[0]['who'], 'design objection: changes requested by the reviewer')
lines = [l for l in md.split('\n') if 'widget step' in l and l.lstrip().startswith('- ')]
two = [l for l in lines if '2/3' in l]
others = [l for l in lines if '1/3' in l or '3/3' in l]
check(two and 'applied → ' in two[0] and 'kvmarm/fixes' in two[0],
      'review grid: patch 2/3 shows applied → kvmarm/fixes (%r)' % two[-1:])
check(others and not any('applied' in l for l in others), 'review grid: patches 1/3 and 3/3 do not')
check('001122334455' in md and '00112233445566778899' not in md, 'Markdown shows the commit id short')
f = by.get('f0@x', {'events': []})
q = [e for e in f['events'] if e['status'] == 'queued']
check(len(q) == 1, 'two stable notices from one sender: one queued event (got %d)' % len(q))
if q:
    check(q[0]['branch'] == '6.1-stable 6.6-stable', 'naming both trees (got %r)' % q[0]['branch'])
check(by.get('an@x', {}).get('category') == 'Other', 'an announcement asking a question is Other')
pb = [e for e in by.get('pb0@x', {'events': []})['events'] if e['status'] == 'changes_requested']
check(len(pb) == 1 and 'tom@example.org' in pb[0]['who'],
      "a passer-by's objection is no change request; a reviewer's (tags elsewhere) is (got %r)" % [e['who'] for e in pb])
ro = [e for e in by.get('ro1@x', {'events': []})['events'] if e['status'] == 'changes_requested']
check(not ro, "reply-only thread: the author named by the ids requests no changes of himself (got %r)" % ro)
PY
ok $? "checks ran"
while read rc name; do ok "$rc" "$name"; done < "$T/checks"
done_testing
