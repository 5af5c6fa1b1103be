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

#define GRACE_S	5

struct ssh_conn {
	int		 fd;
	LIBSSH2_SESSION	*s;
	long		 idle_ms;
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

/* A TCP connection within timeout_s, or -1 with err. */
static int
tcp_connect(const char *host, int port, long timeout_s, char *err, size_t errsz)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct pollfd	 pfd;
	char		 portstr[16];
	socklen_t	 len;
	int		 fd = -1, rc, soerr = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errsz, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			rc = poll(&pfd, 1, (int)(timeout_s * 1000));
			len = sizeof(soerr);
			if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &len) == 0 && soerr == 0)
				break;
			if (rc == 0)
				snprintf(err, errsz, "connection to %s port %d timed "
				    "out after %ld s", host, port, timeout_s);
			else
				snprintf(err, errsz, "cannot connect to %s port %d: %s",
				    host, port, strerror(soerr ? soerr : errno));
		} else
			snprintf(err, errsz, "cannot connect to %s port %d: %s",
			    host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd != -1) {
		int one = 1;
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		/* SSH sends small packets and waits for answers: without this,
		 * each step waits on the peer's delayed ACKs (~40 ms each). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
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

/* A session through the handshake, with Terrapin-safe preferences. */
static LIBSSH2_SESSION *
handshake(int fd, long timeout_s, const char *host, char *err, size_t errsz)
{
	LIBSSH2_SESSION	*s;

	if ((s = libssh2_session_init()) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	libssh2_session_set_blocking(s, 1);
	libssh2_session_set_timeout(s, timeout_s * 1000);
	if (libssh2_session_method_pref(s, LIBSSH2_METHOD_KEX,
	    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
	    "ecdh-sha2-nistp384,diffie-hellman-group16-sha512,"
	    "diffie-hellman-group14-sha256") != 0 ||
	    libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY,
	    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,rsa-sha2-512,"
	    "rsa-sha2-256") != 0 ||
	    libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_CS,
	    "aes256-ctr,aes192-ctr,aes128-ctr") != 0 ||
	    libssh2_session_method_pref(s, LIBSSH2_METHOD_CRYPT_SC,
	    "aes256-ctr,aes192-ctr,aes128-ctr") != 0 ||
	    libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_CS,
	    "hmac-sha2-256,hmac-sha2-512") != 0 ||
	    libssh2_session_method_pref(s, LIBSSH2_METHOD_MAC_SC,
	    "hmac-sha2-256,hmac-sha2-512") != 0) {
		snprintf(err, errsz, "SSH method preferences refused by libssh2");
		libssh2_session_free(s);
		return NULL;
	}
	if (libssh2_session_handshake(s, fd) != 0) {
		char *msg = NULL;
		libssh2_session_last_error(s, &msg, NULL, 0);
		snprintf(err, errsz, "SSH handshake with %s failed: %s", host,
		    msg ? msg : "unknown error");
		libssh2_session_free(s);
		return NULL;
	}
	return s;
}

int
ssh_offered_hostkey(const char *host, int port, long timeout_s, char *key,
    size_t keysz, char *fp, size_t fpsz, char *err, size_t errsz)
{
	LIBSSH2_SESSION	*s;
	int		 fd, rc = -1;

	if (lib_init() == -1 || (fd = tcp_connect(host, port, timeout_s, err,
	    errsz)) == -1)
		return -1;
	if ((s = handshake(fd, timeout_s, host, err, errsz)) == NULL) {
		close(fd);
		return -1;
	}
	if (session_hostkey(s, key, keysz, fp, fpsz) == -1)
		snprintf(err, errsz, "%s offers a host key of an unknown type", host);
	else
		rc = 0;
	libssh2_session_disconnect(s, "host key read");
	libssh2_session_free(s);
	close(fd);
	return rc;
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

struct ssh_conn *
ssh_connect(const struct ssh_target *t, char *err, size_t errsz)
{
	struct ssh_conn	*c = NULL;
	LIBSSH2_SESSION	*s = NULL;
	char		 key[2048], fp[80], pinfp[80], pub[1024];
	int		 fd = -1;

	if (lib_init() == -1) {
		snprintf(err, errsz, "libssh2 failed to initialise");
		return NULL;
	}
	if (t->hostkey == NULL || t->hostkey[0] == '\0') {
		snprintf(err, errsz, "the host key of %s is not pinned yet: confirm "
		    "its fingerprint on the server page first", t->host);
		return NULL;
	}
	if ((fd = tcp_connect(t->host, t->port, t->connect_timeout_s, err,
	    errsz)) == -1)
		return NULL;
	if ((s = handshake(fd, t->connect_timeout_s, t->host, err, errsz)) == NULL)
		goto fail;
	/* Before anything is authenticated or sent. */
	if (session_hostkey(s, key, sizeof(key), fp, sizeof(fp)) == -1) {
		snprintf(err, errsz, "%s offers a host key of an unknown type", t->host);
		goto fail;
	}
	if (!same_key(key, t->hostkey)) {
		if (ssh_fingerprint(t->hostkey, pinfp, sizeof(pinfp)) == -1)
			snprintf(pinfp, sizeof(pinfp), "(malformed)");
		snprintf(err, errsz, "host key mismatch for %s: it offers %s, "
		    "Keystone pinned %s; refusing to connect", t->host, fp, pinfp);
		goto fail;
	}
	snprintf(pub, sizeof(pub), "%s.pub", t->key_file);
	if (libssh2_userauth_publickey_fromfile(s, t->user,
	    access(pub, R_OK) == 0 ? pub : NULL, t->key_file, NULL) != 0) {
		char *msg = NULL;
		libssh2_session_last_error(s, &msg, NULL, 0);
		snprintf(err, errsz, "%s refused Keystone's key for user %s: %s",
		    t->host, t->user, msg ? msg : "authentication failed");
		goto fail;
	}
	libssh2_keepalive_config(s, 1, 15);
	libssh2_session_set_timeout(s, t->idle_timeout_s * 1000);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	c->fd = fd;
	c->s = s;
	c->idle_ms = t->idle_timeout_s * 1000;
	return c;
fail:
	if (s != NULL) {
		libssh2_session_disconnect(s, "refused");
		libssh2_session_free(s);
	}
	if (fd != -1)
		close(fd);
	return NULL;
}

void
ssh_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	libssh2_session_set_blocking(c->s, 1);
	libssh2_session_set_timeout(c->s, 2000);
	libssh2_session_disconnect(c->s, "done");
	libssh2_session_free(c->s);
	close(c->fd);
	free(c);
}

/* Waits until the socket is ready in the directions libssh2 asks for. */
static void
wait_socket(struct ssh_conn *c, int ms)
{
	struct pollfd	 pfd;
	int		 dir = libssh2_session_block_directions(c->s);

	pfd.fd = c->fd;
	pfd.events = 0;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	if (pfd.events == 0)
		pfd.events = POLLIN;
	(void)poll(&pfd, 1, ms);
}

int
ssh_exec(struct ssh_conn *c, const struct exec_req *rq, struct exec_res *res)
{
	LIBSSH2_CHANNEL	*ch = NULL;
	struct outfilter of;
	struct buf	 input;
	char		 chunk[32768], *sig = NULL;
	size_t		 sent = 0;
	ssize_t		 n;
	long long	 start = step_now_ms(), last_tick = start, cancel_at = 0,
			 last_io = start;
	int		 eof_sent = 0, rc = -1, progress, st;

	memset(res, 0, sizeof(*res));
	buf_init(&input);
	outfilter_init(&of, rq->secrets, rq->nsecrets, rq->output_cap,
	    rq->output, rq->arg);
	if (step_wrapper(&input, rq->script, rq->secrets, rq->nsecrets) == -1 ||
	    step_secret_input(&input, rq->secrets, rq->nsecrets) == -1) {
		snprintf(res->error, sizeof(res->error), "invalid secret for the step");
		goto out;
	}
	/* Blocking (with the idle timeout) while the channel opens. */
	libssh2_session_set_blocking(c->s, 1);
	if ((ch = libssh2_channel_open_session(c->s)) == NULL ||
	    libssh2_channel_exec(ch, "bash -s") != 0) {
		char *msg = NULL;
		libssh2_session_last_error(c->s, &msg, NULL, 0);
		snprintf(res->error, sizeof(res->error), "cannot start the step: %s",
		    msg ? msg : "channel refused");
		goto out;
	}
	libssh2_session_set_blocking(c->s, 0);
	for (;;) {
		long long t;

		progress = 0;
		if (sent < input.len) {
			n = libssh2_channel_write(ch, input.ptr + sent, input.len - sent);
			if (n > 0) {
				sent += (size_t)n;
				progress = 1;
			} else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
				sent = input.len;
		}
		/* Drain both streams, or a full one stalls the other. */
		for (int stream = 0; stream < 2; stream++) {
			while ((n = libssh2_channel_read_ex(ch, stream, chunk,
			    sizeof(chunk))) > 0) {
				progress = 1;
				if (outfilter_feed(&of, chunk, (size_t)n) == -1 &&
				    cancel_at == 0) {
					snprintf(res->error, sizeof(res->error),
					    "storing output failed");
					cancel_at = step_now_ms();
				}
			}
			if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
				char *msg = NULL;
				libssh2_session_last_error(c->s, &msg, NULL, 0);
				snprintf(res->error, sizeof(res->error), "connection "
				    "lost during the step: %s", msg ? msg : "read error");
				goto done;
			}
		}
		if (libssh2_channel_eof(ch))
			break;
		t = step_now_ms();
		if (progress)
			last_io = t;
		if (cancel_at == 0 && t - last_tick >= 1000) {
			last_tick = t;
			if (rq->tick != NULL && rq->tick(rq->arg) != 0) {
				res->cancelled = 1;
				cancel_at = t;
			}
		}
		if (cancel_at == 0 && rq->timeout_s > 0 &&
		    t - start >= rq->timeout_s * 1000) {
			res->timed_out = 1;
			cancel_at = t;
		}
		/* stdin EOF is the cancel signal (step.h). */
		if (cancel_at != 0 && !eof_sent) {
			if (libssh2_channel_send_eof(ch) != LIBSSH2_ERROR_EAGAIN)
				eof_sent = 1;
		}
		if (cancel_at != 0 && t - cancel_at >= GRACE_S * 1000)
			break;	/* the channel is closed below */
		if (!progress && libssh2_keepalive_send(c->s, &st) == 0 &&
		    t - last_io > c->idle_ms + (long long)rq->timeout_s * 1000) {
			snprintf(res->error, sizeof(res->error), "no answer from the "
			    "server for %lld s", (t - last_io) / 1000);
			goto done;
		}
		if (!progress)
			wait_socket(c, 200);
	}
done:
	if (outfilter_finish(&of) == -1 && res->error[0] == '\0')
		snprintf(res->error, sizeof(res->error), "storing output failed");
	libssh2_session_set_blocking(c->s, 1);
	(void)libssh2_channel_close(ch);
	(void)libssh2_channel_wait_closed(ch);
	if (res->error[0] == '\0') {
		/* The protocol's exit status is 0 also when none arrived: trust
		 * it only when the wrapper's in-band status agrees it ran to
		 * the end; a signal is reported on its own. */
		st = libssh2_channel_get_exit_status(ch);
		(void)libssh2_channel_get_exit_signal(ch, &sig, NULL, NULL, NULL,
		    NULL, NULL);
		if (sig != NULL) {
			snprintf(res->signame, sizeof(res->signame), "%s", sig);
			snprintf(res->error, sizeof(res->error), "killed by signal %s",
			    sig);
		} else if (of.have_status) {
			res->exited = 1;
			res->status = of.status;
			if (st != of.status)
				log_warnx("ssh: exit status %d, in-band status %d",
				    st, of.status);
		} else if (!res->cancelled && !res->timed_out)
			snprintf(res->error, sizeof(res->error), "the step ended "
			    "without an exit status (connection or shell lost)");
	}
	res->output_bytes = of.total;
	res->truncated = of.truncated;
	rc = 0;
out:
	if (sig != NULL)
		libssh2_free(c->s, sig);
	if (ch != NULL)
		libssh2_channel_free(ch);
	if (input.ptr != NULL)
		sodium_memzero(input.ptr, input.cap);
	buf_release(&input);
	outfilter_release(&of);
	return rc;
}
