/*
 * args.c - the command line of `kvmarm-store`, parsed once for every
 * command: global options (--db, --config, --help) and the command's own
 * options may stand before or after the command and its arguments, in any
 * order, as with getopt_long's permutation (git and notmuch users expect
 * `kvmarm-store threads --db D` and `show 49 --tz Europe/London` to work);
 * `--` ends the options. Errors name the token that is wrong. Also the
 * date window (--since/--until) every window command reads the same way.
 *
 * Our own parser rather than getopt_long: getopt cannot say which token an
 * unknown short option came from (`search -subject:Re` was reported as
 * "unknown option 'search'"), and the command must be found among the
 * arguments before its option table is known.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kvtime.h"
#include "banned.h"

enum { GLOBAL_DB = 1, GLOBAL_CONFIG, GLOBAL_HELP };

static const struct {
	const char *name;
	int has_arg;
	int id;
} globals[] = {
	{ "db", 1, GLOBAL_DB },
	{ "config", 1, GLOBAL_CONFIG },
	{ "help", 0, GLOBAL_HELP },
};

/* "--name" or "--name=value": the name's length; *val the value or NULL. */
static size_t long_name(const char *tok, const char **val)
{
	const char *eq = strchr(tok + 2, '=');
	*val = eq ? eq + 1 : NULL;
	return eq ? (size_t)(eq - tok - 2) : strlen(tok + 2);
}

static int name_is(const char *name, const char *tok, size_t n)
{
	return strlen(name) == n && !strncmp(name, tok, n);
}

static int find_global(const char *tok, size_t n)
{
	for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
		if (name_is(globals[i].name, tok, n))
			return (int)i;
	return -1;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *tok, size_t n)
{
	for (; opts && opts->name; opts++)
		if (name_is(opts->name, tok, n))
			return opts;
	return NULL;
}

/* An option token: "--x..." or "-x...", not "-" (stdin) nor "--". */
static int is_option(const char *tok)
{
	return tok[0] == '-' && tok[1] && strcmp(tok, "--") != 0;
}

/* Does option token tok take the next token as its value? Asked before the
 * command is known, so every command's options count. */
static int takes_next(const char *tok, const struct cli_cmd *const *cmds, size_t ncmds)
{
	const char *val;
	size_t n;
	int g;
	if (tok[1] != '-')
		return 0;
	n = long_name(tok, &val);
	if (val)
		return 0;
	if ((g = find_global(tok + 2, n)) >= 0)
		return globals[g].has_arg;
	for (size_t k = 0; k < ncmds; k++) {
		const struct cli_opt *o = find_opt(cmds[k]->opts, tok + 2, n);
		if (o)
			return o->has_arg;
	}
	return 0;
}

/* An error before the command is known: the message, the usage line, and
 * where the rest is (the whole text would bury the message). */
static int main_error(const char *main_usage, const char *fmt, const char *tok)
{
	cli_error(CLI_USAGE, NULL, fmt, tok);
	fprintf(stderr, "%.*s(`kvmarm-store --help` lists the commands and options)\n",
		(int)(strchr(main_usage, '\n') - main_usage + 1), main_usage);
	return CLI_USAGE;
}

int cli_args_parse(struct cli *c, const struct cli_cmd *const *cmds, size_t ncmds,
		   const char *main_usage, int argc, char **argv, struct cli_args *a)
{
	int at = -1, help = 0, dashdash = argc;

	memset(a, 0, sizeof(*a));
	/* find the command: the first token that is neither an option nor an
	 * option's value */
	for (int i = 1; i < argc; i++) {
		const char *t = argv[i];
		if (!strcmp(t, "--")) {
			dashdash = i;
			at = i + 1 < argc ? i + 1 : -1;
			break;
		}
		if (!is_option(t)) {
			at = i;
			break;
		}
		if (!strcmp(t, "-h") || !strcmp(t, "--help"))
			help = 1;
		else if (takes_next(t, cmds, ncmds))
			i++;
	}
	if (at < 0) {
		if (help)
			return cli_usage(main_usage, CLI_OK);
		/* a global option without its value, or no command at all */
		for (int i = 1; i < argc && i < dashdash; i++) {
			const char *val;
			size_t n = argv[i][0] == '-' && argv[i][1] == '-' ? long_name(argv[i], &val) : 0;
			int g = n ? find_global(argv[i] + 2, n) : -1;
			if (g >= 0 && globals[g].has_arg && !val && i + 1 >= argc)
				return main_error(main_usage, "option '%s' needs a value", argv[i]);
		}
		return main_error(main_usage, "%s", "no command given");
	}
	for (size_t k = 0; k < ncmds; k++)
		if (!strcmp(argv[at], cmds[k]->name))
			a->cmd = cmds[k];
	if (!a->cmd)
		return main_error(main_usage, "unknown command '%s'", argv[at]);
	/* from here on every early return releases a (a->cmd NULL again) */
	a->name = a->cmd->name;
	a->o = kv_xcalloc((size_t)argc, sizeof(*a->o));
	a->pos = kv_xcalloc((size_t)argc, sizeof(*a->pos));

	/* every token but the command: options (permuted out of the way) and
	 * arguments, in order; after `--` only arguments */
	for (int i = 1; i < argc; i++) {
		const char *t = argv[i], *val = NULL;
		size_t n;
		if (i == at)
			continue;
		if (i > dashdash) {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (!strcmp(t, "--")) {
			dashdash = i;
			continue;
		}
		if (!is_option(t)) {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (!strcmp(t, "-h")) {
			help = 1;
			continue;
		}
		n = t[1] == '-' ? long_name(t, &val) : 0;
		int g = n ? find_global(t + 2, n) : -1;
		const struct cli_opt *o = n && g < 0 ? find_opt(a->cmd->opts, t + 2, n) : NULL;
		int has_arg = g >= 0 ? globals[g].has_arg : o ? o->has_arg : 0;
		if (g < 0 && !o) {
			/* no short options besides -h: name the whole token, and
			 * say how to pass an argument that starts with '-' */
			if (a->cmd->positional)
				cli_error(CLI_USAGE, a->name, "unknown option '%.*s'; an argument that starts with '-' "
					  "goes after '--': kvmarm-store %s -- %s", (int)(n ? n + 2 : strlen(t)), t,
					  a->name, t);
			else
				cli_error(CLI_USAGE, a->name, "unknown option '%.*s' (see kvmarm-store %s --help)",
					  (int)(n ? n + 2 : strlen(t)), t, a->name);
			cli_args_release(a);
			return CLI_USAGE;
		}
		if (!has_arg && val) {
			cli_error(CLI_USAGE, a->name, "option '--%.*s' takes no value ('%s')", (int)n, t + 2, t);
			cli_args_release(a);
			return CLI_USAGE;
		}
		if (has_arg && !val) {
			if (i + 1 >= argc || i + 1 == at) {
				cli_error(CLI_USAGE, a->name, "option '%s' needs a value", t);
				cli_args_release(a);
				return CLI_USAGE;
			}
			val = argv[++i];
		}
		if (g >= 0) {
			if (globals[g].id == GLOBAL_DB)
				c->db = val;
			else if (globals[g].id == GLOBAL_CONFIG)
				c->config = val;
			else
				help = 1;
			continue;
		}
		a->o[a->no].id = o->id;
		a->o[a->no].val = val;
		a->o[a->no].tok = t;
		a->no++;
	}
	if (help) {
		const char *usage = a->cmd->usage;
		cli_args_release(a);
		cli_usage(usage, CLI_OK);
		fputs("\nOptions may stand before or after the arguments, in any order; `--`\n"
		      "ends them. --db DIR or --config FILE selects the store (see\n"
		      "`kvmarm-store --help`).\n", stdout);
		return CLI_OK;
	}
	return CLI_OK;
}

void cli_args_release(struct cli_args *a)
{
	a->cmd = NULL;
	free(a->o);
	free(a->pos);
	a->o = NULL;
	a->pos = NULL;
	a->no = a->npos = 0;
}

const char *cli_args_get(const struct cli_args *a, enum cli_opt_id id)
{
	const char *v = NULL;
	for (size_t i = 0; i < a->no; i++)
		if (a->o[i].id == id)
			v = a->o[i].val;
	return v;
}

int cli_args_has(const struct cli_args *a, enum cli_opt_id id)
{
	for (size_t i = 0; i < a->no; i++)
		if (a->o[i].id == id)
			return 1;
	return 0;
}

int cli_args_error(const struct cli_args *a, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "kvmarm-store %s: ", a->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return cli_usage(a->cmd->usage, CLI_USAGE);
}

int cli_args_count(const struct cli_args *a, enum cli_opt_id id, long min, long max, long *out)
{
	for (size_t i = 0; i < a->no; i++) {
		char *e;
		if (a->o[i].id != id)
			continue;
		long v = strtol(a->o[i].val, &e, 10);
		if (!*a->o[i].val || *e || v < min || v > max) {
			cli_error(CLI_USAGE, a->name, "%.*s: want a number from %ld to %ld, got '%s'",
				  (int)strcspn(a->o[i].tok, "="), a->o[i].tok, min, max, a->o[i].val);
			return -1;
		}
		*out = v;
	}
	return 0;
}

/* ---- date windows ---- */

int cli_window_set(struct cli_window *w, const char *cmd, const char *what, const char *val, int is_until)
{
	int64_t t;
	if (kvtime_parse_iso(val, &t) < 0) {
		cli_error(CLI_USAGE, cmd, "%s: bad date '%s' (want YYYY-MM-DD or ISO 8601)", what, val);
		return -1;
	}
	*(is_until ? &w->until : &w->since) = t;
	w->bounded = 1;
	return 0;
}

int cli_window_check(const struct cli_window *w, const char *cmd)
{
	if (w->until <= w->since) {
		char a[32], b[32];
		cli_iso(w->since, a, sizeof(a));
		cli_iso(w->until, b, sizeof(b));
		cli_error(CLI_USAGE, cmd, "empty window: until (%s) is not after since (%s)", b, a);
		return -1;
	}
	return 0;
}

int cli_window_opts(const struct cli_args *a, struct cli_window *w)
{
	for (size_t i = 0; i < a->no; i++) {
		if (a->o[i].id != OPT_SINCE && a->o[i].id != OPT_UNTIL)
			continue;
		int u = a->o[i].id == OPT_UNTIL;
		if (cli_window_set(w, a->name, u ? "--until" : "--since", a->o[i].val, u) < 0)
			return -1;
	}
	return 0;
}

int cli_window_args(const struct cli_args *a, struct cli_window *w)
{
	if (cli_window_opts(a, w) < 0)
		return -1;
	return cli_window_check(w, a->name);
}

const char *cli_window_iso(int64_t t, char *buf, size_t n)
{
	if (t == INT64_MIN || t == INT64_MAX)
		return NULL;
	cli_iso(t, buf, n);
	return buf;
}
