/*
 * The programs as an operator runs them: keystone.fcgi refuses to start on
 * a bad configuration or master key, keystonectl manages users and the
 * schema. Needs the test stack ($KS_DIR, $KS_BUILD, $KS_PGCONN).
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "buf.h"
#include "config.h"
#include "testutil.h"

static const char	*ks_dir, *ks_build, *pg_conninfo;
static char		 tmp[] = "/tmp/ks-cli-XXXXXX";

/* Runs a shell command line (test-owned values only), stdin from input
 * (may be NULL), and returns its exit status; output in *out. */
static int
run(const char *cmdline, const char *input, char **out)
{
	char	 cmd[4096], inpath[300], outpath[300];
	FILE	*f;
	int	 st;

	snprintf(inpath, sizeof(inpath), "%s/stdin", tmp);
	snprintf(outpath, sizeof(outpath), "%s/output", tmp);
	ck_assert_ptr_nonnull(f = fopen(inpath, "w"));
	if (input != NULL)
		fputs(input, f);
	fclose(f);
	/* A command line that sends stderr elsewhere keeps it there. */
	snprintf(cmd, sizeof(cmd), "%s <'%s' >'%s'%s", cmdline, inpath, outpath,
	    strstr(cmdline, "2>") ? "" : " 2>&1");
	st = system(cmd);
	*out = tu_slurp(outpath, NULL);
	ck_assert_ptr_nonnull(*out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Writes a config for the stack's database with the given master key. */
static void
config(const char *name, const char *keyfile, const char *extra)
{
	char	 path[300];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "database = %s\nmaster_key_file = %s\nfcgi_socket = %s/app.sock\n"
	    "base_url = https://localhost:1\ntemplates_dir = %s/templates\n"
	    "sql_dir = %s/sql\n%s", pg_conninfo, keyfile, tmp,
	    getenv("PWD"), getenv("PWD"), extra ? extra : "");
	fclose(f);
}

static void
keyfile(const char *name, const char *text, mode_t mode)
{
	char	 path[300];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
setup(void)
{
	ks_dir = getenv("KS_DIR");
	ks_build = getenv("KS_BUILD");
	pg_conninfo = getenv("KS_PGCONN");
	ck_assert_msg(ks_dir && ks_build && pg_conninfo,
	    "KS_DIR, KS_BUILD and KS_PGCONN must be set (tests/run.sh)");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void
teardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
}

static void
expect_refusal(const char *cfgname, const char *needle)
{
	char	 cmd[1024], *out;
	int	 rc;

	snprintf(cmd, sizeof(cmd), "timeout 20 '%s/keystone.fcgi' -c '%s/%s'",
	    ks_build, tmp, cfgname);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 1, "keystone.fcgi exited %d for %s:\n%s", rc, cfgname, out);
	ck_assert_msg(strstr(out, needle) != NULL, "'%s' not in:\n%s", needle, out);
	free(out);
}

START_TEST(fcgi_refuses_bad_master_key)
{
	const char	*hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
	char		 p[300];

	snprintf(p, sizeof(p), "%s/missing.key", tmp);
	config("missing.conf", p, NULL);
	expect_refusal("missing.conf", "No such file");

	keyfile("open.key", hex, 0644);
	snprintf(p, sizeof(p), "%s/open.key", tmp);
	config("open.conf", p, NULL);
	expect_refusal("open.conf", "chmod 600");

	keyfile("group.key", hex, 0640);
	snprintf(p, sizeof(p), "%s/group.key", tmp);
	config("group.conf", p, NULL);
	expect_refusal("group.conf", "lets group or others read it");

	keyfile("bad.key", "not a key\n", 0600);
	snprintf(p, sizeof(p), "%s/bad.key", tmp);
	config("bad.conf", p, NULL);
	expect_refusal("bad.conf", "malformed");
}
END_TEST

START_TEST(fcgi_refuses_bad_config)
{
	char	 p[300];

	keyfile("good.key", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
	snprintf(p, sizeof(p), "%s/good.key", tmp);
	config("workers.conf", p, "workers = many\n");
	expect_refusal("workers.conf", "workers must be an integer");
	config("unknown.conf", p, "colour = blue\n");
	expect_refusal("unknown.conf", "unknown key `colour`");
	expect_refusal("nonexistent.conf", "nonexistent.conf");
	/* The environment overrides the file, and is validated the same way. */
	config("env.conf", p, NULL);
	setenv("KEYSTONE_BASE_URL", "http://insecure", 1);
	expect_refusal("env.conf", "KEYSTONE_BASE_URL");
	unsetenv("KEYSTONE_BASE_URL");
}
END_TEST

START_TEST(ctl_users)
{
	char	 cmd[1024], *out, user[64], sqlq[256];
	PGconn	*c;
	PGresult *res;
	int	 rc;

	snprintf(user, sizeof(user), "cli%d", (int)getpid());
	/* Too short: refused, nothing created. */
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' user add %s",
	    ks_build, ks_dir, user);
	rc = run(cmd, "short\n", &out);
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(strstr(out, "at least 12 characters"));
	free(out);
	/* From stdin. */
	rc = run(cmd, "a perfectly long password\n", &out);
	ck_assert_msg(rc == 0, "%s", out);
	ck_assert_ptr_null(strstr(out, "a perfectly long password"));
	free(out);
	/* Twice: refused. */
	rc = run(cmd, "a perfectly long password\n", &out);
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(strstr(out, "already exists"));
	free(out);
	/* Generated: printed once on stdout. */
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' user "
	    "passwd %s --generate 2>/dev/null", ks_build, ks_dir, user);
	rc = run(cmd, NULL, &out);
	ck_assert_int_eq(rc, 0);
	/* The password is the first line: 24 characters. */
	ck_assert_int_eq(strcspn(out, "\n"), 24);
	free(out);
	/* Unknown user, invalid name: clear refusals. */
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' user "
	    "passwd nosuchuser%d --generate", ks_build, ks_dir, (int)getpid());
	rc = run(cmd, NULL, &out);
	ck_assert_int_eq(rc, 1);
	ck_assert_ptr_nonnull(strstr(out, "no user"));
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' user "
	    "add 'bad;name' --generate", ks_build, ks_dir);
	rc = run(cmd, NULL, &out);
	ck_assert_int_eq(rc, 1);
	free(out);

	c = PQconnectdb(pg_conninfo);
	ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
	snprintf(sqlq, sizeof(sqlq), "SELECT password_hash FROM users WHERE username = '%s'",
	    user);
	res = PQexec(c, sqlq);
	ck_assert_int_eq(PQntuples(res), 1);
	ck_assert_ptr_nonnull(strstr(PQgetvalue(res, 0, 0), "$argon2id$"));
	PQclear(res);
	PQfinish(c);
}
END_TEST

START_TEST(ctl_migrate_idempotent)
{
	char	 cmd[1024], *out;

	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' migrate",
	    ks_build, ks_dir);
	ck_assert_int_eq(run(cmd, NULL, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "0 migration(s) applied"));
	free(out);
	ck_assert_int_eq(run(cmd, NULL, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "0 migration(s) applied"));
	free(out);
}
END_TEST

/* The stack `make run` starts (deploy/stack.sh, as here) has its URL on
 * loopback: servers it provisions get Docker without a bridge. */
START_TEST(stack_config_no_bridge)
{
	struct config	 c;
	char		 path[300], err[256];

	snprintf(path, sizeof(path), "%s/keystone.conf", ks_dir);
	config_init(&c);
	ck_assert_msg(config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(c.provision_daemon_json);
	ck_assert_str_eq(c.provision_daemon_json, CONFIG_NO_BRIDGE_JSON);
	config_release(&c);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("cli");
	TCase	*tc = tcase_create("cli");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fcgi_refuses_bad_master_key);
	tcase_add_test(tc, fcgi_refuses_bad_config);
	tcase_add_test(tc, ctl_users);
	tcase_add_test(tc, ctl_migrate_idempotent);
	tcase_add_test(tc, stack_config_no_bridge);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
