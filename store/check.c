/*
 * check.c - store_check(): verify every invariant of the store, as
 * `kvmarm-store check` and the tests run it. Each message's record, bytes
 * (against the identity index), indexes, thread and node; each thread's
 * members, counts, dates and root; the ghost count; threads and series
 * naming each other both ways. Reports the first broken invariant.
 */
#include "store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

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
			  unsigned flags, struct store_check_stats *st, struct kv_err *err)
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
		uint32_t sums[SUM_COUNT];
		int r, summed = msgidx_sums(&v, sums);

		(*nmsg)++;
		st->summed += summed;
		st->unsummed += !summed;
		if (kv.n != 8 || (r = rec_get(t, s, &maps[F_REC], num, &x, &owned, err)) != 0) {
			ret = broken(err, "message %llu: record: %s", un, kv.n != 8 ? "bad key" : err->msg);
			break;
		}
		if (summed && store_crc(x.p, x.n) != sums[SUM_REC]) {
			ret = broken(err, "message %llu: its record does not match its checksum (changed in rec.dat?)",
				     un);
			break;
		}
		if (msg_decode(&x, num, &m) < 0) {
			ret = broken(err, "message %llu: malformed record", un);
			break;
		}
		memcpy(&f, x.p, sizeof(f));
		db_be64(k8, num);
		if (flags & STORE_CHECK_QUICK)
			goto indexes;
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
		if (summed && store_crc(raw, f.raw_len) != sums[SUM_RAW]) {
			ret = broken(err, "message %llu <%s>: raw bytes do not match their checksum "
				     "(changed in raw.dat?)", un, m.message_id);
			break;
		}
		if (summed && store_crc(text, f.text_len) != sums[SUM_TEXT]) {
			ret = broken(err, "message %llu <%s>: body text does not match its checksum "
				     "(changed in raw.dat?)", un, m.message_id);
			break;
		}
		msg_ident(m.message_id, m.flags, raw, f.raw_len, ident);
		if ((r = db_get(t, s->d[D_IDENT], ident, 32, &x, err)) != 0 || db_get_be64(x.p) != num) {
			ret = r < 0 ? -1 : broken(err, "message %llu <%s>: raw bytes do not match the identity index"
						  " (changed in raw.dat?)", un, m.message_id);
			break;
		}
indexes:
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
	return store_check_opts(s, 0, NULL, err);
}

int store_check_opts(struct store *s, unsigned flags, struct store_check_stats *st,
		     struct kv_err *err)
{
	struct store_check_stats own;
	struct db_txn *t;
	uint64_t nmsg, n;
	int rc, schema;
	static const int same[] = { D_MID, D_IDENT, D_DATE, D_MTHR };
	struct blobmap map[F_COUNT];

	if (!st)
		st = &own;
	memset(st, 0, sizeof(*st));
	if (db_txn_begin(s->env, 1, &t, err) < 0)
		return -1;
	if ((schema = schema_get(t, s, err)) < 0) {
		rc = -1;
		goto out;
	}
	if (!schema) {
		rc = broken(err, "schema version key missing or unknown");
		goto out;
	}
	rc = 0;
	for (int f = 0; f < F_COUNT; f++)
		map[f].len = 0;
	for (int f = 0; f < F_COUNT; f++) {
		if (blob_map(s, f, t, &map[f], err) < 0) {
			rc = broken(err, "%s", err->msg);
			break;
		}
	}
	if (rc == 0)
		rc = check_messages(s, t, map, &nmsg, flags, st, err);
	/* schema 3 and 4: the word index too (a schema 1 or 2 store has none yet);
	 * it needs the body text, so not with STORE_CHECK_QUICK */
	if (rc == 0 && schema >= STORE_SCHEMA_VERSION && !(flags & STORE_CHECK_QUICK))
		rc = index_check(s, t, map, nmsg, schema == STORE_SCHEMA_PAIRS, err);
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
	if ((rc = check_series(s, t, err)) != 0)
		goto out;
	if ((rc = mcol_check(s, t, err)) != 0)
		goto out;
	rc = tcol_check(s, t, err);
out:
	db_txn_abort(t);
	return rc;
}
