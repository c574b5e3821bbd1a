/*
 * t_extract.c - extract.c on mails written here: the sentence kept from a
 * reply is the one that carries its point (a decision, an objection, a
 * request for change, agreement), never quoted text, a diff, a trailer, a
 * greeting or a sign-off; a reply that only thanks gives nothing; the
 * thread budget holds; a cover letter's changelog is this version's notes
 * and its benchmark headline is kept; a reply-rooted thread's "about" is
 * the quoted original, not the reply's own first line. Plus generated
 * replies: every combination of opening, quote, point, noise and closing.
 */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "kv.h"
#include "body.h"
#include "extract.h"

/* The sentences extract_mail_scan keeps for text (best first), joined by " | ". */
static char *scan(const char *text, int *best_score)
{
	struct body_info bi;
	struct extract_mail em = { 0 };
	body_analyze(text, strlen(text), &bi);
	extract_mail_scan(text, strlen(text), &bi, &em);
	struct sbuf sb = SBUF_INIT;
	sbuf_adds(&sb, "");
	for (size_t i = 0; i < em.n; i++)
		sbuf_addf(&sb, "%s%s", i ? " | " : "", em.v[i].text);
	if (best_score)
		*best_score = em.n ? em.v[0].score : -1000;
	extract_mail_release(&em);
	body_info_release(&bi);
	return sbuf_detach(&sb, NULL);
}

/* The best sentence alone. */
static char *best(const char *text)
{
	char *all = scan(text, NULL);
	char *bar = strstr(all, " | ");
	if (bar)
		*bar = '\0';
	return all;
}

static const char *const QUOTE =
	"On Tue, 2 Mar 2027 10:00:00 +0000,\n"
	"Pat Author <pat@example.org> wrote:\n"
	"> This adds a per-vcpu cache of the stage-2 walk so that repeated\n"
	"> faults on the same page do not take the lock again.\n"
	">\n"
	"> Signed-off-by: Pat Author <pat@example.org>\n"
	"> ---\n"
	">  arch/arm64/kvm/mmu.c | 12 ++++++++++++\n"
	"> diff --git a/arch/arm64/kvm/mmu.c b/arch/arm64/kvm/mmu.c\n"
	"> @@ -10,6 +10,18 @@ static int walk(void)\n"
	"> +\tcache->level = level;\n";

static void t_points(void)
{
	char *s;
	/* an objection that rejects the design */
	char *nak = kv_xasprintf("Hi Pat,\n\n%s\nI don't think a cache is the right approach: it goes stale on "
				 "every unmap and nothing invalidates it.\n\nNAK.\n\nThanks,\n\n\tM.\n", QUOTE);
	s = scan(nak, NULL);
	ok(strstr(s, "NAK") || strstr(s, "don't think a cache"), "NAK reply: the objection or the NAK is kept: %s", s);
	ok(!strstr(s, "per-vcpu cache of the stage-2"), "NAK reply: no quoted text");
	ok(!strstr(s, "Signed-off-by") && !strstr(s, "cache->level") && !strstr(s, "mmu.c"),
	   "NAK reply: no trailer, no diff");
	ok(!strstr(s, "Hi Pat") && !strstr(s, "Thanks"), "NAK reply: no greeting, no sign-off");
	free(s);
	s = best(nak);
	ok(strstr(s, "don't think a cache is the right approach") != NULL,
	   "NAK reply: the best sentence is the objection that answers the quote: %s", s);
	free(s);
	free(nak);

	/* a request for change, after an aside */
	char *req = kv_xasprintf("%s\nI had a look at this over the weekend. Please split the cache into its own "
				 "patch and drop the lock change, which is unrelated.\n\nReviewed-by: Rev Iewer "
				 "<rev@example.org>\n", QUOTE);
	s = best(req);
	ok(strstr(s, "Please split the cache") != NULL, "request: the best sentence is the request: %s", s);
	free(s);
	s = scan(req, NULL);
	ok(!strstr(s, "Reviewed-by"), "request: no trailer");
	free(s);
	free(req);

	/* an acceptance */
	s = best("On Wed, 3 Mar 2027, Pat Author wrote:\n> Two fixes for the IPA size.\n\n"
		 "Applied to fixes, thanks!\n\n[1/2] KVM: arm64: fix the size\n      commit: 0123456789ab\n\n"
		 "Cheers,\n\n\tM.\n-- \nWithout deviation from the norm, progress is not possible.\n");
	ok(strstr(s, "Applied to fixes") != NULL, "acceptance: the decision is kept: %s", s);
	free(s);
	s = scan("> Two fixes.\n\nApplied to next, thanks!\n\n[1/2] KVM: arm64: Drop the old helper\n"
		 "      commit: 0123456789ab\n", NULL);
	ok(!strstr(s, "[1/2]") && !strstr(s, "0123456789ab"), "acceptance: the list of patches taken is not a point: %s", s);
	free(s);

	/* agreement */
	s = best("> +\treturn ret;\n\nThis looks good to me now, and it makes sense to keep the check here.\n");
	ok(strstr(s, "looks good") != NULL, "agreement kept: %s", s);
	free(s);

	/* a reply that only thanks, greets and signs: nothing */
	int sc = 0;
	s = scan("Hi all,\n\n> Applied to next.\n\nThanks for picking it up!\n\nCheers,\nPat\n", &sc);
	is_str(s, "", "thanks-only reply: no sentence");
	free(s);

	/* a smile is not code */
	s = scan("> Isn't this fixing an older commit?\n\nAh, yes, that is indeed better (more backport work... ;-)\n", NULL);
	ok(strstr(s, "indeed better") != NULL, "a line with ';-)' is prose: %s", s);
	free(s);

	/* sentences inside code are not prose */
	s = scan("> int x;\n\nThis breaks the build on 32-bit hosts:\n\n  if (x == 1) {\n    y = 2;\n  }\n", NULL);
	ok(strstr(s, "breaks the build") && !strstr(s, "y = 2"), "code lines dropped: %s", s);
	free(s);
}

/* Generated replies: opening x quote x point x noise x closing. The point
 * must be the best sentence, and nothing of the rest may come out. */
static void t_generated(void)
{
	static const char *const open[] = { "", "Hi Pat,\n\n", "Hello,\n\n", "Pat,\n\n", "Hi Pat,\n" };
	static const char *const quote[] = {
		"",
		"On Mon, Pat wrote:\n> The quoted description says we take the lock twice here.\n\n",
		"> > Deep quoted text about the fault path.\n> Middle quoted text from a reviewer.\n\n",
	};
	static const struct { const char *text, *mark; } point[] = {
		{ "NAK, this duplicates what the MMU notifier already does.", "NAK, this duplicates" },
		{ "I don't think this is correct, since the vcpu may have migrated by then.", "I don't think this is correct" },
		{ "Please move the check into the caller and rename the helper.", "Please move the check" },
		{ "Applied to next, thanks.", "Applied to next" },
		{ "Yes, I think this is a bit excessive, we already have a predicate for that.", "a bit excessive" },
		{ "Could you add a comment explaining why the barrier is needed?", "Could you add a comment" },
		{ "Tested on a Juno board: the guest boots and the selftests pass.", "Tested on a Juno board" },
	};
	static const char *const noise[] = {
		"",
		"\nSome context follows after that here.\n",
		"\n\nReviewed-by: Rev Iewer <rev@example.org>\n",
		"\n\ndiff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-old line here\n+new line here\n",
	};
	static const char *const close[] = { "", "\n\nThanks,\n\n\tM.\n", "\n\nCheers,\nRev\n-- \nsig line\n" };
	int bad = 0, n = 0;
	for (size_t a = 0; a < sizeof(open) / sizeof(*open); a++)
	for (size_t b = 0; b < sizeof(quote) / sizeof(*quote); b++)
	for (size_t c = 0; c < sizeof(point) / sizeof(*point); c++)
	for (size_t d = 0; d < sizeof(noise) / sizeof(*noise); d++)
	for (size_t e = 0; e < sizeof(close) / sizeof(*close); e++) {
		char *mail = kv_xasprintf("%s%s%s%s%s", open[a], quote[b], point[c].text, noise[d], close[e]);
		char *all = scan(mail, NULL), *top = best(mail);
		int fail = !strstr(top, point[c].mark) || strstr(all, "quoted") || strstr(all, "Reviewed-by") ||
			   strstr(all, "new line") || strstr(all, "Hi Pat") || strstr(all, "Hello") ||
			   strstr(all, "Thanks") || strstr(all, "sig line");
		if (fail && bad++ < 3)
			diag("mail %zu/%zu/%zu/%zu/%zu gave [%s] best [%s]", a, b, c, d, e, all, top);
		n++;
		free(all);
		free(top);
		free(mail);
	}
	ok(bad == 0, "generated replies: the point is the best sentence, nothing else leaks (%d of %d bad)", bad, n);
}

static void t_budget(void)
{
	struct extract_mail ms[10];
	memset(ms, 0, sizeof(ms));
	for (int i = 0; i < 10; i++) {
		char text[400];
		/* two requests each, long enough that the byte budget binds */
		snprintf(text, sizeof(text),
			 "> q\n\nPlease rework point %d of this patch so that the lock is taken once, because "
			 "otherwise the fault path takes it twice on every single stage-2 fault we handle. "
			 "You should also drop the second helper %d, which nothing calls any more in the tree.\n",
			 i, i);
		struct body_info bi;
		body_analyze(text, strlen(text), &bi);
		ms[i].number = i + 2;
		ms[i].role = i == 7 ? EXR_MAINTAINER : EXR_REVIEWER;
		extract_mail_scan(text, strlen(text), &bi, &ms[i]);
		body_info_release(&bi);
	}
	struct extract_point *pts;
	size_t np, left, bytes = 0;
	extract_select(ms, 10, &pts, &np, &left);
	ok(np <= EXTRACT_MAX_REPLIES && np > 0, "budget: %zu replies kept (at most %d)", np, EXTRACT_MAX_REPLIES);
	int ordered = 1, has_maint = 0, two_max = 1;
	for (size_t i = 0; i < np; i++) {
		bytes += strlen(pts[i].text);
		if (i && pts[i].number <= pts[i - 1].number)
			ordered = 0;
		has_maint |= pts[i].number == 9;
		const char *p = pts[i].text;
		int sents = 0;
		for (; *p; p++)
			sents += *p == '.' && (p[1] == ' ' || !p[1]);
		two_max &= sents <= EXTRACT_MAX_PER_MAIL;
	}
	ok(bytes <= EXTRACT_MAX_BYTES, "budget: %zu bytes (at most %d)", bytes, EXTRACT_MAX_BYTES);
	ok(ordered, "points come in mail order");
	ok(two_max, "at most %d sentences per reply", EXTRACT_MAX_PER_MAIL);
	ok(has_maint, "the maintainer's reply is among those kept (speaker rule)");
	is_int(np + left, 10, "every reply with a point is kept or counted as left");
	for (size_t i = 0; i < np; i++)
		free(pts[i].text);
	free(pts);
	for (int i = 0; i < 10; i++)
		extract_mail_release(&ms[i]);
}

static void t_cover(void)
{
	const char *cover =
		"This series makes the stage-2 fault path take the MMU lock once.\n\n"
		"On a 64-vcpu guest this reduces the fault latency by 35% and improves\n"
		"boot time by 12%, see the table below.\n\n"
		"  test          before    after\n"
		"  fault (us)    12.0      7.8\n"
		"  average       10.1      6.6\n\n"
		"Changes since v3:\n"
		"  - dropped the per-vcpu cache (Marc)\n"
		"  - split the lock change into its own patch\n\n"
		"Changes since v2:\n"
		"  - rebased on 6.8-rc1\n\n"
		"Pat Author (2):\n"
		"  KVM: arm64: one\n"
		"  KVM: arm64: two\n\n"
		" arch/arm64/kvm/mmu.c | 12 ++++++------\n"
		" 1 file changed, 6 insertions(+), 6 deletions(-)\n";
	struct body_info bi;
	body_analyze(cover, strlen(cover), &bi);
	char *ch = extract_changelog(cover, &bi, 400);
	ok(strstr(ch, "Changes since v3") && strstr(ch, "dropped the per-vcpu cache") &&
	   strstr(ch, "split the lock change"), "changelog: this version's notes: %s", ch);
	ok(!strstr(ch, "rebased on 6.8-rc1"), "changelog: not the older version's notes");
	free(ch);
	struct strv res = STRV_INIT;
	extract_results(cover, &bi, 2, &res);
	ok(res.n >= 1 && strstr(res.v[0], "reduces the fault latency by 35%"), "results: the headline sentence: %s",
	   res.n ? res.v[0] : "(none)");
	strv_release(&res);
	body_info_release(&bi);

	const char *nonotes = "Just a fix for the vgic.\n\nNotes from the meeting:\nwe agreed.\n";
	body_analyze(nonotes, strlen(nonotes), &bi);
	ch = extract_changelog(nonotes, &bi, 400);
	is_str(ch, "", "no changelog in a letter without one");
	free(ch);
	body_info_release(&bi);
}

/* extract_quoted_about on text, max 400 bytes. */
static char *qabout(const char *text)
{
	struct body_info bi;
	body_analyze(text, strlen(text), &bi);
	char *ab = extract_quoted_about(text, &bi, 400);
	body_info_release(&bi);
	return ab;
}

static void t_quoted_about(void)
{
	const char *ping =
		"ping?\n\n"
		"On Fri, 1 Jan 2027, Pat Author wrote:\n"
		"> Hi all,\n"
		">\n"
		"> The PMU is optional, so the trap setup must check the ID registers\n"
		"> before it touches any PMU register on the host.\n"
		">\n"
		"> Signed-off-by: Pat Author <pat@example.org>\n"
		"> ---\n"
		"> diff --git a/a.c b/a.c\n"
		"> +int x;\n";
	char *ab = qabout(ping);
	ok(strstr(ab, "The PMU is optional") != NULL, "reply-rooted: about is the quoted original: %s", ab);
	ok(!strstr(ab, "ping") && !strstr(ab, "Signed-off") && !strstr(ab, "int x") && !strstr(ab, "Hi all"),
	   "reply-rooted: not the reply's own line, no trailer, diff or greeting");
	free(ab);

	/* a reply to a reply: the deepest quote is the original */
	const char *nested =
		"Still waiting on this.\n\n"
		"> > The original description: guests may lose a timer interrupt when the\n"
		"> > vcpu is migrated between two physical CPUs during a world switch.\n"
		"> I think the fix is fine.\n";
	ab = qabout(nested);
	ok(strstr(ab, "original description") && !strstr(ab, "fix is fine"), "nested: the deepest quote: %s", ab);
	free(ab);

	const char *noquote = "ping?\n";
	ab = qabout(noquote);
	is_str(ab, "", "no quote: nothing (the caller uses the subject)");
	free(ab);
}

int main(void)
{
	t_points();
	t_generated();
	t_budget();
	t_cover();
	t_quoted_about();
	return done_testing();
}
