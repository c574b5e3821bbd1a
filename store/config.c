/*
 * config.c - the configuration all three programs share: one table of
 * every key (section, name, type, default, one line of documentation),
 * a loader over GLib's GKeyFile that refuses unknown sections and keys and
 * values of the wrong type (naming file, key and value), typed getters, and
 * the writer of the documented sample (conf/kvmarm-digest.conf is its
 * output, kept in step by tests/unit/t_config.c).
 *
 * A loaded config is read-only afterwards and may be shared between threads;
 * config_set is for start-up (command-line options), before threads exist.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <glib.h>

enum cfg_type { CFG_STR, CFG_INT, CFG_DOUBLE, CFG_BOOL, CFG_LIST, CFG_MODE };

struct cfg_key {
	const char *section;
	const char *key;
	enum cfg_type type;
	const char *def;
	const char *doc;
};

static const struct cfg_key keys[] = {
	/* [store] */
	{ "store", "path", CFG_STR, "/var/lib/kvmarm-digest/store",
	  "Directory of the LMDB message store (created if missing)." },
	{ "store", "map_size_mb", CFG_INT, "256",
	  "Initial LMDB map size in MB; the map grows by itself when full." },

	/* [milter] */
	{ "milter", "socket", CFG_STR, "unix:/run/kvmarm-digest/milter.sock",
	  "Milter socket: unix:/path, inet:port@host or inet6:port@host." },
	{ "milter", "socket_owner", CFG_STR, "",
	  "Owner of the unix socket (empty: the user the milter runs as)." },
	{ "milter", "socket_group", CFG_STR, "",
	  "Group of the unix socket, e.g. postfix (empty: unchanged)." },
	{ "milter", "socket_mode", CFG_MODE, "0660",
	  "Permissions of the unix socket, octal; the MTA must be able to connect." },
	{ "milter", "list_ids", CFG_LIST, "kvmarm.lists.linux.dev, kvmarm.lists.cs.columbia.edu",
	  "List-Id values to record, comma-separated; other mail passes unrecorded." },
	{ "milter", "user", CFG_STR, "",
	  "User to switch to after opening the socket (empty: stay)." },
	{ "milter", "group", CFG_STR, "",
	  "Group to switch to after opening the socket (empty: the user's group)." },
	{ "milter", "run_as_root", CFG_BOOL, "false",
	  "When started as root with user empty, the milter switches to the user kvmarm, or refuses to start when that user does not exist; true lets it stay root instead (also required for a user that is root)." },
	{ "milter", "pid_file", CFG_STR, "",
	  "File to write the daemon's process id to (empty: none)." },
	{ "milter", "syslog_facility", CFG_STR, "mail",
	  "Syslog facility: mail, daemon, user or local0 to local7." },
	{ "milter", "max_message_size", CFG_INT, "67108864",
	  "Largest message in bytes to record; larger ones pass unrecorded, logged." },
	{ "milter", "on_error", CFG_STR, "accept",
	  "When the store fails: accept (let the mail through) or tempfail." },
	{ "milter", "spool_dir", CFG_STR, "/var/spool/kvmarm-digest",
	  "Where messages wait when the store cannot take them; replayed later." },
	{ "milter", "journal_sync", CFG_STR, "after-answer",
	  "When the journal is flushed to disk: after-answer (the mail is written to the journal when the milter answers, which survives a crash or kill of the milter; fdatasync follows, see journal_flush_ms) or before-answer (the answer waits for the fdatasync, shared by the mails that arrive meanwhile: survives a power loss from the answer on, but every answer waits for the disk)." },
	{ "milter", "journal_flush_ms", CFG_INT, "100",
	  "With journal_sync = after-answer: at most one journal fdatasync per this many milliseconds (0: one after the other); a mail after a quiet spell is synced at once. A power loss can lose the mails answered within this window from the journal (the MTA still delivers them; see the README on import). Each sync costs CPU and delays the MTA's own syncs." },
	{ "milter", "commit_interval_ms", CFG_INT, "0",
	  "With journal_sync = before-answer: extra wait in milliseconds before a group sync; 0 (best) lets mails that arrive during one sync share the next." },
	{ "milter", "timeout", CFG_INT, "600",
	  "Seconds libmilter waits on the MTA before giving up a connection." },

	/* [reporter] */
	{ "reporter", "timezone", CFG_STR, "Asia/Shanghai",
	  "IANA zone for the digest's week boundaries and displayed times." },
	{ "reporter", "language", CFG_STR, "zh",
	  "Language of the digest text: zh or en." },
	{ "reporter", "schedule", CFG_STR, "Mon 08:00",
	  "When the daemon sends the digest: weekday and time in the timezone above." },
	{ "reporter", "output_dir", CFG_STR, "/var/lib/kvmarm-digest/archive",
	  "Directory where each digest is archived." },
	{ "reporter", "formats", CFG_LIST, "md,html,json",
	  "Formats to write, comma-separated: md, html, json." },
	{ "reporter", "from", CFG_STR, "kvmarm-digest@localhost",
	  "From address of the digest mail." },
	{ "reporter", "to", CFG_STR, "kvmarm-digest@localhost",
	  "Recipients of the digest mail, comma-separated." },
	{ "reporter", "transport", CFG_STR, "sendmail",
	  "How the digest is sent: sendmail or smtp." },
	{ "reporter", "sendmail_path", CFG_STR, "/usr/sbin/sendmail",
	  "The sendmail program for transport = sendmail." },
	{ "reporter", "smtp_url", CFG_STR, "smtp://127.0.0.1:25",
	  "SMTP server for transport = smtp (smtp:// or smtps://)." },
	{ "reporter", "smtp_user", CFG_STR, "",
	  "SMTP user name (empty: no authentication)." },
	{ "reporter", "smtp_password_file", CFG_STR, "",
	  "File holding the SMTP password (kept out of this file)." },
	{ "reporter", "smtp_starttls", CFG_BOOL, "true",
	  "Require STARTTLS on smtp:// connections." },
	{ "reporter", "lore_url", CFG_STR, "https://lore.kernel.org/kvmarm/",
	  "Archive base URL; links are this plus the Message-ID." },
	{ "reporter", "large_thread", CFG_INT, "20",
	  "Threads with at least this many mails in the week are marked as large." },
	{ "reporter", "marker_header", CFG_STR, "X-Kvmarm-Digest",
	  "Header put on digest mails so the milter never records them." },

	/* [llm] */
	{ "llm", "base_url", CFG_STR, "",
	  "OpenAI-compatible API base URL (empty: no LLM, extractive summaries)." },
	{ "llm", "model", CFG_STR, "",
	  "Model name sent with each request." },
	{ "llm", "api_key_file", CFG_STR, "",
	  "File holding the API key (read at start)." },
	{ "llm", "api_key_env", CFG_STR, "KVMARM_LLM_API_KEY",
	  "Environment variable holding the API key, used when api_key_file is empty." },
	{ "llm", "timeout", CFG_INT, "60",
	  "Seconds one request may take." },
	{ "llm", "max_concurrency", CFG_INT, "4",
	  "Requests in flight at once." },
	{ "llm", "max_input_tokens", CFG_INT, "6000",
	  "Budget of input tokens per request; longer threads are cut down to it." },
	{ "llm", "max_output_tokens", CFG_INT, "800",
	  "Most tokens one summary may take." },
	{ "llm", "temperature", CFG_DOUBLE, "0.2",
	  "Sampling temperature." },
	{ "llm", "language", CFG_STR, "",
	  "Language of the summaries (empty: the reporter's language)." },
	{ "llm", "retries", CFG_INT, "4",
	  "Retries of a failed request, with growing back-off." },
	{ "llm", "deadline", CFG_INT, "1800",
	  "Seconds for all summaries of one digest; what is left falls back to extractive." },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct kv_config {
	char *values[NKEYS];   /* NULL: the table default */
};

static const char *type_name(enum cfg_type t)
{
	switch (t) {
	case CFG_STR: return "string";
	case CFG_INT: return "integer";
	case CFG_DOUBLE: return "number";
	case CFG_BOOL: return "boolean";
	case CFG_LIST: return "list";
	case CFG_MODE: return "octal mode";
	}
	kv_panic("config: bad type %d", (int)t);
}

static int find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
			return (int)i;
	return -1;
}

static int known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

static const struct cfg_key *must_find(const char *section, const char *key, int *idx)
{
	int i = find_key(section, key);
	if (i < 0)
		kv_panic("config: no key [%s] %s in the table", section, key);
	*idx = i;
	return &keys[i];
}

static int parse_ll(const char *s, long long *out)
{
	char *end;
	errno = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -1;
	long long v = strtoll(s, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_mode(const char *s, long long *out)
{
	char *end;
	errno = 0;
	if (!*s)
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '7')
			return -1;
	long long v = strtoll(s, &end, 8);
	if (errno || *end || v > 07777)
		return -1;
	*out = v;
	return 0;
}

static int parse_dbl(const char *s, double *out)
{
	char *end;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -1;
	errno = 0;
	double v = g_ascii_strtod(s, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Is value acceptable for key k? "" on success, else why not. */
static const char *check_value(const struct cfg_key *k, const char *v)
{
	long long ll;
	double d;
	int b;

	switch (k->type) {
	case CFG_STR:
	case CFG_LIST:
		return "";
	case CFG_INT:
		return parse_ll(v, &ll) == 0 ? "" : "is not an integer";
	case CFG_MODE:
		return parse_mode(v, &ll) == 0 ? "" : "is not an octal mode such as 0660";
	case CFG_DOUBLE:
		return parse_dbl(v, &d) == 0 ? "" : "is not a number";
	case CFG_BOOL:
		return parse_bool(v, &b) == 0 ? "" : "is not a boolean (true/false, yes/no, on/off, 1/0)";
	}
	return "has an unknown type";
}

int config_load(struct kv_config **out, const char *path, struct kv_err *err)
{
	struct kv_config *cfg = kv_xcalloc(1, sizeof(*cfg));
	GKeyFile *kf;
	GError *gerr = NULL;
	gchar **groups = NULL;
	int rc = -1;

	*out = NULL;
	if (!path) {
		*out = cfg;
		return 0;
	}
	kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &gerr)) {
		kv_err_set(err, "config %s: %s", path, gerr->message);
		g_error_free(gerr);
		goto out;
	}
	groups = g_key_file_get_groups(kf, NULL);
	for (gchar **g = groups; *g; g++) {
		gchar **names;
		if (!known_section(*g)) {
			kv_err_set(err, "config %s: unknown section [%s]", path, *g);
			goto out;
		}
		names = g_key_file_get_keys(kf, *g, NULL, NULL);
		for (gchar **k = names; names && *k; k++) {
			int i = find_key(*g, *k);
			gchar *v;
			const char *why;
			if (i < 0) {
				kv_err_set(err, "config %s: unknown key '%s' in section [%s]", path, *k, *g);
				g_strfreev(names);
				goto out;
			}
			/* get_string undoes GKeyFile's escapes (\s, \n, \\) */
			v = g_key_file_get_string(kf, *g, *k, &gerr);
			if (!v) {
				kv_err_set(err, "config %s: [%s] %s: %s", path, *g, *k, gerr->message);
				g_error_free(gerr);
				g_strfreev(names);
				goto out;
			}
			g_strstrip(v);
			why = check_value(&keys[i], v);
			if (*why) {
				kv_err_set(err, "config %s: [%s] %s = '%s' %s", path, *g, *k, v, why);
				g_free(v);
				g_strfreev(names);
				goto out;
			}
			free(cfg->values[i]);
			cfg->values[i] = kv_xstrdup(v);
			g_free(v);
		}
		g_strfreev(names);
	}
	rc = 0;
out:
	g_strfreev(groups);
	g_key_file_free(kf);
	if (rc == 0)
		*out = cfg;
	else
		config_free(cfg);
	return rc;
}

void config_free(struct kv_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		free(cfg->values[i]);
	free(cfg);
}

static const char *raw_value(const struct kv_config *cfg, int i)
{
	return cfg && cfg->values[i] ? cfg->values[i] : keys[i].def;
}

const char *config_str(const struct kv_config *cfg, const char *section, const char *key)
{
	int i;
	must_find(section, key, &i);
	return raw_value(cfg, i);
}

long long config_int(const struct kv_config *cfg, const char *section, const char *key)
{
	int i;
	long long v;
	const struct cfg_key *k = must_find(section, key, &i);
	if (k->type == CFG_MODE) {
		if (parse_mode(raw_value(cfg, i), &v) < 0)
			kv_panic("config: [%s] %s holds a bad mode", section, key);
		return v;
	}
	if (k->type != CFG_INT)
		kv_panic("config: [%s] %s is a %s, not an integer", section, key, type_name(k->type));
	if (parse_ll(raw_value(cfg, i), &v) < 0)
		kv_panic("config: [%s] %s holds a bad integer", section, key);
	return v;
}

double config_double(const struct kv_config *cfg, const char *section, const char *key)
{
	int i;
	double d;
	const struct cfg_key *k = must_find(section, key, &i);
	if (k->type != CFG_DOUBLE && k->type != CFG_INT)
		kv_panic("config: [%s] %s is a %s, not a number", section, key, type_name(k->type));
	if (parse_dbl(raw_value(cfg, i), &d) < 0)
		kv_panic("config: [%s] %s holds a bad number", section, key);
	return d;
}

int config_bool(const struct kv_config *cfg, const char *section, const char *key)
{
	int i, b;
	const struct cfg_key *k = must_find(section, key, &i);
	if (k->type != CFG_BOOL)
		kv_panic("config: [%s] %s is a %s, not a boolean", section, key, type_name(k->type));
	if (parse_bool(raw_value(cfg, i), &b) < 0)
		kv_panic("config: [%s] %s holds a bad boolean", section, key);
	return b;
}

void config_list(const struct kv_config *cfg, const char *section, const char *key, struct strv *out)
{
	int i;
	must_find(section, key, &i);
	const char *p = raw_value(cfg, i);
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *s = p;
		while (n > 0 && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n > 0)
			strv_push_owned(out, kv_xstrndup(s, n));
		if (!e)
			break;
		p = e + 1;
	}
}

int config_try_set(struct kv_config *cfg, const char *section, const char *key,
		   const char *value, struct kv_err *err)
{
	int i = find_key(section, key);
	const char *why;
	if (i < 0)
		return kv_err_set(err, "config: unknown key '%s' in section [%s]", key, section);
	why = check_value(&keys[i], value);
	if (*why)
		return kv_err_set(err, "config: [%s] %s = '%s' %s", section, key, value, why);
	free(cfg->values[i]);
	cfg->values[i] = kv_xstrdup(value);
	return 0;
}

void config_set(struct kv_config *cfg, const char *section, const char *key, const char *value)
{
	struct kv_err err;
	int i;
	must_find(section, key, &i);
	/* a bad value here comes from our own code, not from a user's file
	 * (command lines should go through config_try_set) */
	if (config_try_set(cfg, section, key, value, &err) < 0)
		kv_panic("%s", err.msg);
}

void config_write_sample(struct sbuf *out)
{
	const char *section = NULL;

	sbuf_adds(out,
		  "# kvmarm-digest configuration, read by kvmarm-milter, kvmarm-store and\n"
		  "# kvmarm-reporter (--config FILE). GLib key-file syntax: [section] lines,\n"
		  "# then \"name = value\" lines; comments on lines of their own, '#' first.\n"
		  "# Every key is listed with its default; uncomment a line to change it.\n"
		  "# Unknown sections or keys are an error. Lists are comma-separated;\n"
		  "# booleans are true/false (also yes/no, on/off, 1/0).\n");
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &keys[i];
		if (!section || strcmp(section, k->section) != 0) {
			section = k->section;
			sbuf_addf(out, "\n[%s]\n", section);
		}
		sbuf_addf(out, "\n# %s", k->doc);
		if (k->type != CFG_STR)
			sbuf_addf(out, " (%s)", type_name(k->type));
		sbuf_addc(out, '\n');
		if (k->def[0])
			sbuf_addf(out, "# %s = %s\n", k->key, k->def);
		else
			sbuf_addf(out, "# %s =\n", k->key);
	}
}
