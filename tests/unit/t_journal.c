/*
 * t_journal.c - the milter's journal format (milter/journal.c) on its own:
 * a record's header and CRC as written by journal_write, and the replay
 * scan, which must return every record of the journal's epoch in order and
 * stop at the first record that is torn, corrupt, of an older epoch, or
 * zeros, never returning a byte of what follows. The earlier "KVJ1" format
 * still scans.
 */
#include "tap.h"
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *mails[] = {
	"From: a@example.org\nSubject: one\n\nfirst body\n",
	"From: b@example.org\nSubject: two\n\n",
	"",   /* an empty mail is a valid record too */
	"From: c@example.org\nSubject: three\n\nthird body, a little longer than the others\n",
};
#define NMAILS (sizeof mails / sizeof mails[0])

/* Append one record of epoch to b. */
static void add_record(struct sbuf *b, uint64_t epoch, const char *raw)
{
	unsigned char hdr[JOURNAL_HDR];
	journal_encode_header(hdr, epoch, raw, strlen(raw));
	sbuf_add(b, (const char *)hdr, sizeof hdr);
	sbuf_adds(b, raw);
}

/* Scan data[0..len): the number of records, each checked against
 * mails[] in order; *end gets the scan's stopping offset. */
static size_t scan(const char *data, size_t len, size_t *end, int *same)
{
	struct journal_scan sc = JOURNAL_SCAN_INIT;
	const char *rec;
	size_t rlen, n = 0;
	*same = 1;
	while (journal_next(data, len, &sc, &rec, &rlen)) {
		if (n >= NMAILS || rlen != strlen(mails[n]) || memcmp(rec, mails[n], rlen) != 0)
			*same = 0;
		n++;
	}
	*end = sc.off;
	return n;
}

static void test_header(void)
{
	unsigned char hdr[JOURNAL_HDR], again[JOURNAL_HDR];
	const char *m = mails[0];
	size_t len = strlen(m);

	journal_encode_header(hdr, 0x0102030405060708ull, m, len);
	ok(memcmp(hdr, "KVJ2", 4) == 0, "header starts with the magic KVJ2");
	ok(hdr[4] == (unsigned char)len && hdr[5] == 0 && hdr[11] == 0,
	   "length is 8 bytes little-endian");
	ok(hdr[12] == 0x08 && hdr[19] == 0x01, "epoch is 8 bytes little-endian");
	journal_encode_header(again, 0x0102030405060708ull, m, len);
	ok(memcmp(hdr, again, sizeof hdr) == 0, "the same record encodes the same");
	journal_encode_header(again, 0x0102030405060709ull, m, len);
	ok(memcmp(hdr + 20, again + 20, 4) != 0, "the CRC covers the epoch");
	journal_encode_header(again, 0x0102030405060708ull, "X", 1);
	ok(memcmp(hdr + 20, again + 20, 4) != 0, "the CRC covers the mail");
}

static void test_scan(void)
{
	struct sbuf b = SBUF_INIT;
	size_t end, n, full, second = 0;
	int same;

	for (size_t i = 0; i < NMAILS; i++) {
		if (i == 1)
			second = b.len;
		add_record(&b, 7, mails[i]);
	}
	full = b.len;

	n = scan(b.buf, b.len, &end, &same);
	is_int(n, NMAILS, "a whole journal scans to every record");
	ok(same, "records come back byte for byte, in order");
	is_int(end, full, "the scan ends after the last record");

	/* zeros after the records (the preallocated rest of the file) */
	sbuf_add(&b, (const char[64]){ 0 }, 64);
	n = scan(b.buf, b.len, &end, &same);
	is_int(n, NMAILS, "zeros after the records end the scan");
	is_int(end, full, "... right after the last record");

	/* a left-over of an older epoch after the records */
	b.len = full;
	add_record(&b, 6, "From: old@example.org\n\nleft over\n");
	n = scan(b.buf, b.len, &end, &same);
	is_int(n, NMAILS, "a record of an earlier epoch ends the scan");
	ok(same && end == full, "... and none of its bytes is returned");

	/* a torn last record: its header promises more than the file has */
	b.len = full;
	add_record(&b, 7, "From: torn@example.org\n\nthe end never reached the disk\n");
	n = scan(b.buf, b.len - 5, &end, &same);
	is_int(n, NMAILS, "a torn record ends the scan");
	is_int(end, full, "... at its start");
	n = scan(b.buf, full + 10, &end, &same);
	is_int(n, NMAILS, "a torn header ends the scan");

	/* a flipped byte in the second record's mail: the CRC fails there,
	 * and the good records after it are not returned either */
	b.len = full;
	b.buf[second + JOURNAL_HDR + 3] ^= 0x20;
	n = scan(b.buf, b.len, &end, &same);
	is_int(n, 1, "a corrupt record ends the scan (CRC)");
	is_int(end, second, "... at its start");
	b.buf[second + JOURNAL_HDR + 3] ^= 0x20;

	/* a flipped byte in the length field */
	b.buf[second + 5] ^= 0x01;
	n = scan(b.buf, b.len, &end, &same);
	is_int(n, 1, "a corrupt length ends the scan");
	b.buf[second + 5] ^= 0x01;

	/* the epoch is the first record's, whatever its value */
	n = scan(b.buf, b.len, &end, &same);
	is_int(n, NMAILS, "restored: every record again");

	/* an empty or all-zero journal has no records */
	n = scan(b.buf, 0, &end, &same);
	is_int(n, 0, "an empty journal has no records");
	n = scan((const char[JOURNAL_HDR * 2]){ 0 }, JOURNAL_HDR * 2, &end, &same);
	is_int(n, 0, "a zero-filled journal has no records");
	sbuf_release(&b);
}

/* The earlier append-only format: "KVJ1", 8-byte length, the mail. */
static void test_kvj1(void)
{
	struct sbuf b = SBUF_INIT;
	size_t end, n;
	int same;

	for (size_t i = 0; i < NMAILS; i++) {
		unsigned char h[JOURNAL_HDR1] = { 'K', 'V', 'J', '1' };
		size_t len = strlen(mails[i]);
		for (int k = 0; k < 8; k++)
			h[4 + k] = (unsigned char)(len >> (8 * k));
		sbuf_add(&b, (const char *)h, sizeof h);
		sbuf_adds(&b, mails[i]);
	}
	n = scan(b.buf, b.len, &end, &same);
	is_int(n, NMAILS, "a KVJ1 journal scans to every record");
	ok(same, "KVJ1 records come back byte for byte");
	n = scan(b.buf, b.len - 1, &end, &same);
	is_int(n, NMAILS - 1, "a torn KVJ1 record ends the scan");
	sbuf_release(&b);
}

/* journal_write into a zero-filled file, then the file's contents scan
 * back; journal_read returns a record's mail. */
static void test_file(void)
{
	char path[] = "/tmp/t_journal.XXXXXX";
	struct journal_file f = { .fd = mkstemp(path), .path = path };
	struct kv_err err = { "" };
	char *data = NULL, buf[256];
	size_t len = 0, end, n;
	uint64_t off = 0, offs[NMAILS];
	struct stat st;
	int same, wrote = 1;

	if (!ok(f.fd >= 0, "temporary journal file"))
		return;
	ok(journal_prealloc(&f, 8192) == 0 && fstat(f.fd, &st) == 0 && st.st_size == 8192,
	   "journal_prealloc zero-fills the file to its size");
	for (size_t i = 0; i < NMAILS; i++) {
		offs[i] = off + JOURNAL_HDR;
		if (journal_write(&f, off, 42, mails[i], strlen(mails[i]), &err) < 0)
			wrote = 0;
		off += JOURNAL_HDR + strlen(mails[i]);
	}
	ok(wrote, "journal_write writes every record %s", err.msg);
	ok(kv_read_file(path, &data, &len, &err) == 0, "read the file back %s", err.msg);
	n = scan(data, len, &end, &same);
	is_int(n, NMAILS, "the written file scans to every record");
	ok(same && end == off, "... byte for byte, ending after the last one");
	ok(journal_read(&f, offs[3], buf, strlen(mails[3]), &err) == 0 &&
	   memcmp(buf, mails[3], strlen(mails[3])) == 0, "journal_read returns a record's mail");
	ok(journal_read(&f, 8192 - 4, buf, 16, &err) < 0 && strstr(err.msg, "short file"),
	   "journal_read past the end fails: %s", err.msg);

	/* starting over in a new epoch over the old records: only the new
	 * ones come back */
	ok(journal_write(&f, 0, 43, mails[0], strlen(mails[0]), &err) == 0, "a new epoch at 0");
	free(data);
	kv_read_file(path, &data, &len, &err);
	n = scan(data, len, &end, &same);
	is_int(n, 1, "after starting over, the old epoch's records are left-overs");
	free(data);
	close(f.fd);
	unlink(path);
}

/* A zero-fill the file system refuses (here: a file size limit, the same
 * short write / error as a full disk) gives its space back and reports
 * the real errno; journal_prealloc_fit then settles for a smaller size. */
static void test_prealloc_fail(void)
{
	char path[] = "/tmp/t_journal.XXXXXX";
	struct journal_file f = { .fd = mkstemp(path), .path = path };
	struct rlimit old, lim;
	struct stat st;
	int rc, e;

	if (!ok(f.fd >= 0, "temporary journal file"))
		return;
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 300 << 10;
	setrlimit(RLIMIT_FSIZE, &lim);
	errno = 0;
	rc = journal_prealloc(&f, 1u << 20);
	e = errno;
	setrlimit(RLIMIT_FSIZE, &old);
	ok(rc < 0 && e == EFBIG, "a refused zero-fill fails with the real errno: %s", strerror(e));
	ok(fstat(f.fd, &st) == 0 && st.st_size == 0 && st.st_blocks == 0 && f.size == 0,
	   "... and leaves an empty file (%lld bytes), not a half-filled one", (long long)st.st_size);
	close(f.fd);
	unlink(path);
}

int main(void)
{
	test_header();
	test_scan();
	test_kvj1();
	test_file();
	test_prealloc_fail();
	return done_testing();
}
