/*
 * t_status.c - reporter/status.c on mails written here: one or more cases
 * per rule (R1..R10 in status.c): maintainer acceptance phrasings, b4
 * thank-you mails with and without "(subset)", commit URLs, branches,
 * pasted command output, an author's own plans, NAKs and rejections, design
 * objections; also the display of short commit ids and the category of
 * announcements (store/category.c).
 */
#include <stdlib.h>
#include <string.h>
#include "kv.h"
#include "subject.h"
#include "status.h"
#include "tap.h"
#include "category.h"

#define NONE (-1)

struct scase {
	const char *name;
	const char *prose;
	const char *subject;
	int from_author, patch_thread, gave_tag;
	int want;              /* the first decision's kind, NONE for no decision */
	const char *branch;    /* wanted branch of that decision, NULL = none */
};

static const struct scase cases[] = {
	/* R2: acceptance phrasings */
	{ "applied to a branch", "Applied to fixes, thanks!\n", "Re: [PATCH] x", 0, 1, 0, SK_APPLIED, "fixes" },
	{ "thanks, applied", "Thanks, applied.\n", "Re: [PATCH] x", 0, 1, 0, SK_APPLIED, NULL },
	{ "now applied after other prose", "Good catch, that was my fault.\n\nNow applied to\nkvm-arm64/foo-6.1, "
	  "and pushed out.\n", "Re: [PATCH] x", 0, 1, 0, SK_APPLIED, "kvm-arm64/foo-6.1" },
	{ "pushed to a branch", "Pushed to for-next/core.\n", "Re: [PATCH] x", 0, 1, 0, SK_APPLIED, "for-next/core" },
	{ "merged into -next", "Merged into -next, cheers.\n", "Re: [PATCH] x", 0, 1, 0, SK_MERGED, "next" },
	{ "pull request pulled", "Pulled, thanks.\n\nPaolo\n", "Re: [GIT PULL] KVM/arm64 fixes", 0, 1, 0,
	  SK_MERGED, NULL },
	{ "queued", "Queued for 6.2, thanks.\n", "Re: [PATCH] x", 0, 1, 0, SK_QUEUED, NULL },
	{ "rebased and queued", "Rebased, and queued with the tweak Bob asked for.\n", "Re: [PATCH v4 0/3] x",
	  0, 1, 0, SK_QUEUED, NULL },
	{ "queued up", "Queued up for the older trees too.\n", "Re: [PATCH] x", 0, 1, 0, SK_QUEUED, NULL },
	{ "picked up", "Picked up, thanks!\n", "Re: [PATCH] x", 0, 1, 0, SK_APPLIED, NULL },
	{ "taken into a tree branch", "Taken into the kvmtool master branch.\n", "Re: [PATCH] x", 0, 1, 0,
	  SK_APPLIED, "master" },
	{ "patch numbers as fillers", "Patches 1-3 applied to arm/queue.\n", "Re: [PATCH 0/5] x", 0, 1, 0,
	  SK_APPLIED, "arm/queue" },
	{ "a named branch word", "Applied to the vhost next branch for v6.3. Thanks,\n", "Re: [PATCH] x",
	  0, 1, 0, SK_APPLIED, "next" },
	{ "misc branch", "Applied to misc-6.4.\n", "Re: [PATCH] x", 0, 1, 0, SK_APPLIED, "misc-6.4" },
	/* R2/R3: not an acceptance */
	{ "series applied as a test setup", "I tested on 6.1 (with the series at [1] applied) and the "
	  "numbers are below.\n", "Re: [PATCH] x", 0, 1, 0, NONE, NULL },
	{ "applied locally to test", "Applied this locally and ran the selftests: all pass.\n",
	  "Re: [PATCH] x", 0, 1, 0, NONE, NULL },
	{ "applied cleanly", "Applied cleanly on top of rc2.\n", "Re: [PATCH] x", 0, 1, 0, NONE, NULL },
	{ "a question", "Applied to which branch?\n", "Re: [PATCH] x", 0, 1, 0, NONE, NULL },
	{ "queued for a later version", "Good idea, it is queued for v4 already.\n", "Re: [PATCH v3 2/9] x",
	  0, 1, 0, NONE, NULL },
	{ "queued for the next version", "Queued for the next version.\n", "Re: [PATCH] x", 0, 1, 0,
	  NONE, NULL },
	{ "took without a branch or thanks", "Took me a while to see the bug.\n", "Re: [PATCH] x", 0, 1, 0,
	  NONE, NULL },
	{ "praise is no decision", "Looks good to me.\n", "Re: [PATCH] x", 0, 1, 0, NONE, NULL },
	/* R1: pasted command output and pasted patches */
	{ "pasted git am output", "It does not apply for me:\n\n$ git am -3 series.mbox\nsome tool said: no such file.\n"
	  "Applied patch foo.c with 1 reject.\n\nCan you rebase?\n",
	  "Re: [PATCH] x", 0, 1, 0, NONE, NULL },
	{ "git apply output alone", "Applied patch arch/arm64/foo.c with 1 reject.\nRejected hunk #1.\n",
	  "Re: [PATCH] x", 0, 1, 0, NONE, NULL },
	{ "a pasted patch ends the prose", "Something like this, untested:\n\n"
	  "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\nSubject: x\n\n"
	  "Applied to next as a fix.\n", "Re: [PATCH] x", 0, 1, 0, NONE, NULL },
	/* R4: the author */
	{ "author plans the next version", "I'll queue this for v2, thanks for the review.\n",
	  "Re: [PATCH] x", 1, 1, 0, NONE, NULL },
	{ "author's own note", "Queued the fix locally, will send v2 soon.\n", "Re: [PATCH] x", 1, 1, 0,
	  NONE, NULL },
	{ "author's applied without b4 format", "Applied to my tree.\n", "Re: [PATCH] x", 1, 1, 0, NONE, NULL },
	{ "author's own series via b4 ty", "Applied to fixes, thanks!\n\n[1/1] foo: bar\n      commit: "
	  "0123456789abcdef0123456789abcdef01234567\n", "Re: [PATCH] x", 1, 1, 0, SK_APPLIED, "fixes" },
	/* R5: the stable queue */
	{ "stable notice in the body", "This is a note to let you know that I've just added the patch titled\n\n"
	  "    foo: bar\n\nto the 6.1-stable tree which can be found at:\n", "Re: [PATCH] x", 0, 1, 0,
	  SK_QUEUED, "6.1-stable" },
	{ "stable notice subject", "The filename of the patch is: foo.patch\n",
	  "Patch \"foo: bar\" has been added to the 5.15-stable tree", 0, 1, 0, SK_QUEUED, "5.15-stable" },
	/* R9 */
	{ "NAK line", "NAK. The list must stay ordered.\n", "Re: [PATCH] x", 0, 1, 0, SK_NAK, NULL },
	{ "Nack line", "Nack, see above.\n", "Re: [PATCH] x", 0, 1, 0, SK_NAK, NULL },
	{ "a name starting with Nak", "Nakamura tested this.\n", "Re: [PATCH] x", 0, 1, 0, NONE, NULL },
	{ "rejection without NAK", "The current behaviour is done on purpose: userspace picks the CPUs.\n",
	  "Re: [PATCH] x", 0, 1, 0, SK_NAK, NULL },
	{ "not going to take it", "Sorry, I'm not going to take this.\n", "Re: [PATCH] x", 0, 1, 0,
	  SK_NAK, NULL },
	{ "no NAK from the author", "NAK to my own v1, v2 replaces it.\n", "Re: [PATCH] x", 1, 1, 0,
	  NONE, NULL },
	{ "no NAK in a question thread", "NAK is what you would get.\n", "Re: how to map memory", 0, 0, 0,
	  NONE, NULL },
	/* R10 */
	{ "design objection", "I don't think this is the right approach: the fault path should not know "
	  "about it.\n", "Re: [PATCH] x", 0, 1, 0, SK_CHANGES, NULL },
	{ "this needs to", "This needs to handle the error from the allocator.\n", "Re: [PATCH] x", 0, 1, 0,
	  SK_CHANGES, NULL },
	{ "please rework", "Please rework this on top of the new API.\n", "Re: [PATCH] x", 0, 1, 0,
	  SK_CHANGES, NULL },
	{ "can you respin", "Can you respin with the comments addressed?\n", "Re: [PATCH] x", 0, 1, 0,
	  SK_CHANGES, NULL },
	{ "asking for a v2", "Could you please send a v2 with the switch statement?\n", "Re: [PATCH] x",
	  0, 1, 0, SK_CHANGES, NULL },
	{ "you need to", "You need to take the lock before walking the list.\n", "Re: [PATCH] x", 0, 1, 0,
	  SK_CHANGES, NULL },
	{ "a preference for another design", "I would prefer a separate ioctl for this.\n", "Re: [PATCH] x",
	  0, 1, 0, SK_CHANGES, NULL },
	{ "wrapped phrase", "Wouldn't it be\nbetter to fail early?\n", "Re: [PATCH] x", 0, 1, 0, SK_CHANGES, NULL },
	{ "conflicts with", "The new flag conflicts with the way the MMU notifier works.\n", "Re: [PATCH] x",
	  0, 1, 0, SK_CHANGES, NULL },
	{ "probably needs to", "The walker probably needs to take the mmu lock here.\n", "Re: [PATCH] x",
	  0, 1, 0, SK_CHANGES, NULL },
	{ "out of control", "The number of special cases here is getting out of control.\n", "Re: [PATCH] x",
	  0, 1, 0, SK_CHANGES, NULL },
	{ "we need better", "We need better numbers than a single run of one benchmark.\n", "Re: [PATCH] x",
	  0, 1, 0, SK_CHANGES, NULL },
	{ "a tag with nits approves", "This needs to be a u64, but with that:\n", "Re: [PATCH] x", 0, 1, 1,
	  NONE, NULL },
	{ "the author's own rework note", "This needs to change in v2, agreed.\n", "Re: [PATCH] x", 1, 1, 0,
	  NONE, NULL },
	{ "a question suggestion is no objection", "Can we just drop the flag instead?\n", "Re: [PATCH] x",
	  0, 1, 0, NONE, NULL },
};

/* R10 does not apply to a sender facts.c bars (the patch author named by
 * a reply-only thread's ids); NAK and acceptance are unaffected. */
static void t_no_change_request(void)
{
	struct status_input in = {
		.prose = "Please rework this on top of the new API.\n", .subject = "Re: [PATCH] x",
		.patch_thread = 1, .no_change_request = 1,
	};
	struct status_result r;
	in.len = strlen(in.prose);
	status_detect(&in, &r);
	is_int(r.n, 0, "no_change_request: a rework request is no decision");
	status_result_release(&r);
	in.prose = "NAK, this breaks the ABI.\n";
	in.len = strlen(in.prose);
	status_detect(&in, &r);
	ok(r.n == 1 && r.v[0].kind == SK_NAK, "no_change_request: a NAK still counts");
	status_result_release(&r);
}

static void t_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct scase *c = &cases[i];
		struct status_input in = {
			.prose = c->prose, .len = strlen(c->prose), .subject = c->subject,
			.from_author = c->from_author, .patch_thread = c->patch_thread, .gave_tag = c->gave_tag,
		};
		struct status_result r;
		status_detect(&in, &r);
		if (c->want == NONE) {
			is_int(r.n, 0, c->name);
		} else {
			ok(r.n >= 1 && r.v[0].kind == (enum status_kind)c->want, "%s: %s", c->name,
			   status_kind_name((enum status_kind)c->want));
			if (r.n >= 1)
				is_str(r.v[0].branch ? r.v[0].branch : "(none)", c->branch ? c->branch : "(none)",
				       c->name);
		}
		status_result_release(&r);
	}
}

static void detect(const char *prose, const char *subject, struct status_result *r)
{
	struct status_input in = { .prose = prose, .len = strlen(prose), .subject = subject, .patch_thread = 1 };
	status_detect(&in, r);
}

/* R7, R8: b4 thank-you mails, commit URLs, bare ids */
static void t_b4(void)
{
	struct status_result r;
	const char *ty = "On Mon, 1 Jan 2024, A Dev wrote:\n\nApplied to kvm-arm64/misc, thanks!\n\n"
			 "[1/3] KVM: arm64: one\n      commit: 0123456789abcdef0123456789abcdef01234567\n"
			 "[2/3] KVM: arm64: two\n      commit: abcdef0123456789abcdef0123456789abcdef01\n"
			 "[3/3] KVM: arm64: three\n      commit: 1111111111112222222222223333333333333333\n\n"
			 "Cheers,\n\n\tM.\n";
	detect(ty, "Re: [PATCH 0/3] KVM: arm64: things", &r);
	ok(r.n == 1 && r.v[0].kind == SK_APPLIED, "b4 ty: applied");
	if (r.n == 1) {
		is_str(r.v[0].branch ? r.v[0].branch : "", "kvm-arm64/misc", "b4 ty: branch");
		is_int(r.v[0].commits.n, 3, "b4 ty: three commits");
		is_int(r.v[0].npatches, 0, "b4 ty without (subset): the whole series");
	}
	status_result_release(&r);

	const char *sub = "Applied to fixes, thanks!\n\n[2/4] KVM: arm64: two\n      commit: 0123456789ab\n"
			  "[4/4] KVM: arm64: four\n      commit: abcdef012345\n";
	detect(sub, "Re: (subset) [PATCH 0/4] KVM: arm64: things", &r);
	ok(r.n == 1 && r.v[0].npatches == 2, "(subset): two patches");
	if (r.n == 1 && r.v[0].npatches == 2) {
		is_int(r.v[0].patches[0], 2, "(subset): patch 2");
		is_int(r.v[0].patches[1], 4, "(subset): patch 4");
		is_str(r.v[0].commits.v[1], "abcdef012345", "(subset): second commit");
	}
	status_result_release(&r);

	detect("Applied, thanks.\n\nhttps://git.kernel.org/pub/scm/linux/kernel/git/x/y.git/commit/?id="
	       "89abcdef0123456789abcdef0123456789abcdef\n", "Re: [PATCH] x", &r);
	ok(r.n == 1 && r.v[0].commits.n == 1 &&
	   strcmp(r.v[0].commits.v[0], "89abcdef0123456789abcdef0123456789abcdef") == 0, "git.kernel.org id= URL");
	status_result_release(&r);
	detect("Queued as https://git.kernel.org/x/c/abcdef987654\n", "Re: [PATCH] x", &r);
	ok(r.n == 1 && r.v[0].kind == SK_QUEUED && r.v[0].commits.n == 1 &&
	   strcmp(r.v[0].commits.v[0], "abcdef987654") == 0, "git.kernel.org /c/ URL");
	status_result_release(&r);
	detect("Applied to next as 0a1b2c3d4e5f6a7b, thanks.\n", "Re: [PATCH] x", &r);
	ok(r.n == 1 && r.v[0].commits.n == 1, "bare id beside an applied note");
	status_result_release(&r);
	detect("Applied to next, thanks.\n\nFixes: 0a1b2c3d4e5f (\"foo: bar\")\n", "Re: [PATCH] x", &r);
	ok(r.n == 1 && r.v[0].commits.n == 0, "a Fixes: reference is no commit of the acceptance");
	status_result_release(&r);
	detect("Looks fine, but 0a1b2c3d4e5f broke this before.\n", "Re: [PATCH] x", &r);
	is_int(r.n, 0, "a bare id alone decides nothing");
	status_result_release(&r);
}

static void t_short(void)
{
	char *s = status_short_ids("0123456789abcdef0123456789abcdef01234567 abc1234 deadbeef00112233x");
	is_str(s, "0123456789ab abc1234 deadbeef00112233x", "ids cut to 12 hex, other words kept");
	free(s);
}

static void t_category(void)
{
	struct { const char *subject, *body; } ann[] = {
		{ "[ANNOUNCE] KVM Forum 2024: call for presentations", "Anyone interested?\n" },
		{ "ANNOUNCE: kvmtool 1.2 released", "What is new? Lots.\n" },
		{ "This mailing list is moving to a new server", "Will my subscription move too?\n" },
		{ "kvmarm mailing list migration", "What do I need to do?\n" },
	};
	for (size_t i = 0; i < sizeof(ann) / sizeof(*ann); i++) {
		struct subject_info si;
		subject_parse(ann[i].subject, &si);
		enum category c = category_classify(&si, "admin@example.org", ann[i].body, strlen(ann[i].body));
		ok(c == CAT_OTHER, "announcement is Other: %s (got %s)", ann[i].subject, category_name(c));
	}
}

int main(void)
{
	t_cases();
	t_no_change_request();
	t_b4();
	t_short();
	t_category();
	return done_testing();
}
