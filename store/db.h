/*
 * db.h - the thin key/value layer under the store: one LMDB environment,
 * named databases, transactions, cursors. db.c is the only file that
 * includes <lmdb.h>; everything above it speaks in these terms.
 *
 * Return codes: 0 ok, 1 not found (or "already there" for NOOVERWRITE puts),
 * -1 error with err set, DB_FULL (-2) when the map is full: the caller
 * aborts the write transaction, calls db_env_grow() and replays its work
 * (like Postfix's slmdb).
 *
 * Views (struct db_val) returned by gets and cursors point into the map and
 * stay valid until the transaction ends (or the next write in a write txn
 * touching that page).
 *
 * Growing the map remaps it, which would pull the memory from under readers
 * in other threads of this process; so every transaction holds a shared
 * lock on the environment and db_env_grow takes it exclusively.
 */
#ifndef KV_DB_H
#define KV_DB_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"

#define DB_FULL (-2)

struct db_env;
struct db_txn;
struct db_cursor;
typedef unsigned int db_dbi;

struct db_val {
	const void *p;
	size_t n;
};

enum db_dbi_flags {
	DB_DUPSORT  = 1u << 0,   /* several sorted values per key */
	DB_DUPFIXED = 1u << 1,   /* ... all of one size */
	DB_INTEGERDUP = 1u << 2, /* ... native unsigned ints, numeric order */
};

enum db_put_flags {
	DB_NOOVERWRITE = 1u << 0, /* 1 when the key exists (value left as it was) */
	DB_NODUPDATA   = 1u << 1, /* dupsort: 1 when this key/value pair exists */
	DB_APPEND      = 1u << 2, /* key sorts after every existing key */
	DB_APPENDDUP   = 1u << 3, /* dupsort: value sorts after the key's values */
};

enum db_op {
	DB_FIRST, DB_LAST, DB_NEXT, DB_PREV, DB_SET, DB_SET_RANGE,
	DB_NEXT_DUP, DB_NEXT_NODUP, DB_GET_BOTH, DB_GET_BOTH_RANGE, DB_FIRST_DUP,
	DB_GET_CURRENT,
	DB_GET_MULTIPLE, DB_NEXT_MULTIPLE, /* dupfixed: a page of values at once */
};

/* Open the environment in directory dir (which must exist) with an initial
 * map of mapsize bytes and room for maxdbs named databases. */
int db_env_open(struct db_env **ep, const char *dir, size_t mapsize, unsigned maxdbs,
		int rdonly, struct kv_err *err);
void db_env_close(struct db_env *e);
/* Double the map. Waits (bounded) until no transaction of this process is
 * open; -1 when that does not happen or the remap fails. */
int db_env_grow(struct db_env *e, struct kv_err *err);
size_t db_env_mapsize(struct db_env *e);
/* A compacted copy of the environment (free pages dropped, pages in key
 * order) as data.mdb in directory dir, which must exist. 0 / -1. */
int db_env_copy_compact(struct db_env *e, const char *dir, struct kv_err *err);
/* The id of the last committed write transaction (changes with every
 * commit by any process). */
uint64_t db_env_txnid(struct db_env *e);
int db_env_rdonly(const struct db_env *e);

/* A transaction; a write transaction excludes other writers (all processes). */
int db_txn_begin(struct db_env *e, int rdonly, struct db_txn **tp, struct kv_err *err);
/* 0, DB_FULL, -1. The txn is gone afterwards in every case. */
int db_txn_commit(struct db_txn *t, struct kv_err *err);
void db_txn_abort(struct db_txn *t);
/* 1 when a write in t failed with DB_FULL (even if a caller turned that
 * into -1 on its way up): abort, grow, replay. */
int db_txn_full(const struct db_txn *t);

/* Open a named database inside t (create it in a write txn when create).
 * Handles stay valid for the environment's life once t commits.
 * 1 when it does not exist and !create. */
int db_dbi_open(struct db_txn *t, const char *name, unsigned flags, int create,
		db_dbi *d, struct kv_err *err);

int db_get(struct db_txn *t, db_dbi d, const void *k, size_t kn, struct db_val *v,
	   struct kv_err *err);
int db_put(struct db_txn *t, db_dbi d, const void *k, size_t kn, const void *v, size_t vn,
	   unsigned flags, struct kv_err *err);
/* Reserve vn bytes for the value of k and return where to write them. */
int db_reserve(struct db_txn *t, db_dbi d, const void *k, size_t kn, size_t vn, void **out,
	       struct kv_err *err);
/* Delete k (v NULL: every value of k; else only that dup). 1 when absent. */
int db_del(struct db_txn *t, db_dbi d, const void *k, size_t kn, const void *v, size_t vn,
	   struct kv_err *err);
/* Number of entries (dups counted). */
int db_entries(struct db_txn *t, db_dbi d, uint64_t *n, struct kv_err *err);
/* Empty database d. */
int db_drop(struct db_txn *t, db_dbi d, struct kv_err *err);
/* Delete the named database (opened with flags) from the environment, if
 * it is there; its handle is closed when t commits. 0 / -1. */
int db_dbi_delete(struct db_txn *t, const char *name, unsigned flags, struct kv_err *err);

int db_cursor_open(struct db_txn *t, db_dbi d, struct db_cursor **cp, struct kv_err *err);
void db_cursor_close(struct db_cursor *c);
/* k and v are in/out as LMDB's: for DB_SET/DB_SET_RANGE k is input, for
 * DB_GET_BOTH(_RANGE) k and v are input. 0, 1 when no such entry, -1. */
int db_cursor_get(struct db_cursor *c, enum db_op op, struct db_val *k, struct db_val *v,
		  struct kv_err *err);
int db_cursor_del(struct db_cursor *c, struct kv_err *err);
/* Dupfixed: count sorted values of size bytes each under k in one put
 * (MDB_MULTIPLE). 0 / -1 / DB_FULL shows in db_txn_full(). */
int db_cursor_put_multiple(struct db_cursor *c, const void *k, size_t kn, const void *vals, size_t size,
			   size_t count, struct kv_err *err);
/* Number of dups at the cursor's key. */
/* Put k = v through the cursor, which is left on it. current: replace the
 * value (of any size) of the key the cursor is at, k being that key, with
 * no second search (not for DB_DUPSORT). 0 / -1 / DB_FULL (see db_put). */
int db_cursor_put(struct db_cursor *c, const void *k, size_t kn, const void *v, size_t vn, int current,
		  struct kv_err *err);
int db_cursor_count(struct db_cursor *c, size_t *n, struct kv_err *err);

/* Big-endian integer keys so that byte order is numeric order. */
static inline void db_be64(unsigned char *b, uint64_t x)
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (unsigned char)x;
		x >>= 8;
	}
}
static inline uint64_t db_get_be64(const void *p)
{
	const unsigned char *b = p;
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x = (x << 8) | b[i];
	return x;
}

#endif
