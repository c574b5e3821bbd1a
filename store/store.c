/*
 * store.c - the thread store (store.h) on top of the db layer: opening and
 * closing, adding batches of messages (parse outside the lock, then one
 * write transaction: bytes, record, indexes, threading) and the reporter's
 * side tables. The other parts of store.h live beside it: record.c (record
 * formats, data files), thread.c, series.c, read.c (queries), check.c
 * (the invariant check); store_int.h is what they share.
 *
 * Databases (all in one LMDB environment, integers big-endian so byte order
 * is numeric order):
 *   meta     name -> value: schema_version, next_num, next_thread,
 *            next_series, raw_bytes, ghosts, blob_end, rec_end
 *   msg      num -> where its record is in rec.dat (offset, length)
 *   mid      idkey(Message-ID) -> num (dups: same id, different content)
 *   ident    SHA-256(Message-ID, body bytes) -> num: "delivered twice"
 *   date     date || num -> "" for windows
 *   mthr     num -> thread id
 *   node     idkey -> thread id, for every id seen or referenced (ghosts)
 *   tnodes   thread id -> idkeys (dups), so a merge can relabel them
 *   thread   thread id -> record
 *   tmember  thread id -> date || num (dups, fixed): members in date order
 *   series   series id -> record with each version's thread, version,
 *            date, root id and subject (one lookup per series)
 *   skey     "c:"change-id, "l:"linked id, "t:"author/project/title -> series
 *   summary, summary_last, sent, umeta: side tables for store_kv_*
 *
 * rec.dat and raw.dat, the append-only data files beside the LMDB
 * environment, are described in record.c.
 */
#include "store_int.h"
#include "subject.h"
#include "body.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#define STORE_DEFAULT_MAP ((size_t)256 << 20)

const struct store_dbdef store_dbdefs[D_COUNT] = {
	[D_META] = { "meta", 0 },
	[D_MSG] = { "msg", 0 },
	[D_MID] = { "mid", DB_DUPSORT | DB_DUPFIXED },
	[D_IDENT] = { "ident", 0 },
	[D_DATE] = { "date", 0 },
	[D_MTHR] = { "mthr", 0 },
	[D_NODE] = { "node", 0 },
	[D_TNODES] = { "tnodes", DB_DUPSORT },
	[D_THREAD] = { "thread", 0 },
	[D_TMEMBER] = { "tmember", DB_DUPSORT | DB_DUPFIXED },
	[D_SERIES] = { "series", 0 },
	[D_SKEY] = { "skey", 0 },
	[D_SUMMARY] = { "summary", 0 },
	[D_SUMMARY_LAST] = { "summary_last", 0 },
	[D_SENT] = { "sent", 0 },
	[D_UMETA] = { "umeta", 0 },
};

const char *store_path(const struct store *s)
{
	return s->dir;
}

/* ---- opening ---- */

static int mkdir_p(const char *dir, struct kv_err *err)
{
	char *tmp = kv_xstrdup(dir);
	int rc = 0;

	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
				rc = kv_err_set(err, "%s: cannot create directory: %s", tmp, strerror(errno));
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(tmp);
	return rc;
}

int store_open_mapsize(struct store **sp, const char *dir, unsigned flags, size_t mapsize,
		       struct kv_err *err)
{
	struct store *s;
	struct db_txn *t = NULL;
	struct stat st;
	int rdonly = !!(flags & STORE_RDONLY);
	struct db_val v;
	int rc, probe;

	*sp = NULL;
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || rdonly || !(flags & STORE_CREATE))
			return kv_err_set(err, "%s: %s", dir, strerror(errno));
		if (mkdir_p(dir, err) < 0)
			return -1;
	} else if (!S_ISDIR(st.st_mode)) {
		return kv_err_set(err, "%s: not a directory", dir);
	}
	if (rdonly || !(flags & STORE_CREATE)) {
		char *f = kv_xasprintf("%s/data.mdb", dir);
		int ex = stat(f, &st) == 0;
		free(f);
		if (!ex)
			return kv_err_set(err, "%s: no store here (data.mdb missing)", dir);
	}
	s = kv_xcalloc(1, sizeof(*s));
	for (int i = 0; i < F_COUNT; i++)
		s->fd[i] = -1;
	s->dir = kv_xstrdup(dir);
	s->rdonly = rdonly;
	if (db_env_open(&s->env, dir, mapsize ? mapsize : STORE_DEFAULT_MAP, D_COUNT + 4,
			rdonly, err) < 0)
		goto fail;
	/* A read transaction first: opening an existing store must not wait
	 * for the writer lock a milter may be holding. Only a new (or
	 * incomplete) store takes a write transaction to create what is missing. */
	probe = 1;
	for (int tries = 0;; tries++) {
		if (db_txn_begin(s->env, probe || rdonly, &t, err) < 0)
			goto fail;
		for (int i = 0; i < D_COUNT; i++) {
			rc = db_dbi_open(t, store_dbdefs[i].name, store_dbdefs[i].flags, !(probe || rdonly), &s->d[i], err);
			if (rc == 1 && probe && !rdonly)
				goto create;
			if (rc == 1) {
				kv_err_set(err, "%s: not a kvmarm store (database %s missing)", dir,
					   store_dbdefs[i].name);
				goto fail;
			}
			if (rc < 0)
				goto retry;
		}
		rc = db_get(t, s->d[D_META], "schema_version", 14, &v, err);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			char buf[32], want[16];
			size_t n = v.n < sizeof(buf) - 1 ? v.n : sizeof(buf) - 1;
			memcpy(buf, v.p, n);
			buf[n] = 0;
			snprintf(want, sizeof(want), "%d", STORE_SCHEMA_VERSION);
			if (strcmp(buf, want) != 0) {
				kv_err_set(err, "%s: unknown store schema version %s (this program knows %d)",
					   dir, buf, STORE_SCHEMA_VERSION);
				goto fail;
			}
		} else if (rdonly) {
			kv_err_set(err, "%s: store has no schema version", dir);
			goto fail;
		} else if (probe) {
			goto create;
		} else {
			char buf[16];
			int n = snprintf(buf, sizeof(buf), "%d", STORE_SCHEMA_VERSION);
			if ((rc = db_put(t, s->d[D_META], "schema_version", 14, buf, (size_t)n, 0, err)) != 0)
				goto retry;
		}
		rc = db_txn_commit(t, err);
		t = NULL;
		if (rc == 0)
			break;
retry:
		if (t)
			db_txn_abort(t);
		t = NULL;
		if (rc == DB_FULL && tries < 10 && db_env_grow(s->env, err) == 0)
			continue;
		goto fail;
create:
		db_txn_abort(t);
		t = NULL;
		probe = 0;
	}
	for (int i = 0; i < F_COUNT; i++) {
		char *f = kv_xasprintf("%s/%s", dir, blob_files[i].name);
		s->fd[i] = open(f, rdonly ? O_RDONLY | O_CLOEXEC : O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (s->fd[i] < 0 && !(rdonly && errno == ENOENT)) {
			kv_err_set(err, "%s: %s", f, strerror(errno));
			free(f);
			goto fail;
		}
		free(f);
	}
	*sp = s;
	return 0;
fail:
	if (t)
		db_txn_abort(t);
	for (int i = 0; i < F_COUNT; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	db_env_close(s->env);
	free(s->dir);
	free(s);
	return -1;
}

int store_open(struct store **sp, const char *dir, unsigned flags, struct kv_err *err)
{
	return store_open_mapsize(sp, dir, flags, 0, err);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	db_env_close(s->env);
	for (int i = 0; i < F_COUNT; i++)
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	free(s->dir);
	free(s);
}

/* ---- writing ---- */

struct prep {
	struct mail own;
	const struct mail *m;
	int ok;
	unsigned char ident[32];
	struct sbuf rec;
	int text_tail;          /* text is raw[len - text_len, len) */
};


/* ---- the batch ---- */

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
		unsigned char loc[16];

		if (blob_write(s, F_RAW, iov, p->text_tail ? 2 : 4, w->cur[F_RAW], w->err) < 0 ||
		    blob_write(s, F_REC, riov, 1, w->cur[F_REC], w->err) < 0)
			return -1;
		key16(loc, w->cur[F_REC], p->rec.len);
		w->cur[F_RAW] += it->len + 1 + (p->text_tail ? 0 : p->m->text_len + 1);
		w->cur[F_REC] += p->rec.len;
		if ((rc = db_put(w->t, s->d[D_MSG], k, 8, loc, 16, DB_APPEND, w->err)) != 0)
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
	return db_txn_commit(w.t, err);
fail:
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
		msg_ident(p->m->message_id, it->raw, it->len, p->ident);
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

/* ---- side tables ---- */

static int kv_table(const char *table, struct kv_err *err)
{
	if (!strcmp(table, "summary"))
		return D_SUMMARY;
	if (!strcmp(table, "summary_last"))
		return D_SUMMARY_LAST;
	if (!strcmp(table, "sent"))
		return D_SENT;
	if (!strcmp(table, "meta"))
		return D_UMETA;
	return kv_err_set(err, "unknown side table %s", table);
}

static int kv_write(struct store *s, const char *table, const char *key, const void *val,
		    size_t len, int del, struct kv_err *err)
{
	int d = kv_table(table, err);
	size_t kn = strlen(key);

	if (d < 0)
		return -1;
	if (kn == 0 || kn > IDKEY_MAX)
		return kv_err_set(err, "table %s: key of %zu bytes (1..%d allowed)", table, kn, IDKEY_MAX);
	if (s->rdonly)
		return kv_err_set(err, "%s: store opened read-only", s->dir);
	for (int tries = 0;; tries++) {
		struct db_txn *t;
		int rc;

		if (db_txn_begin(s->env, 0, &t, err) < 0)
			return -1;
		if (del)
			rc = db_del(t, s->d[d], key, kn, NULL, 0, err);
		else
			rc = db_put(t, s->d[d], key, kn, val, len, 0, err);
		if (rc >= 0)
			rc = db_txn_commit(t, err);
		else
			db_txn_abort(t);
		if (rc == DB_FULL && tries < 30 && db_env_grow(s->env, err) == 0)
			continue;
		return rc < 0 ? -1 : 0;
	}
}

int store_kv_put(struct store *s, const char *table, const char *key,
		 const void *val, size_t len, struct kv_err *err)
{
	return kv_write(s, table, key, val, len, 0, err);
}

int store_kv_del(struct store *s, const char *table, const char *key, struct kv_err *err)
{
	return kv_write(s, table, key, NULL, 0, 1, err);
}

int store_kv_get(struct store_reader *r, const char *table, const char *key,
		 const void **val, size_t *len, struct kv_err *err)
{
	int d = kv_table(table, err);
	struct db_val v;
	size_t kn = strlen(key);
	int rc;

	if (d < 0)
		return -1;
	if (kn == 0 || kn > IDKEY_MAX)
		return 1;
	rc = db_get(r->t, r->s->d[d], key, kn, &v, err);
	if (rc != 0)
		return rc;
	*val = v.p;
	*len = v.n;
	return 0;
}

/* ---- check ---- */

/* The first broken invariant goes into err; 1. */
static int broken(struct kv_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int broken(struct kv_err *err, const char *fmt, ...)
{
	va_list ap;
	char buf[KV_ERR_MAX];

	/* through a copy: callers may quote err->msg itself */
	if (err) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		memcpy(err->msg, buf, sizeof(buf));
	}
	return 1;
}

static int has_pair(struct db_txn *t, db_dbi d, const void *k, size_t kn, const void *v, size_t vn,
		    struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val kv = { k, kn }, vv = { v, vn };
	int rc;

	if (db_cursor_open(t, d, &c, err) < 0)
		return -1;
	rc = db_cursor_get(c, DB_GET_BOTH, &kv, &vv, err);
	db_cursor_close(c);
	return rc;
}

static int check_messages(struct store *s, struct db_txn *t, const struct blobmap *maps, uint64_t *nmsg,
			  struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val kv, v, x;
	int rc, ret = 0;

	*nmsg = 0;
	if (db_cursor_open(t, s->d[D_MSG], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0 && ret == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		uint64_t num = db_get_be64(kv.p);
		unsigned long long un = (unsigned long long)num;
		struct msg_rec m;
		struct idkey ik;
		unsigned char k8[8], k16[16], tk[8], ident[32];
		struct msg_fixed f;
		const char *raw, *text;
		char *owned;
		int r;

		(*nmsg)++;
		if (kv.n != 8 || (r = rec_get(t, s, &maps[F_REC], num, &x, &owned, err)) != 0) {
			ret = broken(err, "message %llu: record: %s", un, kv.n != 8 ? "bad key" : err->msg);
			break;
		}
		if (msg_decode(&x, num, &m) < 0) {
			ret = broken(err, "message %llu: malformed record", un);
			break;
		}
		memcpy(&f, x.p, sizeof(f));
		db_be64(k8, num);
		if (blob_bytes(s, F_RAW, &maps[F_RAW], f.raw_off, f.raw_len + 1, &raw, &owned, err) < 0) {
			ret = broken(err, "message %llu <%s>: raw bytes: %s", un, m.message_id, err->msg);
			break;
		}
		if (raw[f.raw_len] != 0) {
			ret = broken(err, "message %llu <%s>: raw bytes not NUL-terminated in raw.dat",
				     un, m.message_id);
			break;
		}
		if (blob_bytes(s, F_RAW, &maps[F_RAW], f.text_off, f.text_len + 1, &text, &owned, err) < 0) {
			ret = broken(err, "message %llu <%s>: body text: %s", un, m.message_id, err->msg);
			break;
		}
		if (text[f.text_len] != 0) {
			ret = broken(err, "message %llu <%s>: body text not NUL-terminated in raw.dat",
				     un, m.message_id);
			break;
		}
		msg_ident(m.message_id, raw, f.raw_len, ident);
		if ((r = db_get(t, s->d[D_IDENT], ident, 32, &x, err)) != 0 || db_get_be64(x.p) != num) {
			ret = r < 0 ? -1 : broken(err, "message %llu <%s>: raw bytes do not match the identity index"
						  " (changed in raw.dat?)", un, m.message_id);
			break;
		}
		idkey_make(&ik, m.message_id);
		if ((r = has_pair(t, s->d[D_MID], ik.b, ik.n, k8, 8, err)) != 0) {
			ret = r < 0 ? -1 : broken(err, "message %llu <%s>: not in the message-id index",
						  un, m.message_id);
			break;
		}
		key16(k16, date_bias(m.date), num);
		if ((r = db_get(t, s->d[D_DATE], k16, 16, &x, err)) != 0) {
			ret = r < 0 ? -1 : broken(err, "message %llu <%s>: not in the date index",
						  un, m.message_id);
			break;
		}
		if ((r = db_get(t, s->d[D_MTHR], k8, 8, &x, err)) != 0 || x.n != 8) {
			ret = r < 0 ? -1 : broken(err, "message %llu <%s>: in no thread", un, m.message_id);
			break;
		}
		memcpy(tk, x.p, 8);
		if ((r = db_get(t, s->d[D_THREAD], tk, 8, &x, err)) != 0) {
			ret = r < 0 ? -1 : broken(err, "message %llu <%s>: in thread %llu, which does not exist",
						  un, m.message_id, (unsigned long long)db_get_be64(tk));
			break;
		}
		if ((r = has_pair(t, s->d[D_TMEMBER], tk, 8, k16, 16, err)) != 0) {
			ret = r < 0 ? -1 : broken(err, "message %llu <%s>: in thread %llu but not among its members",
						  un, m.message_id, (unsigned long long)db_get_be64(tk));
			break;
		}
		if ((r = db_get(t, s->d[D_NODE], ik.b, ik.n, &x, err)) != 0 || memcmp(x.p, tk, 8) != 0) {
			ret = r < 0 ? -1 : broken(err, "message %llu <%s>: its thread node does not name thread %llu",
						  un, m.message_id, (unsigned long long)db_get_be64(tk));
			break;
		}
	}
	db_cursor_close(c);
	if (rc < 0)
		return -1;
	return ret;
}

static int check_threads(struct store *s, struct db_txn *t, uint64_t nmsg, struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val kv, v, x;
	uint64_t total = 0, nodes = 0;
	int rc, ret = 0;

	if (db_cursor_open(t, s->d[D_THREAD], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0 && ret == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		uint64_t id = db_get_be64(kv.p), *nums = NULL;
		int64_t *dates = NULL;
		unsigned long long uid = (unsigned long long)id;
		struct thread_rec tr;
		struct thr_fixed f;
		size_t n = 0, rootpos = (size_t)-1;

		if (thr_decode(&v, id, &tr, &f) < 0) {
			ret = broken(err, "thread %llu: malformed record", uid);
			break;
		}
		if (read_members(t, s, id, &nums, &n, &dates, err) < 0) {
			free(nums);
			free(dates);
			ret = -1;
			break;
		}
		for (size_t i = 0; i < n && ret == 0; i++) {
			unsigned char k8[8];
			int r;
			db_be64(k8, nums[i]);
			if (nums[i] == tr.root)
				rootpos = i;
			r = db_get(t, s->d[D_MTHR], k8, 8, &x, err);
			if (r < 0)
				ret = -1;
			else if (r == 1 || db_get_be64(x.p) != id)
				ret = broken(err, "thread %llu: lists message %llu, which is in thread %llu",
					     uid, (unsigned long long)nums[i],
					     r == 1 ? 0ull : (unsigned long long)db_get_be64(x.p));
		}
		if (ret == 0 && n != tr.count)
			ret = broken(err, "thread %llu: lists %zu members, counts %u", uid, n, tr.count);
		else if (ret == 0 && n == 0)
			ret = broken(err, "thread %llu: no members", uid);
		else if (ret == 0 && (dates[0] != tr.first_date || dates[n - 1] != tr.last_date))
			ret = broken(err, "thread %llu: first/last dates %lld/%lld, members say %lld/%lld", uid,
				     (long long)tr.first_date, (long long)tr.last_date,
				     (long long)dates[0], (long long)dates[n - 1]);
		else if (ret == 0 && rootpos == (size_t)-1)
			ret = broken(err, "thread %llu: root %llu is not a member", uid,
				     (unsigned long long)tr.root);
		total += n;
		nodes += f.nnodes;
		free(nums);
		free(dates);
	}
	db_cursor_close(c);
	if (rc < 0)
		return -1;
	if (ret == 0 && total != nmsg)
		ret = broken(err, "threads hold %llu members but %llu messages are stored",
			     (unsigned long long)total, (unsigned long long)nmsg);
	if (ret == 0) {
		uint64_t nn;
		if (db_entries(t, s->d[D_NODE], &nn, err) < 0)
			return -1;
		if (nn != nodes)
			ret = broken(err, "thread records count %llu nodes, node index holds %llu",
				     (unsigned long long)nodes, (unsigned long long)nn);
	}
	return ret;
}

static int check_nodes(struct store *s, struct db_txn *t, struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val kv, v, x;
	uint64_t ghosts = 0, meta_ghosts, ntn;
	int rc, ret = 0;

	if (db_cursor_open(t, s->d[D_NODE], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0 && ret == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		int r = has_pair(t, s->d[D_TNODES], v.p, 8, kv.p, kv.n, err);
		if (r < 0) {
			ret = -1;
			break;
		}
		if (r == 1) {
			ret = broken(err, "node <%.*s>: thread %llu does not list it", (int)kv.n,
				     (const char *)kv.p, (unsigned long long)db_get_be64(v.p));
			break;
		}
		r = db_get(t, s->d[D_MID], kv.p, kv.n, &x, err);
		if (r < 0)
			ret = -1;
		else if (r == 1)
			ghosts++;
	}
	db_cursor_close(c);
	if (rc < 0 || ret)
		return rc < 0 ? -1 : ret;
	if (meta_get_u64(t, s, "ghosts", &meta_ghosts, err) < 0 ||
	    db_entries(t, s->d[D_TNODES], &ntn, err) < 0)
		return -1;
	if (ghosts != meta_ghosts)
		return broken(err, "%llu ghost nodes, but the store counts %llu",
			      (unsigned long long)ghosts, (unsigned long long)meta_ghosts);
	return 0;
}

/* Threads and series name each other both ways. */
static int check_series(struct store *s, struct db_txn *t, struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val kv, v, x;
	int rc, ret = 0;

	if (db_cursor_open(t, s->d[D_SERIES], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0 && ret == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		uint64_t sid = db_get_be64(kv.p);
		struct srec r;
		if (srec_decode(&v, sid, &r, 0) < 0 || r.n == 0) {
			ret = broken(err, "series %llu: malformed or empty record", (unsigned long long)sid);
			srec_release(&r);
			break;
		}
		for (size_t i = 0; i < r.n && ret == 0; i++) {
			unsigned char k8[8];
			struct thr_fixed f;
			struct thread_rec tr;
			unsigned long long us = (unsigned long long)sid, ut = (unsigned long long)r.v[i].thread;
			int g;
			db_be64(k8, r.v[i].thread);
			g = db_get(t, s->d[D_THREAD], k8, 8, &x, err);
			if (g < 0)
				ret = -1;
			else if (g == 1 || thr_decode(&x, r.v[i].thread, &tr, &f) < 0 || f.series != sid)
				ret = broken(err, "series %llu: lists thread %llu, which is not in it", us, ut);
			else if (r.v[i].date != tr.first_date || strcmp(r.v[i].mid, tr.root_message_id) != 0)
				ret = broken(err, "series %llu: its entry for thread %llu says <%s> from %lld, "
					     "the thread <%s> from %lld", us, ut, r.v[i].mid, (long long)r.v[i].date,
					     tr.root_message_id, (long long)tr.first_date);
		}
		srec_release(&r);
	}
	db_cursor_close(c);
	if (rc < 0 || ret)
		return rc < 0 ? -1 : ret;
	/* and every thread that names a series is listed there */
	if (db_cursor_open(t, s->d[D_THREAD], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0 && ret == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		uint64_t tid = db_get_be64(kv.p);
		struct thr_fixed f;
		unsigned char k8[8];
		struct srec r;
		size_t i;
		int g;

		if (thr_decode(&v, tid, NULL, &f) < 0 || !f.series)
			continue;
		db_be64(k8, f.series);
		g = db_get(t, s->d[D_SERIES], k8, 8, &x, err);
		if (g < 0) {
			ret = -1;
			break;
		}
		memset(&r, 0, sizeof(r));
		if (g == 1 || srec_decode(&x, f.series, &r, 0) < 0) {
			srec_release(&r);
			ret = broken(err, "thread %llu: in series %llu, which does not exist",
				     (unsigned long long)tid, (unsigned long long)f.series);
			break;
		}
		for (i = 0; i < r.n && r.v[i].thread != tid; i++)
			;
		if (i == r.n)
			ret = broken(err, "thread %llu: in series %llu, which does not list it",
				     (unsigned long long)tid, (unsigned long long)f.series);
		srec_release(&r);
	}
	db_cursor_close(c);
	return rc < 0 ? -1 : ret;
}

int store_check(struct store *s, struct kv_err *err)
{
	struct db_txn *t;
	struct db_val v;
	uint64_t nmsg, n;
	int rc;
	static const int same[] = { D_MID, D_IDENT, D_DATE, D_MTHR };
	struct blobmap map[F_COUNT];

	if (db_txn_begin(s->env, 1, &t, err) < 0)
		return -1;
	rc = db_get(t, s->d[D_META], "schema_version", 14, &v, err);
	if (rc < 0)
		goto out;
	if (rc == 1 || v.n != 1 || ((const char *)v.p)[0] != '1') {
		rc = broken(err, "schema version key missing or unknown");
		goto out;
	}
	for (int f = 0; f < F_COUNT; f++)
		map[f].len = 0;
	for (int f = 0; f < F_COUNT; f++) {
		if (blob_map(s, f, t, &map[f], err) < 0) {
			rc = broken(err, "%s", err->msg);
			break;
		}
	}
	if (rc == 0)
		rc = check_messages(s, t, map, &nmsg, err);
	for (int f = 0; f < F_COUNT; f++)
		blob_unmap(&map[f]);
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		if ((rc = db_entries(t, s->d[same[i]], &n, err)) < 0)
			goto out;
		if (n != nmsg) {
			rc = broken(err, "index %s holds %llu entries for %llu messages", store_dbdefs[same[i]].name,
				    (unsigned long long)n, (unsigned long long)nmsg);
			goto out;
		}
	}
	if ((rc = check_threads(s, t, nmsg, err)) != 0)
		goto out;
	if ((rc = check_nodes(s, t, err)) != 0)
		goto out;
	rc = check_series(s, t, err);
out:
	db_txn_abort(t);
	return rc;
}
