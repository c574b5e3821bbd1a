/*
 * config.c - the configuration all three programs share: one table of
 * every key (section, name, type, default, one line of documentation),
 * a loader of the key file (GLib's GKeyFile syntax, read by our own code)
 * that refuses unknown sections and keys and
 * values of the wrong type (naming file, key and value), typed getters, and
 * the writer of the documented sample (conf/kvmarm-digest.conf is its
 * output, kept in step by tests/unit/t_config.c).
 *
 * A loaded config is read-only afterwards and may be shared between threads;
 * config_set is for start-up (command-line options), before threads exist.
 */
#include "config.h"
#include "log.h"
#include "kvtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "banned.h"

/*
 * CFG_LIST: items separated by commas or white space (both, as people
 * type them). CFG_PATH: an absolute path, or empty: the daemons leave
 * their start directory, so a relative path would change meaning.
 * CFG_FACILITY: a syslog facility name. CFG_SOCKET: a milter socket.
 */
enum cfg_type { CFG_STR, CFG_INT, CFG_DOUBLE, CFG_BOOL, CFG_LIST, CFG_MODE, CFG_PATH, CFG_FACILITY,
		CFG_SOCKET };

struct cfg_key {
	const char *section;
	const char *key;
	enum cfg_type type;
	const char *def;
	const char *doc;
};

static const struct cfg_key keys[] = {
	/* [store] */
	{ "store", "path", CFG_PATH, "/var/lib/kvmarm-digest/store",
	  "Directory of the LMDB message store (created if missing)." },
	{ "store", "map_size_mb", CFG_INT, "256",
	  "Initial LMDB map size in MB; the map grows by itself when full." },
	{ "store", "import_max_message_size", CFG_INT, "0",
	  "Largest message kvmarm-store import records, in bytes; a bigger one (a gzip bomb, a stray attachment) is skipped with a line naming it, without being held in memory. 0: the same as [milter] max_message_size." },

	/* [milter] */
	{ "milter", "socket", CFG_SOCKET, "unix:/var/spool/postfix/kvmarm/milter.sock",
	  "Milter socket: unix:/path, inet:port@host or inet6:port@host. The default lies inside Postfix's chroot (Debian runs smtpd chrooted in /var/spool/postfix), where Postfix names it unix:/kvmarm/milter.sock." },
	{ "milter", "socket_owner", CFG_STR, "",
	  "Owner of the unix socket (empty: the user the milter runs as)." },
	{ "milter", "socket_group", CFG_STR, "postfix",
	  "Group of the unix socket; Postfix's smtpd runs in group postfix (empty: unchanged)." },
	{ "milter", "socket_mode", CFG_MODE, "0660",
	  "Permissions of the unix socket, octal; the MTA must be able to connect." },
	{ "milter", "list_ids", CFG_LIST, "kvmarm.lists.linux.dev, kvmarm.lists.cs.columbia.edu",
	  "List-Id values to record; other mail passes unrecorded." },
	{ "milter", "user", CFG_STR, "",
	  "User to switch to after opening the socket (empty: kvmarm, the system user the Debian package creates, when started as root; see run_as_root)." },
	{ "milter", "group", CFG_STR, "",
	  "Group to switch to after opening the socket (empty: the user's group)." },
	{ "milter", "run_as_root", CFG_BOOL, "false",
	  "When started as root with user empty, the milter switches to the user kvmarm, or refuses to start when that user does not exist; true lets it stay root instead (also required for a user that is root)." },
	{ "milter", "pid_file", CFG_PATH, "",
	  "File to write the daemon's process id to (empty: none)." },
	{ "milter", "syslog_facility", CFG_FACILITY, "mail",
	  "Syslog facility: mail, daemon, user or local0 to local7." },
	{ "milter", "max_message_size", CFG_INT, "67108864",
	  "Largest message in bytes to record; larger ones pass unrecorded, logged." },
	{ "milter", "on_error", CFG_STR, "accept",
	  "When the store fails: accept (let the mail through) or tempfail." },
	{ "milter", "spool_dir", CFG_PATH, "/var/spool/kvmarm-digest",
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
	{ "reporter", "output_dir", CFG_PATH, "/var/lib/kvmarm-digest/archive",
	  "Directory where each digest is archived." },
	{ "reporter", "formats", CFG_LIST, "md,html,json",
	  "Formats to archive: md, html, txt (plain text, as in the mail's text part), json." },
	{ "reporter", "from", CFG_STR, "kvmarm-digest@localhost",
	  "From address of the digest mail." },
	{ "reporter", "to", CFG_STR, "kvmarm-digest@localhost",
	  "Recipients of the digest mail, comma-separated." },
	{ "reporter", "transport", CFG_STR, "sendmail",
	  "How the digest is sent: sendmail or smtp." },
	{ "reporter", "sendmail_path", CFG_PATH, "/usr/sbin/sendmail",
	  "The sendmail program for transport = sendmail." },
	{ "reporter", "sendmail_timeout", CFG_INT, "120",
	  "Seconds sendmail may take to queue the digest; then it is killed and the run fails." },
	{ "reporter", "smtp_url", CFG_STR, "smtp://127.0.0.1:25",
	  "SMTP server for transport = smtp (smtp:// or smtps://)." },
	{ "reporter", "smtp_user", CFG_STR, "",
	  "SMTP user name (empty: no authentication)." },
	{ "reporter", "smtp_password_file", CFG_PATH, "",
	  "File holding the SMTP password (kept out of this file)." },
	{ "reporter", "smtp_starttls", CFG_BOOL, "true",
	  "Require STARTTLS on smtp:// connections." },
	{ "reporter", "lore_url", CFG_STR, "https://lore.kernel.org/kvmarm/",
	  "Archive base URL; links are this plus the Message-ID." },
	{ "reporter", "large_thread", CFG_INT, "20",
	  "Threads with at least this many mails in the week are marked as large." },
	{ "reporter", "review_wait_days", CFG_INT, "3",
	  "A series nobody but its author has answered is listed as waiting on reviewers once its first mail is this many days old at the end of the digest's window (0 to 60; 0: at once)." },
	{ "reporter", "marker_header", CFG_STR, "X-Kvmarm-Digest",
	  "Header put on digest mails so the milter never records them." },
	{ "reporter", "backfill_url", CFG_STR, "",
	  "Public-inbox list URL (https://lore.kernel.org/kvmarm/) to fetch missing thread roots from (empty: off)." },
	{ "reporter", "backfill_max_fetch", CFG_INT, "20",
	  "Most mails one digest run fetches for backfill; the next run goes on where it stopped." },
	{ "reporter", "backfill_timeout", CFG_INT, "30",
	  "Seconds one backfill fetch may take." },
	{ "reporter", "backfill_max_size", CFG_INT, "8388608",
	  "Largest backfill answer in bytes; a larger one is rejected." },

	/* [llm] */
	{ "llm", "base_url", CFG_STR, "",
	  "OpenAI-compatible API base URL (empty: no LLM, extractive summaries)." },
	{ "llm", "model", CFG_STR, "",
	  "Model name sent with each request." },
	{ "llm", "api_key_file", CFG_PATH, "",
	  "File holding the API key (read at start)." },
	{ "llm", "api_key_env", CFG_STR, "KVMARM_LLM_API_KEY",
	  "Environment variable holding the API key, used when api_key_file is empty." },
	{ "llm", "timeout", CFG_INT, "60",
	  "Seconds one request may take." },
	{ "llm", "max_concurrency", CFG_INT, "4",
	  "Requests in flight at once." },
	{ "llm", "max_input_tokens", CFG_INT, "6000",
	  "Budget of input tokens per request; longer threads are cut down to it." },
	{ "llm", "max_output_tokens", CFG_INT, "1536",
	  "Most tokens one summary may take (sent as max_tokens); three parts of about 200 Chinese characters need about 1000, a reasoning model more." },
	{ "llm", "temperature", CFG_DOUBLE, "0.2",
	  "Sampling temperature." },
	{ "llm", "language", CFG_STR, "",
	  "Language of the summaries (empty: the reporter's language)." },
	{ "llm", "retries", CFG_INT, "4",
	  "Retries of a failed request, with growing back-off." },
	{ "llm", "deadline", CFG_INT, "1800",
	  "Seconds for all summaries of one digest; what is left falls back to extractive." },
	{ "llm", "max_answer_bytes", CFG_INT, "65536",
	  "Most bytes one model answer may have; a longer one is a failure (extractive fallback), never cut." },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Is v one of alts ("a|b|c"), or with prefix set, does it start with one
 * (and go on)? */
static int one_of(const char *alts, const char *v, int prefix)
{
	size_t n = strlen(v);
	for (const char *c = alts; *c;) {
		size_t m = strcspn(c, "|");
		if (prefix ? m < n && !strncmp(v, c, m) : m == n && !strncmp(c, v, n))
			return 1;
		c += m;
		if (*c)
			c++;
	}
	return 0;
}

/* The only values some keys may take ("a|b"): a string's value, each item
 * of a list. (Values the milter checks itself at start, on_error and
 * journal_sync, are left to it.) */
static const struct {
	const char *section, *key, *choices;
} key_choices[] = {
	{ "reporter", "language", "zh|en" },
	{ "reporter", "formats", "md|html|txt|json" },
	{ "reporter", "transport", "sendmail|smtp" },
};

static const char *choices_of(const struct cfg_key *k)
{
	for (size_t i = 0; i < sizeof(key_choices) / sizeof(key_choices[0]); i++)
		if (!strcmp(key_choices[i].section, k->section) && !strcmp(key_choices[i].key, k->key))
			return key_choices[i].choices;
	return NULL;
}

static const char *type_name(enum cfg_type t)
{
	switch (t) {
	case CFG_STR: return "string";
	case CFG_INT: return "integer";
	case CFG_DOUBLE: return "number";
	case CFG_BOOL: return "boolean";
	case CFG_LIST: return "list";
	case CFG_MODE: return "octal mode";
	case CFG_PATH: return "absolute path";
	case CFG_FACILITY: return "syslog facility";
	case CFG_SOCKET: return "milter socket";
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
	double v = kv_strtod_c(s, &end);
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

/* The range of integer keys whose use has one (the milter checks
 * journal_flush_ms itself), and the URL schemes of the URL keys. */
static const struct {
	const char *section, *key;
	long long min, max;
} key_ranges[] = {
	{ "store", "map_size_mb", 1, 1 << 20 },
	{ "store", "import_max_message_size", 0, 1LL << 40 },
	{ "milter", "max_message_size", 1, 1LL << 40 },
	{ "milter", "commit_interval_ms", 0, 60000 },
	{ "milter", "timeout", 1, 86400 },
	{ "reporter", "large_thread", 1, 1000000 },
	{ "reporter", "backfill_max_fetch", 0, 100000 },
	{ "reporter", "backfill_timeout", 1, 3600 },
	{ "reporter", "backfill_max_size", 1024, 1LL << 30 },
	{ "reporter", "review_wait_days", 0, 60 },
	{ "llm", "timeout", 1, 86400 },
	{ "llm", "max_concurrency", 1, 64 },
	{ "llm", "max_input_tokens", 1, 10000000 },
	{ "llm", "max_output_tokens", 1, 1000000 },
	{ "llm", "retries", 0, 100 },
	{ "llm", "deadline", 1, 7 * 86400 },
	{ "llm", "max_answer_bytes", 1024, 16 << 20 },
};

static const struct {
	const char *section, *key, *schemes;
} key_urls[] = {
	{ "reporter", "smtp_url", "smtp://|smtps://" },
	{ "reporter", "lore_url", "http://|https://" },
	{ "reporter", "backfill_url", "http://|https://" },
	{ "llm", "base_url", "http://|https://" },
};

/* Checks beyond the type: ranges, URL schemes, the reporter's zone. 0, or
 * -1 with why. */
static int check_rules(const struct cfg_key *k, const char *v, char *why, size_t n)
{
	long long ll;
	struct kv_err err;
	int off;
	for (size_t i = 0; i < sizeof(key_ranges) / sizeof(key_ranges[0]); i++)
		if (!strcmp(key_ranges[i].section, k->section) && !strcmp(key_ranges[i].key, k->key) &&
		    parse_ll(v, &ll) == 0 && (ll < key_ranges[i].min || ll > key_ranges[i].max)) {
			snprintf(why, n, "is out of range (%lld to %lld)", key_ranges[i].min, key_ranges[i].max);
			return -1;
		}
	for (size_t i = 0; i < sizeof(key_urls) / sizeof(key_urls[0]); i++)
		if (!strcmp(key_urls[i].section, k->section) && !strcmp(key_urls[i].key, k->key) && *v &&
		    !one_of(key_urls[i].schemes, v, 1)) {
			snprintf(why, n, "is not a URL starting with %s", key_urls[i].schemes);
			return -1;
		}
	if (!strcmp(k->section, "reporter") && !strcmp(k->key, "timezone") && kvtime_zone_offset(v, 0, &off, &err) < 0) {
		snprintf(why, n, "is not a time zone (an IANA name such as Europe/London or UTC)");
		return -1;
	}
	return 0;
}

struct kv_config {
	char *values[NKEYS];   /* NULL: the table default */
};

/* Items of a list value: separated by commas, and by white space too when
 * spaces is set; trimmed, empty items dropped; appended to out. */
static void split_list(const char *p, int spaces, struct strv *out)
{
	const char *seps = spaces ? ", \t" : ",";
	while (*p) {
		size_t n = strcspn(p, seps);
		const char *s = p;
		while (n > 0 && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n > 0)
			strv_push_owned(out, kv_xstrndup(s, n));
		p += strcspn(p, seps);
		if (*p)
			p++;
	}
}

/* A milter socket as libmilter takes it: unix:/PATH (or local:/PATH, or a
 * bare /PATH), inet:PORT[@HOST] or inet6:PORT[@HOST]. */
static int is_socket(const char *v)
{
	const char *p;
	if (!strncmp(v, "unix:", 5) || !strncmp(v, "local:", 6))
		return strchr(v, ':')[1] == '/';
	if (v[0] == '/')
		return 1;
	if (!strncmp(v, "inet:", 5))
		p = v + 5;
	else if (!strncmp(v, "inet6:", 6))
		p = v + 6;
	else
		return 0;
	size_t d = strspn(p, "0123456789");
	long port = d && d < 6 ? strtol(p, NULL, 10) : 0;
	return port > 0 && port < 65536 && (p[d] == 0 || (p[d] == '@' && p[d + 1]));
}

/* Is value v acceptable for key k? 0, or -1 with why (a phrase that
 * follows "[section] key = 'value' ") in why. */
static int check_value(const struct cfg_key *k, const char *v, char *why, size_t n)
{
	long long ll;
	double d;
	int b;
	const char *bad = NULL, *choices = choices_of(k);

	switch (k->type) {
	case CFG_STR:
		if (choices && !one_of(choices, v, 0))
			bad = "";
		break;
	case CFG_LIST: {
		struct strv items = STRV_INIT;
		split_list(v, 1, &items);
		for (size_t i = 0; choices && i < items.n; i++)
			if (!one_of(choices, items.v[i], 0)) {
				snprintf(why, n, "has '%s', which is not one of %s", items.v[i], choices);
				strv_release(&items);
				return -1;
			}
		strv_release(&items);
		break;
	}
	case CFG_INT:
		if (parse_ll(v, &ll) < 0)
			bad = "is not an integer";
		break;
	case CFG_MODE:
		if (parse_mode(v, &ll) < 0)
			bad = "is not an octal mode such as 0660";
		break;
	case CFG_DOUBLE:
		if (parse_dbl(v, &d) < 0)
			bad = "is not a number";
		break;
	case CFG_BOOL:
		if (parse_bool(v, &b) < 0)
			bad = "is not a boolean (true/false, yes/no, on/off, 1/0)";
		break;
	case CFG_PATH:
		if (*v && *v != '/')
			bad = "is not an absolute path (the daemons do not run in the directory they were started in)";
		break;
	case CFG_FACILITY:
		if (log_facility(v) < 0)
			bad = "is not a syslog facility (mail, daemon, user, local0 to local7)";
		break;
	case CFG_SOCKET:
		if (!is_socket(v))
			bad = "is not a milter socket (unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST)";
		break;
	}
	if (!bad)
		return check_rules(k, v, why, n);
	if (!*bad)
		snprintf(why, n, "is not one of %s", choices);
	else
		snprintf(why, n, "%s", bad);
	return -1;
}

/* The line of text where [section] key is set (the last time, as the
 * loader keeps the last), or of the [section] header when key is NULL; 0 when
 * not found. */
static unsigned find_line(const char *text, const char *section, const char *key)
{
	unsigned line = 0, found = 0;
	int in = 0;
	for (const char *p = text; *p; line++) {
		size_t n = strcspn(p, "\n");
		const char *l = p;
		while (l < p + n && (*l == ' ' || *l == '\t'))
			l++;
		if (*l == '[') {
			size_t sl = strlen(section);
			in = !strncmp(l + 1, section, sl) && l[1 + sl] == ']';
			if (in && !key)
				found = line + 1;
		} else if (in && key) {
			size_t kl = strlen(key);
			const char *e = l + kl;
			while (*e == ' ' || *e == '\t')
				e++;
			if (!strncmp(l, key, kl) && *e == '=')
				found = line + 1;
		}
		p += n;
		if (*p)
			p++;
	}
	return found;
}

/* "config FILE:LINE: " (without LINE when unknown) into buf. */
static const char *where(char *buf, size_t n, const char *path, const char *text, const char *section,
			 const char *key)
{
	unsigned line = find_line(text, section, key);
	if (line)
		snprintf(buf, n, "config %s:%u", path, line);
	else
		snprintf(buf, n, "config %s", path);
	return buf;
}

/* ---- the key file: [section] lines, "key = value" lines, '#' comments ----
 *
 * The syntax GLib's GKeyFile read before (the same files load the same):
 * leading white space is ignored; "[name]" opens a section (white space
 * may follow the ']'; a section named twice is one section); "key = value"
 * sets a key in the current section, white space around the key and
 * before the value dropped; a key set twice keeps the last value; values
 * undo the escapes \s \n \t \r \\ (any other is kept as written, a
 * final '\' dropped) and must be UTF-8; lines end in LF or CRLF. */
struct kf_entry {
	const char *sec;          /* points into the copy of the text */
	const char *key;          /* NULL on a [section] line */
	const char *val;
	unsigned line;
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Split text (modified in place) into entries; -1 with err naming the line. */
static int kf_parse(char *text, size_t len, const char *path, struct kf_entry **out, size_t *nout,
		    struct kv_err *err)
{
	struct kf_entry *v = NULL;
	size_t n = 0, cap = 0;
	const char *sec = NULL;
	unsigned line = 0;
	char *p = text, *end = text + len;

	if (memchr(text, 0, len)) {
		kv_err_set(err, "config %s: a NUL byte in the file", path);
		goto fail;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end, *l = p;
		line++;
		p = nl ? nl + 1 : end;
		*e = 0;
		if (e > l && e[-1] == '\r')
			*--e = 0;
		while (is_space(*l))
			l++;
		if (!*l || *l == '#')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			v = kv_xrealloc(v, cap * sizeof(*v));
		}
		char *close = *l == '[' ? strchr(l, ']') : NULL;
		if (close) {
			char *q = close + 1;
			while (is_space(*q))
				q++;
			if (!*q) {
				*close = 0;
				int bad = !l[1];
				for (char *c = l + 1; *c && !bad; c++)
					bad = *c == '[' || (unsigned char)*c < 0x20 || *c == 0x7f;
				if (bad || !kv_utf8_valid(l + 1, strlen(l + 1))) {
					kv_err_set(err, "config %s:%u: '[%s]' is not a valid section name", path, line,
						   l + 1);
					goto fail;
				}
				sec = l + 1;
				v[n++] = (struct kf_entry){ sec, NULL, NULL, line };
				continue;
			}
		}
		char *eq = strchr(l, '=');
		if (!eq) {
			kv_err_set(err, "config %s:%u: line '%.100s' is not a [section], a key = value or a comment",
				   path, line, l);
			goto fail;
		}
		if (!sec) {
			kv_err_set(err, "config %s:%u: key before the first [section]", path, line);
			goto fail;
		}
		char *ke = eq;
		while (ke > l && is_space(ke[-1]))
			ke--;
		*ke = 0;
		if (!*l || strpbrk(l, "[]")) {
			kv_err_set(err, "config %s:%u: '%s' is not a valid key name", path, line, l);
			goto fail;
		}
		char *val = eq + 1;
		while (is_space(*val))
			val++;
		v[n++] = (struct kf_entry){ sec, l, val, line };
	}
	*out = v;
	*nout = n;
	return 0;
fail:
	free(v);
	return -1;
}

/* val with the key file's escapes undone (malloc'd), or NULL with why set
 * (not UTF-8). */
static char *kf_unescape(const char *val, char *why, size_t nwhy)
{
	struct sbuf sb = SBUF_INIT;

	if (!kv_utf8_valid(val, strlen(val))) {
		snprintf(why, nwhy, "the value is not UTF-8");
		return NULL;
	}
	sbuf_adds(&sb, "");
	for (const char *p = val; *p; p++) {
		if (*p != '\\') {
			sbuf_addc(&sb, *p);
			continue;
		}
		switch (*++p) {
		case 's': sbuf_addc(&sb, ' '); break;
		case 'n': sbuf_addc(&sb, '\n'); break;
		case 't': sbuf_addc(&sb, '\t'); break;
		case 'r': sbuf_addc(&sb, '\r'); break;
		case '\\': sbuf_addc(&sb, '\\'); break;
		case 0:
			p--; /* a '\\' ending the value is dropped */
			break;
		default:
			/* kept as written, as GKeyFile keeps it */
			sbuf_addc(&sb, '\\');
			sbuf_addc(&sb, *p);
			break;
		}
	}
	return sbuf_detach(&sb, NULL);
}

/* s without leading and trailing white space, in place. */
static char *strip(char *s)
{
	size_t n = strlen(s);
	while (n && is_space(s[n - 1]))
		s[--n] = 0;
	while (is_space(*s))
		s++;
	return s;
}

int config_load(struct kv_config **out, const char *path, struct kv_err *err)
{
	struct kv_config *cfg = kv_xcalloc(1, sizeof(*cfg));
	struct kf_entry *ent = NULL;
	size_t nent = 0;
	char *text = NULL, *work = NULL, at[600], why[200];
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	if (!path) {
		*out = cfg;
		return 0;
	}
	if (kv_read_file(path, &text, &len, err) < 0) {
		kv_err_set(err, "config %s", err->msg);
		goto out;
	}
	/* entries point into a copy: where() reads the text as it was */
	work = kv_xcalloc(len + 1, 1);
	memcpy(work, text, len);
	if (kf_parse(work, len, path, &ent, &nent, err) < 0)
		goto out;
	/* sections in the order they first appear, then their keys in the
	 * order each first appears, each with its last value */
	for (size_t i = 0; i < nent; i++) {
		const char *g = ent[i].sec;
		size_t j;
		for (j = 0; j < i && strcmp(ent[j].sec, g); j++)
			;
		if (j < i)
			continue; /* this section was done at its first line */
		if (!known_section(g)) {
			kv_err_set(err, "%s: unknown section [%s]", where(at, sizeof(at), path, text, g, NULL), g);
			goto out;
		}
		for (size_t k = i; k < nent; k++) {
			if (!ent[k].key || strcmp(ent[k].sec, g))
				continue;
			size_t m, last = k;
			for (m = i; m < k && (!ent[m].key || strcmp(ent[m].sec, g) || strcmp(ent[m].key, ent[k].key)); m++)
				;
			if (m < k)
				continue; /* key seen before: done then */
			for (m = k + 1; m < nent; m++)
				if (ent[m].key && !strcmp(ent[m].sec, g) && !strcmp(ent[m].key, ent[k].key))
					last = m;
			const char *key = ent[k].key;
			int ki = find_key(g, key);
			if (ki < 0) {
				kv_err_set(err, "%s: unknown key '%s' in section [%s]",
					   where(at, sizeof(at), path, text, g, key), key, g);
				goto out;
			}
			char *raw = kf_unescape(ent[last].val, why, sizeof(why));
			if (!raw) {
				kv_err_set(err, "%s: [%s] %s: %s", where(at, sizeof(at), path, text, g, key), g, key,
					   why);
				goto out;
			}
			char *val = strip(raw);
			if (check_value(&keys[ki], val, why, sizeof(why)) < 0) {
				kv_err_set(err, "%s: [%s] %s = '%s' %s", where(at, sizeof(at), path, text, g, key), g,
					   key, val, why);
				free(raw);
				goto out;
			}
			free(cfg->values[ki]);
			cfg->values[ki] = kv_xstrdup(val);
			free(raw);
		}
	}
	rc = 0;
out:
	free(ent);
	free(work);
	free(text);
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
	const struct cfg_key *k = must_find(section, key, &i);
	split_list(raw_value(cfg, i), k->type == CFG_LIST, out);
}

int config_try_set(struct kv_config *cfg, const char *section, const char *key,
		   const char *value, struct kv_err *err)
{
	int i = find_key(section, key);
	char why[200];
	if (i < 0)
		return kv_err_set(err, "config: unknown key '%s' in section [%s]", key, section);
	if (check_value(&keys[i], value, why, sizeof(why)) < 0)
		return kv_err_set(err, "config: [%s] %s = '%s' %s", section, key, value, why);
	free(cfg->values[i]);
	cfg->values[i] = kv_xstrdup(value);
	return 0;
}

void config_set(struct kv_config *cfg, const char *section, const char *key, const char *value)
{
	struct kv_err err;
	int i;
	const struct cfg_key *k = must_find(section, key, &i);
	/* A value a getter could not read is a bug of our own code (command
	 * lines should go through config_try_set). Text values are set as
	 * given: the milter's --db and --socket come through here, and a
	 * relative --db is fine in the foreground. */
	if (k->type != CFG_INT && k->type != CFG_MODE && k->type != CFG_DOUBLE && k->type != CFG_BOOL) {
		free(cfg->values[i]);
		cfg->values[i] = kv_xstrdup(value);
		return;
	}
	if (config_try_set(cfg, section, key, value, &err) < 0)
		kv_panic("%s", err.msg);
}

void config_write_sample(struct sbuf *out)
{
	const char *section = NULL;

	sbuf_adds(out,
		  "# kvmarm-digest configuration, read by kvmarm-milter, kvmarm-store and\n"
		  "# kvmarm-reporter (--config FILE). Key-file syntax: [section] lines,\n"
		  "# then \"name = value\" lines; comments on lines of their own, '#' first.\n"
		  "# Every key is listed with its default; uncomment a line to change it.\n"
		  "# Unknown sections or keys are an error. List items are separated by\n"
		  "# commas or spaces; paths are absolute;\n"
		  "# booleans are true/false (also yes/no, on/off, 1/0).\n");
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &keys[i];
		if (!section || strcmp(section, k->section) != 0) {
			section = k->section;
			sbuf_addf(out, "\n[%s]\n", section);
		}
		sbuf_addf(out, "\n# %s", k->doc);
		/* the doc line of a facility or socket already says its form */
		if (k->type != CFG_STR && k->type != CFG_FACILITY && k->type != CFG_SOCKET)
			sbuf_addf(out, " (%s)", type_name(k->type));
		sbuf_addc(out, '\n');
		if (k->def[0])
			sbuf_addf(out, "# %s = %s\n", k->key, k->def);
		else
			sbuf_addf(out, "# %s =\n", k->key);
	}
}
