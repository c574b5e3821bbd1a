/*
 * t_config.c - the config table and loader: defaults, values from a file,
 * errors that name the file, key and value, list parsing, overrides, and
 * that conf/kvmarm-digest.conf documents exactly the keys of the table
 * (found through $KV_SRC, else the current directory).
 *
 * `t_config --sample` prints the sample: conf/kvmarm-digest.conf is
 * regenerated with `build/tests/t_config --sample > conf/kvmarm-digest.conf`.
 */
#include "kv.h"
#include "config.h"
#include "store.h"
#include <glib.h>
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/t_config.XXXXXX";

static const char *write_tmp(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	return path;
}

static int load_text(const char *text, struct kv_config **cfg, struct kv_err *err)
{
	return config_load(cfg, write_tmp("c.conf", text), err);
}

static void test_defaults(void)
{
	struct kv_config *cfg;
	struct kv_err err = { "" };
	struct strv sv = STRV_INIT;

	ok(config_load(&cfg, NULL, &err) == 0, "defaults only");
	is_str(config_str(cfg, "store", "path"), "/var/lib/kvmarm-digest/store", "store.path default");
	is_int(config_int(cfg, "store", "map_size_mb"), 256, "map_size_mb default");
	/* Debian's defaults: inside the chroot of Postfix's smtpd, reachable by
	 * group postfix */
	is_str(config_str(cfg, "milter", "socket"), "unix:/var/spool/postfix/kvmarm/milter.sock", "milter.socket default");
	is_str(config_str(cfg, "milter", "socket_group"), "postfix", "socket_group default");
	/* empty: the milter's built-in kvmarm when started as root */
	is_str(config_str(cfg, "milter", "user"), "", "milter user default");
	is_int(config_int(cfg, "milter", "socket_mode"), 0660, "socket_mode default is octal 0660");
	is_str(config_str(cfg, "milter", "socket_mode"), "0660", "socket_mode as string");
	is_int(config_int(cfg, "milter", "max_message_size"), 67108864, "max_message_size default");
	is_int(config_int(cfg, "store", "import_max_message_size"), 0, "import_max_message_size default: 0, the milter's limit");
	is_str(config_str(cfg, "milter", "on_error"), "accept", "on_error default");
	is_int(config_int(cfg, "milter", "commit_interval_ms"), 0, "commit_interval_ms default");
	is_int(config_int(cfg, "milter", "journal_flush_ms"), 100, "journal_flush_ms default");
	is_int(config_int(cfg, "milter", "timeout"), 600, "milter timeout default");
	is_str(config_str(cfg, "milter", "syslog_facility"), "mail", "syslog facility default");
	config_list(cfg, "milter", "list_ids", &sv);
	ok(sv.n == 2 && !strcmp(sv.v[0], "kvmarm.lists.linux.dev") &&
	   !strcmp(sv.v[1], "kvmarm.lists.cs.columbia.edu"), "list_ids default, trimmed");
	strv_release(&sv);
	is_str(config_str(cfg, "reporter", "timezone"), "Asia/Shanghai", "timezone default");
	is_str(config_str(cfg, "reporter", "language"), "zh", "language default");
	is_str(config_str(cfg, "reporter", "schedule"), "Mon 08:00", "schedule default");
	config_list(cfg, "reporter", "formats", &sv);
	ok(sv.n == 3 && !strcmp(sv.v[0], "md") && !strcmp(sv.v[2], "json"), "formats default");
	strv_release(&sv);
	is_str(config_str(cfg, "reporter", "transport"), "sendmail", "transport default");
	ok(config_bool(cfg, "reporter", "smtp_starttls") == 1, "smtp_starttls default true");
	is_int(config_int(cfg, "reporter", "large_thread"), 20, "large_thread default");
	is_int(config_int(cfg, "reporter", "review_wait_days"), 3, "review_wait_days default");
	is_str(config_str(cfg, "reporter", "marker_header"), "X-Kvmarm-Digest", "marker_header default");
	is_str(config_str(cfg, "reporter", "backfill_url"), "", "backfill_url default: off");
	is_int(config_int(cfg, "reporter", "backfill_max_fetch"), 20, "backfill_max_fetch default");
	is_int(config_int(cfg, "reporter", "backfill_timeout"), 30, "backfill_timeout default");
	is_int(config_int(cfg, "reporter", "backfill_max_size"), 8388608, "backfill_max_size default");
	is_str(config_str(cfg, "llm", "base_url"), "", "llm off by default");
	is_str(config_str(cfg, "llm", "api_key_env"), "KVMARM_LLM_API_KEY", "api_key_env default");
	ok(config_double(cfg, "llm", "temperature") == 0.2, "temperature default");
	is_int(config_int(cfg, "llm", "max_input_tokens"), 6000, "max_input_tokens default");
	is_int(config_int(cfg, "llm", "max_output_tokens"), 1536, "max_output_tokens default");
	is_int(config_int(cfg, "llm", "retries"), 4, "retries default");
	is_int(config_int(cfg, "llm", "deadline"), 1800, "deadline default");
	is_int(config_int(cfg, "llm", "max_answer_bytes"), 65536, "max_answer_bytes default");
	ok(config_double(cfg, "llm", "timeout") == 60, "an integer key reads as a double too");
	config_free(cfg);
}

/* Lists split on commas and on white space; the good socket forms load. */
static void test_lists_and_sockets(void)
{
	struct kv_config *cfg = NULL;
	struct kv_err err = { "" };
	struct strv sv = STRV_INIT;
	int rc = load_text("[milter]\nlist_ids = a.example  b.example,c.example ,\td.example\n"
			   "socket = inet:8891@localhost\n"
			   "[reporter]\nformats = md html txt\n", &cfg, &err);
	ok(rc == 0, "lists with spaces and an inet socket load %s", err.msg);
	if (rc != 0)
		return;
	config_list(cfg, "milter", "list_ids", &sv);
	ok(sv.n == 4 && !strcmp(sv.v[0], "a.example") && !strcmp(sv.v[1], "b.example") &&
	   !strcmp(sv.v[2], "c.example") && !strcmp(sv.v[3], "d.example"),
	   "list_ids 'a b,c , d' (spaces, commas, a tab): four ids, not one (%zu)", sv.n);
	strv_release(&sv);
	config_list(cfg, "reporter", "formats", &sv);
	ok(sv.n == 3 && !strcmp(sv.v[1], "html") && !strcmp(sv.v[2], "txt"),
	   "formats 'md html txt': three formats, txt among the choices");
	strv_release(&sv);
	config_set(cfg, "reporter", "to", "A <a@x>, b@x");
	config_list(cfg, "reporter", "to", &sv);
	ok(sv.n == 2 && !strcmp(sv.v[0], "A <a@x>"), "a string key read as a list splits on commas only");
	strv_release(&sv);
	static const char *const good[] = { "unix:/run/m.sock", "local:/run/m.sock", "/run/m.sock",
					    "inet:8891", "inet6:8891@::1" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(config_try_set(cfg, "milter", "socket", good[i], &err) == 0, "socket %s accepted", good[i]);
	ok(config_try_set(cfg, "milter", "syslog_facility", "LOCAL3", &err) == 0, "facility names in any case");
	ok(config_try_set(cfg, "milter", "syslog_facility", "mial", &err) < 0 && strstr(err.msg, "mial"),
	   "config_try_set refuses a bad facility: %s", err.msg);
	ok(config_try_set(cfg, "milter", "pid_file", "", &err) == 0, "an empty path (none) is fine");
	config_set(cfg, "store", "path", "rel/db");
	is_str(config_str(cfg, "store", "path"), "rel/db", "config_set takes a text value as given (milter --db)");
	config_free(cfg);
}

static void test_file(void)
{
	struct kv_config *cfg = NULL;
	struct kv_err err = { "" };
	struct strv sv = STRV_INIT;

	int rc = load_text("# comment\n"
			   "[store]\n"
			   "path = /srv/kv store  \n"
			   "map_size_mb=1024\n"
			   "\n"
			   "[milter]\n"
			   "socket_mode = 0600\n"
			   "list_ids = a.example.org ,, b.example.org,  \n"
			   "[reporter]\n"
			   "smtp_starttls = no\n"
			   "formats = html\n"
			   "[llm]\n"
			   "temperature = 0.75\n"
			   "timeout = 30\n", &cfg, &err);
	ok(rc == 0, "file with overrides loads %s", err.msg);
	if (rc != 0)
		return;
	is_str(config_str(cfg, "store", "path"), "/srv/kv store", "string value trimmed, inner space kept");
	is_int(config_int(cfg, "store", "map_size_mb"), 1024, "int without spaces around '='");
	is_int(config_int(cfg, "milter", "socket_mode"), 0600, "octal mode");
	config_list(cfg, "milter", "list_ids", &sv);
	ok(sv.n == 2 && !strcmp(sv.v[0], "a.example.org") && !strcmp(sv.v[1], "b.example.org"),
	   "list: trimmed, empty items dropped (%zu items)", sv.n);
	strv_release(&sv);
	ok(config_bool(cfg, "reporter", "smtp_starttls") == 0, "bool 'no'");
	config_list(cfg, "reporter", "formats", &sv);
	ok(sv.n == 1 && !strcmp(sv.v[0], "html"), "single-item list");
	strv_release(&sv);
	ok(config_double(cfg, "llm", "temperature") == 0.75, "double");
	is_int(config_int(cfg, "llm", "timeout"), 30, "int in its range");
	is_str(config_str(cfg, "reporter", "language"), "zh", "keys not in the file keep defaults");

	config_set(cfg, "reporter", "language", "en");
	is_str(config_str(cfg, "reporter", "language"), "en", "config_set overrides");
	ok(config_try_set(cfg, "llm", "retries", "x", &err) < 0 &&
	   strstr(err.msg, "retries") && strstr(err.msg, "'x'"), "config_try_set refuses a bad int: %s", err.msg);
	is_int(config_int(cfg, "llm", "retries"), 4, "refused value leaves the old one");
	ok(config_try_set(cfg, "llm", "nope", "1", &err) < 0 && strstr(err.msg, "nope"),
	   "config_try_set refuses an unknown key: %s", err.msg);
	ok(config_try_set(cfg, "llm", "retries", "7", &err) == 0 && config_int(cfg, "llm", "retries") == 7,
	   "config_try_set takes a good value");
	config_list(cfg, "reporter", "to", &sv);
	ok(sv.n == 1, "a string key can be read as a list");
	strv_release(&sv);
	config_free(cfg);
}

static void test_errors(void)
{
	struct kv_config *cfg = (struct kv_config *)&cfg;
	struct kv_err err = { "" };
	struct { const char *text; const char *need1, *need2; const char *name; } bad[] = {
		{ "[store]\npaht = /x\n", "paht", "[store]", "unknown key named" },
		{ "[stroe]\npath = /x\n", "[stroe]", "unknown section", "unknown section named" },
		{ "[store]\nmap_size_mb = 12x\n", "map_size_mb", "'12x'", "bad int names key and value" },
		{ "[store]\nmap_size_mb =\n", "map_size_mb", "not an integer", "empty int refused" },
		{ "[store]\nmap_size_mb = 99999999999999999999999\n", "map_size_mb", "not an integer", "int overflow refused" },
		{ "[reporter]\nsmtp_starttls = maybe\n", "smtp_starttls", "'maybe'", "bad bool names key and value" },
		{ "[llm]\ntemperature = warm\n", "temperature", "'warm'", "bad double names key and value" },
		{ "[milter]\nsocket_mode = 0990\n", "socket_mode", "'0990'", "bad octal mode" },
		{ "path = /x\n", "c.conf", "", "key outside a section" },
		{ "[milter]\nsyslog_facility = mial\n", "syslog_facility = 'mial'", "not a syslog facility",
		  "a misspelt syslog facility names key and value" },
		{ "[milter]\nsyslog_facility = mail\n\n# the list\nlist_ids = a b\n[reporter]\nformats = md pdf\n",
		  "c.conf:7:", "has 'pdf', which is not one of md|html|txt|json", "a bad list item: named with file and line" },
		{ "[reporter]\ntransport = smpt\n", "transport = 'smpt'", "not one of sendmail|smtp", "transport choices" },
		{ "[reporter]\nlanguage = fr\n", "c.conf:2: [reporter] language = 'fr'", "not one of zh|en", "language choices" },
		{ "[store]\npath = var/lib/kv\n", "c.conf:2: [store] path = 'var/lib/kv'", "not an absolute path",
		  "a relative store path" },
		{ "[milter]\nspool_dir = spool\n", "spool_dir = 'spool'", "absolute", "a relative spool_dir" },
		{ "[reporter]\nsendmail_path = sendmail\n", "sendmail_path", "absolute", "a relative sendmail_path" },
		{ "[milter]\nsocket = unix:run/m.sock\n", "socket = 'unix:run/m.sock'", "not a milter socket",
		  "a relative unix socket" },
		{ "[milter]\nsocket = inet:99999@localhost\n", "'inet:99999@localhost'", "not a milter socket",
		  "a port out of range" },
		{ "[milter]\nsocket = /tmp/x.sock\nsocket = tcp:25\n", "c.conf:3: [milter] socket = 'tcp:25'",
		  "not a milter socket", "a set twice: the last line (the one GKeyFile keeps) is named" },
		{ "[store]\n\n# comment\n  map_size_mb=12x\n", "c.conf:4: [store] map_size_mb", "not an integer",
		  "the line is found under blank lines, comments and indentation" },
		{ "[store]\npath = /x\n[llm]\nbase = x\n", "c.conf:4: unknown key 'base'", "[llm]",
		  "an unknown key: file and line" },
		{ "[store]\npath = /x\n[stroe]\n", "c.conf:3: unknown section [stroe]", "", "an unknown section: its line" },
		{ "[llm]\ntimeout = -3\n", "[llm] timeout = '-3'", "out of range (1 to 86400)", "a negative timeout" },
		{ "[store]\nmap_size_mb = 0\n", "map_size_mb = '0'", "out of range", "a zero map size" },
		{ "[llm]\nmax_concurrency = 500\n", "max_concurrency = '500'", "out of range (1 to 64)", "too many requests at once" },
		{ "[reporter]\nreview_wait_days = 61\n", "review_wait_days = '61'", "out of range (0 to 60)", "a review wait over 60 days" },
		{ "[reporter]\nreview_wait_days = -1\n", "review_wait_days = '-1'", "out of range (0 to 60)", "a negative review wait" },
		{ "[reporter]\nsmtp_url = 127.0.0.1:25\n", "smtp_url = '127.0.0.1:25'", "smtp://|smtps://", "an SMTP URL without scheme" },
		{ "[llm]\nbase_url = localhost:8080/v1\n", "base_url", "http://|https://", "an LLM URL without scheme" },
		{ "[reporter]\nbackfill_url = ftp://lore/x/\n", "c.conf:2: [reporter] backfill_url", "http://|https://", "a backfill URL of another scheme" },
		{ "[reporter]\nbackfill_max_fetch = -1\n", "backfill_max_fetch = '-1'", "out of range", "a negative backfill cap" },
		{ "[reporter]\nbackfill_max_size = 10\n", "backfill_max_size = '10'", "out of range", "a backfill size too small for any mail" },
		{ "[reporter]\ntimezone = Asia/Shangai\n", "timezone = 'Asia/Shangai'", "not a time zone", "a misspelt zone" },
		{ "[store\n", "c.conf", "", "broken section line" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		int rc = load_text(bad[i].text, &cfg, &err);
		ok(rc < 0 && cfg == NULL && strstr(err.msg, "c.conf") && strstr(err.msg, bad[i].need1) &&
		   strstr(err.msg, bad[i].need2), "%s: %s", bad[i].name, err.msg);
	}
	err.msg[0] = '\0';
	ok(config_load(&cfg, "/nonexistent/kv.conf", &err) < 0 && strstr(err.msg, "/nonexistent/kv.conf"),
	   "missing file named: %s", err.msg);
}

/* Keys named in a sample text: "# key = value" or "key = value" lines,
 * as "section.key". */
static void sample_keys(const char *text, struct strv *out)
{
	char section[64] = "";
	const char *p = text;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char line[512];
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		if (line[0] == '[') {
			char *close = strchr(line, ']');
			if (close) {
				*close = '\0';
				snprintf(section, sizeof(section), "%.63s", line + 1);
			}
		} else {
			char *l = line;
			if (l[0] == '#' && l[1] == ' ')
				l += 2;
			char *eq = strstr(l, " =");
			size_t kl = eq ? (size_t)(eq - l) : 0;
			if (eq && kl > 0 && strspn(l, "abcdefghijklmnopqrstuvwxyz_0123456789") == kl)
				strv_push_owned(out, kv_xasprintf("%s.%.*s", section, (int)kl, l));
		}
		if (!e)
			break;
		p = e + 1;
	}
}

static void test_sample(void)
{
	struct sbuf gen = SBUF_INIT;
	struct strv table = STRV_INIT, file = STRV_INIT;
	struct kv_err err = { "" };
	const char *src = getenv("KV_SRC");
	char *path = kv_xasprintf("%s/conf/kvmarm-digest.conf", src && *src ? src : ".");
	char *data = NULL;
	size_t len = 0;

	config_write_sample(&gen);
	sample_keys(gen.buf, &table);
	ok(table.n >= 44, "generated sample lists %zu keys", table.n);

	if (kv_read_file(path, &data, &len, &err) < 0) {
		ok(0, "read %s: %s", path, err.msg);
		goto out;
	}
	sample_keys(data, &file);
	int all_in = 1, none_extra = 1;
	for (size_t i = 0; i < table.n; i++)
		if (!strv_has(&file, table.v[i])) {
			all_in = 0;
			diag("%s: missing key %s", path, table.v[i]);
		}
	for (size_t i = 0; i < file.n; i++)
		if (!strv_has(&table, file.v[i])) {
			none_extra = 0;
			diag("%s: key %s is not in the table", path, file.v[i]);
		}
	ok(all_in, "every table key is documented in conf/kvmarm-digest.conf");
	ok(none_extra, "every key in conf/kvmarm-digest.conf is in the table");
	if (!ok(len == gen.len && memcmp(data, gen.buf, len) == 0,
		"conf/kvmarm-digest.conf is config_write_sample's output"))
		diag("regenerate it: build/tests/t_config --sample > conf/kvmarm-digest.conf");

	/* the sample loads as is, and with every line uncommented it loads
	 * and gives the defaults back */
	struct kv_config *cfg = NULL;
	ok(config_load(&cfg, path, &err) == 0, "sample loads as is %s", err.msg);
	config_free(cfg);
	struct sbuf un = SBUF_INIT;
	for (const char *p = data; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p + 1) : strlen(p);
		size_t w = n > 2 ? strspn(p + 2, "abcdefghijklmnopqrstuvwxyz_0123456789") : 0;
		if (n > 2 && p[0] == '#' && p[1] == ' ' && w > 0 && w + 4 <= n &&
		    memcmp(p + 2 + w, " =", 2) == 0)
			sbuf_add(&un, p + 2, n - 2);
		else
			sbuf_add(&un, p, n);
		p += n;
	}
	cfg = NULL;
	int rc = config_load(&cfg, write_tmp("uncommented.conf", un.buf), &err);
	ok(rc == 0, "sample with every key uncommented loads %s", err.msg);
	if (rc == 0) {
		struct kv_config *def = NULL;
		config_load(&def, NULL, &err);
		int same = 1;
		for (size_t i = 0; i < table.n; i++) {
			char sec[64], key[128];
			const char *dot = strchr(table.v[i], '.');
			snprintf(sec, sizeof(sec), "%.*s", (int)(dot - table.v[i]), table.v[i]);
			snprintf(key, sizeof(key), "%s", dot + 1);
			if (strcmp(config_str(cfg, sec, key), config_str(def, sec, key)) != 0) {
				same = 0;
				diag("%s: '%s' vs default '%s'", table.v[i], config_str(cfg, sec, key),
				     config_str(def, sec, key));
			}
		}
		ok(same, "uncommented sample values equal the table defaults");
		config_free(def);
	}
	config_free(cfg);
	sbuf_release(&un);
out:
	free(data);
	free(path);
	strv_release(&table);
	strv_release(&file);
	sbuf_release(&gen);
}

/* store_open_config: --db wins over [store] path, an empty path is an
 * error that says so, the directory is named on failure. */
static void test_open_config(void)
{
	struct kv_config *cfg = NULL;
	struct kv_err err = { "" };
	struct store *s = NULL;
	char *conf = kv_xasprintf("[store]\npath = %s/st-conf\nmap_size_mb = 4\n", tmpdir);
	char *over = kv_xasprintf("%s/st-over", tmpdir);

	if (!ok(load_text(conf, &cfg, &err) == 0, "config with [store] loads %s", err.msg))
		return;
	ok(store_open_config(&s, cfg, NULL, STORE_CREATE, &err) == 0 && s &&
	   strstr(store_path(s), "/st-conf"), "[store] path used: %s", s ? store_path(s) : err.msg);
	store_close(s);
	ok(store_open_config(&s, cfg, over, STORE_CREATE, &err) == 0 && s &&
	   strcmp(store_path(s), over) == 0, "the --db directory wins over [store] path");
	store_close(s);
	ok(store_open_config(&s, cfg, "", STORE_RDONLY, &err) == 0 && s &&
	   strstr(store_path(s), "/st-conf"), "an empty --db falls back to [store] path");
	store_close(s);
	config_set(cfg, "store", "path", "");
	ok(store_open_config(&s, cfg, NULL, STORE_RDONLY, &err) < 0 && !s && strstr(err.msg, "[store] path"),
	   "an empty [store] path is an error naming it: %s", err.msg);
	ok(store_open_config(&s, NULL, "/nonexistent/kvstore", STORE_RDONLY, &err) < 0 &&
	   strstr(err.msg, "/nonexistent/kvstore"), "failure names the directory: %s", err.msg);
	config_free(cfg);
	free(conf);
	free(over);
}

/* The key-file reader (ours since GLib's GKeyFile left config.c) reads
 * what GKeyFile read: the same files load or fail, with the same value of
 * [milter] user (a plain string key), over escapes, white space, CRLF,
 * comments, sections named twice, keys set twice and broken lines. */
static void test_keyfile_as_glib(void)
{
	static const char *const texts[] = {
		"[milter]\nuser = kv\n",
		"[milter]\r\nuser = kv\r\n",
		"  [milter]  \n\tuser\t=\tkv  \n",
		"[milter]\nuser=kv\\sx\\ty\\\\z\\n\n",
		"[milter]\nuser = \\skv\\s\n",
		"[milter]\nuser = a\\qb\n",
		"[milter]\nuser = a\\\n",
		"[milter]\nuser = a = b\n",
		"[milter]\nuser = one\nuser = two\n",
		"[milter]\nuser = one\n[store]\n[milter]\nuser = three\n",
		"# c\n\n[milter]\n# user = no\n  # x\nuser = yes\n",
		"[milter] # c\nuser = kv\n",
		"[milter]x\nuser = kv\n",
		"[]\nuser = kv\n",
		"[mil[ter]\nuser = kv\n",
		"user = kv\n[milter]\n",
		"[milter]\njunk\n",
		"[milter]\n= kv\n",
		"[milter]\nuser =\n",
		"[milter]\nuser = caf\xc3\xa9\n",
		"[milter]\nuser = caf\xe9\n",
		"[milter]\nuser = kv",
		"",
		"\n\n",
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct kv_config *cfg = NULL;
		struct kv_err err = { "" };
		int rc = load_text(texts[i], &cfg, &err);
		GKeyFile *kf = g_key_file_new();
		int grc = g_key_file_load_from_data(kf, texts[i], strlen(texts[i]), G_KEY_FILE_NONE, NULL) ? 0 : -1;
		gchar *gv = NULL;
		if (grc == 0 && g_key_file_has_key(kf, "milter", "user", NULL)) {
			gv = g_key_file_get_string(kf, "milter", "user", NULL);
			if (!gv)
				grc = -1;
			else
				g_strstrip(gv);
		}
		const char *ours = rc == 0 ? config_str(cfg, "milter", "user") : NULL;
		const char *theirs = grc == 0 ? (gv ? gv : "") : NULL;
		if ((rc == 0) != (grc == 0) || (ours && strcmp(ours, theirs))) {
			diag("text %zu: ours rc %d '%s' (%s), GKeyFile rc %d '%s'", i, rc, ours ? ours : "-", err.msg,
			     grc, theirs ? theirs : "-");
			bad++;
		}
		g_free(gv);
		g_key_file_free(kf);
		if (cfg)
			config_free(cfg);
	}
	is_int(bad, 0, "the key-file reader accepts, refuses and reads values as GKeyFile does");
}

int main(int argc, char **argv)
{
	/* the sample config is this program's output: see test_sample */
	if (argc == 2 && !strcmp(argv[1], "--sample")) {
		struct sbuf gen = SBUF_INIT;
		config_write_sample(&gen);
		fwrite(gen.buf, 1, gen.len, stdout);
		sbuf_release(&gen);
		return 0;
	}
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_defaults();
	test_file();
	test_lists_and_sockets();
	test_errors();
	test_keyfile_as_glib();
	test_sample();
	test_open_config();
	unlink(write_tmp("c.conf", ""));
	unlink(write_tmp("uncommented.conf", ""));
	char *rm = kv_xasprintf("rm -rf '%s'", tmpdir);
	if (system(rm) != 0)
		diag("could not remove %s", tmpdir);
	free(rm);
	return done_testing();
}
