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
#include "model.h"
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
	{ "GET", "/registry", show_get, NULL, 0, 0, NULL, 0, NULL },
	{ "POST", "/registry/settings", settings_post, settings_fields,
	    sizeof(settings_fields) / sizeof(settings_fields[0]), 0, NULL, 0,
	    NULL },
	{ "POST", "/registry/provision", provision_post, NULL, 0, 0, NULL, 0,
	    NULL },
	{ "POST", "/registry/check", check_post, NULL, 0, 0, NULL, 0, NULL },
	{ "POST", "/registry/auth", auth_post, NULL, 0, 0, NULL, 0, NULL },
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
 * empty cell. l is ordered by node. */
static cJSON *
matrix(const struct reg_checks *l)
{
	cJSON		*rows = cJSON_CreateArray(), *row = NULL, *cells = NULL;
	const char	*node = NULL;
	struct buf	 msg;

	if (rows == NULL)
		return NULL;
	buf_init(&msg);
	for (size_t i = 0; i < l->n; i++) {
		const struct reg_check *c = &l->v[i];
		const char *text = c->message != NULL ? c->message : "";

		if (node == NULL || strcmp(node, c->node) != 0) {
			node = c->node;
			row = cJSON_CreateObject();
			cJSON_AddItemToArray(rows, row);
			cJSON_AddStringToObject(row, "label", c->label);
			cells = cJSON_AddArrayToObject(row, "cells");
			for (size_t k = 0; k < NCOLS; k++) {
				cJSON *e = cJSON_CreateObject();
				cJSON_AddTrueToObject(e, "none");
				cJSON_AddItemToArray(cells, e);
			}
		}
		for (size_t k = 0; k < NCOLS; k++) {
			cJSON *cell;
			if (strcmp(columns[k].check, c->check_name) != 0)
				continue;
			cell = cJSON_GetArrayItem(cells, (int)k);
			cJSON_DeleteItemFromObject(cell, "none");
			cJSON_AddBoolToObject(cell, c->ok == -1 ? "skipped" :
			    c->ok ? "ok" : "bad", 1);
			/* Digests shortened in the cell, whole on hover: the
			 * matrix stays inside a 1280 px window. */
			buf_reset(&msg);
			if (buf_put_abbrev_digests(&msg, text) == 0)
				cJSON_AddStringToObject(cell, "message", buf_cstr(&msg));
			cJSON_AddStringToObject(cell, "message_full", text);
			cJSON_AddStringToObject(cell, "at", c->at ? c->at : "");
		}
	}
	buf_release(&msg);
	return rows;
}

static int
render(struct req *r, int status, const char *error)
{
	cJSON		*m = model_new("Registry", "registry"), *cols;
	struct reg_page	 reg;
	struct reg_checks checks;
	struct reg	 row;
	struct reg_settings s;
	const char	*host, *store;
	int		 rc = 500, found;

	memset(&reg, 0, sizeof(reg));
	memset(&checks, 0, sizeof(checks));
	memset(&row, 0, sizeof(row));
	if (m == NULL)
		return 500;
	if ((found = m_reg_page(&r->app->db, &reg)) == -1)
		goto out;
	if (found) {
		cJSON_AddItemToObject(m, "registry", reg_page_view(&reg));
	} else {
		cJSON_AddTrueToObject(m, "missing");
	}
	if (reg_load(&r->app->db, &row) == -1)
		goto out;
	reg_settings(&r->app->cfg, &row, &s);
	host = s.hostname;
	store = s.storage;
	if (m_reg_checks(&r->app->db, &checks) == -1)
		goto out;
	cols = cJSON_AddArrayToObject(m, "columns");
	for (size_t c = 0; c < NCOLS; c++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "label", columns[c].label);
		cJSON_AddItemToArray(cols, o);
	}
	cJSON_AddBoolToObject(m, "has_rows", checks.n > 0);
	cJSON_AddItemToObject(m, "rows", matrix(&checks));
	/* The settings form shows what was submitted, else what is in
	 * effect (lib/domain/reg.c: stored, else configured, else the default). */
	if (strcmp(r->method, "POST") == 0) {
		if (kv_get(&r->form, "hostname") != NULL)
			host = kv_get(&r->form, "hostname");
		if (kv_get(&r->form, "storage_path") != NULL)
			store = kv_get(&r->form, "storage_path");
		model_form(m, r, settings_fields,
		    sizeof(settings_fields) / sizeof(settings_fields[0]));
	}
	if (error != NULL)
		cJSON_AddStringToObject(m, "error", error);
	cJSON_AddStringToObject(m, "hostname_value", host ? host : "");
	cJSON_AddStringToObject(m, "storage_value", store ? store : "");
	rc = page(r, status, "registry", m);
	m = NULL;
out:
	reg_page_free(&reg);
	reg_checks_free(&checks);
	reg_free(&row);
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

/* Queues through plan (one of lib/domain/reg.c's planners) and shows the new
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
