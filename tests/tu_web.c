/*
 * HTTP test client and database helpers for the stack-phase web tests;
 * see tu_web.h.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "buf.h"
#include "tu_web.h"

const char		*tw_user, *tw_pass;
static const char	*base_url, *ca_file, *pg_conninfo;
static struct tw_client	*clients[TW_MAX_CLIENTS];
static size_t		 nclients, max_clients = TW_MAX_CLIENTS;
static int		 max_params = TW_MAX_PARAMS;
static PGconn		*pgc;
static unsigned		 seq;

/* ---- environment and fixture ----------------------------------------- */

/* A required variable; its absence is a failure of the whole program. */
static const char *
need_env(const char *prog, const char *name)
{
	const char	*v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "%s: FAIL: %s is not set; this program "
		    "tests a running stack (see tests/run.sh)\n", prog, name);
		return NULL;
	}
	return v;
}

int
tw_env(const char *prog)
{
	base_url = need_env(prog, "KS_URL");
	ca_file = need_env(prog, "KS_CA");
	pg_conninfo = need_env(prog, "KS_PGCONN");
	tw_user = need_env(prog, "KS_USER");
	tw_pass = need_env(prog, "KS_PASS");
	if (base_url == NULL || ca_file == NULL || pg_conninfo == NULL ||
	    tw_user == NULL || tw_pass == NULL)
		return -1;
	return 0;
}

void
tw_setup(size_t maxcl, int maxpar)
{
	ck_assert_uint_le(maxcl, TW_MAX_CLIENTS);
	ck_assert_int_le(maxpar, TW_MAX_PARAMS);
	max_clients = maxcl;
	max_params = maxpar;
	nclients = 0;
	pgc = NULL;
}

void
tw_free_clients(void)
{
	for (size_t i = 0; i < nclients; i++) {
		curl_easy_cleanup(clients[i]->c);
		buf_release(&clients[i]->body);
		buf_release(&clients[i]->hdr);
		free(clients[i]);
		clients[i] = NULL;
	}
	nclients = 0;
}

void
tw_teardown(void)
{
	tw_free_clients();
	if (pgc != NULL)
		PQfinish(pgc);
	pgc = NULL;
}

PGconn *
tw_pgconn(void)
{
	return pgc;
}

/* ---- strings ---------------------------------------------------------- */

void
tw_uniq(char *out, size_t sz, const char *prefix)
{
	snprintf(out, sz, "%s-%ld-%ld-%u", prefix, (long)getpid(),
	    (long)(time(NULL) % 1000000), ++seq);
}

void
tw_html_escape(struct buf *b, const char *s)
{
	buf_reset(b);
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_putc(b, *s);
			break;
		}
	}
}

void
tw_fadd(struct buf *f, const char *key, const char *val)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const char		*s[2] = { key, val };

	if (f->len > 0)
		buf_putc(f, '&');
	for (int i = 0; i < 2; i++) {
		for (const unsigned char *p = (const unsigned char *)s[i]; *p; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			    *p == '.' || *p == '~')
				buf_putc(f, *p);
			else {
				buf_putc(f, '%');
				buf_putc(f, hex[*p >> 4]);
				buf_putc(f, hex[*p & 15]);
			}
		}
		if (i == 0)
			buf_putc(f, '=');
	}
}

/* ---- HTTP ------------------------------------------------------------- */

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct tw_client	*cl = arg;

	if (buf_put(&cl->body, p, sz * n) == -1)
		return 0;
	return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct tw_client	*cl = arg;
	size_t			 len = sz * n;

	/* A new status line (after a 100 Continue) starts the headers over. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		buf_reset(&cl->hdr);
	if (buf_put(&cl->hdr, p, len) == -1)
		return 0;
	return len;
}

struct tw_client *
tw_cl_new(void)
{
	struct tw_client	*cl;

	ck_assert_uint_lt(nclients, max_clients);
	cl = calloc(1, sizeof(*cl));
	ck_assert_ptr_nonnull(cl);
	buf_init(&cl->body);
	buf_init(&cl->hdr);
	cl->c = curl_easy_init();
	ck_assert_ptr_nonnull(cl->c);
	curl_easy_setopt(cl->c, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(cl->c, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(cl->c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(cl->c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(cl->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, cl);
	curl_easy_setopt(cl->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(cl->c, CURLOPT_HEADERDATA, cl);
	clients[nclients++] = cl;
	return cl;
}

long
tw_request(struct tw_client *cl, const char *method, const char *path,
    const char *body, size_t bodylen)
{
	struct curl_slist	*h = NULL;
	struct buf		 url;
	CURLcode		 rc;

	buf_init(&url);
	buf_printf(&url, "%s%s", base_url, path);
	buf_reset(&cl->body);
	buf_reset(&cl->hdr);
	cl->status = 0;
	curl_easy_setopt(cl->c, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(cl->c, CURLOPT_CUSTOMREQUEST, NULL);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(cl->c, CURLOPT_POST, 1L);
		curl_easy_setopt(cl->c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)bodylen);
		curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, body ? body : "");
		h = curl_slist_append(h,
		    "Content-Type: application/x-www-form-urlencoded");
		h = curl_slist_append(h, "Expect:");
	} else {
		curl_easy_setopt(cl->c, CURLOPT_HTTPGET, 1L);	/* NOBODY off */
		if (strcmp(method, "HEAD") == 0)
			curl_easy_setopt(cl->c, CURLOPT_NOBODY, 1L);
		else if (strcmp(method, "GET") != 0)
			curl_easy_setopt(cl->c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (cl->extra_hdr[0] != '\0')
		h = curl_slist_append(h, cl->extra_hdr);
	curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(cl->c);
	curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &cl->status);
	/* A server may answer (413) before it has read all of a body; curl
	 * then reports a send error though the answer arrived. */
	if (rc != CURLE_OK && cl->status == 0)
		ck_abort_msg("%s %s: %s", method, buf_cstr(&url),
		    curl_easy_strerror(rc));
	buf_release(&url);
	return cl->status;
}

long
tw_get(struct tw_client *cl, const char *path)
{
	return tw_request(cl, "GET", path, NULL, 0);
}

long
tw_post(struct tw_client *cl, const char *path, const struct buf *form)
{
	return tw_request(cl, "POST", path, buf_cstr(form), form->len);
}

const char *
tw_body(const struct tw_client *cl)
{
	return buf_cstr(&cl->body);
}

int
tw_has(const struct tw_client *cl, const char *s)
{
	return strstr(tw_body(cl), s) != NULL;
}

const char *
tw_header_n(const struct tw_client *cl, const char *name, int nth, char *out,
    size_t outsz)
{
	const char	*p = buf_cstr(&cl->hdr), *e, *v;
	size_t		 nlen = strlen(name), vlen;

	for (; *p != '\0'; p = *e ? e + 1 : e) {
		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) <= nlen || p[nlen] != ':' ||
		    strncasecmp(p, name, nlen) != 0)
			continue;
		if (nth-- > 0)
			continue;
		v = p + nlen + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		vlen = (size_t)(e - v);
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen >= outsz)
			vlen = outsz - 1;
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		return out;
	}
	return NULL;
}

const char *
tw_header(const struct tw_client *cl, const char *name, char *out,
    size_t outsz)
{
	return tw_header_n(cl, name, 0, out, outsz);
}

void
tw_ck_location(const struct tw_client *cl, const char *want)
{
	char	 loc[1024];

	if (tw_header(cl, "Location", loc, sizeof(loc)) == NULL)
		ck_abort_msg("no Location header (status %ld)", cl->status);
	ck_assert_str_eq(loc, want);
}

void
tw_take_csrf(struct tw_client *cl)
{
	static const char	 mark[] = "name=\"csrf\" value=\"";
	const char		*p = strstr(tw_body(cl), mark), *e;

	if (p == NULL)
		ck_abort_msg("no CSRF field in the page (status %ld):\n%.2000s",
		    cl->status, tw_body(cl));
	p += sizeof(mark) - 1;
	e = strchr(p, '"');
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_gt((size_t)(e - p), 16);
	ck_assert_uint_lt((size_t)(e - p), sizeof(cl->csrf));
	memcpy(cl->csrf, p, (size_t)(e - p));
	cl->csrf[e - p] = '\0';
}

void
tw_form_csrf(struct tw_client *cl, const char *path)
{
	ck_status(tw_get(cl, path), cl, 200);
	tw_take_csrf(cl);
}

long
tw_try_login(struct tw_client *cl, const char *user, const char *pw)
{
	struct buf	 f;
	long		 st;

	tw_form_csrf(cl, "/login");
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	tw_fadd(&f, "next", "/");
	tw_fadd(&f, "username", user);
	tw_fadd(&f, "password", pw);
	st = tw_post(cl, "/login", &f);
	buf_release(&f);
	return st;
}

struct tw_client *
tw_login(void)
{
	struct tw_client	*cl = tw_cl_new();

	ck_status(tw_try_login(cl, tw_user, tw_pass), cl, 303);
	tw_ck_location(cl, "/");
	tw_form_csrf(cl, "/");
	return cl;
}

/* ---- database --------------------------------------------------------- */

PGconn *
tw_pg(void)
{
	if (pgc == NULL) {
		pgc = PQconnectdb(pg_conninfo);
		if (PQstatus(pgc) != CONNECTION_OK)
			ck_abort_msg("database %s: %s", pg_conninfo,
			    PQerrorMessage(pgc));
	}
	return pgc;
}

static PGresult *
vsql(const char *q, int n, va_list ap)
{
	const char	*p[TW_MAX_PARAMS];
	PGresult	*res;
	ExecStatusType	 st;

	ck_assert_int_le(n, max_params);
	for (int i = 0; i < n; i++)
		p[i] = va_arg(ap, const char *);
	res = PQexecParams(tw_pg(), q, n, NULL, p, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		ck_abort_msg("SQL failed: %s\n%s", q, PQresultErrorMessage(res));
	return res;
}

PGresult *
tw_sql(const char *q, int n, ...)
{
	PGresult	*res;
	va_list		 ap;

	va_start(ap, n);
	res = vsql(q, n, ap);
	va_end(ap);
	return res;
}

void
tw_sql_exec(const char *q, int n, ...)
{
	va_list		 ap;

	va_start(ap, n);
	PQclear(vsql(q, n, ap));
	va_end(ap);
}

long
tw_sql_long(const char *q, int n, ...)
{
	PGresult	*res;
	va_list		 ap;
	long		 v;

	va_start(ap, n);
	res = vsql(q, n, ap);
	va_end(ap);
	ck_assert_int_eq(PQntuples(res), 1);
	v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

void
tw_sql_str(char *out, size_t outsz, const char *q, int n, ...)
{
	PGresult	*res;
	va_list		 ap;

	va_start(ap, n);
	res = vsql(q, n, ap);
	va_end(ap);
	ck_assert_int_eq(PQntuples(res), 1);
	snprintf(out, outsz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}
