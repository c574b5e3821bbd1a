/*
 * spool.c - the milter's spool directory (see spool.h): durable writes by
 * tmp/ -> fsync -> rename, and the replay of new/ into the store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "store.h"
#include "log.h"
#include "banned.h"

/* Spooled mails replayed per transaction. */
#define SPOOL_REPLAY_BATCH 64

static int mkdir_p1(const char *path, struct kv_err *err)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return kv_err_set(err, "cannot create spool directory %s: %s", path, strerror(errno));
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	int rc;
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int spool_open(struct spool *sp, const char *dir, struct kv_err *err)
{
	sp->dir = kv_xstrdup(dir);
	sp->seq = 0;
	if (mkdir_p1(sp->dir, err) < 0)
		goto fail;
	for (const char **d = (const char *[]){ "tmp", "new", "skipped", NULL }; *d; d++) {
		char *sub = kv_xasprintf("%s/%s", sp->dir, *d);
		int rc = mkdir_p1(sub, err);
		free(sub);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	spool_close(sp);
	return -1;
}

void spool_close(struct spool *sp)
{
	free(sp->dir);
	sp->dir = NULL;
}

int spool_write(struct spool *sp, const char *raw, size_t len, const char *sub, struct kv_err *err)
{
	unsigned long long seq = __atomic_add_fetch(&sp->seq, 1, __ATOMIC_RELAXED);
	struct timespec ts;
	char name[128], tmp[4096 + 256], dst[4096 + 256], dir[4096];
	int fd;
	size_t off = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof name, "%lld.M%ldP%dQ%llu.kvmarm-milter",
		 (long long)ts.tv_sec, ts.tv_nsec / 1000, (int)getpid(), seq);
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", sp->dir, name);
	snprintf(dir, sizeof dir, "%s/%s", sp->dir, sub ? sub : "new");
	snprintf(dst, sizeof dst, "%s/%s", dir, name);

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return kv_err_set(err, "cannot create spool file %s: %s", tmp, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, raw + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			kv_err_set(err, "cannot write spool file %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		kv_err_set(err, "cannot fsync spool file %s: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, dst) < 0) {
		kv_err_set(err, "cannot move spool file %s to %s: %s", tmp, dir, strerror(errno));
		goto fail;
	}
	/* The rename is only durable once the directory is. */
	if (fsync_dir(dir) < 0)
		return kv_err_set(err, "cannot fsync spool directory %s: %s", dir, strerror(errno));
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

long spool_replay(struct spool *sp, struct store *s, struct kv_err *err)
{
	char dir[4096];
	DIR *d;
	struct dirent *de;
	struct strv names = STRV_INIT;
	long recorded = 0;
	int rc = 0;

	snprintf(dir, sizeof dir, "%s/new", sp->dir);
	d = opendir(dir);
	if (!d)
		return kv_err_set(err, "cannot read spool directory %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			strv_push(&names, de->d_name);
	closedir(d);

	for (size_t i = 0; i < names.n && rc == 0; i += SPOOL_REPLAY_BATCH) {
		size_t n = names.n - i < SPOOL_REPLAY_BATCH ? names.n - i : SPOOL_REPLAY_BATCH;
		struct store_item items[SPOOL_REPLAY_BATCH];
		char *bufs[SPOOL_REPLAY_BATCH];
		char *paths[SPOOL_REPLAY_BATCH];
		size_t k = 0;

		memset(items, 0, sizeof items);
		for (size_t j = 0; j < n; j++) {
			struct kv_err e;
			struct stat st;
			char *data;
			size_t len;
			char *p = kv_xasprintf("%s/%s", dir, names.v[i + j]);
			if (kv_read_file(p, &data, &len, &e) < 0) {
				log_warn("spool replay: %s", e.msg);
				free(p);
				continue;
			}
			items[k].raw = data;
			items[k].len = len;
			items[k].arrival = stat(p, &st) == 0 ? (int64_t)st.st_mtime : (int64_t)time(NULL);
			bufs[k] = data;
			paths[k] = p;
			k++;
		}
		if (k > 0 && store_add_batch(s, items, k, err) < 0)
			rc = -1;
		for (size_t j = 0; j < k; j++) {
			if (rc == 0) {
				if (items[j].status == STORE_SKIPPED) {
					char *sk = kv_xasprintf("%s/skipped/%s", sp->dir, strrchr(paths[j], '/') + 1);
					log_warn("spool replay: %s is not a mail (%s); moved to skipped/",
						 paths[j], items[j].why);
					if (rename(paths[j], sk) < 0)
						unlink(paths[j]);
					free(sk);
				} else {
					unlink(paths[j]);
					recorded++;
				}
			}
			free(bufs[j]);
			free(paths[j]);
		}
	}
	strv_release(&names);
	if (rc < 0)
		return -1;
	if (recorded > 0) {
		fsync_dir(dir);
		log_info("spool replay: %ld mail(s) recorded from %s", recorded, dir);
	}
	return recorded;
}
