/*
 * An environment's services (lib/domain/service.h): new, edit, delete,
 * with their variables and volumes on the service's form. Plain variables
 * are a textarea of NAME=value lines; a secret one is a name and a
 * write-only value, shown afterwards only as "set", each with its own
 * remove button. The list is on the environment's page (cgi/r_envs.c).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "buf.h"
#include "db.h"
#include "model.h"
#include "service.h"

static int new_get(struct req *);
static int create_post(struct req *);
static int edit_get(struct req *);
static int update_post(struct req *);
static int delete_post(struct req *);
static int secret_remove_post(struct req *);

static const char *const kinds[] = { "http", "command", "none", NULL };
static const char *const restarts[] = { "unless-stopped", "always",
	"on-failure", "no", NULL };

/*
 * The plain variables are read verbatim (FT_SECRET's kind: no trimming,
 * tabs and quotes kept) so that each value is saved byte for byte; they
 * are no secret, and this handler puts them back into the form itself.
 */
static const struct field svc_fields[] = {
	{ "name", FT_TEXT, FF_REQ, 0, 63, NULL },
	{ "command", FT_TEXT, 0, 0, 4096, NULL },
	{ "port", FT_INT, FF_REQ, 1, 65535, NULL },
	{ "bind_address", FT_TEXT, 0, 0, 64, NULL },
	{ "health_kind", FT_ENUM, FF_REQ, 0, 0, kinds },
	{ "health_path", FT_TEXT, 0, 0, 1024, NULL },
	{ "health_command", FT_TEXT, 0, 0, 4096, NULL },
	{ "health_interval_s", FT_INT, FF_REQ, 1, 300, NULL },
	{ "health_timeout_s", FT_INT, FF_REQ, 1, 3600, NULL },
	{ "restart_policy", FT_ENUM, FF_REQ, 0, 0, restarts },
	{ "vars", FT_SECRET, 0, 0, 0, NULL },
	{ "volumes", FT_LINES, 0, 0, 16 * 1024, NULL },
	{ "secret_name", FT_TEXT, 0, 0, 128, NULL },
	{ "secret_value", FT_SECRET, 0, 0, 0, NULL },
};
#define NFIELDS	(sizeof(svc_fields) / sizeof(svc_fields[0]))

static const struct field remove_fields[] = {
	{ "name", FT_TEXT, FF_REQ, 0, 128, NULL },
};

#define BASE	"/apps/:uuid/envs/:uuid/services"
const struct route service_routes[] = {
	{ "GET", BASE "/new", new_get, NULL, 0, 0, NULL, 0, NULL },
	{ "POST", BASE, create_post, svc_fields, NFIELDS, 0, NULL, 0, NULL },
	{ "GET", BASE "/:uuid/edit", edit_get, NULL, 0, 0, NULL, 0, NULL },
	{ "POST", BASE "/:uuid", update_post, svc_fields, NFIELDS, 0, NULL, 0,
	    NULL },
	{ "POST", BASE "/:uuid/delete", delete_post, NULL, 0, 0, NULL, 0, NULL },
	{ "POST", BASE "/:uuid/secrets/remove", secret_remove_post,
	    remove_fields, 1, 0, NULL, 0, NULL },
};
const size_t service_nroutes = sizeof(service_routes) /
    sizeof(service_routes[0]);

/* What the path names: the application, the environment and (with svc)
 * the service, each zeroed when not loaded. */
struct svcctx {
	struct app_row	 app;
	struct env_row	 env;
	struct svc_row	 svc;
};

static void
svcctx_free(struct svcctx *c)
{
	app_row_free(&c->app);
	env_row_free(&c->env);
	svc_row_free(&c->svc);
}

/* 0, or the status to answer. */
static int
load(struct req *r, struct svcctx *c, int svc)
{
	int	 rc;

	memset(c, 0, sizeof(*c));
	if ((rc = found(m_app_get(&r->app->db, r->params[0], &c->app))) != 0 ||
	    (rc = found(m_env_get(&r->app->db, r->params[0], r->params[1],
	    &c->env))) != 0 || !svc)
		return rc;
	return found(svc_get(&r->app->db, c->env.id, r->params[2], &c->svc));
}

static void
env_path(char *out, size_t sz, const struct req *r)
{
	snprintf(out, sz, "/apps/%s/envs/%s", r->params[0], r->params[1]);
}

/* The choices of a select, the current one selected. */
static void
add_choices(cJSON *m, const char *key, const char *const *choices,
    const char *cur)
{
	cJSON	*a, *o;

	if ((a = cJSON_AddArrayToObject(m, key)) == NULL)
		return;
	for (; *choices != NULL; choices++) {
		if ((o = cJSON_CreateObject()) == NULL)
			return;
		cJSON_AddStringToObject(o, "value", *choices);
		cJSON_AddBoolToObject(o, "selected", cur != NULL &&
		    strcmp(cur, *choices) == 0);
		cJSON_AddItemToArray(a, o);
	}
}

static void
add_str(cJSON *m, const char *key, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(m, key, v);
}

static void
add_int(cJSON *m, const char *key, long long v)
{
	char	 b[24];

	snprintf(b, sizeof(b), "%lld", v);
	cJSON_AddStringToObject(m, key, b);
}

/* The stored variables and volumes of the service being edited: the
 * plain ones as the textarea's lines, the secret ones by name. */
static int
add_stored(struct req *r, cJSON *m, const struct svc_row *s, int lines)
{
	struct svc_vars	 vars;
	struct svc_kvs	 vols;
	struct buf	 pv, vl;
	cJSON		*sec, *o;
	int		 rc = -1;

	memset(&vars, 0, sizeof(vars));
	memset(&vols, 0, sizeof(vols));
	buf_init(&pv);
	buf_init(&vl);
	if (svc_vars(&r->app->db, s->id, &vars) == -1 ||
	    svc_volumes(&r->app->db, s->id, &vols) == -1 ||
	    (sec = cJSON_AddArrayToObject(m, "secrets")) == NULL)
		goto out;
	for (size_t i = 0; i < vars.n; i++) {
		if (vars.v[i].secret == 1) {
			if ((o = cJSON_CreateObject()) == NULL)
				goto out;
			cJSON_AddStringToObject(o, "name", vars.v[i].name);
			cJSON_AddItemToArray(sec, o);
		} else if (lines && buf_printf(&pv, "%s=%s\n", vars.v[i].name,
		    vars.v[i].value) == -1)
			goto out;
	}
	for (size_t i = 0; lines && i < vols.n; i++)
		if (buf_printf(&vl, "%s:%s\n", vols.v[i].name,
		    vols.v[i].value) == -1)
			goto out;
	if (lines) {
		cJSON_AddStringToObject(m, "v_vars", buf_cstr(&pv));
		cJSON_AddStringToObject(m, "v_volumes", buf_cstr(&vl));
	}
	rc = 0;
out:
	svc_vars_free(&vars);
	svc_kvs_free(&vols);
	buf_release(&pv);
	buf_release(&vl);
	return rc;
}

/* The form for a new service (c->svc not loaded) or an edit; after a POST
 * the submitted values win (never a secret's value). */
static int
form_page(struct req *r, int status, const struct svcctx *c, int editing,
    const struct svc_errs *e)
{
	const struct svc_row *s = &c->svc;
	const char	*kind = "http", *restart = "unless-stopped";
	cJSON		*m;

	if ((m = model_new(editing ? "Edit service" : "New service",
	    "apps")) == NULL)
		return 500;
	cJSON_AddItemToObject(m, "app", app_row_view(&c->app));
	cJSON_AddItemToObject(m, "env", env_row_view(&c->env));
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddStringToObject(m, "env_uuid", r->params[1]);
	cJSON_AddBoolToObject(m, "editing", editing);
	if (editing)
		cJSON_AddStringToObject(m, "svc_uuid", s->uuid);
	if (strcmp(r->method, "POST") == 0) {
		model_form(m, r, svc_fields, NFIELDS);
		add_str(m, "v_vars", input_get(&r->in, "vars"));
		kind = input_get(&r->in, "health_kind");
		restart = input_get(&r->in, "restart_policy");
	} else if (editing) {
		add_str(m, "v_name", s->name);
		add_str(m, "v_command", s->command);
		add_int(m, "v_port", s->port);
		add_str(m, "v_bind_address", s->bind_address);
		add_str(m, "v_health_path", s->health_path);
		add_str(m, "v_health_command", s->health_command);
		add_int(m, "v_health_interval_s", s->health_interval_s);
		add_int(m, "v_health_timeout_s", s->health_timeout_s);
		kind = s->health_kind;
		restart = s->restart_policy;
	} else {
		cJSON_AddStringToObject(m, "v_port", "8080");
		cJSON_AddStringToObject(m, "v_health_path", "/");
		cJSON_AddStringToObject(m, "v_health_interval_s", "2");
		cJSON_AddStringToObject(m, "v_health_timeout_s", "60");
	}
	if (editing && add_stored(r, m, s, strcmp(r->method, "POST") != 0) ==
	    -1) {
		cJSON_Delete(m);
		return 500;
	}
	add_choices(m, "health_kinds", kinds, kind);
	add_choices(m, "restart_policies", restarts, restart);
	for (size_t i = 0; e != NULL && i < e->n; i++)
		model_field_error(m, e->field[i], e->msg[i]);
	return page(r, status, "svc_form", m);
}

/* Create (editing 0) or update. */
static int
save(struct req *r, int editing)
{
	struct svcctx	 c;
	struct svc_in	 in;
	struct svc_kvs	 vars, vols;
	struct svc_errs	 e;
	const char	*v;
	char		 uuid[40], loc[200], err[256];
	int		 rc;

	memset(&vars, 0, sizeof(vars));
	memset(&vols, 0, sizeof(vols));
	e.n = 0;
	if ((rc = load(r, &c, editing)) != 0)
		goto out;
	if (r->invalid) {
		rc = form_page(r, 422, &c, editing, NULL);
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.name = input_get(&r->in, "name");
	in.command = input_get(&r->in, "command");
	in.port = input_get(&r->in, "port");
	in.bind_address = input_get(&r->in, "bind_address");
	in.health_kind = input_get(&r->in, "health_kind");
	in.health_path = input_get(&r->in, "health_path");
	in.health_command = input_get(&r->in, "health_command");
	in.health_interval_s = input_get(&r->in, "health_interval_s");
	in.health_timeout_s = input_get(&r->in, "health_timeout_s");
	in.restart_policy = input_get(&r->in, "restart_policy");
	in.secret_name = input_get(&r->in, "secret_name");
	in.secret_value = input_get(&r->in, "secret_value");
	if ((v = input_get(&r->in, "vars")) != NULL &&
	    (rc = svc_parse_vars(v, &vars, err, sizeof(err))) != 0) {
		if (rc == -1) {
			rc = 500;
			goto out;
		}
		svc_err(&e, "vars", "%s", err);
	}
	if ((v = input_get(&r->in, "volumes")) != NULL &&
	    (rc = svc_parse_volumes(v, &vols, err, sizeof(err))) != 0) {
		if (rc == -1) {
			rc = 500;
			goto out;
		}
		svc_err(&e, "volumes", "%s", err);
	}
	in.vars = &vars;
	in.volumes = &vols;
	if (e.n > 0) {
		svc_check(&in, &e);
		rc = form_page(r, 422, &c, editing, &e);
		goto out;
	}
	rc = svc_save(&r->app->db, &r->app->keys, c.env.id,
	    editing ? r->params[2] : NULL, &in, uuid, &e);
	if (rc == 1) {
		rc = form_page(r, 422, &c, editing, &e);
		goto out;
	}
	if (rc == -1) {
		rc = 500;
		goto out;
	}
	env_path(loc, sizeof(loc), r);
	rc = flash_redirect(r, "ok", editing ? "Service saved." :
	    "Service created.", loc);
out:
	svc_kvs_free(&vars);
	svc_kvs_free(&vols);
	svcctx_free(&c);
	return rc;
}

static int
new_get(struct req *r)
{
	struct svcctx	 c;
	int		 rc;

	if ((rc = load(r, &c, 0)) == 0)
		rc = form_page(r, 200, &c, 0, NULL);
	svcctx_free(&c);
	return rc;
}

static int
create_post(struct req *r)
{
	return save(r, 0);
}

static int
edit_get(struct req *r)
{
	struct svcctx	 c;
	int		 rc;

	if ((rc = load(r, &c, 1)) == 0)
		rc = form_page(r, 200, &c, 1, NULL);
	svcctx_free(&c);
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
	struct svcctx	 c;
	char		 loc[200];
	int		 rc;

	if ((rc = load(r, &c, 0)) == 0) {
		rc = svc_delete(&r->app->db, c.env.id, r->params[2]);
		if (rc == 0) {
			env_path(loc, sizeof(loc), r);
			rc = flash_redirect(r, "ok", "Service deleted.", loc);
		} else
			rc = rc == 1 ? 404 : 500;
	}
	svcctx_free(&c);
	return rc;
}

static int
secret_remove_post(struct req *r)
{
	struct svcctx	 c;
	char		 loc[300];
	int		 rc;

	if ((rc = load(r, &c, 1)) != 0)
		goto out;
	if (r->invalid) {
		rc = error_page(r, 422, "Name the secret variable to remove.");
		goto out;
	}
	rc = svc_secret_remove(&r->app->db, c.svc.id,
	    input_get(&r->in, "name"));
	if (rc == -1) {
		rc = 500;
		goto out;
	}
	snprintf(loc, sizeof(loc), "/apps/%s/envs/%s/services/%s/edit",
	    r->params[0], r->params[1], r->params[2]);
	rc = flash_redirect(r, rc == 0 ? "ok" : "error", rc == 0 ?
	    "Secret variable removed." : "No such secret variable.", loc);
out:
	svcctx_free(&c);
	return rc;
}
