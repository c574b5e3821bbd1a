/*
 * writer.h - the milter's path to durable storage. End-of-message
 * handlers queue a mail and wait; a journal thread writes everything
 * queued to the journal (two zero-filled files, written in place, see
 * journal.h) with one fdatasync for the group and wakes them; a store
 * thread then records the journaled mails with store_add_batch (in a
 * pause of the arrivals, see writer.c) and lets the journal start over.
 * When the store cannot take a batch, each mail goes to the spool
 * (spool.h), replayed into the store at start and whenever a later
 * commit shows the store writable; the journal is replayed at start too.
 *
 * Thread-safe: writer_submit may be called from any number of threads.
 */
#ifndef KV_MILTER_WRITER_H
#define KV_MILTER_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"
#include "mime.h"

struct store;
struct writer;

/* What became of one submitted mail. */
enum writer_result {
	WR_STORED = 1,   /* recorded in the store (committed) */
	WR_DUPLICATE,    /* the same mail was already stored */
	WR_SPOOLED,      /* store failed; the raw mail is in the spool (durable) */
	WR_SKIPPED,      /* the store says it is not a mail; kept in spool/skipped */
	WR_FAILED,       /* neither store nor spool took it (why says why) */
	WR_JOURNALED,    /* synced to the journal; the store thread records it next */
};

/* Default of writer_opts.flush_interval_ms (and of the journal_flush_ms
 * setting). */
#define FLUSH_INTERVAL_DEFAULT_MS 100

struct writer_opts {
	const char *spool_dir;     /* created when missing (with tmp/ new/ skipped/) */
	int spool_on_error;        /* 0: a failed batch is not spooled (on_error=tempfail) */
	int commit_interval_ms;    /* gather this long after the first queued mail; 0 = no wait */
	int wait_ms;               /* longest a submitter waits for the commit before spooling itself */
	uint64_t journal_size;     /* bytes each of the two journal files is zero-filled to; 0: 16 MB */
	int sync_after_answer;     /* 1: answer once the journal write is in the kernel and
				    * fdatasync right after, in the background (see writer.c) */
	int flush_interval_ms;     /* with sync_after_answer: at most one fdatasync per this
				    * many ms (a mail after a quiet spell is synced at once);
				    * < 0: FLUSH_INTERVAL_DEFAULT_MS */
	/* When the store cannot be opened at start (s NULL in writer_start):
	 * why (for the log), and how to try again: store_open is called by
	 * the store thread every store_retry_ms (0: STORE_RETRY_DEFAULT_MS)
	 * until it succeeds; meanwhile every mail goes to the spool, which is
	 * replayed as soon as the store opens. The writer owns a store it
	 * opened (closed by writer_stop). */
	const char *store_why;
	int (*store_open)(void *ctx, struct store **s, struct kv_err *err);
	void *store_open_ctx;
	int store_retry_ms;
};
#define STORE_RETRY_DEFAULT_MS 30000

/*
 * Start the writer thread on store s (which must stay open until
 * writer_stop; NULL: closed, see store_open above). Replays what a previous run left in the journal and the
 * spool first (synchronously, so they are recorded before the first new
 * mail). -1 with err when the spool directory cannot be made.
 */
int writer_start(struct writer **wp, struct store *s, const struct writer_opts *o, struct kv_err *err);

/*
 * Hand over one mail and wait until it is durable: normally synced to the
 * journal (WR_JOURNALED; the store thread records it and logs the
 * outcome), else recorded or spooled directly; after wait_ms the caller's
 * copy is spooled here. raw is taken over (malloc'd, freed by the
 * writer); qid and msgid (may be NULL) are copied for the log lines. *num
 * gets the message number for STORED / DUPLICATE; why
 * (2 * KV_ERR_MAX + 8 bytes) a reason for the others. Every outcome but
 * WR_JOURNALED is logged by the writer.
 */
enum writer_result writer_submit(struct writer *w, char *raw, size_t len, int64_t arrival,
				 const char *qid, const char *msgid,
				 uint64_t *num, char *why, size_t whylen);

/* Finish everything queued, commit, stop the thread, free w. */
void writer_stop(struct writer *w);

#endif
