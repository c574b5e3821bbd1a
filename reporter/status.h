/*
 * status.h - what one mail decides about a patch or pull request: applied,
 * queued, merged (pulled), NAK, changes requested; with the target branch,
 * commit ids and, for a "(subset)" thank-you, the patch indexes taken.
 * Pure text rules over one mail's own new prose (the caller removes quotes,
 * diffs and trailers with body.c); the rules are listed in status.c.
 */
#ifndef KV_STATUS_H
#define KV_STATUS_H

#include <stddef.h>
#include "kv.h"

enum status_kind {
	SK_APPLIED,          /* applied / pushed / taken / picked up to a branch */
	SK_QUEUED,           /* queued (also a stable-queue notice) */
	SK_MERGED,           /* a pull request pulled / merged */
	SK_NAK,              /* NAK or an explicit rejection */
	SK_CHANGES,          /* an objection to the design, a rework request */
};

struct status_input {
	const char *prose;   /* the sender's own new prose of one mail */
	size_t len;
	const char *subject; /* that mail's subject (raw, "Re: (subset) [PATCH ...]") */
	int from_author;     /* 1: the sender wrote the patch / thread */
	int patch_thread;    /* 1: the thread is a patch, RFC or pull request */
	int gave_tag;        /* 1: the same mail gives a Reviewed-by / Acked-by */
	int no_change_request; /* 1: R10 does not apply to this sender (facts.c) */
};

struct status_decision {
	enum status_kind kind;
	char *branch;        /* "kvmarm-master/fixes", "next", ... or NULL */
	struct strv commits; /* full ids as written (7..40 hex) */
	int *patches;        /* "(subset)": the patch indexes taken; NULL = all */
	size_t npatches;
};

struct status_result {
	struct status_decision *v;
	size_t n;
};

/* The decisions one mail states (0 or more, at most one per kind). Never
 * fails; the caller calls status_result_release. */
void status_detect(const struct status_input *in, struct status_result *out);
void status_result_release(struct status_result *r);

/* "enum status_kind" name: "applied", "queued", "merged", "nak",
 * "changes_requested". */
const char *status_kind_name(enum status_kind k);

/* s with every run of 13..40 hex digits (a commit id) cut to 12 digits,
 * for display. Caller frees. */
char *status_short_ids(const char *s);

#endif
