/*
 * util.c - implementation of kv.h: errors, allocation, buffers, string
 * vectors, UTF-8 checks and whole-file reading. Time is in kvtime.c.
 */
#include "kv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "banned.h"

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

int kv_utf8_valid(const char *s, size_t len)
{
	return g_utf8_validate(s, (gssize)len, NULL) ? 1 : 0;
}

char *kv_utf8_sanitize(const char *s, size_t len)
{
	struct sbuf sb = SBUF_INIT;
	const char *p = s, *end = s + len;
	sbuf_grow(&sb, len);
	while (p < end) {
		const char *bad;
		if (g_utf8_validate(p, end - p, &bad)) {
			bad = end;
		}
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
