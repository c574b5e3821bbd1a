/*
 * stats.c - `kvmarm-store stats`: counts for a date window (messages,
 * threads, new threads, categories, top senders, what the parser flagged).
 * Everything is counted over the window's messages only: mails of earlier
 * weeks in the same threads do not inflate the numbers.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mime.h"
#include "category.h"
#include "banned.h"

static const char stats_usage[] =
	"usage: kvmarm-store stats [--since D] [--until D] [--top N] [--json]\n"
	"\n"
	"Counts over the messages dated in [since, until) (UTC; D is YYYY-MM-DD\n"
	"or ISO 8601; a bound left out is open, so without either the whole\n"
	"store is counted): messages,\n"
	"threads with mail in the window, new threads (first message in the\n"
	"window), threads and messages per category, the N most active senders\n"
	"(default 10), and messages the parser flagged (repaired or guessed),\n"
	"in total and per flag. Store totals are added for reference. Mails the\n"
	"reporter fetched from the archive (flag backfilled) are not counted.\n"
	"\n"
	"--json: {since, until (ISO 8601 UTC, null when open), messages, threads, new_threads, categories:\n"
	"{NAME: {threads, messages}}, top_senders: [{name, address, messages}],\n"
	"flagged, flags: {NAME: count}, store: {messages, threads, ghosts, series}}.\n"
	"\n"
	"Exit status: 0 messages counted, 1 none in the window (the counts, all\n"
	"zero, are printed all the same), 2 usage, 3 store failure.\n";

struct sm {
	uint64_t thread;
	const char *name, *addr;   /* views valid until the reader ends */
};

struct acc {
	struct sm *v;
	size_t n, cap;
	uint64_t flag_counts[MAIL_FLAG_COUNT];
	uint64_t flagged;
};

static int acc_cb(void *ctx, const struct msg_rec *m)
{
	struct acc *a = ctx;
	/* a mail the reporter fetched from the archive (a thread's missing
	 * root) is context, not list traffic of the window */
	if (m->flags & MAIL_BACKFILLED)
		return 0;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->v = kv_xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n].thread = m->thread;
	a->v[a->n].name = m->from_name;
	a->v[a->n].addr = m->from_addr;
	a->n++;
	if (m->flags) {
		a->flagged++;
		for (unsigned i = 0; i < MAIL_FLAG_COUNT; i++)
			if (m->flags & (1u << i))
				a->flag_counts[i]++;
	}
	return 0;
}

static int cmp_thread(const void *x, const void *y)
{
	const struct sm *a = x, *b = y;
	return a->thread < b->thread ? -1 : a->thread > b->thread;
}

static const char *sender_key(const struct sm *s)
{
	return *s->addr ? s->addr : s->name;
}

static int cmp_sender(const void *x, const void *y)
{
	return strcmp(sender_key(x), sender_key(y));
}

struct sender {
	const char *name, *addr;
	uint64_t count;
};

static int cmp_count(const void *x, const void *y)
{
	const struct sender *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->addr, b->addr);
}

static const struct cli_opt stats_opts[] = {
	CLI_OPTS_WINDOW,
	{ "top", 1, OPT_TOP },
	CLI_OPT_JSON,
	CLI_OPTS_END,
};

static int cmd_stats(struct cli *c, const struct cli_args *args)
{
	const char *cmd = args->name;
	int json = cli_args_has(args, OPT_JSON), rc;
	long top = 10;
	struct cli_window win = CLI_WINDOW_ALL;
	int64_t since, until;
	struct kv_err err;

	if (args->npos)
		return cli_args_error(args, "unexpected argument '%s'", args->pos[0]);
	if (cli_args_count(args, OPT_TOP, 0, LONG_MAX, &top) < 0 || cli_window_args(args, &win) < 0)
		return CLI_USAGE;
	since = win.since;
	until = win.until;

	struct store *s;
	struct store_reader *r;
	struct acc a;
	memset(&a, 0, sizeof(a));
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		return rc;
	if (store_reader_begin(s, &r, &err) < 0) {
		store_close(s);
		return cli_error(CLI_FAIL, cmd, "%s", err.msg);
	}
	struct sender *senders = NULL;
	size_t nsenders = 0;
	uint64_t nthreads = 0, newthreads = 0, cat_threads[CAT_COUNT] = { 0 }, cat_msgs[CAT_COUNT] = { 0 };
	struct store_counts sc;
	struct sbuf out = SBUF_INIT;
	rc = CLI_OK;
	if (store_iter_window(r, since, until, acc_cb, &a, &err) < 0 || store_counts(r, &sc, &err) < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
		goto out;
	}
	/* threads and categories: group the window's messages by thread */
	if (a.n)
		qsort(a.v, a.n, sizeof(*a.v), cmp_thread);
	for (size_t i = 0; i < a.n;) {
		size_t j = i;
		while (j < a.n && a.v[j].thread == a.v[i].thread)
			j++;
		struct thread_rec t;
		int g = store_thread_get(r, a.v[i].thread, &t, &err);
		if (g != 0) {
			rc = cli_error(CLI_FAIL, cmd, "thread %llu: %s", (unsigned long long)a.v[i].thread,
				       g < 0 ? err.msg : "listed by a message but not stored (run check)");
			goto out;
		}
		unsigned cat = t.category < CAT_COUNT ? t.category : CAT_OTHER;
		nthreads++;
		cat_threads[cat]++;
		cat_msgs[cat] += j - i;
		if (t.first_date >= since && t.first_date < until)
			newthreads++;
		i = j;
	}
	/* senders */
	if (a.n)
		qsort(a.v, a.n, sizeof(*a.v), cmp_sender);
	senders = kv_xcalloc(a.n ? a.n : 1, sizeof(*senders));
	for (size_t i = 0; i < a.n;) {
		size_t j = i;
		const char *name = a.v[i].name;
		while (j < a.n && !strcmp(sender_key(&a.v[j]), sender_key(&a.v[i]))) {
			if (!*name)
				name = a.v[j].name;
			j++;
		}
		senders[nsenders].name = name;
		senders[nsenders].addr = a.v[i].addr;
		senders[nsenders].count = j - i;
		nsenders++;
		i = j;
	}
	if (nsenders)
		qsort(senders, nsenders, sizeof(*senders), cmp_count);
	size_t ntop = (size_t)top < nsenders ? (size_t)top : nsenders;

	/* an open bound: null in JSON, "*" in text */
	char b1[32], b2[32];
	const char *d1 = cli_window_iso(since, b1, sizeof(b1));
	const char *d2 = cli_window_iso(until, b2, sizeof(b2));
	if (json) {
		struct json_w w;
		json_w_init(&w, &out, 0);
		json_obj_begin(&w);
		json_key(&w, "since"); json_str(&w, d1);
		json_key(&w, "until"); json_str(&w, d2);
		json_key(&w, "messages"); json_int(&w, (int64_t)a.n);
		json_key(&w, "threads"); json_int(&w, (int64_t)nthreads);
		json_key(&w, "new_threads"); json_int(&w, (int64_t)newthreads);
		json_key(&w, "categories");
		json_obj_begin(&w);
		for (int k = 0; k < CAT_COUNT; k++) {
			json_key(&w, category_name((enum category)k));
			json_obj_begin(&w);
			json_key(&w, "threads"); json_int(&w, (int64_t)cat_threads[k]);
			json_key(&w, "messages"); json_int(&w, (int64_t)cat_msgs[k]);
			json_obj_end(&w);
		}
		json_obj_end(&w);
		json_key(&w, "top_senders");
		json_arr_begin(&w);
		for (size_t i = 0; i < ntop; i++) {
			json_obj_begin(&w);
			json_key(&w, "name"); json_str(&w, senders[i].name);
			json_key(&w, "address"); json_str(&w, senders[i].addr);
			json_key(&w, "messages"); json_int(&w, (int64_t)senders[i].count);
			json_obj_end(&w);
		}
		json_arr_end(&w);
		json_key(&w, "flagged"); json_int(&w, (int64_t)a.flagged);
		json_key(&w, "flags");
		json_obj_begin(&w);
		for (unsigned i = 0; i < MAIL_FLAG_COUNT; i++)
			if (a.flag_counts[i]) {
				json_key(&w, mail_flag_name(i));
				json_int(&w, (int64_t)a.flag_counts[i]);
			}
		json_obj_end(&w);
		json_key(&w, "store");
		json_obj_begin(&w);
		json_key(&w, "messages"); json_int(&w, (int64_t)sc.messages);
		json_key(&w, "threads"); json_int(&w, (int64_t)sc.threads);
		json_key(&w, "ghosts"); json_int(&w, (int64_t)sc.ghosts);
		json_key(&w, "series"); json_int(&w, (int64_t)sc.series);
		json_obj_end(&w);
		json_obj_end(&w);
		sbuf_addc(&out, '\n');
	} else {
		sbuf_addf(&out, "window      %s .. %s\n", d1 ? d1 : "*", d2 ? d2 : "*");
		sbuf_addf(&out, "messages    %zu\n", a.n);
		sbuf_addf(&out, "threads     %llu (%llu new)\n", (unsigned long long)nthreads,
			  (unsigned long long)newthreads);
		sbuf_addf(&out, "\ncategory      threads  messages\n");
		for (int k = 0; k < CAT_COUNT; k++)
			sbuf_addf(&out, "%-12s %8llu %9llu\n", category_name((enum category)k),
				  (unsigned long long)cat_threads[k], (unsigned long long)cat_msgs[k]);
		sbuf_addf(&out, "\ntop senders\n");
		for (size_t i = 0; i < ntop; i++)
			sbuf_addf(&out, "%6llu  %s <%s>\n", (unsigned long long)senders[i].count,
				  senders[i].name, senders[i].addr);
		sbuf_addf(&out, "\nflagged     %llu\n", (unsigned long long)a.flagged);
		for (unsigned i = 0; i < MAIL_FLAG_COUNT; i++)
			if (a.flag_counts[i])
				sbuf_addf(&out, "  %-20s %llu\n", mail_flag_name(i), (unsigned long long)a.flag_counts[i]);
		sbuf_addf(&out, "\nstore       %llu messages, %llu threads, %llu ghosts, %llu series\n",
			  (unsigned long long)sc.messages, (unsigned long long)sc.threads,
			  (unsigned long long)sc.ghosts, (unsigned long long)sc.series);
	}
	if (cli_out(out.buf, out.len) < 0)
		rc = cli_error(CLI_FAIL, cmd, "writing to stdout failed");
	else if (a.n == 0)
		rc = CLI_NOT_FOUND;   /* like threads, search and export on an empty window */
out:
	sbuf_release(&out);
	free(senders);
	free(a.v);
	store_reader_end(r);
	store_close(s);
	return rc;
}

const struct cli_cmd cli_cmd_stats = { "stats", cmd_stats, stats_opts, 0, stats_usage };
