#!/bin/sh
# bench-search.sh - `kvmarm-store search` latency (issue 15): a fixed set of
# realistic queries (one word, phrases, f: + s:, dfn: prefixes, date
# ranges, OR, NOT), each the whole command including process start, run
# KV_BENCH_RUNS times (default 7); prints per query the median and the
# result count, then the median and the max of the medians. Goals: median
# under 10 ms and every query under 30 ms at 100k messages.
#  - on the generated store of 100,000 messages (kvgen.py --seed 7, 52
#    weeks from 2023-W40, as bench-reporter.sh builds it), kept in
#    $KV_BUILD/bench/search-100k and rebuilt when kvmarm-store changes;
#    the import's wall time, the phrase pairs' (`reindex` after it) and
#    the store's bytes per raw byte are printed when it is built;
#  - on the dev corpus (when present), side by side with Debian's
#    `notmuch search` on the same mails (a maildir written from the corpus,
#    `notmuch new` timed against `kvmarm-store import`): both latencies and
#    both counts (messages) per query, then every message found by one
#    side only, counted per reason (tests/bench/search-diff.py).
# Knobs: KV_BENCH_MESSAGES (default 100000; 0 skips the generated store),
# KV_CORPUS, KV_BENCH_RUNS, KV_BENCH_MBOX (an mbox of the same generated
# mails made before: kvgen.py --seed 7 --messages N --weeks 52 --start 2023-W40).
: "${KV_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${KV_BUILD:=$KV_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
KS="$KV_BUILD/kvmarm-store"
N=${KV_BENCH_MESSAGES:-100000}
CORPUS="${KV_CORPUS:-$KV_SRC/../shared/corpus/kvmarm-2021-dev.mbox.gz}"
[ -x "$KS" ] || { echo "bench-search: kvmarm-store not built at $KS"; exit 1; }

# build DIR MBOX-MAKER...: a store in DIR/db, kept while kvmarm-store is
# the same binary; the import's numbers go to DIR/import.txt
STAMP="$(cksum < "$KS")"
build() {
	d=$1; shift
	mkdir -p "$d"
	if [ "$(cat "$d/stamp" 2>/dev/null)" != "$STAMP" ]; then
		rm -rf "$d/db" "$d/stamp"
		"$@" || return 1
		t0=$(date +%s%N)
		"$KS" --db "$d/db" import "$d/mbox" >"$d/import.out" 2>"$d/import.err" || { cat "$d/import.out" "$d/import.err"; return 1; }
		t1=$(date +%s%N)
		# the phrase pairs, as the README says to after a first import
		"$KS" --db "$d/db" reindex --quiet >"$d/reindex.out" 2>&1 || { cat "$d/reindex.out"; return 1; }
		t2=$(date +%s%N)
		raw=$(stat -L -c %s "$d/mbox")
		# data.mdb's used pages (the file also holds LMDB's free pages
		# left by the import's copy-on-write; compact drops them)
		used=$(mdb_stat -e "$d/db" | awk '/Page size/ {ps=$3} /Number of pages used/ {u=$5} END {print u*ps}')
		free=$(mdb_stat -f "$d/db" | awk '/Free pages/ {print $3}')
		ps=$(mdb_stat -e "$d/db" | awk '/Page size/ {print $3}')
		store=$(( used - free * ps + $(stat -c %s "$d/db/raw.dat") + $(stat -c %s "$d/db/rec.dat") ))
		filebytes=$(du -cb "$d/db/data.mdb" "$d/db/raw.dat" "$d/db/rec.dat" | tail -1 | cut -f1)
		"$PYTHON" -c 'import sys; w=(int(sys.argv[2])-int(sys.argv[1]))/1e9; p=(int(sys.argv[7])-int(sys.argv[2]))/1e9; print("import %.1f s (%s), then reindex (phrase pairs) %.1f s; store %.2f bytes per raw mbox byte in used pages (%s / %s), %.2f in files" % (w, sys.argv[5].strip(), p, int(sys.argv[4])/int(sys.argv[3]), sys.argv[4], sys.argv[3], int(sys.argv[6])/int(sys.argv[3])))' \
			"$t0" "$t1" "$raw" "$store" "$(head -1 "$d/import.out")" "$filebytes" "$t2" >"$d/import.txt"
		echo "$STAMP" >"$d/stamp"
	fi
	cat "$d/import.txt"
}

gen100k() {
	if [ -n "${KV_BENCH_MBOX:-}" ]; then   # the same mails generated before
		ln -sf "$KV_BENCH_MBOX" "$B/mbox"
		return
	fi
	echo "generating $N messages over 52 weeks (once; kept in $B)"
	"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 7 --messages "$N" --weeks 52 --start 2023-W40 \
		--out "$B/mbox" --quiet
}

corpus() {
	gzip -dc "$CORPUS" >"$C/mbox"
}

# queries: NAME<TAB>OURS<TAB>NOTMUCH ('-' when notmuch cannot say it), one
# set per dataset: the corpus's words, names and functions are the real
# list's; the generated mails have kvgen.py's own vocabulary (its PEOPLE,
# KERNEL_FILES, FUNCS, PROSE), so the same kinds of query get their own
# words there, and every one but the deliberate Message-ID miss finds mail.
queries() { # corpus|gen
	if [ "$1" = corpus ]; then
		ym=2021-03
		cat <<EOF
one word (body)	b:migration	body:migration
one word (anywhere)	vgic	vgic
rare word	b:syzbot	body:syzbot
two-word phrase	"dirty ring"	"dirty ring"
phrase in subject	s:"page table"	subject:"page table"
f: + s:	f:maz@kernel.org s:vgic	from:maz@kernel.org subject:vgic
f: name	f:zyngier	from:zyngier
s: only	s:pmu	subject:pmu
dfn: prefix	dfn:arch/arm64/kvm/	-
dfn: file word	dfn:vgic	-
dfhh: function	dfhh:kvm_vgic_init	-
date range (month)	d:${ym}-01..${ym}-28	date:${ym}-01..${ym}-28
date + word	d:${ym}-01..${ym}-28 b:timer	date:${ym}-01..${ym}-28 body:timer
OR	s:pmu OR s:timer	subject:pmu OR subject:timer
NOT	s:vgic NOT s:Re	subject:vgic NOT subject:Re
-term	s:patch -s:Re	subject:patch -subject:Re
prefix*	s:hyp*	subject:hyp*
parentheses	(s:vgic OR s:its) b:lpi	(subject:vgic OR subject:its) body:lpi
quoted text	q:"looks good"	-
new text	nq:"Reviewed-by"	-
Message-ID hit	m:20210125105019.2946057-1-maz@kernel.org	id:20210125105019.2946057-1-maz@kernel.org
Message-ID miss	m:nosuch@example.org	id:nosuch@example.org
trailer	tr:maz@kernel.org	-
broad AND	kvm arm64	kvm arm64
EOF
	else
		ym=2024-03
		cat <<EOF
one word (body)	b:kernbench	body:kernbench
one word (anywhere)	vgic	vgic
rare word	b:syzbot	body:syzbot
two-word phrase	"dirty ring"	"dirty ring"
phrase in subject	s:"page table"	subject:"page table"
f: + s:	f:mzoller@kernel.org s:vgic	from:mzoller@kernel.org subject:vgic
f: name	f:zoller	from:zoller
s: only	s:pmu	subject:pmu
dfn: prefix	dfn:arch/arm64/kvm/	-
dfn: file word	dfn:vgic	-
dfhh: function	dfhh:kvm_vcpu_reset	-
date range (month)	d:${ym}-01..${ym}-28	date:${ym}-01..${ym}-28
date + word	d:${ym}-01..${ym}-28 b:timer	date:${ym}-01..${ym}-28 body:timer
OR	s:pmu OR s:timer	subject:pmu OR subject:timer
NOT	s:vgic NOT s:Re	subject:vgic NOT subject:Re
-term	s:patch -s:Re	subject:patch -subject:Re
prefix*	s:hyp*	subject:hyp*
parentheses	(s:vgic OR s:its) b:vlpi	(subject:vgic OR subject:its) body:vlpi
quoted text	q:"looks good"	-
new text	nq:"Reviewed-by"	-
Message-ID hit	m:20240328-kvm-arm64-document-the-v-v3-9-9f6de5@ampere.example	id:20240328-kvm-arm64-document-the-v-v3-9-9f6de5@ampere.example
Message-ID miss	m:nosuch@example.org	id:nosuch@example.org
trailer	tr:mzoller@kernel.org	-
broad AND	kvm arm64	kvm arm64
EOF
	fi
}

bench() { # DB corpus|gen [NOTMUCH_CONFIG]
	queries "$2" >"$1.queries"
	"$PYTHON" - "$KS" "$1" "${3:-}" "${KV_BENCH_RUNS:-7}" "$1.queries" <<'PY'
import os, statistics, subprocess, sys, time
ks, db, nmc, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
qlines = open(sys.argv[5]).read().splitlines()
env = dict(os.environ, NOTMUCH_CONFIG=nmc) if nmc else None
def timed(args, env=None):
    # wall ms and CPU ms (user + sys: steadier on a loaded machine), medians
    ts, cs = [], []
    for _ in range(runs):
        t0 = time.monotonic()
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        ts.append((time.monotonic() - t0) * 1000)
        cs.append((ru.ru_utime + ru.ru_stime) * 1000)
    return statistics.median(ts), statistics.median(cs), os.waitstatus_to_exitcode(status)
ours_m, ours_c, nm_m, nm_c, faster = [], [], [], [], 0
hdr = "%-22s %8s %7s %7s" % ("query", "ours ms", "cpu ms", "count")
if nmc:
    hdr += " %11s %7s %7s" % ("notmuch ms", "cpu ms", "count")
print(hdr)
for line in qlines:
    name, q, nq = line.split("\t")
    med, cpu, rc = timed([ks, "--db", db, "search", "--", q])
    if rc > 1:
        print("%-22s query failed: exit %d" % (name, rc)); continue
    ours_m.append(med)
    ours_c.append(cpu)
    cnt = subprocess.run([ks, "--db", db, "search", "--output", "ids", "--", q], capture_output=True, text=True).stdout.count("\n")
    row = "%-22s %8.1f %7.1f %7d" % (name, med, cpu, cnt)
    if nmc and nq != "-":
        nmed, ncpu, _ = timed(["notmuch", "search", nq], env)
        ncnt = subprocess.run(["notmuch", "count", nq], capture_output=True, text=True, env=env).stdout.strip()
        nm_m.append(nmed)
        nm_c.append(ncpu)
        faster += med < nmed
        row += " %11.1f %7.1f %7s" % (nmed, ncpu, ncnt)
    elif nmc:
        row += " %11s %7s %7s" % ("-", "-", "-")
    print(row)
print("ours: %d queries, wall median %.1f ms, max %.1f ms; CPU median %.1f ms, max %.1f ms"
      % (len(ours_m), statistics.median(ours_m), max(ours_m), statistics.median(ours_c), max(ours_c)))
if nm_m:
    print("notmuch: %d queries, wall median %.1f ms, max %.1f ms; CPU median %.1f ms, max %.1f ms; ours faster (wall) on %d of %d"
          % (len(nm_m), statistics.median(nm_m), max(nm_m), statistics.median(nm_c), max(nm_c), faster, len(nm_m)))
print("(load average %s)" % open("/proc/loadavg").read().split()[0])
PY
}

if [ "$N" != 0 ]; then
	B="$KV_BUILD/bench/search-100k"
	echo "--- generated store, $N messages"
	build "$B" gen100k || exit 1
	rm -f "$B/mbox"
	bench "$B/db" gen
fi

if [ -f "$CORPUS" ]; then
	C="$KV_BUILD/bench/search-corpus"
	echo "--- dev corpus ($CORPUS)"
	build "$C" corpus || exit 1
	if command -v notmuch >/dev/null 2>&1; then
		if [ "$(cat "$C/nm-stamp" 2>/dev/null)" != "$(cksum < "$C/mbox")" ]; then
			rm -rf "$C/maildir"
			"$PYTHON" - "$C/mbox" "$C/maildir" <<'PY'
import mailbox, re, sys
# the corpus is mboxrd: one '>' off each /^>+From / line
md = mailbox.Maildir(sys.argv[2], create=True)
cur = None
def put(c):
    md.add(mailbox.MaildirMessage(b"".join(c)))
for line in open(sys.argv[1], "rb"):
    if line.startswith(b"From "):
        if cur is not None: put(cur)
        cur = []; continue
    if re.match(rb"^>+From ", line): line = line[1:]
    cur.append(line)
if cur is not None: put(cur)
PY
			cat >"$C/notmuch-config" <<EOF
[database]
path=$C/maildir
[user]
name=Bench
primary_email=bench@example.org
[new]
tags=inbox;
ignore=
[search]
exclude_tags=
[maildir]
synchronize_flags=false
EOF
			t0=$(date +%s%N)
			NOTMUCH_CONFIG="$C/notmuch-config" notmuch new --quiet >/dev/null 2>&1
			t1=$(date +%s%N)
			echo "notmuch new: $(( (t1 - t0) / 1000000 )) ms, $(NOTMUCH_CONFIG="$C/notmuch-config" notmuch count '*') messages, $(du -sb "$C/maildir/.notmuch" | cut -f1) bytes of index" >"$C/nm.txt"
			cksum < "$C/mbox" >"$C/nm-stamp"
		fi
		cat "$C/nm.txt"
		bench "$C/db" corpus "$C/notmuch-config"
		echo "where the counts differ (tests/bench/search-diff.py: messages found by one side only, by reason):"
		"$PYTHON" "$KV_SRC/tests/bench/search-diff.py" "$KS" "$C/db" "$C/notmuch-config" "$C/db.queries"
	else
		echo "notmuch not installed (apt-get install notmuch; make deps installs BENCH_DEB_PKGS): ours only"
		bench "$C/db" corpus
	fi
else
	echo "--- dev corpus not found at $CORPUS: skipped"
fi
