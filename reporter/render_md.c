/*
 * render_md.c - the digest as Markdown, in the shape readers know from the
 * old digests (emoji headings, per-category thread blocks, numbered mail
 * lists), plus lore links, series history, review lines, status, needs
 * attention and a health line. Every string from mail or an LLM goes
 * through render_md_escape; the only links are the lore links we build.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "render.h"

static void md_link(struct sbuf *out, const struct digest *d, const char *text, const char *msgid)
{
	sbuf_addc(out, '[');
	render_md_escape(out, text);
	sbuf_adds(out, "](");
	digest_lore_link(out, d->lore_url, msgid);
	sbuf_addc(out, ')');
}

static void md_people(struct sbuf *out, const struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			sbuf_adds(out, ", ");
		render_md_escape(out, sv->v[i]);
	}
}

static void md_review(struct sbuf *out, const struct digest *d, const struct digest_review *rv)
{
	int any = 0;
	const struct { const char *key; const struct strv *sv; } kinds[] = {
		{ "Reviewed-by", &rv->reviewed }, { "Acked-by", &rv->acked }, { "Tested-by", &rv->tested },
	};
	for (size_t k = 0; k < 3; k++) {
		if (!kinds[k].sv->n)
			continue;
		sbuf_addf(out, "%s%s: ", any ? "; " : "", kinds[k].key);
		md_people(out, kinds[k].sv);
		any = 1;
	}
	if (!any)
		sbuf_addf(out, "*%s*", render_label(d, L_NO_TAGS));
}

static void md_event(struct sbuf *out, const struct digest *d, const struct digest_thread *t,
		     const struct digest_event *e)
{
	unsigned b = 0;
	while (b < DST_COUNT && !(e->status & (1u << b)))
		b++;
	sbuf_adds(out, render_status_label(d, b));
	if (e->status == DST_NEW_VERSION && *e->detail) {
		sbuf_adds(out, " (");
		render_md_escape(out, e->detail);
		sbuf_addc(out, ')');
		return;
	}
	if (*e->who) {
		sbuf_addf(out, " %s ", render_label(d, L_BY));
		render_md_escape(out, e->who);
	}
	if (e->date) {
		char tm[32];
		digest_fmt_time(e->date, d->zone, "%m-%d %H:%M", tm, sizeof(tm));
		sbuf_addf(out, " (%s)", tm);
	}
	if (*e->detail) {
		sbuf_addf(out, ", %s: ", render_label(d, L_COMMITS));
		render_md_escape(out, e->detail);
	}
	if (e->mail_number > 0 && e->mail_number <= (int)t->nmails) {
		sbuf_addf(out, " [\\[%d\\]](", e->mail_number);
		digest_lore_link(out, d->lore_url, t->mails[e->mail_number - 1].message_id);
		sbuf_addc(out, ')');
	}
}

static void md_thread(struct sbuf *out, const struct digest *d, const struct digest_thread *t, size_t n)
{
	char tm[64];
	sbuf_addf(out, "### %s %zu: ", render_label(d, L_THREAD), n);
	render_md_escape(out, t->subject);
	sbuf_adds(out, "\n\n");

	digest_fmt_time(t->first_date, d->zone, "%Y-%m-%d %H:%M", tm, sizeof(tm));
	sbuf_addf(out, "**📧 %s**: %zu | **👥 %s**: %zu | **📅 %s**: %s | **🔗** ",
		  render_label(d, L_MAILS), t->nmails, render_label(d, L_PARTICIPANTS),
		  t->participants.n, render_label(d, L_STARTED), tm);
	md_link(out, d, render_label(d, L_THREAD_LINK), t->root_message_id);
	if (!t->root_in_window)
		sbuf_addf(out, " %s", render_label(d, L_ROOT_BEFORE));
	sbuf_adds(out, "\n\n");

	sbuf_addf(out, "- **%s**: ", render_label(d, L_PARTICIPANTS));
	md_people(out, &t->participants);
	sbuf_addc(out, '\n');
	if (t->nversions > 1) {
		sbuf_addf(out, "- **🔁 %s**: ", render_label(d, L_SERIES));
		for (size_t i = 0; i < t->nversions; i++) {
			const struct digest_version *v = &t->versions[i];
			char label[32];
			snprintf(label, sizeof(label), "v%d", v->version);
			digest_fmt_time(v->date, d->zone, "%Y-%m-%d", tm, sizeof(tm));
			if (i)
				sbuf_adds(out, " → ");
			if (v->thread == t->id)
				sbuf_addf(out, "**%s** (%s)", label, tm);
			else {
				md_link(out, d, label, v->message_id);
				sbuf_addf(out, " (%s)", tm);
			}
		}
		if (t->supersedes)
			sbuf_addf(out, "; v%d %s v%d", t->version, render_label(d, L_SUPERSEDES), t->supersedes);
		sbuf_addc(out, '\n');
	}
	if (t->depends_on.n) {
		sbuf_addf(out, "- **🔗 %s**: ", render_label(d, L_DEPENDS));
		for (size_t i = 0; i < t->depends_on.n; i++) {
			if (i)
				sbuf_adds(out, ", ");
			md_link(out, d, t->depends_on.v[i], t->depends_on.v[i]);
		}
		sbuf_addc(out, '\n');
	}
	if (t->nevents) {
		sbuf_addf(out, "- **📌 %s**: ", render_label(d, L_STATUS));
		for (size_t i = 0; i < t->nevents; i++) {
			if (i)
				sbuf_adds(out, "; ");
			md_event(out, d, t, &t->events[i]);
		}
		sbuf_addc(out, '\n');
	}
	if (t->npatches) {
		sbuf_addf(out, "- **✅ %s**:\n", render_label(d, L_REVIEW));
		for (size_t i = 0; i < t->npatches; i++) {
			const struct digest_patch *p = &t->patches[i];
			sbuf_adds(out, "  - ");
			if (p->index >= 0)
				sbuf_addf(out, "%d/%d ", p->index, p->total);
			md_link(out, d, p->subject, p->message_id);
			sbuf_adds(out, ": ");
			md_review(out, d, &p->review);
			sbuf_addc(out, '\n');
		}
	}
	sbuf_addc(out, '\n');

	sbuf_addf(out, "#### 🤖 %s", render_label(d, L_SUMMARY));
	if (t->summary.llm_failed)
		sbuf_addf(out, " %s", render_label(d, L_SUMMARY_LLM_FAILED));
	else if (!t->summary.from_llm)
		sbuf_addf(out, " %s", render_label(d, L_SUMMARY_EXTRACTIVE));
	sbuf_adds(out, "\n\n");
	const struct { enum render_label l; const char *s; } parts[] = {
		{ L_ABOUT, t->summary.about }, { L_BEFORE, t->summary.before }, { L_WEEK, t->summary.week },
	};
	for (size_t i = 0; i < 3; i++) {
		sbuf_addf(out, "**%s**: ", render_label(d, parts[i].l));
		render_md_cited(out, d, t, parts[i].s ? parts[i].s : "");
		sbuf_adds(out, "\n\n");
	}

	sbuf_addf(out, "#### 📝 %s\n\n", render_label(d, L_MAIL_LIST));
	for (size_t i = 0; i < t->nmails; i++) {
		const struct digest_mail *m = &t->mails[i];
		digest_fmt_time(m->date, d->zone, "%m-%d %H:%M", tm, sizeof(tm));
		sbuf_addf(out, "%d. **\\[%s\\]** ", m->number, tm);
		render_md_escape(out, m->subject);
		sbuf_adds(out, " ");
		md_link(out, d, "lore", m->message_id);
		sbuf_addf(out, "\n   - %s: ", render_label(d, L_SENDER));
		char *who = digest_person(m->from_name, m->from_addr);
		render_md_escape(out, who);
		free(who);
		sbuf_addc(out, '\n');
	}
	sbuf_adds(out, "\n---\n\n");
}

void render_md(const struct digest *d, struct sbuf *out)
{
	char a[64], b[64];
	sbuf_addf(out, "# %s", render_label(d, L_TITLE));
	if (d->week)
		sbuf_addf(out, " %s", d->week);
	sbuf_adds(out, "\n\n");
	digest_fmt_time(d->generated, d->zone, "%Y-%m-%d %H:%M:%S", a, sizeof(a));
	sbuf_addf(out, "**%s**: %s (%s)\n\n", render_label(d, L_GENERATED), a, d->zone);
	digest_fmt_time(d->since, d->zone, "%Y-%m-%d %H:%M", a, sizeof(a));
	digest_fmt_time(d->until, d->zone, "%Y-%m-%d %H:%M", b, sizeof(b));
	sbuf_addf(out, "**%s**: [%s, %s) (%s)\n\n", render_label(d, L_WINDOW), a, b, d->zone);

	sbuf_addf(out, "## 📊 %s\n\n", render_label(d, L_STATS));
	sbuf_addf(out, "- **%s**: %zu\n", render_label(d, L_TOTAL_MAILS), d->total_mails);
	sbuf_addf(out, "- **%s**: %zu\n", render_label(d, L_TOTAL_THREADS), d->nthreads);
	sbuf_addf(out, "- **%s** (>%d): %zu%s\n\n", render_label(d, L_LARGE), d->large_threshold,
		  d->large_threads, render_label(d, L_LARGE_UNIT));
	sbuf_addf(out, "### %s\n\n", render_label(d, L_CATEGORIES));
	for (int c = 0; c < CAT_COUNT; c++)
		if (d->cat_threads[c])
			sbuf_addf(out, "- **%s**: %zu %s (%zu %s)\n", category_name(c), d->cat_threads[c],
				  render_label(d, L_THREADS_UNIT), d->cat_mails[c], render_label(d, L_MAILS_UNIT));
	if (!d->nthreads)
		sbuf_addf(out, "%s\n", render_label(d, L_NO_THREADS));
	sbuf_addc(out, '\n');

	sbuf_addf(out, "## ⚠️ %s\n\n", render_label(d, L_ATTENTION));
	if (!d->nattention)
		sbuf_addf(out, "- %s\n", render_label(d, L_ATT_NONE));
	for (size_t i = 0; i < d->nattention; i++) {
		const struct digest_thread *t = &d->threads[d->attention[i].thread];
		sbuf_addf(out, "- %s: ", render_label(d, d->attention[i].kind == ATT_NO_REPLY ?
						      L_ATT_NO_REPLY : L_ATT_UNANSWERED));
		md_link(out, d, t->subject, t->root_message_id);
		sbuf_adds(out, " — ");
		render_md_escape(out, t->root_from);
		sbuf_addc(out, '\n');
	}
	sbuf_addc(out, '\n');
	sbuf_addf(out, "## 🩺 %s\n\n- ", render_label(d, L_HEALTH));
	sbuf_addf(out, render_label(d, L_HEALTH_LINE), d->health_recorded, d->health_flagged,
		  (unsigned long long)d->store_messages);
	sbuf_adds(out, "\n\n---\n\n");

	size_t i = 0;
	while (i < d->nthreads) {
		enum category c = d->threads[i].category;
		sbuf_addf(out, "## 📌 %s\n\n", category_name(c));
		sbuf_addf(out, "%s: %zu\n\n---\n\n", render_label(d, L_CAT_COUNT), d->cat_threads[c]);
		size_t n = 1;
		for (; i < d->nthreads && d->threads[i].category == c; i++)
			md_thread(out, d, &d->threads[i], n++);
	}
}
