/*
 * sha256.c - SHA-256 (sha256.h) over GLib's GChecksum: the only file that
 * names it, so swapping the implementation touches nothing else.
 */
#include "sha256.h"
#include "kv.h"

#include <string.h>
#include <glib.h>
#include "banned.h"

void kv_sha256_init(struct kv_sha256 *h)
{
	h->state = g_checksum_new(G_CHECKSUM_SHA256);
	if (!h->state)
		kv_panic("g_checksum_new(SHA256) failed");
}

void kv_sha256_update(struct kv_sha256 *h, const void *data, size_t len)
{
	/* GChecksum takes a signed length: feed huge buffers in pieces */
	const unsigned char *p = data;

	while (len > 0) {
		size_t n = len > (size_t)G_MAXSSIZE ? (size_t)G_MAXSSIZE : len;
		g_checksum_update(h->state, p, (gssize)n);
		p += n;
		len -= n;
	}
}

void kv_sha256_final(struct kv_sha256 *h, unsigned char out[KV_SHA256_LEN])
{
	gsize n = KV_SHA256_LEN;

	g_checksum_get_digest(h->state, out, &n);
	g_checksum_free(h->state);
	h->state = NULL;
}

void kv_sha256_final_hex(struct kv_sha256 *h, char out[KV_SHA256_HEX_LEN])
{
	/* valid until the checksum is freed: copy first */
	memcpy(out, g_checksum_get_string(h->state), KV_SHA256_HEX_LEN - 1);
	out[KV_SHA256_HEX_LEN - 1] = 0;
	g_checksum_free(h->state);
	h->state = NULL;
}

void kv_sha256(const void *data, size_t len, unsigned char out[KV_SHA256_LEN])
{
	struct kv_sha256 h;

	kv_sha256_init(&h);
	kv_sha256_update(&h, data, len);
	kv_sha256_final(&h, out);
}

void kv_sha256_hex(const void *data, size_t len, char out[KV_SHA256_HEX_LEN])
{
	struct kv_sha256 h;

	kv_sha256_init(&h);
	kv_sha256_update(&h, data, len);
	kv_sha256_final_hex(&h, out);
}
