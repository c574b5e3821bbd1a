/*
 * log.c - one-line log messages for all three programs: to stderr in the
 * foreground and from the CLI, to syslog for daemons, never both. The
 * milter logs from many libmilter threads at once, so a line is formatted
 * in a local buffer and written with one call under a mutex; a message is
 * never split or interleaved with another, and embedded line breaks are
 * flattened so one event stays one line.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>
#include "banned.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_ident[64] = "kvmarm";
static int log_syslog;                      /* 0: stderr */
static enum log_level log_max = LOG_LVL_INFO;

static const struct { const char *name; int fac; } facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

int log_facility(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].fac;
	return -1;
}

int log_open(const char *ident, int to_syslog, const char *facility)
{
	int fac = LOG_MAIL;

	if (to_syslog) {
		fac = log_facility(facility && *facility ? facility : "mail");
		if (fac < 0)
			return -1;
	}
	pthread_mutex_lock(&log_lock);
	if (log_syslog)
		closelog();
	/* openlog keeps the pointer: hand it our static copy */
	snprintf(log_ident, sizeof(log_ident), "%s", ident && *ident ? ident : "kvmarm");
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, fac);
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void log_set_level(enum log_level max)
{
	__atomic_store_n(&log_max, max, __ATOMIC_RELAXED);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048];
	va_list ap;
	int n;

	if ((int)lvl < 0 || lvl > LOG_LVL_DEBUG)
		lvl = LOG_LVL_ERR;
	/* the level is read without the lock so filtered calls stay cheap */
	if (lvl > __atomic_load_n(&log_max, __ATOMIC_RELAXED))
		return;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	/* trailing spaces left by a message that ended in a line break */
	n = (int)strlen(msg);
	while (n > 0 && msg[n - 1] == ' ')
		msg[--n] = '\0';

	pthread_mutex_lock(&log_lock);
	if (log_syslog) {
		syslog(prio[lvl], "%s: %s", names[lvl], msg);
	} else {
		char line[2200];
		int len = snprintf(line, sizeof(line), "%s: %s: %s\n", log_ident, names[lvl], msg);
		if (len > (int)sizeof(line) - 1) {
			len = (int)sizeof(line) - 1;
			line[len - 1] = '\n';
		}
		/* one write(2) per line: no stdio buffer shared with other output */
		const char *p = line;
		while (len > 0) {
			ssize_t w = write(STDERR_FILENO, p, (size_t)len);
			if (w <= 0)
				break;
			p += w;
			len -= (int)w;
		}
	}
	pthread_mutex_unlock(&log_lock);
}
