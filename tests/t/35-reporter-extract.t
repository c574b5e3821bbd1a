#!/bin/sh
# 35-reporter-extract.t - the extractive summary says what was said, on
# mails written here (issue 13 section 1):
#  - a thread whose first stored mail is a reply ("ping?", its root never
#    stored): "about" is the original quoted in that reply, never "ping?";
#    "before" never says the thread started in this window (en and zh);
#  - the same with no quote: "about" falls back to the subject;
#  - a root stored in an earlier week: "about" is the root's own text;
#  - "this week" quotes the reply's point (an objection, a request, an
#    acceptance) and says whom it answers from In-Reply-To, not from the
#    subject (every reply here has the same subject).
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
KR="$KV_BUILD/kvmarm-reporter"
[ -x "$KR" ] && [ -x "$KS" ] || skip_all "kvmarm-reporter / kvmarm-store not built"

"$PYTHON" - "$T/mail.mbox" <<'PY'
import sys
def mail(mid, frm, subj, date, body, irt=None):
    h = ("From %s Mon Mar  4 10:00:00 2024\nFrom: %s\nTo: kvmarm@lists.linux.dev\n"
         "List-Id: <kvmarm.lists.linux.dev>\nSubject: %s\nDate: %s\nMessage-ID: <%s>\n"
         % (frm.split("<")[1][:-1], frm, subj, date, mid))
    if irt:
        h += "In-Reply-To: <%s>\nReferences: <%s>\n" % (irt, irt)
    return h + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n"
ping = ("ping?\n\nOn Mon, 19 Feb 2024 10:00:00 +0000, Pat Author <pat@x> wrote:\n"
        "> Hi all,\n>\n"
        "> The PMU is optional, so the trap setup has to check the ID registers\n"
        "> before touching any PMU register on the host. ORIGINAL_MARKER\n>\n"
        "> Signed-off-by: Pat Author <pat@x>\n> ---\n> diff --git a/a.c b/a.c\n> +int x;\n")
answer = ("On Tue, 05 Mar 2024, Pat Author wrote:\n> ping?\n\n"
          "I don't think trapping is the right fix here (OBJECTION_MARKER), please use the existing PMU "
          "predicate instead.\n\nThanks,\n\n\tM.\n")
out = [
    # A: root never stored; the first stored mail pings and quotes the original
    mail("a1@x", "Pat Author <pat@x>", "Re: [PATCH] KVM: arm64: Trap PMU access only when present",
         "Mon, 04 Mar 2024 10:00:00 +0000", ping, irt="never-stored@x"),
    mail("a2@x", "Mia Maint <mia@x>", "Re: [PATCH] KVM: arm64: Trap PMU access only when present",
         "Tue, 05 Mar 2024 10:00:00 +0000", answer, irt="a1@x"),
    # B: root never stored, no quote at all
    mail("b1@x", "Pat Author <pat@x>", "Re: [PATCH] KVM: arm64: Lonely ping",
         "Mon, 04 Mar 2024 11:00:00 +0000", "ping?\n", irt="never-stored-too@x"),
    # C: root in the week before, the answer this week
    mail("c0@x", "Ida Dev <ida@x>", "[PATCH] KVM: arm64: Save the vgic state once",
         "Mon, 26 Feb 2024 10:00:00 +0000",
         "The vgic state is saved twice on every exit; save it once. ROOT_MARKER\n\n"
         "Signed-off-by: Ida Dev <ida@x>\n---\n a.c | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)\n"),
    mail("c1@x", "Mia Maint <mia@x>", "Re: [PATCH] KVM: arm64: Save the vgic state once",
         "Wed, 06 Mar 2024 10:00:00 +0000",
         "On Mon, Ida Dev wrote:\n> The vgic state is saved twice\n\nApplied to next (ACCEPT_MARKER), thanks!\n", irt="c0@x"),
    # D: a patch and a chain of replies with one subject: 2 answers 1, 3 answers 2, 4 answers 2
    mail("d0@x", "Ida Dev <ida@x>", "[PATCH] KVM: arm64: Drop the stale cache",
         "Mon, 04 Mar 2024 12:00:00 +0000", "The cache goes stale on unmap; drop it.\n\nSigned-off-by: Ida Dev <ida@x>\n"),
    mail("d1@x", "Rex Review <rex@x>", "Re: [PATCH] KVM: arm64: Drop the stale cache",
         "Mon, 04 Mar 2024 13:00:00 +0000",
         "> drop it.\n\nPlease split the helper removal (REQUEST_MARKER) into its own patch.\n", irt="d0@x"),
    mail("d2@x", "Ida Dev <ida@x>", "Re: [PATCH] KVM: arm64: Drop the stale cache",
         "Mon, 04 Mar 2024 14:00:00 +0000",
         "> Please split the helper removal\n\nAgreed, I will split it out (AGREE_MARKER) in v2.\n", irt="d1@x"),
    mail("d3@x", "Mia Maint <mia@x>", "Re: [PATCH] KVM: arm64: Drop the stale cache",
         "Mon, 04 Mar 2024 15:00:00 +0000",
         "> Please split the helper removal\n\nI would rather keep it (KEEP_MARKER) in one patch, it is small.\n", irt="d1@x"),
]
open(sys.argv[1], "w").write("".join(out))
PY
"$KS" --db "$T/db" import "$T/mail.mbox" > /dev/null 2>&1
ok $? "imported the generated threads"

for lang in en zh; do
	printf '[reporter]\ntimezone = UTC\nlanguage = %s\n' "$lang" > "$T/conf.$lang"
	KVMARM_NOW=2024-03-11T00:00:00Z "$KR" --config "$T/conf.$lang" --db "$T/db" --once --week 2024-W10 \
		--no-send --format json --output "$T/out.$lang" > /dev/null 2> "$T/err.$lang"
	is "$?" 0 "$lang: digest built"
	"$PYTHON" - "$T/out.$lang/2024-W10.json" "$lang" > "$T/checks.$lang" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
zh = sys.argv[2] == "zh"
th = {t["root_message_id"]: t for t in d["threads"]}
def s(mid, part):
    return th[mid]["summary"][part]
checks = []
def check(name, cond, got=""):
    checks.append((name, bool(cond), got))
started = "始于本期" if zh else "started in this window"
a = s("a1@x", "about")
check("reply-rooted: about is the quoted original", "ORIGINAL_MARKER" in a and "The PMU is optional" in a, a)
check("reply-rooted: about never opens with the reply's own line", not a.lower().lstrip("(（").startswith("ping")
      and "ping?" not in a, a)
check("reply-rooted: about has no quoted trailer or diff", "Signed-off-by" not in a and "int x" not in a, a)
check("reply-rooted: before does not say it started in this window", started not in s("a1@x", "before"),
      s("a1@x", "before"))
w = s("a1@x", "week")
check("reply-rooted: week quotes the objection, answering the ping [1]",
      "OBJECTION_MARKER" in w and ("Mia Maint [2] 回复 Pat Author [1]" if zh else "Mia Maint [2] to Pat Author [1]") in w, w)
check("reply-rooted: the ping itself is no point", "ping?" not in w, w)
b = s("b1@x", "about")
check("no quote: about falls back to the subject", "Lonely ping" in b and not b.lower().startswith("ping"), b)
check("no quote: before does not say it started in this window", started not in s("b1@x", "before"), s("b1@x", "before"))
c = s("c0@x", "about")
check("root from an earlier week: about is its own text", "ROOT_MARKER" in c, c)
check("root from an earlier week: the acceptance is quoted", "ACCEPT_MARKER" in s("c0@x", "week"), s("c0@x", "week"))
w = s("d0@x", "week")
to = " 回复 " if zh else " to "
check("In-Reply-To: the request answers the patch", "Rex Review [2]%sIda Dev [1]" % to in w and "REQUEST_MARKER" in w, w)
check("In-Reply-To: the agreement answers the request", "Ida Dev [3]%sRex Review [2]" % to in w and "AGREE_MARKER" in w, w)
check("In-Reply-To: the maintainer answers the request, not the agreement before it",
      "Mia Maint [4]%sRex Review [2]" % to in w and "KEEP_MARKER" in w, w)
for name, good, got in checks:
    print("%s\t%s\t%s" % ("ok" if good else "not ok", name, got.replace("\t", " ")))
PY
	while IFS="$(printf '\t')" read -r res name got; do
		if [ "$res" = ok ]; then ok 0 "$lang: $name"; else ok 1 "$lang: $name"; diag "got: $got"; fi
	done < "$T/checks.$lang"
	is "$(wc -l < "$T/checks.$lang" | tr -d ' ')" 13 "$lang: every check ran"
done

done_testing
