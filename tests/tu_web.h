/*
 * HTTP test client for the stack-phase web tests (check_web,
 * check_ops_web): libcurl clients with their own in-memory cookie jars,
 * requests over HTTPS exactly as a browser sends them, checks on the
 * answers, sign-in, and libpq helpers that check what the pages claim
 * against the database.
 *
 * Per-test state (the clients and the database connection) is reset by
 * tw_setup() and released by tw_teardown(), called from the checked
 * fixture of each test.
 */
#ifndef KS_TU_WEB_H
#define KS_TU_WEB_H

#include <stddef.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "buf.h"

#define TW_MAX_CLIENTS	8
#define TW_MAX_PARAMS	10

struct tw_client {
	CURL		*c;
	long		 status;
	struct buf	 body;
	struct buf	 hdr;		/* header lines of the last response */
	char		 csrf[128];
	char		 extra_hdr[256];	/* one more request header, or "" */
};

/* KS_USER and KS_PASS: an existing account. */
extern const char	*tw_user, *tw_pass;

/* Reads KS_URL, KS_CA, KS_PGCONN, KS_USER and KS_PASS; -1 (each missing
 * one reported on stderr as a failure of prog) when any is unset. */
int		 tw_env(const char *prog);

/* Checked fixture. A test may create up to max_clients clients (at most
 * TW_MAX_CLIENTS) and pass up to max_params SQL parameters (at most
 * TW_MAX_PARAMS). */
void		 tw_setup(size_t max_clients, int max_params);
void		 tw_teardown(void);
/* Releases every client of the test (tw_teardown does it too). */
void		 tw_free_clients(void);
/* The test's database connection if one was opened, else NULL. */
PGconn		*tw_pgconn(void);

/* ---- strings ---- */

/* A name no other test (or earlier run) uses. */
void		 tw_uniq(char *out, size_t sz, const char *prefix);
/* The HTML text ctemplate's HTML escaping produces for s. */
void		 tw_html_escape(struct buf *, const char *s);
/* Appends key=value, percent-encoded, to a form body. */
void		 tw_fadd(struct buf *f, const char *key, const char *val);

/* ---- HTTP ---- */

/* A client with its own, initially empty, in-memory cookie jar. */
struct tw_client *tw_cl_new(void);
long		 tw_request(struct tw_client *, const char *method,
		    const char *path, const char *body, size_t bodylen);
long		 tw_get(struct tw_client *, const char *path);
long		 tw_post(struct tw_client *, const char *path,
		    const struct buf *form);
const char	*tw_body(const struct tw_client *);
int		 tw_has(const struct tw_client *, const char *s);
/* The nth (0-based) value of header name in the last response, or NULL. */
const char	*tw_header_n(const struct tw_client *, const char *name,
		    int nth, char *out, size_t outsz);
const char	*tw_header(const struct tw_client *, const char *name,
		    char *out, size_t outsz);
void		 tw_ck_location(const struct tw_client *, const char *want);
/* Copies the first CSRF token of the last page into cl->csrf. */
void		 tw_take_csrf(struct tw_client *);
/* GETs a page that holds a form and takes its CSRF token. */
void		 tw_form_csrf(struct tw_client *, const char *path);
long		 tw_try_login(struct tw_client *, const char *user,
		    const char *pw);
/* A signed-in client, its CSRF token taken from the overview page. */
struct tw_client *tw_login(void);

#define ck_has(cl, s) do {						\
	if (!tw_has((cl), (s)))						\
		ck_abort_msg("response %ld lacks \"%.400s\"; body:\n%.2500s", \
		    (cl)->status, (s), tw_body(cl));			\
} while (0)
#define ck_hasnt(cl, s) do {						\
	if (tw_has((cl), (s)))						\
		ck_abort_msg("response %ld has \"%.400s\"; body:\n%.2500s",	\
		    (cl)->status, (s), tw_body(cl));			\
} while (0)
#define ck_status(expr, cl, want) do {					\
	long st_ = (expr);						\
	if (st_ != (want))						\
		ck_abort_msg("%s: status %ld, want %d; body:\n%.3000s",	\
		    #expr, st_, (want), tw_body(cl));			\
} while (0)

/* ---- database: each aborts the test on any error ---- */

PGconn		*tw_pg(void);
/* Runs q with n text parameters. */
PGresult	*tw_sql(const char *q, int n, ...);
void		 tw_sql_exec(const char *q, int n, ...);
/* The first column of the single row as a number. */
long		 tw_sql_long(const char *q, int n, ...);
/* The first column of the single row as text ("" for NULL). */
void		 tw_sql_str(char *out, size_t outsz, const char *q, int n, ...);

#endif
