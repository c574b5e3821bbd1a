/*
 * sha256.h - SHA-256 for the whole project: the store's message identity
 * and long-key hashing, the parser's derived Message-IDs, the reporter's
 * summary cache key. One home, so every caller gets the same digest and
 * hex form. Our own code (sha256.c), not a library's: GLib's GChecksum made
 * every program load GLib just for this.
 *
 * One shot: kv_sha256() / kv_sha256_hex(). Piecewise (hashing a message
 * without copying it, or several fields with separators):
 *   struct kv_sha256 h;
 *   kv_sha256_init(&h);
 *   kv_sha256_update(&h, p, n); ...
 *   kv_sha256_final(&h, digest);   or   kv_sha256_final_hex(&h, hex);
 * A final call wipes the state; init again to reuse the struct.
 * Nothing can fail; the state lives in the struct (no allocation).
 */
#ifndef KV_SHA256_H
#define KV_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define KV_SHA256_LEN 32          /* digest bytes */
#define KV_SHA256_HEX_LEN 65      /* 64 lowercase hex digits and a NUL */

struct kv_sha256 {
	uint32_t st[8];           /* the chaining value */
	uint64_t total;           /* bytes hashed so far */
	unsigned char buf[64];    /* a partial block */
	size_t nbuf;
};

void kv_sha256_init(struct kv_sha256 *h);
void kv_sha256_update(struct kv_sha256 *h, const void *data, size_t len);
void kv_sha256_final(struct kv_sha256 *h, unsigned char out[KV_SHA256_LEN]);
void kv_sha256_final_hex(struct kv_sha256 *h, char out[KV_SHA256_HEX_LEN]);

void kv_sha256(const void *data, size_t len, unsigned char out[KV_SHA256_LEN]);
void kv_sha256_hex(const void *data, size_t len, char out[KV_SHA256_HEX_LEN]);

#endif
