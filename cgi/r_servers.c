/*
 * Servers: list, create, show, edit, delete.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "prov.h"
#include "db.h"
#include "model.h"
#include "ssh.h"

static int provision_post(struct req *);
static int hostkey_get(struct req *);
static int hostkey_post(struct req *);
static int servers_created(struct req *, const char *);
static int servers_save(struct db *, const char *, const struct input *,
    char[40]);

static const struct field hostkey_fields[] = {
	{ "fingerprint", FT_TEXT, FF_REQ, 0, 100, NULL },
};

/* Creation also asks whether to connect the server with a one-time
 * provisioning command (an existing server) at once. */
static const struct field server_fields[] = {
	{ "name", FT_NAME, FF_REQ, 0, 0, NULL },
	{ "address", FT_HOST, FF_REQ, 0, 0, NULL },
	{ "ssh_port", FT_PORT, FF_REQ, 0, 0, NULL },
	{ "ssh_user", FT_UNIXUSER, FF_REQ, 0, 0, NULL },
	{ "role_build", FT_BOOL, 0, 0, 0, NULL },
	{ "role_runtime", FT_BOOL, 0, 0, 0, NULL },
	{ "connect", FT_BOOL, FF_CREATE, 0, 0, NULL },
};
#define NFIELDS	(sizeof(server_fields) / sizeof(server_fields[0]))

static const struct field list_query[] = {
	QUERY_SORT(m_server_sorts),
	QUERY_PAGE,
};

static const struct fdefault defaults[] = {
	{ "ssh_port", "22" }, { "ssh_user", "keystone" },
	{ "role_runtime", "true" }, { "role_build", "false" }, { NULL, NULL },
};

static const struct refusal refusals[] = {
	{ "servers_name_key", "name", "is already used by another server" },
	{ "servers_address_ssh_port_key", "address",
	    "already has a server on this SSH port" },
	{ NULL, NULL, NULL },
};

static const struct resource servers = {
	"/servers", "servers", "server", "servers",
	"Servers", "Add server", "Edit server", "Delete server",
	"servers", "server_form", "server_show", "server_delete",
	"Server added.", "Server saved.", "Server deleted.",
	"This server is used by an environment; remove it there first.",
	server_fields, NFIELDS, defaults, refusals,
	m_server_list_view, m_server_view, servers_save, m_server_delete,
	"environments", m_server_envs_view, servers_created,
};

const struct route server_routes[] = {
	RES_ROUTES("/servers", &servers, server_fields, NFIELDS, list_query,
	    sizeof(list_query) / sizeof(list_query[0])),
	{ "GET", "/servers/:uuid/hostkey", hostkey_get, NULL, 0, 0, NULL, 0, NULL },
	{ "POST", "/servers/:uuid/hostkey", hostkey_post, hostkey_fields, 1, 0,
	    NULL, 0, NULL },
	{ "POST", "/servers/:uuid/provision", provision_post, NULL, 0, 0, NULL, 0,
	    NULL },
};
const size_t server_nroutes = sizeof(server_routes) / sizeof(server_routes[0]);

static int
servers_save(struct db *db, const char *uuid, const struct input *in,
    char out[40])
{
	struct server_in s = { input_get(in, "name"), input_get(in, "address"),
	    input_get(in, "ssh_port"), input_get(in, "ssh_user"),
	    input_get(in, "role_build"), input_get(in, "role_runtime") };

	return uuid == NULL ? m_server_insert(db, &s, out) :
	    m_server_update(db, uuid, &s);
}

/*
 * Answers with a new one-time provisioning command (and a new sudo
 * password) for the server uuid, shown on this answer only: neither is
 * stored in a form anyone can read back (the token as a keyed hash, the
 * password sealed until the script is fetched). Older commands stop
 * working.
 */
static int
show_command(struct req *r, const char *uuid, const char *title)
{
	struct server_row s;
	char		 tok[PROV_TOKEN_LEN + 1], sudo[PROV_SUDO_LEN + 1];
	char		 cmd[512];
	cJSON		*m = NULL, *v;
	int		 rc;

	if ((rc = found(m_server_get(&r->app->db, uuid, &s))) != 0)
		return rc;
	rc = 500;
	if (prov_issue(&r->app->db, &r->app->keys, s.id, PROV_TTL_MIN, tok,
	    sudo) == -1)
		goto out;
	snprintf(cmd, sizeof(cmd), "curl -fsSL%s %s/provision/%s | sudo bash",
	    r->app->cfg.provision_ca_file != NULL ? " --cacert keystone-ca.crt" : "",
	    r->app->cfg.base_url, tok);
	if ((m = model_new(title, "servers")) == NULL ||
	    (v = server_row_view(&s)) == NULL)
		goto out;
	cJSON_AddItemToObject(m, "server", v);
	cJSON_AddStringToObject(m, "command", cmd);
	cJSON_AddStringToObject(m, "sudo_password", sudo);
	cJSON_AddNumberToObject(m, "ttl_min", PROV_TTL_MIN);
	if (r->app->cfg.provision_ca_file != NULL)
		cJSON_AddStringToObject(m, "ca_file", r->app->cfg.provision_ca_file);
	rc = page(r, 200, "server_provision", m);
	m = NULL;
	if (rc == -1)
		rc = 0;
out:
	cJSON_Delete(m);
	server_row_free(&s);
	sodium_memzero(tok, sizeof(tok));
	sodium_memzero(sudo, sizeof(sudo));
	sodium_memzero(cmd, sizeof(cmd));
	return rc;
}

/* "Connect with a one-time command" on an existing server's page. */
static int
provision_post(struct req *r)
{
	return show_command(r, r->params[0], "Connect a server");
}

static int
servers_created(struct req *r, const char *uuid)
{
	if (strcmp(input_get(&r->in, "connect"), "true") != 0)
		return RES_PASS;
	return show_command(r, uuid, "Server added: connect it");
}

/* The key the server offers now ("TYPE BASE64") and its fingerprint. */
static int
offered(struct req *r, const struct server_row *s, char *key, size_t keysz,
    char *fp, size_t fpsz, char *err, size_t errsz)
{
	return ssh_offered_hostkey(s->address, (int)s->ssh_port,
	    r->app->cfg.ssh_connect_timeout, key, keysz, fp, fpsz, err, errsz);
}

/*
 * A server added by hand gets its host key pinned by an explicit act: this
 * page shows the fingerprint the server offers; the user compares it with
 * the server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and
 * confirms. Nothing is trusted on first use.
 */
static int
hostkey_get(struct req *r)
{
	struct server_row s;
	cJSON		*m = NULL;
	char		 key[2048], fp[80], err[512];
	const char	*pinned;
	int		 rc;

	if ((rc = found(m_server_get(&r->app->db, r->params[0], &s))) != 0)
		return rc;
	rc = 500;
	if ((m = model_new("Host key", "servers")) == NULL)
		goto out;
	pinned = s.host_key_sha256;
	if (offered(r, &s, key, sizeof(key), fp, sizeof(fp), err, sizeof(err)) == -1)
		cJSON_AddStringToObject(m, "error", err);
	else {
		cJSON_AddStringToObject(m, "offered", fp);
		cJSON_AddBoolToObject(m, "matches", pinned != NULL &&
		    strcmp(pinned, fp) == 0);
		cJSON_AddBoolToObject(m, "differs", pinned != NULL &&
		    strcmp(pinned, fp) != 0);
	}
	cJSON_AddItemToObject(m, "server", server_row_view(&s));
	rc = page(r, 200, "server_hostkey", m);
	m = NULL;
out:
	cJSON_Delete(m);
	server_row_free(&s);
	return rc;
}

static int
hostkey_post(struct req *r)
{
	struct server_row s;
	char		 key[2048], fp[80], err[512], msg[700], loc[80];
	const char	*want = input_get(&r->in, "fingerprint");
	int		 rc;

	if ((rc = found(m_server_get(&r->app->db, r->params[0], &s))) != 0)
		return rc;
	snprintf(loc, sizeof(loc), "/servers/%s", r->params[0]);
	rc = offered(r, &s, key, sizeof(key), fp, sizeof(fp), err, sizeof(err));
	server_row_free(&s);
	if (rc == -1) {
		snprintf(msg, sizeof(msg), "Nothing pinned: %s", err);
		return flash_redirect(r, "error", msg, loc);
	}
	/* Pin only what the user saw: the key must still be that one. */
	if (r->invalid || want == NULL || strcmp(want, fp) != 0) {
		snprintf(msg, sizeof(msg), "Nothing pinned: the server now offers "
		    "%s, not the key you confirmed.", fp);
		return flash_redirect(r, "error", msg, loc);
	}
	if (m_server_pin(&r->app->db, r->params[0], key, fp) == -1)
		return 500;
	return flash_redirect(r, "ok", "Host key pinned.", loc);
}
