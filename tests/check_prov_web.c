/*
 * The provisioning endpoints over HTTPS, without a test host (the stack
 * only): what GET /provision/<token> and POST /provision/callback answer
 * when the management public key is missing, when the server's name holds
 * a newline, when the callback comes with the URL's token instead of its
 * own secret, and that every refusal of a report is logged (without its
 * body or secret).
 *
 * Needs the stack ($KS_URL...) with its spooler stopped (tests/run.sh):
 * the operations a callback queues are cancelled here.
 */
#define _GNU_SOURCE
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "prov.h"
#include "testutil.h"
#include "tu_web.h"

/* Any well-formed ed25519 public key: the callback only pins it. */
#define HOST_KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

static char	 pubfile[512], savedfile[600];

static void restore_pubkey(void);

static void
setup(void)
{
	tw_setup(4, 4);
	snprintf(pubfile, sizeof(pubfile), "%s/ssh/keystone_ed25519.pub",
	    getenv("KS_DIR"));
	snprintf(savedfile, sizeof(savedfile), "%s.saved", pubfile);
	restore_pubkey();
}

static void
teardown(void)
{
	tw_teardown();
}

/* The management public key back in place, whatever a test left (a
 * failing test exits before its own restore). */
static void
restore_pubkey(void)
{
	char	 p[512], s[600];

	snprintf(p, sizeof(p), "%s/ssh/keystone_ed25519.pub", getenv("KS_DIR"));
	snprintf(s, sizeof(s), "%s.saved", p);
	if (access(s, F_OK) == 0 && rename(s, p) == -1)
		fprintf(stderr, "check_prov_web: cannot restore %s\n", p);
}

/* A new server ("connect": an existing one), its one-time token into tok
 * and its id and uuid. */
static void
new_server(struct tw_client *cl, const char *prefix, char tok[64],
    long long *id, char uuid[40])
{
	char		 name[64], addr[64], cmd[512];
	const char	*p, *t;
	struct buf	 f;
	PGresult	*res;

	tw_uniq(name, sizeof(name), prefix);
	tw_uniq(addr, sizeof(addr), "prov");
	tw_form_csrf(cl, "/servers/new");
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	tw_fadd(&f, "name", name);
	tw_fadd(&f, "address", addr);
	tw_fadd(&f, "ssh_port", "22");
	tw_fadd(&f, "ssh_user", "keystone");
	tw_fadd(&f, "role_runtime", "1");
	tw_fadd(&f, "connect", "1");
	ck_status(tw_post(cl, "/servers", &f), cl, 200);
	buf_release(&f);
	ck_assert_ptr_nonnull(p = strstr(tw_body(cl), "<pre class=\"command\"><code>"));
	snprintf(cmd, sizeof(cmd), "%.*s", (int)strcspn(p + 27, "<"), p + 27);
	ck_assert_ptr_nonnull(t = strstr(cmd, "/provision/"));
	snprintf(tok, 64, "%.*s", (int)strcspn(t + 11, " "), t + 11);
	ck_assert_int_eq(strlen(tok), PROV_TOKEN_LEN);
	res = tw_sql("SELECT id, uuid FROM servers WHERE name = $1", 1, name);
	ck_assert_int_eq(PQntuples(res), 1);
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(uuid, 40, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
}

/* The server gone, and the operations its callback queued with it (no
 * spooler runs them here). */
static void
drop_server(long long id)
{
	char	 sid[24];

	snprintf(sid, sizeof(sid), "%lld", id);
	tw_sql_exec("UPDATE operations SET status = 'cancelled' WHERE subject_id = "
	    "$1::bigint AND status IN ('queued', 'running')", 1, sid);
	tw_sql_exec("DELETE FROM servers WHERE id = $1::bigint", 1, sid);
}

/* A token-shaped string that no server was given. */
static void
random_token(char out[64])
{
	unsigned char	 b[32];

	randombytes_buf(b, sizeof(b));
	sodium_bin2base64(out, 64, b, sizeof(b),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static long
log_max(void)
{
	return tw_sql_long("SELECT coalesce(max(id), 0) FROM provision_log", 0);
}

/* Refusals logged since id n0, of event ev. */
static long
refusals_since(long n0, const char *ev)
{
	char	 s[24];

	snprintf(s, sizeof(s), "%ld", n0);
	return tw_sql_long("SELECT count(*) FROM provision_log WHERE id > $1::bigint "
	    "AND event = $2", 2, s, ev);
}

/* No sanitizer report from the stack's programs so far. */
static void
no_sanitizer_reports(void)
{
	char	 pat[512], *text;
	glob_t	 g;

	snprintf(pat, sizeof(pat), "%s/log/[au]bsan*", getenv("KS_DIR"));
	if (glob(pat, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		text = tu_slurp(g.gl_pathv[i], NULL);
		ck_assert_msg(text == NULL || (strstr(text, "ERROR: AddressSanitizer") == NULL &&
		    strstr(text, "runtime error:") == NULL), "%s:\n%.3000s",
		    g.gl_pathv[i], text);
		free(text);
	}
	globfree(&g);
}

/* The value of the script's line NAME='...' (a base64url value: no
 * quoting inside). */
static void
script_value(const char *script, const char *name, char *out, size_t sz)
{
	char		 pfx[64];
	const char	*p;

	snprintf(pfx, sizeof(pfx), "\n%s='", name);
	ck_assert_msg((p = strstr(script, pfx)) != NULL, "no %s in the script:\n%.2000s",
	    name, script);
	p += strlen(pfx);
	snprintf(out, sz, "%.*s", (int)strcspn(p, "'"), p);
}

static long
post_report(struct tw_client *cl, const char *hdr, const char *os)
{
	struct buf	 f;
	long		 st;

	buf_init(&f);
	tw_fadd(&f, "host_key", HOST_KEY);
	tw_fadd(&f, "os", os);
	tw_fadd(&f, "os_version", "12");
	tw_fadd(&f, "arch", "amd64");
	tw_fadd(&f, "docker_version", "20.10");
	tw_fadd(&f, "free_disk_kb", "1000");
	snprintf(cl->extra_hdr, sizeof(cl->extra_hdr), "%s", hdr ? hdr : "");
	st = tw_post(cl, "/provision/callback", &f);
	cl->extra_hdr[0] = '\0';
	buf_release(&f);
	return st;
}

/* Whether the file at path (or any file under it) holds s. */
static int
grep_file(const char *path, const char *s)
{
	char	 c[1024];
	int	 rc;

	setenv("NEEDLE", s, 1);
	snprintf(c, sizeof(c), "grep -rqaF -- \"$NEEDLE\" '%s' 2>/dev/null", path);
	rc = system(c);
	unsetenv("NEEDLE");
	return rc == 0;
}

/* ---------------------------------------------------------------- tests */

/* An empty management public key file: a token-shaped link nobody was
 * given gets the usual refusal (the token is looked up first); a valid
 * one fails cleanly, uses nothing up, and works once the key is back. */
START_TEST(empty_mgmt_pubkey)
{
	struct tw_client *cl = tw_login(), *anon = tw_cl_new();
	char		 tok[64], other[64], uuid[40], path[128], sid[24];
	long long	 id;
	long		 n0;
	FILE		 *f;

	new_server(cl, "nokey", tok, &id, uuid);
	snprintf(sid, sizeof(sid), "%lld", id);
	ck_assert_int_eq(rename(pubfile, savedfile), 0);
	ck_assert_ptr_nonnull(f = fopen(pubfile, "w"));	/* empty */
	fclose(f);
	n0 = log_max();
	random_token(other);
	snprintf(path, sizeof(path), "/provision/%s", other);
	ck_status(tw_get(anon, path), anon, 401);
	ck_assert_ptr_nonnull(strstr(tw_body(anon), "refused"));
	ck_assert_int_eq(refusals_since(n0, "fetch_refused"), 1);
	/* The right token: a failure on Keystone's side, said in its log;
	 * the token and the sealed sudo password stay for the next try. */
	snprintf(path, sizeof(path), "/provision/%s", tok);
	ck_status(tw_get(anon, path), anon, 500);
	ck_assert_ptr_null(strstr(tw_body(anon), "chpasswd"));
	{
		char lp[512];
		snprintf(lp, sizeof(lp), "%s/log/keystone.log", getenv("KS_DIR"));
		ck_assert_msg(grep_file(lp, "no ed25519 public key"),
		    "no reason in keystone.log");
	}
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM provision_tokens WHERE "
	    "server_id = $1::bigint AND exchanged_at IS NULL", 1, sid), 1);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM server_secrets WHERE "
	    "server_id = $1::bigint", 1, sid), 1);
	/* A key file that is not an ed25519 public key: the same. */
	ck_assert_ptr_nonnull(f = fopen(pubfile, "w"));
	fputs("not a key", f);
	fclose(f);
	ck_status(tw_get(anon, path), anon, 500);
	restore_pubkey();
	ck_status(tw_get(anon, path), anon, 200);
	ck_assert_ptr_nonnull(strstr(tw_body(anon), "\nMGMT_PUBKEY='ssh-ed25519 "));
	no_sanitizer_reports();
	drop_server(id);
}
END_TEST

/* A name stored with a newline and shell syntax in it (not through the
 * form, whose validator refuses control characters): in the script it
 * is one quoted value; running the script's settings runs nothing. */
START_TEST(name_with_newline)
{
	struct tw_client *cl = tw_login(), *anon = tw_cl_new();
	char		 tok[64], uuid[40], path[256], sid[24], name[512];
	char		 dir[] = "/tmp/ks-provname.XXXXXX", c[1024], *got;
	const char	*body, *end;
	long long	 id;
	FILE		*f;
	int		 rc;

	new_server(cl, "nl", tok, &id, uuid);
	snprintf(sid, sizeof(sid), "%lld", id);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(name, sizeof(name), "%s\ntouch %s/ran-1\n$(touch %s/ran-2)'; "
	    "touch %s/ran-3 #\n#", uuid, dir, dir, dir);
	tw_sql_exec("UPDATE servers SET name = $2 WHERE id = $1::bigint", 2, sid, name);
	snprintf(path, sizeof(path), "/provision/%s", tok);
	ck_status(tw_get(anon, path), anon, 200);
	body = tw_body(anon);
	/* Everything before the template's code: the header and the
	 * settings. */
	ck_assert_ptr_nonnull(end = strstr(body, "\nset -euo pipefail\n"));
	snprintf(path, sizeof(path), "%s/settings.sh", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%.*s\nprintf '%%s' \"$SERVER_NAME\" > %s/name\n", (int)(end - body),
	    body, dir);
	fclose(f);
	snprintf(c, sizeof(c), "bash -u %s/settings.sh", dir);
	rc = system(c);
	for (int i = 1; i <= 3; i++) {
		snprintf(path, sizeof(path), "%s/ran-%d", dir, i);
		ck_assert_msg(access(path, F_OK) == -1, "the name ran a command (%s)", path);
	}
	ck_assert_msg(rc == 0, "the settings do not run (%d):\n%.1500s", rc, body);
	snprintf(path, sizeof(path), "%s/name", dir);
	ck_assert_ptr_nonnull(got = tu_slurp(path, NULL));
	ck_assert_str_eq(got, name);
	free(got);
	/* The name's first line appears only in its quoted setting. */
	{
		const char *p = strstr(body, uuid);
		ck_assert_ptr_nonnull(p);
		ck_assert_msg(p - body >= 13 && strncmp(p - 13, "SERVER_NAME='", 13) == 0,
		    "the name is outside SERVER_NAME:\n%.600s", body);
		ck_assert_ptr_null(strstr(p + 1, uuid));
	}
	snprintf(c, sizeof(c), "rm -rf -- '%s'", dir);
	ck_assert_int_eq(system(c), 0);
	drop_server(id);
}
END_TEST

/* The callback takes its own secret, which is only in the script's body:
 * the URL's token (in curl's argv on the server while the script runs)
 * authorises nothing; the secret works once, not after the token expires
 * or is re-issued, and is stored only as a keyed hash. */
START_TEST(callback_needs_own_secret)
{
	struct tw_client *cl = tw_login(), *anon = tw_cl_new();
	char		 tok[64], uuid[40], path[128], sid[24], hdr[256];
	char		 secret[64], hash[128], dump[1024], *script;
	long long	 id;
	long		 n0;

	new_server(cl, "cb", tok, &id, uuid);
	snprintf(sid, sizeof(sid), "%lld", id);
	snprintf(path, sizeof(path), "/provision/%s", tok);
	ck_status(tw_get(anon, path), anon, 200);
	ck_assert_ptr_nonnull(script = strdup(tw_body(anon)));
	n0 = log_max();
	/* The race: someone on the server who saw the URL calls back first.
	 * Refused, however the token is sent. */
	snprintf(hdr, sizeof(hdr), "X-Keystone-Token: %s", tok);
	ck_status(post_report(anon, hdr, "debian"), anon, 401);
	snprintf(hdr, sizeof(hdr), "X-Keystone-Callback: %s", tok);
	ck_status(post_report(anon, hdr, "debian"), anon, 401);
	ck_assert_int_eq(refusals_since(n0, "callback_refused"), 2);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE id = $1::bigint "
	    "AND host_key IS NULL AND status = 'provisioning'", 1, sid), 1);
	/* The URL's token is not in the script; the secret is. */
	ck_assert_ptr_null(strstr(script, tok));
	script_value(script, "CALLBACK_SECRET", secret, sizeof(secret));
	ck_assert_int_eq(strlen(secret), PROV_TOKEN_LEN);
	free(script);
	/* Stored as a keyed hash only. */
	tw_sql_str(hash, sizeof(hash), "SELECT callback_hash FROM provision_tokens "
	    "WHERE server_id = $1::bigint AND exchanged_at IS NOT NULL", 1, sid);
	ck_assert_int_eq(strlen(hash), 64);
	setenv("NEEDLE", secret, 1);
	snprintf(dump, sizeof(dump), "pg_dump '%s' | grep -qaF -- \"$NEEDLE\"",
	    getenv("KS_PGCONN"));
	ck_assert_msg(system(dump) != 0, "the callback secret is in the database");
	unsetenv("NEEDLE");
	/* The real report: accepted once. */
	snprintf(hdr, sizeof(hdr), "X-Keystone-Callback: %s", secret);
	ck_status(post_report(anon, hdr, "debian"), anon, 200);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM servers WHERE id = $1::bigint "
	    "AND host_key = $2 AND status = 'active'", 2, sid, HOST_KEY), 1);
	ck_status(post_report(anon, hdr, "debian"), anon, 401);
	/* Neither secret is in a log. */
	{
		char lp[512];
		snprintf(lp, sizeof(lp), "%s/log", getenv("KS_DIR"));
		ck_assert_msg(!grep_file(lp, secret), "the callback secret is in a log");
		ck_assert_msg(!grep_file(lp, tok), "the token is in a log");
	}
	drop_server(id);

	/* Expired with its token. */
	new_server(cl, "cbexp", tok, &id, uuid);
	snprintf(sid, sizeof(sid), "%lld", id);
	snprintf(path, sizeof(path), "/provision/%s", tok);
	ck_status(tw_get(anon, path), anon, 200);
	script_value(tw_body(anon), "CALLBACK_SECRET", secret, sizeof(secret));
	tw_sql_exec("UPDATE provision_tokens SET expires_at = now() - interval '1 second' "
	    "WHERE server_id = $1::bigint", 1, sid);
	snprintf(hdr, sizeof(hdr), "X-Keystone-Callback: %s", secret);
	ck_status(post_report(anon, hdr, "debian"), anon, 401);
	drop_server(id);

	/* Revoked with its token when a new command is issued. */
	new_server(cl, "cbrev", tok, &id, uuid);
	snprintf(sid, sizeof(sid), "%lld", id);
	snprintf(path, sizeof(path), "/provision/%s", tok);
	ck_status(tw_get(anon, path), anon, 200);
	script_value(tw_body(anon), "CALLBACK_SECRET", secret, sizeof(secret));
	{
		struct buf f;
		char p2[128];
		snprintf(p2, sizeof(p2), "/servers/%s", uuid);
		tw_form_csrf(cl, p2);
		buf_init(&f);
		tw_fadd(&f, "csrf", cl->csrf);
		snprintf(p2, sizeof(p2), "/servers/%s/provision", uuid);
		ck_status(tw_post(cl, p2, &f), cl, 200);
		buf_release(&f);
	}
	snprintf(hdr, sizeof(hdr), "X-Keystone-Callback: %s", secret);
	ck_status(post_report(anon, hdr, "debian"), anon, 401);
	drop_server(id);
}
END_TEST

/* A report with a secret but a malformed body: 400, and logged like every
 * refusal, without the body or the secret. */
START_TEST(malformed_report_logged)
{
	struct tw_client *anon = tw_cl_new();
	char		 secret[64], hdr[256], marker[64], s0[24];
	struct buf	 f;
	long		 n0;

	random_token(secret);
	tw_uniq(marker, sizeof(marker), "bodymark");
	snprintf(hdr, sizeof(hdr), "X-Keystone-Callback: %s", secret);
	n0 = log_max();
	snprintf(s0, sizeof(s0), "%ld", n0);
	/* A field that does not validate (os too long). */
	{
		char longos[128];
		snprintf(longos, sizeof(longos), "%s-%s", marker,
		    "0123456789012345678901234567890123456789");
		ck_status(post_report(anon, hdr, longos), anon, 400);
	}
	ck_assert_int_eq(refusals_since(n0, "callback_refused"), 1);
	/* Fields missing. */
	buf_init(&f);
	tw_fadd(&f, "host_key", marker);
	snprintf(anon->extra_hdr, sizeof(anon->extra_hdr), "%s", hdr);
	ck_status(tw_post(anon, "/provision/callback", &f), anon, 400);
	ck_assert_int_eq(refusals_since(n0, "callback_refused"), 2);
	/* Not a form at all (invalid UTF-8): refused before the handler. */
	buf_reset(&f);
	buf_puts(&f, "host_key=%FF");
	buf_puts(&f, marker);
	ck_status(tw_post(anon, "/provision/callback", &f), anon, 400);
	anon->extra_hdr[0] = '\0';
	ck_assert_int_eq(refusals_since(n0, "callback_refused"), 3);
	buf_release(&f);
	/* No secret, no body in what was logged. */
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM provision_log WHERE "
	    "id > $1::bigint AND (strpos(coalesce(detail, ''), $2) > 0 OR "
	    "strpos(coalesce(detail, ''), $3) > 0)", 3, s0, secret, marker), 0);
	{
		char lp[512];
		snprintf(lp, sizeof(lp), "%s/log", getenv("KS_DIR"));
		ck_assert_msg(!grep_file(lp, secret), "the secret is in a log");
		ck_assert_msg(!grep_file(lp, marker), "the body is in a log");
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("prov_web");
	TCase	*tc = tcase_create("prov_web");

	if (tw_env("check_prov_web") == -1)
		return EXIT_FAILURE;
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "check_prov_web: FAIL: library initialisation\n");
		return EXIT_FAILURE;
	}
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_unchecked_fixture(tc, NULL, restore_pubkey);
	tcase_add_test(tc, empty_mgmt_pubkey);
	tcase_add_test(tc, name_with_newline);
	tcase_add_test(tc, callback_needs_own_secret);
	tcase_add_test(tc, malformed_report_logged);
	suite_add_tcase(s, tc);
	{
		int rc = tu_run(s);
		curl_global_cleanup();
		return rc;
	}
}
