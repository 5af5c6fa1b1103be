/*
 * Deploy on push: POST /hooks/git/{environment_uuid} (cgi/r_hooks.c).
 *
 * Each environment has a hook secret that is never stored: HMAC-SHA256
 * keyed with the push-hook subkey (keys->hook) over
 * "keystone-hook:UUID:vVERSION", as 64 hex digits; bumping the
 * environment's hook_version ("rotate") makes a new one and voids the old.
 * A delivery proves it knows the secret either as GitHub does
 * (X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of the raw body
 * keyed with the secret) or as GitLab does (X-Gitlab-Token: the secret
 * itself); both compared in constant time.
 *
 * Only a push to the environment's branch (its own, else the
 * application's default) starts anything: deploy_plan() with the pushed
 * commit (a build, then a deploy of what it made). A ping, another event,
 * a tag, another branch, a branch deletion or a pinned environment: 202
 * and nothing. A delivery id (X-GitHub-Delivery, X-Gitlab-Event-UUID or
 * Idempotency-Key) is acted on once (table hook_deliveries): it is
 * claimed before the plan, so a concurrent redelivery finds it taken, and
 * released when the plan is refused or fails, so a later redelivery can
 * try again (a claim left by a crash is taken over after
 * HOOK_CLAIM_STALE_MIN minutes). Without an id there is no dedupe, but
 * the delivery is verified all the same.
 */
#ifndef KS_HOOK_H
#define KS_HOOK_H

#include <stddef.h>

#include "keys.h"

struct config;
struct db;

#define HOOK_MAX_BODY		(1024 * 1024)	/* larger deliveries: 413 */
#define HOOK_SECRETLEN		64		/* hex digits */
#define HOOK_MAX_DELIVERY	200		/* sql/016's CHECK */
#define HOOK_CLAIM_STALE_MIN	10

enum hook_kind {
	HOOK_NONE,
	HOOK_GITHUB,
	HOOK_GITLAB
};

/* A delivery as received: its headers (NULL when absent) and raw body. */
struct hook_in {
	const char	*ctype;			/* Content-Type */
	const char	*gh_signature;		/* X-Hub-Signature-256 */
	const char	*gh_event;		/* X-GitHub-Event */
	const char	*gh_delivery;		/* X-GitHub-Delivery */
	const char	*secret_gl_token;	/* X-Gitlab-Token */
	const char	*gl_event;		/* X-Gitlab-Event */
	const char	*gl_delivery;		/* X-Gitlab-Event-UUID */
	const char	*idempotency_key;	/* Idempotency-Key */
	const char	*body;
	size_t		 len;
};

/* The push a delivery announces. */
struct hook_push {
	char	 ref[256];
	char	 branch[256];	/* "" when ref is not refs/heads/... */
	char	 commit[65];	/* "" when absent or not a full commit id */
	int	 deleted;	/* after is forty zeros: the branch was deleted */
};

/* The answer to a delivery (cgi/r_hooks.c sends it as JSON). */
struct hook_result {
	int	 status;		/* 202, 400, 401, 409 or 415 */
	char	 outcome[32];		/* "queued", "ignored", "refused", ... */
	char	 message[1024];
	char	 operation[40];		/* the deploy's uuid when queued */
};

/* The secret of environment env_uuid at version (HOOK_SECRETLEN hex
 * digits and a NUL into secret_out). */
void	hook_secret(char secret_out[HOOK_SECRETLEN + 1],
	    const unsigned char key[SEC_KEYBYTES], const char *env_uuid,
	    long long version);

/* Which provider the delivery's headers claim (GitHub's signature wins
 * when both are sent), HOOK_NONE when neither. */
enum hook_kind	hook_kind(const struct hook_in *);

/* 0 when the delivery is proven to know secret_hook; else -1 and *why (a
 * fixed text naming the reason, never a header's value). */
int	hook_verify(const char *secret_hook, const struct hook_in *,
	    const char **why);

/* Whether the event is a push: 1, else 0 and *why (a ping, another
 * event, no event header). */
int	hook_is_push(const struct hook_in *, enum hook_kind, const char **why);

/* The push in the body (JSON, or GitHub's form-encoded payload=JSON):
 * 0; -1 malformed or unsupported (*why; *status 400 or 415). */
int	hook_parse(const struct hook_in *, enum hook_kind, struct hook_push *,
	    const char **why, int *status);

/* The delivery id: 1 (*id set, pointing into in), 0 none sent, -1
 * malformed (empty, longer than HOOK_MAX_DELIVERY, not printable ASCII). */
int	hook_delivery(const struct hook_in *, enum hook_kind, const char **id);

/*
 * Handles one delivery for environment env_uuid from remote_addr: the
 * secret, the event, the push, the delivery id, then deploy_plan(). Every
 * refusal (401) is logged with the environment and the reason, never the
 * body or a header's value; an unknown environment is the same 401 as a
 * wrong signature (nothing tells which environments exist). 0 with res
 * filled, -1 on failure (logged; answer 500).
 */
int	hook_receive(struct db *, const struct config *, const struct keys *,
	    const char *env_uuid, const char *remote_addr,
	    const struct hook_in *, struct hook_result *res);

/*
 * For the environment's page: the hook secret of environment env_uuid of
 * application app_uuid (1; 0 when there is no such environment; -1), and
 * "rotate" (bump hook_version: the old secret stops working; 1, 0, -1).
 */
int	hook_env_secret(struct db *, const struct keys *, const char *app_uuid,
	    const char *env_uuid, char secret_out[HOOK_SECRETLEN + 1]);
int	hook_rotate(struct db *, const char *app_uuid, const char *env_uuid);

#endif
