/*
 * thread.c - threading: each added message joins, creates or merges
 * threads inside the batch's write transaction, and the thread's root (and
 * with it subject, category and series) is kept right whatever the
 * arrival order (store.h, Model).
 *
 * A message joins the thread of any of its ids (own, In-Reply-To,
 * References) already known as a node; when they name several
 * threads the one with most nodes absorbs the others (its nodes and members
 * relabelled), so the partition is the connected components whatever the
 * arrival order. The root is recomputed only when a merge happened or the
 * message's own id was already known (it may now be the stored parent of
 * earlier members); otherwise the new message can only take the root by
 * being earlier. Ties in date go to the smaller Message-ID, not the
 * number, so roots do not depend on arrival order either.
 *
 * Databases: node (idkey -> thread, ghosts included), tnodes (thread ->
 * idkeys, so a merge can relabel them), tmember (thread -> date || num),
 * mthr (num -> thread), thread (the records, record.c).
 */
#include "store_int.h"
#include "subject.h"
#include "category.h"

#include <stdlib.h>
#include <string.h>
#include "banned.h"

/* Is any of m's references (not itself) a stored message? 1 / 0 / -1. */
static int thread_refs_stored(struct wctx *w, const struct msg_rec *m)
{
	struct idkey k;
	struct db_val v;
	const char *x = m->refs.p;
	int rc;

	if (m->in_reply_to[0] && strcmp(m->in_reply_to, m->message_id) != 0) {
		idkey_make(&k, m->in_reply_to);
		rc = db_get(w->t, w->s->d[D_MID], k.b, k.n, &v, w->err);
		if (rc <= 0)
			return rc < 0 ? -1 : 1;
	}
	for (uint32_t i = 0; i < m->refs.n; x += strlen(x) + 1, i++) {
		if (!x[0] || strcmp(x, m->message_id) == 0)
			continue;
		idkey_make(&k, x);
		rc = db_get(w->t, w->s->d[D_MID], k.b, k.n, &v, w->err);
		if (rc <= 0)
			return rc < 0 ? -1 : 1;
	}
	return 0;
}

/* (date, Message-ID) order: what "earliest" means for the root, so the
 * root does not depend on which copy got the lower number. */
static int thread_earlier(int64_t da, const char *ma, int64_t db, const char *mb)
{
	if (da != db)
		return da < db;
	return strcmp(ma, mb) < 0;
}

/* Set t's root to message num (record m) and derive subject and category. */
static int thread_set_root(struct wctx *w, struct trec *t, const struct msg_rec *m, int cand)
{
	struct subject_info si;
	const char *text = "";
	char *owned;
	size_t tl = 0;

	t->f.root = m->num;
	t->f.root_date = m->date;
	t->f.rootcand = (uint32_t)cand;
	free(t->subject);
	free(t->root_mid);
	t->subject = kv_xstrdup(m->subject);
	t->root_mid = kv_xstrdup(m->message_id);
	subject_parse(t->subject, &si);
	if (text_load(w->t, w->s, NULL, NULL, m->num, &text, &tl, &owned, w->err) < 0)
		return -1;
	t->f.category = (uint32_t)category_classify(&si, m->from_addr, text, tl);
	free(owned);
	return 0;
}

/* Walk the members in date order: the root is the earliest whose references
 * name no stored message, else the earliest member. */
static int thread_root_recompute(struct wctx *w, struct trec *t)
{
	struct db_cursor *c = NULL;
	unsigned char k[8];
	struct db_val kv = { k, 8 }, v;
	uint64_t best = 0, any = 0;
	int64_t best_date = 0, any_date = 0;
	char *best_mid = NULL, *any_mid = NULL, *owned = NULL;
	int rc, ret = -1;
	struct msg_rec m;

	db_be64(k, t->id);
	if (db_cursor_open(w->t, w->s->d[D_TMEMBER], &c, w->err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_SET, &kv, &v, w->err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT_DUP, &kv, &v, w->err)) {
		int64_t d = date_unbias(db_get_be64(v.p));
		uint64_t num = db_get_be64((const char *)v.p + 8);
		int st;

		if (best && d > best_date)
			break;
		free(owned);
		owned = NULL;
		if (msg_load(w->t, w->s, NULL, num, &m, &owned, w->err) != 0)
			goto out;
		if (!any || thread_earlier(d, m.message_id, any_date, any_mid)) {
			free(any_mid);
			any = num;
			any_date = d;
			any_mid = kv_xstrdup(m.message_id);
		}
		if ((st = thread_refs_stored(w, &m)) < 0)
			goto out;
		if (st == 0 && (!best || thread_earlier(d, m.message_id, best_date, best_mid))) {
			free(best_mid);
			best = num;
			best_date = d;
			best_mid = kv_xstrdup(m.message_id);
		}
	}
	if (rc < 0)
		goto out;
	if (!any) {
		ret = kv_err_set(w->err, "thread %llu: no members", (unsigned long long)t->id);
		goto out;
	}
	db_cursor_close(c);
	c = NULL;
	free(owned);
	owned = NULL;
	if (msg_load(w->t, w->s, NULL, best ? best : any, &m, &owned, w->err) != 0)
		goto out;
	ret = thread_set_root(w, t, &m, best != 0);
out:
	db_cursor_close(c);
	free(owned);
	free(best_mid);
	free(any_mid);
	return ret;
}

/* Move every node and member of thread u into thread t. */
static int thread_merge(struct wctx *w, struct trec *t, struct trec *u)
{
	struct store *s = w->s;
	struct db_cursor *c = NULL;
	unsigned char ku[8], kt[8], vb[8];
	struct db_val kv, v;
	struct strv nodes = STRV_INIT;
	struct sbuf mem = SBUF_INIT;
	int rc, ret = -1;

	db_be64(ku, u->id);
	db_be64(kt, t->id);
	db_be64(vb, t->id);
	if (db_cursor_open(w->t, s->d[D_TNODES], &c, w->err) < 0)
		return -1;
	kv.p = ku;
	kv.n = 8;
	for (rc = db_cursor_get(c, DB_SET, &kv, &v, w->err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT_DUP, &kv, &v, w->err))
		strv_push_owned(&nodes, kv_xstrndup(v.p, v.n));
	db_cursor_close(c);
	c = NULL;
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < nodes.n; i++) {
		size_t n = strlen(nodes.v[i]);
		if (db_put(w->t, s->d[D_NODE], nodes.v[i], n, vb, 8, 0, w->err) < 0 ||
		    db_put(w->t, s->d[D_TNODES], kt, 8, nodes.v[i], n, 0, w->err) < 0)
			goto out;
	}
	if (db_del(w->t, s->d[D_TNODES], ku, 8, NULL, 0, w->err) < 0)
		goto out;

	if (db_cursor_open(w->t, s->d[D_TMEMBER], &c, w->err) < 0)
		goto out;
	kv.p = ku;
	kv.n = 8;
	for (rc = db_cursor_get(c, DB_SET, &kv, &v, w->err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT_DUP, &kv, &v, w->err))
		sbuf_add(&mem, v.p, 16);
	db_cursor_close(c);
	c = NULL;
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < mem.len; i += 16) {
		if (db_put(w->t, s->d[D_TMEMBER], kt, 8, mem.buf + i, 16, 0, w->err) < 0 ||
		    db_put(w->t, s->d[D_MTHR], mem.buf + i + 8, 8, vb, 8, 0, w->err) < 0 ||
		    mcol_set_thread(w, db_get_be64(mem.buf + i + 8), t->id) < 0)
			goto out;
	}
	if (db_del(w->t, s->d[D_TMEMBER], ku, 8, NULL, 0, w->err) < 0)
		goto out;
	if (u->f.series && series_remove(w, u->f.series, u->id) < 0)
		goto out;
	if (db_del(w->t, s->d[D_THREAD], ku, 8, NULL, 0, w->err) < 0)
		goto out;
	tcol_touch(w, u->id);
	t->f.count += u->f.count;
	t->f.nnodes += u->f.nnodes;
	if (u->f.count) {
		if (!t->f.count || u->f.first < t->f.first)
			t->f.first = u->f.first;
		if (u->f.last > t->f.last)
			t->f.last = u->f.last;
	}
	ret = 0;
out:
	db_cursor_close(c);
	strv_release(&nodes);
	sbuf_release(&mem);
	return ret;
}

/* Put message num (record m) into its thread: join, create or merge. */
int thread_add(struct wctx *w, const struct msg_rec *m)
{
	struct store *s = w->s;
	struct idkey *keys = NULL;
	uint64_t *tids = NULL;
	size_t nkeys = 0, ntids = 0, i, j;
	int own_known = 0, own_was_ghost = 0, merged = 0, ret = -1, rc;
	struct trec t, u;
	unsigned char k8[8], v8[8], mv[16];
	struct db_val v;
	const char *x;
	uint32_t nrefs = m->refs.n + 1;
	int changed_root = 0;
	int64_t first_before;

	memset(&t, 0, sizeof(t));
	memset(&u, 0, sizeof(u));
	keys = kv_xmalloc(sizeof(*keys) * (nrefs + 1));
	tids = kv_xmalloc(sizeof(*tids) * (nrefs + 1));
	/* keys[0] is the message itself, then its distinct references */
	idkey_make(&keys[nkeys++], m->message_id);
	x = m->refs.p;
	for (i = 0; i <= m->refs.n; i++) {
		const char *id = i == 0 ? m->in_reply_to : x;
		if (i > 0)
			x += strlen(x) + 1;
		if (!id[0] || strcmp(id, m->message_id) == 0)
			continue;
		idkey_make(&keys[nkeys], id);
		/* the parser dedups References; only In-Reply-To may repeat */
		if (i > 0 && m->in_reply_to[0] && keys[nkeys].n == keys[1].n &&
		    nkeys > 1 && memcmp(keys[nkeys].b, keys[1].b, keys[1].n) == 0 &&
		    strcmp(id, m->in_reply_to) == 0)
			continue;
		nkeys++;
	}
	/* which threads do these ids already belong to? */
	for (i = 0; i < nkeys; i++) {
		uint64_t tid;
		rc = db_get(w->t, s->d[D_NODE], keys[i].b, keys[i].n, &v, w->err);
		if (rc < 0)
			goto out;
		if (rc == 1)
			continue;
		tid = db_get_be64(v.p);
		if (i == 0) {
			own_known = 1;
			rc = db_get(w->t, s->d[D_MID], keys[0].b, keys[0].n, &v, w->err);
			if (rc < 0)
				goto out;
			/* mid already holds this message: ghost iff only one entry */
			own_was_ghost = 1;
			{
				struct db_cursor *c;
				struct db_val kk = { keys[0].b, keys[0].n }, vv;
				size_t cnt = 0;
				if (db_cursor_open(w->t, s->d[D_MID], &c, w->err) < 0)
					goto out;
				if (db_cursor_get(c, DB_SET, &kk, &vv, w->err) == 0)
					db_cursor_count(c, &cnt, w->err);
				db_cursor_close(c);
				own_was_ghost = cnt <= 1;
			}
		}
		for (j = 0; j < ntids && tids[j] != tid; j++)
			;
		if (j == ntids)
			tids[ntids++] = tid;
	}
	if (ntids == 0) {
		t.id = w->next_thread++;
		t.f.first = t.f.last = m->date;
	} else {
		/* the thread with most nodes survives: merges cost the smaller side */
		size_t best = 0;
		struct trec *all = kv_xcalloc(ntids, sizeof(*all));
		for (i = 0; i < ntids; i++) {
			if ((rc = trec_load(w->t, s, tids[i], &all[i], w->err)) != 0) {
				if (rc == 1)
					kv_err_set(w->err, "thread %llu: node points at a missing thread",
						   (unsigned long long)tids[i]);
				for (j = 0; j < i; j++)
					trec_release(&all[j]);
				free(all);
				goto out;
			}
			if (all[i].f.nnodes > all[best].f.nnodes ||
			    (all[i].f.nnodes == all[best].f.nnodes && all[i].id < all[best].id))
				best = i;
		}
		t = all[best];
		for (i = 0; i < ntids; i++) {
			if (i == best)
				continue;
			if (thread_merge(w, &t, &all[i]) < 0) {
				for (j = i; j < ntids; j++)
					if (j != best)
						trec_release(&all[j]);
				free(all);
				goto out;
			}
			trec_release(&all[i]);
			merged = 1;
		}
		free(all);
	}
	/* new nodes */
	db_be64(k8, t.id);
	db_be64(v8, t.id);
	for (i = 0; i < nkeys; i++) {
		rc = db_put(w->t, s->d[D_NODE], keys[i].b, keys[i].n, v8, 8, DB_NOOVERWRITE, w->err);
		if (rc < 0)
			goto out;
		if (rc == 1)
			continue;
		if (db_put(w->t, s->d[D_TNODES], k8, 8, keys[i].b, keys[i].n, 0, w->err) < 0)
			goto out;
		t.f.nnodes++;
		if (i > 0) {
			/* a reference to an id nobody sent yet: a ghost, unless stored */
			rc = db_get(w->t, s->d[D_MID], keys[i].b, keys[i].n, &v, w->err);
			if (rc < 0)
				goto out;
			if (rc == 1)
				w->ghosts++;
		}
	}
	if (own_known && own_was_ghost)
		w->ghosts--;
	/* membership */
	key16(mv, date_bias(m->date), m->num);
	if (db_put(w->t, s->d[D_TMEMBER], k8, 8, mv, 16, 0, w->err) < 0)
		goto out;
	db_be64(mv, m->num);
	if (db_put(w->t, s->d[D_MTHR], mv, 8, v8, 8, 0, w->err) < 0 ||
	    mcol_set(w, m->num, m->date, t.id) < 0)
		goto out;
	first_before = t.f.count ? t.f.first : INT64_MIN;
	if (t.f.count == 0 || m->date < t.f.first)
		t.f.first = m->date;
	if (t.f.count == 0 || m->date > t.f.last)
		t.f.last = m->date;
	t.f.count++;
	/* the root: recomputed only when this message can have changed it */
	if (merged || own_known || t.f.count == 1) {
		uint64_t old = t.f.root;
		if (thread_root_recompute(w, &t) < 0)
			goto out;
		changed_root = t.f.root != old || t.f.count == 1 || merged;
	} else {
		int st = thread_refs_stored(w, m);
		if (st < 0)
			goto out;
		if ((st == 0 && (!t.f.rootcand || thread_earlier(m->date, m->message_id, t.f.root_date, t.root_mid))) ||
		    (st == 1 && !t.f.rootcand && thread_earlier(m->date, m->message_id, t.f.root_date, t.root_mid))) {
			if (thread_set_root(w, &t, m, st == 0) < 0)
				goto out;
			changed_root = 1;
		}
	}
	if (changed_root && series_update(w, &t) < 0)
		goto out;
	if (!changed_root && t.f.series && t.f.first != first_before &&
	    series_touch(w, t.f.series, t.id, t.f.first) < 0)
		goto out;
	if (trec_save(w, &t) < 0)
		goto out;
	ret = 0;
out:
	trec_release(&t);
	free(keys);
	free(tids);
	return ret;
}
