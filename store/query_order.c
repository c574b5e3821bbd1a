/*
 * query_order.c - the order and grouping of search results (query.h):
 * matching messages newest first, and each one's thread. From the message
 * column (mcol.c) when it is up to date: a chunk lookup per MCOL_CHUNK
 * numbers and a radix sort; otherwise from the date and mthr tables (a walk
 * of the date index for many results, a record read per message for few).
 */
#include "store_int.h"
#include "query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

struct dated {
	int64_t date;
	uint64_t num;
	uint64_t aux;
};

static int cmp_newest(const void *a, const void *b)
{
	const struct dated *x = a, *y = b;
	if (x->date != y->date)
		return x->date > y->date ? -1 : 1;
	return x->num > y->num ? -1 : x->num < y->num;
}

/* Many results: walk the date index from the newest end and keep the
 * numbers in the set (one sequential pass, no lookup per message). */
static int order_by_date_walk(struct store_reader *r, uint64_t *nums, size_t n, int64_t *dates,
			      uint64_t *aux, struct kv_err *err)
{
	uint64_t max = nums[n - 1];
	/* aux follows its number: the ascending numbers kept to find it */
	uint64_t *asc = aux ? kv_xmalloc(n * sizeof(*asc)) : NULL;
	uint64_t *oaux = aux ? kv_xmalloc(n * sizeof(*oaux)) : NULL;
	unsigned char *in = kv_xcalloc(max / 8 + 1, 1);
	struct db_cursor *c;
	struct db_val kv, v;
	size_t w = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		in[nums[i] / 8] |= (unsigned char)(1u << (nums[i] % 8));
	if (aux) {
		memcpy(asc, nums, n * sizeof(*asc));
		memcpy(oaux, aux, n * sizeof(*oaux));
	}
	if (db_cursor_open(r->t, r->s->d[D_DATE], &c, err) < 0) {
		free(in);
		free(asc);
		free(oaux);
		return -1;
	}
	for (rc = db_cursor_get(c, DB_LAST, &kv, &v, err); rc == 0 && w < n;
	     rc = db_cursor_get(c, DB_PREV, &kv, &v, err)) {
		uint64_t num;
		if (kv.n != 16)
			continue;
		num = db_get_be64((const char *)kv.p + 8);
		if (num <= max && (in[num / 8] & (1u << (num % 8)))) {
			if (aux) {   /* binary search: asc holds num */
				size_t lo = 0, hi = n;
				while (hi - lo > 1) {
					size_t mid = lo + (hi - lo) / 2;
					if (asc[mid] <= num)
						lo = mid;
					else
						hi = mid;
				}
				aux[w] = oaux[lo];
			}
			nums[w] = num;
			dates[w++] = date_unbias(db_get_be64(kv.p));
		}
	}
	db_cursor_close(c);
	free(in);
	free(asc);
	free(oaux);
	if (rc < 0)
		return -1;
	if (w != n)
		return kv_err_set(err, "date index: %zu of %zu matching messages not found", n - w, n);
	return 0;
}

/* Stable LSD radix sort of v[0..n) by the high 32 bits, a counting pass
 * for each byte in which they differ; tmp as big as v. The result is in v. */
static void radix_sort_hi32(uint64_t *v, uint64_t *tmp, size_t n)
{
	uint64_t *a = v, *b = tmp, any = 0, all = ~0ull;

	for (size_t i = 0; i < n; i++) {
		any |= v[i];
		all &= v[i];
	}
	for (int sh = 32; sh < 64; sh += 8) {
		size_t pos[256] = { 0 }, sum = 0;
		if (!(((any ^ all) >> sh) & 0xff))
			continue;
		for (size_t i = 0; i < n; i++)
			pos[(a[i] >> sh) & 0xff]++;
		for (int k = 0; k < 256; k++) {
			size_t c = pos[k];
			pos[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[pos[(a[i] >> sh) & 0xff]++] = a[i];
		uint64_t *x = a;
		a = b;
		b = x;
	}
	if (a != v)
		memcpy(v, a, n * sizeof(*v));
}

/* The column is up to date: each number's date from it, then sorted. */
static int order_by_column(struct store_reader *r, uint64_t *nums, size_t n, int64_t *dates,
			   uint64_t *aux, struct kv_err *err)
{
	struct mcol_cur c = { r->t, r->s, 0, 0, NULL };
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	int ascending = 1;

	for (size_t i = 0; i < n; i++) {
		uint64_t tid;
		int rc = mcol_get(&c, nums[i], &dates[i], &tid, err);
		if (rc != 0)
			return rc < 0 ? -1 : kv_err_set(err, "message column: message %llu not found "
							"(run kvmarm-store check)", (unsigned long long)nums[i]);
		lo = dates[i] < lo ? dates[i] : lo;
		hi = dates[i] > hi ? dates[i] : hi;
		ascending &= !i || nums[i - 1] < nums[i];
	}
	if (!ascending || n > UINT32_MAX || (uint64_t)hi - (uint64_t)lo > UINT32_MAX) {
		struct dated *d = kv_xmalloc(n * sizeof(*d));
		for (size_t i = 0; i < n; i++) {
			d[i].date = dates[i];
			d[i].num = nums[i];
			d[i].aux = aux ? aux[i] : 0;
		}
		qsort(d, n, sizeof(*d), cmp_newest);
		for (size_t i = 0; i < n; i++) {
			nums[i] = d[i].num;
			dates[i] = d[i].date;
			if (aux)
				aux[i] = d[i].aux;
		}
		free(d);
		return 0;
	}
	/* (date - lo, position) in 64 bits, sorted stably by the date: equal
	 * dates keep the numbers ascending, so newest first (date, then
	 * number, descending) is the sorted order read backwards */
	uint64_t *v = kv_xmalloc(n * sizeof(*v)), *tmp = kv_xmalloc(n * sizeof(*tmp));
	for (size_t i = 0; i < n; i++)
		v[i] = ((uint64_t)dates[i] - (uint64_t)lo) << 32 | i;
	radix_sort_hi32(v, tmp, n);
	if (aux) {
		memcpy(tmp, aux, n * sizeof(*tmp));
		for (size_t i = 0; i < n; i++)
			aux[i] = tmp[v[n - 1 - i] & 0xffffffffu];
	}
	memcpy(tmp, nums, n * sizeof(*tmp));
	for (size_t i = 0; i < n; i++) {
		uint64_t x = v[n - 1 - i];
		nums[i] = tmp[x & 0xffffffffu];
		dates[i] = (int64_t)((uint64_t)lo + (x >> 32));
	}
	free(v);
	free(tmp);
	return 0;
}

int query_order_newest(struct store_reader *r, uint64_t *nums, size_t n, int64_t **dates,
		       uint64_t *aux, struct kv_err *err)
{
	struct dated *d;
	int rc;

	*dates = kv_xmalloc((n ? n : 1) * sizeof(**dates));
	if (!n)
		return 0;
	if ((rc = mcol_ready(r->t, r->s, err)) < 0)
		return -1;
	if (rc == 1)
		return order_by_column(r, nums, n, *dates, aux, err);
	if (n > 2000)
		return order_by_date_walk(r, nums, n, *dates, aux, err);
	d = kv_xmalloc((n ? n : 1) * sizeof(*d));
	/* a first full read maps rec.dat for the reader; then only the fixed
	 * part of each record is read */
	if (n) {
		struct msg_rec m;
		if (store_msg_get(r, nums[0], &m, err) != 0) {
			free(d);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct msg_fixed f;
		if (msg_offsets(r->t, r->s, &r->map[F_REC], nums[i], &f, err) != 0) {
			free(d);
			return -1;
		}
		d[i].date = f.date;
		d[i].num = nums[i];
		d[i].aux = aux ? aux[i] : 0;
	}
	qsort(d, n, sizeof(*d), cmp_newest);
	for (size_t i = 0; i < n; i++) {
		nums[i] = d[i].num;
		(*dates)[i] = d[i].date;
		if (aux)
			aux[i] = d[i].aux;
	}
	free(d);
	return 0;
}

struct numidx {
	uint64_t num;
	size_t i;
};

static int cmp_numidx(const void *a, const void *b)
{
	const struct numidx *x = a, *y = b;
	return x->num < y->num ? -1 : x->num > y->num;
}

/* The numbers in ascending order, one cursor over the mthr table moving
 * forward: a few steps of DB_NEXT between close numbers, a seek
 * (DB_SET_RANGE) across a gap; much cheaper than a lookup from the root
 * for each of many messages. */
int query_thread_ids(struct store_reader *r, const uint64_t *nums, size_t n, uint64_t *tids,
		     struct kv_err *err)
{
	struct numidx *o;
	struct db_cursor *c;
	struct db_val kv = { NULL, 0 }, v = { NULL, 0 };
	unsigned char k[8];
	uint64_t cur = 0;
	int rc = 1;          /* 1: the cursor is past the end (or not placed) */
	int placed = 0;

	if (!n)
		return 0;
	if ((rc = mcol_ready(r->t, r->s, err)) < 0)
		return -1;
	if (rc == 1) {
		struct mcol_cur mc = { r->t, r->s, 0, 0, NULL };
		for (size_t i = 0; i < n; i++) {
			int64_t date;
			if ((rc = mcol_get(&mc, nums[i], &date, &tids[i], err)) < 0)
				return -1;
			if (rc == 1)
				tids[i] = 0;
		}
		return 0;
	}
	rc = 1;
	o = kv_xmalloc(n * sizeof(*o));
	int sorted = 1;
	for (size_t i = 0; i < n; i++) {
		o[i].num = nums[i];
		o[i].i = i;
		sorted &= !i || nums[i - 1] <= nums[i];
	}
	if (!sorted)
		qsort(o, n, sizeof(*o), cmp_numidx);
	if (db_cursor_open(r->t, r->s->d[D_MTHR], &c, err) < 0) {
		free(o);
		return -1;
	}
	for (size_t j = 0; j < n; j++) {
		uint64_t want = o[j].num;
		for (int step = 0; placed && rc == 0 && cur < want && step < 8; step++) {
			rc = db_cursor_get(c, DB_NEXT, &kv, &v, err);
			if (rc == 0)
				cur = kv.n == 8 ? db_get_be64(kv.p) : UINT64_MAX;
		}
		if (!placed || (rc == 0 && cur < want)) {
			db_be64(k, want);
			kv.p = k;
			kv.n = 8;
			rc = db_cursor_get(c, DB_SET_RANGE, &kv, &v, err);
			if (rc == 0)
				cur = kv.n == 8 ? db_get_be64(kv.p) : UINT64_MAX;
			placed = 1;
		}
		if (rc < 0)
			break;
		tids[o[j].i] = rc == 0 && cur == want && v.n == 8 ? db_get_be64(v.p) : 0;
	}
	db_cursor_close(c);
	free(o);
	return rc < 0 ? -1 : 0;
}

static int cmp_thread_newest(const void *a, const void *b)
{
	const struct query_thread *x = a, *y = b;
	if (x->date != y->date)
		return x->date < y->date ? 1 : -1;
	return x->newest < y->newest ? 1 : x->newest > y->newest ? -1 : 0;
}

/* One matching message (num, dated date, in thread tid) into the groups:
 * at[] maps a thread id to its index in v + 1. 0, or -1 for a thread id
 * the store never handed out. */
static int group_add(struct query_thread *v, size_t *k, uint32_t *at, uint64_t next_thread, uint64_t num,
		     int64_t date, uint64_t tid, struct kv_err *err)
{
	struct query_thread *t;

	if (tid > next_thread)
		return kv_err_set(err, "message %llu: thread %llu is past the store's last thread "
				  "(run kvmarm-store check)", (unsigned long long)num, (unsigned long long)tid);
	if (!at[tid]) {
		v[*k] = (struct query_thread){ tid, date, num, 0 };
		at[tid] = (uint32_t)++*k;
	}
	t = &v[at[tid] - 1];
	t->matched++;
	if (date > t->date || (date == t->date && num > t->newest)) {
		t->date = date;
		t->newest = num;
	}
	return 0;
}

int query_threads_newest(struct store_reader *r, const uint64_t *nums, size_t n, int64_t since, int64_t until,
			 struct query_thread **out, size_t *nout, struct kv_err *err)
{
	uint64_t next_thread;
	uint32_t *at;           /* thread id -> index in v + 1 */
	struct query_thread *v;
	size_t k = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((rc = mcol_ready(r->t, r->s, err)) < 0 ||
	    meta_get_u64(r->t, r->s, "next_thread", &next_thread, err) < 0)
		return -1;
	/* thread ids are handed out in order: a direct table is small */
	at = kv_xcalloc(next_thread + 1, sizeof(*at));
	v = kv_xmalloc((n < next_thread + 1 ? n : next_thread + 1) * sizeof(*v) + sizeof(*v));
	if (rc == 1) {
		/* the message column: each message's date and thread in one pass */
		struct mcol_cur mc = { r->t, r->s, 0, 0, NULL };
		rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++) {
			int64_t date;
			uint64_t tid;
			if ((rc = mcol_get(&mc, nums[i], &date, &tid, err)) > 0)
				rc = kv_err_set(err, "message column: message %llu not found (run kvmarm-store check)",
						(unsigned long long)nums[i]);
			if (rc == 0 && date >= since && date < until)
				rc = group_add(v, &k, at, next_thread, nums[i], date, tid, err);
		}
	} else {
		/* a stale column: threads and dates from the tables */
		uint64_t *num = kv_xmalloc((n ? n : 1) * sizeof(*num)), *tids = kv_xmalloc((n ? n : 1) * sizeof(*tids));
		int64_t *dates = NULL;
		memcpy(num, nums, n * sizeof(*num));
		rc = query_thread_ids(r, num, n, tids, err);
		if (rc == 0)
			rc = query_order_newest(r, num, n, &dates, tids, err);
		for (size_t i = 0; i < n && rc == 0; i++)
			if (dates[i] >= since && dates[i] < until)
				rc = group_add(v, &k, at, next_thread, num[i], dates[i], tids[i], err);
		free(num);
		free(tids);
		free(dates);
	}
	free(at);
	if (rc != 0) {
		free(v);
		return -1;
	}
	qsort(v, k, sizeof(*v), cmp_thread_newest);
	*out = v;
	*nout = k;
	return 0;
}
