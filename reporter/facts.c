/*
 * facts.c - reading a thread's mails for the digest: window mails and
 * participants, review tags from trailers, status from maintainer replies
 * and bots, earlier activity, the root's prose and diffstat. Only the
 * sender's own new prose is scanned for status (quotes are ignored), so a
 * reply quoting "Applied, thanks" does not apply anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include "facts.h"
#include "store.h"
#include "body.h"
#include "category.h"
#include "subject.h"

/* ---- pure scanners ---- */

static const char *line_trim(const char *p, const char *end, size_t *len)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	const char *e = p;
	while (e < end && *e != '\n')
		e++;
	const char *t = e;
	while (t > p && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r'))
		t--;
	*len = (size_t)(t - p);
	return p;
}

static int starts_ci(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);
	return len >= n && strncasecmp(s, word, n) == 0;
}

/* needle (lowercase) in s[0..len), ignoring ASCII case of s. Finds the
 * first character with memchr on both cases, so a scan costs little more
 * than a memchr (this runs on every reply's prose). */
static int contains_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (!n || len < n)
		return n == 0;
	char lo = needle[0], up = (char)toupper((unsigned char)lo);
	for (const char *p = s, *end = s + len - n + 1; p < end;) {
		const char *a = memchr(p, lo, (size_t)(end - p));
		const char *b = lo != up ? memchr(p, up, (size_t)(end - p)) : NULL;
		const char *c = !a ? b : !b ? a : a < b ? a : b;
		if (!c)
			return 0;
		if (strncasecmp(c, needle, n) == 0)
			return 1;
		p = c + 1;
	}
	return 0;
}

/* A hex commit id of 7..40 digits at s (len bytes); its length or 0. */
static size_t hex_id(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && i < 41 && isxdigit((unsigned char)s[i]))
		i++;
	if (i < 7 || i > 40 || (i < len && isalnum((unsigned char)s[i])))
		return 0;
	return i;
}

static const char *const changes_phrases[] = {
	"please fix", "please respin", "please resend", "needs a respin", "needs to be fixed",
	"please rework", "please send a v", "changes requested", "please address",
	"this needs to change", "needs more work", "please split",
};

unsigned facts_scan_prose(const char *prose, size_t len, struct strv *commits)
{
	unsigned st = 0;
	/* phrases may be anywhere and may wrap: search them once in a lowercase
	 * copy with white space runs made single spaces */
	char *low = kv_xmalloc(len + 1);
	size_t nl_len = 0;
	int sp = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)prose[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			sp = 1;
			continue;
		}
		if (sp && nl_len)
			low[nl_len++] = ' ';
		sp = 0;
		low[nl_len++] = (char)tolower(c);
	}
	low[nl_len] = '\0';
	static const char *const applied_phrases[] = {
		"applied to next", "applied to kvmarm", "applied to kvm-arm",
	};
	for (size_t i = 0; i < sizeof(applied_phrases) / sizeof(*applied_phrases); i++)
		if (memmem(low, nl_len, applied_phrases[i], strlen(applied_phrases[i])))
			st |= DST_APPLIED;
	for (size_t i = 0; i < sizeof(changes_phrases) / sizeof(*changes_phrases); i++)
		if (memmem(low, nl_len, changes_phrases[i], strlen(changes_phrases[i])))
			st |= DST_CHANGES;
	free(low);

	/* what counts only at the start of a line */
	const char *p = prose, *end = prose + len;
	while (p < end) {
		size_t n;
		const char *l = line_trim(p, end, &n);
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
		if (!n)
			continue;
		if (starts_ci(l, n, "applied"))
			st |= DST_APPLIED;
		if (starts_ci(l, n, "queued"))
			st |= DST_QUEUED;
		if (starts_ci(l, n, "nak") && (n == 3 || !isalpha((unsigned char)l[3])))
			st |= DST_NAK;
		/* "commit: 0123abcd" lines as b4 ty writes them; also "commit 0123abcd" */
		if (commits && (starts_ci(l, n, "commit:") || starts_ci(l, n, "commit "))) {
			size_t k = 6;
			while (k < n && (l[k] == ':' || l[k] == ' ' || l[k] == '\t'))
				k++;
			size_t h = hex_id(l + k, n - k);
			if (h) {
				char *id = kv_xstrndup(l + k, h);
				if (!digest_strv_has(commits, id))
					strv_push_owned(commits, id);
				else
					free(id);
			}
		}
	}
	return st;
}

static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* A paragraph that only greets ("Hi all,", "Hello Marc,"). */
static int is_greeting(const char *s, size_t n)
{
	if (n > 40)
		return 0;
	return starts_ci(s, n, "hi") || starts_ci(s, n, "hello") || starts_ci(s, n, "dear") ||
	       starts_ci(s, n, "hey");
}

/* "Jane Doe (3):" opens a git shortlog: the prose is over. */
static int is_shortlog(const char *s, size_t n)
{
	for (size_t i = 0; i < n && i < 80; i++) {
		if (s[i] != '(')
			continue;
		size_t k = i + 1;
		while (k < n && isdigit((unsigned char)s[k]))
			k++;
		if (k > i + 1 && k + 1 < n + 1 && s[k] == ')' && k + 1 < n && s[k + 1] == ':')
			return 1;
	}
	return 0;
}

char *facts_first_paragraphs(const char *prose, size_t len, size_t max)
{
	struct sbuf out = SBUF_INIT;
	const char *p = prose, *end = prose + len;
	int paras = 0;
	sbuf_adds(&out, "");
	while (p < end && paras < 2 && out.len < max) {
		/* collect one paragraph as a single line */
		struct sbuf para = SBUF_INIT;
		sbuf_adds(&para, "");
		while (p < end) {
			size_t n;
			const char *l = line_trim(p, end, &n);
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
			if (!n) {
				if (para.len)
					break;
				continue;
			}
			if (para.len)
				sbuf_addc(&para, ' ');
			sbuf_add(&para, l, n);
		}
		if (para.len && is_shortlog(para.buf, para.len)) {
			sbuf_release(&para);
			break;
		}
		if (para.len && !is_greeting(para.buf, para.len)) {
			if (out.len)
				sbuf_addc(&out, ' ');
			sbuf_add(&out, para.buf, para.len);
			paras++;
		}
		sbuf_release(&para);
	}
	if (out.len > max) {
		size_t n = utf8_cut(out.buf, out.len, max);
		out.len = n;
		out.buf[n] = '\0';
		sbuf_adds(&out, "…");
	}
	char *one = digest_one_line(out.buf);
	sbuf_release(&out);
	return one;
}

/* ---- a thread's facts ---- */

struct member {
	struct msg_rec rec;  /* views valid while the reader is open */
	int parent_known;
	uint64_t num, parent;
	int64_t date;
	char *from;          /* "Name <addr>" */
	char *addr;
	int is_patch, index, total;
	int number;          /* window list number, 0 outside */
	int patch;           /* index into t->patches, -1 */
};

static void add_event(struct digest_thread *t, unsigned st, const struct member *m, const char *detail)
{
	/* one event per status and mail */
	for (size_t i = 0; i < t->nevents; i++)
		if (t->events[i].status == st && m && t->events[i].date == m->date &&
		    strcmp(t->events[i].who, m->from) == 0)
			return;
	t->events = kv_xrealloc(t->events, (t->nevents + 1) * sizeof(*t->events));
	struct digest_event *e = &t->events[t->nevents++];
	e->status = st;
	e->date = m ? m->date : 0;
	e->who = kv_xstrdup(m ? m->from : "");
	e->detail = kv_xstrdup(detail ? detail : "");
	e->mail_number = m ? m->number : 0;
	t->status |= st;
}

static void review_add(struct digest_review *rv, enum trailer_kind k, const char *who)
{
	struct strv *sv = k == TR_REVIEWED ? &rv->reviewed : k == TR_ACKED ? &rv->acked : &rv->tested;
	if (!digest_strv_has(sv, who))
		strv_push(sv, who);
}

static int find_member(const struct member *ms, size_t n, uint64_t num)
{
	for (size_t i = 0; i < n; i++)
		if (ms[i].num == num)
			return (int)i;
	return -1;
}

/* The patch a reply is about: up the parent chain to the nearest patch
 * mail. Parents are looked up lazily: most mails carry no tag. */
static int target_patch(struct store_reader *r, struct member *ms, size_t n, int i)
{
	for (int depth = 0; i >= 0 && depth < 256; depth++) {
		if (ms[i].patch >= 0)
			return ms[i].patch;
		if (!ms[i].parent_known) {
			struct kv_err err;
			if (store_msg_parent(r, &ms[i].rec, &ms[i].parent, &err) < 0)
				ms[i].parent = 0;
			ms[i].parent_known = 1;
		}
		if (!ms[i].parent)
			return -1;
		i = find_member(ms, n, ms[i].parent);
	}
	return -1;
}

static int patch_cmp(const void *a, const void *b)
{
	const struct digest_patch *x = a, *y = b;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->date < y->date ? -1 : x->date > y->date;
}

static const char *trailer_key(enum trailer_kind k)
{
	return k == TR_REVIEWED ? "Reviewed-by" : k == TR_ACKED ? "Acked-by" : "Tested-by";
}

int facts_thread(struct store_reader *r, const struct digest_opts *o, struct digest_thread *t,
		 const uint64_t *members, size_t n, struct kv_err *err)
{
	struct member *ms = kv_xcalloc(n ? n : 1, sizeof(*ms));
	struct body_info *bis = kv_xcalloc(n ? n : 1, sizeof(*bis));
	const char **texts = kv_xcalloc(n ? n : 1, sizeof(*texts));
	size_t *tlens = kv_xcalloc(n ? n : 1, sizeof(*tlens));
	size_t nms = 0, nwin = 0;
	int rc = -1;

	t->mails = kv_xcalloc(n ? n : 1, sizeof(*t->mails));
	t->patches = kv_xcalloc(n ? n : 1, sizeof(*t->patches));

	/* pass 1: records, window list, patches */
	for (size_t i = 0; i < n; i++) {
		struct msg_rec m;
		int g = store_msg_get(r, members[i], &m, err);
		if (g < 0)
			goto out;
		if (g == 1 || m.date >= o->until)
			continue;
		struct member *x = &ms[nms];
		x->num = m.num;
		x->date = m.date;
		x->from = digest_person(m.from_name, m.from_addr);
		x->addr = kv_xstrdup(m.from_addr);
		x->patch = -1;
		x->rec = m;   /* the parent is looked up only when a tag needs it */
		struct subject_info si;
		subject_parse(m.subject, &si);
		x->is_patch = si.patch && !si.reply && !si.forward;
		x->index = si.index;
		x->total = si.total;
		if (strcasecmp(m.from_addr, t->root_addr) != 0)
			t->others_mails++;
		if (m.date >= o->since) {
			struct digest_mail *dm = &t->mails[t->nmails++];
			dm->number = x->number = (int)++nwin;
			dm->num = m.num;
			dm->date = m.date;
			dm->flags = m.flags;
			dm->message_id = kv_xstrdup(m.message_id);
			dm->subject = digest_one_line(m.subject);
			dm->from_name = digest_one_line(m.from_name);
			dm->from_addr = digest_one_line(m.from_addr);
			dm->is_patch = x->is_patch;
			dm->patch_index = si.index;
			if (!digest_strv_has(&t->participants, x->from))
				strv_push(&t->participants, x->from);
		} else {
			t->earlier_mails++;
			if (!digest_strv_has(&t->earlier_people, x->from))
				strv_push(&t->earlier_people, x->from);
		}
		if (x->is_patch) {
			struct digest_patch *p = &t->patches[t->npatches];
			p->index = si.index;
			p->total = si.total;
			p->date = m.date;
			p->message_id = kv_xstrdup(m.message_id);
			p->subject = digest_one_line(m.subject);
			p->mail_number = x->number;
			x->patch = (int)t->npatches++;
		}
		/* A patch's own body (commit message, diff) carries no tag that
		 * counts (a tag counts only from its sender's own address) and no
		 * status; skipping it saves reading and scanning the biggest
		 * mails. The root keeps its text for the diffstat and prose. */
		if (!x->is_patch || m.num == t->root) {
			if (store_msg_text(r, m.num, &texts[nms], &tlens[nms], err) < 0) {
				nms++;
				goto out;
			}
		}
		body_analyze(texts[nms] ? texts[nms] : "", texts[nms] ? tlens[nms] : 0, &bis[nms]);
		nms++;
	}
	/* as of the window's end: the thread's size and last date count only
	 * the mails dated before until, so rebuilding an old week after later
	 * mail arrived gives the same digest */
	t->total_count = (uint32_t)nms;
	t->last_date = t->first_date;
	for (size_t i = 0; i < nms; i++)
		if (ms[i].date > t->last_date)
			t->last_date = ms[i].date;

	/* root / cover letter: diffstat and first paragraphs */
	{
		int ri = find_member(ms, nms, t->root);
		if (ri < 0 && nms)
			ri = 0;
		if (ri >= 0) {
			struct body_info *bi = &bis[ri];
			t->diff_files = bi->stat_files;
			t->diff_ins = bi->stat_ins;
			t->diff_del = bi->stat_del;
			struct sbuf prose = SBUF_INIT;
			sbuf_adds(&prose, "");
			body_extract(texts[ri] ? texts[ri] : "", bi, 1u << SEG_PROSE, &prose);
			t->root_prose = facts_first_paragraphs(prose.buf, prose.len, 400);
			sbuf_release(&prose);
		} else {
			t->root_prose = kv_xstrdup("");
		}
	}

	/* pass 2: tags and status */
	for (size_t i = 0; i < nms; i++) {
		struct member *x = &ms[i];
		struct body_info *bi = &bis[i];
		int in_window = x->number > 0;
		for (size_t k = 0; k < bi->ntrailers; k++) {
			const struct trailer *tr = &bi->trailers[k];
			if (tr->quoted || !tr->addr || strcasecmp(tr->addr, x->addr) != 0)
				continue;
			if (tr->kind == TR_OTHER && tr->key && strcasecmp(tr->key, "Nacked-by") == 0) {
				add_event(t, DST_NAK, x, "");
				continue;
			}
			if (tr->kind != TR_REVIEWED && tr->kind != TR_ACKED && tr->kind != TR_TESTED)
				continue;
			int p = target_patch(r, ms, nms, (int)i);
			if (p < 0 && t->npatches == 1)
				p = 0;
			if (p < 0)
				continue;
			const struct digest_patch *tp = &t->patches[p];
			if (tp->index == 0) {
				for (size_t q = 0; q < t->npatches; q++)
					review_add(&t->patches[q].review, tr->kind, x->from);
			} else {
				review_add(&t->patches[p].review, tr->kind, x->from);
			}
			if (in_window) {
				char *line;
				if (tp->index == 0)
					line = kv_xasprintf("%s: %s (series)", trailer_key(tr->kind), x->from);
				else if (tp->index > 0)
					line = kv_xasprintf("%s: %s (%d/%d)", trailer_key(tr->kind), x->from,
							    tp->index, tp->total);
				else
					line = kv_xasprintf("%s: %s", trailer_key(tr->kind), x->from);
				if (!digest_strv_has(&t->week_tags, line))
					strv_push_owned(&t->week_tags, line);
				else
					free(line);
			}
		}
		const char *text = texts[i] ? texts[i] : "";
		size_t tlen = texts[i] ? tlens[i] : 0;
		if (strcasecmp(x->addr, "lkp@intel.com") == 0 &&
		    (contains_ci(text, tlen, "build error") || contains_ci(text, tlen, "build failed")))
			add_event(t, DST_BUILD_FAILURE, x, "");
		if (strncasecmp(x->addr, "syzbot", 6) == 0)
			add_event(t, DST_SYZBOT, x, "");
		/* a patch's own text (commit message) states no status */
		if (x->is_patch)
			continue;
		struct sbuf prose = SBUF_INIT;
		sbuf_adds(&prose, "");
		body_extract(text, bi, 1u << SEG_PROSE, &prose);
		struct strv commits = STRV_INIT;
		unsigned st = facts_scan_prose(prose.buf, prose.len, &commits);
		sbuf_release(&prose);
		/* the author asking for changes to their own patch is not a review */
		if (strcasecmp(x->addr, t->root_addr) == 0)
			st &= ~DST_CHANGES;
		struct sbuf det = SBUF_INIT;
		sbuf_adds(&det, "");
		for (size_t c = 0; c < commits.n; c++) {
			sbuf_addf(&det, "%s%s", c ? " " : "", commits.v[c]);
			if (!digest_strv_has(&t->commits, commits.v[c]))
				strv_push(&t->commits, commits.v[c]);
		}
		strv_release(&commits);
		for (unsigned b = 0; b < DST_COUNT; b++)
			if (st & (1u << b))
				add_event(t, 1u << b,
					  x, (1u << b) & (DST_APPLIED | DST_QUEUED) ? det.buf : "");
		sbuf_release(&det);
	}
	/* a syzbot thread is a syzbot report even when only replies are in view */
	if (t->category == CAT_BUG && strstr(t->subject, "[syzbot]") && !(t->status & DST_SYZBOT))
		t->status |= DST_SYZBOT;

	/* a newer version of the series makes this one old */
	for (size_t v = 0; v < t->nversions; v++) {
		if (t->versions[v].version > t->version && t->versions[v].date < o->until) {
			char vn[32];
			snprintf(vn, sizeof(vn), "v%d", t->versions[v].version);
			struct member m = { 0 };
			m.date = t->versions[v].date;
			m.from = "";
			add_event(t, DST_NEW_VERSION, &m, vn);
			t->events[t->nevents - 1].mail_number = 0;
		}
	}
	qsort(t->patches, t->npatches, sizeof(*t->patches), patch_cmp);
	rc = 0;
out:
	for (size_t i = 0; i < nms; i++) {
		free(ms[i].from);
		free(ms[i].addr);
		body_info_release(&bis[i]);
	}
	free(ms);
	free(bis);
	free(texts);
	free(tlens);
	return rc;
}

void facts_text(struct digest_thread *t)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_addf(&sb, "Category: %s\n", category_name(t->category));
	sbuf_addf(&sb, "Started by: %s\n", t->root_from);
	if (t->nversions > 1) {
		sbuf_addf(&sb, "Series: this is v%d; versions:", t->version);
		for (size_t i = 0; i < t->nversions; i++)
			sbuf_addf(&sb, " v%d", t->versions[i].version);
		sbuf_addc(&sb, '\n');
	}
	if (t->diff_files >= 0)
		sbuf_addf(&sb, "Diffstat: %d files changed, %d insertions, %d deletions\n",
			  t->diff_files, t->diff_ins, t->diff_del);
	for (size_t i = 0; i < t->npatches; i++) {
		const struct digest_patch *p = &t->patches[i];
		const struct digest_review *rv = &p->review;
		if (!rv->reviewed.n && !rv->acked.n && !rv->tested.n)
			continue;
		if (p->index >= 0)
			sbuf_addf(&sb, "Patch %d/%d:", p->index, p->total);
		else
			sbuf_adds(&sb, "Patch:");
		for (size_t k = 0; k < rv->reviewed.n; k++)
			sbuf_addf(&sb, " Reviewed-by %s;", rv->reviewed.v[k]);
		for (size_t k = 0; k < rv->acked.n; k++)
			sbuf_addf(&sb, " Acked-by %s;", rv->acked.v[k]);
		for (size_t k = 0; k < rv->tested.n; k++)
			sbuf_addf(&sb, " Tested-by %s;", rv->tested.v[k]);
		sbuf_addc(&sb, '\n');
	}
	for (size_t i = 0; i < t->nevents; i++) {
		const struct digest_event *e = &t->events[i];
		unsigned b = 0;
		while (b < DST_COUNT && !(e->status & (1u << b)))
			b++;
		sbuf_addf(&sb, "Status: %s", digest_status_name(b));
		if (*e->who)
			sbuf_addf(&sb, " by %s", e->who);
		if (*e->detail)
			sbuf_addf(&sb, " (%s)", e->detail);
		sbuf_addc(&sb, '\n');
	}
	sbuf_addf(&sb, "Participants this week: %zu\n", t->participants.n);
	free(t->facts);
	t->facts = sbuf_detach(&sb, NULL);
}
