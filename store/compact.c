/*
 * compact.c - store_compact(): an offline compaction of a store. LMDB
 * never gives pages back to the file system, and a long import's
 * copy-on-write leaves many free pages in data.mdb; the data files may
 * hold an aborted batch's tail past their committed end. The compacted
 * copy goes into DIR.compact, is checked like any store, and then takes
 * DIR's place in one atomic rename (RENAME_EXCHANGE); the old files go.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "banned.h"

static uint64_t dir_bytes(const char *dir)
{
	static const char *const names[] = { "data.mdb", "raw.dat", "rec.dat" };
	uint64_t n = 0;

	for (size_t i = 0; i < 3; i++) {
		char *f = kv_xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (stat(f, &st) == 0)
			n += (uint64_t)st.st_size;
		free(f);
	}
	return n;
}

/* The first len bytes of file from into a new file to (mode, owner of st). */
static int copy_prefix(const char *from, const char *to, uint64_t len, const struct stat *st,
		       struct kv_err *err)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	char buf[1 << 16];
	uint64_t left = len;

	if (in < 0)
		return len ? kv_err_set(err, "%s: %s", from, strerror(errno)) : 0;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (out < 0) {
		kv_err_set(err, "%s: %s", to, strerror(errno));
		goto out;
	}
	while (left) {
		ssize_t r = read(in, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (r <= 0) {
			kv_err_set(err, "%s: %s", from, r < 0 ? strerror(errno) : "shorter than its committed length");
			goto out;
		}
		for (ssize_t w = 0; w < r;) {
			ssize_t k = write(out, buf + w, (size_t)(r - w));
			if (k < 0) {
				kv_err_set(err, "%s: %s", to, strerror(errno));
				goto out;
			}
			w += k;
		}
		left -= (uint64_t)r;
	}
	if (fchown(out, st->st_uid, st->st_gid) < 0 && errno != EPERM) {
		kv_err_set(err, "%s: chown: %s", to, strerror(errno));
		goto out;
	}
	if (fsync(out) < 0) {
		kv_err_set(err, "%s: sync: %s", to, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(in);
	if (out >= 0)
		close(out);
	return rc;
}

static void remove_store_dir(const char *dir)
{
	static const char *const names[] = { "data.mdb", "lock.mdb", "raw.dat", "rec.dat" };

	for (size_t i = 0; i < 4; i++) {
		char *f = kv_xasprintf("%s/%s", dir, names[i]);
		unlink(f);
		free(f);
	}
	rmdir(dir);
}

int store_compact(const char *dir, uint64_t *before, uint64_t *after, struct kv_err *err)
{
	struct store *s = NULL, *n = NULL;
	char *d = kv_xstrdup(dir), *tmp;
	struct stat dst;
	struct db_txn *t;
	uint64_t ends[F_COUNT], tid;
	int rc = -1, made = 0;
	size_t dn = strlen(d);

	while (dn > 1 && d[dn - 1] == '/')
		d[--dn] = 0;
	dir = d;
	tmp = kv_xasprintf("%s.compact", dir);
	*before = dir_bytes(dir);
	*after = 0;
	if (store_open(&s, dir, STORE_RDONLY, err) < 0)
		goto out;
	if (stat(dir, &dst) < 0) {
		kv_err_set(err, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (mkdir(tmp, 0700) < 0) {
		kv_err_set(err, "%s: %s%s", tmp, strerror(errno),
			   errno == EEXIST ? " (left by an earlier compact: remove it)" : "");
		goto out;
	}
	made = 1;
	tid = db_env_txnid(s->env);
	if (db_txn_begin(s->env, 1, &t, err) < 0)
		goto out;
	for (int f = 0; f < F_COUNT; f++)
		if (meta_get_u64(t, s, blob_files[f].endkey, &ends[f], err) < 0) {
			db_txn_abort(t);
			goto out;
		}
	db_txn_abort(t);
	if (db_env_copy_compact(s->env, tmp, err) < 0)
		goto out;
	for (int f = 0; f < F_COUNT; f++) {
		char *from = kv_xasprintf("%s/%s", dir, blob_files[f].name);
		char *to = kv_xasprintf("%s/%s", tmp, blob_files[f].name);
		int crc = copy_prefix(from, to, ends[f], &dst, err);
		free(from);
		free(to);
		if (crc < 0)
			goto out;
	}
	if (db_env_txnid(s->env) != tid) {
		kv_err_set(err, "%s: a writer committed during the compaction (stop the milter and the "
			   "reporter first); the store is left as it was", dir);
		goto out;
	}
	store_close(s);
	s = NULL;
	{
		char *f = kv_xasprintf("%s/data.mdb", tmp);
		if ((chown(f, dst.st_uid, dst.st_gid) < 0 && errno != EPERM) || chmod(f, 0640) < 0) {
			kv_err_set(err, "%s: %s", f, strerror(errno));
			free(f);
			goto out;
		}
		free(f);
	}
	if ((chown(tmp, dst.st_uid, dst.st_gid) < 0 && errno != EPERM) || chmod(tmp, dst.st_mode & 07777) < 0) {
		kv_err_set(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (store_open(&n, tmp, STORE_RDONLY, err) < 0)
		goto out;
	{
		int crc = store_check(n, err);
		store_close(n);
		if (crc != 0) {
			if (crc == 1) {
				char m[KV_ERR_MAX];
				snprintf(m, sizeof(m), "%s", err->msg);
				kv_err_set(err, "%s: the compacted copy fails check, store left as it was: %.400s", tmp, m);
			}
			goto out;
		}
	}
	{
		char *lock = kv_xasprintf("%s/lock.mdb", tmp);
		if (chown(lock, dst.st_uid, dst.st_gid) < 0 && errno != EPERM && errno != ENOENT) {
			kv_err_set(err, "%s: %s", lock, strerror(errno));
			free(lock);
			goto out;
		}
		free(lock);
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) < 0) {
		kv_err_set(err, "%s: swapping in the compacted copy: %s", dir, strerror(errno));
		goto out;
	}
	*after = dir_bytes(dir);
	rc = 0;
out:
	if (s)
		store_close(s);
	if (made)
		remove_store_dir(tmp);   /* the old store after the swap, else the copy */
	free(tmp);
	free(d);
	return rc;
}
