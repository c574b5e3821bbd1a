/*
 * main.c - kvmarm-milter: read the config, open the milter socket (and give
 * a unix socket its owner, group and mode), write the pid file, detach
 * unless -f, drop privileges, open the store, replay the spool, start the
 * writer, then hand over to libmilter until SIGTERM. On the way out: the
 * messages in flight finish, the writer commits what is queued, exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>


#include "config.h"
#include "log.h"
#include "mime.h"
#include "store.h"
#include "milter.h"
#include "writer.h"

/* How long an end-of-message handler waits for its group commit before it
 * makes the mail durable in the spool itself (well under the MTA's
 * content timeouts). */
#define EOM_COMMIT_WAIT_MS 5000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmarm-milter [--config FILE] [-f] [-v] [--socket SPEC] [--db DIR]\n"
		"  --config FILE   configuration file (section [milter], [store] path)\n"
		"  -f, --foreground  stay in the foreground and log to stderr\n"
		"  -v, --verbose   log debug lines too (per-mail eom time)\n"
		"  --socket SPEC   unix:PATH, inet:PORT@HOST or inet6:PORT@HOST\n"
		"  --db DIR        the store directory\n"
		"  --spool DIR     the spool directory\n");
}

/* unix:PATH or local:PATH -> PATH; NULL for inet sockets. */
static const char *unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (strncmp(spec, "inet", 4) != 0 && spec[0] == '/')
		return spec;
	return NULL;
}

static int lookup_ids(const char *user, const char *group, uid_t *uid, gid_t *gid,
		      struct kv_err *err)
{
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (user && *user) {
		struct passwd *pw = getpwnam(user);
		if (!pw)
			return kv_err_set(err, "unknown user %s", user);
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (group && *group) {
		struct group *gr = getgrnam(group);
		if (!gr)
			return kv_err_set(err, "unknown group %s", group);
		*gid = gr->gr_gid;
	}
	return 0;
}

static int setup_socket_perms(const char *path, const struct kv_config *cfg, struct kv_err *err)
{
	const char *owner = config_str(cfg, "milter", "socket_owner");
	const char *group = config_str(cfg, "milter", "socket_group");
	long long mode = config_int(cfg, "milter", "socket_mode");
	uid_t uid;
	gid_t gid;

	if (lookup_ids(owner, group, &uid, &gid, err) < 0)
		return -1;
	if ((owner && *owner) || (group && *group)) {
		if (!(owner && *owner))
			uid = (uid_t)-1;
		if (!(group && *group))
			gid = (gid_t)-1;
		if (chown(path, uid, gid) < 0)
			return kv_err_set(err, "cannot chown socket %s: %s", path, strerror(errno));
	}
	if (chmod(path, (mode_t)mode) < 0)
		return kv_err_set(err, "cannot chmod socket %s: %s", path, strerror(errno));
	return 0;
}

static int drop_privileges(const char *user, const char *group, struct kv_err *err)
{
	uid_t uid;
	gid_t gid;

	if (!(user && *user) && !(group && *group))
		return 0;
	if (lookup_ids(user, group, &uid, &gid, err) < 0)
		return -1;
	if (getuid() != 0 && geteuid() != 0) {
		if ((uid == (uid_t)-1 || uid == getuid()) && (gid == (gid_t)-1 || gid == getgid()))
			return 0;
		return kv_err_set(err, "cannot switch to user %s / group %s: not running as root",
				  user ? user : "", group ? group : "");
	}
	if (gid != (gid_t)-1) {
		if (user && *user ? initgroups(user, gid) < 0 : setgroups(1, &gid) < 0)
			return kv_err_set(err, "cannot set supplementary groups: %s", strerror(errno));
		if (setgid(gid) < 0)
			return kv_err_set(err, "cannot setgid %u: %s", (unsigned)gid, strerror(errno));
	}
	if (uid != (uid_t)-1 && setuid(uid) < 0)
		return kv_err_set(err, "cannot setuid %u: %s", (unsigned)uid, strerror(errno));
	return 0;
}

/* Before dropping root: make dir (one level) and give it to the user the
 * milter will run as, so the store and spool can be created under
 * /var/lib and /var/spool. Best effort: errors show up at open time. */
static void prepare_dir(const char *dir, const char *user, const char *group)
{
	uid_t uid;
	gid_t gid;
	struct kv_err err;
	struct stat st;

	if (geteuid() != 0 || !dir || !*dir || !(user && *user))
		return;
	if (lookup_ids(user, group, &uid, &gid, &err) < 0)
		return;
	if (stat(dir, &st) < 0) {
		if (mkdir(dir, 0750) < 0)
			return;
	} else if (st.st_uid != 0) {
		return;  /* somebody chose its owner already */
	}
	if (chown(dir, uid, gid) < 0)
		log_warn("cannot chown %s to %s: %s", dir, user, strerror(errno));
}

static int write_pid_file(const char *path, struct kv_err *err)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return kv_err_set(err, "cannot write pid file %s: %s", path, strerror(errno));
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0)
		return kv_err_set(err, "cannot write pid file %s: %s", path, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "socket", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' },
		{ "spool", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	/* Every mail is a buffer that grows to its size and is freed by
	 * another thread. glibc would give the freed top of the heap back
	 * and map large buffers afresh each time, and a page fault costs
	 * 70-220 us on a virtual machine: keep up to 64 MB around, and map
	 * only buffers over 16 MB separately. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 16 << 20);
	const char *config_path = NULL, *opt_socket = NULL, *opt_db = NULL, *opt_spool = NULL;
	int foreground = 0, verbose = 0, ch, rc;
	struct kv_config *cfg;
	struct kv_err err;
	struct store *store = NULL;
	struct writer *writer = NULL;
	struct milter_opts mo;
	struct writer_opts wo;
	const char *sock, *upath, *pid_file, *on_error, *dbdir, *jsync;
	long long flush_ms;
	char *sockspec;

	while ((ch = getopt_long(argc, argv, "c:fvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'f': foreground = 1; break;
		case 'v': verbose = 1; break;
		case 's': opt_socket = optarg; break;
		case 'd': opt_db = optarg; break;
		case 'S': opt_spool = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	if (config_load(&cfg, config_path, &err) < 0) {
		fprintf(stderr, "kvmarm-milter: %s\n", err.msg);
		return 1;
	}
	if (opt_socket)
		config_set(cfg, "milter", "socket", opt_socket);
	if (opt_db)
		config_set(cfg, "store", "path", opt_db);
	if (opt_spool)
		config_set(cfg, "milter", "spool_dir", opt_spool);

	if (log_open("kvmarm-milter", !foreground, config_str(cfg, "milter", "syslog_facility")) < 0) {
		fprintf(stderr, "kvmarm-milter: syslog_facility %s: unknown facility\n",
			config_str(cfg, "milter", "syslog_facility"));
		return 1;
	}
	log_set_level(verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	on_error = config_str(cfg, "milter", "on_error");
	jsync = config_str(cfg, "milter", "journal_sync");
	if (strcmp(jsync, "after-answer") != 0 && strcmp(jsync, "before-answer") != 0) {
		log_err("journal_sync %s: must be after-answer or before-answer", jsync);
		return 1;
	}
	flush_ms = config_int(cfg, "milter", "journal_flush_ms");
	if (flush_ms < 0 || flush_ms > 60000) {
		log_err("journal_flush_ms %lld: must be 0 to 60000 (milliseconds)", (long long)flush_ms);
		return 1;
	}
	if (strcmp(on_error, "accept") != 0 && strcmp(on_error, "tempfail") != 0) {
		log_err("on_error %s: must be accept or tempfail", on_error);
		return 1;
	}

	/* The socket first, while we may still be root. */
	sock = config_str(cfg, "milter", "socket");
	sockspec = kv_xstrdup(sock);
	upath = unix_path(sock);
	if (milter_open(sockspec, (int)config_int(cfg, "milter", "timeout"), upath != NULL, &err) < 0) {
		log_err("socket %s: %s", sock, err.msg);
		return 1;
	}
	if (upath && setup_socket_perms(upath, cfg, &err) < 0) {
		log_err("%s", err.msg);
		return 1;
	}

	if (!foreground && daemon(0, 0) < 0) {
		log_err("cannot detach: %s", strerror(errno));
		return 1;
	}
	pid_file = config_str(cfg, "milter", "pid_file");
	if (pid_file && *pid_file && write_pid_file(pid_file, &err) < 0) {
		log_err("%s", err.msg);
		return 1;
	}
	prepare_dir(config_str(cfg, "store", "path"), config_str(cfg, "milter", "user"),
		    config_str(cfg, "milter", "group"));
	prepare_dir(config_str(cfg, "milter", "spool_dir"), config_str(cfg, "milter", "user"),
		    config_str(cfg, "milter", "group"));
	if (drop_privileges(config_str(cfg, "milter", "user"), config_str(cfg, "milter", "group"),
			    &err) < 0) {
		log_err("%s", err.msg);
		return 1;
	}

	mime_init();
	dbdir = config_str(cfg, "store", "path");
	if (store_open_config(&store, cfg, NULL, STORE_CREATE, &err) < 0) {
		log_err("%s", err.msg);
		return 1;
	}

	{
		/* libmilter's own thread takes SIGTERM/SIGHUP/SIGINT with
		 * sigwait; a thread of ours started before milter_run must not
		 * take them instead (it would die with the default action). */
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		sigaddset(&set, SIGINT);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	memset(&wo, 0, sizeof wo);
	wo.spool_dir = config_str(cfg, "milter", "spool_dir");
	wo.spool_on_error = strcmp(on_error, "accept") == 0;
	wo.commit_interval_ms = (int)config_int(cfg, "milter", "commit_interval_ms");
	wo.wait_ms = EOM_COMMIT_WAIT_MS;
	wo.sync_after_answer = strcmp(jsync, "after-answer") == 0;
	wo.flush_interval_ms = (int)flush_ms;
	if (writer_start(&writer, store, &wo, &err) < 0) {
		log_err("%s", err.msg);
		store_close(store);
		return 1;
	}

	memset(&mo, 0, sizeof mo);
	config_list(cfg, "milter", "list_ids", &mo.list_ids);
	mo.marker_header = config_str(cfg, "reporter", "marker_header");
	mo.max_size = (size_t)config_int(cfg, "milter", "max_message_size");
	mo.tempfail_on_error = strcmp(on_error, "tempfail") == 0;
	mo.reply_every_packet = upath == NULL;
	milter_setup(&mo, writer);
	strv_release(&mo.list_ids);

	log_info("listening on %s, store %s, spool %s, recording %s", sock, dbdir, wo.spool_dir,
		 config_str(cfg, "milter", "list_ids"));
	rc = milter_run();
	/* libmilter has stopped taking connections and its sessions ended:
	 * commit what is queued before leaving. */
	writer_stop(writer);
	milter_log_stats();
	store_close(store);
	if (pid_file && *pid_file)
		unlink(pid_file);
	if (upath)
		unlink(upath);
	log_info("stopped");
	config_free(cfg);
	free(sockspec);
	return rc == 0 ? 0 : 1;
}
