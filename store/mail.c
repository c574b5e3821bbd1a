/*
 * mail.c - the parts of struct mail (mime.h) that need no parser: the flag
 * names and mail_release. Kept out of mime.c, the module behind gmime, so
 * a program that only reads the store (kvmarm-store's queries, stats,
 * check) links no gmime and does not load it at every start.
 */
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "banned.h"

static const char *const flag_names[MAIL_FLAG_COUNT] = {
	"no_msgid", "msgid_repaired", "date_received", "date_arrival",
	"charset_unknown", "header_8bit", "bad_transfer", "nul_bytes",
	"refs_truncated", "html_only", "text_truncated", "header_truncated",
	"no_body_text", "invalid_utf8", "from_name_address", "backfilled",
};

const char *mail_flag_name(unsigned bit)
{
	return bit < MAIL_FLAG_COUNT ? flag_names[bit] : "unknown";
}

void mail_release(struct mail *m)
{
	if (!m)
		return;
	free(m->message_id);
	free(m->in_reply_to);
	strv_release(&m->refs);
	free(m->from_name);
	free(m->from_addr);
	strv_release(&m->to);
	strv_release(&m->cc);
	free(m->subject);
	free(m->list_id);
	free(m->text);
	for (size_t i = 0; i < m->natts; i++) {
		free(m->atts[i].filename);
		free(m->atts[i].content_type);
	}
	free(m->atts);
	memset(m, 0, sizeof(*m));
}
