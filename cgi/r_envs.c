/*
 * Environments under an application (create, show, edit, delete), their
 * artifacts page, the "Build" button (lib/domain/build.h's build_plan)
 * with the environment's builds on its page, and the "Deploy" and "Deploy
 * this version" buttons (lib/domain/deploy.h's deploy_plan).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "build.h"
#include "build_settings.h"
#include "db.h"
#include "deploy.h"
#include "log.h"
#include "model.h"
#include "service.h"

static int new_get(struct req *);
static int create_post(struct req *);
static int show_get(struct req *);
static int edit_get(struct req *);
static int update_post(struct req *);
static int delete_post(struct req *);
static int artifacts_get(struct req *);
static int build_post(struct req *);
static int deploy_post(struct req *);
static int artifact_deploy_post(struct req *);

/* The builds an environment's page lists beyond the queued and running. */
#define ENV_LAST_BUILDS	5

/* Build locations as intents: the default build node (the control
 * node), a specific one (a server with the build role), or the default
 * node pushing to an external registry of the user's. */
static const char *const locations[] = { "default", "specific", "external",
	NULL };
static const char *const sources[] = { "repository", "keystone", NULL };
static const char *const presets[] = { "static", "command", NULL };

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
	{ "build_context", FT_PATH, 0, 0, 0, NULL },
	{ "preset", FT_ENUM, 0, 0, 0, presets },
	{ "preset_base_image", FT_TEXT, 0, 0, 512, NULL },
	{ "preset_root", FT_PATH, 0, 0, 0, NULL },
	{ "preset_command", FT_TEXT, 0, 0, 4096, NULL },
	{ "build_args", FT_LINES, 0, 0, 16 * 1024, NULL },
	{ "build_timeout_s", FT_INT, 0, 60, 86400, NULL },
	{ "ext_registry_host", FT_TEXT, 0, 0, 262, NULL },
	{ "ext_registry_user", FT_TEXT, 0, 0, 128, NULL },
	{ "ext_registry_password", FT_SECRET, 0, 0, 0, NULL },
	{ "ext_registry_ca", FT_LINES, 0, 0, 16 * 1024, NULL },
	/* A runtime server taken out: its volumes go too only when asked
	 * and confirmed by typing the environment's name. */
	{ "remove_volumes", FT_BOOL, FF_UPDATE, 0, 0, NULL },
	{ "confirm_name", FT_TEXT, FF_UPDATE, 0, 200, NULL },
};
#define NFIELDS	(sizeof(env_fields) / sizeof(env_fields[0]))

/* Deleting the environment: the same opt-in and confirmation. */
static const struct field delete_fields[] = {
	{ "remove_volumes", FT_BOOL, 0, 0, 0, NULL },
	{ "confirm_name", FT_TEXT, 0, 0, 200, NULL },
};

/* "Build": a commit (else the pinned one, else the branch head), and
 * whether to build a commit again that was built already. */
static const struct field build_fields[] = {
	{ "commit", FT_SHA, 0, 0, 0, NULL },
	{ "rebuild", FT_BOOL, 0, 0, 0, NULL },
};

static const struct field artifacts_query[] = {
	QUERY_PAGE,
};

const struct route env_routes[] = {
	{ "GET", "/apps/:uuid/envs/new", new_get, NULL, 0, 0, NULL, 0, NULL },
	{ "POST", "/apps/:uuid/envs", create_post, env_fields, NFIELDS,
	    R_CREATE, NULL, 0, NULL },
	{ "GET", "/apps/:uuid/envs/:uuid", show_get, NULL, 0, 0, NULL, 0, NULL },
	{ "GET", "/apps/:uuid/envs/:uuid/edit", edit_get, NULL, 0, 0, NULL, 0,
	    NULL },
	{ "POST", "/apps/:uuid/envs/:uuid", update_post, env_fields, NFIELDS,
	    R_UPDATE, NULL, 0, NULL },
	{ "POST", "/apps/:uuid/envs/:uuid/delete", delete_post, delete_fields,
	    2, 0, NULL, 0, NULL },
	{ "GET", "/apps/:uuid/envs/:uuid/artifacts", artifacts_get, NULL, 0, 0,
	    artifacts_query, 1, NULL },
	{ "POST", "/apps/:uuid/envs/:uuid/build", build_post, build_fields, 2, 0,
	    NULL, 0, NULL },
	{ "POST", "/apps/:uuid/envs/:uuid/deploy", deploy_post, NULL, 0, 0,
	    NULL, 0, NULL },
	{ "POST", "/apps/:uuid/envs/:uuid/artifacts/:uuid/deploy",
	    artifact_deploy_post, NULL, 0, 0, NULL, 0, NULL },
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
add_choice_flags(cJSON *m, const char *loc, const char *src, const char *preset)
{
	cJSON_AddBoolToObject(m, "loc_default", loc == NULL || strcmp(loc, "default") == 0);
	cJSON_AddBoolToObject(m, "loc_specific", loc != NULL && strcmp(loc, "specific") == 0);
	cJSON_AddBoolToObject(m, "loc_external", loc != NULL && strcmp(loc, "external") == 0);
	cJSON_AddBoolToObject(m, "src_repository", src == NULL || strcmp(src, "repository") == 0);
	cJSON_AddBoolToObject(m, "src_keystone", src != NULL && strcmp(src, "keystone") == 0);
	cJSON_AddBoolToObject(m, "preset_static", preset == NULL || strcmp(preset, "static") == 0);
	cJSON_AddBoolToObject(m, "preset_is_command", preset != NULL && strcmp(preset, "command") == 0);
}

static void
add_str(cJSON *m, const char *key, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(m, key, v);
}

/* Field errors found after the declarative pass (cross-field rules, the
 * builds' own checks, a refusal), each shown at its field. */
#define MAX_FERRS	12
struct ferrs {
	const char	*field[MAX_FERRS], *msg[MAX_FERRS];
	size_t		 n;
};

static void
ferr(struct ferrs *fe, const char *field, const char *msg)
{
	if (fe->n < MAX_FERRS) {
		fe->field[fe->n] = field;
		fe->msg[fe->n++] = msg;
	}
}

/* The form for a new environment (c->env not loaded) or an edit; after a
 * POST of this form the submitted values win (after one of the delete
 * form, refused, the stored ones). Secrets are never put back: only
 * whether one is stored. */
static int
form_page(struct req *r, int status, const struct envctx *c, int editing,
    const struct ferrs *fe)
{
	struct chosen	 chosen;
	cJSON		*m;
	const char	*build = NULL, *loc = NULL, *src = NULL, *preset = NULL;
	const struct env_row *e = &c->env;
	int		 vols;

	chosen.n = 0;
	if ((m = model_new(editing ? "Edit environment" : "New environment",
	    "apps")) == NULL)
		return 500;
	cJSON_AddItemToObject(m, "app", app_row_view(&c->app));
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddBoolToObject(m, "editing", editing);
	cJSON_AddStringToObject(m, "static_base", BUILD_STATIC_BASE);
	cJSON_AddStringToObject(m, "command_base", BUILD_COMMAND_BASE);
	if (editing) {
		cJSON_AddStringToObject(m, "env_uuid", e->uuid);
		cJSON_AddBoolToObject(m, "password_set",
		    e->ext_registry_password_set == 1);
		/* Deleting volumes is offered only where there are some. */
		if ((vols = deploy_has_volumes(&r->app->db, r->params[0],
		    e->uuid)) == -1) {
			cJSON_Delete(m);
			return 500;
		}
		cJSON_AddBoolToObject(m, "has_volumes", vols == 1);
		cJSON_AddStringToObject(m, "env_name", e->name);
	}
	if (strcmp(r->method, "POST") == 0 && r->route->fields == env_fields) {
		model_form(m, r, env_fields, NFIELDS);
		build = input_get(&r->in, "build_server");
		loc = input_get(&r->in, "build_location");
		src = input_get(&r->in, "dockerfile_source");
		preset = input_get(&r->in, "preset");
		submitted_servers(r, &chosen);
	} else if (editing) {
		add_str(m, "v_name", e->name);
		add_str(m, "v_branch", e->branch);
		add_str(m, "v_pinned_commit", e->pinned_commit);
		add_str(m, "v_dockerfile_path", e->dockerfile_path);
		cJSON_AddNumberToObject(m, "v_retention_count",
		    (double)e->retention_count);
		add_str(m, "v_build_context", e->build_context);
		add_str(m, "v_preset_base_image", e->preset_base_image);
		add_str(m, "v_preset_root", e->preset_root);
		add_str(m, "v_preset_command", e->preset_command);
		add_str(m, "v_build_args", e->build_args);
		cJSON_AddNumberToObject(m, "v_build_timeout_s",
		    (double)e->build_timeout_s);
		add_str(m, "v_ext_registry_host", e->ext_registry_host);
		add_str(m, "v_ext_registry_user", e->ext_registry_user);
		add_str(m, "v_ext_registry_ca", e->ext_registry_ca);
		build = e->build_server_uuid;
		loc = e->build_location;
		src = e->dockerfile_source;
		preset = e->preset;
		for (size_t i = 0; i < c->servers.n && i < 64; i++)
			chosen.v[chosen.n++] = c->servers.v[i].uuid;
	} else {
		cJSON_AddStringToObject(m, "v_dockerfile_path", "Dockerfile");
		cJSON_AddStringToObject(m, "v_retention_count", "3");
		cJSON_AddStringToObject(m, "v_build_context", ".");
		cJSON_AddStringToObject(m, "v_build_timeout_s", "1800");
	}
	add_choice_flags(m, loc, src, preset);
	if (add_server_choices(r, m, build, &chosen) == -1) {
		cJSON_Delete(m);
		return 500;
	}
	for (size_t i = 0; fe != NULL && i < fe->n; i++)
		model_field_error(m, fe->field[i], fe->msg[i]);
	return page(r, status, "env_form", m);
}

static int
is(const char *v, const char *want)
{
	return v != NULL && strcmp(v, want) == 0;
}

/* Cross-field rules the declarative pass cannot express, and the builds'
 * own checks of what a build will use (c: the stored row when editing). */
static void
check_build(const struct req *r, const struct envctx *c, int editing,
    struct ferrs *fe)
{
	const char	*loc = input_get(&r->in, "build_location");
	const char	*src = input_get(&r->in, "dockerfile_source");
	const char	*preset = input_get(&r->in, "preset");
	const char	*v, *msg, *host, *user, *pw;

	if (is(loc, "specific") && input_get(&r->in, "build_server") == NULL)
		ferr(fe, "build_server", "choose the build server");
	if (is(src, "keystone") && preset == NULL)
		ferr(fe, "preset", "choose what the Keystone Dockerfile builds");
	if ((v = input_get(&r->in, "preset_base_image")) != NULL &&
	    (msg = build_check_image(v)) != NULL)
		ferr(fe, "preset_base_image", msg);
	if ((v = input_get(&r->in, "preset_command")) != NULL &&
	    (msg = build_check_command(v)) != NULL)
		ferr(fe, "preset_command", msg);
	else if (v == NULL && is(src, "keystone") && is(preset, "command"))
		ferr(fe, "preset_command", "is required for this preset");
	if ((v = input_get(&r->in, "build_args")) != NULL &&
	    (msg = build_check_args(v)) != NULL)
		ferr(fe, "build_args", msg);

	host = input_get(&r->in, "ext_registry_host");
	user = input_get(&r->in, "ext_registry_user");
	pw = input_get(&r->in, "ext_registry_password");
	if (host != NULL && (msg = build_check_registry_host(host)) != NULL)
		ferr(fe, "ext_registry_host", msg);
	if ((v = input_get(&r->in, "ext_registry_ca")) != NULL &&
	    (msg = build_check_ca(v)) != NULL)
		ferr(fe, "ext_registry_ca", msg);
	if (user != NULL && strcspn(user, " \t:") != strlen(user))
		ferr(fe, "ext_registry_user", "must not contain spaces or ':'");
	if (host != NULL && user == NULL)
		ferr(fe, "ext_registry_user", "is required with a registry host");
	if (!is(loc, "external"))
		return;
	if (host == NULL)
		ferr(fe, "ext_registry_host", "is required for an external registry");
	/* The stored password serves only the registry and user it was given
	 * for (ST_BSET_REGISTRY). */
	if (pw == NULL && !(editing && c->env.ext_registry_password_set == 1 &&
	    is(c->env.ext_registry_host, host != NULL ? host : "") &&
	    is(c->env.ext_registry_user, user != NULL ? user : "")))
		ferr(fe, "ext_registry_password", "is required for this registry "
		    "and user");
}

/* Writes the registry override inside the environment's transaction
 * (cgi's part of m_env_insert/update: sealing needs the keys). */
struct after_reg {
	struct req	*r;
	int		 external;
	char		 conflict[512];	/* an address and port claimed twice */
};

static int
after_registry(struct db *db, long long id, const char *uuid, void *arg)
{
	struct after_reg *a = arg;
	const struct input *in = &a->r->in;
	const char	*host = input_get(in, "ext_registry_host");

	if (build_set_registry(db, &a->r->app->keys, uuid, host,
	    host != NULL ? input_get(in, "ext_registry_user") : NULL,
	    host != NULL ? input_get(in, "ext_registry_password") : NULL,
	    host != NULL ? input_get(in, "ext_registry_ca") : NULL) == -1)
		return -1;
	if (a->external && m_env_set_external(db, id) == -1)
		return -1;
	/* The runtime servers chosen may already serve another
	 * environment's service at one of this one's addresses and ports. */
	switch (svc_env_conflict(db, id, a->conflict, sizeof(a->conflict))) {
	case 0:
		return 0;
	case 1:
		return 1;
	default:
		return -1;
	}
}

static void
env_in(const struct req *r, struct env_in *e, struct after_reg *ar)
{
	const char	*loc = input_get(&r->in, "build_location");
	const char	*preset = input_get(&r->in, "preset");

	memset(e, 0, sizeof(*e));
	e->name = input_get(&r->in, "name");
	e->branch = input_get(&r->in, "branch");
	e->pinned_commit = input_get(&r->in, "pinned_commit");
	e->dockerfile_source = input_get(&r->in, "dockerfile_source");
	e->dockerfile_path = input_get(&r->in, "dockerfile_path");
	if (e->dockerfile_path == NULL)
		e->dockerfile_path = "Dockerfile";
	/* The external override is chosen by the after hook, once its
	 * fields are written (a CHECK of sql/014 wants them first). */
	e->build_location = is(loc, "external") ? "default" : loc;
	/* A build server is kept only when the intent asks for one. */
	e->build_server = is(loc, "specific") ?
	    input_get(&r->in, "build_server") : NULL;
	e->retention_count = input_get(&r->in, "retention_count");
	e->build_context = input_get(&r->in, "build_context");
	e->preset = preset;
	e->preset_base_image = input_get(&r->in, "preset_base_image");
	if (e->preset_base_image == NULL && preset != NULL)
		e->preset_base_image = is(preset, "static") ? BUILD_STATIC_BASE :
		    BUILD_COMMAND_BASE;
	e->preset_root = input_get(&r->in, "preset_root");
	if (e->preset_root == NULL && is(preset, "static"))
		e->preset_root = ".";
	e->preset_command = input_get(&r->in, "preset_command");
	e->build_args = input_get(&r->in, "build_args");
	e->build_timeout_s = input_get(&r->in, "build_timeout_s");
	ar->external = is(loc, "external");
	e->after = after_registry;
	e->after_arg = ar;
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
	/* sql/014_builds.sql's: a preset for a Keystone Dockerfile, the
	 * override's fields for an external registry. */
	if (strcmp(c, "environments_check1") == 0) {
		*msg = "choose what the Keystone Dockerfile builds";
		return "preset";
	}
	if (strcmp(c, "environments_check2") == 0) {
		*msg = "is required for an external registry";
		return "ext_registry_host";
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

/* Create (editing 0) or update: validation, the cross-field rules, the
 * write, then the form again with the refusals or a redirect. */
static int
save(struct req *r, int editing)
{
	struct envctx	 c;
	struct env_in	 e;
	struct after_reg ar = { r, 0, "" };
	struct chosen	 srv;
	struct ferrs	 fe;
	const char	*field, *msg;
	char		 uuid[40], loc[200];
	int		 volumes, rc;

	fe.n = 0;
	if ((rc = load(r, &c, editing, editing)) != 0)
		goto out;
	if (!r->invalid)
		check_build(r, &c, editing, &fe);
	volumes = editing && is(input_get(&r->in, "remove_volumes"), "true");
	if ((msg = deploy_volumes_refused(volumes, input_get(&r->in,
	    "confirm_name"), c.env.name)) != NULL)
		ferr(&fe, "confirm_name", msg);
	if (r->invalid || fe.n > 0) {
		rc = form_page(r, 422, &c, editing, &fe);
		goto out;
	}
	env_in(r, &e, &ar);
	submitted_servers(r, &srv);
	if (editing)
		rc = m_env_update(&r->app->db, r->params[0], r->params[1], &e,
		    srv.v, srv.n);
	else
		rc = m_env_insert(&r->app->db, r->params[0], &e, srv.v, srv.n,
		    uuid);
	if (rc == 1 && ar.conflict[0] != '\0') {
		ferr(&fe, "runtime_servers", ar.conflict);
		rc = form_page(r, 422, &c, editing, &fe);
		goto out;
	}
	if (rc == 1) {
		field = refusal_field(r, &msg);
		ferr(&fe, field, msg);
		rc = form_page(r, 422, &c, editing, &fe);
		goto out;
	}
	if (rc == -1) {
		rc = 500;
		goto out;
	}
	/* A runtime server taken out: what runs there is removed (an
	 * operation; its volumes only when confirmed above). */
	for (size_t i = 0; editing && i < c.servers.n; i++) {
		struct deploy_remove rq = { r->params[1], c.servers.v[i].uuid,
		    volumes, 0, r->user_id };
		char	 op[40], err[256];
		int	 kept = 0;

		for (size_t j = 0; j < srv.n; j++)
			kept |= strcmp(srv.v[j], c.servers.v[i].uuid) == 0;
		if (!kept && deploy_plan_remove(&r->app->db, &r->app->cfg,
		    &r->app->keys, &rq, op, err, sizeof(err)) != 0)
			log_warnx("environment %s: removing it from server %s "
			    "was not queued%s%s", r->params[1], c.servers.v[i].name,
			    err[0] ? ": " : "", err);
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
		rc = form_page(r, 200, &c, 0, NULL);
	envctx_free(&c);
	return rc;
}

static int
create_post(struct req *r)
{
	return save(r, 0);
}

/* The environment's page (status, and error: a refusal of its Build form
 * shown above it, with the submitted values), with its builds. */
static int
show_page(struct req *r, int status, const char *error)
{
	struct envctx	 c;
	struct env_builds b;
	struct svc_list	 svcs;
	cJSON		*m = NULL, *env;
	char		 hook_url[512];
	int		 rc;

	memset(&b, 0, sizeof(b));
	memset(&svcs, 0, sizeof(svcs));
	if ((rc = load(r, &c, 1, 1)) != 0)
		goto out;
	rc = 500;
	if ((m = model_new(c.env.name, "apps")) == NULL ||
	    (env = env_row_view(&c.env)) == NULL)
		goto out;
	if (m_env_builds(&r->app->db, c.env.id, ENV_LAST_BUILDS, &b) == -1) {
		cJSON_Delete(env);
		goto out;
	}
	cJSON_AddItemToObject(m, "builds", env_builds_view(&b));
	/* Its services, and what runs on each runtime server. */
	if (svc_list(&r->app->db, c.env.id, &svcs) == -1 ||
	    svc_env_status(&r->app->db, c.env.id, m) == -1) {
		cJSON_Delete(env);
		goto out;
	}
	cJSON_AddItemToObject(m, "services", svc_list_view(&svcs));
	if (error != NULL) {
		cJSON_AddStringToObject(m, "error", error);
		model_form(m, r, build_fields, sizeof(build_fields) /
		    sizeof(build_fields[0]));
	}
	/* On env itself: the template reads them inside {{#env}}, where a
	 * top-level section would hide env's own values. */
	add_choice_flags(env, c.env.build_location, c.env.dockerfile_source,
	    c.env.preset);
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddStringToObject(m, "env_uuid", c.env.uuid);
	/* The push hook's URL (cgi/r_hooks.c); its secret only on a click. */
	snprintf(hook_url, sizeof(hook_url), "%s/hooks/git/%s",
	    r->app->cfg.base_url != NULL ? r->app->cfg.base_url : "", c.env.uuid);
	cJSON_AddStringToObject(m, "hook_url", hook_url);
	cJSON_AddItemToObject(m, "app", app_row_view(&c.app));
	cJSON_AddItemToObject(m, "env", env);
	cJSON_AddItemToObject(m, "servers", env_servers_view(&c.servers));
	rc = page(r, status, "env_show", m);
	m = NULL;
out:
	cJSON_Delete(m);
	env_builds_free(&b);
	svc_list_free(&svcs);
	envctx_free(&c);
	return rc;
}

static int
show_get(struct req *r)
{
	return show_page(r, 200, NULL);
}

/*
 * "Build": queues a build (build_plan), then the operation's page; a
 * refusal (the registry, the build node, the repository access, a commit
 * built already) is shown on the environment's page with what to do.
 */
static int
build_post(struct req *r)
{
	struct envctx	 c;
	struct build_req b;
	char		 uuid[40], err[1024], loc[80];
	int		 rc;

	/* The environment of this application, or 404. */
	if ((rc = load(r, &c, 1, 0)) != 0) {
		envctx_free(&c);
		return rc;
	}
	envctx_free(&c);
	if (r->invalid)
		return show_page(r, 422, "Nothing built: the commit must be a "
		    "full commit SHA (40 hexadecimal digits), or empty.");
	memset(&b, 0, sizeof(b));
	b.env_uuid = r->params[1];
	b.commit = input_get(&r->in, "commit");
	b.rebuild = strcmp(input_get(&r->in, "rebuild"), "true") == 0;
	b.user_id = r->user_id;
	rc = build_plan(&r->app->db, &r->app->cfg, &r->app->keys, &b, uuid, err,
	    sizeof(err));
	if (rc == -1)
		return 500;
	if (rc == 1)
		return show_page(r, 409, err);
	snprintf(loc, sizeof(loc), "/ops/%s", uuid);
	return flash_redirect(r, "ok", "Build queued.", loc);
}

static int
edit_get(struct req *r)
{
	struct envctx	 c;
	int		 rc;

	if ((rc = load(r, &c, 1, 1)) == 0)
		rc = form_page(r, 200, &c, 1, NULL);
	envctx_free(&c);
	return rc;
}

static int
update_post(struct req *r)
{
	return save(r, 1);
}

/* Deleting an environment; its volumes too only when the box is ticked
 * and its name typed (else 422 on the edit page: nothing removed). */
static int
delete_post(struct req *r)
{
	struct envctx	 c;
	struct ferrs	 fe;
	const char	*msg;
	char		 loc[200], op[40], err[256];
	int		 volumes, rc;

	fe.n = 0;
	if ((rc = load(r, &c, 1, 1)) != 0)
		goto out;
	volumes = is(input_get(&r->in, "remove_volumes"), "true");
	if (r->invalid)
		msg = "the confirmation was not understood";
	else
		msg = deploy_volumes_refused(volumes, input_get(&r->in,
		    "confirm_name"), c.env.name);
	if (msg != NULL) {
		ferr(&fe, "delete", msg);
		rc = form_page(r, 422, &c, 1, &fe);
		goto out;
	}
	/* What runs on its servers goes first (an operation of no
	 * environment). */
	{
		struct deploy_remove rq = { r->params[1], NULL, volumes, 1,
		    r->user_id };

		if (deploy_plan_remove(&r->app->db, &r->app->cfg, &r->app->keys,
		    &rq, op, err, sizeof(err)) == -1) {
			rc = 500;
			goto out;
		}
	}
	if (m_env_delete(&r->app->db, r->params[0], r->params[1]) != 0) {
		rc = 500;
		goto out;
	}
	snprintf(loc, sizeof(loc), "/apps/%s", r->params[0]);
	rc = flash_redirect(r, "ok", volumes ? "Environment deleted; its "
	    "volumes are being deleted too." : "Environment deleted.", loc);
out:
	envctx_free(&c);
	return rc;
}

/* The artifacts page (status, and error: a refusal of "Deploy this
 * version" shown above it). */
static int
artifacts_page(struct req *r, int status, const char *error)
{
	struct envctx		 c;
	struct artifact_list	 l;
	cJSON			*m = NULL, *rows, *row;
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
	/* Only an available artifact can be deployed. */
	for (size_t i = 0; i < l.n; i++)
		if ((row = cJSON_GetArrayItem(rows, (int)i)) != NULL)
			cJSON_AddBoolToObject(row, "deployable",
			    is(l.v[i].status, "available"));
	cJSON_AddItemToObject(m, "artifacts", rows);
	if (error != NULL)
		cJSON_AddStringToObject(m, "error", error);
	snprintf(base, sizeof(base), "/apps/%s/envs/%s/artifacts", r->params[0],
	    r->params[1]);
	model_pager(m, base, "created", pg, l.total);
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddStringToObject(m, "env_uuid", r->params[1]);
	cJSON_AddItemToObject(m, "app", app_row_view(&c.app));
	cJSON_AddItemToObject(m, "env", env_row_view(&c.env));
	rc = page(r, status, "artifacts", m);
	m = NULL;
out:
	cJSON_Delete(m);
	artifact_list_free(&l);
	envctx_free(&c);
	return rc;
}

static int
artifacts_get(struct req *r)
{
	return artifacts_page(r, 200, NULL);
}

/*
 * "Deploy" (artifact NULL: a build, and a deploy of what it makes) or
 * "Deploy this version" of an available artifact: deploy_plan, then the
 * deploy operation's page; a refusal (no service, no runtime server, a
 * server not active, the registry, an artifact not available) is a 409
 * with the reason on the page the button was on.
 */
static int
plan_deploy(struct req *r, const char *artifact)
{
	struct envctx	 c;
	struct deploy_req d;
	char		 uuid[40], err[1024], loc[80];
	int		 rc;

	if ((rc = load(r, &c, 1, 0)) != 0) {
		envctx_free(&c);
		return rc;
	}
	envctx_free(&c);
	memset(&d, 0, sizeof(d));
	d.env_uuid = r->params[1];
	d.artifact_uuid = artifact;
	d.user_id = r->user_id;
	rc = deploy_plan(&r->app->db, &r->app->cfg, &r->app->keys, &d, uuid,
	    err, sizeof(err));
	if (rc == -1)
		return 500;
	if (rc == 1)
		return artifact != NULL ? artifacts_page(r, 409, err) :
		    show_page(r, 409, err);
	snprintf(loc, sizeof(loc), "/ops/%s", uuid);
	return flash_redirect(r, "ok", "Deploy queued.", loc);
}

static int
deploy_post(struct req *r)
{
	return plan_deploy(r, NULL);
}

static int
artifact_deploy_post(struct req *r)
{
	return plan_deploy(r, r->params[2]);
}
