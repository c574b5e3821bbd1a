/*
 * render.c - what the renderers share: the label table (zh / en), escaping
 * for Markdown and HTML, and the digest mail's subject. The walk over a
 * digest that the markup formats share is in render_walk.c.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "render.h"
#include "kvtime.h"
#include "text.h"
#include "banned.h"

struct label_pair {
	const char *zh, *en;
};

static const struct label_pair labels[L_COUNT] = {
	[L_TITLE]              = { "KVMARM 邮件列表每周摘要", "KVMARM mailing list weekly digest" },
	[L_GENERATED]          = { "生成时间", "Generated" },
	[L_WINDOW]             = { "统计窗口", "Window" },
	[L_STATS]              = { "总体统计", "Overview" },
	[L_TOTAL_MAILS]        = { "本期邮件数", "Mails in the window" },
	[L_TOTAL_THREADS]      = { "活跃 Thread 数", "Active threads" },
	[L_LARGE]              = { "大型 Thread", "Large threads" },
	[L_LARGE_UNIT]         = { " 个", "" },
	[L_CATEGORIES]         = { "分类分布", "By category" },
	[L_THREADS_UNIT]       = { "threads", "threads" },
	[L_MAILS_UNIT]         = { "封邮件", "mails" },
	[L_CAT_COUNT]          = { "本类 thread 数", "Threads in this category" },
	[L_THREAD]             = { "Thread", "Thread" },
	[L_MAILS]              = { "本期邮件", "Mails this window" },
	[L_PARTICIPANTS]       = { "参与者", "Participants" },
	[L_STARTED]            = { "开始于", "Started" },
	[L_SUMMARY]            = { "摘要", "Summary" },
	[L_SUMMARY_EXTRACTIVE] = { "（由邮件内容自动摘录）", "(extracted from the mails)" },
	[L_SUMMARY_LLM_FAILED] = { "（AI 摘要失败，改用邮件摘录）", "(AI summary failed; extracted from the mails instead)" },
	[L_ABOUT]              = { "主题", "What it is about" },
	[L_BEFORE]             = { "此前", "Before this window" },
	[L_WEEK]               = { "本期进展", "In this window" },
	[L_MAIL_LIST]          = { "邮件列表", "Mails" },
	[L_SENDER]             = { "发件人", "From" },
	[L_THREAD_LINK]        = { "存档", "archive" },
	[L_SERIES]             = { "系列历史", "Series history" },
	[L_SUPERSEDES]         = { "取代", "supersedes" },
	[L_DEPENDS]            = { "依赖", "Depends on" },
	[L_STATUS]             = { "状态", "Status" },
	[L_REVIEW]             = { "审阅", "Review" },
	[L_NO_TAGS]            = { "尚无标签", "no tags yet" },
	[L_ATTENTION]          = { "谁需要行动", "Who must act" },
	[L_ATT_READY]          = { "可以合入（每个补丁都有审阅标签）", "Ready to merge (every patch reviewed)" },
	[L_ATT_AUTHOR]         = { "等待作者（要求修改，尚无新版本）", "Waiting on the author (changes requested, no new version)" },
	[L_ATT_NO_REPLY]       = { "等待审阅（尚无回复）", "Waiting on reviewers (no reply yet)" },
	[L_ATT_UNANSWERED]     = { "未获回答的问题", "Questions without an answer" },
	[L_ATT_NONE]           = { "无", "nothing" },
	[L_HEALTH]             = { "摘要自检", "Digest health" },
	[L_HEALTH_LINE]        = { "窗口内存储记录 %zu 封邮件，其中 %zu 封带解析警告；存储共 %llu 封",
				   "%zu mails recorded in the window, %zu with parse warnings; %llu in the store" },
	[L_ROOT_BEFORE]        = { "（始于本期之前）", "(started before this window)" },
	[L_NO_THREADS]         = { "本期没有邮件。", "No mail in this window." },
	[L_COMMITS]            = { "提交", "commits" },
	[L_ST_APPLIED]         = { "已合入", "applied" },
	[L_ST_QUEUED]          = { "已排队", "queued" },
	[L_ST_NAK]             = { "被 NAK", "NAKed" },
	[L_ST_CHANGES]         = { "要求修改", "changes requested" },
	[L_ST_NEW_VERSION]     = { "已有新版本", "new version posted" },
	[L_ST_BUILD]           = { "构建失败（kernel test robot）", "build failure (kernel test robot)" },
	[L_ST_SYZBOT]          = { "syzbot 报告", "syzbot report" },
	[L_BY]                 = { "来自", "by" },
	[L_INDEX_TITLE]        = { "KVMARM 每周摘要存档", "KVMARM weekly digest archive" },
	[L_PATCH]              = { "补丁", "patch" },
	[L_CARRIED]            = { "沿用", "carried" },
	[L_OTHER_ADDR]         = { "（来自另一地址）", "(from another address)" },
	/* plain text only: N untagged of M listed (the order of the numbers is fixed) */
	[L_UNTAGGED]           = { "%zu 个补丁尚无标签（共 %zu 个）", "%zu of %zu patches without tags" },
	[L_LINKS]              = { "链接", "Links" },
	[L_OTHER_LINKS]        = { "链接", "Other links" },
};

const char *render_label(const struct digest *d, enum render_label l)
{
	if ((unsigned)l >= L_COUNT || !labels[l].en)
		kv_panic("render_label: no label %d", (int)l);
	return d->lang && strcmp(d->lang, "zh") == 0 ? labels[l].zh : labels[l].en;
}

const char *render_status_label(const struct digest *d, unsigned b)
{
	static const enum render_label map[DST_COUNT] = {
		L_ST_APPLIED, L_ST_QUEUED, L_ST_NAK, L_ST_CHANGES, L_ST_NEW_VERSION, L_ST_BUILD,
		L_ST_SYZBOT,
	};
	if (b >= DST_COUNT)
		kv_panic("render_status_label: bit %u", b);
	return render_label(d, map[b]);
}

/* Bytes that pass through unchanged (1), looked up per byte so that runs
 * of ordinary text are copied in one go: digests run to megabytes. */
static unsigned char md_plain[256], html_plain[256];
static pthread_once_t plain_once = PTHREAD_ONCE_INIT;

static void plain_init_once(void)
{
	for (int c = 0x20; c < 256; c++) {
		md_plain[c] = c != 0x7f && !strchr("\\`*_[]()<>#|!~&:.@", c);
		html_plain[c] = c != 0x7f && !strchr("&<>\"'", c);
	}
}

static const char *plain_run(struct sbuf *out, const char *p, const char *end, const unsigned char *plain)
{
	const char *q = p;
	while (q < end && plain[(unsigned char)*q])
		q++;
	if (q > p)
		sbuf_add(out, p, (size_t)(q - p));
	return q;
}

/*
 * The text both escapers judge, cleaned first (issue 14 item 4): the
 * escapers must decide on what they write, so nothing dropped later can
 * join what they kept apart ("https:/\x7f/" must not turn into "https://"
 * after ':' was let through). Line breaks, tabs, U+0085, U+2028, U+2029
 * and runs of spaces become one space; other control characters, the
 * bidi controls and NUL (text_unsafe_len) go. Other characters are
 * copied whole (text_utf8_len) and every byte of invalid UTF-8 becomes
 * U+FFFD, so a dropped byte cannot join its neighbours into a character
 * judged by nobody: "\xe2\x80\x17\xa8" must not come out as U+2028. The
 * digest's own strings are valid UTF-8 and pass unchanged. Caller frees.
 */
static char *render_clean(const char *s, size_t *len)
{
	struct sbuf sb = SBUF_INIT;
	const char *p = s ? s : "";
	size_t n = strlen(p);
	sbuf_grow(&sb, n + 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)p[i];
		size_t u = text_unsafe_len(p + i, n - i);
		if (u) {
			i += u;
			continue;
		}
		int space = c == ' ' || c == '\r' || c == '\n' || c == '\t' || c == '\v' || c == '\f';
		if (!space && c == 0xC2 && (unsigned char)p[i + 1] == 0x85) {
			space = 1;
			i++;
		} else if (!space && c == 0xE2 && (unsigned char)p[i + 1] == 0x80 &&
			   ((unsigned char)p[i + 2] == 0xA8 || (unsigned char)p[i + 2] == 0xA9)) {
			space = 1;
			i += 2;
		}
		if (space) {
			if (!sb.len || sb.buf[sb.len - 1] != ' ')
				sbuf_addc(&sb, ' ');
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			i++;
			continue;
		}
		size_t l = text_utf8_len(p + i, n - i);
		if (!l) {
			sbuf_adds(&sb, "\xEF\xBF\xBD");   /* U+FFFD for one invalid byte */
			i++;
			continue;
		}
		sbuf_add(&sb, p + i, l);
		i += l;
	}
	return sbuf_detach(&sb, len);
}

#define WORD_JOINER "\xE2\x81\xA0"   /* U+2060: invisible, breaks an e-mail autolink */

void render_md_escape(struct sbuf *out, const char *s)
{
	size_t n;
	char *t = render_clean(s, &n);
	const char *p = t, *end = t + n;
	pthread_once(&plain_once, plain_init_once);
	/* A fragment that starts a line must not start a block: a list
	 * item ("-", "+", "1." "1)"), a setext underline ("="). */
	if (p < end && *p == ' ')
		sbuf_addc(out, *p++);   /* one space (render_clean) does not stop a marker */
	if (p < end && (*p == '-' || *p == '+' || *p == '=')) {
		sbuf_addc(out, '\\');
		sbuf_addc(out, *p++);
	} else {
		const char *q = p;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if (q > p && q < end && (*q == '.' || *q == ')')) {
			sbuf_add(out, p, (size_t)(q - p));
			sbuf_addc(out, '\\');
			sbuf_addc(out, *q);
			p = q + 1;
		}
	}
	while (p < end) {
		p = plain_run(out, p, end, md_plain);
		if (p >= end)
			break;
		char c = *p;
		if (strchr("\\`*_[]()<>#|!~&", c)) {
			sbuf_addc(out, '\\');
			sbuf_addc(out, c);
		} else if (c == ':' && end - p >= 3 && p[1] == '/' && p[2] == '/') {
			/* "scheme://" would become a link in GFM */
			sbuf_adds(out, "\\:");
		} else if (c == '.' && p - t >= 3 && strncasecmp(p - 3, "www", 3) == 0) {
			sbuf_adds(out, "\\.");      /* "www." would, too */
		} else if (c == '@') {
			/* GFM links "local@domain.tld" whatever is escaped around it
			 * (a backslash or &#64; does not stop it): a character no
			 * local part may hold, invisible, goes before the '@' */
			sbuf_adds(out, WORD_JOINER "@");
		} else {
			sbuf_addc(out, c);
		}
		p++;
	}
	free(t);
}

void render_html_escape(struct sbuf *out, const char *s)
{
	size_t n;
	char *t = render_clean(s, &n);
	const char *p = t, *end = t + n;
	pthread_once(&plain_once, plain_init_once);
	while (p < end) {
		p = plain_run(out, p, end, html_plain);
		if (p >= end)
			break;
		switch (*p) {
		case '&': sbuf_adds(out, "&amp;"); break;
		case '<': sbuf_adds(out, "&lt;"); break;
		case '>': sbuf_adds(out, "&gt;"); break;
		case '"': sbuf_adds(out, "&quot;"); break;
		case '\'': sbuf_adds(out, "&#39;"); break;
		default: break;   /* only 0x7f reaches here, and render_clean drops it */
		}
		p++;
	}
	free(t);
}

char *render_mail_subject(const struct digest *d)
{
	char a[32], b[32];
	if (d->week)
		return kv_xasprintf("%s %s", render_label(d, L_TITLE), d->week);
	kvtime_format(d->since, d->zone, "%Y-%m-%d", a, sizeof(a));
	kvtime_format(d->until, d->zone, "%Y-%m-%d", b, sizeof(b));
	return kv_xasprintf("%s %s .. %s", render_label(d, L_TITLE), a, b);
}
