/*
 * mbox.c - reading mail sources (mbox, gzip'd mbox, maildir, directories,
 * single files, stdin) into raw messages, and writing mboxrd. See mbox.h
 * for the rules on boundaries, escaping and truncation.
 *
 * Every input goes through zlib's gzread, which reads plain files as they
 * are ("transparent" mode) and decompresses gzip as it goes: one code path,
 * and a 12 MB compressed mbox is never held whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "mbox.h"
#include "kvtime.h"
#include "banned.h"

#define READ_CHUNK (256u << 10)

int mbox_format_parse(const char *name, enum mbox_format *fmt)
{
	if (!strcmp(name, "mboxrd")) {
		*fmt = MBOX_MBOXRD;
		return 0;
	}
	if (!strcmp(name, "mboxo")) {
		*fmt = MBOX_MBOXO;
		return 0;
	}
	return -1;
}

void mbox_msg_release(struct mbox_msg *m)
{
	free(m->data);
	free(m->file);
	free(m->skip);
	memset(m, 0, sizeof(*m));
}

/* ---- From_ lines ---- */

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int month_of(const char *s, size_t n)
{
	if (n != 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (!strncasecmp(s, months[i], 3))
			return i;
	return -1;
}

static int all_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int num_of(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* "hh:mm" or "hh:mm:ss" */
static int time_of(const char *s, size_t n, int *h, int *mi, int *sec)
{
	if ((n != 5 && n != 8) || s[2] != ':' || (n == 8 && s[5] != ':'))
		return 0;
	if (!all_digits(s, 2) || !all_digits(s + 3, 2) || (n == 8 && !all_digits(s + 6, 2)))
		return 0;
	*h = num_of(s, 2);
	*mi = num_of(s + 3, 2);
	*sec = n == 8 ? num_of(s + 6, 2) : 0;
	return *h < 24 && *mi < 60 && *sec < 61;
}

int mbox_is_from_line(const char *line, size_t len, int64_t *date)
{
	const char *p = line, *end = line + len;
	int mon = -1, day = -1, year = -1, h = -1, mi = 0, sec = 0, zone = 0, have_time = 0;

	*date = 0;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (end - p < 5 || memcmp(p, "From ", 5))
		return 0;
	p += 5;
	while (p < end && *p == ' ')
		p++;
	/* the sender: one token */
	if (p >= end)
		return 0;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	/* the date: tokens in any of the usual asctime-like orders */
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		const char *t = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		size_t n = p - t;
		int m;
		if (!n)
			break;
		if ((m = month_of(t, n)) >= 0 && mon < 0)
			mon = m;
		else if (all_digits(t, n) && n <= 2 && day < 0)
			day = num_of(t, n);
		else if (all_digits(t, n) && n == 4 && year < 0)
			year = num_of(t, n);
		else if (!have_time && time_of(t, n, &h, &mi, &sec))
			have_time = 1;
		else if (n == 5 && (t[0] == '+' || t[0] == '-') && all_digits(t + 1, 4))
			zone = (t[0] == '-' ? -1 : 1) * (num_of(t + 1, 2) * 3600 + num_of(t + 3, 2) * 60);
	}
	if (!have_time || year < 0)
		return 0;
	if (mon >= 0 && day >= 1 && day <= 31 && year > 1970) {
		struct tm tm = { 0 };
		tm.tm_year = year - 1900;
		tm.tm_mon = mon;
		tm.tm_mday = day;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = sec;
		*date = kvtime_timegm(&tm) - zone;
	}
	return 1;
}

int mbox_looks_like_mail(const char *data, size_t len)
{
	size_t i = 0;
	while (i < len && data[i] > ' ' && data[i] < 127 && data[i] != ':')
		i++;
	return i > 0 && i < len && data[i] == ':';
}

/* ---- one input stream ---- */

struct input {
	gzFile gz;
	char *name;
	char *buf;
	size_t pos, end, cap;
	int eof;           /* nothing more to read */
	int error;         /* the stream ended by an error (truncated gzip, I/O) */
	char errmsg[160];
	uint64_t lineno;   /* lines handed out so far */
	size_t chunk;      /* read size: small for small files (maildirs) */
	int64_t mtime;
	uint64_t size;
};

static void input_close(struct input *in)
{
	if (!in)
		return;
	if (in->gz)
		gzclose(in->gz);
	free(in->name);
	free(in->buf);
	free(in);
}

/* Open a file (or "-") as a stream. NULL with why (malloc'd) on failure. */
static struct input *input_open(const char *path, char **why)
{
	int fd;
	struct stat st;
	struct input *in;

	if (!strcmp(path, "-"))
		fd = dup(0);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = kv_xasprintf("cannot open: %s", strerror(errno));
		return NULL;
	}
	in = kv_xcalloc(1, sizeof(*in));
	in->name = kv_xstrdup(path);
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			close(fd);
			input_close(in);
			*why = kv_xstrdup("is a directory");
			return NULL;
		}
		in->mtime = st.st_mtime;
		if (S_ISREG(st.st_mode))
			in->size = st.st_size;
	}
	in->gz = gzdopen(fd, "rb");
	if (!in->gz) {
		close(fd);
		input_close(in);
		*why = kv_xstrdup("cannot open: out of memory in zlib");
		return NULL;
	}
	/* A maildir is many small files: buffers sized to the file avoid
	 * allocating and faulting in 1 MB per message. */
	in->chunk = READ_CHUNK;
	while (in->size && in->chunk > 16384 && in->chunk / 2 > in->size)
		in->chunk /= 2;
	gzbuffer(in->gz, (unsigned)in->chunk);
	in->cap = in->chunk * 2;
	in->buf = kv_xmalloc(in->cap);
	return in;
}

static void input_fill(struct input *in)
{
	if (in->pos > 0) {
		memmove(in->buf, in->buf + in->pos, in->end - in->pos);
		in->end -= in->pos;
		in->pos = 0;
	}
	if (in->cap - in->end < in->chunk / 2) {
		in->cap *= 2;
		in->buf = kv_xrealloc(in->buf, in->cap);
	}
	int n = gzread(in->gz, in->buf + in->end, (unsigned)(in->cap - in->end));
	if (n > 0) {
		in->end += n;
		return;
	}
	in->eof = 1;
	int errnum = Z_OK;
	const char *msg = gzerror(in->gz, &errnum);
	if (n < 0 || errnum != Z_OK) {
		in->error = 1;
		snprintf(in->errmsg, sizeof(in->errmsg), "%s",
			 errnum == Z_ERRNO ? strerror(errno) : (msg && *msg ? msg : "read error"));
	}
}

/* A line longer than this comes back in pieces of about this size (the
 * pieces but the last have no newline), so a line of hundreds of MB (a
 * gzip bomb of one byte repeated) never sits whole in the buffer. */
#define INPUT_PIECE_MAX ((size_t)1 << 20)

/* Next line (with its newline, if any) as a view valid until the next call.
 * 1 when there is one, 0 at the end. */
static int input_line(struct input *in, const char **line, size_t *len)
{
	size_t scanned = 0;
	for (;;) {
		char *nl = memchr(in->buf + in->pos + scanned, '\n', in->end - in->pos - scanned);
		if (nl) {
			*line = in->buf + in->pos;
			*len = nl + 1 - *line;
			in->pos += *len;
			in->lineno++;
			return 1;
		}
		if (in->eof) {
			if (in->pos == in->end)
				return 0;
			*line = in->buf + in->pos;
			*len = in->end - in->pos;
			in->pos = in->end;
			in->lineno++;
			return 1;
		}
		scanned = in->end - in->pos;
		if (scanned >= INPUT_PIECE_MAX) {
			*line = in->buf + in->pos;
			*len = scanned;
			in->pos = in->end;
			return 1;
		}
		input_fill(in);
	}
}

static int is_blank(const char *l, size_t n)
{
	return (n == 1 && l[0] == '\n') || (n == 2 && l[0] == '\r' && l[1] == '\n');
}

/* ---- the reader ---- */

struct entry {
	char *path;
	char *skip;   /* known not to be a message: why */
};

enum mode { MODE_NONE, MODE_MBOX, MODE_DONE };

struct mbox_reader {
	enum mbox_format fmt;
	struct entry *ents;
	size_t nents, cap, next;
	struct input *in;
	enum mode mode;
	/* mbox state: the From_ line that starts the next message */
	int have_from;
	uint64_t from_line;
	int64_t from_date;
	uint64_t index;
	struct sbuf msg;
	uint64_t done_bytes, total_bytes;
	uint64_t max_size;  /* a message longer than this is skipped; 0: no limit */
	uint64_t seen;      /* bytes of the current message, kept or not */
};

void mbox_set_max_size(struct mbox_reader *r, uint64_t max)
{
	r->max_size = max;
}

/* Keep l[0..n) of the current message unless it is over the limit: past
 * it, bytes are counted and dropped (the message becomes a skip note). */
static void msg_add(struct mbox_reader *r, const char *l, size_t n)
{
	r->seen += n;
	if (r->max_size && r->seen > r->max_size) {
		sbuf_release(&r->msg);
		return;
	}
	sbuf_add(&r->msg, l, n);
}

/* The current message was over the limit: m becomes a skip naming it. */
static int msg_oversize(struct mbox_reader *r, struct mbox_msg *m)
{
	if (!r->max_size || r->seen <= r->max_size)
		return 0;
	m->skip = kv_xasprintf("too big: %llu bytes, over the import limit of %llu "
			       "([store] import_max_message_size)",
			       (unsigned long long)r->seen, (unsigned long long)r->max_size);
	sbuf_release(&r->msg);
	return 1;
}

static void add_entry(struct mbox_reader *r, const char *path, char *skip)
{
	if (r->nents == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->ents = kv_xrealloc(r->ents, r->cap * sizeof(*r->ents));
	}
	r->ents[r->nents].path = kv_xstrdup(path);
	r->ents[r->nents].skip = skip;
	r->nents++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted: without the ones starting with '.', or with
 * them (dots) but for "." and "..". -1 with errno. */
static int list_dir(const char *dir, struct strv *names, int dots)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || (dots && strcmp(de->d_name, ".") && strcmp(de->d_name, "..")))
			strv_push(names, de->d_name);
	closedir(d);
	if (names->n)
		qsort(names->v, names->n, sizeof(char *), cmp_str);
	return 0;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A maildir is a directory holding cur/ or new/. */
static int is_maildir(const char *path)
{
	char *cur = kv_xasprintf("%s/cur", path), *new = kv_xasprintf("%s/new", path);
	int yes = is_dir(cur) || is_dir(new);
	free(cur);
	free(new);
	return yes;
}

/* Files mail programs keep at the top of a maildir: not messages, and not
 * worth a "skipped" line each. */
static int maildir_state_file(const char *name)
{
	static const char *const prefix[] = { "maildirfolder", "maildirsize", "dovecot", "courierimap",
					      "subscriptions", "mbsync", "offlineimap" };
	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (!strncmp(name, prefix[i], strlen(prefix[i])))
			return 1;
	return 0;
}

static void collect(struct mbox_reader *r, const char *path, int depth);

static void collect_files_of(struct mbox_reader *r, const char *dir, int depth)
{
	struct strv names = STRV_INIT;
	if (list_dir(dir, &names, 0) < 0) {
		add_entry(r, dir, kv_xasprintf("cannot read directory: %s", strerror(errno)));
		return;
	}
	for (size_t i = 0; i < names.n; i++) {
		char *p = kv_xasprintf("%s/%s", dir, names.v[i]);
		collect(r, p, depth + 1);
		free(p);
	}
	strv_release(&names);
}

static void collect(struct mbox_reader *r, const char *path, int depth)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		add_entry(r, path, kv_xasprintf("cannot stat: %s", strerror(errno)));
		return;
	}
	if (S_ISREG(st.st_mode)) {
		add_entry(r, path, NULL);
		r->total_bytes += st.st_size;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		add_entry(r, path, kv_xstrdup("not a regular file"));
		return;
	}
	if (depth > 64) {
		add_entry(r, path, kv_xstrdup("directories nested too deep"));
		return;
	}
	if (!is_maildir(path)) {
		collect_files_of(r, path, depth);
		return;
	}
	char *cur = kv_xasprintf("%s/cur", path), *new = kv_xasprintf("%s/new", path);
	/* A maildir: new/ then cur/; tmp/ holds deliveries in progress (not
	 * mail yet). Then its sub-folders: Maildir++ ".Name" folders (Dovecot,
	 * Courier, offlineimap) and maildirs nested as plain directories
	 * (mutt, notmuch). Other dot entries are state of mail programs
	 * (.notmuch, .uidvalidity), and so are a few well-known files of a
	 * Maildir++ root; any other file is named as not a message. */
	if (is_dir(new))
		collect_files_of(r, new, depth + 1);
	if (is_dir(cur))
		collect_files_of(r, cur, depth + 1);
	struct strv names = STRV_INIT;
	if (list_dir(path, &names, 1) == 0) {
		for (size_t i = 0; i < names.n; i++) {
			const char *n = names.v[i];
			if (!strcmp(n, "cur") || !strcmp(n, "new") || !strcmp(n, "tmp") || maildir_state_file(n))
				continue;
			char *p = kv_xasprintf("%s/%s", path, n);
			if (is_dir(p) && (n[0] != '.' || is_maildir(p)))
				collect(r, p, depth + 1);
			else if (n[0] != '.')
				add_entry(r, p, kv_xstrdup("not in cur/ or new/ of a maildir"));
			free(p);
		}
	}
	strv_release(&names);
	free(cur);
	free(new);
}

int mbox_open(struct mbox_reader **rp, const char *path, enum mbox_format fmt, struct kv_err *err)
{
	struct mbox_reader *r;
	struct stat st;

	*rp = NULL;
	if (strcmp(path, "-") && stat(path, &st) < 0)
		return kv_err_set(err, "%s: cannot open: %s", path, strerror(errno));
	r = kv_xcalloc(1, sizeof(*r));
	r->fmt = fmt;
	sbuf_init(&r->msg);
	if (!strcmp(path, "-"))
		add_entry(r, "-", NULL);
	else if (S_ISDIR(st.st_mode)) {
		collect(r, path, 0);
	} else {
		add_entry(r, path, NULL);
		if (S_ISREG(st.st_mode))
			r->total_bytes = st.st_size;
	}
	*rp = r;
	return 0;
}

void mbox_progress(const struct mbox_reader *r, uint64_t *done, uint64_t *total)
{
	*done = r->done_bytes;
	if (r->in && r->in->gz) {
		z_off_t off = gzoffset(r->in->gz);
		if (off > 0)
			*done += off;
	}
	*total = r->total_bytes;
}

static void finish_input(struct mbox_reader *r)
{
	if (r->in)
		r->done_bytes += r->in->size;
	input_close(r->in);
	r->in = NULL;
	r->mode = MODE_NONE;
	r->have_from = 0;
}

/* Does the header block end inside data (an empty line, or data empty)? */
static int has_header_end(const char *d, size_t n)
{
	if (n == 0 || d[0] == '\n' || (n > 1 && d[0] == '\r' && d[1] == '\n'))
		return 1;
	for (const char *p = d; (p = memchr(p, '\n', d + n - p)); p++) {
		if (p + 1 < d + n && p[1] == '\n')
			return 1;
		if (p + 2 < d + n && p[1] == '\r' && p[2] == '\n')
			return 1;
	}
	return 0;
}

/* Append one mbox body line, unescaped. */
static void add_unescaped(struct mbox_reader *r, const char *l, size_t n)
{
	if (n > 5 && l[0] == '>') {
		size_t q = 0;
		while (q < n && l[q] == '>')
			q++;
		if (n - q >= 5 && !memcmp(l + q, "From ", 5) && (r->fmt == MBOX_MBOXRD || q == 1)) {
			l++;
			n--;
		}
	}
	msg_add(r, l, n);
}

/* Read one mbox message after its From_ line. */
static void read_mbox_msg(struct mbox_reader *r, struct mbox_msg *m)
{
	const char *l;
	size_t n;
	int prev_blank = 0;
	size_t blank_len = 0;     /* a deferred empty line: maybe the separator */
	int last_had_nl = 1;

	sbuf_reset(&r->msg);
	r->seen = 0;
	r->index++;
	m->index = r->index;
	m->line = r->from_line;
	m->arrival = r->from_date;
	r->have_from = 0;
	while (input_line(r->in, &l, &n)) {
		int64_t date;
		if (prev_blank && n >= 5 && !memcmp(l, "From ", 5) && mbox_is_from_line(l, n, &date)) {
			r->have_from = 1;
			r->from_line = r->in->lineno;
			r->from_date = date;
			break;
		}
		last_had_nl = l[n - 1] == '\n';
		if (blank_len) {
			msg_add(r, blank_len == 1 ? "\n" : "\r\n", blank_len);
			blank_len = 0;
		}
		prev_blank = is_blank(l, n);
		if (prev_blank)
			blank_len = n;
		else
			add_unescaped(r, l, n);
	}
	if (!r->have_from && (!last_had_nl || r->in->error))
		m->truncated = 1;
	m->header_complete = has_header_end(r->msg.buf ? r->msg.buf : "", r->msg.len) || !m->truncated;
}

int mbox_next(struct mbox_reader *r, struct mbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	for (;;) {
		if (!r->in) {
			if (r->next >= r->nents)
				return 0;
			struct entry *e = &r->ents[r->next++];
			m->file = kv_xstrdup(e->path);
			if (e->skip) {
				m->skip = kv_xstrdup(e->skip);
				return 1;
			}
			char *why = NULL;
			r->in = input_open(e->path, &why);
			if (!r->in) {
				m->skip = why;
				return 1;
			}
			r->index = 0;
			/* What kind of file: the first line tells. */
			const char *l;
			size_t n;
			if (!input_line(r->in, &l, &n)) {
				m->skip = r->in->error ? kv_xasprintf("read error: %s", r->in->errmsg)
						       : kv_xstrdup("empty file");
				finish_input(r);
				return 1;
			}
			if (n >= 5 && !memcmp(l, "From ", 5)) {
				r->mode = MODE_MBOX;
				r->have_from = 1;
				r->from_line = 1;
				mbox_is_from_line(l, n, &r->from_date);
			} else {
				/* One message: the whole file. */
				sbuf_reset(&r->msg);
				r->seen = 0;
				msg_add(r, l, n);
				while (input_line(r->in, &l, &n))
					msg_add(r, l, n);
				m->arrival = r->in->mtime;
				m->truncated = r->in->error;
				if (!msg_oversize(r, m)) {
					m->header_complete = has_header_end(r->msg.buf, r->msg.len) || !m->truncated;
					m->data = sbuf_detach(&r->msg, &m->len);
				}
				finish_input(r);
				return 1;
			}
		}
		if (r->mode == MODE_MBOX && r->have_from) {
			if (!m->file)
				m->file = kv_xstrdup(r->in->name);
			read_mbox_msg(r, m);
			if (msg_oversize(r, m)) {
				m->truncated = 0;
			} else if (r->msg.len == 0) {
				m->skip = kv_xstrdup(m->truncated ? "truncated: input ends after the From_ line"
								  : "empty message");
			} else {
				m->data = sbuf_detach(&r->msg, &m->len);
			}
			if (!r->have_from) {
				if (r->in->error && !m->truncated)
					m->truncated = 1;
				finish_input(r);
			}
			return 1;
		}
		finish_input(r);
	}
}

void mbox_close(struct mbox_reader *r)
{
	if (!r)
		return;
	input_close(r->in);
	for (size_t i = 0; i < r->nents; i++) {
		free(r->ents[i].path);
		free(r->ents[i].skip);
	}
	free(r->ents);
	sbuf_release(&r->msg);
	free(r);
}

/* ---- writing ---- */

void mbox_write_mboxrd(struct sbuf *out, const char *raw, size_t len, const char *from, int64_t date)
{
	static const char *const wdays[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	struct tm tm;

	kvtime_gmtime(date, &tm);
	sbuf_addf(out, "From %s %s %s %2d %02d:%02d:%02d %d\n",
		  from && *from ? from : "MAILER-DAEMON",
		  wdays[tm.tm_wday % 7], months[tm.tm_mon % 12], tm.tm_mday,
		  tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	const char *p = raw, *end = raw + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *le = nl ? nl + 1 : end;
		const char *q = p;
		while (q < le && *q == '>')
			q++;
		if (le - q >= 5 && !memcmp(q, "From ", 5))
			sbuf_addc(out, '>');
		sbuf_add(out, p, le - p);
		p = le;
	}
	if (len == 0 || raw[len - 1] != '\n')
		sbuf_addc(out, '\n');
	sbuf_addc(out, '\n');
}
