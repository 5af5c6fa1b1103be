/*
 * Session identifiers and lifetime rules. The browser holds a 256-bit random
 * ID in the __Host-keystone cookie; the database stores only its BLAKE2b
 * hash, so a database leak yields no usable session.
 */
#ifndef KS_SESSION_H
#define KS_SESSION_H

#include <stddef.h>
#include <time.h>

#define SESS_COOKIE	"__Host-keystone"
#define SESS_PRE_COOKIE	"__Host-keystone-pre"	/* login form CSRF binding */
#define SESS_IDLEN	44			/* 43 base64url chars and NUL */

struct buf;

/* A new random ID (to the browser) and its hash (to the database). */
void	sess_new(char id[SESS_IDLEN], char hash[65]);
/* 0 when id has the shape of an ID we issue; hash written. -1 otherwise. */
int	sess_hash(const char *id, char hash[65]);
/* 1 when a session created at `created`, last seen at `seen`, is expired at
 * `now` under the idle and absolute limits (seconds). */
int	sess_expired(time_t created, time_t seen, time_t now, long idle_s,
	    long max_s);
/* Set-Cookie value for name=value with the attributes __Host- requires;
 * max_age < 0 means a session cookie, 0 deletes it. */
int	sess_cookie(struct buf *, const char *name, const char *value,
	    long max_age);

#endif
