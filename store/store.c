/*
 * store.c - the thread store (store.h) on top of the db layer: opening and
 * closing, and the reporter's side tables. The other parts of store.h live
 * beside it: add.c (adding batches of messages), record.c (record formats,
 * data files), thread.c, series.c, read.c (queries), check.c (the
 * invariant check); store_int.h is what they share.
 *
 * Databases (all in one LMDB environment, integers big-endian so byte order
 * is numeric order):
 *   meta     name -> value: schema_version, next_num, next_thread,
 *            next_series, raw_bytes, ghosts, blob_end, rec_end
 *   msg      num -> where its record is in rec.dat (offset, length), then
 *            the CRC-32s of its raw bytes, body text and record (see
 *            MSGIDX_LEN; 16-byte values without them are from before)
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
 *   words    field-prefixed word -> blocks of message numbers (varint
 *            differences): the word index, described in index_db.c (schema 3);
 *            with the phrase pairs ("B:dirty ring", pairs.c) once meta
 *            phrase_words holds their word list (phrase_upto: built so far)
 *   mcol     chunk number -> date and thread id of MCOL_CHUNK messages:
 *            a dense copy of date and mthr for search (mcol.c); meta
 *            mcol_v2_next says whether it is up to date
 *   tcol     chunk number -> the thread records of TCOL_CHUNK thread ids:
 *            a dense copy of thread for search output (tcol.c); meta
 *            tcol_next says whether it is up to date
 *
 * rec.dat and raw.dat, the append-only data files beside the LMDB
 * environment, are described in record.c.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <pwd.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "banned.h"

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
	[D_TERM] = { "words", 0 },
	[D_MCOL] = { "mcol", 0 },
	[D_TCOL] = { "tcol", 0 },
};

const char *store_path(const struct store *s)
{
	return s->dir;
}

/* ---- opening ---- */

/*
 * Modes: one group (kvmarm, see README) may query the store, nobody else.
 * LMDB readers, MDB_RDONLY included, open lock.mdb read-write to take a
 * reader slot, so the group needs write permission there and read
 * permission on everything else. The directory is setgid, so files created
 * in it later (lock.mdb after a reboot, a writer running as root) keep the
 * store's group. What this process creates gets these modes whatever the
 * umask (an admin's umask 077 would otherwise lock the group out).
 */
#define STORE_DIR_MODE  02750
#define STORE_FILE_MODE 0640
#define STORE_LOCK_MODE 0660

/* The directory and its parents; the store directory itself (the last
 * component) gets STORE_DIR_MODE, parents the usual 0755. */
static int mkdir_p(const char *dir, struct kv_err *err)
{
	char *tmp = kv_xstrdup(dir);
	int rc = 0;

	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(tmp, 0755) == 0) {
				/* mkdir drops the setgid bit and applies the umask */
				if (!c && chmod(tmp, STORE_DIR_MODE) < 0) {
					rc = kv_err_set(err, "%s: chmod: %s", tmp, strerror(errno));
					break;
				}
			} else if (errno != EEXIST) {
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

static void id_name(char *buf, size_t n, uid_t uid, gid_t gid, int group)
{
	char tmp[4096];

	if (group) {
		struct group gr, *g = NULL;
		if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &g) == 0 && g)
			snprintf(buf, n, "%s", g->gr_name);
		else
			snprintf(buf, n, "%lu", (unsigned long)gid);
	} else {
		struct passwd pw, *u = NULL;
		if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &u) == 0 && u)
			snprintf(buf, n, "%s", u->pw_name);
		else
			snprintf(buf, n, "%lu", (unsigned long)uid);
	}
}

/* path (in the store directory dir, or dir itself) is closed to this user:
 * say so, and what the admin can do, naming the store's owner and group
 * (kvmarm when the directory cannot be looked at either). -1. */
static int store_denied(const char *path, const char *dir, struct kv_err *err)
{
	char user[64] = "kvmarm", group[64] = "kvmarm";
	struct stat st;

	if (stat(dir, &st) == 0) {
		id_name(user, sizeof(user), st.st_uid, 0, 0);
		id_name(group, sizeof(group), 0, st.st_gid, 1);
	}
	return kv_err_set(err, "%s: permission denied: the store belongs to user %s, group %s; "
			  "query it as a member of group %s (usermod -aG %s USER, then log in again) "
			  "or as its user (sudo -u %s kvmarm-store ...)", path, user, group, group, group, user);
}

/*
 * Opening failed: was it permissions? Checks, with this process's
 * effective ids, what opening needs: search permission on the directory,
 * read (writers: read-write) on data.mdb, raw.dat and rec.dat, read-write
 * on lock.mdb (readers too), write permission on the directory for a file
 * that must be created. 1 with err naming the first file denied, else 0.
 */
static int store_open_denied(const char *dir, int rdonly, struct kv_err *err)
{
	static const char *const names[] = { "data.mdb", "lock.mdb", "raw.dat", "rec.dat" };
	int denied = 0;

	if (faccessat(AT_FDCWD, dir, X_OK, AT_EACCESS) < 0)
		return (errno == EACCES || errno == EPERM) ? (store_denied(dir, dir, err), 1) : 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !denied; i++) {
		char *f = kv_xasprintf("%s/%s", dir, names[i]);
		int lock = i == 1, mode = rdonly && !lock ? R_OK : R_OK | W_OK;

		if (faccessat(AT_FDCWD, f, mode, AT_EACCESS) == 0) {
			free(f);
			continue;
		}
		if (errno == EACCES || errno == EPERM) {
			denied = 1;
			store_denied(f, dir, err);
		} else if (errno == ENOENT && (lock || !rdonly) &&
			   faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0 &&
			   (errno == EACCES || errno == EPERM)) {
			/* it would be created, in a directory closed to us */
			denied = 1;
			store_denied(f, dir, err);
		}
		free(f);
	}
	return denied;
}

/* chmod, where a file we do not own (EPERM), a lock file LMDB did not
 * make (ENOENT: a read-only file system) or a read-only file system is
 * not an error: modes are a courtesy to the group there. 0 / -1. */
static int store_chmod(const char *path, mode_t mode, struct kv_err *err)
{
	if (chmod(path, mode) == 0 || errno == EPERM || errno == ENOENT || errno == EROFS)
		return 0;
	return kv_err_set(err, "%s: chmod: %s", path, strerror(errno));
}

/* After LMDB opened the environment: what this open created gets the
 * store's modes, and lock.mdb follows data.mdb (a store whose data the
 * group may read but whose lock file it may not write cannot be queried:
 * stores made before the modes above get repaired by their owner's next
 * open). */
static int store_set_modes(const char *dir, int data_was, int lock_was, struct kv_err *err)
{
	char *data = kv_xasprintf("%s/data.mdb", dir), *lock = kv_xasprintf("%s/lock.mdb", dir);
	struct stat ds, ls;
	int rc = 0;

	if (!data_was)
		rc = store_chmod(data, STORE_FILE_MODE, err);
	if (rc == 0 && !lock_was)
		rc = store_chmod(lock, STORE_LOCK_MODE, err);
	if (rc == 0 && stat(data, &ds) == 0 && stat(lock, &ls) == 0 && (ds.st_mode & S_IRGRP) &&
	    (ls.st_mode & (S_IRGRP | S_IWGRP)) != (S_IRGRP | S_IWGRP) && ls.st_uid == geteuid())
		rc = store_chmod(lock, (ls.st_mode & 07777) | S_IRGRP | S_IWGRP, err);
	free(data);
	free(lock);
	return rc;
}

/* A data file (raw.dat, rec.dat): created with STORE_FILE_MODE by a
 * writer; a read-only opener of a store that has none yet gets -1 with
 * errno ENOENT. */
static int store_open_file(const char *path, int rdonly)
{
	int fd;

	if (rdonly)
		return open(path, O_RDONLY | O_CLOEXEC);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, STORE_FILE_MODE);
	if (fd >= 0) {
		if (fchmod(fd, STORE_FILE_MODE) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		return fd;
	}
	if (errno != EEXIST)
		return -1;
	return open(path, O_RDWR | O_CLOEXEC);
}

/* Is dir/name there? 1 yes, 0 absent, -1 cannot tell (errno says why). */
static int store_has(const char *dir, const char *name)
{
	char *f = kv_xasprintf("%s/%s", dir, name);
	struct stat st;
	int rc = stat(f, &st) == 0 ? 1 : errno == ENOENT ? 0 : -1, e = errno;

	free(f);
	errno = e;
	return rc;
}

/* ---- creating a store in one step ---- */

/* store_open_mapsize's own flag: create in dir itself (the temporary
 * directory of store_create). */
#define STORE_IN_PLACE (1u << 16)

/* Remove flat directory d (a store's: files, no subdirectories). */
static void rm_flat_dir(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;

	if (dp) {
		while ((de = readdir(dp)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dirfd(dp), de->d_name, 0);
		closedir(dp);
	}
	rmdir(d);
}

/* What creators killed half-way left in dir: ".new.PID" whose process is
 * gone. */
static void remove_stale(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;

	while (dp && (de = readdir(dp))) {
		char *end;
		long pid;
		if (strncmp(de->d_name, ".new.", 5) != 0)
			continue;
		pid = strtol(de->d_name + 5, &end, 10);
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
			char *d = kv_xasprintf("%s/%s", dir, de->d_name);
			rm_flat_dir(d);
			free(d);
		}
	}
	if (dp)
		closedir(dp);
}

/* Put file name of directory from into directory to, unless to has one
 * already: a hard link (which, unlike rename, never replaces), rename
 * where the file system has no links. 0, 1 when to had one, -1. */
static int place_file(const char *from, const char *to, const char *name)
{
	char *f = kv_xasprintf("%s/%s", from, name), *t = kv_xasprintf("%s/%s", to, name);
	int rc = 0;

	if (link(f, t) < 0) {
		if (errno == EEXIST)
			rc = 1;
		else if ((errno == EPERM || errno == EOPNOTSUPP) && access(t, F_OK) < 0 &&
			 rename(f, t) == 0)
			rc = 0;
		else
			rc = -1;
	}
	free(f);
	free(t);
	return rc;
}

/*
 * A new store in dir (which exists and has no data.mdb), made whole before
 * it appears: built in dir/.new.PID, then its files are linked into dir,
 * data.mdb (which makes dir a store) last. A creator killed half-way leaves
 * no data.mdb ("no store here", and the next writer creates it), never a
 * data.mdb without its databases ("not a kvmarm store"). Only dir must be
 * writable (the milter creates its store after dropping root, in a
 * directory of its own). Links never replace: a data file another creator
 * placed first is kept (an empty file: the new data.mdb says that nothing
 * of it is committed), and when another creator's data.mdb got there first,
 * its store is the one. 0 / -1.
 */
static int store_create(const char *dir, size_t mapsize, struct kv_err *err)
{
	char *tmp;
	struct store *s;
	int rc = 0;

	remove_stale(dir);
	tmp = kv_xasprintf("%s/.new.%ld", dir, (long)getpid());
	rm_flat_dir(tmp);
	if (mkdir(tmp, 0700) < 0) {
		rc = kv_err_set(err, "%s: cannot create directory: %s", tmp, strerror(errno));
		goto out;
	}
	if (store_open_mapsize(&s, tmp, STORE_CREATE | STORE_IN_PLACE, mapsize, err) < 0) {
		rc = -1;
		goto out;
	}
	store_close(s);
	for (int i = 0; i < F_COUNT && rc == 0; i++)
		if (place_file(tmp, dir, blob_files[i].name) < 0)
			rc = kv_err_set(err, "%s/%s: cannot put it into place: %s", dir,
					blob_files[i].name, strerror(errno));
	if (rc == 0 && place_file(tmp, dir, "data.mdb") < 0)
		rc = kv_err_set(err, "%s/data.mdb: cannot put it into place: %s", dir, strerror(errno));
out:
	rm_flat_dir(tmp);
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
	int rc, probe, data_was, lock_was;

	*sp = NULL;
	if (stat(dir, &st) < 0) {
		if (errno == EACCES || errno == EPERM)
			return store_denied(dir, dir, err);
		if (errno != ENOENT || rdonly || !(flags & STORE_CREATE))
			return kv_err_set(err, "%s: %s", dir, strerror(errno));
		if (mkdir_p(dir, err) < 0)
			return -1;
	} else if (!S_ISDIR(st.st_mode)) {
		return kv_err_set(err, "%s: not a directory", dir);
	}
	/* data.mdb unseen: absent ("no store here") or behind a closed
	 * directory, which is another answer */
	data_was = store_has(dir, "data.mdb");
	if (data_was == 0 && !rdonly && (flags & STORE_CREATE) && !(flags & STORE_IN_PLACE)) {
		if (store_create(dir, mapsize, err) < 0)
			return -1;
		data_was = store_has(dir, "data.mdb");
	}
	lock_was = store_has(dir, "lock.mdb") == 1;
	if (data_was != 1 && (rdonly || !(flags & STORE_CREATE))) {
		if (data_was < 0 && store_open_denied(dir, rdonly, err))
			return -1;
		return kv_err_set(err, "%s: no store here (data.mdb missing)", dir);
	}
	s = kv_xcalloc(1, sizeof(*s));
	for (int i = 0; i < F_COUNT; i++)
		s->fd[i] = -1;
	s->dir = kv_xstrdup(dir);
	s->rdonly = rdonly;
	if (db_env_open(&s->env, dir, mapsize ? mapsize : STORE_DEFAULT_MAP, D_COUNT + 4,
			rdonly, err) < 0) {
		store_open_denied(dir, rdonly, err);
		goto fail;
	}
	if (store_set_modes(dir, data_was == 1, lock_was, err) < 0)
		goto fail;
	if (data_was != 1) {
		/* tests: a window in which to kill a creator half-way */
		const char *d = getenv("KVMARM_STORE_CREATE_DELAY_MS");
		if (d && atoi(d) > 0)
			usleep((useconds_t)atoi(d) * 1000);
	}
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
			if (rc == 1 && (i == D_TERM || i == D_MCOL || i == D_TCOL)) {
				/* a store from before the index (schema 1), its schema 3
				 * layout, or the message or thread column, opened
				 * read-only */
				s->d[i] = 0;
				continue;
			}
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
			char buf[32];
			size_t n = v.n < sizeof(buf) - 1 ? v.n : sizeof(buf) - 1;
			memcpy(buf, v.p, n);
			buf[n] = 0;
			/* 1 and 2: stores made before the index and before its
			 * schema 3 layout; they open without one (index_ready);
			 * 4: with the phrase pairs */
			if ((rc = schema_get(t, s, err)) <= 0) {
				if (rc < 0)
					goto fail;
				kv_err_set(err, "%s: unknown store schema version %s (this program knows 1 to %d)",
					   dir, buf, STORE_SCHEMA_PAIRS);
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
		s->fd[i] = store_open_file(f, rdonly);
		if (s->fd[i] < 0 && !(rdonly && errno == ENOENT)) {
			if (errno == EACCES || errno == EPERM)
				store_denied(f, dir, err);
			else
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
