/*
 * import_exec.c - `import` and `parse-only` in kvmarm-store: run the
 * import program, kvmarm-store-import, with the same command line.
 *
 * Why two programs: only parsing mail needs gmime, and gmime brings GLib,
 * GIO and about twenty more libraries whose loading (relocations and
 * initialisers) cost about 4.5 ms at every start, more than a query on a
 * 100k store itself. kvmarm-store links neither (its NEEDED has no gmime
 * or GLib; 15-cli-import-helper.t checks it), so every query starts in a few
 * ms; kvmarm-store-import is the whole kvmarm-store with the parser, and
 * runs the command exactly as kvmarm-store did before (same output, same
 * exit codes). The command line was already parsed and checked here with
 * the same option table (import_cmd.c), so usage errors and --help do
 * not need the import program.
 *
 * Where it is, tried in order (the first that exists runs):
 *   1. beside this program (the build tree: build/kvmarm-store-import);
 *   2. KV_LIBEXEC_REL from this program's directory (installed trees,
 *      also under a DESTDIR or a moved PREFIX: ../lib/kvmarm-digest);
 *   3. KV_LIBEXECDIR, the install's absolute path (when /proc is not
 *      mounted, or this program was copied elsewhere).
 * The program's own path is /proc/self/exe (symbolic links resolved).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "banned.h"

#ifndef KV_LIBEXECDIR
#define KV_LIBEXECDIR "/usr/local/lib/kvmarm-digest"
#endif
#ifndef KV_LIBEXEC_REL
#define KV_LIBEXEC_REL "../lib/kvmarm-digest"
#endif
#define IMPORT_PROG "kvmarm-store-import"

/* dir/rel/IMPORT_PROG, each leading "../" of rel taken off dir's end (so
 * the path named in an error reads as the directory it is). */
static char *prog_in(const char *dir, size_t n, const char *rel)
{
	while (!strcmp(rel, "..") || !strncmp(rel, "../", 3)) {
		while (n > 1 && dir[n - 1] != '/')
			n--;
		if (n > 1)
			n--;
		rel += rel[2] ? 3 : 2;
	}
	while (!strcmp(rel, ".") || !strncmp(rel, "./", 2))
		rel += rel[1] ? 2 : 1;
	if (n == 1 && dir[0] == '/')
		n = 0;
	return kv_xasprintf("%.*s%s%s/%s", (int)n, dir, *rel ? "/" : "", rel, IMPORT_PROG);
}

int cli_import_run(struct cli *c, const struct cli_args *a, int store_it)
{
	char self[PATH_MAX];
	char *cand[3];
	size_t ncand = 0;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)store_it; /* the import program reads the command from argv */
	if (len > 0) {
		self[len] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			size_t n = slash == self ? 1 : (size_t)(slash - self);
			cand[ncand++] = prog_in(self, n, "");
			cand[ncand++] = prog_in(self, n, KV_LIBEXEC_REL);
		}
	}
	cand[ncand++] = kv_xasprintf("%s/%s", KV_LIBEXECDIR, IMPORT_PROG);

	struct sbuf tried = SBUF_INIT;
	int rc = CLI_FAIL;
	for (size_t i = 0; i < ncand; i++) {
		size_t k;
		for (k = 0; k < i && strcmp(cand[k], cand[i]); k++)
			;
		if (k < i)
			continue; /* the same path twice */
		fflush(NULL);
		execv(cand[i], c->argv);
		if (errno != ENOENT && errno != ENOTDIR) {
			rc = cli_error(CLI_FAIL, a->name, "cannot run the import program %s: %s",
				       cand[i], strerror(errno));
			goto out;
		}
		if (tried.len)
			sbuf_adds(&tried, ", ");
		sbuf_adds(&tried, cand[i]);
	}
	rc = cli_error(CLI_FAIL, a->name, "the import program %s is missing (looked for %s); "
		       "it is installed with kvmarm-store (make install, or the package)",
		       IMPORT_PROG, tried.buf ? tried.buf : "");
out:
	sbuf_release(&tried);
	for (size_t i = 0; i < ncand; i++)
		free(cand[i]);
	return rc;
}
