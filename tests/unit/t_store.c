/*
 * t_store.c - the store's record keeping: raw bytes kept exactly, one copy
 * of a mail delivered twice, both copies of two mails sharing an id,
 * idempotent re-import, persistence, map growth, read-only use, a reader
 * beside a writer, the invariant check (and that it catches damage made
 * through the db layer), schema version, side tables.
 */
#include "tap.h"
#include "store.h"
#include "db.h"
#include "kvtime.h"
#include "teststore.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];

static char *newdir(const char *name)
{
	return kv_xasprintf("%s/%s", tmpdir, name);
}

static uint64_t nmessages(struct store *s)
{
	struct store_reader *r;
	struct store_counts c;
	struct kv_err err;

	if (store_reader_begin(s, &r, &err) < 0)
		return (uint64_t)-1;
	store_counts(r, &c, &err);
	store_reader_end(r);
	return c.messages;
}

static void test_basic(void)
{
	char *dir = newdir("basic");
	struct store *s;
	struct store_reader *r;
	struct store_item it, it2, it3;
	struct kv_err err;
	struct msg_rec m;
	const char *data, *text;
	size_t len, tl, n;
	uint64_t nums[4];
	char *a, *a2, *b;

	ok(store_open(&s, dir, STORE_CREATE, &err) == 0, "open creates the store");
	/* CRLF line ends and raw 8-bit bytes must come back byte for byte */
	a = mk("one@example.org", NULL, "Ana B\xc3\xa9la <ana@example.org>", "[PATCH] KVM: arm64: fix \xc3\xa9",
	       1600000000, NULL, "Hello \xc3\xa9\xff world\nsecond line\n", "\r\n");
	ok(add(s, a, &it) == 0 && it.status == STORE_ADDED && it.num == 1, "first mail added as number 1");
	store_reader_begin(s, &r, &err);
	ok(store_msg_raw(r, it.num, &data, &len, &err) == 0 && len == strlen(a) &&
	   memcmp(data, a, len) == 0, "raw bytes identical (CRLF, 8-bit)");
	ok(store_msg_get(r, it.num, &m, &err) == 0, "record found");
	is_str(m.message_id, "one@example.org", "message id without <>");
	is_str(m.from_addr, "ana@example.org", "from address");
	is_int(m.date, 1600000000, "date");
	is_int(m.raw_len, strlen(a), "raw_len");
	ok(m.thread != 0, "in a thread");
	ok(store_msg_text(r, it.num, &text, &tl, &err) == 0 && tl == m.text_len &&
	   memmem(text, tl, "second line", 11) != NULL, "body text stored");
	ok(store_msg_get(r, 99, &m, &err) == 1, "unknown number: not found");
	store_reader_end(r);

	/* the same mail delivered again, with one more Received line */
	a2 = mk("one@example.org", NULL, "Ana B\xc3\xa9la <ana@example.org>", "[PATCH] KVM: arm64: fix \xc3\xa9",
		1600000000, "Received: from relay.example.net by mx.example.org; Mon, 1 Jan 2024 00:00:00 +0000",
		"Hello \xc3\xa9\xff world\nsecond line\n", "\r\n");
	ok(add(s, a2, &it2) == 0 && it2.status == STORE_DUPLICATE && it2.num == it.num,
	   "same mail with another Received: duplicate of number 1");
	/* and once more from an mbox, with LF line ends: CRLF hashes as LF */
	{
		char *a3 = mk("one@example.org", NULL, "Ana B\xc3\xa9la <ana@example.org>",
			      "[PATCH] KVM: arm64: fix \xc3\xa9", 1600000000, NULL,
			      "Hello \xc3\xa9\xff world\nsecond line\n", "\n");
		struct store_item it4;
		ok(add(s, a3, &it4) == 0 && it4.status == STORE_DUPLICATE && it4.num == it.num,
		   "same mail with LF line ends: duplicate of number 1");
		free(a3);
	}
	/* one Message-ID, different content: both kept */
	b = mk("one@example.org", NULL, "Ana <ana@example.org>", "something else", 1600000100, NULL,
	       "a different body\n", "\n");
	ok(add(s, b, &it3) == 0 && it3.status == STORE_ADDED && it3.num == 2,
	   "same Message-ID, other content: stored as number 2");
	store_reader_begin(s, &r, &err);
	ok(store_msg_find(r, "<one@example.org>", nums, 4, &n, &err) == 0 && n == 2 &&
	   nums[0] == 1 && nums[1] == 2, "find by id (with <>) gives both numbers");
	ok(store_msg_find(r, "nope@example.org", nums, 4, &n, &err) == 1, "find unknown id: 1");
	store_reader_end(r);
	is_int(nmessages(s), 2, "two messages stored");
	ok(store_check(s, &err) == 0, "check passes");
	store_close(s);

	/* reopen persists */
	ok(store_open(&s, dir, 0, &err) == 0, "reopen");
	is_int(nmessages(s), 2, "still two messages after reopen");
	store_reader_begin(s, &r, &err);
	ok(store_msg_raw(r, 1, &data, &len, &err) == 0 && len == strlen(a) && memcmp(data, a, len) == 0,
	   "raw bytes identical after reopen");
	store_reader_end(r);
	store_close(s);

	/* read-only */
	ok(store_open(&s, dir, STORE_RDONLY, &err) == 0, "open read-only");
	ok(store_add(s, a, strlen(a), 0, &it, &err) < 0 && strstr(err.msg, "read-only"),
	   "adding to a read-only store fails: %s", err.msg);
	is_int(nmessages(s), 2, "read-only store readable");
	store_close(s);
	ok(store_open(&s, "/nonexistent/kvstore", STORE_RDONLY, &err) < 0 &&
	   strstr(err.msg, "/nonexistent/kvstore"), "missing store named: %s", err.msg);
	free(a);
	free(a2);
	free(b);
	free(dir);
}

static void test_batch_idempotent(void)
{
	char *dir = newdir("batch");
	struct store *s;
	struct store_item items[30];
	char *raws[30];
	struct kv_err err;
	int added = 0, dup = 0, skipped = 0;

	store_open(&s, dir, STORE_CREATE, &err);
	memset(items, 0, sizeof(items));
	for (int i = 0; i < 30; i++) {
		char id[64], subj[64];
		snprintf(id, sizeof(id), "b%d@example.org", i);
		snprintf(subj, sizeof(subj), "mail %d", i);
		raws[i] = i == 29 ? kv_xstrdup("") :
			mk(id, i ? "b0@example.org" : NULL, "x <x@example.org>", subj, 1600000000 + i, NULL,
			   "body\n", "\n");
		items[i].raw = raws[i];
		items[i].len = strlen(raws[i]);
	}
	ok(store_add_batch(s, items, 30, &err) == 0, "batch of 30 committed");
	for (int i = 0; i < 30; i++)
		added += items[i].status == STORE_ADDED;
	is_int(added, 29, "29 added");
	ok(items[29].status == STORE_SKIPPED && items[29].why[0], "empty item skipped: %s", items[29].why);
	ok(store_add_batch(s, items, 30, &err) == 0, "same batch again committed");
	added = 0;
	for (int i = 0; i < 30; i++) {
		dup += items[i].status == STORE_DUPLICATE;
		skipped += items[i].status == STORE_SKIPPED;
	}
	is_int(dup, 29, "second time: 29 duplicates");
	is_int(nmessages(s), 29, "still 29 messages");
	ok(store_check(s, &err) == 0, "check passes");
	store_close(s);
	for (int i = 0; i < 30; i++)
		free(raws[i]);
	free(dir);
}

static void test_growth(void)
{
	char *dir = newdir("grow");
	struct store *s;
	struct kv_err err;
	struct sbuf body = SBUF_INIT;
	int fails = 0;

	for (int i = 0; i < 200; i++)
		sbuf_addf(&body, "line %d of a patch-sized body, with some text to fill it up\n", i);
	ok(store_open_mapsize(&s, dir, STORE_CREATE, 64 << 10, &err) == 0, "open with a 64 KB map");
	for (int b = 0; b < 10; b++) {
		struct store_item items[50];
		char *raws[50];
		memset(items, 0, sizeof(items));
		for (int i = 0; i < 50; i++) {
			char id[64];
			snprintf(id, sizeof(id), "g%d.%d@example.org", b, i);
			raws[i] = mk(id, NULL, "g <g@example.org>", "growth", 1600000000 + b * 50 + i, NULL,
				     body.buf, "\n");
			items[i].raw = raws[i];
			items[i].len = strlen(raws[i]);
		}
		if (store_add_batch(s, items, 50, &err) < 0) {
			diag("batch %d: %s", b, err.msg);
			fails++;
		}
		for (int i = 0; i < 50; i++)
			free(raws[i]);
	}
	is_int(fails, 0, "every batch committed while the map grew");
	is_int(nmessages(s), 500, "all 500 mails (6 MB) there");
	ok(store_check(s, &err) == 0, "check passes after growth");
	store_close(s);
	sbuf_release(&body);
	free(dir);
}

struct rw {
	struct store *s;
	int stop;
	int bad;
	int snapshots;
	char msg[256];
};

static int count_cb(void *ctx, const struct msg_rec *m)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

static void *reader_main(void *arg)
{
	struct rw *rw = arg;
	uint64_t last = 0;

	while (!__atomic_load_n(&rw->stop, __ATOMIC_ACQUIRE)) {
		struct store_reader *r;
		struct store_counts c;
		struct kv_err err;
		uint64_t n = 0;

		if (store_reader_begin(rw->s, &r, &err) < 0) {
			snprintf(rw->msg, sizeof(rw->msg), "%.200s", err.msg);
			rw->bad++;
			break;
		}
		store_counts(r, &c, &err);
		store_iter_all(r, count_cb, &n, &err);
		store_reader_end(r);
		if (n != c.messages || n < last) {
			snprintf(rw->msg, sizeof(rw->msg), "snapshot saw %llu records, counts %llu, before %llu",
				 (unsigned long long)n, (unsigned long long)c.messages,
				 (unsigned long long)last);
			rw->bad++;
		}
		last = n;
		rw->snapshots++;
	}
	return NULL;
}

static void test_reader_writer(void)
{
	char *dir = newdir("rw");
	struct rw rw;
	pthread_t th;
	struct kv_err err;
	int fails = 0;

	memset(&rw, 0, sizeof(rw));
	store_open_mapsize(&rw.s, dir, STORE_CREATE, 1 << 20, &err);
	pthread_create(&th, NULL, reader_main, &rw);
	for (int b = 0; b < 40; b++) {
		struct store_item items[25];
		char *raws[25];
		memset(items, 0, sizeof(items));
		for (int i = 0; i < 25; i++) {
			char id[64], parent[64];
			snprintf(id, sizeof(id), "rw%d.%d@example.org", b, i);
			snprintf(parent, sizeof(parent), "rw%d.0@example.org", b);
			raws[i] = mk(id, i ? parent : NULL, "w <w@example.org>", "rw", 1600000000 + b * 25 + i,
				     NULL, "some body text\n", "\n");
			items[i].raw = raws[i];
			items[i].len = strlen(raws[i]);
		}
		if (store_add_batch(rw.s, items, 25, &err) < 0) {
			fails++;
			diag("%s", err.msg);
		}
		for (int i = 0; i < 25; i++)
			free(raws[i]);
	}
	__atomic_store_n(&rw.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	is_int(fails, 0, "writer thread committed every batch");
	ok(rw.bad == 0, "reader thread saw consistent snapshots (%d) %s", rw.snapshots, rw.msg);
	is_int(nmessages(rw.s), 1000, "1000 messages");
	ok(store_check(rw.s, &err) == 0, "check passes");
	store_close(rw.s);
	free(dir);
}

static int win_cb(void *ctx, const struct msg_rec *m)
{
	struct sbuf *sb = ctx;
	sbuf_addf(sb, "%s ", m->message_id);
	return 0;
}

static void test_window_kv(void)
{
	char *dir = newdir("win");
	struct store *s;
	struct store_reader *r;
	struct kv_err err;
	struct sbuf sb = SBUF_INIT;
	const void *val;
	size_t len;
	/* dates out of number order */
	int64_t dates[] = { 1600000300, 1600000100, 1000000000, 1600000200, 1600000100 };
	const char *ids[] = { "w0@x", "w1@x", "w2@x", "w3@x", "w4@x" };

	store_open(&s, dir, STORE_CREATE, &err);
	for (int i = 0; i < 5; i++) {
		char *raw = mk(ids[i], NULL, "a <a@x>", "w", dates[i], NULL, "b\n", "\n");
		struct store_item it;
		add(s, raw, &it);
		free(raw);
	}
	store_reader_begin(s, &r, &err);
	store_iter_window(r, 1600000100, 1600000300, win_cb, &sb, &err);
	is_str(sb.buf, "w1@x w4@x w3@x ", "window: date order, ties by number, until excluded");
	sbuf_reset(&sb);
	store_iter_window(r, INT64_MIN, 1500000000, win_cb, &sb, &err);
	is_str(sb.buf, "w2@x ", "window from the beginning of time");
	sbuf_reset(&sb);
	store_iter_window(r, INT64_MIN, INT64_MAX, win_cb, &sb, &err);
	is_str(sb.buf, "w2@x w1@x w4@x w3@x w0@x ", "window over all time");
	store_reader_end(r);

	ok(store_kv_put(s, "summary", "thread:1", "abc", 3, &err) == 0, "kv put");
	ok(store_kv_put(s, "sent", "2024-W01", "x", 1, &err) == 0, "kv put other table");
	store_reader_begin(s, &r, &err);
	ok(store_kv_get(r, "summary", "thread:1", &val, &len, &err) == 0 && len == 3 &&
	   memcmp(val, "abc", 3) == 0, "kv get");
	ok(store_kv_get(r, "sent", "thread:1", &val, &len, &err) == 1, "tables are separate");
	ok(store_kv_get(r, "bogus", "k", &val, &len, &err) < 0 && strstr(err.msg, "bogus"),
	   "unknown table named: %s", err.msg);
	store_reader_end(r);
	ok(store_kv_del(s, "summary", "thread:1", &err) == 0 && store_kv_del(s, "summary", "thread:1", &err) == 0,
	   "kv del twice");
	store_reader_begin(s, &r, &err);
	ok(store_kv_get(r, "summary", "thread:1", &val, &len, &err) == 1, "deleted");
	store_reader_end(r);
	ok(store_check(s, &err) == 0, "check passes");
	store_close(s);
	sbuf_release(&sb);
	free(dir);
}

/* Change bytes of a stored mail in raw.dat behind the store's back. */
static int poke_raw(const char *dir, const char *from, const char *to)
{
	char *path = kv_xasprintf("%s/raw.dat", dir), *data;
	size_t len;
	struct kv_err err;
	char *at;
	FILE *f;
	int rc = -1;

	if (kv_read_file(path, &data, &len, &err) < 0) {
		free(path);
		return -1;
	}
	if ((at = memmem(data, len, from, strlen(from)))) {
		memcpy(at, to, strlen(to));
		if ((f = fopen(path, "w"))) {
			rc = fwrite(data, 1, len, f) == len ? 0 : -1;
			fclose(f);
		}
	}
	free(data);
	free(path);
	return rc;
}

static void test_check_detects(void)
{
	struct kv_err err;
	struct store *s;
	unsigned char k[8], v[8];
	const char *cases[] = { "date", "mthr", "raw", "schema" };

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *dir = kv_xasprintf("%s/bad-%s", tmpdir, cases[c]);
		struct store_item it;
		int rc;

		store_open(&s, dir, STORE_CREATE, &err);
		for (int i = 0; i < 3; i++) {
			char id[32];
			snprintf(id, sizeof(id), "c%d@x", i);
			char body[32];
			snprintf(body, sizeof(body), "body %d\n", i);
			char *raw = mk(id, i ? "c0@x" : NULL, "a <a@x>", "c", 1600000000 + i, NULL, body, "\n");
			add(s, raw, &it);
			free(raw);
		}
		ok(store_check(s, &err) == 0, "%s: whole before damage", cases[c]);
		store_close(s);
		db_be64(k, 2);
		if (!strcmp(cases[c], "date")) {
			unsigned char dk[16];
			db_be64(dk, (uint64_t)1600000001 ^ (1ull << 63));
			db_be64(dk + 8, 2);
			rc = corrupt(dir, "date", dk, 16, NULL, 0, 1);
		} else if (!strcmp(cases[c], "mthr")) {
			db_be64(v, 77);
			rc = corrupt(dir, "mthr", k, 8, v, 8, 0);
		} else if (!strcmp(cases[c], "raw")) {
			rc = poke_raw(dir, "body 1", "BODY 1");
		} else {
			rc = corrupt(dir, "meta", "schema_version", 14, "99", 2, 0);
		}
		ok(rc == 0, "%s: damaged behind the store's back (db.h or raw.dat)", cases[c]);
		if (!strcmp(cases[c], "schema")) {
			ok(store_open(&s, dir, 0, &err) < 0 && strstr(err.msg, "99"),
			   "unknown schema version refused: %s", err.msg);
		} else {
			store_open(&s, dir, 0, &err);
			rc = store_check(s, &err);
			ok(rc == 1 && strstr(err.msg, "message 2"), "%s: check finds it: %s", cases[c], err.msg);
			store_close(s);
		}
		free(dir);
	}
}

/* Stores written before checksums: a 16-byte index value (no checksums)
 * reads as before and checks whole, counted as "stored without"; new
 * messages in the same store get theirs. */
static void test_old_index(void)
{
	char *dir = kv_xasprintf("%s/oldidx", tmpdir);
	struct store_check_stats st;
	struct store_reader *r;
	struct store_item it;
	struct kv_err err;
	struct store *s;
	struct db_env *e;
	struct db_txn *t;
	struct db_val v;
	unsigned char k[8], old[16];
	const char *raw;
	size_t len;
	db_dbi d;
	int rc;

	store_open(&s, dir, STORE_CREATE, &err);
	for (int i = 0; i < 3; i++) {
		char id[32], body[32], *m;
		snprintf(id, sizeof(id), "o%d@x", i);
		snprintf(body, sizeof(body), "old body %d\n", i);
		m = mk(id, NULL, "a <a@x>", "o", 1600000000 + i, NULL, body, "\n");
		add(s, m, &it);
		free(m);
	}
	rc = store_check_opts(s, 0, &st, &err);
	ok(rc == 0 && st.summed == 3 && st.unsummed == 0,
	   "new messages carry checksums (%llu verified)", (unsigned long long)st.summed);
	store_close(s);
	/* message 2's index value as an older program wrote it */
	db_be64(k, 2);
	rc = db_env_open(&e, dir, 1 << 24, 32, 0, &err);
	if (rc == 0 && (rc = db_txn_begin(e, 0, &t, &err)) == 0) {
		rc = db_dbi_open(t, "msg", 0, 0, &d, &err);
		if (rc == 0 && (rc = db_get(t, d, k, 8, &v, &err)) == 0 && v.n == 28) {
			memcpy(old, v.p, 16);
			rc = db_put(t, d, k, 8, old, 16, 0, &err);
		} else if (rc == 0) {
			rc = -1;
		}
		if (rc == 0)
			rc = db_txn_commit(t, &err);
		else
			db_txn_abort(t);
	}
	if (rc == 0)
		db_env_close(e);
	ok(rc == 0, "message 2 given a 16-byte index value (no checksums)");
	store_open(&s, dir, 0, &err);
	rc = store_check_opts(s, 0, &st, &err);
	ok(rc == 0 && st.summed == 2 && st.unsummed == 1,
	   "an old value is no error: whole, %llu verified, %llu stored without (%s)",
	   (unsigned long long)st.summed, (unsigned long long)st.unsummed, rc ? err.msg : "ok");
	ok(store_reader_begin(s, &r, &err) == 0 && store_msg_raw(r, 2, &raw, &len, &err) == 0 &&
	   memmem(raw, len, "old body 1", 10) != NULL, "an old value reads as before");
	store_reader_end(r);
	{
		char *m = mk("o3@x", NULL, "a <a@x>", "o", 1600000100, NULL, "new body\n", "\n");
		add(s, m, &it);
		free(m);
	}
	ok(store_check_opts(s, 0, &st, &err) == 0 && st.summed == 3 && st.unsummed == 1,
	   "a new message in an old store gets its checksums (3 verified, 1 without)");
	store_close(s);
	free(dir);
}

/* Reads the batch reports of a writer child from fd until it has none to
 * give without waiting (wait_ms = 0) or until the first one comes (at most
 * wait_ms); returns how many it read, -1 when the pipe closed first. */
static int batch_reports(int fd, int wait_ms)
{
	int got = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char buf[256];
		ssize_t k;
		int rc = poll(&p, 1, got || !wait_ms ? 0 : wait_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return got;
		k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return got ? got : -1;
		got += (int)k;
	}
}

/* A writer killed at a random moment leaves a whole store: what it
 * committed is there, nothing half-written, and the next writer goes on.
 * The child writes a byte to a pipe after each batch store_add_batch
 * committed; the parent waits (bounded) for the first, so the kill never
 * comes before the child got going however slow the machine (ASan, load),
 * then kills it a random 0-150 ms later, anywhere in a later batch. Every
 * reported batch must be in the store; at most one more (committed, killed
 * before it could report) may be. */
static void test_kill_writer(void)
{
	char *dir = newdir("kill");
	struct kv_err err;
	struct store *s;
	uint64_t before = 0;
	int whole = 1, grew = 1, started = 1;
	unsigned seed = 12345;

	store_open_mapsize(&s, dir, STORE_CREATE, 256 << 10, &err);
	store_close(s);
	for (int round = 0; round < 6; round++) {
		int pfd[2], reported, more, status = 0;
		pid_t pid;

		if (pipe(pfd) < 0) {
			diag("round %d: pipe: %s", round, strerror(errno));
			started = 0;
			break;
		}
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			/* child: import batches until killed, one byte after each */
			struct store *cs;
			close(pfd[0]);
			if (store_open(&cs, dir, 0, &err) < 0)
				_exit(2);
			for (int b = 0;; b++) {
				struct store_item items[20];
				char *raws[20];
				memset(items, 0, sizeof(items));
				for (int i = 0; i < 20; i++) {
					char id[64], parent[64];
					snprintf(id, sizeof(id), "k%d.%d.%d@x", round, b, i);
					snprintf(parent, sizeof(parent), "k%d.%d.0@x", round, b > 0 ? b - 1 : 0);
					raws[i] = mk(id, parent, "k <k@x>", "kill", 1600000000 + b * 20 + i, NULL,
						     "a body long enough to need some pages of raw.dat\n", "\n");
					items[i].raw = raws[i];
					items[i].len = strlen(raws[i]);
				}
				if (store_add_batch(cs, items, 20, &err) < 0)
					_exit(3);
				if (write(pfd[1], "b", 1) != 1)
					_exit(4);
				for (int i = 0; i < 20; i++)
					free(raws[i]);
			}
		}
		close(pfd[1]);
		/* bounded: a child that commits nothing in 60 s is a failure */
		reported = batch_reports(pfd[0], 60000);
		if (reported > 0) {
			seed = seed * 1103515245u + 12345u;
			/* seed >> 16 is 0..65535: scaled to 0..150 ms */
			usleep((useconds_t)((unsigned long long)(seed >> 16) * 150000 / 65536));
		}
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		more = batch_reports(pfd[0], 0);
		close(pfd[0]);
		if (reported <= 0) {
			diag("round %d: the writer committed no batch (%s %d)", round,
			     WIFEXITED(status) ? "exit" : "signal",
			     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			started = 0;
		}
		if (more > 0)
			reported += more;
		if (store_open(&s, dir, 0, &err) < 0 || store_check(s, &err) != 0) {
			diag("round %d: %s", round, err.msg);
			whole = 0;
			if (s)
				store_close(s);
			s = NULL;
			continue;
		}
		{
			uint64_t n = nmessages(s), want = before + 20 * (uint64_t)(reported > 0 ? reported : 0);
			if (n % 20 != 0 || n < want || n > want + 20) {
				diag("round %d: %llu messages, %d batches reported after %llu", round,
				     (unsigned long long)n, reported, (unsigned long long)before);
				grew = 0;
			}
			before = n;
		}
		store_close(s);
	}
	ok(started, "each of 6 writers committed a batch before it was killed");
	ok(whole, "store whole after 6 writers killed mid-import");
	ok(grew && before > 0, "only whole batches committed, never lost (%llu messages)",
	   (unsigned long long)before);
	free(dir);
}

/* The backfilled bit (set by the reporter on a mail fetched from the
 * archive) goes through the normal insert path: the record keeps it next
 * to the parser's flags, across a reopen, and the mail threads as the root
 * of its replies like any other. */
static void test_backfilled_flag(void)
{
	char *dir = newdir("backfill");
	struct store *s;
	struct store_reader *r;
	struct store_item items[2];
	struct kv_err err;
	struct msg_rec m;
	struct thread_rec t;
	struct mail pm;
	/* no Date header: the parser flags the arrival time as the date */
	char *root = kv_xstrdup("From: Ana <ana@example.org>\nSubject: [PATCH] KVM: arm64: root\n"
				"Message-ID: <root@example.org>\n\nthe series\n");
	char *reply = mk("reply@example.org", "root@example.org", "Bo <bo@example.org>",
			 "Re: [PATCH] KVM: arm64: root", 1600000500, NULL, "ok\n", "\n");

	ok(store_open(&s, dir, STORE_CREATE, &err) == 0, "open a store for the backfill flag");
	mime_init();
	ok(mime_parse(root, strlen(root), 1600000000, &pm, &err) == 0, "parse the fetched root");
	pm.flags |= MAIL_BACKFILLED;
	memset(items, 0, sizeof(items));
	items[0].raw = root;
	items[0].len = strlen(root);
	items[0].arrival = 1600000000;
	items[0].parsed = &pm;
	items[1].raw = reply;
	items[1].len = strlen(reply);
	items[1].arrival = 1600000500;
	ok(store_add_batch(s, items, 2, &err) == 0 && items[0].status == STORE_ADDED &&
	   items[1].status == STORE_ADDED, "the flagged mail and a reply stored");
	mail_release(&pm);
	store_close(s);

	ok(store_open(&s, dir, STORE_RDONLY, &err) == 0, "reopen");
	store_reader_begin(s, &r, &err);
	ok(store_msg_get(r, items[0].num, &m, &err) == 0 && (m.flags & MAIL_BACKFILLED) &&
	   (m.flags & MAIL_DATE_ARRIVAL), "record keeps backfilled and the parser's flags");
	is_str(mail_flag_name(15), "backfilled", "bit 15 is named backfilled");
	ok((MAIL_BACKFILLED & MAIL_PARSE_FLAGS) == 0 && (MAIL_DATE_ARRIVAL & MAIL_PARSE_FLAGS),
	   "backfilled is not a parse flag");
	ok(store_msg_get(r, items[1].num, &m, &err) == 0 && !(m.flags & MAIL_BACKFILLED),
	   "a delivered mail is not flagged");
	ok(store_thread_get(r, m.thread, &t, &err) == 0 && t.root == items[0].num && t.count == 2,
	   "the backfilled mail is the root of its reply's thread");
	store_reader_end(r);
	ok(store_check(s, &err) == 0, "check passes: %s", err.msg);
	store_close(s);

	/* the same bytes fetched again: a duplicate of the backfilled copy;
	 * delivered late (after the backfill): a mail of its own, unflagged */
	ok(store_open(&s, dir, 0, &err) == 0, "reopen for writing");
	ok(mime_parse(root, strlen(root), 1600000000, &pm, &err) == 0, "parse the root again");
	pm.flags |= MAIL_BACKFILLED;
	memset(items, 0, sizeof(items));
	items[0].raw = root;
	items[0].len = strlen(root);
	items[0].arrival = 1600000000;
	items[0].parsed = &pm;
	ok(store_add_batch(s, items, 1, &err) == 0 && items[0].status == STORE_DUPLICATE,
	   "fetched twice: a duplicate of the backfilled copy");
	mail_release(&pm);
	{
		struct store_item late;
		ok(add(s, root, &late) == 0 && late.status == STORE_ADDED && late.num != items[0].num,
		   "delivered after the backfill: stored as a new message");
		store_reader_begin(s, &r, &err);
		ok(store_msg_get(r, late.num, &m, &err) == 0 && !(m.flags & MAIL_BACKFILLED),
		   "... not flagged, so it counts");
		store_reader_end(r);
	}
	ok(store_check(s, &err) == 0, "check passes with both copies: %s", err.msg);
	store_close(s);
	free(root);
	free(reply);
	free(dir);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/t_store.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_basic();
	test_batch_idempotent();
	test_growth();
	test_reader_writer();
	test_window_kv();
	test_check_detects();
	test_old_index();
	test_kill_writer();
	test_backfilled_flag();
	{
		char *cmd = kv_xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
		free(cmd);
	}
	return done_testing();
}
