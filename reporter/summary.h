/*
 * summary.h - the summary step: three parts per thread (what it is about,
 * what happened before the window, what happened in it). Without an LLM
 * (the default) the summary is extracted from the mail itself; with [llm]
 * base_url set, llm.c summarises every thread and a thread whose LLM
 * summary failed falls back to the extracted one, marked as such.
 * Output is plain text; "[n]" cites mail n of the thread's list.
 */
#ifndef KV_SUMMARY_H
#define KV_SUMMARY_H

#include "kv.h"
#include "digest.h"

struct kv_config;
struct store;

/* The extractive summary of t into t->summary (replacing what was there),
 * in d->lang. Pure: reads only the digest. */
void summary_extractive(const struct digest *d, struct digest_thread *t);

/* Fill every thread's summary: the LLM's when llm_enabled(cfg) (s must
 * then be the open store), else extractive. 0, or -1 with err when the LLM
 * step could not run at all (then every thread has its extractive summary
 * marked as a failed LLM summary, and the digest is still complete). */
int summary_fill(const struct kv_config *cfg, struct store *s, struct digest *d, struct kv_err *err);

/* Remember each thread's extractive summary for next week's "before"
 * (memory_remember; an LLM summary was remembered by llm_summarize_all).
 * 0, or -1 with err at the first failed write. */
int summary_remember(struct store *s, const struct digest *d, struct kv_err *err);

#endif
