/*
 * main.c - `kvmarm-store`: the usage text, the table of commands, and the
 * helpers every command shares (store opening, errors, the JSON thread
 * object). The command line itself is parsed in args.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "mime.h"
#include "category.h"
#include "kvtime.h"
#include "banned.h"

static const char main_usage[] =
	"usage: kvmarm-store [--db DIR | --config FILE] COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"The LMDB thread store of kvmarm-digest: import list mail and query it.\n"
	"\n"
	"  --db DIR         the store directory\n"
	"  --config FILE    the configuration file: the store is its [store] path\n"
	"                   (initial map size: [store] map_size_mb); default\n"
	"                   without either: the built-in /var/lib/kvmarm-digest/store\n"
	"  -h, --help       this text; `kvmarm-store COMMAND --help` for a command\n"
	"\n"
	"commands:\n"
	"  import     import mail from mboxes (.gz too), maildirs (with their\n"
	"             sub-folders), directories, files or stdin\n"
	"  threads    threads with mail in a date window\n"
	"  show       one thread as a tree\n"
	"  msg        one message: headers and text, or its exact raw bytes\n"
	"  search     threads, messages, ids or an mbox matching a lore-style query\n"
	"             (s: f: t: c: a: b: nq: q: d: dfn: dfhh: m:, \"phrases\", OR, NOT)\n"
	"  stats      counts for a date window: messages, threads, categories, senders\n"
	"  export     messages of a date window as mboxrd on stdout\n"
	"  check      verify every invariant of the store\n"
	"  reindex    build the word index of a store made before it (schema 1)\n"
	"  compact    offline: rewrite the store without its free pages, swap it in\n"
	"  parse-only (benchmark aid) parse mail with the parser, store nothing\n"
	"\n"
	"Options may come before or after the command and its arguments, in any\n"
	"order (`kvmarm-store threads --db DIR`, `show 49 --tz Europe/London`);\n"
	"`--` ends the options, so an argument that starts with '-' goes after it\n"
	"(`kvmarm-store search -- -foo`). A value goes in the next word or after\n"
	"'=' (--since 2024-03-04, --since=2024-03-04).\n"
	"\n"
	"Date windows (threads, stats, export, search): --since D and --until D\n"
	"select [since, until); a bound left out is open, so without either the\n"
	"window is the whole store, for every command alike. D is YYYY-MM-DD\n"
	"(midnight UTC) or ISO 8601 (2024-03-04T08:00:00+08:00).\n"
	"\n"
	"Exit status: 0 ok, 1 nothing found (no such thread or message, no\n"
	"match, an empty window, no mail in the input), 2 usage error, 3 other\n"
	"failure (the store, an input or the output).\n";

static const struct cli_cmd *const commands[] = {
	&cli_cmd_import,
	&cli_cmd_threads,
	&cli_cmd_show,
	&cli_cmd_msg,
	&cli_cmd_search,
	&cli_cmd_stats,
	&cli_cmd_export,
	&cli_cmd_check,
	&cli_cmd_reindex,
	&cli_cmd_compact,
	&cli_cmd_parse_only,
};

int cli_error(int code, const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "kvmarm-store%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_usage(const char *usage, int code)
{
	fputs(usage, code ? stderr : stdout);
	return code;
}

int cli_out(const void *buf, size_t len)
{
	if (len && fwrite(buf, 1, len, stdout) != len)
		return -1;
	return 0;
}

void cli_iso(int64_t t, char *buf, size_t n)
{
	kvtime_utc_iso(t, buf, n);
}

char *cli_clean_id(const char *arg)
{
	while (*arg == ' ' || *arg == '<')
		arg++;
	size_t n = strlen(arg);
	while (n && (arg[n - 1] == ' ' || arg[n - 1] == '>'))
		n--;
	return kv_xstrndup(arg, n);
}

int cli_find_msg(struct store_reader *r, const char *arg, uint64_t *num, size_t *nmatch, struct kv_err *err)
{
	uint64_t nums[64];
	size_t n = 0;
	char *id = cli_clean_id(arg);
	int rc = *id ? store_msg_find(r, id, nums, 64, &n, err) : 1;
	*nmatch = n;
	if (rc == 0) {
		/* several messages with one Message-ID: the first stored */
		*num = nums[0];
		for (size_t i = 1; i < n && i < 64; i++)
			if (nums[i] < *num)
				*num = nums[i];
	} else if (rc == 1 && *id && strspn(id, "0123456789") == strlen(id)) {
		struct msg_rec m;
		uint64_t v = strtoull(id, NULL, 10);
		rc = store_msg_get(r, v, &m, err);
		if (rc == 0) {
			*num = v;
			*nmatch = 1;
		}
	}
	free(id);
	return rc;
}

void cli_people_add(struct cli_people *p, const char *name, const char *addr)
{
	const char *key = addr && *addr ? addr : (name ? name : "");
	for (size_t i = 0; i < p->n; i++) {
		const char *k = *p->v[i].addr ? p->v[i].addr : p->v[i].name;
		if (!strcmp(k, key)) {
			p->v[i].count++;
			if (!*p->v[i].name && name && *name) {
				free(p->v[i].name);
				p->v[i].name = kv_xstrdup(name);
			}
			return;
		}
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->v = kv_xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n].name = kv_xstrdup(name ? name : "");
	p->v[p->n].addr = kv_xstrdup(addr ? addr : "");
	p->v[p->n].count = 1;
	p->n++;
}

void cli_people_release(struct cli_people *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].addr);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

void cli_json_flags(struct json_w *w, uint32_t flags)
{
	json_arr_begin(w);
	for (unsigned i = 0; i < MAIL_FLAG_COUNT; i++)
		if (flags & (1u << i))
			json_str(w, mail_flag_name(i));
	json_arr_end(w);
}

void cli_flags_text(struct sbuf *sb, uint32_t flags)
{
	for (unsigned i = 0; i < MAIL_FLAG_COUNT; i++)
		if (flags & (1u << i)) {
			if (sb->len)
				sbuf_addc(sb, ' ');
			sbuf_adds(sb, mail_flag_name(i));
		}
}

int cli_json_thread(struct json_w *w, struct store_reader *r, const struct thread_rec *t,
		    const struct strv *ids, const struct cli_people *people, struct kv_err *err)
{
	char d1[32], d2[32];

	json_key(w, "thread_id");
	json_int(w, (int64_t)t->id);
	json_key(w, "subject");
	json_str(w, t->subject);
	json_key(w, "category");
	json_str(w, category_name((enum category)(t->category < CAT_COUNT ? t->category : CAT_OTHER)));
	json_key(w, "root_message_id");
	json_str(w, t->root_message_id);
	if (ids) {
		json_key(w, "messages");
		json_int(w, (int64_t)ids->n);
		json_key(w, "message_ids");
		json_arr_begin(w);
		for (size_t i = 0; i < ids->n; i++)
			json_str(w, ids->v[i]);
		json_arr_end(w);
	}
	json_key(w, "total_messages");
	json_int(w, t->count);
	json_key(w, "participants");
	json_int(w, (int64_t)people->n);
	json_key(w, "participant_list");
	json_arr_begin(w);
	for (size_t i = 0; i < people->n; i++) {
		json_obj_begin(w);
		json_key(w, "name");
		json_str(w, people->v[i].name);
		json_key(w, "address");
		json_str(w, people->v[i].addr);
		json_key(w, "messages");
		json_int(w, people->v[i].count);
		json_obj_end(w);
	}
	json_arr_end(w);
	cli_iso(t->first_date, d1, sizeof(d1));
	cli_iso(t->last_date, d2, sizeof(d2));
	json_key(w, "first_date");
	json_str(w, d1);
	json_key(w, "last_date");
	json_str(w, d2);
	json_key(w, "series");
	if (!t->series) {
		json_null(w);
		return 0;
	}
	struct series_rec sr;
	int rc = store_series_get(r, t->series, &sr, err);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		json_null(w);
		return 0;
	}
	json_obj_begin(w);
	json_key(w, "id");
	json_int(w, (int64_t)sr.id);
	json_key(w, "title");
	json_str(w, sr.title);
	json_key(w, "author");
	json_str(w, sr.author);
	json_key(w, "versions");
	json_arr_begin(w);
	for (size_t i = 0; i < sr.nversions; i++) {
		const struct series_version *v = &sr.versions[i];
		json_obj_begin(w);
		json_key(w, "version");
		json_int(w, v->version);
		json_key(w, "thread_id");
		json_int(w, (int64_t)v->thread);
		cli_iso(v->date, d1, sizeof(d1));
		json_key(w, "date");
		json_str(w, d1);
		json_key(w, "message_id");
		json_str(w, v->message_id);
		json_key(w, "subject");
		json_str(w, v->subject);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
	free(sr.versions);
	return 0;
}

int cli_open_store(struct cli *c, unsigned flags, struct store **s)
{
	struct kv_err err;

	if (!c->cfg && config_load(&c->cfg, c->config, &err) < 0)
		return cli_error(CLI_FAIL, NULL, "%s", err.msg);
	if (store_open_config(s, c->cfg, c->db, flags, &err) < 0)
		return cli_error(CLI_FAIL, NULL, "%s", err.msg);
	return CLI_OK;
}

int main(int argc, char **argv)
{
	struct cli c = { .prog = "kvmarm-store", .argc = argc, .argv = argv };
	struct cli_args a;
	int rc;

	rc = cli_args_parse(&c, commands, sizeof(commands) / sizeof(commands[0]), main_usage, argc, argv, &a);
	if (!a.cmd)
		return rc;
	rc = a.cmd->fn(&c, &a);
	if (fflush(stdout) != 0 && rc == 0)
		rc = cli_error(CLI_FAIL, a.name, "writing to stdout: %s", strerror(errno));
	cli_args_release(&a);
	if (c.cfg)
		config_free(c.cfg);
	return rc;
}
