/*
 * json.c - the JSON writer every `--json` output and the reporter's JSON
 * digest go through, and a small strict reader for LLM answers and tests.
 *
 * The writer never produces invalid JSON from any input bytes: invalid
 * UTF-8 becomes U+FFFD, every control character is escaped, and "</" is
 * written "<\/" (and "<!" as "\u003c!") so the text can sit inside an HTML
 * <script> element. The reader follows RFC 8259, refuses nesting deeper
 * than JSON_MAX_DEPTH (the input comes from a remote service) and names the
 * byte offset of an error.
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

#define JSON_MAX_DEPTH 64

/* ---------------------------------------------------------------- writer */

void json_w_init(struct json_w *w, struct sbuf *out, int pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
	w->first[0] = 1;
}

static void newline_indent(struct json_w *w)
{
	sbuf_addc(w->out, '\n');
	for (int i = 0; i < w->depth; i++)
		sbuf_add(w->out, "  ", 2);
}

/* Separator before a value or a key at the current depth. */
static void before_value(struct json_w *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->depth == 0)
		return;
	if (!w->first[w->depth])
		sbuf_addc(w->out, ',');
	w->first[w->depth] = 0;
	if (w->pretty)
		newline_indent(w);
}

static void open_container(struct json_w *w, char c)
{
	before_value(w);
	if (w->depth + 1 >= (int)sizeof(w->first))
		kv_panic("json writer nested deeper than %zu", sizeof(w->first) - 1);
	sbuf_addc(w->out, c);
	w->depth++;
	w->first[w->depth] = 1;
}

static void close_container(struct json_w *w, char c)
{
	if (w->depth <= 0)
		kv_panic("json writer: '%c' without an open container", c);
	int empty = w->first[w->depth];
	w->depth--;
	if (w->pretty && !empty)
		newline_indent(w);
	sbuf_addc(w->out, c);
}

void json_obj_begin(struct json_w *w) { open_container(w, '{'); }
void json_obj_end(struct json_w *w) { close_container(w, '}'); }
void json_arr_begin(struct json_w *w) { open_container(w, '['); }
void json_arr_end(struct json_w *w) { close_container(w, ']'); }

void json_key(struct json_w *w, const char *key)
{
	before_value(w);
	json_escape(w->out, key, strlen(key));
	sbuf_adds(w->out, w->pretty ? ": " : ":");
	w->after_key = 1;
}

void json_str(struct json_w *w, const char *s)
{
	if (!s) {
		json_null(w);
		return;
	}
	json_strn(w, s, strlen(s));
}

void json_strn(struct json_w *w, const char *s, size_t n)
{
	before_value(w);
	json_escape(w->out, s, n);
}

void json_int(struct json_w *w, int64_t v)
{
	before_value(w);
	sbuf_addf(w->out, "%lld", (long long)v);
}

void json_double(struct json_w *w, double v)
{
	char buf[64];
	before_value(w);
	if (!isfinite(v)) {
		/* JSON has no NaN or infinity */
		sbuf_adds(w->out, "null");
		return;
	}
	/* shortest of the two that reads back exactly */
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (kv_strtod_c(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	/* %g follows the C locale only if the program never called setlocale;
	 * a decimal comma would be invalid JSON */
	for (char *p = buf; *p; p++)
		if (*p == ',')
			*p = '.';
	sbuf_adds(w->out, buf);
}

void json_bool(struct json_w *w, int v)
{
	before_value(w);
	sbuf_adds(w->out, v ? "true" : "false");
}

void json_null(struct json_w *w)
{
	before_value(w);
	sbuf_adds(w->out, "null");
}

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it
 * is invalid; *bad is then the number of bytes to replace by one U+FFFD
 * (the "maximal subpart" of a broken sequence, as Unicode recommends).
 */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF;

	*bad = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;  /* no UTF-16 surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	for (size_t i = 1; i < need; i++) {
		if (i >= n)
			return 0;
		unsigned char b = s[i];
		if (b < lo || b > hi)
			return 0;
		lo = 0x80, hi = 0xBF;
		*bad = i + 1;
	}
	return need;
}

void json_escape(struct sbuf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;   /* run: bytes at s[i-run..i) to copy verbatim */

	sbuf_grow(out, n + 2);
	sbuf_addc(out, '"');
	while (i < n) {
		unsigned char c = s[i];
		const char *esc = NULL;
		char ubuf[8];
		size_t adv = 1;

		if (c >= 0x20 && c != '"' && c != '\\' && c != '/' && c != '<' && c < 0x7F) {
			i++, run++;
			continue;
		}
		if (c == '<') {
			/* "<!--" inside <script> switches the HTML parser's
			 * state: no raw "<!" */
			if (i + 1 < n && s[i + 1] == '!')
				esc = "\\u003c";
			else {
				i++, run++;
				continue;
			}
		} else if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '/') {
			/* "</" would end a <script> element */
			if (i > 0 && s[i - 1] == '<')
				esc = "\\/";
			else {
				i++, run++;
				continue;
			}
		} else if (c == '\n')
			esc = "\\n";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\b')
			esc = "\\b";
		else if (c == '\f')
			esc = "\\f";
		else if (c < 0x20 || c == 0x7F) {
			snprintf(ubuf, sizeof(ubuf), "\\u%04x", c);
			esc = ubuf;
		} else {
			size_t bad;
			size_t len = utf8_seq(s + i, n - i, &bad);
			if (len == 3 && c == 0xE2 && s[i + 1] == 0x80 &&
			    (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
				/* U+2028/2029 end a line inside JavaScript strings */
				esc = s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
				adv = 3;
			} else if (len) {
				i += len, run += len;
				continue;
			} else {
				esc = "\xEF\xBF\xBD";
				adv = bad;
			}
		}
		if (run)
			sbuf_add(out, s + i - run, run);
		run = 0;
		sbuf_adds(out, esc);
		i += adv;
	}
	if (run)
		sbuf_add(out, s + i - run, run);
	sbuf_addc(out, '"');
}

/* ---------------------------------------------------------------- reader */

struct reader {
	const char *s;
	size_t len, pos;
	struct kv_err *err;
	int failed;
};

static int rfail(struct reader *r, const char *what)
{
	if (!r->failed) {
		r->failed = 1;
		if (r->pos >= r->len)
			kv_err_set(r->err, "json: %s at byte %zu (end of input)", what, r->pos);
		else
			kv_err_set(r->err, "json: %s at byte %zu", what, r->pos);
	}
	return -1;
}

static void skip_ws(struct reader *r)
{
	while (r->pos < r->len) {
		char c = r->s[r->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		r->pos++;
	}
}

static struct json_val *new_val(enum json_type t)
{
	struct json_val *v = kv_xcalloc(1, sizeof(*v));
	v->type = t;
	return v;
}

static int hex4(struct reader *r, unsigned *out)
{
	unsigned v = 0;
	if (r->len - r->pos < 4)
		return rfail(r, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = r->s[r->pos + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else {
			r->pos += (size_t)i;
			return rfail(r, "bad hex digit in \\u escape");
		}
	}
	r->pos += 4;
	*out = v;
	return 0;
}

static void add_utf8(struct sbuf *sb, unsigned cp)
{
	char b[4];
	if (cp < 0x80) {
		b[0] = (char)cp;
		sbuf_add(sb, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		sbuf_add(sb, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		sbuf_add(sb, b, 3);
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		sbuf_add(sb, b, 4);
	}
}

/* At the opening quote. The result is always valid UTF-8: a lone surrogate
 * escape and invalid raw bytes become U+FFFD. */
static int parse_string(struct reader *r, char **out, size_t *outlen)
{
	struct sbuf sb = SBUF_INIT;

	r->pos++;  /* '"' */
	sbuf_grow(&sb, 16);
	for (;;) {
		if (r->pos >= r->len) {
			sbuf_release(&sb);
			return rfail(r, "unterminated string");
		}
		unsigned char c = (unsigned char)r->s[r->pos];
		if (c == '"') {
			r->pos++;
			break;
		}
		if (c < 0x20) {
			sbuf_release(&sb);
			return rfail(r, "control character in string");
		}
		if (c == '\\') {
			if (r->pos + 1 >= r->len) {
				r->pos++;
				sbuf_release(&sb);
				return rfail(r, "unterminated escape");
			}
			char e = r->s[r->pos + 1];
			r->pos += 2;
			switch (e) {
			case '"': sbuf_addc(&sb, '"'); break;
			case '\\': sbuf_addc(&sb, '\\'); break;
			case '/': sbuf_addc(&sb, '/'); break;
			case 'b': sbuf_addc(&sb, '\b'); break;
			case 'f': sbuf_addc(&sb, '\f'); break;
			case 'n': sbuf_addc(&sb, '\n'); break;
			case 'r': sbuf_addc(&sb, '\r'); break;
			case 't': sbuf_addc(&sb, '\t'); break;
			case 'u': {
				unsigned cp, lo;
				if (hex4(r, &cp) < 0) {
					sbuf_release(&sb);
					return -1;
				}
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					/* a high surrogate needs its low half next */
					if (r->len - r->pos >= 6 && r->s[r->pos] == '\\' &&
					    r->s[r->pos + 1] == 'u') {
						size_t save = r->pos;
						r->pos += 2;
						if (hex4(r, &lo) < 0) {
							sbuf_release(&sb);
							return -1;
						}
						if (lo >= 0xDC00 && lo <= 0xDFFF)
							cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						else {
							cp = 0xFFFD;
							r->pos = save;
						}
					} else
						cp = 0xFFFD;
				} else if (cp >= 0xDC00 && cp <= 0xDFFF)
					cp = 0xFFFD;
				add_utf8(&sb, cp);
				break;
			}
			default:
				r->pos -= 1;
				sbuf_release(&sb);
				return rfail(r, "bad escape in string");
			}
			continue;
		}
		if (c < 0x80) {
			/* a run of plain ASCII in one copy */
			size_t start = r->pos;
			while (r->pos < r->len) {
				unsigned char d = (unsigned char)r->s[r->pos];
				if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\')
					break;
				r->pos++;
			}
			sbuf_add(&sb, r->s + start, r->pos - start);
			continue;
		}
		size_t bad;
		size_t n = utf8_seq((const unsigned char *)r->s + r->pos, r->len - r->pos, &bad);
		if (n) {
			sbuf_add(&sb, r->s + r->pos, n);
			r->pos += n;
		} else {
			sbuf_adds(&sb, "\xEF\xBF\xBD");
			r->pos += bad;
		}
	}
	*out = sbuf_detach(&sb, outlen);
	return 0;
}

static int parse_number(struct reader *r, double *out)
{
	size_t start = r->pos, p = r->pos;
	const char *s = r->s;
	char buf[128];

	if (p < r->len && s[p] == '-')
		p++;
	if (p >= r->len || !(s[p] >= '0' && s[p] <= '9')) {
		r->pos = p;
		return rfail(r, "bad number");
	}
	if (s[p] == '0')
		p++;
	else
		while (p < r->len && s[p] >= '0' && s[p] <= '9')
			p++;
	if (p < r->len && s[p] == '.') {
		p++;
		if (p >= r->len || !(s[p] >= '0' && s[p] <= '9')) {
			r->pos = p;
			return rfail(r, "digit expected after decimal point");
		}
		while (p < r->len && s[p] >= '0' && s[p] <= '9')
			p++;
	}
	if (p < r->len && (s[p] == 'e' || s[p] == 'E')) {
		p++;
		if (p < r->len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= r->len || !(s[p] >= '0' && s[p] <= '9')) {
			r->pos = p;
			return rfail(r, "digit expected in exponent");
		}
		while (p < r->len && s[p] >= '0' && s[p] <= '9')
			p++;
	}
	if (p - start >= sizeof(buf)) {
		/* a valid but absurdly long literal; strtod needs a NUL */
		char *tmp = kv_xstrndup(s + start, p - start);
		*out = kv_strtod_c(tmp, NULL);
		free(tmp);
	} else {
		memcpy(buf, s + start, p - start);
		buf[p - start] = '\0';
		*out = kv_strtod_c(buf, NULL);
	}
	r->pos = p;
	return 0;
}

static int match_word(struct reader *r, const char *w)
{
	size_t n = strlen(w);
	if (r->len - r->pos < n || memcmp(r->s + r->pos, w, n) != 0)
		return 0;
	r->pos += n;
	return 1;
}

static struct json_val *parse_value(struct reader *r, int depth);

static struct json_val *parse_container(struct reader *r, int depth, int is_obj)
{
	struct json_val *v = new_val(is_obj ? JSON_OBJ : JSON_ARR);
	size_t cap = 0;
	char close = is_obj ? '}' : ']';

	if (depth >= JSON_MAX_DEPTH) {
		rfail(r, "nesting deeper than 64");
		json_free(v);
		return NULL;
	}
	r->pos++;  /* '{' or '[' */
	skip_ws(r);
	if (r->pos < r->len && r->s[r->pos] == close) {
		r->pos++;
		return v;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;
		skip_ws(r);
		if (is_obj) {
			if (r->pos >= r->len || r->s[r->pos] != '"') {
				rfail(r, "object key expected");
				goto fail;
			}
			if (parse_string(r, &key, &klen) < 0)
				goto fail;
			skip_ws(r);
			if (r->pos >= r->len || r->s[r->pos] != ':') {
				free(key);
				rfail(r, "':' expected after object key");
				goto fail;
			}
			r->pos++;
		}
		struct json_val *item = parse_value(r, depth + 1);
		if (!item) {
			free(key);
			goto fail;
		}
		if (v->n == cap) {
			cap = cap ? cap * 2 : 4;
			v->items = kv_xrealloc(v->items, cap * sizeof(*v->items));
			if (is_obj)
				v->keys = kv_xrealloc(v->keys, cap * sizeof(*v->keys));
		}
		v->items[v->n] = item;
		if (is_obj)
			v->keys[v->n] = key;
		v->n++;
		skip_ws(r);
		if (r->pos < r->len && r->s[r->pos] == ',') {
			r->pos++;
			continue;
		}
		if (r->pos < r->len && r->s[r->pos] == close) {
			r->pos++;
			return v;
		}
		rfail(r, is_obj ? "',' or '}' expected" : "',' or ']' expected");
		goto fail;
	}
fail:
	json_free(v);
	return NULL;
}

static struct json_val *parse_value(struct reader *r, int depth)
{
	struct json_val *v;

	skip_ws(r);
	if (r->pos >= r->len) {
		rfail(r, "value expected");
		return NULL;
	}
	switch (r->s[r->pos]) {
	case '{':
		return parse_container(r, depth, 1);
	case '[':
		return parse_container(r, depth, 0);
	case '"':
		v = new_val(JSON_STR);
		if (parse_string(r, &v->str, &v->len) < 0) {
			free(v);
			return NULL;
		}
		return v;
	case 't':
	case 'f':
	case 'n':
		if (match_word(r, "true")) {
			v = new_val(JSON_BOOL);
			v->b = 1;
			return v;
		}
		if (match_word(r, "false"))
			return new_val(JSON_BOOL);
		if (match_word(r, "null"))
			return new_val(JSON_NULL);
		rfail(r, "unknown literal");
		return NULL;
	default:
		if (r->s[r->pos] != '-' && !(r->s[r->pos] >= '0' && r->s[r->pos] <= '9')) {
			rfail(r, "value expected");
			return NULL;
		}
		v = new_val(JSON_NUM);
		if (parse_number(r, &v->num) < 0) {
			free(v);
			return NULL;
		}
		return v;
	}
}

struct json_val *json_parse(const char *text, size_t len, struct kv_err *err)
{
	struct reader r = { text ? text : "", text ? len : 0, 0, err, 0 };
	struct json_val *v;

	/* a UTF-8 byte order mark is tolerated, nothing else before the value */
	if (r.len >= 3 && memcmp(r.s, "\xEF\xBB\xBF", 3) == 0)
		r.pos = 3;
	v = parse_value(&r, 0);
	if (!v)
		return NULL;
	skip_ws(&r);
	if (r.pos != r.len) {
		rfail(&r, "trailing data after the value");
		json_free(v);
		return NULL;
	}
	return v;
}

void json_free(struct json_val *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		json_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

const struct json_val *json_get(const struct json_val *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJ || !key)
		return NULL;
	/* the last of duplicate keys wins, as in JavaScript */
	for (size_t i = obj->n; i > 0; i--)
		if (strcmp(obj->keys[i - 1], key) == 0)
			return obj->items[i - 1];
	return NULL;
}
