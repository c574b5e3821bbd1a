/*
 * memory.c - the summary step's memory across weeks (see memory.h): one
 * row per thread in the store's "summary_last" table.
 */
#include "memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

/*
 * Table "summary_last", key the thread id (decimal). Written by
 * memory_window_remember (the LLM path) the value is "@kv1 OLDEST NEWEST
 * TEXTLEN\n" + text + prev: the dates of the mails it summarises, the
 * summary, and the earlier summary it was built on. With the dates,
 * re-running an older week neither takes a later week's summary as its
 * "earlier" nor replaces the newest memory with an older one. Both paths
 * (memory_window_remember for the model's summary, memory_remember for
 * the extractive one) write dates; rows without them (bare text, written
 * before dates existed) count as older than any dated window.
 */
struct last_rec {
	int has_range;
	int64_t oldest, newest;
	char *text, *prev;
};

static void last_rec_release(struct last_rec *lr)
{
	free(lr->text);
	free(lr->prev);
	memset(lr, 0, sizeof(*lr));
}

static int last_read(struct store_reader *r, uint64_t thread_id, struct last_rec *lr)
{
	char key[32];
	const void *v;
	size_t len;
	struct kv_err err;
	memset(lr, 0, sizeof(*lr));
	snprintf(key, sizeof(key), "%llu", (unsigned long long)thread_id);
	if (store_kv_get(r, "summary_last", key, &v, &len, &err) != 0 || !len)
		return 1;
	const char *d = v, *nl = memchr(d, '\n', len);
	long long o, n;
	unsigned long long tl;
	char head[128];
	if (len > 5 && !memcmp(d, "@kv1 ", 5) && nl && (size_t)(nl - d) < sizeof(head)) {
		memcpy(head, d, (size_t)(nl - d));
		head[nl - d] = '\0';
		size_t rest = len - (size_t)(nl - d) - 1;
		if (sscanf(head, "@kv1 %lld %lld %llu", &o, &n, &tl) == 3 && tl <= rest) {
			lr->has_range = 1;
			lr->oldest = o;
			lr->newest = n;
			lr->text = kv_xstrndup(nl + 1, (size_t)tl);
			lr->prev = kv_xstrndup(nl + 1 + tl, rest - (size_t)tl);
			return 0;
		}
	}
	lr->text = kv_xstrndup(d, len);
	return 0;
}

static int last_write(struct store *s, uint64_t thread_id, const struct last_rec *lr, struct kv_err *err)
{
	char key[32];
	struct sbuf v = SBUF_INIT;
	sbuf_addf(&v, "@kv1 %lld %lld %zu\n", (long long)lr->oldest, (long long)lr->newest, strlen(lr->text));
	sbuf_adds(&v, lr->text);
	if (lr->prev)
		sbuf_adds(&v, lr->prev);
	snprintf(key, sizeof(key), "%llu", (unsigned long long)thread_id);
	int rc = store_kv_put(s, "summary_last", key, v.buf, v.len, err);
	sbuf_release(&v);
	return rc;
}

char *memory_last(struct store_reader *r, uint64_t thread_id)
{
	struct last_rec lr;
	if (last_read(r, thread_id, &lr) != 0)
		return NULL;
	char *t = lr.text;
	lr.text = NULL;
	last_rec_release(&lr);
	if (!*t) {
		free(t);
		return NULL;
	}
	return t;
}

int memory_remember(struct store *s, uint64_t thread_id, int64_t oldest, int64_t newest,
		    const char *text, struct kv_err *err)
{
	if (!text || !*text)
		return 0;
	struct store_reader *r;
	struct last_rec lr;
	if (store_reader_begin(s, &r, err) < 0)
		return -1;
	int have = last_read(r, thread_id, &lr) == 0;
	store_reader_end(r);
	/* a later week's memory stays; the same or an older week is replaced */
	int later = have && lr.has_range && lr.oldest > newest;
	/* built on: the older week's memory, or for a re-run of the same
	 * week what that one was built on */
	char *prev = NULL;
	if (have && (!lr.has_range || lr.newest < oldest))
		prev = kv_xstrdup(lr.text);
	else if (have && lr.prev)
		prev = kv_xstrdup(lr.prev);
	if (have)
		last_rec_release(&lr);
	if (later) {
		free(prev);
		return 0;
	}
	struct last_rec nr = { 1, oldest, newest, kv_xstrdup(text), prev };
	int rc = last_write(s, thread_id, &nr, err);
	last_rec_release(&nr);
	return rc;
}

/*
 * When the caller's "earlier" is our remembered summary of this very window
 * (a re-run) or of a later one (an old week regenerated), it is not earlier
 * discussion: the summary that one was built on is used instead.
 */
void memory_window_check(struct store_reader *r, uint64_t thread_id, struct memory_window *w)
{
	struct last_rec lr;
	w->owned = NULL;
	w->remember = 1;
	if (last_read(r, thread_id, &lr) != 0)
		return;
	if (lr.has_range && lr.newest >= w->oldest) {
		int later = lr.oldest > w->newest;
		if (w->earlier && !strcmp(w->earlier, lr.text)) {
			/* A re-run: what this window was built on. An older week
			 * regenerated: we do not know its earlier discussion. */
			w->owned = !later && lr.prev && *lr.prev ? kv_xstrdup(lr.prev) : NULL;
			w->earlier = w->owned;
		}
		if (later)
			w->remember = 0;   /* a later week is remembered: keep it */
	}
	last_rec_release(&lr);
}

int memory_window_remember(struct store *s, uint64_t thread_id, const struct memory_window *w,
			   const char *text, struct kv_err *err)
{
	struct last_rec lr = { 1, w->oldest, w->newest, kv_xstrdup(text), kv_xstrdup(w->earlier ? w->earlier : "") };
	int rc = last_write(s, thread_id, &lr, err);
	last_rec_release(&lr);
	return rc;
}
