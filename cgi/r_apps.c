/*
 * Applications: list, create, show (with its environments), edit, delete.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "model.h"

static int list_get(struct req *);
static int new_get(struct req *);
static int create_post(struct req *);
static int show_get(struct req *);
static int edit_get(struct req *);
static int update_post(struct req *);
static int delete_get(struct req *);
static int delete_post(struct req *);

static const struct field app_fields[] = {
	{ "name", FT_NAME, FF_REQ, 0, 0, NULL },
	{ "repository_url", FT_GITURL, FF_REQ, 0, 0, NULL },
	{ "default_branch", FT_GITREF, FF_REQ, 0, 0, NULL },
};
#define NFIELDS	(sizeof(app_fields) / sizeof(app_fields[0]))

const struct route app_routes[] = {
	{ "GET", "/apps", list_get, NULL, 0, 0 },
	{ "GET", "/apps/new", new_get, NULL, 0, 0 },
	{ "POST", "/apps", create_post, app_fields, NFIELDS, 0 },
	{ "GET", "/apps/:uuid", show_get, NULL, 0, 0 },
	{ "GET", "/apps/:uuid/edit", edit_get, NULL, 0, 0 },
	{ "POST", "/apps/:uuid", update_post, app_fields, NFIELDS, 0 },
	{ "GET", "/apps/:uuid/delete", delete_get, NULL, 0, 0 },
	{ "POST", "/apps/:uuid/delete", delete_post, NULL, 0, 0 },
};
const size_t app_nroutes = sizeof(app_routes) / sizeof(app_routes[0]);

static const char *const sorts[] = { "name", "-name", "created", "-created", NULL };

static int
list_get(struct req *r)
{
	const char	*sort = req_sort(r, sorts, "name");
	long		 pg = req_page(r), total = 0;
	cJSON		*m = model_new("Applications", "apps"), *rows;

	if (m == NULL)
		return 500;
	if ((rows = m_app_list(&r->app->db, sort, APP_PAGE_SIZE,
	    (pg - 1) * APP_PAGE_SIZE, &total)) == NULL) {
		cJSON_Delete(m);
		return 500;
	}
	cJSON_AddItemToObject(m, "apps", rows);
	cJSON_AddStringToObject(m, "sort", sort);
	model_pager(m, "/apps", sort, pg, total);
	return page(r, 200, "apps", m);
}

static int
form_page(struct req *r, int status, const char *uuid, const cJSON *cur)
{
	cJSON	*m = model_new(uuid ? "Edit application" : "New application", "apps");

	if (m == NULL)
		return 500;
	cJSON_AddBoolToObject(m, "editing", uuid != NULL);
	if (uuid != NULL)
		cJSON_AddStringToObject(m, "uuid", uuid);
	if (cur != NULL) {
		static const char *const keys[] = { "name", "repository_url",
		    "default_branch" };
		char k[40];
		for (size_t i = 0; i < 3; i++) {
			snprintf(k, sizeof(k), "v_%s", keys[i]);
			cJSON_AddStringToObject(m, k, cJSON_GetStringValue(
			    cJSON_GetObjectItem(cur, keys[i])));
		}
	} else if (strcmp(r->method, "POST") == 0)
		model_form(m, r, app_fields, NFIELDS);
	else
		cJSON_AddStringToObject(m, "v_default_branch", "main");
	return page(r, status, "app_form", m);
}

static void
app_in(const struct req *r, struct app_in *a)
{
	a->name = input_get(&r->in, "name");
	a->repository_url = input_get(&r->in, "repository_url");
	a->default_branch = input_get(&r->in, "default_branch");
}

static int
refused(struct req *r, const char *uuid)
{
	cJSON	*m = model_new(uuid ? "Edit application" : "New application", "apps");

	if (m == NULL)
		return 500;
	cJSON_AddBoolToObject(m, "editing", uuid != NULL);
	if (uuid != NULL)
		cJSON_AddStringToObject(m, "uuid", uuid);
	model_form(m, r, app_fields, NFIELDS);
	if (strcmp(db_constraint(&r->app->db), "applications_name_key") == 0)
		model_field_error(m, "name", "is already used by another application");
	else
		model_field_error(m, "name", "was refused by the database");
	return page(r, 422, "app_form", m);
}

static int
new_get(struct req *r)
{
	return form_page(r, 200, NULL, NULL);
}

static int
create_post(struct req *r)
{
	struct app_in	 a;
	char		 uuid[40], loc[80];
	int		 rc;

	if (r->invalid)
		return form_page(r, 422, NULL, NULL);
	app_in(r, &a);
	if ((rc = m_app_insert(&r->app->db, &a, uuid)) == 1)
		return refused(r, NULL);
	if (rc == -1)
		return 500;
	snprintf(loc, sizeof(loc), "/apps/%s", uuid);
	return flash_redirect(r, "ok", "Application created.", loc);
}

static int
show_get(struct req *r)
{
	cJSON	*m, *a = NULL, *envs;
	int	 rc;

	if ((rc = fetch(r, m_app_get, r->params[0], &a)) != 0)
		return rc;
	if ((m = model_new(cJSON_GetStringValue(cJSON_GetObjectItem(a, "name")),
	    "apps")) == NULL || (envs = m_env_list(&r->app->db,
	    r->params[0])) == NULL) {
		cJSON_Delete(m);
		cJSON_Delete(a);
		return 500;
	}
	cJSON_AddStringToObject(m, "app_uuid", r->params[0]);
	cJSON_AddItemToObject(m, "app", a);
	cJSON_AddItemToObject(m, "environments", envs);
	return page(r, 200, "app_show", m);
}

static int
edit_get(struct req *r)
{
	cJSON	*a = NULL;
	int	 rc;

	if ((rc = fetch(r, m_app_get, r->params[0], &a)) != 0)
		return rc;
	rc = form_page(r, 200, r->params[0], a);
	cJSON_Delete(a);
	return rc;
}

static int
update_post(struct req *r)
{
	struct app_in	 a;
	char		 loc[80];
	int		 rc;

	if ((rc = fetch(r, m_app_get, r->params[0], NULL)) != 0)
		return rc;
	if (r->invalid)
		return form_page(r, 422, r->params[0], NULL);
	app_in(r, &a);
	if ((rc = m_app_update(&r->app->db, r->params[0], &a)) == 1)
		return refused(r, r->params[0]);
	if (rc == -1)
		return 500;
	snprintf(loc, sizeof(loc), "/apps/%s", r->params[0]);
	return flash_redirect(r, "ok", "Application saved.", loc);
}

static int
delete_get(struct req *r)
{
	cJSON	*m, *a = NULL;
	int	 rc;

	if ((rc = fetch(r, m_app_get, r->params[0], &a)) != 0)
		return rc;
	if ((m = model_new("Delete application", "apps")) == NULL) {
		cJSON_Delete(a);
		return 500;
	}
	cJSON_AddItemToObject(m, "app", a);
	return page(r, 200, "app_delete", m);
}

static int
delete_post(struct req *r)
{
	int	 rc;

	if ((rc = fetch(r, m_app_get, r->params[0], NULL)) != 0)
		return rc;
	if (m_app_delete(&r->app->db, r->params[0]) != 0)
		return 500;
	return flash_redirect(r, "ok", "Application deleted.", "/apps");
}
