/*
 * powerloss_shim.c - an LD_PRELOAD library for tests (never installed)
 * that lets a test simulate a power loss on chosen files: it keeps, for
 * each, a copy of the content the disk is known to hold (the "synced
 * image") and updates it only when the program's fsync/fdatasync on that
 * file returns. After killing the program, the test copies each image over
 * its file: what was written and not synced is gone, as after a power cut
 * with the worst-case page cache (nothing unsynced reached the disk).
 * tests/t/25-milter-powerloss.t uses it on the milter's journal files.
 *
 * Environment:
 *   KV_POWERLOSS_FILES  colon-separated absolute paths to follow (as the
 *                       program opens them)
 *   KV_POWERLOSS_DIR    where the images go: DIR/<path with '/' as '_'>
 * A followed file's image starts as its content when it is opened (the
 * test reverts files before the program starts, so that content is on the
 * disk). Writes through pwrite/pwritev/write record their byte ranges;
 * fsync/fdatasync copies those ranges, and the file's size, into the image.
 * One mutex is held across a followed file's writes and syncs, so a sync
 * publishes exactly the writes that returned before it began (later ones
 * stay unsynced, as POSIX allows). Other files pass straight through.
 *
 * Built by the Makefile as $(BUILD)/tools/powerloss.so, without the
 * project's flags (a plain shared object, even in a sanitizer build).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FILES 8
#define MAX_FDS 1024

struct range { off_t off; size_t len; };

struct followed {
	char path[4096];
	char image[8200];
	int seen;                 /* opened before: the image is kept */
	struct range *pending;
	size_t npending, cap;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct followed files[MAX_FILES];
static size_t nfiles;
static int fd_file[MAX_FDS];          /* fd -> index + 1 into files, 0: not followed */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);

static void die(const char *what)
{
	fprintf(stderr, "powerloss_shim: %s: %s\n", what, strerror(errno));
	abort();
}

static void init(void)
{
	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_pwritev = dlsym(RTLD_NEXT, "pwritev");
	real_write = dlsym(RTLD_NEXT, "write");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_close = dlsym(RTLD_NEXT, "close");
	const char *list = getenv("KV_POWERLOSS_FILES"), *dir = getenv("KV_POWERLOSS_DIR");
	if (!list || !dir)
		return;
	for (const char *p = list; *p && nfiles < MAX_FILES;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct followed *f = &files[nfiles++];
		if (n >= sizeof(f->path))
			n = sizeof(f->path) - 1;
		memcpy(f->path, p, n);
		f->path[n] = 0;
		char flat[4096];
		snprintf(flat, sizeof(flat), "%s", f->path);
		for (char *c = flat; *c; c++)
			if (*c == '/')
				*c = '_';
		snprintf(f->image, sizeof(f->image), "%s/%s", dir, flat);
		p = e ? e + 1 : p + n;
	}
}

/* Copy len bytes at off from fd "from" to fd "to" (same offsets). */
static void copy_range(int from, int to, off_t off, size_t len)
{
	char buf[65536];
	while (len) {
		size_t want = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t n = pread(from, buf, want, off);
		if (n < 0)
			die("pread");
		if (n == 0)
			break;   /* past the end now: the size step below handles it */
		if (real_pwrite(to, buf, (size_t)n, off) != n)
			die("write image");
		off += n;
		len -= (size_t)n;
	}
}

/* After open: follow fd if its path is one of ours; at the path's first
 * open its image is the content it has now. Called with mu held. */
static void follow(int fd, const char *path)
{
	if (fd < 0 || fd >= MAX_FDS)
		return;
	fd_file[fd] = 0;
	for (size_t i = 0; i < nfiles; i++) {
		if (strcmp(files[i].path, path))
			continue;
		fd_file[fd] = (int)i + 1;
		if (files[i].seen)
			continue;
		files[i].seen = 1;
		struct stat st;
		int img = real_open(files[i].image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (img < 0 || fstat(fd, &st) < 0)
			die(files[i].image);
		copy_range(fd, img, 0, (size_t)st.st_size);
		real_close(img);
		files[i].npending = 0;
	}
}

static struct followed *followed_fd(int fd)
{
	return fd >= 0 && fd < MAX_FDS && fd_file[fd] ? &files[fd_file[fd] - 1] : NULL;
}

static void note_write(struct followed *f, off_t off, ssize_t n)
{
	if (n <= 0)
		return;
	if (f->npending == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->pending = realloc(f->pending, f->cap * sizeof(*f->pending));
		if (!f->pending)
			die("realloc");
	}
	f->pending[f->npending++] = (struct range){ off, (size_t)n };
}

/* The real sync, then the written ranges and the size into the image. */
static int sync_followed(int fd, struct followed *f, int (*real)(int))
{
	int rc = real(fd);
	if (rc < 0)
		return rc;
	int img = real_open(f->image, O_WRONLY | O_CLOEXEC);
	struct stat st;
	if (img < 0 || fstat(fd, &st) < 0)
		die(f->image);
	for (size_t i = 0; i < f->npending; i++)
		copy_range(fd, img, f->pending[i].off, f->pending[i].len);
	if (ftruncate(img, st.st_size) < 0)
		die("ftruncate image");
	real_close(img);
	f->npending = 0;
	return rc;
}

/* The open call (real_open or real_openat, by dirfd) and, for a followed
 * path, its image, under mu. */
static int open_followed(int dirfd, const char *path, int flags, mode_t mode)
{
	pthread_mutex_lock(&mu);
	int fd = dirfd == AT_FDCWD ? real_open(path, flags, mode) : real_openat(dirfd, path, flags, mode);
	follow(fd, path);
	pthread_mutex_unlock(&mu);
	return fd;
}

#define OPEN_MODE(flags, mode) do { \
	if ((flags) & (O_CREAT | O_TMPFILE)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = va_arg(ap, mode_t); \
		va_end(ap); \
	} \
} while (0)

int open(const char *path, int flags, ...)
{
	pthread_once(&once, init);
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	return open_followed(AT_FDCWD, path, flags, mode);
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	pthread_once(&once, init);
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	return open_followed(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	pthread_once(&once, init);
	struct followed *f = followed_fd(fd);
	if (!f)
		return real_pwrite(fd, buf, n, off);
	pthread_mutex_lock(&mu);
	ssize_t r = real_pwrite(fd, buf, n, off);
	note_write(f, off, r);
	pthread_mutex_unlock(&mu);
	return r;
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	pthread_once(&once, init);
	struct followed *f = followed_fd(fd);
	if (!f)
		return real_pwritev(fd, iov, cnt, off);
	pthread_mutex_lock(&mu);
	ssize_t r = real_pwritev(fd, iov, cnt, off);
	note_write(f, off, r);
	pthread_mutex_unlock(&mu);
	return r;
}
ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) __attribute__((alias("pwritev")));

ssize_t write(int fd, const void *buf, size_t n)
{
	pthread_once(&once, init);
	struct followed *f = followed_fd(fd);
	if (!f)
		return real_write(fd, buf, n);
	pthread_mutex_lock(&mu);
	off_t off = lseek(fd, 0, SEEK_CUR);
	ssize_t r = real_write(fd, buf, n);
	note_write(f, off, r);
	pthread_mutex_unlock(&mu);
	return r;
}

static int sync_call(int fd, int (*real)(int))
{
	pthread_once(&once, init);
	struct followed *f = followed_fd(fd);
	if (!f)
		return real(fd);
	pthread_mutex_lock(&mu);
	int rc = sync_followed(fd, f, real);
	pthread_mutex_unlock(&mu);
	return rc;
}

int fsync(int fd)
{
	pthread_once(&once, init);
	return sync_call(fd, real_fsync);
}

int fdatasync(int fd)
{
	pthread_once(&once, init);
	return sync_call(fd, real_fdatasync);
}

int close(int fd)
{
	pthread_once(&once, init);
	if (fd >= 0 && fd < MAX_FDS && fd_file[fd]) {
		pthread_mutex_lock(&mu);
		fd_file[fd] = 0;
		pthread_mutex_unlock(&mu);
	}
	return real_close(fd);
}
