/*
 * End-to-end tests against the running stack (Caddy, keystone.fcgi,
 * PostgreSQL): every request goes over HTTPS through libcurl, exactly as a
 * browser would send it, and what the pages claim is checked against the
 * database through libpq.
 *
 * Environment (set by tests/run.sh): KS_URL, KS_CA, KS_PGCONN, KS_USER and
 * KS_PASS (an existing account). Without them the program fails: a suite
 * that skipped itself would let `make check` pass with nothing tested.
 *
 * Each test runs in its own process (CK_FORK) with its own cookie jars and
 * database connection, and names everything it creates with a unique
 * suffix, so tests are independent and can be rerun on the same database.
 */
#define _GNU_SOURCE	/* memmem */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "buf.h"
#include "pw.h"
#include "sec.h"
#include "testutil.h"
#include "tu_web.h"

/* Spelled out, not taken from session.h: the name is part of the contract. */
#define COOKIE		"__Host-keystone"
#define PRE_COOKIE	"__Host-keystone-pre"
#define TEST_TIMEOUT	60
#define MAX_CLIENTS	8
#define MAX_PARAMS	8

/* ---- small string helpers ------------------------------------------- */

/* Appends an already encoded pair (for deliberately broken encodings). */
static void
fraw(struct buf *f, const char *pair)
{
	if (f->len > 0)
		buf_putc(f, '&');
	buf_puts(f, pair);
}

/* Copies in to out with every occurrence of from replaced by to. */
static void
replace_all(struct buf *out, const char *in, const char *from, const char *to)
{
	const char	*p;
	size_t		 flen = strlen(from);

	buf_reset(out);
	while ((p = strstr(in, from)) != NULL) {
		buf_put(out, in, (size_t)(p - in));
		buf_puts(out, to);
		in = p + flen;
	}
	buf_puts(out, in);
}

/* ---- HTTP ----------------------------------------------------------- */

/* The Set-Cookie header of the last response that sets cookie name. */
static const char *
set_cookie(const struct tw_client *cl, const char *name, char *out, size_t outsz)
{
	size_t	 nlen = strlen(name);

	for (int i = 0; tw_header_n(cl, "Set-Cookie", i, out, outsz) != NULL; i++)
		if (strncmp(out, name, nlen) == 0 && out[nlen] == '=')
			return out;
	return NULL;
}

/* The value in a Set-Cookie header ("name=VALUE; attr..."). */
static void
cookie_value(const char *sc, char *out, size_t outsz)
{
	const char	*v = strchr(sc, '='), *e;

	ck_assert_ptr_nonnull(v);
	v++;
	e = strchr(v, ';');
	if (e == NULL)
		e = v + strlen(v);
	ck_assert_uint_lt((size_t)(e - v), outsz);
	memcpy(out, v, (size_t)(e - v));
	out[e - v] = '\0';
}

/* 1 when the Set-Cookie header carries attribute attr (case-insensitive,
 * exact, or as a prefix when attr ends in '='). */
static int
cookie_attr(const char *sc, const char *attr)
{
	const char	*p = strchr(sc, ';');
	size_t		 alen = strlen(attr);

	while (p != NULL) {
		const char	*s = p + 1, *e;
		size_t		 len;

		while (*s == ' ')
			s++;
		e = strchr(s, ';');
		len = e ? (size_t)(e - s) : strlen(s);
		while (len > 0 && s[len - 1] == ' ')
			len--;
		if (attr[alen - 1] == '=') {
			if (len >= alen && strncasecmp(s, attr, alen) == 0)
				return 1;
		} else if (len == alen && strncasecmp(s, attr, alen) == 0)
			return 1;
		p = e;
	}
	return 0;
}

/* The text of the href of the link whose text starts with text. */
static int
link_href(const struct tw_client *cl, const char *text, char *out, size_t outsz)
{
	const char	*b = tw_body(cl), *t, *a, *h, *e;
	struct buf	 pat;

	buf_init(&pat);
	buf_printf(&pat, "\">%s", text);
	t = strstr(b, buf_cstr(&pat));
	buf_release(&pat);
	if (t == NULL)
		return 0;
	/* Back to the start of this <a ...>. */
	for (a = t; a > b && strncmp(a, "<a ", 3) != 0; a--)
		;
	if ((h = strstr(a, "href=\"")) == NULL || h > t)
		return 0;
	h += 6;
	e = strchr(h, '"');
	if (e == NULL || (size_t)(e - h) >= outsz)
		return 0;
	memcpy(out, h, (size_t)(e - h));
	out[e - h] = '\0';
	return 1;
}

/* ---- database ------------------------------------------------------- */

static void
new_uuid(char out[40])
{
	tw_sql_str(out, 40, "SELECT gen_random_uuid()", 0);
}

static long
count_servers(void)
{
	return tw_sql_long("SELECT count(*) FROM servers", 0);
}

static long
count_apps(void)
{
	return tw_sql_long("SELECT count(*) FROM applications", 0);
}

static long
count_envs(void)
{
	return tw_sql_long("SELECT count(*) FROM environments", 0);
}

/* ---- fixtures shared by several tests -------------------------------- */

static void
server_form(struct buf *f, const char *csrf, const char *name,
    const char *addr, const char *port, const char *user, int build,
    int runtime)
{
	buf_reset(f);
	if (csrf != NULL)
		tw_fadd(f, "csrf", csrf);
	tw_fadd(f, "name", name);
	tw_fadd(f, "address", addr);
	tw_fadd(f, "ssh_port", port);
	tw_fadd(f, "ssh_user", user);
	if (build)
		tw_fadd(f, "role_build", "1");
	if (runtime)
		tw_fadd(f, "role_runtime", "1");
}

/* Copies the UUID at the end of the last answer's Location (prefix + UUID). */
static void
uuid_from_location(const struct tw_client *cl, const char *prefix, char out[40])
{
	char	 loc[1024];
	size_t	 plen = strlen(prefix);

	if (tw_header(cl, "Location", loc, sizeof(loc)) == NULL)
		ck_abort_msg("no Location (status %ld):\n%.2000s", cl->status,
		    tw_body(cl));
	if (strncmp(loc, prefix, plen) != 0 || strlen(loc + plen) != 36)
		ck_abort_msg("Location %s is not %s<uuid>", loc, prefix);
	snprintf(out, 40, "%s", loc + plen);
}

/* Adds a server through the web form; its UUID in uuid. */
static void
web_server(struct tw_client *cl, const char *name, int build, int runtime,
    char uuid[40])
{
	struct buf	 f;
	char		 addr[128];

	tw_uniq(addr, sizeof(addr), "h");
	buf_init(&f);
	server_form(&f, cl->csrf, name, addr, "22", "keystone", build, runtime);
	ck_status(tw_post(cl, "/servers", &f), cl, 303);
	buf_release(&f);
	uuid_from_location(cl, "/servers/", uuid);
}

static void
app_form(struct buf *f, const char *csrf, const char *name, const char *url,
    const char *branch)
{
	buf_reset(f);
	if (csrf != NULL)
		tw_fadd(f, "csrf", csrf);
	tw_fadd(f, "name", name);
	tw_fadd(f, "repository_url", url);
	tw_fadd(f, "default_branch", branch);
}

static void
web_app(struct tw_client *cl, const char *name, char uuid[40])
{
	struct buf	 f;

	buf_init(&f);
	app_form(&f, cl->csrf, name, "https://git.example.com/team/app.git",
	    "main");
	ck_status(tw_post(cl, "/apps", &f), cl, 303);
	buf_release(&f);
	uuid_from_location(cl, "/apps/", uuid);
}

/* An application and an environment inserted directly; UUIDs out. */
static void
sql_app_env(const char *app, const char *env, char app_uuid[40],
    char env_uuid[40])
{
	tw_sql_str(app_uuid, 40, "INSERT INTO applications (name, repository_url) "
	    "VALUES ($1, 'https://git.example.com/t/a.git') RETURNING uuid", 1,
	    app);
	if (env != NULL)
		tw_sql_str(env_uuid, 40, "INSERT INTO environments (application_id, "
		    "name) SELECT id, $2 FROM applications WHERE uuid = $1 "
		    "RETURNING uuid", 2, app_uuid, env);
}

static void
drop_app(const char *uuid)
{
	tw_sql_exec("DELETE FROM applications WHERE uuid = $1", 1, uuid);
}

static void
drop_server(const char *uuid)
{
	tw_sql_exec("DELETE FROM servers WHERE uuid = $1", 1, uuid);
}

static void
setup(void)
{
	tw_setup(MAX_CLIENTS, MAX_PARAMS);
}

static void
teardown(void)
{
	tw_teardown();
}

/* ---- sign-in and sessions ------------------------------------------- */

START_TEST(unauthenticated_redirects)
{
	struct tw_client	*cl = tw_cl_new();

	ck_status(tw_get(cl, "/servers"), cl, 303);
	tw_ck_location(cl, "/login?next=/servers");
	ck_status(tw_get(cl, "/apps"), cl, 303);
	tw_ck_location(cl, "/login?next=/apps");
	ck_status(tw_get(cl, "/"), cl, 303);
	tw_ck_location(cl, "/login");
	/* A POST is refused too, with no path carried over. */
	ck_status(tw_request(cl, "POST", "/servers", "name=x", 6), cl, 303);
	tw_ck_location(cl, "/login");
	/* The login page itself is public and carries the next target. */
	ck_status(tw_get(cl, "/login?next=/servers"), cl, 200);
	ck_has(cl, "name=\"next\" value=\"/servers\"");
	tw_take_csrf(cl);
}
END_TEST

START_TEST(login_good)
{
	struct tw_client	*cl = tw_cl_new();
	char		 sc[1024], val[128], who[256];

	ck_status(tw_try_login(cl, tw_user, tw_pass), cl, 303);
	tw_ck_location(cl, "/");
	if (set_cookie(cl, COOKIE, sc, sizeof(sc)) == NULL)
		ck_abort_msg("no Set-Cookie for " COOKIE "; headers:\n%s",
		    buf_cstr(&cl->hdr));
	cookie_value(sc, val, sizeof(val));
	ck_assert_uint_eq(strlen(val), 43);	/* 256 random bits, base64url */
	ck_assert_msg(cookie_attr(sc, "Secure"), "no Secure: %s", sc);
	ck_assert_msg(cookie_attr(sc, "HttpOnly"), "no HttpOnly: %s", sc);
	ck_assert_msg(cookie_attr(sc, "SameSite=Lax"), "no SameSite=Lax: %s", sc);
	ck_assert_msg(cookie_attr(sc, "Path=/"), "no Path=/: %s", sc);
	ck_assert_msg(!cookie_attr(sc, "Domain="), "has Domain: %s", sc);
	/* A session cookie: gone when the browser closes. */
	ck_assert_msg(!cookie_attr(sc, "Max-Age=") && !cookie_attr(sc,
	    "Expires="), "persistent session cookie: %s", sc);

	ck_status(tw_get(cl, "/"), cl, 200);
	snprintf(who, sizeof(who), "<span class=\"who\">%s</span>", tw_user);
	ck_has(cl, who);
	ck_has(cl, "<h1>Overview</h1>");
	/* Signed in, the login page sends the user home. */
	ck_status(tw_get(cl, "/login"), cl, 303);
	tw_ck_location(cl, "/");
}
END_TEST

/* The alert message of a login page. */
static void
login_alert(const struct tw_client *cl, char *out, size_t outsz)
{
	static const char	 mark[] = "role=\"alert\">";
	const char		*p = strstr(tw_body(cl), mark), *e;

	if (p == NULL)
		ck_abort_msg("no alert on the page:\n%.2000s", tw_body(cl));
	p += sizeof(mark) - 1;
	ck_assert_ptr_nonnull(e = strstr(p, "</p>"));
	ck_assert_uint_lt((size_t)(e - p), outsz);
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
}

START_TEST(login_bad)
{
	struct tw_client	*cl = tw_cl_new();
	struct buf	 b1, b2, v;
	char		 nobody[80], m1[256], m2[256], sc[512];

	buf_init(&b1);
	buf_init(&b2);
	buf_init(&v);
	/* A wrong password for the real account (one failure of the 100 an
	 * hour allowed). */
	ck_status(tw_try_login(cl, tw_user, "not the password"), cl, 401);
	login_alert(cl, m1, sizeof(m1));
	ck_assert_str_eq(m1, "Wrong username or password.");
	ck_assert_ptr_null(set_cookie(cl, COOKIE, sc, sizeof(sc)));
	buf_printf(&v, "value=\"%s\"", tw_user);
	replace_all(&b1, tw_body(cl), buf_cstr(&v), "value=\"U\"");

	/* An unknown user: the very same answer. */
	tw_uniq(nobody, sizeof(nobody), "nobody");
	ck_status(tw_try_login(cl, nobody, "not the password"), cl, 401);
	login_alert(cl, m2, sizeof(m2));
	ck_assert_str_eq(m2, m1);
	ck_assert_ptr_null(set_cookie(cl, COOKIE, sc, sizeof(sc)));
	buf_reset(&v);
	buf_printf(&v, "value=\"%s\"", nobody);
	replace_all(&b2, tw_body(cl), buf_cstr(&v), "value=\"U\"");
	ck_assert_str_eq(buf_cstr(&b1), buf_cstr(&b2));

	/* Still not signed in. */
	ck_status(tw_get(cl, "/"), cl, 303);
	tw_ck_location(cl, "/login");
	/* The attempts were recorded: the account's by name, the unknown
	 * name never as typed (unknown_name_never_plain). */
	ck_assert_int_ge(tw_sql_long("SELECT count(*) FROM login_attempts WHERE "
	    "username = $1 AND NOT success", 1, tw_user), 1);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM login_attempts WHERE "
	    "username = $1", 1, nobody), 0);
	buf_release(&b1);
	buf_release(&b2);
	buf_release(&v);
}
END_TEST

START_TEST(session_fixation)
{
	struct tw_client	*cl = tw_cl_new(), *other;
	struct buf	 line;
	char		 planted[64], sc[1024], val[128], h[65], who[256];

	sec_random_b64(planted, sizeof(planted), 32);
	ck_assert_uint_eq(strlen(planted), 43);
	buf_init(&line);
	/* Netscape cookie-file line: host-only, path /, secure. */
	buf_printf(&line, "localhost\tFALSE\t/\tTRUE\t0\t" COOKIE "\t%s", planted);
	ck_assert_int_eq(curl_easy_setopt(cl->c, CURLOPT_COOKIELIST,
	    buf_cstr(&line)), CURLE_OK);
	buf_release(&line);

	/* The planted ID is no session. */
	ck_status(tw_get(cl, "/"), cl, 303);
	ck_status(tw_try_login(cl, tw_user, tw_pass), cl, 303);
	ck_assert_ptr_nonnull(set_cookie(cl, COOKIE, sc, sizeof(sc)));
	cookie_value(sc, val, sizeof(val));
	ck_assert_str_ne(val, planted);
	ck_status(tw_get(cl, "/"), cl, 200);
	snprintf(who, sizeof(who), "<span class=\"who\">%s</span>", tw_user);
	ck_has(cl, who);

	/* Server side: a row for the new ID, none for the planted one. */
	sec_hash_hex(h, val);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM sessions s JOIN users u "
	    "ON u.id = s.user_id WHERE s.id_hash = $1 AND u.username = $2", 2, h,
	    tw_user), 1);
	sec_hash_hex(h, planted);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM sessions WHERE "
	    "id_hash = $1", 1, h), 0);
	/* And the planted ID still opens nothing. */
	other = tw_cl_new();
	buf_init(&line);
	buf_printf(&line, COOKIE "=%s", planted);
	curl_easy_setopt(other->c, CURLOPT_COOKIE, buf_cstr(&line));
	ck_status(tw_get(other, "/"), other, 303);
	tw_ck_location(other, "/login");
	buf_release(&line);
}
END_TEST

START_TEST(logout_deletes_session)
{
	struct tw_client	*cl = tw_cl_new(), *replay;
	struct buf	 f, ck;
	char		 sc[1024], val[128], h[65];
	long		 before, after;
	static const char q_user[] = "SELECT count(*) FROM sessions s JOIN users u "
	    "ON u.id = s.user_id WHERE u.username = $1";
	static const char q_id[] = "SELECT count(*) FROM sessions WHERE id_hash = $1";

	ck_status(tw_try_login(cl, tw_user, tw_pass), cl, 303);
	ck_assert_ptr_nonnull(set_cookie(cl, COOKIE, sc, sizeof(sc)));
	cookie_value(sc, val, sizeof(val));
	sec_hash_hex(h, val);
	/* Only the hash is stored, never the ID. */
	ck_assert_int_eq(tw_sql_long(q_id, 1, h), 1);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM sessions WHERE "
	    "id_hash = $1", 1, val), 0);
	before = tw_sql_long(q_user, 1, tw_user);
	tw_form_csrf(cl, "/");

	/* Without the token, logout is refused and the session lives on. */
	buf_init(&f);
	ck_status(tw_request(cl, "POST", "/logout", "", 0), cl, 403);
	ck_assert_int_eq(tw_sql_long(q_id, 1, h), 1);

	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, "/logout", &f), cl, 303);
	tw_ck_location(cl, "/login?out=1");
	ck_assert_ptr_nonnull(set_cookie(cl, COOKIE, sc, sizeof(sc)));
	ck_assert_msg(cookie_attr(sc, "Max-Age=0"), "cookie not deleted: %s", sc);
	ck_assert_int_eq(tw_sql_long(q_id, 1, h), 0);
	after = tw_sql_long(q_user, 1, tw_user);
	ck_assert_int_eq(after, before - 1);
	ck_status(tw_get(cl, "/login?out=1"), cl, 200);
	ck_has(cl, "You have been signed out.");
	ck_status(tw_get(cl, "/"), cl, 303);

	/* The old cookie, replayed, opens nothing. */
	replay = tw_cl_new();
	buf_init(&ck);
	buf_printf(&ck, COOKIE "=%s", val);
	curl_easy_setopt(replay->c, CURLOPT_COOKIE, buf_cstr(&ck));
	ck_status(tw_get(replay, "/servers"), replay, 303);
	tw_ck_location(replay, "/login?next=/servers");
	ck_status(tw_get(replay, "/"), replay, 303);
	tw_ck_location(replay, "/login");
	buf_release(&ck);
	buf_release(&f);
}
END_TEST

static void
check_security_headers(const struct tw_client *cl, int signed_in)
{
	char	 v[1024];
	long	 age;

	if (tw_header(cl, "Content-Security-Policy", v, sizeof(v)) == NULL)
		ck_abort_msg("no Content-Security-Policy; headers:\n%s",
		    buf_cstr(&cl->hdr));
	ck_assert_msg(strstr(v, "frame-ancestors 'none'") != NULL, "CSP: %s", v);
	ck_assert_msg(strstr(v, "default-src 'none'") != NULL ||
	    strstr(v, "default-src 'self'") != NULL, "CSP: %s", v);
	ck_assert_msg(strstr(v, "unsafe-inline") == NULL, "CSP: %s", v);
	ck_assert_ptr_nonnull(tw_header(cl, "X-Content-Type-Options", v, sizeof(v)));
	ck_assert_str_eq(v, "nosniff");
	ck_assert_ptr_nonnull(tw_header(cl, "Referrer-Policy", v, sizeof(v)));
	ck_assert_msg(strcmp(v, "same-origin") == 0 || strcmp(v,
	    "no-referrer") == 0 || strcmp(v, "strict-origin") == 0 ||
	    strcmp(v, "strict-origin-when-cross-origin") == 0,
	    "Referrer-Policy: %s", v);
	ck_assert_ptr_nonnull(tw_header(cl, "Strict-Transport-Security", v, sizeof(v)));
	ck_assert_msg(strncmp(v, "max-age=", 8) == 0, "HSTS: %s", v);
	age = strtol(v + 8, NULL, 10);
	ck_assert_int_ge(age, 31536000);
	if (signed_in) {
		ck_assert_ptr_nonnull(tw_header(cl, "Cache-Control", v, sizeof(v)));
		ck_assert_msg(strstr(v, "no-store") != NULL, "Cache-Control: %s", v);
	}
}

START_TEST(security_headers)
{
	struct tw_client	*anon = tw_cl_new(), *cl = tw_login();

	ck_status(tw_get(anon, "/login"), anon, 200);
	check_security_headers(anon, 0);
	ck_status(tw_get(anon, "/servers"), anon, 303);
	check_security_headers(anon, 0);
	ck_status(tw_get(cl, "/servers"), cl, 200);
	check_security_headers(cl, 1);
	ck_status(tw_get(cl, "/no/such/page"), cl, 404);
	check_security_headers(cl, 1);
}
END_TEST

/* Whole answers announce their length (Caddy then forwards them as they
 * are); HEAD gets the same headers and no body, and does not hang. */
START_TEST(answers_carry_length)
{
	struct tw_client	*anon = tw_cl_new(), *cl = tw_login();
	char			 len[32], hlen[32];

	ck_status(tw_get(anon, "/login"), anon, 200);
	ck_assert_ptr_nonnull(tw_header(anon, "Content-Length", len, sizeof(len)));
	ck_assert_int_eq(atol(len), (long)anon->body.len);
	ck_status(tw_request(anon, "HEAD", "/login", NULL, 0), anon, 200);
	ck_assert_ptr_nonnull(tw_header(anon, "Content-Length", hlen, sizeof(hlen)));
	ck_assert_str_eq(hlen, len);
	ck_assert_int_eq(anon->body.len, 0);
	check_security_headers(anon, 0);

	ck_status(tw_get(cl, "/servers"), cl, 200);
	ck_assert_ptr_nonnull(tw_header(cl, "Content-Length", len, sizeof(len)));
	ck_assert_int_eq(atol(len), (long)cl->body.len);
	ck_status(tw_request(cl, "HEAD", "/servers", NULL, 0), cl, 200);
	ck_assert_ptr_nonnull(tw_header(cl, "Content-Length", hlen, sizeof(hlen)));
	ck_assert_int_gt(atol(hlen), 0);
	ck_assert_int_eq(cl->body.len, 0);

	ck_status(tw_get(anon, "/healthz"), anon, 200);
	ck_assert_str_eq(tw_header(anon, "Content-Length", len, sizeof(len)), "3");
	ck_assert_str_eq(tw_body(anon), "ok\n");
}
END_TEST

/* Every page names /favicon.ico, and Caddy serves it: no 404 in the
 * browser's console on any page. */
START_TEST(favicon_served)
{
	struct tw_client	*anon = tw_cl_new();
	char			 ct[64];

	ck_status(tw_get(anon, "/login"), anon, 200);
	ck_has(anon, "<link rel=\"icon\" href=\"/favicon.ico\"");
	ck_status(tw_get(anon, "/favicon.ico"), anon, 200);
	ck_assert_ptr_nonnull(tw_header(anon, "Content-Type", ct, sizeof(ct)));
	ck_assert_msg(strstr(ct, "icon") != NULL, "Content-Type: %s", ct);
	/* An ICO file: reserved 0, type 1. */
	ck_assert_int_ge(anon->body.len, 6);
	ck_assert(memcmp(anon->body.ptr, "\0\0\1\0", 4) == 0);
}
END_TEST

/* ---- servers, applications, environments ----------------------------- */

START_TEST(server_crud)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 name[100], name2[100], addr[128], addr2[128], uuid[40];
	char		 path[128], want[512];
	PGresult	*res;

	tw_uniq(name, sizeof(name), "srv");
	tw_uniq(name2, sizeof(name2), "srv-renamed");
	tw_uniq(addr, sizeof(addr), "host");
	tw_uniq(addr2, sizeof(addr2), "host2");
	tw_form_csrf(cl, "/servers/new");
	ck_has(cl, "name=\"ssh_port\" value=\"22\"");

	buf_init(&f);
	server_form(&f, cl->csrf, name, addr, "2222", "deploy", 1, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 303);
	uuid_from_location(cl, "/servers/", uuid);
	res = tw_sql("SELECT name, address, ssh_port, ssh_user, role_build, "
	    "role_runtime, status FROM servers WHERE uuid = $1", 1, uuid);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), name);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), addr);
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "2222");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "deploy");
	ck_assert_str_eq(PQgetvalue(res, 0, 4), "t");
	ck_assert_str_eq(PQgetvalue(res, 0, 5), "t");
	ck_assert_str_eq(PQgetvalue(res, 0, 6), "new");
	PQclear(res);

	snprintf(path, sizeof(path), "/servers/%s", uuid);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Server added.");
	snprintf(want, sizeof(want), "<h1>%s</h1>", name);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "deploy@%s:2222", addr);
	ck_has(cl, want);
	ck_has(cl, "<span class=\"tag\">build</span>");
	/* The flash shows once. */
	ck_status(tw_get(cl, path), cl, 200);
	ck_hasnt(cl, "Server added.");
	/* Listed. */
	ck_status(tw_get(cl, "/servers?sort=-created"), cl, 200);
	snprintf(want, sizeof(want), "<a href=\"/servers/%s\">%s</a>", uuid, name);
	ck_has(cl, want);

	/* Edit: the form shows the stored values. */
	snprintf(path, sizeof(path), "/servers/%s/edit", uuid);
	tw_form_csrf(cl, path);
	snprintf(want, sizeof(want), "name=\"name\" value=\"%s\"", name);
	ck_has(cl, want);
	ck_has(cl, "name=\"ssh_port\" value=\"2222\"");
	ck_has(cl, "name=\"role_build\" value=\"1\" checked");
	server_form(&f, cl->csrf, name2, addr2, "22", "keystone", 0, 1);
	snprintf(path, sizeof(path), "/servers/%s", uuid);
	ck_status(tw_post(cl, path, &f), cl, 303);
	tw_ck_location(cl, path);
	res = tw_sql("SELECT name, address, ssh_port, ssh_user, role_build, "
	    "role_runtime FROM servers WHERE uuid = $1", 1, uuid);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), name2);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), addr2);
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "22");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "keystone");
	ck_assert_str_eq(PQgetvalue(res, 0, 4), "f");
	ck_assert_str_eq(PQgetvalue(res, 0, 5), "t");
	PQclear(res);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Server saved.");
	snprintf(want, sizeof(want), "<h1>%s</h1>", name2);
	ck_has(cl, want);
	ck_hasnt(cl, "<span class=\"tag\">build</span>");

	/* Delete, after the confirmation page. */
	snprintf(path, sizeof(path), "/servers/%s/delete", uuid);
	tw_form_csrf(cl, path);
	snprintf(want, sizeof(want), "Delete %s?", name2);
	ck_has(cl, want);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 303);
	tw_ck_location(cl, "/servers");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE uuid = $1",
	    1, uuid), 0);
	ck_status(tw_get(cl, "/servers"), cl, 200);
	ck_has(cl, "Server deleted.");
	snprintf(path, sizeof(path), "/servers/%s", uuid);
	ck_status(tw_get(cl, path), cl, 404);
	buf_release(&f);
}
END_TEST

/* ---- host keys -------------------------------------------------------- */

/* Made with ssh-keygen; fingerprints from ssh-keygen -lf. */
#define K_ED	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMi/L/0dHhFk/uVYNO1ri4zxwBfagq1sGcEGaEOqveiB"
#define FP_ED	"SHA256:jIdY+7AYAjU/KFGzR/D0hSBqaHVOZ/D/AJtP/jAfzTc"
#define K_RSA	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDcegbKYh0GPwH3KdXJJLcH/gtzxjm7JjtKjAKJ1NI9vhPsb9ArSYb1UHrsdyJVkTgd5MtbmDEFQ/eDZ6joei0wtrkoj89qnGTkDv/qy/oEtsIVPq1HWfJ2MZ2Xd/WJdcAN4lOkcjD/rO2aha+quzWrWPoieNBv3ld00iHfhUjqmw=="
#define FP_RSA	"SHA256:Rs3/L15vngF0s6zQBtta3wseIRG8Y/ptvelmHaRzV6U"

/* A server inserted directly at addr:port; its UUID in uuid. */
static void
sql_server(const char *addr, const char *port, char uuid[40])
{
	char	 name[100];

	tw_uniq(name, sizeof(name), "hk");
	tw_sql_str(uuid, 40, "INSERT INTO servers (name, address, ssh_port) "
	    "VALUES ($1, $2, $3::int) RETURNING uuid", 3, name, addr, port);
}

/* The server and the operations about it. */
static void
drop_server_ops(const char *uuid)
{
	tw_sql_exec("DELETE FROM operations WHERE subject_type = 'server' AND "
	    "subject_id = (SELECT id FROM servers WHERE uuid = $1)", 1, uuid);
	drop_server(uuid);
}

/*
 * An operation of kind about server, in status, that ended (or started)
 * ago_min minutes ago, whose one step stored output: as the spooler
 * leaves a host key check (no spooler runs during these tests).
 */
static void
sql_check(char uuid[40], const char *kind, const char *server,
    const char *status, const char *ago_min, const char *output)
{
	tw_sql_str(uuid, 40, "WITH o AS (INSERT INTO operations (kind, "
	    "subject_type, subject_id, status, started_at, finished_at) "
	    "SELECT $1, 'server', id, $3, now() - make_interval(mins => $4::int), "
	    "CASE WHEN $3 IN ('queued', 'running') THEN NULL ELSE now() - "
	    "make_interval(mins => $4::int) END FROM servers WHERE uuid = $2 "
	    "RETURNING id, uuid), s AS (INSERT INTO operation_steps (operation_id, "
	    "ordinal, name, target, script, status) SELECT id, 1, 'scan', "
	    "'control_node', 'true', CASE $3 WHEN 'queued' THEN 'pending' ELSE "
	    "$3 END FROM o RETURNING id) INSERT INTO operation_output (step_id, "
	    "seq, chunk) SELECT id, 0, $5 FROM s RETURNING (SELECT uuid FROM o)",
	    5, kind, server, status, ago_min, output);
}

/*
 * The page's check is an operation: asking for it answers at once with a
 * page that waits for it, and no request connects to the server. The
 * server is a listening socket nobody accepts on: a connection made while
 * a request was served would be queued on it by the time the answer came.
 * No spooler runs here, so the check stays queued.
 */
START_TEST(hostkey_check_is_an_operation)
{
	struct tw_client	*cl = tw_login();
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	struct pollfd		 pfd;
	struct buf		 f;
	char			 uuid[40], op[40], port[16], path[160], loc[256];
	char			 want[256], cell[512];
	int			 fd;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
	sql_server("127.0.0.1", port, uuid);

	pfd.fd = fd;
	pfd.events = POLLIN;
	/* The host key page: it only offers to check. */
	snprintf(path, sizeof(path), "/servers/%s/hostkey", uuid);
	ck_status(tw_get(cl, path), cl, 200);
	ck_assert_msg(poll(&pfd, 1, 0) == 0, "a request connected to the server");
	ck_has(cl, "Check the key it offers");
	ck_hasnt(cl, "op-live");
	ck_hasnt(cl, "name=\"fingerprint\"");
	/* The server page's button asks for a check. */
	snprintf(path, sizeof(path), "/servers/%s", uuid);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "<form method=\"post\" action=\"/servers/%s/"
	    "hostkey/check\"", uuid);
	ck_has(cl, want);
	ck_has(cl, "Check and pin</button>");

	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/servers/%s/hostkey/check", uuid);
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(want, sizeof(want), "/servers/%s/hostkey?op=", uuid);
	ck_assert_ptr_nonnull(tw_header(cl, "Location", loc, sizeof(loc)));
	ck_assert_msg(strncmp(loc, want, strlen(want)) == 0 &&
	    strlen(loc + strlen(want)) == 36, "Location %s", loc);
	snprintf(op, sizeof(op), "%s", loc + strlen(want));
	ck_status(tw_get(cl, loc), cl, 200);
	ck_has(cl, "Checking the key the server offers");
	snprintf(want, sizeof(want), "id=\"op-live\" data-op=\"%s\"", op);
	ck_has(cl, want);
	ck_has(cl, "data-op-status>queued</span>");
	ck_has(cl, "<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>");
	ck_has(cl, "<script src=\"/static/ops.js\" defer></script>");
	ck_hasnt(cl, "name=\"fingerprint\"");
	ck_hasnt(cl, "Check again");

	/* Still nothing connected to the server. */
	ck_assert_msg(poll(&pfd, 1, 0) == 0, "a request connected to the server");

	/* The operation: who asked, about which server, one step on the
	 * control node that scans it. */
	tw_sql_str(cell, sizeof(cell), "SELECT o.kind || ' ' || o.subject_type || "
	    "' ' || o.status || ' ' || (o.subject_id = s.id) || ' ' || u.username "
	    "FROM operations o, servers s, users u WHERE o.uuid = $1 AND "
	    "s.uuid = $2 AND u.id = o.created_by", 2, op, uuid);
	snprintf(want, sizeof(want), "hostkey server queued true %s", tw_user);
	ck_assert_str_eq(cell, want);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operation_steps st "
	    "JOIN operations o ON o.id = st.operation_id WHERE o.uuid = $1 AND "
	    "st.target = 'control_node' AND "
	    "strpos(st.script, 'HOST=' || quote_literal('127.0.0.1')) > 0 AND "
	    "strpos(st.script, 'PORT=' || quote_literal($2)) > 0 AND "
	    "strpos(st.script, 'ssh-keyscan') > 0", 2, op, port), 1);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operation_steps st "
	    "JOIN operations o ON o.id = st.operation_id WHERE o.uuid = $1", 1,
	    op), 1);
	snprintf(path, sizeof(path), "/ops/%s", op);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Host key check");

	/* Asking needs the form's token. */
	buf_reset(&f);
	snprintf(path, sizeof(path), "/servers/%s/hostkey/check", uuid);
	ck_status(tw_post(cl, path, &f), cl, 403);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations o JOIN "
	    "servers s ON o.subject_type = 'server' AND s.id = o.subject_id "
	    "WHERE s.uuid = $1", 1, uuid), 1);
	/* Unknown servers and checks, malformed references. */
	snprintf(path, sizeof(path), "/servers/%s/hostkey?op=not-a-uuid", uuid);
	ck_status(tw_get(cl, path), cl, 400);
	snprintf(path, sizeof(path), "/servers/%s/hostkey?op=%s", uuid, uuid);
	ck_status(tw_get(cl, path), cl, 404);
	snprintf(path, sizeof(path), "/servers/%s/hostkey?op=%s", op, op);
	ck_status(tw_get(cl, path), cl, 404);
	close(fd);
	drop_server_ops(uuid);
	buf_release(&f);
}
END_TEST

/* POSTs a pin of server uuid naming op (NULL: none) and fingerprint fp;
 * the answer's status. */
static long
post_pin(struct tw_client *cl, const char *uuid, const char *op, const char *fp)
{
	struct buf	 f;
	char		 path[128];
	long		 st;

	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	if (op != NULL)
		tw_fadd(&f, "op", op);
	tw_fadd(&f, "fingerprint", fp);
	/* Never read: the key pinned is the check's. */
	tw_fadd(&f, "key", K_RSA);
	snprintf(path, sizeof(path), "/servers/%s/hostkey", uuid);
	st = tw_post(cl, path, &f);
	buf_release(&f);
	return st;
}

static void
ck_unpinned(const char *uuid)
{
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE uuid = $1 "
	    "AND host_key IS NULL AND host_key_sha256 IS NULL", 1, uuid), 1);
}

/*
 * Pinning pins the key the check found, only with its fingerprint, and
 * only from a recent, successful check of this very server (as it is
 * now): a forged check or fingerprint is refused and pins nothing.
 */
START_TEST(hostkey_pin_only_what_was_checked)
{
	struct tw_client	*cl = tw_login();
	char		 uuid[40], other[40], good[40], op[40], rnd[40];
	char		 addr[128], path[160], want[256], scan[1024], cell[512];

	tw_uniq(addr, sizeof(addr), "hk");
	sql_server(addr, "22", uuid);
	snprintf(scan, sizeof(scan), "target %s 22\nhostkey %s\nhostkey %s\n",
	    addr, K_RSA, K_ED);
	sql_check(good, "hostkey", uuid, "succeeded", "1", scan);

	/* The check's page: the preferred key's fingerprint, to confirm. */
	snprintf(path, sizeof(path), "/servers/%s/hostkey?op=%s", uuid, good);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "<code class=\"wrap\">%s</code>", FP_ED);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "name=\"op\" value=\"%s\"", good);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "name=\"fingerprint\" value=\"%s\"", FP_ED);
	ck_has(cl, want);
	ck_has(cl, "Check again");
	ck_hasnt(cl, "op-live");

	/* Forged or incomplete forms. */
	ck_status(post_pin(cl, uuid, NULL, FP_ED), cl, 400);
	new_uuid(rnd);
	ck_status(post_pin(cl, uuid, rnd, FP_ED), cl, 400);
	ck_has(cl, "Nothing pinned: that is no check of this server");
	ck_status(post_pin(cl, uuid, "not-a-uuid", FP_ED), cl, 400);
	ck_status(post_pin(cl, uuid, good, "SHA256:forged"), cl, 409);
	snprintf(want, sizeof(want), "Nothing pinned: the check found %s, not "
	    "the key you confirmed.", FP_ED);
	ck_has(cl, want);
	/* A key the server offers, but not the one a connection gets. */
	ck_status(post_pin(cl, uuid, good, FP_RSA), cl, 409);
	ck_unpinned(uuid);
	/* Another server's check, and another kind of operation. */
	tw_uniq(addr, sizeof(addr), "hk-other");
	sql_server(addr, "22", other);
	snprintf(scan, sizeof(scan), "target %s 22\nhostkey %s\n", addr, K_ED);
	sql_check(op, "hostkey", other, "succeeded", "1", scan);
	ck_status(post_pin(cl, uuid, op, FP_ED), cl, 400);
	snprintf(path, sizeof(path), "/servers/%s/hostkey?op=%s", uuid, op);
	ck_status(tw_get(cl, path), cl, 404);
	tw_sql_str(addr, sizeof(addr), "SELECT address FROM servers WHERE uuid = $1",
	    1, uuid);
	snprintf(scan, sizeof(scan), "target %s 22\nhostkey %s\n", addr, K_ED);
	sql_check(op, "verify", uuid, "succeeded", "1", scan);
	ck_status(post_pin(cl, uuid, op, FP_ED), cl, 400);
	ck_unpinned(uuid);
	/* A check that failed, is still queued, or is too old. */
	sql_check(op, "hostkey", uuid, "failed", "1", "target x 22\n"
	    "cannot connect to x port 22: Connection refused\n");
	ck_status(post_pin(cl, uuid, op, FP_ED), cl, 409);
	ck_has(cl, "Nothing pinned: cannot connect to x port 22: Connection refused.");
	snprintf(path, sizeof(path), "/servers/%s/hostkey?op=%s", uuid, op);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "The check found no key: cannot connect to x port 22: "
	    "Connection refused");
	ck_has(cl, "Check again");
	ck_hasnt(cl, "name=\"fingerprint\"");
	sql_check(op, "hostkey", uuid, "queued", "0", "");
	ck_status(post_pin(cl, uuid, op, FP_ED), cl, 409);
	ck_has(cl, "Nothing pinned: the check has not ended yet.");
	sql_check(op, "hostkey", uuid, "succeeded", "31", scan);
	ck_status(post_pin(cl, uuid, op, FP_ED), cl, 409);
	ck_has(cl, "minutes ago");
	ck_unpinned(uuid);
	/* The server was given another port since the check. */
	tw_sql_exec("UPDATE servers SET ssh_port = 2222 WHERE uuid = $1", 1, uuid);
	ck_status(post_pin(cl, uuid, good, FP_ED), cl, 409);
	ck_has(cl, "another address or SSH port");
	ck_unpinned(uuid);
	tw_sql_exec("UPDATE servers SET ssh_port = 22 WHERE uuid = $1", 1, uuid);

	/* The check's own fingerprint pins the check's key. */
	ck_status(post_pin(cl, uuid, good, FP_ED), cl, 303);
	snprintf(path, sizeof(path), "/servers/%s", uuid);
	tw_ck_location(cl, path);
	tw_sql_str(cell, sizeof(cell), "SELECT host_key || ' ' || host_key_sha256 "
	    "FROM servers WHERE uuid = $1", 1, uuid);
	ck_assert_str_eq(cell, K_ED " " FP_ED);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Host key pinned.");
	/* The page now says the key is the pinned one. */
	snprintf(path, sizeof(path), "/servers/%s/hostkey?op=%s", uuid, good);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "This is the pinned key.");
	drop_server_ops(uuid);
	drop_server_ops(other);
}
END_TEST

/* An operation of kind about application app, as sql_check does for a
 * server. */
static void
sql_app_check(char uuid[40], const char *kind, const char *app,
    const char *status, const char *ago_min, const char *output)
{
	tw_sql_str(uuid, 40, "WITH o AS (INSERT INTO operations (kind, "
	    "subject_type, subject_id, status, started_at, finished_at) "
	    "SELECT $1, 'application', id, $3, now() - make_interval(mins => "
	    "$4::int), CASE WHEN $3 IN ('queued', 'running') THEN NULL ELSE "
	    "now() - make_interval(mins => $4::int) END FROM applications "
	    "WHERE uuid = $2 RETURNING id, uuid), s AS (INSERT INTO "
	    "operation_steps (operation_id, ordinal, name, target, script, "
	    "status) SELECT id, 1, 'scan', 'control_node', 'true', CASE $3 WHEN "
	    "'queued' THEN 'pending' ELSE $3 END FROM o RETURNING id) INSERT "
	    "INTO operation_output (step_id, seq, chunk) SELECT id, 0, $5 FROM s "
	    "RETURNING (SELECT uuid FROM o)", 5, kind, app, status, ago_min,
	    output);
}

static long
post_app_pin(struct tw_client *cl, const char *app, const char *op,
    const char *fp)
{
	struct buf	 f;
	char		 path[128];
	long		 st;

	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	if (op != NULL)
		tw_fadd(&f, "op", op);
	tw_fadd(&f, "fingerprint", fp);
	/* Never read: the key pinned is the check's. */
	tw_fadd(&f, "key", K_RSA);
	snprintf(path, sizeof(path), "/apps/%s/hostkey", app);
	st = tw_post(cl, path, &f);
	buf_release(&f);
	return st;
}

static void
drop_app_ops(const char *app)
{
	tw_sql_exec("DELETE FROM operations WHERE (subject_type = 'application' "
	    "AND subject_id = (SELECT id FROM applications WHERE uuid = $1)) OR "
	    "environment_id IN (SELECT e.id FROM environments e JOIN applications "
	    "a ON a.id = e.application_id WHERE a.uuid = $1)", 1, app);
	drop_app(app);
}

/*
 * The Git host's key of an application, as a server's: "Check the Git
 * host's key" queues an operation about the application scanning the
 * repository URL's host and port (no request connects to it); pinning
 * takes the key from a recent check of the host the URL names now, only
 * with the fingerprint the check found.
 */
START_TEST(app_git_host_key)
{
	struct tw_client	*cl = tw_login();
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	struct pollfd		 pfd;
	struct buf		 f;
	char			 app[40], app2[40], op[40], good[40], port[16];
	char			 name[100], url[256], path[200], loc[256];
	char			 want[512], scan[1024], cell[1024], rnd[40];
	int			 fd;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
	pfd.fd = fd;
	pfd.events = POLLIN;

	buf_init(&f);
	tw_uniq(name, sizeof(name), "githost");
	snprintf(url, sizeof(url), "ssh://git@127.0.0.1:%s/team/a.git", port);
	tw_form_csrf(cl, "/apps/new");
	app_form(&f, cl->csrf, name, url, "main");
	ck_status(tw_post(cl, "/apps", &f), cl, 303);
	uuid_from_location(cl, "/apps/", app);

	/* The application page offers the check, naming the Git host. */
	snprintf(path, sizeof(path), "/apps/%s", app);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "<form method=\"post\" action=\"/apps/%s/"
	    "hostkey/check\"", app);
	ck_has(cl, want);
	ck_has(cl, "Check the Git host's key</button>");
	snprintf(want, sizeof(want), "<code>[127.0.0.1]:%s</code>", port);
	ck_has(cl, want);

	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/hostkey/check", app);
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(want, sizeof(want), "/apps/%s/hostkey?op=", app);
	ck_assert_ptr_nonnull(tw_header(cl, "Location", loc, sizeof(loc)));
	ck_assert_msg(strncmp(loc, want, strlen(want)) == 0 &&
	    strlen(loc + strlen(want)) == 36, "Location %s", loc);
	snprintf(op, sizeof(op), "%s", loc + strlen(want));
	ck_status(tw_get(cl, loc), cl, 200);
	ck_has(cl, "Checking the key the Git host");
	snprintf(want, sizeof(want), "id=\"op-live\" data-op=\"%s\"", op);
	ck_has(cl, want);
	ck_hasnt(cl, "name=\"fingerprint\"");
	ck_assert_msg(poll(&pfd, 1, 0) == 0, "a request connected to the Git host");
	/* The operation: about the application, one step on the control
	 * node scanning the URL's host and port. */
	tw_sql_str(cell, sizeof(cell), "SELECT o.kind || ' ' || o.subject_type || "
	    "' ' || o.status || ' ' || (o.subject_id = a.id) || ' ' || u.username "
	    "FROM operations o, applications a, users u WHERE o.uuid = $1 AND "
	    "a.uuid = $2 AND u.id = o.created_by", 2, op, app);
	snprintf(want, sizeof(want), "hostkey application queued true %s", tw_user);
	ck_assert_str_eq(cell, want);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operation_steps st "
	    "JOIN operations o ON o.id = st.operation_id WHERE o.uuid = $1 AND "
	    "st.target = 'control_node' AND "
	    "strpos(st.script, 'HOST=' || quote_literal('127.0.0.1')) > 0 AND "
	    "strpos(st.script, 'PORT=' || quote_literal($2)) > 0 AND "
	    "strpos(st.script, 'ssh-keyscan') > 0", 2, op, port), 1);
	snprintf(path, sizeof(path), "/ops/%s", op);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Host key check");
	snprintf(want, sizeof(want), "<a href=\"/apps/%s\">%s</a>", app, name);
	ck_has(cl, want);
	ck_status(tw_get(cl, "/ops"), cl, 200);
	ck_has(cl, name);

	/* What a check found, to confirm. */
	snprintf(scan, sizeof(scan), "target 127.0.0.1 %s\nhostkey %s\n"
	    "hostkey %s\n", port, K_RSA, K_ED);
	sql_app_check(good, "hostkey", app, "succeeded", "1", scan);
	snprintf(path, sizeof(path), "/apps/%s/hostkey?op=%s", app, good);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "<code class=\"wrap\">%s</code>", FP_ED);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "name=\"fingerprint\" value=\"%s\"", FP_ED);
	ck_has(cl, want);

	/* Forged or unfit: nothing pinned. */
	ck_status(post_app_pin(cl, app, NULL, FP_ED), cl, 400);
	new_uuid(rnd);
	ck_status(post_app_pin(cl, app, rnd, FP_ED), cl, 400);
	ck_has(cl, "Nothing pinned: that is no check of this application");
	ck_status(post_app_pin(cl, app, good, "SHA256:forged"), cl, 409);
	snprintf(want, sizeof(want), "Nothing pinned: the check found %s, not "
	    "the key you confirmed.", FP_ED);
	ck_has(cl, want);
	ck_status(post_app_pin(cl, app, good, FP_RSA), cl, 409);
	/* Another application's check, a server's check page. */
	tw_uniq(name, sizeof(name), "githost-other");
	sql_app_env(name, NULL, app2, NULL);
	tw_sql_exec("UPDATE applications SET repository_url = $2 WHERE uuid = $1",
	    2, app2, url);
	sql_app_check(op, "hostkey", app2, "succeeded", "1", scan);
	ck_status(post_app_pin(cl, app, op, FP_ED), cl, 400);
	snprintf(path, sizeof(path), "/apps/%s/hostkey?op=%s", app, op);
	ck_status(tw_get(cl, path), cl, 404);
	/* Too old, failed, still queued. */
	sql_app_check(op, "hostkey", app, "succeeded", "31", scan);
	ck_status(post_app_pin(cl, app, op, FP_ED), cl, 409);
	ck_has(cl, "minutes ago");
	sql_app_check(op, "hostkey", app, "failed", "1", "target x 22\n"
	    "cannot connect to x port 22: Connection refused\n");
	ck_status(post_app_pin(cl, app, op, FP_ED), cl, 409);
	ck_has(cl, "Nothing pinned: cannot connect to x port 22: Connection refused.");
	sql_app_check(op, "hostkey", app, "queued", "0", "");
	ck_status(post_app_pin(cl, app, op, FP_ED), cl, 409);
	ck_has(cl, "Nothing pinned: the check has not ended yet.");
	/* The URL names another port since the check. */
	tw_sql_exec("UPDATE applications SET repository_url = "
	    "'ssh://git@127.0.0.1:1/team/a.git' WHERE uuid = $1", 1, app);
	ck_status(post_app_pin(cl, app, good, FP_ED), cl, 409);
	ck_has(cl, "another host or port than the repository URL names now");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "uuid = $1 AND git_host IS NULL AND git_host_key IS NULL", 1, app), 1);
	tw_sql_exec("UPDATE applications SET repository_url = $2 WHERE uuid = $1",
	    2, app, url);

	/* The check's own fingerprint pins the check's key, for the URL's
	 * host as known_hosts names it. */
	ck_status(post_app_pin(cl, app, good, FP_ED), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s", app);
	tw_ck_location(cl, path);
	tw_sql_str(cell, sizeof(cell), "SELECT git_host || ' ' || git_host_key || "
	    "' ' || git_host_key_sha256 FROM applications WHERE uuid = $1", 1, app);
	snprintf(want, sizeof(want), "[127.0.0.1]:%s %s %s", port, K_ED, FP_ED);
	ck_assert_str_eq(cell, want);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Git host key pinned.");
	snprintf(path, sizeof(path), "/apps/%s/hostkey?op=%s", app, good);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "This is the pinned key.");

	/* A repository over HTTPS has no Git host key to check. */
	tw_sql_exec("UPDATE applications SET repository_url = "
	    "'https://git.example.com/t/a.git' WHERE uuid = $1", 1, app);
	snprintf(path, sizeof(path), "/apps/%s", app);
	ck_status(tw_get(cl, path), cl, 200);
	ck_hasnt(cl, "hostkey/check");
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/hostkey/check", app);
	ck_status(tw_post(cl, path, &f), cl, 409);
	ck_has(cl, "not reached over SSH");
	ck_assert_msg(poll(&pfd, 1, 0) == 0, "a request connected to the Git host");
	close(fd);
	drop_app_ops(app);
	drop_app_ops(app2);
	buf_release(&f);
}
END_TEST

/* POSTs the environment's Build form; the answer's status. */
static long
post_build(struct tw_client *cl, const char *app, const char *env,
    const char *commit, int rebuild)
{
	struct buf	 f;
	char		 path[200];
	long		 st;

	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	if (commit != NULL)
		tw_fadd(&f, "commit", commit);
	if (rebuild)
		tw_fadd(&f, "rebuild", "1");
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/build", app, env);
	st = tw_post(cl, path, &f);
	buf_release(&f);
	return st;
}

static long
count_env_builds(const char *env)
{
	return tw_sql_long("SELECT count(*) FROM operations o JOIN environments e "
	    "ON e.id = o.environment_id WHERE e.uuid = $1 AND o.kind = 'build'",
	    1, env);
}

/*
 * The environment page's Build form: a refusal is shown there with its
 * reason (409; malformed input 422) and queues nothing; a build queued
 * goes to its operation page. The environment's builds show with their
 * place in their build node's queue; a newer build supersedes a queued
 * one, which links to it (environment page, operation page and list);
 * the artifact a build made shows on its page and the artifacts page.
 */
START_TEST(env_build_button)
{
	struct tw_client	*cl = tw_login();
	char		 aname[100], app[40], env[40], op1[40], op2[40];
	char		 path[256], want[512], loc[256], cell[256];
	static const char sha[] = "0123456789abcdef0123456789abcdef01234567";
	static const char digest[] = "sha256:"
	    "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd";
	long		 ahead;

	tw_uniq(aname, sizeof(aname), "build");
	sql_app_env(aname, "staging", app, env);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	tw_form_csrf(cl, path);
	snprintf(want, sizeof(want), "<form method=\"post\" action=\"/apps/%s/"
	    "envs/%s/build\"", app, env);
	ck_has(cl, want);
	ck_has(cl, "Rebuild even if this commit was built");
	ck_has(cl, "No builds yet.");

	/* Refusals: no repository access over SSH; a malformed commit. */
	tw_sql_exec("UPDATE applications SET repository_url = "
	    "'git@git.example.com:team/a.git' WHERE uuid = $1", 1, app);
	ck_status(post_build(cl, app, env, NULL, 0), cl, 409);
	ck_has(cl, "No repository access: git@git.example.com:team/a.git is "
	    "reached over SSH");
	ck_has(cl, want);
	ck_status(post_build(cl, app, env, "not-a-sha", 0), cl, 422);
	ck_has(cl, "Nothing built: the commit must be a full commit SHA");
	ck_assert_int_eq(count_env_builds(env), 0);
	/* Unknown environment. */
	ck_status(post_build(cl, app, app, NULL, 0), cl, 404);

	/* Queued: pushing to an external registry (no managed registry
	 * involved), on the control node. No spooler runs here. */
	tw_sql_exec("UPDATE applications SET repository_url = "
	    "'https://git.example.com/t/a.git' WHERE uuid = $1", 1, app);
	tw_sql_exec("UPDATE environments SET build_location = 'external', "
	    "ext_registry_host = 'reg.example.test:5000', ext_registry_user = 'u', "
	    "ext_registry_password_sealed = 'sealed' WHERE uuid = $1", 1, env);
	ck_status(post_build(cl, app, env, sha, 0), cl, 303);
	ck_assert_ptr_nonnull(tw_header(cl, "Location", loc, sizeof(loc)));
	ck_assert_msg(strncmp(loc, "/ops/", 5) == 0 && strlen(loc + 5) == 36,
	    "Location %s", loc);
	snprintf(op1, sizeof(op1), "%.36s", loc + 5);
	ck_status(tw_get(cl, loc), cl, 200);
	ck_has(cl, "Build queued.");
	snprintf(want, sizeof(want), "<code>%s</code>", sha);
	ck_has(cl, want);
	tw_sql_str(cell, sizeof(cell), "SELECT o.status || ' ' || o.commit_sha || "
	    "' ' || o.rebuild || ' ' || u.username FROM operations o JOIN users u "
	    "ON u.id = o.created_by WHERE o.uuid = $1", 1, op1);
	snprintf(want, sizeof(want), "queued %s false %s", sha, tw_user);
	ck_assert_str_eq(cell, want);

	/* A rebuild of the same commit supersedes the queued one. */
	ck_status(post_build(cl, app, env, sha, 1), cl, 303);
	ck_assert_ptr_nonnull(tw_header(cl, "Location", loc, sizeof(loc)));
	snprintf(op2, sizeof(op2), "%.36s", loc + 5);
	ck_assert_str_ne(op1, op2);
	tw_sql_str(cell, sizeof(cell), "SELECT o.status || ' ' || n.uuid FROM "
	    "operations o JOIN operations n ON n.id = o.superseded_by "
	    "WHERE o.uuid = $1", 1, op1);
	snprintf(want, sizeof(want), "superseded %s", op2);
	ck_assert_str_eq(cell, want);
	ahead = tw_sql_long("SELECT count(*) FROM operations q, operations o "
	    "WHERE o.uuid = $1 AND q.kind = 'build' AND q.status IN ('queued', "
	    "'running') AND q.build_server_id IS NULL AND q.id < o.id", 1, op2);

	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	ck_status(tw_get(cl, path), cl, 200);
	ck_hasnt(cl, "No builds yet.");
	snprintf(want, sizeof(want), "<span class=\"status status-queued\">queued"
	    "</span> <span class=\"queue\">%ld ahead on the control node</span>",
	    ahead);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "<span class=\"status status-superseded\">"
	    "superseded</span> by <a href=\"/ops/%s\">a newer build</a>", op2);
	ck_has(cl, want);
	ck_has(cl, "<span class=\"tag\">rebuild</span>");
	/* Newest first. */
	ck_assert_msg(strstr(tw_body(cl), op2) < strstr(tw_body(cl), op1),
	    "builds not newest first");
	snprintf(path, sizeof(path), "/ops/%s", op1);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "superseded</span> by <a href=\"/ops/%s\" "
	    "id=\"superseded-by\">a newer build</a>", op2);
	ck_has(cl, want);
	ck_status(tw_get(cl, "/ops"), cl, 200);
	snprintf(want, sizeof(want), "by <a href=\"/ops/%s\">a newer build</a>",
	    op2);
	ck_has(cl, want);

	/* The artifact the build made, on its page and the artifacts page. */
	tw_sql_exec("WITH a AS (INSERT INTO build_artifacts (application_id, "
	    "environment_id, registry_host, tag, manifest_digest, commit_sha, "
	    "status, operation_id, architecture, size_bytes, build_ms) SELECT "
	    "e.application_id, e.id, 'reg.example.test:5000', "
	    "'reg.example.test:5000/keystone/a/e:' || $3, $2, $3, 'available', "
	    "o.id, 'amd64', 3145728, 83000 FROM operations o JOIN environments e "
	    "ON e.id = o.environment_id WHERE o.uuid = $1 RETURNING id) "
	    "UPDATE operations SET artifact_id = a.id FROM a WHERE uuid = $1", 3,
	    op2, digest, sha);
	snprintf(path, sizeof(path), "/ops/%s", op2);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "<dd id=\"artifact\">Made: <code class=\"wrap\">"
	    "reg.example.test:5000/keystone/a/e:%s</code> <code class=\"wrap\">%s"
	    "</code> <span class=\"status status-available\">available</span>", sha,
	    digest);
	ck_has(cl, want);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts", app, env);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "<td><code>reg.example.test:5000</code></td>");
	ck_has(cl, "<td>amd64</td>");
	ck_has(cl, "<td>3072 kB</td>");
	snprintf(want, sizeof(want), "<a href=\"/ops/%s\">1m 23s</a>", op2);
	ck_has(cl, want);
	drop_app_ops(app);
}
END_TEST

/*
 * Build node health: a build server's page and the overview's "Control
 * node" panel show free disk, disk pressure against the threshold now,
 * the engine, when it was seen, the queue and the last build.
 */
START_TEST(build_node_health)
{
	struct tw_client	*cl = tw_login();
	char		 name[100], srv[40], rt[40], path[200], want[512];
	char		 aname[100], app[40], env[40], op[40];

	tw_uniq(name, sizeof(name), "bnode");
	tw_sql_str(srv, sizeof(srv), "INSERT INTO servers (name, address, "
	    "role_build, role_runtime) VALUES ($1, $1, true, false) RETURNING "
	    "uuid", 1, name);
	tw_uniq(name, sizeof(name), "rnode");
	tw_sql_str(rt, sizeof(rt), "INSERT INTO servers (name, address) VALUES "
	    "($1, $1) RETURNING uuid", 1, name);

	snprintf(path, sizeof(path), "/servers/%s", srv);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "<h2>Build node</h2>");
	ck_has(cl, "not seen by a build yet");
	ck_has(cl, "<dd>0 queued, 0 running</dd>");
	ck_has(cl, "none yet");
	snprintf(path, sizeof(path), "/servers/%s", rt);
	ck_status(tw_get(cl, path), cl, 200);
	ck_hasnt(cl, "<h2>Build node</h2>");

	/* What its last build saw: 1 MB free, below the default threshold
	 * (2048 MB), the engine unreachable. */
	tw_sql_exec("INSERT INTO build_nodes (node, server_id, disk_free_kb, "
	    "disk_min_kb, engine_ok, message) SELECT 'server:' || id, id, 1024, "
	    "0, false, 'not ready for builds' FROM servers WHERE uuid = $1", 1, srv);
	tw_uniq(aname, sizeof(aname), "bnode-app");
	sql_app_env(aname, "production", app, env);
	tw_sql_str(op, sizeof(op), "INSERT INTO operations (kind, subject_type, "
	    "subject_id, environment_id, build_server_id, status, started_at) "
	    "SELECT 'build', 'environment', e.id, e.id, s.id, 'failed', now() "
	    "FROM environments e, servers s WHERE e.uuid = $1 AND s.uuid = $2 "
	    "RETURNING uuid", 2, env, srv);
	tw_sql_exec("INSERT INTO operations (kind, subject_type, subject_id, "
	    "environment_id, build_server_id) SELECT 'build', 'environment', "
	    "e.id, e.id, s.id FROM environments e, servers s WHERE e.uuid = $1 "
	    "AND s.uuid = $2", 2, env, srv);
	snprintf(path, sizeof(path), "/servers/%s", srv);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "<dd>1 MB <span class=\"status status-failed\">disk pressure"
	    "</span> below the build threshold of 2048 MB");
	ck_has(cl, "<span class=\"status status-failed\">not reachable</span>");
	ck_has(cl, "not ready for builds, ");
	ck_has(cl, "<dd>1 queued, 0 running</dd>");
	snprintf(want, sizeof(want), "<a href=\"/ops/%s\"><span class=\"status "
	    "status-failed\">failed</span></a>", op);
	ck_has(cl, want);
	/* Plenty of space now, the engine back. */
	tw_sql_exec("UPDATE build_nodes SET disk_free_kb = 10485760, engine_ok = "
	    "true WHERE server_id = (SELECT id FROM servers WHERE uuid = $1)", 1,
	    srv);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "<dd>10240 MB</dd>");
	ck_hasnt(cl, "disk pressure");
	ck_has(cl, "<dd>reachable</dd>");

	/* The overview's panel for the control node. */
	ck_status(tw_get(cl, "/"), cl, 200);
	ck_has(cl, "<h2>Control node</h2>");
	ck_has(cl, "<dt>Free disk</dt>");
	ck_has(cl, "<dt>Queue</dt>");
	drop_app_ops(app);
	drop_server(srv);
	drop_server(rt);
}
END_TEST

START_TEST(app_crud)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 name[100], name2[100], uuid[40], path[128], want[512];
	PGresult	*res;

	tw_uniq(name, sizeof(name), "app");
	tw_uniq(name2, sizeof(name2), "app-renamed");
	tw_form_csrf(cl, "/apps/new");
	ck_has(cl, "name=\"default_branch\" value=\"main\"");
	buf_init(&f);
	app_form(&f, cl->csrf, name, "https://git.example.com/team/app.git",
	    "main");
	ck_status(tw_post(cl, "/apps", &f), cl, 303);
	uuid_from_location(cl, "/apps/", uuid);
	res = tw_sql("SELECT name, repository_url, default_branch FROM applications "
	    "WHERE uuid = $1", 1, uuid);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), name);
	ck_assert_str_eq(PQgetvalue(res, 0, 1),
	    "https://git.example.com/team/app.git");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "main");
	PQclear(res);

	snprintf(path, sizeof(path), "/apps/%s", uuid);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Application created.");
	snprintf(want, sizeof(want), "<h1>%s</h1>", name);
	ck_has(cl, want);
	ck_has(cl, "<code>https://git.example.com/team/app.git</code>");
	ck_has(cl, "No environments yet.");
	ck_status(tw_get(cl, "/apps?sort=-created"), cl, 200);
	snprintf(want, sizeof(want), "<a href=\"/apps/%s\">%s</a>", uuid, name);
	ck_has(cl, want);

	snprintf(path, sizeof(path), "/apps/%s/edit", uuid);
	tw_form_csrf(cl, path);
	snprintf(want, sizeof(want), "name=\"name\" value=\"%s\"", name);
	ck_has(cl, want);
	app_form(&f, cl->csrf, name2, "git@git.example.com:team/app2.git",
	    "release/1.0");
	snprintf(path, sizeof(path), "/apps/%s", uuid);
	ck_status(tw_post(cl, path, &f), cl, 303);
	tw_ck_location(cl, path);
	res = tw_sql("SELECT name, repository_url, default_branch FROM applications "
	    "WHERE uuid = $1", 1, uuid);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), name2);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "git@git.example.com:team/app2.git");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "release/1.0");
	PQclear(res);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Application saved.");
	ck_has(cl, "<code>release/1.0</code>");

	snprintf(path, sizeof(path), "/apps/%s/delete", uuid);
	tw_form_csrf(cl, path);
	snprintf(want, sizeof(want), "Delete %s?", name2);
	ck_has(cl, want);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 303);
	tw_ck_location(cl, "/apps");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "uuid = $1", 1, uuid), 0);
	snprintf(path, sizeof(path), "/apps/%s", uuid);
	ck_status(tw_get(cl, path), cl, 404);
	buf_release(&f);
}
END_TEST

/* The runtime server UUIDs of an environment, sorted, comma-separated. */
static void
env_servers(const char *env_uuid, char *out, size_t outsz)
{
	tw_sql_str(out, outsz, "SELECT coalesce(string_agg(s.uuid::text, ',' "
	    "ORDER BY s.uuid::text), '') FROM environment_servers es "
	    "JOIN servers s ON s.id = es.server_id JOIN environments e "
	    "ON e.id = es.environment_id WHERE e.uuid = $1", 1, env_uuid);
}

static void
env_form(struct buf *f, const char *csrf, const char *name,
    const char *branch, const char *loc, const char *build,
    const char *const *runtime, const char *retention)
{
	buf_reset(f);
	tw_fadd(f, "csrf", csrf);
	tw_fadd(f, "name", name);
	tw_fadd(f, "branch", branch);
	tw_fadd(f, "pinned_commit", "");
	tw_fadd(f, "dockerfile_source", "repository");
	tw_fadd(f, "dockerfile_path", "docker/Dockerfile");
	tw_fadd(f, "build_location", loc);
	tw_fadd(f, "build_server", build);
	for (; runtime != NULL && *runtime != NULL; runtime++)
		tw_fadd(f, "runtime_servers", *runtime);
	tw_fadd(f, "retention_count", retention);
}

START_TEST(env_crud)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 bs[40], r1[40], r2[40], app[40], env[40];
	char		 bsname[100], r1name[100], r2name[100], appname[100];
	char		 ename[100], ename2[100], path[256], want[512], got[256];
	const char	*both[3], *one[2];
	PGresult	*res;

	tw_uniq(bsname, sizeof(bsname), "build");
	tw_uniq(r1name, sizeof(r1name), "run-a");
	tw_uniq(r2name, sizeof(r2name), "run-b");
	tw_uniq(appname, sizeof(appname), "envapp");
	tw_uniq(ename, sizeof(ename), "prod");
	tw_uniq(ename2, sizeof(ename2), "staging");
	web_server(cl, bsname, 1, 0, bs);
	web_server(cl, r1name, 0, 1, r1);
	web_server(cl, r2name, 0, 1, r2);
	web_app(cl, appname, app);

	/* The form offers the build server in the select and the runtime
	 * servers as checkboxes. */
	snprintf(path, sizeof(path), "/apps/%s/envs/new", app);
	tw_form_csrf(cl, path);
	snprintf(want, sizeof(want), "<option value=\"%s\">%s</option>", bs,
	    bsname);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "name=\"runtime_servers\" value=\"%s\">", r1);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "name=\"runtime_servers\" value=\"%s\">", r2);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "name=\"runtime_servers\" value=\"%s\"", bs);
	ck_hasnt(cl, want);

	both[0] = r1;
	both[1] = r2;
	both[2] = NULL;
	buf_init(&f);
	env_form(&f, cl->csrf, ename, "develop", "specific", bs, both, "5");
	snprintf(path, sizeof(path), "/apps/%s/envs", app);
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s/envs/", app);
	uuid_from_location(cl, path, env);

	res = tw_sql("SELECT e.name, e.branch, e.build_location, s.uuid, "
	    "e.retention_count, e.dockerfile_path, e.dockerfile_source, "
	    "e.pinned_commit IS NULL, a.uuid FROM environments e "
	    "JOIN applications a ON a.id = e.application_id "
	    "LEFT JOIN servers s ON s.id = e.build_server_id WHERE e.uuid = $1",
	    1, env);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), ename);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "develop");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "specific");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), bs);
	ck_assert_str_eq(PQgetvalue(res, 0, 4), "5");
	ck_assert_str_eq(PQgetvalue(res, 0, 5), "docker/Dockerfile");
	ck_assert_str_eq(PQgetvalue(res, 0, 6), "repository");
	ck_assert_str_eq(PQgetvalue(res, 0, 7), "t");
	ck_assert_str_eq(PQgetvalue(res, 0, 8), app);
	PQclear(res);
	env_servers(env, got, sizeof(got));
	snprintf(want, sizeof(want), "%s,%s", strcmp(r1, r2) < 0 ? r1 : r2,
	    strcmp(r1, r2) < 0 ? r2 : r1);
	ck_assert_str_eq(got, want);

	/* The page shows it all. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Environment created.");
	snprintf(want, sizeof(want), "<h1>%s</h1>", ename);
	ck_has(cl, want);
	ck_has(cl, "<code>develop</code>");
	ck_has(cl, "the latest 5 successful");
	snprintf(want, sizeof(want), "<a href=\"/servers/%s\">%s</a>", r1, r1name);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "<a href=\"/servers/%s\">%s</a>", r2, r2name);
	ck_has(cl, want);
	/* Listed under the application with its server count. */
	snprintf(path, sizeof(path), "/apps/%s", app);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "<a href=\"/apps/%s/envs/%s\">%s</a>", app,
	    env, ename);
	ck_has(cl, want);
	ck_has(cl, "<td>2</td>");
	/* And under each server it uses. */
	snprintf(path, sizeof(path), "/servers/%s", bs);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "%s / %s", appname, ename);
	ck_has(cl, want);

	/* A server in use cannot be deleted. */
	snprintf(path, sizeof(path), "/servers/%s/delete", r1);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(path, sizeof(path), "/servers/%s", r1);
	tw_ck_location(cl, path);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE uuid = $1",
	    1, r1), 1);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "This server is used by an environment");

	/* Edit: the form shows the stored choices. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/edit", app, env);
	tw_form_csrf(cl, path);
	snprintf(want, sizeof(want), "<option value=\"%s\" selected>", bs);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "value=\"%s\" checked>", r1);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "value=\"%s\" checked>", r2);
	ck_has(cl, want);
	ck_has(cl, "name=\"retention_count\" value=\"5\"");
	/* Default build location: the build server sent along is dropped. */
	one[0] = r2;
	one[1] = NULL;
	env_form(&f, cl->csrf, ename2, "", "default", bs, one, "7");
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	ck_status(tw_post(cl, path, &f), cl, 303);
	tw_ck_location(cl, path);
	res = tw_sql("SELECT e.name, e.branch IS NULL, e.build_location, "
	    "e.build_server_id IS NULL, e.retention_count FROM environments e "
	    "WHERE e.uuid = $1", 1, env);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), ename2);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "t");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "default");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "t");
	ck_assert_str_eq(PQgetvalue(res, 0, 4), "7");
	PQclear(res);
	env_servers(env, got, sizeof(got));
	ck_assert_str_eq(got, r2);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Environment saved.");
	ck_has(cl, "Default build node");
	ck_has(cl, "<code>main</code>");	/* the application's branch */
	snprintf(want, sizeof(want), "<a href=\"/servers/%s\">", r1);
	ck_hasnt(cl, want);

	/* Delete. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/delete", app, env);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s", app);
	tw_ck_location(cl, path);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environments WHERE "
	    "uuid = $1", 1, env), 0);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environment_servers es "
	    "JOIN servers s ON s.id = es.server_id WHERE s.uuid IN ($1, $2, $3)",
	    3, bs, r1, r2), 0);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	ck_status(tw_get(cl, path), cl, 404);

	drop_app(app);
	drop_server(bs);
	drop_server(r1);
	drop_server(r2);
	buf_release(&f);
}
END_TEST

/* What the environment page says about the build: the Dockerfile path and
 * the build server, each rendered inside a section of the page. */
START_TEST(env_show_details)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 bs[40], app[40], env[40], bsname[100], appname[100];
	char		 ename[100], path[256], want[512];

	tw_uniq(bsname, sizeof(bsname), "shown-build");
	tw_uniq(appname, sizeof(appname), "shown");
	tw_uniq(ename, sizeof(ename), "shown-env");
	web_server(cl, bsname, 1, 0, bs);
	web_app(cl, appname, app);
	buf_init(&f);
	env_form(&f, cl->csrf, ename, "", "specific", bs, NULL, "3");
	snprintf(path, sizeof(path), "/apps/%s/envs", app);
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s/envs/", app);
	uuid_from_location(cl, path, env);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environments e JOIN "
	    "servers s ON s.id = e.build_server_id WHERE e.uuid = $1 AND "
	    "s.uuid = $2 AND e.dockerfile_path = 'docker/Dockerfile'", 2, env,
	    bs), 1);

	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "<code>docker/Dockerfile</code> from the repository");
	snprintf(want, sizeof(want), "<dt>Build on</dt><dd>%s</dd>", bsname);
	ck_has(cl, want);

	drop_app(app);
	drop_server(bs);
	buf_release(&f);
}
END_TEST

/* ---- validation ----------------------------------------------------- */

static void
ck_field_error(const struct tw_client *cl, const char *msg)
{
	struct buf	 want;

	buf_init(&want);
	buf_printf(&want, "<p class=\"field-error\">%s</p>", msg);
	ck_has(cl, buf_cstr(&want));
	ck_has(cl, "Please correct the fields marked below.");
	buf_release(&want);
}

START_TEST(server_field_errors)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 name[100], addr[128], want[512];
	long		 n0 = count_servers();

	tw_uniq(name, sizeof(name), "bad");
	tw_uniq(addr, sizeof(addr), "badhost");
	tw_form_csrf(cl, "/servers/new");
	buf_init(&f);

	/* Empty name: the other values come back in the form. */
	server_form(&f, cl->csrf, "", addr, "2200", "deploy", 1, 0);
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_field_error(cl, "Name is required.");
	snprintf(want, sizeof(want), "name=\"address\" value=\"%s\"", addr);
	ck_has(cl, want);
	ck_has(cl, "name=\"ssh_port\" value=\"2200\"");
	ck_has(cl, "name=\"ssh_user\" value=\"deploy\"");
	ck_has(cl, "name=\"role_build\" value=\"1\" checked");
	ck_has(cl, "name=\"role_runtime\" value=\"1\">");
	/* Whitespace only is empty. */
	server_form(&f, cl->csrf, "   ", addr, "22", "deploy", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_field_error(cl, "Name is required.");

	server_form(&f, cl->csrf, name, addr, "70000", "deploy", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_field_error(cl, "SSH port must be a port number between 1 and 65535.");
	snprintf(want, sizeof(want), "name=\"name\" value=\"%s\"", name);
	ck_has(cl, want);
	ck_has(cl, "name=\"ssh_port\" value=\"70000\"");
	ck_hasnt(cl, "Name is required.");

	server_form(&f, cl->csrf, name, "bad host;rm -rf /", "22", "deploy", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_field_error(cl, "Address must be a host name, an IPv4 or an IPv6 "
	    "address.");
	ck_has(cl, "name=\"address\" value=\"bad host;rm -rf /\"");

	server_form(&f, cl->csrf, name, addr, "22", "Root!", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_has(cl, "<p class=\"field-error\">SSH user must");

	/* Several at once: each field gets its own message. */
	server_form(&f, cl->csrf, "", "-x", "0", "", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_field_error(cl, "Name is required.");
	ck_has(cl, "<p class=\"field-error\">Address must");
	ck_has(cl, "<p class=\"field-error\">SSH port must");
	ck_field_error(cl, "SSH user is required.");

	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE name = $1 "
	    "OR address = $2", 2, name, addr), 0);
	ck_assert_int_eq(count_servers(), n0);
	buf_release(&f);
}
END_TEST

START_TEST(app_field_errors)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 name[100];
	long		 n0 = count_apps();

	tw_uniq(name, sizeof(name), "badapp");
	tw_form_csrf(cl, "/apps/new");
	buf_init(&f);

	app_form(&f, cl->csrf, "", "https://git.example.com/t/kept.git", "trunk");
	ck_status(tw_post(cl, "/apps", &f), cl, 422);
	ck_field_error(cl, "Name is required.");
	ck_has(cl, "value=\"https://git.example.com/t/kept.git\"");
	ck_has(cl, "name=\"default_branch\" value=\"trunk\"");

	app_form(&f, cl->csrf, name, "$(touch /tmp/x)", "main");
	ck_status(tw_post(cl, "/apps", &f), cl, 422);
	ck_has(cl, "<p class=\"field-error\">Repository URL ");
	ck_has(cl, "name=\"repository_url\" value=\"$(touch /tmp/x)\"");
	ck_hasnt(cl, "<p class=\"field-error\">Name");

	app_form(&f, cl->csrf, name, "https://git.example.com/t/a.git", "a..b");
	ck_status(tw_post(cl, "/apps", &f), cl, 422);
	ck_field_error(cl, "Default branch must not contain &#39;..&#39;.");

	app_form(&f, cl->csrf, name, "https://git.example.com/t/a.git",
	    "x;reboot");
	ck_status(tw_post(cl, "/apps", &f), cl, 422);
	ck_has(cl, "<p class=\"field-error\">Default branch may contain only");

	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "name = $1", 1, name), 0);
	ck_assert_int_eq(count_apps(), n0);
	buf_release(&f);
}
END_TEST

START_TEST(env_field_errors)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 app[40], env[40], appname[100], ename[100], srv[40];
	char		 sname[100], path[256];
	const char	*rs[2];

	tw_uniq(appname, sizeof(appname), "envval");
	tw_uniq(ename, sizeof(ename), "env");
	tw_uniq(sname, sizeof(sname), "envval-srv");
	sql_app_env(appname, NULL, app, env);
	web_server(cl, sname, 1, 1, srv);
	rs[0] = srv;
	rs[1] = NULL;
	snprintf(path, sizeof(path), "/apps/%s/envs/new", app);
	tw_form_csrf(cl, path);
	snprintf(path, sizeof(path), "/apps/%s/envs", app);
	buf_init(&f);

	env_form(&f, cl->csrf, ename, "", "default", "", rs, "0");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_field_error(cl, "Artifacts to keep must be a whole number from 1 to "
	    "100.");
	ck_has(cl, "name=\"retention_count\" value=\"0\"");
	/* The chosen runtime server stays checked. */
	{
		char want[128];
		snprintf(want, sizeof(want), "value=\"%s\" checked>", srv);
		ck_has(cl, want);
	}
	env_form(&f, cl->csrf, ename, "", "default", "", rs, "101");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_field_error(cl, "Artifacts to keep must be a whole number from 1 to "
	    "100.");

	env_form(&f, cl->csrf, ename, "a..b", "default", "", rs, "3");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "<p class=\"field-error\">Branch must not contain");

	env_form(&f, cl->csrf, "", "", "default", "", rs, "3");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_field_error(cl, "Name is required.");

	env_form(&f, cl->csrf, ename, "", "specific", "", rs, "3");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_field_error(cl, "Build server: choose the build server.");

	env_form(&f, cl->csrf, ename, "", "external", "", rs, "3");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_field_error(cl, "Registry host is required for an external registry.");
	ck_field_error(cl, "Registry password is required for this registry "
	    "and user.");

	env_form(&f, cl->csrf, ename, "", "elsewhere", "", rs, "3");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "<p class=\"field-error\">Build location is not one of");

	rs[0] = "not-a-uuid";
	env_form(&f, cl->csrf, ename, "", "default", "", rs, "3");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "<p class=\"field-error\">Runtime servers: must be a UUID.</p>");

	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environments e JOIN "
	    "applications a ON a.id = e.application_id WHERE a.uuid = $1", 1,
	    app), 0);
	drop_app(app);
	drop_server(srv);
	buf_release(&f);
}
END_TEST

/* The build settings of an environment form: every field, hostile values
 * refused with a field error or stored literally, the registry password
 * write-only. */
static void
build_form(struct buf *f, const char *csrf, const char *name, const char *k,
    const char *v)
{
	static const char *const dflt[][2] = {
		{ "dockerfile_source", "keystone" },
		{ "dockerfile_path", "Dockerfile" },
		{ "build_location", "default" },
		{ "retention_count", "3" },
		{ "preset", "command" },
		{ "preset_command", "./run --port 8080" },
		{ "build_timeout_s", "600" },
	};

	buf_reset(f);
	tw_fadd(f, "csrf", csrf);
	tw_fadd(f, "name", name);
	for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++)
		if (k == NULL || strcmp(k, dflt[i][0]) != 0)
			tw_fadd(f, dflt[i][0], dflt[i][1]);
	if (k != NULL)
		tw_fadd(f, k, v);
}

START_TEST(env_build_settings)
{
	static const struct {
		const char	*k, *v, *err;
	} bad[] = {
		{ "branch", "-oops", "Branch must not start with '-'." },
		{ "branch", "a;touch /tmp/ks-canary", "Branch " },
		{ "dockerfile_path", "-f/etc/passwd", "Dockerfile path must not start with '-'." },
		{ "dockerfile_path", "../Dockerfile", "Dockerfile path must not contain '..'." },
		{ "build_context", "/", "Build context must be a relative path." },
		{ "build_context", "-", "Build context must not start with '-'." },
		{ "preset_root", "a/../../b", "Site directory must not contain '..'." },
		{ "preset_command", "a\nb", "Command must not contain control characters." },
		{ "preset_base_image", "-busybox", "Base image " },
		{ "build_args", "1A=x", "Build arguments must be NAME=value lines" },
		{ "build_args", "A=1\n-B=2", "(line 2)" },
		{ "build_args", "A=\x1b[31m", "Build arguments must not contain control characters." },
		{ "build_timeout_s", "59", "Build timeout must be a whole number from 60 to 86400." },
		{ "build_timeout_s", "86401", "Build timeout must be a whole number from 60 to 86400." },
		{ "preset", "shell", "Preset: is not one of the offered choices." },
		{ "ext_registry_host", "reg;touch /tmp/ks-canary", "Registry host " },
		{ "ext_registry_ca", "not a certificate", "Registry CA certificate must be a PEM certificate" },
	};
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 app[40], env[40], appname[100], ename[100], path[256];
	char		 epath[256], got[512];

	tw_uniq(appname, sizeof(appname), "bset");
	tw_uniq(ename, sizeof(ename), "env");
	sql_app_env(appname, NULL, app, env);
	snprintf(path, sizeof(path), "/apps/%s/envs/new", app);
	tw_form_csrf(cl, path);
	ck_has(cl, "Default build node (the control node)");
	ck_has(cl, "External registry override");
	ck_hasnt(cl, ">external<");
	snprintf(path, sizeof(path), "/apps/%s/envs", app);
	buf_init(&f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf want;
		build_form(&f, cl->csrf, ename, bad[i].k, bad[i].v);
		ck_status(tw_post(cl, path, &f), cl, 422);
		buf_init(&want);
		tw_html_escape(&want, bad[i].err);
		if (!tw_has(cl, buf_cstr(&want)))
			ck_abort_msg("%s=%s: no \"%s\" in:\n%.3000s", bad[i].k,
			    bad[i].v, buf_cstr(&want), tw_body(cl));
		buf_release(&want);
	}
	/* A Keystone Dockerfile needs a preset; a command preset its
	 * command. */
	build_form(&f, cl->csrf, ename, "preset", "");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_field_error(cl, "Preset: choose what the Keystone Dockerfile builds.");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environments e JOIN "
	    "applications a ON a.id = e.application_id WHERE a.uuid = $1", 1,
	    app), 0);

	/* Metacharacters where a value is literal: stored as sent (CRLF from
	 * the textarea as LF). */
	build_form(&f, cl->csrf, ename, "build_args",
	    "X=$(touch /tmp/ks-canary)\r\nY=`id`; \"'\\ <b>");
	tw_fadd(&f, "preset_root", "a b;c");
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(epath, sizeof(epath), "/apps/%s/envs/", app);
	uuid_from_location(cl, epath, env);
	tw_sql_str(got, sizeof(got), "SELECT build_args || '|' || preset || '|' || "
	    "preset_base_image || '|' || preset_command || '|' || build_timeout_s "
	    "FROM environments WHERE uuid = $1", 1, env);
	ck_assert_str_eq(got, "X=$(touch /tmp/ks-canary)\nY=`id`; \"'\\ <b>|command|"
	    "debian:bookworm-slim|./run --port 8080|600");
	snprintf(epath, sizeof(epath), "/apps/%s/envs/%s", app, env);
	ck_status(tw_get(cl, epath), cl, 200);
	ck_has(cl, "Y=`id`; &quot;&#39;\\ &lt;b&gt;");
	ck_hasnt(cl, "<b>");
	ck_assert_int_ne(access("/tmp/ks-canary", F_OK), 0);

	/* The external registry override: the password is written, never
	 * shown; saved again without it, it stays (same registry and user). */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/edit", app, env);
	tw_form_csrf(cl, path);
	build_form(&f, cl->csrf, ename, "build_location", "external");
	{
		struct buf g;
		buf_init(&g);
		buf_puts(&g, f.ptr);
		tw_fadd(&g, "ext_registry_host", "127.0.0.1:5999");
		tw_fadd(&g, "ext_registry_user", "pusher");
		tw_fadd(&g, "ext_registry_password", "pw-CANARY-7f3a");
		ck_status(tw_post(cl, epath, &g), cl, 303);
		ck_status(tw_get(cl, epath), cl, 200);
		ck_has(cl, "pushing to <code>127.0.0.1:5999</code> as <code>pusher"
		    "</code> (password set)");
		ck_hasnt(cl, "CANARY");
		ck_status(tw_get(cl, path), cl, 200);
		ck_hasnt(cl, "CANARY");
		ck_has(cl, "set (leave empty to keep)");
		tw_sql_str(got, sizeof(got), "SELECT build_location || "
		    "(strpos(ext_registry_password_sealed, 'CANARY') = 0)::text "
		    "FROM environments WHERE uuid = $1", 1, env);
		ck_assert_str_eq(got, "externaltrue");
		/* Again without the password: kept. */
		buf_reset(&g);
		buf_puts(&g, f.ptr);
		tw_fadd(&g, "ext_registry_host", "127.0.0.1:5999");
		tw_fadd(&g, "ext_registry_user", "pusher");
		ck_status(tw_post(cl, epath, &g), cl, 303);
		/* Another registry: a password again. */
		buf_reset(&g);
		buf_puts(&g, f.ptr);
		tw_fadd(&g, "ext_registry_host", "reg.example.com");
		tw_fadd(&g, "ext_registry_user", "pusher");
		ck_status(tw_post(cl, epath, &g), cl, 422);
		ck_field_error(cl, "Registry password is required for this "
		    "registry and user.");
		ck_hasnt(cl, "CANARY");
		buf_release(&g);
	}
	tw_sql_str(got, sizeof(got), "SELECT ext_registry_host || ' ' || "
	    "(ext_registry_password_sealed IS NOT NULL)::text FROM environments "
	    "WHERE uuid = $1", 1, env);
	ck_assert_str_eq(got, "127.0.0.1:5999 true");
	drop_app(app);
	buf_release(&f);
}
END_TEST

/* An application's repository access: the URL as builds accept it, the
 * deploy key (generated, shown, replaced only when confirmed), the HTTPS
 * token (write-only), the access mode, and a Git host key unpinned when
 * the URL's host changes. */
START_TEST(app_repository_access)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 app[40], name[100], path[256], key1[256], key2[256];
	char		 want[128];

	tw_uniq(name, sizeof(name), "repo");
	buf_init(&f);
	tw_form_csrf(cl, "/apps/new");
	ck_has(cl, "git:// and file:// for local development only");
	app_form(&f, cl->csrf, name, "git://127.0.0.1/a.git", "main");
	ck_status(tw_post(cl, "/apps", &f), cl, 422);
	ck_field_error(cl, "Repository URL is allowed only for local development "
	    "(allow_local_sources).");
	app_form(&f, cl->csrf, name, "git@git.example.com:team/a.git", "main");
	ck_status(tw_post(cl, "/apps", &f), cl, 303);
	uuid_from_location(cl, "/apps/", app);

	snprintf(path, sizeof(path), "/apps/%s", app);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Generate deploy key");
	ck_has(cl, "Token: not set");
	snprintf(path, sizeof(path), "/apps/%s/deploy_key", app);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 303);
	tw_sql_str(key1, sizeof(key1), "SELECT deploy_key_public || ' ' || repo_auth "
	    "FROM applications WHERE uuid = $1", 1, app);
	snprintf(want, sizeof(want), " keystone-app-%s deploy_key", app);
	ck_assert_msg(strncmp(key1, "ssh-ed25519 AAAA", 16) == 0 &&
	    strstr(key1, want) != NULL, "%s", key1);
	*strrchr(key1, ' ') = '\0';
	snprintf(path, sizeof(path), "/apps/%s", app);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, key1);
	ck_has(cl, "Regenerate deploy key");
	/* Replacing asks first. */
	snprintf(path, sizeof(path), "/apps/%s/deploy_key", app);
	ck_status(tw_post(cl, path, &f), cl, 409);
	ck_has(cl, "Confirm to replace it.");
	tw_sql_str(key2, sizeof(key2), "SELECT deploy_key_public FROM applications "
	    "WHERE uuid = $1", 1, app);
	ck_assert_str_eq(key2, key1);
	tw_fadd(&f, "confirm", "1");
	ck_status(tw_post(cl, path, &f), cl, 303);
	tw_sql_str(key2, sizeof(key2), "SELECT deploy_key_public FROM applications "
	    "WHERE uuid = $1", 1, app);
	ck_assert_str_ne(key2, key1);

	/* The token: saved sealed, shown only as set. */
	snprintf(path, sizeof(path), "/apps/%s/token", app);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	tw_fadd(&f, "https_username", "deployer");
	ck_status(tw_post(cl, path, &f), cl, 422);
	tw_fadd(&f, "https_token", "tok-CANARY-91c2");
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s", app);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Token: set");
	ck_hasnt(cl, "CANARY");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "uuid = $1 AND repo_auth = 'token' AND https_username = 'deployer' "
	    "AND strpos(https_token_sealed, 'CANARY') = 0", 1, app), 1);
	/* Access modes. */
	snprintf(path, sizeof(path), "/apps/%s/access", app);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	tw_fadd(&f, "repo_auth", "deploy_key");
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "uuid = $1 AND repo_auth = 'deploy_key'", 1, app), 1);
	snprintf(path, sizeof(path), "/apps/%s/token", app);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	tw_fadd(&f, "remove", "1");
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s/access", app);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	tw_fadd(&f, "repo_auth", "token");
	ck_status(tw_post(cl, path, &f), cl, 409);
	ck_has(cl, "save the HTTPS token first");

	/* A pinned Git host key stays for the same host, goes for another. */
	tw_sql_exec("UPDATE applications SET git_host = 'git.example.com', "
	    "git_host_key = 'ssh-ed25519 AAAA', git_host_key_sha256 = 'SHA256:x', "
	    "git_host_key_pinned_at = now() WHERE uuid = $1", 1, app);
	snprintf(path, sizeof(path), "/apps/%s", app);
	app_form(&f, cl->csrf, name, "git@git.example.com:team/b.git", "main");
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "uuid = $1 AND git_host_key_sha256 = 'SHA256:x'", 1, app), 1);
	app_form(&f, cl->csrf, name, "ssh://git@git.example.com:2222/team/b.git",
	    "main");
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "uuid = $1 AND git_host IS NULL AND git_host_key IS NULL AND "
	    "git_host_key_sha256 IS NULL AND git_host_key_pinned_at IS NULL", 1,
	    app), 1);
	drop_app(app);
	buf_release(&f);
}
END_TEST

START_TEST(csrf_required)
{
	struct tw_client	*cl = tw_login(), *other = tw_login(), *anon = tw_cl_new();
	struct buf	 f;
	char		 name[100], addr[128], victim[100], vuuid[40], path[128];
	long		 n0;

	tw_uniq(name, sizeof(name), "csrf");
	tw_uniq(addr, sizeof(addr), "csrfhost");
	tw_uniq(victim, sizeof(victim), "victim");
	web_server(cl, victim, 0, 1, vuuid);
	n0 = count_servers();
	buf_init(&f);

	/* Missing. */
	server_form(&f, NULL, name, addr, "22", "keystone", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 403);
	ck_has(cl, "The form expired or did not come from this site.");
	/* Wrong. */
	server_form(&f, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", name, addr,
	    "22", "keystone", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 403);
	/* Empty. */
	server_form(&f, "", name, addr, "22", "keystone", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 403);
	/* Valid, but another session's. */
	ck_assert_str_ne(cl->csrf, other->csrf);
	server_form(&f, other->csrf, name, addr, "22", "keystone", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 403);
	/* Given twice. */
	server_form(&f, cl->csrf, name, addr, "22", "keystone", 0, 1);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, "/servers", &f), cl, 403);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE name = $1",
	    1, name), 0);
	ck_assert_int_eq(count_servers(), n0);

	/* A delete with a wrong token deletes nothing. */
	snprintf(path, sizeof(path), "/servers/%s/delete", vuuid);
	buf_reset(&f);
	tw_fadd(&f, "csrf", other->csrf);
	ck_status(tw_post(cl, path, &f), cl, 403);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE uuid = $1",
	    1, vuuid), 1);

	/* The login form is protected as well. */
	ck_status(tw_get(anon, "/login"), anon, 200);
	buf_reset(&f);
	tw_fadd(&f, "username", tw_user);
	tw_fadd(&f, "password", tw_pass);
	ck_status(tw_post(anon, "/login", &f), anon, 403);
	{
		char sc[512];
		ck_assert_ptr_null(set_cookie(anon, COOKIE, sc, sizeof(sc)));
	}
	drop_server(vuuid);
	buf_release(&f);
}
END_TEST

START_TEST(duplicate_names)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 name[100], other[100], addr[128], uuid[40], uuid2[40];
	char		 aname[100], app[40], path[128];
	long		 n0;

	tw_uniq(name, sizeof(name), "dup");
	tw_uniq(other, sizeof(other), "dup-other");
	tw_uniq(addr, sizeof(addr), "duphost");
	web_server(cl, name, 0, 1, uuid);
	web_server(cl, other, 0, 1, uuid2);
	n0 = count_servers();
	buf_init(&f);

	server_form(&f, cl->csrf, name, addr, "22", "keystone", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_field_error(cl, "Name is already used by another server.");
	{
		char want[256];
		snprintf(want, sizeof(want), "name=\"address\" value=\"%s\"", addr);
		ck_has(cl, want);
	}
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE name = $1",
	    1, name), 1);
	ck_assert_int_eq(count_servers(), n0);
	/* The create form's own box is kept across the refusal (it was
	 * lost when the refusal redrew the form from the edit fields). */
	ck_has(cl, "name=\"connect\" value=\"1\">");
	server_form(&f, cl->csrf, name, addr, "22", "keystone", 0, 1);
	buf_printf(&f, "&connect=1");
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_field_error(cl, "Name is already used by another server.");
	ck_has(cl, "name=\"connect\" value=\"1\" checked>");
	ck_assert_int_eq(count_servers(), n0);

	/* Renaming another server onto the name is refused too. */
	snprintf(path, sizeof(path), "/servers/%s", uuid2);
	server_form(&f, cl->csrf, name, addr, "22", "keystone", 0, 1);
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "is already used by another server");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE uuid = $1 "
	    "AND name = $2", 2, uuid2, other), 1);

	tw_uniq(aname, sizeof(aname), "dupapp");
	web_app(cl, aname, app);
	n0 = count_apps();
	app_form(&f, cl->csrf, aname, "https://git.example.com/t/b.git", "main");
	ck_status(tw_post(cl, "/apps", &f), cl, 422);
	ck_field_error(cl, "Name is already used by another application.");
	ck_has(cl, "value=\"https://git.example.com/t/b.git\"");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "name = $1", 1, aname), 1);
	ck_assert_int_eq(count_apps(), n0);

	drop_app(app);
	drop_server(uuid);
	drop_server(uuid2);
	buf_release(&f);
}
END_TEST

/* ---- hostile input -------------------------------------------------- */

START_TEST(hostile_names)
{
	struct tw_client	*cl = tw_login();
	struct buf	 esc, f;
	char		 sqln[160], xss[160], sfx[64], su[40], xu[40], app[40];
	char		 stored[200], path[256];

	tw_uniq(sfx, sizeof(sfx), "h");
	snprintf(sqln, sizeof(sqln), "x'); DROP TABLE servers; -- %s", sfx);
	snprintf(xss, sizeof(xss), "<script>alert(1)</script> %s", sfx);
	buf_init(&esc);
	buf_init(&f);

	web_server(cl, sqln, 0, 1, su);
	web_server(cl, xss, 0, 1, xu);
	tw_sql_str(stored, sizeof(stored), "SELECT name FROM servers WHERE uuid = $1",
	    1, su);
	ck_assert_str_eq(stored, sqln);
	tw_sql_str(stored, sizeof(stored), "SELECT name FROM servers WHERE uuid = $1",
	    1, xu);
	ck_assert_str_eq(stored, xss);
	ck_assert_int_ge(count_servers(), 2);	/* the table is still there */

	snprintf(path, sizeof(path), "/servers/%s", su);
	ck_status(tw_get(cl, path), cl, 200);
	tw_html_escape(&esc, sqln);
	ck_has(cl, buf_cstr(&esc));
	ck_has(cl, "x&#39;); DROP TABLE servers; --");

	snprintf(path, sizeof(path), "/servers/%s", xu);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "&lt;script&gt;alert(1)&lt;/script&gt;");
	ck_hasnt(cl, "<script>alert(1)</script>");
	tw_html_escape(&esc, xss);
	{
		struct buf t;
		buf_init(&t);
		buf_printf(&t, "<title>%s · Keystone</title>", buf_cstr(&esc));
		ck_has(cl, buf_cstr(&t));
		buf_release(&t);
	}
	snprintf(path, sizeof(path), "/servers/%s/edit", xu);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "value=\"&lt;script&gt;alert(1)&lt;/script&gt;");
	ck_hasnt(cl, "<script>alert(1)</script>");
	snprintf(path, sizeof(path), "/servers/%s/delete", xu);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "&lt;script&gt;alert(1)&lt;/script&gt;");
	ck_hasnt(cl, "<script>alert(1)</script>");

	/* An application named so, and the environment form that lists the
	 * servers (all of them, unpaginated). */
	web_app(cl, xss, app);
	tw_sql_str(stored, sizeof(stored), "SELECT name FROM applications WHERE "
	    "uuid = $1", 1, app);
	ck_assert_str_eq(stored, xss);
	snprintf(path, sizeof(path), "/apps/%s", app);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "&lt;script&gt;alert(1)&lt;/script&gt;");
	ck_hasnt(cl, "<script>alert(1)</script>");
	snprintf(path, sizeof(path), "/apps/%s/envs/new", app);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "&lt;script&gt;alert(1)&lt;/script&gt;");
	ck_has(cl, "x&#39;); DROP TABLE servers; --");
	ck_hasnt(cl, "<script>alert(1)</script>");

	/* Echoed back in a refused form: escaped there too. */
	server_form(&f, cl->csrf, "<script>alert(1)</script>", "h.example.com",
	    "70000", "keystone", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_has(cl, "value=\"&lt;script&gt;alert(1)&lt;/script&gt;\"");
	ck_hasnt(cl, "<script>alert(1)</script>");
	server_form(&f, cl->csrf, "\"><script>alert(1)</script>", "h.example.com",
	    "70000", "keystone", 0, 1);
	ck_status(tw_post(cl, "/servers", &f), cl, 422);
	ck_has(cl, "value=\"&quot;&gt;&lt;script&gt;");
	ck_hasnt(cl, "<script>alert(1)</script>");

	drop_app(app);
	drop_server(su);
	drop_server(xu);
	buf_release(&esc);
	buf_release(&f);
}
END_TEST

START_TEST(body_too_large)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 name[100], addr[128], uuid[40];
	long		 n0 = count_servers();
	size_t		 big = 2 * 1024 * 1024;

	tw_uniq(name, sizeof(name), "big");
	tw_uniq(addr, sizeof(addr), "bighost");
	buf_init(&f);
	server_form(&f, cl->csrf, name, addr, "22", "keystone", 0, 1);
	buf_puts(&f, "&pad=");
	ck_assert_int_eq(buf_grow(&f, big), 0);
	memset(f.ptr + f.len, 'a', big);
	f.len += big;
	f.ptr[f.len] = '\0';
	ck_status(tw_post(cl, "/servers", &f), cl, 413);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE name = $1",
	    1, name), 0);
	ck_assert_int_eq(count_servers(), n0);

	/* The session is unharmed, and a form under the limit (60 KB) is
	 * taken. */
	ck_status(tw_get(cl, "/servers/new"), cl, 200);
	server_form(&f, cl->csrf, name, addr, "22", "keystone", 0, 1);
	buf_puts(&f, "&pad=");
	for (int i = 0; i < 60000; i++)
		buf_putc(&f, 'a');
	ck_status(tw_post(cl, "/servers", &f), cl, 303);
	uuid_from_location(cl, "/servers/", uuid);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE name = $1",
	    1, name), 1);
	drop_server(uuid);
	buf_release(&f);
}
END_TEST

START_TEST(bad_encoding)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f, pair;
	char		 pfx[100], addr[128];
	static const char *const bad[] = { "%C0%AF", "%FF", "%zz", "%ED%A0%80",
	    "%00", "%", "%4" };
	long		 n0 = count_servers();

	tw_uniq(pfx, sizeof(pfx), "enc");
	tw_uniq(addr, sizeof(addr), "enchost");
	buf_init(&f);
	buf_init(&pair);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&f);
		tw_fadd(&f, "csrf", cl->csrf);
		buf_reset(&pair);
		buf_printf(&pair, "name=%s%s", pfx, bad[i]);
		fraw(&f, buf_cstr(&pair));
		tw_fadd(&f, "address", addr);
		tw_fadd(&f, "ssh_port", "22");
		tw_fadd(&f, "ssh_user", "keystone");
		if (tw_post(cl, "/servers", &f) != 400)
			ck_abort_msg("name=%s%s: status %ld, want 400", pfx, bad[i],
			    cl->status);
		ck_has(cl, "The form is malformed or not valid UTF-8.");
	}
	/* In a key, too. */
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	fraw(&f, "na%FFme=x");
	ck_status(tw_post(cl, "/servers", &f), cl, 400);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE "
	    "starts_with(name, $1) OR address = $2", 2, pfx, addr), 0);
	ck_assert_int_eq(count_servers(), n0);

	/* And in the query string. */
	ck_status(tw_get(cl, "/servers?page=%FF"), cl, 400);
	ck_status(tw_get(cl, "/servers?sort=%zz"), cl, 400);
	ck_status(tw_get(cl, "/servers?sort=%C0%AF"), cl, 400);
	buf_release(&f);
	buf_release(&pair);
}
END_TEST

START_TEST(not_found)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 u1[40], u2[40], app[40], env[40], aname[100], path[256];

	new_uuid(u1);
	new_uuid(u2);
	tw_uniq(aname, sizeof(aname), "nf");
	sql_app_env(aname, "env", app, env);

	ck_status(tw_get(cl, "/nope"), cl, 404);
	ck_has(cl, "There is no such page.");
	ck_status(tw_get(cl, "/servers/"), cl, 404);
	ck_status(tw_get(cl, "/servers/not-a-uuid"), cl, 404);
	ck_status(tw_get(cl, "/servers/x/y/z"), cl, 404);
	snprintf(path, sizeof(path), "/servers/%s", u1);
	ck_status(tw_get(cl, path), cl, 404);
	ck_has(cl, "There is no such page.");
	snprintf(path, sizeof(path), "/servers/%s/edit", u1);
	ck_status(tw_get(cl, path), cl, 404);
	snprintf(path, sizeof(path), "/apps/%s", u1);
	ck_status(tw_get(cl, path), cl, 404);
	snprintf(path, sizeof(path), "/apps/%s/envs/new", u1);
	ck_status(tw_get(cl, path), cl, 404);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", u1, u2);
	ck_status(tw_get(cl, path), cl, 404);
	/* A real application, an unknown environment. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, u2);
	ck_status(tw_get(cl, path), cl, 404);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts", app, u2);
	ck_status(tw_get(cl, path), cl, 404);
	/* A real environment under the wrong application. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", u1, env);
	ck_status(tw_get(cl, path), cl, 404);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	ck_status(tw_get(cl, path), cl, 200);

	/* Writes to unknown rows. */
	buf_init(&f);
	server_form(&f, cl->csrf, "ghost", "ghost.example.com", "22", "keystone",
	    0, 1);
	snprintf(path, sizeof(path), "/servers/%s", u1);
	ck_status(tw_post(cl, path, &f), cl, 404);
	snprintf(path, sizeof(path), "/servers/%s/delete", u1);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 404);
	snprintf(path, sizeof(path), "/apps/%s/delete", u1);
	ck_status(tw_post(cl, path, &f), cl, 404);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE name = "
	    "'ghost'", 0), 0);
	drop_app(app);
	buf_release(&f);
}
END_TEST

/* Deleting an environment that is not there (unknown, or under another
 * application) is a 404 like every other write to an unknown row, and
 * deletes nothing. */
START_TEST(env_delete_unknown)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 u[40], app[40], env[40], app2[40], env2[40];
	char		 a1[100], a2[100], path[256];

	new_uuid(u);
	tw_uniq(a1, sizeof(a1), "envdel");
	tw_uniq(a2, sizeof(a2), "envdel-other");
	sql_app_env(a1, "env", app, env);
	sql_app_env(a2, "env", app2, env2);
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/delete", app, u);
	ck_status(tw_post(cl, path, &f), cl, 404);
	/* app2's environment through app's URL. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/delete", app, env2);
	ck_status(tw_post(cl, path, &f), cl, 404);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environments WHERE "
	    "uuid IN ($1, $2)", 2, env, env2), 2);
	drop_app(app);
	drop_app(app2);
	buf_release(&f);
}
END_TEST

START_TEST(method_not_allowed)
{
	struct tw_client	*cl = tw_login();
	char		 allow[256], u[40], path[128];

	ck_status(tw_request(cl, "PUT", "/servers", NULL, 0), cl, 405);
	if (tw_header(cl, "Allow", allow, sizeof(allow)) == NULL)
		ck_abort_msg("405 without an Allow header; headers:\n%s",
		    buf_cstr(&cl->hdr));
	ck_assert_msg(strstr(allow, "GET") != NULL && strstr(allow, "POST") !=
	    NULL, "PUT /servers: Allow: \"%s\", want GET and POST", allow);
	ck_assert_msg(strstr(allow, "PUT") == NULL, "Allow: %s", allow);

	new_uuid(u);
	snprintf(path, sizeof(path), "/servers/%s", u);
	ck_status(tw_request(cl, "DELETE", path, NULL, 0), cl, 405);
	ck_assert_ptr_nonnull(tw_header(cl, "Allow", allow, sizeof(allow)));
	ck_assert_msg(strstr(allow, "GET") != NULL && strstr(allow, "POST") !=
	    NULL, "DELETE /servers/uuid: Allow: \"%s\"", allow);

	ck_status(tw_request(cl, "POST", "/", "", 0), cl, 405);
	ck_assert_ptr_nonnull(tw_header(cl, "Allow", allow, sizeof(allow)));
	ck_assert_msg(strstr(allow, "GET") != NULL, "POST /: Allow: \"%s\"", allow);
}
END_TEST

/* ---- lists ---------------------------------------------------------- */

/* Asserts that the rows (uuid, name) of res appear on the list page in
 * that order. */
static void
ck_rows_in_order(const struct tw_client *cl, PGresult *res)
{
	struct buf	 esc, pat;
	const char	*b = tw_body(cl), *at = b, *p;

	buf_init(&esc);
	buf_init(&pat);
	ck_assert_int_gt(PQntuples(res), 0);
	for (int i = 0; i < PQntuples(res); i++) {
		tw_html_escape(&esc, PQgetvalue(res, i, 1));
		buf_reset(&pat);
		buf_printf(&pat, "<a href=\"/servers/%s\">%s</a>",
		    PQgetvalue(res, i, 0), buf_cstr(&esc));
		if ((p = strstr(b, buf_cstr(&pat))) == NULL)
			ck_abort_msg("row %d (%s) is not on the page", i,
			    buf_cstr(&pat));
		if (p < at)
			ck_abort_msg("row %d (%s) is out of order", i,
			    buf_cstr(&pat));
		at = p;
	}
	buf_release(&esc);
	buf_release(&pat);
}

START_TEST(pagination)
{
	struct tw_client	*cl = tw_login();
	char		 pfx[100], want[128], href[256];
	long		 total, pages;
	PGresult	*res;

	tw_uniq(pfx, sizeof(pfx), "pg");
	tw_sql_exec("INSERT INTO servers (name, address) SELECT $1 || '-' || "
	    "lpad(g::text, 3, '0'), $1 || '-' || g || '.example.com' "
	    "FROM generate_series(1, 120) g", 1, pfx);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE "
	    "starts_with(name, $1)", 1, pfx), 120);
	total = count_servers();
	pages = (total + 49) / 50;
	ck_assert_int_ge(pages, 3);

	ck_status(tw_get(cl, "/servers"), cl, 200);
	snprintf(want, sizeof(want), "Page 1 of %ld · %ld in all", pages, total);
	ck_has(cl, want);
	ck_assert_msg(link_href(cl, "Next", href, sizeof(href)), "no Next link");
	ck_assert_msg(strstr(href, "page=2") != NULL && strstr(href,
	    "sort=name") != NULL, "Next link: %s", href);
	ck_assert_msg(!link_href(cl, "← Previous", href, sizeof(href)),
	    "Previous on page 1");
	res = tw_sql("SELECT uuid, name FROM servers ORDER BY name LIMIT 50", 0);
	ck_rows_in_order(cl, res);
	PQclear(res);
	/* Exactly one page of rows. */
	{
		const char *p = tw_body(cl);
		int n = 0;
		while ((p = strstr(p, "<td><a href=\"/servers/")) != NULL) {
			n++;
			p++;
		}
		ck_assert_int_eq(n, 50);
	}

	ck_status(tw_get(cl, "/servers?page=2"), cl, 200);
	snprintf(want, sizeof(want), "Page 2 of %ld", pages);
	ck_has(cl, want);
	ck_assert_msg(link_href(cl, "← Previous", href, sizeof(href)),
	    "no Previous link on page 2");
	ck_assert_msg(strstr(href, "page=1") != NULL, "Previous: %s", href);
	res = tw_sql("SELECT uuid, name FROM servers ORDER BY name LIMIT 50 "
	    "OFFSET 50", 0);
	ck_rows_in_order(cl, res);
	PQclear(res);

	ck_status(tw_get(cl, "/servers?sort=-name"), cl, 200);
	ck_has(cl, "Page 1 of");
	res = tw_sql("SELECT uuid, name FROM servers ORDER BY name DESC LIMIT 50", 0);
	ck_rows_in_order(cl, res);
	PQclear(res);
	ck_assert_msg(link_href(cl, "Next", href, sizeof(href)), "no Next link");
	ck_assert_msg(strstr(href, "sort=-name") != NULL, "Next keeps the sort: %s",
	    href);
	ck_status(tw_get(cl, "/servers?sort=-name&page=2"), cl, 200);
	res = tw_sql("SELECT uuid, name FROM servers ORDER BY name DESC LIMIT 50 "
	    "OFFSET 50", 0);
	ck_rows_in_order(cl, res);
	PQclear(res);

	/* Garbage falls back to the defaults. */
	ck_status(tw_get(cl, "/servers?page=abc"), cl, 200);
	snprintf(want, sizeof(want), "Page 1 of %ld", pages);
	ck_has(cl, want);
	ck_status(tw_get(cl, "/servers?page=-3"), cl, 200);
	ck_has(cl, want);
	ck_status(tw_get(cl, "/servers?page=0"), cl, 200);
	ck_has(cl, want);
	ck_status(tw_get(cl, "/servers?sort=name;DROP%20TABLE%20servers"), cl, 200);
	res = tw_sql("SELECT uuid, name FROM servers ORDER BY name LIMIT 50", 0);
	ck_rows_in_order(cl, res);
	PQclear(res);
	/* Past the end: an empty page, not an error. */
	ck_status(tw_get(cl, "/servers?page=99999"), cl, 200);
	ck_hasnt(cl, "<td><a href=\"/servers/");

	tw_sql_exec("DELETE FROM servers WHERE starts_with(name, $1)", 1, pfx);
}
END_TEST

START_TEST(artifacts_page)
{
	struct tw_client	*cl = tw_login();
	char		 aname[100], app[40], env[40], app2[40], env2[40];
	char		 aname2[100], path[256], want[512], tag[256], tag2[256];
	static const char sha[] = "0123456789abcdef0123456789abcdef01234567";
	static const char sha2[] = "fedcba9876543210fedcba9876543210fedcba98";
	static const char digest[] = "sha256:"
	    "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd";

	tw_uniq(aname, sizeof(aname), "art");
	tw_uniq(aname2, sizeof(aname2), "art-other");
	sql_app_env(aname, "production", app, env);
	sql_app_env(aname2, "production", app2, env2);
	snprintf(tag, sizeof(tag), "registry.local/keystone/%s/production:%s",
	    aname, sha);
	snprintf(tag2, sizeof(tag2), "registry.local/keystone/%s/production:%s",
	    aname, sha2);
	tw_sql_exec("INSERT INTO build_artifacts (application_id, environment_id, "
	    "registry_host, tag, manifest_digest, commit_sha, status, created_at) "
	    "SELECT e.application_id, e.id, 'registry.local', $2, $3, $4, "
	    "'available', now() - interval '2 hours' FROM environments e "
	    "WHERE e.uuid = $1", 4, env, tag, digest, sha);
	tw_sql_exec("INSERT INTO build_artifacts (application_id, environment_id, "
	    "registry_host, tag, commit_sha, status) SELECT e.application_id, "
	    "e.id, 'registry.local', $2, $3, 'failed' FROM environments e "
	    "WHERE e.uuid = $1", 3, env, tag2, sha2);
	/* Another environment's artifact must not show. */
	tw_sql_exec("INSERT INTO build_artifacts (application_id, environment_id, "
	    "registry_host, tag, commit_sha, status) SELECT e.application_id, "
	    "e.id, 'registry.local', 'registry.local/other:tag', $2, 'building' "
	    "FROM environments e WHERE e.uuid = $1", 2, env2, sha);

	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts", app, env);
	ck_status(tw_get(cl, path), cl, 200);
	ck_hasnt(cl, "No builds yet.");
	snprintf(want, sizeof(want), "<code class=\"wrap\">%s</code>", tag);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "<code class=\"wrap\">%s</code>", digest);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "<code title=\"%s\">%.12s</code>", sha, sha);
	ck_has(cl, want);
	ck_has(cl, "<span class=\"status status-available\">available</span>");
	snprintf(want, sizeof(want), "<code title=\"%s\">%.12s</code>", sha2, sha2);
	ck_has(cl, want);
	ck_has(cl, "<span class=\"status status-failed\">failed</span>");
	ck_hasnt(cl, "registry.local/other:tag");
	ck_hasnt(cl, "status-building");
	/* Newest first. */
	ck_assert_msg(strstr(tw_body(cl), tag2) < strstr(tw_body(cl), tag),
	    "artifacts not newest first");
	ck_has(cl, "Page 1 of 1 · 2 in all");
	snprintf(want, sizeof(want), "<a href=\"/apps/%s\">%s</a>", app, aname);
	ck_has(cl, want);

	/* The application page counts the available one. */
	snprintf(path, sizeof(path), "/apps/%s", app);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "<a href=\"/apps/%s/envs/%s/artifacts\">1</a>",
	    app, env);
	ck_has(cl, want);

	/* Empty environment. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts", app2, env2);
	tw_sql_exec("DELETE FROM build_artifacts b USING environments e WHERE "
	    "e.id = b.environment_id AND e.uuid = $1", 1, env2);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "No builds yet.");
	drop_app(app);
	drop_app(app2);
}
END_TEST

START_TEST(env_nothing_half_written)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 sname[100], aname[100], ename[100], ename2[100];
	char		 srv[40], ghost[40], app[40], env[40], path[256];
	char		 got[256];
	const char	*rs[3];
	long		 n0;

	tw_uniq(sname, sizeof(sname), "atom");
	tw_uniq(aname, sizeof(aname), "atomapp");
	tw_uniq(ename, sizeof(ename), "atomenv");
	tw_uniq(ename2, sizeof(ename2), "atomenv-renamed");
	web_server(cl, sname, 0, 1, srv);
	web_app(cl, aname, app);
	new_uuid(ghost);
	n0 = count_envs();

	/* The environment row goes in first, then the servers: the unknown
	 * one must take the whole write back. */
	rs[0] = srv;
	rs[1] = ghost;
	rs[2] = NULL;
	buf_init(&f);
	env_form(&f, cl->csrf, ename, "", "default", "", rs, "3");
	snprintf(path, sizeof(path), "/apps/%s/envs", app);
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_field_error(cl, "Runtime servers: includes a server that no longer "
	    "exists.");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environments WHERE "
	    "name = $1", 1, ename), 0);
	ck_assert_int_eq(count_envs(), n0);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environment_servers es "
	    "JOIN servers s ON s.id = es.server_id WHERE s.uuid = $1", 1, srv), 0);

	/* An unknown build server: refused, nothing written. */
	rs[1] = NULL;
	env_form(&f, cl->csrf, ename, "", "specific", ghost, rs, "3");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "<p class=\"field-error\">Build server:");
	ck_assert_int_eq(count_envs(), n0);

	/* The same for an update: the old state stays whole. */
	env_form(&f, cl->csrf, ename, "", "default", "", rs, "3");
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s/envs/", app);
	uuid_from_location(cl, path, env);
	rs[0] = ghost;
	env_form(&f, cl->csrf, ename2, "", "default", "", rs, "9");
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "includes a server that no longer exists");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environments WHERE "
	    "uuid = $1 AND name = $2 AND retention_count = 3", 2, env, ename), 1);
	env_servers(env, got, sizeof(got));
	ck_assert_str_eq(got, srv);

	drop_app(app);
	drop_server(srv);
	buf_release(&f);
}
END_TEST

/* ---- throttling, timeouts, rehash, audit ---------------------------- */

/* A user of its own for a test, created with hash (or a fresh one of pw). */
static void
make_user(const char *name, const char *pw, const char *hash)
{
	char	 h[PW_HASHBYTES];

	if (hash == NULL) {
		ck_assert_int_eq(pw_hash(h, pw), 0);
		hash = h;
	}
	tw_sql_exec("INSERT INTO users (username, password_hash) VALUES ($1, $2)",
	    2, name, hash);
}

START_TEST(login_throttled_per_account)
{
	struct tw_client	*cl = tw_cl_new();
	char		 user[64];
	const char	*pw = "throttle test password";

	tw_uniq(user, sizeof(user), "thr");
	make_user(user, pw, NULL);
	/* 99 failures in the last hour: the right password still works. */
	tw_sql_exec("INSERT INTO login_attempts (username, address, success) "
	    "SELECT $1, '198.51.100.' || g, false FROM generate_series(1, 99) g",
	    1, user);
	ck_status(tw_try_login(cl, user, pw), cl, 303);
	/* The hundredth failure: refused even with the right password. */
	tw_sql_exec("INSERT INTO login_attempts (username, address, success) "
	    "VALUES ($1, '198.51.100.200', false)", 1, user);
	cl = tw_cl_new();
	ck_status(tw_try_login(cl, user, pw), cl, 429);
	ck_has(cl, "Too many failed attempts");
	ck_assert_ptr_null(set_cookie(cl, COOKIE, (char[512]){0}, 512));
	/* Older than an hour no longer counts. */
	tw_sql_exec("UPDATE login_attempts SET at = now() - interval '61 minutes' "
	    "WHERE username = $1", 1, user);
	cl = tw_cl_new();
	ck_status(tw_try_login(cl, user, pw), cl, 303);
}
END_TEST

START_TEST(login_throttled_per_address)
{
	struct tw_client	*cl = tw_cl_new();
	char		 user[64], lim[32];
	const char	*pw = "address throttle password";
	long		 max;

	tw_uniq(user, sizeof(user), "thra");
	make_user(user, pw, NULL);
	/* The stack runs Caddy on loopback: every request comes from
	 * 127.0.0.1. Fill that address's budget with other names. */
	max = 1000;
	snprintf(lim, sizeof(lim), "%ld", max);
	tw_sql_exec("INSERT INTO login_attempts (username, address, success) "
	    "SELECT 'nobody' || g, '127.0.0.1', false FROM generate_series(1, $1::int) g",
	    1, lim);
	ck_status(tw_try_login(cl, user, pw), cl, 429);
	tw_sql_exec("DELETE FROM login_attempts WHERE username LIKE 'nobody%' "
	    "AND address = '127.0.0.1'", 0);
	cl = tw_cl_new();
	ck_status(tw_try_login(cl, user, pw), cl, 303);
}
END_TEST

START_TEST(session_timeouts)
{
	struct tw_client	*cl;
	char		 user[64];
	const char	*pw = "session timeout password";

	tw_uniq(user, sizeof(user), "sto");
	make_user(user, pw, NULL);
	/* Idle past the limit (60 minutes by default). */
	cl = tw_cl_new();
	ck_status(tw_try_login(cl, user, pw), cl, 303);
	ck_status(tw_get(cl, "/servers"), cl, 200);
	tw_sql_exec("UPDATE sessions SET last_seen_at = now() - interval '61 minutes' "
	    "WHERE user_id = (SELECT id FROM users WHERE username = $1)", 1, user);
	ck_status(tw_get(cl, "/servers"), cl, 303);
	tw_ck_location(cl, "/login?next=/servers");
	/* Active, but past the absolute limit (12 hours by default). */
	cl = tw_cl_new();
	ck_status(tw_try_login(cl, user, pw), cl, 303);
	tw_sql_exec("UPDATE sessions SET created_at = now() - interval '12 hours 1 minute' "
	    "WHERE user_id = (SELECT id FROM users WHERE username = $1) "
	    "AND now() - last_seen_at < interval '1 minute'", 1, user);
	ck_status(tw_get(cl, "/servers"), cl, 303);
	/* Within both limits: fine, and activity keeps it alive. */
	cl = tw_cl_new();
	ck_status(tw_try_login(cl, user, pw), cl, 303);
	tw_sql_exec("UPDATE sessions SET last_seen_at = now() - interval '59 minutes' "
	    "WHERE user_id = (SELECT id FROM users WHERE username = $1) "
	    "AND now() - created_at < interval '1 minute'", 1, user);
	ck_status(tw_get(cl, "/servers"), cl, 200);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM sessions WHERE user_id = "
	    "(SELECT id FROM users WHERE username = $1) AND now() - last_seen_at "
	    "< interval '1 minute'", 1, user), 1);
}
END_TEST

START_TEST(weak_hash_rehashed_at_login)
{
	struct tw_client	*cl = tw_cl_new();
	char		 user[64], weak[crypto_pwhash_STRBYTES], now[512];
	const char	*pw = "rehash me please";

	tw_uniq(user, sizeof(user), "reh");
	ck_assert_int_eq(crypto_pwhash_str(weak, pw, strlen(pw), 1, 8192), 0);
	make_user(user, pw, weak);
	ck_status(tw_try_login(cl, user, pw), cl, 303);
	tw_sql_str(now, sizeof(now), "SELECT password_hash FROM users WHERE username = $1",
	    1, user);
	ck_assert_str_ne(now, weak);
	ck_assert_int_eq(pw_needs_rehash(now), 0);
	ck_assert_int_eq(pw_verify(now, pw), 0);
}
END_TEST

START_TEST(login_attempts_logged_without_password)
{
	struct tw_client	*cl = tw_cl_new();
	const char	*dir = getenv("KS_DIR");
	char		 user[64], path[512], line[256];
	const char	*pw = "canary-pw-Zq81xL";
	char		*log;

	ck_assert_msg(dir != NULL, "KS_DIR is not set");
	tw_uniq(user, sizeof(user), "audit");
	make_user(user, "the real password", NULL);
	ck_status(tw_try_login(cl, user, pw), cl, 401);
	cl = tw_cl_new();
	ck_status(tw_try_login(cl, user, "the real password"), cl, 303);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM login_attempts WHERE "
	    "username = $1", 1, user), 2);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM login_attempts WHERE "
	    "username = $1 AND success", 1, user), 1);
	snprintf(path, sizeof(path), "%s/log/keystone.log", dir);
	ck_assert_ptr_nonnull(log = tu_slurp(path, NULL));
	snprintf(line, sizeof(line), "login: failure user=%s", user);
	ck_assert_msg(strstr(log, line) != NULL, "no failure line for %s", user);
	snprintf(line, sizeof(line), "login: success user=%s", user);
	ck_assert_msg(strstr(log, line) != NULL, "no success line for %s", user);
	ck_assert_msg(strstr(log, pw) == NULL, "the password reached the log");
	ck_assert_msg(strstr(log, "the real password") == NULL,
	    "the password reached the log");
	free(log);
	/* Nor any table, in plaintext. */
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM users WHERE "
	    "password_hash LIKE '%' || $1 || '%'", 1, pw), 0);
}
END_TEST

/* How many files under dir hold s (listed in where). */
static int
files_holding(const char *dir, const char *s, struct buf *where)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[1024], *text;
	size_t		 len;
	int		 n = 0;

	ck_assert_msg((d = opendir(dir)) != NULL, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_REG)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((text = tu_slurp(path, &len)) == NULL)
			continue;
		if (memmem(text, len, s, strlen(s)) != NULL) {
			buf_printf(where, " %s", e->d_name);
			n++;
		}
		free(text);
	}
	closedir(d);
	return n;
}

/*
 * A password typed into the username field: neither login_attempts nor
 * any of the stack's logs holds it as typed, only "?" and 16 hex digits of
 * a keyed hash; the same name keeps counting towards its own throttle.
 */
START_TEST(unknown_name_never_plain)
{
	struct tw_client	*cl;
	const char	*dir = getenv("KS_DIR");
	char		 typed[80], first[32], name[64], path[512], line[128];
	char		 logdir[512];
	struct buf	 where;
	char		*log;

	ck_assert_msg(dir != NULL, "KS_DIR is not set");
	buf_init(&where);
	tw_uniq(typed, sizeof(typed), "Tr0ub4dor-PW");
	snprintf(first, sizeof(first), "%ld", tw_sql_long("SELECT "
	    "coalesce(max(id), 0) FROM login_attempts", 0));
	for (int i = 0; i < 2; i++) {
		cl = tw_cl_new();
		ck_status(tw_try_login(cl, typed, "whatever was typed"), cl, 401);
	}
	/* Two rows since, under one name that is not the typed one. */
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM login_attempts WHERE "
	    "id > $1::bigint", 1, first), 2);
	tw_sql_str(name, sizeof(name), "SELECT min(username) FROM login_attempts "
	    "WHERE id > $1::bigint", 1, first);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM login_attempts WHERE "
	    "id > $1::bigint AND username = $2 AND username ~ '^\\?[0-9a-f]{16}$' "
	    "AND NOT success", 2, first, name), 2);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM login_attempts WHERE "
	    "strpos(username, $1) > 0 OR strpos(username, 'Tr0ub4dor') > 0", 1,
	    typed), 0);
	/* The log names the attempts by that form; no log holds the typed. */
	snprintf(path, sizeof(path), "%s/log/keystone.log", dir);
	ck_assert_ptr_nonnull(log = tu_slurp(path, NULL));
	snprintf(line, sizeof(line), "login: failure user=%s ", name);
	ck_assert_msg(strstr(log, line) != NULL, "no \"%s\" in %s", line, path);
	free(log);
	snprintf(logdir, sizeof(logdir), "%s/log", dir);
	ck_assert_int_ge(files_holding(logdir, name, &where), 1);	/* it reads */
	buf_reset(&where);
	ck_assert_msg(files_holding(logdir, typed, &where) == 0,
	    "the typed name is in%s", buf_cstr(&where));
	/* Throttled by that form: 100 failures in the hour, then 429. */
	tw_sql_exec("INSERT INTO login_attempts (username, address, success) "
	    "SELECT $1, '198.51.100.' || g, false FROM generate_series(1, 98) g",
	    1, name);
	cl = tw_cl_new();
	ck_status(tw_try_login(cl, typed, "whatever was typed"), cl, 429);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM login_attempts WHERE "
	    "username = $1", 1, name), 101);
	ck_assert_msg(files_holding(logdir, typed, &where) == 0,
	    "the typed name is in%s", buf_cstr(&where));
	buf_release(&where);
}
END_TEST

/* ---- services (lib/domain/service.c, cgi/r_services.c) --------------- */

/* An environment of app with the runtime servers given (NULL-terminated),
 * through the web form; its UUID in uuid. */
static void
web_env(struct tw_client *cl, const char *app, const char *name,
    const char *const *runtime, char uuid[40])
{
	struct buf	 f;
	char		 path[256];

	buf_init(&f);
	env_form(&f, cl->csrf, name, "", "default", "", runtime, "3");
	snprintf(path, sizeof(path), "/apps/%s/envs", app);
	ck_status(tw_post(cl, path, &f), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s/envs/", app);
	uuid_from_location(cl, path, uuid);
	buf_release(&f);
}

/* A service form: the settings every one needs; a test adds the rest. */
static void
svc_form(struct buf *f, const char *csrf, const char *name, const char *port,
    const char *bind, const char *kind)
{
	buf_reset(f);
	tw_fadd(f, "csrf", csrf);
	tw_fadd(f, "name", name);
	tw_fadd(f, "port", port);
	tw_fadd(f, "bind_address", bind);
	tw_fadd(f, "health_kind", kind);
	tw_fadd(f, "health_path", "/healthz");
	tw_fadd(f, "health_interval_s", "3");
	tw_fadd(f, "health_timeout_s", "90");
	tw_fadd(f, "restart_policy", "on-failure");
}

/* Posts a service form to create (svc NULL) or update svc; the status. */
static long
svc_post(struct tw_client *cl, const char *app, const char *env,
    const char *svc, const struct buf *f)
{
	char	 path[300];

	snprintf(path, sizeof(path), "/apps/%s/envs/%s/services%s%s", app, env,
	    svc != NULL ? "/" : "", svc != NULL ? svc : "");
	return tw_post(cl, path, f);
}

/* The UUID of service name of environment env. */
static void
svc_uuid(const char *env, const char *name, char out[40])
{
	tw_sql_str(out, 40, "SELECT s.uuid FROM services s JOIN environments e "
	    "ON e.id = s.environment_id WHERE e.uuid = $1 AND s.name = $2", 2,
	    env, name);
}

/*
 * A service with its settings, plain variables (hostile values kept byte
 * for byte), a secret variable (sealed, bound to its row, never shown
 * again: only "set") and volumes; listed on the environment's page,
 * edited, its secret removed, deleted. Every value is HTML-escaped.
 */
START_TEST(services_crud)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f, esc;
	char		 app[40], env[40], r1[40], svc[40], canary[80];
	char		 appname[100], ename[100], r1name[100], path[300];
	char		 want[600], got[600], id[24];
	unsigned char	 rnd[8];
	const char	*one[2];
	static const char hostile[] = "a $HOME ${X} $$ \"q\" 'q' `id` "
	    "<script>alert(1)</script> #: {y: [1]}\t& ;|";
	PGresult	*res;

	tw_uniq(appname, sizeof(appname), "svcapp");
	tw_uniq(ename, sizeof(ename), "svcenv");
	tw_uniq(r1name, sizeof(r1name), "svc-run");
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(canary, sizeof(canary), "canary-%02x%02x%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	web_server(cl, r1name, 0, 1, r1);
	web_app(cl, appname, app);
	one[0] = r1;
	one[1] = NULL;
	web_env(cl, app, ename, one, env);

	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "No services yet");
	ck_has(cl, "Not deployed yet.");
	snprintf(want, sizeof(want), "href=\"/apps/%s/envs/%s/services/new\"",
	    app, env);
	ck_has(cl, want);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/services/new", app, env);
	tw_form_csrf(cl, path);
	ck_has(cl, "name=\"health_interval_s\" value=\"2\"");
	ck_has(cl, "<option value=\"unless-stopped\" selected>");

	buf_init(&f);
	buf_init(&esc);
	svc_form(&f, cl->csrf, "web", "8081", "", "http");
	tw_fadd(&f, "command", "sh -c 'exec httpd -f -p \"$PORT\"' # <b>");
	buf_printf(&esc, "PLAIN=%s\r\nEMPTY=\r\nDATABASE_URL=postgres://x@y/z?a=1\r\n",
	    hostile);
	tw_fadd(&f, "vars", buf_cstr(&esc));
	tw_fadd(&f, "volumes", "data:/var/lib/app\r\nlogs:/logs\r\n");
	tw_fadd(&f, "secret_name", "API_TOKEN");
	tw_fadd(&f, "secret_value", canary);
	ck_status(svc_post(cl, app, env, NULL, &f), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	tw_ck_location(cl, path);
	svc_uuid(env, "web", svc);

	res = tw_sql("SELECT s.command, s.port, s.bind_address IS NULL, "
	    "s.health_kind, s.health_path, s.health_interval_s, "
	    "s.health_timeout_s, s.restart_policy, s.id FROM services s "
	    "WHERE s.uuid = $1", 1, svc);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_str_eq(PQgetvalue(res, 0, 0),
	    "sh -c 'exec httpd -f -p \"$PORT\"' # <b>");
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "8081");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "t");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "http");
	ck_assert_str_eq(PQgetvalue(res, 0, 4), "/healthz");
	ck_assert_str_eq(PQgetvalue(res, 0, 5), "3");
	ck_assert_str_eq(PQgetvalue(res, 0, 6), "90");
	ck_assert_str_eq(PQgetvalue(res, 0, 7), "on-failure");
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 8));
	PQclear(res);
	/* Plain values byte for byte (the tab, quotes and '$' too). */
	tw_sql_str(got, sizeof(got), "SELECT value FROM service_vars v JOIN "
	    "services s ON s.id = v.service_id WHERE s.uuid = $1 AND "
	    "v.name = 'PLAIN'", 1, svc);
	ck_assert_str_eq(got, hostile);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM service_vars v "
	    "JOIN services s ON s.id = v.service_id WHERE s.uuid = $1 AND "
	    "v.name = 'EMPTY' AND v.value = ''", 1, svc), 1);
	/* The secret: sealed, never the value itself. */
	res = tw_sql("SELECT v.sealed, v.value IS NULL FROM service_vars v "
	    "JOIN services s ON s.id = v.service_id WHERE s.uuid = $1 AND "
	    "v.name = 'API_TOKEN'", 1, svc);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_ptr_null(strstr(PQgetvalue(res, 0, 0), canary));
	ck_assert_uint_gt(strlen(PQgetvalue(res, 0, 0)), 40);
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "t");
	PQclear(res);
	tw_sql_str(got, sizeof(got), "SELECT string_agg(w.name || ':' || "
	    "w.mount_path, ',' ORDER BY w.name) FROM service_volumes w JOIN "
	    "services s ON s.id = w.service_id WHERE s.uuid = $1", 1, svc);
	ck_assert_str_eq(got, "data:/var/lib/app,logs:/logs");

	/* Listed on the environment's page, escaped. */
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Service created.");
	snprintf(want, sizeof(want), "<a href=\"/apps/%s/envs/%s/services/%s/edit\">"
	    "web</a>", app, env, svc);
	ck_has(cl, want);
	ck_has(cl, "<code>(server):8081</code>");
	ck_has(cl, "# &lt;b&gt;</code>");
	ck_has(cl, "3 plain, 1 secret");
	ck_hasnt(cl, canary);
	ck_hasnt(cl, "<b>");

	/* The edit form: plain values back in the textarea, escaped; the
	 * secret only by name, as set. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/services/%s/edit", app,
	    env, svc);
	tw_form_csrf(cl, path);
	ck_has(cl, "name=\"port\" value=\"8081\"");
	ck_has(cl, "<option value=\"on-failure\" selected>");
	buf_reset(&esc);
	tw_html_escape(&esc, hostile);
	snprintf(want, sizeof(want), "PLAIN=%s\n", buf_cstr(&esc));
	ck_has(cl, want);
	ck_hasnt(cl, "<script>alert(1)");
	ck_has(cl, "data:/var/lib/app\nlogs:/logs\n");
	ck_has(cl, "<td><code>API_TOKEN</code></td><td>set</td>");
	ck_hasnt(cl, canary);

	/* Update: the plain variables and volumes are replaced, the secret
	 * stays when no value is given. */
	svc_form(&f, cl->csrf, "web", "8082", "127.0.0.1", "command");
	tw_fadd(&f, "health_command", "test -e /tmp/ready");
	tw_fadd(&f, "vars", "ONLY=1\n");
	tw_fadd(&f, "volumes", "");
	ck_status(svc_post(cl, app, env, svc, &f), cl, 303);
	res = tw_sql("SELECT port, bind_address, health_kind, health_command, "
	    "(SELECT string_agg(name, ',' ORDER BY name) FROM service_vars v "
	    " WHERE v.service_id = s.id), (SELECT count(*) FROM service_volumes w "
	    " WHERE w.service_id = s.id) FROM services s WHERE uuid = $1", 1,
	    svc);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "8082");
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "127.0.0.1");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "command");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "test -e /tmp/ready");
	ck_assert_str_eq(PQgetvalue(res, 0, 4), "API_TOKEN,ONLY");
	ck_assert_str_eq(PQgetvalue(res, 0, 5), "0");
	PQclear(res);

	/* A plain variable may not take a secret one's name. */
	svc_form(&f, cl->csrf, "web", "8082", "", "http");
	tw_fadd(&f, "vars", "API_TOKEN=plain\n");
	ck_status(svc_post(cl, app, env, svc, &f), cl, 422);
	ck_has(cl, "API_TOKEN is a secret variable");

	/* The remove button. */
	tw_form_csrf(cl, path);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	tw_fadd(&f, "name", "API_TOKEN");
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/services/%s/secrets/remove",
	    app, env, svc);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM service_vars WHERE "
	    "service_id = $1::bigint AND sealed IS NOT NULL", 1, id), 0);

	/* Delete. */
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/services/%s/delete", app,
	    env, svc);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM services WHERE uuid = $1",
	    1, svc), 0);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM service_vars WHERE "
	    "service_id = $1::bigint", 1, id), 0);
	ck_status(tw_post(cl, path, &f), cl, 404);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/services/%s/edit", app,
	    env, svc);
	ck_status(tw_get(cl, path), cl, 404);

	drop_app(app);
	drop_server(r1);
	buf_release(&f);
	buf_release(&esc);
}
END_TEST

/* Every refusal of the service form: 422, with the field's message. */
START_TEST(services_field_errors)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 app[40], env[40], appname[100], ename[100];
	static const struct {
		const char	*field, *value, *msg;
	} bad[] = {
		{ "name", "Web", "Name must start with a lower-case letter" },
		{ "name", "we b", "Name must be lower-case letters, digits" },
		{ "port", "0", "Port must be a whole number from 1 to 65535" },
		{ "bind_address", "localhost", "Bind address must be an IPv4 or IPv6" },
		{ "health_path", "healthz", "HTTP path must start with &#39;/&#39;" },
		{ "health_path", "/a b", "HTTP path must not contain spaces" },
		{ "health_interval_s", "301", "Interval must be a whole number from 1 to 300" },
		{ "health_timeout_s", "0", "Timeout must be a whole number from 1 to 3600" },
		{ "restart_policy", "sometimes", "Restart policy is not one of" },
		{ "vars", "PORT=1", "Variables: line 1: the name must not be HOST or PORT" },
		{ "vars", "A=1\nA=2", "Variables: line 2: the name is given twice" },
		{ "vars", "novalue", "Variables: line 1: must be NAME=value" },
		{ "volumes", "data:relative", "Volumes: line 1: the mount path must be an absolute path" },
		{ "volumes", "a:/x\nb:/x", "Volumes: line 2: the volume or its mount path is given twice" },
		{ "secret_name", "HOST", "Secret variable value is required" },
		{ "command", "a\nb", "Command must not contain control characters" },
	};
	char		 path[300];
	long		 n0;

	tw_uniq(appname, sizeof(appname), "svcbad");
	tw_uniq(ename, sizeof(ename), "svcbad-env");
	web_app(cl, appname, app);
	web_env(cl, app, ename, NULL, env);
	n0 = tw_sql_long("SELECT count(*) FROM services", 0);
	buf_init(&f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&f);
		tw_fadd(&f, "csrf", cl->csrf);
		tw_fadd(&f, bad[i].field, bad[i].value);
		if (strcmp(bad[i].field, "name") != 0)
			tw_fadd(&f, "name", "web");
		if (strcmp(bad[i].field, "port") != 0)
			tw_fadd(&f, "port", "8080");
		tw_fadd(&f, "health_kind", "http");
		if (strcmp(bad[i].field, "health_path") != 0)
			tw_fadd(&f, "health_path", "/");
		if (strcmp(bad[i].field, "health_interval_s") != 0)
			tw_fadd(&f, "health_interval_s", "2");
		if (strcmp(bad[i].field, "health_timeout_s") != 0)
			tw_fadd(&f, "health_timeout_s", "60");
		if (strcmp(bad[i].field, "restart_policy") != 0)
			tw_fadd(&f, "restart_policy", "no");
		ck_status(svc_post(cl, app, env, NULL, &f), cl, 422);
		ck_has(cl, bad[i].msg);
		ck_has(cl, "Please correct the fields marked below.");
	}
	/* A secret value of two lines (it goes to an env file), with the
	 * other fields' errors at once; the value is never echoed. */
	svc_form(&f, cl->csrf, "web", "8080", "", "command");
	tw_fadd(&f, "secret_name", "TOKEN");
	tw_fadd(&f, "secret_value", "line-one-xyzzy\nline-two");
	ck_status(svc_post(cl, app, env, NULL, &f), cl, 422);
	ck_has(cl, "Secret variable value must be one line.");
	ck_has(cl, "Health command is required for a command check.");
	ck_hasnt(cl, "xyzzy");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM services", 0), n0);

	/* A name taken in this environment. */
	svc_form(&f, cl->csrf, "web", "8080", "", "http");
	ck_status(svc_post(cl, app, env, NULL, &f), cl, 303);
	svc_form(&f, cl->csrf, "web", "8081", "", "http");
	ck_status(svc_post(cl, app, env, NULL, &f), cl, 422);
	ck_has(cl, "Name is already used by another service of this environment.");
	/* An unknown service or environment. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/services/"
	    "00000000-0000-4000-8000-000000000000/edit", app, env);
	ck_status(tw_get(cl, path), cl, 404);
	ck_status(svc_post(cl, app, "00000000-0000-4000-8000-000000000000",
	    NULL, &f), cl, 404);

	drop_app(app);
	buf_release(&f);
}
END_TEST

/*
 * Address and port claims: two environments may not claim the same
 * address and port on one server (0.0.0.0 claims them all), refused when
 * a service is saved and when a runtime server is added; an environment's
 * own services may not share a port. Each message names the other.
 */
START_TEST(services_port_conflicts)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 s1[40], s2[40], app[40], ea[40], eb[40], ec[40];
	char		 s1name[100], s2name[100], appname[100], na[100];
	char		 nb[100], nc[100], want[600], path[300];
	const char	*one[2], *two[3];

	tw_uniq(s1name, sizeof(s1name), "claim-1");
	tw_uniq(s2name, sizeof(s2name), "claim-2");
	tw_uniq(appname, sizeof(appname), "claims");
	tw_uniq(na, sizeof(na), "env-a");
	tw_uniq(nb, sizeof(nb), "env-b");
	tw_uniq(nc, sizeof(nc), "env-c");
	web_server(cl, s1name, 0, 1, s1);
	web_server(cl, s2name, 0, 1, s2);
	web_app(cl, appname, app);
	one[0] = s1;
	one[1] = NULL;
	two[0] = s1;
	two[1] = s2;
	two[2] = NULL;
	web_env(cl, app, na, one, ea);
	web_env(cl, app, nb, two, eb);
	buf_init(&f);

	svc_form(&f, cl->csrf, "web", "8080", "", "http");
	ck_status(svc_post(cl, app, ea, NULL, &f), cl, 303);
	/* The server's own address, port 8080: taken by env-a's web. */
	svc_form(&f, cl->csrf, "api", "8080", "", "http");
	ck_status(svc_post(cl, app, eb, NULL, &f), cl, 422);
	snprintf(want, sizeof(want), "Port on server %s, ", s1name);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "is claimed by service web of environment "
	    "%s of %s", na, appname);
	ck_has(cl, want);
	/* Another address on that server is free; 0.0.0.0 is every one. */
	svc_form(&f, cl->csrf, "api", "8080", "0.0.0.0", "http");
	ck_status(svc_post(cl, app, eb, NULL, &f), cl, 422);
	ck_has(cl, "Bind address on server");
	svc_form(&f, cl->csrf, "api", "8080", "127.0.0.9", "http");
	ck_status(svc_post(cl, app, eb, NULL, &f), cl, 303);
	/* Its own services may not share a port, whatever the address. */
	svc_form(&f, cl->csrf, "worker", "8080", "127.0.0.10", "none");
	ck_status(svc_post(cl, app, eb, NULL, &f), cl, 422);
	ck_has(cl, "Port is used by service api of this environment.");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM services s JOIN "
	    "environments e ON e.id = s.environment_id WHERE e.uuid = $1", 1, eb),
	    1);

	/* env-c claims 9090 on no server yet; env-a takes 9090 on s1. Adding
	 * s1 to env-c is then refused, naming env-a's service. */
	web_env(cl, app, nc, NULL, ec);
	svc_form(&f, cl->csrf, "web", "9090", "", "http");
	ck_status(svc_post(cl, app, ec, NULL, &f), cl, 303);
	svc_form(&f, cl->csrf, "metrics", "9090", "", "none");
	ck_status(svc_post(cl, app, ea, NULL, &f), cl, 303);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/edit", app, ec);
	tw_form_csrf(cl, path);
	env_form(&f, cl->csrf, nc, "", "default", "", one, "3");
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, ec);
	ck_status(tw_post(cl, path, &f), cl, 422);
	snprintf(want, sizeof(want), "Runtime servers: on server %s, ", s1name);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "is claimed by service metrics of "
	    "environment %s of %s", na, appname);
	ck_has(cl, want);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environment_servers es "
	    "JOIN environments e ON e.id = es.environment_id WHERE e.uuid = $1",
	    1, ec), 0);
	/* s2 is free of it. */
	one[0] = s2;
	env_form(&f, cl->csrf, nc, "", "default", "", one, "3");
	ck_status(tw_post(cl, path, &f), cl, 303);

	drop_app(app);
	drop_server(s1);
	drop_server(s2);
	buf_release(&f);
}
END_TEST

/*
 * What runs where (table deployments, as a deploy leaves it): the page
 * shows each runtime server's digest, state, since and the operation;
 * the environment's digest when all run the same one; "mixed" and
 * "degraded", naming the failed servers, otherwise; the overview lists
 * the degraded environment.
 */
START_TEST(env_deploy_state)
{
	struct tw_client	*cl = tw_login();
	char		 s1[40], s2[40], app[40], env[40], op[40];
	char		 s1name[100], s2name[100], appname[100], ename[100];
	char		 path[300], want[600];
	const char	*two[3];
	static const char d1[] = "sha256:"
	    "1111111111111111111111111111111111111111111111111111111111111111";
	static const char d2[] = "sha256:"
	    "2222222222222222222222222222222222222222222222222222222222222222";
	static const char put[] = "INSERT INTO deployments (environment_id, "
	    "server_id, digest, state, operation_id, message) "
	    "SELECT e.id, s.id, $3, $4, (SELECT id FROM operations WHERE "
	    "uuid = $5::uuid), $6 FROM environments e, servers s "
	    "WHERE e.uuid = $1 AND s.uuid = $2 "
	    "ON CONFLICT (environment_id, server_id) DO UPDATE SET "
	    "digest = EXCLUDED.digest, state = EXCLUDED.state, "
	    "operation_id = EXCLUDED.operation_id, message = EXCLUDED.message";

	tw_uniq(s1name, sizeof(s1name), "dep-1");
	tw_uniq(s2name, sizeof(s2name), "dep-2");
	tw_uniq(appname, sizeof(appname), "depapp");
	tw_uniq(ename, sizeof(ename), "depenv");
	web_server(cl, s1name, 0, 1, s1);
	web_server(cl, s2name, 0, 1, s2);
	web_app(cl, appname, app);
	two[0] = s1;
	two[1] = s2;
	two[2] = NULL;
	web_env(cl, app, ename, two, env);
	tw_sql_str(op, sizeof(op), "INSERT INTO operations (kind, subject_type, "
	    "subject_id, environment_id, status) SELECT 'deploy', 'environment', "
	    "id, id, 'succeeded' FROM environments WHERE uuid = $1 RETURNING uuid",
	    1, env);

	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Not deployed yet.");
	ck_has(cl, "not deployed</span>");

	tw_sql_exec(put, 6, env, s1, d1, "running", op, "healthy");
	/* One server runs d1, the other nothing yet: mixed. */
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "status-mixed\">mixed</span>");
	ck_hasnt(cl, "degraded</span>");
	ck_hasnt(cl, "on every server");

	tw_sql_exec(put, 6, env, s2, d1, "running", op, "healthy");
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "Running <code>%s</code> on every server.",
	    d1);
	ck_has(cl, want);
	ck_hasnt(cl, "mixed</span>");
	snprintf(want, sizeof(want), "<a href=\"/ops/%s\">deploy</a>", op);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "<a href=\"/servers/%s\">%s</a>", s2, s2name);
	ck_has(cl, want);

	/* s2 failed, left on d2: mixed and degraded, naming s2. */
	tw_sql_exec(put, 6, env, s2, d2, "failed", op,
	    "health check failed: <connection refused>");
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "status-mixed\">mixed</span>");
	snprintf(want, sizeof(want), "degraded</span> failed on %s.", s2name);
	ck_has(cl, want);
	ck_has(cl, "health check failed: &lt;connection refused&gt;");
	ck_hasnt(cl, "on every server");
	ck_status(tw_get(cl, "/"), cl, 200);
	ck_has(cl, "Degraded environments");
	snprintf(want, sizeof(want), "<a href=\"/apps/%s/envs/%s\">%s / %s</a>: "
	    "<span class=\"status status-failed\">failed</span> on %s", app, env,
	    appname, ename, s2name);
	ck_has(cl, want);

	/* Running again everywhere: neither. */
	tw_sql_exec(put, 6, env, s2, d1, "running", op, "healthy");
	ck_status(tw_get(cl, path), cl, 200);
	ck_hasnt(cl, "degraded</span>");
	ck_status(tw_get(cl, "/"), cl, 200);
	snprintf(want, sizeof(want), "<a href=\"/apps/%s/envs/%s\">", app, env);
	ck_hasnt(cl, want);

	tw_sql_exec("DELETE FROM operations WHERE uuid = $1", 1, op);
	drop_app(app);
	drop_server(s1);
	drop_server(s2);
}
END_TEST

/*
 * "Deploy" (a build, and a deploy of what it makes) on the environment
 * page and "Deploy this version" on an available artifact: the deploy
 * operation's page, or a 409 with the planner's reason.
 */
/* Deleting an environment, or an application, removes what runs on the
 * runtime servers first: a "remove" operation of no environment, a step
 * on each server, volumes kept. */
/* An artifact built for another architecture than a runtime server's is
 * refused, naming both; nothing is queued. */
START_TEST(deploy_arch_refused)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 aname[100], sname[100], app[40], env[40], srv[40], art[40];
	char		 path[300], want[300];

	tw_uniq(aname, sizeof(aname), "arch");
	tw_uniq(sname, sizeof(sname), "arch-run");
	sql_app_env(aname, "production", app, env);
	tw_sql_exec("INSERT INTO services (environment_id, name) SELECT id, 'web' "
	    "FROM environments WHERE uuid = $1", 1, env);
	web_server(cl, sname, 0, 1, srv);
	tw_sql_exec("UPDATE servers SET status = 'active', host_key = "
	    "'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample', host_key_sha256 = "
	    "'SHA256:example', facts = '{\"arch\": \"amd64\"}' WHERE uuid = $1", 1, srv);
	tw_sql_exec("INSERT INTO environment_servers (environment_id, server_id) "
	    "SELECT e.id, s.id FROM environments e, servers s WHERE e.uuid = $1 "
	    "AND s.uuid = $2", 2, env, srv);
	tw_sql_str(art, sizeof(art), "INSERT INTO build_artifacts (application_id, "
	    "environment_id, registry_host, tag, manifest_digest, commit_sha, status, "
	    "architecture) SELECT e.application_id, e.id, 'reg.example.test:5000', "
	    "'reg.example.test:5000/keystone/a/e:' || repeat('c', 40), 'sha256:' || "
	    "repeat('cd', 32), repeat('c', 40), 'available', 'arm64' FROM environments e "
	    "WHERE e.uuid = $1 RETURNING uuid", 1, env);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts", app, env);
	tw_form_csrf(cl, path);
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts/%s/deploy", app, env, art);
	ck_status(tw_post(cl, path, &f), cl, 409);
	snprintf(want, sizeof(want), "The artifact is built for arm64 but the runtime "
	    "server %s is amd64.", sname);
	ck_has(cl, want);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations o JOIN "
	    "environments e ON e.id = o.environment_id WHERE e.uuid = $1", 1, env), 0);
	buf_release(&f);
	tw_sql_exec("DELETE FROM applications WHERE uuid = $1", 1, app);
	tw_sql_exec("DELETE FROM servers WHERE uuid = $1", 1, srv);
}
END_TEST

START_TEST(env_delete_removes)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 aname[100], sname[100], app[40], env[40], env2[40], srv[40];
	char		 path[300];

	tw_uniq(aname, sizeof(aname), "removal");
	tw_uniq(sname, sizeof(sname), "removal-run");
	sql_app_env(aname, "production", app, env);
	tw_sql_str(env2, sizeof(env2), "INSERT INTO environments (application_id, "
	    "name) SELECT id, 'staging' FROM applications WHERE uuid = $1 "
	    "RETURNING uuid", 1, app);
	web_server(cl, sname, 0, 1, srv);
	tw_sql_exec("UPDATE servers SET status = 'active', host_key = "
	    "'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample', host_key_sha256 = "
	    "'SHA256:example' WHERE uuid = $1", 1, srv);
	tw_sql_exec("INSERT INTO environment_servers (environment_id, server_id) "
	    "SELECT e.id, s.id FROM environments e, servers s WHERE e.uuid IN ($1, $2) "
	    "AND s.uuid = $3", 3, env, env2, srv);
	long before = tw_sql_long("SELECT count(*) FROM operations WHERE kind = "
	    "'remove'", 0);

	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/delete", app, env);
	tw_form_csrf(cl, "/apps");
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations o JOIN "
	    "operation_steps s ON s.operation_id = o.id WHERE o.kind = 'remove' "
	    "AND o.environment_id IS NULL AND s.name = 'Remove from ' || $1 AND "
	    "s.script LIKE '%VOLUMES=''0''%' AND s.script LIKE '%' || $2 || '%'", 2,
	    sname, env), 1);
	/* The application, with its other environment. */
	snprintf(path, sizeof(path), "/apps/%s/delete", app);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations o JOIN "
	    "operation_steps s ON s.operation_id = o.id WHERE o.kind = 'remove' "
	    "AND s.script LIKE '%' || $1 || '%'", 1, env2), 1);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations WHERE kind = "
	    "'remove'", 0), before + 2);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE uuid = $1",
	    1, app), 0);
	buf_release(&f);
	tw_sql_exec("DELETE FROM operations WHERE kind = 'remove'", 0);
	tw_sql_exec("DELETE FROM servers WHERE uuid = $1", 1, srv);
}
END_TEST

/* ---- removing volumes only when confirmed (cgi/r_envs.c, r_apps.c) --- */

/* An application (name aname) with an environment "production" whose
 * service has a volume, and an active runtime server (sname) of it; with
 * sname2, a second such server. UUIDs out. */
static void
vol_fixture(struct tw_client *cl, const char *aname, const char *sname,
    const char *sname2, char app[40], char env[40], char srv[40],
    char srv2[40])
{
	static const char add[] = "INSERT INTO environment_servers "
	    "(environment_id, server_id) SELECT e.id, s.id FROM environments e, "
	    "servers s WHERE e.uuid = $1 AND s.uuid = $2";
	static const char pin[] = "UPDATE servers SET status = 'active', "
	    "host_key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample', "
	    "host_key_sha256 = 'SHA256:example' WHERE uuid = $1";

	sql_app_env(aname, "production", app, env);
	tw_sql_exec("INSERT INTO services (environment_id, name) SELECT id, 'web' "
	    "FROM environments WHERE uuid = $1", 1, env);
	tw_sql_exec("INSERT INTO service_volumes (service_id, name, mount_path) "
	    "SELECT s.id, 'data', '/data' FROM services s JOIN environments e "
	    "ON e.id = s.environment_id WHERE e.uuid = $1", 1, env);
	web_server(cl, sname, 0, 1, srv);
	tw_sql_exec(pin, 1, srv);
	tw_sql_exec(add, 2, env, srv);
	if (sname2 != NULL) {
		web_server(cl, sname2, 0, 1, srv2);
		tw_sql_exec(pin, 1, srv2);
		tw_sql_exec(add, 2, env, srv2);
	}
}

/* The "remove" operations of environment env with a step removing it from
 * server sname, its volumes too (vols "1") or not ("0"). */
static long
removals(const char *env, const char *sname, const char *vols)
{
	return tw_sql_long("SELECT count(*) FROM operations o JOIN "
	    "operation_steps s ON s.operation_id = o.id WHERE o.kind = 'remove' "
	    "AND s.name = 'Remove from ' || $2 AND s.script LIKE '%ENV_UUID=''' "
	    "|| $1 || '''%' AND s.script LIKE '%VOLUMES=''' || $3 || '''%'", 3,
	    env, sname, vols);
}

/* Every "remove" operation of environment env, whatever its volumes. */
static long
removals_any(const char *env)
{
	return tw_sql_long("SELECT count(*) FROM operations o JOIN "
	    "operation_steps s ON s.operation_id = o.id WHERE o.kind = 'remove' "
	    "AND s.script LIKE '%ENV_UUID=''' || $1 || '''%'", 1, env);
}

static void
drop_removals(const char *env)
{
	tw_sql_exec("DELETE FROM operations o USING operation_steps s WHERE "
	    "s.operation_id = o.id AND o.kind = 'remove' AND s.script LIKE "
	    "'%ENV_UUID=''' || $1 || '''%'", 1, env);
}

/* A delete form: csrf, the volumes' box when box, and confirm (NULL: no
 * name typed). */
static void
delete_form(struct buf *f, const char *csrf, int box, const char *confirm)
{
	buf_reset(f);
	tw_fadd(f, "csrf", csrf);
	if (box)
		tw_fadd(f, "remove_volumes", "1");
	if (confirm != NULL)
		tw_fadd(f, "confirm_name", confirm);
}

/*
 * Deleting an environment: the volumes' box only where there are
 * volumes; ticked with a wrong or missing name, 422 with the reason and
 * nothing removed or queued; ticked with the name, a removal whose
 * script deletes the volumes; not ticked, one that keeps them.
 */
START_TEST(env_delete_volumes)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 aname[100], sname[100], app[40], env[40], env2[40];
	char		 srv[40], path[300];

	tw_uniq(aname, sizeof(aname), "volenv");
	tw_uniq(sname, sizeof(sname), "volenv-run");
	vol_fixture(cl, aname, sname, NULL, app, env, srv, NULL);
	/* A second environment on the same server, without volumes. */
	tw_sql_str(env2, sizeof(env2), "INSERT INTO environments (application_id, "
	    "name) SELECT id, 'staging' FROM applications WHERE uuid = $1 "
	    "RETURNING uuid", 1, app);
	tw_sql_exec("INSERT INTO environment_servers (environment_id, server_id) "
	    "SELECT e.id, s.id FROM environments e, servers s WHERE e.uuid = $1 "
	    "AND s.uuid = $2", 2, env2, srv);

	snprintf(path, sizeof(path), "/apps/%s/envs/%s/edit", app, env2);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Delete this environment");
	ck_hasnt(cl, "name=\"remove_volumes\"");
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/edit", app, env);
	tw_form_csrf(cl, path);
	ck_has(cl, "name=\"remove_volumes\" value=\"1\"> Also delete the volumes "
	    "(their data is lost)");
	ck_has(cl, "name=\"confirm_name\"");

	buf_init(&f);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/delete", app, env);
	delete_form(&f, cl->csrf, 1, "Production");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "Nothing was deleted: the name typed does not match, so the "
	    "volumes were not deleted.");
	delete_form(&f, cl->csrf, 1, NULL);
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "Nothing was deleted: to delete the volumes, type the name to "
	    "confirm.");
	delete_form(&f, cl->csrf, 1, "");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environments WHERE "
	    "uuid = $1", 1, env), 1);
	ck_assert_int_eq(removals_any(env), 0);

	/* The other one, without the box: removed, its volumes kept. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/delete", app, env2);
	delete_form(&f, cl->csrf, 0, "staging");
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(removals(env2, sname, "0"), 1);
	ck_assert_int_eq(removals_any(env2), 1);

	snprintf(path, sizeof(path), "/apps/%s/envs/%s/delete", app, env);
	delete_form(&f, cl->csrf, 1, "production");
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(removals(env, sname, "1"), 1);
	ck_assert_int_eq(removals_any(env), 1);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM environments WHERE "
	    "uuid = $1", 1, env), 0);

	buf_release(&f);
	drop_removals(env);
	drop_removals(env2);
	drop_app(app);
	drop_server(srv);
}
END_TEST

/*
 * Taking runtime servers out of an environment on its form: the box and
 * a wrong or missing name, 422 and the environment unchanged, nothing
 * queued; without the box, the server's removal keeps the volumes; with
 * it and the name, it deletes them.
 */
START_TEST(env_server_out_volumes)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 aname[100], s1name[100], s2name[100], app[40], env[40];
	char		 s1[40], s2[40], path[300], want[100], got[100];
	const char	*only2[2], *none[1] = { NULL };

	tw_uniq(aname, sizeof(aname), "volsrv");
	tw_uniq(s1name, sizeof(s1name), "volsrv-1");
	tw_uniq(s2name, sizeof(s2name), "volsrv-2");
	vol_fixture(cl, aname, s1name, s2name, app, env, s1, s2);
	only2[0] = s2;
	only2[1] = NULL;
	env_servers(env, want, sizeof(want));

	snprintf(path, sizeof(path), "/apps/%s/envs/%s/edit", app, env);
	tw_form_csrf(cl, path);
	ck_has(cl, "Volumes on a server taken out");
	buf_init(&f);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	env_form(&f, cl->csrf, "production", "", "default", "", only2, "3");
	tw_fadd(&f, "remove_volumes", "1");
	tw_fadd(&f, "confirm_name", "staging");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "Confirmation: the name typed does not match, so the volumes "
	    "were not deleted.");
	env_form(&f, cl->csrf, "production", "", "default", "", only2, "3");
	tw_fadd(&f, "remove_volumes", "1");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "Confirmation: to delete the volumes, type the name to "
	    "confirm.");
	env_servers(env, got, sizeof(got));
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(removals_any(env), 0);

	/* s1 out without the box: its volumes stay. */
	env_form(&f, cl->csrf, "production", "", "default", "", only2, "3");
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(removals(env, s1name, "0"), 1);
	ck_assert_int_eq(removals_any(env), 1);
	/* s2 out with the box and the name: they go. */
	env_form(&f, cl->csrf, "production", "", "default", "", none, "3");
	tw_fadd(&f, "remove_volumes", "1");
	tw_fadd(&f, "confirm_name", "production");
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(removals(env, s2name, "1"), 1);
	ck_assert_int_eq(removals_any(env), 2);
	env_servers(env, got, sizeof(got));
	ck_assert_str_eq(got, "");

	buf_release(&f);
	drop_removals(env);
	drop_app(app);
	drop_server(s1);
	drop_server(s2);
}
END_TEST

/*
 * Deleting an application: the box only when one of its environments
 * has volumes; a wrong or missing name, or a box not understood, 422 and
 * nothing deleted or queued; the box and the name, the removal deletes
 * the volumes; no box, it keeps them.
 */
START_TEST(app_delete_volumes)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 aname[100], bname[100], sname[100], app[40], env[40];
	char		 app2[40], env2[40], srv[40], path[300];

	tw_uniq(aname, sizeof(aname), "volapp");
	tw_uniq(bname, sizeof(bname), "volapp-b");
	tw_uniq(sname, sizeof(sname), "volapp-run");
	vol_fixture(cl, aname, sname, NULL, app, env, srv, NULL);
	/* Another application on that server, without volumes. */
	sql_app_env(bname, "production", app2, env2);
	tw_sql_exec("INSERT INTO environment_servers (environment_id, server_id) "
	    "SELECT e.id, s.id FROM environments e, servers s WHERE e.uuid = $1 "
	    "AND s.uuid = $2", 2, env2, srv);

	snprintf(path, sizeof(path), "/apps/%s/delete", app2);
	ck_status(tw_get(cl, path), cl, 200);
	ck_has(cl, "Delete application");
	ck_hasnt(cl, "name=\"remove_volumes\"");
	snprintf(path, sizeof(path), "/apps/%s/delete", app);
	tw_form_csrf(cl, path);
	ck_has(cl, "name=\"remove_volumes\" value=\"1\"> Also delete the volumes "
	    "(their data is lost)");
	ck_has(cl, "name=\"confirm_name\"");

	buf_init(&f);
	delete_form(&f, cl->csrf, 1, bname);
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "Nothing was deleted: the name typed does not match, so the "
	    "volumes were not deleted.");
	ck_has(cl, "name=\"remove_volumes\"");
	delete_form(&f, cl->csrf, 1, NULL);
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "Nothing was deleted: to delete the volumes, type the name to "
	    "confirm.");
	delete_form(&f, cl->csrf, 0, aname);
	tw_fadd(&f, "remove_volumes", "maybe");
	ck_status(tw_post(cl, path, &f), cl, 422);
	ck_has(cl, "Nothing was deleted: the confirmation was not understood.");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "uuid = $1", 1, app), 1);
	ck_assert_int_eq(removals_any(env), 0);

	/* The other one without the box: volumes kept. */
	snprintf(path, sizeof(path), "/apps/%s/delete", app2);
	delete_form(&f, cl->csrf, 0, NULL);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(removals(env2, sname, "0"), 1);
	ck_assert_int_eq(removals_any(env2), 1);

	snprintf(path, sizeof(path), "/apps/%s/delete", app);
	delete_form(&f, cl->csrf, 1, aname);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_int_eq(removals(env, sname, "1"), 1);
	ck_assert_int_eq(removals_any(env), 1);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM applications WHERE "
	    "uuid = $1", 1, app), 0);

	buf_release(&f);
	drop_removals(env);
	drop_removals(env2);
	drop_server(srv);
}
END_TEST

START_TEST(env_deploy_buttons)
{
	struct tw_client	*cl = tw_login();
	struct buf	 f;
	char		 aname[100], sname[100], app[40], env[40], srv[40];
	char		 art[40], bad[40], path[300], want[600], loc[256];
	char		 cell[300];
	static const char sha[] = "0123456789abcdef0123456789abcdef01234567";
	static const char art_sql[] = "INSERT INTO build_artifacts "
	    "(application_id, environment_id, registry_host, tag, "
	    "manifest_digest, commit_sha, status, architecture) SELECT "
	    "e.application_id, e.id, 'reg.example.test:5000', "
	    "'reg.example.test:5000/keystone/a/e:' || $2, 'sha256:' || "
	    "repeat('ab', 32), $2, $3, 'amd64' FROM environments e WHERE "
	    "e.uuid = $1 RETURNING uuid";

	tw_uniq(aname, sizeof(aname), "deploy");
	tw_uniq(sname, sizeof(sname), "deploy-run");
	sql_app_env(aname, "production", app, env);
	tw_sql_str(art, sizeof(art), art_sql, 3, env, sha, "available");
	tw_sql_str(bad, sizeof(bad), art_sql, 3, env, sha, "failed");
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app, env);
	tw_form_csrf(cl, path);
	snprintf(want, sizeof(want), "<form method=\"post\" action=\"/apps/%s/"
	    "envs/%s/deploy\"", app, env);
	ck_has(cl, want);

	/* Refusals: no service; then no runtime server. */
	buf_init(&f);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/deploy", app, env);
	ck_status(tw_post(cl, path, &f), cl, 409);
	ck_has(cl, "The environment has no service: add one before deploying.");
	svc_form(&f, cl->csrf, "web", "8080", "", "http");
	ck_status(svc_post(cl, app, env, NULL, &f), cl, 303);
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, path, &f), cl, 409);
	ck_has(cl, "The environment has no runtime server");
	/* A runtime server, active with its key pinned. */
	web_server(cl, sname, 0, 1, srv);
	tw_sql_exec("UPDATE servers SET status = 'active', host_key = "
	    "'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample', host_key_sha256 = "
	    "'SHA256:example' WHERE uuid = $1", 1, srv);
	tw_sql_exec("INSERT INTO environment_servers (environment_id, server_id) "
	    "SELECT e.id, s.id FROM environments e, servers s WHERE e.uuid = $1 "
	    "AND s.uuid = $2", 2, env, srv);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations o JOIN "
	    "environments e ON e.id = o.environment_id WHERE e.uuid = $1", 1, env),
	    0);

	/* The artifacts page: a button on the available one only. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts", app, env);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(want, sizeof(want), "action=\"/apps/%s/envs/%s/artifacts/%s/"
	    "deploy\"", app, env, art);
	ck_has(cl, want);
	snprintf(want, sizeof(want), "/artifacts/%s/deploy", bad);
	ck_hasnt(cl, want);
	/* A failed artifact, or one of no such environment: 409. */
	buf_reset(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts/%s/deploy", app,
	    env, bad);
	ck_status(tw_post(cl, path, &f), cl, 409);
	ck_has(cl, "The artifact is failed: only an available one can be "
	    "deployed.");
	ck_has(cl, "<h1>Artifacts</h1>");
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts/%s/deploy", app,
	    env, app);
	ck_status(tw_post(cl, path, &f), cl, 409);
	ck_has(cl, "No such artifact in this environment.");

	/* "Deploy this version": a deploy of that artifact alone. */
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/artifacts/%s/deploy", app,
	    env, art);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_ptr_nonnull(tw_header(cl, "Location", loc, sizeof(loc)));
	ck_assert_msg(strncmp(loc, "/ops/", 5) == 0 && strlen(loc + 5) == 36,
	    "Location %s", loc);
	ck_status(tw_get(cl, loc), cl, 200);
	ck_has(cl, "Deploy queued.");
	tw_sql_str(cell, sizeof(cell), "SELECT o.kind || ' ' || o.status || ' ' "
	    "|| b.uuid || ' ' || u.username FROM operations o JOIN build_artifacts "
	    "b ON b.id = o.artifact_id JOIN users u ON u.id = o.created_by "
	    "WHERE o.uuid = $1", 1, loc + 5);
	snprintf(want, sizeof(want), "deploy queued %s %s", art, tw_user);
	ck_assert_str_eq(cell, want);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations o JOIN "
	    "environments e ON e.id = o.environment_id WHERE e.uuid = $1 AND "
	    "o.kind = 'build'", 1, env), 0);

	/* "Deploy": a build through the external registry, and a deploy
	 * that waits for it. */
	tw_sql_exec("UPDATE environments SET build_location = 'external', "
	    "ext_registry_host = 'reg.example.test:5000', ext_registry_user = 'u', "
	    "ext_registry_password_sealed = 'sealed' WHERE uuid = $1", 1, env);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/deploy", app, env);
	ck_status(tw_post(cl, path, &f), cl, 303);
	ck_assert_ptr_nonnull(tw_header(cl, "Location", loc, sizeof(loc)));
	ck_assert_msg(strncmp(loc, "/ops/", 5) == 0 && strlen(loc + 5) == 36,
	    "Location %s", loc);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations d JOIN "
	    "operation_deps x ON x.operation_id = d.id JOIN operations b ON "
	    "b.id = x.depends_on WHERE d.uuid = $1 AND d.kind = 'deploy' AND "
	    "b.kind = 'build'", 1, loc + 5), 1);

	drop_app_ops(app);
	drop_server(srv);
	buf_release(&f);
}
END_TEST

static Suite *
web_suite(void)
{
	Suite	*s = suite_create("web");
	TCase	*tc = tcase_create("stack");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unauthenticated_redirects);
	tcase_add_test(tc, login_good);
	tcase_add_test(tc, login_bad);
	tcase_add_test(tc, session_fixation);
	tcase_add_test(tc, logout_deletes_session);
	tcase_add_test(tc, security_headers);
	tcase_add_test(tc, answers_carry_length);
	tcase_add_test(tc, favicon_served);
	tcase_add_test(tc, server_crud);
	tcase_add_test(tc, hostkey_check_is_an_operation);
	tcase_add_test(tc, hostkey_pin_only_what_was_checked);
	tcase_add_test(tc, app_git_host_key);
	tcase_add_test(tc, env_build_button);
	tcase_add_test(tc, build_node_health);
	tcase_add_test(tc, app_crud);
	tcase_add_test(tc, env_crud);
	tcase_add_test(tc, env_show_details);
	tcase_add_test(tc, server_field_errors);
	tcase_add_test(tc, app_field_errors);
	tcase_add_test(tc, env_field_errors);
	tcase_add_test(tc, env_build_settings);
	tcase_add_test(tc, app_repository_access);
	tcase_add_test(tc, csrf_required);
	tcase_add_test(tc, duplicate_names);
	tcase_add_test(tc, hostile_names);
	tcase_add_test(tc, body_too_large);
	tcase_add_test(tc, bad_encoding);
	tcase_add_test(tc, not_found);
	tcase_add_test(tc, env_delete_unknown);
	tcase_add_test(tc, method_not_allowed);
	tcase_add_test(tc, pagination);
	tcase_add_test(tc, artifacts_page);
	tcase_add_test(tc, env_nothing_half_written);
	tcase_add_test(tc, login_throttled_per_account);
	tcase_add_test(tc, login_throttled_per_address);
	tcase_add_test(tc, session_timeouts);
	tcase_add_test(tc, weak_hash_rehashed_at_login);
	tcase_add_test(tc, login_attempts_logged_without_password);
	tcase_add_test(tc, unknown_name_never_plain);
	tcase_add_test(tc, services_crud);
	tcase_add_test(tc, services_field_errors);
	tcase_add_test(tc, services_port_conflicts);
	tcase_add_test(tc, env_deploy_state);
	tcase_add_test(tc, env_deploy_buttons);
	tcase_add_test(tc, env_delete_removes);
	tcase_add_test(tc, deploy_arch_refused);
	tcase_add_test(tc, env_delete_volumes);
	tcase_add_test(tc, env_server_out_volumes);
	tcase_add_test(tc, app_delete_volumes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int	 rc;

	if (tw_env("check_web") == -1)
		return EXIT_FAILURE;
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "check_web: FAIL: library initialisation\n");
		return EXIT_FAILURE;
	}
	rc = tu_run(web_suite());
	curl_global_cleanup();
	return rc;
}
