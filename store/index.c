/*
 * index.c - the store's word index: terms to the numbers of the messages
 * that hold them, in the LMDB database "term" (sorted duplicates of fixed
 * size, native unsigned 32-bit message numbers: MDB_DUPSORT | MDB_DUPFIXED
 * | MDB_INTEGERDUP, so a posting list is a packed sorted array LMDB hands
 * out a page at a time). Written in the same write transaction as the
 * message (store.c add_one), so the index and the messages never disagree.
 *
 * A term is a field letter, ':', then a token: "s:vgic", "f:maz@kernel.org".
 * Fields (store_int.h): s subject, f from (name words, the address whole and
 * its words), t to and c cc (addresses whole and their words), b body text
 * that is new (not quoted; patches included), q quoted body lines (lines
 * starting with '>'), p diff file names, h diff hunk function headers,
 * r trailers ("Reviewed-by:" and every other "*-by:" line) by address and
 * name words, l List-Id words, m the Message-ID whole.
 *
 * Tokenisation (index_tokenize), the same for indexing and for queries:
 *  - A word is a run of ASCII letters, digits and '_' and of non-ASCII
 *    letters (any code point that is not CJK and not punctuation); every
 *    other byte separates words. So "vgic-v3" is the words vgic, v3 and
 *    "v5.10" is v5, 10.
 *  - Case folding: ASCII letters, Latin-1 and basic Cyrillic/Greek capitals
 *    are lowered; other scripts are kept as they are.
 *  - Identifiers: a word with '_' (kvm_vgic_init, CONFIG_ARM64_SME) is a
 *    token whole and also each of its pieces between underscores (kvm,
 *    vgic, init); the pieces are not positions, so a phrase matches the
 *    whole identifier only.
 *  - CJK (kana, hangul, CJK ideographs): each run becomes its overlapping
 *    character bigrams (a lone character is itself a token), so any two or
 *    more consecutive characters can be searched as a phrase of bigrams.
 *  - Words longer than INDEX_TOKEN_MAX bytes (base64, hashes) are left out.
 * Addresses are also indexed whole, lowered ("f:maz@kernel.org"). A diff
 * file name a/arch/arm64/kvm/vgic/vgic-init.c gives every path prefix
 * (p:arch, p:arch/arm64, ... the whole path), every component and the
 * words of each component (p:vgic-init.c, p:vgic, p:init, p:c).
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

/* ---- tokenising ---- */

/* One UTF-8 code point at s[*i]; invalid bytes read as 0xFFFD. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	uint32_t cp;
	size_t len;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xE0) == 0xC0) {
		cp = c & 0x1F;
		len = 2;
	} else if ((c & 0xF0) == 0xE0) {
		cp = c & 0x0F;
		len = 3;
	} else if ((c & 0xF8) == 0xF0) {
		cp = c & 0x07;
		len = 4;
	} else {
		(*i)++;
		return 0xFFFD;
	}
	if (*i + len > n) {
		(*i)++;
		return 0xFFFD;
	}
	for (size_t k = 1; k < len; k++) {
		if ((s[*i + k] & 0xC0) != 0x80) {
			(*i)++;
			return 0xFFFD;
		}
		cp = (cp << 6) | (s[*i + k] & 0x3F);
	}
	*i += len;
	return cp;
}

static int is_cjk(uint32_t c)
{
	return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) ||
	       (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FA1F);
}

/* Letters and digits of a word (ASCII rules below 0x80). */
static int is_wordc(uint32_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
	if (c <= 0xBF || c == 0xD7 || c == 0xF7 || c == 0xFFFD)
		return 0;
	if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) || (c >= 0xFE30 && c <= 0xFE4F) ||
	    (c >= 0xFF00 && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) ||
	    (c >= 0x1F000 && c <= 0x1FAFF))
		return 0;
	return !is_cjk(c);
}

static uint32_t fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 32;
	if (c >= 0x391 && c <= 0x3A9)
		return c + 32;
	if (c >= 0x410 && c <= 0x42F)
		return c + 32;
	if (c >= 0x400 && c <= 0x40F)
		return c + 80;
	return c;
}

static size_t utf8_put(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xC0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xE0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	o[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

static void emit_word(const char *w, size_t n, index_tok_cb cb, void *ctx)
{
	if (!n || n > INDEX_TOKEN_MAX)
		return;
	cb(ctx, w, n, 0);
	if (!memchr(w, '_', n))
		return;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && w[j] != '_')
			j++;
		if (j > i && (i > 0 || j < n))
			cb(ctx, w + i, j - i, 1);
		i = j + 1;
	}
}

void index_tokenize(const char *s, size_t n, index_tok_cb cb, void *ctx)
{
	const unsigned char *u = (const unsigned char *)s;
	char word[INDEX_TOKEN_MAX + 8];
	size_t wn = 0, i = 0;
	int toolong = 0;
	uint32_t prev_cjk = 0;   /* the last CJK character of a run, 0 outside one */
	int cjk_run = 0;

	while (i <= n) {
		/* ASCII outside a CJK run: the common case, byte by byte */
		if (!prev_cjk && i < n && u[i] < 0x80) {
			unsigned char ch = u[i++];
			if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_') {
				if (wn < INDEX_TOKEN_MAX)
					word[wn++] = (char)ch;
				else
					toolong = 1;
			} else if (ch >= 'A' && ch <= 'Z') {
				if (wn < INDEX_TOKEN_MAX)
					word[wn++] = (char)(ch + 32);
				else
					toolong = 1;
			} else if (wn || toolong) {
				if (!toolong)
					emit_word(word, wn, cb, ctx);
				wn = 0;
				toolong = 0;
			}
			continue;
		}
		uint32_t c = i < n ? utf8_next(u, n, &i) : (i++, 0);

		if (c && is_wordc(c)) {
			char tmp[4];
			size_t k = utf8_put(tmp, fold(c));
			if (wn + k <= INDEX_TOKEN_MAX) {
				memcpy(word + wn, tmp, k);
				wn += k;
			} else {
				toolong = 1;
			}
		} else if (wn || toolong) {
			if (!toolong)
				emit_word(word, wn, cb, ctx);
			wn = 0;
			toolong = 0;
		}
		if (c && is_cjk(c)) {
			if (prev_cjk) {
				char bi[8];
				size_t k = utf8_put(bi, prev_cjk);
				k += utf8_put(bi + k, c);
				cb(ctx, bi, k, 0);
			}
			cjk_run = prev_cjk ? cjk_run + 1 : 1;
			prev_cjk = c;
		} else {
			if (prev_cjk && cjk_run == 1) {
				char one[4];
				cb(ctx, one, utf8_put(one, prev_cjk), 0);
			}
			prev_cjk = 0;
			cjk_run = 0;
		}
	}
}

/* ---- the terms of a message ---- */

/* A message's distinct terms: the strings in v, a hash table of their
 * indexes (+1; 0 empty) so a repeated word costs no allocation. */
struct termset {
	struct strv *v;
	uint32_t *slot;
	size_t cap;
};

struct termctx {
	struct termset *terms;
	char field;
};

static uint64_t term_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static void ts_grow(struct termset *ts)
{
	size_t cap = ts->cap ? ts->cap * 2 : 1024;
	uint32_t *slot = kv_xcalloc(cap, sizeof(*slot));

	for (size_t i = 0; i < ts->v->n; i++) {
		size_t h = term_hash(ts->v->v[i], strlen(ts->v->v[i])) & (cap - 1);
		while (slot[h])
			h = (h + 1) & (cap - 1);
		slot[h] = (uint32_t)i + 1;
	}
	free(ts->slot);
	ts->slot = slot;
	ts->cap = cap;
}

static void add_term(struct termset *terms, char field, const char *tok, size_t n)
{
	char buf[INDEX_TERM_MAX + 1];
	size_t h;

	if (!n || n + 2 > INDEX_TERM_MAX)
		return;
	buf[0] = field;
	buf[1] = ':';
	memcpy(buf + 2, tok, n);
	buf[n + 2] = 0;
	if ((terms->v->n + 1) * 2 > terms->cap)
		ts_grow(terms);
	for (h = term_hash(buf, n + 2) & (terms->cap - 1); terms->slot[h]; h = (h + 1) & (terms->cap - 1))
		if (!strcmp(terms->v->v[terms->slot[h] - 1], buf))
			return;
	strv_push_owned(terms->v, kv_xstrndup(buf, n + 2));
	terms->slot[h] = (uint32_t)terms->v->n;
}

static void term_cb(void *ctx, const char *tok, size_t n, int part)
{
	struct termctx *tc = ctx;
	(void)part;
	add_term(tc->terms, tc->field, tok, n);
}

static void add_words(struct termset *terms, char field, const char *s, size_t n)
{
	struct termctx tc = { terms, field };
	index_tokenize(s, n, term_cb, &tc);
}

/* An address whole (lowered) and its words. */
static void add_addr(struct termset *terms, char field, const char *a, size_t n)
{
	char buf[INDEX_TERM_MAX];

	if (!n || n >= sizeof(buf))
		return;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i]);
	if (memchr(buf, '@', n))
		add_term(terms, field, buf, n);
	add_words(terms, field, a, n);
}

static void add_strs(struct termset *terms, char field, const struct store_strs *l)
{
	const char *x = l->p;
	for (uint32_t i = 0; i < l->n; i++, x += strlen(x) + 1)
		add_addr(terms, field, x, strlen(x));
}

/* A diff file name: every prefix, every component and its words. */
static void add_path(struct termset *terms, const char *p, size_t n)
{
	char buf[INDEX_TERM_MAX];

	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	if ((n >= 2 && (p[0] == 'a' || p[0] == 'b') && p[1] == '/')) {
		p += 2;
		n -= 2;
	}
	if (!n || n >= sizeof(buf) || (n == 9 && !memcmp(p, "/dev/null", 9)))
		return;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i == n || buf[i] == '/') {
			if (i > 0)
				add_term(terms, IX_DFN, buf, i);
			if (i > start) {
				add_term(terms, IX_DFN, buf + start, i - start);
				add_words(terms, IX_DFN, buf + start, i - start);
			}
			start = i + 1;
		}
	}
}

static int starts(const char *l, size_t n, const char *w)
{
	size_t k = strlen(w);
	return n >= k && !memcmp(l, w, k);
}

/* "Reviewed-by: Name <addr>" and the like: the address and the name's
 * words. 1 when the line is a trailer. */
static int add_trailer(struct termset *terms, const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && ((l[i] >= 'a' && l[i] <= 'z') || (l[i] >= 'A' && l[i] <= 'Z') || l[i] == '-'))
		i++;
	if (i < 4 || i >= n || l[i] != ':' || (l[i - 3] != '-' || (l[i - 2] | 32) != 'b' || (l[i - 1] | 32) != 'y'))
		return 0;
	const char *v = l + i + 1, *lt = memchr(v, '<', (size_t)(l + n - v));
	size_t vn = (size_t)(l + n - v);
	if (lt) {
		const char *gt = memchr(lt, '>', (size_t)(l + n - lt));
		if (gt)
			add_addr(terms, IX_TRAILER, lt + 1, (size_t)(gt - lt - 1));
		add_words(terms, IX_TRAILER, v, (size_t)(lt - v));
	} else {
		add_addr(terms, IX_TRAILER, v + strspn(v, " \t"), vn - strspn(v, " \t"));
	}
	return 1;
}

int index_line_quoted(const char *l, size_t n)
{
	size_t i = 0;
	while (i < n && i < 4 && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return i < n && l[i] == '>';
}

static void body_terms(const char *text, size_t tlen, struct termset *terms)
{
	for (size_t i = 0; i < tlen;) {
		const char *l = text + i, *nl = memchr(l, '\n', tlen - i);
		size_t n = nl ? (size_t)(nl - l) : tlen - i;

		i += n + 1;
		if (index_line_quoted(l, n)) {
			add_words(terms, IX_QUOTED, l, n);
			continue;
		}
		add_words(terms, IX_BODY, l, n);
		if (starts(l, n, "diff --git ")) {
			const char *a = l + 11, *sp = memchr(a, ' ', n - 11);
			if (sp) {
				add_path(terms, a, (size_t)(sp - a));
				add_path(terms, sp + 1, (size_t)(l + n - sp - 1));
			}
		} else if ((starts(l, n, "+++ ") || starts(l, n, "--- ")) && n > 4 &&
			   (starts(l + 4, n - 4, "a/") || starts(l + 4, n - 4, "b/"))) {
			const char *tab = memchr(l + 4, '\t', n - 4);
			add_path(terms, l + 4, tab ? (size_t)(tab - l - 4) : n - 4);
		} else if (starts(l, n, "@@ ")) {
			const char *e = n > 3 ? memchr(l + 3, '@', n - 3) : NULL;
			if (e && e + 1 < l + n && e[1] == '@')
				add_words(terms, IX_DFHH, e + 2, (size_t)(l + n - e - 2));
		} else {
			add_trailer(terms, l, n);
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void index_terms(const struct msg_rec *m, const char *text, size_t tlen, struct strv *out)
{
	struct termset ts = { out, NULL, 0 }, *terms = &ts;
	size_t w = 0;

	add_words(terms, IX_SUBJECT, m->subject, strlen(m->subject));
	add_words(terms, IX_FROM, m->from_name, strlen(m->from_name));
	add_addr(terms, IX_FROM, m->from_addr, strlen(m->from_addr));
	add_strs(terms, IX_TO, &m->to);
	add_strs(terms, IX_CC, &m->cc);
	add_words(terms, IX_LIST, m->list_id, strlen(m->list_id));
	add_term(terms, IX_MID, m->message_id, strlen(m->message_id));
	if (text)
		body_terms(text, tlen, terms);
	free(ts.slot);
	if (!out->n)
		return;
	qsort(out->v, out->n, sizeof(out->v[0]), cmp_str);
	for (size_t i = 0; i < out->n; i++) {
		if (w && !strcmp(out->v[w - 1], out->v[i])) {
			free(out->v[i]);
			continue;
		}
		out->v[w++] = out->v[i];
	}
	out->n = w;
}

void index_field_text(const struct msg_rec *m, const char *text, size_t tlen, int field,
		      struct sbuf *sb)
{
	switch (field) {
	case IX_SUBJECT:
		sbuf_adds(sb, m->subject);
		return;
	case IX_FROM:
		sbuf_addf(sb, "%s\n%s", m->from_name, m->from_addr);
		return;
	case IX_LIST:
		sbuf_adds(sb, m->list_id);
		return;
	case IX_TO:
	case IX_CC: {
		const struct store_strs *l = field == IX_TO ? &m->to : &m->cc;
		const char *x = l->p;
		for (uint32_t i = 0; i < l->n; i++, x += strlen(x) + 1)
			sbuf_addf(sb, "%s\n", x);
		return;
	}
	case IX_BODY:
	case IX_QUOTED:
		break;
	default:
		return;
	}
	if (!text)
		return;
	/* the kept lines, each with a newline: at most tlen + 1 bytes */
	sbuf_grow(sb, tlen + 1);
	for (size_t i = 0; i < tlen;) {
		const char *l = text + i, *nl = memchr(l, '\n', tlen - i);
		size_t n = nl ? (size_t)(nl - l) : tlen - i;

		i += n + 1;
		if (index_line_quoted(l, n) == (field == IX_QUOTED)) {
			memcpy(sb->buf + sb->len, l, n);
			sb->buf[sb->len + n] = '\n';
			sb->len += n + 1;
		}
	}
	sb->buf[sb->len] = '\0';
}

/* ---- writing ---- */

int index_ready(struct db_txn *t, struct store *s, struct kv_err *err)
{
	struct db_val v;
	int rc = db_get(t, s->d[D_META], "schema_version", 14, &v, err);

	if (rc < 0)
		return -1;
	return rc == 0 && v.n == 1 && ((const char *)v.p)[0] == '2';
}

static int index_put(struct db_txn *t, struct store *s, uint64_t num, const struct msg_rec *m,
		     const char *text, size_t tlen, struct kv_err *err)
{
	struct strv terms = STRV_INIT;
	unsigned int v = (unsigned int)num;
	int rc = 0;

	if (num > 0xFFFFFFFFull)
		return kv_err_set(err, "message %llu: past the word index's 32-bit numbers",
				  (unsigned long long)num);
	index_terms(m, text, tlen, &terms);
	for (size_t i = 0; i < terms.n && rc == 0; i++)
		rc = db_put(t, s->d[D_TERM], terms.v[i], strlen(terms.v[i]), &v, sizeof(v), 0, err);
	strv_release(&terms);
	return rc;
}

/* The (term, number) pairs of a batch; the terms are owned. */
struct ixbatch {
	struct ixent {
		char *term;
		unsigned int num;
	} *v;
	size_t n, cap;
};

int index_add(struct wctx *w, const struct msg_rec *m, const char *text, size_t tlen)
{
	struct strv terms = STRV_INIT;
	struct ixbatch *b;

	if (m->num > 0xFFFFFFFFull)
		return kv_err_set(w->err, "message %llu: past the word index's 32-bit numbers",
				  (unsigned long long)m->num);
	if (!w->ix)
		w->ix = kv_xcalloc(1, sizeof(*w->ix));
	b = w->ix;
	index_terms(m, text, tlen, &terms);
	if (b->n + terms.n > b->cap) {
		b->cap = (b->n + terms.n) * 2;
		b->v = kv_xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	for (size_t i = 0; i < terms.n; i++) {
		b->v[b->n].term = terms.v[i];
		b->v[b->n++].num = (unsigned int)m->num;
	}
	free(terms.v);
	return 0;
}

void index_drop(struct wctx *w)
{
	struct ixbatch *b = w->ix;

	if (!b)
		return;
	w->ix = NULL;
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].term);
	free(b->v);
	free(b);
}

static int cmp_ixent(const void *a, const void *b)
{
	const struct ixent *x = a, *y = b;
	int c = strcmp(x->term, y->term);
	return c ? c : (x->num > y->num) - (x->num < y->num);
}

int index_flush(struct wctx *w)
{
	struct ixbatch *b = w->ix;
	struct db_cursor *c = NULL;
	unsigned int *vals = NULL;
	int rc = 0;

	if (!b)
		return 0;
	w->ix = NULL;
	if (b->n) {
		qsort(b->v, b->n, sizeof(*b->v), cmp_ixent);
		vals = kv_xmalloc(b->n * sizeof(*vals));
		rc = db_cursor_open(w->t, w->s->d[D_TERM], &c, w->err);
	}
	for (size_t i = 0; i < b->n && rc == 0;) {
		size_t j = i, k = 0;
		while (j < b->n && !strcmp(b->v[j].term, b->v[i].term)) {
			if (!k || vals[k - 1] != b->v[j].num)
				vals[k++] = b->v[j].num;
			j++;
		}
		rc = db_cursor_put_multiple(c, b->v[i].term, strlen(b->v[i].term), vals, sizeof(*vals), k, w->err);
		i = j;
	}
	if (c)
		db_cursor_close(c);
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].term);
	free(b->v);
	free(b);
	free(vals);
	return rc;
}

/* ---- reading ---- */

static void push_vals(uint64_t **v, size_t *n, size_t *cap, const void *p, size_t bytes)
{
	size_t k = bytes / sizeof(unsigned int);
	const unsigned int *u = p;

	if (*n + k > *cap) {
		*cap = (*n + k) * 2;
		*v = kv_xrealloc(*v, *cap * sizeof(**v));
	}
	for (size_t i = 0; i < k; i++) {
		unsigned int x;
		memcpy(&x, u + i, sizeof(x));
		(*v)[(*n)++] = x;
	}
}

/* Every value of the key the cursor is at, appended. 0 / -1. */
static int read_dups(struct db_cursor *c, const struct db_val *first, uint64_t **v, size_t *n,
		     size_t *cap, struct kv_err *err)
{
	size_t cnt;
	struct db_val dv;
	int rc;

	if (db_cursor_count(c, &cnt, err) < 0)
		return -1;
	if (cnt == 1) {
		push_vals(v, n, cap, first->p, first->n);
		return 0;
	}
	for (rc = db_cursor_get(c, DB_GET_MULTIPLE, NULL, &dv, err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT_MULTIPLE, NULL, &dv, err))
		push_vals(v, n, cap, dv.p, dv.n);
	return rc < 0 ? -1 : 0;
}

int index_postings(struct store_reader *r, const char *term, size_t tn, uint64_t **v, size_t *n,
		   struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val k = { term, tn }, dv;
	size_t cap = 0;
	int rc;

	*v = NULL;
	*n = 0;
	if (!tn || tn > INDEX_TERM_MAX)
		return 0;
	if (db_cursor_open(r->t, r->s->d[D_TERM], &c, err) < 0)
		return -1;
	rc = db_cursor_get(c, DB_SET, &k, &dv, err);
	if (rc == 0)
		rc = read_dups(c, &dv, v, n, &cap, err);
	db_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int index_prefix(struct store_reader *r, const char *prefix, size_t pn, uint64_t **v, size_t *n,
		 struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val k = { prefix, pn }, dv;
	size_t cap = 0, w = 0;
	int rc, keys = 0;

	*v = NULL;
	*n = 0;
	if (db_cursor_open(r->t, r->s->d[D_TERM], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_SET_RANGE, &k, &dv, err);
	     rc == 0 && k.n >= pn && !memcmp(k.p, prefix, pn);
	     rc = db_cursor_get(c, DB_NEXT_NODUP, &k, &dv, err)) {
		if (read_dups(c, &dv, v, n, &cap, err) < 0) {
			rc = -1;
			break;
		}
		keys++;
	}
	db_cursor_close(c);
	if (rc < 0)
		return -1;
	if (keys > 1 && *n) {
		qsort(*v, *n, sizeof(**v), cmp_u64);
		for (size_t i = 0; i < *n; i++)
			if (!w || (*v)[w - 1] != (*v)[i])
				(*v)[w++] = (*v)[i];
		*n = w;
	}
	return 0;
}

/* ---- checking ---- */

int index_check(struct store *s, struct db_txn *t, const struct blobmap *maps, uint64_t nmsg,
		struct kv_err *err)
{
	struct db_cursor *c, *tc;
	struct db_val kv, v;
	uint64_t total = 0, entries;
	int rc, ret = 0;

	if (db_cursor_open(t, s->d[D_MSG], &c, err) < 0)
		return -1;
	if (db_cursor_open(t, s->d[D_TERM], &tc, err) < 0) {
		db_cursor_close(c);
		return -1;
	}
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0 && ret == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		uint64_t num = db_get_be64(kv.p);
		struct msg_rec m;
		struct strv terms = STRV_INIT;
		char *owned = NULL, *towned = NULL;
		const char *text = NULL;
		size_t tlen = 0;
		unsigned int u = (unsigned int)num;

		if (msg_load(t, s, &maps[F_REC], num, &m, &owned, err) != 0 ||
		    text_load(t, s, &maps[F_REC], &maps[F_RAW], num, &text, &tlen, &towned, err) != 0) {
			free(owned);
			ret = -1;
			break;
		}
		index_terms(&m, text, tlen, &terms);
		total += terms.n;
		for (size_t i = 0; i < terms.n && ret == 0; i++) {
			struct db_val tk = { terms.v[i], strlen(terms.v[i]) }, tv = { &u, sizeof(u) };
			int r2 = db_cursor_get(tc, DB_GET_BOTH, &tk, &tv, err);
			if (r2 < 0)
				ret = -1;
			else if (r2 == 1) {
				kv_err_set(err, "word index: message %llu's term \"%.200s\" is missing "
					   "(run kvmarm-store reindex)", (unsigned long long)num, terms.v[i]);
				ret = 1;
			}
		}
		strv_release(&terms);
		free(owned);
		free(towned);
	}
	if (rc < 0)
		ret = -1;
	(void)nmsg;
	if (ret == 0 && (ret = db_entries(t, s->d[D_TERM], &entries, err)) == 0 && entries != total) {
		/* more postings than terms: find one that names no message or a
		 * term that message does not have */
		ret = 1;
		kv_err_set(err, "word index holds %llu postings, the messages have %llu terms",
			   (unsigned long long)entries, (unsigned long long)total);
		for (rc = db_cursor_get(tc, DB_FIRST, &kv, &v, err); rc == 0;
		     rc = db_cursor_get(tc, DB_NEXT, &kv, &v, err)) {
			unsigned int x;
			unsigned char k[8];
			struct db_val mv;
			memcpy(&x, v.p, sizeof(x));
			db_be64(k, x);
			if (db_get(t, s->d[D_MSG], k, 8, &mv, err) == 1) {
				kv_err_set(err, "word index: term \"%.*s\" names message %u, which is not stored",
					   (int)(kv.n > 200 ? 200 : kv.n), (const char *)kv.p, x);
				break;
			}
		}
	}
	db_cursor_close(tc);
	db_cursor_close(c);
	return ret;
}

/* ---- schema 1 stores: building the index in place ---- */

int store_index_ready(struct store *s, struct kv_err *err)
{
	struct db_txn *t;
	int rc;

	if (db_txn_begin(s->env, 1, &t, err) < 0)
		return -1;
	rc = index_ready(t, s, err);
	db_txn_abort(t);
	return rc;
}

#define REINDEX_BATCH 2000

/* One batch: messages after meta "index_upto", at most REINDEX_BATCH of
 * them; the batch that reaches the last message sets schema 2.
 * 0 more to do, 1 done, -1, DB_FULL. */
static int reindex_batch(struct store *s, uint64_t *done, uint64_t *total, struct kv_err *err)
{
	struct db_txn *t;
	uint64_t upto, next, num;
	int rc;

	if (db_txn_begin(s->env, 0, &t, err) < 0)
		return -1;
	if ((rc = index_ready(t, s, err)) != 0) {
		db_txn_abort(t);
		return rc < 0 ? -1 : 1;
	}
	if (meta_get_u64(t, s, "index_upto", &upto, err) < 0 || meta_get_u64(t, s, "next_num", &next, err) < 0) {
		db_txn_abort(t);
		return -1;
	}
	/* a fresh start: whatever a store without the index holds under
	 * "term" (an older program's leftovers) goes */
	rc = upto == 0 ? db_drop(t, s->d[D_TERM], err) : 0;
	for (num = upto + 1; num < next && num <= upto + REINDEX_BATCH && rc == 0; num++) {
		struct msg_rec m;
		char *owned = NULL, *towned = NULL;
		const char *text = NULL;
		size_t tlen = 0;

		rc = msg_load(t, s, NULL, num, &m, &owned, err);
		if (rc == 1) {   /* numbers are dense, but a gap is no reason to stop */
			rc = 0;
			continue;
		}
		if (rc == 0 && (rc = text_load(t, s, NULL, NULL, num, &text, &tlen, &towned, err)) == 0)
			rc = index_put(t, s, num, &m, text, tlen, err);
		free(owned);
		free(towned);
	}
	upto = num - 1;
	if (rc == 0)
		rc = meta_put_u64(t, s, "index_upto", upto, err);
	if (rc == 0 && upto + 1 >= next) {
		rc = db_put(t, s->d[D_META], "schema_version", 14, "2", 1, 0, err);
		if (rc == 0)
			rc = db_del(t, s->d[D_META], "index_upto", 10, NULL, 0, err) < 0 ? -1 : 0;
	}
	if (rc != 0) {
		int full = db_txn_full(t);
		db_txn_abort(t);
		return full ? DB_FULL : -1;
	}
	if ((rc = db_txn_commit(t, err)) != 0)
		return rc;
	*done = upto;
	*total = next ? next - 1 : 0;
	return upto + 1 >= next;
}

int store_reindex(struct store *s, store_progress_cb progress, void *ctx, struct kv_err *err)
{
	uint64_t done = 0, total = 0;

	if (s->rdonly)
		return kv_err_set(err, "%s: store opened read-only", s->dir);
	for (int grows = 0;;) {
		int rc = reindex_batch(s, &done, &total, err);
		if (rc == DB_FULL) {
			if (++grows > 30 || db_env_grow(s->env, err) < 0)
				return -1;
			continue;
		}
		if (rc < 0)
			return -1;
		if (progress)
			progress(ctx, done, total);
		if (rc == 1)
			return 0;
	}
}
