/*
 * t_writer.c - the milter's durable path (milter/writer.c) without an MTA:
 * several threads submit mails of 1-40 KB, as end-of-message handlers do,
 * into journals of only 64 KB, so the two files switch, grow past their
 * zero-filled size and start over many times. For both journal_sync modes:
 *  - a clean stop leaves every mail in the store and the store passes check;
 *  - a process that dies right after its last answer (_exit: no stop, no
 *    flush, the store thread wherever it was) loses nothing it answered for:
 *    a restart over the same spool and store replays the journal, and every
 *    answered mail is in the store, which passes check.
 */
#include "tap.h"
#include "store.h"
#include "writer.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NMAILS_SMALL 240
/* The big case: 40 mails of 300-700 KB into the default 16 MB journal
 * files: the store thread gets a backlog of many MB, which it records in
 * several transactions (STORE_CHUNK_BYTES). */
#define NMAILS_BIG 40
static int big;
static int nmails = NMAILS_SMALL;
#define NTHREADS 4

static char *make_mail(int i, size_t *len)
{
	/* 1 KB to 40 KB, different per mail (big: 300 KB to 700 KB) */
	size_t body = big ? (300 + (size_t)(i % 5) * 100) * 1024
			  : 1024 + (size_t)((i * 7919) % 40) * 1024;
	struct sbuf b;
	char *out;

	sbuf_init(&b);
	sbuf_addf(&b, "From: Dev %d <dev%d@example.org>\n", i % 7, i % 7);
	sbuf_addf(&b, "To: kvmarm@lists.linux.dev\n");
	sbuf_addf(&b, "Subject: [PATCH %d/%d] KVM: arm64: writer test\n", i % 9 + 1, 9);
	sbuf_addf(&b, "Date: Mon, 4 Mar 2024 10:%02d:%02d +0000\n", (i / 60) % 60, i % 60);
	sbuf_addf(&b, "Message-ID: <w%d@writer.test>\n", i);
	sbuf_addf(&b, "List-Id: <kvmarm.lists.linux.dev>\n\n");
	while (b.len < body)
		sbuf_addf(&b, "line %zu of mail %d: some words to fill the body.\n", b.len, i);
	out = sbuf_detach(&b, len);
	return out;
}

struct sender {
	struct writer *w;
	int first, step, fd;
	int answered, failed;
};

static void *send_mails(void *arg)
{
	struct sender *s = arg;
	for (int i = s->first; i < nmails; i += s->step) {
		size_t len;
		char *raw = make_mail(i, &len);
		char why[2 * KV_ERR_MAX + 8];
		uint64_t num;
		enum writer_result r = writer_submit(s->w, raw, len, 1709546400, "TESTQ", NULL,
						     &num, why, sizeof why);
		if (r == WR_FAILED) {
			s->failed++;
			continue;
		}
		/* answered: tell the parent before the next mail */
		dprintf(s->fd, "%d\n", i);
		s->answered++;
	}
	return NULL;
}

/* Submit every mail from NTHREADS threads; report answered numbers on fd.
 * crash: end the process at once after the last answer. */
static int run_writer(const char *dir, int after, int crash, int fd)
{
	char db[4096], spool[4096];
	struct store *st;
	struct writer *w;
	struct writer_opts o;
	struct kv_err err;
	pthread_t th[NTHREADS];
	struct sender s[NTHREADS];
	int failed = 0;

	snprintf(db, sizeof db, "%s/db", dir);
	snprintf(spool, sizeof spool, "%s/spool", dir);
	if (store_open(&st, db, STORE_CREATE, &err) < 0) {
		fprintf(stderr, "store_open: %s\n", err.msg);
		return -1;
	}
	memset(&o, 0, sizeof o);
	o.spool_dir = spool;
	o.spool_on_error = 1;
	o.wait_ms = 5000;
	o.journal_size = big ? 0 : 64 * 1024;
	o.sync_after_answer = after;
	if (writer_start(&w, st, &o, &err) < 0) {
		fprintf(stderr, "writer_start: %s\n", err.msg);
		return -1;
	}
	for (int t = 0; t < NTHREADS; t++) {
		s[t] = (struct sender){ .w = w, .first = t, .step = NTHREADS, .fd = fd };
		pthread_create(&th[t], NULL, send_mails, &s[t]);
	}
	for (int t = 0; t < NTHREADS; t++) {
		pthread_join(th[t], NULL);
		failed += s[t].failed;
	}
	if (crash)
		_exit(failed ? 3 : 0);
	writer_stop(w);
	store_close(st);
	return failed;
}

/* Open the store again (with a writer: its start replays journal and
 * spool), stop, then check that every number in answered is stored. */
static void verify(const char *dir, int after, const char *answered, const char *what)
{
	char db[4096], spool[4096];
	struct store *st;
	struct writer *w;
	struct writer_opts o;
	struct kv_err err;
	struct store_reader *r;
	int n = 0, missing = 0;
	const char *p = answered;

	snprintf(db, sizeof db, "%s/db", dir);
	snprintf(spool, sizeof spool, "%s/spool", dir);
	if (!ok(store_open(&st, db, STORE_CREATE, &err) == 0, "%s: store opens again", what))
		return;
	memset(&o, 0, sizeof o);
	o.spool_dir = spool;
	o.spool_on_error = 1;
	o.journal_size = big ? 0 : 64 * 1024;
	o.sync_after_answer = after;
	ok(writer_start(&w, st, &o, &err) == 0, "%s: writer restarts (replaying the journal)", what);
	writer_stop(w);
	ok(store_check(st, &err) == 0, "%s: the store passes check", what);
	store_reader_begin(st, &r, &err);
	while (*p) {
		char id[64];
		uint64_t nums[2];
		size_t cnt = 0;
		int i = atoi(p);
		snprintf(id, sizeof id, "w%d@writer.test", i);
		if (store_msg_find(r, id, nums, 2, &cnt, &err) != 0 || cnt != 1) {
			if (missing++ < 5)
				diag("%s: answered mail %d is not stored once (%zu copies)", what, i, cnt);
		}
		n++;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	store_reader_end(r);
	store_close(st);
	is_int(n, nmails, "every mail was answered");
	is_int(missing, 0, "every answered mail is in the store exactly once");
}

static void one_case(int after, int crash)
{
	char dir[] = "/tmp/t_writer.XXXXXX";
	char what[64];
	int pfd[2];
	pid_t pid;
	int status;
	struct sbuf got;
	char buf[4096];
	ssize_t k;

	snprintf(what, sizeof what, "%s%s, %s", big ? "big mails, " : "",
		 after ? "after-answer" : "before-answer", crash ? "process dies" : "clean stop");
	if (!mkdtemp(dir) || pipe(pfd) < 0) {
		ok(0, "%s: temporary directory and pipe", what);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		_exit(run_writer(dir, after, crash, pfd[1]) == 0 ? 0 : 3);
	}
	close(pfd[1]);
	sbuf_init(&got);
	while ((k = read(pfd[0], buf, sizeof buf)) > 0)
		sbuf_add(&got, buf, (size_t)k);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: the writer process took every mail", what);
	sbuf_addc(&got, '\0');
	verify(dir, after, got.buf, what);
	sbuf_release(&got);
	{
		char cmd[4200];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
}

/* journal_flush_ms: NSPACED mails 25 ms apart from one thread, with the
 * given interval; returns the number of fdatasyncs the writer logged at
 * stop ("journal over N mails, M syncs"), -1 when the line is missing. */
#define NSPACED 40
static long spaced_syncs(int interval_ms)
{
	char dir[] = "/tmp/t_writer.XXXXXX";
	char db[4096], spool[4096], logf[4096], line[1024], cmd[4200];
	struct store *st;
	struct writer *w;
	struct writer_opts o;
	struct kv_err err;
	long syncs = -1;
	int saved, fd;
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	snprintf(db, sizeof db, "%s/db", dir);
	snprintf(spool, sizeof spool, "%s/spool", dir);
	snprintf(logf, sizeof logf, "%s/log", dir);
	if (store_open(&st, db, STORE_CREATE, &err) < 0)
		return -1;
	memset(&o, 0, sizeof o);
	o.spool_dir = spool;
	o.spool_on_error = 1;
	o.wait_ms = 5000;
	o.sync_after_answer = 1;
	o.flush_interval_ms = interval_ms;
	fflush(stderr);
	saved = dup(2);
	fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	log_set_level(LOG_LVL_INFO);
	if (writer_start(&w, st, &o, &err) == 0) {
		for (int i = 0; i < NSPACED; i++) {
			size_t len;
			char *raw = make_mail(1000 + i, &len);
			char why[2 * KV_ERR_MAX + 8];
			uint64_t num;
			struct timespec ts = { 0, 25 * 1000000L };
			writer_submit(w, raw, len, 1709546400, "TESTQ", NULL, &num, why, sizeof why);
			nanosleep(&ts, NULL);
		}
		writer_stop(w);
	}
	store_close(st);
	log_set_level(LOG_LVL_ERR);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(logf, "r");
	while (f && fgets(line, sizeof line, f)) {
		const char *p = strstr(line, "journal over ");
		long n, m;
		if (p && sscanf(p, "journal over %ld mails, %ld syncs", &n, &m) == 2 && n == NSPACED)
			syncs = m;
	}
	if (f)
		fclose(f);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return syncs;
}

int main(void)
{
	long every, gathered;

	log_set_level(LOG_LVL_ERR);
	for (int after = 1; after >= 0; after--)
		for (int crash = 0; crash <= 1; crash++)
			one_case(after, crash);
	big = 1;
	nmails = NMAILS_BIG;
	one_case(1, 0);
	one_case(1, 1);
	big = 0;
	nmails = NMAILS_SMALL;

	/* 1 s of mails: back to back syncs give one per mail while the disk
	 * syncs in under 25 ms (here about 1 ms; 12 allows 80 ms); a 400 ms
	 * interval gives the first at once and then about one per 400 ms. */
	every = spaced_syncs(0);
	gathered = spaced_syncs(400);
	diag("journal_flush_ms 0: %ld syncs, 400: %ld syncs for %d mails 25 ms apart",
	     every, gathered, NSPACED);
	ok(every >= 12 && every > 2 * gathered, "journal_flush_ms = 0 syncs (nearly) every mail");
	ok(gathered >= 2 && gathered <= 6, "journal_flush_ms = 400 syncs 2-6 times in 1 s");
	return done_testing();
}
