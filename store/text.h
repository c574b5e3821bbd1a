/*
 * text.h - small text helpers for what people read (digests, CLI output):
 * a header value on one line, a sender as "Name <addr>", and cutting UTF-8
 * text to a byte budget without splitting a character. Pure functions on
 * NUL-terminated UTF-8 (or byte ranges, where a length is given).
 */
#ifndef KV_TEXT_H
#define KV_TEXT_H

#include <stddef.h>

/* s with every run of white space (line breaks included) made one space,
 * leading and trailing space dropped: a subject or name never breaks a
 * line. NULL counts as "". Caller frees. */
char *text_one_line(const char *s);

/* "Name <addr>" with both made one line, or whichever is not empty (NULL
 * counts as ""). Caller frees. */
char *text_person(const char *name, const char *addr);

/* The length to keep of s[0..len) so that it is at most max bytes and does
 * not end inside a UTF-8 sequence: len when it fits, else max moved back to
 * the start of the character it falls in. */
size_t text_utf8_cut(const char *s, size_t len, size_t max);

/*
 * Characters no mail- or model-derived string may carry (issue 14): the
 * bidi embeddings, overrides and isolates U+202A..U+202E and U+2066..U+2069
 * (they reorder what a reader sees, "Trojan source"), and NUL.
 * text_unsafe_len: the byte length (1 or 3) of such a character at
 * s[0..n), 0 when s does not start with one. Every cleaner uses it.
 */
size_t text_unsafe_len(const char *s, size_t n);

/*
 * text_utf8_len: the byte length (1..4) of the one well-formed UTF-8
 * character at s[0..n) (RFC 3629: no overlong form, no surrogate, nothing
 * above U+10FFFF), 0 when s starts with a byte no such character starts
 * with or with a sequence that is cut short. A cleaner that drops bytes
 * copies characters whole with it, so what it drops cannot join the bytes
 * around into a character of its own (issue 14).
 */
size_t text_utf8_len(const char *s, size_t n);

/* Remove those characters from s[0..*len) in place (NUL-terminated after);
 * *len becomes the new length. Returns how many were removed. */
size_t text_strip_unsafe(char *s, size_t *len);

#endif
