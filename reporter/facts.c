/*
 * facts.c - reading a thread's mails for the digest: window mails and
 * participants, review tags from trailers, status from maintainer replies
 * and bots, earlier activity, the root's prose and diffstat. Only the
 * sender's own new prose is scanned for status (quotes are ignored), so a
 * reply quoting "Applied, thanks" does not apply anything.
 *
 * size: over 900 lines on purpose: facts_thread reads each mail of a
 * thread once and derives every fact from that one pass (members, tags,
 * statuses, whom each mail answers, the extracted points); the helpers
 * share its struct member, so splitting them would mean exporting it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include "facts.h"
#include "text.h"
#include "store.h"
#include "body.h"
#include "category.h"
#include "subject.h"
#include "status.h"
#include "extract.h"
#include "banned.h"

/* ---- pure scanners ---- */

/* A decision of status.c as a digest status bit: a pulled pull request is
 * shown as applied (the digest has no separate "merged" status). */
static unsigned status_bit(enum status_kind k)
{
	switch (k) {
	case SK_APPLIED: case SK_MERGED: return DST_APPLIED;
	case SK_QUEUED: return DST_QUEUED;
	case SK_NAK: return DST_NAK;
	case SK_CHANGES: return DST_CHANGES;
	}
	return 0;
}

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

/* The status bits status.c finds in one reply's prose, as a reviewer's
 * (not the author's) reply on a patch thread; kept for callers that want
 * bits, the digest itself uses facts_thread. */
unsigned facts_scan_prose(const char *prose, size_t len, struct strv *commits)
{
	struct status_input in = { .prose = prose, .len = len, .subject = "", .patch_thread = 1 };
	struct status_result res;
	unsigned st = 0;
	status_detect(&in, &res);
	for (size_t i = 0; i < res.n; i++) {
		st |= status_bit(res.v[i].kind);
		for (size_t c = 0; commits && c < res.v[i].commits.n; c++)
			if (!strv_has(commits, res.v[i].commits.v[c]))
				strv_push(commits, res.v[i].commits.v[c]);
	}
	status_result_release(&res);
	return st;
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
		size_t n = text_utf8_cut(out.buf, out.len, max);
		out.len = n;
		out.buf[n] = '\0';
		sbuf_adds(&out, "…");
	}
	char *one = text_one_line(out.buf);
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
	char *name;          /* the sender's display name, may be "" */
	int is_patch, index, total;
	int number;          /* window list number, 0 outside */
	int patch;           /* index into t->patches, -1 */
	int gave_tag;        /* a Reviewed-by / Acked-by of its own in its text */
	int scanned;         /* its sentences are in ems[] (a human reply in the window) */
};

/* The new event, or NULL when the mail already has one of that status. */
static struct digest_event *add_event(struct digest_thread *t, unsigned st, const struct member *m,
				      const char *detail)
{
	/* one event per status and mail */
	for (size_t i = 0; i < t->nevents; i++)
		if (t->events[i].status == st && m && t->events[i].date == m->date &&
		    strcmp(t->events[i].who, m->from) == 0)
			return NULL;
	t->events = kv_xrealloc(t->events, (t->nevents + 1) * sizeof(*t->events));
	struct digest_event *e = &t->events[t->nevents++];
	e->status = st;
	e->date = m ? m->date : 0;
	e->who = kv_xstrdup(m ? m->from : "");
	e->detail = kv_xstrdup(detail ? detail : "");
	e->branch = kv_xstrdup("");
	e->patches = NULL;
	e->npatches = 0;
	e->mail_number = m ? m->number : 0;
	t->status |= st;
	return e;
}

const char *facts_sender_name(const char *name, unsigned flags)
{
	return !name || (flags & MAIL_FROM_NAME_ADDR) ? "" : name;
}

/* who ("Name <addr>" or "addr") is from addr, ignoring case. */
static int text_has_addr(const char *who, const char *addr)
{
	const char *lt = strrchr(who, '<');
	size_t n = strlen(addr);
	if (lt)
		return strncasecmp(lt + 1, addr, n) == 0 && lt[1 + n] == '>';
	return strcasecmp(who, addr) == 0;
}

/* Fold decision sd into an earlier event of status bit from the same
 * address (no subset on either): its branch and commits are added. 1 when
 * folded. */
static int merge_acceptance(struct digest_thread *t, unsigned bit, const char *addr,
			    const struct status_decision *sd)
{
	for (size_t i = 0; i < t->nevents; i++) {
		struct digest_event *e = &t->events[i];
		if (e->status != bit || e->npatches || !text_has_addr(e->who, addr))
			continue;
		if (sd->branch && !strstr(e->branch, sd->branch)) {
			char *b = *e->branch ? kv_xasprintf("%s %s", e->branch, sd->branch)
					     : kv_xstrdup(sd->branch);
			free(e->branch);
			e->branch = b;
		}
		for (size_t c = 0; c < sd->commits.n; c++) {
			if (strstr(e->detail, sd->commits.v[c]))
				continue;
			char *d = *e->detail ? kv_xasprintf("%s %s", e->detail, sd->commits.v[c])
					     : kv_xstrdup(sd->commits.v[c]);
			free(e->detail);
			e->detail = d;
			if (!strv_has(&t->commits, sd->commits.v[c]))
				strv_push(&t->commits, sd->commits.v[c]);
		}
		return 1;
	}
	return 0;
}

static const char *trailer_key(enum trailer_kind k)
{
	return k == TR_REVIEWED ? "Reviewed-by" : k == TR_ACKED ? "Acked-by" : "Tested-by";
}

/* other: the trailer named the sender but gave another address */
static void review_add(struct digest_review *rv, enum trailer_kind k, const char *who, int other)
{
	struct strv *sv = k == TR_REVIEWED ? &rv->reviewed : k == TR_ACKED ? &rv->acked : &rv->tested;
	if (!strv_has(sv, who))
		strv_push(sv, who);
	if (other) {
		char *key = kv_xasprintf("%s: %s", trailer_key(k), who);
		if (!strv_has(&rv->other_addr, key))
			strv_push_owned(&rv->other_addr, key);
		else
			free(key);
	}
}

/* Display names equal ignoring ASCII case, double quotes and runs of
 * white space: "\"Marc  Zyngier\"" is Marc Zyngier. Empty names never match. */
static int names_equal(const char *a, const char *b)
{
	int any = 0;
	for (;;) {
		while (*a == '"' || *a == ' ' || *a == '\t')
			a++;
		while (*b == '"' || *b == ' ' || *b == '\t')
			b++;
		if (!*a || !*b)
			return !*a && !*b && any;
		/* one word each, compared without case */
		while (*a && *b && *a != '"' && *a != ' ' && *a != '\t' &&
		       tolower((unsigned char)*a) == tolower((unsigned char)*b)) {
			a++;
			b++;
		}
		int ea = !*a || *a == '"' || *a == ' ' || *a == '\t';
		int eb = !*b || *b == '"' || *b == ' ' || *b == '\t';
		if (!ea || !eb)
			return 0;
		any = 1;
	}
}

/* Whether a review trailer in x's own text is x's tag: given from the
 * sender's own address, or (*other = 1) naming the sender by display name
 * with another address (a typo, a second account). A tag that matches the
 * sender neither by address nor by name is someone else's: never credited. */
static int tag_is_senders(const struct trailer *tr, const struct member *x, int *other)
{
	*other = 0;
	if (tr->addr && strcasecmp(tr->addr, x->addr) == 0)
		return 1;
	if (tr->name && names_equal(tr->name, x->name)) {
		*other = 1;
		return 1;
	}
	return 0;
}

/* The commit message of a patch mail: its text up to the "---" line that
 * git format-patch writes before the diffstat, or to the first diff.
 * Carried tags stand there; the diff, the biggest part, is not analysed. */
static size_t commit_message_len(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n && p[n - 1] == '\r')
			n--;
		if ((n == 3 && memcmp(p, "---", 3) == 0) || (n >= 11 && memcmp(p, "diff --git ", 11) == 0))
			return (size_t)(p - text);
		p = nl ? nl + 1 : end;
	}
	return len;
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

/* The sender address git send-email puts in its Message-IDs
 * ("20201217141400.106137-1-jane@example.org": 14 digits, '.', digits,
 * '-', digits, '-', the address), or NULL. */
static const char *sendemail_id_addr(const char *id)
{
	const char *p = id;
	size_t n = 0;
	while (isdigit((unsigned char)p[n]))
		n++;
	if (n != 14 || p[n] != '.')
		return NULL;
	p += n + 1;
	for (int part = 0; part < 2; part++) {
		n = 0;
		while (isdigit((unsigned char)p[n]))
			n++;
		if (!n || p[n] != '-')
			return NULL;
		p += n + 1;
	}
	return strchr(p, '@') && *p != '@' ? p : NULL;
}

/* In a reply-only thread (its root is a reply, the posting is not stored)
 * the patch author is the sender named by the git send-email ids the root
 * references (the cover or patch it answers); NULL when none says. */
static const char *reply_only_author(const struct msg_rec *root)
{
	const char *x = root->refs.p, *a;
	for (uint32_t i = 0; i < root->refs.n; x += strlen(x) + 1, i++)
		if ((a = sendemail_id_addr(x)) != NULL)
			return a;
	return root->in_reply_to ? sendemail_id_addr(root->in_reply_to) : NULL;
}

/* Mail from a robot (kernel test robot, syzbot, CI): not a person's point. */
static int is_bot(const char *addr)
{
	return strcasecmp(addr, "lkp@intel.com") == 0 || strncasecmp(addr, "syzbot", 6) == 0 ||
	       strstr(addr, "-bot@") || strstr(addr, "noreply");
}

static struct digest_mail *window_mail(struct digest_thread *t, int number)
{
	for (size_t i = 0; i < t->nmails; i++)
		if (t->mails[i].number == number)
			return &t->mails[i];
	return NULL;
}

/* Whom window mail i answers (In-Reply-To, else the last References id,
 * as store_msg_parent reads them; never the subject) into its
 * digest_mail (nothing when i is not a window mail). */
static void facts_mail_parent(struct store_reader *r, struct digest_thread *t, struct member *ms, size_t n, int i)
{
	struct digest_mail *dm = ms[i].number > 0 ? window_mail(t, ms[i].number) : NULL;
	if (!dm)
		return;
	if (!ms[i].parent_known) {
		struct kv_err err;
		if (store_msg_parent(r, &ms[i].rec, &ms[i].parent, &err) < 0)
			ms[i].parent = 0;
		ms[i].parent_known = 1;
	}
	int p = ms[i].parent ? find_member(ms, n, ms[i].parent) : -1;
	dm->parent_number = p >= 0 ? ms[p].number : 0;
	free(dm->parent_from);
	dm->parent_from = kv_xstrdup(p < 0 ? "" : *ms[p].name ? ms[p].name : ms[p].addr);
}

/* The speaker rule's role of member x (extract.h): a maintainer took a
 * decision in the thread, a reviewer gave a tag in any of its mails. */
static enum extract_role member_role(const struct digest_thread *t, const struct member *ms, size_t nms,
				     const struct member *x, int author_known)
{
	for (size_t i = 0; i < t->nevents; i++)
		if ((t->events[i].status & (DST_APPLIED | DST_QUEUED | DST_NAK)) && strcmp(t->events[i].who, x->from) == 0)
			return EXR_MAINTAINER;
	if (author_known && strcasecmp(x->addr, t->root_addr) == 0)
		return EXR_AUTHOR;
	for (size_t i = 0; i < nms; i++)
		if (ms[i].gave_tag && strcasecmp(ms[i].addr, x->addr) == 0)
			return EXR_REVIEWER;
	return EXR_OTHER;
}

/* t->points: the best sentences of the window's human replies within the
 * thread's budget (extract.c). */
static void facts_points(struct digest_thread *t, struct member *ms, size_t nms, struct extract_mail *ems,
			 int author_known)
{
	struct extract_mail *v = kv_xcalloc(nms ? nms : 1, sizeof(*v));
	size_t nv = 0;
	for (size_t i = 0; i < nms; i++) {
		if (!ms[i].scanned)
			continue;
		ems[i].role = member_role(t, ms, nms, &ms[i], author_known);
		for (size_t k = 0; k < t->nevents; k++)
			if (t->events[k].mail_number == ms[i].number &&
			    (t->events[k].status & (DST_APPLIED | DST_QUEUED | DST_NAK | DST_CHANGES)))
				ems[i].decided = 1;
		v[nv++] = ems[i];   /* a view: ems keeps the sentences */
	}
	struct extract_point *pts = NULL;
	size_t np = 0;
	extract_select(v, nv, &pts, &np, &t->points_left);
	t->points = kv_xcalloc(np ? np : 1, sizeof(*t->points));
	for (size_t i = 0; i < np; i++) {
		t->points[i].number = pts[i].number;
		t->points[i].text = pts[i].text;   /* taken */
	}
	t->npoints = np;
	free(pts);
	free(v);
}

static int patch_cmp(const void *a, const void *b)
{
	const struct digest_patch *x = a, *y = b;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->date < y->date ? -1 : x->date > y->date;
}

/* What the root of a series version says it depends on ("based on",
 * "depends on", "on top of" next to a lore link; store/series.c decides,
 * the same rule that keeps such links from being version links), from the
 * root's text and its analysis bi. */
static void root_depends(struct digest_thread *t, const char *text, size_t len,
			 const struct body_info *bi)
{
	for (size_t i = 0; i < bi->links.n; i++) {
		uint64_t vmask;
		if (series_link_kind(text, len, bi->links.v[i], &vmask) == SERIES_LINK_DEP &&
		    !strv_has(&t->depends_on, bi->links.v[i]))
			strv_push(&t->depends_on, bi->links.v[i]);
	}
}

/* The same when the root is not among the mails read (dated at or after
 * the window's end, or missing): its text is read and analysed here. */
static int root_depends_read(struct store_reader *r, struct digest_thread *t, struct kv_err *err)
{
	const char *text = NULL;
	size_t len = 0;
	struct body_info bi;

	if (store_msg_text(r, t->root, &text, &len, err) < 0)
		return -1;
	memset(&bi, 0, sizeof(bi));
	body_analyze(text ? text : "", text ? len : 0, &bi);
	root_depends(t, text ? text : "", text ? len : 0, &bi);
	body_info_release(&bi);
	return 0;
}

int facts_thread(struct store_reader *r, const struct digest_opts *o, struct digest_thread *t,
		 const uint64_t *members, size_t n, struct kv_err *err)
{
	struct member *ms = kv_xcalloc(n ? n : 1, sizeof(*ms));
	struct body_info *bis = kv_xcalloc(n ? n : 1, sizeof(*bis));
	const char **texts = kv_xcalloc(n ? n : 1, sizeof(*texts));
	size_t *tlens = kv_xcalloc(n ? n : 1, sizeof(*tlens));
	struct extract_mail *ems = kv_xcalloc(n ? n : 1, sizeof(*ems));
	size_t nms = 0, nwin = 0, ncounted = 0;
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
		const char *shown = facts_sender_name(m.from_name, m.flags);
		x->from = text_person(shown, m.from_addr);
		x->addr = kv_xstrdup(m.from_addr);
		x->name = kv_xstrdup(shown);
		x->patch = -1;
		x->rec = m;   /* the parent is looked up only when a tag needs it */
		struct subject_info si;
		subject_parse(m.subject, &si);
		x->is_patch = si.patch && !si.reply && !si.forward;
		x->index = si.index;
		x->total = si.total;
		/* a backfilled mail (fetched from the archive: a root that
		 * predates the store) gives the thread its root, prose and
		 * patches, but is no traffic: it counts nowhere */
		int counted = !(m.flags & MAIL_BACKFILLED);
		ncounted += counted;
		if (counted && strcasecmp(m.from_addr, t->root_addr) != 0)
			t->others_mails++;
		if (!counted) {
			/* neither a window mail nor earlier activity */
		} else if (m.date >= o->since) {
			struct digest_mail *dm = &t->mails[t->nmails++];
			dm->number = x->number = (int)++nwin;
			dm->num = m.num;
			dm->date = m.date;
			dm->flags = m.flags;
			dm->message_id = kv_xstrdup(m.message_id);
			dm->subject = text_one_line(m.subject);
			dm->from_name = text_one_line(shown);
			dm->from_addr = text_one_line(m.from_addr);
			dm->is_patch = x->is_patch;
			dm->patch_index = si.index;
			if (!strv_has(&t->participants, x->from))
				strv_push(&t->participants, x->from);
		} else {
			t->earlier_mails++;
			if (!strv_has(&t->earlier_people, x->from))
				strv_push(&t->earlier_people, x->from);
		}
		if (x->is_patch) {
			struct digest_patch *p = &t->patches[t->npatches];
			p->index = si.index;
			p->total = si.total;
			p->date = m.date;
			p->message_id = kv_xstrdup(m.message_id);
			p->subject = text_one_line(m.subject);
			p->mail_number = x->number;
			x->patch = (int)t->npatches++;
		}
		if (store_msg_text(r, m.num, &texts[nms], &tlens[nms], err) < 0) {
			nms++;
			goto out;
		}
		/* A patch's own text states no status and gives no tag this week:
		 * only the trailers of its commit message are read (carried tags).
		 * Skipping the diff saves scanning the biggest mails. The root
		 * keeps its whole text for the diffstat and prose. */
		if (x->is_patch && m.num != t->root)
			tlens[nms] = commit_message_len(texts[nms], tlens[nms]);
		body_analyze(texts[nms] ? texts[nms] : "", texts[nms] ? tlens[nms] : 0, &bis[nms]);
		nms++;
	}
	/* as of the window's end: the thread's size and last date count only
	 * the mails dated before until, so rebuilding an old week after later
	 * mail arrived gives the same digest */
	t->total_count = (uint32_t)ncounted;
	t->last_date = t->first_date;
	for (size_t i = 0; i < nms; i++)
		if (ms[i].date > t->last_date)
			t->last_date = ms[i].date;

	/* a series root's dependencies, from the analysis made above (a
	 * reply-only thread's root is a reply: it states none) */
	if (t->series) {
		int ri = find_member(ms, nms, t->root);
		struct subject_info rsi;
		if (ri >= 0)
			subject_parse(ms[ri].rec.subject, &rsi);
		if (ri >= 0 && rsi.reply)
			;
		else if (ri >= 0)
			root_depends(t, texts[ri] ? texts[ri] : "", texts[ri] ? tlens[ri] : 0, &bis[ri]);
		else if (root_depends_read(r, t, err) < 0)
			goto out;
	}

	/* root / cover letter: diffstat and first paragraphs */
	{
		int ri = find_member(ms, nms, t->root);
		if (ri < 0 && nms)
			ri = 0;
		if (ri >= 0) {
			struct body_info *bi = &bis[ri];
			const char *rt = texts[ri] ? texts[ri] : "";
			struct subject_info si;
			subject_parse(ms[ri].rec.subject, &si);
			/* the first stored mail answers one the store never had */
			t->root_missing = si.reply || (ms[ri].rec.in_reply_to && *ms[ri].rec.in_reply_to);
			t->diff_files = bi->stat_files;
			t->diff_ins = bi->stat_ins;
			t->diff_del = bi->stat_del;
			if (t->root_missing) {
				/* never its own first line ("ping?"): what it quotes */
				t->root_prose = extract_quoted_about(rt, bi, 400);
				t->changes = kv_xstrdup("");
			} else {
				struct sbuf prose = SBUF_INIT;
				sbuf_adds(&prose, "");
				body_extract(rt, bi, 1u << SEG_PROSE, &prose);
				t->root_prose = facts_first_paragraphs(prose.buf, prose.len, 400);
				sbuf_release(&prose);
				t->changes = extract_changelog(rt, bi, 400);
				extract_results(rt, bi, 2, &t->results);
			}
		} else {
			t->root_prose = kv_xstrdup("");
			t->changes = kv_xstrdup("");
		}
	}

	/* whom the root was sent to: a patch author sends to the maintainers
	 * and reviewers of the code (digest.c, R10 roles) */
	{
		int ri = find_member(ms, nms, t->root);
		for (int l = 0; ri >= 0 && l < 2; l++) {
			const struct store_strs *sl = l ? &ms[ri].rec.cc : &ms[ri].rec.to;
			const char *x = sl->p;
			for (uint32_t k = 0; k < sl->n; x += strlen(x) + 1, k++) {
				const char *lt = strrchr(x, '<'), *gt = lt ? strchr(lt, '>') : NULL;
				char *a = lt && gt ? kv_xstrndup(lt + 1, (size_t)(gt - lt - 1)) : kv_xstrdup(x);
				for (char *c = a; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				if (*a && !strv_has(&t->addressed, a))
					strv_push_owned(&t->addressed, a);
				else
					free(a);
			}
		}
	}

	/* the root's sender wrote the patch, unless the root is itself a reply
	 * (a thread whose start predates the store): then the author is unknown */
	int author_known = 1;
	const char *guessed_author = NULL;
	{
		int ri = find_member(ms, nms, t->root);
		if (ri >= 0) {
			struct subject_info si;
			subject_parse(ms[ri].rec.subject, &si);
			author_known = !si.reply;
			if (!author_known)
				guessed_author = reply_only_author(&ms[ri].rec);
		}
	}

	/* pass 2: tags and status */
	for (size_t i = 0; i < nms; i++) {
		struct member *x = &ms[i];
		struct body_info *bi = &bis[i];
		int in_window = x->number > 0;
		if (in_window)
			facts_mail_parent(r, t, ms, nms, (int)i);
		for (size_t k = 0; k < bi->ntrailers; k++) {
			const struct trailer *tr = &bi->trailers[k];
			int review = tr->kind == TR_REVIEWED || tr->kind == TR_ACKED || tr->kind == TR_TESTED;
			if (tr->quoted)
				continue;
			/* in a patch's own trailers: tags carried from earlier versions */
			if (x->is_patch) {
				if (review && x->patch >= 0) {
					char *who = tr->addr ? text_person(tr->name, tr->addr) : text_one_line(tr->value);
					char *tag = kv_xasprintf("%s: %s", trailer_key(tr->kind), who);
					free(who);
					struct strv *cv = &t->patches[x->patch].carried;
					if (!strv_has(cv, tag))
						strv_push_owned(cv, tag);
					else
						free(tag);
				}
				continue;
			}
			if (tr->kind == TR_OTHER && tr->key && strcasecmp(tr->key, "Nacked-by") == 0 &&
			    tr->addr && strcasecmp(tr->addr, x->addr) == 0) {
				add_event(t, DST_NAK, x, "");
				continue;
			}
			int other;
			if (!review || !tag_is_senders(tr, x, &other))
				continue;
			int p = target_patch(r, ms, nms, (int)i);
			if (p < 0 && t->npatches == 1)
				p = 0;
			if (p < 0)
				continue;
			const struct digest_patch *tp = &t->patches[p];
			if (tp->index == 0) {
				for (size_t q = 0; q < t->npatches; q++)
					review_add(&t->patches[q].review, tr->kind, x->from, other);
			} else {
				review_add(&t->patches[p].review, tr->kind, x->from, other);
			}
			if (in_window) {
				char *line;
				const char *mark = other ? " (from another address)" : "";
				if (tp->index == 0)
					line = kv_xasprintf("%s: %s (series)%s", trailer_key(tr->kind), x->from, mark);
				else if (tp->index > 0)
					line = kv_xasprintf("%s: %s (%d/%d)%s", trailer_key(tr->kind), x->from,
							    tp->index, tp->total, mark);
				else
					line = kv_xasprintf("%s: %s%s", trailer_key(tr->kind), x->from, mark);
				if (!strv_has(&t->week_tags, line))
					strv_push_owned(&t->week_tags, line);
				else
					free(line);
			}
		}
		const char *text = texts[i] ? texts[i] : "";
		size_t tlen = texts[i] ? tlens[i] : 0;
		if (!x->is_patch && strcasecmp(x->addr, "lkp@intel.com") == 0 &&
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
		int gave_tag = 0;
		for (size_t k = 0; k < bi->ntrailers; k++)
			if (!bi->trailers[k].quoted && bi->trailers[k].addr &&
			    strcasecmp(bi->trailers[k].addr, x->addr) == 0 &&
			    (bi->trailers[k].kind == TR_REVIEWED || bi->trailers[k].kind == TR_ACKED))
				gave_tag = 1;
		x->gave_tag = gave_tag;
		if (in_window && !is_bot(x->addr) &&
		    (x->num != t->root || t->root_missing)) {
			/* what a person said: its sentences, scored (extract.c) */
			ems[i].number = x->number;
			extract_mail_scan(text, tlen, bi, &ems[i]);
			x->scanned = 1;
		}
		struct status_input in = {
			.prose = prose.buf, .len = prose.len, .subject = x->rec.subject,
			/* in a reply-only thread the patch author is not known;
			 * R3 of status.c still keeps "queued for v3" out */
			.from_author = author_known && strcasecmp(x->addr, t->root_addr) == 0,
			.patch_thread = t->category == CAT_PATCH || t->category == CAT_RFC ||
					t->category == CAT_PULL,
			.gave_tag = gave_tag,
			/* status.c R10: the patch author's own words are no
			 * change request, also where only the ids name the author */
			.no_change_request = !author_known && guessed_author &&
					     strcasecmp(x->addr, guessed_author) == 0,
		};
		struct status_result res;
		status_detect(&in, &res);
		sbuf_release(&prose);
		for (size_t d = 0; d < res.n; d++) {
			const struct status_decision *sd = &res.v[d];
			unsigned bit = status_bit(sd->kind);
			/* every objection is kept here: digest.c keeps the first
			 * one whose sender has a reviewer role (R10) */
			/* status.c R11: one acceptance of a kind per sender unless a subset */
			if (bit & (DST_APPLIED | DST_QUEUED) && !sd->npatches &&
			    merge_acceptance(t, bit, x->addr, sd))
				continue;
			struct sbuf det = SBUF_INIT;
			sbuf_adds(&det, "");
			for (size_t c = 0; c < sd->commits.n; c++) {
				sbuf_addf(&det, "%s%s", c ? " " : "", sd->commits.v[c]);
				if (!strv_has(&t->commits, sd->commits.v[c]))
					strv_push(&t->commits, sd->commits.v[c]);
			}
			struct digest_event *e = add_event(t, bit, x, det.buf);
			if (e && sd->branch && !*e->branch) {
				free(e->branch);
				e->branch = kv_xstrdup(sd->branch);
			}
			if (e && sd->npatches && !e->patches) {
				e->patches = kv_xmalloc(sd->npatches * sizeof(*e->patches));
				memcpy(e->patches, sd->patches, sd->npatches * sizeof(*e->patches));
				e->npatches = sd->npatches;
			}
			sbuf_release(&det);
		}
		status_result_release(&res);
	}
	/* a syzbot thread is a syzbot report even when only replies are in view */
	if (t->category == CAT_BUG && strstr(t->subject, "[syzbot]") && !(t->status & DST_SYZBOT))
		t->status |= DST_SYZBOT;

	/* a newer version of the series makes this one old: one event, naming
	 * the newest version posted before the window's end (v2 and v3 both
	 * out give "v3", dated when v3 was posted) */
	{
		const struct digest_version *newest = NULL;
		for (size_t v = 0; v < t->nversions; v++) {
			const struct digest_version *dv = &t->versions[v];
			if (dv->version > t->version && dv->date < o->until &&
			    (!newest || dv->version > newest->version ||
			     (dv->version == newest->version && dv->date > newest->date)))
				newest = dv;
		}
		if (newest) {
			char vn[32];
			snprintf(vn, sizeof(vn), "v%d", newest->version);
			struct member m = { 0 };
			m.date = newest->date;
			m.from = "";
			struct digest_event *e = add_event(t, DST_NEW_VERSION, &m, vn);
			if (e)
				e->mail_number = 0;
		}
	}
	/* a newer version answers the objections to this one (status.c R10) */
	if (t->status & DST_NEW_VERSION) {
		size_t k = 0;
		for (size_t i = 0; i < t->nevents; i++) {
			if (t->events[i].status == DST_CHANGES) {
				free(t->events[i].who);
				free(t->events[i].detail);
				free(t->events[i].branch);
				free(t->events[i].patches);
				continue;
			}
			t->events[k++] = t->events[i];
		}
		t->nevents = k;
		t->status &= ~DST_CHANGES;
	}
	qsort(t->patches, t->npatches, sizeof(*t->patches), patch_cmp);
	facts_points(t, ms, nms, ems, author_known);
	rc = 0;
out:
	for (size_t i = 0; i < nms; i++) {
		free(ms[i].from);
		free(ms[i].addr);
		free(ms[i].name);
		body_info_release(&bis[i]);
		extract_mail_release(&ems[i]);
	}
	free(ems);
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
		if (!rv->reviewed.n && !rv->acked.n && !rv->tested.n && !p->carried.n)
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
		for (size_t k = 0; k < p->carried.n; k++)
			sbuf_addf(&sb, " carried from an earlier version: %s;", p->carried.v[k]);
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
