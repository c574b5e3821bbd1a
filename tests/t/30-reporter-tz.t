#!/bin/sh
# 30-reporter-tz: windows are half-open weeks in the configured zone.
# The generator's edge mails (first/last second of the UTC and Shanghai
# weeks, a mail at 23:59 Sunday at UTC-7) land in the right week for
# Asia/Shanghai, UTC and a UTC-7 zone; a week across the US DST change
# (America/New_York, 2024-03-10) is 167 hours long and its mail times are
# shown in EST before and EDT after the change.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/w.mbox" \
	--manifest "$T/man.json" --quiet
kvmarm-store --db "$T/db" import "$T/w.mbox" > /dev/null 2>&1
ok $? "imported the digest scenario"

digest() { # ZONE WEEK OUTDIR
	printf '[reporter]\ntimezone = %s\n' "$1" > "$T/$3.conf"
	KVMARM_NOW=2024-03-20T00:00:00Z kvmarm-reporter --config "$T/$3.conf" --db "$T/db" --once \
		--week "$2" --no-send --format json,md --output "$T/$3" > /dev/null 2> "$T/$3.err"
}
for z in Asia/Shanghai:W10:sh10 Asia/Shanghai:W11:sh11 UTC:W10:utc10 UTC:W11:utc11 \
	 America/Phoenix:W10:phx10 America/New_York:W10:ny10; do
	zone=${z%%:*}; rest=${z#*:}; wk=${rest%%:*}; dir=${rest#*:}
	digest "$zone" "2024-$wk" "$dir"
	rc=$?
	ok $(( rc > 1 )) "digest for $zone 2024-$wk (exit $rc)"
done

"$PYTHON" - "$T" > "$T/tz.out" <<'PY'
import json, sys
T = sys.argv[1]
man = json.load(open(T + '/man.json'))
def ids(d):
    try:
        j = json.load(open('%s/%s/%s.json' % (T, d, {'10': '2024-W10', '11': '2024-W11'}[d[-2:]])))
    except FileNotFoundError:
        return set(), None
    return set(m['message_id'] for t in j['threads'] for m in t['mails']), j
def check(c, name):
    print('%d %s' % (0 if c else 1, name))
edge = {m['item']: m for m in man['messages'] if m.get('item', '').startswith('edge_')}
sh10, j = ids('sh10'); sh11, _ = ids('sh11'); u10, ju = ids('utc10'); u11, _ = ids('utc11')
p10, _ = ids('phx10'); ny10, jn = ids('ny10')
want_sh = set(m['message_id'] for m in man['messages'] if m['in_shanghai_week'] and m.get('list', True))
want_utc = set(m['message_id'] for m in man['messages'] if m['in_utc_week'] and m.get('list', True))
check(sh10 == want_sh, 'Shanghai W10 holds exactly the manifest in_shanghai_week mails (%d)' % len(want_sh))
check(u10 == want_utc, 'UTC W10 holds exactly the manifest in_utc_week mails (%d)' % len(want_utc))
for name, m in sorted(edge.items()):
    i = m['message_id']
    check((i in sh10) == m['in_shanghai_week'], 'Shanghai W10: %s %s' % (name, 'in' if m['in_shanghai_week'] else 'out'))
    check((i in u10) == m['in_utc_week'], 'UTC W10: %s %s' % (name, 'in' if m['in_utc_week'] else 'out'))
ls = edge['edge_local_sunday']['message_id']
check(ls in sh11 and ls not in sh10, 'Sunday 23:59 -0700: next week (W11) in Shanghai')
check(ls in u11 and ls not in u10, 'Sunday 23:59 -0700: next week (W11) in UTC')
check(ls in p10, 'Sunday 23:59 -0700: W10 in a UTC-7 zone (America/Phoenix)')
check(edge['edge_sh_next']['message_id'] in sh11, 'Shanghai Monday 00:00 opens W11')
check(j['since'] == '2024-03-03T16:00:00Z' and j['until'] == '2024-03-10T16:00:00Z', 'Shanghai window in UTC')
check(jn['since'] == '2024-03-04T05:00:00Z' and jn['until'] == '2024-03-11T04:00:00Z',
      'New York window: EST midnight to EDT midnight (167 h)')
times = [(m['date'], m['local_time']) for t in jn['threads'] for m in t['mails']]
before = [lt for d, lt in times if d < '2024-03-10T07:00:00Z']
after = [lt for d, lt in times if d >= '2024-03-10T07:00:00Z']
import datetime
def off(d, lt):
    a = datetime.datetime.strptime(d, '%Y-%m-%dT%H:%M:%SZ')
    b = datetime.datetime.strptime(lt, '%Y-%m-%dT%H:%M:%S')
    return (b - a).total_seconds() / 3600
check(all(off(d, lt) == -5 for d, lt in times if d < '2024-03-10T07:00:00Z'), 'times before the change at -05:00')
check(after and all(off(d, lt) == -4 for d, lt in times if d >= '2024-03-10T07:00:00Z'),
      'times after the change at -04:00 (%d mails)' % len(after))
PY
ok $? "checks ran"
while read -r rc name; do ok "$rc" "$name"; done < "$T/tz.out"
grep -q '^\*\*统计窗口\*\*: \[2024-03-04 00:00, 2024-03-11 00:00) (America/New_York)$' "$T/ny10/2024-W10.md"
ok $? "the Markdown header states window and zone"
done_testing
