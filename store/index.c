/*
 * index.c - the words of the store's word index: how text becomes terms
 * (index_tokenize, the same for indexing and for queries) and the set of
 * (term, message number) pairs a message or a batch of messages gives
 * (ixset_add_msg). index_db.c keeps them in LMDB and reads them back.
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
 * Phrase pairs: two tokens next to each other in a field's text as a
 * phrase check reads it (index_field_text: across line ends, identifier
 * pieces not counted), both in the store's pair word list, give the term
 * "B:dirty ring" (the field letter in upper case), so a phrase of common
 * words needs no look at the text.
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

/* ASCII: a word byte folded to lower case, 0 for a separator */
static const unsigned char ascii_word[128] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 0, 0, 0, 0, 0, 0,
	0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
	112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 0, 95,
	0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
	112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 0, 0,
};

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
			unsigned char ch = ascii_word[u[i++]];
			if (ch) {
				if (wn < INDEX_TOKEN_MAX)
					word[wn++] = (char)ch;
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

static uint32_t term_hash(const char *s, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		h = (h ^ x) * 0xFF51AFD7ED558CCDull;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

static void ixset_grow_slots(struct ixset *x)
{
	size_t cap = x->nslot ? x->nslot * 2 : 1024;
	uint64_t *slot = kv_xcalloc(cap, sizeof(*slot));

	for (size_t i = 0; i < x->nt; i++) {
		size_t h = x->t[i].hash & (cap - 1);
		while (slot[h])
			h = (h + 1) & (cap - 1);
		slot[h] = (uint64_t)x->t[i].hash << 32 | (i + 1);
	}
	free(x->slot);
	x->slot = slot;
	x->nslot = cap;
}

/* Term "F:tok" for message x->num: a new distinct term of the set, or one
 * more number of a known term unless this message named it already. */
static void add_key(struct ixset *x, const char *buf, size_t len, uint32_t hv)
{
	size_t h;
	uint32_t id;

	if ((x->nt + 1) * 2 > x->nslot)
		ixset_grow_slots(x);
	for (h = hv & (x->nslot - 1); x->slot[h]; h = (h + 1) & (x->nslot - 1)) {
		struct ixterm *t;
		if ((uint32_t)(x->slot[h] >> 32) != hv)
			continue;
		id = (uint32_t)x->slot[h] - 1;
		t = &x->t[id];
		if (t->len == len && !memcmp(x->bytes + t->off, buf, len)) {
			if (t->last == x->num)
				return;
			goto post;
		}
	}
	if (x->nt == x->capt) {
		x->capt = x->capt ? x->capt * 2 : 1024;
		x->t = kv_xrealloc(x->t, x->capt * sizeof(*x->t));
	}
	if (x->nbytes + len > x->capbytes) {
		x->capbytes = (x->nbytes + len) * 2 + 4096;
		x->bytes = kv_xrealloc(x->bytes, x->capbytes);
	}
	memcpy(x->bytes + x->nbytes, buf, len);
	id = (uint32_t)x->nt;
	x->t[x->nt++] = (struct ixterm){ (uint32_t)x->nbytes, (uint32_t)len, hv, 0 };
	x->nbytes += len;
	x->slot[h] = (uint64_t)hv << 32 | (id + 1);
post:
	x->t[id].last = x->num;
	if (x->np == x->capp) {
		x->capp = x->capp ? x->capp * 2 : 4096;
		x->p = kv_xrealloc(x->p, x->capp * sizeof(*x->p));
	}
	x->p[x->np++] = (struct ixpost){ id, x->num };
}

static void add_term(struct ixset *x, char field, const char *tok, size_t n)
{
	char buf[INDEX_TERM_MAX + 1];
	size_t len = n + 2;

	if (!n || len > INDEX_TERM_MAX || (x->only_pairs && field >= 'a'))
		return;
	buf[0] = field;
	buf[1] = ':';
	memcpy(buf + 2, tok, n);
	add_key(x, buf, len, term_hash(buf, len));
}

void ixset_release(struct ixset *x)
{
	free(x->bytes);
	free(x->t);
	free(x->slot);
	free(x->p);
	memset(x, 0, sizeof(*x));
}

/* ---- the pair word list ---- */

struct pairwords *pairwords_new(const char *v, size_t n)
{
	struct pairwords *pw = kv_xcalloc(1, sizeof(*pw));
	size_t cap = 0;

	pw->buf = kv_xmalloc(n + 1);
	memcpy(pw->buf, v, n);
	pw->buf[n] = 0;
	for (size_t i = 0; i < n;) {
		char *e = memchr(pw->buf + i, '\n', n - i);
		size_t len = e ? (size_t)(e - pw->buf - i) : n - i;
		pw->buf[i + len] = 0;
		if (len) {
			if (pw->n == cap) {
				cap = cap ? cap * 2 : 256;
				pw->w = kv_xrealloc(pw->w, cap * sizeof(*pw->w));
				pw->len = kv_xrealloc(pw->len, cap * sizeof(*pw->len));
			}
			pw->len[pw->n] = len;
			pw->w[pw->n++] = pw->buf + i;
		}
		i += len + 1;
	}
	for (pw->nslot = 64; pw->nslot < pw->n * 2; pw->nslot *= 2)
		;
	pw->slot = kv_xcalloc(pw->nslot, sizeof(*pw->slot));
	for (size_t i = 0; i < pw->n; i++) {
		size_t h = term_hash(pw->w[i], pw->len[i]) & (pw->nslot - 1);
		while (pw->slot[h])
			h = (h + 1) & (pw->nslot - 1);
		pw->slot[h] = (uint32_t)i + 1;
	}
	return pw;
}

void pairwords_free(struct pairwords *pw)
{
	if (!pw)
		return;
	free(pw->buf);
	free(pw->w);
	free(pw->len);
	free(pw->slot);
	free(pw);
}

/* tok[0..n), whose term_hash is hv, in the list? */
static int pairwords_find(const struct pairwords *pw, const char *tok, size_t n, uint32_t hv)
{
	for (size_t h = hv & (pw->nslot - 1); pw->slot[h]; h = (h + 1) & (pw->nslot - 1)) {
		uint32_t i = pw->slot[h] - 1;
		if (pw->len[i] == n && !memcmp(pw->w[i], tok, n))
			return 1;
	}
	return 0;
}

int pairwords_has(const struct pairwords *pw, const char *tok, size_t n)
{
	return pairwords_find(pw, tok, n, term_hash(tok, n));
}

int index_pair_field(char f)
{
	return f && strchr("sftclbq", f) != NULL;
}

/* ---- words and pairs ---- */

/* the token before, in the text a field's pairs come from */
struct pairst {
	char key[2 + 2 * INDEX_TOKEN_MAX + 1];   /* "B:" and the token before */
	size_t n;                     /* its length; 0: none, or not a pair word */
	uint32_t hv;                  /* its term_hash */
};

struct termctx {
	struct ixset *terms;
	char field;
	struct pairst *ps;            /* NULL: no pairs */
	int words;                    /* the words too, not only the pairs */
};

static void pair_add(struct ixset *x, char field, struct pairst *ps, const char *tok, size_t n)
{
	uint32_t hv = term_hash(tok, n);

	if (!pairwords_find(x->pw, tok, n, hv)) {
		ps->n = 0;
		return;
	}
	if (ps->n) {
		/* the pair's hash from its tokens' (the set only needs the
		 * same key to hash the same) */
		uint64_t z = ((uint64_t)ps->hv << 32 | hv) * 0xFF51AFD7ED558CCDull;
		ps->key[0] = (char)(field - 'a' + 'A');
		ps->key[1] = ':';
		ps->key[2 + ps->n] = ' ';
		memcpy(ps->key + 3 + ps->n, tok, n);
		add_key(x, ps->key, 3 + ps->n + n, (uint32_t)(z >> 32) ^ (uint32_t)z ^ (uint32_t)field);
	}
	memcpy(ps->key + 2, tok, n);
	ps->n = n;
	ps->hv = hv;
}

static void term_cb(void *ctx, const char *tok, size_t n, int part)
{
	struct termctx *tc = ctx;

	if (tc->words)
		add_term(tc->terms, tc->field, tok, n);
	if (tc->ps && !part)
		pair_add(tc->terms, tc->field, tc->ps, tok, n);
}

static void add_words(struct ixset *terms, char field, const char *s, size_t n)
{
	struct termctx tc = { terms, field, NULL, 1 };
	index_tokenize(s, n, term_cb, &tc);
}

/* The words of s[0..n) and, with a pair word list, its pairs, going on
 * from the state in ps (the field's line before). */
static void add_words_pairs(struct ixset *terms, char field, struct pairst *ps, const char *s, size_t n)
{
	struct termctx tc = { terms, field, terms->pw ? ps : NULL, 1 };
	index_tokenize(s, n, term_cb, &tc);
}

/* The pairs of a short field, from its text as the phrase check reads
 * it (its words are added on their own, addresses whole too). */
static void add_field_pairs(struct ixset *terms, const struct msg_rec *m, char field, struct sbuf *sb)
{
	struct pairst ps = { .n = 0 };
	struct termctx tc = { terms, field, &ps, 0 };

	sbuf_reset(sb);
	index_field_text(m, NULL, 0, field, sb);
	if (sb->len)
		index_tokenize(sb->buf, sb->len, term_cb, &tc);
}

/* An address whole (lowered) and its words. */
static void add_addr(struct ixset *terms, char field, const char *a, size_t n)
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

static void add_strs(struct ixset *terms, char field, const struct store_strs *l)
{
	const char *x = l->p;
	for (uint32_t i = 0; i < l->n; i++, x += strlen(x) + 1)
		add_addr(terms, field, x, strlen(x));
}

/* A diff file name: every prefix, every component and its words. */
static void add_path(struct ixset *terms, const char *p, size_t n)
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
static int add_trailer(struct ixset *terms, const char *l, size_t n)
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

static void body_terms(const char *text, size_t tlen, struct ixset *terms)
{
	struct pairst pb = { .n = 0 }, pq = { .n = 0 };

	for (size_t i = 0; i < tlen;) {
		const char *l = text + i, *nl = memchr(l, '\n', tlen - i);
		size_t n = nl ? (size_t)(nl - l) : tlen - i;

		i += n + 1;
		if (index_line_quoted(l, n)) {
			add_words_pairs(terms, IX_QUOTED, &pq, l, n);
			continue;
		}
		add_words_pairs(terms, IX_BODY, &pb, l, n);
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

void ixset_add_msg(struct ixset *terms, const struct msg_rec *m, const char *text, size_t tlen,
		   uint32_t num)
{
	terms->num = num;
	add_words(terms, IX_SUBJECT, m->subject, strlen(m->subject));
	add_words(terms, IX_FROM, m->from_name, strlen(m->from_name));
	add_addr(terms, IX_FROM, m->from_addr, strlen(m->from_addr));
	add_strs(terms, IX_TO, &m->to);
	add_strs(terms, IX_CC, &m->cc);
	add_words(terms, IX_LIST, m->list_id, strlen(m->list_id));
	add_term(terms, IX_MID, m->message_id, strlen(m->message_id));
	if (terms->pw) {
		static const char fields[] = { IX_SUBJECT, IX_FROM, IX_TO, IX_CC, IX_LIST };
		struct sbuf sb = SBUF_INIT;
		for (size_t i = 0; i < sizeof(fields); i++)
			add_field_pairs(terms, m, fields[i], &sb);
		sbuf_release(&sb);
	}
	if (text)
		body_terms(text, tlen, terms);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void index_terms(const struct msg_rec *m, const char *text, size_t tlen, const struct pairwords *pw,
		 struct strv *out)
{
	struct ixset x;

	memset(&x, 0, sizeof(x));
	x.pw = pw;
	ixset_add_msg(&x, m, text, tlen, 1);
	for (size_t i = 0; i < x.nt; i++)
		strv_push_owned(out, kv_xstrndup(x.bytes + x.t[i].off, x.t[i].len));
	ixset_release(&x);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(out->v[0]), cmp_str);
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
