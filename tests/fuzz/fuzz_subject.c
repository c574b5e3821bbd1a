/*
 * fuzz_subject.c - subject parsing and the category rules (store/subject.c,
 * store/category.c) on any subject. The first input line is the subject,
 * the rest the body text the classifier looks at. Properties: every field
 * of subject_info is a NUL-terminated string inside its array and valid
 * UTF-8 when the subject was (a cut must not split a character), N of N/M
 * is -1 or not negative, the title normalises without overflow, the
 * category is one of the known ones and its name maps back to it.
 */
#include "fuzz.h"
#include "category.h"
#include "kv.h"
#include "subject.h"

#define IN_ARRAY(a) (memchr((a), 0, sizeof(a)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *all = kv_utf8_sanitize((const char *)data, size);
	char *nl = strchr(all, '\n');
	const char *body = "";
	if (nl) {
		*nl = 0;
		body = nl + 1;
	}
	struct subject_info si;
	memset(&si, 0x5a, sizeof(si));   /* a field left unterminated shows */
	subject_parse(all, &si);
	FUZZ_ASSERT(IN_ARRAY(si.project) && IN_ARRAY(si.tags) && IN_ARRAY(si.title),
		    "a subject_info field is not terminated inside its array");
	FUZZ_ASSERT(kv_utf8_valid(si.title, strlen(si.title)), "title not UTF-8: %s", si.title);
	FUZZ_ASSERT(kv_utf8_valid(si.tags, strlen(si.tags)), "tags not UTF-8: %s", si.tags);
	FUZZ_ASSERT(kv_utf8_valid(si.project, strlen(si.project)), "project not UTF-8");
	FUZZ_ASSERT(si.index >= -1 && si.total >= -1, "negative N/M: %d/%d", si.index, si.total);
	FUZZ_ASSERT(si.version >= 0, "version %d", si.version);

	char norm[SUBJ_MAX];
	memset(norm, 0x5a, sizeof(norm));
	subject_norm_title(si.title, norm, sizeof(norm));
	FUZZ_ASSERT(IN_ARRAY(norm), "normalised title not terminated");
	char tiny[8];
	memset(tiny, 0x5a, sizeof(tiny));
	subject_norm_title(si.title, tiny, sizeof(tiny));
	FUZZ_ASSERT(IN_ARRAY(tiny), "normalised title overflows a small buffer");

	enum category c = category_classify(&si, "someone@example.org", body, strlen(body));
	FUZZ_ASSERT((int)c >= 0 && c < CAT_COUNT, "category %d", (int)c);
	FUZZ_ASSERT(category_from_name(category_name(c)) == (int)c, "category name does not map back");
	free(all);
	return 0;
}
