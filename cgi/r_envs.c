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

static const struct field artifacts_query[] = {
	QUERY_PAGE,
};

const struct route env_routes[] = {
	{ "GET", "/apps/:uuid/envs/new", new_get, NULL, 0, 0, NULL, 0, NULL },
	{ "POST", "/apps/:uuid/envs", create_post, env_fields, NFIELDS, 0, NULL,
	    0, NULL },
	{ "GET", "/apps/:uuid/envs/:uuid", show_get, NULL, 0, 0, NULL, 0, NULL },
	{ "GET", "/apps/:uuid/envs/:uuid/edit", edit_get, NULL, 0, 0, NULL, 0,
	    NULL },
	{ "POST", "/apps/:uuid/envs/:uuid", update_post, env_fields, NFIELDS, 0,
	    NULL, 0, NULL },
	{ "POST", "/apps/:uuid/envs/:uuid/delete", delete_post, NULL, 0, 0, NULL,
	    0, NULL },
	{ "GET", "/apps/:uuid/envs/:uuid/artifacts", artifacts_get, NULL, 0, 0,
	    artifacts_query, 1, NULL },
};
const size_t env_nroutes = sizeof(env_routes) / sizeof(env_routes[0]);

/* What a page of one environment loads: its application, the environment
 * and its runtime servers (each zeroed when not loaded). */
struct envctx {
	struct app_row		 app;
	struct env_row		 env;
	struct env_servers	 servers;
};

static void
envctx_free(struct envctx *c)
{
	app_row_free(&c->app);
	env_row_free(&c->env);
	env_servers_free(&c->servers);
}

/* The runtime servers chosen: submitted (validated), else stored. */
struct chosen {
	const char	*v[64];
	size_t		 n;
};

static int
is_chosen(const struct chosen *c, const char *uuid)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i], uuid) == 0)
			return 1;
	return 0;
}

/* The runtime server UUIDs submitted, pointing into r->in. */
static void
submitted_servers(const struct req *r, struct chosen *c)
{
	c->n = 0;
	for (size_t i = 0; i < r->in.vals.n && c->n < 64; i++)
		if (strcmp(r->in.vals.v[i].key, "runtime_servers") == 0)
			c->v[c->n++] = r->in.vals.v[i].val;
}

/* Adds the server choices: build servers with the current one selected,
 * runtime servers checked when chosen. */
static int
add_server_choices(struct req *r, cJSON *m, const char *build,
    const struct chosen *chosen)
{
	struct server_options	 all;
	cJSON			*v, *bs, *rs, *o;
	int			 rc = -1;

	if (m_server_options(&r->app->db, &all) == -1)
		return -1;
	if ((v = server_options_view(&all)) == NULL ||
	    (bs = cJSON_AddArrayToObject(m, "build_servers")) == NULL ||
	    (rs = cJSON_AddArrayToObject(m, "runtime_servers")) == NULL)
		goto out;
	for (size_t i = 0; i < all.n; i++) {
		const struct server_option *s = &all.v[i];
		if (s->role_build == 1) {
			o = cJSON_Duplicate(cJSON_GetArrayItem(v, (int)i), 1);
			cJSON_AddBoolToObject(o, "selected", build != NULL &&
			    strcmp(build, s->uuid) == 0);
			cJSON_AddItemToArray(bs, o);
		}
		if (s->role_runtime == 1) {
			o = cJSON_Duplicate(cJSON_GetArrayItem(v, (int)i), 1);
			cJSON_AddBoolToObject(o, "checked", is_chosen(chosen, s->uuid));
			cJSON_AddItemToArray(rs, o);
		}
	}
	rc = 0;
out:
	cJSON_Delete(v);
	server_options_free(&all);
	return rc;
}

static void
add_choice_flags(cJSON *m, const char *loc, const char *src)
{
	cJSON_AddBoolToObject(m, "loc_default", loc == NULL || strcmp(loc, "default") == 0);
	cJSON_AddBoolToObject(m, "loc_specific", loc != NULL && strcmp(loc, "specific") == 0);
	cJSON_AddBoolToObject(m, "src_repository", src == NULL || strcmp(src, "repository") == 0);
	cJSON_AddBoolToObject(m, "src_keystone", src != NULL && strcmp(src, "keystone") == 0);
}

static void
add_str(cJSON *m, const char *key, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(m, key, v);
}

/* The form for a new environment (c->env not loaded) or an edit; after a
 * POST the submitted values win. */
static int
form_page(struct req *r, int status, const struct envctx *c, int editing,
    const char *extra_field, const char *extra_msg)
{
	struct chosen	 chosen;
	cJSON		*m;
	const char	*build = NULL, *loc = NULL, *src = NULL;
	const struct env_row *e = &c->env;

	chosen.n = 0;
	if ((m = model_new(editing ? "Edit environment" : "New environment",
	    "apps")) == NULL)
		return 500;
	cJSON_AddItemToObject(m, "app", app_row_view(&c->app));
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddBoolToObject(m, "editing", editing);
	if (editing)
		cJSON_AddStringToObject(m, "env_uuid", e->uuid);
	if (strcmp(r->method, "POST") == 0) {
		model_form(m, r, env_fields, NFIELDS);
		build = input_get(&r->in, "build_server");
		loc = input_get(&r->in, "build_location");
		src = input_get(&r->in, "dockerfile_source");
		submitted_servers(r, &chosen);
	} else if (editing) {
		add_str(m, "v_name", e->name);
		add_str(m, "v_branch", e->branch);
		add_str(m, "v_pinned_commit", e->pinned_commit);
		add_str(m, "v_dockerfile_path", e->dockerfile_path);
		cJSON_AddNumberToObject(m, "v_retention_count",
		    (double)e->retention_count);
		build = e->build_server_uuid;
		loc = e->build_location;
		src = e->dockerfile_source;
		for (size_t i = 0; i < c->servers.n && i < 64; i++)
			chosen.v[chosen.n++] = c->servers.v[i].uuid;
	} else {
		cJSON_AddStringToObject(m, "v_dockerfile_path", "Dockerfile");
		cJSON_AddStringToObject(m, "v_retention_count", "3");
	}
	add_choice_flags(m, loc, src);
	if (add_server_choices(r, m, build, &chosen) == -1) {
		cJSON_Delete(m);
		return 500;
	}
	if (extra_field != NULL)
		model_field_error(m, extra_field, extra_msg);
	return page(r, status, "env_form", m);
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

/* Loads what the path names: the application and, with env, the
 * environment and (with servers) its runtime servers. 0 or the status
 * to answer. */
static int
load(struct req *r, struct envctx *c, int env, int servers)
{
	int	 rc;

	memset(c, 0, sizeof(*c));
	if ((rc = found(m_app_get(&r->app->db, r->params[0], &c->app))) != 0 ||
	    !env)
		return rc;
	if ((rc = found(m_env_get(&r->app->db, r->params[0], r->params[1],
	    &c->env))) != 0 || !servers)
		return rc;
	return m_env_servers(&r->app->db, c->env.id, &c->servers) == 0 ? 0 : 500;
}

/* Create (editing 0) or update: validation, the cross-field rule, the
 * write, then the form again with the refusal or a redirect. */
static int
save(struct req *r, int editing)
{
	struct envctx	 c;
	struct env_in	 e;
	struct chosen	 srv;
	const char	*field, *msg;
	char		 uuid[40], loc[200];
	int		 rc;

	if ((rc = load(r, &c, editing, editing)) != 0)
		goto out;
	if (r->invalid) {
		rc = form_page(r, 422, &c, editing, NULL, NULL);
		goto out;
	}
	if ((msg = check_build(r, &field)) != NULL) {
		rc = form_page(r, 422, &c, editing, field, msg);
		goto out;
	}
	env_in(r, &e);
	submitted_servers(r, &srv);
	if (editing)
		rc = m_env_update(&r->app->db, r->params[0], r->params[1], &e,
		    srv.v, srv.n);
	else
		rc = m_env_insert(&r->app->db, r->params[0], &e, srv.v, srv.n,
		    uuid);
	if (rc == 1) {
		field = refusal_field(r, &msg);
		rc = form_page(r, 422, &c, editing, field, msg);
		goto out;
	}
	if (rc == -1) {
		rc = 500;
		goto out;
	}
	snprintf(loc, sizeof(loc), "/apps/%s/envs/%s", r->params[0],
	    editing ? r->params[1] : uuid);
	rc = flash_redirect(r, "ok", editing ? "Environment saved." :
	    "Environment created.", loc);
out:
	envctx_free(&c);
	return rc;
}

static int
new_get(struct req *r)
{
	struct envctx	 c;
	int		 rc;

	if ((rc = load(r, &c, 0, 0)) == 0)
		rc = form_page(r, 200, &c, 0, NULL, NULL);
	envctx_free(&c);
	return rc;
}

static int
create_post(struct req *r)
{
	return save(r, 0);
}

static int
show_get(struct req *r)
{
	struct envctx	 c;
	cJSON		*m = NULL, *env;
	int		 rc;

	if ((rc = load(r, &c, 1, 1)) != 0)
		goto out;
	rc = 500;
	if ((m = model_new(c.env.name, "apps")) == NULL ||
	    (env = env_row_view(&c.env)) == NULL)
		goto out;
	/* On env itself: the template reads them inside {{#env}}, where a
	 * top-level section would hide env's own values. */
	add_choice_flags(env, c.env.build_location, c.env.dockerfile_source);
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddItemToObject(m, "app", app_row_view(&c.app));
	cJSON_AddItemToObject(m, "env", env);
	cJSON_AddItemToObject(m, "servers", env_servers_view(&c.servers));
	rc = page(r, 200, "env_show", m);
	m = NULL;
out:
	cJSON_Delete(m);
	envctx_free(&c);
	return rc;
}

static int
edit_get(struct req *r)
{
	struct envctx	 c;
	int		 rc;

	if ((rc = load(r, &c, 1, 1)) == 0)
		rc = form_page(r, 200, &c, 1, NULL, NULL);
	envctx_free(&c);
	return rc;
}

static int
update_post(struct req *r)
{
	return save(r, 1);
}

static int
delete_post(struct req *r)
{
	struct env_row	 e;
	char		 loc[200];
	int		 rc;

	if ((rc = found(m_env_get(&r->app->db, r->params[0], r->params[1],
	    &e))) != 0)
		return rc;
	env_row_free(&e);
	if (m_env_delete(&r->app->db, r->params[0], r->params[1]) != 0)
		return 500;
	snprintf(loc, sizeof(loc), "/apps/%s", r->params[0]);
	return flash_redirect(r, "ok", "Environment deleted.", loc);
}

static int
artifacts_get(struct req *r)
{
	struct envctx		 c;
	struct artifact_list	 l;
	cJSON			*m = NULL, *rows;
	long			 pg = req_page(r);
	char			 base[200];
	int			 rc;

	memset(&l, 0, sizeof(l));
	if ((rc = load(r, &c, 1, 0)) != 0)
		goto out;
	rc = 500;
	if ((m = model_new("Artifacts", "apps")) == NULL ||
	    m_artifact_list(&r->app->db, c.env.id, APP_PAGE_SIZE,
	    (pg - 1) * APP_PAGE_SIZE, &l) == -1 ||
	    (rows = artifact_list_view(&l)) == NULL)
		goto out;
	cJSON_AddItemToObject(m, "artifacts", rows);
	snprintf(base, sizeof(base), "/apps/%s/envs/%s/artifacts", r->params[0],
	    r->params[1]);
	model_pager(m, base, "created", pg, l.total);
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddItemToObject(m, "app", app_row_view(&c.app));
	cJSON_AddItemToObject(m, "env", env_row_view(&c.env));
	rc = page(r, 200, "artifacts", m);
	m = NULL;
out:
	cJSON_Delete(m);
	artifact_list_free(&l);
	envctx_free(&c);
	return rc;
}
