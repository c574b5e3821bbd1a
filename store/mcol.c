/*
 * mcol.c - the message column: every message's date and thread id, dense,
 * MCOL_CHUNK messages to an LMDB value keyed by chunk number (num /
 * MCOL_CHUNK, big-endian), an entry (native int64 date, uint64 thread id)
 * at num % MCOL_CHUNK; thread id 0 is "no message". A search that matched
 * tens of thousands of messages orders and groups them from a few hundred
 * kilobytes read in order, where the date and mthr tables would cost a
 * B-tree step (and, cold, a page fault) per message.
 *
 * It is a copy of the date and mthr tables, written in the same write
 * transaction as they are, so a crash never leaves them disagreeing. Meta
 * "mcol_v2_next" holds the next_num the column was last brought up to
 * (v2: MCOL_CHUNK 4096, 64 KiB values, a few page faults for a whole
 * column; the first column, 512 to a chunk, kept "mcol_next", which a
 * rebuild deletes so that a program of that column does not read this
 * one as its own): a store whose next_num differs (made before the
 * column, or written since by a program that does not keep it) has a
 * stale column, which readers
 * leave alone (mcol_ready 0: they use the tables) and the next write
 * transaction, or `kvmarm-store reindex`, rebuilds from the tables.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>
#include "banned.h"

#define MCOL_ENT 16
#define MCOL_BYTES (MCOL_CHUNK * MCOL_ENT)

/* The write transaction's changed chunks, written at its end. */
struct mcol_batch {
	unsigned char **chunk;   /* by chunk number; NULL: not loaded */
	size_t n;
};

static void chunk_key(unsigned char *k, uint64_t c)
{
	db_be64(k, c);
}

static void ent_put(unsigned char *p, int64_t date, uint64_t tid)
{
	memcpy(p, &date, 8);
	memcpy(p + 8, &tid, 8);
}

static void ent_get(const unsigned char *p, int64_t *date, uint64_t *tid)
{
	memcpy(date, p, 8);
	memcpy(tid, p + 8, 8);
}

int column_current(struct db_txn *t, struct store *s, int table, const char *key, struct kv_err *err)
{
	uint64_t next, upto;
	struct db_val v;
	int rc;

	if (!s->d[table])
		return 0;
	rc = db_get(t, s->d[D_META], key, strlen(key), &v, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (v.n != 8)
		return 0;
	upto = db_get_be64(v.p);
	if (meta_get_u64(t, s, "next_num", &next, err) < 0)
		return -1;
	return upto == next;
}

int mcol_ready(struct db_txn *t, struct store *s, struct kv_err *err)
{
	return column_current(t, s, D_MCOL, "mcol_v2_next", err);
}

/* The chunk c in the batch, loaded (or made empty) on first use. */
static unsigned char *batch_chunk(struct wctx *w, uint64_t c, int load)
{
	struct mcol_batch *b = w->mc;

	if (c >= b->n) {
		size_t n = b->n ? b->n : 16;
		while (n <= c)
			n *= 2;
		b->chunk = kv_xrealloc(b->chunk, n * sizeof(*b->chunk));
		memset(b->chunk + b->n, 0, (n - b->n) * sizeof(*b->chunk));
		b->n = n;
	}
	if (!b->chunk[c]) {
		unsigned char k[8];
		struct db_val v;
		int rc = 1;
		b->chunk[c] = kv_xcalloc(1, MCOL_BYTES);
		chunk_key(k, c);
		if (load && (rc = db_get(w->t, w->s->d[D_MCOL], k, 8, &v, w->err)) < 0)
			return NULL;
		if (rc == 0 && v.n == MCOL_BYTES)
			memcpy(b->chunk[c], v.p, MCOL_BYTES);
	}
	return b->chunk[c];
}

int mcol_set(struct wctx *w, uint64_t num, int64_t date, uint64_t tid)
{
	unsigned char *p;

	if (!w->mc)
		return 0;
	if (!(p = batch_chunk(w, num / MCOL_CHUNK, 1)))
		return -1;
	ent_put(p + (num % MCOL_CHUNK) * MCOL_ENT, date, tid);
	return 0;
}

int mcol_set_thread(struct wctx *w, uint64_t num, uint64_t tid)
{
	unsigned char *p;
	int64_t date;
	uint64_t old;

	if (!w->mc)
		return 0;
	if (!(p = batch_chunk(w, num / MCOL_CHUNK, 1)))
		return -1;
	p += (num % MCOL_CHUNK) * MCOL_ENT;
	ent_get(p, &date, &old);
	ent_put(p, date, tid);
	return 0;
}

/* Fill the (empty) batch from the date and mthr tables. 0 / -1. */
static int rebuild(struct wctx *w)
{
	struct db_cursor *c;
	struct db_val kv, v;
	int rc;

	if (db_cursor_open(w->t, w->s->d[D_DATE], &c, w->err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, w->err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, w->err)) {
		uint64_t num;
		unsigned char *p;
		if (kv.n != 16)
			continue;
		num = db_get_be64((const char *)kv.p + 8);
		p = batch_chunk(w, num / MCOL_CHUNK, 0);
		ent_put(p + (num % MCOL_CHUNK) * MCOL_ENT, date_unbias(db_get_be64(kv.p)), 0);
	}
	db_cursor_close(c);
	if (rc < 0 || db_cursor_open(w->t, w->s->d[D_MTHR], &c, w->err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, w->err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, w->err)) {
		uint64_t num;
		unsigned char *p;
		if (kv.n != 8 || v.n != 8)
			continue;
		num = db_get_be64(kv.p);
		p = batch_chunk(w, num / MCOL_CHUNK, 0);
		memcpy(p + (num % MCOL_CHUNK) * MCOL_ENT + 8, &(uint64_t){ db_get_be64(v.p) }, 8);
	}
	db_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

int mcol_begin(struct wctx *w, int force)
{
	int rc = force ? 0 : mcol_ready(w->t, w->s, w->err);

	if (rc < 0)
		return -1;
	w->mc = kv_xcalloc(1, sizeof(*w->mc));
	if (rc == 1)
		return 0;
	/* stale or missing: from the tables, every chunk written anew */
	if ((rc = db_drop(w->t, w->s->d[D_MCOL], w->err)) != 0)
		return rc;
	/* a program of the first column would take this one for its own */
	if ((rc = db_del(w->t, w->s->d[D_META], "mcol_next", 9, NULL, 0, w->err)) < 0)
		return rc;
	return rebuild(w);
}

int mcol_flush(struct wctx *w, uint64_t next_num)
{
	struct mcol_batch *b = w->mc;
	int rc = 0;

	if (!b)
		return 0;
	for (size_t c = 0; c < b->n && rc == 0; c++) {
		unsigned char k[8];
		if (!b->chunk[c])
			continue;
		chunk_key(k, c);
		rc = db_put(w->t, w->s->d[D_MCOL], k, 8, b->chunk[c], MCOL_BYTES, 0, w->err);
	}
	if (rc == 0)
		rc = meta_put_u64(w->t, w->s, "mcol_v2_next", next_num, w->err);
	mcol_drop(w);
	return rc;
}

void mcol_drop(struct wctx *w)
{
	struct mcol_batch *b = w->mc;

	if (!b)
		return;
	for (size_t c = 0; c < b->n; c++)
		free(b->chunk[c]);
	free(b->chunk);
	free(b);
	w->mc = NULL;
}

int store_rebuild_columns(struct store *s, struct kv_err *err)
{
	if (s->rdonly)
		return kv_err_set(err, "%s: store opened read-only", s->dir);
	for (int grows = 0;; grows++) {
		struct wctx w;
		uint64_t next;
		int rc;

		memset(&w, 0, sizeof(w));
		w.s = s;
		w.err = err;
		if (db_txn_begin(s->env, 0, &w.t, err) < 0)
			return -1;
		rc = meta_get_u64(w.t, s, "next_num", &next, err);
		if (rc == 0)
			rc = meta_get_u64(w.t, s, "next_thread", &w.next_thread, err);
		if (rc == 0)
			rc = mcol_begin(&w, 1);
		if (rc == 0)
			rc = tcol_begin(&w, 1);
		if (rc == 0)
			rc = mcol_flush(&w, next);
		if (rc == 0)
			rc = tcol_flush(&w, next);
		mcol_drop(&w);
		tcol_drop(&w);
		if (rc == 0)
			return db_txn_commit(w.t, err);
		rc = db_txn_full(w.t) ? DB_FULL : -1;
		db_txn_abort(w.t);
		if (rc != DB_FULL || grows >= 30 || db_env_grow(s->env, err) < 0)
			return -1;
	}
}

/* ---- reading ---- */

int mcol_get(struct mcol_cur *c, uint64_t num, int64_t *date, uint64_t *tid, struct kv_err *err)
{
	uint64_t ch = num / MCOL_CHUNK;

	if (!c->have || c->chunk != ch) {
		unsigned char k[8];
		struct db_val v;
		int rc;
		chunk_key(k, ch);
		rc = db_get(c->t, c->s->d[D_MCOL], k, 8, &v, err);
		if (rc < 0)
			return -1;
		c->chunk = ch;
		c->have = 1;
		c->p = rc == 0 && v.n == MCOL_BYTES ? v.p : NULL;
	}
	if (!c->p)
		return 1;
	ent_get((const unsigned char *)c->p + (num % MCOL_CHUNK) * MCOL_ENT, date, tid);
	return *tid ? 0 : 1;
}

/* ---- checking ---- */

int mcol_check(struct store *s, struct db_txn *t, struct kv_err *err)
{
	struct wctx w;
	struct db_cursor *c;
	struct db_val kv, v;
	int rc, ret = 0;

	if ((rc = mcol_ready(t, s, err)) <= 0)
		return rc;
	/* what the tables say, against what is stored */
	memset(&w, 0, sizeof(w));
	w.s = s;
	w.t = t;
	w.err = err;
	w.mc = kv_xcalloc(1, sizeof(*w.mc));
	if (rebuild(&w) < 0) {
		mcol_drop(&w);
		return -1;
	}
	if (db_cursor_open(t, s->d[D_MCOL], &c, err) < 0) {
		mcol_drop(&w);
		return -1;
	}
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0 && !ret;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		uint64_t ch = kv.n == 8 ? db_get_be64(kv.p) : UINT64_MAX;
		const unsigned char *want = ch < w.mc->n ? w.mc->chunk[ch] : NULL;
		if (kv.n != 8 || v.n != MCOL_BYTES) {
			kv_err_set(err, "message column: malformed chunk (run kvmarm-store reindex)");
			ret = 1;
			break;
		}
		for (size_t i = 0; i < MCOL_CHUNK && !ret; i++) {
			int64_t d1 = 0, d2;
			uint64_t t1 = 0, t2;
			if (want)
				ent_get(want + i * MCOL_ENT, &d1, &t1);
			ent_get((const unsigned char *)v.p + i * MCOL_ENT, &d2, &t2);
			if (t1 != t2 || (t1 && d1 != d2)) {
				kv_err_set(err, "message column: message %llu has date %lld thread %llu there, "
					   "the tables say %lld thread %llu (run kvmarm-store reindex)",
					   (unsigned long long)(ch * MCOL_CHUNK + i), (long long)d2,
					   (unsigned long long)t2, (long long)d1, (unsigned long long)t1);
				ret = 1;
			}
		}
		if (want) {
			free(w.mc->chunk[ch]);
			w.mc->chunk[ch] = NULL;
		}
	}
	db_cursor_close(c);
	for (size_t ch = 0; rc >= 0 && !ret && ch < w.mc->n; ch++) {
		const unsigned char *p = w.mc->chunk[ch];
		for (size_t i = 0; p && i < MCOL_CHUNK; i++) {
			int64_t d;
			uint64_t tid;
			ent_get(p + i * MCOL_ENT, &d, &tid);
			if (tid) {
				kv_err_set(err, "message column: message %llu is missing (run kvmarm-store reindex)",
					   (unsigned long long)(ch * MCOL_CHUNK + i));
				ret = 1;
				break;
			}
		}
	}
	mcol_drop(&w);
	if (rc < 0)
		return -1;
	return ret;
}
