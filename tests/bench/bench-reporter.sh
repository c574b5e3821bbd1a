#!/bin/sh
# bench-reporter.sh - one week's digest with extractive summaries on a
# 100,000-message generated store: the whole command (process start, store
# open, digest, Markdown + HTML + plain text + JSON written, no sending;
# KV_BENCH_FORMATS=md,html,json for a build without txt). Goal: under
# 300 ms. Prints wall time (min and median of 7 runs), CPU time (user+sys)
# and peak RSS. The store is generated once and kept in
# $KV_BUILD/bench/reporter-100k; it is rebuilt when kvmarm-store changes
# (the stamp holds its checksum), or when you delete the directory.
#
# Note on RSS: LMDB reads are page faults on a shared file mapping, and the
# kernel maps pages around each fault, so peak RSS counts file pages of the
# store touched while reading (shared, evictable), not heap.
: "${KV_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${KV_BUILD:=$KV_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
B="$KV_BUILD/bench/reporter-100k"
N=${KV_BENCH_MESSAGES:-100000}
mkdir -p "$B"
STAMP="$N $(cksum < "$KV_BUILD/kvmarm-store")"
if [ "$(cat "$B/stamp" 2>/dev/null)" != "$STAMP" ]; then
	rm -rf "$B/db" "$B/mbox" "$B/stamp"
	echo "generating $N messages over 52 weeks (once; kept in $B)"
	"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 7 --messages "$N" --weeks 52 --start 2023-W40 \
		--out "$B/mbox" --quiet || exit 1
	"$KV_BUILD/kvmarm-store" --db "$B/db" import "$B/mbox" > "$B/import.out" 2>&1 || { cat "$B/import.out"; exit 1; }
	rm -f "$B/mbox"
	echo "$STAMP" > "$B/stamp"
fi
"$PYTHON" - "$KV_BUILD/kvmarm-reporter" "$B" "${KV_BENCH_FORMATS:-md,html,txt,json}" <<'PY'
import json, os, resource, statistics, subprocess, sys, time
exe, b, fmts = sys.argv[1], sys.argv[2], sys.argv[3]
args = [exe, '--db', b + '/db', '--once', '--week', '2024-W10', '--no-send',
        '--output', b + '/out', '--format', fmts]
env = dict(os.environ, KVMARM_NOW='2024-03-11T00:00:00Z')
walls, cpus, rss = [], [], []
for i in range(7):
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    walls.append(time.monotonic() - t0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        print('reporter failed (exit %d): %s' % (p.returncode, p.stderr.read().decode()[-300:]))
        sys.exit(1)
    cpus.append(ru.ru_utime + ru.ru_stime)
    rss.append(ru.ru_maxrss)
j = json.load(open(b + '/out/2024-W10.json'))
print('store: %d messages; week 2024-W10: %d threads, %d mails' %
      (j['health']['store_messages'], j['totals']['threads'], j['totals']['mails']))
print('kvmarm-reporter --once --week 2024-W10 --no-send --format %s, 7 runs:' % fmts)
print('  wall   min %.0f ms, median %.0f ms (goal < 300 ms)' % (min(walls) * 1000, statistics.median(walls) * 1000))
print('  cpu    min %.0f ms, median %.0f ms (user+sys)' % (min(cpus) * 1000, statistics.median(cpus) * 1000))
print('  peak RSS %.1f MB (median; mostly shared store pages, see the note in the script)' %
      (statistics.median(rss) / 1024))
for f in fmts.split(','):
    print('  %s: %d bytes' % (f, os.path.getsize('%s/out/2024-W10.%s' % (b, f))))
with open('/proc/loadavg') as f:
    print('  load average at the end: %s' % f.read().split()[0])
PY
