/*
 * status.c - the decisions one mail states about a patch or pull request.
 * facts.c calls it once per reply with that reply's own new prose (quotes,
 * diffs, signatures and trailers already removed by body.c) and turns the
 * decisions into the digest's status events.
 *
 * The rules (keep this list in step with the code and tests/unit/t_status.c):
 *
 *  R1  Only the sender's own words count. Quoted text never reaches here;
 *      pasted command output is skipped: lines from a "$ " prompt line to
 *      the next blank line, and lines starting "Applying:", "Applied patch",
 *      "Checking patch", "Patch failed", "error:", "fatal:", "hint:",
 *      "patching file", "Hunk #", "Using index info", "Falling back",
 *      "Auto-merging", "CONFLICT". A pasted patch ("From <40 hex> Mon Sep 17
 *      ...", "From foo@baz ...", a "-- >8 --" scissors line) ends the prose.
 *  R2  Acceptance is a clause (text between . ! ? ; or a blank line) that
 *      starts, after filler words ("now", "thanks", "I've", "and",
 *      "rebased", "this series has been", "patches 1-3", ...), with one of
 *      applied / pushed / taken / took / picked (up) -> applied, queued ->
 *      queued, merged / pulled -> merged. So "Applied to fixes, thanks!",
 *      "Thanks, queued.", "Pulled, thanks.", "Rebased, and queued ...",
 *      "Merged into -next", "Picked up, thanks" count, while "with the
 *      series applied", "the patch applied cleanly" and "I'll queue it"
 *      do not. A question clause (ending in "?") never accepts.
 *  R3  Not an acceptance: the clause speaks of a later version ("for v3",
 *      "in v2" -- not a release such as "for v5.12"; "next version /
 *      revision / spin"), of testing ("test",
 *      "locally", "cleanly", "conflict"), or -- for the looser verbs pushed /
 *      taken / took / picked -- names no branch and says no "thanks".
 *  R4  The author's own acceptance counts only in the b4 thank-you format
 *      (an acceptance plus "commit: <id>" lines or "[n/m] subject" lines):
 *      that is a maintainer applying their own series; any other note of
 *      the author ("I've queued the fix for v2") is no decision.
 *  R5  A stable-queue notice ("... I've just added the patch titled ... to
 *      the 5.4-stable tree", or a subject 'Patch "..." has been added to the
 *      5.4-stable tree') is queued, branch "5.4-stable".
 *  R6  Branch: after the verb, the words following to / into / onto / in /
 *      on / via / through: the first word with a '/' (kvmarm-master/fixes,
 *      for-next/misc, arm/queue), else a well-known branch name (next,
 *      fixes, queue, master, main, devel, for-next, linux-next, "-next" =
 *      next, *-next, *-fixes, *-stable, misc-*, queue-*), else the word
 *      before "branch" / "tree" ("vfio next branch" -> next).
 *  R7  Commit ids, attached to the mail's acceptance: "commit: <id>" and
 *      "commit <id>" lines (b4 ty), git.kernel.org URLs ("/c/<id>",
 *      "id=<id>", "/commit/<id>"), and bare 12..40 hex words with a digit
 *      (not on a "Fixes:" line or beside a quoted commit title).
 *  R8  "(subset)" in the subject: only the patches of the "[n/m] subject"
 *      lines were taken; their indexes are the decision's patches.
 *  R9  NAK: a line starting with the word NAK / Nack, or an explicit
 *      rejection ("not going to take/apply/merge", "won't take", "this is
 *      done on purpose", "this is by design"). Never from
 *      the author, only on patch threads.
 *  R10 Changes requested: an objection to the design or a request to rework
 *      or resend, by someone other than the author on a patch thread, in a
 *      mail that gives no Reviewed-by/Acked-by (a tag with nits approves):
 *      "I don't think this is the right approach", "this is wrong", "this
 *      needs to ...", "please rework", "can you respin", "please send a
 *      v2", "wouldn't it be better", "should be squashed", "doesn't feel
 *      right", "not keen on", "not convinced", ... (the phrase list below).
 *      A suggestion asked as a question ("can we just ...?") or a bare
 *      preference ("I'd rather") is not one. Not from a sender facts.c
 *      names the patch author of a reply-only thread (no_change_request:
 *      the git send-email ids the thread references carry the author's
 *      address). Roles (digest.c, digest_change_requests): an objection
 *      counts only from a maintainer or reviewer -- someone the series
 *      root was sent to (To/Cc), or who applied/queued something or gave a
 *      Reviewed-by/Acked-by (in a reply or carried in a patch) in the
 *      digest's threads up to the window's end. Each thread keeps the
 *      first such objection, dropped once a newer version is posted.
 *      Measured on the dev corpus (31-reporter-facts.t): P 0.56 / R 0.61
 *      with phrases alone; 0.864 / 0.826 with the author from the ids, the
 *      roles and the last four phrases below (those four without the roles:
 *      0.714 / 0.870).
 *  R11 (facts.c) Acceptances of one kind from one sender address in a
 *      thread, none of them a "(subset)", are one event: the stable bot's
 *      notices for 5.4, 5.10, ... become one "queued" naming every tree.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include "status.h"
#include "banned.h"

const char *status_kind_name(enum status_kind k)
{
	static const char *const names[] = {
		"applied", "queued", "merged", "nak", "changes_requested",
	};
	if ((unsigned)k >= sizeof(names) / sizeof(*names))
		kv_panic("status_kind_name: %d out of range", (int)k);
	return names[k];
}

/* ---- small text helpers ---- */

static int starts_ci(const char *s, size_t len, const char *w)
{
	size_t n = strlen(w);
	return len >= n && strncasecmp(s, w, n) == 0;
}

static int is_hex_run(const char *s, size_t n, size_t min)
{
	if (n < min || n > 40)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int has_digit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isdigit((unsigned char)s[i]))
			return 1;
	return 0;
}

static void push_id(struct strv *sv, const char *s, size_t n)
{
	char *id = kv_xstrndup(s, n);
	for (char *p = id; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!strv_has(sv, id))
		strv_push_owned(sv, id);
	else
		free(id);
}

char *status_short_ids(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_adds(&sb, "");
	for (size_t i = 0; s[i];) {
		size_t n = 0;
		if (i == 0 || !isalnum((unsigned char)s[i - 1]))
			while (isxdigit((unsigned char)s[i + n]))
				n++;
		if (n > 12 && n <= 40 && !isalnum((unsigned char)s[i + n])) {
			sbuf_add(&sb, s + i, 12);
			i += n;
		} else {
			sbuf_addc(&sb, s[i]);
			i++;
		}
	}
	return sbuf_detach(&sb, NULL);
}

/* ---- R1: the sender's own lines ---- */

static int is_pasted_patch(const char *l, size_t n)
{
	if (starts_ci(l, n, "From ") && n >= 45 && is_hex_run(l + 5, 40, 40) && l[45] == ' ')
		return 1;
	if (starts_ci(l, n, "From foo@baz"))
		return 1;
	/* "-- >8 --", "---8<---": a scissors line */
	int dashes = 0, scissors = 0;
	for (size_t i = 0; i < n; i++) {
		if (l[i] == '-')
			dashes++;
		else if ((l[i] == '8' && i + 1 < n && (l[i + 1] == '<')) ||
			 (l[i] == '>' && i + 1 < n && l[i + 1] == '8'))
			scissors = 1;
		else if (l[i] != ' ' && l[i] != '<' && l[i] != '>' && l[i] != '8')
			return 0;
	}
	return scissors && dashes >= 2;
}

static int is_command_output(const char *l, size_t n)
{
	static const char *const heads[] = {
		"Applying:", "Applied patch", "Checking patch", "Patch failed", "error:",
		"fatal:", "hint:", "patching file", "Hunk #", "Using index info", "Falling back",
		"Auto-merging", "CONFLICT",
	};
	for (size_t i = 0; i < sizeof(heads) / sizeof(*heads); i++)
		if (starts_ci(l, n, heads[i]))
			return 1;
	return 0;
}

struct line {
	const char *s;
	size_t n;            /* trimmed; 0 = blank */
};

/* The prose's lines that are the sender's own words (R1). */
static size_t own_lines(const char *prose, size_t len, struct line **out)
{
	size_t cap = 16, nl = 0;
	struct line *v = kv_xmalloc(cap * sizeof(*v));
	int in_cmd = 0;
	for (const char *p = prose, *end = prose + len; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		const char *s = p, *t = e;
		p = e < end ? e + 1 : end;
		while (s < t && (*s == ' ' || *s == '\t'))
			s++;
		while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r'))
			t--;
		size_t n = (size_t)(t - s);
		if (is_pasted_patch(s, n))
			break;
		if (n == 0)
			in_cmd = 0;
		else if (starts_ci(s, n, "$ ") || (n == 1 && *s == '$'))
			in_cmd = 1;
		if (n && (in_cmd || is_command_output(s, n)))
			continue;
		if (nl == cap)
			v = kv_xrealloc(v, (cap *= 2) * sizeof(*v));
		v[nl].s = s;
		v[nl].n = n;
		nl++;
	}
	*out = v;
	return nl;
}

/* "[2/5] subject" (b4 ty): 2, or -1. */
static int listed_patch(const char *l, size_t n)
{
	if (n < 5 || l[0] != '[')
		return -1;
	size_t i = 1;
	int idx = 0;
	while (i < n && isdigit((unsigned char)l[i]) && idx < 100000)
		idx = idx * 10 + (l[i++] - '0');
	if (i == 1 || i >= n || l[i] != '/')
		return -1;
	size_t j = ++i;
	while (i < n && isdigit((unsigned char)l[i]))
		i++;
	if (i == j || i >= n || l[i] != ']')
		return -1;
	return idx;
}

/* ---- R7: commit ids on one line ---- */

static void line_commits(const char *l, size_t n, struct strv *tagged, struct strv *bare)
{
	/* "commit: <id>" / "commit <id>" */
	if (starts_ci(l, n, "commit:") || starts_ci(l, n, "commit ")) {
		size_t k = 6;
		while (k < n && (l[k] == ':' || l[k] == ' ' || l[k] == '\t'))
			k++;
		size_t h = 0;
		while (k + h < n && isxdigit((unsigned char)l[k + h]))
			h++;
		if (h >= 7 && h <= 40 && (k + h == n || !isalnum((unsigned char)l[k + h])))
			push_id(tagged, l + k, h);
	}
	/* git.kernel.org URLs */
	for (size_t i = 0; i + 15 <= n; i++) {
		if (strncasecmp(l + i, "git.kernel.org/", 15) != 0)
			continue;
		size_t e = i;
		while (e < n && l[e] != ' ' && l[e] != '>' && l[e] != ')')
			e++;
		static const char *const marks[] = { "/c/", "id=", "/commit/" };
		for (size_t m = 0; m < 3; m++) {
			size_t ml = strlen(marks[m]);
			for (size_t k = i; k + ml <= e; k++) {
				if (strncmp(l + k, marks[m], ml) != 0)
					continue;
				size_t h = 0;
				while (k + ml + h < e && isxdigit((unsigned char)l[k + ml + h]))
					h++;
				if (h >= 7 && h <= 40)
					push_id(tagged, l + k + ml, h);
			}
		}
		i = e;
	}
	/* bare ids; not a "Fixes:" reference nor an id beside a quoted title */
	if (starts_ci(l, n, "fixes:") || memmem(l, n, "(\"", 2))
		return;
	for (size_t i = 0; i < n;) {
		if (i && (isalnum((unsigned char)l[i - 1]) || l[i - 1] == '/' || l[i - 1] == '=')) {
			i++;
			continue;
		}
		size_t h = 0;
		while (i + h < n && isxdigit((unsigned char)l[i + h]))
			h++;
		if (h >= 12 && h <= 40 && (i + h == n || !isalnum((unsigned char)l[i + h])) &&
		    has_digit(l + i, h))
			push_id(bare, l + i, h);
		i += h ? h : 1;
	}
}

/* ---- the normalised text: lowercase, one space, clause ends kept ---- */

static char *normalise(const struct line *ls, size_t nl, size_t *outlen)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_adds(&sb, "");
	for (size_t i = 0; i < nl; i++) {
		if (!ls[i].n) {
			if (sb.len && sb.buf[sb.len - 1] != '.')
				sbuf_adds(&sb, " .");
			continue;
		}
		/* b4's "[n/m] subject" lines name patches, they say nothing */
		if (listed_patch(ls[i].s, ls[i].n) >= 0)
			continue;
		if (sb.len)
			sbuf_addc(&sb, ' ');
		for (size_t k = 0; k < ls[i].n; k++) {
			unsigned char c = (unsigned char)ls[i].s[k];
			/* U+2019 right single quotation mark -> ' */
			if (c == 0xe2 && k + 2 < ls[i].n && (unsigned char)ls[i].s[k + 1] == 0x80 &&
			    (unsigned char)ls[i].s[k + 2] == 0x99) {
				sbuf_addc(&sb, '\'');
				k += 2;
				continue;
			}
			if (c == '\t')
				c = ' ';
			if (c == ' ' && sb.len && sb.buf[sb.len - 1] == ' ')
				continue;
			sbuf_addc(&sb, (char)tolower(c));
		}
	}
	return sbuf_detach(&sb, outlen);
}

static int has(const char *s, size_t n, const char *w)
{
	return memmem(s, n, w, strlen(w)) != NULL;
}

/* ---- R2, R3, R6: acceptance clauses ---- */

struct word {
	const char *s;
	size_t n;
};

static size_t split_words(const char *s, size_t n, struct word *w, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < max;) {
		while (i < n && s[i] == ' ')
			i++;
		size_t b = i;
		while (i < n && s[i] != ' ')
			i++;
		if (i > b) {
			w[k].s = s + b;
			w[k].n = i - b;
			k++;
		}
	}
	return k;
}

/* w without leading ( " ' ` and trailing , . ) : ! " ' ` */
static struct word clean(struct word w)
{
	while (w.n && strchr("(\"'`[", *w.s)) {
		w.s++;
		w.n--;
	}
	while (w.n && strchr(",.):!\"'`]", w.s[w.n - 1]))
		w.n--;
	return w;
}

static int word_is(struct word w, const char *x)
{
	w = clean(w);
	return w.n == strlen(x) && memcmp(w.s, x, w.n) == 0;
}

static int word_in(struct word w, const char *const *list)
{
	for (; *list; list++)
		if (word_is(w, *list))
			return 1;
	return 0;
}

static int ends_with(struct word w, const char *x)
{
	size_t n = strlen(x);
	return w.n > n && memcmp(w.s + w.n - n, x, n) == 0;
}

/* A branch name per R6, or NULL. */
static char *branch_word(struct word w, struct word next, int has_next)
{
	static const char *const known[] = {
		"next", "fixes", "queue", "master", "main", "devel", "for-next", "linux-next",
		"-next", NULL,
	};
	w = clean(w);
	if (!w.n || has(w.s, w.n, "://") || w.s[0] == '<')
		return NULL;
	if (memchr(w.s, '/', w.n)) {
		while (w.n && w.s[w.n - 1] == '/')
			w.n--;
		return w.n ? kv_xstrndup(w.s, w.n) : NULL;
	}
	if (word_in(w, known))
		return kv_xstrndup(w.s[0] == '-' ? w.s + 1 : w.s, w.s[0] == '-' ? w.n - 1 : w.n);
	if (ends_with(w, "-next") || ends_with(w, "-fixes") || ends_with(w, "-stable") ||
	    starts_ci(w.s, w.n, "misc-") || starts_ci(w.s, w.n, "queue-"))
		return kv_xstrndup(w.s, w.n);
	if (has_next && (word_is(next, "branch") || word_is(next, "branches")))
		return kv_xstrndup(w.s, w.n);
	return NULL;
}

static char *find_branch(const struct word *w, size_t nw, size_t from)
{
	static const char *const preps[] = { "to", "into", "onto", "in", "on", "via", "through", NULL };
	static const char *const skip[] = { "the", "my", "our", "his", "her", "their", "out", NULL };
	static const char *const stop[] = { "for", "and", "with", "after", "thanks", "once", "as", NULL };
	for (size_t i = from; i < nw && i < from + 8; i++) {
		if (!word_in(w[i], preps))
			continue;
		for (size_t k = i + 1, seen = 0; k < nw && seen < 4; k++) {
			if (word_in(w[k], skip))
				continue;
			if (word_in(w[k], stop))
				break;
			char *b = branch_word(w[k], k + 1 < nw ? w[k + 1] : w[k], k + 1 < nw);
			if (b)
				return b;
			seen++;
		}
	}
	return NULL;
}

/* One clause (no . ! ? ; inside): an acceptance kind or -1; *branch. */
static int clause_accepts(const char *c, size_t n, int question, char **branch)
{
	static const char *const fillers[] = {
		"now", "so", "ok", "okay", "great", "thanks", "thank", "you", "and", "also", "i've",
		"ive", "i", "have", "has", "had", "been", "just", "finally", "rebased", "then",
		"hence", "both", "all", "whole", "series", "patches", "patch", "this", "these",
		"it", "is", "are", "hi", "well", "cool", "nice", "first", "v2", "v3", "v4", "v5",
		NULL,
	};
	struct word w[64];
	size_t nw = split_words(c, n, w, 64), i = 0;
	*branch = NULL;
	if (question)
		return -1;
	/* patch numbers ("patches 1-3,5") are fillers too */
	while (i < nw) {
		struct word x = clean(w[i]);
		int num = x.n > 0;
		for (size_t k = 0; k < x.n; k++)
			if (!isdigit((unsigned char)x.s[k]) && x.s[k] != '-' && x.s[k] != ',' && x.s[k] != '/')
				num = 0;
		if (!word_in(w[i], fillers) && !num)
			break;
		i++;
	}
	if (i >= nw)
		return -1;
	int kind = -1, loose = 0;
	struct word v = clean(w[i]);
	if (word_is(v, "applied"))
		kind = SK_APPLIED;
	else if (word_is(v, "queued"))
		kind = SK_QUEUED;
	else if (word_is(v, "merged") || word_is(v, "pulled"))
		kind = SK_MERGED;
	else if (word_is(v, "pushed") || word_is(v, "taken") || word_is(v, "took") ||
		 word_is(v, "picked"))
		kind = SK_APPLIED, loose = 1;
	if (kind < 0)
		return -1;
	/* R3 */
	static const char *const later[] = {
		"next version", "next revision", "next spin", "next respin", "next iteration",
		"test", "locally", "local tree", "cleanly", "conflict",
	};
	for (size_t k = 0; k < sizeof(later) / sizeof(*later); k++)
		if (has(c, n, later[k]))
			return -1;
	for (size_t k = i + 1; k < nw; k++) {
		struct word x = clean(w[k]);
		/* "for v3" is a later version of the series; "for v5.12" a release */
		if ((word_is(w[k - 1], "for") || word_is(w[k - 1], "in")) && x.n >= 2 && x.s[0] == 'v' &&
		    isdigit((unsigned char)x.s[1]) && !memchr(x.s, '.', x.n))
			return -1;
	}
	*branch = find_branch(w, nw, i + 1);
	if (loose && !*branch && !has(c, n, "thank"))
		return -1;
	return kind;
}

/* ---- R9, R10: phrases ---- */

static const char *const reject_phrases[] = {
	"not going to take", "not going to apply", "not going to merge", "won't take this",
	"won't apply this", "won't merge this", "will not take this", "will not apply this",
	"not taking this", "not applying this", "not merging this", "done on purpose",
	"this is by design", "is on purpose",
};

/* Generic reviewer idioms; a suggestion asked as a question ("can we
 * just ...?") or a preference ("I'd rather") alone is not an objection. */
static const char *const change_phrases[] = {
	/* design objections */
	"don't think this is the right", "not the right approach", "not the right way",
	"wrong approach", "this is wrong", "this is not correct", "is the wrong", "are wrong",
	"doesn't feel right", "does not feel right", "doesn't look right", "does not look right",
	"not keen on", "not convinced", "wouldn't it be better", "it would be better to",
	"how about this instead", "there is no need for", "no need for this", "one issue with",
	"there is one issue", "a number of issues", "several issues", "this conflicts with",
	"this is broken",
	/* rework / resend requests */
	"this needs to", "needs to be fixed", "needs to be reworked", "needs to be squashed",
	"should be squashed", "please squash", "please rework", "needs rework", "needs more work",
	"can you rework", "please respin", "can you respin", "needs a respin", "spin a v",
	"send a v", "post a v", "please resend", "please fix", "please split", "please address",
	"please get rid of", "please drop", "changes requested", "this needs to change",
	"can you quantify", "please measure", "can you measure", "you need to", "you should",
	"i would prefer", "can you try to",
	/* with R10's roles (digest.c) */
	"conflicts with", "probably needs to", "out of control", "we need better",
};

static int any_phrase(const char *s, size_t n, const char *const *list, size_t nlist)
{
	for (size_t i = 0; i < nlist; i++)
		if (has(s, n, list[i]))
			return 1;
	return 0;
}

/* ---- the decision list ---- */

static struct status_decision *add(struct status_result *r, enum status_kind k)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].kind == k)
			return &r->v[i];
	r->v = kv_xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	struct status_decision *d = &r->v[r->n++];
	memset(d, 0, sizeof(*d));
	d->kind = k;
	return d;
}

/* R5: "... has been added to the 5.4-stable tree" -> "5.4-stable" */
static char *stable_branch(const char *s, size_t n)
{
	const char *p = memmem(s, n, "-stable tree", 12);
	if (!p)
		return NULL;
	const char *b = p;
	while (b > s && b[-1] != ' ')
		b--;
	return kv_xstrndup(b, (size_t)(p - b) + 7);
}

void status_detect(const struct status_input *in, struct status_result *out)
{
	memset(out, 0, sizeof(*out));
	struct line *ls;
	size_t nl = own_lines(in->prose ? in->prose : "", in->prose ? in->len : 0, &ls);
	struct strv tagged = STRV_INIT, bare = STRV_INIT;
	int nak_line = 0;
	int *listed = NULL;
	size_t nlisted = 0;
	for (size_t i = 0; i < nl; i++) {
		const char *l = ls[i].s;
		size_t n = ls[i].n;
		if (!n)
			continue;
		int idx = listed_patch(l, n);
		if (idx >= 0) {
			listed = kv_xrealloc(listed, (nlisted + 1) * sizeof(*listed));
			listed[nlisted++] = idx;
			continue;
		}
		line_commits(l, n, &tagged, &bare);
		if ((starts_ci(l, n, "nak") && (n == 3 || !isalpha((unsigned char)l[3]))) ||
		    (starts_ci(l, n, "nack") && (n == 4 || !isalpha((unsigned char)l[4]))))
			nak_line = 1;
	}
	size_t tn;
	char *text = normalise(ls, nl, &tn);
	free(ls);

	/* R2..R6 over the clauses */
	int b4_format = tagged.n > 0 || nlisted > 0;
	char *subject_low = kv_xstrdup(in->subject ? in->subject : "");
	for (char *p = subject_low; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	size_t sl = strlen(subject_low);
	int stable = (has(text, tn, "added the patch") && has(text, tn, "stable tree")) ||
		     (has(subject_low, sl, "has been added to the") && has(subject_low, sl, "stable tree"));
	if (stable && !in->from_author) {
		struct status_decision *d = add(out, SK_QUEUED);
		d->branch = stable_branch(subject_low, sl);
		if (!d->branch)
			d->branch = stable_branch(text, tn);
	}
	for (size_t i = 0; i < tn && !stable;) {
		size_t e = i;
		while (e < tn && !((text[e] == '.' || text[e] == '!' || text[e] == '?' || text[e] == ';') &&
				   (e + 1 == tn || text[e + 1] == ' ')))
			e++;
		char *branch;
		int k = clause_accepts(text + i, e - i, e < tn && text[e] == '?', &branch);
		if (k >= 0 && (!in->from_author || b4_format)) {
			struct status_decision *d = add(out, (enum status_kind)k);
			if (!d->branch)
				d->branch = branch, branch = NULL;
		}
		free(branch);
		i = e + 1;
	}
	/* R7, R8: ids and subset go with the first acceptance */
	for (size_t i = 0; i < out->n; i++) {
		struct status_decision *d = &out->v[i];
		if (d->kind != SK_APPLIED && d->kind != SK_QUEUED && d->kind != SK_MERGED)
			continue;
		for (size_t c = 0; c < tagged.n; c++)
			if (!strv_has(&d->commits, tagged.v[c]))
				strv_push(&d->commits, tagged.v[c]);
		for (size_t c = 0; c < bare.n; c++)
			if (!strv_has(&d->commits, bare.v[c]))
				strv_push(&d->commits, bare.v[c]);
		if (nlisted && has(subject_low, sl, "(subset)")) {
			d->patches = listed;
			d->npatches = nlisted;
			listed = NULL;
		}
		break;
	}
	/* R9, R10 */
	if (!in->from_author && in->patch_thread) {
		if (nak_line || any_phrase(text, tn, reject_phrases,
					   sizeof(reject_phrases) / sizeof(*reject_phrases)))
			add(out, SK_NAK);
		else if (!in->gave_tag && !in->no_change_request && !out->n &&
			 any_phrase(text, tn, change_phrases, sizeof(change_phrases) / sizeof(*change_phrases)))
			add(out, SK_CHANGES);
	}
	free(listed);
	free(subject_low);
	free(text);
	strv_release(&tagged);
	strv_release(&bare);
}

void status_result_release(struct status_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].branch);
		strv_release(&r->v[i].commits);
		free(r->v[i].patches);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}
