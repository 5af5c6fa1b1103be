/* UTF-8, checked where input enters (forms, scripts, passwords, config). */
#ifndef KS_UTF8_H
#define KS_UTF8_H

#include <stddef.h>

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates, nothing
 * above U+10FFFF) and holds no NUL byte, else 0. */
int	utf8_valid(const char *s, size_t len);

#endif
