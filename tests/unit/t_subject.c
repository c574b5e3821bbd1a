/*
 * t_subject.c - the patch-subject parser against subject shapes seen on the
 * kernel lists (written for this test), every field checked; and
 * subject_norm_title.
 */
#include "kv.h"
#include "subject.h"
#include "tap.h"

struct want {
	const char *subject;
	int reply, forward, patch, rfc, resend, pull, syzbot;
	int version, index, total;
	const char *project;
	const char *tags;
	const char *title;
};

/*   subject                                          re fw pa rf rs pl sz  v  idx tot project  tags  title */
static const struct want cases[] = {
	{ "[PATCH] KVM: arm64: Fix typo in comment",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "KVM: arm64: Fix typo in comment" },
	{ "[RFC PATCH v2 3/7] KVM: arm64: Add a vcpu flag",
	  0, 0, 1, 1, 0, 0, 0, 2, 3, 7, "", "RFC PATCH v2 3/7", "KVM: arm64: Add a vcpu flag" },
	{ "[PATCH RFC v3 00/12] KVM: arm64: Nested virt support",
	  0, 0, 1, 1, 0, 0, 0, 3, 0, 12, "", "PATCH RFC v3 00/12", "KVM: arm64: Nested virt support" },
	{ "[PATCH v3 RESEND 1/2] arm64: kvm: Use IS_ENABLED",
	  0, 0, 1, 0, 1, 0, 0, 3, 1, 2, "", "PATCH v3 RESEND 1/2", "arm64: kvm: Use IS_ENABLED" },
	{ "[PATCH kvmtool v2 0/6] arm64: Add SVE support",
	  0, 0, 1, 0, 0, 0, 0, 2, 0, 6, "kvmtool", "PATCH kvmtool v2 0/6", "arm64: Add SVE support" },
	{ "[kvm-unit-tests PATCH v2 4/5] arm: pmu: Fix overflow test",
	  0, 0, 1, 0, 0, 0, 0, 2, 4, 5, "kvm-unit-tests", "kvm-unit-tests PATCH v2 4/5", "arm: pmu: Fix overflow test" },
	{ "[PATCH 6.1.y] KVM: arm64: Fix a regression",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "6.1.y", "PATCH 6.1.y", "KVM: arm64: Fix a regression" },
	{ "[PATCH 5.10 012/345] KVM: arm64: Backport fix",
	  0, 0, 1, 0, 0, 0, 0, 1, 12, 345, "5.10", "PATCH 5.10 012/345", "KVM: arm64: Backport fix" },
	{ "[GIT PULL] KVM/arm64 updates for 5.12",
	  0, 0, 0, 0, 0, 1, 0, 1, -1, -1, "", "GIT PULL", "KVM/arm64 updates for 5.12" },
	{ "[GIT PULL v2] KVM/arm64 fixes for 5.11, take #2",
	  0, 0, 0, 0, 0, 1, 0, 2, -1, -1, "", "GIT PULL v2", "KVM/arm64 fixes for 5.11, take #2" },
	{ "[syzbot] WARNING in kvm_arch_vcpu_ioctl_run",
	  0, 0, 0, 0, 0, 0, 1, 1, -1, -1, "", "syzbot", "WARNING in kvm_arch_vcpu_ioctl_run" },
	{ "[PATCH-for-4.19] KVM: arm64: Fix vgic init",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "4.19", "PATCH-for-4.19", "KVM: arm64: Fix vgic init" },
	{ "[PATCH V2] KVM: arm64: Capital version",
	  0, 0, 1, 0, 0, 0, 0, 2, -1, -1, "", "PATCH V2", "KVM: arm64: Capital version" },
	{ "[PATCHv2] arm64: Glued version",
	  0, 0, 1, 0, 0, 0, 0, 2, -1, -1, "", "PATCHv2", "arm64: Glued version" },
	{ "[PATCH v2.1] KVM: arm64: Minor revision",
	  0, 0, 1, 0, 0, 0, 0, 2, -1, -1, "", "PATCH v2.1", "KVM: arm64: Minor revision" },
	{ "[RFC][PATCH 1/3] KVM: arm64: Two groups",
	  0, 0, 1, 1, 0, 0, 0, 1, 1, 3, "", "RFC PATCH 1/3", "KVM: arm64: Two groups" },
	{ "[PATCH 1/2] [kvm-unit-tests] arm: Second group names the project",
	  0, 0, 1, 0, 0, 0, 0, 1, 1, 2, "kvm-unit-tests", "PATCH 1/2 kvm-unit-tests", "arm: Second group names the project" },
	{ "Re: [PATCH v4 2/9] KVM: arm64: Move SVE state",
	  1, 0, 1, 0, 0, 0, 0, 4, 2, 9, "", "PATCH v4 2/9", "KVM: arm64: Move SVE state" },
	{ "RE: [PATCH] KVM: arm64: Upper-case reply",
	  1, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "KVM: arm64: Upper-case reply" },
	{ "re : [PATCH] Odd spacing before the colon",
	  1, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "Odd spacing before the colon" },
	{ "Re: Re: RE: [PATCH v2] KVM: arm64: Chain",
	  1, 0, 1, 0, 0, 0, 0, 2, -1, -1, "", "PATCH v2", "KVM: arm64: Chain" },
	{ "Fwd: [PATCH] Forwarded patch",
	  1, 1, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "Forwarded patch" },
	{ "Fw: Forwarded without tags",
	  1, 1, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "Forwarded without tags" },
	{ "AW: [PATCH v3 1/4] German reply",
	  1, 0, 1, 0, 0, 0, 0, 3, 1, 4, "", "PATCH v3 1/4", "German reply" },
	{ "SV: Re: Scandinavian reply chain",
	  1, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "Scandinavian reply chain" },
	{ "Antw: [PATCH] Dutch reply",
	  1, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "Dutch reply" },
	{ "Re: [PATCH] Re: foo",
	  1, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "foo" },
	{ "Re: KVM: arm64: guest hangs on boot (was: Re: [PATCH] foo)",
	  1, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "KVM: arm64: guest hangs on boot (was: Re: [PATCH] foo)" },
	{ "[PATCH]   KVM:\tarm64:  collapse   white\t space  ",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "KVM: arm64: collapse white space" },
	{ "  [ PATCH  v5   3/8 ]  KVM: spaces inside brackets",
	  0, 0, 1, 0, 0, 0, 0, 5, 3, 8, "", "PATCH v5 3/8", "KVM: spaces inside brackets" },
	{ "[patch v2 1/1] lower-case tag",
	  0, 0, 1, 0, 0, 0, 0, 2, 1, 1, "", "patch v2 1/1", "lower-case tag" },
	{ "KVM: arm64: no tags at all",
	  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "KVM: arm64: no tags at all" },
	{ "KVM: arm64: [PATCH] late bracket is title",
	  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "KVM: arm64: [PATCH] late bracket is title" },
	{ "[PATCH v2 2/3] KVM: arm64: Keep [brackets] in title",
	  0, 0, 1, 0, 0, 0, 0, 2, 2, 3, "", "PATCH v2 2/3", "KVM: arm64: Keep [brackets] in title" },
	{ "[PATCH net-next v3 05/10] net: not our list",
	  0, 0, 1, 0, 0, 0, 0, 3, 5, 10, "net-next", "PATCH net-next v3 05/10", "net: not our list" },
	{ "[PATCH -next] KVM: arm64: linux-next fix",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "next", "PATCH -next", "KVM: arm64: linux-next fix" },
	{ "[PATCH v10 00/21] KVM: arm64: Two-digit version",
	  0, 0, 1, 0, 0, 0, 0, 10, 0, 21, "", "PATCH v10 00/21", "KVM: arm64: Two-digit version" },
	{ "[RFC] KVM: arm64: Just an RFC",
	  0, 0, 0, 1, 0, 0, 0, 1, -1, -1, "", "RFC", "KVM: arm64: Just an RFC" },
	{ "[RFCv2 PATCH 2/2] KVM: glued RFC version",
	  0, 0, 1, 1, 0, 0, 0, 2, 2, 2, "", "RFCv2 PATCH 2/2", "KVM: glued RFC version" },
	{ "[PATCH/RFC] arm64: slash-joined",
	  0, 0, 1, 1, 0, 0, 0, 1, -1, -1, "", "PATCH/RFC", "arm64: slash-joined" },
	{ "[RESEND PATCH] KVM: arm64: resend first",
	  0, 0, 1, 0, 1, 0, 0, 1, -1, -1, "", "RESEND PATCH", "KVM: arm64: resend first" },
	{ "[PATCH RESEND v2] KVM: arm64: resend before version",
	  0, 0, 1, 0, 1, 0, 0, 2, -1, -1, "", "PATCH RESEND v2", "KVM: arm64: resend before version" },
	{ "[PATCH v2, 3/4] KVM: comma separated",
	  0, 0, 1, 0, 0, 0, 0, 2, 3, 4, "", "PATCH v2, 3/4", "KVM: comma separated" },
	{ "[kvm-unit-tests PATCH] arm64: timer: no version",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "kvm-unit-tests", "kvm-unit-tests PATCH", "arm64: timer: no version" },
	{ "[kvm-unit-tests RFC PATCH v3 10/16] arm: realm support",
	  0, 0, 1, 1, 0, 0, 0, 3, 10, 16, "kvm-unit-tests", "kvm-unit-tests RFC PATCH v3 10/16", "arm: realm support" },
	{ "[PATCH kvmtool] vfio: fix leak",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "kvmtool", "PATCH kvmtool", "vfio: fix leak" },
	{ "[PATCH 4.19.y 1/3] KVM: stable backport",
	  0, 0, 1, 0, 0, 0, 0, 1, 1, 3, "4.19.y", "PATCH 4.19.y 1/3", "KVM: stable backport" },
	{ "[PATCH stable 5.15] KVM: stable word",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "5.15", "PATCH stable 5.15", "KVM: stable word" },
	{ "[PULL] KVM/arm64 fixes",
	  0, 0, 0, 0, 0, 1, 0, 1, -1, -1, "", "PULL", "KVM/arm64 fixes" },
	{ "Re: [GIT PULL] KVM/arm64 updates for 6.3",
	  1, 0, 0, 0, 0, 1, 0, 1, -1, -1, "", "GIT PULL", "KVM/arm64 updates for 6.3" },
	{ "[syzbot] [kvm?] KASAN: slab-use-after-free Read in kvm_vcpu_release",
	  0, 0, 0, 0, 0, 0, 1, 1, -1, -1, "", "syzbot kvm?", "KASAN: slab-use-after-free Read in kvm_vcpu_release" },
	{ "Re: [syzbot] BUG: unable to handle kernel paging request",
	  1, 0, 0, 0, 0, 0, 1, 1, -1, -1, "", "syzbot", "BUG: unable to handle kernel paging request" },
	{ "[linux-next:master] BUILD REGRESSION 1234abcd5678",
	  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "linux-next:master", "linux-next:master", "BUILD REGRESSION 1234abcd5678" },
	{ "[kvmarm:next 3/9] arch/arm64/kvm/arm.c:12:5: warning: unused variable 'x'",
	  0, 0, 0, 0, 0, 0, 0, 1, 3, 9, "kvmarm:next", "kvmarm:next 3/9", "arch/arm64/kvm/arm.c:12:5: warning: unused variable 'x'" },
	{ "[QUESTION] How does the vgic handle LPIs?",
	  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "QUESTION", "How does the vgic handle LPIs?" },
	{ "Question about stage-2 page table sharing",
	  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "Question about stage-2 page table sharing" },
	{ "Re[2]: counted reply prefix",
	  1, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "counted reply prefix" },
	{ "Re^3: caret reply prefix",
	  1, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "caret reply prefix" },
	{ "Revert \"KVM: arm64: Something\"",
	  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "Revert \"KVM: arm64: Something\"" },
	{ "Re: Revert: not a prefix",
	  1, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "Revert: not a prefix" },
	{ "[PATCH v2 0/3] KVM: arm64: Fix\n\tfolded subject",
	  0, 0, 1, 0, 0, 0, 0, 2, 0, 3, "", "PATCH v2 0/3", "KVM: arm64: Fix folded subject" },
	{ "[PATCH] KVM: arm64: Fix für Ünïcödé",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "KVM: arm64: Fix für Ünïcödé" },
	{ "[PATCH v7 06/17] KVM: arm64: PMU: (Re)introduce helper",
	  0, 0, 1, 0, 0, 0, 0, 7, 6, 17, "", "PATCH v7 06/17", "KVM: arm64: PMU: (Re)introduce helper" },
	{ "[PATCH] Unclosed [bracket in title",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "Unclosed [bracket in title" },
	{ "[PATCH",
	  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "[PATCH" },
	{ "[PATCH v3 3/3]",
	  0, 0, 1, 0, 0, 0, 0, 3, 3, 3, "", "PATCH v3 3/3", "" },
	{ "",
	  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "" },
	{ "[ANNOUNCE] KVM Forum 2021 call for presentations",
	  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "", "ANNOUNCE", "KVM Forum 2021 call for presentations" },
	{ "[PATCH v2 RFC 3/3] KVM: arm64: rfc after version",
	  0, 0, 1, 1, 0, 0, 0, 2, 3, 3, "", "PATCH v2 RFC 3/3", "KVM: arm64: rfc after version" },
	{ "[PATCH for-6.2] KVM: arm64: tree after for-",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "6.2", "PATCH for-6.2", "KVM: arm64: tree after for-" },
	{ "Fwd: Re: [RFC PATCH 0/2] forwarded reply",
	  1, 1, 1, 1, 0, 0, 0, 1, 0, 2, "", "RFC PATCH 0/2", "forwarded reply" },
	{ "[PATCH stable-5.4 1/2] KVM: arm64: stable- prefix",
	  0, 0, 1, 0, 0, 0, 0, 1, 1, 2, "5.4", "PATCH stable-5.4 1/2", "KVM: arm64: stable- prefix" },
	{ "[PATCH stable-4.{4, 9, 14, 19}] KVM: arm64: braces keep the trees together",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "4.{4, 9, 14, 19}", "PATCH stable-4.{4, 9, 14, 19}", "KVM: arm64: braces keep the trees together" },
	{ "[PATCH 5.10-stable] KVM: arm64: stable suffix",
	  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "5.10", "PATCH 5.10-stable", "KVM: arm64: stable suffix" },
	{ "[syzbot] [kvmarm?] [kvm?] WARNING: locking bug in vgic_put_irq",
	  0, 0, 0, 0, 0, 0, 1, 1, -1, -1, "", "syzbot kvmarm? kvm?", "WARNING: locking bug in vgic_put_irq" },
	{ "Re: (subset) [PATCH v6 0/5] ARM: arm64: Add SMCCC TRNG entropy service",
	  1, 0, 1, 0, 0, 0, 0, 6, 0, 5, "", "PATCH v6 0/5", "ARM: arm64: Add SMCCC TRNG entropy service" },
	{ "\xE5\x9B\x9E\xE5\xA4\x8D\xEF\xBC\x9A [PATCH v2 1/3] KVM: arm64: Chinese reply, full-width colon",
	  1, 0, 1, 0, 0, 0, 0, 2, 1, 3, "", "PATCH v2 1/3", "KVM: arm64: Chinese reply, full-width colon" },
	{ "\xE8\xBD\xAC\xE5\x8F\x91: Re: KVM forum",
	  1, 1, 0, 0, 0, 0, 0, 1, -1, -1, "", "", "KVM forum" },
	{ "Re:\xC2\xA0[PATCH]\xC2\xA0KVM: no-break\xC2\xA0\xC2\xA0spaces\xC2\xA0",
	  1, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH", "KVM: no-break spaces" },
	{ "[PATCH] Re: [PATCH] double",
	  1, 0, 1, 0, 0, 0, 0, 1, -1, -1, "", "PATCH PATCH", "double" },
};

static void check_one(const struct want *w)
{
	struct subject_info si;
	char name[1200];

	subject_parse(w->subject, &si);
	snprintf(name, sizeof(name), "'%s'", w->subject);
	int good = si.reply == w->reply && si.forward == w->forward && si.patch == w->patch &&
		   si.rfc == w->rfc && si.resend == w->resend && si.pull == w->pull &&
		   si.syzbot == w->syzbot && si.version == w->version && si.index == w->index &&
		   si.total == w->total && strcmp(si.project, w->project) == 0 &&
		   strcmp(si.tags, w->tags) == 0 && strcmp(si.title, w->title) == 0;
	ok(good, "%s", name);
	if (!good) {
		diag("got  re=%d fw=%d patch=%d rfc=%d resend=%d pull=%d syz=%d v=%d %d/%d project='%s' tags='%s' title='%s'",
		     si.reply, si.forward, si.patch, si.rfc, si.resend, si.pull, si.syzbot,
		     si.version, si.index, si.total, si.project, si.tags, si.title);
		diag("want re=%d fw=%d patch=%d rfc=%d resend=%d pull=%d syz=%d v=%d %d/%d project='%s' tags='%s' title='%s'",
		     w->reply, w->forward, w->patch, w->rfc, w->resend, w->pull, w->syzbot,
		     w->version, w->index, w->total, w->project, w->tags, w->title);
	}
}

static void test_long_subject(void)
{
	/* a title longer than SUBJ_MAX made of 2-byte characters: cut on a
	 * character boundary, still valid UTF-8 */
	static char buf[4 * SUBJ_MAX];
	struct subject_info si;
	size_t o = 0;
	o += (size_t)snprintf(buf, sizeof(buf), "[PATCH] ");
	while (o + 3 < sizeof(buf)) {
		buf[o++] = (char)0xC3;
		buf[o++] = (char)0xA9;
	}
	buf[o] = '\0';
	subject_parse(buf, &si);
	size_t n = strlen(si.title);
	ok(n < SUBJ_MAX && n > SUBJ_MAX - 4, "long title truncated to the buffer (%zu bytes)", n);
	ok(n % 2 == 0 && (unsigned char)si.title[n - 2] == 0xC3, "truncated on a character boundary");

	/* many tag groups fill tags[] without overflowing */
	struct sbuf sb = SBUF_INIT;
	for (int i = 0; i < 100; i++)
		sbuf_adds(&sb, "[PATCH v2 RESEND] ");
	sbuf_adds(&sb, "title");
	subject_parse(sb.buf, &si);
	ok(strlen(si.tags) < sizeof(si.tags), "tags stay inside their buffer");
	is_str(si.title, "title", "title after 100 tag groups");
	sbuf_release(&sb);

	subject_parse(NULL, &si);
	ok(si.version == 1 && si.index == -1 && si.title[0] == '\0', "NULL subject gives empty info");
}

static void test_norm(void)
{
	char out[SUBJ_MAX];
	subject_norm_title("KVM: arm64: Fix  the\tThing.", out, sizeof(out));
	is_str(out, "kvm: arm64: fix the thing", "norm: lower, collapse, trailing dot");
	subject_norm_title("  Why?!  ", out, sizeof(out));
	is_str(out, "why", "norm: trailing punctuation run");
	subject_norm_title("Ünïcödé Stays", out, sizeof(out));
	is_str(out, "Ünïcödé stays", "norm: non-ASCII bytes kept");
	subject_norm_title("", out, sizeof(out));
	is_str(out, "", "norm: empty");
	subject_norm_title("abcdef", out, 4);
	is_str(out, "abc", "norm: truncated to n-1");
	subject_norm_title("ab\xC3\xA9", out, 4);
	is_str(out, "ab", "norm: a cut character is dropped");

	/* the same series under two versions normalises equal */
	struct subject_info a, b;
	char na[SUBJ_MAX], nb[SUBJ_MAX];
	subject_parse("[PATCH v1 0/4] KVM: arm64: Add  FEAT_X support", &a);
	subject_parse("Re: [PATCH v2 0/4] kvm: arm64: add FEAT_X support.", &b);
	subject_norm_title(a.title, na, sizeof(na));
	subject_norm_title(b.title, nb, sizeof(nb));
	is_str(na, nb, "two versions of one series share a normalised title");
}

int main(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);
	diag("%zu subject shapes", n);
	ok(n >= 50, "at least 50 subject shapes in the table");
	for (size_t i = 0; i < n; i++)
		check_one(&cases[i]);
	test_long_subject();
	test_norm();
	return done_testing();
}
