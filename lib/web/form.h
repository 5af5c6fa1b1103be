/*
 * Parsing of application/x-www-form-urlencoded bodies, query strings and
 * Cookie headers into an ordered key/value list.
 *
 * Every key and value is NUL-terminated, owned by the list, and checked to be
 * valid UTF-8 without NUL bytes: a request that fails this is rejected as a
 * whole (the caller answers 400), never partly used.
 */
#ifndef KS_FORM_H
#define KS_FORM_H

#include <stddef.h>

#include "utf8.h"

#define FORM_MAX_PAIRS	256	/* more pairs than this: FORM_ETOOMANY */

enum form_err {
	FORM_OK = 0,
	FORM_EBADESC = -1,	/* '%' not followed by two hex digits */
	FORM_EUTF8 = -2,	/* decoded key or value is not valid UTF-8, or holds NUL */
	FORM_ENOMEM = -3,
	FORM_ETOOMANY = -4,
	FORM_ESYNTAX = -5	/* cookie pair without '=' or empty name */
};

struct kv {
	char	*key;
	char	*val;
	size_t	 vlen;
};

struct kvlist {
	struct kv	*v;
	size_t		 n;
	size_t		 cap;
};

void		 kvlist_init(struct kvlist *);
void		 kvlist_release(struct kvlist *);
/* Appends copies of key and val. Returns 0, or -1 (out of memory, or key or
 * val not valid UTF-8) leaving the list unchanged. Not subject to
 * FORM_MAX_PAIRS. */
int		 kvlist_add(struct kvlist *, const char *key, const char *val);

/* The parsers below return FORM_OK or a form_err code. FORM_MAX_PAIRS bounds
 * the whole list they append to, not just the pairs of one call. */
/* Appends the pairs of s (len bytes, need not be NUL-terminated) to l.
 * '&' separates pairs, '+' decodes to a space, %XX to a byte; "k" with no
 * '=' is a key with an empty value; empty pairs ("a=1&&b=2") are skipped.
 * Repeated keys are kept in order. On error l is left as it was. */
int		 form_parse(struct kvlist *l, const char *s, size_t len);

/* Cookie header: "a=1; b=2". No percent-decoding (cookie values are opaque);
 * surrounding whitespace trimmed; values may be double-quoted (quotes kept
 * off). Empty segments ("a=1;; b=2", a trailing ';') are skipped; a NULL
 * header parses as no cookies. On error l is left as it was. */
int		 cookie_parse(struct kvlist *l, const char *header);

const char	*kv_get(const struct kvlist *, const char *key);	/* first, or NULL */
size_t		 kv_count(const struct kvlist *, const char *key);


#endif
