/*
 * query.c - `kvmarm-store threads`, `show` and `msg`: reading threads and
 * messages out of the store, as text for people and JSON for tools.
 *
 * threads walks the date index of the window once (store_iter_window) and
 * groups by thread in a small hash table, so a week costs a few thousand
 * record reads whatever the size of the store.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mime.h"
#include "category.h"
#include "kvtime.h"
#include "banned.h"

static const char threads_usage[] =
	"usage: kvmarm-store threads [--since D] [--until D] [--json]\n"
	"\n"
	"The threads with at least one message dated in [since, until) (UTC;\n"
	"D is YYYY-MM-DD or ISO 8601). A bound left out is open: without\n"
	"--since and --until every thread of the store is listed. Ordered by the\n"
	"thread's first date.\n"
	"\n"
	"Text: one line per thread: thread id, first date, category, messages in\n"
	"the window / in the thread, participants in the window, subject.\n"
	"\n"
	"--json: an array of objects with thread_id, subject, category,\n"
	"root_message_id, messages (count in the window), message_ids (in the\n"
	"window, date order, without <>), total_messages (whole thread),\n"
	"participants (distinct senders in the window), participant_list\n"
	"([{name, address, messages}]), first_date and last_date (ISO 8601 UTC,\n"
	"whole thread), series (null, or {id, title, author, versions: [{version,\n"
	"thread_id, date, message_id, subject}]}).\n"
	"\n"
	"Exit status: 0 threads found, 1 none, 2 usage, 3 store failure.\n";

static const char show_usage[] =
	"usage: kvmarm-store show [--json] [--tz ZONE] THREAD|MESSAGE-ID\n"
	"\n"
	"One thread as a tree (replies indented under their parent), given by\n"
	"thread id (a number) or by the Message-ID of any of its messages (with\n"
	"or without <>). Dates are shown in ZONE (an IANA name such as\n"
	"Europe/London; default UTC).\n"
	"\n"
	"--json: the thread object of `threads --json` for the whole thread, with\n"
	"message_count, and messages: an array in tree order of {num, message_id,\n"
	"parent (message id or null), depth, from_name, from_address, subject,\n"
	"date (ISO 8601 UTC), flags (what the parser repaired or guessed)}.\n"
	"\n"
	"Exit status: 0 found, 1 no such thread or message, 2 usage, 3 store failure.\n";

static const char msg_usage[] =
	"usage: kvmarm-store msg [--raw | --json] MESSAGE-ID|NUMBER\n"
	"\n"
	"One message: its decoded headers and body text, or with --raw its exact\n"
	"bytes as they arrived, or with --json an object with the parsed fields\n"
	"and the text. MESSAGE-ID with or without <>; a number is a message\n"
	"number. When several different messages share a Message-ID the lowest\n"
	"number is shown and stderr says so.\n"
	"\n"
	"Exit status: 0 found, 1 not found, 2 usage, 3 store failure.\n";

/* ---- threads ---- */

struct group {
	uint64_t thread;
	struct strv ids;
	struct cli_people people;
	struct thread_rec t;
};

struct window {
	struct group *g;
	size_t n, cap;
	size_t *slots;       /* hash: thread id -> index + 1 */
	size_t nslots;
};

static size_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static void window_grow(struct window *w)
{
	size_t ns = w->nslots ? w->nslots * 2 : 256;
	size_t *s = kv_xcalloc(ns, sizeof(*s));
	for (size_t i = 0; i < w->n; i++) {
		size_t h = hash64(w->g[i].thread) & (ns - 1);
		while (s[h])
			h = (h + 1) & (ns - 1);
		s[h] = i + 1;
	}
	free(w->slots);
	w->slots = s;
	w->nslots = ns;
}

static struct group *window_group(struct window *w, uint64_t thread)
{
	if (w->n * 2 >= w->nslots)
		window_grow(w);
	size_t h = hash64(thread) & (w->nslots - 1);
	while (w->slots[h]) {
		struct group *g = &w->g[w->slots[h] - 1];
		if (g->thread == thread)
			return g;
		h = (h + 1) & (w->nslots - 1);
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->g = kv_xrealloc(w->g, w->cap * sizeof(*w->g));
	}
	struct group *g = &w->g[w->n];
	memset(g, 0, sizeof(*g));
	g->thread = thread;
	w->slots[h] = ++w->n;
	return g;
}

static int window_cb(void *ctx, const struct msg_rec *m)
{
	struct group *g = window_group(ctx, m->thread);
	strv_push(&g->ids, m->message_id);
	cli_people_add(&g->people, m->from_name, m->from_addr);
	return 0;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->t.first_date != y->t.first_date)
		return x->t.first_date < y->t.first_date ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

static const struct cli_opt threads_opts[] = {
	CLI_OPTS_WINDOW,
	CLI_OPT_JSON,
	CLI_OPTS_END,
};

static int cmd_threads(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name;
	int json = cli_args_has(a, OPT_JSON), rc;
	struct cli_window win = CLI_WINDOW_ALL;

	if (a->npos)
		return cli_args_error(a, "unexpected argument '%s'", a->pos[0]);
	if (cli_window_args(a, &win) < 0)
		return CLI_USAGE;

	struct store *s;
	struct store_reader *r;
	struct kv_err err;
	struct window w = { 0 };
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		return rc;
	if (store_reader_begin(s, &r, &err) < 0) {
		store_close(s);
		return cli_error(CLI_FAIL, cmd, "%s", err.msg);
	}
	rc = CLI_OK;
	if (store_iter_window(r, win.since, win.until, window_cb, &w, &err) < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < w.n; i++) {
		int g = store_thread_get(r, w.g[i].thread, &w.g[i].t, &err);
		if (g != 0) {
			rc = cli_error(CLI_FAIL, cmd, "thread %llu: %s", (unsigned long long)w.g[i].thread,
				       g < 0 ? err.msg : "listed by a message but not stored (run check)");
			goto out;
		}
	}
	if (w.n)
		qsort(w.g, w.n, sizeof(*w.g), cmp_group);

	struct sbuf out = SBUF_INIT;
	if (json) {
		struct json_w jw;
		json_w_init(&jw, &out, 0);
		json_arr_begin(&jw);
		for (size_t i = 0; i < w.n && rc == CLI_OK; i++) {
			json_obj_begin(&jw);
			if (cli_json_thread(&jw, r, &w.g[i].t, &w.g[i].ids, &w.g[i].people, &err) < 0)
				rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
			json_obj_end(&jw);
		}
		json_arr_end(&jw);
		sbuf_addc(&out, '\n');
	} else {
		for (size_t i = 0; i < w.n; i++) {
			const struct group *g = &w.g[i];
			char d[32];
			cli_iso(g->t.first_date, d, sizeof(d));
			sbuf_addf(&out, "%-6llu %.10s  %-10s %4zu/%-4u %3zu  %s\n", (unsigned long long)g->thread, d,
				  category_name((enum category)(g->t.category < CAT_COUNT ? g->t.category : CAT_OTHER)),
				  g->ids.n, g->t.count, g->people.n, g->t.subject);
		}
	}
	if (rc == CLI_OK && cli_out(out.buf, out.len) < 0)
		rc = cli_error(CLI_FAIL, cmd, "writing to stdout failed");
	sbuf_release(&out);
	if (rc == CLI_OK && w.n == 0)
		rc = CLI_NOT_FOUND;
out:
	for (size_t i = 0; i < w.n; i++) {
		strv_release(&w.g[i].ids);
		cli_people_release(&w.g[i].people);
	}
	free(w.g);
	free(w.slots);
	store_reader_end(r);
	store_close(s);
	return rc;
}

const struct cli_cmd cli_cmd_threads = { "threads", cmd_threads, threads_opts, 0, threads_usage };

/* ---- show ---- */

struct node {
	struct msg_rec m;
	long parent;          /* index in nodes, -1 for none */
	long first_child, next_sibling, last_child;
	int depth;
	int seen;
};

struct numidx {
	uint64_t num;
	size_t idx;
};

static int cmp_numidx(const void *a, const void *b)
{
	const struct numidx *x = a, *y = b;
	return x->num < y->num ? -1 : x->num > y->num;
}

static long find_idx(const struct numidx *v, size_t n, uint64_t num)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].num == num ? (long)v[lo].idx : -1;
}

/* "YYYY-MM-DD HH:MM" of t in the zone offset off (seconds). */
static void local_time(int64_t t, int off, char *buf, size_t n)
{
	struct tm tm;
	kvtime_gmtime(t + off, &tm);
	if (!strftime(buf, n, "%Y-%m-%d %H:%M", &tm) && n)
		buf[0] = 0;
}

/* Tree order: depth-first from the roots, children in date order; members
 * left over (parent links in a cycle) become roots too. */
static size_t tree_order(struct node *nd, size_t n, size_t *order)
{
	size_t k = 0, *stack = kv_xmalloc((n + 1) * sizeof(*stack));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			if (nd[i].seen || (pass == 0 && nd[i].parent >= 0))
				continue;
			size_t sp = 0;
			stack[sp++] = i;
			nd[i].depth = 0;
			while (sp) {
				size_t x = stack[--sp];
				if (nd[x].seen)
					continue;
				nd[x].seen = 1;
				order[k++] = x;
				/* push children in reverse so the earliest comes out first */
				size_t cnt = 0;
				for (long ch = nd[x].first_child; ch >= 0; ch = nd[ch].next_sibling)
					cnt++;
				sp += cnt;
				size_t pos = sp;
				for (long ch = nd[x].first_child; ch >= 0; ch = nd[ch].next_sibling) {
					stack[--pos] = (size_t)ch;
					nd[ch].depth = nd[x].depth + 1;
				}
			}
		}
	}
	free(stack);
	return k;
}

static const struct cli_opt show_opts[] = {
	CLI_OPT_JSON,
	{ "tz", 1, OPT_TZ },
	CLI_OPTS_END,
};

static int cmd_show(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name, *zone = cli_args_get(a, OPT_TZ);
	int json = cli_args_has(a, OPT_JSON), rc, off;
	struct kv_err err;

	if (!zone)
		zone = "UTC";
	if (a->npos != 1)
		return cli_args_error(a, a->npos ? "one thread or message only" : "no thread or message given");
	const char *arg = a->pos[0];
	if (kvtime_zone_offset(zone, (int64_t)time(NULL), &off, &err) < 0)
		return cli_error(CLI_USAGE, cmd, "--tz: unknown zone '%s'", zone);

	struct store *s;
	struct store_reader *r;
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		return rc;
	if (store_reader_begin(s, &r, &err) < 0) {
		store_close(s);
		return cli_error(CLI_FAIL, cmd, "%s", err.msg);
	}

	struct thread_rec t;
	uint64_t tid = 0, *nums = NULL;
	size_t n = 0;
	struct node *nd = NULL;
	struct numidx *ix = NULL;
	size_t *order = NULL;
	struct sbuf out = SBUF_INIT;
	int found = 1;
	rc = CLI_OK;

	if (*arg && strspn(arg, "0123456789") == strlen(arg)) {
		tid = strtoull(arg, NULL, 10);
		found = store_thread_get(r, tid, &t, &err);
	}
	if (found == 1) {
		uint64_t num;
		size_t nm;
		struct msg_rec m;
		found = cli_find_msg(r, arg, &num, &nm, &err);
		if (found == 0 && (found = store_msg_get(r, num, &m, &err)) == 0) {
			tid = m.thread;
			found = store_thread_get(r, tid, &t, &err);
		}
	}
	if (found < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
		goto out;
	}
	if (found == 1) {
		rc = cli_error(CLI_NOT_FOUND, cmd, "no thread or message '%s'", arg);
		goto out;
	}
	if (store_thread_members(r, tid, &nums, &n, &err) < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
		goto out;
	}
	nd = kv_xcalloc(n ? n : 1, sizeof(*nd));
	ix = kv_xcalloc(n ? n : 1, sizeof(*ix));
	order = kv_xcalloc(n ? n : 1, sizeof(*order));
	for (size_t i = 0; i < n; i++) {
		if (store_msg_get(r, nums[i], &nd[i].m, &err) != 0) {
			rc = cli_error(CLI_FAIL, cmd, "thread %llu: message %llu: %s", (unsigned long long)tid,
				       (unsigned long long)nums[i], "listed as a member but not readable (run check)");
			goto out;
		}
		ix[i].num = nums[i];
		ix[i].idx = i;
		nd[i].parent = nd[i].first_child = nd[i].next_sibling = nd[i].last_child = -1;
	}
	qsort(ix, n, sizeof(*ix), cmp_numidx);
	for (size_t i = 0; i < n; i++) {
		uint64_t pnum = 0;
		if (store_msg_parent(r, &nd[i].m, &pnum, &err) < 0) {
			rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
			goto out;
		}
		long p = pnum ? find_idx(ix, n, pnum) : -1;
		if (p < 0 || (size_t)p == i)
			continue;
		nd[i].parent = p;
		if (nd[p].last_child < 0)
			nd[p].first_child = (long)i;
		else
			nd[nd[p].last_child].next_sibling = (long)i;
		nd[p].last_child = (long)i;
	}
	size_t k = tree_order(nd, n, order);

	struct cli_people people = { 0 };
	for (size_t i = 0; i < n; i++)
		cli_people_add(&people, nd[i].m.from_name, nd[i].m.from_addr);
	if (json) {
		struct json_w jw;
		char d[32];
		json_w_init(&jw, &out, 0);
		json_obj_begin(&jw);
		if (cli_json_thread(&jw, r, &t, NULL, &people, &err) < 0)
			rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
		json_key(&jw, "message_count");
		json_int(&jw, (int64_t)n);
		json_key(&jw, "messages");
		json_arr_begin(&jw);
		for (size_t q = 0; q < k; q++) {
			const struct node *x = &nd[order[q]];
			json_obj_begin(&jw);
			json_key(&jw, "num");
			json_int(&jw, (int64_t)x->m.num);
			json_key(&jw, "message_id");
			json_str(&jw, x->m.message_id);
			json_key(&jw, "parent");
			json_str(&jw, x->parent >= 0 ? nd[x->parent].m.message_id : NULL);
			json_key(&jw, "depth");
			json_int(&jw, x->depth);
			json_key(&jw, "from_name");
			json_str(&jw, x->m.from_name);
			json_key(&jw, "from_address");
			json_str(&jw, x->m.from_addr);
			json_key(&jw, "subject");
			json_str(&jw, x->m.subject);
			cli_iso(x->m.date, d, sizeof(d));
			json_key(&jw, "date");
			json_str(&jw, d);
			json_key(&jw, "flags");
			cli_json_flags(&jw, x->m.flags);
			json_obj_end(&jw);
		}
		json_arr_end(&jw);
		json_obj_end(&jw);
		sbuf_addc(&out, '\n');
	} else {
		char d1[32], d2[32];
		kvtime_zone_offset(zone, t.first_date, &off, NULL);
		local_time(t.first_date, off, d1, sizeof(d1));
		kvtime_zone_offset(zone, t.last_date, &off, NULL);
		local_time(t.last_date, off, d2, sizeof(d2));
		sbuf_addf(&out, "thread %llu: %s\n", (unsigned long long)t.id, t.subject);
		sbuf_addf(&out, "%s, %zu messages, %zu participants, %s .. %s (%s)\n",
			  category_name((enum category)(t.category < CAT_COUNT ? t.category : CAT_OTHER)),
			  n, people.n, d1, d2, zone);
		if (t.series) {
			struct series_rec sr;
			if (store_series_get(r, t.series, &sr, &err) == 0) {
				sbuf_addf(&out, "series %llu: %s:", (unsigned long long)sr.id, sr.title);
				for (size_t i = 0; i < sr.nversions; i++)
					sbuf_addf(&out, " v%d (thread %llu)", sr.versions[i].version,
						  (unsigned long long)sr.versions[i].thread);
				sbuf_addc(&out, '\n');
				free(sr.versions);
			}
		}
		sbuf_addc(&out, '\n');
		for (size_t q = 0; q < k; q++) {
			const struct node *x = &nd[order[q]];
			char d[32];
			kvtime_zone_offset(zone, x->m.date, &off, NULL);
			local_time(x->m.date, off, d, sizeof(d));
			sbuf_addf(&out, "%s  ", d);
			for (int dd = 0; dd < x->depth && dd < 40; dd++)
				sbuf_adds(&out, "  ");
			if (*x->m.from_name)
				sbuf_addf(&out, "%s <%s>", x->m.from_name, x->m.from_addr);
			else
				sbuf_addf(&out, "<%s>", x->m.from_addr);
			sbuf_addf(&out, "  %s\n", x->m.subject);
		}
	}
	cli_people_release(&people);
	if (rc == CLI_OK && cli_out(out.buf, out.len) < 0)
		rc = cli_error(CLI_FAIL, cmd, "writing to stdout failed");
out:
	sbuf_release(&out);
	free(nums);
	free(nd);
	free(ix);
	free(order);
	store_reader_end(r);
	store_close(s);
	return rc;
}

const struct cli_cmd cli_cmd_show = { "show", cmd_show, show_opts, 1, show_usage };

/* ---- msg ---- */

static void text_list(struct sbuf *sb, const char *name, struct store_strs l, const char *pre, const char *post)
{
	if (!l.n)
		return;
	sbuf_addf(sb, "%s:", name);
	const char *x = l.p;
	for (uint32_t i = 0; i < l.n; i++, x += strlen(x) + 1)
		sbuf_addf(sb, "%s %s%s%s", i ? "," : "", pre, x, post);
	sbuf_addc(sb, '\n');
}

static void json_list(struct json_w *w, const char *key, struct store_strs l)
{
	json_key(w, key);
	json_arr_begin(w);
	const char *x = l.p;
	for (uint32_t i = 0; i < l.n; i++, x += strlen(x) + 1)
		json_str(w, x);
	json_arr_end(w);
}

static const struct cli_opt msg_opts[] = {
	{ "raw", 0, OPT_RAW },
	CLI_OPT_JSON,
	CLI_OPTS_END,
};

static int cmd_msg(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name;
	int raw = cli_args_has(a, OPT_RAW), json = cli_args_has(a, OPT_JSON), rc;
	struct kv_err err;

	if (raw && json)
		return cli_args_error(a, "--raw and --json exclude each other");
	if (a->npos != 1)
		return cli_args_error(a, a->npos ? "one message only" : "no message given");
	const char *arg = a->pos[0];
	struct store *s;
	struct store_reader *r;
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		return rc;
	if (store_reader_begin(s, &r, &err) < 0) {
		store_close(s);
		return cli_error(CLI_FAIL, cmd, "%s", err.msg);
	}
	uint64_t num;
	size_t nm;
	struct msg_rec m;
	const char *data, *text;
	size_t len, tlen;
	struct sbuf out = SBUF_INIT;
	int f = cli_find_msg(r, arg, &num, &nm, &err);
	if (f == 0)
		f = store_msg_get(r, num, &m, &err);
	if (f < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s", err.msg);
		goto out;
	}
	if (f == 1) {
		rc = cli_error(CLI_NOT_FOUND, cmd, "no message '%s'", arg);
		goto out;
	}
	if (nm > 1)
		cli_error(0, cmd, "note: %zu messages have Message-ID <%s>; showing number %llu", nm,
			  m.message_id, (unsigned long long)num);
	if (raw) {
		if (store_msg_raw(r, num, &data, &len, &err) != 0) {
			rc = cli_error(CLI_FAIL, cmd, "message %llu: raw bytes missing: %s", (unsigned long long)num, err.msg);
			goto out;
		}
		if (cli_out(data, len) < 0)
			rc = cli_error(CLI_FAIL, cmd, "writing to stdout failed");
		goto out;
	}
	if (store_msg_text(r, num, &text, &tlen, &err) != 0) {
		text = "";
		tlen = 0;
	}
	char d[32];
	cli_iso(m.date, d, sizeof(d));
	if (json) {
		struct json_w jw;
		json_w_init(&jw, &out, 0);
		json_obj_begin(&jw);
		json_key(&jw, "num");
		json_int(&jw, (int64_t)m.num);
		json_key(&jw, "thread_id");
		json_int(&jw, (int64_t)m.thread);
		json_key(&jw, "message_id");
		json_str(&jw, m.message_id);
		json_key(&jw, "in_reply_to");
		json_str(&jw, *m.in_reply_to ? m.in_reply_to : NULL);
		json_list(&jw, "references", m.refs);
		json_key(&jw, "date");
		json_str(&jw, d);
		json_key(&jw, "tz_offset");
		json_int(&jw, m.tz_offset);
		json_key(&jw, "from_name");
		json_str(&jw, m.from_name);
		json_key(&jw, "from_address");
		json_str(&jw, m.from_addr);
		json_list(&jw, "to", m.to);
		json_list(&jw, "cc", m.cc);
		json_key(&jw, "subject");
		json_str(&jw, m.subject);
		json_key(&jw, "list_id");
		json_str(&jw, *m.list_id ? m.list_id : NULL);
		json_key(&jw, "flags");
		cli_json_flags(&jw, m.flags);
		json_list(&jw, "attachments", m.atts);
		json_key(&jw, "raw_bytes");
		json_int(&jw, (int64_t)m.raw_len);
		json_key(&jw, "text");
		json_strn(&jw, text, tlen);
		json_obj_end(&jw);
		sbuf_addc(&out, '\n');
	} else {
		struct sbuf fl = SBUF_INIT;
		cli_flags_text(&fl, m.flags);
		sbuf_addf(&out, "Message-ID: <%s>\n", m.message_id);
		sbuf_addf(&out, "Number: %llu (thread %llu)\n", (unsigned long long)m.num, (unsigned long long)m.thread);
		sbuf_addf(&out, "Date: %s (sender's zone %+03d%02d)\n", d, m.tz_offset / 60,
			  abs(m.tz_offset) % 60);
		if (*m.from_name)
			sbuf_addf(&out, "From: %s <%s>\n", m.from_name, m.from_addr);
		else
			sbuf_addf(&out, "From: <%s>\n", m.from_addr);
		text_list(&out, "To", m.to, "", "");
		text_list(&out, "Cc", m.cc, "", "");
		sbuf_addf(&out, "Subject: %s\n", m.subject);
		if (*m.in_reply_to)
			sbuf_addf(&out, "In-Reply-To: <%s>\n", m.in_reply_to);
		text_list(&out, "References", m.refs, "<", ">");
		if (*m.list_id)
			sbuf_addf(&out, "List-Id: <%s>\n", m.list_id);
		if (fl.len)
			sbuf_addf(&out, "Flags: %s\n", fl.buf);
		text_list(&out, "Attachments", m.atts, "", "");
		sbuf_release(&fl);
		sbuf_addc(&out, '\n');
		sbuf_add(&out, text, tlen);
		if (tlen && text[tlen - 1] != '\n')
			sbuf_addc(&out, '\n');
	}
	if (cli_out(out.buf, out.len) < 0)
		rc = cli_error(CLI_FAIL, cmd, "writing to stdout failed");
out:
	sbuf_release(&out);
	store_reader_end(r);
	store_close(s);
	return rc;
}

const struct cli_cmd cli_cmd_msg = { "msg", cmd_msg, msg_opts, 1, msg_usage };
