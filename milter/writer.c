/*
 * writer.c - the milter's durable path (see writer.h). Why two threads:
 *
 *  - An fsync costs about 0.5-2 ms here, and recording a mail in the store
 *    (parse, thread, index, commit with two syncs) several more. Neither
 *    should be paid per mail on the SMTP path.
 *  - The journal thread takes every mail queued by end-of-message
 *    handlers, writes them to the journal and calls fdatasync once for
 *    the group; then the handlers answer. A mail is durable from then.
 *  - The store thread records journaled mails in the store, what gathered
 *    in STORE_GATHER_MS per transaction, and the journal starts over once
 *    everything in it is committed (see JMAGIC for the file layout). If the store fails, the mails go to the spool (tmp/,
 *    fsync, rename into new/) before the journal may forget them.
 *  - At start the journal is replayed into the store (a crash between the
 *    two steps leaves a mail in both: the store sees a duplicate), then
 *    the spool.
 * When the journal itself cannot be written, a group falls back to the
 * store directly (and the spool), still before the answer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "writer.h"
#include "store.h"
#include "log.h"

/* Spool replay is attempted at most this often while the store fails. */
#define REPLAY_RETRY_MS 30000
/* Spooled or journaled mails replayed per transaction. */
#define REPLAY_BATCH 64
/* Journal record: magic, the length (8 bytes), the epoch (8 bytes) and a
 * CRC-32 of epoch, length and mail (4 bytes), all little-endian, then the
 * mail. The journal is written in place from offset 0 over a zero-filled
 * file, and starts over at 0 with a new epoch once the store has everything:
 * overwriting allocated blocks lets fdatasync skip the file system's
 * metadata commit (an appended or truncated file's size must be committed
 * with it, and that commit queues behind the store's own syncs: several
 * ms here). So a replay reads records while the epoch is the first one's
 * and the CRC holds; older records further on are left-overs. "KVJ1" is
 * the earlier append-only format (12-byte header), still replayed. */
#define JMAGIC "KVJ2"
#define JMAGIC1 "KVJ1"
#define JHDR 24
#define JHDR1 12
/* Zero-filled at start so that the journal's usual size needs no
 * allocation later; it grows past this when needed. */
#define JOURNAL_PREALLOC (4u << 20)
/* The store thread lets journaled mails gather this long before a
 * transaction: each costs several syncs on the disk the journal's
 * fdatasync waits for, so fewer, larger ones keep the answer fast. */
#define STORE_GATHER_MS 100
/* Past this size the journal thread lets the store thread catch up (and
 * the journal be emptied) before it appends more: under a sustained
 * overload the journal stays bounded. */
#define JOURNAL_SOFT_MAX (64u << 20)

enum job_state { JOB_QUEUED, JOB_COMMITTING, JOB_DONE };

struct job {
	char *raw;
	size_t len;
	int64_t arrival;
	struct mail *parsed;
	char *qid, *msgid;       /* for the log line */
	enum job_state state;
	int refs;                /* submitter + writer; freed at 0 (under mu) */
	enum writer_result result;
	uint64_t num;
	unsigned jgen;           /* journal file generation it went to */
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
	pthread_cond_t work_cv;   /* journal thread: queue non-empty or stop */
	pthread_cond_t done_cv;   /* submitters: their job done */
	pthread_cond_t store_cv;  /* store thread: journaled mails waiting */
	struct job *head, **tail; /* waiting for the journal */
	struct job *shead, **stail; /* journaled, waiting for the store */
	int stop, sstop;
	int spool_pending;        /* spool/new may hold mails to replay */
	int spool_pending_new;
	int64_t last_replay_ms;
	unsigned long long seq;   /* spool file names */

	int jfd;                  /* journal, -1 when unusable */
	char *jpath;
	uint64_t jappended, jcommitted; /* records; guarded by mu */
	uint64_t jbytes;          /* journal size since it was last emptied */
	uint64_t jepoch, joff;    /* journal thread: current epoch, write offset */
	int jfd_keep;             /* replay could not place it all: leave it */
	int jwaiting;             /* journal past its zero-filled part: store, hurry */
	/* The other journal file: written while the store catches up on
	 * this one (no wait when one is full). Swapped with the above. */
	int jfd2;
	char *jpath2;
	uint64_t jappended2, jcommitted2;
	unsigned jgen;            /* switches so far; a job keeps its own */
	pthread_cond_t caught_cv; /* journal thread: the journal was emptied */

	pthread_t thread, sthread;
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
	free(j->qid);
	free(j->msgid);
	free(j);
}

/* Drop one reference; call with mu held. */
static void job_unref(struct job *j)
{
	if (--j->refs == 0)
		job_free(j);
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
static void spool_batch(struct writer *w, struct job *list, const char *why, int force)
{
	for (struct job *j = list; j; j = j->next) {
		struct kv_err e;
		if (!w->spool_on_error && !force) {
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

/* 0 when the batch committed, -1 when it went to the spool (or failed). */
static int commit_batch(struct writer *w, struct job *list, int force_spool)
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
		spool_batch(w, list, err.msg, force_spool);
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

/* One log line per mail, once its fate in the store is known. */
static void log_outcome(const struct job *j)
{
	const char *q = j->qid ? j->qid : "NOQUEUE", *m = j->msgid ? j->msgid : "(none)";
	switch (j->result) {
	case WR_STORED:
		log_info("queue id %s: recorded <%s> as message %llu (%zu bytes)", q, m,
			 (unsigned long long)j->num, j->len);
		break;
	case WR_DUPLICATE:
		log_info("queue id %s: <%s> already stored as message %llu", q, m,
			 (unsigned long long)j->num);
		break;
	case WR_SPOOLED:
		log_warn("queue id %s: <%s> not recorded yet (%s): kept in the spool", q, m, j->why);
		break;
	case WR_SKIPPED:
		log_warn("queue id %s: <%s> not recorded: not a mail (%s)", q, m, j->why);
		break;
	case WR_FAILED:
		log_err("queue id %s: <%s> NOT recorded (%s)", q, m, j->why);
		break;
	case WR_JOURNALED:
		break;
	}
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int k = 0; k < n; k++)
		p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int k = 0; k < n; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

static uint32_t rec_crc(const unsigned char *hdr, const char *raw, size_t len)
{
	uLong c = crc32(0L, hdr + 4, 16);
	while (len > 0) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		c = crc32(c, (const Bytef *)raw, n);
		raw += n;
		len -= n;
	}
	return (uint32_t)c;
}

/* Write the group at the journal's offset and sync it. 0 / -1 (journal
 * unusable). Called by the journal thread only, without mu. */
static int journal_append(struct writer *w, struct job *list)
{
	for (struct job *j = list; j; j = j->next) {
		unsigned char hdr[JHDR];
		struct iovec iov[2];
		size_t want = JHDR + j->len, done = 0;

		memcpy(hdr, JMAGIC, 4);
		put_le(hdr + 4, j->len, 8);
		put_le(hdr + 12, w->jepoch, 8);
		put_le(hdr + 20, rec_crc(hdr, j->raw, j->len), 4);
		while (done < want) {
			ssize_t n;
			if (done < JHDR) {
				iov[0].iov_base = hdr + done;
				iov[0].iov_len = JHDR - done;
				iov[1].iov_base = j->raw;
				iov[1].iov_len = j->len;
				n = pwritev(w->jfd, iov, 2, (off_t)(w->joff + done));
			} else {
				n = pwrite(w->jfd, j->raw + (done - JHDR), want - done,
					   (off_t)(w->joff + done));
			}
			if (n < 0) {
				if (errno == EINTR)
					continue;
				log_err("cannot write journal %s: %s", w->jpath, strerror(errno));
				return -1;
			}
			done += (size_t)n;
		}
		w->joff += want;
	}
	if (fdatasync(w->jfd) < 0) {
		log_err("cannot sync journal %s: %s", w->jpath, strerror(errno));
		return -1;
	}
	return 0;
}

static void *store_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *list;
		size_t n = 0;
		int pending;

		while (!w->shead && !w->sstop) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += REPLAY_RETRY_MS / 1000;
			pthread_cond_timedwait(&w->store_cv, &w->mu, &ts);
			if (!w->shead && (w->spool_pending || w->spool_pending_new) &&
			    now_ms() - w->last_replay_ms >= REPLAY_RETRY_MS)
				break;
		}
		if (!w->shead && w->sstop)
			break;
		if (w->shead && !w->sstop && !w->jwaiting) {
			/* Let more mails join this transaction (they are safe
			 * in the journal meanwhile). */
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += STORE_GATHER_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!w->sstop && !w->jwaiting &&
			       pthread_cond_timedwait(&w->store_cv, &w->mu, &ts) == 0)
				;
		}
		list = w->shead;
		w->shead = NULL;
		w->stail = &w->shead;
		pending = w->spool_pending || w->spool_pending_new;
		w->spool_pending_new = 0;
		pthread_mutex_unlock(&w->mu);

		int failed = 0;
		if (list)
			failed = commit_batch(w, list, 1) < 0;
		for (struct job *j = list; j; j = j->next, n++)
			log_outcome(j);
		if (pending && !failed && now_ms() - w->last_replay_ms >= (list ? 0 : REPLAY_RETRY_MS)) {
			struct kv_err e;
			w->last_replay_ms = now_ms();
			if (writer_replay(w, &e) >= 0)
				pending = 0;
			else
				log_warn("spool replay failed: %s", e.msg);
		}

		pthread_mutex_lock(&w->mu);
		if (failed)
			pending = 1;
		w->spool_pending = pending || w->spool_pending_new;
		w->spool_pending_new = 0;
		/* Committed or spooled (or logged as lost): the journal may
		 * forget them. */
		for (struct job *j = list; j; j = j->next) {
			if (j->jgen == w->jgen)
				w->jcommitted++;
			else
				w->jcommitted2++;
		}
		pthread_cond_broadcast(&w->caught_cv);
		for (struct job *j = list, *next; j; j = next) {
			next = j->next;
			job_unref(j);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *list;
		size_t n = 0;
		int journaled = 0;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->work_cv, &w->mu);
		if (!w->head && w->stop)
			break;
		/* Past the zero-filled part each sync also commits metadata:
		 * hurry the store (no gathering) so that a switch or a start
		 * over comes soon; wait for it only past the soft limit. */
		if (w->joff >= JOURNAL_PREALLOC && w->jcommitted < w->jappended &&
		    w->jfd2 >= 0 && w->jcommitted2 == w->jappended2) {
			/* Full, and the other file is all in the store:
			 * switch to it, starting over at 0. */
			int fd = w->jfd;
			char *p = w->jpath;
			w->jfd = w->jfd2;
			w->jpath = w->jpath2;
			w->jfd2 = fd;
			w->jpath2 = p;
			w->jappended2 = w->jappended;
			w->jcommitted2 = w->jcommitted;
			w->jappended = w->jcommitted = 0;
			w->jbytes = 0;
			w->joff = 0;
			w->jepoch++;
			w->jgen++;
		}
		if (w->joff >= JOURNAL_PREALLOC && w->jcommitted < w->jappended) {
			if (!w->jwaiting) {
				w->jwaiting = 1;
				pthread_cond_signal(&w->store_cv);
			}
			while (w->jbytes > JOURNAL_SOFT_MAX && w->jcommitted < w->jappended)
				pthread_cond_wait(&w->caught_cv, &w->mu);
		} else {
			w->jwaiting = 0;
		}
		if (w->commit_interval_ms > 0 && !w->stop) {
			/* Let more sessions join this group. */
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
		for (struct job *j = list; j; j = j->next, n++)
			j->state = JOB_COMMITTING;
		if (w->jcommitted == w->jappended && w->joff > 0) {
			/* The store has everything: start over at 0 in a new
			 * epoch (what follows the new end is left-overs). */
			w->joff = 0;
			w->jepoch++;
			w->jappended = w->jcommitted = 0;
			w->jbytes = 0;
			pthread_cond_broadcast(&w->caught_cv);
		}
		pthread_mutex_unlock(&w->mu);

		for (struct job *j = list; j; j = j->next)
			j->jgen = w->jgen;
		if (w->jfd >= 0 && journal_append(w, list) == 0) {
			journaled = 1;
		} else {
			/* No journal: the store (or the spool) before the answer. */
			commit_batch(w, list, 0);
			for (struct job *j = list; j; j = j->next)
				log_outcome(j);
		}

		pthread_mutex_lock(&w->mu);
		if (journaled) {
			w->jappended += n;
			for (struct job *j = list; j; j = j->next)
				w->jbytes += JHDR + j->len;
			for (struct job *j = list; j; j = j->next)
				j->result = WR_JOURNALED;
		}
		for (struct job *j = list; j; j = j->next)
			j->state = JOB_DONE;
		pthread_cond_broadcast(&w->done_cv);
		if (journaled) {
			/* The whole group moves on to the store thread. */
			*w->stail = list;
			while (*w->stail)
				w->stail = &(*w->stail)->next;
			pthread_cond_signal(&w->store_cv);
		} else {
			for (struct job *j = list, *next; j; j = next) {
				next = j->next;
				job_unref(j);
			}
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The record at off: 1 with *rec, *rlen and *next set, 0 at the end (a
 * record of another epoch or format, torn, or zeros). *epoch is the
 * journal's, taken from its first record. */
static int journal_next(const char *data, size_t len, size_t off, int *fmt, uint64_t *epoch,
			const char **rec, size_t *rlen, size_t *next)
{
	const unsigned char *h = (const unsigned char *)data + off;
	uint64_t l;

	if (*fmt == 0)
		*fmt = len - off >= 4 && memcmp(h, JMAGIC1, 4) == 0 ? 1 : 2;
	if (*fmt == 1) {
		if (len - off < JHDR1 || memcmp(h, JMAGIC1, 4) != 0)
			return 0;
		l = get_le(h + 4, 8);
		if (l > len - off - JHDR1)
			return 0;
		*rec = data + off + JHDR1;
	} else {
		if (len - off < JHDR || memcmp(h, JMAGIC, 4) != 0)
			return 0;
		l = get_le(h + 4, 8);
		if (l > len - off - JHDR)
			return 0;
		if (off == 0)
			*epoch = get_le(h + 12, 8);
		if (get_le(h + 12, 8) != *epoch ||
		    get_le(h + 20, 4) != rec_crc(h, data + off + JHDR, (size_t)l))
			return 0;
		*rec = data + off + JHDR;
	}
	*rlen = (size_t)l;
	*next = (size_t)(*rec - data) + (size_t)l;
	return 1;
}

/* Zero-fill the emptied journal (see JMAGIC): 0 / -1. */
static int journal_prealloc(struct writer *w)
{
	static const char zeros[65536];
	if (ftruncate(w->jfd, 0) < 0)
		return -1;
	for (off_t off = 0; off < (off_t)JOURNAL_PREALLOC; off += (off_t)sizeof zeros) {
		if (pwrite(w->jfd, zeros, sizeof zeros, off) != (ssize_t)sizeof zeros)
			return -1;
	}
	return fsync(w->jfd);
}

/* Record what a previous run left in the journal, then empty it. */
static void journal_replay(struct writer *w)
{
	char *data;
	size_t len, off = 0, nrec = 0;
	int fmt = 0;
	uint64_t epoch = 0;
	struct kv_err err;

	if (kv_read_file(w->jpath, &data, &len, &err) < 0) {
		log_warn("journal replay: %s", err.msg);
		return;
	}
	for (;;) {
		struct store_item items[REPLAY_BATCH];
		size_t k = 0;
		memset(items, 0, sizeof items);
		while (k < REPLAY_BATCH) {
			const char *rec;
			size_t rlen, next;
			if (!journal_next(data, len, off, &fmt, &epoch, &rec, &rlen, &next))
				break;
			items[k].raw = (char *)rec;
			items[k].len = rlen;
			items[k].arrival = (int64_t)time(NULL);
			k++;
			off = next;
		}
		if (k == 0)
			break;
		if (store_add_batch(w->store, items, k, &err) < 0) {
			log_err("journal replay: store write failed: %s; spooling", err.msg);
			for (size_t i = 0; i < k; i++) {
				struct kv_err e;
				if (writer_spool(w, items[i].raw, items[i].len, "new", &e) < 0) {
					log_err("journal replay: %s; journal kept", e.msg);
					free(data);
					w->jfd_keep = 1;
					return;
				}
			}
			w->spool_pending = 1;
		}
		nrec += k;
	}
	free(data);
	if (nrec > 0)
		log_info("journal replay: %zu mail(s) from %s", nrec, w->jpath);
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
	w->stail = &w->shead;
	w->jfd = w->jfd2 = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work_cv, &ca);
	pthread_cond_init(&w->done_cv, &ca);
	pthread_cond_init(&w->store_cv, &ca);
	pthread_cond_init(&w->caught_cv, &ca);
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
	w->jpath = kv_xasprintf("%s/journal", w->spool);
	w->jpath2 = kv_xasprintf("%s/journal.1", w->spool);
	for (int f = 0; f < 2; f++) {
		w->jfd = open(w->jpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (w->jfd < 0)
			log_warn("cannot open journal %s: %s", w->jpath, strerror(errno));
		else
			journal_replay(w);
		if (w->jfd >= 0 && w->jfd_keep) {
			/* Its mails are neither in the store nor the spool:
			 * keep them for the next start. */
			close(w->jfd);
			w->jfd = -1;
		} else if (w->jfd >= 0 && journal_prealloc(w) < 0) {
			log_warn("cannot prepare journal %s: %s", w->jpath, strerror(errno));
			close(w->jfd);
			w->jfd = -1;
		}
		/* swap: the first file ends up current */
		int fd = w->jfd;
		char *p = w->jpath;
		w->jfd = w->jfd2;
		w->jpath = w->jpath2;
		w->jfd2 = fd;
		w->jpath2 = p;
		if (f == 0)
			w->jfd = -1;
	}
	if (w->jfd < 0 && w->jfd2 >= 0) {
		w->jfd = w->jfd2;
		w->jfd2 = -1;
		char *p = w->jpath;
		w->jpath = w->jpath2;
		w->jpath2 = p;
	}
	if (w->jfd < 0)
		log_warn("no usable journal in %s: mails go to the store before the answer", w->spool);
	w->jepoch = 1;
	n = writer_replay(w, err);
	if (n < 0) {
		log_warn("spool replay at start failed: %s (retried later)", err->msg);
		w->spool_pending = 1;
		w->last_replay_ms = now_ms();
	}
	if (pthread_create(&w->sthread, NULL, store_main, w) != 0 ||
	    pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		kv_err_set(err, "cannot start the writer threads");
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	if (w->jfd >= 0)
		close(w->jfd);
	if (w->jfd2 >= 0)
		close(w->jfd2);
	free(w->jpath);
	free(w->jpath2);
	free(w->spool);
	free(w);
	return -1;
}

enum writer_result writer_submit(struct writer *w, char *raw, size_t len, int64_t arrival,
				 const char *qid, const char *msgid,
				 uint64_t *num, char *why, size_t whylen)
{
	struct job *j = kv_xcalloc(1, sizeof *j);
	struct timespec ts;
	enum writer_result r;
	int rc = 0;

	j->raw = raw;
	j->len = len;
	j->arrival = arrival;
	j->qid = qid ? kv_xstrdup(qid) : NULL;
	j->msgid = msgid ? kv_xstrdup(msgid) : NULL;
	j->state = JOB_QUEUED;
	j->refs = 2;

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
		r = j->result;
		*num = j->num;
		snprintf(why, whylen, "%s", j->why);
		job_unref(j);
		pthread_mutex_unlock(&w->mu);
		return r;
	}
	pthread_mutex_unlock(&w->mu);

	/* Stuck (a disk that does not answer, a store held by a long write
	 * in the fallback path): make the mail durable in the spool
	 * ourselves; if the writer records it later too, the store finds a
	 * duplicate. j->raw stays valid: we still hold a reference. */
	{
		struct kv_err e;
		if (writer_spool(w, j->raw, j->len, "new", &e) == 0) {
			r = WR_SPOOLED;
			snprintf(why, whylen, "journal/store took longer than %d ms", w->wait_ms);
		} else {
			r = WR_FAILED;
			snprintf(why, whylen, "journal/store took longer than %d ms; %s", w->wait_ms, e.msg);
		}
	}
	if (r == WR_SPOOLED)
		log_warn("queue id %s: <%s> not recorded yet (%s): kept in the spool",
			 qid ? qid : "NOQUEUE", msgid ? msgid : "(none)", why);
	else
		log_err("queue id %s: <%s> NOT recorded (%s)", qid ? qid : "NOQUEUE",
			msgid ? msgid : "(none)", why);
	pthread_mutex_lock(&w->mu);
	if (r == WR_SPOOLED)
		w->spool_pending_new = 1;
	job_unref(j);
	pthread_mutex_unlock(&w->mu);
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
	pthread_mutex_lock(&w->mu);
	w->sstop = 1;
	pthread_cond_signal(&w->store_cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->sthread, NULL);
	if (w->jfd >= 0)
		close(w->jfd);
	if (w->jfd2 >= 0)
		close(w->jfd2);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work_cv);
	pthread_cond_destroy(&w->done_cv);
	pthread_cond_destroy(&w->store_cv);
	pthread_cond_destroy(&w->caught_cv);
	free(w->jpath);
	free(w->jpath2);
	free(w->spool);
	free(w);
}
