#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "op.h"
#include "plan.h"
#include "prov.h"
#include "reg.h"
#include "row.h"
#include "shq.h"
#include "ssh.h"

#define NP(a)	((int)(sizeof(a) / sizeof((a)[0])))
#define KEYVER	1

extern const char script_provision[];

/* The rows the statements below return (lib/db/row.h). */
struct token_row {		/* the server a fetched token is for */
	long long	 server_id;
	char		*name;
	int		 role_build;
};
static const struct col token_cols[] = {
	COL(token_row, server_id, C_INT), COL(token_row, name, C_STR),
	COL(token_row, role_build, C_BOOL),
};
static const struct rowtype token_t = ROWTYPE(token_row, token_cols);

struct callback_row {		/* the server a used callback is for */
	long long	 server_id;
};
static const struct col callback_cols[] = {
	COL(callback_row, server_id, C_INT),
};
static const struct rowtype callback_t = ROWTYPE(callback_row, callback_cols);

struct sealed_row {		/* the sudo password, sealed */
	char		*sealed;
};
static const struct col sealed_cols[] = { COL(sealed_row, sealed, C_STR) };
static const struct rowtype sealed_t = ROWTYPE(sealed_row, sealed_cols);

/* The keyed hash a token is stored as: no row of the database is a token
 * that works, and no hash can be checked without the token subkey. */
static void
token_hash(char out[65], const struct keys *k, const char *secret_token)
{
	unsigned char	 h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)secret_token,
	    strlen(secret_token), k->token, sizeof(k->token));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

/* The keyed hash a callback secret is stored as: the same key as the
 * tokens', in its own domain, so that no token hash is ever a callback
 * hash of the same string. */
static void
callback_hash(char out[65], const struct keys *k, const char *secret_callback)
{
	static const char	 dom[] = "keystone provision callback\n";
	crypto_generichash_state st;
	unsigned char		 h[32];

	crypto_generichash_init(&st, k->token, sizeof(k->token), sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)dom, sizeof(dom) - 1);
	crypto_generichash_update(&st, (const unsigned char *)secret_callback,
	    strlen(secret_callback));
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 65, h, sizeof(h));
	sodium_memzero(&st, sizeof(st));
}

/* A well-formed token: 43 characters of base64url. Anything else is
 * refused like an unknown token. */
static int
token_ok(const char *t)
{
	size_t	 n = strlen(t);

	if (n != PROV_TOKEN_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_'))
			return 0;
	return 1;
}

static void
sudo_ad(char *out, size_t sz, long long server_id)
{
	snprintf(out, sz, "server_secrets:%lld:sudo_password:v%d", server_id, KEYVER);
}

static void
note(struct db *db, long long server_id, const char *event, const char *addr,
    const char *detail)
{
	char		 sid[24];
	const char	*p[] = { server_id ? sid : NULL, event, addr, detail };
	PGresult	*res;

	snprintf(sid, sizeof(sid), "%lld", server_id);
	if ((res = db_exec(db, ST_PROV_LOG, NP(p), p)) != NULL)
		PQclear(res);
	if (strcmp(event, "fetch_refused") == 0 || strcmp(event, "callback_refused") == 0)
		log_warnx("provision: %s from %s (%s)", event, addr ? addr : "?",
		    detail ? detail : "");
	else
		log_info("provision: %s for server %lld from %s", event, server_id,
		    addr ? addr : "?");
}

int
prov_issue(struct db *db, const struct keys *k,
    long long server_id, long ttl_min, char secret_token[PROV_TOKEN_LEN + 1],
    char secret_sudo[PROV_SUDO_LEN + 1])
{
	char			 hash[65], sid[24], ttl[24], ad[96], kv[8];
	char			*sealed = NULL;
	struct row_id	 id;
	PGresult		*res = NULL;
	int			 rc = -1;

	sec_random_b64(secret_token, PROV_TOKEN_LEN + 1, 32);
	sec_random_b64(secret_sudo, PROV_SUDO_LEN + 1, 24);
	token_hash(hash, k, secret_token);
	snprintf(sid, sizeof(sid), "%lld", server_id);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_min > 0 ? ttl_min : PROV_TTL_MIN);
	snprintf(kv, sizeof(kv), "%d", KEYVER);
	sudo_ad(ad, sizeof(ad), server_id);
	/* Sealed with the provisioning subkey, which the web workers hold:
	 * they open it once, to render the script, and erase it. */
	if (sec_seal_b64(&sealed, k->prov, KEYVER, ad, secret_sudo,
	    strlen(secret_sudo)) == -1 || db_tx_begin(db) == -1)
		goto out;
	{
		const char *p[] = { sid, hash, ttl };
		if (row_get(db, &row_id_t, ST_PROV_ISSUE, NP(p), p, &id) != 1)
			goto rollback;
	}
	{
		const char *p[] = { sid, sealed, kv };
		if ((res = db_exec(db, ST_PROV_SUDO_PUT, NP(p), p)) == NULL)
			goto rollback;
		PQclear(res);
	}
	res = NULL;
	if (db_tx_commit(db) == -1)
		goto out;
	note(db, server_id, "issued", NULL, NULL);
	rc = 0;
	goto out;
rollback:
	db_tx_rollback(db);
out:
	PQclear(res);
	free(sealed);
	if (rc == -1) {
		sodium_memzero(secret_token, PROV_TOKEN_LEN + 1);
		sodium_memzero(secret_sudo, PROV_SUDO_LEN + 1);
	}
	return rc;
}

/* The public key next to the management key's private file: its first
 * line, which must be an ed25519 key. out is a string on every return (an
 * empty file leaves fgets() nothing to write). */
static int
mgmt_pubkey(const struct config *cfg, char *out, size_t sz)
{
	char	 path[1024];
	FILE	*f;
	int	 ok;

	out[0] = '\0';
	if (cfg->ssh_key_file == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s.pub", cfg->ssh_key_file);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(out, (int)sz, f) != NULL;
	fclose(f);
	if (!ok) {
		out[0] = '\0';
		return -1;
	}
	out[strcspn(out, "\r\n")] = '\0';
	return strncmp(out, "ssh-ed25519 ", 12) == 0 ? 0 : -1;
}

/* A PEM file's text, or "" when path is NULL or unreadable. */
static char *
slurp_pem(const char *path)
{
	FILE	*f;
	char	*s = calloc(1, 16384);
	size_t	 n = 0;

	if (s == NULL)
		return NULL;
	if (path != NULL && (f = fopen(path, "r")) != NULL) {
		n = fread(s, 1, 16383, f);
		fclose(f);
	}
	/* Without trailing newlines, as lib/domain/reg.c renders it: the scripts
	 * write it with one, and compare what they find with that. */
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	s[n] = '\0';
	if (strstr(s, "-----BEGIN CERTIFICATE-----") == NULL)
		s[0] = '\0';
	return s;
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

int
prov_render(struct buf *out, const struct prov_script *v)
{
	size_t	 start = out->len;

	/* Nothing but fixed text outside the assignments: a value in a
	 * comment would end it at its first newline. */
	if (buf_puts(out, "#!/bin/bash\n# Keystone: a server's one-time "
	    "provisioning (this script removes itself)\n") == -1 ||
	    shq_assign(out, "SERVER_NAME", nz(v->server_name)) == -1 ||
	    shq_assign(out, "KEYSTONE_URL", nz(v->keystone_url)) == -1 ||
	    shq_assign(out, "CALLBACK_SECRET", nz(v->secret_callback)) == -1 ||
	    shq_assign(out, "MGMT_PUBKEY", nz(v->mgmt_pubkey)) == -1 ||
	    shq_assign(out, "SUDO_PASSWORD", nz(v->secret_sudo)) == -1 ||
	    shq_assign(out, "CA_PEM", nz(v->ca_pem)) == -1 ||
	    shq_assign(out, "REG_HOST", nz(v->reg_host)) == -1 ||
	    shq_assign(out, "REG_CA_PEM", nz(v->reg_ca_pem)) == -1 ||
	    shq_assign(out, "DAEMON_JSON", nz(v->daemon_json)) == -1 ||
	    shq_assign(out, "BUILD_ROLE", v->role_build ? "1" : "0") == -1 ||
	    buf_puts(out, script_provision) == -1) {
		/* What was written held secrets. */
		if (out->ptr != NULL) {
			sodium_memzero(out->ptr + start, out->cap - start);
			out->len = start;
		}
		return -1;
	}
	return 0;
}

int
prov_exchange(struct db *db, const struct config *cfg,
    const struct keys *k, const char *secret_token,
    const char *addr, struct buf *out)
{
	char			 hash[65], cbhash[65], ad[96], pub[1024], sid[24];
	char			 secret_callback[PROV_TOKEN_LEN + 1];
	const char		*p[2];
	struct token_row	 t;
	struct sealed_row	 sd;
	struct buf		 pw;
	struct reg		 r;
	struct prov_script	 v;
	char			*ca = NULL, *regca = NULL;
	long long		 server_id = 0;
	int			 rc = -1, have_reg, found;

	buf_init(&pw);
	memset(&v, 0, sizeof(v));
	memset(&t, 0, sizeof(t));
	memset(&sd, 0, sizeof(sd));
	memset(&r, 0, sizeof(r));
	sec_random_b64(secret_callback, sizeof(secret_callback), 32);
	if (!token_ok(secret_token)) {
		note(db, 0, "fetch_refused", addr, "malformed token");
		rc = 0;
		goto out;
	}
	/* The token first: before it is known to be valid, nothing else is
	 * read (files included), and every bad one gets the same refusal. */
	token_hash(hash, k, secret_token);
	callback_hash(cbhash, k, secret_callback);
	p[0] = hash;
	p[1] = cbhash;
	if (db_tx_begin(db) == -1)
		goto out;
	/* One fetch per token: the script carries the sudo password. */
	if ((found = row_get(db, &token_t, ST_PROV_EXCHANGE, 2, p, &t)) == -1)
		goto rollback;
	if (found == 0) {
		db_tx_rollback(db);
		note(db, 0, "fetch_refused", addr, "unknown, used, revoked or expired token");
		rc = 0;
		goto out;
	}
	server_id = t.server_id;
	/* A failure from here on is Keystone's: rolled back, the token and
	 * the sealed password stay for another try. */
	if (mgmt_pubkey(cfg, pub, sizeof(pub)) == -1) {
		log_warnx("provision: server %lld: no ed25519 public key at "
		    "ssh_key_file.pub; the script is not rendered", server_id);
		goto rollback;
	}
	snprintf(sid, sizeof(sid), "%lld", server_id);
	p[0] = sid;
	/* Taken out of the database as it is rendered. */
	if (row_get(db, &sealed_t, ST_PROV_SUDO_TAKE, 1, p, &sd) != 1)
		goto rollback;
	sudo_ad(ad, sizeof(ad), server_id);
	if (sec_open_b64(&pw, k->prov, ad, sd.sealed) == -1) {
		log_warnx("provision: server %lld: the sudo password does not open",
		    server_id);
		goto rollback;
	}
	if ((have_reg = reg_load(db, &r)) == -1)
		goto rollback;
	ca = slurp_pem(cfg->provision_ca_file);
	regca = slurp_pem(have_reg && cfg->registry_tls != NULL &&
	    strcmp(cfg->registry_tls, "internal") == 0 ? cfg->registry_ca_file : NULL);
	if (ca == NULL || regca == NULL)
		goto rollback;
	v.server_name = t.name;
	v.keystone_url = cfg->base_url;
	v.mgmt_pubkey = pub;
	v.secret_callback = secret_callback;
	v.secret_sudo = pw.ptr;
	v.ca_pem = ca;
	v.reg_host = have_reg ? r.hostname : "";
	v.reg_ca_pem = regca;
	v.daemon_json = cfg->provision_daemon_json;
	v.role_build = t.role_build == 1;
	if (prov_render(out, &v) == -1) {
		log_warnx("provision: server %lld: the script cannot be rendered "
		    "(a value is not valid UTF-8)", server_id);
		goto rollback;
	}
	if (db_tx_commit(db) == -1)
		goto out;
	note(db, server_id, "fetched", addr, NULL);
	rc = 1;
	goto out;
rollback:
	db_tx_rollback(db);
out:
	row_unfill(&token_t, &t);
	row_unfill(&sealed_t, &sd);
	reg_free(&r);
	free(ca);
	free(regca);
	if (pw.ptr != NULL)
		sodium_memzero(pw.ptr, pw.cap);
	buf_release(&pw);
	sodium_memzero(secret_callback, sizeof(secret_callback));
	return rc;
}

void
prov_callback_refused(struct db *db, const char *addr, const char *detail)
{
	note(db, 0, "callback_refused", addr, detail);
}

int
prov_callback(struct db *db, const struct keys *k,
    const char *secret_callback, const char *addr, const char *host_key,
    const char *facts, long long *server_id)
{
	char			 hash[65], fp[128];
	const char		*p[4];
	struct callback_row	 cb;
	struct row_id	 id;
	int			 rc = -1, found;

	*server_id = 0;
	/* (The same shape as a token: 256 random bits in base64url.) */
	if (secret_callback == NULL || !token_ok(secret_callback)) {
		note(db, 0, "callback_refused", addr, secret_callback == NULL ||
		    secret_callback[0] == '\0' ? "no callback secret" :
		    "malformed callback secret");
		return 0;
	}
	if (strncmp(host_key, "ssh-ed25519 ", 12) != 0 ||
	    ssh_fingerprint(host_key, fp, sizeof(fp)) == -1) {
		note(db, 0, "callback_refused", addr, "malformed host key");
		return 0;
	}
	callback_hash(hash, k, secret_callback);
	p[0] = hash;
	if (db_tx_begin(db) == -1)
		return -1;
	/* Atomic and single-use: of two racing callbacks one gets the row. */
	if ((found = row_get(db, &callback_t, ST_PROV_USE, 1, p, &cb)) == -1)
		goto rollback;
	if (found == 0) {
		db_tx_rollback(db);
		note(db, 0, "callback_refused", addr,
		    "unknown, used, revoked or expired callback secret");
		return 0;
	}
	*server_id = cb.server_id;
	{
		char sid[24];
		snprintf(sid, sizeof(sid), "%lld", *server_id);
		p[0] = sid;
		p[1] = host_key;
		p[2] = fp;
		p[3] = facts;
		if (row_get(db, &row_id_t, ST_PROV_ACTIVATE, 4, p, &id) != 1)
			goto rollback;
	}
	if (db_tx_commit(db) == -1)
		goto out;
	note(db, *server_id, "callback", addr, fp);
	rc = 1;
	goto out;
rollback:
	db_tx_rollback(db);
out:
	return rc;
}

int
prov_after(struct db *db, const struct config *cfg,
    const struct keys *k, long long server_id)
{
	static const char verify[] =
	    "set -eu\n"
	    "docker info --format 'Docker {{.ServerVersion}} on {{.OperatingSystem}}'\n"
	    "df -Ph / | awk 'NR == 2 { print \"disk: \" $4 \" free of \" $2 }'\n"
	    "id\n";
	struct op_step_in step;
	struct op_in	 in;
	struct plan	*pl;
	char		 err[256];
	struct reg	 r;
	int		 v, rc = -1;

	memset(&step, 0, sizeof(step));
	memset(&in, 0, sizeof(in));
	step.name = "Verify: SSH with the pinned key, Docker, disk";
	step.target = "specific_server";
	step.server_id = server_id;
	step.script = verify;
	step.idempotent = 1;
	step.timeout_s = 120;
	in.kind = "verify";
	in.subject_type = "server";
	in.subject_id = server_id;
	if ((pl = plan_new()) == NULL)
		return -1;
	if ((v = plan_op(pl, &in)) == -1)
		goto out;
	(void)plan_step(pl, v, &step);
	/* The registry sign-in after the verification, in the same
	 * transaction; without it the verification is still queued. */
	if (reg_load(db, &r) == 1 && strcmp(r.state, "missing") != 0 &&
	    reg_plan_auth_into(pl, db, cfg, server_id, 0, v, err,
	    sizeof(err)) == -1)
		log_warnx("provision: server %lld: registry sign-in not queued: %s",
		    server_id, err[0] ? err : "database error");
	reg_free(&r);
	rc = plan_commit(db, pl, k);
out:
	plan_free(pl);
	return rc;
}
