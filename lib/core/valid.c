/*
 * Field validators. See valid.h.
 *
 * Several values end up on a command line (ssh, git) even if only as
 * separate argv entries: the validators for those are whitelists rather than
 * blacklists, and reject a leading '-' so nothing can be read as an option.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "valid.h"

#define NAME_MAX_CP	100
#define HOST_MAX	253
#define LABEL_MAX	63
#define USER_MAX	32
#define GIT_URL_MAX	2048
#define GIT_REF_MAX	255
#define REPO_PATH_MAX	1024

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_lhex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* Decodes one code point of known-valid UTF-8 and advances *sp past it. */
static unsigned long
utf8_next(const unsigned char **sp)
{
	const unsigned char	*s = *sp;
	unsigned long		 cp;
	int			 n, i;

	if (s[0] < 0x80) {
		*sp = s + 1;
		return s[0];
	}
	if (s[0] < 0xe0) {
		cp = s[0] & 0x1f;
		n = 1;
	} else if (s[0] < 0xf0) {
		cp = s[0] & 0x0f;
		n = 2;
	} else {
		cp = s[0] & 0x07;
		n = 3;
	}
	for (i = 1; i <= n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	*sp = s + n + 1;
	return cp;
}

/* Unicode general category Cc: C0, DEL and C1. */
static int
cp_control(unsigned long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Unicode White_Space, minus the controls already rejected on their own:
 * a name of only no-break spaces looks as empty as one of only blanks. */
static int
cp_space(unsigned long cp)
{
	return cp == 0x20 || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

const char *
valid_name(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned long		 cp;
	size_t			 n = 0;
	int			 blank = 1;

	if (*s == '\0')
		return "must not be empty";
	/* The contract says callers checked already; re-checking is cheap
	 * and keeps utf8_next() from reading past a truncated sequence. */
	if (!utf8_valid(s, strlen(s)))
		return "must be valid UTF-8 text";
	while (*p != '\0') {
		cp = utf8_next(&p);
		if (cp_control(cp))
			return "must not contain control characters";
		if (!cp_space(cp))
			blank = 0;
		/* Counted in code points: a byte limit would cut non-Latin
		 * names to a third of what Latin ones get. */
		if (++n > NAME_MAX_CP)
			return "must be at most 100 characters";
	}
	if (blank)
		return "must not be only whitespace";
	return NULL;
}

/* RFC 1123 hostname; the last label must not be all digits (RFC 3696 2), so
 * "256.1.1.1" is not taken for a name after failing as an address. */
static int
is_hostname(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s, *label;
	size_t			 len = strlen(s), n;
	int			 alldigit = 1;

	if (len == 0 || len > HOST_MAX)
		return 0;
	for (;;) {
		label = p;
		alldigit = 1;
		while (is_alpha(*p) || is_digit(*p) || *p == '-') {
			if (!is_digit(*p))
				alldigit = 0;
			p++;
		}
		n = (size_t)(p - label);
		if (n == 0 || n > LABEL_MAX)
			return 0;
		if (label[0] == '-' || p[-1] == '-')
			return 0;
		if (*p == '\0')
			break;
		if (*p != '.')
			return 0;
		p++;
	}
	return !alldigit;
}

const char *
valid_host(const char *s)
{
	unsigned char	 addr[16];

	if (*s == '\0')
		return "must not be empty";
	/* inet_pton takes only the strict dotted quad (no octal, no short
	 * forms) and IPv6 without zone or brackets, which is what we want. */
	if (inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1)
		return NULL;
	if (!is_hostname(s))
		return "must be a host name, an IPv4 or an IPv6 address";
	return NULL;
}

const char *
valid_port(const char *s, int *out)
{
	long	 v;

	if (valid_int(s, 1, 65535, &v) != NULL)
		return "must be a port number between 1 and 65535";
	if (out != NULL)
		*out = (int)v;
	return NULL;
}

const char *
valid_unix_user(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	if (*p == '\0')
		return "must not be empty";
	if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
		return "must start with a lower-case letter or '_'";
	for (n = 0; p[n] != '\0'; n++) {
		if (n >= USER_MAX)
			return "must be at most 32 characters";
		if (!((p[n] >= 'a' && p[n] <= 'z') || is_digit(p[n]) ||
		    p[n] == '_' || p[n] == '-'))
			return "must contain only a-z, 0-9, '_' and '-'";
	}
	return NULL;
}

/*
 * Characters allowed anywhere in a git URL. Deliberately narrower than RFC
 * 3986: everything a shell or ssh would treat specially (; $ ` ( ) & | < >
 * quotes, backslash, ! * ?, whitespace) is out, and anything else can be
 * percent-encoded.
 */
static int
url_char(unsigned char c)
{
	/* c != 0: strchr would match the terminator. */
	return is_alpha(c) || is_digit(c) ||
	    (c != '\0' && strchr("-._~:/@%+=,[]", c) != NULL);
}

/* host, "[v6]" or either with ":port", as in a URL authority. */
static int
url_hostport(const char *s, size_t len)
{
	char		 host[HOST_MAX + 1];
	unsigned char	 addr[16];
	const char	*colon, *port;
	size_t		 hlen, i, n;
	long		 v;

	if (len == 0)
		return 0;
	if (s[0] == '[') {
		if ((colon = memchr(s, ']', len)) == NULL)
			return 0;
		hlen = (size_t)(colon - s) - 1;
		if (hlen == 0 || hlen > HOST_MAX)
			return 0;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, addr) != 1)
			return 0;
		colon++;
		if (colon == s + len)
			return 1;
		if (*colon != ':')
			return 0;
	} else {
		if ((colon = memchr(s, ':', len)) == NULL)
			colon = s + len;
		hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen > HOST_MAX)
			return 0;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (valid_host(host) != NULL)
			return 0;
		if (colon == s + len)
			return 1;
	}
	/* ":port": 1..65535, digits only, at most five of them. */
	port = colon + 1;
	n = (size_t)(s + len - port);
	if (n == 0 || n > 5)
		return 0;
	for (i = 0, v = 0; i < n; i++) {
		if (!is_digit((unsigned char)port[i]))
			return 0;
		v = v * 10 + (port[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* [user@]host[:port] of scheme://authority/...; the user part is the one an
 * ssh "-oProxyCommand" injection would use, so it may not start with '-'. */
static int
url_authority(const char *s, size_t len)
{
	const char	*at = NULL;
	size_t		 i;

	for (i = 0; i < len; i++)
		if (s[i] == '@')
			at = s + i;
	if (at == NULL)
		return url_hostport(s, len);
	if (at == s || s[0] == '-')
		return 0;
	return url_hostport(at + 1, len - (size_t)(at + 1 - s));
}

const char *
valid_git_url(const char *s)
{
	static const char *const schemes[] = {
		"https://", "http://", "ssh://", "git://", "file://"
	};
	const char	*rest, *slash, *at, *colon;
	size_t		 len = strlen(s), i, n;

	if (len == 0)
		return "must not be empty";
	if (len > GIT_URL_MAX)
		return "must be at most 2048 characters";
	if (s[0] == '-')
		return "must not start with '-'";
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
			return "must not contain spaces or control characters";
		if (!url_char((unsigned char)s[i]))
			return "may contain only letters, digits and "
			    "- . _ ~ : / @ % + = , [ ]";
	}

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i]);
		if (strncmp(s, schemes[i], n) != 0)
			continue;
		rest = s + n;
		if ((slash = strchr(rest, '/')) == NULL)
			slash = rest + strlen(rest);
		if (strcmp(schemes[i], "file://") == 0) {
			/* Only local files: an empty or "localhost"
			 * authority, and a path after it. */
			n = (size_t)(slash - rest);
			if (n != 0 && (n != 9 ||
			    strncmp(rest, "localhost", 9) != 0))
				return "must be a local file:// URL";
			if (*slash == '\0' || slash[1] == '\0')
				return "must name a repository path";
			return NULL;
		}
		if (!url_authority(rest, (size_t)(slash - rest)))
			return "must name a valid host";
		if (*slash == '\0' || slash[1] == '\0')
			return "must name a repository path";
		return NULL;
	}

	/*
	 * scp-like user@host:path, host possibly "[v6]". A '/' before the
	 * separating ':' would make git read it as a local path instead.
	 */
	if ((at = strchr(s, '@')) == NULL)
		goto notgit;
	if (at[1] == '[' && (colon = strchr(at, ']')) != NULL)
		colon = strchr(colon, ':');
	else
		colon = strchr(at, ':');
	if (colon == NULL || memchr(s, '/', (size_t)(colon - s)) != NULL ||
	    memchr(s, ':', (size_t)(at - s)) != NULL)
		goto notgit;
	if (at == s)
		return "must name a user before '@'";
	if (at[1] == '-')
		return "must not have a host starting with '-'";
	if (!url_hostport(at + 1, (size_t)(colon - at - 1)))
		return "must name a valid host";
	if (colon[1] == '\0')
		return "must name a repository path";
	return NULL;
notgit:
	return "must be an https://, http://, ssh://, git:// or file:// URL, "
	    "or user@host:path";
}

/*
 * git check-ref-format rules for a branch, plus a whitelist: refs end up in
 * commands and log lines, and nobody needs ; $ ` ( ) & | < > quotes or '!' in
 * a branch name. Non-ASCII (already valid UTF-8) is allowed, as git does.
 */
const char *
valid_git_ref(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s, *comp;
	size_t			 len = strlen(s), n;

	if (len == 0)
		return "must not be empty";
	if (len > GIT_REF_MAX)
		return "must be at most 255 characters";
	if (s[0] == '-')
		return "must not start with '-'";
	if (s[0] == '/' || s[len - 1] == '/')
		return "must not start or end with '/'";
	if (s[len - 1] == '.')
		return "must not end with '.'";
	if (strcmp(s, "@") == 0)
		return "must not be '@'";
	if (strstr(s, "..") != NULL)
		return "must not contain '..'";
	if (strstr(s, "@{") != NULL)
		return "must not contain '@{'";
	if (strstr(s, "//") != NULL)
		return "must not contain '//'";
	for (n = 0; n < len; n++) {
		if (p[n] < 0x20 || p[n] == 0x7f)
			return "must not contain control characters";
		if (p[n] >= 0x80 || is_alpha(p[n]) || is_digit(p[n]) ||
		    strchr("._/-+=,@#%", p[n]) != NULL)
			continue;
		return "may contain only letters, digits and . _ / - + = , @ # %";
	}
	/* Per '/'-separated component: no leading '.', no ".lock" suffix. */
	for (comp = p; ; comp++) {
		n = strcspn((const char *)comp, "/");
		if (comp[0] == '.')
			return "must not have a part starting with '.'";
		if (n >= 5 && memcmp(comp + n - 5, ".lock", 5) == 0)
			return "must not have a part ending in '.lock'";
		comp += n;
		if (*comp == '\0')
			break;
	}
	return NULL;
}

const char *
valid_uuid(const char *s)
{
	size_t	 i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return "must be a UUID";
		} else if (!is_lhex((unsigned char)s[i]))
			return "must be a UUID";	/* also stops at NUL */
	}
	if (s[36] != '\0')
		return "must be a UUID";
	return NULL;
}

/* *out is only written on success, so callers can pass their default. */
const char *
valid_int(const char *s, long lo, long hi, long *out)
{
	const char	*p = s;
	char		*end;
	long		 v;

	if (*p == '-')
		p++;
	if (*p == '\0')
		return "must be a whole number";
	for (; *p != '\0'; p++)
		if (!is_digit((unsigned char)*p))
			return "must be a whole number";
	/* The characters are known good now: strtol cannot skip spaces or
	 * accept '+', '0x', and only range errors remain. */
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE || *end != '\0' || v < lo || v > hi)
		return "is out of range";
	if (out != NULL)
		*out = v;
	return NULL;
}

const char *
valid_commit_sha(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (!is_lhex((unsigned char)s[n]))
			return "must be a lower-case hex commit id";
	if (n != 40 && n != 64)
		return "must be a full 40 or 64 digit commit id";
	return NULL;
}

/*
 * A leading '-' is refused too (beyond the header's list): the path is
 * handed to git as an argument and must never look like an option.
 */
const char *
valid_repo_path(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len = strlen(s), n;

	if (len == 0)
		return "must not be empty";
	if (len > REPO_PATH_MAX)
		return "must be at most 1024 characters";
	if (s[0] == '/')
		return "must be a relative path";
	if (s[0] == '-')
		return "must not start with '-'";
	for (n = 0; n < len; n++)
		if (p[n] < 0x20 || p[n] == 0x7f)
			return "must not contain control characters";
	/* ".." as a whole component climbs out; "a..b" is just a name. */
	for (p = (const unsigned char *)s; ; p++) {
		n = strcspn((const char *)p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "must not contain '..'";
		p += n;
		if (*p == '\0')
			break;
	}
	return NULL;
}
