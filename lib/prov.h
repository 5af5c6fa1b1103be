/*
 * Connecting an existing server with a one-time provisioning command:
 *
 *	curl -fsSL https://<keystone>/provision/<token> | sudo bash
 *
 * prov_issue() makes the token (256 random bits; only its keyed hash is
 * stored; valid PROV_TTL_MIN minutes; re-issuing revokes the older ones)
 * and the keystone user's sudo password (sealed until the script is
 * fetched). prov_exchange() renders the script once per token and erases
 * the sealed password in the same transaction. prov_callback() accepts the
 * server's report once (token in a header), pins its host key and marks it
 * active.
 *
 * Secret-bearing parameters are named secret_*: by rule they are never
 * passed to log_*() (tests/lint_secrets.sh checks it).
 */
#ifndef KS_PROV_H
#define KS_PROV_H

#include <stddef.h>

#include "keys.h"

struct buf;
struct db;
struct config;

#define PROV_TTL_MIN	30
#define PROV_TOKEN_LEN	43	/* base64url of 32 bytes */
#define PROV_SUDO_LEN	32	/* base64url of 24 bytes */

/* 0 with the new token and sudo password written (for showing once), -1
 * on failure. */
int	prov_issue(struct db *, const struct keys *,
	    long long server_id, long ttl_min, char secret_token[PROV_TOKEN_LEN + 1],
	    char secret_sudo[PROV_SUDO_LEN + 1]);

/* Renders the script for a valid, unfetched token into out. 1 rendered,
 * 0 refused (unknown, malformed, fetched, used, revoked or expired: one
 * answer for all), -1 failure. Every attempt is logged (provision_log). */
int	prov_exchange(struct db *, const struct config *,
	    const struct keys *, const char *secret_token,
	    const char *addr, struct buf *out);

/* The server's report. host_key "ssh-ed25519 BASE64"; facts a JSON object
 * text. 1 accepted (server_id set), 0 refused, -1 failure. */
int	prov_callback(struct db *, const struct keys *,
	    const char *secret_token, const char *addr, const char *host_key,
	    const char *facts, long long *server_id);

/* Queues the checks after a callback: the verification operation (SSH
 * with the pinned key as the server's user: docker info, disk) and, when
 * the managed registry exists, Docker sign-in for the server's roles. */
int	prov_after(struct db *, const struct config *,
	    const struct keys *, long long server_id);

#endif
