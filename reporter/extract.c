/*
 * extract.c - the sentences that carry a mail's point (see extract.h).
 *
 * What is read: only the sender's own new prose (body.h PROSE segments).
 * Quotes, diffs, diffstats, trailers, signatures are never candidates.
 * Within the prose these are dropped before scoring: a greeting line
 * ("Hi Marc,"), a quote attribution ("On ... wrote:"), link-only lines,
 * code or log lines (';', '{', '}', '=' or mostly non-letters), a sign-off
 * ("Thanks,", "Cheers," then a name) and a sentence that only thanks
 * ("Thanks for the review.").
 *
 * How a sentence is scored (each rule counts once per sentence; words are
 * matched at word starts, without case):
 *   D  decision, +6: applied, queued, picked up, NAK, merged, pushed,
 *      dropped, reverted, "will take", "won't take".
 *   O  objection, +4: "don't think", "not convinced", wrong, broken,
 *      breaks, incorrect, "not the right", concern, problem, bogus,
 *      "not needed", unnecessary, racy, "doesn't work", excessive,
 *      overkill, "not keen", "don't like".
 *   R  request for change, +4: please, should, must, "need to", "can
 *      you", "could you", instead, split, rework, respin, rebase, rename,
 *      "move", drop, document, prefer, suggest, "would be better",
 *      replace, avoid, "how about", "why not", "let's".
 *   A  agreement, +4: "looks good", LGTM, "makes sense", agree(d), "fair
 *      enough", "good catch", "sounds good", "happy with", "fine with".
 *   T  test result, +3: tested, boots, works, passes, fails, failed,
 *      regression, reproduce(d), crash, splat, panic, benchmark, faster,
 *      slower, overhead, "fixes the issue", "gave it a spin".
 *   N  negation, +1 (only when neither O nor A matched): not, n't, never.
 *   Q  question, +2: the sentence ends in '?'.
 *   P  position, +3: the first sentence after a quote (it answers the
 *      quoted context); +1: the mail's first sentence otherwise.
 *   L  length: under three words -2 unless D matched ("Applied."); over
 *      fifty words -2 (a long sentence is a poor one-line summary).
 *   S  speaker (added by extract_select): maintainer +3, reviewer +2,
 *      author +1, anyone else 0.
 *   E  decision of the mail (added by extract_select), +3 to every
 *      sentence of a mail in which status.c found a decision (applied,
 *      queued, NAK, changes requested): the thread's status comes with
 *      the words that made it.
 * A sentence scoring below EXTRACT_MIN_SCORE is never kept.
 *
 * The budget of one thread (extract.h): at most EXTRACT_MAX_REPLIES
 * replies, EXTRACT_MAX_BYTES of sentences in all, EXTRACT_MAX_PER_MAIL
 * sentences per reply (a second one only when it scores 4 or more on its
 * own), each cut to EXTRACT_SENT_MAX bytes. Replies are taken best first
 * (their best sentence's score; ties: the earlier mail) and shown in mail
 * order. A digest week on the real list has threads of 40 replies: six
 * short points are what a reader takes in, the rest are counted.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "extract.h"
#include "extract_private.h"
#include "text.h"
#include "banned.h"

/* ---- words ---- */

/* A word list entry: "word" matches the whole word, "word*" any word
 * starting with it; spaces inside match the text's spaces. */
static int word_at(const char *s, size_t len, size_t i, const char *w)
{
	if (tolower((unsigned char)s[i]) != w[0])
		return 0;   /* lists are lowercase: most words end here, cheaply */
	size_t n = strlen(w);
	int prefix = n && w[n - 1] == '*';
	if (prefix)
		n--;
	if (i + n > len)
		return 0;
	for (size_t k = 1; k < n; k++)   /* w is lowercase; a libc call costs more than these few bytes */
		if (tolower((unsigned char)s[i + k]) != w[k])
			return 0;
	if (prefix)
		return 1;
	return i + n == len || !isalnum((unsigned char)s[i + n]);
}

int ex_has_word(const char *s, size_t len, const char *const *words)
{
	for (size_t i = 0; i < len; i++) {
		if (!isalpha((unsigned char)s[i]) || (i && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '\'')))
			continue;
		char c = (char)tolower((unsigned char)s[i]);
		for (const char *const *w = words; *w; w++)
			if ((*w)[0] == c && word_at(s, len, i, *w))
				return 1;
	}
	return 0;
}

static const char *const w_decision[] = {
	"applied", "queued", "picked up", "nak", "nack", "nacked", "merged", "pushed", "dropped",
	"reverted", "will take", "won't take", "will not take", "taking this", "not taking", NULL
};
static const char *const w_objection[] = {
	"don't think", "do not think", "not convinced", "wrong", "broken", "breaks", "incorrect",
	"not the right", "concern*", "problem*", "bogus", "not needed", "unnecessary", "racy",
	"doesn't work", "does not work", "not correct", "isn't correct", "object", "pointless",
	"not a good idea", "not great", "doesn't look right", "not sure", "excessive", "overkill",
	"not keen", "not happy", "don't like", "do not like", "not a fan", "too complicated", NULL
};
static const char *const w_request[] = {
	"please", "should", "must", "need to", "needs to", "can you", "could you", "would you",
	"instead", "split", "rework*", "respin", "rebase", "rename", "move", "drop", "document",
	"prefer", "suggest*", "i'd rather", "i would rather", "consider", "would be better", "better to",
	"replace", "avoid", "how about", "why not", "let's", NULL
};
static const char *const w_agree[] = {
	"looks good", "look good", "looks fine", "lgtm", "makes sense", "agree", "agreed", "fair enough",
	"good catch", "sounds good", "happy with", "fine with", "looks correct", "looks right", NULL
};
static const char *const w_test[] = {
	"tested", "boots", "works", "passes", "fails", "failed", "regression*", "reproduce*", "crash*",
	"splat", "panic*", "benchmark*", "faster", "slower", "overhead", "fixes the issue", "fixes it",
	"fixes the problem", "solves", "gave it a spin", "gave that a spin", NULL
};
static const char *const w_negation[] = { "not", "never", "no", NULL };
static const char *const w_thanks[] = { "thanks", "thank you", "many thanks", "thx", NULL };
const char *const ex_w_greeting[] = { "hi", "hello", "hey", "dear", NULL };
static const char *const w_signoff[] = {
	"thanks", "thank you", "many thanks", "cheers", "regards", "best regards", "kind regards",
	"best", "br", "ta", "thx", NULL
};

size_t ex_count_words(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]) && (i == 0 || isspace((unsigned char)s[i - 1])))
			n++;
	return n;
}

int ex_starts_with_word(const char *s, size_t len, const char *const *words)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	for (const char *const *w = words; *w; w++)
		if (word_at(s, len, 0, *w))
			return 1;
	return 0;
}

/* ---- lines and units ---- */

/* A line of code, a log or a table: none of it reads as a sentence. */
int ex_is_code_line(const char *s, size_t len)
{
	size_t letters = 0, nonblank = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ';' && i + 1 < len && (s[i + 1] == ')' || (s[i + 1] == '-' && i + 2 < len && s[i + 2] == ')')))
			continue;   /* ";-)" is a smile, not code */
		if (c == ';' || c == '{' || c == '}' || (c == '=' && i + 1 < len && s[i + 1] == ' '))
			return 1;
		if (!isspace(c))
			nonblank++;
		if (isalpha(c) || c >= 0x80)
			letters++;
	}
	return nonblank && letters * 100 < nonblank * 60;
}

/* Whitespace runs inside (alignment): a table row. */
static int is_table_line(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	for (; i + 2 < len; i++)
		if (s[i] != ' ' && s[i + 1] == ' ' && s[i + 2] == ' ' && i + 3 < len && s[i + 3] != ' ')
			return 1;
	return memchr(s, '|', len) != NULL;
}

int ex_is_url_line(const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	if (len && *s == '[') {
		const char *e = memchr(s, ']', len);
		if (e) {
			len -= (size_t)(e + 1 - s);
			s = e + 1;
			while (len && isspace((unsigned char)*s))
				s++, len--;
		}
	}
	if (!(len > 8 && (!strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8))))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

int ex_is_list_item(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i + 1 < len && (s[i] == '-' || s[i] == '*' || s[i] == '+') && s[i + 1] == ' ')
		return 1;
	size_t d = i;
	while (d < len && isdigit((unsigned char)s[d]))
		d++;
	return d > i && d + 1 < len && (s[d] == '.' || s[d] == ')') && s[d + 1] == ' ';
}

size_t ex_skip_item_mark(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (!ex_is_list_item(s, len))
		return i;
	while (i < len && s[i] != ' ')
		i++;
	while (i < len && s[i] == ' ')
		i++;
	return i;
}

/* An acceptance's list of what was taken: "[1/3] KVM: arm64: ..." and
 * "      commit: 0123abcd": subjects and ids, not what the sender says. */
static int is_patch_list_line(const char *s, size_t len)
{
	if (len > 7 && !strncasecmp(s, "commit:", 7))
		return 1;
	if (len < 5 || s[0] != '[')
		return 0;
	size_t i = 1;
	while (i < len && isdigit((unsigned char)s[i]))
		i++;
	return i > 1 && i < len && s[i] == '/';
}


static struct unit *unit_new(struct units *u)
{
	if (u->n == u->cap)
		u->v = kv_xrealloc(u->v, (u->cap = u->cap ? u->cap * 2 : 16) * sizeof(*u->v));
	struct unit *x = &u->v[u->n++];
	memset(x, 0, sizeof(*x));
	sbuf_init(&x->text);
	return x;
}

void ex_units_release(struct units *u)
{
	for (size_t i = 0; i < u->n; i++)
		sbuf_release(&u->v[i].text);
	free(u->v);
	memset(u, 0, sizeof(*u));
}

/* A paragraph that closes a mail with a sign-off word alone ("Thanks,",
 * "Cheers,") and then at most a few short lines (a name). */
static int is_signoff(const char *s, size_t len)
{
	const char *nl = memchr(s, '\n', len);
	size_t l1 = nl ? (size_t)(nl - s) : len;
	while (l1 && (s[l1 - 1] == ',' || s[l1 - 1] == '.' || s[l1 - 1] == '!' || isspace((unsigned char)s[l1 - 1])))
		l1--;
	if (ex_count_words(s, l1) > 3 || !ex_starts_with_word(s, l1, w_signoff))
		return 0;
	return len < 80;
}

/*
 * The prose units of the segments of kinds: paragraphs split at list
 * items, code / link / attribution lines dropped, table lines kept alone
 * when want_tables. The greeting of the first paragraph and a closing
 * sign-off are dropped.
 */
void ex_collect_units(const char *text, const struct body_info *bi, unsigned kinds, int want_tables,
			  struct units *u)
{
	int prev_quote = 0, first = 1;
	for (size_t si = 0; si < bi->nsegs; si++) {
		const struct seg *sg = &bi->segs[si];
		if (!((1u << sg->kind) & kinds)) {
			if (sg->kind == SEG_QUOTE)
				prev_quote = 1;
			continue;
		}
		const char *p = text + sg->off, *end = p + sg->len;
		struct unit *cur = NULL;
		int seg_first = 1;
		while (p < end) {
			/* one paragraph [p, pe) */
			const char *pe = p;
			while (pe < end) {
				const char *nl = memchr(pe, '\n', (size_t)(end - pe));
				const char *le = nl ? nl : end;
				size_t k = 0;
				while (pe + k < le && isspace((unsigned char)pe[k]))
					k++;
				if (pe + k == le && pe != p)
					break;
				pe = nl ? nl + 1 : end;
			}
			size_t plen = (size_t)(pe - p);
			int skip = is_signoff(p, plen);
			for (const char *l = p; !skip && l < pe;) {
				const char *nl = memchr(l, '\n', (size_t)(pe - l));
				const char *le = nl ? nl : pe;
				size_t ll = (size_t)(le - l);
				while (ll && isspace((unsigned char)l[ll - 1]))
					ll--;
				const char *next = nl ? nl + 1 : pe;
				size_t lead = 0;
				while (lead < ll && isspace((unsigned char)l[lead]))
					lead++;
				if (lead == ll || ex_is_url_line(l, ll) || is_patch_list_line(l + lead, ll - lead) ||
				    (ll >= 6 && !memcmp(l + ll - 6, "wrote:", 6))) {
					cur = NULL;
					l = next;
					continue;
				}
				if (first && ll < 40 && ex_count_words(l, ll) <= 3 && l[ll - 1] == ',' &&
				    ex_starts_with_word(l, ll, ex_w_greeting)) {
					l = next;   /* "Hi Marc," */
					continue;
				}
				int table = is_table_line(l, ll) || ex_is_code_line(l, ll);
				if (table) {
					cur = NULL;
					if (want_tables) {
						struct unit *t = unit_new(u);
						t->table = 1;
						sbuf_add(&t->text, l + lead, ll - lead);
					}
					l = next;
					continue;
				}
				if (!cur || ex_is_list_item(l, ll)) {
					cur = unit_new(u);
					cur->after_quote = seg_first && prev_quote;
					cur->first = first;
					seg_first = 0;
					first = 0;
				}
				size_t k = ex_skip_item_mark(l, ll);
				if (cur->text.len)
					sbuf_addc(&cur->text, ' ');
				sbuf_add(&cur->text, l + k, ll - k);
				l = next;
			}
			cur = NULL;
			p = pe;
		}
		prev_quote = 0;
	}
}

/* Abbreviations a full stop does not end a sentence after. */
static int is_abbrev(const char *s, size_t dot)
{
	static const char *const ab[] = { "e.g", "i.e", "etc", "vs", "cf", "approx", "resp", "Mr", "Dr", NULL };
	size_t b = dot;
	while (b && !isspace((unsigned char)s[b - 1]) && s[b - 1] != '(')
		b--;
	size_t n = dot - b;
	if (n == 1 && isalpha((unsigned char)s[b]))
		return 1;   /* an initial */
	for (const char *const *a = ab; *a; a++)
		if (strlen(*a) == n && !strncasecmp(s + b, *a, n))
			return 1;
	return 0;
}

/* Calls fn on each sentence of s[0..len) (a '.', '?' or '!' then a blank
 * or the end ends one). */
void ex_each_sentence(const char *s, size_t len, void (*fn)(void *, const char *, size_t, int), void *ctx)
{
	size_t start = 0;
	int idx = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if ((c == '.' || c == '?' || c == '!') && (i + 1 == len || s[i + 1] == ' ') &&
		    !(c == '.' && is_abbrev(s, i))) {
			size_t e = i + 1;
			while (e < len && (s[e] == '.' || s[e] == '?' || s[e] == '!'))
				e++;
			fn(ctx, s + start, e - start, idx++);
			while (e < len && s[e] == ' ')
				e++;
			start = e;
			i = e ? e - 1 : 0;
		}
	}
	while (start < len && s[start] == ' ')
		start++;
	if (start < len)
		fn(ctx, s + start, len - start, idx);
}

/* ---- scoring ---- */

struct scan_ctx {
	struct extract_mail *em;
	const struct unit *u;
	int order;
};

/* The content rules (D O R A T N Q P L) of the top comment; INT_MIN-ish
 * (-100) for a sentence that is never a point. */
/* The rule lists, indexed by first letter once (a sentence is then read
 * in one pass, not once per list: this runs on every reply of a week). */
enum { CAT_D = 1, CAT_O = 2, CAT_R = 4, CAT_A = 8, CAT_T = 16, CAT_N = 32 };
#define EX_BUCKET 48
static struct {
	const char *w[26][EX_BUCKET];
	unsigned char cat[26][EX_BUCKET];
	size_t n[26];
} rule_index;
static pthread_once_t rule_once = PTHREAD_ONCE_INIT;

static void rule_index_build(void)
{
	static const struct { const char *const *list; unsigned cat; } lists[] = {
		{ w_decision, CAT_D }, { w_objection, CAT_O }, { w_request, CAT_R },
		{ w_agree, CAT_A }, { w_test, CAT_T }, { w_negation, CAT_N },
	};
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (const char *const *w = lists[l].list; *w; w++) {
			int b = (*w)[0] - 'a';
			if (b < 0 || b >= 26 || rule_index.n[b] >= EX_BUCKET)
				kv_panic("extract: rule word '%s' cannot be indexed", *w);
			rule_index.w[b][rule_index.n[b]] = *w;
			rule_index.cat[b][rule_index.n[b]++] = (unsigned char)lists[l].cat;
		}
}

/* The CAT_ bits of the rule words in s[0..len). */
static unsigned sentence_cats(const char *s, size_t len)
{
	unsigned cats = 0;
	pthread_once(&rule_once, rule_index_build);
	for (size_t i = 0; i < len; i++) {
		if (!isalpha((unsigned char)s[i]) || (i && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '\'')))
			continue;
		int b = tolower((unsigned char)s[i]) - 'a';
		if (b < 0 || b >= 26)
			continue;
		for (size_t k = 0; k < rule_index.n[b]; k++)
			if (!(cats & rule_index.cat[b][k]) && word_at(s, len, i, rule_index.w[b][k]))
				cats |= rule_index.cat[b][k];
	}
	return cats;
}

static int sentence_score(const char *s, size_t len, int after_quote, int first_in_mail, int idx)
{
	size_t words = ex_count_words(s, len);
	unsigned cats = sentence_cats(s, len);
	int d = (cats & CAT_D) != 0;
	int score = 0;
	if (ex_starts_with_word(s, len, w_thanks) && words <= 8 && !(cats & (CAT_D | CAT_R | CAT_O)))
		return -100;   /* thanks only */
	if (d)
		score += 6;
	int o = (cats & CAT_O) != 0, a = (cats & CAT_A) != 0;
	if (o)
		score += 4;
	if (cats & CAT_R)
		score += 4;
	if (a)
		score += 4;
	if (cats & CAT_T)
		score += 3;
	if (!o && !a && ((cats & CAT_N) || memmem(s, len, "n't", 3)))
		score += 1;
	if (len && s[len - 1] == '?')
		score += 2;
	if (idx == 0 && after_quote)
		score += 3;
	else if (idx == 0 && first_in_mail)
		score += 1;
	if (words < 3 && !d)
		score -= 2;
	if (len && s[len - 1] == ':')
		score -= 3;   /* "Can you do:" points at code that is not shown */
	if (words > 50)
		score -= 2;
	return score;
}

static void scan_sentence(void *vctx, const char *s, size_t len, int idx)
{
	struct scan_ctx *c = vctx;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (!len)
		return;
	int score = sentence_score(s, len, c->u->after_quote, c->u->first, idx);
	c->order++;
	if (score < EXTRACT_MIN_SCORE)
		return;
	struct extract_mail *em = c->em;
	struct extract_sent *x;
	if (em->n < EXTRACT_KEEP) {
		if (!em->v)
			em->v = kv_xcalloc(EXTRACT_KEEP, sizeof(*em->v));
		x = &em->v[em->n++];
	} else {
		/* only the best few can be chosen: replace the worst (on a tie
		 * the earlier sentence stays) */
		size_t w = 0;
		for (size_t k = 1; k < em->n; k++)
			if (em->v[k].score < em->v[w].score ||
			    (em->v[k].score == em->v[w].score && em->v[k].order > em->v[w].order))
				w = k;
		if (score <= em->v[w].score)
			return;
		x = &em->v[w];
		free(x->text);
	}
	size_t keep = text_utf8_cut(s, len, EXTRACT_SENT_MAX);
	char *raw = kv_xstrndup(s, keep);
	x->text = text_one_line(raw);
	free(raw);
	if (keep < len) {
		char *t = kv_xasprintf("%s…", x->text);
		free(x->text);
		x->text = t;
	}
	x->score = score;
	x->order = c->order - 1;
}

static int sent_cmp(const void *a, const void *b)
{
	const struct extract_sent *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

void extract_mail_scan(const char *text, size_t len, const struct body_info *bi, struct extract_mail *em)
{
	(void)len;
	struct units u = { 0 };
	ex_collect_units(text, bi, 1u << SEG_PROSE, 0, &u);
	struct scan_ctx c = { .em = em };
	em->v = NULL;
	em->n = 0;
	for (size_t i = 0; i < u.n; i++) {
		c.u = &u.v[i];
		if (u.v[i].text.len)
			ex_each_sentence(u.v[i].text.buf, u.v[i].text.len, scan_sentence, &c);
	}
	ex_units_release(&u);
	if (em->n > 1)
		qsort(em->v, em->n, sizeof(*em->v), sent_cmp);
}

void extract_mail_release(struct extract_mail *em)
{
	for (size_t i = 0; i < em->n; i++)
		free(em->v[i].text);
	free(em->v);
	em->v = NULL;
	em->n = 0;
}

/* ---- the thread's budget ---- */

static int speaker_bonus(enum extract_role r)
{
	switch (r) {
	case EXR_MAINTAINER: return 3;
	case EXR_REVIEWER: return 2;
	case EXR_AUTHOR: return 1;
	case EXR_OTHER: return 0;
	}
	return 0;
}

struct cand {
	size_t mail;         /* index into ms */
	int key;             /* best score with the speaker rule */
	size_t nsent;        /* 1 or 2 */
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->mail < y->mail ? -1 : x->mail > y->mail;
}

static int point_cmp(const void *a, const void *b)
{
	const struct extract_point *x = a, *y = b;
	return x->number < y->number ? -1 : x->number > y->number;
}

/* Sentences k of m joined in mail order. */
static char *join_sents(const struct extract_mail *m, size_t k)
{
	if (k == 1 || m->n < 2)
		return kv_xstrdup(m->v[0].text);
	const struct extract_sent *a = &m->v[0], *b = &m->v[1];
	if (b->order < a->order) {
		const struct extract_sent *t = a;
		a = b;
		b = t;
	}
	return kv_xasprintf("%s %s", a->text, b->text);
}

void extract_select(const struct extract_mail *ms, size_t n, struct extract_point **out, size_t *nout,
		    size_t *left)
{
	struct cand *cv = kv_xcalloc(n ? n : 1, sizeof(*cv));
	size_t nc = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ms[i].n)
			continue;
		int bonus = speaker_bonus(ms[i].role) + (ms[i].decided ? 3 : 0);
		if (ms[i].v[0].score + bonus < EXTRACT_MIN_SCORE)
			continue;
		cv[nc].mail = i;
		cv[nc].key = ms[i].v[0].score + bonus;
		cv[nc].nsent = EXTRACT_MAX_PER_MAIL >= 2 && ms[i].n > 1 && ms[i].v[1].score >= 4 ? 2 : 1;
		nc++;
	}
	qsort(cv, nc, sizeof(*cv), cand_cmp);
	*out = kv_xcalloc(nc ? nc : 1, sizeof(**out));
	*nout = 0;
	*left = 0;
	size_t bytes = 0;
	for (size_t c = 0; c < nc; c++) {
		const struct extract_mail *m = &ms[cv[c].mail];
		char *t = NULL;
		if (*nout < EXTRACT_MAX_REPLIES) {
			for (size_t k = cv[c].nsent; k >= 1 && !t; k--) {
				char *j = join_sents(m, k);
				if (bytes + strlen(j) <= EXTRACT_MAX_BYTES)
					t = j;
				else
					free(j);
			}
		}
		if (!t) {
			(*left)++;
			continue;
		}
		bytes += strlen(t);
		(*out)[*nout].number = m->number;
		(*out)[(*nout)++].text = t;
	}
	if (*nout > 1)
		qsort(*out, *nout, sizeof(**out), point_cmp);
	free(cv);
}

