/*
 * t_mbox.c - unit tests of store/mbox.c: message boundaries, mboxrd and
 * mboxo unescaping, gzip, truncation, From lines inside bodies, CRLF
 * mboxes, maildirs with non-mail files, empty files, stdin, and the mboxrd
 * writer's round trip.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "tap.h"
#include "mbox.h"

static char tmpdir[256];

static char *path_of(const char *name)
{
	return kv_xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		kv_panic("cannot write %s", path);
	fwrite(data, 1, len, f);
	fclose(f);
}

static void write_gz(const char *path, const char *data, size_t len)
{
	gzFile g = gzopen(path, "wb");
	gzwrite(g, data, (unsigned)len);
	gzclose(g);
}

/* Read every entry of path into arrays (at most 16). */
struct got {
	size_t n;
	struct mbox_msg m[16];
};

static int read_all(const char *path, enum mbox_format fmt, struct got *g)
{
	struct mbox_reader *r;
	struct kv_err err;
	memset(g, 0, sizeof(*g));
	if (mbox_open(&r, path, fmt, &err) < 0) {
		diag("open: %s", err.msg);
		return -1;
	}
	while (g->n < 16 && mbox_next(r, &g->m[g->n]) == 1)
		g->n++;
	mbox_close(r);
	return 0;
}

static void release_all(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		mbox_msg_release(&g->m[i]);
}

static int data_is(const struct mbox_msg *m, const char *want)
{
	return m->data && m->len == strlen(want) && !memcmp(m->data, want, m->len);
}

static const char MBOX[] =
	"From a@example.org Mon Jan 25 02:46:42 2021\n"
	"From: a@example.org\n"
	"Subject: one\n"
	"\n"
	">From the top, escaped once\n"
	">>From twice escaped\n"
	"From inside a paragraph, not after a blank line, stays\n"
	"\n"
	"From here on an unescaped body line after a blank line: no date, no split\n"
	"\n"
	"From b@example.org Tue Jan 26 10:00:00 2021\n"
	"From: b@example.org\n"
	"Subject: two\n"
	"\n"
	"body two\n"
	"\n";

static void test_mboxrd(void)
{
	struct got g;
	char *p = path_of("a.mbox");
	write_file(p, MBOX, sizeof(MBOX) - 1);
	read_all(p, MBOX_MBOXRD, &g);
	is_int(g.n, 2, "mboxrd: two messages");
	ok(data_is(&g.m[0],
		   "From: a@example.org\nSubject: one\n\n"
		   "From the top, escaped once\n"
		   ">From twice escaped\n"
		   "From inside a paragraph, not after a blank line, stays\n"
		   "\n"
		   "From here on an unescaped body line after a blank line: no date, no split\n"),
	   "mboxrd: one '>' stripped from /^>+From /, separator line dropped, body From lines kept");
	ok(data_is(&g.m[1], "From: b@example.org\nSubject: two\n\nbody two\n"), "mboxrd: second message");
	is_int(g.m[0].index, 1, "index 1");
	is_int(g.m[1].index, 2, "index 2");
	is_int(g.m[0].line, 1, "first From_ line at line 1");
	is_int(g.m[1].line, 11, "second From_ line at line 11");
	is_int(g.m[0].arrival, 1611542802, "arrival from the From_ line date");
	ok(!g.m[0].truncated && !g.m[1].truncated, "not truncated");
	release_all(&g);

	read_all(p, MBOX_MBOXO, &g);
	is_int(g.n, 2, "mboxo: two messages");
	ok(data_is(&g.m[0],
		   "From: a@example.org\nSubject: one\n\n"
		   "From the top, escaped once\n"
		   ">>From twice escaped\n"
		   "From inside a paragraph, not after a blank line, stays\n"
		   "\n"
		   "From here on an unescaped body line after a blank line: no date, no split\n"),
	   "mboxo: only /^>From / unescaped");
	release_all(&g);

	/* The same mbox through gzip, as a file and on stdin. */
	char *gz = path_of("a.mbox.gz");
	write_gz(gz, MBOX, sizeof(MBOX) - 1);
	read_all(gz, MBOX_MBOXRD, &g);
	is_int(g.n, 2, "gzip: two messages");
	ok(g.n == 2 && data_is(&g.m[1], "From: b@example.org\nSubject: two\n\nbody two\n"), "gzip: same bytes");
	release_all(&g);

	int saved = dup(0), fd = open(gz, O_RDONLY);
	dup2(fd, 0);
	close(fd);
	read_all("-", MBOX_MBOXRD, &g);
	dup2(saved, 0);
	close(saved);
	is_int(g.n, 2, "stdin (gzip): two messages");
	ok(g.n > 0 && !strcmp(g.m[0].file, "-"), "stdin named '-'");
	release_all(&g);

	/* Truncated gzip: the complete message comes, the cut one is flagged. */
	char *buf;
	size_t len;
	struct kv_err err;
	if (kv_read_file(gz, &buf, &len, &err) == 0) {
		char *cut = path_of("cut.mbox.gz");
		write_file(cut, buf, len - 12);   /* drop the trailer and a bit */
		read_all(cut, MBOX_MBOXRD, &g);
		ok(g.n >= 1 && g.m[0].data && !g.m[0].truncated, "truncated gzip: first message whole");
		ok(g.n == 2 && g.m[1].truncated, "truncated gzip: last message flagged truncated");
		release_all(&g);
		free(cut);
		free(buf);
	}
	free(gz);
	free(p);
}

static void test_truncated(void)
{
	struct got g;
	char *p = path_of("t.mbox");
	const char body_cut[] =
		"From a@example.org Mon Jan 25 02:46:42 2021\n"
		"From: a@example.org\n\nwhole\n\n"
		"From b@example.org Mon Jan 25 02:46:43 2021\n"
		"From: b@example.org\nSubject: x\n\nbody cut in the mid";
	write_file(p, body_cut, sizeof(body_cut) - 1);
	read_all(p, MBOX_MBOXRD, &g);
	is_int(g.n, 2, "truncated body: two entries");
	ok(!g.m[0].truncated, "first is whole");
	ok(g.m[1].truncated && g.m[1].header_complete, "last truncated, header complete");
	ok(data_is(&g.m[1], "From: b@example.org\nSubject: x\n\nbody cut in the mid"), "truncated bytes kept as read");
	release_all(&g);

	const char hdr_cut[] =
		"From a@example.org Mon Jan 25 02:46:42 2021\n"
		"From: a@example.org\n\nwhole\n\n"
		"From b@example.org Mon Jan 25 02:46:43 2021\n"
		"From: b@example.org\nSubj";
	write_file(p, hdr_cut, sizeof(hdr_cut) - 1);
	read_all(p, MBOX_MBOXRD, &g);
	ok(g.n == 2 && g.m[1].truncated && !g.m[1].header_complete, "cut inside the header: header incomplete");
	release_all(&g);

	const char from_only[] = "From: x@example.org\n\n"; /* a single file, no From_ line */
	write_file(p, from_only, sizeof(from_only) - 1);
	read_all(p, MBOX_MBOXRD, &g);
	ok(g.n == 1 && data_is(&g.m[0], from_only) && g.m[0].index == 0, "a single message file, whole");
	release_all(&g);
	free(p);
}

static void test_crlf(void)
{
	struct got g;
	char *p = path_of("crlf.mbox");
	const char mb[] =
		"From a@example.org Mon Jan 25 02:46:42 2021\r\n"
		"From: a@example.org\r\n\r\n>From crlf\r\nend\r\n\r\n"
		"From b@example.org Mon Jan 25 02:46:43 2021\r\n"
		"From: b@example.org\r\n\r\nsecond\r\n\r\n";
	write_file(p, mb, sizeof(mb) - 1);
	read_all(p, MBOX_MBOXRD, &g);
	is_int(g.n, 2, "crlf: two messages");
	ok(g.n == 2 && data_is(&g.m[0], "From: a@example.org\r\n\r\nFrom crlf\r\nend\r\n"), "crlf: first, unescaped, separator dropped");
	ok(g.n == 2 && data_is(&g.m[1], "From: b@example.org\r\n\r\nsecond\r\n"), "crlf: second");
	release_all(&g);
	free(p);
}

static void test_maildir_and_empty(void)
{
	struct got g;
	char *md = path_of("md"), *x;
	mkdir(md, 0755);
	x = kv_xasprintf("%s/cur", md); mkdir(x, 0755); free(x);
	x = kv_xasprintf("%s/new", md); mkdir(x, 0755); free(x);
	x = kv_xasprintf("%s/tmp", md); mkdir(x, 0755); free(x);
	x = kv_xasprintf("%s/cur/1.a:2,S", md); write_file(x, "From: c@x\n\ncur\n", 15); free(x);
	x = kv_xasprintf("%s/new/2.b", md); write_file(x, "From: n@x\n\nnew\n", 15); free(x);
	x = kv_xasprintf("%s/cur/junk.bin", md); write_file(x, "\x89PNG\r\n\x1a\n", 8); free(x);
	x = kv_xasprintf("%s/cur/empty", md); write_file(x, "", 0); free(x);
	x = kv_xasprintf("%s/tmp/3.c", md); write_file(x, "From: t@x\n\ntmp\n", 15); free(x);
	x = kv_xasprintf("%s/notes.txt", md); write_file(x, "3 V1 N2\n", 8); free(x);
	/* a mail program's state file: passed over without a skip */
	x = kv_xasprintf("%s/dovecot-uidlist", md); write_file(x, "3 V1 N2\n", 8); free(x);
	read_all(md, MBOX_MBOXRD, &g);
	is_int(g.n, 5, "maildir: new/ (1) + cur/ (3) + the top-level file (1); tmp/ left out");
	ok(g.n == 5 && data_is(&g.m[0], "From: n@x\n\nnew\n"), "maildir: new/ first");
	ok(g.n == 5 && data_is(&g.m[1], "From: c@x\n\ncur\n"), "maildir: then cur/ in name order");
	ok(g.n == 5 && g.m[2].skip && !strcmp(g.m[2].skip, "empty file"), "maildir: empty file is a skip");
	ok(g.n == 5 && g.m[3].data && !mbox_looks_like_mail(g.m[3].data, g.m[3].len), "maildir: binary file does not look like mail");
	ok(g.n == 5 && g.m[4].skip && strstr(g.m[4].file, "notes.txt"), "maildir: top-level file skipped with a reason");
	ok(g.n == 5 && g.m[1].arrival > 0, "maildir: arrival from mtime");
	release_all(&g);
	free(md);

	char *e = path_of("empty.mbox");
	write_file(e, "", 0);
	read_all(e, MBOX_MBOXRD, &g);
	ok(g.n == 1 && g.m[0].skip && !strcmp(g.m[0].skip, "empty file"), "empty file: one skip");
	release_all(&g);
	free(e);

	struct mbox_reader *r;
	struct kv_err err;
	ok(mbox_open(&r, "/nonexistent/x.mbox", MBOX_MBOXRD, &err) < 0 && strstr(err.msg, "/nonexistent/x.mbox"),
	   "missing input: error names it");
}

static void test_from_lines(void)
{
	int64_t d;
	ok(mbox_is_from_line("From mboxrd@z Thu Jan  1 00:00:00 1970\n", 39, &d) && d == 0,
	   "public-inbox From_ line: yes, date unknown");
	ok(mbox_is_from_line("From a@b Mon Jan 25 02:46:42 2021", 33, &d) && d == 1611542802, "asctime date");
	ok(mbox_is_from_line("From a@b Mon Jan 25 02:46:42 +0100 2021", 39, &d) && d == 1611542802 - 3600, "with zone");
	ok(!mbox_is_from_line("From here on we go", 18, &d), "prose is not a From_ line");
	ok(!mbox_is_from_line("From: a@b", 9, &d), "header is not a From_ line");
	ok(mbox_looks_like_mail("Received: x\n", 12), "header looks like mail");
	ok(!mbox_looks_like_mail("hello world: x\n", 15), "prose with a colon does not");
	ok(!mbox_looks_like_mail("\nbody\n", 6), "no header does not");
}

static void test_roundtrip(void)
{
	const char *msgs[] = {
		"From: a@x\nSubject: r\n\nFrom the start\n>From quoted\n>>From more\nplain\n\n\n",
		"From: b@x\r\nSubject: crlf\r\n\r\nFrom crlf\r\n>From x\r\n",
		"From: c@x\n\n\n",
		"From: d@x\n\nlast line From \n",
	};
	size_t n = sizeof(msgs) / sizeof(msgs[0]);
	struct sbuf out = SBUF_INIT;
	for (size_t i = 0; i < n; i++)
		mbox_write_mboxrd(&out, msgs[i], strlen(msgs[i]), i == 2 ? NULL : "x@example.org", 1611542802 + i);
	ok(!strncmp(out.buf, "From x@example.org Mon Jan 25 02:46:42 2021\n", 44), "From_ line written in asctime UTC");
	char *p = path_of("rt.mbox");
	write_file(p, out.buf, out.len);
	struct got g;
	read_all(p, MBOX_MBOXRD, &g);
	is_int(g.n, n, "round trip: same count");
	int same = g.n == n;
	for (size_t i = 0; same && i < n; i++)
		if (!data_is(&g.m[i], msgs[i])) {
			same = 0;
			diag("message %zu differs", i);
		}
	ok(same, "round trip: byte-exact");
	ok(g.n == n && g.m[1].arrival == 1611542803, "round trip: date back from the From_ line");
	release_all(&g);
	sbuf_release(&out);
	free(p);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/t_mbox.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		kv_panic("mkdtemp");
	test_from_lines();
	test_mboxrd();
	test_truncated();
	test_crlf();
	test_maildir_and_empty();
	test_roundtrip();
	char *cmd = kv_xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	free(cmd);
	return done_testing();
}
