/*
 * backfill.h - the lore backfill: before a digest is built, the threads of
 * its window whose root is a reply to a mail the store never got (sent
 * before the store existed, or while it was down) get that mail and its
 * ancestors from a public-inbox archive (BASE/MSGID/raw), stored like any
 * mail but flagged MAIL_BACKFILLED: it gives the thread its root (About,
 * threading, series) and is never counted in a week's numbers.
 *
 * Off unless [reporter] backfill_url is set. Every fetched mail is
 * untrusted: it goes through the store's parser and insert path, and a
 * mail whose Message-ID is not the one asked for is rejected.
 */
#ifndef KV_BACKFILL_H
#define KV_BACKFILL_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"

struct store;

struct backfill_opts {
	const char *base_url;    /* list URL, e.g. https://lore.kernel.org/kvmarm/; "" = off */
	long max_fetch;          /* requests per run (the next run goes on) */
	long timeout_s;          /* per request */
	size_t max_size;         /* largest answer accepted, bytes */
	int64_t now;             /* the fetch's arrival time (the parser's date fallback
				    and its bound on dates from the future) */
};

struct backfill_result {
	size_t wanted;           /* missing parents of window roots found at the start */
	size_t requests;         /* GETs sent */
	size_t stored;           /* mails stored flagged */
	size_t missing;          /* 404 / 410: the archive does not have it */
	size_t rejected;         /* answers refused (wrong Message-ID, not a mail, too big) */
	size_t failed;           /* transport errors and other statuses */
	int capped;              /* 1: stopped at max_fetch with work left */
};

/*
 * Fill the store's gaps above the roots of threads with mail in
 * [since, until), following each fetched mail's parent upward until a
 * stored mail, a mail without parent, a miss, or the cap. Each outcome is
 * logged with the Message-ID and URL. An unreachable server (refused,
 * unknown host, timeout) ends the run: the digest does not wait on a dead
 * server once per thread; other failures (a redirect loop, a bad status)
 * only end that chain. Returns 0 (also when fetches failed: they are logged and
 * counted), -1 with err set only when the store itself failed.
 */
int backfill_run(struct store *s, const struct backfill_opts *o, int64_t since, int64_t until,
		 struct backfill_result *res, struct kv_err *err);

/* The URL of a Message-ID's raw mail under base: base + escaped id + "/raw"
 * (the id percent-encoded as public-inbox does: '/', '%' and everything
 * outside the unreserved characters and '@'). Into sb. */
void backfill_raw_url(struct sbuf *sb, const char *base, const char *message_id);

#endif
