/*
 * spool.h - where the milter keeps mails the store could not take: a
 * maildir-like directory (tmp/, new/, skipped/). A mail is written to
 * tmp/, fsynced, renamed into new/ (or skipped/) and the directory
 * fsynced, so it is durable when spool_write returns. spool_replay records
 * what new/ holds in the store and deletes each file only after its batch
 * committed; a crash in between leaves it to the next replay, where the
 * store recognises a duplicate.
 *
 * Thread-safe: spool_write may be called from any number of threads (file
 * names are unique per process); spool_replay from one thread at a time.
 */
#ifndef KV_MILTER_SPOOL_H
#define KV_MILTER_SPOOL_H

#include <stddef.h>
#include "kv.h"

struct store;

struct spool {
	char *dir;                   /* malloc'd */
	unsigned long long seq;      /* file names; atomic */
};

/* Make dir and its tmp/ new/ skipped/ when missing (mode 0700) and fill
 * sp. 0 / -1 with err (nothing to release then). */
int spool_open(struct spool *sp, const char *dir, struct kv_err *err);

/* Free what spool_open allocated. */
void spool_close(struct spool *sp);

/* Write raw[0..len) into the subdirectory sub ("new" or "skipped"; NULL
 * means "new") durably. 0 / -1 with err (no file left behind). */
int spool_write(struct spool *sp, const char *raw, size_t len, const char *sub,
		struct kv_err *err);

/* Record new/ into store s, in batches; a file the store refuses as not a
 * mail moves to skipped/. The number recorded, or -1 with err when the
 * directory cannot be read or a batch failed (its files stay). */
long spool_replay(struct spool *sp, struct store *s, struct kv_err *err);

#endif
