/*
 * t_body.c - body_analyze on the shapes of kernel-list mail: a cover letter
 * (notes, shortlog, diffstat, lore links, b4 change-id), a patch (trailers,
 * notes below "---", diffstat, hunks with a "-- " removal that is not a
 * signature), a review reply (two-line attribution, nested quotes with
 * tags, snips, own tags, signature, list footer). Fixtures written here.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "body.h"

/* Kind of the segment that holds the first occurrence of needle. */
static int kind_at(const char *text, const struct body_info *bi, const char *needle)
{
	const char *p = strstr(text, needle);
	if (!p)
		return -1;
	size_t off = (size_t)(p - text);
	for (size_t i = 0; i < bi->nsegs; i++)
		if (off >= bi->segs[i].off && off < bi->segs[i].off + bi->segs[i].len)
			return (int)bi->segs[i].kind;
	return -2;
}

/* needle as a one-line test name */
static const char *shown(const char *needle)
{
	static char buf[48];
	size_t i;
	for (i = 0; needle[i] && i < sizeof(buf) - 1; i++)
		buf[i] = needle[i] == '\n' ? '|' : needle[i];
	buf[i] = '\0';
	return buf;
}

#define is_kind(text, bi, needle, want) do { int k_ = kind_at(text, bi, needle); \
	if (!ok(k_ == (int)(want), "'%s' is %s", shown(needle), seg_kind_name(want))) \
		diag("got %s", k_ >= 0 ? seg_kind_name((enum seg_kind)k_) : "(not found)"); } while (0)

static const struct trailer *find_trailer(const struct body_info *bi, const char *key, const char *name, int quoted)
{
	for (size_t i = 0; i < bi->ntrailers; i++) {
		const struct trailer *t = &bi->trailers[i];
		if (!strcasecmp(t->key, key) && t->quoted == quoted && (!name || (t->name && !strcmp(t->name, name))))
			return t;
	}
	return NULL;
}

static int count_kind(const struct body_info *bi, enum trailer_kind k, int quoted)
{
	int n = 0;
	for (size_t i = 0; i < bi->ntrailers; i++)
		if (bi->trailers[i].kind == k && bi->trailers[i].quoted == quoted)
			n++;
	return n;
}

static void check_segments_cover(const char *text, const struct body_info *bi, const char *what)
{
	size_t off = 0;
	int okk = 1;
	for (size_t i = 0; i < bi->nsegs; i++) {
		if (bi->segs[i].off != off)
			okk = 0;
		off = bi->segs[i].off + bi->segs[i].len;
		if (i && bi->segs[i].kind == bi->segs[i - 1].kind)
			okk = 0;
	}
	ok(okk && off == strlen(text), "%s: segments tile the text, neighbours differ", what);
}

static const char cover[] =
	"This series reworks the way we handle the vgic maintenance interrupt\n"
	"so that nested guests stop livelocking on some implementations.\n"
	"\n"
	"Changes since v2:\n"
	"  - Dropped the per-vcpu lock\n"
	"  - Rebased on v5.11-rc4\n"
	"\n"
	"  - Collected tags from Eric and Alex\n"
	"\n"
	"v1 -> v2:\n"
	"- Fixed the ICH_HCR_EL2 handling\n"
	"- Link to v1: https://lore.kernel.org/r/20210104135011.2063104-1-maz@kernel.org\n"
	"\n"
	"The whole thing has been tested on a Juno and an N1SDP.\n"
	"Previous attempt: https://lore.kernel.org/kvmarm/20201228104958.1848833-1-maz@kernel.org/\n"
	"\n"
	"Marc Zyngier (2):\n"
	"  KVM: arm64: Rework vgic maintenance handling\n"
	"  KVM: arm64: Drop the per-vcpu lock\n"
	"\n"
	" arch/arm64/kvm/vgic/vgic-v3.c | 42 ++++++++++++++++++---------\n"
	" arch/arm64/kvm/vgic/vgic.c    |  7 ++---\n"
	" 2 files changed, 31 insertions(+), 18 deletions(-)\n"
	"\n"
	"---\n"
	"base-commit: 19c329f6808995b142b3966301f217c831e7cf31\n"
	"change-id: 20210125-vgic-mi-8c1a3e3ad3d1\n"
	"\n"
	"Best regards,\n"
	"-- \n"
	"Marc Zyngier <maz@kernel.org>\n";

static void t_cover_letter(void)
{
	struct body_info bi;
	body_analyze(cover, strlen(cover), &bi);
	check_segments_cover(cover, &bi, "cover");
	is_kind(cover, &bi, "This series reworks", SEG_PROSE);
	is_kind(cover, &bi, "Changes since v2:", SEG_CHANGES);
	is_kind(cover, &bi, "Rebased on v5.11-rc4", SEG_CHANGES);
	is_kind(cover, &bi, "Collected tags from Eric", SEG_CHANGES);
	is_kind(cover, &bi, "v1 -> v2:", SEG_CHANGES);
	is_kind(cover, &bi, "- Fixed the ICH_HCR_EL2", SEG_CHANGES);
	is_kind(cover, &bi, "The whole thing has been tested", SEG_PROSE);
	is_kind(cover, &bi, "Marc Zyngier (2):", SEG_PROSE);
	is_kind(cover, &bi, " arch/arm64/kvm/vgic/vgic.c ", SEG_DIFFSTAT);
	is_kind(cover, &bi, " 2 files changed", SEG_DIFFSTAT);
	is_kind(cover, &bi, "base-commit:", SEG_TRAILER);
	is_kind(cover, &bi, "-- \nMarc", SEG_SIGNATURE);
	is_int(bi.stat_files, 2, "cover: diffstat files");
	is_int(bi.stat_ins, 31, "cover: diffstat insertions");
	is_int(bi.stat_del, 18, "cover: diffstat deletions");
	is_str(bi.change_id, "20210125-vgic-mi-8c1a3e3ad3d1", "cover: b4 change-id");
	is_int(bi.has_diff, 0, "cover: no diff");
	is_int(bi.links.n, 2, "cover: two lore links");
	ok(strv_has(&bi.links, "20210104135011.2063104-1-maz@kernel.org"), "cover: 'Link to v1' id");
	ok(strv_has(&bi.links, "20201228104958.1848833-1-maz@kernel.org"), "cover: lore.kernel.org/<list>/<id>/ id");

	struct sbuf sb = SBUF_INIT;
	body_extract(cover, &bi, 1u << SEG_PROSE | 1u << SEG_CHANGES, &sb);
	ok(strstr(sb.buf, "This series reworks") && strstr(sb.buf, "Dropped the per-vcpu lock"),
	   "cover: extract keeps prose and notes");
	ok(!strstr(sb.buf, "insertions") && !strstr(sb.buf, "base-commit") && !strstr(sb.buf, "Best regards,\n--"),
	   "cover: extract drops diffstat, trailers, signature");
	sbuf_release(&sb);
	body_info_release(&bi);
}

static const char patch[] =
	"The maintenance interrupt can fire while the vcpu is not loaded,\n"
	"which leads to a spurious exit. Check the state first.\n"
	"\n"
	"Fixes: 0123456789ab (\"KVM: arm64: vgic: Add maintenance handling\")\n"
	"Reported-by: Shameer Kolothum <shameerali.kolothum.thodi@huawei.com>\n"
	"Suggested-by: \"Will Deacon\" <Will@Kernel.org>\n"
	"Co-developed-by: Jane Doe <jane@example.org>\n"
	"Signed-off-by: Jane Doe <jane@example.org>\n"
	"Signed-off-by: Marc Zyngier <maz@kernel.org>\n"
	"Reviewed-by: Eric Auger <eric.auger@redhat.com>\n"
	"Tested-by: Alexandru Elisei <alexandru.elisei@arm.com>\n"
	"Acked-by: Catalin Marinas <catalin.marinas@arm.com>\n"
	"Cc: stable@vger.kernel.org # 5.10\n"
	"Link: https://lore.kernel.org/r/20210120120000.1234-1-shameer@huawei.com\n"
	"Change-Id: I0123456789abcdef0123456789abcdef01234567\n"
	"---\n"
	"v3: reworded the commit message\n"
	"\n"
	" arch/arm64/kvm/vgic/vgic-v3.c | 5 +++--\n"
	" Documentation/virt/kvm/devices/vgic.rst | 3 ++-\n"
	" 2 files changed, 5 insertions(+), 3 deletions(-)\n"
	"\n"
	"diff --git a/arch/arm64/kvm/vgic/vgic-v3.c b/arch/arm64/kvm/vgic/vgic-v3.c\n"
	"index 1111111..2222222 100644\n"
	"--- a/arch/arm64/kvm/vgic/vgic-v3.c\n"
	"+++ b/arch/arm64/kvm/vgic/vgic-v3.c\n"
	"@@ -10,7 +10,8 @@ static void vgic_v3_fold_lr_state(struct kvm_vcpu *vcpu)\n"
	" \tint i;\n"
	"-\tif (!vcpu)\n"
	"+\tif (!vcpu || !vcpu->arch.loaded)\n"
	"+\t\treturn;\n"
	" \n"
	"\n"
	" \tfor (i = 0; i < n; i++) {\n"
	" \t\tfold(i);\n"
	" \t}\n"
	"@@ -40,3 +41,3 @@ SYM_FUNC_START(__vgic_v3_save_state)\n"
	" \tmrs x0, ich_hcr_el2\n"
	"-\tret\n"
	"+\tb 1f\n"
	" \tnop\n"
	"diff --git a/Documentation/virt/kvm/devices/vgic.rst b/Documentation/virt/kvm/devices/vgic.rst\n"
	"index 3333333..4444444 100644\n"
	"--- a/Documentation/virt/kvm/devices/vgic.rst\n"
	"+++ b/Documentation/virt/kvm/devices/vgic.rst\n"
	"@@ -1,4 +1,4 @@\n"
	" Title\n"
	"-- \n"
	"+--\n"
	" Some text\n"
	" More text\n"
	"diff --git a/arch/arm64/kvm/new.c b/arch/arm64/kvm/new.c\n"
	"new file mode 100644\n"
	"index 0000000..5555555\n"
	"--- /dev/null\n"
	"+++ b/arch/arm64/kvm/new.c\n"
	"@@ -0,0 +1 @@\n"
	"+int new_file_var;\n"
	"-- \n"
	"2.30.0\n";

static void t_patch(void)
{
	struct body_info bi;
	const struct trailer *t;
	body_analyze(patch, strlen(patch), &bi);
	check_segments_cover(patch, &bi, "patch");
	is_kind(patch, &bi, "The maintenance interrupt", SEG_PROSE);
	is_kind(patch, &bi, "Fixes: 0123", SEG_TRAILER);
	is_kind(patch, &bi, "Change-Id: I0123", SEG_TRAILER);
	is_kind(patch, &bi, "---\nv3:", SEG_DIFFSTAT);
	is_kind(patch, &bi, "v3: reworded", SEG_CHANGES);
	is_kind(patch, &bi, " arch/arm64/kvm/vgic/vgic-v3.c |", SEG_DIFFSTAT);
	is_kind(patch, &bi, "diff --git a/arch", SEG_DIFF);
	is_kind(patch, &bi, "-- \n+--", SEG_DIFF);
	is_kind(patch, &bi, " Some text", SEG_DIFF);
	is_kind(patch, &bi, "+int new_file_var", SEG_DIFF);
	is_kind(patch, &bi, "2.30.0", SEG_SIGNATURE);
	is_int(bi.has_diff, 1, "patch: has a diff");
	is_int(bi.stat_files, 2, "patch: diffstat files");
	is_int(bi.stat_ins, 5, "patch: diffstat insertions");
	is_int(bi.stat_del, 3, "patch: diffstat deletions");

	is_int(bi.diff_files.n, 3, "patch: three files in the diff");
	if (bi.diff_files.n == 3) {
		is_str(bi.diff_files.v[0], "arch/arm64/kvm/vgic/vgic-v3.c", "patch: file 1");
		is_str(bi.diff_files.v[1], "Documentation/virt/kvm/devices/vgic.rst", "patch: file 2");
		is_str(bi.diff_files.v[2], "arch/arm64/kvm/new.c", "patch: file 3 (new file)");
	}
	ok(strv_has(&bi.diff_funcs, "vgic_v3_fold_lr_state"), "patch: function from hunk header");
	ok(strv_has(&bi.diff_funcs, "__vgic_v3_save_state"), "patch: SYM_FUNC_START(x) gives x");
	is_int(bi.diff_funcs.n, 2, "patch: two functions");

	is_int(count_kind(&bi, TR_SIGNED_OFF, 0), 2, "patch: two Signed-off-by");
	is_int(count_kind(&bi, TR_REVIEWED, 0), 1, "patch: one Reviewed-by");
	is_int(count_kind(&bi, TR_TESTED, 0), 1, "patch: one Tested-by");
	is_int(count_kind(&bi, TR_ACKED, 0), 1, "patch: one Acked-by");
	is_int(count_kind(&bi, TR_REPORTED, 0), 1, "patch: one Reported-by");
	is_int(count_kind(&bi, TR_SUGGESTED, 0), 1, "patch: one Suggested-by");
	is_int(count_kind(&bi, TR_FIXES, 0), 1, "patch: one Fixes");
	is_int(count_kind(&bi, TR_LINK, 0), 1, "patch: one Link");
	is_int(count_kind(&bi, TR_CC, 0), 1, "patch: one Cc");
	is_int(count_kind(&bi, TR_CHANGE_ID, 0), 1, "patch: one Change-Id");
	is_int(count_kind(&bi, TR_OTHER, 0), 1, "patch: Co-developed-by is other");
	is_int(bi.ntrailers, 12, "patch: 12 trailers");
	t = find_trailer(&bi, "Reviewed-by", NULL, 0);
	ok(t && t->name && !strcmp(t->name, "Eric Auger") && t->addr && !strcmp(t->addr, "eric.auger@redhat.com"),
	   "patch: Reviewed-by name and address");
	t = find_trailer(&bi, "Suggested-by", NULL, 0);
	ok(t && t->name && !strcmp(t->name, "Will Deacon") && t->addr && !strcmp(t->addr, "will@kernel.org"),
	   "patch: quoted name unquoted, address lowercased");
	t = find_trailer(&bi, "Cc", NULL, 0);
	ok(t && t->addr && !strcmp(t->addr, "stable@vger.kernel.org"), "patch: Cc with # comment");
	t = find_trailer(&bi, "Co-developed-by", NULL, 0);
	ok(t && t->addr && !strcmp(t->addr, "jane@example.org"), "patch: other -by trailer has a person");
	t = find_trailer(&bi, "Fixes", NULL, 0);
	ok(t && t->value && !strncmp(t->value, "0123456789ab", 12) && !t->name && !t->addr, "patch: Fixes value, no person");
	is_str(bi.change_id, "I0123456789abcdef0123456789abcdef01234567", "patch: gerrit Change-Id");
	ok(strv_has(&bi.links, "20210120120000.1234-1-shameer@huawei.com"), "patch: lore id from Link trailer");

	struct sbuf sb = SBUF_INIT;
	body_extract(patch, &bi, 1u << SEG_PROSE, &sb);
	is_str(sb.buf, "The maintenance interrupt can fire while the vcpu is not loaded,\n"
		       "which leads to a spurious exit. Check the state first.\n\n", "patch: prose is the commit message");
	sbuf_release(&sb);
	body_info_release(&bi);
}

static const char reply[] =
	"Hi Jane,\n"
	"\n"
	"On Mon, 25 Jan 2021 10:50:02 +0000,\n"
	"Jane Doe <jane@example.org> wrote:\n"
	"> \n"
	"> The maintenance interrupt can fire while the vcpu is not loaded.\n"
	"> \n"
	"> > Earlier: On Friday this was discussed.\n"
	"> Reviewed-by: Eric Auger <eric.auger@redhat.com>\n"
	"> Signed-off-by: Jane Doe <jane@example.org>\n"
	"> ---\n"
	">  arch/arm64/kvm/vgic/vgic-v3.c | 5 +++--\n"
	"> @@ -10,7 +10,8 @@ static void vgic_v3_fold_lr_state(struct kvm_vcpu *vcpu)\n"
	"> -\tif (!vcpu)\n"
	"> +\tif (!vcpu || !vcpu->arch.loaded)\n"
	"\n"
	"This check is racy against vcpu_put(), please take the lock.\n"
	"\n"
	"[...]\n"
	"\n"
	"> +\t\treturn;\n"
	"\n"
	"With that fixed:\n"
	"\n"
	"Reviewed-by: Marc Zyngier <maz@kernel.org>\n"
	"\n"
	"Looks right otherwise.\n"
	"Acked-by: Will Deacon <will@kernel.org>\n"
	"Thanks,\n"
	"\n"
	"\tM.\n"
	"-- \n"
	"Without deviation from the norm, progress is not possible.\n"
	"_______________________________________________\n"
	"kvmarm mailing list\n"
	"kvmarm@lists.cs.columbia.edu\n";

static void t_reply(void)
{
	struct body_info bi;
	body_analyze(reply, strlen(reply), &bi);
	check_segments_cover(reply, &bi, "reply");
	is_kind(reply, &bi, "Hi Jane", SEG_PROSE);
	is_kind(reply, &bi, "On Mon, 25 Jan 2021", SEG_QUOTE);
	is_kind(reply, &bi, "Jane Doe <jane@example.org> wrote:", SEG_QUOTE);
	is_kind(reply, &bi, "> The maintenance", SEG_QUOTE);
	is_kind(reply, &bi, "> @@ -10,7", SEG_QUOTE);
	is_kind(reply, &bi, "This check is racy", SEG_PROSE);
	is_kind(reply, &bi, "[...]", SEG_QUOTE);
	is_kind(reply, &bi, "With that fixed:", SEG_PROSE);
	is_kind(reply, &bi, "Reviewed-by: Marc", SEG_TRAILER);
	is_kind(reply, &bi, "Looks right otherwise.", SEG_PROSE);
	is_kind(reply, &bi, "Acked-by: Will", SEG_TRAILER);
	is_kind(reply, &bi, "Without deviation", SEG_SIGNATURE);
	is_kind(reply, &bi, "kvmarm mailing list", SEG_SIGNATURE);
	is_int(bi.has_diff, 0, "reply: a quoted diff is not a diff");
	is_int(bi.diff_files.n, 0, "reply: no diff files from quotes");
	is_int(bi.stat_files, -1, "reply: no diffstat from quotes");

	is_int(count_kind(&bi, TR_REVIEWED, 0), 1, "reply: one own Reviewed-by");
	is_int(count_kind(&bi, TR_ACKED, 0), 1, "reply: one own Acked-by");
	is_int(count_kind(&bi, TR_REVIEWED, 1), 1, "reply: one quoted Reviewed-by");
	is_int(count_kind(&bi, TR_SIGNED_OFF, 1), 1, "reply: one quoted Signed-off-by");
	const struct trailer *t = find_trailer(&bi, "Reviewed-by", "Marc Zyngier", 0);
	ok(t && t->addr && !strcmp(t->addr, "maz@kernel.org"), "reply: own Reviewed-by person");
	t = find_trailer(&bi, "Reviewed-by", "Eric Auger", 1);
	ok(t != NULL, "reply: quoted Reviewed-by marked quoted");

	struct sbuf sb = SBUF_INIT;
	body_extract(reply, &bi, 1u << SEG_PROSE | 1u << SEG_CHANGES, &sb);
	ok(strstr(sb.buf, "This check is racy") && strstr(sb.buf, "With that fixed:"), "reply: prose extracted");
	ok(!strstr(sb.buf, "> ") && !strstr(sb.buf, "wrote:") && !strstr(sb.buf, "Reviewed-by") &&
	   !strstr(sb.buf, "deviation") && !strstr(sb.buf, "[...]"), "reply: no quotes, tags, signature in prose");
	sbuf_release(&sb);
	body_info_release(&bi);
}

static void t_changes_shapes(void)
{
	static const char *const heads[] = {
		"Changes since v2:", "Changes in v3:", "v2 -> v3:", "Changes from v1:", "v3:", "Changelog:",
		"* v1..v2:", "Since v1:", "RFC v1 -> v2:",
	};
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct sbuf sb = SBUF_INIT;
		struct body_info bi;
		sbuf_addf(&sb, "Intro paragraph.\n\n%s\n- first change\n  wrapped line\n\n* second block\n\n"
			  "Thanks for looking.\n", heads[i]);
		body_analyze(sb.buf, sb.len, &bi);
		int k1 = kind_at(sb.buf, &bi, heads[i]), k2 = kind_at(sb.buf, &bi, "second block"),
		    k3 = kind_at(sb.buf, &bi, "Thanks for looking"), k0 = kind_at(sb.buf, &bi, "Intro");
		ok(k0 == SEG_PROSE && k1 == SEG_CHANGES && k2 == SEG_CHANGES && k3 == SEG_PROSE,
		   "changes header '%s': block up to the next plain paragraph (%d %d %d %d)", heads[i], k0, k1, k2, k3);
		body_info_release(&bi);
		sbuf_release(&sb);
	}
	/* sentences that only look like notes */
	static const char *const nots[] = {
		"Changes to the vgic are needed because of the way we do things here. And more.",
		"v2 of the spec says otherwise.",
		"Change the lock to a spinlock:",
	};
	for (size_t i = 0; i < sizeof(nots) / sizeof(nots[0]); i++) {
		struct body_info bi;
		body_analyze(nots[i], strlen(nots[i]), &bi);
		is_int(kind_at(nots[i], &bi, nots[i]), SEG_PROSE, "not a changes header: prose");
		body_info_release(&bi);
	}
}

static void t_edges(void)
{
	struct body_info bi;
	body_analyze("", 0, &bi);
	is_int(bi.nsegs, 0, "empty text: no segments");
	is_int(bi.stat_files, -1, "empty text: no diffstat");
	body_info_release(&bi);

	const char *noeol = "Just one line without newline";
	body_analyze(noeol, strlen(noeol), &bi);
	is_int(bi.nsegs, 1, "no trailing newline: one segment");
	is_int(bi.segs[0].len, strlen(noeol), "no trailing newline: covers the text");
	body_info_release(&bi);

	/* an inline diff in a reply, without the patch's "---" */
	const char *inl = "Something like this?\n\ndiff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@ int main(void)\n"
			  "-a\n+b\n\nWould that work?\n";
	body_analyze(inl, strlen(inl), &bi);
	is_kind(inl, &bi, "+b", SEG_DIFF);
	is_kind(inl, &bi, "Would that work?", SEG_PROSE);
	ok(strv_has(&bi.diff_files, "x.c") && strv_has(&bi.diff_funcs, "main"), "inline diff: file and function");
	body_info_release(&bi);

	/* a pasted mail header is not a trailer block */
	const char *fwd = "Forwarded:\n\nFrom: Someone <s@x.org>\nSubject: crash\nCc: kvmarm@lists.linux.dev\n\nBye\n";
	body_analyze(fwd, strlen(fwd), &bi);
	is_int(bi.ntrailers, 0, "pasted header: no trailers");
	is_kind(fwd, &bi, "Cc: kvmarm", SEG_PROSE);
	body_info_release(&bi);

	/* tags at the end of a prose paragraph */
	const char *tail = "Looks good to me.\nReviewed-by: A Person <A@Example.org>\n";
	body_analyze(tail, strlen(tail), &bi);
	is_kind(tail, &bi, "Looks good", SEG_PROSE);
	is_kind(tail, &bi, "Reviewed-by", SEG_TRAILER);
	is_int(bi.ntrailers, 1, "tag after prose: one trailer");
	if (bi.ntrailers == 1)
		is_str(bi.trailers[0].addr, "a@example.org", "tag after prose: address lowercased");
	body_info_release(&bi);

	/* a "---" line in prose with no patch after it is prose */
	const char *dash = "First part\n---\nSecond part\n";
	body_analyze(dash, strlen(dash), &bi);
	is_kind(dash, &bi, "---", SEG_PROSE);
	body_info_release(&bi);

	/* top-posting: the original pasted below without '>' */
	const char *top = "Thanks, v2 coming.\n\nReviewed-by: T Op <top@x.org>\n\n"
			  "On 26 Jan 2021, at 16:49, Dave Martin <dave@x.org> wrote:\n\n"
			  "Some original text.\nAcked-by: Orig Inal <orig@x.org>\n";
	body_analyze(top, strlen(top), &bi);
	is_kind(top, &bi, "Thanks, v2", SEG_PROSE);
	is_kind(top, &bi, "On 26 Jan", SEG_QUOTE);
	is_kind(top, &bi, "Some original text", SEG_QUOTE);
	ok(bi.ntrailers == 1 && !strcmp(bi.trailers[0].addr, "top@x.org"), "top-posting: only the sender's tag counts");
	body_info_release(&bi);

	const char *notattr = "Intro.\n\nOn the save path:\n\tpause all vCPUs\n";
	body_analyze(notattr, strlen(notattr), &bi);
	is_kind(notattr, &bi, "On the save path", SEG_PROSE);
	is_kind(notattr, &bi, "pause all", SEG_PROSE);
	body_info_release(&bi);

	const char *outl = "Agreed.\n\n-----Original Message-----\nFrom: A <a@x>\nSent: Monday\n\nold text\n";
	body_analyze(outl, strlen(outl), &bi);
	is_kind(outl, &bi, "Agreed.", SEG_PROSE);
	is_kind(outl, &bi, "-----Original", SEG_QUOTE);
	is_kind(outl, &bi, "old text", SEG_QUOTE);
	body_info_release(&bi);

	is_str(seg_kind_name(SEG_CHANGES), "changes", "seg_kind_name");
}

static void t_hostile(void)
{
	/* inputs that would be quadratic in a naive classifier; each must
	 * finish quickly (the parser caps text at 4 MB) */
	struct sbuf sb = SBUF_INIT;
	struct body_info bi;
	sbuf_adds(&sb, "Changes since v1:\n- x\n");
	for (int i = 0; i < 1000000; i++)
		sbuf_addc(&sb, '\n');
	sbuf_adds(&sb, "  - still notes\n");
	body_analyze(sb.buf, sb.len, &bi);
	is_kind(sb.buf, &bi, "still notes", SEG_CHANGES);
	body_info_release(&bi);

	sbuf_reset(&sb);
	for (int i = 0; i < 40000; i++)
		sbuf_addf(&sb, "diff --git a/f%d.c b/f%d.c\n--- a/f%d.c\n+++ b/f%d.c\n@@ -1 +1 @@ fn%d(void)\n-a\n+b\n",
			  i, i, i, i, i);
	body_analyze(sb.buf, sb.len, &bi);
	ok(bi.diff_files.n > 1000 && bi.diff_files.n <= 4096, "40,000 files: list capped (%zu)", bi.diff_files.n);
	ok(bi.has_diff, "40,000 files: a diff");
	body_info_release(&bi);
	sbuf_release(&sb);
}

int main(void)
{
	t_cover_letter();
	t_patch();
	t_reply();
	t_changes_shapes();
	t_edges();
	t_hostile();
	return done_testing();
}
