/*
 * Deploy on push against the running stack (cgi/r_hooks.c,
 * lib/domain/hook.c): deliveries over HTTPS as GitHub and GitLab send
 * them, signed with the secret the environment's page reveals, and what
 * they queued in the database. No spooler runs in this phase: what a
 * delivery queues stays queued, and teardown deletes it.
 *
 * Environment (tests/run.sh): KS_URL, KS_CA, KS_PGCONN, KS_USER, KS_PASS,
 * KS_DIR (the stack's directory: its log/keystone.log).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "buf.h"
#include "testutil.h"
#include "tu_hook.h"
#include "tu_web.h"

static const char	*ks_url, *ks_ca, *ks_dir;

/* The test's application and environment. */
static char		 app_uuid[40], env_uuid[40], app_name[96];

static void
setup(void)
{
	tw_setup(2, 6);
	tw_uniq(app_name, sizeof(app_name), "hookapp");
	tw_sql_str(app_uuid, sizeof(app_uuid), "INSERT INTO applications (name, "
	    "repository_url, default_branch) VALUES ($1, "
	    "'https://git.example.com/t/hook.git', 'main') RETURNING uuid", 1,
	    app_name);
	tw_sql_str(env_uuid, sizeof(env_uuid), "INSERT INTO environments "
	    "(application_id, name) SELECT id, 'production' FROM applications "
	    "WHERE uuid = $1 RETURNING uuid", 1, app_uuid);
}

static void
teardown(void)
{
	tw_free_clients();
	/* Its environment, operations and deliveries go with it. */
	if (tw_pgconn() != NULL && app_uuid[0] != '\0')
		tw_sql_exec("DELETE FROM applications WHERE uuid = $1", 1, app_uuid);
	app_uuid[0] = env_uuid[0] = '\0';
	tw_teardown();
}

#define ck_reply(expr, r, want, text) do {				\
	long st_ = (expr);						\
	if (st_ != (want) || strstr(buf_cstr(&(r)->body), (text)) == NULL) \
		ck_abort_msg("%s: status %ld (want %d), body lacks \"%s\":\n%.2000s", \
		    #expr, st_, (want), (text), buf_cstr(&(r)->body));	\
} while (0)

/* ---- the environment's page ---- */

/* The secret as the page reveals it after a click (cl signed in). */
static void
reveal(struct tw_client *cl, char secret[65])
{
	struct buf	 f;
	char		 path[200];
	const char	*p;

	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app_uuid, env_uuid);
	tw_form_csrf(cl, path);
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/hook", app_uuid, env_uuid);
	ck_status(tw_post(cl, path, &f), cl, 200);
	buf_release(&f);
	p = strstr(tw_body(cl), "<code id=\"hook-secret\">");
	ck_assert_msg(p != NULL, "no secret on the page:\n%.2000s", tw_body(cl));
	p += strlen("<code id=\"hook-secret\">");
	ck_assert_msg(strspn(p, "0123456789abcdef") == 64, "%.100s", p);
	memcpy(secret, p, 64);
	secret[64] = '\0';
}

static long
count(const char *table)
{
	char	 q[256];

	snprintf(q, sizeof(q), "SELECT count(*) FROM %s t JOIN environments e ON "
	    "e.id = t.environment_id WHERE e.uuid = $1", table);
	return tw_sql_long(q, 1, env_uuid);
}

/* The stack's log has a line holding want (waits up to 5 s: the worker
 * writes it before it answers, but through a pipe) and, in all of it, no
 * line holding never. */
static void
ck_log(const char *want, const char *never)
{
	char	 path[512], *log = NULL;
	size_t	 len;

	snprintf(path, sizeof(path), "%s/log/keystone.log", ks_dir);
	for (int i = 0; i < 50; i++) {
		free(log);
		log = tu_slurp(path, &len);
		if (log != NULL && strstr(log, want) != NULL)
			break;
		usleep(100 * 1000);
	}
	ck_assert_msg(log != NULL && strstr(log, want) != NULL,
	    "%s: no line with \"%s\"", path, want);
	ck_assert_msg(strstr(log, never) == NULL, "%s holds \"%s\"", path, never);
	free(log);
}

START_TEST(page_reveals_and_rotates)
{
	struct tw_client	*cl = tw_login();
	struct tk_reply		 r;
	struct buf		 f;
	char			 path[200], s1[65], s2[65], url[300], body[512];

	buf_init(&r.body);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s", app_uuid, env_uuid);
	ck_status(tw_get(cl, path), cl, 200);
	snprintf(url, sizeof(url), "%s/hooks/git/%s", ks_url, env_uuid);
	ck_has(cl, url);
	reveal(cl, s1);
	ck_has(cl, url);
	/* Not on the environment's page itself. */
	ck_status(tw_get(cl, path), cl, 200);
	ck_hasnt(cl, s1);
	/* The same secret until rotated. */
	reveal(cl, s2);
	ck_assert_str_eq(s1, s2);
	/* Without a session: the sign-in page, no secret. */
	{
		struct tw_client *anon = tw_cl_new();
		buf_init(&f);
		tw_fadd(&f, "csrf", cl->csrf);
		snprintf(path, sizeof(path), "/apps/%s/envs/%s/hook", app_uuid,
		    env_uuid);
		ck_status(tw_post(anon, path, &f), anon, 303);
		buf_release(&f);
		ck_hasnt(anon, s1);
	}
	tk_push_json(body, sizeof(body), "refs/heads/main",
	    "0000000000000000000000000000000000000000");
	ck_reply(tk_github(&r, env_uuid, s1, "push", NULL, body), &r, 202, "deleted");
	/* Rotate: the old secret is refused, the new one works. */
	buf_init(&f);
	tw_fadd(&f, "csrf", cl->csrf);
	snprintf(path, sizeof(path), "/apps/%s/envs/%s/hook/rotate", app_uuid,
	    env_uuid);
	ck_status(tw_post(cl, path, &f), cl, 303);
	buf_release(&f);
	reveal(cl, s2);
	ck_assert_str_ne(s1, s2);
	ck_reply(tk_github(&r, env_uuid, s1, "push", NULL, body), &r, 401, "refused");
	ck_reply(tk_gitlab(&r, env_uuid, s1, "Push Hook", NULL, body), &r, 401, "refused");
	ck_reply(tk_github(&r, env_uuid, s2, "push", NULL, body), &r, 202, "deleted");
	ck_reply(tk_gitlab(&r, env_uuid, s2, "Push Hook", NULL, body), &r, 202, "deleted");
	buf_release(&r.body);
}
END_TEST

/* A ping, another event, another branch, a tag, a deletion: 202 and
 * nothing queued or recorded. */
START_TEST(nothing_to_do)
{
	struct tw_client	*cl = tw_login();
	struct tk_reply		 r;
	char			 s[65], body[512];
	static const char	 sha[] = "89abcdef0123456789abcdef0123456789abcdef";

	buf_init(&r.body);
	reveal(cl, s);
	ck_reply(tk_github(&r, env_uuid, s, "ping", "d-ping", "{\"zen\":\"Keep it logically "
	    "awesome.\",\"hook_id\":1}"), &r, 202, "pong");
	ck_reply(tk_github(&r, env_uuid, s, "pull_request", "d-pr", "{\"action\":\"opened\"}"),
	    &r, 202, "not a push event");
	tk_push_json(body, sizeof(body), "refs/heads/feature", sha);
	ck_reply(tk_github(&r, env_uuid, s, "push", "d-other", body), &r, 202,
	    "a push to feature; this environment deploys main");
	ck_reply(tk_gitlab(&r, env_uuid, s, "Push Hook", "d-other-gl", body), &r, 202,
	    "this environment deploys main");
	ck_reply(tk_gitlab(&r, env_uuid, s, "Tag Push Hook", "d-tag-gl", body), &r, 202,
	    "not a push event");
	tk_push_json(body, sizeof(body), "refs/tags/v1", sha);
	ck_reply(tk_github(&r, env_uuid, s, "push", "d-tag", body), &r, 202, "not a branch");
	/* The environment's own branch set: main is now another one. */
	tw_sql_exec("UPDATE environments SET branch = 'release' WHERE uuid = $1",
	    1, env_uuid);
	tk_push_json(body, sizeof(body), "refs/heads/main", sha);
	ck_reply(tk_github(&r, env_uuid, s, "push", "d-main", body), &r, 202,
	    "this environment deploys release");
	/* Pinned: a push to its branch deploys nothing. */
	tw_sql_exec("UPDATE environments SET pinned_commit = $2 WHERE uuid = $1",
	    2, env_uuid, sha);
	tk_push_json(body, sizeof(body), "refs/heads/release", sha);
	ck_reply(tk_github(&r, env_uuid, s, "push", "d-pinned", body), &r, 202, "pinned");
	ck_assert_int_eq(count("operations"), 0);
	ck_assert_int_eq(count("hook_deliveries"), 0);
	buf_release(&r.body);
}
END_TEST

/* Wrong or missing proofs and unknown environments: one 401, logged with
 * the environment and the reason, never the body or a header's value. */
START_TEST(refused_and_logged)
{
	struct tw_client	*cl = tw_login();
	struct tk_reply		 r;
	char			 s[65], canary[64], body[512], want[256], sig[128];
	char			 other[40], answer[512];
	const char		*h[3];

	buf_init(&r.body);
	reveal(cl, s);
	tw_uniq(canary, sizeof(canary), "canary-body");
	snprintf(body, sizeof(body), "{\"ref\":\"refs/heads/main\",\"after\":"
	    "\"89abcdef0123456789abcdef0123456789abcdef\",\"note\":\"%s\"}",
	    canary);
	/* Signed with another secret. */
	ck_reply(tk_github(&r, env_uuid, "0000000000000000000000000000000000000000000000000000"
	    "000000000000", "push", NULL, body), &r, 401, "refused");
	snprintf(answer, sizeof(answer), "%s", buf_cstr(&r.body));
	snprintf(want, sizeof(want), "hook: refused a delivery for environment "
	    "%s from 127.0.0.1: X-Hub-Signature-256 does not match the body",
	    env_uuid);
	ck_log(want, canary);
	/* The signature of another body. */
	tk_gh_sign(sig, s, "{}", 2);
	h[0] = sig;
	h[1] = "X-GitHub-Event: push";
	h[2] = NULL;
	ck_reply(tk_deliver(&r, env_uuid, "application/json", body, strlen(body), h),
	    &r, 401, "refused");
	ck_assert_str_eq(buf_cstr(&r.body), answer);
	ck_log(want, sig + strlen("X-Hub-Signature-256: sha256="));
	/* A GitLab token that is not the secret, in a log line with no
	 * token. */
	ck_reply(tk_gitlab(&r, env_uuid, "wrong-token-canary", "Push Hook", NULL, body), &r,
	    401, "refused");
	ck_assert_str_eq(buf_cstr(&r.body), answer);
	snprintf(want, sizeof(want), "hook: refused a delivery for environment "
	    "%s from 127.0.0.1: X-Gitlab-Token is not this environment's secret",
	    env_uuid);
	ck_log(want, "wrong-token-canary");
	/* No proof at all. */
	h[0] = "X-GitHub-Event: push";
	h[1] = NULL;
	ck_reply(tk_deliver(&r, env_uuid, "application/json", body, strlen(body), h),
	    &r, 401, "refused");
	snprintf(want, sizeof(want), "environment %s from 127.0.0.1: no "
	    "X-Hub-Signature-256 or X-Gitlab-Token header", env_uuid);
	ck_log(want, canary);
	/* An environment that does not exist: the same answer. */
	snprintf(other, sizeof(other), "%s", env_uuid);
	other[0] = other[0] == 'a' ? 'b' : 'a';
	tk_gh_sign(sig, s, body, strlen(body));
	h[0] = sig;
	h[1] = "X-GitHub-Event: push";
	h[2] = NULL;
	ck_reply(tk_deliver(&r, other, "application/json", body, strlen(body), h),
	    &r, 401, "refused");
	ck_assert_str_eq(buf_cstr(&r.body), answer);
	snprintf(want, sizeof(want), "environment %s from 127.0.0.1: no such "
	    "environment", other);
	ck_log(want, canary);
	/* The secret is in no log line either. */
	ck_log("hook: refused", s);
	ck_assert_int_eq(count("operations"), 0);
	buf_release(&r.body);
}
END_TEST

/* More than 1 MiB: 413 before anything is read; a signed body of another
 * type: 415; a signed body that is not JSON: 400. */
START_TEST(size_and_type)
{
	struct tw_client	*cl = tw_login();
	struct tk_reply		 r;
	char			 s[65], sig[128], *big;
	const char		*h[3];
	size_t			 n = 1024 * 1024 + 1;

	buf_init(&r.body);
	reveal(cl, s);
	ck_assert_ptr_nonnull(big = malloc(n));
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	tk_gh_sign(sig, s, big, n);
	h[0] = sig;
	h[1] = "X-GitHub-Event: push";
	h[2] = NULL;
	ck_assert_int_eq(tk_deliver(&r, env_uuid, "application/json", big, n, h), 413);
	/* One byte less is read (and is no push). */
	tk_gh_sign(sig, s, big + 1, n - 1);
	ck_reply(tk_deliver(&r, env_uuid, "application/json", big + 1, n - 1, h),
	    &r, 400, "not a JSON object");
	free(big);
	tk_gh_sign(sig, s, "ref=main", 8);
	ck_reply(tk_deliver(&r, env_uuid, "text/plain", "ref=main", 8, h), &r, 415,
	    "application/json");
	ck_assert_int_eq(count("operations"), 0);
	buf_release(&r.body);
}
END_TEST

/* A push to the environment's branch that deploy_plan refuses (no
 * registry in this stack): 409 with the reason, logged, nothing queued,
 * the delivery not recorded, so that its redelivery tries again. */
START_TEST(refused_plan_not_recorded)
{
	struct tw_client	*cl = tw_login();
	struct tk_reply		 r;
	char			 s[65], body[512], want[256];
	static const char	 sha[] = "89abcdef0123456789abcdef0123456789abcdef";

	buf_init(&r.body);
	reveal(cl, s);
	tk_push_json(body, sizeof(body), "refs/heads/main", sha);
	ck_reply(tk_gitlab(&r, env_uuid, s, "Push Hook", "d-refused", body), &r, 409,
	    "\"status\":\"refused\"");
	snprintf(want, sizeof(want), "hook: environment %s: push of %.12s not "
	    "deployed: ", env_uuid, sha);
	ck_log(want, "d-refused");
	ck_assert_int_eq(count("operations"), 0);
	ck_assert_int_eq(count("hook_deliveries"), 0);
	/* Redelivered: tried again, not "already received". */
	ck_reply(tk_gitlab(&r, env_uuid, s, "Push Hook", "d-refused", body), &r, 409,
	    "\"status\":\"refused\"");
	ck_reply(tk_github(&r, env_uuid, s, "push", "d-refused-gh", body), &r, 409,
	    "\"status\":\"refused\"");
	ck_assert_int_eq(count("operations"), 0);
	ck_assert_int_eq(count("hook_deliveries"), 0);
	buf_release(&r.body);
}
END_TEST

/*
 * A push to the environment's branch, deployable (a service, an active
 * runtime server, the external registry override, as check_cli's
 * ctl_build sets it, so that no managed registry is needed): 202 with the
 * deploy's uuid; the same delivery again starts nothing new; another
 * delivery id queues again.
 */
START_TEST(push_queues_once)
{
	struct tw_client	*cl = tw_login();
	struct tk_reply		 r;
	char			 s[65], body[512], srv[96], op[40], cell[64];
	const char		*p;
	static const char	 sha[] = "89abcdef0123456789abcdef0123456789abcdef";

	buf_init(&r.body);
	reveal(cl, s);
	tw_uniq(srv, sizeof(srv), "hooksrv");
	tw_sql_exec("INSERT INTO servers (name, address, status, host_key, "
	    "host_key_sha256) VALUES ($1, '127.0.0.254', 'active', "
	    "'ssh-ed25519 AAAA', 'SHA256:x')", 1, srv);
	tw_sql_exec("INSERT INTO environment_servers (environment_id, server_id) "
	    "SELECT e.id, s.id FROM environments e, servers s WHERE e.uuid = $1 "
	    "AND s.name = $2", 2, env_uuid, srv);
	tw_sql_exec("INSERT INTO services (environment_id, name) SELECT id, 'web' "
	    "FROM environments WHERE uuid = $1", 1, env_uuid);
	tw_sql_exec("UPDATE environments SET build_location = 'external', "
	    "ext_registry_host = 'reg.example.test:5000', ext_registry_user = 'u', "
	    "ext_registry_password_sealed = 'sealed' WHERE uuid = $1", 1, env_uuid);
	tk_push_json(body, sizeof(body), "refs/heads/main", sha);
	ck_reply(tk_github(&r, env_uuid, s, "push", "d-queued", body), &r, 202,
	    "\"status\":\"queued\"");
	ck_assert_ptr_nonnull(p = strstr(buf_cstr(&r.body), "\"operation\":\""));
	snprintf(op, sizeof(op), "%.36s", p + strlen("\"operation\":\""));
	tw_sql_str(cell, sizeof(cell), "SELECT o.kind || ' ' || o.status FROM "
	    "operations o JOIN hook_deliveries d ON d.operation_id = o.id "
	    "WHERE o.uuid = $1 AND d.delivery = 'd-queued'", 1, op);
	ck_assert_str_eq(cell, "deploy queued");
	ck_assert_int_eq(tw_sql_long("SELECT count(*) FROM operations o JOIN "
	    "environments e ON e.id = o.environment_id WHERE e.uuid = $1 AND "
	    "o.kind = 'build' AND o.commit_sha = $2", 2, env_uuid, sha), 1);
	long n = count("operations");
	/* Redelivered: nothing new. */
	ck_reply(tk_github(&r, env_uuid, s, "push", "d-queued", body), &r, 202,
	    "already received");
	ck_assert_int_eq(count("operations"), n);
	ck_assert_int_eq(count("hook_deliveries"), 1);
	/* GitLab, another delivery: queued again. */
	ck_reply(tk_gitlab(&r, env_uuid, s, "Push Hook", "d-queued-gl", body), &r, 202,
	    "\"status\":\"queued\"");
	ck_assert_int_eq(count("hook_deliveries"), 2);
	buf_release(&r.body);
	tw_sql_exec("DELETE FROM applications WHERE uuid = $1", 1, app_uuid);
	app_uuid[0] = '\0';
	tw_sql_exec("DELETE FROM servers WHERE name = $1", 1, srv);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("hook_web");
	TCase	*tc = tcase_create("hook_web");

	if (tw_env("check_hook_web") == -1)
		return 1;
	ks_url = getenv("KS_URL");
	ks_ca = getenv("KS_CA");
	if ((ks_dir = getenv("KS_DIR")) == NULL) {
		fprintf(stderr, "check_hook_web: KS_DIR is not set\n");
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, page_reveals_and_rotates);
	tcase_add_test(tc, nothing_to_do);
	tcase_add_test(tc, refused_and_logged);
	tcase_add_test(tc, size_and_type);
	tcase_add_test(tc, refused_plan_not_recorded);
	tcase_add_test(tc, push_queues_once);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
