/*
 * render_walk.c - the one walk over a digest shared by the Markdown,
 * HTML and plain-text formats (render_ops.h): the overview (window, totals, categories, needs
 * attention, health), then per category its threads, each with counts,
 * facts (participants, series history, status, review), the three-part
 * summary with its "[n]" citations and the mail list. What is said and in
 * which order lives here; how it looks lives in each format's table.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "render_ops.h"
#include "kvtime.h"
#include "text.h"
#include "status.h"
#include "category.h"
#include "banned.h"

/* ---- small steps over the format's operations ---- */

static void plain(struct render_out *o, const char *s)
{
	o->ops->plain(o, s);
}

/* fmt with its arguments, into o->fmt (valid until the next call) */
static const char *vformat(struct render_out *o, const char *fmt, va_list ap)
{
	sbuf_reset(&o->fmt);
	sbuf_vaddf(&o->fmt, fmt, ap);
	return o->fmt.buf;
}

static void plainf(struct render_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plainf(struct render_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	o->ops->plain(o, vformat(o, fmt, ap));
	va_end(ap);
}

static void text(struct render_out *o, const char *s)
{
	o->ops->text(o, s ? s : "");
}

static void span(struct render_out *o, enum render_span kind, const char *arg, const char *s)
{
	o->ops->span_begin(o, kind, arg);
	plain(o, s);
	o->ops->span_end(o, kind);
}

static void strong(struct render_out *o, const char *s)
{
	span(o, RS_STRONG, NULL, s);
}

static void strongf(struct render_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void strongf(struct render_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	span(o, RS_STRONG, NULL, vformat(o, fmt, ap));
	va_end(ap);
}

static const char *label(const struct render_out *o, enum render_label l)
{
	return render_label(o->d, l);
}

/* A link to the lore archive page of a Message-ID. */
static void link_msg(struct render_out *o, const char *s, const char *message_id)
{
	sbuf_reset(&o->url);
	digest_lore_link(&o->url, o->d->lore_url, message_id);
	o->ops->link(o, s ? s : "", o->url.buf);
}

static void link_mail(struct render_out *o, const struct digest_thread *t, int n)
{
	char s[16];
	snprintf(s, sizeof(s), "[%d]", n);
	link_msg(o, s, t->mails[n - 1].message_id);
}

static void heading_begin(struct render_out *o, int level)
{
	o->ops->heading_begin(o, level);
}

static void heading_end(struct render_out *o, int level)
{
	o->ops->heading_end(o, level);
}

static void list_begin(struct render_out *o, enum render_list kind)
{
	if (o->depth >= RENDER_MAX_DEPTH)
		kv_panic("render_walk: lists nested deeper than %d", RENDER_MAX_DEPTH);
	o->ops->list_begin(o, kind);
	o->items[++o->depth] = 0;
}

static void list_end(struct render_out *o, enum render_list kind)
{
	if (o->depth < 1)
		kv_panic("render_walk: list_end without a list");
	o->ops->list_end(o, kind);
	o->depth--;
}

static void item_begin(struct render_out *o, int number)
{
	o->items[o->depth]++;
	o->ops->item_begin(o, number);
}

static void item_end(struct render_out *o)
{
	o->ops->item_end(o);
}

static void time_in_zone(const struct render_out *o, int64_t t, const char *fmt, char *out, size_t n)
{
	kvtime_format(t, o->d->zone, fmt, out, n);
}

/* ---- pieces of a thread ---- */

static void people(struct render_out *o, const struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			plain(o, ", ");
		text(o, sv->v[i]);
	}
}

/* A citation "[n]" at s: its number (1..nmails) and length, else 0. */
static int citation(const char *s, size_t nmails, size_t *len)
{
	if (s[0] != '[' || !isdigit((unsigned char)s[1]))
		return 0;
	size_t i = 1;
	long n = 0;
	while (isdigit((unsigned char)s[i]) && i < 8)
		n = n * 10 + (s[i++] - '0');
	if (s[i] != ']' || n < 1 || (size_t)n > nmails)
		return 0;
	*len = i + 1;
	return (int)n;
}

/* Summary text: a valid "[n]" (1 <= n <= t->nmails) becomes a link to
 * mail n; everything else is text. */
static void cited(struct render_out *o, const struct digest_thread *t, const char *s)
{
	struct sbuf run = SBUF_INIT;
	sbuf_adds(&run, "");
	for (const char *p = s ? s : ""; *p;) {
		size_t len;
		int n = citation(p, t->nmails, &len);
		if (!n) {
			sbuf_addc(&run, *p++);
			continue;
		}
		text(o, run.buf);
		sbuf_reset(&run);
		link_mail(o, t, n);
		p += len;
	}
	text(o, run.buf);
	sbuf_release(&run);
}

static const char *const tag_keys[3] = { "Reviewed-by", "Acked-by", "Tested-by" };

/* Tags given in replies, by kind (a tag from another address marked),
 * then the tags the patch carries in its own trailers, counted by kind:
 * "carried: R-b ×2, A-b ×1". "no tags yet" only when there is neither. */
static void review(struct render_out *o, const struct digest_review *rv, const struct strv *carried)
{
	int any = 0;
	const struct strv *kinds[3] = { &rv->reviewed, &rv->acked, &rv->tested };
	for (size_t k = 0; k < 3; k++) {
		if (!kinds[k]->n)
			continue;
		if (any)
			plain(o, "; ");
		span(o, RS_TAG, NULL, tag_keys[k]);
		plain(o, ": ");
		for (size_t i = 0; i < kinds[k]->n; i++) {
			if (i)
				plain(o, ", ");
			text(o, kinds[k]->v[i]);
			char *key = kv_xasprintf("%s: %s", tag_keys[k], kinds[k]->v[i]);
			if (strv_has(&rv->other_addr, key)) {
				plain(o, " ");
				span(o, RS_NOTE, NULL, label(o, L_OTHER_ADDR));
			}
			free(key);
		}
		any = 1;
	}
	size_t count[3] = { 0, 0, 0 };
	for (size_t i = 0; i < carried->n; i++)
		for (size_t k = 0; k < 3; k++)
			if (strncmp(carried->v[i], tag_keys[k], strlen(tag_keys[k])) == 0)
				count[k]++;
	if (carried->n) {
		static const char *const abbrev[3] = { "R-b", "A-b", "T-b" };
		if (any)
			plain(o, "; ");
		span(o, RS_EMPH, NULL, label(o, L_CARRIED));
		plain(o, ":");
		for (size_t k = 0, n = 0; k < 3; k++)
			if (count[k])
				plainf(o, "%s %s ×%zu", n++ ? "," : "", abbrev[k], count[k]);
		any = 1;
	}
	if (!any)
		span(o, RS_NO_TAGS, NULL, label(o, L_NO_TAGS));
}

/* " → kvmarm-master/fixes" when the decision names its branch. */
static void branch(struct render_out *o, const struct digest_event *e)
{
	if (!e->branch || !*e->branch)
		return;
	plain(o, " → ");
	o->ops->span_begin(o, RS_CODE, NULL);
	text(o, e->branch);
	o->ops->span_end(o, RS_CODE);
}

/* "(subset)" decisions name the patches they took: say so on each. */
static void subset_status(struct render_out *o, const struct digest_thread *t,
			  const struct digest_patch *p)
{
	for (size_t i = 0; i < t->nevents; i++) {
		const struct digest_event *e = &t->events[i];
		for (size_t k = 0; k < e->npatches; k++) {
			if (e->patches[k] != p->index || p->index <= 0)
				continue;
			unsigned b = 0;
			while (b < DST_COUNT && !(e->status & (1u << b)))
				b++;
			plain(o, " — ");
			span(o, RS_STATUS, digest_status_name(b), render_status_label(o->d, b));
			branch(o, e);
		}
	}
}

static void event(struct render_out *o, const struct digest_thread *t, const struct digest_event *e)
{
	unsigned b = 0;
	while (b < DST_COUNT && !(e->status & (1u << b)))
		b++;
	span(o, RS_STATUS, digest_status_name(b), render_status_label(o->d, b));
	if (e->status == DST_NEW_VERSION && *e->detail) {
		plain(o, " (");
		text(o, e->detail);
		plain(o, ")");
		return;
	}
	if (*e->who) {
		plainf(o, " %s ", label(o, L_BY));
		text(o, e->who);
	}
	if (e->date) {
		char tm[32];
		time_in_zone(o, e->date, "%m-%d %H:%M", tm, sizeof(tm));
		plainf(o, " (%s)", tm);
	}
	branch(o, e);
	if (*e->detail) {
		/* commit ids short (12 hex) in text; JSON keeps them whole */
		char *ids = status_short_ids(e->detail);
		plainf(o, ", %s: ", label(o, L_COMMITS));
		o->ops->span_begin(o, RS_CODE, NULL);
		text(o, ids);
		o->ops->span_end(o, RS_CODE);
		free(ids);
	}
	if (e->mail_number > 0 && e->mail_number <= (int)t->nmails) {
		plain(o, " ");
		link_mail(o, t, e->mail_number);
	}
}

static void facts(struct render_out *o, const struct digest_thread *t)
{
	char tm[64];
	list_begin(o, RL_FACTS);
	item_begin(o, 0);
	strong(o, label(o, L_PARTICIPANTS));
	plain(o, ": ");
	people(o, &t->participants);
	item_end(o);
	if (t->nversions > 1) {
		item_begin(o, 0);
		strongf(o, "🔁 %s", label(o, L_SERIES));
		plain(o, ": ");
		for (size_t i = 0; i < t->nversions; i++) {
			const struct digest_version *v = &t->versions[i];
			char vn[32];
			snprintf(vn, sizeof(vn), "v%d", v->version);
			time_in_zone(o, v->date, "%Y-%m-%d", tm, sizeof(tm));
			if (i)
				plain(o, " → ");
			if (v->thread == t->id)
				strong(o, vn);
			else
				link_msg(o, vn, v->message_id);
			plainf(o, " (%s)", tm);
		}
		if (t->supersedes)
			plainf(o, "; v%d %s v%d", t->version, label(o, L_SUPERSEDES), t->supersedes);
		item_end(o);
	}
	if (t->depends_on.n) {
		item_begin(o, 0);
		strongf(o, "🔗 %s", label(o, L_DEPENDS));
		plain(o, ": ");
		for (size_t i = 0; i < t->depends_on.n; i++) {
			if (i)
				plain(o, ", ");
			link_msg(o, t->depends_on.v[i], t->depends_on.v[i]);
		}
		item_end(o);
	}
	if (t->nevents) {
		item_begin(o, 0);
		strongf(o, "📌 %s", label(o, L_STATUS));
		plain(o, ": ");
		for (size_t i = 0; i < t->nevents; i++) {
			if (i)
				plain(o, "; ");
			event(o, t, &t->events[i]);
		}
		item_end(o);
	}
	if (t->npatches) {
		item_begin(o, 0);
		strongf(o, "✅ %s", label(o, L_REVIEW));
		plain(o, ":");
		list_begin(o, RL_NESTED);
		for (size_t i = 0; i < t->npatches; i++) {
			const struct digest_patch *p = &t->patches[i];
			item_begin(o, 0);
			if (p->index >= 0)
				plainf(o, "%d/%d ", p->index, p->total);
			link_msg(o, p->subject, p->message_id);
			plain(o, ": ");
			review(o, &p->review, &p->carried);
			subset_status(o, t, p);
			item_end(o);
		}
		list_end(o, RL_NESTED);
		item_end(o);
	}
	list_end(o, RL_FACTS);
}

static void summary(struct render_out *o, const struct digest_thread *t)
{
	heading_begin(o, 4);
	plainf(o, "🤖 %s", label(o, L_SUMMARY));
	if (t->summary.llm_failed || !t->summary.from_llm) {
		plain(o, " ");
		span(o, RS_MARK, NULL, label(o, t->summary.llm_failed ? L_SUMMARY_LLM_FAILED
								  : L_SUMMARY_EXTRACTIVE));
	}
	heading_end(o, 4);
	const struct { enum render_label l; const char *s; } parts[] = {
		{ L_ABOUT, t->summary.about }, { L_BEFORE, t->summary.before }, { L_WEEK, t->summary.week },
	};
	for (size_t i = 0; i < 3; i++) {
		o->ops->para_begin(o, RP_PLAIN);
		strong(o, label(o, parts[i].l));
		plain(o, ": ");
		cited(o, t, parts[i].s);
		o->ops->para_end(o, RP_PLAIN);
	}
}

static void mail_list(struct render_out *o, const struct digest_thread *t)
{
	char tm[64];
	heading_begin(o, 4);
	plainf(o, "📝 %s", label(o, L_MAIL_LIST));
	heading_end(o, 4);
	list_begin(o, RL_MAILS);
	for (size_t i = 0; i < t->nmails; i++) {
		const struct digest_mail *m = &t->mails[i];
		item_begin(o, m->number);
		time_in_zone(o, m->date, "[%m-%d %H:%M]", tm, sizeof(tm));
		o->ops->span_begin(o, RS_STRONG, NULL);
		text(o, tm);   /* text: Markdown must not read "[...]" as a link */
		o->ops->span_end(o, RS_STRONG);
		plain(o, " ");
		text(o, m->subject);
		plain(o, " ");
		link_msg(o, "lore", m->message_id);
		o->ops->span_begin(o, RS_FROM, NULL);
		plainf(o, "%s: ", label(o, L_SENDER));
		char *who = text_person(m->from_name, m->from_addr);
		text(o, who);
		free(who);
		o->ops->span_end(o, RS_FROM);
		item_end(o);
	}
	list_end(o, RL_MAILS);
}

static void thread(struct render_out *o, const struct digest_thread *t, size_t n)
{
	char tm[64];
	o->thread = t;
	o->ops->thread_begin(o);
	heading_begin(o, 3);
	plainf(o, "%s %zu: ", label(o, L_THREAD), n);
	text(o, t->subject);
	heading_end(o, 3);

	o->ops->para_begin(o, RP_META);
	time_in_zone(o, t->first_date, "%Y-%m-%d %H:%M", tm, sizeof(tm));
	strongf(o, "📧 %s", label(o, L_MAILS));
	plainf(o, ": %zu | ", t->nmails);
	strongf(o, "👥 %s", label(o, L_PARTICIPANTS));
	plainf(o, ": %zu | ", t->participants.n);
	strongf(o, "📅 %s", label(o, L_STARTED));
	plainf(o, ": %s | ", tm);
	span(o, RS_ICON, NULL, "🔗");
	plain(o, " ");
	link_msg(o, label(o, L_THREAD_LINK), t->root_message_id);
	if (!t->root_in_window) {
		plain(o, " ");
		span(o, RS_NOTE, NULL, label(o, L_ROOT_BEFORE));
	}
	o->ops->para_end(o, RP_META);

	facts(o, t);
	summary(o, t);
	mail_list(o, t);
	o->ops->thread_end(o);
	o->thread = NULL;
	o->ops->rule(o, RR_SECTION);
}

/* ---- the overview ---- */

static void overview(struct render_out *o)
{
	const struct digest *d = o->d;
	char a[64], b[64];
	o->ops->para_begin(o, RP_PLAIN);
	strong(o, label(o, L_GENERATED));
	kvtime_format(d->generated, d->zone, "%Y-%m-%d %H:%M:%S", a, sizeof(a));
	plainf(o, ": %s (%s)", a, d->zone);
	o->ops->para_end(o, RP_PLAIN);
	o->ops->para_begin(o, RP_PLAIN);
	strong(o, label(o, L_WINDOW));
	kvtime_format(d->since, d->zone, "%Y-%m-%d %H:%M", a, sizeof(a));
	kvtime_format(d->until, d->zone, "%Y-%m-%d %H:%M", b, sizeof(b));
	plainf(o, ": [%s, %s) (%s)", a, b, d->zone);
	o->ops->para_end(o, RP_PLAIN);

	heading_begin(o, 2);
	plainf(o, "📊 %s", label(o, L_STATS));
	heading_end(o, 2);
	list_begin(o, RL_PLAIN);
	item_begin(o, 0);
	strong(o, label(o, L_TOTAL_MAILS));
	plainf(o, ": %zu", d->total_mails);
	item_end(o);
	item_begin(o, 0);
	strong(o, label(o, L_TOTAL_THREADS));
	plainf(o, ": %zu", d->nthreads);
	item_end(o);
	item_begin(o, 0);
	strong(o, label(o, L_LARGE));
	plainf(o, " (>%d): %zu%s", d->large_threshold, d->large_threads, label(o, L_LARGE_UNIT));
	item_end(o);
	list_end(o, RL_PLAIN);

	heading_begin(o, 3);
	plain(o, label(o, L_CATEGORIES));
	heading_end(o, 3);
	list_begin(o, RL_PLAIN);
	for (int c = 0; c < CAT_COUNT; c++) {
		if (!d->cat_threads[c])
			continue;
		item_begin(o, 0);
		strong(o, category_name(c));
		plainf(o, ": %zu %s (%zu %s)", d->cat_threads[c], label(o, L_THREADS_UNIT), d->cat_mails[c],
		       label(o, L_MAILS_UNIT));
		item_end(o);
	}
	list_end(o, RL_PLAIN);
	if (!d->nthreads) {
		o->ops->para_begin(o, RP_PLAIN);
		plain(o, label(o, L_NO_THREADS));
		o->ops->para_end(o, RP_PLAIN);
	}

	heading_begin(o, 2);
	plainf(o, "⚠️ %s", label(o, L_ATTENTION));
	heading_end(o, 2);
	list_begin(o, RL_PLAIN);
	if (!d->nattention) {
		item_begin(o, 0);
		plain(o, label(o, L_ATT_NONE));
		item_end(o);
	}
	for (size_t i = 0; i < d->nattention; i++) {
		const struct digest_thread *t = &d->threads[d->attention[i].thread];
		item_begin(o, 0);
		static const enum render_label kind_label[ATT_COUNT] = {
			[ATT_READY] = L_ATT_READY, [ATT_AUTHOR] = L_ATT_AUTHOR,
			[ATT_NO_REPLY] = L_ATT_NO_REPLY, [ATT_UNANSWERED] = L_ATT_UNANSWERED,
		};
		plainf(o, "%s: ", label(o, kind_label[d->attention[i].kind]));
		link_msg(o, t->subject, t->root_message_id);
		plain(o, " — ");
		text(o, t->root_from);
		item_end(o);
	}
	list_end(o, RL_PLAIN);

	heading_begin(o, 2);
	plainf(o, "🩺 %s", label(o, L_HEALTH));
	heading_end(o, 2);
	o->ops->para_begin(o, RP_BULLET);
	/* the label is the format: it orders the numbers for its language */
	plainf(o, label(o, L_HEALTH_LINE), d->health_recorded, d->health_flagged,
	       (unsigned long long)d->store_messages);
	o->ops->para_end(o, RP_BULLET);
	o->ops->rule(o, RR_SECTION);
}

void render_walk(const struct digest *d, const struct render_ops *ops, struct sbuf *out)
{
	struct render_out o = { .sb = out, .d = d, .ops = ops, .url = SBUF_INIT, .fmt = SBUF_INIT };
	char *title = d->week ? kv_xasprintf("%s %s", render_label(d, L_TITLE), d->week)
			      : kv_xstrdup(render_label(d, L_TITLE));
	ops->doc_begin(&o, title);
	heading_begin(&o, 1);
	plain(&o, title);
	heading_end(&o, 1);
	free(title);
	overview(&o);

	/* threads come grouped by category (digest_finish) */
	size_t i = 0;
	while (i < d->nthreads) {
		enum category c = d->threads[i].category;
		heading_begin(&o, 2);
		plainf(&o, "📌 %s", category_name(c));
		heading_end(&o, 2);
		o.ops->para_begin(&o, RP_PLAIN);
		plainf(&o, "%s: %zu", label(&o, L_CAT_COUNT), d->cat_threads[c]);
		o.ops->para_end(&o, RP_PLAIN);
		ops->rule(&o, RR_CATEGORY);
		size_t n = 1;
		for (; i < d->nthreads && d->threads[i].category == c; i++)
			thread(&o, &d->threads[i], n++);
	}
	ops->doc_end(&o);
	if (o.depth)
		kv_panic("render_walk: %d lists left open", o.depth);
	sbuf_release(&o.url);
	sbuf_release(&o.fmt);
}
