/*
 * archive.c - the output directory: one file per digest and format, and an
 * index.html listing them. Files appear whole or not at all (temporary file,
 * then rename), so a reader of the archive never sees half a digest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include "archive.h"
#include "render.h"
#include "banned.h"

static int mkdir_p(const char *dir, struct kv_err *err)
{
	char *p = kv_xstrdup(dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			kv_err_set(err, "output directory %s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	int rc = 0;
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		rc = kv_err_set(err, "output directory %s: %s", p, strerror(errno));
	free(p);
	return rc;
}

int archive_write(const char *dir, const char *name, const char *ext, const char *data, size_t len,
		  char **path, struct kv_err *err)
{
	if (mkdir_p(dir, err) < 0)
		return -1;
	char *final = kv_xasprintf("%s/%s.%s", dir, name, ext);
	char *tmp = kv_xasprintf("%s/.%s.%s.tmp%ld", dir, name, ext, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = -1;
	if (fd < 0) {
		kv_err_set(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	const char *p = data;
	size_t n = len;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			kv_err_set(err, "%s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		p += w;
		n -= (size_t)w;
	}
	/* no fsync: the archive can be rebuilt from the store at any time; the
	 * rename alone keeps readers from seeing half a file */
	if (close(fd) < 0) {
		kv_err_set(err, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, final) < 0) {
		kv_err_set(err, "%s: %s", final, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
	if (path) {
		*path = final;
		final = NULL;
	}
out:
	free(final);
	free(tmp);
	return rc;
}

static int name_cmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

static int exists(const char *dir, const char *name, const char *ext)
{
	char *p = kv_xasprintf("%s/%s.%s", dir, name, ext);
	int r = access(p, F_OK) == 0;
	free(p);
	return r;
}

int archive_index(const char *dir, const char *lang, struct kv_err *err)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return kv_err_set(err, "output directory %s: %s", dir, strerror(errno));
	struct strv names = STRV_INIT;
	struct dirent *de;
	while ((de = readdir(dh))) {
		size_t n = strlen(de->d_name);
		if (n <= 5 || de->d_name[0] == '.' || strcmp(de->d_name + n - 5, ".html") != 0 ||
		    strcmp(de->d_name, "index.html") == 0)
			continue;
		strv_push_owned(&names, kv_xstrndup(de->d_name, n - 5));
	}
	closedir(dh);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), name_cmp_desc);

	struct digest d = { 0 };
	d.lang = (char *)lang;
	struct sbuf out = SBUF_INIT;
	render_html_head(&out, lang, render_label(&d, L_INDEX_TITLE));
	sbuf_adds(&out, "<h1>");
	render_html_escape(&out, render_label(&d, L_INDEX_TITLE));
	sbuf_adds(&out, "</h1>\n<ul>\n");
	for (size_t i = 0; i < names.n; i++) {
		/* names come from our own file names; still escaped, and only
		 * relative links to files in this directory */
		sbuf_adds(&out, "<li><a href=\"");
		render_html_escape(&out, names.v[i]);
		sbuf_adds(&out, ".html\">");
		render_html_escape(&out, names.v[i]);
		sbuf_adds(&out, "</a>");
		if (exists(dir, names.v[i], "md")) {
			sbuf_adds(&out, " · <a href=\"");
			render_html_escape(&out, names.v[i]);
			sbuf_adds(&out, ".md\">md</a>");
		}
		if (exists(dir, names.v[i], "txt")) {
			sbuf_adds(&out, " · <a href=\"");
			render_html_escape(&out, names.v[i]);
			sbuf_adds(&out, ".txt\">txt</a>");
		}
		if (exists(dir, names.v[i], "json")) {
			sbuf_adds(&out, " · <a href=\"");
			render_html_escape(&out, names.v[i]);
			sbuf_adds(&out, ".json\">json</a>");
		}
		sbuf_adds(&out, "</li>\n");
	}
	sbuf_adds(&out, "</ul>\n</body>\n</html>\n");
	int rc = archive_write(dir, "index", "html", out.buf, out.len, NULL, err);
	sbuf_release(&out);
	strv_release(&names);
	return rc;
}
