/*
 * text.c - implementation of text.h.
 */
#include <stdlib.h>
#include <string.h>
#include "text.h"
#include "kv.h"
#include "banned.h"

size_t text_unsafe_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n >= 1 && u[0] == 0)
		return 1;
	if (n < 3 || u[0] != 0xe2)
		return 0;
	if (u[1] == 0x80 && u[2] >= 0xaa && u[2] <= 0xae)   /* U+202A..U+202E */
		return 3;
	if (u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9)   /* U+2066..U+2069 */
		return 3;
	return 0;
}

size_t text_utf8_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;   /* the second byte's range */
	if (n == 0)
		return 0;
	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xC2 && u[0] <= 0xDF)
		len = 2;
	else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		len = 3;
		if (u[0] == 0xE0)
			lo = 0xA0;            /* overlong below U+0800 */
		else if (u[0] == 0xED)
			hi = 0x9F;            /* surrogates U+D800..U+DFFF */
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		len = 4;
		if (u[0] == 0xF0)
			lo = 0x90;            /* overlong below U+10000 */
		else if (u[0] == 0xF4)
			hi = 0x8F;            /* above U+10FFFF */
	} else
		return 0;                     /* continuation byte, C0, C1, F5..FF */
	if (n < len || u[1] < lo || u[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if ((u[k] & 0xC0) != 0x80)
			return 0;
	return len;
}

size_t text_strip_unsafe(char *s, size_t *len)
{
	size_t r = 0, w = 0, n = *len, removed = 0;
	while (r < n) {
		size_t u = ((unsigned char)s[r] == 0 || (unsigned char)s[r] == 0xe2) ? text_unsafe_len(s + r, n - r) : 0;
		if (u) {
			r += u;
			removed++;
			continue;
		}
		s[w++] = s[r++];
	}
	s[w] = '\0';
	*len = w;
	return removed;
}

char *text_one_line(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	int space = 0;
	sbuf_adds(&sb, "");
	for (const char *p = s ? s : ""; *p; p++) {
		size_t u = text_unsafe_len(p, strnlen(p, 3));
		if (u) {
			p += u - 1;
			continue;
		}
		if (*p == '\r' || *p == '\n' || *p == '\t' || *p == ' ' || *p == '\v' || *p == '\f') {
			space = 1;
			continue;
		}
		if (space && sb.len)
			sbuf_addc(&sb, ' ');
		space = 0;
		sbuf_addc(&sb, *p);
	}
	return sbuf_detach(&sb, NULL);
}

char *text_person(const char *name, const char *addr)
{
	char *n = text_one_line(name), *a = text_one_line(addr);
	char *r;
	if (*n && *a)
		r = kv_xasprintf("%s <%s>", n, a);
	else
		r = kv_xstrdup(*n ? n : a);
	free(n);
	free(a);
	return r;
}

size_t text_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	/* continuation bytes are 10xxxxxx: back up to a lead byte */
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}
