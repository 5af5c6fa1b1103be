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

static int list_get(struct req *);
static int provision_post(struct req *);
static int new_get(struct req *);
static int create_post(struct req *);
static int show_get(struct req *);
static int edit_get(struct req *);
static int update_post(struct req *);
static int delete_get(struct req *);
static int delete_post(struct req *);
static int hostkey_get(struct req *);
static int hostkey_post(struct req *);

static const struct field hostkey_fields[] = {
	{ "fingerprint", FT_TEXT, FF_REQ, 0, 100, NULL },
};

static const struct field server_fields[] = {
	{ "name", FT_NAME, FF_REQ, 0, 0, NULL },
	{ "address", FT_HOST, FF_REQ, 0, 0, NULL },
	{ "ssh_port", FT_PORT, FF_REQ, 0, 0, NULL },
	{ "ssh_user", FT_UNIXUSER, FF_REQ, 0, 0, NULL },
	{ "role_build", FT_BOOL, 0, 0, 0, NULL },
	{ "role_runtime", FT_BOOL, 0, 0, 0, NULL },
};
#define NFIELDS	(sizeof(server_fields) / sizeof(server_fields[0]))
/* Creation also asks whether to connect the server with a one-time
 * provisioning command (an existing server) at once. */
static const struct field create_fields[] = {
	{ "name", FT_NAME, FF_REQ, 0, 0, NULL },
	{ "address", FT_HOST, FF_REQ, 0, 0, NULL },
	{ "ssh_port", FT_PORT, FF_REQ, 0, 0, NULL },
	{ "ssh_user", FT_UNIXUSER, FF_REQ, 0, 0, NULL },
	{ "role_build", FT_BOOL, 0, 0, 0, NULL },
	{ "role_runtime", FT_BOOL, 0, 0, 0, NULL },
	{ "connect", FT_BOOL, 0, 0, 0, NULL },
};

const struct route server_routes[] = {
	{ "GET", "/servers", list_get, NULL, 0, 0 },
	{ "GET", "/servers/new", new_get, NULL, 0, 0 },
	{ "POST", "/servers", create_post, create_fields,
	    sizeof(create_fields) / sizeof(create_fields[0]), 0 },
	{ "GET", "/servers/:uuid", show_get, NULL, 0, 0 },
	{ "GET", "/servers/:uuid/edit", edit_get, NULL, 0, 0 },
	{ "POST", "/servers/:uuid", update_post, server_fields, NFIELDS, 0 },
	{ "GET", "/servers/:uuid/delete", delete_get, NULL, 0, 0 },
	{ "POST", "/servers/:uuid/delete", delete_post, NULL, 0, 0 },
	{ "GET", "/servers/:uuid/hostkey", hostkey_get, NULL, 0, 0 },
	{ "POST", "/servers/:uuid/hostkey", hostkey_post, hostkey_fields, 1, 0 },
	{ "POST", "/servers/:uuid/provision", provision_post, NULL, 0, 0 },
};
const size_t server_nroutes = sizeof(server_routes) / sizeof(server_routes[0]);

static const char *const sorts[] = { "name", "-name", "address", "-address",
	"status", "-status", "created", "-created", NULL };

/*
 * Answers with a new one-time provisioning command (and a new sudo
 * password) for the server s (taken), shown on this answer only: neither
 * is stored in a form anyone can read back (the token as a keyed hash,
 * the password sealed until the script is fetched). Older commands stop
 * working.
 */
static int
show_command(struct req *r, cJSON *s, const char *title)
{
	char		 tok[PROV_TOKEN_LEN + 1], sudo[PROV_SUDO_LEN + 1];
	char		 cmd[512];
	cJSON		*m = NULL;
	int		 rc = 500;

	if (prov_issue(&r->app->db, &r->app->keys, (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItem(s, "id")), PROV_TTL_MIN, tok, sudo) == -1) {
		cJSON_Delete(s);
		return 500;
	}
	snprintf(cmd, sizeof(cmd), "curl -fsSL%s %s/provision/%s | sudo bash",
	    r->app->cfg.provision_ca_file != NULL ? " --cacert keystone-ca.crt" : "",
	    r->app->cfg.base_url, tok);
	if ((m = model_new(title, "servers")) == NULL) {
		cJSON_Delete(s);
		goto out;
	}
	cJSON_AddItemToObject(m, "server", s);
	cJSON_AddStringToObject(m, "command", cmd);
	cJSON_AddStringToObject(m, "sudo_password", sudo);
	cJSON_AddNumberToObject(m, "ttl_min", PROV_TTL_MIN);
	if (r->app->cfg.provision_ca_file != NULL)
		cJSON_AddStringToObject(m, "ca_file", r->app->cfg.provision_ca_file);
	rc = page(r, 200, "server_provision", m);
	if (rc == -1)
		rc = 0;
out:
	sodium_memzero(tok, sizeof(tok));
	sodium_memzero(sudo, sizeof(sudo));
	sodium_memzero(cmd, sizeof(cmd));
	return rc;
}

/* "Connect with a one-time command" on an existing server's page. */
static int
provision_post(struct req *r)
{
	cJSON	*s = NULL;
	int	 rc;

	if ((rc = fetch(r, m_server_get, r->params[0], &s)) != 0)
		return rc;
	return show_command(r, s, "Connect a server");
}

static int
list_get(struct req *r)
{
	const char	*sort = req_sort(r, sorts, "name");
	long		 pg = req_page(r), total = 0;
	cJSON		*m = model_new("Servers", "servers"), *rows;

	if (m == NULL)
		return 500;
	rows = m_server_list(&r->app->db, sort, APP_PAGE_SIZE,
	    (pg - 1) * APP_PAGE_SIZE, &total);
	if (rows == NULL) {
		cJSON_Delete(m);
		return 500;
	}
	cJSON_AddItemToObject(m, "servers", rows);
	cJSON_AddStringToObject(m, "sort", sort);
	model_pager(m, "/servers", sort, pg, total);
	return page(r, 200, "servers", m);
}

/* The form page for create (uuid NULL) or edit; values from cur (a stored
 * server) or from the submitted form. */
static int
form_page(struct req *r, int status, const char *uuid, const cJSON *cur)
{
	cJSON	*m = model_new(uuid ? "Edit server" : "Add server", "servers");

	if (m == NULL)
		return 500;
	cJSON_AddBoolToObject(m, "editing", uuid != NULL);
	if (uuid != NULL)
		cJSON_AddStringToObject(m, "uuid", uuid);
	if (cur != NULL) {
		cJSON_AddStringToObject(m, "v_name", cJSON_GetStringValue(
		    cJSON_GetObjectItem(cur, "name")));
		cJSON_AddStringToObject(m, "v_address", cJSON_GetStringValue(
		    cJSON_GetObjectItem(cur, "address")));
		cJSON_AddNumberToObject(m, "v_ssh_port", cJSON_GetNumberValue(
		    cJSON_GetObjectItem(cur, "ssh_port")));
		cJSON_AddStringToObject(m, "v_ssh_user", cJSON_GetStringValue(
		    cJSON_GetObjectItem(cur, "ssh_user")));
		cJSON_AddBoolToObject(m, "v_role_build", cJSON_IsTrue(
		    cJSON_GetObjectItem(cur, "role_build")));
		cJSON_AddBoolToObject(m, "v_role_runtime", cJSON_IsTrue(
		    cJSON_GetObjectItem(cur, "role_runtime")));
	} else if (strcmp(r->method, "POST") == 0) {
		if (uuid == NULL)
			model_form(m, r, create_fields,
			    sizeof(create_fields) / sizeof(create_fields[0]));
		else
			model_form(m, r, server_fields, NFIELDS);
	} else {
		cJSON_AddStringToObject(m, "v_ssh_port", "22");
		cJSON_AddStringToObject(m, "v_ssh_user", "keystone");
		cJSON_AddTrueToObject(m, "v_role_runtime");
		cJSON_AddFalseToObject(m, "v_role_build");
	}
	return page(r, status, "server_form", m);
}

static void
server_in(const struct req *r, struct server_in *s)
{
	s->name = input_get(&r->in, "name");
	s->address = input_get(&r->in, "address");
	s->ssh_port = input_get(&r->in, "ssh_port");
	s->ssh_user = input_get(&r->in, "ssh_user");
	s->role_build = input_get(&r->in, "role_build");
	s->role_runtime = input_get(&r->in, "role_runtime");
}

/* Maps a uniqueness refusal to the field a user can fix. */
static int
refused(struct req *r, const char *uuid)
{
	cJSON		*m = model_new(uuid ? "Edit server" : "Add server", "servers");
	const char	*c = db_constraint(&r->app->db);

	if (m == NULL)
		return 500;
	cJSON_AddBoolToObject(m, "editing", uuid != NULL);
	if (uuid != NULL)
		cJSON_AddStringToObject(m, "uuid", uuid);
	model_form(m, r, server_fields, NFIELDS);
	if (strcmp(c, "servers_name_key") == 0)
		model_field_error(m, "name", "is already used by another server");
	else if (strcmp(c, "servers_address_ssh_port_key") == 0)
		model_field_error(m, "address", "already has a server on this SSH port");
	else
		model_field_error(m, "name", "was refused by the database");
	return page(r, 422, "server_form", m);
}

static int
new_get(struct req *r)
{
	return form_page(r, 200, NULL, NULL);
}

static int
create_post(struct req *r)
{
	struct server_in s;
	char		 uuid[40], loc[80];
	int		 rc;

	if (r->invalid)
		return form_page(r, 422, NULL, NULL);
	server_in(r, &s);
	if ((rc = m_server_insert(&r->app->db, &s, uuid)) == 1)
		return refused(r, NULL);
	if (rc == -1)
		return 500;
	if (strcmp(input_get(&r->in, "connect"), "true") == 0) {
		cJSON *srv = NULL;
		if (m_server_get(&r->app->db, uuid, &srv) != 1)
			return 500;
		return show_command(r, srv, "Server added: connect it");
	}
	snprintf(loc, sizeof(loc), "/servers/%s", uuid);
	return flash_redirect(r, "ok", "Server added.", loc);
}

static int
show_get(struct req *r)
{
	cJSON	*m, *s = NULL, *envs;
	int	 rc;

	if ((rc = fetch(r, m_server_get, r->params[0], &s)) != 0)
		return rc;
	if ((m = model_new(cJSON_GetStringValue(cJSON_GetObjectItem(s, "name")),
	    "servers")) == NULL || (envs = m_server_envs(&r->app->db,
	    r->params[0])) == NULL) {
		cJSON_Delete(m);
		cJSON_Delete(s);
		return 500;
	}
	cJSON_AddItemToObject(m, "server", s);
	cJSON_AddItemToObject(m, "environments", envs);
	return page(r, 200, "server_show", m);
}

static int
edit_get(struct req *r)
{
	cJSON	*s = NULL;
	int	 rc;

	if ((rc = fetch(r, m_server_get, r->params[0], &s)) != 0)
		return rc;
	rc = form_page(r, 200, r->params[0], s);
	cJSON_Delete(s);
	return rc;
}

static int
update_post(struct req *r)
{
	struct server_in s;
	char		 loc[80];
	int		 rc;

	if ((rc = fetch(r, m_server_get, r->params[0], NULL)) != 0)
		return rc;
	if (r->invalid)
		return form_page(r, 422, r->params[0], NULL);
	server_in(r, &s);
	if ((rc = m_server_update(&r->app->db, r->params[0], &s)) == 1)
		return refused(r, r->params[0]);
	if (rc == -1)
		return 500;
	snprintf(loc, sizeof(loc), "/servers/%s", r->params[0]);
	return flash_redirect(r, "ok", "Server saved.", loc);
}

static int
delete_get(struct req *r)
{
	cJSON	*m, *s = NULL;
	int	 rc;

	if ((rc = fetch(r, m_server_get, r->params[0], &s)) != 0)
		return rc;
	if ((m = model_new("Delete server", "servers")) == NULL) {
		cJSON_Delete(s);
		return 500;
	}
	cJSON_AddItemToObject(m, "server", s);
	return page(r, 200, "server_delete", m);
}

static int
delete_post(struct req *r)
{
	char	 loc[80];
	int	 rc;

	if ((rc = fetch(r, m_server_get, r->params[0], NULL)) != 0)
		return rc;
	rc = m_server_delete(&r->app->db, r->params[0]);
	if (rc == 1) {
		snprintf(loc, sizeof(loc), "/servers/%s", r->params[0]);
		return flash_redirect(r, "error", "This server is used by an "
		    "environment; remove it there first.", loc);
	}
	if (rc == -1)
		return 500;
	return flash_redirect(r, "ok", "Server deleted.", "/servers");
}

/* The key the server offers now ("TYPE BASE64") and its fingerprint. */
static int
offered(struct req *r, const cJSON *srv, char *key, size_t keysz, char *fp,
    size_t fpsz, char *err, size_t errsz)
{
	return ssh_offered_hostkey(cJSON_GetStringValue(cJSON_GetObjectItem(srv,
	    "address")), (int)cJSON_GetNumberValue(cJSON_GetObjectItem(srv,
	    "ssh_port")), r->app->cfg.ssh_connect_timeout, key, keysz, fp, fpsz,
	    err, errsz);
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
	cJSON	*m, *srv = NULL;
	char	 key[2048], fp[80], err[512];
	const char *pinned;
	int	 rc;

	if ((rc = fetch(r, m_server_get, r->params[0], &srv)) != 0)
		return rc;
	if ((m = model_new("Host key", "servers")) == NULL) {
		cJSON_Delete(srv);
		return 500;
	}
	pinned = cJSON_GetStringValue(cJSON_GetObjectItem(srv, "host_key_sha256"));
	if (offered(r, srv, key, sizeof(key), fp, sizeof(fp), err, sizeof(err)) == -1)
		cJSON_AddStringToObject(m, "error", err);
	else {
		cJSON_AddStringToObject(m, "offered", fp);
		cJSON_AddBoolToObject(m, "matches", pinned != NULL &&
		    strcmp(pinned, fp) == 0);
		cJSON_AddBoolToObject(m, "differs", pinned != NULL &&
		    strcmp(pinned, fp) != 0);
	}
	cJSON_AddItemToObject(m, "server", srv);
	return page(r, 200, "server_hostkey", m);
}

static int
hostkey_post(struct req *r)
{
	cJSON		*srv = NULL;
	char		 key[2048], fp[80], err[512], msg[700], loc[80];
	const char	*want = input_get(&r->in, "fingerprint");
	int		 rc;

	if ((rc = fetch(r, m_server_get, r->params[0], &srv)) != 0)
		return rc;
	snprintf(loc, sizeof(loc), "/servers/%s", r->params[0]);
	rc = offered(r, srv, key, sizeof(key), fp, sizeof(fp), err, sizeof(err));
	cJSON_Delete(srv);
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
