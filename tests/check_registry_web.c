/*
 * The Registry page against the running stack, over HTTPS as a browser
 * sends it: the settings form (validated before anything is written), the
 * actions, and the health matrix as stored rows render it (escaped).
 * Runs before check_registry: the registry is not set up yet, and every
 * test leaves it that way (teardown removes what a test made).
 *
 * Environment (tests/run.sh): KS_URL, KS_CA, KS_PGCONN, KS_USER, KS_PASS.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "testutil.h"
#include "tu_web.h"

static void
setup(void)
{
	tw_setup(2, 4);
}

static void
teardown(void)
{
	tw_free_clients();
	if (tw_pgconn() != NULL) {
		/* Operations a test queued must never run (no spooler runs now;
		 * the next program's would). */
		tw_sql_exec("DELETE FROM operations WHERE kind IN ('registry', "
		    "'registry_auth', 'check')", 0);
		tw_sql_exec("DELETE FROM registry_checks", 0);
		tw_sql_exec("DELETE FROM registry_credentials", 0);
		tw_sql_exec("DELETE FROM registry", 0);
	}
	tw_teardown();
}

static long
post_settings(struct tw_client *cl, const char *host, const char *storage)
{
	struct buf	 f;
	long		 st;

	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	tw_fadd(&f, "hostname", host);
	tw_fadd(&f, "storage_path", storage);
	st = tw_post(cl, "/registry/settings", &f);
	buf_release(&f);
	return st;
}

static long
rows(const char *table)
{
	char	 q[128];

	snprintf(q, sizeof(q), "SELECT count(*) FROM %s", table);
	return tw_sql_long(q, 0);
}

START_TEST(missing_then_settings)
{
	struct tw_client	*cl = tw_login();
	const char		*bad[][2] = {
		{ "Bad Host!", "/mnt/keystone-registry" },
		{ "registry.example.test:99999", "/mnt/keystone-registry" },
		{ "registry.example.test", "relative/path" },
		{ "registry.example.test", "/mnt/x;rm -rf /" },
		{ "registry.example.test", "/mnt/../etc" },
		{ "registry.example.test", "/mnt/$(id)" },
		{ "", "/mnt/keystone-registry" },
	};

	ck_status(tw_get(cl, "/registry"), cl, 200);
	ck_has(cl, "status-missing");
	ck_has(cl, "No check has run yet.");
	/* The configured default is offered (the stack configures both). */
	ck_has(cl, "value=\"registry.ks.test");
	ck_has(cl, "/registry/data\"");
	tw_take_csrf(cl);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_status(post_settings(cl, bad[i][0], bad[i][1]), cl, 400);
		if (!tw_has(cl, "flash-error"))
			ck_has(cl, "field-error");
		ck_assert_int_eq(rows("registry"), 0);
		ck_assert_int_eq(rows("registry_credentials"), 0);
		tw_take_csrf(cl);
	}
	/* The user's input comes back (escaped) for correction. */
	ck_status(post_settings(cl, "<b>x</b>", "/srv"), cl, 400);
	ck_has(cl, "value=\"&lt;b&gt;x&lt;/b&gt;\"");
	tw_take_csrf(cl);

	ck_status(post_settings(cl, "registry.example.test", "/mnt/keystone-registry"),
	    cl, 303);
	ck_assert_int_eq(rows("registry"), 1);
	ck_assert_int_eq(rows("registry_credentials"), 2);
	/* Sealed, 256-bit random, one per role; no password in the page. */
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM registry_credentials "
	    "WHERE length(sealed) > 80 AND username IN ('ks-build', 'ks-runtime')", 0), 2);
	ck_status(tw_get(cl, "/registry"), cl, 200);
	ck_has(cl, "Registry settings saved.");
	ck_has(cl, "https://registry.example.test");
	ck_has(cl, "/mnt/keystone-registry");
	/* The form now offers what is stored, not the configuration's. */
	ck_has(cl, "value=\"registry.example.test\"");
	ck_has(cl, "value=\"/mnt/keystone-registry\"");
	ck_has(cl, "build: ks-build, runtime: ks-runtime");
	ck_has(cl, "<strong>pull-only</strong>");
}
END_TEST

START_TEST(csrf_required)
{
	struct tw_client	*cl = tw_login();
	const char		*paths[] = { "/registry/settings", "/registry/provision",
				    "/registry/check", "/registry/auth" };

	for (size_t i = 0; i < 4; i++) {
		struct buf f;
		buf_init(&f);
		tw_fadd(&f, "hostname", "registry.example.test");
		tw_fadd(&f, "storage_path", "/srv");
		ck_status(tw_post(cl, paths[i], &f), cl, 403);
		buf_release(&f);
	}
	ck_assert_int_eq(rows("registry"), 0);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations WHERE kind IN "
	    "('registry', 'registry_auth', 'check')", 0), 0);
}
END_TEST

/* Actions that need a registry say so; with one, they queue operations
 * and show the first. */
START_TEST(actions)
{
	struct tw_client	*cl = tw_login();
	struct buf		 f;
	char			 loc[256], want[128], uuid[64];

	buf_init(&f);
	tw_form_csrf(cl, "/registry");
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, "/registry/check", &f), cl, 409);
	ck_has(cl, "The managed registry is not set up yet.");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations WHERE kind = "
	    "'check'", 0), 0);

	tw_take_csrf(cl);
	ck_status(post_settings(cl, "registry.example.test", "/srv/registry"), cl, 303);
	tw_form_csrf(cl, "/registry");
	buf_release(&f);
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	ck_status(tw_post(cl, "/registry/provision", &f), cl, 303);
	tw_sql_str(uuid, sizeof(uuid), "SELECT uuid FROM operations WHERE kind = "
	    "'registry' ORDER BY id DESC LIMIT 1", 0);
	snprintf(want, sizeof(want), "/ops/%s", uuid);
	ck_assert_str_eq(tw_header(cl, "Location", loc, sizeof(loc)), want);
	/* The provisioning, the control node's Docker sign-in, the check. */
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations WHERE kind IN "
	    "('registry', 'registry_auth', 'check') AND status = 'queued'", 0), 3);
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM registry WHERE state = "
	    "'provisioning'", 0), 1);
	/* No password in any stored script. */
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operation_steps s JOIN "
	    "operations o ON o.id = s.operation_id WHERE o.kind LIKE 'registry%' AND "
	    "s.script ~ 'PASSWORD='", 0), 0);
	buf_release(&f);
}
END_TEST

/* The matrix: rows nodes, a cell per check, messages escaped. */
START_TEST(matrix_renders)
{
	struct tw_client	*cl = tw_login();

	tw_sql_exec("INSERT INTO registry (hostname, state, state_reason) VALUES "
	    "('registry.example.test', 'unhealthy', 'https on the control node: <x>')", 0);
	tw_sql_exec("INSERT INTO registry_checks (node, check_name, ok, message) VALUES "
	    "('control', 'service', true, 'running; answers on 127.0.0.1:5000'), "
	    "('control', 'https', false, 'unreachable: <script>alert(1)</script>'), "
	    "('control', 'disk', NULL, 'not run'), "
	    "('control', 'pull', true, 'pulled r/p@sha256:0123456789abcdef0123456789"
	    "abcdef0123456789abcdef0123456789abcdef by digest')", 0);
	ck_status(tw_get(cl, "/registry"), cl, 200);
	ck_has(cl, "status-unhealthy");
	ck_has(cl, "https on the control node: &lt;x&gt;");
	ck_has(cl, "<th scope=\"row\">control node</th>");
	ck_has(cl, "running; answers on 127.0.0.1:5000");
	ck_has(cl, "unreachable: &lt;script&gt;alert(1)&lt;/script&gt;");
	ck_hasnt(cl, "<script>alert(1)");
	ck_has(cl, "status status-failed");
	ck_has(cl, "not run");
	/* Short digest in the cell, the whole message on hover. */
	ck_has(cl, "<small title=\"pulled r/p@sha256:0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef by digest\">pulled "
	    "r/p@sha256:0123456789ab\u2026 by digest</small>");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("registry_web");
	TCase	*tc = tcase_create("registry_web");
	int	 rc;

	if (tw_env("check_registry_web") == -1)
		return EXIT_FAILURE;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return EXIT_FAILURE;
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, missing_then_settings);
	tcase_add_test(tc, csrf_required);
	tcase_add_test(tc, actions);
	tcase_add_test(tc, matrix_renders);
	suite_add_tcase(s, tc);
	rc = tu_run(s);
	curl_global_cleanup();
	return rc;
}
