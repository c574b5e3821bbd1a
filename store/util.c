/*
 * util.c - implementation of kv.h: errors, allocation, buffers, UTC time,
 * zone conversion (through GLib's GTimeZone, which is thread-safe) and UTF-8
 * checks.
 */
#include "kv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ctype.h>
#include <glib.h>

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

void strv_release(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* Days from civil date, proleptic Gregorian (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t kv_timegm(const struct tm *tm)
{
	int64_t y = (int64_t)tm->tm_year + 1900;
	int64_t mon = tm->tm_mon;
	/* normalise month overflow so mktime-like inputs work */
	y += mon / 12;
	mon %= 12;
	if (mon < 0) {
		mon += 12;
		y--;
	}
	int64_t days = days_from_civil(y, (unsigned)mon + 1, 1) + tm->tm_mday - 1;
	return days * 86400 + (int64_t)tm->tm_hour * 3600 + (int64_t)tm->tm_min * 60 + tm->tm_sec;
}

void kv_gmtime(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, tm))
		memset(tm, 0, sizeof(*tm));
}

void kv_time_utc_iso(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	kv_gmtime(t, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int parse_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int kv_parse_date(const char *s, int64_t *out)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, se = 0, off = 0;
	struct tm tm;

	if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) ||
	    *p++ != '-' || parse_digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (parse_digits(&p, 2, &se))
				return -1;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;
			if (parse_digits(&p, 2, &oh))
				return -1;
			if (*p == ':')
				p++;
			if (parse_digits(&p, 2, &om))
				return -1;
			if (oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 3600 + om * 60);
		}
	}
	if (*p)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = kv_timegm(&tm) - off;
	return 0;
}

static GTimeZone *zone_new(const char *zone, struct kv_err *err)
{
	GTimeZone *tz = g_time_zone_new_identifier(zone);
	if (!tz)
		kv_err_set(err, "unknown time zone '%s' (want an IANA name such as Asia/Shanghai or UTC)", zone);
	return tz;
}

int kv_zone_offset(const char *zone, int64_t t, int *off, struct kv_err *err)
{
	GTimeZone *tz = zone_new(zone, err);
	if (!tz)
		return -1;
	int iv = g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL, t);
	*off = iv < 0 ? 0 : (int)g_time_zone_get_offset(tz, iv);
	g_time_zone_unref(tz);
	return 0;
}

int kv_zone_to_utc(const char *zone, const struct tm *local, int64_t *out, struct kv_err *err)
{
	GTimeZone *tz = zone_new(zone, err);
	if (!tz)
		return -1;
	gint64 wall = kv_timegm(local);
	int iv = g_time_zone_adjust_time(tz, G_TIME_TYPE_STANDARD, &wall);
	*out = wall - (iv < 0 ? 0 : g_time_zone_get_offset(tz, iv));
	g_time_zone_unref(tz);
	return 0;
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
