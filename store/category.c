/*
 * category.c - the kind of a thread (PATCH, RFC, Bug Report, GIT PULL,
 * Question, Other), decided from its root message (or its earliest one when
 * the root was never seen). The digest groups threads by it.
 *
 * The rules, first match wins:
 *
 *  1. GIT PULL   a "PULL" tag ("[GIT PULL]", "[GIT PULL v2]", "[PULL]"), or a
 *                title that starts with "GIT PULL" without brackets.
 *  2. RFC        an RFC tag, also together with PATCH ("[RFC PATCH v2 1/3]",
 *                "[PATCH RFC]"): it asks for comments, not for merging.
 *  3. PATCH      a PATCH tag for any tree: "[PATCH]", "[kvm-unit-tests PATCH]",
 *                "[PATCH kvmtool]", "[PATCH 6.1.y]", "[PATCHv2]"; also a tag
 *                group with only a version or N/M ("[v2 1/3]"), and an
 *                untagged root whose body carries a diff and a Signed-off-by.
 *  3b. Other    the stable team's notices about a patch ("Patch \"...\" has
 *                been added to the 5.10-stable tree", "FAILED: patch ...
 *                failed to apply"): bookkeeping, not a review thread, and
 *                their titles quote words like "panic" from the patch.
 *  3c. Other    announcements and list administration: an ANNOUNCE tag or
 *                title, or a title about the mailing list moving / migrating
 *                (they often end in a question, but nobody is asking one).
 *  4. Bug Report (strong signals) a syzbot tag or a sender at syzbot /
 *                syzkaller; a title starting with a kernel splat header
 *                ("BUG:", "WARNING:", "KASAN:", "UBSAN:", "KCSAN:",
 *                "general protection fault", "Oops", "INFO: task ... blocked",
 *                "kernel BUG", "Unable to handle kernel"); a kernel test robot
 *                build report that says REGRESSION / error / warning (not
 *                "BUILD SUCCESS", which is Other); a compiler diagnostic
 *                in the title ("x.c:40:10: fatal error: ..."); a
 *                BUG/REGRESSION tag.
 *  5. Question   a QUESTION tag, or a title starting with "question",
 *                "Q:", "how to", "how do", "how can".
 *  6. Bug Report (weak signals) a report word in the title as a whole word:
 *                bug, crash, crashes, regression, panic, oops, warning,
 *                splat, hang, deadlock, lockup, "fails"/"failure"/"broken";
 *                or a splat in the body ("Call trace:", "[ cut here ]",
 *                "Internal error:", "Unable to handle kernel").
 *  7. Question   a title ending in "?" or starting with why / what / is /
 *                does / can / should / any / where / when / which; or body
 *                prose (first 2 KB, quoted lines skipped) asking: a line ending
 *                in "?", a "?" ending a sentence inside prose (not in log
 *                lines), or "does anyone", "any idea", "has anyone seen",
 *                "is it possible", ...
 *  8. Bug Report a problem told in the opening prose without asking:
 *                "I see the following warning", "the guest hangs when".
 *  9. Other      announcements, CI results, everything else.
 *
 * Bug before Question in 4 and 6 because "why does the guest crash?" is a
 * report first; the explicit question markers in 5 win over weak bug words
 * because a poster who writes "[QUESTION]" means it.
 */
#include "category.h"
#include "subject.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include "banned.h"

static const char *const cat_names[CAT_COUNT] = {
	[CAT_PATCH] = "PATCH",
	[CAT_RFC] = "RFC",
	[CAT_BUG] = "Bug Report",
	[CAT_PULL] = "GIT PULL",
	[CAT_QUESTION] = "Question",
	[CAT_OTHER] = "Other",
};

const char *category_name(enum category c)
{
	if ((int)c < 0 || c >= CAT_COUNT)
		return "Other";
	return cat_names[c];
}

int category_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < CAT_COUNT; i++)
		if (strcasecmp(name, cat_names[i]) == 0)
			return i;
	/* spellings used on command lines and in file names */
	if (!strcasecmp(name, "bug") || !strcasecmp(name, "bug-report") ||
	    !strcasecmp(name, "bug_report") || !strcasecmp(name, "bugreport"))
		return CAT_BUG;
	if (!strcasecmp(name, "pull") || !strcasecmp(name, "git-pull") ||
	    !strcasecmp(name, "git_pull"))
		return CAT_PULL;
	return -1;
}

static int starts_with_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Is word w somewhere in s as a whole word (ASCII letters/digits as word
 * characters), case-insensitively? */
static int has_word(const char *s, size_t len, const char *w)
{
	size_t n = strlen(w);
	if (n == 0 || len < n)
		return 0;
	for (size_t i = 0; i + n <= len; i++) {
		if (strncasecmp(s + i, w, n) != 0)
			continue;
		if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))
			continue;
		if (i + n < len && (isalnum((unsigned char)s[i + n]) || s[i + n] == '_'))
			continue;
		return 1;
	}
	return 0;
}

static int has_sub_ci(const char *s, size_t len, const char *w)
{
	size_t n = strlen(w);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, w, n) == 0)
			return 1;
	return 0;
}

static int tag_has(const struct subject_info *si, const char *w)
{
	return has_word(si->tags, strlen(si->tags), w);
}

static int title_is_splat(const char *t)
{
	static const char *const heads[] = {
		"BUG:", "WARNING:", "KASAN:", "UBSAN:", "KCSAN:", "KMSAN:",
		"general protection fault", "Oops", "INFO: task", "INFO: rcu",
		"kernel BUG", "Unable to handle kernel", "possible deadlock",
		"inconsistent lock state", "INFO: trying to register non-static key",
		"memory leak in", "panic:", "Kernel panic",
	};
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		if (starts_with_ci(t, heads[i]))
			return 1;
	return 0;
}

/* "arch/arm64/kvm/hyp/nvhe/gen-hyprel.c:40:10: fatal error: ..." */
static int title_is_diagnostic(const char *t)
{
	size_t n = strlen(t);
	return has_sub_ci(t, n, ": fatal error:") || has_sub_ci(t, n, ": error:") ||
	       has_sub_ci(t, n, ": warning:") || has_sub_ci(t, n, ": undefined reference to");
}

static int from_is_syzbot(const char *from)
{
	return from && (has_sub_ci(from, strlen(from), "syzbot") ||
			has_sub_ci(from, strlen(from), "syzkaller"));
}

/* The kernel test robot (lkp@intel.com) mails build results for trees, e.g.
 * "[linux-next:master] BUILD REGRESSION 1234abcd" or
 * "[kvmarm:next 3/9] arch/arm64/kvm/x.c:12:5: warning: unused variable". */
static int is_robot_failure(const struct subject_info *si, const char *from)
{
	const char *t = si->title;
	size_t n = strlen(t);
	int robot = (from && (has_sub_ci(from, strlen(from), "lkp@intel.com") ||
			      has_sub_ci(from, strlen(from), "kernel test robot"))) ||
		    (si->project[0] && strchr(si->project, ':') &&
		     starts_with_ci(t, "BUILD "));
	if (!robot)
		return 0;
	if (starts_with_ci(t, "BUILD SUCCESS"))
		return 0;
	return has_word(t, n, "regression") || has_word(t, n, "error") ||
	       has_word(t, n, "warning") || has_word(t, n, "failure") ||
	       has_word(t, n, "undefined");
}

static int title_has_bug_word(const char *t)
{
	static const char *const words[] = {
		"bug", "bugs", "crash", "crashes", "crashed", "crashing", "regression",
		"regressions", "panic", "panics", "oops", "warning", "warnings",
		"splat", "hang", "hangs", "hung", "deadlock", "lockup", "fails",
		"failure", "failures", "broken", "segfault", "kasan", "ubsan",
		"use-after-free", "null pointer", "lockdep",
	};
	size_t n = strlen(t);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (has_word(t, n, words[i]))
			return 1;
	return 0;
}

/* Kernel splat markers in the body text. */
static int body_has_splat(const char *text, size_t len)
{
	static const char *const marks[] = {
		"Call trace:", "Call Trace:", "[ cut here ]", "Internal error:",
		"Unable to handle kernel", "Kernel panic", "kernel BUG at",
		"BUG: KASAN", "BUG: unable to handle",
	};
	if (!text)
		return 0;
	/* a report puts its splat near the top; do not walk a 50 MB body */
	if (len > 256 * 1024)
		len = 256 * 1024;
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (memmem(text, len, marks[i], strlen(marks[i])))
			return 1;
	return 0;
}

/* s starts a line in text[0..len) */
static int has_line_start(const char *text, size_t len, const char *s)
{
	size_t n = strlen(s);
	if (len >= n && memcmp(text, s, n) == 0)
		return 1;
	for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text))) != NULL; p++) {
		size_t left = len - (size_t)(p + 1 - text);
		if (left < n)
			return 0;
		if (memcmp(p + 1, s, n) == 0)
			return 1;
	}
	return 0;
}

static int body_has_patch(const char *text, size_t len)
{
	if (!text)
		return 0;
	return has_line_start(text, len, "Signed-off-by:") &&
	       has_line_start(text, len, "diff --git ");
}

/* Only the opening of a body is searched for prose phrases. */
#define PROSE_MAX 2048

/* The first PROSE_MAX bytes of text in ASCII lower case (the phrases
 * below are lower case), so each phrase is one memmem, not a
 * case-insensitive compare at every offset. Returns the length. */
static size_t lower_prefix(const char *text, size_t len, char out[PROSE_MAX])
{
	if (!text)
		return 0;
	if (len > PROSE_MAX)
		len = PROSE_MAX;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	return len;
}

/* Does the opening prose (quoted lines and everything after a signature or
 * a diff skipped) ask something? */
static int body_asks(const char *text, size_t len, const char *low)
{
	static const char *const phrases[] = {
		"does anyone", "does anybody", "any idea", "any ideas", "is it possible",
		"how can i", "how do i", "how should i", "could someone", "can someone",
		"could anyone", "can anyone", "i have a question", "my question is",
		"i wonder", "i'm wondering", "i am wondering", "am i missing",
		"is there a way", "is this expected", "what is the right way",
		"would appreciate any", "please advise", "has anyone seen",
		"has anybody seen", "any pointer", "any hint", "any suggestion",
		"would be appreciated", "what am i doing wrong",
	};
	size_t limit = len < PROSE_MAX ? len : PROSE_MAX;
	size_t i = 0;
	char prose[PROSE_MAX]; /* low with quoted lines blanked out */

	if (!text)
		return 0;
	while (i < limit) {
		size_t e = i;
		while (e < limit && text[e] != '\n')
			e++;
		const char *l = text + i;
		size_t n = e - i;
		if (n >= 3 && (memcmp(l, "-- ", 3) == 0 || memcmp(l, "---", 3) == 0))
			break;
		if (n >= 5 && memcmp(l, "diff ", 5) == 0)
			break;
		if (n > 0 && l[0] != '>') {
			size_t m = n;
			memcpy(prose + i, low + i, n);
			while (m > 0 && (l[m - 1] == ' ' || l[m - 1] == '\r' || l[m - 1] == '\t'))
				m--;
			if (m > 0 && l[m - 1] == '?')
				return 1;
			/* "... seen this before? Any pointer ..." inside prose;
			 * kernel log lines ("[  12.3] ...") are not prose */
			if (l[0] != '[' && l[0] != ' ' && l[0] != '\t')
				for (size_t k = 0; k + 1 < m; k++)
					if (l[k] == '?' && l[k + 1] == ' ' && k > 0 && isalnum((unsigned char)l[k - 1]))
						return 1;
		} else {
			memset(prose + i, '\n', n);
		}
		if (e < limit)
			prose[e] = '\n';
		i = e + 1;
	}
	/* phrases hold no newline, so none matches across lines; one search
	 * per phrase over the whole prose */
	if (i > limit)
		i = limit;
	for (size_t k = 0; k < sizeof(phrases) / sizeof(phrases[0]); k++)
		if (memmem(prose, i, phrases[k], strlen(phrases[k])))
			return 1;
	return 0;
}

/* A problem described in the opening prose without a splat: "I see the
 * following warning", "the guest crashes when ...". */
static int body_reports(const char *low, size_t len)
{
	static const char *const phrases[] = {
		"the following warning", "the following error", "the following crash",
		"the following splat", "the following oops", "the following panic",
		"the following bug", "the following lockdep", "the following kasan",
		"crashes when", "crashes on", "hangs when", "hangs on", "hangs early",
		"panics when", "panics on", "fails to boot", "regressed",
		"this regression", "a regression",
	};
	for (size_t k = 0; k < sizeof(phrases) / sizeof(phrases[0]); k++)
		if (memmem(low, len, phrases[k], strlen(phrases[k])))
			return 1;
	return 0;
}

static int title_is_question(const char *t)
{
	static const char *const starts[] = {
		"why ", "what ", "is ", "are ", "does ", "do ", "can ", "could ",
		"should ", "any ", "where ", "when ", "which ", "who ",
	};
	size_t n = strlen(t);
	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == ')'))
		n--;
	if (n > 0 && t[n - 1] == '?')
		return 1;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if (starts_with_ci(t, starts[i]))
			return 1;
	return 0;
}

enum category category_classify(const struct subject_info *si, const char *from_addr,
				 const char *text, size_t text_len)
{
	const char *t = si->title;

	if (!text)
		text_len = 0;

	/* 1. pull requests */
	if (si->pull || starts_with_ci(t, "GIT PULL"))
		return CAT_PULL;
	/* 2. requests for comments */
	if (si->rfc)
		return CAT_RFC;
	/* 3. patches, whatever tree they are for */
	if (si->patch)
		return CAT_PATCH;
	if (si->tags[0] && !si->syzbot && (si->index >= 0 || si->version > 1) &&
	    !strchr(si->project, ':'))
		return CAT_PATCH;
	if (!si->tags[0] && body_has_patch(text, text_len))
		return CAT_PATCH;
	/* 3b. stable-tree bookkeeping */
	if ((starts_with_ci(t, "Patch \"") && has_sub_ci(t, strlen(t), "has been added to the")) ||
	    (starts_with_ci(t, "FAILED: patch") && has_sub_ci(t, strlen(t), "failed to apply")))
		return CAT_OTHER;
	/* 3c. announcements and list administration */
	if (tag_has(si, "announce") || tag_has(si, "announcement") || starts_with_ci(t, "ANNOUNCE") ||
	    (has_sub_ci(t, strlen(t), "mailing list") &&
	     (has_sub_ci(t, strlen(t), "migrat") || has_sub_ci(t, strlen(t), "moving") ||
	      has_sub_ci(t, strlen(t), "move"))))
		return CAT_OTHER;
	/* 4. strong bug signals */
	if (si->syzbot || from_is_syzbot(from_addr) || title_is_splat(t) ||
	    is_robot_failure(si, from_addr) || title_is_diagnostic(t) || tag_has(si, "bug") ||
	    tag_has(si, "regression") || tag_has(si, "report"))
		return CAT_BUG;
	/* 5. explicit questions */
	if (tag_has(si, "question") || starts_with_ci(t, "question") ||
	    starts_with_ci(t, "Q:") || starts_with_ci(t, "how to ") ||
	    starts_with_ci(t, "how do ") || starts_with_ci(t, "how can ") ||
	    starts_with_ci(t, "how does ") || tag_has(si, "help"))
		return CAT_QUESTION;
	/* 6. weak bug signals; robot "BUILD SUCCESS" reports stay Other */
	if (!starts_with_ci(t, "BUILD SUCCESS") &&
	    (title_has_bug_word(t) || body_has_splat(text, text_len)))
		return CAT_BUG;
	/* 7. questions asked less explicitly */
	char low[PROSE_MAX];
	size_t low_len = lower_prefix(text, text_len, low);
	if (title_is_question(t) || body_asks(text, text_len, low))
		return CAT_QUESTION;
	/* 8. a problem told in prose, asking nothing */
	if (body_reports(low, low_len))
		return CAT_BUG;
	return CAT_OTHER;
}
