/*
 * The FastCGI application: per-process state, the request as handlers see
 * it, and the helpers every handler uses to answer.
 */
#ifndef KS_APP_H
#define KS_APP_H

#include <cjson/cJSON.h>

#include "config.h"
#include "db.h"
#include "form.h"
#include "http.h"
#include "route.h"
#include "keys.h"
#include "sec.h"
#include "session.h"
#include "csrf.h"

#define APP_MAX_BODY	(64 * 1024)	/* form posts; larger bodies get 413 */
#define APP_MAX_RAW	(1024 * 1024)	/* R_RAWBODY posts (push hooks) */
#define APP_MAX_PATH	1024
#define APP_PAGE_SIZE	50

/* Route flags (lib/web/route.h has R_CREATE and R_UPDATE). */
#define R_PUBLIC	0x01	/* no session required */
#define R_NOCSRF	0x02	/* a machine's POST, authenticated otherwise */
#define R_RAWBODY	0x04	/* the body as sent (up to APP_MAX_RAW), any
				 * content type, for the handler to read */

struct app {
	struct config	 cfg;
	struct db	 db;
	/* KEYS_WEB, loaded by daemon_run (cgi/main.c): seals what it
	 * receives, opens no stored secret. */
	struct keys	 keys;
};

struct req {
	struct app	*app;
	struct resp	 resp;
	const char	*method;
	char		 path[APP_MAX_PATH];
	const char	*remote_addr;
	/* Raw input: read by cgi/app.c only; handlers see in and q. */
	struct kvlist	 query;
	struct kvlist	 form;
	struct kvlist	 cookies;
	const struct route *route;	/* the one matched */
	char		 params[ROUTE_MAXPARAMS][ROUTE_PARAMLEN];
	struct input	 in;		/* validated form fields */
	int		 invalid;	/* some field failed validation */
	struct input	 q;		/* validated query-string fields */
	/* Session, when signed in. */
	int		 authed;
	long long	 user_id;
	char		 username[72];
	char		 sess_hash[65];
	int		 has_flash;
	char		 csrf[CSRF_TOKENLEN];
	/* The login form's pre-session binding, when one was issued. */
	char		 pre[SESS_IDLEN];
	int		 pre_new;	/* pre must be sent as a cookie */
	const char	*allow;		/* Allow header of a 405 */
	const char	*callback;	/* X-Keystone-Callback header, if sent */
	int		 handled;	/* the route's handler ran */
	/* R_RAWBODY routes: the body and its content type. */
	const char	*raw;
	size_t		 rawlen;
	const char	*ctype;
	const struct reqenv *env;	/* for req_header() */
};

/* cgi/app.c: the dispatcher and answers. app_init reads the
 * configuration and the templates; the keys are not its part. */
int	 app_init(struct app *, const char *config_path);
void	 app_release(struct app *);
/* Handles one request; the caller fills method, path, body etc. through
 * the request environment accessors in main.c. */
struct reqenv {
	const char	*method, *uri, *query, *ctype, *clen, *cookie, *addr;
	const char	*callback;	/* X-Keystone-Callback */
	/* A request header by its CGI name ("HTTP_X_GITHUB_EVENT"), or NULL. */
	const char	*(*header)(void *arg, const char *name);
	void		 *harg;
	/* Reads up to n body bytes; returns bytes read, 0 at end, -1 error. */
	int		(*read)(void *arg, char *p, int n);
	void		 *rarg;
	int		(*write)(void *arg, const void *p, size_t n);
	void		 *warg;
};
void	 app_handle(struct app *, const struct reqenv *);

/* Answers. Each takes ownership of model (may be NULL) and returns 0, or
 * -1 when nothing could be sent (already logged). */
int	 page(struct req *, int status, const char *tpl, cJSON *model);
int	 redirect(struct req *, const char *location);
int	 flash_redirect(struct req *, const char *kind, const char *msg,
	    const char *location);
int	 error_page(struct req *, int status, const char *message);

/* A lookup's 1 found / 0 not found / -1 failure as 0 / 404 / 500. */
int	 found(int rc);

/* View-model helpers. */
cJSON	*model_new(const char *title, const char *nav);
/* Adds v_<field> with the submitted value (never for FT_SECRET; an array
 * of them for FF_MULTI) and err_<field> {msg} for each failed field; only
 * the fields the route takes (FF_CREATE/FF_UPDATE). */
void	 model_form(cJSON *, const struct req *, const struct field *, size_t);
/* Adds err_<field> {msg} for one field, e.g. from a uniqueness refusal. */
void	 model_field_error(cJSON *, const char *field, const char *msg);
/* A request header by its CGI name ("HTTP_X_GITHUB_EVENT"); NULL when
 * absent. For machine endpoints only: pages never read headers. */
const char *req_header(const struct req *, const char *name);
/* A validated query-string field (declared in the route), or NULL. */
const char *req_query(const struct req *, const char *name);
/* Pagination: the page number from ?page= (QUERY_PAGE), else 1. */
long	 req_page(const struct req *);
/* The sort from ?sort= (an FT_ENUM of the route), else its first choice. */
const char *req_sort(const struct req *);
void	 model_pager(cJSON *, const char *base, const char *sort, long page,
	    long total);
/* Adds "build_node": the health of build node server_id (0: the control
 * node), disk pressure against build_min_free_mb now. The object, or NULL
 * on failure. */
cJSON	*build_node_add(struct req *, cJSON *, long long server_id);

/* Query-string fields of list pages. */
#define QUERY_PAGE	{ "page", FT_INT, 0, 1, 100000, NULL }
#define QUERY_SORT(s)	{ "sort", FT_ENUM, 0, 0, 0, s }

/*
 * A resource described once: its form's fields (FF_CREATE/FF_UPDATE for
 * those of one action), the new form's defaults, which constraint refusal
 * maps to which field, its templates, titles and messages, and its model
 * as views. The generic handlers below (cgi/res.c) serve it; a route
 * names the resource as its ctx (RES_ROUTES makes the usual eight, with
 * the same fields as the resource's).
 */
struct refusal {
	const char	*constraint, *field, *msg;
};
struct fdefault {
	const char	*name, *value;	/* an FT_BOOL's: "true" or "false" */
};
struct resource {
	const char		*path;		/* "/servers" */
	const char		*nav;
	const char		*one, *many;	/* view keys: "server", "servers" */
	const char		*t_list, *t_new, *t_edit, *t_delete;
	const char		*tpl_list, *tpl_form, *tpl_show, *tpl_delete;
	const char		*m_created, *m_saved, *m_deleted;
	const char		*m_in_use;	/* a delete refused; NULL: none */
	const struct field	*fields;
	size_t			 nfields;
	const struct fdefault	*defaults;	/* NULL-terminated */
	/* NULL-terminated; any other refusal is put on the first's field. */
	const struct refusal	*refusals;
	int	(*list)(struct db *, const char *sort, long limit, long offset,
		    long *total, cJSON **rows);
	int	(*get)(struct db *, const char *uuid, cJSON **view);
	/* Inserts (uuid NULL; the new row's into out) or updates. */
	int	(*save)(struct db *, const char *uuid, const struct input *,
		    char out[40]);
	int	(*remove)(struct db *, const char *uuid);
	/* Optional: the rows the show page lists under children (e.g. an
	 * application's environments), as a view; 0 or -1. */
	const char	*children;
	int	(*kids)(struct db *, const char *uuid, cJSON **rows);
	/* Optional: answers a create in place of the redirect, or returns
	 * RES_PASS. */
	int	(*created)(struct req *, const char *uuid);
	/* Optional: a check of the validated form needing the request (its
	 * configuration): NULL, or the message for *field. */
	const char	*(*check)(const struct req *, const char **field);
	/* Optional: adds what the show page shows beyond the row and its
	 * children to its model m (the row's view under one); 0 or -1. */
	int	(*more)(struct req *, cJSON *m);
	/* Optional: runs before a delete (what the row's removal must undo
	 * elsewhere); 0, or -1 (500, nothing deleted). */
	int	(*before_remove)(struct req *, const char *uuid);
};
#define RES_PASS	1

int	 res_list(struct req *);
int	 res_new(struct req *);
int	 res_create(struct req *);
int	 res_show(struct req *);
int	 res_edit(struct req *);
int	 res_update(struct req *);
int	 res_delete_get(struct req *);
int	 res_delete_post(struct req *);

#define RES_ROUTES(base, rs, f, nf, lq, nlq)				\
	{ "GET", base, res_list, NULL, 0, 0, lq, nlq, rs },		\
	{ "GET", base "/new", res_new, NULL, 0, 0, NULL, 0, rs },	\
	{ "POST", base, res_create, f, nf, R_CREATE, NULL, 0, rs }, \
	{ "GET", base "/:uuid", res_show, NULL, 0, 0, NULL, 0, rs },	\
	{ "GET", base "/:uuid/edit", res_edit, NULL, 0, 0, NULL, 0, rs }, \
	{ "POST", base "/:uuid", res_update, f, nf, R_UPDATE, NULL, 0, rs }, \
	{ "GET", base "/:uuid/delete", res_delete_get, NULL, 0, 0, NULL, 0, rs }, \
	{ "POST", base "/:uuid/delete", res_delete_post, NULL, 0, 0, NULL, 0, rs }

/* Route tables, one per resource (cgi/r_*.c). */
extern const struct route	auth_routes[];
extern const size_t		auth_nroutes;
extern const struct route	server_routes[];
extern const size_t		server_nroutes;
extern const struct route	app_routes[];
extern const size_t		app_nroutes;
extern const struct route	env_routes[];
extern const size_t		env_nroutes;
extern const struct route	service_routes[];
extern const size_t		service_nroutes;
extern const struct route	op_routes[];
extern const size_t		op_nroutes;
extern const struct route	registry_routes[];
extern const size_t		registry_nroutes;
extern const struct route	provision_routes[];
extern const size_t		provision_nroutes;
extern const struct route	hook_routes[];
extern const size_t		hook_nroutes;
/* Logs a refusal of POST /provision/callback answered before its handler
 * ran (cgi/r_provision.c). */
void	provision_refused_early(struct req *);

#endif
