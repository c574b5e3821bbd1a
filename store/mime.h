/*
 * mime.h - turning the raw bytes of one mail into a struct mail, and
 * building the digest mail. This module is the only user of gmime.
 *
 * Everything in a struct mail is valid UTF-8 (RFC 2047 decoded, unfolded,
 * white space normalised in Subject and names, invalid bytes replaced by
 * U+FFFD) and owned by the struct: mail_release() frees it.
 */
#ifndef KV_MIME_H
#define KV_MIME_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"

/* What the parser repaired or guessed. Stored with the message and shown by
 * `show --json` as a list of names (mail_flag_names). One bit is not the
 * parser's: MAIL_BACKFILLED, set by whoever stores a mail that did not come
 * from the list's delivery (the reporter's lore backfill); the record keeps
 * it like the others. MAIL_PARSE_FLAGS masks the parser's own bits. */
enum mail_flag {
	MAIL_NO_MSGID         = 1u << 0,  /* no Message-ID: id derived from the content */
	MAIL_MSGID_REPAIRED   = 1u << 1,  /* Message-ID without <> or with junk around it */
	MAIL_DATE_RECEIVED    = 1u << 2,  /* Date missing/garbled: newest Received used */
	MAIL_DATE_ARRIVAL     = 1u << 3,  /* ... and no Received either: arrival time used */
	MAIL_CHARSET_UNKNOWN  = 1u << 4,  /* unknown charset label: windows-1252 fallback */
	MAIL_HEADER_8BIT      = 1u << 5,  /* raw 8-bit bytes in headers */
	MAIL_BAD_TRANSFER     = 1u << 6,  /* broken base64 / quoted-printable */
	MAIL_NUL_BYTES        = 1u << 7,  /* NUL bytes in the message (dropped from text) */
	MAIL_REFS_TRUNCATED   = 1u << 8,  /* more References than MAIL_MAX_REFS */
	MAIL_HTML_ONLY        = 1u << 9,  /* body text converted from text/html */
	MAIL_TEXT_TRUNCATED   = 1u << 10, /* body text longer than MAIL_MAX_TEXT */
	MAIL_HEADER_TRUNCATED = 1u << 11, /* a header value longer than MAIL_MAX_HEADER */
	MAIL_NO_BODY_TEXT     = 1u << 12, /* no text part at all */
	MAIL_INVALID_UTF8     = 1u << 13, /* bytes replaced by U+FFFD */
	MAIL_FROM_NAME_ADDR   = 1u << 14, /* From: an encoded word decoding to address or group
					   * syntax ("maz@kernel.org", "a:b@c;"): kept as the
					   * display name only; the address is the addr-spec */
	MAIL_BACKFILLED       = 1u << 15, /* fetched from an archive, not delivered: never counted */
};
#define MAIL_FLAG_COUNT 16
#define MAIL_PARSE_FLAGS ((1u << 15) - 1)

#define MAIL_MAX_REFS   4096              /* References kept for threading */
#define MAIL_MAX_TEXT   (4u << 20)        /* decoded body text kept */
#define MAIL_MAX_HEADER (64u << 10)       /* one decoded header value */

/* Name of bit number i (0 <= i < MAIL_FLAG_COUNT), e.g. "no_msgid". */
const char *mail_flag_name(unsigned bit);

struct mail_attachment {
	char *filename;      /* may be NULL */
	char *content_type;  /* "application/octet-stream" */
	size_t size;         /* decoded size in bytes */
};

struct mail {
	char *message_id;    /* without <>; never NULL after a successful parse */
	char *in_reply_to;   /* first id of In-Reply-To, without <>; may be NULL */
	struct strv refs;    /* References, in order, without <>, deduplicated */
	int64_t date;        /* UTC seconds */
	int tz_offset;       /* sender's zone, minutes east of UTC (0 when guessed) */
	char *from_name;     /* may be "" */
	char *from_addr;     /* lowercased; may be "" */
	struct strv to;      /* addresses */
	struct strv cc;
	char *subject;       /* decoded, unfolded, single spaces; may be "" */
	char *list_id;       /* the id inside <>, lowercased; may be NULL */
	char *text;          /* body text, UTF-8; never NULL after parse */
	size_t text_len;
	struct mail_attachment *atts;
	size_t natts;
	unsigned flags;      /* enum mail_flag bits */
};

/*
 * Parse raw[0..len) (a whole RFC 5322 message, LF or CRLF line ends).
 * arrival: when it arrived (UTC seconds), the last fallback for the date.
 * Returns 0 and fills *m (caller calls mail_release), or -1 with err set
 * when the bytes are not a mail at all (empty, no header). Damage that can
 * be repaired is repaired and flagged, not an error.
 * Thread-safe once mime_init() has run.
 */
int mime_parse(const char *raw, size_t len, int64_t arrival, struct mail *m, struct kv_err *err);
void mail_release(struct mail *m);

/* Call once per process before any other mime_* function (g_mime_init). */
void mime_init(void);

/*
 * Build the digest mail: multipart/alternative with a text/plain part
 * (markdown) and a text/html part, both UTF-8. hdrs is a NULL-terminated
 * list of name, value pairs (From, To, Subject, Date, Message-ID, ...)
 * written in that order, values encoded per RFC 2047 where needed.
 * Returns the serialized message (CRLF-free, LF line ends) in *out.
 */
int mime_build_digest(const char *const *hdrs, const char *text, const char *html,
		      struct sbuf *out, struct kv_err *err);

/*
 * Parse a mail back into its top-level headers and parts, for tests and for
 * the reporter's own checks. Reports content types of the top part and
 * each subpart into *types (caller releases), e.g.
 * "multipart/alternative", "text/plain; charset=utf-8", ...
 */
int mime_describe(const char *raw, size_t len, struct strv *types, struct kv_err *err);

/* Decoded value of header name in raw (RFC 2047 decoded, unfolded), or NULL. Caller frees. */
char *mime_header_value(const char *raw, size_t len, const char *name);

#endif
