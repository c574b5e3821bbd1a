/*
 * fuzz.h - what the fuzz targets in tests/fuzz/ share.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput (the libFuzzer entry). The
 * same file links two ways:
 *  - `make fuzz`: clang -fsanitize=fuzzer,address,undefined into
 *    build-fuzz/fuzz/NAME, run for FUZZ_SECONDS on a seed corpus that
 *    tests/fuzz/seeds.sh generates (tests/gen/kvgen.py and inline samples);
 *  - `make`: with replay.c (a main that feeds each file named on the command
 *    line to the target once) into $(BUILD)/fuzz/NAME, so
 *    tests/t/60-fuzz-replay.t runs every reproducer in
 *    tests/fuzz/regress/NAME/ with the ordinary build (and under
 *    SANITIZE=1 with ASan) in every `make check`.
 *
 * A broken property is a crash: FUZZ_ASSERT prints what broke and aborts,
 * which libFuzzer records as a finding with its input.
 */
#ifndef KV_FUZZ_H
#define KV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: property broken: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data[0..size) as a NUL-terminated string (malloc'd; embedded NULs end it
 * early, as they would for any C string the code is given). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

#endif
