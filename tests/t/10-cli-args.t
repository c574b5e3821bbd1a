#!/bin/sh
# 10-cli-args.t - the command line of `kvmarm-store` as git and notmuch
# users expect it: options before or after the command and its arguments
# (permuted), `--` ends them, errors name the wrong token, exit codes 0 /
# 1 / 2; and one window rule for every command (no --since/--until: the
# whole store, also on an archive store whose mail is years old).
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"
"$PYTHON" "$KV_SRC/tests/gen/kvgen.py" --seed 3 --weeks 2 --out "$T/g.mbox" --manifest "$T/g.json" --quiet
ok $? "generator wrote two weeks of 2024 (an archive: all of it long before now)"
N=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$T/g.json")
DB="$T/db"
# the global option after the command and its argument
"$KS" import "$T/g.mbox" --db "$DB" >"$T/out" 2>"$T/err"
is "$?/$(head -1 "$T/out")" "0/imported $N" "import FILE --db DIR: --db after the argument"

# ---- options anywhere ----
ALL="--since 2000-01-01 --until 2100-01-01"
"$KS" --db "$DB" threads $ALL --json >"$T/ref.json"
ok $? "threads --db D ... --json (options after the command)"
"$KS" threads $ALL --json --db "$DB" | cmp -s - "$T/ref.json"
ok $? "threads ... --db D: the global option last"
"$KS" --json threads --db="$DB" $ALL | cmp -s - "$T/ref.json"
ok $? "--json before the command, --db=DIR after it"
"$KS" --since=2000-01-01 threads --until=2100-01-01 --db "$DB" --json | cmp -s - "$T/ref.json"
ok $? "--since=D before the command, --until=D after it"
TID=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["thread_id"])' "$T/ref.json")
"$KS" --db "$DB" show --tz Europe/London "$TID" >"$T/show1"
"$KS" show "$TID" --tz Europe/London --db "$DB" >"$T/show2"
ok $? "show THREAD --tz ZONE --db D: options after the argument"
cmp -s "$T/show1" "$T/show2"
ok $? "show: the same output wherever the options stand"
grep -q "(Europe/London)" "$T/show2"
ok $? "show THREAD --tz: the zone is used"
"$KS" --db "$DB" search subject:PATCH --limit 2 >"$T/out"
is "$?/$(wc -l <"$T/out" | tr -d ' ')" "0/2" "search TERM --limit 2"
"$KS" search --db "$DB" --limit=2 subject:PATCH --json | "$PYTHON" -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)) == 2 else 1)'
ok $? "search --db D --limit=2 TERM --json: options on both sides of the term"
"$KS" --db "$DB" msg "$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["root_message_id"])' "$T/ref.json")" --json >/dev/null
ok $? "msg ID --json: option after the argument"
"$KS" check --db "$DB" >/dev/null
ok $? "check --db D"
"$KS" --help >"$T/out"
is "$?" 0 "--help: exit 0"
"$KS" --db "$DB" threads --help >"$T/out"
is "$?/$(head -1 "$T/out" | cut -d" " -f1-3)" "0/usage: kvmarm-store threads" "COMMAND --help: that command's usage"
"$KS" --help stats >"$T/out"
is "$?/$(head -1 "$T/out" | cut -d" " -f1-3)" "0/usage: kvmarm-store stats" "--help COMMAND: that command's usage too"

# ---- `--` and arguments that start with '-' ----
"$KS" --db "$DB" search -subject:Re >/dev/null 2>"$T/err"
is "$?" 2 "search -subject:Re: exit 2 (usage)"
grep -q "unknown option '-subject:Re'" "$T/err"
ok $? "the error names the wrong token, not the command ($(head -1 "$T/err"))"
grep -q -- "search -- -subject:Re" "$T/err"
ok $? "the error shows how to pass it: after '--'"
"$KS" --db "$DB" search -- -subject:Re >/dev/null 2>"$T/err"
is "$?/$(cat "$T/err")" "0/" "search -- -subject:Re: a negated term, every message without Re (exit 0, no error)"
"$KS" --db "$DB" search -- --limit zzzz-no-such-word >/dev/null 2>"$T/err"
is "$?/$(cat "$T/err")" "1/" "after '--' even an option's name is a term"
"$KS" --db "$DB" search subject:PATCH -- --json >"$T/out" 2>&1
is "$?/$(head -c1 "$T/out")" "0/t" "'--json' after '--' is a (negated) term, not the option: thread lines, no JSON"
"$KS" import --db "$T/db-stdin" - <"$T/g.mbox" >"$T/out" 2>&1
is "$?/$(head -1 "$T/out")" "0/imported $N" "'-' alone is an argument (stdin), not an option"

# ---- usage errors: exit 2, naming what is wrong ----
err_case() { # WANT-IN-STDERR NAME ARGS...
	want=$1 name=$2
	shift 2
	"$KS" "$@" >/dev/null 2>"$T/err"
	rc=$?
	is "$rc" 2 "$name: exit 2"
	grep -q -- "$want" "$T/err"
	ok $? "$name: the error says '$want'"
}
err_case "unknown option '--bogus'" "unknown long option" --db "$DB" threads --bogus
err_case "unknown option '--raw'" "an option of another command" --db "$DB" threads --raw
err_case "unknown command 'thread'" "unknown command" --db "$DB" thread
err_case "no command given" "no command" --db "$DB"
err_case "'--db' needs a value" "--db without its value, after the command" threads --db
err_case "'--tz' needs a value" "--tz without its value" --db "$DB" show 1 --tz
err_case "'--json' takes no value" "--json=1" --db "$DB" threads --json=1
err_case "--limit: want a number" "--limit 0" --db "$DB" search x --limit 0
err_case "--top: want a number" "--top x" --db "$DB" stats --top x
err_case "bad date '2024-02-30x'" "bad --until" --db "$DB" export --until 2024-02-30x
err_case "until (2024-03-01T00:00:00Z) is not after since" "until before since" --db "$DB" threads --since 2024-03-10 --until 2024-03-01
err_case "unexpected argument 'extra'" "check with an argument" --db "$DB" check extra
err_case "no input given" "import without input" --db "$DB" import

# ---- one window rule: no bound = the whole store ----
NT=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/ref.json")
"$KS" --db "$DB" threads --json | cmp -s - "$T/ref.json"
ok $? "threads without a window: every thread of the archive store ($NT), as with an all-time window"
"$KS" --db "$DB" stats --json >"$T/st.json"
ok $? "stats without a window: exit 0"
"$PYTHON" - "$T/st.json" "$N" "$NT" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["messages"] == int(sys.argv[2]) and s["threads"] == int(sys.argv[3])
         and s["since"] is None and s["until"] is None else 1)
EOF
ok $? "stats without a window: all $N messages and $NT threads, since/until null (open)"
"$KS" --db "$DB" stats | grep -q '^window  *\* \.\. \*$'
ok $? "stats (text) shows the open window as '* .. *'"
is "$("$KS" --db "$DB" export | grep -c '^From ')" "$N" "export without a window: every message"
is "$("$KS" --db "$DB" search --output messages --json "*" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')" "$N" "search without a window: every message"
# one bound: open on the other side, the same for every command
MID=2024-03-11
W2=$("$PYTHON" -c '
import json, sys
print(sum(1 for m in json.load(open(sys.argv[1]))["messages"] if m["date"] >= sys.argv[2]))' "$T/g.json" "$MID")
is "$("$KS" --db "$DB" export --since $MID | grep -c '^From ')" "$W2" "export --since D: open end ($W2 messages)"
is "$("$KS" --db "$DB" stats --since $MID --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["messages"])')" "$W2" "stats --since D: the same $W2"
is "$("$KS" --db "$DB" search --output messages --since $MID --json "*" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')" "$W2" "search --since D: the same $W2"
is "$("$KS" --db "$DB" search --output messages --json since:$MID "*" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')" "$W2" "search since:D: the same as --since D"
is "$("$KS" --db "$DB" threads --since $MID --json | "$PYTHON" -c 'import json,sys; print(sum(t["messages"] for t in json.load(sys.stdin)))')" "$W2" "threads --since D: the window's $W2 messages"
for c in threads stats export; do
	"$KS" --db "$DB" $c --until 2000-01-01 >/dev/null 2>&1
	is "$?" 1 "$c on a window with no mail: exit 1"
done
"$KS" --db "$DB" search --until 2000-01-01 "*" >/dev/null 2>&1
is "$?" 1 "search on a window with no mail: exit 1"
"$KS" --db "$DB" stats --json --until 2000-01-01 2>/dev/null | "$PYTHON" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["messages"] == 0 else 1)'
ok $? "stats on an empty window still prints its (zero) counts"

# ---- a bad value in the shared config stops every program, naming it ----
printf '[store]\npath = %s\n\n[milter]\nsyslog_facility = mial\n' "$DB" >"$T/bad.conf"
"$KS" --config "$T/bad.conf" threads >/dev/null 2>"$T/err"
is "$?" 3 "kvmarm-store --config with syslog_facility = mial: refused (exit 3)"
grep -q "bad.conf:5: \[milter\] syslog_facility = 'mial' is not a syslog facility" "$T/err"
ok $? "the error names file, line, key and value ($(cat "$T/err"))"
if [ -x "$KV_BUILD/kvmarm-milter" ]; then
	"$KV_BUILD/kvmarm-milter" --config "$T/bad.conf" -f >/dev/null 2>"$T/err"
	rc=$?
	ok $([ $rc -ne 0 ] && echo 0 || echo 1) "kvmarm-milter -f refuses it too (exit $rc)"
	grep -q "syslog_facility = 'mial'" "$T/err"
	ok $? "kvmarm-milter names key and value"
fi
printf '[milter]\nlist_ids = a.example b.example\n[store]\npath = relative/db\n' >"$T/rel.conf"
"$KS" --config "$T/rel.conf" threads >/dev/null 2>"$T/err"
grep -q "rel.conf:4: \[store\] path = 'relative/db' is not an absolute path" "$T/err"
ok $? "a relative [store] path is refused, naming file and line"

done_testing
