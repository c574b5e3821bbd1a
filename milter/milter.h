/*
 * milter.h - the libmilter callbacks of kvmarm-milter: collect each
 * message exactly as the MTA passes it (headers in order, blank line,
 * body; line ends stored as LF), decide at end-of-header whether it is a
 * list mail worth recording, and at end-of-message hand it to the writer
 * (writer.h) and wait until it is durable. The filter never modifies or
 * rejects a mail: it declares no modification flags and answers
 * continue/accept (tempfail only when the operator chose on_error =
 * tempfail and the mail could not be kept).
 */
#ifndef KV_MILTER_MILTER_H
#define KV_MILTER_MILTER_H

#include <stddef.h>
#include "kv.h"

struct writer;

struct milter_opts {
	struct strv list_ids;     /* lowercased ids without <> */
	const char *marker_header; /* the digest's own header: such mails pass unrecorded */
	size_t max_size;          /* larger messages pass unrecorded (0: no limit) */
	int tempfail_on_error;    /* on_error = tempfail */
	int reply_every_packet;   /* inet sockets: no "no reply" steps (see milter.c) */
	int no_mta_warn_ms;       /* until an MTA connects, warn this often (0: never) */
};

/* Set the options (copied) and the writer the callbacks hand mails to.
 * Call once, before milter_run. */
void milter_setup(const struct milter_opts *o, struct writer *w);

/* Register the filter with libmilter and open its socket (sockspec as
 * libmilter takes it: unix:PATH, inet:PORT@HOST, inet6:...); a unix socket
 * (upath: its path, else NULL) is made with mode 0700 for the caller to
 * widen, a stale one replaced. timeout: seconds libmilter waits on the
 * MTA. 0 / -1 with err, which says why (a missing directory, an address
 * in use, ...). */
int milter_open(char *sockspec, int timeout, const char *upath, struct kv_err *err);

/* Serve connections until SIGTERM (libmilter's main loop); meanwhile warn
 * every no_mta_warn_ms until the first MTA connects. 0 / -1. */
int milter_run(void);

/* End-of-message timing and counters, logged at exit. */
void milter_log_stats(void);

/* Parse a List-Id header value: the id inside the last <...>, else the
 * trimmed value; lowercased, malloc'd. Also used for config list_ids. */
char *milter_list_id(const char *value);

#endif
