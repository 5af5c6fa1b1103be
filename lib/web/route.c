#include <stdio.h>
#include <string.h>

#include "route.h"
#include "valid.h"

void
input_init(struct input *in)
{
	kvlist_init(&in->vals);
	kvlist_init(&in->errs);
}

void
input_release(struct input *in)
{
	kvlist_release(&in->vals);
	kvlist_release(&in->errs);
}

const char *
input_get(const struct input *in, const char *name)
{
	return kv_get(&in->vals, name);
}

/* Copies s without leading and trailing ASCII whitespace into out. */
static int
trimmed(const char *s, char *out, size_t outsz)
{
	size_t	 len;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	if (len >= outsz)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static const char *
check_text(const char *v, long maxchars)
{
	long	 cps = 0;

	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return "must not contain control characters";
		if ((*p & 0xC0) != 0x80)
			cps++;
	}
	if (maxchars > 0 && cps > maxchars)
		return "is too long";
	return NULL;
}

/* A textarea's value in place: CRLF (what browsers send) becomes LF; any
 * other control character is refused. */
static const char *
check_lines(char *v, long maxbytes)
{
	char	*w = v;

	for (const char *p = v; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n')
			continue;
		if ((unsigned char)*p < 0x20 && *p != '\n')
			return "must not contain control characters";
		if (*p == 0x7f)
			return "must not contain control characters";
		*w++ = *p;
	}
	*w = '\0';
	if (maxbytes > 0 && (long)(w - v) > maxbytes)
		return "is too long";
	return NULL;
}

static const char *
check_one(const struct field *f, const char *v, char *norm, size_t normsz)
{
	long	 n;
	int	 port;

	switch (f->type) {
	case FT_TEXT:
		return check_text(v, f->hi);
	case FT_NAME:
		return valid_name(v);
	case FT_HOST:
		return valid_host(v);
	case FT_PORT:
		return valid_port(v, &port);
	case FT_UNIXUSER:
		return valid_unix_user(v);
	case FT_GITURL:
		return valid_git_url(v);
	case FT_GITREF:
		return valid_git_ref(v);
	case FT_SHA:
		return valid_commit_sha(v);
	case FT_PATH:
		return valid_repo_path(v);
	case FT_UUID:
		return valid_uuid(v);
	case FT_INT:
		if (valid_int(v, f->lo, f->hi, &n) != NULL) {
			static char msg[96];
			snprintf(msg, sizeof(msg), "must be a whole number from "
			    "%ld to %ld", f->lo, f->hi);
			return msg;
		}
		snprintf(norm, normsz, "%ld", n);
		return NULL;
	case FT_BOOL:
		if (strcmp(v, "1") && strcmp(v, "on") && strcmp(v, "true"))
			return "must be checked or unchecked";
		snprintf(norm, normsz, "true");
		return NULL;
	case FT_ENUM:
		for (const char *const *c = f->choices; c && *c; c++)
			if (strcmp(*c, v) == 0)
				return NULL;
		return "is not one of the offered choices";
	case FT_SECRET:
		return NULL;
	case FT_LINES:
		return check_lines(norm, f->hi);
	}
	return "is not accepted";
}

int
route_validate(const struct field *fields, size_t n, unsigned skip,
    const struct kvlist *src, struct input *in)
{
	char		 norm[16 * 1024 + 64];
	const char	*msg, *v;
	int		 bad = 0;

	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fields[i];
		size_t	 count = kv_count(src, f->name), seen = 0;

		if (f->flags & skip)
			continue;
		if (count > 1 && !(f->flags & FF_MULTI)) {
			if (kvlist_add(&in->errs, f->name, "was given more than once") == -1)
				return -1;
			bad = 1;
			continue;
		}
		if (count == 0 && f->type == FT_BOOL) {
			if (kvlist_add(&in->vals, f->name, "false") == -1)
				return -1;
			continue;
		}
		for (size_t j = 0; j < src->n && seen < count; j++) {
			if (strcmp(src->v[j].key, f->name) != 0)
				continue;
			seen++;
			v = src->v[j].val;
			if (f->type == FT_SECRET) {
				if (strlen(v) >= sizeof(norm))
					msg = "is too long";
				else {
					snprintf(norm, sizeof(norm), "%s", v);
					msg = NULL;
				}
			} else if (trimmed(v, norm, sizeof(norm)) == -1)
				msg = "is too long";
			else if (norm[0] == '\0')
				msg = NULL;	/* empty: handled below */
			else
				msg = check_one(f, norm, norm, sizeof(norm));
			if (msg == NULL && norm[0] == '\0') {
				if (f->flags & FF_REQ)
					msg = "is required";
				else if (f->type == FT_BOOL) {
					/* An empty checkbox is unchecked: a
					 * boolean always has its value. */
					if (kvlist_add(&in->vals, f->name,
					    "false") == -1)
						return -1;
					continue;
				} else
					continue;	/* empty optional: absent */
			}
			if (msg != NULL) {
				if (kvlist_add(&in->errs, f->name, msg) == -1)
					return -1;
				bad = 1;
				break;
			}
			if (kvlist_add(&in->vals, f->name, norm) == -1)
				return -1;
		}
		if (count == 0 && (f->flags & FF_REQ)) {
			if (kvlist_add(&in->errs, f->name, "is required") == -1)
				return -1;
			bad = 1;
		}
	}
	return bad;
}

/* Matches one path segment [s, e) against a pattern segment. */
static int
seg_match(const char *pat, size_t plen, const char *s, size_t slen,
    char *param, int *isparam)
{
	char	 tmp[ROUTE_PARAMLEN];

	*isparam = 0;
	if (plen > 0 && pat[0] == ':') {
		*isparam = 1;
		if (slen >= sizeof(tmp))
			return 0;
		memcpy(tmp, s, slen);
		tmp[slen] = '\0';
		if (plen == 5 && memcmp(pat, ":uuid", 5) == 0 &&
		    valid_uuid(tmp) != NULL)
			return 0;
		memcpy(param, tmp, slen + 1);
		return 1;
	}
	return plen == slen && memcmp(pat, s, slen) == 0;
}

static int
path_match(const char *pat, const char *path,
    char params[ROUTE_MAXPARAMS][ROUTE_PARAMLEN])
{
	int	 np = 0, isparam;

	if (*pat != '/' || *path != '/')
		return 0;
	for (;;) {
		const char *pe, *se;

		pat++;
		path++;
		pe = strchr(pat, '/');
		se = strchr(path, '/');
		if (pe == NULL)
			pe = pat + strlen(pat);
		if (se == NULL)
			se = path + strlen(path);
		if (np >= ROUTE_MAXPARAMS)
			return 0;
		if (!seg_match(pat, (size_t)(pe - pat), path, (size_t)(se - path),
		    params[np], &isparam))
			return 0;
		if (isparam)
			np++;
		if (*pe == '\0' || *se == '\0')
			return *pe == '\0' && *se == '\0';
		pat = pe;
		path = se;
	}
}

const struct route *
route_match(const struct route *tbl, size_t n, const char *method,
    const char *path, char params[ROUTE_MAXPARAMS][ROUTE_PARAMLEN],
    int *status, char *allow, size_t allowsz)
{
	char	 scratch[ROUTE_MAXPARAMS][ROUTE_PARAMLEN];
	size_t	 alen = 0;
	int	 any = 0;

	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	if (allowsz > 0)
		allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!path_match(tbl[i].pattern, path, scratch))
			continue;
		if (strcmp(tbl[i].method, method) == 0) {
			memcpy(params, scratch, sizeof(scratch));
			*status = 0;
			return &tbl[i];
		}
		any = 1;
		if (allowsz > alen + 1) {
			int w = snprintf(allow + alen, allowsz - alen, "%s%s",
			    alen ? ", " : "", tbl[i].method);
			if (w > 0)
				alen += (size_t)w;
			if (alen >= allowsz)
				alen = allowsz - 1;
		}
	}
	*status = any ? 405 : 404;
	return NULL;
}
