/*
 * Applications: list, create, show (with its environments), edit, delete,
 * through the generic handlers (cgi/res.c).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "model.h"

static int apps_save(struct db *, const char *, const struct input *,
    char[40]);

static const struct field app_fields[] = {
	{ "name", FT_NAME, FF_REQ, 0, 0, NULL },
	{ "repository_url", FT_GITURL, FF_REQ, 0, 0, NULL },
	{ "default_branch", FT_GITREF, FF_REQ, 0, 0, NULL },
};
#define NFIELDS	(sizeof(app_fields) / sizeof(app_fields[0]))

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
	"environments", m_env_list_view, NULL,
};

const struct route app_routes[] = {
	RES_ROUTES("/apps", &apps, app_fields, NFIELDS, list_query,
	    sizeof(list_query) / sizeof(list_query[0])),
};
const size_t app_nroutes = sizeof(app_routes) / sizeof(app_routes[0]);

static int
apps_save(struct db *db, const char *uuid, const struct input *in,
    char out[40])
{
	struct app_in	 a = { input_get(in, "name"),
	    input_get(in, "repository_url"), input_get(in, "default_branch") };

	return uuid == NULL ? m_app_insert(db, &a, out) :
	    m_app_update(db, uuid, &a);
}
