/*
 * tcol.c - the thread column: the thread table's records again, TCOL_CHUNK
 * thread ids to an LMDB value keyed by chunk number (tid / TCOL_CHUNK,
 * big-endian). A value is TCOL_CHUNK + 1 offsets (native uint32, relative
 * to the end of the offsets) and then the records, verbatim as the thread
 * table holds them; entry i is the bytes [off[i], off[i + 1]), empty for
 * an id with no thread. A chunk with no thread at all is not stored.
 *
 * Why: a search printing thousands of threads read one thread record each
 * from the thread table, whose leaf pages lie all over the file (LMDB
 * writes a changed page to a new place): a page fault per page, the first
 * time a process touches it, which on a virtual machine costs tens of
 * microseconds. A chunk is one value on consecutive overflow pages, so the
 * same records come in a few faults.
 *
 * Written in the same write transaction as the thread table: every saved
 * or deleted thread marks its chunk (tcol_touch), and tcol_flush, at the
 * end of the batch, builds each marked chunk anew from the table. Meta
 * "tcol_next" holds the next_num the column was last brought up to; a
 * store whose next_num differs (made before the column, or written by a
 * program that does not keep it) has a stale column, which readers leave
 * alone (they read the thread table) and the next write transaction, or
 * `kvmarm-store reindex`, rebuilds whole.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>
#include "banned.h"

#define TCOL_HEAD ((TCOL_CHUNK + 1) * 4)

/* The write transaction's chunks to build, by chunk number. */
struct tcol_batch {
	unsigned char *dirty;
	size_t n;
};

int tcol_ready(struct db_txn *t, struct store *s, struct kv_err *err)
{
	return column_current(t, s, D_TCOL, "tcol_next", err);
}

static void mark(struct tcol_batch *b, uint64_t c)
{
	if (c >= b->n) {
		size_t n = b->n ? b->n : 16;
		while (n <= c)
			n *= 2;
		b->dirty = kv_xrealloc(b->dirty, n);
		memset(b->dirty + b->n, 0, n - b->n);
		b->n = n;
	}
	b->dirty[c] = 1;
}

void tcol_touch(struct wctx *w, uint64_t tid)
{
	if (w->tc)
		mark(w->tc, tid / TCOL_CHUNK);
}

int tcol_begin(struct wctx *w, int force)
{
	int rc = force ? 0 : tcol_ready(w->t, w->s, w->err);

	if (rc < 0)
		return -1;
	if (!w->s->d[D_TCOL])
		return 0;
	w->tc = kv_xcalloc(1, sizeof(*w->tc));
	if (rc == 1)
		return 0;
	/* stale or missing: every chunk built anew from the table */
	if ((rc = db_drop(w->t, w->s->d[D_TCOL], w->err)) != 0)
		return rc;
	for (uint64_t tid = 0; tid < w->next_thread + TCOL_CHUNK; tid += TCOL_CHUNK)
		mark(w->tc, tid / TCOL_CHUNK);
	return 0;
}

/* Chunk c as the thread table has it in t, into b (empty: no thread). */
static int build(struct db_txn *t, struct store *s, uint64_t c, struct sbuf *b, struct kv_err *err)
{
	struct db_cursor *cur;
	unsigned char k[8];
	struct db_val kv = { k, 8 }, v;
	uint32_t off[TCOL_CHUNK + 1];
	size_t at = 0, found = 0;
	int rc;

	sbuf_reset(b);
	sbuf_grow(b, TCOL_HEAD);
	b->len = TCOL_HEAD;
	db_be64(k, c * TCOL_CHUNK);
	if (db_cursor_open(t, s->d[D_THREAD], &cur, err) < 0)
		return -1;
	for (rc = db_cursor_get(cur, DB_SET_RANGE, &kv, &v, err); rc == 0;
	     rc = db_cursor_get(cur, DB_NEXT, &kv, &v, err)) {
		uint64_t id;
		if (kv.n != 8)
			continue;
		id = db_get_be64(kv.p);
		if (id / TCOL_CHUNK != c)
			break;
		while (at <= id % TCOL_CHUNK)
			off[at++] = (uint32_t)(b->len - TCOL_HEAD);
		sbuf_add(b, v.p, v.n);
		found++;
	}
	db_cursor_close(cur);
	if (rc < 0)
		return -1;
	while (at <= TCOL_CHUNK)
		off[at++] = (uint32_t)(b->len - TCOL_HEAD);
	memcpy(b->buf, off, sizeof(off));
	if (!found)
		b->len = 0;
	return 0;
}

int tcol_flush(struct wctx *w, uint64_t next_num)
{
	struct tcol_batch *b = w->tc;
	struct sbuf v = SBUF_INIT;
	int rc = 0;

	if (!b)
		return 0;
	for (size_t c = 0; c < b->n && rc == 0; c++) {
		unsigned char k[8];
		if (!b->dirty[c])
			continue;
		if ((rc = build(w->t, w->s, c, &v, w->err)) != 0)
			break;
		db_be64(k, c);
		if (v.len)
			rc = db_put(w->t, w->s->d[D_TCOL], k, 8, v.buf, v.len, 0, w->err);
		else if ((rc = db_del(w->t, w->s->d[D_TCOL], k, 8, NULL, 0, w->err)) == 1)
			rc = 0;
	}
	if (rc == 0)
		rc = meta_put_u64(w->t, w->s, "tcol_next", next_num, w->err);
	sbuf_release(&v);
	tcol_drop(w);
	return rc;
}

void tcol_drop(struct wctx *w)
{
	if (!w->tc)
		return;
	free(w->tc->dirty);
	free(w->tc);
	w->tc = NULL;
}

/* ---- reading ---- */

/* The entry of id in the chunk value v: 0 with *e set, 1 empty, -1 malformed. */
static int entry(const struct db_val *v, uint64_t id, struct db_val *e)
{
	const unsigned char *p = v->p;
	size_t i = id % TCOL_CHUNK;
	uint32_t a, b;

	if (v->n < TCOL_HEAD)
		return -1;
	memcpy(&a, p + i * 4, 4);
	memcpy(&b, p + (i + 1) * 4, 4);
	if (a > b || b > v->n - TCOL_HEAD)
		return -1;
	if (a == b)
		return 1;
	e->p = p + TCOL_HEAD + a;
	e->n = b - a;
	return 0;
}

int tcol_get(struct tcol_cur *c, uint64_t id, struct thread_rec *t, struct kv_err *err)
{
	uint64_t ch = id / TCOL_CHUNK;
	struct db_val e;
	int rc;

	if (!c->have || c->chunk != ch) {
		unsigned char k[8];
		db_be64(k, ch);
		rc = db_get(c->t, c->s->d[D_TCOL], k, 8, &c->v, err);
		if (rc < 0)
			return -1;
		c->chunk = ch;
		c->have = 1;
		c->found = rc == 0;
	}
	if (!c->found)
		return 1;
	rc = entry(&c->v, id, &e);
	if (rc < 0 || (rc == 0 && thr_decode(&e, id, t, NULL) < 0))
		return kv_err_set(err, "thread column: chunk %llu is malformed (run kvmarm-store reindex)",
				  (unsigned long long)ch);
	return rc;
}

/* ---- checking ---- */

static int chunk_check(struct store *s, struct db_txn *t, uint64_t c, struct sbuf *want, struct kv_err *err)
{
	unsigned char k[8];
	struct db_val v;
	int rc;

	if (build(t, s, c, want, err) < 0)
		return -1;
	db_be64(k, c);
	rc = db_get(t, s->d[D_TCOL], k, 8, &v, err);
	if (rc < 0)
		return -1;
	if (rc == 1 && !want->len)
		return 0;
	if (rc == 1)
		return kv_err_set(err, "thread column: chunk %llu (threads from %llu) is missing "
				  "(run kvmarm-store reindex)", (unsigned long long)c,
				  (unsigned long long)(c * TCOL_CHUNK)), 1;
	if (v.n != want->len || memcmp(v.p, want->buf, v.n) != 0) {
		for (uint64_t i = 0; i < TCOL_CHUNK; i++) {
			struct db_val a, b;
			struct db_val wv = { want->buf, want->len };
			int ra = entry(&v, c * TCOL_CHUNK + i, &a), rb = want->len ? entry(&wv, i, &b) : 1;
			if (ra < 0)
				break;
			if (ra != rb || (ra == 0 && (a.n != b.n || memcmp(a.p, b.p, a.n) != 0)))
				return kv_err_set(err, "thread column: thread %llu differs from the thread "
						  "table (run kvmarm-store reindex)",
						  (unsigned long long)(c * TCOL_CHUNK + i)), 1;
		}
		return kv_err_set(err, "thread column: chunk %llu is malformed (run kvmarm-store reindex)",
				  (unsigned long long)c), 1;
	}
	return 0;
}

int tcol_check(struct store *s, struct db_txn *t, struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val kv, v;
	struct sbuf want = SBUF_INIT;
	uint64_t last = UINT64_MAX;   /* the last chunk checked */
	int rc, ret = 0;

	if ((rc = tcol_ready(t, s, err)) <= 0)
		return rc;
	/* every chunk the thread table has ... */
	if (db_cursor_open(t, s->d[D_THREAD], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0 && !ret;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		uint64_t ch;
		if (kv.n != 8 || (ch = db_get_be64(kv.p) / TCOL_CHUNK) == last)
			continue;
		last = ch;
		if ((ret = chunk_check(s, t, ch, &want, err)) < 0)
			break;
	}
	db_cursor_close(c);
	/* ... and no other */
	if (rc >= 0 && !ret) {
		if (db_cursor_open(t, s->d[D_TCOL], &c, err) < 0) {
			sbuf_release(&want);
			return -1;
		}
		for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0 && !ret;
		     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
			if (kv.n != 8) {
				kv_err_set(err, "thread column: malformed key (run kvmarm-store reindex)");
				ret = 1;
				break;
			}
			ret = chunk_check(s, t, db_get_be64(kv.p), &want, err);
		}
		db_cursor_close(c);
	}
	sbuf_release(&want);
	if (rc < 0 || ret < 0)
		return -1;
	return ret;
}
