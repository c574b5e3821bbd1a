/*
 * render_html.c - the digest as one self-contained HTML page, readable in
 * mail clients and browsers. Same content as the Markdown. Every string
 * from mail or an LLM is entity-escaped (render_html_escape); the only
 * links are the lore links we build from percent-encoded Message-IDs; a
 * strict Content-Security-Policy forbids scripts, images and remote loads
 * even if something slipped through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "render.h"

static void h_link(struct sbuf *out, const struct digest *d, const char *text, const char *msgid)
{
	struct sbuf url = SBUF_INIT;
	digest_lore_link(&url, d->lore_url, msgid);
	sbuf_adds(out, "<a href=\"");
	render_html_escape(out, url.buf);
	sbuf_adds(out, "\" rel=\"noopener noreferrer\">");
	render_html_escape(out, text);
	sbuf_adds(out, "</a>");
	sbuf_release(&url);
}

static void h_people(struct sbuf *out, const struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			sbuf_adds(out, ", ");
		render_html_escape(out, sv->v[i]);
	}
}

static void h_review(struct sbuf *out, const struct digest *d, const struct digest_review *rv)
{
	int any = 0;
	const struct { const char *key; const struct strv *sv; } kinds[] = {
		{ "Reviewed-by", &rv->reviewed }, { "Acked-by", &rv->acked }, { "Tested-by", &rv->tested },
	};
	for (size_t k = 0; k < 3; k++) {
		if (!kinds[k].sv->n)
			continue;
		sbuf_addf(out, "%s<span class=\"tag\">%s</span>: ", any ? "; " : "", kinds[k].key);
		h_people(out, kinds[k].sv);
		any = 1;
	}
	if (!any)
		sbuf_addf(out, "<i>%s</i>", render_label(d, L_NO_TAGS));
}

static void h_event(struct sbuf *out, const struct digest *d, const struct digest_thread *t,
		    const struct digest_event *e)
{
	unsigned b = 0;
	while (b < DST_COUNT && !(e->status & (1u << b)))
		b++;
	sbuf_addf(out, "<span class=\"st st-%s\">%s</span>", digest_status_name(b), render_status_label(d, b));
	if (e->status == DST_NEW_VERSION && *e->detail) {
		sbuf_adds(out, " (");
		render_html_escape(out, e->detail);
		sbuf_addc(out, ')');
		return;
	}
	if (*e->who) {
		sbuf_addf(out, " %s ", render_label(d, L_BY));
		render_html_escape(out, e->who);
	}
	if (e->date) {
		char tm[32];
		digest_fmt_time(e->date, d->zone, "%m-%d %H:%M", tm, sizeof(tm));
		sbuf_addf(out, " (%s)", tm);
	}
	if (*e->detail) {
		sbuf_addf(out, ", %s: <code>", render_label(d, L_COMMITS));
		render_html_escape(out, e->detail);
		sbuf_adds(out, "</code>");
	}
	if (e->mail_number > 0 && e->mail_number <= (int)t->nmails) {
		char label[16];
		snprintf(label, sizeof(label), "[%d]", e->mail_number);
		sbuf_addc(out, ' ');
		h_link(out, d, label, t->mails[e->mail_number - 1].message_id);
	}
}

static void h_thread(struct sbuf *out, const struct digest *d, const struct digest_thread *t, size_t n)
{
	char tm[64];
	sbuf_addf(out, "<section class=\"thread\">\n<h3>%s %zu: ", render_label(d, L_THREAD), n);
	render_html_escape(out, t->subject);
	sbuf_adds(out, "</h3>\n<p class=\"meta\">");
	digest_fmt_time(t->first_date, d->zone, "%Y-%m-%d %H:%M", tm, sizeof(tm));
	sbuf_addf(out, "<b>📧 %s</b>: %zu | <b>👥 %s</b>: %zu | <b>📅 %s</b>: %s | 🔗 ",
		  render_label(d, L_MAILS), t->nmails, render_label(d, L_PARTICIPANTS),
		  t->participants.n, render_label(d, L_STARTED), tm);
	h_link(out, d, render_label(d, L_THREAD_LINK), t->root_message_id);
	if (!t->root_in_window)
		sbuf_addf(out, " <i>%s</i>", render_label(d, L_ROOT_BEFORE));
	sbuf_adds(out, "</p>\n<ul class=\"facts\">\n");
	sbuf_addf(out, "<li><b>%s</b>: ", render_label(d, L_PARTICIPANTS));
	h_people(out, &t->participants);
	sbuf_adds(out, "</li>\n");
	if (t->nversions > 1) {
		sbuf_addf(out, "<li><b>🔁 %s</b>: ", render_label(d, L_SERIES));
		for (size_t i = 0; i < t->nversions; i++) {
			const struct digest_version *v = &t->versions[i];
			char label[32];
			snprintf(label, sizeof(label), "v%d", v->version);
			digest_fmt_time(v->date, d->zone, "%Y-%m-%d", tm, sizeof(tm));
			if (i)
				sbuf_adds(out, " → ");
			if (v->thread == t->id)
				sbuf_addf(out, "<b>%s</b> (%s)", label, tm);
			else {
				h_link(out, d, label, v->message_id);
				sbuf_addf(out, " (%s)", tm);
			}
		}
		if (t->supersedes)
			sbuf_addf(out, "; v%d %s v%d", t->version, render_label(d, L_SUPERSEDES), t->supersedes);
		sbuf_adds(out, "</li>\n");
	}
	if (t->depends_on.n) {
		sbuf_addf(out, "<li><b>🔗 %s</b>: ", render_label(d, L_DEPENDS));
		for (size_t i = 0; i < t->depends_on.n; i++) {
			if (i)
				sbuf_adds(out, ", ");
			h_link(out, d, t->depends_on.v[i], t->depends_on.v[i]);
		}
		sbuf_adds(out, "</li>\n");
	}
	if (t->nevents) {
		sbuf_addf(out, "<li><b>📌 %s</b>: ", render_label(d, L_STATUS));
		for (size_t i = 0; i < t->nevents; i++) {
			if (i)
				sbuf_adds(out, "; ");
			h_event(out, d, t, &t->events[i]);
		}
		sbuf_adds(out, "</li>\n");
	}
	if (t->npatches) {
		sbuf_addf(out, "<li><b>✅ %s</b>:<ul>\n", render_label(d, L_REVIEW));
		for (size_t i = 0; i < t->npatches; i++) {
			const struct digest_patch *p = &t->patches[i];
			sbuf_adds(out, "<li>");
			if (p->index >= 0)
				sbuf_addf(out, "%d/%d ", p->index, p->total);
			h_link(out, d, p->subject, p->message_id);
			sbuf_adds(out, ": ");
			h_review(out, d, &p->review);
			sbuf_adds(out, "</li>\n");
		}
		sbuf_adds(out, "</ul></li>\n");
	}
	sbuf_adds(out, "</ul>\n");

	sbuf_addf(out, "<h4>🤖 %s", render_label(d, L_SUMMARY));
	if (t->summary.llm_failed)
		sbuf_addf(out, " <span class=\"mark\">%s</span>", render_label(d, L_SUMMARY_LLM_FAILED));
	else if (!t->summary.from_llm)
		sbuf_addf(out, " <span class=\"mark\">%s</span>", render_label(d, L_SUMMARY_EXTRACTIVE));
	sbuf_adds(out, "</h4>\n");
	const struct { enum render_label l; const char *s; } parts[] = {
		{ L_ABOUT, t->summary.about }, { L_BEFORE, t->summary.before }, { L_WEEK, t->summary.week },
	};
	for (size_t i = 0; i < 3; i++) {
		sbuf_addf(out, "<p><b>%s</b>: ", render_label(d, parts[i].l));
		render_html_cited(out, d, t, parts[i].s ? parts[i].s : "");
		sbuf_adds(out, "</p>\n");
	}

	sbuf_addf(out, "<h4>📝 %s</h4>\n<ol class=\"mails\">\n", render_label(d, L_MAIL_LIST));
	for (size_t i = 0; i < t->nmails; i++) {
		const struct digest_mail *m = &t->mails[i];
		digest_fmt_time(m->date, d->zone, "%m-%d %H:%M", tm, sizeof(tm));
		sbuf_addf(out, "<li><b>[%s]</b> ", tm);
		render_html_escape(out, m->subject);
		sbuf_adds(out, " ");
		h_link(out, d, "lore", m->message_id);
		sbuf_addf(out, "<br><span class=\"from\">%s: ", render_label(d, L_SENDER));
		char *who = digest_person(m->from_name, m->from_addr);
		render_html_escape(out, who);
		free(who);
		sbuf_adds(out, "</span></li>\n");
	}
	sbuf_adds(out, "</ol>\n</section>\n<hr>\n");
}

/* Shared by the digest page and the archive index. */
void render_html_head(struct sbuf *out, const char *lang, const char *title)
{
	sbuf_adds(out, "<!DOCTYPE html>\n<html lang=\"");
	render_html_escape(out, lang);
	sbuf_adds(out, "\">\n<head>\n<meta charset=\"utf-8\">\n"
		  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		  "style-src 'unsafe-inline'; img-src 'none'; script-src 'none'; object-src 'none'; "
		  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\">\n"
		  "<meta name=\"referrer\" content=\"no-referrer\">\n"
		  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	render_html_escape(out, title);
	sbuf_adds(out, "</title>\n<style>\n"
		  "body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;line-height:1.45;color:#222}\n"
		  "h3{margin-bottom:.3em}.meta{color:#444}.mark{font-size:80%;color:#777;font-weight:normal}\n"
		  ".st{font-weight:bold}.st-applied,.st-queued{color:#1a7f37}.st-nak,.st-build_failure{color:#b3261e}\n"
		  ".from{color:#555;font-size:90%}ol.mails li{margin-bottom:.3em}\n"
		  "</style>\n</head>\n<body>\n");
}

void render_html(const struct digest *d, struct sbuf *out)
{
	char a[64], b[64];
	char *title = d->week ? kv_xasprintf("%s %s", render_label(d, L_TITLE), d->week)
			      : kv_xstrdup(render_label(d, L_TITLE));
	render_html_head(out, d->lang, title);
	sbuf_adds(out, "<h1>");
	render_html_escape(out, title);
	sbuf_adds(out, "</h1>\n");
	free(title);
	digest_fmt_time(d->generated, d->zone, "%Y-%m-%d %H:%M:%S", a, sizeof(a));
	sbuf_addf(out, "<p><b>%s</b>: %s (", render_label(d, L_GENERATED), a);
	render_html_escape(out, d->zone);
	sbuf_adds(out, ")</p>\n");
	digest_fmt_time(d->since, d->zone, "%Y-%m-%d %H:%M", a, sizeof(a));
	digest_fmt_time(d->until, d->zone, "%Y-%m-%d %H:%M", b, sizeof(b));
	sbuf_addf(out, "<p><b>%s</b>: [%s, %s) (", render_label(d, L_WINDOW), a, b);
	render_html_escape(out, d->zone);
	sbuf_adds(out, ")</p>\n");

	sbuf_addf(out, "<h2>📊 %s</h2>\n<ul>\n", render_label(d, L_STATS));
	sbuf_addf(out, "<li><b>%s</b>: %zu</li>\n", render_label(d, L_TOTAL_MAILS), d->total_mails);
	sbuf_addf(out, "<li><b>%s</b>: %zu</li>\n", render_label(d, L_TOTAL_THREADS), d->nthreads);
	sbuf_addf(out, "<li><b>%s</b> (&gt;%d): %zu%s</li>\n</ul>\n", render_label(d, L_LARGE),
		  d->large_threshold, d->large_threads, render_label(d, L_LARGE_UNIT));
	sbuf_addf(out, "<h3>%s</h3>\n<ul>\n", render_label(d, L_CATEGORIES));
	for (int c = 0; c < CAT_COUNT; c++)
		if (d->cat_threads[c])
			sbuf_addf(out, "<li><b>%s</b>: %zu %s (%zu %s)</li>\n", category_name(c),
				  d->cat_threads[c], render_label(d, L_THREADS_UNIT), d->cat_mails[c],
				  render_label(d, L_MAILS_UNIT));
	sbuf_adds(out, "</ul>\n");
	if (!d->nthreads)
		sbuf_addf(out, "<p>%s</p>\n", render_label(d, L_NO_THREADS));

	sbuf_addf(out, "<h2>⚠️ %s</h2>\n<ul>\n", render_label(d, L_ATTENTION));
	if (!d->nattention)
		sbuf_addf(out, "<li>%s</li>\n", render_label(d, L_ATT_NONE));
	for (size_t i = 0; i < d->nattention; i++) {
		const struct digest_thread *t = &d->threads[d->attention[i].thread];
		sbuf_addf(out, "<li>%s: ", render_label(d, d->attention[i].kind == ATT_NO_REPLY ?
						       L_ATT_NO_REPLY : L_ATT_UNANSWERED));
		h_link(out, d, t->subject, t->root_message_id);
		sbuf_adds(out, " — ");
		render_html_escape(out, t->root_from);
		sbuf_adds(out, "</li>\n");
	}
	sbuf_adds(out, "</ul>\n");
	sbuf_addf(out, "<h2>🩺 %s</h2>\n<p>", render_label(d, L_HEALTH));
	sbuf_addf(out, render_label(d, L_HEALTH_LINE), d->health_recorded, d->health_flagged,
		  (unsigned long long)d->store_messages);
	sbuf_adds(out, "</p>\n<hr>\n");

	size_t i = 0;
	while (i < d->nthreads) {
		enum category c = d->threads[i].category;
		sbuf_addf(out, "<h2>📌 %s</h2>\n<p>%s: %zu</p>\n", category_name(c),
			  render_label(d, L_CAT_COUNT), d->cat_threads[c]);
		size_t n = 1;
		for (; i < d->nthreads && d->threads[i].category == c; i++)
			h_thread(out, d, &d->threads[i], n++);
	}
	sbuf_adds(out, "</body>\n</html>\n");
}
