/*
 * Growable byte buffer.
 *
 * Invariants (hold after every call, success or failure):
 *   - a zeroed struct buf (or one after buf_init) is a valid empty buffer:
 *     ptr == NULL, len == 0, cap == 0;
 *   - when ptr != NULL: len < cap and ptr[len] == '\0', so buf_cstr() is
 *     always a NUL-terminated string (the contents may hold other NULs);
 *   - len never exceeds BUF_MAX; a write that would pass it fails;
 *   - a failing call returns -1 and leaves the buffer exactly as it was.
 */
#ifndef KS_BUF_H
#define KS_BUF_H

#include <stddef.h>

#define BUF_MAX ((size_t)1 << 30)

struct buf {
	char	*ptr;
	size_t	 len;
	size_t	 cap;
};

void		 buf_init(struct buf *);
void		 buf_release(struct buf *);	/* frees storage, back to init */
void		 buf_reset(struct buf *);	/* len = 0, keeps storage */
int		 buf_grow(struct buf *, size_t extra);
int		 buf_put(struct buf *, const void *, size_t);
int		 buf_puts(struct buf *, const char *);
int		 buf_putc(struct buf *, int);
int		 buf_printf(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
const char	*buf_cstr(const struct buf *);	/* "" when empty */
/* Appends s with every "sha256:" followed by 64 hex digits shortened to
 * its first 12 digits and "…" (for display; the full text goes in a title).
 * All or nothing, like every buf_ call. */
int		 buf_put_abbrev_digests(struct buf *, const char *s);
/* Hands the storage to the caller (free() it); the buffer is re-initialised.
 * Returns a malloc'd "" for an empty buffer, NULL only on allocation failure. */
char		*buf_detach(struct buf *, size_t *lenp);

#endif
