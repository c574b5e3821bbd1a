/*
 * fuzz_llm_answer.c - the LLM answer parser and cleaner
 * (reporter/llm_answer.c, llm_answer_parse) on any model content: a
 * hostile or broken model server writes what it likes. The first byte
 * gives the thread's mail count (citations 1..n are kept). Properties: a
 * rejection has a reason; an accepted answer has three non-empty fields of
 * valid UTF-8 without control characters; the JSON the cache stores parses
 * back, through the same parser, to the same three fields (a summary read
 * from the cache is the one first shown); and every field, escaped for
 * Markdown and HTML, opens no markup (escape_check.h).
 */
#include "fuzz.h"
#include "escape_check.h"
#include "kv.h"
#include "llm_private.h"
#include "log.h"
#include "render.h"

static void check_field(const char *name, const char *s)
{
	FUZZ_ASSERT(s && s[0], "accepted answer with an empty \"%s\"", name);
	FUZZ_ASSERT(kv_utf8_valid(s, strlen(s)), "\"%s\" is not valid UTF-8", name);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FUZZ_ASSERT(*p >= 0x20 || *p == '\t', "control character 0x%02x in \"%s\"", *p, name);
	struct sbuf sb;
	sbuf_init(&sb);
	render_md_escape(&sb, s);
	sbuf_adds(&sb, "");
	check_md_escaped(s, sb.buf);
	sbuf_reset(&sb);
	render_html_escape(&sb, s);
	sbuf_adds(&sb, "");
	check_html_escaped(s, sb.buf);
	sbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		log_set_level(LOG_LVL_ERR);
		quiet = 1;
	}
	if (size < 1)
		return 0;
	size_t nmails = data[0];
	char *content = fuzz_cstr(data + 1, size - 1);
	struct llm_answer a, b;
	char why[256] = "";
	if (llm_answer_parse(content, nmails, &a, why, sizeof(why)) < 0) {
		FUZZ_ASSERT(why[0], "answer rejected without a reason");
		FUZZ_ASSERT(!a.about && !a.before && !a.week, "rejected answer left fields behind");
		free(content);
		return 0;
	}
	check_field("about", a.about);
	check_field("before", a.before);
	check_field("week", a.week);

	char *js = llm_answer_json(&a);
	FUZZ_ASSERT(llm_answer_parse(js, nmails, &b, why, sizeof(why)) == 0, "the cached answer %s is rejected: %s",
		    js, why);
	FUZZ_ASSERT(!strcmp(a.about, b.about) && !strcmp(a.before, b.before) && !strcmp(a.week, b.week),
		    "the cached answer reads back different: %s -> about \"%s\" before \"%s\" week \"%s\"", js,
		    b.about, b.before, b.week);
	llm_answer_release(&b);
	free(js);
	llm_answer_release(&a);
	free(content);
	return 0;
}
