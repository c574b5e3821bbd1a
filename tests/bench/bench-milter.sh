#!/bin/sh
# bench-milter.sh - what a milter costs Postfix, in one run: smtp-source ->
# private Postfix on 127.0.0.1 -> smtp-sink, 10 sessions, 8 KB and 1 MB
# messages, with no milter, with tests/tools/accept_milter (a libmilter
# filter that accepts everything: the floor for any libmilter filter) and
# with kvmarm-milter recording every mail. Prints messages/s of each, the
# ratio kvmarm/accept (goal >= 0.95), kvmarm-milter's time in
# end-of-message (p50/p99, goal p99 < 2 ms at 8 KB) and its peak RSS.
# Also one run over TCP (inet socket) to show the Nagle stall is absent.
# Prints numbers; never fails because the machine is slow.
#
#   sh tests/bench/bench-milter.sh         (as root; KV_BUILD, KV_SRC as for the tests)
#   BENCH_N=4000 BENCH_N_BIG=200 ...       more messages
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
. "$KV_SRC/tests/lib/postfix.sh"

N=${BENCH_N:-2000}
NBIG=${BENCH_N_BIG:-100}
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

# run NAME SIZE COUNT MILTER_KIND [SOCKET]  -> prints one line
run() {
	name=$1 size=$2 count=$3 kind=$4 sock=${5:-unix:$T/$1.sock}
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
socket = $sock
socket_mode = 0666
spool_dir = $T/$name.spool
commit_interval_ms = ${BENCH_COMMIT_MS:-0}
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
	t0=$(now_ms)
	smtp-source -s $SESSIONS -m "$count" -l "$size" -f bench@example.org \
		-t kvmarm@lists.linux.dev -S kvbench 127.0.0.1:$port > /dev/null 2>&1
	t1=$(now_ms)
	pf_wait_queue "$T/pf-$name" 3000
	t2=$(now_ms)
	rss=""
	[ -n "$mpid" ] && rss=$(awk '/VmHWM/ {print $2 " kB"}' /proc/$mpid/status 2>/dev/null)
	pf_stop "$T/pf-$name"
	kill $sinkpid 2>/dev/null; wait $sinkpid 2>/dev/null
	eom=""
	if [ -n "$mpid" ]; then
		kill -TERM $mpid
		wait $mpid 2>/dev/null
		eom=$(sed -n 's/.*eom latency over \([0-9]*\) mails: p50 \([0-9]*\) us, p99 \([0-9]*\) us.*/eom p50 \2 us p99 \3 us (\1 mails)/p' "$T/$name.mlog")
	fi
	rate=$(awk -v n="$count" -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", n * 1000 / (ms ? ms : 1) }')
	drain=$(awk -v n="$count" -v ms=$((t2 - t0)) 'BEGIN { printf "%.1f", n * 1000 / (ms ? ms : 1) }')
	printf '%-22s %5s x %7s B: %7s msg/s accepted, %7s msg/s delivered  %s %s\n' \
		"$name" "$count" "$size" "$rate" "$drain" "${rss:+peak RSS $rss}" "$eom"
	echo "$rate" > "$T/$name.rate"
	rm -rf "$T/$name.db" "$T/pf-$name"
}

echo "# bench-milter: $(nproc) cores, $SESSIONS sessions, Postfix $(postconf -d -h mail_version 2>/dev/null)"
for s in 8192 1048576; do
	c=$N; [ $s -gt 100000 ] && c=$NBIG
	run "none-$s" $s $c none
	run "accept-$s" $s $c accept
	run "kvmarm-$s" $s $c kvmarm
	awk -v a="$(cat "$T/accept-$s.rate")" -v k="$(cat "$T/kvmarm-$s.rate")" -v n="$(cat "$T/none-$s.rate")" \
		-v s=$s 'BEGIN { printf "# %d B: kvmarm/accept = %.2f (goal >= 0.95), accept/none = %.2f\n", s, k / a, a / n }'
done
# TCP: every step answered, so no 40 ms Nagle/delayed-ACK stall per mail.
ip=$(free_port)
run "kvmarm-inet-8192" 8192 $((N / 4)) kvmarm "inet:$ip@127.0.0.1"
exit 0
