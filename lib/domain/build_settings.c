/*
 * Builds, the settings side (lib/domain/build.h): the field checks the
 * settings forms use, and the repository access and registry override a
 * web worker may write but never read back. Every secret is sealed with
 * the keys' public half, bound to its row: the associated data is the
 * reference build_plan gives its operations ("application/ID/deploy_key",
 * "application/ID/token", "environment/ID/registry"), so a sealed value
 * copied to another row or column does not open.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "build.h"
#include "build_settings.h"
#include "config.h"
#include "db.h"
#include "row.h"
#include "utf8.h"
#include "valid.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))

#define ARGS_MAX_LINES	64
#define ARGS_MAX_BYTES	(16 * 1024)
#define ARG_NAME_MAX	128
#define CA_MAX_BYTES	(64 * 1024)

/* The rows the statements below return (lib/db/row.h). */
/* ---- field checks ----------------------------------------------------- */

const char *
build_check_url(const struct config *cfg, const char *url)
{
	const char	*msg;

	if ((msg = valid_git_url(url)) != NULL)
		return msg;
	/* A git:// or file:// source has no authentication and no
	 * transport security: only a developer's own machine uses them. */
	if ((strncmp(url, "git://", 6) == 0 || strncmp(url, "file://", 7) == 0) &&
	    (cfg == NULL || !cfg->allow_local_sources))
		return "is allowed only for local development "
		    "(allow_local_sources)";
	return NULL;
}

static int
name_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
name_char(int c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

const char *
build_check_args(const char *lines)
{
	static char	 msg[128];
	const char	*l, *e;
	size_t		 len = strlen(lines), n, nlines = 0;

	if (len == 0)
		return NULL;
	if (len > ARGS_MAX_BYTES)
		return "must be at most 16 KiB";
	if (!utf8_valid(lines, len))
		return "must be valid UTF-8";
	for (l = lines; *l != '\0'; l = *e == '\n' ? e + 1 : e) {
		e = l + strcspn(l, "\n");
		if (++nlines > ARGS_MAX_LINES)
			return "must be at most 64 lines";
		if (e == l) {
			snprintf(msg, sizeof(msg), "must be NAME=value lines "
			    "(line %zu is empty)", nlines);
			return msg;
		}
		if (!name_start((unsigned char)l[0])) {
			snprintf(msg, sizeof(msg), "must be NAME=value lines, "
			    "NAME starting with a letter or '_' (line %zu)",
			    nlines);
			return msg;
		}
		for (n = 1; l + n < e && name_char((unsigned char)l[n]); n++)
			;
		if (l + n == e || l[n] != '=') {
			snprintf(msg, sizeof(msg), "must be NAME=value lines, "
			    "NAME of letters, digits and '_' (line %zu)", nlines);
			return msg;
		}
		if (n > ARG_NAME_MAX) {
			snprintf(msg, sizeof(msg), "must have names of at most "
			    "128 characters (line %zu)", nlines);
			return msg;
		}
		/* Values are any text but control characters: a CR or an
		 * escape sequence in a value would not be what it shows. */
		for (const char *p = l + n + 1; p < e; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(msg, sizeof(msg), "must not contain "
				    "control characters (line %zu)", nlines);
				return msg;
			}
	}
	return NULL;
}

/* ---- the deploy key --------------------------------------------------- */

static void
put_u32(struct buf *b, uint32_t v)
{
	unsigned char	 x[4] = { v >> 24, v >> 16, v >> 8, v };

	buf_put(b, x, 4);
}

/* An SSH wire string: its length, then its bytes. */
static void
put_str(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_put(b, p, n);
}

/* base64 of (p, n) appended to out, wrapped at wrap columns (0: none). */
static int
put_b64(struct buf *out, const void *p, size_t n, size_t wrap)
{
	size_t		 sz = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_ORIGINAL), len;
	char		*b;
	int		 rc = -1;

	if ((b = malloc(sz)) == NULL)
		return -1;
	sodium_bin2base64(b, sz, p, n, sodium_base64_VARIANT_ORIGINAL);
	len = strlen(b);
	if (wrap == 0)
		rc = buf_put(out, b, len);
	else {
		rc = 0;
		for (size_t i = 0; i < len && rc == 0; i += wrap)
			if (buf_put(out, b + i, len - i < wrap ? len - i : wrap) ==
			    -1 || buf_putc(out, '\n') == -1)
				rc = -1;
	}
	sodium_memzero(b, sz);
	free(b);
	return rc;
}

/*
 * An ed25519 key pair in OpenSSH's formats: the private key file
 * (PROTOCOL.key: "openssh-key-v1", no cipher, no KDF, one key; the
 * private section padded to the cipher's block size, 8) into secret_priv,
 * and the public line into pub. 0, -1.
 */
static int
keypair(struct buf *secret_priv, struct buf *pub, const char *comment)
{
	unsigned char	 pk[crypto_sign_ed25519_PUBLICKEYBYTES];
	unsigned char	 sk[crypto_sign_ed25519_SECRETKEYBYTES];
	uint32_t	 check;
	struct buf	 blob, body, priv;
	int		 rc = -1;

	buf_init(&blob);
	buf_init(&body);
	buf_init(&priv);
	/* sk is seed || pk: what OpenSSH stores as the private key. */
	crypto_sign_ed25519_keypair(pk, sk);
	put_str(&blob, "ssh-ed25519", 11);
	put_str(&blob, pk, sizeof(pk));

	check = randombytes_random();
	put_u32(&priv, check);
	put_u32(&priv, check);
	put_str(&priv, "ssh-ed25519", 11);
	put_str(&priv, pk, sizeof(pk));
	put_str(&priv, sk, sizeof(sk));
	put_str(&priv, comment, strlen(comment));
	for (unsigned char i = 1; priv.len % 8 != 0; i++)
		buf_putc(&priv, i);

	buf_put(&body, "openssh-key-v1", 15);	/* with its NUL */
	put_str(&body, "none", 4);
	put_str(&body, "none", 4);
	put_str(&body, "", 0);
	put_u32(&body, 1);
	put_str(&body, blob.ptr, blob.len);
	put_str(&body, priv.ptr, priv.len);
	/* Any write that failed left its buffer short: check the ends. */
	if (blob.len != 4 + 11 + 4 + 32 || priv.len % 8 != 0 ||
	    body.len != 15 + 8 + 8 + 4 + 4 + 4 + blob.len + 4 + priv.len)
		goto out;

	if (buf_puts(secret_priv, "-----BEGIN OPENSSH PRIVATE KEY-----\n") == -1 ||
	    put_b64(secret_priv, body.ptr, body.len, 70) == -1 ||
	    buf_puts(secret_priv, "-----END OPENSSH PRIVATE KEY-----\n") == -1)
		goto out;
	if (buf_puts(pub, "ssh-ed25519 ") == -1 ||
	    put_b64(pub, blob.ptr, blob.len, 0) == -1 ||
	    buf_printf(pub, " %s", comment) == -1)
		goto out;
	rc = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	if (priv.ptr != NULL)
		sodium_memzero(priv.ptr, priv.cap);
	if (body.ptr != NULL)
		sodium_memzero(body.ptr, body.cap);
	buf_release(&blob);
	buf_release(&body);
	buf_release(&priv);
	return rc;
}

/* The id of the row uuid names (st: an application's or an environment's):
 * 1, 0 none, -1. */
static int
row_id(struct db *db, enum stmt st, const char *uuid, long long *id)
{
	struct row_id	 r;
	const char	*p[] = { uuid };
	int		 rc;

	if (valid_uuid(uuid) != NULL)
		return 0;
	if ((rc = row_get(db, &row_id_t, st, NP(p), p, &r)) == 1)
		*id = r.id;
	row_unfill(&row_id_t, &r);
	return rc;
}

/* Runs a write that returns the row's id: 0 when it wrote one row, -1. */
static int
write_row(struct db *db, enum stmt st, int n, const char *const *p)
{
	struct row_id	 r;
	int		 rc;

	rc = row_get(db, &row_id_t, st, n, p, &r);
	row_unfill(&row_id_t, &r);
	return rc == 1 ? 0 : -1;
}

int
build_keygen(struct db *db, const struct keys *k, const char *app_uuid,
    char *pub, size_t pubsz)
{
	struct buf	 secret_priv, line;
	char		 ad[64], comment[64], ids[24], *sealed = NULL;
	long long	 id;
	int		 rc = -1;

	buf_init(&secret_priv);
	buf_init(&line);
	if (row_id(db, ST_BSET_APP_ID, app_uuid, &id) != 1)
		goto out;
	snprintf(comment, sizeof(comment), "keystone-app-%s", app_uuid);
	snprintf(ad, sizeof(ad), "application/%lld/deploy_key", id);
	snprintf(ids, sizeof(ids), "%lld", id);
	if (keypair(&secret_priv, &line, comment) == -1 ||
	    line.len >= pubsz ||
	    keys_seal_b64(&sealed, k, ad, secret_priv.ptr, secret_priv.len) == -1)
		goto out;
	{
		const char *p[] = { ids, line.ptr, sealed };
		if (write_row(db, ST_BSET_DEPLOY_KEY, NP(p), p) == -1)
			goto out;
	}
	snprintf(pub, pubsz, "%s", line.ptr);
	rc = 0;
out:
	if (secret_priv.ptr != NULL)
		sodium_memzero(secret_priv.ptr, secret_priv.cap);
	buf_release(&secret_priv);
	buf_release(&line);
	free(sealed);
	return rc;
}

int
build_set_token(struct db *db, const struct keys *k, const char *app_uuid,
    const char *user, const char *secret_token)
{
	char		 ad[64], ids[24], *sealed = NULL;
	long long	 id;
	int		 rc = -1;

	if (row_id(db, ST_BSET_APP_ID, app_uuid, &id) != 1)
		return -1;
	snprintf(ids, sizeof(ids), "%lld", id);
	if (secret_token == NULL) {
		const char *p[] = { ids };
		return write_row(db, ST_BSET_TOKEN_DEL, NP(p), p);
	}
	if (user == NULL || secret_token[0] == '\0')
		return -1;
	snprintf(ad, sizeof(ad), "application/%lld/token", id);
	if (keys_seal_b64(&sealed, k, ad, secret_token, strlen(secret_token)) == -1)
		goto out;
	{
		const char *p[] = { ids, user, sealed };
		if (write_row(db, ST_BSET_TOKEN, NP(p), p) == -1)
			goto out;
	}
	rc = 0;
out:
	free(sealed);
	return rc;
}

/* Splits host[:port] (an IPv6 address in brackets) and checks both. */
static const char *
check_hostport(const char *hp)
{
	char		 host[256];
	const char	*port = NULL, *c;
	size_t		 n;
	int		 pn;

	if (hp[0] == '[') {
		if ((c = strchr(hp, ']')) == NULL)
			return "must be a host name or address, and a port if any";
		n = (size_t)(c - hp - 1);
		hp++;
		if (c[1] == ':')
			port = c + 2;
		else if (c[1] != '\0')
			return "must be a host name or address, and a port if any";
	} else if ((c = strchr(hp, ':')) != NULL) {
		if (strchr(c + 1, ':') != NULL)
			return "must put an IPv6 address in brackets";
		n = (size_t)(c - hp);
		port = c + 1;
	} else
		n = strlen(hp);
	if (n == 0 || n >= sizeof(host))
		return "must be a host name or address, and a port if any";
	memcpy(host, hp, n);
	host[n] = '\0';
	if (valid_host(host) != NULL)
		return valid_host(host);
	if (port != NULL && valid_port(port, &pn) != NULL)
		return "must have a port from 1 to 65535";
	return NULL;
}

const char *
build_check_registry_host(const char *hp)
{
	return check_hostport(hp);
}

const char *
build_check_ca(const char *pem)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	size_t		 len = strlen(pem);

	if (len == 0)
		return NULL;
	if (len > CA_MAX_BYTES)
		return "must be at most 64 KiB";
	if (strncmp(pem, begin, sizeof(begin) - 1) != 0 ||
	    strstr(pem, end) == NULL)
		return "must be a PEM certificate (-----BEGIN CERTIFICATE-----)";
	for (const unsigned char *p = (const unsigned char *)pem; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\r') || *p >= 0x7f)
			return "must be a PEM certificate (ASCII only)";
	return NULL;
}

int
build_set_registry(struct db *db, const struct keys *k, const char *env_uuid,
    const char *host, const char *user, const char *secret_password,
    const char *ca_pem)
{
	char		 ad[64], ids[24], *sealed = NULL;
	long long	 id;
	int		 rc = -1;

	if (row_id(db, ST_BSET_ENV_ID, env_uuid, &id) != 1)
		return -1;
	snprintf(ids, sizeof(ids), "%lld", id);
	if (host == NULL) {
		const char *p[] = { ids, NULL, NULL, NULL, NULL };
		return write_row(db, ST_BSET_REGISTRY, NP(p), p);
	}
	if (check_hostport(host) != NULL || user == NULL ||
	    (ca_pem != NULL && build_check_ca(ca_pem) != NULL))
		return -1;
	/* No password: the stored one stays (the form never shows it). */
	snprintf(ad, sizeof(ad), "environment/%lld/registry", id);
	if (secret_password != NULL && secret_password[0] != '\0' &&
	    keys_seal_b64(&sealed, k, ad, secret_password,
	    strlen(secret_password)) == -1)
		goto out;
	{
		const char *p[] = { ids, host, user, sealed,
		    ca_pem != NULL && ca_pem[0] != '\0' ? ca_pem : NULL };
		if (write_row(db, ST_BSET_REGISTRY, NP(p), p) == -1)
			goto out;
	}
	rc = 0;
out:
	free(sealed);
	return rc;
}

int
build_ssh_host(const char *url, char *host, size_t hostsz, int *port,
    char *known, size_t knownsz)
{
	const char	*h, *e, *at, *c;
	size_t		 n;
	int		 pn = 22;

	if (valid_git_url(url) != NULL)
		return 0;
	if (strncmp(url, "ssh://", 6) == 0) {
		h = url + 6;
		e = h + strcspn(h, "/");
		for (at = h; at < e; at++)
			if (*at == '@')
				h = at + 1;
	} else if (strstr(url, "://") == NULL && (at = strchr(url, '@')) != NULL) {
		/* user@host:path, the host perhaps "[v6]" */
		h = at + 1;
		if (*h == '[' && (c = strchr(h, ']')) != NULL)
			e = c + 1;
		else
			e = h + strcspn(h, ":");
	} else
		return 0;
	/* [v6] or host, then :port if any (valid_git_url checked both) */
	if (*h == '[') {
		c = memchr(h, ']', (size_t)(e - h));
		if (c == NULL)
			return 0;
		n = (size_t)(c - h - 1);
		h++;
		if (c + 1 < e && c[1] == ':')
			pn = atoi(c + 2);
	} else {
		c = memchr(h, ':', (size_t)(e - h));
		n = (size_t)((c != NULL ? c : e) - h);
		if (c != NULL)
			pn = atoi(c + 1);
	}
	if (n == 0 || n >= hostsz)
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = pn;
	if (pn == 22)
		snprintf(known, knownsz, "%s", host);
	else
		snprintf(known, knownsz, "[%s]:%d", host, pn);
	return 1;
}

int
build_set_access(struct db *db, const char *app_uuid, const char *mode)
{
	struct row_id	 r;
	const char	*p[] = { app_uuid, mode };
	long long	 id;
	int		 rc;

	if (row_id(db, ST_BSET_APP_ID, app_uuid, &id) != 1)
		return -1;
	if (strcmp(mode, "none") != 0 && strcmp(mode, "deploy_key") != 0 &&
	    strcmp(mode, "token") != 0)
		return 1;
	rc = row_get(db, &row_id_t, ST_BSET_ACCESS, NP(p), p, &r);
	row_unfill(&row_id_t, &r);
	return rc == 1 ? 0 : rc == 0 ? 1 : -1;
}

int
build_pin_git_host(struct db *db, const char *app_uuid, const char *known,
    const char *key, const char *fp)
{
	const char	*p[] = { app_uuid, known, key, fp };

	if (valid_uuid(app_uuid) != NULL)
		return -1;
	return write_row(db, ST_BSET_GIT_PIN, NP(p), p);
}
