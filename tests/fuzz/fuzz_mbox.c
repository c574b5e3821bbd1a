/*
 * fuzz_mbox.c - the mail source reader (store/mbox.c) on any file. The
 * first input byte picks the form: bit 0 mboxrd or mboxo, bit 1 an mbox
 * file or a maildir (the rest split into new/ files at each "\n\x01\n").
 * The bytes may be gzip'd (the reader decompresses what it is given).
 * Properties: every message is either bytes or a skip with a reason,
 * the messages of an mbox are numbered 1, 2, 3 ... (a file that does not
 * start with a From_ line is one message, number 0), never hold more bytes
 * than the file has; and writing the messages read from a plain mboxrd out with
 * mbox_write_mboxrd and reading that back gives the same messages
 * (the round trip import and export rely on).
 *
 * Files live in one directory per process ($TMPDIR or /tmp), rewritten
 * each run and removed at exit.
 */
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "kv.h"
#include "log.h"
#include "mbox.h"

static char *dir;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

/* rm -rf path (no shell: a fork per run would halve the runs) */
static void rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		FUZZ_ASSERT(0, "cannot remove %s", path);
}

static void cleanup(void)
{
	rm_tree(dir);
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	dir = kv_xasprintf("%s/kv-fuzz-mbox-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
}

static void write_file(const char *path, const uint8_t *d, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_ASSERT(fd >= 0, "cannot write %s", path);
	while (n) {
		ssize_t w = write(fd, d, n);
		FUZZ_ASSERT(w > 0, "write %s", path);
		d += w;
		n -= (size_t)w;
	}
	close(fd);
}

struct got {
	struct sbuf mbox;    /* the messages written back as mboxrd */
	size_t n;            /* messages with bytes */
	size_t bytes;
	char **data;         /* copies, for the round trip */
	size_t *len;
};

/* Read everything from path; check the per-message properties. */
static void read_all(const char *path, enum mbox_format fmt, int is_mbox, size_t max_bytes, struct got *g)
{
	struct mbox_reader *r;
	struct kv_err err;
	memset(g, 0, sizeof(*g));
	sbuf_init(&g->mbox);
	if (mbox_open(&r, path, fmt, &err) < 0)
		return;
	struct mbox_msg m;
	uint64_t prev = 0;
	size_t count = 0;
	while (mbox_next(r, &m) == 1) {
		FUZZ_ASSERT(!m.data != !m.skip, "a message with both or neither of bytes and skip");
		count++;
		/* a file that starts with a From_ line is an mbox (messages 1, 2,
		 * 3 ...), any other file one message (number 0) */
		if (is_mbox && m.index)
			FUZZ_ASSERT(m.index == prev + 1, "message numbered %llu after %llu",
				    (unsigned long long)m.index, (unsigned long long)prev);
		else if (is_mbox)
			FUZZ_ASSERT(count == 1, "a message numbered 0 in an mbox");
		prev = m.index;
		if (m.skip) {
			FUZZ_ASSERT(m.skip[0], "skip without a reason");
		} else {
			g->bytes += m.len;
			g->data = kv_xrealloc(g->data, (g->n + 1) * sizeof(*g->data));
			g->len = kv_xrealloc(g->len, (g->n + 1) * sizeof(*g->len));
			g->data[g->n] = kv_xstrndup(m.data, m.len);
			g->len[g->n] = m.len;
			g->n++;
			mbox_write_mboxrd(&g->mbox, m.data, m.len, "fuzz@example.org", m.arrival);
		}
		mbox_msg_release(&m);
	}
	mbox_close(r);
	if (max_bytes)
		FUZZ_ASSERT(g->bytes <= max_bytes, "%zu message bytes from a %zu byte file", g->bytes, max_bytes);
}

static void got_release(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->data[i]);
	free(g->data);
	free(g->len);
	sbuf_release(&g->mbox);
}

static int plain_text(const uint8_t *d, size_t n)
{
	return !(n >= 2 && d[0] == 0x1f && d[1] == 0x8b) && !memchr(d, 0, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir) {
		setup();
		log_set_level(LOG_LVL_ERR);
	}
	if (size < 1)
		return 0;
	unsigned mode = data[0];
	data++;
	size--;
	enum mbox_format fmt = (mode & 1) ? MBOX_MBOXO : MBOX_MBOXRD;
	char *in = kv_xasprintf("%s/in", dir);
	char *back0 = kv_xasprintf("%s/back", dir);
	rm_tree(in);
	rm_tree(back0);
	free(back0);
	struct got g;

	if (!(mode & 2)) {
		write_file(in, data, size);
		read_all(in, fmt, 1, plain_text(data, size) ? size : 0, &g);
		/* round trip: what mboxrd writing gives, mboxrd reading takes back
		 * (for messages ending in a newline, as the writer documents) */
		int all_nl = 1;
		for (size_t i = 0; i < g.n; i++)
			all_nl &= g.len[i] > 0 && g.data[i][g.len[i] - 1] == '\n';
		if (all_nl && g.n) {
			char *back = kv_xasprintf("%s/back", dir);
			write_file(back, (const uint8_t *)g.mbox.buf, g.mbox.len);
			struct got g2;
			read_all(back, MBOX_MBOXRD, 1, 0, &g2);
			FUZZ_ASSERT(g2.n == g.n, "%zu messages written back, %zu read", g.n, g2.n);
			for (size_t i = 0; i < g.n; i++)
				FUZZ_ASSERT(g.len[i] == g2.len[i] && !memcmp(g.data[i], g2.data[i], g.len[i]),
					    "message %zu changed in the round trip", i + 1);
			got_release(&g2);
			free(back);
		}
	} else {
		char *sub = kv_xasprintf("%s/new", in);
		FUZZ_ASSERT(mkdir(in, 0700) == 0 && mkdir(sub, 0700) == 0, "mkdir %s", sub);
		char *cur = kv_xasprintf("%s/cur", in);
		mkdir(cur, 0700);
		free(cur);
		size_t start = 0, nfiles = 0;
		for (size_t i = 0; i <= size && nfiles < 64; i++) {
			if (i == size || (i + 2 < size && data[i] == '\n' && data[i + 1] == 1 && data[i + 2] == '\n')) {
				char *p = kv_xasprintf("%s/%zu.fuzz", sub, nfiles++);
				write_file(p, data + start, i - start);
				free(p);
				start = i + 3;
				i += 2;
			}
		}
		read_all(in, fmt, 0, 0, &g);
		free(sub);
	}
	got_release(&g);
	free(in);
	return 0;
}
