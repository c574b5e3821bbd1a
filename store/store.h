/*
 * store.h - the thread store: every list mail recorded once, its raw bytes
 * kept exactly, threaded incrementally, indexed by date, linked into patch
 * series. The LMDB layer (db.c) is the only user of lmdb.h; this is the
 * interface the CLI, the milter and the reporter use.
 *
 * Model
 *  - A message has a number (uint64, from 1, like an archive's article
 *    number), a record (parsed headers, flags), its raw bytes, its body text.
 *  - Identity: a message is "the same" as a stored one when Message-ID and
 *    the bytes after the header block are equal (so one mail delivered twice,
 *    with different Received lines, is stored once); two different messages
 *    with one Message-ID are both kept.
 *  - Threads are the connected components of the graph whose nodes are
 *    Message-IDs (seen, or referenced but not seen: ghosts) and whose edges
 *    join a message to its In-Reply-To and References. So the partition does
 *    not depend on arrival order; a late parent joins its replies' thread,
 *    and a message that links two threads merges them.
 *  - A thread's root: the earliest member whose In-Reply-To/References name
 *    no stored message; the earliest member when every member has one.
 *    Its subject and category are the thread's.
 *  - A series groups threads whose root is a patch (cover letter or lone
 *    patch, not a reply): same change-id trailer, a "Link to vN" to another
 *    version's message, or same author address + normalised title +
 *    project tag. A thread knows its series; the series knows its versions.
 *
 * Ownership: structs named *_rec returned by reader functions are views into
 * the database; their pointers stay valid until store_reader_end().
 * Concurrency: any number of readers (each in its own thread) and writers
 * in any thread; writes are serialised; readers never block writers.
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"
#include "mime.h"

/* 3: the word index with its numbers in varint blocks (index_db.c); 2 was
 * the index as one LMDB duplicate per number. A schema 1 or 2 store opens
 * (the milter keeps recording into it) but has no index until
 * `kvmarm-store reindex`. */
#define STORE_SCHEMA_VERSION 3
/* 4: schema 3 with every message's phrase pairs (pairs.c), set by the
 * reindex batch that completes them: a program that does not know the
 * pairs would add mail without them, so it refuses the store instead. */
#define STORE_SCHEMA_PAIRS 4

struct store;
struct store_reader;

enum store_open_flags {
	STORE_RDONLY = 1u << 0,   /* open read-only; the directory must exist */
	STORE_CREATE = 1u << 1,   /* create the directory and database if missing */
};

/* Open (or create) the store in directory dir. -1 with err naming dir. */
int store_open(struct store **sp, const char *dir, unsigned flags, struct kv_err *err);
/* The same with the initial map size in bytes (0: 256 MB); the map still
 * grows by itself when full. For tests and small installations. */
int store_open_mapsize(struct store **sp, const char *dir, unsigned flags, size_t mapsize,
		       struct kv_err *err);
void store_close(struct store *s);
const char *store_path(const struct store *s);

/* ---- writing ---- */

enum store_item_status {
	STORE_ADDED = 1,      /* new message recorded */
	STORE_DUPLICATE,      /* the same message was already stored */
	STORE_SKIPPED,        /* not a mail (item->why says why); nothing stored */
};

struct store_item {
	/* in */
	const char *raw;       /* the message bytes, exactly as received */
	size_t len;
	int64_t arrival;       /* UTC seconds; date fallback */
	const struct mail *parsed; /* optional: mime_parse() result for raw, or NULL */
	/* out */
	enum store_item_status status;
	uint64_t num;          /* message number (added or the existing duplicate) */
	unsigned flags;        /* enum mail_flag bits of the parse */
	char why[256];         /* for STORE_SKIPPED */
};

/*
 * Record items[0..n) in one write transaction (one fsync). Each item gets a
 * status; an item that is not a mail is skipped and the others go on.
 * Grows the map and retries when it is full. Returns 0 when the transaction
 * committed, -1 with err set when nothing of the batch was committed (disk
 * full, I/O error, read-only store).
 */
int store_add_batch(struct store *s, struct store_item *items, size_t n, struct kv_err *err);

/* Convenience: one message, one transaction. */
int store_add(struct store *s, const char *raw, size_t len, int64_t arrival,
	      struct store_item *out, struct kv_err *err);

/* Small side tables for the reporter ("summary", "sent", "meta"):
 * put replaces; del returns 0 even when absent. */
int store_kv_put(struct store *s, const char *table, const char *key,
		 const void *val, size_t len, struct kv_err *err);
int store_kv_del(struct store *s, const char *table, const char *key, struct kv_err *err);

/* ---- reading ---- */

/* A read snapshot. Keep it for one command or one report, no longer. */
int store_reader_begin(struct store *s, struct store_reader **rp, struct kv_err *err);
void store_reader_end(struct store_reader *r);

/* Lists stored as a sequence of NUL-terminated strings, n of them. */
struct store_strs {
	const char *p;
	uint32_t n;
};
/* Iterate: for (const char *x = l.p, i = 0; i < l.n; x += strlen(x) + 1, i++) */

struct msg_rec {
	uint64_t num;
	uint64_t thread;
	int64_t date;            /* UTC */
	int32_t tz_offset;       /* minutes east of UTC */
	uint32_t flags;          /* enum mail_flag */
	uint64_t raw_len;
	uint64_t text_len;
	const char *message_id;
	const char *in_reply_to; /* "" when none */
	const char *from_name;
	const char *from_addr;
	const char *subject;
	const char *list_id;     /* "" when none */
	struct store_strs refs;
	struct store_strs to;
	struct store_strs cc;
	struct store_strs atts;  /* "filename\tcontent-type\tsize" */
};

/* 0 found, 1 not found, -1 error. */
int store_msg_get(struct store_reader *r, uint64_t num, struct msg_rec *m, struct kv_err *err);
/* Every stored number with this Message-ID (with or without <>): fills up to
 * max into nums and the total into *n; 0 found, 1 none, -1 error. */
int store_msg_find(struct store_reader *r, const char *message_id, uint64_t *nums, size_t max,
		   size_t *n, struct kv_err *err);
/* Raw bytes / body text; views valid until store_reader_end. 0 / 1 / -1. */
int store_msg_raw(struct store_reader *r, uint64_t num, const char **data, size_t *len, struct kv_err *err);
int store_msg_text(struct store_reader *r, uint64_t num, const char **text, size_t *len, struct kv_err *err);
/* The message this one replies to: In-Reply-To if stored, else the last
 * stored id in References. *parent = number or 0 when none. */
int store_msg_parent(struct store_reader *r, const struct msg_rec *m, uint64_t *parent, struct kv_err *err);

/* Callback for iterations: return 0 to go on, non-zero to stop (that value
 * is returned by the iterator). */
typedef int (*store_msg_cb)(void *ctx, const struct msg_rec *m);

/* Messages with since <= date < until, in date order (ties by number). */
int store_iter_window(struct store_reader *r, int64_t since, int64_t until,
		      store_msg_cb cb, void *ctx, struct kv_err *err);
/* Every message in number order. */
int store_iter_all(struct store_reader *r, store_msg_cb cb, void *ctx, struct kv_err *err);

struct thread_rec {
	uint64_t id;
	uint64_t root;           /* message number of the root */
	int64_t first_date;      /* earliest member date, UTC */
	int64_t last_date;
	uint32_t count;          /* members (stored messages, not ghosts) */
	uint32_t category;       /* enum category of the root */
	uint64_t series;         /* 0 when the thread is not a patch series version */
	const char *subject;     /* root's subject, clean */
	const char *root_message_id;
};

/* 0 / 1 not found / -1. */
int store_thread_get(struct store_reader *r, uint64_t id, struct thread_rec *t, struct kv_err *err);
/* Members in date order (ties by number); *nums malloc'd, caller frees. */
int store_thread_members(struct store_reader *r, uint64_t id, uint64_t **nums, size_t *n, struct kv_err *err);
/* Every thread, in id order. */
typedef int (*store_thread_cb)(void *ctx, const struct thread_rec *t);
int store_iter_threads(struct store_reader *r, store_thread_cb cb, void *ctx, struct kv_err *err);

struct series_version {
	uint64_t thread;
	int version;
	int64_t date;            /* first date of that thread */
	const char *message_id;  /* its root */
	const char *subject;
};
struct series_rec {
	uint64_t id;
	const char *title;       /* clean title of the newest version */
	const char *author;      /* address */
	size_t nversions;
	struct series_version *versions;  /* ascending version, then date; malloc'd array
					     (strings are views): free(versions) */
};
int store_series_get(struct store_reader *r, uint64_t id, struct series_rec *sr, struct kv_err *err);

/* The kind of a lore link to id found in a root's text (the rules are in
 * store/series.c): a version link (the text says vN / previous version), a
 * plain link (a version only when the titles match), a dependency
 * ("based on", "depends on", "on top of"), or a reference that is never a
 * version (a "Link:" trailer). */
enum { SERIES_LINK_PLAIN, SERIES_LINK_VERSION, SERIES_LINK_DEP, SERIES_LINK_REF };
/* vmask: bit N set for each "vN" the text around the link names. */
int series_link_kind(const char *text, size_t len, const char *id, uint64_t *vmask);

/* The word index: 1 complete, 0 the store predates it (schema 1 or 2: run
 * `kvmarm-store reindex`), -1 error. */
int store_index_ready(struct store *s, struct kv_err *err);
/* Build the word index of a schema 1 or 2 store in place, a batch of messages
 * per write transaction; resumable (how far it got is committed with each
 * batch); the last batch sets schema 3. Then the phrase pairs, when the
 * store has none yet: their word list (the most frequent words, from the
 * word index) and each message's pairs, a batch at a time and resumable
 * too; writers add pairs once the last batch is in. progress (may be
 * NULL) after each batch, with the pass. 0 / -1. */
enum { STORE_PROGRESS_WORDS, STORE_PROGRESS_PAIRS };
typedef void (*store_progress_cb)(void *ctx, int pass, uint64_t done, uint64_t total);
int store_reindex(struct store *s, store_progress_cb progress, void *ctx, struct kv_err *err);
/* Drop the phrase pairs and their list, then store_reindex: a new list
 * from today's word frequencies. */
int store_reindex_pairs(struct store *s, store_progress_cb progress, void *ctx, struct kv_err *err);
/* STORE_PAIRS_NONE, _COMPLETE (phrase search uses them), _BUILDING (*upto
 * messages have theirs); -1. */
enum { STORE_PAIRS_NONE, STORE_PAIRS_COMPLETE, STORE_PAIRS_BUILDING };
int store_pairs_state(struct store *s, uint64_t *upto, struct kv_err *err);
/* Rebuild the message column (search's dense copy of every message's
 * date and thread, store/mcol.c) and the thread column (store/tcol.c)
 * from the tables, in one write
 * transaction: after reindex, or to repair what check found. 0 / -1. */
int store_rebuild_columns(struct store *s, struct kv_err *err);

/* Offline compaction of the store in dir: a compacted copy of the LMDB
 * file and the committed part of the data files in dir.compact, checked
 * (store_check), then swapped with dir in one rename (RENAME_EXCHANGE) and
 * the old files removed. Fails, leaving dir as it was, when a writer
 * committed meanwhile (stop the milter and the reporter first). The sizes
 * before and after (bytes) into *before, *after. 0 / -1. */
int store_compact(const char *dir, uint64_t *before, uint64_t *after, struct kv_err *err);

/* Counts for stats and health. */
struct store_counts {
	uint64_t messages, threads, ghosts, series, raw_bytes;
};
int store_counts(struct store_reader *r, struct store_counts *c, struct kv_err *err);
/* Messages dated at or after since (a digest as of its window's end
 * leaves them out of its counts). 0 / -1. */
int store_count_since(struct store_reader *r, int64_t since, uint64_t *n, struct kv_err *err);

/* Side tables: 0 found (view valid until reader end), 1 absent, -1 error. */
int store_kv_get(struct store_reader *r, const char *table, const char *key,
		 const void **val, size_t *len, struct kv_err *err);

/*
 * Verify every invariant: each message in exactly one thread, thread counts
 * and dates match their members, every index entry points at a record and
 * every record is indexed, schema version known. 0 when whole; 1 with err
 * naming the first broken invariant; -1 when the check itself failed.
 */
int store_check(struct store *s, struct kv_err *err);

/* store_check with options: STORE_CHECK_QUICK leaves out raw.dat (the raw
 * bytes, the body text and their checksums); the records' checksums are
 * verified still. Every message's checksums are verified when it has them
 * (stores written before checksums existed have none: counted in
 * st->unsummed, which is no error). st may be NULL. */
enum { STORE_CHECK_QUICK = 1u << 0 };
struct store_check_stats {
	uint64_t summed;     /* messages whose checksums were verified */
	uint64_t unsummed;   /* messages stored without checksums */
};
int store_check_opts(struct store *s, unsigned flags, struct store_check_stats *st,
		     struct kv_err *err);

#endif
