/*
 * kv-mime-describe.c - test tool: parse a delivered mail back with gmime
 * (through store/mime.c) and print its MIME structure, the headers asked
 * for, and the start of its text part, one "key: value" line each, so a
 * shell test can check a digest that went through a real MTA.
 *
 *   kv-mime-describe FILE [HEADER...]
 *   type: multipart/alternative
 *   type: text/plain; charset=utf-8
 *   ...
 *   header Subject: ...
 *   text: <first line of the decoded text/plain part>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kv.h"
#include "mime.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: kv-mime-describe FILE [HEADER...]\n");
		return 2;
	}
	struct kv_err err;
	char *raw;
	size_t len;
	if (kv_read_file(argv[1], &raw, &len, &err) < 0) {
		fprintf(stderr, "kv-mime-describe: %s\n", err.msg);
		return 3;
	}
	mime_init();
	struct strv types = STRV_INIT;
	if (mime_describe(raw, len, &types, &err) < 0) {
		fprintf(stderr, "kv-mime-describe: %s: %s\n", argv[1], err.msg);
		free(raw);
		return 3;
	}
	for (size_t i = 0; i < types.n; i++)
		printf("type: %s\n", types.v[i]);
	strv_release(&types);
	for (int i = 2; i < argc; i++) {
		char *v = mime_header_value(raw, len, argv[i]);
		printf("header %s: %s\n", argv[i], v ? v : "(absent)");
		free(v);
	}
	struct mail m;
	if (mime_parse(raw, len, 0, &m, &err) == 0) {
		const char *nl = strchr(m.text, '\n');
		printf("text: %.*s\n", (int)(nl ? (size_t)(nl - m.text) : strlen(m.text)), m.text);
		printf("text-bytes: %zu\n", m.text_len);
		mail_release(&m);
	}
	free(raw);
	return 0;
}
