/*
 * writer.c - the milter's durable path (see writer.h): the journal and
 * store threads and the submission of mails. The journal's format and file
 * I/O are in journal.c, the spool in spool.c. Why two threads:
 *
 *  - An fsync costs about 0.5-2 ms here, and recording a mail in the store
 *    (parse, thread, index, commit with two syncs) several more. Neither
 *    should be paid per mail on the SMTP path.
 *  - The journal thread takes every mail queued by end-of-message
 *    handlers, writes them to the journal and calls fdatasync once for
 *    the group; then the handlers answer. A mail is durable from then.
 *    (With sync after the answer the handlers write their records
 *    themselves and that thread only syncs: see journal_direct.)
 *  - The store thread records journaled mails in the store, what gathered
 *    in a pause of the arrivals (STORE_QUIET_MS) per transaction, and the
 *    journal starts over once everything in it is committed. If the store
 *    fails, the mails go to the spool before the journal may forget them.
 *  - At start the journal is replayed into the store (a crash between the
 *    two steps leaves a mail in both: the store sees a duplicate), then
 *    the spool.
 * When the journal itself cannot be written, a group falls back to the
 * store directly (and the spool), still before the answer.
 * A store that cannot be opened (at start) is tried again every
 * store_retry_ms by the store thread; until then every batch fails over
 * to the spool, which is replayed the moment the store opens.
 *
 * size: about 1,100 lines on purpose: the two threads, the two sync modes and
 * writer_submit share one struct and one mutex, and the rules of who
 * touches which field under which lock are easiest to check in one file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "writer.h"
#include "journal.h"
#include "latency.h"
#include "spool.h"
#include "store.h"
#include "log.h"
#include "banned.h"

/* What a log line about a lost mail tells the admin to do. */
#define WRITER_RECOVER_HINT "the MTA still delivered it: to recover it, free space and " \
	"import it from the list archive or a mailbox (kvmarm-store import)"
/* Spool replay is attempted at most this often while the store fails. */
#define REPLAY_RETRY_MS 30000
/* Journaled mails replayed per transaction at start. */
#define REPLAY_BATCH 64
/* The store thread leaves journaled mails in the journal while mails keep
 * arriving: recording them (parse, index, a commit with several syncs)
 * takes CPU and disk from the MTA, so it waits for a pause of
 * STORE_QUIET_MS, a backlog of journal_size bytes, or STORE_MAX_DELAY_MS. */
#define STORE_QUIET_MS 200
#define STORE_CHUNK 256
/* ... and of at most this many bytes (at least one mail): the chunk's
 * mails are read back, parsed and held until the commit, and memory the
 * process has not touched before costs a page fault per 4 KB (12 us on
 * this VM when idle), so big mails go a few at a time. */
#define STORE_CHUNK_BYTES (4u << 20)
#define STORE_MAX_DELAY_MS 30000
/* Past this size the journal thread lets the store thread catch up (and
 * the journal be emptied) before it appends more: under a sustained
 * overload the journal stays bounded. */
#define JOURNAL_SOFT_MAX(w) (4 * (w)->jsize)

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
	unsigned jgen;           /* journal file generation it went to (see writer.jgen) */
	uint64_t joff;           /* after: where its bytes are in that file; raw is
				  * NULL from the write until the store thread reads
				  * them back (keeps the process's memory small) */
	int64_t t_q, t_pick, t_written, t_synced; /* monotonic us: timing stats */
	char why[2 * KV_ERR_MAX + 8];
	struct job *next;
};

struct writer {
	struct store *store;      /* NULL while it cannot be opened (guarded by mu) */
	int own_store;            /* opened by the writer: closed by writer_stop */
	int (*store_open)(void *ctx, struct store **s, struct kv_err *err);
	void *store_open_ctx;
	int store_retry_ms;
	int64_t last_open_ms;     /* the last attempt to open it */
	char store_why[KV_ERR_MAX]; /* why it is closed */
	struct spool spool;
	int spool_on_error;
	int commit_interval_ms;
	int wait_ms;
	int after;                /* sync after the answer (see writer_submit) */
	int flush_gap_ms;         /* after: at most one fdatasync per this many ms */

	pthread_mutex_t wmu;      /* after: one direct journal write at a time, in order */
	pthread_mutex_t mu;
	pthread_cond_t work_cv;   /* journal thread: queue non-empty or stop */
	pthread_cond_t done_cv;   /* submitters: their job done */
	pthread_cond_t store_cv;  /* store thread: journaled mails waiting */
	struct job *head, **tail; /* waiting for the journal */
	struct job *shead, **stail; /* journaled, waiting for the store */
	struct job *fhead, **ftail; /* after: written, waiting for the fdatasync */
	int jbroken;              /* after: a direct write failed; no more until restart */
	int64_t last_flush_us;    /* after: when the last fdatasync ended */
	int stop, sstop;
	int spool_pending;        /* spool/new may hold mails to replay */
	int spool_pending_new;
	int64_t last_replay_ms;

	/* The journal file records go to, and the other one: written while
	 * the store catches up on this one (no wait when one is full). The
	 * two are swapped whole (journal_roll); their counters are guarded
	 * by mu. */
	struct journal_file cur, other;
	unsigned jgen;            /* switches so far; a job keeps its own */
	uint64_t jbytes;          /* cur's bytes since it last started over */
	uint64_t jsize;           /* each file's zero-filled size */
	uint64_t jepoch, joff;    /* cur's epoch and write offset */
	int jwaiting;             /* cur past its zero-filled part: store, hurry */
	int jkeep;                /* replay could not place a file's mails: leave it */
	pthread_cond_t caught_cv; /* journal thread: the journal was emptied */
	uint64_t sbytes;          /* bytes of the mails waiting for the store */
	int64_t last_arrival_ms;  /* when the last mail was submitted */

	pthread_t thread, sthread;

	/* Where the time of a journaled mail goes (us; logged at stop):
	 * queued -> picked by the journal thread -> written -> synced ->
	 * submitter awake. Guarded by mu. */
	struct latency tq, tw, ts, tk;
	unsigned long groups;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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

/* Keep one journaled mail's timings; call with mu held. */
static void timing_add(struct writer *w, const struct job *j)
{
	latency_add(&w->tq, (uint32_t)(j->t_pick - j->t_q));
	latency_add(&w->tw, (uint32_t)(j->t_written - j->t_pick));
	latency_add(&w->ts, (uint32_t)(j->t_synced - j->t_written));
	latency_add(&w->tk, (uint32_t)(now_us() - j->t_synced));
}

/* "p50 A p99 B max C" of l (sorts it). */
static void pctl(struct latency *l, char *out, size_t outlen)
{
	uint32_t p50, p99, max;
	latency_pctl(l, &p50, &p99, &max);
	snprintf(out, outlen, "p50 %u p99 %u max %u", p50, p99, max);
}

static void timing_log(struct writer *w)
{
	char q[64], wr[64], sy[64], wk[64];
	size_t n = w->tq.n;
	if (n == 0)
		return;
	pctl(&w->tq, q, sizeof q);
	pctl(&w->tw, wr, sizeof wr);
	pctl(&w->ts, sy, sizeof sy);
	pctl(&w->tk, wk, sizeof wk);
	if (w->after)
		log_info("journal over %zu mails, %lu syncs (us): waiting %s; write %s; "
			 "synced after the answer by %s", n, w->groups, q, wr, sy);
	else
		log_info("journal over %zu mails in %lu groups (us): waiting %s; write %s; sync %s; "
			 "wake-up %s", n, w->groups, q, wr, sy, wk);
}

/* The store, or NULL with err saying why it is closed. Any thread. */
static struct store *cur_store(struct writer *w, struct kv_err *err)
{
	struct store *s;

	pthread_mutex_lock(&w->mu);
	s = w->store;
	if (!s)
		kv_err_set(err, "the store is not open (%s)", w->store_why);
	pthread_mutex_unlock(&w->mu);
	return s;
}

/* store_add_batch on the store if it is open; -1 with err when closed. */
static int add_batch(struct writer *w, struct store_item *items, size_t n, struct kv_err *err)
{
	struct store *s = cur_store(w, err);

	if (!s) {
		for (size_t i = 0; i < n; i++)
			items[i].status = STORE_SKIPPED;
		return -1;
	}
	return store_add_batch(s, items, n, err);
}

/* Store thread, while the store is closed: try to open it once its retry
 * interval has passed. 1 when it has just opened (the spool is then to be
 * replayed), else 0. Called without mu. */
static int try_open_store(struct writer *w)
{
	struct store *s = NULL;
	struct kv_err e;

	pthread_mutex_lock(&w->mu);
	if (w->store || !w->store_open || now_ms() - w->last_open_ms < w->store_retry_ms) {
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	w->last_open_ms = now_ms();
	pthread_mutex_unlock(&w->mu);
	if (w->store_open(w->store_open_ctx, &s, &e) < 0) {
		log_err("the store still cannot be opened: %s; mails stay in the spool %s "
			"(tried again in %d s)", e.msg, w->spool.dir, (w->store_retry_ms + 999) / 1000);
		return 0;
	}
	pthread_mutex_lock(&w->mu);
	w->store = s;
	w->own_store = 1;
	w->spool_pending = 1;
	pthread_mutex_unlock(&w->mu);
	log_warn("the store is open now: recording the spooled mails");
	return 1;
}

/* Spool every job of a failed batch; mark its result. */
static void spool_batch(struct writer *w, struct job *list, const char *why, int force)
{
	for (struct job *j = list; j; j = j->next) {
		struct kv_err e;
		if (!j->raw)
			continue;   /* not read back: already failed */
		if (!w->spool_on_error && !force) {
			j->result = WR_FAILED;
			snprintf(j->why, sizeof j->why, "%s", why);
		} else if (spool_write(&w->spool, j->raw, j->len, "new", &e) == 0) {
			j->result = WR_SPOOLED;
			snprintf(j->why, sizeof j->why, "%s", why);
		} else {
			j->result = WR_FAILED;
			snprintf(j->why, sizeof j->why, "%s; %s", why, e.msg);
		}
	}
}

/* 0 when the batch committed, -1 when it went to the spool (or failed). */
static int commit_batch(struct writer *w, struct job *list, int force_spool)
{
	size_t n = 0, i = 0;
	struct store_item *items;
	struct kv_err err;

	for (struct job *j = list; j; j = j->next)
		n += j->raw != NULL;
	if (n == 0)
		return 0;
	items = kv_xcalloc(n, sizeof *items);
	for (struct job *j = list; j; j = j->next) {
		if (!j->raw)
			continue;   /* could not be read back (read_back logged it) */
		items[i].raw = j->raw;
		items[i].len = j->len;
		items[i].arrival = j->arrival;
		items[i].parsed = j->parsed;
		i++;
	}
	if (add_batch(w, items, n, &err) < 0) {
		log_err("store write failed for %zu mail(s): %s", n, err.msg);
		spool_batch(w, list, err.msg, force_spool);
		free(items);
		return -1;
	}
	i = 0;
	for (struct job *j = list; j; j = j->next) {
		if (!j->raw)
			continue;
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
			if (spool_write(&w->spool, j->raw, j->len, "skipped", &e) < 0)
				log_warn("%s", e.msg);
			j->result = WR_SKIPPED;
			break;
		}
		default:
			kv_panic("store_add_batch left item %zu with status %d", i, (int)items[i].status);
		}
		i++;
	}
	free(items);
	return 0;
}

/* The journal file a job went to (mu held): the current one unless the
 * journal switched since. */
static struct journal_file *job_file(struct writer *w, const struct job *j)
{
	return j->jgen == w->jgen ? &w->cur : &w->other;
}

/* Read the journaled mails of list that are not in memory back from the
 * journal (their records stay until they are committed). */
static void read_back(struct writer *w, struct job *list)
{
	for (struct job *j = list; j; j = j->next) {
		struct journal_file f;
		struct kv_err e;
		if (j->raw)
			continue;
		/* A copy: the fields read do not change while the record is
		 * not committed (a file is swapped or started over only once
		 * everything in it is). */
		pthread_mutex_lock(&w->mu);
		f = *job_file(w, j);
		pthread_mutex_unlock(&w->mu);
		j->raw = kv_xmalloc(j->len ? j->len : 1);
		if (journal_read(&f, j->joff, j->raw, j->len, &e) < 0) {
			snprintf(j->why, sizeof j->why, "%s", e.msg);
			log_err("%s", j->why);
			j->result = WR_FAILED;
			free(j->raw);
			j->raw = NULL;
		}
	}
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
		log_err("queue id %s: <%s> NOT recorded (%s); %s", q, m, j->why, WRITER_RECOVER_HINT);
		break;
	case WR_JOURNALED:
		break;
	}
}

/* Write the group at the journal's offset and sync it. 0 / -1 (journal
 * unusable). Called by the journal thread only, without mu. */
static int journal_append(struct writer *w, struct job *list)
{
	struct kv_err e;
	int64_t t;

	for (struct job *j = list; j; j = j->next) {
		if (journal_write(&w->cur, w->joff, w->jepoch, j->raw, j->len, &e) < 0) {
			log_err("%s", e.msg);
			return -1;
		}
		w->joff += JOURNAL_HDR + j->len;
	}
	t = now_us();
	for (struct job *j = list; j; j = j->next)
		j->t_written = t;
	if (fdatasync(w->cur.fd) < 0) {
		log_err("cannot sync journal %s: %s", w->cur.path, strerror(errno));
		return -1;
	}
	t = now_us();
	for (struct job *j = list; j; j = j->next)
		j->t_synced = t;
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
			int64_t due = now_ms() + (w->store ? REPLAY_RETRY_MS : w->store_retry_ms);
			ts.tv_sec = (time_t)(due / 1000);
			ts.tv_nsec = (long)(due % 1000) * 1000000L;
			pthread_cond_timedwait(&w->store_cv, &w->mu, &ts);
			if (!w->store && w->store_open && now_ms() - w->last_open_ms >= w->store_retry_ms)
				break;
			if (!w->shead && (w->spool_pending || w->spool_pending_new) &&
			    now_ms() - w->last_replay_ms >= REPLAY_RETRY_MS)
				break;
		}
		if (!w->shead && w->sstop)
			break;
		if (w->shead && !w->sstop && !w->jwaiting) {
			/* Safe in the journal meanwhile: wait for a pause
			 * (see STORE_QUIET_MS). */
			int64_t latest = now_ms() + STORE_MAX_DELAY_MS;
			for (;;) {
				int64_t due = w->last_arrival_ms + STORE_QUIET_MS;
				struct timespec ts;
				if (due > latest)
					due = latest;
				if (w->sstop || w->jwaiting || w->sbytes >= w->jsize || now_ms() >= due)
					break;
				ts.tv_sec = (time_t)(due / 1000);
				ts.tv_nsec = (long)(due % 1000) * 1000000L;
				pthread_cond_timedwait(&w->store_cv, &w->mu, &ts);
			}
		}
		list = w->shead;
		w->shead = NULL;
		w->stail = &w->shead;
		w->sbytes = 0;
		pthread_mutex_unlock(&w->mu);
		/* a store that just opened: its spool is replayed below at once */
		int opened = try_open_store(w);
		pthread_mutex_lock(&w->mu);
		pending = w->spool_pending || w->spool_pending_new;
		w->spool_pending_new = 0;
		pthread_mutex_unlock(&w->mu);

		int failed = 0;
		/* In transactions of at most STORE_CHUNK mails and
		 * STORE_CHUNK_BYTES: a backlog parsed at once would need fresh
		 * memory for all of it. */
		for (struct job *c = list; c;) {
			struct job *last = c, *rest;
			size_t bytes = c->len;
			for (int k = 1; k < STORE_CHUNK && last->next &&
			     bytes + last->next->len <= STORE_CHUNK_BYTES; k++) {
				last = last->next;
				bytes += last->len;
			}
			rest = last->next;
			last->next = NULL;
			read_back(w, c);
			failed |= commit_batch(w, c, 1) < 0;
			for (struct job *j = c; j; j = j->next) {
				free(j->raw);
				j->raw = NULL;
			}
			last->next = rest;
			c = rest;
		}
		for (struct job *j = list; j; j = j->next, n++)
			log_outcome(j);
		if (pending && !failed &&
		    (opened || now_ms() - w->last_replay_ms >= (list ? 0 : REPLAY_RETRY_MS))) {
			struct kv_err e;
			struct store *st = cur_store(w, &e);
			w->last_replay_ms = now_ms();
			if (st && spool_replay(&w->spool, st, &e) >= 0)
				pending = 0;
			else if (st)
				log_warn("spool replay failed: %s", e.msg);
		}

		pthread_mutex_lock(&w->mu);
		if (failed)
			pending = 1;
		w->spool_pending = pending || w->spool_pending_new;
		w->spool_pending_new = 0;
		/* Committed or spooled (or logged as lost): the journal may
		 * forget them. */
		for (struct job *j = list; j; j = j->next)
			job_file(w, j)->committed++;
		pthread_cond_broadcast(&w->caught_cv);
		for (struct job *j = list, *next; j; j = next) {
			next = j->next;
			job_unref(j);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Before more records go to the journal (mu held): switch to the other
 * file when this one is past its zero-filled part and the other is all in
 * the store; hurry the store while past it; start over at 0 in a new epoch
 * once the store has everything (what follows the new end is left-overs). */
static void journal_roll(struct writer *w)
{
	if (w->joff >= w->jsize && w->cur.committed < w->cur.appended &&
	    w->other.fd >= 0 && w->other.committed == w->other.appended) {
		struct journal_file t = w->cur;
		w->cur = w->other;
		w->other = t;
		w->cur.appended = w->cur.committed = 0;
		w->jbytes = 0;
		w->joff = 0;
		w->jepoch++;
		w->jgen++;
	}
	if (w->joff >= w->jsize && w->cur.committed < w->cur.appended) {
		/* Past the zero-filled part each sync also commits metadata:
		 * hurry the store (no gathering) so that a switch or a start
		 * over comes soon. */
		if (!w->jwaiting) {
			w->jwaiting = 1;
			pthread_cond_signal(&w->store_cv);
		}
	} else {
		w->jwaiting = 0;
	}
	if (w->cur.committed == w->cur.appended && w->joff > 0) {
		w->joff = 0;
		w->jepoch++;
		w->cur.appended = w->cur.committed = 0;
		w->jbytes = 0;
		pthread_cond_broadcast(&w->caught_cv);
	}
}

/* Take a whole list off a queue (mu held). */
static struct job *take(struct job **head, struct job ***tail)
{
	struct job *list = *head;
	*head = NULL;
	*tail = head;
	return list;
}

/* Journaled jobs move on to the store thread (mu held). It is woken only
 * when it has to act: its queue was empty (it then sleeps for up to
 * REPLAY_RETRY_MS) or the backlog just reached journal_size. While it
 * waits for a pause it wakes by its own deadline; a signal per group
 * would cost a context switch each time and change nothing. */
static void to_store(struct writer *w, struct job *list)
{
	int was_empty = w->shead == NULL, was_below = w->sbytes < w->jsize;

	*w->stail = list;
	while (*w->stail) {
		w->sbytes += (*w->stail)->len;
		w->stail = &(*w->stail)->next;
	}
	if (was_empty || (was_below && w->sbytes >= w->jsize))
		pthread_cond_signal(&w->store_cv);
}

/* Jobs that are not journaled go to the store (or the spool) now, before
 * their submitters get the answer; called without mu. */
static void direct_batch(struct writer *w, struct job *list)
{
	commit_batch(w, list, 0);
	for (struct job *j = list; j; j = j->next)
		log_outcome(j);
	pthread_mutex_lock(&w->mu);
	for (struct job *j = list; j; j = j->next)
		j->state = JOB_DONE;
	pthread_cond_broadcast(&w->done_cv);
	for (struct job *j = list, *next; j; j = next) {
		next = j->next;
		job_unref(j);
	}
	pthread_mutex_unlock(&w->mu);
}

/* Sync after the answer: the end-of-message threads wrote their records
 * themselves (writer_submit); this thread flushes them, a group per
 * fdatasync, and hands them to the store thread. Jobs on the other queue
 * (no usable journal) are recorded directly. */
static void *flusher_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *flist, *dlist;
		struct journal_file f1 = { .fd = -1 }, f2 = { .fd = -1 };

		while (!w->fhead && !w->head && !w->stop)
			pthread_cond_wait(&w->work_cv, &w->mu);
		if (!w->fhead && !w->head && w->stop)
			break;
		if (w->fhead && !w->head && !w->stop) {
			/* At most one flush per flush_gap_ms. Each one costs
			 * about 0.3 ms of CPU here (block requests, the
			 * virtual disk's cache flush) and delays the MTA's own
			 * queue-file syncs: at 10 ms the milter took 0.13 ms
			 * more CPU per 8 KB mail than at 200 ms under the
			 * bench's load. */
			struct timespec ts;
			int64_t due = w->last_flush_us + (int64_t)w->flush_gap_ms * 1000;
			ts.tv_sec = (time_t)(due / 1000000);
			ts.tv_nsec = (long)(due % 1000000) * 1000;
			while (!w->head && !w->stop &&
			       pthread_cond_timedwait(&w->work_cv, &w->mu, &ts) == 0)
				;
		}
		flist = take(&w->fhead, &w->ftail);
		dlist = take(&w->head, &w->tail);
		if (w->cur.dirty)
			f1 = w->cur;
		if (w->other.dirty)
			f2 = w->other;
		w->cur.dirty = w->other.dirty = 0;
		w->groups += flist != NULL;
		pthread_mutex_unlock(&w->mu);

		if (flist) {
			int64_t t;
			/* On failure they are still in the kernel and go to the
			 * store next, whose commit syncs them. */
			if (f1.fd >= 0 && fdatasync(f1.fd) < 0)
				log_err("cannot sync journal %s: %s", f1.path, strerror(errno));
			if (f2.fd >= 0 && fdatasync(f2.fd) < 0)
				log_err("cannot sync journal %s: %s", f2.path, strerror(errno));
			t = now_us();
			w->last_flush_us = t;
			for (struct job *j = flist; j; j = j->next)
				j->t_synced = t;
		}
		if (dlist)
			direct_batch(w, dlist);

		pthread_mutex_lock(&w->mu);
		for (struct job *j = flist; j; j = j->next) {
			timing_add(w, j);
			j->state = JOB_DONE;
		}
		if (flist)
			to_store(w, flist);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Sync before the answer: write every queued job to the journal with one
 * fdatasync for the group, then wake the submitters. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *list;
		size_t n = 0;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->work_cv, &w->mu);
		if (!w->head && w->stop)
			break;
		journal_roll(w);
		/* Under a sustained overload the journal stays bounded. */
		while (w->joff >= w->jsize && w->jbytes > JOURNAL_SOFT_MAX(w) &&
		       w->cur.committed < w->cur.appended)
			pthread_cond_wait(&w->caught_cv, &w->mu);
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
		journal_roll(w);
		list = take(&w->head, &w->tail);
		int64_t tp = now_us();
		for (struct job *j = list; j; j = j->next, n++) {
			j->state = JOB_COMMITTING;
			j->t_pick = tp;
			j->jgen = w->jgen;
		}
		w->groups++;
		pthread_mutex_unlock(&w->mu);

		if (w->cur.fd < 0 || journal_append(w, list) < 0) {
			/* No journal: the store (or the spool) before the answer. */
			direct_batch(w, list);
			pthread_mutex_lock(&w->mu);
			continue;
		}

		pthread_mutex_lock(&w->mu);
		w->cur.appended += n;
		for (struct job *j = list; j; j = j->next) {
			w->jbytes += JOURNAL_HDR + j->len;
			j->result = WR_JOURNALED;
			j->state = JOB_DONE;
		}
		pthread_cond_broadcast(&w->done_cv);
		/* The whole group moves on to the store thread. */
		to_store(w, list);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Record what a previous run left in journal file f, then empty it; sets
 * w->jkeep when its mails could be placed neither in the store nor in
 * the spool (the file must then stay as it is). */
static void journal_replay(struct writer *w, const struct journal_file *f)
{
	struct journal_scan sc = JOURNAL_SCAN_INIT;
	char *data;
	size_t len, nrec = 0;
	struct kv_err err;

	if (kv_read_file(f->path, &data, &len, &err) < 0) {
		log_warn("journal replay: %s", err.msg);
		return;
	}
	for (;;) {
		struct store_item items[REPLAY_BATCH];
		size_t k = 0;
		memset(items, 0, sizeof items);
		while (k < REPLAY_BATCH) {
			const char *rec;
			size_t rlen;
			if (!journal_next(data, len, &sc, &rec, &rlen))
				break;
			items[k].raw = (char *)rec;
			items[k].len = rlen;
			items[k].arrival = (int64_t)time(NULL);
			k++;
		}
		if (k == 0)
			break;
		if (add_batch(w, items, k, &err) < 0) {
			log_err("journal replay: store write failed: %s; spooling", err.msg);
			for (size_t i = 0; i < k; i++) {
				struct kv_err e;
				if (spool_write(&w->spool, items[i].raw, items[i].len, "new", &e) < 0) {
					log_err("journal replay: %s; journal kept", e.msg);
					free(data);
					w->jkeep = 1;
					return;
				}
			}
			w->spool_pending = 1;
		}
		nrec += k;
	}
	free(data);
	if (nrec > 0)
		log_info("journal replay: %zu mail(s) from %s", nrec, f->path);
}

/* Open journal file f at path, replay what it holds and zero-fill it.
 * f->fd is -1 when it cannot be used (logged). */
static void journal_setup(struct writer *w, struct journal_file *f, const char *path)
{
	memset(f, 0, sizeof *f);
	f->path = kv_xstrdup(path);
	f->fd = open(f->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		log_warn("cannot open journal %s: %s", f->path, strerror(errno));
		return;
	}
	w->jkeep = 0;
	journal_replay(w, f);
	if (w->jkeep) {
		/* Its mails are neither in the store nor the spool: keep
		 * them for the next start. */
		close(f->fd);
		f->fd = -1;
	} else {
		uint64_t room;
		if (journal_prealloc_fit(f, w->jsize, &room) < 0) {
			log_err("cannot prepare journal %s: %s (%llu KB free on its file system, "
				"at least %u KB needed): this journal is not used", f->path, strerror(errno),
				(unsigned long long)(room >> 10), 4 * JOURNAL_SIZE_MIN >> 10);
			close(f->fd);
			f->fd = -1;
		} else if (f->size < w->jsize) {
			log_warn("journal %s: %llu KB instead of %llu KB, the disk is nearly full "
				 "(%llu KB free): free some space and restart the milter", f->path,
				 (unsigned long long)(f->size >> 10), (unsigned long long)(w->jsize >> 10),
				 (unsigned long long)(room >> 10));
		}
	}
}

static void journal_file_close(struct journal_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->path);
	f->path = NULL;
}

int writer_start(struct writer **wp, struct store *s, const struct writer_opts *o, struct kv_err *err)
{
	struct writer *w = kv_xcalloc(1, sizeof *w);
	pthread_condattr_t ca;
	char *path;
	long n;

	w->store = s;
	w->store_open = o->store_open;
	w->store_open_ctx = o->store_open_ctx;
	w->store_retry_ms = o->store_retry_ms > 0 ? o->store_retry_ms : STORE_RETRY_DEFAULT_MS;
	w->last_open_ms = now_ms();
	snprintf(w->store_why, sizeof w->store_why, "%s", o->store_why ? o->store_why : "not given");
	w->spool_on_error = o->spool_on_error;
	w->commit_interval_ms = o->commit_interval_ms;
	w->wait_ms = o->wait_ms > 0 ? o->wait_ms : 5000;
	w->after = o->sync_after_answer;
	w->flush_gap_ms = o->flush_interval_ms >= 0 ? o->flush_interval_ms : FLUSH_INTERVAL_DEFAULT_MS;
	w->jsize = o->journal_size ? o->journal_size : JOURNAL_SIZE_DEFAULT;
	w->tail = &w->head;
	w->stail = &w->shead;
	w->ftail = &w->fhead;
	w->cur.fd = w->other.fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_mutex_init(&w->wmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work_cv, &ca);
	pthread_cond_init(&w->done_cv, &ca);
	pthread_cond_init(&w->store_cv, &ca);
	pthread_cond_init(&w->caught_cv, &ca);
	pthread_condattr_destroy(&ca);

	if (spool_open(&w->spool, o->spool_dir, err) < 0) {
		free(w);
		return -1;
	}
	path = kv_xasprintf("%s/journal", w->spool.dir);
	journal_setup(w, &w->cur, path);
	free(path);
	path = kv_xasprintf("%s/journal.1", w->spool.dir);
	journal_setup(w, &w->other, path);
	free(path);
	if (w->cur.fd < 0 && w->other.fd >= 0) {
		struct journal_file t = w->cur;
		w->cur = w->other;
		w->other = t;
	}
	/* the files may have got less than asked for (a nearly full disk):
	 * the smaller one sets the pace of switching and catching up */
	if (w->cur.fd >= 0 && w->cur.size < w->jsize)
		w->jsize = w->cur.size;
	if (w->other.fd >= 0 && w->other.size < w->jsize)
		w->jsize = w->other.size;
	if (w->cur.fd < 0)
		log_warn("no usable journal in %s: mails go to the store before the answer "
			 "(and to the spool when it fails)", w->spool.dir);
	w->jepoch = 1;
	n = s ? spool_replay(&w->spool, s, err) : -1;
	if (!s) {
		log_err("the store is not open (%s): mails are kept in the spool %s and "
			"recorded when it opens (tried every %d s)", w->store_why, w->spool.dir,
			(w->store_retry_ms + 999) / 1000);
		w->spool_pending = 1;
		w->last_replay_ms = now_ms();
	} else if (n < 0) {
		log_warn("spool replay at start failed: %s (retried later)", err->msg);
		w->spool_pending = 1;
		w->last_replay_ms = now_ms();
	}
	if (pthread_create(&w->sthread, NULL, store_main, w) != 0 ||
	    pthread_create(&w->thread, NULL, w->after ? flusher_main : writer_main, w) != 0) {
		kv_err_set(err, "cannot start the writer threads");
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	journal_file_close(&w->cur);
	journal_file_close(&w->other);
	spool_close(&w->spool);
	free(w);
	return -1;
}

/*
 * Sync after the answer: the end-of-message thread writes its own record
 * (in order: one writer at a time), so the answer waits for no other
 * thread and no disk, only for the copy into the kernel; the journal
 * thread's fdatasync follows at once. 1 when j is written and queued for
 * that sync, 0 when the caller must take the waiting path (no usable
 * journal, or the journal full until deadline).
 */
static int journal_direct(struct writer *w, struct job *j, const struct timespec *deadline)
{
	uint64_t off, epoch;
	struct journal_file f;
	struct kv_err e;
	int rc = 0, ok;

	pthread_mutex_lock(&w->wmu);
	pthread_mutex_lock(&w->mu);
	w->last_arrival_ms = now_ms();
	journal_roll(w);
	while (w->cur.fd >= 0 && !w->jbroken && w->joff >= w->jsize &&
	       w->jbytes > JOURNAL_SOFT_MAX(w) && w->cur.committed < w->cur.appended && rc == 0) {
		rc = pthread_cond_timedwait(&w->caught_cv, &w->mu, deadline);
		journal_roll(w);
	}
	if (w->cur.fd < 0 || w->jbroken || rc != 0) {
		pthread_mutex_unlock(&w->mu);
		pthread_mutex_unlock(&w->wmu);
		return 0;
	}
	/* Only this path rolls the journal (under wmu), so the file and
	 * the offset stay this record's until it is written. */
	off = w->joff;
	epoch = w->jepoch;
	f = w->cur;
	j->jgen = w->jgen;
	w->joff += JOURNAL_HDR + j->len;
	w->cur.appended++;
	w->jbytes += JOURNAL_HDR + j->len;
	j->t_pick = now_us();
	pthread_mutex_unlock(&w->mu);

	ok = journal_write(&f, off, epoch, j->raw, j->len, &e) == 0;
	if (!ok)
		log_err("%s", e.msg);
	j->t_written = now_us();

	if (ok) {
		/* The same heap memory serves the next mail. */
		j->joff = off + JOURNAL_HDR;
		free(j->raw);
		j->raw = NULL;
	}
	pthread_mutex_lock(&w->mu);
	if (ok) {
		/* The flusher needs a signal only when it sleeps without a
		 * deadline, i.e. its queue was empty: otherwise it is waiting
		 * for the end of its flush_gap_ms and takes this job along. */
		int flusher_idle = w->fhead == NULL;
		w->cur.dirty = 1;
		j->result = WR_JOURNALED;
		*w->ftail = j;
		w->ftail = &j->next;
		if (flusher_idle)
			pthread_cond_signal(&w->work_cv);
	} else {
		/* Nothing follows it (writes are in order): take the place
		 * back; a torn record ends a replay there. */
		w->joff = off;
		w->cur.appended--;
		w->jbytes -= JOURNAL_HDR + j->len;
		w->jbroken = 1;
		log_err("journal %s is not used again until restart: mails go to the store "
			"before the answer", w->cur.path);
	}
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_unlock(&w->wmu);
	return ok;
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
	j->t_q = now_us();

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += w->wait_ms / 1000;
	ts.tv_nsec += (long)(w->wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}

	if (w->after && journal_direct(w, j, &ts)) {
		pthread_mutex_lock(&w->mu);
		job_unref(j);
		pthread_mutex_unlock(&w->mu);
		*num = 0;
		if (whylen > 0)
			why[0] = '\0';
		return WR_JOURNALED;
	}

	pthread_mutex_lock(&w->mu);
	w->last_arrival_ms = now_ms();
	*w->tail = j;
	w->tail = &j->next;
	pthread_cond_signal(&w->work_cv);
	while (j->state != JOB_DONE && rc == 0)
		rc = pthread_cond_timedwait(&w->done_cv, &w->mu, &ts);
	if (j->state == JOB_DONE) {
		r = j->result;
		if (r == WR_JOURNALED)
			timing_add(w, j);
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
		if (spool_write(&w->spool, j->raw, j->len, "new", &e) == 0) {
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
		log_err("queue id %s: <%s> NOT recorded (%s); %s", qid ? qid : "NOQUEUE",
			msgid ? msgid : "(none)", why, WRITER_RECOVER_HINT);
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
	timing_log(w);
	latency_release(&w->tq);
	latency_release(&w->tw);
	latency_release(&w->ts);
	latency_release(&w->tk);
	journal_file_close(&w->cur);
	journal_file_close(&w->other);
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_destroy(&w->wmu);
	pthread_cond_destroy(&w->work_cv);
	pthread_cond_destroy(&w->done_cv);
	pthread_cond_destroy(&w->store_cv);
	pthread_cond_destroy(&w->caught_cv);
	spool_close(&w->spool);
	if (w->own_store)
		store_close(w->store);
	free(w);
}
