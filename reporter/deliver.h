/*
 * deliver.h - the digest as a mail (multipart/alternative: the plain-text
 * rendering (render_text) as text/plain, the HTML as text/html, UTF-8, built by mime.c) and its
 * submission: `sendmail -oi -t` run with execv and fixed arguments, or
 * SMTP / SMTPS (STARTTLS, AUTH) through http.c.
 */
#ifndef KV_DELIVER_H
#define KV_DELIVER_H

#include "kv.h"
#include "digest.h"

struct kv_config;

/* Build the whole message into out: From, To, Subject naming the week,
 * Date (in the digest's zone), Message-ID, Auto-Submitted: auto-generated,
 * the marker header ([reporter] marker_header: week label), MIME parts.
 * msgid_out (may be NULL) receives the Message-ID without <> (caller frees). */
int deliver_build(const struct kv_config *cfg, const struct digest *d, const char *text,
		  const char *html, struct sbuf *out, char **msgid_out, struct kv_err *err);

/* Submit msg by [reporter] transport. 0, or -1 with err saying what failed
 * (the sendmail exit status, the SMTP error). */
int deliver_send(const struct kv_config *cfg, const char *msg, size_t len, struct kv_err *err);

/* The bare address of "Name <addr>" or "addr" into a new string. */
char *deliver_addr(const char *s);

#endif
