/*
 * index.h - the store's word index (index.c): tokenising text, the terms
 * of a message, writing them in a batch's write transaction, reading
 * posting lists back, reindexing and checking. store/ only (query.c,
 * store.c, check.c); the CLI speaks to it through query.h and store.h.
 */
#ifndef KV_INDEX_H
#define KV_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include "store_int.h"

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

/* Every distinct term of a message, sorted: terms->v[i] "X:token". */
void index_terms(const struct msg_rec *m, const char *text, size_t tlen, struct strv *terms);

/* In a batch's write transaction: message num's terms. 0 / -1 / DB_FULL. */
int index_add(struct wctx *w, const struct msg_rec *m, const char *text, size_t tlen);

/* Is this store's index complete (schema 2)? Read in t. 1 yes, 0 no, -1. */
int index_ready(struct db_txn *t, struct store *s, struct kv_err *err);

/* Posting list of one term: sorted message numbers, malloc'd into *v
 * (*v NULL and *n 0 when absent). 0 / -1. */
int index_postings(struct store_reader *r, const char *term, size_t tn, uint64_t **v, size_t *n,
		   struct kv_err *err);
/* Union of the lists of every term starting with prefix. 0 / -1. */
int index_prefix(struct store_reader *r, const char *prefix, size_t pn, uint64_t **v, size_t *n,
		 struct kv_err *err);

/* Check every message's terms are indexed and nothing else is.
 * 0 / 1 broken (err says what) / -1. */
int index_check(struct store *s, struct db_txn *t, const struct blobmap *maps, uint64_t nmsg,
		struct kv_err *err);

#endif
