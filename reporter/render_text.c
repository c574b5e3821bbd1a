/*
 * render_text.c - the digest as plain text for mail readers (mutt and the
 * like): the text table of output operations for render_walk.c, used for
 * the digest mail's text/plain part and the archive's .txt file.
 *
 * Plain text has no markup, so nothing is escaped. Strings from mail or an
 * LLM are only cleaned: C0 and C1 control characters (a terminal would
 * obey ESC sequences), bidirectional overrides and isolates (they reorder
 * what the reader sees) are removed, line breaks become spaces, invalid
 * UTF-8 becomes U+FFFD. Full 40-hex commit ids in mail text are cut to 12,
 * as the walk already does for the status line.
 *
 * Every paragraph is collected whole, then wrapped at RENDER_TEXT_WIDTH
 * display columns (render_text_cp_width): at spaces, and between CJK
 * characters, never before closing or after opening punctuation. A URL is
 * never broken: one that does not fit starts a line, and one wider than
 * the line stands alone on it. Any other word wider than the line is cut.
 *
 * Links become numbered references. In a thread block the mails are
 * [1]..[n] (its mail list shows each mail's URL on a line of its own), so
 * a summary's "[n]" needs nothing more; every other link of the block
 * (series versions, patches before the window, the archive link of a root
 * before the window) gets the next number and is listed under "Other
 * links" at the end of the block; the overview's under "Links". Each "[n]"
 * of a block thus names one line of that block.
 *
 * The review list keeps the patches that have tags or a status; the ones
 * with neither become one line: "7 of 35 patches without tags: 3-5, 9".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "render_ops.h"
#include "banned.h"

#define W RENDER_TEXT_WIDTH

struct txt {
	struct sbuf para;       /* the paragraph being collected, clean text */
	struct sbuf prefix;     /* its first line's prefix: "- ", "[3] " */
	size_t indent;          /* columns of the indent of its other lines */
	int open;               /* a paragraph is being collected */
	int nl;                 /* newlines ending the output so far (2: blank line) */
	enum render_list kinds[RENDER_MAX_DEPTH + 2];
	int item_number;        /* the mail list's current item */
	char *own_url;          /* its mail's URL, written under it */
	struct strv mail_urls;  /* the thread's mails' URLs: [1]..[n] */
	struct strv refs;       /* other links of the block: [n+1].. */
	/* review list */
	int no_tags, has_status;
	size_t refs_at_item;
	int *untagged;          /* patch indexes folded into one line */
	size_t nuntagged, untagged_cap;
	struct sbuf clean;      /* scratch */
};

/* ---- characters ---- */

/* Length of the UTF-8 sequence at s (n bytes left) and its code point in
 * *cp; 0 when it is not well-formed (overlong, surrogate, truncated). */
static size_t u8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, v = c & 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, v = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, v = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

struct cp_range {
	uint32_t lo, hi;
};

static int in_ranges(uint32_t cp, const struct cp_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return 1;
	return 0;
}

/*
 * Display columns of one code point, a small rule rather than the whole
 * Unicode width table:
 *   0  combining diacritical marks (U+0300-036F, 1AB0-1AFF, 1DC0-1DFF,
 *      20D0-20FF, FE20-FE2F), variation selectors (FE00-FE0F), zero-width
 *      space, joiners and marks (200B-200F, 2060-2064, FEFF);
 *   2  the East Asian Wide and Fullwidth blocks (Hangul Jamo, CJK radicals
 *      through Yi, Hangul syllables, CJK compatibility ideographs, vertical
 *      and small forms, fullwidth forms, the ideographic planes 2 and 3)
 *      and the symbol and emoji blocks (U+2600-27BF, 2B00-2BFF,
 *      1F000-1FAFF) counted whole;
 *   1  everything else.
 * Where it differs from Unicode's East Asian Width it counts more columns
 * (a symbol drawn narrow, a combining mark of another script), so a line
 * is never wider than the limit on a terminal that follows Unicode.
 */
static int render_text_cp_width(uint32_t cp)
{
	static const struct cp_range zero[] = {
		{ 0x0300, 0x036F }, { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF }, { 0x200B, 0x200F },
		{ 0x2060, 0x2064 }, { 0x20D0, 0x20FF }, { 0xFE00, 0xFE0F }, { 0xFE20, 0xFE2F },
		{ 0xFEFF, 0xFEFF },
	};
	static const struct cp_range wide[] = {
		{ 0x1100, 0x115F }, { 0x2600, 0x27BF }, { 0x2B00, 0x2BFF }, { 0x2E80, 0x303E },
		{ 0x3041, 0x33FF }, { 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF }, { 0xA000, 0xA4CF },
		{ 0xA960, 0xA97F }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF }, { 0xFE10, 0xFE19 },
		{ 0xFE30, 0xFE6F }, { 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x1F000, 0x1FAFF },
		{ 0x20000, 0x3FFFD },
	};
	if (cp < 0x300)
		return 1;
	if (in_ranges(cp, zero, sizeof(zero) / sizeof(zero[0])))
		return 0;
	if (in_ranges(cp, wide, sizeof(wide) / sizeof(wide[0])))
		return 2;
	return 1;
}

size_t render_text_width(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = u8_decode(p + i, n - i, &cp);
		if (!len) {
			w++;
			i++;
			continue;
		}
		w += (size_t)render_text_cp_width(cp);
		i += len;
	}
	return w;
}

/* Characters dropped from mail text: bidirectional marks, embeddings,
 * overrides and isolates (the "Trojan Source" set). */
static int is_bidi_control(uint32_t cp)
{
	return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* s cleaned for a terminal, appended to out (see the top of the file). */
static void clean_append(struct sbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		if (c >= 0x20 && c < 0x7f) {
			size_t j = i;
			while (j < n && p[j] >= 0x20 && p[j] < 0x7f)
				j++;
			sbuf_add(out, p + i, j - i);
			i = j;
			continue;
		}
		if (c < 0x80) {
			if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
				sbuf_addc(out, ' ');
			i++;
			continue;
		}
		uint32_t cp;
		size_t len = u8_decode(p + i, n - i, &cp);
		if (!len) {
			sbuf_adds(out, "\xEF\xBF\xBD");
			i++;
			continue;
		}
		if (cp == 0x85 || cp == 0x2028 || cp == 0x2029)
			sbuf_addc(out, ' ');
		else if (cp >= 0x80 && cp <= 0x9F)
			; /* C1 controls: CSI (U+009B) starts an escape sequence */
		else if (!is_bidi_control(cp))
			sbuf_add(out, p + i, len);
		i += len;
	}
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The word around s[i] (between spaces) holds "://". */
static int in_url(const char *s, size_t len, size_t i)
{
	size_t a = i, b = i;
	while (a > 0 && s[a - 1] != ' ')
		a--;
	while (b < len && s[b] != ' ')
		b++;
	for (size_t k = a; k + 3 <= b; k++)
		if (s[k] == ':' && s[k + 1] == '/' && s[k + 2] == '/')
			return 1;
	return 0;
}

/* s with each full commit id (a word of exactly 40 hex digits, not in a
 * URL) cut to 12 digits, appended to out. */
static void short_ids_append(struct sbuf *out, const char *s, size_t len)
{
	size_t from = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_hex(s[i]) || (i > 0 && is_alnum(s[i - 1])))
			continue;
		size_t n = 0;
		while (i + n < len && is_hex(s[i + n]))
			n++;
		if (n == 40 && (i + n == len || !is_alnum(s[i + n])) && !in_url(s, len, i)) {
			sbuf_add(out, s + from, i + 12 - from);
			from = i + n;
		}
		i += n - 1;
	}
	sbuf_add(out, s + from, len - from);
}

/* ---- wrapping ---- */

static int is_closing(uint32_t cp)
{
	static const uint32_t cl[] = {
		')', ']', '}', ',', '.', ';', ':', '!', '?', '%', 0x2019, 0x201D, 0x2026,
		0x3001, 0x3002, 0x3009, 0x300B, 0x300D, 0x300F, 0x3011, 0x3015, 0x3017,
		0xFF01, 0xFF09, 0xFF0C, 0xFF0E, 0xFF1A, 0xFF1B, 0xFF1F, 0xFF3D, 0xFF5D,
	};
	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++)
		if (cp == cl[i])
			return 1;
	return 0;
}

static int is_opening(uint32_t cp)
{
	static const uint32_t op[] = {
		'(', '[', '{', 0x2018, 0x201C, 0x3008, 0x300A, 0x300C, 0x300E, 0x3010, 0x3014,
		0x3016, 0xFF08, 0xFF3B, 0xFF5B,
	};
	for (size_t i = 0; i < sizeof(op) / sizeof(op[0]); i++)
		if (cp == op[i])
			return 1;
	return 0;
}

/* The end of the word starting at s[i]: the next space, or the next place
 * where a line may break between two characters (next to a wide one). */
static size_t word_end(const char *s, size_t i, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t prev = 0;
	size_t j = i;
	while (j < n && p[j] != ' ') {
		uint32_t cp;
		size_t len = u8_decode(p + j, n - j, &cp);
		if (!len)
			len = 1, cp = 0xFFFD;
		if (j > i && render_text_cp_width(cp) != 0 && !is_closing(cp) && !is_opening(prev) &&
		    (render_text_cp_width(cp) == 2 || render_text_cp_width(prev) == 2))
			break;
		prev = cp;
		j += len;
	}
	return j;
}

static void add_spaces(struct sbuf *out, size_t n)
{
	while (n--)
		sbuf_addc(out, ' ');
}

/* Write prefix + s[0..n) wrapped (see the top of the file), each line
 * ended by "\n", the lines after the first indented by indent columns.
 * Returns the widest line's width. */
static size_t wrap(struct sbuf *out, const char *prefix, size_t indent, const char *s, size_t n)
{
	size_t col = render_text_width(prefix, strlen(prefix)), widest = 0;
	int at_start = 1, space = 0;
	sbuf_adds(out, prefix);
	for (size_t i = 0; i < n;) {
		if (s[i] == ' ') {
			space = 1;
			i++;
			continue;
		}
		size_t j = word_end(s, i, n);
		size_t w = render_text_width(s + i, j - i);
		int url = 0;
		for (size_t k = i; k + 3 <= j && !url; k++)
			url = s[k] == ':' && s[k + 1] == '/' && s[k + 2] == '/';
		if (!at_start && col + (space ? 1 : 0) + w > W) {
			widest = col > widest ? col : widest;
			sbuf_addc(out, '\n');
			add_spaces(out, indent);
			col = indent;
			at_start = 1;
		} else if (!at_start && space) {
			sbuf_addc(out, ' ');
			col++;
		}
		space = 0;
		if (!url && col + w > W) {
			/* a word wider than the line: as much as fits, the rest on the next */
			size_t k = i;
			do {
				uint32_t cp;
				size_t len = u8_decode((const unsigned char *)s + k, n - k, &cp);
				if (!len)
					len = 1, cp = 0xFFFD;
				size_t cw = (size_t)render_text_cp_width(cp);
				if (k > i && col + cw > W)
					break;
				col += cw;
				k += len;
			} while (k < j);
			sbuf_add(out, s + i, k - i);
			i = k;
			at_start = 0;
			if (i < j) {
				widest = col > widest ? col : widest;
				sbuf_addc(out, '\n');
				add_spaces(out, indent);
				col = indent;
				at_start = 1;
			}
			continue;
		}
		sbuf_add(out, s + i, j - i);
		col += w;
		at_start = 0;
		i = j;
	}
	sbuf_addc(out, '\n');
	return col > widest ? col : widest;
}

/* ---- output ---- */

static struct txt *st(struct render_out *o)
{
	return o->state;
}

static void ensure_line_start(struct render_out *o)
{
	if (o->sb->len && st(o)->nl == 0) {
		sbuf_addc(o->sb, '\n');
		st(o)->nl = 1;
	}
}

static void blank(struct render_out *o)
{
	if (!o->sb->len)
		return;
	while (st(o)->nl < 2) {
		sbuf_addc(o->sb, '\n');
		st(o)->nl++;
	}
}

static void begin(struct render_out *o, const char *prefix, size_t indent)
{
	struct txt *t = st(o);
	sbuf_reset(&t->para);
	sbuf_reset(&t->prefix);
	sbuf_adds(&t->prefix, prefix);
	sbuf_adds(&t->para, "");
	t->indent = indent;
	t->open = 1;
}

/* Write the paragraph being collected; the widest line's width. */
static size_t flush(struct render_out *o)
{
	struct txt *t = st(o);
	if (!t->open)
		return 0;
	t->open = 0;
	ensure_line_start(o);
	size_t w = wrap(o->sb, t->prefix.buf, t->indent, t->para.buf, t->para.len);
	t->nl = 1;
	return w;
}

static void add_clean(struct render_out *o, const char *s, int short_ids)
{
	struct txt *t = st(o);
	if (!t->open)
		begin(o, "", 0);
	if (!short_ids) {
		clean_append(&t->para, s);
		return;
	}
	sbuf_reset(&t->clean);
	sbuf_adds(&t->clean, "");
	clean_append(&t->clean, s);
	short_ids_append(&t->para, t->clean.buf, t->clean.len);
}

static void refs_truncate(struct strv *sv, size_t n)
{
	while (sv->n > n)
		free(sv->v[--sv->n]);
}

/* The block's references under their label, then none. */
static void refs_write(struct render_out *o, enum render_label l)
{
	struct txt *t = st(o);
	if (!t->refs.n)
		return;
	flush(o);
	blank(o);
	begin(o, "", 0);
	sbuf_addf(&t->para, "%s:", render_label(o->d, l));
	flush(o);
	for (size_t i = 0; i < t->refs.n; i++) {
		char pre[32];
		snprintf(pre, sizeof(pre), "[%zu] ", t->mail_urls.n + i + 1);
		begin(o, pre, strlen(pre));
		sbuf_adds(&t->para, t->refs.v[i]);
		flush(o);
	}
	refs_truncate(&t->refs, 0);
}

/* ---- the operations ---- */

static void t_doc_begin(struct render_out *o, const char *title)
{
	o->state = kv_xcalloc(1, sizeof(struct txt));
	st(o)->nl = 2;
}

static void t_doc_end(struct render_out *o)
{
	struct txt *t = st(o);
	flush(o);
	refs_write(o, L_LINKS);
	while (o->sb->len > 1 && o->sb->buf[o->sb->len - 1] == '\n' && o->sb->buf[o->sb->len - 2] == '\n')
		o->sb->buf[--o->sb->len] = '\0';
	sbuf_release(&t->para);
	sbuf_release(&t->prefix);
	sbuf_release(&t->clean);
	strv_release(&t->mail_urls);
	strv_release(&t->refs);
	free(t->own_url);
	free(t->untagged);
	free(t);
	o->state = NULL;
}

static void t_heading_begin(struct render_out *o, int level)
{
	flush(o);
	blank(o);
	begin(o, "", 0);
}

static void t_heading_end(struct render_out *o, int level)
{
	size_t w = flush(o);
	if (level <= 2) {
		for (size_t i = 0; i < w && i < W; i++)
			sbuf_addc(o->sb, level == 1 ? '=' : '-');
		sbuf_addc(o->sb, '\n');
	}
}

static void t_para_begin(struct render_out *o, enum render_para kind)
{
	flush(o);
	blank(o);
	begin(o, kind == RP_BULLET ? "- " : "", kind == RP_BULLET ? 2 : 0);
}

static void t_para_end(struct render_out *o, enum render_para kind)
{
	flush(o);
}

static void t_list_begin(struct render_out *o, enum render_list kind)
{
	struct txt *t = st(o);
	flush(o);
	if (o->depth == 0)
		blank(o);
	t->kinds[o->depth + 1] = kind;
	if (kind == RL_NESTED)
		t->nuntagged = 0;
}

/* "0-2, 5, 7-9" from the folded patch indexes (ascending, may repeat). */
static void ranges(struct sbuf *out, const int *v, size_t n)
{
	int any = 0;
	for (size_t i = 0; i < n;) {
		if (v[i] < 0) {
			i++;
			continue;
		}
		size_t j = i;
		while (j + 1 < n && (v[j + 1] == v[j] || v[j + 1] == v[j] + 1))
			j++;
		sbuf_addf(out, any ? ", %d" : "%d", v[i]);
		if (v[j] != v[i])
			sbuf_addf(out, "-%d", v[j]);
		any = 1;
		i = j + 1;
	}
}

static void t_list_end(struct render_out *o, enum render_list kind)
{
	struct txt *t = st(o);
	flush(o);
	if (kind != RL_NESTED || !t->nuntagged)
		return;
	begin(o, "  - ", 4);
	/* the label is the format: two %zu, untagged then listed */
	sbuf_addf(&t->para, render_label(o->d, L_UNTAGGED), t->nuntagged, o->items[o->depth]);
	size_t before = t->para.len;
	sbuf_adds(&t->para, ": ");
	ranges(&t->para, t->untagged, t->nuntagged);
	if (t->para.len == before + 2) {
		t->para.len = before;
		t->para.buf[before] = '\0';
	}
	flush(o);
	t->nuntagged = 0;
}

static void t_item_begin(struct render_out *o, int number)
{
	struct txt *t = st(o);
	char pre[32];
	flush(o);
	t->item_number = number;
	if (number > 0)
		snprintf(pre, sizeof(pre), "[%d] ", number);
	else
		snprintf(pre, sizeof(pre), "%*s- ", 2 * (o->depth - 1), "");
	begin(o, pre, render_text_width(pre, strlen(pre)));
	if (t->kinds[o->depth] == RL_NESTED) {
		t->no_tags = 0;
		t->has_status = 0;
		t->refs_at_item = t->refs.n;
	}
}

static void t_item_end(struct render_out *o)
{
	struct txt *t = st(o);
	if (t->kinds[o->depth] == RL_NESTED && t->no_tags && !t->has_status) {
		/* folded: the item and its references vanish, its index is kept */
		t->open = 0;
		refs_truncate(&t->refs, t->refs_at_item);
		size_t k = o->items[o->depth];
		int index = o->thread && k >= 1 && k <= o->thread->npatches ? o->thread->patches[k - 1].index : -1;
		if (t->nuntagged == t->untagged_cap) {
			t->untagged_cap = t->untagged_cap ? 2 * t->untagged_cap : 16;
			t->untagged = kv_xrealloc(t->untagged, t->untagged_cap * sizeof(*t->untagged));
		}
		t->untagged[t->nuntagged++] = index;
		return;
	}
	size_t indent = t->indent;
	flush(o);
	if (t->own_url) {
		add_spaces(o->sb, indent);
		sbuf_adds(o->sb, t->own_url);
		sbuf_addc(o->sb, '\n');
		free(t->own_url);
		t->own_url = NULL;
	}
}

static void t_span_begin(struct render_out *o, enum render_span kind, const char *arg)
{
	struct txt *t = st(o);
	if (kind == RS_NO_TAGS)
		t->no_tags = 1;
	else if (kind == RS_STATUS)
		t->has_status = 1;
	else if (kind == RS_FROM && t->open) {
		/* the sender on a line of its own under the subject */
		size_t indent = t->indent;
		flush(o);
		char *pre = kv_xasprintf("%*s", (int)indent, "");
		begin(o, pre, indent);
		free(pre);
	}
}

static void t_span_end(struct render_out *o, enum render_span kind)
{
}

static void t_thread_begin(struct render_out *o)
{
	struct txt *t = st(o);
	struct sbuf url = SBUF_INIT;
	flush(o);
	refs_write(o, L_LINKS);
	for (size_t i = 0; o->thread && i < o->thread->nmails; i++) {
		sbuf_reset(&url);
		digest_lore_link(&url, o->d->lore_url, o->thread->mails[i].message_id);
		strv_push(&t->mail_urls, url.buf ? url.buf : "");
	}
	sbuf_release(&url);
}

static void t_thread_end(struct render_out *o)
{
	struct txt *t = st(o);
	flush(o);
	refs_write(o, L_OTHER_LINKS);
	refs_truncate(&t->mail_urls, 0);
}

static void t_rule(struct render_out *o, enum render_rule kind)
{
	flush(o);
	refs_write(o, L_LINKS);
	if (kind != RR_SECTION)
		return;
	blank(o);
	for (int i = 0; i < W; i++)
		sbuf_addc(o->sb, '-');
	sbuf_addc(o->sb, '\n');
	st(o)->nl = 1;
}

static void t_text(struct render_out *o, const char *s)
{
	add_clean(o, s, 1);
}

static void t_plain(struct render_out *o, const char *s)
{
	add_clean(o, s, 0);
}

static void t_link(struct render_out *o, const char *text, const char *url)
{
	struct txt *t = st(o);
	size_t n = 0;
	for (size_t i = 0; i < t->mail_urls.n && !n; i++)
		if (strcmp(t->mail_urls.v[i], url) == 0)
			n = i + 1;
	if (n && t->kinds[o->depth] == RL_MAILS && o->depth && (size_t)t->item_number == n) {
		/* the mail list's own link of a mail: its URL goes under it */
		free(t->own_url);
		t->own_url = kv_xstrdup(url);
		return;
	}
	if (!n) {
		size_t i = 0;
		while (i < t->refs.n && strcmp(t->refs.v[i], url) != 0)
			i++;
		if (i == t->refs.n)
			strv_push(&t->refs, url);
		n = t->mail_urls.n + i + 1;
	}
	char num[32];
	snprintf(num, sizeof(num), "[%zu]", n);
	if (strcmp(text, num) == 0) {
		add_clean(o, num, 0);   /* a citation: the number says it all */
		return;
	}
	add_clean(o, text, 0);
	add_clean(o, " ", 0);
	add_clean(o, num, 0);
}

static const struct render_ops text_ops = {
	.doc_begin = t_doc_begin,
	.doc_end = t_doc_end,
	.heading_begin = t_heading_begin,
	.heading_end = t_heading_end,
	.para_begin = t_para_begin,
	.para_end = t_para_end,
	.list_begin = t_list_begin,
	.list_end = t_list_end,
	.item_begin = t_item_begin,
	.item_end = t_item_end,
	.span_begin = t_span_begin,
	.span_end = t_span_end,
	.thread_begin = t_thread_begin,
	.thread_end = t_thread_end,
	.rule = t_rule,
	.text = t_text,
	.plain = t_plain,
	.link = t_link,
};

void render_text(const struct digest *d, struct sbuf *out)
{
	render_walk(d, &text_ops, out);
}
