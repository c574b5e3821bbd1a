/*
 * fuzz_mime.c - the mail parser (store/mime.c, mime_parse) on any bytes.
 * Properties besides "no memory error": a parse either fails with a reason
 * or gives a mail whose every string is NUL-terminated valid UTF-8 (the
 * parser's promise: cleaned once, here), a non-empty Message-ID, body text
 * whose length matches, no NUL inside it, and at most MAIL_MAX_REFS
 * references; the same bytes parse the same way twice (no hidden state).
 */
#include "fuzz.h"
#include "kv.h"
#include "mime.h"

static void check_str(const char *what, const char *s)
{
	if (s)
		FUZZ_ASSERT(kv_utf8_valid(s, strlen(s)), "%s is not valid UTF-8", what);
}

static void check_mail(const struct mail *m)
{
	FUZZ_ASSERT(m->message_id && m->message_id[0], "no Message-ID after a parse");
	FUZZ_ASSERT(m->text, "no body text after a parse");
	FUZZ_ASSERT(strlen(m->text) == m->text_len, "text_len %zu but strlen %zu", m->text_len,
		    strlen(m->text));
	FUZZ_ASSERT(m->text_len <= MAIL_MAX_TEXT, "text longer than MAIL_MAX_TEXT");
	FUZZ_ASSERT(m->refs.n <= MAIL_MAX_REFS, "%zu references kept", m->refs.n);
	check_str("message_id", m->message_id);
	check_str("in_reply_to", m->in_reply_to);
	check_str("from_name", m->from_name);
	check_str("from_addr", m->from_addr);
	check_str("subject", m->subject);
	check_str("list_id", m->list_id);
	check_str("text", m->text);
	for (size_t i = 0; i < m->refs.n; i++)
		check_str("reference", m->refs.v[i]);
	for (size_t i = 0; i < m->to.n; i++)
		check_str("to", m->to.v[i]);
	for (size_t i = 0; i < m->cc.n; i++)
		check_str("cc", m->cc.v[i]);
	for (size_t i = 0; i < m->natts; i++) {
		check_str("attachment name", m->atts[i].filename);
		check_str("attachment type", m->atts[i].content_type);
	}
	if (m->from_addr)
		for (const char *p = m->from_addr; *p; p++)
			FUZZ_ASSERT(!(*p >= 'A' && *p <= 'Z'), "from_addr not lowercased: %s", m->from_addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		mime_init();
		inited = 1;
	}
	struct mail m, m2;
	struct kv_err err;
	err.msg[0] = 0;
	const int64_t arrival = 1709251200;   /* 2024-03-01 */
	int rc = mime_parse((const char *)data, size, arrival, &m, &err);
	if (rc < 0) {
		FUZZ_ASSERT(err.msg[0], "parse failed without a reason");
		return 0;
	}
	FUZZ_ASSERT(rc == 0, "mime_parse returned %d", rc);
	check_mail(&m);
	FUZZ_ASSERT(mime_parse((const char *)data, size, arrival, &m2, &err) == 0, "second parse failed");
	FUZZ_ASSERT(!strcmp(m.message_id, m2.message_id) && m.text_len == m2.text_len &&
		    !memcmp(m.text, m2.text, m.text_len) && m.date == m2.date && m.flags == m2.flags,
		    "the same bytes parsed differently");
	mail_release(&m2);
	mail_release(&m);

	/* the header reader the milter and import use on raw bytes */
	char *v = mime_header_value((const char *)data, size, "Message-ID");
	free(v);
	return 0;
}
