/*
 * Routing and declarative input validation.
 *
 * A route names its method, a path pattern and, for forms, the fields it
 * accepts. The dispatcher validates every declared field before the handler
 * runs; the handler sees only normalised values (struct input) and the
 * per-field messages, never the raw request.
 *
 * Patterns are literal segments and typed parameters: ":uuid" matches a
 * canonical UUID, nothing else. Matching never allocates.
 */
#ifndef KS_ROUTE_H
#define KS_ROUTE_H

#include <stddef.h>

#include "form.h"

#define ROUTE_MAXPARAMS	4
#define ROUTE_PARAMLEN	64	/* a UUID or a provisioning token, and NUL */

enum ftype {
	FT_TEXT,	/* any text without control characters (hi = max chars) */
	FT_NAME,	/* valid_name */
	FT_HOST,	/* valid_host */
	FT_PORT,	/* valid_port */
	FT_UNIXUSER,	/* valid_unix_user */
	FT_GITURL,	/* valid_git_url */
	FT_GITREF,	/* valid_git_ref */
	FT_SHA,		/* valid_commit_sha */
	FT_PATH,	/* valid_repo_path */
	FT_UUID,	/* valid_uuid */
	FT_INT,		/* valid_int in [lo, hi] */
	FT_BOOL,	/* checkbox: absent = "false", "1"/"on"/"true" = "true" */
	FT_ENUM,	/* one of choices */
	FT_SECRET,	/* kept verbatim (no trim), never echoed back into forms */
	FT_LINES	/* a textarea: lines (CRLF read as LF), no other control
			 * characters (hi = max bytes, at most 16 KiB) */
};

#define FF_REQ		0x01	/* must be present and non-empty */
#define FF_MULTI	0x02	/* may repeat; every value validated */
#define FF_CREATE	0x04	/* only when creating (a route with R_CREATE) */
#define FF_UPDATE	0x08	/* only when updating (a route with R_UPDATE) */

struct field {
	const char		*name;
	enum ftype		 type;
	unsigned		 flags;
	long			 lo, hi;
	const char *const	*choices;	/* FT_ENUM, NULL-terminated */
};

/* Validated input: vals holds one normalised entry per present field (per
 * value for FF_MULTI); errs holds one message per failing field. */
struct input {
	struct kvlist	 vals;
	struct kvlist	 errs;
};

void		 input_init(struct input *);
void		 input_release(struct input *);
const char	*input_get(const struct input *, const char *);	/* NULL if absent */
/* Returns 0 when every field passed, 1 when some failed (errs filled), -1
 * on allocation failure. Fields not declared are ignored, and so are the
 * declared ones whose flags share a bit with skip (FF_CREATE, FF_UPDATE). */
int		 route_validate(const struct field *, size_t n, unsigned skip,
		    const struct kvlist *src, struct input *);

/* Route flags for the fields: which of FF_CREATE/FF_UPDATE apply. */
#define R_CREATE	0x100
#define R_UPDATE	0x200
/* The field flags a route's flags leave out. */
#define ROUTE_SKIP(flags) \
	(((flags) & R_CREATE) ? FF_UPDATE : ((flags) & R_UPDATE) ? FF_CREATE : \
	    FF_CREATE | FF_UPDATE)

struct req;
struct route {
	const char		*method;
	const char		*pattern;
	int			(*fn)(struct req *);
	const struct field	*fields;	/* the form's (POST) */
	size_t			 nfields;
	unsigned		 flags;	/* the dispatcher's own (auth, CSRF), R_* */
	const struct field	*query;		/* the query string's */
	size_t			 nquery;
	const void		*ctx;	/* what a generic handler serves */
};

/* Finds the route for method and path, filling params (in pattern order).
 * Returns the route, or NULL with *status 404 (no pattern matched) or 405
 * (a pattern matched, not the method; allow lists the methods that would).
 * HEAD matches GET routes. */
const struct route *route_match(const struct route *, size_t n,
		    const char *method, const char *path,
		    char params[ROUTE_MAXPARAMS][ROUTE_PARAMLEN], int *status,
		    char *allow, size_t allowsz);

#endif
