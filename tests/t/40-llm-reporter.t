#!/bin/sh
# 40-llm-reporter: kvmarm-reporter with [llm] pointed at the Chat Completions
# stand-in (tests/lib/llm_server.py) on 127.0.0.1: every thread of the
# generator's digest week gets the model's summary, the key travels only in
# the Authorization header, a second run sends nothing (cache), a failing
# service gives every thread its extractive summary with the fallback marker
# and the digest still comes out, and links in the model's text never reach
# the Markdown or HTML.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"

command -v kvmarm-reporter >/dev/null && command -v kvmarm-store >/dev/null ||
	skip_all "kvmarm-reporter / kvmarm-store not built"

"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 1 --scenario digest --out "$T/w.mbox" \
	--manifest "$T/man.json" --quiet
ok $? "generator wrote the digest scenario"
kvmarm-store --db "$T/db" import "$T/w.mbox" > "$T/import.out" 2>&1
ok $? "imported"

"$PYTHON" "$KV_SRC/tests/lib/llm_server.py" --port-file "$T/port" --pid-file "$T/pid" \
	--log "$T/req.log" --mode-file "$T/mode" --timeout 120 &
track_pid $!
wait_for_file "$T/port" 100
ok $? "llm test server started"
PORT=$(cat "$T/port")

KEY=sk-e2e-91c0ffee
export KVMARM_LLM_API_KEY="$KEY"
config() {   # $1 model, $2 retries
	cat > "$T/cfg.ini" <<EOF
[llm]
base_url = http://127.0.0.1:$PORT/v1
model = $1
retries = $2
timeout = 5
deadline = 60
max_concurrency = 3
EOF
}
run() {   # $1 output dir
	KVMARM_NOW=2024-03-11T00:00:00Z kvmarm-reporter --config "$T/cfg.ini" --db "$T/db" --once \
		--week 2024-W10 --no-send --output "$1" --format md,html,json --lang en \
		> "$1.out" 2> "$1.err"
}
nreq() { [ -f "$T/req.log" ] && wc -l < "$T/req.log" | tr -d ' ' || echo 0; }
sources() { "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(sorted(set(t["summary"]["source"] for t in d["threads"]))))' "$1"; }
nthreads() { "$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["threads"]))' "$1"; }

echo normal > "$T/mode"
config test-model 2
run "$T/a"
is "$?" 0 "reporter ran with the LLM"
N=$(nthreads "$T/a/2024-W10.json")
is "$(sources "$T/a/2024-W10.json")" "llm" "every thread's summary came from the model"
R1=$(nreq)
ok $([ "$R1" -ge "$N" ] && echo 0 || echo 1) "at least one request per thread ($R1 for $N threads)"
grep -q "The author posted the series and a reviewer answered" "$T/a/2024-W10.md"
ok $? "the model's text is in the Markdown digest"
"$PYTHON" - "$T/req.log" "$KEY" <<'EOF'
import json, sys
key = sys.argv[2]
bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["headers"].get("Authorization") != "Bearer " + key:
        bad += 1
    if key in json.dumps(r["body"]):
        bad += 1
sys.exit(1 if bad else 0)
EOF
ok $? "the key is in every Authorization header and in no body"
grep -q "$KEY" "$T/a.err" "$T/a.out" "$T/a/2024-W10.md" "$T/a/2024-W10.json"
ok $((1 - $?)) "the key is in no log and no output"

echo 500 > "$T/mode"
run "$T/b"
is "$?" 0 "second run ran"
is "$(nreq)" "$R1" "second run: zero requests (cache)"
is "$(sources "$T/b/2024-W10.json")" "llm" "second run: the cached summaries"

# A different model misses the cache; the service fails: fallback for all.
config other-model 1
rm -f "$T/req.log"
echo 500 > "$T/mode"
run "$T/c"
is "$?" 0 "the digest still comes out when the service fails"
is "$(sources "$T/c/2024-W10.json")" "extractive-fallback" "every thread falls back to its extractive summary"
grep -q '"llm_error": ".*HTTP 500' "$T/c/2024-W10.json"
ok $? "the JSON says why"
is "$(nreq)" "$((N * 2))" "each thread tried twice (retries = 1)"

# Links in the model's answer never reach the digest.
config link-model 0
echo links > "$T/mode"
run "$T/d"
is "$?" 0 "ran with an answer full of links"
# (the generated week has a hostile sender of its own, so look for what the
# model's answer carried: evil.example/x, /y, and the links themselves)
grep -q -e 'evil\.example/[xy]' -e 'href="https://evil' "$T/d/2024-W10.md" "$T/d/2024-W10.html" "$T/d/2024-W10.json"
ok $((1 - $?)) "no injected link in Markdown, HTML or JSON"
"$PYTHON" - "$T/d/2024-W10.json" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
bad = [t["summary"] for t in d["threads"]
       if t["summary"]["source"] == "llm" and
       any(re.search(r"https?:|www\.|\]\(|<script|<a ", t["summary"][k]) for k in ("about", "before", "week"))]
n = sum(1 for t in d["threads"] if t["summary"]["source"] == "llm")
print("# %d llm summaries, %d with links" % (n, len(bad)))
sys.exit(1 if bad or not n else 0)
EOF
ok $? "the model's summaries in the JSON carry no link, markup link or script"

done_testing
