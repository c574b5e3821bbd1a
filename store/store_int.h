/*
 * store_int.h - what the store's modules share and nobody else may see: the
 * store's handle, its databases and data files, the record structs and the
 * functions one module offers the others. store.h stays the public
 * interface; only the .c files in store/ (not store/cli/) include it.
 *
 * The modules and who calls whom (no cycles):
 *   store.c   open/close, batches, side tables     -> thread, record
 *   thread.c  threading of one added message       -> series, record
 *   series.c  linking a thread into its series     -> record
 *   read.c    the read side of store.h             -> record
 *   check.c   the invariant check                  -> read, record
 *   record.c  record formats, the two data files   -> db only
 *   index.c   the word index                       -> record
 *   query.c   the query language (query.h)         -> index, read
 *   compact.c offline compaction                   -> check, record
 * (the databases and the data files are described in store.c and record.c)
 */
#ifndef KV_STORE_INT_H
#define KV_STORE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "store.h"
#include "db.h"
#include "sha256.h"

#define IDKEY_MAX 400   /* LMDB keys and dup values stop at 511 bytes */

enum {
	D_META, D_MSG, D_MID, D_IDENT, D_DATE, D_MTHR, D_NODE,
	D_TNODES, D_THREAD, D_TMEMBER, D_SERIES, D_SKEY,
	D_SUMMARY, D_SUMMARY_LAST, D_SENT, D_UMETA, D_TERM, D_MCOL, D_TCOL, D_COUNT
};

/* The named databases (store.c). */
struct store_dbdef {
	const char *name;
	unsigned flags;
};
extern const struct store_dbdef store_dbdefs[D_COUNT];

/* The two append-only data files (record.c). */
enum { F_RAW, F_REC, F_COUNT };
struct blob_file {
	const char *name;       /* in the store's directory */
	const char *endkey;     /* meta key holding the committed length */
};
extern const struct blob_file blob_files[F_COUNT];

struct store {
	struct db_env *env;
	char *dir;
	int rdonly;
	int fd[F_COUNT];        /* -1 when absent (empty read-only store) */
	db_dbi d[D_COUNT];
};

/* The committed part of a data file as one reader sees it. */
struct blobmap {
	const char *p;
	uint64_t len;
};

struct store_reader {
	struct store *s;
	struct db_txn *t;
	struct blobmap map[F_COUNT];  /* mapped on first use */
	int mapped[F_COUNT];
	int tcol;                     /* thread column: 0 not asked yet, 1 current, 2 not */
	struct tcol_cur *tc;          /* its cursor, when current */
	int pairs;                    /* phrase pairs: 0 not asked yet, 1 complete, 2 not */
	struct pairwords *pw;         /* their word list, when complete */
};

/* One write transaction of a batch: what thread.c and series.c work in. */
struct wctx {
	struct store *s;
	struct db_txn *t;
	struct kv_err *err;
	uint64_t next_num, next_thread, next_series, raw_bytes, ghosts;
	uint64_t end[F_COUNT], cur[F_COUNT];  /* files: committed end, where the next bytes go */
	int indexed;            /* the word index is complete: add each message's terms */
	struct pairwords *pw;   /* and with the phrase pairs complete, their word list */
	struct ixset *ix;       /* the batch's terms, written at its end (index_db.c) */
	struct mcol_batch *mc;  /* the message column's changed chunks (mcol.c) */
	struct tcol_batch *tc;  /* the thread column's chunks to build (tcol.c) */
};

/* ---- record.c: keys ---- */

/* Dates as keys: biased so that big-endian byte order is numeric order. */
static inline uint64_t date_bias(int64_t d)
{
	return (uint64_t)d ^ (1ull << 63);
}

static inline int64_t date_unbias(uint64_t u)
{
	return (int64_t)(u ^ (1ull << 63));
}

/* Two big-endian integers as one 16-byte key: (date, num), (offset, length). */
static inline void key16(unsigned char *k, uint64_t a, uint64_t b)
{
	db_be64(k, a);
	db_be64(k + 8, b);
}

/* Message-IDs become keys as they are, or hashed when too long for LMDB. */
struct idkey {
	char b[IDKEY_MAX + 1];
	size_t n;
};
void idkey_make(struct idkey *k, const char *id);

/* Numbers in meta: absent reads as 0. 0 / -1 (put: 0 / -1 / DB_FULL). */
/* The store's schema version (1 to STORE_SCHEMA_PAIRS), 0 when missing
 * or not one this program knows, -1; and setting it (0 / -1 / DB_FULL). */
int schema_get(struct db_txn *t, struct store *s, struct kv_err *err);
int schema_put(struct db_txn *t, struct store *s, int version, struct kv_err *err);
int meta_get_u64(struct db_txn *t, struct store *s, const char *name, uint64_t *out,
		 struct kv_err *err);
int meta_put_u64(struct db_txn *t, struct store *s, const char *name, uint64_t x,
		 struct kv_err *err);

/* ---- record.c: message records ---- */

/* The fixed part at the start of each record in rec.dat. */
struct msg_fixed {
	int64_t date;
	uint64_t raw_off;       /* in raw.dat */
	uint64_t text_off;
	uint64_t raw_len;
	uint64_t text_len;
	int32_t tz;
	uint32_t flags;
	uint32_t nrefs, nto, ncc, natts;
};

/*
 * The message index value (database "msg"): where the record is in
 * rec.dat (offset, length: 16 bytes), then the CRC-32s of the raw bytes,
 * the body text and the record (3 x 4 bytes, big-endian): 28 bytes.
 * Stores written before the checksums have 16-byte values: read the
 * same, verified without them (store_check counts them).
 */
#define MSGIDX_OLD 16
#define MSGIDX_LEN 28
enum { SUM_RAW, SUM_TEXT, SUM_REC, SUM_COUNT };
/* CRC-32 (zlib's) of p[0..n). */
uint32_t store_crc(const void *p, size_t n);
/* The checksums of an index value v into sums: 1 when it has them, 0
 * for an old 16-byte value. */
int msgidx_sums(const struct db_val *v, uint32_t sums[SUM_COUNT]);

/* Append m's record to sb; raw_off and text_off are filled in when the
 * bytes get their place (store.c). */
void msg_encode(const struct mail *m, size_t raw_len, struct sbuf *sb);
/* m's strings point into v. 0, or -1 when the record is malformed. */
int msg_decode(const struct db_val *v, uint64_t num, struct msg_rec *m);
/* Identity of a message: its id and the bytes after its header block, with
 * CR LF read as LF so a copy from an mbox and one from SMTP agree; a
 * backfilled copy (flags) is kept apart from a delivered one. */
void msg_ident(const char *id, unsigned flags, const char *raw, size_t len,
	       unsigned char out[KV_SHA256_LEN]);

/*
 * Reading records and bytes back. map is the reader's mapping of the file
 * (views into it stay valid while it is mapped), or NULL for the writer,
 * whose bytes are not committed yet: then the bytes are read into *owned,
 * which the caller frees (also NULL'd on failure). 0 / 1 not found / -1.
 */
int rec_get(struct db_txn *t, struct store *s, const struct blobmap *map, uint64_t num,
	    struct db_val *rv, char **owned, struct kv_err *err);
/* rec_get's second half: the record that ix (message num's "msg" value)
 * names. 0 / -1. */
int rec_view(struct store *s, const struct blobmap *map, uint64_t num, const struct db_val *ix,
	     struct db_val *rv, char **owned, struct kv_err *err);
/* Record and thread of message num. */
int msg_load(struct db_txn *t, struct store *s, const struct blobmap *map, uint64_t num,
	     struct msg_rec *m, char **owned, struct kv_err *err);
/* The fixed part of message num's record: where its bytes are in raw.dat. */
int msg_offsets(struct db_txn *t, struct store *s, const struct blobmap *recmap, uint64_t num,
		struct msg_fixed *f, struct kv_err *err);
/* Body text of message num (NUL-terminated in raw.dat). */
int text_load(struct db_txn *t, struct store *s, const struct blobmap *recmap,
	      const struct blobmap *rawmap, uint64_t num, const char **text, size_t *len,
	      char **owned, struct kv_err *err);

/* ---- read.c: many messages in ascending order ---- */

/* A walk over messages by ascending number (any order works, ascending
 * is fastest): one cursor on "msg" (a near key is found without a
 * descent from the root), records viewed in the mapped rec.dat, body
 * texts read into one reused buffer. */
struct msg_walk {
	struct store_reader *r;
	struct db_cursor *c;
	struct sbuf text;
};
int msg_walk_begin(struct store_reader *r, struct msg_walk *w, struct kv_err *err);
/* Message num: its record decoded into *m (views valid until the reader
 * ends; m->thread is not looked up: 0) when m is not NULL, its body text
 * (NUL-terminated, valid until the next call) into *text, *tlen when text
 * is not NULL. 0, 1 no such message, -1 with err set. */
int msg_walk_get(struct msg_walk *w, uint64_t num, struct msg_rec *m, const char **text,
		 size_t *tlen, struct kv_err *err);
void msg_walk_end(struct msg_walk *w);

/* ---- record.c: the data files ---- */

/* Bytes [off, off + len) of file f: a view into map, or (map NULL) read
 * into *owned with a NUL after them. 0 / -1. */
int blob_bytes(struct store *s, int f, const struct blobmap *map, uint64_t off, uint64_t len,
	       const char **p, char **owned, struct kv_err *err);
/* Read bytes [off, off + len) of file f into dst. 0 / -1. */
int blob_read(struct store *s, int f, uint64_t off, uint64_t len, char *dst, struct kv_err *err);
/* Map the committed part of file f (as meta says in t) for views. 0 / -1. */
int blob_map(struct store *s, int f, struct db_txn *t, struct blobmap *map, struct kv_err *err);
void blob_unmap(struct blobmap *map);
/* Write iov[0..n) at off in file f, all of it (iov is consumed). 0 / -1. */
int blob_write(struct store *s, int f, struct iovec *iov, int n, uint64_t off,
	       struct kv_err *err);

/* ---- record.c: thread records ---- */

/* The fixed part of a thread record, then subject\0 root-message-id\0. */
struct thr_fixed {
	uint64_t root;
	int64_t first, last, root_date;
	uint64_t series;
	uint32_t count, category, nnodes, rootcand;
};

/* A thread record the writer changes: the stored fixed part as it is,
 * owned strings. */
struct trec {
	uint64_t id;
	struct thr_fixed f;
	char *subject, *root_mid;
};

/* t (may be NULL) gets views into v; fx (may be NULL) the fixed part.
 * 0, or -1 when malformed. */
int thr_decode(const struct db_val *v, uint64_t id, struct thread_rec *t, struct thr_fixed *fx);
/* 0 / 1 not found / -1; trec_release() after a 0. */
int trec_load(struct db_txn *tx, struct store *s, uint64_t id, struct trec *t,
	      struct kv_err *err);
/* Also marks the thread's tcol chunk. */
int trec_save(struct wctx *w, const struct trec *t);
void trec_release(struct trec *t);

/* ---- record.c: series records ---- */

/* A version as the series record keeps it, so reading a series costs one
 * lookup, not one per version. */
struct sver {
	uint64_t thread;
	int32_t version;
	int64_t date;            /* the thread's first date */
	const char *mid, *subject;
};

struct srec {
	uint64_t id;
	uint32_t maxver;
	struct sver *v;
	size_t n;
	const char *title, *author, *project;
	char *buf;               /* copy of the stored value the strings point into */
	struct strv own;         /* strings added since */
};

/* With copy the strings point into a private copy, else into v. 0 / -1;
 * srec_release() in both cases. */
int srec_decode(const struct db_val *v, uint64_t id, struct srec *r, int copy);
void srec_encode(const struct srec *r, struct sbuf *sb);
void srec_release(struct srec *r);
/* A copy of x that lives as long as r. */
const char *srec_str(struct srec *r, const char *x);

/* ---- series.c: series linking, inside a batch's write transaction ---- */

/* (Re)link thread t after its root changed: t->series is set (0 when its
 * root is not a patch-set version). 0 / -1 with w->err set. */
int series_update(struct wctx *w, struct trec *t);
/* Thread tid leaves series sid (merged away, or relinked). 0 / -1. */
int series_remove(struct wctx *w, uint64_t sid, uint64_t tid);
/* Thread tid's first date moved to first: keep its series entry in step. 0 / -1. */
int series_touch(struct wctx *w, uint64_t sid, uint64_t tid, int64_t first);

/* ---- thread.c: threading, inside a batch's write transaction ---- */

/* Put message m (decoded from its record as stored, so the writer and
 * readers agree) into its thread: join, create or merge; keeps the ghost
 * count in w, the root, subject, category and series link. 0, or -1 with
 * w->err set (a full map shows in db_txn_full(w->t)). */
int thread_add(struct wctx *w, const struct msg_rec *m);

/* ---- read.c ---- */

/* Members of thread id in date order, with their dates when dates is not
 * NULL; *nums (and *dates) malloc'd, the caller frees them also on -1. */
int read_members(struct db_txn *t, struct store *s, uint64_t id, uint64_t **nums, size_t *n,
		 int64_t **dates, struct kv_err *err);

/* ---- index.c, index_db.c: the word index (store.c, check.c and query.c use it) ---- */

#define INDEX_TOKEN_MAX 64     /* longer words are not indexed (base64, hashes) */
#define INDEX_TERM_MAX 240     /* field letter, ':', then the token or address */

/* Field letters: the first byte of every term ("s:vgic"). */
enum {
	IX_SUBJECT = 's', IX_FROM = 'f', IX_TO = 't', IX_CC = 'c', IX_BODY = 'b',
	IX_QUOTED = 'q', IX_DFN = 'p', IX_DFHH = 'h', IX_MID = 'm', IX_TRAILER = 'r',
	IX_LIST = 'l',
};

/* One token of text: case-folded bytes; part: an underscore-split piece of
 * an identifier (indexed, but not a position in phrase order). */
typedef void (*index_tok_cb)(void *ctx, const char *tok, size_t n, int part);
void index_tokenize(const char *s, size_t n, index_tok_cb cb, void *ctx);

/* The text of one field of message m (body fields need text). The
 * non-body fields go into sb (joined by newlines); body text is split
 * into new (b), quoted (q) lines. For phrase checks. */
void index_field_text(const struct msg_rec *m, const char *text, size_t tlen, int field,
		      struct sbuf *sb);
/* Is body line l (n bytes, without its newline) quoted text (IX_QUOTED)? */
int index_line_quoted(const char *l, size_t n);

/* (term, message number) pairs, each pair once: the terms of one message
 * or of a batch of messages added in number order. Zeroed before use. */
struct ixset {
	char *bytes;                  /* the distinct terms' bytes, back to back */
	size_t nbytes, capbytes;
	struct ixterm {
		uint32_t off, len, hash;
		uint32_t last;        /* the last number added for it */
	} *t;
	size_t nt, capt;
	uint64_t *slot;               /* hash table: hash << 32 | index into t + 1; 0 empty */
	size_t nslot;
	struct ixpost {
		uint32_t term, num;
	} *p;                         /* in the order added */
	size_t np, capp;
	uint32_t num;                 /* the message being added */
	const struct pairwords *pw;   /* add word-pair terms of these words; NULL none */
	int only_pairs;               /* the pairs only, not the words (reindex) */
};
/* Message m's terms join x as number num (larger than any before in x). */
void ixset_add_msg(struct ixset *x, const struct msg_rec *m, const char *text, size_t tlen,
		   uint32_t num);
void ixset_release(struct ixset *x);

/* Phrase pairs: a term "B:dirty ring" holds the messages whose field b
 * has the token ring right after dirty, when both words are in the
 * store's pair word list (meta "phrase_words": the most frequent words of
 * subjects and bodies when the pairs were built). The field letter of a
 * pair term is its field's in upper case. */
#define PHRASE_WORDS 1000
struct pairwords {
	char *buf;                    /* the words, each NUL-terminated */
	const char **w;
	size_t *len;
	size_t n;
	uint32_t *slot;               /* hash table: index into w + 1; 0 empty */
	size_t nslot;
};
/* The list from its stored form (words separated by '\n'). */
struct pairwords *pairwords_new(const char *v, size_t n);
void pairwords_free(struct pairwords *pw);
int pairwords_has(const struct pairwords *pw, const char *tok, size_t n);
/* Are the pair terms of field f kept (f one of s f t c l b q)? */
int index_pair_field(char f);

/* Every distinct term of a message, sorted: terms->v[i] "X:token"; with
 * pw, its pair terms too. */
void index_terms(const struct msg_rec *m, const char *text, size_t tlen, const struct pairwords *pw,
		 struct strv *terms);

/* In a batch's write transaction: message m's terms join the batch's
 * (w->ix, made on first use); index_flush writes them all, a term's
 * numbers in one put, and frees them (also on failure). 0 / -1 / DB_FULL. */
int index_add(struct wctx *w, const struct msg_rec *m, const char *text, size_t tlen);
int index_flush(struct wctx *w);
/* Forget the batch's terms (the transaction is aborted). */
void index_drop(struct wctx *w);

/* The phrase pairs of the store: PAIRS_NONE (no list: no pair terms),
 * PAIRS_BUILDING (reindex adds them: messages up to *upto have theirs),
 * PAIRS_COMPLETE (every message's pairs are in, and writers add them);
 * -1. *pw (when asked): the list, NULL with PAIRS_NONE; pairwords_free. */
enum { PAIRS_NONE = STORE_PAIRS_NONE, PAIRS_COMPLETE = STORE_PAIRS_COMPLETE, PAIRS_BUILDING = STORE_PAIRS_BUILDING };
int pairs_state(struct db_txn *t, struct store *s, struct pairwords **pw, uint64_t *upto, struct kv_err *err);

/* Every (term, number) of x into the index of t, term by term. 0 / -1 / DB_FULL. */
int ixset_write(struct db_txn *t, struct store *s, const struct ixset *x, struct kv_err *err);
/* Messages per write transaction of reindex's passes. */
#define REINDEX_BATCH 2000
/* Messages upto+1 .. upto+REINDEX_BATCH (below next) into x, then x into
 * the index; *last: the last number read. 0 / -1 / DB_FULL. */
int reindex_messages(struct db_txn *t, struct store *s, struct ixset *x, uint64_t upto, uint64_t next,
		     uint64_t *last, struct kv_err *err);
/* A reindex batch's end: t committed when rc is 0, else aborted. 0 / -1 /
 * DB_FULL. */
int reindex_commit(struct db_txn *t, int rc, struct kv_err *err);
/* pairs.c: one batch of reindex's pair pass: 0 more to do, 1 done, -1,
 * DB_FULL; *done of *total messages have their pairs. */
int pairs_batch(struct store *s, uint64_t *done, uint64_t *total, struct kv_err *err);
/* Forget the pair list and the pass's progress (the pair terms went). 0 / -1. */
int pairs_forget(struct db_txn *t, struct store *s, struct kv_err *err);

/* The pair word list when the reader's store has every message's phrase
 * pairs, else *pw NULL (read once per reader). 0 / -1. */
int index_reader_pairs(struct store_reader *r, const struct pairwords **pw, struct kv_err *err);

/* Is this store's index complete (schema 3)? Read in t. 1 yes, 0 no, -1. */
int index_ready(struct db_txn *t, struct store *s, struct kv_err *err);

/* Posting list of one term: sorted message numbers, malloc'd into *v
 * (*v NULL and *n 0 when absent). 0 / -1. */
int index_postings(struct store_reader *r, const char *term, size_t tn, uint64_t **v, size_t *n,
		   struct kv_err *err);
/* The numbers of term key[0..kn) (prefix: of every term starting so) as
 * bits set in bits[0..nbits) (the store's next_num). 0 / -1 (malformed,
 * or a number past nbits). */
int index_bits(struct store_reader *r, const char *key, size_t kn, int prefix, uint64_t *bits, uint64_t nbits,
	       struct kv_err *err);
/* Union of the lists of every term starting with prefix. 0 / -1. */
int index_prefix(struct store_reader *r, const char *prefix, size_t pn, uint64_t **v, size_t *n,
		 struct kv_err *err);

/* Check every message's terms are indexed and nothing else is; the
 * phrase pairs complete exactly when schema_pairs (schema 4).
 * 0 / 1 broken (err says what) / -1. */
int index_check(struct store *s, struct db_txn *t, const struct blobmap *maps, uint64_t nmsg,
		int schema_pairs, struct kv_err *err);

/* ---- mcol.c: every message's date and thread id, dense ---- */

#define MCOL_CHUNK 4096

/* A column (table, whose meta key names the next_num it was brought up
 * to) is current: the table is there and the key equals next_num.
 * 1 / 0 / -1. */
int column_current(struct db_txn *t, struct store *s, int table, const char *key, struct kv_err *err);

/* Is the column up to date with the tables (meta mcol_v2_next == next_num)?
 * 1 yes, 0 no (absent or stale: use the tables), -1. */
int mcol_ready(struct db_txn *t, struct store *s, struct kv_err *err);
/* In a batch's write transaction, before any message is added: start
 * keeping the column (w->mc); a stale or missing one (or any, with force)
 * is rebuilt from the date and mthr tables first. 0 / -1 / DB_FULL. */
int mcol_begin(struct wctx *w, int force);
/* Message num's entry (a new message), or its thread id (a thread merge
 * relabelling it). No-op without mcol_begin. 0 / -1. */
int mcol_set(struct wctx *w, uint64_t num, int64_t date, uint64_t tid);
int mcol_set_thread(struct wctx *w, uint64_t num, uint64_t tid);
/* Write the changed chunks and mcol_v2_next = next_num; frees the batch
 * (also on failure). 0 / -1 / DB_FULL. */
int mcol_flush(struct wctx *w, uint64_t next_num);
/* Forget the batch (the transaction is aborted). */
void mcol_drop(struct wctx *w);

/* Reading in t, numbers best in ascending order (one chunk lookup per
 * MCOL_CHUNK numbers): zero-initialise with t and s set. */
struct mcol_cur {
	struct db_txn *t;
	struct store *s;
	uint64_t chunk;
	int have;
	const void *p;           /* the chunk's view, valid until t ends */
};
/* 0 found, 1 no such message, -1. Only when mcol_ready said 1. */
int mcol_get(struct mcol_cur *c, uint64_t num, int64_t *date, uint64_t *tid, struct kv_err *err);
/* The column agrees with the date and mthr tables (when it is ready).
 * 0 / 1 broken (err says what) / -1. */
int mcol_check(struct store *s, struct db_txn *t, struct kv_err *err);

/* ---- tcol.c: every thread's record again, TCOL_CHUNK to a value ---- */

#define TCOL_CHUNK 256

/* Is the column up to date (meta tcol_next == next_num)? 1 / 0 / -1. */
int tcol_ready(struct db_txn *t, struct store *s, struct kv_err *err);
/* In a batch's write transaction, before anything is written: start
 * keeping the column (w->tc; needs w->next_thread); a stale or missing one
 * (or any, with force) is rebuilt whole at tcol_flush. 0 / -1 / DB_FULL. */
int tcol_begin(struct wctx *w, int force);
/* Thread tid was saved or deleted in w. No-op without tcol_begin. */
void tcol_touch(struct wctx *w, uint64_t tid);
/* Build the touched chunks from the thread table, tcol_next = next_num;
 * frees the batch (also on failure). 0 / -1 / DB_FULL. */
int tcol_flush(struct wctx *w, uint64_t next_num);
void tcol_drop(struct wctx *w);

/* Reading in t; zero-initialise with t and s set. */
struct tcol_cur {
	struct db_txn *t;
	struct store *s;
	uint64_t chunk;
	int have, found;
	struct db_val v;         /* the chunk, valid until t ends */
};
/* Thread id's record: 0 / 1 no such thread / -1 (a malformed chunk).
 * Only when tcol_ready said 1. */
int tcol_get(struct tcol_cur *c, uint64_t id, struct thread_rec *t, struct kv_err *err);
/* The column agrees with the thread table (when it is ready).
 * 0 / 1 broken (err says what) / -1. */
int tcol_check(struct store *s, struct db_txn *t, struct kv_err *err);

#endif
