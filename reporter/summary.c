/*
 * summary.c - the summary step. The extractive summary is built from what
 * the digest already knows (the root's first paragraphs, diffstat, series
 * history, earlier activity, who wrote in the window, tags, status), so it
 * says true things even with no model at all. With an LLM configured, the
 * model's three parts replace it thread by thread; a failed thread keeps
 * the extractive text and is marked.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "summary.h"
#include "kvtime.h"
#include "text.h"
#include "config.h"
#include "store.h"
#include "llm.h"
#include "memory.h"
#include "status.h"
#include "log.h"
#include "category.h"
#include "banned.h"

static int is_zh(const struct digest *d)
{
	return d->lang && strcmp(d->lang, "zh") == 0;
}

static void about_part(const struct digest *d, const struct digest_thread *t, struct sbuf *sb)
{
	int zh = is_zh(d);
	if (t->root_prose && *t->root_prose)
		sbuf_adds(sb, t->root_prose);
	else
		sbuf_addf(sb, zh ? "%s 发起的 thread：%s" : "Thread started by %s: %s", t->root_from, t->subject);
	if (t->diff_files >= 0)
		sbuf_addf(sb, zh ? "（diffstat：%d 个文件，+%d/-%d）" : " (diffstat: %d files, +%d/-%d)",
			  t->diff_files, t->diff_ins, t->diff_del);
	if (t->npatches > 1) {
		int total = -1;
		for (size_t i = 0; i < t->npatches; i++)
			if (t->patches[i].total > total)
				total = t->patches[i].total;
		if (total > 0)
			sbuf_addf(sb, zh ? " 共 %d 个补丁。" : " %d patches.", total);
	}
}

static void before_part(const struct digest *d, const struct digest_thread *t, struct sbuf *sb)
{
	int zh = is_zh(d);
	int any = 0;
	size_t earlier = 0;
	for (size_t i = 0; i < t->nversions; i++)
		if (t->versions[i].version < t->version)
			earlier++;
	if (earlier) {
		sbuf_adds(sb, zh ? "此前的版本：" : "Earlier versions: ");
		size_t k = 0;
		for (size_t i = 0; i < t->nversions; i++) {
			char tm[32];
			if (t->versions[i].version >= t->version)
				continue;
			kvtime_format(t->versions[i].date, d->zone, "%Y-%m-%d", tm, sizeof(tm));
			sbuf_addf(sb, "%sv%d (%s)", k++ ? ", " : "", t->versions[i].version, tm);
		}
		sbuf_addf(sb, zh ? "；本版本 v%d 取代 v%d。" : "; v%d supersedes v%d.", t->version,
			  t->supersedes);
		any = 1;
	}
	if (t->earlier_mails) {
		if (any)
			sbuf_addc(sb, ' ');
		sbuf_addf(sb, zh ? "本期之前该 thread 已有 %u 封邮件，参与者：" :
				   "%u earlier mails in this thread, from ", t->earlier_mails);
		for (size_t i = 0; i < t->earlier_people.n && i < 6; i++)
			sbuf_addf(sb, "%s%s", i ? ", " : "", t->earlier_people.v[i]);
		if (t->earlier_people.n > 6)
			sbuf_addf(sb, zh ? " 等 %zu 人" : " and %zu more", t->earlier_people.n - 6);
		sbuf_adds(sb, zh ? "。" : ".");
		any = 1;
		if (t->last_summary && *t->last_summary) {
			size_t n = text_utf8_cut(t->last_summary, strlen(t->last_summary), 300);
			sbuf_adds(sb, zh ? " 上次摘要：" : " Last summary: ");
			sbuf_add(sb, t->last_summary, n);
			if (n < strlen(t->last_summary))
				sbuf_adds(sb, "…");
		}
	}
	if (!any)
		sbuf_adds(sb, zh ? "无：该 thread 始于本期。" : "Nothing: the thread started in this window.");
}

static void week_part(const struct digest *d, const struct digest_thread *t, struct sbuf *sb)
{
	int zh = is_zh(d);
	if (t->root_in_window && t->nmails)
		sbuf_addf(sb, zh ? "%s 发布 [1]。" : "Posted by %s [1].", t->root_from);
	/* replies: each sender other than the root's, with their first mail */
	struct strv seen = STRV_INIT;
	struct sbuf rep = SBUF_INIT;
	sbuf_adds(&rep, "");
	for (size_t i = 0; i < t->nmails; i++) {
		const struct digest_mail *m = &t->mails[i];
		if (m->is_patch || !strcmp(m->message_id, t->root_message_id))
			continue;
		char *who = text_person(m->from_name, m->from_addr);
		if (!strv_has(&seen, who)) {
			size_t cnt = 0;
			for (size_t k = 0; k < t->nmails; k++)
				if (!strcasecmp(t->mails[k].from_addr, m->from_addr) && !t->mails[k].is_patch &&
				    strcmp(t->mails[k].message_id, t->root_message_id))
					cnt++;
			if (cnt) {
				sbuf_addf(&rep, "%s%s [%d]", seen.n ? ", " : "", who, m->number);
				if (cnt > 1)
					sbuf_addf(&rep, zh ? "（%zu 封）" : " (%zu mails)", cnt);
				strv_push(&seen, who);
			}
		}
		free(who);
	}
	if (seen.n)
		sbuf_addf(sb, zh ? "%s回复：%s。" : "%sReplies from %s.", sb->len ? " " : "", rep.buf);
	sbuf_release(&rep);
	strv_release(&seen);
	if (t->week_tags.n) {
		sbuf_addf(sb, zh ? "%s本期标签：" : "%sTags given: ", sb->len ? " " : "");
		for (size_t i = 0; i < t->week_tags.n; i++)
			sbuf_addf(sb, "%s%s", i ? "; " : "", t->week_tags.v[i]);
		sbuf_adds(sb, zh ? "。" : ".");
	}
	static const char *const st_zh[DST_COUNT] = {
		"已合入", "已排队", "被 NAK", "要求修改", "已有新版本", "kernel test robot 报告构建失败",
		"syzbot 报告",
	};
	static const char *const st_en[DST_COUNT] = {
		"applied", "queued", "NAKed", "changes requested", "new version posted",
		"build failure reported by kernel test robot", "syzbot report",
	};
	for (size_t i = 0; i < t->nevents; i++) {
		const struct digest_event *e = &t->events[i];
		if (e->date < d->since || e->date >= d->until)
			continue;
		unsigned b = 0;
		while (b < DST_COUNT && !(e->status & (1u << b)))
			b++;
		sbuf_addf(sb, "%s%s%s", sb->len ? " " : "", zh ? "状态：" : "Status: ", zh ? st_zh[b] : st_en[b]);
		if (e->status == DST_NEW_VERSION)
			sbuf_addf(sb, " (%s)", e->detail);
		else if (*e->who)
			sbuf_addf(sb, zh ? "（%s）" : " (%s)", e->who);
		if (e->branch && *e->branch)
			sbuf_addf(sb, " → %s", e->branch);
		if (*e->detail && e->status != DST_NEW_VERSION) {
			char *ids = status_short_ids(e->detail);   /* 12 hex in text */
			sbuf_addf(sb, zh ? "，提交 %s" : ", commits %s", ids);
			free(ids);
		}
		if (e->mail_number > 0)
			sbuf_addf(sb, " [%d]", e->mail_number);
		sbuf_adds(sb, zh ? "。" : ".");
	}
	if (!sb->len)
		sbuf_adds(sb, zh ? "本期无新进展。" : "Nothing new in this window.");
}

void summary_extractive(const struct digest *d, struct digest_thread *t)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_adds(&sb, "");
	about_part(d, t, &sb);
	free(t->summary.about);
	t->summary.about = sbuf_detach(&sb, NULL);
	sbuf_adds(&sb, "");
	before_part(d, t, &sb);
	free(t->summary.before);
	t->summary.before = sbuf_detach(&sb, NULL);
	sbuf_adds(&sb, "");
	week_part(d, t, &sb);
	free(t->summary.week);
	t->summary.week = sbuf_detach(&sb, NULL);
	t->summary.from_llm = 0;
}

int summary_fill(const struct kv_config *cfg, struct store *s, struct digest *d, struct kv_err *err)
{
	for (size_t i = 0; i < d->nthreads; i++)
		summary_extractive(d, &d->threads[i]);
	if (!cfg || !llm_enabled(cfg) || !d->nthreads)
		return 0;

	size_t n = d->nthreads;
	struct llm_thread *lt = kv_xcalloc(n, sizeof(*lt));
	struct llm_summary *out = kv_xcalloc(n, sizeof(*out));
	char (*dates)[16] = NULL;
	size_t ndates = 0;
	for (size_t i = 0; i < n; i++)
		ndates += d->threads[i].nmails;
	dates = kv_xcalloc(ndates ? ndates : 1, sizeof(*dates));
	size_t di = 0;
	for (size_t i = 0; i < n; i++) {
		struct digest_thread *t = &d->threads[i];
		lt[i].thread_id = t->id;
		lt[i].subject = t->subject;
		lt[i].category = category_name(t->category);
		lt[i].facts = t->facts;
		lt[i].earlier = t->last_summary;
		lt[i].nmails = t->nmails;
		lt[i].mails = kv_xcalloc(t->nmails ? t->nmails : 1, sizeof(*lt[i].mails));
		for (size_t k = 0; k < t->nmails; k++) {
			const struct digest_mail *m = &t->mails[k];
			kvtime_format(m->date, d->zone, "%m-%d %H:%M", dates[di], sizeof(dates[di]));
			lt[i].mails[k].number = m->number;
			lt[i].mails[k].num = m->num;
			lt[i].mails[k].from = *m->from_name ? m->from_name : m->from_addr;
			lt[i].mails[k].date = dates[di++];
			lt[i].mails[k].subject = m->subject;
		}
	}
	int rc = llm_summarize_all(cfg, s, lt, n, out, err);
	for (size_t i = 0; i < n; i++) {
		struct digest_thread *t = &d->threads[i];
		if (rc == 0 && out[i].ok) {
			free(t->summary.about);
			free(t->summary.before);
			free(t->summary.week);
			t->summary.about = kv_xstrdup(out[i].about ? out[i].about : "");
			t->summary.before = kv_xstrdup(out[i].before ? out[i].before : "");
			t->summary.week = kv_xstrdup(out[i].week ? out[i].week : "");
			t->summary.from_llm = 1;
		} else {
			t->summary.llm_failed = 1;
			free(t->summary.llm_error);
			/* a fixed word only: the server's text and the URL are
			 * untrusted or private, they go to the log (llm.c) */
			t->summary.llm_error = kv_xstrdup(rc < 0 ? "setup" :
							  out[i].reason ? out[i].reason : "failed");
		}
		if (rc == 0)
			llm_summary_release(&out[i]);
		free(lt[i].mails);
	}
	free(lt);
	free(out);
	free(dates);
	if (rc < 0)
		log_warn("llm: %s; every thread uses its extracted summary", err->msg);
	return rc;
}

int summary_remember(struct store *s, const struct digest *d, struct kv_err *err)
{
	for (size_t i = 0; i < d->nthreads; i++) {
		const struct digest_thread *t = &d->threads[i];
		if (t->summary.from_llm)
			continue;   /* llm_summarize_all remembered it with its window */
		char *text = kv_xasprintf("%s %s", t->summary.about ? t->summary.about : "",
					  t->summary.week ? t->summary.week : "");
		/* the window's mail dates, as llm.c keys its memory */
		int64_t oldest = d->since, newest = d->until - 1;
		if (t->nmails) {
			oldest = INT64_MAX;
			newest = INT64_MIN;
			for (size_t k = 0; k < t->nmails; k++) {
				if (t->mails[k].date < oldest)
					oldest = t->mails[k].date;
				if (t->mails[k].date > newest)
					newest = t->mails[k].date;
			}
		}
		int rc = memory_remember(s, t->id, oldest, newest, text, err);
		free(text);
		if (rc < 0)
			return -1;
	}
	return 0;
}
