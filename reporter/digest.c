/*
 * digest.c - from a window of the store to struct digest: which threads were
 * active, their window mails (counts include only those), series history,
 * review tags, status facts (facts.c), needs-attention and the health line;
 * then display order, totals, lore links and release.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "digest.h"
#include "facts.h"
#include "text.h"
#include "store.h"
#include "subject.h"
#include "memory.h"
#include "banned.h"

/* ---- links ---- */

void digest_lore_link(struct sbuf *sb, const char *base, const char *message_id)
{
	static const char hex[] = "0123456789ABCDEF";
	sbuf_adds(sb, base);
	if (!sb->len || sb->buf[sb->len - 1] != '/')
		sbuf_addc(sb, '/');
	for (const unsigned char *p = (const unsigned char *)message_id; *p; p++) {
		/* unreserved characters and '@' stay; everything else (including
		 * '/', '?', '#', quotes and angle brackets) is encoded, so the id
		 * can neither leave the path nor break out of an attribute */
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '@') {
			sbuf_addc(sb, (char)*p);
		} else {
			sbuf_addc(sb, '%');
			sbuf_addc(sb, hex[*p >> 4]);
			sbuf_addc(sb, hex[*p & 15]);
		}
	}
	sbuf_addc(sb, '/');
}

/* ---- building ---- */

struct win_mail {
	uint64_t num, thread;
	int64_t date;
};
struct win_ctx {
	struct win_mail *v;
	size_t n, cap;
	size_t flagged;
};

static int win_cb(void *ctx, const struct msg_rec *m)
{
	struct win_ctx *w = ctx;
	/* a backfilled root (fetched from the archive) never makes a thread
	 * active nor counts in the window's numbers */
	if (m->flags & MAIL_BACKFILLED)
		return 0;
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 256;
		w->v = kv_xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n].num = m->num;
	w->v[w->n].thread = m->thread;
	w->v[w->n].date = m->date;
	w->n++;
	if (m->flags & MAIL_PARSE_FLAGS)
		w->flagged++;
	return 0;
}

static int win_cmp(const void *a, const void *b)
{
	const struct win_mail *x = a, *y = b;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->num < y->num ? -1 : x->num > y->num;
}

static int version_cmp(const void *a, const void *b)
{
	const struct digest_version *x = a, *y = b;
	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return x->date < y->date ? -1 : x->date > y->date;
}

/* A cover posted twice (same version, same subject) counts once: the
 * history keeps the first post, or this thread when it is the twin.
 * Versions are sorted by version, then date. */
static void digest_versions_dedup(struct digest_thread *t, uint64_t tid)
{
	size_t j = 0;

	for (size_t i = 0; i < t->nversions; i++) {
		struct digest_version *v = &t->versions[i], *k = j ? &t->versions[j - 1] : NULL;
		if (k && k->version == v->version && strcmp(k->subject, v->subject) == 0) {
			if (v->thread == tid) {
				free(k->message_id);
				free(k->subject);
				*k = *v;
			} else {
				free(v->message_id);
				free(v->subject);
			}
			continue;
		}
		t->versions[j++] = *v;
	}
	t->nversions = j;
}

static int build_thread(struct store_reader *r, const struct digest_opts *o, uint64_t tid,
			struct digest_thread *t, struct kv_err *err)
{
	struct thread_rec tr;
	int rc = store_thread_get(r, tid, &tr, err);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return kv_err_set(err, "thread %llu: not in the store", (unsigned long long)tid);
	t->id = tid;
	t->subject = text_one_line(tr.subject);
	t->category = tr.category < CAT_COUNT ? (enum category)tr.category : CAT_OTHER;
	t->root = tr.root;
	t->root_message_id = kv_xstrdup(tr.root_message_id ? tr.root_message_id : "");
	t->first_date = tr.first_date;
	t->last_date = tr.last_date;
	t->total_count = tr.count;
	t->series = tr.series;
	t->version = 1;
	t->diff_files = t->diff_ins = t->diff_del = -1;

	struct msg_rec root;
	rc = store_msg_get(r, tr.root, &root, err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		t->root_from = text_person(facts_sender_name(root.from_name, root.flags), root.from_addr);
		t->root_addr = kv_xstrdup(root.from_addr);
		t->root_in_window = root.date >= o->since && root.date < o->until;
		struct subject_info si;
		subject_parse(root.subject, &si);
		t->version = si.version > 0 ? si.version : 1;
	} else {
		t->root_from = kv_xstrdup("");
		t->root_addr = kv_xstrdup("");
	}

	if (t->series) {
		struct series_rec sr;
		rc = store_series_get(r, t->series, &sr, err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			/* as of the window's end: a version posted at or after
			 * until is not known yet */
			t->versions = kv_xcalloc(sr.nversions ? sr.nversions : 1, sizeof(*t->versions));
			for (size_t i = 0; i < sr.nversions; i++) {
				if (sr.versions[i].date >= o->until && sr.versions[i].thread != tid)
					continue;
				struct digest_version *v = &t->versions[t->nversions++];
				v->version = sr.versions[i].version;
				v->date = sr.versions[i].date;
				v->thread = sr.versions[i].thread;
				v->message_id = kv_xstrdup(sr.versions[i].message_id ? sr.versions[i].message_id : "");
				v->subject = text_one_line(sr.versions[i].subject);
				if (v->thread == tid)
					t->version = v->version;
			}
			free(sr.versions);
			qsort(t->versions, t->nversions, sizeof(*t->versions), version_cmp);
			digest_versions_dedup(t, tid);
			for (size_t i = 0; i < t->nversions; i++)
				if (t->versions[i].version < t->version &&
				    t->versions[i].version > t->supersedes)
					t->supersedes = t->versions[i].version;
		}
	}

	uint64_t *members = NULL;
	size_t nm = 0;
	if (store_thread_members(r, tid, &members, &nm, err) < 0)
		return -1;
	rc = facts_thread(r, o, t, members, nm, err);
	free(members);
	if (rc < 0)
		return -1;
	t->last_summary = memory_last(r, tid);
	return 0;
}

/* The address of "Name <addr>" or "Reviewed-by: Name <addr>", lower case,
 * or NULL (malloc'd). */
static char *person_addr(const char *s)
{
	const char *lt = strrchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (!gt || gt == lt + 1)
		return NULL;
	char *a = kv_xstrndup(lt + 1, (size_t)(gt - lt - 1));
	for (char *p = a; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return a;
}

static void role_add(struct strv *roles, const char *person)
{
	char *a = person_addr(person);
	if (a && !strv_has(roles, a))
		strv_push_owned(roles, a);
	else
		free(a);
}

/*
 * Who may request changes (status.c R10): a maintainer or a reviewer, as
 * this digest's threads show them up to the window's end: a sender whose
 * mail applied, queued or merged something, or who gave a Reviewed-by or
 * Acked-by in a reply, or is named by a Reviewed-by / Acked-by carried in a
 * patch's own trailers (a tag given on the list for an earlier version).
 * Each thread keeps its first objection from such a sender; objections
 * from anyone else are dropped (a passer-by's "you should" is no request
 * the author must answer).
 */
static void digest_change_requests(struct digest *d)
{
	struct strv roles = STRV_INIT;

	for (size_t i = 0; i < d->nthreads; i++) {
		const struct digest_thread *t = &d->threads[i];
		for (size_t k = 0; k < t->nevents; k++)
			if (t->events[k].status & (DST_APPLIED | DST_QUEUED))
				role_add(&roles, t->events[k].who);
		for (size_t p = 0; p < t->npatches; p++) {
			const struct digest_patch *dp = &t->patches[p];
			for (size_t k = 0; k < dp->review.reviewed.n; k++)
				role_add(&roles, dp->review.reviewed.v[k]);
			for (size_t k = 0; k < dp->review.acked.n; k++)
				role_add(&roles, dp->review.acked.v[k]);
			for (size_t k = 0; k < dp->carried.n; k++)
				if (strncmp(dp->carried.v[k], "Reviewed-by:", 12) == 0 ||
				    strncmp(dp->carried.v[k], "Acked-by:", 9) == 0)
					role_add(&roles, dp->carried.v[k]);
		}
	}
	for (size_t i = 0; i < d->nthreads; i++) {
		struct digest_thread *t = &d->threads[i];
		size_t k = 0;
		int kept = 0;
		for (size_t e = 0; e < t->nevents; e++) {
			struct digest_event *ev = &t->events[e];
			if (ev->status == DST_CHANGES) {
				char *a = person_addr(ev->who);
				int keep = !kept && a && (strv_has(&roles, a) || strv_has(&t->addressed, a));
				free(a);
				if (!keep) {
					free(ev->who);
					free(ev->detail);
					free(ev->branch);
					free(ev->patches);
					continue;
				}
				kept = 1;
			}
			t->events[k++] = *ev;
		}
		t->nevents = k;
		if (!kept)
			t->status &= ~DST_CHANGES;
		facts_text(t);
	}
	strv_release(&roles);
}

int digest_build(struct store_reader *r, const struct digest_opts *o, struct digest *d,
		 struct kv_err *err)
{
	d->zone = kv_xstrdup(o->zone);
	d->lang = kv_xstrdup(o->lang);
	d->week = o->week ? kv_xstrdup(o->week) : NULL;
	d->lore_url = kv_xstrdup(o->lore_url);
	d->since = o->since;
	d->until = o->until;
	d->generated = o->generated;
	d->large_threshold = o->large_threshold;
	d->review_wait_days = o->review_wait_days;

	struct win_ctx w = { 0 };
	if (store_iter_window(r, o->since, o->until, win_cb, &w, err) < 0) {
		free(w.v);
		return -1;
	}
	d->health_recorded = w.n;
	d->health_flagged = w.flagged;
	struct store_counts sc;
	if (store_counts(r, &sc, err) < 0) {
		free(w.v);
		return -1;
	}
	/* as of the window's end: mail dated later is not counted */
	uint64_t later = 0;
	if (store_count_since(r, o->until, &later, err) < 0) {
		free(w.v);
		return -1;
	}
	d->store_messages = sc.messages - (later < sc.messages ? later : sc.messages);

	if (w.n)
		qsort(w.v, w.n, sizeof(*w.v), win_cmp);
	size_t nthreads = 0;
	for (size_t i = 0; i < w.n; i++)
		if (i == 0 || w.v[i].thread != w.v[i - 1].thread)
			nthreads++;
	d->threads = kv_xcalloc(nthreads ? nthreads : 1, sizeof(*d->threads));
	for (size_t i = 0; i < w.n; i++) {
		if (i && w.v[i].thread == w.v[i - 1].thread)
			continue;
		struct digest_thread *t = &d->threads[d->nthreads++];
		if (build_thread(r, o, w.v[i].thread, t, err) < 0) {
			free(w.v);
			return -1;
		}
	}
	free(w.v);
	digest_change_requests(d);
	digest_finish(d);
	return 0;
}

/* ---- ordering, totals, attention ---- */

static int thread_cmp(const void *a, const void *b)
{
	const struct digest_thread *x = a, *y = b;
	if (x->category != y->category)
		return x->category < y->category ? -1 : 1;
	if (x->nmails != y->nmails)
		return x->nmails > y->nmails ? -1 : 1;
	if (x->first_date != y->first_date)
		return x->first_date < y->first_date ? -1 : 1;
	int c = strcmp(x->subject ? x->subject : "", y->subject ? y->subject : "");
	if (c)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int mail_cmp(const void *a, const void *b)
{
	const struct digest_mail *x = a, *y = b;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->num < y->num ? -1 : x->num > y->num;
}

/* A patch of a stable review queue ("[PATCH 5.10 87/91]"): the stable
 * maintainers post whole queues of backports that nobody on this list is
 * asked to review, so they never wait on reviewers here. The tag is a
 * kernel version: digits, a dot, digits (and maybe ".y" or more digits). */
static int is_stable_queue(const char *subject)
{
	const char *p = subject ? subject : "";
	while ((p = strchr(p, '[')) != NULL) {
		const char *e = strchr(++p, ']');
		if (!e)
			return 0;
		for (const char *w = p; w < e;) {
			while (w < e && *w == ' ')
				w++;
			const char *we = w;
			while (we < e && *we != ' ')
				we++;
			int digits = 0, dots = 0, ok = we > w;
			for (const char *c = w; c < we && ok; c++) {
				if (*c >= '0' && *c <= '9')
					digits++;
				else if (*c == '.' && c > w && c[-1] != '.')
					dots++;
				else if (!(*c == 'y' && c > w && c[-1] == '.' && c + 1 == we))
					ok = 0;
			}
			if (ok && dots && digits >= 2 && w[0] != '.' && we[-1] != '.')
				return 1;
			w = we;
		}
		p = e + 1;
	}
	return 0;
}

/* Every patch of the series (each index 1..total seen, or the single
 * patch) has a Reviewed-by or Acked-by, given in a reply (a cover letter's
 * tag counts for every patch) or carried in its own trailers. Tested-by
 * alone is not a review. */
static int all_patches_reviewed(const struct digest_thread *t)
{
	int total = -1, seen = 0;
	for (size_t i = 0; i < t->npatches; i++) {
		const struct digest_patch *p = &t->patches[i];
		if (p->index == 0)
			continue;          /* the cover letter is no patch to merge */
		int tagged = p->review.reviewed.n || p->review.acked.n;
		for (size_t k = 0; k < p->carried.n && !tagged; k++)
			tagged = strncmp(p->carried.v[k], "Reviewed-by:", 12) == 0 ||
				 strncmp(p->carried.v[k], "Acked-by:", 9) == 0;
		if (!tagged)
			return 0;
		if (p->index > 0)
			total = p->total;
		seen++;
	}
	if (!seen)
		return 0;
	/* a missing patch of N/M may be untagged: every index must be there */
	for (int want = 1; total > 0 && want <= total; want++) {
		int found = 0;
		for (size_t i = 0; i < t->npatches && !found; i++)
			found = t->patches[i].index == want;
		if (!found)
			return 0;
	}
	return 1;
}

/*
 * Who must act on thread t, or -1 for nobody. The rules, from the status
 * facts (DST_*) of the thread as of the window's end:
 * - ready to merge: a PATCH series, not applied, queued or replaced by a
 *   newer version, no NAK or change request, and every patch reviewed
 *   (all_patches_reviewed);
 * - waiting on the author: a change request or a NAK, and no newer
 *   version, not applied or queued;
 * - waiting on reviewers: a PATCH or RFC series nobody but its author has
 *   answered for review_wait_days days as of the window's end (its first
 *   mail dated at least that long before until), not applied, queued or
 *   replaced, and not a stable review queue; a younger one is not late yet;
 * - a question nobody but its author has answered.
 */
static int attention_kind(const struct digest *d, const struct digest_thread *t)
{
	const unsigned done = DST_APPLIED | DST_QUEUED | DST_NEW_VERSION;
	int series = (t->category == CAT_PATCH || t->category == CAT_RFC) && t->npatches;
	if (t->others_mails == 0 && t->category == CAT_QUESTION)
		return ATT_UNANSWERED;
	if (!series || (t->status & done))
		return -1;
	if (t->status & (DST_CHANGES | DST_NAK))
		return ATT_AUTHOR;
	if (t->category == CAT_PATCH && all_patches_reviewed(t))
		return ATT_READY;
	if (t->others_mails == 0 && !is_stable_queue(t->subject) &&
	    d->until - t->first_date >= (int64_t)d->review_wait_days * 86400)
		return ATT_NO_REPLY;
	return -1;
}

/* Two threads are one entry when they are the same posting sent twice:
 * same sender and subject, or the same version of one series. */
static int same_posting(const struct digest_thread *a, const struct digest_thread *b)
{
	if (a->series && a->series == b->series && a->version == b->version)
		return 1;
	return strcasecmp(a->root_addr ? a->root_addr : "", b->root_addr ? b->root_addr : "") == 0 &&
	       strcmp(a->subject ? a->subject : "", b->subject ? b->subject : "") == 0;
}

/* Someone other than the author answered another copy of the posting
 * of thread i: the reviewers did reply, to the copy they saw. */
static int answered_elsewhere(const struct digest *d, size_t i)
{
	for (size_t k = 0; k < d->nthreads; k++)
		if (k != i && d->threads[k].others_mails && same_posting(&d->threads[k], &d->threads[i]))
			return 1;
	return 0;
}

void digest_finish(struct digest *d)
{
	/* a digest built by hand may have no thread array at all (qsort
	 * wants a pointer even for zero elements) */
	if (d->nthreads)
		qsort(d->threads, d->nthreads, sizeof(*d->threads), thread_cmp);
	d->total_mails = 0;
	d->large_threads = 0;
	memset(d->cat_threads, 0, sizeof(d->cat_threads));
	memset(d->cat_mails, 0, sizeof(d->cat_mails));
	free(d->attention);
	d->attention = kv_xcalloc(d->nthreads ? d->nthreads : 1, sizeof(*d->attention));
	d->nattention = 0;
	for (size_t i = 0; i < d->nthreads; i++) {
		struct digest_thread *t = &d->threads[i];
		qsort(t->mails, t->nmails, sizeof(*t->mails), mail_cmp);
		for (size_t k = 0; k < t->nmails; k++)
			t->mails[k].number = (int)k + 1;
		d->total_mails += t->nmails;
		if ((long long)t->nmails > d->large_threshold)
			d->large_threads++;
		if (t->category < CAT_COUNT) {
			d->cat_threads[t->category]++;
			d->cat_mails[t->category] += t->nmails;
		}
	}
	/* grouped by who must act, each thread once, a posting sent twice once */
	for (int kind = 0; kind < ATT_COUNT; kind++) {
		for (size_t i = 0; i < d->nthreads; i++) {
			if (attention_kind(d, &d->threads[i]) != kind ||
			    (kind == ATT_NO_REPLY && answered_elsewhere(d, i)))
				continue;
			int dup = 0;
			for (size_t k = 0; k < d->nattention && !dup; k++)
				dup = same_posting(&d->threads[d->attention[k].thread], &d->threads[i]);
			if (!dup)
				d->attention[d->nattention++] = (struct digest_attention){ kind, i };
		}
	}
}

static void review_release(struct digest_review *rv)
{
	strv_release(&rv->reviewed);
	strv_release(&rv->acked);
	strv_release(&rv->tested);
	strv_release(&rv->other_addr);
}

void digest_release(struct digest *d)
{
	for (size_t i = 0; i < d->nthreads; i++) {
		struct digest_thread *t = &d->threads[i];
		free(t->subject);
		free(t->root_message_id);
		free(t->root_from);
		free(t->root_addr);
		for (size_t k = 0; k < t->nmails; k++) {
			free(t->mails[k].message_id);
			free(t->mails[k].subject);
			free(t->mails[k].from_name);
			free(t->mails[k].from_addr);
		}
		free(t->mails);
		strv_release(&t->participants);
		strv_release(&t->depends_on);
		strv_release(&t->addressed);
		for (size_t k = 0; k < t->nversions; k++) {
			free(t->versions[k].message_id);
			free(t->versions[k].subject);
		}
		free(t->versions);
		for (size_t k = 0; k < t->npatches; k++) {
			free(t->patches[k].message_id);
			free(t->patches[k].subject);
			review_release(&t->patches[k].review);
			strv_release(&t->patches[k].carried);
		}
		free(t->patches);
		for (size_t k = 0; k < t->nevents; k++) {
			free(t->events[k].who);
			free(t->events[k].detail);
			free(t->events[k].branch);
			free(t->events[k].patches);
		}
		free(t->events);
		strv_release(&t->commits);
		strv_release(&t->week_tags);
		free(t->root_prose);
		strv_release(&t->earlier_people);
		free(t->last_summary);
		free(t->facts);
		free(t->summary.about);
		free(t->summary.before);
		free(t->summary.week);
		free(t->summary.llm_error);
	}
	free(d->threads);
	free(d->attention);
	free(d->zone);
	free(d->lang);
	free(d->week);
	free(d->lore_url);
	memset(d, 0, sizeof(*d));
}
