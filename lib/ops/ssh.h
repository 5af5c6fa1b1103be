/*
 * The SSH executor (libssh2). Every connection verifies the server's host
 * key against the one pinned in Keystone before authenticating: an unknown
 * or different key is a refusal, and nothing is sent. Keys: Keystone's
 * ed25519 management key. Method preferences avoid what the Terrapin attack
 * reaches (libssh2 1.10 has no strict KEX): CTR ciphers with non-EtM
 * SHA-2 MACs. Connect and idle timeouts, keepalive. Nothing blocks: every
 * session is non-blocking, driven by the supervision loop (exec.h).
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
	long		 idle_timeout_s;	/* a silent server is given up after */
};

struct ssh_conn;

/* A connection to t (its strings are copied), made when a channel on it
 * first starts: nothing is sent or received here. NULL: out of memory. */
struct ssh_conn	*ssh_conn_new(const struct ssh_target *);
/*
 * A channel that runs one step over conn (see exec.h), for supervise().
 * Its start connects conn when it is not yet connected: the TCP connect,
 * the handshake, the host key check and the authentication, without
 * blocking, within connect_timeout_s (a refusal says why in words a user
 * can act on). Several channels may share one conn; one made after the
 * conn failed makes a new attempt. NULL: out of memory.
 */
struct chan	*ssh_chan(struct ssh_conn *);
void		 ssh_close(struct ssh_conn *);

/* The host key a server offers, for pinning by an explicit act: "TYPE
 * BASE64" into key and "SHA256:..." into fp. No authentication. */
int		 ssh_offered_hostkey(const char *host, int port, long timeout_s,
		    char *key, size_t keysz, char *fp, size_t fpsz,
		    char *err, size_t errsz);
/* OpenSSH-style fingerprint of a "TYPE BASE64" key. -1 if malformed. */
int		 ssh_fingerprint(const char *key, char *fp, size_t fpsz);

/* ssh-keyscan's -t for the host key types Keystone accepts. */
#define SSH_KEYSCAN_TYPES	"ed25519,ecdsa,rsa"
/*
 * From a scan's "hostkey TYPE BASE64" lines (other lines are ignored),
 * the key a connection would get: the first one of the type Keystone's
 * SSH client prefers, as "TYPE BASE64" into key and its fingerprint into
 * fp. Only well-formed keys of an accepted type count (the blob must say
 * it is of TYPE). -1 when there is none.
 */
int		 ssh_hostkey_pick(const char *scan, char *key, size_t keysz,
		    char *fp, size_t fpsz);

#endif
