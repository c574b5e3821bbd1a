/*
 * json.h - a small JSON writer (output only) into a struct sbuf, with
 * correct string escaping of any UTF-8 input, and a small JSON reader for
 * the LLM answers and tests (json_parse into a tree).
 */
#ifndef KV_JSON_H
#define KV_JSON_H

#include <stdint.h>
#include <stddef.h>
#include "kv.h"

/* Writer. Commas and nesting are tracked; pretty = 1 indents by 2. */
struct json_w {
	struct sbuf *out;
	int depth;
	int pretty;
	unsigned char first[64];   /* per depth: no element written yet */
	int after_key;
};
void json_w_init(struct json_w *w, struct sbuf *out, int pretty);
void json_obj_begin(struct json_w *w);
void json_obj_end(struct json_w *w);
void json_arr_begin(struct json_w *w);
void json_arr_end(struct json_w *w);
void json_key(struct json_w *w, const char *key);
void json_str(struct json_w *w, const char *s);          /* NULL writes null */
void json_strn(struct json_w *w, const char *s, size_t n);
void json_int(struct json_w *w, int64_t v);
void json_double(struct json_w *w, double v);
void json_bool(struct json_w *w, int v);
void json_null(struct json_w *w);
/* Append s escaped as a JSON string literal (with quotes) to out. */
void json_escape(struct sbuf *out, const char *s, size_t n);

/* Reader: a DOM. */
enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };
struct json_val {
	enum json_type type;
	int b;
	double num;
	char *str;                  /* JSON_STR (UTF-8, unescaped) */
	size_t len;
	struct json_val **items;    /* JSON_ARR values / JSON_OBJ values */
	char **keys;                /* JSON_OBJ keys */
	size_t n;
};
/* Parse text[0..len). NULL with err naming the byte offset on bad input. */
struct json_val *json_parse(const char *text, size_t len, struct kv_err *err);
void json_free(struct json_val *v);
/* Object member by key, or NULL. */
const struct json_val *json_get(const struct json_val *obj, const char *key);

#endif
