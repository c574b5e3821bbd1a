/*
 * llm.c - the LLM client: thread summaries from an OpenAI-compatible Chat
 * Completions service (see llm.h). What is sent is built in llm_input.c,
 * what comes back is checked in llm_answer.c, the memory across weeks is
 * the summary step's (memory.c); this file runs the requests:
 *
 *  1. parameters: the [llm] settings, resolved once per digest;
 *  2. cache: the hash of what would be sent (plus model, language and the
 *     prompt version; less the earlier summary, which is our own memory
 *     and changes when the same week runs again) names a row of the
 *     store's "summary" table; a hit sends nothing;
 *  3. requests: a pool of up to max_concurrency workers, each request
 *     retried with exponential backoff and jitter on 429, 5xx and
 *     timeouts (honouring a capped Retry-After), all bounded by the
 *     digest's deadline; a thread over max_input_tokens is summarised in
 *     parts and the part summaries combined;
 *  4. a malformed answer gets one repair request, then the thread fails
 *     (ok = 0) and the reporter falls back to its extractive summary;
 *  5. memory: each summary is remembered per thread with the dates of its
 *     window (memory_window_*), so next week's "earlier" starts from it
 *     while re-runs and regenerated old weeks do not feed a summary back
 *     into itself.
 *
 * The API key comes from api_key_file or the environment variable named by
 * api_key_env; it goes into the Authorization header and nowhere else (not
 * in logs, errors or the cache key).
 */
#include "llm.h"
#include "llm_private.h"
#include "text.h"
#include "memory.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "sha256.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <errno.h>
#include <time.h>
#include <math.h>
#include "banned.h"

#define LLM_MAX_PARTS        8      /* map requests per thread, at most */
#define LLM_MAX_RETRY_AFTER  60.0   /* seconds: a longer Retry-After is capped */
#define LLM_BACKOFF_BASE     0.5    /* seconds before the first retry */
#define LLM_BACKOFF_MAX      30.0

/* ---- cache key ---- */

static char *cache_key(const struct llm_params *p, const char *sys, const struct llm_input *in)
{
	struct kv_sha256 ck;
	kv_sha256_init(&ck);
	char num[64];
	kv_sha256_update(&ck, LLM_PROMPT_VERSION, sizeof(LLM_PROMPT_VERSION));
	kv_sha256_update(&ck, p->model, strlen(p->model) + 1);
	kv_sha256_update(&ck, p->language, strlen(p->language) + 1);
	snprintf(num, sizeof(num), "%ld/%ld/%.3f", p->max_input_tokens, p->max_output_tokens, p->temperature);
	kv_sha256_update(&ck, num, strlen(num) + 1);
	kv_sha256_update(&ck, sys, strlen(sys) + 1);
	/* The earlier summary is left out on purpose: it is our own memory, and
	 * running the same week again finds this week's summary there. The
	 * window's mails and the facts identify the work. */
	kv_sha256_update(&ck, in->key_header, strlen(in->key_header) + 1);
	for (size_t i = 0; i < in->nblocks; i++)
		kv_sha256_update(&ck, in->blocks[i].text, strlen(in->blocks[i].text) + 1);
	char hex[KV_SHA256_HEX_LEN];
	kv_sha256_final_hex(&ck, hex);
	return kv_xstrdup(hex);
}

/* ---- requests ---- */

struct pool {
	const struct llm_params *p;
	const char *sys;
	double t0, deadline_at;   /* monotonic seconds; deadline_at 0: none */
	pthread_mutex_t mu;
	size_t next;
	size_t njobs;
	struct job *jobs;
	size_t *order;            /* jobs, biggest first */
};

struct job {
	const struct llm_thread *t;
	struct llm_thread tcopy;  /* the caller's, with the earlier summary we use */
	struct memory_window mem; /* the window's dates, its earlier, remember or not */
	struct llm_summary *out;
	struct llm_input in;
	char *key;
	struct llm_answer ans;
	int done;                 /* answered (model or cache) */
	size_t requests;
	const char *reason;       /* LLM_REASONS word of the last failure */
};

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static double remaining(const struct pool *pl)
{
	return pl->deadline_at > 0 ? pl->deadline_at - now_mono() : 1e9;
}

struct chat_msg {
	const char *role, *content;
};

/*
 * One chat completion with retries. 0: *content set (caller frees);
 * 1: a 200 answer whose envelope is broken (truncated JSON, no content):
 * *content holds a prefix of it, the caller may ask for a repair;
 * -1: failed (why in err, for the log; *reason one word of LLM_REASONS).
 */
static int chat(struct pool *pl, const struct chat_msg *msgs, size_t nmsgs, unsigned *seed,
		size_t *nreq, char **content, const char **reason, struct kv_err *err)
{
	const struct llm_params *p = pl->p;
	struct sbuf body = SBUF_INIT;
	struct json_w w;
	int rc = -1;

	json_w_init(&w, &body, 0);
	json_obj_begin(&w);
	json_key(&w, "model");
	json_str(&w, p->model);
	json_key(&w, "messages");
	json_arr_begin(&w);
	for (size_t i = 0; i < nmsgs; i++) {
		json_obj_begin(&w);
		json_key(&w, "role");
		json_str(&w, msgs[i].role);
		json_key(&w, "content");
		json_str(&w, msgs[i].content);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_key(&w, "max_tokens");
	json_int(&w, p->max_output_tokens);
	json_key(&w, "temperature");
	json_double(&w, p->temperature);
	json_key(&w, "stream");
	json_bool(&w, 0);
	json_obj_end(&w);

	*content = NULL;
	for (long attempt = 0;; attempt++) {
		struct http_response resp;
		double left = remaining(pl);
		if (left <= 0.5) {
			kv_err_set(err, "llm deadline reached");
			*reason = "deadline";
			break;
		}
		long to = p->timeout;
		if ((double)to > left)
			to = (long)ceil(left);
		if (to < 1)
			to = 1;
		(*nreq)++;
		int hr = http_post_json(p->url, p->key, body.buf, body.len, to, &resp);
		int retry = 0;
		double wait = -1;
		if (hr < 0) {
			kv_err_set(err, "%s%s", resp.timed_out ? "timeout: " : "", resp.error);
			*reason = resp.timed_out ? "timeout" : "connect";
			retry = 1;
		} else if (resp.status == 429 || resp.status >= 500) {
			kv_err_set(err, "%s: HTTP %ld", p->url, resp.status);
			*reason = "http_status";
			retry = 1;
			wait = resp.retry_after;
		} else if (resp.status != 200) {
			/* 4xx other than 429 will not get better by asking again. */
			struct kv_err je;
			struct json_val *v = json_parse(resp.body.buf ? resp.body.buf : "", resp.body.len, &je);
			const struct json_val *e = v ? json_get(v, "error") : NULL;
			const struct json_val *m = e ? json_get(e, "message") : NULL;
			kv_err_set(err, "%s: HTTP %ld%s%.200s", p->url, resp.status, m && m->type == JSON_STR ? ": " : "",
				   m && m->type == JSON_STR ? m->str : "");
			*reason = resp.status == 401 || resp.status == 403 ? "refused" : "http_status";
			json_free(v);
		} else {
			struct kv_err je;
			struct json_val *v = json_parse(resp.body.buf ? resp.body.buf : "", resp.body.len, &je);
			const struct json_val *ch = v ? json_get(v, "choices") : NULL;
			const struct json_val *c0 = ch && ch->type == JSON_ARR && ch->n ? ch->items[0] : NULL;
			const struct json_val *msg = c0 ? json_get(c0, "message") : NULL;
			const struct json_val *ct = msg ? json_get(msg, "content") : NULL;
			if (ct && ct->type == JSON_STR && ct->len > (size_t)p->max_answer) {
				/* not cut down to a summary: an answer this long is not one */
				kv_err_set(err, "%s: answer of %zu bytes, over [llm] max_answer_bytes = %ld",
					   p->url, ct->len, p->max_answer);
				*reason = "too_long";
			} else if (ct && ct->type == JSON_STR) {
				*content = kv_xstrndup(ct->str, ct->len);
				rc = 0;
			} else {
				size_t l = text_utf8_cut(resp.body.buf ? resp.body.buf : "", resp.body.len, 2000);
				*content = kv_utf8_sanitize(resp.body.buf ? resp.body.buf : "", l);
				kv_err_set(err, "%s: answer is not a chat completion%s%s", p->url, v ? "" : ": ", v ? "" : je.msg);
				*reason = "bad_json";
				rc = 1;
			}
			json_free(v);
		}
		http_response_release(&resp);
		if (!retry || attempt >= p->retries)
			break;
		double backoff = LLM_BACKOFF_BASE * pow(2.0, (double)attempt);
		if (backoff > LLM_BACKOFF_MAX)
			backoff = LLM_BACKOFF_MAX;
		/* Full jitter between half and all of the step spreads the workers. */
		backoff *= 0.5 + 0.5 * ((double)rand_r(seed) / RAND_MAX);
		if (wait >= 0)
			backoff = wait > LLM_MAX_RETRY_AFTER ? LLM_MAX_RETRY_AFTER : wait;
		if (backoff >= remaining(pl) - 0.5) {
			log_warn("llm: giving up before the deadline (%s)", err->msg);
			break;
		}
		log_info("llm: retry %ld of %ld in %.1f s after: %s", attempt + 1, p->retries, backoff, err->msg);
		sleep_s(backoff);
	}
	sbuf_release(&body);
	return rc;
}

/* A prompt, its answer checked, one repair request when it is malformed. */
static int ask(struct pool *pl, const char *user, size_t nmails, unsigned *seed, size_t *nreq,
	       struct llm_answer *a, const char **reason, struct kv_err *err)
{
	struct chat_msg msgs[4] = {
		{ "system", pl->sys }, { "user", user }, { "assistant", NULL }, { "user", NULL },
	};
	char why[KV_ERR_MAX];
	char *content = NULL;
	int rc = chat(pl, msgs, 2, seed, nreq, &content, reason, err);
	if (rc < 0)
		return -1;
	if (rc == 0 && llm_answer_parse(content, nmails, a, why, sizeof(why)) == 0) {
		free(content);
		return 0;
	}
	if (rc == 1)
		snprintf(why, sizeof(why), "%.400s", err->msg);
	log_warn("llm: malformed answer (%s), asking once for a repair", why);
	char *repair = kv_xasprintf(
		"Your previous answer could not be used (%s). Answer again with exactly one JSON "
		"object with the string fields \"about\", \"before\" and \"week\", following the "
		"rules of the system message, and nothing else.", why);
	/* The bad answer is echoed as the assistant turn, cut short. */
	size_t cl = text_utf8_cut(content, strlen(content), 2000);
	char *prev = kv_xstrndup(content, cl);
	msgs[2].content = prev;
	msgs[3].content = repair;
	free(content);
	content = NULL;
	rc = chat(pl, msgs, 4, seed, nreq, &content, reason, err);
	free(prev);
	free(repair);
	if (rc < 0)
		return -1;
	int pr = rc == 0 ? llm_answer_parse(content, nmails, a, why, sizeof(why)) : -1;
	if (pr == 0) {
		free(content);
		return 0;
	}
	if (rc == 1)
		snprintf(why, sizeof(why), "%.400s", err->msg);
	free(content);
	*reason = pr == LLM_TOO_LONG ? "too_long" : "bad_json";
	return kv_err_set(err, "model answer malformed after one repair request: %s", why);
}

/* Summarise one thread: one request, or map over parts and reduce. */
static int run_job(struct pool *pl, struct job *j, unsigned *seed, struct kv_err *err)
{
	const struct llm_input *in = &j->in;
	size_t sys_tokens = llm_estimate_tokens(pl->sys, strlen(pl->sys));
	size_t budget = llm_input_budget(pl->p, sys_tokens, in->header_tokens);
	size_t starts[LLM_MAX_PARTS + 1];
	size_t nparts = llm_input_split(in, budget, starts, LLM_MAX_PARTS);

	if (!nparts) {
		struct sbuf u = SBUF_INIT;
		llm_input_prompt(in, 0, 0, 0, in->nblocks, &u);
		j->out->input_tokens = sys_tokens + llm_estimate_tokens(u.buf, u.len);
		int rc = ask(pl, u.buf, j->t->nmails, seed, &j->requests, &j->ans, &j->reason, err);
		sbuf_release(&u);
		return rc;
	}

	/* Map: one request per part. */
	if (starts[nparts] < in->nblocks)
		log_warn("llm: thread %llu: %zu mail(s) beyond %d parts left out",
			 (unsigned long long)j->t->thread_id, in->nblocks - starts[nparts], LLM_MAX_PARTS);
	struct llm_answer parts[LLM_MAX_PARTS];
	memset(parts, 0, sizeof(parts));
	int rc = 0;
	j->out->input_tokens = 0;
	for (size_t k = 0; k < nparts && rc == 0; k++) {
		struct sbuf u = SBUF_INIT;
		llm_input_prompt(in, k, nparts, starts[k], starts[k + 1], &u);
		j->out->input_tokens += sys_tokens + llm_estimate_tokens(u.buf, u.len);
		rc = ask(pl, u.buf, j->t->nmails, seed, &j->requests, &parts[k], &j->reason, err);
		sbuf_release(&u);
	}
	if (rc == 0) {
		/* Reduce: the part summaries, each cut to its share of the budget. */
		struct sbuf u = SBUF_INIT;
		llm_input_reduce(in, parts, nparts, budget, &u);
		j->out->input_tokens += sys_tokens + llm_estimate_tokens(u.buf, u.len);
		rc = ask(pl, u.buf, j->t->nmails, seed, &j->requests, &j->ans, &j->reason, err);
		sbuf_release(&u);
	}
	for (size_t k = 0; k < nparts; k++)
		llm_answer_release(&parts[k]);
	return rc;
}

static size_t job_tokens(const struct job *j)
{
	size_t t = 0;
	for (size_t b = 0; b < j->in.nblocks; b++)
		t += j->in.blocks[b].tokens;
	return t;
}

/* Biggest threads first: a thread summarised in parts takes several
 * requests in a row, and started last it would set the digest's wall time. */
static void order_jobs(struct pool *pl)
{
	pl->order = kv_xcalloc(pl->njobs ? pl->njobs : 1, sizeof(*pl->order));
	size_t *tok = kv_xcalloc(pl->njobs ? pl->njobs : 1, sizeof(*tok));
	for (size_t i = 0; i < pl->njobs; i++) {
		pl->order[i] = i;
		tok[i] = job_tokens(&pl->jobs[i]);
	}
	for (size_t i = 1; i < pl->njobs; i++) {   /* insertion sort: stable, n is small */
		size_t v = pl->order[i], k = i;
		while (k > 0 && tok[pl->order[k - 1]] < tok[v]) {
			pl->order[k] = pl->order[k - 1];
			k--;
		}
		pl->order[k] = v;
	}
	free(tok);
}

static void *worker(void *arg)
{
	struct pool *pl = arg;
	unsigned seed = (unsigned)(now_mono() * 1e6) ^ (unsigned)(uintptr_t)&seed;
	for (;;) {
		pthread_mutex_lock(&pl->mu);
		size_t k = pl->next;
		while (k < pl->njobs && pl->jobs[pl->order[k]].done)
			k++;
		pl->next = k + 1;
		pthread_mutex_unlock(&pl->mu);
		if (k >= pl->njobs)
			break;
		struct job *j = &pl->jobs[pl->order[k]];
		struct kv_err err = { "" };
		if (remaining(pl) <= 0.5) {
			j->out->error = kv_xstrdup("llm deadline reached before this thread was summarised");
			j->out->reason = "deadline";
			continue;
		}
		double t = now_mono();
		if (run_job(pl, j, &seed, &err) == 0) {
			j->done = 1;
			log_info("llm: thread %llu: summarised with %zu request(s), ~%zu input tokens, %.1f s",
				 (unsigned long long)j->t->thread_id, j->requests, j->out->input_tokens, now_mono() - t);
		} else {
			llm_answer_release(&j->ans);
			j->out->error = kv_xstrdup(err.msg[0] ? err.msg : "llm request failed");
			j->out->reason = j->reason ? j->reason : "failed";
			log_warn("llm: thread %llu: no summary after %zu request(s): %s",
				 (unsigned long long)j->t->thread_id, j->requests, j->out->error);
		}
	}
	return NULL;
}

/* ---- configuration ---- */

static char *trimmed_dup(const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return kv_xstrndup(s, len);
}

static int load_params(const struct kv_config *cfg, struct llm_params *p, struct kv_err *err)
{
	const char *base = config_str(cfg, "llm", "base_url");
	const char *kf = config_str(cfg, "llm", "api_key_file");
	const char *ke = config_str(cfg, "llm", "api_key_env");
	size_t bl;

	memset(p, 0, sizeof(*p));
	if (!base || !*base)
		return kv_err_set(err, "[llm] base_url is not set");
	if (strncasecmp(base, "http://", 7) && strncasecmp(base, "https://", 8))
		return kv_err_set(err, "[llm] base_url %s: must start with http:// or https://", base);
	bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	p->url = kv_xasprintf("%.*s/chat/completions", (int)bl, base);
	if (kf && *kf) {
		char *data;
		size_t len;
		if (kv_read_file(kf, &data, &len, err) < 0) {
			free(p->url);
			return kv_err_set(err, "[llm] api_key_file %s: cannot read it", kf);
		}
		p->key = trimmed_dup(data, len);
		memset(data, 0, len);
		free(data);
		if (!*p->key || strpbrk(p->key, "\r\n")) {
			free(p->key);
			free(p->url);
			return kv_err_set(err, "[llm] api_key_file %s: must hold one key on one line", kf);
		}
	} else if (ke && *ke && getenv(ke) && *getenv(ke)) {
		const char *v = getenv(ke);
		p->key = trimmed_dup(v, strlen(v));
		if (strpbrk(p->key, "\r\n")) {
			free(p->key);
			free(p->url);
			return kv_err_set(err, "environment variable %s: the API key must be one line", ke);
		}
	}
	p->model = config_str(cfg, "llm", "model");
	if (!p->model)
		p->model = "";
	p->language = config_str(cfg, "llm", "language");
	if (!p->language || !*p->language)
		p->language = config_str(cfg, "reporter", "language");
	if (!p->language || !*p->language)
		p->language = "en";
	p->timeout = config_int(cfg, "llm", "timeout");
	if (p->timeout <= 0)
		p->timeout = 60;
	p->max_concurrency = config_int(cfg, "llm", "max_concurrency");
	if (p->max_concurrency < 1)
		p->max_concurrency = 1;
	if (p->max_concurrency > 64)
		p->max_concurrency = 64;
	p->max_input_tokens = config_int(cfg, "llm", "max_input_tokens");
	if (p->max_input_tokens < 1024)
		p->max_input_tokens = 1024;
	p->max_output_tokens = config_int(cfg, "llm", "max_output_tokens");
	if (p->max_output_tokens < 64)
		p->max_output_tokens = 64;
	p->temperature = config_double(cfg, "llm", "temperature");
	p->retries = config_int(cfg, "llm", "retries");
	if (p->retries < 0)
		p->retries = 0;
	p->deadline = config_int(cfg, "llm", "deadline");
	p->max_answer = config_int(cfg, "llm", "max_answer_bytes");
	if (p->max_answer < 1024)
		p->max_answer = 1024;
	return 0;
}

static void params_release(struct llm_params *p)
{
	free(p->url);
	if (p->key) {
		memset(p->key, 0, strlen(p->key));
		free(p->key);
	}
	memset(p, 0, sizeof(*p));
}

/* ---- public ---- */

int llm_enabled(const struct kv_config *cfg)
{
	const char *b = config_str(cfg, "llm", "base_url");
	return b && *b;
}

void llm_summary_release(struct llm_summary *sm)
{
	if (!sm)
		return;
	free(sm->about);
	free(sm->before);
	free(sm->week);
	free(sm->error);
	sm->about = sm->before = sm->week = sm->error = NULL;
	sm->reason = NULL;
}

char *llm_last_summary(struct store_reader *r, uint64_t thread_id)
{
	return memory_last(r, thread_id);
}

/*
 * Phase 1 for one thread: the window's dates, and what the memory says
 * about them (memory_window_check): the earlier summary to send, and
 * whether this window's summary may be remembered.
 */
static void job_memory(struct store_reader *r, struct job *j, const struct llm_thread *t)
{
	j->tcopy = *t;
	j->t = &j->tcopy;
	j->mem.oldest = INT64_MAX;
	j->mem.newest = INT64_MIN;
	for (size_t i = 0; i < t->nmails; i++) {
		struct msg_rec m;
		struct kv_err err;
		if (store_msg_get(r, t->mails[i].num, &m, &err) != 0)
			continue;
		if (m.date < j->mem.oldest)
			j->mem.oldest = m.date;
		if (m.date > j->mem.newest)
			j->mem.newest = m.date;
	}
	if (j->mem.oldest > j->mem.newest)
		j->mem.oldest = j->mem.newest = 0;
	j->mem.earlier = t->earlier;
	memory_window_check(r, t->thread_id, &j->mem);
	j->tcopy.earlier = j->mem.earlier;
}

/* What next week's "earlier" starts from: the whole of this week's summary. */
static char *remember_text(const struct llm_answer *a)
{
	return kv_xasprintf("%s %s %s", a->about, a->before, a->week);
}

int llm_thread_input(struct store_reader *r, const struct kv_config *cfg, const struct llm_thread *t,
		     struct sbuf *out, size_t *tokens, size_t *naive_tokens, struct kv_err *err)
{
	struct llm_params p;
	struct sbuf sys = SBUF_INIT;
	struct llm_input in;
	if (load_params(cfg, &p, err) < 0)
		return -1;
	llm_input_system(&p, &sys);
	size_t st = llm_estimate_tokens(sys.buf, sys.len);
	if (llm_input_build(r, &p, t, &in, st, err) < 0) {
		sbuf_release(&sys);
		params_release(&p);
		return -1;
	}
	*tokens = st + in.header_tokens;
	*naive_tokens = st;
	if (out)
		sbuf_adds(out, in.header);
	for (size_t i = 0; i < in.nblocks; i++) {
		*tokens += in.blocks[i].tokens;
		*naive_tokens += in.blocks[i].naive_tokens;
		if (out)
			sbuf_adds(out, in.blocks[i].text);
	}
	llm_input_release(&in);
	sbuf_release(&sys);
	params_release(&p);
	return 0;
}

int llm_summarize_all(const struct kv_config *cfg, struct store *s, struct llm_thread *threads,
		      size_t n, struct llm_summary *out, struct kv_err *err)
{
	struct llm_params p;
	struct sbuf sys = SBUF_INIT;
	struct store_reader *r = NULL;
	struct pool pl;
	size_t cached = 0, failed = 0, total_tokens = 0, sent_tokens = 0, nreq = 0;

	if (load_params(cfg, &p, err) < 0)
		return -1;
	http_init();
	llm_input_system(&p, &sys);
	size_t sys_tokens = llm_estimate_tokens(sys.buf, sys.len);

	memset(&pl, 0, sizeof(pl));
	pl.p = &p;
	pl.sys = sys.buf;
	pl.t0 = now_mono();
	pl.deadline_at = p.deadline > 0 ? pl.t0 + (double)p.deadline : 0;
	pl.njobs = n;
	pl.jobs = kv_xcalloc(n ? n : 1, sizeof(*pl.jobs));
	pthread_mutex_init(&pl.mu, NULL);

	/* Phase 1, here: read the mails and look in the cache, under one
	 * snapshot. The workers then only talk HTTP. */
	if (store_reader_begin(s, &r, err) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct job *j = &pl.jobs[i];
		const void *v;
		size_t vl;
		job_memory(r, j, &threads[i]);
		j->out = &out[i];
		if (llm_input_build(r, &p, j->t, &j->in, sys_tokens, err) < 0) {
			store_reader_end(r);
			goto fail;
		}
		j->key = cache_key(&p, sys.buf, &j->in);
		struct kv_err gerr;
		if (store_kv_get(r, "summary", j->key, &v, &vl, &gerr) == 0) {
			char *txt = kv_xstrndup(v, vl), why[KV_ERR_MAX];
			if (llm_answer_parse(txt, j->t->nmails, &j->ans, why, sizeof(why)) == 0) {
				j->done = 1;
				out[i].cached = 1;
				cached++;
				log_debug("llm: thread %llu: summary from the cache, nothing sent",
					  (unsigned long long)j->t->thread_id);
			}
			free(txt);
		}
	}
	store_reader_end(r);

	/* Phase 2: the workers. */
	order_jobs(&pl);
	size_t todo = n - cached;
	size_t nw = todo < (size_t)p.max_concurrency ? todo : (size_t)p.max_concurrency;
	pthread_t *tids = kv_xcalloc(nw ? nw : 1, sizeof(*tids));
	size_t started = 0;
	for (size_t w = 0; w < nw; w++) {
		if (pthread_create(&tids[w], NULL, worker, &pl) != 0) {
			log_warn("llm: could not start worker %zu of %zu", w + 1, nw);
			break;
		}
		started++;
	}
	if (!started && todo)
		worker(&pl); /* no threads at all: do the work here */
	for (size_t w = 0; w < started; w++)
		pthread_join(tids[w], NULL);
	free(tids);

	/* Phase 3, here: fill the answers, write the cache and the memory. */
	for (size_t i = 0; i < n; i++) {
		struct job *j = &pl.jobs[i];
		struct kv_err werr;
		nreq += j->requests;
		sent_tokens += j->out->cached ? 0 : j->out->input_tokens;
		if (j->out->cached) {
			/* What it would have cost: same estimate as a single request. */
			size_t t = sys_tokens + j->in.header_tokens;
			for (size_t b = 0; b < j->in.nblocks; b++)
				t += j->in.blocks[b].tokens;
			j->out->input_tokens = t;
		}
		total_tokens += j->out->input_tokens;
		if (!j->done) {
			j->out->ok = 0;
			if (!j->out->error)
				j->out->error = kv_xstrdup("llm summary not produced");
			if (!j->out->reason)
				j->out->reason = "failed";
			failed++;
			continue;
		}
		j->out->ok = 1;
		j->out->about = kv_xstrdup(j->ans.about);
		j->out->before = kv_xstrdup(j->ans.before);
		j->out->week = kv_xstrdup(j->ans.week);
		if (!j->out->cached) {
			char *js = llm_answer_json(&j->ans);
			if (store_kv_put(s, "summary", j->key, js, strlen(js), &werr) < 0)
				log_warn("llm: thread %llu: cannot cache the summary: %s",
					 (unsigned long long)j->t->thread_id, werr.msg);
			free(js);
		}
		if (j->mem.remember) {
			char *text = remember_text(&j->ans);
			if (memory_window_remember(s, j->t->thread_id, &j->mem, text, &werr) < 0)
				log_warn("llm: thread %llu: cannot remember the summary: %s",
					 (unsigned long long)j->t->thread_id, werr.msg);
			free(text);
		}
	}
	log_info("llm: digest: %zu thread(s), %zu from cache, %zu failed, %zu request(s), "
		 "~%zu input tokens sent (~%zu with cached), %.1f s",
		 n, cached, failed, nreq, sent_tokens, total_tokens, now_mono() - pl.t0);

	for (size_t i = 0; i < n; i++) {
		llm_input_release(&pl.jobs[i].in);
		free(pl.jobs[i].key);
		free(pl.jobs[i].mem.owned);
		llm_answer_release(&pl.jobs[i].ans);
	}
	free(pl.jobs);
	free(pl.order);
	pthread_mutex_destroy(&pl.mu);
	sbuf_release(&sys);
	params_release(&p);
	return 0;

fail:
	for (size_t i = 0; i < n; i++) {
		llm_input_release(&pl.jobs[i].in);
		free(pl.jobs[i].key);
		free(pl.jobs[i].mem.owned);
		llm_answer_release(&pl.jobs[i].ans);
	}
	free(pl.jobs);
	pthread_mutex_destroy(&pl.mu);
	sbuf_release(&sys);
	params_release(&p);
	return -1;
}
