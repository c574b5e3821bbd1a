/*
 * llm_answer.c - what comes back from the LLM (see llm_private.h). The
 * answer must be a JSON object with three non-empty strings; links,
 * markup and out-of-range citations are removed so the renderer gets
 * plain text it only has to escape; other text, kernel text above all,
 * is kept as written. A malformed answer is reported with a reason the
 * client sends back in its one repair request; a field over LLM_MAX_FIELD
 * is a failure, never cut short.
 */
#include "llm_private.h"
#include "text.h"
#include "json.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include "banned.h"

#define LLM_MAX_FIELD        4096   /* bytes of one answer field; more is a failure */

static int is_url_start(const char *s)
{
	if (!strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8) || !strncasecmp(s, "www.", 4) ||
	    !strncasecmp(s, "ftp://", 6) || !strncasecmp(s, "javascript:", 11) || !strncasecmp(s, "data:", 5) ||
	    !strncasecmp(s, "mailto:", 7))
		return 1;
	/* any other scheme://: letters then "://" */
	const char *q = s;
	while (isalpha((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
		q++;
	return q > s && !strncmp(q, "://", 3);
}

/* The HTML elements a model answer may carry as markup. Only these are
 * tags: "<linux/kvm.h>" or "<N>" is kernel text, kept for the renderers
 * to escape. */
static int html_tag_at(const char *s, size_t n, size_t *taglen)
{
	static const char *const names[] = {
		"a", "abbr", "b", "blockquote", "br", "code", "del", "details", "div", "em", "embed",
		"font", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "iframe", "img", "input",
		"li", "link", "meta", "object", "ol", "p", "pre", "s", "script", "small", "span",
		"strong", "style", "sub", "summary", "sup", "svg", "table", "td", "th", "tr", "u", "ul",
		"video", "audio", "source", "base", "button", "math", "textarea", "select",
	};
	size_t i = 1;
	if (n < 3 || s[0] != '<')
		return 0;
	if (s[1] == '!') {               /* comment or doctype */
		const char *e = memchr(s, '>', n);
		*taglen = e ? (size_t)(e - s) + 1 : 0;
		return e != NULL;
	}
	if (s[1] == '/')
		i = 2;
	size_t st = i;
	while (i < n && isalnum((unsigned char)s[i]))
		i++;
	if (i == st || i >= n || !(s[i] == '>' || s[i] == ' ' || s[i] == '/' || s[i] == '\t' || s[i] == '\n'))
		return 0;
	int known = 0;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && !known; k++)
		known = strlen(names[k]) == i - st && !strncasecmp(s + st, names[k], i - st);
	if (!known)
		return 0;
	const char *e = memchr(s + i, '>', n - i);
	if (!e)
		return 0;
	*taglen = (size_t)(e - s) + 1;
	return 1;
}

/*
 * Make model text s[0..n) (JSON strings may hold NUL) plain: what is markup goes (HTML elements, a script or
 * style element with its content, Markdown link targets, URLs, citations
 * outside 1..nmails), bidi controls and NUL go, white space is squeezed.
 * Everything else stays as written, kernel text included ("kvm_init()",
 * "<linux/kvm.h>", "the .config"): the renderers escape it. *removed
 * counts what was taken out (for the log). NULL when the text is longer
 * than LLM_MAX_FIELD: a summary is never cut short. One pass; clean_text
 * repeats it.
 */
static char *clean_pass(const char *s, size_t n, size_t nmails, int *removed)
{
	struct sbuf sb = SBUF_INIT;
	for (size_t i = 0; i < n;) {
		char c = s[i];
		size_t tl, u;
		if ((u = text_unsafe_len(s + i, n - i)) > 0) {
			i += u;
			continue;
		}
		if (c == '<' && html_tag_at(s + i, n - i, &tl)) {
			size_t e = i + tl;
			/* a script or style element goes with its content */
			if (!strncasecmp(s + i, "<script", 7) || !strncasecmp(s + i, "<style", 6)) {
				const char *close = strcasestr(s + e, s[i + 2] == 'c' || s[i + 2] == 'C' ? "</script" : "</style");
				const char *ce = close ? strchr(close, '>') : NULL;
				if (ce)
					e = (size_t)(ce - s) + 1;
			}
			i = e;
			(*removed)++;
			continue;
		}
		/* Markdown image / link: [text](target) -> text */
		if (c == '[' || (c == '!' && i + 1 < n && s[i + 1] == '[')) {
			size_t j = i + (c == '!' ? 2 : 1), k;
			for (k = j; k < n && s[k] != ']' && s[k] != '[' && s[k] != '\n'; k++)
				;
			if (k < n && s[k] == ']' && k + 1 < n && s[k + 1] == '(') {
				const char *e = memchr(s + k + 1, ')', n - k - 1);
				if (e) {
					sbuf_add(&sb, s + j, k - j);
					i = (size_t)(e - s) + 1;
					(*removed)++;
					continue;
				}
			}
			/* a citation [n] standing alone ("regs[5]" is code, kept) */
			int alone = i == 0 || !(isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_' || s[i - 1] == ']');
			if (c == '[' && alone && k < n && s[k] == ']' && k > j) {
				int digits = 1;
				for (size_t d = j; d < k; d++)
					if (!isdigit((unsigned char)s[d]))
						digits = 0;
				if (digits) {
					unsigned long v = strtoul(s + j, NULL, 10);
					if (k - j > 6 || v < 1 || v > nmails) {
						i = k + 1;
						(*removed)++;
						continue;
					}
				}
			}
		}
		/* URL: up to white space */
		if ((i == 0 || !isalnum((unsigned char)s[i - 1])) && is_url_start(s + i)) {
			while (i < n && !isspace((unsigned char)s[i]) && s[i] != '"' && s[i] != '\'' && s[i] != ')' && s[i] != '>')
				i++;
			(*removed)++;
			continue;
		}
		/* other control characters go here, not in kv_utf8_sanitize
		 * below: the spaces around one must still become one space */
		if (((unsigned char)c < 0x20 && !isspace((unsigned char)c)) || c == 0x7f) {
			i++;
			continue;
		}
		if (isspace((unsigned char)c)) {
			if (sb.len && sb.buf[sb.len - 1] != ' ')
				sbuf_addc(&sb, ' ');
			i++;
			continue;
		}
		sbuf_addc(&sb, c);
		i++;
	}
	while (sb.len && sb.buf[sb.len - 1] == ' ')
		sb.len--;
	if (sb.len > LLM_MAX_FIELD) {
		sbuf_release(&sb);
		return NULL;
	}
	char *out = kv_utf8_sanitize(sb.buf ? sb.buf : "", sb.len);
	sbuf_release(&sb);
	return out;
}

/*
 * clean_pass until nothing changes: what one pass removes can join what
 * is left into something the next pass removes ("ht<b>tp://x" into a URL,
 * "[a<i>](x)" into a link), and the answer is cleaned again when read
 * back from the cache, so the kept text must be a fixed point: cleaning
 * it once more gives the same text (tests/fuzz/fuzz_llm_answer.c). After
 * the first pass the text is valid UTF-8 without control characters and
 * every later pass only removes bytes, so this ends.
 */
static char *clean_text(const char *s, size_t n, size_t nmails, int *removed)
{
	char *t = clean_pass(s, n, nmails, removed);
	while (t) {
		size_t len = strlen(t);
		int more = 0;
		char *u = clean_pass(t, len, nmails, &more);
		if (u && !strcmp(u, t)) {
			free(u);
			break;
		}
		free(t);
		t = u;
		*removed += more;
	}
	return t;
}

void llm_answer_release(struct llm_answer *a)
{
	free(a->about);
	free(a->before);
	free(a->week);
	memset(a, 0, sizeof(*a));
}

/* Has s any letter or digit at all? (An answer of only punctuation is empty.) */
static int has_content(const char *s)
{
	for (; *s; s++)
		if (isalnum((unsigned char)*s) || ((unsigned char)*s & 0x80))
			return 1;
	return 0;
}

int llm_answer_parse(const char *content, size_t nmails, struct llm_answer *a, char *why, size_t whylen)
{
	static const char *const names[3] = { "about", "before", "week" };
	/* Reasoning models (served by Ollama, llama.cpp) may think aloud first. */
	const char *think = strstr(content, "</think>");
	if (think)
		content = think + 8;
	const char *b = strchr(content, '{'), *e = strrchr(content, '}');
	struct kv_err jerr;
	struct json_val *v;
	char **dst[3] = { &a->about, &a->before, &a->week };
	int removed = 0;

	memset(a, 0, sizeof(*a));
	if (!b || !e || e < b) {
		snprintf(why, whylen, "answer is not a JSON object");
		return -1;
	}
	v = json_parse(b, (size_t)(e - b) + 1, &jerr);
	if (!v || v->type != JSON_OBJ) {
		snprintf(why, whylen, "answer is not a JSON object%s%.200s", v ? "" : ": ", v ? "" : jerr.msg);
		json_free(v);
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		const struct json_val *f = json_get(v, names[i]);
		if (!f || f->type != JSON_STR) {
			snprintf(why, whylen, "answer has no string field \"%s\"", names[i]);
			json_free(v);
			llm_answer_release(a);
			return -1;
		}
		*dst[i] = clean_text(f->str, f->len, nmails, &removed);
		if (!*dst[i]) {
			snprintf(why, whylen, "answer field \"%s\" is longer than %d bytes", names[i], LLM_MAX_FIELD);
			json_free(v);
			llm_answer_release(a);
			return LLM_TOO_LONG;
		}
		if (!has_content(*dst[i])) {
			snprintf(why, whylen, "answer field \"%s\" is empty", names[i]);
			json_free(v);
			llm_answer_release(a);
			return -1;
		}
	}
	json_free(v);
	if (removed)
		log_warn("llm: removed %d link(s), tag(s) or bad citation(s) from a model answer", removed);
	return 0;
}

char *llm_answer_json(const struct llm_answer *a)
{
	struct sbuf sb = SBUF_INIT;
	struct json_w w;
	json_w_init(&w, &sb, 0);
	json_obj_begin(&w);
	json_key(&w, "about");
	json_str(&w, a->about);
	json_key(&w, "before");
	json_str(&w, a->before);
	json_key(&w, "week");
	json_str(&w, a->week);
	json_obj_end(&w);
	sbuf_addc(&sb, '\0');
	return sbuf_detach(&sb, NULL);
}
