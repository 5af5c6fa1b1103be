/*
 * Applications: list, create, show (with its environments), edit, delete,
 * through the generic handlers (cgi/res.c); and the repository access a
 * build uses: a deploy key Keystone makes (its public half shown), or an
 * HTTPS token (write-only), or none for a public repository.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "build.h"
#include "build_settings.h"
#include "db.h"
#include "model.h"

static int apps_save(struct db *, const char *, const struct input *,
    char[40]);
static const char *apps_check(const struct req *, const char **);
static int deploy_key_post(struct req *);
static int token_post(struct req *);
static int access_post(struct req *);

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

static const struct resource apps = {
	"/apps", "apps", "app", "apps",
	"Applications", "New application", "Edit application",
	"Delete application",
	"apps", "app_form", "app_show", "app_delete",
	"Application created.", "Application saved.", "Application deleted.",
	NULL,
	app_fields, NFIELDS, defaults, refusals,
	m_app_list_view, m_app_view, apps_save, m_app_delete,
	"environments", m_env_list_view, NULL, apps_check,
};

const struct route app_routes[] = {
	RES_ROUTES("/apps", &apps, app_fields, NFIELDS, list_query,
	    sizeof(list_query) / sizeof(list_query[0])),
	{ "POST", "/apps/:uuid/deploy_key", deploy_key_post, key_fields, 1, 0,
	    NULL, 0, NULL },
	{ "POST", "/apps/:uuid/token", token_post, token_fields, 3, 0, NULL, 0,
	    NULL },
	{ "POST", "/apps/:uuid/access", access_post, access_fields, 1, 0, NULL,
	    0, NULL },
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
