/*
 * main.c - kvmarm-milter: read the config; unless -f, fork and let the
 * parent wait until the child serves (exit 0) or fails (the reason on the
 * terminal, exit non-zero). Then decide who to run as (never root unless
 * the config says so), open the milter socket (and give a unix socket its
 * owner, group and mode), write the pid file, create the store and spool
 * directories for the run user, drop root, open the store, replay journal
 * and spool, start the writer, detach from the terminal, and hand over to
 * libmilter until SIGTERM. On the way out: the messages in flight finish,
 * the writer commits what is queued, pid file and socket are removed,
 * exit 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mime.h"
#include "store.h"
#include "milter.h"
#include "writer.h"
#include "banned.h"

/* How long an end-of-message handler waits for its group commit before it
 * makes the mail durable in the spool itself (well under the MTA's
 * content timeouts). */
#define EOM_COMMIT_WAIT_MS 5000
/* Started as root without [milter] user, switch to this user if it exists
 * (the Debian package creates it; a packager may name another). */
#ifndef KV_MILTER_USER
#define KV_MILTER_USER "kvmarm"
#endif
/* Until an MTA connects, warn this often (ms). */
#define NO_MTA_WARN_MS 60000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmarm-milter [--config FILE] [-f] [-v] [--socket SPEC] [--db DIR]\n"
		"  --config FILE   configuration file (section [milter], [store] path)\n"
		"  -f, --foreground  stay in the foreground and log to stderr (systemd Type=simple)\n"
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

/* Start-up state: whether the reason of a failure must also go to the
 * terminal (daemon mode before detaching: the log is syslog, and whoever
 * started us is waiting for the exit status). */
static int startup_tell_stderr;

static void startup_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void startup_fail(const char *fmt, ...)
{
	char msg[2 * KV_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_err("%s", msg);
	if (startup_tell_stderr)
		fprintf(stderr, "kvmarm-milter: %s\n", msg);
}

/*
 * Daemon mode: fork now, and let the parent wait until the child is
 * serving (detach_done) or has failed, so that `kvmarm-milter` exits
 * non-zero with the reason on the terminal when start-up fails, and 0
 * only when the filter is listening. The child keeps the terminal's
 * stderr until then. Returns in the child only; the pipe's write end
 * in *ready_fd.
 */
static void detach_begin(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char c;
	ssize_t n;
	int status;

	if (pipe(p) < 0) {
		fprintf(stderr, "kvmarm-milter: cannot detach: pipe: %s\n", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "kvmarm-milter: cannot detach: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (n == 1)
			_exit(0);   /* the child is serving */
		/* It failed (and said why on stderr). */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		_exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
	}
	close(p[0]);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if (setsid() < 0)
		log_warn("setsid: %s", strerror(errno));
	*ready_fd = p[1];
	startup_tell_stderr = 1;
}

/* The child is serving: leave the terminal and let the parent exit 0. */
static void detach_done(int ready_fd)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	startup_tell_stderr = 0;
	if (chdir("/") < 0)
		log_warn("chdir /: %s", strerror(errno));
	if (write(ready_fd, "", 1) != 1)
		log_warn("cannot tell the parent process we are ready: %s", strerror(errno));
	close(ready_fd);
}

/* Who the milter runs as once start-up is done. */
struct run_as {
	uid_t uid;
	gid_t gid;
	char name[64];
	int drop;        /* 1: switch to uid/gid (we are root now) */
};

/*
 * Decide who to run as: [milter] user (and group) when set; as root and
 * without user, KV_MILTER_USER when that user exists; root itself only with
 * run_as_root = true. Not root: stay who we are (a user that names somebody
 * else is an error). 0 / -1 with err.
 */
static int run_as_resolve(const struct kv_config *cfg, struct run_as *ra, struct kv_err *err)
{
	const char *user = config_str(cfg, "milter", "user");
	const char *group = config_str(cfg, "milter", "group");
	int allow_root = config_bool(cfg, "milter", "run_as_root");
	struct passwd *pw;

	memset(ra, 0, sizeof *ra);
	if (geteuid() != 0) {
		ra->uid = geteuid();
		ra->gid = getegid();
		pw = getpwuid(ra->uid);
		snprintf(ra->name, sizeof ra->name, "%s", pw ? pw->pw_name : "(me)");
		if (*user && (!(pw = getpwnam(user)) || pw->pw_uid != ra->uid))
			return kv_err_set(err, "cannot switch to user %s: not running as root", user);
		if (*group) {
			struct group *gr = getgrnam(group);
			if (!gr || gr->gr_gid != ra->gid)
				return kv_err_set(err, "cannot switch to group %s: not running as root", group);
		}
		return 0;
	}
	if (!*user && allow_root) {
		snprintf(ra->name, sizeof ra->name, "root");
		user = NULL;
	} else if (!*user) {
		if (!getpwnam(KV_MILTER_USER))
			return kv_err_set(err, "refusing to run as root: [milter] user is empty and user %s "
					  "does not exist; create it (useradd --system --home-dir /nonexistent "
					  "--shell /usr/sbin/nologin %s), set [milter] user, or set "
					  "run_as_root = true", KV_MILTER_USER, KV_MILTER_USER);
		user = KV_MILTER_USER;
	}
	if (user) {
		if (!(pw = getpwnam(user)))
			return kv_err_set(err, "unknown user %s ([milter] user)", user);
		ra->uid = pw->pw_uid;
		ra->gid = pw->pw_gid;
		snprintf(ra->name, sizeof ra->name, "%s", user);
		if (ra->uid == 0 && !allow_root)
			return kv_err_set(err, "user %s is root: refusing to run as root unless "
					  "run_as_root = true", user);
		ra->drop = 1;
	}
	if (*group) {
		struct group *gr = getgrnam(group);
		if (!gr)
			return kv_err_set(err, "unknown group %s ([milter] group)", group);
		ra->gid = gr->gr_gid;
		ra->drop = 1;
	}
	return 0;
}

/* Give path to the run user (when we are root and switch to somebody). */
static void give_to(const char *path, int fd, const struct run_as *ra)
{
	if (!ra->drop)
		return;
	if ((fd >= 0 ? fchown(fd, ra->uid, ra->gid) : chown(path, ra->uid, ra->gid)) < 0)
		log_warn("cannot give %s to user %s: %s", path, ra->name, strerror(errno));
}

/*
 * Make directory dir and its missing parents (mode), each one created
 * owned by the run user, so that the store and spool can be created
 * under /var/lib and /var/spool once root is dropped. An existing dir
 * still owned by root is given to the run user too (somebody else's
 * owner is left alone). 0 / -1 with err.
 */
static int prepare_dir(const char *what, const char *dir, mode_t mode, const struct run_as *ra,
		       struct kv_err *err)
{
	char *tmp = kv_xstrdup(dir);
	struct stat st;
	int rc = 0;

	for (char *p = tmp + 1;; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(tmp, mode) == 0) {
				give_to(tmp, -1, ra);
			} else if (errno != EEXIST) {
				rc = kv_err_set(err, "cannot create %s directory %s: %s", what, tmp, strerror(errno));
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	if (rc == 0 && stat(tmp, &st) < 0)
		rc = kv_err_set(err, "%s directory %s: %s", what, tmp, strerror(errno));
	else if (rc == 0 && !S_ISDIR(st.st_mode))
		rc = kv_err_set(err, "%s directory %s: not a directory", what, tmp);
	else if (rc == 0 && st.st_uid == 0)
		give_to(tmp, -1, ra);
	free(tmp);
	return rc;
}

/*
 * Give what root left in a directory to the run user: a milter that ran
 * as root before (or a journal replayed by root) leaves the journal and
 * spooled mails the run user could neither open nor replay, and a store
 * made by root (`kvmarm-store import` run as root) leaves data files the
 * milter could not write. depth levels (spool/new/FILE: 1; the store: 0);
 * only root's files and directories, symlinks not followed.
 */
static void give_root_files_to(const char *dir, const struct run_as *ra, int depth)
{
	DIR *d;
	struct dirent *de;

	if (!ra->drop || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0) {
			char *sub = kv_xasprintf("%s/%s", dir, de->d_name);
			give_root_files_to(sub, ra, depth - 1);
			free(sub);
		}
		if ((S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) && st.st_uid == 0 &&
		    fchownat(dirfd(d), de->d_name, ra->uid, ra->gid, AT_SYMLINK_NOFOLLOW) < 0)
			log_warn("cannot give %s/%s to user %s: %s", dir, de->d_name, ra->name,
				 strerror(errno));
	}
	closedir(d);
}

/* The directory part of path (malloc'd; "." when there is none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return kv_xstrdup(".");
	if (slash == path)
		return kv_xstrdup("/");
	return kv_xstrndup(path, (size_t)(slash - path));
}

/* Whether the run user may remove a file of its own from dir: the pid
 * file and the socket are removed at stop, after root is dropped. */
static int may_remove_in(const char *dir, const struct run_as *ra)
{
	struct stat st;
	mode_t need;

	if (ra->uid == 0 || stat(dir, &st) < 0)
		return 1;   /* root may; a missing dir fails elsewhere */
	if (st.st_uid == ra->uid)
		need = S_IWUSR | S_IXUSR;
	else if (st.st_gid == ra->gid)
		need = S_IWGRP | S_IXGRP;
	else
		need = S_IWOTH | S_IXOTH;
	return (st.st_mode & need) == need;
}

static void warn_if_left_behind(const char *what, const char *path, const struct run_as *ra)
{
	char *dir = dir_of(path);
	if (!may_remove_in(dir, ra))
		log_warn("%s %s will stay behind after stop: user %s cannot remove files in %s "
			 "(give the directory to %s)", what, path, ra->name, dir, ra->name);
	free(dir);
}

/*
 * Write the pid file without following a symlink planted in its place:
 * a stale file is removed, then the new one created with O_EXCL |
 * O_NOFOLLOW. Its directory is created (for the run user) when missing,
 * so that the file can be removed at stop. 0 / -1 with err.
 */
static int write_pid_file(const char *path, const struct run_as *ra, struct kv_err *err)
{
	char *dir = dir_of(path), buf[32];
	int fd, n, rc = 0;

	if (access(dir, F_OK) < 0 && errno == ENOENT) {
		if (prepare_dir("pid file", dir, 0755, ra, err) < 0) {
			free(dir);
			return -1;
		}
	}
	free(dir);
	if (unlink(path) < 0 && errno != ENOENT)
		return kv_err_set(err, "cannot remove stale pid file %s: %s", path, strerror(errno));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return kv_err_set(err, "cannot write pid file %s: %s", path, strerror(errno));
	n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n)
		rc = kv_err_set(err, "cannot write pid file %s: %s", path, strerror(errno));
	else
		give_to(path, fd, ra);
	close(fd);
	if (rc < 0)
		unlink(path);
	return rc;
}

/*
 * Switch to the run user for good: no supplementary groups, then the
 * group, then the user (real, effective and saved), and check that root
 * cannot be had back. 0 / -1 with err.
 */
static int drop_privileges(const struct run_as *ra, struct kv_err *err)
{
	if (!ra->drop)
		return 0;
	if (setgroups(0, NULL) < 0)
		return kv_err_set(err, "cannot drop supplementary groups: %s", strerror(errno));
	if (setresgid(ra->gid, ra->gid, ra->gid) < 0)
		return kv_err_set(err, "cannot set group id %u: %s", (unsigned)ra->gid, strerror(errno));
	if (ra->uid != 0 && setresuid(ra->uid, ra->uid, ra->uid) < 0)
		return kv_err_set(err, "cannot switch to user %s: %s", ra->name, strerror(errno));
	if (ra->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0 || geteuid() != ra->uid ||
			     getuid() != ra->uid))
		return kv_err_set(err, "switched to user %s but could get root back: refusing to run",
				  ra->name);
	if (ra->gid != 0 && ra->uid != 0 && (setgid(0) == 0 || getegid() != ra->gid))
		return kv_err_set(err, "switched to group %u but could get group root back: "
				  "refusing to run", (unsigned)ra->gid);
	return 0;
}

static int setup_socket_perms(const char *path, const struct kv_config *cfg, const struct run_as *ra,
			      struct kv_err *err)
{
	const char *owner = config_str(cfg, "milter", "socket_owner");
	const char *group = config_str(cfg, "milter", "socket_group");
	long long mode = config_int(cfg, "milter", "socket_mode");
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (*owner) {
		struct passwd *pw = getpwnam(owner);
		if (!pw)
			return kv_err_set(err, "unknown user %s ([milter] socket_owner)", owner);
		uid = pw->pw_uid;
	} else if (ra->drop) {
		uid = ra->uid;   /* documented: empty means the user the milter runs as */
	}
	if (*group) {
		struct group *gr = getgrnam(group);
		if (!gr)
			return kv_err_set(err, "unknown group %s ([milter] socket_group)", group);
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0)
		return kv_err_set(err, "cannot chown socket %s: %s", path, strerror(errno));
	if (chmod(path, (mode_t)mode) < 0)
		return kv_err_set(err, "cannot chmod socket %s: %s", path, strerror(errno));
	return 0;
}

/* Remove a file of ours at stop; say so when it stays. */
static void remove_at_stop(const char *what, const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s %s: %s", what, path, strerror(errno));
}

/* path made absolute against the current directory (daemon mode changes
 * to / before the files are removed at stop); malloc'd. */
static char *abs_path(const char *path)
{
	char cwd[4096];
	if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
		return kv_xstrdup(path);
	return kv_xasprintf("%s/%s", cwd, path);
}

/* The store as the config names it (created when missing). */
static int open_store(const struct kv_config *cfg, struct store **s, struct kv_err *err)
{
	return store_open_config(s, cfg, NULL, STORE_CREATE, err);
}

/* The same for the writer, which tries again while it cannot be opened. */
/* A store made before the word index: mail is still recorded (the writer
 * indexes once reindex has finished); said once, when the store opens. */
static void warn_no_index(struct store *s)
{
	struct kv_err err;
	if (s && store_index_ready(s, &err) == 0)
		log_warn("%s: the store has no word index yet (schema 1 or 2): mail is recorded, "
			 "search needs `kvmarm-store reindex` (may run while the milter does)",
			 store_path(s));
}

static int open_store_cb(void *ctx, struct store **s, struct kv_err *err)
{
	if (open_store(ctx, s, err) < 0)
		return -1;
	warn_no_index(*s);
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
	int foreground = 0, verbose = 0, ch, rc, ready_fd = -1;
	struct kv_config *cfg;
	struct kv_err err;
	struct store *store = NULL;
	struct writer *writer = NULL;
	struct milter_opts mo;
	struct writer_opts wo;
	struct run_as ra;
	const char *sock, *upath, *on_error, *dbdir, *jsync, *env;
	char *pid_file = NULL, *sock_file = NULL;
	char store_why[KV_ERR_MAX] = "";
	long long flush_ms;
	char *sockspec = NULL;

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
	/* Options are checked like the config file's values: a relative or
	 * malformed path is a usage error naming the option's key. */
	if ((opt_socket && config_try_set(cfg, "milter", "socket", opt_socket, &err) < 0) ||
	    (opt_db && config_try_set(cfg, "store", "path", opt_db, &err) < 0) ||
	    (opt_spool && config_try_set(cfg, "milter", "spool_dir", opt_spool, &err) < 0)) {
		fprintf(stderr, "kvmarm-milter: %s\n", err.msg);
		config_free(cfg);
		return 2;
	}

	if (log_open("kvmarm-milter", !foreground, config_str(cfg, "milter", "syslog_facility")) < 0) {
		fprintf(stderr, "kvmarm-milter: syslog_facility %s: unknown facility\n",
			config_str(cfg, "milter", "syslog_facility"));
		goto fail;
	}
	log_set_level(verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	/* From here until it serves, a daemon reports failures on the
	 * terminal too and its parent exits with the status. */
	if (!foreground)
		detach_begin(&ready_fd);

	on_error = config_str(cfg, "milter", "on_error");
	jsync = config_str(cfg, "milter", "journal_sync");
	if (strcmp(jsync, "after-answer") != 0 && strcmp(jsync, "before-answer") != 0) {
		startup_fail("journal_sync %s: must be after-answer or before-answer", jsync);
		goto fail;
	}
	flush_ms = config_int(cfg, "milter", "journal_flush_ms");
	if (flush_ms < 0 || flush_ms > 60000) {
		startup_fail("journal_flush_ms %lld: must be 0 to 60000 (milliseconds)", (long long)flush_ms);
		goto fail;
	}
	if (strcmp(on_error, "accept") != 0 && strcmp(on_error, "tempfail") != 0) {
		startup_fail("on_error %s: must be accept or tempfail", on_error);
		goto fail;
	}
	if (run_as_resolve(cfg, &ra, &err) < 0) {
		startup_fail("%s", err.msg);
		goto fail;
	}

	/* The socket first, while we may still be root. */
	sock = config_str(cfg, "milter", "socket");
	sockspec = kv_xstrdup(sock);
	upath = unix_path(sock);
	if (milter_open(sockspec, (int)config_int(cfg, "milter", "timeout"), upath, &err) < 0) {
		startup_fail("socket %s: %s", sock, err.msg);
		goto fail;
	}
	if (upath) {
		sock_file = abs_path(upath);
		if (setup_socket_perms(upath, cfg, &ra, &err) < 0) {
			startup_fail("%s", err.msg);
			unlink(upath);
			goto fail;
		}
		warn_if_left_behind("socket", sock_file, &ra);
	}
	if (*config_str(cfg, "milter", "pid_file")) {
		pid_file = abs_path(config_str(cfg, "milter", "pid_file"));
		if (write_pid_file(pid_file, &ra, &err) < 0) {
			startup_fail("%s", err.msg);
			goto fail_files;
		}
		warn_if_left_behind("pid file", pid_file, &ra);
	}
	dbdir = config_str(cfg, "store", "path");
	if (prepare_dir("spool", config_str(cfg, "milter", "spool_dir"), 0750, &ra, &err) < 0) {
		startup_fail("%s", err.msg);
		goto fail_files;
	}
	/* a store that cannot be had is no reason to let mail pass unseen:
	 * the milter starts and spools (see below) */
	if (prepare_dir("store", dbdir, 0750, &ra, &err) < 0)
		log_err("%s", err.msg);
	give_root_files_to(config_str(cfg, "milter", "spool_dir"), &ra, 1);
	give_root_files_to(dbdir, &ra, 0);
	if (drop_privileges(&ra, &err) < 0) {
		startup_fail("%s", err.msg);
		goto fail_files;
	}

	mime_init();
	if (open_store(cfg, &store, &err) < 0) {
		/* writer_start logs it loudly and keeps trying */
		snprintf(store_why, sizeof store_why, "%s", err.msg);
		store = NULL;
	}
	warn_no_index(store);   /* NULL: not open yet, said when it opens */

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
	wo.store_why = store_why;
	wo.store_open = open_store_cb;
	wo.store_open_ctx = cfg;
	/* The environment variable is for tests, which cannot wait 30 s. */
	env = getenv("KVMARM_MILTER_STORE_RETRY_MS");
	wo.store_retry_ms = env && *env ? atoi(env) : STORE_RETRY_DEFAULT_MS;
	if (writer_start(&writer, store, &wo, &err) < 0) {
		startup_fail("%s", err.msg);
		store_close(store);
		goto fail_files;
	}

	memset(&mo, 0, sizeof mo);
	config_list(cfg, "milter", "list_ids", &mo.list_ids);
	mo.marker_header = config_str(cfg, "reporter", "marker_header");
	mo.max_size = (size_t)config_int(cfg, "milter", "max_message_size");
	mo.tempfail_on_error = strcmp(on_error, "tempfail") == 0;
	mo.reply_every_packet = upath == NULL;
	/* The environment variable is for tests, which cannot wait minutes. */
	env = getenv("KVMARM_MILTER_NO_MTA_WARN_MS");
	mo.no_mta_warn_ms = env && *env ? atoi(env) : NO_MTA_WARN_MS;
	milter_setup(&mo, writer);
	strv_release(&mo.list_ids);

	log_info("listening on %s as user %s, store %s, spool %s, recording %s", sock, ra.name, dbdir,
		 wo.spool_dir, config_str(cfg, "milter", "list_ids"));
	if (!foreground)
		detach_done(ready_fd);
	rc = milter_run();
	/* libmilter has stopped taking connections and its sessions ended:
	 * commit what is queued before leaving. */
	writer_stop(writer);
	milter_log_stats();
	store_close(store);
	if (pid_file)
		remove_at_stop("pid file", pid_file);
	if (sock_file)
		remove_at_stop("socket", sock_file);
	log_info("stopped");
	config_free(cfg);
	free(sockspec);
	free(pid_file);
	free(sock_file);
	return rc == 0 ? 0 : 1;

fail_files:
	/* Start-up failed after the socket (and maybe the pid file) exist:
	 * leave nothing behind that says a milter runs here. */
	if (pid_file)
		unlink(pid_file);
	if (upath)
		unlink(upath);
fail:
	/* Error exits free what they hold too, so that a sanitizer build's
	 * leak check (make SANITIZE=1 check) reports only real leaks. */
	config_free(cfg);
	free(sockspec);
	free(pid_file);
	free(sock_file);
	return 1;
}
