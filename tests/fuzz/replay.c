/*
 * replay.c - main for the ordinary build of a fuzz target: each file named
 * on the command line (or each regular file in a directory named there) is
 * given once to LLVMFuzzerTestOneInput. Exit 0 when every input ran; a
 * broken property aborts (fuzz.h). tests/t/60-fuzz-replay.t runs it over
 * tests/fuzz/regress/ and a generated seed corpus.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "kv.h"

static int run_file(const char *path)
{
	char *data;
	size_t len;
	struct kv_err err;
	if (kv_read_file(path, &data, &len, &err) < 0) {
		fprintf(stderr, "replay: %s\n", err.msg);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;
	unsigned long n = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc |= run_file(argv[i]) < 0;
			n++;
			continue;
		}
		struct dirent **ents;
		int ne = scandir(argv[i], &ents, NULL, alphasort);
		if (ne < 0) {
			perror(argv[i]);
			return 2;
		}
		for (int k = 0; k < ne; k++) {
			if (ents[k]->d_name[0] != '.') {
				char *p = kv_xasprintf("%s/%s", argv[i], ents[k]->d_name);
				if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
					rc |= run_file(p) < 0;
					n++;
				}
				free(p);
			}
			free(ents[k]);
		}
		free(ents);
	}
	printf("replayed %lu inputs\n", n);
	return rc ? 1 : 0;
}
