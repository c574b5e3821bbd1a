/*
 * phrase.c - the second step of a phrase search (query.c): the message
 * numbers the word index gives for all of a phrase's words are kept when
 * the field's text, tokenised as index.c does, holds the words in order.
 */
#include "store_int.h"
#include "phrase.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

/* Phrase matching while the text is tokenised: the last n tokens in a
 * ring, compared with the phrase at each new token; no allocation. */
struct phrase_st {
	const struct strv *toks;
	char ring[PHRASE_MAX][INDEX_TOKEN_MAX + 1];
	size_t seen;
	int found;
};

static void phrase_cb(void *ctx, const char *tok, size_t n, int part)
{
	struct phrase_st *ps = ctx;
	size_t k = ps->toks->n;

	if (part || ps->found)
		return;
	memcpy(ps->ring[ps->seen % k], tok, n);
	ps->ring[ps->seen % k][n] = 0;
	ps->seen++;
	if (ps->seen < k)
		return;
	for (size_t i = 0; i < k; i++)
		if (strcmp(ps->ring[(ps->seen - k + i) % k], ps->toks->v[i]))
			return;
	ps->found = 1;
}

/* The phrase's tokens in text[0..len) (all of it tokenised): found, and
 * the number of tokens seen into *seen. */
static int phrase_run(struct phrase_st *ps, const char *text, size_t len, size_t *seen)
{
	ps->seen = 0;
	ps->found = 0;
	index_tokenize(text, len, phrase_cb, ps);
	*seen = ps->seen;
	return ps->found;
}

static int ascii_wordc(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A field's text as the phrase check sees it: text[0..n), of which a
 * body field keeps only its new (quoted 0) or quoted (quoted 1) lines,
 * each followed by a newline, as index_field_text joins them; quoted -1:
 * all of it. The check runs on the stored text, not on a joined copy. */
struct fview {
	const char *t;
	size_t n;
	int quoted;
};

/* Line [*ls, *le) of v holding byte i (*le: its newline or the end);
 * base: a line start at or before i. 1 when the field keeps it. */
static int view_line(const struct fview *v, size_t base, size_t i, size_t *ls, size_t *le)
{
	const char *nl;

	if (v->quoted < 0) {
		*ls = 0;
		*le = v->n;
		return 1;
	}
	nl = i > base ? memrchr(v->t + base, '\n', i - base) : NULL;
	*ls = nl ? (size_t)(nl - v->t) + 1 : base;
	nl = memchr(v->t + i, '\n', v->n - i);
	*le = nl ? (size_t)(nl - v->t) : v->n;
	return index_line_quoted(v->t + *ls, *le - *ls) == v->quoted;
}

/* The field's text from byte i (in kept line ending at le) on: at least
 * min bytes of it when it has them, ended at an ASCII byte that is no
 * word character or at the field's end, so that its tokens are the first
 * tokens of the whole rest. A view of v when no left-out line falls
 * inside, else joined into win. *end: nothing of the field follows. */
static const char *view_window(const struct fview *v, size_t i, size_t le, size_t min,
			       struct sbuf *win, size_t *wlen, int *end)
{
	const unsigned char *u = (const unsigned char *)v->t;
	size_t ls, e;

	for (;;) {
		if (le - i >= min) {
			e = i + min;
			while (e < le && (u[e] >= 0x80 || ascii_wordc(u[e])))
				e++;
			*wlen = e - i;
			*end = e >= v->n;
			return v->t + i;
		}
		if (le >= v->n) {
			*wlen = v->n - i;
			*end = 1;
			return v->t + i;
		}
		if (!view_line(v, le + 1, le + 1, &ls, &e))
			break;
		le = e;
	}
	/* a left-out line: join whole kept lines until min bytes */
	sbuf_reset(win);
	sbuf_add(win, v->t + i, le - i);
	sbuf_addc(win, '\n');
	*end = 1;
	for (size_t at = le + 1; at < v->n; at = e + 1) {
		if (win->len >= min) {
			*end = 0;
			break;
		}
		if (view_line(v, at, at, &ls, &e)) {
			sbuf_add(win, v->t + ls, e - ls);
			sbuf_addc(win, '\n');
		}
	}
	*wlen = win->len;
	return win->buf;
}

/* The next byte at or after from that is c[0] or c[1] (0: none), from
 * one memchr per byte value, each remembered (at, SIZE_MAX: not yet). */
struct finder {
	const char *t;
	size_t n, at[2];
	unsigned char c[2];
};

static size_t finder_next(struct finder *f, size_t from)
{
	for (int k = 0; k < 2; k++) {
		if (!f->c[k] || (f->at[k] != SIZE_MAX && f->at[k] >= from))
			continue;
		const char *p = from < f->n ? memchr(f->t + from, f->c[k], f->n - from) : NULL;
		f->at[k] = p ? (size_t)(p - f->t) : f->n;
	}
	return f->c[1] && f->at[1] < f->at[0] ? f->at[1] : f->at[0];
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The byte of word w (ASCII) least likely in text: the finder looks for
 * it, so fewer places are looked at. */
static size_t rarest(const char *w, size_t n)
{
	static const char common[] = "etaoinshrdlcumwfgypbvkjxqz";
	size_t best = 0, rank = 0;

	for (size_t j = 0; j < n; j++) {
		const char *c = strchr(common, w[j]);
		size_t r = c && w[j] ? (size_t)(c - common) : sizeof(common);
		if (r > rank) {
			rank = r;
			best = j;
		}
	}
	return best;
}

/* The phrase at byte i of v (in kept line ending at le), where toks->v[0]
 * matched and a token starts, checked on ASCII bytes alone as the
 * tokeniser reads them: 1 it is there, 0 it is not (from this place),
 * -1 cannot tell (a non-ASCII byte, the end of a body line, a word too
 * long to be a token): the caller tokenises. */
static int phrase_ascii(const struct strv *toks, const struct fview *v, size_t i, size_t le)
{
	const unsigned char *u = (const unsigned char *)v->t;
	size_t p = i, end = v->quoted < 0 ? v->n : le;

	for (size_t k = 0; k < toks->n; k++) {
		const char *w = toks->v[k];
		size_t q = p, j = 0;

		while (p < end && u[p] < 0x80 && !ascii_wordc(u[p]))
			p++;
		if (p >= end)
			return p >= v->n ? 0 : -1;
		if (u[p] >= 0x80)
			return -1;
		for (q = p; w[j] && q < end && lower(u[q]) == (unsigned char)w[j]; q++)
			j++;
		if (!w[j] && (q >= end || (u[q] < 0x80 && !ascii_wordc(u[q])))) {
			p = q;
			continue;
		}
		/* another word here: a token unless too long to be one */
		while (q < end && u[q] < 0x80 && ascii_wordc(u[q]))
			q++;
		if ((q < end && u[q] >= 0x80) || q - p > INDEX_TOKEN_MAX)
			return -1;
		return 0;
	}
	return 1;
}

/* Does ps->toks appear in this order in the tokens of field view v?
 *
 * When the first word is ASCII, only the places where it starts a word
 * are looked at: index_tokenize folds nothing outside ASCII into ASCII,
 * so its token can only come from those bytes, matched without case. A
 * place is taken when the byte before it is ASCII and no word character,
 * or it starts a kept line (the tokeniser then starts afresh there, as at
 * the text's start). From there the words are compared on the bytes
 * (phrase_ascii) or, when that cannot tell, a window of the field from
 * it (view_window, the same first tokens as the whole rest) is
 * tokenised; when it holds fewer tokens than the phrase, the rest is. A
 * byte of a multi-byte character before the word: the whole field, as
 * it was joined. */
static int phrase_in(struct phrase_st *ps, const struct fview *v, int ascii, struct sbuf *win)
{
	const unsigned char *u = (const unsigned char *)v->t;
	const char *w0 = ps->toks->v[0];
	size_t l0 = strlen(w0), seen, wlen, ls = 0, le = 0, j0 = ascii ? rarest(w0, l0) : 0;
	struct finder fd = { v->t, v->n, { SIZE_MAX, SIZE_MAX }, { (unsigned char)w0[j0], 0 } };
	int found = 0, whole = !ascii && (unsigned char)w0[0] >= 0x80, end;

	if (w0[j0] >= 'a' && w0[j0] <= 'z')
		fd.c[1] = (unsigned char)(w0[j0] - 32);
	for (size_t i = 0; i < l0; i++)
		whole |= (unsigned char)w0[i] >= 0x80;
	if (v->quoted < 0)
		le = v->n;   /* one line: all of it is kept */
	for (size_t at = j0; !whole && !found; at++) {
		size_t i = (at = finder_next(&fd, at)) - j0;
		if (i + l0 > v->n)
			break;
		if (i >= le && !view_line(v, le, i, &ls, &le)) {
			at = le + j0;   /* a line the field leaves out */
			continue;
		}
		size_t k = 0;
		while (k < l0 && lower(u[i + k]) == (unsigned char)w0[k])
			k++;
		if (k < l0 || i < ls)
			continue;
		if (i > ls && u[i - 1] >= 0x80) {
			whole = 1;   /* what the character before is needs decoding */
			break;
		}
		if (i > ls && ascii_wordc(u[i - 1]))
			continue;
		int a = ascii ? phrase_ascii(ps->toks, v, i, le) : -1;
		if (a >= 0) {
			found = a;
			continue;
		}
		const char *w = view_window(v, i, le, l0 + 256, win, &wlen, &end);
		found = phrase_run(ps, w, wlen, &seen);
		if (!found && seen < ps->toks->n && !end) {
			w = view_window(v, i, le, SIZE_MAX, win, &wlen, &end);
			found = phrase_run(ps, w, wlen, &seen);
		}
	}
	if (whole && v->quoted < 0) {
		found = phrase_run(ps, v->t, v->n, &seen);
	} else if (whole) {
		struct msg_rec none;
		memset(&none, 0, sizeof(none));
		sbuf_reset(win);
		index_field_text(&none, v->t, v->n, v->quoted ? IX_QUOTED : IX_BODY, win);
		found = phrase_run(ps, win->buf ? win->buf : "", win->len, &seen);
	}
	return found;
}

int phrase_filter(struct store_reader *r, uint64_t *nums, size_t *n, char f, const struct strv *toks,
		  struct kv_err *err)
{
	struct msg_walk walk;
	struct sbuf sb = SBUF_INIT, win = SBUF_INIT;
	struct phrase_st *ps;
	struct strv head = *toks;
	size_t w = 0;
	int rc = 0, body = f == IX_BODY || f == IX_QUOTED, ascii = 1;

	if (f != IX_SUBJECT && f != IX_FROM && !body && f != IX_LIST && f != IX_TO && f != IX_CC)
		return 0;   /* no text kept in order: the words' AND stands */
	if (msg_walk_begin(r, &walk, err) < 0) {
		msg_walk_end(&walk);
		return -1;
	}
	if (head.n > PHRASE_MAX)
		head.n = PHRASE_MAX;
	ps = kv_xmalloc(sizeof(*ps));
	ps->toks = &head;
	for (size_t k = 0; k < head.n; k++)
		for (const char *c = head.v[k]; *c; c++)
			ascii &= (unsigned char)*c < 0x80;
	for (size_t i = 0; i < *n; i++) {
		struct msg_rec m;
		struct fview v;
		const char *text = NULL;
		size_t tlen = 0;

		/* body and quoted text need the text, not the record; read,
		 * not mapped: many scattered texts cost fewer page faults as
		 * pread than as views of the map */
		rc = msg_walk_get(&walk, nums[i], body ? NULL : &m, body ? &text : NULL, &tlen, err);
		if (rc > 0)
			rc = kv_err_set(err, "the word index names message %llu, which is not stored",
					(unsigned long long)nums[i]);
		if (rc < 0)
			break;
		if (body) {
			v.t = text;
			v.n = tlen;
			v.quoted = f == IX_QUOTED;
		} else {
			sbuf_reset(&sb);
			index_field_text(&m, NULL, 0, f, &sb);
			v.t = sb.buf ? sb.buf : "";
			v.n = sb.len;
			v.quoted = -1;
		}
		if (phrase_in(ps, &v, ascii, &win))
			nums[w++] = nums[i];
	}
	free(ps);
	msg_walk_end(&walk);
	sbuf_release(&sb);
	sbuf_release(&win);
	if (rc < 0)
		return -1;
	*n = w;
	return 0;
}
