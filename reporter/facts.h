/*
 * facts.h - what the mail itself says about a thread: review tags from
 * trailers (counted only when given from the tagger's own address; tags on
 * a cover letter count for every patch), status (the decisions of status.c:
 * applied / queued with branch, commit ids and "(subset)" patches, NAK,
 * changes requested; new version posted, kernel test robot build failures,
 * syzbot reports), and the window's mails, participants and
 * earlier activity. Used by digest.c (it needs only the data model,
 * digest_types.h); the pure scanners are public so unit tests can check them
 * on text they write.
 */
#ifndef KV_FACTS_H
#define KV_FACTS_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"
#include "digest_types.h"

struct store_reader;

/* Fill t's mails, participants, patches, review tags, events, commits,
 * earlier activity, root prose and diffstat from the thread's members
 * (store numbers in date order). Members dated at or after the window's end
 * are ignored: a digest shows the state as of its window. 0 / -1. */
int facts_thread(struct store_reader *r, const struct digest_opts *o, struct digest_thread *t,
		 const uint64_t *members, size_t n, struct kv_err *err);

/* Status bits (DST_APPLIED, DST_QUEUED, DST_NAK, DST_CHANGES) that
 * status.c finds in the prose of one reply from someone other than the
 * author on a patch thread; commit ids of an acceptance are appended to
 * commits (may be NULL). */
unsigned facts_scan_prose(const char *prose, size_t len, struct strv *commits);

/* The first paragraphs of prose (greeting lines skipped), at most about
 * max bytes, cut on a UTF-8 boundary. Caller frees. */
char *facts_first_paragraphs(const char *prose, size_t len, size_t max);

/* The sender's display name as a digest may show and credit it: "" when
 * the parser flagged it (MAIL_FROM_NAME_ADDR) as holding address or group
 * syntax, a name that claims an address the mail was not sent from, so
 * the sender is shown, and credited, by the real address only. */
const char *facts_sender_name(const char *name, unsigned flags);

/* t->facts: plain-text lines (series, versions, tags, status) for the LLM. */
void facts_text(struct digest_thread *t);

#endif
