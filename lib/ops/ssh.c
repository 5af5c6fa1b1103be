#define _GNU_SOURCE	/* NI_MAXHOST */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <sodium.h>

#include "log.h"
#include "ssh.h"

#define KILL_CLOSE_MS	2000	/* a killed step's channel: close within */

/* Where a connection is: each state moves on without blocking. */
enum conn_state {
	C_NEW,		/* nothing done yet (or again, after a failure) */
	C_TCP,		/* the TCP connect is under way */
	C_HANDSHAKE,	/* SSH handshake, then the host key check */
	C_AUTH,		/* public key authentication */
	C_READY,
	C_FAILED	/* err says why; a new channel starts over */
};

struct ssh_conn {
	char		*host, *user, *hostkey, *key_file;
	int		 port;
	long		 connect_s;
	long long	 idle_ms;
	int		 keyonly;	/* stop after the handshake */
	enum conn_state	 state;
	struct addrinfo	*ai0, *ai;	/* the addresses; the one tried */
	int		 fd;
	LIBSSH2_SESSION	*s;
	long long	 deadline;	/* of the TCP connect; of the rest */
	char		 err[256];
	char		 key[2048], fp[80];	/* what the server offers */
};

static int
lib_init(void)
{
	static int	 done;

	if (!done) {
		if (libssh2_init(0) != 0 || sodium_init() < 0)
			return -1;
		done = 1;
	}
	return 0;
}

static const char *
keytype_name(int t)
{
	switch (t) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:		return "ssh-rsa";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:	return "ecdsa-sha2-nistp256";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:	return "ecdsa-sha2-nistp384";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:	return "ecdsa-sha2-nistp521";
	case LIBSSH2_HOSTKEY_TYPE_ED25519:	return "ssh-ed25519";
	default:				return NULL;
	}
}

static void
fp_of(const unsigned char *blob, size_t len, char *fp, size_t fpsz)
{
	unsigned char	 h[crypto_hash_sha256_BYTES];
	char		 b64[64];

	crypto_hash_sha256(h, blob, len);
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	snprintf(fp, fpsz, "SHA256:%s", b64);
}

int
ssh_fingerprint(const char *key, char *fp, size_t fpsz)
{
	const char	*sp = strchr(key, ' ');
	unsigned char	 blob[2048];
	size_t		 len;

	if (sp == NULL || lib_init() == -1 ||
	    sodium_base642bin(blob, sizeof(blob), sp + 1, strcspn(sp + 1, " \n"),
	    NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	fp_of(blob, len, fp, fpsz);
	return 0;
}

/*
 * The host key types Keystone accepts, in the order session_begin() asks
 * libssh2 for them (rsa-sha2-512 and rsa-sha2-256 sign with an "ssh-rsa"
 * key): the key ssh_hostkey_pick() takes from a scan is the one a later
 * connection is offered.
 */
static const struct {
	const char	*type;
	int		 fields;	/* in its blob, the type's included */
} key_pref[] = {
	{ "ssh-ed25519", 2 },		/* type, key */
	{ "ecdsa-sha2-nistp256", 3 },	/* type, curve, point */
	{ "ecdsa-sha2-nistp384", 3 },
	{ "ssh-rsa", 3 },		/* type, e, n */
};
#define NKEY_PREF	(sizeof(key_pref) / sizeof(key_pref[0]))

/* How many SSH wire strings (a 32-bit length, then the bytes) fill b
 * exactly, the first of them t; -1 when they do not. */
static int
blob_fields(const unsigned char *b, size_t len, const char *t, size_t tl)
{
	size_t		 off = 0, fl;
	int		 n = 0;

	while (off < len) {
		if (len - off < 4)
			return -1;
		fl = (size_t)b[off] << 24 | (size_t)b[off + 1] << 16 |
		    (size_t)b[off + 2] << 8 | b[off + 3];
		off += 4;
		if (fl > len - off ||
		    (n == 0 && (fl != tl || memcmp(b + off, t, tl) != 0)))
			return -1;
		off += fl;
		n++;
	}
	return n;
}

/* The rank of "TYPE BASE64" at p (len bytes) in key_pref when its blob is
 * a well-formed key of TYPE, else -1; its fingerprint into fp. */
static int
scan_rank(const char *p, size_t len, char *fp, size_t fpsz)
{
	unsigned char	 blob[2048];
	const char	*sp, *end;
	size_t		 tl, bl, i;

	if ((sp = memchr(p, ' ', len)) == NULL)
		return -1;
	tl = (size_t)(sp - p);
	for (i = 0; i < NKEY_PREF; i++)
		if (strlen(key_pref[i].type) == tl &&
		    memcmp(key_pref[i].type, p, tl) == 0)
			break;
	if (i == NKEY_PREF || lib_init() == -1 ||
	    sodium_base642bin(blob, sizeof(blob), sp + 1, len - tl - 1, NULL,
	    &bl, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != p + len ||
	    blob_fields(blob, bl, p, tl) != key_pref[i].fields)
		return -1;
	fp_of(blob, bl, fp, fpsz);
	return (int)i;
}

int
ssh_hostkey_pick(const char *scan, char *key, size_t keysz, char *fp,
    size_t fpsz)
{
	const char	*l, *e;
	char		 f[80];
	size_t		 len;
	int		 best = -1, rank;

	for (l = scan; *l != '\0'; l = *e == '\n' ? e + 1 : e) {
		e = l + strcspn(l, "\n");
		if (strncmp(l, "hostkey ", 8) != 0)
			continue;
		len = (size_t)(e - l) - 8;
		if ((rank = scan_rank(l + 8, len, f, sizeof(f))) == -1 ||
		    (best != -1 && rank >= best) || len >= keysz)
			continue;
		best = rank;
		snprintf(key, keysz, "%.*s", (int)len, l + 8);
		snprintf(fp, fpsz, "%s", f);
	}
	return best == -1 ? -1 : 0;
}

/* The session's host key as "TYPE BASE64" and its fingerprint. */
static int
session_hostkey(LIBSSH2_SESSION *s, char *key, size_t keysz, char *fp, size_t fpsz)
{
	const char	*blob, *tn;
	size_t		 len;
	int		 type;
	char		*b64;
	size_t		 b64sz;

	if ((blob = libssh2_session_hostkey(s, &len, &type)) == NULL ||
	    (tn = keytype_name(type)) == NULL)
		return -1;
	b64sz = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(b64sz)) == NULL)
		return -1;
	sodium_bin2base64(b64, b64sz, (const unsigned char *)blob, len,
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(key, keysz, "%s %s", tn, b64);
	free(b64);
	fp_of((const unsigned char *)blob, len, fp, fpsz);
	return 0;
}

/* Compares two "TYPE BASE64" keys, ignoring a trailing comment. */
static int
same_key(const char *a, const char *b)
{
	size_t	 la = strcspn(a, " "), lb = strcspn(b, " ");
	size_t	 ka, kb;

	if (la != lb || strncmp(a, b, la) != 0 || a[la] == '\0' || b[lb] == '\0')
		return 0;
	ka = strcspn(a + la + 1, " \n");
	kb = strcspn(b + lb + 1, " \n");
	return ka == kb && sodium_memcmp(a + la + 1, b + lb + 1, ka) == 0;
}

/*
 * Drops the session and the socket. A ready session is told goodbye,
 * within 2 s (only ssh_close() drops one: no step waits on it); then, with
 * the socket shut, freeing the session (and any channel it still holds)
 * sends nothing and waits for nothing.
 */
static void
conn_drop(struct ssh_conn *c)
{
	if (c->s != NULL) {
		if (c->state == C_READY) {
			libssh2_session_set_blocking(c->s, 1);
			libssh2_session_set_timeout(c->s, 2000);
			(void)libssh2_session_disconnect(c->s, "done");
		}
		(void)shutdown(c->fd, SHUT_RDWR);
		libssh2_session_free(c->s);
		c->s = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	if (c->ai0 != NULL)
		freeaddrinfo(c->ai0);
	c->ai0 = c->ai = NULL;
}

/* Starts a TCP connect to c->ai or a later address; -1 when none is left
 * (c->err says why the last one failed). */
static int
tcp_next(struct ssh_conn *c)
{
	for (; c->ai != NULL; c->ai = c->ai->ai_next) {
		if (c->fd != -1)
			close(c->fd);
		if ((c->fd = socket(c->ai->ai_family, c->ai->ai_socktype |
		    SOCK_CLOEXEC | SOCK_NONBLOCK, c->ai->ai_protocol)) != -1 &&
		    (connect(c->fd, c->ai->ai_addr, c->ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS))
			return 0;
		snprintf(c->err, sizeof(c->err), "cannot connect to %s port %d: %s",
		    c->host, c->port, strerror(errno));
	}
	return -1;
}

/* The TCP connect: 0 connected, 1 under way, -1 failed. */
static int
tcp_step(struct ssh_conn *c, long long t)
{
	struct pollfd	 pfd = { c->fd, POLLOUT, 0 };
	socklen_t	 len = sizeof(int);
	int		 soerr = 0, one = 1;

	if (poll(&pfd, 1, 0) == 1) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
			soerr = errno;
		if (soerr == 0) {
			/* SSH sends small packets and waits for answers:
			 * without this, each step waits on the peer's
			 * delayed ACKs (~40 ms each). */
			(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
			return 0;
		}
		snprintf(c->err, sizeof(c->err), "cannot connect to %s port %d: %s",
		    c->host, c->port, strerror(soerr));
		c->ai = c->ai->ai_next;
		return tcp_next(c) == -1 ? -1 : 1;
	}
	if (t < c->deadline)
		return 1;
	snprintf(c->err, sizeof(c->err), "connection to %s port %d timed out "
	    "after %ld s", c->host, c->port, c->connect_s);
	return -1;
}

/* A non-blocking session with Terrapin-safe preferences. */
static int
session_begin(struct ssh_conn *c)
{
	if ((c->s = libssh2_session_init()) == NULL) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -1;
	}
	libssh2_session_set_blocking(c->s, 0);
	if (libssh2_session_method_pref(c->s, LIBSSH2_METHOD_KEX,
	    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
	    "ecdh-sha2-nistp384,diffie-hellman-group16-sha512,"
	    "diffie-hellman-group14-sha256") != 0 ||
	    libssh2_session_method_pref(c->s, LIBSSH2_METHOD_HOSTKEY,
	    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,rsa-sha2-512,"
	    "rsa-sha2-256") != 0 ||
	    libssh2_session_method_pref(c->s, LIBSSH2_METHOD_CRYPT_CS,
	    "aes256-ctr,aes192-ctr,aes128-ctr") != 0 ||
	    libssh2_session_method_pref(c->s, LIBSSH2_METHOD_CRYPT_SC,
	    "aes256-ctr,aes192-ctr,aes128-ctr") != 0 ||
	    libssh2_session_method_pref(c->s, LIBSSH2_METHOD_MAC_CS,
	    "hmac-sha2-256,hmac-sha2-512") != 0 ||
	    libssh2_session_method_pref(c->s, LIBSSH2_METHOD_MAC_SC,
	    "hmac-sha2-256,hmac-sha2-512") != 0) {
		snprintf(c->err, sizeof(c->err),
		    "SSH method preferences refused by libssh2");
		return -1;
	}
	return 0;
}

/* Before anything is authenticated or sent: the offered key is the
 * pinned one (for ssh_offered_hostkey, it is only read). */
static int
hostkey_check(struct ssh_conn *c)
{
	char	 pinfp[80];

	if (session_hostkey(c->s, c->key, sizeof(c->key), c->fp,
	    sizeof(c->fp)) == -1) {
		snprintf(c->err, sizeof(c->err), "%s offers a host key of an "
		    "unknown type", c->host);
		return -1;
	}
	if (c->keyonly || same_key(c->key, c->hostkey))
		return 0;
	if (ssh_fingerprint(c->hostkey, pinfp, sizeof(pinfp)) == -1)
		snprintf(pinfp, sizeof(pinfp), "(malformed)");
	snprintf(c->err, sizeof(c->err), "host key mismatch for %s: it offers %s, "
	    "Keystone pinned %s; refusing to connect", c->host, c->fp, pinfp);
	return -1;
}

/* libssh2's last error on c, or what. */
static const char *
last_error(struct ssh_conn *c, const char *what)
{
	char	*msg = NULL;

	if (c->s != NULL)
		libssh2_session_last_error(c->s, &msg, NULL, 0);
	return msg != NULL && msg[0] != '\0' ? msg : what;
}

/* The first move: refusals that need no network, then the TCP connect. */
static int
conn_begin(struct ssh_conn *c, long long t)
{
	struct addrinfo	 hints;
	char		 port[16];
	int		 rc;

	if (lib_init() == -1) {
		snprintf(c->err, sizeof(c->err), "libssh2 failed to initialise");
		return -1;
	}
	if (!c->keyonly && (c->hostkey == NULL || c->hostkey[0] == '\0')) {
		snprintf(c->err, sizeof(c->err), "the host key of %s is not pinned "
		    "yet: confirm its fingerprint on the server page first", c->host);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%d", c->port);
	/* An address (as servers are mostly given) resolves at once; a
	 * name waits for the resolver. */
	if ((rc = getaddrinfo(c->host, port, &hints, &c->ai0)) != 0) {
		c->ai0 = NULL;
		snprintf(c->err, sizeof(c->err), "cannot resolve %s: %s", c->host,
		    gai_strerror(rc));
		return -1;
	}
	c->ai = c->ai0;
	c->deadline = t + c->connect_s * 1000;
	c->state = C_TCP;
	return tcp_next(c);
}

/*
 * Moves the connection on as far as it can go now: 0 ready, 1 under way
 * (conn_want() says what to wait for), -1 failed (c->err). The TCP connect
 * has connect_s; the handshake, host key check and authentication have
 * connect_s more.
 */
static int
conn_step(struct ssh_conn *c)
{
	long long	 t = step_now_ms();
	char		 pub[1024];
	int		 rc;

	if (c->state == C_NEW && conn_begin(c, t) == -1)
		goto fail;
	if (c->state == C_TCP) {
		if ((rc = tcp_step(c, t)) != 0) {
			if (rc == -1)
				goto fail;
			return 1;
		}
		freeaddrinfo(c->ai0);
		c->ai0 = c->ai = NULL;
		if (session_begin(c) == -1)
			goto fail;
		c->deadline = t + c->connect_s * 1000;
		c->state = C_HANDSHAKE;
	}
	if (c->state == C_HANDSHAKE) {
		if ((rc = libssh2_session_handshake(c->s, c->fd)) ==
		    LIBSSH2_ERROR_EAGAIN) {
			if (t < c->deadline)
				return 1;
			snprintf(c->err, sizeof(c->err), "SSH handshake with %s "
			    "timed out after %ld s", c->host, c->connect_s);
			goto fail;
		}
		if (rc != 0) {
			snprintf(c->err, sizeof(c->err), "SSH handshake with %s "
			    "failed: %s", c->host, last_error(c, "unknown error"));
			goto fail;
		}
		if (hostkey_check(c) == -1)
			goto fail;
		c->state = c->keyonly ? C_READY : C_AUTH;
	}
	if (c->state == C_AUTH) {
		snprintf(pub, sizeof(pub), "%s.pub", c->key_file);
		if ((rc = libssh2_userauth_publickey_fromfile(c->s, c->user,
		    access(pub, R_OK) == 0 ? pub : NULL, c->key_file, NULL)) ==
		    LIBSSH2_ERROR_EAGAIN) {
			if (t < c->deadline)
				return 1;
			snprintf(c->err, sizeof(c->err), "%s did not complete "
			    "Keystone's authentication within %ld s", c->host,
			    c->connect_s);
			goto fail;
		}
		if (rc != 0) {
			snprintf(c->err, sizeof(c->err), "%s refused Keystone's key "
			    "for user %s: %s", c->host, c->user,
			    last_error(c, "authentication failed"));
			goto fail;
		}
		libssh2_keepalive_config(c->s, 1, 15);
		c->state = C_READY;
	}
	return c->state == C_READY ? 0 : -1;
fail:
	conn_drop(c);
	c->state = C_FAILED;
	return -1;
}

/* What the connection waits for: 1 with pfd filled, or 0. */
static int
conn_want(struct ssh_conn *c, struct pollfd *pfd)
{
	int	 dir;

	if (c->fd == -1 || c->state == C_NEW || c->state == C_FAILED)
		return 0;
	pfd->fd = c->fd;
	pfd->events = 0;
	if (c->state == C_TCP) {
		pfd->events = POLLOUT;
		return 1;
	}
	dir = libssh2_session_block_directions(c->s);
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd->events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd->events |= POLLOUT;
	if (pfd->events == 0)
		pfd->events = POLLIN;
	return 1;
}

/* A connection; keyonly: for reading the host key, no authentication. */
static struct ssh_conn *
conn_make(const struct ssh_target *t, int keyonly)
{
	struct ssh_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = -1;
	c->port = t->port;
	c->connect_s = t->connect_timeout_s;
	c->idle_ms = (long long)t->idle_timeout_s * 1000;
	c->keyonly = keyonly;
	if ((c->host = strdup(t->host)) == NULL ||
	    (t->user != NULL && (c->user = strdup(t->user)) == NULL) ||
	    (t->hostkey != NULL && (c->hostkey = strdup(t->hostkey)) == NULL) ||
	    (t->key_file != NULL && (c->key_file = strdup(t->key_file)) == NULL)) {
		ssh_close(c);
		return NULL;
	}
	return c;
}

struct ssh_conn *
ssh_conn_new(const struct ssh_target *t)
{
	return conn_make(t, 0);
}

void
ssh_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	conn_drop(c);
	free(c->host);
	free(c->user);
	free(c->hostkey);
	free(c->key_file);
	free(c);
}

int
ssh_offered_hostkey(const char *host, int port, long timeout_s, char *key,
    size_t keysz, char *fp, size_t fpsz, char *err, size_t errsz)
{
	struct ssh_target t;
	struct ssh_conn	*c;
	struct pollfd	 pfd;
	int		 rc;

	memset(&t, 0, sizeof(t));
	t.host = host;
	t.port = port;
	t.connect_timeout_s = t.idle_timeout_s = timeout_s;
	if ((c = conn_make(&t, 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	/* One connection alone: waiting here holds up nobody else. */
	while ((rc = conn_step(c)) == 1)
		(void)poll(&pfd, (nfds_t)conn_want(c, &pfd), 200);
	if (rc == 0) {
		snprintf(key, keysz, "%s", c->key);
		snprintf(fp, fpsz, "%s", c->fp);
	} else
		snprintf(err, errsz, "%s", c->err);
	ssh_close(c);
	return rc;
}

/*
 * A step's channel on a connection, for supervise().
 */
enum chan_state { S_CONNECT, S_OPEN, S_EXEC, S_RUN };

struct schan {
	struct chan	 c;
	struct ssh_conn	*conn;
	LIBSSH2_CHANNEL	*ch;
	enum chan_state	 state;
	long long	 open_by;	/* opening the channel: no later */
	long long	 close_by;	/* closing it: given up after */
	int		 eof;		/* all output read */
	int		 killed;
	int		 closed;	/* closed, or given up */
};

/* The channel's start could not go on; err says why. */
static int
start_failed(const char *why, char *err, size_t errsz)
{
	snprintf(err, errsz, "cannot start the step: %s", why);
	return -1;
}

static int
s_start(struct chan *c, char *err, size_t errsz)
{
	struct schan	*h = (struct schan *)c;
	struct ssh_conn	*k = h->conn;
	char		 why[128];
	int		 rc;

	if (h->state == S_CONNECT) {
		if ((rc = conn_step(k)) == -1)
			snprintf(err, errsz, "%s", k->err);
		if (rc != 0)
			return rc;
		h->state = S_OPEN;
		h->open_by = step_now_ms() + k->idle_ms;
	}
	if (h->state == S_OPEN) {
		/* Channels of one session open one at a time: libssh2 keeps
		 * one open under way per session, and hands it to whichever
		 * channel asks when it completes. */
		if ((h->ch = libssh2_channel_open_session(k->s)) == NULL &&
		    libssh2_session_last_errno(k->s) != LIBSSH2_ERROR_EAGAIN)
			return start_failed(last_error(k, "channel refused"),
			    err, errsz);
		if (h->ch != NULL)
			h->state = S_EXEC;
	}
	if (h->state == S_EXEC) {
		/* One stream, as on the control node: stdout and stderr
		 * travel as two SSH streams whose order the server does not
		 * keep, and the wrapper's status line (its last output, on
		 * stderr) must come after everything the step printed. */
		rc = libssh2_channel_exec(h->ch, "exec bash -s 2>&1");
		if (rc != 0 && rc != LIBSSH2_ERROR_EAGAIN)
			return start_failed(last_error(k, "channel refused"),
			    err, errsz);
		if (rc == 0)
			h->state = S_RUN;
	}
	if (h->state == S_RUN)
		return 0;
	if (step_now_ms() < h->open_by)
		return 1;
	snprintf(why, sizeof(why), "no answer from %s within %lld s", k->host,
	    k->idle_ms / 1000);
	return start_failed(why, err, errsz);
}

static int
s_want(struct chan *c, struct pollfd *pfd, int wr, int *ms)
{
	struct schan	*h = (struct schan *)c;

	(void)wr;	/* libssh2 says when it waits to send */
	(void)ms;
	return h->closed ? 0 : conn_want(h->conn, pfd);
}

static ssize_t
s_write(struct chan *c, const char *p, size_t n)
{
	struct schan	*h = (struct schan *)c;
	ssize_t		 w;

	if ((w = libssh2_channel_write(h->ch, p, n)) >= 0)
		return w;
	return w == LIBSSH2_ERROR_EAGAIN ? 0 : -1;
}

static ssize_t
s_read(struct chan *c, char *p, size_t n, char *err, size_t errsz)
{
	struct schan	*h = (struct schan *)c;
	ssize_t		 r;

	if (h->eof || h->closed)
		return CHAN_EOF;
	/* Both streams, or a full one stalls the other. Once the end is
	 * seen, one more look: what arrived with it is read first. */
	for (int pass = 0; pass < 2; pass++) {
		for (int stream = 0; stream < 2; stream++) {
			if ((r = libssh2_channel_read_ex(h->ch, stream, p, n)) > 0)
				return r;
			if (r < 0 && r != LIBSSH2_ERROR_EAGAIN) {
				snprintf(err, errsz, "connection lost during the "
				    "step: %s", last_error(h->conn, "read error"));
				return -1;
			}
		}
		if (!libssh2_channel_eof(h->ch))
			return 0;
	}
	h->eof = 1;
	return CHAN_EOF;
}

static int
s_close_input(struct chan *c)
{
	struct schan	*h = (struct schan *)c;

	return libssh2_channel_send_eof(h->ch) == LIBSSH2_ERROR_EAGAIN;
}

/* Ended once closed both ways (then the exit status is in), or given up. */
static int
s_exited(struct chan *c)
{
	struct schan	*h = (struct schan *)c;
	long long	 t = step_now_ms();
	int		 rc;

	if (h->closed || (!h->eof && !h->killed))
		return h->closed;
	if (h->close_by == 0)
		h->close_by = t + h->conn->idle_ms;
	rc = libssh2_channel_close(h->ch);
	/* Waiting for the peer's close needs its end of output first. */
	if (rc == 0 && h->eof)
		rc = libssh2_channel_wait_closed(h->ch);
	if (rc != LIBSSH2_ERROR_EAGAIN || t >= h->close_by)
		h->closed = 1;
	return h->closed;
}

static void
s_kill(struct chan *c)
{
	struct schan	*h = (struct schan *)c;
	long long	 by = step_now_ms() + KILL_CLOSE_MS;

	/* The wrapper stops the step when its stdin ends (step.h); what is
	 * left is the channel, closed within KILL_CLOSE_MS. */
	if (!h->killed && (h->close_by == 0 || h->close_by > by))
		h->close_by = by;
	h->killed = 1;
}

static int
s_alive(struct chan *c, long long quiet_ms, long timeout_s, char *err,
    size_t errsz)
{
	struct schan	*h = (struct schan *)c;
	int		 next;

	if (libssh2_keepalive_send(h->conn->s, &next) != 0 ||
	    quiet_ms <= h->conn->idle_ms + (long long)timeout_s * 1000)
		return 0;
	snprintf(err, errsz, "no answer from the server for %lld s",
	    quiet_ms / 1000);
	return -1;
}

static void
s_result(struct chan *c, const struct outfilter *of, struct exec_res *res)
{
	struct schan	*h = (struct schan *)c;
	char		*sig = NULL;
	int		 st;

	if (res->error[0] != '\0')
		return;
	/* The protocol's exit status is 0 also when none arrived: trust it
	 * only when the wrapper's in-band status agrees it ran to the end;
	 * a signal is reported on its own. */
	st = libssh2_channel_get_exit_status(h->ch);
	(void)libssh2_channel_get_exit_signal(h->ch, &sig, NULL, NULL, NULL,
	    NULL, NULL);
	if (sig != NULL) {
		snprintf(res->signame, sizeof(res->signame), "%s", sig);
		snprintf(res->error, sizeof(res->error), "killed by signal %s", sig);
		libssh2_free(h->conn->s, sig);
	} else if (of->have_status) {
		res->exited = 1;
		res->status = of->status;
		if (st != of->status)
			log_warnx("ssh: exit status %d, in-band status %d", st,
			    of->status);
	} else if (!res->cancelled && !res->timed_out)
		snprintf(res->error, sizeof(res->error), "the step ended without "
		    "an exit status (connection or shell lost)");
}

static void
s_free(struct chan *c)
{
	struct schan	*h = (struct schan *)c;

	/* A channel that cannot be freed without waiting (its close is
	 * not sent yet) stays with its session, which frees it in
	 * ssh_close(). */
	if (h->ch != NULL)
		(void)libssh2_channel_free(h->ch);
	free(h);
}

static const struct chan_ops ssh_ops = {
	s_start, s_want, s_write, s_read, s_close_input, s_exited, s_kill,
	s_alive, s_result, s_free
};

struct chan *
ssh_chan(struct ssh_conn *k)
{
	struct schan	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->c.ops = &ssh_ops;
	h->conn = k;
	if (k->state == C_FAILED) {
		k->state = C_NEW;	/* another attempt */
		k->err[0] = '\0';
	}
	return &h->c;
}
