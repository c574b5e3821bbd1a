/*
 * digest.h - the step that fills a struct digest (digest_types.h) from the
 * store, and what every user of a digest needs: display order and totals,
 * release, lore links. Building and rendering are separate so that a unit
 * test can construct a digest by hand and render it.
 */
#ifndef KV_DIGEST_H
#define KV_DIGEST_H

#include "kv.h"
#include "digest_types.h"

struct store_reader;

/*
 * Fill *d (caller zeroes it) from the read snapshot r for the window in o:
 * threads with at least one mail dated in the window, their window mails,
 * series history, review tags, status, needs-attention, health. Summaries
 * are left empty (summary.c fills them). 0, or -1 with err set.
 */
int digest_build(struct store_reader *r, const struct digest_opts *o, struct digest *d,
		 struct kv_err *err);
void digest_release(struct digest *d);

/* Sort d->threads into display order and recount totals, categories, large
 * threads and the attention list; numbers each thread's mails from 1.
 * digest_build calls it; a test building a digest by hand calls it too. */
void digest_finish(struct digest *d);

/* Lore link of a Message-ID: base + percent-encoded id + "/". Into sb. */
void digest_lore_link(struct sbuf *sb, const char *base, const char *message_id);

#endif
