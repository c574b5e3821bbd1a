/*
 * search.c - `kvmarm-store search`: the query language of store/query.h
 * over the store's word index, results newest first as threads, messages,
 * Message-IDs or an mbox, each also as JSON.
 */
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mbox.h"
#include "query.h"
#include "banned.h"

static const char search_usage[] =
	"usage: kvmarm-store search [--output threads|messages|ids|mbox] [--json]\n"
	"                           [--limit N] [--offset N] [--since D] [--until D] [--] QUERY...\n"
	"\n"
	"Messages matching QUERY (the arguments joined by spaces), in lore's\n"
	"query language, through the store's word index:\n"
	"  s: subject:  subject            f: from:  sender name or address\n"
	"  t: c: tc:    to, cc, either     a:        from, to or cc\n"
	"  b:           body (new and quoted text)\n"
	"  nq: q:       new (not quoted) text, quoted text\n"
	"  bs:          subject or body (what a word without prefix searches)\n"
	"  dfn:         diff file name: a path prefix (arch/arm64/kvm/) or a file\n"
	"               name or its words (vgic-init.c, vgic)\n"
	"  dfhh:        diff hunk header (function)   m:  Message-ID\n"
	"  l: list:     List-Id                       tr: trailer (*-by:) address or name\n"
	"  d:           date: YYYYMMDD, YYYY-MM-DD, ISO 8601, N.days.ago (also\n"
	"               hours, weeks, months, years), today, yesterday; one day,\n"
	"               or a range A..B, A.. or ..B (a date as end includes its day)\n"
	"  since:D until:D   on or after D, before D (UTC)\n"
	"  \"a phrase\"   words in this order     word*  every word starting so\n"
	"  *            every message\n"
	"  AND (implicit), OR, NOT or -term, ( )\n"
	"Words are matched whole, case-insensitive; kvm_vgic_init is found by\n"
	"itself and by kvm, vgic, init; CJK text by any two characters in a row.\n"
	"A query that cannot be parsed is a usage error naming the token. A query\n"
	"that starts with '-' goes after '--': kvmarm-store search -- -s:Re.\n"
	"\n"
	"Output, newest first; --limit N and --offset N count output lines:\n"
	"  threads   (default) one line per thread: thread id, newest matching\n"
	"            date, [matching/total] messages, subject\n"
	"  messages  number, date, thread id, sender, subject\n"
	"  ids       one Message-ID a line\n"
	"  mbox      an mboxrd of the raw messages (From_ lines, >From quoting),\n"
	"            for mutt -f\n"
	"--json: threads as {thread_id, date, matched, total, subject,\n"
	"root_message_id}; messages as {num, message_id, thread_id, date,\n"
	"from_name, from_address, subject}; ids as strings; mbox as\n"
	"{num, message_id, raw}.\n"
	"\n"
	"A store made before the word index (schema 1) says to run\n"
	"`kvmarm-store reindex` first. A phrase is checked in the mail's text\n"
	"unless its words are in the store's phrase pairs, which `reindex`\n"
	"builds (once, after the first import): the same results, faster.\n"
	"\n"
	"Exit status: 0 matches found, 1 none, 2 usage (a bad query), 3 store failure.\n";

enum { OUT_THREADS, OUT_MESSAGES, OUT_IDS, OUT_MBOX };

static const struct cli_opt search_opts[] = {
	CLI_OPT_JSON,
	{ "limit", 1, OPT_LIMIT },
	{ "offset", 1, OPT_OFFSET },
	{ "output", 1, OPT_OUTPUT },
	CLI_OPTS_WINDOW,
	CLI_OPTS_END,
};

/* a thread of the results: its newest matching message's date, and how
 * many match */
#define thr_hit query_thread

static int emit_message(struct store_reader *r, uint64_t num, int mode, int json, struct json_w *jw,
			struct sbuf *out, struct kv_err *err)
{
	struct msg_rec m;
	char d[32];

	if (store_msg_get(r, num, &m, err) != 0)
		return -1;
	cli_iso(m.date, d, sizeof(d));
	if (mode == OUT_IDS) {
		if (json)
			json_str(jw, m.message_id);
		else
			sbuf_addf(out, "%s\n", m.message_id);
		return 0;
	}
	if (mode == OUT_MBOX) {
		const char *raw;
		size_t len;
		if (store_msg_raw(r, num, &raw, &len, err) != 0)
			return -1;
		if (!json) {
			mbox_write_mboxrd(out, raw, len, m.from_addr, m.date);
			return 0;
		}
		char *clean = kv_utf8_sanitize(raw, len);
		json_obj_begin(jw);
		json_key(jw, "num");
		json_int(jw, (int64_t)m.num);
		json_key(jw, "message_id");
		json_str(jw, m.message_id);
		json_key(jw, "raw");
		json_str(jw, clean);
		json_obj_end(jw);
		free(clean);
		return 0;
	}
	if (json) {
		json_obj_begin(jw);
		json_key(jw, "num");
		json_int(jw, (int64_t)m.num);
		json_key(jw, "message_id");
		json_str(jw, m.message_id);
		json_key(jw, "thread_id");
		json_int(jw, (int64_t)m.thread);
		json_key(jw, "date");
		json_str(jw, d);
		json_key(jw, "from_name");
		json_str(jw, m.from_name);
		json_key(jw, "from_address");
		json_str(jw, m.from_addr);
		json_key(jw, "subject");
		json_str(jw, m.subject);
		json_obj_end(jw);
	} else {
		sbuf_addf(out, "%-7llu %.16s  thread %-6llu %s <%s>  %s\n", (unsigned long long)m.num, d,
			  (unsigned long long)m.thread, m.from_name, m.from_addr, m.subject);
	}
	return 0;
}

static int emit_thread(struct store_reader *r, const struct thr_hit *h, int json, struct json_w *jw,
		       struct sbuf *out, struct kv_err *err)
{
	struct thread_rec t;
	char d[32];

	if (store_thread_get(r, h->id, &t, err) != 0)
		return -1;
	cli_iso(h->date, d, sizeof(d));
	if (json) {
		json_obj_begin(jw);
		json_key(jw, "thread_id");
		json_int(jw, (int64_t)t.id);
		json_key(jw, "date");
		json_str(jw, d);
		json_key(jw, "matched");
		json_int(jw, (int64_t)h->matched);
		json_key(jw, "total");
		json_int(jw, (int64_t)t.count);
		json_key(jw, "subject");
		json_str(jw, t.subject);
		json_key(jw, "root_message_id");
		json_str(jw, t.root_message_id);
		json_obj_end(jw);
	} else {
		sbuf_addf(out, "thread %-6llu %.16s [%zu/%u] %s\n", (unsigned long long)t.id, d, h->matched,
			  t.count, t.subject);
	}
	return 0;
}

static int parse_output(const struct cli_args *a, int *mode)
{
	const char *o = cli_args_get(a, OPT_OUTPUT);
	static const char *const names[] = { "threads", "messages", "ids", "mbox" };

	*mode = OUT_THREADS;
	if (!o)
		return 0;
	for (int i = 0; i < 4; i++)
		if (!strcmp(o, names[i])) {
			*mode = i;
			return 0;
		}
	cli_args_error(a, "--output: '%s' is not threads, messages, ids or mbox", o);
	return -1;
}

static int cmd_search(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name;
	int json = cli_args_has(a, OPT_JSON), mode, rc;
	long limit = 0, offset = 0;
	struct cli_window win = CLI_WINDOW_ALL;
	struct query *q = NULL;
	struct kv_err err;
	struct sbuf text = SBUF_INIT, out = SBUF_INIT;
	struct store *s = NULL;
	struct store_reader *r = NULL;
	uint64_t *nums = NULL;
	int64_t *dates = NULL;
	struct thr_hit *th = NULL;
	size_t n = 0, nth = 0;

	/* the result lists of a broad query are megabytes, made and freed
	 * one after the other: from the heap, kept, their pages are touched
	 * (a page fault each) once, not once per list */
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	if (cli_args_count(a, OPT_LIMIT, 1, LONG_MAX, &limit) < 0 ||
	    (cli_args_get(a, OPT_OFFSET) && cli_args_count(a, OPT_OFFSET, 0, LONG_MAX, &offset) < 0) ||
	    parse_output(a, &mode) < 0)
		return CLI_USAGE;
	if (!a->npos)
		return cli_args_error(a, "no query given");
	if (cli_window_opts(a, &win) < 0 || cli_window_check(&win, cmd) < 0)
		return CLI_USAGE;
	for (size_t i = 0; i < a->npos; i++) {
		if (i)
			sbuf_addc(&text, ' ');
		sbuf_adds(&text, a->pos[i]);
	}
	if (query_parse(text.buf, (int64_t)time(NULL), &q, &err) < 0) {
		rc = cli_error(CLI_USAGE, cmd, "bad query: %s", err.msg);
		goto out;
	}
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		goto out;
	rc = store_index_ready(s, &err);
	if (rc <= 0) {
		rc = rc < 0 ? cli_error(CLI_FAIL, cmd, "%s", err.msg)
			    : cli_error(CLI_FAIL, cmd, "%s: the store has no word index yet (made before "
					"schema 3): run `kvmarm-store reindex`", store_path(s));
		goto out;
	}
	rc = CLI_OK;
	if (store_reader_begin(s, &r, &err) < 0 || query_run(r, q, &nums, &n, &err) < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
		goto out;
	}
	if (mode == OUT_THREADS) {
		/* each thread's newest match and count, without ordering every
		 * message */
		if (query_threads_newest(r, nums, n, win.bounded ? win.since : INT64_MIN,
					 win.bounded ? win.until : INT64_MAX, &th, &nth, &err) < 0) {
			rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
			goto out;
		}
		n = nth;   /* none in the window: none found */
	} else {
		if (query_order_newest(r, nums, n, &dates, NULL, &err) < 0) {
			rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
			goto out;
		}
		if (win.bounded) {   /* --since/--until: the same as a d: range */
			size_t w = 0;
			for (size_t i = 0; i < n; i++)
				if (dates[i] >= win.since && dates[i] < win.until) {
					nums[w] = nums[i];
					dates[w++] = dates[i];
				}
			n = w;
		}
	}
	struct json_w jw;
	size_t total = mode == OUT_THREADS ? nth : n;
	size_t from = (size_t)offset < total ? (size_t)offset : total;
	size_t to = limit && (size_t)limit < total - from ? from + (size_t)limit : total;
	if (json) {
		json_w_init(&jw, &out, 0);
		json_arr_begin(&jw);
	}
	for (size_t i = from; i < to; i++) {
		int erc = mode == OUT_THREADS ? emit_thread(r, &th[i], json, &jw, &out, &err)
					      : emit_message(r, nums[i], mode, json, &jw, &out, &err);
		if (erc < 0) {
			rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
			goto out;
		}
		/* written out in small pieces: a buffer that grew to megabytes
		 * would cost a page fault per fresh page */
		if (out.len >= (64u << 10) && !json) {
			if (cli_out(out.buf, out.len) < 0) {
				rc = cli_error(CLI_FAIL, cmd, "writing to stdout failed");
				goto out;
			}
			sbuf_reset(&out);
		}
	}
	if (json) {
		json_arr_end(&jw);
		sbuf_addc(&out, '\n');
	}
	if (cli_out(out.buf, out.len) < 0)
		rc = cli_error(CLI_FAIL, cmd, "writing to stdout failed");
	else if (n == 0)
		rc = CLI_NOT_FOUND;
out:
	sbuf_release(&out);
	sbuf_release(&text);
	query_free(q);
	if (r)
		store_reader_end(r);
	if (s)
		store_close(s);
	free(nums);
	free(dates);
	free(th);
	return rc;
}

const struct cli_cmd cli_cmd_search = { "search", cmd_search, search_opts, 1, search_usage };
