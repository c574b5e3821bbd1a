/*
 * t_act.c - review tags and "who must act", from mails this test writes
 * into a real store and a digest built from it: tags carried in a patch's
 * own trailers, a tag naming its sender with another address, a tag of a
 * third person not credited, ready to merge only when every patch is
 * reviewed, waiting on the author after a change request, stable review
 * queues never waiting on reviewers, a cover letter posted twice listed
 * once, and a From whose encoded name forges an address never getting
 * that address credited or printed.

 * once, a series waiting on reviewers only once it is review_wait_days old
 * at the window's end.
 */
#include "tap.h"
#include "store.h"
#include "digest.h"
#include "render.h"
#include "kvtime.h"
#include "testmail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char tmpdir[256];
static int64_t t0;   /* Monday 2024-03-04 00:00 UTC: the window is that week */

static void add(struct store *s, const char *id, const char *irt, const char *from, const char *subj,
		int hours, const char *body)
{
	int64_t date = t0 + (int64_t)hours * 3600;
	char *raw = test_mail(id, irt, from, subj, date, body);
	struct store_item it;
	struct kv_err err;
	if (store_add(s, raw, strlen(raw), date, &it, &err) < 0 || it.status != STORE_ADDED)
		diag("add %s failed: %s", id, err.msg);
	free(raw);
}

static const char *const cover = "The cover letter.\n\nAuthor (2):\n  one\n  two\n";

/* A patch mail: its commit message with trailers, then the diff. The diff
 * holds a line that looks like a tag: it must never count. */
static char *patch_body(const char *trailers)
{
	return kv_xasprintf("Fix a thing.\n\n%sSigned-off-by: Ann Author <ann@x.org>\n---\n"
			    " arch/arm64/kvm/x.c | 1 +\n 1 file changed, 1 insertion(+)\n\n"
			    "diff --git a/arch/arm64/kvm/x.c b/arch/arm64/kvm/x.c\n"
			    "--- a/arch/arm64/kvm/x.c\n+++ b/arch/arm64/kvm/x.c\n@@ -1,1 +1,2 @@\n"
			    " int x;\n+Reviewed-by: Diff Line <diff@x.org>\n", trailers);
}

static void add_patch(struct store *s, const char *id, const char *irt, const char *subj, int hours,
		      const char *trailers)
{
	char *b = patch_body(trailers);
	add(s, id, irt, "Ann Author <ann@x.org>", subj, hours, b);
	free(b);
}

static const struct digest_thread *find(const struct digest *d, const char *subject)
{
	for (size_t i = 0; i < d->nthreads; i++)
		if (strcmp(d->threads[i].subject, subject) == 0)
			return &d->threads[i];
	return NULL;
}

static const struct digest_patch *patch(const struct digest_thread *t, int index)
{
	for (size_t i = 0; t && i < t->npatches; i++)
		if (t->patches[i].index == index)
			return &t->patches[i];
	return NULL;
}

/* How many attention entries of kind name the thread with this subject. */
static int attention(const struct digest *d, enum digest_attention_kind kind, const char *subject)
{
	int n = 0;
	for (size_t i = 0; i < d->nattention; i++)
		if (d->attention[i].kind == kind &&
		    strcmp(d->threads[d->attention[i].thread].subject, subject) == 0)
			n++;
	return n;
}

static void fill(struct store *s)
{
	/* 1. tags carried in the patches' own trailers, no reply */
	add(s, "c1@x", NULL, "Ann Author <ann@x.org>", "[PATCH v3 0/2] KVM: arm64: carried", 1, cover);
	add_patch(s, "c1-1@x", "c1@x", "[PATCH v3 1/2] KVM: arm64: carried one", 1,
		  "Reviewed-by: Rita Reviewer <rita@x.org>\nTested-by: Tom Tester <tom@x.org>\n");
	add_patch(s, "c1-2@x", "c1@x", "[PATCH v3 2/2] KVM: arm64: carried two", 1,
		  "Acked-by: Al Acker <al@x.org>\n");

	/* 2. a tag naming its sender with another address; a third person's tag */
	add(s, "o1@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/2] KVM: arm64: other address", 2, cover);
	add_patch(s, "o1-1@x", "o1@x", "[PATCH 1/2] KVM: arm64: other one", 2, "");
	add_patch(s, "o1-2@x", "o1@x", "[PATCH 2/2] KVM: arm64: other two", 2, "");
	add(s, "o1-r1@x", "o1-1@x", "Marc Zyngier <maz@kernel.org>", "Re: [PATCH 1/2] KVM: arm64: other one", 5,
	    "Looks good.\n\nAcked-by: Marc Zyngier <maz:kernel.org>\n");
	add(s, "o1-r2@x", "o1-2@x", "Sam Someone <sam@x.org>", "Re: [PATCH 2/2] KVM: arm64: other two", 6,
	    "Looks good.\n\nReviewed-by: Third Person <third@x.org>\n");

	/* 3. a stable review queue, and an ordinary series, both without reply */
	add(s, "st@x", NULL, "Greg KH <greg@x.org>", "[PATCH 5.10 00/02] 5.10.99-rc1 review", 3,
	    "This is the start of the stable review cycle.\n");
	add(s, "st-1@x", "st@x", "Greg KH <greg@x.org>", "[PATCH 5.10 01/02] KVM: arm64: backport one", 3,
	    "commit 0123456789ab upstream.\n\nSigned-off-by: Greg KH <greg@x.org>\n");
	add(s, "st-2@x", "st@x", "Greg KH <greg@x.org>", "[PATCH 5.10 02/02] KVM: arm64: backport two", 3,
	    "commit 0123456789ac upstream.\n\nSigned-off-by: Greg KH <greg@x.org>\n");
	add(s, "nr@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/1] KVM: arm64: nobody answered", 4, cover);
	add_patch(s, "nr-1@x", "nr@x", "[PATCH 1/1] KVM: arm64: nobody answered", 4, "");

	/* 4. every patch reviewed in replies (cover tag + patch tag), one
	 * patch without a review, and reviewed but asked to rework */
	add(s, "rd@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/2] KVM: arm64: ready", 5, cover);
	add_patch(s, "rd-1@x", "rd@x", "[PATCH 1/2] KVM: arm64: ready one", 5, "");
	add_patch(s, "rd-2@x", "rd@x", "[PATCH 2/2] KVM: arm64: ready two", 5, "");
	add(s, "rd-r@x", "rd@x", "Rita Reviewer <rita@x.org>", "Re: [PATCH 0/2] KVM: arm64: ready", 8,
	    "For the series:\n\nReviewed-by: Rita Reviewer <rita@x.org>\n");
	add(s, "hf@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/2] KVM: arm64: half", 5, cover);
	add_patch(s, "hf-1@x", "hf@x", "[PATCH 1/2] KVM: arm64: half one", 5, "");
	add_patch(s, "hf-2@x", "hf@x", "[PATCH 2/2] KVM: arm64: half two", 5, "");
	add(s, "hf-r@x", "hf-1@x", "Rita Reviewer <rita@x.org>", "Re: [PATCH 1/2] KVM: arm64: half one", 8,
	    "Reviewed-by: Rita Reviewer <rita@x.org>\n");
	add(s, "rw@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/1] KVM: arm64: rework", 5, cover);
	add_patch(s, "rw-1@x", "rw@x", "[PATCH 1/1] KVM: arm64: rework", 5,
		  "Reviewed-by: Rita Reviewer <rita@x.org>\n");
	add(s, "rw-r@x", "rw-1@x", "Marc Zyngier <maz@kernel.org>", "Re: [PATCH 1/1] KVM: arm64: rework", 9,
	    "I don't like this. Please rework it on top of the new API.\n");

	/* 5. the same cover letter and patch posted twice, nobody answered */
	for (int k = 0; k < 2; k++) {
		char id[32], pid[32];
		snprintf(id, sizeof(id), "dp%d@x", k);
		snprintf(pid, sizeof(pid), "dp%d-1@x", k);
		add(s, id, NULL, "Ann Author <ann@x.org>", "[PATCH 0/1] KVM: arm64: posted twice", 10 + k, cover);
		add_patch(s, pid, id, "[PATCH 1/1] KVM: arm64: posted twice", 10 + k, "");
	}
	/* posted twice again, and the reviewers answered the second copy */
	add(s, "da0@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/1] KVM: arm64: answered copy", 12, cover);
	add(s, "da1@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/1] KVM: arm64: answered copy", 13, cover);
	add_patch(s, "da1-1@x", "da1@x", "[PATCH 1/1] KVM: arm64: answered copy", 13, "");
	add(s, "da1-r@x", "da1-1@x", "Rita Reviewer <rita@x.org>", "Re: [PATCH 1/1] KVM: arm64: answered copy", 14,
	    "A question about this.\n");

	/* 6. forged senders (issue 14 item 3): encoded words that decode to
	 * a group holding boss@kernel.org, and to "Name <boss@kernel.org>",
	 * sent from attacker@evil.example */
	add(s, "sp@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/1] KVM: arm64: spoofed", 15, cover);
	add_patch(s, "sp-1@x", "sp@x", "[PATCH 1/1] KVM: arm64: spoofed", 15, "");
	add(s, "sp-r1@x", "sp-1@x", "=?utf-8?q?a:boss@kernel.org;?= <attacker@evil.example>",
	    "Re: [PATCH 1/1] KVM: arm64: spoofed", 16, "Reviewed-by: Big Boss <boss@kernel.org>\n");
	add(s, "sp-r2@x", "sp-1@x", "=?utf-8?q?Big_Boss_<boss@kernel.org>?= <attacker@evil.example>",
	    "Re: [PATCH 1/1] KVM: arm64: spoofed", 17, "Reviewed-by: Eve <attacker@evil.example>\n");

	/* 7. unanswered, posted 1 day and 4 days before the window's end
	 * (review_wait_days 3): only the older one waits on reviewers */
	add(s, "y1@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/1] KVM: arm64: one day old", 6 * 24, cover);
	add_patch(s, "y1-1@x", "y1@x", "[PATCH 1/1] KVM: arm64: one day old", 6 * 24, "");
	add(s, "y4@x", NULL, "Ann Author <ann@x.org>", "[PATCH 0/1] KVM: arm64: four days old", 3 * 24, cover);
	add_patch(s, "y4-1@x", "y4@x", "[PATCH 1/1] KVM: arm64: four days old", 3 * 24, "");
	/* the author's own follow-up is no reply from a reviewer */
	add(s, "y4-a@x", "y4@x", "Ann Author <ann@x.org>", "Re: [PATCH 0/1] KVM: arm64: four days old", 6 * 24,
	    "Ping: any comment?\n");
}

static void t_tags(const struct digest *d, const char *md, const char *json)
{
	const struct digest_thread *t = find(d, "[PATCH v3 0/2] KVM: arm64: carried");
	const struct digest_patch *p1 = patch(t, 1), *p2 = patch(t, 2);
	ok(p1 && p1->carried.n == 2 && strcmp(p1->carried.v[0], "Reviewed-by: Rita Reviewer <rita@x.org>") == 0 &&
	   strcmp(p1->carried.v[1], "Tested-by: Tom Tester <tom@x.org>") == 0,
	   "carried: the patch's own Reviewed-by and Tested-by, in order, nothing from its diff");
	ok(p2 && p2->carried.n == 1 && strcmp(p2->carried.v[0], "Acked-by: Al Acker <al@x.org>") == 0,
	   "carried: Acked-by on patch 2");
	ok(p1 && !p1->review.reviewed.n && !t->week_tags.n, "carried tags are not tags given this week");
	ok(strstr(md, "carried one](") && strstr(md, "*carried*: R-b ×1, T-b ×1") &&
	   strstr(md, "*carried*: A-b ×1"), "markdown: carried tags counted by kind in the review grid");
	const char *grid = strstr(md, "carried one](");
	const char *eol = grid ? strchr(grid, '\n') : NULL;
	ok(grid && eol && !memmem(grid, (size_t)(eol - grid), "no tags yet", 11),
	   "a patch that carries tags is not 'no tags yet'");
	ok(strstr(json, "\"carried_tags\": [\n            \"Reviewed-by: Rita Reviewer <rita@x.org>\",") != NULL,
	   "json: patches[].carried_tags");

	t = find(d, "[PATCH 0/2] KVM: arm64: other address");
	p1 = patch(t, 1);
	p2 = patch(t, 2);
	ok(p1 && p1->review.acked.n == 1 && strcmp(p1->review.acked.v[0], "Marc Zyngier <maz@kernel.org>") == 0,
	   "a tag naming its sender with another address counts, for the sender");
	ok(p1 && p1->review.other_addr.n == 1 &&
	   strcmp(p1->review.other_addr.v[0], "Acked-by: Marc Zyngier <maz@kernel.org>") == 0,
	   "and is flagged as from another address");
	ok(strstr(md, "Marc Zyngier \\<maz\xe2\x81\xa0" "@kernel.org\\> (from another address)") != NULL,
	   "markdown: the from-another-address marker");
	ok(strstr(json, "\"from_other_address\": [\n            \"Acked-by: Marc Zyngier <maz@kernel.org>\"") != NULL,
	   "json: from_other_address");
	ok(p2 && !p2->review.reviewed.n && !p2->review.other_addr.n,
	   "a tag whose name and address both differ from the sender is not credited");
}

static void t_spoof(const struct digest *d, const char *md, const char *json)
{
	const struct digest_thread *t = find(d, "[PATCH 0/1] KVM: arm64: spoofed");
	const struct digest_patch *p1 = patch(t, 1);
	ok(p1 && p1->review.reviewed.n == 1 && strcmp(p1->review.reviewed.v[0], "attacker@evil.example") == 0,
	   "forged From: the tag is credited to the real address only, without the forged name");
	ok(p1 && !p1->review.other_addr.n, "forged From: the forged name matches no tag");
	ok(t && t->week_tags.n == 1 && strcmp(t->week_tags.v[0], "Reviewed-by: attacker@evil.example (1/1)") == 0,
	   "forged From: this week's tag line names the real address");
	ok(!strstr(md, "boss@kernel.org") && !strstr(json, "boss@kernel.org"),
	   "forged From: the forged address appears nowhere in the markdown or json digest");
	ok(strstr(json, "\"from_name_address\"") != NULL, "json: the forged mails carry the from_name_address flag");
}

static void t_attention(const struct digest *d, const char *json)
{
	ok(attention(d, ATT_READY, "[PATCH v3 0/2] KVM: arm64: carried") == 1,
	   "ready to merge: every patch carries a review tag");
	ok(attention(d, ATT_READY, "[PATCH 0/2] KVM: arm64: ready") == 1,
	   "ready to merge: a cover letter's Reviewed-by counts for every patch");
	ok(!attention(d, ATT_READY, "[PATCH 0/2] KVM: arm64: half") &&
	   !attention(d, ATT_NO_REPLY, "[PATCH 0/2] KVM: arm64: half"),
	   "not ready when one patch has no review (and not unanswered)");
	ok(!attention(d, ATT_READY, "[PATCH 0/1] KVM: arm64: rework") &&
	   attention(d, ATT_AUTHOR, "[PATCH 0/1] KVM: arm64: rework") == 1,
	   "a change request makes a reviewed patch wait on its author");
	ok(attention(d, ATT_NO_REPLY, "[PATCH 0/1] KVM: arm64: nobody answered") == 1,
	   "an unanswered series waits on reviewers");
	ok(!attention(d, ATT_NO_REPLY, "[PATCH 5.10 00/02] 5.10.99-rc1 review"),
	   "a stable review queue does not wait on reviewers");
	ok(attention(d, ATT_NO_REPLY, "[PATCH 0/1] KVM: arm64: posted twice") == 1,
	   "a cover letter posted twice is listed once");
	ok(!attention(d, ATT_NO_REPLY, "[PATCH 0/1] KVM: arm64: answered copy"),
	   "a posting answered in its other copy does not wait on reviewers");
	ok(!attention(d, ATT_NO_REPLY, "[PATCH 0/1] KVM: arm64: one day old"),
	   "unanswered for 1 day, review_wait_days 3: not waiting on reviewers yet");
	ok(attention(d, ATT_NO_REPLY, "[PATCH 0/1] KVM: arm64: four days old") == 1,
	   "unanswered for 4 days (the author's ping is no answer): waiting on reviewers");
	ok(strstr(json, "\"kind\": \"ready_to_merge\"") && strstr(json, "\"kind\": \"waiting_on_author\"") &&
	   strstr(json, "\"kind\": \"no_reply\""), "json: attention kinds");
	/* grouped: every ready entry before every waiting one */
	int order = 1;
	for (size_t i = 1; i < d->nattention; i++)
		if (d->attention[i].kind < d->attention[i - 1].kind)
			order = 0;
	ok(order, "attention grouped by who must act");
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/t_act.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	t0 = 1709510400;   /* 2024-03-04T00:00:00Z */
	struct store *s;
	struct kv_err err;
	char *dir = kv_xasprintf("%s/s", tmpdir);
	if (store_open(&s, dir, STORE_CREATE, &err) < 0) {
		diag("open %s: %s", dir, err.msg);
		return 1;
	}
	free(dir);
	fill(s);

	struct digest_opts o = {
		.zone = "UTC", .lang = "en", .week = "2024-W10", .lore_url = "https://lore.kernel.org/kvmarm/",
		.since = t0, .until = t0 + 7 * 86400, .generated = t0 + 7 * 86400, .large_threshold = 20,
		.review_wait_days = 3,
	};
	struct digest d = { 0 };
	struct store_reader *r;
	if (store_reader_begin(s, &r, &err) < 0 || digest_build(r, &o, &d, &err) < 0) {
		diag("digest: %s", err.msg);
		return 1;
	}
	store_reader_end(r);
	struct sbuf md = SBUF_INIT, json = SBUF_INIT;
	render_md(&d, &md);
	render_json(&d, &json);
	sbuf_adds(&md, "");
	sbuf_adds(&json, "");

	t_tags(&d, md.buf, json.buf);
	t_attention(&d, json.buf);
	t_spoof(&d, md.buf, json.buf);

	sbuf_release(&md);
	sbuf_release(&json);
	digest_release(&d);
	store_close(s);
	char *cmd = kv_xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	free(cmd);
	return done_testing();
}
