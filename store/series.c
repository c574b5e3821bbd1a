/*
 * series.c - linking a thread into its patch series when its root changes
 * (store.h, Model): a thread whose root is a patch (cover letter or lone
 * patch, not a reply) is a version of a series; versions are matched by,
 * in this order, the change-id trailer, a "Link to vN" naming another
 * version's message (either way round), or the same author address +
 * project tag + normalised title. The match keys live in the skey
 * database ("c:" change-id, "l:" linked Message-ID, "t:" author/project/
 * title), the series records (record.c) list each version's thread, so
 * reading a series costs one lookup.
 *
 * Called by thread.c inside the batch's write transaction.
 */
#include "store_int.h"
#include "subject.h"
#include "body.h"

#include <stdlib.h>
#include <string.h>

static int series_load(struct wctx *w, uint64_t id, struct srec *r)
{
	unsigned char k[8];
	struct db_val v;
	int rc;

	db_be64(k, id);
	rc = db_get(w->t, w->s->d[D_SERIES], k, 8, &v, w->err);
	if (rc != 0)
		return rc;
	if (srec_decode(&v, id, r, 1) < 0) {
		srec_release(r);
		return kv_err_set(w->err, "series %llu: malformed record", (unsigned long long)id);
	}
	return 0;
}

static int series_save(struct wctx *w, const struct srec *r)
{
	unsigned char k[8];
	struct sbuf sb = SBUF_INIT;
	int rc;

	db_be64(k, r->id);
	if (r->n == 0) {
		rc = db_del(w->t, w->s->d[D_SERIES], k, 8, NULL, 0, w->err);
		return rc < 0 ? -1 : 0;
	}
	srec_encode(r, &sb);
	rc = db_put(w->t, w->s->d[D_SERIES], k, 8, sb.buf, sb.len, 0, w->err);
	sbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

/* Thread tid's first date moved: keep its series entry in step. */
int series_touch(struct wctx *w, uint64_t sid, uint64_t tid, int64_t first)
{
	struct srec r;
	int rc = series_load(w, sid, &r), changed = 0;

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	for (size_t i = 0; i < r.n; i++) {
		if (r.v[i].thread == tid && r.v[i].date != first) {
			r.v[i].date = first;
			changed = 1;
		}
	}
	rc = changed ? series_save(w, &r) : 0;
	srec_release(&r);
	return rc;
}

int series_remove(struct wctx *w, uint64_t sid, uint64_t tid)
{
	struct srec r;
	size_t i, j;
	int rc = series_load(w, sid, &r);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	for (i = j = 0; i < r.n; i++)
		if (r.v[i].thread != tid)
			r.v[j++] = r.v[i];
	r.n = j;
	rc = series_save(w, &r);
	srec_release(&r);
	return rc;
}

/* A series id from a match key, if the series still exists. */
static int series_key_find(struct wctx *w, const char *key, size_t kn, uint64_t *sid)
{
	struct db_val v;
	unsigned char k[8];
	int rc;

	*sid = 0;
	if (kn == 0 || kn > IDKEY_MAX)
		return 0;
	rc = db_get(w->t, w->s->d[D_SKEY], key, kn, &v, w->err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	db_be64(k, db_get_be64(v.p));
	rc = db_get(w->t, w->s->d[D_SERIES], k, 8, &v, w->err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		*sid = db_get_be64(k);
	return 0;
}

static int series_key_put(struct wctx *w, const char *key, size_t kn, uint64_t sid)
{
	unsigned char b[8];

	if (kn == 0 || kn > IDKEY_MAX)
		return 0;
	db_be64(b, sid);
	return db_put(w->t, w->s->d[D_SKEY], key, kn, b, 8, 0, w->err) < 0 ? -1 : 0;
}

/* Is the thread root a version of a patch set: a cover letter or a lone
 * patch, not a reply? */
static int series_root_is_version(const struct subject_info *si)
{
	if (!(si->patch || si->rfc) || si->reply || si->pull)
		return 0;
	return si->index <= 0 || si->total == 1;
}

/* (Re)link thread t after its root changed. */
int series_update(struct wctx *w, struct trec *t)
{
	struct subject_info si;
	struct body_info bi;
	struct msg_rec m;
	struct srec r;
	const char *text = "";
	char *owned, *mown = NULL;
	size_t tl = 0, i;
	char norm[SUBJ_MAX];
	struct sbuf tkey = SBUF_INIT, ck = SBUF_INIT, lk = SBUF_INIT;
	uint64_t sid = 0;
	int rc, ret = -1;

	memset(&bi, 0, sizeof(bi));
	memset(&r, 0, sizeof(r));
	if (t->f.series) {
		if (series_remove(w, t->f.series, t->id) < 0)
			return -1;
		t->f.series = 0;
	}
	if ((rc = msg_load(w->t, w->s, NULL, t->f.root, &m, &mown, w->err)) != 0)
		return rc < 0 ? -1 : kv_err_set(w->err, "thread %llu: root %llu missing",
						 (unsigned long long)t->id, (unsigned long long)t->f.root);
	subject_parse(m.subject, &si);
	if (!series_root_is_version(&si)) {
		free(mown);
		return 0;
	}
	if (text_load(w->t, w->s, NULL, NULL, t->f.root, &text, &tl, &owned, w->err) < 0) {
		free(mown);
		return -1;
	}
	body_analyze(text, tl, &bi);
	free(owned);
	subject_norm_title(si.title, norm, sizeof(norm));
	sbuf_addf(&tkey, "t:%s%c%s%c%s", m.from_addr, 0, si.project, 0, norm);
	/* change-id first, then links either way, then author + title */
	if (bi.change_id && bi.change_id[0]) {
		sbuf_addf(&ck, "c:%s", bi.change_id);
		if (series_key_find(w, ck.buf, ck.len, &sid) < 0)
			goto out;
	}
	for (i = 0; !sid && i < bi.links.n; i++) {
		struct idkey k;
		struct db_val v;
		idkey_make(&k, bi.links.v[i]);
		rc = db_get(w->t, w->s->d[D_NODE], k.b, k.n, &v, w->err);
		if (rc < 0)
			goto out;
		if (rc == 0 && db_get_be64(v.p) != t->id) {
			struct trec o;
			memset(&o, 0, sizeof(o));
			rc = trec_load(w->t, w->s, db_get_be64(v.p), &o, w->err);
			if (rc < 0)
				goto out;
			if (rc == 0)
				sid = o.f.series;
			trec_release(&o);
		}
	}
	if (!sid) {
		sbuf_addf(&lk, "l:%s", m.message_id);
		if (series_key_find(w, lk.buf, lk.len, &sid) < 0)
			goto out;
	}
	if (!sid && series_key_find(w, tkey.buf, tkey.len, &sid) < 0)
		goto out;
	if (sid) {
		if ((rc = series_load(w, sid, &r)) != 0) {
			if (rc > 0)
				kv_err_set(w->err, "series %llu vanished", (unsigned long long)sid);
			goto out;
		}
	} else {
		r.id = sid = w->next_series++;
		r.author = srec_str(&r, m.from_addr);
		r.project = srec_str(&r, si.project);
	}
	r.v = kv_xrealloc(r.v, sizeof(*r.v) * (r.n + 1));
	r.v[r.n].thread = t->id;
	r.v[r.n].version = si.version;
	r.v[r.n].date = t->f.first;
	r.v[r.n].mid = srec_str(&r, m.message_id);
	r.v[r.n].subject = srec_str(&r, m.subject);
	r.n++;
	if (!r.title || (uint32_t)si.version >= r.maxver) {
		r.title = srec_str(&r, si.title);
		r.maxver = (uint32_t)si.version;
	}
	if (series_save(w, &r) < 0)
		goto out;
	if (series_key_put(w, tkey.buf, tkey.len, sid) < 0)
		goto out;
	if (ck.len && series_key_put(w, ck.buf, ck.len, sid) < 0)
		goto out;
	for (i = 0; i < bi.links.n; i++) {
		sbuf_reset(&lk);
		sbuf_addf(&lk, "l:%s", bi.links.v[i]);
		if (series_key_put(w, lk.buf, lk.len, sid) < 0)
			goto out;
	}
	t->f.series = sid;
	ret = 0;
out:
	free(mown);
	body_info_release(&bi);
	srec_release(&r);
	sbuf_release(&tkey);
	sbuf_release(&ck);
	sbuf_release(&lk);
	return ret;
}
