#include <string.h>

#include "buf.h"
#include "utf8.h"
#include "shq.h"

int
shq_append(struct buf *b, const char *v, size_t len)
{
	size_t	 start = b->len;

	if (memchr(v, '\0', len) != NULL || !utf8_valid(v, len))
		return -1;
	if (buf_putc(b, '\'') == -1)
		goto fail;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\'') {
			if (buf_put(b, "'\\''", 4) == -1)
				goto fail;
		} else if (buf_putc(b, v[i]) == -1)
			goto fail;
	}
	if (buf_putc(b, '\'') == -1)
		goto fail;
	return 0;
fail:
	if (b->ptr != NULL) {
		b->len = start;
		b->ptr[start] = '\0';
	}
	return -1;
}

int
shq_appends(struct buf *b, const char *v)
{
	return shq_append(b, v, strlen(v));
}

int
shq_assign(struct buf *b, const char *name, const char *value)
{
	if (buf_printf(b, "%s=", name) == -1 || shq_appends(b, value) == -1 ||
	    buf_putc(b, '\n') == -1)
		return -1;
	return 0;
}
