/*
 * Form, query string and cookie parsing. See form.h.
 *
 * Both parsers collect into a private list and only splice it onto the
 * caller's list once the whole input has been accepted: a request is either
 * used entirely or not at all, and the caller's list is untouched on error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

void
kvlist_init(struct kvlist *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

void
kvlist_release(struct kvlist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].val);
	}
	free(l->v);
	kvlist_init(l);
}

/* Ensures room for want entries in total; l is unchanged on failure. */
static int
kvlist_reserve(struct kvlist *l, size_t want)
{
	struct kv	*nv;
	size_t		 ncap;

	if (want <= l->cap)
		return 0;
	ncap = l->cap > 0 ? l->cap : 8;
	while (ncap < want) {
		if (ncap > SIZE_MAX / 2 / sizeof(*nv))
			return FORM_ENOMEM;
		ncap *= 2;
	}
	if ((nv = realloc(l->v, ncap * sizeof(*nv))) == NULL)
		return FORM_ENOMEM;
	l->v = nv;
	l->cap = ncap;
	return 0;
}

/*
 * Takes ownership of key and val (both freed on failure) so the parsers do
 * not have to copy what they already decoded into fresh allocations.
 */
static int
kvlist_take(struct kvlist *l, char *key, char *val, size_t vlen)
{
	if (kvlist_reserve(l, l->n + 1) != 0) {
		free(key);
		free(val);
		return FORM_ENOMEM;
	}
	l->v[l->n].key = key;
	l->v[l->n].val = val;
	l->v[l->n].vlen = vlen;
	l->n++;
	return 0;
}

/*
 * Returns 0, or -1 when out of memory or when key or val is not valid UTF-8
 * (the list's promise that every entry is clean holds for programmatic
 * additions too); l is unchanged on failure. Plain -1 rather than a form_err
 * code because callers treat this like any other allocation. FORM_MAX_PAIRS
 * is not applied: it bounds untrusted input only. key and val must not be
 * NULL.
 */
int
kvlist_add(struct kvlist *l, const char *key, const char *val)
{
	size_t	 klen = strlen(key), vlen = strlen(val);
	char	*k, *v;

	if (!utf8_valid(key, klen) || !utf8_valid(val, vlen))
		return -1;
	if ((k = malloc(klen + 1)) == NULL)
		return -1;
	if ((v = malloc(vlen + 1)) == NULL) {
		free(k);
		return -1;
	}
	memcpy(k, key, klen + 1);
	memcpy(v, val, vlen + 1);
	/* kvlist_take frees k and v itself if it fails. */
	return kvlist_take(l, k, v, vlen) == 0 ? 0 : -1;
}

/*
 * Moves every entry of src to the end of dst and empties src. Only the
 * reservation can fail, and then neither list has changed.
 */
static int
kvlist_splice(struct kvlist *dst, struct kvlist *src)
{
	if (src->n == 0)
		return 0;
	if (kvlist_reserve(dst, dst->n + src->n) != 0)
		return FORM_ENOMEM;
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	/* The strings now belong to dst; free only src's array. */
	free(src->v);
	kvlist_init(src);
	return 0;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes s[0..len) ('+' and %XX) into a new NUL-terminated string. The
 * decoded form is never longer than the input, so len + 1 bytes suffice.
 */
static int
form_decode(const char *s, size_t len, char **outp, size_t *olenp)
{
	char	*out;
	size_t	 i, o = 0;
	int	 hi, lo, rc;

	if ((out = malloc(len + 1)) == NULL)
		return FORM_ENOMEM;
	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] != '%')
			out[o++] = s[i];
		else {
			if (len - i < 3 ||
			    (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0) {
				rc = FORM_EBADESC;
				goto fail;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		}
	}
	out[o] = '\0';
	/* Checked after decoding: "%00" and split multi-byte escapes are
	 * only visible here. */
	if (!utf8_valid(out, o)) {
		rc = FORM_EUTF8;
		goto fail;
	}
	*outp = out;
	*olenp = o;
	return FORM_OK;
fail:
	free(out);
	return rc;
}

/*
 * FORM_MAX_PAIRS bounds the list as a whole, not each call: a caller that
 * parses the query string and the body into one list gets the same bound on
 * memory and lookup cost as one that parses a single source.
 */
int
form_parse(struct kvlist *l, const char *s, size_t len)
{
	struct kvlist	 tmp;
	const char	*p, *end, *amp, *eq, *vs;
	char		*key, *val;
	size_t		 klen, vlen;
	int		 rc;

	kvlist_init(&tmp);
	/* Also keeps s == NULL (with len 0) out of pointer arithmetic. */
	if (len == 0)
		return FORM_OK;
	end = s + len;
	for (p = s; p < end; p = amp < end ? amp + 1 : end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;		/* empty pair */
		if (l->n + tmp.n >= FORM_MAX_PAIRS) {
			rc = FORM_ETOOMANY;
			goto fail;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if ((rc = form_decode(p, (size_t)(eq - p), &key, &klen)) != 0)
			goto fail;
		/* "k" without '=' has an empty value. */
		vs = eq < amp ? eq + 1 : amp;
		if ((rc = form_decode(vs, (size_t)(amp - vs), &val,
		    &vlen)) != 0) {
			free(key);
			goto fail;
		}
		if ((rc = kvlist_take(&tmp, key, val, vlen)) != 0)
			goto fail;
	}
	if ((rc = kvlist_splice(l, &tmp)) != 0)
		goto fail;
	return FORM_OK;
fail:
	kvlist_release(&tmp);
	return rc;
}

static int
cookie_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies s[0..len) into a new NUL-terminated, UTF-8-checked string. */
static int
cookie_dup(const char *s, size_t len, char **outp)
{
	char	*out;

	if (!utf8_valid(s, len))
		return FORM_EUTF8;
	if ((out = malloc(len + 1)) == NULL)
		return FORM_ENOMEM;
	memcpy(out, s, len);
	out[len] = '\0';
	*outp = out;
	return FORM_OK;
}

/*
 * Empty segments ("a=1;;b=2", a trailing ';') are skipped like empty form
 * pairs: some clients emit them and they carry nothing. A NULL header (no
 * Cookie header at all, getenv() returned NULL) parses as empty.
 */
int
cookie_parse(struct kvlist *l, const char *header)
{
	struct kvlist	 tmp;
	const char	*p, *semi, *eq, *ks, *ke, *vs, *ve;
	char		*key, *val;
	int		 rc;

	kvlist_init(&tmp);
	if (header == NULL)
		return FORM_OK;
	for (p = header; *p != '\0'; p = *semi != '\0' ? semi + 1 : semi) {
		if ((semi = strchr(p, ';')) == NULL)
			semi = p + strlen(p);
		ks = p;
		ve = semi;
		while (ks < ve && cookie_space(*ks))
			ks++;
		while (ve > ks && cookie_space(ve[-1]))
			ve--;
		if (ks == ve)
			continue;		/* empty segment */
		if (l->n + tmp.n >= FORM_MAX_PAIRS) {
			rc = FORM_ETOOMANY;
			goto fail;
		}
		if ((eq = memchr(ks, '=', (size_t)(ve - ks))) == NULL) {
			rc = FORM_ESYNTAX;
			goto fail;
		}
		ke = eq;
		while (ke > ks && cookie_space(ke[-1]))
			ke--;
		if (ke == ks) {
			rc = FORM_ESYNTAX;
			goto fail;
		}
		vs = eq + 1;
		while (vs < ve && cookie_space(*vs))
			vs++;
		/* RFC 6265 cookie-value: DQUOTE *cookie-octet DQUOTE. */
		if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
			vs++;
			ve--;
		}
		if ((rc = cookie_dup(ks, (size_t)(ke - ks), &key)) != 0)
			goto fail;
		if ((rc = cookie_dup(vs, (size_t)(ve - vs), &val)) != 0) {
			free(key);
			goto fail;
		}
		if ((rc = kvlist_take(&tmp, key, val, (size_t)(ve - vs))) != 0)
			goto fail;
	}
	if ((rc = kvlist_splice(l, &tmp)) != 0)
		goto fail;
	return FORM_OK;
fail:
	kvlist_release(&tmp);
	return rc;
}

const char *
kv_get(const struct kvlist *l, const char *key)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].val;
	return NULL;
}

size_t
kv_count(const struct kvlist *l, const char *key)
{
	size_t	 i, n = 0;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			n++;
	return n;
}

