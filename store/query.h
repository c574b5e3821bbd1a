/*
 * query.h - the search query language (query.c), lore's (public-inbox's)
 * prefixes over the store's word index (index.c):
 *
 *   s: subject:   subject          f: from:   sender name or address
 *   t: to   c: cc   tc: to or cc   a: any of from, to, cc
 *   b: body (new and quoted)   nq: new (not quoted) text   q: quoted text
 *   bs: subject or body (also what a word without prefix searches)
 *   dfn: diff file name (a path prefix such as arch/arm64/kvm/, or a
 *        file name component such as vgic-init.c or vgic)
 *   dfhh: diff hunk header (function)   m: Message-ID   l: list: List-Id
 *   tr: trailer (Reviewed-by: ... by address or name words)
 *   d: date, one day (YYYYMMDD, YYYY-MM-DD, ISO 8601, N.days.ago ...) or a
 *      range A..B, A.. or ..B (a bare date as end includes that day)
 *   since:D = d:D..   until:D = before D
 *
 * "quoted phrases" (words in this order), prefix* (every word starting
 * so), * alone (every message), AND (implicit between terms), OR, NOT and -term, parentheses.
 * Matching is by word, case-insensitive, tokenised as index.c says.
 */
#ifndef KV_QUERY_H
#define KV_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"
#include "store.h"

struct query;

/* Parse text; now anchors relative dates. 0, or -1 with err naming the
 * offending token (a usage error: the caller exits 2). */
int query_parse(const char *text, int64_t now, struct query **qp, struct kv_err *err);
void query_free(struct query *q);

/* The matching message numbers, ascending, malloc'd into *nums. The
 * store's index must be ready (store_index_ready). 0 / -1. */
int query_run(struct store_reader *r, const struct query *q, uint64_t **nums, size_t *n,
	      struct kv_err *err);

/* nums[0..n) (ascending) ordered newest first (date, then number), dates
 * of each into dates (malloc'd, the caller frees); aux[0..n) (NULL: none),
 * a value per number, is put in the same order. 0 / -1. */
int query_order_newest(struct store_reader *r, uint64_t *nums, size_t n, int64_t **dates,
		       uint64_t *aux, struct kv_err *err);

/* The thread of each of nums[0..n) into tids (0 when it has none);
 * fastest with nums ascending. 0 / -1. */
int query_thread_ids(struct store_reader *r, const uint64_t *nums, size_t n, uint64_t *tids,
		     struct kv_err *err);

/* The threads of nums[0..n) (ascending) with a message dated in
 * [since, until): each one's newest such message's date, and how many
 * there are; newest first (the date, then the number of that message),
 * as grouping query_order_newest's order would give, without ordering
 * every message (from the message column; from the tables when it is
 * stale). *out malloc'd. 0 / -1. */
struct query_thread {
	uint64_t id;
	int64_t date;
	uint64_t newest;        /* the number of its newest message */
	size_t matched;
};
int query_threads_newest(struct store_reader *r, const uint64_t *nums, size_t n, int64_t since, int64_t until,
			 struct query_thread **out, size_t *nout, struct kv_err *err);

#endif
