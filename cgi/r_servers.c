/*
 * Servers: list, create, show, edit, delete.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "db.h"
#include "hostkey.h"
#include "model.h"
#include "prov.h"

static int provision_post(struct req *);
static int hostkey_get(struct req *);
static int hostkey_check_post(struct req *);
static int hostkey_post(struct req *);
static int servers_created(struct req *, const char *);
static int servers_more(struct req *, cJSON *);
static int servers_save(struct db *, const char *, const struct input *,
    char[40]);

/* Pinning names the check whose result the user confirmed. */
static const struct field hostkey_fields[] = {
	{ "op", FT_UUID, FF_REQ, 0, 0, NULL },
	{ "fingerprint", FT_TEXT, FF_REQ, 0, 100, NULL },
};
static const struct field hostkey_query[] = {
	{ "op", FT_UUID, 0, 0, 0, NULL },
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
	"environments", m_server_envs_view, servers_created, NULL, servers_more,
	NULL,
};

const struct route server_routes[] = {
	RES_ROUTES("/servers", &servers, server_fields, NFIELDS, list_query,
	    sizeof(list_query) / sizeof(list_query[0])),
	{ "GET", "/servers/:uuid/hostkey", hostkey_get, NULL, 0, 0, hostkey_query,
	    1, NULL },
	{ "POST", "/servers/:uuid/hostkey", hostkey_post, hostkey_fields, 2, 0,
	    NULL, 0, NULL },
	{ "POST", "/servers/:uuid/hostkey/check", hostkey_check_post, NULL, 0, 0,
	    NULL, 0, NULL },
	{ "POST", "/servers/:uuid/provision", provision_post, NULL, 0, 0, NULL, 0,
	    NULL },
};
const size_t server_nroutes = sizeof(server_routes) / sizeof(server_routes[0]);

/* A build server's page shows its health as a build node. */
static int
servers_more(struct req *r, cJSON *m)
{
	struct server_row s;
	int		 rc = 0;

	/* The server's typed row (the page's model is for the template). */
	if (m_server_get(&r->app->db, r->params[0], &s) != 1)
		return -1;
	if (s.role_build && build_node_add(r, m, s.id) == NULL)
		rc = -1;
	server_row_free(&s);
	return rc;
}

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

/*
 * The host key page of a server (?op=UUID: with that check's result). A
 * server added by hand gets its host key pinned by an explicit act: the
 * page's check is an operation (lib/hostkey.h: no web request connects to
 * a server) whose result, the fingerprint of the key the server offers,
 * the page shows once it ends (refreshing itself until then); the user
 * compares it with the server's own (ssh-keygen -lf
 * /etc/ssh/ssh_host_ed25519_key.pub) and confirms. Nothing is trusted on
 * first use. error: a refusal to show above it.
 */
static int
hostkey_page(struct req *r, int status, const struct server_row *s,
    const struct hostkey_scan *h, const char *error)
{
	struct hk_result res;
	cJSON		*m;
	const char	*pinned = s->host_key_sha256;

	if ((m = model_new("Host key", "servers")) == NULL)
		return 500;
	cJSON_AddItemToObject(m, "server", server_row_view(s));
	if (error != NULL)
		cJSON_AddStringToObject(m, "error", error);
	/* op_uuid and checking are always set: the template opens their
	 * NO_ sections, which an absent key does not show. */
	if (h == NULL) {
		cJSON_AddNullToObject(m, "op_uuid");
		cJSON_AddNullToObject(m, "checking");
	} else {
		hk_result(h, s, &res);
		cJSON_AddStringToObject(m, "op_uuid", h->uuid);
		if (res.state != HK_WAITING)
			cJSON_AddNullToObject(m, "checking");
		switch (res.state) {
		case HK_WAITING:
			cJSON_AddStringToObject(m, "checking", h->status);
			/* Without JavaScript; with it, static/ops.js reloads
			 * the page when the operation ends. */
			cJSON_AddStringToObject(m, "refresh", "2");
			break;
		case HK_FAILED:
			cJSON_AddStringToObject(m, "failed", res.reason);
			break;
		case HK_FOUND:
			cJSON_AddStringToObject(m, "offered", res.fp);
			cJSON_AddBoolToObject(m, "matches", pinned != NULL &&
			    strcmp(pinned, res.fp) == 0);
			cJSON_AddBoolToObject(m, "differs", pinned != NULL &&
			    strcmp(pinned, res.fp) != 0);
			break;
		}
	}
	(void)page(r, status, "server_hostkey", m);	/* -1: logged */
	return 0;
}

static int
hostkey_get(struct req *r)
{
	struct server_row	 s;
	struct hostkey_scan	 h;
	const char		*op = req_query(r, "op");
	int			 rc;

	memset(&h, 0, sizeof(h));
	if (r->q.errs.n > 0)
		return 400;
	if ((rc = found(m_server_get(&r->app->db, r->params[0], &s))) != 0)
		return rc;
	if (op != NULL && (rc = found(m_hostkey_scan(&r->app->db, s.uuid, op,
	    HK_FRESH_MIN, &h))) != 0)
		goto out;
	rc = hostkey_page(r, 200, &s, op != NULL ? &h : NULL, NULL);
out:
	hostkey_scan_free(&h);
	server_row_free(&s);
	return rc;
}

/* "Check": queues the check, then shows the page that waits for it. */
static int
hostkey_check_post(struct req *r)
{
	struct server_row s;
	char		 uuid[40], loc[128];
	int		 rc;

	if ((rc = found(m_server_get(&r->app->db, r->params[0], &s))) != 0)
		return rc;
	rc = 500;
	if (hk_queue(&r->app->db, &r->app->cfg, &r->app->keys, &s, r->user_id,
	    uuid) == -1)
		goto out;
	snprintf(loc, sizeof(loc), "/servers/%s/hostkey?op=%s", s.uuid, uuid);
	(void)redirect(r, loc);
	rc = 0;
out:
	server_row_free(&s);
	return rc;
}

/*
 * "Pin this key": pins the key the check (op) found, only if that is the
 * fingerprint the user confirmed, the check is of this server as it is now
 * and recent. The key itself is read from the stored check, never taken
 * from the form.
 */
static int
hostkey_post(struct req *r)
{
	struct server_row	 s;
	struct hostkey_scan	 h;
	struct hk_result	 res;
	char			 msg[700], loc[80];
	const char		*want = input_get(&r->in, "fingerprint");
	const char		*op = input_get(&r->in, "op");
	int			 rc;

	memset(&h, 0, sizeof(h));
	if ((rc = found(m_server_get(&r->app->db, r->params[0], &s))) != 0)
		return rc;
	if (r->invalid) {
		rc = hostkey_page(r, 400, &s, NULL, "Nothing pinned: the form "
		    "names no check and fingerprint.");
		goto out;
	}
	if ((rc = m_hostkey_scan(&r->app->db, s.uuid, op, HK_FRESH_MIN,
	    &h)) != 1) {
		rc = rc == -1 ? 500 : hostkey_page(r, 400, &s, NULL, "Nothing "
		    "pinned: that is no check of this server's host key.");
		goto out;
	}
	hk_result(&h, &s, &res);
	if (res.state != HK_FOUND) {
		snprintf(msg, sizeof(msg), "Nothing pinned: %s.", res.state ==
		    HK_WAITING ? "the check has not ended yet" : res.reason);
		rc = hostkey_page(r, 409, &s, &h, msg);
		goto out;
	}
	if (strcmp(want, res.fp) != 0) {
		snprintf(msg, sizeof(msg), "Nothing pinned: the check found %s, "
		    "not the key you confirmed.", res.fp);
		rc = hostkey_page(r, 409, &s, &h, msg);
		goto out;
	}
	rc = 500;
	if (m_server_pin(&r->app->db, s.uuid, res.key, res.fp) == -1)
		goto out;
	snprintf(loc, sizeof(loc), "/servers/%s", s.uuid);
	(void)flash_redirect(r, "ok", "Host key pinned.", loc);
	rc = 0;
out:
	hostkey_scan_free(&h);
	server_row_free(&s);
	return rc;
}
