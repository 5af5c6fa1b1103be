/*
 * The generic handlers over a resource described once (struct resource,
 * cgi/app.h): list, new, create, show, edit, update, delete. The route's
 * ctx names the resource; its first parameter is the row's UUID.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"

static const struct resource *
res(const struct req *r)
{
	return r->route->ctx;
}

/* The form for a new row (uuid NULL) or an edit; values from cur (the
 * stored row's view), else from the submitted form, else the defaults.
 * field and msg, when set, add one more field error. */
static int
form_page(struct req *r, int status, const char *uuid, const cJSON *cur,
    const char *field, const char *msg)
{
	const struct resource	*rs = res(r);
	cJSON			*m, *v;
	char			 key[80];

	if ((m = model_new(uuid ? rs->t_edit : rs->t_new, rs->nav)) == NULL)
		return 500;
	cJSON_AddBoolToObject(m, "editing", uuid != NULL);
	if (uuid != NULL)
		cJSON_AddStringToObject(m, "uuid", uuid);
	if (cur != NULL) {
		for (size_t i = 0; i < rs->nfields; i++) {
			const struct field *f = &rs->fields[i];
			if ((f->flags & (FF_CREATE | FF_MULTI)) ||
			    f->type == FT_SECRET ||
			    (v = cJSON_GetObjectItem(cur, f->name)) == NULL)
				continue;
			snprintf(key, sizeof(key), "v_%s", f->name);
			cJSON_AddItemToObject(m, key, cJSON_Duplicate(v, 1));
		}
	} else if (strcmp(r->method, "POST") == 0)
		model_form(m, r, rs->fields, rs->nfields);
	else
		for (const struct fdefault *d = rs->defaults; d && d->name; d++) {
			snprintf(key, sizeof(key), "v_%s", d->name);
			if (strcmp(d->value, "true") == 0 ||
			    strcmp(d->value, "false") == 0)
				cJSON_AddBoolToObject(m, key, d->value[0] == 't');
			else
				cJSON_AddStringToObject(m, key, d->value);
		}
	if (field != NULL)
		model_field_error(m, field, msg);
	return page(r, status, rs->tpl_form, m);
}

/* A write refused by a constraint: the form again, the refusal on the
 * field a user can fix. */
static int
refused(struct req *r, const char *uuid)
{
	const struct refusal	*f = res(r)->refusals;
	const char		*c = db_constraint(&r->app->db);

	for (; f->constraint != NULL; f++)
		if (strcmp(f->constraint, c) == 0)
			return form_page(r, 422, uuid, NULL, f->field, f->msg);
	return form_page(r, 422, uuid, NULL, res(r)->refusals[0].field,
	    "was refused by the database");
}

int
res_list(struct req *r)
{
	const struct resource	*rs = res(r);
	const char		*sort = req_sort(r);
	long			 pg = req_page(r), total = 0;
	cJSON			*m, *rows = NULL;

	if (rs->list(&r->app->db, sort, APP_PAGE_SIZE, (pg - 1) * APP_PAGE_SIZE,
	    &total, &rows) == -1)
		return 500;
	if ((m = model_new(rs->t_list, rs->nav)) == NULL) {
		cJSON_Delete(rows);
		return 500;
	}
	cJSON_AddItemToObject(m, rs->many, rows);
	cJSON_AddStringToObject(m, "sort", sort);
	model_pager(m, rs->path, sort, pg, total);
	return page(r, 200, rs->tpl_list, m);
}

int
res_new(struct req *r)
{
	return form_page(r, 200, NULL, NULL, NULL, NULL);
}

int
res_create(struct req *r)
{
	const struct resource	*rs = res(r);
	const char		*field, *msg;
	char			 uuid[40], loc[200];
	int			 rc;

	if (r->invalid)
		return form_page(r, 422, NULL, NULL, NULL, NULL);
	if (rs->check != NULL && (msg = rs->check(r, &field)) != NULL)
		return form_page(r, 422, NULL, NULL, field, msg);
	if ((rc = rs->save(&r->app->db, NULL, &r->in, uuid)) == 1)
		return refused(r, NULL);
	if (rc == -1)
		return 500;
	if (rs->created != NULL && (rc = rs->created(r, uuid)) != RES_PASS)
		return rc;
	snprintf(loc, sizeof(loc), "%s/%s", rs->path, uuid);
	return flash_redirect(r, "ok", rs->m_created, loc);
}

/* A page of the row the path names: the show page (title the row's
 * name, with the resource's children) or the delete confirmation. */
static int
row_page(struct req *r, const char *title, const char *tpl, int kids)
{
	const struct resource	*rs = res(r);
	cJSON			*m, *v = NULL, *rows;
	int			 rc;

	if ((rc = found(rs->get(&r->app->db, r->params[0], &v))) != 0)
		return rc;
	if (title == NULL)
		title = cJSON_GetStringValue(cJSON_GetObjectItem(v, "name"));
	if ((m = model_new(title, rs->nav)) == NULL) {
		cJSON_Delete(v);
		return 500;
	}
	cJSON_AddItemToObject(m, rs->one, v);
	if (kids && rs->kids != NULL) {
		if (rs->kids(&r->app->db, r->params[0], &rows) == -1) {
			cJSON_Delete(m);
			return 500;
		}
		cJSON_AddItemToObject(m, rs->children, rows);
	}
	if (kids && rs->more != NULL && rs->more(r, m) == -1) {
		cJSON_Delete(m);
		return 500;
	}
	return page(r, 200, tpl, m);
}

int
res_show(struct req *r)
{
	return row_page(r, NULL, res(r)->tpl_show, 1);
}

int
res_edit(struct req *r)
{
	cJSON	*v = NULL;
	int	 rc;

	if ((rc = found(res(r)->get(&r->app->db, r->params[0], &v))) != 0)
		return rc;
	rc = form_page(r, 200, r->params[0], v, NULL, NULL);
	cJSON_Delete(v);
	return rc;
}

/* 0 when the row named by the path exists, else the status to answer. */
static int
exists(struct req *r)
{
	cJSON	*v = NULL;
	int	 rc = found(res(r)->get(&r->app->db, r->params[0], &v));

	cJSON_Delete(v);
	return rc;
}

int
res_update(struct req *r)
{
	const struct resource	*rs = res(r);
	const char		*field, *msg;
	char			 loc[200];
	int			 rc;

	if ((rc = exists(r)) != 0)
		return rc;
	if (r->invalid)
		return form_page(r, 422, r->params[0], NULL, NULL, NULL);
	if (rs->check != NULL && (msg = rs->check(r, &field)) != NULL)
		return form_page(r, 422, r->params[0], NULL, field, msg);
	if ((rc = rs->save(&r->app->db, r->params[0], &r->in, NULL)) == 1)
		return refused(r, r->params[0]);
	if (rc == -1)
		return 500;
	snprintf(loc, sizeof(loc), "%s/%s", rs->path, r->params[0]);
	return flash_redirect(r, "ok", rs->m_saved, loc);
}

int
res_delete_get(struct req *r)
{
	return row_page(r, res(r)->t_delete, res(r)->tpl_delete, 0);
}

int
res_delete_post(struct req *r)
{
	const struct resource	*rs = res(r);
	char			 loc[200];
	int			 rc;

	if ((rc = exists(r)) != 0)
		return rc;
	if (rs->before_remove != NULL && rs->before_remove(r, r->params[0]) == -1)
		return 500;
	rc = rs->remove(&r->app->db, r->params[0]);
	if (rc == 1 && rs->m_in_use != NULL) {
		snprintf(loc, sizeof(loc), "%s/%s", rs->path, r->params[0]);
		return flash_redirect(r, "error", rs->m_in_use, loc);
	}
	if (rc != 0)
		return 500;
	return flash_redirect(r, "ok", rs->m_deleted, rs->path);
}
