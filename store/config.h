/*
 * config.h - the one INI-style configuration file all three programs read
 * (GLib's GKeyFile syntax, read by our own code in config.c). Every key lives in a table in config.c with its
 * type, default and a line of documentation; conf/kvmarm-digest.conf shows
 * every key with its default (a test keeps the two in step). An unknown
 * section or key is an error that names it.
 */
#ifndef KV_CONFIG_H
#define KV_CONFIG_H

#include "kv.h"

struct kv_config;

/* Load path (NULL: defaults only). -1 with err naming the file, line or key. */
int config_load(struct kv_config **cfg, const char *path, struct kv_err *err);
void config_free(struct kv_config *cfg);

/* Values: the file's, else the table default. Asking for a key that is not
 * in the table is a bug (panics). Strings are owned by cfg. */
const char *config_str(const struct kv_config *cfg, const char *section, const char *key);
long long config_int(const struct kv_config *cfg, const char *section, const char *key);
double config_double(const struct kv_config *cfg, const char *section, const char *key);
int config_bool(const struct kv_config *cfg, const char *section, const char *key);
/* Comma-separated list, trimmed, empty items dropped; appended to *out. */
void config_list(const struct kv_config *cfg, const char *section, const char *key, struct strv *out);

/* Override a value (command-line options). Panics on an unknown key, and
 * on a number, mode or boolean that does not parse; text values (strings,
 * lists, paths, sockets) are taken as given, unchecked. */
void config_set(struct kv_config *cfg, const char *section, const char *key, const char *value);
/* Like config_set for values a user typed: -1 with err naming the key and
 * value when the key is unknown or the value has the wrong type. */
int config_try_set(struct kv_config *cfg, const char *section, const char *key,
		   const char *value, struct kv_err *err);

/* Write the documented sample (every key, default, doc) to out. */
void config_write_sample(struct sbuf *out);

/*
 * Open the store a configuration names (open_config.c): directory dir when
 * it is non-NULL and not empty (a --db option), else [store] path; initial
 * map size [store] map_size_mb (0: the store's default). flags as for
 * store_open. -1 with err naming the directory (or saying the path is
 * empty); the caller closes *sp with store_close. cfg may be NULL (the
 * built-in defaults).
 */
struct store;
int store_open_config(struct store **sp, const struct kv_config *cfg, const char *dir,
		      unsigned flags, struct kv_err *err);

#endif
