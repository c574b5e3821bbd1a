/*
 * db.c - the LMDB layer (see db.h): the only file that includes <lmdb.h>.
 * It maps LMDB's codes onto 0 / 1 / -1 / DB_FULL with a message, and owns
 * the map growth: a full map is doubled and the caller replays its
 * transaction, as Postfix's slmdb does.
 */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/statvfs.h>
#include <lmdb.h>
#include "banned.h"

struct db_env {
	MDB_env *env;
	char *dir;
	size_t mapsize;
	int rdonly;
	/* Shared by every open transaction, exclusive for a remap. */
	pthread_rwlock_t remap;
};

struct db_txn {
	struct db_env *e;
	MDB_txn *txn;
	int full;     /* a write hit MDB_MAP_FULL: the caller must grow and replay */
};

struct db_cursor {
	MDB_cursor *cur;
	struct db_txn *t;
};

static int db_fail(struct kv_err *err, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL) {
		kv_err_set(err, "%s: database map full", what);
		return DB_FULL;
	}
	return kv_err_set(err, "%s: %s", what, mdb_strerror(rc));
}

int db_env_open(struct db_env **ep, const char *dir, size_t mapsize, unsigned maxdbs,
		int rdonly, struct kv_err *err)
{
	struct db_env *e = kv_xcalloc(1, sizeof(*e));
	int rc;

	*ep = NULL;
	e->dir = kv_xstrdup(dir);
	e->rdonly = rdonly;
	pthread_rwlock_init(&e->remap, NULL);
	if ((rc = mdb_env_create(&e->env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_maxdbs(e->env, maxdbs)) != 0)
		goto fail;
	if ((rc = mdb_env_set_maxreaders(e->env, 254)) != 0)
		goto fail;
	if ((rc = mdb_env_set_mapsize(e->env, mapsize)) != 0)
		goto fail;
	/* NOTLS: a reader's slot belongs to its txn, not its thread, so readers
	 * may live in any thread (milter callbacks, reporter workers). */
	if ((rc = mdb_env_open(e->env, dir, MDB_NOTLS | (rdonly ? MDB_RDONLY : 0), 0644)) != 0)
		goto fail;
	{
		MDB_envinfo info;
		mdb_env_info(e->env, &info);
		e->mapsize = info.me_mapsize;
	}
	*ep = e;
	return 0;
fail:
	kv_err_set(err, "%s: cannot open database: %s", dir, mdb_strerror(rc));
	if (e->env)
		mdb_env_close(e->env);
	pthread_rwlock_destroy(&e->remap);
	free(e->dir);
	free(e);
	return -1;
}

void db_env_close(struct db_env *e)
{
	if (!e)
		return;
	mdb_env_close(e->env);
	pthread_rwlock_destroy(&e->remap);
	free(e->dir);
	free(e);
}

size_t db_env_mapsize(struct db_env *e)
{
	return e->mapsize;
}

int db_env_copy_compact(struct db_env *e, const char *dir, struct kv_err *err)
{
	int rc = mdb_env_copy2(e->env, dir, MDB_CP_COMPACT);

	if (rc != 0)
		return kv_err_set(err, "%s: compacting copy: %s", dir, mdb_strerror(rc));
	return 0;
}

uint64_t db_env_txnid(struct db_env *e)
{
	MDB_envinfo info;

	mdb_env_info(e->env, &info);
	return (uint64_t)info.me_last_txnid;
}

int db_env_rdonly(const struct db_env *e)
{
	return e->rdonly;
}

static int remap_lock(struct db_env *e, struct kv_err *err)
{
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* bounded: a thread that holds a reader itself would wait for ever */
	ts.tv_sec += 5;
	rc = pthread_rwlock_timedwrlock(&e->remap, &ts);
	if (rc != 0)
		return kv_err_set(err, "%s: cannot resize the database map while readers stay open: %s",
				  e->dir, strerror(rc));
	return 0;
}

/* size 0: adopt the size another process grew the map to. */
static int remap(struct db_env *e, size_t size, struct kv_err *err)
{
	MDB_envinfo info;
	int rc;

	if (remap_lock(e, err) < 0)
		return -1;
	rc = mdb_env_set_mapsize(e->env, size);
	mdb_env_info(e->env, &info);
	e->mapsize = info.me_mapsize;
	pthread_rwlock_unlock(&e->remap);
	if (rc != 0)
		return kv_err_set(err, "%s: cannot resize the database map to %zu bytes: %s",
				  e->dir, size, mdb_strerror(rc));
	return 0;
}

int db_env_grow(struct db_env *e, struct kv_err *err)
{
	MDB_envinfo info;

	mdb_env_info(e->env, &info);
	return remap(e, info.me_mapsize * 2, err);
}

int db_txn_begin(struct db_env *e, int rdonly, struct db_txn **tp, struct kv_err *err)
{
	struct db_txn *t;
	int rc, tries = 0;

	*tp = NULL;
	if (!rdonly && e->rdonly)
		return kv_err_set(err, "%s: store opened read-only", e->dir);
	t = kv_xcalloc(1, sizeof(*t));
	t->e = e;
	for (;;) {
		pthread_rwlock_rdlock(&e->remap);
		rc = mdb_txn_begin(e->env, NULL, rdonly ? MDB_RDONLY : 0, &t->txn);
		if (rc == 0)
			break;
		pthread_rwlock_unlock(&e->remap);
		if (rc == MDB_MAP_RESIZED && tries++ < 3) {
			if (remap(e, 0, err) < 0) {
				free(t);
				return -1;
			}
			continue;
		}
		free(t);
		return db_fail(err, rc, e->dir);
	}
	*tp = t;
	return 0;
}

/* Free bytes for this process on the environment's filesystem
 * (UINT64_MAX when that cannot be told). */
static uint64_t db_env_free(const struct db_env *e)
{
	struct statvfs sv;

	if (statvfs(e->dir, &sv) < 0)
		return UINT64_MAX;
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* The filesystem is (nearly) full: less than DB_NOSPACE_BYTES free, less
 * than one commit of a batch may need. */
#define DB_NOSPACE_BYTES ((uint64_t)1 << 20)
static int db_env_nospace(const struct db_env *e)
{
	return db_env_free(e) < DB_NOSPACE_BYTES;
}

int db_txn_commit(struct db_txn *t, struct kv_err *err)
{
	struct db_env *e = t->e;
	int rc = mdb_txn_commit(t->txn);

	pthread_rwlock_unlock(&e->remap);
	free(t);
	if (rc == EIO && db_env_nospace(e)) {
		/* LMDB turns a short write (the disk filled part-way through
		 * its pages) into EIO; what the admin must fix is the space */
		return kv_err_set(err, "%s: commit: %s (LMDB reported a short write as "
				  "\"%s\"; free space left: %llu KB)", e->dir, strerror(ENOSPC),
				  mdb_strerror(rc), (unsigned long long)(db_env_free(e) >> 10));
	}
	if (rc != 0) {
		char what[KV_ERR_MAX / 2];
		snprintf(what, sizeof(what), "%s: commit", e->dir);
		return db_fail(err, rc, what);
	}
	return 0;
}

void db_txn_abort(struct db_txn *t)
{
	if (!t)
		return;
	mdb_txn_abort(t->txn);
	pthread_rwlock_unlock(&t->e->remap);
	free(t);
}

int db_dbi_open(struct db_txn *t, const char *name, unsigned flags, int create,
		db_dbi *d, struct kv_err *err)
{
	unsigned f = 0;
	MDB_dbi dbi;
	int rc;

	if (flags & DB_DUPSORT)
		f |= MDB_DUPSORT;
	if (flags & DB_DUPFIXED)
		f |= MDB_DUPFIXED;
	if (flags & DB_INTEGERDUP)
		f |= MDB_INTEGERDUP;
	if (create)
		f |= MDB_CREATE;
	rc = mdb_dbi_open(t->txn, name, f, &dbi);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0) {
		char what[128];
		snprintf(what, sizeof(what), "database %s", name);
		return db_fail(err, rc, what);
	}
	*d = dbi;
	return 0;
}

int db_get(struct db_txn *t, db_dbi d, const void *k, size_t kn, struct db_val *v,
	   struct kv_err *err)
{
	MDB_val key = { kn, (void *)k }, val;
	int rc = mdb_get(t->txn, d, &key, &val);

	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return db_fail(err, rc, "get");
	v->p = val.mv_data;
	v->n = val.mv_size;
	return 0;
}

static unsigned put_flags(unsigned flags)
{
	unsigned f = 0;
	if (flags & DB_NOOVERWRITE)
		f |= MDB_NOOVERWRITE;
	if (flags & DB_NODUPDATA)
		f |= MDB_NODUPDATA;
	if (flags & DB_APPEND)
		f |= MDB_APPEND;
	if (flags & DB_APPENDDUP)
		f |= MDB_APPENDDUP;
	return f;
}

int db_put(struct db_txn *t, db_dbi d, const void *k, size_t kn, const void *v, size_t vn,
	   unsigned flags, struct kv_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc = mdb_put(t->txn, d, &key, &val, put_flags(flags));

	if (rc == MDB_KEYEXIST)
		return 1;
	if (rc == MDB_MAP_FULL)
		t->full = 1;
	if (rc != 0)
		return db_fail(err, rc, "put");
	return 0;
}

int db_reserve(struct db_txn *t, db_dbi d, const void *k, size_t kn, size_t vn, void **out,
	       struct kv_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, NULL };
	int rc = mdb_put(t->txn, d, &key, &val, MDB_RESERVE);

	if (rc == MDB_MAP_FULL)
		t->full = 1;
	if (rc != 0)
		return db_fail(err, rc, "put");
	*out = val.mv_data;
	return 0;
}

int db_del(struct db_txn *t, db_dbi d, const void *k, size_t kn, const void *v, size_t vn,
	   struct kv_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc = mdb_del(t->txn, d, &key, v ? &val : NULL);

	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc == MDB_MAP_FULL)
		t->full = 1;
	if (rc != 0)
		return db_fail(err, rc, "delete");
	return 0;
}

int db_entries(struct db_txn *t, db_dbi d, uint64_t *n, struct kv_err *err)
{
	MDB_stat st;
	int rc = mdb_stat(t->txn, d, &st);

	if (rc != 0)
		return db_fail(err, rc, "stat");
	*n = st.ms_entries;
	return 0;
}

int db_drop(struct db_txn *t, db_dbi d, struct kv_err *err)
{
	int rc = mdb_drop(t->txn, d, 0);

	if (rc != 0)
		return db_fail(err, rc, "drop");
	return 0;
}

int db_dbi_delete(struct db_txn *t, const char *name, unsigned flags, struct kv_err *err)
{
	db_dbi d;
	int rc = db_dbi_open(t, name, flags, 0, &d, err);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = mdb_drop(t->txn, d, 1);
	if (rc == MDB_MAP_FULL)
		t->full = 1;
	if (rc != 0)
		return db_fail(err, rc, "drop");
	return 0;
}

int db_txn_full(const struct db_txn *t)
{
	return t->full;
}

int db_cursor_open(struct db_txn *t, db_dbi d, struct db_cursor **cp, struct kv_err *err)
{
	struct db_cursor *c = kv_xcalloc(1, sizeof(*c));
	int rc = mdb_cursor_open(t->txn, d, &c->cur);

	if (rc != 0) {
		free(c);
		*cp = NULL;
		return db_fail(err, rc, "cursor");
	}
	c->t = t;
	*cp = c;
	return 0;
}

int db_cursor_put_multiple(struct db_cursor *c, const void *k, size_t kn, const void *vals, size_t size,
			   size_t count, struct kv_err *err)
{
	const char *p = vals;

	while (count) {
		MDB_val key = { kn, (void *)k };
		MDB_val data[2] = { { size, (void *)p }, { count, NULL } };
		int rc = mdb_cursor_put(c->cur, &key, data, MDB_MULTIPLE);

		if (rc == MDB_MAP_FULL)
			c->t->full = 1;
		if (rc != 0)
			return db_fail(err, rc, "put");
		if (data[1].mv_size == 0 || data[1].mv_size > count)
			return kv_err_set(err, "put: no progress storing %zu values", count);
		p += data[1].mv_size * size;
		count -= data[1].mv_size;
	}
	return 0;
}

int db_cursor_put(struct db_cursor *c, const void *k, size_t kn, const void *v, size_t vn, int current,
		  struct kv_err *err)
{
	MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
	int rc = mdb_cursor_put(c->cur, &key, &val, current ? MDB_CURRENT : 0);

	if (rc == MDB_MAP_FULL)
		c->t->full = 1;
	if (rc != 0)
		return db_fail(err, rc, "put");
	return 0;
}

void db_cursor_close(struct db_cursor *c)
{
	if (!c)
		return;
	mdb_cursor_close(c->cur);
	free(c);
}

static const MDB_cursor_op ops[] = {
	[DB_FIRST] = MDB_FIRST, [DB_LAST] = MDB_LAST, [DB_NEXT] = MDB_NEXT,
	[DB_PREV] = MDB_PREV, [DB_SET] = MDB_SET_KEY, [DB_SET_RANGE] = MDB_SET_RANGE,
	[DB_NEXT_DUP] = MDB_NEXT_DUP, [DB_NEXT_NODUP] = MDB_NEXT_NODUP,
	[DB_GET_BOTH] = MDB_GET_BOTH, [DB_GET_BOTH_RANGE] = MDB_GET_BOTH_RANGE,
	[DB_FIRST_DUP] = MDB_FIRST_DUP, [DB_GET_CURRENT] = MDB_GET_CURRENT,
	[DB_GET_MULTIPLE] = MDB_GET_MULTIPLE, [DB_NEXT_MULTIPLE] = MDB_NEXT_MULTIPLE,
};

int db_cursor_get(struct db_cursor *c, enum db_op op, struct db_val *k, struct db_val *v,
		  struct kv_err *err)
{
	MDB_val key = { 0, NULL }, val = { 0, NULL };
	int rc;

	if (k) {
		key.mv_size = k->n;
		key.mv_data = (void *)k->p;
	}
	if (v) {
		val.mv_size = v->n;
		val.mv_data = (void *)v->p;
	}
	rc = mdb_cursor_get(c->cur, &key, &val, ops[op]);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return db_fail(err, rc, "cursor");
	if (k) {
		k->p = key.mv_data;
		k->n = key.mv_size;
	}
	if (v) {
		v->p = val.mv_data;
		v->n = val.mv_size;
	}
	return 0;
}

int db_cursor_del(struct db_cursor *c, struct kv_err *err)
{
	int rc = mdb_cursor_del(c->cur, 0);

	if (rc != 0)
		return db_fail(err, rc, "cursor delete");
	return 0;
}

int db_cursor_count(struct db_cursor *c, size_t *n, struct kv_err *err)
{
	size_t cnt;
	int rc = mdb_cursor_count(c->cur, &cnt);

	if (rc != 0)
		return db_fail(err, rc, "cursor count");
	*n = cnt;
	return 0;
}
