/*
 * t_thread.c - threading in the store: the partition into threads and each
 * thread's root do not depend on arrival order; ghosts (a reply before its
 * parent), merges (a mail naming two threads), reference cycles,
 * self-references, 10,000 References, and a thread's root, subject and
 * category after a late root arrives.
 */
#include "tap.h"
#include "store.h"
#include "subject.h"
#include "kvtime.h"
#include "category.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];
static int ndirs;

/* A mail; refs is a space-separated id list for References (or NULL). */
static char *mk(const char *id, const char *irt, const char *refs, const char *from,
		const char *subj, int64_t date, const char *body)
{
	struct sbuf sb = SBUF_INIT;
	struct tm tm;
	char d[64];

	kvtime_gmtime(date, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	sbuf_addf(&sb, "From: %s\nTo: kvmarm@lists.linux.dev\nSubject: %s\nDate: %s\n", from, subj, d);
	sbuf_addf(&sb, "Message-ID: <%s>\n", id);
	if (irt)
		sbuf_addf(&sb, "In-Reply-To: <%s>\n", irt);
	if (refs && *refs) {
		const char *p = refs;
		sbuf_adds(&sb, "References:");
		while (*p) {
			const char *e = strchr(p, ' ');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			sbuf_addf(&sb, "\n <%.*s>", (int)n, p);
			p += n;
			while (*p == ' ')
				p++;
		}
		sbuf_addc(&sb, '\n');
	}
	sbuf_addf(&sb, "Content-Type: text/plain; charset=utf-8\n\n%s", body ? body : "text\n");
	return sbuf_detach(&sb, NULL);
}

static struct store *fresh(void)
{
	struct store *s;
	struct kv_err err;
	char *dir = kv_xasprintf("%s/s%d", tmpdir, ndirs++);

	if (store_open(&s, dir, STORE_CREATE, &err) < 0) {
		diag("open %s: %s", dir, err.msg);
		exit(1);
	}
	free(dir);
	return s;
}

static int add(struct store *s, const char *raw)
{
	struct store_item it;
	struct kv_err err;

	if (store_add(s, raw, strlen(raw), 1600000000, &it, &err) < 0) {
		diag("add: %s", err.msg);
		return -1;
	}
	return it.status == STORE_ADDED ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct part {
	struct store_reader *r;
	struct strv lines;
	int with_roots;
};

static int part_cb(void *ctx, const struct thread_rec *t)
{
	struct part *p = ctx;
	struct kv_err err;
	uint64_t *nums;
	size_t n;
	struct strv ids = STRV_INIT;
	struct sbuf sb = SBUF_INIT;

	store_thread_members(p->r, t->id, &nums, &n, &err);
	for (size_t i = 0; i < n; i++) {
		struct msg_rec m;
		store_msg_get(p->r, nums[i], &m, &err);
		strv_push(&ids, m.message_id);
	}
	qsort(ids.v, ids.n, sizeof(char *), cmp_str);
	if (p->with_roots)
		sbuf_addf(&sb, "%s|", t->root_message_id);
	for (size_t i = 0; i < ids.n; i++)
		sbuf_addf(&sb, "%s%s", i ? "," : "", ids.v[i]);
	strv_push_owned(&p->lines, sbuf_detach(&sb, NULL));
	strv_release(&ids);
	free(nums);
	return 0;
}

/* The threads as sorted text: "root|id,id,..." per line. */
static char *partition(struct store *s, int with_roots)
{
	struct part p;
	struct kv_err err;
	struct sbuf sb = SBUF_INIT;

	memset(&p, 0, sizeof(p));
	p.with_roots = with_roots;
	store_reader_begin(s, &p.r, &err);
	store_iter_threads(p.r, part_cb, &p, &err);
	store_reader_end(p.r);
	qsort(p.lines.v, p.lines.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < p.lines.n; i++)
		sbuf_addf(&sb, "%s\n", p.lines.v[i]);
	strv_release(&p.lines);
	return sbuf_detach(&sb, NULL);
}

/* ---- generated traffic for the order test ---- */

#define NGEN 64

struct gen {
	char id[64];
	char irt[64];
	char refs[1024];
	int64_t date;
	char *raw;
	int comp;         /* expected component (union-find result) */
};

static unsigned rnd(unsigned *st)
{
	*st = *st * 1103515245u + 12345u;
	return (*st >> 16) & 0x7fff;
}

static int uf[NGEN * 2];
static int uf_find(int x)
{
	while (uf[x] != x)
		x = uf[x] = uf[uf[x]];
	return x;
}

static void test_order(void)
{
	struct gen g[NGEN];
	unsigned st = 42;
	int roots = 0;
	char *first = NULL, *first_noroot = NULL, *expect;
	int same = 1, same_roots = 1;

	memset(g, 0, sizeof(g));
	/* 8 threads of replies to earlier messages, some with References,
	 * some with only In-Reply-To, one reply to a message never sent (a
	 * ghost), one mail naming two threads (a merge), equal dates here and
	 * there so ties must be broken by content */
	for (int i = 0; i < NGEN; i++) {
		snprintf(g[i].id, sizeof(g[i].id), "m%02d@gen.example", i);
		g[i].date = 1700000000 + (int64_t)(rnd(&st) % 40) * 600;
		if (i < 8 || (i > 8 && rnd(&st) % 10 == 0)) {
			roots++;
			continue;
		}
		if (i == 40) {
			/* a reply to a ghost */
			snprintf(g[i].irt, sizeof(g[i].irt), "ghost@gen.example");
			snprintf(g[i].refs, sizeof(g[i].refs), "ghost@gen.example");
			continue;
		}
		if (i == 50) {
			/* the merge: names a message of thread 1 and one of thread 2 */
			snprintf(g[i].refs, sizeof(g[i].refs), "m01@gen.example m02@gen.example");
			snprintf(g[i].irt, sizeof(g[i].irt), "m02@gen.example");
			continue;
		}
		{
			int p = (int)(rnd(&st) % (unsigned)i);
			snprintf(g[i].irt, sizeof(g[i].irt), "%s", g[p].id);
			if (rnd(&st) % 3) {
				/* References: the parent's chain, then the parent */
				snprintf(g[i].refs, sizeof(g[i].refs), "%s%s%s", g[p].refs,
					 g[p].refs[0] ? " " : "", g[p].id);
			}
			if (g[i].date <= g[p].date)
				g[i].date = g[p].date + 60 * (rnd(&st) % 3);
		}
	}
	for (int i = 0; i < NGEN; i++) {
		char subj[64];
		snprintf(subj, sizeof(subj), "%s%s", g[i].irt[0] ? "Re: " : "", "topic");
		g[i].raw = mk(g[i].id, g[i].irt[0] ? g[i].irt : NULL, g[i].refs, "p <p@gen.example>",
			      subj, g[i].date, "generated\n");
	}
	/* the expected partition: union-find over the ids */
	for (int i = 0; i < NGEN * 2; i++)
		uf[i] = i;
	for (int i = 0; i < NGEN; i++) {
		char tmp[1100];
		snprintf(tmp, sizeof(tmp), "%s %s", g[i].irt, g[i].refs);
		for (char *p = tmp; *p;) {
			int j;
			while (*p == ' ')
				p++;
			if (sscanf(p, "m%d@", &j) == 1 && j >= 0 && j < NGEN)
				uf[uf_find(j)] = uf_find(i);
			while (*p && *p != ' ')
				p++;
		}
	}
	{
		struct sbuf sb = SBUF_INIT;
		struct strv lines = STRV_INIT;
		for (int c = 0; c < NGEN; c++) {
			struct sbuf l = SBUF_INIT;
			for (int i = 0; i < NGEN; i++)
				if (uf_find(i) == c)
					sbuf_addf(&l, "%s%s", l.len ? "," : "", g[i].id);
			if (l.len)
				strv_push_owned(&lines, sbuf_detach(&l, NULL));
			sbuf_release(&l);
		}
		qsort(lines.v, lines.n, sizeof(char *), cmp_str);
		for (size_t i = 0; i < lines.n; i++)
			sbuf_addf(&sb, "%s\n", lines.v[i]);
		strv_release(&lines);
		expect = sbuf_detach(&sb, NULL);
	}

	for (unsigned seed = 1; seed <= 6; seed++) {
		struct store *s = fresh();
		int order[NGEN];
		unsigned rs = seed * 7919;
		struct kv_err err;
		char *p, *q;

		for (int i = 0; i < NGEN; i++)
			order[i] = i;
		if (seed > 1) {
			for (int i = NGEN - 1; i > 0; i--) {
				int j = (int)(rnd(&rs) % (unsigned)(i + 1)), t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
		}
		if (seed == 6) {
			/* reverse: every reply before its parent */
			for (int i = 0; i < NGEN; i++)
				order[i] = NGEN - 1 - i;
		}
		/* batches of random sizes: threading within and across batches */
		for (int i = 0; i < NGEN;) {
			struct store_item items[10];
			int n = 1 + (int)(rnd(&rs) % 10);
			if (i + n > NGEN)
				n = NGEN - i;
			memset(items, 0, sizeof(items));
			for (int k = 0; k < n; k++) {
				items[k].raw = g[order[i + k]].raw;
				items[k].len = strlen(items[k].raw);
			}
			if (store_add_batch(s, items, (size_t)n, &err) < 0)
				diag("batch: %s", err.msg);
			i += n;
		}
		p = partition(s, 1);
		q = partition(s, 0);
		if (!first) {
			first = p;
			first_noroot = q;
			is_str(q, expect, "partition equals the connected components");
		} else {
			if (strcmp(q, first_noroot) != 0) {
				same = 0;
				diag("seed %u partition:\n%s", seed, q);
			}
			if (strcmp(p, first) != 0) {
				same_roots = 0;
				diag("seed %u roots:\n%s", seed, p);
			}
			free(p);
			free(q);
		}
		if (store_check(s, &err) != 0)
			diag("seed %u: check: %s", seed, err.msg);
		ok(store_check(s, &err) == 0, "order %u: check passes", seed);
		store_close(s);
	}
	ok(same, "same partition for 6 arrival orders");
	ok(same_roots, "same roots for 6 arrival orders");
	free(first);
	free(first_noroot);
	free(expect);
	for (int i = 0; i < NGEN; i++)
		free(g[i].raw);
}

static uint64_t thread_of(struct store *s, const char *id, struct thread_rec *out)
{
	struct store_reader *r;
	struct kv_err err;
	uint64_t num;
	size_t n;
	struct msg_rec m;
	uint64_t t = 0;

	store_reader_begin(s, &r, &err);
	if (store_msg_find(r, id, &num, 1, &n, &err) == 0 && store_msg_get(r, num, &m, &err) == 0) {
		t = m.thread;
		if (out) {
			struct thread_rec tr;
			store_thread_get(r, t, &tr, &err);
			/* views die with the reader: keep what the tests compare */
			*out = tr;
			out->subject = kv_xstrdup(tr.subject);
			out->root_message_id = kv_xstrdup(tr.root_message_id);
		}
	}
	store_reader_end(r);
	return t;
}

static void tr_free(struct thread_rec *t)
{
	free((char *)t->subject);
	free((char *)t->root_message_id);
}

static struct store_counts counts(struct store *s)
{
	struct store_reader *r;
	struct store_counts c;
	struct kv_err err;

	store_reader_begin(s, &r, &err);
	store_counts(r, &c, &err);
	store_reader_end(r);
	return c;
}

static void test_ghost_merge(void)
{
	struct store *s = fresh();
	struct kv_err err;
	struct thread_rec t;
	char *a = mk("a@x", NULL, NULL, "a <a@x>", "[PATCH] a", 1000000000, NULL);
	char *b = mk("b@x", "a@x", "a@x", "b <b@x>", "Re: [PATCH] a", 1000000100, NULL);
	char *c = mk("c@x", NULL, NULL, "c <c@x>", "other", 1000000200, NULL);
	char *d = mk("d@x", "c@x", "a@x b@x c@x", "d <d@x>", "Re: both", 1000000300, NULL);

	ok(add(s, b) == 0, "reply stored before its parent");
	is_int(counts(s).ghosts, 1, "its parent is a ghost");
	thread_of(s, "b@x", &t);
	is_str(t.root_message_id, "b@x", "while the parent is missing the reply is the root");
	tr_free(&t);
	ok(add(s, a) == 0, "parent arrives");
	is_int(counts(s).ghosts, 0, "no ghost left");
	ok(thread_of(s, "a@x", &t) == thread_of(s, "b@x", NULL), "parent joins the reply's thread");
	is_str(t.root_message_id, "a@x", "parent is the root now");
	is_str(t.subject, "[PATCH] a", "thread subject from the root");
	is_int(t.count, 2, "two members");
	tr_free(&t);
	add(s, c);
	ok(thread_of(s, "c@x", NULL) != thread_of(s, "a@x", NULL), "unrelated mail: its own thread");
	is_int(counts(s).threads, 2, "two threads");
	add(s, d);
	is_int(counts(s).threads, 1, "a mail naming both threads merges them");
	thread_of(s, "c@x", &t);
	is_int(t.count, 4, "merged thread has 4 members");
	is_str(t.root_message_id, "a@x", "merged root is the earliest parentless member");
	is_int(t.first_date, 1000000000, "first date");
	is_int(t.last_date, 1000000300, "last date");
	tr_free(&t);
	ok(store_check(s, &err) == 0, "check passes");
	store_close(s);
	free(a);
	free(b);
	free(c);
	free(d);
}

static void test_cycles(void)
{
	struct store *s = fresh();
	struct kv_err err;
	struct thread_rec t;
	char *a = mk("ca@x", "cb@x", "cb@x", "a <a@x>", "cycle a", 1000000500, NULL);
	char *b = mk("cb@x", "ca@x", "ca@x", "b <b@x>", "cycle b", 1000000400, NULL);
	char *self = mk("self@x", "self@x", "self@x other@x self@x", "s <s@x>", "self", 1000000000, NULL);

	ok(add(s, a) == 0 && add(s, b) == 0, "A refs B, B refs A: both stored");
	is_int(counts(s).threads, 1, "one thread");
	thread_of(s, "ca@x", &t);
	is_str(t.root_message_id, "cb@x", "no parentless member: the earliest is the root");
	tr_free(&t);
	ok(add(s, self) == 0, "a mail referencing itself is stored");
	thread_of(s, "self@x", &t);
	is_int(t.count, 1, "alone in its thread");
	is_str(t.root_message_id, "self@x", "and its root");
	tr_free(&t);
	is_int(counts(s).ghosts, 1, "its other reference is the only ghost");
	{
		struct store_reader *r;
		struct msg_rec m;
		uint64_t num, parent = 99;
		size_t n;
		store_reader_begin(s, &r, &err);
		store_msg_find(r, "self@x", &num, 1, &n, &err);
		store_msg_get(r, num, &m, &err);
		ok(store_msg_parent(r, &m, &parent, &err) == 0 && parent == 0, "self is not its own parent");
		store_msg_find(r, "ca@x", &num, 1, &n, &err);
		store_msg_get(r, num, &m, &err);
		store_msg_parent(r, &m, &parent, &err);
		is_int(parent, 2, "parent of A is B (number 2)");
		store_reader_end(r);
	}
	ok(store_check(s, &err) == 0, "check passes");
	store_close(s);
	free(a);
	free(b);
	free(self);
}

static void test_many_refs(void)
{
	struct store *s = fresh();
	struct kv_err err;
	struct sbuf refs = SBUF_INIT;
	struct thread_rec t;
	struct store_counts c;
	char *big, *late;

	for (int i = 0; i < 10000; i++)
		sbuf_addf(&refs, "%sr%d@many.example", i ? " " : "", i);
	big = mk("big@x", "r9999@many.example", refs.buf, "b <b@x>", "Re: long", 1000000000, NULL);
	ok(add(s, big) == 0, "a mail with 10,000 References is stored (%zu bytes)", strlen(big));
	c = counts(s);
	ok(c.ghosts >= 1000 && c.threads == 1, "its references are ghosts of one thread (%llu)",
	   (unsigned long long)c.ghosts);
	late = mk("r9999@many.example", NULL, NULL, "r <r@x>", "[PATCH] long", 999999000, NULL);
	ok(add(s, late) == 0, "a referenced message arrives");
	ok(thread_of(s, "r9999@many.example", &t) == thread_of(s, "big@x", NULL), "and joins the thread");
	is_str(t.root_message_id, "r9999@many.example", "as its root");
	tr_free(&t);
	ok(store_check(s, &err) == 0, "check passes: %s", store_check(s, &err) ? err.msg : "");
	store_close(s);
	sbuf_release(&refs);
	free(big);
	free(late);
}

static void test_late_root(void)
{
	struct store *s = fresh();
	struct kv_err err;
	struct thread_rec t;
	char *p[3], *q, *cover;

	/* a question first, then patches replying to a cover letter that
	 * arrives last but is dated first */
	q = mk("q@x", "cover@x", "cover@x", "u <u@x>", "Re: [PATCH 0/3] KVM: arm64: fix the vgic",
	       1000000900, "Why is this needed?\n");
	add(s, q);
	thread_of(s, "q@x", &t);
	is_str(t.subject, "Re: [PATCH 0/3] KVM: arm64: fix the vgic", "only the reply: it is the root");
	tr_free(&t);
	for (int i = 0; i < 3; i++) {
		char id[32], subj[96];
		snprintf(id, sizeof(id), "p%d@x", i + 1);
		snprintf(subj, sizeof(subj), "[PATCH %d/3] KVM: arm64: part %d", i + 1, i + 1);
		p[i] = mk(id, "cover@x", "cover@x", "m <m@x>", subj, 1000000100 + i, "diff\n");
		add(s, p[i]);
	}
	thread_of(s, "q@x", &t);
	is_str(t.root_message_id, "p1@x", "the earliest parentless member is the root");
	is_int(t.count, 4, "four members");
	tr_free(&t);
	cover = mk("cover@x", NULL, NULL, "m <m@x>", "[PATCH 0/3] KVM: arm64: fix the vgic", 1000000000,
		   "This series fixes the vgic.\n");
	add(s, cover);
	thread_of(s, "q@x", &t);
	is_str(t.root_message_id, "cover@x", "late cover letter becomes the root");
	is_str(t.subject, "[PATCH 0/3] KVM: arm64: fix the vgic", "subject from the cover letter");
	is_str(category_name((enum category)t.category), "PATCH", "category from the cover letter");
	is_int(t.first_date, 1000000000, "first date moved back");
	ok(t.series != 0, "the thread is a series version now");
	tr_free(&t);
	ok(store_check(s, &err) == 0, "check passes");
	store_close(s);
	for (int i = 0; i < 3; i++)
		free(p[i]);
	free(q);
	free(cover);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/t_thread.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_order();
	test_ghost_merge();
	test_cycles();
	test_many_refs();
	test_late_root();
	{
		char *cmd = kv_xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
		free(cmd);
	}
	return done_testing();
}
