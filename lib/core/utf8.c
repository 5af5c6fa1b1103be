#include <stddef.h>

#include "utf8.h"

/*
 * Well-formed UTF-8 per RFC 3629 / Unicode table 3-7: the second byte's
 * range depends on the lead byte, which is what excludes overlongs (E0, F0),
 * surrogates (ED) and code points above U+10FFFF (F4, and F5..FF as leads).
 */
int
utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	unsigned char		 c, lo, hi;

	while (i < len) {
		c = p[i];
		if (c == 0x00)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return 0;	/* continuation, C0/C1 or F5..FF lead */
		if (len - i - 1 < n)
			return 0;	/* truncated sequence */
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= n; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += n + 1;
	}
	return 1;
}
