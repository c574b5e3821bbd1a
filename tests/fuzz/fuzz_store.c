/*
 * fuzz_store.c - store insertion (store/store.c, record.c, thread.c,
 * series.c) with `check` as the oracle. The input is up to 8 mails split
 * at each "\n\x01\n", added in one batch to a store that lives for many
 * runs (one per process under $TMPDIR or /tmp, started afresh every 200
 * runs and removed at exit), so each run's mails thread, duplicate and
 * link with the earlier ones. Properties: the batch commits; every item
 * is added, a duplicate or skipped with a reason; each added or duplicate
 * number gives back exactly the bytes given; the store's counts grow by the
 * added items; and store_check finds every invariant whole after each run.
 */
#include <unistd.h>

#include "fuzz.h"
#include "kv.h"
#include "log.h"
#include "mime.h"
#include "store.h"

#define MAX_ITEMS 8
#define RUNS_PER_STORE 200

static char *dir;
static struct store *st;
static unsigned runs;

static void drop_store(void)
{
	if (st)
		store_close(st);
	st = NULL;
	char *cmd = kv_xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_store: could not remove %s\n", dir);
	free(cmd);
}

static void new_store(void)
{
	struct kv_err err;
	if (!dir) {
		const char *t = getenv("TMPDIR");
		dir = kv_xasprintf("%s/kv-fuzz-store-%d", t && *t ? t : "/tmp", (int)getpid());
		mime_init();
		log_set_level(LOG_LVL_ERR);
		atexit(drop_store);
	}
	drop_store();
	FUZZ_ASSERT(store_open_mapsize(&st, dir, STORE_CREATE, 4 << 20, &err) == 0, "open: %s", err.msg);
	runs = 0;
}

static uint64_t count_msgs(void)
{
	struct store_reader *r;
	struct store_counts c;
	struct kv_err err;
	FUZZ_ASSERT(store_reader_begin(st, &r, &err) == 0, "reader: %s", err.msg);
	FUZZ_ASSERT(store_counts(r, &c, &err) == 0, "counts: %s", err.msg);
	store_reader_end(r);
	return c.messages;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!st || runs++ >= RUNS_PER_STORE)
		new_store();
	struct store_item items[MAX_ITEMS];
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= size && n < MAX_ITEMS; i++) {
		if (i == size || (i + 2 < size && data[i] == '\n' && data[i + 1] == 1 && data[i + 2] == '\n')) {
			memset(&items[n], 0, sizeof(items[n]));
			items[n].raw = (const char *)data + start;
			items[n].len = i - start;
			items[n].arrival = 1709251200 + (int64_t)n * 60;
			n++;
			start = i + 3;
			i += 2;
		}
	}
	uint64_t before = count_msgs();
	struct kv_err err;
	FUZZ_ASSERT(store_add_batch(st, items, n, &err) == 0, "batch of %zu failed: %s", n, err.msg);
	size_t added = 0;
	struct store_reader *r;
	FUZZ_ASSERT(store_reader_begin(st, &r, &err) == 0, "reader: %s", err.msg);
	for (size_t i = 0; i < n; i++) {
		struct store_item *it = &items[i];
		FUZZ_ASSERT(it->status == STORE_ADDED || it->status == STORE_DUPLICATE || it->status == STORE_SKIPPED,
			    "item %zu has status %d", i, (int)it->status);
		if (it->status == STORE_SKIPPED) {
			FUZZ_ASSERT(it->why[0], "item %zu skipped without a reason", i);
			continue;
		}
		added += it->status == STORE_ADDED;
		const char *raw;
		size_t len;
		FUZZ_ASSERT(store_msg_raw(r, it->num, &raw, &len, &err) == 0, "item %zu (number %llu) not readable",
			    i, (unsigned long long)it->num);
		if (it->status == STORE_ADDED)
			FUZZ_ASSERT(len == it->len && !memcmp(raw, it->raw, len), "item %zu stored other bytes", i);
		struct msg_rec m;
		FUZZ_ASSERT(store_msg_get(r, it->num, &m, &err) == 0, "item %zu has no record", i);
	}
	store_reader_end(r);
	FUZZ_ASSERT(count_msgs() == before + added, "%zu added but the count went %llu -> %llu", added,
		    (unsigned long long)before, (unsigned long long)count_msgs());
	int rc = store_check(st, &err);
	FUZZ_ASSERT(rc == 0, "check after the batch: %s", err.msg);
	return 0;
}
