/*
 * index_db.c - the store's word index in LMDB: terms (index.c) to the
 * numbers of the messages that hold them, in the database "words" (plain
 * keys, no duplicates). Written in the same write transaction as the
 * messages (store.c write_batch), so the index and the messages never
 * disagree.
 *
 * A term's numbers are kept in blocks of at most IX_BLOCK_MAX bytes: the
 * first number of a block as an unsigned LEB128 varint, then each next
 * number as its difference from the one before (varints too, so a common
 * word costs a byte or two per message instead of four). The first block
 * is keyed by the term itself; a term that outgrows it goes on in blocks
 * keyed term, a NUL byte and the block's first number as 4 big-endian
 * bytes. Terms hold no NUL, so a term's blocks are adjacent keys in number
 * order, and the one that gets the next numbers is its last.
 *
 * Schema 3 is this layout. Schema 2 stores (one LMDB sorted duplicate per
 * posting, database "term") and schema 1 stores (no index) open as stores
 * without an index until `kvmarm-store reindex`, which drops "term".
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

/* A block is rewritten whole when numbers join it: small enough that this
 * is cheap, large enough that the key is a small part of it. */
#define IX_BLOCK_MAX 512
#define IX_KEY_MAX (INDEX_TERM_MAX + 5)
/* the database the schema 2 index lived in */
#define IX_OLD_DB "term"
/* meta: how far reindex got (not "index_upto", which was schema 2's: its
 * numbers are in "term", not here) */
#define IX_UPTO "words_upto"

int index_ready(struct db_txn *t, struct store *s, struct kv_err *err)
{
	int v = schema_get(t, s, err);

	return v < 0 ? -1 : v >= STORE_SCHEMA_VERSION;
}

/* ---- blocks ---- */

static size_t put_varint(unsigned char *o, uint32_t x)
{
	size_t n = 0;

	while (x >= 0x80) {
		o[n++] = (unsigned char)(x | 0x80);
		x >>= 7;
	}
	o[n++] = (unsigned char)x;
	return n;
}

/* The varint at p[*i] (of p[0..n)) into *x, *i past it. 0, or -1 when cut
 * short or over 32 bits. */
static inline int varint_get(const unsigned char *p, size_t n, size_t *i, uint64_t *x)
{
	int shift = 0;

	*x = 0;
	for (;;) {
		if (*i >= n || shift > 28)
			return -1;
		*x |= (uint64_t)(p[*i] & 0x7F) << shift;
		shift += 7;
		if (!(p[(*i)++] & 0x80))
			return 0;
	}
}

/* Decode block p[0..n) calling each number into *v (may be NULL: count
 * only). *last: the block's last number. 0, or -1 when malformed (empty,
 * a varint cut short or past 32 bits, numbers not increasing). */
static int block_decode(const unsigned char *p, size_t n, uint64_t **v, size_t *vn, size_t *cap,
			uint64_t *count, uint64_t *first, uint64_t *last)
{
	uint64_t cur = 0;
	size_t i = 0, k = 0;

	if (!n)
		return -1;
	if (v && *vn + n > *cap) {   /* at most one number per byte */
		*cap = (*vn + n) * 2;
		*v = kv_xrealloc(*v, *cap * sizeof(**v));
	}
	while (i < n) {
		uint64_t x;
		if (varint_get(p, n, &i, &x) < 0 || (k && x == 0))
			return -1;
		cur += x;
		if (cur > 0xFFFFFFFFull)
			return -1;
		if (!k && first)
			*first = cur;
		if (v)
			(*v)[(*vn)++] = cur;
		k++;
	}
	if (count)
		*count += k;
	*last = cur;
	return 0;
}

/* Is key k one of term's blocks? 0 no, 1 the first, 2 a later one. */
static int block_of(const struct db_val *k, const char *term, size_t tn)
{
	const char *p = k->p;

	if (k->n < tn || memcmp(p, term, tn))
		return 0;
	if (k->n == tn)
		return 1;
	return k->n == tn + 5 && p[tn] == 0 ? 2 : 0;
}

static void block_key(unsigned char *key, const char *term, size_t tn, uint32_t first)
{
	memcpy(key, term, tn);
	key[tn] = 0;
	key[tn + 1] = (unsigned char)(first >> 24);
	key[tn + 2] = (unsigned char)(first >> 16);
	key[tn + 3] = (unsigned char)(first >> 8);
	key[tn + 4] = (unsigned char)first;
}

static int malformed(struct kv_err *err, const void *k, size_t kn)
{
	size_t tn = strnlen(k, kn);
	return kv_err_set(err, "word index: term \"%.*s\": malformed block (run kvmarm-store check)",
			  (int)(tn > 200 ? 200 : tn), (const char *)k);
}

/* Place the cursor on term's last block: 1 found (*k, *v set), 0 none. -1. */
static int last_block(struct db_cursor *c, const char *term, size_t tn, struct db_val *k,
		      struct db_val *v, struct kv_err *err)
{
	unsigned char key[IX_KEY_MAX];
	int rc;

	block_key(key, term, tn, 0xFFFFFFFFu);
	k->p = key;
	k->n = tn + 5;
	rc = db_cursor_get(c, DB_SET_RANGE, k, v, err);
	if (rc == 0 && k->n == tn + 5 && !memcmp(k->p, key, tn + 5))
		return 1;
	if (rc == 0)
		rc = db_cursor_get(c, DB_PREV, k, v, err);
	else if (rc == 1)
		rc = db_cursor_get(c, DB_LAST, k, v, err);
	if (rc < 0)
		return -1;
	return rc == 0 && block_of(k, term, tn);
}

/* Term's new numbers v[0..n) (increasing, past every number it has): onto
 * its last block while that has room, then in new blocks. 0 / -1 / DB_FULL. */
static int term_append(struct db_cursor *c, const char *term, size_t tn, const uint32_t *v, size_t n,
		       struct kv_err *err)
{
	unsigned char key[IX_KEY_MAX], blk[IX_BLOCK_MAX + 8];
	size_t kn = tn, bn = 0;
	uint64_t last = 0;
	struct db_val k, dv;
	int rc = last_block(c, term, tn, &k, &dv, err), current;

	if (rc < 0)
		return -1;
	/* the cursor is on the block that grows: replaced in place */
	current = rc == 1;
	memcpy(key, term, tn);
	if (current) {
		if (dv.n > IX_BLOCK_MAX || block_decode(dv.p, dv.n, NULL, NULL, NULL, NULL, NULL, &last) < 0)
			return malformed(err, k.p, k.n);
		memcpy(key, k.p, k.n);
		kn = k.n;
		memcpy(blk, dv.p, dv.n);
		bn = dv.n;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char tmp[8];
		size_t tl;

		if (bn && v[i] <= last)
			return kv_err_set(err, "word index: term \"%.200s\": message %u added after %llu",
					  term, v[i], (unsigned long long)last);
		tl = put_varint(tmp, bn ? v[i] - (uint32_t)last : v[i]);
		if (bn + tl > IX_BLOCK_MAX) {
			if ((rc = db_cursor_put(c, key, kn, blk, bn, current, err)) != 0)
				return rc;
			current = 0;
			block_key(key, term, tn, v[i]);
			kn = tn + 5;
			bn = 0;
			tl = put_varint(tmp, v[i]);
		}
		memcpy(blk + bn, tmp, tl);
		bn += tl;
		last = v[i];
	}
	return db_cursor_put(c, key, kn, blk, bn, current, err);
}

struct ixorder {
	const char *p;
	uint32_t len, id;
};

/* LMDB's key order: bytes, then the shorter first */
static int cmp_order(const void *a, const void *b)
{
	const struct ixorder *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Every pair of x into the index, term by term in key order. */
int ixset_write(struct db_txn *t, struct store *s, const struct ixset *x, struct kv_err *err)
{
	struct ixorder *ord;
	size_t *start;
	uint32_t *nums;
	struct db_cursor *c;
	int rc = 0;

	if (!x->np)
		return 0;
	ord = kv_xmalloc(x->nt * sizeof(*ord));
	start = kv_xcalloc(x->nt + 1, sizeof(*start));
	nums = kv_xmalloc(x->np * sizeof(*nums));
	for (size_t i = 0; i < x->nt; i++)
		ord[i] = (struct ixorder){ x->bytes + x->t[i].off, x->t[i].len, (uint32_t)i };
	qsort(ord, x->nt, sizeof(*ord), cmp_order);
	/* a counting sort of the pairs by term: each term's numbers stay in
	 * the order added, which is increasing */
	for (size_t i = 0; i < x->np; i++)
		start[x->p[i].term + 1]++;
	for (size_t i = 0; i < x->nt; i++)
		start[i + 1] += start[i];
	for (size_t i = 0; i < x->np; i++)
		nums[start[x->p[i].term]++] = x->p[i].num;
	/* start[id] is now the end of id's numbers; its count is in the set */
	if ((rc = db_cursor_open(t, s->d[D_TERM], &c, err)) == 0) {
		for (size_t i = 0; i < x->nt && rc == 0; i++) {
			uint32_t id = ord[i].id;
			size_t end = start[id], beg = id ? start[id - 1] : 0;
			rc = term_append(c, ord[i].p, ord[i].len, nums + beg, end - beg, err);
		}
		db_cursor_close(c);
	}
	free(ord);
	free(start);
	free(nums);
	return rc;
}

/* ---- writing ---- */

int index_add(struct wctx *w, const struct msg_rec *m, const char *text, size_t tlen)
{
	if (m->num > 0xFFFFFFFFull)
		return kv_err_set(w->err, "message %llu: past the word index's 32-bit numbers",
				  (unsigned long long)m->num);
	if (!w->ix) {
		w->ix = kv_xcalloc(1, sizeof(*w->ix));
		w->ix->pw = w->pw;
	}
	ixset_add_msg(w->ix, m, text, tlen, (uint32_t)m->num);
	return 0;
}

void index_drop(struct wctx *w)
{
	if (!w->ix)
		return;
	ixset_release(w->ix);
	free(w->ix);
	w->ix = NULL;
}

int index_flush(struct wctx *w)
{
	int rc;

	if (!w->ix)
		return 0;
	rc = ixset_write(w->t, w->s, w->ix, w->err);
	index_drop(w);
	return rc;
}

/* ---- reading ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Every key from *k on (the cursor is there) that match() accepts, its
 * numbers appended to *v. *keys: how many distinct terms. 0 / -1. */
static int read_blocks(struct db_cursor *c, struct db_val *k, struct db_val *dv, const char *want,
		       size_t wn, int prefix, uint64_t **v, size_t *n, size_t *cap, int *keys,
		       struct kv_err *err)
{
	uint64_t last = 0, first;
	int rc = 0;

	for (; rc == 0; rc = db_cursor_get(c, DB_NEXT, k, dv, err)) {
		int kind;
		size_t before = *n;

		if (prefix) {
			if (k->n < wn || memcmp(k->p, want, wn))
				break;
			kind = memchr(k->p, 0, k->n) ? 2 : 1;
		} else if (!(kind = block_of(k, want, wn))) {
			break;
		}
		if (block_decode(dv->p, dv->n, v, n, cap, NULL, &first, &last) < 0 ||
		    (kind == 2 && before && (*v)[before - 1] >= first))
			return malformed(err, k->p, k->n);
		if (kind == 1)
			(*keys)++;
	}
	return rc < 0 ? -1 : 0;
}

int index_postings(struct store_reader *r, const char *term, size_t tn, uint64_t **v, size_t *n,
		   struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val k = { term, tn }, dv;
	size_t cap = 0;
	int rc, keys = 0;

	*v = NULL;
	*n = 0;
	if (!tn || tn > INDEX_TERM_MAX)
		return 0;
	if (db_cursor_open(r->t, r->s->d[D_TERM], &c, err) < 0)
		return -1;
	rc = db_cursor_get(c, DB_SET_RANGE, &k, &dv, err);
	if (rc == 0)
		rc = read_blocks(c, &k, &dv, term, tn, 0, v, n, &cap, &keys, err);
	db_cursor_close(c);
	if (rc < 0) {
		free(*v);
		*v = NULL;
		*n = 0;
		return -1;
	}
	return 0;
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
	rc = db_cursor_get(c, DB_SET_RANGE, &k, &dv, err);
	if (rc == 0)
		rc = read_blocks(c, &k, &dv, prefix, pn, 1, v, n, &cap, &keys, err);
	db_cursor_close(c);
	if (rc < 0) {
		free(*v);
		*v = NULL;
		*n = 0;
		return -1;
	}
	if (keys > 1 && *n) {
		qsort(*v, *n, sizeof(**v), cmp_u64);
		for (size_t i = 0; i < *n; i++)
			if (!w || (*v)[w - 1] != (*v)[i])
				(*v)[w++] = (*v)[i];
		*n = w;
	}
	return 0;
}

/* Block p[0..n)'s numbers as bits of bits[0..nbits). 0, or -1 when
 * malformed (as block_decode) or naming a number past nbits. */
static int block_bits(const unsigned char *p, size_t n, uint64_t *bits, uint64_t nbits)
{
	uint64_t cur = 0;
	size_t i = 0;

	if (!n)
		return -1;
	for (int k = 0; i < n; k++) {
		uint64_t x;
		if (varint_get(p, n, &i, &x) < 0 || (k && x == 0))
			return -1;
		cur += x;
		if (cur >= nbits)
			return -1;
		bits[cur >> 6] |= 1ull << (cur & 63);
	}
	return 0;
}

int index_bits(struct store_reader *r, const char *key, size_t kn, int prefix, uint64_t *bits, uint64_t nbits,
	       struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val k = { key, kn }, dv;
	int rc;

	if (!kn || kn > INDEX_TERM_MAX)
		return 0;
	if (db_cursor_open(r->t, r->s->d[D_TERM], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_SET_RANGE, &k, &dv, err); rc == 0; rc = db_cursor_get(c, DB_NEXT, &k, &dv, err)) {
		if (prefix ? k.n < kn || memcmp(k.p, key, kn) : !block_of(&k, key, kn))
			break;
		if (block_bits(dv.p, dv.n, bits, nbits) < 0) {
			rc = malformed(err, k.p, k.n);
			break;
		}
	}
	db_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

/* ---- checking ---- */

/* Does term's index hold num? 1 yes, 0 no, -1 (err: malformed). */
static int index_has(struct db_cursor *c, const char *term, size_t tn, uint32_t num, struct kv_err *err)
{
	unsigned char key[IX_KEY_MAX];
	struct db_val k = { key, tn + 5 }, dv;
	uint64_t *v = NULL, last;
	size_t n = 0, cap = 0;
	int rc;

	/* the block num is in: the last one whose first number is not past it */
	block_key(key, term, tn, num);
	rc = db_cursor_get(c, DB_SET_RANGE, &k, &dv, err);
	if (rc == 0 && !(k.n == tn + 5 && !memcmp(k.p, key, tn + 5)))
		rc = db_cursor_get(c, DB_PREV, &k, &dv, err);
	else if (rc == 1)
		rc = db_cursor_get(c, DB_LAST, &k, &dv, err);
	if (rc < 0)
		return -1;
	if (rc == 1 || !block_of(&k, term, tn))
		return 0;
	if (block_decode(dv.p, dv.n, &v, &n, &cap, NULL, NULL, &last) < 0) {
		free(v);
		return malformed(err, k.p, k.n);
	}
	rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = v[i] == num;
	free(v);
	return rc;
}

/* Every block well formed, in order, naming stored messages; *total: the
 * numbers in all of them. 0 / 1 broken / -1. */
static int index_walk(struct store *s, struct db_txn *t, struct db_cursor *tc, uint64_t *total,
		      struct kv_err *err)
{
	struct db_val k, dv;
	uint64_t *v = NULL, prev_last = 0, first = 0, last;
	size_t cap = 0;
	char prev[INDEX_TERM_MAX + 1];
	size_t prevn = 0;
	int rc, ret = 0;

	*total = 0;
	for (rc = db_cursor_get(tc, DB_FIRST, &k, &dv, err); rc == 0 && ret == 0;
	     rc = db_cursor_get(tc, DB_NEXT, &k, &dv, err)) {
		const char *z = memchr(k.p, 0, k.n);
		size_t tn = z ? (size_t)(z - (const char *)k.p) : k.n, n = 0;
		int later = z != NULL;

		if (!tn || tn > INDEX_TERM_MAX || (later && k.n != tn + 5) || dv.n > IX_BLOCK_MAX ||
		    block_decode(dv.p, dv.n, &v, &n, &cap, total, &first, &last) < 0 ||
		    (later && (tn != prevn || memcmp(prev, k.p, tn) || first <= prev_last ||
			       first != (((uint64_t)((const unsigned char *)k.p)[tn + 1] << 24) |
					 ((uint64_t)((const unsigned char *)k.p)[tn + 2] << 16) |
					 ((uint64_t)((const unsigned char *)k.p)[tn + 3] << 8) |
					 ((const unsigned char *)k.p)[tn + 4])))) {
			kv_err_set(err, "word index: term \"%.*s\": malformed block", (int)(tn > 200 ? 200 : tn),
				   (const char *)k.p);
			ret = 1;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char mk[8];
			struct db_val mv;
			db_be64(mk, v[i]);
			rc = db_get(t, s->d[D_MSG], mk, 8, &mv, err);
			if (rc < 0) {
				ret = -1;
				break;
			}
			if (rc == 1) {
				kv_err_set(err, "word index: term \"%.*s\" names message %llu, which is not stored",
					   (int)(tn > 200 ? 200 : tn), (const char *)k.p, (unsigned long long)v[i]);
				ret = 1;
				break;
			}
		}
		rc = 0;
		memcpy(prev, k.p, tn);
		prevn = tn;
		prev_last = last;
	}
	free(v);
	if (rc < 0)
		return -1;
	return ret;
}

int index_check(struct store *s, struct db_txn *t, const struct blobmap *maps, uint64_t nmsg,
		int schema_pairs, struct kv_err *err)
{
	struct db_cursor *c, *tc;
	struct db_val kv, v;
	struct pairwords *pw;
	uint64_t total = 0, entries, upto;
	int rc, ret = 0, ps;

	if ((ps = pairs_state(t, s, &pw, &upto, err)) < 0)
		return -1;
	if ((ps == PAIRS_COMPLETE) != schema_pairs) {
		pairwords_free(pw);
		kv_err_set(err, "word index: schema %d, but the phrase pairs are %s (run kvmarm-store reindex "
			   "--phrases)", schema_pairs ? STORE_SCHEMA_PAIRS : STORE_SCHEMA_VERSION,
			   ps == PAIRS_COMPLETE ? "complete" : ps == PAIRS_BUILDING ? "being built" : "not there");
		return 1;
	}
	if (db_cursor_open(t, s->d[D_MSG], &c, err) < 0) {
		pairwords_free(pw);
		return -1;
	}
	if (db_cursor_open(t, s->d[D_TERM], &tc, err) < 0) {
		db_cursor_close(c);
		pairwords_free(pw);
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

		if (num > 0xFFFFFFFFull) {
			kv_err_set(err, "message %llu: past the word index's 32-bit numbers", (unsigned long long)num);
			ret = 1;
			break;
		}
		if (msg_load(t, s, &maps[F_REC], num, &m, &owned, err) != 0 ||
		    text_load(t, s, &maps[F_REC], &maps[F_RAW], num, &text, &tlen, &towned, err) != 0) {
			free(owned);
			ret = -1;
			break;
		}
		/* its pairs are in once they are complete, or reindex did it */
		index_terms(&m, text, tlen, ps == PAIRS_COMPLETE || num <= upto ? pw : NULL, &terms);
		total += terms.n;
		for (size_t i = 0; i < terms.n && ret == 0; i++) {
			int r2 = index_has(tc, terms.v[i], strlen(terms.v[i]), (uint32_t)num, err);
			if (r2 < 0)
				ret = 1;
			else if (r2 == 0) {
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
	if (ret == 0 && (ret = index_walk(s, t, tc, &entries, err)) == 0 && entries != total) {
		/* every term of every message is there: so there are more */
		ret = 1;
		kv_err_set(err, "word index holds %llu postings, the messages have %llu terms",
			   (unsigned long long)entries, (unsigned long long)total);
	}
	db_cursor_close(tc);
	db_cursor_close(c);
	pairwords_free(pw);
	return ret;
}

/* ---- stores without the index: building it in place ---- */

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


/* Messages upto+1 .. upto+REINDEX_BATCH (and below next) into x, then x
 * into the index; *last: the last number read. 0 / -1 / DB_FULL. */
int reindex_messages(struct db_txn *t, struct store *s, struct ixset *x, uint64_t upto, uint64_t next,
		     uint64_t *last, struct kv_err *err)
{
	uint64_t num;
	int rc = 0;

	for (num = upto + 1; num < next && num <= upto + REINDEX_BATCH && rc == 0; num++) {
		struct msg_rec m;
		char *owned = NULL, *towned = NULL;
		const char *text = NULL;
		size_t tlen = 0;

		if (num > 0xFFFFFFFFull) {
			rc = kv_err_set(err, "message %llu: past the word index's 32-bit numbers",
					(unsigned long long)num);
			break;
		}
		rc = msg_load(t, s, NULL, num, &m, &owned, err);
		if (rc == 1) {   /* numbers are dense, but a gap is no reason to stop */
			rc = 0;
			continue;
		}
		if (rc == 0 && (rc = text_load(t, s, NULL, NULL, num, &text, &tlen, &towned, err)) == 0)
			ixset_add_msg(x, &m, text, tlen, (uint32_t)num);
		free(owned);
		free(towned);
	}
	*last = num - 1;
	return rc == 0 ? ixset_write(t, s, x, err) : rc;
}

/* A reindex batch's end: committed when rc is 0, else aborted. 0, -1,
 * DB_FULL (the map is full: grow it and run the batch again). */
int reindex_commit(struct db_txn *t, int rc, struct kv_err *err)
{
	if (rc != 0) {
		int full = db_txn_full(t);
		db_txn_abort(t);
		return full ? DB_FULL : -1;
	}
	return db_txn_commit(t, err);
}

/* One batch: messages after meta IX_UPTO, at most REINDEX_BATCH of
 * them; the batch that reaches the last message sets schema 3.
 * 0 more to do, 1 done, -1, DB_FULL. */
static int reindex_batch(struct store *s, uint64_t *done, uint64_t *total, struct kv_err *err)
{
	struct db_txn *t;
	struct ixset x;
	uint64_t upto, next;
	int rc;

	if (db_txn_begin(s->env, 0, &t, err) < 0)
		return -1;
	if ((rc = index_ready(t, s, err)) != 0) {
		db_txn_abort(t);
		*done = *total = 0;
		return rc < 0 ? -1 : 1;
	}
	if (meta_get_u64(t, s, IX_UPTO, &upto, err) < 0 || meta_get_u64(t, s, "next_num", &next, err) < 0) {
		db_txn_abort(t);
		return -1;
	}
	/* a fresh start: whatever a store without the index holds under
	 * "words" (an older program's leftovers) goes, and so does the
	 * schema 2 index */
	rc = 0;
	if (upto == 0) {
		rc = db_drop(t, s->d[D_TERM], err);
		if (rc == 0)
			rc = pairs_forget(t, s, err);
		if (rc == 0 && db_dbi_delete(t, IX_OLD_DB, DB_DUPSORT | DB_DUPFIXED | DB_INTEGERDUP, err) < 0)
			rc = -1;
	}
	memset(&x, 0, sizeof(x));
	if (rc == 0)
		rc = reindex_messages(t, s, &x, upto, next, &upto, err);
	ixset_release(&x);
	if (rc == 0)
		rc = meta_put_u64(t, s, IX_UPTO, upto, err);
	if (rc == 0 && upto + 1 >= next) {
		rc = schema_put(t, s, STORE_SCHEMA_VERSION, err);
		if (rc == 0)
			rc = db_del(t, s->d[D_META], IX_UPTO, strlen(IX_UPTO), NULL, 0, err) < 0 ? -1 : 0;
		/* a schema 2 program's reindex left unfinished */
		if (rc == 0)
			rc = db_del(t, s->d[D_META], "index_upto", 10, NULL, 0, err) < 0 ? -1 : 0;
	}
	if ((rc = reindex_commit(t, rc, err)) != 0)
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
	/* the words first, then the phrase pairs (their list comes from the
	 * words) */
	for (int pass = 0; pass < 2; pass++) {
		for (int grows = 0;;) {
			int rc = pass ? pairs_batch(s, &done, &total, err) : reindex_batch(s, &done, &total, err);
			if (rc == DB_FULL) {
				if (++grows > 30 || db_env_grow(s->env, err) < 0)
					return -1;
				continue;
			}
			if (rc < 0)
				return -1;
			if (rc == 1 && !total)   /* nothing to do */
				break;
			if (progress)
				progress(ctx, pass ? STORE_PROGRESS_PAIRS : STORE_PROGRESS_WORDS, done, total);
			if (rc == 1)
				break;
		}
	}
	return 0;
}
