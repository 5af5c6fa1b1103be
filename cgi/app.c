#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "buf.h"
#include "log.h"
#include "model.h"
#include "pw.h"
#include "tmpl.h"
#include "valid.h"

struct table {
	const struct route	*routes;
	const size_t		*n;
};

static const struct table tables[] = {
	{ auth_routes, &auth_nroutes },
	{ server_routes, &server_nroutes },
	{ app_routes, &app_nroutes },
	{ env_routes, &env_nroutes },
	{ service_routes, &service_nroutes },
	{ op_routes, &op_nroutes },
	{ registry_routes, &registry_nroutes },
	{ provision_routes, &provision_nroutes },
	{ hook_routes, &hook_nroutes },
};

int
app_init(struct app *a, const char *config_path)
{
	char		 err[512];
	int		 rc = -1;

	memset(a, 0, sizeof(*a));
	config_init(&a->cfg);
	if (config_load(&a->cfg, config_path, err, sizeof(err)) == -1) {
		log_warnx("config: %s", err);
		return -1;
	}
	if (a->cfg.templates_dir == NULL) {
		log_warnx("config: templates_dir is required by keystone.fcgi");
		goto out;
	}
	if (tmpl_init(a->cfg.templates_dir) == -1) {
		log_warnx("templates: %s unreadable, layout.tpl missing, or a "
		    "template broken (ctemplate's message above)",
		    a->cfg.templates_dir);
		goto out;
	}
	/* Before the workers fork: no login ever pays for the dummy hash,
	 * so an unknown user costs what a wrong password does. */
	if (pw_init() == -1) {
		log_warnx("pw_init: could not build the dummy password hash");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

void
app_release(struct app *a)
{
	db_close(&a->db);
	config_release(&a->cfg);
	keys_release(&a->keys);
}

static int
resp_write(void *arg, const void *p, size_t n)
{
	const struct reqenv *env = arg;

	return env->write(env->warg, p, n);
}

/* ---- answers -------------------------------------------------------- */

cJSON *
build_node_add(struct req *r, cJSON *m, long long server_id)
{
	struct build_node_row	 b;
	cJSON			*v = NULL;

	if (m_build_node(&r->app->db, server_id,
	    (long long)r->app->cfg.build_min_free_mb * 1024, &b) == 1 &&
	    (v = build_node_row_view(&b)) != NULL) {
		cJSON_AddBoolToObject(v, "control", server_id == 0);
		cJSON_AddItemToObject(m, "build_node", v);
	}
	build_node_row_free(&b);
	return v;
}

cJSON *
model_new(const char *title, const char *nav)
{
	cJSON	*m = cJSON_CreateObject();

	if (m == NULL)
		return NULL;
	cJSON_AddStringToObject(m, "title", title);
	if (nav != NULL) {
		char key[32];
		snprintf(key, sizeof(key), "nav_%s", nav);
		cJSON_AddTrueToObject(m, key);
	}
	return m;
}

/* Sends the cookies a response must carry: a new pre-session binding. */
static size_t
cookie_headers(struct req *r, struct hdr *h, struct buf *store)
{
	size_t	 n = 0;

	if (r->allow != NULL) {
		h[n].name = "Allow";
		h[n].value = r->allow;
		n++;
	}
	if (r->pre_new) {
		buf_reset(store);
		if (sess_cookie(store, SESS_PRE_COOKIE, r->pre, -1) == 0) {
			h[n].name = "Set-Cookie";
			h[n].value = store->ptr;
			n++;
		}
	}
	return n;
}

int
page(struct req *r, int status, const char *tpl, cJSON *model)
{
	struct buf	 out, ck;
	struct hdr	 h[3];
	struct flash_row flash;
	size_t		 nh;
	int		 rc = -1;

	buf_init(&out);
	buf_init(&ck);
	memset(&flash, 0, sizeof(flash));
	if (model == NULL && (model = model_new("Keystone", NULL)) == NULL)
		goto out;
	if (r->authed) {
		cJSON *u = cJSON_AddObjectToObject(model, "user");
		if (u != NULL)
			cJSON_AddStringToObject(u, "username", r->username);
		cJSON_AddStringToObject(model, "csrf", r->csrf);
		if (r->has_flash && m_sess_take_flash(&r->app->db, r->sess_hash,
		    &flash) == 1 && flash.flash != NULL) {
			cJSON *f = cJSON_AddObjectToObject(model, "flash");
			if (f != NULL) {
				cJSON_AddStringToObject(f, "message", flash.flash);
				cJSON_AddStringToObject(f, "kind", flash.flash_kind ?
				    flash.flash_kind : "ok");
			}
		}
	} else if (r->pre[0] != '\0') {
		char tok[CSRF_TOKENLEN];
		csrf_token(tok, r->app->keys.csrf, r->pre);
		cJSON_AddStringToObject(model, "csrf", tok);
	}
	if (tmpl_render_page(&out, tpl, model) == -1) {
		log_warnx("template %s failed to render", tpl);
		if (status < 500) {
			/* Fall back to the plain error page once. */
			cJSON_Delete(model);
			flash_row_free(&flash);
			buf_release(&out);
			buf_release(&ck);
			return error_page(r, 500, "The page could not be rendered.");
		}
		goto out;
	}
	nh = cookie_headers(r, h, &ck);
	if (http_send(&r->resp, status, "text/html; charset=utf-8", h, nh,
	    out.ptr, out.len, strcmp(r->method, "HEAD") == 0) == -1)
		goto out;
	rc = 0;
out:
	cJSON_Delete(model);
	flash_row_free(&flash);
	buf_release(&out);
	buf_release(&ck);
	return rc;
}

int
redirect(struct req *r, const char *location)
{
	struct hdr	 h[3] = { { "Location", location } };
	struct buf	 ck;
	size_t		 nh;
	int		 rc;

	/* Only local paths: an open redirect would let a link on another
	 * site bounce a signed-in user anywhere. */
	if (location[0] != '/' || location[1] == '/' || location[1] == '\\')
		h[0].value = "/";
	buf_init(&ck);
	nh = 1 + cookie_headers(r, h + 1, &ck);
	rc = http_open(&r->resp, 303, NULL, h, nh);
	buf_release(&ck);
	return rc;
}

int
flash_redirect(struct req *r, const char *kind, const char *msg,
    const char *location)
{
	if (r->authed)
		(void)m_sess_set_flash(&r->app->db, r->sess_hash, kind, msg);
	return redirect(r, location);
}

int
error_page(struct req *r, int status, const char *message)
{
	cJSON	*m = model_new(http_reason(status), NULL);

	if (m != NULL) {
		cJSON_AddNumberToObject(m, "status", status);
		cJSON_AddStringToObject(m, "reason", http_reason(status));
		cJSON_AddStringToObject(m, "message", message);
	}
	if (status >= 500) {
		/* Never fall into page()'s fallback again. */
		struct buf out;
		int rc = -1;
		buf_init(&out);
		int head = strcmp(r->method, "HEAD") == 0;
		if (m != NULL && tmpl_render_page(&out, "error", m) == 0)
			rc = http_send(&r->resp, status, "text/html; charset=utf-8",
			    NULL, 0, out.ptr, out.len, head);
		if (rc == -1 && !r->resp.opened)
			rc = http_send(&r->resp, status, "text/plain; charset=utf-8",
			    NULL, 0, "Internal Server Error\n", 22, head);
		buf_release(&out);
		cJSON_Delete(m);
		return rc;
	}
	return page(r, status, "error", m);
}

int
found(int rc)
{
	return rc == 1 ? 0 : rc == 0 ? 404 : 500;
}

void
model_field_error(cJSON *m, const char *field, const char *msg)
{
	char	 key[80];
	cJSON	*e;

	snprintf(key, sizeof(key), "err_%s", field);
	cJSON_DeleteItemFromObject(m, key);
	if ((e = cJSON_AddObjectToObject(m, key)) != NULL)
		cJSON_AddStringToObject(e, "msg", msg);
	cJSON_DeleteItemFromObject(m, "has_errors");
	cJSON_AddTrueToObject(m, "has_errors");
}

void
model_form(cJSON *m, const struct req *r, const struct field *f, size_t n)
{
	unsigned	 skip = ROUTE_SKIP(r->route != NULL ? r->route->flags : 0);
	char		 key[80];
	cJSON		*a;

	for (size_t i = 0; i < n; i++) {
		const char *v;
		if (f[i].type == FT_SECRET || (f[i].flags & skip))
			continue;
		snprintf(key, sizeof(key), "v_%s", f[i].name);
		cJSON_DeleteItemFromObject(m, key);
		if (f[i].flags & FF_MULTI) {
			if ((a = cJSON_AddArrayToObject(m, key)) == NULL)
				continue;
			for (size_t j = 0; j < r->form.n; j++)
				if (strcmp(r->form.v[j].key, f[i].name) == 0)
					cJSON_AddItemToArray(a,
					    cJSON_CreateString(r->form.v[j].val));
		} else if (f[i].type == FT_BOOL) {
			v = kv_get(&r->form, f[i].name);
			cJSON_AddBoolToObject(m, key, v != NULL);
		} else if ((v = kv_get(&r->form, f[i].name)) != NULL)
			cJSON_AddStringToObject(m, key, v);
	}
	for (size_t i = 0; i < r->in.errs.n; i++)
		model_field_error(m, r->in.errs.v[i].key, r->in.errs.v[i].val);
}

const char *
req_header(const struct req *r, const char *name)
{
	if (r->env == NULL || r->env->header == NULL)
		return NULL;
	return r->env->header(r->env->harg, name);
}

const char *
req_query(const struct req *r, const char *name)
{
	return input_get(&r->q, name);
}

long
req_page(const struct req *r)
{
	const char	*v = req_query(r, "page");

	return v != NULL ? strtol(v, NULL, 10) : 1;
}

const char *
req_sort(const struct req *r)
{
	const char	*v = req_query(r, "sort");

	if (v != NULL)
		return v;
	for (size_t i = 0; i < r->route->nquery; i++)
		if (strcmp(r->route->query[i].name, "sort") == 0)
			return r->route->query[i].choices[0];
	return "";
}

void
model_pager(cJSON *m, const char *base, const char *sort, long page, long total)
{
	long	 pages = total > 0 ? (total + APP_PAGE_SIZE - 1) / APP_PAGE_SIZE : 1;
	char	 url[256];
	cJSON	*p;

	if ((p = cJSON_AddObjectToObject(m, "pager")) == NULL)
		return;
	cJSON_AddNumberToObject(p, "page", (double)page);
	cJSON_AddNumberToObject(p, "pages", (double)pages);
	cJSON_AddNumberToObject(p, "total", (double)total);
	if (page > 1) {
		snprintf(url, sizeof(url), "%s?sort=%s&page=%ld", base, sort, page - 1);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "prev"), "url", url);
	}
	if (page < pages) {
		snprintf(url, sizeof(url), "%s?sort=%s&page=%ld", base, sort, page + 1);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "next"), "url", url);
	}
}

/* ---- dispatch ------------------------------------------------------- */

/* Loads the session named by the cookie, if it is live. */
static int
load_session(struct req *r)
{
	const char	*id = kv_get(&r->cookies, SESS_COOKIE);
	struct sess_row	 s;
	int		 rc;

	if (id == NULL || sess_hash(id, r->sess_hash) == -1)
		return 0;
	rc = m_sess_get(&r->app->db, r->sess_hash, r->app->cfg.session_idle_min,
	    r->app->cfg.session_max_hours, &s);
	if (rc != 1)
		return rc;
	r->authed = 1;
	r->user_id = s.id;
	snprintf(r->username, sizeof(r->username), "%s", s.username);
	r->has_flash = s.has_flash == 1;
	/* Touch at most once a minute: a write per request would cost more
	 * than the page. */
	if (s.stale == 1)
		(void)m_sess_touch(&r->app->db, r->sess_hash);
	csrf_token(r->csrf, r->app->keys.csrf, r->sess_hash);
	sess_row_free(&s);
	return 1;
}

/* The login form binds its CSRF token to a random pre-session cookie. */
static void
ensure_pre(struct req *r)
{
	const char	*v = kv_get(&r->cookies, SESS_PRE_COOKIE);
	char		 h[65];

	if (v != NULL && sess_hash(v, h) == 0) {
		snprintf(r->pre, sizeof(r->pre), "%s", v);
		return;
	}
	sec_random_b64(r->pre, sizeof(r->pre), 32);
	r->pre_new = 1;
}

static int
check_csrf(struct req *r)
{
	const char	*tok = kv_get(&r->form, "csrf");

	if (kv_count(&r->form, "csrf") != 1)
		return -1;
	if (r->authed)
		return csrf_check(r->app->keys.csrf, r->sess_hash, tok);
	if (r->pre[0] == '\0' || r->pre_new)
		return -1;
	return csrf_check(r->app->keys.csrf, r->pre, tok);
}

static int
read_body(struct req *r, const struct reqenv *env, struct buf *body,
    size_t max, int *status)
{
	long	 clen = 0;
	char	 chunk[8192];
	int	 n;

	if (env->clen != NULL && env->clen[0] != '\0' &&
	    valid_int(env->clen, 0, 1L << 40, &clen) != NULL) {
		*status = 400;
		return -1;
	}
	if ((size_t)clen > max) {
		*status = 413;
		return -1;
	}
	while ((n = env->read(env->rarg, chunk, sizeof(chunk))) > 0) {
		if (body->len + (size_t)n > max) {
			*status = 413;
			return -1;
		}
		if (buf_put(body, chunk, (size_t)n) == -1) {
			*status = 500;
			return -1;
		}
	}
	(void)r;
	return 0;
}

static void
dispatch(struct req *r, const struct reqenv *env)
{
	const struct route	*rt = NULL;
	struct buf		 body;
	char			 allow[64], loc[APP_MAX_PATH + 16];
	const char		*q;
	size_t			 plen;
	int			 status = 0, rc;

	buf_init(&body);
	if (env->method == NULL || env->uri == NULL) {
		error_page(r, 400, "The request is malformed.");
		goto out;
	}
	r->method = env->method;
	q = strchr(env->uri, '?');
	plen = q ? (size_t)(q - env->uri) : strlen(env->uri);
	if (plen == 0 || plen >= sizeof(r->path)) {
		error_page(r, 404, "There is no such page.");
		goto out;
	}
	memcpy(r->path, env->uri, plen);
	r->path[plen] = '\0';
	if (env->query != NULL && form_parse(&r->query, env->query,
	    strlen(env->query)) != FORM_OK) {
		error_page(r, 400, "The query string is malformed or not UTF-8.");
		goto out;
	}
	/* A malformed Cookie header is treated as no cookies at all. */
	if (env->cookie != NULL && cookie_parse(&r->cookies, env->cookie) != FORM_OK)
		kvlist_release(&r->cookies);
	allow[0] = '\0';
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char	 a[sizeof(allow)];

		rt = route_match(tables[i].routes, *tables[i].n, r->method,
		    r->path, r->params, &rc, a, sizeof(a));
		if (rt != NULL)
			break;
		/* A path lives in one resource's table: keep its methods. */
		if (rc == 405 && status != 405) {
			status = 405;
			memcpy(allow, a, sizeof(allow));
		}
	}
	if (rt == NULL) {
		if (status == 405) {
			r->allow = allow;
			error_page(r, 405, "This page does not accept that method.");
		} else
			error_page(r, 404, "There is no such page.");
		goto out;
	}
	if (strcmp(r->method, "POST") == 0 && (rt->flags & R_RAWBODY)) {
		/* A machine's delivery: answered in plain text, its body and
		 * content type left to the handler. */
		if (read_body(r, env, &body, APP_MAX_RAW, &status) == -1) {
			const char *m = status == 413 ? "too large\n" :
			    status == 400 ? "malformed request\n" : "failed\n";
			(void)http_send(&r->resp, status, "text/plain; charset=utf-8",
			    NULL, 0, m, strlen(m), 0);
			goto out;
		}
		r->raw = body.ptr != NULL ? body.ptr : "";
		r->rawlen = body.len;
		r->ctype = env->ctype;
	} else if (strcmp(r->method, "POST") == 0) {
		if (read_body(r, env, &body, APP_MAX_BODY, &status) == -1) {
			error_page(r, status, status == 413 ?
			    "The form is too large." : "The request is malformed.");
			goto out;
		}
		if (env->ctype == NULL || strncmp(env->ctype,
		    "application/x-www-form-urlencoded", 33) != 0) {
			error_page(r, 415, "Forms must be sent URL-encoded.");
			goto out;
		}
		if (form_parse(&r->form, body.ptr ? body.ptr : "", body.len) != FORM_OK) {
			error_page(r, 400, "The form is malformed or not valid UTF-8.");
			goto out;
		}
	}
	if (load_session(r) == -1) {
		error_page(r, 500, "The database is unavailable.");
		goto out;
	}
	if (!r->authed && !(rt->flags & R_PUBLIC)) {
		if (strcmp(r->method, "GET") == 0 && strcmp(r->path, "/") != 0) {
			/* Only the path is carried over; it was matched by a route,
			 * so it holds only characters of our own URL space. */
			snprintf(loc, sizeof(loc), "/login?next=%s", r->path);
			redirect(r, loc);
		} else
			redirect(r, "/login");
		goto out;
	}
	if (!r->authed)
		ensure_pre(r);
	if (strcmp(r->method, "POST") == 0 && !(rt->flags & R_NOCSRF) &&
	    check_csrf(r) == -1) {
		log_warnx("csrf: refused %s %s from %s", r->method, r->path,
		    r->remote_addr);
		error_page(r, 403, "The form expired or did not come from this "
		    "site. Go back, reload the page and try again.");
		goto out;
	}
	r->route = rt;
	if (rt->nfields > 0) {
		rc = route_validate(rt->fields, rt->nfields, ROUTE_SKIP(rt->flags),
		    &r->form, &r->in);
		if (rc == -1) {
			error_page(r, 500, "Out of memory.");
			goto out;
		}
		r->invalid = rc;
	}
	/* A query value that fails is as if absent; a handler that must
	 * refuse it looks at r->q.errs. */
	if (rt->nquery > 0 && route_validate(rt->query, rt->nquery, 0,
	    &r->query, &r->q) == -1) {
		error_page(r, 500, "Out of memory.");
		goto out;
	}
	r->handled = 1;
	rc = rt->fn(r);
	if (rc != 0 && !r->resp.opened)
		error_page(r, rc, rc == 404 ? "There is no such page." :
		    rc == 400 ? "The request is malformed." :
		    "Something went wrong on our side; it has been logged.");
out:
	buf_release(&body);
}

void
app_handle(struct app *a, const struct reqenv *env)
{
	struct req	 r;

	memset(&r, 0, sizeof(r));
	r.app = a;
	r.resp.write = resp_write;
	r.resp.arg = (void *)env;
	r.env = env;
	r.method = "GET";
	r.remote_addr = env->addr != NULL ? env->addr : "";
	r.callback = env->callback != NULL && env->callback[0] != '\0' ?
	    env->callback : NULL;
	kvlist_init(&r.query);
	kvlist_init(&r.form);
	kvlist_init(&r.cookies);
	input_init(&r.in);
	input_init(&r.q);
	dispatch(&r, env);
	if (!r.resp.opened)
		(void)error_page(&r, 500, "No response was produced.");
	/* Every refusal of a server's report is logged, also those made
	 * before its handler ran (too large, not a form). */
	if (!r.handled && r.resp.status >= 400 &&
	    strcmp(r.path, "/provision/callback") == 0)
		provision_refused_early(&r);
	/* A provisioning link's path is its token: never logged. */
	log_info("%s %s %d %zu", r.method, strncmp(r.path, "/provision/", 11) == 0 &&
	    strcmp(r.path, "/provision/callback") != 0 ? "/provision/[token]" : r.path,
	    r.resp.status, r.resp.bytes);
	/* Form values may hold passwords: wipe before freeing. */
	for (size_t i = 0; i < r.form.n; i++)
		sodium_memzero(r.form.v[i].val, r.form.v[i].vlen);
	for (size_t i = 0; i < r.in.vals.n; i++)
		sodium_memzero(r.in.vals.v[i].val, strlen(r.in.vals.v[i].val));
	kvlist_release(&r.query);
	kvlist_release(&r.form);
	kvlist_release(&r.cookies);
	input_release(&r.in);
	input_release(&r.q);
}
