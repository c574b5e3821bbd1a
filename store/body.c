/*
 * body.c - reading the structure of a kernel-list mail body: quoted text
 * (with its "On ... wrote:" line), signature, diffstat, diff hunks, trailer
 * blocks and "changes since vN" notes; everything else is the sender's own
 * prose. The reporter counts review tags from the trailers and hands only
 * prose and change notes to the LLM, so a misfiled quote or diff costs
 * tokens and a misfiled trailer miscounts reviews.
 *
 * One pass classifies each line with a small state machine (diffs are
 * followed hunk by hunk using the "@@ -a,b +c,d @@" line counts, so a "-- "
 * removal inside a hunk is not taken for a signature), a second pass fixes
 * up attribution lines and trailer blocks, and a last pass merges runs of
 * lines into segments. Pure text processing: no gmime, no lmdb.
 *
 * size: over 900 lines on purpose: the three passes share one line-shape
 * vocabulary and the per-line state array; split apart, every pass would
 * need the others' internals through a header, for no reader's benefit.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "banned.h"

const char *seg_kind_name(enum seg_kind k)
{
	switch (k) {
	case SEG_PROSE: return "prose";
	case SEG_QUOTE: return "quote";
	case SEG_SIGNATURE: return "signature";
	case SEG_DIFFSTAT: return "diffstat";
	case SEG_DIFF: return "diff";
	case SEG_TRAILER: return "trailer";
	case SEG_CHANGES: return "changes";
	}
	kv_panic("seg_kind_name: unknown kind %d", (int)k);
}

struct line {
	const char *s;     /* start of the line */
	size_t len;        /* without the newline (and a CR before it) */
	size_t off, end;   /* byte range including the newline */
	int kind;          /* enum seg_kind */
	int blank;
};

/* ---------------------------------------------------------------------
 * Small string helpers on (s, n) slices.
 */

static int starts(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);
	return n >= pl && !memcmp(s, p, pl);
}

static int istarts(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);
	return n >= pl && !strncasecmp(s, p, pl);
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

static size_t rtrim_len(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

static int ends_with(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);
	n = rtrim_len(s, n);
	return n >= pl && !strncasecmp(s + n - pl, p, pl);
}

static const char *find(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);
	if (pl > n)
		return NULL;
	return memmem(s, n, p, pl);
}

static int is_quote(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && i < 3 && s[i] == ' ')
		i++;
	return i < n && s[i] == '>';
}

/* ---------------------------------------------------------------------
 * Line shapes.
 */

/* " path/to/file.c | 12 ++++--" or " file | Bin 0 -> 12 bytes" */
static int is_diffstat_line(const char *s, size_t n)
{
	const char *bar;
	size_t i;
	if (n < 5 || s[0] != ' ')
		return 0;
	bar = find(s, n, " | ");
	if (!bar || is_blank(s, (size_t)(bar - s)))
		return 0;
	i = (size_t)(bar - s) + 3;
	while (i < n && s[i] == ' ')
		i++;
	if (starts(s + i, n - i, "Bin"))
		return 1;
	if (i >= n || !isdigit((unsigned char)s[i]))
		return 0;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	while (i < n && s[i] == ' ')
		i++;
	while (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	return rtrim_len(s + i, n - i) == 0;
}

/* " 3 files changed, 10 insertions(+), 2 deletions(-)" */
static int is_diffstat_summary(const char *s, size_t n, int *files, int *ins, int *del)
{
	size_t i = 0;
	char buf[160];
	const char *p;
	while (i < n && s[i] == ' ')
		i++;
	if (i >= n || !isdigit((unsigned char)s[i]) || n - i >= sizeof(buf))
		return 0;
	memcpy(buf, s + i, n - i);
	buf[n - i] = '\0';
	char *e;
	long f = strtol(buf, &e, 10);
	if (strncmp(e, " file changed", 13) && strncmp(e, " files changed", 14))
		return 0;
	*files = (int)f;
	*ins = *del = 0;
	if ((p = strstr(buf, "insertion")) && p > buf) {
		const char *q = p - 1;
		while (q > buf && *q == ' ')
			q--;
		while (q > buf && isdigit((unsigned char)q[-1]))
			q--;
		*ins = atoi(q);
	}
	if ((p = strstr(buf, "deletion")) && p > buf) {
		const char *q = p - 1;
		while (q > buf && *q == ' ')
			q--;
		while (q > buf && isdigit((unsigned char)q[-1]))
			q--;
		*del = atoi(q);
	}
	return 1;
}

/* " create mode 100644 x", " delete mode", " rename ...", " mode change" */
static int is_diffstat_extra(const char *s, size_t n)
{
	return starts(s, n, " create mode ") || starts(s, n, " delete mode ") ||
	       starts(s, n, " rename ") || starts(s, n, " mode change ") || starts(s, n, " copy ");
}

/* The first line of a diff, given the line after it. */
static int is_diff_start(const struct line *l, const struct line *next)
{
	if (starts(l->s, l->len, "diff --git ") || starts(l->s, l->len, "diff -"))
		return 1;
	if (next && starts(l->s, l->len, "--- ") && starts(next->s, next->len, "+++ "))
		return 1;
	if (next && starts(l->s, l->len, "Index: ") && starts(next->s, next->len, "===="))
		return 1;
	/* the "--- a/x" line lost or mangled by a mail client */
	if (next && starts(l->s, l->len, "+++ ") && starts(next->s, next->len, "@@ -"))
		return 1;
	return 0;
}

/* Header lines between "diff --git" and the first hunk. */
static int is_diff_header(const char *s, size_t n)
{
	static const char *const pfx[] = {
		"diff ", "index ", "--- ", "+++ ", "new file mode", "deleted file mode",
		"old mode", "new mode", "similarity index", "dissimilarity index",
		"rename from", "rename to", "copy from", "copy to", "Binary files",
		"GIT binary patch", "literal ", "delta ", "Index: ", "====", NULL };
	for (size_t i = 0; pfx[i]; i++)
		if (starts(s, n, pfx[i]))
			return 1;
	return 0;
}

/* "@@ -a[,b] +c[,d] @@": old and new line counts. */
static int parse_hunk(const char *s, size_t n, long *old, long *new)
{
	char buf[128];
	char *p, *e;
	if (!starts(s, n, "@@ -"))
		return 0;
	size_t m = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;
	memcpy(buf, s, m);
	buf[m] = '\0';
	p = buf + 4;
	strtol(p, &e, 10);
	if (e == p)
		return 0;
	*old = 1;
	if (*e == ',')
		*old = strtol(e + 1, &e, 10);
	while (*e == ' ')
		e++;
	if (*e != '+')
		return 0;
	p = e + 1;
	strtol(p, &e, 10);
	if (e == p)
		return 0;
	*new = 1;
	if (*e == ',')
		*new = strtol(e + 1, &e, 10);
	return 1;
}

enum tr_class { TRC_NONE, TRC_GENERIC, TRC_KNOWN };

/*
 * "Key: value" at the start of s (leading blanks allowed). Sets the key
 * and value ranges; returns TRC_KNOWN for the tags reviewers use,
 * TRC_GENERIC for any other well-formed key, TRC_NONE otherwise.
 */
static enum tr_class trailer_shape(const char *s, size_t n, size_t *k0, size_t *kn, size_t *v0)
{
	static const char *const known[] = {
		"signed-off-by", "reviewed-by", "acked-by", "tested-by", "reported-by",
		"suggested-by", "fixes", "link", "change-id", "cc", "closes",
		"base-commit", "prerequisite-patch-id", NULL };
	size_t i = 0, k;
	while (i < n && i < 4 && (s[i] == ' ' || s[i] == '\t'))
		i++;
	k = i;
	if (i >= n || !isalpha((unsigned char)s[i]))
		return TRC_NONE;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
		i++;
	if (i >= n || s[i] != ':' || i - k > 40)
		return TRC_NONE;
	*k0 = k;
	*kn = i - k;
	i++;
	if (i < n && s[i] != ' ' && s[i] != '\t')
		return TRC_NONE;    /* "http://..." and the like */
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= n)
		return TRC_NONE;
	*v0 = i;
	for (size_t j = 0; known[j]; j++)
		if (strlen(known[j]) == *kn && !strncasecmp(s + k, known[j], *kn))
			return TRC_KNOWN;
	if (*kn > 3 && !strncasecmp(s + k + *kn - 3, "-by", 3))
		return TRC_KNOWN;
	return TRC_GENERIC;
}

/* Keys that mean a pasted mail header, not a trailer block. */
static int is_header_key(const char *s, size_t n)
{
	static const char *const keys[] = { "from", "to", "subject", "date", "message-id", "in-reply-to", NULL };
	for (size_t j = 0; keys[j]; j++)
		if (strlen(keys[j]) == n && !strncasecmp(s, keys[j], n))
			return 1;
	return 0;
}

/* Skip a leading bullet ("- ", "* ", "+ ", "o ") and blanks. */
static size_t skip_bullet(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i + 1 < n && (s[i] == '-' || s[i] == '*' || s[i] == '+' || s[i] == 'o') && s[i + 1] == ' ')
		i += 2;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* "vN" at s: returns chars used, 0 if none. */
static size_t version_at(const char *s, size_t n)
{
	size_t i = 0;
	if (istarts(s, n, "rfc")) {
		i = 3;
		while (i < n && (s[i] == ' ' || s[i] == '-'))
			i++;
		if (i < n && (s[i] == 'v' || s[i] == 'V') && i + 1 < n && isdigit((unsigned char)s[i + 1]))
			i++;
		else
			return i < n && isdigit((unsigned char)s[i]) ? i : 3;
	} else if (i < n && (s[i] == 'v' || s[i] == 'V') && i + 1 < n && isdigit((unsigned char)s[i + 1])) {
		i++;
	} else {
		return 0;
	}
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	return i;
}

/*
 * The first line of a version-notes block: "Changes since v2:",
 * "Changes in v3:", "Changelog:", "v2 -> v3:", "v1..v2:", "v3:",
 * "Since v1:", "Changes from RFC:", possibly after a bullet.
 */
static int is_changes_header(const char *s, size_t n)
{
	size_t i = skip_bullet(s, n), m;
	const char *p = s + i;
	size_t pn = rtrim_len(p, n - i);

	if (pn == 0 || pn > 100)
		return 0;
	/* "Changes ...", "Changelog", "Change log", "Change since/from/in vN",
	 * but not an imperative "Change the foo to bar:" */
	if (istarts(p, pn, "changes") || istarts(p, pn, "changelog") || istarts(p, pn, "change log") ||
	    istarts(p, pn, "change-log") || istarts(p, pn, "change history") || istarts(p, pn, "change since") ||
	    istarts(p, pn, "change from") || istarts(p, pn, "change in v") || istarts(p, pn, "change(s)")) {
		int colon = p[pn - 1] == ':';
		const char *v = p;
		int hasv = 0;
		for (size_t j = 0; j + 1 < pn; j++)
			if ((v[j] == 'v' || v[j] == 'V') && isdigit((unsigned char)v[j + 1]) &&
			    (j == 0 || !isalpha((unsigned char)v[j - 1])))
				hasv = 1;
		return (colon && pn < 70) || (hasv && pn < 70 && !find(p, pn, ". "));
	}
	if (istarts(p, pn, "since ") || istarts(p, pn, "from ")) {
		size_t k = p[0] == 's' || p[0] == 'S' ? 6 : 5;
		return version_at(p + k, pn - k) > 0 && p[pn - 1] == ':';
	}
	m = version_at(p, pn);
	if (m == 0)
		return 0;
	p += m;
	pn -= m;
	while (pn && *p == ' ')
		p++, pn--;
	if (pn && *p == ':')
		return 1;                            /* "v3:" or "v3: did x" */
	if (pn >= 2 && (!strncmp(p, "->", 2) || !strncmp(p, "..", 2) || !strncmp(p, "=>", 2))) {
		p += 2, pn -= 2;
	} else if (pn >= 3 && !strncmp(p, "\xe2\x86\x92", 3)) {   /* → */
		p += 3, pn -= 3;
	} else if (pn >= 3 && !strncasecmp(p, "to ", 3)) {
		p += 3, pn -= 3;
	} else if (pn >= 1 && *p == '-') {
		p += 1, pn -= 1;
	} else {
		return 0;
	}
	while (pn && *p == ' ')
		p++, pn--;
	return version_at(p, pn) > 0;
}

/* An attribution line: "On Mon, 1 Feb 2021, X wrote:", "X <x@y> writes:" */
static int is_attribution(const char *s, size_t n)
{
	size_t t = rtrim_len(s, n);
	if (t == 0 || t > 300)
		return 0;
	if (ends_with(s, t, "wrote:") || ends_with(s, t, "writes:") || ends_with(s, t, "wrote :") ||
	    ends_with(s, t, "said:"))
		return 1;
	/* "On 2021-01-25 13:15, Suzuki K Poulose:" but not "On the save path:" */
	if (!((istarts(s, t, "On ") || istarts(s, t, "Quoting ") || istarts(s, t, "Le ") ||
	       istarts(s, t, "Am ")) && s[t - 1] == ':'))
		return 0;
	for (size_t i = 0; i < t; i++)
		if (isdigit((unsigned char)s[i]))
			return 1;
	return 0;
}

/* "-----Original Message-----" (Outlook) */
static int is_original_marker(const char *s, size_t n)
{
	size_t i = 0;
	n = rtrim_len(s, n);
	while (i < n && (s[i] == '-' || s[i] == ' '))
		i++;
	return i >= 3 && istarts(s + i, n - i, "original message") && s[n - 1] == '-';
}

static int is_snip(const char *s, size_t n)
{
	size_t i = 0;
	n = rtrim_len(s, n);
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	s += i;
	n -= i;
	return (n == 3 && !memcmp(s, "...", 3)) || (n >= 3 && s[0] == '[' && s[n - 1] == ']' &&
						    (find(s, n, "...") || find(s, n, "snip"))) ||
	       (n >= 6 && s[0] == '<' && s[n - 1] == '>' && find(s, n, "snip"));
}

/* The footer mailman appends: a rule of underscores, then "<list> mailing list". */
static int is_list_footer(const struct line *l, size_t i, size_t n)
{
	size_t len = rtrim_len(l[i].s, l[i].len);
	if (len < 20 || i + 1 >= n)
		return 0;
	for (size_t k = 0; k < len; k++)
		if (l[i].s[k] != '_')
			return 0;
	return ends_with(l[i + 1].s, l[i + 1].len, "mailing list");
}

/* ---------------------------------------------------------------------
 * Collecting facts.
 */

/* Enough for a treewide patch; keeps the unique check from going quadratic. */
#define BODY_MAX_LIST 4096

static void strv_add_unique(struct strv *sv, const char *s, size_t n)
{
	if (n == 0 || sv->n >= BODY_MAX_LIST)
		return;
	for (size_t i = 0; i < sv->n; i++)
		if (strlen(sv->v[i]) == n && !memcmp(sv->v[i], s, n))
			return;
	strv_push_owned(sv, kv_xstrndup(s, n));
}

static void note_diff_file(struct body_info *bi, const struct line *l)
{
	const char *s = l->s, *p;
	size_t n = l->len;
	if (starts(s, n, "diff --git ")) {
		/* "diff --git a/X b/X": the b side */
		p = find(s + 11, n - 11, " b/");
		if (p) {
			p += 3;
			strv_add_unique(&bi->diff_files, p, rtrim_len(p, (size_t)(s + n - p)));
		}
		return;
	}
	if (starts(s, n, "+++ ") || starts(s, n, "--- ")) {
		p = s + 4;
		size_t pn = n - 4;
		const char *tab = memchr(p, '\t', pn);
		if (tab)
			pn = (size_t)(tab - p);
		pn = rtrim_len(p, pn);
		if (starts(p, pn, "/dev/null"))
			return;
		if (starts(p, pn, "a/") || starts(p, pn, "b/"))
			p += 2, pn -= 2;
		/* "--- a/x" only matters when the new side is /dev/null */
		if (s[0] == '-' && l[1].s && l[1].len >= 4 && !starts(l[1].s, l[1].len, "+++ /dev/null"))
			return;
		strv_add_unique(&bi->diff_files, p, pn);
	}
}

static int is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* "@@ -1,2 +1,3 @@ static int foo(struct x *y)" -> "foo" */
static void note_diff_func(struct body_info *bi, const struct line *l)
{
	const char *s = l->s, *e = s + l->len;
	const char *p = find(s + 2, l->len - 2, "@@");
	if (!p)
		return;
	p += 2;
	const char *paren = memchr(p, '(', (size_t)(e - p));
	if (!paren)
		return;
	const char *q = paren;
	while (q > p && q[-1] == ' ')
		q--;
	const char *nend = q;
	while (q > p && is_ident(q[-1]))
		q--;
	if (q == nend || isdigit((unsigned char)*q))
		return;
	/* SYM_FUNC_START(foo), DEFINE_x(foo): the argument names the function */
	int macro = 1;
	for (const char *c = q; c < nend; c++)
		if (islower((unsigned char)*c))
			macro = 0;
	if (macro) {
		const char *a = paren + 1, *ae = a;
		while (ae < e && is_ident(*ae))
			ae++;
		if (ae > a && ae < e && (*ae == ')' || *ae == ',')) {
			strv_add_unique(&bi->diff_funcs, a, (size_t)(ae - a));
			return;
		}
	}
	strv_add_unique(&bi->diff_funcs, q, (size_t)(nend - q));
}

static enum trailer_kind trailer_kind_of(const char *k, size_t n)
{
	static const struct { const char *key; enum trailer_kind kind; } map[] = {
		{ "signed-off-by", TR_SIGNED_OFF }, { "reviewed-by", TR_REVIEWED },
		{ "acked-by", TR_ACKED }, { "tested-by", TR_TESTED },
		{ "reported-by", TR_REPORTED }, { "suggested-by", TR_SUGGESTED },
		{ "fixes", TR_FIXES }, { "link", TR_LINK }, { "change-id", TR_CHANGE_ID },
		{ "cc", TR_CC },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].key) == n && !strncasecmp(k, map[i].key, n))
			return map[i].kind;
	return TR_OTHER;
}

static int is_person(enum trailer_kind k, const char *key, size_t kn)
{
	switch (k) {
	case TR_SIGNED_OFF: case TR_REVIEWED: case TR_ACKED: case TR_TESTED:
	case TR_REPORTED: case TR_SUGGESTED: case TR_CC:
		return 1;
	case TR_OTHER:
		return kn > 3 && !strncasecmp(key + kn - 3, "-by", 3);
	default:
		return 0;
	}
}

static char *trimmed_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	n = rtrim_len(s, n);
	/* names are often quoted: "Foo, Bar" <x@y> */
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		s++, n -= 2;
	return kv_xstrndup(s, n);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* "Name <addr>", "addr", "addr # 5.10", "Name (comment) <addr>" */
static void parse_person(struct trailer *t)
{
	const char *v = t->value;
	const char *lt = strchr(v, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt) {
		t->name = trimmed_dup(v, (size_t)(lt - v));
		t->addr = trimmed_dup(lt + 1, (size_t)(gt - lt - 1));
		lower(t->addr);
		return;
	}
	const char *at = strchr(v, '@');
	if (at) {
		const char *ws = at, *we = at;
		while (ws > v && ws[-1] != ' ' && ws[-1] != '\t')
			ws--;
		while (*we && *we != ' ' && *we != '\t' && *we != ',' && *we != '>')
			we++;
		t->name = trimmed_dup(v, (size_t)(ws - v));
		t->addr = trimmed_dup(ws, (size_t)(we - ws));
		lower(t->addr);
		return;
	}
	const char *hash = strchr(v, '#');
	t->name = trimmed_dup(v, hash ? (size_t)(hash - v) : strlen(v));
}

static void add_trailer(struct body_info *bi, size_t *cap, const char *s, size_t n,
			size_t k0, size_t kn, size_t v0, int quoted)
{
	struct trailer *t;
	if (bi->ntrailers == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		bi->trailers = kv_xrealloc(bi->trailers, *cap * sizeof(*bi->trailers));
	}
	t = &bi->trailers[bi->ntrailers++];
	memset(t, 0, sizeof(*t));
	t->key = kv_xstrndup(s + k0, kn);
	t->value = trimmed_dup(s + v0, n - v0);
	t->kind = trailer_kind_of(s + k0, kn);
	t->quoted = quoted;
	if (is_person(t->kind, s + k0, kn))
		parse_person(t);
	if (!quoted && !bi->change_id && t->kind == TR_CHANGE_ID)
		bi->change_id = kv_xstrdup(t->value);
}

/* Message ids from lore / lkml / patch.msgid.link URLs in one line. */
static void note_links(struct body_info *bi, const char *s, size_t n)
{
	static const char *const hosts[] = {
		"lore.kernel.org/", "lkml.kernel.org/", "patch.msgid.link/", "patchwork.kernel.org/project/", NULL };
	for (size_t h = 0; hosts[h]; h++) {
		const char *p = s, *e = s + n;
		size_t hl = strlen(hosts[h]);
		while ((p = find(p, (size_t)(e - p), hosts[h]))) {
			const char *seg = p + hl;
			p = seg;
			/* the id is the path segment holding an '@' (lore.kernel.org/r/ID,
			 * lore.kernel.org/LIST/ID/, patch.msgid.link/ID) */
			for (int part = 0; part < 3 && seg < e; part++) {
				const char *se = seg;
				while (se < e && *se != '/' && *se != ' ' && *se != '\t' && *se != '>' &&
				       *se != ')' && *se != '"' && *se != '\'' && *se != ']' && *se != '?' && *se != '#')
					se++;
				size_t sl = (size_t)(se - seg);
				while (sl && (seg[sl - 1] == '.' || seg[sl - 1] == ','))
					sl--;
				/* percent-decoding of the few escapes lore uses */
				char *id = kv_xmalloc(sl + 1), *o = id;
				for (size_t i = 0; i < sl; i++) {
					if (seg[i] == '%' && i + 2 < sl + 0 + 1 && isxdigit((unsigned char)seg[i + 1]) &&
					    i + 2 < sl && isxdigit((unsigned char)seg[i + 2])) {
						char hx[3] = { seg[i + 1], seg[i + 2], 0 };
						*o++ = (char)strtol(hx, NULL, 16);
						i += 2;
					} else {
						*o++ = seg[i];
					}
				}
				*o = '\0';
				if (strchr(id, '@') && id[0] != '@') {
					strv_add_unique(&bi->links, id, strlen(id));
					free(id);
					break;
				}
				free(id);
				if (se >= e || *se != '/')
					break;
				seg = se + 1;
			}
		}
	}
}

/* ---------------------------------------------------------------------
 * The passes.
 */

static struct line *split_lines(const char *text, size_t len, size_t *nl)
{
	size_t cap = 64, n = 0, off = 0;
	struct line *v = kv_xmalloc(cap * sizeof(*v));
	while (off < len) {
		const char *s = text + off;
		const char *e = memchr(s, '\n', len - off);
		size_t l = e ? (size_t)(e - s) : len - off;
		if (n + 1 >= cap) {
			cap *= 2;
			v = kv_xrealloc(v, cap * sizeof(*v));
		}
		v[n].s = s;
		v[n].len = l && s[l - 1] == '\r' ? l - 1 : l;
		v[n].off = off;
		v[n].end = e ? off + l + 1 : len;
		v[n].kind = SEG_PROSE;
		v[n].blank = is_blank(s, v[n].len);
		n++;
		off = v[n - 1].end;
	}
	/* a sentinel so l[1] is always readable */
	v[n].s = NULL;
	v[n].len = 0;
	v[n].off = v[n].end = len;
	v[n].kind = SEG_PROSE;
	v[n].blank = 1;
	*nl = n;
	return v;
}

enum dstate { D_NONE, D_HEADER, D_HUNK, D_AFTER };

/* Is there a diffstat or diff within the next lines after a "---" line? */
static int patch_follows(const struct line *l, size_t i, size_t n)
{
	for (size_t j = i + 1; j < n && j < i + 200; j++) {
		if (is_diffstat_line(l[j].s, l[j].len) || is_diff_start(&l[j], j + 1 < n ? &l[j + 1] : NULL))
			return 1;
		if (is_quote(l[j].s, l[j].len) || starts(l[j].s, l[j].len, "-- "))
			return 0;
	}
	return 0;
}

/* After a blank line in a notes block: does the next non-blank line go on? */
static int changes_continue(const struct line *l, size_t i, size_t n)
{
	size_t j = i;
	while (j < n && l[j].blank)
		j++;
	if (j >= n)
		return 0;
	const char *s = l[j].s;
	size_t len = l[j].len;
	if (is_diffstat_line(s, len) || is_quote(s, len) || starts(s, len, "-- ") || is_diff_start(&l[j], &l[j + 1]))
		return 0;
	if (s[0] == ' ' || s[0] == '\t')
		return 1;
	if (skip_bullet(s, len) > 0 && (s[0] == '-' || s[0] == '*' || s[0] == '+'))
		return 1;
	return is_changes_header(s, len);
}

static void classify(struct line *l, size_t n, struct body_info *bi)
{
	enum dstate ds = D_NONE;
	long old = 0, new = 0;
	int sig = 0, changes = 0, after_sep = 0;

	for (size_t i = 0; i < n; i++) {
		struct line *c = &l[i];
		const char *s = c->s;
		size_t len = c->len;

		/* inside a diff, the hunk counts decide */
		if (ds == D_HUNK) {
			char ch = len ? s[0] : ' ';
			if (len >= 2 && (unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0)
				ch = ' ';   /* a context line whose space became U+00A0 */
			if (ch == '\\') {
				c->kind = SEG_DIFF;
				continue;
			}
			if (ch == ' ' || ch == '-' || ch == '+') {
				if (ch != '+')
					old--;
				if (ch != '-')
					new--;
				c->kind = SEG_DIFF;
				if (old <= 0 && new <= 0)
					ds = D_AFTER;
				continue;
			}
			/* webmail wraps long lines: a stray line followed by more
			 * hunk lines is the tail of the line before it */
			if (!c->blank && i + 1 < n && l[i + 1].len &&
			    (l[i + 1].s[0] == ' ' || l[i + 1].s[0] == '+' || l[i + 1].s[0] == '-' ||
			     starts(l[i + 1].s, l[i + 1].len, "\xc2\xa0") ||
			     starts(l[i + 1].s, l[i + 1].len, "@@ ")) &&
			    !is_quote(s, len) && !(len == 3 && !memcmp(s, "-- ", 3))) {
				c->kind = SEG_DIFF;
				continue;
			}
			ds = D_AFTER;   /* a damaged hunk: the diff ends here */
		}
		if (ds == D_HEADER || ds == D_AFTER) {
			if (starts(s, len, "@@ ") && parse_hunk(s, len, &old, &new)) {
				c->kind = SEG_DIFF;
				note_diff_func(bi, c);
				ds = (old > 0 || new > 0) ? D_HUNK : D_AFTER;
				continue;
			}
			if (starts(s, len, "\\ ")) {
				c->kind = SEG_DIFF;
				continue;
			}
			if (ds == D_HEADER && (is_diff_header(s, len) ||
					       (len && !c->blank && !memchr(s, ' ', len) && i > 0 &&
						(starts(l[i - 1].s, l[i - 1].len, "literal ") ||
						 starts(l[i - 1].s, l[i - 1].len, "delta ") || l[i - 1].kind == SEG_DIFF)
						&& len <= 66 && !sig))) {
				/* binary patch base85 lines land here too */
				c->kind = SEG_DIFF;
				if (starts(s, len, "diff --git ") || starts(s, len, "+++ ") || starts(s, len, "--- "))
					note_diff_file(bi, c);
				continue;
			}
			if (ds == D_HEADER && !c->blank && i + 1 < n &&
			    (starts(l[i + 1].s, l[i + 1].len, "+++ ") || starts(l[i + 1].s, l[i + 1].len, "@@ -"))) {
				/* a header line a mail client mangled ("- - - a/x") */
				c->kind = SEG_DIFF;
				continue;
			}
			if (ds == D_AFTER && is_diff_start(c, &l[i + 1])) {
				ds = D_HEADER;
				c->kind = SEG_DIFF;
				note_diff_file(bi, c);
				continue;
			}
			ds = D_NONE;
		}

		if (c->blank) {
			c->kind = i ? l[i - 1].kind : SEG_PROSE;
			/* one look-ahead per run of blank lines, not per line */
			if (changes && (i == 0 || !l[i - 1].blank) && !changes_continue(l, i, n)) {
				changes = 0;
				c->kind = SEG_CHANGES;
			}
			continue;
		}
		if (is_quote(s, len)) {
			c->kind = SEG_QUOTE;
			changes = 0;
			continue;
		}
		if (starts(s, len, "@@ -") && parse_hunk(s, len, &old, &new)) {
			/* a hunk pasted without its file headers */
			c->kind = SEG_DIFF;
			note_diff_func(bi, c);
			ds = (old > 0 || new > 0) ? D_HUNK : D_AFTER;
			sig = changes = after_sep = 0;
			continue;
		}
		if (is_diff_start(c, &l[i + 1])) {
			ds = D_HEADER;
			sig = changes = after_sep = 0;
			c->kind = SEG_DIFF;
			bi->has_diff = 1;
			note_diff_file(bi, c);
			continue;
		}
		if (sig) {
			c->kind = SEG_SIGNATURE;
			continue;
		}
		if ((len == 3 && !memcmp(s, "-- ", 3)) || (len == 2 && !memcmp(s, "--", 2) && n - i <= 10) ||
		    is_list_footer(l, i, n)) {
			sig = 1;
			changes = 0;
			c->kind = SEG_SIGNATURE;
			continue;
		}
		{
			int f, in, de;
			if (is_diffstat_line(s, len)) {
				c->kind = SEG_DIFFSTAT;
				changes = after_sep = 0;
				continue;
			}
			if (is_diffstat_summary(s, len, &f, &in, &de)) {
				c->kind = SEG_DIFFSTAT;
				changes = after_sep = 0;
				if (bi->stat_files < 0) {
					bi->stat_files = f;
					bi->stat_ins = in;
					bi->stat_del = de;
				}
				continue;
			}
			if (is_diffstat_extra(s, len) && i > 0 && l[i - 1].kind == SEG_DIFFSTAT) {
				c->kind = SEG_DIFFSTAT;
				continue;
			}
		}
		if (rtrim_len(s, len) == 3 && !memcmp(s, "---", 3) && patch_follows(l, i, n)) {
			c->kind = SEG_DIFFSTAT;
			after_sep = 1;
			changes = 0;
			continue;
		}
		if (changes) {
			size_t k0, kn, v0;
			/* a tag at the margin ends the notes */
			if (s[0] != ' ' && s[0] != '\t' && trailer_shape(s, len, &k0, &kn, &v0) == TRC_KNOWN &&
			    !is_changes_header(s, len)) {
				changes = 0;
			} else {
				c->kind = SEG_CHANGES;
				continue;
			}
		}
		if (is_changes_header(s, len)) {
			c->kind = SEG_CHANGES;
			changes = 1;
			continue;
		}
		if (after_sep) {
			/* between "---" and the diffstat: the author's notes on this version */
			size_t k0, kn, v0;
			if (trailer_shape(s, len, &k0, &kn, &v0) == TRC_NONE) {
				c->kind = SEG_CHANGES;
				continue;
			}
		}
		c->kind = SEG_PROSE;
	}
}

/* Can line j continue a trailer block (given it is not its first line)? */
static enum tr_class trailer_line(const struct line *l, int first, int *header)
{
	size_t k0, kn, v0;
	enum tr_class tc = trailer_shape(l->s, l->len, &k0, &kn, &v0);
	if (tc != TRC_NONE) {
		if (is_header_key(l->s + k0, kn))
			*header = 1;
		return tc;
	}
	size_t len = rtrim_len(l->s, l->len);
	/* "[maz: fixed foo]" notes and wrapped values belong to the block */
	if (len >= 2 && l->s[0] == '[' && l->s[len - 1] == ']')
		return TRC_GENERIC;
	if (!first && (l->s[0] == ' ' || l->s[0] == '\t'))
		return TRC_GENERIC;
	return TRC_NONE;
}

/*
 * Trailer blocks: in each paragraph of prose, the longest run of
 * "Key: value" lines at its end that holds at least one tag reviewers use
 * (Signed-off-by, Reviewed-by, Fixes, ...). Pasted mail headers (From:,
 * Subject:) are not trailers. A lone "Xxx-by: Name <addr>" line inside a
 * paragraph counts too ("Reviewed-by: X" followed by "Thanks").
 */
static void mark_trailer_blocks(struct line *l, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (l[i].blank || (l[i].kind != SEG_PROSE && l[i].kind != SEG_CHANGES)) {
			i++;
			continue;
		}
		size_t a = i, b = i;
		while (b < n && !l[b].blank && (l[b].kind == SEG_PROSE || l[b].kind == SEG_CHANGES))
			b++;
		/* longest suffix of trailer-shaped lines */
		size_t t = b;
		int known = 0, header = 0;
		while (t > a) {
			int h = 0;
			enum tr_class tc = trailer_line(&l[t - 1], 0, &h);
			if (tc == TRC_NONE)
				break;
			if (tc == TRC_KNOWN)
				known = 1;
			header |= h;
			t--;
		}
		/* a block cannot start with a continuation line */
		while (t < b) {
			int h = 0;
			if (trailer_line(&l[t], 1, &h) != TRC_NONE)
				break;
			t++;
		}
		if (known && !header) {
			for (size_t j = t; j < b; j++)
				l[j].kind = SEG_TRAILER;
		}
		for (size_t j = a; j < t; j++) {
			size_t k0, kn, v0;
			if (trailer_shape(l[j].s, l[j].len, &k0, &kn, &v0) == TRC_KNOWN && kn > 3 &&
			    !strncasecmp(l[j].s + k0 + kn - 3, "-by", 3) && memchr(l[j].s, '@', l[j].len))
				l[j].kind = SEG_TRAILER;
		}
		i = b;
	}
}

/* "On ... wrote:" (one or two lines) before a quote belongs to it. */
static void mark_attributions(struct line *l, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (l[i].kind != SEG_QUOTE || l[i].blank || l[i - 1].kind == SEG_QUOTE)
			continue;
		size_t j = i - 1;       /* candidate attribution line */
		if (l[j].blank && j > 0)
			j--;            /* at most one blank line between */
		const struct line *a = &l[j];
		if (a->blank || (a->kind != SEG_PROSE && a->kind != SEG_SIGNATURE) || !is_attribution(a->s, a->len))
			continue;
		for (size_t k = j; k < i; k++)
			l[k].kind = SEG_QUOTE;
		/* "On Mon, 25 Jan 2021 10:46:42 +0000,\nSome One <x@y> wrote:" */
		if (j >= 1) {
			const struct line *b = &l[j - 1];
			if (!b->blank && b->kind == SEG_PROSE && istarts(b->s, b->len, "On ") &&
			    !istarts(a->s, a->len, "On ") && b->len < 200)
				l[j - 1].kind = SEG_QUOTE;
		}
	}
	/*
	 * Top-posting: below the reply, "-----Original Message-----" or an
	 * "On ... wrote:" line with no '>' line anywhere after it means the
	 * client pasted the original without quoting it. From there on it is
	 * quoted text (signatures and diffs keep their kind).
	 */
	{
		size_t last_quote = 0;
		int anyq = 0, prose_before = 0;
		for (size_t i = 0; i < n; i++)
			if (l[i].kind == SEG_QUOTE && !l[i].blank && is_quote(l[i].s, l[i].len))
				last_quote = i, anyq = 1;
		for (size_t i = 0; i < n; i++) {
			if (l[i].blank || l[i].kind != SEG_PROSE)
				continue;
			int orig = is_original_marker(l[i].s, l[i].len);
			if (prose_before && (orig || ((ends_with(l[i].s, l[i].len, "wrote:") ||
						       ends_with(l[i].s, l[i].len, "writes:")) &&
						      (!anyq || last_quote < i)))) {
				for (size_t k = i; k < n; k++)
					if (l[k].kind == SEG_PROSE || l[k].kind == SEG_TRAILER || l[k].kind == SEG_CHANGES)
						l[k].kind = SEG_QUOTE;
				break;
			}
			prose_before = 1;
		}
	}
	/* "[...]" and "<snip>" markers next to quotes are part of the quote */
	for (size_t i = 0; i < n; i++) {
		if (l[i].kind != SEG_PROSE || !is_snip(l[i].s, l[i].len))
			continue;
		size_t p = i, q = i + 1;
		if (p > 0 && l[p - 1].blank)
			p--;
		if (q < n && l[q].blank)
			q++;
		if ((p > 0 && l[p - 1].kind == SEG_QUOTE) || (q < n && l[q].kind == SEG_QUOTE))
			l[i].kind = SEG_QUOTE;
	}
	/* blank lines following a quote line stay with the quote */
	for (size_t i = 1; i < n; i++)
		if (l[i].blank && l[i - 1].kind == SEG_QUOTE)
			l[i].kind = SEG_QUOTE;
}

static void collect_trailers(const struct line *l, size_t n, struct body_info *bi)
{
	size_t cap = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k0, kn, v0;
		const char *s = l[i].s;
		size_t len = l[i].len;
		if (l[i].kind == SEG_TRAILER) {
			if (trailer_shape(s, len, &k0, &kn, &v0) != TRC_NONE)
				add_trailer(bi, &cap, s, len, k0, kn, v0, 0);
		} else if (l[i].kind == SEG_QUOTE && is_quote(s, len)) {
			/* "> > Reviewed-by: X": strip every quote level */
			size_t q = 0;
			while (q < len && (s[q] == '>' || s[q] == ' ' || s[q] == '\t'))
				q++;
			if (trailer_shape(s + q, len - q, &k0, &kn, &v0) == TRC_KNOWN &&
			    k0 == 0 && !is_header_key(s + q + k0, kn))
				add_trailer(bi, &cap, s + q, len - q, k0, kn, v0, 1);
		}
		if (l[i].kind != SEG_QUOTE && l[i].kind != SEG_DIFF && len > 20)
			note_links(bi, s, len);
	}
}

static void make_segments(const struct line *l, size_t n, struct body_info *bi)
{
	size_t cap = 0;
	for (size_t i = 0; i < n; i++) {
		if (bi->nsegs && bi->segs[bi->nsegs - 1].kind == (enum seg_kind)l[i].kind) {
			struct seg *sg = &bi->segs[bi->nsegs - 1];
			sg->len = l[i].end - sg->off;
			continue;
		}
		if (bi->nsegs == cap) {
			cap = cap ? cap * 2 : 8;
			bi->segs = kv_xrealloc(bi->segs, cap * sizeof(*bi->segs));
		}
		bi->segs[bi->nsegs].kind = (enum seg_kind)l[i].kind;
		bi->segs[bi->nsegs].off = l[i].off;
		bi->segs[bi->nsegs].len = l[i].end - l[i].off;
		bi->nsegs++;
	}
}

void body_analyze(const char *text, size_t len, struct body_info *bi)
{
	size_t n;
	struct line *l;

	memset(bi, 0, sizeof(*bi));
	bi->stat_files = bi->stat_ins = bi->stat_del = -1;
	if (!text || !len)
		return;
	l = split_lines(text, len, &n);
	classify(l, n, bi);
	mark_trailer_blocks(l, n);
	mark_attributions(l, n);
	collect_trailers(l, n, bi);
	make_segments(l, n, bi);
	for (size_t i = 0; i < bi->nsegs; i++)
		if (bi->segs[i].kind == SEG_DIFF)
			bi->has_diff = 1;
	free(l);
}

void body_info_release(struct body_info *bi)
{
	if (!bi)
		return;
	free(bi->segs);
	for (size_t i = 0; i < bi->ntrailers; i++) {
		free(bi->trailers[i].key);
		free(bi->trailers[i].value);
		free(bi->trailers[i].name);
		free(bi->trailers[i].addr);
	}
	free(bi->trailers);
	strv_release(&bi->diff_files);
	strv_release(&bi->diff_funcs);
	free(bi->change_id);
	strv_release(&bi->links);
	memset(bi, 0, sizeof(*bi));
	bi->stat_files = bi->stat_ins = bi->stat_del = -1;
}

void body_extract(const char *text, const struct body_info *bi, unsigned kinds, struct sbuf *out)
{
	for (size_t i = 0; i < bi->nsegs; i++) {
		const struct seg *sg = &bi->segs[i];
		if (!(kinds & (1u << sg->kind)))
			continue;
		if (out->len && out->buf[out->len - 1] != '\n')
			sbuf_addc(out, '\n');
		sbuf_add(out, text + sg->off, sg->len);
	}
	if (!out->buf)
		sbuf_adds(out, "");
}
