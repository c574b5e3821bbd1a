/*
 * pairs.c - the phrase pairs of the word index (index.c makes the terms):
 * the store's pair word list, chosen from the word index, and the pass of
 * `kvmarm-store reindex` that adds every message's pairs, a batch per
 * write transaction. Until that pass is complete the writers add no pairs
 * and search checks phrases in the text (phrase.c); after it they add
 * them with each message, in the same transaction as its words.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>
#include "banned.h"

/* meta: the pair word list ('\n' after each word), and how far its pairs
 * are built while they are being built (absent once complete) */
#define PW_LIST "phrase_words"
#define PW_UPTO "phrase_upto"

int pairs_state(struct db_txn *t, struct store *s, struct pairwords **pw, uint64_t *upto, struct kv_err *err)
{
	struct db_val v;
	int rc;

	if (pw)
		*pw = NULL;
	if (upto)
		*upto = 0;
	if ((rc = db_get(t, s->d[D_META], PW_LIST, strlen(PW_LIST), &v, err)) != 0)
		return rc < 0 ? -1 : PAIRS_NONE;
	if (pw)
		*pw = pairwords_new(v.p, v.n);
	if ((rc = db_get(t, s->d[D_META], PW_UPTO, strlen(PW_UPTO), &v, err)) < 0) {
		if (pw) {
			pairwords_free(*pw);
			*pw = NULL;
		}
		return -1;
	}
	if (rc == 1)
		return PAIRS_COMPLETE;
	if (upto && v.n == 8)
		*upto = db_get_be64(v.p);
	return PAIRS_BUILDING;
}

struct wfreq {
	char *w;
	uint64_t n;
};

static int wfreq_by_word(const void *a, const void *b)
{
	return strcmp(((const struct wfreq *)a)->w, ((const struct wfreq *)b)->w);
}

static int wfreq_by_count(const void *a, const void *b)
{
	const struct wfreq *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->w, y->w);
}

/* The pair word list from the index: the PHRASE_WORDS words with the
 * most postings in subjects, new and quoted text together (a message
 * counts once per field it has the word in), leaving out words counted
 * once; into out, sorted, each followed by '\n'. 0 / -1. */
static int pairwords_choose(struct db_txn *t, struct store *s, struct sbuf *out, struct kv_err *err)
{
	static const char *const fields[] = { "s:", "b:", "q:" };
	struct wfreq *f = NULL;
	size_t nf = 0, cap = 0, w = 0;
	struct db_cursor *c;
	int rc = 0;

	if (db_cursor_open(t, s->d[D_TERM], &c, err) < 0)
		return -1;
	for (size_t i = 0; i < 3 && rc == 0; i++) {
		struct db_val k = { fields[i], 2 }, dv;
		for (rc = db_cursor_get(c, DB_SET_RANGE, &k, &dv, err); rc == 0;
		     rc = db_cursor_get(c, DB_NEXT, &k, &dv, err)) {
			const char *kp = k.p, *z;
			size_t tn;
			uint64_t cnt = 0;
			if (k.n < 3 || memcmp(kp, fields[i], 2))
				break;
			z = memchr(kp, 0, k.n);
			tn = z ? (size_t)(z - kp) : k.n;
			for (size_t j = 0; j < dv.n; j++)   /* a number ends at each byte below 0x80 */
				cnt += ((const unsigned char *)dv.p)[j] < 0x80;
			if (nf && strlen(f[nf - 1].w) == tn - 2 && !memcmp(f[nf - 1].w, kp + 2, tn - 2)) {
				f[nf - 1].n += cnt;
				continue;
			}
			if (nf == cap) {
				cap = cap ? cap * 2 : 4096;
				f = kv_xrealloc(f, cap * sizeof(*f));
			}
			f[nf++] = (struct wfreq){ kv_xstrndup(kp + 2, tn - 2), cnt };
		}
		if (rc == 1)
			rc = 0;
	}
	db_cursor_close(c);
	if (rc == 0 && nf) {
		/* the same word in several fields: one entry */
		qsort(f, nf, sizeof(*f), wfreq_by_word);
		for (size_t i = 0; i < nf; i++) {
			if (w && !strcmp(f[w - 1].w, f[i].w)) {
				f[w - 1].n += f[i].n;
				free(f[i].w);
			} else {
				f[w++] = f[i];
			}
		}
		qsort(f, w, sizeof(*f), wfreq_by_count);
		size_t keep = 0;
		while (keep < w && keep < PHRASE_WORDS && f[keep].n > 1)
			keep++;
		qsort(f, keep, sizeof(*f), wfreq_by_word);
		for (size_t i = 0; i < keep; i++) {
			sbuf_adds(out, f[i].w);
			sbuf_addc(out, '\n');
		}
		nf = w;
	}
	for (size_t i = 0; i < nf; i++)
		free(f[i].w);
	free(f);
	return rc < 0 ? -1 : 0;
}

/* No pair list and no pass under way (the pair terms are gone or go). */
int pairs_forget(struct db_txn *t, struct store *s, struct kv_err *err)
{
	if (db_del(t, s->d[D_META], PW_LIST, strlen(PW_LIST), NULL, 0, err) < 0 ||
	    db_del(t, s->d[D_META], PW_UPTO, strlen(PW_UPTO), NULL, 0, err) < 0)
		return -1;
	return 0;
}

/* Every pair term (field letters A-Z) out of the index, and the list. */
static int pairs_drop(struct db_txn *t, struct store *s, struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val k = { "A", 1 }, dv;
	int rc;

	if (db_cursor_open(t, s->d[D_TERM], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_SET_RANGE, &k, &dv, err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT, &k, &dv, err)) {
		unsigned char f = k.n ? ((const unsigned char *)k.p)[0] : 0;
		if (f < 'A' || f > 'Z')
			break;
		if (db_cursor_del(c, err) < 0) {
			rc = -1;
			break;
		}
	}
	db_cursor_close(c);
	if (rc < 0)
		return -1;
	/* schema 4 back to 3; a store without the word index stays as it is */
	if ((rc = schema_get(t, s, err)) < 0 ||
	    (rc == STORE_SCHEMA_PAIRS && schema_put(t, s, STORE_SCHEMA_VERSION, err) != 0))
		return -1;
	return pairs_forget(t, s, err);
}

int index_reader_pairs(struct store_reader *r, const struct pairwords **pw, struct kv_err *err)
{
	if (!r->pairs) {
		int ps = pairs_state(r->t, r->s, &r->pw, NULL, err);
		if (ps < 0)
			return -1;
		if (ps != PAIRS_COMPLETE) {
			pairwords_free(r->pw);
			r->pw = NULL;
		}
		r->pairs = r->pw ? 1 : 2;
	}
	*pw = r->pw;
	return 0;
}

/* One batch of the pair pass: the list chosen first (from the whole word
 * index), then the pairs of messages after meta PW_UPTO, REINDEX_BATCH at
 * a time; writers add theirs once the batch that reaches the last
 * message has deleted PW_UPTO. 0 more to do, 1 done, -1, DB_FULL. */
int pairs_batch(struct store *s, uint64_t *done, uint64_t *total, struct kv_err *err)
{
	struct db_txn *t;
	struct pairwords *pw = NULL;
	struct ixset x;
	uint64_t upto, next;
	int rc, ps;

	if (db_txn_begin(s->env, 0, &t, err) < 0)
		return -1;
	if ((ps = pairs_state(t, s, &pw, &upto, err)) < 0 || meta_get_u64(t, s, "next_num", &next, err) < 0) {
		db_txn_abort(t);
		pairwords_free(pw);
		return -1;
	}
	*total = next ? next - 1 : 0;
	if (ps == PAIRS_COMPLETE) {
		db_txn_abort(t);
		pairwords_free(pw);
		*done = *total;
		return 1;
	}
	rc = 0;
	if (ps == PAIRS_NONE) {
		struct sbuf list = SBUF_INIT;
		rc = pairwords_choose(t, s, &list, err);
		if (rc == 0 && !list.len) {
			/* no word in two messages yet: no pairs to build */
			sbuf_release(&list);
			db_txn_abort(t);
			*done = *total;
			return 1;
		}
		if (rc == 0)
			rc = db_put(t, s->d[D_META], PW_LIST, strlen(PW_LIST), list.buf, list.len, 0, err);
		if (rc == 0)
			pw = pairwords_new(list.buf, list.len);
		sbuf_release(&list);
		upto = 0;
	}
	memset(&x, 0, sizeof(x));
	x.pw = pw;
	x.only_pairs = 1;
	if (rc == 0)
		rc = reindex_messages(t, s, &x, upto, next, &upto, err);
	ixset_release(&x);
	pairwords_free(pw);
	if (rc == 0) {
		if (upto + 1 >= next) {
			rc = db_del(t, s->d[D_META], PW_UPTO, strlen(PW_UPTO), NULL, 0, err) < 0 ? -1 : 0;
			if (rc == 0)
				rc = schema_put(t, s, STORE_SCHEMA_PAIRS, err);
		} else
			rc = meta_put_u64(t, s, PW_UPTO, upto, err);
	}
	if ((rc = reindex_commit(t, rc, err)) != 0)
		return rc;
	*done = upto;
	return upto + 1 >= next;
}

int store_reindex_pairs(struct store *s, store_progress_cb progress, void *ctx, struct kv_err *err)
{
	struct db_txn *t;
	int rc;

	if (s->rdonly)
		return kv_err_set(err, "%s: store opened read-only", s->dir);
	for (int grows = 0;;) {
		if (db_txn_begin(s->env, 0, &t, err) < 0)
			return -1;
		rc = pairs_drop(t, s, err);
		if (rc == 0)
			break;
		if (!db_txn_full(t) || ++grows > 30) {
			db_txn_abort(t);
			return -1;
		}
		db_txn_abort(t);
		if (db_env_grow(s->env, err) < 0)
			return -1;
	}
	if (db_txn_commit(t, err) != 0)
		return -1;
	return store_reindex(s, progress, ctx, err);
}

int store_pairs_state(struct store *s, uint64_t *upto, struct kv_err *err)
{
	struct db_txn *t;
	int rc;

	if (db_txn_begin(s->env, 1, &t, err) < 0)
		return -1;
	rc = index_ready(t, s, err);
	if (rc == 1)
		rc = pairs_state(t, s, NULL, upto, err);
	else if (rc == 0)
		rc = PAIRS_NONE;
	db_txn_abort(t);
	return rc;
}
