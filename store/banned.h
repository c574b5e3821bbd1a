/*
 * banned.h - functions we do not use: unbounded copies, non-reentrant time
 * and tokenising. A use turns into a compile error naming the function.
 *
 * Every library and program .c file includes it after all its other
 * #includes (`make check-banned` checks, `make fix-banned` adds it): the
 * macros below must not reach a system header, because glibc's fortified
 * headers (-D_FORTIFY_SOURCE=2, Debian's default hardening flags) define
 * inline versions of these very functions. For the same reason this file
 * first includes the headers that declare them itself, so their include
 * guards are set and a system header a later project header pulls in does
 * not see the macros either. The #undefs drop the macro versions some libc
 * configurations define.
 */
#ifndef KV_BANNED_H
#define KV_BANNED_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)

#endif
