#!/bin/sh
# 40-llm-reporter: kvmarm-reporter with [llm] pointed at the Chat Completions
# stand-in (tests/lib/llm_server.py) on 127.0.0.1: every thread of the
# generator's digest week gets the model's summary, the key travels only in
# the Authorization header, a second run sends nothing (cache), a failing
# service gives every thread its extractive summary with the fallback marker
# and the digest still comes out, and links in the model's text never reach
# the Markdown or HTML. Issue 14 item 11: llm_error is one fixed word (no
# server text, no URL), a 100 KB answer is a failure, kernel words in an
# answer survive (escaped), bidi controls and NUL do not.
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
"$PYTHON" - "$T/c/2024-W10.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
errs = {t["summary"].get("llm_error") for t in d["threads"]}
print("# llm_error values: %s" % sorted(errs))
sys.exit(0 if errs == {"http_status"} else 1)
EOF
ok $? "the JSON says why, in one fixed word (http_status)"
grep -q -e '127\.0\.0\.1' -e 'HTTP 500' "$T/c/2024-W10.json" "$T/c/2024-W10.md" "$T/c/2024-W10.html"
ok $((1 - $?)) "neither the endpoint URL nor the server's status text reaches the digest"
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

# A hostile server's error text never reaches the digest, only the log;
# the digest carries fixed reason words only (issue 14 item 11).
config errtext-model 0
echo errtext > "$T/mode"
run "$T/e"
is "$?" 0 "ran against a server answering 400 with hostile text"
grep -q -e SERVER_SECRET_TEXT -e 'evil\.example/e' "$T/e/2024-W10.json" "$T/e/2024-W10.md" "$T/e/2024-W10.html"
ok $((1 - $?)) "the server's error text is in no digest file"
"$PYTHON" - "$T/e/2024-W10.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
words = {"timeout", "connect", "http_status", "bad_json", "too_long", "refused", "deadline", "setup", "failed"}
errs = [t["summary"].get("llm_error") for t in d["threads"]]
print("# llm_error values: %s" % sorted(set(errs)))
sys.exit(0 if errs and all(e in words for e in errs) and "http_status" in errs else 1)
EOF
ok $? "llm_error holds only the fixed reason words"

# An answer of 100 KB is a failure, not a summary cut short.
config huge-model 0
echo huge > "$T/mode"
run "$T/h"
is "$?" 0 "ran against a server answering 100 KB"
is "$(sources "$T/h/2024-W10.json")" "extractive-fallback" "an over-long answer falls back to the extractive summary"
grep -q '"llm_error": "too_long"' "$T/h/2024-W10.json"
ok $? "llm_error: too_long"

# Kernel words survive the cleaner; the renderers escape them.
config kernel-model 0
echo kernel > "$T/mode"
run "$T/k"
is "$?" 0 "ran with an answer in kernel words"
grep -q 'kvm_init()' "$T/k/2024-W10.json" && grep -q '<linux/kvm.h>' "$T/k/2024-W10.json" &&
	grep -q 'the \.config' "$T/k/2024-W10.json"
ok $? "json: kvm_init(), <linux/kvm.h> and 'the .config' kept"
grep -q 'kvm_init()' "$T/k/2024-W10.html" && grep -q '&lt;linux/kvm.h&gt;' "$T/k/2024-W10.html"
ok $? "html: kvm_init() kept, <linux/kvm.h> escaped"
grep -q '<linux/kvm.h>' "$T/k/2024-W10.html"
ok $((1 - $?)) "html: <linux/kvm.h> never raw"
"$PYTHON" - "$T/k" <<'EOF'
import sys
bad = [f for f in ("2024-W10.md", "2024-W10.html", "2024-W10.json")
       if any(c in open(sys.argv[1] + "/" + f, encoding="utf-8").read()
              for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\x00")]
print("# files with bidi controls or NUL: %s" % bad)
sys.exit(1 if bad else 0)
EOF
ok $? "no bidi control or NUL in any digest file"

done_testing
