/*
 * t_reporter.c - the reporter's pure parts: windows and ISO weeks in a zone
 * (DST, UTC-7 Sunday night), lore links and the backfill's raw URLs,
 * Markdown/HTML escaping, "[n]" citations, the status scanner, rendering a digest built by hand with a
 * hostile subject and sender, and the block shapes of the Markdown and HTML
 * tables (an empty digest, a nested list); the plain-text table's width
 * rule and wrapping (CJK, combining marks, a long URL, a long word).
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "tap.h"
#include "kv.h"
#include "kvtime.h"
#include "digest.h"
#include "facts.h"
#include "render.h"
#include "summary.h"
#include "backfill.h"

static int64_t iso(const char *s)
{
	int64_t t = 0;
	if (kvtime_parse_iso(s, &t) < 0)
		printf("# bad test date %s\n", s);
	return t;
}

static void t_windows(void)
{
	int64_t a, b;
	struct kv_err err;
	ok(kvtime_week_window("2024-W10", "Asia/Shanghai", &a, &b, &err) == 0, "2024-W10 parses");
	is_int(a, iso("2024-03-03T16:00:00Z"), "W10 starts Monday 00:00 +08");
	is_int(b, iso("2024-03-10T16:00:00Z"), "W10 ends next Monday 00:00 +08");
	ok(kvtime_week_window("2024-W10", "America/New_York", &a, &b, &err) == 0, "New York W10");
	is_int(a, iso("2024-03-04T05:00:00Z"), "starts at EST midnight");
	is_int(b, iso("2024-03-11T04:00:00Z"), "ends at EDT midnight (DST began 03-10)");
	is_int(b - a, 7 * 86400 - 3600, "the DST week is one hour short");
	ok(kvtime_week_window("2020-W53", "UTC", &a, &b, &err) == 0, "2020 has a week 53");
	is_int(a, iso("2020-12-28T00:00:00Z"), "2020-W53 starts 2020-12-28");
	ok(kvtime_week_window("2021-W53", "UTC", &a, &b, &err) < 0, "2021 has no week 53");
	ok(kvtime_week_window("2024-10", "UTC", &a, &b, &err) < 0, "bad week text refused");
	ok(kvtime_week_window("2021-W01", "UTC", &a, &b, &err) == 0 && a == iso("2021-01-04T00:00:00Z"),
	   "2021-W01 starts 2021-01-04");

	char w[16];
	/* Sunday 23:59 at UTC-7 is Monday afternoon in Shanghai */
	int64_t sun = iso("2024-03-10T23:59:00-07:00");
	kvtime_week_of(sun, "Asia/Shanghai", w, sizeof(w), &err);
	is_str(w, "2024-W11", "Sunday 23:59 -0700 is in W11 in Asia/Shanghai");
	kvtime_week_of(sun, "America/Phoenix", w, sizeof(w), &err);
	is_str(w, "2024-W10", "and in W10 in a UTC-7 zone");
	ok(kvtime_week_window("2024-W11", "Asia/Shanghai", &a, &b, &err) == 0 && sun >= a && sun < b,
	   "inside the W11 window [since, until)");
	kvtime_week_of(iso("2024-03-10T16:00:00Z"), "Asia/Shanghai", w, sizeof(w), &err);
	is_str(w, "2024-W11", "the until instant belongs to the next week (half-open)");

	int64_t t;
	ok(kvtime_parse_date("2024-03-04", "Asia/Shanghai", &t, &err) == 0 &&
	   t == iso("2024-03-03T16:00:00Z"), "a date is local midnight in the zone");
	ok(kvtime_parse_date("2024-03-04T10:00:00Z", "Asia/Shanghai", &t, &err) == 0 &&
	   t == iso("2024-03-04T10:00:00Z"), "an ISO time is taken as written");
	ok(kvtime_parse_date("yesterday", "UTC", &t, &err) < 0, "junk date refused");

	char buf[64];
	kvtime_format(iso("2024-03-10T06:59:00Z"), "America/New_York", "%m-%d %H:%M", buf, sizeof(buf));
	is_str(buf, "03-10 01:59", "before the DST jump: EST");
	kvtime_format(iso("2024-03-10T07:00:00Z"), "America/New_York", "%m-%d %H:%M", buf, sizeof(buf));
	is_str(buf, "03-10 03:00", "after the DST jump: EDT");
}

static void t_escape(void)
{
	struct sbuf sb = SBUF_INIT;
	digest_lore_link(&sb, "https://lore.kernel.org/kvmarm/", "a/b?c#d\"<x>@host");
	is_str(sb.buf, "https://lore.kernel.org/kvmarm/a%2Fb%3Fc%23d%22%3Cx%3E@host/",
	       "lore link percent-encodes everything but unreserved and @");
	/* the backfill's raw URL: '/' and '%' in an id must not open another
	 * path or decode twice; a base without its slash gets one */
	sbuf_reset(&sb);
	backfill_raw_url(&sb, "http://127.0.0.1:8/kvmarm", "20240301.1234-1-x/y%z+w@k.org");
	is_str(sb.buf, "http://127.0.0.1:8/kvmarm/20240301.1234-1-x%2Fy%25z%2Bw@k.org/raw",
	       "backfill raw URL: id escaped like public-inbox, /raw under it");
	sbuf_reset(&sb);
	render_md_escape(&sb, "[x](javascript:alert(1)) ![i](http://e/x.png) <b>*em*</b>\nline `c` # | \\");
	is_str(sb.buf, "\\[x\\]\\(javascript:alert\\(1\\)\\) \\!\\[i\\]\\(http\\://e/x.png\\) "
		       "\\<b\\>\\*em\\*\\</b\\> line \\`c\\` \\# \\| \\\\",
	       "markdown escaping: no link, image, tag, emphasis, code or line break");
	sbuf_reset(&sb);
	render_md_escape(&sb, "a\xe2\x80\xa8" "b\xc2\x85" "c\xe2\x80\xa9" "d\re");
	is_str(sb.buf, "a b c d e", "markdown: Unicode line and paragraph separators become spaces");
	sbuf_reset(&sb);
	/* issue 14 item 4: autolinks broken on the output, after cleaning */
	render_md_escape(&sb, "mail victim@evil.example, see www.x.y and https:/\x7f/evil.example");
	is_str(sb.buf, "mail victim\xe2\x81\xa0@evil.example, see www\\.x.y and https\\://evil.example",
	       "markdown: '@' gets a word joiner, www. and :// are broken after control characters go");
	sbuf_reset(&sb);
	render_md_escape(&sb, " - item\xe2\x80\xae");
	is_str(sb.buf, " \\- item", "markdown: a list marker at the start is escaped, a bidi override dropped");
	sbuf_reset(&sb);
	render_html_escape(&sb, "a\xe2\x81\xa6" "b\x01" "c\n d");
	is_str(sb.buf, "abc d", "html: bidi isolate and control character dropped, line break a space");
	sbuf_reset(&sb);
	/* fuzz finding: a control byte inside U+2028's bytes; dropped, it must
	 * not join the rest into a line separator: each invalid byte is U+FFFD */
	render_md_escape(&sb, "a\xe2\x80\x17\xa8" "b");
	is_str(sb.buf, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b",
	       "markdown: invalid UTF-8 broken by a control byte is U+FFFD per byte, not U+2028");
	sbuf_reset(&sb);
	render_html_escape(&sb, "\xc2\x01\x85<\xe2\x80\x7f\xae\xff");
	is_str(sb.buf, "\xef\xbf\xbd\xef\xbf\xbd&lt;\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	       "html: NEL and a bidi override broken by a control byte do not rejoin");
	sbuf_reset(&sb);
	render_html_escape(&sb, "<script>alert('x')</script> \" & <img onerror=x>");
	is_str(sb.buf, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &quot; &amp; &lt;img onerror=x&gt;",
	       "html escaping");
	sbuf_release(&sb);
}

static void t_scan(void)
{
	struct strv commits = STRV_INIT;
	const char *ty = "Applied to next, thanks!\n\n[1/2] KVM: arm64: fix\n      commit: 0123456789ab\n"
			 "[2/2] KVM: arm64: more\n      commit: abcdef0123456\n\nCheers,\nM.\n";
	unsigned st = facts_scan_prose(ty, strlen(ty), &commits);
	ok(st & DST_APPLIED, "applied found");
	is_int(commits.n, 2, "two commit ids");
	if (commits.n == 2)
		is_str(commits.v[1], "abcdef0123456", "second commit id");
	strv_release(&commits);
	const char *nak = "NAK. This breaks pKVM.\n";
	ok(facts_scan_prose(nak, strlen(nak), NULL) & DST_NAK, "NAK line");
	const char *nakword = "Nakamura reviewed this.\n";
	ok(!(facts_scan_prose(nakword, strlen(nakword), NULL) & DST_NAK), "a name starting Nak is no NAK");
	const char *q = "Queued for 6.9, thanks.\n";
	ok(facts_scan_prose(q, strlen(q), NULL) & DST_QUEUED, "queued");
	const char *ch = "This looks wrong to me; please fix the locking and respin.\n";
	ok(facts_scan_prose(ch, strlen(ch), NULL) & DST_CHANGES, "changes requested");
	const char *wrapped = "The locking is wrong here; please\nfix it before v3.\n";
	ok(facts_scan_prose(wrapped, strlen(wrapped), NULL) & DST_CHANGES, "a phrase wrapped over two lines");
	const char *none = "Looks good to me.\n";
	is_int(facts_scan_prose(none, strlen(none), NULL), 0, "plain praise has no status");
	char *p = facts_first_paragraphs("Hi all,\n\nThis series fixes\nthe vgic.\n\nSecond para.\n\nThird.\n",
					 62, 400);
	is_str(p, "This series fixes the vgic. Second para.", "first paragraphs, greeting skipped");
	free(p);
}

/* needle occurs with its first character not backslash-escaped */
static int unescaped(const char *hay, const char *needle)
{
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		if (p == hay || p[-1] != '\\')
			return 1;
	return 0;
}

static void fill_mail(struct digest_mail *m, int n, const char *id, const char *subj, const char *name,
		      const char *addr, int64_t date)
{
	m->number = n;
	m->num = (uint64_t)n;
	m->date = date;
	m->message_id = kv_xstrdup(id);
	m->subject = kv_xstrdup(subj);
	m->from_name = kv_xstrdup(name);
	m->from_addr = kv_xstrdup(addr);
	m->patch_index = -1;
}

static void t_render(void)
{
	struct digest d = { 0 };
	d.zone = kv_xstrdup("Asia/Shanghai");
	d.lang = kv_xstrdup("en");
	d.week = kv_xstrdup("2024-W10");
	d.lore_url = kv_xstrdup("https://lore.kernel.org/kvmarm/");
	kvtime_week_window("2024-W10", d.zone, &d.since, &d.until, NULL);
	d.generated = d.until + 8 * 3600;
	d.large_threshold = 20;
	d.nthreads = 1;
	d.threads = kv_xcalloc(1, sizeof(*d.threads));
	struct digest_thread *t = &d.threads[0];
	t->id = 7;
	t->subject = kv_xstrdup("<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>");
	t->category = CAT_OTHER;
	t->root_message_id = kv_xstrdup("evil\"><script>@x");
	t->root_from = kv_xstrdup("Mallory [click](javascript:alert(4)) <m@evil.example>");
	t->root_addr = kv_xstrdup("m@evil.example");
	t->first_date = d.since + 3600;
	t->root_in_window = 1;
	t->nmails = 2;
	t->mails = kv_xcalloc(2, sizeof(*t->mails));
	fill_mail(&t->mails[0], 1, "evil\"><script>@x", t->subject, "Mallory <b onmouseover=x>",
		  "m@evil.example", d.since + 3600);
	fill_mail(&t->mails[1], 2, "r1@x", "Re: *bold* _it_ `code`\nInjected: yes",
		  "Bo\xe2\x80\xae" "b\xe2\x81\xa6", "bob@example.org",
		  d.since + 7200);
	strv_push(&t->participants, "Mallory <b onmouseover=x> <m@evil.example>");
	t->diff_files = -1;
	t->root_prose = kv_xstrdup("See [2] and [3] and [0] ![img](http://x/y) <iframe>");
	digest_finish(&d);
	summary_extractive(&d, t);
	free(t->summary.about);
	t->summary.about = kv_xstrdup(t->root_prose);

	struct sbuf md = SBUF_INIT, html = SBUF_INIT, js = SBUF_INIT;
	render_md(&d, &md);
	render_html(&d, &html);
	render_json(&d, &js);
	if (getenv("T_REPORTER_DUMP"))
		fprintf(stderr, "%s\n%s\n%s\n", md.buf, html.buf, js.buf);
	ok(!unescaped(md.buf, "<script") && !strstr(md.buf, "](javascript") && !unescaped(md.buf, "<img") &&
	   !unescaped(md.buf, "<iframe") && !unescaped(md.buf, "![") && !unescaped(md.buf, "[click]("),
	   "markdown: no tag, script link or image");
	ok(!strstr(md.buf, "\nInjected"), "markdown: a subject line break does not start a line");
	ok(strstr(md.buf, "[\\[2\\]](https://lore.kernel.org/kvmarm/r1@x/)") != NULL,
	   "markdown: a valid citation links to that mail");
	ok(strstr(md.buf, "\\[3\\]") && strstr(md.buf, "\\[0\\]"), "markdown: invalid citations stay text");
	ok(strstr(md.buf, "evil%22%3E%3Cscript%3E@x") != NULL, "markdown: message id encoded in links");
	ok(!strstr(html.buf, "<script") && !strstr(html.buf, "<img") && !strstr(html.buf, "<iframe") &&
	   !strstr(html.buf, "<b "), "html: no injected element");
	ok(!strstr(html.buf, "javascript:alert(2)\"") && !strstr(html.buf, "href=\"javascript"),
	   "html: no javascript: href");
	ok(strstr(html.buf, "Content-Security-Policy") && strstr(html.buf, "default-src 'none'"),
	   "html: strict CSP meta");
	ok(strstr(html.buf, "<a href=\"https://lore.kernel.org/kvmarm/r1@x/\" rel=\"noopener noreferrer\">[2]</a>") != NULL,
	   "html: citation link");
	/* every href is a lore link */
	int bad = 0;
	for (const char *p = html.buf; (p = strstr(p, "href=\"")); p += 6)
		if (strncmp(p + 6, "https://lore.kernel.org/kvmarm/", 31) != 0)
			bad++;
	is_int(bad, 0, "html: only lore links");
	ok(strstr(js.buf, "\"subject\": \"<script>alert(1)<\\/script>") != NULL, "json keeps the text as data");
	/* a store from before import stripped them: the JSON drops bidi controls too */
	ok(strstr(js.buf, "\"from_name\": \"Bob\"") && !strstr(js.buf, "\xe2\x80\xae") && !strstr(js.buf, "\xe2\x81\xa6"),
	   "json: bidi override and isolate dropped from a name, the name kept");
	ok(strstr(md.buf, "[2024-03-04 00:00, 2024-03-11 00:00) (Asia/Shanghai)") != NULL,
	   "window and zone in the header");
	ok(strstr(md.buf, "**\\[03-04 02:00\\]**") != NULL, "mail time in the display zone");
	sbuf_release(&md);
	sbuf_release(&html);
	sbuf_release(&js);

	d.lang[0] = 'z';
	d.lang[1] = 'h';
	render_md(&d, &md);
	ok(strstr(md.buf, "统计窗口") != NULL, "zh labels");
	sbuf_release(&md);
	digest_release(&d);
}

/* The block shapes the walk and each format's table make together, where
 * the two formats differ most: an empty digest (Markdown: an empty list
 * leaves no trace) and a list nested in a list item. */
static void t_render_shapes(void)
{
	struct digest d = { 0 };
	d.zone = kv_xstrdup("UTC");
	d.lang = kv_xstrdup("en");
	d.lore_url = kv_xstrdup("https://lore.kernel.org/kvmarm/");
	kvtime_week_window("2024-W10", d.zone, &d.since, &d.until, NULL);
	d.large_threshold = 20;
	digest_finish(&d);
	struct sbuf md = SBUF_INIT, html = SBUF_INIT;
	render_md(&d, &md);
	render_html(&d, &html);
	ok(strstr(md.buf, "\n### By category\n\nNo mail in this window.\n\n## ⚠️ Who must act\n\n- nothing\n\n## 🩺") != NULL,
	   "markdown, empty digest: no category list, the note, then the sections");
	ok(strstr(html.buf, "<h3>By category</h3>\n<ul>\n</ul>\n<p>No mail in this window.</p>\n<h2>⚠️ Who must act</h2>\n<ul>\n<li>nothing</li>\n</ul>\n") != NULL,
	   "html, empty digest: an empty list, the note, the sections");
	ok(md.len > 0 && !strstr(md.buf, "📌") && strstr(html.buf, "</body>\n</html>\n"), "no thread blocks; the page is closed");
	sbuf_release(&md);
	sbuf_release(&html);

	d.nthreads = 1;
	d.threads = kv_xcalloc(1, sizeof(*d.threads));
	struct digest_thread *t = &d.threads[0];
	t->subject = kv_xstrdup("[PATCH 1/2] KVM: arm64: x");
	t->category = CAT_PATCH;
	t->root_message_id = kv_xstrdup("p1@x");
	t->root_from = kv_xstrdup("A <a@x>");
	t->root_addr = kv_xstrdup("a@x");
	t->first_date = d.since;
	t->root_in_window = 1;
	t->nmails = 1;
	t->mails = kv_xcalloc(1, sizeof(*t->mails));
	fill_mail(&t->mails[0], 1, "p1@x", t->subject, "A", "a@x", d.since);
	strv_push(&t->participants, "A <a@x>");
	t->npatches = 1;
	t->patches = kv_xcalloc(1, sizeof(*t->patches));
	t->patches[0] = (struct digest_patch){ .index = 1, .total = 2, .date = d.since,
					       .message_id = kv_xstrdup("p1@x"), .subject = kv_xstrdup("x"),
					       .mail_number = 1 };
	t->others_mails = 1;
	digest_finish(&d);
	summary_extractive(&d, t);
	render_md(&d, &md);
	render_html(&d, &html);
	ok(strstr(md.buf, "- **Participants**: A \\<a\xe2\x81\xa0" "@x\\>\n- **✅ Review**:\n  - 1/2 [x](https://lore.kernel.org/kvmarm/p1@x/): *no tags yet*\n\n#### 🤖") != NULL,
	   "markdown: the review list nested under its item, then a blank line");
	ok(strstr(html.buf, "<li><b>✅ Review</b>:<ul>\n<li>1/2 <a href=\"https://lore.kernel.org/kvmarm/p1@x/\" rel=\"noopener noreferrer\">x</a>: <i>no tags yet</i></li>\n</ul></li>\n</ul>\n<h4>🤖") != NULL,
	   "html: the review list nested in its item");
	ok(strstr(md.buf, "1. **\\[03-04 00:00\\]** \\[PATCH 1/2\\] KVM: arm64: x [lore](https://lore.kernel.org/kvmarm/p1@x/)\n   - From: A \\<a\xe2\x81\xa0" "@x\\>\n\n---\n\n") != NULL,
	   "markdown: a numbered mail with its sender line, the list's blank line, the rule");
	sbuf_release(&md);
	sbuf_release(&html);
	digest_release(&d);
}

/* Every line of s: at most max display columns, or a lone URL. */
static int lines_fit(const char *s, size_t max)
{
	for (const char *p = s; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *q = p;
		while (q < p + n && *q == ' ')
			q++;
		int lone_url = strncmp(q, "https://", 8) == 0 && !memchr(q, ' ', (size_t)(p + n - q));
		if (render_text_width(p, n) > max && !lone_url) {
			printf("# too wide: %.*s\n", (int)n, p);
			return 0;
		}
		p += n + (e ? 1 : 0);
	}
	return 1;
}

static void t_render_text(void)
{
	is_int(render_text_width("abc", 3), 3, "width: ASCII 1 each");
	is_int(render_text_width("审阅标签", strlen("审阅标签")), 8, "width: CJK 2 each");
	is_int(render_text_width("e\xcc\x81", 3), 1, "width: a combining acute accent is 0");
	is_int(render_text_width("\xef\xbc\x88\xe5\x85\xb1\xef\xbc\x89", 9), 6, "width: fullwidth parentheses 2");
	is_int(render_text_width("\xe2\x9a\xa0\xef\xb8\x8f", 6), 2, "width: warning sign 2, variation selector 0");
	is_int(render_text_width("\xf0\x9f\x93\x8a", 4), 2, "width: emoji 2");

	struct digest d = { 0 };
	d.zone = kv_xstrdup("UTC");
	d.lang = kv_xstrdup("zh");
	d.lore_url = kv_xstrdup("https://lore.kernel.org/kvmarm/");
	kvtime_week_window("2024-W10", d.zone, &d.since, &d.until, NULL);
	d.large_threshold = 20;
	d.nthreads = 1;
	d.threads = kv_xcalloc(1, sizeof(*d.threads));
	struct digest_thread *t = &d.threads[0];
	t->subject = kv_xstrdup("[PATCH] 修复虚拟中断控制器在迁移过程中保存和恢复状态时出现的竞争条件问题以及相关的锁顺序错误");
	t->category = CAT_PATCH;
	t->root_message_id = kv_xstrdup("p1@x");
	t->root_from = kv_xstrdup("A <a@x>");
	t->root_addr = kv_xstrdup("a@x");
	t->first_date = d.since;
	t->root_in_window = 1;
	t->nmails = 1;
	t->mails = kv_xcalloc(1, sizeof(*t->mails));
	fill_mail(&t->mails[0], 1, "p1@x", t->subject, "A", "a@x", d.since);
	strv_push(&t->participants, "A <a@x>");
	t->diff_files = -1;
	t->root_prose = kv_xstrdup("");
	/* patches before the window: 0 and 2 untagged, 1 reviewed */
	t->npatches = 3;
	t->patches = kv_xcalloc(3, sizeof(*t->patches));
	const char *pid[3] = { "p0@x", "p1b@x", "p2@x" };
	for (int i = 0; i < 3; i++)
		t->patches[i] = (struct digest_patch){ .index = i, .total = 2, .date = d.since - 86400,
						       .message_id = kv_xstrdup(pid[i]),
						       .subject = kv_xstrdup(i == 1 ? "b" : "x") };
	strv_push(&t->patches[1].review.reviewed, "R <r@x>");
	digest_finish(&d);
	summary_extractive(&d, t);
	free(t->summary.about);
	t->summary.about = kv_xstrdup("See https://lore.kernel.org/kvmarm/a-very-long-message-id-that-goes-on-and-on-0123456789@example.org/ "
				      "and aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, "
				      "then [1] \x1b[31m\xc2\x9b" "1m\xe2\x80\xaeok\xe2\x80\xac.");
	struct sbuf txt = SBUF_INIT;
	render_text(&d, &txt);
	if (getenv("T_REPORTER_DUMP"))
		fprintf(stderr, "%s\n", txt.buf);
	ok(lines_fit(txt.buf, RENDER_TEXT_WIDTH), "text: every line fits 72 columns but a lone URL");
	ok(strstr(txt.buf, "\n    https://lore.kernel.org/kvmarm/p1@x/\n") != NULL, "text: the mail's URL under it");
	ok(strstr(txt.buf, "\nhttps://lore.kernel.org/kvmarm/a-very-long-message-id-that-goes-on-and-on-0123456789@example.org/\n") != NULL,
	   "text: a URL wider than the line stands alone, whole");
	ok(strstr(txt.buf, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n") != NULL,
	   "text: a word wider than the line is cut at 72 columns");
	ok(strstr(txt.buf, "then [1] [31m1mok.") != NULL, "text: ESC, C1 CSI and bidi overrides removed, the rest kept");
	ok(strstr(txt.buf, "\n  - 2 个补丁尚无标签（共 3 个）: 0, 2\n") != NULL &&
	   strstr(txt.buf, "\n  - 1/2 b [2]: Reviewed-by: R <r@x>\n") != NULL && !strstr(txt.buf, "尚无标签\n"),
	   "text: the tagged patch listed, the two untagged folded into one line");
	ok(!strstr(txt.buf, "/p0@x/") && !strstr(txt.buf, "/p2@x/") &&
	   strstr(txt.buf, "\n链接:\n[2] https://lore.kernel.org/kvmarm/p1b@x/\n\n---") != NULL,
	   "text: a folded patch leaves no reference behind; the kept one is numbered after the mails");
	ok(!strchr(txt.buf, '\\'), "text: no backslash at all");
	/* no line starts with closing punctuation after a CJK break */
	ok(!strstr(txt.buf, "\n\xef\xbc\x89") && !strstr(txt.buf, "\n\xe3\x80\x82"), "text: no line starts with ） or 。");
	sbuf_release(&txt);
	digest_release(&d);
}

/*
 * Hidden driver for tests/t/36-escape-property.t: t_reporter --escape md|html
 * reads strings separated by NUL bytes on stdin and writes each one escaped
 * by render_md_escape or render_html_escape, followed by a NUL.
 */
static int escape_driver(const char *mode)
{
	struct sbuf in = SBUF_INIT, out = SBUF_INIT;
	char buf[65536];
	size_t n;
	int md = strcmp(mode, "md") == 0;
	if (!md && strcmp(mode, "html") != 0) {
		fprintf(stderr, "t_reporter --escape: md or html, not %s\n", mode);
		return 2;
	}
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		sbuf_add(&in, buf, n);
	sbuf_addc(&in, '\0');
	for (size_t i = 0; i + 1 < in.len;) {
		const char *str = in.buf + i;
		size_t l = strlen(str);
		if (md)
			render_md_escape(&out, str);
		else
			render_html_escape(&out, str);
		sbuf_addc(&out, '\0');
		i += l + 1;
	}
	fwrite(out.buf ? out.buf : "", 1, out.len, stdout);
	sbuf_release(&in);
	sbuf_release(&out);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--escape") == 0)
		return escape_driver(argv[2]);
	t_windows();
	t_escape();
	t_scan();
	t_render();
	t_render_shapes();
	t_render_text();
	return done_testing();
}
