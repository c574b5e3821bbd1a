/*
 * t_series.c - patch series in the store: versions linked by author +
 * title, by change-id when the title changed, by a "Link to v1" line; not
 * linked when two authors send the same shape, nor across project tags;
 * RESEND is a version again; replies and middle patches are no versions.
 * Version links against dependencies: "based on", reference lists, a
 * same-author reference, another author's alternative, a "Link:" trailer
 * and a stable backport are no versions; RFC -> v2 and a double-posted
 * cover are; all of it the same in six arrival orders. A reply-only
 * thread (replies to a version whose cover is not stored) joins the series
 * whose cover links to the cover it references, never by its subject
 * alone, in every arrival order.
 */
#include "tap.h"
#include "store.h"
#include "kvtime.h"
#include "testmail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char tmpdir[256];
static int ndirs;

static char *mk(const char *id, const char *irt, const char *from, const char *subj, int64_t date,
		const char *body)
{
	return test_mail(id, irt, from, subj, date,
			 body ? body : "A cover letter.\n\nSigned-off-by: Someone <s@x>\n");
}

static struct store *fresh(void)
{
	struct store *s;
	struct kv_err err;
	char *dir = kv_xasprintf("%s/s%d", tmpdir, ndirs++);

	if (store_open(&s, dir, STORE_CREATE, &err) < 0) {
		diag("open %s: %s", dir, err.msg);
		exit(1);
	}
	free(dir);
	return s;
}

static void add(struct store *s, const char *id, const char *irt, const char *from, const char *subj,
		int64_t date, const char *body)
{
	char *raw = mk(id, irt, from, subj, date, body);
	struct store_item it;
	struct kv_err err;

	if (store_add(s, raw, strlen(raw), date, &it, &err) < 0 || it.status != STORE_ADDED)
		diag("add %s failed: %s", id, err.msg);
	free(raw);
}

/* Series id of the thread holding message id (0: none). */
static uint64_t series_of(struct store *s, const char *id)
{
	struct store_reader *r;
	struct kv_err err;
	struct msg_rec m;
	struct thread_rec t;
	uint64_t num, sid = 0;
	size_t n;

	store_reader_begin(s, &r, &err);
	if (store_msg_find(r, id, &num, 1, &n, &err) == 0 && store_msg_get(r, num, &m, &err) == 0 &&
	    store_thread_get(r, m.thread, &t, &err) == 0)
		sid = t.series;
	store_reader_end(r);
	return sid;
}

/* "title|author|v1:id v2:id ..." */
static char *describe(struct store *s, uint64_t sid)
{
	struct store_reader *r;
	struct kv_err err;
	struct series_rec sr;
	struct sbuf sb = SBUF_INIT;

	store_reader_begin(s, &r, &err);
	if (store_series_get(r, sid, &sr, &err) != 0) {
		store_reader_end(r);
		return kv_xstrdup("(none)");
	}
	sbuf_addf(&sb, "%s|%s|", sr.title, sr.author);
	for (size_t i = 0; i < sr.nversions; i++)
		sbuf_addf(&sb, "%sv%d:%s", i ? " " : "", sr.versions[i].version, sr.versions[i].message_id);
	free(sr.versions);
	store_reader_end(r);
	return sbuf_detach(&sb, NULL);
}

static void check_whole(struct store *s, const char *what)
{
	struct kv_err err;
	int rc = store_check(s, &err);
	ok(rc == 0, "%s: check passes%s%s", what, rc ? ": " : "", rc ? err.msg : "");
}

static void test_title_author(void)
{
	struct store *s = fresh();
	char *d;

	/* arrival order v3, v1, v2; v3 spells the title differently */
	add(s, "v3@x", NULL, "Ana <ana@x>", "[PATCH v3 0/3] KVM: arm64: Fix the vgic.", 1000300000, NULL);
	add(s, "v1@x", NULL, "Ana <ana@x>", "[PATCH 0/3] KVM: arm64: Fix the vgic", 1000100000, NULL);
	add(s, "v1p1@x", "v1@x", "Ana <ana@x>", "[PATCH 1/3] KVM: arm64: part one", 1000100001, NULL);
	add(s, "v2@x", NULL, "Ana <ANA@x>", "[PATCH v2 0/3] KVM: arm64: fix the vgic", 1000200000, NULL);
	ok(series_of(s, "v1@x") != 0, "v1 cover letter is a series version");
	ok(series_of(s, "v1@x") == series_of(s, "v2@x") && series_of(s, "v2@x") == series_of(s, "v3@x"),
	   "v1, v2, v3 by one author with one title: one series");
	ok(series_of(s, "v1p1@x") == series_of(s, "v1@x"), "a patch of v1 is in v1's thread, so its series");
	d = describe(s, series_of(s, "v1@x"));
	is_str(d, "KVM: arm64: Fix the vgic.|ana@x|v1:v1@x v2:v2@x v3:v3@x",
	       "versions ascending, title of the newest");
	free(d);
	/* a reply dated before its cover letter (a skewed clock) moves the
	 * thread's first date but not its root: the series follows */
	add(s, "skew@x", "v1@x", "Bo <bo@y>", "Re: [PATCH 0/3] KVM: arm64: Fix the vgic", 1000000000, "ok\n");
	{
		struct store_reader *r;
		struct series_rec sr;
		struct kv_err err;
		store_reader_begin(s, &r, &err);
		ok(store_series_get(r, series_of(s, "v1@x"), &sr, &err) == 0 && sr.nversions == 3 &&
		   sr.versions[0].date == 1000000000, "v1's date is its thread's new first date");
		free(sr.versions);
		store_reader_end(r);
	}
	check_whole(s, "title");
	store_close(s);
}

static void test_change_id(void)
{
	struct store *s = fresh();
	const char *b1 = "Rework the timers.\n\n---\nAna (2):\n  one\n  two\n\n"
		"base-commit: 0123456789abcdef\nchange-id: 20240101-timer-rework-1a2b3c\n\nBest regards,\n";
	const char *b2 = "Rework the arch timer, second try.\n\nChanges in v2:\n- everything\n\n---\n"
		"base-commit: 0123456789abcdef\nchange-id: 20240101-timer-rework-1a2b3c\n\nBest regards,\n";
	char *d;

	add(s, "t1@x", NULL, "Ana <ana@x>", "[PATCH 0/2] arm64: rework timers", 1000100000, b1);
	add(s, "t2@x", NULL, "Ana <ana@x>", "[PATCH v2 0/2] KVM: arm64: Rework the arch timer", 1000200000, b2);
	add(s, "o1@x", NULL, "Ana <ana@x>", "[PATCH 0/2] arm64: something else", 1000150000, NULL);
	ok(series_of(s, "t1@x") && series_of(s, "t1@x") == series_of(s, "t2@x"),
	   "same change-id, changed title: one series");
	ok(series_of(s, "o1@x") != series_of(s, "t1@x"), "same author, other title, no change-id: another");
	d = describe(s, series_of(s, "t2@x"));
	is_str(d, "KVM: arm64: Rework the arch timer|ana@x|v1:t1@x v2:t2@x", "change-id series versions");
	free(d);
	check_whole(s, "change-id");
	store_close(s);
}

static void test_link(void)
{
	const char *b2 = "A better fix.\n\nChanges in v2:\n- new approach\n"
		"- Link to v1: https://lore.kernel.org/r/lone-v1@x\n\nSigned-off-by: Ana <ana@x>\n";

	for (int rev = 0; rev < 2; rev++) {
		struct store *s = fresh();
		char *d;
		if (!rev)
			add(s, "lone-v1@x", NULL, "Ana <ana@x>", "[PATCH] KVM: arm64: one fix", 1000100000, NULL);
		add(s, "lone-v2@x", NULL, "Ana <ana@x>", "[PATCH v2] KVM: arm64: a better fix", 1000200000, b2);
		if (rev)
			add(s, "lone-v1@x", NULL, "Ana <ana@x>", "[PATCH] KVM: arm64: one fix", 1000100000, NULL);
		ok(series_of(s, "lone-v1@x") && series_of(s, "lone-v1@x") == series_of(s, "lone-v2@x"),
		   "Link to v1 joins a retitled lone patch (%s)", rev ? "v2 first" : "v1 first");
		d = describe(s, series_of(s, "lone-v1@x"));
		is_str(d, "KVM: arm64: a better fix|ana@x|v1:lone-v1@x v2:lone-v2@x", "link series versions");
		free(d);
		check_whole(s, "link");
		store_close(s);
	}
}

static void test_not_merged(void)
{
	struct store *s = fresh();
	char *d;

	add(s, "a5@x", NULL, "Ana <ana@x>", "[PATCH 0/5] KVM: arm64: Cleanups", 1000100000, NULL);
	add(s, "b5@y", NULL, "Bo <bo@y>", "[PATCH 0/5] KVM: arm64: Cleanups", 1000100500, NULL);
	ok(series_of(s, "a5@x") && series_of(s, "b5@y") && series_of(s, "a5@x") != series_of(s, "b5@y"),
	   "two authors, same [PATCH 0/5] shape and title: two series");
	add(s, "kut@x", NULL, "Ana <ana@x>", "[kvm-unit-tests PATCH 0/2] arm64: timer tests", 1000200000, NULL);
	add(s, "krn@x", NULL, "Ana <ana@x>", "[PATCH 0/2] arm64: timer tests", 1000200500, NULL);
	ok(series_of(s, "kut@x") && series_of(s, "krn@x") && series_of(s, "kut@x") != series_of(s, "krn@x"),
	   "kvm-unit-tests and kernel series of one title: separate");
	add(s, "r2@x", NULL, "Ana <ana@x>", "[PATCH v2 0/2] arm64: timer tests", 1000300000, NULL);
	add(s, "r2r@x", NULL, "Ana <ana@x>", "[PATCH v2 RESEND 0/2] arm64: timer tests", 1000400000, NULL);
	ok(series_of(s, "r2r@x") == series_of(s, "krn@x"), "RESEND joins its series");
	d = describe(s, series_of(s, "krn@x"));
	is_str(d, "arm64: timer tests|ana@x|v1:krn@x v2:r2@x v2:r2r@x", "RESEND listed as version 2 again");
	free(d);
	add(s, "mid@x", "gone@x", "Ana <ana@x>", "[PATCH 2/3] KVM: arm64: middle", 1000500000, NULL);
	add(s, "re@x", "gone2@x", "Ana <ana@x>", "Re: [PATCH 0/3] KVM: arm64: other", 1000500100, NULL);
	add(s, "pull@x", NULL, "Ana <ana@x>", "[GIT PULL] KVM/arm64 fixes", 1000500200, NULL);
	ok(!series_of(s, "mid@x"), "a middle patch as root is no series version");
	ok(!series_of(s, "re@x"), "a reply as root is no series version");
	ok(!series_of(s, "pull@x"), "a pull request is no series version");
	{
		struct store_reader *r;
		struct store_counts c;
		struct kv_err err;
		store_reader_begin(s, &r, &err);
		store_counts(r, &c, &err);
		store_reader_end(r);
		is_int(c.series, 4, "four series");
	}
	check_whole(s, "not merged");
	store_close(s);
}

static void test_late_cover(void)
{
	struct store *s = fresh();
	char *d;

	add(s, "lc1@x", "lc0@x", "Ana <ana@x>", "[PATCH v2 1/2] KVM: arm64: late", 1000100001, NULL);
	add(s, "lc2@x", "lc0@x", "Ana <ana@x>", "[PATCH v2 2/2] KVM: arm64: later", 1000100002, NULL);
	ok(!series_of(s, "lc1@x"), "patches without their cover letter: no series yet");
	add(s, "old0@x", NULL, "Ana <ana@x>", "[PATCH 0/2] KVM: arm64: Late cover", 1000000000, NULL);
	add(s, "lc0@x", NULL, "Ana <ana@x>", "[PATCH v2 0/2] KVM: arm64: Late cover", 1000100000, NULL);
	ok(series_of(s, "lc1@x") && series_of(s, "lc1@x") == series_of(s, "old0@x"),
	   "the late cover letter makes the thread v2 of the series");
	d = describe(s, series_of(s, "lc2@x"));
	is_str(d, "KVM: arm64: Late cover|ana@x|v1:old0@x v2:lc0@x", "late cover versions");
	free(d);
	check_whole(s, "late cover");
	store_close(s);
}

/* ---- version links against dependencies, in six arrival orders ---- */

struct gmail {
	const char *id, *from, *subj, *body;
	int64_t date;
};

static const struct gmail deps[] = {
	{ "A@x", "Ana <ana@x>", "[PATCH 0/3] KVM: arm64: Base work", NULL, 1000100000 },
	/* another author's series built on A: a dependency */
	{ "B@y", "Bo <bo@y>", "[PATCH 0/2] KVM: arm64: Use the base",
	  "This series is based on [1], please apply that first.\n\n"
	  "[1] https://lore.kernel.org/r/A@x\n\nSigned-off-by: Bo <bo@y>\n", 1000200000 },
	/* the same author pointing at her own older, other series */
	{ "C@x", "Ana <ana@x>", "[PATCH 0/2] KVM: arm64: Other thing",
	  "Some background is in my earlier work at\n"
	  "https://lore.kernel.org/r/A@x\n\nSigned-off-by: Ana <ana@x>\n", 1000300000 },
	{ "D@x", "Ana <ana@x>", "[RFC PATCH 0/3] KVM: arm64: Shiny", NULL, 1000400000 },
	{ "E@x", "Ana <ana@x>", "[PATCH v2 0/3] KVM: arm64: Shiny", NULL, 1000500000 },
	/* the same cover posted twice a minute apart */
	{ "F@x", "Ana <ana@x>", "[PATCH v2 0/3] KVM: arm64: Shiny", NULL, 1000500060 },
	/* a maintainer's alternative to someone else's v2 */
	{ "G@z", "Cy <cy@z>", "[PATCH 0/4] KVM: arm64: Alternative take",
	  "This is an alternative to Ana's v2 [1].\n\n"
	  "[1] https://lore.kernel.org/r/E@x\n\nSigned-off-by: Cy <cy@z>\n", 1000600000 },
	/* a stable backport of E's work */
	{ "H@x", "Ana <ana@x>", "[PATCH][stable-5.10] KVM: arm64: Shiny",
	  "commit 0123456789abcdef0123 upstream.\n\nThe fix.\n\n"
	  "Link: https://lore.kernel.org/r/E@x\nSigned-off-by: Ana <ana@x>\n", 1000700000 },
	/* someone else's repost whose Link: trailer names where it was first
	 * posted: no version, even with the same title */
	{ "H2@x", "Bo <bo@y>", "[PATCH] KVM: arm64: Shiny",
	  "The fix.\n\nLink: https://lore.kernel.org/r/E@x\nSigned-off-by: Ana <ana@x>\n", 1000700100 },
	{ "J@x", "Ana <ana@x>", "[PATCH v2 0/2] KVM: arm64: Take over", NULL, 1000800000 },
	/* another author takes J over; the reference list also names a base */
	{ "I@w", "Dee <dee@w>", "[PATCH v3 0/2] KVM: arm64: Take over",
	  "This is v3 of the series Ana posted at [1].\nIt applies on top of [2].\n\n"
	  "[1] https://lore.kernel.org/r/J@x\n[2] https://lore.kernel.org/r/A@x\n\n"
	  "Signed-off-by: Dee <dee@w>\n", 1000900000 },
	/* a retitled v2 that says which cover was v1 */
	{ "K@x", "Ana <ana@x>", "[PATCH v2 0/3] KVM: arm64: Base work, reworked",
	  "Changes since v1:\n- everything\n\n"
	  "v1: https://lore.kernel.org/r/A@x\n\nSigned-off-by: Ana <ana@x>\n", 1001000000 },
	/* "v2" named next to a link to a v1 of another title */
	{ "L@x", "Ana <ana@x>", "[PATCH] KVM: arm64: Tiny",
	  "Part of this was in v2 of another series [1].\n\n"
	  "[1] https://lore.kernel.org/r/A@x\n\nSigned-off-by: Ana <ana@x>\n", 1001100000 },
	/* a renamed v6 whose "v6" names itself, not the target */
	{ "N@x", "Ana <ana@x>", "[PATCH v5 0/2] KVM: arm64: Old name", NULL, 1001200000 },
	{ "M@x", "Ana <ana@x>", "[PATCH v6 0/2] KVM: arm64: New name",
	  "This is the v6 of the series previously posted here:\n\n"
	  "  https://lore.kernel.org/r/N@x/\n\nSigned-off-by: Ana <ana@x>\n", 1001300000 },
	/* "based on v2 of my ..." names a version, but of a dependency */
	{ "P@x", "Ana <ana@x>", "[PATCH v2 0/2] KVM: arm64: Prep work", NULL, 1001350000 },
	{ "Q@x", "Ana <ana@x>", "[PATCH 0/3] KVM: arm64: Feature on the prep",
	  "This series is based on v2 of my prep work [1].\n\n"
	  "[1] https://lore.kernel.org/r/P@x\n\nSigned-off-by: Ana <ana@x>\n", 1001360000 },
	/* v3 bridges a retitled v2 (same title as v3) and v1 (its link) */
	{ "R1@x", "Ana <ana@x>", "[PATCH 0/2] KVM: arm64: First name", NULL, 1001400000 },
	{ "R2@x", "Ana <ana@x>", "[PATCH v2 0/2] KVM: arm64: Second name", NULL, 1001500000 },
	{ "R3@x", "Ana <ana@x>", "[PATCH v3 0/2] KVM: arm64: Second name",
	  "Changes in v3:\n- typos\n\nLink to v1: https://lore.kernel.org/r/R1@x\n", 1001600000 },
	/* a link to a cover dated later (a skewed clock) is no previous version */
	{ "T1@x", "Ana <ana@x>", "[PATCH 0/2] KVM: arm64: Same words",
	  "Bo has a take on this too:\nhttps://lore.kernel.org/r/T2@y\n", 1001700000 },
	{ "T2@y", "Bo <bo@y>", "[PATCH 0/2] KVM: arm64: Same words", NULL, 1001800000 },
};
#define NDEPS (sizeof(deps) / sizeof(deps[0]))

/* The partition as letters: each mail names the first mail of its series,
 * '-' when it is in none. */
static void partition_of(struct store *s, char *out)
{
	uint64_t sid[NDEPS];

	for (size_t i = 0; i < NDEPS; i++) {
		sid[i] = series_of(s, deps[i].id);
		out[i] = '-';
		for (size_t j = 0; sid[i] && j <= i; j++)
			if (sid[j] == sid[i]) {
				out[i] = (char)('a' + j);
				break;
			}
	}
	out[NDEPS] = '\0';
}

static void test_dependencies(void)
{
	/* A B C D E F G H H2 J I K L N M P Q R1 R2 R3: A+K, D+E+F, J+I, N+M,
	 * R1+R2+R3; T1, T2 apart; H in none */
	const char *want = "abcdddg-ijjamnnpqrrruv";
	char first[NDEPS + 1];
	int same = 1;
	unsigned x = 12345;

	for (int o = 0; o < 6; o++) {
		struct store *s = fresh();
		size_t order[NDEPS];
		char got[NDEPS + 1];
		for (size_t i = 0; i < NDEPS; i++)
			order[i] = o == 1 ? NDEPS - 1 - i : i;
		for (size_t i = NDEPS - 1; o >= 2 && i > 0; i--) {
			size_t j, t;
			x = x * 1103515245u + 12345u;
			j = (x >> 8) % (i + 1);
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < NDEPS; i++) {
			const struct gmail *g = &deps[order[i]];
			add(s, g->id, NULL, g->from, g->subj, g->date, g->body);
		}
		partition_of(s, got);
		if (o == 0) {
			memcpy(first, got, sizeof(first));
			ok(got[1] == 'b', "\"based on [1]\" by another author: a dependency, not a version");
			ok(got[2] == 'c', "a same-author link to another title without version words: a reference");
			ok(got[4] == 'd', "RFC -> v2 of the same title and author: one series");
			ok(got[5] == 'd', "a double-posted cover joins its twin");
			ok(got[6] == 'g', "another author's alternative naming a v2: not a version");
			ok(got[7] == '-', "a stable backport (commit <sha> upstream) is no version");
			ok(got[8] == 'i', "a Link: trailer to the same title by another author is no version link");
			ok(got[10] == 'j', "v3 of a taken-over series links to the same title by another author");
			ok(got[11] == 'a', "a retitled v2 with \"v1: <link>\" links to v1");
			ok(got[12] == 'm', "a \"v2\" next to a link to a v1: not a version");
			ok(got[14] == 'n', "\"this is the v6 ... previously posted\" links a renamed v5");
			ok(got[16] == 'q', "\"based on v2 of my ... [1]\": a dependency, not a version");
			ok(got[17] == 'r' && got[18] == 'r' && got[19] == 'r', "v3 with a v1 link and v2's title joins both: one series");
			ok(got[21] == 'v', "a link to a later cover is no version link");
			is_str(got, want, "the whole partition");
		} else if (strcmp(got, first) != 0) {
			diag("order %d: %s, first order: %s", o, got, first);
			same = 0;
		}
		check_whole(s, "dependencies");
		store_close(s);
	}
	ok(same, "same series partition for 6 arrival orders");
}

/* ---- reply-only threads, linked through the ids they reference ---- */

struct rmail {
	const char *id, *refs, *from, *subj, *body;
	int64_t date;
};

static const struct rmail ro[] = {
	/* 0-1: replies to patch 3 of a v4 whose cover V4c@x is not stored */
	{ "ro4@r", "V4c@x V4-3@x", "Rev <rev@r>", "Re: [PATCH v4 3/5] KVM: arm64: Fast path for the thing",
	  "Looks odd.\n", 1002000000 },
	{ "ro4b@x", "V4c@x V4-3@x ro4@r", "Ana <ana@x>", "Re: [PATCH v4 3/5] KVM: arm64: Fast path for the thing",
	  "Fixed in v5.\n", 1002000100 },
	/* 2: v5 (a new title) names the v4 cover */
	{ "V5c@x", NULL, "Ana <ana@x>", "[PATCH v5 0/5] KVM: arm64: A faster thing",
	  "Changes since v4 [1]:\n- faster\n\n[1] https://lore.kernel.org/r/V4c@x\n", 1002100000 },
	/* 3-4: a dependency link to the cover a reply-only thread answers */
	{ "rd2@r", "D2c@x D2-1@x", "Rev <rev@r>", "Re: [PATCH v2 1/2] KVM: arm64: Base bits", "Hmm.\n", 1002200000 },
	{ "D3c@y", NULL, "Bo <bo@y>", "[PATCH v3 0/2] KVM: arm64: Base bits",
	  "This series is based on Ana's v2 [1].\n\n[1] https://lore.kernel.org/r/D2c@x\n", 1002300000 },
	/* 5-6: the same title as a stored series, but no link: subject alone */
	{ "rs1@r", "S1c@x S1-2@x", "Rev <rev@r>", "Re: [PATCH 2/3] KVM: arm64: Solo", "Why?\n", 1002400000 },
	{ "S2c@x", NULL, "Ana <ana@x>", "[PATCH v2 0/3] KVM: arm64: Solo", NULL, 1002500000 },
	/* 7-8: a "v3" link while the reply quotes v4 */
	{ "rw4@r", "W4c@x W4-1@x", "Rev <rev@r>", "Re: [PATCH v4 1/2] KVM: arm64: Wrong one", "No.\n", 1002600000 },
	{ "W5c@x", NULL, "Ana <ana@x>", "[PATCH v5 0/2] KVM: arm64: Wrong one",
	  "v3: https://lore.kernel.org/r/W4c@x\n", 1002700000 },
	/* 9-10: the reply quotes v6, the linker is v3 */
	{ "rl6@r", "L6c@x L6-1@x", "Rev <rev@r>", "Re: [PATCH v6 1/2] KVM: arm64: Later one", "No.\n", 1002800000 },
	{ "L3c@x", NULL, "Ana <ana@x>", "[PATCH v3 0/2] KVM: arm64: Later one",
	  "Previous version: https://lore.kernel.org/r/L6c@x\n", 1002900000 },
};
#define NRO (sizeof(ro) / sizeof(ro[0]))

static void test_reply_only(void)
{
	/* ro4 + ro4b (one thread) + V5c; every other mail apart */
	const char *want = "aaadefghijk";
	int same = 1;
	unsigned x = 777;

	for (int o = 0; o < 6; o++) {
		struct store *s = fresh();
		size_t order[NRO];
		uint64_t sid[NRO];
		char got[NRO + 1];
		for (size_t i = 0; i < NRO; i++)
			order[i] = o == 1 ? NRO - 1 - i : i;
		for (size_t i = NRO - 1; o >= 2 && i > 0; i--) {
			size_t j, t;
			x = x * 1103515245u + 12345u;
			j = (x >> 8) % (i + 1);
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < NRO; i++) {
			const struct rmail *g = &ro[order[i]];
			add(s, g->id, g->refs, g->from, g->subj, g->date, g->body);
		}
		for (size_t i = 0; i < NRO; i++) {
			sid[i] = series_of(s, ro[i].id);
			got[i] = (char)('a' + i);
			for (size_t j = 0; sid[i] && j < i; j++)
				if (sid[j] == sid[i]) {
					got[i] = got[j];
					break;
				}
		}
		got[NRO] = '\0';
		if (o == 0) {
			char *d = describe(s, sid[2]);
			is_str(d, "KVM: arm64: A faster thing|ana@x|v4:ro4@r v5:V5c@x",
			       "a reply-only v4 thread joins v5, whose cover links to the v4 cover it references");
			free(d);
			ok(sid[3] == 0 && sid[4] && sid[4] != sid[3], "a dependency link: the reply-only thread stays apart");
			ok(sid[5] == 0, "same title, no link: a reply-only thread is not linked by its subject");
			ok(sid[7] == 0, "a link naming v3 does not take a reply quoting v4");
			ok(sid[9] == 0, "a reply quoting v6 is no earlier version of a v3");
			is_str(got, want, "the whole partition");
		} else if (strcmp(got, want) != 0) {
			diag("order %d: %s, want %s", o, got, want);
			same = 0;
		}
		check_whole(s, "reply-only");
		store_close(s);
	}
	ok(same, "reply-only threads: the same series in 6 arrival orders");
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/t_series.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_title_author();
	test_change_id();
	test_link();
	test_not_merged();
	test_late_cover();
	test_dependencies();
	test_reply_only();
	{
		char *cmd = kv_xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
		free(cmd);
	}
	return done_testing();
}
