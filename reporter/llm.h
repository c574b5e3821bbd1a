/*
 * llm.h - thread summaries from an LLM over the OpenAI-compatible Chat
 * Completions API (through http.c, the one libcurl module), with a cache
 * in the store, caps on what is sent, retries and a fallback; each summary
 * is remembered across weeks through the summary step's memory (memory.h).
 * The summary step (summary.c) fills one struct llm_thread per digest
 * thread and calls llm_summarize_all(); a thread whose summary fails keeps
 * ok = 0 and the reporter uses its extractive summary with a visible marker.
 * The implementation: llm.c (client), llm_input.c (what is sent),
 * llm_answer.c (what comes back), sharing llm_private.h.
 *
 * Summary text is plain text (never markup): the renderer escapes it like
 * mail text. "[n]" in it cites mail number n of the thread's mail list
 * (1-based, as printed in the digest); the renderer turns a valid [n] into
 * a link and leaves anything else as escaped text.
 */
#ifndef KV_LLM_H
#define KV_LLM_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"
#include "config.h"
#include "store.h"

struct llm_mail {
	int number;              /* position in the digest's mail list, from 1 */
	uint64_t num;            /* store message number (body text is read from the store) */
	const char *from;        /* decoded sender name (or address) */
	const char *date;        /* display time, e.g. "01-25 10:46" */
	const char *subject;
};

struct llm_thread {
	uint64_t thread_id;
	const char *subject;
	const char *category;    /* "PATCH", ... */
	const char *facts;       /* lines the reporter already knows: series, versions,
				    review tags, status, participants */
	const char *earlier;     /* summary from earlier weeks, or NULL */
	size_t nmails;
	struct llm_mail *mails;  /* the window's mails, in list order */
};

struct llm_summary {
	char *about;             /* what the thread is about */
	char *before;            /* earlier discussion */
	char *week;              /* this window */
	int ok;                  /* 1: from the model (or cache); 0: failed, use fallback */
	int cached;              /* 1 when it came from the cache */
	char *error;             /* why it failed, when ok == 0: details for the log
				    (server text, URL), never for the digest */
	const char *reason;      /* why it failed, as one fixed word the digest may
				    show: LLM_REASONS below */
	size_t input_tokens;     /* estimate of what was sent */
};

/* Every value of llm_summary.reason (static strings): no answer in time,
 * no connection, an HTTP error status, an answer that is not the JSON
 * asked for, an answer over [llm] max_answer_bytes or a field over its
 * cap, a request refused (401/403), the digest's deadline, a setup error
 * (summary.c: key file, ...), and anything else. */
#define LLM_REASONS { "timeout", "connect", "http_status", "bad_json", "too_long", "refused", \
		      "deadline", "setup", "failed" }

/* 1 when [llm] base_url is set, i.e. the LLM is to be used. */
int llm_enabled(const struct kv_config *cfg);

/*
 * Summarise threads[0..n) into out[0..n) (zeroed by the caller, freed with
 * llm_summary_release). Runs up to [llm] max_concurrency requests at once,
 * stops starting new ones at the deadline. Results are cached in the store
 * (table "summary") keyed by content hash, model and prompt version, and the
 * newest summary of each thread is remembered (memory_window_remember) for
 * next week's "earlier". Returns 0 when it ran (individual threads may have
 * failed: see out[i].ok), -1 with err on a setup error (bad key file, ...).
 */
int llm_summarize_all(const struct kv_config *cfg, struct store *s, struct llm_thread *threads,
		      size_t n, struct llm_summary *out, struct kv_err *err);
void llm_summary_release(struct llm_summary *sm);

/* The thread's memory as llm_summarize_all left it: memory_last() of the
 * summary step's memory (memory.h), which the reporter itself uses. */
char *llm_last_summary(struct store_reader *r, uint64_t thread_id);

/* Estimate of the tokens in s[0..len): ASCII at four bytes a token, each
 * other code point (CJK above all) one token. */
size_t llm_estimate_tokens(const char *s, size_t len);

/*
 * What llm_summarize_all would send for thread t, without sending it (for
 * benchmarks and tests): the prompt text (header and fenced mails) is
 * appended to out when out is not NULL; *tokens gets its estimate with the
 * system prompt, *naive_tokens the estimate of the same mails sent whole.
 * 0, or -1 with err (config, store).
 */
int llm_thread_input(struct store_reader *r, const struct kv_config *cfg, const struct llm_thread *t,
		     struct sbuf *out, size_t *tokens, size_t *naive_tokens, struct kv_err *err);

#endif
