#!/bin/sh
# 31-reporter-facts: the facts of the digest (status, series links, tags,
# category) on the 8 weeks of the dev corpus, against the hand-written
# labels in tests/fixtures/dev-corpus-facts.json, compared by
# tests/lib/facts_compare.py. Asserts what the reporter meets today (every
# labelled thread shown in its weeks, categories, reply and carried tags),
# and a ratchet on the status and series numbers: each check fails when a
# change makes precision, recall or version links worse than measured
# when it was last raised (raise the bounds when they improve). The
# stretch targets of issue 12 not met yet (status recall >= 0.9, no
# missed version link) are TAP TODO: remove the TODO marks then.
# Skipped when the corpus is absent.
# KV_FACTS_VERBOSE=1 prints every disagreement.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

[ -f "$CORPUS" ] || skip_all "dev corpus not present ($CORPUS)"
FIXTURE="$KV_SRC/tests/fixtures/dev-corpus-facts.json"

# ok, but a failure does not fail the test (TAP TODO): a known gap.
todo_ok() {
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then echo "ok $TAP_N - $2 # TODO $3"
	else echo "not ok $TAP_N - $2 # TODO $3"; fi
}

kvmarm-store --db "$T/db" import "$CORPUS" > "$T/import.out" 2>&1
ok $? "imported the dev corpus"
printf '[reporter]\ntimezone = UTC\nlanguage = en\n' > "$T/conf"
for w in 04 05 06 07 08 09 10 11; do
	KVMARM_NOW=2021-03-25T00:00:00Z kvmarm-reporter --config "$T/conf" --db "$T/db" --once \
		--week 2021-W$w --no-send --format json --output "$T/out" > /dev/null 2> "$T/err.$w"
	is "$?" 0 "digest 2021-W$w"
done

verbose=
[ -n "${KV_FACTS_VERBOSE:-}" ] && verbose=--verbose
"$PYTHON" "$KV_SRC/tests/lib/facts_compare.py" $verbose --json "$T/facts.json" \
	"$FIXTURE" "$T/out" > "$T/compare.out" 2>&1
ok $? "facts_compare ran"
sed 's/^/# /' "$T/compare.out"

# The tool itself: digests written from the labels must score perfectly,
# and the same digests with one status dropped must fail --min-recall 1.
"$PYTHON" - "$FIXTURE" "$T/perfect" "$T/broken" <<'PY'
import json, os, sys
sys.path.insert(0, os.path.join(os.environ['KV_SRC'], 'tests', 'lib'))
import facts_compare as fc
fx = json.load(open(sys.argv[1]))
chains = {v['root']: s['versions'] for s in fx['series'] for v in s['versions']}
tags = {}
for e in fx['week_tags']:
    tags.setdefault((e['week'], e['patch']), []).append(e)
dropped = False
for out in sys.argv[2:]:
    os.makedirs(out)
    for week in fx['corpus']['weeks']:
        until = fc.week_end(week)
        threads = []
        for lab in fx['threads']:
            if week not in lab['weeks']:
                continue
            own = [v for v in chains.get(lab['root'], []) if v['root'] == lab['root']]
            later = [v for v in chains.get(lab['root'], []) if own and v['version'] > own[0]['version']
                     and fc.parse_time(v['date']) < until]
            evs = []
            for f in fc.expected_status(lab, until):
                if not f.get('scored', True):
                    continue
                if f['kind'] == 'new_version':
                    # one event, naming the newest version (reporter/facts.c)
                    evs += [{'status': 'new_version', 'date': v['date'], 'detail': 'v%d' % v['version']}
                            for v in later[-1:]]
                    continue
                evs.append({'status': f['kind'], 'date': f['date'], 'branch': f.get('branch', ''),
                            'subset': f.get('subset'), 'detail': ' '.join(f.get('commits', []))})
            if out.endswith('broken') and evs and not dropped:
                evs, dropped = evs[1:], True
            patches = [{'message_id': mid, 'carried_tags': p['carried']}
                       for mid, p in fx['patches'].items() if p['thread'] == lab['root']]
            for (w, mid), l in tags.items():
                if w == week and l[0]['thread'] == lab['root']:
                    given = [e['from'] for e in l]
                    patches.append({'message_id': mid, 'reviewed_by': given, 'acked_by': given,
                                    'tested_by': given})
            vers = [{'message_id': v['root']} for v in chains.get(lab['root'], [])
                    if fc.parse_time(v['date']) < until]
            threads.append({'root_message_id': lab['root'], 'category': lab['category'], 'events': evs,
                            'series': {'versions': vers}, 'patches': patches})
        with open(os.path.join(out, week + '.json'), 'w') as f:
            json.dump({'week': week, 'threads': threads}, f)
PY
ok $? "wrote digests from the labels"
"$PYTHON" "$KV_SRC/tests/lib/facts_compare.py" --min-precision 1 --min-recall 1 --min-category 1 \
	--max-false-links 0 --json "$T/perfect.json" "$FIXTURE" "$T/perfect" > "$T/perfect.out" 2>&1
ok $? "facts_compare: digests written from the labels meet every threshold"
"$PYTHON" -c 'import json, sys
t = json.load(open(sys.argv[1]))["total"]
sys.exit(not (t["missed_version_links"] == 0 and t["carried_tag_recall"] == 1 and t["reply_tag_recall"] == 1))' \
	"$T/perfect.json"
ok $? "facts_compare: no missed link, every tag found"
"$PYTHON" "$KV_SRC/tests/lib/facts_compare.py" --min-recall 1 "$FIXTURE" "$T/broken" > "$T/broken.out" 2>&1
is "$?" 1 "facts_compare: one status missing fails --min-recall 1"

# One line per check: "RC NAME", RC 0 when the number meets the bound.
num() {
	"$PYTHON" - "$T/facts.json" "$1" "$2" "$3" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))['total']
key, op, bound = sys.argv[2], sys.argv[3], float(sys.argv[4])
v = t
for k in key.split('.'):   # "kinds.applied.precision"
    v = v[k]
good = v is not None and (v >= bound if op == '>=' else v <= bound)
print('%d %s = %s (want %s %s)' % (0 if good else 1, key, v, op, sys.argv[4]))
PY
}
check() {
	set -- $(num "$1" "$2" "$3")
	rc=$1; shift
	ok "$rc" "$*"
}
todo() {
	set -- $(num "$1" "$2" "$3")
	rc=$1; shift
	todo_ok "$rc" "$*" "issue 12"
}

# Met today: keep them so.
check threads_shown '>=' 191
check unlabelled '<=' 0
check category_accuracy '>=' 1.0
check reply_tag_recall '>=' 1.0
check carried_tag_recall '>=' 0.9

# Acceptance and rejection decisions (reporter/status.c) meet the issue-12
# targets on their own; changes_requested and new_version (series links)
# keep the totals below them.
for k in applied queued nak; do
	check kinds.$k.precision '>=' 0.95
	check kinds.$k.recall '>=' 0.9
done
# a pulled pull request is shown as "applied": merged has recall only
check kinds.merged.recall '>=' 0.9

# Series (issue 12): no false version link. The missed links left are
# threads made only of replies to a version whose cover is not in the
# corpus and that no stored cover links to (store/series.c links such a
# thread only through the cover id it references, never by subject), and
# one retitled version with no link to its predecessor.
check distinct_false_version_links '<=' 0
check dependency_as_version '<=' 0
check future_version_links '<=' 0

# Ratchet, measured 2021 dev corpus (issue 12): status P 0.962 R 0.826,
# changes_requested P 0.8636 R 0.826, new_version recall 0.586, missed
# version links 63 of 129. Before issue 12's last session: 0.866 / 0.750,
# 0.56 / 0.61, 0.517, 71.
check status_precision '>=' 0.962
check status_recall '>=' 0.826
check kinds.changes_requested.precision '>=' 0.863
check kinds.changes_requested.recall '>=' 0.826
check kinds.new_version.precision '>=' 1.0
check kinds.new_version.recall '>=' 0.586
check missed_version_links '<=' 63

# Stretch targets of issue 12 (status precision >= 0.95 is met above).
todo status_recall '>=' 0.9
todo missed_version_links '<=' 0
done_testing
