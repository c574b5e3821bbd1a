/*
 * text.c - implementation of text.h.
 */
#include <stdlib.h>
#include "text.h"
#include "kv.h"
#include "banned.h"

char *text_one_line(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	int space = 0;
	sbuf_adds(&sb, "");
	for (const char *p = s ? s : ""; *p; p++) {
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
