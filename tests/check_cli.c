/*
 * The programs as an operator runs them: keystone.fcgi refuses to start on
 * a bad configuration or master key, keystonectl manages users and the
 * schema. Needs the test stack ($KS_DIR, $KS_BUILD, $KS_PGCONN).
 */
#define _GNU_SOURCE	/* setresuid, setresgid */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "keys.h"
#include "sec.h"
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

/* Runs SQL with parameters on the stack's database; the first value of the
 * first row into out (may be NULL). */
static void
sqlv(char *out, size_t outsz, const char *q, int n, const char *const *p)
{
	PGconn		*c = PQconnectdb(pg_conninfo);
	PGresult	*res;

	ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
	res = PQexecParams(c, q, n, NULL, p, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", q,
	    PQerrorMessage(c));
	if (out != NULL) {
		ck_assert_int_ge(PQntuples(res), 1);
		snprintf(out, outsz, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	PQfinish(c);
}

/*
 * keystonectl build APP ENV: a refusal on stderr with status 1 (no
 * registry in this stack), usage errors with 2, and a build queued with
 * its steps when the gate passes (an external registry override), its id
 * on stdout.
 */
START_TEST(ctl_build)
{
	char		 cmd[1024], app[64], env[40], cell[256], *out;
	static const char sha[] = "89abcdef0123456789abcdef0123456789abcdef";
	const char	*p[2];
	int		 rc;

	snprintf(app, sizeof(app), "cliapp%d", (int)getpid());
	p[0] = app;
	sqlv(env, sizeof(env), "WITH a AS (INSERT INTO applications (name, "
	    "repository_url) VALUES ($1, 'https://git.example.com/t/a.git') "
	    "RETURNING id) INSERT INTO environments (application_id, name) "
	    "SELECT id, 'staging' FROM a RETURNING uuid", 1, p);

	/* Usage errors. */
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' build "
	    "%s", ks_build, ks_dir, app);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 2, "exit %d: %s", rc, out);
	ck_assert_ptr_nonnull(strstr(out, "build APP ENV [--commit SHA]"));
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' build "
	    "%s staging --commit", ks_build, ks_dir, app);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 2, "exit %d: %s", rc, out);
	free(out);
	/* Unknown environment; a malformed commit. */
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' build "
	    "%s nosuchenv", ks_build, ks_dir, app);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 1 && strstr(out, "has no environment nosuchenv"),
	    "exit %d: %s", rc, out);
	free(out);
	/* The registry is missing here: the planner's refusal, nothing
	 * queued. */
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' build "
	    "%s staging", ks_build, ks_dir, app);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 1 && strstr(out, "The managed registry is missing"),
	    "exit %d: %s", rc, out);
	free(out);
	p[0] = env;
	sqlv(cell, sizeof(cell), "SELECT count(*) FROM operations o JOIN "
	    "environments e ON e.id = o.environment_id WHERE e.uuid = $1", 1, p);
	ck_assert_str_eq(cell, "0");

	/* Through an external registry: queued, with its steps. */
	sqlv(NULL, 0, "UPDATE environments SET build_location = 'external', "
	    "ext_registry_host = 'reg.example.test:5000', ext_registry_user = 'u', "
	    "ext_registry_password_sealed = 'sealed' WHERE uuid = $1", 1, p);
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' build "
	    "%s staging --commit %s --rebuild 2>/dev/null", ks_build, ks_dir, app,
	    sha);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 0 && strlen(out) == 37 && out[36] == '\n',
	    "exit %d: %s", rc, out);
	out[36] = '\0';
	p[1] = out;
	sqlv(cell, sizeof(cell), "SELECT o.kind || ' ' || o.status || ' ' || "
	    "o.commit_sha || ' ' || o.rebuild || ' ' || (SELECT count(*) FROM "
	    "operation_steps s WHERE s.operation_id = o.id AND s.target = "
	    "'build_node') FROM operations o JOIN environments e ON "
	    "e.id = o.environment_id WHERE e.uuid = $1 AND o.uuid = $2", 2, p);
	free(out);
	snprintf(cmd, sizeof(cmd), "build queued %s true ", sha);
	ck_assert_msg(strncmp(cell, cmd, strlen(cmd)) == 0 &&
	    atoi(cell + strlen(cmd)) >= 5, "%s", cell);
	sqlv(NULL, 0, "DELETE FROM operations WHERE environment_id = "
	    "(SELECT id FROM environments WHERE uuid = $1)", 1, p);
	p[0] = app;
	sqlv(NULL, 0, "DELETE FROM applications WHERE name = $1", 1, p);
}
END_TEST

/* deploy APP ENV [--artifact UUID]: as the pages' buttons (deploy_plan),
 * the deploy operation's id on stdout; a refusal on stderr, exit 1. */
START_TEST(ctl_deploy)
{
	char		 cmd[1024], app[64], env[40], art[40], cell[256], *out;
	const char	*p[2];
	int		 rc;

	snprintf(app, sizeof(app), "clideploy%d", (int)getpid());
	p[0] = app;
	sqlv(env, sizeof(env), "WITH a AS (INSERT INTO applications (name, "
	    "repository_url) VALUES ($1, 'https://git.example.com/t/a.git') "
	    "RETURNING id) INSERT INTO environments (application_id, name) "
	    "SELECT id, 'staging' FROM a RETURNING uuid", 1, p);
	p[0] = env;
	sqlv(art, sizeof(art), "INSERT INTO build_artifacts (application_id, "
	    "environment_id, registry_host, tag, manifest_digest, commit_sha, "
	    "status, architecture) SELECT e.application_id, e.id, "
	    "'reg.example.test:5000', 'reg.example.test:5000/keystone/a/e:x', "
	    "'sha256:' || repeat('cd', 32), repeat('ab', 20), 'available', "
	    "'amd64' FROM environments e WHERE e.uuid = $1 RETURNING uuid", 1, p);

	/* Usage errors, an unknown environment. */
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' deploy "
	    "%s", ks_build, ks_dir, app);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 2 && strstr(out, "deploy APP ENV [--artifact UUID]"),
	    "exit %d: %s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' deploy "
	    "%s staging --artifact", ks_build, ks_dir, app);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 2, "exit %d: %s", rc, out);
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' deploy "
	    "%s nosuchenv", ks_build, ks_dir, app);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 1 && strstr(out, "has no environment nosuchenv"),
	    "exit %d: %s", rc, out);
	free(out);
	/* The planner's refusal: no service yet; nothing queued. */
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' deploy "
	    "%s staging --artifact %s", ks_build, ks_dir, app, art);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 1 && strstr(out, "The environment has no service"),
	    "exit %d: %s", rc, out);
	free(out);

	/* A service and an active runtime server: the artifact's deploy. */
	sqlv(NULL, 0, "INSERT INTO services (environment_id, name) SELECT id, "
	    "'web' FROM environments WHERE uuid = $1", 1, p);
	p[1] = app;
	sqlv(NULL, 0, "WITH s AS (INSERT INTO servers (name, address, status, "
	    "host_key, host_key_sha256, role_runtime) VALUES ($2, $2 || '.test', "
	    "'active', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample', "
	    "'SHA256:example', true) RETURNING id) INSERT INTO environment_servers "
	    "(environment_id, server_id) SELECT e.id, s.id FROM environments e, s "
	    "WHERE e.uuid = $1", 2, p);
	snprintf(cmd, sizeof(cmd), "'%s/keystonectl' -c '%s/keystone.conf' deploy "
	    "%s staging --artifact %s 2>/dev/null", ks_build, ks_dir, app, art);
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 0 && strlen(out) == 37 && out[36] == '\n',
	    "exit %d: %s", rc, out);
	out[36] = '\0';
	p[1] = out;
	/* (Its step a cancel lets finish: lib/ops/spool.c.) */
	sqlv(cell, sizeof(cell), "SELECT o.kind || ' ' || o.status || ' ' || "
	    "b.uuid || ' ' || (SELECT string_agg(s.finish::text, ',') FROM "
	    "operation_steps s WHERE s.operation_id = o.id) FROM operations o "
	    "JOIN build_artifacts b ON b.id = o.artifact_id JOIN environments e "
	    "ON e.id = o.environment_id WHERE e.uuid = $1 AND o.uuid = $2", 2, p);
	free(out);
	snprintf(cmd, sizeof(cmd), "deploy queued %s true", art);
	ck_assert_str_eq(cell, cmd);

	sqlv(NULL, 0, "DELETE FROM operations WHERE environment_id = "
	    "(SELECT id FROM environments WHERE uuid = $1)", 1, p);
	p[0] = app;
	sqlv(NULL, 0, "DELETE FROM applications WHERE name = $1", 1, p);
	sqlv(NULL, 0, "DELETE FROM servers WHERE name = $1", 1, p);
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

/* The stack's keystone.fcgi master (fcgi.pid). */
static pid_t
fcgi_master(void)
{
	char	 path[300], *txt;
	pid_t	 master;

	snprintf(path, sizeof(path), "%s/run/fcgi.pid", ks_dir);
	ck_assert_ptr_nonnull(txt = tu_slurp(path, NULL));
	master = (pid_t)atol(txt);
	free(txt);
	return master;
}

/* The stack's keystone.fcgi workers: children of the master in fcgi.pid.
 * Returns how many (at most max). */
static int
fcgi_workers(pid_t *out, int max)
{
	return tu_children(fcgi_master(), out, max);
}

/* One "Name:\tv1 v2..." line of /proc/PID/status into vals. */
static int
status_ids(pid_t pid, const char *name, long *vals, int max)
{
	char	 path[64], line[512];
	FILE	*f;
	int	 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line + strlen(name);
		if (strncmp(line, name, strlen(name)) != 0 || *p != ':')
			continue;
		for (p++; n < max; ) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			vals[n++] = v;
			p = end;
		}
	}
	fclose(f);
	return n;
}

/* Nonzero when needle (len bytes) is anywhere in pid's readable memory.
 * Mappings over 1 GiB are ASan's shadow (its poison bytes, no data) and
 * are skipped; every other readable mapping is read whole. */
static int
mem_has(pid_t pid, const void *needle, size_t len)
{
	char		 path[64], line[512];
	FILE		*maps;
	int		 fd, found = 0;
	unsigned char	*buf = NULL;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	ck_assert_ptr_nonnull(maps = fopen(path, "r"));
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	while (!found && fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 ||
		    perm[0] != 'r' || hi - lo > (1UL << 30) ||
		    strstr(line, "[vvar]") != NULL)
			continue;
		ck_assert_ptr_nonnull(buf = realloc(buf, hi - lo));
		ssize_t got = pread(fd, buf, hi - lo, (off_t)lo);
		if (got < (ssize_t)len)
			continue;
		for (size_t i = 0; i + len <= (size_t)got && !found; i++)
			found = buf[i] == *(const unsigned char *)needle &&
			    memcmp(buf + i, needle, len) == 0;
	}
	free(buf);
	close(fd);
	fclose(maps);
	return found;
}

/* The web workers serve requests as the keystone user, cannot open the
 * master key file, and hold neither the master key nor any key that opens
 * a stored secret (the sealing pair's secret half, its seed, the key of
 * values sealed before it). */
START_TEST(fcgi_workers_unprivileged)
{
	pid_t		 w[64];
	long		 uid[4], gid[4], groups[64];
	int		 n, ngroups;
	char		 path[300], hex[2 * SEC_KEYBYTES + 1], err[256];
	unsigned char	 master[SEC_KEYBYTES], seed[SEC_KEYBYTES];
	struct keys	 op;
	struct passwd	*pw = getpwnam("keystone");

	ck_assert_ptr_nonnull(pw);
	ck_assert_int_gt(n = fcgi_workers(w, 64), 0);
	snprintf(path, sizeof(path), "%s/master.key", ks_dir);
	ck_assert_msg(sec_key_load(path, master, err, sizeof(err)) == 0, "%s", err);
	sodium_bin2hex(hex, sizeof(hex), master, sizeof(master));
	sec_subkey(seed, master, SEC_SUB_SEALBOX);
	keys_derive(&op, master, KEYS_OPENER);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(status_ids(w[i], "Uid", uid, 4), 4);
		ck_assert_int_eq(status_ids(w[i], "Gid", gid, 4), 4);
		for (int j = 0; j < 4; j++) {
			ck_assert_int_eq(uid[j], (long)pw->pw_uid);
			ck_assert_int_eq(gid[j], (long)pw->pw_gid);
		}
		/* As that worker is (uid, gids), the key file cannot be opened. */
		ngroups = status_ids(w[i], "Groups", groups, 64);
		{
			pid_t c = fork();
			int st;
			ck_assert_int_ge(c, 0);
			if (c == 0) {
				gid_t g[64];
				for (int j = 0; j < ngroups; j++)
					g[j] = (gid_t)groups[j];
				if (setgroups((size_t)ngroups, g) == -1 ||
				    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
				    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
					_exit(3);
				if (open(path, O_RDONLY) != -1)
					_exit(1);
				_exit(errno == EACCES ? 0 : 2);
			}
			ck_assert_int_eq(waitpid(c, &st, 0), c);
			ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			    "as worker %d's user, opening %s: status %d (1 opened, "
			    "2 not EACCES, 3 could not switch user)", (int)w[i],
			    path, WEXITSTATUS(st));
		}
		ck_assert_msg(!mem_has(w[i], master, sizeof(master)),
		    "worker %d holds the master key", (int)w[i]);
		ck_assert_msg(!mem_has(w[i], hex, 2 * SEC_KEYBYTES),
		    "worker %d holds the master key (hex)", (int)w[i]);
		ck_assert_msg(!mem_has(w[i], op.seal_sk, sizeof(op.seal_sk)),
		    "worker %d holds the sealing secret key", (int)w[i]);
		ck_assert_msg(!mem_has(w[i], seed, sizeof(seed)),
		    "worker %d holds the sealing key's seed", (int)w[i]);
		ck_assert_msg(!mem_has(w[i], op.legacy, sizeof(op.legacy)),
		    "worker %d holds the legacy sealing key", (int)w[i]);
		/* The scan finds what is there: the public half is. */
		ck_assert_msg(mem_has(w[i], op.seal_pk, sizeof(op.seal_pk)),
		    "worker %d: the scan did not find the public key it holds",
		    (int)w[i]);
	}
	sodium_memzero(master, sizeof(master));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(seed, sizeof(seed));
	keys_release(&op);
}
END_TEST

/* Nonzero when no pid of a (n) is in b (m). */
static int
disjoint(const pid_t *a, int n, const pid_t *b, int m)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < m; j++)
			if (a[i] == b[j])
				return 0;
	return 1;
}

/* Every web worker of the stack killed with SIGKILL: the master starts as
 * many new ones, and they serve /healthz through Caddy. */
START_TEST(fcgi_killed_workers_replaced)
{
	pid_t	 old[64], now[64];
	char	 cmd[1024], *out;
	int	 n, m = 0, rc;

	ck_assert_msg(getenv("KS_URL") && getenv("KS_CA"),
	    "KS_URL and KS_CA must be set (tests/run.sh)");
	ck_assert_int_gt(n = fcgi_workers(old, 64), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(kill(old[i], SIGKILL), 0);
	for (int i = 0; i < 100; i++) {
		if ((m = fcgi_workers(now, 64)) == n && disjoint(now, m, old, n))
			break;
		usleep(100000);
	}
	ck_assert_msg(m == n && disjoint(now, m, old, n), "10 s after killing "
	    "the %d workers: %d workers, %s", n, m, disjoint(now, m, old, n) ?
	    "all new" : "some of them old");
	snprintf(cmd, sizeof(cmd), "curl -sS -o /dev/null -w '%%{http_code}' "
	    "--max-time 20 --cacert '%s' '%s/healthz' 2>&1", getenv("KS_CA"),
	    getenv("KS_URL"));
	rc = run(cmd, NULL, &out);
	ck_assert_msg(rc == 0 && strcmp(out, "200") == 0,
	    "GET /healthz after the replacement: curl exit %d, %s", rc, out);
	free(out);
}
END_TEST

/* SIGTERM stops keystone.fcgi's master and every worker within the bound,
 * and removes the socket. */
START_TEST(fcgi_sigterm_stops_all)
{
	char	 key[300], conf[300], bin[300], logp[300], sock[300];
	pid_t	 master, w[64];
	time_t	 t0;
	int	 n = 0, st = 0, done = 0;

	keyfile("term.key", "00112233445566778899aabbccddeeff00112233445566778899"
	    "aabbccddeeff\n", 0600);
	snprintf(key, sizeof(key), "%s/term.key", tmp);
	config("term.conf", key, "workers = 3\n");
	snprintf(conf, sizeof(conf), "%s/term.conf", tmp);
	snprintf(bin, sizeof(bin), "%s/keystone.fcgi", ks_build);
	snprintf(logp, sizeof(logp), "%s/fcgi.log", tmp);
	snprintf(sock, sizeof(sock), "%s/app.sock", tmp);
	if ((master = fork()) == 0) {
		(void)setsid();
		if (freopen(logp, "a", stderr) == NULL ||
		    freopen("/dev/null", "w", stdout) == NULL)
			_exit(126);
		execl(bin, "keystone.fcgi", "-c", conf, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(master, 0);
	for (int i = 0; i < 100 && (n = tu_children(master, w, 64)) < 3; i++)
		usleep(100000);
	if (n != 3)
		kill(-master, SIGKILL);
	ck_assert_msg(n == 3, "%d workers after 10 s; see %s", n, logp);
	ck_assert_int_eq(access(sock, F_OK), 0);
	t0 = time(NULL);
	ck_assert_int_eq(kill(master, SIGTERM), 0);
	if (!(done = tu_wait_exit(master, 15000, &st)))
		kill(-master, SIGKILL);
	ck_assert_msg(done, "keystone.fcgi still runs 15 s after SIGTERM");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	/* Idle workers stop at once, well within the 10 s bound. */
	ck_assert_int_le(time(NULL) - t0, 3);
	for (int i = 0; i < n; i++)
		ck_assert_msg(kill(w[i], 0) == -1 && errno == ESRCH,
		    "worker %d outlived its master", (int)w[i]);
	ck_assert_int_eq(access(sock, F_OK), -1);
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
	tcase_add_test(tc, ctl_build);
	tcase_add_test(tc, ctl_deploy);
	tcase_add_test(tc, ctl_migrate_idempotent);
	tcase_add_test(tc, stack_config_no_bridge);
	tcase_add_test(tc, fcgi_workers_unprivileged);
	tcase_add_test(tc, fcgi_killed_workers_replaced);
	tcase_add_test(tc, fcgi_sigterm_stops_all);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
