#!/bin/sh
# tests/bench/bench-llm.sh - numbers for the LLM summaries (issue 5):
#  1. input tokens per weekly digest for each of the 8 dev-corpus weeks,
#     ours against the naive approach (every mail whole), and how many of
#     the window's non-quoted sentences reach the model;
#  2. wall time of one digest against the test server answering in 2 s,
#     for max_concurrency 1, 4 and 8.
# Prints numbers; never fails because the machine is slow. Skips (saying
# so) when the dev corpus is not there. Uses the hidden bench options of
# the unit test binary t_llm (built by `make`).
set -u
: "${KV_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${KV_BUILD:=$KV_SRC/build}"
: "${PYTHON:=/usr/bin/python3}"
CORPUS="${KV_CORPUS:-$KV_SRC/../shared/corpus/kvmarm-2021-dev.mbox.gz}"
DRV="$KV_BUILD/tests/t_llm"

if [ ! -f "$CORPUS" ]; then
	echo "bench-llm: skipped: dev corpus not found at $CORPUS"
	exit 0
fi
if [ ! -x "$DRV" ]; then
	echo "bench-llm: skipped: $DRV not built (run make first)"
	exit 0
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/kvbench-llm.XXXXXX")
SRV=""
cleanup() {
	[ -z "$SRV" ] || kill "$SRV" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench-llm: importing $CORPUS"
"$DRV" --bench-import "$T/store" "$CORPUS" || { echo "bench-llm: import failed"; exit 1; }

echo "bench-llm: input tokens per weekly digest (estimate: ASCII/4 + 1 per non-ASCII code point)"
echo "week      threads mails   ours      naive(win) ours/naive  naive(thread) ours/naive  sentences reached"
sum_o=0; sum_n=0; sum_na=0; sum_s=0; sum_r=0
for w in 0 1 2 3 4 5 6 7; do
	since=$(date -u -d "2021-01-25 +$((w * 7)) days" +%F)
	until=$(date -u -d "2021-01-25 +$((w * 7 + 7)) days" +%F)
	line=$("$DRV" --bench-tokens "$T/store" "$since" "$until") || { echo "bench-llm: $since failed"; continue; }
	eval "$(echo "$line" | tr ' ' '\n' | grep -E '^[a-z_]+=' | sed 's/%//')"
	printf '2021-W%02d  %7s %5s %9s %10s %10s %13s %10s %9s %7s\n' $((w + 4)) "$threads" "$mails" "$ours" \
		"$naive_window" "$ratio_window%" "$naive_thread" "$ratio_thread%" "$sentences" "$reached"
	sum_o=$((sum_o + ours)); sum_n=$((sum_n + naive_window)); sum_na=$((sum_na + naive_thread))
	sum_s=$((sum_s + sentences)); sum_r=$((sum_r + reached))
done
echo "total: ours=$sum_o naive_window=$sum_n naive_thread=$sum_na" \
	"ours/naive_window=$(awk "BEGIN{printf \"%.1f\", $sum_n ? 100*$sum_o/$sum_n : 0}")%" \
	"ours/naive_thread=$(awk "BEGIN{printf \"%.1f\", $sum_na ? 100*$sum_o/$sum_na : 0}")%" \
	"sentences=$sum_s reached=$sum_r ($(awk "BEGIN{printf \"%.2f\", $sum_s ? 100*$sum_r/$sum_s : 0}")%) goal: <= 20%"

echo "bench-llm: wall time of one digest (week 2021-W11), test server answering in 2 s"
"$PYTHON" "$KV_SRC/tests/lib/llm_server.py" --port-file "$T/port" --pid-file "$T/pid" \
	--log "$T/requests.log" --modes slow:2 --timeout 600 &
SRV=$!
i=0; while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat "$T/port" 2>/dev/null || echo 0)
for c in 4 16; do
	rm -rf "$T/wstore"; cp -r "$T/store" "$T/wstore"   # a fresh cache each time
	rm -f "$T/requests.log"
	out=$("$DRV" --bench-wall "$T/wstore" 2021-03-15 2021-03-22 "http://127.0.0.1:$port/v1" "$c" 2>/dev/null)
	echo "$out requests=$(wc -l < "$T/requests.log" 2>/dev/null || echo 0) (2 s each)"
done
echo "(a thread over max_input_tokens is summarised in parts one after another, so the"
echo " longest such chain also bounds the wall time: parts x 2 s)"
