/*
 * add.c - adding batches of messages to the store (store_add_batch,
 * store_add in store.h): parse and encode outside the lock, then one write
 * transaction: bytes, record, indexes, threading.
 *
 * Apart from store.c because it is the store's one caller of the parser
 * (mime_parse, for items that come unparsed): a program that only opens
 * and reads the store (kvmarm-store's queries) then links neither this
 * file nor gmime, and does not pay gmime's loading at every start.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#include "mime.h"
#include "banned.h"


/* One item of a batch, parsed and encoded before the write transaction. */
struct prep {
	struct mail own;
	const struct mail *m;
	int ok;
	unsigned char ident[KV_SHA256_LEN];
	struct sbuf rec;
	int text_tail;          /* text is raw[len - text_len, len) */
};

static int add_one(struct wctx *w, struct store_item *it, struct prep *p)
{
	struct store *s = w->s;
	unsigned char k[8], dk[16];
	struct db_val v;
	struct msg_rec m;
	struct idkey ik;
	uint64_t num;
	struct msg_fixed f;
	int rc;

	rc = db_get(w->t, s->d[D_IDENT], p->ident, 32, &v, w->err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		it->status = STORE_DUPLICATE;
		it->num = db_get_be64(v.p);
		return 0;
	}
	num = w->next_num++;
	db_be64(k, num);
	/* the bytes first, past the committed ends of raw.dat and rec.dat */
	memcpy(&f, p->rec.buf, sizeof(f));
	f.raw_off = w->cur[F_RAW];
	f.text_off = p->text_tail ? f.raw_off + it->len - p->m->text_len : f.raw_off + it->len + 1;
	memcpy(p->rec.buf, &f, sizeof(f));
	{
		struct iovec iov[4] = {
			{ (void *)it->raw, it->len }, { (void *)"", 1 },
			{ (void *)p->m->text, p->m->text_len }, { (void *)"", 1 },
		};
		struct iovec riov[1] = { { p->rec.buf, p->rec.len } };
		unsigned char loc[MSGIDX_LEN];
		uint32_t sums[SUM_COUNT] = {
			[SUM_RAW] = store_crc(it->raw, it->len),
			[SUM_TEXT] = store_crc(p->m->text, p->m->text_len),
			[SUM_REC] = store_crc(p->rec.buf, p->rec.len),
		};

		if (blob_write(s, F_RAW, iov, p->text_tail ? 2 : 4, w->cur[F_RAW], w->err) < 0 ||
		    blob_write(s, F_REC, riov, 1, w->cur[F_REC], w->err) < 0)
			return -1;
		key16(loc, w->cur[F_REC], p->rec.len);
		for (int i = 0; i < SUM_COUNT; i++) {
			unsigned char *q = loc + MSGIDX_OLD + 4 * i;
			q[0] = (unsigned char)(sums[i] >> 24);
			q[1] = (unsigned char)(sums[i] >> 16);
			q[2] = (unsigned char)(sums[i] >> 8);
			q[3] = (unsigned char)sums[i];
		}
		w->cur[F_RAW] += it->len + 1 + (p->text_tail ? 0 : p->m->text_len + 1);
		w->cur[F_REC] += p->rec.len;
		if ((rc = db_put(w->t, s->d[D_MSG], k, 8, loc, MSGIDX_LEN, DB_APPEND, w->err)) != 0)
			return rc;
	}
	idkey_make(&ik, p->m->message_id);
	if ((rc = db_put(w->t, s->d[D_MID], ik.b, ik.n, k, 8, 0, w->err)) != 0)
		return rc;
	if ((rc = db_put(w->t, s->d[D_IDENT], p->ident, 32, k, 8, 0, w->err)) != 0)
		return rc;
	key16(dk, date_bias(p->m->date), num);
	if ((rc = db_put(w->t, s->d[D_DATE], dk, 16, "", 0, 0, w->err)) != 0)
		return rc;
	w->raw_bytes += it->len;
	/* thread from the record as stored, so the writer and readers agree */
	{
		struct db_val cv = { p->rec.buf, p->rec.len };
		if (msg_decode(&cv, num, &m) < 0)
			return kv_err_set(w->err, "message %llu: malformed record", (unsigned long long)num);
		if ((rc = thread_add(w, &m)) < 0)
			return rc;
		if (w->indexed && (rc = index_add(w, &m, p->m->text, p->m->text_len)) != 0)
			return rc;
	}
	it->status = STORE_ADDED;
	it->num = num;
	return 0;
}

static int write_batch(struct store *s, struct store_item *items, struct prep *preps, size_t n,
		       struct kv_err *err)
{
	struct wctx w;
	size_t i;
	int rc;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.err = err;
	if (db_txn_begin(s->env, 0, &w.t, err) < 0)
		return -1;
	if (meta_get_u64(w.t, s, "next_num", &w.next_num, err) < 0 ||
	    meta_get_u64(w.t, s, "next_thread", &w.next_thread, err) < 0 ||
	    meta_get_u64(w.t, s, "next_series", &w.next_series, err) < 0 ||
	    meta_get_u64(w.t, s, "raw_bytes", &w.raw_bytes, err) < 0 ||
	    meta_get_u64(w.t, s, "ghosts", &w.ghosts, err) < 0 ||
	    meta_get_u64(w.t, s, blob_files[F_RAW].endkey, &w.end[F_RAW], err) < 0 ||
	    meta_get_u64(w.t, s, blob_files[F_REC].endkey, &w.end[F_REC], err) < 0) {
		rc = -1;
		goto fail;
	}
	if ((w.indexed = index_ready(w.t, s, err)) < 0) {
		rc = -1;
		goto fail;
	}
	/* the phrase pairs too, once reindex has built them for every message */
	if (w.indexed) {
		int ps = pairs_state(w.t, s, &w.pw, NULL, err);
		if (ps < 0) {
			rc = -1;
			goto fail;
		}
		if (ps != PAIRS_COMPLETE) {
			pairwords_free(w.pw);
			w.pw = NULL;
		}
	}
	/* next_num as stored: the column is current when it names the same */
	if ((rc = mcol_begin(&w, 0)) != 0 || (rc = tcol_begin(&w, 0)) != 0)
		goto fail;
	w.cur[F_RAW] = w.end[F_RAW];
	w.cur[F_REC] = w.end[F_REC];
	if (!w.next_num)
		w.next_num = 1;
	if (!w.next_thread)
		w.next_thread = 1;
	if (!w.next_series)
		w.next_series = 1;
	for (i = 0; i < n; i++) {
		if (!preps[i].ok)
			continue;
		if ((rc = add_one(&w, &items[i], &preps[i])) != 0) {
			if (rc != DB_FULL && !db_txn_full(w.t)) {
				char tmp[KV_ERR_MAX];
				snprintf(tmp, sizeof(tmp), "message <%.200s>: %.290s", preps[i].m->message_id, err->msg);
				kv_err_set(err, "%s", tmp);
			}
			goto fail;
		}
	}
	/* the batch's words, each term's new numbers in one block rewrite */
	if ((rc = index_flush(&w)) != 0)
		goto fail;
	if ((rc = mcol_flush(&w, w.next_num)) != 0 || (rc = tcol_flush(&w, w.next_num)) != 0)
		goto fail;
	if ((rc = meta_put_u64(w.t, s, "next_num", w.next_num, err)) != 0 ||
	    (rc = meta_put_u64(w.t, s, "next_thread", w.next_thread, err)) != 0 ||
	    (rc = meta_put_u64(w.t, s, "next_series", w.next_series, err)) != 0 ||
	    (rc = meta_put_u64(w.t, s, "raw_bytes", w.raw_bytes, err)) != 0 ||
	    (rc = meta_put_u64(w.t, s, "ghosts", w.ghosts, err)) != 0 ||
	    (rc = meta_put_u64(w.t, s, blob_files[F_RAW].endkey, w.cur[F_RAW], err)) != 0 ||
	    (rc = meta_put_u64(w.t, s, blob_files[F_REC].endkey, w.cur[F_REC], err)) != 0)
		goto fail;
	/* the bytes reach the disk before the index entries that name them */
	for (int f = 0; f < F_COUNT; f++) {
		if (w.cur[f] > w.end[f] && fdatasync(s->fd[f]) < 0) {
			rc = kv_err_set(err, "%s/%s: sync: %s", s->dir, blob_files[f].name, strerror(errno));
			goto fail;
		}
	}
	pairwords_free(w.pw);
	return db_txn_commit(w.t, err);
fail:
	pairwords_free(w.pw);
	index_drop(&w);
	mcol_drop(&w);
	tcol_drop(&w);
	if (db_txn_full(w.t))
		rc = DB_FULL;
	db_txn_abort(w.t);
	return rc == DB_FULL ? DB_FULL : -1;
}

int store_add_batch(struct store *s, struct store_item *items, size_t n, struct kv_err *err)
{
	struct prep *preps;
	struct kv_err lerr;
	size_t i;
	int rc = -1;

	if (!err)
		err = &lerr;
	if (s->rdonly)
		return kv_err_set(err, "%s: store opened read-only", s->dir);
	/* gmime is set up on first use: readers (query commands) never pay for it */
	mime_init();
	preps = kv_xcalloc(n ? n : 1, sizeof(*preps));
	/* parse and encode outside the write transaction: the lock is held
	 * only for the puts, and a replay after growing the map is cheap */
	for (i = 0; i < n; i++) {
		struct store_item *it = &items[i];
		struct prep *p = &preps[i];
		struct kv_err perr;

		it->status = STORE_SKIPPED;
		it->num = 0;
		it->flags = 0;
		it->why[0] = 0;
		if (it->parsed) {
			p->m = it->parsed;
		} else if (mime_parse(it->raw, it->len, it->arrival, &p->own, &perr) < 0) {
			snprintf(it->why, sizeof(it->why), "%.250s", perr.msg);
			continue;
		} else {
			p->m = &p->own;
		}
		if (!p->m->message_id || !p->m->message_id[0]) {
			snprintf(it->why, sizeof(it->why), "no message-id after parsing");
			continue;
		}
		it->flags = p->m->flags;
		p->ok = 1;
		msg_ident(p->m->message_id, p->m->flags, it->raw, it->len, p->ident);
		msg_encode(p->m, it->len, &p->rec);
		p->text_tail = p->m->text_len > 0 && p->m->text_len <= it->len &&
			memcmp(it->raw + it->len - p->m->text_len, p->m->text, p->m->text_len) == 0;
	}
	for (int tries = 0;; tries++) {
		for (i = 0; i < n; i++)
			if (preps[i].ok) {
				items[i].status = STORE_SKIPPED;
				items[i].num = 0;
			}
		rc = write_batch(s, items, preps, n, err);
		if (rc != DB_FULL)
			break;
		if (tries >= 30 || db_env_grow(s->env, err) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc < 0)
		for (i = 0; i < n; i++)
			if (preps[i].ok) {
				items[i].status = STORE_SKIPPED;
				snprintf(items[i].why, sizeof(items[i].why), "not stored: %.240s", err->msg);
			}
	for (i = 0; i < n; i++) {
		if (preps[i].m == &preps[i].own)
			mail_release(&preps[i].own);
		sbuf_release(&preps[i].rec);
	}
	free(preps);
	return rc < 0 ? -1 : 0;
}

int store_add(struct store *s, const char *raw, size_t len, int64_t arrival,
	      struct store_item *out, struct kv_err *err)
{
	struct store_item it;

	memset(&it, 0, sizeof(it));
	it.raw = raw;
	it.len = len;
	it.arrival = arrival;
	if (store_add_batch(s, &it, 1, err) < 0) {
		if (out)
			*out = it;
		return -1;
	}
	if (out)
		*out = it;
	return 0;
}
