/*
 * query.c - the search query language of query.h: a lexer, a recursive
 * descent parser into a small tree, and its evaluation over the word
 * index as sorted posting lists (intersection for AND, union for OR,
 * difference for NOT inside an AND; a NOT on its own is taken from every
 * message). Phrases are looked up as the AND of their words, then each
 * candidate's stored text is tokenised again, from where the first word
 * stands, to check the words come in that order.
 *
 * Grammar:
 *   query   := or
 *   or      := and ("OR" and)*
 *   and     := unary (["AND"] unary)*
 *   unary   := "NOT" unary | "-" primary | primary
 *   primary := "(" or ")" | "*" | [prefix ":"] (word | word* | "phrase")
 *
 * size: one language's lexer, parser, evaluator and result ordering share
 * the private query tree; split, the tree would become an interface.
 */
#include "store_int.h"
#include "query.h"
#include "kvtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

enum { Q_AND, Q_OR, Q_NOT, Q_TERM, Q_DATE, Q_ALL };

struct qnode {
	int type;
	struct qnode **kids;
	size_t nk;
	char fields[8];          /* index field letters searched */
	char *value;             /* the value as given, unquoted */
	int phrase, prefix, whole, mid;
	int64_t lo, hi;          /* Q_DATE: [lo, hi) */
};

struct query {
	struct qnode *root;
};

/* ---- lexing ---- */

enum { T_WORD, T_LP, T_RP, T_END };

struct tok {
	int kind;
	char *pre;               /* prefix without ':' or NULL */
	char *val;               /* value, quotes removed */
	char *raw;               /* as written, for messages */
	int quoted, neg;
	size_t off;              /* where it starts in the query */
};

struct lexer {
	struct tok *v;
	size_t n, cap, pos;
	const char *src;         /* the query, for messages */
	int64_t now;
	struct kv_err *err;
};

static void tok_push(struct lexer *lx, struct tok t)
{
	if (lx->n == lx->cap) {
		lx->cap = lx->cap ? lx->cap * 2 : 16;
		lx->v = kv_xrealloc(lx->v, lx->cap * sizeof(*lx->v));
	}
	lx->v[lx->n++] = t;
}

static int is_sp(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A parenthesis at src[off] without its partner, named by its place. */
static void paren_err(struct lexer *lx, char paren, size_t off)
{
	kv_err_set(lx->err, "unbalanced parenthesis: '%c' without '%c' at character %zu of '%s'",
		   paren, paren == '(' ? ')' : '(', off + 1, lx->src);
}

/* Whether the '(' at s[i] has its ')' (quoted text skipped). */
static int paren_closed(const char *s, size_t i)
{
	int depth = 0, inq = 0;

	for (; s[i]; i++) {
		if (s[i] == '"')
			inq = !inq;
		else if (!inq && s[i] == '(')
			depth++;
		else if (!inq && s[i] == ')' && --depth == 0)
			return 1;
	}
	return 0;
}

static int lex(struct lexer *lx, const char *s)
{
	size_t i = 0, n = strlen(s);

	for (;;) {
		struct tok t;

		memset(&t, 0, sizeof(t));
		while (i < n && is_sp(s[i]))
			i++;
		if (i >= n)
			break;
		if (s[i] == '(' || s[i] == ')') {
			t.kind = s[i] == '(' ? T_LP : T_RP;
			t.raw = kv_xstrndup(s + i, 1);
			t.off = i;
			tok_push(lx, t);
			i++;
			continue;
		}
		size_t start = i, vstart;
		t.kind = T_WORD;
		t.off = i;
		if ((s[i] == '-' || s[i] == '+') && i + 1 < n && !is_sp(s[i + 1]) && s[i + 1] != ')') {
			t.neg = s[i] == '-';
			i++;
		}
		/* prefix: letters then ':' */
		size_t j = i;
		while (j < n && s[j] >= 'a' && s[j] <= 'z')
			j++;
		if (j > i && j < n && s[j] == ':') {
			t.pre = kv_xstrndup(s + i, j - i);
			i = j + 1;
			/* a prefix applies to one word or phrase, not to a group */
			if (i < n && s[i] == '(') {
				if (!paren_closed(s, i))
					paren_err(lx, '(', i);
				else
					kv_err_set(lx->err, "'%s:' cannot apply to a parenthesis at character %zu of "
						   "'%s': put it on each word, as in (s:a OR s:b)", t.pre, i + 1, s);
				free(t.pre);
				return -1;
			}
		}
		vstart = i;
		if (i < n && s[i] == '"') {
			const char *q = memchr(s + i + 1, '"', n - i - 1);
			if (!q) {
				kv_err_set(lx->err, "unbalanced quote in '%s'", s + start);
				free(t.pre);
				return -1;
			}
			t.val = kv_xstrndup(s + i + 1, (size_t)(q - s - i - 1));
			t.quoted = 1;
			i = (size_t)(q - s) + 1;
			if (i < n && s[i] == '*') {
				i++;
			}
		} else {
			while (i < n && !is_sp(s[i]) && s[i] != '(' && s[i] != ')') {
				if (s[i] == '"') {
					kv_err_set(lx->err, "unbalanced quote in '%.*s'", (int)(n - start), s + start);
					free(t.pre);
					return -1;
				}
				i++;
			}
			t.val = kv_xstrndup(s + vstart, i - vstart);
		}
		t.raw = kv_xstrndup(s + start, i - start);
		tok_push(lx, t);
	}
	return 0;
}

/* ---- dates ---- */

/* One date: *t, and *day when it names a whole day. 0 / -1. */
static int parse_one_date(const char *s, int64_t now, int64_t *t, int *day)
{
	size_t n = strlen(s);
	char buf[32];

	*day = 0;
	if (!strcmp(s, "now")) {
		*t = now;
		return 0;
	}
	if (!strcmp(s, "today") || !strcmp(s, "yesterday")) {
		*t = now - ((now % 86400) + 86400) % 86400 - (s[0] == 'y' ? 86400 : 0);
		*day = 1;
		return 0;
	}
	if (n == 8 && strspn(s, "0123456789") == 8) {
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2s", s, s + 4, s + 6);
		*day = 1;
		return kvtime_parse_iso(buf, t);
	}
	if (n > 4 && !strcmp(s + n - 4, ".ago")) {
		/* N.unit.ago */
		char *end;
		long long k = strtoll(s, &end, 10);
		static const struct { const char *u; int64_t sec; } units[] = {
			{ "second", 1 }, { "seconds", 1 }, { "minute", 60 }, { "minutes", 60 },
			{ "hour", 3600 }, { "hours", 3600 }, { "day", 86400 }, { "days", 86400 },
			{ "week", 604800 }, { "weeks", 604800 }, { "month", 2592000 },
			{ "months", 2592000 }, { "year", 31536000 }, { "years", 31536000 },
		};
		if (end == s || *end != '.' || k < 0 || k > 1000000)
			return -1;
		size_t ul = (size_t)(s + n - 4 - end - 1);
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].u) == ul && !memcmp(end + 1, units[i].u, ul)) {
				*t = now - (int64_t)k * units[i].sec;
				return 0;
			}
		return -1;
	}
	if (n == 10 && s[4] == '-' && s[7] == '-')
		*day = 1;
	return kvtime_parse_iso(s, t);
}

static int parse_range(const char *v, int64_t now, int64_t *lo, int64_t *hi)
{
	const char *dd = strstr(v, "..");
	int64_t t;
	int day;

	*lo = INT64_MIN;
	*hi = INT64_MAX;
	if (!dd) {
		if (parse_one_date(v, now, &t, &day) < 0)
			return -1;
		*lo = t;
		if (day)
			*hi = t + 86400;
		return 0;
	}
	if (dd > v) {
		char *a = kv_xstrndup(v, (size_t)(dd - v));
		int rc = parse_one_date(a, now, lo, &day);
		free(a);
		if (rc < 0)
			return -1;
	}
	if (dd[2]) {
		if (parse_one_date(dd + 2, now, &t, &day) < 0)
			return -1;
		*hi = day ? t + 86400 : t;
	}
	return dd == v && !dd[2] ? -1 : 0;
}

/* ---- parsing ---- */

static struct qnode *node_new(int type)
{
	struct qnode *q = kv_xcalloc(1, sizeof(*q));
	q->type = type;
	return q;
}

static void node_add(struct qnode *p, struct qnode *k)
{
	p->kids = kv_xrealloc(p->kids, (p->nk + 1) * sizeof(*p->kids));
	p->kids[p->nk++] = k;
}

static void node_free(struct qnode *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nk; i++)
		node_free(q->kids[i]);
	free(q->kids);
	free(q->value);
	free(q);
}

static const struct {
	const char *name;
	const char *fields;
	int whole;               /* the value is one term, not words */
} prefixes[] = {
	{ "s", "s", 0 }, { "subject", "s", 0 }, { "f", "f", 0 }, { "from", "f", 0 },
	{ "t", "t", 0 }, { "c", "c", 0 }, { "tc", "tc", 0 }, { "a", "ftc", 0 },
	{ "b", "bq", 0 }, { "nq", "b", 0 }, { "q", "q", 0 }, { "bs", "sbq", 0 },
	{ "dfn", "p", 1 }, { "dfhh", "h", 0 }, { "m", "m", 1 }, { "l", "l", 0 },
	{ "list", "l", 0 }, { "tr", "r", 0 },
};

static void count_cb(void *ctx, const char *tok, size_t n, int part)
{
	(void)tok;
	(void)n;
	if (!part)
		(*(size_t *)ctx)++;
}

static struct qnode *term_node(struct lexer *lx, struct tok *t)
{
	struct qnode *q;

	if (t->pre && (!strcmp(t->pre, "d") || !strcmp(t->pre, "since") || !strcmp(t->pre, "until"))) {
		int64_t lo, hi;
		int rc;
		if (!t->val[0]) {
			kv_err_set(lx->err, "empty value after '%s:' in '%s'", t->pre, t->raw);
			return NULL;
		}
		if (t->pre[0] == 'd') {
			rc = parse_range(t->val, lx->now, &lo, &hi);
		} else {
			int day;
			int64_t x;
			rc = parse_one_date(t->val, lx->now, &x, &day);
			lo = t->pre[0] == 's' ? x : INT64_MIN;
			hi = t->pre[0] == 's' ? INT64_MAX : x;
		}
		if (rc < 0) {
			kv_err_set(lx->err, "bad date '%s' in '%s' (want YYYYMMDD, YYYY-MM-DD, ISO 8601 or "
				   "N.days.ago, ranges A..B)", t->val, t->raw);
			return NULL;
		}
		q = node_new(Q_DATE);
		q->lo = lo;
		q->hi = hi;
		return q;
	}
	if (!t->pre && !t->quoted && !strcmp(t->val, "*"))
		return node_new(Q_ALL);   /* every message */
	q = node_new(Q_TERM);
	if (t->pre) {
		size_t i;
		for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (!strcmp(prefixes[i].name, t->pre))
				break;
		if (i == sizeof(prefixes) / sizeof(prefixes[0])) {
			kv_err_set(lx->err, "unknown prefix '%s:' in '%s'", t->pre, t->raw);
			node_free(q);
			return NULL;
		}
		snprintf(q->fields, sizeof(q->fields), "%s", prefixes[i].fields);
		q->whole = prefixes[i].whole;
		q->mid = prefixes[i].fields[0] == 'm';
	} else {
		snprintf(q->fields, sizeof(q->fields), "sbq");
	}
	q->value = kv_xstrdup(t->val);
	q->phrase = t->quoted;
	size_t vn = strlen(q->value);
	if (!t->quoted && vn > 1 && q->value[vn - 1] == '*') {
		q->prefix = 1;
		q->value[--vn] = 0;
	} else if (t->quoted && t->raw[strlen(t->raw) - 1] == '*') {
		q->prefix = 1;
	}
	if (!vn || (vn == 1 && q->value[0] == '*')) {
		if (t->pre)
			kv_err_set(lx->err, "empty value after '%s:' in '%s'", t->pre, t->raw);
		else
			kv_err_set(lx->err, "empty term '%s'", t->raw);
		node_free(q);
		return NULL;
	}
	if (!q->whole) {
		size_t nt = 0;
		index_tokenize(q->value, vn, count_cb, &nt);
		if (!nt && !strchr(q->value, '@')) {
			kv_err_set(lx->err, "no word to search for in '%s'", t->raw);
			node_free(q);
			return NULL;
		}
	}
	return q;
}

static struct qnode *parse_or(struct lexer *lx);

static struct tok *peek(struct lexer *lx)
{
	static struct tok end = { T_END, NULL, NULL, NULL, 0, 0, 0 };
	return lx->pos < lx->n ? &lx->v[lx->pos] : &end;
}

static int is_kw(const struct tok *t, const char *kw)
{
	return t->kind == T_WORD && !t->pre && !t->quoted && !t->neg && !strcmp(t->val, kw);
}

static struct qnode *parse_unary(struct lexer *lx)
{
	struct tok *t = peek(lx);
	struct qnode *k, *q;

	if (is_kw(t, "NOT")) {
		lx->pos++;
		if (peek(lx)->kind == T_END || peek(lx)->kind == T_RP) {
			kv_err_set(lx->err, "'NOT' needs a term after it");
			return NULL;
		}
		if (!(k = parse_unary(lx)))
			return NULL;
		q = node_new(Q_NOT);
		node_add(q, k);
		return q;
	}
	if (t->kind == T_LP) {
		lx->pos++;
		if (peek(lx)->kind == T_END) {
			paren_err(lx, '(', t->off);
			return NULL;
		}
		if (peek(lx)->kind == T_RP) {
			kv_err_set(lx->err, "empty parentheses at character %zu of '%s'", t->off + 1, lx->src);
			return NULL;
		}
		if (!(k = parse_or(lx)))
			return NULL;
		if (peek(lx)->kind != T_RP) {
			paren_err(lx, '(', t->off);
			node_free(k);
			return NULL;
		}
		lx->pos++;
		return k;
	}
	if (t->kind == T_RP) {
		paren_err(lx, ')', t->off);
		return NULL;
	}
	if (t->kind == T_END) {
		kv_err_set(lx->err, "the query ends where a term was expected");
		return NULL;
	}
	if (is_kw(t, "AND") || is_kw(t, "OR")) {
		kv_err_set(lx->err, "'%s' needs a term before it", t->val);
		return NULL;
	}
	lx->pos++;
	if (!(k = term_node(lx, t)))
		return NULL;
	if (!t->neg)
		return k;
	q = node_new(Q_NOT);
	node_add(q, k);
	return q;
}

static struct qnode *parse_and(struct lexer *lx)
{
	struct qnode *q = NULL, *k;

	for (;;) {
		struct tok *t = peek(lx);
		if (t->kind == T_END || t->kind == T_RP || is_kw(t, "OR"))
			break;
		if (q && is_kw(t, "AND")) {
			lx->pos++;
			t = peek(lx);
			if (t->kind == T_END || t->kind == T_RP || is_kw(t, "OR") || is_kw(t, "AND")) {
				kv_err_set(lx->err, "'AND' needs a term after it");
				node_free(q);
				return NULL;
			}
		}
		if (!(k = parse_unary(lx))) {
			node_free(q);
			return NULL;
		}
		if (!q)
			q = node_new(Q_AND);
		node_add(q, k);
	}
	if (!q) {
		struct tok *t = peek(lx);
		if (is_kw(t, "OR"))
			kv_err_set(lx->err, "'OR' needs a term before it");
		else if (t->kind == T_RP)
			paren_err(lx, ')', t->off);
		else
			kv_err_set(lx->err, "empty query");
		return NULL;
	}
	return q;
}

static struct qnode *parse_or(struct lexer *lx)
{
	struct qnode *q = NULL, *k;

	for (;;) {
		if (!(k = parse_and(lx))) {
			node_free(q);
			return NULL;
		}
		if (!q)
			q = node_new(Q_OR);
		node_add(q, k);
		if (!is_kw(peek(lx), "OR"))
			break;
		lx->pos++;
		if (peek(lx)->kind == T_END || peek(lx)->kind == T_RP) {
			kv_err_set(lx->err, "'OR' needs a term after it");
			node_free(q);
			return NULL;
		}
	}
	return q;
}

int query_parse(const char *text, int64_t now, struct query **qp, struct kv_err *err)
{
	struct lexer lx;
	struct qnode *root = NULL;
	int rc = -1;

	*qp = NULL;
	memset(&lx, 0, sizeof(lx));
	lx.now = now;
	lx.src = text;
	lx.err = err;
	if (lex(&lx, text) == 0) {
		if (!lx.n)
			kv_err_set(err, "empty query");
		else if ((root = parse_or(&lx)) && lx.pos < lx.n) {
			/* only a stray ')' stops the top level early */
			paren_err(&lx, ')', lx.v[lx.pos].off);
			node_free(root);
			root = NULL;
		}
	}
	if (root) {
		*qp = kv_xcalloc(1, sizeof(**qp));
		(*qp)->root = root;
		rc = 0;
	}
	for (size_t i = 0; i < lx.n; i++) {
		free(lx.v[i].pre);
		free(lx.v[i].val);
		free(lx.v[i].raw);
	}
	free(lx.v);
	return rc;
}

void query_free(struct query *q)
{
	if (!q)
		return;
	node_free(q->root);
	free(q);
}

/* ---- sorted lists ---- */

struct list {
	uint64_t *v;
	size_t n;
};

static void list_and(struct list *a, const struct list *b)
{
	size_t i = 0, j = 0, w = 0;
	while (i < a->n && j < b->n) {
		if (a->v[i] < b->v[j])
			i++;
		else if (a->v[i] > b->v[j])
			j++;
		else {
			a->v[w++] = a->v[i++];
			j++;
		}
	}
	a->n = w;
}

static void list_minus(struct list *a, const struct list *b)
{
	size_t i = 0, j = 0, w = 0;
	while (i < a->n) {
		while (j < b->n && b->v[j] < a->v[i])
			j++;
		if (j < b->n && b->v[j] == a->v[i])
			i++;
		else
			a->v[w++] = a->v[i++];
	}
	a->n = w;
}

static void list_or(struct list *a, struct list *b)
{
	uint64_t *o = kv_xmalloc((a->n + b->n + 1) * sizeof(*o));
	size_t i = 0, j = 0, w = 0;
	while (i < a->n || j < b->n) {
		if (j >= b->n || (i < a->n && a->v[i] < b->v[j]))
			o[w++] = a->v[i++];
		else if (i >= a->n || b->v[j] < a->v[i])
			o[w++] = b->v[j++];
		else {
			o[w++] = a->v[i++];
			j++;
		}
	}
	free(a->v);
	free(b->v);
	b->v = NULL;
	b->n = 0;
	a->v = o;
	a->n = w;
}

/* ---- evaluation ---- */

struct tokv {
	struct strv v;
};

static void qtok_cb(void *ctx, const char *tok, size_t n, int part)
{
	struct tokv *t = ctx;
	if (!part)
		strv_push_owned(&t->v, kv_xstrndup(tok, n));
}

/* Phrase matching while the text is tokenised: the last n tokens in a
 * ring, compared with the phrase at each new token; no allocation. */
#define PHRASE_MAX 16
struct phrase_st {
	const struct strv *toks;
	char ring[PHRASE_MAX][INDEX_TOKEN_MAX + 1];
	size_t seen;
	int found;
};

static void phrase_cb(void *ctx, const char *tok, size_t n, int part)
{
	struct phrase_st *ps = ctx;
	size_t k = ps->toks->n;

	if (part || ps->found)
		return;
	memcpy(ps->ring[ps->seen % k], tok, n);
	ps->ring[ps->seen % k][n] = 0;
	ps->seen++;
	if (ps->seen < k)
		return;
	for (size_t i = 0; i < k; i++)
		if (strcmp(ps->ring[(ps->seen - k + i) % k], ps->toks->v[i]))
			return;
	ps->found = 1;
}

/* The phrase's tokens in text[0..len) (all of it tokenised): found, and
 * the number of tokens seen into *seen. */
static int phrase_run(struct phrase_st *ps, const char *text, size_t len, size_t *seen)
{
	ps->seen = 0;
	ps->found = 0;
	index_tokenize(text, len, phrase_cb, ps);
	*seen = ps->seen;
	return ps->found;
}

static int ascii_wordc(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Does toks appear in this order in the text's tokens? A phrase longer
 * than PHRASE_MAX words is checked on its first PHRASE_MAX.
 *
 * When the first word is ASCII, only the places where it starts a word
 * are tokenised: index_tokenize folds nothing outside ASCII into ASCII,
 * so its token can only come from those bytes, matched without case. A
 * place is taken when the byte before it is ASCII and no word character
 * (the tokeniser then starts afresh there, as at the text's start); a
 * window of the text from it, ended at an ASCII non-word byte (so no word
 * is cut), gives the same first tokens as the whole rest would; when it
 * holds fewer tokens than the phrase, the rest is tokenised. A byte of a
 * multi-byte character before the word: the whole text, as before. */
static int phrase_in(const char *text, size_t len, const struct strv *toks)
{
	struct phrase_st *ps = kv_xmalloc(sizeof(*ps));
	struct strv head = *toks;
	const char *w0 = toks->v[0];
	size_t l0 = strlen(w0), seen;
	int found = 0, whole = 0;

	if (head.n > PHRASE_MAX)
		head.n = PHRASE_MAX;
	ps->toks = &head;
	for (size_t i = 0; i < l0; i++)
		whole |= (unsigned char)w0[i] >= 0x80;
	for (size_t i = 0; !whole && !found && i + l0 <= len; i++) {
		const unsigned char *u = (const unsigned char *)text;
		unsigned char c = u[i];
		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)w0[0])
			continue;
		if (i && u[i - 1] >= 0x80) {
			whole = 1;   /* what the character before is needs decoding */
			break;
		}
		if (i && ascii_wordc(u[i - 1]))
			continue;
		size_t k = 1;
		while (k < l0 && (u[i + k] >= 'A' && u[i + k] <= 'Z' ? u[i + k] + 32 : u[i + k]) == (unsigned char)w0[k])
			k++;
		if (k < l0)
			continue;
		size_t e = i + l0 + 512 < len ? i + l0 + 512 : len;
		while (e < len && (u[e] >= 0x80 || ascii_wordc(u[e])))
			e++;
		found = phrase_run(ps, text + i, e - i, &seen);
		if (!found && seen < head.n && e < len)
			found = phrase_run(ps, text + i, len - i, &seen);
	}
	if (whole)
		found = phrase_run(ps, text, len, &seen);
	free(ps);
	return found;
}

/* Keep the candidates of list l whose field f holds the phrase. */
static int phrase_filter(struct store_reader *r, struct list *l, char f, const struct strv *toks,
			 struct kv_err *err)
{
	size_t w = 0;
	struct sbuf sb = SBUF_INIT;
	char *owned = NULL;
	int rc = 0;

	if (f != 's' && f != 'f' && f != 'b' && f != 'q' && f != 'l' && f != 't' && f != 'c')
		return 0;   /* no text kept in order: the words' AND stands */
	for (size_t i = 0; i < l->n; i++) {
		struct msg_rec m;
		const char *text = NULL;
		size_t tlen = 0;

		/* body and quoted text need the text, not the record */
		if (f == 'b' || f == 'q') {
			/* read, not mapped: many scattered texts cost fewer
			 * page faults as pread than as views of the map */
			free(owned);
			rc = text_load(r->t, r->s, NULL, NULL, l->v[i], &text, &tlen, &owned, err);
			memset(&m, 0, sizeof(m));
			if (rc > 0)
				rc = kv_err_set(err, "the word index names message %llu, which is not stored",
						(unsigned long long)l->v[i]);
		} else if (store_msg_get(r, l->v[i], &m, err) != 0) {
			rc = -1;
		}
		if (rc < 0)
			break;
		sbuf_reset(&sb);
		index_field_text(&m, text, tlen, f, &sb);
		if (phrase_in(sb.buf ? sb.buf : "", sb.len, toks))
			l->v[w++] = l->v[i];
	}
	free(owned);
	sbuf_release(&sb);
	if (rc < 0)
		return -1;
	l->n = w;
	return 0;
}

static int lookup(struct store_reader *r, char f, const char *tok, size_t tn, int prefix,
		  struct list *out, struct kv_err *err)
{
	char key[INDEX_TERM_MAX + 1];

	out->v = NULL;
	out->n = 0;
	if (tn + 2 > INDEX_TERM_MAX)
		return 0;
	key[0] = f;
	key[1] = ':';
	memcpy(key + 2, tok, tn);
	return prefix ? index_prefix(r, key, tn + 2, &out->v, &out->n, err)
		      : index_postings(r, key, tn + 2, &out->v, &out->n, err);
}

static int eval_term(struct store_reader *r, const struct qnode *q, struct list *out, struct kv_err *err)
{
	struct tokv tv = { STRV_INIT };
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	if (q->whole || (strchr(q->value, '@') && strspn(q->fields, "ftcr") == strlen(q->fields))) {
		/* one term: a path, a Message-ID, an address */
		char *v = kv_xstrdup(q->value);
		size_t n = strlen(v);
		if (q->mid) {
			char *c = v;
			if (*c == '<') {
				memmove(c, c + 1, n--);
				if (n && c[n - 1] == '>')
					c[--n] = 0;
			}
		} else {
			for (size_t i = 0; i < n; i++)
				if (v[i] >= 'A' && v[i] <= 'Z')
					v[i] += 32;
			while (n > 1 && v[n - 1] == '/')
				v[--n] = 0;
		}
		for (const char *f = q->fields; *f && rc == 0; f++) {
			struct list l;
			if ((rc = lookup(r, *f, v, n, q->prefix, &l, err)) == 0)
				list_or(out, &l);
		}
		free(v);
		return rc;
	}
	index_tokenize(q->value, strlen(q->value), qtok_cb, &tv);
	for (const char *f = q->fields; *f && rc == 0; f++) {
		struct list acc = { NULL, 0 };
		for (size_t i = 0; i < tv.v.n && rc == 0; i++) {
			struct list l;
			int last = i + 1 == tv.v.n;
			if ((rc = lookup(r, *f, tv.v.v[i], strlen(tv.v.v[i]), q->prefix && last, &l, err)) < 0)
				break;
			if (i == 0) {
				acc = l;
			} else {
				list_and(&acc, &l);
				free(l.v);
			}
			if (!acc.n)
				break;
		}
		if (rc == 0 && tv.v.n > 1 && acc.n && !q->prefix)
			rc = phrase_filter(r, &acc, *f, &tv.v, err);
		if (rc == 0)
			list_or(out, &acc);
		else
			free(acc.v);
	}
	strv_release(&tv.v);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int eval_date(struct store_reader *r, const struct qnode *q, struct list *out, struct kv_err *err)
{
	struct db_cursor *c;
	unsigned char k[16];
	struct db_val kv = { k, 16 }, v;
	size_t cap = 0;
	int rc;

	out->v = NULL;
	out->n = 0;
	key16(k, date_bias(q->lo), 0);
	if (db_cursor_open(r->t, r->s->d[D_DATE], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_SET_RANGE, &kv, &v, err); rc == 0;
	     rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		if (kv.n != 16 || date_unbias(db_get_be64(kv.p)) >= q->hi)
			break;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 1024;
			out->v = kv_xrealloc(out->v, cap * sizeof(*out->v));
		}
		out->v[out->n++] = db_get_be64((const char *)kv.p + 8);
	}
	db_cursor_close(c);
	if (rc < 0)
		return -1;
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_u64);
	return 0;
}

static int eval(struct store_reader *r, const struct qnode *q, struct list *out, struct kv_err *err);

static int universe(struct store_reader *r, struct list *out, struct kv_err *err)
{
	struct db_cursor *c;
	struct db_val kv, v;
	size_t cap = 0;
	int rc;

	out->v = NULL;
	out->n = 0;
	if (db_cursor_open(r->t, r->s->d[D_MSG], &c, err) < 0)
		return -1;
	for (rc = db_cursor_get(c, DB_FIRST, &kv, &v, err); rc == 0; rc = db_cursor_get(c, DB_NEXT, &kv, &v, err)) {
		if (out->n == cap) {
			cap = cap ? cap * 2 : 4096;
			out->v = kv_xrealloc(out->v, cap * sizeof(*out->v));
		}
		out->v[out->n++] = db_get_be64(kv.p);
	}
	db_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

static int eval(struct store_reader *r, const struct qnode *q, struct list *out, struct kv_err *err)
{
	struct list l;

	out->v = NULL;
	out->n = 0;
	switch (q->type) {
	case Q_TERM:
		return eval_term(r, q, out, err);
	case Q_DATE:
		return eval_date(r, q, out, err);
	case Q_ALL:
		return universe(r, out, err);
	case Q_NOT:
		if (universe(r, out, err) < 0 || eval(r, q->kids[0], &l, err) < 0)
			return -1;
		list_minus(out, &l);
		free(l.v);
		return 0;
	case Q_OR:
		for (size_t i = 0; i < q->nk; i++) {
			if (eval(r, q->kids[i], &l, err) < 0)
				return -1;
			list_or(out, &l);
		}
		return 0;
	case Q_AND: {
		int have = 0;
		/* positives first, then the negatives taken away */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < q->nk; i++) {
				const struct qnode *k = q->kids[i];
				int neg = k->type == Q_NOT;
				if (neg != pass || (have && !out->n))
					continue;
				if (neg && !have) {
					if (universe(r, out, err) < 0)
						return -1;
					have = 1;
				}
				if (eval(r, neg ? k->kids[0] : k, &l, err) < 0)
					return -1;
				if (neg)
					list_minus(out, &l);
				else if (!have)
					*out = l, l.v = NULL;
				else
					list_and(out, &l);
				free(l.v);
				have = 1;
			}
		return 0;
	}
	}
	return kv_err_set(err, "query: unknown node");
}

int query_run(struct store_reader *r, const struct query *q, uint64_t **nums, size_t *n,
	      struct kv_err *err)
{
	struct list l;

	*nums = NULL;
	*n = 0;
	if (eval(r, q->root, &l, err) < 0)
		return -1;
	*nums = l.v;
	*n = l.n;
	return 0;
}

struct dated {
	int64_t date;
	uint64_t num;
	uint64_t aux;
};

static int cmp_newest(const void *a, const void *b)
{
	const struct dated *x = a, *y = b;
	if (x->date != y->date)
		return x->date > y->date ? -1 : 1;
	return x->num > y->num ? -1 : x->num < y->num;
}

/* Many results: walk the date index from the newest end and keep the
 * numbers in the set (one sequential pass, no lookup per message). */
static int order_by_date_walk(struct store_reader *r, uint64_t *nums, size_t n, int64_t *dates,
			      uint64_t *aux, struct kv_err *err)
{
	uint64_t max = nums[n - 1];
	/* aux follows its number: the ascending numbers kept to find it */
	uint64_t *asc = aux ? kv_xmalloc(n * sizeof(*asc)) : NULL;
	uint64_t *oaux = aux ? kv_xmalloc(n * sizeof(*oaux)) : NULL;
	unsigned char *in = kv_xcalloc(max / 8 + 1, 1);
	struct db_cursor *c;
	struct db_val kv, v;
	size_t w = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		in[nums[i] / 8] |= (unsigned char)(1u << (nums[i] % 8));
	if (aux) {
		memcpy(asc, nums, n * sizeof(*asc));
		memcpy(oaux, aux, n * sizeof(*oaux));
	}
	if (db_cursor_open(r->t, r->s->d[D_DATE], &c, err) < 0) {
		free(in);
		free(asc);
		free(oaux);
		return -1;
	}
	for (rc = db_cursor_get(c, DB_LAST, &kv, &v, err); rc == 0 && w < n;
	     rc = db_cursor_get(c, DB_PREV, &kv, &v, err)) {
		uint64_t num;
		if (kv.n != 16)
			continue;
		num = db_get_be64((const char *)kv.p + 8);
		if (num <= max && (in[num / 8] & (1u << (num % 8)))) {
			if (aux) {   /* binary search: asc holds num */
				size_t lo = 0, hi = n;
				while (hi - lo > 1) {
					size_t mid = lo + (hi - lo) / 2;
					if (asc[mid] <= num)
						lo = mid;
					else
						hi = mid;
				}
				aux[w] = oaux[lo];
			}
			nums[w] = num;
			dates[w++] = date_unbias(db_get_be64(kv.p));
		}
	}
	db_cursor_close(c);
	free(in);
	free(asc);
	free(oaux);
	if (rc < 0)
		return -1;
	if (w != n)
		return kv_err_set(err, "date index: %zu of %zu matching messages not found", n - w, n);
	return 0;
}

int query_order_newest(struct store_reader *r, uint64_t *nums, size_t n, int64_t **dates,
		       uint64_t *aux, struct kv_err *err)
{
	struct dated *d;

	*dates = kv_xmalloc((n ? n : 1) * sizeof(**dates));
	if (n > 2000)
		return order_by_date_walk(r, nums, n, *dates, aux, err);
	d = kv_xmalloc((n ? n : 1) * sizeof(*d));
	/* a first full read maps rec.dat for the reader; then only the fixed
	 * part of each record is read */
	if (n) {
		struct msg_rec m;
		if (store_msg_get(r, nums[0], &m, err) != 0) {
			free(d);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct msg_fixed f;
		if (msg_offsets(r->t, r->s, &r->map[F_REC], nums[i], &f, err) != 0) {
			free(d);
			return -1;
		}
		d[i].date = f.date;
		d[i].num = nums[i];
		d[i].aux = aux ? aux[i] : 0;
	}
	qsort(d, n, sizeof(*d), cmp_newest);
	for (size_t i = 0; i < n; i++) {
		nums[i] = d[i].num;
		(*dates)[i] = d[i].date;
		if (aux)
			aux[i] = d[i].aux;
	}
	free(d);
	return 0;
}

struct numidx {
	uint64_t num;
	size_t i;
};

static int cmp_numidx(const void *a, const void *b)
{
	const struct numidx *x = a, *y = b;
	return x->num < y->num ? -1 : x->num > y->num;
}

/* The numbers in ascending order, one cursor over the mthr table moving
 * forward: a few steps of DB_NEXT between close numbers, a seek
 * (DB_SET_RANGE) across a gap; much cheaper than a lookup from the root
 * for each of many messages. */
int query_thread_ids(struct store_reader *r, const uint64_t *nums, size_t n, uint64_t *tids,
		     struct kv_err *err)
{
	struct numidx *o;
	struct db_cursor *c;
	struct db_val kv = { NULL, 0 }, v = { NULL, 0 };
	unsigned char k[8];
	uint64_t cur = 0;
	int rc = 1;          /* 1: the cursor is past the end (or not placed) */
	int placed = 0;

	if (!n)
		return 0;
	o = kv_xmalloc(n * sizeof(*o));
	int sorted = 1;
	for (size_t i = 0; i < n; i++) {
		o[i].num = nums[i];
		o[i].i = i;
		sorted &= !i || nums[i - 1] <= nums[i];
	}
	if (!sorted)
		qsort(o, n, sizeof(*o), cmp_numidx);
	if (db_cursor_open(r->t, r->s->d[D_MTHR], &c, err) < 0) {
		free(o);
		return -1;
	}
	for (size_t j = 0; j < n; j++) {
		uint64_t want = o[j].num;
		for (int step = 0; placed && rc == 0 && cur < want && step < 8; step++) {
			rc = db_cursor_get(c, DB_NEXT, &kv, &v, err);
			if (rc == 0)
				cur = kv.n == 8 ? db_get_be64(kv.p) : UINT64_MAX;
		}
		if (!placed || (rc == 0 && cur < want)) {
			db_be64(k, want);
			kv.p = k;
			kv.n = 8;
			rc = db_cursor_get(c, DB_SET_RANGE, &kv, &v, err);
			if (rc == 0)
				cur = kv.n == 8 ? db_get_be64(kv.p) : UINT64_MAX;
			placed = 1;
		}
		if (rc < 0)
			break;
		tids[o[j].i] = rc == 0 && cur == want && v.n == 8 ? db_get_be64(v.p) : 0;
	}
	db_cursor_close(c);
	free(o);
	return rc < 0 ? -1 : 0;
}
