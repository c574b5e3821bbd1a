/*
 * render_json.c - the digest as JSON: the same data as the Markdown and
 * HTML, for machines and tests. Times are ISO 8601 UTC, with the window's
 * zone given once; strings are as they came from the mail (json.h escapes),
 * less the bidi controls (text_unsafe_len): a store written before they
 * were stripped at import may still hold them, and a JSON consumer that
 * shows a string must not have it reordered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "render.h"
#include "kvtime.h"
#include "json.h"
#include "mime.h"
#include "status.h"
#include "category.h"
#include "text.h"
#include "banned.h"

/* json_str without the characters text_unsafe_len names (all but NUL
 * start with 0xE2: strings without that byte are written as they are) */
static void j_str(struct json_w *w, const char *s)
{
	if (!s || !strchr(s, '\xe2')) {
		json_str(w, s);
		return;
	}
	size_t n = strlen(s);
	char *c = kv_xstrdup(s);
	text_strip_unsafe(c, &n);
	json_strn(w, c, n);
	free(c);
}

static void j_time(struct json_w *w, const char *key, int64_t t)
{
	char buf[32];
	kvtime_utc_iso(t, buf, sizeof(buf));
	json_key(w, key);
	j_str(w, buf);
}

static void j_link(struct json_w *w, const struct digest *d, const char *key, const char *msgid)
{
	struct sbuf url = SBUF_INIT;
	digest_lore_link(&url, d->lore_url, msgid);
	json_key(w, key);
	j_str(w, url.buf);
	sbuf_release(&url);
}

static void j_strv(struct json_w *w, const char *key, const struct strv *sv)
{
	json_key(w, key);
	json_arr_begin(w);
	for (size_t i = 0; i < sv->n; i++)
		j_str(w, sv->v[i]);
	json_arr_end(w);
}

static void j_thread(struct json_w *w, const struct digest *d, const struct digest_thread *t)
{
	json_obj_begin(w);
	json_key(w, "thread_id"); json_int(w, (int64_t)t->id);
	json_key(w, "subject"); j_str(w, t->subject);
	json_key(w, "category"); j_str(w, category_name(t->category));
	json_key(w, "root_message_id"); j_str(w, t->root_message_id);
	j_link(w, d, "link", t->root_message_id);
	json_key(w, "root_from"); j_str(w, t->root_from);
	json_key(w, "root_in_window"); json_bool(w, t->root_in_window);
	j_time(w, "first_date", t->first_date);
	j_time(w, "last_date", t->last_date);
	json_key(w, "messages"); json_int(w, (int64_t)t->nmails);
	json_key(w, "total_messages"); json_int(w, t->total_count);
	json_key(w, "earlier_messages"); json_int(w, t->earlier_mails);
	j_strv(w, "participants", &t->participants);

	json_key(w, "series");
	if (t->nversions) {
		json_obj_begin(w);
		json_key(w, "id"); json_int(w, (int64_t)t->series);
		json_key(w, "version"); json_int(w, t->version);
		json_key(w, "supersedes");
		if (t->supersedes)
			json_int(w, t->supersedes);
		else
			json_null(w);
		json_key(w, "versions");
		json_arr_begin(w);
		for (size_t i = 0; i < t->nversions; i++) {
			const struct digest_version *v = &t->versions[i];
			json_obj_begin(w);
			json_key(w, "version"); json_int(w, v->version);
			j_time(w, "date", v->date);
			json_key(w, "thread_id"); json_int(w, (int64_t)v->thread);
			json_key(w, "message_id"); j_str(w, v->message_id);
			j_link(w, d, "link", v->message_id);
			json_key(w, "subject"); j_str(w, v->subject);
			json_obj_end(w);
		}
		json_arr_end(w);
		json_key(w, "depends_on");
		json_arr_begin(w);
		for (size_t i = 0; i < t->depends_on.n; i++) {
			json_obj_begin(w);
			json_key(w, "message_id"); j_str(w, t->depends_on.v[i]);
			j_link(w, d, "link", t->depends_on.v[i]);
			json_obj_end(w);
		}
		json_arr_end(w);
		json_obj_end(w);
	} else {
		json_null(w);
	}

	json_key(w, "status");
	json_arr_begin(w);
	for (unsigned b = 0; b < DST_COUNT; b++)
		if (t->status & (1u << b))
			j_str(w, digest_status_name(b));
	json_arr_end(w);
	json_key(w, "events");
	json_arr_begin(w);
	for (size_t i = 0; i < t->nevents; i++) {
		const struct digest_event *e = &t->events[i];
		unsigned b = 0;
		while (b < DST_COUNT && !(e->status & (1u << b)))
			b++;
		json_obj_begin(w);
		json_key(w, "status"); j_str(w, digest_status_name(b));
		json_key(w, "date");
		if (e->date) {
			char buf[32];
			kvtime_utc_iso(e->date, buf, sizeof(buf));
			j_str(w, buf);
		} else {
			json_null(w);
		}
		json_key(w, "who"); j_str(w, e->who);
		json_key(w, "detail"); j_str(w, e->detail);
		json_key(w, "mail"); json_int(w, e->mail_number);
		if (e->status != DST_NEW_VERSION) {
			/* branch "" when the mail names none; patches [] = the whole thread */
			char *short_ids = status_short_ids(e->detail);
			json_key(w, "commits_short"); j_str(w, short_ids);
			free(short_ids);
			json_key(w, "branch"); j_str(w, e->branch ? e->branch : "");
			json_key(w, "patches");
			json_arr_begin(w);
			for (size_t k = 0; k < e->npatches; k++)
				json_int(w, e->patches[k]);
			json_arr_end(w);
		}
		json_obj_end(w);
	}
	json_arr_end(w);
	j_strv(w, "commits", &t->commits);

	json_key(w, "diffstat");
	if (t->diff_files >= 0) {
		json_obj_begin(w);
		json_key(w, "files"); json_int(w, t->diff_files);
		json_key(w, "insertions"); json_int(w, t->diff_ins);
		json_key(w, "deletions"); json_int(w, t->diff_del);
		json_obj_end(w);
	} else {
		json_null(w);
	}

	json_key(w, "patches");
	json_arr_begin(w);
	for (size_t i = 0; i < t->npatches; i++) {
		const struct digest_patch *p = &t->patches[i];
		json_obj_begin(w);
		json_key(w, "index"); json_int(w, p->index);
		json_key(w, "total"); json_int(w, p->total);
		json_key(w, "subject"); j_str(w, p->subject);
		json_key(w, "message_id"); j_str(w, p->message_id);
		j_link(w, d, "link", p->message_id);
		j_time(w, "date", p->date);
		json_key(w, "mail"); json_int(w, p->mail_number);
		j_strv(w, "reviewed_by", &p->review.reviewed);
		j_strv(w, "acked_by", &p->review.acked);
		j_strv(w, "tested_by", &p->review.tested);
		/* the entries above whose tag named the sender with another address */
		j_strv(w, "from_other_address", &p->review.other_addr);
		j_strv(w, "carried_tags", &p->carried);
		json_obj_end(w);
	}
	json_arr_end(w);
	j_strv(w, "window_tags", &t->week_tags);

	json_key(w, "summary");
	json_obj_begin(w);
	json_key(w, "about"); j_str(w, t->summary.about ? t->summary.about : "");
	json_key(w, "before"); j_str(w, t->summary.before ? t->summary.before : "");
	json_key(w, "week"); j_str(w, t->summary.week ? t->summary.week : "");
	json_key(w, "source");
	j_str(w, t->summary.from_llm ? "llm" : t->summary.llm_failed ? "extractive-fallback" : "extractive");
	if (t->summary.llm_failed) {
		json_key(w, "llm_error");
		j_str(w, t->summary.llm_error ? t->summary.llm_error : "");
	}
	json_obj_end(w);

	json_key(w, "mails");
	json_arr_begin(w);
	for (size_t i = 0; i < t->nmails; i++) {
		const struct digest_mail *m = &t->mails[i];
		char tm[32];
		json_obj_begin(w);
		json_key(w, "number"); json_int(w, m->number);
		json_key(w, "message_id"); j_str(w, m->message_id);
		j_link(w, d, "link", m->message_id);
		j_time(w, "date", m->date);
		kvtime_format(m->date, d->zone, "%Y-%m-%dT%H:%M:%S", tm, sizeof(tm));
		json_key(w, "local_time"); j_str(w, tm);
		json_key(w, "subject"); j_str(w, m->subject);
		json_key(w, "from_name"); j_str(w, m->from_name);
		json_key(w, "from_address"); j_str(w, m->from_addr);
		json_key(w, "flags");
		json_arr_begin(w);
		for (unsigned b = 0; b < MAIL_FLAG_COUNT; b++)
			if (m->flags & (1u << b))
				j_str(w, mail_flag_name(b));
		json_arr_end(w);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
}

void render_json(const struct digest *d, struct sbuf *out)
{
	struct json_w w;
	json_w_init(&w, out, 1);
	json_obj_begin(&w);
	json_key(&w, "format"); j_str(&w, "kvmarm-digest/1");
	j_time(&w, "generated", d->generated);
	json_key(&w, "zone"); j_str(&w, d->zone);
	json_key(&w, "lang"); j_str(&w, d->lang);
	json_key(&w, "week"); j_str(&w, d->week);
	j_time(&w, "since", d->since);
	j_time(&w, "until", d->until);
	json_key(&w, "totals");
	json_obj_begin(&w);
	json_key(&w, "mails"); json_int(&w, (int64_t)d->total_mails);
	json_key(&w, "threads"); json_int(&w, (int64_t)d->nthreads);
	json_key(&w, "large_threads"); json_int(&w, (int64_t)d->large_threads);
	json_key(&w, "large_threshold"); json_int(&w, d->large_threshold);
	json_obj_end(&w);
	json_key(&w, "categories");
	json_arr_begin(&w);
	for (int c = 0; c < CAT_COUNT; c++) {
		if (!d->cat_threads[c])
			continue;
		json_obj_begin(&w);
		json_key(&w, "name"); j_str(&w, category_name(c));
		json_key(&w, "threads"); json_int(&w, (int64_t)d->cat_threads[c]);
		json_key(&w, "mails"); json_int(&w, (int64_t)d->cat_mails[c]);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_key(&w, "attention");
	json_arr_begin(&w);
	for (size_t i = 0; i < d->nattention; i++) {
		const struct digest_thread *t = &d->threads[d->attention[i].thread];
		json_obj_begin(&w);
		json_key(&w, "kind");
		/* "no_reply" is the waiting-on-reviewers kind (its name predates the others) */
		static const char *const kind_name[ATT_COUNT] = {
			[ATT_READY] = "ready_to_merge", [ATT_AUTHOR] = "waiting_on_author",
			[ATT_NO_REPLY] = "no_reply", [ATT_UNANSWERED] = "unanswered_question",
		};
		j_str(&w, kind_name[d->attention[i].kind]);
		json_key(&w, "thread_id"); json_int(&w, (int64_t)t->id);
		json_key(&w, "subject"); j_str(&w, t->subject);
		j_link(&w, d, "link", t->root_message_id);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_key(&w, "health");
	json_obj_begin(&w);
	json_key(&w, "recorded"); json_int(&w, (int64_t)d->health_recorded);
	json_key(&w, "flagged"); json_int(&w, (int64_t)d->health_flagged);
	json_key(&w, "store_messages"); json_int(&w, (int64_t)d->store_messages);
	json_obj_end(&w);
	json_key(&w, "threads");
	json_arr_begin(&w);
	for (size_t i = 0; i < d->nthreads; i++)
		j_thread(&w, d, &d->threads[i]);
	json_arr_end(&w);
	json_obj_end(&w);
	sbuf_addc(out, '\n');
}
