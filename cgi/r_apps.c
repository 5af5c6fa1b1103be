/*
 * Applications: list, create, show (with its environments), edit, delete,
 * through the generic handlers (cgi/res.c); and the repository access a
 * build uses: a deploy key Keystone makes (its public half shown), or an
 * HTTPS token (write-only), or none for a public repository; and the
 * Git host's SSH key, checked by an operation and pinned by an explicit
 * act, as a server's (cgi/r_servers.c).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "build.h"
#include "build_settings.h"
#include "db.h"
#include "deploy.h"
#include "hostkey.h"
#include "model.h"

static int apps_save(struct db *, const char *, const struct input *,
    char[40]);
static const char *apps_check(const struct req *, const char **);
static int deploy_key_post(struct req *);
static int token_post(struct req *);
static int access_post(struct req *);
static int apps_more(struct req *, cJSON *);
static int hostkey_get(struct req *);
static int hostkey_check_post(struct req *);
static int hostkey_post(struct req *);
static int delete_get(struct req *);
static int delete_post(struct req *);

static const struct field app_fields[] = {
	{ "name", FT_NAME, FF_REQ, 0, 0, NULL },
	{ "repository_url", FT_GITURL, FF_REQ, 0, 0, NULL },
	{ "default_branch", FT_GITREF, FF_REQ, 0, 0, NULL },
};
#define NFIELDS	(sizeof(app_fields) / sizeof(app_fields[0]))

/* Regenerating a key asks first: the Git host has the old one. */
static const struct field key_fields[] = {
	{ "confirm", FT_BOOL, 0, 0, 0, NULL },
};
static const struct field token_fields[] = {
	{ "https_username", FT_TEXT, 0, 0, 128, NULL },
	{ "https_token", FT_SECRET, 0, 0, 0, NULL },
	{ "remove", FT_BOOL, 0, 0, 0, NULL },
};
static const char *const modes[] = { "none", "deploy_key", "token", NULL };
static const struct field access_fields[] = {
	{ "repo_auth", FT_ENUM, FF_REQ, 0, 0, modes },
};
/* Pinning names the check whose result the user confirmed. */
static const struct field hostkey_fields[] = {
	{ "op", FT_UUID, FF_REQ, 0, 0, NULL },
	{ "fingerprint", FT_TEXT, FF_REQ, 0, 100, NULL },
};
static const struct field hostkey_query[] = {
	{ "op", FT_UUID, 0, 0, 0, NULL },
};
/* Deleting: the environments' volumes too only when asked and confirmed
 * by typing the application's name. */
static const struct field delete_fields[] = {
	{ "remove_volumes", FT_BOOL, 0, 0, 0, NULL },
	{ "confirm_name", FT_TEXT, 0, 0, 200, NULL },
};

static const struct field list_query[] = {
	QUERY_SORT(m_app_sorts),
	QUERY_PAGE,
};

static const struct fdefault defaults[] = {
	{ "default_branch", "main" }, { NULL, NULL },
};

static const struct refusal refusals[] = {
	{ "applications_name_key", "name",
	    "is already used by another application" },
	{ NULL, NULL, NULL },
};

/* Whether the delete form asks for the volumes too (an empty value is
 * no value: absent from r->in). */
static int
volumes_asked(const struct req *r)
{
	const char	*v = input_get(&r->in, "remove_volumes");

	return v != NULL && strcmp(v, "true") == 0;
}

/* Deleting an application: what its environments run on their servers
 * is removed first (operations; volumes only as delete_post confirmed). */
static int
apps_before_remove(struct req *r, const char *uuid)
{
	return deploy_plan_remove_app(&r->app->db, &r->app->cfg, &r->app->keys,
	    uuid, volumes_asked(r), r->user_id);
}

static const struct resource apps = {
	"/apps", "apps", "app", "apps",
	"Applications", "New application", "Edit application",
	"Delete application",
	"apps", "app_form", "app_show", "app_delete",
	"Application created.", "Application saved.", "Application deleted.",
	NULL,
	app_fields, NFIELDS, defaults, refusals,
	m_app_list_view, m_app_view, apps_save, m_app_delete,
	"environments", m_env_list_view, NULL, apps_check, apps_more,
	apps_before_remove,
};

const struct route app_routes[] = {
	/* Before RES_ROUTES' (the first match wins): the delete page and
	 * its form, with the volumes' confirmation. */
	{ "GET", "/apps/:uuid/delete", delete_get, NULL, 0, 0, NULL, 0, &apps },
	{ "POST", "/apps/:uuid/delete", delete_post, delete_fields, 2, 0, NULL,
	    0, &apps },
	RES_ROUTES("/apps", &apps, app_fields, NFIELDS, list_query,
	    sizeof(list_query) / sizeof(list_query[0])),
	{ "POST", "/apps/:uuid/deploy_key", deploy_key_post, key_fields, 1, 0,
	    NULL, 0, NULL },
	{ "POST", "/apps/:uuid/token", token_post, token_fields, 3, 0, NULL, 0,
	    NULL },
	{ "POST", "/apps/:uuid/access", access_post, access_fields, 1, 0, NULL,
	    0, NULL },
	{ "GET", "/apps/:uuid/hostkey", hostkey_get, NULL, 0, 0, hostkey_query,
	    1, NULL },
	{ "POST", "/apps/:uuid/hostkey", hostkey_post, hostkey_fields, 2, 0,
	    NULL, 0, NULL },
	{ "POST", "/apps/:uuid/hostkey/check", hostkey_check_post, NULL, 0, 0,
	    NULL, 0, NULL },
};
const size_t app_nroutes = sizeof(app_routes) / sizeof(app_routes[0]);

/* The repository URL as builds accept it (git:// and file:// only for
 * local development). */
static const char *
apps_check(const struct req *r, const char **field)
{
	*field = "repository_url";
	return build_check_url(&r->app->cfg, input_get(&r->in,
	    "repository_url"));
}

static int
apps_save(struct db *db, const char *uuid, const struct input *in,
    char out[40])
{
	struct app_in	 a = { input_get(in, "name"),
	    input_get(in, "repository_url"), input_get(in, "default_branch"),
	    NULL };
	char		 host[256], known[300];
	int		 port;

	/* A key pinned for another Git host than the new URL's goes. */
	if (build_ssh_host(a.repository_url, host, sizeof(host), &port, known,
	    sizeof(known)) == 1)
		a.git_host = known;
	return uuid == NULL ? m_app_insert(db, &a, out) :
	    m_app_update(db, uuid, &a);
}

/* The application page's Git host (known_hosts' name), when its
 * repository is reached over SSH: what "Check the Git host's key" checks. */
static int
apps_more(struct req *r, cJSON *m)
{
	struct app_row	 a;
	char		 host[256], known[300];
	int		 port, rc = 0;

	/* The application's typed row (the page's model is for the
	 * template). */
	if (m_app_get(&r->app->db, r->params[0], &a) != 1)
		return -1;
	if (build_ssh_host(a.repository_url, host, sizeof(host), &port, known,
	    sizeof(known)) == 1 && cJSON_AddStringToObject(cJSON_GetObjectItem(m,
	    "app"), "ssh_git_host", known) == NULL)
		rc = -1;
	app_row_free(&a);
	return rc;
}

/* The application's page with a message above it (status: the refusal's). */
static int
show_msg(struct req *r, int status, const char *error)
{
	cJSON		*m, *v = NULL, *rows = NULL;
	int		 rc;

	if ((rc = found(m_app_view(&r->app->db, r->params[0], &v))) != 0)
		return rc;
	if ((m = model_new(cJSON_GetStringValue(cJSON_GetObjectItem(v,
	    "name")), "apps")) == NULL) {
		cJSON_Delete(v);
		return 500;
	}
	cJSON_AddItemToObject(m, "app", v);
	if (m_env_list_view(&r->app->db, r->params[0], &rows) == -1) {
		cJSON_Delete(m);
		return 500;
	}
	cJSON_AddItemToObject(m, "environments", rows);
	if (apps_more(r, m) == -1) {
		cJSON_Delete(m);
		return 500;
	}
	if (error != NULL)
		cJSON_AddStringToObject(m, "error", error);
	(void)page(r, status, "app_show", m);
	return 0;
}

/* "Generate deploy key": a new key pair, its public half shown to paste
 * into the Git host. Replacing a key the Git host has asks first. */
static int
deploy_key_post(struct req *r)
{
	struct app_row	 a;
	char		 pub[256], loc[128];
	int		 rc;

	if ((rc = found(m_app_get(&r->app->db, r->params[0], &a))) != 0)
		return rc;
	if (a.deploy_key_public != NULL &&
	    strcmp(input_get(&r->in, "confirm"), "true") != 0) {
		rc = show_msg(r, 409, "This application has a deploy key: the "
		    "Git host would have to be given the new one. Confirm to "
		    "replace it.");
		goto out;
	}
	rc = 500;
	if (build_keygen(&r->app->db, &r->app->keys, a.uuid, pub,
	    sizeof(pub)) == -1)
		goto out;
	snprintf(loc, sizeof(loc), "/apps/%s", a.uuid);
	(void)flash_redirect(r, "ok", "Deploy key generated: add its public "
	    "key to the Git host as a read-only deploy key.", loc);
	rc = 0;
out:
	app_row_free(&a);
	return rc;
}

/* The HTTPS user and token (write-only: the page only says it is set). */
static int
token_post(struct req *r)
{
	struct app_row	 a;
	const char	*user = input_get(&r->in, "https_username");
	const char	*tok = input_get(&r->in, "https_token");
	char		 loc[128];
	int		 rc, removing;

	if ((rc = found(m_app_get(&r->app->db, r->params[0], &a))) != 0)
		return rc;
	removing = strcmp(input_get(&r->in, "remove"), "true") == 0;
	if (r->invalid || (!removing && (user == NULL || tok == NULL))) {
		rc = show_msg(r, 422, "Nothing saved: the HTTPS token needs a "
		    "username (letters, digits and . _ + -) and a token.");
		goto out;
	}
	rc = 500;
	if (build_set_token(&r->app->db, &r->app->keys, a.uuid,
	    removing ? NULL : user, removing ? NULL : tok) == -1) {
		/* The schema refuses a username it cannot use. */
		rc = show_msg(r, 422, "Nothing saved: the username may hold "
		    "letters, digits and . _ @ + - only.");
		goto out;
	}
	snprintf(loc, sizeof(loc), "/apps/%s", a.uuid);
	(void)flash_redirect(r, "ok", removing ? "HTTPS token removed." :
	    "HTTPS token saved.", loc);
	rc = 0;
out:
	app_row_free(&a);
	return rc;
}

/* Which access builds use: only one whose credential is stored. */
static int
access_post(struct req *r)
{
	char		 loc[128];
	int		 rc;

	if (r->invalid)
		return show_msg(r, 422, "Nothing changed: choose how Keystone "
		    "reaches the repository.");
	rc = build_set_access(&r->app->db, r->params[0],
	    input_get(&r->in, "repo_auth"));
	if (rc == -1)
		return found(0);
	if (rc == 1)
		return show_msg(r, 409, "Nothing changed: generate the deploy "
		    "key or save the HTTPS token first.");
	snprintf(loc, sizeof(loc), "/apps/%s", r->params[0]);
	return flash_redirect(r, "ok", "Repository access saved.", loc);
}

/* The Git host an application's repository URL names over SSH. */
struct githost {
	char	 host[256], known[300];
	int	 port;
};

static int
git_host(const struct app_row *a, struct githost *g)
{
	return build_ssh_host(a->repository_url, g->host, sizeof(g->host),
	    &g->port, g->known, sizeof(g->known));
}

/*
 * The Git host key page of an application (?op=UUID: with that check's
 * result), as a server's host key page: the check is an operation (no web
 * request connects to the Git host), the page shows the fingerprint it
 * found once it ends, and the user compares it with the one the Git host
 * publishes before pinning it. error: a refusal to show above it.
 */
static int
hostkey_page(struct req *r, int status, const struct app_row *a,
    const struct githost *g, const struct hostkey_scan *h, const char *error)
{
	struct hk_result res;
	cJSON		*m;
	const char	*pinned = a->git_host_key_sha256;
	int		 same_host = a->git_host != NULL &&
			    strcmp(a->git_host, g->known) == 0;

	if ((m = model_new("Git host key", "apps")) == NULL)
		return 500;
	cJSON_AddItemToObject(m, "app", app_row_view(a));
	cJSON_AddStringToObject(m, "git_host", g->known);
	cJSON_AddBoolToObject(m, "pinned_here", same_host && pinned != NULL);
	if (error != NULL)
		cJSON_AddStringToObject(m, "error", error);
	/* op_uuid and checking are always set: the template opens their
	 * NO_ sections, which an absent key does not show. */
	if (h == NULL) {
		cJSON_AddNullToObject(m, "op_uuid");
		cJSON_AddNullToObject(m, "checking");
	} else {
		hk_result_at(h, g->host, g->port, "host or port than the "
		    "repository URL names now", &res);
		cJSON_AddStringToObject(m, "op_uuid", h->uuid);
		if (res.state != HK_WAITING)
			cJSON_AddNullToObject(m, "checking");
		switch (res.state) {
		case HK_WAITING:
			cJSON_AddStringToObject(m, "checking", h->status);
			cJSON_AddStringToObject(m, "refresh", "2");
			break;
		case HK_FAILED:
			cJSON_AddStringToObject(m, "failed", res.reason);
			break;
		case HK_FOUND:
			cJSON_AddStringToObject(m, "offered", res.fp);
			cJSON_AddBoolToObject(m, "matches", same_host &&
			    pinned != NULL && strcmp(pinned, res.fp) == 0);
			cJSON_AddBoolToObject(m, "differs", same_host &&
			    pinned != NULL && strcmp(pinned, res.fp) != 0);
			break;
		}
	}
	(void)page(r, status, "app_hostkey", m);	/* -1: logged */
	return 0;
}

/* The application the path names, whose repository is reached over SSH
 * (its Git host into g): 0, the status to answer, or -1 when it answered
 * itself (the application page with the refusal). */
static int
load_ssh_app(struct req *r, struct app_row *a, struct githost *g)
{
	int	 rc;

	if ((rc = found(m_app_get(&r->app->db, r->params[0], a))) != 0)
		return rc;
	if (git_host(a, g) != 1) {
		(void)show_msg(r, 409, "The repository is not reached over SSH: "
		    "there is no Git host key to check.");
		return -1;
	}
	return 0;
}

static int
hostkey_get(struct req *r)
{
	struct app_row		 a;
	struct githost		 g;
	struct hostkey_scan	 h;
	const char		*op = req_query(r, "op");
	int			 rc;

	memset(&h, 0, sizeof(h));
	if (r->q.errs.n > 0)
		return 400;
	if ((rc = load_ssh_app(r, &a, &g)) != 0)
		goto out;
	if (op != NULL && (rc = found(m_app_hostkey_scan(&r->app->db, a.uuid,
	    op, HK_FRESH_MIN, &h))) != 0)
		goto out;
	rc = hostkey_page(r, 200, &a, &g, op != NULL ? &h : NULL, NULL);
out:
	hostkey_scan_free(&h);
	app_row_free(&a);
	return rc == -1 ? 0 : rc;
}

/* "Check the Git host's key": queues the check (ssh-keyscan of the URL's
 * host and port on the control node), then the page that waits for it. */
static int
hostkey_check_post(struct req *r)
{
	struct app_row	 a;
	struct githost	 g;
	char		 uuid[40], loc[128];
	int		 rc;

	if ((rc = load_ssh_app(r, &a, &g)) != 0)
		goto out;
	rc = 500;
	if (hk_queue_at(&r->app->db, &r->app->cfg, &r->app->keys, "application",
	    a.id, g.host, g.port, r->user_id, uuid) == -1)
		goto out;
	snprintf(loc, sizeof(loc), "/apps/%s/hostkey?op=%s", a.uuid, uuid);
	(void)redirect(r, loc);
	rc = 0;
out:
	app_row_free(&a);
	return rc == -1 ? 0 : rc;
}

/*
 * "Pin this key": pins the key the check (op) found, only if that is the
 * fingerprint the user confirmed, the check is of the Git host the
 * repository URL names now and recent (HK_FRESH_MIN). The key is read
 * from the stored check, never from the form.
 */
static int
hostkey_post(struct req *r)
{
	struct app_row		 a;
	struct githost		 g;
	struct hostkey_scan	 h;
	struct hk_result	 res;
	char			 msg[700], loc[80];
	const char		*want = input_get(&r->in, "fingerprint");
	const char		*op = input_get(&r->in, "op");
	int			 rc;

	memset(&h, 0, sizeof(h));
	if ((rc = load_ssh_app(r, &a, &g)) != 0)
		goto out;
	if (r->invalid) {
		rc = hostkey_page(r, 400, &a, &g, NULL, "Nothing pinned: the form "
		    "names no check and fingerprint.");
		goto out;
	}
	if ((rc = m_app_hostkey_scan(&r->app->db, a.uuid, op, HK_FRESH_MIN,
	    &h)) != 1) {
		rc = rc == -1 ? 500 : hostkey_page(r, 400, &a, &g, NULL, "Nothing "
		    "pinned: that is no check of this application's Git host.");
		goto out;
	}
	hk_result_at(&h, g.host, g.port, "host or port than the repository URL "
	    "names now", &res);
	if (res.state != HK_FOUND) {
		snprintf(msg, sizeof(msg), "Nothing pinned: %s.", res.state ==
		    HK_WAITING ? "the check has not ended yet" : res.reason);
		rc = hostkey_page(r, 409, &a, &g, &h, msg);
		goto out;
	}
	if (strcmp(want, res.fp) != 0) {
		snprintf(msg, sizeof(msg), "Nothing pinned: the check found %s, "
		    "not the key you confirmed.", res.fp);
		rc = hostkey_page(r, 409, &a, &g, &h, msg);
		goto out;
	}
	rc = 500;
	if (build_pin_git_host(&r->app->db, a.uuid, g.known, res.key,
	    res.fp) == -1)
		goto out;
	snprintf(loc, sizeof(loc), "/apps/%s", a.uuid);
	(void)flash_redirect(r, "ok", "Git host key pinned.", loc);
	rc = 0;
out:
	hostkey_scan_free(&h);
	app_row_free(&a);
	return rc == -1 ? 0 : rc;
}

/* The delete page (status; error: a refusal of its form), offering to
 * delete the environments' volumes only when there are some. */
static int
delete_page(struct req *r, int status, const char *error)
{
	cJSON	*m, *v = NULL;
	int	 rc, vols;

	if ((rc = found(m_app_view(&r->app->db, r->params[0], &v))) != 0)
		return rc;
	if ((vols = deploy_has_volumes(&r->app->db, r->params[0], NULL)) == -1 ||
	    (m = model_new(apps.t_delete, apps.nav)) == NULL) {
		cJSON_Delete(v);
		return 500;
	}
	cJSON_AddItemToObject(m, "app", v);
	cJSON_AddBoolToObject(m, "has_volumes", vols == 1);
	if (error != NULL)
		model_field_error(m, "delete", error);
	return page(r, status, "app_delete", m);
}

static int
delete_get(struct req *r)
{
	return delete_page(r, 200, NULL);
}

/* The generic delete (cgi/res.c: apps_before_remove, then the row) once
 * a removal of volumes asked for is confirmed; else 422, nothing done. */
static int
delete_post(struct req *r)
{
	struct app_row	 a;
	const char	*msg;
	int		 rc;

	if ((rc = found(m_app_get(&r->app->db, r->params[0], &a))) != 0)
		return rc;
	if (r->invalid)
		msg = "the confirmation was not understood";
	else
		msg = deploy_volumes_refused(volumes_asked(r),
		    input_get(&r->in, "confirm_name"), a.name);
	app_row_free(&a);
	if (msg != NULL)
		return delete_page(r, 422, msg);
	return res_delete_post(r);
}
