#!/bin/sh
# 34-reporter-series.t - the series facts of the digest on a few generated
# mails (issue 12 section 2): a cover posted twice counts once in the
# series history; a "based on [1]" link is shown as "depends on" (JSON
# series.depends_on, Markdown "Depends on" / "依赖"), never as a version;
# several newer versions give one "new_version" event naming the newest
# posted before the window's end.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
KR="$KV_BUILD/kvmarm-reporter"
"$PYTHON" - "$T/mail.mbox" <<'PY'
import email.utils, sys
def mail(mid, frm, subj, date, body="A cover letter.\n"):
    # the envelope line carries the mail's own date: the store takes it
    # when the Date header is later than the envelope
    env = email.utils.parsedate_to_datetime(date).strftime("%a %b %d %H:%M:%S %Y")
    return ("From %s " + env + "\nFrom: %s\nTo: kvmarm@lists.linux.dev\n"
            "List-Id: <kvmarm.lists.linux.dev>\nSubject: %s\nDate: %s\nMessage-ID: <%s>\n"
            "Content-Type: text/plain; charset=utf-8\n\n%s\n") % (frm.split("<")[1][:-1], frm, subj, date, mid, body)
out = [
    mail("v1@x", "Ana <ana@x>", "[PATCH 0/2] KVM: arm64: Shiny", "Mon, 26 Feb 2024 10:00:00 +0000"),
    mail("v2a@x", "Ana <ana@x>", "[PATCH v2 0/2] KVM: arm64: Shiny", "Mon, 04 Mar 2024 10:00:00 +0000"),
    mail("v2b@x", "Ana <ana@x>", "[PATCH v2 0/2] KVM: arm64: Shiny", "Mon, 04 Mar 2024 10:01:00 +0000"),
    mail("base@y", "Bo <bo@y>", "[PATCH 0/3] KVM: arm64: The base", "Mon, 04 Mar 2024 11:00:00 +0000"),
    mail("dep@z", "Cy <cy@z>", "[PATCH 0/2] KVM: arm64: On the base", "Tue, 05 Mar 2024 10:00:00 +0000",
         "This series is based on Bo's work [1].\n\n[1] https://lore.kernel.org/r/base@y\n"),
    # Fold: v1 answered this week, v2 and v3 out before the week's end, v4 after it
    mail("f1@d", "Di <di@d>", "[PATCH] KVM: arm64: Fold the events", "Tue, 20 Feb 2024 10:00:00 +0000"),
    mail("f2@d", "Di <di@d>", "[PATCH v2] KVM: arm64: Fold the events", "Tue, 27 Feb 2024 10:00:00 +0000"),
    mail("f3@d", "Di <di@d>", "[PATCH v3] KVM: arm64: Fold the events", "Wed, 06 Mar 2024 10:00:00 +0000"),
    mail("f4@d", "Di <di@d>", "[PATCH v4] KVM: arm64: Fold the events", "Tue, 12 Mar 2024 10:00:00 +0000"),
    mail("f1r@e", "Ed <ed@e>", "Re: [PATCH] KVM: arm64: Fold the events", "Mon, 04 Mar 2024 12:00:00 +0000",
         "A late question on v1.\n").replace("Message-ID: <f1r@e>", "Message-ID: <f1r@e>\nIn-Reply-To: <f1@d>"),
]
open(sys.argv[1], "w").write("".join(out))
PY
"$KS" --db "$T/db" import "$T/mail.mbox" > /dev/null 2>&1
ok $? "imported the covers"
printf '[reporter]\ntimezone = UTC\nlanguage = en\n' > "$T/conf"
KVMARM_NOW=2024-03-11T00:00:00Z "$KR" --config "$T/conf" --db "$T/db" --once --week 2024-W10 \
	--no-send --format json,md --output "$T/out" > /dev/null 2> "$T/err"
ok $? "digest 2024-W10"
"$PYTHON" - "$T/out/2024-W10.json" > "$T/facts" <<'PY'
import json, sys
for t in json.load(open(sys.argv[1]))["threads"]:
    s = t["series"] or {}
    print(t["root_message_id"], " ".join("v%d:%s" % (v["version"], v["message_id"]) for v in s.get("versions", [])),
          "deps=" + ",".join(d["message_id"] for d in s.get("depends_on", [])))
PY
is "$(grep '^v2a@x' "$T/facts")" "v2a@x v1:v1@x v2:v2a@x deps=" "first post of a double-posted v2: v2 once"
is "$(grep '^v2b@x' "$T/facts")" "v2b@x v1:v1@x v2:v2b@x deps=" "second post: v2 once, itself"
is "$(grep '^dep@z' "$T/facts")" "dep@z v1:dep@z deps=base@y" "based on [1]: depends on, not a version"
is "$(grep '^base@y' "$T/facts")" "base@y v1:base@y deps=" "the base has no dependency"
"$PYTHON" - "$T/out/2024-W10.json" > "$T/events" <<'PY'
import json, sys
for t in json.load(open(sys.argv[1]))["threads"]:
    print(t["root_message_id"], " ".join("%s:%s:%s" % (e["status"], e["detail"], e["date"])
                                         for e in t["events"] if e["status"] == "new_version"))
PY
is "$(grep '^f1@d' "$T/events")" "f1@d new_version:v3:2024-03-06T10:00:00Z" \
	"v1 with v2 and v3 out: one new_version event, naming v3 (not v4, posted after the week)"
is "$(grep '^f3@d' "$T/events")" "f3@d " "v3: no newer version as of the week's end"
# (the escaper puts a U+2060 WORD JOINER before every '@': no GFM autolink)
WJ=$(printf '\342\201\240')
grep -q "^- \*\*🔗 Depends on\*\*: \[base${WJ}@y\](https://lore.kernel.org/" "$T/out/2024-W10.md"
ok $? "Markdown: a Depends on line with the lore link"
printf '[reporter]\ntimezone = UTC\nlanguage = zh\n' > "$T/conf.zh"
KVMARM_NOW=2024-03-11T00:00:00Z "$KR" --config "$T/conf.zh" --db "$T/db" --once --week 2024-W10 \
	--no-send --format md --output "$T/out.zh" > /dev/null 2>&1
grep -q "^- \*\*🔗 依赖\*\*: \[base${WJ}@y\]" "$T/out.zh/2024-W10.md"
ok $? "Markdown zh: 依赖"
done_testing
