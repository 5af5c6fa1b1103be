/*
 * Growable byte buffer. See buf.h for the invariants every function keeps.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* First allocation; small enough not to waste memory on tiny strings, big
 * enough that typical short values never reallocate. */
#define BUF_MINCAP	64

void
buf_init(struct buf *b)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_release(struct buf *b)
{
	free(b->ptr);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->ptr != NULL)
		b->ptr[0] = '\0';
}

/*
 * Makes room for extra more bytes plus the terminating NUL. The size is
 * checked against BUF_MAX before any addition so nothing can wrap; since
 * BUF_MAX is far below SIZE_MAX / 2, doubling the capacity cannot overflow
 * either.
 */
int
buf_grow(struct buf *b, size_t extra)
{
	size_t	 need, ncap;
	char	*np;

	if (extra > BUF_MAX - b->len)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;

	ncap = b->cap > 0 ? b->cap : BUF_MINCAP;
	while (ncap < need)
		ncap *= 2;
	/* Doubling may overshoot; never reserve more than a full buffer. */
	if (ncap > BUF_MAX + 1)
		ncap = BUF_MAX + 1;

	/* realloc leaves the old block intact on failure, so b is unchanged. */
	if ((np = realloc(b->ptr, ncap)) == NULL)
		return -1;
	/* A fresh buffer has no terminator yet; an old one keeps its own. */
	if (b->ptr == NULL)
		np[0] = '\0';
	b->ptr = np;
	b->cap = ncap;
	return 0;
}

int
buf_put(struct buf *b, const void *p, size_t n)
{
	/* Nothing to copy; also keeps a NULL p away from memcpy. */
	if (n == 0)
		return 0;
	if (buf_grow(b, n) == -1)
		return -1;
	memcpy(b->ptr + b->len, p, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

int
buf_putc(struct buf *b, int c)
{
	unsigned char	 ch = (unsigned char)c;

	return buf_put(b, &ch, 1);
}

/*
 * Formats straight into the spare capacity first, so the common case runs
 * vsnprintf once; only when the output does not fit is the buffer grown and
 * the format run again.
 */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 avail;
	int	 n, rc = -1;

	avail = b->cap - b->len;	/* 0 for an unallocated buffer */
	va_start(ap, fmt);
	n = vsnprintf(avail > 0 ? b->ptr + b->len : NULL, avail, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out;
	/* n == 0 with no storage: nothing to add, and no reason to allocate. */
	if ((size_t)n < avail || n == 0) {
		b->len += (size_t)n;
		rc = 0;
		goto out;
	}

	/*
	 * Truncated: the attempt overwrote our terminator, which must be put
	 * back before anything can fail so the buffer reads as before.
	 */
	if (b->ptr != NULL)
		b->ptr[b->len] = '\0';
	if (buf_grow(b, (size_t)n) == -1)
		goto out;
	va_start(ap, fmt);
	n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	/* Same format and arguments; a differing result would be a libc bug,
	 * but never trust it to have written what we accounted for. */
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->ptr[b->len] = '\0';
		goto out;
	}
	b->len += (size_t)n;
	rc = 0;
out:
	return rc;
}

const char *
buf_cstr(const struct buf *b)
{
	return b->ptr != NULL ? b->ptr : "";
}

char *
buf_detach(struct buf *b, size_t *lenp)
{
	char	*p;
	size_t	 len;

	if (b->ptr == NULL) {
		/* Callers always get something they can free() and print. */
		if ((p = malloc(1)) == NULL)
			return NULL;
		p[0] = '\0';
		len = 0;
	} else {
		p = b->ptr;
		len = b->len;
	}
	buf_init(b);
	if (lenp != NULL)
		*lenp = len;
	return p;
}

static int
hex64(const char *p)
{
	for (int i = 0; i < 64; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

int
buf_put_abbrev_digests(struct buf *b, const char *s)
{
	static const char pre[] = "sha256:";
	const size_t	 pl = sizeof(pre) - 1, olen = b->len;
	const char	*p = s, *d;

	while ((d = strstr(p, pre)) != NULL) {
		/* strnlen first: hex64 must not read past the string's end. */
		if (strnlen(d + pl, 64) == 64 && hex64(d + pl)) {
			if (buf_put(b, p, (size_t)(d - p) + pl + 12) == -1 ||
			    buf_puts(b, "\u2026") == -1)
				goto fail;
			p = d + pl + 64;
		} else {
			if (buf_put(b, p, (size_t)(d - p) + pl) == -1)
				goto fail;
			p = d + pl;
		}
	}
	if (buf_puts(b, p) == -1)
		goto fail;
	return 0;
fail:
	/* Back to what it held: the all-or-nothing invariant. */
	b->len = olen;
	if (b->ptr != NULL)
		b->ptr[olen] = '\0';
	return -1;
}
