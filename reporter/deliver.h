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

struct store;

/* Submit msg, the digest labelled label, by [reporter] transport, at most
 * once across crashes (see deliver.c): it is kept in STORE/outbox and
 * "sent:LABEL"-style state in the store's "sent" table until the transport
 * accepted it, then "sent" label = record ("<date> <msgid>") is recorded.
 * 0, or -1 with err saying what failed (the sendmail exit status, the SMTP
 * error, the store); a refused mail leaves no state behind. */
int deliver_digest(const struct kv_config *cfg, struct store *s, const char *label, const char *msg,
		   size_t len, const char *record, struct kv_err *err);

/* Finish a send of label that a killed run left in progress. 0: none was
 * in progress. 1: the mail had been handed over (it may have gone), so it
 * is recorded as sent and never mailed again. 2: it had not been handed
 * over, and the very same mail (same Message-ID) was sent now. -1 with err.
 * On 1 and 2, *record (caller frees) is the recorded "<date> <msgid>". */
int deliver_recover(const struct kv_config *cfg, struct store *s, const char *label, char **record,
		    struct kv_err *err);

/* The bare address of "Name <addr>" or "addr" into a new string. */
char *deliver_addr(const char *s);

#endif
