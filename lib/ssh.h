/*
 * The SSH executor (libssh2). Every connection verifies the server's host
 * key against the one pinned in Keystone before authenticating: an unknown
 * or different key is a refusal, and nothing is sent. Keys: Keystone's
 * ed25519 management key. Method preferences avoid what the Terrapin attack
 * reaches (libssh2 1.10 has no strict KEX): CTR ciphers with non-EtM
 * SHA-2 MACs. Connect and idle timeouts, keepalive.
 */
#ifndef KS_SSH_H
#define KS_SSH_H

#include <stddef.h>

#include "exec.h"

struct ssh_target {
	const char	*host;		/* an address or name (validated) */
	int		 port;
	const char	*user;
	const char	*hostkey;	/* pinned: "TYPE BASE64", NULL = none */
	const char	*key_file;	/* private key; KEY.pub beside it */
	long		 connect_timeout_s;
	long		 idle_timeout_s;	/* a blocking call waits at most */
};

struct ssh_conn;

/* Connects, verifies the pinned host key, authenticates. NULL with err
 * filled on any failure (refusals say why in words a user can act on). */
struct ssh_conn	*ssh_connect(const struct ssh_target *, char *err, size_t errsz);
/* Runs one step over a new channel of conn (see exec.h and step.h). */
int		 ssh_exec(struct ssh_conn *, const struct exec_req *, struct exec_res *);
void		 ssh_close(struct ssh_conn *);

/* The host key a server offers, for pinning by an explicit act: "TYPE
 * BASE64" into key and "SHA256:..." into fp. No authentication. */
int		 ssh_offered_hostkey(const char *host, int port, long timeout_s,
		    char *key, size_t keysz, char *fp, size_t fpsz,
		    char *err, size_t errsz);
/* OpenSSH-style fingerprint of a "TYPE BASE64" key. -1 if malformed. */
int		 ssh_fingerprint(const char *key, char *fp, size_t fpsz);

#endif
