/*
 * open_config.c - store_open_config: the one place where the [store]
 * settings (path, map_size_mb) and a command line's --db become an open
 * store. The milter, the reporter and kvmarm-store all open the store
 * through it, so the three programs can never disagree on which directory
 * or which initial map size a configuration means.
 */
#include "config.h"
#include "store.h"
#include "banned.h"

int store_open_config(struct store **sp, const struct kv_config *cfg, const char *dir,
		      unsigned flags, struct kv_err *err)
{
	size_t mapsize = 0;
	long long mb = config_int(cfg, "store", "map_size_mb");

	*sp = NULL;
	if (!dir || !*dir)
		dir = config_str(cfg, "store", "path");
	if (!*dir)
		return kv_err_set(err, "no store directory: [store] path is empty (set it, or give --db DIR)");
	/* 0 (or less) means the store's own default */
	if (mb > 0)
		mapsize = (size_t)mb << 20;
	return store_open_mapsize(sp, dir, flags, mapsize, err);
}
