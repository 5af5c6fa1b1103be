/*
 * Environments under an application (create, show, edit, delete) and their
 * artifacts page.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "model.h"

static int new_get(struct req *);
static int create_post(struct req *);
static int show_get(struct req *);
static int edit_get(struct req *);
static int update_post(struct req *);
static int delete_post(struct req *);
static int artifacts_get(struct req *);

/* "external" (a registry override with its own credentials) arrives with
 * the builds work; until then the form offers only what works. */
static const char *const locations[] = { "default", "specific", NULL };
static const char *const sources[] = { "repository", "keystone", NULL };

static const struct field env_fields[] = {
	{ "name", FT_NAME, FF_REQ, 0, 0, NULL },
	{ "branch", FT_GITREF, 0, 0, 0, NULL },
	{ "pinned_commit", FT_SHA, 0, 0, 0, NULL },
	{ "dockerfile_source", FT_ENUM, FF_REQ, 0, 0, sources },
	{ "dockerfile_path", FT_PATH, 0, 0, 0, NULL },
	{ "build_location", FT_ENUM, FF_REQ, 0, 0, locations },
	{ "build_server", FT_UUID, 0, 0, 0, NULL },
	{ "runtime_servers", FT_UUID, FF_MULTI, 0, 0, NULL },
	{ "retention_count", FT_INT, FF_REQ, 1, 100, NULL },
};
#define NFIELDS	(sizeof(env_fields) / sizeof(env_fields[0]))

const struct route env_routes[] = {
	{ "GET", "/apps/:uuid/envs/new", new_get, NULL, 0, 0 },
	{ "POST", "/apps/:uuid/envs", create_post, env_fields, NFIELDS, 0 },
	{ "GET", "/apps/:uuid/envs/:uuid", show_get, NULL, 0, 0 },
	{ "GET", "/apps/:uuid/envs/:uuid/edit", edit_get, NULL, 0, 0 },
	{ "POST", "/apps/:uuid/envs/:uuid", update_post, env_fields, NFIELDS, 0 },
	{ "POST", "/apps/:uuid/envs/:uuid/delete", delete_post, NULL, 0, 0 },
	{ "GET", "/apps/:uuid/envs/:uuid/artifacts", artifacts_get, NULL, 0, 0 },
};
const size_t env_nroutes = sizeof(env_routes) / sizeof(env_routes[0]);

/* Is uuid among the submitted runtime servers (or the stored ones)? */
static int
selected(const cJSON *chosen, const char *uuid)
{
	const cJSON	*c;

	cJSON_ArrayForEach(c, chosen) {
		const char *u = cJSON_IsString(c) ? c->valuestring :
		    cJSON_GetStringValue(cJSON_GetObjectItem(c, "uuid"));
		if (u != NULL && strcmp(u, uuid) == 0)
			return 1;
	}
	return 0;
}

/* Adds the server choices: build servers with the current one selected,
 * runtime servers checked when in chosen. */
static int
add_server_choices(struct req *r, cJSON *m, const char *build, const cJSON *chosen)
{
	cJSON	*all = m_server_options(&r->app->db), *s, *bs, *rs;

	if (all == NULL)
		return -1;
	bs = cJSON_AddArrayToObject(m, "build_servers");
	rs = cJSON_AddArrayToObject(m, "runtime_servers");
	cJSON_ArrayForEach(s, all) {
		const char *u = cJSON_GetStringValue(cJSON_GetObjectItem(s, "uuid"));
		if (cJSON_IsTrue(cJSON_GetObjectItem(s, "role_build"))) {
			cJSON *o = cJSON_Duplicate(s, 1);
			cJSON_AddBoolToObject(o, "selected", build && strcmp(build, u) == 0);
			cJSON_AddItemToArray(bs, o);
		}
		if (cJSON_IsTrue(cJSON_GetObjectItem(s, "role_runtime"))) {
			cJSON *o = cJSON_Duplicate(s, 1);
			cJSON_AddBoolToObject(o, "checked", selected(chosen, u));
			cJSON_AddItemToArray(rs, o);
		}
	}
	cJSON_Delete(all);
	return 0;
}

static void
add_choice_flags(cJSON *m, const char *loc, const char *src)
{
	cJSON_AddBoolToObject(m, "loc_default", loc == NULL || strcmp(loc, "default") == 0);
	cJSON_AddBoolToObject(m, "loc_specific", loc != NULL && strcmp(loc, "specific") == 0);
	cJSON_AddBoolToObject(m, "src_repository", src == NULL || strcmp(src, "repository") == 0);
	cJSON_AddBoolToObject(m, "src_keystone", src != NULL && strcmp(src, "keystone") == 0);
}

/* The form for a new environment (env NULL) or an edit (env = stored row,
 * servers = its runtime servers); after a POST the submitted values win. */
static int
form_page(struct req *r, int status, const cJSON *app, const cJSON *env,
    const cJSON *servers, const char *extra_field, const char *extra_msg)
{
	cJSON		*m, *chosen = NULL;
	const char	*build = NULL, *loc = NULL, *src = NULL;
	int		 rc = 500;

	if ((m = model_new(env ? "Edit environment" : "New environment",
	    "apps")) == NULL)
		return 500;
	cJSON_AddItemToObject(m, "app", cJSON_Duplicate(app, 1));
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddBoolToObject(m, "editing", env != NULL);
	if (env != NULL) {
		cJSON_AddStringToObject(m, "env_uuid", cJSON_GetStringValue(
		    cJSON_GetObjectItem(env, "uuid")));
	}
	if (strcmp(r->method, "POST") == 0) {
		model_form(m, r, env_fields, NFIELDS);
		build = kv_get(&r->form, "build_server");
		loc = kv_get(&r->form, "build_location");
		src = kv_get(&r->form, "dockerfile_source");
		chosen = cJSON_CreateArray();
		for (size_t i = 0; i < r->form.n; i++)
			if (strcmp(r->form.v[i].key, "runtime_servers") == 0)
				cJSON_AddItemToArray(chosen,
				    cJSON_CreateString(r->form.v[i].val));
	} else if (env != NULL) {
		static const char *const keys[] = { "name", "branch",
		    "pinned_commit", "dockerfile_path" };
		char k[40];
		for (size_t i = 0; i < 4; i++) {
			const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(env, keys[i]));
			snprintf(k, sizeof(k), "v_%s", keys[i]);
			if (v != NULL)
				cJSON_AddStringToObject(m, k, v);
		}
		cJSON_AddNumberToObject(m, "v_retention_count", cJSON_GetNumberValue(
		    cJSON_GetObjectItem(env, "retention_count")));
		build = cJSON_GetStringValue(cJSON_GetObjectItem(env, "build_server_uuid"));
		loc = cJSON_GetStringValue(cJSON_GetObjectItem(env, "build_location"));
		src = cJSON_GetStringValue(cJSON_GetObjectItem(env, "dockerfile_source"));
		chosen = cJSON_Duplicate(servers, 1);
	} else {
		cJSON_AddStringToObject(m, "v_dockerfile_path", "Dockerfile");
		cJSON_AddStringToObject(m, "v_retention_count", "3");
	}
	add_choice_flags(m, loc, src);
	if (add_server_choices(r, m, build, chosen) == -1)
		goto out;
	if (extra_field != NULL)
		model_field_error(m, extra_field, extra_msg);
	rc = page(r, status, "env_form", m);
	m = NULL;
out:
	cJSON_Delete(m);
	cJSON_Delete(chosen);
	return rc;
}

/* Cross-field rules the declarative pass cannot express. */
static const char *
check_build(const struct req *r, const char **field)
{
	const char	*loc = input_get(&r->in, "build_location");
	const char	*bs = input_get(&r->in, "build_server");

	*field = "build_server";
	if (loc != NULL && strcmp(loc, "specific") == 0 && bs == NULL)
		return "choose the build server";
	return NULL;
}

static void
env_in(const struct req *r, struct env_in *e)
{
	const char	*loc = input_get(&r->in, "build_location");

	e->name = input_get(&r->in, "name");
	e->branch = input_get(&r->in, "branch");
	e->pinned_commit = input_get(&r->in, "pinned_commit");
	e->dockerfile_source = input_get(&r->in, "dockerfile_source");
	e->dockerfile_path = input_get(&r->in, "dockerfile_path");
	if (e->dockerfile_path == NULL)
		e->dockerfile_path = "Dockerfile";
	e->build_location = loc;
	/* A build server is kept only when the intent asks for one. */
	e->build_server = strcmp(loc, "specific") == 0 ?
	    input_get(&r->in, "build_server") : NULL;
	e->retention_count = input_get(&r->in, "retention_count");
}

/* The runtime server UUIDs submitted, pointing into r->in. */
static size_t
runtime_servers(const struct req *r, const char **out, size_t max)
{
	size_t	 n = 0;

	for (size_t i = 0; i < r->in.vals.n && n < max; i++)
		if (strcmp(r->in.vals.v[i].key, "runtime_servers") == 0)
			out[n++] = r->in.vals.v[i].val;
	return n;
}

static const char *
refusal_field(struct req *r, const char **msg)
{
	const char	*c = db_constraint(&r->app->db);

	if (strcmp(c, "environments_application_id_name_key") == 0) {
		*msg = "is already used by another environment of this application";
		return "name";
	}
	if (strcmp(c, "environment_servers_server_id_fkey") == 0) {
		*msg = "includes a server that no longer exists";
		return "runtime_servers";
	}
	if (strcmp(c, "environments_check") == 0) {
		*msg = "choose the build server";
		return "build_server";
	}
	*msg = "was refused by the database";
	return "name";
}

static int
load_app(struct req *r, cJSON **app)
{
	return fetch(r, m_app_get, r->params[0], app);
}

static int
new_get(struct req *r)
{
	cJSON	*app = NULL;
	int	 rc;

	if ((rc = load_app(r, &app)) != 0)
		return rc;
	rc = form_page(r, 200, app, NULL, NULL, NULL, NULL);
	cJSON_Delete(app);
	return rc;
}

static int
create_post(struct req *r)
{
	struct env_in	 e;
	const char	*srv[64], *field, *msg;
	char		 uuid[40], loc[200];
	cJSON		*app = NULL;
	size_t		 ns;
	int		 rc;

	if ((rc = load_app(r, &app)) != 0)
		return rc;
	if (r->invalid) {
		rc = form_page(r, 422, app, NULL, NULL, NULL, NULL);
		goto out;
	}
	if ((msg = check_build(r, &field)) != NULL) {
		rc = form_page(r, 422, app, NULL, NULL, field, msg);
		goto out;
	}
	env_in(r, &e);
	ns = runtime_servers(r, srv, 64);
	rc = m_env_insert(&r->app->db, r->params[0], &e, srv, ns, uuid);
	if (rc == 1) {
		field = refusal_field(r, &msg);
		rc = form_page(r, 422, app, NULL, NULL, field, msg);
		goto out;
	}
	if (rc == -1) {
		rc = 500;
		goto out;
	}
	snprintf(loc, sizeof(loc), "/apps/%s/envs/%s", r->params[0], uuid);
	rc = flash_redirect(r, "ok", "Environment created.", loc);
out:
	cJSON_Delete(app);
	return rc;
}

/* Loads the application, the environment and, unless servers is NULL, its
 * runtime servers. */
static int
load_env(struct req *r, cJSON **app, cJSON **env, cJSON **servers)
{
	int	 rc;

	*app = *env = NULL;
	if (servers != NULL)
		*servers = NULL;
	if ((rc = load_app(r, app)) != 0)
		return rc;
	if ((rc = m_env_get(&r->app->db, r->params[0], r->params[1], env)) != 1)
		return rc == 0 ? 404 : 500;
	if (servers == NULL)
		return 0;
	if ((*servers = m_env_servers(&r->app->db, (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItem(*env, "id")))) == NULL)
		return 500;
	return 0;
}

static int
show_get(struct req *r)
{
	cJSON	*app, *env, *servers, *m;
	int	 rc;

	if ((rc = load_env(r, &app, &env, &servers)) != 0)
		goto fail;
	if ((m = model_new(cJSON_GetStringValue(cJSON_GetObjectItem(env, "name")),
	    "apps")) == NULL) {
		rc = 500;
		goto fail;
	}
	/* On env itself: the template reads them inside {{#env}}, where a
	 * top-level section would hide env's own values. */
	add_choice_flags(env, cJSON_GetStringValue(cJSON_GetObjectItem(env,
	    "build_location")), cJSON_GetStringValue(cJSON_GetObjectItem(env,
	    "dockerfile_source")));
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddItemToObject(m, "app", app);
	cJSON_AddItemToObject(m, "env", env);
	cJSON_AddItemToObject(m, "servers", servers);
	return page(r, 200, "env_show", m);
fail:
	cJSON_Delete(app);
	cJSON_Delete(env);
	cJSON_Delete(servers);
	return rc;
}

static int
edit_get(struct req *r)
{
	cJSON	*app, *env, *servers;
	int	 rc;

	if ((rc = load_env(r, &app, &env, &servers)) == 0)
		rc = form_page(r, 200, app, env, servers, NULL, NULL);
	cJSON_Delete(app);
	cJSON_Delete(env);
	cJSON_Delete(servers);
	return rc;
}

static int
update_post(struct req *r)
{
	struct env_in	 e;
	const char	*srv[64], *field, *msg;
	char		 loc[200];
	cJSON		*app, *env, *servers;
	size_t		 ns;
	int		 rc;

	if ((rc = load_env(r, &app, &env, &servers)) != 0)
		goto out;
	if (r->invalid) {
		rc = form_page(r, 422, app, env, servers, NULL, NULL);
		goto out;
	}
	if ((msg = check_build(r, &field)) != NULL) {
		rc = form_page(r, 422, app, env, servers, field, msg);
		goto out;
	}
	env_in(r, &e);
	ns = runtime_servers(r, srv, 64);
	rc = m_env_update(&r->app->db, r->params[0], r->params[1], &e, srv, ns);
	if (rc == 1) {
		field = refusal_field(r, &msg);
		rc = form_page(r, 422, app, env, servers, field, msg);
		goto out;
	}
	if (rc == -1) {
		rc = 500;
		goto out;
	}
	snprintf(loc, sizeof(loc), "/apps/%s/envs/%s", r->params[0], r->params[1]);
	rc = flash_redirect(r, "ok", "Environment saved.", loc);
out:
	cJSON_Delete(app);
	cJSON_Delete(env);
	cJSON_Delete(servers);
	return rc;
}

static int
delete_post(struct req *r)
{
	char	 loc[200];
	int	 rc;

	cJSON	*env = NULL;

	if ((rc = m_env_get(&r->app->db, r->params[0], r->params[1], &env)) != 1)
		return rc == 0 ? 404 : 500;
	cJSON_Delete(env);
	if (m_env_delete(&r->app->db, r->params[0], r->params[1]) != 0)
		return 500;
	snprintf(loc, sizeof(loc), "/apps/%s", r->params[0]);
	return flash_redirect(r, "ok", "Environment deleted.", loc);
}

static int
artifacts_get(struct req *r)
{
	cJSON	*app, *env, *m = NULL, *rows;
	long	 pg = req_page(r), total = 0;
	char	 base[200];
	int	 rc;

	if ((rc = load_env(r, &app, &env, NULL)) != 0)
		goto fail;
	rc = 500;
	if ((m = model_new("Artifacts", "apps")) == NULL)
		goto fail;
	if ((rows = m_artifact_list(&r->app->db, (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItem(env, "id")), APP_PAGE_SIZE,
	    (pg - 1) * APP_PAGE_SIZE, &total)) == NULL)
		goto fail;
	cJSON_AddItemToObject(m, "artifacts", rows);
	snprintf(base, sizeof(base), "/apps/%s/envs/%s/artifacts", r->params[0],
	    r->params[1]);
	model_pager(m, base, "created", pg, total);
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddItemToObject(m, "app", app);
	cJSON_AddItemToObject(m, "env", env);
	return page(r, 200, "artifacts", m);
fail:
	cJSON_Delete(m);
	cJSON_Delete(app);
	cJSON_Delete(env);
	return rc;
}
