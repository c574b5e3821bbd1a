/*
 * util.c - implementation of kv.h: errors, allocation, buffers, string
 * vectors, UTF-8 checks and whole-file reading. Time is in kvtime.c.
 */
#include "kv.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (!c_locale)
		kv_panic("newlocale(C) failed");
}

double kv_strtod_c(const char *s, char **end)
{
	pthread_once(&c_locale_once, c_locale_init);
	return strtod_l(s, end, c_locale);
}

int kv_err_set(struct kv_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

void kv_panic(const char *fmt, ...)
{
	va_list ap;
	fputs("panic: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void *kv_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		kv_panic("out of memory allocating %zu bytes", n);
	return p;
}

void *kv_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		kv_panic("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *kv_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		kv_panic("out of memory reallocating %zu bytes", n);
	return q;
}

char *kv_xstrdup(const char *s)
{
	return kv_xstrndup(s, strlen(s));
}

char *kv_xstrndup(const char *s, size_t n)
{
	char *p = kv_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *kv_xasprintf(const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (!sb.buf)
		return kv_xstrdup("");
	return sbuf_detach(&sb, NULL);
}

void sbuf_init(struct sbuf *sb)
{
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

void sbuf_release(struct sbuf *sb)
{
	free(sb->buf);
	sbuf_init(sb);
}

char *sbuf_detach(struct sbuf *sb, size_t *len)
{
	char *p;
	if (!sb->buf)
		sbuf_grow(sb, 0);
	p = sb->buf;
	if (len)
		*len = sb->len;
	sbuf_init(sb);
	return p;
}

void sbuf_grow(struct sbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	if (need < sb->len)
		kv_panic("sbuf size overflow");
	if (need > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 64;
		while (cap < need)
			cap *= 2;
		sb->buf = kv_xrealloc(sb->buf, cap);
		sb->cap = cap;
	}
	sb->buf[sb->len] = '\0';
}

void sbuf_add(struct sbuf *sb, const void *data, size_t len)
{
	sbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sbuf_adds(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void sbuf_addc(struct sbuf *sb, char c)
{
	sbuf_add(sb, &c, 1);
}

void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	sbuf_grow(sb, 64);
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		kv_panic("vsnprintf failed for format %s", fmt);
	if ((size_t)n >= sb->cap - sb->len) {
		sbuf_grow(sb, (size_t)n);
		n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void strv_push_owned(struct strv *sv, char *s)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = kv_xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	sv->v[sv->n++] = s;
}

void strv_push(struct strv *sv, const char *s)
{
	strv_push_owned(sv, kv_xstrdup(s));
}

int strv_has(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

void strv_release(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* The length of the longest valid UTF-8 prefix of s[0..len): well-formed
 * sequences only (no overlong forms, surrogates or code points past
 * U+10FFFF), and no NUL byte (GLib's g_utf8_validate, which this replaced,
 * so the same text counts as valid). */
static size_t utf8_valid_prefix(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], need, min, cp;
		if (c == 0)
			break;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			break;
		if (len - i <= need)
			break;
		unsigned k;
		for (k = 1; k <= need && (s[i + k] & 0xc0) == 0x80; k++)
			cp = cp << 6 | (s[i + k] & 0x3f);
		if (k <= need || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			break;
		i += need + 1;
	}
	return i;
}

int kv_utf8_valid(const char *s, size_t len)
{
	return utf8_valid_prefix(s, len) == len;
}

char *kv_utf8_sanitize(const char *s, size_t len)
{
	struct sbuf sb = SBUF_INIT;
	const char *p = s, *end = s + len;
	sbuf_grow(&sb, len);
	while (p < end) {
		const char *bad = p + utf8_valid_prefix(p, (size_t)(end - p));
		for (const char *q = p; q < bad; q++) {
			unsigned char c = (unsigned char)*q;
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				continue;
			sbuf_addc(&sb, (char)c);
		}
		if (bad < end) {
			sbuf_adds(&sb, "\xEF\xBF\xBD");
			/* skip the invalid byte; NUL counts as a dropped control */
			p = bad + 1;
			if (*bad == '\0')
				sb.len -= 3, sb.buf[sb.len] = '\0';
		} else {
			p = end;
		}
	}
	return sbuf_detach(&sb, NULL);
}

int kv_read_file(const char *path, char **data, size_t *len, struct kv_err *err)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	struct sbuf sb = SBUF_INIT;
	char buf[65536];
	size_t n;
	if (!f)
		return kv_err_set(err, "cannot open %s: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&sb, buf, n);
	if (ferror(f)) {
		int e = errno;
		if (f != stdin)
			fclose(f);
		sbuf_release(&sb);
		return kv_err_set(err, "cannot read %s: %s", path, strerror(e));
	}
	if (f != stdin)
		fclose(f);
	*data = sbuf_detach(&sb, len);
	return 0;
}
