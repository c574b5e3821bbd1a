/*
 * testmail.h - the list mail the unit tests write into a store: From, To
 * (the list), Subject, Date (RFC 5322, UTC), Message-ID, In-Reply-To and
 * References, a plain-text body. Shared by t_act.c and t_series.c.
 */
#ifndef KV_TESTMAIL_H
#define KV_TESTMAIL_H

#include <stdint.h>
#include <string.h>
#include <time.h>
#include "kv.h"
#include "kvtime.h"

/* irt: NULL, one id, or "a b c" (References in that order, the last one
 * replied to). Returns a malloc'd mail. */
static inline char *test_mail(const char *id, const char *irt, const char *from, const char *subj,
			      int64_t date, const char *body)
{
	struct sbuf sb = SBUF_INIT;
	struct tm tm;
	char d[64];

	kvtime_gmtime(date, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	sbuf_addf(&sb, "From: %s\nTo: kvmarm@lists.linux.dev\nSubject: %s\nDate: %s\nMessage-ID: <%s>\n",
		  from, subj, d, id);
	if (irt) {
		const char *last = strrchr(irt, ' ');
		sbuf_addf(&sb, "In-Reply-To: <%s>\nReferences:", last ? last + 1 : irt);
		for (const char *p = irt; *p;) {
			size_t n = strcspn(p, " ");
			sbuf_addf(&sb, " <%.*s>", (int)n, p);
			p += n;
			p += *p == ' ';
		}
		sbuf_addc(&sb, '\n');
	}
	sbuf_addf(&sb, "Content-Type: text/plain; charset=utf-8\n\n%s", body);
	return sbuf_detach(&sb, NULL);
}

#endif
