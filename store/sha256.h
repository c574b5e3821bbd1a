/*
 * sha256.h - SHA-256 for the whole project: the store's message identity
 * and long-key hashing, the parser's derived Message-IDs, the reporter's
 * summary cache key. One home, so the hash library (GLib's GChecksum today)
 * is named in one file and every caller gets the same digest and hex form.
 *
 * One shot: kv_sha256() / kv_sha256_hex(). Piecewise (hashing a message
 * without copying it, or several fields with separators):
 *   struct kv_sha256 h;
 *   kv_sha256_init(&h);
 *   kv_sha256_update(&h, p, n); ...
 *   kv_sha256_final(&h, digest);   or   kv_sha256_final_hex(&h, hex);
 * A final call releases the state; init again to reuse the struct.
 * Allocation failure aborts, as everywhere; nothing else can fail.
 */
#ifndef KV_SHA256_H
#define KV_SHA256_H

#include <stddef.h>

#define KV_SHA256_LEN 32          /* digest bytes */
#define KV_SHA256_HEX_LEN 65      /* 64 lowercase hex digits and a NUL */

struct kv_sha256 {
	void *state;              /* the library's context, owned */
};

void kv_sha256_init(struct kv_sha256 *h);
void kv_sha256_update(struct kv_sha256 *h, const void *data, size_t len);
void kv_sha256_final(struct kv_sha256 *h, unsigned char out[KV_SHA256_LEN]);
void kv_sha256_final_hex(struct kv_sha256 *h, char out[KV_SHA256_HEX_LEN]);

void kv_sha256(const void *data, size_t len, unsigned char out[KV_SHA256_LEN]);
void kv_sha256_hex(const void *data, size_t len, char out[KV_SHA256_HEX_LEN]);

#endif
