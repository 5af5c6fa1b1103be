/*
 * The Registry page: the managed registry's settings and state, its
 * health matrix (rows nodes, columns checks) and the actions that queue
 * its operations (provision, check, Docker auth on every node).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "buf.h"
#include "db.h"
#include "reg.h"

static int show_get(struct req *);
static int settings_post(struct req *);
static int provision_post(struct req *);
static int check_post(struct req *);
static int auth_post(struct req *);

static const struct field settings_fields[] = {
	{ "hostname", FT_TEXT, FF_REQ, 0, 260, NULL },
	{ "storage_path", FT_TEXT, FF_REQ, 0, 400, NULL },
};

const struct route registry_routes[] = {
	{ "GET", "/registry", show_get, NULL, 0, 0 },
	{ "POST", "/registry/settings", settings_post, settings_fields,
	    sizeof(settings_fields) / sizeof(settings_fields[0]), 0 },
	{ "POST", "/registry/provision", provision_post, NULL, 0, 0 },
	{ "POST", "/registry/check", check_post, NULL, 0, 0 },
	{ "POST", "/registry/auth", auth_post, NULL, 0, 0 },
};
const size_t registry_nroutes = sizeof(registry_routes) / sizeof(registry_routes[0]);

/* The matrix's columns, in order. */
static const struct {
	const char	*check, *label;
} columns[] = {
	{ "service", "Service" },
	{ "https", "HTTPS" },
	{ "push_api", "Build credential push" },
	{ "pull_api", "Runtime credential pull" },
	{ "refused", "Runtime push refused" },
	{ "push", "Docker push" },
	{ "pull", "Docker pull" },
	{ "disk", "Disk" },
};
#define NCOLS	(sizeof(columns) / sizeof(columns[0]))

/* rows nodes, cells in column order; a node without a check gets an
 * empty cell. res: ST_REG_CHECKS (ordered by node). */
static cJSON *
matrix(const PGresult *res)
{
	cJSON		*rows = cJSON_CreateArray(), *row = NULL, *cells = NULL;
	const char	*node = NULL;
	struct buf	 msg;

	if (rows == NULL)
		return NULL;
	buf_init(&msg);
	for (int i = 0; i < PQntuples(res); i++) {
		if (node == NULL || strcmp(node, PQgetvalue(res, i, 0)) != 0) {
			node = PQgetvalue(res, i, 0);
			row = cJSON_CreateObject();
			cJSON_AddItemToArray(rows, row);
			cJSON_AddStringToObject(row, "label", PQgetvalue(res, i, 5));
			cells = cJSON_AddArrayToObject(row, "cells");
			for (size_t c = 0; c < NCOLS; c++) {
				cJSON *e = cJSON_CreateObject();
				cJSON_AddTrueToObject(e, "none");
				cJSON_AddItemToArray(cells, e);
			}
		}
		for (size_t c = 0; c < NCOLS; c++) {
			cJSON *cell;
			if (strcmp(columns[c].check, PQgetvalue(res, i, 1)) != 0)
				continue;
			cell = cJSON_GetArrayItem(cells, (int)c);
			cJSON_DeleteItemFromObject(cell, "none");
			cJSON_AddBoolToObject(cell, PQgetisnull(res, i, 2) ? "skipped" :
			    PQgetvalue(res, i, 2)[0] == 't' ? "ok" : "bad", 1);
			/* Digests shortened in the cell, whole on hover: the
			 * matrix stays inside a 1280 px window. */
			buf_reset(&msg);
			if (buf_put_abbrev_digests(&msg, PQgetvalue(res, i, 3)) == 0)
				cJSON_AddStringToObject(cell, "message", buf_cstr(&msg));
			cJSON_AddStringToObject(cell, "message_full", PQgetvalue(res, i, 3));
			cJSON_AddStringToObject(cell, "at", PQgetvalue(res, i, 4));
		}
	}
	buf_release(&msg);
	return rows;
}

static int
render(struct req *r, int status, const char *error)
{
	cJSON		*m = model_new("Registry", "registry"), *reg, *cols;
	PGresult	*res = NULL;
	const char	*host = NULL, *store = NULL;
	int		 rc = 500;

	if (m == NULL)
		return 500;
	if ((res = db_exec(&r->app->db, ST_REG_PAGE, 0, NULL)) == NULL)
		goto out;
	if (PQntuples(res) == 1) {
		reg = db_row_json(res, 0);
		cJSON_AddItemToObject(m, "registry", reg);
		host = cJSON_GetStringValue(cJSON_GetObjectItem(reg, "hostname"));
		store = cJSON_GetStringValue(cJSON_GetObjectItem(reg, "storage_path"));
	} else {
		cJSON_AddTrueToObject(m, "missing");
	}
	PQclear(res);
	if ((res = db_exec(&r->app->db, ST_REG_CHECKS, 0, NULL)) == NULL)
		goto out;
	cols = cJSON_AddArrayToObject(m, "columns");
	for (size_t c = 0; c < NCOLS; c++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "label", columns[c].label);
		cJSON_AddItemToArray(cols, o);
	}
	cJSON_AddBoolToObject(m, "has_rows", PQntuples(res) > 0);
	cJSON_AddItemToObject(m, "rows", matrix(res));
	/* The settings form shows what was submitted, else what is stored,
	 * else the configuration's defaults. */
	if (strcmp(r->method, "POST") == 0) {
		host = kv_get(&r->form, "hostname");
		store = kv_get(&r->form, "storage_path");
		model_form(m, r, settings_fields,
		    sizeof(settings_fields) / sizeof(settings_fields[0]));
	}
	if (error != NULL)
		cJSON_AddStringToObject(m, "error", error);
	cJSON_AddStringToObject(m, "hostname_value", host ? host :
	    r->app->cfg.registry_host ? r->app->cfg.registry_host : "");
	cJSON_AddStringToObject(m, "storage_value", store ? store :
	    r->app->cfg.registry_storage ? r->app->cfg.registry_storage :
	    "/home/keystone/registry/data");
	rc = page(r, status, "registry", m);
	m = NULL;
out:
	PQclear(res);
	cJSON_Delete(m);
	return rc == -1 ? 0 : rc;
}

static int
show_get(struct req *r)
{
	return render(r, 200, NULL);
}

static int
settings_post(struct req *r)
{
	char	 err[256];

	if (r->invalid)
		return render(r, 400, NULL);
	if (reg_setup(&r->app->db, &r->app->cfg, &r->app->keys,
	    input_get(&r->in, "hostname"), input_get(&r->in, "storage_path"),
	    err, sizeof(err)) == -1)
		return err[0] ? render(r, 400, err) : 500;
	(void)flash_redirect(r, "ok", "Registry settings saved. Provision the "
	    "registry to apply them.", "/registry");
	return 0;
}

/* Queues through plan (one of lib/reg.c's planners) and shows the new
 * operation, or the page with the planner's reason. */
static int
queued(struct req *r, int rc, const char *uuid, const char *err)
{
	char	 loc[64];

	if (rc == -1)
		return err[0] ? render(r, 409, err) : 500;
	snprintf(loc, sizeof(loc), "/ops/%s", uuid);
	(void)redirect(r, loc);
	return 0;
}

static int
provision_post(struct req *r)
{
	char	 uuid[40], err[256];
	int	 rc;

	rc = reg_plan_provision(&r->app->db, &r->app->cfg, &r->app->keys,
	    r->user_id, uuid, err, sizeof(err));
	return queued(r, rc, uuid, err);
}

static int
check_post(struct req *r)
{
	char	 uuid[40], err[256];
	int	 rc;

	rc = reg_plan_check(&r->app->db, &r->app->cfg, &r->app->keys,
	    r->user_id, uuid, err, sizeof(err));
	return queued(r, rc, uuid, err);
}

static int
auth_post(struct req *r)
{
	char	 uuid[40], err[256];

	if (reg_plan_auth_all(&r->app->db, &r->app->cfg, &r->app->keys,
	    r->user_id, uuid, err, sizeof(err)) == -1)
		return err[0] ? render(r, 409, err) : 500;
	(void)flash_redirect(r, "ok", "Docker sign-in queued for every node.",
	    "/ops");
	return 0;
}
