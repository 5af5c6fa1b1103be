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
#define APP_MAX_PATH	1024
#define APP_PAGE_SIZE	50

/* Route flags. */
#define R_PUBLIC	0x01	/* no session required */
#define R_NOCSRF	0x02	/* a machine's POST, authenticated otherwise */

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
	struct kvlist	 query;
	struct kvlist	 form;
	struct kvlist	 cookies;
	char		 params[ROUTE_MAXPARAMS][ROUTE_PARAMLEN];
	struct input	 in;		/* validated form fields */
	int		 invalid;	/* some field failed validation */
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

/* Looks up the row named by a path UUID with one of the m_*_get wrappers:
 * 0 when found (*out owned by the caller; out may be NULL to only check),
 * else the status to answer (404 or 500). */
typedef int	(*getter)(struct db *, const char *, cJSON **);
int	 fetch(struct req *, getter, const char *uuid, cJSON **out);

/* View-model helpers. */
cJSON	*model_new(const char *title, const char *nav);
/* Adds v_<field> with the submitted value (never for FT_SECRET) and
 * err_<field> {msg} for each failed field. */
void	 model_form(cJSON *, const struct req *, const struct field *, size_t);
/* Adds err_<field> {msg} for one field, e.g. from a uniqueness refusal. */
void	 model_field_error(cJSON *, const char *field, const char *msg);
/* Pagination: page number from ?page=, validated (1..100000). */
long	 req_page(const struct req *);
/* Sort key from ?sort= if it is one of allowed (NULL-terminated), else dflt. */
const char *req_sort(const struct req *, const char *const *allowed,
	    const char *dflt);
void	 model_pager(cJSON *, const char *base, const char *sort, long page,
	    long total);

/* Route tables, one per resource (cgi/r_*.c). */
extern const struct route	auth_routes[];
extern const size_t		auth_nroutes;
extern const struct route	server_routes[];
extern const size_t		server_nroutes;
extern const struct route	app_routes[];
extern const size_t		app_nroutes;
extern const struct route	env_routes[];
extern const size_t		env_nroutes;
extern const struct route	op_routes[];
extern const size_t		op_nroutes;
extern const struct route	registry_routes[];
extern const size_t		registry_nroutes;
extern const struct route	provision_routes[];
extern const size_t		provision_nroutes;
/* Logs a refusal of POST /provision/callback answered before its handler
 * ran (cgi/r_provision.c). */
void	provision_refused_early(struct req *);

#endif
