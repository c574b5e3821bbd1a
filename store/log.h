/*
 * log.h - one-line log messages: to stderr (foreground, CLI) or to syslog
 * (daemons), never both. Each line should name the Message-ID or queue id
 * it is about. Thread-safe.
 */
#ifndef KV_LOG_H
#define KV_LOG_H

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* ident: program name. to_syslog: 1 for syslog with facility (a name such
 * as "mail", "daemon", "local0"), 0 for stderr. -1 on unknown facility. */
int log_open(const char *ident, int to_syslog, const char *facility);
/* The syslog facility of a name (mail, daemon, user, local0..local7; any
 * case), or -1 when it is not one of them. */
int log_facility(const char *name);
void log_set_level(enum log_level max);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
