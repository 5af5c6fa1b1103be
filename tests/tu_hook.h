/*
 * A Git host's webhook delivery, as the hook tests send it
 * (check_hook_web: what a delivery queues; check_deploy: a push that
 * builds and deploys): POSTed over HTTPS to $KS_URL/hooks/git/ENV with
 * $KS_CA, signed here with libsodium (not by lib/domain/hook.c).
 */
#ifndef KS_TU_HOOK_H
#define KS_TU_HOOK_H

#include <stddef.h>

#include "buf.h"

struct tk_reply {
	long		 status;
	struct buf	 body;		/* buf_init() it first; the caller's */
};

/* POSTs body to /hooks/git/ENV with the headers (NULL-terminated), no
 * cookie; the status (also in r). */
long	tk_deliver(struct tk_reply *r, const char *env, const char *ctype,
	    const char *body, size_t len, const char *const *hdrs);
/* "X-Hub-Signature-256: sha256=HEX" of body under secret. */
void	tk_gh_sign(char out[128], const char *secret, const char *body,
	    size_t len);
/* GitHub's delivery of event (signed) and GitLab's (the token), with
 * delivery id id (NULL: none). */
long	tk_github(struct tk_reply *r, const char *env, const char *secret,
	    const char *event, const char *id, const char *body);
long	tk_gitlab(struct tk_reply *r, const char *env, const char *token,
	    const char *event, const char *id, const char *body);
/* A push event's body: ref moved to commit after. */
void	tk_push_json(char *out, size_t sz, const char *ref, const char *after);

#endif
