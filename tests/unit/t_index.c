/*
 * t_index.c - the word index on disk (store/index_db.c): check finds a
 * posting removed behind the store's back, one naming no message and a
 * malformed block; schema 1 and 2 stores record without the index and
 * reindex builds it; a term's numbers over several blocks read back whole;
 * reindex builds the phrase pairs, phrase search answers from them, check
 * finds one removed, writers add them afterwards.
 */
#include "tap.h"
#include "store.h"
#include "store_int.h"   /* pairs_batch: one batch of the pair pass */
#include "db.h"
#include "query.h"
#include "kvtime.h"
#include "teststore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];

static char *newdir(const char *name)
{
	return kv_xasprintf("%s/%s", tmpdir, name);
}

/* A schema 2 index database "term" with one posting in it. 0 / -1. */
static int make_old_term(const char *dir)
{
	struct db_env *e;
	struct db_txn *t;
	struct kv_err err;
	unsigned int one = 1;
	db_dbi d;
	int rc;

	if (db_env_open(&e, dir, 1 << 24, 32, 0, &err) < 0)
		return -1;
	db_txn_begin(e, 0, &t, &err);
	rc = db_dbi_open(t, "term", DB_DUPSORT | DB_DUPFIXED | DB_INTEGERDUP, 1, &d, &err);
	if (rc == 0)
		rc = db_put(t, d, "s:vgic", 6, &one, sizeof(one), 0, &err);
	if (rc == 0)
		rc = db_txn_commit(t, &err);
	else
		db_txn_abort(t);
	db_env_close(e);
	return rc;
}

/* The word index: check finds a posting removed behind the store's back
 * and one that names no message; a schema 1 store records without the
 * index, reindex builds it (also for what came after), and check is
 * whole again. */
static void test_index(void)
{
	char *dir = newdir("index");
	struct kv_err err;
	struct store *s;
	struct store_item it;
	int rc;

	store_open(&s, dir, STORE_CREATE, &err);
	for (int i = 0; i < 3; i++) {
		char id[32], body[64];
		snprintf(id, sizeof(id), "ix%d@x", i);
		snprintf(body, sizeof(body), "plain body %d kvm_vgic_init\n> quoted words\n", i);
		char *raw = mk(id, NULL, "Ann Example <ann@x.example>", "vgic subject", 1600000000 + i, NULL, body, "\n");
		add(s, raw, &it);
		free(raw);
	}
	ok(store_index_ready(s, &err) == 1, "a new store has the word index (schema %d)", STORE_SCHEMA_VERSION);
	ok(store_check(s, &err) == 0, "index: whole after three adds");
	store_close(s);
	/* schema 3 blocks (index_db.c): the first number, then differences */
	ok(corrupt(dir, "words", "b:kvm_vgic_init", 15, "\x01\x02", 2, 0) == 0, "index: a posting deleted");
	store_open(&s, dir, 0, &err);
	rc = store_check(s, &err);
	ok(rc == 1 && strstr(err.msg, "message 2") && strstr(err.msg, "b:kvm_vgic_init"),
	   "index: check finds the deleted posting: %s", err.msg);
	store_close(s);
	ok(corrupt(dir, "words", "b:kvm_vgic_init", 15, "\x01\x01\x01", 3, 0) == 0 &&
	   corrupt(dir, "words", "s:vgic", 6, "\x01\x01\x01\x06", 4, 0) == 0, "index: put back, and a stray posting added");
	store_open(&s, dir, 0, &err);
	rc = store_check(s, &err);
	ok(rc == 1 && strstr(err.msg, "message 9"), "index: check finds the posting to no message: %s", err.msg);
	store_close(s);
	/* as a schema 1 store: the milter keeps recording, without index */
	ok(corrupt(dir, "meta", "schema_version", 14, "1", 1, 0) == 0, "index: store set back to schema 1");
	ok(store_open(&s, dir, 0, &err) == 0, "a schema 1 store opens for writing");
	ok(store_index_ready(s, &err) == 0, "... and says it has no index");
	{
		char *raw = mk("ix3@x", NULL, "Bob <bob@x.example>", "late one", 1600000100, NULL, "late body\n", "\n");
		ok(add(s, raw, &it) == 0 && it.status == STORE_ADDED, "schema 1: a message is still recorded");
		free(raw);
	}
	ok(store_reindex(s, NULL, NULL, &err) == 0, "reindex runs");
	ok(store_index_ready(s, &err) == 1, "reindex: schema %d afterwards", STORE_SCHEMA_VERSION);
	rc = store_check(s, &err);
	ok(rc == 0, "reindex: check whole, the stray posting gone, the late message indexed (%s)",
	   rc ? err.msg : "ok");
	store_close(s);
	ok(corrupt(dir, "words", "b:zzz", 5, "\x01\x00", 2, 0) == 0,
	   "index: a block naming message 1 twice (a zero difference)");
	store_open(&s, dir, 0, &err);
	rc = store_check(s, &err);
	ok(rc == 1 && strstr(err.msg, "b:zzz") && strstr(err.msg, "malformed"),
	   "index: check finds the malformed block: %s", err.msg);
	{
		struct store_reader *r;
		struct query *q = NULL;
		uint64_t *v = NULL;
		size_t n = 0;
		ok(store_reader_begin(s, &r, &err) == 0 && query_parse("b:zzz", 0, &q, &err) == 0 &&
		   query_run(r, q, &v, &n, &err) < 0 && strstr(err.msg, "malformed"),
		   "index: a malformed block read is an error: %s", err.msg);
		free(v);
		query_free(q);
		store_reader_end(r);
	}
	ok(store_reindex(s, NULL, NULL, &err) == 0, "reindex on a complete index: nothing to do");
	store_close(s);
	/* a schema 2 store (its index one LMDB duplicate per number, in
	 * "term"): no index until reindex, which drops "term" */
	ok(corrupt(dir, "meta", "schema_version", 14, "2", 1, 0) == 0 && make_old_term(dir) == 0,
	   "index: store set back to schema 2, with a \"term\" database");
	ok(store_open(&s, dir, 0, &err) == 0 && store_index_ready(s, &err) == 0,
	   "a schema 2 store opens and says it has no index");
	ok(store_reindex(s, NULL, NULL, &err) == 0 && store_index_ready(s, &err) == 1, "reindex of a schema 2 store");
	rc = store_check(s, &err);
	ok(rc == 0, "schema 2 reindexed: check whole, the malformed blocks gone (%s)", rc ? err.msg : "ok");
	store_close(s);
	ok(corrupt(dir, "term", "s:vgic", 6, "", 0, 1) == 1, "... and its \"term\" database is gone");
	free(dir);
}

/* The store's schema version as a number, -1 when unreadable (the store
 * must not be open). */
static int schema_of(const char *dir)
{
	struct db_env *e;
	struct db_txn *t;
	struct db_val v;
	struct kv_err err;
	db_dbi d;
	int ret = -1;

	if (db_env_open(&e, dir, 1 << 24, 32, 0, &err) < 0)
		return -1;
	if (db_txn_begin(e, 1, &t, &err) == 0) {
		if (db_dbi_open(t, "meta", 0, 0, &d, &err) == 0 && db_get(t, d, "schema_version", 14, &v, &err) == 0 &&
		    v.n == 1)
			ret = ((const char *)v.p)[0] - '0';
		db_txn_abort(t);
	}
	db_env_close(e);
	return ret;
}

/* Run the query q; how many messages match, -1 on error. */
static long count_query(struct store *s, const char *q)
{
	struct store_reader *r;
	struct query *qq = NULL;
	struct kv_err err;
	uint64_t *v = NULL;
	size_t n = 0;
	long ret = -1;

	if (store_reader_begin(s, &r, &err) < 0)
		return -1;
	if (query_parse(q, 0, &qq, &err) == 0 && query_run(r, qq, &v, &n, &err) == 0)
		ret = (long)n;
	else
		diag("query %s: %s", q, err.msg);
	free(v);
	query_free(qq);
	store_reader_end(r);
	return ret;
}

/* Phrase pairs (store/pairs.c): none in a new store, the same answers
 * from the text before reindex and from the pairs after it; a pair term
 * removed behind the store's back changes the answer (so the pairs are
 * what answers) and check names it; reindex --phrases puts it back; a
 * message added afterwards has its pairs. */
static void test_pairs(void)
{
	static const char *const bodies[] = {
		"we saw the dirty ring fill up\n",
		"Dirty  ring, again: the DIRTY RING\n",
		"a dirty ring-buffer here\n",
		"ring dirty is the wrong order\n",
		"across lines: dirty\nring is here\n",
		"> the dirty ring quoted\nlooks good to me\n",
		"dirty_ring as an identifier, dirty or ring apart\n",
	};
	char *dir = newdir("pairs");
	struct kv_err err;
	struct store *s;
	struct store_item it;
	uint64_t upto;
	int rc, n = (int)(sizeof(bodies) / sizeof(bodies[0]));

	store_open(&s, dir, STORE_CREATE, &err);
	for (int i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "pair%d@x", i);
		char *raw = mk(id, NULL, "Ann Example <ann@x.example>", i % 2 ? "page table walk" : "the page table",
			       1600000000 + i, NULL, bodies[i], "\n");
		add(s, raw, &it);
		free(raw);
	}
	is_int(store_pairs_state(s, &upto, &err), STORE_PAIRS_NONE, "pairs: none in a new store");
	/* 0 1 2 4 in new text; 5's is quoted */
	is_int(count_query(s, "nq:\"dirty ring\""), 4, "pairs: none yet, the text answers a phrase");
	is_int(count_query(s, "q:\"the dirty ring\""), 1, "pairs: none yet, three words in quoted text");
	is_int(count_query(s, "s:\"page table\""), n, "pairs: none yet, a subject phrase");
	store_close(s);
	ok(corrupt(dir, "meta", "schema_version", 14, "4", 1, 0) == 0, "pairs: schema set to 4 without them");
	store_open(&s, dir, 0, &err);
	rc = store_check(s, &err);
	ok(rc == 1 && strstr(err.msg, "schema 4") && strstr(err.msg, "not there"),
	   "pairs: check finds schema 4 without the pairs: %s", err.msg);
	store_close(s);
	ok(corrupt(dir, "meta", "schema_version", 14, "3", 1, 0) == 0, "pairs: schema 3 again");
	store_open(&s, dir, 0, &err);
	ok(store_reindex(s, NULL, NULL, &err) == 0, "pairs: reindex builds them");
	is_int(store_pairs_state(s, &upto, &err), STORE_PAIRS_COMPLETE, "pairs: complete after reindex");
	store_close(s);
	is_int(schema_of(dir), STORE_SCHEMA_PAIRS, "pairs: the store is schema 4, which programs without pairs refuse");
	store_open(&s, dir, 0, &err);
	rc = store_check(s, &err);
	ok(rc == 0, "pairs: check whole with them (%s)", rc ? err.msg : "ok");
	is_int(count_query(s, "nq:\"dirty ring\""), 4, "pairs: the same answer from the pairs");
	is_int(count_query(s, "\"ring dirty\""), 1, "pairs: the other order is another pair");
	is_int(count_query(s, "q:\"the dirty ring\""), 1, "pairs: three words: pairs, then the text");
	is_int(count_query(s, "s:\"page table\""), n, "pairs: a subject pair");
	is_int(count_query(s, "\"dirty ring\" -nq:\"dirty ring\""), 1, "pairs: NOT of a pair phrase");
	store_close(s);

	/* messages 1 2 3 5 6 (numbers from 1) have b:"dirty ring" */
	ok(corrupt(dir, "words", "B:dirty ring", 12, NULL, 0, 1) == 0, "pairs: the pair term removed");
	store_open(&s, dir, 0, &err);
	is_int(count_query(s, "nq:\"dirty ring\""), 0, "pairs: without it, no answer (the pairs answer)");
	rc = store_check(s, &err);
	ok(rc == 1 && strstr(err.msg, "B:dirty ring") && strstr(err.msg, "missing"),
	   "pairs: check finds the removed pair term: %s", err.msg);
	ok(store_reindex_pairs(s, NULL, NULL, &err) == 0, "pairs: reindex --phrases builds them again");
	rc = store_check(s, &err);
	ok(rc == 0, "pairs: check whole again (%s)", rc ? err.msg : "ok");
	is_int(count_query(s, "nq:\"dirty ring\""), 4, "pairs: the answer is back");

	char *raw = mk("pair-late@x", NULL, "Ann <ann@x.example>", "late", 1600000100, NULL,
		       "one more dirty ring\n", "\n");
	add(s, raw, &it);
	free(raw);
	is_int(count_query(s, "nq:\"dirty ring\""), 5, "pairs: a message added afterwards is found");
	rc = store_check(s, &err);
	ok(rc == 0, "pairs: check whole: the writer added its pairs (%s)", rc ? err.msg : "ok");
	store_close(s);

	/* reindex --phrases on a store set back to schema 1 (no word index):
	 * the words are built first, then the pairs */
	ok(corrupt(dir, "meta", "schema_version", 14, "1", 1, 0) == 0, "pairs: store set back to schema 1");
	store_open(&s, dir, 0, &err);
	raw = mk("pair-old@x", NULL, "Ann <ann@x.example>", "old", 1600000200, NULL, "an old dirty ring\n", "\n");
	add(s, raw, &it);
	free(raw);
	ok(store_reindex_pairs(s, NULL, NULL, &err) == 0 && store_index_ready(s, &err) == 1 &&
	   store_pairs_state(s, &upto, &err) == STORE_PAIRS_COMPLETE, "pairs: reindex --phrases of a schema 1 store");
	rc = store_check(s, &err);
	ok(rc == 0, "pairs: check whole: words and pairs of every message (%s)", rc ? err.msg : "ok");
	is_int(count_query(s, "nq:\"dirty ring\""), 6, "pairs: the message recorded without the index is found");
	store_close(s);
	free(dir);
}

/* The pair pass in batches with a writer between them (store/pairs.c):
 * while it is under way the writer adds no pairs, check expects them only
 * up to where it got, phrase search reads the text; its last batch takes
 * in what the writer added, and from then on the pairs answer. */
static void test_pairs_batches(void)
{
	char *dir = newdir("pairbatch");
	struct store_item items[300];
	char *raws[300];
	struct kv_err err;
	struct store *s;
	struct store_item it;
	uint64_t done = 0, total = 0, upto = 0;
	int ok_all = 1, rc;

	store_open(&s, dir, STORE_CREATE, &err);
	for (int b = 0; b < 8 && ok_all; b++) {   /* 2400 messages: two batches of the pass */
		for (int i = 0; i < 300; i++) {
			char id[32], body[96];
			int k = b * 300 + i;
			snprintf(id, sizeof(id), "pb%d@x", k);
			snprintf(body, sizeof(body), "the %s ring\n", k % 5 ? "fill" : "dirty");
			raws[i] = mk(id, NULL, "Ann <ann@x.example>", "batches", 1600000000 + k, NULL, body, "\n");
			memset(&items[i], 0, sizeof(items[i]));
			items[i].raw = raws[i];
			items[i].len = strlen(raws[i]);
			items[i].arrival = 1600000000;
		}
		ok_all &= store_add_batch(s, items, 300, &err) == 0;
		for (int i = 0; i < 300; i++) {
			ok_all &= items[i].status == STORE_ADDED;
			free(raws[i]);
		}
	}
	ok(ok_all, "pair batches: 2400 messages");
	rc = pairs_batch(s, &done, &total, &err);
	ok(rc == 0 && done == REINDEX_BATCH && total == 2400, "pair batches: the first batch (%d: %llu of %llu)", rc,
	   (unsigned long long)done, (unsigned long long)total);
	is_int(store_pairs_state(s, &upto, &err), STORE_PAIRS_BUILDING, "pair batches: being built");
	ok(upto == REINDEX_BATCH, "pair batches: built up to message %llu", (unsigned long long)upto);
	char *raw = mk("pb-mid@x", NULL, "Ann <ann@x.example>", "batches", 1600005000, NULL, "the dirty ring\n", "\n");
	add(s, raw, &it);
	free(raw);
	rc = store_check(s, &err);
	ok(rc == 0, "pair batches: check whole half way, a message added meanwhile (%s)", rc ? err.msg : "ok");
	is_int(count_query(s, "\"the dirty ring\""), 481, "pair batches: half way, phrases from the text");
	rc = pairs_batch(s, &done, &total, &err);
	ok(rc == 1 && done == 2401, "pair batches: the last batch takes in the message added meanwhile (%d: %llu)", rc,
	   (unsigned long long)done);
	is_int(store_pairs_state(s, &upto, &err), STORE_PAIRS_COMPLETE, "pair batches: complete");
	rc = store_check(s, &err);
	ok(rc == 0, "pair batches: check whole (%s)", rc ? err.msg : "ok");
	is_int(count_query(s, "\"dirty ring\""), 481, "pair batches: from the pairs, every one");
	store_close(s);
	free(dir);
}

/* A word in every message outgrows a term's first block: its numbers go
 * on in later blocks, batch after batch, and read back whole. */
static void test_index_blocks(void)
{
	char *dir = newdir("ixblocks");
	struct store_item items[300];
	char *raws[300];
	struct kv_err err;
	struct store *s;
	int ok_all = 1, rc;

	store_open(&s, dir, STORE_CREATE, &err);
	for (int b = 0; b < 5 && ok_all; b++) {
		for (int i = 0; i < 300; i++) {
			char id[32], body[96];
			int k = b * 300 + i;
			snprintf(id, sizeof(id), "blk%d@x", k);
			snprintf(body, sizeof(body), "everywhere %s %s\n", k % 3 ? "" : "third",
				 k % 700 == 5 ? "rare" : "");
			raws[i] = mk(id, NULL, "Ann <ann@x.example>", "blocks", 1600000000 + k, NULL, body, "\n");
			memset(&items[i], 0, sizeof(items[i]));
			items[i].raw = raws[i];
			items[i].len = strlen(raws[i]);
			items[i].arrival = 1600000000;
		}
		if (store_add_batch(s, items, 300, &err) < 0) {
			diag("store_add_batch: %s", err.msg);
			ok_all = 0;
		}
		for (int i = 0; i < 300; i++) {
			ok_all &= items[i].status == STORE_ADDED;
			free(raws[i]);
		}
	}
	ok(ok_all, "blocks: 1500 messages in 5 batches");
	is_int(count_query(s, "b:everywhere"), 1500, "blocks: a word in every message, over several blocks");
	is_int(count_query(s, "b:third"), 500, "blocks: a word in every third message");
	is_int(count_query(s, "b:rare"), 3, "blocks: a rare word");
	is_int(count_query(s, "b:ever*"), 1500, "blocks: a prefix over a term's blocks");
	is_int(count_query(s, "b:everywhere b:third"), 500, "blocks: both words");
	rc = store_check(s, &err);
	ok(rc == 0, "blocks: check whole (%s)", rc ? err.msg : "ok");
	store_close(s);
	free(dir);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/t_index.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_index();
	test_index_blocks();
	test_pairs();
	test_pairs_batches();
	{
		char *cmd = kv_xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
		free(cmd);
	}
	return done_testing();
}
