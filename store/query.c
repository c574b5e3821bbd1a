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
 * size: one language's lexer, parser and evaluator share
 * the private query tree; split, the tree would become an interface.
 */
#include "store_int.h"
#include "query.h"
#include "phrase.h"
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
	uint64_t *o;
	size_t i = 0, j = 0, w = 0;

	if (!b->n || !a->n) {   /* one side alone: no copy */
		if (!a->n) {
			struct list t = *a;
			*a = *b;
			*b = t;
		}
		free(b->v);
		b->v = NULL;
		b->n = 0;
		return;
	}
	o = kv_xmalloc((a->n + b->n + 1) * sizeof(*o));
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

/* One token in every field of fields, ORed: each field's list merged
 * into the next is megabytes of fresh memory for a common word at 100,000
 * messages, so the fields' numbers go into one bitmap of the store's
 * numbers instead, read out once in order. */
static int lookup_fields(struct store_reader *r, const char *fields, const char *tok, size_t tn, int prefix,
			 struct list *out, struct kv_err *err)
{
	char key[INDEX_TERM_MAX + 1];
	uint64_t next, *bits, words, cnt = 0;
	int rc = 0;

	if (!fields[1])
		return lookup(r, fields[0], tok, tn, prefix, out, err);
	out->v = NULL;
	out->n = 0;
	if (tn + 2 > INDEX_TERM_MAX)
		return 0;
	if (meta_get_u64(r->t, r->s, "next_num", &next, err) < 0)
		return -1;
	words = (next + 63) / 64;
	bits = kv_xcalloc(words ? words : 1, sizeof(*bits));
	memcpy(key + 2, tok, tn);
	key[1] = ':';
	for (const char *f = fields; *f && rc == 0; f++) {
		key[0] = *f;
		rc = index_bits(r, key, tn + 2, prefix, bits, next, err);
	}
	for (uint64_t i = 0; rc == 0 && i < words; i++)
		cnt += (uint64_t)__builtin_popcountll(bits[i]);
	if (rc == 0 && cnt) {
		out->v = kv_xmalloc(cnt * sizeof(*out->v));
		for (uint64_t i = 0; i < words; i++)
			for (uint64_t b = bits[i]; b; b &= b - 1)
				out->v[out->n++] = i * 64 + (uint64_t)__builtin_ctzll(b);
	}
	free(bits);
	return rc;
}

/* acc AND l (l's memory taken); the first list (*have 0) is acc. */
static void list_and_into(struct list *acc, struct list *l, int *have)
{
	if (!*have) {
		free(acc->v);
		*acc = *l;
		*have = 1;
		return;
	}
	list_and(acc, l);
	free(l->v);
}

static int eval_term(struct store_reader *r, const struct qnode *q, struct list *out, struct kv_err *err)
{
	struct tokv tv = { STRV_INIT };
	const struct pairwords *pw = NULL;
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
		rc = q->fields[0] ? lookup_fields(r, q->fields, v, n, q->prefix, out, err) : 0;
		free(v);
		return rc;
	}
	index_tokenize(q->value, strlen(q->value), qtok_cb, &tv);
	if (tv.v.n == 1 && q->fields[0]) {   /* one word, in one field or more */
		rc = lookup_fields(r, q->fields, tv.v.v[0], strlen(tv.v.v[0]), q->prefix, out, err);
		strv_release(&tv.v);
		return rc;
	}
	/* a phrase of pair words: its pairs' lists, which need no check in
	 * the text for two words (index.c) */
	if (tv.v.n > 1 && tv.v.n <= PHRASE_MAX && !q->prefix && index_reader_pairs(r, &pw, err) < 0)
		rc = -1;
	for (const char *f = q->fields; *f && rc == 0; f++) {
		struct list acc = { NULL, 0 };
		char paired[PHRASE_MAX] = { 0 };
		int have = 0, npair = 0;

		for (size_t i = 0; pw && index_pair_field(*f) && i + 1 < tv.v.n && rc == 0; i++) {
			const char *a = tv.v.v[i], *b = tv.v.v[i + 1];
			char pair[2 * INDEX_TOKEN_MAX + 2];
			struct list l;
			if (!pairwords_has(pw, a, strlen(a)) || !pairwords_has(pw, b, strlen(b)))
				continue;
			snprintf(pair, sizeof(pair), "%s %s", a, b);
			if ((rc = lookup(r, (char)(*f - 'a' + 'A'), pair, strlen(pair), 0, &l, err)) < 0)
				break;
			list_and_into(&acc, &l, &have);
			paired[i] = paired[i + 1] = 1;
			npair++;
			if (!acc.n)
				break;
		}
		for (size_t i = 0; i < tv.v.n && rc == 0 && !(have && !acc.n); i++) {
			struct list l;
			int last = i + 1 == tv.v.n;
			if (i < PHRASE_MAX && paired[i])
				continue;
			if ((rc = lookup(r, *f, tv.v.v[i], strlen(tv.v.v[i]), q->prefix && last, &l, err)) < 0)
				break;
			list_and_into(&acc, &l, &have);
		}
		if (rc == 0 && tv.v.n > 1 && acc.n && !q->prefix && !(tv.v.n == 2 && npair == 1)) {
			/* a message an earlier field found already needs no
			 * phrase check in this one (bs: searches the subject,
			 * then the new and the quoted lines of the same text) */
			list_minus(&acc, out);
			if (acc.n)
				rc = phrase_filter(r, acc.v, &acc.n, *f, &tv.v, err);
		}
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
