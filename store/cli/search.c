/*
 * search.c - `kvmarm-store search`: messages matching every term of a
 * query (from:, subject:, list:, since:, until: and free words). A scan,
 * not an index: with since:/until: only the window's part of the date
 * index is read, and body text is only fetched for messages whose cheap
 * fields already match.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static const char search_usage[] =
	"usage: kvmarm-store search [--json] [--limit N] [--since D] [--until D] [--] TERM...\n"
	"\n"
	"Messages matching every term (AND). Terms:\n"
	"  from:TEXT      in the sender's name or address\n"
	"  subject:TEXT   in the subject\n"
	"  list:TEXT      in the List-Id\n"
	"  since:D        dated on or after D (YYYY-MM-DD or ISO 8601, UTC)\n"
	"  until:D        dated before D\n"
	"  TEXT           in the subject or the body text\n"
	"Matching is by substring, case-insensitive for ASCII letters; quote a\n"
	"term to include spaces (\"subject:vgic its\"). --since D and --until D\n"
	"are the same as since:D and until:D; without any, every message is\n"
	"searched. A term that starts with '-' goes after '--' (otherwise it\n"
	"is taken for an option): kvmarm-store search -- -subject:Re.\n"
	"\n"
	"Output: newest first, one line per message: number, date (UTC), thread\n"
	"id, sender, subject. --json: an array of {num, message_id, thread_id,\n"
	"date, from_name, from_address, subject}. --limit N: at most N results.\n"
	"\n"
	"Exit status: 0 matches found, 1 none, 2 usage, 3 store failure.\n";

/* Case-insensitive (ASCII) substring test on a counted haystack. */
static int ci_contains(const char *h, size_t hlen, const char *n, size_t nlen)
{
	if (!nlen)
		return 1;
	if (nlen > hlen)
		return 0;
	unsigned char f = (unsigned char)n[0];
	unsigned char fl = f >= 'A' && f <= 'Z' ? f + 32 : f;
	unsigned char fu = fl >= 'a' && fl <= 'z' ? fl - 32 : fl;
	for (size_t i = 0; i + nlen <= hlen; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c != fl && c != fu)
			continue;
		size_t k = 1;
		for (; k < nlen; k++) {
			unsigned char a = (unsigned char)h[i + k], b = (unsigned char)n[k];
			if (a >= 'A' && a <= 'Z')
				a += 32;
			if (b >= 'A' && b <= 'Z')
				b += 32;
			if (a != b)
				break;
		}
		if (k == nlen)
			return 1;
	}
	return 0;
}

static int has(const char *h, const char *n)
{
	return ci_contains(h, strlen(h), n, strlen(n));
}

struct query {
	struct strv from, subject, list, words;
	int64_t since, until;
	int have_window;
	struct store_reader *r;
	struct hit { uint64_t num; int64_t date; } *hits;
	size_t n, cap;
	struct kv_err err;
	int failed;
};

static int match_cb(void *ctx, const struct msg_rec *m)
{
	struct query *q = ctx;
	if (q->have_window && (m->date < q->since || m->date >= q->until))
		return 0;
	for (size_t i = 0; i < q->from.n; i++)
		if (!has(m->from_name, q->from.v[i]) && !has(m->from_addr, q->from.v[i]))
			return 0;
	for (size_t i = 0; i < q->subject.n; i++)
		if (!has(m->subject, q->subject.v[i]))
			return 0;
	for (size_t i = 0; i < q->list.n; i++)
		if (!has(m->list_id, q->list.v[i]))
			return 0;
	if (q->words.n) {
		const char *text = NULL;
		size_t tlen = 0;
		int got = 0;
		for (size_t i = 0; i < q->words.n; i++) {
			if (has(m->subject, q->words.v[i]))
				continue;
			if (!got) {
				int rc = store_msg_text(q->r, m->num, &text, &tlen, &q->err);
				if (rc < 0) {
					q->failed = 1;
					return 1;
				}
				if (rc == 1) {
					text = "";
					tlen = 0;
				}
				got = 1;
			}
			if (!ci_contains(text, tlen, q->words.v[i], strlen(q->words.v[i])))
				return 0;
		}
	}
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 256;
		q->hits = kv_xrealloc(q->hits, q->cap * sizeof(*q->hits));
	}
	q->hits[q->n].num = m->num;
	q->hits[q->n].date = m->date;
	q->n++;
	return 0;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->date != y->date)
		return x->date > y->date ? -1 : 1;
	return x->num > y->num ? -1 : x->num < y->num;
}

static const struct cli_opt search_opts[] = {
	CLI_OPT_JSON,
	{ "limit", 1, OPT_LIMIT },
	CLI_OPTS_WINDOW,
	CLI_OPTS_END,
};

static int cmd_search(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name;
	int json = cli_args_has(a, OPT_JSON), rc;
	long limit = 0;
	struct query q;
	struct cli_window win = CLI_WINDOW_ALL;

	if (cli_args_count(a, OPT_LIMIT, 1, LONG_MAX, &limit) < 0)
		return CLI_USAGE;
	if (!a->npos)
		return cli_args_error(a, "no search terms given");
	memset(&q, 0, sizeof(q));
	/* --since/--until and since:/until: terms set the same window */
	rc = cli_window_opts(a, &win) < 0 ? CLI_USAGE : CLI_OK;
	for (size_t i = 0; i < a->npos && rc == CLI_OK; i++) {
		const char *t = a->pos[i];
		if (!strncmp(t, "from:", 5))
			strv_push(&q.from, t + 5);
		else if (!strncmp(t, "subject:", 8))
			strv_push(&q.subject, t + 8);
		else if (!strncmp(t, "list:", 5))
			strv_push(&q.list, t + 5);
		else if (!strncmp(t, "since:", 6)) {
			if (cli_window_set(&win, cmd, "since:", t + 6, 0) < 0)
				rc = CLI_USAGE;
		} else if (!strncmp(t, "until:", 6)) {
			if (cli_window_set(&win, cmd, "until:", t + 6, 1) < 0)
				rc = CLI_USAGE;
		} else if (*t)
			strv_push(&q.words, t);
	}
	if (rc == CLI_OK && cli_window_check(&win, cmd) < 0)
		rc = CLI_USAGE;
	q.since = win.since;
	q.until = win.until;
	q.have_window = win.bounded;
	struct store *s = NULL;
	struct sbuf out = SBUF_INIT;
	if (rc != CLI_OK)
		goto out;
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		goto out;
	if (store_reader_begin(s, &q.r, &q.err) < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s", q.err.msg);
		goto out;
	}
	int irc = q.have_window ? store_iter_window(q.r, q.since, q.until, match_cb, &q, &q.err)
				: store_iter_all(q.r, match_cb, &q, &q.err);
	if (irc < 0 || q.failed) {
		rc = cli_error(CLI_FAIL, cmd, "%s", q.err.msg);
		goto out;
	}
	if (q.n)
		qsort(q.hits, q.n, sizeof(*q.hits), cmp_hit);
	size_t shown = limit && (size_t)limit < q.n ? (size_t)limit : q.n;
	struct json_w jw;
	if (json) {
		json_w_init(&jw, &out, 0);
		json_arr_begin(&jw);
	}
	for (size_t i = 0; i < shown; i++) {
		struct msg_rec m;
		char d[32];
		if (store_msg_get(q.r, q.hits[i].num, &m, &q.err) != 0) {
			rc = cli_error(CLI_FAIL, cmd, "message %llu vanished: %s", (unsigned long long)q.hits[i].num, q.err.msg);
			goto out;
		}
		cli_iso(m.date, d, sizeof(d));
		if (json) {
			json_obj_begin(&jw);
			json_key(&jw, "num");
			json_int(&jw, (int64_t)m.num);
			json_key(&jw, "message_id");
			json_str(&jw, m.message_id);
			json_key(&jw, "thread_id");
			json_int(&jw, (int64_t)m.thread);
			json_key(&jw, "date");
			json_str(&jw, d);
			json_key(&jw, "from_name");
			json_str(&jw, m.from_name);
			json_key(&jw, "from_address");
			json_str(&jw, m.from_addr);
			json_key(&jw, "subject");
			json_str(&jw, m.subject);
			json_obj_end(&jw);
		} else {
			sbuf_addf(&out, "%-7llu %.16s  thread %-6llu %s <%s>  %s\n", (unsigned long long)m.num, d,
				  (unsigned long long)m.thread, m.from_name, m.from_addr, m.subject);
		}
	}
	if (json) {
		json_arr_end(&jw);
		sbuf_addc(&out, '\n');
	}
	if (cli_out(out.buf, out.len) < 0)
		rc = cli_error(CLI_FAIL, cmd, "writing to stdout failed");
	else if (q.n == 0)
		rc = CLI_NOT_FOUND;
out:
	sbuf_release(&out);
	if (q.r)
		store_reader_end(q.r);
	if (s)
		store_close(s);
	strv_release(&q.from);
	strv_release(&q.subject);
	strv_release(&q.list);
	strv_release(&q.words);
	free(q.hits);
	return rc;
}

const struct cli_cmd cli_cmd_search = { "search", cmd_search, search_opts, 1, search_usage };
