/*
 * journal.h - the milter's journal files: the record format, its CRC, the
 * zero-filling of a file, writing and reading back one record, and the
 * replay scan that tells where a previous run's records end. Only the
 * format and the file I/O live here; when to write, switch files or start
 * over is the writer's business (writer.c), and so is recording a
 * replayed journal in the store.
 *
 * A record is a 24-byte header, then the mail:
 *   "KVJ2", the mail's length (8 bytes), the epoch (8 bytes), a CRC-32 of
 *   length, epoch and mail (4 bytes); integers little-endian.
 * A file is written in place from offset 0 over zeros and starts over at 0
 * with a new epoch once the store has everything in it: overwriting
 * allocated blocks lets fdatasync skip the file system's metadata commit
 * (an appended or truncated file's size must be committed with it, and
 * that commit queues behind the store's own syncs: several ms). So a scan
 * reads records while the epoch is the first record's and the CRC holds;
 * anything after is left over from an earlier epoch, or torn. "KVJ1" is
 * the earlier append-only format (a 12-byte header: magic and length, no
 * epoch, no CRC), still replayed.
 *
 * The functions keep no state of their own: thread safety is the
 * caller's (the writer guards a journal_file's counters with its mutex).
 */
#ifndef KV_MILTER_JOURNAL_H
#define KV_MILTER_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"

#define JOURNAL_MAGIC "KVJ2"
#define JOURNAL_MAGIC1 "KVJ1"
#define JOURNAL_HDR 24
#define JOURNAL_HDR1 12
/* Each journal file is zero-filled to writer_opts.journal_size at start
 * (this when 0) so that its usual size needs no allocation later; it
 * grows past it when needed. */
#define JOURNAL_SIZE_DEFAULT (16u << 20)
/* On a nearly full disk a journal gets halved down to this size, and
 * takes at most a quarter of the free space (see journal_prealloc_fit). */
#define JOURNAL_SIZE_MIN (64u << 10)

/* One journal file. The writer has two and swaps them whole: one takes
 * new records while the store catches up on the other. */
struct journal_file {
	int fd;                       /* -1 when unusable */
	char *path;                   /* malloc'd; for open and log lines */
	uint64_t appended, committed; /* records written / recorded in the store
				       * since the file last started over */
	int dirty;                    /* written since its last fdatasync */
	uint64_t size;                /* zero-filled size; 0 when not prepared */
};

/* Fill hdr with the record header of raw[0..len) in epoch. */
void journal_encode_header(unsigned char hdr[JOURNAL_HDR], uint64_t epoch,
			   const char *raw, size_t len);

/* Write one record (header and raw) at off of f. 0 / -1 with err. */
int journal_write(const struct journal_file *f, uint64_t off, uint64_t epoch,
		  const char *raw, size_t len, struct kv_err *err);

/* Read len bytes at off of f into buf (a record's mail, read back for the
 * store). 0 / -1 with err (an I/O error or a file shorter than that). */
int journal_read(const struct journal_file *f, uint64_t off, char *buf, size_t len,
		 struct kv_err *err);

/* Empty f and zero-fill it to size bytes, then fsync; f->size = size.
 * 0 / -1 with errno (ENOSPC for a short write); on failure f is emptied
 * again, so a failed attempt leaves no space taken. */
int journal_prealloc(struct journal_file *f, uint64_t size);
/* journal_prealloc with the largest size that fits: want, halved while
 * it is more than a quarter of the room on f's file system (free space
 * plus what f holds, into *room) or while filling fails for want of
 * space, down to JOURNAL_SIZE_MIN. 0 with f->size set / -1 with errno
 * (ENOSPC when even the smallest does not fit). */
int journal_prealloc_fit(struct journal_file *f, uint64_t want, uint64_t *room);

/* A scan over a journal file's contents, from the start. */
struct journal_scan {
	size_t off;       /* where the next record starts */
	int fmt;          /* 0 until the first record: 1 (KVJ1) or 2 (KVJ2) */
	uint64_t epoch;   /* KVJ2: the first record's epoch */
};
#define JOURNAL_SCAN_INIT { 0, 0, 0 }

/*
 * The next record of data[0..len): 1 with *rec and *rlen (a view into
 * data) and sc advanced; 0 at the end: zeros, a record of another epoch or
 * format, a torn record (shorter than its length says) or one whose CRC
 * does not hold. Once it has returned 0 it keeps returning 0.
 */
int journal_next(const char *data, size_t len, struct journal_scan *sc,
		 const char **rec, size_t *rlen);

#endif
