/*
 * extract_cover.c - what a cover letter and a reply-rooted thread add to
 * the extractive summary (extract.h): this version's changelog, the key
 * result lines (a benchmark's headline, a table's summary row) and, for a
 * thread whose root predates the store, the original that the first
 * stored reply quotes.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "extract.h"
#include "extract_private.h"
#include "text.h"
#include "banned.h"

/* s on one line, cut to max bytes on a UTF-8 boundary with "…" when
 * longer. Caller frees. */
static char *one_line_cut(const char *s, size_t max)
{
	char *one = text_one_line(s);
	size_t l = strlen(one);
	if (l <= max)
		return one;
	one[text_utf8_cut(one, l, max)] = '\0';
	char *t = kv_xasprintf("%s…", one);
	free(one);
	return t;
}

/* ---- changelog ---- */

/* A notes header inside a changelog ("From v1:", "* v2 -> v3:"): short,
 * ends in ':', names a version. */
static int is_notes_header(const char *s, size_t len)
{
	size_t k = ex_skip_item_mark(s, len);
	if (len - k > 70 || !len || s[len - 1] != ':')
		return 0;
	for (size_t i = k; i + 1 < len; i++)
		if ((s[i] == 'v' || s[i] == 'V') && isdigit((unsigned char)s[i + 1]) &&
		    (i == k || !isalpha((unsigned char)s[i - 1])))
			return 1;
	return 0;
}

/* The first line of this version's notes: "Changes since v3:", "v2 ->
 * v3:", "Changelog v1 .. v2:", "From v1:", "Since RFC:" (body.c also
 * marks notes that open otherwise, which are not a changelog here). */
static int is_changelog_head(const char *s, size_t len)
{
	static const char *const heads[] = { "change*", "since", "from", "rfc", NULL };
	size_t k = ex_skip_item_mark(s, len);
	const char *p = s + k;
	size_t n = len - k;
	if (!n || n > 70)
		return 0;
	int ver = (p[0] == 'v' || p[0] == 'V') && n > 1 && isdigit((unsigned char)p[1]);
	return (ver || ex_starts_with_word(p, n, heads)) && (p[n - 1] == ':' || is_notes_header(s, len) ||
							   ex_starts_with_word(p, n, heads + 0));
}

char *extract_changelog(const char *text, const struct body_info *bi, size_t max)
{
	struct sbuf sb = SBUF_INIT;
	sbuf_adds(&sb, "");
	for (size_t si = 0; si < bi->nsegs; si++) {
		const struct seg *sg = &bi->segs[si];
		if (sg->kind != SEG_CHANGES)
			continue;
		const char *p = text + sg->off, *end = p + sg->len;
		int items = 0, header = 1;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *le = nl ? nl : end;
			size_t ll = (size_t)(le - p);
			while (ll && isspace((unsigned char)p[ll - 1]))
				ll--;
			size_t lead = 0;
			while (lead < ll && isspace((unsigned char)p[lead]))
				lead++;
			const char *next = nl ? nl + 1 : end;
			if (lead == ll) {
				p = next;
				continue;
			}
			if (header && !is_changelog_head(p, ll)) {
				break;   /* notes that are no changelog */
			} else if (header) {
				/* "* Changes since v3:" as "Changes since v3: " */
				size_t k = ex_skip_item_mark(p, ll), hl = ll;
				while (hl > k && p[hl - 1] == ':')
					hl--;
				sbuf_add(&sb, p + k, hl - k);
				sbuf_adds(&sb, ": ");
				header = 0;
			} else if (!items && is_notes_header(p, ll)) {
				/* "Changelogs:" then "v1->v2:": one header */
				size_t k = ex_skip_item_mark(p, ll), hl = ll;
				while (hl > k && p[hl - 1] == ':')
					hl--;
				sb.len -= 2;   /* its ": " */
				sbuf_addc(&sb, ' ');
				sbuf_add(&sb, p + k, hl - k);
				sbuf_adds(&sb, ": ");
			} else if (items && is_notes_header(p, ll)) {
				break;   /* the notes of an older version: not this version's */
			} else {
				size_t k = ex_skip_item_mark(p, ll);
				if (items && (k != lead || ex_is_list_item(p, ll) || !lead)) {
					while (sb.len && (sb.buf[sb.len - 1] == '.' || sb.buf[sb.len - 1] == ';'))
						sb.buf[--sb.len] = '\0';
					sbuf_adds(&sb, "; ");
				} else if (items) {
					sbuf_addc(&sb, ' ');
				}
				sbuf_add(&sb, p + k, ll - k);
				items++;
			}
			p = next;
			if (sb.len > max)
				break;
		}
		if (!items)
			sbuf_reset(&sb), sbuf_adds(&sb, "");
		else
			break;
	}
	char *one = one_line_cut(sb.buf, max);
	sbuf_release(&sb);
	return one;
}

static const char *const w_result[] = {
	"improv*", "faster", "slower", "speedup", "speed-up", "speeds up", "reduc*", "gain*", "overhead",
	"throughput", "latency", "regress*", "better", "worse", "saving*", "saves", "boost*", NULL
};
static const char *const w_summary_row[] = { "average", "avg", "mean", "geomean", "total", "overall", NULL };

/* A number with a unit or a percentage ("20%", "1.5x", "300ms", "2 us"). */
static int has_measure(const char *s, size_t len)
{
	static const char *const units[] = { "%", "x", "ms", "us", "ns", "s", "mb/s", "gb/s", "cycles", "ops",
					     "fps", "iops", NULL };
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			continue;
		size_t e = i;
		while (e < len && (isdigit((unsigned char)s[e]) || s[e] == '.' || s[e] == ','))
			e++;
		size_t u = e;
		while (u < len && s[u] == ' ')
			u++;
		for (const char *const *w = units; *w; w++) {
			size_t n = strlen(*w);
			if (u + n <= len && !strncasecmp(s + u, *w, n) &&
			    (u + n == len || !isalpha((unsigned char)s[u + n])) && (u == e || n > 1 || **w != 's'))
				return 1;
		}
		i = e;
	}
	return 0;
}

struct res_ctx {
	struct strv *out;
	size_t max;
};

static void push_result(struct res_ctx *c, const char *s, size_t len)
{
	if (c->out->n >= c->max)
		return;
	size_t keep = text_utf8_cut(s, len, 200);
	char *raw = kv_xstrndup(s, keep);
	char *one = text_one_line(raw);
	free(raw);
	if (!strv_has(c->out, one))
		strv_push_owned(c->out, one);
	else
		free(one);
}

static void result_sentence(void *vctx, const char *s, size_t len, int idx)
{
	(void)idx;
	if (has_measure(s, len) && ex_has_word(s, len, w_result))
		push_result(vctx, s, len);
}

void extract_results(const char *text, const struct body_info *bi, size_t max, struct strv *out)
{
	struct units u = { 0 };
	ex_collect_units(text, bi, 1u << SEG_PROSE, 1, &u);
	struct res_ctx c = { .out = out, .max = max };
	/* headlines first: sentences that state a measured change, then a
	 * table's summary row */
	for (size_t i = 0; i < u.n && out->n < max; i++)
		if (!u.v[i].table && u.v[i].text.len)
			ex_each_sentence(u.v[i].text.buf, u.v[i].text.len, result_sentence, &c);
	for (size_t i = 0; i < u.n && out->n < max; i++) {
		const struct unit *x = &u.v[i];
		if (x->table && (ex_starts_with_word(x->text.buf, x->text.len, w_summary_row) ||
				 ex_has_word(x->text.buf, x->text.len, w_result)) &&
		    has_measure(x->text.buf, x->text.len))
			push_result(&c, x->text.buf, x->text.len);
	}
	ex_units_release(&u);
}

/* ---- a reply's quoted original ---- */

/* Depth of a quoted line ("> > text" is 2) and where its text starts. */
static int quote_depth(const char *s, size_t len, size_t *start)
{
	int d = 0;
	size_t i = 0;
	for (;;) {
		while (i < len && s[i] == ' ' && i < 4)
			i++;
		if (i < len && s[i] == '>') {
			d++;
			i++;
			continue;
		}
		break;
	}
	while (i < len && s[i] == ' ')
		i++;
	*start = i;
	return d;
}

/* Quoted lines that are not the original's description. */
static int quote_noise(const char *s, size_t len)
{
	static const char *const pre[] = { "diff --git", "@@", "index ", "+++ ", "--- ", "signed-off-by:",
					   "reviewed-by:", "acked-by:", "tested-by:", "cc:", "link:", "fixes:",
					   "reported-by:", "suggested-by:", "co-developed-by:", "message-id:", NULL };
	if (len && (s[0] == '+' || s[0] == '-'))
		return 1;
	for (const char *const *p = pre; *p; p++)
		if (len >= strlen(*p) && !strncasecmp(s, *p, strlen(*p)))
			return 1;
	return (len >= 6 && !memcmp(s + len - 6, "wrote:", 6)) || ex_is_code_line(s, len) || ex_is_url_line(s, len);
}

#define QMAX_DEPTH 8

char *extract_quoted_about(const char *text, const struct body_info *bi, size_t max)
{
	struct sbuf lv[QMAX_DEPTH + 1];
	size_t letters[QMAX_DEPTH + 1] = { 0 };
	int ended[QMAX_DEPTH + 1] = { 0 };   /* a "---" or a diff ended the description */
	for (int d = 0; d <= QMAX_DEPTH; d++) {
		sbuf_init(&lv[d]);
		sbuf_adds(&lv[d], "");
	}
	for (size_t si = 0; si < bi->nsegs; si++) {
		const struct seg *sg = &bi->segs[si];
		if (sg->kind != SEG_QUOTE)
			continue;
		const char *p = text + sg->off, *end = p + sg->len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *le = nl ? nl : end;
			size_t ll = (size_t)(le - p), st;
			while (ll && isspace((unsigned char)p[ll - 1]))
				ll--;
			int d = quote_depth(p, ll, &st);
			p = nl ? nl + 1 : end;
			if (d <= 0)
				continue;
			if (d > QMAX_DEPTH)
				d = QMAX_DEPTH;
			const char *q = le - ll + st;
			size_t ql = ll - st;
			if (ended[d])
				continue;
			if (ql == 3 && !memcmp(q, "---", 3)) {
				ended[d] = 1;   /* format-patch's separator: the rest is the diff */
				continue;
			}
			if (!ql) {
				if (lv[d].len && lv[d].buf[lv[d].len - 1] != '\n')
					sbuf_addc(&lv[d], '\n');
				continue;
			}
			if (quote_noise(q, ql)) {
				if (!memcmp(q, "diff --git", ql < 10 ? ql : 10))
					ended[d] = 1;
				continue;
			}
			if (lv[d].len && lv[d].buf[lv[d].len - 1] != '\n')
				sbuf_addc(&lv[d], ' ');
			sbuf_add(&lv[d], q, ql);
			for (size_t i = 0; i < ql; i++)
				letters[d] += isalpha((unsigned char)q[i]) != 0;
		}
	}
	/* the deepest level with a description's worth of prose; else the fullest */
	int pick = 0;
	for (int d = QMAX_DEPTH; d >= 1 && !pick; d--)
		if (letters[d] >= 80)
			pick = d;
	for (int d = 1; d <= QMAX_DEPTH && !pick; d++)
		if (letters[d] && (!pick || letters[d] > letters[pick]))
			pick = d;
	char *res;
	if (!pick) {
		res = kv_xstrdup("");
	} else {
		/* its first two paragraphs that are not a greeting */
		struct sbuf out = SBUF_INIT;
		sbuf_adds(&out, "");
		const char *p = lv[pick].buf, *end = p + lv[pick].len;
		int paras = 0;
		while (p < end && paras < 2 && out.len < max) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (l && !(l < 40 && ex_count_words(p, l) <= 3 && ex_starts_with_word(p, l, ex_w_greeting))) {
				if (out.len)
					sbuf_addc(&out, ' ');
				sbuf_add(&out, p, l);
				paras++;
			}
			p = nl ? nl + 1 : end;
		}
		res = one_line_cut(out.buf, max);
		sbuf_release(&out);
	}
	for (int d = 0; d <= QMAX_DEPTH; d++)
		sbuf_release(&lv[d]);
	return res;
}
