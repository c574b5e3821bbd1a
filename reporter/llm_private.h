/*
 * llm_private.h - what the three parts of the LLM summariser share, and
 * nothing else may use (llm.h is the public interface):
 *
 *  - llm_input.c builds what is sent: the system prompt, each thread's
 *    header and fenced mails (new prose only, diff notes), the token
 *    budget of one request and the split of a long thread into parts;
 *  - llm_answer.c checks and cleans what comes back;
 *  - llm.c is the client: parameters from the config, the cache key, the
 *    pool of workers, requests with retries, and llm_summarize_all.
 *
 * Ownership: every char * in these structs is owned by the struct and
 * freed by its _release function.
 */
#ifndef KV_LLM_PRIVATE_H
#define KV_LLM_PRIVATE_H

#include <stddef.h>
#include "kv.h"
#include "store.h"
#include "llm.h"

/* Bump when the prompt or the input reduction (llm_input.c) changes: old
 * cache rows then no longer match. */
#define LLM_PROMPT_VERSION "kvmarm-llm-prompt-8"

/* [llm] settings, resolved once per digest by the client. */
struct llm_params {
	char *url;
	char *key;               /* NULL: no Authorization header */
	const char *model;
	const char *language;
	long timeout;
	long max_concurrency;
	long max_input_tokens;
	long max_output_tokens;
	double temperature;
	long retries;
	long deadline;
	long max_answer;         /* bytes of one answer's content, more is a failure */
};

/* ---- llm_input.c: what goes in ---- */

struct llm_block {
	char *text;          /* one mail's fenced block, ready for the prompt */
	size_t tokens;
	size_t naive_tokens; /* the mail's whole body text */
};

struct llm_input {
	char *header;        /* subject, category, facts, earlier: fenced */
	char *key_header;    /* the same without the earlier summary (cache key) */
	size_t header_tokens;
	struct llm_block *blocks;
	size_t nblocks;
	int zh;              /* the prompt's own sentences in Chinese (a zh digest) */
};

/* 1 when p's language is Chinese: the prompt is then written in Chinese. */
int llm_input_zh(const struct llm_params *p);

/* The system message for p's language into sb: the task, the notations
 * ([n], "re [n]" from In-Reply-To, [...], [diff ...]), the answer
 * template and the length rule, in Chinese for a Chinese digest. */
void llm_input_system(const struct llm_params *p, struct sbuf *sb);

/*
 * Read t's mails through r (valid for the call only) and build *in: the
 * header and one block per mail, each mail cut to one request's budget
 * (sys_tokens: the system message's estimate). 0 (release *in with
 * llm_input_release), or -1 with err (store) and *in already released.
 */
int llm_input_build(struct store_reader *r, const struct llm_params *p, const struct llm_thread *t,
		    struct llm_input *in, size_t sys_tokens, struct kv_err *err);
void llm_input_release(struct llm_input *in);

/* Tokens left for mail text in one request, never below a floor. */
size_t llm_input_budget(const struct llm_params *p, size_t sys_tokens, size_t header_tokens);

/*
 * 0 when every block fits one request of budget tokens. Otherwise the
 * number of parts (at most max_parts) the blocks are packed into:
 * starts[0..n] (starts must hold max_parts + 1) gives part k the blocks
 * [starts[k], starts[k+1]); starts[n] < in->nblocks when mails were left
 * out.
 */
size_t llm_input_split(const struct llm_input *in, size_t budget, size_t *starts, size_t max_parts);

/* The user message for blocks [from, to) into u: the whole thread when
 * nparts is 0, else part `part` (from 0) of nparts. */
void llm_input_prompt(const struct llm_input *in, size_t part, size_t nparts, size_t from, size_t to,
		      struct sbuf *u);

struct llm_answer;
/* The user message that combines nparts part summaries, each field cut to
 * its share of budget, into u. */
void llm_input_reduce(const struct llm_input *in, const struct llm_answer *parts, size_t nparts,
		      size_t budget, struct sbuf *u);

/* ---- llm_answer.c: what comes out ---- */

struct llm_answer {
	char *about, *before, *week;
};

/*
 * Check the model's content: one JSON object (a code fence, words or a
 * reasoning model's <think> block around it are tolerated), with "about",
 * "before", "week" non-empty strings. 0 with *a filled with cleaned plain
 * text (URLs, Markdown link targets, HTML elements and citations outside
 * 1..nmails removed; everything else, kernel text such as "kvm_init()" or
 * "<linux/kvm.h>", kept for the renderers to escape; bidi controls, NUL
 * and other control characters dropped, white space squeezed), cleaned
 * until cleaning changes nothing, so llm_answer_json(a) parses back to the
 * same fields; or -1 with why (and *a empty).
 */
int llm_answer_parse(const char *content, size_t nmails, struct llm_answer *a, char *why, size_t whylen);
/* llm_answer_parse returns LLM_TOO_LONG (not -1) when a field is longer
 * than LLM_MAX_FIELD: a failure, never a summary cut short. */
#define LLM_TOO_LONG (-2)
/* The answer as the JSON object the cache stores; caller frees. */
char *llm_answer_json(const struct llm_answer *a);
void llm_answer_release(struct llm_answer *a);

#endif
