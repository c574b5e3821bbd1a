/*
 * backfill.c - the lore backfill (see backfill.h): find the missing parents
 * of the window's thread roots, fetch each from the archive with one GET,
 * check it, store it flagged, and climb to its own parent.
 *
 * Why roots only: a thread's root is the mail whose parents the store does
 * not have, so the gaps that change what a digest says about a thread
 * ("About", the series it belongs to) are exactly above the roots. Gaps
 * between stored mails deeper in a thread do not change its root and are
 * left alone: each would cost a request for no visible gain.
 *
 * Nothing is remembered between runs: a mail the archive did not have is
 * asked for again next time (the archive may have caught up); one that was
 * stored is found in the store and never asked again, so a run stopped by
 * the cap leaves the next run the rest.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "backfill.h"
#include "digest.h"
#include "http.h"
#include "log.h"
#include "mime.h"
#include "store.h"
#include "banned.h"

void backfill_raw_url(struct sbuf *sb, const char *base, const char *message_id)
{
	/* the lore link already escapes the id the way public-inbox wants
	 * it; the raw mail sits under it */
	digest_lore_link(sb, base, message_id);
	sbuf_adds(sb, "raw");
}

/* The mail m replies to: In-Reply-To, else the last of References; NULL
 * when it names none. */
static const char *mail_parent(const char *irt, const struct strv *refs)
{
	if (irt && *irt)
		return irt;
	return refs && refs->n ? refs->v[refs->n - 1] : NULL;
}

static const char *rec_parent(const struct msg_rec *m)
{
	const char *last = NULL, *x = m->refs.p;
	if (m->in_reply_to && *m->in_reply_to)
		return m->in_reply_to;
	for (uint32_t i = 0; i < m->refs.n; i++, x += strlen(x) + 1)
		last = x;
	return last;
}

/* 1 when the store holds a mail with this Message-ID, 0 when not, -1. */
static int is_stored(struct store *s, const char *id, struct kv_err *err)
{
	struct store_reader *r;
	uint64_t num;
	size_t n = 0;
	int rc;

	if (store_reader_begin(s, &r, err) < 0)
		return -1;
	rc = store_msg_find(r, id, &num, 1, &n, err);
	store_reader_end(r);
	return rc < 0 ? -1 : rc == 0;
}

struct threads {
	uint64_t *v;
	size_t n, cap;
};

static int thread_cb(void *ctx, const struct msg_rec *m)
{
	struct threads *t = ctx;
	if (t->n && t->v[t->n - 1] == m->thread)
		return 0;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->v = kv_xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	t->v[t->n++] = m->thread;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The missing parents of the roots of threads with mail in the window, in
 * thread order, each once. 0 / -1. */
static int find_wanted(struct store *s, int64_t since, int64_t until, struct strv *wanted,
		       struct kv_err *err)
{
	struct store_reader *r;
	struct threads th = { 0 };
	int rc = -1;

	if (store_reader_begin(s, &r, err) < 0)
		return -1;
	if (store_iter_window(r, since, until, thread_cb, &th, err) < 0)
		goto out;
	if (th.n)
		qsort(th.v, th.n, sizeof(*th.v), u64_cmp);
	for (size_t i = 0; i < th.n; i++) {
		struct thread_rec t;
		struct msg_rec root;
		const char *parent;
		uint64_t num;
		size_t n = 0;
		int g;

		if (i && th.v[i] == th.v[i - 1])
			continue;
		if ((g = store_thread_get(r, th.v[i], &t, err)) < 0)
			goto out;
		if (g == 1 || (g = store_msg_get(r, t.root, &root, err)) == 1)
			continue;
		if (g < 0)
			goto out;
		parent = rec_parent(&root);
		if (!parent || !*parent || strv_has(wanted, parent))
			continue;
		if ((g = store_msg_find(r, parent, &num, 1, &n, err)) < 0)
			goto out;
		if (g == 1)
			strv_push(wanted, parent);
	}
	rc = 0;
out:
	store_reader_end(r);
	free(th.v);
	return rc;
}

enum fetch_outcome { FETCH_STORED, FETCH_END, FETCH_STOP, FETCH_STORE_FAILED };

/* Fetch id, check it, store it flagged. On FETCH_STORED *next is its
 * parent (malloc'd) or NULL. */
static enum fetch_outcome fetch_one(struct store *s, const struct backfill_opts *o, const char *id,
				    struct backfill_result *res, char **next, struct kv_err *err)
{
	struct sbuf url = SBUF_INIT;
	struct http_response resp;
	enum fetch_outcome out = FETCH_END;
	struct mail m;
	struct kv_err perr;
	int parsed = 0;

	*next = NULL;
	backfill_raw_url(&url, o->base_url, id);
	res->requests++;
	if (http_get(url.buf, o->timeout_s, o->max_size, &resp) < 0) {
		if (resp.too_big) {
			res->rejected++;
			log_warn("backfill <%s>: rejected: %s", id, resp.error);
		} else if (resp.unreachable) {
			res->failed++;
			log_err("backfill <%s>: %s; no more fetches this run", id, resp.error);
			out = FETCH_STOP;
		} else {
			/* this URL's trouble (a redirect loop, a broken answer) */
			res->failed++;
			log_err("backfill <%s>: %s", id, resp.error);
		}
		goto done;
	}
	if (resp.status == 404 || resp.status == 410) {
		res->missing++;
		log_info("backfill <%s>: %s: HTTP %ld, not in the archive", id, url.buf, resp.status);
		goto done;
	}
	if (resp.status != 200) {
		res->failed++;
		log_err("backfill <%s>: %s: HTTP %ld", id, url.buf, resp.status);
		goto done;
	}
	/* from here on the bytes are untrusted mail: the parser and checks
	 * every delivered mail goes through */
	if (mime_parse(resp.body.buf ? resp.body.buf : "", resp.body.len, o->now, &m, &perr) < 0) {
		res->rejected++;
		log_warn("backfill <%s>: %s: rejected, not a mail: %s", id, url.buf, perr.msg);
		goto done;
	}
	parsed = 1;
	if (strcmp(m.message_id, id) != 0) {
		res->rejected++;
		log_warn("backfill <%s>: %s: rejected, the answer is <%.300s>", id, url.buf, m.message_id);
		goto done;
	}
	m.flags |= MAIL_BACKFILLED;
	{
		struct store_item it;
		memset(&it, 0, sizeof(it));
		it.raw = resp.body.buf;
		it.len = resp.body.len;
		it.arrival = o->now;
		it.parsed = &m;
		if (store_add_batch(s, &it, 1, err) < 0) {
			out = FETCH_STORE_FAILED;
			goto done;
		}
		if (it.status == STORE_SKIPPED) {
			res->rejected++;
			log_warn("backfill <%s>: %s: not stored: %s", id, url.buf, it.why);
			goto done;
		}
		if (it.status == STORE_ADDED)
			res->stored++;
		log_info("backfill <%s>: %s: stored as message %llu%s", id, url.buf,
			 (unsigned long long)it.num, it.status == STORE_ADDED ? "" : " (already there)");
	}
	{
		const char *p = mail_parent(m.in_reply_to, &m.refs);
		*next = p && *p ? kv_xstrdup(p) : NULL;
	}
	out = FETCH_STORED;
done:
	if (parsed)
		mail_release(&m);
	http_response_release(&resp);
	sbuf_release(&url);
	return out;
}

int backfill_run(struct store *s, const struct backfill_opts *o, int64_t since, int64_t until,
		 struct backfill_result *res, struct kv_err *err)
{
	struct strv wanted = STRV_INIT, asked = STRV_INIT;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (!o->base_url || !*o->base_url)
		return 0;
	if (find_wanted(s, since, until, &wanted, err) < 0)
		return -1;
	res->wanted = wanted.n;
	for (size_t i = 0; i < wanted.n && rc == 0; i++) {
		char *id = kv_xstrdup(wanted.v[i]);
		/* climb: each fetched mail's parent, until one is stored */
		while (id) {
			char *next = NULL;
			int st = strv_has(&asked, id) ? 1 : is_stored(s, id, err);
			if (st < 0) {
				rc = -1;
				break;
			}
			if (st)
				break;
			if ((long)res->requests >= o->max_fetch) {
				res->capped = 1;
				break;
			}
			strv_push(&asked, id);
			enum fetch_outcome f = fetch_one(s, o, id, res, &next, err);
			free(id);
			id = next;
			if (f == FETCH_STORE_FAILED)
				rc = -1;
			if (f == FETCH_STOP)
				rc = 1;
			if (f != FETCH_STORED)
				break;
		}
		free(id);
		if (res->capped)
			break;
	}
	if (res->capped)
		log_info("backfill: cap of %ld fetches reached; the next run goes on", o->max_fetch);
	if (res->wanted || res->requests)
		log_info("backfill: %zu missing roots, %zu requests, %zu stored, %zu not in the archive, "
			 "%zu rejected, %zu failed", res->wanted, res->requests, res->stored, res->missing,
			 res->rejected, res->failed);
	strv_release(&wanted);
	strv_release(&asked);
	return rc < 0 ? -1 : 0;
}
