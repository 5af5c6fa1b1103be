/*
 * lib/domain/build_settings.c: the settings forms' field checks, and the
 * repository access and registry override written sealed into the real
 * PostgreSQL of the test stack ($KS_PGCONN; run through tests/run.sh).
 *
 * The deploy key is proved with OpenSSH itself: the private key, opened
 * with the opener's keys, is accepted by `ssh-keygen -y` (which derives the
 * same public key) and by `ssh-add -` from standard input into a private
 * agent.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "buf.h"
#include "build.h"
#include "build_settings.h"
#include "config.h"
#include "db.h"
#include "keys.h"
#include "testutil.h"

#define TEST_TIMEOUT	60

static struct db	 db;
static struct keys	 web, op;
static char		 tag[64];

/* ---- field checks (no database) ------------------------------------- */

START_TEST(url_local_sources)
{
	struct config	 cfg;

	config_init(&cfg);
	cfg.allow_local_sources = 0;
	ck_assert_ptr_null(build_check_url(&cfg, "https://git.example.com/a/b.git"));
	ck_assert_ptr_null(build_check_url(&cfg, "ssh://git@git.example.com:2222/a/b.git"));
	ck_assert_ptr_null(build_check_url(&cfg, "git@git.example.com:a/b.git"));
	ck_assert_str_eq(build_check_url(&cfg, "git://127.0.0.1/a.git"),
	    "is allowed only for local development (allow_local_sources)");
	ck_assert_str_eq(build_check_url(&cfg, "file:///srv/git/a.git"),
	    "is allowed only for local development (allow_local_sources)");
	ck_assert_str_eq(build_check_url(NULL, "file:///srv/git/a.git"),
	    "is allowed only for local development (allow_local_sources)");
	cfg.allow_local_sources = 1;
	ck_assert_ptr_null(build_check_url(&cfg, "git://127.0.0.1/a.git"));
	ck_assert_ptr_null(build_check_url(&cfg, "file:///srv/git/a.git"));
	/* Hostile values: refused by valid_git_url, local sources or not. */
	ck_assert_ptr_nonnull(build_check_url(&cfg, "-oProxyCommand=touch /tmp/x"));
	ck_assert_ptr_nonnull(build_check_url(&cfg, "ssh://-oProxyCommand=x@h/a"));
	ck_assert_ptr_nonnull(build_check_url(&cfg, "https://h/a;touch /tmp/x"));
	ck_assert_ptr_nonnull(build_check_url(&cfg, "https://h/a$(id)"));
	ck_assert_ptr_nonnull(build_check_url(&cfg, "https://h/a\nb"));
	ck_assert_ptr_nonnull(build_check_url(&cfg, "file://otherhost/a.git"));
	config_release(&cfg);
}
END_TEST

START_TEST(args_lines)
{
	struct buf	 b;
	const char	*m;

	ck_assert_ptr_null(build_check_args(""));
	ck_assert_ptr_null(build_check_args("A=1"));
	ck_assert_ptr_null(build_check_args("A=1\n_b2=x y\nC=\n"));
	/* Values are literal: metacharacters are fine, they are quoted. */
	ck_assert_ptr_null(build_check_args("X=$(touch /tmp/canary); `id` \"'\\"));
	ck_assert_ptr_null(build_check_args("UNI=\xc3\xa9t\xc3\xa9"));
	ck_assert_ptr_nonnull(m = build_check_args("1A=1"));
	ck_assert_msg(strstr(m, "line 1") != NULL, "%s", m);
	ck_assert_ptr_nonnull(m = build_check_args("A=1\n-X=2"));
	ck_assert_msg(strstr(m, "line 2") != NULL, "%s", m);
	ck_assert_ptr_nonnull(build_check_args("A"));
	ck_assert_ptr_nonnull(build_check_args("A B=1"));
	ck_assert_ptr_nonnull(build_check_args("=1"));
	ck_assert_ptr_nonnull(build_check_args("A=1\n\nB=2"));
	ck_assert_ptr_nonnull(m = build_check_args("A=1\r\nB=2"));
	ck_assert_msg(strstr(m, "control") != NULL, "%s", m);
	ck_assert_ptr_nonnull(build_check_args("A=\x1b[31m"));
	ck_assert_ptr_nonnull(build_check_args("A=\t"));
	ck_assert_ptr_nonnull(build_check_args("A=\xff"));
	ck_assert_ptr_nonnull(build_check_args("A$=1"));
	ck_assert_ptr_nonnull(build_check_args("A;touch=1"));

	buf_init(&b);
	for (int i = 0; i < 64; i++)
		buf_printf(&b, "A%d=%d\n", i, i);
	ck_assert_ptr_null(build_check_args(b.ptr));
	buf_puts(&b, "B=1");
	ck_assert_str_eq(build_check_args(b.ptr), "must be at most 64 lines");
	buf_reset(&b);
	buf_puts(&b, "A=");
	for (int i = 0; i < 16 * 1024; i++)
		buf_putc(&b, 'x');
	ck_assert_str_eq(build_check_args(b.ptr), "must be at most 16 KiB");
	buf_reset(&b);
	for (int i = 0; i < 129; i++)
		buf_putc(&b, 'N');
	buf_puts(&b, "=1");
	ck_assert_ptr_nonnull(build_check_args(b.ptr));
	buf_release(&b);
}
END_TEST

START_TEST(registry_fields)
{
	ck_assert_ptr_null(build_check_registry_host("registry.example.com"));
	ck_assert_ptr_null(build_check_registry_host("registry.example.com:5000"));
	ck_assert_ptr_null(build_check_registry_host("127.0.0.1:5443"));
	ck_assert_ptr_null(build_check_registry_host("[::1]:5443"));
	ck_assert_ptr_nonnull(build_check_registry_host("::1"));
	ck_assert_ptr_nonnull(build_check_registry_host("reg.example.com:0"));
	ck_assert_ptr_nonnull(build_check_registry_host("reg.example.com:x"));
	ck_assert_ptr_nonnull(build_check_registry_host("-reg.example.com"));
	ck_assert_ptr_nonnull(build_check_registry_host("reg;touch /tmp/x"));
	ck_assert_ptr_nonnull(build_check_registry_host("https://reg.example.com"));
	ck_assert_ptr_nonnull(build_check_registry_host(""));
	ck_assert_ptr_null(build_check_ca(""));
	ck_assert_ptr_null(build_check_ca("-----BEGIN CERTIFICATE-----\nMIIB\n"
	    "-----END CERTIFICATE-----\n"));
	ck_assert_ptr_nonnull(build_check_ca("MIIB"));
	ck_assert_ptr_nonnull(build_check_ca("-----BEGIN CERTIFICATE-----\nMIIB\n"));
	ck_assert_ptr_nonnull(build_check_ca("-----BEGIN CERTIFICATE-----\n\x1b"
	    "\n-----END CERTIFICATE-----\n"));
}
END_TEST

START_TEST(ssh_hosts)
{
	char	 h[256], k[300];
	int	 port = 0;

	ck_assert_int_eq(build_ssh_host("git@git.example.com:team/a.git", h,
	    sizeof(h), &port, k, sizeof(k)), 1);
	ck_assert_str_eq(h, "git.example.com");
	ck_assert_int_eq(port, 22);
	ck_assert_str_eq(k, "git.example.com");
	ck_assert_int_eq(build_ssh_host("ssh://git@127.0.0.5:2222/srv/a.git", h,
	    sizeof(h), &port, k, sizeof(k)), 1);
	ck_assert_str_eq(h, "127.0.0.5");
	ck_assert_int_eq(port, 2222);
	ck_assert_str_eq(k, "[127.0.0.5]:2222");
	ck_assert_int_eq(build_ssh_host("ssh://h.example.com/a.git", h,
	    sizeof(h), &port, k, sizeof(k)), 1);
	ck_assert_str_eq(k, "h.example.com");
	ck_assert_int_eq(build_ssh_host("ssh://git@[::1]:2200/a.git", h,
	    sizeof(h), &port, k, sizeof(k)), 1);
	ck_assert_str_eq(h, "::1");
	ck_assert_str_eq(k, "[::1]:2200");
	ck_assert_int_eq(build_ssh_host("git@[::1]:a.git", h, sizeof(h), &port,
	    k, sizeof(k)), 1);
	ck_assert_str_eq(h, "::1");
	ck_assert_int_eq(port, 22);
	ck_assert_int_eq(build_ssh_host("https://git@h.example.com/a.git", h,
	    sizeof(h), &port, k, sizeof(k)), 0);
	ck_assert_int_eq(build_ssh_host("file:///srv/a.git", h, sizeof(h),
	    &port, k, sizeof(k)), 0);
	ck_assert_int_eq(build_ssh_host("ssh://-oProxyCommand=x@h/a", h,
	    sizeof(h), &port, k, sizeof(k)), 0);
}
END_TEST

/* ---- the database ---------------------------------------------------- */

static void
setup(void)
{
	const char	*conn = getenv("KS_PGCONN");
	unsigned char	 master[SEC_KEYBYTES];

	ck_assert_msg(conn != NULL && conn[0] != '\0',
	    "KS_PGCONN is not set: run through tests/run.sh");
	snprintf(tag, sizeof(tag), "bset-%ld-%d", (long)time(NULL), (int)getpid());
	ck_assert_int_eq(db_open(&db, conn), 0);
	randombytes_buf(master, sizeof(master));
	keys_derive(&web, master, KEYS_WEB);
	keys_derive(&op, master, KEYS_OPENER);
}

static void
teardown(void)
{
	const char	*p[] = { tag };

	if (db.conn != NULL)
		PQclear(PQexecParams(db.conn, "DELETE FROM applications WHERE "
		    "strpos(name, $1) > 0", 1, NULL, p, NULL, NULL, 0));
	db_close(&db);
	keys_release(&web);
	keys_release(&op);
}

static PGresult *
q(const char *sql, int n, const char *const *p)
{
	PGresult	*res = PQexecParams(db.conn, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType	 s = PQresultStatus(res);

	ck_assert_msg(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK, "%s: %s",
	    sql, PQresultErrorMessage(res));
	return res;
}

/* The text of sql's one row's first column (one parameter), into out
 * ("" for NULL). */
static void
str1(char *out, size_t sz, const char *sql, const char *a)
{
	const char	*p[] = { a };
	PGresult	*res = q(sql, 1, p);

	ck_assert_int_eq(PQntuples(res), 1);
	snprintf(out, sz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
}

/* A new application (and environment) named after the test: uuids. */
static void
new_app(char app[40], char env[40], char id[24], char envid[24])
{
	char		 name[128];
	const char	*p[] = { name };
	PGresult	*res;

	snprintf(name, sizeof(name), "app-%s", tag);
	res = q("INSERT INTO applications (name, repository_url, default_branch) "
	    "VALUES ($1, 'git@git.example.com:a/b.git', 'main') RETURNING uuid, id",
	    1, p);
	snprintf(app, 40, "%s", PQgetvalue(res, 0, 0));
	snprintf(id, 24, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	{
		const char *p2[] = { app };
		res = q("INSERT INTO environments (application_id, name) SELECT id, "
		    "'production' FROM applications WHERE uuid = $1::uuid "
		    "RETURNING uuid, id", 1, p2);
	}
	snprintf(env, 40, "%s", PQgetvalue(res, 0, 0));
	snprintf(envid, 24, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
}

/* Runs cmd (sh -c) with stdin from the file in, its output into out;
 * the exit status. */
static int
run_sh(const char *cmd, const char *in, struct buf *out)
{
	int	 p[2], st;
	pid_t	 pid;
	char	 b[512];
	ssize_t	 n;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		int fd = open(in != NULL ? in : "/dev/null", O_RDONLY);
		dup2(fd, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], b, sizeof(b))) > 0)
		buf_put(out, b, (size_t)n);
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* "TYPE BASE64" of a public key line. */
static void
type_blob(char *out, size_t sz, const char *line)
{
	const char	*sp = strchr(line, ' ');

	ck_assert_ptr_nonnull(sp);
	sp = strchr(sp + 1, ' ');
	snprintf(out, sz, "%.*s", (int)(sp != NULL ? (size_t)(sp - line) :
	    strcspn(line, "\n")), line);
}

START_TEST(deploy_key_openssh)
{
	char		 app[40], env[40], id[24], envid[24], pub[256];
	char		 stored[256], sealed[4096], ad[64], path[] = "/tmp/ks-bset-XXXXXX";
	char		 want[256], got[256], comment[80], auth[32];
	struct buf	 pt, out;
	int		 fd;

	new_app(app, env, id, envid);
	ck_assert_int_eq(build_keygen(&db, &web, app, pub, sizeof(pub)), 0);
	snprintf(comment, sizeof(comment), " keystone-app-%s", app);
	ck_assert_msg(strncmp(pub, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", 32) == 0 &&
	    strstr(pub, comment) != NULL, "public line: %s", pub);
	str1(stored, sizeof(stored), "SELECT deploy_key_public FROM applications "
	    "WHERE uuid = $1::uuid", app);
	ck_assert_str_eq(stored, pub);
	str1(auth, sizeof(auth), "SELECT repo_auth FROM applications WHERE "
	    "uuid = $1::uuid", app);
	ck_assert_str_eq(auth, "deploy_key");
	str1(sealed, sizeof(sealed), "SELECT deploy_key_sealed FROM applications "
	    "WHERE uuid = $1::uuid", app);

	/* The web's keys cannot open it; the opener's only with its row's
	 * associated data. */
	buf_init(&pt);
	snprintf(ad, sizeof(ad), "application/%s/deploy_key", id);
	ck_assert_int_eq(keys_open_b64(&pt, &web, ad, sealed), -1);
	ck_assert_int_eq(keys_open_b64(&pt, &op, "application/0/deploy_key",
	    sealed), -1);
	ck_assert_int_eq(keys_open_b64(&pt, &op, ad, sealed), 0);
	ck_assert_msg(strncmp(pt.ptr, "-----BEGIN OPENSSH PRIVATE KEY-----\n",
	    36) == 0, "%s", pt.ptr);

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(fchmod(fd, 0600), 0);
	ck_assert_int_eq(write(fd, pt.ptr, pt.len), (ssize_t)pt.len);
	close(fd);
	buf_init(&out);
	{
		/* Both tools read the key file, which goes before any check
		 * can fail (it holds a private key). */
		char cmd[128];
		struct buf added;
		int rc1, rc2;

		buf_init(&added);
		snprintf(cmd, sizeof(cmd), "ssh-keygen -y -f %s", path);
		rc1 = run_sh(cmd, NULL, &out);
		/* ssh-add - reads the key from its standard input into a
		 * private agent (ssh-agent runs the command and ends with
		 * it). */
		rc2 = run_sh("ssh-agent sh -c 'ssh-add - && ssh-add -L'", path,
		    &added);
		unlink(path);
		ck_assert_msg(rc1 == 0, "ssh-keygen -y: %s", buf_cstr(&out));
		type_blob(want, sizeof(want), pub);
		type_blob(got, sizeof(got), out.ptr);
		ck_assert_str_eq(got, want);
		ck_assert_msg(rc2 == 0, "ssh-add -: %s", buf_cstr(&added));
		ck_assert_msg(strstr(added.ptr, want) != NULL, "ssh-add -L: %s",
		    added.ptr);
		buf_release(&added);
	}

	/* A new key replaces the old one. */
	ck_assert_int_eq(build_keygen(&db, &web, app, got, sizeof(got)), 0);
	ck_assert_str_ne(got, pub);
	sodium_memzero(pt.ptr, pt.cap);
	buf_release(&pt);
	buf_release(&out);
	/* An unknown application: nothing. */
	ck_assert_int_eq(build_keygen(&db, &web,
	    "00000000-0000-4000-8000-000000000000", got, sizeof(got)), -1);
}
END_TEST

START_TEST(token_set_remove)
{
	char		 app[40], env[40], id[24], envid[24], ad[64];
	char		 v[4096];
	struct buf	 pt;

	new_app(app, env, id, envid);
	ck_assert_int_eq(build_set_token(&db, &web, app, "deployer",
	    "tok-SECRET-canary"), 0);
	str1(v, sizeof(v), "SELECT repo_auth || ' ' || https_username FROM "
	    "applications WHERE uuid = $1::uuid", app);
	ck_assert_str_eq(v, "token deployer");
	str1(v, sizeof(v), "SELECT https_token_sealed FROM applications WHERE "
	    "uuid = $1::uuid", app);
	ck_assert_ptr_null(strstr(v, "canary"));
	buf_init(&pt);
	snprintf(ad, sizeof(ad), "application/%s/token", id);
	ck_assert_int_eq(keys_open_b64(&pt, &op, ad, v), 0);
	ck_assert_str_eq(buf_cstr(&pt), "tok-SECRET-canary");
	buf_release(&pt);
	/* A user the schema refuses: nothing written. */
	ck_assert_int_eq(build_set_token(&db, &web, app, "a b;rm", "x"), -1);
	/* Access modes: only with what they need stored. */
	ck_assert_int_eq(build_set_access(&db, app, "deploy_key"), 1);
	ck_assert_int_eq(build_set_access(&db, app, "none"), 0);
	ck_assert_int_eq(build_set_access(&db, app, "token"), 0);
	ck_assert_int_eq(build_set_access(&db, app, "bogus"), 1);
	/* Removed: back to none. */
	ck_assert_int_eq(build_set_token(&db, &web, app, NULL, NULL), 0);
	str1(v, sizeof(v), "SELECT repo_auth || coalesce(https_username, '-') || "
	    "coalesce(https_token_sealed, '-') FROM applications WHERE "
	    "uuid = $1::uuid", app);
	ck_assert_str_eq(v, "none--");
	ck_assert_int_eq(build_set_access(&db, app, "token"), 1);
}
END_TEST

START_TEST(registry_set_keep_remove)
{
	char		 app[40], env[40], id[24], envid[24], ad[64];
	char		 v[4096];
	struct buf	 pt;
	const char	*ca = "-----BEGIN CERTIFICATE-----\nMIIB\n"
	    "-----END CERTIFICATE-----\n";

	new_app(app, env, id, envid);
	ck_assert_int_eq(build_set_registry(&db, &web, env, "reg.example.com:5443",
	    "pusher", "pw-SECRET-canary", ca), 0);
	str1(v, sizeof(v), "SELECT ext_registry_host || ' ' || ext_registry_user || "
	    "' ' || ext_registry_ca FROM environments WHERE uuid = $1::uuid", env);
	ck_assert_str_eq(v, "reg.example.com:5443 pusher -----BEGIN CERTIFICATE-----"
	    "\nMIIB\n-----END CERTIFICATE-----\n");
	str1(v, sizeof(v), "SELECT ext_registry_password_sealed FROM environments "
	    "WHERE uuid = $1::uuid", env);
	buf_init(&pt);
	snprintf(ad, sizeof(ad), "environment/%s/registry", envid);
	ck_assert_int_eq(keys_open_b64(&pt, &op, ad, v), 0);
	ck_assert_str_eq(buf_cstr(&pt), "pw-SECRET-canary");
	buf_release(&pt);
	/* Saved again without a password: kept, for the same registry only. */
	ck_assert_int_eq(build_set_registry(&db, &web, env, "reg.example.com:5443",
	    "pusher", NULL, NULL), 0);
	str1(v, sizeof(v), "SELECT (ext_registry_password_sealed IS NOT NULL)::text "
	    "|| coalesce(ext_registry_ca, '-') FROM environments WHERE "
	    "uuid = $1::uuid", env);
	ck_assert_str_eq(v, "true-");
	ck_assert_int_eq(build_set_registry(&db, &web, env, "other.example.com",
	    "pusher", NULL, NULL), 0);
	str1(v, sizeof(v), "SELECT (ext_registry_password_sealed IS NULL)::text "
	    "FROM environments WHERE uuid = $1::uuid", env);
	ck_assert_str_eq(v, "true");
	/* Refused values write nothing. */
	ck_assert_int_eq(build_set_registry(&db, &web, env, "reg;touch /tmp/x",
	    "pusher", "pw", NULL), -1);
	ck_assert_int_eq(build_set_registry(&db, &web, env, "reg.example.com",
	    "pusher", "pw", "not a certificate"), -1);
	/* Removed. */
	ck_assert_int_eq(build_set_registry(&db, &web, env, NULL, NULL, NULL,
	    NULL), 0);
	str1(v, sizeof(v), "SELECT coalesce(ext_registry_host, '-') || "
	    "coalesce(ext_registry_user, '-') || coalesce(ext_registry_password_sealed, "
	    "'-') FROM environments WHERE uuid = $1::uuid", env);
	ck_assert_str_eq(v, "---");
}
END_TEST

START_TEST(git_host_pin)
{
	char		 app[40], env[40], id[24], envid[24], v[512];

	new_app(app, env, id, envid);
	ck_assert_int_eq(build_pin_git_host(&db, app, "[127.0.0.5]:2222",
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO0", "SHA256:abc"), 0);
	str1(v, sizeof(v), "SELECT git_host || ' ' || git_host_key || ' ' || "
	    "git_host_key_sha256 || ' ' || (git_host_key_pinned_at IS NOT NULL) "
	    "FROM applications WHERE uuid = $1::uuid", app);
	ck_assert_str_eq(v, "[127.0.0.5]:2222 ssh-ed25519 "
	    "AAAAC3NzaC1lZDI1NTE5AAAAIO0 SHA256:abc true");
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("build_settings");
	TCase	*tc = tcase_create("checks"), *td = tcase_create("db");

	tcase_add_test(tc, url_local_sources);
	tcase_add_test(tc, args_lines);
	tcase_add_test(tc, registry_fields);
	tcase_add_test(tc, ssh_hosts);
	suite_add_tcase(s, tc);
	tcase_set_timeout(td, TEST_TIMEOUT);
	tcase_add_checked_fixture(td, setup, teardown);
	tcase_add_test(td, deploy_key_openssh);
	tcase_add_test(td, token_set_remove);
	tcase_add_test(td, registry_set_keep_remove);
	tcase_add_test(td, git_host_pin);
	suite_add_tcase(s, td);
	return s;
}

int
main(void)
{
	if (sodium_init() == -1)
		return 1;
	return tu_run(suite());
}
