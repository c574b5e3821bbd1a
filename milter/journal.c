/*
 * journal.c - the journal's record format and file I/O (see journal.h for
 * the format and why a file is overwritten in place).
 */
#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <zlib.h>

#include "journal.h"
#include "banned.h"

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int k = 0; k < n; k++)
		p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int k = 0; k < n; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

/* CRC-32 of the header's length and epoch, then the mail. */
static uint32_t rec_crc(const unsigned char *hdr, const char *raw, size_t len)
{
	uLong c = crc32(0L, hdr + 4, 16);
	while (len > 0) {
		/* zlib takes an unsigned int length */
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		c = crc32(c, (const Bytef *)raw, n);
		raw += n;
		len -= n;
	}
	return (uint32_t)c;
}

void journal_encode_header(unsigned char hdr[JOURNAL_HDR], uint64_t epoch,
			   const char *raw, size_t len)
{
	memcpy(hdr, JOURNAL_MAGIC, 4);
	put_le(hdr + 4, len, 8);
	put_le(hdr + 12, epoch, 8);
	put_le(hdr + 20, rec_crc(hdr, raw, len), 4);
}

int journal_write(const struct journal_file *f, uint64_t off, uint64_t epoch,
		  const char *raw, size_t len, struct kv_err *err)
{
	unsigned char hdr[JOURNAL_HDR];
	struct iovec iov[2];
	size_t want = JOURNAL_HDR + len, done = 0;

	journal_encode_header(hdr, epoch, raw, len);
	while (done < want) {
		ssize_t n;
		if (done < JOURNAL_HDR) {
			iov[0].iov_base = hdr + done;
			iov[0].iov_len = JOURNAL_HDR - done;
			iov[1].iov_base = (char *)raw;
			iov[1].iov_len = len;
			n = pwritev(f->fd, iov, 2, (off_t)(off + done));
		} else {
			n = pwrite(f->fd, raw + (done - JOURNAL_HDR), want - done, (off_t)(off + done));
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return kv_err_set(err, "cannot write journal %s: %s", f->path, strerror(errno));
		}
		done += (size_t)n;
	}
	return 0;
}

int journal_read(const struct journal_file *f, uint64_t off, char *buf, size_t len,
		 struct kv_err *err)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(f->fd, buf + done, len - done, (off_t)(off + done));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return kv_err_set(err, "cannot read it back from the journal: %s",
					  n < 0 ? strerror(errno) : "short file");
		}
		done += (size_t)n;
	}
	return 0;
}

int journal_prealloc(struct journal_file *f, uint64_t size)
{
	static const char zeros[65536];
	int e;

	if (ftruncate(f->fd, 0) < 0)
		return -1;
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof zeros ? (size_t)(size - off) : sizeof zeros;
		ssize_t w = pwrite(f->fd, zeros, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* a short write is retried for the rest, so the
			 * error is the file system's own (ENOSPC, EDQUOT...) */
			e = w < 0 ? errno : ENOSPC;
			goto fail;
		}
		off += (uint64_t)w;
	}
	if (fsync(f->fd) == 0) {
		f->size = size;
		return 0;
	}
	e = errno;
fail:
	/* a half-filled journal would hold the space the store and the
	 * spool need: give it back */
	if (ftruncate(f->fd, 0) == 0)
		fsync(f->fd);
	f->size = 0;
	errno = e;
	return -1;
}

/* Bytes this process may still allocate on f's file system, counting
 * what f itself holds now (it is emptied before it is filled). */
static uint64_t journal_room(const struct journal_file *f)
{
	struct statvfs sv;
	struct stat st;
	uint64_t room;

	if (fstatvfs(f->fd, &sv) < 0)
		return UINT64_MAX;
	room = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (fstat(f->fd, &st) == 0)
		room += (uint64_t)st.st_blocks * 512;
	return room;
}

int journal_prealloc_fit(struct journal_file *f, uint64_t want, uint64_t *room)
{
	uint64_t size = want;

	*room = journal_room(f);
	while (size > JOURNAL_SIZE_MIN && size > *room / 4)
		size /= 2;
	if (size > *room / 4) {
		errno = ENOSPC;
		return -1;
	}
	for (;;) {
		if (journal_prealloc(f, size) == 0)
			return 0;
		if ((errno != ENOSPC && errno != EDQUOT) || size / 2 < JOURNAL_SIZE_MIN)
			return -1;
		size /= 2;
	}
}

int journal_next(const char *data, size_t len, struct journal_scan *sc,
		 const char **rec, size_t *rlen)
{
	const unsigned char *h;
	size_t left;
	uint64_t l;

	if (sc->off > len)
		return 0;
	h = (const unsigned char *)data + sc->off;
	left = len - sc->off;
	if (sc->fmt == 0)
		sc->fmt = left >= 4 && memcmp(h, JOURNAL_MAGIC1, 4) == 0 ? 1 : 2;
	if (sc->fmt == 1) {
		if (left < JOURNAL_HDR1 || memcmp(h, JOURNAL_MAGIC1, 4) != 0)
			return 0;
		l = get_le(h + 4, 8);
		if (l > left - JOURNAL_HDR1)
			return 0;
		*rec = data + sc->off + JOURNAL_HDR1;
	} else {
		if (left < JOURNAL_HDR || memcmp(h, JOURNAL_MAGIC, 4) != 0)
			return 0;
		l = get_le(h + 4, 8);
		if (l > left - JOURNAL_HDR)
			return 0;
		if (sc->off == 0)
			sc->epoch = get_le(h + 12, 8);
		if (get_le(h + 12, 8) != sc->epoch ||
		    get_le(h + 20, 4) != rec_crc(h, data + sc->off + JOURNAL_HDR, (size_t)l))
			return 0;
		*rec = data + sc->off + JOURNAL_HDR;
	}
	*rlen = (size_t)l;
	sc->off = (size_t)(*rec - data) + (size_t)l;
	return 1;
}
