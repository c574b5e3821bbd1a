/*
 * memory.h - the summary step's memory across weeks: per thread, the
 * newest summary (store table "summary_last"), so that next week's
 * "before" part starts from it. digest.c reads it into each thread,
 * summary.c remembers the extractive summaries, and the LLM summariser
 * remembers its own with the dates of the window it covers.
 *
 * Readers take a store_reader and copy what they return (caller frees);
 * writers take the open store and write one row each.
 */
#ifndef KV_MEMORY_H
#define KV_MEMORY_H

#include <stdint.h>
#include "kv.h"
#include "store.h"

/* The newest remembered summary of a thread (any source), or NULL when
 * there is none; caller frees. */
char *memory_last(struct store_reader *r, uint64_t thread_id);

/* Remember text as the thread's summary of the window whose mails are
 * dated oldest..newest (the extractive path, also when the model failed),
 * unless a later window is remembered already: memory is keyed by week and
 * only a newer week replaces it, so a resend of an old week never
 * overwrites it. An empty or NULL text writes nothing. 0 (written or
 * kept), or -1 with err. */
int memory_remember(struct store *s, uint64_t thread_id, int64_t oldest, int64_t newest,
		    const char *text, struct kv_err *err);

/*
 * One window's summary of a thread and the memory: what it may build on,
 * and whether it may replace what is remembered. A summary remembered
 * with its window's dates tells a re-run of the same window (its
 * "earlier" would be itself) and a regenerated older week (the memory
 * is of a later one) from next week.
 */
struct memory_window {
	int64_t oldest, newest;  /* in: dates of the window's mails (0, 0: none) */
	const char *earlier;     /* in: the caller's earlier summary (NULL: none);
				    out: the one to send, maybe replaced or NULL */
	char *owned;             /* out: the replacement earlier points to, or NULL */
	int remember;            /* out: 0 when a later window is remembered already */
};

/* Check w (filled in) against the memory of thread_id through r and set
 * its out fields. Never fails: without a usable memory, w->earlier stays
 * and w->remember is 1. Free w->owned when done. */
void memory_window_check(struct store_reader *r, uint64_t thread_id, struct memory_window *w);

/* Remember text as the thread's newest summary for window w, with
 * w->earlier as what it was built on. 0, or -1 with err. */
int memory_window_remember(struct store *s, uint64_t thread_id, const struct memory_window *w,
			   const char *text, struct kv_err *err);

#endif
