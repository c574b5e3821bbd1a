#!/usr/bin/python3
"""facts_compare.py - compare the reporter's weekly JSON digests with the
hand-written labels of tests/fixtures/dev-corpus-facts.json.

    facts_compare.py FIXTURE DIGEST_DIR [--verbose] [--json OUT]
                     [--min-precision X] [--min-recall Y]
                     [--max-false-links N] [--min-category A]

DIGEST_DIR holds YYYY-Www.json for the weeks the fixture lists. Prints, per
week and in total:
  - thread coverage: labelled thread-weeks the digest shows (by root id);
  - category accuracy;
  - status precision and recall, per kind and overall. A digest status is
    right when its kind matches a labelled fact of that thread as of the end
    of the week and, where the label names them, the branch (last path
    component is enough) and the subset of patch indexes;
  - series links: false version links (split into links to dependencies
    and links to versions dated after the week), missed version links;
  - carried-tag recall (patches[].carried_tags), reply-tag recall.
--verbose lists every disagreement (thread root id, label vs digest).
Exit 0, unless a --min/--max threshold is given and not met (exit 1), or
the inputs cannot be read (exit 2). Python stdlib only.
"""
import argparse
import datetime
import json
import os
import re
import sys

# Kinds the labels cover; the digest's other kinds (build_failure, syzbot)
# are outside this comparison.
KINDS = ('applied', 'queued', 'merged', 'nak', 'changes_requested', 'new_version')
# A pull request that was pulled is "merged"; a digest that calls it
# "applied" says the same thing.
EQUIVALENT = {'merged': {'applied'}}
ADDR = re.compile(r'<([^<>\s]+)>')


def parse_time(s):
    return datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)


def week_end(week):
    year, w = week.split('-W')
    monday = datetime.datetime.fromisocalendar(int(year), int(w), 1)
    return monday.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(days=7)


def address(s):
    """The lowercased address in "Tag-by: Name <addr>" or "Tag-by: addr"."""
    m = ADDR.search(s)
    if m:
        return m.group(1).lower()
    return s.split(':', 1)[-1].strip().lower()


def tag_key(s):
    """("reviewed-by", "addr") from any of the tag string forms."""
    name = s.split(':', 1)[0].strip().lower()
    return name, address(s)


def branch_matches(want, text):
    """want names a branch; text is the digest's branch or detail. The last
    path component is enough ("fixes" matches "kvmarm-master/fixes")."""
    if not text:
        return False
    text = text.lower()
    want = want.lower()
    for cand in re.split(r'[\s,;()]+', text):
        if not cand:
            continue
        if cand == want or want.endswith('/' + cand) or cand.endswith('/' + want):
            return True
    return False


class Counter:
    """precision/recall bookkeeping for one scope (a week or the total)."""

    def __init__(self):
        self.n = {}

    def add(self, key, v=1):
        self.n[key] = self.n.get(key, 0) + v

    def get(self, key):
        return self.n.get(key, 0)

    def merge(self, other):
        for k, v in other.n.items():
            self.add(k, v)


def ratio(a, b):
    return (a / b) if b else None


def fmt(r):
    return '-' if r is None else '%.3f' % r


def expected_status(thread, until):
    """The thread's scored and unscored facts as of until (see the schema)."""
    facts = [f for f in thread['status'] if parse_time(f['date']) < until]
    if any(f['kind'] == 'new_version' for f in facts):
        facts = [f for f in facts if f['kind'] != 'changes_requested']
    return facts


def digest_events(t):
    evs = []
    for e in t.get('events', []):
        k = e.get('status')
        if k in KINDS or k == 'merged':
            evs.append(e)
    return evs


def event_subset(e):
    for key in ('subset', 'patches'):
        v = e.get(key)
        if isinstance(v, list):
            try:
                return sorted(int(x) for x in v)
            except (TypeError, ValueError):
                return None
    return None


def later_version_days(fx, root, until):
    """Days (YYYY-MM-DD) on which later versions of root's series were
    posted before until: a digest "new_version" event dated on one of them
    names a real newer version."""
    for s in fx['series']:
        own = [v for v in s['versions'] if v['root'] == root]
        if own:
            return {v['date'][:10] for v in s['versions']
                    if v['version'] > own[0]['version'] and parse_time(v['date']) < until}
    return set()


def new_version_right(e, later_days):
    d = (e.get('date') or '')[:10]
    if not d or d.startswith('1970'):
        return bool(later_days)      # an event without a date: kind only
    return d in later_days


def compare_status(lab, dt, until, c, log, week, later_days):
    root = lab['root']
    facts = expected_status(lab, until)
    evs = digest_events(dt) if dt else []
    used = set()
    # First pass: pair every labelled fact with a digest event of an
    # acceptable kind, preferring one that is fully right.
    pairs = []
    for f in facts:
        ok_kinds = {f['kind']} | set(f.get('also', [])) | EQUIVALENT.get(f['kind'], set())
        best = None
        for i, e in enumerate(evs):
            if i in used or e.get('status') not in ok_kinds:
                continue
            full = True
            if f.get('branch'):
                full = branch_matches(f['branch'], e.get('branch')) or branch_matches(f['branch'], e.get('detail'))
            if full and f.get('subset'):
                full = event_subset(e) == sorted(f['subset'])
            if f['kind'] == 'new_version':
                full = new_version_right(e, later_days)
            if best is None or (full and not best[1]):
                best = (i, full)
        if best is not None:
            used.add(best[0])
        pairs.append((f, best))
    for f, best in pairs:
        if not f.get('scored', True):
            continue
        k = f['kind']
        c.add('lab'), c.add('lab.' + k)
        if best is None:
            log.append('%s %s status missed: %s (evidence %s %s)' % (week, root, k, f['evidence'], f['date'][:10]))
            continue
        c.add('kind_ok'), c.add('kind_ok.' + k)
        if best[1]:
            c.add('rec_ok'), c.add('rec_ok.' + k)
        else:
            e = evs[best[0]]
            log.append('%s %s status %s: label branch=%s subset=%s, digest detail=%r branch=%r subset=%r' % (
                week, root, k, f.get('branch'), f.get('subset'), e.get('detail', ''), e.get('branch'), event_subset(e)))
    unscored = {best[0] for f, best in pairs if best is not None and not f.get('scored', True)}
    right = {best[0] for f, best in pairs if best is not None and best[1] and f.get('scored', True)}
    # The label names the nearest newer version; a digest that also lists
    # the versions after it (v2 and v3) is right about each of them.
    if any(f['kind'] == 'new_version' and f.get('scored', True) for f in facts):
        for i, e in enumerate(evs):
            if i not in used and e.get('status') == 'new_version' and new_version_right(e, later_days):
                used.add(i)
                right.add(i)
    for i, e in enumerate(evs):
        if i in unscored:
            continue
        k = e.get('status')
        c.add('dig'), c.add('dig.' + k)
        if i in used:
            c.add('prec_kind_ok'), c.add('prec_kind_ok.' + k)
        if i in right:
            c.add('prec_ok'), c.add('prec_ok.' + k)
        elif i not in used:
            log.append('%s %s status false: digest says %s (%s) on %s, no such label' % (
                week, root, k, e.get('detail', ''), e.get('date', '')[:10]))


def compare_series(fx, lab_by_root, digest, week, until, c, log, seen_false, seen_missed):
    chain_of = {}
    version_date = {}
    for s in fx['series']:
        members = [v['root'] for v in s['versions']]
        for v in s['versions']:
            chain_of[v['root']] = members
            version_date[v['root']] = parse_time(v['date'])
    dup = {frozenset(p) for p in fx.get('duplicates', [])}
    # A non-version link joins two series: every version of one with every
    # version of the other (a link from v2 of A to v3 of B also means v1 of
    # A is not a version of B).
    nonversion = set()
    for l in fx.get('links', []):
        for a in chain_of.get(l['from'], [l['from']]):
            for b in chain_of.get(l['to'], [l['to']]):
                nonversion.add(frozenset((a, b)))
    for t in digest['threads']:
        root = t['root_message_id']
        if root not in lab_by_root:
            continue
        ser = t.get('series') or {}
        got = {v['message_id'] for v in ser.get('versions', []) if v.get('message_id') != root}
        want = {m for m in chain_of.get(root, []) if m != root and version_date[m] < until}
        for v in sorted(got):
            pair = frozenset((root, v))
            if v in want or pair in dup:
                continue
            c.add('false_link')
            why = 'unrelated'
            if pair in nonversion:
                c.add('dep_as_version')
                why = 'dependency/reference'
            elif v in chain_of.get(root, []):
                # a real later version, shown before it was posted
                c.add('future_version')
                why = 'later version, dated after the week'
            seen_false.add(pair)
            log.append('%s %s false version link to %s (%s)' % (week, root, v, why))
        for v in sorted(want - got):
            c.add('missed_link')
            seen_missed.add(frozenset((root, v)))
            log.append('%s %s missed version link to %s' % (week, root, v))
        c.add('want_link', len(want))
        c.add('got_link', len(got))


def compare_tags(fx, digest, week, c, log):
    carried = fx.get('patches', {})
    wtags = {}
    for e in fx.get('week_tags', []):
        if e['week'] == week:
            wtags.setdefault(e['patch'], []).append(e)
    for t in digest['threads']:
        # one entry per patch, fields joined (a patch listed twice counts once)
        merged = {}
        for p in t.get('patches', []):
            m = merged.setdefault(p.get('message_id'), {})
            for k in ('carried_tags', 'reviewed_by', 'acked_by', 'tested_by'):
                m.setdefault(k, []).extend(p.get(k, []))
        for mid, p in merged.items():
            lab = carried.get(mid)
            if lab:
                got = {tag_key(s) for s in p.get('carried_tags', [])}
                for s in lab['carried']:
                    c.add('carried')
                    if tag_key(s) in got:
                        c.add('carried_ok')
                    else:
                        log.append('%s %s carried tag not shown on %s: %s' % (week, t['root_message_id'], mid, s))
            for e in wtags.get(mid, []):
                name, addr = tag_key(e['tag'])
                field = {'reviewed-by': 'reviewed_by', 'acked-by': 'acked_by', 'tested-by': 'tested_by'}.get(name)
                got = {address(s) for s in p.get(field, [])} if field else set()
                c.add('wtag')
                if addr in got or e['from'] in got:
                    c.add('wtag_ok')
                else:
                    log.append('%s %s reply tag not shown on %s: %s from %s%s' % (
                        week, t['root_message_id'], mid, e['tag'], e['from'],
                        ' (other address)' if e.get('other_address') else ''))


def compare_week(fx, lab_by_root, digest, week, c, log, seen_false, seen_missed):
    until = week_end(week)
    dig_by_root = {t['root_message_id']: t for t in digest['threads']}
    for lab in fx['threads']:
        if week not in lab['weeks']:
            continue
        root = lab['root']
        dt = dig_by_root.get(root)
        c.add('threads')
        if dt is None:
            log.append('%s %s thread missing from the digest' % (week, root))
        else:
            c.add('threads_ok')
            c.add('cat')
            if dt.get('category') == lab['category']:
                c.add('cat_ok')
            else:
                log.append('%s %s category: label %s, digest %s' % (week, root, lab['category'], dt.get('category')))
        compare_status(lab, dt, until, c, log, week, later_version_days(fx, root, until))
    for root in dig_by_root:
        if root not in lab_by_root:
            c.add('unlabelled')
            log.append('%s %s digest thread has no label' % (week, root))
    compare_series(fx, lab_by_root, digest, week, until, c, log, seen_false, seen_missed)
    compare_tags(fx, digest, week, c, log)


def summary(c):
    s = {
        'threads': c.get('threads'), 'threads_shown': c.get('threads_ok'), 'unlabelled': c.get('unlabelled'),
        'category_accuracy': ratio(c.get('cat_ok'), c.get('cat')),
        'status_precision': ratio(c.get('prec_ok'), c.get('dig')),
        'status_recall': ratio(c.get('rec_ok'), c.get('lab')),
        'status_kind_recall': ratio(c.get('kind_ok'), c.get('lab')),
        'status_kind_precision': ratio(c.get('prec_kind_ok'), c.get('dig')),
        'status_labels': c.get('lab'), 'status_digest': c.get('dig'),
        'false_version_links': c.get('false_link'), 'dependency_as_version': c.get('dep_as_version'),
        'future_version_links': c.get('future_version'), 'missed_version_links': c.get('missed_link'),
        'expected_version_links': c.get('want_link'),
        'carried_tag_recall': ratio(c.get('carried_ok'), c.get('carried')), 'carried_tags': c.get('carried'),
        'reply_tag_recall': ratio(c.get('wtag_ok'), c.get('wtag')), 'reply_tags': c.get('wtag'),
        'kinds': {},
    }
    for k in KINDS:
        s['kinds'][k] = {
            'labels': c.get('lab.' + k), 'digest': c.get('dig.' + k),
            'precision': ratio(c.get('prec_ok.' + k), c.get('dig.' + k)),
            'recall': ratio(c.get('rec_ok.' + k), c.get('lab.' + k)),
            'kind_precision': ratio(c.get('prec_kind_ok.' + k), c.get('dig.' + k)),
            'kind_recall': ratio(c.get('kind_ok.' + k), c.get('lab.' + k)),
        }
    return s


def print_summary(name, s):
    print('%s: threads %d/%d shown, category %s, status P %s R %s (kind only: P %s R %s; %d labels, %d digest), '
          'links false %d (deps %d, later %d) missed %d/%d, carried R %s (%d), reply tags R %s (%d)' % (
              name, s['threads_shown'], s['threads'], fmt(s['category_accuracy']),
              fmt(s['status_precision']), fmt(s['status_recall']),
              fmt(s['status_kind_precision']), fmt(s['status_kind_recall']),
              s['status_labels'], s['status_digest'], s['false_version_links'], s['dependency_as_version'],
              s['future_version_links'], s['missed_version_links'], s['expected_version_links'],
              fmt(s['carried_tag_recall']), s['carried_tags'], fmt(s['reply_tag_recall']), s['reply_tags']))


def main():
    ap = argparse.ArgumentParser(description='compare digest JSON with the labelled facts')
    ap.add_argument('fixture')
    ap.add_argument('digests')
    ap.add_argument('--verbose', '-v', action='store_true')
    ap.add_argument('--json', help='write the numbers as JSON to this file')
    ap.add_argument('--min-precision', type=float)
    ap.add_argument('--min-recall', type=float)
    ap.add_argument('--min-category', type=float)
    ap.add_argument('--max-false-links', type=int)
    a = ap.parse_args()
    try:
        fx = json.load(open(a.fixture, encoding='utf-8'))
    except (OSError, ValueError) as e:
        print('facts_compare: cannot read %s: %s' % (a.fixture, e), file=sys.stderr)
        return 2
    lab_by_root = {t['root']: t for t in fx['threads']}
    total = Counter()
    log = []
    out = {'weeks': {}}
    seen_false, seen_missed = set(), set()
    for week in fx['corpus']['weeks']:
        path = os.path.join(a.digests, week + '.json')
        try:
            digest = json.load(open(path, encoding='utf-8'))
        except (OSError, ValueError) as e:
            print('facts_compare: cannot read %s: %s' % (path, e), file=sys.stderr)
            return 2
        c = Counter()
        wlog = []
        compare_week(fx, lab_by_root, digest, week, c, wlog, seen_false, seen_missed)
        total.merge(c)
        log.extend(wlog)
        s = summary(c)
        out['weeks'][week] = s
        print_summary(week, s)
    s = summary(total)
    s['distinct_false_version_links'] = len(seen_false)
    s['distinct_missed_version_links'] = len(seen_missed)
    out['total'] = s
    print_summary('total', s)
    print('total: distinct pairs: false version links %d, missed version links %d' % (len(seen_false), len(seen_missed)))
    for k, v in s['kinds'].items():
        print('total %-17s labels %3d digest %3d precision %s recall %s (kind only: P %s R %s)' % (
            k, v['labels'], v['digest'], fmt(v['precision']), fmt(v['recall']),
            fmt(v['kind_precision']), fmt(v['kind_recall'])))
    if a.verbose:
        for line in log:
            print('  ' + line)
    if a.json:
        with open(a.json, 'w', encoding='utf-8') as f:
            json.dump(out, f, indent=1)
    fail = []
    if a.min_precision is not None and (s['status_precision'] or 0) < a.min_precision:
        fail.append('status precision %s < %s' % (fmt(s['status_precision']), a.min_precision))
    if a.min_recall is not None and (s['status_recall'] or 0) < a.min_recall:
        fail.append('status recall %s < %s' % (fmt(s['status_recall']), a.min_recall))
    if a.min_category is not None and (s['category_accuracy'] or 0) < a.min_category:
        fail.append('category accuracy %s < %s' % (fmt(s['category_accuracy']), a.min_category))
    if a.max_false_links is not None and len(seen_false) > a.max_false_links:
        fail.append('false version links %d > %d' % (len(seen_false), a.max_false_links))
    for f in fail:
        print('facts_compare: threshold not met: ' + f)
    return 1 if fail else 0


if __name__ == '__main__':
    sys.exit(main())
