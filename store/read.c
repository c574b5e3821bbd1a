/*
 * read.c - the read side of store.h: snapshots (store_reader_*), messages
 * by number or Message-ID, their raw bytes and text, date windows, threads,
 * series and counts. Everything runs in one LMDB read transaction per
 * reader and returns views into the map or the mapped data files, valid
 * until store_reader_end(); readers never block the writer.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>
#include "banned.h"

int store_reader_begin(struct store *s, struct store_reader **rp, struct kv_err *err)
{
	struct store_reader *r = kv_xcalloc(1, sizeof(*r));

	r->s = s;
	if (db_txn_begin(s->env, 1, &r->t, err) < 0) {
		free(r);
		*rp = NULL;
		return -1;
	}
	*rp = r;
	return 0;
}

static int reader_map(struct store_reader *r, int f, struct kv_err *err)
{
	if (r->mapped[f])
		return 0;
	if (blob_map(r->s, f, r->t, &r->map[f], err) < 0)
		return -1;
	r->mapped[f] = 1;
	return 0;
}

void store_reader_end(struct store_reader *r)
{
	if (!r)
		return;
	for (int f = 0; f < F_COUNT; f++)
		blob_unmap(&r->map[f]);
	db_txn_abort(r->t);
	free(r->tc);
	pairwords_free(r->pw);
	free(r);
}

/* Strip <> and surrounding white space, for lookups by a user-given id. */
static char *id_clean(const char *id)
{
	const char *b = id, *e;

	while (*b == ' ' || *b == '\t')
		b++;
	if (*b == '<')
		b++;
	e = b + strlen(b);
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	if (e > b && e[-1] == '>')
		e--;
	return kv_xstrndup(b, (size_t)(e - b));
}

int store_msg_get(struct store_reader *r, uint64_t num, struct msg_rec *m, struct kv_err *err)
{
	char *owned;

	if (reader_map(r, F_REC, err) < 0)
		return -1;
	return msg_load(r->t, r->s, &r->map[F_REC], num, m, &owned, err);
}

int store_msg_find(struct store_reader *r, const char *message_id, uint64_t *nums, size_t max,
		   size_t *n, struct kv_err *err)
{
	char *id = id_clean(message_id);
	struct idkey k;
	struct db_cursor *c;
	struct db_val kv, v;
	size_t cnt = 0;
	int rc;

	*n = 0;
	if (!id[0]) {
		free(id);
		return 1;
	}
	idkey_make(&k, id);
	free(id);
	if (db_cursor_open(r->t, r->s->d[D_MID], &c, err) < 0)
		return -1;
	kv.p = k.b;
	kv.n = k.n;
	for (rc = db_cursor_get(c, DB_SET, &kv, &v, err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT_DUP, &kv, &v, err)) {
		if (cnt < max)
			nums[cnt] = db_get_be64(v.p);
		cnt++;
	}
	db_cursor_close(c);
	if (rc < 0)
		return -1;
	*n = cnt;
	return cnt ? 0 : 1;
}

int store_msg_raw(struct store_reader *r, uint64_t num, const char **data, size_t *len,
		  struct kv_err *err)
{
	struct msg_fixed f;
	char *owned;
	int rc;

	if (reader_map(r, F_REC, err) < 0 || reader_map(r, F_RAW, err) < 0)
		return -1;
	if ((rc = msg_offsets(r->t, r->s, &r->map[F_REC], num, &f, err)) != 0)
		return rc;
	if (blob_bytes(r->s, F_RAW, &r->map[F_RAW], f.raw_off, f.raw_len, data, &owned, err) < 0)
		return -1;
	*len = f.raw_len;
	return 0;
}

int store_msg_text(struct store_reader *r, uint64_t num, const char **text, size_t *len,
		   struct kv_err *err)
{
	char *owned;

	if (reader_map(r, F_REC, err) < 0 || reader_map(r, F_RAW, err) < 0)
		return -1;
	return text_load(r->t, r->s, &r->map[F_REC], &r->map[F_RAW], num, text, len, &owned, err);
}

static int first_num(struct db_txn *t, struct store *s, const char *id, uint64_t *num,
		     struct kv_err *err)
{
	struct idkey k;
	struct db_val v;
	int rc;

	if (!id[0])
		return 1;
	idkey_make(&k, id);
	rc = db_get(t, s->d[D_MID], k.b, k.n, &v, err);
	if (rc == 0)
		*num = db_get_be64(v.p);
	return rc;
}

int store_msg_parent(struct store_reader *r, const struct msg_rec *m, uint64_t *parent,
		     struct kv_err *err)
{
	const char *x = m->refs.p;
	uint64_t num = 0, last = 0;
	int rc;

	*parent = 0;
	if (m->in_reply_to[0] && strcmp(m->in_reply_to, m->message_id) != 0) {
		rc = first_num(r->t, r->s, m->in_reply_to, &num, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && num != m->num) {
			*parent = num;
			return 0;
		}
	}
	for (uint32_t i = 0; i < m->refs.n; x += strlen(x) + 1, i++) {
		if (strcmp(x, m->message_id) == 0)
			continue;
		rc = first_num(r->t, r->s, x, &num, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && num != m->num)
			last = num;
	}
	*parent = last;
	return 0;
}

/* One step of a message iteration: load message num and hand it to cb.
 * 0 go on, cb's non-zero value to stop, -1 with err set (index names the
 * index that named a missing message). */
static int iter_emit(struct store_reader *r, uint64_t num, const char *index,
		     store_msg_cb cb, void *ctx, struct kv_err *err)
{
	struct msg_rec m;
	char *owned;
	int rc = msg_load(r->t, r->s, &r->map[F_REC], num, &m, &owned, err);

	if (rc == 1)
		kv_err_set(err, "%s index names message %llu, which is missing", index,
			   (unsigned long long)num);
	if (rc != 0)
		return -1;
	return cb(ctx, &m);
}

int store_iter_window(struct store_reader *r, int64_t since, int64_t until,
		      store_msg_cb cb, void *ctx, struct kv_err *err)
{
	struct db_cursor *c;
	unsigned char k[16];
	struct db_val kv = { k, 16 }, v;
	int rc, ret = 0;

	key16(k, date_bias(since), 0);
	if (reader_map(r, F_REC, err) < 0)
		return -1;
	if (db_cursor_open(r->t, r->s->d[D_DATE], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_SET_RANGE, &kv, &v, err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		if (kv.n != 16)
			continue;
		if (date_unbias(db_get_be64(kv.p)) >= until)
			break;
		if ((ret = iter_emit(r, db_get_be64((const char *)kv.p + 8), "date", cb, ctx, err)) != 0)
			break;
	}
	db_cursor_close(c);
	return rc < 0 ? -1 : ret;
}

int store_iter_all(struct store_reader *r, store_msg_cb cb, void *ctx, struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val kv, v;
	int rc, ret = 0;

	if (reader_map(r, F_REC, err) < 0)
		return -1;
	if (db_cursor_open(r->t, r->s->d[D_MSG], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err))
		if ((ret = iter_emit(r, db_get_be64(kv.p), "message", cb, ctx, err)) != 0)
			break;
	db_cursor_close(c);
	return rc < 0 ? -1 : ret;
}

int store_thread_get(struct store_reader *r, uint64_t id, struct thread_rec *t, struct kv_err *err)
{
	unsigned char k[8];
	struct db_val v;
	int rc;

	/* many threads (a search's output): from the column, when current */
	if (!r->tcol) {
		if ((rc = tcol_ready(r->t, r->s, err)) < 0)
			return -1;
		r->tcol = rc ? 1 : 2;
		if (rc) {
			r->tc = kv_xcalloc(1, sizeof(*r->tc));
			r->tc->t = r->t;
			r->tc->s = r->s;
		}
	}
	if (r->tcol == 1)
		return tcol_get(r->tc, id, t, err);
	db_be64(k, id);
	rc = db_get(r->t, r->s->d[D_THREAD], k, 8, &v, err);
	if (rc != 0)
		return rc;
	if (thr_decode(&v, id, t, NULL) < 0)
		return kv_err_set(err, "thread %llu: malformed record", (unsigned long long)id);
	return 0;
}

int read_members(struct db_txn *t, struct store *s, uint64_t id, uint64_t **nums, size_t *n,
		 int64_t **dates, struct kv_err *err)
{
	struct db_cursor *c;
	unsigned char k[8];
	struct db_val kv = { k, 8 }, v;
	size_t cnt = 0, cap = 16;
	int rc;

	*nums = kv_xmalloc(sizeof(uint64_t) * cap);
	if (dates)
		*dates = kv_xmalloc(sizeof(int64_t) * cap);
	*n = 0;
	db_be64(k, id);
	if (db_cursor_open(t, s->d[D_TMEMBER], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_SET, &kv, &v, err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT_DUP, &kv, &v, err)) {
		if (cnt == cap) {
			cap *= 2;
			*nums = kv_xrealloc(*nums, sizeof(uint64_t) * cap);
			if (dates)
				*dates = kv_xrealloc(*dates, sizeof(int64_t) * cap);
		}
		(*nums)[cnt] = db_get_be64((const char *)v.p + 8);
		if (dates)
			(*dates)[cnt] = date_unbias(db_get_be64(v.p));
		cnt++;
	}
	db_cursor_close(c);
	*n = cnt;
	return rc < 0 ? -1 : 0;
}

int store_thread_members(struct store_reader *r, uint64_t id, uint64_t **nums, size_t *n,
			 struct kv_err *err)
{
	int rc = read_members(r->t, r->s, id, nums, n, NULL, err);

	if (rc < 0) {
		free(*nums);
		*nums = NULL;
		*n = 0;
	}
	return rc;
}

int store_iter_threads(struct store_reader *r, store_thread_cb cb, void *ctx, struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val kv, v;
	struct thread_rec t;
	int rc, ret = 0;

	if (db_cursor_open(r->t, r->s->d[D_THREAD], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		if (thr_decode(&v, db_get_be64(kv.p), &t, NULL) < 0) {
			ret = kv_err_set(err, "thread %llu: malformed record",
					 (unsigned long long)db_get_be64(kv.p));
			break;
		}
		if ((ret = cb(ctx, &t)) != 0)
			break;
	}
	db_cursor_close(c);
	if (rc < 0)
		return -1;
	return ret;
}

static int cmp_version(const void *a, const void *b)
{
	const struct series_version *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

int store_series_get(struct store_reader *r, uint64_t id, struct series_rec *sr, struct kv_err *err)
{
	unsigned char k[8];
	struct db_val v;
	struct srec rec;
	int rc;

	memset(sr, 0, sizeof(*sr));
	db_be64(k, id);
	rc = db_get(r->t, r->s->d[D_SERIES], k, 8, &v, err);
	if (rc != 0)
		return rc;
	if (srec_decode(&v, id, &rec, 0) < 0) {
		srec_release(&rec);
		return kv_err_set(err, "series %llu: malformed record", (unsigned long long)id);
	}
	sr->id = id;
	sr->title = rec.title;
	sr->author = rec.author;
	sr->versions = kv_xcalloc(rec.n ? rec.n : 1, sizeof(*sr->versions));
	for (size_t i = 0; i < rec.n; i++) {
		struct series_version *sv = &sr->versions[i];
		sv->thread = rec.v[i].thread;
		sv->version = rec.v[i].version;
		sv->date = rec.v[i].date;
		sv->message_id = rec.v[i].mid;
		sv->subject = rec.v[i].subject;
	}
	sr->nversions = rec.n;
	srec_release(&rec);
	qsort(sr->versions, sr->nversions, sizeof(*sr->versions), cmp_version);
	return 0;
}

int store_count_since(struct store_reader *r, int64_t since, uint64_t *n, struct kv_err *err)
{
	struct db_cursor *c;
	unsigned char k[16];
	struct db_val kv = { k, 16 }, v;
	int rc;

	*n = 0;
	key16(k, date_bias(since), 0);
	if (db_cursor_open(r->t, r->s->d[D_DATE], &c, err) < 0)
		return -1;
	/* keys only: as cheap as the mail after since is few (a digest of a
	 * recent week) */
	for (rc = db_cursor_get(c, DB_SET_RANGE, &kv, &v, err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err))
		if (kv.n == 16)
			(*n)++;
	db_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

int store_counts(struct store_reader *r, struct store_counts *c, struct kv_err *err)
{
	memset(c, 0, sizeof(*c));
	if (db_entries(r->t, r->s->d[D_MSG], &c->messages, err) < 0 ||
	    db_entries(r->t, r->s->d[D_THREAD], &c->threads, err) < 0 ||
	    db_entries(r->t, r->s->d[D_SERIES], &c->series, err) < 0 ||
	    meta_get_u64(r->t, r->s, "ghosts", &c->ghosts, err) < 0 ||
	    meta_get_u64(r->t, r->s, "raw_bytes", &c->raw_bytes, err) < 0)
		return -1;
	return 0;
}

/* ---- walks over many messages ---- */

int msg_walk_begin(struct store_reader *r, struct msg_walk *w, struct kv_err *err)
{
	memset(w, 0, sizeof(*w));
	w->r = r;
	sbuf_init(&w->text);
	if (reader_map(r, F_REC, err) < 0)
		return -1;
	return db_cursor_open(r->t, r->s->d[D_MSG], &w->c, err);
}

int msg_walk_get(struct msg_walk *w, uint64_t num, struct msg_rec *m, const char **text,
		 size_t *tlen, struct kv_err *err)
{
	struct store_reader *r = w->r;
	unsigned char k[8];
	struct db_val kv = { k, 8 }, ix, rv;
	struct msg_fixed f;
	char *owned;
	int rc;

	db_be64(k, num);
	if ((rc = db_cursor_get(w->c, DB_SET, &kv, &ix, err)) != 0)
		return rc;
	if (rec_view(r->s, &r->map[F_REC], num, &ix, &rv, &owned, err) < 0)
		return -1;
	if (m) {
		if (msg_decode(&rv, num, m) < 0)
			return kv_err_set(err, "message %llu: malformed record", (unsigned long long)num);
		m->thread = 0;
	}
	if (!text)
		return 0;
	memcpy(&f, rv.p, sizeof(f));
	sbuf_reset(&w->text);
	sbuf_grow(&w->text, f.text_len + 1);
	if (blob_read(r->s, F_RAW, f.text_off, f.text_len, w->text.buf, err) < 0)
		return -1;
	w->text.buf[f.text_len] = 0;
	w->text.len = f.text_len;
	*text = w->text.buf;
	*tlen = f.text_len;
	return 0;
}

void msg_walk_end(struct msg_walk *w)
{
	if (w->c)
		db_cursor_close(w->c);
	w->c = NULL;
	sbuf_release(&w->text);
}
