/*
 * subject.c - take a kernel-list subject apart: reply/forward prefixes,
 * the bracket tag groups at its start ("[RFC PATCH kvmtool v2 3/7]") and the
 * clean title that is left. The reporter groups threads and links series
 * with the result, so the parser is lenient about spelling and spacing and
 * never fails: anything it does not understand stays in the title.
 *
 * Only bracket groups at the start (possibly mixed with Re:/Fwd: prefixes)
 * are tags; a bracket later in the subject belongs to the title.
 */
#include "subject.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Length of the white space character at p: ASCII white space, or a
 * no-break space (U+00A0) that some clients put into subjects; 0 if none. */
static size_t space_len(const char *p, size_t left)
{
	if (left >= 1 && is_space((unsigned char)p[0]))
		return 1;
	if (left >= 2 && (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0)
		return 2;
	return 0;
}

static const char *skip_space(const char *p)
{
	size_t k;
	while ((k = space_len(p, strnlen(p, 2))) > 0)
		p += k;
	return p;
}

/*
 * Reply and forward markers in the languages list mail arrives in: Re (all
 * cases), Fwd/Fw, the German AW/WG, the Scandinavian SV/VS, the Dutch Antw,
 * the French TR, and the Chinese clients' 回复/答复/回覆 and 转发. "Re[2]:" and
 * "Re^2:" counters, a space before the colon ("re :") and the full-width
 * colon "：" are accepted. Returns the text after the colon, or NULL.
 */
static const char *match_prefix(const char *p, int *forward)
{
	static const struct { const char *word; int fwd; } words[] = {
		{ "antw", 0 }, { "fwd", 1 }, { "fw", 1 }, { "re", 0 }, { "aw", 0 },
		{ "sv", 0 }, { "vs", 0 }, { "wg", 1 }, { "tr", 1 },
		{ "\xE5\x9B\x9E\xE5\xA4\x8D", 0 },   /* 回复 */
		{ "\xE7\xAD\x94\xE5\xA4\x8D", 0 },   /* 答复 */
		{ "\xE5\x9B\x9E\xE8\xA6\x86", 0 },   /* 回覆 */
		{ "\xE8\xBD\xAC\xE5\x8F\x91", 1 },   /* 转发 */
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].word);
		const char *q;
		if (strncasecmp(p, words[i].word, n) != 0)
			continue;
		q = p + n;
		if (*q == '[') {            /* Re[2]: */
			const char *r = q + 1;
			while (isdigit((unsigned char)*r))
				r++;
			if (r == q + 1 || *r != ']')
				continue;
			q = r + 1;
		} else if (*q == '^') {     /* Re^2: */
			const char *r = q + 1;
			while (isdigit((unsigned char)*r))
				r++;
			if (r == q + 1)
				continue;
			q = r;
		}
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == ':') {
			*forward = words[i].fwd;
			return q + 1;
		}
		if (strncmp(q, "\xEF\xBC\x9A", 3) == 0) {   /* full-width colon */
			*forward = words[i].fwd;
			return q + 3;
		}
	}
	return NULL;
}

/* Append s[0..n) to the fixed buffer dst (size cap), never splitting a
 * UTF-8 sequence when the buffer runs out. */
static void buf_append(char *dst, size_t cap, const char *s, size_t n)
{
	size_t len = strlen(dst);
	if (len + 1 >= cap)
		return;
	if (n > cap - 1 - len) {
		n = cap - 1 - len;
		/* back off to a character boundary */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst + len, s, n);
	dst[len + n] = '\0';
}

/* Copy s[0..n) into dst with white space runs collapsed to one space and
 * both ends trimmed. */
static void copy_collapsed(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	int pending = 0;
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t k = space_len(s + i, n - i);
		if (k) {
			pending = o > 0;
			i += k - 1;
			continue;
		}
		if (pending) {
			if (o + 1 >= cap)
				break;
			dst[o++] = ' ';
			pending = 0;
		}
		if (o + 1 >= cap)
			break;
		dst[o++] = (char)c;
	}
	/* never end in the middle of a UTF-8 sequence after truncation */
	if (o > 0 && ((unsigned char)dst[o - 1] & 0x80)) {
		size_t start = o - 1;
		while (start > 0 && ((unsigned char)dst[start] & 0xC0) == 0x80)
			start--;
		unsigned char lead = (unsigned char)dst[start];
		size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (o - start < want)
			o = start;
	}
	dst[o] = '\0';
}

/* "12", all digits; value into *v (capped to stay in an int). */
static int parse_uint(const char *s, size_t n, int *v)
{
	long x = 0;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		if (x < 100000000)
			x = x * 10 + (s[i] - '0');
	}
	*v = (int)x;
	return 1;
}

/* "v2", "V3", "v2.1" (minor revisions count as their major), "v10". */
static int parse_version(const char *s, size_t n, int *v)
{
	size_t i = 1;
	if (n < 2 || (s[0] != 'v' && s[0] != 'V'))
		return 0;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (i == 1)
		return 0;
	if (i < n) {
		/* only ".digits" may follow */
		if (s[i] != '.' || i + 1 >= n)
			return 0;
		for (size_t j = i + 1; j < n; j++)
			if (!isdigit((unsigned char)s[j]))
				return 0;
	}
	return parse_uint(s + 1, i - 1, v);
}

/* "3/7", "012/345". */
static int parse_index(const char *s, size_t n, int *idx, int *tot)
{
	const char *slash = memchr(s, '/', n);
	if (!slash)
		return 0;
	size_t a = (size_t)(slash - s);
	return parse_uint(s, a, idx) && parse_uint(slash + 1, n - a - 1, tot);
}

/* A stable-tree name: "6.1.y", "5.10", "4.19.y", "5.15.12", "6.1-stable". */
static int is_stable_version(const char *s, size_t n)
{
	size_t i = 0, dots = 0;
	if (n >= 7 && strncasecmp(s + n - 7, "-stable", 7) == 0)
		n -= 7;
	if (n == 0 || !isdigit((unsigned char)s[0]))
		return 0;
	while (i < n) {
		if (isdigit((unsigned char)s[i])) {
			i++;
		} else if (s[i] == '.' && i + 1 < n) {
			dots++;
			i++;
			if (s[i] == 'y' || s[i] == 'Y')
				return i + 1 == n;
			if (!isdigit((unsigned char)s[i]))
				return 0;
		} else {
			return 0;
		}
	}
	return dots > 0;
}

static int word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* Tag words that describe the mail, not the tree it is for; they never
 * become the project (category.c reads them from si->tags). */
static int is_marker_word(const char *s, size_t n)
{
	static const char *const words[] = {
		"question", "bug", "regression", "discussion", "discuss", "announce",
		"ann", "wip", "draft", "fyi", "repost", "report", "for", "do", "not",
		"merge", "dnm", "incomplete", "untested", "stable", "and",
		"testing", "fix", "fixup", "followup", "follow-up", "update", "updated",
		"rebased", "partial", "resent", "help",
		"issue", "problem", "proposal", "idea", "topic", "tech", "lsf/mm/bpf",
		"lsf/mm", "ping", "summary", "all",
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (word_is(s, n, words[i]))
			return 1;
	/* syzbot's subsystem guesses: "[kvmarm?]", "[arm?]" */
	return n > 1 && s[n - 1] == '?';
}

static void set_project(struct subject_info *si, const char *s, size_t n)
{
	/* "[PATCH -next]" names linux-next */
	while (n > 0 && *s == '-')
		s++, n--;
	/* "[PATCH for-6.2]" is for the 6.2 tree, "stable-5.4" and "5.4-stable"
	 * for 5.4 */
	if (n > 4 && strncasecmp(s, "for-", 4) == 0)
		s += 4, n -= 4;
	if (n > 7 && strncasecmp(s, "stable-", 7) == 0 && isdigit((unsigned char)s[7]))
		s += 7, n -= 7;
	if (n > 7 && strncasecmp(s + n - 7, "-stable", 7) == 0 && isdigit((unsigned char)s[0]))
		n -= 7;
	if (si->project[0] || n == 0)
		return;
	if (n >= sizeof(si->project)) {
		/* cut at a character boundary: a half character is invalid UTF-8 */
		n = sizeof(si->project) - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(si->project, s, n);
	si->project[n] = '\0';
}

static void classify_word(struct subject_info *si, const char *s, size_t n, int *saw_git);

/*
 * One word of a tag group. Words glued together the way people type them
 * are taken apart: "PATCHv2", "PATCH-v2", "PATCH-for-4.19", "RFC-PATCH",
 * "PATCH/RFC".
 */
static void classify_word(struct subject_info *si, const char *s, size_t n, int *saw_git)
{
	int a, b;

	while (n > 0 && (s[n - 1] == ',' || s[n - 1] == ';' || s[n - 1] == ':'))
		n--;
	while (n > 0 && (s[0] == ',' || s[0] == ';'))
		s++, n--;
	if (n == 0)
		return;

	if (word_is(s, n, "patch") || word_is(s, n, "patches") || word_is(s, n, "patchset")) {
		si->patch = 1;
	} else if (word_is(s, n, "rfc")) {
		si->rfc = 1;
	} else if (word_is(s, n, "resend")) {
		si->resend = 1;
	} else if (word_is(s, n, "git")) {
		*saw_git = 1;
	} else if (word_is(s, n, "pull") || word_is(s, n, "git-pull") ||
		   word_is(s, n, "pull-request")) {
		si->pull = 1;
	} else if (word_is(s, n, "syzbot")) {
		si->syzbot = 1;
	} else if (parse_version(s, n, &a)) {
		si->version = a;
	} else if (parse_index(s, n, &a, &b)) {
		si->index = a;
		si->total = b;
	} else if (n > 5 && strncasecmp(s, "patch", 5) == 0) {
		/* PATCHv2, PATCH-v2, PATCH-for-4.19, PATCH/RFC, PATCH_v3 */
		const char *r = s + 5;
		size_t m = n - 5;
		si->patch = 1;
		if (*r == '-' || *r == '/' || *r == '_') {
			r++, m--;
		}
		if (m > 4 && strncasecmp(r, "for-", 4) == 0) {
			set_project(si, r, m);
			return;
		}
		classify_word(si, r, m, saw_git);
	} else if (n > 3 && strncasecmp(s, "rfc", 3) == 0 &&
		   (s[3] == '-' || s[3] == '/' || s[3] == '_' || s[3] == 'v' || s[3] == 'V')) {
		/* RFCv2, RFC-PATCH, RFC/PATCH */
		const char *r = s + 3;
		size_t m = n - 3;
		si->rfc = 1;
		if (*r != 'v' && *r != 'V')
			r++, m--;
		classify_word(si, r, m, saw_git);
	} else if (is_marker_word(s, n)) {
		/* kept in si->tags only */
	} else if (is_stable_version(s, n)) {
		set_project(si, s, n);
	} else if (isdigit((unsigned char)s[0]) && parse_uint(s, n, &a)) {
		/* a bare number in a tag ("[PATCH 3]") says nothing reliable */
	} else {
		/* kvmtool, kvm-unit-tests, net-next, linux-next:master, ... */
		set_project(si, s, n);
	}
}

/* Parse the inside of one bracket group. */
static void parse_group(struct subject_info *si, const char *s, size_t n)
{
	int saw_git = 0;
	size_t i = 0;

	while (i < n) {
		while (i < n && (is_space((unsigned char)s[i]) || s[i] == ','))
			i++;
		size_t start = i;
		int brace = 0;
		/* "stable-4.{4, 9, 14}" is one word despite its commas and spaces */
		while (i < n && (brace || (!is_space((unsigned char)s[i]) && s[i] != ','))) {
			if (s[i] == '{')
				brace++;
			else if (s[i] == '}' && brace > 0)
				brace--;
			i++;
		}
		if (i == start)
			break;
		classify_word(si, s + start, i - start, &saw_git);
	}
	/* "[GIT]" alone is no pull request; "PULL" sets the flag by itself */
	(void)saw_git;
}

void subject_parse(const char *subject, struct subject_info *si)
{
	const char *p;

	memset(si, 0, sizeof(*si));
	si->version = 1;
	si->index = -1;
	si->total = -1;
	if (!subject)
		return;

	p = subject;
	for (;;) {
		const char *q;
		int fwd = 0;

		p = skip_space(p);
		if ((q = match_prefix(p, &fwd)) != NULL) {
			si->reply = 1;
			if (fwd)
				si->forward = 1;
			p = q;
			continue;
		}
		/* b4 answers "Re: (subset) [PATCH v6 0/5] ..." when it applied
		 * only part of a series */
		if (strncasecmp(p, "(subset)", 8) == 0) {
			p += 8;
			continue;
		}
		if (*p == '[') {
			const char *end = strchr(p + 1, ']');
			const char *nested = strchr(p + 1, '[');
			if (!end || (nested && nested < end))
				break;
			/* "[]" or "[ ]" is noise; drop it all the same */
			size_t n = (size_t)(end - p - 1);
			parse_group(si, p + 1, n);
			{
				char tmp[256];
				copy_collapsed(tmp, sizeof(tmp), p + 1, n);
				if (tmp[0]) {
					if (si->tags[0])
						buf_append(si->tags, sizeof(si->tags), " ", 1);
					buf_append(si->tags, sizeof(si->tags), tmp, strlen(tmp));
				}
			}
			p = end + 1;
			continue;
		}
		break;
	}
	copy_collapsed(si->title, sizeof(si->title), p, strlen(p));
}

void subject_norm_title(const char *title, char *out, size_t n)
{
	size_t o = 0;
	int pending = 0;

	if (n == 0)
		return;
	for (const char *p = title ? title : ""; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (is_space(c)) {
			pending = o > 0;
			continue;
		}
		if (pending) {
			if (o + 1 >= n)
				break;
			out[o++] = ' ';
			pending = 0;
		}
		if (o + 1 >= n)
			break;
		out[o++] = (char)(c < 0x80 ? tolower(c) : c);
	}
	/* trailing punctuation and the space before it */
	while (o > 0 && (strchr(".,;:!?", out[o - 1]) || out[o - 1] == ' '))
		o--;
	/* drop a cut UTF-8 sequence at the end */
	if (o > 0 && ((unsigned char)out[o - 1] & 0x80)) {
		size_t start = o - 1;
		while (start > 0 && ((unsigned char)out[start] & 0xC0) == 0x80)
			start--;
		unsigned char lead = (unsigned char)out[start];
		size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (o - start < want)
			o = start;
	}
	out[o] = '\0';
}
