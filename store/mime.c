/*
 * mime.c - the parser: raw bytes of one mail -> struct mail, and the
 * digest mail built for the reporter. The only file that includes gmime.
 *
 * gmime does the MIME structure, RFC 2047 and address parsing; the rest is
 * ours because list mail is often broken in ways gmime would hide:
 * Message-ID / References / Date are read from the raw header values so
 * each repair can be flagged, body parts are decoded by hand (one pass per
 * part, bounded memory) so broken base64/QP and bad charsets are noticed,
 * and every string handed out is cleaned to valid UTF-8 here, once.
 *
 * Thread safety: mime_init() runs g_mime_init() once (pthread_once); after
 * that every call works on its own gmime objects. The shared parser
 * options are only read.
 *
 * size: over 900 lines on purpose. It is the one module behind gmime
 * (STYLE.md: each library behind one module), and its sections (UTF-8
 * cleaning, charsets, transfer decoding, HTML to text, the MIME walk, our
 * own header readers, the digest mail) share the part-decoding state and
 * the flagging of repairs; split, they would need a private header that
 * names gmime types, spreading the library again.
 */
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gmime/gmime.h>

#include "mime.h"
#include "sha256.h"
#include "text.h"
#include "banned.h"

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;
static GMimeParserOptions *mime_popts;

static void mime_init_once(void)
{
	/* Raw 8-bit header bytes: UTF-8 if they are valid UTF-8, else the
	 * charset real-world senders mean when they declare nothing. */
	static const char *fallback[] = { "utf-8", "windows-1252", NULL };

	g_mime_init();
	mime_popts = g_mime_parser_options_new();
	/* loose: decode encoded words inside quoted names and words glued to
	 * text, as senders' clients produce them */
	g_mime_parser_options_set_rfc2047_compliance_mode(mime_popts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(mime_popts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(mime_popts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(mime_popts, TRUE);
	g_mime_parser_options_set_fallback_charsets(mime_popts, fallback);
}

void mime_init(void)
{
	pthread_once(&mime_once, mime_init_once);
}

/* ---------------------------------------------------------------------
 * UTF-8 cleaning: the one place bytes become the strings we hand out.
 */

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		if (n >= 2 && (s[1] & 0xc0) == 0x80)
			return 2;
		return 0;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0;       /* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return 0;       /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

#define UFFFD "\xEF\xBF\xBD"

/*
 * Append s[0..n) to out as clean body text: invalid sequences become
 * U+FFFD (MAIL_INVALID_UTF8), NUL is dropped (MAIL_NUL_BYTES), CR and the
 * other C0 controls except tab and newline are dropped, and so are the bidi
 * controls (text_unsafe_len).
 */
static void text_clean_append(struct sbuf *out, const char *s, size_t n, unsigned *flags)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char *o;

	sbuf_grow(out, n + 16);
	o = out->buf + out->len;
	while (p < end) {
		unsigned char c;
		if (end - p >= 8) {
			/* Eight bytes at a time while all are printable ASCII
			 * (most of a mail body): no byte below 0x20 (the borrow
			 * test) and none from 0x7f up (bit 7 of byte or byte+1;
			 * a carry out of 0xff only gives a false alarm, which
			 * the byte path below handles). */
			uint64_t v;
			memcpy(&v, p, 8);
			if (!(((v - 0x2020202020202020ULL) & ~v) & 0x8080808080808080ULL) &&
			    !((v | (v + 0x0101010101010101ULL)) & 0x8080808080808080ULL)) {
				memcpy(o, p, 8);
				o += 8;
				p += 8;
				continue;
			}
		}
		c = *p;
		if (c >= 0x20 && c < 0x7f) {
			*o++ = (char)c;
			p++;
			continue;
		}
		if (c < 0x80) {
			if (c == '\n' || c == '\t')
				*o++ = (char)c;
			else if (c == 0)
				*flags |= MAIL_NUL_BYTES;
			p++;
			continue;
		}
		int l = utf8_seq(p, (size_t)(end - p));
		if (l == 3 && text_unsafe_len((const char *)p, 3)) {
			p += 3;   /* a bidi control: never part of what we hand out */
			continue;
		}
		if (l) {
			memcpy(o, p, (size_t)l);
			o += l;
			p += l;
		} else {
			*flags |= MAIL_INVALID_UTF8;
			/* U+FFFD is 3 bytes for 1 input byte: make room */
			out->len = (size_t)(o - out->buf);
			sbuf_grow(out, (size_t)(end - p) + 16);
			o = out->buf + out->len;
			memcpy(o, UFFFD, 3);
			o += 3;
			p++;
		}
	}
	out->len = (size_t)(o - out->buf);
	out->buf[out->len] = '\0';
}

/*
 * A header value (already decoded) as one clean line: runs of white space
 * (including the fold's tab and CR/LF) become one space, controls are
 * dropped, invalid UTF-8 becomes U+FFFD, ends trimmed, length capped at
 * MAIL_MAX_HEADER on a character boundary. Caller frees.
 */
static char *header_clean(const char *s, unsigned *flags)
{
	struct sbuf sb = SBUF_INIT;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	const unsigned char *end = p + n;
	int space = 0;

	sbuf_grow(&sb, n < MAIL_MAX_HEADER ? n + 1 : MAIL_MAX_HEADER + 4);
	while (*p) {
		unsigned char c = *p;
		if (sb.len >= MAIL_MAX_HEADER) {
			*flags |= MAIL_HEADER_TRUNCATED;
			break;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = 1;
			p++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			p++;
			continue;
		}
		if (space && sb.len)
			sbuf_addc(&sb, ' ');
		space = 0;
		if (c < 0x80) {
			sbuf_addc(&sb, (char)c);
			p++;
			continue;
		}
		int l = utf8_seq(p, (size_t)(end - p));
		if (l == 3 && text_unsafe_len((const char *)p, 3)) {
			p += 3;
			continue;
		}
		if (l) {
			sbuf_add(&sb, p, (size_t)l);
			p += l;
		} else {
			*flags |= MAIL_INVALID_UTF8;
			sbuf_adds(&sb, UFFFD);
			p++;
		}
	}
	if (!sb.buf)
		return kv_xstrdup("");
	return sbuf_detach(&sb, NULL);
}

/* Display name: clean, then drop quotes the sender's client left around it. */
static char *name_clean(const char *s, unsigned *flags)
{
	char *n = header_clean(s, flags);
	size_t len = strlen(n);
	while (len >= 2 && ((n[0] == '"' && n[len - 1] == '"') || (n[0] == '\'' && n[len - 1] == '\''))) {
		memmove(n, n + 1, len - 2);
		len -= 2;
		n[len] = '\0';
		while (len && n[len - 1] == ' ')
			n[--len] = '\0';
		size_t lead = 0;
		while (n[lead] == ' ')
			lead++;
		if (lead) {
			memmove(n, n + lead, len - lead + 1);
			len -= lead;
		}
	}
	return n;
}

/* ---------------------------------------------------------------------
 * Charsets.
 */

/* windows-1252 0x80..0x9f; 0 marks the five undefined bytes. */
static const uint16_t cp1252_high[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

/* windows-1252 bytes to UTF-8 (not yet cleaned). */
static void cp1252_to_utf8(const char *s, size_t n, struct sbuf *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	sbuf_grow(out, n * 3 + 1);
	char *o = out->buf + out->len;
	for (; p < end; p++) {
		unsigned c = *p;
		if (c < 0x80) {
			*o++ = (char)c;
			continue;
		}
		if (c < 0xa0) {
			c = cp1252_high[c - 0x80];
			if (!c)
				c = 0xfffd;
		}
		if (c < 0x800) {
			*o++ = (char)(0xc0 | (c >> 6));
			*o++ = (char)(0x80 | (c & 0x3f));
		} else {
			*o++ = (char)(0xe0 | (c >> 12));
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	out->len = (size_t)(o - out->buf);
	out->buf[out->len] = '\0';
}

enum cs_kind { CS_UTF8, CS_CP1252, CS_OTHER };

static enum cs_kind charset_kind(const char *cs)
{
	if (!cs || !*cs)
		return CS_UTF8;     /* undeclared: try UTF-8, then windows-1252 */
	if (!g_ascii_strcasecmp(cs, "utf-8") || !g_ascii_strcasecmp(cs, "utf8") ||
	    !g_ascii_strcasecmp(cs, "us-ascii") || !g_ascii_strcasecmp(cs, "ascii") ||
	    !g_ascii_strcasecmp(cs, "ansi_x3.4-1968"))
		return CS_UTF8;
	/* as browsers do: latin1 labels mean windows-1252 in practice */
	if (!g_ascii_strcasecmp(cs, "iso-8859-1") || !g_ascii_strcasecmp(cs, "iso8859-1") ||
	    !g_ascii_strcasecmp(cs, "latin1") || !g_ascii_strcasecmp(cs, "iso_8859-1") ||
	    !g_ascii_strcasecmp(cs, "windows-1252") || !g_ascii_strcasecmp(cs, "cp1252") ||
	    !g_ascii_strcasecmp(cs, "l1"))
		return CS_CP1252;
	return CS_OTHER;
}

/* Labels glibc iconv accepts but that name no charset at all. */
static int charset_meaningless(const char *cs)
{
	return strstr(cs, "unknown") || strstr(cs, "UNKNOWN") || !g_ascii_strcasecmp(cs, "x-user-defined") ||
	       !g_ascii_strcasecmp(cs, "default") || !g_ascii_strcasecmp(cs, "8bit") ||
	       !g_ascii_strcasecmp(cs, "charset");
}

static int all_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] & 0x80)
			return 0;
	return 1;
}

/* iconv from cs to UTF-8; -1 when iconv does not know the label. */
static int iconv_to_utf8(const char *cs, const char *s, size_t n, struct sbuf *out, unsigned *flags)
{
	iconv_t cd;
	if (charset_meaningless(cs))
		return -1;
	cd = g_mime_iconv_open("UTF-8", g_mime_charset_iconv_name(cs));
	if (cd == (iconv_t)-1)
		return -1;
	char *in = (char *)s;
	size_t inleft = n;
	while (inleft > 0) {
		sbuf_grow(out, inleft * 2 + 64);
		char *o = out->buf + out->len;
		size_t oleft = out->cap - out->len - 1;
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);
		out->len = (size_t)(o - out->buf);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		/* EILSEQ or a truncated sequence at the end: one U+FFFD, skip a byte */
		*flags |= MAIL_INVALID_UTF8;
		sbuf_add(out, UFFFD, 3);
		in++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	/* flush shift state of stateful charsets (iso-2022-jp) */
	sbuf_grow(out, 16);
	{
		char *o = out->buf + out->len;
		size_t oleft = out->cap - out->len - 1;
		iconv(cd, NULL, NULL, &o, &oleft);
		out->len = (size_t)(o - out->buf);
	}
	out->buf[out->len] = '\0';
	g_mime_iconv_close(cd);
	return 0;
}

/* Decoded part bytes in charset cs -> clean UTF-8 appended to out. */
static void charset_to_text(const char *cs, const char *s, size_t n, struct sbuf *out, unsigned *flags)
{
	enum cs_kind k = charset_kind(cs);
	struct sbuf tmp = SBUF_INIT;

	if (k == CS_UTF8) {
		if (all_ascii(s, n) || g_utf8_validate(s, (gssize)n, NULL)) {
			text_clean_append(out, s, n, flags);
			return;
		}
		if (cs && *cs && g_ascii_strncasecmp(cs, "utf", 3) == 0) {
			/* declared UTF-8 but is not: keep what is valid */
			text_clean_append(out, s, n, flags);
			return;
		}
		/* undeclared or "us-ascii" with 8-bit bytes: a guess */
		*flags |= MAIL_CHARSET_UNKNOWN;
		k = CS_CP1252;
	}
	if (k == CS_CP1252) {
		if (all_ascii(s, n)) {
			text_clean_append(out, s, n, flags);
			return;
		}
		cp1252_to_utf8(s, n, &tmp);
	} else if (iconv_to_utf8(cs, s, n, &tmp, flags) < 0) {
		*flags |= MAIL_CHARSET_UNKNOWN;
		cp1252_to_utf8(s, n, &tmp);
	}
	text_clean_append(out, tmp.buf ? tmp.buf : "", tmp.len, flags);
	sbuf_release(&tmp);
}

/* ---------------------------------------------------------------------
 * Transfer decoding, with a check for damage gmime would silently skip.
 */

struct xfer_check {
	GMimeContentEncoding enc;
	size_t b64_count;   /* base64 alphabet + '=' characters seen */
	int b64_pad;        /* '=' seen: data should be over */
	int bad;
	char qp_carry[3];   /* '=' and what followed it at a chunk's end */
	int qp_ncarry;
};

static int is_b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* Is a QP escape at s (s[0] == '=', n bytes available, more follow unless
 * final) well formed? 1 yes, 0 no, -1 need more bytes. */
static int qp_escape_ok(const unsigned char *s, size_t n, int final)
{
	if (n < 2)
		return final ? 1 : -1;   /* '=' at the very end: a soft break */
	if (s[1] == '\n' || s[1] == ' ' || s[1] == '\t')
		return 1;
	if (s[1] == '\r')
		return 1;
	if (n < 3)
		return final ? 0 : -1;
	return is_hex(s[1]) && is_hex(s[2]);
}

static void xfer_check_step(struct xfer_check *xc, const char *buf, size_t n, int final)
{
	const unsigned char *p = (const unsigned char *)buf;
	if (xc->bad)
		return;
	if (xc->enc == GMIME_CONTENT_ENCODING_BASE64) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = p[i];
			if (is_b64(c)) {
				if (xc->b64_pad) {
					xc->bad = 1;
					return;
				}
				xc->b64_count++;
			} else if (c == '=') {
				xc->b64_pad = 1;
				xc->b64_count++;
			} else if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
				xc->bad = 1;
				return;
			}
		}
		if (final && xc->b64_count % 4 != 0)
			xc->bad = 1;
	} else if (xc->enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		size_t i = 0;
		if (xc->qp_ncarry) {
			unsigned char t[3];
			size_t tn = (size_t)xc->qp_ncarry, had = tn;
			memcpy(t, xc->qp_carry, tn);
			while (tn < 3 && i < n)
				t[tn++] = p[i++];
			int r = qp_escape_ok(t, tn, final && i == n);
			xc->qp_ncarry = 0;
			if (r == 0) {
				xc->bad = 1;
				return;
			}
			if (r < 0) {
				memcpy(xc->qp_carry, t, tn);
				xc->qp_ncarry = (int)tn;
				return;
			}
			/* bytes of p that belonged to the escape */
			size_t used = (tn >= 3 && is_hex(t[1])) ? 3 : 2;
			i = used > had ? used - had : 0;
			if (i > n)
				i = n;
		}
		for (; i < n; i++) {
			if (p[i] != '=')
				continue;
			int r = qp_escape_ok(p + i, n - i, final);
			if (r == 0) {
				xc->bad = 1;
				return;
			}
			if (r < 0) {
				xc->qp_ncarry = (int)(n - i);
				memcpy(xc->qp_carry, p + i, n - i);
				return;
			}
			if (n - i >= 3 && is_hex(p[i + 1]))
				i += 2;
		}
	}
}

/*
 * Decode a part's content. Collects up to `limit` decoded bytes in *out
 * (out may be NULL: only count), returns the decoded size (of what was
 * read) and sets *more when it stopped at the limit.
 */
static size_t part_decode(GMimePart *part, struct sbuf *out, size_t limit, int *more, unsigned *flags)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *st;
	GMimeContentEncoding enc;
	GMimeEncoding state;
	struct xfer_check xc;
	char inbuf[65536];
	char *obuf = NULL;
	size_t ocap = 0, total = 0;
	int decode;

	*more = 0;
	if (!dw || !(st = g_mime_data_wrapper_get_stream(dw)))
		return 0;
	enc = g_mime_data_wrapper_get_encoding(dw);
	decode = enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
		 enc == GMIME_CONTENT_ENCODING_UUENCODE;
	memset(&xc, 0, sizeof(xc));
	xc.enc = enc;
	if (decode)
		g_mime_encoding_init_decode(&state, enc);
	g_mime_stream_reset(st);
	for (;;) {
		ssize_t r = g_mime_stream_read(st, inbuf, sizeof(inbuf));
		int final = r <= 0 || g_mime_stream_eos(st);
		const char *data = inbuf;
		size_t dn = r > 0 ? (size_t)r : 0;

		if (decode) {
			xfer_check_step(&xc, inbuf, dn, final);
			size_t need = g_mime_encoding_outlen(&state, dn) + 16;
			if (need > ocap) {
				ocap = need;
				obuf = kv_xrealloc(obuf, ocap);
			}
			dn = final ? g_mime_encoding_flush(&state, inbuf, dn, obuf)
				   : g_mime_encoding_step(&state, inbuf, dn, obuf);
			data = obuf;
		}
		if (out) {
			size_t take = dn;
			if (out->len + take > limit) {
				take = limit > out->len ? limit - out->len : 0;
				*more = 1;
			}
			sbuf_add(out, data, take);
			total += take;
			if (*more)
				break;
		} else {
			total += dn;
		}
		if (final)
			break;
	}
	if (xc.bad)
		*flags |= MAIL_BAD_TRANSFER;
	free(obuf);
	return total;
}

/* ---------------------------------------------------------------------
 * HTML to text, crude on purpose: only for HTML-only mail.
 */

static int tag_is(const char *name, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !g_ascii_strncasecmp(name, *list, n))
			return 1;
	return 0;
}

static void html_emit_nl(struct sbuf *out)
{
	/* at most one blank line in a row */
	if (out->len == 0)
		return;
	if (out->len >= 2 && out->buf[out->len - 1] == '\n' && out->buf[out->len - 2] == '\n')
		return;
	while (out->len && out->buf[out->len - 1] == ' ')
		out->len--;
	sbuf_addc(out, '\n');
}

static void html_to_text(const char *s, size_t n, struct sbuf *out)
{
	static const char *const blocks[] = {
		"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4",
		"h5", "h6", "blockquote", "pre", "hr", "dt", "dd", "title", "section", NULL };
	static const char *const skips[] = { "script", "style", "head", NULL };
	const char *p = s, *end = s + n;
	int pre = 0;

	while (p < end) {
		char c = *p;
		if (c == '<') {
			if (end - p >= 4 && !memcmp(p, "<!--", 4)) {
				const char *e = memmem(p + 4, (size_t)(end - p - 4), "-->", 3);
				p = e ? e + 3 : end;
				continue;
			}
			const char *q = p + 1;
			int closing = 0;
			if (q < end && *q == '/') {
				closing = 1;
				q++;
			}
			const char *nm = q;
			while (q < end && (g_ascii_isalnum(*q)))
				q++;
			size_t nl = (size_t)(q - nm);
			const char *gt = memchr(q, '>', (size_t)(end - q));
			if (!gt)
				break;
			p = gt + 1;
			if (nl == 0)
				continue;
			if (!closing && tag_is(nm, nl, skips)) {
				/* skip to the matching close tag */
				const char *e = p;
				for (;;) {
					e = memchr(e, '<', (size_t)(end - e));
					if (!e || end - e < (ptrdiff_t)(nl + 2))
						break;
					if (e[1] == '/' && !g_ascii_strncasecmp(e + 2, nm, nl))
						break;
					e++;
				}
				p = e ? e : end;
				continue;
			}
			if (nl == 3 && !g_ascii_strncasecmp(nm, "pre", 3))
				pre = !closing;
			if (tag_is(nm, nl, blocks))
				html_emit_nl(out);
			continue;
		}
		if (c == '&') {
			const char *semi = memchr(p, ';', (size_t)(end - p) < 12 ? (size_t)(end - p) : 12);
			if (semi) {
				const char *e = p + 1;
				size_t el = (size_t)(semi - e);
				gunichar u = 0;
				if (el >= 2 && e[0] == '#') {
					char *ep;
					unsigned long v = (e[1] == 'x' || e[1] == 'X') ? strtoul(e + 2, &ep, 16)
										       : strtoul(e + 1, &ep, 10);
					if (ep == semi && v > 0 && v < 0x110000)
						u = (gunichar)v;
				} else if (el == 3 && !memcmp(e, "amp", 3)) u = '&';
				else if (el == 2 && !memcmp(e, "lt", 2)) u = '<';
				else if (el == 2 && !memcmp(e, "gt", 2)) u = '>';
				else if (el == 4 && !memcmp(e, "quot", 4)) u = '"';
				else if (el == 4 && !memcmp(e, "apos", 4)) u = '\'';
				else if (el == 4 && !memcmp(e, "nbsp", 4)) u = ' ';
				if (u) {
					char ub[8];
					int ul = g_unichar_to_utf8(u, ub);
					sbuf_add(out, ub, (size_t)ul);
					p = semi + 1;
					continue;
				}
			}
			sbuf_addc(out, '&');
			p++;
			continue;
		}
		if (!pre && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
			if (out->len && out->buf[out->len - 1] != ' ' && out->buf[out->len - 1] != '\n')
				sbuf_addc(out, ' ');
			p++;
			continue;
		}
		sbuf_addc(out, c);
		p++;
	}
	while (out->len && (out->buf[out->len - 1] == ' ' || out->buf[out->len - 1] == '\n'))
		out->len--;
	if (out->buf)
		out->buf[out->len] = '\0';
	if (out->len)
		sbuf_addc(out, '\n');
}

/* ---------------------------------------------------------------------
 * Walking the MIME tree.
 */

struct walk {
	struct mail *m;
	struct sbuf text;
	GMimePart *html;         /* first inline text/html, used when no text/plain */
	int ntext;
	size_t atts_cap;
};

static void add_attachment(struct walk *w, const char *filename, const char *type, size_t size)
{
	struct mail *m = w->m;
	if (m->natts == w->atts_cap) {
		w->atts_cap = w->atts_cap ? w->atts_cap * 2 : 4;
		m->atts = kv_xrealloc(m->atts, w->atts_cap * sizeof(*m->atts));
	}
	struct mail_attachment *a = &m->atts[m->natts++];
	unsigned dummy = 0;
	a->filename = filename ? header_clean(filename, &dummy) : NULL;
	a->content_type = header_clean(type, &dummy);
	for (char *q = a->content_type; *q; q++)
		*q = g_ascii_tolower(*q);
	a->size = size;
}

static int part_is_attachment(GMimeObject *obj)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(obj);
	return d && g_mime_content_disposition_is_attachment(d);
}

/* Add decoded text of a text part (charset applied, cleaned) to the text. */
static void add_text_part(struct walk *w, GMimePart *part, int html)
{
	struct sbuf raw = SBUF_INIT, conv = SBUF_INIT;
	int more = 0;
	size_t room = MAIL_MAX_TEXT > w->text.len ? MAIL_MAX_TEXT - w->text.len : 0;
	const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");

	if (room == 0) {
		w->m->flags |= MAIL_TEXT_TRUNCATED;
		return;
	}
	part_decode(part, &raw, room, &more, &w->m->flags);
	if (more)
		w->m->flags |= MAIL_TEXT_TRUNCATED;
	charset_to_text(cs, raw.buf ? raw.buf : "", raw.len, &conv, &w->m->flags);
	sbuf_release(&raw);
	if (html) {
		struct sbuf t = SBUF_INIT;
		html_to_text(conv.buf ? conv.buf : "", conv.len, &t);
		sbuf_release(&conv);
		conv = t;
	}
	if (conv.len) {
		if (w->text.len && w->text.buf[w->text.len - 1] != '\n')
			sbuf_addc(&w->text, '\n');
		sbuf_add(&w->text, conv.buf, conv.len);
	}
	w->ntext++;
	sbuf_release(&conv);
}

static int is_text_body_type(GMimeContentType *ct)
{
	const char *t = g_mime_content_type_get_media_type(ct);
	const char *s = g_mime_content_type_get_media_subtype(ct);
	if (!t || g_ascii_strcasecmp(t, "text"))
		return 0;
	return !s || !g_ascii_strcasecmp(s, "plain") || !g_ascii_strcasecmp(s, "x-patch") ||
	       !g_ascii_strcasecmp(s, "x-diff");
}

static void walk_object(struct walk *w, GMimeObject *obj, int depth)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	if (depth > 32)
		return;     /* absurd nesting: stop rather than recurse on */
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		if (ct && g_mime_content_type_is_type(ct, "multipart", "alternative")) {
			/* one rendering is enough: the plain one if there is one */
			for (int i = 0; i < n; i++) {
				GMimeObject *c = g_mime_multipart_get_part(mp, i);
				GMimeContentType *cct = g_mime_object_get_content_type(c);
				if (GMIME_IS_PART(c) && cct && g_mime_content_type_is_type(cct, "text", "plain") &&
				    !part_is_attachment(c)) {
					walk_object(w, c, depth + 1);
					return;
				}
			}
		}
		for (int i = 0; i < n; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeStream *null = g_mime_stream_null_new();
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		size_t size = 0;
		if (inner) {
			ssize_t r = g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, null);
			size = r > 0 ? (size_t)r : 0;
		}
		g_object_unref(null);
		add_attachment(w, g_mime_object_get_content_disposition_parameter(obj, "filename"),
			       "message/rfc822", size);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;

	GMimePart *part = GMIME_PART(obj);
	int att = part_is_attachment(obj);
	if (!att && ct && is_text_body_type(ct)) {
		add_text_part(w, part, 0);
		return;
	}
	if (!att && ct && g_mime_content_type_is_type(ct, "text", "html")) {
		if (!w->html)
			w->html = part;
		return;
	}
	int more = 0;
	size_t size = part_decode(part, NULL, 0, &more, &w->m->flags);
	char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	add_attachment(w, g_mime_part_get_filename(part), type ? type : "application/octet-stream", size);
	g_free(type);
}

/* ---------------------------------------------------------------------
 * Header fields we read ourselves.
 */

/* Trim ASCII white space; returns start, sets *n. */
static const char *trim(const char *s, size_t *n)
{
	size_t len = strlen(s);
	while (len && g_ascii_isspace(*s))
		s++, len--;
	while (len && g_ascii_isspace(s[len - 1]))
		len--;
	*n = len;
	return s;
}

/*
 * Copy s[0..n) without white space (folds inside an id), NULL if empty.
 * Ids are ASCII by RFC 5322 and UTF-8 by RFC 6532; other 8-bit bytes are
 * written as %XX so the id stays valid UTF-8 and Message-ID and References
 * still map the same bytes to the same id.
 */
static char *id_dup(const char *s, size_t n)
{
	char *r = kv_xmalloc(n * 3 + 1), *o = r;
	int utf8 = -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (g_ascii_isspace(c) || c < 0x20 || c == 0x7f)
			continue;
		if (c >= 0x80) {
			if (utf8 < 0)
				utf8 = g_utf8_validate(s, (gssize)n, NULL);
			if (!utf8) {
				static const char hex[] = "0123456789ABCDEF";
				*o++ = '%';
				*o++ = hex[c >> 4];
				*o++ = hex[c & 15];
				continue;
			}
		}
		*o++ = (char)c;
	}
	*o = '\0';
	if (o == r) {
		free(r);
		return NULL;
	}
	return r;
}

/*
 * Call fn for each message id in a References / In-Reply-To style value:
 * the "<...>" tokens; without any, the words that contain '@'. Junk between
 * ids (comments, names, stray words) is skipped. Stops when fn returns 1.
 */
static void ids_foreach(const char *v, int (*fn)(char *id, void *arg), void *arg)
{
	const char *p = v, *vend = v + strlen(v);
	int any = 0;
	while ((p = memchr(p, '<', (size_t)(vend - p)))) {
		/* "<a@b <c@d>": the first lost its '>', so look no further than
		 * the next '<' (which also keeps this linear) */
		const char *next = memchr(p + 1, '<', (size_t)(vend - p - 1));
		const char *lim = next ? next : vend;
		const char *e = memchr(p + 1, '>', (size_t)(lim - p - 1));
		if (!e)
			e = lim;
		char *id = id_dup(p + 1, (size_t)(e - p - 1));
		if (id) {
			any = 1;
			if (fn(id, arg))
				return;
		}
		p = *e == '>' ? e + 1 : e;
		if (!*p)
			break;
	}
	if (any)
		return;
	p = v;
	while (*p) {
		while (*p && (g_ascii_isspace(*p) || *p == ','))
			p++;
		const char *s = p;
		while (*p && !g_ascii_isspace(*p) && *p != ',')
			p++;
		if (p > s && memchr(s, '@', (size_t)(p - s))) {
			char *id = id_dup(s, (size_t)(p - s));
			if (id && fn(id, arg))
				return;
		}
	}
}

static int first_id_cb(char *id, void *arg)
{
	*(char **)arg = id;
	return 1;
}

struct refs_acc {
	struct strv *sv;
	GHashTable *seen;   /* only once the list is long enough to need it */
	size_t total;
};

static int refs_cb(char *id, void *arg)
{
	struct refs_acc *ra = arg;
	ra->total++;
	if (!ra->seen && ra->sv->n >= 16) {
		ra->seen = g_hash_table_new(g_str_hash, g_str_equal);
		for (size_t i = 0; i < ra->sv->n; i++)
			g_hash_table_add(ra->seen, ra->sv->v[i]);
	}
	if (ra->seen) {
		if (g_hash_table_contains(ra->seen, id)) {
			free(id);
			return 0;
		}
	} else {
		for (size_t i = 0; i < ra->sv->n; i++)
			if (!strcmp(ra->sv->v[i], id)) {
				free(id);
				return 0;
			}
	}
	strv_push_owned(ra->sv, id);
	if (ra->seen)
		g_hash_table_add(ra->seen, id);
	return 0;
}

static void parse_references(struct mail *m, const char *v)
{
	struct refs_acc ra = { &m->refs, NULL, 0 };
	ids_foreach(v, refs_cb, &ra);
	if (ra.seen)
		g_hash_table_destroy(ra.seen);
	if (m->refs.n > MAIL_MAX_REFS) {
		/* keep the root (first) and the nearest ancestors (last): those
		 * are what threading needs */
		size_t drop = m->refs.n - MAIL_MAX_REFS;
		for (size_t i = 1; i <= drop; i++)
			free(m->refs.v[i]);
		memmove(&m->refs.v[1], &m->refs.v[1 + drop], (MAIL_MAX_REFS - 1) * sizeof(char *));
		m->refs.n = MAIL_MAX_REFS;
		m->flags |= MAIL_REFS_TRUNCATED;
	}
}

static void parse_message_id(struct mail *m, const char *v)
{
	size_t n;
	const char *s = trim(v, &n);
	const char *lt = memchr(s, '<', n);
	if (lt) {
		const char *gt = memchr(lt, '>', (size_t)(s + n - lt));
		const char *e = gt ? gt : s + n;
		m->message_id = id_dup(lt + 1, (size_t)(e - lt - 1));
		if (m->message_id && (!gt || lt != s || gt != s + n - 1))
			m->flags |= MAIL_MSGID_REPAIRED;
		if (m->message_id)
			return;
	}
	/* no <>: the first word with '@', else the first word */
	char *id = NULL;
	ids_foreach(s, first_id_cb, &id);
	if (!id && n) {
		size_t w = 0;
		while (w < n && !g_ascii_isspace(s[w]))
			w++;
		id = id_dup(s, w);
	}
	if (id) {
		m->message_id = id;
		m->flags |= MAIL_MSGID_REPAIRED;
	}
}

/* A date we believe: after 1990 and not days ahead of when it arrived. */
static int date_sane(int64_t t, int64_t arrival)
{
	int64_t ref = arrival > 0 ? arrival : (int64_t)time(NULL);
	return t >= 631152000 && t <= ref + 3 * 86400;
}

static int decode_date(const char *s, int64_t arrival, int64_t *t, int *off)
{
	GDateTime *dt = g_mime_utils_header_decode_date(s);
	if (!dt)
		return -1;
	*t = g_date_time_to_unix(dt);
	*off = (int)(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE);
	g_date_time_unref(dt);
	return date_sane(*t, arrival) ? 0 : -1;
}

static char *list_id_value(const char *v)
{
	size_t n;
	const char *s = trim(v, &n);
	const char *lt = memchr(s, '<', n), *gt;
	char *r;
	if (lt && (gt = memchr(lt, '>', (size_t)(s + n - lt))))
		r = id_dup(lt + 1, (size_t)(gt - lt - 1));
	else if (n && !memchr(s, ' ', n))
		r = id_dup(s, n);
	else
		return NULL;
	if (r)
		for (char *q = r; *q; q++)
			*q = g_ascii_tolower(*q);
	return r;
}

/* Length of the RFC 2047 encoded word at s ("=?cs?q?text?="), 0 if there
 * is none. Its text may hold anything but white space: senders (and
 * forgers) put '@', ':' and ';' there although RFC 2047 forbids them. */
static size_t encoded_word_len(const char *s)
{
	const char *p = s + 2, *q;
	if (s[0] != '=' || s[1] != '?')
		return 0;
	while (*p && *p != '?' && *p > ' ' && *p < 0x7f)
		p++;
	if (p == s + 2 || p[0] != '?' || !strchr("bBqQ", p[1]) || !p[1] || p[2] != '?')
		return 0;
	for (q = p + 3; *q && *q > ' ' && *q != 0x7f; q++)
		if (q[0] == '?' && q[1] == '=')
			return (size_t)(q + 2 - s);
	return 0;
}

/*
 * The From value with every run of encoded words outside quotes, comments
 * and <> put inside one quoted string. gmime's address parser decodes
 * encoded words before it looks for the address, so an encoded word that
 * decodes to "a:maz@kernel.org;" became a group holding maz@kernel.org and
 * that address got the sender's credit. Quoted, the words can only ever be
 * the display name: the address is the addr-spec the sender really wrote.
 * *spoof is set when such a word decodes to address or group syntax.
 * Caller frees.
 */
static char *from_quote_words(const char *v, int *spoof)
{
	struct sbuf sb = SBUF_INIT;
	int quoted = 0, comment = 0, angle = 0;
	const char *p = v;

	*spoof = 0;
	while (*p) {
		size_t n;
		if (quoted || comment) {
			if (*p == '\\' && p[1]) {
				sbuf_add(&sb, p, 2);
				p += 2;
				continue;
			}
			if (quoted && *p == '"')
				quoted = 0;
			else if (comment && *p == '(')
				comment++;
			else if (comment && *p == ')')
				comment--;
		} else if (angle) {
			if (*p == '>')
				angle = 0;
		} else if (*p == '"') {
			quoted = 1;
		} else if (*p == '(') {
			comment = 1;
		} else if (*p == '<') {
			angle = 1;
		} else if ((n = encoded_word_len(p)) > 0) {
			/* the run: encoded words with only white space between */
			const char *start = p, *runend = p + n;
			for (;;) {
				const char *q = runend;
				while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
					q++;
				size_t m = encoded_word_len(q);
				if (!m || q == runend)
					break;
				runend = q + m;
			}
			char *run = g_strndup(start, (size_t)(runend - start));
			char *dec = g_mime_utils_header_decode_phrase(mime_popts, run);
			if (dec && strpbrk(dec, "@<>:;"))
				*spoof = 1;
			g_free(dec);
			sbuf_addc(&sb, '"');
			for (const char *q = run; *q; q++) {
				if (*q == '"' || *q == '\\')
					sbuf_addc(&sb, '\\');
				sbuf_addc(&sb, *q);
			}
			sbuf_addc(&sb, '"');
			g_free(run);
			p = runend;
			continue;
		}
		sbuf_addc(&sb, *p);
		p++;
	}
	return sbuf_detach(&sb, NULL);
}

static void addr_list(InternetAddressList *l, struct strv *sv, char **name, char **addr, unsigned *flags, int depth)
{
	int n = l ? internet_address_list_length(l) : 0;
	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			if (depth < 2)
				addr_list(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
					  sv, name, addr, flags, depth + 1);
			continue;
		}
		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		const char *a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		char *clean = header_clean(a ? a : "", flags);
		for (char *q = clean; *q; q++)
			*q = g_ascii_tolower(*q);
		if (addr && !*addr) {
			*addr = clean;
			*name = name_clean(internet_address_get_name(ia), flags);
			return;
		}
		if (sv && *clean)
			strv_push_owned(sv, clean);
		else
			free(clean);
	}
}

/* Does the first line look like a header field ("Name:")? */
static int looks_like_header(const char *p, const char *end)
{
	const char *q = p;
	while (q < end && *q > ' ' && *q < 0x7f && *q != ':')
		q++;
	if (q == p)
		return 0;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	return q < end && *q == ':';
}

/* End of the header block: start of the blank line, or end. */
static const char *header_end(const char *p, const char *end)
{
	const char *q = p;
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		if (!nl)
			return end;
		if (nl + 1 < end && nl[1] == '\n')
			return nl + 1;
		if (nl + 2 < end && nl[1] == '\r' && nl[2] == '\n')
			return nl + 1;
		q = nl + 1;
	}
	return end;
}

/*
 * A stable id for a mail without Message-ID: sha256 over what the sender
 * wrote (From, To, Cc, Subject, Date as they came, and the body), not over
 * the whole bytes, so the same mail relayed twice with different Received
 * lines (or an mbox "From " line) still gets one id.
 */
static char *derived_id(GMimeHeaderList *hl, const char *body, size_t blen)
{
	static const char *const names[] = { "From", "To", "Cc", "Subject", "Date", NULL };
	struct kv_sha256 ck;
	char hex[KV_SHA256_HEX_LEN];

	kv_sha256_init(&ck);
	for (size_t i = 0; names[i]; i++) {
		GMimeHeader *h = g_mime_header_list_get_header(hl, names[i]);
		const char *v = h ? g_mime_header_get_raw_value(h) : NULL;
		size_t n;
		const char *t = trim(v ? v : "", &n);
		/* CR/LF and folding differ between transports: hash the words */
		for (size_t k = 0; k < n; k++)
			if (t[k] != '\r' && t[k] != '\n')
				kv_sha256_update(&ck, &t[k], 1);
		kv_sha256_update(&ck, "\n", 1);
	}
	kv_sha256_update(&ck, body, blen);
	kv_sha256_final_hex(&ck, hex);
	char *id = kv_xasprintf("%s@kvmarm-digest.invalid", hex);
	return id;
}

/* gmime's message over raw[0..len) without copying it. The byte array is
 * only borrowed: *arr must be given back with g_byte_array_free(arr, FALSE)
 * once the message is gone. */
static GMimeMessage *construct(const char *raw, size_t len, GByteArray **arr)
{
	GMimeStream *st;
	GMimeParser *parser;
	GMimeMessage *msg;

	*arr = g_byte_array_new_take((guint8 *)raw, len);
	st = g_mime_stream_mem_new_with_byte_array(*arr);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
	parser = g_mime_parser_new_with_stream(st);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	g_mime_parser_set_persist_stream(parser, TRUE);
	msg = g_mime_parser_construct_message(parser, mime_popts);
	g_object_unref(parser);
	g_object_unref(st);
	return msg;
}

static void give_back(GByteArray *arr)
{
	if (arr)
		g_byte_array_free(arr, FALSE);
}

int mime_parse(const char *raw, size_t len, int64_t arrival, struct mail *m, struct kv_err *err)
{
	const char *p = raw, *end = raw + len, *hend;
	GByteArray *arr = NULL;
	GMimeMessage *msg;
	GMimeHeaderList *hl;
	struct walk w;
	int have_date = 0, have_recv = 0;
	int64_t recv_t = 0;
	const char *date_v = NULL, *msgid_v = NULL, *irt_v = NULL, *refs_v = NULL, *list_v = NULL;
	const char *from_v = NULL;

	memset(m, 0, sizeof(*m));
	mime_init();
	if (!raw || len == 0)
		return kv_err_set(err, "empty message: no bytes to parse");
	/* an mbox separator left in front is not part of the mail */
	if (len >= 5 && !memcmp(p, "From ", 5)) {
		const char *nl = memchr(p, '\n', len);
		p = nl ? nl + 1 : end;
	}
	if (p == end)
		return kv_err_set(err, "not a mail: no header lines");
	if (!looks_like_header(p, end))
		return kv_err_set(err, "not a mail: the first line is not a header field (\"Name: value\")");
	hend = header_end(p, end);
	for (const char *q = p; q < hend; q++)
		if ((unsigned char)*q & 0x80) {
			m->flags |= MAIL_HEADER_8BIT;
			break;
		}
	if (memchr(raw, '\0', len))
		m->flags |= MAIL_NUL_BYTES;

	msg = construct(p, (size_t)(end - p), &arr);
	if (!msg) {
		give_back(arr);
		return kv_err_set(err, "not a mail: gmime found no message in %zu bytes", len);
	}

	hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	int nh = g_mime_header_list_get_count(hl);
	for (int i = 0; i < nh; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);
		const char *v = g_mime_header_get_raw_value(h);
		if (!name || !v)
			continue;
		switch (g_ascii_tolower(name[0])) {
		case 'd':
			if (!date_v && !g_ascii_strcasecmp(name, "Date"))
				date_v = v;
			break;
		case 'm':
			if (!msgid_v && !g_ascii_strcasecmp(name, "Message-ID"))
				msgid_v = v;
			break;
		case 'i':
			if (!irt_v && !g_ascii_strcasecmp(name, "In-Reply-To"))
				irt_v = v;
			break;
		case 'r':
			if (!refs_v && !g_ascii_strcasecmp(name, "References")) {
				refs_v = v;
			} else if (!g_ascii_strcasecmp(name, "Received")) {
				const char *semi = strrchr(v, ';');
				int64_t t;
				int off;
				if (semi && decode_date(semi + 1, arrival, &t, &off) == 0 && (!have_recv || t > recv_t)) {
					recv_t = t;
					have_recv = 1;
				}
			}
			break;
		case 'l':
			if (!list_v && !g_ascii_strcasecmp(name, "List-Id"))
				list_v = v;
			break;
		case 'f':
			if (!from_v && !g_ascii_strcasecmp(name, "From"))
				from_v = v;
			break;
		}
	}

	if (msgid_v)
		parse_message_id(m, msgid_v);
	if (!m->message_id) {
		m->message_id = derived_id(hl, hend, (size_t)(end - hend));
		m->flags |= MAIL_NO_MSGID;
	}
	if (irt_v)
		ids_foreach(irt_v, first_id_cb, &m->in_reply_to);
	if (refs_v)
		parse_references(m, refs_v);
	if (date_v && decode_date(date_v, arrival, &m->date, &m->tz_offset) == 0)
		have_date = 1;
	if (!have_date) {
		m->tz_offset = 0;
		if (have_recv) {
			m->date = recv_t;
			m->flags |= MAIL_DATE_RECEIVED;
		} else {
			m->date = arrival;
			m->flags |= MAIL_DATE_ARRIVAL;
		}
	}
	if (list_v)
		m->list_id = list_id_value(list_v);

	m->subject = header_clean(g_mime_message_get_subject(msg), &m->flags);
	if (from_v) {
		int spoof;
		char *fq = from_quote_words(from_v, &spoof);
		InternetAddressList *fl = internet_address_list_parse(mime_popts, fq);
		addr_list(fl, NULL, &m->from_name, &m->from_addr, &m->flags, 0);
		if (fl)
			g_object_unref(fl);
		free(fq);
		if (spoof)
			m->flags |= MAIL_FROM_NAME_ADDR;
	}
	if (!m->from_addr) {
		m->from_addr = kv_xstrdup("");
		m->from_name = kv_xstrdup("");
	}
	addr_list(g_mime_message_get_to(msg), &m->to, NULL, NULL, &m->flags, 0);
	addr_list(g_mime_message_get_cc(msg), &m->cc, NULL, NULL, &m->flags, 0);

	memset(&w, 0, sizeof(w));
	w.m = m;
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	if (body)
		walk_object(&w, body, 0);
	if (w.ntext == 0 && w.html) {
		add_text_part(&w, w.html, 1);
		m->flags |= MAIL_HTML_ONLY;
	}
	if (w.ntext == 0)
		m->flags |= MAIL_NO_BODY_TEXT;
	if (!w.text.buf)
		sbuf_adds(&w.text, "");
	else if (w.text.len && w.text.buf[w.text.len - 1] != '\n')
		sbuf_addc(&w.text, '\n');   /* whole lines, as body_analyze expects */
	if (w.text.len > MAIL_MAX_TEXT) {
		size_t cut = MAIL_MAX_TEXT - 1;
		while (cut && ((unsigned char)w.text.buf[cut] & 0xc0) == 0x80)
			cut--;
		w.text.buf[cut] = '\n';
		w.text.len = cut + 1;
		w.text.buf[w.text.len] = '\0';
		m->flags |= MAIL_TEXT_TRUNCATED;
	}
	m->text = sbuf_detach(&w.text, &m->text_len);

	g_object_unref(msg);
	give_back(arr);
	return 0;
}

/* ---------------------------------------------------------------------
 * The digest mail, and reading mails back for tests.
 */

static int is_addr_header(const char *name)
{
	return !g_ascii_strcasecmp(name, "From") || !g_ascii_strcasecmp(name, "To") ||
	       !g_ascii_strcasecmp(name, "Cc") || !g_ascii_strcasecmp(name, "Bcc") ||
	       !g_ascii_strcasecmp(name, "Reply-To") || !g_ascii_strcasecmp(name, "Sender");
}

static GMimeTextPart *digest_part(const char *subtype, const char *content)
{
	GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
	/* not g_mime_text_part_set_text(): it re-encodes to the "best"
	 * charset (latin1 when it can), and we promise utf-8 */
	const char *c = content ? content : "";
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(c, strlen(c));
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(GMIME_PART(tp), dw);
	g_object_unref(dw);
	g_object_unref(st);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(tp), "charset", "utf-8");
	/* 7-bit transport safe: quoted-printable or base64, whichever is smaller */
	GMimeContentEncoding enc = g_mime_part_get_best_content_encoding(GMIME_PART(tp),
									GMIME_ENCODING_CONSTRAINT_7BIT);
	if (enc != GMIME_CONTENT_ENCODING_7BIT)
		g_mime_part_set_content_encoding(GMIME_PART(tp), enc);
	return tp;
}

int mime_build_digest(const char *const *hdrs, const char *text, const char *html,
		      struct sbuf *out, struct kv_err *err)
{
	GMimeMessage *msg;
	GMimeMultipart *alt;
	GMimeTextPart *tp, *hp;
	GMimeStream *st;
	GMimeFormatOptions *fo;
	GByteArray *ba;

	mime_init();
	if (text && !g_utf8_validate(text, -1, NULL))
		return kv_err_set(err, "digest text part is not valid UTF-8");
	if (html && !g_utf8_validate(html, -1, NULL))
		return kv_err_set(err, "digest html part is not valid UTF-8");
	msg = g_mime_message_new(FALSE);
	for (size_t i = 0; hdrs && hdrs[i] && hdrs[i + 1]; i += 2) {
		const char *name = hdrs[i], *value = hdrs[i + 1];
		if (!g_utf8_validate(value, -1, NULL)) {
			g_object_unref(msg);
			return kv_err_set(err, "digest header %s is not valid UTF-8", name);
		}
		if (is_addr_header(name)) {
			InternetAddressList *l = internet_address_list_parse(mime_popts, value);
			if (!l) {
				g_object_unref(msg);
				return kv_err_set(err, "digest header %s: cannot parse address list \"%s\"", name, value);
			}
			GMimeAddressType t = !g_ascii_strcasecmp(name, "From") ? GMIME_ADDRESS_TYPE_FROM
				: !g_ascii_strcasecmp(name, "To") ? GMIME_ADDRESS_TYPE_TO
				: !g_ascii_strcasecmp(name, "Cc") ? GMIME_ADDRESS_TYPE_CC
				: !g_ascii_strcasecmp(name, "Bcc") ? GMIME_ADDRESS_TYPE_BCC
				: !g_ascii_strcasecmp(name, "Reply-To") ? GMIME_ADDRESS_TYPE_REPLY_TO
				: GMIME_ADDRESS_TYPE_SENDER;
			internet_address_list_append(g_mime_message_get_addresses(msg, t), l);
			g_object_unref(l);
		} else {
			g_mime_object_append_header(GMIME_OBJECT(msg), name, value, "utf-8");
		}
	}
	alt = g_mime_multipart_new_with_subtype("alternative");
	tp = digest_part("plain", text);
	hp = digest_part("html", html);
	g_mime_multipart_add(alt, GMIME_OBJECT(tp));
	g_mime_multipart_add(alt, GMIME_OBJECT(hp));
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(alt));
	g_object_unref(tp);
	g_object_unref(hp);
	g_object_unref(alt);

	st = g_mime_stream_mem_new();
	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_UNIX);
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, st);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(st));
	sbuf_add(out, ba->data, ba->len);
	g_mime_format_options_free(fo);
	g_object_unref(st);
	g_object_unref(msg);
	return 0;
}

static void describe_object(GMimeObject *obj, struct strv *types, int depth)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	if (depth > 32)
		return;
	if (ct) {
		char *mt = g_mime_content_type_get_mime_type(ct);
		const char *cs = g_mime_content_type_get_parameter(ct, "charset");
		char *s = cs ? kv_xasprintf("%s; charset=%s", mt, cs) : kv_xstrdup(mt);
		for (char *q = s; *q; q++)
			*q = g_ascii_tolower(*q);
		strv_push_owned(types, s);
		g_free(mt);
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			describe_object(g_mime_multipart_get_part(mp, i), types, depth + 1);
	}
}

int mime_describe(const char *raw, size_t len, struct strv *types, struct kv_err *err)
{
	GByteArray *arr;
	GMimeMessage *msg;

	mime_init();
	if (!raw || !len)
		return kv_err_set(err, "empty message: nothing to describe");
	msg = construct(raw, len, &arr);
	if (!msg) {
		give_back(arr);
		return kv_err_set(err, "not a mail: gmime found no message in %zu bytes", len);
	}
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	if (body)
		describe_object(body, types, 0);
	g_object_unref(msg);
	give_back(arr);
	return 0;
}

char *mime_header_value(const char *raw, size_t len, const char *name)
{
	GByteArray *arr;
	GMimeMessage *msg;
	char *r = NULL;

	mime_init();
	if (!raw || !len)
		return NULL;
	msg = construct(raw, len, &arr);
	if (msg) {
		const char *v = g_mime_object_get_header(GMIME_OBJECT(msg), name);
		if (v) {
			unsigned flags = 0;
			r = header_clean(v, &flags);
		}
		g_object_unref(msg);
	}
	give_back(arr);
	return r;
}
