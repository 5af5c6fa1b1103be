/*
 * Sign in, sign out and the overview page.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "buf.h"
#include "log.h"
#include "model.h"
#include "pw.h"
#include "service.h"
#include "valid.h"

static int login_get(struct req *);
static int login_post(struct req *);
static int logout_post(struct req *);
static int overview_get(struct req *);
static int healthz_get(struct req *);

static const struct field login_fields[] = {
	{ "username", FT_TEXT, FF_REQ, 0, 64, NULL },
	{ "password", FT_SECRET, FF_REQ, 0, 0, NULL },
	{ "next", FT_TEXT, 0, 0, 1024, NULL },
};

/* Where to go after signing in; "out" after signing out. */
static const struct field login_query[] = {
	{ "next", FT_TEXT, 0, 0, 1024, NULL },
	{ "out", FT_TEXT, 0, 0, 16, NULL },
};
#define NQUERY	(sizeof(login_query) / sizeof(login_query[0]))

const struct route auth_routes[] = {
	{ "GET", "/login", login_get, NULL, 0, R_PUBLIC, login_query, NQUERY,
	    NULL },
	{ "POST", "/login", login_post, login_fields, 3, R_PUBLIC, login_query,
	    NQUERY, NULL },
	{ "POST", "/logout", logout_post, NULL, 0, 0, NULL, 0, NULL },
	{ "GET", "/", overview_get, NULL, 0, 0, NULL, 0, NULL },
	{ "GET", "/healthz", healthz_get, NULL, 0, R_PUBLIC, NULL, 0, NULL },
};
const size_t auth_nroutes = sizeof(auth_routes) / sizeof(auth_routes[0]);

/* A post-login target must be one of our own paths. */
static const char *
safe_next(const char *next)
{
	if (next == NULL || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
	    strlen(next) > 512 || strpbrk(next, "\r\n\"'<>") != NULL)
		return "/";
	return next;
}

static int
login_form(struct req *r, int status, const char *msg)
{
	cJSON	*m = model_new("Sign in", NULL);
	const char *next = input_get(&r->in, "next");

	if (m == NULL)
		return 500;
	if (next == NULL)
		next = req_query(r, "next");
	cJSON_AddStringToObject(m, "next", safe_next(next));
	if (msg != NULL)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "error"), "msg", msg);
	if (req_query(r, "out") != NULL)
		cJSON_AddTrueToObject(m, "signed_out");
	model_form(m, r, login_fields, 1);
	return page(r, status, "login", m);
}

static int
login_get(struct req *r)
{
	if (r->authed)
		return redirect(r, "/");
	return login_form(r, 200, NULL);
}

static int
login_post(struct req *r)
{
	struct app	*a = r->app;
	const char	*user = input_get(&r->in, "username");
	const char	*secret_pw = input_get(&r->in, "password");
	char		 id[SESS_IDLEN], hash[65], newhash[PW_HASHBYTES];
	char		 name[M_LOGIN_NAMELEN];
	struct user_row	 u;
	long long	 fu = 0, fa = 0;
	int		 rc, ok = 0;
	static const char *const refusal = "Wrong username or password.";

	if (r->invalid || user == NULL || secret_pw == NULL)
		return login_form(r, 401, refusal);
	/* Looked up first: an unknown name (perhaps a password typed into the
	 * wrong field) is recorded, counted and logged only keyed-hashed. */
	if ((rc = m_user_by_name(&a->db, user, &u)) == -1)
		return 500;
	m_login_name(name, a->keys.login, user, rc == 1);
	if (m_login_failures(&a->db, name, r->remote_addr, &fu, &fa) == -1) {
		user_row_free(&u);
		return 500;
	}
	if (fu >= a->cfg.login_max_failures || fa >= a->cfg.login_max_addr_failures) {
		log_warnx("login: throttled user=%s addr=%s (failures user=%lld "
		    "addr=%lld)", name, r->remote_addr, fu, fa);
		(void)m_login_record(&a->db, name, r->remote_addr, 0);
		user_row_free(&u);
		return login_form(r, 429, "Too many failed attempts. Try again "
		    "in an hour.");
	}
	/* An unknown user costs the same as a wrong password: one argon2id
	 * run against the dummy hash pw_init built at start. */
	ok = pw_check(rc == 1 ? u.password_hash : NULL, secret_pw, newhash);
	if (ok == -1) {
		user_row_free(&u);
		log_warnx("login: password check failed to run");
		return 500;
	}
	if (ok == 1 && newhash[0] != '\0')
		(void)m_user_set_password(&a->db, user, newhash);
	(void)m_login_record(&a->db, name, r->remote_addr, ok);
	log_info("login: %s user=%s addr=%s", ok ? "success" : "failure", name,
	    r->remote_addr);
	if (!ok) {
		user_row_free(&u);
		return login_form(r, 401, refusal);
	}
	/* A fresh ID at every sign-in: a planted cookie never becomes a session. */
	sess_new(id, hash);
	if (m_sess_insert(&a->db, hash, u.id, r->remote_addr) != 0) {
		user_row_free(&u);
		sodium_memzero(id, sizeof(id));
		return 500;
	}
	user_row_free(&u);
	(void)m_sess_purge(&a->db, a->cfg.session_idle_min, a->cfg.session_max_hours);
	{
		struct buf	 ck, del;
		struct hdr	 h[3];
		int		 sent;

		buf_init(&ck);
		buf_init(&del);
		sess_cookie(&ck, SESS_COOKIE, id, -1);
		sess_cookie(&del, SESS_PRE_COOKIE, "", 0);
		h[0].name = "Location";
		h[0].value = safe_next(input_get(&r->in, "next"));
		h[1].name = "Set-Cookie";
		h[1].value = buf_cstr(&ck);
		h[2].name = "Set-Cookie";
		h[2].value = buf_cstr(&del);
		sent = http_open(&r->resp, 303, NULL, h, 3);
		sodium_memzero(id, sizeof(id));
		if (ck.ptr != NULL)
			sodium_memzero(ck.ptr, ck.len);
		buf_release(&ck);
		buf_release(&del);
		return sent == 0 ? 0 : 500;
	}
}

static int
logout_post(struct req *r)
{
	struct buf	 del;
	struct hdr	 h[2];
	int		 rc;

	if (m_sess_delete(&r->app->db, r->sess_hash) != 0)
		return 500;
	log_info("logout: user=%s", r->username);
	buf_init(&del);
	sess_cookie(&del, SESS_COOKIE, "", 0);
	h[0].name = "Location";
	h[0].value = "/login?out=1";
	h[1].name = "Set-Cookie";
	h[1].value = buf_cstr(&del);
	rc = http_open(&r->resp, 303, NULL, h, 2);
	buf_release(&del);
	return rc == 0 ? 0 : 500;
}

static int
overview_get(struct req *r)
{
	cJSON			*m = model_new("Overview", "overview");
	cJSON			*degraded;
	struct overview_row	 o;

	if (m == NULL || m_overview(&r->app->db, &o) != 1) {
		cJSON_Delete(m);
		return 500;
	}
	cJSON_AddItemToObject(m, "counts", overview_row_view(&o));
	/* Environments with a runtime server whose deploy failed. */
	if (svc_degraded_view(&r->app->db, &degraded) == -1) {
		cJSON_Delete(m);
		return 500;
	}
	cJSON_AddBoolToObject(m, "any_degraded",
	    cJSON_GetArraySize(degraded) > 0);
	cJSON_AddItemToObject(m, "degraded", degraded);
	/* The "Control node" panel: the default build node's health. */
	if (build_node_add(r, m, 0) == NULL) {
		cJSON_Delete(m);
		return 500;
	}
	return page(r, 200, "overview", m);
}

/*
 * Liveness for monitors and load balancers: the worker answers and its
 * database connection is up. No query, no session, no template: it is also
 * the floor of what one request through Caddy and FastCGI costs.
 */
static int
healthz_get(struct req *r)
{
	int	 up = db_ensure(&r->app->db) == 0;

	if (http_send(&r->resp, up ? 200 : 503, "text/plain; charset=utf-8",
	    NULL, 0, up ? "ok\n" : "database unavailable\n", up ? 3 : 21,
	    strcmp(r->method, "HEAD") == 0) == -1)
		return 500;
	return 0;
}
