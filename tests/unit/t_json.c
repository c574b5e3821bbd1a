/*
 * t_json.c - the JSON writer's escaping (controls, quotes, "</", invalid
 * UTF-8), writer/reader round trips, and the reader's errors on bad input,
 * including nesting past the depth limit.
 */
#include "kv.h"
#include "json.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>

static char *esc(const char *s, size_t n)
{
	struct sbuf sb = SBUF_INIT;
	json_escape(&sb, s, n);
	return sbuf_detach(&sb, NULL);
}

static void check_esc(const char *in, size_t n, const char *want, const char *name)
{
	char *got = esc(in, n);
	is_str(got, want, name);
	free(got);
}

static void test_escape(void)
{
	check_esc("plain", 5, "\"plain\"", "plain ascii");
	check_esc("a\"b\\c", 5, "\"a\\\"b\\\\c\"", "quote and backslash");
	check_esc("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"", "short escapes");
	check_esc("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"", "other controls as \\u");
	check_esc("a\0b", 3, "\"a\\u0000b\"", "embedded NUL");
	check_esc("</script>", 9, "\"<\\/script>\"", "</ escaped for HTML");
	check_esc("<!-- x", 6, "\"\\u003c!-- x\"", "<! escaped for HTML");
	check_esc("a/b", 3, "\"a/b\"", "lone slash kept");
	check_esc("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80", 14,
		  "\"caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80\"", "valid UTF-8 kept");
	check_esc("a\xFF" "b", 3, "\"a\xEF\xBF\xBD" "b\"", "invalid byte -> U+FFFD");
	check_esc("a\xC3", 2, "\"a\xEF\xBF\xBD\"", "truncated sequence at end -> U+FFFD");
	check_esc("\xE4\xB8" "x", 3, "\"\xEF\xBF\xBD" "x\"", "truncated 3-byte sequence -> one U+FFFD");
	check_esc("\xC0\xAF", 2, "\"\xEF\xBF\xBD\xEF\xBF\xBD\"", "overlong '/' -> two U+FFFD");
	check_esc("\xED\xA0\x80", 3, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"", "encoded surrogate refused");
	check_esc("\xF4\x90\x80\x80", 4, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"", "above U+10FFFF refused");
	check_esc("\xE2\x80\xA8", 3, "\"\\u2028\"", "U+2028 escaped for JavaScript");

	/* every byte value: the output parses and is valid UTF-8 */
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	char *got = esc(all, sizeof(all));
	struct kv_err err = { "" };
	struct json_val *v = json_parse(got, strlen(got), &err);
	ok(v && v->type == JSON_STR, "all 256 byte values give a parsable string %s", err.msg);
	ok(kv_utf8_valid(got, strlen(got)), "escaped output is valid UTF-8");
	ok(v && v->len > 0 && v->str[0] == '\0' && v->str[1] == '\x01', "NUL and controls come back");
	json_free(v);
	free(got);
}

static void test_writer(void)
{
	struct sbuf sb = SBUF_INIT;
	struct json_w w;

	json_w_init(&w, &sb, 0);
	json_obj_begin(&w);
	json_key(&w, "id");
	json_int(&w, 42);
	json_key(&w, "name");
	json_str(&w, "Marc \"Z\"");
	json_key(&w, "none");
	json_str(&w, NULL);
	json_key(&w, "list");
	json_arr_begin(&w);
	json_int(&w, -1);
	json_bool(&w, 1);
	json_bool(&w, 0);
	json_null(&w);
	json_double(&w, 0.5);
	json_arr_end(&w);
	json_key(&w, "empty");
	json_obj_begin(&w);
	json_obj_end(&w);
	json_key(&w, "e2");
	json_arr_begin(&w);
	json_arr_end(&w);
	json_key(&w, "nan");
	json_double(&w, NAN);
	json_obj_end(&w);
	is_str(sb.buf, "{\"id\":42,\"name\":\"Marc \\\"Z\\\"\",\"none\":null,"
		       "\"list\":[-1,true,false,null,0.5],\"empty\":{},\"e2\":[],\"nan\":null}",
	       "compact writer output");

	sbuf_reset(&sb);
	json_w_init(&w, &sb, 1);
	json_obj_begin(&w);
	json_key(&w, "a");
	json_arr_begin(&w);
	json_int(&w, 1);
	json_int(&w, 2);
	json_arr_end(&w);
	json_key(&w, "b");
	json_obj_begin(&w);
	json_obj_end(&w);
	json_obj_end(&w);
	is_str(sb.buf, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}", "pretty writer output");

	/* doubles read back exactly */
	double vals[] = { 0.1, 1.0 / 3.0, 1e300, -2.5e-300, 123456789.125, 0 };
	int exact = 1;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		sbuf_reset(&sb);
		json_w_init(&w, &sb, 0);
		json_double(&w, vals[i]);
		struct json_val *v = json_parse(sb.buf, sb.len, NULL);
		if (!v || v->type != JSON_NUM || v->num != vals[i])
			exact = 0;
		json_free(v);
	}
	ok(exact, "doubles round trip exactly");

	/* int64 extremes */
	sbuf_reset(&sb);
	json_w_init(&w, &sb, 0);
	json_arr_begin(&w);
	json_int(&w, INT64_MAX);
	json_int(&w, INT64_MIN);
	json_arr_end(&w);
	is_str(sb.buf, "[9223372036854775807,-9223372036854775808]", "int64 extremes");
	sbuf_release(&sb);
}

static void test_roundtrip(void)
{
	struct sbuf sb = SBUF_INIT;
	struct json_w w;
	struct kv_err err = { "" };
	const char *strs[] = { "", "x", "line\nbreak", "tab\there", "</b>", "\xE4\xB8\xAD\xE6\x96\x87",
			       "emoji \xF0\x9F\x90\xA7", "back\\slash", "q\"uote" };
	size_t ns = sizeof(strs) / sizeof(strs[0]);

	json_w_init(&w, &sb, 1);
	json_obj_begin(&w);
	json_key(&w, "strings");
	json_arr_begin(&w);
	for (size_t i = 0; i < ns; i++)
		json_str(&w, strs[i]);
	json_arr_end(&w);
	json_key(&w, "k\xC3\xA9y");
	json_int(&w, 7);
	json_obj_end(&w);

	struct json_val *v = json_parse(sb.buf, sb.len, &err);
	ok(v != NULL, "written document parses %s", err.msg);
	const struct json_val *a = json_get(v, "strings");
	ok(a && a->type == JSON_ARR && a->n == ns, "array of %zu strings back", ns);
	int same = a != NULL;
	for (size_t i = 0; a && i < ns && i < a->n; i++)
		if (a->items[i]->type != JSON_STR || strcmp(a->items[i]->str, strs[i]) != 0 ||
		    a->items[i]->len != strlen(strs[i]))
			same = 0;
	ok(same, "every string identical after the round trip");
	const struct json_val *k = json_get(v, "k\xC3\xA9y");
	ok(k && k->type == JSON_NUM && k->num == 7, "non-ASCII key found");
	ok(json_get(v, "missing") == NULL, "json_get missing key is NULL");
	ok(json_get(a, "strings") == NULL, "json_get on an array is NULL");
	json_free(v);
	sbuf_release(&sb);
}

static void test_reader(void)
{
	struct kv_err err = { "" };
	const char *doc = " { \"a\" : [1, -2.5e3, 0, true, false, null], \"s\": \"\\u00e9\\ud83d\\ude00\\/\\n\","
			  " \"o\": {\"x\": {}}, \"a\": \"dup\" } ";
	struct json_val *v = json_parse(doc, strlen(doc), &err);
	ok(v && v->type == JSON_OBJ && v->n == 4, "object parsed %s", err.msg);
	const struct json_val *s = json_get(v, "s");
	is_str(s ? s->str : NULL, "\xC3\xA9\xF0\x9F\x98\x80/\n", "\\u escapes incl. surrogate pair");
	const struct json_val *a = json_get(v, "a");
	ok(a && a->type == JSON_STR, "duplicate key: last wins");
	const struct json_val *arr = v ? v->items[0] : NULL;
	ok(arr && arr->type == JSON_ARR && arr->n == 6 && arr->items[1]->num == -2500 &&
	   arr->items[3]->type == JSON_BOOL && arr->items[3]->b == 1 &&
	   arr->items[4]->b == 0 && arr->items[5]->type == JSON_NULL, "array members typed");
	json_free(v);

	v = json_parse("\"\\ud800x\\udc00\"", 15, &err);
	is_str(v ? v->str : NULL, "\xEF\xBF\xBDx\xEF\xBF\xBD", "lone surrogates become U+FFFD");
	json_free(v);
	v = json_parse("\"a\\u0000b\"", 10, &err);
	ok(v && v->len == 3 && v->str[1] == '\0', "\\u0000 kept with its length");
	json_free(v);
	v = json_parse("\"\xFF\"", 3, &err);
	is_str(v ? v->str : NULL, "\xEF\xBF\xBD", "invalid raw UTF-8 in a string becomes U+FFFD");
	json_free(v);
	v = json_parse("\xEF\xBB\xBF[]", 5, &err);
	ok(v && v->type == JSON_ARR && v->n == 0, "byte order mark tolerated");
	json_free(v);
	v = json_parse("3", 1, &err);
	ok(v && v->type == JSON_NUM && v->num == 3, "bare number");
	json_free(v);

	struct { const char *in; size_t off; const char *what; } bad[] = {
		{ "", 0, "value expected" },
		{ "   ", 3, "value expected" },
		{ "{", 1, "object key expected" },
		{ "{\"a\" 1}", 5, "':' expected" },
		{ "{\"a\":1,}", 7, "object key expected" },
		{ "[1,]", 3, "value expected" },
		{ "[1 2]", 3, "',' or ']' expected" },
		{ "[01]", 2, "',' or ']' expected" },
		{ "[1.]", 3, "digit expected after decimal point" },
		{ "[1e]", 3, "digit expected in exponent" },
		{ "[-]", 2, "bad number" },
		{ "[+1]", 1, "value expected" },
		{ "[tru]", 1, "unknown literal" },
		{ "\"abc", 4, "unterminated string" },
		{ "\"a\nb\"", 2, "control character in string" },
		{ "\"\\x\"", 2, "bad escape" },
		{ "\"\\u12G4\"", 5, "bad hex digit" },
		{ "{} x", 3, "trailing data" },
		{ "[1] [2]", 4, "trailing data" },
		{ "{'a':1}", 1, "object key expected" },
		{ "NaN", 0, "value expected" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];
		err.msg[0] = '\0';
		v = json_parse(bad[i].in, strlen(bad[i].in), &err);
		snprintf(want, sizeof(want), "at byte %zu", bad[i].off);
		ok(!v && strstr(err.msg, bad[i].what) && strstr(err.msg, want),
		   "bad input '%s' refused: %s", bad[i].in, err.msg);
		json_free(v);
	}
	ok(json_parse(NULL, 0, NULL) == NULL, "NULL input with NULL err");
}

static void test_depth(void)
{
	struct kv_err err = { "" };
	char buf[300];
	struct json_val *v;

	/* 64 levels are fine */
	memset(buf, '[', 64);
	memset(buf + 64, ']', 64);
	v = json_parse(buf, 128, &err);
	ok(v != NULL, "64 nested arrays accepted %s", err.msg);
	json_free(v);
	/* 65 are refused, at the offset of the 65th bracket */
	memset(buf, '[', 65);
	memset(buf + 65, ']', 65);
	v = json_parse(buf, 130, &err);
	ok(!v && strstr(err.msg, "nesting") && strstr(err.msg, "byte 64"), "65 levels refused: %s", err.msg);
	/* a huge nesting does not recurse without end */
	size_t big = 1000000;
	char *deep = kv_xmalloc(big);
	memset(deep, '[', big);
	v = json_parse(deep, big, &err);
	ok(!v, "a million open brackets refused: %s", err.msg);
	free(deep);
}

int main(void)
{
	test_escape();
	test_writer();
	test_roundtrip();
	test_reader();
	test_depth();
	return done_testing();
}
