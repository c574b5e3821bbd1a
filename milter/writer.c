/*
 * writer.c - group commit for the milter (see writer.h). Why a thread:
 * an LMDB commit costs one fsync (about 0.5 ms here); with one commit per
 * mail, ten SMTP sessions would queue behind each other's fsyncs. The
 * writer commits whatever accumulated while the previous commit ran, so
 * under load one fsync covers many mails and no mail waits for more than
 * about two commits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "writer.h"
#include "store.h"
#include "log.h"

/* Spool replay is attempted at most this often while the store fails. */
#define REPLAY_RETRY_MS 30000
/* Spooled mails replayed per transaction. */
#define REPLAY_BATCH 64

enum job_state { JOB_QUEUED, JOB_COMMITTING, JOB_DONE };

struct job {
	char *raw;
	size_t len;
	int64_t arrival;
	struct mail *parsed;
	enum job_state state;
	int abandoned;           /* the submitter gave up waiting; writer frees */
	enum writer_result result;
	uint64_t num;
	char why[2 * KV_ERR_MAX + 8];
	struct job *next;
};

struct writer {
	struct store *store;
	char *spool;
	int spool_on_error;
	int commit_interval_ms;
	int wait_ms;

	pthread_mutex_t mu;
	pthread_cond_t work_cv;   /* writer waits: queue non-empty or stop */
	pthread_cond_t done_cv;   /* submitters wait: their job done */
	struct job *head, **tail;
	int stop;
	int spool_pending;        /* spool/new may hold mails to replay */
	int spool_pending_new;    /* set by submitters that spooled themselves */
	int64_t last_replay_ms;
	unsigned long long seq;   /* spool file names */
	pthread_t thread;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct job *j)
{
	if (j->parsed) {
		mail_release(j->parsed);
		free(j->parsed);
	}
	free(j->raw);
	free(j);
}

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

int writer_spool(struct writer *w, const char *raw, size_t len, const char *sub, struct kv_err *err)
{
	unsigned long long seq;
	struct timespec ts;
	char name[128], tmp[4096 + 256], dst[4096 + 256], dir[4096];
	int fd;
	size_t off = 0;

	pthread_mutex_lock(&w->mu);
	seq = ++w->seq;
	pthread_mutex_unlock(&w->mu);
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof name, "%lld.M%ldP%dQ%llu.kvmarm-milter",
		 (long long)ts.tv_sec, ts.tv_nsec / 1000, (int)getpid(), seq);
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", w->spool, name);
	snprintf(dir, sizeof dir, "%s/%s", w->spool, sub ? sub : "new");
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

/* Record spooled files; delete each only after its batch committed, so a
 * crash in between leaves it to the next replay (the store dedups it). */
long writer_replay(struct writer *w, struct kv_err *err)
{
	char dir[4096];
	DIR *d;
	struct dirent *de;
	struct strv names = STRV_INIT;
	long recorded = 0;
	int rc = 0;

	snprintf(dir, sizeof dir, "%s/new", w->spool);
	d = opendir(dir);
	if (!d)
		return kv_err_set(err, "cannot read spool directory %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			strv_push(&names, de->d_name);
	closedir(d);

	for (size_t i = 0; i < names.n && rc == 0; i += REPLAY_BATCH) {
		size_t n = names.n - i < REPLAY_BATCH ? names.n - i : REPLAY_BATCH;
		struct store_item items[REPLAY_BATCH];
		char *bufs[REPLAY_BATCH];
		char *paths[REPLAY_BATCH];
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
		if (k > 0 && store_add_batch(w->store, items, k, err) < 0)
			rc = -1;
		for (size_t j = 0; j < k; j++) {
			if (rc == 0) {
				if (items[j].status == STORE_SKIPPED) {
					char *sk = kv_xasprintf("%s/skipped/%s", w->spool, strrchr(paths[j], '/') + 1);
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

/* Spool every job of a failed batch; mark its result. */
static void spool_batch(struct writer *w, struct job *list, const char *why)
{
	for (struct job *j = list; j; j = j->next) {
		struct kv_err e;
		if (!w->spool_on_error) {
			j->result = WR_FAILED;
			snprintf(j->why, sizeof j->why, "%s", why);
		} else if (writer_spool(w, j->raw, j->len, "new", &e) == 0) {
			j->result = WR_SPOOLED;
			snprintf(j->why, sizeof j->why, "%s", why);
		} else {
			j->result = WR_FAILED;
			snprintf(j->why, sizeof j->why, "%s; %s", why, e.msg);
		}
	}
}

/* 0 when the batch committed, -1 when it went to the spool (or failed). */
static int commit_batch(struct writer *w, struct job *list)
{
	size_t n = 0, i = 0;
	struct store_item *items;
	struct kv_err err;

	for (struct job *j = list; j; j = j->next)
		n++;
	items = kv_xcalloc(n, sizeof *items);
	for (struct job *j = list; j; j = j->next, i++) {
		items[i].raw = j->raw;
		items[i].len = j->len;
		items[i].arrival = j->arrival;
		items[i].parsed = j->parsed;
	}
	if (store_add_batch(w->store, items, n, &err) < 0) {
		log_err("store write failed for %zu mail(s): %s", n, err.msg);
		spool_batch(w, list, err.msg);
		free(items);
		return -1;
	}
	i = 0;
	for (struct job *j = list; j; j = j->next, i++) {
		j->num = items[i].num;
		switch (items[i].status) {
		case STORE_ADDED:
			j->result = WR_STORED;
			break;
		case STORE_DUPLICATE:
			j->result = WR_DUPLICATE;
			break;
		case STORE_SKIPPED: {
			struct kv_err e;
			snprintf(j->why, sizeof j->why, "%s", items[i].why);
			/* Kept for the operator; replaying it would only fail again. */
			if (writer_spool(w, j->raw, j->len, "skipped", &e) < 0)
				log_warn("%s", e.msg);
			j->result = WR_SKIPPED;
			break;
		}
		default:
			kv_panic("store_add_batch left item %zu with status %d", i, (int)items[i].status);
		}
	}
	free(items);
	return 0;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *list;
		int pending, failed = 0;

		while (!w->head && !w->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += REPLAY_RETRY_MS / 1000;
			pthread_cond_timedwait(&w->work_cv, &w->mu, &ts);
			if (!w->head && (w->spool_pending || w->spool_pending_new) && now_ms() - w->last_replay_ms >= REPLAY_RETRY_MS)
				break;
		}
		if (!w->head && w->stop)
			break;
		if (w->head && w->commit_interval_ms > 0 && !w->stop) {
			/* Let more sessions join this commit. */
			struct timespec ts;
			int64_t until = now_ms() + w->commit_interval_ms;
			pthread_mutex_unlock(&w->mu);
			ts.tv_sec = w->commit_interval_ms / 1000;
			ts.tv_nsec = (long)(w->commit_interval_ms % 1000) * 1000000L;
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR && now_ms() < until)
				;
			pthread_mutex_lock(&w->mu);
		}
		list = w->head;
		w->head = NULL;
		w->tail = &w->head;
		for (struct job *j = list; j; j = j->next)
			j->state = JOB_COMMITTING;
		pending = w->spool_pending || w->spool_pending_new;
		w->spool_pending_new = 0;
		pthread_mutex_unlock(&w->mu);

		if (list)
			failed = commit_batch(w, list) < 0;
		/* A batch just committed (or time passed): try the spool. */
		if (pending && !failed && now_ms() - w->last_replay_ms >= (list ? 0 : REPLAY_RETRY_MS)) {
			struct kv_err e;
			w->last_replay_ms = now_ms();
			if (writer_replay(w, &e) >= 0)
				pending = 0;
			else
				log_warn("spool replay failed: %s", e.msg);
		}

		pthread_mutex_lock(&w->mu);
		if (failed && w->spool_on_error)
			pending = 1;
		/* Keep a flag set by a submitter meanwhile. */
		w->spool_pending = pending || w->spool_pending_new;
		w->spool_pending_new = 0;
		for (struct job *j = list, *next; j; j = next) {
			next = j->next;
			j->state = JOB_DONE;
			if (j->abandoned)
				job_free(j);
		}
		pthread_cond_broadcast(&w->done_cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int writer_start(struct writer **wp, struct store *s, const struct writer_opts *o, struct kv_err *err)
{
	struct writer *w = kv_xcalloc(1, sizeof *w);
	pthread_condattr_t ca;
	char *sub;
	long n;

	w->store = s;
	w->spool = kv_xstrdup(o->spool_dir);
	w->spool_on_error = o->spool_on_error;
	w->commit_interval_ms = o->commit_interval_ms;
	w->wait_ms = o->wait_ms > 0 ? o->wait_ms : 5000;
	w->tail = &w->head;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work_cv, &ca);
	pthread_cond_init(&w->done_cv, &ca);
	pthread_condattr_destroy(&ca);

	if (mkdir_p1(w->spool, err) < 0)
		goto fail;
	for (const char **d = (const char *[]){ "tmp", "new", "skipped", NULL }; *d; d++) {
		sub = kv_xasprintf("%s/%s", w->spool, *d);
		n = mkdir_p1(sub, err);
		free(sub);
		if (n < 0)
			goto fail;
	}
	n = writer_replay(w, err);
	if (n < 0) {
		log_warn("spool replay at start failed: %s (retried later)", err->msg);
		w->spool_pending = 1;
		w->last_replay_ms = now_ms();
	}
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		kv_err_set(err, "cannot start the writer thread");
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	free(w->spool);
	free(w);
	return -1;
}

enum writer_result writer_submit(struct writer *w, char *raw, size_t len, int64_t arrival,
				 struct mail *parsed, uint64_t *num, char *why, size_t whylen)
{
	struct job *j = kv_xcalloc(1, sizeof *j);
	struct timespec ts;
	enum writer_result r;
	int rc = 0;

	j->raw = raw;
	j->len = len;
	j->arrival = arrival;
	j->parsed = parsed;
	j->state = JOB_QUEUED;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += w->wait_ms / 1000;
	ts.tv_nsec += (long)(w->wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&w->mu);
	*w->tail = j;
	w->tail = &j->next;
	pthread_cond_signal(&w->work_cv);
	while (j->state != JOB_DONE && rc == 0)
		rc = pthread_cond_timedwait(&w->done_cv, &w->mu, &ts);
	if (j->state == JOB_DONE) {
		pthread_mutex_unlock(&w->mu);
		r = j->result;
		*num = j->num;
		snprintf(why, whylen, "%s", j->why);
		job_free(j);
		return r;
	}
	pthread_mutex_unlock(&w->mu);

	/* The store is stuck (a long write lock elsewhere?): make the mail
	 * durable in the spool ourselves; if the writer commits it later too,
	 * the replay finds a duplicate. j->raw is not freed by the writer
	 * until abandoned is set. */
	{
		struct kv_err e;
		if (!w->spool_on_error) {
			r = WR_FAILED;
			snprintf(why, whylen, "store commit took longer than %d ms", w->wait_ms);
		} else if (writer_spool(w, j->raw, j->len, "new", &e) == 0) {
			r = WR_SPOOLED;
			snprintf(why, whylen, "store commit took longer than %d ms", w->wait_ms);
		} else {
			r = WR_FAILED;
			snprintf(why, whylen, "store commit took longer than %d ms; %s", w->wait_ms, e.msg);
		}
	}
	pthread_mutex_lock(&w->mu);
	if (r == WR_SPOOLED)
		w->spool_pending_new = 1;
	if (j->state == JOB_DONE) {
		pthread_mutex_unlock(&w->mu);
		job_free(j);
	} else {
		j->abandoned = 1;
		pthread_mutex_unlock(&w->mu);
	}
	*num = 0;
	return r;
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->work_cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work_cv);
	pthread_cond_destroy(&w->done_cv);
	free(w->spool);
	free(w);
}
