#!/bin/sh
# tests/bench/bench-store.sh - numbers for the store (issue 2, Performance).
# Prints, never fails on slowness:
#  - import throughput (msgs/s, MB/s) of `kvmarm-store import` on the dev
#    corpus (when present) and on a generated corpus (default 100,000 mails,
#    kvgen.py --size 8000), side by side in the same run with `notmuch new`,
#    `mu index` on the same mails (a maildir written from the same mbox),
#    and the floor: `kvmarm-store parse-only --jobs 1`, which parses every
#    mail with gmime and stores nothing;
#  - on the generated store: `threads` for one week and `show` of a thread
#    of about 100 messages, whole command including process start
#    (hyperfine when installed, else a loop timed with date +%s%N);
#  - store bytes against raw bytes, and peak RSS of the import.
#
# Knobs: KV_BENCH_MESSAGES (default 100000; 0 skips the generated corpus),
# KV_BENCH_DIR (scratch directory, default a mktemp directory removed at
# the end), KV_BENCH_KEEP=1 keeps it, KV_BENCH_PEERS=0 skips notmuch/mu.
# Installs notmuch, maildir-utils (mu), hyperfine and time with apt-get
# when they are missing and we are root (the Makefile's BENCH_DEB_PKGS).
set -u
: "${KV_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${KV_BUILD:=$KV_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
KS="$KV_BUILD/kvmarm-store"
NMSG="${KV_BENCH_MESSAGES:-100000}"
PEERS="${KV_BENCH_PEERS:-1}"
CORPUS="${KV_CORPUS:-$KV_SRC/../shared/corpus/kvmarm-2021-dev.mbox.gz}"
BENCH_PKGS="${BENCH_DEB_PKGS:-notmuch maildir-utils hyperfine time}"

[ -x "$KS" ] || { echo "bench-store: kvmarm-store not built at $KS"; exit 1; }
if [ -n "${KV_BENCH_DIR:-}" ]; then
	W="$KV_BENCH_DIR/store"
	rm -rf "$W" && mkdir -p "$W"
else
	W=$(mktemp -d "${TMPDIR:-/tmp}/kvbench.XXXXXX")
fi
[ -n "${KV_BENCH_KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

missing=""
for p in $BENCH_PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "bench-store: installing$missing"
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $missing; } >"$W/apt.log" 2>&1 || echo "bench-store: apt-get failed (see numbers without the peers)"
	else
		echo "bench-store: missing$missing (not root: not installing)"
	fi
fi
have() { command -v "$1" >/dev/null 2>&1; }

# run NAME CMD...: run under /usr/bin/time, set WALL (s), CPU (user+sys
# s, steadier than wall time on a loaded machine) and RSS (KB); the
# command's output goes to $W/NAME.out
run() {
	name=$1; shift
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f "%e %M %U %S" -o "$W/$name.time" "$@" >"$W/$name.out" 2>&1
		rc=$?
		set -- $(tail -1 "$W/$name.time")
		WALL=$1 RSS=$2 CPU=$(awk -v u="$3" -v s="$4" 'BEGIN { printf "%.2f", u + s }')
	else
		t0=$(date +%s%N)
		"$@" >"$W/$name.out" 2>&1
		rc=$?
		t1=$(date +%s%N)
		WALL=$(echo "$t0 $t1" | awk '{printf "%.3f", ($2-$1)/1e9}')
		RSS=0 CPU=0
	fi
	return $rc
}
# line LABEL: one result line from WALL, CPU, RSS, n and bytes
line() {
	printf "  %-36s %7.2f s %s  CPU %6.2f s  RSS %4d MB\n" "$1" "$WALL" "$(rate "$n" "$bytes" "$WALL")" "$CPU" $((RSS / 1024))
}
rate() { awk -v n="$1" -v b="$2" -v s="$3" 'BEGIN { if (s <= 0) s = 0.001; printf "%8.0f msgs/s %7.1f MB/s", n/s, b/1048576/s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a <= 0) a = 0.001; printf "%.1f", b/a }'; }

# An mboxrd into a maildir (cur/), unescaped: the same bytes import reads.
mbox_to_maildir() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import gzip, os, re, sys
src, md = sys.argv[1], sys.argv[2]
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(md, d), exist_ok=True)
f = gzip.open(src, "rb") if src.endswith(".gz") else open(src, "rb")
esc = re.compile(rb"^>(>*From )")
n, cur = 0, None
def flush(lines):
    global n
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]          # the separator line
    if not lines:
        return
    n += 1
    with open(os.path.join(md, "cur", "%d.%06d.bench:2,S" % (1700000000 + n, n)), "wb") as o:
        o.write(b"".join(lines))
prev_blank = True
for line in f:
    if line.startswith(b"From ") and prev_blank:
        flush(cur or [])
        cur = []
    elif cur is not None:
        cur.append(esc.sub(rb"\1", line))
    prev_blank = line in (b"\n", b"\r\n")
flush(cur or [])
print(n)
EOF
}

# bench_import LABEL MBOX: the whole import comparison on one set of mails.
bench_import() {
	label=$1 mbox=$2
	md="$W/$label-maildir"
	n=$(mbox_to_maildir "$mbox" "$md")
	bytes=$(du -sb "$md/cur" | awk '{print $1}')
	mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b/1048576 }')
	echo "--- import: $label, $n mails, $mb MB (raw bytes), $(nproc) cores"
	sync

	run "$label-floor" "$KS" parse-only --jobs 1 "$mbox"
	FLOOR=$WALL
	FLOOR_CPU=$CPU
	line "gmime parse only (1 thread)"

	rm -rf "$W/$label-db"
	run "$label-import" "$KS" --db "$W/$label-db" import "$mbox"
	OURS=$WALL OURS_RSS=$RSS
	OURS_CPU=$CPU
	line "kvmarm-store import (mbox)"
	head -3 "$W/$label-import.out" | tr '\n' ' ' | sed 's/^/    /; s/ $/\n/'
	store_bytes=$(du -sb "$W/$label-db" | awk '{print $1}')

	rm -rf "$W/$label-db1"
	run "$label-importj" "$KS" --db "$W/$label-db1" import --jobs "$(nproc)" "$mbox"
	line "kvmarm-store import (mbox, --jobs $(nproc))"
	rm -rf "$W/$label-db1"

	rm -rf "$W/$label-dbm"
	run "$label-importm" "$KS" --db "$W/$label-dbm" import "$md"
	OURS_MD=$WALL
	line "kvmarm-store import (maildir)"
	rm -rf "$W/$label-dbm"

	NM=0 MU=0 NM_CPU=0 MU_CPU=0
	if [ "$PEERS" != 0 ] && have notmuch; then
		cat >"$W/notmuch-config" <<EOF
[database]
path=$md
[user]
name=Bench
primary_email=bench@example.org
[new]
tags=unread;inbox;
ignore=
[search]
exclude_tags=
[maildir]
synchronize_flags=false
EOF
		rm -rf "$md/.notmuch"
		sync
		if run "$label-notmuch" env NOTMUCH_CONFIG="$W/notmuch-config" notmuch new --quiet; then
			NM=$WALL NM_CPU=$CPU
			line "notmuch new"
		else
			echo "  notmuch new failed: $(tail -2 "$W/$label-notmuch.out")"
		fi
		rm -rf "$md/.notmuch"
	fi
	if [ "$PEERS" != 0 ] && have mu; then
		rm -rf "$W/muhome"
		if mu init --muhome="$W/muhome" --maildir="$md" >"$W/mu-init.out" 2>&1; then
			sync
			if run "$label-mu" mu index --muhome="$W/muhome" --quiet; then
				MU=$WALL MU_CPU=$CPU
				line "mu index"
			else
				echo "  mu index failed: $(tail -2 "$W/$label-mu.out")"
			fi
		else
			echo "  mu init failed: $(tail -2 "$W/mu-init.out")"
		fi
		rm -rf "$W/muhome"
	fi
	echo "  ratios (same run; wall time, then CPU time; goals in brackets):"
	[ "$NM" != 0 ] && echo "    import vs notmuch new:       $(ratio "$OURS" "$NM")x faster, CPU $(ratio "$OURS_CPU" "$NM_CPU")x  [>= 15x]"
	[ "$MU" != 0 ] && echo "    import vs mu index:          $(ratio "$OURS" "$MU")x faster, CPU $(ratio "$OURS_CPU" "$MU_CPU")x  [>= 5x]"
	echo "    import rate / gmime-only:    $(ratio "$OURS" "$FLOOR"), CPU $(ratio "$OURS_CPU" "$FLOOR_CPU")  [>= 0.5]"
	echo "  store: $(awk -v s="$store_bytes" -v r="$bytes" -v n="$n" 'BEGIN { printf "%.1f MB on disk for %.1f MB raw: %.2f store bytes per raw byte, %.0f bytes per message", s/1048576, r/1048576, s/r, s/n }')"
	rm -rf "$md"
}

# time_cmd LABEL CMD...: mean/min of a whole command including process start.
time_cmd() {
	label=$1; shift
	if have hyperfine; then
		hyperfine -N --warmup 5 --runs 50 --export-json "$W/hf.json" "$*" >/dev/null 2>&1
		"$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("  %-36s mean %6.1f ms  min %6.1f ms  (hyperfine, 50 runs)" % (sys.argv[2], r["mean"] * 1000, r["min"] * 1000))' "$W/hf.json" "$label"
	else
		best=999999999 tot=0
		for i in $(seq 30); do
			t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
			d=$(( (t1 - t0) / 1000 )); tot=$((tot + d)); [ $d -lt $best ] && best=$d
		done
		printf "  %-36s mean %6.1f ms  min %6.1f ms  (loop, 30 runs)\n" "$label" "$(echo "$tot" | awk '{print $1/30/1000}')" "$(echo "$best" | awk '{print $1/1000}')"
	fi
}

echo "bench-store: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  (this machine is noisy: compare ratios within one run)"

if [ -f "$CORPUS" ]; then
	bench_import dev "$CORPUS"
	rm -rf "$W/dev-db"
else
	echo "--- dev corpus not found at $CORPUS: skipped"
fi

if [ "$NMSG" -gt 0 ]; then
	weeks=$(( (NMSG + 249) / 250 ))
	echo "--- generating $NMSG mails over $weeks weeks (kvgen.py --seed 42 --size 8000)"
	t0=$(date +%s)
	"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 42 --messages "$NMSG" --size 8000 --weeks "$weeks" \
		--start-date 2020-01-06 --format mboxrd --out "$W/gen.mbox" --quiet
	echo "  generated in $(( $(date +%s) - t0 )) s, $(du -sh "$W/gen.mbox" | cut -f1)"
	bench_import generated "$W/gen.mbox"
	rm -f "$W/gen.mbox"

	DB="$W/generated-db"
	echo "--- queries on the generated store ($NMSG mails)"
	mid=$(( weeks / 2 ))
	since=$("$PYTHON" -c 'import datetime,sys; print((datetime.date(2020,1,6)+datetime.timedelta(weeks=int(sys.argv[1]))).isoformat())' $mid)
	until=$("$PYTHON" -c 'import datetime,sys; print((datetime.date(2020,1,6)+datetime.timedelta(weeks=int(sys.argv[1])+1)).isoformat())' $mid)
	"$KS" --db "$DB" threads --since "$since" --until "$until" --json >"$W/week.json"
	echo "  week $since .. $until: $("$PYTHON" -c 'import json,sys; t=json.load(open(sys.argv[1])); print("%d threads, %d messages" % (len(t), sum(x["messages"] for x in t)))' "$W/week.json")"
	"$KS" --db "$DB" threads --since 2000-01-01 --until 2100-01-01 --json >"$W/all.json"
	set -- $("$PYTHON" -c '
import json, sys
t = min(json.load(open(sys.argv[1])), key=lambda t: abs(t["total_messages"] - 100))
print(t["thread_id"], t["total_messages"])' "$W/all.json")
	tid=$1 tn=$2
	time_cmd "kvmarm-store --help (process start)" "$KS" --help
	time_cmd "threads, one week (text)" "$KS" --db "$DB" threads --since "$since" --until "$until"
	time_cmd "threads, one week (--json)" "$KS" --db "$DB" threads --since "$since" --until "$until" --json
	time_cmd "show, thread of $tn messages" "$KS" --db "$DB" show "$tid"
	time_cmd "show --json, thread of $tn messages" "$KS" --db "$DB" show --json "$tid"
	echo "  goal: threads and show under 20 ms each, including process start"
fi
