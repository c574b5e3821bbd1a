/*
 * digest.c - from a window of the store to struct digest: which threads were
 * active, their window mails (counts include only those), series history,
 * review tags, status facts (facts.c), needs-attention and the health line.
 * Also the pure time helpers the reporter uses for windows and display.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "digest.h"
#include "facts.h"
#include "store.h"
#include "body.h"
#include "subject.h"
#include "mime.h"
#include "memory.h"

static const char *const status_names[DST_COUNT] = {
	"applied", "queued", "nak", "changes_requested", "new_version",
	"build_failure", "syzbot",
};

const char *digest_status_name(unsigned bit)
{
	if (bit >= DST_COUNT)
		kv_panic("digest_status_name: bit %u out of range", bit);
	return status_names[bit];
}

/* ---- time ---- */

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of a civil date (via kv_timegm, no TZ involved). */
static int64_t civil_days(int y, int m, int d)
{
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return floordiv(kv_timegm(&tm), 86400);
}

/* ISO weekday 1 (Monday) .. 7 of a day number. */
static int iso_wday(int64_t days)
{
	int64_t w = (days + 3) % 7;   /* 1970-01-01 was a Thursday */
	if (w < 0)
		w += 7;
	return (int)w + 1;
}

static void iso_week_of_days(int64_t days, int *year, int *week)
{
	int64_t thu = days + (4 - iso_wday(days));
	struct tm tm;
	kv_gmtime(thu * 86400, &tm);
	*year = tm.tm_year + 1900;
	*week = tm.tm_yday / 7 + 1;
}

static int local_midnight_utc(int64_t days, const char *zone, int64_t *out, struct kv_err *err)
{
	struct tm tm;
	kv_gmtime(days * 86400, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return kv_zone_to_utc(zone, &tm, out, err);
}

int digest_week_window(const char *week, const char *zone, int64_t *since, int64_t *until,
		       struct kv_err *err)
{
	int y, w, n = 0;
	if (!week || sscanf(week, "%4d-W%2d%n", &y, &w, &n) != 2 || n != 8 || week[n] != '\0' ||
	    w < 1 || w > 53)
		return kv_err_set(err, "bad week '%s': expected YYYY-Www, e.g. 2024-W10", week ? week : "");
	int64_t jan4 = civil_days(y, 1, 4);
	int64_t monday = jan4 - (iso_wday(jan4) - 1) + 7 * (int64_t)(w - 1);
	int cy, cw;
	iso_week_of_days(monday, &cy, &cw);
	if (cy != y || cw != w)
		return kv_err_set(err, "bad week '%s': year %d has no week %d", week, y, w);
	if (local_midnight_utc(monday, zone, since, err) < 0 ||
	    local_midnight_utc(monday + 7, zone, until, err) < 0)
		return -1;
	return 0;
}

int digest_week_of(int64_t t, const char *zone, char *out, size_t n, struct kv_err *err)
{
	int off, y, w;
	if (kv_zone_offset(zone, t, &off, err) < 0)
		return -1;
	iso_week_of_days(floordiv(t + off, 86400), &y, &w);
	snprintf(out, n, "%04d-W%02d", y, w);
	return 0;
}

int digest_parse_date(const char *s, const char *zone, int64_t *out, struct kv_err *err)
{
	int y, m, d, n = 0;
	if (s && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 && s[10] == '\0') {
		if (m < 1 || m > 12 || d < 1 || d > 31)
			return kv_err_set(err, "bad date '%s'", s);
		return local_midnight_utc(civil_days(y, m, d), zone, out, err);
	}
	if (!s || kv_parse_date(s, out) < 0)
		return kv_err_set(err, "bad date '%s': expected YYYY-MM-DD or ISO 8601", s ? s : "");
	return 0;
}

/*
 * Offsets are memoised: looking a zone up (kv_zone_offset) maps and parses
 * its tzfile every time, which made a digest of a few thousand time stamps
 * spend most of its run in mmap/munmap. A day whose first and last second
 * have the same offset has that offset throughout (zones do not change
 * twice in one day); a day with a change is looked up per quarter hour
 * (changes fall on whole quarter hours). Single-threaded use only (the
 * renderers and digest_build run in the main thread).
 */
#define OFF_SLOTS 256
struct off_slot {
	char zone[64];
	int64_t bucket;
	int off;
	int state;          /* 0 empty, 1 uniform, 2 mixed (day slots only) */
};
static struct off_slot day_cache[OFF_SLOTS], quarter_cache[OFF_SLOTS];

static struct off_slot *off_slot(struct off_slot *cache, const char *zone, int64_t b)
{
	struct off_slot *sl = &cache[(uint64_t)b % OFF_SLOTS];
	if (sl->state && sl->bucket == b && strcmp(sl->zone, zone) == 0)
		return sl;
	return NULL;
}

static void off_store(struct off_slot *cache, const char *zone, int64_t b, int off, int state)
{
	struct off_slot *sl = &cache[(uint64_t)b % OFF_SLOTS];
	if (strlen(zone) >= sizeof(sl->zone))
		return;
	snprintf(sl->zone, sizeof(sl->zone), "%s", zone);
	sl->bucket = b;
	sl->off = off;
	sl->state = state;
}

int digest_zone_offset(const char *zone, int64_t t, int *off)
{
	int64_t day = floordiv(t, 86400), q = floordiv(t, 900);
	struct off_slot *sl = off_slot(day_cache, zone, day);
	if (!sl) {
		int a, b;
		if (kv_zone_offset(zone, day * 86400, &a, NULL) < 0 ||
		    kv_zone_offset(zone, day * 86400 + 86399, &b, NULL) < 0)
			return -1;
		off_store(day_cache, zone, day, a, a == b ? 1 : 2);
		sl = off_slot(day_cache, zone, day);
		if (!sl) {   /* zone name too long to cache */
			return kv_zone_offset(zone, t, off, NULL);
		}
	}
	if (sl->state == 1) {
		*off = sl->off;
		return 0;
	}
	struct off_slot *qs = off_slot(quarter_cache, zone, q);
	if (qs) {
		*off = qs->off;
		return 0;
	}
	if (kv_zone_offset(zone, q * 900, off, NULL) < 0)
		return -1;
	off_store(quarter_cache, zone, q, *off, 1);
	return 0;
}

void digest_fmt_time(int64_t t, const char *zone, const char *fmt, char *out, size_t n)
{
	int off = 0;
	struct tm tm;
	if (digest_zone_offset(zone, t, &off) < 0)
		off = 0;
	kv_gmtime(t + off, &tm);
	if (!strftime(out, n, fmt, &tm) && n)
		out[0] = '\0';
}

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

/* One line, single spaces: a subject or name never breaks a line. */
char *digest_one_line(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	int space = 0;
	sbuf_adds(&sb, "");
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '\r' || *p == '\n' || *p == '\t' || *p == ' ' || *p == '\v' || *p == '\f') {
			space = 1;
			continue;
		}
		if (space && sb.len)
			sbuf_addc(&sb, ' ');
		space = 0;
		sbuf_addc(&sb, *p);
	}
	return sbuf_detach(&sb, NULL);
}

char *digest_person(const char *name, const char *addr)
{
	char *n = digest_one_line(name), *a = digest_one_line(addr);
	char *r;
	if (*n && *a)
		r = kv_xasprintf("%s <%s>", n, a);
	else
		r = kv_xstrdup(*n ? n : a);
	free(n);
	free(a);
	return r;
}

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
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 256;
		w->v = kv_xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n].num = m->num;
	w->v[w->n].thread = m->thread;
	w->v[w->n].date = m->date;
	w->n++;
	if (m->flags)
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

static int strv_has(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

/* What the root of a series version says it depends on ("based on",
 * "depends on", "on top of" next to a lore link; store/series.c decides,
 * the same rule that keeps such links from being version links). */
static int digest_depends(struct store_reader *r, struct digest_thread *t, struct kv_err *err)
{
	const char *text = NULL;
	size_t len = 0;
	struct body_info bi;

	if (store_msg_text(r, t->root, &text, &len, err) < 0)
		return -1;
	memset(&bi, 0, sizeof(bi));
	body_analyze(text ? text : "", text ? len : 0, &bi);
	for (size_t i = 0; i < bi.links.n; i++) {
		uint64_t vmask;
		if (series_link_kind(text, len, bi.links.v[i], &vmask) == SERIES_LINK_DEP &&
		    !digest_strv_has(&t->depends_on, bi.links.v[i]))
			strv_push(&t->depends_on, bi.links.v[i]);
	}
	body_info_release(&bi);
	return 0;
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
	t->subject = digest_one_line(tr.subject);
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
		t->root_from = digest_person(root.from_name, root.from_addr);
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
				v->subject = digest_one_line(sr.versions[i].subject);
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

	if (t->series && digest_depends(r, t, err) < 0)
		return -1;

	uint64_t *members = NULL;
	size_t nm = 0;
	if (store_thread_members(r, tid, &members, &nm, err) < 0)
		return -1;
	rc = facts_thread(r, o, t, members, nm, err);
	free(members);
	if (rc < 0)
		return -1;
	t->last_summary = memory_last(r, tid);
	facts_text(t);
	return 0;
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

void digest_finish(struct digest *d)
{
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
		/* nobody but the author has written in the thread, ever */
		if (t->others_mails == 0) {
			if (t->category == CAT_QUESTION)
				d->attention[d->nattention++] = (struct digest_attention){ ATT_UNANSWERED, i };
			else if ((t->category == CAT_PATCH || t->category == CAT_RFC) && t->npatches &&
				 !(t->status & (DST_APPLIED | DST_QUEUED | DST_NEW_VERSION)))
				d->attention[d->nattention++] = (struct digest_attention){ ATT_NO_REPLY, i };
		}
	}
}

static void review_release(struct digest_review *rv)
{
	strv_release(&rv->reviewed);
	strv_release(&rv->acked);
	strv_release(&rv->tested);
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
		for (size_t k = 0; k < t->nversions; k++) {
			free(t->versions[k].message_id);
			free(t->versions[k].subject);
		}
		free(t->versions);
		for (size_t k = 0; k < t->npatches; k++) {
			free(t->patches[k].message_id);
			free(t->patches[k].subject);
			review_release(&t->patches[k].review);
		}
		free(t->patches);
		for (size_t k = 0; k < t->nevents; k++) {
			free(t->events[k].who);
			free(t->events[k].detail);
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

int digest_strv_has(const struct strv *sv, const char *s)
{
	return strv_has(sv, s);
}
