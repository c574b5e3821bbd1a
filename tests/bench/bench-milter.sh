#!/bin/sh
# bench-milter.sh - what a milter costs Postfix, in one run: smtp-source ->
# private Postfix on 127.0.0.1 -> smtp-sink, 10 sessions, 8 KB and 1 MB
# messages, with no milter, with tests/tools/accept_milter (a libmilter
# filter that accepts everything: the floor for any libmilter filter) and
# with kvmarm-milter recording every mail. Prints messages/s of each, the
# ratio kvmarm/accept (goal >= 0.95), kvmarm-milter's time in
# end-of-message (p50/p99, goal p99 < 2 ms at 8 KB), its CPU time per mail
# and peak RSS, and where the journal's time went. The machine's rate
# drifts by 10-20 % between runs, so at 8 KB accept-only and kvmarm runs
# alternate for BENCH_ROUNDS rounds and the ratio is taken of the medians.
# kvmarm runs with journal_sync = after-answer (the default) and, once,
# before-answer. Also one run over TCP (inet socket) to show the Nagle
# stall is absent. Prints numbers; never fails because the machine is slow.
#
#   sh tests/bench/bench-milter.sh         (as root; KV_BUILD, KV_SRC as for the tests)
#   BENCH_N=4000 BENCH_N_BIG=200 BENCH_ROUNDS=5 ...   more messages, more rounds
#   BENCH_N_LONG=8000 (default; 0 skips): one sustained pair, accept-only and
#   kvmarm, long enough that the store records during the burst
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
. "$KV_SRC/tests/lib/postfix.sh"

N=${BENCH_N:-2000}
NBIG=${BENCH_N_BIG:-100}
NLONG=${BENCH_N_LONG:-8000}
ROUNDS=${BENCH_ROUNDS:-3}
SESSIONS=10

if [ "$(id -u)" != 0 ] || ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null; then
	echo "# bench-milter: skipped (needs root, postfix, smtp-source)"; exit 0
fi
for b in kvmarm-milter tools/accept_milter; do
	[ -x "$KV_BUILD/$b" ] || { echo "# bench-milter: skipped ($KV_BUILD/$b not built)"; exit 0; }
done
chmod 755 "$T"

# smtp-source's mails carry no List-Id: Postfix adds the list's to every
# mail (header_checks run before milters see the message), so
# kvmarm-milter records them all.
printf '/^Subject: kvbench/ PREPEND List-Id: KVM ARM <kvmarm.lists.linux.dev>\n' > "$T/hc"

now_ms() { date +%s%3N; }

# run NAME SIZE COUNT MILTER_KIND [SOCKET [JOURNAL_SYNC]]  -> prints one line
run() {
	name=$1 size=$2 count=$3 kind=$4 sock=${5:-unix:$T/$1.sock} jsync=${6:-after-answer}
	sinkport=$(free_port); port=$(free_port)
	smtp-sink -u postfix 127.0.0.1:$sinkport 1024 > "$T/$name.sink" 2>&1 &
	sinkpid=$!
	wait_for_port "$sinkport" 50 || { echo "# $name: smtp-sink did not start: $(cat "$T/$name.sink")"; return; }
	mpid=""
	case $kind in
	none) pfmilter="" ;;
	accept)
		"$KV_BUILD/tools/accept_milter" "$sock" 2> "$T/$name.mlog" &
		mpid=$!
		;;
	kvmarm)
		cat > "$T/$name.conf" <<EOF
[milter]
run_as_root = true
socket = $sock
socket_mode = 0666
spool_dir = $T/$name.spool
commit_interval_ms = ${BENCH_COMMIT_MS:-0}
journal_sync = $jsync
[store]
path = $T/$name.db
EOF
		"$KV_BUILD/kvmarm-milter" --config "$T/$name.conf" -f 2> "$T/$name.mlog" &
		mpid=$!
		;;
	esac
	case $sock in
	unix:*) pfmilter=${sock}; [ "$kind" = none ] || wait_for_file "${sock#unix:}" 50; chmod 666 "${sock#unix:}" 2>/dev/null ;;
	inet:*) p=${sock#inet:}; p=${p%@*}; pfmilter="inet:127.0.0.1:$p"; [ "$kind" = none ] || wait_for_port "$p" 50 ;;
	esac
	[ "$kind" = none ] && pfmilter=""
	PF_EXTRA="header_checks = regexp:$T/hc
local_header_rewrite_clients =
smtpd_client_connection_count_limit = 0
default_process_limit = 200"
	pf_setup "$T/pf-$name" "$port" "relay:$sinkport" "$pfmilter" > /dev/null || return
	pf_start "$T/pf-$name" || return
	wait_for_port "$port" 50
	st0=$(head -1 /proc/stat)
	t0=$(now_ms)
	smtp-source -s $SESSIONS -m "$count" -l "$size" -f bench@example.org \
		-t kvmarm@lists.linux.dev -S kvbench 127.0.0.1:$port > /dev/null 2>&1
	t1=$(now_ms)
	st1=$(head -1 /proc/stat)
	# the whole machine while smtp-source ran: busy share and busy CPU
	# time per mail (all processes: Postfix, the milter, source, sink)
	mach=$(printf '%s\n%s\n' "$st0" "$st1" | awk -v n="$count" -v hz="$(getconf CLK_TCK)" '
		{ busy[NR] = $2 + $3 + $4 + $7 + $8; steal[NR] = $9; all[NR] = busy[NR] + $5 + $6 + $9 }
		END { b = busy[2] - busy[1]; a = all[2] - all[1]; st = steal[2] - steal[1]
		      printf "machine %d%% busy, %d%% stolen by the host, %.2f ms busy/mail", a ? 100 * b / a : 0, a ? 100 * st / a : 0, b * 1000 / hz / n }')
	pf_wait_queue "$T/pf-$name" 3000
	t2=$(now_ms)
	rss="" cpu="" jline=""
	if [ -n "$mpid" ]; then
		rss=$(awk '/VmHWM/ {print $2 " kB"}' /proc/$mpid/status 2>/dev/null)
		# utime + stime in clock ticks, exited threads included
		cpu=$(awk -v hz="$(getconf CLK_TCK)" -v n="$count" \
			'{ printf "%.2f ms CPU/mail", ($14 + $15) * 1000 / hz / n }' /proc/$mpid/stat 2>/dev/null)
	fi
	pf_stop "$T/pf-$name"
	kill $sinkpid 2>/dev/null; wait $sinkpid 2>/dev/null
	eom=""
	if [ -n "$mpid" ]; then
		kill -TERM $mpid
		wait $mpid 2>/dev/null
		eom=$(sed -n 's/.*eom latency over \([0-9]*\) mails: p50 \([0-9]*\) us, p99 \([0-9]*\) us.*/eom p50 \2 us p99 \3 us/p' "$T/$name.mlog")
		echo "$eom" > "$T/$name.eom"
		jline=$(sed -n 's/.*\(journal over .*\)/\1/p' "$T/$name.mlog")
	fi
	rate=$(awk -v n="$count" -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", n * 1000 / (ms ? ms : 1) }')
	drain=$(awk -v n="$count" -v ms=$((t2 - t0)) 'BEGIN { printf "%.1f", n * 1000 / (ms ? ms : 1) }')
	printf '%-24s %5s x %7s B: %7s msg/s accepted, %7s msg/s delivered  %s%s%s\n' \
		"$name" "$count" "$size" "$rate" "$drain" "${rss:+peak RSS $rss, }" "${cpu:+$cpu, }" "$eom"
	echo "    $mach"
	[ -n "$jline" ] && echo "    $jline"
	jline=""
	echo "$rate" > "$T/$name.rate"
	rm -rf "$T/$name.db" "$T/pf-$name"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# bench-milter: $(nproc) cores, $SESSIONS sessions, Postfix $(postconf -d -h mail_version 2>/dev/null), $ROUNDS rounds at 8 KB"
s=8192
run "none-$s" $s $N none
: > "$T/accept.rates"; : > "$T/kvmarm.rates"; : > "$T/round.ratios"
r=1
while [ $r -le "$ROUNDS" ]; do
	run "accept-$s-r$r" $s $N accept
	run "kvmarm-$s-r$r" $s $N kvmarm
	cat "$T/accept-$s-r$r.rate" >> "$T/accept.rates"
	cat "$T/kvmarm-$s-r$r.rate" >> "$T/kvmarm.rates"
	awk -v a="$(cat "$T/accept-$s-r$r.rate")" -v k="$(cat "$T/kvmarm-$s-r$r.rate")" -v r=$r \
		'BEGIN { printf "#   round %d: kvmarm/accept = %.2f\n", r, k / a }'
	awk -v a="$(cat "$T/accept-$s-r$r.rate")" -v k="$(cat "$T/kvmarm-$s-r$r.rate")" \
		'BEGIN { printf "%.3f\n", k / a }' >> "$T/round.ratios"
	r=$((r + 1))
done
run "kvmarm-before-$s" $s $N kvmarm "unix:$T/kvmarm-before-$s.sock" before-answer
a=$(median < "$T/accept.rates"); k=$(median < "$T/kvmarm.rates")
awk -v a="$a" -v k="$k" -v n="$(cat "$T/none-$s.rate")" -v b="$(cat "$T/kvmarm-before-$s.rate")" \
	'BEGIN { printf "# 8192 B medians: accept %.1f, kvmarm %.1f msg/s: kvmarm/accept = %.2f (goal >= 0.95); accept/none = %.2f; before-answer/accept = %.2f\n", a, k, k / a, a / n, b / a }'
echo "# 8192 B median of the per-round ratios: $(median < "$T/round.ratios") (rounds: $(sort -n "$T/round.ratios" | tr '\n' ' '))"
echo "# 8192 B kvmarm eom per round (goal p99 < 2 ms): $(cat "$T"/kvmarm-$s-r*.eom | tr '\n' ';')"

# Sustained: BENCH_N_LONG mails, several times the 16 MB journal, so the
# store thread records mails while the burst goes on (in the runs above it
# mostly records after the burst: it waits for a pause or a full journal).
if [ "$NLONG" -gt 0 ]; then
	run "accept-long-8192" 8192 "$NLONG" accept
	run "kvmarm-long-8192" 8192 "$NLONG" kvmarm
	awk -v a="$(cat "$T/accept-long-8192.rate")" -v k="$(cat "$T/kvmarm-long-8192.rate")" -v n="$NLONG" \
		'BEGIN { printf "# 8192 B sustained, %d mails: kvmarm/accept = %.2f (one round)\n", n, k / a }'
fi

s=1048576
run "none-$s" $s $NBIG none
run "accept-$s" $s $NBIG accept
run "kvmarm-$s" $s $NBIG kvmarm
awk -v a="$(cat "$T/accept-$s.rate")" -v k="$(cat "$T/kvmarm-$s.rate")" -v n="$(cat "$T/none-$s.rate")" \
	'BEGIN { printf "# 1048576 B: kvmarm/accept = %.2f, accept/none = %.2f\n", k / a, a / n }'

# TCP: every step answered, so no 40 ms Nagle/delayed-ACK stall per mail.
ip=$(free_port)
run "kvmarm-inet-8192" 8192 $((N / 4)) kvmarm "inet:$ip@127.0.0.1"
exit 0
