/*
 * Browser test: drives Chromium through chromedriver with the W3C WebDriver
 * protocol (JSON over HTTP, libcurl + cJSON) and walks the main flows of the
 * web interface: sign in, add a server, create an application and an
 * environment on that server, the lists, sign out.
 *
 * Environment: WD_URL (chromedriver, e.g. http://127.0.0.1:9515), KS_URL
 * (the app, https://localhost:PORT), KS_USER, KS_PASS, KS_PGCONN (rows the
 * registry step shows). Screenshots go to
 * tests/out/. Prints "ok - ..." or "not ok - ..." per step and ends with
 * "N passed, M failed"; exits 1 if a step failed or WebDriver failed.
 */
#define _XOPEN_SOURCE 700

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "buf.h"

#define OUTDIR		"tests/out"
#define ELEMENT_KEY	"element-6066-11e4-a52e-4f735466cecf"
#define WAIT_MS		10000
#define URL_MAX		2048

static CURL		*curl;
static const char	*wd_url, *ks_url;
static char		 session[128];
static int		 npass, nfail, wd_failed;
/* wd_quiet: an expected error is neither printed nor a failure; the last
 * error's code is kept in wd_lasterr either way. */
static int		 wd_quiet;
static char		 wd_lasterr[64];

/* ------------------------------------------------------------ reporting */

static void
ok(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void
notok(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
ok(const char *fmt, ...)
{
	va_list	ap;

	npass++;
	fputs("ok - ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
notok(const char *fmt, ...)
{
	va_list	ap;

	nfail++;
	fputs("not ok - ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ------------------------------------------------------------- WebDriver */

static size_t
on_data(char *p, size_t sz, size_t n, void *arg)
{
	if (buf_put(arg, p, sz * n) == -1)
		return 0;
	return sz * n;
}

/*
 * One WebDriver command. path is relative to the session ("" for the
 * session itself) unless the session is not open yet. body may be NULL (no
 * body for GET and DELETE, "{}" for POST). On success returns 0 and, if
 * valuep is not NULL, the response's "value" (caller frees). On failure
 * prints the error, sets wd_failed and returns -1.
 */
static int
wd(const char *method, const char *path, const cJSON *body, cJSON **valuep)
{
	struct buf		 resp, url;
	struct curl_slist	*hdrs = NULL;
	char			*json = NULL;
	cJSON			*doc = NULL, *val, *err;
	long			 status = 0;
	CURLcode		 cc;
	int			 rc = -1;

	if (valuep != NULL)
		*valuep = NULL;
	buf_init(&resp);
	buf_init(&url);
	if (session[0] != '\0')
		rc = buf_printf(&url, "%s/session/%s%s", wd_url, session, path);
	else
		rc = buf_printf(&url, "%s%s", wd_url, path);
	if (rc == -1) {
		fprintf(stderr, "wd: out of memory\n");
		goto out;
	}
	rc = -1;
	if (strcmp(method, "POST") == 0) {
		if (body != NULL)
			json = cJSON_PrintUnformatted(body);
		else
			json = strdup("{}");
		if (json == NULL) {
			fprintf(stderr, "wd: out of memory\n");
			goto out;
		}
	}

	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json; charset=utf-8");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	if (json != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	} else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);

	if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
		snprintf(wd_lasterr, sizeof(wd_lasterr), "transport");
		fprintf(stderr, "wd: %s %s: %s\n", method, path,
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	doc = cJSON_ParseWithLength(buf_cstr(&resp), resp.len);
	val = cJSON_GetObjectItem(doc, "value");
	if (doc == NULL || val == NULL) {
		snprintf(wd_lasterr, sizeof(wd_lasterr), "transport");
		fprintf(stderr, "wd: %s %s: HTTP %ld, not a WebDriver answer: "
		    "%.300s\n", method, path, status, buf_cstr(&resp));
		goto out;
	}
	if (status != 200 || (cJSON_IsObject(val) &&
	    cJSON_IsString(err = cJSON_GetObjectItem(val, "error")))) {
		const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(val,
		    "error"));
		const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(val,
		    "message"));
		snprintf(wd_lasterr, sizeof(wd_lasterr), "%s", e ? e : "error");
		if (!wd_quiet)
			fprintf(stderr, "wd: %s %s: HTTP %ld: %s: %.500s\n",
			    method, path, status, e ? e : "error", m ? m : "");
		goto out;
	}
	if (valuep != NULL)
		*valuep = cJSON_DetachItemViaPointer(doc, val);
	rc = 0;
out:
	if (rc == -1 && !wd_quiet)
		wd_failed = 1;
	cJSON_Delete(doc);
	curl_slist_free_all(hdrs);
	free(json);
	buf_release(&resp);
	buf_release(&url);
	return rc;
}

/* A POST with one string member. */
static int
wd_post1(const char *path, const char *key, const char *val, cJSON **valuep)
{
	cJSON	*b;
	int	 rc;

	if ((b = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(b, key, val) == NULL) {
		cJSON_Delete(b);
		fprintf(stderr, "wd: out of memory\n");
		wd_failed = 1;
		return -1;
	}
	rc = wd("POST", path, b, valuep);
	cJSON_Delete(b);
	return rc;
}

/* A GET whose value is a string; returns it malloc'd or NULL. */
static char *
wd_string(const char *path)
{
	cJSON	*v;
	char	*s = NULL;

	if (wd("GET", path, NULL, &v) == -1)
		return NULL;
	if (cJSON_IsString(v))
		s = strdup(v->valuestring);
	if (s == NULL) {
		fprintf(stderr, "wd: GET %s: no string value\n", path);
		wd_failed = 1;
	}
	cJSON_Delete(v);
	return s;
}

static int
wd_open_session(const char *profile)
{
	static const char *const args[] = { "--headless", "--no-sandbox",
		"--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-quic", "--window-size=1280,900",
		/* Loopback only: no name but localhost resolves. */
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
		NULL };
	cJSON		*b, *always, *opts, *a, *v = NULL;
	const char	*id;
	char		 udd[512];
	size_t		 i;
	int		 rc = -1;

	snprintf(udd, sizeof(udd), "--user-data-dir=%s", profile);
	if ((b = cJSON_CreateObject()) == NULL ||
	    (always = cJSON_AddObjectToObject(cJSON_AddObjectToObject(b,
	    "capabilities"), "alwaysMatch")) == NULL ||
	    cJSON_AddStringToObject(always, "browserName", "chrome") == NULL ||
	    cJSON_AddTrueToObject(always, "acceptInsecureCerts") == NULL ||
	    cJSON_AddStringToObject(always, "pageLoadStrategy", "normal") == NULL ||
	    (opts = cJSON_AddObjectToObject(always, "goog:chromeOptions")) == NULL ||
	    cJSON_AddStringToObject(opts, "binary", "/usr/bin/chromium") == NULL ||
	    (a = cJSON_AddArrayToObject(opts, "args")) == NULL)
		goto nomem;
	for (i = 0; args[i] != NULL; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(args[i])))
			goto nomem;
	if (!cJSON_AddItemToArray(a, cJSON_CreateString(udd)))
		goto nomem;

	if (wd("POST", "/session", b, &v) == 0) {
		id = cJSON_GetStringValue(cJSON_GetObjectItem(v, "sessionId"));
		if (id == NULL || strlen(id) >= sizeof(session) ||
		    strpbrk(id, "/?#") != NULL) {
			fprintf(stderr, "wd: new session: bad sessionId\n");
			wd_failed = 1;
		} else {
			memcpy(session, id, strlen(id) + 1);
			rc = 0;
		}
	}
	cJSON_Delete(v);
	cJSON_Delete(b);
	return rc;
nomem:
	cJSON_Delete(b);
	fprintf(stderr, "wd: out of memory\n");
	wd_failed = 1;
	return -1;
}

static void
wd_close_session(void)
{
	if (session[0] == '\0')
		return;
	(void)wd("DELETE", "", NULL, NULL);
	session[0] = '\0';
}

static int
go(const char *path)
{
	char	url[URL_MAX];

	if ((size_t)snprintf(url, sizeof(url), "%s%s", ks_url, path) >=
	    sizeof(url)) {
		fprintf(stderr, "wd: URL too long\n");
		wd_failed = 1;
		return -1;
	}
	return wd_post1("/url", "url", url, NULL);
}

/*
 * Finds elements by strategy ("css selector", "xpath", "link text").
 * Returns the number found (0 is not an error) and, if idp is not NULL and
 * one was found, the first one's id in idp (size idsz); -1 on error.
 */
static int
find(const char *using, const char *what, char *idp, size_t idsz)
{
	cJSON		*b, *v = NULL;
	const char	*id;
	int		 n = -1;

	if ((b = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(b, "using", using) == NULL ||
	    cJSON_AddStringToObject(b, "value", what) == NULL) {
		cJSON_Delete(b);
		fprintf(stderr, "wd: out of memory\n");
		wd_failed = 1;
		return -1;
	}
	if (wd("POST", "/elements", b, &v) == 0 && cJSON_IsArray(v)) {
		n = cJSON_GetArraySize(v);
		if (n > 0 && idp != NULL) {
			id = cJSON_GetStringValue(cJSON_GetObjectItem(
			    cJSON_GetArrayItem(v, 0), ELEMENT_KEY));
			if (id == NULL || strlen(id) >= idsz ||
			    strpbrk(id, "/?#") != NULL) {
				fprintf(stderr, "wd: bad element reference\n");
				wd_failed = 1;
				n = -1;
			} else
				memcpy(idp, id, strlen(id) + 1);
		}
	}
	cJSON_Delete(v);
	cJSON_Delete(b);
	return n;
}

static int
elem_path(char *p, size_t sz, const char *id, const char *suffix)
{
	if ((size_t)snprintf(p, sz, "/element/%s%s", id, suffix) >= sz) {
		fprintf(stderr, "wd: element path too long\n");
		wd_failed = 1;
		return -1;
	}
	return 0;
}

/* The first element matching the CSS selector; -1 (and a message) if none. */
static int
need(const char *css, char *id, size_t idsz)
{
	int	n = find("css selector", css, id, idsz);

	if (n == 0)
		fprintf(stderr, "wd: no element matches '%s'\n", css);
	return n > 0 ? 0 : -1;
}

/* Visible text of the first element found, malloc'd; NULL if none. */
static char *
text_by(const char *using, const char *what)
{
	char	id[128], p[256];

	if (find(using, what, id, sizeof(id)) <= 0 ||
	    elem_path(p, sizeof(p), id, "/text") == -1)
		return NULL;
	return wd_string(p);
}

static char *
text_of(const char *css)
{
	return text_by("css selector", css);
}

static int
click(const char *id)
{
	char	p[256];

	if (elem_path(p, sizeof(p), id, "/click") == -1)
		return -1;
	return wd("POST", p, NULL, NULL);
}

/* Replaces the value of the input named name (in main) with val. */
static int
fill(const char *name, const char *val)
{
	char	css[128], id[128], p[256];

	snprintf(css, sizeof(css), "main form [name=\"%s\"]", name);
	if (need(css, id, sizeof(id)) == -1)
		return -1;
	if (elem_path(p, sizeof(p), id, "/clear") == -1 ||
	    wd("POST", p, NULL, NULL) == -1)
		return -1;
	if (elem_path(p, sizeof(p), id, "/value") == -1)
		return -1;
	return wd_post1(p, "text", val, NULL);
}

static void
sleep_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Clicks the submit button of the form in main and waits until the page it
 * was on is gone (the button's element is stale): a search right after the
 * click must find elements of the answer, not of the form (whose h1 the
 * answer may share).
 */
static int
submit(void)
{
	char		 id[128], p[256];
	cJSON		*v = NULL;
	int		 r;

	if (need("main form button[type=\"submit\"]", id, sizeof(id)) == -1 ||
	    click(id) == -1 || elem_path(p, sizeof(p), id, "/name") == -1)
		return -1;
	for (int waited = 0; waited < WAIT_MS; waited += 50, sleep_ms(50)) {
		wd_quiet = 1;
		r = wd("GET", p, NULL, &v);
		wd_quiet = 0;
		cJSON_Delete(v);
		v = NULL;
		if (r == -1 && (strcmp(wd_lasterr, "stale element reference") == 0 ||
		    strcmp(wd_lasterr, "no such element") == 0))
			return 0;
	}
	fprintf(stderr, "wd: the page did not change within %d ms of a submit\n",
	    WAIT_MS);
	wd_failed = 1;
	return -1;
}

/*
 * Waits until the page's h1 is want (exactly, or as a prefix if prefix is
 * set). Returns 1 if it is, 0 if not in time (*got holds the last h1
 * seen, malloc'd, or NULL), -1 on a WebDriver error.
 */
static int
wait_h1(const char *want, int prefix, char **got)
{
	char	*h;
	int	 waited;

	*got = NULL;
	for (waited = 0; ; waited += 100) {
		/* The page may change between the search and the read: an
		 * h1 gone stale (or gone) is looked for again. */
		wd_quiet = 1;
		wd_lasterr[0] = '\0';
		h = text_of("h1");
		wd_quiet = 0;
		if (h == NULL && wd_lasterr[0] != '\0' &&
		    strcmp(wd_lasterr, "stale element reference") != 0 &&
		    strcmp(wd_lasterr, "no such element") != 0) {
			wd_failed = 1;
			fprintf(stderr, "wd: reading the h1: %s\n", wd_lasterr);
			return -1;
		}
		if (h != NULL) {
			if (prefix ? strncmp(h, want, strlen(want)) == 0 :
			    strcmp(h, want) == 0) {
				free(h);
				return 1;
			}
			free(*got);
			*got = h;
		}
		if (wd_failed)
			return -1;
		if (waited >= WAIT_MS)
			return 0;
		sleep_ms(100);
	}
}

/* Runs a script (no arguments) and returns its value; NULL on error. */
static cJSON *
run_js(const char *script)
{
	cJSON	*b, *v = NULL;

	if ((b = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(b, "script", script) == NULL ||
	    cJSON_AddArrayToObject(b, "args") == NULL) {
		cJSON_Delete(b);
		fprintf(stderr, "wd: out of memory\n");
		wd_failed = 1;
		return NULL;
	}
	(void)wd("POST", "/execute/sync", b, &v);
	cJSON_Delete(b);
	return v;
}

/*
 * The state of the page now shown: the HTTP status of its navigation (0
 * where the browser does not report it) and its h1 (malloc'd, "" if none).
 * Returns 1 if it is an error page (status >= 400 or an h1 starting with a
 * 4xx or 5xx code), 0 if not, -1 on a WebDriver error.
 */
static int
page_state(int *status, char **h1)
{
	cJSON	*v;
	char	*h;
	int	 n;

	*status = 0;
	*h1 = NULL;
	if ((n = find("css selector", "h1", NULL, 0)) == -1)
		return -1;
	h = n > 0 ? text_of("h1") : strdup("");
	if (h == NULL) {
		wd_failed = 1;
		return -1;
	}
	*h1 = h;
	if ((v = run_js("var e = performance.getEntriesByType('navigation')[0];"
	    "return e && e.responseStatus ? e.responseStatus : 0;")) == NULL)
		return -1;
	if (cJSON_IsNumber(v))
		*status = v->valueint;
	cJSON_Delete(v);
	return *status >= 400 || ((h[0] == '4' || h[0] == '5') &&
	    h[1] >= '0' && h[1] <= '9' && h[2] >= '0' && h[2] <= '9' &&
	    (h[3] == '\0' || h[3] == ' '));
}

/* Reports a failed step if the page now shown is an error page. Returns 1
 * if it is not, 0 if it is, -1 on a WebDriver error. */
static int
check_no_error(const char *step)
{
	char	*h;
	int	 status, r;

	if ((r = page_state(&status, &h)) == 1)
		notok("%s: error page (HTTP %d, h1 \"%s\")", step, status, h);
	free(h);
	return r == -1 ? -1 : !r;
}

static int
screenshot(const char *name)
{
	cJSON		*v = NULL;
	unsigned char	*png = NULL;
	size_t		 len, n;
	char		 path[256];
	FILE		*f;
	int		 rc = -1;

	snprintf(path, sizeof(path), "%s/%s", OUTDIR, name);
	if (wd("GET", "/screenshot", NULL, &v) == -1)
		return -1;
	if (!cJSON_IsString(v)) {
		fprintf(stderr, "wd: screenshot: no image\n");
		wd_failed = 1;
		goto out;
	}
	n = strlen(v->valuestring);
	if ((png = malloc(n / 4 * 3 + 3)) == NULL ||
	    sodium_base642bin(png, n / 4 * 3 + 3, v->valuestring, n, "\r\n",
	    &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		fprintf(stderr, "wd: screenshot: bad base64\n");
		wd_failed = 1;
		goto out;
	}
	if ((f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	if (fwrite(png, 1, len, f) != len || fclose(f) == EOF) {
		fprintf(stderr, "%s: write failed\n", path);
		goto out;
	}
	rc = 0;
out:
	free(png);
	cJSON_Delete(v);
	return rc;
}

/* Text of the flash message ("" if there is none), malloc'd. */
static char *
flash_text(void)
{
	int	n = find("css selector", "main .flash", NULL, 0);

	if (n < 0)
		return NULL;
	if (n == 0)
		return strdup("");
	return text_of("main .flash");
}

/*
 * After a form submit: waits for the page with h1 want, checks it is not
 * an error page, carries the flash want_flash (if not NULL) and takes the
 * screenshot shot (if not NULL). Reports the step. Returns 1 if it
 * passed, 0 if it failed, -1 on a WebDriver error.
 */
static int
expect_page(const char *step, const char *want, const char *want_flash,
    const char *shot)
{
	char	*got = NULL, *fl = NULL;
	int	 r, good = 1;

	if ((r = wait_h1(want, 0, &got)) == -1)
		return -1;
	if (shot != NULL && screenshot(shot) == -1)
		good = 0;
	if (r == 0) {
		notok("%s: expected h1 \"%s\", got \"%s\"", step, want,
		    got ? got : "(no h1)");
		free(got);
		return wd_failed ? -1 : 0;
	}
	free(got);
	if ((r = check_no_error(step)) <= 0)
		return r;
	if (want_flash != NULL) {
		if ((fl = flash_text()) == NULL)
			return -1;
		if (strcmp(fl, want_flash) != 0) {
			notok("%s: expected flash \"%s\", got \"%s\"", step,
			    want_flash, fl);
			free(fl);
			return 0;
		}
		free(fl);
	}
	if (wd_failed)
		return -1;
	if (!good) {
		notok("%s: screenshot %s not saved", step, shot);
		return 0;
	}
	if (shot != NULL)
		ok("%s (%s/%s)", step, OUTDIR, shot);
	else
		ok("%s", step);
	return 1;
}

/* The path part of the current URL (after the origin), malloc'd. */
static char *
current_path(void)
{
	char	*u, *p, *s;

	if ((u = wd_string("/url")) == NULL)
		return NULL;
	p = u;
	if ((s = strstr(u, "://")) != NULL && (s = strchr(s + 3, '/')) != NULL)
		p = s;
	s = strdup(p);
	free(u);
	return s;
}

/* Copies the last path component of path (a UUID) into out. */
static void
last_component(const char *path, char *out, size_t sz)
{
	const char	*s = strrchr(path, '/');
	size_t		 n;

	s = s ? s + 1 : path;
	n = strcspn(s, "?#");
	if (n >= sz)
		n = sz - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* XPath string literal of s (s must not hold both quote kinds). */
static void
xlit(char *out, size_t sz, const char *s)
{
	snprintf(out, sz, strchr(s, '\'') ? "\"%s\"" : "'%s'", s);
}

/* Counts links in main whose text is exactly name (under scope, an XPath). */
static int
count_links(const char *scope, const char *name)
{
	char	lit[256], xp[512];

	xlit(lit, sizeof(lit), name);
	snprintf(xp, sizeof(xp), "//main%s//a[normalize-space(.)=%s]", scope,
	    lit);
	return find("xpath", xp, NULL, 0);
}

/* Visits path, expects h1 and a link named name in the list; screenshot. */
static int
list_has(const char *step, const char *path, const char *h1,
    const char *scope, const char *name, const char *shot)
{
	int	n;

	if (go(path) == -1)
		return -1;
	if (expect_page(step, h1, NULL, NULL) == -1)
		return -1;
	if ((n = count_links(scope, name)) == -1)
		return -1;
	if (screenshot(shot) == -1 && wd_failed)
		return -1;
	if (n == 1)
		ok("%s lists %s (%s/%s)", path, name, OUTDIR, shot);
	else
		notok("%s lists %s: found %d links", path, name, n);
	return 0;
}

static int
rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	(void)remove(p);
	return 0;
}

/* ----------------------------------------------------------------- flow */

struct names {
	char	server[64], app[64], env[64], port[16];
	char	suuid[64], auuid[64], apath[128];
};

static int
step_login(const char *user, const char *pass)
{
	char	id[128], p[256], *s, *got = NULL;
	int	n;

	if (go("/login") == -1)
		return -1;
	if ((n = wait_h1("Sign in", 0, &got)) != 1) {
		if (n == 0)
			notok("/login: expected h1 \"Sign in\", got \"%s\"",
			    got ? got : "(no h1)");
		free(got);
		return -1;
	}
	if (check_no_error("login page") != 1 || screenshot("00-login.png") == -1)
		return -1;
	if (fill("username", user) == -1 || fill("password", pass) == -1 ||
	    submit() == -1)
		return -1;
	if (expect_page("sign in lands on the overview", "Overview", NULL,
	    "01-overview.png") != 1)
		return -1;	/* nothing else works without a session */

	/* The stylesheet is served and allowed by the CSP. */
	if (need("header.top", id, sizeof(id)) == -1 ||
	    elem_path(p, sizeof(p), id, "/css/display") == -1 ||
	    (s = wd_string(p)) == NULL)
		return -1;
	if (strcmp(s, "flex") == 0)
		ok("stylesheet applied (header.top display: flex)");
	else
		notok("stylesheet not applied (header.top display: %s)", s);
	free(s);
	return 0;
}

/* Ticks the checkbox id unless it is ticked already. */
static int
tick(const char *id)
{
	cJSON	*v;
	char	 p[256];
	int	 on;

	if (elem_path(p, sizeof(p), id, "/selected") == -1 ||
	    wd("GET", p, NULL, &v) == -1)
		return -1;
	on = cJSON_IsTrue(v);
	cJSON_Delete(v);
	return on ? 0 : click(id);
}

static int
step_server(struct names *nm)
{
	char	id[128], *s;

	if (go("/servers/new") == -1 ||
	    expect_page("/servers/new form", "Add server", NULL, NULL) != 1)
		return -1;
	if (fill("name", nm->server) == -1 ||
	    fill("address", "127.0.0.10") == -1 ||
	    fill("ssh_port", nm->port) == -1 || fill("ssh_user", "deploy") == -1 ||
	    need("main form input[name=\"role_runtime\"]", id, sizeof(id)) == -1 ||
	    tick(id) == -1 || screenshot("02-server-form.png") == -1 ||
	    submit() == -1)
		return -1;
	if (expect_page("add a server", nm->server, "Server added.",
	    "02-server.png") != 1 || (s = current_path()) == NULL)
		return -1;
	last_component(s, nm->suuid, sizeof(nm->suuid));
	free(s);
	return 0;
}

static int
step_app(struct names *nm)
{
	char	*s;

	if (go("/apps/new") == -1 ||
	    expect_page("/apps/new form", "New application", NULL, NULL) != 1)
		return -1;
	if (fill("name", nm->app) == -1 ||
	    fill("repository_url", "https://git.example.com/team/wd.git") == -1 ||
	    fill("default_branch", "main") == -1 ||
	    screenshot("03-app-form.png") == -1 || submit() == -1)
		return -1;
	if (expect_page("create an application", nm->app,
	    "Application created.", "03-app.png") != 1 ||
	    (s = current_path()) == NULL)
		return -1;
	last_component(s, nm->auuid, sizeof(nm->auuid));
	free(s);
	snprintf(nm->apath, sizeof(nm->apath), "/apps/%s", nm->auuid);
	return 0;
}

static int
step_env(const struct names *nm)
{
	char	id[128], css[256], *s;
	int	n;

	if ((n = find("link text", "New environment", id, sizeof(id))) == -1)
		return -1;
	if (n == 0) {
		notok("application page has no \"New environment\" link");
		return -1;
	}
	if (click(id) == -1 || expect_page("\"New environment\" form",
	    "New environment", NULL, NULL) != 1)
		return -1;
	if (fill("name", nm->env) == -1)
		return -1;
	snprintf(css, sizeof(css), "main form input[name=\"runtime_servers\"]"
	    "[value=\"%s\"]", nm->suuid);
	if ((n = find("css selector", css, id, sizeof(id))) == -1)
		return -1;
	if (n == 0) {
		notok("environment form: no runtime server checkbox for %s",
		    nm->server);
		return -1;
	}
	if (tick(id) == -1)
		return -1;
	if (screenshot("04-env-form.png") == -1 || submit() == -1)
		return -1;
	if (expect_page("create an environment", nm->env,
	    "Environment created.", "04-env.png") != 1)
		return -1;
	if ((n = count_links("//table[@id='deployments']", nm->server)) == -1)
		return -1;
	if (n == 1)
		ok("environment lists runtime server %s", nm->server);
	else
		notok("environment lists runtime server %s: found %d",
		    nm->server, n);

	/* The default Dockerfile path ("Dockerfile") and build context (".")
	 * are shown. */
	if ((s = text_by("xpath", "//dl[contains(@class,'facts')]/dt[normalize-"
	    "space(.)='Dockerfile']/following-sibling::dd[1]")) == NULL) {
		if (wd_failed)
			return -1;
		notok("environment page: no Dockerfile fact");
		return 0;
	}
	if (strcmp(s, "Dockerfile from the repository, context .") == 0)
		ok("environment page shows the Dockerfile path and context");
	else
		notok("environment page shows the Dockerfile path: got \"%s\", "
		    "want \"Dockerfile from the repository, context .\"", s);
	free(s);
	return 0;
}

static int
step_lists(const struct names *nm)
{
	if (list_has("servers list", "/servers", "Servers",
	    "//table[contains(@class,'list')]", nm->server,
	    "05-servers.png") == -1 ||
	    list_has("applications list", "/apps", "Applications",
	    "//table[contains(@class,'list')]", nm->app, "06-apps.png") == -1 ||
	    list_has("application page", nm->apath, nm->app,
	    "//table[contains(@class,'list')]", nm->env,
	    "07-app-envs.png") == -1)
		return -1;
	return 0;
}

/* Pages that should be refused or ask first. */
static int
step_refusals(const struct names *nm)
{
	char	path[128], want[128], *h = NULL, *fl;
	int	status, r, nerr;

	/* A blank name and a bad address: 422 with the fields marked. */
	if (go("/servers/new") == -1 ||
	    expect_page("/servers/new form again", "Add server", NULL,
	    NULL) != 1)
		return -1;
	if (fill("name", "   ") == -1 || fill("address", "not a host!") == -1 ||
	    submit() == -1 || wait_h1("Add server", 0, &h) == -1)
		return -1;
	free(h);
	if ((r = page_state(&status, &h)) == -1 ||
	    (nerr = find("css selector", "main .field-error", NULL, 0)) == -1 ||
	    (fl = flash_text()) == NULL) {
		free(h);
		return -1;
	}
	if (screenshot("08-server-invalid.png") == -1) {
		free(h);
		free(fl);
		return -1;
	}
	if (status == 422 && strcmp(h, "Add server") == 0 && nerr == 2 &&
	    strcmp(fl, "Please correct the fields marked below.") == 0)
		ok("invalid server refused: 422, 2 field errors (%s/%s)",
		    OUTDIR, "08-server-invalid.png");
	else
		notok("invalid server: HTTP %d, h1 \"%s\", %d field errors, "
		    "flash \"%s\"", status, h, nerr, fl);
	free(h);
	free(fl);

	/* An unknown server: a 404 page. */
	if (go("/servers/00000000-0000-4000-8000-000000000000") == -1)
		return -1;
	(void)wait_h1("404", 1, &h);
	free(h);
	if ((r = page_state(&status, &h)) == -1 ||
	    screenshot("09-not-found.png") == -1) {
		free(h);
		return -1;
	}
	if (r == 1 && status == 404 && strncmp(h, "404", 3) == 0)
		ok("unknown server: 404 page (%s/09-not-found.png)", OUTDIR);
	else
		notok("unknown server: HTTP %d, h1 \"%s\"", status, h);
	free(h);

	/* Deleting asks first. */
	snprintf(path, sizeof(path), "/servers/%s/delete", nm->suuid);
	snprintf(want, sizeof(want), "Delete %s?", nm->server);
	if (go(path) == -1 || expect_page("server delete asks first", want,
	    NULL, "10-server-delete.png") == -1)
		return -1;
	return 0;
}

/* Narrow viewport: the nav wraps, nothing scrolls sideways. */
static int
step_narrow(const struct names *nm)
{
	cJSON	*b, *v;
	char	 path[160];
	int	 n, wide;

	if ((b = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(b, "width", 420) == NULL ||
	    cJSON_AddNumberToObject(b, "height", 860) == NULL) {
		cJSON_Delete(b);
		wd_failed = 1;
		return -1;
	}
	n = wd("POST", "/window/rect", b, NULL);
	cJSON_Delete(b);
	if (n == -1 || go("/servers") == -1 || expect_page("narrow servers "
	    "list", "Servers", NULL, "11-narrow-servers.png") == -1)
		return -1;
	if ((v = run_js("return document.documentElement.scrollWidth > "
	    "document.documentElement.clientWidth;")) == NULL)
		return -1;
	wide = cJSON_IsTrue(v);
	cJSON_Delete(v);
	if (wide)
		notok("narrow viewport: the page scrolls sideways");
	else
		ok("narrow viewport: no sideways scrolling");
	snprintf(path, sizeof(path), "%s/envs/new", nm->apath);
	if (go(nm->apath) == -1 || expect_page("narrow application page",
	    nm->app, NULL, "12-narrow-app.png") == -1 ||
	    go(path) == -1 || expect_page("narrow environment form",
	    "New environment", NULL, "13-narrow-env-form.png") == -1)
		return -1;
	return 0;
}

/* Runs one SQL statement on the test database; -1 (reported) on error. */
static int
sql(const char *q)
{
	const char	*ci = getenv("KS_PGCONN");
	PGconn		*c;
	PGresult	*r;
	int		 rc = -1;

	if (ci == NULL || (c = PQconnectdb(ci)) == NULL)
		return -1;
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "wd: database: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, q);
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		rc = 0;
	else
		fprintf(stderr, "wd: %s: %s", q, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return rc;
}

/*
 * A full health matrix at 1280 px: digests in messages are shortened (the
 * whole message on hover) and the page does not scroll sideways.
 */
static int
step_registry_wide(void)
{
	static const char *const checks[] = { "service", "https", "push_api",
	    "pull_api", "refused", "push", "pull", "disk" };
	struct buf	 q;
	cJSON		*b, *v;
	int		 n, wide = 1, shortened = 0;

	buf_init(&q);
	buf_puts(&q, "INSERT INTO registry_checks (node, check_name, ok, "
	    "message) VALUES ");
	for (int node = 0; node < 3; node++)
		for (size_t c = 0; c < sizeof(checks) / sizeof(checks[0]); c++)
			buf_printf(&q, "%s('wd-node-%d', '%s', %s, 'pulled "
			    "registry.ks.test:18443/keystone/probe@sha256:"
			    "0123456789abcdef0123456789abcdef0123456789abcdef"
			    "0123456789abcdef with this node''s credential')",
			    node + c == 0 ? "" : ", ", node, checks[c],
			    c == 1 ? "false" : "true");
	buf_puts(&q, " ON CONFLICT DO NOTHING");
	n = sql(buf_cstr(&q));
	buf_release(&q);
	if (n == -1) {
		notok("registry matrix: could not store the rows it shows");
		return 0;
	}
	if ((b = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(b, "width", 1280) == NULL ||
	    cJSON_AddNumberToObject(b, "height", 900) == NULL) {
		cJSON_Delete(b);
		wd_failed = 1;
		n = -1;
		goto out;
	}
	n = wd("POST", "/window/rect", b, NULL);
	cJSON_Delete(b);
	if (n == -1 || go("/registry") == -1 || (n = expect_page("registry "
	    "matrix at 1280 px", "Managed registry", NULL,
	    "14-registry-matrix.png")) == -1)
		goto out;
	if ((v = run_js("return document.documentElement.scrollWidth > "
	    "document.documentElement.clientWidth;")) == NULL) {
		n = -1;
		goto out;
	}
	wide = cJSON_IsTrue(v);
	cJSON_Delete(v);
	if ((v = run_js("var e = document.querySelector('table.matrix "
	    "small[title*=\"sha256:0123456789abcdef0123456789abcdef\"]'); "
	    "return e !== null && e.textContent.indexOf('sha256:"
	    "0123456789ab\\u2026 with') >= 0;")) == NULL) {
		n = -1;
		goto out;
	}
	shortened = cJSON_IsTrue(v);
	cJSON_Delete(v);
	if (wide)
		notok("registry matrix at 1280 px: the page scrolls sideways");
	else if (!shortened)
		notok("registry matrix: digests are not shortened with the whole "
		    "message on hover");
	else
		ok("registry matrix at 1280 px: inside the page, short digests");
	n = 0;
out:
	(void)sql("DELETE FROM registry_checks WHERE node LIKE 'wd-node-%'");
	return n;
}

static int
step_logout(void)
{
	char	id[128], *s = NULL, *got = NULL;
	int	n;

	if (need("header.top form.logout button", id, sizeof(id)) == -1 ||
	    click(id) == -1)
		return -1;
	n = wait_h1("Sign in", 0, &got);
	free(got);
	if (n == -1 || (n == 1 && (s = flash_text()) == NULL))
		return -1;
	if (n == 1 && strcmp(s, "You have been signed out.") == 0)
		ok("sign out");
	else
		notok("sign out: not back on the sign-in page with its notice");
	free(s);
	return 0;
}

static void
flow(const char *user, const char *pass)
{
	struct names	 nm;
	int		 pid = (int)getpid();

	memset(&nm, 0, sizeof(nm));
	snprintf(nm.server, sizeof(nm.server), "wd-server-%d", pid);
	snprintf(nm.app, sizeof(nm.app), "wd-app-%d", pid);
	snprintf(nm.env, sizeof(nm.env), "wd-env-%d", pid);
	/* Address and SSH port are unique together: vary the port. */
	snprintf(nm.port, sizeof(nm.port), "%d", 1024 + pid % 60000);

	if (step_login(user, pass) == -1 || step_server(&nm) == -1 ||
	    step_app(&nm) == -1 || step_env(&nm) == -1 ||
	    step_lists(&nm) == -1 || step_refusals(&nm) == -1 ||
	    step_narrow(&nm) == -1 || step_registry_wide() == -1)
		return;
	(void)step_logout();
}

int
main(void)
{
	const char	*user, *pass;
	char		 profile[] = "/tmp/ks-wd-profile.XXXXXX";
	int		 have_profile = 0, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	wd_url = getenv("WD_URL");
	ks_url = getenv("KS_URL");
	user = getenv("KS_USER");
	pass = getenv("KS_PASS");
	if (wd_url == NULL || *wd_url == '\0' || ks_url == NULL ||
	    *ks_url == '\0' || user == NULL || pass == NULL) {
		fprintf(stderr, "wd_browser: set WD_URL, KS_URL, KS_USER and "
		    "KS_PASS\n");
		puts("0 passed, 1 failed");
		return 1;
	}
	if (sodium_init() == -1 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "wd_browser: library initialisation failed\n");
		puts("0 passed, 1 failed");
		return 1;
	}
	if (mkdir("tests", 0755) == -1 && errno != EEXIST)
		fprintf(stderr, "tests: %s\n", strerror(errno));
	if (mkdir(OUTDIR, 0755) == -1 && errno != EEXIST)
		fprintf(stderr, "%s: %s\n", OUTDIR, strerror(errno));

	if (mkdtemp(profile) == NULL) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		wd_failed = 1;
	} else {
		have_profile = 1;
		if (wd_open_session(profile) == 0)
			flow(user, pass);
	}
	wd_close_session();
	if (wd_failed)
		notok("WebDriver error (see above)");
	if (have_profile)
		(void)nftw(profile, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

	curl_easy_cleanup(curl);
	curl_global_cleanup();
	rc = (nfail > 0 || wd_failed) ? 1 : 0;
	printf("%d passed, %d failed\n", npass, nfail);
	return rc;
}
