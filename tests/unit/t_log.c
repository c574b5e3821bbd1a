/*
 * t_log.c - log lines on stderr: one line per message (line breaks
 * flattened), level filter, ident, unknown syslog facility refused, and
 * no torn or interleaved lines when many threads log at once.
 */
#include "kv.h"
#include "log.h"
#include "tap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *spam(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < 500; i++)
		log_info("thread %ld message %d <%s>", id, i,
			 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
	return NULL;
}

int main(void)
{
	char path[] = "/tmp/t_log.XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	struct kv_err err;
	char *data = NULL;
	size_t len = 0;

	ok(log_open("t_log", 1, "nosuchfacility") == -1, "unknown facility refused");
	ok(log_open("t_log", 1, "local3") == 0, "local3 accepted");
	ok(log_open("t_log", 1, "DAEMON") == 0, "facility names are case-insensitive");

	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	log_open("t_log", 0, NULL);
	log_set_level(LOG_LVL_INFO);
	log_err("first <%s>", "a@b");
	log_warn("two\nlines\n");
	log_debug("filtered out");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("now shown");
	pthread_t th[8];
	for (long i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, spam, (void *)i);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	dup2(saved, STDERR_FILENO);

	if (kv_read_file(path, &data, &len, &err) < 0) {
		ok(0, "read log: %s", err.msg);
		return done_testing();
	}
	unlink(path);
	ok(strncmp(data, "t_log: error: first <a@b>\nt_log: warning: two lines\nt_log: debug: now shown\n",
		   strlen("t_log: error: first <a@b>\nt_log: warning: two lines\nt_log: debug: now shown\n")) == 0,
	   "lines formatted, breaks flattened, debug filtered then shown");
	int lines = 0, good = 1;
	for (char *p = data; *p;) {
		char *e = strchr(p, '\n');
		if (!e)
			break;
		*e = '\0';
		lines++;
		if (lines > 3 && !(strncmp(p, "t_log: info: thread ", 20) == 0 && e[-1] == '>'))
			good = 0;
		p = e + 1;
	}
	is_int(lines, 3 + 8 * 500, "one line per message from 8 threads");
	ok(good, "no torn or interleaved lines");
	free(data);
	return done_testing();
}
