/*
 * t_sha256.c - our SHA-256 (store/sha256.c): the FIPS 180-2 known answers
 * (empty, "abc", the 448-bit message, a million 'a'), the same digest as
 * GLib's GChecksum (the implementation it replaced, so stored identities
 * and key hashes stay the same) for every length from 0 to 300 bytes,
 * whatever the pieces the input is fed in, and final == final_hex.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "tap.h"
#include "sha256.h"

static void hexof(const unsigned char *d, char *out)
{
	for (int i = 0; i < KV_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void glib_hex(const unsigned char *p, size_t n, char out[KV_SHA256_HEX_LEN])
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(c, p, (gssize)n);
	snprintf(out, KV_SHA256_HEX_LEN, "%s", g_checksum_get_string(c));
	g_checksum_free(c);
}

int main(void)
{
	char hex[KV_SHA256_HEX_LEN], want[KV_SHA256_HEX_LEN];
	unsigned char d[KV_SHA256_LEN];
	struct kv_sha256 h;

	kv_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty");
	kv_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	kv_sha256_hex(m448, strlen(m448), hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit message");

	char *mil = malloc(1000000);
	memset(mil, 'a', 1000000);
	kv_sha256_hex(mil, 1000000, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million 'a'");
	/* the same fed in odd pieces (crossing block boundaries every way) */
	kv_sha256_init(&h);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 131 + 1)
		kv_sha256_update(&h, mil + off, off + step > 1000000 ? 1000000 - off : step);
	kv_sha256_final_hex(&h, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "a million 'a' in pieces of 1..131 bytes");
	free(mil);

	unsigned char buf[300];
	unsigned seed = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
	int same = 1, split_same = 1, raw_same = 1;
	for (size_t n = 0; n <= sizeof(buf); n++) {
		glib_hex(buf, n, want);
		kv_sha256_hex(buf, n, hex);
		if (strcmp(hex, want)) {
			diag("length %zu: got %s, GLib %s", n, hex, want);
			same = 0;
		}
		kv_sha256(buf, n, d);
		hexof(d, hex);
		if (strcmp(hex, want))
			raw_same = 0;
		/* two pieces, split at every point, with an empty update between */
		for (size_t k = 0; k <= n; k += (n > 140 ? 7 : 1)) {
			kv_sha256_init(&h);
			kv_sha256_update(&h, buf, k);
			kv_sha256_update(&h, buf + k, 0);
			kv_sha256_update(&h, buf + k, n - k);
			kv_sha256_final_hex(&h, hex);
			if (strcmp(hex, want)) {
				diag("length %zu split at %zu: got %s, GLib %s", n, k, hex, want);
				split_same = 0;
			}
		}
	}
	ok(same, "lengths 0..300: the same hex digest as GLib's GChecksum");
	ok(raw_same, "lengths 0..300: kv_sha256 bytes are the hex digest's");
	ok(split_same, "lengths 0..300: any split into pieces gives the same digest");

	/* the struct is reusable after a final */
	kv_sha256_init(&h);
	kv_sha256_update(&h, "abc", 3);
	kv_sha256_final(&h, d);
	kv_sha256_init(&h);
	kv_sha256_update(&h, "abc", 3);
	kv_sha256_final_hex(&h, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "init again after a final");
	return done_testing();
}
