/*
 * The one audited way a value enters a generated shell script.
 *
 * shq_append() writes the value as a single bash word in single quotes; a
 * single quote inside becomes '\'' (close, escaped quote, reopen). Inside
 * single quotes bash gives no character a meaning, so $( ), backticks,
 * globs, ;, |, & and newlines all stay literal. NUL cannot be represented
 * in a shell word and is refused, as is invalid UTF-8 (so no multi-byte
 * sequence can confuse a later reader of the script).
 */
#ifndef KS_SHQ_H
#define KS_SHQ_H

#include <stddef.h>

struct buf;

/* Appends the quoted word; -1 (buffer unchanged) for NUL/invalid UTF-8 or
 * allocation failure. */
int	shq_append(struct buf *, const char *value, size_t len);
int	shq_appends(struct buf *, const char *value);
/* Appends the line NAME='value' (name: a shell identifier the caller
 * chose; value quoted as above). -1 on failure. */
int	shq_assign(struct buf *, const char *name, const char *value);

#endif
