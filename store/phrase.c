/*
 * phrase.c - the second step of a phrase search (query.c): the message
 * numbers the word index gives for all of a phrase's words are kept when
 * the field's text, tokenised as index.c does, holds the words in order.
 */
#include "store_int.h"
#include "phrase.h"

#include <stdlib.h>
#include <string.h>
#include "banned.h"

/* Phrase matching while the text is tokenised: the last n tokens in a
 * ring, compared with the phrase at each new token; no allocation. */
#define PHRASE_MAX 16
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

/* Does toks appear in this order in the text's tokens? A phrase longer
 * than PHRASE_MAX words is checked on its first PHRASE_MAX.
 *
 * When the first word is ASCII, only the places where it starts a word
 * are tokenised: index_tokenize folds nothing outside ASCII into ASCII,
 * so its token can only come from those bytes, matched without case. A
 * place is taken when the byte before it is ASCII and no word character
 * (the tokeniser then starts afresh there, as at the text's start); a
 * window of the text from it, ended at an ASCII non-word byte (so no word
 * is cut), gives the same first tokens as the whole rest would; when it
 * holds fewer tokens than the phrase, the rest is tokenised. A byte of a
 * multi-byte character before the word: the whole text, as before. */
static int phrase_in(const char *text, size_t len, const struct strv *toks)
{
	struct phrase_st *ps = kv_xmalloc(sizeof(*ps));
	struct strv head = *toks;
	const char *w0 = toks->v[0];
	size_t l0 = strlen(w0), seen;
	int found = 0, whole = 0;

	if (head.n > PHRASE_MAX)
		head.n = PHRASE_MAX;
	ps->toks = &head;
	for (size_t i = 0; i < l0; i++)
		whole |= (unsigned char)w0[i] >= 0x80;
	for (size_t i = 0; !whole && !found && i + l0 <= len; i++) {
		const unsigned char *u = (const unsigned char *)text;
		unsigned char c = u[i];
		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)w0[0])
			continue;
		if (i && u[i - 1] >= 0x80) {
			whole = 1;   /* what the character before is needs decoding */
			break;
		}
		if (i && ascii_wordc(u[i - 1]))
			continue;
		size_t k = 1;
		while (k < l0 && (u[i + k] >= 'A' && u[i + k] <= 'Z' ? u[i + k] + 32 : u[i + k]) == (unsigned char)w0[k])
			k++;
		if (k < l0)
			continue;
		size_t e = i + l0 + 512 < len ? i + l0 + 512 : len;
		while (e < len && (u[e] >= 0x80 || ascii_wordc(u[e])))
			e++;
		found = phrase_run(ps, text + i, e - i, &seen);
		if (!found && seen < head.n && e < len)
			found = phrase_run(ps, text + i, len - i, &seen);
	}
	if (whole)
		found = phrase_run(ps, text, len, &seen);
	free(ps);
	return found;
}

int phrase_filter(struct store_reader *r, uint64_t *nums, size_t *n, char f, const struct strv *toks,
		  struct kv_err *err)
{
	struct msg_walk walk;
	struct sbuf sb = SBUF_INIT;
	size_t w = 0;
	int rc = 0, body = f == IX_BODY || f == IX_QUOTED;

	if (f != IX_SUBJECT && f != IX_FROM && !body && f != IX_LIST && f != IX_TO && f != IX_CC)
		return 0;   /* no text kept in order: the words' AND stands */
	if (msg_walk_begin(r, &walk, err) < 0) {
		msg_walk_end(&walk);
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		struct msg_rec m;
		const char *text = NULL;
		size_t tlen = 0;

		/* body and quoted text need the text, not the record; read,
		 * not mapped: many scattered texts cost fewer page faults as
		 * pread than as views of the map */
		memset(&m, 0, sizeof(m));
		rc = msg_walk_get(&walk, nums[i], body ? NULL : &m, body ? &text : NULL, &tlen, err);
		if (rc > 0)
			rc = kv_err_set(err, "the word index names message %llu, which is not stored",
					(unsigned long long)nums[i]);
		if (rc < 0)
			break;
		sbuf_reset(&sb);
		index_field_text(&m, text, tlen, f, &sb);
		if (phrase_in(sb.buf ? sb.buf : "", sb.len, toks))
			nums[w++] = nums[i];
	}
	msg_walk_end(&walk);
	sbuf_release(&sb);
	if (rc < 0)
		return -1;
	*n = w;
	return 0;
}
